"""Generic key commands against a real parley-server, checked against Redis 7.0.

Existence and deletion, TYPE, KEYS and SCAN, RENAME and COPY and MOVE,
RANDOMKEY, the EXPIRE family and TTL queries, OBJECT, the whole-database
commands, SELECT, and the errors for wrong arity and unknown commands; and
keys that have expired: every command treats them as missing, whether or
not the leader has yet proposed their deletion, and DBSIZE drops once it
has.

Every expected value was obtained by running the same commands on
redis-server 7.0.15 and is hard-coded: these tests need no redis-server to
run. The `c` client (exact.py) leaves replies as the server sent them, error
prefixes included. Orders that Redis leaves unspecified (KEYS, SCAN) are
compared as sets.

Determinism: KEYS, SCAN and RANDOMKEY answer in a replicated key order, so a
script that writes what they returned keeps the replicas equal, including a
follower that restored a snapshot (the cluster tests at the end).
"""
import pytest

from conftest import wait_until
from exact import err, exact_client

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
DB_RANGE = "ERR DB index is out of range"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
SAME = "ERR source and destination objects are the same"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


@pytest.fixture
def c(r, server):
    """A client on db 0 of the flushed shared node, replies left raw."""
    client = exact_client(server)
    yield client
    client.connection_pool.disconnect()


@pytest.fixture
def db1(r, server):
    """Another client, on db 1."""
    client = exact_client(server, db=1)
    yield client
    client.connection_pool.disconnect()


def on_db(server, db):
    return exact_client(server, db=db)


def invalid_expire(cmd):
    return f"ERR invalid expire time in '{cmd}' command"


# ---------------------------------------------------------------------------
# DEL / UNLINK / EXISTS / TOUCH / TYPE


@pytest.mark.parametrize("cmd", ["DEL", "UNLINK"])
def test_del_unlink_count_deleted_keys(c, cmd):
    assert c.execute_command("MSET", "a", "1", "b", "2", "c", "3") == "OK"
    assert c.execute_command(cmd, "a", "b", "x") == 2
    assert c.execute_command(cmd, "a") == 0
    assert c.execute_command("EXISTS", "a", "b", "c") == 1
    # A key named twice is deleted once.
    assert c.execute_command(cmd, "c", "c", "c") == 1
    assert c.execute_command("DBSIZE") == 0


def test_exists_counts_duplicates(c):
    assert c.execute_command("MSET", "a", "1", "b", "2") == "OK"
    assert c.execute_command("EXISTS", "a") == 1
    assert c.execute_command("EXISTS", "x") == 0
    assert c.execute_command("EXISTS", "a", "a", "b", "b", "x") == 4
    assert c.execute_command("EXISTS", "a", "a", "a") == 3


def test_touch_counts_existing_keys(c):
    assert c.execute_command("MSET", "k", "v", "k2", "v") == "OK"
    assert c.execute_command("TOUCH", "k", "k2", "x", "k") == 3
    assert c.execute_command("TOUCH", "x") == 0


def test_type(c):
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("TYPE", "a") == "string"
    assert c.execute_command("TYPE", "x") == "none"
    assert c.execute_command("SET", "b", "x" * 100) == "OK"
    assert c.execute_command("TYPE", "b") == "string"


# ---------------------------------------------------------------------------
# KEYS / SCAN


