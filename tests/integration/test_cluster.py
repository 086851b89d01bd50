"""A three-node cluster on one machine: any node serves any client, the
replicas stay identical, and killing the leader loses no acknowledged write
and applies no write twice."""
import random
import re
import threading
import time

import redis

from conftest import wait_until, wait_writable


def test_any_node_serves_writes_and_linearizable_reads(cluster):
    nodes = cluster.nodes
    for i, writer in enumerate(nodes):
        assert writer.client().set(f"any:{i}", f"from-{writer.node_id}")
        # A read through every node, right after the acknowledgement, sees it.
        for reader in nodes:
            assert reader.client().get(f"any:{i}") == f"from-{writer.node_id}"
    cluster.wait_converged()


def test_raft_info_shows_roles_members_and_leader(cluster):
    leader = cluster.leader()
    infos = [n.raft_info() for n in cluster.nodes]
    assert sorted(i["role"] for i in infos) == ["follower", "follower", "leader"]
    for n, info in zip(cluster.nodes, infos):
        assert info["node_id"] == str(n.node_id)
        assert info["leader_id"] == str(leader.node_id)
        assert info["leader_addr"] == f"127.0.0.1:{leader.port}"
        assert info["members"] == "3"
        assert int(info["commit_index"]) >= int(info["applied_index"]) > 0
        members = [info[f"member{k}"] for k in range(3)]
        for m in cluster.nodes:
            assert any(x.startswith(f"{m.node_id}@{m.raft_addr}:voter:") for x in members)


def test_replicas_agree_on_counters_written_everywhere(cluster):
    clients = [n.client() for n in cluster.nodes]
    for i in range(60):
        clients[i % 3].incr("agree:counter")
    for c in clients:
        assert c.get("agree:counter") == "60"
    cluster.wait_converged()


class Appender(threading.Thread):
    """APPENDs "<i>," to its own key for i = 0, 1, ..., one at a time. Every
    token acknowledged must end up in the key exactly once; a token whose
    command failed (connection lost) may or may not be there, but never
    twice. After a failure it moves to another live node."""

    def __init__(self, cluster, name, node):
        super().__init__(daemon=True)
        self.cluster, self.name, self.node = cluster, name, node
        self.acked, self.unknown = [], []
        self.stop = threading.Event()
        self.ack_times = []

    def run(self):
        client = self.node.client(socket_timeout=20)
        i = 0
        while not self.stop.is_set():
            try:
                sent = time.monotonic()
                client.append(self.name, f"{i},")
                self.acked.append(i)
                self.ack_times.append((sent, time.monotonic()))
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.unknown.append(i)
                live = [n for n in self.cluster.nodes if n.alive()]
                self.node = random.choice(live)
                client = self.node.client(socket_timeout=20)
                time.sleep(0.05)
            i += 1


def check_tokens(value, appender):
    tokens = [int(t) for t in value.split(",") if t] if value else []
    assert len(tokens) == len(set(tokens)), f"{appender.name}: a write was applied twice"
    assert tokens == sorted(tokens), f"{appender.name}: writes applied out of order"
    missing = set(appender.acked) - set(tokens)
    assert not missing, f"{appender.name}: acknowledged writes lost: {sorted(missing)[:10]}"
    extra = set(tokens) - set(appender.acked) - set(appender.unknown)
    assert not extra, f"{appender.name}: writes that were never sent: {sorted(extra)}"


def test_leader_sigkill_under_load_loses_nothing_and_duplicates_nothing(make_cluster):
    cluster = make_cluster().start()
    leader = cluster.leader()
    appenders = [Appender(cluster, f"log:{n.node_id}:{k}", n) for n in cluster.nodes for k in range(2)]
    for a in appenders:
        a.start()
    total = lambda: sum(len(a.acked) for a in appenders)
    wait_until(lambda: total() >= 400, 60, message="400 acknowledged appends")
    killed_at = time.monotonic()
    leader.kill()
    before = total()
    new_leader = cluster.wait_leader(10, exclude=[leader])
    wait_until(lambda: total() >= before + 400, 60, message="400 more appends after the kill")
    for a in appenders:
        a.stop.set()
    for a in appenders:
        a.join(30)
    first_after = min(acked for a in appenders for sent, acked in a.ack_times if sent > killed_at)
    print(f"\nfailover: the first write sent after SIGKILL of the leader (node {leader.node_id}) "
          f"was acknowledged {first_after - killed_at:.3f}s after the kill; "
          f"new leader node {new_leader.node_id}")
    leader.start()
    cluster.wait_converged(30)
    c = new_leader.client()
    for a in appenders:
        check_tokens(c.get(a.name), a)
    # The restarted node holds the same data (converged digests).
    assert leader.client().get(appenders[0].name) == c.get(appenders[0].name)


def test_follower_restarted_after_log_compaction_catches_up(make_cluster):
    cluster = make_cluster(extra=["--raft-snapshot-threshold", "32",
                                  "--raft-snapshot-trailing", "8"]).start()
    follower = cluster.followers()[0]
    follower.kill()
    leader = cluster.leader()
    c = leader.client()
    for i in range(400):
        c.set(f"compacted:{i}", i)
    follower.start()
    cluster.wait_converged(30)
    assert follower.client().get("compacted:399") == "399"


