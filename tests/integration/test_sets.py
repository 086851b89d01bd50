"""Set commands against a real parley-server, checked against Redis 7.0.

Every expected reply, error text and OBJECT ENCODING here was obtained by
running the same commands on redis-server 7.0.15 and is hard-coded: the
tests need no redis-server. (Setting COMPARE_REDIS_PORT=<port> runs the
single-node tests against a redis-server on that port instead, which is how
the expectations were checked; tests of Parley-only behaviour skip then.)

Replies are raw (exact.py: no redis-py callbacks, errors with their "ERR "
prefix); RESP3 shapes are checked byte for byte with rawresp.RawConn.

Determinism: SPOP is a write, so which members it removes must be the same
on every replica, including one that restored a snapshot; the cluster tests
send SPOPs and set-building writes to different nodes and require equal
RAFT DIGESTs (which cover each set's member order) and equal SMEMBERS order
on every node. Replies are deterministic too (a script that records what
SRANDMEMBER, SSCAN, SMEMBERS and SINTER return keeps the replicas equal).
"""
import os

import pytest

from conftest import wait_writable
from exact import err, exact_client
from rawresp import RawConn, RSet

REDIS_PORT = os.environ.get("COMPARE_REDIS_PORT")
parley_only = pytest.mark.skipif(REDIS_PORT is not None, reason="Parley-specific behaviour")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_POSITIVE = "ERR value is out of range, must be positive"
RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
SNAPSHOT_OFTEN = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]


class _Target:
    """Where the single-node tests run: the shared parley node, or redis."""

    def __init__(self, port):
        self.port = port


@pytest.fixture
def c(request):
    if REDIS_PORT:
        node = _Target(int(REDIS_PORT))
    else:
        server = request.getfixturevalue("server")
        request.getfixturevalue("r")  # flushes the shared node
        node = server
    client = exact_client(node)
    if REDIS_PORT:
        client.execute_command("FLUSHALL")
    yield client
    client.connection_pool.disconnect()


@pytest.fixture
def raw3(c):
    conn = RawConn(c.connection_pool.connection_kwargs["port"])
    conn.call("HELLO", "3")
    yield conn
    conn.close()


def members(c, key):
    return sorted(c.execute_command("SMEMBERS", key))


def ints(n, start=0):
    return [str(i) for i in range(start, start + n)]


# ---------------------------------------------------------------------------
# SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS


def test_sadd_srem_counts_and_membership(c):
    assert c.execute_command("SADD", "s", "a", "b", "a") == 2
    assert c.execute_command("SADD", "s", "b", "c") == 1
    assert c.execute_command("SCARD", "s") == 3
    assert c.execute_command("SISMEMBER", "s", "a") == 1
    assert c.execute_command("SISMEMBER", "s", "z") == 0
    assert c.execute_command("SMISMEMBER", "s", "a", "z", "c") == [1, 0, 1]
    assert members(c, "s") == ["a", "b", "c"]
    assert c.execute_command("SREM", "s", "a", "z", "a") == 1
    assert c.execute_command("SREM", "s", "zz") == 0
    assert members(c, "s") == ["b", "c"]
    assert c.execute_command("TYPE", "s") == "set"


def test_missing_key_reads_as_empty_set(c):
    assert c.execute_command("SCARD", "no") == 0
    assert c.execute_command("SISMEMBER", "no", "a") == 0
    assert c.execute_command("SMISMEMBER", "no", "a", "b") == [0, 0]
    assert c.execute_command("SMEMBERS", "no") == []
    assert c.execute_command("SREM", "no", "a") == 0
    assert c.execute_command("EXISTS", "no") == 0


def test_emptied_set_loses_its_key(c):
    c.execute_command("SADD", "s", "1", "2")
    c.execute_command("EXPIRE", "s", 100)
    assert c.execute_command("SREM", "s", "1", "2", "3") == 2
    assert c.execute_command("EXISTS", "s") == 0
    # A new set under the name has no TTL left over.
    c.execute_command("SADD", "s", "x")
    assert c.execute_command("TTL", "s") == -1


def test_sadd_keeps_ttl(c):
    c.execute_command("SADD", "s", "a")
    c.execute_command("EXPIRE", "s", 100)
    c.execute_command("SADD", "s", "b")
    c.execute_command("SREM", "s", "a")
    assert 95 <= c.execute_command("TTL", "s") <= 100


def test_arity_errors(c):
    for cmd in ("SADD", "SREM", "SMISMEMBER"):
        assert err(c, cmd, "s") == f"ERR wrong number of arguments for '{cmd.lower()}' command"
    assert err(c, "SINTER") == "ERR wrong number of arguments for 'sinter' command"
    assert err(c, "SINTERSTORE", "d") == "ERR wrong number of arguments for 'sinterstore' command"
    assert err(c, "SMOVE", "a", "b") == "ERR wrong number of arguments for 'smove' command"
    assert err(c, "SINTERCARD", "1") == "ERR wrong number of arguments for 'sintercard' command"


