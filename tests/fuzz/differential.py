#!/usr/bin/python3
"""Differential fuzzer: Parley against redis-server 7.0, reply for reply.

This file owns the differential fuzzer. From a seed it generates a random
sequence of commands over a small alphabet of keys, members and numbers (so
commands collide on keys: every type, WRONGTYPE, wrong arities, bad numbers
and options, expiry, MULTI/EXEC and WATCH from one or two clients, RESP2 and
RESP3), sends each command to a parley-server (single durable node) and to a
redis-server started side by side, and compares the two replies byte for
byte. The only replies allowed to differ are those of DOCUMENTED below, each
compared through the normalisation that names it. On a difference it shrinks
the sequence by delta debugging and prints the smallest one as a test to
paste into tests/integration/test_differential_regressions.py, which replays
it through replay() below.

    tests/fuzz/differential.py --seconds 600          # seeds from a random start
    tests/fuzz/differential.py --seeds 1-50           # exactly these seeds
    tests/fuzz/differential.py --seed 1234 --verbose  # one seed, every command

Exit status 0 when no difference was found, 1 otherwise. `make fuzz-diff`
runs it long, `make test` runs a fixed short form.
"""
import argparse
import collections
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from conftest import Node, free_port, resp_encode, wait_until, wait_writable  # noqa: E402
from rawresp import Closed, Err, Push, RawConn, RSet, Simple, Verbatim, _parse  # noqa: E402

# ---------------------------------------------------------------------------
# What may differ, and why. Every normalisation below names one of these;
# nothing else is skipped, masked or compared loosely.
# ---------------------------------------------------------------------------

DOCUMENTED = {
    "unordered": "Replies Redis gives in hash-table order (SMEMBERS, SINTER, SUNION, "
                 "SDIFF, HKEYS, HVALS, HGETALL, KEYS) are compared as multisets: Parley "
                 "gives them in its replicated order (README, Scripts and functions). "
                 "Where redis-server's encoding of the key is ordered (intset, listpack) "
                 "the order must match as well.",
    "scan": "SCAN, SSCAN, HSCAN and ZSCAN cursors are positions in each server's own "
            "tables: a scan from 0 is continued on each server until its cursor is 0 "
            "again, and the union of what each returned is compared as a set; a scan "
            "from another cursor only has to succeed on both. Inside MULTI only scans "
            "that both finish in one call are compared.",
    "random": "SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER and RANDOMKEY choose at "
              "random: checked by properties (reply shape, count, distinctness, "
              "members and values of what the key held). After an SPOP that popped "
              "different members, redis-server's set is made equal to Parley's. Not "
              "sent inside MULTI.",
    "ttl": "TTL, PTTL, EXPIRETIME and PEXPIRETIME depend on each server's clock: "
           "equal within 2 s (2000 ms); -1 and -2 exactly. EXPIRE and PEXPIRE with GT "
           "or LT compare a new relative expiry with the key's: when the two are within "
           "2 s of each other (the same TTL set twice, a millisecond apart or not), "
           "either answer (0 or 1) is right; inside MULTI any 0/1 is accepted.",
    "stream-time": "Idle times, delivery and seen times in XPENDING and XINFO depend "
                   "on each server's clock: equal within 2 s.",
    "stream-auto-id": "IDs made by XADD * come from each server's clock: each of "
                      "Parley's is mapped to redis-server's, made by the same command, "
                      "and replaced by it in every later reply (by any of them when Parley "
                      "made the same ID in two streams and redis-server two different ones).",
    "radix-tree-nodes": "XINFO STREAM's radix-tree-nodes is an estimate in Parley "
                        "(README, Streams): not compared.",
    "expiry-cycle": "DBSIZE counts a key whose expiry time has passed (SET ... PXAT 1) "
                    "until the server's expiry cycle deletes it (Redis: active expiry; "
                    "Parley: the leader's expiry cycle, README), and Redis 7.0's SCAN with "
                    "TYPE none lists such a key: when DBSIZE, or a SCAN with TYPE, differs "
                    "it is asked again on both until they agree, within 5 s. Inside MULTI "
                    "they are not compared.",
    "lex-mixed-scores": "ZRANGEBYLEX and the other lex-range commands on a sorted set whose "
                        "members have different scores: unspecified in Redis, whose skiplist "
                        "answer depends on its random node levels. Not sent when the key is a "
                        "skiplist whose scores differ, nor inside MULTI (compact listpack sets "
                        "are compared: there Redis scans in order).",
    "refcount": "OBJECT REFCOUNT is Redis's memory bookkeeping (2147483647 for the "
                "small integers it shares, 2 while a transaction's arguments hold the "
                "value); Parley shares no objects and answers 1. Both must answer a "
                "positive integer.",
    "hello": "A HELLO that succeeds describes the server (name, version, id): only its "
             "reply's shape is compared; its errors are compared exactly.",
    # Left out of the generator, or not sent:
    "not-implemented": "Commands Redis 7.0 has and Parley does not (README, What "
                       "works): bitmaps, geo, HyperLogLog, SORT, LCS, DUMP/RESTORE, "
                       "ZUNION/ZINTER/ZDIFF/ZDIFFSTORE/ZINTERCARD, OBJECT FREQ/IDLETIME.",
    "multi-local": "Inside MULTI Parley refuses the connection and server commands "
                   "other than PING, ECHO, SELECT and UNWATCH (HELLO, CLIENT, INFO, ...), "
                   "which Redis queues: a transaction is one log entry run on every node, "
                   "and these answer from one node's own state (README, Transactions). "
                   "HELLO is not sent inside MULTI.",
    "server": "INFO, CONFIG, CLIENT, COMMAND, DEBUG, TIME, SHUTDOWN and the "
              "other commands that describe a server rather than the data.",
    "scripting": "EVAL, FUNCTION and FCALL: the Lua engine is being rewritten.",
    "timing": "Blocking commands time out after 10 ms (one whose timeout a mutation "
              "made 0 is not sent outside MULTI: it would wait for ever on both), and "
              "expiry uses TTLs of a day or more or times in the past, so nothing "
              "expires or times out between one server's reply and the other's.",
}


def why(name):
    """Names the DOCUMENTED entry a normalisation relies on."""
    assert name in DOCUMENTED, name
    return name


# ---------------------------------------------------------------------------
# The generator: a seeded stream of commands over a small alphabet.
# ---------------------------------------------------------------------------

FAMILY_KEYS = {
    "string": ["s1", "s2"], "list": ["l1", "l2"], "hash": ["h1", "h2"],
    "set": ["t1", "t2"], "zset": ["z1", "z2"], "stream": ["x1", "x2"],
}
ALL_KEYS = [k for ks in FAMILY_KEYS.values() for k in ks] + ["k"]
MEMBERS = ["a", "b", "c", "d", "e", "1", "2", "3", "-1", "10", "x y", ""]
VALUES = ["1", "2", "-3", "0", "10", "1.5", "abc", "", "hello world", "-0", "007",
          "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e3"]
GOOD_INTS = ["0", "1", "2", "3", "-1", "-2", "5", "10", "-10", "100"]
BAD_INTS = ["abc", "1.5", "", " 1", "+1", "01", "0x10", "1e3", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "inf"]
FLOATS = ["0", "1", "1.5", "-2.5", "3", "10", "1e3", "inf", "-inf", "+inf", "abc", "nan",
          "1e400", ".5", "-0", "0.1", " 1", "", "1.7976931348623157e308", "5."]
SCORES = ["0", "1", "2", "1.5", "-1", "3", "10", "inf", "-inf", "2.5", "1e2", "-0.5"]
SCORE_BOUNDS = ["-inf", "+inf", "0", "1", "(1", "(2", "2.5", "3", "(3", "-1", "10", "inf",
                "abc", "(abc", "((1", "(inf", "nan"]
LEX_BOUNDS = ["-", "+", "[a", "(b", "[c", "(a", "[d", "[1", "(e", "[", "(", "a", "[x y", "+a"]
STREAM_IDS = ["1-1", "1-2", "2-0", "3", "3-5", "4-*", "5", "0-1", "6-0", "7-*", "10-0",
              "1", "2-1", "0-0", "abc", "1-abc", "-", "+", "18446744073709551615-18446744073709551615"]
RANGE_IDS = ["-", "+", "0", "1", "1-1", "2", "(1-1", "3-5", "(3", "5", "10", "0-0",
             "abc", "(+", "(-", "18446744073709551615-18446744073709551615"]
GROUPS = ["g1", "g2"]
CONSUMERS = ["c1", "c2"]
PATTERNS = ["*", "s*", "?1", "[st]1", "x*", "*1", "k", "[a-z]2", "\\*", "[^s]*", "h?", "*[", ""]
JUNK = ["", "abc", "-1", "0", "NX", "XX", "COUNT", "LIMIT", "WITHSCORES", "1.5", "inf",
        "9223372036854775808", "*", "BYSCORE", "REV", "STREAMS", "FORCE", "EX", "GET"]
