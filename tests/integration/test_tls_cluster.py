"""TLS between nodes (`tls-cluster yes`): every Raft connection, accepted
or made, is TLS, and both sides must show a certificate the cluster's CA
(tls-ca-cert-file) signed before the node handshake (and libraft) sees a
byte. So is every connection a node makes to another's client port: the
follower's forwarding link, a `--join` and a RAFT command a follower
relays to the leader go to the other node's tls-port with the node's
certificate, and PARLEY.PEER is refused on any connection without a
certificate the CA signed (tls-auth-clients no still serves clients
without one). A three-node cluster works over it: writes through a
follower (on a TLS connection, as the leader's CLIENT LIST shows), a leader
killed and restarted, a node joining through a follower with a good
certificate. A rogue that speaks the node handshake in plaintext, one with
no certificate and one with a certificate another CA signed are refused
and change nothing (term, leader, members; every log entry committed); a
node with a wrong certificate never receives the log, and catches up once
`CONFIG SET tls-cert-file` gives it a good one; a joiner with a wrong one
is not even added, and a spare added by hand with a wrong one blocks no
later change; a member whose client certificate another CA signed can
neither forward nor relay. The certificates are made per run with the
openssl CLI."""
import os
import shutil
import socket
import ssl
import struct

import pytest
import redis

from conftest import SERVER, Cluster, Node, free_port, parse_info, wait_until, wait_writable
from exact import err, exact_client
from test_membership import members
from test_peer_auth import (CHALLENGE_BYTES, assert_serves_writes, assert_unchanged, heartbeat,
                            hello_frame, raw, read_reply, read_until_closed, recv_exact, settled)
from test_tls import make_ca, make_cert

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

QUIET = ["--divergence-check-interval-ms", "0"]  # no log entries of its own while we watch


class ClusterCerts:
    def __init__(self, d):
        self.dir = d
        make_ca(d, "ca")
        make_ca(d, "ca2")                        # another authority
        make_cert(d, "node", "ca")               # what the members use
        make_cert(d, "node-b", "ca")             # another good one (joiner, reload)
        make_cert(d, "outsider", "ca2")          # signed by the other authority

    def path(self, name):
        return os.path.join(self.dir, name)

    def args(self, cert="node", tls_port=None):
        """A tls-cluster node's TLS arguments; tls-port (where other nodes
        forward, join and relay) is required with tls-cluster."""
        return ["--tls-cluster", "yes", "--tls-port", str(tls_port or free_port()),
                "--tls-cert-file", self.path(f"{cert}.crt"),
                "--tls-key-file", self.path(f"{cert}.key"),
                "--tls-ca-cert-file", self.path("ca.crt")]


def tls_node(base, certs, node_id, cert="node", extra=()):
    """A node outside any cluster's spec (a joiner), with its tls_port."""
    tls_port = free_port()
    n = Node(base, node_id=node_id, extra=QUIET + list(extra) + certs.args(cert, tls_port))
    n.tls_port = tls_port
    return n


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return ClusterCerts(str(tmp_path_factory.mktemp("cluster-certs")))


def tls_cluster(base, certs, size=3, per_node=None, extra=()):
    """A cluster whose Raft transport is TLS; per_node maps a node id to the
    certificate it starts with (default: node)."""
    c = Cluster(base, size, extra=QUIET)
    for n in c.nodes:
        n.tls_port = free_port()
        n.extra = QUIET + list(extra) + certs.args((per_node or {}).get(n.node_id, "node"),
                                                   n.tls_port)
    return c


def registered(c):
    """Every node knows every member's client address: each node's own
    registration (an entry it proposes after a leader change) is applied,
    so no entry of the cluster's own is still to come while a test watches
    the log."""
    def known():
        for n in c.nodes:
            info = n.raft_info()
            members = [v for k, v in info.items() if k.startswith("member") and k != "members"]
            if len(members) != len(c.nodes) or any(v.endswith(":") for v in members):
                return False
        return True
    wait_until(known, 20, message="every member's registration")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, certs):
    # tls-auth-clients no: clients without a certificate are served on
    # tls-port, and only a peer's handshake needs one.
    c = tls_cluster(str(tmp_path_factory.mktemp("tlsc")), certs,
                    extra=["--tls-auth-clients", "no"]).start()
    registered(c)
    yield c
    c.stop()