def test_wrongtype_both_ways(c):
    c.execute_command("SET", "str", "x")
    c.execute_command("SADD", "set", "a")
    for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"),
                 ("SCARD", "str"), ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"),
                 ("SPOP", "str"), ("SPOP", "str", 0), ("SPOP", "str", 5),
                 ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", 0), ("SRANDMEMBER", "str", -3),
                 ("SMOVE", "str", "set", "a"), ("SMOVE", "set", "str", "a"),
                 ("SINTER", "no", "str"), ("SUNION", "set", "str"), ("SDIFF", "no", "str"),
                 ("SINTERSTORE", "d", "no", "str"), ("SUNIONSTORE", "d", "str"),
                 ("SDIFFSTORE", "d", "no", "str"), ("SINTERCARD", 2, "no", "str"),
                 ("SSCAN", "str", 0)):
        assert err(c, *args) == WRONGTYPE, args
    for args in (("GET", "set"), ("APPEND", "set", "x"), ("INCR", "set"), ("STRLEN", "set"),
                 ("HGET", "set", "a"), ("HSET", "set", "a", "1")):
        assert err(c, *args) == WRONGTYPE, args
    # SET replaces a set, whatever it was.
    assert c.execute_command("SET", "set", "v") == "OK"
    assert c.execute_command("TYPE", "set") == "string"
    # SMOVE from a missing key answers 0 before looking at the destination.
    assert c.execute_command("SMOVE", "no", "str", "a") == 0


# ---------------------------------------------------------------------------
# Encodings


def test_encoding_intset_then_hashtable_at_513(c):
    assert c.execute_command("SADD", "s", *ints(512)) == 512
    assert c.execute_command("OBJECT", "ENCODING", "s") == "intset"
    assert c.execute_command("SADD", "s", "511") == 0
    assert c.execute_command("OBJECT", "ENCODING", "s") == "intset"
    assert c.execute_command("SADD", "s", "512") == 1
    assert c.execute_command("OBJECT", "ENCODING", "s") == "hashtable"
    c.execute_command("SREM", "s", *ints(510))
    assert c.execute_command("SCARD", "s") == 3
    assert c.execute_command("OBJECT", "ENCODING", "s") == "hashtable"  # never back


def test_encoding_by_member_kind(c):
    for member, enc in (("1", "intset"), ("-9223372036854775808", "intset"),
                        ("9223372036854775807", "intset"), ("9223372036854775808", "hashtable"),
                        ("01", "hashtable"), ("-0", "hashtable"), ("1.0", "hashtable"),
                        (" 1", "hashtable"), ("a", "hashtable")):
        c.execute_command("DEL", "s")
        c.execute_command("SADD", "s", member)
        assert c.execute_command("OBJECT", "ENCODING", "s") == enc, member
    c.execute_command("DEL", "s")
    c.execute_command("SADD", "s", "1", "2")
    c.execute_command("SADD", "s", "x")
    assert c.execute_command("OBJECT", "ENCODING", "s") == "hashtable"
    c.execute_command("SREM", "s", "x")
    assert c.execute_command("OBJECT", "ENCODING", "s") == "hashtable"
    # Wide integers are fine in an intset, and it stays sorted.
    c.execute_command("SADD", "i", "1", "70000", "5000000000", "-5000000000")
    assert c.execute_command("OBJECT", "ENCODING", "i") == "intset"
    assert c.execute_command("SMEMBERS", "i") == ["-5000000000", "1", "70000", "5000000000"]


def test_store_results_encoding(c):
    # Built as an intset from an empty start, as Redis 7.0 does: an
    # all-integer result of a hashtable set is an intset.
    c.execute_command("SADD", "h", "a", "1", "2", "3")
    c.execute_command("SREM", "h", "a")
    assert c.execute_command("OBJECT", "ENCODING", "h") == "hashtable"
    c.execute_command("SADD", "t", "1", "2", "3", "4")
    assert c.execute_command("SINTERSTORE", "d", "h", "t") == 3
    assert c.execute_command("OBJECT", "ENCODING", "d") == "intset"
    assert c.execute_command("SUNIONSTORE", "d2", "h") == 3
    assert c.execute_command("OBJECT", "ENCODING", "d2") == "intset"
    # SDIFFSTORE: Redis picks an algorithm by cost, and the result's
    # encoding shows which (the second adds "x" before removing it).
    c.execute_command("SADD", "b0", "1", "2", "3", "x")
    for k in ("b1", "b2", "b3"):
        c.execute_command("SADD", k, "x")
    assert c.execute_command("SDIFFSTORE", "r1", "b0", "b1", "b2", "b3") == 3
    assert c.execute_command("OBJECT", "ENCODING", "r1") == "hashtable"
    assert c.execute_command("SDIFFSTORE", "r2", "b0", "b1", "b2") == 3
    assert c.execute_command("OBJECT", "ENCODING", "r2") == "intset"
    c.execute_command("SADD", "a", "1", "x")
    assert c.execute_command("SDIFFSTORE", "r3", "a", "b1") == 1
    assert c.execute_command("OBJECT", "ENCODING", "r3") == "intset"