TYPES = ["string", "list", "hash", "set", "zset", "stream", "none", "bogus"]

LONG = "v" * 70            # longer than every listpack/embstr limit


class Gen:
    """Commands from one seeded Random. It keeps its own idea of which client
    is inside MULTI, so transactions get bodies and an end."""

    def __init__(self, rng, nclients):
        self.r = rng
        self.nclients = nclients
        self.multi_left = [0] * nclients
        self.table = [(w, f) for w, f in self._table()]
        self.total = sum(w for w, _ in self.table)

    # --- alphabet helpers -------------------------------------------------
    def pick(self, seq):
        return self.r.choice(seq)

    def maybe(self, p=0.5):
        return self.r.random() < p

    def key(self, family):
        if self.maybe(0.12):
            return self.pick(ALL_KEYS)
        return self.pick(FAMILY_KEYS[family])

    def keys(self, family, lo=1, hi=3):
        return [self.key(family) for _ in range(self.r.randint(lo, hi))]

    def int_(self):
        return self.pick(BAD_INTS) if self.maybe(0.08) else self.pick(GOOD_INTS)

    def count(self):
        if self.maybe(0.08):
            return self.pick(BAD_INTS + ["-1", "0"])
        return self.pick(["1", "2", "3", "5", "10", "100"])

    def float_(self):
        return self.pick(FLOATS) if self.maybe(0.3) else self.pick(GOOD_INTS + ["1.5", "-0.25"])

    def member(self):
        x = self.r.random()
        if x < 0.02:
            return LONG
        if x < 0.05:
            return str(self.r.randint(0, 40))
        return self.pick(MEMBERS)

    def members(self, lo=1, hi=4):
        if self.maybe(0.015):      # enough distinct members to leave a compact encoding
            n = self.pick([129, 200, 513, 600])
            ints = self.maybe()
            return [str(i) if ints else f"m{i}" for i in range(n)]
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    def value(self):
        x = self.r.random()
        if x < 0.03:
            return LONG
        if x < 0.05:
            return "w" * self.pick([44, 45])   # embstr ends at 44 bytes
        return self.pick(VALUES)

    def ttl(self, unit):
        """Expiry arguments: far in the future, in the past, or bad."""
        seconds = {"s": ["100000", "86400", "200000", "0", "-1", "-100"],
                   "ms": ["100000000", "86400000", "0", "-5"],
                   "at": ["1", "4102444800", "9999999999", "-1", "0"],
                   "pat": ["1", "4102444800000", "0"]}[unit]
        if self.maybe(0.1):
            return self.pick(["abc", "1.5", "9223372036854775807", "9223372036854775", ""])
        return self.pick(seconds)

    def expire_opts(self):
        if self.maybe(0.6):
            return []
        return self.r.sample(["NX", "XX", "GT", "LT"], self.r.randint(1, 2))

    def set_expiry(self):
        x = self.r.random()
        if x < 0.2:
            return ["EX", self.ttl("s")]
        if x < 0.3:
            return ["PX", self.ttl("ms")]
        if x < 0.4:
            return ["EXAT", self.ttl("at")]
        if x < 0.5:
            return ["PXAT", self.ttl("pat")]
        if x < 0.6:
            return ["KEEPTTL"]
        return []

    def timeout(self):
        return self.pick(["0.01"] * 8 + ["-1", "abc", "0.001"])

    def stream_id(self):
        return "*" if self.maybe(0.25) else self.pick(STREAM_IDS)

    def fields(self):
        n = self.r.randint(1, 3)
        out = []
        for _ in range(n):
            out += [self.pick(["f", "g", "h", "a"]), self.value()]
        return out

    def trim(self):
        if self.maybe(0.6):
            return []
        out = [self.pick(["MAXLEN", "MINID"])]
        if self.maybe(0.5):
            out.append(self.pick(["=", "~"]))
        out.append(self.pick(["0", "1", "2", "3", "5", "-1", "abc"]) if out[0] == "MAXLEN"
                   else self.pick(RANGE_IDS))
        if self.maybe(0.2):
            out += ["LIMIT", self.pick(["0", "1", "10", "-1", "abc"])]
        return out

    # --- the command table ----------------------------------------------
    def _table(self):
        g = self
        K = g.key
        return [
            # strings
            (4, lambda: ["GET", K("string")]),
            (5, lambda: ["SET", K("string"), g.value()] + g.r.sample(
                ["NX", "XX", "GET"], g.r.randint(0, 1) if g.maybe(0.8) else 2) + g.set_expiry()),
            (1, lambda: ["SETNX", K("string"), g.value()]),
            (1, lambda: ["SETEX", K("string"), g.ttl("s"), g.value()]),
            (1, lambda: ["PSETEX", K("string"), g.ttl("ms"), g.value()]),
            (1, lambda: ["GETSET", K("string"), g.value()]),
            (1, lambda: ["GETDEL", K("string")]),
            (2, lambda: ["GETEX", K("string")] + g.pick([[], ["PERSIST"], ["EX", g.ttl("s")],
                                                        ["PX", g.ttl("ms")], ["EXAT", g.ttl("at")],
                                                        ["PXAT", g.ttl("pat")], ["EX", "1", "PX", "1"]])),
            (2, lambda: ["MGET"] + g.keys("string", 1, 4)),
            (2, lambda: ["MSET"] + [x for _ in range(g.r.randint(1, 3)) for x in (K("string"), g.value())]),
            (1, lambda: ["MSETNX"] + [x for _ in range(g.r.randint(1, 3)) for x in (K("string"), g.value())]),
            (3, lambda: [g.pick(["INCR", "DECR"]), K("string")]),
            (3, lambda: [g.pick(["INCRBY", "DECRBY"]), K("string"), g.int_()]),
            (2, lambda: ["INCRBYFLOAT", K("string"), g.float_()]),
            (2, lambda: ["APPEND", K("string"), g.value()]),
            (1, lambda: ["STRLEN", K("string")]),
            (2, lambda: [g.pick(["GETRANGE", "SUBSTR"]), K("string"), g.int_(), g.int_()]),
            (2, lambda: ["SETRANGE", K("string"), g.pick(GOOD_INTS + ["20", "-1", "abc", "536870912"]),
                         g.value()]),
            # lists
            (5, lambda: [g.pick(["LPUSH", "RPUSH"]), K("list")] + g.members()),
            (1, lambda: [g.pick(["LPUSHX", "RPUSHX"]), K("list")] + g.members()),
            (1, lambda: ["LINSERT", K("list"), g.pick(["BEFORE", "AFTER", "before", "MIDDLE"]),
                         g.member(), g.member()]),
            (3, lambda: [g.pick(["LPOP", "RPOP"]), K("list")] + ([g.count()] if g.maybe(0.4) else [])),
            (2, lambda: ["LMOVE", K("list"), K("list"), g.pick(["LEFT", "RIGHT", "UP"]),
                         g.pick(["LEFT", "RIGHT"])]),
            (1, lambda: ["RPOPLPUSH", K("list"), K("list")]),
            (2, lambda: g._mpop("LMPOP", "list", ["LEFT", "RIGHT"])),
            (2, lambda: ["LLEN", K("list")]),
            (2, lambda: ["LINDEX", K("list"), g.int_()]),
            (4, lambda: ["LRANGE", K("list"), g.int_(), g.int_()]),
            (2, lambda: ["LPOS", K("list"), g.member()] + g._lpos_opts()),
            (1, lambda: ["LSET", K("list"), g.int_(), g.member()]),
            (1, lambda: ["LREM", K("list"), g.int_(), g.member()]),
            (1, lambda: ["LTRIM", K("list"), g.int_(), g.int_()]),
            (1, lambda: [g.pick(["BLPOP", "BRPOP"])] + g.keys("list", 1, 2) + [g.timeout()]),
            (1, lambda: ["BLMOVE", K("list"), K("list"), g.pick(["LEFT", "RIGHT"]),
                         g.pick(["LEFT", "RIGHT"]), g.timeout()]),
            (1, lambda: ["BRPOPLPUSH", K("list"), K("list"), g.timeout()]),
            (1, lambda: ["BLMPOP", g.timeout()] + g._mpop("LMPOP", "list", ["LEFT", "RIGHT"])[1:]),
            # hashes
            (5, lambda: [g.pick(["HSET", "HMSET"]), K("hash")] + g._field_values()),
            (1, lambda: ["HSETNX", K("hash"), g.member(), g.value()]),
            (3, lambda: ["HGET", K("hash"), g.member()]),
            (2, lambda: ["HMGET", K("hash")] + g.members()),
            (3, lambda: ["HGETALL", K("hash")]),
            (2, lambda: ["HDEL", K("hash")] + g.members()),
            (1, lambda: ["HEXISTS", K("hash"), g.member()]),
            (1, lambda: ["HLEN", K("hash")]),
            (2, lambda: [g.pick(["HKEYS", "HVALS"]), K("hash")]),
            (1, lambda: ["HSTRLEN", K("hash"), g.member()]),
            (2, lambda: ["HINCRBY", K("hash"), g.member(), g.int_()]),
            (2, lambda: ["HINCRBYFLOAT", K("hash"), g.member(), g.float_()]),
            (2, lambda: ["HRANDFIELD", K("hash")] + g._rand_opts("WITHVALUES")),
            (1, lambda: ["HSCAN", K("hash"), g._cursor()] + g._scan_opts()),
            # sets
            (5, lambda: ["SADD", K("set")] + g.members()),
            (2, lambda: ["SREM", K("set")] + g.members()),
            (3, lambda: ["SMEMBERS", K("set")]),
            (1, lambda: ["SISMEMBER", K("set"), g.member()]),
            (1, lambda: ["SMISMEMBER", K("set")] + g.members()),
            (2, lambda: ["SCARD", K("set")]),
            (2, lambda: ["SPOP", K("set")] + ([g.count()] if g.maybe(0.5) else [])),
            (2, lambda: ["SRANDMEMBER", K("set")] + ([g.int_()] if g.maybe(0.6) else [])),
            (1, lambda: ["SMOVE", K("set"), K("set"), g.member()]),
            (3, lambda: [g.pick(["SINTER", "SUNION", "SDIFF"])] + g.keys("set", 1, 3)),
            (2, lambda: [g.pick(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), K("set")] + g.keys("set", 1, 3)),
            (1, lambda: g._sintercard()),
            (1, lambda: ["SSCAN", K("set"), g._cursor()] + g._scan_opts()),
            # sorted sets
            (5, lambda: ["ZADD", K("zset")] + g._zadd_flags() + g._score_members()),
            (2, lambda: ["ZINCRBY", K("zset"), g.float_(), g.member()]),
            (2, lambda: ["ZREM", K("zset")] + g.members()),
            (2, lambda: ["ZSCORE", K("zset"), g.member()]),
            (1, lambda: ["ZMSCORE", K("zset")] + g.members()),
            (2, lambda: ["ZCARD", K("zset")]),
            (2, lambda: ["ZCOUNT", K("zset"), g.pick(SCORE_BOUNDS), g.pick(SCORE_BOUNDS)]),
            (1, lambda: ["ZLEXCOUNT", K("zset"), g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS)]),
            (2, lambda: [g.pick(["ZRANK", "ZREVRANK"]), K("zset"), g.member()]),
            (5, lambda: ["ZRANGE", K("zset")] + g._zrange_args()),
            (1, lambda: ["ZRANGESTORE", K("zset"), K("zset")] + g._zrange_args(scores=False)),
            (2, lambda: [g.pick(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), K("zset"), g.pick(SCORE_BOUNDS),
                         g.pick(SCORE_BOUNDS)] + g._withscores() + g._limit()),
            (2, lambda: ["ZREVRANGE", K("zset"), g.int_(), g.int_()] + g._withscores()),
            (2, lambda: [g.pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), K("zset"), g.pick(LEX_BOUNDS),
                         g.pick(LEX_BOUNDS)] + g._limit()),
            (1, lambda: ["ZREMRANGEBYRANK", K("zset"), g.int_(), g.int_()]),
            (1, lambda: ["ZREMRANGEBYSCORE", K("zset"), g.pick(SCORE_BOUNDS), g.pick(SCORE_BOUNDS)]),
            (1, lambda: ["ZREMRANGEBYLEX", K("zset"), g.pick(LEX_BOUNDS), g.pick(LEX_BOUNDS)]),
            (2, lambda: [g.pick(["ZPOPMIN", "ZPOPMAX"]), K("zset")] + ([g.count()] if g.maybe(0.5) else [])),
            (1, lambda: g._mpop("ZMPOP", "zset", ["MIN", "MAX"])),
            (1, lambda: [g.pick(["BZPOPMIN", "BZPOPMAX"])] + g.keys("zset", 1, 2) + [g.timeout()]),
            (1, lambda: ["BZMPOP", g.timeout()] + g._mpop("ZMPOP", "zset", ["MIN", "MAX"])[1:]),
            (2, lambda: g._zstore()),
            (1, lambda: ["ZSCAN", K("zset"), g._cursor()] + g._scan_opts()),
            (2, lambda: ["ZRANDMEMBER", K("zset")] + g._rand_opts("WITHSCORES")),
            # streams
            (6, lambda: ["XADD", K("stream")] + (["NOMKSTREAM"] if g.maybe(0.1) else []) + g.trim()
                + [g.stream_id()] + (g.fields() if g.maybe(0.95) else ["f"])),
            (1, lambda: ["XLEN", K("stream")]),
            (3, lambda: [g.pick(["XRANGE", "XREVRANGE"]), K("stream"), g.pick(RANGE_IDS),
                         g.pick(RANGE_IDS)] + (["COUNT", g.count()] if g.maybe(0.3) else [])),
            (1, lambda: ["XDEL", K("stream")] + [g.pick(STREAM_IDS) for _ in range(g.r.randint(1, 3))]),
            (1, lambda: ["XTRIM", K("stream")] + (g.trim() or ["MAXLEN", "2"])),
            (1, lambda: ["XSETID", K("stream"), g.pick(STREAM_IDS)]
                + (["ENTRIESADDED", g.pick(["0", "5", "100", "-1"])] if g.maybe(0.3) else [])
                + (["MAXDELETEDID", g.pick(STREAM_IDS)] if g.maybe(0.3) else [])),
            (2, lambda: ["XREAD"] + (["COUNT", g.count()] if g.maybe(0.4) else [])
                + (["BLOCK", g.pick(["10", "-1", "abc"])] if g.maybe(0.1) else [])
                + g._streams_ids(["$", "0", "1-1", "0-0", "3"])),
            (3, lambda: ["XGROUP", "CREATE", K("stream"), g.pick(GROUPS), g.pick(["$", "0", "1-1", "3", "abc"])]
                + (["MKSTREAM"] if g.maybe(0.5) else [])
                + (["ENTRIESREAD", g.pick(["0", "1", "5", "-1", "abc"])] if g.maybe(0.2) else [])),
            (1, lambda: ["XGROUP", "SETID", K("stream"), g.pick(GROUPS), g.pick(["$", "0", "1-1", "3"])]
                + (["ENTRIESREAD", g.pick(["0", "2", "-1"])] if g.maybe(0.3) else [])),
            (1, lambda: ["XGROUP", "DESTROY", K("stream"), g.pick(GROUPS)]),
            (1, lambda: ["XGROUP", g.pick(["CREATECONSUMER", "DELCONSUMER"]), K("stream"),
                         g.pick(GROUPS), g.pick(CONSUMERS)]),
            (4, lambda: ["XREADGROUP", "GROUP", g.pick(GROUPS), g.pick(CONSUMERS)]
                + (["COUNT", g.count()] if g.maybe(0.4) else [])
                + (["BLOCK", "10"] if g.maybe(0.05) else [])
                + (["NOACK"] if g.maybe(0.1) else [])
                + g._streams_ids([">", ">", ">", "0", "1-1", "$"])),
            (2, lambda: ["XACK", K("stream"), g.pick(GROUPS)] + [g.pick(STREAM_IDS) for _ in range(g.r.randint(1, 3))]),
            (2, lambda: g._xpending()),
            (2, lambda: g._xclaim()),
            (1, lambda: ["XAUTOCLAIM", K("stream"), g.pick(GROUPS), g.pick(CONSUMERS),
                         g.pick(["0", "0", "3600000000", "-1"]), g.pick(RANGE_IDS)]
                + (["COUNT", g.pick(["1", "2", "10", "0", "-1"])] if g.maybe(0.4) else [])
                + (["JUSTID"] if g.maybe(0.2) else [])),
            (2, lambda: g._xinfo()),
            # keys
            (3, lambda: [g.pick(["DEL", "UNLINK", "EXISTS", "TOUCH"])] + [g.pick(ALL_KEYS) for _ in range(g.r.randint(1, 3))]),
            (2, lambda: ["TYPE", g.pick(ALL_KEYS)]),
            (1, lambda: ["KEYS", g.pick(PATTERNS)]),
            (1, lambda: ["SCAN", g._cursor()] + g._scan_opts(types=True)),
            (2, lambda: [g.pick(["RENAME", "RENAMENX"]), g.pick(ALL_KEYS), g.pick(ALL_KEYS)]),
            (2, lambda: ["COPY", g.pick(ALL_KEYS), g.pick(ALL_KEYS)]
                + (["DB", g.pick(["0", "1", "1", "16", "-1", "abc"])] if g.maybe(0.3) else [])
                + (["REPLACE"] if g.maybe(0.4) else [])),
            (1, lambda: ["MOVE", g.pick(ALL_KEYS), g.pick(["1", "1", "0", "16", "abc"])]),
            (1, lambda: ["RANDOMKEY"]),
            (2, lambda: ["EXPIRE", g.pick(ALL_KEYS), g.ttl("s")] + g.expire_opts()),
            (1, lambda: ["PEXPIRE", g.pick(ALL_KEYS), g.ttl("ms")] + g.expire_opts()),
            (1, lambda: ["EXPIREAT", g.pick(ALL_KEYS), g.ttl("at")] + g.expire_opts()),
            (1, lambda: ["PEXPIREAT", g.pick(ALL_KEYS), g.ttl("pat")] + g.expire_opts()),
            (3, lambda: [g.pick(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), g.pick(ALL_KEYS)]),
            (1, lambda: ["PERSIST", g.pick(ALL_KEYS)]),
            (3, lambda: ["OBJECT", g.pick(["ENCODING"] * 4 + ["REFCOUNT", "BOGUS"]), g.pick(ALL_KEYS)]),
            (1, lambda: ["DBSIZE"]),
            (1, lambda: ["SELECT", g.pick(["0", "1", "0", "1", "16", "-1", "abc"])]),
            (0.3, lambda: ["SWAPDB", g.pick(["0", "1", "0"]), g.pick(["1", "0", "16", "abc"])]),
            (0.2, lambda: ["FLUSHDB"]),
            (1, lambda: ["ECHO", g.value()]),
            (1, lambda: ["PING"] + ([g.value()] if g.maybe() else [])),
            (0.5, lambda: [g.pick(["PUBLISH", "SPUBLISH"]), g.pick(["ch", "news"]), g.value()]),
            (0.5, lambda: [g.pick(["FOO", "GETT", "XFOO"]), g.value()]),
            (0.3, lambda: ["HELLO"] + g.pick([["2"], ["3"], ["4"], ["1"], ["abc"], ["3", "SETNAME", "x y"],
                                                ["2", "BOGUS"], ["3", "AUTH", "default"]])),
            # transactions
            (3, lambda: ["MULTI"]),
            (1, lambda: ["WATCH"] + [g.pick(ALL_KEYS) for _ in range(g.r.randint(1, 2))]),
            (0.5, lambda: ["UNWATCH"]),
            (0.3, lambda: [g.pick(["EXEC", "DISCARD"])]),
            (0.1, lambda: ["RESET"]),
        ]

    def _mpop(self, name, family, ends):
        ks = self.keys(family, 1, 3)
        n = str(len(ks)) if self.maybe(0.9) else self.pick(["0", "5", "-1", "abc"])
        out = [name, n] + ks + [self.pick(ends + [ends[0].lower(), "MIDDLE"])]
        if self.maybe(0.4):
            out += ["COUNT", self.count()]
        return out

    def _lpos_opts(self):
        out = []
        for opt, vals in (("RANK", ["1", "2", "-1", "-2", "0", "abc"]), ("COUNT", ["0", "1", "2", "-1"]),
                          ("MAXLEN", ["0", "1", "3", "-1"])):
            if self.maybe(0.3):
                out += [opt, self.pick(vals)]
        return out

    def _field_values(self):
        ms = self.members(1, 3)
        return [x for m in ms for x in (m, self.value())]

    def _rand_opts(self, withword):
        if self.maybe(0.3):
            return []
        out = [self.pick(["1", "2", "3", "5", "-1", "-3", "-5", "0", "abc", "100"])]
        if self.maybe(0.4):
            out.append(withword)
        return out

    def _cursor(self):
        return "0" if self.maybe(0.95) else self.pick(["abc", "", " 0", "1.5"])

    def _scan_opts(self, types=False):
        out = []
        if self.maybe(0.3):
            out += ["MATCH", self.pick(PATTERNS + ["a*", "1", "*e*"])]
        if self.maybe(0.4):
            out += ["COUNT", self.pick(["1", "2", "10", "1000", "0", "-1", "abc"])]
        if types and self.maybe(0.3):
            out += ["TYPE", self.pick(TYPES)]
        return out

    def _sintercard(self):
        ks = self.keys("set", 1, 3)
        n = str(len(ks)) if self.maybe(0.9) else self.pick(["0", "5", "abc"])
        out = ["SINTERCARD", n] + ks
        if self.maybe(0.3):
            out += ["LIMIT", self.pick(["0", "1", "2", "-1", "abc"])]
        return out

    def _zadd_flags(self):
        if self.maybe(0.5):
            return []
        return self.r.sample(["NX", "XX", "GT", "LT", "CH", "INCR"], self.r.randint(1, 2))

    def _score_members(self):
        ms = self.members(1, 3)
        return [x for m in ms for x in (self.pick(SCORES) if self.maybe(0.9) else self.float_(), m)]

    def _withscores(self):
        return ["WITHSCORES"] if self.maybe(0.4) else []

    def _limit(self):
        if self.maybe(0.7):
            return []
        return ["LIMIT", self.pick(["0", "1", "-1", "abc"]), self.pick(["1", "2", "-1", "0", "10"])]

    def _zrange_args(self, scores=True):
        mode = self.pick(["rank", "rank", "BYSCORE", "BYLEX"])
        if mode == "rank":
            out = [self.int_(), self.int_()]
        elif mode == "BYSCORE":
            out = [self.pick(SCORE_BOUNDS), self.pick(SCORE_BOUNDS), "BYSCORE"]
        else:
            out = [self.pick(LEX_BOUNDS), self.pick(LEX_BOUNDS), "BYLEX"]
        if self.maybe(0.3):
            out.append("REV")
        out += self._limit()
        if scores:
            out += self._withscores()
        return out

    def _zstore(self):
        ks = [self.key("zset") if self.maybe(0.8) else self.key("set") for _ in range(self.r.randint(1, 3))]
        n = str(len(ks)) if self.maybe(0.9) else self.pick(["0", "5", "-1", "abc"])
        out = [self.pick(["ZUNIONSTORE", "ZINTERSTORE"]), self.key("zset"), n] + ks
        if self.maybe(0.3):
            out += ["WEIGHTS"] + [self.pick(["1", "2", "0", "-1", "1.5", "inf", "abc"]) for _ in ks]
        if self.maybe(0.3):
            out += ["AGGREGATE", self.pick(["SUM", "MIN", "MAX", "AVG"])]
        return out

    def _streams_ids(self, ids):
        ks = self.keys("stream", 1, 2)
        n = len(ks) if self.maybe(0.95) else len(ks) + 1
        return ["STREAMS"] + ks + [self.pick(ids) for _ in range(n)]

    def _xpending(self):
        out = ["XPENDING", self.key("stream"), self.pick(GROUPS)]
        if self.maybe(0.5):
            if self.maybe(0.3):
                out += ["IDLE", self.pick(["0", "3600000000", "-1", "abc"])]
            out += [self.pick(RANGE_IDS[:8]), self.pick(RANGE_IDS[:8]), self.count()]
            if self.maybe(0.4):
                out.append(self.pick(CONSUMERS))
        return out

    def _xclaim(self):
        out = ["XCLAIM", self.key("stream"), self.pick(GROUPS), self.pick(CONSUMERS),
               self.pick(["0", "0", "3600000000", "-1", "abc"])]
        out += [self.pick(STREAM_IDS[:10]) for _ in range(self.r.randint(1, 3))]
        for opt, vals in (("IDLE", ["0", "5000", "-1"]), ("TIME", ["1", "4102444800000"]),
                          ("RETRYCOUNT", ["0", "3", "-1"]), ("FORCE", None), ("JUSTID", None),
                          ("LASTID", ["1-1", "5-0", "abc"])):
            if self.maybe(0.15):
                out += [opt] + ([self.pick(vals)] if vals else [])
        return out

    def _xinfo(self):
        k = self.key("stream")
        x = self.r.random()
        if x < 0.4:
            out = ["XINFO", "STREAM", k]
            if self.maybe(0.4):
                out.append("FULL")
                if self.maybe(0.3):
                    out += ["COUNT", self.pick(["0", "1", "2", "-1"])]
            return out
        if x < 0.7:
            return ["XINFO", "GROUPS", k]
        if x < 0.95:
            return ["XINFO", "CONSUMERS", k, self.pick(GROUPS)]
        return ["XINFO", "BOGUS", k]

    # --- mutation and the step stream ----------------------------------
    def mutate(self, args):
        """Wrong arities, junk options and bad values, applied to a well-formed command."""
        args = list(args)
        op = self.r.randint(0, 3)
        if op == 0 and len(args) > 1:
            del args[self.r.randrange(1, len(args))]
        elif op == 1:
            args.insert(self.r.randrange(1, len(args) + 1), self.pick(JUNK))
        elif op == 2 and len(args) > 1:
            args[self.r.randrange(1, len(args))] = self.pick(JUNK)
        else:
            args = args[:self.r.randint(1, max(1, len(args) - 1))]
        return args

    def step(self):
        """The next (client, args)."""
        client = self.r.randrange(self.nclients)
        if self.multi_left[client] == 1:
            self.multi_left[client] = 0
            return client, ["DISCARD" if self.maybe(0.15) else "EXEC"]
        x = self.r.random() * self.total
        for w, f in self.table:
            x -= w
            if x < 0:
                break
        args = f()
        if self.maybe(0.06):
            args = self.mutate(args)
        if self.maybe(0.2):
            args[0] = args[0].lower()
        if len(args) > 1 and args[0].upper() in ("OBJECT", "XINFO", "XGROUP") and self.maybe(0.2):
            args[1] = args[1].lower()
        name = args[0].upper()
        if name == "MULTI" and not self.multi_left[client]:
            self.multi_left[client] = self.r.randint(2, 7)
        elif name in ("EXEC", "DISCARD", "RESET"):
            self.multi_left[client] = 0
        elif self.multi_left[client]:
            self.multi_left[client] -= 1
        return client, args


