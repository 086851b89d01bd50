"""The encoding thresholds (hash-max-listpack-entries and kin, with their old
ziplist names) as CONFIG settings: the same answers and the same OBJECT
ENCODING decisions as redis-server 7.0 on one node, and replicated settings
on a cluster (a CONFIG SET sent to a follower changes how every node encodes,
and a restarted node keeps it, from its log or its snapshot)."""
import pytest
import redis

from conftest import wait_until, wait_writable

# (new name, old name or None, Redis 7.0's default)
SETTINGS = [
    ("list-max-listpack-size", "list-max-ziplist-size", "-2"),
    ("list-compress-depth", None, "0"),
    ("hash-max-listpack-entries", "hash-max-ziplist-entries", "512"),
    ("hash-max-listpack-value", "hash-max-ziplist-value", "64"),
    ("set-max-intset-entries", None, "512"),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries", "128"),
    ("zset-max-listpack-value", "zset-max-ziplist-value", "64"),
    ("stream-node-max-bytes", None, "4096"),
    ("stream-node-max-entries", None, "100"),
    ("hll-sparse-max-bytes", None, "3000"),
]
NAMES = [n for s in SETTINGS for n in s[:2] if n]


def reset(c):
    c.config_set("list-max-listpack-size", "-2")
    for name, _, default in SETTINGS:
        c.config_set(name, default)


@pytest.fixture
def both(r, redis_ref):
    """The Parley node's client and the reference redis-server's, both at
    the defaults before and after the test."""
    ref = redis.Redis(port=redis_ref.port, decode_responses=True)
    ref.flushall()
    reset(r)
    reset(ref)
    yield r, ref
    reset(r)
    reset(ref)
    ref.close()


def answer(c, *args):
    try:
        return c.execute_command(*args)
    except redis.ResponseError as e:
        return f"error: {e}"


def test_config_get_and_set_both_names_as_redis(both):
    r, ref = both
    # Every name, and the globs that match them, show what Redis shows.
    for pattern in NAMES + ["*ziplist*", "*listpack*", "stream-node-*", "*intset*", "list-*"]:
        assert dict(r.config_get(pattern)) == dict(ref.config_get(pattern)), pattern
    cases = [
        ("hash-max-ziplist-entries", "3"), ("hash-max-listpack-value", "1kb"),
        ("hash-max-ziplist-value", "abc"), ("hash-max-listpack-entries", "-1"),
        ("hash-max-listpack-entries", "1.5"), ("list-max-ziplist-size", "3000000000"),
        ("list-max-listpack-size", "-5"), ("list-max-ziplist-size", "7"),
        ("list-compress-depth", "-1"), ("list-compress-depth", "2"),
        ("set-max-intset-entries", "5"), ("zset-max-ziplist-entries", "9"),
        ("zset-max-ziplist-value", "2mb"), ("stream-node-max-bytes", "-3"),
        ("stream-node-max-bytes", "2kb"), ("stream-node-max-entries", "-1"),
        ("stream-node-max-entries", "0"), ("HASH-MAX-ZIPLIST-ENTRIES", "11"),
    ]
    for name, value in cases:
        assert answer(r, "CONFIG", "SET", name, value) == answer(ref, "CONFIG", "SET", name, value), \
            (name, value)
        for n in NAMES:
            assert r.config_get(n) == ref.config_get(n), (name, value, n)
    # Several at once, an old name and its new one together (the last
    # wins), and a bad value that refuses the whole command.
    for args in [("hash-max-ziplist-entries", "4", "hash-max-listpack-entries", "6"),
                 ("zset-max-listpack-entries", "2", "set-max-intset-entries", "x"),
                 ("set-max-intset-entries", "7", "zset-max-ziplist-value", "3")]:
        assert answer(r, "CONFIG", "SET", *args) == answer(ref, "CONFIG", "SET", *args), args
        for n in NAMES:
            assert r.config_get(n) == ref.config_get(n), (args, n)
    # The logged change is the server's alone: a client cannot send it.
    assert answer(r, "__setencoding", "list-compress-depth", "-1").startswith("error: unknown command")
    assert r.config_get("list-compress-depth") == ref.config_get("list-compress-depth")


def encodings_alike(r, ref, steps):
    """Runs each write on both servers and compares the key's OBJECT
    ENCODING (and the write's reply) after every step."""
    for key, *args in steps:
        assert answer(r, *args) == answer(ref, *args), args
        assert r.object("encoding", key) == ref.object("encoding", key), (args, r.object("encoding", key))