# ---------------------------------------------------------------------------
# SPOP


def test_spop_single(c):
    assert c.execute_command("SPOP", "no") is None
    c.execute_command("SADD", "s", "a", "b", "c")
    got = {c.execute_command("SPOP", "s") for _ in range(3)}
    assert got == {"a", "b", "c"}
    assert c.execute_command("EXISTS", "s") == 0
    assert c.execute_command("SPOP", "s") is None


def test_spop_count(c):
    assert c.execute_command("SPOP", "no", 3) == []
    c.execute_command("SADD", "s", *ints(20))
    assert c.execute_command("SPOP", "s", 0) == []
    popped = c.execute_command("SPOP", "s", 5)
    assert len(popped) == len(set(popped)) == 5
    left = members(c, "s")
    assert len(left) == 15 and not set(left) & set(popped)
    assert sorted(left + popped, key=int) == ints(20)
    popped2 = c.execute_command("SPOP", "s", 14)  # most of it
    assert len(set(popped2)) == 14 and set(popped2) <= set(left)
    # A count at least the size returns everything and deletes the key.
    rest = sorted((m for m in left if m not in popped2), key=int)
    assert c.execute_command("SPOP", "s", 100) == rest  # in intset order
    assert c.execute_command("EXISTS", "s") == 0
    c.execute_command("SADD", "t", "x", "y")
    assert sorted(c.execute_command("SPOP", "t", 2)) == ["x", "y"]
    assert c.execute_command("EXISTS", "t") == 0


def test_spop_hashtable_keeps_encoding(c):
    c.execute_command("SADD", "s", *[f"m{i}" for i in range(30)])
    popped = c.execute_command("SPOP", "s", 25)
    assert len(set(popped)) == 25
    assert c.execute_command("SCARD", "s") == 5
    assert c.execute_command("OBJECT", "ENCODING", "s") == "hashtable"
    c.execute_command("SADD", "i", *ints(10))
    c.execute_command("SPOP", "i", 8)
    assert c.execute_command("OBJECT", "ENCODING", "i") == "intset"


def test_spop_errors(c):
    c.execute_command("SADD", "s", "1", "2", "3")
    assert err(c, "SPOP", "s", -1) == NOT_POSITIVE
    assert err(c, "SPOP", "s", "abc") == NOT_POSITIVE
    assert err(c, "SPOP", "no", "abc") == NOT_POSITIVE
    assert err(c, "SPOP", "s", "1.5") == NOT_POSITIVE
    assert err(c, "SPOP", "s", 1, 2) == SYNTAX
    c.execute_command("SET", "str", "x")
    assert err(c, "SPOP", "str", "abc") == NOT_POSITIVE  # the count first
    assert c.execute_command("SCARD", "s") == 3


def test_spop_resp3_shapes(c, raw3):
    c.execute_command("SADD", "s", "1", "2", "3")
    assert raw3.call("SPOP", "no") is None and raw3.last_raw == b"_\r\n"
    assert raw3.call("SPOP", "no", 2) == [] and raw3.last_raw == b"~0\r\n"
    assert raw3.call("SPOP", "s", 0) == [] and raw3.last_raw == b"~0\r\n"
    v = raw3.call("SPOP", "s", 2)
    assert isinstance(v, RSet) and len(v) == 2
    v = raw3.call("SPOP", "s", 5)
    assert isinstance(v, RSet) and len(v) == 1
    raw3.call("SADD", "s", "a")
    assert raw3.call("SPOP", "s") == b"a"


# ---------------------------------------------------------------------------
# SRANDMEMBER


def test_srandmember(c):
    assert c.execute_command("SRANDMEMBER", "no") is None
    assert c.execute_command("SRANDMEMBER", "no", 3) == []
    assert c.execute_command("SRANDMEMBER", "no", -3) == []
    c.execute_command("SADD", "s", "a", "b", "c")
    assert c.execute_command("SRANDMEMBER", "s") in ("a", "b", "c")
    assert c.execute_command("SRANDMEMBER", "s", 0) == []
    one = c.execute_command("SRANDMEMBER", "s", 1)
    assert len(one) == 1 and one[0] in "abc"
    two = c.execute_command("SRANDMEMBER", "s", 2)
    assert len(set(two)) == 2 and set(two) <= {"a", "b", "c"}
    assert sorted(c.execute_command("SRANDMEMBER", "s", 10)) == ["a", "b", "c"]
    many = c.execute_command("SRANDMEMBER", "s", -30)
    assert len(many) == 30 and set(many) == {"a", "b", "c"}  # repeats allowed
    assert c.execute_command("SCARD", "s") == 3  # read only


