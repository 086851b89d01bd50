"""List commands against a real parley-server, checked against Redis 7.0.

Pushes (LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT), pops and moves (LPOP, RPOP
with and without a count, LMOVE in all four directions and onto the same
key, RPOPLPUSH, LMPOP), reads (LLEN, LINDEX, LRANGE, LPOS with RANK, COUNT
and MAXLEN) and edits (LSET, LREM, LTRIM): replies, the nil / null array /
empty array distinctions in RESP2 and RESP3 (raw bytes), error texts and
the order in which arguments and keys are checked, WRONGTYPE and arity
errors, lists that become empty disappearing, integers and binary elements,
elements bigger than a listpack node (8 KB) and lists of many nodes, TYPE,
OBJECT ENCODING ("quicklist", as Redis 7.0 reports for any list), COPY,
RENAME, SCAN TYPE and expired lists; then a 3-node cluster converging
(RAFT DIGEST) after pushes and pops sent to different nodes, and a node
restarted from a snapshot holding lists (DEBUG DIGEST unchanged).

Every expected value was obtained by running the same commands on
redis-server 7.0.15 and is hard-coded: these tests need no redis-server to
run. The `c` client (exact.py) leaves replies as the server sent them, error
prefixes included.
"""
import glob
import os

import pytest

from conftest import raw_command, resp_encode, wait_until, wait_writable
from exact import err, exact_client

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
POSITIVE = "ERR value is out of range, must be positive"
RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
             "... or use negative to start from the end of the list")
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


@pytest.fixture
def c(r, server):
    """A client on the flushed shared node whose replies are left raw."""
    client = exact_client(server)
    yield client
    client.connection_pool.disconnect()


@pytest.fixture
def cb(r, server):
    """The same, with bytes replies, for binary elements."""
    client = exact_client(server, decode=False)
    yield client
    client.connection_pool.disconnect()


def lrange(c, key):
    return c.execute_command("LRANGE", key, 0, -1)


def raw(server, *commands, proto=2):
    """The raw bytes answered to commands sent in one write (after HELLO 3
    for proto 3, whose own reply is cut off)."""
    payload = b"".join(resp_encode(*cmd) for cmd in commands)
    if proto == 3:
        payload = resp_encode("HELLO", "3") + payload
    marker = resp_encode("ECHO", "--end--")
    data = raw_command(server.port, payload + marker, read_until=b"--end--\r\n")
    assert data.endswith(b"$7\r\n--end--\r\n"), data
    data = data[:-len(b"$7\r\n--end--\r\n")]
    if proto == 3:
        assert data.startswith(b"%7\r\n")
        data = data[data.index(b"modules\r\n*0\r\n") + len(b"modules\r\n*0\r\n"):]
    return data


# ---------------------------------------------------------------------------
# Pushes


def test_push_order_and_lengths(c):
    assert c.execute_command("RPUSH", "l", "a", "b", "c") == 3
    assert c.execute_command("LPUSH", "l", "x", "y") == 5
    assert lrange(c, "l") == ["y", "x", "a", "b", "c"]
    assert c.execute_command("RPUSH", "l", "z") == 6
    assert lrange(c, "l") == ["y", "x", "a", "b", "c", "z"]
    assert c.execute_command("LPUSH", "new", "1") == 1
    assert c.execute_command("TYPE", "new") == "list"


def test_pushx_only_on_existing_lists(c):
    assert c.execute_command("RPUSHX", "nokey", "a") == 0
    assert c.execute_command("LPUSHX", "nokey", "a", "b") == 0
    assert c.execute_command("EXISTS", "nokey") == 0
    assert c.execute_command("RPUSH", "l", "1") == 1
    assert c.execute_command("RPUSHX", "l", "a", "b", "c") == 4
    assert c.execute_command("LPUSHX", "l", "x", "y") == 6
    assert lrange(c, "l") == ["y", "x", "1", "a", "b", "c"]


def test_linsert(c):
    assert c.execute_command("LINSERT", "nokey", "BEFORE", "a", "x") == 0
    assert c.execute_command("EXISTS", "nokey") == 0
    assert c.execute_command("RPUSH", "l", "a", "b", "c") == 3
    assert c.execute_command("LINSERT", "l", "before", "nope", "x") == -1
    assert c.execute_command("LINSERT", "l", "BEFORE", "a", "y") == 4
    assert c.execute_command("LINSERT", "l", "After", "c", "z") == 5
    assert c.execute_command("LINSERT", "l", "AFTER", "b", "b") == 6
    # The first match from the head is the pivot.
    assert c.execute_command("LINSERT", "l", "BEFORE", "b", "q") == 7
    assert lrange(c, "l") == ["y", "a", "q", "b", "b", "c", "z"]
    # Integers compare by value only in their canonical form.
    assert c.execute_command("RPUSH", "n", "1", "10") == 2
    assert c.execute_command("LINSERT", "n", "AFTER", "01", "x") == -1
    assert c.execute_command("LINSERT", "n", "AFTER", "10", "11") == 3
    assert lrange(c, "n") == ["1", "10", "11"]


