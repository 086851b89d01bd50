"""Sorted-set commands against a real parley-server, checked against Redis 7.0.

Every expected reply, error text and encoding here was obtained by running
the same commands on redis-server 7.0.15 and is hard-coded. Setting
ZSET_TEST_REDIS_PORT=<port> runs the single-node tests against a redis-server
on that port instead (a check of the expectations themselves); the cluster,
snapshot and Parley-only tests are then skipped.

The `c` client shows replies as the server sent them (exact.py): doubles are
bulk strings in RESP2 ("1.5", "0.10000000000000001", "inf"), errors keep
their "ERR " prefix. RESP3 replies are read byte for byte from a raw socket
after HELLO 3 (redis-py 4.3 speaks no RESP3): doubles are ",1.5", WITHSCORES
pairs are two-element arrays, nulls are "_".

Covered: ZADD (NX/XX/GT/LT/CH/INCR, option conflicts, score parsing, NaN),
ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK/ZREVRANK, ZCOUNT/ZLEXCOUNT,
the ZRANGE family (rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES, exclusive
and infinite bounds, and the order in which Redis reports argument errors),
ZRANGESTORE, the range removals, ZPOPMIN/ZPOPMAX/ZMPOP, ZUNIONSTORE and
ZINTERSTORE (WEIGHTS, AGGREGATE, inf and NaN rules), ZSCAN, ZRANDMEMBER,
WRONGTYPE for every command, both encodings and the moments they change
(128 members, 64-byte members), Redis's -0 quirk (0 in a listpack, -0 in a
skiplist), generic key commands on zsets, WATCH broken by exactly the commands that
change a set, a 3-node cluster converging on a
mixed workload (including lex ranges over mixed scores, whose result must
not depend on skiplist levels), a follower catching up from a snapshot, a
follower restored from a snapshot answering ZSCAN and ZRANDMEMBER as the
others do (a script writes what they returned; the replicas must stay
equal), ZRANDMEMBER's bound on a negative count (shared with SRANDMEMBER),
and a snapshot round trip across a restart.
"""
import os
import random
import socket

import pytest

from conftest import raw_command, resp_encode, wait_writable
from exact import err, exact_client

REDIS_PORT = os.environ.get("ZSET_TEST_REDIS_PORT")
parley_only = pytest.mark.skipif(REDIS_PORT is not None, reason="Parley-only test")

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SCORE_RANGE = "ERR min or max is not a float"
LEX_RANGE = "ERR min or max not valid string range item"
LIMIT_ERR = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
BYLEX_SCORES = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
SNAPSHOT_OFTEN = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]


class RedisNode:
    """Stands in for a Node when the tests run against redis-server."""

    def __init__(self, port):
        self.port = int(port)


@pytest.fixture
def node(request):
    if REDIS_PORT:
        n = RedisNode(REDIS_PORT)
        exact_client(n).execute_command("FLUSHALL")
        return n
    request.getfixturevalue("r")  # flushes the shared server
    return request.getfixturevalue("server")


@pytest.fixture
def c(node):
    client = exact_client(node)
    yield client
    client.connection_pool.disconnect()


