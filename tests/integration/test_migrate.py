"""MIGRATE (server/cmd_migrate.c): Parley moves keys to a redis-server 7.0
or to another Parley node with Redis's replies and errors (OK, NOKEY,
BUSYKEY and WRONGPASS passed on from the target, IOERR), COPY, REPLACE,
AUTH and AUTH2, the KEYS form; Parley is a target of redis-server's
MIGRATE (RESTORE-ASKING); connections are cached and dropped after 10 s
idle (INFO's migrate_cached_sockets); a follower migrates as the leader
does; and a key written between MIGRATE's read and its delete is kept."""
import socket
import threading

import pytest
import redis

from conftest import free_port, wait_until, wait_writable
from exact import empty_pair, err, exact_client
from test_dump import cluster_version

MIGRATE_VERSION = 4  # PROTOCOL_MIGRATE (src/cmds/cmd.h)


def wait_version(client):
    wait_until(lambda: cluster_version(client) >= MIGRATE_VERSION, 20,
               message="the cluster to run protocol version 4")


@pytest.fixture
def pair(server, redis_ref):
    """Parley (the source) and a redis-server (the target), both empty."""
    ours, theirs = empty_pair(server, redis_ref)
    wait_version(ours)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_moves_a_key_with_its_ttl(pair, redis_ref):
    ours, theirs = pair
    ours.set("k", "hello")
    ours.pexpire("k", 100000)
    assert ours.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "k", 0, 5000) == b"OK"
    assert ours.exists("k") == 0
    assert theirs.get("k") == b"hello"
    assert 90000 < theirs.pttl("k") <= 100000
    # Into another database, a list without a TTL.
    ours.rpush("l", "a", "b", "c")
    assert ours.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "l", 3, 5000) == b"OK"
    db3 = exact_client(redis_ref, decode=False, db=3)
    assert db3.lrange("l", 0, -1) == [b"a", b"b", b"c"]
    assert db3.pttl("l") == -1


def test_keys_form_and_nokey(pair, redis_ref):
    ours, theirs = pair
    port = redis_ref.port
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "none", 0, 5000) == b"NOKEY"
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "", 0, 5000, "KEYS", "n1", "n2") == b"NOKEY"
    ours.mset({"a": 1, "b": 2, "c": 3})
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "", 0, 5000,
                                "KEYS", "n1", "a", "n2", "b", "c") == b"OK"
    assert ours.dbsize() == 0
    assert theirs.mget("a", "b", "c") == [b"1", b"2", b"3"]


def test_argument_errors_are_redis_errors(pair, redis_ref):
    ours, theirs = pair
    refs = (ours, theirs)
    for args in (("k", "x", 500), ("k", 0, "x"), ("k", 0, 500, "AUTH"), ("k", 0, 500, "AUTH2", "u"),
                 ("k", 0, 500, "FOO"), ("nonempty", 0, 500, "KEYS", "a")):
        got = [err(c, "MIGRATE", "127.0.0.1", 1, *args) for c in refs]
        assert got[0] == got[1], args


def test_copy_replace_and_busykey(pair, redis_ref):
    ours, theirs = pair
    port = redis_ref.port
    ours.set("k", "v1")
    theirs.set("k", "old")
    assert err(ours, "MIGRATE", "127.0.0.1", port, "k", 0, 5000) == (
        "ERR Target instance replied with error: BUSYKEY Target key name already exists.")
    assert ours.get("k") == b"v1" and theirs.get("k") == b"old"
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "k", 0, 5000, "COPY", "REPLACE") == b"OK"
    assert ours.get("k") == b"v1" and theirs.get("k") == b"v1"
    ours.set("k", "v2")
    assert ours.execute_command("MIGRATE", "127.0.0.1", port, "k", 0, 5000, "REPLACE") == b"OK"
    assert ours.exists("k") == 0 and theirs.get("k") == b"v2"
    # KEYS: only the keys the target acknowledged are deleted.
    ours.mset({"a": 1, "b": 2, "c": 3})
    theirs.set("b", "busy")
    assert err(ours, "MIGRATE", "127.0.0.1", port, "", 0, 5000, "KEYS", "a", "b", "c").startswith(
        "ERR Target instance replied with error: BUSYKEY")
    assert ours.keys("*") == [b"b"]
    assert theirs.mget("a", "b", "c") == [b"1", b"busy", b"3"]


