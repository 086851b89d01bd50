"""Locks with fencing tokens (LOCK.ACQUIRE, RELEASE, REFRESH, HOLDER,
FENCED): one holder at a time, tokens that only grow (across locks, leader
kills and restarts of every node), a lock that survives a failover with
the same holder and token, and LOCK.FENCED refusing a holder whose TTL ran
out. Elections (ELECT.*): every change of leader published on
__elect__:<election>, heard on any node."""
import redis

from conftest import wait_until, wait_writable


def fenced_error(fn):
    try:
        fn()
    except redis.ResponseError as e:
        return str(e)
    raise AssertionError("no error")


def test_one_holder_at_a_time_renewal_and_release(r):
    r.delete("lk:a", "lk:str")
    token = r.execute_command("LOCK.ACQUIRE", "lk:a", "alice", 10000)
    assert isinstance(token, int) and token > 0
    assert r.execute_command("LOCK.ACQUIRE", "lk:a", "bob", 10000) is None
    assert r.execute_command("LOCK.ACQUIRE", "lk:a", "alice", 60000) == token  # renewed, same token
    owner, held, left = r.execute_command("LOCK.HOLDER", "lk:a")
    assert (owner, held) == ("alice", token) and 50000 < left <= 60000
    assert r.hgetall("lk:a") == {"owner": "alice", "token": str(token)}  # a lock is a key
    assert r.execute_command("LOCK.REFRESH", "lk:a", token + 1, 1000) == 0
    assert r.execute_command("LOCK.RELEASE", "lk:a", token + 1) == 0
    assert r.execute_command("LOCK.REFRESH", "lk:a", token, 5000) == 1
    assert 0 < r.pttl("lk:a") <= 5000
    assert r.execute_command("LOCK.RELEASE", "lk:a", token) == 1
    assert r.execute_command("LOCK.HOLDER", "lk:a") is None
    assert r.execute_command("LOCK.ACQUIRE", "lk:a", "bob", 10000) > token
    r.set("lk:str", "v")
    assert "WRONGTYPE" in fenced_error(lambda: r.execute_command("LOCK.ACQUIRE", "lk:str", "x", 100))
    assert "invalid expire time" in fenced_error(lambda: r.execute_command("LOCK.ACQUIRE", "lk:b", "x", 0))


def test_tokens_grow_across_locks_and_within_a_transaction(r):
    tokens = [r.execute_command("LOCK.ACQUIRE", f"lk:many:{i}", "o", 60000) for i in range(50)]
    p = r.pipeline(transaction=True)
    p.execute_command("LOCK.ACQUIRE", "lk:tx:1", "o", 60000)
    p.execute_command("LOCK.ACQUIRE", "lk:tx:2", "o", 60000)
    tokens += p.execute()
    assert tokens == sorted(set(tokens)), tokens


def test_fenced_runs_only_for_the_holder_and_not_after_the_ttl(r):
    r.delete("lk:f", "lk:data")
    token = r.execute_command("LOCK.ACQUIRE", "lk:f", "w1", 300)
    assert r.execute_command("LOCK.FENCED", "lk:f", token, "SET", "lk:data", "first") == "OK"
    assert r.execute_command("LOCK.FENCED", "lk:f", token, "GET", "lk:data") == "first"
    # The holder stalls (a GC pause, SIGSTOP): its TTL runs out on the
    # leader's clock, another takes the lock, and the stale token writes nothing.
    wait_until(lambda: r.execute_command("LOCK.HOLDER", "lk:f") is None, 10,
               message="the lock's TTL to run out")
    assert fenced_error(lambda: r.execute_command("LOCK.FENCED", "lk:f", token, "SET", "lk:data", "stale")) \
        .startswith("FENCED")
    newer = r.execute_command("LOCK.ACQUIRE", "lk:f", "w2", 10000)
    assert newer > token
    assert fenced_error(lambda: r.execute_command("LOCK.FENCED", "lk:f", token, "SET", "lk:data", "stale")) \
        .startswith("FENCED")
    assert r.get("lk:data") == "first"
    assert r.execute_command("LOCK.FENCED", "lk:f", newer, "INCRBY", "lk:n", 5) == 5
    for bad in (["BLPOP", "x", "0"], ["EVAL", "return 1", "0"], ["SUBSCRIBE", "c"], ["NOSUCH"],
                ["LOCK.FENCED", "lk:f", str(newer), "GET", "x"]):
        why = fenced_error(lambda: r.execute_command("LOCK.FENCED", "lk:f", newer, *bad))
        assert "cannot be fenced" in why or "unknown command" in why, why