def test_srandmember_distinct_from_large_sets(c):
    c.execute_command("SADD", "big", *[f"m{i}" for i in range(1000)])
    for count in (1, 10, 300, 334, 999):
        got = c.execute_command("SRANDMEMBER", "big", count)
        assert len(got) == len(set(got)) == count
    c.execute_command("SADD", "ints", *ints(400))
    got = c.execute_command("SRANDMEMBER", "ints", 100)
    assert len(set(got)) == 100 and all(0 <= int(m) < 400 for m in got)


def test_srandmember_errors(c):
    c.execute_command("SADD", "s", "a")
    assert err(c, "SRANDMEMBER", "s", "abc") == NOT_INT
    assert err(c, "SRANDMEMBER", "s", 1, 2) == SYNTAX
    assert err(c, "SRANDMEMBER", "s", "abc", 2) == SYNTAX
    assert err(c, "SRANDMEMBER", "s", -9223372036854775808) == RANGE
    assert err(c, "SRANDMEMBER", "no", -9223372036854775808) == RANGE


@parley_only
def test_srandmember_bounds_negative_count(c):
    # Redis would try to build the reply; Parley builds reads on every node
    # when they go through the log, so it refuses an absurd repetition.
    c.execute_command("SADD", "s", "a")
    assert err(c, "SRANDMEMBER", "s", -9223372036854775807) == "ERR value is out of range"
    assert err(c, "SRANDMEMBER", "s", -(1 << 40)) == "ERR value is out of range"
    assert len(c.execute_command("SRANDMEMBER", "s", -100000)) == 100000


def test_srandmember_resp3_is_an_array(c, raw3):
    c.execute_command("SADD", "s", "1", "2", "3")
    assert raw3.call("SRANDMEMBER", "no") is None and raw3.last_raw == b"_\r\n"
    assert raw3.call("SRANDMEMBER", "no", 2) == [] and raw3.last_raw == b"*0\r\n"
    for count in (2, 5, -2):
        v = raw3.call("SRANDMEMBER", "s", count)
        assert type(v) is list and raw3.last_raw.startswith(b"*")


# ---------------------------------------------------------------------------
# SMOVE


def test_smove(c):
    c.execute_command("SADD", "s", "1", "2")
    assert c.execute_command("SMOVE", "s", "s", "1") == 1
    assert c.execute_command("SMOVE", "s", "s", "9") == 0
    assert c.execute_command("SMOVE", "s", "d", "9") == 0
    assert c.execute_command("EXISTS", "d") == 0
    assert c.execute_command("SMOVE", "s", "d", "1") == 1
    assert c.execute_command("SMEMBERS", "d") == ["1"]
    assert c.execute_command("OBJECT", "ENCODING", "d") == "intset"
    assert c.execute_command("SMOVE", "s", "d", "2") == 1
    assert c.execute_command("EXISTS", "s") == 0  # emptied source deleted
    assert c.execute_command("SMEMBERS", "d") == ["1", "2"]
    c.execute_command("SADD", "x", "a", "1")
    assert c.execute_command("SMOVE", "x", "new", "a") == 1
    assert c.execute_command("OBJECT", "ENCODING", "new") == "hashtable"
    # Moving a member the destination already has still removes it.
    assert c.execute_command("SMOVE", "x", "d", "1") == 1
    assert c.execute_command("EXISTS", "x") == 0
    assert members(c, "d") == ["1", "2"]
    c.execute_command("SET", "str", "v")
    c.execute_command("SADD", "s2", "a")
    assert err(c, "SMOVE", "s2", "str", "a") == WRONGTYPE
    assert c.execute_command("SISMEMBER", "s2", "a") == 1


# ---------------------------------------------------------------------------
# SINTER, SUNION, SDIFF and their STORE forms, SINTERCARD


@pytest.fixture
def abc(c):
    c.execute_command("SADD", "a1", *ints(6, 1))          # 1..6
    c.execute_command("SADD", "a2", *ints(5, 4))          # 4..8
    c.execute_command("SADD", "a3", "5", "6", "7", "x")
    return c


def test_sinter(abc):
    c = abc
    assert c.execute_command("SINTER", "a1", "a2") == ["4", "5", "6"]
    assert sorted(c.execute_command("SINTER", "a1", "a2", "a3")) == ["5", "6"]
    assert c.execute_command("SINTER", "a1", "no") == []
    assert c.execute_command("SINTER", "a1") == ints(6, 1)
    assert c.execute_command("SINTER", "a1", "a1") == ints(6, 1)


def test_sunion_sdiff(abc):
    c = abc
    assert sorted(c.execute_command("SUNION", "a1", "a2", "a3")) == sorted(ints(8, 1) + ["x"])
    assert c.execute_command("SUNION", "no", "no2") == []
    assert c.execute_command("SDIFF", "a1", "a2") == ["1", "2", "3"]
    assert c.execute_command("SDIFF", "a1", "a2", "a3") == ["1", "2", "3"]
    assert c.execute_command("SDIFF", "a2", "a3", "a1") == ["8"]
    assert c.execute_command("SDIFF", "a1", "no") == ints(6, 1)
    assert c.execute_command("SDIFF", "no", "a1") == []
    assert c.execute_command("SDIFF", "a1", "a1") == []
    assert c.execute_command("SDIFF", "a1", "no", "a1") == []