def test_leader_reads_under_its_lease(pair, server, redis_ref):
    """On the leader, MIGRATE reads the keys as a DUMP would, under the
    read lease: COPY adds no command to the log. (Entries may still come:
    the lease is renewed with an empty batch while reads arrive, so the
    count of commands applied is what must not move.)"""
    ours, theirs = pair
    ours.set("k", "v")

    def commands_applied():
        return int(server.client().info("raft")["raft_commands_applied"])
    before = commands_applied()
    for _ in range(3):
        assert ours.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "k", 0, 5000,
                                    "COPY", "REPLACE") == b"OK"
    assert commands_applied() == before
    assert theirs.get("k") == b"v" and ours.get("k") == b"v"


def test_parley_is_a_target_of_redis(pair, server, redis_ref):
    """redis-server's MIGRATE sends RESTORE-ASKING."""
    ours, theirs = pair
    theirs.hset("h", mapping={"f": "v", "g": "w"})
    theirs.pexpire("h", 100000)
    assert theirs.execute_command("MIGRATE", "127.0.0.1", server.port, "h", 2, 5000) == b"OK"
    assert theirs.exists("h") == 0
    db2 = server.client(db=2)
    assert db2.hgetall("h") == {"f": "v", "g": "w"}
    assert 0 < db2.pttl("h") <= 100000
    raw2 = exact_client(server, decode=False, db=2)
    assert raw2.execute_command("RESTORE-ASKING", "x", 0, raw2.dump("h")) == b"OK"
    assert raw2.hgetall("x") == [b"f", b"v", b"g", b"w"]
    assert err(raw2, "RESTORE-ASKING", "x", 0, raw2.dump("h")) == (
        "BUSYKEY Target key name already exists.")


def test_parley_to_parley_with_auth(make_node, pair):
    ours, _ = pair
    target = make_node(extra=("--requirepass", "secret")).start(wait=False)
    wait_until(lambda: target.client(password="secret", socket_timeout=1).ping(), 30,
               message="the target to accept connections")
    t = exact_client(target, decode=False)
    t.execute_command("AUTH", "secret")
    wait_version(t)
    ours.set("k", "v")
    assert err(ours, "MIGRATE", "127.0.0.1", target.port, "k", 0, 5000) == (
        "ERR Target instance replied with error: NOAUTH Authentication required.")
    assert err(ours, "MIGRATE", "127.0.0.1", target.port, "k", 0, 5000, "AUTH", "wrong") == (
        "ERR Target instance replied with error: WRONGPASS invalid username-password pair or "
        "user is disabled.")
    assert ours.get("k") == b"v"
    assert ours.execute_command("MIGRATE", "127.0.0.1", target.port, "k", 0, 5000, "AUTH", "secret") == b"OK"
    assert ours.exists("k") == 0 and t.get("k") == b"v"
    ours.sadd("s", "x", "y")
    assert ours.execute_command("MIGRATE", "127.0.0.1", target.port, "s", 1, 5000,
                                "AUTH2", "default", "secret") == b"OK"
    assert set(target.client(password="secret", db=1).smembers("s")) == {"x", "y"}
    assert ours.exists("s") == 0


def test_unreachable_target_keeps_the_keys(pair):
    ours, _ = pair
    ours.set("k", "v")
    closed = free_port()
    assert err(ours, "MIGRATE", "127.0.0.1", closed, "k", 0, 500) == (
        "IOERR error or timeout writing to target instance")
    assert ours.get("k") == b"v"
    # As redis-server: a host that is none is "connecting", a port that is
    # none "writing".
    assert err(ours, "MIGRATE", "300.1.1.1", 6379, "k", 0, 500) == (
        "IOERR error or timeout connecting to the client")
    assert err(ours, "MIGRATE", "127.0.0.1", 99999, "k", 0, 500) == (
        "IOERR error or timeout writing to target instance")
    assert ours.get("k") == b"v"


