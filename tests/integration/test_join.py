"""Forming a cluster by joining: one node bootstraps alone, the others start
with --join <a member's client address> and are added as voters
(RAFT NODE ADD). They receive everything written before they joined, take
part in elections, and a joined node that restarts stays a member."""

import pytest

from conftest import Node, parse_info, wait_until, wait_writable
from exact import err, exact_client


def voters(node):
    info = parse_info(node.client(socket_timeout=2).execute_command("RAFT", "INFO"))
    return sorted(v for k, v in info.items() if k.startswith("member") and ":voter:" in v)


def start_joiner(base, node_id, through, extra=()):
    n = Node(base, node_id=node_id, extra=["--join", f"127.0.0.1:{through.port}", *extra])
    return n.start()


@pytest.fixture
def first(tmp_path):
    n = Node(str(tmp_path), node_id=1).start()
    wait_writable(n)
    yield n
    n.kill()


def test_two_nodes_join_a_bootstrapped_one(tmp_path, first):
    c = first.client()
    for i in range(100):
        c.set(f"before:{i}", i)
    joined = []
    try:
        second = start_joiner(str(tmp_path), 2, first)
        joined.append(second)
        wait_until(lambda: len(voters(first)) == 2, 20, message="node 2 to become a voter")
        # The third asks a follower: it is pointed at the leader.
        third = start_joiner(str(tmp_path), 3, second)
        joined.append(third)
        wait_until(lambda: len(voters(first)) == 3, 20, message="node 3 to become a voter")
        for node in joined:
            wait_until(lambda: node.client().get("before:99") == "99", 20,
                       message=f"node {node.node_id} to have the data written before it joined")
        assert "joined through" in third.log_text()
        # Writes through a joined node, then the founder dies: the two
        # joined nodes are a majority and elect a leader among themselves.
        second.client().set("via-joined", "yes")
        first.kill()
        nodes = [second, third]
        wait_until(lambda: any(n.is_leader() for n in nodes), 15, message="a new leader")
        leader = [n for n in nodes if n.is_leader()][0]
        assert leader.client().get("via-joined") == "yes"
        leader.client().set("after-failover", "1")
        # A joined node that restarts is still a member (it asks again and
        # is answered OK at once).
        follower = [n for n in nodes if n is not leader][0]
        follower.stop()
        follower.start()
        wait_until(lambda: follower.client().get("after-failover") == "1", 20,
                   message="the restarted joined node to catch up")
        assert len(voters(leader)) == 3
    finally:
        for n in joined:
            n.kill()


def test_raft_node_add_errors(tmp_path, first):
    x = exact_client(first)
    assert err(x, "RAFT", "NODE", "ADD", "0", "127.0.0.1:1") == \
        "ERR node id must be a positive integer"
    assert err(x, "RAFT", "NODE", "ADD", "2", "nowhere") == "ERR address must be host:port"
    assert err(x, "RAFT", "NODE", "JOIN", "2") == (
        "ERR syntax: RAFT NODE ADD <id> <raft host:port> [VOTER|OBSERVER] | "
        "RAFT NODE PROMOTE <id> | RAFT NODE REMOVE <id>")
    assert err(x, "RAFT", "NODE", "ADD", "1", "127.0.0.1:1") == \
        f"ERR that node id is already a member at {first.raft_addr}"
    assert err(x, "RAFT", "NODE", "ADD", "7", first.raft_addr) == \
        f"ERR another member already has the address {first.raft_addr}"
    # Asking again for a current voter is answered OK.
    assert x.execute_command("RAFT", "NODE", "ADD", "1", first.raft_addr) == "OK"


def test_cluster_and_join_together_are_refused(tmp_path):
    n = Node(str(tmp_path), node_id=2,
             extra=["--join", "127.0.0.1:1", "--cluster", "2@127.0.0.1:1"])
    n.start(wait=False)
    assert n.proc.wait(10) != 0
    assert "not both" in n.log_text()


def test_a_node_joining_after_compaction_gets_a_snapshot(tmp_path):
    snap = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]
    first = Node(str(tmp_path), node_id=1, extra=snap).start()
    joiner = None
    try:
        wait_writable(first)
        c = first.client()
        for i in range(500):
            c.rpush("list", i)
            c.set(f"k{i}", i)
        # The log before the snapshot is gone: the joiner can only start
        # from the snapshot, then the log after it.
        joiner = start_joiner(str(tmp_path), 2, first, extra=snap)
        wait_until(lambda: len(voters(first)) == 2, 30, message="node 2 to become a voter")
        c.set("after-join", "1")
        ro = joiner.client()
        ro.execute_command("READONLY")
        wait_until(lambda: ro.get("after-join") == "1", 20, message="node 2 to catch up")
        assert ro.lrange("list", 0, -1) == [str(i) for i in range(500)]
        assert ro.get("k499") == "499"
        assert first.client().execute_command("RAFT", "DIGEST")[1] == \
            joiner.client().execute_command("RAFT", "DIGEST")[1]
        assert "snapshot" in joiner.log_text().lower()
    finally:
        first.kill()
        if joiner:
            joiner.kill()
