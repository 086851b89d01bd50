"""Only peers speak to peers: the Raft port and the forwarding link.

A process that reaches a node's Raft port must prove it knows the cluster
secret (an HMAC challenge-response on both nonces, base/peerauth.h) before
libraft sees a byte of it; with no secret set, only loopback peers are
taken. A rogue speaking libraft's own protocol, one with a wrong secret,
one replaying a handshake captured between two real nodes, and one that
says nothing are all disconnected, and change nothing: each node's term,
leader, commit and last log index and members are what they were, and the
cluster keeps serving writes. On the client port, PARLEY.FWD (which can
write internal records such as a node's client address) answers NOPERM to
any connection that has not passed PARLEY.PEER. A cluster with a secret
works as before: writes through a follower, a leader killed.
"""
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import threading
import time

import pytest
import redis

from conftest import SERVER, Cluster, Node, free_port, wait_until, wait_writable

SECRET = "peer-auth-test-secret-0123456789"
QUIET = ["--divergence-check-interval-ms", "0"]  # no log entries of its own while we watch

HELLO_BYTES, CHALLENGE_BYTES, PROOF_BYTES = 304, 80, 40


# --- the handshake, as a rogue (or a test) would write it ------------------

def mac(secret, label, connector_nonce, acceptor_nonce, connector_id, acceptor_id, addr=""):
    a = addr.encode()
    msg = (label.encode() + b"\0" + connector_nonce + acceptor_nonce
           + struct.pack("<QQ", connector_id, acceptor_id) + bytes([len(a)]) + a)
    return hmac.new(secret.encode(), msg, hashlib.sha256).digest()


def hello_frame(node_id, addr, nonce):
    a = addr.encode()
    return b"PARLEYH1" + nonce + struct.pack("<Q", node_id) + bytes([len(a)]) + a.ljust(255, b"\0")


