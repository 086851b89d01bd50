"""maxmemory with Redis's policies, and no client making a node allocate
without bound (issue 10).

The leader decides with its own used memory before it proposes: under
noeviction (or with nothing evictable) deny-oom commands get Redis's OOM
error; under the other policies it proposes the deletion of victims through
the log, so every replica deletes the same keys. A string longer than the
machine could hold is refused before it is proposed, and a reply or a
published message that would take a client past its output limit is never
copied. Data is kept small (1 KB values) so the whole file stays quick."""
import collections
import socket
import threading

import pytest
import redis

from conftest import Node, resp_encode, wait_until, wait_writable
from exact import err, exact_client

OOM = "OOM command not allowed when used memory > 'maxmemory'."
TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
VALUE = "x" * 1000
POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl"]


@pytest.fixture
def node(server):
    return server


@pytest.fixture
def r(node):
    client = node.client()
    client.config_set("maxmemory", "0")
    client.config_set("maxmemory-policy", "noeviction")
    client.flushall()
    yield client
    client.config_set("maxmemory", "0")
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60")
    client.close()


def fill(client, n, prefix="k", ex=None, start=0):
    """n keys of 1 KB (pipelined); returns the replies (errors included)."""
    replies = []
    for base in range(start, start + n, 500):
        p = client.pipeline(transaction=False)
        for i in range(base, min(base + 500, start + n)):
            if ex is None:
                p.set(f"{prefix}{i}", VALUE)
            else:
                p.set(f"{prefix}{i}", VALUE, ex=ex(i) if callable(ex) else ex)
        replies += p.execute(raise_on_error=False)
    return replies


def used(client):
    return int(client.info("memory")["used_memory"])


def alive(client, keys):
    p = client.pipeline(transaction=False)
    for k in keys:
        p.exists(k)
    return sum(p.execute())


def over_limit_by_half(client):
    """Sets maxmemory to about half of what is used now."""
    limit = used(client) // 2
    client.config_set("maxmemory", str(limit))
    return limit


def reset_hwm(pid):
    """Starts the peak resident memory of the process afresh (Linux)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def hwm(pid):
    """The process's peak resident memory (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


# ---------------------------------------------------------------------------
# Directives
# ---------------------------------------------------------------------------

def test_directives_as_redis(r, node, tmp_path):
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert r.config_get("maxmemory-samples") == {"maxmemory-samples": "5"}
    assert r.config_get("lfu-*") == {"lfu-log-factor": "10", "lfu-decay-time": "1"}
    assert r.config_set("maxmemory", "64mb")
    assert r.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    assert r.config_set("maxmemory-policy", "ALLKEYS-LRU")
    info = r.info("memory")
    assert info["maxmemory"] == 64 * 1024 * 1024
    assert info["maxmemory_human"] == "64.00M"
    assert info["maxmemory_policy"] == "allkeys-lru"
    assert "used_memory_rss" in info and info["used_memory"] > 0
    assert r.info("stats")["evicted_keys"] == 0
    e = exact_client(node)
    assert err(e, "CONFIG", "SET", "maxmemory-policy", "lru") == (
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) "
        "must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
        "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    assert err(e, "CONFIG", "SET", "maxmemory-samples", "0") == (
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument "
        "must be between 1 and 2147483647 inclusive")
    assert err(e, "CONFIG", "SET", "maxmemory", "-1") == (
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be "
        "a memory value")
    e.close()

    # A configuration file and flags, flags winning.
    conf = tmp_path / "parley.conf"
    conf.write_text("maxmemory 1mb\nmaxmemory-policy volatile-ttl\nmaxmemory-samples 7\n")
    n = Node(str(tmp_path), extra=["--maxmemory-policy", "allkeys-lfu"])
    flags = n.args
    n.args = lambda: [flags()[0], str(conf)] + flags()[1:]
    n.start()
    try:
        c = n.client()
        assert c.config_get("maxmemory*") == {
            "maxmemory": str(1024 * 1024), "maxmemory-policy": "allkeys-lfu",
            "maxmemory-samples": "7", "maxmemory-clients": "0"}
    finally:
        assert n.stop() == 0


# ---------------------------------------------------------------------------
# noeviction, and what Redis refuses over the limit
# ---------------------------------------------------------------------------

