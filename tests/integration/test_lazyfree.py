"""Freeing in the background (store/lazyfree.c): UNLINK, FLUSHALL and
FLUSHDB ASYNC, and the lazyfree-lazy-* directives, as in Redis 7.0.

Freeing the keys of a big database used to run inside the command, on the
event loop that answers clients and sends Raft heartbeats: FLUSHALL over 3
million keys held it for about 600 ms (release build). Now the keys are
gone when the command answers, on every node, and a background thread
gives their memory back. The stall is read from the latency monitor
(LATENCY LATEST), as an operator would, not timed by the test; the memory
from INFO (used_memory drops once lazyfree_pending_objects is 0)."""
import os

import redis

from conftest import SERVER, Cluster, Node, Repeat, load_keys, wait_until, wait_writable

SANITIZED = os.path.basename(os.path.dirname(SERVER)) == "san"
# Enough keys that freeing them on the loop takes well over STALL_MS.
KEYS = int(os.environ.get("PARLEY_LAZYFREE_TEST_KEYS", "2000000" if SANITIZED else "3000000"))
# A loop iteration this long is a stall (under the sanitizers everything
# is several times slower; freeing the keys on the loop took seconds there).
STALL_MS = 300 if SANITIZED else 100
DIRECTIVES = ["lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
              "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush"]


def mem(c, field):
    return int(c.info("memory")[field])


def freed(c):
    return int(c.info("stats")["lazyfreed_objects"])


def wait_drained(c, timeout=120):
    wait_until(lambda: mem(c, "lazyfree_pending_objects") == 0, timeout,
               message="the free thread to finish")


def latency_latest(c):
    return {e[0]: int(e[3]) for e in c.execute_command("LATENCY", "LATEST")}


def assert_pong(client):
    assert client.ping()


def big_hash(c, key, fields=5000):
    """A hash table encoded hash: far above the effort threshold (64)."""
    for start in range(0, fields, 1000):
        c.hset(key, mapping={f"f{i}": f"v{i}" for i in range(start, min(fields, start + 1000))})
    assert c.object("encoding", key) == "hashtable"


def test_flushall_async_over_millions_of_keys_answers_at_once(tmp_path):
    node = Node(str(tmp_path), extra=["--divergence-check-interval-ms", "0"]).start()
    try:
        wait_writable(node)
        c = node.client(socket_timeout=60)
        load_keys(node.port, KEYS)
        assert c.dbsize() == KEYS + 1
        full = mem(c, "used_memory")
        assert mem(c, "lazyfree_pending_objects") == 0
        before = freed(c)
        # Loading wrote enough log for a snapshot: let it end first (the
        # parent's share of one is tens of milliseconds, see
        # test_snapshot_fork.py), so that the flush is all the loop does.
        wait_until(lambda: int(c.info("raft")["raft_snapshot_in_progress"]) == 0, 60,
                   message="the snapshot in progress to end")
        c.config_set("latency-monitor-threshold", STALL_MS)
        c.execute_command("LATENCY", "RESET")
        pinger = node.client(socket_timeout=30)
        with Repeat(lambda: assert_pong(pinger), "PING") as pings:
            wait_until(lambda: pings.calls > 0, 10, message="a first PONG")
            assert c.flushall(asynchronous=True)
            # The keys are gone when it answers; the memory not yet.
            assert c.dbsize() == 0
            assert c.get("k:1") is None
            pongs_at_flush = pings.calls
            wait_drained(c)
            wait_until(lambda: pings.calls > pongs_at_flush, 10, message="PONGs after the flush")
        # No loop iteration or command held the loop for STALL_MS.
        stalls = latency_latest(c)
        assert not stalls, f"stalls of at least {STALL_MS} ms were recorded: {stalls}"
        assert freed(c) - before == KEYS + 1
        # The memory came back.
        assert mem(c, "used_memory") < full / 10, (full, mem(c, "used_memory"))
        # The emptied database works as before.
        c.set("after", "1")
        assert c.get("after") == "1" and c.dbsize() == 1
    finally:
        assert node.stop() == 0


