"""Keyspace notifications (notify-keyspace-events, issue 13): the events a
subscriber receives on Parley are those redis-server 7.0 sends for the same
commands, class by class; and on a cluster a subscriber on a follower
receives, in log order, the events of writes sent to the leader, the
expirations and the evictions included. Key misses (class m) come from the
node that ran the read.

Each comparison subscribes to every keyspace and keyevent channel
(PSUBSCRIBE __key*__:*) and to a marker channel, runs the same commands on
both servers, publishes the marker, and compares everything received before
it, in order."""
import redis
import pytest

from conftest import Cluster, memory_measured, wait_until
from test_dump import payload
from exact import err, exact_client

MARKER = "notify-test-marker"

# A broad sequence over every command family. Each command must give the
# same reply on both servers (checked), so nothing here depends on time or
# randomness in its reply.
SEQUENCE = [
    # strings
    ("SET", "s1", "v"), ("SET", "s1", "w", "EX", "100"), ("SET", "s1", "x", "NX"),
    ("SET", "s1", "y", "XX", "KEEPTTL"), ("SETNX", "s2", "1"), ("SETNX", "s2", "1"),
    ("SETEX", "s3", "100", "v"), ("PSETEX", "s4", "100000", "v"), ("GETSET", "s2", "5"),
    ("MSET", "m1", "1", "m2", "2"), ("MSETNX", "m1", "1", "m9", "9"), ("MSETNX", "m7", "1", "m8", "9"),
    ("INCR", "c"), ("DECR", "c"), ("INCRBY", "c", "5"), ("DECRBY", "c", "2"),
    ("INCRBYFLOAT", "f", "1.5"), ("APPEND", "s2", "x"), ("APPEND", "new", "x"),
    ("SETRANGE", "s2", "1", "yy"), ("SETRANGE", "s2", "0", ""), ("SETRANGE", "sr", "2", "ab"),
    ("GETEX", "s2", "EX", "100"), ("GETEX", "s2", "PERSIST"), ("GETEX", "s2", "PERSIST"),
    ("GETEX", "m2", "PXAT", "1"), ("GETDEL", "m1"), ("GETDEL", "m1"),
    ("INCR", "s3"),  # an error: no event
    ("SET", "past", "v", "PXAT", "1"), ("SET", "past", "w"),  # expired, then set anew
    # keys
    ("DEL", "s4", "nope"), ("UNLINK", "s3"), ("EXPIRE", "c", "100"), ("PEXPIRE", "c", "100000"),
    ("EXPIREAT", "c", "99999999999"), ("PEXPIREAT", "f", "1"), ("PERSIST", "c"), ("PERSIST", "c"),
    ("EXPIRE", "c", "100", "NX"), ("EXPIRE", "c", "10", "GT"), ("EXPIRE", "nope", "10"),
    ("RENAME", "c", "c2"), ("RENAMENX", "c2", "s2"), ("RENAMENX", "c2", "c3"), ("RENAME", "c3", "c3"),
    ("COPY", "c3", "c4"), ("COPY", "c3", "c4"), ("COPY", "c3", "c4", "REPLACE"),
    ("COPY", "c3", "c5", "DB", "1"), ("MOVE", "c4", "2"), ("MOVE", "s2", "1"),
    ("EXPIRE", "c3", "-1"),
    # lists
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "l", "e"), ("RPUSHX", "nol", "e"),
    ("LINSERT", "l", "BEFORE", "a", "z"), ("LINSERT", "l", "BEFORE", "nothere", "z"),
    ("LSET", "l", "0", "q"), ("LREM", "l", "0", "z"), ("LREM", "l", "0", "nothere"),
    ("LTRIM", "l", "0", "3"), ("LPOP", "l"), ("RPOP", "l", "1"), ("LPOP", "l", "0"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l2"), ("LMOVE", "l2", "l2", "LEFT", "LEFT"),
    ("RPUSH", "l3", "x"), ("LMPOP", "2", "nol", "l3", "LEFT"), ("BLPOP", "l2", "0"),
    ("BRPOP", "l2", "0"), ("RPUSH", "l4", "1", "2"), ("BLMOVE", "l4", "l5", "RIGHT", "LEFT", "0"),
    ("BRPOPLPUSH", "l4", "l5", "0"), ("BLMPOP", "0", "1", "l5", "RIGHT", "COUNT", "5"),
    ("RPUSH", "l6", "1"), ("LTRIM", "l6", "5", "10"),
    # hashes
    ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"),
    ("HSETNX", "h", "a", "1"), ("HSETNX", "h", "d", "4"), ("HINCRBY", "h", "a", "2"),
    ("HINCRBYFLOAT", "h", "x", "1.5"), ("HDEL", "h", "a", "nope"), ("HDEL", "h", "nope"),
    ("HDEL", "h", "b", "c", "d", "x"), ("HINCRBY", "h2", "n", "1"),
    # sets
    ("SADD", "st", "a", "b", "c", "d"), ("SADD", "st", "a"), ("SREM", "st", "a", "z"),
    ("SREM", "st", "z"), ("SMOVE", "st", "st2", "b"), ("SMOVE", "st", "st2", "nope"),
    ("SADD", "one", "x"), ("SMOVE", "one", "st2", "x"), ("SMOVE", "st2", "st2", "x"),
    ("SADD", "st3", "1", "2", "3"), ("SINTERSTORE", "si", "st3", "st3"), ("SUNIONSTORE", "su", "st3", "st2"),
    ("SDIFFSTORE", "sd", "st3", "st3"), ("SDIFFSTORE", "si", "st3", "st3"), ("SINTERSTORE", "su", "st3", "nope"),
    ("SADD", "sp", "1"), ("SPOP", "sp"), ("SADD", "sp2", "1", "2"), ("SPOP", "sp2", "5"),
    ("SADD", "sp3", "1", "2", "3"), ("SPOP", "sp3", "0"),
    # sorted sets
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "5", "a"),
    ("ZADD", "z", "NX", "9", "a"), ("ZADD", "z", "INCR", "1", "a"), ("ZINCRBY", "z", "1", "b"),
    ("ZREM", "z", "a", "nope"), ("ZREM", "z", "nope"), ("ZADD", "z", "XX", "1", "nope"),
    ("ZRANGESTORE", "zr", "z", "0", "-1"), ("ZRANGESTORE", "zr", "z", "5", "10"),
    ("ZREMRANGEBYSCORE", "z", "0", "2"), ("ZREMRANGEBYRANK", "z", "5", "9"),
    ("ZADD", "zl", "0", "a", "0", "b"), ("ZREMRANGEBYLEX", "zl", "-", "+"),
    ("ZADD", "zp", "1", "a", "2", "b", "3", "c"), ("ZPOPMIN", "zp"), ("ZPOPMAX", "zp", "5"),
    ("ZADD", "zp", "1", "a"), ("BZPOPMIN", "zp", "0"), ("ZADD", "zp", "1", "a", "2", "b"),
    ("BZPOPMAX", "zp", "0"), ("ZMPOP", "1", "zp", "MIN"), ("ZADD", "zp", "1", "a"),
    ("BZMPOP", "0", "1", "zp", "MAX", "COUNT", "3"),
    ("ZADD", "za", "1", "x", "2", "y"), ("ZADD", "zb", "3", "y"), ("ZUNIONSTORE", "zu", "2", "za", "zb"),
    ("ZINTERSTORE", "zi", "2", "za", "zb"), ("ZINTERSTORE", "zu", "2", "za", "nope"),
    ("ZUNIONSTORE", "zx", "1", "nope"),
    # geo (a sorted set underneath)
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOSEARCHSTORE", "gs", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "ASC"),
    ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gr"),
    ("GEORADIUSBYMEMBER", "g", "Palermo", "1", "km", "STORE", "gr"),
    ("GEOSEARCHSTORE", "gs", "nope", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    # bitmaps and hyperloglogs
    ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "1"), ("BITOP", "OR", "b2", "b", "b"),
    ("BITOP", "AND", "b2", "nope"), ("BITFIELD", "b", "SET", "u8", "0", "255"),
    ("BITFIELD", "b", "GET", "u8", "0"), ("BITFIELD", "bf", "INCRBY", "u2", "0", "5", "OVERFLOW", "FAIL",
                                          "INCRBY", "u2", "0", "5"),
    ("PFADD", "hl", "a", "b"), ("PFADD", "hl", "a"), ("PFADD", "hl2"), ("PFMERGE", "hl3", "hl", "hl2"),
    # dump and restore
    ("RESTORE", "rs", "0", payload(b"\x00\x01v")), ("RESTORE", "rs", "0", payload(b"\x00\x01w"), "REPLACE"),
    ("RESTORE", "rs", "1", payload(b"\x00\x01w"), "REPLACE", "ABSTTL"),
    # sort
    ("RPUSH", "srt", "3", "1", "2"), ("SORT", "srt", "STORE", "srtd"), ("SORT", "nope", "STORE", "srtd"),
    # streams
    ("XADD", "x", "1-1", "f", "v"), ("XADD", "x", "1-2", "f", "v"), ("XADD", "x", "MAXLEN", "1", "1-3", "f", "v"),
    ("XADD", "nox", "NOMKSTREAM", "*", "f", "v"), ("XDEL", "x", "1-3"), ("XDEL", "x", "1-3"),
    ("XADD", "x", "2-1", "f", "v"), ("XADD", "x", "2-2", "f", "v"), ("XTRIM", "x", "MAXLEN", "1"),
    ("XTRIM", "x", "MAXLEN", "5"), ("XSETID", "x", "5-0"),
    ("XGROUP", "CREATE", "x", "g1", "0"), ("XGROUP", "CREATE", "x2", "g1", "$", "MKSTREAM"),
    ("XGROUP", "SETID", "x", "g1", "0"), ("XGROUP", "CREATECONSUMER", "x", "g1", "alice"),
    ("XGROUP", "CREATECONSUMER", "x", "g1", "alice"), ("XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "x", ">"),
    ("XACK", "x", "g1", "2-2"), ("XCLAIM", "x", "g1", "carol", "0", "2-2"),
    ("XGROUP", "DELCONSUMER", "x", "g1", "alice"), ("XGROUP", "DELCONSUMER", "x", "g1", "nobody"),
    ("XGROUP", "DESTROY", "x", "g1"), ("XGROUP", "DESTROY", "x", "g1"),
    # transactions and scripts
    ("EVAL", "redis.call('set', KEYS[1], 'v'); redis.call('lpush', KEYS[2], 'x'); return 1", "2",
     "ev1", "ev2"),
    # in another database
    ("SELECT", "3"), ("SET", "d3", "v"), ("DEL", "d3"), ("SELECT", "0"),
    # whole databases: no events
    ("SWAPDB", "0", "1"), ("SWAPDB", "0", "1"), ("FLUSHDB",),
]


