"""String commands against a real parley-server, checked against Redis 7.0.

Every expected value here (replies, error texts, encodings, INCRBYFLOAT's
formatting) was obtained by running the same commands on redis-server 7.0.15
and is hard-coded: these tests need no redis-server to run.

The `c` client (exact.py) shows replies as the server sent them: no redis-py
response callbacks ("OK", not True) and error replies with their "ERR "
prefix, which redis-py would otherwise strip.

WRONGTYPE is not tested yet: strings are the only type Parley stores so far.
Limits on string size use a node started with a small proto-max-bulk-len.
"""
import random

import pytest
import redis

from conftest import wait_until
from exact import err, exact_client


@pytest.fixture
def c(r, server):
    """A client on the flushed shared node whose replies are left raw."""
    client = exact_client(server)
    yield client
    client.connection_pool.disconnect()


@pytest.fixture
def cb(r, server):
    """The same, with bytes replies, for binary values."""
    client = exact_client(server, decode=False)
    yield client
    client.connection_pool.disconnect()


def invalid_expire(cmd):
    return f"ERR invalid expire time in '{cmd}' command"


SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


# ---------------------------------------------------------------------------
# GET / SET


def test_get_missing_and_set_get(c):
    assert c.execute_command("GET", "nokey") is None
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("GET", "k") == "v"
    assert c.execute_command("SET", "k", "w") == "OK"
    assert c.execute_command("GET", "k") == "w"


def test_set_expire_options_set_the_ttl(c):
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("SET", "k", "v", "PX", 100000) == "OK"
    assert 95000 <= c.execute_command("PTTL", "k") <= 100000
    assert c.execute_command("SET", "k", "v", "EXAT", 4102444800) == "OK"
    assert c.execute_command("EXPIRETIME", "k") == 4102444800
    assert c.execute_command("SET", "k", "v", "PXAT", 4102444800123) == "OK"
    assert c.execute_command("PEXPIRETIME", "k") == 4102444800123
    assert c.execute_command("GET", "k") == "v"
    # Option names are case-insensitive.
    assert c.execute_command("SET", "k", "v", "Ex", 50) == "OK"
    assert 45 <= c.execute_command("TTL", "k") <= 50


def test_set_repeated_expire_option_uses_the_last(c):
    # Redis accepts the same unit twice (but not two different units).
    assert c.execute_command("SET", "k", "v", "EX", 10, "EX", 200) == "OK"
    assert 195 <= c.execute_command("TTL", "k") <= 200
    assert c.execute_command("SET", "k", "v", "PX", 1000, "PX", 200000) == "OK"
    assert 195000 <= c.execute_command("PTTL", "k") <= 200000
    assert c.execute_command("SET", "k", "v", "EXAT", 4102444800, "EXAT", 4102444801) == "OK"
    assert c.execute_command("EXPIRETIME", "k") == 4102444801
    assert c.execute_command("SET", "k", "v", "PXAT", 4102444800000, "PXAT", 4102444801000) == "OK"
    assert c.execute_command("PEXPIRETIME", "k") == 4102444801000
    # Only the last value is parsed.
    assert c.execute_command("SET", "k", "v", "EX", "abc", "EX", 300) == "OK"
    assert 295 <= c.execute_command("TTL", "k") <= 300


def test_set_invalid_expire_times(c):
    for args in (("EX", 0), ("EX", -1), ("PX", 0), ("PX", -5), ("EXAT", 0), ("PXAT", -5),
                 ("EX", LLONG_MAX), ("EX", 9223372036854776), ("EX", 9223372036854775),
                 ("PX", LLONG_MAX), ("EXAT", LLONG_MAX)):
        assert err(c, "SET", "k", "v", *args) == invalid_expire("set"), args
    assert err(c, "SET", "k", "v", "EX", LLONG_MAX, "NX") == invalid_expire("set")
    assert err(c, "SET", "k", "v", "EX", "abc") == NOT_INT
    assert err(c, "SET", "k", "v", "EX", "1.5") == NOT_INT
    assert err(c, "SET", "k", "v", "PX", "") == NOT_INT
    assert c.execute_command("EXISTS", "k") == 0
    # PXAT takes the largest time there is.
    assert c.execute_command("SET", "k", "v", "PXAT", LLONG_MAX) == "OK"
    assert c.execute_command("PEXPIRETIME", "k") == LLONG_MAX


def test_setex_psetex_invalid_expire_names_their_command(c):
    assert err(c, "SETEX", "k", 0, "v") == invalid_expire("setex")
    assert err(c, "SETEX", "k", -1, "v") == invalid_expire("setex")
    assert err(c, "SETEX", "k", LLONG_MAX, "v") == invalid_expire("setex")
    assert err(c, "SETEX", "k", 9223372036854775, "v") == invalid_expire("setex")
    assert err(c, "SETEX", "k", "abc", "v") == NOT_INT
    assert err(c, "PSETEX", "k", 0, "v") == invalid_expire("psetex")
    assert err(c, "PSETEX", "k", -10, "v") == invalid_expire("psetex")
    assert err(c, "PSETEX", "k", LLONG_MAX, "v") == invalid_expire("psetex")
    assert c.execute_command("EXISTS", "k") == 0