GLOB_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h\\llo", "h*llo", "a[b", "a-b"]


@pytest.mark.parametrize("pattern,expected", [
    ("h?llo", {"hello", "hallo", "hxllo", "h\\llo", "h*llo"}),
    ("h*llo", {"hello", "hallo", "hxllo", "hllo", "heeeello", "h\\llo", "h*llo"}),
    ("h[ae]llo", {"hello", "hallo"}),
    ("h[^e]llo", {"hallo", "hxllo", "h\\llo", "h*llo"}),
    ("h[a-b]llo", {"hallo"}),
    ("*", set(GLOB_KEYS)),
    ("**", set(GLOB_KEYS)),
    ("h\\*llo", {"h*llo"}),
    ("a[b", set()),
    ("a[\\-]b", {"a-b"}),
    ("a?b", {"a[b", "a-b"}),
    ("nomatch", set()),
    ("HELLO", set()),
    ("*\\", set()),
])
def test_keys_glob_patterns(c, pattern, expected):
    args = []
    for k in GLOB_KEYS:
        args += [k, "v"]
    assert c.execute_command("MSET", *args) == "OK"
    got = c.execute_command("KEYS", pattern)
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_keys_bracket_quirks(c):
    assert c.execute_command("MSET", "a", "1", "b", "2", "c", "3") == "OK"
    assert set(c.execute_command("KEYS", "[a-b]")) == {"a", "b"}
    assert set(c.execute_command("KEYS", "[b-a]")) == {"a", "b"}
    assert c.execute_command("KEYS", "[!a]") == ["a"]  # '!' is not negation
    assert set(c.execute_command("KEYS", "?")) == {"a", "b", "c"}
    assert c.execute_command("KEYS", "[") == []
    assert c.execute_command("KEYS", "[a") == ["a"]
    assert c.execute_command("KEYS", "a[]") == []


def test_keys_and_exists_are_per_database(c, db1):
    assert db1.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("GET", "k") is None
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("KEYS", "*") == []
    assert c.execute_command("DBSIZE") == 0
    assert db1.execute_command("KEYS", "*") == ["k"]
    assert db1.execute_command("DBSIZE") == 1


def full_scan(client, *opts):
    seen = []
    cursor = "0"
    for _ in range(10000):
        cursor, keys = client.execute_command("SCAN", cursor, *opts)
        seen += keys
        if cursor == "0":
            return seen
    raise AssertionError("SCAN did not finish")


def test_scan_full_iteration_returns_every_key(c):
    keys = {f"key:{i}" for i in range(1000)}
    args = []
    for k in sorted(keys):
        args += [k, "v"]
    assert c.execute_command("MSET", *args) == "OK"
    seen = full_scan(c)
    assert set(seen) == keys
    seen = full_scan(c, "COUNT", 7)
    assert set(seen) == keys
    assert set(full_scan(c, "MATCH", "key:1*")) == {k for k in keys if k.startswith("key:1")}
    assert set(full_scan(c, "MATCH", "key:99?", "COUNT", 3)) == {f"key:99{i}" for i in range(10)}
    assert set(full_scan(c, "TYPE", "string")) == keys
    assert set(full_scan(c, "TYPE", "STRING", "MATCH", "*:5")) == {"key:5"}
    assert full_scan(c, "TYPE", "list") == []
    assert full_scan(c, "MATCH", "nothing*") == []


def test_scan_full_iteration_while_keys_are_added(c):
    # Keys present from start to end are returned at least once even if the
    # table grows between calls.
    args = []
    for i in range(200):
        args += [f"old:{i}", "v"]
    assert c.execute_command("MSET", *args) == "OK"
    seen = []
    cursor, n = "0", 0
    while True:
        cursor, keys = c.execute_command("SCAN", cursor, "COUNT", 20)
        seen += keys
        new = []
        for j in range(20):
            new += [f"new:{n}:{j}", "v"]
        assert c.execute_command("MSET", *new) == "OK"
        n += 1
        if cursor == "0":
            break
    assert {f"old:{i}" for i in range(200)} <= set(seen)


def test_scan_count_is_a_hint_and_a_big_count_returns_all(c):
    args = []
    for i in range(100):
        args += [f"k{i}", "v"]
    assert c.execute_command("MSET", *args) == "OK"
    cursor, keys = c.execute_command("SCAN", 0)
    assert cursor != "0" and len(keys) < 100
    cursor, keys = c.execute_command("SCAN", 0, "COUNT", 1000)
    assert cursor == "0" and len(keys) == 100
    cursor, keys = c.execute_command("SCAN", 0, "MATCH", "k1?", "COUNT", 1000, "TYPE", "string")
    assert cursor == "0" and set(keys) == {f"k1{i}" for i in range(10)}


def test_scan_empty_database(c):
    assert c.execute_command("SCAN", 0) == ["0", []]
    assert c.execute_command("SCAN", 0, "TYPE", "string") == ["0", []]
    assert c.execute_command("SCAN", 0, "TYPE", "foo") == ["0", []]


def test_scan_errors(c):
    assert err(c, "SCAN", 0, "COUNT", 0) == SYNTAX
    assert err(c, "SCAN", 0, "COUNT", -1) == SYNTAX
    assert err(c, "SCAN", 0, "COUNT", "abc") == NOT_INT
    for opts in (("MATCH",), ("FOO", "bar"), ("COUNT",), ("TYPE",), ("MATCH", "*", "COUNT")):
        assert err(c, "SCAN", 0, *opts) == SYNTAX, opts
    for cursor in ("abc", "1.5", " 1", "1 ", "18446744073709551616", "-", "+", "0x10",
                   "-18446744073709551616"):
        assert err(c, "SCAN", cursor) == "ERR invalid cursor", cursor


def test_scan_cursor_is_parsed_like_strtoul(c):
    # Redis reads the cursor with strtoul: a sign is allowed, "-1" is the
    # largest cursor, an empty cursor is 0, leading zeros are fine.
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("SCAN", "") == ["0", ["a"]]
    assert c.execute_command("SCAN", "00") == ["0", ["a"]]
    assert c.execute_command("SCAN", "+0") == ["0", ["a"]]
    assert c.execute_command("SCAN", "-0") == ["0", ["a"]]
    assert c.execute_command("SCAN", "18446744073709551615")[0] == "0"
    assert c.execute_command("SCAN", "-1")[0] == "0"
    assert c.execute_command("SCAN", "-18446744073709551615")[0] == "0"


# ---------------------------------------------------------------------------
# RENAME / RENAMENX / COPY / MOVE


def test_rename(c):
    assert err(c, "RENAME", "a", "b") == "ERR no such key"
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("RENAME", "a", "a") == "OK"
    assert c.execute_command("GET", "a") == "1"
    assert c.execute_command("RENAME", "a", "b") == "OK"
    assert c.execute_command("GET", "b") == "1"
    assert c.execute_command("EXISTS", "a") == 0
    assert err(c, "RENAME", "a", "b") == "ERR no such key"
    assert err(c, "RENAME", "a", "a") == "ERR no such key"
    assert c.execute_command("SET", "c", "3") == "OK"
    assert c.execute_command("RENAME", "b", "c") == "OK"
    assert c.execute_command("GET", "c") == "1"
    assert c.execute_command("DBSIZE") == 1


def test_renamenx(c):
    assert err(c, "RENAMENX", "x", "y") == "ERR no such key"
    assert c.execute_command("MSET", "b", "1", "c", "3") == "OK"
    assert c.execute_command("RENAMENX", "b", "b") == 0
    assert c.execute_command("RENAMENX", "b", "c") == 0
    assert c.execute_command("MGET", "b", "c") == ["1", "3"]
    assert c.execute_command("RENAMENX", "b", "d") == 1
    assert c.execute_command("MGET", "b", "d") == [None, "1"]


def test_rename_carries_the_ttl(c):
    assert c.execute_command("SET", "a", "1", "EX", 100) == "OK"
    assert c.execute_command("RENAME", "a", "b") == "OK"
    assert 95 <= c.execute_command("TTL", "b") <= 100
    assert c.execute_command("TTL", "a") == -2
    # The destination's own TTL is replaced by the source's (none).
    assert c.execute_command("SET", "c", "2") == "OK"
    assert c.execute_command("SET", "d", "3", "EX", 100) == "OK"
    assert c.execute_command("RENAME", "c", "d") == "OK"
    assert c.execute_command("TTL", "d") == -1
    assert c.execute_command("SET", "e", "1", "EX", 100) == "OK"
    assert c.execute_command("RENAMENX", "e", "f") == 1
    assert 95 <= c.execute_command("TTL", "f") <= 100
    assert c.execute_command("RENAME", "f", "f") == "OK"
    assert 95 <= c.execute_command("TTL", "f") <= 100


def test_copy(c, server):
    assert c.execute_command("COPY", "x", "y") == 0
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("COPY", "a", "b") == 1
    assert c.execute_command("GET", "b") == "1"
    assert c.execute_command("SET", "a", "2") == "OK"
    assert c.execute_command("COPY", "a", "b") == 0
    assert c.execute_command("GET", "b") == "1"
    assert c.execute_command("COPY", "a", "b", "REPLACE") == 1
    assert c.execute_command("GET", "b") == "2"
    assert c.execute_command("COPY", "a", "b", "replace", "replace") == 1
    # The copy is independent of the original.
    assert c.execute_command("APPEND", "b", "x") == 2
    assert c.execute_command("MGET", "a", "b") == ["2", "2x"]
    assert c.execute_command("OBJECT", "ENCODING", "a") == "int"


def test_copy_to_another_db(c, server):
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("COPY", "a", "a", "DB", 1) == 1
    assert c.execute_command("COPY", "a", "b", "DB", 0) == 1
    # The last DB option wins.
    assert c.execute_command("COPY", "a", "z", "DB", 1, "DB", 2) == 1
    d1, d2 = on_db(server, 1), on_db(server, 2)
    assert d1.execute_command("GET", "a") == "1"
    assert d1.execute_command("EXISTS", "z") == 0
    assert d2.execute_command("GET", "z") == "1"
    assert d1.execute_command("SET", "a", "other") == "OK"
    assert c.execute_command("COPY", "a", "a", "DB", 1) == 0
    assert c.execute_command("COPY", "a", "a", "db", 1, "replace") == 1
    assert d1.execute_command("GET", "a") == "1"
    d1.connection_pool.disconnect()
    d2.connection_pool.disconnect()


def test_copy_carries_the_ttl(c, server):
    assert c.execute_command("SET", "a", "1", "EX", 100) == "OK"
    assert c.execute_command("COPY", "a", "b") == 1
    assert 95 <= c.execute_command("TTL", "b") <= 100
    assert c.execute_command("COPY", "a", "z", "DB", 3) == 1
    d3 = on_db(server, 3)
    assert 95 <= d3.execute_command("TTL", "z") <= 100
    d3.connection_pool.disconnect()
    assert c.execute_command("SET", "x", "2") == "OK"
    assert c.execute_command("COPY", "a", "x", "REPLACE") == 1
    assert 95 <= c.execute_command("TTL", "x") <= 100
    # Replacing a key with a TTL by one without drops the TTL.
    assert c.execute_command("SET", "q", "1") == "OK"
    assert c.execute_command("SET", "w", "2", "EX", 100) == "OK"
    assert c.execute_command("COPY", "q", "w", "REPLACE") == 1
    assert c.execute_command("TTL", "w") == -1


def test_copy_errors(c):
    assert c.execute_command("SET", "a", "1") == "OK"
    assert err(c, "COPY", "a", "a") == SAME
    assert err(c, "COPY", "a", "a", "REPLACE") == SAME
    assert err(c, "COPY", "a", "a", "DB", 0) == SAME
    assert err(c, "COPY", "x", "x") == SAME
    assert err(c, "COPY", "a", "b", "DB", 16) == DB_RANGE
    assert err(c, "COPY", "a", "b", "DB", -1) == DB_RANGE
    assert err(c, "COPY", "a", "b", "DB", "abc") == NOT_INT
    assert err(c, "COPY", "a", "b", "DB", 9999999999999) == INT_RANGE
    assert err(c, "COPY", "a", "b", "DB", -9999999999999) == INT_RANGE
    assert err(c, "COPY", "a", "b", "DB") == SYNTAX
    assert err(c, "COPY", "a", "b", "FOO") == SYNTAX
    assert c.execute_command("DBSIZE") == 1


def test_move(c, db1):
    assert c.execute_command("SET", "a", "1", "EX", 100) == "OK"
    assert c.execute_command("MOVE", "a", 1) == 1
    assert c.execute_command("EXISTS", "a") == 0
    assert db1.execute_command("GET", "a") == "1"
    assert 95 <= db1.execute_command("TTL", "a") <= 100
    assert c.execute_command("MOVE", "a", 1) == 0
    # The destination holds the key already: nothing moves.
    assert c.execute_command("SET", "a", "3") == "OK"
    assert c.execute_command("MOVE", "a", 1) == 0
    assert c.execute_command("GET", "a") == "3"
    assert db1.execute_command("GET", "a") == "1"
    assert c.execute_command("MOVE", "x", 1) == 0
    assert c.execute_command("DBSIZE") == 1 and db1.execute_command("DBSIZE") == 1


def test_move_errors(c):
    assert c.execute_command("SET", "a", "1") == "OK"
    assert err(c, "MOVE", "a", 0) == SAME
    assert err(c, "MOVE", "a", 16) == DB_RANGE
    assert err(c, "MOVE", "a", -1) == DB_RANGE
    assert err(c, "MOVE", "a", "abc") == NOT_INT
    assert err(c, "MOVE", "a", 9999999999999) == INT_RANGE
    assert err(c, "MOVE", "a", -2147483649) == INT_RANGE
    assert err(c, "MOVE", "a", 2147483647) == DB_RANGE
    assert c.execute_command("GET", "a") == "1"


# ---------------------------------------------------------------------------
# RANDOMKEY


def test_randomkey(c):
    assert c.execute_command("RANDOMKEY") is None
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("RANDOMKEY") == "a"
    assert c.execute_command("MSET", "b", "2", "c", "3") == "OK"
    seen = {c.execute_command("RANDOMKEY") for _ in range(200)}
    assert seen == {"a", "b", "c"}


def test_randomkey_skips_expired_keys(c):
    assert c.execute_command("SET", "gone", "v", "PX", 50) == "OK"
    wait_until(lambda: c.execute_command("EXISTS", "gone") == 0, 5, message="the key to expire")
    assert c.execute_command("RANDOMKEY") is None
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("SET", "gone2", "v", "PX", 50) == "OK"
    wait_until(lambda: c.execute_command("EXISTS", "gone2") == 0, 5, message="the key to expire")
    assert {c.execute_command("RANDOMKEY") for _ in range(20)} == {"a"}


def test_randomkey_finds_a_live_key_among_many_expired_ones(c):
    # 30000 keys expire at the same instant; the leader deletes them over
    # several expiry cycles. Meanwhile RANDOMKEY must still find the one
    # live key, as Redis does (it deletes the expired keys it meets).
    at = c.execute_command("TIME")
    at = int(at[0]) * 1000 + int(at[1]) // 1000 + 1500
    pipe = c.pipeline(transaction=False)
    for i in range(30000):
        pipe.execute_command("SET", f"e{i}", "v", "PXAT", at)
    assert set(pipe.execute()) == {"OK"}
    assert c.execute_command("SET", "live", "v") == "OK"
    wait_until(lambda: c.execute_command("EXISTS", "e0", "e29999") == 0, 10,
               message="the keys to expire")
    assert [c.execute_command("RANDOMKEY") for _ in range(5)] == ["live"] * 5
    wait_until(lambda: c.execute_command("DBSIZE") == 1, 20, message="the expired keys deleted")


# ---------------------------------------------------------------------------
# EXPIRE family, TTL queries, PERSIST


def test_expire_family_sets_ttl(c):
    assert c.execute_command("EXPIRE", "k", 10) == 0
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("EXPIRE", "k", 100) == 1
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("PEXPIRE", "k", 200000) == 1
    assert 195000 <= c.execute_command("PTTL", "k") <= 200000
    assert c.execute_command("EXPIREAT", "k", 4102444800) == 1
    assert c.execute_command("EXPIRETIME", "k") == 4102444800
    assert c.execute_command("PEXPIRETIME", "k") == 4102444800000
    assert c.execute_command("PEXPIREAT", "k", 4102444800499) == 1
    assert c.execute_command("PEXPIRETIME", "k") == 4102444800499
    assert c.execute_command("EXPIRETIME", "k") == 4102444800
    # EXPIRETIME rounds to the nearest second, as TTL does.
    assert c.execute_command("PEXPIREAT", "k", 4102444800500) == 1
    assert c.execute_command("EXPIRETIME", "k") == 4102444801
    assert c.execute_command("GET", "k") == "v"
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert c.execute_command(cmd, "missing", 100) == 0
        assert c.execute_command(cmd, "missing", -100) == 0


def test_ttl_queries(c):
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        assert c.execute_command(cmd, "x") == -2
    assert c.execute_command("SET", "k", "v") == "OK"
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        assert c.execute_command(cmd, "k") == -1
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    pttl = c.execute_command("PTTL", "k")
    assert 95000 < pttl <= 100000
    now = c.execute_command("PEXPIRETIME", "k") - pttl
    t = c.execute_command("TIME")
    assert abs(int(t[0]) * 1000 + int(t[1]) // 1000 - now) < 5000
    # TTL rounds to the nearest second.
    assert c.execute_command("PEXPIRE", "k", 1499) == 1
    assert c.execute_command("TTL", "k") == 1
    assert c.execute_command("PEXPIRE", "k", 400) == 1
    assert c.execute_command("TTL", "k") == 0


def test_expire_options(c):
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("EXPIRE", "k", 100, "XX") == 0
    assert c.execute_command("EXPIRE", "k", 100, "GT") == 0  # no TTL counts as infinite
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("EXPIRE", "k", 100, "NX") == 1
    assert c.execute_command("EXPIRE", "k", 200, "NX") == 0
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("EXPIRE", "k", 50, "XX") == 1
    assert 45 <= c.execute_command("TTL", "k") <= 50
    assert c.execute_command("PERSIST", "k") == 1
    assert c.execute_command("EXPIRE", "k", 50, "LT") == 1  # no TTL counts as infinite
    assert 45 <= c.execute_command("TTL", "k") <= 50
    assert c.execute_command("EXPIRE", "k", 100, "GT") == 1
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("EXPIRE", "k", 80, "GT") == 0
    assert c.execute_command("EXPIRE", "k", 1000, "LT") == 0
    assert c.execute_command("EXPIRE", "k", 80, "lt") == 1
    assert 75 <= c.execute_command("TTL", "k") <= 80
    assert c.execute_command("EXPIRE", "k", 90, "XX", "LT") == 0
    assert c.execute_command("EXPIRE", "k", 90, "XX", "GT") == 1
    assert c.execute_command("PEXPIRE", "k", 50000, "LT") == 1
    assert 45 <= c.execute_command("TTL", "k") <= 50
    assert c.execute_command("EXPIRE", "k", 10, "NX", "NX") == 0
    # A negative time with GT is never greater; with LT it deletes.
    assert c.execute_command("EXPIRE", "k", -1, "GT") == 0
    assert c.execute_command("EXISTS", "k") == 1
    assert c.execute_command("EXPIRE", "k", -1, "LT") == 1
    assert c.execute_command("EXISTS", "k") == 0


def test_expire_option_errors(c):
    assert c.execute_command("SET", "k", "v") == "OK"
    nx = "ERR NX and XX, GT or LT options at the same time are not compatible"
    gt = "ERR GT and LT options at the same time are not compatible"
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        assert err(c, cmd, "k", 10, "NX", "XX") == nx
        assert err(c, cmd, "k", 10, "NX", "GT") == nx
        assert err(c, cmd, "k", 10, "lt", "nx") == nx
        assert err(c, cmd, "k", 10, "GT", "LT") == gt
        assert err(c, cmd, "k", 10, "gt", "gt", "lt") == gt
        assert err(c, cmd, "k", 10, "XX", "GT", "LT") == gt
        assert err(c, cmd, "k", 10, "foo") == "ERR Unsupported option foo"
        assert err(c, cmd, "k", 10, "NX", "bar") == "ERR Unsupported option bar"
        # Options are checked before the time, and before the key.
        assert err(c, cmd, "k", "abc", "NX", "XX") == nx
        assert err(c, cmd, "k", "abc", "bogus") == "ERR Unsupported option bogus"
        assert err(c, cmd, "nokey", 10, "NX", "XX") == nx
        assert err(c, cmd, "k", "abc") == NOT_INT
        assert err(c, cmd, "k", "1.5") == NOT_INT
    assert c.execute_command("TTL", "k") == -1


@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", 0), ("EXPIRE", -10), ("PEXPIRE", 0), ("PEXPIRE", -1), ("EXPIREAT", 1),
    ("EXPIREAT", 0), ("EXPIREAT", -1), ("PEXPIREAT", 1000), ("EXPIRE", -9223372036854775),
    ("PEXPIRE", LLONG_MIN), ("PEXPIREAT", LLONG_MIN), ("EXPIREAT", -9223372036854775),
])
def test_expire_in_the_past_deletes_the_key(c, cmd, arg):
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("SET", "other", "v") == "OK"
    assert c.execute_command(cmd, "k", arg) == 1
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("GET", "k") is None
    # Deleted, not just hidden.
    assert c.execute_command("DBSIZE") == 1


