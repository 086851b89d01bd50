"""A poisoned entry (src/repl/poison.c): a command that crashes every node
that applies it (PARLEY.TEST CRASH-APPLY, test builds only). Each node that
dies names, in its log, the log index and the command it was applying; the
entry stays in the log, so the cluster dies on it again when restarted; and
restarted with --apply-skip-entry <index> on every node it comes back with
the data written before, takes writes again, and every node's RAFT INFO
shows which node skips which entry (recorded in the log, never silent).

On three nodes the first leader dies applying the entry; the two others
elect a leader that commits it and dies too; the last node, alone, may
never learn that the entry committed, and waits for a quorum: the test
stops it, as an operator would, before restarting the cluster."""
import re
import signal

import redis

from conftest import wait_until, wait_writable
from testhooks import needs_test_hooks

pytestmark = needs_test_hooks

CRASH = re.compile(r"^\d+:M # CRASH: signal 11 \(SIGSEGV\) while applying log entry (\d+), "
                   r"command \d+ of the entry: PARLEY\.TEST \"CRASH-APPLY\" \(2 arguments\)\. .*"
                   r"--apply-skip-entry (\d+)", re.M)


def crashes(node):
    """The log indexes named by each crash report in the node's log."""
    found = [(int(a), int(b)) for a, b in CRASH.findall(node.log_text())]
    assert all(a == b for a, b in found), found
    return [a for a, _ in found]


def wait_until_two_died(cluster, timeout=30):
    """Until at least two nodes died (of SIGSEGV); then stops the last one."""
    wait_until(lambda: sum(not n.alive() for n in cluster.nodes) >= 2, timeout,
               message="two nodes to die on the poisoned entry")
    dead = [n for n in cluster.nodes if not n.alive()]
    for n in dead:
        assert n.proc.returncode == -signal.SIGSEGV, (n.node_id, n.proc.returncode, n.log_tail())
    for n in cluster.nodes:
        n.kill()  # the survivor; closes the logs of the dead
    return dead


def test_poisoned_entry_is_named_then_skipped_on_every_node(make_cluster):
    cluster = make_cluster().start()
    leader = cluster.leader()
    assert leader.client().set("before", "1") is True
    cluster.wait_converged()

    try:
        leader.client(socket_timeout=20).execute_command("PARLEY.TEST", "CRASH-APPLY")
        raise AssertionError("the leader answered the poisoned command")
    except redis.ConnectionError:
        pass  # it died applying it
    dead = wait_until_two_died(cluster)
    assert leader in dead
    named = {i for n in dead for i in crashes(n)}
    assert len(named) == 1, named
    index = named.pop()

    # Restarted as they were, they die on it again.
    for n in cluster.nodes:
        n.start(wait=False)
    dead = wait_until_two_died(cluster)
    for n in dead:
        assert crashes(n)[-1] == index

    # Every node skips it: the cluster is back, with its data.
    for n in cluster.nodes:
        n.extra += ["--apply-skip-entry", str(index)]
        n.start(wait=False)
    for n in cluster.nodes:
        n.wait_listening()
    cluster.wait_leader(timeout=20)
    follower = cluster.followers()[0]
    wait_writable(follower, timeout=20)
    assert follower.client().set("after", "2") is True
    expected = {f"{n.node_id}@{index}" for n in cluster.nodes}
    for n in cluster.nodes:
        wait_until(lambda: set(filter(None, n.raft_info()["apply_skipped"].split(","))) == expected,
                   timeout=20, message=f"node {n.node_id} to know who skips entry {index}")
    cluster.wait_converged()
    for n in cluster.nodes:
        c = n.client()
        c.execute_command("READONLY")  # this node's own data
        assert c.get("before") == "1" and c.get("after") == "2"
        assert re.search(rf"# SKIPPED command \d+ of log entry {index} \(apply-skip-entry\): "
                         r"PARLEY\.TEST \"CRASH-APPLY\"", n.log_text()), n.log_tail()
    cluster.stop()