OVER_LIMIT_COMMANDS = [
    ("SET", "a", "1"),
    ("GET", "kept"),
    ("INCR", "counter"),
    ("LPUSH", "l", "x"),
    ("APPEND", "kept", "more"),
    ("SETRANGE", "kept", "0", "x"),
    ("BLMOVE", "nolist", "other", "LEFT", "LEFT", "0.01"),
    ("EXPIRE", "kept", "1000"),
    ("PUBLISH", "ch", "m"),
    ("EVAL", "return redis.call('get', 'kept')", "0"),
    ("EVAL", "return redis.call('set', 'x', '1')", "0"),
    ("EVAL", "redis.call('get', 'kept') return redis.call('set', 'x', '1')", "0"),
    ("EVAL", "return redis.pcall('set', 'x', '1')", "0"),
    ("EVAL", "redis.call('del', 'gone') return redis.call('set', 'x', '1')", "0"),
    ("FCALL", "f_plain", "0"),
    ("FCALL", "f_oom", "0"),
    ("FCALL", "f_ro", "0"),
    ("FCALL_RO", "f_ro", "0"),
    ("DEL", "kept"),
]

# Functions with each flag that matters over the limit.
OVER_LIMIT_LIBRARY = """#!lua name=overlimit
redis.register_function('f_plain', function() return redis.call('set', 'x', '1') end)
redis.register_function{function_name='f_oom', flags={'allow-oom'},
  callback=function() return redis.call('set', 'x', '2') end}
redis.register_function{function_name='f_ro', flags={'no-writes'},
  callback=function() return redis.call('get', 'kept') end}
"""


def test_over_the_limit_replies_match_redis(r, node, redis_ref):
    """The same commands over the limit under noeviction: the same replies
    as redis-server 7.0, word for word."""
    answers = {}
    for name, target in (("parley", node), ("redis", redis_ref)):
        c = exact_client(target)
        c.flushall()
        c.execute_command("CONFIG", "SET", "maxmemory", "0")
        c.execute_command("SET", "kept", "v")
        c.execute_command("FUNCTION", "LOAD", "REPLACE", OVER_LIMIT_LIBRARY)
        c.execute_command("CONFIG", "SET", "maxmemory", "1")
        out = []
        for cmd in OVER_LIMIT_COMMANDS:
            try:
                out.append(c.execute_command(*cmd))
            except redis.ResponseError as e:
                out.append(("error", str(e)))
        c.execute_command("CONFIG", "SET", "maxmemory", "0")
        c.close()
        answers[name] = out
    for cmd, p, q in zip(OVER_LIMIT_COMMANDS, answers["parley"], answers["redis"]):
        assert p == q, f"{cmd}: parley {p!r}, redis {q!r}"
    assert ("error", OOM) in answers["parley"]


def test_noeviction_fills_then_refuses(r, node):
    r.config_set("maxmemory", "2mb")
    replies = fill(r, 5000)
    stored = sum(1 for x in replies if x is True)
    errors = [x for x in replies if isinstance(x, redis.ResponseError)]
    assert 500 < stored < 5000
    assert errors and str(errors[0]) == OOM
    # As Redis, the command that crosses the limit is stored, not the next.
    assert used(r) <= 2 * 1024 * 1024 + 256 * 1024
    # Well over the limit: reads and deletions go on, writes are refused; a
    # transaction with a deny-oom command is aborted whole, one without runs.
    over_limit_by_half(r)
    assert r.get("k0") == VALUE
    e = exact_client(node)
    assert err(e, "SET", "new", "1") == OOM
    e.execute_command("MULTI")
    e.execute_command("GET", "k0")
    e.execute_command("SET", "k0", "1")
    assert err(e, "EXEC") == "EXECABORT Transaction discarded because of: " + OOM
    e.close()
    p = r.pipeline(transaction=True)
    p.get("k1")
    p.delete("k2")
    assert p.execute() == [VALUE, 1]
    assert r.info("stats")["evicted_keys"] == 0
    # Deleting makes room again. (The keys stored are not k0..k<stored-1>:
    # a refused write leaves a gap, and a later one of the same pipeline
    # may be stored when an earlier batch has been applied since.)
    r.delete(*[f"k{i}" for i in range(0, 5000) if i % 4])
    assert r.set("new", "1")