def test_store_forms(abc):
    c = abc
    c.execute_command("SET", "dst", "string")
    c.execute_command("EXPIRE", "dst", 100)
    assert c.execute_command("SINTERSTORE", "dst", "a1", "a2", "a3") == 2
    assert c.execute_command("TYPE", "dst") == "set"
    assert c.execute_command("TTL", "dst") == -1
    assert members(c, "dst") == ["5", "6"]
    assert c.execute_command("SUNIONSTORE", "u", "a1", "a3") == 8
    assert c.execute_command("OBJECT", "ENCODING", "u") == "hashtable"
    assert c.execute_command("SDIFFSTORE", "d", "a1", "a2") == 3
    assert c.execute_command("SMEMBERS", "d") == ["1", "2", "3"]
    # An empty result deletes the destination.
    for args in (("SINTERSTORE", "d", "a1", "no"), ("SUNIONSTORE", "d", "no", "no2"),
                 ("SDIFFSTORE", "d", "a1", "a1")):
        c.execute_command("SADD", "d", "old")
        assert c.execute_command(*args) == 0, args
        assert c.execute_command("EXISTS", "d") == 0, args
    # The destination may be a source.
    assert c.execute_command("SINTERSTORE", "a1", "a1", "a2") == 3
    assert c.execute_command("SMEMBERS", "a1") == ["4", "5", "6"]
    assert c.execute_command("SUNIONSTORE", "a1", "a1", "a3") == 5


def test_set_algebra_resp3_is_a_set(abc, raw3):
    for cmd in (("SINTER", "a1", "a2"), ("SUNION", "a1"), ("SDIFF", "a1", "a2"),
                ("SMEMBERS", "a1"), ("SINTER", "a1", "no"), ("SMEMBERS", "no")):
        v = raw3.call(*cmd)
        assert isinstance(v, RSet), cmd
    assert raw3.call("SMEMBERS", "no") == [] and raw3.last_raw == b"~0\r\n"
    assert raw3.call("SINTER", "a1", "a2") == [b"4", b"5", b"6"]
    assert raw3.last_raw == b"~3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n"


def test_sintercard(abc):
    c = abc
    assert c.execute_command("SINTERCARD", 2, "a1", "a2") == 3
    assert c.execute_command("SINTERCARD", 3, "a1", "a2", "a3") == 2
    assert c.execute_command("SINTERCARD", 3, "a1", "a2", "a3", "LIMIT", 1) == 1
    assert c.execute_command("SINTERCARD", 2, "a1", "a2", "limit", 0) == 3
    assert c.execute_command("SINTERCARD", 2, "a1", "a2", "LIMIT", 2) == 2
    assert c.execute_command("SINTERCARD", 1, "a1", "LIMIT", 0, "LIMIT", 1) == 1
    assert c.execute_command("SINTERCARD", 2, "a1", "no") == 0
    assert c.execute_command("SINTERCARD", 1, "no") == 0
    for args, e in (((0, "a1"), "ERR numkeys should be greater than 0"),
                    (("abc", "a1"), "ERR numkeys should be greater than 0"),
                    ((-1, "a1"), "ERR numkeys should be greater than 0"),
                    ((3, "a1", "a2"), "ERR Number of keys can't be greater than number of args"),
                    ((1, "a1", "LIMIT", -1), "ERR LIMIT can't be negative"),
                    ((1, "a1", "LIMIT", "abc"), "ERR LIMIT can't be negative"),
                    ((1, "a1", "LIMIT"), SYNTAX),
                    ((1, "a1", "foo"), SYNTAX),
                    ((1, "a1", "a2"), SYNTAX)):
        assert err(c, "SINTERCARD", *args) == e, args