def test_expire_overflow_errors(c):
    assert c.execute_command("SET", "k", "v") == "OK"
    for cmd, arg in (("EXPIRE", LLONG_MAX), ("EXPIRE", 9223372036854775),
                     ("EXPIRE", 9223372036854774), ("PEXPIRE", LLONG_MAX),
                     ("PEXPIRE", 9223372036854770000), ("EXPIREAT", LLONG_MAX),
                     ("EXPIRE", LLONG_MIN), ("EXPIRE", -9223372036854776)):
        assert err(c, cmd, "k", arg) == invalid_expire(cmd.lower()), (cmd, arg)
    assert c.execute_command("TTL", "k") == -1
    # The largest representable times are accepted.
    assert c.execute_command("PEXPIREAT", "k", LLONG_MAX) == 1
    assert c.execute_command("PEXPIRETIME", "k") == LLONG_MAX
    assert c.execute_command("EXPIRETIME", "k") == 9223372036854776
    assert c.execute_command("EXPIREAT", "k", 9223372036854775) == 1
    assert c.execute_command("EXPIRETIME", "k") == 9223372036854775
    assert c.execute_command("EXISTS", "k") == 1


def test_persist(c):
    assert c.execute_command("PERSIST", "x") == 0
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("PERSIST", "k") == 0
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("PERSIST", "k") == 1
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("PERSIST", "k") == 0
    assert c.execute_command("GET", "k") == "v"