def test_silent_target_times_out(pair):
    """A target that accepts but never answers: IOERR reading, key kept."""
    ours, _ = pair
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        ours.set("k", "v")
        assert err(ours, "MIGRATE", "127.0.0.1", listener.getsockname()[1], "k", 0, 300) == (
            "IOERR error or timeout reading to target instance")
        assert ours.get("k") == b"v"
    finally:
        listener.close()


def cached_sockets(node):
    return node.client().info("stats")["migrate_cached_sockets"]


def test_cached_socket_dropped_after_idle(make_node, redis_ref):
    """A node of its own: no connection cached by the tests before."""
    node = make_node().start()
    wait_writable(node)
    ours = exact_client(node, decode=False)
    wait_version(ours)
    assert cached_sockets(node) == 0
    ours.set("k", "v")
    assert ours.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "k", 0, 5000, "REPLACE") == b"OK"
    assert cached_sockets(node) == 1
    ours.set("k2", "v")
    assert ours.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "k2", 0, 5000, "REPLACE") == b"OK"
    assert cached_sockets(node) == 1  # the same connection again
    wait_until(lambda: cached_sockets(node) == 0, 25, interval=0.2,
               message="the idle connection to close")
    ours.close()


def test_acl_needs_write_on_the_keys(pair, server, redis_ref):
    ours, _ = pair
    ours.execute_command("ACL", "SETUSER", "mover", "on", ">pw", "+@all", "%R~k*", "~mine*")
    ours.set("k", "v")
    ours.set("mine", "v")
    try:
        c = exact_client(server, decode=False)
        c.execute_command("AUTH", "mover", "pw")
        assert err(c, "MIGRATE", "127.0.0.1", redis_ref.port, "k", 0, 5000).startswith("NOPERM")
        assert ours.get("k") == b"v"
        assert c.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "mine", 0, 5000) == b"OK"
        c.close()
        # The KEYS form: every key after KEYS is checked ("~" lets "" by).
        ours.execute_command("ACL", "SETUSER", "mover", "~")
        ours.mset({"mine1": 1, "mine2": 2})
        c = exact_client(server, decode=False)
        c.execute_command("AUTH", "mover", "pw")
        assert err(c, "MIGRATE", "127.0.0.1", redis_ref.port, "", 0, 5000,
                   "KEYS", "mine1", "k").startswith("NOPERM")
        assert ours.exists("mine1", "k") == 2
        assert c.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "", 0, 5000,
                                 "KEYS", "mine1", "mine2") == b"OK"
        assert ours.exists("mine1", "mine2") == 0
        c.close()
    finally:
        ours.execute_command("ACL", "DELUSER", "mover")


def requests_in(data):
    """How many whole RESP requests (arrays of bulk strings) data holds."""
    n, at = 0, 0
    while True:
        end = data.find(b"\r\n", at)
        if end < 0:
            return n
        count = int(data[at + 1:end])
        at = end + 2
        for _ in range(count):
            end = data.find(b"\r\n", at)
            if end < 0:
                return n
            at = end + 2 + int(data[at + 1:end]) + 2
            if at > len(data):
                return n
        n += 1


class HeldTarget:
    """A target that takes MIGRATE's requests and answers +OK to each only
    once the test lets it: the test writes in between."""

    def __init__(self, n_requests):
        self.n = n_requests
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.received = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, _ = self.listener.accept()
        conn.settimeout(20)
        data = b""
        while requests_in(data) < self.n:
            data += conn.recv(65536)
        self.received.set()
        self.release.wait(20)
        conn.sendall(b"+OK\r\n" * self.n)
        try:
            conn.recv(1)  # until MIGRATE's side closes it
        except OSError:
            pass
        conn.close()

    def close(self):
        self.release.set()
        self.listener.close()