def test_expiry_is_decided_by_the_leader_and_reaches_every_replica(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    before = leader.client().dbsize()
    follower.client().set("short-lived", "v", px=150)
    # DBSIZE counts keys that expired but were not deleted yet: it drops only
    # when the leader's deletion has gone through the log.
    assert leader.client().dbsize() == before + 1
    wait_until(lambda: leader.client().dbsize() == before, 10,
               message="the leader to propose the expired key's deletion")
    for n in cluster.nodes:
        assert n.client().get("short-lived") is None
    cluster.wait_converged()


def test_leader_resumed_after_a_pause_answers_with_the_new_state(make_cluster):
    """SIGSTOP the leader past the election timeout: the others elect a new
    leader and accept a write. Reads and writes sent to the old leader when it
    wakes up see the new state and are applied once. The logs say why the
    leadership moved: the new leader stood for election because the old one
    went silent, and the old one says it stopped leading after its own loop
    paused for as long as it was stopped.

    This does not isolate the read lease: on waking, the old leader reads the
    new leader's messages buffered in its sockets and steps down before it
    sees the client's read (a lease that never expired passes too). Checking
    lease expiry itself needs links cut while the node runs: the partition
    suite with network namespaces (see README, not done yet)."""
    import signal
    cluster = make_cluster().start()
    old = cluster.leader()
    old.client().set("register", "old")
    old.proc.send_signal(signal.SIGSTOP)
    try:
        new = cluster.wait_leader(10, exclude=[old])
        assert new.client().set("register", "new")
        stale_client = old.client(socket_timeout=20)
        old.proc.send_signal(signal.SIGCONT)
        assert stale_client.get("register") == "new"
        # A write sent to the old leader is forwarded and applied once.
        assert stale_client.incr("counter-after-pause") == 1
        assert new.client().get("counter-after-pause") == "1"
    finally:
        old.proc.send_signal(signal.SIGCONT)
    cluster.wait_converged()
    assert re.search(r"Standing for election \(term \d+\): the leader was last heard from \d+ ms "
                     r"ago \(election timeout \d+ ms\)", new.log_text()), new.log_tail()
    wait_until(lambda: "No longer the Raft leader of term" in old.log_text(), 10,
               message="the old leader to say it stopped leading")
    paused = re.search(r"No longer the Raft leader of term \d+ \(now term \d+, \w+\); this node's "
                       r"loop paused at most (\d+) ms", old.log_text())
    assert paused and int(paused.group(1)) >= 200, old.log_tail()


def test_without_a_quorum_writes_fail_after_the_request_timeout(make_cluster):
    cluster = make_cluster(extra=["--request-timeout-ms", "1500"]).start()
    survivor = cluster.followers()[0]
    for n in cluster.nodes:
        if n is not survivor:
            n.kill()
    c = survivor.client(socket_timeout=20)
    started = time.monotonic()
    try:
        c.set("no-quorum", "x")
        raise AssertionError("a write without a quorum was acknowledged")
    except redis.ResponseError as e:
        assert str(e).startswith(("CLUSTERDOWN", "TIMEOUT")), e
    assert time.monotonic() - started < 15
    # Quorum back: the same node serves writes again.
    for n in cluster.nodes:
        if n is not survivor:
            n.start()
    wait_writable(survivor, 20)
    assert c.set("quorum-again", "y")
    cluster.wait_converged(20)


def test_a_node_restarted_with_a_shorter_election_timeout_keeps_the_old_until_registered(make_cluster):
    """Leaders lease reads on the election timeouts their voters registered
    in the log. A node restarted with a shorter timeout must not act on it
    (stand for election, grant votes sooner) before the log holds it: alone,
    it cannot commit its new registration, so it keeps the old timeout."""
    cluster = make_cluster(extra=["--raft-election-timeout-ms", "2000"]).start()
    n1, n2, n3 = cluster.nodes
    wait_until(lambda: all(n.raft_info().get("election_timeout_ms") == "2000" for n in cluster.nodes),
               10, message="every node running with 2000 ms")
    wait_until(lambda: all(n.raft_info().get("read_lease_window_ms") in ("1600", None)
                           for n in cluster.nodes if n.is_leader()), 10,
               message="the leader's lease window from the registered 2000 ms")
    for n in cluster.nodes:
        n.kill()
    n2.extra = ["--raft-election-timeout-ms", "500"]
    n2.start()
    # No quorum: nothing of n2's can commit, so the 2000 ms stays in force.
    assert n2.raft_info().get("election_timeout_ms") == "2000"
    assert "Election timeout 2000 ms until this node's 500 ms is registered" in n2.log_text()
    n1.start()
    n3.start()
    leader = cluster.wait_leader(20)
    wait_until(lambda: n2.raft_info().get("election_timeout_ms") == "500", 20,
               message="node 2's 500 ms registered and in force")
    wait_until(lambda: leader.raft_info().get("read_lease_window_ms") == "400", 20,
               message="the leader's lease window from node 2's 500 ms")
    # And it stays so across another restart.
    n2.kill()
    n2.start()
    assert n2.raft_info().get("election_timeout_ms") == "500"