def libraft_preamble(node_id, addr):
    """libraft's own TCP handshake: protocol 1, server id, padded address."""
    a = addr.encode() + b"\0"
    a = a.ljust((len(a) + 7) // 8 * 8, b"\0")
    return struct.pack("<QQQ", 1, node_id, len(a)) + a


def heartbeat(term, commit=0):
    """An AppendEntries with no entries, from a 'leader' of this term."""
    body = struct.pack("<QQQQ", term, 0, 0, commit) + struct.pack("<Q", 0) + struct.pack("<Q", 0)
    return bytes([1, 0, 0, 0, 0, 0, 0, 0]) + struct.pack("<Q", len(body)) + body


def recv_exact(sock, n, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_until_closed(sock, timeout=15):
    """Everything the server sends until it closes; (data, closed)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        except socket.timeout:
            return data, False
        if not chunk:
            return data, True
        data += chunk


# --- what must not change -----------------------------------------------------

def node_state(node):
    info = node.raft_info()
    keep = {k: info[k] for k in ("term", "leader_id", "commit_index", "last_index")}
    keep.update({k: v for k, v in info.items() if k.startswith("member")})
    keep["applied_index"] = info["applied_index"]
    return keep


def settled(nodes, timeout=15):
    """Every node's state, once every node has applied all the leader
    committed and two reads in a row agree."""
    def same():
        a = {n.node_id: node_state(n) for n in nodes}
        commits = {s["commit_index"] for s in a.values()}
        if len(commits) != 1 or any(s["applied_index"] != s["commit_index"] or
                                    s["last_index"] != s["commit_index"] for s in a.values()):
            return None
        b = {n.node_id: node_state(n) for n in nodes}
        return a if a == b else None
    return wait_until(same, timeout, message="the cluster to settle")


INDEXES = ("commit_index", "applied_index", "last_index")


def assert_unchanged(before, after):
    """Term, leader and members as before; the log only grew by the
    cluster's own entries (divergence checks, registrations): settled()
    waits until every node's last entry is committed, so nothing a rogue
    sent sits in any log."""
    strip = lambda st: {n: {k: v for k, v in s.items() if k not in INDEXES} for n, s in st.items()}
    assert strip(after) == strip(before)
    for n, s in after.items():
        assert int(s["commit_index"]) >= int(before[n]["commit_index"])


def assert_serves_writes(cluster, key):
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader and n.alive())
    assert follower.client().set(key, "still-served") is True
    for n in cluster.nodes:
        if n.alive():
            c = n.client()
            c.execute_command("READONLY")
            wait_until(lambda: c.get(key) == "still-served", message=f"{key} on node {n.node_id}")


# --- a proxy that records a real handshake between two nodes ------------------

class Capture:
    def __init__(self):
        self.c2s = bytearray()
        self.s2c = bytearray()


class Recorder:
    """Listens on listen_port and relays every connection to target_port,
    keeping what went each way."""

    def __init__(self, listen_port, target_port):
        self.target_port = target_port
        self.captures = []
        self.sockets = []
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", listen_port))
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                conn.close()
                continue
            cap = Capture()
            with self.lock:
                self.captures.append(cap)
                self.sockets += [conn, up]
            threading.Thread(target=self._pump, args=(conn, up, cap.c2s), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, conn, cap.s2c), daemon=True).start()

    def _pump(self, src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    record.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handshake(self):
        """A connection that carried a whole handshake: (client→server,
        server→client) bytes of it."""
        with self.lock:
            for cap in self.captures:
                if len(cap.c2s) >= HELLO_BYTES + PROOF_BYTES and len(cap.s2c) >= CHALLENGE_BYTES:
                    return bytes(cap.c2s), bytes(cap.s2c)
        return None

    def close(self):
        self.server.close()
        with self.lock:
            for s in self.sockets:
                s.close()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Three nodes sharing SECRET. Nodes 1 and 3 reach node 2's Raft port
    through a recording proxy; the tests reach it directly."""
    base = str(tmp_path_factory.mktemp("peerauth"))
    ports = [(free_port(), free_port()) for _ in range(3)]
    proxy_port = free_port()
    true_spec = ",".join(f"{i + 1}@127.0.0.1:{rp}" for i, (_, rp) in enumerate(ports))
    proxied_spec = true_spec.replace(f"2@127.0.0.1:{ports[1][1]}", f"2@127.0.0.1:{proxy_port}")
    recorder = Recorder(proxy_port, ports[1][1])
    extra = ["--cluster-secret", SECRET, *QUIET]
    cluster = Cluster.__new__(Cluster)
    cluster.nodes = [Node(base, i + 1, p, rp, true_spec if i == 1 else proxied_spec, extra)
                     for i, (p, rp) in enumerate(ports)]
    cluster.start()
    yield cluster, recorder
    for n in cluster.nodes:
        assert n.stop() == 0, n.log_tail()  # the sanitizer build exits non-zero on a leak
    recorder.close()


def refused_lines(node):
    return [l for l in node.log_text().splitlines() if "Refused a Raft connection" in l]


# --- the Raft port -------------------------------------------------------------

def test_libraft_protocol_without_the_secret_is_refused(proxied):
    """What used to work: libraft's own handshake and a heartbeat from a
    'leader' ten terms ahead, sent to a follower and to the leader."""
    cluster, _ = proxied
    before = settled(cluster.nodes)
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    term = int(before[leader.node_id]["term"])
    for target in (follower, leader):
        with socket.create_connection(("127.0.0.1", target.raft_port)) as s:
            s.sendall(libraft_preamble(99, "127.0.0.1:1") + heartbeat(term + 10))
            _, closed = read_until_closed(s)
            assert closed, f"node {target.node_id} kept the rogue connection"
    assert_unchanged(before, settled(cluster.nodes))
    assert refused_lines(follower) and refused_lines(leader)
    assert_serves_writes(cluster, "after-libraft-rogue")


def test_silent_peer_is_dropped(proxied):
    cluster, _ = proxied
    with socket.create_connection(("127.0.0.1", cluster.nodes[0].raft_port)) as s:
        data, closed = read_until_closed(s)
    assert closed and data == b""
    wait_until(lambda: any("no handshake within" in l for l in refused_lines(cluster.nodes[0])),
               message="the silent peer's refusal in the log")


@pytest.mark.parametrize("secret", ["a-wrong-secret-of-some-length", ""])
def test_wrong_secret_is_refused(proxied, secret):
    """A rogue that speaks our handshake, posing as node 1 to node 2, with
    a wrong secret or none (the key of a cluster without one)."""
    cluster, _ = proxied
    before = settled(cluster.nodes)
    target = cluster.nodes[1]
    term = int(before[target.node_id]["term"])
    member1 = cluster.nodes[0].raft_addr
    nonce = os.urandom(32)
    with socket.create_connection(("127.0.0.1", target.raft_port)) as s:
        s.sendall(hello_frame(1, member1, nonce))
        challenge = recv_exact(s, CHALLENGE_BYTES)
        assert challenge[:8] == b"PARLEYC1"
        acceptor_nonce = challenge[8:40]
        assert struct.unpack("<Q", challenge[40:48])[0] == 2
        # The node proved itself with the real secret, which we cannot check...
        assert challenge[48:] == mac(SECRET, "parley raft acceptor v1", nonce, acceptor_nonce,
                                     1, 2, member1)
        # ... and we answer with ours.
        proof = mac(secret, "parley raft connector v1", nonce, acceptor_nonce, 1, 2, member1)
        s.sendall(b"PARLEYP1" + proof + heartbeat(term + 10))
        data, closed = read_until_closed(s)
    assert closed and data == b""
    assert_unchanged(before, settled(cluster.nodes))
    wait_until(lambda: any("wrong cluster secret" in l for l in refused_lines(target)),
               message="the refusal in node 2's log")
    assert_serves_writes(cluster, "after-wrong-secret")


def test_replayed_handshake_is_refused(proxied):
    """A handshake captured between two real nodes, sent again: the node's
    new nonce makes the captured proof worthless."""
    cluster, recorder = proxied
    # Only connections made to node 2's configured address go through the
    # proxy: a leader's, or a candidate's. libraft answers a message at the
    # address its sender gave, so followers reply to node 2 directly when it
    # leads: then it hands leadership over.
    node2 = cluster.nodes[1]
    if node2.is_leader():
        assert node2.client().execute_command("RAFT", "TRANSFER", 1) == "OK"
        wait_until(lambda: cluster.nodes[0].is_leader(), 10, message="node 1 to lead")
    c2s, s2c = wait_until(recorder.handshake, 15, message="a handshake through the proxy")
    assert c2s[:8] == b"PARLEYH1" and s2c[:8] == b"PARLEYC1"
    assert c2s[HELLO_BYTES:HELLO_BYTES + 8] == b"PARLEYP1"
    before = settled(cluster.nodes)
    target = cluster.nodes[1]
    with socket.create_connection(("127.0.0.1", target.raft_port)) as s:
        s.sendall(c2s[:HELLO_BYTES + PROOF_BYTES])
        data, closed = read_until_closed(s)
    assert closed
    assert data[:8] == b"PARLEYC1" and len(data) == CHALLENGE_BYTES
    assert data[8:40] != s2c[8:40], "the node must not reuse its nonce"
    # The whole captured stream, Raft messages and all.
    with socket.create_connection(("127.0.0.1", target.raft_port)) as s:
        s.sendall(c2s)
        _, closed = read_until_closed(s)
    assert closed
    assert_unchanged(before, settled(cluster.nodes))
    wait_until(lambda: any("wrong cluster secret" in l for l in refused_lines(target)),
               message="the refusal in node 2's log")
    assert_serves_writes(cluster, "after-replay")


def test_secret_stays_secret(proxied):
    cluster, _ = proxied
    node = cluster.nodes[0]
    assert node.client().config_get("cluster-secret") == {"cluster-secret": "(hidden)"}
    assert SECRET not in node.log_text()
    with open(f"/proc/{node.proc.pid}/cmdline", "rb") as f:
        assert SECRET.encode() not in f.read()


# --- the client port: PARLEY.FWD and PARLEY.PEER ----------------------------------

def forged_member_body(node_id, client_addr):
    """A forwarded batch body with one __member record: the node's client
    address, which followers, SENTINEL and RAFT INFO trust."""
    args = [b"__member", str(node_id).encode(), client_addr.encode(), b"300"]
    return struct.pack("<BBHI", 0, 2, 0, len(args)) + b"".join(
        struct.pack("<I", len(a)) + a for a in args)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Three loopback nodes with no secret: the configuration most people run."""
    c = Cluster(str(tmp_path_factory.mktemp("plain")), extra=QUIET).start()
    yield c
    for n in c.nodes:
        assert n.stop() == 0, n.log_tail()


def test_parley_fwd_from_a_client_forges_nothing(plain):
    leader = plain.leader()
    victim = next(n for n in plain.nodes if n is not leader)
    client = leader.client()
    with pytest.raises(redis.exceptions.NoPermissionError) as e:  # -NOPERM
        client.execute_command("PARLEY.FWD", 987654321, 1, 1,
                               forged_member_body(victim.node_id, "6.6.6.6:6666"))
    assert str(e.value) == "this command is only for cluster peers"
    # Refused inside MULTI too.
    pipe = client.pipeline(transaction=True)
    pipe.execute_command("PARLEY.FWD", 987654321, 2, 1,
                         forged_member_body(victim.node_id, "6.6.6.6:6666"))
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    # A write after it has reached every node: had the forgery been applied,
    # it would be there by now.
    assert client.set("after-forgery", "1") is True
    settled(plain.nodes)
    for n in plain.nodes:
        assert "6.6.6.6" not in n.client().execute_command("RAFT", "INFO")
        assert "6.6.6.6" not in str(n.client().execute_command("RAFT", "MEMBERS"))


def raw(sock, *words):
    out = b"*%d\r\n" % len(words)
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out += b"$%d\r\n%s\r\n" % (len(w), w)
    sock.sendall(out)


def read_reply(f):
    line = f.readline()
    if line[:1] == b"*":
        return [read_reply(f) for _ in range(int(line[1:]))]
    if line[:1] == b"$":
        n = int(line[1:])
        return f.read(n + 2)[:-2] if n >= 0 else None
    return line.rstrip(b"\r\n")


def test_peer_handshake_on_the_client_port(plain):
    """With no secret, a loopback connection that proves the (empty) key is
    a peer's and may forward; a wrong proof is refused and disconnected."""
    leader = plain.leader()
    leader_id = leader.node_id
    # A wrong proof.
    with socket.create_connection(("127.0.0.1", leader.port)) as s:
        f = s.makefile("rb")
        nonce = os.urandom(32)
        raw(s, "PARLEY.PEER", "HELLO", 7, nonce.hex())
        acceptor_nonce, node_id, proof = read_reply(f)
        assert int(node_id) == leader_id
        assert bytes.fromhex(proof.decode()) == mac(
            "", "parley link acceptor v1", nonce, bytes.fromhex(acceptor_nonce.decode()), 7,
            leader_id)
        raw(s, "PARLEY.PEER", "PROVE", "00" * 32)
        assert read_reply(f) == b"-NOPERM cluster peer authentication failed"
        assert f.readline() == b""  # closed
    # The right one, then a forwarded SET is accepted.
    with socket.create_connection(("127.0.0.1", leader.port)) as s:
        f = s.makefile("rb")
        raw(s, "PARLEY.FWD", 1, 1, 1, b"")
        assert read_reply(f) == b"-NOPERM this command is only for cluster peers"
        nonce = os.urandom(32)
        raw(s, "PARLEY.PEER", "HELLO", 7, nonce.hex())
        acceptor_nonce, _, _ = read_reply(f)
        proof = mac("", "parley link connector v1", nonce, bytes.fromhex(acceptor_nonce.decode()),
                    7, leader_id)
        raw(s, "PARLEY.PEER", "PROVE", proof.hex())
        assert read_reply(f) == b"+OK"
        args = [b"SET", b"forwarded-by-a-peer", b"yes"]
        body = struct.pack("<BBHI", 0, 2, 0, len(args)) + b"".join(
            struct.pack("<I", len(a)) + a for a in args)
        raw(s, "PARLEY.FWD", 123456789, 1, 1, body)
        assert read_reply(f) == [b"+OK\r\n"]
    assert leader.client().get("forwarded-by-a-peer") == "yes"


def test_wrong_secret_on_the_client_port(proxied):
    cluster, _ = proxied
    leader = cluster.leader()
    with socket.create_connection(("127.0.0.1", leader.port)) as s:
        f = s.makefile("rb")
        nonce = os.urandom(32)
        raw(s, "PARLEY.PEER", "HELLO", 9, nonce.hex())
        acceptor_nonce, _, _ = read_reply(f)
        proof = mac("not-the-secret-at-all", "parley link connector v1", nonce,
                    bytes.fromhex(acceptor_nonce.decode()), 9, leader.node_id)
        raw(s, "PARLEY.PEER", "PROVE", proof.hex())
        assert read_reply(f) == b"-NOPERM cluster peer authentication failed"
        assert f.readline() == b""


# --- a correctly configured cluster -------------------------------------------------

def test_cluster_with_a_secret_works(tmp_path):
    cluster = Cluster(str(tmp_path), extra=["--cluster-secret", SECRET]).start()
    try:
        leader = cluster.leader()
        followers = [n for n in cluster.nodes if n is not leader]
        assert followers[0].client().set("via-follower", "1") is True
        assert leader.client().get("via-follower") == "1"
        leader.kill()
        new_leader = cluster.wait_leader(exclude=(leader,))
        survivor = next(n for n in followers if n is not new_leader)
        wait_writable(survivor)
        assert survivor.client().set("after-kill", "2") is True
        assert new_leader.client().get("after-kill") == "2"
        leader.start()
        c = leader.client()
        c.execute_command("READONLY")
        wait_until(lambda: c.get("after-kill") == "2", message="the old leader to catch up")
    finally:
        codes = [n.stop() for n in cluster.nodes]
    assert codes == [0, 0, 0]


# --- start-up rules -----------------------------------------------------------------

def run_server(tmp_path, *args):
    return subprocess.run([SERVER, "--dir", str(tmp_path / "d"), "--port", str(free_port()),
                           *args], capture_output=True, text=True, timeout=30)


def test_remote_peers_need_a_secret(tmp_path):
    r = run_server(tmp_path, "--raft-addr", "10.11.12.13:7000")
    assert r.returncode == 1 and "no cluster-secret is set" in r.stderr
    assert "raft-addr is 10.11.12.13:7000" in r.stderr
    spec = f"1@127.0.0.1:{free_port()},2@10.11.12.14:7000"
    r = run_server(tmp_path, "--raft-addr", spec.split(",")[0][2:], "--cluster", spec)
    assert r.returncode == 1 and "a member in 'cluster' is 10.11.12.14:7000" in r.stderr
    r = run_server(tmp_path, "--join", "10.11.12.15:6379")
    assert r.returncode == 1 and "join is 10.11.12.15:6379" in r.stderr


def test_short_secret_is_refused_without_showing_it(tmp_path):
    r = run_server(tmp_path, "--cluster-secret", "tooshort123")
    assert r.returncode == 1
    assert "at least 16 characters" in r.stdout + r.stderr
    assert "tooshort123" not in r.stdout + r.stderr


def test_secret_allows_remote_members(tmp_path):
    raft = f"127.0.0.1:{free_port()}"
    node = Node(str(tmp_path), 1, raft_port=int(raft.split(":")[1]),
                cluster=f"1@{raft},2@10.11.12.14:7000", extra=["--cluster-secret", SECRET])
    node.start()
    try:
        assert node.client().ping()
    finally:
        assert node.stop() == 0
