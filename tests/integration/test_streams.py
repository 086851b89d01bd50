"""Streams on a single node: every command, its edge cases and its error
texts, compared reply for reply with redis-server 7.0.15 (started here on a
free port; the comparison is skipped if redis-server is not installed), and
what only Parley can show: IDs from the log entry's clock, blocking XREAD and
XREADGROUP through the log, MULTI and scripts, and streams surviving a
restart from a snapshot.

The differential scenarios use explicit IDs, so both servers must answer
identically; the few values that depend on each server's clock or internals
(idle times, delivery and seen times, radix-tree-nodes) are masked."""
import os
import threading
import time

import pytest
import redis

from conftest import Node, raw_command, resp_encode, wait_until, wait_writable
from exact import err, exact_client


# ---------------------------------------------------------------------------
# The reference server
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ref(redis_ref):
    return redis_ref


MASK_AFTER = {"idle", "radix-tree-nodes", "seen-time"}


def norm(v, cmd=None):
    """Masks what depends on the server's clock or internals."""
    if isinstance(v, redis.ResponseError):
        return ("error", str(v))
    if isinstance(v, bytes):
        return v
    if isinstance(v, int) and v >= 10 ** 12:
        return "<time>"
    if isinstance(v, list):
        out = []
        mask_next = False
        for x in v:
            if mask_next:
                out.append("<masked>")
                mask_next = False
                continue
            out.append(norm(x))
            if isinstance(x, bytes) and x.decode(errors="replace") in MASK_AFTER:
                mask_next = True
        if cmd == "xpending-ext":
            out = [r[:2] + ["<idle>"] + r[3:] if isinstance(r, list) and len(r) == 4 else r for r in out]
        return out
    return v


def run(client, cmds):
    out = []
    for c in cmds:
        try:
            v = client.execute_command(*c)
        except redis.ResponseError as e:
            v = e
        tag = "xpending-ext" if c[0].lower() == "xpending" and len(c) > 3 else None
        out.append((" ".join(map(str, c)), norm(v, tag)))
    return out


def same_as_redis(server, ref, cmds):
    ours = exact_client(server, decode=False)
    theirs = exact_client(ref, decode=False)
    ours.flushall()
    theirs.flushall()
    a, b = run(ours, cmds), run(theirs, cmds)
    for (cmd, x), (_, y) in zip(a, b):
        assert x == y, f"{cmd}: parley {x!r} != redis {y!r}"
    ours.close()
    theirs.close()


# ---------------------------------------------------------------------------
# Differential scenarios
# ---------------------------------------------------------------------------

