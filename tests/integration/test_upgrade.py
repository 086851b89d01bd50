"""A rolling upgrade from the previous build (README "Upgrades"): a 3-node
cluster of an earlier commit of this repository, built from git, takes
writes while its nodes are replaced one by one with this build; once the
last is replaced the leader raises the cluster's protocol version. No
acknowledged write is lost and the replicas' digests are equal.

The earlier build is made once from `git archive` of UPGRADE_BASE_COMMIT
into build/upgrade-base/<commit>/ (a minute or two on two cores) and reused after.
The base is the last commit before protocol versions: its Raft handshake
(peer authentication, commit 66db410) is this build's, so the two builds
talk. Run it with `make upgrade-test` (PARLEY_UPGRADE_TEST=1); elsewhere it
is skipped. PARLEY_UPGRADE_BASE names another base commit."""
import os
import shutil
import subprocess
import threading
import time

import pytest
import redis

from conftest import ROOT, SERVER, wait_until

UPGRADE_BASE_COMMIT = os.environ.get("PARLEY_UPGRADE_BASE",
                                     "edb9635305b9692d285935dab309ea4117718f48")
BUILD_VERSION = 5  # PROTOCOL_BUILD (src/cmds/cmd.h)

pytestmark = pytest.mark.skipif(
    os.environ.get("PARLEY_UPGRADE_TEST") != "1",
    reason="builds an earlier commit from git (a minute or two the first time): "
           "run `make upgrade-test`")


def base_build():
    """The earlier build's parley-server, built once per commit; skips the
    test when git history or the build is unavailable."""
    cache = os.path.join(ROOT, "build", "upgrade-base")
    binary = os.path.join(cache, UPGRADE_BASE_COMMIT, "build", "parley-server")
    if os.path.exists(binary):
        return binary
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot build the earlier release")
    probe = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", UPGRADE_BASE_COMMIT + "^{commit}"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"commit {UPGRADE_BASE_COMMIT} is not in this repository's history "
                    "(a shallow clone?): cannot build the earlier release")
    tmp = os.path.join(cache, f"{UPGRADE_BASE_COMMIT}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    archive = subprocess.Popen(["git", "-C", ROOT, "archive", UPGRADE_BASE_COMMIT],
                               stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", tmp], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"git archive of {UPGRADE_BASE_COMMIT} failed")
    built = subprocess.run(["nice", "make", "-j2", "build/parley-server"], cwd=tmp,
                           capture_output=True, text=True, timeout=3600)
    if built.returncode != 0:
        tail = "\n".join((built.stdout + built.stderr).splitlines()[-15:])
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"the build of {UPGRADE_BASE_COMMIT} failed:\n{tail}")
    try:
        os.rename(tmp, os.path.join(cache, UPGRADE_BASE_COMMIT))
    except OSError:  # another run finished first: use its build
        shutil.rmtree(tmp, ignore_errors=True)
    return binary


class Writers:
    """Threads writing numbered keys (w<thread>:<n> = n), each through one
    node after another: a write is recorded once it was acknowledged. A
    write that failed is sent again, with the same value, to the next node
    (SET of the same value twice is harmless)."""

    def __init__(self, nodes, threads=4):
        self.nodes = nodes
        self.acked = [[] for _ in range(threads)]
        self.errors = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(threads)]

    def count(self):
        return sum(len(a) for a in self.acked)

    def run(self, t):
        at, n, client = t, 0, None
        while not self.stopping.is_set():
            if client is None:
                node = self.nodes[at % len(self.nodes)]
                client = node.client(socket_timeout=5, socket_connect_timeout=1)
            try:
                if client.set(f"w{t}:{n}", n):
                    self.acked[t].append(n)
                    n += 1
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.errors += 1
                client = None
                at += 1
                time.sleep(0.05)

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for th in self.threads:
            th.join(30)

    def wait_more(self, n, timeout=60, what="writes"):
        target = self.count() + n
        wait_until(lambda: self.count() >= target, timeout,
                   message=f"{n} more acknowledged {what} "
                           f"(at {self.count()}, errors {self.errors})")


def versions(node):
    reply = node.client(socket_timeout=5).execute_command("RAFT", "VERSION")
    info = dict(zip(reply[0::2], reply[1::2]))
    info["members"] = {m[0]: m[1] for m in info["members"]}
    return info


def cluster_version(node):
    return versions(node)["cluster-protocol-version"]


def applied(node):
    return int(node.raft_info()["applied_index"])


def commit(node):
    return int(node.raft_info()["commit_index"])


def test_rolling_upgrade_from_the_previous_build(make_cluster):
    old = base_build()
    # Frequent snapshots and a short log behind them: a node that comes back
    # is sent a snapshot, across builds both ways (old leader to new node,
    # new leader to old node).
    c = make_cluster(extra=["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"])
    for n in c.nodes:
        n.server = old
    c.start()
    with Writers(c.nodes) as w:
        w.wait_more(500, what="writes to the old build")
        for i, node in enumerate(c.nodes):
            assert node.stop() == 0, node.log_tail()
            node.server = SERVER
            node.start()
            # It catches up with the log as the cluster had it when it came back.
            target = commit(c.leader(timeout=20))
            wait_until(lambda node=node: applied(node) >= target, 60,
                       message=f"node {node.node_id} on the new build to catch up")
            w.wait_more(500, what=f"writes after node {node.node_id} was upgraded")
            if i < len(c.nodes) - 1:
                # A member still runs the old build: the version stays. The
                # new nodes read the old ones' registrations (no version: 0).
                # (A new node's own view of the other new ones may say 0 too
                # after a snapshot of the old format, until they register
                # again with the next leader.)
                old_ids = {n.node_id for n in c.nodes[i + 1:]}
                for n in c.nodes[:i + 1]:
                    members = versions(n)["members"]
                    assert set(members) == {1, 2, 3}
                    assert all(members[m] == 0 for m in old_ids), members
                    assert members[n.node_id] == BUILD_VERSION
                    assert cluster_version(n) == 1
            if i == 0:
                # An old node that falls behind while a new one leads is
                # sent the new leader's snapshot (in the old format) and
                # catches up on its old build.
                if not node.is_leader():
                    node.client().execute_command("RAFT", "TRANSFER", str(node.node_id))
                wait_until(node.is_leader, 20, message="the upgraded node to lead")
                lagging = c.nodes[2]
                assert lagging.stop() == 0, lagging.log_tail()
                w.wait_more(600, what="writes while an old node is down")
                before = len(lagging.log_text())
                lagging.start()
                target = commit(node)
                wait_until(lambda: applied(lagging) >= target, 60,
                           message="the old node to catch up from the new leader")
                assert "Loaded a snapshot" in lagging.log_text()[before:]
                w.wait_more(200, what="writes after the old node came back")
        for n in c.nodes:
            wait_until(lambda n=n: cluster_version(n) == BUILD_VERSION, 30,
                       message=f"node {n.node_id} to run protocol version {BUILD_VERSION}")
        w.wait_more(500, what="writes after the version was raised")
    assert all(n.alive() for n in c.nodes)
    c.wait_converged(timeout=60)
    reader = c.leader().client(socket_timeout=30)
    lost = []
    for t, acked in enumerate(w.acked):
        for start in range(0, len(acked), 1000):
            chunk = acked[start:start + 1000]
            values = reader.mget([f"w{t}:{n}" for n in chunk])
            lost += [f"w{t}:{n}" for n, v in zip(chunk, values) if v != str(n)]
    assert not lost, f"{len(lost)} acknowledged writes lost, first {lost[:10]}"
    assert w.count() >= 2500
    c.stop()