def test_volatile_policy_without_ttl_keys_refuses(r):
    fill(r, 1500)
    r.config_set("maxmemory-policy", "volatile-lru")
    over_limit_by_half(r)
    with pytest.raises(redis.ResponseError, match="OOM command not allowed"):
        r.set("new", "1")
    assert r.dbsize() == 1500
    assert r.info("stats")["evicted_keys"] == 0
    # Keys with a TTL can be evicted: with enough of them, writes go on,
    # and only keys with a TTL were evicted.
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.expire(f"k{i}", 100000)
    p.execute()
    wait_until(lambda: r.set("new", "1"), 10, message="a write once keys have a TTL")
    assert r.info("stats")["evicted_keys"] > 0
    assert alive(r, [f"k{i}" for i in range(1000, 1500)]) == 500


# ---------------------------------------------------------------------------
# Eviction policies
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_policy_evicts_to_the_limit(r, policy):
    volatile = policy.startswith("volatile")
    evicted_before = r.info("stats")["evicted_keys"]
    fill(r, 800, prefix="p")                                    # no TTL
    fill(r, 1200, prefix="t", ex=lambda i: 100000 + i)          # with a TTL
    r.config_set("maxmemory-policy", policy)
    limit = int(used(r) * 0.7)
    r.config_set("maxmemory", str(limit))
    # The leader evicts on its own, without a write to trigger it.
    wait_until(lambda: used(r) <= limit, 10, message="eviction down to maxmemory")
    # Writes go on: each makes room.
    replies = fill(r, 300, prefix="n")
    assert all(x is True for x in replies), [x for x in replies if x is not True][:1]
    wait_until(lambda: used(r) <= limit, 10, message="eviction down to maxmemory")
    evicted = r.info("stats")["evicted_keys"] - evicted_before
    assert evicted > 300
    assert r.dbsize() == 2300 - evicted
    if volatile:
        # Only keys with a TTL are candidates.
        assert alive(r, [f"p{i}" for i in range(800)]) == 800
        assert alive(r, [f"n{i}" for i in range(300)]) == 300


@pytest.mark.parametrize("policy,reads", [("allkeys-lru", 1), ("allkeys-lfu", 20)])
def test_recently_or_often_read_keys_are_kept(r, policy, reads):
    """A quarter of the keys is read (once for LRU, 20 times for LFU) after
    all are written; evicting 40% must spare them more than the others."""
    fill(r, 2000)
    hot = [f"k{i}" for i in range(0, 2000, 4)]
    cold = [f"k{i}" for i in range(2000) if i % 4]
    p = r.pipeline(transaction=False)
    for _ in range(reads):
        for k in hot:
            p.get(k)
    p.execute()
    r.config_set("maxmemory-policy", policy)
    limit = int(used(r) * 0.6)
    r.config_set("maxmemory", str(limit))
    wait_until(lambda: used(r) <= limit, 10, message="eviction down to maxmemory")
    hot_rate = alive(r, hot) / len(hot)
    cold_rate = alive(r, cold) / len(cold)
    assert hot_rate > 0.8 and hot_rate > cold_rate, (hot_rate, cold_rate)


def test_volatile_ttl_evicts_the_nearest_expiry_first(r):
    fill(r, 1000, prefix="soon", ex=10000)
    fill(r, 1000, prefix="late", ex=1000000)
    r.config_set("maxmemory-policy", "volatile-ttl")
    limit = int(used(r) * 0.7)
    r.config_set("maxmemory", str(limit))
    wait_until(lambda: used(r) <= limit, 10, message="eviction down to maxmemory")
    soon = alive(r, [f"soon{i}" for i in range(1000)])
    late = alive(r, [f"late{i}" for i in range(1000)])
    assert soon < 800 and late > 950, (soon, late)


# ---------------------------------------------------------------------------
# Strings a client names the size of
# ---------------------------------------------------------------------------

def test_setrange_beyond_the_machine_is_refused_and_nothing_dies(make_node):
    n = make_node().start()
    wait_writable(n)
    c = n.client()
    e = exact_client(n)
    c.set("k", "v")
    # Redis 7.0 accepts this; what matters is what follows.
    assert c.config_set("proto-max-bulk-len", "2000gb")
    assert err(e, "SETRANGE", "k", "1099511627776", "x") == TOO_LONG
    assert err(e, "SETRANGE", "fresh", "1099511627776", "x") == TOO_LONG
    # Inside a transaction and a script it reaches the log: every node
    # answers the same error from the limit the entry carries.
    e.execute_command("MULTI")
    e.execute_command("SETRANGE", "k", "1099511627776", "x")
    reply = e.execute_command("EXEC")
    assert isinstance(reply[0], redis.ResponseError) and str(reply[0]) == TOO_LONG
    assert err(e, "EVAL", "return redis.call('setrange', KEYS[1], 1099511627776, 'x')", "1",
               "k").startswith(TOO_LONG)
    # Under maxmemory, growth beyond the room left is refused with OOM.
    c.config_set("maxmemory", "8mb")
    assert err(e, "SETRANGE", "big", str(16 * 1024 * 1024), "x") == OOM
    assert c.setrange("small", 1024 * 1024, "x") == 1024 * 1024 + 1
    assert c.ping() and c.get("k") == "v"
    e.close()
    c.close()
    assert n.stop() == 0
    n.start()
    c = n.client()
    wait_until(lambda: c.get("k") == "v", 10, message="the data after a restart")
    assert c.strlen("small") == 1024 * 1024 + 1
    assert not c.exists("fresh", "big")
    assert n.stop() == 0


