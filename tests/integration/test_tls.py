"""TLS on the client port, with Redis 7.0's directives: redis-cli --tls,
redis-py ssl=True and rediss:// URLs, client certificates (tls-auth-clients),
certificates reloaded by CONFIG SET, big pipelined values and pub/sub over
TLS, a three-node cluster serving TLS clients, and Celery with a rediss://
URL. The certificates are made by each run with the openssl CLI, in a
temporary directory."""
import os
import shutil
import socket
import ssl
import subprocess

import pytest
import redis

from conftest import Cluster, Node, free_port, wait_until, wait_writable
from test_celery import start_worker, stop_worker

HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
            "-subj", f"/CN=Parley test {name}", cwd=d)


def make_cert(d, name, ca, server=True, passphrase=None):
    """A certificate for `name` signed by `ca` (for 127.0.0.1 and localhost
    when it is a server's); the key is encrypted when passphrase is given."""
    key_args = ["-passout", f"pass:{passphrase}"] if passphrase else ["-nodes"]
    req = ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", *key_args,
           "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"]
    if server:
        req += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    openssl(*req, cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-copy_extensions", "copy",
            cwd=d)


class Certs:
    def __init__(self, d):
        self.dir = d
        make_ca(d, "ca")
        make_ca(d, "ca2")                            # another authority
        make_cert(d, "server", "ca")
        make_cert(d, "server2", "ca2")               # the reload test's new certificate
        make_cert(d, "client", "ca", server=False)
        make_cert(d, "rogue", "ca2", server=False)   # a client certificate ca did not sign
        make_cert(d, "locked", "ca", passphrase="s3cret")

    def path(self, name):
        return os.path.join(self.dir, name)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(str(tmp_path_factory.mktemp("certs")))


class TlsNode(Node):
    """A parley-server serving clients over TLS only (port 0, tls-port)."""

    def __init__(self, base_dir, certs, tls_args=(), plain=False, **kw):
        super().__init__(base_dir, **kw)
        self.certs = certs
        self.tls_port = free_port()
        self.plain = plain
        self.tls_args = ["--tls-port", str(self.tls_port),
                         "--tls-cert-file", certs.path("server.crt"),
                         "--tls-key-file", certs.path("server.key"),
                         "--tls-ca-cert-file", certs.path("ca.crt"),
                         "--tls-auth-clients", "no", *tls_args]

    def args(self):
        return super().args() + ([] if self.plain else ["--port", "0"]) + self.tls_args

    def client(self, ca="ca.crt", cert=None, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 15)
        if cert:
            kw["ssl_certfile"] = self.certs.path(f"{cert}.crt")
            kw["ssl_keyfile"] = self.certs.path(f"{cert}.key")
        return redis.Redis(host="127.0.0.1", port=self.tls_port, ssl=True,
                           ssl_ca_certs=self.certs.path(ca), ssl_cert_reqs="required", **kw)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, certs):
    node = TlsNode(str(tmp_path_factory.mktemp("tls")), certs).start()
    wait_writable(node)
    yield node
    assert node.stop() == 0, node.log_tail()


@pytest.fixture
def make_tls_node(tmp_path, certs):
    nodes = []

    def make(*tls_args, **kw):
        d = tmp_path / f"t{len(nodes)}"
        d.mkdir()
        n = TlsNode(str(d), certs, tls_args, **kw)
        nodes.append(n)
        return n
    yield make
    for n in nodes:
        if n.alive():
            assert n.stop() == 0, n.log_tail()


def redis_cli(port, certs, *args, tls=True, cert=None, ca="ca.crt"):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if tls:
        cmd += ["--tls", "--cacert", certs.path(ca)]
    if cert:
        cmd += ["--cert", certs.path(f"{cert}.crt"), "--key", certs.path(f"{cert}.key")]
    p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)
    return (p.stdout + p.stderr).strip()