def test_key_written_meanwhile_is_not_deleted(pair, server):
    """MIGRATE deletes a key only if its value is still the one it sent."""
    ours, _ = pair
    ours.set("changed", "sent")
    ours.set("same", "sent")
    target = HeldTarget(3)  # SELECT, two RESTORE-ASKINGs
    try:
        other = server.client()
        result = {}

        def run():
            result["r"] = ours.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 10000,
                                               "KEYS", "changed", "same")
        t = threading.Thread(target=run)
        t.start()
        assert target.received.wait(15)
        other.set("changed", "written meanwhile")
        target.release.set()
        t.join(20)
        assert result["r"] == b"OK"
        assert other.get("changed") == "written meanwhile"
        assert other.exists("same") == 0
        other.close()
    finally:
        target.close()


def test_migrate_from_a_follower(make_cluster, redis_ref):
    c = make_cluster(3).start()
    leader = c.leader()
    follower = [n for n in c.nodes if n is not leader][0]
    f = exact_client(follower, decode=False)
    wait_version(f)
    theirs = exact_client(redis_ref, decode=False)
    theirs.flushall()
    f.mset({"x": "1", "y": "2"})
    f.rpush("q", "a", "b")
    assert f.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "", 0, 5000,
                             "KEYS", "x", "y", "q", "absent") == b"OK"
    assert theirs.mget("x", "y") == [b"1", b"2"]
    assert theirs.lrange("q", 0, -1) == [b"a", b"b"]
    assert cached_sockets(follower) == 1
    for node in c.nodes:  # gone from every replica
        local = node.client()
        local.execute_command("READONLY")
        wait_until(lambda: local.exists("x", "y", "q") == 0, 10,
                   message=f"node {node.node_id} to apply the delete")
        local.close()
    f.close()
    theirs.close()


def test_shutdown_during_migrate(make_node):
    """A node stopped while MIGRATE waits for its target answers it and
    exits cleanly (under ASan: nothing leaked)."""
    node = make_node().start()
    wait_writable(node)
    ours = exact_client(node, decode=False)
    wait_version(ours)
    ours.set("k", "v")
    target = HeldTarget(2)  # SELECT, RESTORE-ASKING: never answered
    result = {}

    def run():
        try:
            result["r"] = ours.execute_command("MIGRATE", "127.0.0.1", target.port, "k", 0, 20000)
        except (redis.ResponseError, redis.ConnectionError) as e:
            result["r"] = str(e)
    t = threading.Thread(target=run)
    t.start()
    try:
        assert target.received.wait(15)
        assert node.stop() == 0
        t.join(20)
        assert not t.is_alive()
        assert result["r"] == "IOERR error or timeout reading to target instance"
    finally:
        target.close()


def test_passwords_redacted_in_monitor_and_slowlog(server, redis_ref):
    """As Redis: MIGRATE's AUTH and AUTH2 passwords are "(redacted)"."""
    r = server.client()
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    mon = socket.create_connection(("127.0.0.1", server.port))
    mon.settimeout(10)
    try:
        mon.sendall(b"MONITOR\r\n")
        assert mon.recv(5) == b"+OK\r\n"
        for extra in ((), ("AUTH", "pw1"), ("AUTH2", "user", "pw2")):
            assert r.execute_command("MIGRATE", "127.0.0.1", redis_ref.port, "none", 9, 5000,
                                     *extra) == "NOKEY"
        seen = b""
        while seen.count(b"\r\n") < 3:
            seen += mon.recv(4096)
        lines = seen.decode().splitlines()
        assert lines[0].endswith('"none" "9" "5000"')
        assert lines[1].endswith('"none" "9" "5000" "AUTH" "(redacted)"')
        assert lines[2].endswith('"none" "9" "5000" "AUTH2" "(redacted)" "(redacted)"')
    finally:
        mon.close()
        r.config_set("slowlog-log-slower-than", 10000)
    logged = [e["command"].decode() for e in r.slowlog_get(10)]
    logged = [c for c in logged if c.startswith("MIGRATE")]
    assert logged[0].endswith("none 9 5000 AUTH2 (redacted) (redacted)")
    assert logged[1].endswith("none 9 5000 AUTH (redacted)")
    assert logged[2].endswith("none 9 5000")