def run(port, flags, sequence, multi=None):
    """Runs sequence on one server with notify-keyspace-events flags and
    returns (replies, events): events as (pattern channel, channel, data)
    in the order received."""
    c = redis.Redis(port=port, decode_responses=True, socket_timeout=15)
    c.flushall()
    c.config_set("notify-keyspace-events", flags)
    sub = redis.Redis(port=port, decode_responses=True, socket_timeout=15).pubsub()
    sub.psubscribe("__key*__:*")
    sub.subscribe(MARKER)
    confirmed = 0
    while confirmed < 2:
        m = sub.get_message(timeout=5)
        assert m is not None, "no subscription confirmation"
        confirmed += m["type"] in ("psubscribe", "subscribe")
    e = exact_client(type("N", (), {"port": port}))
    replies = []
    for cmd in sequence:
        try:
            replies.append(e.execute_command(*cmd))
        except redis.ResponseError as x:
            replies.append(("error", str(x)))
    if multi:
        p = e.pipeline(transaction=True)
        for cmd in multi:
            p.execute_command(*cmd)
        replies.append(p.execute(raise_on_error=False))
    e.execute_command("PUBLISH", MARKER, "end")
    events = []
    while True:
        m = sub.get_message(timeout=10)
        assert m is not None, f"the marker never came; events so far: {events[-5:]}"
        if m["type"] == "message" and m["channel"] == MARKER:
            break
        if m["type"] == "pmessage":
            events.append((m["channel"], m["data"]))
    sub.close()
    c.config_set("notify-keyspace-events", "")
    e.execute_command("SELECT", "0")
    e.close()
    c.close()
    return replies, events