def test_redis_cli_over_tls(tls_server, certs):
    assert redis_cli(tls_server.tls_port, certs, "SET", "cli:key", "over tls") == "OK"
    assert redis_cli(tls_server.tls_port, certs, "GET", "cli:key") == "over tls"
    # redis-cli checks the server's certificate: another CA's fails.
    out = redis_cli(tls_server.tls_port, certs, "PING", ca="ca2.crt")
    assert "PONG" not in out and "SSL" in out


def test_redis_py_ssl_and_rediss_url(tls_server, certs):
    r = tls_server.client()
    assert r.set("py:key", "v1")
    assert r.get("py:key") == "v1"
    url = (f"rediss://127.0.0.1:{tls_server.tls_port}/0"
           f"?ssl_cert_reqs=required&ssl_ca_certs={certs.path('ca.crt')}")
    u = redis.Redis.from_url(url, decode_responses=True)
    assert u.get("py:key") == "v1"
    assert u.incr("py:counter") == 1


def test_only_tls_is_served_with_port_0(tls_server):
    """port 0: nothing listens on the plaintext port."""
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tls_server.port), timeout=2).close()


def test_plaintext_client_on_the_tls_port_is_dropped(tls_server):
    """A client speaking RESP in clear to the TLS port gets no answer and is
    disconnected; the server goes on serving TLS clients."""
    s = socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=10)
    try:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    assert b"PONG" not in data
    assert tls_server.client().ping()


def test_handshake_deadline(make_tls_node):
    """A client that connects and never says anything is dropped once
    tls-handshake-timeout-ms has passed."""
    node = make_tls_node("--tls-handshake-timeout-ms", "300").start()
    s = socket.create_connection(("127.0.0.1", node.tls_port), timeout=20)
    try:
        assert s.recv(10) == b""  # the server closed it (recv would time out otherwise)
    finally:
        s.close()
    assert node.client().ping()


def test_client_certificates(make_tls_node, certs):
    node = make_tls_node("--tls-auth-clients", "yes").start(wait=False)
    wait_until(lambda: node.client(cert="client", socket_timeout=2).ping(), 30,
               message="the node to accept TLS clients")
    # A certificate the CA signed: accepted.
    c = node.client(cert="client")
    assert c.set("cert:k", "v") and c.get("cert:k") == "v"
    assert redis_cli(node.tls_port, certs, "GET", "cert:k", cert="client") == "v"
    # No certificate: refused.
    with pytest.raises(redis.ConnectionError):
        node.client(socket_timeout=5).ping()
    assert "v" != redis_cli(node.tls_port, certs, "GET", "cert:k")
    # A certificate another CA signed: refused.
    with pytest.raises(redis.ConnectionError):
        node.client(cert="rogue", socket_timeout=5).ping()
    # optional: no certificate is fine, a bad one still is not.
    assert c.config_set("tls-auth-clients", "optional")
    assert c.config_get("tls-auth-clients") == {"tls-auth-clients": "optional"}
    assert node.client().get("cert:k") == "v"
    with pytest.raises(redis.ConnectionError):
        node.client(cert="rogue", socket_timeout=5).ping()


def test_reload_certificates_with_config_set(make_tls_node, certs):
    node = make_tls_node("--tls-ca-cert-dir", "").start()
    old = node.client()
    assert old.set("reload:k", "1")
    # A client that trusts only ca2 does not trust the current certificate.
    with pytest.raises(redis.ConnectionError):
        node.client(ca="ca2.crt", socket_timeout=5).ping()

    # A bad file is refused with Redis's error and the old context is kept.
    with pytest.raises(redis.ResponseError) as e:
        old.config_set("tls-cert-file", certs.path("missing.crt"))
    assert str(e.value) == ("CONFIG SET failed (possibly related to argument 'tls-cert-file') - "
                            "Unable to update TLS configuration. Check server logs.")
    assert old.config_get("tls-cert-file")["tls-cert-file"] == certs.path("server.crt")
    # A key that does not belong to the certificate: refused too.
    with pytest.raises(redis.ResponseError):
        old.execute_command("CONFIG", "SET", "tls-cert-file", certs.path("server2.crt"),
                            "tls-key-file", certs.path("server.key"))
    assert node.client().get("reload:k") == "1"

    # The new certificate and key, in one CONFIG SET.
    assert old.execute_command("CONFIG", "SET", "tls-cert-file", certs.path("server2.crt"),
                               "tls-key-file", certs.path("server2.key")) == "OK"
    assert node.client(ca="ca2.crt").get("reload:k") == "1"
    assert redis_cli(node.tls_port, certs, "GET", "reload:k", ca="ca2.crt") == "1"
    with pytest.raises(redis.ConnectionError):
        node.client(ca="ca.crt", socket_timeout=5).ping()
    # The connection opened before the reload goes on.
    assert old.get("reload:k") == "1"


