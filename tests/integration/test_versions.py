"""Cluster protocol versions (src/repl/version.c, README "Upgrades"): each
node announces the version its build supports, the leader raises the
cluster's active version once every member supports it, a command of a
newer version is refused before it is proposed, and a node that meets an
entry or snapshot newer than its build stops before applying any of it.

The mixed-version tests run one test build whose nodes claim an older
version (PARLEY_TEST_PROTOCOL_VERSION); tests/integration/test_upgrade.py
runs a real earlier build."""
import os

import pytest
import redis

from conftest import parse_info, wait_until, wait_writable
from testhooks import needs_test_hooks

BUILD_VERSION = 5  # PROTOCOL_BUILD (src/cmds/cmd.h)


def versions(node):
    reply = node.client(socket_timeout=5).execute_command("RAFT", "VERSION")
    info = dict(zip(reply[0::2], reply[1::2]))
    info["members"] = {m[0]: m[1] for m in info["members"]}
    return info


def active(node):
    return versions(node)["cluster-protocol-version"]


def claiming(node, version):
    """The node's next start claims `version` (a test build's hook)."""
    node.env = dict(os.environ, PARLEY_TEST_PROTOCOL_VERSION=str(version))


def upgrade(cluster, node):
    """Restarts `node` on this build's own version; waits for the cluster
    to run it."""
    node.stop()
    node.env = None
    node.start()
    for n in cluster.nodes:
        wait_until(lambda n=n: active(n) == BUILD_VERSION, 20,
                   message=f"node {n.node_id} to run version {BUILD_VERSION}")


def wait_exit(node, timeout=60):
    wait_until(lambda: not node.alive(), timeout, message=f"node {node.node_id} to exit")
    node._close_log()
    return node.proc.returncode


def test_cluster_raises_its_version_once_every_member_supports_it(make_cluster):
    c = make_cluster().start()
    for n in c.nodes:
        wait_until(lambda n=n: active(n) == BUILD_VERSION, 20,
                   message=f"node {n.node_id} to run protocol version {BUILD_VERSION}")
    v = versions(c.nodes[0])
    assert v["build-protocol-version"] == BUILD_VERSION
    assert v["members"] == {1: BUILD_VERSION, 2: BUILD_VERSION, 3: BUILD_VERSION}
    info = c.nodes[1].client().info("server")
    assert info["parley_protocol_version"] == BUILD_VERSION
    assert info["cluster_protocol_version"] == BUILD_VERSION
    raft = c.nodes[2].raft_info()
    assert raft["protocol_version"] == str(BUILD_VERSION)
    assert raft["cluster_protocol_version"] == str(BUILD_VERSION)
    # The raise went through the log: a restarted node applies it again.
    c.nodes[2].stop()
    c.nodes[2].start()
    wait_until(lambda: active(c.nodes[2]) == BUILD_VERSION, 20, message="the raise replayed")
    c.wait_converged()
    c.stop()


@needs_test_hooks
def test_an_older_member_holds_the_version_back_and_newer_commands_are_refused(make_cluster):
    c = make_cluster()
    claiming(c.nodes[2], 1)
    c.start()
    # Every member has registered (node 3 with version 1) ...
    wait_until(lambda: versions(c.leader())["members"] == {1: BUILD_VERSION, 2: BUILD_VERSION, 3: 1}, 20,
               message="every member's registration")
    wait_writable(c.nodes[0])
    # ... and a write went through the log after that: the version stayed.
    assert c.leader().client().set("after-registrations", "1")
    for n in c.nodes:
        assert active(n) == 1
        with pytest.raises(redis.ResponseError, match=f"needs cluster protocol version {BUILD_VERSION} and "
                                                      "the cluster runs version 1"):
            n.client().execute_command("PARLEY.TEST", "NEWEST", "k", "v")
        # Inside MULTI: the queued command is refused, EXEC aborts.
        p = n.client().pipeline(transaction=True)
        p.set("tx", "1")
        p.execute_command("PARLEY.TEST", "NEWEST", "k", "v")
        with pytest.raises(redis.ResponseError, match="EXECABORT|needs cluster protocol"):
            p.execute()
    # From a script: refused where it applies, on every node alike.
    with pytest.raises(redis.ResponseError, match=f"needs cluster protocol version {BUILD_VERSION}"):
        c.nodes[1].client().eval("return redis.call('parley.test', 'newest', KEYS[1], 'v')",
                                 1, "ks")
    # A command of a version no build has: refused whatever the cluster runs.
    with pytest.raises(redis.ResponseError, match=f"needs cluster protocol version {BUILD_VERSION + 1}"):
        c.nodes[0].client().execute_command("PARLEY.TEST", "FUTURE")
    assert c.leader().client().exists("k", "tx", "ks") == 0
    c.wait_converged()

    # Node 3 is upgraded: restarted on this build. The leader
    # raises the version; the newer command is then accepted everywhere.
    upgrade(c, c.nodes[2])
    assert c.nodes[2].client().execute_command("PARLEY.TEST", "NEWEST", "k", "v") == "OK"
    assert c.nodes[0].client().get("k") == "v"
    with pytest.raises(redis.ResponseError, match=f"needs cluster protocol version {BUILD_VERSION + 1}"):
        c.nodes[0].client().execute_command("PARLEY.TEST", "FUTURE")
    c.wait_converged()
    c.stop()