def test_flush_modes_and_directives(tmp_path):
    node = Node(str(tmp_path), extra=["--lazyfree-lazy-user-flush", "yes"]).start()
    try:
        c = node.client()
        assert c.config_get("lazyfree-lazy-user-flush") == {"lazyfree-lazy-user-flush": "yes"}
        c.config_set("lazyfree-lazy-user-flush", "no")
        assert c.config_get("lazyfree-*") == {d: "no" for d in DIRECTIVES}
        for d in DIRECTIVES:
            assert c.config_set(d, "yes")
            assert c.config_get(d) == {d: "yes"}
            assert c.config_set(d, "no")
        try:
            c.config_set("lazyfree-lazy-user-del", "maybe")
            raise AssertionError("a bad value was accepted")
        except redis.ResponseError as e:
            assert str(e) == ("CONFIG SET failed (possibly related to argument "
                              "'lazyfree-lazy-user-del') - argument must be 'yes' or 'no'")

        def fill(n, db=0):
            c.execute_command("SELECT", db)
            c.mset({f"k{i}": i for i in range(n)})
            c.execute_command("SELECT", 0)

        # Without ASYNC or SYNC, as lazyfree-lazy-user-flush says.
        base = freed(c)
        fill(100)
        c.flushall()
        fill(100)
        c.flushdb()
        wait_drained(c)
        assert freed(c) == base
        c.config_set("lazyfree-lazy-user-flush", "yes")
        fill(100)
        fill(50, db=3)
        c.flushall()
        assert c.dbsize() == 0
        wait_drained(c)
        assert freed(c) == base + 150
        # SYNC never lazily, ASYNC always.
        fill(100)
        c.execute_command("FLUSHDB", "SYNC")
        c.config_set("lazyfree-lazy-user-flush", "no")
        fill(70)
        fill(30, db=3)
        c.execute_command("FLUSHDB", "ASYNC")
        assert c.dbsize() == 0
        c.execute_command("SELECT", 3)
        assert c.dbsize() == 30
        c.execute_command("SELECT", 0)
        wait_drained(c)
        assert freed(c) == base + 220
        for bad in (["FLUSHALL", "LAZY"], ["FLUSHDB", "ASYNC", "SYNC"]):
            try:
                c.execute_command(*bad)
                raise AssertionError(f"{bad} was accepted")
            except redis.ResponseError as e:
                assert str(e) == "syntax error"
        # CONFIG RESETSTAT clears the count, as Redis's.
        c.config_resetstat()
        assert freed(c) == 0
    finally:
        assert node.stop() == 0


def test_unlink_and_del_of_a_big_hash(tmp_path):
    node = Node(str(tmp_path)).start()
    try:
        c = node.client()
        base = freed(c)
        used = mem(c, "used_memory")
        big_hash(c, "big", 200_000)
        grown = mem(c, "used_memory") - used
        assert grown > 10_000_000, grown
        assert c.unlink("big", "nosuchkey") == 1
        assert c.exists("big") == 0
        wait_drained(c)
        assert freed(c) == base + 1
        assert mem(c, "used_memory") < used + grown / 4
        # A small value is freed at once, even by UNLINK (Redis's threshold).
        c.hset("small", mapping={"a": 1, "b": 2})
        c.sadd("smallset", *range(100))
        assert c.unlink("small", "smallset") == 2
        # DEL frees a big value on the loop, unless lazyfree-lazy-user-del.
        big_hash(c, "big")
        assert c.delete("big") == 1
        assert freed(c) == base + 1
        c.config_set("lazyfree-lazy-user-del", "yes")
        big_hash(c, "big")
        assert c.delete("big") == 1
        wait_drained(c)
        assert freed(c) == base + 2
    finally:
        assert node.stop() == 0


def test_memory_of_one_huge_command_is_given_back(tmp_path):
    """A single SADD of 100,000 members: once the set is unlinked, used
    memory returns near the empty server's. The room apply and the
    leader's memory gate use to walk a command's arguments grew to that
    command's 100,000 arguments (1.6 MB) and kept it until the node
    stopped (Redis's lazyfree unit checks this: below twice the empty
    server's used_memory)."""
    node = Node(str(tmp_path)).start()
    try:
        c = node.client()
        c.config_set("maxmemory", "1gb")  # the leader's memory gate walks it too
        wait_drained(c)
        empty = mem(c, "used_memory")
        assert c.sadd("myset", *range(100_000)) == 100_000
        assert mem(c, "used_memory") > empty + 1_000_000
        assert c.unlink("myset") == 1
        wait_until(lambda: mem(c, "used_memory") < empty + 200_000, 10,
                   message=f"used_memory back near {empty}")
    finally:
        assert node.stop() == 0