def compare(server, redis_ref, flags, sequence=SEQUENCE, multi=None):
    mine_replies, mine = run(server.port, flags, sequence, multi)
    ref_replies, ref = run(redis_ref.port, flags, sequence, multi)
    for cmd, a, b in zip(sequence, mine_replies, ref_replies):
        assert a == b, f"{cmd}: Parley {a!r}, Redis {b!r}"
    # The first difference, with its neighbourhood, says which command.
    for i, (a, b) in enumerate(zip(mine, ref)):
        assert a == b, f"event {i}: Parley {a!r}, Redis {b!r}; around: {ref[max(0, i - 3):i + 3]}"
    assert len(mine) == len(ref), f"Parley {mine[len(ref):]!r}, Redis {ref[len(mine):]!r}"
    return mine


def test_every_event_as_redis_sends_it(server, redis_ref):
    events = compare(server, redis_ref, "KEA")
    names = {data for ch, data in events if ch.startswith("__keyspace@")}
    # The sequence reaches the families it claims to.
    for name in ("set", "expire", "del", "rename_from", "copy_to", "move_to", "lpush", "lpop",
                 "hset", "hdel", "sadd", "spop", "sinterstore", "zadd", "zincr", "zrangestore",
                 "geosearchstore", "georadiusstore", "setbit", "pfadd", "sortstore", "xadd",
                 "xtrim", "xgroup-createconsumer", "xsetid", "persist", "incrbyfloat"):
        assert name in names, name