def test_pexpire_key_disappears_and_leader_deletes_it(c):
    assert c.execute_command("MSET", "a", "1", "b", "2", "c", "3") == "OK"
    assert c.execute_command("PEXPIRE", "a", 100) == 1
    assert c.execute_command("EXPIREAT", "b", 4102444800) == 1
    wait_until(lambda: c.execute_command("EXISTS", "a") == 0, 5, message="a to expire")
    assert c.execute_command("GET", "a") is None
    assert c.execute_command("TTL", "a") == -2
    assert c.execute_command("EXPIRE", "a", 100) == 0
    assert c.execute_command("PERSIST", "a") == 0
    assert set(c.execute_command("KEYS", "*")) == {"b", "c"}
    assert set(full_scan(c)) == {"b", "c"}
    wait_until(lambda: c.execute_command("DBSIZE") == 2, 10, message="DBSIZE to drop to 2")
    assert c.execute_command("MGET", "a", "b", "c") == [None, "2", "3"]


def test_many_expiring_keys_are_all_deleted(c):
    args = []
    for i in range(300):
        args += [f"e{i}", "v"]
    assert c.execute_command("MSET", *args) == "OK"
    assert c.execute_command("SET", "keep", "v", "EX", 100) == "OK"
    for i in range(300):
        c.execute_command("PEXPIRE", f"e{i}", 100 + i)
    wait_until(lambda: c.execute_command("DBSIZE") == 1, 15, message="300 expired keys deleted")
    assert c.execute_command("KEYS", "*") == ["keep"]


