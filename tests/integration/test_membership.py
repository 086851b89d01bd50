"""Membership and leadership from redis-cli: RAFT MEMBERS, RAFT TRANSFER,
RAFT NODE ADD ... OBSERVER, RAFT NODE PROMOTE, RAFT NODE REMOVE (of a
follower and of the leader itself), each sent to any node; and a leader
that is shut down hands leadership over before it exits."""

import threading

import redis

from conftest import Node, wait_until
from exact import err, exact_client


def members(node):
    """{id: {field: value}} from RAFT MEMBERS."""
    out = {}
    for row in node.client(socket_timeout=5).execute_command("RAFT", "MEMBERS"):
        d = dict(zip(row[0::2], row[1::2]))
        out[int(d["id"])] = d
    return out


def leader_id(node):
    return int(node.raft_info()["leader_id"])


def by_id(cluster, node_id):
    return [n for n in cluster.nodes if n.node_id == node_id][0]


def test_members_and_transfer_from_a_follower(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    follower = c.followers()[0]
    m = members(follower)
    assert sorted(m) == [1, 2, 3]
    assert [i for i, d in m.items() if d["leader"] == 1] == [leader.node_id]
    assert all(d["role"] == "voter" for d in m.values())
    assert m[leader.node_id]["client-addr"] == f"127.0.0.1:{leader.port}"
    assert m[leader.node_id]["raft-addr"] == leader.raft_addr
    # Ask a follower to hand leadership to the third node: relayed to the
    # leader, answered once the third node leads.
    third = [n for n in c.nodes if n not in (leader, follower)][0]
    assert follower.client().execute_command("RAFT", "TRANSFER", third.node_id) == "OK"
    assert third.is_leader()
    # Its log says why it stood for election (repl/node.c, node_watch).
    assert "the leader hands leadership over to this node" in third.log_text()
    assert "was last heard from" not in third.log_text(), third.log_tail()
    # Without an id libraft picks a voter.
    assert third.client().execute_command("RAFT", "TRANSFER") == "OK"
    new = c.wait_leader()
    assert new is not third
    x = exact_client(new)
    assert err(x, "RAFT", "TRANSFER", "9") == "ERR node 9 is not a voting member"
    assert err(x, "RAFT", "TRANSFER", "x") == "ERR node id must be a positive integer"
    new.client().set("still", "writable")
    assert third.client().get("still") == "writable"


def test_remove_a_follower_then_the_leader(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    f1, f2 = c.followers()
    # Sent to the follower that is being removed: relayed to the leader.
    assert f1.client().execute_command("RAFT", "NODE", "REMOVE", f1.node_id) == "OK"
    wait_until(lambda: sorted(members(leader)) == sorted([leader.node_id, f2.node_id]), 10,
               message="the removed follower to leave the configuration")
    leader.client().set("after-remove", "1")
    assert f2.client().get("after-remove") == "1"
    x = exact_client(leader)
    assert err(x, "RAFT", "NODE", "REMOVE", str(f1.node_id)) == \
        f"ERR node {f1.node_id} is not a member"
    # Removing the leader hands leadership to the other member first.
    assert leader.client().execute_command("RAFT", "NODE", "REMOVE", leader.node_id) == "OK"
    wait_until(lambda: f2.is_leader(), 10, message="the remaining node to lead")
    assert sorted(members(f2)) == [f2.node_id]
    # The remaining one-voter cluster takes writes and kept the data.
    f2.client().set("alone", "yes")
    assert f2.client().get("after-remove") == "1"
    assert "Leadership handed over to node" in leader.log_text()


def test_observer_receives_the_log_never_leads_and_can_be_promoted(make_cluster, tmp_path):
    c = make_cluster().start()
    follower = c.followers()[0]
    for i in range(50):
        c.nodes[0].client().set(f"k{i}", i)
    obs = Node(str(tmp_path), node_id=4, extra=["--join", f"127.0.0.1:{follower.port}"])
    # Added as an observer first; started with --join, it is then answered
    # OK as it is (no promotion).
    assert follower.client().execute_command(
        "RAFT", "NODE", "ADD", 4, obs.raft_addr, "OBSERVER") == "OK"
    obs.start()
    try:
        wait_until(lambda: "is a member of the cluster" in obs.log_text(), 20,
                   message="the observer's join to be answered")
        wait_until(lambda: obs.client().get("k49") == "49", 20,
                   message="the observer to receive the log")
        assert members(follower)[4]["role"] == "observer"
        # Three voters: killing the leader leaves a majority; the observer
        # never becomes leader.
        old = c.leader()
        old.kill()
        new = c.wait_leader(15, exclude=[old])
        assert new.node_id != 4 and not obs.is_leader()
        new.client().set("after-failover", "1")
        wait_until(lambda: obs.client().get("after-failover") == "1", 15,
                   message="the observer to follow the new leader")
        x = exact_client(new)
        assert err(x, "RAFT", "NODE", "ADD", "4", obs.raft_addr, "VOTERS") == (
            "ERR syntax: RAFT NODE ADD <id> <raft host:port> [VOTER|OBSERVER] | "
            "RAFT NODE PROMOTE <id> | RAFT NODE REMOVE <id>")
        assert x.execute_command("RAFT", "NODE", "PROMOTE", "4") == "OK"
        assert members(new)[4]["role"] == "voter"
    finally:
        obs.kill()


def test_shutdown_of_the_leader_hands_leadership_over(make_cluster):
    """SIGTERM to the leader while clients write through it: it hands
    leadership over, every command it had is answered (OK, or an error
    saying the outcome is unknown) or its connection closes, none waits
    out its socket timeout, and every acknowledged write is kept."""
    c = make_cluster().start()
    leader = c.leader()
    outcomes = {"ok": [], "error": [], "closed": 0, "timeout": 0}
    lock = threading.Lock()
    started = threading.Barrier(5)

    def writer(w):
        cl = leader.client(socket_timeout=5)
        started.wait()
        for i in range(100000):
            try:
                cl.set(f"w{w}:{i}", i)
                with lock:
                    outcomes["ok"].append(f"w{w}:{i}")
            except redis.TimeoutError:
                with lock:
                    outcomes["timeout"] += 1
                return
            except redis.ConnectionError:
                with lock:
                    outcomes["closed"] += 1
                return
            except redis.ResponseError as e:
                with lock:
                    outcomes["error"].append(str(e))
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    started.wait()
    wait_until(lambda: len(outcomes["ok"]) > 200, 10, message="writes to flow")
    assert leader.stop() == 0
    for t in threads:
        t.join(30)
    assert "Leadership handed over to node" in leader.log_text()
    assert outcomes["timeout"] == 0, outcomes
    assert all("may or may not" in e or "not executed" in e for e in outcomes["error"]), \
        outcomes["error"][:3]
    new = c.wait_leader(10, exclude=[leader])
    acked = outcomes["ok"]
    got = new.client().mget(acked)
    assert [k for k, v in zip(acked, got) if v is None] == []



def test_shutdown_command_on_the_leader_hands_leadership_over(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    leader.client().set("before", "1")
    leader.client().shutdown()  # answered by the connection closing, as in Redis
    assert leader.proc.wait(15) == 0
    assert "Leadership handed over to node" in leader.log_text()
    new = c.wait_leader(10, exclude=[leader])
    new.client().set("after", "2")
    assert new.client().mget("before", "after") == ["1", "2"]

def test_readonly_reads_on_an_observer_come_from_its_own_data(make_cluster, tmp_path):
    c = make_cluster().start()
    obs = Node(str(tmp_path), node_id=4,
               extra=["--join", f"127.0.0.1:{c.nodes[0].port}", "--request-timeout-ms", "1000"])
    assert c.nodes[0].client().execute_command(
        "RAFT", "NODE", "ADD", 4, obs.raft_addr, "OBSERVER") == "OK"
    obs.start()
    try:
        c.nodes[1].client().set("k", "v1")
        ro = obs.client(socket_timeout=5)
        assert ro.execute_command("READONLY") is True
        wait_until(lambda: ro.get("k") == "v1", 15, message="the observer to apply the write")
        # With every voter gone there is no leader: a READONLY client is
        # still answered from the observer's data (RESET or READWRITE ends
        # that); any other is not.
        for n in c.nodes:
            n.kill()
        assert ro.get("k") == "v1"
        assert ro.exists("k") == 1
        x = exact_client(obs)
        nobody = "CLUSTERDOWN no Raft leader could be reached; the command was not executed"
        assert err(x, "GET", "k") == nobody
        assert x.execute_command("READONLY") == "OK"
        assert x.execute_command("GET", "k") == "v1"
        # A write from a READONLY client is still a write: it needs a leader.
        assert err(x, "SET", "k", "v2") == nobody
        assert x.execute_command("READWRITE") == "OK"
        assert err(x, "GET", "k") == nobody
    finally:
        obs.kill()



def test_a_follower_that_missed_a_change_can_lead_the_next(make_cluster):
    """libraft 0.22.1 records a configuration entry that reaches a follower
    inside a batch of entries under the batch's first index, and never
    clears it: that follower, once leader, answered every membership change
    with "a membership change is already in progress" (found by the fault
    suite). Parley repairs the stale flag (repl/confguard.c). A follower is
    down while a member is added, so it gets the change in the middle of
    the entries it missed; then it leads and removes that member."""
    c = make_cluster().start()
    leader = c.leader()
    lagging, other = c.followers()
    w = leader.client()
    lagging.kill()
    for i in range(200):
        w.set(f"before:{i}", i)
    # A fourth member that never starts: an observer needs no catch-up.
    assert w.execute_command("RAFT", "NODE", "ADD", 4, "127.0.0.1:1", "OBSERVER") == "OK"
    for i in range(200):
        w.set(f"after:{i}", i)
    lagging.start()
    wait_until(lambda: lagging.client().get("after:199") == "199", 15,
               message="the restarted follower to catch up")
    x = lagging.client(socket_timeout=30)
    assert x.execute_command("RAFT", "TRANSFER", lagging.node_id) == "OK"
    assert lagging.is_leader()
    assert x.execute_command("RAFT", "NODE", "REMOVE", 4) == "OK"
    voters = sorted(n.node_id for n in c.nodes)
    assert sorted(members(lagging)) == voters
    wait_until(lambda: sorted(members(other)) == voters, 10,
               message="the other follower to apply the removal")
    assert lagging.raft_info()["config_uncommitted_index"] == "0"