def test_transaction_events_as_redis(server, redis_ref):
    compare(server, redis_ref, "KEA", sequence=[("SET", "t0", "1")],
            multi=[("SET", "t1", "1"), ("INCR", "t1"), ("LPUSH", "t1", "x"), ("DEL", "t0"),
                   ("RPUSH", "t2", "y")])


@pytest.mark.parametrize("flags", ["Kl", "E$", "Kgz", "Es", "Ehx", "Kt", "KA", "EA", "A", "KEg$n",
                                   "KEAm", "Em"])
def test_narrower_classes_as_redis(server, redis_ref, flags):
    compare(server, redis_ref, flags)


def test_config_as_redis(server, redis_ref):
    mine = exact_client(server)
    ref = redis.Redis(port=redis_ref.port, decode_responses=True)
    for flags in ["", "KEA", "g", "KEAmn", "Ag$lshzxeKEtmdn", "K$lshzxetd", "Eg$", "KgE", "d", "x"]:
        assert mine.execute_command("CONFIG", "SET", "notify-keyspace-events", flags) == "OK"
        ref.config_set("notify-keyspace-events", flags)
        assert mine.execute_command("CONFIG", "GET", "notify-keyspace-events") == \
            ["notify-keyspace-events", ref.config_get("notify-keyspace-events")["notify-keyspace-events"]]
    bad = err(mine, "CONFIG", "SET", "notify-keyspace-events", "KEq")
    assert bad == ("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
                   "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    mine.execute_command("CONFIG", "SET", "notify-keyspace-events", "")
    ref.config_set("notify-keyspace-events", "")
    mine.close()


def test_expired_key_event_before_the_next_write(server, redis_ref):
    """A key whose time passed is deleted with an expired event (by active
    expiry, or by the next command that meets it) before that command's
    own events, on both servers."""
    for port in (server.port, redis_ref.port):
        c = redis.Redis(port=port, decode_responses=True)
        c.flushall()
        c.config_set("notify-keyspace-events", "KEA")
        sub = redis.Redis(port=port, decode_responses=True).pubsub()
        sub.psubscribe("__keyevent@0__:*")
        assert sub.get_message(timeout=5)["type"] == "psubscribe"
        c.set("e1", "v", px=1)
        wait_until(lambda: c.pttl("e1") == -2, 5, message="e1 to pass its time")
        c.set("e1", "w")
        got = collect(sub, lambda ev: len(ev) >= 4, message="four events")
        assert got == [("__keyevent@0__:set", "e1"), ("__keyevent@0__:expire", "e1"),
                       ("__keyevent@0__:expired", "e1"), ("__keyevent@0__:set", "e1")], port
        c.config_set("notify-keyspace-events", "")
        sub.close()


def key_misses(port, args):
    """The keys of the keymiss events one call fires on an empty keyspace
    (notify-keyspace-events Em), in order."""
    c = redis.Redis(port=port, decode_responses=True, socket_timeout=15)
    sub = redis.Redis(port=port, decode_responses=True, socket_timeout=15).pubsub()
    sub.subscribe("__keyevent@0__:keymiss", MARKER)
    confirmed = 0
    while confirmed < 2:
        m = sub.get_message(timeout=5)
        assert m is not None, "no subscription confirmation"
        confirmed += m["type"] == "subscribe"
    c.flushall()
    c.config_set("notify-keyspace-events", "Em")
    raw = redis.Redis(port=port, socket_timeout=15)
    raw.response_callbacks.clear()  # replies as sent: only the events matter
    try:
        raw.execute_command(*args)
    except redis.ResponseError:
        pass
    raw.close()
    c.config_set("notify-keyspace-events", "")
    c.publish(MARKER, "end")
    keys = []
    while True:
        m = sub.get_message(timeout=10)
        assert m is not None, f"the marker never came after {args}"
        if m["type"] != "message":
            continue
        if m["channel"] == MARKER:
            break
        keys.append(m["data"])
    sub.close()
    c.close()
    return keys


def test_key_miss_of_every_command_as_redis(server, redis_ref):
    """The commands that fire keymiss for a key that is not there, and for
    which of their keys, are Redis 7.0's: reads (GET, EXISTS, TYPE, TTL,
    SCARD...), and the writes that read a key as a read does (GETDEL,
    GETSET, SET ... GET, COPY's source, the *STORE commands' sources,
    PFMERGE, XACK, XCLAIM); not the other writes (LPOP, INCR), nor OBJECT."""
    from test_command_table import KEYED_CALLS, EDGE_CALLS
    calls = [line.split() for line in (KEYED_CALLS + EDGE_CALLS).split("\n") if line.strip()]
    differ, fired = {}, 0
    for args in calls:
        name = args[0].lower()
        if name in ("ssubscribe", "sunsubscribe", "watch"):
            continue  # no key lookup, and not allowed on a plain connection
        if name == "xread":
            continue  # Redis looks each stream up twice (two events); Parley once
        if " ".join(args) in ("zunionstore d 3 a b", "sort k store"):
            continue  # refused for their syntax: by Redis before it looks a key up
        if name in ("blpop", "brpop", "bzpopmin", "bzpopmax", "brpoplpush", "blmove"):
            args = args[:-1] + ["0.01"]
        elif name in ("blmpop", "bzmpop"):
            args = [args[0], "0.01"] + args[2:]
        want = key_misses(redis_ref.port, args)
        got = key_misses(server.port, args)
        fired += bool(want)
        if got != want:
            differ[" ".join(args)] = (got, want)
    assert differ == {}
    assert fired > 100
    assert key_misses(server.port, ["GET", "k"]) == ["k"]
    assert key_misses(server.port, ["EXISTS", "a", "b"]) == ["a", "b"]
    assert key_misses(server.port, ["LPOP", "k"]) == []


def test_key_miss_not_in_A(server):
    """A does not include m: KEA sends no keymiss; KEAm does, on both
    channels."""
    c = redis.Redis(port=server.port, decode_responses=True)
    c.flushall()
    sub = redis.Redis(port=server.port, decode_responses=True).pubsub()
    sub.psubscribe("__key*__:*")
    assert sub.get_message(timeout=5)["type"] == "psubscribe"
    c.config_set("notify-keyspace-events", "KEA")
    c.get("nothere")
    c.set("marker", "1")
    got = collect(sub, lambda ev: ("__keyevent@0__:set", "marker") in ev, message="the set")
    assert not [e for e in got if "keymiss" in e[0] or e[1] == "keymiss"]
    c.config_set("notify-keyspace-events", "KEAm")
    c.get("nothere")
    got = collect(sub, lambda ev: len(ev) >= 2, message="the keymiss events")
    assert got == [("__keyspace@0__:nothere", "keymiss"), ("__keyevent@0__:keymiss", "nothere")]
    c.config_set("notify-keyspace-events", "")
    sub.close()


# ---------------------------------------------------------------------------
# A cluster: events delivered by the node the subscriber is on
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def notify_cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("notify-cluster")),
                extra=("--notify-keyspace-events", "KEA")).start()
    yield c
    c.stop()