def generate(seed, steps_lo=60, steps_hi=300, resp3_share=0.3):
    """The run a seed stands for: (resp, nclients, steps)."""
    rng = random.Random(seed)
    resp = 3 if rng.random() < resp3_share else 2
    nclients = 2 if rng.random() < 0.35 else 1
    gen = Gen(rng, nclients)
    n = rng.randint(steps_lo, steps_hi)
    return resp, nclients, [gen.step() for _ in range(n)]


# ---------------------------------------------------------------------------
# Comparing replies
# ---------------------------------------------------------------------------

class Approx:
    """A clock-dependent integer: equal to another within a tolerance."""

    def __init__(self, value, tolerance):
        self.value, self.tolerance = value, tolerance

    def __eq__(self, other):
        return isinstance(other, Approx) and abs(self.value - other.value) <= self.tolerance

    def __hash__(self):
        return 0

    def __repr__(self):
        return f"~{self.value}"


MASKED = "<masked>"


class OneOf:
    """A Parley stream ID that stands for one of several of redis-server's
    (the same ID made in two streams, where redis-server made two)."""

    def __init__(self, ids):
        self.ids = frozenset(ids)

    def __eq__(self, other):
        if isinstance(other, tuple) and len(other) == 2 and other[0] == "bulk":
            return other[1] in self.ids
        return isinstance(other, OneOf) and other.ids == self.ids

    def __hash__(self):
        return hash(self.ids)

    def __repr__(self):
        return f"one of {sorted(self.ids)}"