def test_zunionstore_zinterstore_take_sets(c):
    # A plain set is a sorted set whose members all score 1.
    c.execute_command("SADD", "s", "a", "b", "c")
    c.execute_command("SADD", "i", "1", "2", "3")
    c.execute_command("ZADD", "z", 1, "a", 2, "b", 5, "x")
    assert c.execute_command("ZUNIONSTORE", "d", 2, "s", "z") == 4
    assert c.execute_command("ZRANGE", "d", 0, -1, "WITHSCORES") == \
        ["c", "1", "a", "2", "b", "3", "x", "5"]
    assert c.execute_command("ZINTERSTORE", "d", 2, "s", "z", "WEIGHTS", "0.5", 2,
                             "AGGREGATE", "MIN") == 2
    assert c.execute_command("ZRANGE", "d", 0, -1, "WITHSCORES") == ["a", "0.5", "b", "0.5"]
    assert c.execute_command("ZUNIONSTORE", "d", 3, "s", "z", "i", "WEIGHTS", 2, 3, 4) == 7
    assert c.execute_command("ZRANGE", "d", 0, -1, "WITHSCORES") == \
        ["c", "2", "1", "4", "2", "4", "3", "4", "a", "5", "b", "8", "x", "15"]
    assert c.execute_command("ZINTERSTORE", "d", 2, "s", "s") == 3
    assert c.execute_command("ZRANGE", "d", 0, -1, "WITHSCORES") == ["a", "2", "b", "2", "c", "2"]
    assert c.execute_command("ZINTERSTORE", "d", 2, "s", "nokey") == 0
    assert c.execute_command("EXISTS", "d") == 0
    c.execute_command("SET", "str", "v")
    c.execute_command("HSET", "h", "f", "v")
    assert err(c, "ZUNIONSTORE", "d", 2, "s", "str") == WRONGTYPE
    assert err(c, "ZINTERSTORE", "d", 2, "h", "s") == WRONGTYPE
    assert err(c, "ZINTERSTORE", "d", 2, "nokey", "str") == WRONGTYPE


# ---------------------------------------------------------------------------
# SSCAN


def test_sscan_intset_returns_everything_at_once(c):
    c.execute_command("SADD", "s", *ints(100))
    cursor, got = c.execute_command("SSCAN", "s", 0, "COUNT", 1)
    assert cursor == "0" and got == ints(100)
    # The cursor is ignored for a small encoding.
    assert c.execute_command("SSCAN", "s", 99)[0] == "0"
    assert c.execute_command("SSCAN", "s", 0, "MATCH", "1*")[1] == \
        [m for m in ints(100) if m.startswith("1")]


def test_sscan_hashtable_full_iteration(c):
    want = {f"m{i}" for i in range(2000)}
    c.execute_command("SADD", "s", *sorted(want))
    seen = []
    cursor = "0"
    calls = 0
    while True:
        cursor, batch = c.execute_command("SSCAN", "s", cursor, "COUNT", 50)
        seen += batch
        calls += 1
        if cursor == "0":
            break
        assert calls < 2000
    assert set(seen) == want
    assert calls > 5  # it did iterate
    cursor, batch = c.execute_command("SSCAN", "s", 0, "MATCH", "m1?", "COUNT", 100000)
    assert cursor == "0" and sorted(batch) == [f"m1{i}" for i in range(10)]


def test_sscan_hashtable_guarantee_under_changes(c):
    # Members present for the whole scan are returned (at least once) even
    # while others are removed and added between the calls.
    everyone = [f"m{i}" for i in range(2000)]
    c.execute_command("SADD", "s", *everyone)
    kept = set(everyone[::3])
    doomed = [m for m in everyone if m not in kept]
    seen = set()
    cursor, calls = "0", 0
    while True:
        cursor, batch = c.execute_command("SSCAN", "s", cursor, "COUNT", 37)
        seen.update(batch)
        calls += 1
        for _ in range(20):
            if doomed:
                c.execute_command("SREM", "s", doomed.pop())
        c.execute_command("SADD", "s", f"new{calls}")
        if cursor == "0":
            break
        assert calls < 500
    assert kept <= seen


def test_sscan_errors(c):
    c.execute_command("SADD", "s", "1")
    assert c.execute_command("SSCAN", "no", 0) == ["0", []]
    assert c.execute_command("SSCAN", "no", 0, "foo") == ["0", []]  # options unread
    assert err(c, "SSCAN", "no", "x") == "ERR invalid cursor"
    assert err(c, "SSCAN", "s", "abc") == "ERR invalid cursor"
    assert err(c, "SSCAN", "s", 0, "COUNT", 0) == SYNTAX
    assert err(c, "SSCAN", "s", 0, "COUNT", "x") == NOT_INT
    assert err(c, "SSCAN", "s", 0, "TYPE", "set") == SYNTAX
    assert err(c, "SSCAN", "s", 0, "MATCH") == SYNTAX
    assert c.execute_command("SSCAN", "s", "-1") == ["0", ["1"]]


# ---------------------------------------------------------------------------
# Generic key commands on sets


def test_copy_rename_scan_type_with_sets(c):
    c.execute_command("SADD", "s", *[f"m{i}" for i in range(100)])
    c.execute_command("SADD", "i", "3", "1", "2")
    assert c.execute_command("COPY", "s", "s2") == 1
    assert c.execute_command("COPY", "i", "i2") == 1
    assert c.execute_command("OBJECT", "ENCODING", "s2") == "hashtable"
    assert c.execute_command("OBJECT", "ENCODING", "i2") == "intset"
    c.execute_command("SADD", "s2", "only-in-copy")
    assert c.execute_command("SISMEMBER", "s", "only-in-copy") == 0
    assert c.execute_command("RENAME", "i2", "i3") == "OK"
    assert c.execute_command("SMEMBERS", "i3") == ["1", "2", "3"]
    keys = []
    cursor = "0"
    while True:
        cursor, batch = c.execute_command("SCAN", cursor, "TYPE", "set")
        keys += batch
        if cursor == "0":
            break
    assert sorted(keys) == ["i", "i3", "s", "s2"]
    assert c.execute_command("DEL", "s", "i") == 2