class Resp3:
    """A raw RESP3 connection: cmd() returns one reply's exact bytes."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        assert self.cmd("HELLO", "3").startswith(b"%")

    def _read(self):
        line = self.f.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in b"+-:,_#(":
            return line
        if kind in b"$=!":
            n = int(rest)
            return line if n < 0 else line + self.f.read(n + 2)
        if kind in b"*%~>":
            n = int(rest) * (2 if kind == b"%" else 1)
            return line + b"".join(self._read() for _ in range(max(n, 0)))
        raise AssertionError(f"unexpected reply line {line!r}")

    def cmd(self, *args):
        self.sock.sendall(resp_encode(*[str(a) if isinstance(a, float) else a for a in args]))
        return self._read()

    def close(self):
        self.f.close()
        self.sock.close()


@pytest.fixture
def r3(node):
    conn = Resp3(node.port)
    yield conn
    conn.close()


def zadd(c, key, *pairs):
    return c.execute_command("ZADD", key, *pairs)


def big_set(c, key, n=130, prefix="m"):
    """A set of n members m0..m(n-1) with scores 0..n-1 (a skiplist above 128)."""
    args = []
    for i in range(n):
        args += [i, f"{prefix}{i}"]
    assert zadd(c, key, *args) == n


def enc(c, key):
    return c.execute_command("OBJECT", "ENCODING", key)


def flat(pairs):
    out = []
    for m, s in pairs:
        out += [m, s]
    return out


# ---------------------------------------------------------------------------
# ZADD and ZINCRBY


def test_zadd_adds_updates_and_ch_counts_changes(c):
    assert zadd(c, "z", 1, "a", 2, "b") == 2
    assert zadd(c, "z", 1, "a", 3, "b", 4, "c") == 1     # only c is new
    assert c.execute_command("ZRANGE", "z", 0, -1, "WITHSCORES") == ["a", "1", "b", "3", "c", "4"]
    assert zadd(c, "z", "CH", 1, "a", 5, "b", 6, "d") == 2  # b changed, d added
    assert zadd(c, "z", "ch", 1, "a") == 0                 # same score: no change
    # The same member twice in one call: the last score wins, one addition.
    assert zadd(c, "z2", 1, "x", 2, "x") == 1
    assert c.execute_command("ZSCORE", "z2", "x") == "2"
    assert c.execute_command("TYPE", "z") == "zset"


def test_zadd_nx_xx_gt_lt(c):
    zadd(c, "z", 10, "a")
    assert zadd(c, "z", "NX", 20, "a", 1, "b") == 1
    assert c.execute_command("ZMSCORE", "z", "a", "b") == ["10", "1"]
    assert zadd(c, "z", "XX", 30, "a", 1, "new") == 0
    assert c.execute_command("ZMSCORE", "z", "a", "new") == ["30", None]
    assert zadd(c, "z", "XX", "CH", 31, "a") == 1
    assert zadd(c, "z", "GT", "CH", 5, "a", 2, "b") == 1   # a not raised, b raised
    assert c.execute_command("ZMSCORE", "z", "a", "b") == ["31", "2"]
    assert zadd(c, "z", "LT", "CH", 50, "a", 0, "b") == 1
    assert c.execute_command("ZMSCORE", "z", "a", "b") == ["31", "0"]
    # GT and LT still add new members.
    assert zadd(c, "z", "GT", 7, "c") == 1
    assert zadd(c, "z", "LT", 8, "d") == 1
    assert zadd(c, "z", "XX", "GT", 100, "c", 100, "e") == 0
    assert c.execute_command("ZMSCORE", "z", "c", "e") == ["100", None]
    # XX on a missing key creates nothing.
    assert zadd(c, "nokey", "XX", 1, "a") == 0
    assert c.execute_command("EXISTS", "nokey") == 0


def test_zadd_incr_and_zincrby(c):
    assert zadd(c, "z", "INCR", 1.5, "a") == "1.5"
    assert zadd(c, "z", "INCR", 1.5, "a") == "3"
    assert c.execute_command("ZINCRBY", "z", -10, "a") == "-7"
    assert c.execute_command("ZINCRBY", "z", 2, "new") == "2"
    assert zadd(c, "z", "INCR", "GT", 1, "a") == "-6"
    assert zadd(c, "z", "INCR", "LT", 1, "a") is None      # not lower: nothing
    assert zadd(c, "z", "INCR", "NX", 1, "a") is None
    assert zadd(c, "z", "INCR", "XX", 1, "nothere") is None
    assert zadd(c, "nokey", "XX", "INCR", 1, "a") is None
    assert c.execute_command("EXISTS", "nokey") == 0
    assert c.execute_command("ZSCORE", "z", "a") == "-6"
    assert c.execute_command("ZINCRBY", "z", "inf", "i") == "inf"
    assert c.execute_command("ZINCRBY", "z", "+inf", "i") == "inf"
    assert err(c, "ZINCRBY", "z", "-inf", "i") == "ERR resulting score is not a number (NaN)"
    assert err(c, "ZADD", "z", "INCR", "-inf", "i") == "ERR resulting score is not a number (NaN)"
    assert c.execute_command("ZSCORE", "z", "i") == "inf"
    # ZINCRBY shares ZADD's option parsing: a flag in the increment's place.
    assert err(c, "ZINCRBY", "z", "nx", "m") == SYNTAX
    assert err(c, "ZINCRBY", "z", "incr", "m") == SYNTAX
    assert err(c, "ZINCRBY", "z", "abc", "m") == NOT_FLOAT


def test_zadd_errors_in_redis_order(c):
    assert err(c, "ZADD", "z", "XX", "NX", 1, "a") == \
        "ERR XX and NX options at the same time are not compatible"
    for opts in (("GT", "LT"), ("NX", "GT"), ("LT", "NX"), ("gt", "lt", "nx")):
        assert err(c, "ZADD", "z", *opts, 1, "a") == \
            "ERR GT, LT, and/or NX options at the same time are not compatible", opts
    assert err(c, "ZADD", "z", "INCR", 1, "a", 2, "b") == \
        "ERR INCR option supports a single increment-element pair"
    assert err(c, "ZADD", "z", 1, "a", 2) == SYNTAX
    assert err(c, "ZADD", "z", "NX", "XX") == SYNTAX           # no pairs left
    assert err(c, "ZADD", "z") == "ERR wrong number of arguments for 'zadd' command"
    assert err(c, "ZADD", "z", "nx") == "ERR wrong number of arguments for 'zadd' command"
    assert err(c, "ZINCRBY", "z", 1) == "ERR wrong number of arguments for 'zincrby' command"
    # A bad score in any pair refuses the whole command.
    assert err(c, "ZADD", "z", 1, "a", "x", "b") == NOT_FLOAT
    assert c.execute_command("EXISTS", "z") == 0
    # Option errors come before score errors, score errors before the key.
    c.execute_command("SET", "str", "v")
    assert err(c, "ZADD", "str", "XX", "NX", 1, "a") == \
        "ERR XX and NX options at the same time are not compatible"
    assert err(c, "ZADD", "str", "x", "a") == NOT_FLOAT
    assert err(c, "ZADD", "str", 1, "a") == WRONGTYPE
    assert err(c, "ZADD", "nokey", "XX", 1, "a", "x", "b") == NOT_FLOAT


@pytest.mark.parametrize("text,expected", [
    ("0x10", "16"), ("+5", "5"), ("infinity", "inf"), ("-INF", "-inf"), ("1e-310", "9.9999999999999694e-311"),
    ("1.50", "1.5"), ("  ", None), ("", None), (" 1", None), ("1 ", None), ("nan", None),
    ("1e400", None), ("-1e400", None), ("1e-400", None), ("abc", None), ("1,5", None),
])
def test_zadd_score_parsing(c, text, expected):
    if expected is None:
        assert err(c, "ZADD", "z", text, "m") == NOT_FLOAT
        assert c.execute_command("EXISTS", "z") == 0
    else:
        assert zadd(c, "z", text, "m") == 1
        assert c.execute_command("ZSCORE", "z", "m") == expected


def test_score_formatting(c):
    zadd(c, "z", 1.5, "a", 3, "b", "0.1", "c", "1e300", "d", "inf", "e", "-inf", "f",
         "100000000000000000", "g", "-2.5e-5", "h")
    expected = [("f", "-inf"), ("h", "-2.5000000000000001e-05"), ("c", "0.10000000000000001"),
                ("a", "1.5"), ("b", "3"), ("g", "1e+17"), ("d", "1.0000000000000001e+300"),
                ("e", "inf")]
    assert c.execute_command("ZRANGE", "z", 0, -1, "WITHSCORES") == flat(expected)
    assert c.execute_command("ZSCORE", "z", "g") == "1e+17"
    # ZSCAN of a listpack shows scores as the listpack keeps them: integral
    # scores as integers.
    cursor, items = c.execute_command("ZSCAN", "z", 0)
    assert cursor == "0"
    assert dict(zip(items[::2], items[1::2]))["g"] == "100000000000000000"
    assert items == flat(expected[:5] + [("g", "100000000000000000")] + expected[6:])


def test_negative_zero_is_0_in_a_listpack_and_minus_0_in_a_skiplist(c):
    # Redis keeps listpack scores as text and writes integral ones as
    # integers, so -0 becomes 0; a skiplist keeps the double.
    assert zadd(c, "small", "-0", "a") == 1
    assert enc(c, "small") == "listpack"
    assert c.execute_command("ZSCORE", "small", "a") == "0"
    big_set(c, "big")
    assert zadd(c, "big", "-0", "neg") == 1
    assert enc(c, "big") == "skiplist"
    assert c.execute_command("ZSCORE", "big", "neg") == "-0"
    assert c.execute_command("ZRANGE", "big", 0, 2, "WITHSCORES") == ["m0", "0", "neg", "-0", "m1", "1"]
    # 0 and -0 are the same score: no update, the sign stays.
    assert zadd(c, "big", "CH", 0, "neg") == 0
    assert c.execute_command("ZSCORE", "big", "neg") == "-0"
    assert c.execute_command("ZINCRBY", "big", "-0", "neg") == "-0"
    # A listpack converted to a skiplist keeps its 0.
    big_set(c, "conv", 129)
    zadd(c, "lp", "-0", "x")
    assert c.execute_command("ZUNIONSTORE", "both", 2, "lp", "conv") == 130
    assert enc(c, "both") == "skiplist"
    assert c.execute_command("ZSCORE", "both", "x") == "0"
    # A result is built as a skiplist: -1 * 0 is -0, kept in a big result.
    assert c.execute_command("ZUNIONSTORE", "both", 2, "lp", "conv", "WEIGHTS", -1, 1) == 130
    assert c.execute_command("ZSCORE", "both", "x") == "-0"
    # ZRANGESTORE by rank of a big range is a skiplist from the start; by
    # score it starts as a listpack and converts, losing the sign.
    assert c.execute_command("ZRANGESTORE", "d", "big", 0, -1) == 131
    assert c.execute_command("ZSCORE", "d", "neg") == "-0"
    assert c.execute_command("ZRANGESTORE", "d", "big", "-inf", "+inf", "BYSCORE") == 131
    assert c.execute_command("ZSCORE", "d", "neg") == "0"
    # A small result is made compact: 0.
    assert c.execute_command("ZINTERSTORE", "d", 1, "big", "WEIGHTS", "-0") == 131
    assert c.execute_command("ZSCORE", "d", "m5") == "-0"
    assert c.execute_command("ZINTERSTORE", "d", 1, "small", "WEIGHTS", "-1") == 1
    assert c.execute_command("ZSCORE", "d", "a") == "0"


def test_binary_members(node):
    cb = exact_client(node, decode=False)
    members = [b"", b"\x00", b"\x00\x01", b"\xff", b"a\r\nb", b"12", b"-0", b"007"]
    args = []
    for m in members:
        args += [1, m]
    assert cb.execute_command("ZADD", "bin", *args) == len(members)
    assert cb.execute_command("ZRANGE", "bin", 0, -1) == sorted(members)
    for m in members:
        assert cb.execute_command("ZSCORE", "bin", m) == b"1"
    # Integer-looking members come back byte for byte ("007", "-0").
    assert cb.execute_command("ZRANK", "bin", b"007") == sorted(members).index(b"007")
    assert cb.execute_command("ZRANGEBYLEX", "bin", b"[\x00", b"(\x01") == [b"\x00", b"\x00\x01"]
    cb.connection_pool.disconnect()


# ---------------------------------------------------------------------------
# ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK


def test_zrem_and_the_empty_set_disappears(c):
    zadd(c, "z", 1, "a", 2, "b", 3, "c")
    assert c.execute_command("ZREM", "z", "a", "nope", "a") == 1
    assert c.execute_command("ZREM", "nokey", "a") == 0
    assert c.execute_command("ZREM", "z", "b", "c", "b") == 2
    assert c.execute_command("EXISTS", "z") == 0
    assert err(c, "ZREM", "z") == "ERR wrong number of arguments for 'zrem' command"


def test_zscore_zmscore_zcard(c):
    zadd(c, "z", 1, "a", 2.5, "b")
    assert c.execute_command("ZSCORE", "z", "b") == "2.5"
    assert c.execute_command("ZSCORE", "z", "nope") is None
    assert c.execute_command("ZSCORE", "nokey", "a") is None
    assert c.execute_command("ZMSCORE", "z", "a", "nope", "b") == ["1", None, "2.5"]
    assert c.execute_command("ZMSCORE", "nokey", "a", "b") == [None, None]
    assert c.execute_command("ZCARD", "z") == 2
    assert c.execute_command("ZCARD", "nokey") == 0
    assert err(c, "ZMSCORE", "z") == "ERR wrong number of arguments for 'zmscore' command"


@pytest.mark.parametrize("n", [5, 300])
def test_zrank_zrevrank(c, n):
    big_set(c, "z", n)
    assert enc(c, "z") == ("listpack" if n <= 128 else "skiplist")
    for i in (0, 1, n // 2, n - 1):
        assert c.execute_command("ZRANK", "z", f"m{i}") == i
        assert c.execute_command("ZREVRANK", "z", f"m{i}") == n - 1 - i
    assert c.execute_command("ZRANK", "z", "nope") is None
    assert c.execute_command("ZREVRANK", "nokey", "a") is None
    # Equal scores rank by member.
    zadd(c, "eq", 0, "b", 0, "a", 0, "c")
    assert [c.execute_command("ZRANK", "eq", m) for m in "abc"] == [0, 1, 2]
    assert err(c, "ZRANK", "z") == "ERR wrong number of arguments for 'zrank' command"


# ---------------------------------------------------------------------------
# ZCOUNT, ZLEXCOUNT


@pytest.mark.parametrize("n", [5, 300])
def test_zcount(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZCOUNT", "z", 1, 3) == 3
    assert c.execute_command("ZCOUNT", "z", "(1", 3) == 2
    assert c.execute_command("ZCOUNT", "z", "(1", "(3") == 1
    assert c.execute_command("ZCOUNT", "z", "-inf", "+inf") == n
    assert c.execute_command("ZCOUNT", "z", 3, 1) == 0
    assert c.execute_command("ZCOUNT", "z", "(2", "(2") == 0
    assert c.execute_command("ZCOUNT", "z", 2, 2) == 1
    assert c.execute_command("ZCOUNT", "z", "", "") == 1        # strtod: "" is 0
    assert c.execute_command("ZCOUNT", "z", " 1", "0x2") == 2   # leading space, hex
    assert c.execute_command("ZCOUNT", "z", "(", 1) == 1        # "(" is exclusive 0
    assert c.execute_command("ZCOUNT", "nokey", 0, 1) == 0
    for a, b in (("x", 1), (1, "x"), ("nan", 1), (1, "(nan"), ("((1", 2), (1, "1 ")):
        assert err(c, "ZCOUNT", "z", a, b) == SCORE_RANGE, (a, b)
    assert err(c, "ZCOUNT", "nokey", "x", 1) == SCORE_RANGE


@pytest.mark.parametrize("n", [5, 300])
def test_zlexcount(c, n):
    zadd(c, "z", *flat((0, f"k{i:03d}") for i in range(n)))
    assert c.execute_command("ZLEXCOUNT", "z", "-", "+") == n
    assert c.execute_command("ZLEXCOUNT", "z", "[k001", "[k003") == 3
    assert c.execute_command("ZLEXCOUNT", "z", "(k001", "(k003") == 1
    assert c.execute_command("ZLEXCOUNT", "z", "[k003", "[k001") == 0
    assert c.execute_command("ZLEXCOUNT", "z", "[k", "(k002") == 2
    assert c.execute_command("ZLEXCOUNT", "z", "+", "-") == 0
    assert c.execute_command("ZLEXCOUNT", "z", "-", "-") == 0
    assert c.execute_command("ZLEXCOUNT", "z", "[", "+") == n
    assert c.execute_command("ZLEXCOUNT", "nokey", "-", "+") == 0
    for a, b in (("k", "+"), ("-", "k"), ("", "+"), ("-x", "+"), ("-", "+x")):
        assert err(c, "ZLEXCOUNT", "z", a, b) == LEX_RANGE, (a, b)


# ---------------------------------------------------------------------------
# The ZRANGE family


@pytest.mark.parametrize("n", [5, 300])
def test_zrange_by_rank(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZRANGE", "z", 0, 2) == ["m0", "m1", "m2"]
    assert c.execute_command("ZRANGE", "z", -2, -1) == [f"m{n - 2}", f"m{n - 1}"]
    assert c.execute_command("ZRANGE", "z", -1000, 0) == ["m0"]
    assert c.execute_command("ZRANGE", "z", n - 1, 10000) == [f"m{n - 1}"]
    assert c.execute_command("ZRANGE", "z", 3, 2) == []
    assert c.execute_command("ZRANGE", "z", n, n + 5) == []
    assert c.execute_command("ZRANGE", "z", 1, 2, "WITHSCORES") == ["m1", "1", "m2", "2"]
    assert c.execute_command("ZRANGE", "z", 0, 1, "REV", "WITHSCORES") == \
        [f"m{n - 1}", str(n - 1), f"m{n - 2}", str(n - 2)]
    assert c.execute_command("ZREVRANGE", "z", 0, 1) == [f"m{n - 1}", f"m{n - 2}"]
    assert c.execute_command("ZREVRANGE", "z", -1, -1, "withscores") == ["m0", "0"]
    assert len(c.execute_command("ZRANGE", "z", 0, -1)) == n
    assert c.execute_command("ZRANGE", "z", 0, -1) == [f"m{i}" for i in range(n)]
    assert c.execute_command("ZRANGE", "z", 0, -1, "REV") == [f"m{i}" for i in reversed(range(n))]
    # WITHSCORES may be repeated.
    assert c.execute_command("ZRANGE", "z", 0, 0, "WITHSCORES", "WITHSCORES") == ["m0", "0"]
    assert c.execute_command("ZRANGE", "nokey", 0, -1) == []


@pytest.mark.parametrize("n", [5, 300])
def test_zrange_byscore(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZRANGE", "z", "(1", 3, "BYSCORE", "WITHSCORES") == ["m2", "2", "m3", "3"]
    assert c.execute_command("ZRANGE", "z", 3, "(1", "BYSCORE", "REV") == ["m3", "m2"]
    assert c.execute_command("ZRANGE", "z", "(1", 3, "BYSCORE", "LIMIT", 1, 1) == ["m3"]
    assert c.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, 2) == ["m1", "m2"]
    # A negative offset gives nothing, a negative limit means no limit.
    assert c.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", -1, 2) == []
    assert c.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", n - 2, -1) == \
        [f"m{n - 2}", f"m{n - 1}"]
    assert c.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", n, 1) == []
    assert c.execute_command("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 0, 0) == []
    assert c.execute_command("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, 2) == \
        [f"m{n - 1}", f"m{n - 2}"]
    assert c.execute_command("ZRANGEBYSCORE", "z", 1, 3, "WITHSCORES", "LIMIT", 0, 2) == \
        ["m1", "1", "m2", "2"]
    assert c.execute_command("ZRANGEBYSCORE", "z", 1, 3, "LIMIT", 0, 2, "WITHSCORES") == \
        ["m1", "1", "m2", "2"]
    assert c.execute_command("ZRANGEBYSCORE", "z", "(0", "(2") == ["m1"]
    assert c.execute_command("ZRANGEBYSCORE", "z", 3, 1) == []
    assert c.execute_command("ZREVRANGEBYSCORE", "z", 3, 1, "WITHSCORES") == \
        ["m3", "3", "m2", "2", "m1", "1"]
    assert c.execute_command("ZREVRANGEBYSCORE", "z", 1, 3) == []
    assert c.execute_command("ZREVRANGEBYSCORE", "z", "+inf", "(1", "LIMIT", 1, 1) == [f"m{n - 2}"]
    assert c.execute_command("ZRANGEBYSCORE", "z", "", "") == ["m0"]
    assert c.execute_command("ZRANGEBYSCORE", "z", "(", 1) == ["m1"]
    assert c.execute_command("ZRANGEBYSCORE", "nokey", 0, 1) == []


@pytest.mark.parametrize("n", [5, 300])
def test_zrange_bylex(c, n):
    zadd(c, "z", *flat((0, f"k{i:03d}") for i in range(n)))
    assert c.execute_command("ZRANGE", "z", "[k001", "[k003", "BYLEX") == ["k001", "k002", "k003"]
    assert c.execute_command("ZRANGE", "z", "[k003", "[k001", "BYLEX", "REV") == ["k003", "k002", "k001"]
    assert c.execute_command("ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", 1, 2) == ["k001", "k002"]
    assert c.execute_command("ZRANGE", "z", "(k000", "(k002", "BYLEX") == ["k001"]
    assert c.execute_command("ZRANGEBYLEX", "z", "-", "+", "LIMIT", 1, 1) == ["k001"]
    assert c.execute_command("ZRANGEBYLEX", "z", "-", "(k002") == ["k000", "k001"]
    assert c.execute_command("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", 1, 1) == [f"k{n - 2:03d}"]
    assert c.execute_command("ZREVRANGEBYLEX", "z", "[k002", "[k000") == ["k002", "k001", "k000"]
    assert c.execute_command("ZREVRANGEBYLEX", "z", "[k000", "[k002") == []
    assert c.execute_command("ZRANGEBYLEX", "z", "+", "-") == []
    assert c.execute_command("ZRANGEBYLEX", "z", "[k", "[k") == []
    assert c.execute_command("ZRANGEBYLEX", "z", "[", "(k001") == ["k000"]
    assert c.execute_command("ZRANGEBYLEX", "nokey", "-", "+") == []
    for a, b in (("a", "c"), ("[a", "+x"), ("", "+"), ("-", "c")):
        assert err(c, "ZRANGEBYLEX", "z", a, b) == LEX_RANGE, (a, b)
        assert err(c, "ZRANGE", "z", a, b, "BYLEX") == LEX_RANGE, (a, b)


def test_zrange_argument_errors(c):
    zadd(c, "z", 1, "a", 2, "b")
    assert err(c, "ZRANGE", "z", 0, -1, "LIMIT", 0, 1) == LIMIT_ERR
    assert err(c, "ZRANGE", "z", 0, -1, "BYSCORE", "BYLEX") == SYNTAX
    assert err(c, "ZRANGE", "z", 0, -1, "BYSCORE", "BYSCORE") == SYNTAX
    assert err(c, "ZRANGE", "z", 0, -1, "REV", "REV") == SYNTAX
    assert err(c, "ZRANGE", "z", 0, -1, "FOO") == SYNTAX
    assert err(c, "ZRANGE", "z", "a", "b", "BYLEX", "WITHSCORES") == BYLEX_SCORES
    assert err(c, "ZRANGE", "z", 1, 3, "BYSCORE", "LIMIT", 1) == SYNTAX
    assert err(c, "ZRANGE", "z", 1, 3, "BYSCORE", "LIMIT", "a", 1) == NOT_INT
    assert err(c, "ZRANGE", "z", 1, 3, "BYSCORE", "LIMIT", 1, "1.5") == NOT_INT
    assert err(c, "ZRANGE", "z", "x", 3, "BYSCORE") == SCORE_RANGE
    assert err(c, "ZRANGE", "z", "x", 1) == NOT_INT
    assert err(c, "ZRANGE", "nokey", 0, "y") == NOT_INT
    # A LIMIT of -1 is no limit at all, so it is accepted by rank.
    assert c.execute_command("ZRANGE", "z", 0, -1, "LIMIT", 5, -1) == ["a", "b"]
    # The commands with a fixed kind refuse the other kinds' options.
    assert err(c, "ZRANGEBYSCORE", "z", 1, 3, "REV") == SYNTAX
    assert err(c, "ZRANGEBYSCORE", "z", 1, 3, "BYSCORE") == SYNTAX
    assert err(c, "ZRANGEBYSCORE", "z", 1, 3, "LIMIT", 0) == SYNTAX
    assert err(c, "ZREVRANGE", "z", 0, 1, "LIMIT", 0, 1) == LIMIT_ERR
    assert err(c, "ZREVRANGE", "z", 0, 1, "BYSCORE") == SYNTAX
    assert err(c, "ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == BYLEX_SCORES
    assert err(c, "ZREVRANGEBYLEX", "z", "+", "-", "BYLEX") == SYNTAX
    # Options are checked before the range, the range before the key.
    c.execute_command("SET", "str", "v")
    assert err(c, "ZRANGE", "str", "x", "y", "FOO") == SYNTAX
    assert err(c, "ZRANGE", "str", "x", "y") == NOT_INT
    assert err(c, "ZRANGE", "str", 0, 1) == WRONGTYPE
    assert err(c, "ZRANGE", "z") == "ERR wrong number of arguments for 'zrange' command"


def test_zrangestore(c):
    zadd(c, "z", 1, "a", 2, "b", 3, "c", 4, "d")
    assert c.execute_command("ZRANGESTORE", "dst", "z", 0, 1) == 2
    assert c.execute_command("ZRANGE", "dst", 0, -1, "WITHSCORES") == ["a", "1", "b", "2"]
    assert c.execute_command("ZRANGESTORE", "dst", "z", "(1", 3, "BYSCORE", "LIMIT", 1, 1) == 1
    assert c.execute_command("ZRANGE", "dst", 0, -1, "WITHSCORES") == ["c", "3"]
    assert c.execute_command("ZRANGESTORE", "dst", "z", "[c", "-", "BYLEX", "REV") == 3
    assert c.execute_command("ZRANGE", "dst", 0, -1) == ["a", "b", "c"]
    assert c.execute_command("ZRANGESTORE", "dst", "z", 0, -1, "REV") == 4
    assert c.execute_command("ZRANGE", "dst", 0, -1) == ["a", "b", "c", "d"]
    # An empty result deletes the destination.
    assert c.execute_command("ZRANGESTORE", "dst", "z", 10, 20) == 0
    assert c.execute_command("EXISTS", "dst") == 0
    c.execute_command("SET", "dst", "v")
    assert c.execute_command("ZRANGESTORE", "dst", "nokey", 0, -1) == 0
    assert c.execute_command("EXISTS", "dst") == 0
    # The destination is replaced whatever it held, and loses its TTL.
    c.execute_command("SET", "dst", "v", "EX", 100)
    assert c.execute_command("ZRANGESTORE", "dst", "z", 0, 0) == 1
    assert c.execute_command("TYPE", "dst") == "zset"
    assert c.execute_command("TTL", "dst") == -1
    # Into itself.
    assert c.execute_command("ZRANGESTORE", "z", "z", 1, 2) == 2
    assert c.execute_command("ZRANGE", "z", 0, -1) == ["b", "c"]
    assert err(c, "ZRANGESTORE", "dst", "z", 0, -1, "WITHSCORES") == SYNTAX
    assert err(c, "ZRANGESTORE", "dst", "z", 0, -1, "LIMIT", 0, 1) == LIMIT_ERR
    c.execute_command("SET", "str", "v")
    assert err(c, "ZRANGESTORE", "dst", "str", 0, -1) == WRONGTYPE
    assert c.execute_command("TYPE", "dst") == "zset"
    assert err(c, "ZRANGESTORE", "dst", "z", 0) == \
        "ERR wrong number of arguments for 'zrangestore' command"


def test_zrangestore_encoding(c):
    big_set(c, "z", 200)
    assert c.execute_command("ZRANGESTORE", "d", "z", 0, 127) == 128
    assert enc(c, "d") == "listpack"
    assert c.execute_command("ZRANGESTORE", "d", "z", 0, 128) == 129
    assert enc(c, "d") == "skiplist"
    assert c.execute_command("ZRANGESTORE", "d", "z", 0, 127, "BYSCORE") == 128
    assert enc(c, "d") == "listpack"
    zadd(c, "long", 1, "x" * 65)
    assert c.execute_command("ZRANGESTORE", "d", "long", 0, -1) == 1
    assert enc(c, "d") == "skiplist"


# ---------------------------------------------------------------------------
# Range removals


@pytest.mark.parametrize("n", [10, 300])
def test_zremrangebyrank(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZREMRANGEBYRANK", "z", 0, 0) == 1
    assert c.execute_command("ZREMRANGEBYRANK", "z", -2, -1) == 2
    assert c.execute_command("ZREMRANGEBYRANK", "z", 5, 3) == 0
    assert c.execute_command("ZREMRANGEBYRANK", "z", n, n + 10) == 0
    assert c.execute_command("ZRANGE", "z", 0, 1) == ["m1", "m2"]
    assert c.execute_command("ZREMRANGEBYRANK", "z", 1, 2) == 2
    assert c.execute_command("ZRANGE", "z", 0, 1) == ["m1", "m4"]
    assert c.execute_command("ZCARD", "z") == n - 5
    assert c.execute_command("ZREMRANGEBYRANK", "z", -10000, 10000) == n - 5
    assert c.execute_command("EXISTS", "z") == 0
    assert c.execute_command("ZREMRANGEBYRANK", "nokey", 0, -1) == 0
    assert err(c, "ZREMRANGEBYRANK", "z", "a", 1) == NOT_INT
    assert err(c, "ZREMRANGEBYRANK", "z", 0, "1.0") == NOT_INT


@pytest.mark.parametrize("n", [10, 300])
def test_zremrangebyscore(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZREMRANGEBYSCORE", "z", "(1", 3) == 2
    assert c.execute_command("ZREMRANGEBYSCORE", "z", 3, 1) == 0
    assert c.execute_command("ZREMRANGEBYSCORE", "z", "(0", "(1") == 0
    assert c.execute_command("ZRANGE", "z", 0, 2) == ["m0", "m1", "m4"]
    assert c.execute_command("ZREMRANGEBYSCORE", "z", f"({n - 3}", "+inf") == 2
    assert c.execute_command("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == n - 4
    assert c.execute_command("EXISTS", "z") == 0
    assert c.execute_command("ZREMRANGEBYSCORE", "nokey", "-inf", "+inf") == 0
    assert err(c, "ZREMRANGEBYSCORE", "z", "x", 1) == SCORE_RANGE
    assert err(c, "ZREMRANGEBYSCORE", "nokey", 1, "nan") == SCORE_RANGE


@pytest.mark.parametrize("n", [10, 300])
def test_zremrangebylex(c, n):
    zadd(c, "z", *flat((0, f"k{i:03d}") for i in range(n)))
    assert c.execute_command("ZREMRANGEBYLEX", "z", "(k000", "[k002") == 2
    assert c.execute_command("ZREMRANGEBYLEX", "z", "[k002", "[k000") == 0
    assert c.execute_command("ZREMRANGEBYLEX", "z", "+", "-") == 0
    assert c.execute_command("ZRANGE", "z", 0, 1) == ["k000", "k003"]
    assert c.execute_command("ZREMRANGEBYLEX", "z", "-", "(k004") == 2
    assert c.execute_command("ZREMRANGEBYLEX", "z", "-", "+") == n - 4
    assert c.execute_command("EXISTS", "z") == 0
    assert c.execute_command("ZREMRANGEBYLEX", "nokey", "-", "+") == 0
    assert err(c, "ZREMRANGEBYLEX", "z", "a", "b") == LEX_RANGE
    assert err(c, "ZREMRANGEBYLEX", "nokey", "-", "x") == LEX_RANGE


# ---------------------------------------------------------------------------
# Pops


@pytest.mark.parametrize("n", [5, 300])
def test_zpopmin_zpopmax(c, n):
    big_set(c, "z", n)
    assert c.execute_command("ZPOPMIN", "z") == ["m0", "0"]
    assert c.execute_command("ZPOPMAX", "z") == [f"m{n - 1}", str(n - 1)]
    assert c.execute_command("ZPOPMIN", "z", 2) == ["m1", "1", "m2", "2"]
    assert c.execute_command("ZPOPMAX", "z", 1) == [f"m{n - 2}", str(n - 2)]
    assert c.execute_command("ZPOPMIN", "z", 0) == []
    assert c.execute_command("ZCARD", "z") == n - 5
    rest = c.execute_command("ZPOPMAX", "z", 10000)
    assert rest[::2] == [f"m{i}" for i in reversed(range(3, n - 2))]
    assert c.execute_command("EXISTS", "z") == 0
    assert c.execute_command("ZPOPMIN", "z") == []
    assert c.execute_command("ZPOPMIN", "nokey", 3) == []


def test_zpop_errors(c):
    zadd(c, "z", 1, "a")
    assert err(c, "ZPOPMIN", "z", -1) == "ERR value is out of range, must be positive"
    assert err(c, "ZPOPMIN", "z", "abc") == "ERR value is out of range, must be positive"
    assert err(c, "ZPOPMAX", "z", 1, 2) == SYNTAX
    assert err(c, "ZPOPMIN") == "ERR wrong number of arguments for 'zpopmin' command"
    c.execute_command("SET", "str", "v")
    assert err(c, "ZPOPMIN", "str") == WRONGTYPE
    assert err(c, "ZPOPMAX", "str", 0) == WRONGTYPE
    assert c.execute_command("ZCARD", "z") == 1


def test_zmpop(c):
    zadd(c, "z", 1, "a", 2, "b", 3, "c")
    assert c.execute_command("ZMPOP", 1, "z", "MIN") == ["z", [["a", "1"]]]
    assert c.execute_command("ZMPOP", 2, "nokey", "z", "max", "COUNT", 5) == \
        ["z", [["c", "3"], ["b", "2"]]]
    assert c.execute_command("EXISTS", "z") == 0
    assert c.execute_command("ZMPOP", 1, "nokey", "MIN") is None
    zadd(c, "z", 1, "a")
    zadd(c, "y", 1, "b")
    assert c.execute_command("ZMPOP", 2, "y", "z", "MIN", "COUNT", 9223372036854775807) == \
        ["y", [["b", "1"]]]
    assert c.execute_command("ZCARD", "z") == 1


def test_zmpop_errors(c):
    zadd(c, "z", 1, "a")
    c.execute_command("SET", "str", "v")
    for numkeys in (0, -1, "abc", "1.5"):
        assert err(c, "ZMPOP", numkeys, "z", "MIN") == "ERR numkeys should be greater than 0"
    assert err(c, "ZMPOP", 3, "z", "MIN") == SYNTAX
    assert err(c, "ZMPOP", 9223372036854775807, "z", "MIN") == SYNTAX
    assert err(c, "ZMPOP", 1, "z", "foo") == SYNTAX
    assert err(c, "ZMPOP", 1, "z", "MIN", "COUNT", 0) == "ERR count should be greater than 0"
    assert err(c, "ZMPOP", 1, "z", "MIN", "COUNT", "abc") == "ERR count should be greater than 0"
    assert err(c, "ZMPOP", 1, "z", "MIN", "COUNT", 1, "COUNT", 1) == SYNTAX
    assert err(c, "ZMPOP", 1, "z", "MIN", "COUNT") == SYNTAX
    assert err(c, "ZMPOP", 1, "z", "MIN", "foo") == SYNTAX
    assert err(c, "ZMPOP", 2, "str", "z", "MIN") == WRONGTYPE
    assert err(c, "ZMPOP", 2, "nokey", "str", "MIN") == WRONGTYPE
    # A zset before the wrong-typed key is popped.
    assert c.execute_command("ZMPOP", 2, "z", "str", "MIN") == ["z", [["a", "1"]]]
    assert err(c, "ZMPOP", 1, "z") == "ERR wrong number of arguments for 'zmpop' command"


# ---------------------------------------------------------------------------
# ZUNIONSTORE, ZINTERSTORE


def test_zunionstore_zinterstore(c):
    zadd(c, "z", 1, "a", 2, "b", 3, "c")
    zadd(c, "w", 10, "b", 20, "c", 30, "d")
    cases = [
        (("ZUNIONSTORE", "o", 2, "z", "w"), ["a", "1", "b", "12", "c", "23", "d", "30"]),
        (("ZINTERSTORE", "o", 2, "z", "w"), ["b", "12", "c", "23"]),
        (("ZUNIONSTORE", "o", 2, "z", "w", "WEIGHTS", 2, 0.5), ["a", "2", "b", "9", "d", "15", "c", "16"]),
        (("ZUNIONSTORE", "o", 2, "z", "w", "AGGREGATE", "MIN"), ["a", "1", "b", "2", "c", "3", "d", "30"]),
        (("ZUNIONSTORE", "o", 2, "z", "w", "aggregate", "max", "weights", 1, -1),
         ["d", "-30", "a", "1", "b", "2", "c", "3"]),
        (("ZINTERSTORE", "o", 2, "z", "w", "AGGREGATE", "MIN", "AGGREGATE", "MAX"), ["b", "10", "c", "20"]),
        (("ZUNIONSTORE", "o", 2, "z", "w", "WEIGHTS", 1, 2, "WEIGHTS", 3, 4),
         ["a", "3", "b", "46", "c", "89", "d", "120"]),
        (("ZUNIONSTORE", "o", 2, "z", "z"), ["a", "2", "b", "4", "c", "6"]),
        (("ZINTERSTORE", "o", 2, "z", "z", "WEIGHTS", 1, 2), ["a", "3", "b", "6", "c", "9"]),
        (("ZUNIONSTORE", "o", 2, "z", "w", "WEIGHTS", "inf", 1),
         ["d", "30", "a", "inf", "b", "inf", "c", "inf"]),
        (("ZINTERSTORE", "o", 1, "z", "WEIGHTS", "-0"), ["a", "0", "b", "0", "c", "0"]),
        (("ZUNIONSTORE", "o", 2, "z", "nokey"), ["a", "1", "b", "2", "c", "3"]),
    ]
    for args, expected in cases:
        assert c.execute_command(*args) == len(expected) // 2, args
        assert c.execute_command("ZRANGE", "o", 0, -1, "WITHSCORES") == expected, args
    # Into one of its own inputs.
    assert c.execute_command("ZUNIONSTORE", "z", 2, "z", "w") == 4
    assert c.execute_command("ZRANGE", "z", 0, -1, "WITHSCORES") == \
        ["a", "1", "b", "12", "c", "23", "d", "30"]
    assert enc(c, "z") == "listpack"
    # An empty result deletes the destination, whatever it held.
    c.execute_command("SET", "o", "v")
    assert c.execute_command("ZINTERSTORE", "o", 2, "z", "nokey") == 0
    assert c.execute_command("EXISTS", "o") == 0
    assert c.execute_command("ZUNIONSTORE", "o", 1, "nokey") == 0
    # The destination loses its TTL.
    zadd(c, "o", 1, "x")
    c.execute_command("EXPIRE", "o", 100)
    assert c.execute_command("ZUNIONSTORE", "o", 1, "w") == 3
    assert c.execute_command("TTL", "o") == -1


def test_zunionstore_infinities_and_nan(c):
    zadd(c, "one", 1, "a")
    zadd(c, "pinf", "inf", "a")
    zadd(c, "ninf", "-inf", "a")
    cases = [
        (("ZUNIONSTORE", "o", 2, "pinf", "ninf"), "0"),          # inf + -inf is 0
        (("ZUNIONSTORE", "o", 2, "pinf", "one", "WEIGHTS", 0, 1), "1"),  # 0 * inf is 0
        (("ZINTERSTORE", "o", 2, "pinf", "ninf", "AGGREGATE", "SUM"), "0"),
        (("ZINTERSTORE", "o", 2, "pinf", "ninf", "AGGREGATE", "MIN"), "-inf"),
        (("ZINTERSTORE", "o", 2, "pinf", "ninf", "WEIGHTS", 0, 1, "AGGREGATE", "MAX"), "0"),
        (("ZUNIONSTORE", "o", 2, "ninf", "pinf", "WEIGHTS", 1, 0, "AGGREGATE", "MIN"), "-inf"),
    ]
    for args, expected in cases:
        assert c.execute_command(*args) == 1, args
        assert c.execute_command("ZSCORE", "o", "a") == expected, args


def test_zunionstore_errors(c):
    zadd(c, "z", 1, "a")
    zadd(c, "w", 1, "b")
    c.execute_command("SET", "str", "v")
    for cmd in ("ZUNIONSTORE", "ZINTERSTORE"):
        name = cmd.lower()
        assert err(c, cmd, "o", 0, "z") == f"ERR at least 1 input key is needed for '{name}' command"
        assert err(c, cmd, "o", -1, "z") == f"ERR at least 1 input key is needed for '{name}' command"
        assert err(c, cmd, "o", "abc", "z") == NOT_INT
        assert err(c, cmd, "o", 3, "z", "w") == SYNTAX
        assert err(c, cmd, "o", 2, "z", "w", "WEIGHTS", 1) == SYNTAX
        assert err(c, cmd, "o", 2, "z", "w", "WEIGHTS", 1, "x") == "ERR weight value is not a float"
        assert err(c, cmd, "o", 2, "z", "w", "WEIGHTS", "nan", 1) == "ERR weight value is not a float"
        assert err(c, cmd, "o", 2, "z", "w", "AGGREGATE", "foo") == SYNTAX
        assert err(c, cmd, "o", 2, "z", "w", "AGGREGATE") == SYNTAX
        assert err(c, cmd, "o", 2, "z", "w", "WITHSCORES") == SYNTAX
        assert err(c, cmd, "o", 2, "z", "w", "foo") == SYNTAX
        # The keys' types are checked before the options.
        assert err(c, cmd, "o", 2, "z", "str") == WRONGTYPE
        assert err(c, cmd, "o", 2, "z", "str", "WEIGHTS", "x", "y") == WRONGTYPE
        assert err(c, cmd, "o", 1) == f"ERR wrong number of arguments for '{name}' command"
    assert c.execute_command("EXISTS", "o") == 0


def test_zunionstore_result_encoding(c):
    big_set(c, "a", 100, "a")
    big_set(c, "b", 28, "b")
    assert c.execute_command("ZUNIONSTORE", "o", 2, "a", "b") == 128
    assert enc(c, "o") == "listpack"
    zadd(c, "b", 1, "extra")
    assert c.execute_command("ZUNIONSTORE", "o", 2, "a", "b") == 129
    assert enc(c, "o") == "skiplist"
    # A big input intersected down to a few members is compact again.
    big_set(c, "big", 300)
    zadd(c, "few", 1, "m1", 2, "m2")
    assert c.execute_command("ZINTERSTORE", "o", 2, "big", "few") == 2
    assert enc(c, "o") == "listpack"
    assert c.execute_command("ZRANGE", "o", 0, -1, "WITHSCORES") == ["m1", "2", "m2", "4"]


# ---------------------------------------------------------------------------
# ZSCAN


def test_zscan_listpack_returns_everything_at_once(c):
    zadd(c, "z", 1, "a", 2.5, "b", 3, "c")
    assert c.execute_command("ZSCAN", "z", 0) == ["0", ["a", "1", "b", "2.5", "c", "3"]]
    assert c.execute_command("ZSCAN", "z", 5, "COUNT", 1) == ["0", ["a", "1", "b", "2.5", "c", "3"]]
    assert c.execute_command("ZSCAN", "z", 0, "MATCH", "b*") == ["0", ["b", "2.5"]]
    assert c.execute_command("ZSCAN", "z", -1) == ["0", ["a", "1", "b", "2.5", "c", "3"]]
    assert c.execute_command("ZSCAN", "nokey", 0) == ["0", []]
    assert c.execute_command("ZSCAN", "nokey", 0, "COUNT", 0) == ["0", []]  # options unchecked


def test_zscan_skiplist_full_iteration(c):
    big_set(c, "z", 1000)
    zadd(c, "z", 0.5, "half", "-0", "negzero")
    seen = {}
    cursor, calls = "0", 0
    while True:
        cursor, items = c.execute_command("ZSCAN", "z", cursor, "COUNT", 50)
        calls += 1
        for m, s in zip(items[::2], items[1::2]):
            seen[m] = s
        if cursor == "0":
            break
        assert calls < 1000
    assert len(seen) == 1002
    assert seen["m7"] == "7" and seen["half"] == "0.5" and seen["negzero"] == "-0"
    assert calls > 1
    # MATCH filters members, not scores.
    cursor, got = "0", []
    while True:
        cursor, items = c.execute_command("ZSCAN", "z", cursor, "MATCH", "m99*", "COUNT", 100)
        got += items[::2]
        if cursor == "0":
            break
    assert sorted(got) == sorted(["m99"] + [f"m99{i}" for i in range(10)])


def test_zscan_errors(c):
    zadd(c, "z", 1, "a")
    c.execute_command("SET", "str", "v")
    assert err(c, "ZSCAN", "z", "abc") == "ERR invalid cursor"
    assert err(c, "ZSCAN", "z", "18446744073709551616") == "ERR invalid cursor"
    assert err(c, "ZSCAN", "nokey", "abc") == "ERR invalid cursor"
    assert err(c, "ZSCAN", "z", 0, "COUNT", 0) == SYNTAX
    assert err(c, "ZSCAN", "z", 0, "COUNT", "abc") == NOT_INT
    assert err(c, "ZSCAN", "z", 0, "MATCH") == SYNTAX
    assert err(c, "ZSCAN", "z", 0, "TYPE", "zset") == SYNTAX
    assert err(c, "ZSCAN", "z", 0, "FOO", "bar") == SYNTAX
    assert err(c, "ZSCAN", "str", 0) == WRONGTYPE
    assert err(c, "ZSCAN", "str", "abc") == "ERR invalid cursor"


# ---------------------------------------------------------------------------
# ZRANDMEMBER


@pytest.mark.parametrize("n", [3, 50, 500])
def test_zrandmember(c, n):
    big_set(c, "z", n)
    members = {f"m{i}" for i in range(n)}
    for _ in range(20):
        assert c.execute_command("ZRANDMEMBER", "z") in members
    # Positive counts: distinct members, at most the whole set.
    for count in (1, 2, n // 3 or 1, n - 1, n, n + 5):
        got = c.execute_command("ZRANDMEMBER", "z", count)
        assert len(got) == min(count, n) and len(set(got)) == len(got) and set(got) <= members
    # The whole set comes highest score first, as Redis sends it.
    assert c.execute_command("ZRANDMEMBER", "z", n + 1) == [f"m{i}" for i in reversed(range(n))]
    # Negative counts: exactly -count members, repeats allowed.
    got = c.execute_command("ZRANDMEMBER", "z", -(3 * n))
    assert len(got) == 3 * n and set(got) <= members
    if n == 3:  # 300 draws from 3 see them all (but for odds of 3 * (2/3)^300)
        assert set(c.execute_command("ZRANDMEMBER", "z", -300)) == members
    pairs = c.execute_command("ZRANDMEMBER", "z", -5, "WITHSCORES")
    assert len(pairs) == 10
    for m, s in zip(pairs[::2], pairs[1::2]):
        assert s == m[1:]
    pairs = c.execute_command("ZRANDMEMBER", "z", 2, "withscores")
    assert len(pairs) == 4 and pairs[0] != pairs[2]
    assert c.execute_command("ZRANDMEMBER", "z", 0) == []
    assert c.execute_command("ZRANDMEMBER", "z", 0, "WITHSCORES") == []


def test_zrandmember_missing_and_errors(c):
    assert c.execute_command("ZRANDMEMBER", "nokey") is None
    assert c.execute_command("ZRANDMEMBER", "nokey", 5) == []
    assert c.execute_command("ZRANDMEMBER", "nokey", -5, "WITHSCORES") == []
    assert err(c, "ZRANDMEMBER", "nokey", "abc") == NOT_INT
    assert err(c, "ZRANDMEMBER", "nokey", 1, "foo") == SYNTAX
    assert err(c, "ZRANDMEMBER", "nokey", 1, "WITHSCORES", "foo") == SYNTAX
    assert err(c, "ZRANDMEMBER", "nokey", -9223372036854775808) == \
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    for count in (4611686018427387904, -4611686018427387904, -9223372036854775807):
        assert err(c, "ZRANDMEMBER", "nokey", count, "WITHSCORES") == "ERR value is out of range"
    assert c.execute_command("ZRANDMEMBER", "nokey", 4611686018427387903, "WITHSCORES") == []
    c.execute_command("SET", "str", "v")
    assert err(c, "ZRANDMEMBER", "str") == WRONGTYPE
    assert err(c, "ZRANDMEMBER", "str", 0) == WRONGTYPE


@parley_only
def test_zrandmember_refuses_a_reply_beyond_proto_max_bulk_len(c):
    # Redis would try to send 2^63 members and run out of memory; every
    # replica would do the same here, so such a count is refused.
    zadd(c, "z", 1, "a", 2, "b")
    assert err(c, "ZRANDMEMBER", "z", -9223372036854775807) == "ERR value is out of range"
    assert err(c, "ZRANDMEMBER", "z", -4611686018427387903, "WITHSCORES") == "ERR value is out of range"
    assert len(c.execute_command("ZRANDMEMBER", "z", -100000)) == 100000


@parley_only
def test_zrandmember_bounds_negative_count_as_srandmember_does(c):
    # The bound SRANDMEMBER and HRANDFIELD share (common.c's
    # random_count_ok): at most proto-max-bulk-len / 8 repeats, whatever
    # the members' size; with 1mb that is 131072.
    zadd(c, "z", 1, "a", 2, "b")
    c.execute_command("SADD", "s", "a")
    assert c.execute_command("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
    try:
        for cmd in ("ZRANDMEMBER z", "SRANDMEMBER s"):
            assert len(c.execute_command(*cmd.split(), -131072)) == 131072, cmd
            assert err(c, *cmd.split(), -131073) == "ERR value is out of range", cmd
        assert len(c.execute_command("ZRANDMEMBER", "z", -131072, "WITHSCORES")) == 2 * 131072
        assert err(c, "ZRANDMEMBER", "z", -131073, "WITHSCORES") == "ERR value is out of range"
        assert err(c, "ZRANDMEMBER", "nokey", -131073) == "ERR value is out of range"
        assert c.execute_command("ZRANDMEMBER", "z", 131073) == ["b", "a"]
    finally:
        c.execute_command("CONFIG", "SET", "proto-max-bulk-len", "512mb")


# ---------------------------------------------------------------------------
# Types and encodings


def test_wrongtype_for_every_command(c):
    c.execute_command("SET", "str", "v")
    commands = [
        ("ZADD", "str", 1, "a"), ("ZINCRBY", "str", 1, "a"), ("ZREM", "str", "a"),
        ("ZSCORE", "str", "a"), ("ZMSCORE", "str", "a"), ("ZCARD", "str"),
        ("ZCOUNT", "str", 0, 1), ("ZLEXCOUNT", "str", "-", "+"), ("ZRANGE", "str", 0, 1),
        ("ZRANGESTORE", "d", "str", 0, 1), ("ZRANGEBYSCORE", "str", 0, 1),
        ("ZREVRANGE", "str", 0, 1), ("ZREVRANGEBYSCORE", "str", 1, 0),
        ("ZRANGEBYLEX", "str", "-", "+"), ("ZREVRANGEBYLEX", "str", "+", "-"),
        ("ZRANK", "str", "a"), ("ZREVRANK", "str", "a"), ("ZREMRANGEBYSCORE", "str", 0, 1),
        ("ZREMRANGEBYRANK", "str", 0, 1), ("ZREMRANGEBYLEX", "str", "-", "+"),
        ("ZPOPMIN", "str"), ("ZPOPMAX", "str", 2), ("ZMPOP", 1, "str", "MIN"),
        ("ZUNIONSTORE", "d", 1, "str"), ("ZINTERSTORE", "d", 1, "str"), ("ZSCAN", "str", 0),
        ("ZRANDMEMBER", "str"), ("ZRANDMEMBER", "str", 2),
    ]
    for args in commands:
        assert err(c, *args) == WRONGTYPE, args
    assert c.execute_command("GET", "str") == "v"
    assert c.execute_command("EXISTS", "d") == 0
    # And string commands refuse a zset.
    zadd(c, "z", 1, "a")
    assert err(c, "GET", "z") == WRONGTYPE
    assert err(c, "APPEND", "z", "x") == WRONGTYPE


def test_encoding_transitions(c):
    big_set(c, "z", 128)
    assert enc(c, "z") == "listpack"
    zadd(c, "z", 5, "m5")                      # an update does not convert
    assert enc(c, "z") == "listpack"
    zadd(c, "z", "XX", 1, "newmember")         # nor does XX on a new member
    assert enc(c, "z") == "listpack"
    zadd(c, "z", 1000, "m128")
    assert enc(c, "z") == "skiplist"
    c.execute_command("ZREMRANGEBYRANK", "z", 0, 100)
    assert c.execute_command("ZCARD", "z") == 28
    assert enc(c, "z") == "skiplist"           # never back by itself
    zadd(c, "v", 1, "x" * 64)
    assert enc(c, "v") == "listpack"
    zadd(c, "v", 1, "y" * 65)
    assert enc(c, "v") == "skiplist"
    c.execute_command("ZREM", "v", "y" * 65)
    assert enc(c, "v") == "skiplist"
    zadd(c, "w", 1, "y" * 65)                  # created as a skiplist
    assert enc(c, "w") == "skiplist"
    # ZINCRBY creating a long member.
    c.execute_command("ZINCRBY", "i", 1, "q" * 65)
    assert enc(c, "i") == "skiplist"
    # The contents survive the conversion.
    assert c.execute_command("ZRANGE", "z", 0, 2, "WITHSCORES") == ["m101", "101", "m102", "102", "m103", "103"]


def test_generic_key_commands_on_zsets(c):
    big_set(c, "big", 200)
    zadd(c, "small", 1, "a", 2, "b")
    assert c.execute_command("TYPE", "big") == "zset"
    assert c.execute_command("COPY", "big", "big2") == 1
    assert c.execute_command("COPY", "small", "small2") == 1
    assert enc(c, "big2") == "skiplist" and enc(c, "small2") == "listpack"
    assert c.execute_command("ZRANGE", "big2", 0, -1, "WITHSCORES") == \
        c.execute_command("ZRANGE", "big", 0, -1, "WITHSCORES")
    zadd(c, "big2", 1000, "only-in-copy")
    assert c.execute_command("ZSCORE", "big", "only-in-copy") is None
    assert c.execute_command("RENAME", "small2", "renamed") == "OK"
    assert c.execute_command("ZRANGE", "renamed", 0, -1) == ["a", "b"]
    cursor, keys = c.execute_command("SCAN", 0, "TYPE", "zset", "COUNT", 1000)
    assert sorted(keys) == ["big", "big2", "renamed", "small"]
    assert c.execute_command("DEL", "big", "small") == 2
    assert c.execute_command("EXISTS", "big", "small") == 0
    c.execute_command("EXPIRE", "renamed", 100)
    zadd(c, "renamed", 3, "c")                  # an in-place change keeps the TTL
    assert 0 < c.execute_command("TTL", "renamed") <= 100


@pytest.mark.parametrize("change,breaks", [
    (("ZADD", "z", 5, "a"), True),
    (("ZADD", "z", 9, "new"), True),
    (("ZADD", "z", 1, "a"), False),               # same score: no change
    (("ZADD", "z", "NX", 7, "a"), False),
    (("ZINCRBY", "z", 1, "a"), True),
    (("ZREM", "z", "a"), True),
    (("ZREM", "z", "nope"), False),
    (("ZPOPMIN", "z"), True),
    (("ZMPOP", 1, "z", "MAX"), True),
    (("ZREMRANGEBYSCORE", "z", 1, 1), True),
    (("ZREMRANGEBYLEX", "z", "[a", "[a"), True),
    (("ZREMRANGEBYRANK", "z", 5, 9), False),
    (("ZRANGESTORE", "z", "other", 0, -1), True),
    (("ZUNIONSTORE", "z", 1, "other"), True),
    (("ZRANGE", "z", 0, -1), False),
])
def test_changes_break_watch(node, change, breaks):
    """WATCH sees every change to a sorted set, in place or not, and only
    changes."""
    a, b = exact_client(node), exact_client(node)
    zadd(a, "z", 1, "a", 2, "b")
    zadd(a, "other", 3, "c")
    a.execute_command("WATCH", "z")
    b.execute_command(*change)
    a.execute_command("MULTI")
    a.execute_command("ZCARD", "z")
    result = a.execute_command("EXEC")
    assert (result is None) == breaks, result
    a.connection_pool.disconnect()
    b.connection_pool.disconnect()


@parley_only
def test_command_info_rows(c):
    info = c.execute_command("COMMAND", "INFO", "zadd", "zrangestore", "zrandmember", "zmpop")
    zadd_info, store_info, rand_info, mpop_info = info
    assert zadd_info[:2] == ["zadd", -4] and zadd_info[3:6] == [1, 1, 1]
    assert sorted(zadd_info[2]) == ["denyoom", "fast", "write"]
    assert sorted(zadd_info[6]) == ["@fast", "@sortedset", "@write"]
    assert store_info[:2] == ["zrangestore", -5] and store_info[3:6] == [1, 2, 1]
    assert sorted(store_info[2]) == ["denyoom", "write"]
    assert rand_info[1] == -2 and rand_info[2] == ["readonly"]
    assert mpop_info[3:6] == [0, 0, 0]
    docs = c.execute_command("COMMAND", "DOCS", "zscore")
    fields = dict(zip(docs[1][::2], docs[1][1::2]))
    assert fields["group"] == "sorted-set"
    assert fields["summary"] == "Get the score associated with the given member in a sorted set"


# ---------------------------------------------------------------------------
# RESP3


def test_resp3_doubles_and_nulls(c, r3):
    zadd(c, "z", 1, "a", 2.5, "b", "inf", "c", "0.1", "d")
    assert r3.cmd("ZSCORE", "z", "b") == b",2.5\r\n"
    assert r3.cmd("ZSCORE", "z", "a") == b",1\r\n"
    assert r3.cmd("ZSCORE", "z", "c") == b",inf\r\n"
    assert r3.cmd("ZSCORE", "z", "d") == b",0.10000000000000001\r\n"
    assert r3.cmd("ZSCORE", "z", "nope") == b"_\r\n"
    assert r3.cmd("ZSCORE", "nokey", "a") == b"_\r\n"
    assert r3.cmd("ZMSCORE", "z", "a", "nope") == b"*2\r\n,1\r\n_\r\n"
    assert r3.cmd("ZINCRBY", "z", 1, "a") == b",2\r\n"
    assert r3.cmd("ZADD", "z", "INCR", 1, "a") == b",3\r\n"
    assert r3.cmd("ZADD", "z", "INCR", "NX", 1, "a") == b"_\r\n"
    assert r3.cmd("ZADD", "z", 5, "e") == b":1\r\n"
    assert r3.cmd("ZRANK", "z", "nope") == b"_\r\n"
    assert r3.cmd("ZRANK", "z", "e") == b":3\r\n"
    assert r3.cmd("ZRANDMEMBER", "nokey") == b"_\r\n"
    assert r3.cmd("ZCARD", "z") == b":5\r\n"
    big_set(c, "big", 130)
    zadd(c, "big", "-0", "neg")
    assert r3.cmd("ZSCORE", "big", "neg") == b",-0\r\n"


def test_resp3_withscores_are_pairs(c, r3):
    zadd(c, "z", 1, "a", 2.5, "b", 3, "c")
    pairs = b"*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    assert r3.cmd("ZRANGE", "z", 0, -1, "WITHSCORES") == pairs
    assert r3.cmd("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "WITHSCORES") == pairs
    assert r3.cmd("ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", 0, 1) == \
        b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert r3.cmd("ZREVRANGE", "z", 0, 0, "WITHSCORES") == b"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    assert r3.cmd("ZRANGE", "z", 0, -1) == b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    assert r3.cmd("ZRANGE", "z", 5, 6, "WITHSCORES") == b"*0\r\n"
    assert r3.cmd("ZRANGEBYSCORE", "z", 100, 200, "WITHSCORES") == b"*0\r\n"
    assert r3.cmd("ZRANGE", "nokey", 0, -1, "WITHSCORES") == b"*0\r\n"
    # The whole set from ZRANDMEMBER, highest first; random picks are pairs.
    assert r3.cmd("ZRANDMEMBER", "z", 5, "WITHSCORES") == \
        b"*3\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,1\r\n"
    one = r3.cmd("ZRANDMEMBER", "z", -1, "WITHSCORES")
    assert one in (b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n", b"*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
                   b"*1\r\n*2\r\n$1\r\nc\r\n,3\r\n")
    assert r3.cmd("ZRANDMEMBER", "z", 2).startswith(b"*2\r\n$1\r\n")
    # ZSCAN sends scores as strings even in RESP3.
    assert r3.cmd("ZSCAN", "z", 0) == \
        b"*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$1\r\n3\r\n"


def test_resp3_pops(c, r3):
    zadd(c, "z", 1, "a", 2.5, "b", 3, "c", 4, "d")
    assert r3.cmd("ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n,1\r\n"           # no count: flat
    assert r3.cmd("ZPOPMIN", "z", 1) == b"*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"  # count: pairs
    assert r3.cmd("ZPOPMAX", "z", 0) == b"*0\r\n"
    assert r3.cmd("ZPOPMAX", "z", 2) == b"*2\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    assert r3.cmd("ZPOPMIN", "nokey") == b"*0\r\n"
    assert r3.cmd("ZPOPMIN", "nokey", 2) == b"*0\r\n"
    zadd(c, "z", 1, "a")
    assert r3.cmd("ZMPOP", 1, "z", "MIN") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert r3.cmd("ZMPOP", 1, "nokey", "MIN") == b"_\r\n"
    assert r3.cmd("ZUNIONSTORE", "o", 1, "nokey") == b":0\r\n"


def test_resp2_null_shapes(c):
    assert c.execute_command("ZMPOP", 1, "nokey", "MIN") is None
    port = c.connection_pool.connection_kwargs["port"]
    assert raw_command(port, resp_encode("ZMPOP", "1", "nokey", "MIN"), read_until=b"\r\n") == b"*-1\r\n"
    assert raw_command(port, resp_encode("ZSCORE", "nokey", "a"), read_until=b"\r\n") == b"$-1\r\n"
    assert raw_command(port, resp_encode("ZRANK", "nokey", "a"), read_until=b"\r\n") == b"$-1\r\n"


# ---------------------------------------------------------------------------
# Replication and snapshots (Parley only)


def mixed_workload(clients, rnd):
    """Every command that writes, spread over the nodes' clients. Lex ranges
    run over mixed scores too: Redis leaves their result unspecified, but
    replicas must still agree."""
    def cl():
        return rnd.choice(clients)
    for i in range(60):
        key = f"z{i % 6}"
        cl().execute_command("ZADD", key, *flat((rnd.choice([0, 1, 2.5, "-0", "inf"]), f"m{rnd.randrange(300)}")
                                                 for _ in range(rnd.randrange(1, 40))))
    for i in range(200):
        key = f"z{rnd.randrange(6)}"
        op = rnd.randrange(12)
        m = f"m{rnd.randrange(300)}"
        if op == 0:
            cl().execute_command("ZINCRBY", key, rnd.choice([1, -2.5, "inf"]), m)
        elif op == 1:
            cl().execute_command("ZREM", key, m, f"m{rnd.randrange(300)}")
        elif op == 2:
            cl().execute_command("ZREMRANGEBYLEX", key, f"[m{rnd.randrange(300)}", f"(m{rnd.randrange(300)}")
        elif op == 3:
            cl().execute_command("ZREMRANGEBYSCORE", key, "(0", 1)
        elif op == 4:
            cl().execute_command("ZREMRANGEBYRANK", key, 0, rnd.randrange(3))
        elif op == 5:
            cl().execute_command("ZPOPMIN", key, rnd.randrange(1, 4))
        elif op == 6:
            cl().execute_command("ZMPOP", 2, key, "z0", "MAX", "COUNT", 2)
        elif op == 7:
            cl().execute_command("ZUNIONSTORE", f"u{rnd.randrange(3)}", 3, "z0", key, "z5",
                                 "WEIGHTS", 1, -0.5, 3, "AGGREGATE", rnd.choice(["SUM", "MIN", "MAX"]))
        elif op == 8:
            cl().execute_command("ZINTERSTORE", f"u{rnd.randrange(3)}", 2, key, "z1")
        elif op == 9:
            cl().execute_command("ZRANGESTORE", f"r{rnd.randrange(3)}", key,
                                 f"[m{rnd.randrange(300)}", "+", "BYLEX", "LIMIT", 0, 50)
        elif op == 10:
            cl().execute_command("ZADD", key, "GT", "CH", rnd.randrange(5), m)
        else:
            cl().execute_command("ZADD", key, *flat((i, f"long{i}{'x' * 70}") for i in range(3)))


@parley_only
def test_cluster_converges_on_a_mixed_zset_workload(cluster):
    clients = [n.client() for n in cluster.nodes]
    mixed_workload(clients, random.Random(7))
    cluster.wait_converged()
    digests = {n.client().execute_command("RAFT", "DIGEST")[1] for n in cluster.nodes}
    assert len(digests) == 1
    # Every node holds the same sets (read from each node's own state).
    leader = cluster.leader().client()
    expected = leader.zrange("z0", 0, -1, withscores=True)
    assert expected
    for n in cluster.nodes:
        assert n.client().zrange("z0", 0, -1, withscores=True) == expected


@parley_only
def test_follower_restored_from_a_snapshot_agrees_on_later_lex_ranges(make_cluster):
    """A follower that catches up from a snapshot rebuilds its skiplists in
    another order (other node levels); lex ranges over mixed scores applied
    afterwards must still give it the same sets."""
    cluster = make_cluster(extra=["--raft-snapshot-threshold", "32",
                                  "--raft-snapshot-trailing", "8"]).start()
    follower = cluster.followers()[0]
    follower.kill()
    c = cluster.leader().client()
    rnd = random.Random(11)
    for k in range(4):
        for i in range(0, 400, 40):
            c.execute_command("ZADD", f"mixed{k}", *flat((rnd.randrange(4), f"m{rnd.randrange(1000):04d}")
                                                          for _ in range(40)))
    follower.start()
    cluster.wait_converged(30)
    removed = 0
    for i in range(60):
        removed += c.execute_command("ZREMRANGEBYLEX", f"mixed{i % 4}", f"[m{rnd.randrange(1000):04d}",
                                     f"(m{rnd.randrange(1000):04d}")
    for i in range(20):
        c.execute_command("ZRANGESTORE", f"out{i % 4}", f"mixed{i % 4}", "-",
                          f"[m{rnd.randrange(1000):04d}", "BYLEX")
    assert removed > 0
    cluster.wait_converged(30)
    assert follower.client().zcard("mixed0") == c.zcard("mixed0")


@parley_only
def test_snapshot_round_trip_keeps_zsets(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = exact_client(node)
    big_set(c, "big", 500)
    c.execute_command("ZADD", "big", "-0", "neg", "inf", "top", "-inf", "bottom", 0.1, "tenth")
    c.execute_command("ZADD", "small", 1, "a", "-0", "z", 2.5, "b")
    c.execute_command("ZADD", "long", 1, "x" * 100)
    c.execute_command("EXPIRE", "small", 1000)
    c.execute_command("SELECT", 2)
    c.execute_command("ZADD", "db2", 1, "in-db2")
    c.execute_command("SELECT", 0)
    for i in range(100):                       # enough entries for snapshots
        c.execute_command("ZINCRBY", "counter", 1, f"c{i % 7}")
    digest = c.execute_command("DEBUG", "DIGEST")
    ranges = {k: c.execute_command("ZRANGE", k, 0, -1, "WITHSCORES") for k in ("big", "small", "long", "counter")}
    c.connection_pool.disconnect()
    assert node.stop() == 0
    import glob
    assert glob.glob(os.path.join(node.dir, "snapshot-*")), "no snapshot was taken"
    node.start()
    wait_writable(node)
    c = exact_client(node)
    assert c.execute_command("DEBUG", "DIGEST") == digest
    for k, v in ranges.items():
        assert c.execute_command("ZRANGE", k, 0, -1, "WITHSCORES") == v
    assert c.execute_command("ZSCORE", "big", "neg") == "-0"
    assert c.execute_command("ZSCORE", "small", "z") == "0"
    assert [enc(c, k) for k in ("big", "small", "long", "counter")] == \
        ["skiplist", "listpack", "skiplist", "listpack"]
    assert 990 <= c.execute_command("TTL", "small") <= 1000
    c.execute_command("SELECT", 2)
    assert c.execute_command("ZRANGE", "db2", 0, -1) == ["in-db2"]
    c.connection_pool.disconnect()


# A script runs on every node from the log and may write what it read; a
# follower that installed a snapshot rebuilt its skiplists and their member
# dicts, so a reply in hash-table order would differ there.
RECORD_ZSCAN = """
local out = {}
local cursor = '0'
for i = 1, 8 do
    local r = redis.call('ZSCAN', KEYS[1], cursor, 'COUNT', 15)
    cursor = r[1]
    for _, x in ipairs(r[2]) do table.insert(out, x) end