def canon(v):
    """A comparable form of a parsed reply that keeps every RESP type."""
    if isinstance(v, (Approx, OneOf, str)) and not isinstance(v, (Simple, Err)):
        return v
    if isinstance(v, Err):
        return ("err", str(v))
    if isinstance(v, Simple):
        return ("simple", str(v))
    if isinstance(v, Verbatim):
        return ("verbatim", v.fmt, bytes(v))
    if isinstance(v, bytes):
        return ("bulk", v)
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, float):
        return ("double", repr(v))
    if isinstance(v, dict):
        return ("map", tuple((canon(k), canon(x)) for k, x in v.items()))
    kind = "set" if isinstance(v, RSet) else "push" if isinstance(v, Push) else "array"
    return (kind, tuple(canon(x) for x in v))


def shape(v):
    """The reply's types and lengths, without its values."""
    if isinstance(v, dict):
        return ("map", len(v))
    if isinstance(v, list):
        return (type(v).__name__, tuple(shape(x) for x in v))
    return type(v).__name__


def sort_key(c):
    return repr(c)


def multiset(v):
    """An unordered collection's canonical form, keeping its RESP type."""
    if isinstance(v, dict):
        return ("map", sorted(((canon(k), canon(x)) for k, x in v.items()), key=sort_key))
    if isinstance(v, list):
        return (type(v).__name__, sorted((canon(x) for x in v), key=sort_key))
    return canon(v)


