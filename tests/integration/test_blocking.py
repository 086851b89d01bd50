"""Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.

A client that finds nothing waits on the node it is connected to and is
served, first come first served, when a push reaches the log; it times out
on its own node; after a leader change it keeps waiting; and no element is
taken from a list without reaching a client that is still connected."""
import socket
import threading
import time

import pytest
import redis

from conftest import resp_encode, wait_until
from exact import err, exact_client


def blocked(node):
    return int(node.client().info("clients")["blocked_clients"])


def bg(fn, *args):
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except Exception as e:  # noqa: BLE001 - reported to the test
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def test_immediate_when_there_is_something(r):
    r.rpush("q", "a", "b")
    assert r.blpop(["empty", "q"], timeout=1) == ("q", "a")
    assert r.brpop(["q"], timeout=1) == ("q", "b")
    assert r.exists("q") == 0


def test_timeout_answers_nil(r):
    assert r.blpop(["nothing"], timeout=0.2) is None
    assert r.brpoplpush("nothing", "dst", timeout=0.2) is None
    assert r.blmove("nothing", "dst", 0.2, "LEFT", "RIGHT") is None
    assert r.execute_command("BLMPOP", "0.2", "1", "nothing", "LEFT") is None


def test_a_push_wakes_a_waiter(server, r):
    t, box = bg(server.client().blpop, ["jobs"], 10)
    wait_until(lambda: blocked(server) == 1, 10, message="the client to block")
    r.rpush("jobs", "job-1")
    t.join(10)
    assert box == {"value": ("jobs", "job-1")}
    assert blocked(server) == 0


def test_first_come_first_served(server, r):
    waiters = []
    for i in range(3):
        waiters.append(bg(server.client().blpop, ["fifo"], 10))
        wait_until(lambda i=i: blocked(server) == i + 1, 10, message=f"waiter {i} to block")
    r.rpush("fifo", "first", "second", "third")
    got = []
    for t, box in waiters:
        t.join(10)
        got.append(box["value"][1])
    assert got == ["first", "second", "third"]


def test_blmove_brpoplpush_and_blmpop_wake(server, r):
    t1, b1 = bg(server.client().blmove, "src1", "dst1", 10, "RIGHT", "LEFT")
    t2, b2 = bg(server.client().execute_command, "BLMPOP", "10", "2", "m1", "m2", "RIGHT", "COUNT", "2")
    wait_until(lambda: blocked(server) == 2, 10, message="two clients to block")
    r.rpush("src1", "x")
    r.rpush("m2", "a", "b", "c")
    t1.join(10)
    t2.join(10)
    assert b1 == {"value": "x"}
    assert r.lrange("dst1", 0, -1) == ["x"]
    assert b2 == {"value": ["m2", ["c", "b"]]}
    assert r.lrange("m2", 0, -1) == ["a"]


def test_multi_key_waiter_takes_the_first_key_that_fills(server, r):
    t, box = bg(server.client().blpop, ["k1", "k2", "k3"], 10)
    wait_until(lambda: blocked(server) == 1, 10, message="the client to block")
    r.rpush("k3", "three")
    t.join(10)
    assert box == {"value": ("k3", "three")}


def test_errors(server, r):
    x = exact_client(server)
    assert err(x, "BLPOP", "q", "abc") == "ERR timeout is not a float or out of range"
    assert err(x, "BLPOP", "q", "-1") == "ERR timeout is negative"
    assert err(x, "BLPOP", "q") == "ERR wrong number of arguments for 'blpop' command"
    x.execute_command("SET", "str", "v")
    assert err(x, "BLPOP", "str", "1") == ("WRONGTYPE Operation against a key holding the wrong "
                                           "kind of value")
    assert err(x, "BLMOVE", "a", "b", "UP", "LEFT", "1") == "ERR syntax error"


def test_inside_multi_and_scripts_they_do_not_block(r):
    p = r.pipeline(transaction=True)
    p.blpop(["never"], timeout=100)
    p.set("after", "1")
    assert p.execute() == [None, True]
    assert r.eval("return redis.call('blpop', 'never', 100)", 0) is None


def test_a_push_inside_multi_serves_waiters_at_exec(server, r):
    t, box = bg(server.client().blpop, ["txq"], 10)
    wait_until(lambda: blocked(server) == 1, 10, message="the client to block")
    x = exact_client(server)
    x.execute_command("MULTI")
    x.execute_command("RPUSH", "txq", "from-tx")
    assert blocked(server) == 1 and "value" not in box
    x.execute_command("EXEC")
    t.join(10)
    assert box == {"value": ("txq", "from-tx")}