def test_set_syntax_errors(c):
    for opts in (("NX", "XX"), ("XX", "NX"), ("EX", 10, "PX", 100), ("EX", 10, "KEEPTTL"),
                 ("KEEPTTL", "EX", 10), ("PX", 10, "EXAT", 1), ("EX",), ("PX",), ("FOO",),
                 ("EX", 10, "EX"), ("PERSIST",), ("PX", 10, "EX", 10)):
        assert err(c, "SET", "k", "v", *opts) == SYNTAX, opts
    assert c.execute_command("EXISTS", "k") == 0
    # Repeating a flag is not an error.
    assert c.execute_command("SET", "k", "v", "KEEPTTL", "KEEPTTL") == "OK"
    assert c.execute_command("SET", "k", "w", "GET", "GET") == "v"


def test_set_nx_xx(c):
    assert c.execute_command("SET", "k", "v", "NX") == "OK"
    assert c.execute_command("SET", "k", "w", "NX") is None
    assert c.execute_command("GET", "k") == "v"
    assert c.execute_command("SET", "k", "x", "XX") == "OK"
    assert c.execute_command("GET", "k") == "x"
    assert c.execute_command("SET", "j", "x", "XX") is None
    assert c.execute_command("EXISTS", "j") == 0
    assert c.execute_command("SET", "k", "v", "NX", "NX") is None


def test_set_get_option(c):
    assert c.execute_command("SET", "k", "v", "GET") is None
    assert c.execute_command("GET", "k") == "v"
    assert c.execute_command("SET", "k", "w", "GET") == "v"
    # With NX the old value is returned and nothing is written.
    assert c.execute_command("SET", "k", "x", "NX", "GET") == "w"
    assert c.execute_command("GET", "k") == "w"
    # With XX on a missing key: nil and nothing written.
    assert c.execute_command("SET", "j", "x", "XX", "GET") is None
    assert c.execute_command("EXISTS", "j") == 0
    assert c.execute_command("SET", "j", "y", "NX", "GET") is None
    assert c.execute_command("GET", "j") == "y"
    assert c.execute_command("SET", "k", "z", "get", "xx") == "w"
    assert c.execute_command("GET", "k") == "z"


def test_set_without_keepttl_clears_ttl(c):
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("SET", "k", "w", "KEEPTTL") == "OK"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("GET", "k") == "w"
    assert c.execute_command("SET", "k", "x") == "OK"
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("SET", "k", "y", "GET") == "v"
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("SET", "k", "w", "XX") == "OK"
    assert c.execute_command("TTL", "k") == -1
    # SET NX that does nothing leaves the TTL alone.
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("SET", "k", "w", "NX") is None
    assert 95 <= c.execute_command("TTL", "k") <= 100


def test_set_with_absolute_time_in_the_past_hides_key(c):
    assert c.execute_command("SET", "k", "old") == "OK"
    assert c.execute_command("SET", "k", "v", "EXAT", 1, "GET") == "old"
    assert c.execute_command("GET", "k") is None
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("SET", "k", "v", "PXAT", 1000) == "OK"
    assert c.execute_command("TTL", "k") == -2


def test_set_px_key_disappears_and_leader_deletes_it(c):
    assert c.execute_command("SET", "gone", "v", "PX", 100) == "OK"
    assert c.execute_command("SET", "stays", "v") == "OK"
    assert c.execute_command("GET", "gone") == "v"
    wait_until(lambda: c.execute_command("GET", "gone") is None, 5, message="GET nil after PX 100")
    assert c.execute_command("EXISTS", "gone") == 0
    assert c.execute_command("TTL", "gone") == -2
    # Hidden is not enough: the leader's expiry cycle proposes the deletion.
    wait_until(lambda: c.execute_command("DBSIZE") == 1, 10, message="DBSIZE to drop to 1")
    assert c.execute_command("KEYS", "*") == ["stays"]


# ---------------------------------------------------------------------------
# SETNX / SETEX / PSETEX / GETSET / GETDEL / GETEX


def test_setnx(c):
    assert c.execute_command("SETNX", "k", "v") == 1
    assert c.execute_command("SETNX", "k", "w") == 0
    assert c.execute_command("GET", "k") == "v"


def test_setex_psetex(c):
    assert c.execute_command("SETEX", "k", 100, "v") == "OK"
    assert c.execute_command("GET", "k") == "v"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("PSETEX", "p", 100000, "w") == "OK"
    assert c.execute_command("GET", "p") == "w"
    assert 95000 <= c.execute_command("PTTL", "p") <= 100000
    # SETEX replaces an existing value and TTL.
    assert c.execute_command("SETEX", "p", 500, "x") == "OK"
    assert 495 <= c.execute_command("TTL", "p") <= 500


def test_getset(c):
    assert c.execute_command("GETSET", "k", "v") is None
    assert c.execute_command("GETSET", "k", "w") == "v"
    assert c.execute_command("GET", "k") == "w"
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("GETSET", "k", "z") == "v"
    assert c.execute_command("TTL", "k") == -1


def test_getdel(c):
    assert c.execute_command("GETDEL", "k") is None
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("GETDEL", "k") == "v"
    assert c.execute_command("GET", "k") is None
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("TTL", "k") == -2


