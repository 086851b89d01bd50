"""DUMP and RESTORE of streams in Redis 7.0's serialization (RDB type 19,
and type 15 of Redis 5 and 6 read): entries (deleted ones too, several
listpacks), the stream's counters, consumer groups with their pending
entries, consumers, last delivered IDs and entries read move between
redis-server 7.0 and Parley in both directions and come out the same in
XRANGE, XINFO STREAM FULL, XINFO GROUPS, XINFO CONSUMERS and XPENDING.
Damaged payloads are refused with "Bad data format" and never stop a node;
every replica of a cluster restores the same stream, and until every
member reads these payloads (cluster protocol version 3) every node refuses
them alike."""
import os
import random
import threading

import pytest
import redis

from conftest import wait_until
from exact import exact_client
from test_dump import cluster_version, crc64, run, wait_version
from testhooks import needs_test_hooks

@pytest.fixture
def pair(server, redis_ref):
    ours = exact_client(server, decode=False)
    theirs = exact_client(redis_ref, decode=False)
    for c in (ours, theirs):
        c.flushall()
        c.execute_command("CONFIG", "SET", "stream-node-max-entries", "4")
    theirs.execute_command("CONFIG", "SET", "rdbcompression", "yes")
    wait_version(ours)
    yield ours, theirs
    for c in (ours, theirs):
        c.execute_command("CONFIG", "SET", "stream-node-max-entries", "100")


def fill(c, key="st"):
    """A stream with several blocks, deleted and trimmed entries, fields
    that change, integer-like and long values, and three groups: one with
    pending entries of two consumers (one of them for a deleted entry),
    one that read nothing, one never read with no consumers."""
    rng = random.Random(7)
    for i in range(1, 30):
        if i % 7 == 0:
            fields = ["other", str(i), "n", str(-i * 1000)]
        else:
            fields = ["name", f"item{i}", "count", str(i * 12345), "blob", "x" * rng.choice([1, 70, 5000])]
        c.execute_command("XADD", key, f"{1000 + i // 3}-{i % 3}", *fields)
    c.execute_command("XGROUP", "CREATE", key, "workers", "0")
    c.execute_command("XGROUP", "CREATE", key, "idle", "$")
    c.execute_command("XGROUP", "CREATE", key, "late", "1003-0")
    c.execute_command("XREADGROUP", "GROUP", "workers", "alice", "COUNT", "5", "STREAMS", key, ">")
    c.execute_command("XREADGROUP", "GROUP", "workers", "bob", "COUNT", "4", "STREAMS", key, ">")
    c.execute_command("XGROUP", "CREATECONSUMER", key, "workers", "carol")
    c.execute_command("XACK", key, "workers", "1001-0")
    c.execute_command("XCLAIM", key, "workers", "bob", "0", "1000-2")
    c.execute_command("XDEL", key, "1000-1", "1002-1", "1005-0", "1005-1", "1005-2")
    c.execute_command("XTRIM", key, "MINID", "1000-2")


def state(c, key="st"):
    def consumers(g):
        out = []
        for k in c.execute_command("XINFO", "CONSUMERS", key, g):
            d = dict(zip(k[::2], k[1::2]))
            d.pop(b"idle")
            out.append(d)
        return out
    full = c.execute_command("XINFO", "STREAM", key, "FULL")
    full[full.index(b"radix-tree-nodes") + 1] = None  # Parley's is a stand-in (t_stream_info.c)
    groups = c.execute_command("XINFO", "GROUPS", key)
    names = [g[1] for g in groups]
    return {
        "range": c.execute_command("XRANGE", key, "-", "+"),
        "full": full,
        "groups": groups,
        "consumers": {g: consumers(g) for g in names},
        "pending": {g: c.execute_command("XPENDING", key, g) for g in names},
        "pending_ext": {g: [p[:2] + p[3:] for p in c.execute_command("XPENDING", key, g, "-", "+", 100)]
                        for g in names},
    }