def test_a_waiter_that_disconnects_takes_nothing(server, r):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(resp_encode("BLPOP", "gone", "0"))
    wait_until(lambda: blocked(server) == 1, 10, message="the raw client to block")
    s.close()
    wait_until(lambda: blocked(server) == 0, 10, message="the hang-up to be noticed")
    r.rpush("gone", "kept")
    assert r.lrange("gone", 0, -1) == ["kept"]


def test_clients_that_leave_before_their_blocking_pop_applies(server, r):
    """Each client hangs up right after its BLPOP, before the entry holding
    it is applied: the node lets the reply slot go while applying and must
    not touch it afterwards (the AddressSanitizer build caught a write into
    the freed slot, which killed the node)."""
    for i in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(resp_encode("BLPOP", "left:early", "0"))
    assert r.set("after", "1") is True  # applied after every BLPOP above
    wait_until(lambda: blocked(server) == 0, 10, message="no waiter left behind")
    r.rpush("left:early", "kept")
    assert r.lrange("left:early", 0, -1) == ["kept"]
    assert server.alive()


def test_hang_up_racing_a_push_loses_no_element(server, r):
    """The push and the hang-up arrive together. Each element ends up either
    received by the client (it was served before the hang-up reached the
    server) or back in the list (the waiter was gone, or the element taken
    for it was pushed back): never lost."""
    for i in range(20):
        key = f"race:{i}"
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(resp_encode("BLPOP", key, "0"))
        wait_until(lambda: blocked(server) == 1, 10, message="the raw client to block")
        r.rpush(key, f"element-{i}")
        s.shutdown(socket.SHUT_WR)      # hang up; still read what was sent
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        s.close()
        wait_until(lambda: blocked(server) == 0, 10, message="the waiter to go")
        if f"element-{i}".encode() in received:
            continue
        wait_until(lambda key=key, i=i: r.lrange(key, 0, -1) == [f"element-{i}"], 10,
                   message="the element, not delivered, to be back in the list")


def test_waiter_on_a_follower_is_woken_by_a_push_on_another_node(cluster):
    follower = cluster.followers()[0]
    other = [n for n in cluster.nodes if n is not follower][0]
    t, box = bg(follower.client().blpop, ["xnode"], 10)
    wait_until(lambda: blocked(follower) == 1, 10, message="the client to block on the follower")
    other.client().rpush("xnode", "hello")
    t.join(10)
    assert box == {"value": ("xnode", "hello")}


def test_waiters_keep_waiting_across_a_leader_kill(make_cluster):
    cluster = make_cluster().start()
    leader = cluster.leader()
    followers = [n for n in cluster.nodes if n is not leader]
    waiters = [bg(f.client(socket_timeout=30).blpop, ["survive"], 25) for f in followers]
    wait_until(lambda: all(blocked(f) == 1 for f in followers), 10, message="both to block")
    leader.kill()
    cluster.wait_leader(10, exclude=[leader])
    followers[0].client().rpush("survive", "one", "two")
    got = []
    for t, box in waiters:
        t.join(30)
        assert "value" in box, box
        got.append(box["value"][1])
    assert sorted(got) == ["one", "two"]


def test_a_waiter_is_woken_when_its_push_arrives_in_a_snapshot(make_cluster):
    """A follower that fell behind the leader's log is sent a snapshot
    instead of the entries: a push to a key a client of that follower waits
    on arrives inside it, not as an applied command. The client is served
    all the same. (Before, nothing woke it: it waited for its own timeout,
    and request/reply callers through a follower of a loaded cluster, whose
    followers are sent snapshots, gave up: issue 12.)"""
    import signal
    cluster = make_cluster(extra=["--raft-snapshot-threshold", "32",
                                  "--raft-snapshot-trailing", "8"]).start()
    follower = cluster.followers()[0]
    t, box = bg(follower.client(socket_timeout=60).blpop, ["in-snapshot"], 40)
    wait_until(lambda: blocked(follower) == 1, 10, message="the client to block on the follower")
    follower.proc.send_signal(signal.SIGSTOP)
    try:
        c = cluster.leader().client()
        for i in range(400):  # the leader's log moves on past the follower
            c.set(f"filler:{i}", i)
        c.rpush("in-snapshot", "delivered")
        for i in range(400):
            c.set(f"filler:{i}", i)
    finally:
        follower.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: "Loaded a snapshot" in follower.log_text(), 30,
               message="the follower to be sent a snapshot")
    t.join(50)
    assert box == {"value": ("in-snapshot", "delivered")}
    assert blocked(follower) == 0
    cluster.wait_converged(30)