def expired_key(c, key, value="v"):
    """Creates key with a 30 ms TTL and waits until it is gone for readers
    (the leader may or may not have proposed its deletion yet)."""
    assert c.execute_command("SET", key, value, "PX", 30) == "OK"
    wait_until(lambda: c.execute_command("EXISTS", key) == 0, 5, message=f"{key} to expire")


def test_commands_on_an_expired_key_act_as_if_it_were_missing(c, server):
    checks = [
        (("SET", "k", "new", "XX"), None, None),
        (("SET", "k", "new", "NX"), "OK", "new"),
        (("SET", "k", "new", "GET"), None, "new"),
        (("SET", "k", "new", "KEEPTTL"), "OK", "new"),
        (("SETNX", "k", "new"), 1, "new"),
        (("GETSET", "k", "new"), None, "new"),
        (("MSETNX", "k", "new", "other", "x"), 1, "new"),
        (("INCR", "k"), 1, "1"),
        (("INCRBYFLOAT", "k", "1.5"), "1.5", "1.5"),
        (("APPEND", "k", "new"), 3, "new"),
        (("SETRANGE", "k", 1, "x"), 2, "\x00x"),
        (("GETDEL", "k"), None, None),
        (("GETEX", "k", "PERSIST"), None, None),
        (("GETRANGE", "k", 0, -1), "", None),
        (("STRLEN", "k"), 0, None),
        (("DEL", "k"), 0, None),
        (("EXPIRE", "k", 100), 0, None),
        (("PERSIST", "k"), 0, None),
        (("TTL", "k"), -2, None),
        (("TYPE", "k"), "none", None),
        (("OBJECT", "ENCODING", "k"), None, None),
        (("COPY", "k", "dst"), 0, None),
        (("MOVE", "k", 1), 0, None),
        (("RENAMENX", "src", "k"), 1, "src-value"),
        (("COPY", "src", "k"), 1, "src-value"),
    ]
    for args, reply, after in checks:
        c.execute_command("FLUSHALL")
        c.execute_command("SET", "src", "src-value")
        expired_key(c, "k", "old")
        assert c.execute_command(*args) == reply, args
        assert c.execute_command("GET", "k") == after, args
        # Whatever the command wrote carries no TTL from the expired key.
        if after is not None:
            assert c.execute_command("TTL", "k") == -1, args
    c.execute_command("FLUSHALL")
    expired_key(c, "k")
    assert err(c, "RENAME", "k", "x") == "ERR no such key"
    # An expired key in the destination db does not block MOVE.
    d1 = on_db(server, 1)
    expired_key(d1, "m")
    assert c.execute_command("SET", "m", "v") == "OK"
    assert c.execute_command("MOVE", "m", 1) == 1
    assert d1.execute_command("GET", "m") == "v"
    assert d1.execute_command("TTL", "m") == -1
    d1.connection_pool.disconnect()