def pairs(v):
    """HGETALL-style flat [k, v, k, v] as a sorted list of pairs."""
    items = [(canon(v[i]), canon(v[i + 1])) for i in range(0, len(v) - 1, 2)]
    return (type(v).__name__, sorted(items, key=sort_key))


TTL_TOLERANCE = {"TTL": 2, "EXPIRETIME": 2, "PTTL": 2000, "PEXPIRETIME": 2000}
STREAM_TIME_NAMES = {b"idle", b"seen-time", b"active-time", b"inactive"}


def mask_stream_times(v, xpending_rows=False):
    """Stream replies with their clock-dependent numbers made approximate."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in STREAM_TIME_NAMES and isinstance(x, int):
                out[k] = Approx(x, 2000)
            elif k == b"radix-tree-nodes":
                out[k] = MASKED
            else:
                out[k] = mask_stream_times(x)
        return out
    if isinstance(v, list):
        if xpending_rows and len(v) == 4 and isinstance(v[2], int) and isinstance(v[0], bytes):
            return [v[0], v[1], Approx(v[2], 2000), v[3]]
        out = type(v)()
        prev = None
        for x in v:
            if isinstance(prev, bytes) and prev in STREAM_TIME_NAMES and isinstance(x, int):
                out.append(Approx(x, 2000))
            elif prev == b"radix-tree-nodes":
                out.append(MASKED)
            else:
                out.append(mask_stream_times(x, xpending_rows))
            prev = x
        return out
    if isinstance(v, int) and not isinstance(v, bool) and v >= 10 ** 12:
        return Approx(v, 2000)          # an absolute time in ms (delivery-time)
    return v


class Difference(Exception):
    def __init__(self, index, args, what, ours=None, theirs=None):
        super().__init__(what)
        self.index, self.args, self.what = index, args, what
        self.ours, self.theirs = ours, theirs

    @property
    def signature(self):
        kind = self.what.split(":")[0]
        return (self.args[0].upper() if self.args else "", kind)

    def __str__(self):
        return (f"step {self.index}: {' '.join(self.args)}\n  {self.what}\n"
                f"  parley: {self.ours!r}\n  redis:  {self.theirs!r}")


def upper(args, i):
    return args[i].upper() if len(args) > i else ""


def is_random(args):
    return upper(args, 0) in ("SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER", "RANDOMKEY")


def is_auto_xadd(args):
    """XADD whose ID argument is `*` (after the key and the options)."""
    if upper(args, 0) != "XADD":
        return False
    i = 2
    while i < len(args):
        t = args[i].upper()
        if t == "NOMKSTREAM":
            i += 1
        elif t in ("MAXLEN", "MINID"):
            i += 1
            if i < len(args) and args[i] in ("=", "~"):
                i += 1
            i += 1
            if upper(args, i) == "LIMIT":
                i += 2
        else:
            break
    return i < len(args) and args[i] == "*"


BLOCKING_TIMEOUT_AT = {"BLPOP": -1, "BRPOP": -1, "BLMOVE": -1, "BRPOPLPUSH": -1, "BZPOPMIN": -1,
                       "BZPOPMAX": -1, "BLMPOP": 1, "BZMPOP": 1}


def blocks_for_ever(args):
    """A blocking command whose timeout is 0 (or whose XREAD/XREADGROUP
    BLOCK is 0): on an empty key both servers would wait for ever."""
    name = upper(args, 0)
    if name in BLOCKING_TIMEOUT_AT and len(args) > 2:
        timeout = args[BLOCKING_TIMEOUT_AT[name]]
    elif name in ("XREAD", "XREADGROUP"):
        at = [i for i, a in enumerate(args[:-1]) if a.upper() == "BLOCK"]
        if not at:
            return False
        timeout = args[at[0] + 1]
    else:
        return False
    try:
        return float(timeout) == 0
    except ValueError:
        return False


def is_relative_gt_lt(args):
    """EXPIRE or PEXPIRE with GT or LT: compares now + TTL with the key's expiry."""
    return upper(args, 0) in ("EXPIRE", "PEXPIRE") and len(args) > 3 and \
        any(a.upper() in ("GT", "LT") for a in args[3:])


def is_lex_range(args):
    name = upper(args, 0)
    if name in ("ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"):
        return len(args) > 1
    return name in ("ZRANGE", "ZRANGESTORE") and len(args) > 2 and any(a.upper() == "BYLEX" for a in args)