def test_sorted_set_blocking_pops(server, r):
    t1, b1 = bg(server.client().bzpopmin, ["z1", "z2"], 10)
    t2, b2 = bg(server.client().execute_command, "BZMPOP", "10", "1", "z3", "MAX", "COUNT", "2")
    wait_until(lambda: blocked(server) == 2, 10, message="two clients to block")
    r.zadd("z2", {"a": 1, "b": 2})
    r.zadd("z3", {"x": 1, "y": 2, "z": 3})
    t1.join(10)
    t2.join(10)
    assert b1 == {"value": ("z2", "a", 1.0)}
    assert b2 == {"value": ["z3", [["z", "3"], ["y", "2"]]]}
    assert r.bzpopmax(["z2"], timeout=1) == ("z2", "b", 2.0)
    assert r.bzpopmin(["nothing"], timeout=0.1) is None


@pytest.mark.parametrize("mode", [None, "TIMEOUT", "ERROR"])
def test_client_unblock_matches_redis(server, redis_ref, mode):
    """CLIENT UNBLOCK of a client waiting in BLPOP: it answers 1 and the
    waiter gets a timeout's null or the UNBLOCKED error, as from Redis."""
    got = []
    for port in (server.port, redis_ref.port):
        admin = redis.Redis(port=port)
        waiter = socket.create_connection(("127.0.0.1", port), timeout=10)
        waiter.sendall(resp_encode("CLIENT", "ID"))
        wid = int(waiter.recv(100).split(b"\r\n")[0][1:])
        waiter.sendall(resp_encode("BLPOP", "nothing-here", "0"))
        wait_until(lambda: int(admin.info("clients")["blocked_clients"]) == 1, 10,
                   message="the client to block")
        args = ["CLIENT", "UNBLOCK", wid] + ([mode] if mode else [])
        first = admin.execute_command(*args)
        reply = waiter.recv(200)
        again = admin.execute_command("CLIENT", "UNBLOCK", wid)
        try:
            bad = admin.execute_command("CLIENT", "UNBLOCK", wid, "MAYBE")
        except redis.ResponseError as e:
            bad = str(e)
        got.append((first, reply, again, bad))
        waiter.close()
        admin.close()
    assert got[0] == got[1]


TYPE_CHANGE_CASES = [
    (("BLPOP", "tc", "0"), ("RPUSH", "tc", "a")),
    (("BLMOVE", "tc", "tc-dst", "LEFT", "RIGHT", "0"), ("RPUSH", "tc", "a")),
    (("BZPOPMIN", "tc", "0"), ("ZADD", "tc", "1", "m")),
    (("XREAD", "BLOCK", "0", "STREAMS", "tc", "$"), ("XADD", "tc", "5-1", "f", "v")),
    (("XREAD", "BLOCK", "0", "STREAMS", "tc", "0-0"), ("XADD", "tc", "5-1", "f", "v")),
]


@pytest.mark.parametrize("case", range(len(TYPE_CHANGE_CASES)))
def test_a_waiter_stays_blocked_when_its_key_changes_type(server, redis_ref, case):
    """Redis 7.0: a client blocked on a key that becomes a string keeps
    waiting (no WRONGTYPE); it is served once the key holds its type again."""
    wait_cmd, fill = TYPE_CHANGE_CASES[case]
    got = []
    for port in (server.port, redis_ref.port):
        admin = redis.Redis(port=port)
        admin.delete("tc", "tc-dst")
        waiter = socket.create_connection(("127.0.0.1", port), timeout=10)
        waiter.sendall(resp_encode(*wait_cmd))
        wait_until(lambda: int(admin.info("clients")["blocked_clients"]) == 1, 10,
                   message="the client to block")
        admin.set("tc", "a string")
        admin.delete("tc")
        admin.execute_command(*fill)
        got.append(waiter.recv(500))
        waiter.close()
        admin.delete("tc", "tc-dst")
        admin.close()
    assert got[0] == got[1]
    assert not got[0].startswith(b"-")
