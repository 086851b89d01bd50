"""Durability of a single node: what was acknowledged is on disk.

A write is answered only after its Raft entry is written with O_DSYNC, so a
SIGKILL at any moment loses nothing that was acknowledged. Recovery is the
latest snapshot plus the log after it; damaged files are reported, never
silently loaded or silently dropped."""
import glob
import os
import threading

import redis

from conftest import wait_until, wait_writable

SNAPSHOT_OFTEN = ["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"]


def writer(node, name, acked, stop):
    """Sets name:i = i for i = 0, 1, ... one at a time, recording each
    acknowledged i, until stop is set or the server goes away."""
    c = node.client(socket_timeout=5)
    i = 0
    while not stop.is_set():
        try:
            c.set(f"{name}:{i}", str(i))
        except (redis.ConnectionError, redis.TimeoutError):
            return
        acked.append(i)
        i += 1


def test_sigkill_during_writes_loses_no_acknowledged_write(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    stop = threading.Event()
    acked = {f"w{t}": [] for t in range(4)}
    threads = [threading.Thread(target=writer, args=(node, name, acked[name], stop))
               for name in acked]
    for t in threads:
        t.start()
    wait_until(lambda: sum(len(a) for a in acked.values()) >= 1500, 60,
               message="1500 acknowledged writes")
    node.kill()
    stop.set()
    for t in threads:
        t.join(10)
    node.start()
    wait_writable(node)
    c = node.client()
    for name, values in acked.items():
        assert values, f"writer {name} got nothing acknowledged"
        last = values[-1]
        got = c.mget([f"{name}:{i}" for i in range(last + 1)])
        missing = [i for i, v in zip(range(last + 1), got) if v != str(i)]
        assert missing == [], f"{name}: acknowledged writes lost after SIGKILL: {missing[:10]}"
        # The writer sent i only after i-1 was acknowledged: at most the one
        # in flight at the kill may exist beyond the last acknowledged.
        assert c.exists(f"{name}:{last + 2}") == 0
    assert "snapshot" in node.log_text().lower(), "the run should have restored a snapshot"


def test_restart_restores_snapshot_plus_log_exactly(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = node.client()
    for i in range(300):
        c.set(f"k{i}", "x" * (i % 60))          # embstr and raw encodings
    c.set("n", 12345)                             # int encoding
    c.append("n2", "abc")
    c.set("ttl", "v", ex=1000)
    c.execute_command("SELECT", 3)
    c.set("db3key", "three")
    digest = c.execute_command("DEBUG", "DIGEST")
    assert node.stop() == 0
    assert glob.glob(os.path.join(node.dir, "snapshot-*")), "no snapshot was taken"
    node.start()
    wait_writable(node)
    c = node.client()
    assert c.execute_command("DEBUG", "DIGEST") == digest
    assert c.object("encoding", "n") == "int"
    assert 990 <= c.ttl("ttl") <= 1000


def snapshot_metas(node):
    return sorted(f for f in os.listdir(node.dir)
                  if f.startswith("snapshot-") and f.endswith(".meta"))


def test_one_snapshot_is_kept_on_disk_not_two(make_node):
    """libraft keeps the newest two snapshots; the older is never read
    again, so the data directory would hold the dataset twice. After each
    snapshot only the newest stays, and a restart loads it."""
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = node.client()
    for i in range(400):
        c.set(f"k{i}", "v" * 100)
    wait_until(lambda: c.info("raft")["raft_snapshots_taken"] >= 3, 20,
               message="three snapshots")
    wait_until(lambda: len(snapshot_metas(node)) == 1, 10,
               message=f"one snapshot left in the directory, not {snapshot_metas(node)}")
    meta = snapshot_metas(node)[0]
    data = [f for f in os.listdir(node.dir) if f.startswith("snapshot-") and not f.endswith(".meta")]
    assert data == [meta[:-len(".meta")]]
    digest = c.execute_command("DEBUG", "DIGEST")
    assert node.stop() == 0
    node.start()
    wait_writable(node)
    assert node.client().execute_command("DEBUG", "DIGEST") == digest


def newest(pattern):
    files = [f for f in glob.glob(pattern) if not f.endswith(".meta")]
    return max(files, key=os.path.getmtime)


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def test_corrupt_snapshot_is_refused_with_a_clear_message(make_node):
    node = make_node(extra=SNAPSHOT_OFTEN).start()
    wait_writable(node)
    c = node.client()
    for i in range(200):
        c.set(f"key{i}", f"value{i}")
    assert node.stop() == 0
    snap = newest(os.path.join(node.dir, "snapshot-*"))
    flip_byte(snap, os.path.getsize(snap) // 2)
    node.start(wait=False)
    code = node.proc.wait(15)
    assert code != 0
    log = node.log_text()
    assert "snapshot" in log and "corrupt" in log, log


def test_corrupt_closed_segment_is_refused_not_skipped(make_node):
    node = make_node().start()
    wait_writable(node)
    c = node.client()
    for i in range(40):
        c.set(f"before{i}", "v")
    c.set("marker", "MIDDLE-OF-THE-LOG-MARKER")
    for i in range(40):
        c.set(f"after{i}", "v")
    assert node.stop() == 0  # a clean stop closes the segments
    segments = [f for f in glob.glob(os.path.join(node.dir, "0*"))
                if b"MIDDLE-OF-THE-LOG-MARKER" in open(f, "rb").read()]
    assert len(segments) == 1
    data = open(segments[0], "rb").read()
    flip_byte(segments[0], data.index(b"MIDDLE-OF-THE-LOG-MARKER") + 5)
    node.start(wait=False)
    code = node.proc.wait(15)
    assert code != 0, "a corrupt closed segment must not be skipped silently"
    assert "checksum mismatch" in node.log_text() or "corrupt" in node.log_text()


def test_torn_log_tail_is_reported_and_dropped(make_node):
    node = make_node().start()
    wait_writable(node)
    c = node.client()
    for i in range(50):
        c.set(f"key{i}", f"value{i}")
    c.set("last", "TORN-TAIL-MARKER-TORN-TAIL-MARKER")
    node.kill()  # the open segment stays open, as after a power cut
    opens = [f for f in glob.glob(os.path.join(node.dir, "open-*"))
             if b"TORN-TAIL-MARKER" in open(f, "rb").read()]
    assert len(opens) == 1
    data = open(opens[0], "rb").read()
    # Damage the last entry as a write torn by the crash would.
    flip_byte(opens[0], data.index(b"TORN-TAIL-MARKER") + 3)
    node.start()
    wait_writable(node)
    c = node.client()
    assert c.mget([f"key{i}" for i in range(50)]) == [f"value{i}" for i in range(50)]
    assert c.get("last") is None
    assert "Raft log damage detected" in node.log_text()


def test_second_process_on_the_same_directory_is_refused(make_node):
    first = make_node().start()
    wait_writable(first)
    second = make_node(node_id=2)
    second.dir = first.dir
    second.start(wait=False)
    assert second.proc.wait(15) != 0
    assert "in use by another parley-server" in second.log_text()
    assert first.client().ping()