def test_a_fenced_command_is_one_slow_log_entry(r):
    """The slow log shows the LOCK.FENCED call once, whole; commandstats
    counts it and the command it ran, as Redis counts EXEC and its
    commands."""
    token = r.execute_command("LOCK.ACQUIRE", "lk:slow", "o", 10000)
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.execute_command("SLOWLOG", "RESET")
        r.execute_command("CONFIG", "RESETSTAT")
        assert r.execute_command("LOCK.FENCED", "lk:slow", token, "SET", "lk:slow:x", "1") == "OK"
        entries = [e["command"] for e in r.slowlog_get(10)]
        entries = [e.decode() if isinstance(e, bytes) else e for e in entries]
        ran = [e for e in entries if e.split()[0].upper() in ("LOCK.FENCED", "SET")]
        assert ran == [f"LOCK.FENCED lk:slow {token} SET lk:slow:x 1"], entries
        stats = r.info("commandstats")
        assert stats["cmdstat_lock.fenced"]["calls"] == 1 and stats["cmdstat_set"]["calls"] == 1
    finally:
        r.config_set("slowlog-log-slower-than", 10000)


def test_fenced_commands_obey_the_users_key_patterns(server, r):
    r.execute_command("ACL", "SETUSER", "lk-user", "on", ">pw", "~lk:own:*", "+@all")
    c = server.client(username="lk-user", password="pw")
    try:
        token = c.execute_command("LOCK.ACQUIRE", "lk:own:lock", "u", 10000)
        assert c.execute_command("LOCK.FENCED", "lk:own:lock", token, "SET", "lk:own:x", "1") == "OK"
        err = fenced_error(lambda: c.execute_command("LOCK.FENCED", "lk:own:lock", token,
                                                     "SET", "lk:other", "1"))
        assert "no permissions to access one of the keys" in err
        assert r.get("lk:other") is None
    finally:
        r.execute_command("ACL", "DELUSER", "lk-user")


def test_a_lock_survives_failover_and_tokens_keep_growing_across_restarts(make_cluster):
    cl = make_cluster().start()
    leader = cl.leader()
    follower = cl.followers()[0]
    c = follower.client()  # through a follower: forwarded to the leader
    tokens = [c.execute_command("LOCK.ACQUIRE", f"lk:c:{i}", "o", 600000) for i in range(20)]
    held = c.execute_command("LOCK.HOLDER", "lk:c:0")
    leader.kill()
    new = cl.wait_leader(15, exclude=[leader])
    nc = new.client()
    assert nc.execute_command("LOCK.HOLDER", "lk:c:0")[:2] == held[:2]
    assert nc.execute_command("LOCK.ACQUIRE", "lk:c:0", "other", 1000) is None
    tokens += [nc.execute_command("LOCK.ACQUIRE", f"lk:d:{i}", "o", 600000) for i in range(20)]
    # Every node restarted: the tokens go on growing.
    leader.start()
    for n in cl.nodes:
        n.stop()
    for n in cl.nodes:
        n.start(wait=False)
    for n in cl.nodes:
        n.wait_listening()
    wait_writable(cl.leader(15), 15)
    lc = cl.leader().client()
    tokens += [lc.execute_command("LOCK.ACQUIRE", f"lk:e:{i}", "o", 600000) for i in range(20)]
    assert tokens == sorted(set(tokens))
    assert lc.execute_command("LOCK.HOLDER", "lk:c:0")[:2] == held[:2]