def test_getex_options(c):
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("GETEX", "k") == "v"
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("GETEX", "k", "EX", 100) == "v"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    # Without options GETEX leaves the TTL alone.
    assert c.execute_command("GETEX", "k") == "v"
    assert 95 <= c.execute_command("TTL", "k") <= 100
    assert c.execute_command("GETEX", "k", "PX", 50000) == "v"
    assert 45000 <= c.execute_command("PTTL", "k") <= 50000
    assert c.execute_command("GETEX", "k", "PERSIST") == "v"
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("GETEX", "k", "EXAT", 4102444800) == "v"
    assert c.execute_command("EXPIRETIME", "k") == 4102444800
    assert c.execute_command("GETEX", "k", "PXAT", 4102444800123) == "v"
    assert c.execute_command("PEXPIRETIME", "k") == 4102444800123
    assert c.execute_command("GETEX", "k", "persist", "persist") == "v"
    assert c.execute_command("TTL", "k") == -1
    assert c.execute_command("GETEX", "k", "EX", 10, "EX", 200) == "v"
    assert 195 <= c.execute_command("TTL", "k") <= 200
    assert c.execute_command("GETEX", "k", "PXAT", LLONG_MAX) == "v"
    assert c.execute_command("PEXPIRETIME", "k") == LLONG_MAX


def test_getex_past_time_deletes_key(c):
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("GETEX", "k", "EXAT", 1) == "v"
    assert c.execute_command("GET", "k") is None
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("SET", "k", "v") == "OK"
    assert c.execute_command("GETEX", "k", "PXAT", 1) == "v"
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("DBSIZE") == 0


def test_getex_errors(c):
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    for opts in (("FOO",), ("EX",), ("EX", 10, "PX", 10), ("PERSIST", "EX", 10),
                 ("EX", 10, "PERSIST"), ("KEEPTTL",), ("NX",), ("XX",), ("GET",),
                 ("EX", 10, "EXAT", 4102444800)):
        assert err(c, "GETEX", "k", *opts) == SYNTAX, opts
    for opts in (("EX", 0), ("EX", -1), ("PX", 0), ("PXAT", 0), ("EXAT", -1),
                 ("EX", LLONG_MAX), ("EX", 9223372036854775), ("PX", LLONG_MAX),
                 ("EXAT", LLONG_MAX)):
        assert err(c, "GETEX", "k", *opts) == invalid_expire("getex"), opts
    assert err(c, "GETEX", "k", "EX", "abc") == NOT_INT
    # Nothing changed.
    assert c.execute_command("GET", "k") == "v"
    assert 95 <= c.execute_command("TTL", "k") <= 100


def test_getex_missing_key_is_nil_before_the_time_is_checked(c):
    # Redis 7.0 parses the options, then looks the key up, and only then
    # validates the time: a missing key answers nil even for a bad time.
    assert c.execute_command("GETEX", "nokey", "EX", 10) is None
    assert c.execute_command("GETEX", "nokey", "PERSIST") is None
    assert c.execute_command("GETEX", "nokey", "EX", 0) is None
    assert c.execute_command("GETEX", "nokey", "EX", "abc") is None
    assert c.execute_command("GETEX", "nokey", "PX", -1) is None
    assert c.execute_command("GETEX", "nokey", "EX", LLONG_MAX) is None
    # Syntax is still checked first.
    assert err(c, "GETEX", "nokey", "FOO") == SYNTAX
    assert err(c, "GETEX", "nokey", "EX", 10, "PX", 10) == SYNTAX
    assert c.execute_command("EXISTS", "nokey") == 0


# ---------------------------------------------------------------------------
# MGET / MSET / MSETNX


def test_mget_mset(c):
    assert c.execute_command("MGET", "a") == [None]
    assert c.execute_command("MSET", "a", "1", "b", "2") == "OK"
    assert c.execute_command("MGET", "a", "b", "c", "a") == ["1", "2", None, "1"]
    # Later pairs win.
    assert c.execute_command("MSET", "a", "x", "a", "y") == "OK"
    assert c.execute_command("GET", "a") == "y"


def test_mset_odd_arguments(c):
    assert err(c, "MSET", "a") == "ERR wrong number of arguments for 'mset' command"
    assert err(c, "MSET", "a", "1", "b") == "ERR wrong number of arguments for 'mset' command"
    assert err(c, "MSET", "a", "1", "b", "2", "c") == "ERR wrong number of arguments for 'mset' command"
    assert err(c, "MSETNX", "a", "1", "b") == "ERR wrong number of arguments for 'msetnx' command"
    assert err(c, "MSETNX", "a") == "ERR wrong number of arguments for 'msetnx' command"
    assert c.execute_command("DBSIZE") == 0


def test_mset_clears_ttl(c):
    assert c.execute_command("SET", "k", "v", "EX", 100) == "OK"
    assert c.execute_command("MSET", "k", "w") == "OK"
    assert c.execute_command("TTL", "k") == -1


def test_msetnx_all_or_nothing(c):
    assert c.execute_command("MSETNX", "a", "1", "b", "2") == 1
    assert c.execute_command("MSETNX", "b", "3", "c", "4") == 0
    assert c.execute_command("MGET", "a", "b", "c") == ["1", "2", None]
    # The same new key twice: the last value wins.
    assert c.execute_command("MSETNX", "c", "5", "c", "6") == 1
    assert c.execute_command("GET", "c") == "6"
    assert c.execute_command("SET", "t", "v", "EX", 100) == "OK"
    assert c.execute_command("MSETNX", "t", "w", "z", "1") == 0
    assert c.execute_command("GET", "t") == "v"
    assert 95 <= c.execute_command("TTL", "t") <= 100
    assert c.execute_command("EXISTS", "z") == 0


