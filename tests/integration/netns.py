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

from conftest import Node, SERVER, wait_until

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
    def __init__(self, base_dir, node_id, net, cluster_spec, extra):
        super().__init__(base_dir, node_id, port=6379, raft_port=7000, cluster=cluster_spec,
                         extra=extra)
        self.net = net
        self.ns = f"{net.tag}n{node_id}"
        self.raft_ip = f"10.{net.octet}.1.{node_id}"
        self.client_ip = f"10.{net.octet}.2.{node_id}"

    @property
    def raft_addr(self):
        return f"{self.raft_ip}:7000"

    def args(self):
        # Clients and peers reach it from other addresses than loopback:
        # protected mode (on by default, no password here) would refuse them,
        # and the nodes must share a cluster secret.
        return (["ip", "netns", "exec", self.ns] + super().args()
                + ["--bind", self.client_ip, "--announce-addr", f"{self.client_ip}:6379",
                   "--protected-mode", "no", "--cluster-secret", CLUSTER_SECRET])

    def client(self, **kw):
        c = super().client(**kw)
        c.connection_pool.connection_kwargs["host"] = self.client_ip
        return c


_clusters_made = 0


class NsCluster:
    """Three (or more) nodes, each in its own namespace. Names and addresses
    are unique per cluster: a deleted namespace's interfaces disappear
    asynchronously, so a later cluster must not reuse them."""

    def __init__(self, base_dir, size=3, extra=()):
        global _clusters_made
        _clusters_made += 1
        self.tag = f"p{os.getpid() % 1000}x{_clusters_made % 100}"
        self.octet = 100 + (os.getpid() + _clusters_made) % 100
        self.base_dir = base_dir
        self.links = []
        spec = ",".join(f"{i}@10.{self.octet}.1.{i}:7000" for i in range(1, size + 1))
        self.nodes = [NsNode(base_dir, i, self, spec, extra) for i in range(1, size + 1)]
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
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
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
