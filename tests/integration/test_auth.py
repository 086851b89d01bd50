"""Authentication: requirepass, AUTH, HELLO AUTH, the commands a client may
run before it authenticates, protected-mode, and redis-py URLs with a
password or a user.

Error texts are redis-server 7.0.15's for the same input."""
import socket
import subprocess

import pytest
import redis

from conftest import Node, wait_until, wait_writable
from rawresp import RawConn

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    node = Node(str(tmp_path_factory.mktemp("auth")), extra=["--requirepass", "s3cret"])
    node.start(wait=False)
    wait_until(lambda: node.client(password="s3cret", socket_timeout=1).ping(), 30,
               message="the node to accept connections")
    wait_until(lambda: node.client(password="s3cret", socket_timeout=2).set("__ready", "1"), 10,
               message="a leader")
    yield node
    node.stop()


def test_noauth_before_auth(secured):
    with RawConn(secured.port) as c:
        assert c.call("GET", "k") == NOAUTH
        assert c.call("SET", "k", "v") == NOAUTH
        assert c.call("CLIENT", "ID") == NOAUTH
        # Unknown commands and wrong arities are answered first, as by Redis.
        assert c.call("NOSUCH").startswith("ERR unknown command 'NOSUCH'")
        # Commands flagged no-auth run: AUTH, HELLO, QUIT, RESET...
        assert c.call("RESET") == "RESET"
        assert c.call("AUTH", "wrong") == WRONGPASS
        assert c.call("AUTH", "default", "wrong") == WRONGPASS
        assert c.call("AUTH", "nosuchuser", "s3cret") == WRONGPASS
        assert c.call("AUTH", "a", "b", "c") == "ERR syntax error"
        assert c.call("GET", "k") == NOAUTH
        assert c.call("AUTH", "s3cret") == "OK"
        assert c.call("SET", "k", "v") == "OK"
        assert c.call("ACL", "WHOAMI") == b"default"
        assert c.call("AUTH", "default", "s3cret") == "OK"
        # RESET logs the connection out: the default user needs a password.
        assert c.call("RESET") == "RESET"
        assert c.call("GET", "k") == NOAUTH


def test_hello_auth(secured):
    with RawConn(secured.port) as c:
        err = c.call("HELLO", "3")
        assert err.startswith("NOAUTH HELLO must be called with the client already authenticated")
        assert c.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
        assert c.call("GET", "k") == NOAUTH
        reply = c.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me")
        assert reply[b"proto"] == 3
        assert c.call("CLIENT", "GETNAME") == b"me"


def test_redis_py_urls(secured):
    ok = redis.Redis.from_url(f"redis://:s3cret@127.0.0.1:{secured.port}/0")
    assert ok.set("url", "1") and ok.get("url") == b"1"
    user = redis.Redis.from_url(f"redis://default:s3cret@127.0.0.1:{secured.port}/0")
    assert user.get("url") == b"1"
    bad = redis.Redis.from_url(f"redis://:nope@127.0.0.1:{secured.port}/0")
    with pytest.raises(redis.ResponseError, match="^WRONGPASS"):
        bad.get("url")
    none = redis.Redis(port=secured.port)
    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        none.get("url")


def test_requirepass_at_run_time(server, r):
    with RawConn(server.port) as c:
        assert c.call("AUTH", "x").startswith("ERR AUTH <password> called without any password "
                                              "configured for the default user")
        assert c.call("HELLO", "3", "AUTH", "default", "anything")[b"proto"] == 3
    try:
        assert r.config_set("requirepass", "abc")
        with RawConn(server.port) as c:
            assert c.call("PING") == NOAUTH
            assert c.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
            assert c.call("AUTH", "abc") == "OK"
        # A connection logged in before stays logged in, as in Redis.
        assert r.ping()
    finally:
        r.config_set("requirepass", "")
    with RawConn(server.port) as c:
        assert c.call("PING") == "PONG"