def messages(pubsub, n, timeout=10):
    got = []

    def more():
        m = pubsub.get_message(timeout=0.1)
        if m:
            got.append(m["data"])
        return len(got) >= n
    wait_until(more, timeout, message=f"{n} messages (got {got})")
    return got


def test_an_election_announces_every_change_of_leader(r, server):
    r.delete("el:x")
    p = server.client().pubsub(ignore_subscribe_messages=True)
    p.subscribe("__elect__:el:x")
    wait_until(lambda: r.pubsub_numsub("__elect__:el:x")[0][1] == 1, 10, message="the subscription")
    t1 = r.execute_command("ELECT.CAMPAIGN", "el:x", "node-a", 10000)
    assert r.execute_command("ELECT.CAMPAIGN", "el:x", "node-b", 10000) is None
    assert r.execute_command("ELECT.CAMPAIGN", "el:x", "node-a", 10000) == t1  # renewed: no news
    assert r.execute_command("ELECT.LEADER", "el:x") == ["node-a", t1]
    assert r.execute_command("ELECT.REFRESH", "el:x", t1, 300) == 1
    assert r.execute_command("ELECT.RESIGN", "el:x", t1 + 1) == 0
    assert r.execute_command("ELECT.RESIGN", "el:x", t1) == 1
    assert r.execute_command("ELECT.LEADER", "el:x") is None
    t2 = r.execute_command("ELECT.CAMPAIGN", "el:x", "node-b", 200)
    assert t2 > t1
    # node-b's lease runs out: announced once the leader's expiry deletes it.
    wait_until(lambda: r.execute_command("ELECT.LEADER", "el:x") is None and r.exists("el:x") == 0,
               10, message="the lease to run out")
    assert messages(p, 4) == [f"leader {t1} node-a", f"resigned {t1} node-a", f"leader {t2} node-b",
                              f"expired {t2} node-b"]
    r.execute_command("ELECT.CAMPAIGN", "el:lockish", "c", 1000)  # an election is not a lock
    assert "WRONGTYPE" in fenced_error(lambda: r.execute_command("LOCK.ACQUIRE", "el:lockish", "o", 100))
    p.close()


def test_an_election_evicted_by_maxmemory_is_announced(r, server):
    """Under a volatile policy the election (the only key with a TTL) is
    the victim: its subscribers hear that it ended, as after a lease ran
    out."""
    r.flushall()
    p = server.client().pubsub(ignore_subscribe_messages=True)
    p.subscribe("__elect__:el:ev")
    wait_until(lambda: r.pubsub_numsub("__elect__:el:ev")[0][1] == 1, 10, message="the subscription")
    token = r.execute_command("ELECT.CAMPAIGN", "el:ev", "node-a", 600000)
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"plain{i}", "x" * 100)
    pipe.execute()
    try:
        r.config_set("maxmemory-policy", "volatile-ttl")
        r.config_set("maxmemory", str(int(r.info("memory")["used_memory"] * 0.95)))
        wait_until(lambda: r.exists("el:ev") == 0, 10, message="the election to be evicted")
        assert messages(p, 2) == [f"leader {token} node-a", f"evicted {token} node-a"]
    finally:
        r.config_set("maxmemory", "0")
        r.config_set("maxmemory-policy", "noeviction")
        r.flushall()
        p.close()


