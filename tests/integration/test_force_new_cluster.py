"""Quorum lost for good: a three-node cluster loses two nodes; the survivor,
restarted with --force-new-cluster, becomes a one-node cluster with every
write it had acknowledged, new nodes join it, and it takes writes again."""
from conftest import Node, wait_until, wait_writable


def test_the_survivor_of_a_lost_majority_becomes_a_new_cluster(make_cluster, tmp_path):
    cl = make_cluster().start()
    leader = cl.leader()
    c = leader.client()
    for i in range(200):
        c.set(f"fnc:{i}", i)  # acknowledged: on a quorum's disks
    survivor = cl.followers()[0]
    wait_until(lambda: survivor.client().execute_command("RAFT", "DIGEST")[1] ==
               leader.client().execute_command("RAFT", "DIGEST")[1], 15,
               message="the survivor to hold every acknowledged write")
    for n in cl.nodes:
        if n is not survivor:
            n.kill()  # lost for good
    survivor.kill()

    forced = Node(str(tmp_path), node_id=survivor.node_id, port=survivor.port,
                  raft_port=survivor.raft_port, cluster=survivor.cluster,
                  extra=list(survivor.extra) + ["--force-new-cluster"])
    forced.dir = survivor.dir
    forced.start()
    try:
        wait_until(forced.is_leader, 15, message="the forced node to lead alone")
        wait_writable(forced, 15)
        fc = forced.client()
        assert [fc.get(f"fnc:{i}") for i in range(200)] == [str(i) for i in range(200)]
        assert "Forced a new cluster" in forced.log_text()
        fc.set("after-force", "1")
        joiner = Node(str(tmp_path), node_id=4,
                      extra=["--join", f"127.0.0.1:{forced.port}"]).start()
        try:
            wait_until(lambda: joiner.client().get("fnc:199") == "199", 30,
                       message="the new member to receive the data")
            assert joiner.client().get("after-force") == "1"
            fc.set("with-two", "yes")  # a quorum of the new two-node cluster
            wait_until(lambda: joiner.client().get("with-two") == "yes", 15,
                       message="the new member to follow")
        finally:
            joiner.kill()
    finally:
        forced.kill()


def test_force_new_cluster_refuses_an_empty_directory(tmp_path):
    node = Node(str(tmp_path), node_id=1, extra=["--force-new-cluster"])
    node.start(wait=False)
    node.proc.wait(30)
    assert node.proc.returncode != 0
    assert "holds no Raft log" in node.log_text()
