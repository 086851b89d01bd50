"""Divergence checks (src/repl/divergence.c): the leader puts a check into
the log every divergence-check-interval-ms, carrying its digest at the
previous check; every other node compares its own digest at that check.

Three nodes: while the replicas hold the same data every check passes, on
every follower. Then one follower's data is changed outside the log
(PARLEY.TEST CORRUPT, test builds only): that follower, and only it,
reports the mismatch, in RAFT INFO, in INFO's raft section and in a
WARNING line of its log that names the log index and both digests."""
import re

from conftest import wait_until
from testhooks import needs_test_hooks

pytestmark = needs_test_hooks

WARNING = re.compile(r" # DIVERGENCE at log index (\d+): this node's digest is ([0-9a-f]{16}), "
                     r"the leader's \(node (\d+)\) is ([0-9a-f]{16})")


def checks(node):
    info = node.raft_info()
    return (int(info["divergence_checks_passed"]), int(info["divergence_checks_failed"]),
            int(info["divergence_last_failed_index"]))


def test_only_the_corrupted_follower_reports_the_divergence(make_cluster):
    cluster = make_cluster(extra=["--divergence-check-interval-ms", "100"]).start()
    leader = cluster.leader()
    corrupted, healthy = cluster.followers()
    leader.client().mset({f"key:{i}": f"value:{i}" for i in range(100)})

    # Before: every follower's checks pass, none fails anywhere.
    wait_until(lambda: all(checks(n)[0] >= 3 for n in (corrupted, healthy)),
               message="three passed checks on each follower")
    assert [checks(n)[1] for n in cluster.nodes] == [0, 0, 0]
    assert "DIVERGENCE" not in corrupted.log_text() + healthy.log_text() + leader.log_text()

    assert corrupted.client().execute_command("PARLEY.TEST", "CORRUPT", "key:7", "tampered") == "OK"
    assert leader.client().get("key:7") == "value:7"  # the others never saw it

    wait_until(lambda: checks(corrupted)[1] >= 1, message="the corrupted follower to notice")
    _, failed, index = checks(corrupted)
    assert index > 0
    raft = corrupted.client().info("raft")
    assert int(raft["raft_divergence_checks_failed"]) >= failed
    assert int(raft["raft_divergence_last_failed_index"]) >= index
    lines = [m for m in (WARNING.search(line) for line in corrupted.log_text().splitlines()) if m]
    assert lines, corrupted.log_tail()
    first = lines[0]
    assert int(first.group(1)) <= index
    assert first.group(2) != first.group(4)
    assert int(first.group(3)) == leader.node_id

    # The healthy follower goes on passing checks made after the corruption.
    passed_then = checks(healthy)[0]
    wait_until(lambda: checks(healthy)[0] >= passed_then + 2,
               message="more passed checks on the healthy follower")
    assert checks(healthy)[1] == 0 and checks(leader)[1] == 0
    assert "DIVERGENCE" not in healthy.log_text() + leader.log_text()