def test_client_list_shows_user(server, r):
    r.execute_command("ACL", "SETUSER", "lister", "on", ">pw", "+@all", "~*")
    try:
        c = server.client(username="lister", password="pw")
        assert "user=lister" in c.execute_command("CLIENT", "INFO")
    finally:
        r.execute_command("ACL", "DELUSER", "lister")


def non_loopback_address():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        addr = line.split()[3].split("/")[0]
        if not addr.startswith("127."):
            return addr
    return None


def test_protected_mode(make_node):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("no non-loopback address on this machine")
    node = make_node(extra=["--bind", f"127.0.0.1 {addr}"]).start()
    wait_writable(node)
    # Refused at once: the error, then the connection closes.
    with socket.create_connection((addr, node.port), timeout=5) as sock:
        got = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"-DENIED Redis is running in protected mode because protected mode "
                          b"is enabled and no password is set for the default user.")
    local = node.client()
    assert local.ping()  # loopback clients are served
    local.config_set("requirepass", "pw")
    assert redis.Redis(host=addr, port=node.port, password="pw").ping()
    redis.Redis(host=addr, port=node.port, password="pw").config_set("requirepass", "")
    local.config_set("protected-mode", "no")
    assert redis.Redis(host=addr, port=node.port).ping()


def test_bind_any_address(make_node):
    """`bind * -::*` listens on every IPv4 address (and IPv6 where the host
    has it), as redis-server's default does; protected mode still refuses
    clients from other hosts while no password is set."""
    node = make_node(extra=["--bind", "* -::*"]).start()
    wait_writable(node)
    assert node.client().ping()
    addr = non_loopback_address()
    if addr is not None:
        with socket.create_connection((addr, node.port), timeout=5) as sock:
            assert sock.recv(65536).startswith(b"-DENIED")


def test_requirepass_is_the_replicated_default_password(make_cluster):
    """CONFIG SET requirepass changes the default user's password through
    the log: every node asks for it; CONFIG GET answers the node's own
    setting, as redis-server does; ACL SETUSER sees the password."""
    cluster = make_cluster(3).start()
    one, two = cluster.nodes[0], cluster.nodes[1]
    assert one.client().config_set("requirepass", "clusterpw")
    def asks(reply):
        with RawConn(two.port) as fresh:
            return fresh.call("PING") == reply
    wait_until(lambda: asks(NOAUTH), 10, message="the password on another node")
    with RawConn(two.port) as c:
        assert c.call("AUTH", "clusterpw") == "OK"
        assert c.call("CONFIG", "GET", "requirepass") == [b"requirepass", b""]
    admin = one.client(password="clusterpw")
    # A follower may answer before it applied the change itself.
    wait_until(lambda: admin.ping(), 10, message="the password on the node that set it")
    assert admin.config_get("requirepass") == {"requirepass": "clusterpw"}
    getuser = admin.execute_command("ACL", "GETUSER", "default")
    fields = dict(zip(getuser[::2], getuser[1::2]))
    assert fields["flags"] == ["on"]
    assert fields["passwords"] == ["50d773bce9d298cf2d22cd779b3bc0271c949b996d7ed4e0167659f4e7f91464"]
    assert admin.config_set("requirepass", "")
    wait_until(lambda: asks("PONG"), 10, message="no password again")


def test_requirepass_at_startup_goes_through_the_log(make_node):
    node = make_node(extra=["--requirepass", "boot"]).start(wait=False)
    wait_until(lambda: node.client(password="boot", socket_timeout=1).ping(), 30,
               message="the node to accept connections")
    admin = node.client(password="boot")
    wait_until(lambda: admin.execute_command("ACL", "LIST")[0].startswith("user default on #"), 10,
               message="the password in the replicated users")
    assert admin.config_get("requirepass") == {"requirepass": "boot"}
    # Restarted without requirepass: the log keeps the password.
    assert node.stop() == 0
    node.extra = []
    node.start(wait=False)
    wait_until(lambda: node.client(password="boot", socket_timeout=1).ping(), 30,
               message="the password from the log")
    with RawConn(node.port) as c:
        assert c.call("PING") == NOAUTH