def test_a_subscriber_on_a_follower_hears_the_leader_elected_on_the_leader(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    p = follower.client().pubsub(ignore_subscribe_messages=True)
    p.subscribe("__elect__:el:c")
    wait_until(lambda: leader.client().pubsub_numsub("__elect__:el:c")[0][1] == 1, 10,
               message="the subscription to reach the leader")
    token = leader.client().execute_command("ELECT.CAMPAIGN", "el:c", "app-1", 60000)
    assert messages(p, 1) == [f"leader {token} app-1"]
    p.close()


def test_waiters_are_granted_in_line_when_the_holder_releases_or_expires(cluster):
    import threading
    leader = cluster.leader()
    follower = cluster.followers()[0]
    holder = leader.client()
    held = holder.execute_command("LOCK.ACQUIRE", "lk:w", "h", 60000)
    got = {}

    def wait_for(name, node):
        got[name] = node.client(socket_timeout=30).execute_command(
            "LOCK.ACQUIRE", "lk:w", name, 60000, "WAIT", 20000)

    first = threading.Thread(target=wait_for, args=("first", follower))
    first.start()
    wait_until(lambda: int(follower.client().info("clients")["blocked_clients"]) == 1, 10,
               message="the first waiter to wait")
    second = threading.Thread(target=wait_for, args=("second", follower))
    second.start()
    wait_until(lambda: int(follower.client().info("clients")["blocked_clients"]) == 2, 10,
               message="the second waiter to wait")
    assert holder.execute_command("LOCK.RELEASE", "lk:w", held) == 1
    first.join(30)
    assert got["first"] > held and "second" not in got
    # The first holder never releases: its TTL would free it; here it
    # releases, and the second gets its turn.
    assert holder.execute_command("LOCK.RELEASE", "lk:w", got["first"]) == 1
    second.join(30)
    assert got["second"] > got["first"]
    # A wait that times out answers nil; one woken by an expiry gets the lock.
    c = follower.client(socket_timeout=30)
    assert c.execute_command("LOCK.ACQUIRE", "lk:w", "late", 1000, "WAIT", 200) is None
    c.execute_command("LOCK.RELEASE", "lk:w", got["second"])
    short = holder.execute_command("LOCK.ACQUIRE", "lk:w", "brief", 300)
    assert c.execute_command("LOCK.ACQUIRE", "lk:w", "patient", 1000, "WAIT", 20000) > short
    assert c.execute_command("ELECT.CAMPAIGN", "el:w", "a", 300) > 0
    assert c.execute_command("ELECT.CAMPAIGN", "el:w", "b", 1000, "WAIT", 20000) > 0
    assert c.execute_command("ELECT.LEADER", "el:w")[0] == "b"


def blocked_clients(node):
    return int(node.client().info("clients")["blocked_clients"])


class Waiters:
    """Clients that each wait for a lock on a node, in a known order: each
    is waiting (so its place in the line is in the log) before the next."""

    def __init__(self, key, ttl=60000, wait=30000):
        self.key, self.ttl, self.wait = key, ttl, wait
        self.got, self.threads, self.clients, self.blocked = {}, {}, {}, {}

    def add(self, name, node, command="LOCK.ACQUIRE"):
        import threading
        c = node.client(socket_timeout=40)
        self.clients[name] = c

        def run():
            try:
                self.got[name] = c.execute_command(command, self.key, name, self.ttl, "WAIT", self.wait)
            except redis.ConnectionError:
                self.got[name] = "gone"
        expected = self.blocked.get(node.port, blocked_clients(node)) + 1
        self.blocked[node.port] = expected
        t = self.threads[name] = threading.Thread(target=run, daemon=True)
        t.start()
        wait_until(lambda: blocked_clients(node) == expected, 10, message=f"{name} to wait")

    def token(self, name):
        self.threads[name].join(30)
        assert name in self.got, f"{name} was not served"
        return self.got[name]


def test_waiters_on_every_node_are_served_in_the_order_they_came(cluster):
    """The line is in the log: waiters are served in the order their WAIT
    reached it, whichever node they wait on (the leader's own waiters do
    not jump ahead), and a release passes the lock to the next at once."""
    leader = cluster.leader()
    f1, f2 = cluster.followers()
    admin = leader.client()
    token = admin.execute_command("LOCK.ACQUIRE", "lk:fifo", "first-holder", 60000)
    w = Waiters("lk:fifo")
    order = [("w1", f1), ("w2", leader), ("w3", f2), ("w4", leader), ("w5", f1)]
    for name, node in order:
        w.add(name, node)
    for name, node in order:
        assert admin.execute_command("LOCK.RELEASE", "lk:fifo", token) == 1
        assert admin.execute_command("LOCK.HOLDER", "lk:fifo")[0] == name
        newer = w.token(name)
        assert newer > token
        assert all(other not in w.got for other, _ in order[order.index((name, node)) + 1:])
        token = newer
    assert admin.execute_command("LOCK.RELEASE", "lk:fifo", token) == 1
    assert admin.execute_command("LOCK.HOLDER", "lk:fifo") is None


def test_an_expired_lock_passes_to_the_first_waiter(cluster):
    leader = cluster.leader()
    f1 = cluster.followers()[0]
    admin = leader.client()
    brief = admin.execute_command("LOCK.ACQUIRE", "lk:exp", "brief", 300)
    w = Waiters("lk:exp")
    w.add("a", f1)
    w.add("b", leader)
    a = w.token("a")
    assert a > brief and "b" not in w.got
    assert admin.execute_command("LOCK.HOLDER", "lk:exp")[0] == "a"
    assert admin.execute_command("LOCK.RELEASE", "lk:exp", a) == 1
    assert w.token("b") > a


def test_waiters_that_leave_give_up_their_place(cluster):
    """A waiter that times out or disconnects leaves the line (its node
    says so through the log): the lock goes to the next one, not to it."""
    leader = cluster.leader()
    f1, f2 = cluster.followers()
    admin = leader.client()
    token = admin.execute_command("LOCK.ACQUIRE", "lk:leave", "holder", 60000)
    w = Waiters("lk:leave")
    w.wait = 300
    w.add("impatient", f1)
    w.wait = 30000
    import socket
    gone = socket.create_connection(("127.0.0.1", f2.port), timeout=10)
    gone.sendall(b"*6\r\n$12\r\nLOCK.ACQUIRE\r\n$8\r\nlk:leave\r\n$4\r\ngone\r\n"
                 b"$5\r\n60000\r\n$4\r\nWAIT\r\n$5\r\n30000\r\n")
    wait_until(lambda: blocked_clients(f2) == 1, 10, message="the waiter that will go to wait")
    w.add("stays", f1)
    assert w.token("impatient") is None  # timed out
    gone.close()
    wait_until(lambda: blocked_clients(f2) == 0, 10, message="the disconnected waiter to go")
    assert admin.execute_command("LOCK.RELEASE", "lk:leave", token) == 1
    wait_until(lambda: admin.execute_command("LOCK.HOLDER", "lk:leave")[0] == "stays", 10,
               message="the lock to reach the waiter that stayed")
    assert w.token("stays") > token


def test_a_waiting_candidate_leads_when_the_leader_resigns(cluster):
    leader = cluster.leader()
    f1 = cluster.followers()[0]
    admin = leader.client()
    p = f1.client().pubsub(ignore_subscribe_messages=True)
    p.subscribe("__elect__:el:line")
    wait_until(lambda: admin.pubsub_numsub("__elect__:el:line")[0][1] == 1, 10,
               message="the subscription to reach the leader")
    t1 = admin.execute_command("ELECT.CAMPAIGN", "el:line", "one", 60000)
    w = Waiters("el:line")
    w.add("two", f1, command="ELECT.CAMPAIGN")
    assert admin.execute_command("ELECT.RESIGN", "el:line", t1) == 1
    t2 = w.token("two")
    assert messages(p, 3) == [f"leader {t1} one", f"resigned {t1} one", f"leader {t2} two"]
    p.close()
