"""Hash commands against a real parley-server, checked against Redis 7.0.

Every expected reply, error text, HINCRBYFLOAT result and OBJECT ENCODING
here was obtained by running the same commands on redis-server 7.0.15 and
is hard-coded: the tests need no redis-server. (Setting
COMPARE_REDIS_PORT=<port> runs the single-node tests against a
redis-server on that port instead, which is how the expectations were
checked; tests of Parley-only behaviour skip then.)

The encoding limits are Redis 7.0's built-in defaults, which a
redis-server started without a config file uses: hash-max-listpack-entries
512 and hash-max-listpack-value 64.

Replies are raw (exact.py: no redis-py callbacks, errors with their "ERR "
prefix); RESP3 shapes are checked byte for byte with rawresp.RawConn.

Determinism: a Lua script runs on every node and may write what it read,
so HKEYS/HVALS/HGETALL, HRANDFIELD and HSCAN must answer the same on every
replica, including one that restored a snapshot; a cluster test records
their replies from scripts and requires equal RAFT DIGESTs. HSCAN keeps
SCAN's guarantee while fields come and go between calls.
"""
import os

import pytest

from conftest import wait_writable
from exact import err, exact_client
from rawresp import RawConn

REDIS_PORT = os.environ.get("COMPARE_REDIS_PORT")
parley_only = pytest.mark.skipif(REDIS_PORT is not None, reason="Parley-specific behaviour")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
HASH_NOT_INT = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
OVERFLOW = "ERR increment or decrement would overflow"
NAN_INF = "ERR increment would produce NaN or Infinity"
RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808
SNAPSHOT_OFTEN = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]


class _Target:
    def __init__(self, port):
        self.port = port


@pytest.fixture
def c(request):
    """A raw-reply client on the flushed shared node (or on redis)."""
    if REDIS_PORT:
        node = _Target(int(REDIS_PORT))
    else:
        node = request.getfixturevalue("server")
        request.getfixturevalue("r")  # flushes the shared node
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


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def enc(c, key):
    return c.execute_command("OBJECT", "ENCODING", key)


# ---------------------------------------------------------------------------
# Setting and getting


def test_hset_hget_hmget(c):
    assert c.execute_command("HSET", "h", "a", "1", "b", "2") == 2
    assert c.execute_command("HSET", "h", "a", "10", "c", "3") == 1
    assert c.execute_command("HSET", "h", "a", "11", "a", "12") == 0  # the last wins
    assert c.execute_command("HGET", "h", "a") == "12"
    assert c.execute_command("HGET", "h", "zz") is None
    assert c.execute_command("HGET", "no", "a") is None
    assert c.execute_command("HMGET", "h", "a", "zz", "b") == ["12", None, "2"]
    assert c.execute_command("HMGET", "no", "a", "b") == [None, None]
    assert c.execute_command("HMSET", "h", "d", "4", "e", "5") == "OK"
    assert c.execute_command("HLEN", "h") == 5
    assert c.execute_command("TYPE", "h") == "hash"


def test_hsetnx(c):
    assert c.execute_command("HSETNX", "h", "f", "v") == 1
    assert c.execute_command("HSETNX", "h", "f", "w") == 0
    assert c.execute_command("HGET", "h", "f") == "v"
    assert c.execute_command("HSETNX", "h", "g", "w") == 1
    assert c.execute_command("HLEN", "h") == 2


def test_odd_arguments_are_an_arity_error(c):
    assert err(c, "HSET", "h") == "ERR wrong number of arguments for 'hset' command"
    assert err(c, "HSET", "h", "a") == "ERR wrong number of arguments for 'hset' command"
    assert err(c, "HSET", "h", "a", "1", "b") == "ERR wrong number of arguments for 'hset' command"
    assert err(c, "HMSET", "h", "a") == "ERR wrong number of arguments for 'hmset' command"
    assert err(c, "HMSET", "h", "a", "1", "b") == "ERR wrong number of arguments for 'hmset' command"
    assert err(c, "HSETNX", "h", "a") == "ERR wrong number of arguments for 'hsetnx' command"
    assert err(c, "HGET", "h") == "ERR wrong number of arguments for 'hget' command"
    assert err(c, "HDEL", "h") == "ERR wrong number of arguments for 'hdel' command"
    assert c.execute_command("EXISTS", "h") == 0