def collect(sub, until, timeout=10, message="events"):
    events = []

    def done():
        while True:
            m = sub.get_message(timeout=0.02)
            if m is None:
                break
            if m["type"] == "pmessage":
                events.append((m["channel"], m["data"]))
        return until(events)
    wait_until(done, timeout, message=message)
    return events


def test_follower_subscriber_sees_leader_writes_expiry_and_eviction(notify_cluster):
    leader = notify_cluster.leader()
    follower = notify_cluster.followers()[0]
    lc, fc = leader.client(), follower.client()
    assert fc.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    sub = follower.client().pubsub()
    sub.psubscribe("__keyevent@0__:*")
    assert sub.get_message(timeout=5)["type"] == "psubscribe"
    # The subscription is in the log; the leader knows it once it answers.
    wait_until(lambda: lc.pubsub_numpat() == 1, 5, message="the subscription to reach the leader")

    # Writes on the leader, in log order on the follower.
    lc.set("a", "1")
    lc.lpush("q", "x", "y")
    lc.rpop("q")
    lc.hset("h", "f", "v")
    lc.rename("a", "b")
    lc.delete("b", "h")
    want = [("set", "a"), ("lpush", "q"), ("rpop", "q"), ("hset", "h"), ("rename_from", "a"),
            ("rename_to", "b"), ("del", "b"), ("del", "h")]
    got = collect(sub, lambda ev: len(ev) >= len(want), message="the writes' events")
    assert [(ch.split(":", 1)[1], k) for ch, k in got] == want

    # Expiry: the leader deletes the key through the log; every node says so.
    lc.set("short", "v", px=50)
    got = collect(sub, lambda ev: ("__keyevent@0__:expired", "short") in ev,
                  message="the expired event on the follower")
    assert got[0] == ("__keyevent@0__:set", "short")
    assert got[1] == ("__keyevent@0__:expire", "short")

    # Eviction under maxmemory, decided by the leader.
    if not memory_measured(leader):
        sub.close()
        pytest.skip("used memory is not measured under AddressSanitizer")
    lc.delete("q", "__ready")  # only the big keys are left to evict
    p = lc.pipeline(transaction=False)
    for i in range(300):
        p.set(f"big{i}", "x" * 1000)
    p.execute()
    collect(sub, lambda ev: len([e for e in ev if e[0].endswith(":set")]) >= 300,
            message="the fill's events")
    lc.config_set("maxmemory-policy", "allkeys-random")
    used = lc.info("memory")["used_memory"]
    lc.config_set("maxmemory", str(int(used * 0.97)))
    try:
        got = collect(sub, lambda ev: any(ch.endswith(":evicted") for ch, _ in ev),
                      message="an evicted event on the follower")
        evicted = [k for ch, k in got if ch.endswith(":evicted")]
        assert all(k.startswith("big") for k in evicted)
    finally:
        lc.config_set("maxmemory", "0")
        lc.config_set("maxmemory-policy", "noeviction")
    sub.close()
    notify_cluster.wait_converged()