@parley_only
def test_copy_keeps_member_order(c):
    # SMEMBERS lists a hashtable set in its replicated order; a copy (and
    # thus every SPOP on it) must see the same order.
    c.execute_command("SADD", "s", *[f"m{i}" for i in range(300)])
    c.execute_command("SREM", "s", *[f"m{i}" for i in range(0, 300, 7)])
    c.execute_command("COPY", "s", "s2")
    assert c.execute_command("SMEMBERS", "s2") == c.execute_command("SMEMBERS", "s")


# ---------------------------------------------------------------------------
# WATCH sees exactly the changes Redis reports


@pytest.fixture
def watcher(c):
    w = exact_client(_Target(c.connection_pool.connection_kwargs["port"]))
    yield w
    w.connection_pool.disconnect()


def aborted(c, watcher, key, *cmd):
    """True if cmd, sent by another client after WATCH key, aborts EXEC."""
    watcher.execute_command("WATCH", key)
    c.execute_command(*cmd)
    watcher.execute_command("MULTI")
    watcher.execute_command("EXISTS", "__other")
    return watcher.execute_command("EXEC") is None


def test_watch_sees_set_changes_and_only_them(c, watcher):
    c.execute_command("SADD", "s", "a", "b", "c", "d", "e")
    c.execute_command("SADD", "d", "a")
    c.execute_command("SADD", "i", "1", "2", "3")
    assert not aborted(c, watcher, "s", "SADD", "s", "a")
    assert aborted(c, watcher, "s", "SADD", "s", "new")
    assert not aborted(c, watcher, "s", "SREM", "s", "zz")
    assert aborted(c, watcher, "s", "SREM", "s", "new")
    assert aborted(c, watcher, "s", "SPOP", "s")
    assert aborted(c, watcher, "s", "SPOP", "s", 1)
    assert aborted(c, watcher, "i", "SPOP", "i", 1)
    assert not aborted(c, watcher, "s", "SPOP", "s", 0)
    assert not aborted(c, watcher, "s", "SRANDMEMBER", "s", -5)
    assert not aborted(c, watcher, "s", "SMOVE", "s", "d", "zz")
    left = c.execute_command("SMEMBERS", "s")
    assert aborted(c, watcher, "s", "SMOVE", "s", "d", left[0])
    assert aborted(c, watcher, "d", "SMOVE", "s", "d", left[1])
    c.execute_command("SADD", "d", left[2])
    # The destination already had it: only the source changed.
    assert not aborted(c, watcher, "d", "SMOVE", "s", "d", left[2])
    assert aborted(c, watcher, "dst", "SUNIONSTORE", "dst", "d")
    assert aborted(c, watcher, "dst", "SINTERSTORE", "dst", "d", "nokey")  # deleted
    assert not aborted(c, watcher, "dst", "SDIFFSTORE", "dst", "nokey")  # nothing to delete
    assert not aborted(c, watcher, "nokey", "SPOP", "nokey")


# ---------------------------------------------------------------------------
# Replication and snapshots


def set_workload(clients, rounds=8):
    """Writes to sets sent round-robin to every node: SADD, SPOP (with and
    without count, also inside MULTI/EXEC), SMOVE, SREM and the STORE
    commands. The state is compared by digest."""
    n = len(clients)
    for r in range(rounds):
        c = clients[r % n]
        c.execute_command("SADD", "ht", *[f"r{r}m{i}" for i in range(60)])
        c.execute_command("SADD", "is", *ints(40, r * 30))
        clients[(r + 1) % n].execute_command("SPOP", "ht", 7)
        clients[(r + 2) % n].execute_command("SPOP", "ht")
        clients[(r + 1) % n].execute_command("SPOP", "is", 3)
        c.execute_command("SMOVE", "ht", "moved", f"r{r}m1")
        c.execute_command("SREM", "ht", f"r{r}m2", f"r{r}m3")
        clients[(r + 2) % n].execute_command("SUNIONSTORE", "u", "ht", "is", "moved")
        clients[(r + 1) % n].execute_command("SINTERSTORE", "i", "u", "ht")
        c.execute_command("SDIFFSTORE", "d", "u", "is")
        clients[(r + 2) % n].execute_command("SPOP", "u", 5)
        tx = clients[(r + 1) % n].pipeline(transaction=True)  # MULTI/EXEC
        tx.execute_command("SPOP", "ht", 2)
        tx.execute_command("SADD", "ht", f"tx{r}")
        tx.execute_command("SPOP", "is")
        tx.execute()