end
cursor = '0'
for i = 1, 3 do
    local r = redis.call('ZSCAN', KEYS[1], cursor, 'MATCH', 'm1*', 'COUNT', 50)
    cursor = r[1]
    for _, x in ipairs(r[2]) do table.insert(out, x) end
end
redis.call('RPUSH', KEYS[2], unpack(out))
return #out
"""

RECORD_ZRANDMEMBER = """
local out = {}
local function add(t) for _, x in ipairs(t) do table.insert(out, x) end end
table.insert(out, redis.call('ZRANDMEMBER', KEYS[1]))
add(redis.call('ZRANDMEMBER', KEYS[1], 10))
add(redis.call('ZRANDMEMBER', KEYS[1], 200, 'WITHSCORES'))
add(redis.call('ZRANDMEMBER', KEYS[1], -20, 'WITHSCORES'))
add(redis.call('ZRANDMEMBER', KEYS[1], 100000))
redis.call('RPUSH', KEYS[2], unpack(out))
return #out
"""


def skiplist_workload(clients):
    n = len(clients)
    for i in range(0, 300, 20):
        clients[i % n].execute_command("ZADD", "big", *flat((j % 17, f"m{j}") for j in range(i, i + 20)))
    for i in range(0, 300, 9):
        clients[i % n].execute_command("ZREM", "big", f"m{i}")
    for i in range(1, 300, 7):
        clients[i % n].execute_command("ZINCRBY", "big", 2.5, f"m{i}")
    for i in range(5):
        clients[i % n].execute_command("ZPOPMIN", "big")
        clients[i % n].execute_command("ZUNIONSTORE", "union", 2, "big", "big", "WEIGHTS", 1, 2)
    for i in range(100):  # enough entries for the leader to compact its log
        clients[i % n].execute_command("ZADD", "filler", i, f"f{i}")


@parley_only
@pytest.mark.parametrize("script", [RECORD_ZSCAN, RECORD_ZRANDMEMBER], ids=["ZSCAN", "ZRANDMEMBER"])
def test_replies_are_the_same_on_a_follower_restored_from_a_snapshot(make_cluster, script):
    cluster = make_cluster(extra=SNAPSHOT_OFTEN).start()
    follower = cluster.followers()[0]
    follower.kill()
    live = [exact_client(n) for n in cluster.nodes if n is not follower]
    skiplist_workload(live)
    follower.start()
    cluster.wait_converged(30)
    assert "Loaded a snapshot" in follower.log_text()  # installed from the leader
    clients = [exact_client(n) for n in cluster.nodes]
    assert enc(clients[0], "big") == "skiplist" and enc(clients[0], "union") == "skiplist"
    for r in range(3):
        assert clients[r].execute_command("EVAL", script, 2, "big", "rec") > 20
        assert clients[(r + 1) % 3].execute_command("EVAL", script, 2, "union", "rec") > 20
        clients[(r + 2) % 3].execute_command("ZREM", "big", f"m{r * 10 + 1}")
    cluster.wait_converged(30)
    for c in live + clients:
        c.connection_pool.disconnect()


def test_zunion_zinter_zdiff_zintercard_match_redis(server, redis_ref):
    """ZUNION, ZINTER, ZDIFF (WITHSCORES, WEIGHTS, AGGREGATE), ZDIFFSTORE and
    ZINTERCARD against redis-server, plain sets and missing keys included."""
    import redis as redis_py
    setup = [("ZADD", "a", 1, "x", 2, "y", 3, "z"), ("ZADD", "b", 5, "y", 6, "w", "-inf", "z"),
             ("SADD", "s", "x", "w", "v"), ("SET", "str", "1")]
    cases = [("ZUNION", 2, "a", "b"), ("ZUNION", 2, "a", "b", "WITHSCORES"),
             ("ZUNION", 3, "a", "b", "s", "WEIGHTS", 2, 1, 3, "AGGREGATE", "MAX", "WITHSCORES"),
             ("ZINTER", 2, "a", "b", "WITHSCORES"), ("ZINTER", 2, "a", "s", "AGGREGATE", "MIN", "WITHSCORES"),
             ("ZINTER", 2, "a", "missing"), ("ZDIFF", 2, "a", "b", "WITHSCORES"), ("ZDIFF", 1, "a"),
             ("ZDIFF", 2, "a", "a"), ("ZDIFF", 2, "s", "a", "WITHSCORES"), ("ZDIFF", 2, "missing", "a"),
             ("ZDIFF", 2, "a", "b", "WEIGHTS", 1, 2), ("ZUNION", 0, "a"), ("ZUNION", 3, "a"),
             ("ZUNION", 1, "str"), ("ZUNION", 2, "a", "b", "FOO"), ("ZDIFFSTORE", "d", 2, "a", "b"),
             ("ZRANGE", "d", 0, -1, "WITHSCORES"), ("ZDIFFSTORE", "d", 2, "a", "a"), ("EXISTS", "d"),
             ("ZINTERCARD", 2, "a", "b"), ("ZINTERCARD", 2, "a", "s", "LIMIT", 1),
             ("ZINTERCARD", 2, "a", "b", "LIMIT", 0), ("ZINTERCARD", 0, "a"), ("ZINTERCARD", 3, "a", "b"),
             ("ZINTERCARD", 2, "a", "b", "LIMIT", -1), ("ZINTERCARD", 2, "a", "b", "FOO", 1),
             ("ZINTERCARD", 1, "str")]
    for proto in (2,):
        got = []
        for port in (server.port, redis_ref.port):
            c = redis_py.Redis(port=port)
            c.response_callbacks.clear()
            c.flushall()
            for cmd in setup:
                c.execute_command(*cmd)
            row = []
            for cmd in cases:
                try:
                    row.append(c.execute_command(*cmd))
                except redis_py.ResponseError as e:
                    row.append(str(e))
            got.append(row)
        for cmd, a, b in zip(cases, *got):
            assert a == b, (proto, cmd)