def test_binary_keys_in_keys_and_scan(server, r):
    c = exact_client(server, decode=False)
    keys = [b"a\x00b", b"a\r\nb", b"\xff\xfe", b"a*b", b""]
    for k in keys:
        assert c.execute_command("SET", k, b"v") == b"OK"
    assert sorted(c.execute_command("KEYS", b"*")) == sorted(keys)
    assert set(c.execute_command("KEYS", b"a?b")) == {b"a*b", b"a\x00b"}
    assert c.execute_command("KEYS", b"a\\*b") == [b"a*b"]
    assert c.execute_command("KEYS", b"a\r\n*") == [b"a\r\nb"]
    assert c.execute_command("SCAN", 0, "MATCH", b"\xff*", "COUNT", 100) == [b"0", [b"\xff\xfe"]]
    assert c.execute_command("EXISTS", b"") == 1
    assert c.execute_command("RENAME", b"a\x00b", b"a\x00c") == b"OK"
    assert c.execute_command("GET", b"a\x00c") == b"v"
    c.connection_pool.disconnect()


# ---------------------------------------------------------------------------
# OBJECT


def test_object_encoding(c):
    assert c.execute_command("SET", "i", "123") == "OK"
    assert c.execute_command("SET", "e", "abc") == "OK"
    assert c.execute_command("SET", "r", "x" * 45) == "OK"
    assert c.execute_command("OBJECT", "ENCODING", "i") == "int"
    assert c.execute_command("OBJECT", "encoding", "e") == "embstr"
    assert c.execute_command("OBJECT", "Encoding", "r") == "raw"
    assert c.execute_command("OBJECT", "ENCODING", "missing") is None
    assert c.execute_command("APPEND", "e", "d") == 4
    assert c.execute_command("OBJECT", "ENCODING", "e") == "raw"
    assert c.execute_command("INCR", "i") == 124
    assert c.execute_command("OBJECT", "ENCODING", "i") == "int"
    # RENAME and MOVE keep the object as it is; COPY copies the encoding.
    assert c.execute_command("RENAME", "e", "e2") == "OK"
    assert c.execute_command("OBJECT", "ENCODING", "e2") == "raw"
    assert c.execute_command("COPY", "e2", "e3") == 1
    assert c.execute_command("OBJECT", "ENCODING", "e3") == "raw"