def test_a_stream_dumped_by_redis_restores_into_parley(pair):
    ours, theirs = pair
    fill(theirs)
    payload = theirs.execute_command("DUMP", "st")
    assert payload[0] == 19
    assert ours.execute_command("RESTORE", "st", 0, payload) == b"OK"
    assert state(ours) == state(theirs)
    # A copy (the snapshot form's encode and decode) is the same stream.
    assert ours.execute_command("COPY", "st", "st_copy") == 1
    assert state(ours, "st_copy") == state(ours)
    # It lives on: XADD, reads and deletions do what they do in Redis.
    for c in (ours, theirs):
        c.execute_command("XADD", "st", "1010-0", "name", "new")
        c.execute_command("XREADGROUP", "GROUP", "late", "dave", "COUNT", "3", "STREAMS", "st", ">")
        c.execute_command("XDEL", "st", "1009-1")
        c.execute_command("XADD", "st", "MAXLEN", "~", "10", "1010-1", "name", "newer")
    a, b = state(ours), state(theirs)
    for k in ("range", "groups", "pending"):
        assert a[k] == b[k], k


def test_restore_serves_a_reader_blocked_on_the_key(pair, server, redis_ref):
    ours, theirs = pair
    theirs.execute_command("XADD", "src", "7-1", "f", "v")
    payload = theirs.execute_command("DUMP", "src")
    got = {}
    for name, node, c in (("parley", server, ours), ("redis", redis_ref, theirs)):
        reader = exact_client(node, decode=False)
        t = threading.Thread(target=lambda n=name, r=reader: got.__setitem__(
            n, r.execute_command("XREAD", "BLOCK", 20000, "STREAMS", "blocked", "$")))
        t.start()
        wait_until(lambda c=c: b"blocked_clients:1" in c.execute_command("INFO", "clients"), 10,
                   message=f"the reader to block on {name}")
        assert c.execute_command("RESTORE", "blocked", 0, payload) == b"OK"
        t.join(20)
        assert not t.is_alive()
    assert got["parley"] == got["redis"] == [[b"blocked", [[b"7-1", [b"f", b"v"]]]]], got


def test_a_stream_dumped_by_parley_restores_into_redis_and_back(pair):
    ours, theirs = pair
    fill(ours)
    payload = ours.execute_command("DUMP", "st")
    assert payload[0] == 19
    assert theirs.execute_command("RESTORE", "st", 0, payload) == b"OK"
    assert state(theirs) == state(ours)
    back = theirs.execute_command("DUMP", "st")
    assert ours.execute_command("RESTORE", "st2", 0, back) == b"OK"
    assert state(ours, "st2") == state(ours, "st")
    # Parley to Parley: the same bytes again (blocks keep their bounds).
    assert ours.execute_command("DUMP", "st2") == payload


def test_edge_streams_move_both_ways(pair):
    ours, theirs = pair
    for c in (ours, theirs):
        c.execute_command("XADD", "emptied", "5-5", "f", "v")
        c.execute_command("XDEL", "emptied", "5-5")
        c.execute_command("XGROUP", "CREATE", "made", "g", "$", "MKSTREAM")
        c.execute_command("XADD", "one", "18446744073709551615-18446744073709551614", "", "")
        c.execute_command("XADD", "bin", "1-1", b"\x00\xff", bytes(range(256)), "f" * 70000, "12")
    for key in ("emptied", "made", "one", "bin"):
        for src, dst in ((theirs, ours), (ours, theirs)):
            dst.execute_command("RESTORE", key + "_c", 0, src.execute_command("DUMP", key))
            assert state(dst, key + "_c") == state(src, key), key
            dst.execute_command("DEL", key + "_c")


def rdb_len(b, i):
    t = b[i] >> 6
    if t == 0:
        return b[i] & 0x3F, i + 1
    if t == 1:
        return ((b[i] & 0x3F) << 8) | b[i + 1], i + 2
    assert b[i] in (0x80, 0x81)
    w = 4 if b[i] == 0x80 else 8
    return int.from_bytes(b[i + 1:i + 1 + w], "big"), i + 1 + w


