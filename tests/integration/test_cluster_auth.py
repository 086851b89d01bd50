"""Passwords and peers together: a cluster whose nodes all have requirepass
(and an ACL user) still forwards writes from followers, takes a node that
joins with --join, relays RAFT NODE sent to a follower to the leader and
survives the leader's death. The nodes reach each other's client ports as
peers (PARLEY.PEER: the cluster secret, here the empty one of a cluster on
loopback), so no node needs another's password; clients still need theirs
on every node, and a user's rights are checked on the node it talks to,
before anything is relayed.

Across hosts (network namespaces), protected mode stays on: other nodes
prove the cluster secret and are served, ordinary clients from another
host are still DENIED."""
import os
import socket

import pytest
import redis

import netns
from conftest import Cluster, Node, wait_until, wait_writable
from exact import err
from test_peer_auth import mac, raw, read_reply

PASSWORD = "cluster-auth-pw"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
NOAUTH = "NOAUTH Authentication required."
DENIED = (b"-DENIED Redis is running in protected mode because protected mode is enabled and "
          b"no password is set for the default user.")


class AuthNode(Node):
    """A node whose test client logs in (the fixtures' helpers use client())."""

    def client(self, **kw):
        kw.setdefault("password", PASSWORD)
        return super().client(**kw)


class AuthCluster(Cluster):
    def __init__(self, base_dir, size=3, extra=()):
        super().__init__(base_dir, size, extra)
        for n in self.nodes:
            n.__class__ = AuthNode


def exact(node, **kw):
    """A client that keeps error texts whole (see exact.py) and logs in."""
    from exact import FullErrorParser
    kw.setdefault("password", PASSWORD)
    pool = redis.ConnectionPool(host="127.0.0.1", port=node.port, decode_responses=True,
                                socket_timeout=15, parser_class=FullErrorParser, **kw)
    c = redis.Redis(connection_pool=pool)
    c.response_callbacks.clear()
    return c


def members(node):
    out = {}
    for row in node.client(socket_timeout=5).execute_command("RAFT", "MEMBERS"):
        d = dict(zip(row[0::2], row[1::2]))
        out[int(d["id"])] = d["role"]
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("cluster-auth"))
    c = AuthCluster(base, extra=["--requirepass", PASSWORD]).start()
    c.base = base
    c.extra_nodes = []
    yield c
    for n in c.extra_nodes:
        n.kill()
    c.stop()


def test_writes_through_a_follower(cluster):
    follower = cluster.followers()[0]
    assert follower.client().set("via-follower", "1") is True
    assert cluster.leader().client().get("via-follower") == "1"
    assert follower.client().incr("counter") == 1


def test_every_node_wants_the_password(cluster):
    for n in cluster.nodes:
        with pytest.raises((redis.AuthenticationError, redis.ResponseError), match="WRONGPASS"):
            n.client(password="not-it").ping()
        x = exact(n, password=None)
        assert err(x, "AUTH", "not-it") == WRONGPASS
        assert err(x, "SET", "k", "v") == NOAUTH
        assert err(x, "RAFT", "NODE", "REMOVE", "2") == NOAUTH
    assert set(members(cluster.nodes[0])) == {1, 2, 3}


def test_user_without_admin_cannot_change_membership_through_a_follower(cluster):
    leader = cluster.leader()
    assert leader.client().execute_command(
        "ACL", "SETUSER", "app", "on", ">app-pw", "~*", "&*", "+@all", "-@admin") == "OK"
    follower = cluster.followers()[0]
    # The user is replicated: it logs in on the follower once applied there.
    wait_until(lambda: follower.client(username="app", password="app-pw").ping(),
               message="user app on the follower")
    app = exact(follower, username="app", password="app-pw")
    assert app.execute_command("SET", "app-key", "x") == "OK"
    assert err(app, "RAFT", "NODE", "ADD", "9", "127.0.0.1:1", "OBSERVER").startswith("NOPERM")
    assert err(app, "RAFT", "NODE", "REMOVE", str(leader.node_id)).startswith("NOPERM")
    # Refused where the client is connected, before anything was relayed:
    # this node's ACL LOG has it, and the membership is unchanged.
    log = follower.client().execute_command("ACL", "LOG")
    assert any(dict(zip(e[0::2], e[1::2])).get("username") == "app" for e in log)
    assert set(members(leader)) == {1, 2, 3}
    # A wrong password for the user is refused on every node.
    for n in cluster.nodes:
        x = exact(n, password=None)
        assert err(x, "AUTH", "app", "wrong") == WRONGPASS


