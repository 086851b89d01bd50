"""The fault suite's parley-server processes: one per namespace of a Network.

A Node is one slot of the cluster (a namespace, an address, a data
directory); the server process in it can be killed, restarted, paused and
resumed. Every process is started from the main thread with
PR_SET_PDEATHSIG, so a suite that dies (even by SIGKILL) takes its servers
with it; the namespaces of such a run are removed by the next run
(net.remove_stale).
"""
import ctypes
import os
import signal
import subprocess
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.environ.get("PARLEY_SERVER", os.path.join(ROOT, "build", "parley-server"))
# Every node is given it: the nodes talk over non-loopback addresses.
CLUSTER_SECRET = "chaos-suite-cluster-secret"
CLIENT_PORT, RAFT_PORT = 6379, 7000

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def parse_info(text):
    return dict(line.split(":", 1) for line in text.replace("\r\n", "\n").split("\n")
                if ":" in line and not line.startswith("#"))


def member_lines(info):
    """The members in a parsed RAFT INFO, one "id@raft-addr:role:client-addr"
    each."""
    return [v for k, v in info.items() if k.startswith("member") and k != "members"]


class Node:
    def __init__(self, slot, net, base_dir, extra):
        self.slot = slot          # index in the network (its address's last byte)
        self.node_id = slot       # Raft id; a wiped node rejoins under a new one
        self.net = net
        self.ip = net.ip[slot]
        self.dir = os.path.join(base_dir, f"n{slot}")
        self.log_path = os.path.join(base_dir, f"n{slot}.log")
        self.extra = list(extra)
        self.join = None          # client address of a member to join, else --cluster
        self.cluster_spec = None
        self.proc = None
        self.paused = False
        self.killed = False       # stopped on purpose (fault or shutdown)

    def args(self):
        a = [SERVER, "--bind", self.ip, "--port", str(CLIENT_PORT), "--dir", self.dir,
             "--node-id", str(self.node_id), "--raft-addr", f"{self.ip}:{RAFT_PORT}",
             "--announce-addr", f"{self.ip}:{CLIENT_PORT}",
             # clients and peers come from other namespaces: not loopback, so
             # no protected mode, and the nodes must share a cluster secret
             "--protected-mode", "no", "--cluster-secret", CLUSTER_SECRET]
        a += ["--join", self.join] if self.join else ["--cluster", self.cluster_spec]
        return ["ip", "netns", "exec", self.net.ns(self.slot)] + a + self.extra

    def start(self):
        assert not self.alive()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        self.paused = False
        self.killed = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exited_unexpectedly(self):
        """The exit code if the server died without being told to, else None."""
        if self.proc is None or self.killed:
            return None
        return self.proc.poll()

    def kill(self):
        self.killed = True
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.paused = False

    def pause(self):
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def client(self, timeout=2.0):
        return redis.Redis(host=self.ip, port=CLIENT_PORT, socket_timeout=timeout,
                           socket_connect_timeout=timeout, decode_responses=True)

    def command(self, *args, timeout=2.0):
        c = self.client(timeout)
        try:
            return c.execute_command(*args)
        finally:
            c.close()

    def raft_info(self):
        return parse_info(self.command("RAFT", "INFO"))

    def log_tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class Cluster:
    def __init__(self, net, base_dir, extra):
        self.net = net
        self.nodes = [Node(i, net, base_dir, extra) for i in net.node_ids]
        spec = ",".join(f"{n.node_id}@{n.ip}:{RAFT_PORT}" for n in self.nodes)
        for n in self.nodes:
            n.cluster_spec = spec

    def node(self, slot):
        return self.nodes[slot - 1]

    def start(self, timeout=30):
        for n in self.nodes:
            n.start()
        self.wait_writable(timeout)

    def live(self):
        return [n for n in self.nodes if n.alive() and not n.paused]

    def leader(self):
        """The node that says it leads with the highest term, provided a
        majority of the members name it as leader in that term; else None.
        (A leader cut off from the others believes it leads until it hears
        of a higher term.)"""
        infos = {}
        for n in self.live():
            try:
                infos[n] = n.raft_info()
            except Exception:
                continue
        leaders = [n for n, i in infos.items() if i.get("role") == "leader"]
        if not leaders:
            return None
        best = max(leaders, key=lambda n: int(infos[n].get("term", 0)))
        term = infos[best].get("term")
        agree = sum(1 for i in infos.values()
                    if i.get("term") == term and i.get("leader_id") == str(best.node_id))
        return best if agree > len(self.nodes) // 2 else None

    def wait_leader(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.leader()
            if n is not None:
                return n
            time.sleep(0.05)
        return None

    def wait_writable(self, timeout=30, via=None):
        """Until a write through some live node is acknowledged. Returns the
        seconds it took, or raises."""
        start = time.monotonic()
        deadline = start + timeout
        last = None
        while time.monotonic() < deadline:
            for n in ([via] if via else self.live()):
                try:
                    n.command("SET", "chaos:probe", str(time.monotonic_ns()), timeout=1.0)
                    return time.monotonic() - start
                except Exception as e:
                    last = e
            time.sleep(0.05)
        raise RuntimeError(f"no write was acknowledged within {timeout}s (last error: {last!r})")

    def wait_converged(self, timeout=30):
        """Until every live node reports the same applied index and digest."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                states = {tuple(n.command("RAFT", "DIGEST")) for n in self.live()}
                if len(states) == 1:
                    return True
            except Exception:
                pass
            time.sleep(0.1)
        return False

    def shutdown(self, timeout=20):
        """SIGTERM to every node; returns {node id: exit code} of those that
        did not exit with 0 (None: still running after the timeout). Under
        the sanitizer build a memory error or a leak makes the code non-zero."""
        bad = {}
        for n in self.nodes:
            n.resume()
            if n.alive():
                n.killed = True
                n.proc.send_signal(signal.SIGTERM)
        for n in self.nodes:
            if n.proc is None:
                continue
            try:
                code = n.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                code = None
                n.kill()
            if code != 0:
                bad[n.node_id] = code
        return bad

    def stop(self):
        for n in self.nodes:
            n.resume()
            n.kill()
