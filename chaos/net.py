"""The fault suite's network: one bridge, one namespace per node, and the
partitions cut between them.

Every node runs in its own network namespace, linked by a veth pair to a
bridge in the root namespace. Nodes have 10.A.B.<id> addresses on a /24
nobody else on the machine uses; the root namespace has 10.A.B.254 on the
bridge, so the suite's clients reach every node directly. A partition drops,
inside the namespaces, every packet between two nodes (iptables DROP on
INPUT and OUTPUT; without a working iptables, or with CHAOS_NO_IPTABLES=1,
blackhole routes both ways, which fail a sender at once instead of leaving
its packets unanswered); clients keep reaching every node, including one cut
off from its peers.

Names carry the suite's PID (chaos<pid>n<id> for namespaces, chb<pid> for
the bridge) so concurrent runs never collide, and leftovers of a run that
was killed can be recognised and removed (remove_stale).
"""
import ipaddress
import os
import re
import shutil
import subprocess


def run(*args, check=True):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def available():
    """Root, `ip netns` working: what the suite needs. Returns a reason when not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    name = f"chaosprobe{os.getpid()}"
    try:
        run("ip", "netns", "add", name)
        run("ip", "netns", "del", name)
    except (OSError, RuntimeError) as e:
        return f"cannot create a network namespace: {e}"
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(tmp_dir="/tmp"):
    """Removes namespaces, bridges and temporary directories left by suite
    runs whose process is gone (killed with SIGKILL: nothing else leaves them)."""
    for name in os.listdir(tmp_dir):
        m = re.match(r"parley-chaos-(\d+)-", name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(tmp_dir, name), ignore_errors=True)
    for line in run("ip", "netns", "list", check=False).splitlines():
        m = re.match(r"chaos(\d+)n\d+\b", line)
        if m and not _pid_alive(int(m.group(1))):
            run("ip", "netns", "del", line.split()[0], check=False)
    for line in run("ip", "-o", "link", "show", "type", "bridge", check=False).splitlines():
        m = re.match(r"\d+: (chb(\d+))[:@]", line)
        if m and not _pid_alive(int(m.group(2))):
            run("ip", "link", "del", m.group(1), check=False)


def _free_subnet(seed):
    """A 10.A.B.0/24 that no route or address of the root namespace overlaps."""
    used = []
    for line in run("ip", "-4", "route", "show", "table", "all", check=False).splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast", "unreachable", "blackhole", "prohibit"):
            word = line.split()[1]
        try:
            used.append(ipaddress.ip_network(word if word != "default" else "0.0.0.0/32",
                                             strict=False))
        except ValueError:
            pass
    for i in range(4000):
        n = (seed * 7919 + i) % (200 * 250)
        net = ipaddress.ip_network(f"10.{50 + n // 250}.{1 + n % 250}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise RuntimeError("no free 10.x.y.0/24 for the suite's bridge")


class Network:
    """The bridge and the namespaces of one run. create() builds them,
    destroy() removes them (idempotent, never raises)."""

    def __init__(self, node_ids):
        self.pid = os.getpid()
        self.node_ids = list(node_ids)
        self.subnet = _free_subnet(self.pid)
        base = str(self.subnet.network_address).rsplit(".", 1)[0]
        self.ip = {i: f"{base}.{i}" for i in self.node_ids}
        self.host_ip = f"{base}.254"
        self.bridge = f"chb{self.pid}"
        self.cut = set()  # frozensets {a, b} currently partitioned
        self.use_iptables = (shutil.which("iptables") is not None
                             and not os.environ.get("CHAOS_NO_IPTABLES"))
        self.created = False

    def ns(self, i):
        return f"chaos{self.pid}n{i}"

    def create(self):
        self.created = True
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for i in self.node_ids:
            ns, host, inner = self.ns(i), f"ch{self.pid}h{i}", f"ch{self.pid}n{i}"
            run("ip", "netns", "add", ns)
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            run("ip", "link", "add", host, "type", "veth", "peer", "name", inner)
            run("ip", "link", "set", inner, "netns", ns)
            run("ip", "link", "set", host, "master", self.bridge)
            run("ip", "link", "set", host, "up")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.ip[i]}/24", "dev", inner)
            run("ip", "netns", "exec", ns, "ip", "link", "set", inner, "up")
        if self.use_iptables:
            probe = ["ip", "netns", "exec", self.ns(self.node_ids[0]), "iptables", "-w", "-L", "-n"]
            self.use_iptables = subprocess.run(probe, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL).returncode == 0

    def _drop(self, a, b, add):
        """Drops (add) or lets through again every packet between nodes a and b."""
        for x, y in ((a, b), (b, a)):
            ns = ["ip", "netns", "exec", self.ns(x)]
            if self.use_iptables:
                flag = "-A" if add else "-D"
                run(*ns, "iptables", "-w", flag, "INPUT", "-s", self.ip[y], "-j", "DROP")
                run(*ns, "iptables", "-w", flag, "OUTPUT", "-d", self.ip[y], "-j", "DROP")
            else:
                verb = "add" if add else "del"
                run(*ns, "ip", "route", verb, "blackhole", f"{self.ip[y]}/32")

    def partition(self, groups):
        """Cuts every link between nodes of different groups (a list of sets).
        Nodes in no group keep every link: `bridge` faults leave the node that
        sees both sides out of the groups and cut the sides from each other."""
        for g, group in enumerate(groups):
            for other in groups[g + 1:]:
                for a in group:
                    for b in other:
                        pair = frozenset((a, b))
                        if pair not in self.cut:
                            self._drop(a, b, True)
                            self.cut.add(pair)

    def heal(self):
        for pair in list(self.cut):
            a, b = sorted(pair)
            self._drop(a, b, False)
            self.cut.discard(pair)

    def destroy(self):
        if not self.created:
            return
        for i in self.node_ids:
            run("ip", "netns", "del", self.ns(i), check=False)
            run("ip", "link", "del", f"ch{self.pid}h{i}", check=False)
        run("ip", "link", "del", self.bridge, check=False)
        self.created = False