@needs_test_hooks
def test_a_node_of_an_older_build_refuses_the_newer_log_and_exits(make_cluster):
    c = make_cluster().start()
    for n in c.nodes:
        wait_until(lambda n=n: active(n) == BUILD_VERSION, 20,
                   message=f"node {n.node_id} to run version {BUILD_VERSION}")
    c.leader().client().set("before", "1")
    c.wait_converged()
    node = c.nodes[2]
    assert node.stop() == 0
    before = node.log_text()
    # Downgraded: its log holds the raise to this version and entries written
    # under it. It stops at the first, having applied none of it.
    claiming(node, 1)
    node.start(wait=False)
    assert wait_exit(node) == 1
    said = node.log_text()[len(before):]
    assert "Refusing to apply" in said and f"cluster protocol version {BUILD_VERSION}" in said, said
    assert "Upgrade this node" in said, said
    # The others go on; the node, back on its build, catches up.
    c.leader().client().set("after", "2")
    node.env = None
    node.start()
    c.wait_converged()
    assert node.client().execute_command("RAFT", "DIGEST")
    c.stop()


@needs_test_hooks
def test_a_snapshot_of_a_newer_cluster_is_refused(make_cluster):
    c = make_cluster(extra=["--raft-snapshot-threshold", "16"]).start()
    for n in c.nodes:
        wait_until(lambda n=n: active(n) == BUILD_VERSION, 20,
                   message=f"node {n.node_id} to run version {BUILD_VERSION}")
    node = c.nodes[2]
    writer = c.nodes[0].client()
    for i in range(200):
        writer.set(f"k{i}", i)
    c.wait_converged()
    def snapshots_taken():
        return int(node.client().info("all").get("raft_snapshots_taken", 0))
    wait_until(lambda: snapshots_taken() > 0, 30, message="node 3 to take a snapshot")
    assert node.stop() == 0
    before = node.log_text()
    claiming(node, 1)
    node.start(wait=False)
    assert wait_exit(node) == 1
    said = node.log_text()[len(before):]
    assert "Refusing to apply a snapshot" in said, said
    assert f"cluster protocol version is version {BUILD_VERSION}" in said, said
    node.env = None
    node.start()
    c.wait_converged()
    c.stop()


def newest_snapshot(node):
    """(keyspace format, size) of the node's newest snapshot file: libraft
    writes the state machine's bytes as they are, and they begin with
    "PARLEYS1" and the format as a little-endian u32 (store/snapshot.h)."""
    metas = [f for f in os.listdir(node.dir) if f.startswith("snapshot-") and f.endswith(".meta")]
    if not metas:
        return None
    newest = max(metas, key=lambda f: int(f.split("-")[2]))  # snapshot-<term>-<index>-<time>
    path = os.path.join(node.dir, newest[:-len(".meta")])
    with open(path, "rb") as f:
        head = f.read(12)
    assert head[:8] == b"PARLEYS1", head
    return int.from_bytes(head[8:12], "little"), os.path.getsize(path)


@needs_test_hooks
def test_snapshots_are_packed_once_every_member_can_read_them(make_cluster):
    """Format 6 (records in LZ4 blocks) is written only once the cluster
    runs version 5: a member of version 4 could not load it. Until then
    every node writes format 5, as a build of version 4 does."""
    c = make_cluster(extra=["--raft-snapshot-threshold", "16", "--raft-snapshot-trailing", "8"])
    claiming(c.nodes[2], 4)
    c.start()
    wait_writable(c.nodes[0])
    value = "x" * 1024

    def fill(prefix, count=3000):
        client = c.leader().client()
        for start in range(0, count, 100):
            p = client.pipeline(transaction=False)
            for i in range(start, start + 100):
                p.set(f"{prefix}:{i}", value)
            p.execute()

    def ticking(check):
        """check(), after one more entry: snapshots come every 16 entries."""
        def step():
            c.leader().client().incr("tick")
            return check()
        return step

    fill("old")
    for n in c.nodes:
        wait_until(ticking(lambda n=n: (newest_snapshot(n) or (0, 0))[1] > 3000 * 1024), 60,
                   interval=0.05, message=f"node {n.node_id}'s snapshot of the 3 MB written")
        assert newest_snapshot(n)[0] == 5
        assert active(n) == 4

    upgrade(c, c.nodes[2])
    fill("new")
    for n in c.nodes:
        # 6 MB of values that repeat themselves, packed into a fraction of it.
        wait_until(ticking(lambda n=n: (newest_snapshot(n) or (0, 0))[0] == 6), 60,
                   interval=0.05, message=f"node {n.node_id}'s first packed snapshot")
        assert newest_snapshot(n)[1] < 6000 * 1024 // 20
    # A node restarted loads its packed snapshot: every key, every byte.
    keys = c.nodes[0].client().dbsize()
    assert keys >= 6000
    c.nodes[0].stop()
    c.nodes[0].start()
    wait_until(lambda: c.nodes[0].client().dbsize() == keys, 30, message="node 1's keys loaded")
    client = c.nodes[0].client()
    assert client.mget([f"old:{i}" for i in range(0, 3000, 7)]) == [value] * len(range(0, 3000, 7))
    assert client.mget([f"new:{i}" for i in range(0, 3000, 7)]) == [value] * len(range(0, 3000, 7))
    c.wait_converged()
    c.stop()