# ---------------------------------------------------------------------------
# Counters


def test_incr_decr_family(c):
    assert c.execute_command("INCR", "k") == 1
    assert c.execute_command("INCR", "k") == 2
    assert c.execute_command("DECR", "k") == 1
    assert c.execute_command("DECR", "nokey") == -1
    assert c.execute_command("INCRBY", "k", 10) == 11
    assert c.execute_command("INCRBY", "k", -20) == -9
    assert c.execute_command("DECRBY", "k", 5) == -14
    assert c.execute_command("DECRBY", "k", -5) == -9
    assert c.execute_command("GET", "k") == "-9"


def test_counter_argument_errors(c):
    assert c.execute_command("SET", "k", "10") == "OK"
    for args in (("INCRBY", "k", "abc"), ("INCRBY", "k", "1.5"), ("INCRBY", "k", ""),
                 ("INCRBY", "k", "9223372036854775808"), ("DECRBY", "k", "abc"),
                 ("DECRBY", "k", "9223372036854775808"), ("DECRBY", "k", " 1")):
        assert err(c, *args) == NOT_INT, args
    assert c.execute_command("GET", "k") == "10"


def test_counters_reject_values_that_are_not_canonical_integers(c):
    for value in ("abc", " 1", "1 ", "01", "+1", "1.0", "-0", "99999999999999999999", "", "0x10"):
        assert c.execute_command("SET", "k", value) == "OK"
        assert err(c, "INCR", "k") == NOT_INT, value
        assert err(c, "DECRBY", "k", 1) == NOT_INT, value
        assert c.execute_command("GET", "k") == value


def test_counter_overflow(c):
    assert c.execute_command("SET", "k", LLONG_MAX) == "OK"
    assert err(c, "INCR", "k") == OVERFLOW
    assert err(c, "INCRBY", "k", 1) == OVERFLOW
    assert c.execute_command("INCRBY", "k", 0) == LLONG_MAX
    assert c.execute_command("SET", "k", LLONG_MIN) == "OK"
    assert err(c, "DECR", "k") == OVERFLOW
    assert err(c, "DECRBY", "k", 1) == OVERFLOW
    assert err(c, "INCRBY", "k", -1) == OVERFLOW
    assert c.execute_command("GET", "k") == str(LLONG_MIN)
    assert c.execute_command("DECRBY", "k", -LLONG_MAX) == -1
    assert c.execute_command("SET", "n", -10) == "OK"
    assert err(c, "INCRBY", "n", LLONG_MIN) == OVERFLOW
    assert c.execute_command("DECRBY", "m", LLONG_MAX) == -LLONG_MAX
    assert err(c, "DECRBY", "m", 2) == OVERFLOW
    assert c.execute_command("GET", "m") == str(-LLONG_MAX)


def test_decrby_llong_min(c):
    # -LLONG_MIN does not exist: Redis has a message of its own for it.
    assert err(c, "DECRBY", "k", LLONG_MIN) == "ERR decrement would overflow"
    assert c.execute_command("EXISTS", "k") == 0
    assert c.execute_command("SET", "k", "-1") == "OK"
    assert err(c, "DECRBY", "k", LLONG_MIN) == "ERR decrement would overflow"
    assert c.execute_command("GET", "k") == "-1"


def test_counters_keep_the_ttl(c):
    assert c.execute_command("SET", "k", "5", "EX", 100) == "OK"
    assert c.execute_command("INCR", "k") == 6
    assert c.execute_command("INCRBY", "k", 5) == 11
    assert c.execute_command("DECR", "k") == 10
    assert c.execute_command("INCRBYFLOAT", "k", "1.5") == "11.5"
    assert 95 <= c.execute_command("TTL", "k") <= 100


def test_incrbyfloat_formatting(c):
    assert c.execute_command("INCRBYFLOAT", "k", "10.5") == "10.5"
    assert c.execute_command("INCRBYFLOAT", "k", "0.1") == "10.6"
    assert c.execute_command("GET", "k") == "10.6"
    assert c.execute_command("INCRBYFLOAT", "k", "-5") == "5.6"
    # Long double arithmetic, printed with 17 digits after the point and
    # trailing zeros removed: what Redis prints.
    assert c.execute_command("INCRBYFLOAT", "k", "5.0e3") == "5005.60000000000000009"
    assert c.execute_command("INCRBYFLOAT", "k", "1e-3") == "5005.60099999999999998"
    assert c.execute_command("INCRBYFLOAT", "j", "3.0") == "3"
    assert c.execute_command("INCRBYFLOAT", "j", "3") == "6"
    assert c.execute_command("INCRBYFLOAT", "j", "-6") == "0"
    assert c.execute_command("INCRBYFLOAT", "j", "-0.0") == "0"
    assert c.execute_command("GET", "j") == "0"
    steps = [("1.1", "1.1"), ("-2.1", "-1"), ("2.0e-1", "-0.8"), ("1e2", "99.2"), ("+1", "100.2"),
             (".5", "100.7"), ("5.", "105.7"), ("0e0", "105.7"), ("-.0", "105.7")]
    for incr, want in steps:
        assert c.execute_command("INCRBYFLOAT", "f", incr) == want, incr


