"""Differences from redis-server 7.0 that the differential fuzzer
(tests/fuzz/differential.py) found, each fixed, kept as the shrunk sequence
it printed: commands sent to one Parley node and the replies redis-server
7.0.15 gave, compared the way the fuzzer compares them (replay()). They need
no redis-server to run: its replies are written here."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))

from conftest import parse_info, resp_encode, wait_until  # noqa: E402
from differential import replay  # noqa: E402


def blocked_clients(conn):
    return int(parse_info(conn.call("INFO", "clients").decode())["blocked_clients"])


def test_xtrim_checks_its_options_before_the_key(server):
    """XTRIM parses MAXLEN/MINID/LIMIT before it looks the key up: a bad
    option is an error for a missing key, one of another type, and inside
    MULTI (seeds 14, 69, 163, 186, 244)."""
    replay(server.port, resp=2, steps=[
        (0, ("XTRIM", "t1", "MINID", "(+", "LIMIT", "1"),
         b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (0, ("XTRIM", "x1", "MAXLEN", "-1"), b"-ERR The MAXLEN argument must be >= 0.\r\n"),
        (0, ("XTRIM", "x1", "MAXLEN", "abc", "2"), b"-ERR value is not an integer or out of range\r\n"),
        (0, ("SADD", "t1", "a"), b":1\r\n"),
        (0, ("XTRIM", "t1", "MAXLEN", "~", "-1"), b"-ERR The MAXLEN argument must be >= 0.\r\n"),
        (0, ("XTRIM", "t1", "MAXLEN", "1"),
         b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("XTRIM", "x2", "MINID", "abc"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*1\r\n-ERR Invalid stream ID specified as stream command argument\r\n"),
    ])


def test_xreadgroup_that_finds_nothing_creates_no_consumer(server):
    """XREADGROUP with `>` on a stream with nothing new answers nil and
    leaves the group without a consumer; reading the history (an ID) is
    served, even when empty, and creates it (seed 10)."""
    replay(server.port, resp=2, steps=[
        (0, ("XGROUP", "CREATE", "x1", "g2", "1-1", "MKSTREAM"), b"+OK\r\n"),
        (0, ("XREADGROUP", "GROUP", "g2", "c2", "NOACK", "STREAMS", "x1", ">"), b"*-1\r\n"),
        (0, ("XREADGROUP", "GROUP", "g2", "c2", "BLOCK", "10", "STREAMS", "x1", ">"), b"*-1\r\n"),
        (0, ("XINFO", "CONSUMERS", "x1", "g2"), b"*0\r\n"),
        (0, ("XREADGROUP", "GROUP", "g2", "c3", "STREAMS", "x1", "0"), b"*1\r\n*2\r\n$2\r\nx1\r\n*0\r\n"),
        (0, ("XINFO", "GROUPS", "x1"),
         b"*1\r\n*12\r\n$4\r\nname\r\n$2\r\ng2\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:0\r\n"
         b"$17\r\nlast-delivered-id\r\n$3\r\n1-1\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:0\r\n"),
    ])


def test_blmove_and_brpoplpush_time_out_with_a_null_array(server):
    """Redis 7.0 answers a timed-out BLMOVE or BRPOPLPUSH like every other
    timed-out blocking command: a null array (`*-1` in RESP2), not a null
    bulk string; inside MULTI, where they cannot block, a null bulk (seeds
    5, 7)."""
    replay(server.port, resp=2, steps=[
        (0, ("BLMOVE", "l1", "l1", "LEFT", "RIGHT", "0.01"), b"*-1\r\n"),
        (0, ("BRPOPLPUSH", "l1", "l1", "0.001"), b"*-1\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("BLMOVE", "l1", "l2", "LEFT", "RIGHT", "0.01"), b"+QUEUED\r\n"),
        (0, ("BRPOPLPUSH", "l1", "l2", "0.01"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*2\r\n$-1\r\n$-1\r\n"),
    ])
    replay(server.port, resp=3, steps=[
        (0, ("BLMOVE", "l1", "l1", "LEFT", "RIGHT", "0.01"), b"_\r\n"),
    ])


def test_blmpop_and_bzmpop_check_their_arguments_before_the_timeout(server):
    """BLMPOP and BZMPOP parse numkeys, the end and COUNT before the timeout
    (seeds 86, 132, 276)."""
    replay(server.port, resp=2, steps=[
        (0, ("BZMPOP", "-1", "abc", "z2", "MIDDLE"), b"-ERR numkeys should be greater than 0\r\n"),
        (0, ("BLMPOP", "STREAMS", "abc", "2", "l1", "l1", "RIGHT"),
         b"-ERR numkeys should be greater than 0\r\n"),
        (0, ("BZMPOP", "-1", "3", "l2", "z1", "z2", "MIDDLE", "COUNT", "2"), b"-ERR syntax error\r\n"),
        (0, ("BLMPOP", "abc", "1", "l1", "LEFT", "COUNT", "0"),
         b"-ERR count should be greater than 0\r\n"),
        (0, ("BLMPOP", "abc", "1", "l1", "LEFT"), b"-ERR timeout is not a float or out of range\r\n"),
    ])


def test_timeouts_too_large_for_milliseconds_are_negative_as_in_redis_7_0(server):
    """Redis 7.0.15 turns the timeout's milliseconds into a long long
    without a range check: inf or 1e17 seconds come out negative and are
    refused with "timeout is negative" (seed 182)."""
    replay(server.port, resp=2, steps=[
        (0, ("BZPOPMAX", "s2", "inf"), b"-ERR timeout is negative\r\n"),
        (0, ("BLPOP", "l1", "1e17"), b"-ERR timeout is negative\r\n"),
        (0, ("BLMOVE", "l1", "l2", "LEFT", "LEFT", "-0.9"), b"-ERR timeout is negative\r\n"),
    ])


def test_a_timeout_that_fits_but_whose_deadline_does_not_waits(server):
    """A timeout of 9223372036854775 s (or a BLOCK of 2^63-1 ms) fits in
    milliseconds but not added to the clock: Redis waits, Parley answered
    nil at once. The waiter must still be there for the push."""
    from rawresp import RawConn
    for blocking, push, want in (
            (("BLPOP", "big", "9223372036854775"), ("RPUSH", "big", "v"), [b"big", b"v"]),
            (("XREAD", "BLOCK", "9223372036854775807", "STREAMS", "bigs", "$"),
             ("XADD", "bigs", "5-1", "f", "v"), [[b"bigs", [[b"5-1", [b"f", b"v"]]]]])):
        with RawConn(server.port) as waiter, RawConn(server.port) as pusher:
            waiter.send(resp_encode(*blocking))
            wait_until(lambda: blocked_clients(pusher) == 1, message="the client to block")
            pusher.call(*push)
            assert waiter.read() == want


def test_ping_echo_unwatch_and_select_are_queued_inside_multi(server):
    """Redis queues PING, ECHO, UNWATCH and SELECT inside MULTI and gives
    their replies in EXEC's array, a SELECT with a bad index included (an
    error in the array, not EXECABORT); Parley refused the first three and
    aborted the transaction on the last (seeds 25, 52, 105, 109)."""
    replay(server.port, resp=2, steps=[
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("PING",), b"+QUEUED\r\n"),
        (0, ("PING", "-3"), b"+QUEUED\r\n"),
        (0, ("PING", "a", "b"), b"+QUEUED\r\n"),
        (0, ("ECHO", "10"), b"+QUEUED\r\n"),
        (0, ("unwatch",), b"+QUEUED\r\n"),
        (0, ("SELECT", "abc"), b"+QUEUED\r\n"),
        (0, ("SELECT", "16"), b"+QUEUED\r\n"),
        (0, ("SELECT", "1"), b"+QUEUED\r\n"),
        (0, ("SET", "s1", "in-db-1"), b"+QUEUED\r\n"),
        (0, ("EXEC",),
         b"*9\r\n+PONG\r\n$2\r\n-3\r\n-ERR wrong number of arguments for 'ping' command\r\n$2\r\n10\r\n"
         b"+OK\r\n-ERR value is not an integer or out of range\r\n-ERR DB index is out of range\r\n"
         b"+OK\r\n+OK\r\n"),
        (0, ("GET", "s1"), b"$7\r\nin-db-1\r\n"),
        (0, ("SELECT", "0"), b"+OK\r\n"),
        (0, ("GET", "s1"), b"$-1\r\n"),
    ])
    replay(server.port, resp=3, steps=[
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("PING",), b"+QUEUED\r\n"),
        (0, ("ECHO", ""), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*2\r\n+PONG\r\n$0\r\n\r\n"),
    ])


def test_reset_discards_a_transaction_and_its_watch(server):
    """RESET inside MULTI ends the transaction (seed 379), and forgets the
    keys WATCHed before it."""
    replay(server.port, resp=2, steps=[
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("RESET",), b"+RESET\r\n"),
        (0, ("OBJECT", "ENCODING", "t2"), b"$-1\r\n"),
        (0, ("EXEC",), b"-ERR EXEC without MULTI\r\n"),
        (0, ("WATCH", "s1"), b"+OK\r\n"),
        (0, ("RESET",), b"+RESET\r\n"),
        (1, ("SET", "s1", "changed"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("GET", "s1"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*1\r\n$7\r\nchanged\r\n"),
    ])


def test_select_inside_a_transaction_that_watch_aborts_does_not_switch(server):
    """A SELECT queued in a transaction that a WATCH aborts never ran: the
    client stays in its database (seed 245). One that ran switches it."""
    replay(server.port, resp=2, steps=[
        (0, ("RPUSH", "l1", "3"), b":1\r\n"),
        (0, ("WATCH", "z2"), b"+OK\r\n"),
        (0, ("ZADD", "z2", "1", "e"), b":1\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("SELECT", "1"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("PTTL", "l1"), b":-1\r\n"),
        (0, ("WATCH", "z2"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("SELECT", "1"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*1\r\n+OK\r\n"),
        (0, ("PTTL", "l1"), b":-2\r\n"),
    ])


def test_a_later_watch_counts_changes_from_its_own_point(server):
    """Redis watches each key from the WATCH that names it: a change made
    to a key before it is WATCHed does not abort the transaction, even when
    an earlier WATCH of another key is still open (seed 343); a change to
    the earlier key still does."""
    replay(server.port, resp=2, steps=[
        (0, ("WATCH", "x1"), b"+OK\r\n"),
        (0, ("SET", "z1", "1"), b"+OK\r\n"),
        (0, ("WATCH", "z1"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*0\r\n"),
        (0, ("WATCH", "x1"), b"+OK\r\n"),
        (1, ("SET", "x1", "1"), b"+OK\r\n"),
        (0, ("WATCH", "z1"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("WATCH", "x1"), b"+OK\r\n"),
        (0, ("WATCH", "z1"), b"+OK\r\n"),
        (1, ("SET", "z1", "2"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("WATCH", "x1", "z1"), b"+OK\r\n"),
        (1, ("FLUSHDB",), b"+OK\r\n"),
        (0, ("WATCH", "s1"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
    ])


def test_consumer_group_changes_do_not_abort_a_watch(server):
    """Redis 7.0 does not count consumer-group changes (XGROUP, XREADGROUP,
    XACK, XCLAIM, XAUTOCLAIM) nor XSETID as modifying the stream for
    WATCH: the transaction runs (seed 141). Creating the stream with
    MKSTREAM, like any new key, aborts it."""
    steps = [
        (0, ("XADD", "x2", "1-1", "a", "1"), b"$3\r\n1-1\r\n"),
        (0, ("XADD", "x2", "2-1", "a", "2"), b"$3\r\n2-1\r\n"),
    ]
    for cmd, reply in (
            (("XGROUP", "CREATE", "x2", "g1", "0"), b"+OK\r\n"),
            (("XREADGROUP", "GROUP", "g1", "c1", "COUNT", "1", "STREAMS", "x2", ">"),
             b"*1\r\n*2\r\n$2\r\nx2\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
            (("XCLAIM", "x2", "g1", "c2", "0", "1-1", "JUSTID"), b"*1\r\n$3\r\n1-1\r\n"),
            (("XAUTOCLAIM", "x2", "g1", "c1", "0", "0", "JUSTID"), b"*3\r\n$3\r\n0-0\r\n*1\r\n$3\r\n1-1\r\n*0\r\n"),
            (("XACK", "x2", "g1", "1-1"), b":1\r\n"),
            (("XGROUP", "SETID", "x2", "g1", "0"), b"+OK\r\n"),
            (("XGROUP", "CREATECONSUMER", "x2", "g1", "c3"), b":1\r\n"),
            (("XGROUP", "DELCONSUMER", "x2", "g1", "c3"), b":0\r\n"),
            (("XSETID", "x2", "5-0"), b"+OK\r\n"),
            (("XGROUP", "DESTROY", "x2", "g1"), b":1\r\n")):
        steps += [
            (0, ("WATCH", "x2"), b"+OK\r\n"),
            (1, cmd, reply),
            (0, ("MULTI",), b"+OK\r\n"),
            (0, ("EXEC",), b"*0\r\n"),
        ]
    steps += [
        (0, ("WATCH", "x3"), b"+OK\r\n"),
        (1, ("XGROUP", "CREATE", "x3", "g1", "$", "MKSTREAM"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
    ]
    replay(server.port, resp=2, steps=steps)


def test_xgroup_setid_reads_entriesread_before_counting_arguments(server):
    """XGROUP SETID checks ENTRIESREAD's value before it counts the
    arguments (seed 171)."""
    replay(server.port, resp=2, steps=[
        (0, ("XGROUP", "CREATE", "x1", "g2", "0", "MKSTREAM"), b"+OK\r\n"),
        (0, ("XGROUP", "SETID", "x1", "g2", "$", "ENTRIESREAD", "*", "0"),
         b"-ERR value is not an integer or out of range\r\n"),
        (0, ("XGROUP", "SETID", "x1", "g2", "$", "ENTRIESREAD", "-5", "foo"),
         b"-ERR value for ENTRIESREAD must be positive or -1\r\n"),
        (0, ("XGROUP", "SETID", "x1", "g2", "$", "ENTRIESREAD", "1", "foo"),
         b"-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.\r\n"),
        (0, ("XGROUP", "SETID", "nokey", "g2", "$", "ENTRIESREAD", "1", "foo"),
         b"-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.\r\n"),
        (0, ("XGROUP", "SETID", "x1", "g2", "$", "ENTRIESREAD", "3"), b"+OK\r\n"),
    ])


def test_exec_with_arguments_aborts_the_transaction(server):
    """An EXEC with arguments is answered EXECABORT, inside MULTI or not,
    and discards the transaction and the WATCHed keys (seed 155)."""
    replay(server.port, resp=2, steps=[
        (0, ("EXEC", "LIMIT"),
         b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (0, ("WATCH", "s1"), b"+OK\r\n"),
        (1, ("SET", "s1", "2"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("SET", "s1", "3"), b"+QUEUED\r\n"),
        (0, ("EXEC", "1"),
         b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"),
        (0, ("EXEC",), b"-ERR EXEC without MULTI\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("GET", "s1"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*1\r\n$1\r\n2\r\n"),
    ])


def test_flushdb_and_swapdb_abort_a_watch_only_on_keys_that_existed(server):
    """For WATCH, Redis counts FLUSHDB, FLUSHALL and SWAPDB as changes of
    the keys the databases held: a transaction watching keys that did not
    exist still runs (seed 663); one watching a key that existed, on either
    side of a SWAPDB, aborts."""
    replay(server.port, resp=2, steps=[
        (0, ("WATCH", "z1", "h1"), b"+OK\r\n"),
        (0, ("FLUSHDB",), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*0\r\n"),
        (0, ("SET", "s1", "1"), b"+OK\r\n"),
        (0, ("WATCH", "s1"), b"+OK\r\n"),
        (1, ("FLUSHALL",), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("WATCH", "s2"), b"+OK\r\n"),
        (1, ("SWAPDB", "0", "1"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*0\r\n"),
        (1, ("SELECT", "1"), b"+OK\r\n"),
        (1, ("SET", "s2", "in-db-1"), b"+OK\r\n"),
        (0, ("WATCH", "s2"), b"+OK\r\n"),
        (1, ("SWAPDB", "0", "1"), b"+OK\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("GET", "s2"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("GET", "s2"), b"$7\r\nin-db-1\r\n"),
    ])


def test_getex_persist_on_a_key_without_ttl_does_not_abort_a_watch(server):
    """GETEX PERSIST changes a key only if it had a TTL: Redis signals the
    key as modified only then, so a transaction watching it still runs
    (seed 102103). Removing a TTL does abort it."""
    replay(server.port, resp=2, steps=[
        (0, ("MSET", "s2", "1"), b"+OK\r\n"),
        (0, ("WATCH", "s2"), b"+OK\r\n"),
        (0, ("GETEX", "s2", "PERSIST"), b"$1\r\n1\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*0\r\n"),
        (0, ("EXPIRE", "s2", "100000"), b":1\r\n"),
        (0, ("WATCH", "s2"), b"+OK\r\n"),
        (1, ("GETEX", "s2", "PERSIST"), b"$1\r\n1\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*-1\r\n"),
        (0, ("TTL", "s2"), b":-1\r\n"),
    ])


def test_watch_of_a_key_whose_time_had_passed(server):
    """Redis 7.0: deleting a key that had already expired when it was
    WATCHed is no change (the transaction saw it as gone), while a key that
    expires after its WATCH aborts the transaction, deleted or not (seed
    236860)."""
    replay(server.port, resp=2, steps=[
        (0, ("SET", "s2", "1e3", "EXAT", "1"), b"+OK\r\n"),
        (0, ("WATCH", "s2"), b"+OK\r\n"),
        (1, ("DEL", "s2"), b":0\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("EXEC",), b"*0\r\n"),
    ])
    from rawresp import RawConn
    with RawConn(server.port) as c, RawConn(server.port) as other:
        c.call("SET", "s3", "v", "PX", "200")
        assert c.call("WATCH", "s3") == "OK"
        wait_until(lambda: other.call("PTTL", "s3") == -2, message="s3 to expire")
        assert c.call("MULTI") == "OK"
        assert c.call("EXEC") is None


def test_setrange_past_the_largest_string_on_another_type_is_wrongtype(server):
    """Redis checks the key's type before the length: SETRANGE past
    proto-max-bulk-len on a hash answers WRONGTYPE; on a missing key or a
    string, the length error (seed 24)."""
    replay(server.port, resp=2, steps=[
        (0, ("HINCRBY", "s2", "a", "10"), b":10\r\n"),
        (0, ("setrange", "s2", "536870912", "-0"),
         b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (0, ("SETRANGE", "s3", "536870912", "x"),
         b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"),
        (0, ("SET", "s4", "v"), b"+OK\r\n"),
        (0, ("SETRANGE", "s4", "536870912", "x"),
         b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"),
    ])