def refused_lines(node):
    return [l for l in node.log_text().splitlines() if "Refused a Raft connection" in l]


def tls_to(port, certs, cert=None):
    """A TLS connection to a Raft port, verifying the node's certificate
    with ca and showing `cert` (or none); the handshake is done."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(certs.path("ca.crt"))
    if cert:
        ctx.load_cert_chain(certs.path(f"{cert}.crt"), certs.path(f"{cert}.key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw)


def challenge_or_close(s):
    """Sends a node hello posing as node 1 (with the empty secret of a
    loopback cluster, which a plaintext cluster would answer) and returns
    what comes back before the node closes: a challenge, or nothing."""
    s.sendall(hello_frame(1, "127.0.0.1:1", os.urandom(32)))
    try:
        return recv_exact(s, CHALLENGE_BYTES)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return b""


# --- a cluster over TLS --------------------------------------------------------

def test_the_raft_port_speaks_tls_with_certificates_both_ways(cluster, certs):
    """A good certificate gets through TLS to the node handshake (the
    control for the rogues below); the node's own certificate verifies
    against the cluster's CA."""
    node = cluster.nodes[0]
    with tls_to(node.raft_port, certs, cert="node-b") as s:
        peer = s.getpeercert()
        assert dict(x[0] for x in peer["subject"])["commonName"] == "node"
        challenge = challenge_or_close(s)
    assert challenge[:8] == b"PARLEYC1"
    assert struct.unpack("<Q", challenge[40:48])[0] == node.node_id


@pytest.mark.parametrize("rogue", ["plaintext", "no certificate", "other CA"])
def test_rogues_are_refused_and_change_nothing(cluster, certs, rogue):
    before = settled(cluster.nodes)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    term = int(before[leader.node_id]["term"])
    for target in (follower, leader):
        if rogue == "plaintext":
            # What a cluster without tls-cluster answers with a challenge.
            s = socket.create_connection(("127.0.0.1", target.raft_port), timeout=10)
        else:
            try:
                s = tls_to(target.raft_port, certs, None if rogue == "no certificate" else "outsider")
            except (ssl.SSLError, ConnectionResetError):
                s = None  # refused during the TLS handshake itself (TLS 1.2)
        if s is not None:
            with s:
                assert challenge_or_close(s) == b""
                try:
                    s.sendall(heartbeat(term + 10))
                except (OSError, ssl.SSLError):
                    pass
                _, closed = read_until_closed(s) if rogue == "plaintext" else (None, True)
                assert closed
    assert_unchanged(before, settled(cluster.nodes))
    # Refusals are logged at most once a second per node: some node said why.
    wait_until(lambda: any("TLS: " in l for n in (follower, leader) for l in refused_lines(n)),
               message="a TLS refusal in the log")
    assert_serves_writes(cluster, f"after-{rogue.replace(' ', '-')}")


def test_tls_cluster_is_a_start_up_setting(cluster):
    x = exact_client(cluster.nodes[0])
    assert err(x, "CONFIG", "SET", "tls-cluster", "no") == (
        "ERR CONFIG SET failed (possibly related to argument 'tls-cluster') - "
        "can't set immutable config")
    assert cluster.nodes[0].client().config_get("tls-cluster") == {"tls-cluster": "yes"}


def tls_reply(s, *words):
    """Sends one command on a TLS socket and reads its reply (raw bytes)."""
    raw(s, *words)
    return read_reply(s.makefile("rb"))


def peer_hello(s):
    return tls_reply(s, "PARLEY.PEER", "HELLO", 7, os.urandom(32).hex())


TLS_PEERS_ONLY = (b"-NOPERM tls-cluster is on: peers must connect to tls-port with a "
                  b"certificate the cluster's CA signed")