def test_writes_crossing_the_thresholds_convert_as_redis(both):
    r, ref = both
    for c in (r, ref):
        c.config_set("hash-max-ziplist-entries", "3")
        c.config_set("hash-max-ziplist-value", "5")
        c.config_set("set-max-intset-entries", "3")
        c.config_set("zset-max-ziplist-entries", "3")
        c.config_set("zset-max-ziplist-value", "5")
    encodings_alike(r, ref, [
        ("h", "HSET", "h", "a", "1", "b", "2", "c", "3"),
        ("h", "HSET", "h", "d", "4"),                  # a fourth field: hashtable
        ("h2", "HSET", "h2", "a", "123456"),           # a value past 5 bytes
        ("h3", "HSET", "h3", "abcdef", "1"),           # a field past 5 bytes
        ("s", "SADD", "s", "1", "2", "3"),
        ("s", "SADD", "s", "4"),                        # a fourth integer: hashtable
        ("s2", "SADD", "s2", "1", "x"),
        ("z", "ZADD", "z", "1", "a", "2", "b", "3", "c"),
        ("z", "ZADD", "z", "4", "d"),                   # a fourth member: skiplist
        ("z2", "ZADD", "z2", "1", "abcdef"),
        ("z3", "ZADD", "z3", "1", "a", "2", "b"),
        ("z4", "ZUNIONSTORE", "z4", "1", "z3"),
        ("z5", "ZRANGESTORE", "z5", "z", "0", "-1"),
    ])
    # Raising a threshold converts nothing back; lowering one converts an
    # existing value only when it is written.
    for c in (r, ref):
        c.config_set("hash-max-listpack-entries", "100")
        c.config_set("zset-max-listpack-entries", "1")
        c.config_set("set-max-intset-entries", "1")
    encodings_alike(r, ref, [
        ("h", "HSET", "h", "e", "5"),
        ("z3", "ZSCORE", "z3", "a"),
        ("z3", "ZADD", "z3", "5", "e"),
        ("s3", "SADD", "s3", "7"),
        ("s3", "SADD", "s3", "8"),
        ("h4", "HSET", "h4", "a", "1", "b", "2", "c", "3", "d", "4"),
    ])
    # Zero: the first write makes a hashtable / skiplist, as Redis.
    for c in (r, ref):
        c.config_set("hash-max-ziplist-entries", "0")
        c.config_set("zset-max-ziplist-entries", "0")
        c.config_set("set-max-intset-entries", "0")
    encodings_alike(r, ref, [
        ("h5", "HSET", "h5", "a", "1"),
        ("z6", "ZADD", "z6", "1", "a"),
        ("s4", "SADD", "s4", "1"),
    ])


def test_stream_node_limits_bound_the_blocks_as_redis(both):
    r, ref = both
    # Approximate trimming drops whole blocks only: how much it removes
    # shows where the blocks end.
    for entries, nbytes in [("3", "4096"), ("0", "60"), ("10", "0")]:
        for c in (r, ref):
            c.delete("st")
            c.config_set("stream-node-max-entries", entries)
            c.config_set("stream-node-max-bytes", nbytes)
            for i in range(1, 26):
                c.xadd("st", {"f": "v" * (i % 4)}, id=f"{i}-1")
        for maxlen in (20, 11, 4):
            args = ("XTRIM", "st", "MAXLEN", "~", str(maxlen))
            assert answer(r, *args) == answer(ref, *args), (entries, nbytes, args)
            assert r.xlen("st") == ref.xlen("st")
        assert r.xrange("st") == ref.xrange("st")


def test_hll_sparse_max_bytes_decides_when_a_hyperloglog_turns_dense_as_redis(both):
    r, ref = both
    for limit in ("30", "200", "0"):
        seen = []
        for c in (r, ref):
            c.config_set("hll-sparse-max-bytes", limit)
            c.delete("hll")
            steps = []
            for i in range(120):
                c.pfadd("hll", f"e{i}")
                steps.append(c.execute_command("PFDEBUG", "ENCODING", "hll"))
            steps.append((c.strlen("hll"), c.pfcount("hll")))
            seen.append(steps)
        assert seen[0] == seen[1], limit
        assert "dense" in seen[0]
    for c in (r, ref):
        c.config_set("hll-sparse-max-bytes", "3000")
        c.delete("hll")
        c.pfadd("hll", *[f"e{i}" for i in range(60)])
        assert c.execute_command("PFDEBUG", "ENCODING", "hll") == "sparse"