def test_incrbyfloat_on_existing_values(c):
    cases = [("0.1", "0.2", "0.3"), ("1.1", "2.2", "3.3"), ("3", "-3.0000", "0"),
             ("-1", "-0.5", "-1.5"), ("1.0e1", "0", "10"), ("10.6", "-10.6", "0"),
             ("5e3", "0", "5000"), ("3.0e3", "200", "3200"), ("10.50", "0", "10.5"),
             ("17179869184", "1.5", "17179869185.5"), ("1.5", "1", "2.5")]
    for start, incr, want in cases:
        assert c.execute_command("SET", "k", start) == "OK"
        assert c.execute_command("INCRBYFLOAT", "k", incr) == want, (start, incr)
        assert c.execute_command("GET", "k") == want


# Redis prints long doubles with "%.17Lf": no exponent, every digit.
E400 = (
    "10000000000000000000281880683947586514586453433629052038625910693539685534008629"
    "86203936399484832416052209405392731761620029582277725925573402382897659334066101"
    "77974474345461739178624481166749717237789438243915933380474706750262466844013592"
    "37513603830343735485505244955964979021825038280091068414947402456898653040951017"
    "51265809261582758892018347251164331659136266413817630973480634373249743022194688"
    "0"
)
TWO_E308 = (
    "19999999999999999999337175931169129132112019969483113441559409598984346973767612"
    "37442002538437770786408934944501080264463042694991879211671948416288603928375359"
    "18200039206381557326219209014213335878306791577877829121087126122536729803237260"
    "434173178506889763247582601711514636284849020905456510092687857156096"
)


def test_incrbyfloat_huge_results_are_printed_in_full(c):
    assert c.execute_command("INCRBYFLOAT", "k", "1e400") == E400
    assert c.execute_command("GET", "k") == E400
    assert c.execute_command("OBJECT", "ENCODING", "k") == "raw"
    assert c.execute_command("SET", "k", "1e308") == "OK"
    assert c.execute_command("INCRBYFLOAT", "k", "1e308") == TWO_E308
    assert c.execute_command("INCRBYFLOAT", "g", "1e50") == \
        "100000000000000000003583830118858923890798487404544"
    assert c.execute_command("INCRBYFLOAT", "z", "1e-20") == "0"
    assert c.execute_command("INCRBYFLOAT", "z", "0.00000000000000001") == "0.00000000000000001"


def test_incrbyfloat_errors(c):
    assert err(c, "INCRBYFLOAT", "k", "nan") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "abc") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", " 1") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "1 ") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "1e") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "1_0") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "1e5000") == NOT_FLOAT
    assert err(c, "INCRBYFLOAT", "k", "inf") == "ERR increment would produce NaN or Infinity"
    assert err(c, "INCRBYFLOAT", "k", "-inf") == "ERR increment would produce NaN or Infinity"
    assert c.execute_command("EXISTS", "k") == 0
    for value in ("abc", " 1", "1.5 ", ""):
        assert c.execute_command("SET", "k", value) == "OK"
        assert err(c, "INCRBYFLOAT", "k", "1") == NOT_FLOAT, value
        assert c.execute_command("GET", "k") == value
    # An overflow to infinity is refused and the value kept.
    assert c.execute_command("SET", "m", "1.18973149535723176502e+4932") == "OK"
    assert err(c, "INCRBYFLOAT", "m", "1.18973149535723176502e+4932") == \
        "ERR increment would produce NaN or Infinity"
    assert c.execute_command("GET", "m") == "1.18973149535723176502e+4932"


# ---------------------------------------------------------------------------
# APPEND / STRLEN / GETRANGE / SETRANGE


def test_append_strlen(c):
    assert c.execute_command("APPEND", "k", "hello") == 5
    assert c.execute_command("APPEND", "k", " world") == 11
    assert c.execute_command("GET", "k") == "hello world"
    assert c.execute_command("STRLEN", "k") == 11
    assert c.execute_command("STRLEN", "nokey") == 0
    assert c.execute_command("APPEND", "k", "") == 11
    # APPEND of nothing still creates the key.
    assert c.execute_command("APPEND", "e", "") == 0
    assert c.execute_command("EXISTS", "e") == 1
    assert c.execute_command("GET", "e") == ""
    assert c.execute_command("SET", "n", "12345") == "OK"
    assert c.execute_command("STRLEN", "n") == 5
    assert c.execute_command("APPEND", "n", "6") == 6
    assert c.execute_command("GET", "n") == "123456"
    assert c.execute_command("SET", "t", "v", "EX", 100) == "OK"
    assert c.execute_command("APPEND", "t", "w") == 2
    assert 95 <= c.execute_command("TTL", "t") <= 100