def test_join_and_raft_node_through_a_follower(cluster):
    follower = cluster.followers()[0]
    cluster.leader().client().set("before-join", "1")
    # Node 4 joins through a follower with --join: its request to be added
    # is an ask from a node that is not yet a member, relayed to the leader.
    joiner = AuthNode(cluster.base, node_id=4, extra=[
        "--requirepass", PASSWORD, "--join", f"127.0.0.1:{follower.port}"])
    cluster.extra_nodes.append(joiner)
    joiner.start()
    wait_until(lambda: members(cluster.leader()).get(4) == "voter", 30,
               message="node 4 to join as a voter")
    wait_until(lambda: joiner.client().get("before-join") == "1", 20,
               message="node 4 to have the data")
    # The OK comes back through the follower's relay, which may trail the
    # log that brought node 4 its role and the data.
    wait_until(lambda: "is a member of the cluster" in joiner.log_text(), 20,
               message="node 4's join to be answered")
    # RAFT NODE ADD and REMOVE sent to a follower are relayed to the leader.
    observer = AuthNode(cluster.base, node_id=5, extra=[
        "--requirepass", PASSWORD, "--join", f"127.0.0.1:{follower.port}"])
    cluster.extra_nodes.append(observer)
    assert follower.client().execute_command(
        "RAFT", "NODE", "ADD", 5, observer.raft_addr, "OBSERVER") == "OK"
    observer.start()
    wait_until(lambda: observer.client().get("before-join") == "1", 20,
               message="the observer to receive the log")
    assert members(follower)[5] == "observer"
    # Stopped first, as an operator would: a node started with --join that
    # is still running asks to be added again (under load its first ask
    # can arrive after the removal, and node 5 came back as a voter).
    observer.kill()
    joiner.kill()
    assert follower.client().execute_command("RAFT", "NODE", "REMOVE", 5) == "OK"
    assert follower.client().execute_command("RAFT", "NODE", "REMOVE", 4) == "OK"
    wait_until(lambda: set(members(follower)) == {1, 2, 3}, 20,
               message="nodes 4 and 5 to be removed")


def test_leader_kill(cluster):
    leader = cluster.leader()
    leader.kill()
    new_leader = cluster.wait_leader(exclude=(leader,), timeout=20)
    survivor = next(n for n in cluster.nodes if n not in (leader, new_leader))
    wait_writable(survivor, timeout=20)
    assert survivor.client().set("after-kill", "2") is True
    assert new_leader.client().get("after-kill") == "2"
    leader.start()
    c = leader.client()
    c.execute_command("READONLY")
    wait_until(lambda: c.get("after-kill") == "2", 20, message="the old leader to catch up")
    # And it forwards again as a follower.
    assert leader.client().set("via-old-leader", "3") is True
    assert new_leader.client().get("via-old-leader") == "3"


# --- across hosts, protected mode on -------------------------------------------------

def denied_from_afar(node):
    """What an ordinary client from another host is answered: everything
    until the node closes the connection."""
    with socket.create_connection((node.client_ip, 6379), timeout=10) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        got = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk


def voter_count(node):
    return sum(1 for k, v in node.raft_info().items()
               if k.startswith("member") and ":voter:" in v)


@pytest.mark.skipif(not netns.available(), reason="needs root and network namespaces")
def test_protected_mode_serves_peers_not_remote_clients(tmp_path):
    cluster = netns.NsCluster(str(tmp_path), size=4, members=3, protected_mode=True)
    try:
        cluster.start()
        leader = cluster.wait_leader(15)
        f1, f2 = [n for n in cluster.nodes[:3] if n is not leader]
        # A follower forwards its (loopback) client's writes to the leader
        # over the client network: the leader serves the peer.
        wait_until(lambda: f1.cli("SET", "via-follower", "1") == "OK", 15,
                   message="a write through a follower")
        assert leader.cli("GET", "via-follower") == "1"
        # A node that is not yet a member joins through a follower, which
        # relays RAFT NODE ADD to the leader: both are peer connections.
        joiner = cluster.nodes[3]
        joiner.extra += ["--join", f1.client_addr]
        joiner.start()
        wait_until(lambda: voter_count(leader) == 4, 30, message="node 4 to join as a voter")
        wait_until(lambda: joiner.cli("GET", "via-follower") == "1", 20,
                   message="node 4 to have the data")
        # RAFT NODE sent to a follower is relayed to the leader.
        assert f2.cli("RAFT", "NODE", "REMOVE", 4) == "OK"
        wait_until(lambda: voter_count(leader) == 3, 20, message="node 4 to be removed")
        # An ordinary client from another host is still refused, on every node.
        for n in cluster.nodes[:3]:
            assert denied_from_afar(n).startswith(DENIED)
        # From another host: a peer's proof with the wrong secret is refused
        # and the connection closed; a HELLO alone does not let a client in;
        # the right proof does.
        for secret, after in (("not-the-cluster-secret", "PROVE"), (None, "PING"),
                              (netns.CLUSTER_SECRET, "PROVE")):
            with socket.create_connection((leader.client_ip, 6379), timeout=10) as sock:
                f = sock.makefile("rb")
                nonce = os.urandom(32)
                raw(sock, "PARLEY.PEER", "HELLO", 77, nonce.hex())
                acceptor_nonce, node_id, _ = read_reply(f)
                assert int(node_id) == leader.node_id
                if after == "PING":
                    raw(sock, "PING")
                    assert read_reply(f).startswith(DENIED)
                    assert f.readline() == b""
                    continue
                proof = mac(secret, "parley link connector v1", nonce,
                            bytes.fromhex(acceptor_nonce.decode()), 77, leader.node_id)
                raw(sock, "PARLEY.PEER", "PROVE", proof.hex())
                if secret == netns.CLUSTER_SECRET:
                    assert read_reply(f) == b"+OK"
                    raw(sock, "PING")
                    assert read_reply(f) == b"+PONG"
                else:
                    assert read_reply(f) == b"-NOPERM cluster peer authentication failed"
                    assert f.readline() == b""
    finally:
        cluster.destroy()