def test_peer_handshake_needs_tls_and_a_certificate_the_ca_signed(cluster, certs):
    """PARLEY.PEER, which a loopback connection could pass with the empty
    secret of a cluster without one, is refused on a tls-cluster node
    unless the connection is TLS with a certificate the CA signed; an
    ordinary client without a certificate is still served on tls-port
    (tls-auth-clients no)."""
    leader = cluster.leader()
    with socket.create_connection(("127.0.0.1", leader.port), timeout=10) as s:
        f = s.makefile("rb")
        raw(s, "PARLEY.PEER", "HELLO", 7, os.urandom(32).hex())
        assert read_reply(f) == TLS_PEERS_ONLY
        assert f.readline() == b""  # closed
    for cert in (None, "outsider"):
        with tls_to(leader.tls_port, certs, cert) as s:
            f = s.makefile("rb")
            raw(s, "PING")
            assert read_reply(f) == b"+PONG"
            raw(s, "PARLEY.PEER", "HELLO", 7, os.urandom(32).hex())
            assert read_reply(f) == TLS_PEERS_ONLY
            assert f.readline() == b""
    # A node's certificate gets the handshake's challenge.
    with tls_to(leader.tls_port, certs, "node-b") as s:
        nonce, node_id, proof = peer_hello(s)
        assert int(node_id) == leader.node_id and len(proof) == 64


def test_members_show_their_tls_client_address(cluster):
    for n in cluster.nodes:
        m = members(n)
        assert {i: d["tls-client-addr"] for i, d in m.items()} == {
            x.node_id: f"127.0.0.1:{x.tls_port}" for x in cluster.nodes}
        assert all(d["client-addr"] == f"127.0.0.1:{by.port}"
                   for by in cluster.nodes for i, d in m.items() if i == by.node_id)


def test_the_forwarding_link_is_tls(cluster):
    """A write sent to a follower reaches the leader on its tls-port: the
    forwarding connections in the leader's CLIENT LIST are on it."""
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    assert follower.client().set("forwarded-over-tls", "1") is True
    assert leader.client().get("forwarded-over-tls") == "1"
    links = [c for c in leader.client().client_list() if c["cmd"].lower() == "parley.fwd"]
    assert links, leader.client().client_list()
    assert {c["laddr"] for c in links} == {f"127.0.0.1:{leader.tls_port}"}


# Last of the module's cluster: it changes the leader (the rogue tests above
# compare the log before and after, and a leader change adds entries).
def test_writes_through_a_follower_and_a_leader_kill(cluster):
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    c = follower.client()
    for i in range(200):
        assert c.set(f"k{i}", i) is True
    assert c.incr("counter") == 1
    # Big entries and a pipeline: more than the TLS pipes queue at once.
    big = os.urandom(6 * 1024 * 1024).hex()[:6 * 1024 * 1024]
    assert c.set("big", big) is True
    p = c.pipeline(transaction=False)
    for i in range(3000):
        p.set(f"p{i}", "x" * 200)
    assert all(p.execute())
    for n in cluster.nodes:
        r = n.client()
        r.execute_command("READONLY")
        wait_until(lambda: r.get("p2999") == "x" * 200, message=f"p2999 on node {n.node_id}")
        assert r.strlen("big") == len(big)
    leader.kill()
    new_leader = cluster.wait_leader(15, exclude=(leader,))
    other = next(n for n in cluster.nodes if n not in (leader, new_leader))
    assert other.client().incr("counter") == 2
    assert new_leader.client().get("k0") == "0"
    leader.start()
    cluster.wait_converged(20)
    r = leader.client()
    r.execute_command("READONLY")
    assert r.get("counter") == "2"


# --- joining -------------------------------------------------------------------

def voters(node):
    info = parse_info(node.client(socket_timeout=2).execute_command("RAFT", "INFO"))
    return sorted(v for k, v in info.items() if k.startswith("member") and ":voter:" in v)


SNAPSHOTS = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "0"]