def put_len(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n < 2 ** 32:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def with_footer(body, version=10):
    data = body + version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def as_type_15(payload):
    """Redis 7.0's type-19 payload (uncompressed) as Redis 6 wrote it: type
    15, without first ID, largest deleted ID, entries added and each
    group's entries read."""
    b = payload[:-10]
    assert b[0] == 19
    out = bytearray(b"\x0f")
    i = 1
    n, i = rdb_len(b, i)
    start = i
    for _ in range(2 * n):  # node keys and listpacks: plain strings
        ln, i = rdb_len(b, i)
        i += ln
    out += b[1:i]
    for _ in range(3):  # length, last ID
        v, i = rdb_len(b, i)
        out += put_len(v)
    for _ in range(5):  # first ID, max deleted ID, entries added: dropped
        v, i = rdb_len(b, i)
    groups, i = rdb_len(b, i)
    out += put_len(groups)
    for _ in range(groups):
        ln, i = rdb_len(b, i)
        out += put_len(ln) + b[i:i + ln]
        i += ln
        for _ in range(2):
            v, i = rdb_len(b, i)
            out += put_len(v)
        _, i = rdb_len(b, i)  # entries read: dropped
        rest_start = i
        pel, i = rdb_len(b, i)
        for _ in range(pel):
            i += 24
            _, i = rdb_len(b, i)
        consumers, i = rdb_len(b, i)
        for _ in range(consumers):
            ln, i = rdb_len(b, i)
            i += ln + 8
            ids, i = rdb_len(b, i)
            i += 16 * ids
        out += b[rest_start:i]
    assert i == len(b) and start
    return with_footer(bytes(out), 9)


def test_redis_6_streams_restore_as_redis_7_restores_them(pair):
    ours, theirs = pair
    theirs.execute_command("CONFIG", "SET", "rdbcompression", "no")
    fill(theirs)
    old = as_type_15(theirs.execute_command("DUMP", "st"))
    theirs.execute_command("DEL", "st")
    assert theirs.execute_command("RESTORE", "st", 0, old) == b"OK"
    assert ours.execute_command("RESTORE", "st", 0, old) == b"OK"
    assert state(ours) == state(theirs)


def test_damaged_stream_payloads_are_refused_and_the_node_lives(pair):
    ours, theirs = pair
    theirs.execute_command("CONFIG", "SET", "rdbcompression", "no")
    theirs.execute_command("XADD", "s", "1-1", "a", "1", "b", "2")
    theirs.execute_command("XADD", "s", "2-0", "a", "3", "b", "4")
    theirs.execute_command("XADD", "s", "3-0", "c", "5")
    theirs.execute_command("XGROUP", "CREATE", "s", "g", "0")
    theirs.execute_command("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
    theirs.execute_command("XDEL", "s", "2-0")
    good = theirs.execute_command("DUMP", "s")[:-10]
    cases = [good[:n] for n in range(1, len(good))]  # cut anywhere
    rng = random.Random(5)
    for _ in range(300):  # a byte changed anywhere
        i = rng.randrange(1, len(good))
        cases.append(good[:i] + bytes([rng.randrange(256)]) + good[i + 1:])
    accepted = 0
    for body in cases:
        p = with_footer(body)
        got = run(ours, "RESTORE", "x", 0, p, "REPLACE")
        if got == b"OK":  # a change that still describes a stream: it must be usable
            accepted += 1
            ours.execute_command("XINFO", "STREAM", "x", "FULL")
            ours.execute_command("XADD", "x", "*", "f", "v")
            ours.execute_command("DUMP", "x")
            ours.execute_command("DEL", "x")
        else:
            assert got == ("error", "ERR Bad data format"), body
    assert 0 < accepted < len(cases) / 2, accepted
    assert ours.execute_command("PING") == b"PONG"


# Streams that parse but describe what no stream can be, each refused.
def test_inconsistent_streams_are_refused(pair):
    ours, _ = pair
    key = put_len(16) + (1).to_bytes(8, "big") + (1).to_bytes(8, "big")

    def lp(*elems):
        body = b""
        for e in elems:
            if isinstance(e, int):
                assert 0 <= e < 128
                body += bytes([e, 1])
            else:
                assert len(e) < 64
                body += bytes([0x80 | len(e)]) + e + bytes([1 + len(e)])
        total = 6 + len(body) + 1
        data = total.to_bytes(4, "little") + len(elems).to_bytes(2, "little") + body + b"\xff"
        return put_len(len(data)) + data

    one_entry = lp(1, 0, 1, b"f", 0, 2, 0, 0, b"v", 4)  # entry 1-1, f=v
    tail = put_len(1) + put_len(1) + put_len(1) + put_len(1) + put_len(1) + put_len(0) + put_len(0) + put_len(1)

    def stream(nodes, length=1, last=(1, 1), groups=b"\x00"):
        body = b"\x13" + put_len(len(nodes)) + b"".join(nodes)
        body += put_len(length) + put_len(last[0]) + put_len(last[1])
        body += put_len(1) + put_len(1) + put_len(0) + put_len(0) + put_len(1) + groups
        return with_footer(body)

    def group(pel_ids, consumer_ids, name=b"g"):
        g = put_len(len(name)) + name + put_len(1) + put_len(1) + put_len(1)
        g += put_len(len(pel_ids)) + b"".join(i.to_bytes(8, "big") * 2 + bytes(8) + put_len(1) for i in pel_ids)
        g += put_len(1) + put_len(1) + b"c" + bytes(8) + put_len(len(consumer_ids))
        g += b"".join(i.to_bytes(8, "big") * 2 for i in consumer_ids)
        return g

    assert tail
    ok = stream([key + one_entry])
    assert ours.execute_command("RESTORE", "ok", 0, ok) == b"OK"
    assert ours.execute_command("XRANGE", "ok", "-", "+") == [[b"1-1", [b"f", b"v"]]]
    ok_group = stream([key + one_entry], groups=put_len(1) + group([1], [1]))
    assert ours.execute_command("RESTORE", "okg", 0, ok_group) == b"OK"
    bad = {
        "length lies": stream([key + one_entry], length=2),
        "last ID below the last entry": stream([key + one_entry], last=(1, 0)),
        "live count lies": stream([key + lp(2, 0, 1, b"f", 0, 2, 0, 0, b"v", 4)]),
        "an entry count lies": stream([key + lp(1, 0, 1, b"f", 0, 2, 0, 0, b"v", 5)]),
        "no fields": stream([key + lp(1, 0, 0, 0, 0, 0, 0, 0, 3)]),
        "two nodes out of order": stream([key + one_entry, key + one_entry], length=2),
        "a node key of 15 bytes": stream([put_len(15) + bytes(15) + one_entry]),
        "pending without consumer": stream([key + one_entry], groups=put_len(1) + group([1], [])),
        "consumer pending not in the group": stream([key + one_entry], groups=put_len(1) + group([], [1])),
        "pending twice in a consumer": stream([key + one_entry], groups=put_len(1) + group([1], [1, 1])),
        "a group twice": stream([key + one_entry], groups=put_len(2) + group([], []) + group([], [])),
        "unknown flags": stream([key + lp(1, 0, 1, b"f", 0, 4, 0, 0, b"v", 4)]),
    }
    for what, p in bad.items():
        assert run(ours, "RESTORE", "bad", 0, p) == ("error", "ERR Bad data format"), what
        assert ours.execute_command("EXISTS", "bad") == 0


def test_replicas_restore_the_same_stream(make_cluster, redis_ref):
    theirs = exact_client(redis_ref, decode=False)
    theirs.flushall()
    fill(theirs)
    c = make_cluster().start()
    cl = c.leader().client(decode_responses=False)
    wait_version(cl)
    assert cl.execute_command("RESTORE", "st", 0, theirs.execute_command("DUMP", "st")) == b"OK"
    c.wait_converged()  # the replicas' RAFT DIGESTs (streams included) are equal
    want = state(theirs)
    for n in c.nodes:
        nc = exact_client(n, decode=False)
        nc.execute_command("READONLY")
        assert state(nc) == want, n.node_id


@needs_test_hooks
def test_an_older_member_keeps_streams_out_on_every_node(make_cluster, redis_ref):
    """While a member runs a build of version 2 (which answers "Bad data
    format" to a stream payload), every node answers that, and nothing is
    restored anywhere; once it is upgraded, the same RESTORE works."""
    theirs = exact_client(redis_ref, decode=False)
    theirs.flushall()
    fill(theirs)
    payload = theirs.execute_command("DUMP", "st")
    c = make_cluster()
    c.nodes[2].env = dict(os.environ, PARLEY_TEST_PROTOCOL_VERSION="2")
    c.start()
    leader = exact_client(c.leader(), decode=False)
    wait_until(lambda: cluster_version(leader) == 2, 20, message="the cluster to run version 2")
    leader.execute_command("XADD", "mine", "1-1", "f", "v")
    for n in c.nodes:
        nc = exact_client(n, decode=False)
        assert run(nc, "RESTORE", "st", 0, payload) == ("error", "ERR Bad data format")
        assert run(nc, "DUMP", "mine") == ("error", "ERR DUMP of a stream is not supported by Parley")
    c.wait_converged()
    for n in c.nodes:
        nc = exact_client(n, decode=False)
        nc.execute_command("READONLY")
        assert nc.execute_command("EXISTS", "st") == 0
    c.nodes[2].stop()
    c.nodes[2].env = None
    c.nodes[2].start()
    wait_version(leader)
    assert leader.execute_command("RESTORE", "st", 0, payload) == b"OK"
    c.wait_converged()