XADD = [
    ("XADD", "s", "1-1", "a", "1"),
    ("XADD", "s", "1-1", "a", "1"),
    ("XADD", "s", "1-0", "a", "1"),
    ("XADD", "s", "0-0", "a", "1"),
    ("XADD", "s2", "0-0", "a", "1"),
    ("XADD", "s", "1-*", "b", "2"),
    ("XADD", "s", "5-*", "c", "3"),
    ("XADD", "s", "5-*", "c", "4"),
    ("XADD", "s", "3-*", "c", "4"),
    ("XADD", "s", "7", "d", "5"),
    ("XADD", "s", "abc", "a", "1"),
    ("XADD", "s", "1-abc", "a", "1"),
    ("XADD", "s", "-", "a", "1"),
    ("XADD", "s", "+", "a", "1"),
    ("XADD", "s", "9-1", "a"),
    ("XADD", "s", "9-1"),
    ("XADD", "s", "9-1", "a", "1", "b"),
    ("XADD", "s", "NOMKSTREAM"),
    ("XADD", "nokey", "NOMKSTREAM", "9-1", "a", "1"),
    ("EXISTS", "nokey"),
    ("XADD", "s", "NOMKSTREAM", "10-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "-1", "11-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "x", "11-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "1", "MINID", "0", "11-1", "a", "1"),
    ("XADD", "s", "MINID", "1", "MAXLEN", "0", "11-1", "a", "1"),
    ("XADD", "s", "LIMIT", "5", "11-1", "a", "1"),
    ("XADD", "s", "LIMIT", "0", "11-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "5", "LIMIT", "5", "11-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "11-1", "a", "1"),
    ("XADD", "s", "MINID", "bad", "11-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "=", "3", "11-1", "a", "1"),
    ("XRANGE", "s", "-", "+"),
    ("XADD", "s", "MINID", "=", "11", "12-1", "a", "1"),
    ("XRANGE", "s", "-", "+"),
    ("XADD", "s", "maxlen", "~", "1", "13-1", "a", "1"),
    ("XLEN", "s"),
    ("XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"),
    ("XADD", "s", "*", "a", "1"),
    ("XADD", "s", "18446744073709551615-*", "a", "1"),
    ("XLEN", "s"),
    ("XLEN", "nokey"),
    ("SET", "str", "v"),
    ("XADD", "str", "*", "a", "1"),
    ("XADD", "str", "NOMKSTREAM", "*", "a", "1"),
    ("XLEN", "str"),
    ("TYPE", "s"),
    ("OBJECT", "ENCODING", "s"),
    ("XADD", "bin", "1-1", "f\x00\r\n", "", "", "v"),
    ("XRANGE", "bin", "-", "+"),
]


def test_xadd_like_redis(server, ref):
    same_as_redis(server, ref, XADD)


RANGE = [
    ("XADD", "s", "1-1", "a", "1"),
    ("XADD", "s", "1-2", "b", "2"),
    ("XADD", "s", "2-0", "c", "3"),
    ("XADD", "s", "3-5", "d", "4", "e", "5"),
    ("XRANGE", "s", "-", "+"),
    ("XRANGE", "s", "1", "2"),
    ("XRANGE", "s", "1-2", "+", "COUNT", "2"),
    ("XRANGE", "s", "(1-1", "(3-5"),
    ("XRANGE", "s", "(1", "+"),
    ("XRANGE", "s", "(", "+"),
    ("XRANGE", "s", "(-", "+"),
    ("XRANGE", "s", "-", "(+"),
    ("XRANGE", "s", "-", "(0-0"),
    ("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"),
    ("XRANGE", "s", "3", "1"),
    ("XRANGE", "s", "-", "+", "COUNT", "0"),
    ("XRANGE", "s", "-", "+", "COUNT", "-3"),
    ("XRANGE", "s", "-", "+", "COUNT"),
    ("XRANGE", "s", "-", "+", "COUNT", "x"),
    ("XRANGE", "s", "-", "+", "LIMIT", "1"),
    ("XRANGE", "s", "x", "+"),
    ("XRANGE", "s", "-", "1-x"),
    ("XRANGE", "nokey", "-", "+"),
    ("XRANGE", "nokey", "-", "+", "COUNT", "0"),
    ("XRANGE", "s"),
    ("XREVRANGE", "s", "+", "-"),
    ("XREVRANGE", "s", "+", "-", "COUNT", "1"),
    ("XREVRANGE", "s", "(3-5", "(1-1"),
    ("XREVRANGE", "s", "2", "1"),
    ("XREVRANGE", "s", "-", "+"),
    ("XREVRANGE", "s", "+", "-", "COUNT", "0"),
    ("SET", "str", "v"),
    ("XRANGE", "str", "-", "+"),
    ("XREVRANGE", "str", "+", "-"),
]


def test_xrange_xrevrange_like_redis(server, ref):
    same_as_redis(server, ref, RANGE)


def many(key, n, start=1):
    return [("XADD", key, f"{i}-1", "f", str(i)) for i in range(start, start + n)]


DEL_TRIM = many("s", 5) + [
    ("XDEL", "s", "2-1", "4-1", "9-9"),
    ("XDEL", "s", "2-1"),
    ("XDEL", "s", "bad"),
    ("XDEL", "s", "3-1", "bad"),
    ("XDEL", "nokey", "1-1"),
    ("XLEN", "s"),
    ("XINFO", "STREAM", "s"),
    ("XDEL", "s", "1-1"),
    ("XINFO", "STREAM", "s"),
    ("XDEL", "s", "3-1", "5-1"),
    ("XINFO", "STREAM", "s"),
    ("EXISTS", "s"),
    ("XTRIM", "s"),
    ("XTRIM", "s", "FOO", "1"),
    ("XTRIM", "nokey", "MAXLEN", "0"),
    ("XTRIM", "s", "MAXLEN", "-1"),
    ("XTRIM", "s", "LIMIT", "1", "MAXLEN", "1"),
    ("XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"),
] + many("t", 350) + [
    ("XTRIM", "t", "MAXLEN", "~", "300"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MAXLEN", "~", "120"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "50"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "100"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MAXLEN", "=", "120"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MINID", "~", "290"),
    ("XLEN", "t"),
    ("XTRIM", "t", "MINID", "310"),
    ("XRANGE", "t", "-", "+", "COUNT", "2"),
    ("XINFO", "STREAM", "t"),
    ("XTRIM", "t", "MAXLEN", "0"),
    ("XINFO", "STREAM", "t"),
] + many("u", 250) + [
    ("XADD", "u", "MAXLEN", "~", "100", "1000-1", "f", "v"),
    ("XLEN", "u"),
    ("XADD", "u", "MINID", "~", "240", "1001-1", "f", "v"),
    ("XLEN", "u"),
    ("XADD", "u", "MAXLEN", "~", "0", "LIMIT", "0", "1002-1", "f", "v"),
    ("XLEN", "u"),
    ("SET", "str", "v"),
    ("XDEL", "str", "1-1"),
    ("XTRIM", "str", "MAXLEN", "0"),
]


def test_xdel_xtrim_like_redis(server, ref):
    same_as_redis(server, ref, DEL_TRIM)


SETID = [
    ("XSETID", "nokey", "1-1"),
    ("XADD", "s", "5-5", "a", "1"),
    ("XSETID", "s", "bad"),
    ("XSETID", "s", "1-1"),
    ("XSETID", "s", "5-5"),
    ("XSETID", "s", "9-0", "ENTRIESADDED", "-1"),
    ("XSETID", "s", "9-0", "ENTRIESADDED", "0"),
    ("XSETID", "s", "9-0", "ENTRIESADDED", "x"),
    ("XSETID", "s", "9-0", "MAXDELETEDID", "10-0"),
    ("XSETID", "s", "9-0", "MAXDELETEDID", "bad"),
    ("XSETID", "s", "9-0", "FOO"),
    ("XSETID", "s", "9-0", "ENTRIESADDED", "7", "MAXDELETEDID", "8-0"),
    ("XINFO", "STREAM", "s"),
    ("XADD", "s", "9-0", "a", "1"),
    ("XADD", "s", "9-1", "a", "1"),
    ("XADD", "e", "1-1", "a", "1"),
    ("XDEL", "e", "1-1"),
    ("XSETID", "e", "0-5"),
    ("XINFO", "STREAM", "e"),
    ("SET", "str", "v"),
    ("XSETID", "str", "1-1"),
]


def node_scenario():
    """Entries of many sizes and shapes (same and different fields, numbers,
    a sequence below the block's first), then `~` trims: the blocks must
    end where Redis's listpacks end for the trims to remove the same."""
    cmds = []
    for size in (30, 60, 100, 200, 500, 1000, 5000):
        key = f"n{size}"
        for i in range(1, 121):
            if i % 17 == 0:
                cmds.append(("XADD", key, f"{i}-0", "other", "x" * (size // 2), "n", str(i * 1000)))
            else:
                cmds.append(("XADD", key, f"{i}-{i % 3}", "field", "v" * size, "f2", str(i)))
        cmds += [("XINFO", "STREAM", key), ("XTRIM", key, "MAXLEN", "~", "50"), ("XLEN", key),
                 ("XADD", key, "MAXLEN", "~", "10", "500-1", "a", "b"), ("XLEN", key),
                 ("XTRIM", key, "MINID", "~", "115"), ("XLEN", key), ("XINFO", "STREAM", key)]
    return cmds


def test_blocks_end_where_redis_listpacks_end(server, ref):
    same_as_redis(server, ref, node_scenario())


def test_xsetid_like_redis(server, ref):
    same_as_redis(server, ref, SETID)


GROUPS = many("s", 5) + [
    ("XGROUP", "CREATE", "s", "g", "0"),
    ("XGROUP", "CREATE", "s", "g", "0"),
    ("XGROUP", "CREATE", "s", "g2", "$"),
    ("XGROUP", "CREATE", "s", "g3", "bad"),
    ("XGROUP", "CREATE", "s", "g3", "0", "FOO"),
    ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "-2"),
    ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "x"),
    ("XGROUP", "CREATE", "s", "g3", "3-1", "ENTRIESREAD", "3"),
    ("XGROUP", "CREATE", "nokey", "g", "0"),
    ("XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM"),
    ("XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM"),
    ("XINFO", "STREAM", "nokey"),
    ("XGROUP", "CREATE", "s"),
    ("XGROUP", "FOO", "s", "g"),
    ("XGROUP", "SETID", "s", "nogroup", "0"),
    ("XGROUP", "SETID", "s", "g", "2-1"),
    ("XGROUP", "SETID", "s", "g", "2-1", "ENTRIESREAD", "2"),
    ("XGROUP", "SETID", "s", "g", "2-1", "FOO", "2"),
    ("XGROUP", "SETID", "s", "g", "2-1", "ENTRIESREAD"),
    ("XGROUP", "SETID", "nokey2", "g", "0"),
    ("XINFO", "GROUPS", "s"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "alice"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "alice"),
    ("XGROUP", "CREATECONSUMER", "s", "nogroup", "alice"),
    ("XGROUP", "CREATECONSUMER", "s", "g"),
    ("XGROUP", "DELCONSUMER", "s", "g", "bob"),
    ("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"),
    ("XGROUP", "DELCONSUMER", "s", "g", "bob"),
    ("XPENDING", "s", "g"),
    ("XGROUP", "DESTROY", "s", "g2"),
    ("XGROUP", "DESTROY", "s", "g2"),
    ("XGROUP", "DESTROY", "nokey3", "g2"),
    ("XINFO", "GROUPS", "s"),
    ("XGROUP", "HELP"),
    ("XINFO", "HELP"),
    ("SET", "str", "v"),
    ("XGROUP", "CREATE", "str", "g", "0"),
    ("XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"),
]


def test_xgroup_like_redis(server, ref):
    same_as_redis(server, ref, GROUPS)


READGROUP = many("s", 6) + [
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
    ("XGROUP", "CREATE", "s", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "NOACK", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "1-1"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "$"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "bad"),
    ("XREADGROUP", "GROUP", "nog", "c1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "nokey", ">"),
    ("XREADGROUP", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "FOO", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "x", "STREAMS", "s", ">"),
    ("XPENDING", "s", "g"),
    ("XPENDING", "s", "g", "-", "+", "10"),
    ("XPENDING", "s", "g", "-", "+", "10", "c1"),
    ("XPENDING", "s", "g", "-", "+", "10", "nobody"),
    ("XPENDING", "s", "g", "(1-1", "+", "1"),
    ("XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"),
    ("XPENDING", "s", "g", "IDLE", "100000000", "-", "+", "10"),
    ("XPENDING", "s", "g", "-", "+"),
    ("XPENDING", "s", "g", "-", "+", "x"),
    ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"),
    ("XPENDING", "s", "g", "IDLE", "1", "-", "+"),
    ("XPENDING", "s", "g", "bad", "+", "10"),
    ("XPENDING", "s", "nog"),
    ("XPENDING", "nokey", "g"),
    ("XACK", "s", "g", "1-1", "1-1", "9-9"),
    ("XACK", "s", "g", "bad"),
    ("XACK", "s", "nog", "2-1"),
    ("XACK", "nokey", "g", "2-1"),
    ("XPENDING", "s", "g"),
    ("XDEL", "s", "2-1"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
    ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
    ("XINFO", "GROUPS", "s"),
    ("XINFO", "CONSUMERS", "s", "g"),
    ("XINFO", "CONSUMERS", "s", "nog"),
    ("XINFO", "CONSUMERS", "nokey", "g"),
    ("XINFO", "STREAM", "s", "FULL"),
    ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"),
    ("XINFO", "STREAM", "s", "FULL", "COUNT", "0"),
    ("XINFO", "STREAM", "s", "FULL", "COUNT"),
    ("XINFO", "STREAM", "s", "FOO"),
    ("XINFO", "STREAM", "nokey"),
    ("XINFO", "FOO", "s"),
    ("XGROUP", "SETID", "s", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "c9", "COUNT", "2", "STREAMS", "s", ">"),
    ("XPENDING", "s", "g", "-", "+", "10"),
    ("XINFO", "GROUPS", "s"),
    ("SET", "str", "v"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "str", ">"),
    ("XACK", "str", "g", "1-1"),
    ("XPENDING", "str", "g"),
    ("XINFO", "GROUPS", "str"),
]


def test_xreadgroup_xack_xpending_xinfo_like_redis(server, ref):
    same_as_redis(server, ref, READGROUP)


CLAIM = many("s", 8) + [
    ("XGROUP", "CREATE", "s", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "5", "STREAMS", "s", ">"),
    ("XCLAIM", "s", "g", "c2", "0", "1-1"),
    ("XCLAIM", "s", "g", "c2", "0", "2-1", "JUSTID"),
    ("XCLAIM", "s", "g", "c2", "100000000", "3-1"),
    ("XCLAIM", "s", "g", "c2", "0", "3-1", "RETRYCOUNT", "7", "JUSTID"),
    ("XCLAIM", "s", "g", "c2", "0", "7-1"),
    ("XCLAIM", "s", "g", "c2", "0", "7-1", "FORCE", "JUSTID"),
    ("XCLAIM", "s", "g", "c2", "0", "99-1", "FORCE"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "IDLE", "x"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "TIME", "x"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "RETRYCOUNT", "x"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "LASTID", "bad"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "BOGUS"),
    ("XCLAIM", "s", "g", "c2", "x", "4-1"),
    ("XCLAIM", "s", "g", "c2", "0", "bad"),
    ("XCLAIM", "s", "nog", "c2", "0", "4-1"),
    ("XCLAIM", "nokey", "g", "c2", "0", "4-1"),
    ("XCLAIM", "s", "g", "c2", "0", "4-1", "LASTID", "8-1", "IDLE", "5000", "JUSTID"),
    ("XINFO", "GROUPS", "s"),
    ("XPENDING", "s", "g", "-", "+", "10"),
    ("XDEL", "s", "5-1"),
    ("XCLAIM", "s", "g", "c3", "0", "5-1"),
    ("XPENDING", "s", "g"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "2"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "3-1", "COUNT", "2", "JUSTID"),
    ("XAUTOCLAIM", "s", "g", "c3", "100000000", "0"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "(1-1", "COUNT", "1"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "0"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "COUNT", "x"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "0", "FOO"),
    ("XAUTOCLAIM", "s", "g", "c3", "x", "0"),
    ("XAUTOCLAIM", "s", "g", "c3", "0", "bad"),
    ("XAUTOCLAIM", "s", "nog", "c3", "0", "0"),
    ("XAUTOCLAIM", "nokey", "g", "c3", "0", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"),
    ("XDEL", "s", "6-1", "7-1"),
    ("XAUTOCLAIM", "s", "g", "c4", "0", "0", "COUNT", "3"),
    ("XAUTOCLAIM", "s", "g", "c4", "0", "0"),
    ("XPENDING", "s", "g"),
    ("XINFO", "CONSUMERS", "s", "g"),
    ("SET", "str", "v"),
    ("XCLAIM", "str", "g", "c", "0", "1-1"),
    ("XAUTOCLAIM", "str", "g", "c", "0", "0"),
]


def test_xclaim_xautoclaim_like_redis(server, ref):
    same_as_redis(server, ref, CLAIM)


READ = many("s", 3) + many("t", 2, 10) + [
    ("XREAD", "STREAMS", "s", "0"),
    ("XREAD", "COUNT", "1", "STREAMS", "s", "t", "0", "0"),
    ("XREAD", "STREAMS", "s", "t", "2-1", "$"),
    ("XREAD", "STREAMS", "s", "t", "nokey", "0", "0", "0"),
    ("XREAD", "STREAMS", "s", "$"),
    ("XREAD", "STREAMS", "nokey", "$"),
    ("XREAD", "STREAMS", "s"),
    ("XREAD", "STREAMS", "s", "t", "0"),
    ("XREAD", "STREAMS", "s", ">"),
    ("XREAD", "STREAMS", "s", "bad"),
    ("XREAD", "STREAMS", "s", "+"),
    ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"),
    ("XREAD", "NOACK", "STREAMS", "s", "0"),
    ("XREAD", "COUNT", "x", "STREAMS", "s", "0"),
    ("XREAD", "COUNT", "-1", "STREAMS", "s", "0"),
    ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"),
    ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"),
    ("XREAD", "BLOCK", "10", "STREAMS", "s", "0"),
    ("XREAD", "FOO", "STREAMS", "s", "0"),
    ("XREAD", "COUNT", "1", "s", "0"),
    ("SET", "str", "v"),
    ("XREAD", "STREAMS", "str", "0"),
    ("XREAD", "STREAMS", "s", "str", "0", "0"),
]


def test_xread_like_redis(server, ref):
    same_as_redis(server, ref, READ)


def test_arity_errors_like_redis(server, ref):
    same_as_redis(server, ref, [
        ("XADD", "s"), ("XLEN",), ("XRANGE", "s", "-"), ("XREVRANGE", "s", "+"), ("XDEL", "s"),
        ("XTRIM", "s", "MAXLEN"), ("XSETID", "s"), ("XREAD", "STREAMS", "s"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s"), ("XACK", "s", "g"), ("XPENDING", "s"),
        ("XCLAIM", "s", "g", "c", "0"), ("XAUTOCLAIM", "s", "g", "c", "0"), ("XGROUP",),
        ("XGROUP", "CREATE", "s", "g"), ("XGROUP", "DESTROY", "s"), ("XGROUP", "SETID", "s", "g"),
        ("XGROUP", "CREATECONSUMER", "s", "g"), ("XGROUP", "DELCONSUMER", "s", "g"), ("XINFO",),
        ("XINFO", "STREAM"), ("XINFO", "GROUPS"), ("XINFO", "CONSUMERS", "s"),
    ])


# ---------------------------------------------------------------------------
# Parley's own behaviour
# ---------------------------------------------------------------------------

def test_auto_ids_come_from_the_entry_clock_and_never_go_back(r):
    before = int(time.time() * 1000)
    first = r.xadd("s", {"a": 1})
    ms, seq = map(int, first.split("-"))
    assert abs(ms - before) < 60000 and seq == 0
    # A last ID in the future: `*` keeps its ms and counts the sequence up.
    r.execute_command("XADD", "f", f"{ms + 10 ** 9}-5", "a", "1")
    assert r.xadd("f", {"a": 2}) == f"{ms + 10 ** 9}-6"
    assert r.xadd("f", {"a": 3}) == f"{ms + 10 ** 9}-7"
    ids = [r.xadd("s", {"i": i}) for i in range(50)]
    keys = [tuple(map(int, i.split("-"))) for i in [first] + ids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_pending_idle_and_delivery_counts(r):
    r.xadd("s", {"a": 1}, id="1-1")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})
    wait_until(lambda: r.xpending_range("s", "g", "-", "+", 10)[0]["time_since_delivered"] >= 50,
               5, message="idle time to grow")
    assert r.xpending_range("s", "g", "-", "+", 10, idle=50)[0]["message_id"] == "1-1"
    first_delivery = r.xinfo_stream("s", full=True)["groups"][0]["pending"][0][2]
    r.xreadgroup("g", "c", {"s": "0"})  # the history: delivered again, now
    row = r.xpending_range("s", "g", "-", "+", 10)[0]
    assert row["times_delivered"] == 2
    second_delivery = r.xinfo_stream("s", full=True)["groups"][0]["pending"][0][2]
    assert second_delivery - first_delivery >= 50


def blocked(node):
    return int(node.client().info("clients")["blocked_clients"])


def bg(fn, *args, **kw):
    box = {}

    def go():
        try:
            box["value"] = fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - reported to the test
            box["error"] = e
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, box


def test_xread_block_dollar_is_served_by_the_next_xadd(server, r):
    r.xadd("s", {"old": 1}, id="1-1")
    t, box = bg(server.client().xread, {"s": "$"}, block=10000)
    wait_until(lambda: blocked(server) == 1, 10, message="the reader to block")
    # A write to another key wakes nobody; one to the stream does.
    r.xadd("other", {"x": 1})
    new_id = r.xadd("s", {"new": 1})
    t.join(10)
    assert box == {"value": [["s", [(new_id, {"new": "1"})]]]}
    assert blocked(server) == 0


def test_xread_block_several_streams_and_explicit_id(server, r):
    r.xadd("a", {"x": 1}, id="5-1")
    t, box = bg(server.client().xread, {"a": "5-1", "b": "0"}, block=10000)
    wait_until(lambda: blocked(server) == 1, 10, message="the reader to block")
    r.xadd("b", {"y": 2}, id="1-1")
    t.join(10)
    assert box == {"value": [["b", [("1-1", {"y": "2"})]]]}


def test_xread_block_times_out_with_a_null_array(server, r):
    assert r.xread({"s": "$"}, block=100) == []  # redis-py's form of a null reply
    payload = resp_encode("XREAD", "BLOCK", "100", "STREAMS", "s", "$")
    assert raw_command(server.port, payload, read_until=b"\r\n") == b"*-1\r\n"
    payload = resp_encode("HELLO", "3") + payload
    assert raw_command(server.port, payload, read_until=b"_\r\n").endswith(b"_\r\n")


def test_xreadgroup_block_is_served_in_arrival_order_and_recorded(server, r):
    r.xgroup_create("q", "g", id="$", mkstream=True)
    waiters = []
    for name in ("c1", "c2"):
        waiters.append(bg(server.client().xreadgroup, "g", name, {"q": ">"}, count=1, block=10000))
        wait_until(lambda n=len(waiters): blocked(server) == n, 10, message="the consumers to block")
    first = r.xadd("q", {"job": 1})
    waiters[0][0].join(10)
    assert waiters[0][1] == {"value": [["q", [(first, {"job": "1"})]]]}
    assert blocked(server) == 1
    second = r.xadd("q", {"job": 2})
    waiters[1][0].join(10)
    assert waiters[1][1] == {"value": [["q", [(second, {"job": "2"})]]]}
    pending = {row["message_id"]: row["consumer"] for row in r.xpending_range("q", "g", "-", "+", 10)}
    assert pending == {first: "c1", second: "c2"}


def test_xreadgroup_block_zero_waits_until_served(server, r):
    r.xgroup_create("q", "g", id="$", mkstream=True)
    t, box = bg(server.client().xreadgroup, "g", "c", {"q": ">"}, block=0)
    wait_until(lambda: blocked(server) == 1, 10, message="the consumer to block")
    r.xgroup_createconsumer("q", "g", "someone-else")  # a change that serves nothing
    assert blocked(server) == 1
    i = r.xadd("q", {"x": 1})
    t.join(10)
    assert box["value"] == [["q", [(i, {"x": "1"})]]]


def test_xreadgroup_with_the_group_or_stream_gone_while_blocked(server, r):
    # Redis 7.0's texts for the clients it unblocks for these reasons.
    x = exact_client(server)
    r.xgroup_create("q", "g", id="$", mkstream=True)
    t, box = bg(x.execute_command, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "10000", "STREAMS", "q", ">")
    wait_until(lambda: blocked(server) == 1, 10, message="the consumer to block")
    r.xgroup_destroy("q", "g")
    t.join(10)
    assert str(box["error"]) == "NOGROUP the consumer group this client was blocked on no longer exists"
    r.xgroup_create("q", "g", id="$")
    t, box = bg(x.execute_command, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "10000", "STREAMS", "q", ">")
    wait_until(lambda: blocked(server) == 1, 10, message="the consumer to block")
    r.delete("q")
    t.join(10)
    assert str(box["error"]) == "UNBLOCKED the stream key no longer exists"
    # The internal retry command is not a client's.
    assert err(x, "__xreadgroup_retry", "GROUP", "g", "c", "STREAMS", "q", ">").startswith(
        "ERR unknown command '__xreadgroup_retry'")


def test_multi_and_scripts(server, r):
    x = exact_client(server)
    x.execute_command("XADD", "s", "1-1", "a", "1")
    p = r.pipeline(transaction=True)
    p.execute_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    p.execute_command("XADD", "s", "2-1", "b", "2")
    p.execute_command("XREAD", "BLOCK", "0", "STREAMS", "s", "1-1")
    res = p.execute()
    assert res[0] == [] and res[1] == "2-1"  # [] is redis-py's null array
    assert res[2] == [["s", [("2-1", {"b": "2"})]]]
    assert err(x, "EVAL", "return redis.call('xread','BLOCK',0,'STREAMS','s','$')", "0").startswith(
        "ERR xread command is not allowed with BLOCK option from scripts")
    assert x.execute_command("EVAL", "return redis.call('xadd','s','3-1','c','3')", "0") == "3-1"
    got = x.execute_command("EVAL", "return redis.call('xrange','s','-','+')", "0")
    assert [e[0] for e in got] == ["1-1", "2-1", "3-1"]


def test_resp3_shapes(server, r):
    r.xadd("s", {"a": 1}, id="1-1")
    payload = resp_encode("HELLO", "3") + resp_encode("XREAD", "STREAMS", "s", "0")
    out = raw_command(server.port, payload, read_until=b"$1\r\n1\r\n")
    assert out.endswith(b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")


def test_watch_sees_stream_writes(r):
    r.xadd("s", {"a": 1}, id="1-1")
    p = r.pipeline()
    p.watch("s")
    r.xadd("s", {"b": 1}, id="2-1")
    p.multi()
    p.xlen("s")
    with pytest.raises(redis.WatchError):
        p.execute()


def test_copy_rename_and_digest(server, r):
    r.xadd("s", {"a": 1}, id="1-1")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.copy("s", "t")
    assert r.xinfo_groups("t")[0]["pending"] == 1
    r.xack("t", "g", "1-1")
    assert r.xinfo_groups("s")[0]["pending"] == 1
    r.rename("t", "u")
    assert r.type("u") == "stream"
    assert r.execute_command("DEBUG", "DIGEST") == r.execute_command("DEBUG", "DIGEST")


def test_streams_survive_restart_from_a_snapshot(make_node):
    node = make_node(extra=["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "8"]).start()
    wait_writable(node)
    c = node.client()
    for i in range(300):
        c.xadd("s", {"i": i, "payload": "x" * 20}, id=f"{i + 1}-1")
    c.xdel("s", "7-1")
    c.xtrim("s", maxlen=250, approximate=True)
    c.xgroup_create("s", "g", id="0")
    c.xreadgroup("g", "alice", {"s": ">"}, count=3)
    c.xreadgroup("g", "bob", {"s": ">"}, count=2, noack=True)
    c.xgroup_createconsumer("s", "g", "carol")
    c.xgroup_create("s", "h", id="$")
    c.execute_command("XSETID", "s", "1000-0")
    for i in range(100):  # enough entries for a snapshot after the stream changes
        c.set(f"k{i}", i)
    before = (c.xinfo_stream("s", full=True), c.xrange("s"), c.xpending_range("s", "g", "-", "+", 100),
              c.execute_command("DEBUG", "DIGEST"))
    node.stop()
    node.start()
    wait_writable(node)
    c = node.client()
    after = (c.xinfo_stream("s", full=True), c.xrange("s"), c.xpending_range("s", "g", "-", "+", 100),
             c.execute_command("DEBUG", "DIGEST"))
    assert after[1] == before[1]
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in after[2]] == \
        [(p["message_id"], p["consumer"], p["times_delivered"]) for p in before[2]]
    assert after[3] == before[3]
    assert after[0]["length"] == before[0]["length"] and after[0]["groups"] == before[0]["groups"]
    assert "Loaded a snapshot" in node.log_text()
    assert after[0]["last-generated-id"] == "1000-0"
    assert c.execute_command("XADD", "s", "1000-*", "z", "1") == "1000-1"


def test_resp3_replies_like_redis(server, ref):
    """The same commands over RESP3 (maps, nulls) answer byte for byte what
    redis-server answers."""
    cmds = [
        ("FLUSHALL",),
        ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "2-1", "b", "2"),
        ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"),
        ("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g"), ("XPENDING", "s", "nog"),
        ("XAUTOCLAIM", "s", "g", "c2", "0", "0", "JUSTID"),
        ("XCLAIM", "s", "g", "c3", "0", "1-1", "JUSTID"),
        ("XREAD", "STREAMS", "s", "nokey", "0", "0"), ("XREAD", "STREAMS", "nokey", "0"),
        ("XRANGE", "s", "-", "+", "COUNT", "0"), ("XADD", "nokey", "NOMKSTREAM", "*", "a", "1"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"),
        ("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"), ("XINFO", "GROUPS", "e"),
        ("XPENDING", "e", "g"),
        ("ECHO", "END"),
    ]
    payload = resp_encode("HELLO", "3") + b"".join(resp_encode(*c) for c in cmds)

    def replies(port):
        out = raw_command(port, payload, read_until=b"$3\r\nEND\r\n")
        assert out.endswith(b"$3\r\nEND\r\n"), out[-200:]
        return out[out.index(b"+OK\r\n"):]  # from FLUSHALL's reply on: HELLO's differs
    assert replies(server.port) == replies(ref.port)


def test_xautoclaim_with_an_enormous_count(server, r):
    """COUNT sizes no allocation (it once crashed every replica applying it)."""
    r.xadd("s", {"a": 1}, id="1-1")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})
    r.xdel("s", "1-1")
    got = r.execute_command("XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", str(10 ** 14))
    assert got == ["0-0", [], ["1-1"]]
    assert r.ping()