# ---------------------------------------------------------------------------
# Output bounded before it grows
# ---------------------------------------------------------------------------

def test_publish_to_stalled_subscribers_is_not_copied(r, node):
    """Subscribers that do not read, a message larger than their pubsub
    limit: they are dropped and the message is not copied 50 times."""
    r.config_set("client-output-buffer-limit", "pubsub 4mb 2mb 60")
    pid = int(r.info("server")["process_id"])
    subscribers = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", node.port))
        s.sendall(resp_encode("SUBSCRIBE", "stalled"))
        subscribers.append(s)
    try:
        wait_until(lambda: r.pubsub_numsub("stalled") == [("stalled", 50)], 10,
                   message="50 subscribers")
        message = b"m" * (8 * 1024 * 1024)
        reset_hwm(pid)
        before = hwm(pid)
        assert r.publish("stalled", message) == 50
        wait_until(lambda: r.pubsub_numsub("stalled") == [("stalled", 0)], 10,
                   message="the stalled subscribers to be dropped")
        grew = hwm(pid) - before
        # Copied once per subscriber it would be 400 MB; the command itself
        # (query buffer, batch, log entry) takes a few copies.
        assert grew < 10 * len(message), grew
        assert r.ping()
    finally:
        for s in subscribers:
            s.close()


def test_huge_reply_is_not_built_past_the_output_limit(r, node):
    r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    pid = int(r.info("server")["process_id"])
    r.sadd("s", "a", "b", "c")
    victim = node.client()
    reset_hwm(pid)
    before = hwm(pid)
    with pytest.raises(redis.ConnectionError):
        victim.srandmember("s", -3000000)  # about 21 MB of reply
    assert hwm(pid) - before < 16 * 1024 * 1024
    assert r.scard("s") == 3


# ---------------------------------------------------------------------------
# Three nodes
# ---------------------------------------------------------------------------

def digests(cluster):
    return [tuple(n.client(socket_timeout=5).execute_command("RAFT", "DIGEST"))
            for n in cluster.nodes]


def keyspace(client):
    info = client.info("keyspace").get("db0", {"keys": 0, "expires": 0})
    return info["keys"], info["expires"]