SCAN_CURSOR = {"SCAN": 1, "SSCAN": 2, "HSCAN": 2, "ZSCAN": 2}
ORDERED_ENCODINGS = {b"intset", b"listpack", b"ziplist"}


# ---------------------------------------------------------------------------
# Running a sequence on both servers
# ---------------------------------------------------------------------------

IO_TIMEOUT = 10.0


class Live:
    """One server's client connections for a session."""

    def __init__(self, port, nclients, resp):
        self.conns = []
        for _ in range(nclients):
            c = RawConn(port, timeout=IO_TIMEOUT)
            self.conns.append(c)
            if resp == 3:
                reply = c.call("HELLO", "3")
                assert not isinstance(reply, Err), reply
        self.sent = 0

    def send(self, client, payload):
        self.conns[client].send(payload)

    def read(self, client):
        c = self.conns[client]
        value = c.read()
        return value, c.last_raw

    def call(self, client, *args):
        return self.conns[client].call(*args)

    def close(self):
        for c in self.conns:
            c.close()


class Recorded:
    """redis-server's replies as a regression test recorded them."""

    def __init__(self, replies):
        self.replies = list(replies)

    def send(self, client, payload):
        pass

    def read(self, client):
        raw = self.replies.pop(0)
        if raw is None:
            return None, None
        value, end = _parse(raw, 0)
        assert end == len(raw), f"recorded reply has trailing bytes: {raw!r}"
        return value, raw

    def close(self):
        pass


class Session:
    """Sends steps to Parley (ours) and to redis-server (theirs) and compares
    the replies. `live` is False when theirs is a recording: then nothing can
    be asked of it beyond the reply (random commands are not compared)."""

    def __init__(self, ours, theirs, live=True):
        self.ours, self.theirs, self.live = ours, theirs, live
        self.ids = {}                          # Parley's XADD * ID -> redis-server's (a set)
        self.queued = collections.defaultdict(list)
        self.in_multi = set()
        self.stats = collections.Counter()
        self.index = 0
        self.replies = []                      # (args, parley raw, redis raw) per step sent

    def step(self, client, args):
        """Runs one step; raises Difference. Returns False if it was not sent."""
        self.index += 1
        if client in self.in_multi and is_random(args):
            return False                       # why("random"): no way to compare it in EXEC
        if client not in self.in_multi and blocks_for_ever(args):
            why("timing")
            return False
        if client in self.in_multi and upper(args, 0) == "HELLO":
            why("multi-local")
            return False
        if is_lex_range(args) and (client in self.in_multi or self.lex_unspecified(client, args)):
            why("lex-mixed-scores")
            return False
        pre = None
        if self.live and is_random(args):
            pre = self.pre_state(client, args)
        elif self.live and is_relative_gt_lt(args) and client not in self.in_multi:
            pre = self.theirs.call(client, "PEXPIRETIME", args[1])
        payload = resp_encode(*args)
        try:
            self.ours.send(client, payload)
        except OSError as e:
            raise Difference(self.index, args, f"crash: parley connection failed on send ({e})")
        self.theirs.send(client, payload)
        try:
            ours, ours_raw = self.ours.read(client)
        except (Closed, ConnectionError) as e:
            raise Difference(self.index, args, f"crash: parley closed the connection ({e})")
        except socket.timeout:
            raise Difference(self.index, args, "hang: parley did not answer in time")
        theirs, theirs_raw = self.theirs.read(client)
        self.replies.append((args, ours_raw, theirs_raw))
        self.stats["commands"] += 1
        if theirs_raw is None:                 # a recording without this reply (random)
            self.stats["unchecked"] += 1
        elif ours_raw == theirs_raw:
            self.stats["exact"] += 1
        else:
            what = self.compare(client, args, ours, theirs, pre, in_exec=False)
            if what:
                raise Difference(self.index, args, what, ours_raw, theirs_raw)
            self.stats["normalised"] += 1
        self.track_multi(client, args, ours)
        return True

    def track_multi(self, client, args, reply):
        name = upper(args, 0)
        if name == "MULTI" and reply == "OK":
            self.in_multi.add(client)
            self.queued[client] = []
        elif name in ("EXEC", "DISCARD", "RESET") and (not isinstance(reply, Err) or reply.startswith("EXECABORT")):
            # (one refused for its arity leaves the transaction open, but EXECABORT ends it)
            self.in_multi.discard(client)
            self.queued[client] = []
        elif client in self.in_multi and reply == "QUEUED":
            self.queued[client].append(args)

    def lex_unspecified(self, client, args):
        """Whether a lex range on this key is unspecified in Redis: a
        skiplist whose members' scores differ (asked of Parley, whose data
        is redis-server's so far)."""
        key = args[2] if upper(args, 0) == "ZRANGESTORE" else args[1]
        if self.ours.call(client, "OBJECT", "ENCODING", key) != b"skiplist":
            return False
        held = self.ours.call(client, "ZRANGE", key, "0", "-1", "WITHSCORES")
        return len(set(to_map(held, float_values=True).values())) > 1

    # --- comparison ---------------------------------------------------
    def translate(self, v):
        """Parley's XADD * IDs replaced by redis-server's; why("stream-auto-id")."""
        if not self.ids:
            return v
        if isinstance(v, bytes) and not isinstance(v, Verbatim):
            ids = self.ids.get(bytes(v))
            if ids is None:
                return v
            self.translated = True
            return next(iter(ids)) if len(ids) == 1 else OneOf(ids)
        if isinstance(v, dict):
            return {self.translate(k): self.translate(x) for k, x in v.items()}
        if isinstance(v, list):
            return type(v)(self.translate(x) for x in v)
        return v

    def compare(self, client, args, ours, theirs, pre, in_exec):
        """None when the replies count as the same, else what differs."""
        if is_auto_xadd(args) and type(ours) is bytes and type(theirs) is bytes:
            # why("stream-auto-id"). Two streams may get the same ID from
            # Parley and different ones from redis-server: then either.
            self.ids.setdefault(bytes(ours), set()).add(bytes(theirs))
            return None
        self.translated = False
        translated = self.translate(ours)
        if canon(translated) == canon(theirs):
            if in_exec or self.translated:
                return None                    # equal once the IDs are translated
            return "differs: same value, other encoding on the wire"
        ours = translated
        if isinstance(ours, Err) or isinstance(theirs, Err):
            return "differs"
        name = upper(args, 0)
        if name == "EXEC":
            return self.compare_exec(client, ours, theirs)
        if name in ("SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS", "KEYS", "HGETALL"):
            why("unordered")
            same = (pairs(ours) == pairs(theirs) if name == "HGETALL" and isinstance(ours, list)
                    and not isinstance(ours, RSet) else multiset(ours) == multiset(theirs))
            if not same:
                return "differs (compared as multisets)"
            if name in ("SMEMBERS", "HKEYS", "HVALS", "HGETALL") and self.live and not in_exec:
                enc = self.theirs.call(client, "OBJECT", "ENCODING", args[1])
                if enc in ORDERED_ENCODINGS:
                    return f"differs: order, while redis-server's encoding ({enc.decode()}) is ordered"
            return None
        if name in SCAN_CURSOR:
            return self.compare_scan(client, args, ours, theirs, in_exec)
        if is_random(args):
            why("random")
            if not self.live or in_exec:
                return None
            return self.compare_random(client, args, ours, theirs, pre)
        if is_relative_gt_lt(args) and {ours, theirs} == {0, 1}:
            why("ttl")
            if in_exec:
                return None
            if isinstance(pre, int) and pre >= 0:
                unit = 1000 if name == "EXPIRE" else 1
                new = time.time() * 1000 + int(args[2]) * unit
                if abs(pre - new) <= 2000:
                    return None
            return "differs (GT/LT with expiries further apart than the clock tolerance)"
        if name in TTL_TOLERANCE:
            why("ttl")
            if isinstance(ours, int) and isinstance(theirs, int) and ours >= 0 and theirs >= 0 \
                    and abs(ours - theirs) <= TTL_TOLERANCE[name]:
                return None
            return "differs (beyond the clock tolerance)"
        if name in ("XPENDING", "XINFO"):
            why("stream-time")
            why("radix-tree-nodes")
            rows = name == "XPENDING" and len(args) > 3
            if canon(mask_stream_times(ours, rows)) == canon(mask_stream_times(theirs, rows)):
                return None
            return "differs (clock-dependent values masked)"
        if name == "HELLO":
            why("hello")
            if not isinstance(ours, Err) and not isinstance(theirs, Err) and shape(ours) == shape(theirs):
                return None
            return "differs"
        if name == "DBSIZE":
            why("expiry-cycle")
            if in_exec:
                return None
            if self.live and self.agree_eventually(client, ("DBSIZE",)):
                return None
            return "differs (also after waiting for the expiry cycles)"
        if name == "OBJECT" and upper(args, 1) == "REFCOUNT":
            why("refcount")
            if isinstance(ours, int) and isinstance(theirs, int) and ours > 0 and theirs > 0:
                return None
        return "differs"

    def agree_eventually(self, client, args, timeout=5.0):
        """Whether both servers come to answer args alike (a clock-driven
        change such as an expiry cycle pending on one of them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if canon(self.ours.call(client, *args)) == canon(self.theirs.call(client, *args)):
                return True
            time.sleep(0.02)
        return False

    def compare_exec(self, client, ours, theirs):
        queued = self.queued[client]
        if not (isinstance(ours, list) and isinstance(theirs, list)) or len(ours) != len(theirs) \
                or len(ours) != len(queued):
            return "differs (EXEC)"
        for i, (a, o, t) in enumerate(zip(queued, ours, theirs)):
            what = self.compare(client, a, o, t, None, in_exec=True)
            if what:
                return f"{what} in EXEC at {i}: {' '.join(a)}: parley {canon(o)!r} redis {canon(t)!r}"
        return None

    def compare_scan(self, client, args, ours, theirs, in_exec):
        """why("scan"): continue each scan to cursor 0 and compare the unions."""
        why("scan")
        if not (isinstance(ours, list) and isinstance(theirs, list) and len(ours) == 2 == len(theirs)):
            return "differs (SCAN reply shape)"
        name = upper(args, 0)
        at = SCAN_CURSOR[name]
        if args[at] != "0":
            return None                        # a position in each server's tables
        pair_elems = name in ("HSCAN", "ZSCAN")

        def gather(side, first):
            cursor, elems, seen = first[0], list(first[1]), 0
            while cursor != b"0":
                if in_exec or not self.live:
                    return None
                seen += 1
                assert seen < 10000, "scan did not end"
                nxt = list(args)
                nxt[at] = cursor
                reply = side.call(client, *nxt)
                cursor, more = reply[0], reply[1]
                elems += more
            if pair_elems:
                return {(canon(elems[i]), canon(elems[i + 1])) for i in range(0, len(elems) - 1, 2)}
            return {canon(e) for e in elems}

        side_ours = gather(self.ours, ours)
        side_theirs = gather(self.theirs, theirs)
        if side_ours is None or side_theirs is None:
            return None if in_exec or not self.live else "differs (SCAN)"
        if side_ours != side_theirs and name == "SCAN" and self.live and not in_exec and \
                any(a.upper() == "TYPE" for a in args):
            # why("expiry-cycle"): SCAN ... TYPE none in Redis 7.0 lists a key whose
            # time has passed until its expiry cycle deletes it. Scan both again.
            deadline = time.monotonic() + 5
            while side_ours != side_theirs and time.monotonic() < deadline:
                time.sleep(0.02)
                side_ours = gather(self.ours, self.ours.call(client, *args))
                side_theirs = gather(self.theirs, self.theirs.call(client, *args))
        if side_ours != side_theirs:
            if in_exec and any(a.upper() == "TYPE" for a in args):
                return None                    # why("expiry-cycle"): cannot be asked again
            return f"differs: scan returned {sorted(side_ours, key=sort_key)} against {sorted(side_theirs, key=sort_key)}"
        return None

    # --- random commands ------------------------------------------------
    def pre_state(self, client, args):
        """What each server's key held before a random command."""
        name = upper(args, 0)
        if name != "RANDOMKEY" and len(args) < 2:
            return None
        query = {"SPOP": ("SMEMBERS",), "SRANDMEMBER": ("SMEMBERS",), "HRANDFIELD": ("HGETALL",),
                 "ZRANDMEMBER": ("ZRANGE", "0", "-1", "WITHSCORES"), "RANDOMKEY": ("KEYS", "*")}[name]
        q = [query[0]] + ([] if name == "RANDOMKEY" else [args[1]]) + list(query[1:])
        out = []
        for side in (self.ours, self.theirs):
            v = side.call(client, *q)
            if isinstance(v, Err):
                out.append(None)
            elif name in ("HRANDFIELD", "ZRANDMEMBER"):
                out.append(to_map(v, float_values=name == "ZRANDMEMBER"))
            else:
                out.append(set(v))
        return out

    def compare_random(self, client, args, ours, theirs, pre):
        if shape(ours) != shape(theirs):
            return "differs: reply shape"
        if pre is None:
            return "differs"
        for who, v, held in (("parley", ours, pre[0]), ("redis", theirs, pre[1])):
            bad = check_sample(args, v, held)
            if bad:
                return f"differs: {who} {bad}"
        if upper(args, 0) == "SPOP":
            popped_ours = set(ours) if isinstance(ours, list) else {ours} - {None}
            popped_theirs = set(theirs) if isinstance(theirs, list) else {theirs} - {None}
            back, gone = popped_theirs - popped_ours, popped_ours - popped_theirs
            if back:
                self.theirs.call(client, "SADD", args[1], *back)
            if gone:
                self.theirs.call(client, "SREM", args[1], *gone)
        return None