def test_cluster_spop_from_every_node_converges(cluster):
    clients = [exact_client(n) for n in cluster.nodes]
    clients[0].execute_command("FLUSHALL")
    set_workload(clients)
    cluster.wait_converged()
    # The same members in the same order on every replica (SMEMBERS reads
    # the replicated order; RAFT DIGEST covers it too).
    leader = exact_client(cluster.leader())
    for key in ("ht", "u", "i", "d", "moved"):
        orders = [c.execute_command("SMEMBERS", key) for c in clients]
        assert orders[0], key
        assert orders.count(orders[0]) == len(orders), key
        assert leader.execute_command("OBJECT", "ENCODING", key) == "hashtable"
    for c in clients + [leader]:
        c.connection_pool.disconnect()


# Appends to a list what SRANDMEMBER, SSCAN, SMEMBERS and SINTER return.
RECORD_SET_REPLIES = """
local out = {}
local function add(t) for _, m in ipairs(t) do table.insert(out, m) end end
add(redis.call('SRANDMEMBER', KEYS[1], 10))
add(redis.call('SRANDMEMBER', KEYS[1], -10))
table.insert(out, redis.call('SRANDMEMBER', KEYS[1]))
local cursor = '0'
for i = 1, 3 do
    local r = redis.call('SSCAN', KEYS[1], cursor, 'COUNT', 5)
    cursor = r[1]
    add(r[2])
end
local all = redis.call('SMEMBERS', KEYS[1])
for i = 1, 10 do table.insert(out, all[i]) end
local inter = redis.call('SINTER', KEYS[1], KEYS[1])
for i = 1, 5 do table.insert(out, inter[i]) end
redis.call('RPUSH', KEYS[2], unpack(out))
return #out
"""


def test_follower_restored_from_snapshot_pops_the_same_members(make_cluster):
    cluster = make_cluster(extra=SNAPSHOT_OFTEN).start()
    follower = cluster.followers()[0]
    follower.kill()
    live = [exact_client(n) for n in cluster.nodes if n is not follower]
    set_workload(live, rounds=12)
    # Enough entries for the leader to compact its log past the follower.
    for i in range(150):
        live[i % 2].execute_command("SADD", "filler", f"f{i}")
    follower.start()
    cluster.wait_converged(30)
    assert "Loaded a snapshot" in follower.log_text()  # installed from the leader
    # Now pop through the restored follower too: its dict layout differs
    # from the others', its member order must not.
    clients = [exact_client(n) for n in cluster.nodes]
    for r in range(6):
        clients[r % 3].execute_command("SPOP", "ht", 4)
        clients[(r + 1) % 3].execute_command("SPOP", "filler")
        clients[(r + 2) % 3].execute_command("SINTERSTORE", "i2", "ht", "u")
    cluster.wait_converged(30)
    orders = [c.execute_command("SMEMBERS", "ht") for c in clients]
    assert orders[0] and orders.count(orders[0]) == 3
    # A script runs on every node and may write what set commands return:
    # their replies must be the same everywhere too.
    for r in range(3):
        clients[r].execute_command("EVAL", RECORD_SET_REPLIES, 2, "ht", "record")
    cluster.wait_converged(30)
    assert clients[0].execute_command("LLEN", "record") > 3 * 40
    for c in live + clients:
        c.connection_pool.disconnect()


def test_restart_restores_sets_exactly(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = exact_client(node)
    c.execute_command("SADD", "ht", *[f"m{i}" for i in range(700)])
    c.execute_command("SREM", "ht", *[f"m{i}" for i in range(0, 700, 3)])
    c.execute_command("SADD", "is", *ints(300))
    c.execute_command("SADD", "wide", "1", "-5000000000")
    c.execute_command("SADD", "was-intset", *ints(520))
    c.execute_command("SREM", "was-intset", *ints(515))
    c.execute_command("EXPIRE", "is", 1000)
    for i in range(100):  # enough entries for snapshots
        c.execute_command("SADD", "small", f"s{i % 10}")
    digest = c.execute_command("DEBUG", "DIGEST")
    order = c.execute_command("SMEMBERS", "ht")
    encodings = {k: c.execute_command("OBJECT", "ENCODING", k)
                 for k in ("ht", "is", "wide", "was-intset", "small")}
    assert encodings == {"ht": "hashtable", "is": "intset", "wide": "intset",
                         "was-intset": "hashtable", "small": "hashtable"}
    c.connection_pool.disconnect()
    assert node.stop() == 0
    assert any(f.startswith("snapshot-") for f in os.listdir(node.dir)), "no snapshot was taken"
    node.start()
    wait_writable(node)
    c = exact_client(node)
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert c.execute_command("SMEMBERS", "ht") == order
    assert {k: c.execute_command("OBJECT", "ENCODING", k) for k in encodings} == encodings
    assert 990 <= c.execute_command("TTL", "is") <= 1000
    c.connection_pool.disconnect()