def test_linsert_errors(c):
    # The direction is checked before the key.
    assert err(c, "LINSERT", "nokey", "middle", "a", "x") == SYNTAX
    assert c.execute_command("SET", "s", "v") == "OK"
    assert err(c, "LINSERT", "s", "middle", "a", "x") == SYNTAX
    assert err(c, "LINSERT", "s", "before", "a", "x") == WRONGTYPE


# ---------------------------------------------------------------------------
# Pops


def test_pop_single_elements(c):
    assert c.execute_command("RPUSH", "l", "a", "b", "c", "d") == 4
    assert c.execute_command("LPOP", "l") == "a"
    assert c.execute_command("RPOP", "l") == "d"
    assert lrange(c, "l") == ["b", "c"]
    assert c.execute_command("LPOP", "l") == "b"
    assert c.execute_command("LPOP", "l") == "c"
    # The emptied list is deleted.
    assert c.execute_command("EXISTS", "l") == 0
    assert c.execute_command("LPOP", "l") is None


def test_pop_with_count(c):
    assert c.execute_command("RPUSH", "l", "a", "b", "c", "d", "e") == 5
    assert c.execute_command("LPOP", "l", 0) == []
    assert c.execute_command("LPOP", "l", 2) == ["a", "b"]
    assert c.execute_command("RPOP", "l", 2) == ["e", "d"]
    assert c.execute_command("RPOP", "l", 1) == ["c"]
    assert c.execute_command("EXISTS", "l") == 0
    assert c.execute_command("RPUSH", "l", "a", "b", "c") == 3
    assert c.execute_command("RPOP", "l", LLONG_MAX) == ["c", "b", "a"]
    assert c.execute_command("EXISTS", "l") == 0


def test_pop_errors(c):
    for cmd in ("LPOP", "RPOP"):
        # The count is parsed before the key is looked up.
        assert err(c, cmd, "nokey", -1) == POSITIVE
        assert err(c, cmd, "nokey", "abc") == POSITIVE
        assert err(c, cmd, "nokey", "1.5") == POSITIVE
        assert err(c, cmd, "nokey", 1, 2) == f"ERR wrong number of arguments for '{cmd.lower()}' command"
    assert c.execute_command("SET", "s", "v") == "OK"
    assert err(c, "LPOP", "s") == WRONGTYPE
    assert err(c, "LPOP", "s", 0) == WRONGTYPE
    assert err(c, "RPOP", "s", -1) == POSITIVE