def test_encrypted_key_with_passphrase(make_tls_node, certs):
    node = make_tls_node("--tls-cert-file", certs.path("locked.crt"),
                         "--tls-key-file", certs.path("locked.key"),
                         "--tls-key-file-pass", "s3cret").start()
    assert node.client().ping()


def test_protocols(make_tls_node, certs):
    node = make_tls_node("--tls-protocols", "TLSv1.3").start()
    assert node.client().config_get("tls-protocols") == {"tls-protocols": "TLSv1.3"}

    def handshake(max_version):
        ctx = ssl.create_default_context(cafile=certs.path("ca.crt"))
        ctx.maximum_version = max_version
        with socket.create_connection(("127.0.0.1", node.tls_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"PING\r\n")
                return s.recv(100), s.version()

    assert handshake(ssl.TLSVersion.TLSv1_3) == (b"+PONG\r\n", "TLSv1.3")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(ssl.TLSVersion.TLSv1_2)
    # Now allow TLS 1.2 as well, at run time.
    assert node.client().config_set("tls-protocols", "TLSv1.2 TLSv1.3")
    assert handshake(ssl.TLSVersion.TLSv1_2) == (b"+PONG\r\n", "TLSv1.2")


def test_configuration_errors(make_tls_node, certs, tmp_path):
    node = make_tls_node().start()
    c = node.client()
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("tls-auth-clients", "maybe")
    assert str(e.value) == ("CONFIG SET failed (possibly related to argument 'tls-auth-clients')"
                            " - argument(s) must be one of the following: no, yes, optional")
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("tls-protocols", "SSLv3")
    assert "Unable to update TLS configuration" in str(e.value)
    assert c.config_get("tls-protocols") == {"tls-protocols": ""}
    with pytest.raises(redis.ResponseError) as e:
        c.config_set("tls-port", "7777")
    assert "can't set immutable config" in str(e.value)
    got = c.config_get("tls-*")
    assert got["tls-port"] == str(node.tls_port)
    assert got["tls-auth-clients"] == "no"
    assert got["tls-cert-file"] == certs.path("server.crt")
    assert node.client().ping()

    # At start-up: tls-auth-clients yes (the default) needs a CA.
    for d in ("bad", "bad2", "bad3"):
        (tmp_path / d).mkdir()
    bad = Node(str(tmp_path / "bad"), extra=[
        "--tls-port", str(free_port()), "--tls-cert-file", certs.path("server.crt"),
        "--tls-key-file", certs.path("server.key")])
    bad.start(wait=False)
    assert bad.proc.wait(30) == 1
    assert "Either tls-ca-cert-file or tls-ca-cert-dir must be specified" in bad.log_text()
    # A key file that is not there.
    bad = Node(str(tmp_path / "bad2"), extra=[
        "--tls-port", str(free_port()), "--tls-cert-file", certs.path("server.crt"),
        "--tls-key-file", certs.path("nope.key"), "--tls-auth-clients", "no"])
    bad.start(wait=False)
    assert bad.proc.wait(30) == 1
    assert "Failed to load private key" in bad.log_text()
    # Neither port.
    bad = Node(str(tmp_path / "bad3"), extra=["--port", "0"])
    bad.start(wait=False)
    assert bad.proc.wait(30) == 1
    assert "Configured to not listen anywhere" in bad.log_text()


def test_big_values_pipelined(tls_server):
    """A 10 MB value set and read back in one pipeline with other commands:
    records are split and joined across many reads and writes."""
    r = tls_server.client(decode_responses=False, socket_timeout=60)
    big = os.urandom(10 * 1024 * 1024)
    p = r.pipeline(transaction=False)
    p.set("big", big)
    for i in range(100):
        p.rpush("pipelined", i)
    p.get("big")
    p.strlen("big")
    p.lrange("pipelined", 0, -1)
    got = p.execute()
    assert got[0] is True
    assert got[101] == big
    assert got[102] == len(big)
    assert got[103] == [str(i).encode() for i in range(100)]


def test_pubsub_over_tls(tls_server):
    sub = tls_server.client().pubsub()
    sub.subscribe("news")
    wait_until(lambda: sub.get_message(timeout=0.1), 10, message="the subscribe confirmation")
    pub = tls_server.client()
    wait_until(lambda: pub.publish("news", "hello over tls") == 1, 10,
               message="one subscriber counted")
    msg = wait_until(lambda: sub.get_message(timeout=0.1), 10, message="the message")
    assert msg["channel"] == "news" and msg["data"] == "hello over tls"
    sub.close()


def test_three_node_cluster_serves_tls_clients(tmp_path, certs):
    """Every node serves clients over TLS; a write through one node is read
    through the others. (Followers still forward to the leader over the
    plaintext client port: TLS between nodes is not done yet.)"""
    c = Cluster(str(tmp_path / "cluster"))
    c.nodes = [TlsNode(n.dir.rsplit("/", 1)[0], certs, plain=True, node_id=n.node_id,
                       port=n.port, raft_port=n.raft_port, cluster=n.cluster) for n in c.nodes]
    try:
        c.start()
        leader = c.leader()
        follower = next(n for n in c.nodes if n is not leader)
        assert follower.client().set("cluster:k", "via a follower")
        for n in c.nodes:
            assert n.client().get("cluster:k") == "via a follower"
        assert redis_cli(leader.tls_port, certs, "INCR", "cluster:n") == "1"
        c.wait_converged()
    finally:
        c.stop()


def celery_answers(url, tmp_path, code):
    """What a Celery client running `code` prints (stripped), with a worker
    on url for broker and result backend; the worker's log on failure."""
    env = dict(os.environ, PARLEY_URL=url, PYTHONPATH=HERE)
    log_path = str(tmp_path / "worker.log")
    worker, log = start_worker(url, log_path)
    try:
        out = subprocess.run(["/usr/bin/python3", "-c", code], cwd=HERE, env=env,
                             capture_output=True, text=True, timeout=120)
        with open(log_path, "rb") as f:
            worker_log = f.read().decode(errors="replace")
        return out.stdout.strip(), out.stderr + worker_log
    finally:
        stop_worker(worker, log)


def test_celery_with_rediss_url(tls_server, certs, tmp_path):
    """A Celery worker and its client, broker and result backend both on a
    rediss:// URL."""
    url = (f"rediss://127.0.0.1:{tls_server.tls_port}/0"
           f"?ssl_cert_reqs=required&ssl_ca_certs={certs.path('ca.crt')}")
    printed, logs = celery_answers(url, tmp_path, (
        "import celery_app as m\n"
        "print(m.add.delay(2, 3).get(timeout=60), m.multiply.delay(4, 5).get(timeout=60))\n"))
    assert printed == "5 20", logs


def test_celery_and_rq_with_a_password_over_tls(make_tls_node, certs, tmp_path):
    """What a team puts in its settings: rediss://:password@host for Celery
    (the default user's password) and rediss://user:password@host for an RQ
    worker (an ACL user), both verifying the server's certificate."""
    pytest.importorskip("rq")
    from rq import Queue
    import rq_jobs
    from test_rq import run_worker

    node = make_tls_node(extra=["--requirepass", "celerypw"])
    node.start(wait=False)
    admin = node.client(password="celerypw")
    wait_until(lambda: admin.set("__ready", "1"), 30, message="the TLS node with a password")
    # Without the password, or with a wrong one, nothing is served.
    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        node.client().get("__ready")
    with pytest.raises(redis.ResponseError, match="^WRONGPASS"):
        node.client(password="wrong").get("__ready")
    admin.execute_command("ACL", "SETUSER", "worker", "on", ">rqpw", "~*", "&*", "+@all",
                          "-@dangerous", "+info", "+client")
    tls_query = f"ssl_cert_reqs=required&ssl_ca_certs={certs.path('ca.crt')}"
    # Celery, broker and result backend.
    url = f"rediss://:celerypw@127.0.0.1:{node.tls_port}/0?{tls_query}"
    printed, logs = celery_answers(url, tmp_path, (
        "import celery_app as m\n"
        "print(m.add.delay(20, 3).get(timeout=60))\n"))
    assert printed == "23", logs
    # RQ, as the ACL user.
    conn = redis.Redis(host="127.0.0.1", port=node.tls_port, username="worker", password="rqpw",
                       ssl=True, ssl_ca_certs=certs.path("ca.crt"), ssl_cert_reqs="required")
    q = Queue("default", connection=conn)
    jobs = [q.enqueue(rq_jobs.add, i, 2) for i in range(5)]
    run_worker(node.tls_port, url=f"rediss://worker:rqpw@127.0.0.1:{node.tls_port}/0?{tls_query}")
    for i, job in enumerate(jobs):
        job.refresh()
        assert job.return_value() == i + 2


def test_hiredict_client(tls_server, certs, tmp_path):
    """A C client of the hiredis family: libhiredict's
    redictInitiateSSLWithContext (hiredis's redisInitiateSSLWithContext;
    bookworm's libhiredis 0.14 has no SSL)."""
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "hiredict_ssl"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        pytest.skip("libhiredict-dev (bookworm-backports) is not installed")
    binary = str(tmp_path / "hiredict_tls")
    subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror", os.path.join(HERE, "hiredict_tls.c"),
                    "-o", binary, *flags.stdout.split()], check=True)
    out = subprocess.run([binary, str(tls_server.tls_port), certs.path("ca.crt")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["over tls", "100"]


def tls_socket(node, certs):
    ctx = ssl.create_default_context(cafile=certs.path("ca.crt"))
    raw = socket.create_connection(("127.0.0.1", node.tls_port), timeout=20)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_until_closed(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk


def test_limits_count_plaintext_over_tls(make_tls_node, certs):
    """client-query-buffer-limit and client-output-buffer-limit hold for a
    TLS client as for any other."""
    node = make_tls_node().start()
    r = node.client()
    assert r.config_set("client-query-buffer-limit", "1mb")
    assert r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    # A query that grows past the limit: closed without a reply.
    s = tls_socket(node, certs)
    try:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n")
        s.sendall(b"x" * 2000000)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    assert read_until_closed(s) == b""
    s.close()
    assert r.exists("q") == 0
    assert "reached max query buffer length" in node.log_text()
    # 5000 replies of 100 KB against a 1 MB output limit, never read.
    big = "b" * 100000
    r.set("big", big)
    s = tls_socket(node, certs)
    s.sendall(b"*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n")
    reply = s.recv(100)
    bad_id = int(reply[1:].split(b"\r\n")[0])
    try:
        s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 5000)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass  # closed before it had sent everything

    def ids():
        return {int(c["id"]) for c in r.client_list()}
    wait_until(lambda: bad_id not in ids(), 30, message="the client that does not read to be closed")
    s.close()
    assert "output buffer limits" in node.log_text()
    assert r.get("big") == big