def test_object_help_and_errors(c):
    help_lines = c.execute_command("OBJECT", "HELP")
    assert help_lines[0] == "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[1:4] == [
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
    ]
    assert help_lines[-2:] == ["HELP", "    Prints this help."]
    assert "REFCOUNT <key>" in help_lines
    assert c.execute_command("object", "help") == help_lines
    assert err(c, "OBJECT", "foo") == "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    assert err(c, "OBJECT", "foo", "bar") == "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    assert err(c, "OBJECT") == "ERR wrong number of arguments for 'object' command"
    assert err(c, "OBJECT", "ENCODING") == \
        "ERR wrong number of arguments for 'object|encoding' command"
    assert err(c, "OBJECT", "encoding", "a", "b") == \
        "ERR wrong number of arguments for 'object|encoding' command"
    assert err(c, "OBJECT", "HELP", "x") == "ERR wrong number of arguments for 'object|help' command"


# ---------------------------------------------------------------------------
# DBSIZE / FLUSHDB / FLUSHALL / SWAPDB / SELECT


def test_dbsize_flushdb_flushall(c, db1):
    assert c.execute_command("DBSIZE") == 0
    assert c.execute_command("MSET", "a", "1", "b", "2") == "OK"
    assert db1.execute_command("SET", "c", "3") == "OK"
    assert c.execute_command("DBSIZE") == 2
    assert db1.execute_command("DBSIZE") == 1
    assert c.execute_command("FLUSHDB") == "OK"
    assert c.execute_command("DBSIZE") == 0
    assert db1.execute_command("DBSIZE") == 1
    assert c.execute_command("SET", "a", "1") == "OK"
    assert c.execute_command("FLUSHALL") == "OK"
    assert c.execute_command("DBSIZE") == 0
    assert db1.execute_command("DBSIZE") == 0


@pytest.mark.parametrize("cmd", ["FLUSHDB", "FLUSHALL"])
@pytest.mark.parametrize("mode", ["ASYNC", "SYNC", "async", "Sync"])
def test_flush_modes(c, cmd, mode):
    assert c.execute_command("MSET", "a", "1", "b", "2") == "OK"
    assert c.execute_command(cmd, mode) == "OK"
    assert c.execute_command("DBSIZE") == 0


@pytest.mark.parametrize("cmd", ["FLUSHDB", "FLUSHALL"])
def test_flush_bad_option(c, cmd):
    assert c.execute_command("SET", "a", "1") == "OK"
    assert err(c, cmd, "foo") == SYNTAX
    assert err(c, cmd, "SYNC", "ASYNC") == SYNTAX
    assert err(c, cmd, "x", "y") == SYNTAX
    assert c.execute_command("DBSIZE") == 1


def test_swapdb(c, db1):
    assert c.execute_command("SET", "a", "1", "EX", 100) == "OK"
    assert c.execute_command("SET", "b", "2") == "OK"
    assert db1.execute_command("SET", "z", "26") == "OK"
    assert c.execute_command("SWAPDB", 0, 1) == "OK"
    # Connections stay on their db number and see the other contents.
    assert c.execute_command("KEYS", "*") == ["z"]
    assert set(db1.execute_command("KEYS", "*")) == {"a", "b"}
    assert 95 <= db1.execute_command("TTL", "a") <= 100
    assert c.execute_command("SWAPDB", 1, 0) == "OK"
    assert set(c.execute_command("KEYS", "*")) == {"a", "b"}
    assert c.execute_command("SWAPDB", 0, 0) == "OK"
    assert c.execute_command("DBSIZE") == 2


def test_swapdb_errors(c):
    assert err(c, "SWAPDB", 0, 16) == DB_RANGE
    assert err(c, "SWAPDB", -1, 0) == DB_RANGE
    assert err(c, "SWAPDB", "a", 0) == "ERR invalid first DB index"
    assert err(c, "SWAPDB", "a", "b") == "ERR invalid first DB index"
    assert err(c, "SWAPDB", "1.5", 0) == "ERR invalid first DB index"
    assert err(c, "SWAPDB", 0, "b") == "ERR invalid second DB index"
    assert err(c, "SWAPDB", 0, 99999999999) == "ERR invalid second DB index"


def test_select(c, server):
    assert c.execute_command("SELECT", 1) == "OK"
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("SELECT", 0) == "OK"
    assert c.execute_command("GET", "k") is None
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("DBSIZE") == 0
    assert c.execute_command("SELECT", 15) == "OK"
    assert c.execute_command("DBSIZE") == 0
    assert err(c, "SELECT", 16) == DB_RANGE
    assert err(c, "SELECT", -1) == DB_RANGE
    assert err(c, "SELECT", "abc") == NOT_INT
    # A failed SELECT leaves the connection on its db.
    assert c.execute_command("SET", "fifteen", "v") == "OK"
    d15 = on_db(server, 15)
    assert d15.execute_command("GET", "fifteen") == "v"
    d15.connection_pool.disconnect()


# ---------------------------------------------------------------------------
# Arity and unknown commands


@pytest.mark.parametrize("args", [
    ("DEL",), ("UNLINK",), ("EXISTS",), ("TOUCH",), ("TYPE",), ("TYPE", "a", "b"), ("KEYS",),
    ("KEYS", "a", "b"), ("SCAN",), ("RANDOMKEY", "x"), ("RENAME",), ("RENAME", "a"),
    ("RENAMENX", "a"), ("COPY", "a"), ("MOVE", "a"), ("EXPIRE", "k"), ("PEXPIRE", "k"),
    ("EXPIREAT", "k"), ("PEXPIREAT", "k"), ("TTL",), ("TTL", "a", "b"), ("PTTL",),
    ("EXPIRETIME",), ("PEXPIRETIME", "a", "b"), ("PERSIST",), ("DBSIZE", "x"), ("SWAPDB", "0"),
    ("SELECT",),
])
def test_wrong_arity(c, args):
    assert err(c, *args) == f"ERR wrong number of arguments for '{args[0].lower()}' command"


