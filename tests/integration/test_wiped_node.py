"""A member restarted with an empty data directory under its old id
(repl/wipeguard.c) refuses to run instead of rejoining with its vote and
its acknowledged entries forgotten: it exits non-zero saying what to do,
keeps refusing on the next start, and the cluster goes on. The advice
works: removed, emptied and started with --join, it is a member again
with all the data."""
import shutil

from conftest import Node, parse_info, wait_until


def voters(node):
    info = parse_info(node.client(socket_timeout=2).execute_command("RAFT", "INFO"))
    return sorted(v for k, v in info.items() if k.startswith("member") and ":voter:" in v)


def wait_exit(node, timeout=30):
    wait_until(lambda: node.proc.poll() is not None, timeout,
               message=f"node {node.node_id} to exit:\n" + node.log_tail())
    node._close_log()
    return node.proc.returncode


def test_wiped_member_refuses_to_run(make_cluster):
    cl = make_cluster(3)
    cl.start()
    leader = cl.leader()
    lc = leader.client()
    for i in range(200):
        lc.set(f"k{i}", i)
    cl.wait_converged()
    wiped = cl.followers()[0]
    wiped.kill()
    shutil.rmtree(wiped.dir)

    wiped.start(wait=False)
    assert wait_exit(wiped) != 0
    log = wiped.log_text()
    assert "Refusing to run" in log and "started with an empty data directory" in log, log
    assert f"RAFT NODE REMOVE {wiped.node_id}" in log and "--join" in log
    # Once refused, always refused: the directory records it.
    wiped.start(wait=False)
    assert wait_exit(wiped, 15) != 0
    assert "the cluster already knew node" in wiped.log_tail(3)

    # The others never noticed.
    lc = cl.leader().client()
    lc.set("after", "1")
    cl.wait_converged()  # the live two

    # What the message says to do.
    leader = cl.leader()
    assert leader.client().execute_command("RAFT", "NODE", "REMOVE", str(wiped.node_id)) == "OK"
    shutil.rmtree(wiped.dir)
    rejoined = Node(str(wiped.dir).rsplit("/", 1)[0], node_id=wiped.node_id, port=wiped.port,
                    raft_port=wiped.raft_port,
                    extra=["--join", f"127.0.0.1:{leader.port}"])
    cl.nodes[cl.nodes.index(wiped)] = rejoined
    rejoined.start()
    wait_until(lambda: len(voters(leader)) == 3, 30, message="the wiped node to be a voter again")
    wait_until(lambda: rejoined.client().get("after") == "1", 20,
               message="the rejoined node to have the data")
    cl.wait_converged()
    cl.stop()


def test_wiped_member_seen_in_the_log(make_cluster):
    """Under a leader that never counted the old node's entries (leadership
    moved while it was down), the wiped node receives the whole log and
    finds its own earlier registration in it."""
    cl = make_cluster(3)
    cl.start()
    for i in range(50):
        cl.leader().client().set(f"k{i}", i)
    cl.wait_converged()
    wiped = cl.followers()[0]
    wiped.kill()
    shutil.rmtree(wiped.dir)
    other = [n for n in cl.nodes if n is not wiped and not n.is_leader()][0]
    cl.leader().client().execute_command("RAFT", "TRANSFER", str(other.node_id))
    wait_until(lambda: other.is_leader(), 10, message="leadership to move")
    other.client().set("after-transfer", "1")

    wiped.start(wait=False)
    assert wait_exit(wiped) != 0
    assert "a registration of this node by an earlier process" in wiped.log_text()
    other.client().set("after", "1")
    cl.wait_converged()
    for n in cl.nodes:
        if n is not wiped:
            assert n.stop() == 0