def test_values_kept_byte_for_byte(c):
    vals = {"n": "007", "m": "-0", "f": "1.50", "sp": " 1", "big": "9223372036854775808",
            "i": "-9223372036854775808", "e": "", "bin": "a\r\nb"}
    c.execute_command("HSET", "h", *[x for kv in vals.items() for x in kv])
    assert pairs(c.execute_command("HGETALL", "h")) == vals
    assert c.execute_command("HSTRLEN", "h", "n") == 3
    assert c.execute_command("HSTRLEN", "h", "i") == 20
    assert c.execute_command("HSTRLEN", "h", "e") == 0
    assert c.execute_command("HSTRLEN", "h", "zz") == 0
    assert c.execute_command("HSTRLEN", "no", "a") == 0


def test_hdel_hexists_hlen(c):
    c.execute_command("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert c.execute_command("HEXISTS", "h", "a") == 1
    assert c.execute_command("HEXISTS", "h", "z") == 0
    assert c.execute_command("HEXISTS", "no", "a") == 0
    assert c.execute_command("HDEL", "h", "a", "z", "a") == 1
    assert c.execute_command("HDEL", "h", "z") == 0
    assert c.execute_command("HDEL", "no", "a") == 0
    assert c.execute_command("HLEN", "h") == 2
    assert c.execute_command("HLEN", "no") == 0
    c.execute_command("EXPIRE", "h", 100)
    assert c.execute_command("HDEL", "h", "b", "c", "d") == 2
    assert c.execute_command("EXISTS", "h") == 0  # an empty hash is no key
    c.execute_command("HSET", "h", "x", "1")
    assert c.execute_command("TTL", "h") == -1


def test_hkeys_hvals_hgetall(c):
    assert c.execute_command("HKEYS", "no") == []
    assert c.execute_command("HVALS", "no") == []
    assert c.execute_command("HGETALL", "no") == []
    c.execute_command("HSET", "h", "a", "1", "b", "2", "c", "3")
    # A listpack hash keeps insertion order, as in Redis.
    assert c.execute_command("HKEYS", "h") == ["a", "b", "c"]
    assert c.execute_command("HVALS", "h") == ["1", "2", "3"]
    assert c.execute_command("HGETALL", "h") == ["a", "1", "b", "2", "c", "3"]
    big = {f"f{i}": f"v{i}" for i in range(1000)}
    c.execute_command("HSET", "big", *[x for kv in big.items() for x in kv])
    assert pairs(c.execute_command("HGETALL", "big")) == big
    assert sorted(c.execute_command("HKEYS", "big")) == sorted(big)
    assert sorted(c.execute_command("HVALS", "big")) == sorted(big.values())


def test_resp3_shapes(c, raw3):
    c.execute_command("HSET", "h", "a", "1", "b", "2")
    assert raw3.call("HGETALL", "h") == {b"a": b"1", b"b": b"2"}
    assert raw3.last_raw == b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert raw3.call("HGETALL", "no") == {} and raw3.last_raw == b"%0\r\n"
    assert raw3.call("HKEYS", "no") == [] and raw3.last_raw == b"*0\r\n"
    assert raw3.call("HGET", "h", "z") is None and raw3.last_raw == b"_\r\n"
    assert raw3.call("HMGET", "h", "a", "z") == [b"1", None]
    assert raw3.last_raw == b"*2\r\n$1\r\n1\r\n_\r\n"
    assert raw3.call("HINCRBYFLOAT", "h", "a", "1.5") == b"2.5"  # a bulk string
    assert raw3.call("HRANDFIELD", "no") is None and raw3.last_raw == b"_\r\n"
    assert raw3.call("HRANDFIELD", "no", 2) == [] and raw3.last_raw == b"*0\r\n"
    # WITHVALUES: an array of [field, value] pairs in RESP3.
    v = raw3.call("HRANDFIELD", "h", 1, "WITHVALUES")
    assert len(v) == 1 and v[0] in ([b"a", b"2.5"], [b"b", b"2"])
    v = raw3.call("HRANDFIELD", "h", -3, "WITHVALUES")
    assert len(v) == 3 and all(p in ([b"a", b"2.5"], [b"b", b"2"]) for p in v)
    v = raw3.call("HRANDFIELD", "h", 5, "WITHVALUES")
    assert sorted(v) == [[b"a", b"2.5"], [b"b", b"2"]]
    assert raw3.call("HSCAN", "h", 0) == [b"0", [b"a", b"2.5", b"b", b"2"]]


def test_wrongtype_both_ways(c):
    c.execute_command("SET", "str", "x")
    c.execute_command("HSET", "hash", "a", "1")
    for args in (("HSET", "str", "a", "1"), ("HMSET", "str", "a", "1"), ("HSETNX", "str", "a", "1"),
                 ("HGET", "str", "a"), ("HMGET", "str", "a"), ("HGETALL", "str"),
                 ("HKEYS", "str"), ("HVALS", "str"), ("HLEN", "str"), ("HSTRLEN", "str", "a"),
                 ("HEXISTS", "str", "a"), ("HDEL", "str", "a"), ("HINCRBY", "str", "a", 1),
                 ("HINCRBYFLOAT", "str", "a", 1), ("HRANDFIELD", "str"),
                 ("HRANDFIELD", "str", 0), ("HRANDFIELD", "str", -2, "WITHVALUES"),
                 ("HSCAN", "str", 0)):
        assert err(c, *args) == WRONGTYPE, args
    for args in (("GET", "hash"), ("APPEND", "hash", "x"), ("INCR", "hash"), ("STRLEN", "hash"),
                 ("GETRANGE", "hash", 0, 1), ("SADD", "hash", "a"), ("SMEMBERS", "hash")):
        assert err(c, *args) == WRONGTYPE, args
    # Argument errors come before the type check where Redis has them so.
    assert err(c, "HINCRBY", "str", "a", "x") == NOT_INT
    assert err(c, "HINCRBYFLOAT", "str", "a", "x") == NOT_FLOAT
    assert err(c, "HRANDFIELD", "str", "x") == NOT_INT
    assert err(c, "HSCAN", "str", "x") == "ERR invalid cursor"
    assert c.execute_command("SET", "hash", "v") == "OK"
    assert c.execute_command("TYPE", "hash") == "string"


# ---------------------------------------------------------------------------
# Encodings


def test_encoding_by_field_count(c):
    c.execute_command("HSET", "h", *[x for i in range(512) for x in (f"f{i}", f"v{i}")])
    assert enc(c, "h") == "listpack"
    c.execute_command("HSET", "h", "f0", "changed")
    assert enc(c, "h") == "listpack"
    assert c.execute_command("HSET", "h", "f512", "v") == 1
    assert enc(c, "h") == "hashtable"
    assert c.execute_command("HLEN", "h") == 513
    assert c.execute_command("HGET", "h", "f0") == "changed"
    c.execute_command("HDEL", "h", *[f"f{i}" for i in range(510)])
    assert enc(c, "h") == "hashtable"  # never back


def test_encoding_by_length(c):
    a64, a65 = "a" * 64, "a" * 65
    c.execute_command("HSET", "h", a64, a64)
    assert enc(c, "h") == "listpack"
    c.execute_command("HSET", "h", "x", a65)
    assert enc(c, "h") == "hashtable"
    c.execute_command("HDEL", "h", "x")
    assert enc(c, "h") == "hashtable"
    c.execute_command("HSET", "h2", a65, "x")
    assert enc(c, "h2") == "hashtable"
    c.execute_command("HSET", "h3", "a", "1", "b", a65)
    assert enc(c, "h3") == "hashtable"
    # HSETNX converts only when it sets.
    c.execute_command("HSETNX", "h4", a65, "v")
    assert enc(c, "h4") == "hashtable"
    c.execute_command("HSETNX", "h5", "f", a64)
    assert c.execute_command("HSETNX", "h5", "f", a65) == 0
    assert enc(c, "h5") == "listpack"
    # The counters check the field's length, and HINCRBYFLOAT its result's.
    c.execute_command("HINCRBY", "h6", a65, 1)
    assert enc(c, "h6") == "hashtable"
    c.execute_command("HINCRBYFLOAT", "h7", a65, 1)
    assert enc(c, "h7") == "hashtable"
    assert c.execute_command("HINCRBYFLOAT", "h8", "f", "1e70") == \
        "10000000000000000000222479489586148259025995410601157579323600873193472"
    assert enc(c, "h8") == "hashtable"
    assert c.execute_command("HINCRBYFLOAT", "h9", "f", "1e40") == \
        "9999999999999999999783686092270256259072"
    assert enc(c, "h9") == "listpack"


def test_copy_rename_and_scan_type(c):
    c.execute_command("HSET", "small", "a", "1")
    c.execute_command("HSET", "large", *[x for i in range(600) for x in (f"f{i}", str(i))])
    assert c.execute_command("COPY", "small", "small2") == 1
    assert c.execute_command("COPY", "large", "large2") == 1
    assert enc(c, "small2") == "listpack" and enc(c, "large2") == "hashtable"
    c.execute_command("HSET", "large2", "f0", "changed")
    assert c.execute_command("HGET", "large", "f0") == "0"
    assert pairs(c.execute_command("HGETALL", "small2")) == {"a": "1"}
    assert c.execute_command("RENAME", "small2", "s3") == "OK"
    assert c.execute_command("HGET", "s3", "a") == "1"
    keys = []
    cursor = "0"
    while True:
        cursor, batch = c.execute_command("SCAN", cursor, "TYPE", "hash")
        keys += batch
        if cursor == "0":
            break
    assert sorted(keys) == ["large", "large2", "s3", "small"]


# ---------------------------------------------------------------------------
# HINCRBY, HINCRBYFLOAT


def test_hincrby(c):
    assert c.execute_command("HINCRBY", "h", "n", 5) == 5
    assert c.execute_command("HINCRBY", "h", "n", -10) == -5
    assert c.execute_command("HGET", "h", "n") == "-5"
    c.execute_command("HSET", "h", "max", LLONG_MAX, "min", LLONG_MIN, "z", "007", "m", "-0",
                      "f", "1.5", "sp", " 1", "s", "foo")
    assert err(c, "HINCRBY", "h", "max", 1) == OVERFLOW
    assert c.execute_command("HINCRBY", "h", "max", 0) == LLONG_MAX
    assert c.execute_command("HINCRBY", "h", "max", -1) == LLONG_MAX - 1
    assert err(c, "HINCRBY", "h", "min", -1) == OVERFLOW
    assert c.execute_command("HINCRBY", "h", "min", 1) == LLONG_MIN + 1
    for field in ("z", "m", "f", "sp", "s"):
        assert err(c, "HINCRBY", "h", field, 1) == HASH_NOT_INT, field
    for incr in ("abc", "1.5", "9223372036854775808", "", " 1"):
        assert err(c, "HINCRBY", "h", "n", incr) == NOT_INT, incr
    assert c.execute_command("HGET", "h", "n") == "-5"
    assert c.execute_command("HINCRBY", "new", "f", LLONG_MIN) == LLONG_MIN
    assert enc(c, "new") == "listpack"


def test_hincrbyfloat(c):
    cases = [  # (field's value or None, increment, result)
        (None, "2.5", "2.5"),
        ("1.5", "1.5", "3"),
        ("-0", "1", "1"),
        ("1", "-1", "0"),
        (None, "1e-300", "0"),
        (None, "0x10", "16"),
        (None, "1e2", "100"),
        (None, "-0.0", "0"),
        ("1.1", "2.2", "3.3"),
        ("10", "-0.5", "9.5"),
        ("1e308", "1e308",
         "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200"
         "253843777078640893494450108026446304269499187921167194841628860392837535918200039206381"
         "557326219209014213335878306791577877829121087126122536729803237260434173178506889763247"
         "582601711514636284849020905456510092687857156096"),
        ("9223372036854775807", "1", "9223372036854775808"),
    ]
    for i, (start, incr, want) in enumerate(cases):
        field = f"f{i}"
        if start is not None:
            c.execute_command("HSET", "h", field, start)
        assert c.execute_command("HINCRBYFLOAT", "h", field, incr) == want, (start, incr)
        assert c.execute_command("HGET", "h", field) == want


def test_hincrbyfloat_errors(c):
    c.execute_command("HSET", "h", "s", "foo", "sp", " 1", "inf", "inf", "f", "1")
    assert err(c, "HINCRBYFLOAT", "h", "s", 1) == HASH_NOT_FLOAT
    assert err(c, "HINCRBYFLOAT", "h", "sp", 1) == HASH_NOT_FLOAT
    assert err(c, "HINCRBYFLOAT", "h", "f", "abc") == NOT_FLOAT
    assert err(c, "HINCRBYFLOAT", "h", "f", " 1") == NOT_FLOAT
    assert err(c, "HINCRBYFLOAT", "h", "f", "nan") == NOT_FLOAT
    assert err(c, "HINCRBYFLOAT", "h", "f", "") == NOT_FLOAT
    # An infinite increment is refused before anything is read...
    assert err(c, "HINCRBYFLOAT", "h", "f", "inf") == "ERR value is NaN or Infinity"
    assert err(c, "HINCRBYFLOAT", "h", "f", "-inf") == "ERR value is NaN or Infinity"
    assert err(c, "HINCRBYFLOAT", "nokey", "f", "inf") == "ERR value is NaN or Infinity"
    # ...an infinite result after.
    assert err(c, "HINCRBYFLOAT", "h", "inf", 1) == NAN_INF
    c.execute_command("HSET", "h", "huge", "1e4932")  # near the long double's limit
    assert err(c, "HINCRBYFLOAT", "h", "huge", "1e4932") == NAN_INF
    assert c.execute_command("HGET", "h", "f") == "1"
    assert c.execute_command("EXISTS", "nokey") == 0


# ---------------------------------------------------------------------------
# HRANDFIELD


def test_hrandfield(c):
    assert c.execute_command("HRANDFIELD", "no") is None
    assert c.execute_command("HRANDFIELD", "no", 1) == []
    assert c.execute_command("HRANDFIELD", "no", -5, "WITHVALUES") == []
    h = {"a": "1", "b": "2", "c": "3"}
    c.execute_command("HSET", "h", *[x for kv in h.items() for x in kv])
    assert c.execute_command("HRANDFIELD", "h") in h
    assert c.execute_command("HRANDFIELD", "h", 0) == []
    assert c.execute_command("HRANDFIELD", "h", 0, "WITHVALUES") == []
    two = c.execute_command("HRANDFIELD", "h", 2)
    assert len(set(two)) == 2 and set(two) <= set(h)
    assert sorted(c.execute_command("HRANDFIELD", "h", 3)) == ["a", "b", "c"]
    assert sorted(c.execute_command("HRANDFIELD", "h", 100)) == ["a", "b", "c"]
    with_values = c.execute_command("HRANDFIELD", "h", 100, "withvalues")
    assert pairs(with_values) == h and len(with_values) == 6
    rep = c.execute_command("HRANDFIELD", "h", -20, "WITHVALUES")
    assert len(rep) == 40 and all(h[f] == v for f, v in zip(rep[0::2], rep[1::2]))
    rep = c.execute_command("HRANDFIELD", "h", -20)
    assert len(rep) == 20 and set(rep) <= set(h)


def test_hrandfield_from_a_hashtable(c):
    big = {f"f{i}": f"v{i}" for i in range(1000)}
    c.execute_command("HSET", "big", *[x for kv in big.items() for x in kv])
    assert enc(c, "big") == "hashtable"
    for count in (1, 5, 300, 334, 999):
        got = c.execute_command("HRANDFIELD", "big", count, "WITHVALUES")
        fields = got[0::2]
        assert len(fields) == len(set(fields)) == count
        assert all(big[f] == v for f, v in zip(fields, got[1::2]))
    rep = c.execute_command("HRANDFIELD", "big", -50)
    assert len(rep) == 50 and set(rep) <= set(big)


def test_hrandfield_errors(c):
    c.execute_command("HSET", "h", "a", "1")
    assert err(c, "HRANDFIELD", "h", "x") == NOT_INT
    assert err(c, "HRANDFIELD", "h", 1, "foo") == SYNTAX
    assert err(c, "HRANDFIELD", "h", 1, "WITHVALUES", "x") == SYNTAX
    assert err(c, "HRANDFIELD", "h", "x", "foo") == NOT_INT
    assert err(c, "HRANDFIELD", "h", LLONG_MIN) == RANGE
    assert err(c, "HRANDFIELD", "no", LLONG_MIN) == RANGE
    for count in (LLONG_MAX, 4611686018427387904, -4611686018427387904):
        assert err(c, "HRANDFIELD", "h", count, "WITHVALUES") == "ERR value is out of range"
    assert c.execute_command("HRANDFIELD", "h", 4611686018427387903, "WITHVALUES") == ["a", "1"]


@parley_only
def test_hrandfield_bounds_negative_count(c):
    c.execute_command("HSET", "h", "a", "1")
    assert err(c, "HRANDFIELD", "h", -4611686018427387903) == "ERR value is out of range"
    assert err(c, "HRANDFIELD", "h", -(1 << 40), "WITHVALUES") == "ERR value is out of range"
    assert len(c.execute_command("HRANDFIELD", "h", -50000, "WITHVALUES")) == 100000


# ---------------------------------------------------------------------------
# HSCAN


def test_hscan_listpack_returns_everything_at_once(c):
    c.execute_command("HSET", "h", *[x for i in range(50) for x in (f"f{i}", f"v{i}")])
    cursor, flat = c.execute_command("HSCAN", "h", 0, "COUNT", 1)
    assert cursor == "0"
    assert flat == [x for i in range(50) for x in (f"f{i}", f"v{i}")]
    assert c.execute_command("HSCAN", "h", 12345)[0] == "0"  # the cursor is ignored
    # MATCH looks at fields only.
    assert c.execute_command("HSCAN", "h", 0, "MATCH", "f1?") == \
        ["0", [x for i in range(10, 20) for x in (f"f{i}", f"v{i}")]]
    assert c.execute_command("HSCAN", "h", 0, "MATCH", "v*") == ["0", []]


def test_hscan_hashtable_full_iteration(c):
    want = {f"f{i}": f"v{i}" for i in range(3000)}
    c.execute_command("HSET", "h", *[x for kv in want.items() for x in kv])
    got = {}
    cursor, calls = "0", 0
    while True:
        cursor, flat = c.execute_command("HSCAN", "h", cursor, "COUNT", 20)
        got.update(pairs(flat))
        calls += 1
        if cursor == "0":
            break
        assert calls < 3000
    assert got == want and calls > 10
    cursor, flat = c.execute_command("HSCAN", "h", 0, "MATCH", "f29??", "COUNT", 100000)
    assert cursor == "0"
    assert pairs(flat) == {f"f{i}": f"v{i}" for i in range(2900, 3000)}


def test_hscan_hashtable_guarantee_under_changes(c):
    # Fields present for the whole scan are returned (at least once) even
    # while others are deleted and added between the calls.
    everyone = [f"f{i}" for i in range(2000)]
    c.execute_command("HSET", "h", *[x for f in everyone for x in (f, f.upper())])
    kept = set(everyone[::3])
    doomed = [f for f in everyone if f not in kept]
    seen = {}
    cursor, calls = "0", 0
    while True:
        cursor, flat = c.execute_command("HSCAN", "h", cursor, "COUNT", 40)
        seen.update(pairs(flat))
        calls += 1
        for _ in range(20):
            if doomed:
                c.execute_command("HDEL", "h", doomed.pop())
        c.execute_command("HSET", "h", f"new{calls}", "v")
        if cursor == "0":
            break
        assert calls < 500
    assert kept <= set(seen)
    assert all(seen[f] == f.upper() for f in kept)


def test_hscan_errors(c):
    c.execute_command("HSET", "h", "a", "1")
    assert c.execute_command("HSCAN", "no", 0) == ["0", []]
    assert c.execute_command("HSCAN", "no", 0, "foo", "bar") == ["0", []]
    assert err(c, "HSCAN", "h", "abc") == "ERR invalid cursor"
    assert err(c, "HSCAN", "no", "1x") == "ERR invalid cursor"
    assert err(c, "HSCAN", "h", 0, "COUNT", 0) == SYNTAX
    assert err(c, "HSCAN", "h", 0, "COUNT", -1) == SYNTAX
    assert err(c, "HSCAN", "h", 0, "COUNT", "x") == NOT_INT
    assert err(c, "HSCAN", "h", 0, "TYPE", "string") == SYNTAX
    assert err(c, "HSCAN", "h", 0, "MATCH") == SYNTAX
    assert err(c, "HSCAN", "h", 0, "foo", "bar") == SYNTAX
    assert c.execute_command("HSCAN", "h", "-1") == ["0", ["a", "1"]]
    assert c.execute_command("HSCAN", "h", "", "MATCH", "*") == ["0", ["a", "1"]]


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
    try:
        c.execute_command(*cmd)
    except Exception:
        pass  # a failing command is part of what is checked
    watcher.execute_command("MULTI")
    watcher.execute_command("EXISTS", "__other")
    return watcher.execute_command("EXEC") is None


def test_watch_sees_hash_changes_and_only_them(c, watcher):
    c.execute_command("HSET", "h", "a", "1", "s", "str", "f", "1.5")
    assert aborted(c, watcher, "h", "HSET", "h", "a", "1")  # even the same value
    assert aborted(c, watcher, "h", "HMSET", "h", "a", "1")
    assert not aborted(c, watcher, "h", "HSETNX", "h", "a", "2")
    assert aborted(c, watcher, "h", "HSETNX", "h", "b", "2")
    assert not aborted(c, watcher, "h", "HDEL", "h", "zz")
    assert aborted(c, watcher, "h", "HDEL", "h", "b")
    assert aborted(c, watcher, "h", "HINCRBY", "h", "a", 1)
    assert not aborted(c, watcher, "h", "HINCRBY", "h", "s", 1)
    assert aborted(c, watcher, "h", "HINCRBYFLOAT", "h", "f", "0.5")
    assert not aborted(c, watcher, "h", "HINCRBYFLOAT", "h", "s", "0.5")
    assert not aborted(c, watcher, "h", "HRANDFIELD", "h", -3)
    assert aborted(c, watcher, "new", "HINCRBY", "new", "x", 1)


# ---------------------------------------------------------------------------
# Replication and snapshots


def hash_workload(clients, rounds=8):
    n = len(clients)
    for r in range(rounds):
        c = clients[r % n]
        c.execute_command("HSET", "big", *[x for i in range(80) for x in (f"r{r}f{i}", f"{i}")])
        clients[(r + 1) % n].execute_command("HINCRBY", "big", f"r{r}f1", 10)
        clients[(r + 2) % n].execute_command("HINCRBYFLOAT", "big", f"r{r}f2", "0.25")
        c.execute_command("HDEL", "big", f"r{r}f3", f"r{r}f4")
        clients[(r + 1) % n].execute_command("HSETNX", "small", f"s{r}", "v")
        clients[(r + 2) % n].execute_command("HINCRBYFLOAT", "small", "counter", "1.5")
        c.execute_command("HMSET", "small", "last", str(r), "x" * (r + 60), "wide")
        clients[(r + 1) % n].execute_command("HDEL", "small", "x" * (r + 59))


def test_cluster_hash_writes_from_every_node_converge(cluster):
    clients = [exact_client(n) for n in cluster.nodes]
    clients[0].execute_command("FLUSHALL")
    hash_workload(clients)
    cluster.wait_converged()
    for c in clients:
        assert c.execute_command("HGET", "small", "counter") == "12"
        assert c.execute_command("HLEN", "big") == 8 * 78
        c.connection_pool.disconnect()


# Appends to a list what HKEYS, HVALS, HGETALL, HRANDFIELD and HSCAN return.
RECORD_HASH_REPLIES = """
local out = {}
local function add(t, n) for i = 1, math.min(n, #t) do table.insert(out, t[i]) end end
add(redis.call('HKEYS', KEYS[1]), 10)
add(redis.call('HVALS', KEYS[1]), 10)
add(redis.call('HGETALL', KEYS[1]), 10)
add(redis.call('HRANDFIELD', KEYS[1], 10, 'WITHVALUES'), 20)
add(redis.call('HRANDFIELD', KEYS[1], -10), 10)
table.insert(out, redis.call('HRANDFIELD', KEYS[1]))
local cursor = '0'
for i = 1, 3 do
    local r = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 10)
    cursor = r[1]
    add(r[2], 100)
end
redis.call('RPUSH', KEYS[2], unpack(out))
return #out
"""


def test_replies_are_the_same_on_a_follower_restored_from_snapshot(make_cluster):
    # A script runs on every node and may write what it read; a follower
    # that installed a snapshot built its hashes anew, so anything that
    # answered in dict order would differ there.
    cluster = make_cluster(extra=SNAPSHOT_OFTEN).start()
    follower = cluster.followers()[0]
    follower.kill()
    live = [exact_client(n) for n in cluster.nodes if n is not follower]
    hash_workload(live, rounds=10)
    for i in range(150):  # enough entries for the leader to compact its log
        live[i % 2].execute_command("HSET", "filler", f"f{i}", i)
    follower.start()
    cluster.wait_converged(30)
    assert "Loaded a snapshot" in follower.log_text()
    clients = [exact_client(n) for n in cluster.nodes]
    for r in range(3):
        clients[r].execute_command("EVAL", RECORD_HASH_REPLIES, 2, "big", "record")
        clients[r].execute_command("HDEL", "big", f"r{r}f10", f"r{r}f11")
        clients[(r + 1) % 3].execute_command("EVAL", RECORD_HASH_REPLIES, 2, "filler", "record")
    cluster.wait_converged(30)
    assert clients[0].execute_command("LLEN", "record") > 6 * 60
    for c in live + clients:
        c.connection_pool.disconnect()


def test_restart_restores_hashes_exactly(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = exact_client(node)
    hash_workload([c], rounds=10)
    c.execute_command("HSET", "lp", "a", "1", "n", "007", "i", "12", "e", "")
    c.execute_command("HSET", "ttl", "a", "1")
    c.execute_command("EXPIRE", "ttl", 1000)
    for i in range(100):
        c.execute_command("HINCRBY", "counters", f"c{i % 7}", i)
    digest = c.execute_command("DEBUG", "DIGEST")
    encodings = {k: enc(c, k) for k in ("big", "small", "lp", "counters")}
    assert encodings == {"big": "hashtable", "small": "hashtable", "lp": "listpack",
                         "counters": "listpack"}
    content = {k: pairs(c.execute_command("HGETALL", k)) for k in encodings}
    c.connection_pool.disconnect()
    assert node.stop() == 0
    assert any(f.startswith("snapshot-") for f in os.listdir(node.dir)), "no snapshot was taken"
    node.start()
    wait_writable(node)
    c = exact_client(node)
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert {k: enc(c, k) for k in encodings} == encodings
    assert {k: pairs(c.execute_command("HGETALL", k)) for k in encodings} == content
    assert c.execute_command("HGETALL", "lp") == ["a", "1", "n", "007", "i", "12", "e", ""]
    assert 990 <= c.execute_command("TTL", "ttl") <= 1000
    c.connection_pool.disconnect()