def test_cluster_at_64mb_under_every_policy(make_cluster):
    cluster = make_cluster(extra=["--maxmemory", "64mb"]).start()
    leader = cluster.leader()
    follower = cluster.followers()[0]
    lc, fc = leader.client(), follower.client()

    def on_all(*args):
        for n in cluster.nodes:
            assert n.client().execute_command(*args)

    def check_replicas():
        assert all(n.alive() for n in cluster.nodes)
        # 60 s: under ASan on the 2-core CI machine a follower was still 17
        # entries behind after 20 s once (2026-12-08).
        cluster.wait_converged(60)

    # noeviction: fill past the limit until writes are refused.
    written = 0
    while True:
        replies = fill(lc, 2000, start=written)
        written += 2000
        if any(isinstance(x, redis.ResponseError) for x in replies):
            break
        assert written < 120000, "never refused"
    refused = [x for x in replies if isinstance(x, redis.ResponseError)]
    assert {str(x) for x in refused} == {OOM}
    # Through a follower (which forwards; the leader's decision stands):
    # writes are refused once memory is over the limit again.
    e = exact_client(follower)
    refusal = None
    for i in range(64):
        try:
            e.execute_command("SET", f"via-follower{i}", "y" * 100000)
        except redis.ResponseError as x:
            refusal = str(x)
            break
    assert refusal == OOM
    e.close()
    assert fc.get("k0") == VALUE
    check_replicas()

    evicted = 0
    new = 0
    for policy in POLICIES:
        on_all("CONFIG", "SET", "maxmemory-policy", policy)
        if policy == "volatile-lru":
            p = lc.pipeline(transaction=False)
            for i in range(0, 12000):
                p.expire(f"k{i}", 100000 + i)
            p.execute()
        # INFO is this node's own state, and a node answers a write when the
        # leader has applied it, maybe before it applied it itself (and lc
        # may have become a follower): every node applies everything first.
        cluster.wait_converged(20)
        keys, expires = keyspace(lc)
        # 1,500 keys of 1 KB cross the limit unless the last round's
        # eviction left more room than that (it frees until used memory
        # is under the limit, and other buffers come and go): then more.
        added = 0
        for _ in range(4):
            replies = fill(lc if policy != "allkeys-random" else fc, 1500, prefix="n", start=new)
            new += 1500
            added += 1500
            assert all(x is True for x in replies), (policy, [x for x in replies if x is not True][:1])
            cluster.wait_converged(20)
            now = lc.info("stats")["evicted_keys"]
            if now > evicted:
                break
        assert now > evicted, policy
        after_keys, after_expires = keyspace(lc)
        if policy.startswith("volatile"):
            # Only keys with a TTL went; the new keys have none.
            assert after_keys - after_expires == keys - expires + added, policy
        evicted = now
        check_replicas()
    # No more evictions from here (noeviction only refuses), so the data
    # can be compared across the restart.
    on_all("CONFIG", "SET", "maxmemory-policy", "noeviction")
    # Every replica evicted the same keys: the same count on every node.
    counts = lambda: {n.client().info("stats")["evicted_keys"] for n in cluster.nodes}  # noqa: E731
    wait_until(lambda: len(counts()) == 1, 10, message="the same evicted_keys on every node")
    assert counts().pop() >= evicted
    cluster.wait_converged(20)
    before = digests(cluster)
    size = lc.dbsize()

    for n in cluster.nodes:
        assert n.stop() == 0
    for n in cluster.nodes:
        n.start(wait=False)
    for n in cluster.nodes:
        n.wait_listening()
    cluster.wait_leader(15)
    # Restarted, each node replays its log once a leader is there: every
    # replica comes back to the same data.
    wait_until(lambda: {d[1] for d in digests(cluster)} == {before[0][1]}, 30,
               message="every node back to its data")
    assert cluster.leader().client().dbsize() == size
    cluster.stop()


def test_refusals_keep_their_error_across_leader_changes(make_cluster):
    """A leader over maxmemory proposes `__refuse <OOM error>` in place of a
    refused write (memory_gate). While a RAFT TRANSFER is under way, libraft
    takes no entry: the batches go back to the queue, and once the node is a
    follower it forwards them to the new leader. They must still be the
    clients' commands: a batch holding the old leader's `__refuse` was
    refused whole by the new leader as "ERR malformed forwarded batch"
    (PARLEY.FWD takes no internal command), which is what its clients got.
    Writers on every node keep a pipeline of SETs going while leadership
    moves eight times; every reply must be Redis's OOM error (or OK: a new
    leader gates nothing until its first entry of the term is applied)."""
    cluster = make_cluster().start()
    for n in cluster.nodes:
        n.client().config_set("maxmemory", "1")
    stop = threading.Event()
    replies = collections.Counter()
    lock = threading.Lock()

    def writer(node, t):
        c = node.client(socket_timeout=30)
        i = 0
        while not stop.is_set():
            p = c.pipeline(transaction=False)
            for _ in range(32):
                p.set(f"w{t}:{i}", "v")
                i += 1
            got = [str(x) if isinstance(x, Exception) else x
                   for x in p.execute(raise_on_error=False)]
            with lock:
                replies.update(got)
        c.close()

    threads = [threading.Thread(target=writer, args=(n, t))
               for t, n in enumerate(cluster.nodes * 2)]
    for t in threads:
        t.start()
    try:
        for _ in range(8):
            before = sum(replies.values())
            wait_until(lambda: sum(replies.values()) > before, 10, message="more replies")
            leader = cluster.leader()
            target = [n for n in cluster.nodes if n is not leader][0]
            assert leader.client().execute_command("RAFT", "TRANSFER", target.node_id) == "OK"
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads), "a writer did not finish"
    assert set(replies) <= {OOM, True}, replies
    assert replies[OOM] > 0
    cluster.wait_converged(20)