def test_nil_and_empty_replies_resp2(server, r):
    r.rpush("l", "a", "b", "c")
    got = raw(server,
              ("LPOP", "nokey"), ("LPOP", "nokey", "0"), ("RPOP", "nokey", "2"),
              ("LPOP", "l", "0"), ("LPOP", "l", "1"), ("LINDEX", "nokey", "0"),
              ("LINDEX", "l", "10"), ("LRANGE", "nokey", "0", "1"), ("LPOS", "nokey", "a"),
              ("LPOS", "nokey", "a", "COUNT", "0"), ("LPOS", "l", "zz"),
              ("LPOS", "l", "zz", "COUNT", "0"), ("LMPOP", "1", "nokey", "LEFT"),
              ("RPOPLPUSH", "nokey", "x"), ("LMOVE", "nokey", "x", "LEFT", "LEFT"),
              ("LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "5"))
    assert got == (b"$-1\r\n" b"*-1\r\n" b"*-1\r\n" b"*0\r\n" b"*1\r\n$1\r\na\r\n" b"$-1\r\n"
                   b"$-1\r\n" b"*0\r\n" b"$-1\r\n" b"*0\r\n" b"$-1\r\n" b"*0\r\n" b"*-1\r\n"
                   b"$-1\r\n" b"$-1\r\n" b"*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n")


def test_nil_and_empty_replies_resp3(server, r):
    r.rpush("l", "a", "b", "c")
    got = raw(server,
              ("LPOP", "nokey"), ("LPOP", "nokey", "0"), ("RPOP", "nokey", "2"),
              ("LPOP", "l", "0"), ("LINDEX", "nokey", "0"), ("LRANGE", "nokey", "0", "1"),
              ("LPOS", "nokey", "a"), ("LPOS", "l", "zz", "COUNT", "0"),
              ("LMPOP", "1", "nokey", "LEFT"), ("RPOPLPUSH", "nokey", "x"),
              ("LMOVE", "nokey", "x", "LEFT", "LEFT"), ("LPOS", "l", "b", "COUNT", "0"),
              proto=3)
    assert got == (b"_\r\n" b"_\r\n" b"_\r\n" b"*0\r\n" b"_\r\n" b"*0\r\n" b"_\r\n" b"*0\r\n"
                   b"_\r\n" b"_\r\n" b"_\r\n" b"*1\r\n:1\r\n")


# ---------------------------------------------------------------------------
# LMOVE / RPOPLPUSH


@pytest.mark.parametrize("wherefrom,whereto,moved,src,dst", [
    ("LEFT", "LEFT", "a", ["b", "c"], ["a", "x", "y"]),
    ("LEFT", "RIGHT", "a", ["b", "c"], ["x", "y", "a"]),
    ("RIGHT", "LEFT", "c", ["a", "b"], ["c", "x", "y"]),
    ("RIGHT", "RIGHT", "c", ["a", "b"], ["x", "y", "c"]),
])
def test_lmove_directions(c, wherefrom, whereto, moved, src, dst):
    c.execute_command("RPUSH", "src", "a", "b", "c")
    c.execute_command("RPUSH", "dst", "x", "y")
    assert c.execute_command("LMOVE", "src", "dst", wherefrom, whereto) == moved
    assert lrange(c, "src") == src
    assert lrange(c, "dst") == dst


def test_lmove_same_key_rotates(c):
    c.execute_command("RPUSH", "l", "a", "b", "c", "d")
    assert c.execute_command("LMOVE", "l", "l", "LEFT", "RIGHT") == "a"
    assert lrange(c, "l") == ["b", "c", "d", "a"]
    assert c.execute_command("LMOVE", "l", "l", "right", "left") == "a"
    assert lrange(c, "l") == ["a", "b", "c", "d"]
    assert c.execute_command("LMOVE", "l", "l", "LEFT", "LEFT") == "a"
    assert c.execute_command("LMOVE", "l", "l", "RIGHT", "RIGHT") == "d"
    assert lrange(c, "l") == ["a", "b", "c", "d"]
    assert c.execute_command("RPOPLPUSH", "l", "l") == "d"
    assert lrange(c, "l") == ["d", "a", "b", "c"]
    # A one-element list rotates onto itself and survives.
    c.execute_command("RPUSH", "one", "1")
    assert c.execute_command("LMOVE", "one", "one", "LEFT", "RIGHT") == "1"
    assert lrange(c, "one") == ["1"]


def test_lmove_creates_the_destination_and_deletes_an_emptied_source(c):
    c.execute_command("RPUSH", "src", "only")
    assert c.execute_command("RPOPLPUSH", "src", "dst") == "only"
    assert c.execute_command("EXISTS", "src") == 0
    assert lrange(c, "dst") == ["only"]
    assert c.execute_command("OBJECT", "ENCODING", "dst") == "quicklist"
    assert c.execute_command("LMOVE", "nokey", "dst", "LEFT", "LEFT") is None
    assert c.execute_command("RPOPLPUSH", "nokey", "dst") is None
    assert lrange(c, "dst") == ["only"]


def test_lmove_errors(c):
    c.execute_command("RPUSH", "l", "a")
    c.execute_command("SET", "s", "v")
    assert err(c, "LMOVE", "l", "d", "middle", "LEFT") == SYNTAX
    assert err(c, "LMOVE", "l", "d", "LEFT", "up") == SYNTAX
    assert err(c, "LMOVE", "nokey", "d", "LEFT", "up") == SYNTAX
    assert err(c, "LMOVE", "l", "s", "LEFT", "LEFT") == WRONGTYPE
    assert err(c, "LMOVE", "s", "l", "LEFT", "LEFT") == WRONGTYPE
    assert err(c, "RPOPLPUSH", "l", "s") == WRONGTYPE
    # Nothing moved when the destination is of the wrong type.
    assert lrange(c, "l") == ["a"]
    # A missing source answers nil before the destination's type is checked.
    assert c.execute_command("LMOVE", "nokey", "s", "LEFT", "LEFT") is None
    assert c.execute_command("RPOPLPUSH", "nokey", "s") is None


# ---------------------------------------------------------------------------
# LMPOP


def test_lmpop(c):
    c.execute_command("RPUSH", "l1", "a", "b", "c")
    c.execute_command("RPUSH", "l2", "x", "y")
    assert c.execute_command("LMPOP", 2, "nokey", "l1", "LEFT") == ["l1", ["a"]]
    assert c.execute_command("LMPOP", 2, "l2", "l1", "RIGHT", "COUNT", 5) == ["l2", ["y", "x"]]
    assert c.execute_command("EXISTS", "l2") == 0
    assert c.execute_command("LMPOP", 3, "l2", "nokey", "l1", "right", "count", 1) == ["l1", ["c"]]
    assert c.execute_command("LMPOP", 1, "l1", "LEFT", "COUNT", LLONG_MAX) == ["l1", ["b"]]
    assert c.execute_command("LMPOP", 2, "l1", "l2", "LEFT") is None
    # The same key twice is popped once.
    c.execute_command("RPUSH", "l3", "1", "2")
    assert c.execute_command("LMPOP", 2, "l3", "l3", "LEFT", "COUNT", 1) == ["l3", ["1"]]


def test_lmpop_errors(c):
    c.execute_command("RPUSH", "l", "a", "b")
    c.execute_command("SET", "s", "v")
    for numkeys in (0, -1, "abc", "1.0"):
        assert err(c, "LMPOP", numkeys, "l", "LEFT") == "ERR numkeys should be greater than 0"
    # More keys announced than given: a syntax error, however many.
    assert err(c, "LMPOP", 2, "l", "LEFT") == SYNTAX
    assert err(c, "LMPOP", 2, "a", "b") == SYNTAX
    assert err(c, "LMPOP", LLONG_MAX, "l", "LEFT") == SYNTAX
    assert err(c, "LMPOP", LLONG_MAX - 1, "l", "LEFT") == SYNTAX
    assert err(c, "LMPOP", 1, "l", "middle") == SYNTAX
    for count in (0, -1, "abc"):
        assert err(c, "LMPOP", 1, "l", "LEFT", "COUNT", count) == "ERR count should be greater than 0"
    assert err(c, "LMPOP", 1, "nokey", "LEFT", "COUNT", 0) == "ERR count should be greater than 0"
    assert err(c, "LMPOP", 1, "l", "LEFT", "COUNT", 1, "COUNT", 2) == SYNTAX
    assert err(c, "LMPOP", 1, "l", "LEFT", "foo") == SYNTAX
    assert err(c, "LMPOP", 1, "l", "LEFT", "COUNT") == SYNTAX
    assert err(c, "LMPOP", 1, "l") == "ERR wrong number of arguments for 'lmpop' command"
    # WRONGTYPE only for a key met before a list.
    assert err(c, "LMPOP", 2, "s", "l", "LEFT") == WRONGTYPE
    assert c.execute_command("LMPOP", 2, "l", "s", "LEFT") == ["l", ["a"]]
    assert lrange(c, "l") == ["b"]


# ---------------------------------------------------------------------------
# Reads


def test_llen_and_lindex(c):
    assert c.execute_command("LLEN", "nokey") == 0
    c.execute_command("RPUSH", "l", "a", "b", "c")
    assert c.execute_command("LLEN", "l") == 3
    assert c.execute_command("LINDEX", "l", 0) == "a"
    assert c.execute_command("LINDEX", "l", -1) == "c"
    assert c.execute_command("LINDEX", "l", -3) == "a"
    assert c.execute_command("LINDEX", "l", 3) is None
    assert c.execute_command("LINDEX", "l", -4) is None
    assert c.execute_command("LINDEX", "l", LLONG_MAX) is None
    assert c.execute_command("LINDEX", "l", LLONG_MIN) is None
    assert err(c, "LINDEX", "l", "abc") == NOT_INT
    # A missing key answers nil before the index is parsed.
    assert c.execute_command("LINDEX", "nokey", "abc") is None


def test_lrange(c):
    c.execute_command("RPUSH", "l", "a", "b", "c", "d", "e")
    cases = [((0, -1), ["a", "b", "c", "d", "e"]), ((1, 2), ["b", "c"]),
             ((-2, -1), ["d", "e"]), ((-100, 100), ["a", "b", "c", "d", "e"]),
             ((3, 2), []), ((-1, -2), []), ((5, 10), []), ((2, 2), ["c"]),
             ((LLONG_MIN, LLONG_MAX), ["a", "b", "c", "d", "e"]), ((0, LLONG_MIN), []),
             ((-3, 3), ["c", "d"])]
    for (start, end), want in cases:
        assert c.execute_command("LRANGE", "l", start, end) == want, (start, end)
    assert c.execute_command("LRANGE", "nokey", 0, -1) == []
    # Indexes are parsed before the key is looked up.
    assert err(c, "LRANGE", "nokey", "abc", 0) == NOT_INT
    assert err(c, "LRANGE", "l", 0, "1x") == NOT_INT


def test_lpos(c):
    c.execute_command("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a")
    cases = [
        ((), 0), (("RANK", 2), 3), (("RANK", -1), 6), (("RANK", -2, "COUNT", 0), [3, 0]),
        (("COUNT", 0), [0, 3, 6]), (("COUNT", 2), [0, 3]), (("COUNT", 2, "RANK", -1), [6, 3]),
        (("MAXLEN", 1, "COUNT", 0), [0]), (("MAXLEN", 3, "COUNT", 0, "RANK", -1), [6]),
        (("RANK", 5), None), (("RANK", 5, "COUNT", 0), []), (("COUNT", 0, "MAXLEN", 0), [0, 3, 6]),
        (("RANK", -2, "MAXLEN", 2), None), (("RANK", -2, "MAXLEN", 5), 3),
        (("RANK", 2, "MAXLEN", 3), None), (("RANK", 2, "MAXLEN", 3, "COUNT", 0), []),
        (("COUNT", 1, "COUNT", 3), [0, 3, 6]), (("rank", 2, "count", 0, "maxlen", 7), [3, 6]),
        (("RANK", LLONG_MAX), None), (("RANK", LLONG_MAX, "COUNT", 0), []),
        # Redis negates LONG_MIN into itself: every match counts, COUNT never stops.
        (("RANK", LLONG_MIN), 6), (("RANK", LLONG_MIN, "COUNT", 1), [6, 3, 0]),
    ]
    for opts, want in cases:
        assert c.execute_command("LPOS", "l", "a", *opts) == want, opts
    assert c.execute_command("LPOS", "l", "zz") is None
    assert c.execute_command("LPOS", "nokey", "a") is None
    assert c.execute_command("LPOS", "nokey", "a", "COUNT", 0) == []


def test_lpos_errors(c):
    c.execute_command("RPUSH", "l", "a")
    c.execute_command("SET", "s", "v")
    assert err(c, "LPOS", "l", "a", "RANK", 0) == RANK_ZERO
    assert err(c, "LPOS", "l", "a", "RANK", "abc") == NOT_INT
    assert err(c, "LPOS", "l", "a", "COUNT", -1) == "ERR COUNT can't be negative"
    assert err(c, "LPOS", "l", "a", "COUNT", "abc") == "ERR COUNT can't be negative"
    assert err(c, "LPOS", "l", "a", "MAXLEN", -1) == "ERR MAXLEN can't be negative"
    assert err(c, "LPOS", "l", "a", "MAXLEN", "abc") == "ERR MAXLEN can't be negative"
    assert err(c, "LPOS", "l", "a", "foo") == SYNTAX
    assert err(c, "LPOS", "l", "a", "RANK") == SYNTAX
    # Options are checked in order, before the key.
    assert err(c, "LPOS", "l", "a", "RANK", 0, "COUNT", -1) == RANK_ZERO
    assert err(c, "LPOS", "l", "a", "RANK", 1, "RANK", 0) == RANK_ZERO
    assert err(c, "LPOS", "nokey", "a", "COUNT", -1) == "ERR COUNT can't be negative"
    assert err(c, "LPOS", "s", "a", "RANK", 0) == RANK_ZERO
    assert err(c, "LPOS", "s", "a") == WRONGTYPE


# ---------------------------------------------------------------------------
# Edits


def test_lset(c):
    c.execute_command("RPUSH", "l", "a", "b", "c")
    assert c.execute_command("LSET", "l", 0, "x") == "OK"
    assert c.execute_command("LSET", "l", -1, "z") == "OK"
    assert c.execute_command("LSET", "l", -3, "first") == "OK"
    assert lrange(c, "l") == ["first", "b", "z"]
    assert err(c, "LSET", "l", 3, "x") == "ERR index out of range"
    assert err(c, "LSET", "l", -4, "x") == "ERR index out of range"
    assert err(c, "LSET", "l", LLONG_MIN, "x") == "ERR index out of range"
    assert err(c, "LSET", "l", "abc", "x") == NOT_INT
    # A missing key is reported before the index is parsed.
    assert err(c, "LSET", "nokey", 0, "x") == "ERR no such key"
    assert err(c, "LSET", "nokey", "abc", "x") == "ERR no such key"
    c.execute_command("SET", "s", "v")
    assert err(c, "LSET", "s", 0, "x") == WRONGTYPE


def test_lrem(c):
    c.execute_command("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a")
    assert c.execute_command("LREM", "l", 2, "a") == 2
    assert lrange(c, "l") == ["b", "c", "b", "c", "a"]
    assert c.execute_command("LREM", "l", -1, "b") == 1
    assert lrange(c, "l") == ["b", "c", "c", "a"]
    assert c.execute_command("LREM", "l", 0, "c") == 2
    assert lrange(c, "l") == ["b", "a"]
    assert c.execute_command("LREM", "l", 0, "zz") == 0
    assert c.execute_command("LREM", "l", LLONG_MIN, "a") == 1
    assert c.execute_command("LREM", "l", LLONG_MAX, "b") == 1
    assert c.execute_command("EXISTS", "l") == 0
    c.execute_command("RPUSH", "l", "x", "y", "x", "x", "y", "x")
    assert c.execute_command("LREM", "l", -2, "x") == 2
    assert lrange(c, "l") == ["x", "y", "x", "y"]
    assert c.execute_command("LREM", "nokey", 0, "x") == 0
    assert err(c, "LREM", "nokey", "abc", "x") == NOT_INT
    c.execute_command("SET", "s", "v")
    assert err(c, "LREM", "s", 0, "x") == WRONGTYPE


def test_ltrim(c):
    c.execute_command("RPUSH", "l", "a", "b", "c", "d", "e")
    assert c.execute_command("LTRIM", "l", 1, -2) == "OK"
    assert lrange(c, "l") == ["b", "c", "d"]
    assert c.execute_command("LTRIM", "l", LLONG_MIN, LLONG_MAX) == "OK"
    assert lrange(c, "l") == ["b", "c", "d"]
    assert c.execute_command("LTRIM", "l", -1, 100) == "OK"
    assert lrange(c, "l") == ["d"]
    # An empty range deletes the list.
    assert c.execute_command("LTRIM", "l", 5, 1) == "OK"
    assert c.execute_command("EXISTS", "l") == 0
    c.execute_command("RPUSH", "l", "a", "b")
    assert c.execute_command("LTRIM", "l", 2, 3) == "OK"
    assert c.execute_command("EXISTS", "l") == 0
    assert c.execute_command("LTRIM", "nokey", 0, 1) == "OK"
    assert err(c, "LTRIM", "nokey", "abc", 1) == NOT_INT
    c.execute_command("SET", "s", "v")
    assert err(c, "LTRIM", "s", 0, 1) == WRONGTYPE


# ---------------------------------------------------------------------------
# Types, arity, elements


@pytest.mark.parametrize("args", [
    ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
    ("LINSERT", "s", "BEFORE", "a", "b"), ("LPOP", "s"), ("RPOP", "s", 1), ("LLEN", "s"),
    ("LINDEX", "s", 0), ("LRANGE", "s", 0, -1), ("LPOS", "s", "a"), ("LSET", "s", 0, "a"),
    ("LREM", "s", 0, "a"), ("LTRIM", "s", 0, 1), ("LMOVE", "s", "d", "LEFT", "LEFT"),
    ("RPOPLPUSH", "s", "d"), ("LMPOP", 1, "s", "LEFT"),
])
def test_wrongtype(c, args):
    c.execute_command("SET", "s", "v")
    assert err(c, *args) == WRONGTYPE
    assert c.execute_command("GET", "s") == "v"
    assert c.execute_command("EXISTS", "d") == 0


def test_string_commands_on_a_list_are_wrongtype(c):
    c.execute_command("RPUSH", "l", "a")
    assert err(c, "GET", "l") == WRONGTYPE
    assert err(c, "APPEND", "l", "x") == WRONGTYPE
    assert err(c, "INCR", "l") == WRONGTYPE
    assert c.execute_command("SET", "l", "v") == "OK"
    assert c.execute_command("TYPE", "l") == "string"


@pytest.mark.parametrize("args", [
    ("LPUSH",), ("LPUSH", "k"), ("RPUSH", "k"), ("LPUSHX", "k"), ("RPUSHX", "k"),
    ("LINSERT", "k", "BEFORE", "a"), ("LPOP",), ("RPOP",), ("LLEN",), ("LLEN", "a", "b"),
    ("LINDEX", "k"), ("LRANGE", "k", 0), ("LPOS", "k"), ("LSET", "k", 0), ("LREM", "k", 0),
    ("LTRIM", "k", 0), ("LMOVE", "a", "b", "LEFT"), ("RPOPLPUSH", "a"), ("LMPOP", 1, "k"),
])
def test_wrong_arity(c, args):
    assert err(c, *args) == f"ERR wrong number of arguments for '{args[0].lower()}' command"


def test_integers_and_binary_elements(cb):
    elems = [b"0", b"-1", b"9223372036854775807", b"-9223372036854775808", b"01", b"+1",
             b"9223372036854775808", b"1.5", b"", b"a\x00b\r\n\xff", b" 7"]
    assert cb.execute_command("RPUSH", "l", *elems) == len(elems)
    assert cb.execute_command("LRANGE", "l", 0, -1) == elems
    for i, e in enumerate(elems):
        assert cb.execute_command("LINDEX", "l", i) == e
        assert cb.execute_command("LPOS", "l", e) == elems.index(e)
    # "1" and "01" are different elements; "-0" is not "0".
    assert cb.execute_command("LPOS", "l", b"1") is None
    assert cb.execute_command("LPOS", "l", b"-0") is None
    assert cb.execute_command("LREM", "l", 0, b"01") == 1
    assert cb.execute_command("LSET", "l", 0, b"\x00\x01") == b"OK"
    assert cb.execute_command("LINDEX", "l", 0) == b"\x00\x01"
    assert cb.execute_command("LPOP", "l", 3) == [b"\x00\x01", b"-1", b"9223372036854775807"]


def test_big_elements_and_many_nodes(cb):
    big = bytes(range(256)) * 100           # 25600 bytes: bigger than a node
    huge = b"h" * (1024 * 1024)
    small = [b"e%d" % i for i in range(20000)]
    pipe = cb.pipeline(transaction=False)
    for i in range(0, len(small), 1000):
        pipe.execute_command("RPUSH", "l", *small[i:i + 1000])
    pipe.execute()
    model = list(small)
    assert cb.execute_command("LPUSH", "l", big) == len(model) + 1
    model.insert(0, big)
    assert cb.execute_command("RPUSH", "l", huge) == len(model) + 1
    model.append(huge)
    assert cb.execute_command("LINSERT", "l", "BEFORE", b"e10000", big) == len(model) + 1
    model.insert(model.index(b"e10000"), big)
    assert cb.execute_command("LINSERT", "l", "AFTER", b"e5000", b"x" * 9000) == len(model) + 1
    model.insert(model.index(b"e5000") + 1, b"x" * 9000)
    assert cb.execute_command("LSET", "l", 15000, big) == b"OK"
    model[15000] = big
    assert cb.execute_command("LSET", "l", 1, b"short") == b"OK"
    model[1] = b"short"
    assert cb.execute_command("LLEN", "l") == len(model)
    assert cb.execute_command("LRANGE", "l", 0, -1) == model
    for i in (0, 1, 5000, 5002, 10002, 15000, len(model) - 1, -1, -10000):
        assert cb.execute_command("LINDEX", "l", i) == model[i], i
    assert cb.execute_command("LPOS", "l", big, "COUNT", 0) == [i for i, e in enumerate(model) if e == big]
    assert cb.execute_command("LREM", "l", 0, big) == 3
    model = [e for e in model if e != big]
    assert cb.execute_command("LTRIM", "l", 100, -100) == b"OK"
    model = model[100:-99]
    assert cb.execute_command("LRANGE", "l", 0, -1) == model
    assert cb.execute_command("RPOP", "l", 5000) == list(reversed(model[-5000:]))
    model = model[:-5000]
    assert cb.execute_command("LPOP", "l", 5000) == model[:5000]
    model = model[5000:]
    assert cb.execute_command("LRANGE", "l", 0, -1) == model
    assert cb.execute_command("OBJECT", "ENCODING", "l") == b"quicklist"


def test_object_encoding_is_always_quicklist(c):
    c.execute_command("RPUSH", "tiny", "a")
    assert c.execute_command("OBJECT", "ENCODING", "tiny") == "quicklist"
    c.execute_command("RPUSH", "ints", *range(1000))
    assert c.execute_command("OBJECT", "ENCODING", "ints") == "quicklist"
    c.execute_command("RPUSH", "big", "x" * 100000)
    assert c.execute_command("OBJECT", "ENCODING", "big") == "quicklist"
    c.execute_command("LTRIM", "ints", 0, 0)
    assert c.execute_command("OBJECT", "ENCODING", "ints") == "quicklist"


def test_generic_commands_on_lists(c):
    c.execute_command("RPUSH", "l", "a", "b", "c")
    c.execute_command("SET", "s", "v")
    assert c.execute_command("TYPE", "l") == "list"
    assert c.execute_command("COPY", "l", "copy") == 1
    assert c.execute_command("RPUSH", "copy", "d") == 4
    assert lrange(c, "l") == ["a", "b", "c"]
    assert lrange(c, "copy") == ["a", "b", "c", "d"]
    assert c.execute_command("OBJECT", "ENCODING", "copy") == "quicklist"
    assert c.execute_command("RENAME", "copy", "renamed") == "OK"
    assert lrange(c, "renamed") == ["a", "b", "c", "d"]
    cursor, keys = c.execute_command("SCAN", 0, "TYPE", "list", "COUNT", 100)
    assert sorted(keys) == ["l", "renamed"]
    assert c.execute_command("EXPIRE", "l", 100) == 1
    assert c.execute_command("RPUSH", "l", "d") == 4
    assert 95 <= c.execute_command("TTL", "l") <= 100  # pushes keep the TTL
    assert c.execute_command("DEL", "l", "renamed") == 2
    assert c.execute_command("EXISTS", "l", "renamed") == 0


def test_expired_list_acts_as_missing(c):
    checks = [
        (("LPUSHX", "k", "x"), 0, []), (("RPUSH", "k", "x"), 1, ["x"]), (("LLEN", "k"), 0, []),
        (("LPOP", "k"), None, []), (("LINSERT", "k", "BEFORE", "a", "x"), 0, []),
        (("LRANGE", "k", 0, -1), [], []), (("LMPOP", 1, "k", "LEFT"), None, []),
        (("RPOPLPUSH", "src", "k"), "s", ["s"]), (("LMOVE", "k", "d", "LEFT", "LEFT"), None, []),
    ]
    for args, reply, after in checks:
        c.execute_command("FLUSHALL")
        c.execute_command("RPUSH", "src", "s")
        c.execute_command("RPUSH", "k", "a", "b")
        c.execute_command("PEXPIRE", "k", 30)
        wait_until(lambda: c.execute_command("EXISTS", "k") == 0, 5, message="k to expire")
        assert c.execute_command(*args) == reply, args
        assert lrange(c, "k") == after, args
        assert c.execute_command("TTL", "k") == (-1 if after else -2), args


def test_command_info(c):
    info = c.execute_command("COMMAND", "INFO", "lpush", "lmpop", "lrange")
    lpush, lmpop, lrange_info = info
    # Flags and categories as sets: Parley lists them in its own order.
    assert lpush[:2] == ["lpush", -3] and lpush[3:6] == [1, 1, 1]
    assert sorted(lpush[2]) == ["denyoom", "fast", "write"]
    assert sorted(lpush[6]) == ["@fast", "@list", "@write"]
    # Redis also flags LMPOP "movablekeys", a flag Parley's table lacks.
    assert lmpop[:2] == ["lmpop", -4] and lmpop[3:6] == [0, 0, 0] and "write" in lmpop[2]
    assert sorted(lmpop[6]) == ["@list", "@slow", "@write"]
    assert lrange_info[:6] == ["lrange", 4, ["readonly"], 1, 1, 1]
    lmove = c.execute_command("COMMAND", "INFO", "lmove")[0]
    assert lmove[:2] == ["lmove", 5] and lmove[3:6] == [1, 2, 1]
    assert sorted(lmove[2]) == ["denyoom", "write"]
    assert sorted(lrange_info[6]) == ["@list", "@read", "@slow"]
    docs = c.execute_command("COMMAND", "DOCS", "lmove")
    assert docs[0] == "lmove"
    fields = dict(zip(docs[1][::2], docs[1][1::2]))
    assert fields["group"] == "list"
    assert fields["since"] == "6.2.0"


# ---------------------------------------------------------------------------
# Replication and snapshots


def list_workload(clients, rounds=60):
    """Pushes, pops, moves and edits of a few lists, each command sent to a
    different node in turn."""
    n = len(clients)
    k = 0

    def send(*args):
        nonlocal k
        k += 1
        return clients[k % n].execute_command(*args)

    for i in range(rounds):
        send("RPUSH", "q", *[f"item{i}-{j}" for j in range(5)], i, -i)
        send("LPUSH", "q", f"head{i}", "x" * (i * 200))
        send("LPOP", "q")
        send("RPOP", "q", 2)
        send("LMOVE", "q", "r", "LEFT", "RIGHT")
        send("RPOPLPUSH", "r", "q")
        send("LINSERT", "q", "AFTER", f"item{i}-2", "inserted")
        send("LSET", "q", -1, f"set{i}")
        if i % 5 == 0:
            send("LREM", "q", -2, "inserted")
            send("LTRIM", "r", 0, 20)
            send("LMPOP", 2, "nokey", "q", "RIGHT", "COUNT", 3)
        if i % 7 == 0:
            send("RPUSH", f"tmp{i}", "a", "b")
            send("LPOP", f"tmp{i}", 5)
            send("LPUSHX", "q", "pushx")
            send("COPY", "q", f"copy{i}")


def test_cluster_converges_after_list_commands_on_every_node(cluster):
    clients = [n.client() for n in cluster.nodes]
    list_workload(clients)
    cluster.wait_converged()
    lens = {c.llen("q") for c in clients}
    assert len(lens) == 1 and lens.pop() > 100
    contents = {tuple(c.lrange("q", 0, -1)) for c in clients}
    assert len(contents) == 1
    assert {c.object("encoding", "q") for c in clients} == {"quicklist"}
    digests = {n.client().execute_command("DEBUG", "DIGEST") for n in cluster.nodes}
    assert len(digests) == 1


def test_snapshot_round_trip_with_lists(make_node):
    node = make_node(extra=["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]).start()
    wait_writable(node)
    c = node.client()
    list_workload([c], rounds=40)
    c.rpush("big", "b" * 50000, *range(3000))
    c.rpush("bin", "a\x00b", "", "-9223372036854775808")
    c.rpush("ttl", "v")
    c.expire("ttl", 1000)
    node.client(db=5).rpush("db5", "five")
    digest = c.execute_command("DEBUG", "DIGEST")
    before = c.lrange("q", 0, -1)
    assert node.stop() == 0
    assert glob.glob(os.path.join(node.dir, "snapshot-*")), "no snapshot was taken"
    loaded_before = node.log_text().count("Loaded a snapshot")
    node.start()
    wait_writable(node)
    c = node.client()
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert c.lrange("q", 0, -1) == before
    assert c.object("encoding", "big") == "quicklist"
    assert c.llen("big") == 3001
    assert c.lrange("bin", 0, -1) == ["a\x00b", "", "-9223372036854775808"]
    assert 990 <= c.ttl("ttl") <= 1000
    assert node.client(db=5).lrange("db5", 0, -1) == ["five"]
    assert node.log_text().count("Loaded a snapshot") > loaded_before, "no snapshot was loaded"