def test_getrange(c):
    assert c.execute_command("SET", "k", "Hello World") == "OK"
    cases = [(0, 3, "Hell"), (-3, -1, "rld"), (0, -1, "Hello World"), (10, 100, "d"),
             (5, 3, ""), (-1, -5, ""), (-100, -50, "H"), (-100, 2, "Hel"), (0, -100, "H"),
             (11, 20, ""), (100, 200, ""), (-1, -1, "d"), (LLONG_MAX, LLONG_MAX, ""),
             (LLONG_MIN, LLONG_MIN, "H"), (LLONG_MIN, LLONG_MAX, "Hello World")]
    for start, end, want in cases:
        assert c.execute_command("GETRANGE", "k", start, end) == want, (start, end)
        assert c.execute_command("SUBSTR", "k", start, end) == want, (start, end)
    assert c.execute_command("GETRANGE", "nokey", 0, -1) == ""
    assert err(c, "GETRANGE", "k", "a", 1) == NOT_INT
    assert err(c, "GETRANGE", "k", 0, "b") == NOT_INT
    # An integer-encoded value is ranged over its digits.
    assert c.execute_command("SET", "n", "1234") == "OK"
    assert c.execute_command("GETRANGE", "n", 1, 2) == "23"
    assert c.execute_command("GETRANGE", "n", -2, -1) == "34"
    assert c.execute_command("SET", "e", "") == "OK"
    for start, end in ((0, -1), (0, 0), (-1, -1)):
        assert c.execute_command("GETRANGE", "e", start, end) == ""


def test_setrange(c):
    assert c.execute_command("SETRANGE", "k", 0, "abc") == 3
    # Writing past the end pads with zero bytes.
    assert c.execute_command("SETRANGE", "k", 5, "xy") == 7
    assert c.execute_command("GET", "k") == "abc\x00\x00xy"
    assert c.execute_command("STRLEN", "k") == 7
    assert c.execute_command("SETRANGE", "k", 0, "Z") == 7
    assert c.execute_command("GET", "k") == "Zbc\x00\x00xy"
    assert c.execute_command("SETRANGE", "n", 3, "z") == 4
    assert c.execute_command("GET", "n") == "\x00\x00\x00z"
    assert c.execute_command("SET", "i", "12345") == "OK"
    assert c.execute_command("SETRANGE", "i", 1, "x") == 5
    assert c.execute_command("GET", "i") == "1x345"
    assert c.execute_command("SET", "t", "v", "EX", 100) == "OK"
    assert c.execute_command("SETRANGE", "t", 1, "w") == 2
    assert 95 <= c.execute_command("TTL", "t") <= 100


def test_setrange_empty_value(c):
    # On a missing key an empty value creates nothing, at any offset.
    assert c.execute_command("SETRANGE", "m", 10, "") == 0
    assert c.execute_command("SETRANGE", "m", LLONG_MAX, "") == 0
    assert c.execute_command("SETRANGE", "m", 536870912, "") == 0
    assert c.execute_command("EXISTS", "m") == 0
    # On an existing key it answers the length and changes nothing.
    assert c.execute_command("SET", "k", "abc") == "OK"
    assert c.execute_command("SETRANGE", "k", 100, "") == 3
    assert c.execute_command("SETRANGE", "k", LLONG_MAX, "") == 3
    assert c.execute_command("GET", "k") == "abc"
    assert c.execute_command("SET", "e", "") == "OK"
    assert c.execute_command("SETRANGE", "e", 2, "") == 0
    assert c.execute_command("GET", "e") == ""


def test_setrange_offset_errors(c):
    assert err(c, "SETRANGE", "m", -1, "a") == "ERR offset is out of range"
    assert err(c, "SETRANGE", "m", -1, "") == "ERR offset is out of range"
    assert err(c, "SETRANGE", "m", "abc", "a") == NOT_INT
    assert c.execute_command("SET", "k", "abc") == "OK"
    assert err(c, "SETRANGE", "k", -1, "") == "ERR offset is out of range"
    assert c.execute_command("GET", "k") == "abc"
    assert c.execute_command("EXISTS", "m") == 0


def test_setrange_beyond_proto_max_bulk_len_is_refused(c):
    # The default proto-max-bulk-len is 512mb: offset + length over it is
    # refused without allocating anything, and the connection still works.
    assert err(c, "SETRANGE", "k", 536870912, "a") == TOO_BIG
    assert err(c, "SETRANGE", "m", 536870913, "a") == TOO_BIG
    assert c.execute_command("SET", "k", "abc") == "OK"
    assert err(c, "SETRANGE", "k", LLONG_MAX, "a") == TOO_BIG
    assert err(c, "SETRANGE", "k", 536870912, "a") == TOO_BIG
    assert c.execute_command("GET", "k") == "abc"
    assert c.execute_command("EXISTS", "m") == 0


def test_proto_max_bulk_len_limits_append_and_setrange(make_node):
    node = make_node(extra=["--proto-max-bulk-len", "1mb"]).start()
    client = exact_client(node)
    wait_until(lambda: client.execute_command("SET", "__ready", "1"), 10, message="a writable node")
    mb = 1024 * 1024
    assert client.execute_command("SET", "k", "a" * (mb - 2)) == "OK"
    assert err(client, "APPEND", "k", "abc") == TOO_BIG
    assert client.execute_command("APPEND", "k", "ab") == mb
    assert err(client, "APPEND", "k", "a") == TOO_BIG
    assert err(client, "SETRANGE", "k", mb - 1, "ab") == TOO_BIG
    assert client.execute_command("SETRANGE", "k", mb - 1, "b") == mb
    assert err(client, "SETRANGE", "n", mb, "a") == TOO_BIG
    assert client.execute_command("EXISTS", "n") == 0
    assert client.execute_command("STRLEN", "k") == mb
    client.connection_pool.disconnect()


# ---------------------------------------------------------------------------
# Binary safety and size