def test_join_through_a_follower_with_a_good_certificate(tmp_path, certs):
    """The joiner asks a follower's tls-port over TLS, the follower relays
    the RAFT NODE ADD to the leader's tls-port over TLS, and the joiner is
    sent a snapshot (the log before it was compacted) over TLS. A RAFT NODE
    ADD typed on a follower's plain port is relayed the same way."""
    c = tls_cluster(str(tmp_path), certs, extra=SNAPSHOTS).start()
    joiners = []
    try:
        leader = c.leader()
        follower = next(n for n in c.nodes if n is not leader)
        r = leader.client()
        for i in range(300):
            r.set(f"before:{i}", i)
        r.set("before-join", "1")
        joiner = tls_node(str(tmp_path), certs, 4, "node-b",
                          SNAPSHOTS + ["--join", f"127.0.0.1:{follower.tls_port}"])
        joiners.append(joiner.start())
        wait_until(lambda: len(voters(leader)) == 4, 30, message="node 4 to become a voter")
        r = joiner.client()
        r.execute_command("READONLY")
        wait_until(lambda: r.get("before-join") == "1", 20, message="node 4 to have the data")
        assert "Loaded a snapshot" in joiner.log_text()  # InstallSnapshot came over TLS
        assert joiner.client().set("via-joiner", "yes") is True  # forwarded over TLS
        observer = tls_node(str(tmp_path), certs, 5, "node-b")
        assert follower.client().execute_command(
            "RAFT", "NODE", "ADD", 5, observer.raft_addr, "OBSERVER") == "OK"
        assert members(leader)[5]["role"] == "observer"
        c.nodes.append(joiner)
        c.wait_converged(20)
    finally:
        for j in joiners:
            if j not in c.nodes:
                j.kill()
        c.stop()


def test_join_with_a_wrong_certificate_gets_nothing_and_blocks_nothing(tmp_path, certs):
    """A joiner whose certificate another CA signed cannot even ask: its
    TLS handshake with the member's tls-port fails, it is not added (not
    even as a spare), never receives an entry, and the cluster goes on
    without it. Added by hand (RAFT NODE ADD is an administrator's command),
    it stays a spare the leader cannot catch up; the promotion is given up
    and a good node joins after it."""
    c = tls_cluster(str(tmp_path), certs).start()
    rogue = good = None
    try:
        leader = c.leader()
        leader.client().set("secret-data", "1")
        rogue = tls_node(str(tmp_path), certs, 4, "outsider",
                         ["--join", f"127.0.0.1:{leader.tls_port}"]).start()
        wait_until(lambda: "Joining through" in rogue.log_text() and
                   "TLS: " in rogue.log_text(), 15, message="the rogue's join to be refused")
        assert sorted(members(leader)) == [1, 2, 3]
        info = rogue.raft_info()
        assert info["term"] == "0" and info["commit_index"] == "0"
        r = rogue.client()
        r.execute_command("READONLY")
        assert r.get("secret-data") is None
        assert_serves_writes(c, "after-rogue-joiner")

        # Added by hand: a spare that never catches up.
        x = exact_client(leader)
        reply = err(x, "RAFT", "NODE", "ADD", "4", rogue.raft_addr)
        assert reply.startswith("ERR cannot change the node's role: "), reply
        assert members(leader)[4]["role"] == "spare"
        assert r.get("secret-data") is None
        good = tls_node(str(tmp_path), certs, 5, "node-b",
                        ["--join", f"127.0.0.1:{leader.tls_port}"]).start()
        wait_until(lambda: members(leader).get(5, {}).get("role") == "voter", 30,
                   message="node 5 to become a voter after the spare")
        assert x.execute_command("RAFT", "NODE", "REMOVE", "4") == "OK"
        assert sorted(members(leader)) == [1, 2, 3, 5]
        c.nodes.append(good)
        assert_serves_writes(c, "after-good-joiner")
    finally:
        for n in (rogue, good):
            if n and n not in c.nodes:
                n.kill()
        c.stop()


def start_led_by_1_or_2(c):
    """Starts every node of c, whose node 3 the others cannot hear from;
    returns the leader, one of nodes 1 and 2."""
    for n in c.nodes:
        n.start(wait=False)
    for n in c.nodes:
        n.wait_listening()
    return wait_until(lambda: next((n for n in c.nodes[:2] if n.is_leader()), None), 15,
                      message="a leader among nodes 1 and 2")