def test_unknown_command(c):
    assert err(c, "foo") == "ERR unknown command 'foo', with args beginning with: "
    assert err(c, "foo", "bar", "baz") == \
        "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' "
    assert err(c, "FOOBAR", "a") == "ERR unknown command 'FOOBAR', with args beginning with: 'a' "
    assert err(c, "foo", "") == "ERR unknown command 'foo', with args beginning with: '' "
    # Newlines become spaces so the error stays one line.
    assert err(c, "foo", "a\r\nb", "c\nd") == \
        "ERR unknown command 'foo', with args beginning with: 'a  b' 'c d' "
    # The name and the arguments are cut at 128 characters.
    assert err(c, "b" * 200, "x") == \
        f"ERR unknown command '{'b' * 128}', with args beginning with: 'x' "
    assert err(c, "foo", "a" * 200) == \
        f"ERR unknown command 'foo', with args beginning with: '{'a' * 128}' "
    assert err(c, "foo", "a" * 126, "b", "c") == \
        f"ERR unknown command 'foo', with args beginning with: '{'a' * 126}' "
    assert err(c, "foo", "a" * 124, "bcd", "e") == \
        f"ERR unknown command 'foo', with args beginning with: '{'a' * 124}' 'b' "
    assert err(c, "foo", *(["abcdefghij"] * 20)) == \
        "ERR unknown command 'foo', with args beginning with: " + "'abcdefghij' " * 10
    # Internal commands are unknown to clients.
    assert err(c, "__expire", "k") == \
        "ERR unknown command '__expire', with args beginning with: 'k' "


# ---------------------------------------------------------------------------
# Replication: KEYS, SCAN and RANDOMKEY answer in a replicated order
#
# A script runs on every node from the log and may write what it read. A
# follower that installed a snapshot rebuilt its databases, so a reply in
# hash-table order (bucket layout, chain order, rehash progress) would
# differ there and the replicas would diverge. Each test records one
# command's replies from a script on every node, the restored follower
# included, and requires the replicas to converge.

SNAPSHOT_OFTEN = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]

RECORD_KEYS = """
redis.call('RPUSH', KEYS[1], unpack(redis.call('KEYS', 'k*')))
return redis.call('LLEN', KEYS[1])
"""

RECORD_SCAN = """
local out = {}
local cursor = '0'
for i = 1, 8 do
    local r = redis.call('SCAN', cursor, 'COUNT', 15)
    cursor = r[1]
    for _, k in ipairs(r[2]) do table.insert(out, k) end
end
cursor = '0'
for i = 1, 4 do
    local r = redis.call('SCAN', cursor, 'MATCH', 'k1*', 'TYPE', 'string', 'COUNT', 40)
    cursor = r[1]
    for _, k in ipairs(r[2]) do table.insert(out, k) end
end
redis.call('RPUSH', KEYS[1], unpack(out))
return #out
"""

RECORD_RANDOMKEY = """
local out = {}
for i = 1, 30 do table.insert(out, redis.call('RANDOMKEY')) end
redis.call('RPUSH', KEYS[1], unpack(out))
return #out
"""


def keyspace_workload(clients):
    """Keys created, deleted, renamed, moved, given and relieved of TTLs,
    one command per log entry, so that the log gets compacted."""
    n = len(clients)
    for i in range(300):
        clients[i % n].execute_command("SET", f"k{i}", i)
    for i in range(0, 300, 7):
        clients[i % n].execute_command("DEL", f"k{i}")
    for i in range(1, 300, 11):
        clients[i % n].execute_command("EXPIRE", f"k{i}", 1000 + i)
    for i in range(1, 300, 33):
        clients[i % n].execute_command("PERSIST", f"k{i}")
    for i in range(2, 300, 13):
        if i % 7:  # not deleted above
            clients[i % n].execute_command("RENAME", f"k{i}", f"k{i}r")
    for i in range(3, 300, 17):
        clients[i % n].execute_command("MOVE", f"k{i}", 1)
    clients[0].execute_command("SET", "gone", "v", "PX", 1)
    clients[0].execute_command("RPUSH", "klist", "a", "b")


@pytest.mark.parametrize("script", [RECORD_KEYS, RECORD_SCAN, RECORD_RANDOMKEY],
                         ids=["KEYS", "SCAN", "RANDOMKEY"])
def test_replies_are_the_same_on_a_follower_restored_from_snapshot(make_cluster, script):
    cluster = make_cluster(extra=SNAPSHOT_OFTEN).start()
    follower = cluster.followers()[0]
    follower.kill()
    live = [exact_client(n) for n in cluster.nodes if n is not follower]
    keyspace_workload(live)
    follower.start()
    cluster.wait_converged(30)
    assert "Loaded a snapshot" in follower.log_text()  # installed from the leader
    clients = [exact_client(n) for n in cluster.nodes]
    for r in range(3):
        # Every node runs every script; send them through each node anyway.
        assert clients[r].execute_command("EVAL", script, 1, f"rec{r}") > 20
        clients[(r + 1) % 3].execute_command("SET", f"k{r}new", r)
        clients[(r + 2) % 3].execute_command("DEL", f"k{r * 10 + 1}")
    cluster.wait_converged(30)
    for c in live + clients:
        c.connection_pool.disconnect()