def test_binary_safe_keys_and_values(cb):
    key, value = b"a\x00b", b"x\r\ny\x00z"
    assert cb.execute_command("SET", key, value) == b"OK"
    assert cb.execute_command("GET", key) == value
    assert cb.execute_command("GET", b"a") is None
    assert cb.execute_command("STRLEN", key) == 6
    assert cb.execute_command("EXISTS", key, b"a") == 1
    assert cb.execute_command("APPEND", key, b"\x00") == 7
    assert cb.execute_command("GETRANGE", key, 1, 3) == b"\r\ny"
    assert cb.execute_command("MSET", b"\x00", b"\x00", b"\x01", b"\xff\r\n") == b"OK"
    assert cb.execute_command("MGET", b"\x00", b"\x01", key) == [b"\x00", b"\xff\r\n", value + b"\x00"]
    assert cb.execute_command("SETRANGE", b"\x00", 3, b"\x00\r\n") == 6
    assert cb.execute_command("GET", b"\x00") == b"\x00\x00\x00\x00\r\n"
    assert cb.execute_command("GETSET", key, b"$-1\r\n") == value + b"\x00"
    assert cb.execute_command("GET", key) == b"$-1\r\n"
    every_byte = bytes(range(256))
    assert cb.execute_command("SET", every_byte, every_byte) == b"OK"
    assert cb.execute_command("GET", every_byte) == every_byte


def test_large_value(cb):
    value = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    assert cb.execute_command("SET", "big", value) == b"OK"
    assert cb.execute_command("STRLEN", "big") == 5 * 1024 * 1024
    assert cb.execute_command("GET", "big") == value
    assert cb.execute_command("APPEND", "big", b"xyz") == 5 * 1024 * 1024 + 3
    assert cb.execute_command("GETRANGE", "big", -3, -1) == b"xyz"
    assert cb.execute_command("SETRANGE", "big", 10, b"\x00\r\n") == 5 * 1024 * 1024 + 3
    assert cb.execute_command("GETRANGE", "big", 8, 14) == b"\x08\t\x00\r\n\r\x0e"
    assert cb.execute_command("GET", "big") == value[:10] + b"\x00\r\n" + value[13:] + b"xyz"


# ---------------------------------------------------------------------------
# OBJECT ENCODING of strings


def test_object_encoding_of_set_values(c):
    cases = [("123", "int"), ("-1", "int"), ("0", "int"), (str(LLONG_MAX), "int"),
             (str(LLONG_MIN), "int"), ("9223372036854775808", "embstr"),
             ("12345678901234567890", "embstr"), ("01", "embstr"), ("+1", "embstr"),
             ("1.5", "embstr"), ("", "embstr"), ("a" * 44, "embstr"), ("a" * 45, "raw")]
    for value, enc in cases:
        assert c.execute_command("SET", "k", value) == "OK"
        assert c.execute_command("OBJECT", "ENCODING", "k") == enc, value
    assert c.execute_command("OBJECT", "ENCODING", "nokey") is None


def test_object_encoding_after_modifications(c):
    # APPEND and SETRANGE make a string raw; INCR makes it an int again.
    assert c.execute_command("APPEND", "n", "123") == 3
    assert c.execute_command("OBJECT", "ENCODING", "n") == "int"
    assert c.execute_command("APPEND", "n", "4") == 4
    assert c.execute_command("OBJECT", "ENCODING", "n") == "raw"
    assert c.execute_command("INCR", "n") == 1235
    assert c.execute_command("OBJECT", "ENCODING", "n") == "int"
    assert c.execute_command("SET", "k", "1") == "OK"
    assert c.execute_command("APPEND", "k", "") == 1
    assert c.execute_command("OBJECT", "ENCODING", "k") == "raw"
    assert c.execute_command("SET", "k", "abc") == "OK"
    assert c.execute_command("SETRANGE", "k", 0, "1") == 3
    assert c.execute_command("OBJECT", "ENCODING", "k") == "raw"
    # SETRANGE or APPEND that writes nothing leaves the encoding alone.
    assert c.execute_command("SET", "k", "abc") == "OK"
    assert c.execute_command("SETRANGE", "k", 1, "") == 3
    assert c.execute_command("OBJECT", "ENCODING", "k") == "embstr"
    assert c.execute_command("APPEND", "e", "") == 0
    assert c.execute_command("OBJECT", "ENCODING", "e") == "embstr"
    assert c.execute_command("SETRANGE", "q", 0, "1") == 1
    assert c.execute_command("OBJECT", "ENCODING", "q") == "raw"
    assert c.execute_command("SET", "k", "1") == "OK"
    assert c.execute_command("GETSET", "k", "2") == "1"
    assert c.execute_command("OBJECT", "ENCODING", "k") == "int"
    assert c.execute_command("SETEX", "k", 100, "2") == "OK"
    assert c.execute_command("OBJECT", "ENCODING", "k") == "int"
    assert c.execute_command("INCRBY", "k", 1) == 3
    assert c.execute_command("OBJECT", "ENCODING", "k") == "int"