def test_server_del_expire_and_eviction_directives(tmp_path):
    node = Node(str(tmp_path)).start()
    try:
        c = node.client()
        base = freed(c)
        # An overwritten value is the server's deletion.
        big_hash(c, "h")
        c.set("h", "x")
        c.config_set("lazyfree-lazy-server-del", "yes")
        big_hash(c, "h2")
        c.set("h2", "x")
        wait_drained(c)
        assert freed(c) == base + 1
        # An expired key.
        c.config_set("lazyfree-lazy-expire", "yes")
        c.sadd("s", *[f"m{i}" for i in range(1000)])
        c.pexpire("s", 50)
        wait_until(lambda: freed(c) == base + 2, 20, message="the expired set to be freed")
        assert c.exists("s") == 0
        # Maxmemory's victims.
        c.config_set("lazyfree-lazy-eviction", "yes")
        for i in range(10):
            big_hash(c, f"victim{i}", 3000)
        c.config_set("maxmemory-policy", "allkeys-random")
        c.config_set("maxmemory", mem(c, "used_memory") - 2_000_000)
        wait_until(lambda: int(c.info("stats")["evicted_keys"]) > 0, 20, message="an eviction")
        c.config_set("maxmemory", 0)
        wait_drained(c)
        assert freed(c) >= base + 3
    finally:
        assert node.stop() == 0


def test_cluster_flushes_alike_whatever_each_node_frees_lazily(tmp_path):
    cluster = Cluster(str(tmp_path), extra=["--divergence-check-interval-ms", "0"]).start()
    try:
        leader = cluster.leader()
        follower = cluster.followers()[0]
        n = 200_000
        load_keys(leader.port, n)
        cluster.wait_converged(60)
        before = {x.node_id: freed(x.client()) for x in cluster.nodes}
        # Sent to a follower, forwarded; answered once applied.
        assert follower.client().flushall(asynchronous=True)
        cluster.wait_converged(60)
        for x in cluster.nodes:
            ro = x.client()
            ro.execute_command("READONLY")
            assert ro.dbsize() == 0 and ro.get("k:7") is None
            wait_drained(ro)
            assert freed(ro) - before[x.node_id] >= n
        # The directives are each node's own: they change how it frees,
        # never what it holds.
        follower.client().config_set("lazyfree-lazy-user-flush", "yes")
        leader.client().mset({f"x{i}": i for i in range(1000)})
        before = {x.node_id: freed(x.client()) for x in cluster.nodes}
        assert leader.client().flushall()
        cluster.wait_converged(60)
        for x in cluster.nodes:
            c = x.client()
            wait_drained(c)
            expected = 1000 if x is follower else 0
            assert freed(c) - before[x.node_id] == expected, x.node_id
    finally:
        cluster.stop()


def test_shutdown_and_snapshots_with_frees_pending(tmp_path):
    snap = ["--raft-snapshot-threshold", "64", "--divergence-check-interval-ms", "0"]
    node = Node(str(tmp_path), extra=snap).start()
    try:
        wait_writable(node)
        c = node.client(socket_timeout=60)
        load_keys(node.port, 500_000)
        taken = int(c.info("raft")["raft_snapshots_taken"])
        c.flushall(asynchronous=True)
        # Writes while the thread frees: a snapshot (a forked child) every
        # 64 entries.
        for i in range(300):
            c.set(f"after{i}", i)
        wait_until(lambda: int(c.info("raft")["raft_snapshots_taken"]) > taken, 60,
                   message="a snapshot while freeing")
        assert c.dbsize() == 300
        load_keys(node.port, 500_000)
        c.flushall(asynchronous=True)
        c.set("last", "1")
        # Stopped with frees pending: a clean exit (no leak under ASan).
        assert node.stop() == 0
        node.start()
        c = node.client(socket_timeout=60)
        wait_until(lambda: c.get("last") == "1", 30, message="the node to come back")
        assert c.dbsize() == 1
    finally:
        assert node.stop() == 0