def test_a_member_with_a_wrong_client_certificate_cannot_forward_or_relay(tmp_path, certs):
    """Node 3 shows a good certificate when other nodes connect to it, so it
    receives the log and learns the leader; but its own connections show a
    client certificate another CA signed. Its forwarding link and its relay
    of a RAFT command are refused by the leader's tls-port: the write is
    not applied, the membership is unchanged."""
    c = tls_cluster(str(tmp_path), certs)
    n3 = c.nodes[2]
    n3.extra += ["--tls-client-cert-file", certs.path("outsider.crt"),
                 "--tls-client-key-file", certs.path("outsider.key"),
                 "--request-timeout-ms", "2000"]
    try:
        leader = start_led_by_1_or_2(c)
        leader.client().set("seen-by-3", "1")
        r3 = n3.client()
        r3.execute_command("READONLY")
        wait_until(lambda: r3.get("seen-by-3") == "1", 20, message="node 3 to receive the log")
        wait_until(lambda: int(n3.raft_info()["leader_id"]) == leader.node_id, 15,
                   message="node 3 to know the leader")
        with pytest.raises(redis.RedisError):
            n3.client(socket_timeout=20).set("forwarded-by-3", "1")
        wait_until(lambda: any("Peer connection to" in l and "TLS: " in l
                               for l in n3.log_text().splitlines()), 15,
                   message="node 3's peer connection refused over TLS")
        x = exact_client(n3)
        reply = err(x, "RAFT", "NODE", "ADD", "9", f"127.0.0.1:{free_port()}", "OBSERVER")
        assert "TLS: " in reply, reply
        assert sorted(members(leader)) == [1, 2, 3]
        assert leader.client().get("forwarded-by-3") is None
    finally:
        c.stop()


def test_a_node_with_a_wrong_certificate_gets_nothing_until_reloaded(tmp_path, certs):
    """Node 3 starts with a certificate the cluster's CA did not sign: the
    other two elect a leader and commit without it, and it receives no
    entry. CONFIG SET tls-cert-file/tls-key-file gives it a good one: the
    transport's next connections use it and it catches up. A file that
    cannot be loaded is refused with Redis's text and changes nothing."""
    c = tls_cluster(str(tmp_path), certs, per_node={3: "outsider"})
    try:
        leader = start_led_by_1_or_2(c)
        n1, n2, n3 = c.nodes
        leader.client().set("written-without-3", "1")
        # Nodes 1 and 2 refuse node 3's certificate when it connects, and
        # do not trust the one it shows when they connect to it.
        wait_until(lambda: any("TLS" in l for l in refused_lines(n1) + refused_lines(n2)), 15,
                   message="nodes 1 or 2 refusing node 3's certificate")
        info3 = n3.raft_info()
        assert int(info3["commit_index"]) < int(leader.raft_info()["commit_index"])
        r3 = n3.client()
        r3.execute_command("READONLY")
        assert r3.get("written-without-3") is None

        x = exact_client(n3)
        assert err(x, "CONFIG", "SET", "tls-cert-file", certs.path("missing.crt")) == (
            "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
            "Unable to update TLS configuration. Check server logs.")
        assert n3.client().config_get("tls-cert-file")["tls-cert-file"] == \
            certs.path("outsider.crt")

        assert n3.client().config_set("tls-cert-file", certs.path("node-b.crt"),
                                      "tls-key-file", certs.path("node-b.key")) is True
        wait_until(lambda: r3.get("written-without-3") == "1", 30,
                   message="node 3 to catch up with its new certificate")
        assert n3.client().set("via-3", "ok") is True
        c.wait_converged(20)
    finally:
        c.stop()


# --- start-up ------------------------------------------------------------------

def run_briefly(args):
    import subprocess
    p = subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def test_start_up_needs_a_tls_port_and_certificates(tmp_path, certs):
    base = ["--port", str(free_port()), "--dir", str(tmp_path / "d"),
            "--raft-addr", f"127.0.0.1:{free_port()}", "--tls-cluster", "yes"]
    code, out = run_briefly(base + ["--tls-cert-file", certs.path("node.crt"),
                                    "--tls-key-file", certs.path("node.key"),
                                    "--tls-ca-cert-file", certs.path("ca.crt")])
    assert code != 0 and "tls-cluster yes needs a tls-port" in out
    base += ["--tls-port", str(free_port())]
    code, out = run_briefly(base)
    assert code != 0 and "No tls-cert-file configured!" in out
    code, out = run_briefly(base + ["--tls-cert-file", certs.path("node.crt"),
                                    "--tls-key-file", certs.path("node.key")])
    assert code != 0 and "Either tls-ca-cert-file or tls-ca-cert-dir must be specified" in out