def test_object_encoding_after_incrbyfloat_is_a_string(c):
    # INCRBYFLOAT stores the text it replies, never an int, even for "1".
    assert c.execute_command("INCRBYFLOAT", "f", "1") == "1"
    assert c.execute_command("OBJECT", "ENCODING", "f") == "embstr"
    assert c.execute_command("INCRBYFLOAT", "f", "0.5") == "1.5"
    assert c.execute_command("OBJECT", "ENCODING", "f") == "embstr"
    assert c.execute_command("SET", "g", "5") == "OK"
    assert c.execute_command("INCRBYFLOAT", "g", "0") == "5"
    assert c.execute_command("OBJECT", "ENCODING", "g") == "embstr"
    assert c.execute_command("INCRBYFLOAT", "g", "1e50") == \
        "100000000000000000003583830118858923890798487404544"
    assert c.execute_command("OBJECT", "ENCODING", "g") == "raw"
    # INCR on it gives an int back.
    assert c.execute_command("SET", "h", "7") == "OK"
    assert c.execute_command("INCRBYFLOAT", "h", "1") == "8"
    assert c.execute_command("INCR", "h") == 9
    assert c.execute_command("OBJECT", "ENCODING", "h") == "int"


# ---------------------------------------------------------------------------
# Arity


@pytest.mark.parametrize("args", [
    ("GET",), ("GET", "a", "b"), ("SET",), ("SET", "k"), ("SETNX", "k"), ("SETEX", "k", "10"),
    ("PSETEX", "k"), ("GETSET", "k"), ("GETDEL",), ("GETDEL", "k", "x"), ("GETEX",), ("MGET",),
    ("MSET",), ("MSETNX",), ("INCR",), ("INCR", "a", "b"), ("DECR",), ("INCRBY", "k"),
    ("DECRBY", "k"), ("INCRBYFLOAT", "k"), ("APPEND", "k"), ("STRLEN",), ("GETRANGE", "k", "0"),
    ("SUBSTR", "k", "0"), ("SETRANGE", "k", "0"),
])
def test_wrong_arity(c, args):
    assert err(c, *args) == f"ERR wrong number of arguments for '{args[0].lower()}' command"


def test_arity_error_names_the_command_in_lower_case(c):
    assert err(c, "GeT") == "ERR wrong number of arguments for 'get' command"
    assert err(c, "SET", "k") == "ERR wrong number of arguments for 'set' command"


def test_pipelined_reads_see_the_writes_before_them(c):
    # Reads may be served without the log, writes go through it: a read
    # pipelined after a write must still see that write.
    pipe = c.pipeline(transaction=False)
    for i in range(50):
        pipe.execute_command("SET", "k", f"v{i}")
        pipe.execute_command("GET", "k")
        pipe.execute_command("APPEND", "k", "!")
        pipe.execute_command("STRLEN", "k")
    pipe.execute_command("DEL", "k")
    pipe.execute_command("GET", "k")
    pipe.execute_command("INCR", "n")
    pipe.execute_command("INCRBY", "n", 10)
    pipe.execute_command("GET", "n")
    replies = pipe.execute()
    for i in range(50):
        assert replies[4 * i:4 * i + 4] == ["OK", f"v{i}", len(f"v{i}") + 1, len(f"v{i}") + 1]
    assert replies[200:] == [1, None, 1, 11, "11"]


def test_config_set_proto_max_bulk_len_applies_to_string_size(r):
    """The limit travels in each log entry, so a runtime change must reach
    the entries proposed afterwards."""
    original = r.config_get("proto-max-bulk-len")["proto-max-bulk-len"]
    try:
        assert r.config_set("proto-max-bulk-len", "1mb")
        try:
            r.setrange("cfgbig", 1048576, "a")
            raise AssertionError("SETRANGE past the new limit succeeded")
        except Exception as e:
            assert "string exceeds maximum allowed size (proto-max-bulk-len)" in str(e)
        assert r.setrange("cfgbig", 1048575, "a") == 1048576
    finally:
        r.config_set("proto-max-bulk-len", original)


def test_lcs_matches_redis(server, redis_ref):
    """LCS with every option, against redis-server 7.0 (random strings too)."""
    ours = exact_client(server)
    theirs = exact_client(redis_ref)
    rng = random.Random(4)
    cmds = [("MSET", "k1", "ohmytext", "k2", "mynewtext"), ("LCS", "k1", "k2"), ("LCS", "k1", "k2", "LEN"),
            ("LCS", "k1", "k2", "IDX"), ("LCS", "k1", "k2", "IDX", "MINMATCHLEN", 4),
            ("LCS", "k1", "k2", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN"), ("LCS", "k1", "k2", "LEN", "IDX"),
            ("LCS", "k1", "missing"), ("LCS", "missing", "missing2", "IDX"), ("LPUSH", "l", "x"),
            ("LCS", "k1", "l"), ("LCS", "k1", "k2", "FOO"), ("LCS", "k1", "k2", "MINMATCHLEN", "x"),
            ("LCS", "k1", "k2", "MINMATCHLEN", -3, "IDX"), ("SET", "n1", 12345), ("SET", "n2", 2345),
            ("LCS", "n1", "n2", "IDX", "WITHMATCHLEN")]
    for _ in range(30):
        a = "".join(rng.choice("abc") for _ in range(rng.randrange(0, 40)))
        b = "".join(rng.choice("abc") for _ in range(rng.randrange(0, 40)))
        cmds += [("MSET", "a", a, "b", b), ("LCS", "a", "b"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
                 ("LCS", "b", "a", "IDX", "MINMATCHLEN", 2)]
    for cmd in cmds:
        def ask(c):
            try:
                return c.execute_command(*cmd)
            except redis.ResponseError as e:
                return str(e)
        assert ask(ours) == ask(theirs), cmd