def test_list_fill_and_compress_depth_are_kept(both):
    r, ref = both
    # Lists are quicklists whatever the fill (Redis 7.0); the values must
    # survive any fill, big elements included.
    for fill in ("1", "3", "-1", "-5", "-100", "0", "40000"):
        r.config_set("list-max-ziplist-size", fill)
        ref.config_set("list-max-ziplist-size", fill)
        for c in (r, ref):
            c.delete("l")
            c.rpush("l", *[str(i) * (1 + i % 7) for i in range(50)])
            c.lpush("l", "x" * 9000)
            c.linsert("l", "BEFORE", "3333", "ins")
            c.lset("l", 10, "y" * 5000)
            c.lrem("l", 2, "1")
        assert r.lrange("l", 0, -1) == ref.lrange("l", 0, -1), fill
        assert r.object("encoding", "l") == ref.object("encoding", "l") == "quicklist"
    r.config_set("list-compress-depth", "3")
    assert r.config_get("list-compress-depth") == {"list-compress-depth": "3"}


def test_configured_thresholds_apply_at_start_up(make_node):
    node = make_node(extra=["--hash-max-ziplist-entries", "2", "--zset-max-listpack-value", "4"])
    node.start()
    wait_writable(node)
    c = node.client()
    wait_until(lambda: c.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "2"},
               message="the configured threshold to apply")
    assert c.config_get("zset-max-ziplist-value") == {"zset-max-ziplist-value": "4"}
    c.hset("h", mapping={"a": "1", "b": "2"})
    assert c.object("encoding", "h") == "listpack"
    c.hset("h", "c", "3")
    assert c.object("encoding", "h") == "hashtable"
    assert node.stop() == 0


def test_a_restored_node_keeps_the_thresholds_from_its_snapshot(make_node):
    # Snapshots after every few entries, none of the log kept behind them:
    # the setting survives a restart only through the snapshot.
    node = make_node(extra=["--raft-snapshot-threshold", "4", "--raft-snapshot-trailing", "0"])
    node.start()
    wait_writable(node)
    c = node.client()
    c.config_set("set-max-intset-entries", "2")
    c.config_set("stream-node-max-entries", "7")
    for i in range(40):
        c.set(f"k{i}", i)
    # A snapshot taken after the settings' entries, and nothing running.
    def info():
        return c.info("raft")
    wait_until(lambda: int(info()["raft_snapshots_taken"]) >= 2 and
               int(info()["raft_snapshot_in_progress"]) == 0, 30, message="a snapshot")
    assert node.stop() == 0
    node.start()
    wait_writable(node)  # the snapshot loaded and the log after it applied
    c = node.client()
    assert "Loaded a snapshot" in node.log_text()
    assert c.config_get("set-max-intset-entries") == {"set-max-intset-entries": "2"}
    assert c.config_get("stream-node-max-entries") == {"stream-node-max-entries": "7"}
    c.sadd("s", 1, 2)
    assert c.object("encoding", "s") == "intset"
    c.sadd("s", 3)
    assert c.object("encoding", "s") == "hashtable"
    assert node.stop() == 0


def test_a_follower_config_set_changes_every_node(make_cluster):
    cl = make_cluster().start()
    follower = cl.followers()[0]
    f = follower.client()
    assert f.config_set("hash-max-ziplist-entries", "2")
    assert f.config_set("zset-max-listpack-entries", "1")
    f.hset("h", mapping={"a": "1", "b": "2"})
    f.zadd("z", {"a": 1})
    cl.wait_converged()

    def encodings(n):
        # READONLY: this node answers from its own data, not the leader's.
        c = n.client(single_connection_client=True)
        c.execute_command("READONLY")
        got = (c.config_get("hash-max-listpack-entries")["hash-max-listpack-entries"],
               c.object("encoding", "h"), c.object("encoding", "z"))
        c.close()
        return got
    assert {n.node_id: encodings(n) for n in cl.nodes} == \
        {n.node_id: ("2", "listpack", "listpack") for n in cl.nodes}
    f.hset("h", "c", "3")
    f.zadd("z", {"b": 2})
    cl.wait_converged()
    assert {n.node_id: encodings(n) for n in cl.nodes} == \
        {n.node_id: ("2", "hashtable", "skiplist") for n in cl.nodes}
    # A restarted node keeps the setting (from its log) and agrees.
    victim = cl.followers()[-1]
    assert victim.stop() == 0
    victim.start()
    f.hset("h2", mapping={"a": "1", "b": "2", "c": "3"})
    cl.wait_converged()
    c = victim.client(single_connection_client=True)
    c.execute_command("READONLY")
    assert c.config_get("hash-max-ziplist-entries") == {"hash-max-ziplist-entries": "2"}
    assert c.object("encoding", "h2") == "hashtable"
    c.close()
    cl.stop()
