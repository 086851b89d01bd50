"""Streams on a three-node cluster: entries added through one node are read
through the others; consumer-group state is replicated, so after the
leader is SIGKILLed every delivered, unacknowledged entry is still pending
under the same consumer and XAUTOCLAIM hands it to another; stream IDs
never go backwards across the failover; and blocked XREAD / XREADGROUP
clients connected to a follower are served when an XADD commits, with the
delivery recorded in the group's PEL on every replica."""
import threading

import pytest
import redis

from conftest import wait_until, wait_writable


def blocked(node):
    return int(node.client().info("clients")["blocked_clients"])


def bg(fn, *args, **kw):
    box = {}

    def go():
        try:
            box["value"] = fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - reported to the test
            box["error"] = e
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, box


def test_xadd_on_one_node_read_on_the_others(cluster):
    follower = cluster.followers()[0]
    ids = [follower.client().xadd("c:s", {"n": i}) for i in range(20)]
    for node in cluster.nodes:
        got = node.client().xrange("c:s")
        assert [i for i, _ in got] == ids
        assert node.client().xread({"c:s": ids[9]}, count=3) == [["c:s", [(i, {"n": str(k)}) for k, i in
                                                                          list(enumerate(ids))[10:13]]]]
    cluster.wait_converged()


def test_blocked_readers_on_a_follower_are_served(cluster):
    follower = cluster.followers()[0]
    leader = cluster.leader()
    lc = leader.client()
    lc.xgroup_create("c:q", "g", id="$", mkstream=True)
    lc.xadd("c:r", {"old": 1})
    t1, box1 = bg(follower.client().xreadgroup, "g", "worker", {"c:q": ">"}, count=1, block=15000)
    wait_until(lambda: blocked(follower) == 1, 10, message="the consumer to block on the follower")
    t2, box2 = bg(follower.client().xread, {"c:r": "$"}, block=15000)
    wait_until(lambda: blocked(follower) == 2, 10, message="the reader to block on the follower")
    job = lc.xadd("c:q", {"job": "1"})
    new = lc.xadd("c:r", {"new": "1"})
    t1.join(15)
    t2.join(15)
    assert box1 == {"value": [["c:q", [(job, {"job": "1"})]]]}
    assert box2 == {"value": [["c:r", [(new, {"new": "1"})]]]}
    cluster.wait_converged()
    for node in cluster.nodes:
        rows = node.client().xpending_range("c:q", "g", "-", "+", 10)
        assert [(r["message_id"], r["consumer"]) for r in rows] == [(job, "worker")]


def test_group_state_survives_a_leader_kill(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    lc = leader.client()
    lc.xgroup_create("jobs", "workers", id="0", mkstream=True)
    ids = [lc.xadd("jobs", {"job": i}) for i in range(30)]
    got = lc.xreadgroup("workers", "alice", {"jobs": ">"}, count=10)
    delivered = [i for i, _ in got[0][1]]
    assert delivered == ids[:10]
    lc.xack("jobs", "workers", *delivered[:4])
    lc.xreadgroup("workers", "bob", {"jobs": ">"}, count=5)
    lc.xreadgroup("workers", "alice", {"jobs": "0"})  # alice's history: a second delivery
    last = ids[-1]
    c.wait_converged()
    leader.kill()
    survivor = c.wait_leader(timeout=15, exclude=(leader,))
    other = [n for n in c.nodes if n is not leader and n is not survivor][0]
    wait_writable(other, timeout=15)
    oc = other.client()
    rows = oc.xpending_range("jobs", "workers", "-", "+", 100)
    assert [(r["message_id"], r["consumer"]) for r in rows] == \
        [(i, "alice") for i in delivered[4:]] + [(i, "bob") for i in ids[10:15]]
    assert all(r["times_delivered"] == 2 for r in rows[:6])
    assert oc.xinfo_groups("jobs")[0]["last-delivered-id"] == ids[14]
    # A new consumer takes over what alice left pending.
    claimed = oc.xautoclaim("jobs", "workers", "carol", 0, "0-0", count=6)
    assert [i for i, _ in claimed[1]] == delivered[4:]
    rows = oc.xpending_range("jobs", "workers", "-", "+", 100, "carol")
    assert [r["message_id"] for r in rows] == delivered[4:]
    # New entries still come after the last one, whatever the new leader's clock.
    after = oc.xadd("jobs", {"job": "after"})
    assert tuple(map(int, after.split("-"))) > tuple(map(int, last.split("-")))
    got = oc.xreadgroup("workers", "dave", {"jobs": ">"})
    assert [i for i, _ in got[0][1]] == ids[15:] + [after]
    leader.start()
    c.wait_converged(timeout=30)


def test_blocked_xreadgroup_on_a_follower_sees_its_group_go(cluster):
    from exact import exact_client
    follower = cluster.followers()[0]
    lc = cluster.leader().client()
    lc.xgroup_create("c:gone", "g", id="$", mkstream=True)
    x = exact_client(follower)
    t, box = bg(x.execute_command, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "15000", "STREAMS", "c:gone", ">")
    wait_until(lambda: blocked(follower) == 1, 10, message="the consumer to block on the follower")
    lc.xgroup_createconsumer("c:gone", "g", "other")  # wakes it; nothing for it: it waits again
    lc.xgroup_destroy("c:gone", "g")
    t.join(15)
    assert str(box["error"]) == "NOGROUP the consumer group this client was blocked on no longer exists"
    cluster.wait_converged()


def test_blocked_readers_keep_waiting_across_a_leader_kill(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    follower = c.followers()[0]
    lc = leader.client()
    lc.xgroup_create("q", "g", id="$", mkstream=True)
    lc.xadd("r", {"old": 1})
    t1, box1 = bg(follower.client().xreadgroup, "g", "w", {"q": ">"}, block=0)
    t2, box2 = bg(follower.client().xread, {"r": "$"}, block=0)
    wait_until(lambda: blocked(follower) == 2, 10, message="both readers to block on the follower")
    leader.kill()
    c.wait_leader(timeout=15, exclude=(leader,))
    wait_writable(follower, timeout=15)
    fc = follower.client()
    job = fc.xadd("q", {"job": 1})
    new = fc.xadd("r", {"new": 1})
    t1.join(15)
    t2.join(15)
    assert box1 == {"value": [["q", [(job, {"job": "1"})]]]}
    assert box2 == {"value": [["r", [(new, {"new": "1"})]]]}
    assert [r["consumer"] for r in fc.xpending_range("q", "g", "-", "+", 10)] == ["w"]
    leader.start()
    c.wait_converged(timeout=30)