def to_map(v, float_values):
    """HGETALL / ZRANGE WITHSCORES in RESP2 or RESP3 as {member: value}."""
    if isinstance(v, dict):
        items = list(v.items())
    elif v and isinstance(v[0], list):
        items = [(x[0], x[1]) for x in v]
    else:
        items = [(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]
    return {m: (float(x) if float_values else x) for m, x in items}


def check_sample(args, v, held):
    """Whether a random command's reply could come from what the key held."""
    name = upper(args, 0)
    if held is None:
        return "answered although the key could not be read"
    if name == "RANDOMKEY" or len(args) == 2:
        if v is None:
            return None if not held else "answered nil for a non-empty key"
        return None if v in held else f"answered {v!r}, not in {sorted(held)}"
    try:
        count = int(args[2])
    except ValueError:
        return "answered a bad count without an error"
    with_values = len(args) > 3
    items = v
    if with_values:
        if items and isinstance(items[0], list):
            items = [(x[0], x[1]) for x in items]
        else:
            items = [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        for m, x in items:
            want = held.get(m)
            if want is None or (float(x) if isinstance(want, float) else x) != want:
                return f"answered {m!r} with {x!r}, the key held {want!r}"
        members = [m for m, _ in items]
    else:
        members = list(items)
    if any(m not in held for m in members):
        return f"answered members not in the key: {members}"
    if name == "SPOP" or count >= 0:
        if len(set(members)) != len(members):
            return "answered a member twice"
        if len(members) != min(count, len(held)):
            return f"answered {len(members)} members for count {count} of {len(held)}"
    elif len(members) != (abs(count) if held else 0):
        return f"answered {len(members)} members for count {count}"
    return None


# ---------------------------------------------------------------------------
# The two servers
# ---------------------------------------------------------------------------

class Servers:
    def __init__(self, workdir, redis_path, verbose=False):
        self.workdir, self.redis_path, self.verbose = workdir, redis_path, verbose
        self.generation = 0
        self.node = None
        self.redis = None
        self.start_parley()
        self.start_redis()

    # A free port can be taken by someone else before a server binds it:
    # each start is tried again on new ports.
    START_ATTEMPTS = 3

    def start_parley(self):
        for attempt in range(self.START_ATTEMPTS):
            self.generation += 1
            base = os.path.join(self.workdir, f"parley{self.generation}")
            os.makedirs(base)
            self.node = Node(base)
            try:
                self.node.start()
                wait_writable(self.node)
                return
            except AssertionError:
                self.node.kill()
                if attempt + 1 == self.START_ATTEMPTS:
                    raise

    def start_redis(self):
        for attempt in range(self.START_ATTEMPTS):
            self.redis_port = free_port()
            d = os.path.join(self.workdir, f"redis{self.generation}-{attempt}")
            os.makedirs(d, exist_ok=True)
            self.redis = subprocess.Popen(
                [self.redis_path, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", d, "--hz", "100"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def up():
                if self.redis.poll() is not None:
                    raise AssertionError("redis-server exited")
                with RawConn(self.redis_port, timeout=1) as c:
                    return c.call("PING") == "PONG"
            try:
                wait_until(up, 10, message="redis-server to start")
                return
            except AssertionError:
                self.redis.kill()
                self.redis.wait(10)
                if attempt + 1 == self.START_ATTEMPTS:
                    raise

    def healthy(self):
        """Restarts a server that died or hangs; returns what happened to Parley."""
        note = None
        try:
            with RawConn(self.node.port, timeout=5) as c:
                c.call("PING")
        except (OSError, Closed):
            code = self.node.proc.poll()
            note = (f"parley-server {'exited with ' + str(code) if code is not None else 'stopped answering'}"
                    f"; its log ends:\n{self.node.log_tail(15)}")
            self.node.kill()
            self.start_parley()
        if self.redis.poll() is not None:
            self.start_redis()
        return note

    def flush(self):
        for port in (self.node.port, self.redis_port):
            with RawConn(port, timeout=IO_TIMEOUT) as c:
                assert c.call("FLUSHALL") == "OK"

    def stop(self):
        code = self.node.stop()
        self.redis.kill()
        self.redis.wait(10)
        return code


def execute(servers, resp, nclients, steps, verbose=False):
    """Runs steps on freshly flushed servers: (Session, Difference or None)."""
    servers.flush()
    ours = Live(servers.node.port, nclients, resp)
    theirs = Live(servers.redis_port, nclients, resp)
    session = Session(ours, theirs)
    diff = None
    try:
        for client, args in steps:
            if verbose:
                print(f"  [{client}] {' '.join(args)}")
            session.step(client, args)
    except Difference as d:
        diff = d
    finally:
        ours.close()
        theirs.close()
    return session, diff


# ---------------------------------------------------------------------------
# Shrinking (delta debugging) and printing a test
# ---------------------------------------------------------------------------

def shrink(servers, resp, nclients, steps, signature, budget_s=300):
    """The smallest sequence (ddmin, then simpler options) that still shows a
    difference with the same signature."""
    deadline = time.monotonic() + budget_s
    tries = collections.Counter()

    def fails(resp_, candidate):
        if time.monotonic() > deadline:
            return False
        tries["runs"] += 1
        n = max(c for c, _ in candidate) + 1 if candidate else 1
        _, d = execute(servers, resp_, n, candidate)
        servers.healthy()
        return d is not None and d.signature == signature

    # Everything after the failing step is irrelevant.
    _, d = execute(servers, resp, nclients, steps)
    servers.healthy()
    if d is None or d.signature != signature:
        return resp, steps, False
    steps = steps[:d.index]
    n = 2
    while len(steps) >= 2:
        size = len(steps) // n
        chunks = [steps[i:i + size] for i in range(0, len(steps), size)]
        reduced = False
        for i in range(len(chunks)):
            complement = [s for j, c in enumerate(chunks) if j != i for s in c]
            if fails(resp, complement):
                steps, n, reduced = complement, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(steps):
                break
            n = min(n * 2, len(steps))
    if resp == 3 and fails(2, steps):
        resp = 2
    one_client = [(0, a) for _, a in steps]
    if any(c for c, _ in steps) and fails(resp, one_client):
        steps = one_client
    return resp, steps, time.monotonic() <= deadline


def py(args):
    return "(" + ", ".join(repr(a) for a in args) + ("," if len(args) == 1 else "") + ")"


def print_test(servers, seed, resp, steps, diff):
    """Replays the shrunk sequence and prints it as a regression test."""
    nclients = max(c for c, _ in steps) + 1
    session, d = execute(servers, resp, nclients, steps)
    servers.healthy()
    name = "_".join(diff.args[0].lower().split()) if diff.args else "x"
    print("\n# ---- paste into tests/integration/test_differential_regressions.py ----")
    print(f"def test_{name}_seed_{seed}(server):")
    print(f'    """TODO: what Redis 7.0 does here. tests/fuzz/differential.py --seed {seed} found:')
    for line in str(d or diff).splitlines():
        print(f"    {line}")
    print('    """')
    print(f"    replay(server.port, resp={resp}, steps=[")
    recorded = {id(a): theirs_raw for a, _, theirs_raw in session.replies}
    for client, args in steps:
        if id(args) not in recorded:
            continue                   # not sent (a random command inside MULTI)
        rec = recorded[id(args)]
        if is_random(args):
            print(f"        ({client}, {py(args)}, None),  # random: not compared")
        else:
            print(f"        ({client}, {py(args)}, {rec!r}),")
    print("    ])")
    print("# ---- end ----\n")


def replay(port, steps, resp=2):
    """Runs recorded steps [(client, args, redis-server's raw reply)] against
    the Parley on `port` (after FLUSHALL) and fails on the first reply that
    differs, compared as the fuzzer compares it. A reply recorded as None is
    not compared (random commands)."""
    with RawConn(port, timeout=IO_TIMEOUT) as c:
        assert c.call("FLUSHALL") == "OK"
    nclients = max(s[0] for s in steps) + 1
    ours = Live(port, nclients, resp)
    session = Session(ours, Recorded(s[2] for s in steps), live=False)
    try:
        for client, args, _ in steps:
            session.step(client, list(args))
    except Difference as d:
        raise AssertionError(str(d)) from None
    finally:
        ours.close()
    return session


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_seeds(text):
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, help="run seeds from --start until this much time has passed")
    ap.add_argument("--seeds", help="run exactly these seeds, as A-B")
    ap.add_argument("--seed", type=int, help="run one seed")
    ap.add_argument("--start", type=int, help="first seed for --seconds (default: random)")
    ap.add_argument("--max-seconds", type=float, help="stop (without failing) after this long")
    ap.add_argument("--steps", default="60-300", help="commands per seed, as A-B")
    ap.add_argument("--resp3-share", type=float, default=0.3)
    ap.add_argument("--keep-going", action="store_true", help="after a difference, go on with the next seed")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--server", default=os.environ.get("PARLEY_SERVER", os.path.join(ROOT, "build", "parley-server")))
    opts = ap.parse_args()
    os.environ["PARLEY_SERVER"] = opts.server
    import conftest
    conftest.SERVER = opts.server

    redis_path = shutil.which("redis-server")
    if redis_path is None:
        sys.exit("differential: redis-server is not installed (scripts/deps.sh installs it)")
    if opts.seed is not None:
        seeds = [opts.seed]
    elif opts.seeds:
        seeds = parse_seeds(opts.seeds)
    elif opts.seconds:
        start = opts.start if opts.start is not None else random.randrange(1 << 30)
        seeds = iter(range(start, 1 << 62))
    else:
        ap.error("give --seconds, --seeds or --seed")
    lo, _, hi = opts.steps.partition("-")
    steps_lo, steps_hi = int(lo), int(hi or lo)
    limit = opts.max_seconds or opts.seconds

    # SIGTERM unwinds like Ctrl-C, so that both servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    workdir = tempfile.mkdtemp(prefix="parley-diff-")
    servers = Servers(workdir, redis_path, opts.verbose)
    started = time.monotonic()
    totals = collections.Counter()
    found = {}
    last_report = started
    ran = 0
    try:
        for seed in seeds:
            if limit and time.monotonic() - started > limit:
                break
            resp, nclients, steps = generate(seed, steps_lo, steps_hi, opts.resp3_share)
            if opts.verbose:
                print(f"seed {seed}: RESP{resp}, {nclients} client(s), {len(steps)} steps")
            try:
                session, diff = execute(servers, resp, nclients, steps, opts.verbose)
            except Exception:
                # A bug of this program, not a difference: say so, go on if asked.
                totals["fuzzer errors"] += 1
                print(f"\nseed {seed}: the fuzzer itself failed:\n{traceback.format_exc()}")
                servers.healthy()
                if not opts.keep_going:
                    break
                continue
            ran += 1
            totals.update(session.stats)
            note = servers.healthy()
            if diff is not None:
                totals["differences"] += 1
                print(f"\nseed {seed} (RESP{resp}, {nclients} client(s)): {diff}")
                if note:
                    print(note)
                if diff.signature in found:
                    print(f"  (same as seed {found[diff.signature]}: not shrunk again)")
                else:
                    found[diff.signature] = seed
                    if not opts.no_shrink:
                        r2, small, _ = shrink(servers, resp, nclients, steps, diff.signature)
                        print_test(servers, seed, r2, small, diff)
                if not opts.keep_going:
                    break
            now = time.monotonic()
            if now - last_report > 30:
                last_report = now
                print(f"[{now - started:.0f}s] {ran} seeds, {totals['commands']} commands compared")
                sys.stdout.flush()
    except (KeyboardInterrupt, SystemExit):
        print("differential: interrupted")
        totals["interrupted"] += 1
    finally:
        code = servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    print(f"differential: {ran} seeds, {totals['commands']} commands compared in {elapsed:.0f}s "
          f"({totals['exact']} identical, {totals['normalised']} equal after a documented "
          f"normalisation), {totals['differences']} difference(s)"
          + (f" with {len(found)} distinct signature(s): {sorted(found)}" if found else ""))
    if totals["fuzzer errors"]:
        print(f"differential: the fuzzer failed on {totals['fuzzer errors']} seed(s)")
    if code != 0:
        print(f"differential: parley-server exited with {code} at the end")
        return 1
    return 1 if totals["differences"] or totals["fuzzer errors"] or totals["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main())
