"""Active expiry that keeps up (repl/expire.c).

The leader finds expired keys and proposes their deletion through the log.
It used to delete at most 1,000 keys per database per 100 ms cycle, one
proposal at a time (about 10,000 keys a second), so a cache writing more
short-lived keys than that grew without bound. The cycle now follows
Redis's active expiry: it goes on while many of the keys it checks are
expired, within a time budget, and proposes what it found in batches of up
to 10,000 keys, one after another.

What is asserted does not depend on the machine's speed: the number of log
entries the node proposed while 200,000 keys that expired at the same
moment were deleted. The old cycle needed at least 200 (1,000 keys each);
the new one consults the clock only after 1,280 keys of one database, so
each of its proposals holds at least that many while expired keys remain,
and 200,000 keys take fewer than 160 proposals however slow the machine."""

from conftest import Cluster, Node, Repeat, wait_until, wait_writable

KEYS = 200_000
OLD_KEYS_PER_CYCLE = 1000

# One log entry sets every key's expiry 1 ms ahead: they all expire at once.
EXPIRE_ALL = "for i = 0, tonumber(ARGV[1]) - 1 do redis.call('pexpire', 'k:' .. i, 1) end return 1"


def load(client, n):
    p = client.pipeline(transaction=False)
    for i in range(n):
        p.set(f"k:{i}", "v")
        if len(p) >= 2000:
            p.execute()
    p.execute()


def stats(client):
    return client.info("stats")


def entries_proposed(client):
    return int(client.info("raft")["raft_entries_proposed"])


def Pinger(node):
    """PINGs the node over its own connection, every 5 ms, until the with
    block ends; every PING must be answered (a connection timeout of 10 s
    counts as a failure)."""
    client = node.client(socket_timeout=10)

    def ping():
        assert client.ping()
    return Repeat(ping, "PING", pause_s=0.005)


def test_mass_expiry_is_proposed_in_large_batches(tmp_path):
    # No divergence checks: every entry proposed during the test is the
    # script's or an expiry batch.
    node = Node(str(tmp_path), extra=["--divergence-check-interval-ms", "0"]).start()
    try:
        wait_writable(node)
        c = node.client(socket_timeout=60)
        c.delete("__ready")
        load(c, KEYS)
        # Keys that must stay: a distant TTL among the expiring ones, and none.
        p = c.pipeline(transaction=False)
        for i in range(1000):
            p.set(f"long:{i}", "v", ex=3600)
            p.set(f"forever:{i}", "v")
        p.execute()
        assert c.dbsize() == KEYS + 2000
        before = stats(c)
        assert "expired_stale_perc" in before
        assert "expired_time_cap_reached_count" in before
        assert "expire_cycle_cpu_milliseconds" in before
        e0 = entries_proposed(c)
        with Pinger(node) as pinger:
            assert c.eval(EXPIRE_ALL, 0, KEYS) == 1
            # Reads treat them as gone at once...
            wait_until(lambda: c.get("k:0") is None and c.exists("k:199999") == 0, 10,
                       message="expired keys to read as absent")
            answered_during = pinger.calls
            # ...and the cycle deletes them (the old one took ~20 s here).
            wait_until(lambda: c.dbsize() == 2000, 120, interval=0.05,
                       message="every expired key to be deleted")
        assert pinger.calls > answered_during, "PING was not answered during the expiry"
        after = stats(c)
        assert int(after["expired_keys"]) - int(before["expired_keys"]) == KEYS
        proposals = entries_proposed(c) - e0 - 1  # less the script's own entry
        assert 0 < proposals < KEYS // OLD_KEYS_PER_CYCLE, (
            f"{proposals} expiry proposals for {KEYS} keys: no more than "
            f"{KEYS // proposals} keys each")
        assert float(after["expired_stale_perc"]) > 0
        assert c.exists("long:0", "long:999", "forever:0", "forever:999") == 4
        assert c.ttl("long:500") > 3000
        assert node.stop() == 0
    finally:
        node.kill()


def test_cluster_replicas_agree_after_mass_expiry(tmp_path):
    """Two databases' keys expire at once on a 3-node cluster: every node
    deletes them all (each counts them in its own expired_keys) and the
    replicas hold the same data; the leader proposed fewer batches than the
    old cycle could have (1,000 keys per database per batch)."""
    cl = Cluster(str(tmp_path), 3, extra=["--divergence-check-interval-ms", "0"]).start()
    try:
        leader = cl.leader()
        c = leader.client(socket_timeout=60)
        c.delete("__ready")
        per_db = 50_000
        load(c, per_db)
        c.set("keep", "1")
        c5 = leader.client(socket_timeout=60, db=5)
        load(c5, per_db)
        e0 = entries_proposed(c)
        with Pinger(leader):
            assert c.eval(EXPIRE_ALL, 0, per_db) == 1
            assert c5.eval(EXPIRE_ALL, 0, per_db) == 1

            # Polled through INFO, which each node answers from its own
            # keyspace without a read through the leader's lease (a lease
            # renewal would be an entry of its own).
            def emptied():
                for node in cl.nodes:
                    keyspace = node.client().info("keyspace")
                    if keyspace.get("db0", {}).get("keys") != 1 or "db5" in keyspace:
                        return False
                return True
            wait_until(emptied, 120, interval=0.05, message="every node to delete the keys")
        proposals = entries_proposed(c) - e0 - 2  # less the scripts' entries
        assert 0 < proposals < 2 * per_db // (2 * OLD_KEYS_PER_CYCLE), proposals
        cl.wait_converged(timeout=30)
        for node in cl.nodes:
            assert int(node.client().info("stats")["expired_keys"]) == 2 * per_db, node.node_id
        cl.stop()
    finally:
        for node in cl.nodes:
            node.kill()
