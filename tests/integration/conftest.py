"""Fixtures for integration tests: real parley-server processes, real clients.

Every test talks to actual server processes started from build/parley-server
(or $PARLEY_SERVER) on free loopback ports, with data directories under
pytest's tmp_path. Nothing is mocked. Waits poll a condition until a deadline
(wait_until); nothing sleeps and hopes.

Fixtures:
  server    one durable single node, shared by a test module; `r` flushes it
  r         a redis.Redis client (RESP2, decode_responses=True) on `server`
  r3        the same client speaking RESP3 is not available in redis-py 4.3,
            so RESP3 is tested with raw sockets (see raw_command)
  cluster   a three-node cluster, shared by a test module
  redis_ref a redis-server 7.0 to compare replies with (skips if missing)
  make_node / make_cluster  factories for tests that kill and restart nodes

Helpers: wait_until, wait_writable, raw_command, resp_encode, load_keys
(millions of keys quickly, through one raw pipelined connection), and
Repeat (a client's call made again and again on a thread while a test
watches: a write load, a PING loop).
"""
import gc
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.environ.get("PARLEY_SERVER", os.path.join(ROOT, "build", "parley-server"))


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # a server that is starting or dying
            last_error = e
        time.sleep(interval)
    # One last look after the deadline: the poller itself may have been held
    # (a finalizer the garbage collector ran, a loaded machine), and a
    # condition that holds now must not be reported as timed out.
    try:
        value = predicate()
        if value:
            return value
    except Exception as e:
        last_error = e
    raise AssertionError(f"timed out after {timeout}s waiting for {message}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


_used_ports = set()


def _listen_range():
    """Ports below the kernel's ephemeral range: a port the kernel picked for
    bind(0) can be handed out again as the source port of any client's
    outgoing connection before the server binds it (a CI run lost a node that
    way: connection refused for 30 s)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return 10000, max(10001, min(low, 65536) - 1)


def free_port():
    """A free TCP port on 127.0.0.1, not handed out before in this run."""
    lo, hi = _listen_range()
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    while True:
        port = rng.randint(lo, hi)
        if port in _used_ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _used_ports.add(port)
        return port


def parse_info(text):
    info = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            info[k] = v
    return info


class Node:
    """One parley-server process."""

    def __init__(self, base_dir, node_id=1, port=None, raft_port=None, cluster=None, extra=()):
        self.node_id = node_id
        self.port = port or free_port()
        self.raft_port = raft_port or free_port()
        self.dir = os.path.join(base_dir, f"n{node_id}")
        self.log_path = os.path.join(base_dir, f"n{node_id}.log")
        self.cluster = cluster
        self.extra = list(extra)
        self.proc = None
        self.log = None
        # The binary and environment of the next start: a test may run a
        # node on another build (test_upgrade.py) or with other variables.
        self.server = SERVER
        self.env = None

    @property
    def raft_addr(self):
        return f"127.0.0.1:{self.raft_port}"

    def args(self):
        a = [self.server, "--port", str(self.port), "--dir", self.dir, "--node-id", str(self.node_id),
             "--raft-addr", self.raft_addr]
        if self.cluster:
            a += ["--cluster", self.cluster]
        # Writing zeros over each log segment when libraft prepares it (the
        # default, repl/segalloc.c) delays a fresh node's first write by
        # about 55 ms: over the suite's thousands of starts, minutes. Only
        # tests that ask for it (test_log_prewrite.py) get it; chaos and the
        # benchmarks run with the default. (An older build, test_upgrade.py's,
        # does not know the directive.)
        if self.server == SERVER and not any(x.startswith("--raft-log-prewrite") for x in self.extra):
            a += ["--raft-log-prewrite", "no"]
        return a + self.extra

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        if wait:
            self.wait_listening()
        return self

    def wait_listening(self, timeout=90, **client_kw):
        """Until the node answers PING (client_kw: how to log in); if the
        process exited, the timeout's message holds the end of its log.
        90 s: under the sanitizers a node replaying 12,000 entries of its
        log took 21 s to listen on the 2-core CI machine."""
        client_kw.setdefault("socket_timeout", 1)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.node_id} exited with {self.proc.returncode}:\n"
                                     + self.log_tail())
            return self.client(**client_kw).ping()
        wait_until(up, timeout, message=f"node {self.node_id} to accept connections")

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 15)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def raft_info(self):
        return parse_info(self.client(socket_timeout=2).execute_command("RAFT", "INFO"))

    def is_leader(self):
        try:
            return self.raft_info().get("role") == "leader"
        except Exception:
            return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no chance to flush or say goodbye."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self, timeout=15):
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if not self.alive():
            self._close_log()
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"node {self.node_id} did not exit on SIGTERM:\n" + self.log_tail())
        finally:
            self._close_log()
        return code

    def _close_log(self):
        if self.log:
            self.log.close()
            self.log = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])


def memory_measured(node):
    """Whether the process's memory figures mean anything: not under
    AddressSanitizer (PARLEY_SERVER=build/san/...), whose quarantine keeps
    freed memory resident and whose allocator bypasses used_memory's count."""
    with open(f"/proc/{node.proc.pid}/maps") as f:
        return "libasan" not in f.read()


def wait_writable(node, timeout=10):
    """Until a write through this node is acknowledged (a leader exists)."""
    c = node.client(socket_timeout=2)
    wait_until(lambda: c.set("__ready", "1"), timeout, message=f"a write via node {node.node_id}")


class Cluster:
    def __init__(self, base_dir, size=3, extra=()):
        os.makedirs(base_dir, exist_ok=True)
        ports = [(free_port(), free_port()) for _ in range(size)]
        spec = ",".join(f"{i + 1}@127.0.0.1:{rp}" for i, (_, rp) in enumerate(ports))
        self.nodes = [Node(base_dir, i + 1, p, rp, spec, extra) for i, (p, rp) in enumerate(ports)]

    def start(self):
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            n.wait_listening()
        self.wait_leader()
        wait_writable(self.nodes[0], timeout=15)
        return self

    def leader(self, timeout=10):
        return self.wait_leader(timeout)

    def wait_leader(self, timeout=10, exclude=()):
        def find():
            leaders = [n for n in self.nodes if n.alive() and n not in exclude and n.is_leader()]
            return leaders[0] if len(leaders) == 1 else None
        return wait_until(find, timeout, message="a single Raft leader")

    def followers(self):
        leader = self.leader()
        return [n for n in self.nodes if n is not leader and n.alive()]

    def wait_converged(self, timeout=15):
        """Until every live node has applied the same log and holds the same
        data. RAFT DIGEST answers from the node's own state (a DEBUG DIGEST
        sent to a follower is a linearizable read, answered by the leader).
        It walks the whole keyspace on the node's loop (0.8 s for 2 million
        keys under ASan, longer than the tests' election timeout), so it is
        asked only once the applied indexes (RAFT INFO, cheap) agree."""
        seen, conns = {}, {}

        def ask(n, *args):
            # One connection per node for the whole wait: each poll is then
            # a few round trips, quick next to the leader's lease renewals
            # (an empty entry every ~120 ms while reads come), which a
            # connection per call (a TLS handshake each) could not outpace.
            if n.node_id not in conns:
                conns[n.node_id] = n.client(socket_timeout=10)
            return conns[n.node_id].execute_command(*args)

        def same():
            nodes = [n for n in self.nodes if n.alive()]
            seen.clear()
            seen.update({n.node_id: parse_info(ask(n, "RAFT", "INFO"))["applied_index"]
                         for n in nodes})
            if len(set(seen.values())) != 1:
                return False
            seen.update({n.node_id: tuple(ask(n, "RAFT", "DIGEST")) for n in nodes})
            return len(set(seen.values())) == 1
        try:
            wait_until(same, timeout, message="replicas to converge")
        except AssertionError as e:
            raise AssertionError(f"{e}; last seen (node: applied index or digest): {seen}")

    def stop(self):
        """Stops every node; fails if one does not exit cleanly (under the
        sanitizer build a memory error or leak makes the exit code non-zero)."""
        codes = {}
        for n in self.nodes:
            try:
                codes[n.node_id] = n.stop()
            except AssertionError:
                n.kill()
                codes[n.node_id] = "hung"
        bad = {k: v for k, v in codes.items() if v not in (0, None)}
        assert not bad, f"nodes did not exit cleanly: {bad}\n" + "\n".join(
            self.nodes[k - 1].log_tail() for k in bad)


@pytest.fixture(scope="session")
def examples():
    """The example programs (examples/, hiredis), built once a session
    (cheap when they are up to date): returns the path of one by name."""
    subprocess.run(["make", "-s", "-C", ROOT, "examples"], check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    return lambda name: os.path.join(ROOT, "build", "examples", name)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("single")
    node = Node(str(base)).start()
    wait_writable(node)
    yield node
    code = node.stop()
    assert code == 0, f"server exited with {code}:\n{node.log_tail()}"


@pytest.fixture
def r(server):
    client = server.client()
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="module")
def redis_ref(tmp_path_factory):
    """A redis-server (7.0) to compare replies with; its `port`. Skips the
    test when redis-server is not installed."""
    path = shutil.which("redis-server")
    if path is None:
        pytest.skip("redis-server is not installed")
    d = str(tmp_path_factory.mktemp("redis-ref"))
    port = free_port()
    proc = subprocess.Popen([path, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", d, "--bind", "127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    wait_until(lambda: client.ping(), 10, message="redis-server to start")
    yield type("RedisRef", (), {"port": port})
    proc.kill()
    proc.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("cluster"))).start()
    yield c
    c.stop()


def collect_while_up():
    """Runs the garbage collector before a test's servers go: a client
    object left in a reference cycle (Celery's AsyncResult unsubscribes in
    __del__, retrying for 20 s) must be finalized while its server answers,
    not later, inside another test's wait, against a port long closed."""
    gc.collect()


@pytest.fixture
def make_node(tmp_path):
    nodes = []

    def make(**kw):
        n = Node(str(tmp_path), **kw)
        nodes.append(n)
        return n
    yield make
    collect_while_up()
    for n in nodes:
        n.kill()


@pytest.fixture
def make_cluster(tmp_path):
    clusters = []

    def make(size=3, extra=()):
        c = Cluster(os.path.join(str(tmp_path), f"c{len(clusters)}"), size, extra)
        clusters.append(c)
        return c
    yield make
    collect_while_up()
    for c in clusters:
        for n in c.nodes:
            n.kill()


def raw_command(port, payload, read_until=None, timeout=5.0):
    """Sends raw bytes and returns everything the server answers until it
    closes the connection, `read_until` bytes are seen, or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if read_until is not None and read_until in data:
                break
        return data
    finally:
        s.close()


def resp_encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def load_keys(port, n, per_cmd=1000, window=64):
    """MSET n keys k:0 .. k:n-1 through one raw pipelined connection,
    `window` commands in flight at a time."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(120)
    try:
        cmds = []
        for start in range(0, n, per_cmd):
            parts = [b"*%d\r\n$4\r\nMSET\r\n" % (2 * min(per_cmd, n - start) + 1)]
            for i in range(start, min(start + per_cmd, n)):
                k = b"k:%d" % i
                parts.append(b"$%d\r\n%s\r\n$8\r\nvalue%03d\r\n" % (len(k), k, i % 1000))
            cmds.append(b"".join(parts))
        buf = b""
        answered = 0
        sent = 0
        while answered < len(cmds):
            while sent < len(cmds) and sent - answered < window:
                s.sendall(cmds[sent])
                sent += 1
            data = s.recv(65536)
            assert data, "the server closed the connection"
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                assert line == b"+OK", line
                answered += 1
    finally:
        s.close()


class Repeat:
    """Calls step() on a thread, again and again (pause_s apart), from
    entering the with block until leaving it; `calls` counts the calls that
    returned. Leaving fails if the thread does not stop or a call raised
    (the first error ends the calls)."""

    def __init__(self, step, what="a call", pause_s=0.0):
        self.step = step
        self.what = what
        self.pause_s = pause_s
        self.calls = 0
        self.error = None
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            while not self.stop_flag.is_set():
                self.step()
                self.calls += 1
                if self.pause_s:
                    self.stop_flag.wait(self.pause_s)
        except Exception as e:  # reported by __exit__
            self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(120)
        assert not self.thread.is_alive(), f"{self.what} did not return"
        assert self.error is None, f"{self.what} failed: {self.error!r}"
