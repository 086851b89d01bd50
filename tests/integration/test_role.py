"""ROLE, INFO replication and HELLO's role tell the truth: the Raft leader
is the master, every other node a replica of it (pointing at the leader's
client address), and a replica follows a new leader after a failover."""
from conftest import wait_until
from rawresp import RawConn


def role(node):
    return node.client(socket_timeout=5).execute_command("ROLE")


def replication(node):
    return node.client(socket_timeout=5).info("replication")


def test_a_single_node_is_a_master_without_replicas(server, r, redis_ref):
    r.set("role:k", "1")
    ours = r.execute_command("ROLE")
    assert ours[0] == "master" and ours[2] == [] and int(ours[1]) > 0
    ref = RawConn(redis_ref.port).call("ROLE")
    assert [type(x) for x in ours] == [str, int, list] and ref[0] == b"master" and ref[2] == []
    info = replication(server)
    assert info["role"] == "master" and info["connected_slaves"] == 0


def test_the_leader_lists_its_replicas_and_each_replica_names_the_leader(cluster):
    leader = cluster.leader()
    followers = cluster.followers()
    leader.client().set("role:c", "1")
    wait_until(lambda: sorted(int(x[1]) for x in role(leader)[2]) == sorted(f.port for f in followers),
               10, message="the leader to list both replicas")
    assert role(leader)[0] == "master"
    info = replication(leader)
    assert info["role"] == "master" and info["connected_slaves"] == 2
    assert sorted(info[f"slave{i}"]["port"] for i in range(2)) == sorted(f.port for f in followers)
    for f in followers:
        kind, host, port, state, offset = role(f)
        assert (kind, host, port, state) == ("slave", "127.0.0.1", leader.port, "connected")
        assert offset > 0
        info = replication(f)
        assert info["role"] == "slave" and info["master_port"] == leader.port
        assert info["master_link_status"] == "up"
        with RawConn(f.port) as c:
            assert c.call("HELLO", "3")[b"role"] == b"replica"
    with RawConn(leader.port) as c:
        assert c.call("HELLO", "3")[b"role"] == b"master"


def test_replicas_follow_a_new_leader(make_cluster):
    cl = make_cluster().start()
    old = cl.leader()
    old.kill()
    new = cl.wait_leader(15, exclude=[old])
    other = next(n for n in cl.nodes if n is not old and n is not new)
    wait_until(lambda: role(other)[2] == new.port, 15, message="the replica to name the new leader")
    assert role(new)[0] == "master"