def test_key_miss_comes_from_the_node_that_read(notify_cluster):
    """A read runs on one node (the leader, or the follower a READONLY
    client reads from): its keymiss goes to that node's subscribers only,
    as a Redis replica sends the misses of the reads it serves. A write that
    reads a missing key (GETDEL) fires on every node as it applies."""
    leader = notify_cluster.leader()
    follower = notify_cluster.followers()[0]
    lc, fc = leader.client(), follower.client()
    for c in (lc, fc):
        c.config_set("notify-keyspace-events", "KEAm")
    subs = {}
    # Two patterns (NUMPAT counts patterns, not subscriptions).
    for name, node, pattern in (("leader", leader, "__keyevent@0__:*"),
                                ("follower", follower, "__keyevent@0__:[a-z]*")):
        subs[name] = node.client().pubsub()
        subs[name].psubscribe(pattern)
        assert subs[name].get_message(timeout=5)["type"] == "psubscribe"
    wait_until(lambda: lc.pubsub_numpat() >= 2, 5, message="both subscriptions on the leader")
    try:
        reader = follower.client(single_connection_client=True)
        reader.execute_command("READONLY")
        # The follower serves this client's reads from its own keyspace,
        # once it has applied both subscriptions.
        wait_until(lambda: reader.execute_command("PUBSUB", "NUMPAT") >= 2, 5,
                   message="both subscriptions applied on the follower")
        assert reader.get("miss-on-follower") is None
        assert lc.get("miss-on-leader") is None
        assert lc.getdel("miss-by-write") is None
        lc.set("end", "1")  # through the log: after everything above, on every node
        for name in ("leader", "follower"):
            got = collect(subs[name], lambda ev: ("__keyevent@0__:set", "end") in ev,
                          message=f"the events on the {name}")
            misses = [k for ch, k in got if ch == "__keyevent@0__:keymiss"]
            own = "miss-on-leader" if name == "leader" else "miss-on-follower"
            assert sorted(misses) == sorted([own, "miss-by-write"]), (name, got)
        reader.close()
    finally:
        for c in (lc, fc):
            c.config_set("notify-keyspace-events", "KEA")
        for sub in subs.values():
            sub.close()
