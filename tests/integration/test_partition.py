"""Reads stay linearizable when the leader is cut off.

The leader serves reads from memory while it holds a read lease. Cut its
Raft links (clients can still reach it): the others elect a new leader and
accept a write. A read sent to the old leader afterwards must return the new
value or fail, never the old one. Needs root (network namespaces)."""
import pytest
import redis

from conftest import wait_until
import netns

pytestmark = pytest.mark.skipif(not netns.available(),
                                reason="needs root and network namespaces")


@pytest.fixture
def ns_cluster(tmp_path):
    clusters = []

    def make(start=True, **kw):
        c = netns.NsCluster(str(tmp_path), **kw)
        clusters.append(c)
        return c.start() if start else c
    yield make
    for c in clusters:
        c.destroy()


def test_isolated_leader_never_serves_a_stale_read(ns_cluster):
    cluster = ns_cluster(extra=["--request-timeout-ms", "3000"])
    old = cluster.wait_leader()
    wait_until(lambda: old.client(socket_timeout=2).set("register", "old"), 10,
               message="first write")
    # Reads are served from the lease now.
    assert old.client().get("register") == "old"
    cluster.cut_raft(old)
    try:
        new = cluster.wait_leader(10, exclude=[old])
        wait_until(lambda: new.client(socket_timeout=2).set("register", "new"), 10,
                   message="a write through the new leader")
        stale = old.client(socket_timeout=20)
        for _ in range(2):
            try:
                value = stale.get("register")
            except redis.ResponseError as e:
                value = None
                assert str(e).startswith(("CLUSTERDOWN", "TIMEOUT")), e
            assert value != "old", "the deposed leader served a stale read"
    finally:
        cluster.heal_raft(old)
    # Healed: the old leader follows the new one and serves the new value.
    wait_until(lambda: old.client(socket_timeout=5).get("register") == "new", 20,
               message="the old leader to catch up")


def test_lease_is_bounded_by_the_fastest_voter_not_the_leader(ns_cluster):
    """A misconfigured cluster: the leader's election timeout is 3 s, its
    followers' 300 ms. Cut off, the leader still believes it leads for 3 s,
    while the followers elect a new leader after 0.3-0.6 s. Its read lease
    must follow the followers' timeout (they register it in the log), so a
    read sent to it after the new leader's write is never stale."""
    slow = ["--raft-election-timeout-ms", "3000", "--request-timeout-ms", "3000"]
    patient = ["--raft-election-timeout-ms", "60000", "--request-timeout-ms", "3000"]
    fast = ["--raft-election-timeout-ms", "300", "--request-timeout-ms", "3000"]
    cluster = ns_cluster(extra=slow, start=False)
    n1, n2, n3 = cluster.nodes
    # Node 1 wins the first election (the others would wait a minute), then
    # the others restart, one at a time, with a 300 ms timeout.
    n2.extra = n3.extra = patient
    cluster.start()
    wait_until(n1.is_leader, 20, message="node 1 to win the first election")
    for n in (n2, n3):
        n.kill()
        n.extra = fast
        n.start()
        wait_until(lambda n=n: n.raft_info().get("leader_id") == "1", 10,
                   message=f"node {n.node_id} to follow node 1")
    assert n1.is_leader(), "leadership moved while the followers restarted"
    # Restarted with a shorter timeout than they registered, the followers
    # keep the longer one (a lease taken on it is still being honoured)
    # until the log holds their new one; then node 1's leases shrink to
    # 0.8 x 300 ms.
    wait_until(lambda: all(n.raft_info().get("election_timeout_ms") == "300" for n in (n2, n3))
               and n1.raft_info().get("read_lease_window_ms") == "240", 10,
               message="the followers' 300 ms timeouts to be registered and in force")
    wait_until(lambda: n1.client(socket_timeout=2).set("register", "old"), 10,
               message="a write through node 1")
    # Once every voter has registered its timeout, a read through the log
    # gives node 1 a lease.
    wait_until(lambda: n1.client().get("register") == "old"
               and n1.raft_info().get("read_lease") == "valid", 10,
               message="node 1's read lease")
    cluster.cut_raft(n1)
    try:
        new = cluster.wait_leader(10, exclude=[n1])
        wait_until(lambda: new.client(socket_timeout=2).set("register", "new"), 10,
                   message="a write through the new leader")
        assert n1.is_leader(), "node 1 should still believe it leads"
        try:
            value = n1.client(socket_timeout=20).get("register")
        except redis.ResponseError as e:
            value = None
            assert str(e).startswith(("CLUSTERDOWN", "TIMEOUT")), e
        assert value != "old", "the deposed leader served a stale read"
    finally:
        cluster.heal_raft(n1)
