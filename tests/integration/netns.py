"""Network namespaces for tests that must cut links (root only).

Each node runs in its own namespace with two interfaces: one on a "raft"
bridge (the cluster network its Raft transport uses) and one on a "client"
bridge (its client port, also used to forward to the leader). The test
process reaches every node through the client bridge. Cutting a node's raft
link isolates it from its peers while clients can still talk to it: the
situation in which a deposed leader could serve stale reads.
"""
import os
import subprocess

from conftest import Node, SERVER, parse_info, wait_until

# Every node of a namespaced cluster is given it (peers are not on loopback).
CLUSTER_SECRET = "netns-test-cluster-secret"


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def available():
    if os.geteuid() != 0:
        return False
    name = f"pnprobe{os.getpid() % 100000}"
    try:
        run("ip", "netns", "add", name)
        run("ip", "netns", "del", name)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


class NsNode(Node):
    def __init__(self, base_dir, node_id, net, cluster_spec, extra, protected_mode=False):
        super().__init__(base_dir, node_id, port=6379, raft_port=7000, cluster=cluster_spec,
                         extra=extra)
        self.net = net
        self.ns = f"{net.tag}n{node_id}"
        self.raft_ip = f"10.{net.octet}.1.{node_id}"
        self.client_ip = f"10.{net.octet}.2.{node_id}"
        self.protected_mode = protected_mode

    @property
    def raft_addr(self):
        return f"{self.raft_ip}:7000"

    @property
    def client_addr(self):
        return f"{self.client_ip}:6379"

    def args(self):
        # Clients and peers reach it from other addresses than loopback, so
        # the nodes share a cluster secret. Protected mode (on by default,
        # no password here) refuses every client that is not on loopback;
        # off unless the test asks for it, and then the node also listens
        # on its own loopback, where cli() reaches it.
        a = ["ip", "netns", "exec", self.ns] + super().args() + [
            "--announce-addr", self.client_addr, "--cluster-secret", CLUSTER_SECRET]
        if self.protected_mode:
            return a + ["--bind", f"127.0.0.1 {self.client_ip}"]
        return a + ["--bind", self.client_ip, "--protected-mode", "no"]

    def client(self, **kw):
        assert not self.protected_mode, "a client from the host is refused: use cli()"
        c = super().client(**kw)
        c.connection_pool.connection_kwargs["host"] = self.client_ip
        return c

    def cli(self, *words, timeout=15):
        """redis-cli inside the node's namespace, on its loopback address:
        the reply as redis-cli prints it (raw), without the last newline."""
        out = subprocess.run(["ip", "netns", "exec", self.ns, "redis-cli", "-h", "127.0.0.1",
                              "-p", "6379", *map(str, words)],
                             capture_output=True, text=True, timeout=timeout, check=True)
        return out.stdout.rstrip("\n")

    def wait_listening(self, timeout=30):
        if not self.protected_mode:
            return super().wait_listening(timeout)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.node_id} exited with {self.proc.returncode}:\n"
                                     + self.log_tail())
            try:
                return self.cli("PING", timeout=2) == "PONG"
            except subprocess.SubprocessError:
                return False
        wait_until(up, timeout, message=f"node {self.node_id} to accept connections")

    def raft_info(self):
        if not self.protected_mode:
            return super().raft_info()
        return parse_info(self.cli("RAFT", "INFO", timeout=2))


_clusters_made = 0


class NsCluster:
    """Three (or more) nodes, each in its own namespace. Names and addresses
    are unique per cluster: a deleted namespace's interfaces disappear
    asynchronously, so a later cluster must not reuse them."""

    def __init__(self, base_dir, size=3, extra=(), protected_mode=False, members=None):
        """members: how many of the nodes form the cluster at start (the
        others have a namespace but no --cluster, for a test to start with
        --join); all of them by default."""
        global _clusters_made
        _clusters_made += 1
        self.tag = f"p{os.getpid() % 1000}x{_clusters_made % 100}"
        self.octet = 100 + (os.getpid() + _clusters_made) % 100
        self.base_dir = base_dir
        self.links = []
        members = size if members is None else members
        spec = ",".join(f"{i}@10.{self.octet}.1.{i}:7000" for i in range(1, members + 1))
        self.nodes = [NsNode(base_dir, i, self, spec if i <= members else None, extra,
                             protected_mode) for i in range(1, size + 1)]
        self._setup_network()

    def _setup_network(self):
        for br, net in (("r", 1), ("c", 2)):
            bridge = f"{self.tag}{br}"
            run("ip", "link", "add", bridge, "type", "bridge")
            run("ip", "link", "set", bridge, "up")
            if br == "c":
                run("ip", "addr", "add", f"10.{self.octet}.2.254/24", "dev", bridge)
        for n in self.nodes:
            run("ip", "netns", "add", n.ns)
            run("ip", "netns", "exec", n.ns, "ip", "link", "set", "lo", "up")
            for br, net, ip in (("r", 1, n.raft_ip), ("c", 2, n.client_ip)):
                host, inner = f"{self.tag}{br}{n.node_id}h", f"{self.tag}{br}{n.node_id}i"
                run("ip", "link", "add", host, "type", "veth", "peer", "name", inner)
                run("ip", "link", "set", inner, "netns", n.ns)
                run("ip", "link", "set", host, "master", f"{self.tag}{br}")
                run("ip", "link", "set", host, "up")
                run("ip", "netns", "exec", n.ns, "ip", "addr", "add", f"{ip}/24", "dev", inner)
                run("ip", "netns", "exec", n.ns, "ip", "link", "set", inner, "up")

    def cut_raft(self, node):
        run("ip", "link", "set", f"{self.tag}r{node.node_id}h", "down")

    def heal_raft(self, node):
        run("ip", "link", "set", f"{self.tag}r{node.node_id}h", "up")

    def start(self):
        starting = [n for n in self.nodes if n.cluster]
        for n in starting:
            n.start(wait=False)
        for n in starting:
            n.wait_listening()
        return self

    def wait_leader(self, timeout=10, exclude=()):
        def find():
            leaders = [n for n in self.nodes if n.alive() and n not in exclude and n.is_leader()]
            return leaders[0] if len(leaders) == 1 else None
        return wait_until(find, timeout, message="a single Raft leader")

    def destroy(self):
        for n in self.nodes:
            n.kill()
        for n in self.nodes:
            for br in ("r", "c"):
                subprocess.run(["ip", "link", "del", f"{self.tag}{br}{n.node_id}h"],
                               stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "del", n.ns], stderr=subprocess.DEVNULL)
        for br in ("r", "c"):
            subprocess.run(["ip", "link", "del", f"{self.tag}{br}"], stderr=subprocess.DEVNULL)
