"""Backup and restore: SAVE/BGSAVE write `dir`/dump.parley, a consistent
copy of the node's keyspace; `parley-server --restore FILE` starts a new
cluster holding the same keys, through its log (so they survive a restart
and reach members that join later). A file that is not a whole backup is
refused at start-up."""
import os
import time

import pytest
import redis

from conftest import Cluster, Node, load_keys, wait_until, wait_writable


def fill(c):
    """One key of every type, and a few with a TTL; returns what to check."""
    c.set("str", "hello")
    c.set("num", 12345)
    c.set("ttl:str", "soon", ex=1000)
    c.rpush("list", *[f"e{i}" for i in range(300)])
    c.rpush("list:small", "a", "b", "c")
    c.hset("hash", mapping={f"f{i}": f"v{i}" for i in range(200)})
    c.hset("hash:small", mapping={"a": "1", "b": "2"})
    c.expire("hash:small", 2000)
    c.sadd("set", *[f"m{i}" for i in range(200)])
    c.sadd("set:int", 1, 2, 3)
    c.zadd("zset", {f"z{i}": i * 1.5 for i in range(200)})
    c.zadd("zset:small", {"x": 1, "y": 2})
    for i in range(20):
        c.xadd("stream", {"n": str(i)}, id=f"{i + 1}-0")
    c.xgroup_create("stream", "grp", id="0")
    c.xreadgroup("grp", "alice", {"stream": ">"}, count=5)
    c.xack("stream", "grp", "1-0", "2-0")
    c1 = redis.Redis(host="127.0.0.1", port=c.connection_pool.connection_kwargs["port"], db=5,
                     decode_responses=True)
    c1.set("db5:key", "five")
    c.function_load("#!lua name=bk\nredis.register_function('bkecho', "
                    "function(keys, args) return args[1] end)")


def check(c, ttl_floor=900):
    assert c.get("str") == "hello"
    assert c.get("num") == "12345"
    assert c.get("ttl:str") == "soon"
    assert ttl_floor < c.ttl("ttl:str") <= 1000
    assert c.lrange("list", 0, -1) == [f"e{i}" for i in range(300)]
    assert c.lrange("list:small", 0, -1) == ["a", "b", "c"]
    assert c.hgetall("hash") == {f"f{i}": f"v{i}" for i in range(200)}
    assert c.hgetall("hash:small") == {"a": "1", "b": "2"}
    assert 1000 < c.ttl("hash:small") <= 2000
    assert c.ttl("str") == -1
    assert c.smembers("set") == {f"m{i}" for i in range(200)}
    assert c.smembers("set:int") == {"1", "2", "3"}
    assert c.zrange("zset", 0, -1, withscores=True) == [(f"z{i}", i * 1.5) for i in range(200)]
    assert c.zrange("zset:small", 0, -1) == ["x", "y"]
    assert c.xlen("stream") == 20
    assert c.xrange("stream", "3-0", "3-0") == [("3-0", {"n": "2"})]
    groups = c.xinfo_groups("stream")
    assert [(g["name"], g["last-delivered-id"], g["pending"]) for g in groups] == \
        [("grp", "5-0", 3)]
    pending = c.xpending_range("stream", "grp", "-", "+", 10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == \
        [("3-0", "alice"), ("4-0", "alice"), ("5-0", "alice")]
    c5 = redis.Redis(host="127.0.0.1", port=c.connection_pool.connection_kwargs["port"], db=5,
                     decode_responses=True, socket_timeout=15)
    assert c5.get("db5:key") == "five"
    assert c.dbsize() == 12
    assert c.fcall("bkecho", 0, "hi") == "hi"  # the FUNCTION library too


def persistence(c):
    return c.info("persistence")


@pytest.fixture
def saved(make_node, tmp_path):
    """A node with data of every type, saved with BGSAVE; returns the file."""
    node = make_node(node_id=1).start()
    wait_writable(node)
    c = node.client()
    c.delete("__ready")
    fill(c)
    before = c.lastsave()
    reply = c.execute_command("BGSAVE")
    assert reply in ("Background saving started", b"Background saving started", True)
    wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == 0, 30,
               message="BGSAVE to finish")
    info = persistence(c)
    assert info["rdb_last_bgsave_status"] == "ok"
    # LASTSAVE moves to the save (it was the start time or a Raft snapshot's before).
    wait_until(lambda: c.lastsave() >= before, 5, message="LASTSAVE")
    assert int(info["rdb_last_save_time"]) >= int(before.timestamp())
    path = os.path.join(node.dir, "dump.parley")
    assert os.path.getsize(path) > 0
    copy = str(tmp_path / "backup.parley")
    with open(path, "rb") as f, open(copy, "wb") as g:
        g.write(f.read())
    assert node.stop() == 0
    return copy


def test_bgsave_writes_the_file_and_lastsave_moves(make_node):
    node = make_node(node_id=1).start()
    wait_writable(node)
    c = node.client()
    start = c.lastsave()
    time.sleep(1.1)  # LASTSAVE has a resolution of one second
    c.set("k", "v")
    assert c.execute_command("BGSAVE") in ("Background saving started", True)
    wait_until(lambda: c.lastsave() > start, 30, message="LASTSAVE to change")
    wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == 0, 30,
               message="BGSAVE to finish")
    assert persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert os.path.exists(os.path.join(node.dir, "dump.parley"))
    assert c.execute_command("SAVE") in ("OK", True)
    assert node.stop() == 0


def test_a_failed_bgsave_says_so(make_node):
    node = make_node(node_id=1).start()
    wait_writable(node)
    c = node.client()
    before = c.lastsave()
    # The target is a directory: the rename over it fails.
    target = os.path.join(node.dir, "dump.parley")
    os.mkdir(target)
    assert c.execute_command("BGSAVE") in ("Background saving started", True)
    wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == 0, 30,
               message="BGSAVE to finish")
    assert persistence(c)["rdb_last_bgsave_status"] == "err"
    assert c.lastsave() == before
    with pytest.raises(redis.ResponseError):
        c.execute_command("SAVE")
    assert [f for f in os.listdir(node.dir) if ".tmp-" in f] == []  # no temporary left
    os.rmdir(target)
    assert c.execute_command("SAVE") in ("OK", True)
    assert persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert os.path.isfile(target)
    assert node.stop() == 0


def test_bgsave_while_a_raft_snapshot_child_runs(make_node):
    """One child at a time: BGSAVE is refused while a Raft snapshot's child
    writes, BGSAVE SCHEDULE starts once it is done."""
    node = make_node(node_id=1, extra=["--raft-snapshot-threshold", "32",
                                       "--raft-snapshot-trailing", "16"]).start()
    wait_writable(node)
    load_keys(node.port, 300000)  # a child that takes a while to encode
    c = node.client()
    caught = {}

    def catch():
        for i in range(40):  # log entries, so that libraft snapshots
            c.set(f"tick:{i}", i)
        p = c.pipeline(transaction=False)  # one read: the same child state
        for _ in range(30):
            p.execute_command("INFO", "raft")
            p.execute_command("BGSAVE")
            p.execute_command("BGSAVE", "SCHEDULE")
        replies = p.execute(raise_on_error=False)
        for info, plain, sched in zip(replies[0::3], replies[1::3], replies[2::3]):
            if info["raft_snapshot_child_pid"] != 0:
                caught.update(plain=plain, sched=sched)
                return True
            if plain in ("Background saving started", True):
                wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == 0, 30,
                           message="BGSAVE to finish")
                return False
        return False
    wait_until(catch, 120, interval=0, message="a BGSAVE while a snapshot's child runs")
    assert isinstance(caught["plain"], redis.ResponseError)
    assert str(caught["plain"]).startswith("Another child process is active (AOF?): can't BGSAVE")
    assert caught["sched"] in ("Background saving scheduled", True)
    wait_until(lambda: persistence(c)["rdb_saves_scheduled"] == 0 and
               persistence(c)["rdb_bgsave_in_progress"] == 0, 60,
               message="the scheduled BGSAVE to run")
    assert persistence(c)["rdb_last_bgsave_status"] == "ok"
    # Every key, packed (store/snapshot.h): several bytes each.
    assert os.path.getsize(os.path.join(node.dir, "dump.parley")) > 300000 * 3
    assert node.stop() == 0


def test_a_stop_during_bgsave_ends_the_child_and_its_temporary(make_node):
    node = make_node(node_id=1).start()
    wait_writable(node)
    load_keys(node.port, 300000)
    c = node.client()
    assert c.execute_command("BGSAVE") in ("Background saving started", True)
    assert node.stop() == 0
    assert [f for f in os.listdir(node.dir) if ".tmp-" in f] == []


def test_dbfilename_names_the_file(make_node):
    node = make_node(node_id=1, extra=["--dbfilename", "mine.parley"]).start()
    wait_writable(node)
    c = node.client()
    assert c.config_get("dbfilename") == {"dbfilename": "mine.parley"}
    assert c.execute_command("SAVE") in ("OK", True)
    assert os.path.getsize(os.path.join(node.dir, "mine.parley")) > 0
    assert not os.path.exists(os.path.join(node.dir, "dump.parley"))


def test_a_second_bgsave_while_one_runs_is_refused(make_node):
    node = make_node(node_id=1).start()
    wait_writable(node)
    c = node.client()
    # Both in one write: the second is read while the first's child runs.
    p = c.pipeline(transaction=False)
    p.execute_command("BGSAVE")
    p.execute_command("BGSAVE")
    p.execute_command("SAVE")
    first, second, save = p.execute(raise_on_error=False)
    assert first in ("Background saving started", True)
    assert isinstance(second, redis.ResponseError)
    assert str(second) == "Background save already in progress"
    assert isinstance(save, redis.ResponseError)
    assert str(save) == "Background save already in progress"
    wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == 0, 30,
               message="BGSAVE to finish")
    assert node.stop() == 0


def test_save_commands_have_redis_s_acl_categories(make_node):
    node = make_node(node_id=1).start()
    c = node.client()
    for cat in ("admin", "dangerous"):
        names = set(c.acl_cat(cat))
        assert {"save", "bgsave", "lastsave"} <= names, cat
    assert "save" in set(c.acl_cat("slow")) and "bgsave" in set(c.acl_cat("slow"))


def test_restore_starts_a_new_node_with_every_key(saved, make_node, tmp_path):
    node = make_node(node_id=7, extra=["--restore", saved]).start()
    c = node.client()
    pending = os.path.join(node.dir, "restore-pending")
    done = os.path.join(node.dir, "restore-done")
    wait_until(lambda: os.path.exists(done), 30, message="the restore to be marked done")
    assert not os.path.exists(pending)
    check(c)
    assert "Restore of" in node.log_text()
    assert node.stop() == 0
    # A restart replays the log: the keys are still there, not restored again.
    node.extra = []
    node.start()
    c = node.client()
    wait_until(lambda: c.dbsize() == 12, 30, message="the keys after a restart")
    check(c)
    c.set("str", "changed after the restore")
    assert node.stop() == 0
    # A restart that kept --restore of the same file does not restore again.
    node.extra = ["--restore", saved]
    node.start()
    c = node.client()
    wait_until(lambda: c.get("str") == "changed after the restore", 30,
               message="the write made after the restore")
    assert "already restored" in node.log_text()
    assert node.log_text().count("Starting the restore") == 1
    c.execute_command("SAVE")
    other = str(tmp_path / "other.parley")
    os.rename(os.path.join(node.dir, "dump.parley"), other)
    assert node.stop() == 0
    # --restore of another file on a directory that holds a cluster is refused.
    node.extra = ["--restore", other]
    node.start(wait=False)
    node.proc.wait(30)
    assert node.proc.returncode == 1
    assert "already holds a cluster" in node.log_text()
    # A restore that was cut short (its marker is still there) must be
    # finished: a start without --restore is refused, one with it resumes.
    os.rename(done, pending)
    node.extra = []
    node.start(wait=False)
    node.proc.wait(30)
    assert node.proc.returncode == 1
    assert "was interrupted" in node.log_text()
    node.extra = ["--restore", other]  # not the file it was restoring
    node.start(wait=False)
    node.proc.wait(30)
    assert node.proc.returncode == 1
    assert "interrupted restore of another file" in node.log_text()
    node.extra = ["--restore", saved]
    node.start()
    c = node.client()
    wait_until(lambda: os.path.exists(done), 30, message="the resumed restore to finish")
    assert "Resuming the restore" in node.log_text()
    check(c)  # every key again as the file has it
    assert node.stop() == 0


def test_restore_into_a_cluster_reaches_members_that_join(saved, tmp_path):
    first = Node(str(tmp_path), node_id=11, extra=["--restore", saved]).start()
    joiners = []
    try:
        wait_until(lambda: first.client().dbsize() == 12, 30, message="the restored keys")
        for i in (12, 13):
            j = Node(str(tmp_path), node_id=i, extra=["--join", f"127.0.0.1:{first.port}"])
            joiners.append(j.start())
        for j in joiners:
            wait_until(lambda j=j: j.raft_info().get("role") == "follower", 30,
                       message=f"node {j.node_id} to follow")
            c = j.client()
            c.readonly()  # a read on the follower itself
            wait_until(lambda c=c: c.dbsize() == 12, 30,
                       message=f"node {j.node_id} to hold the keys")
            check(c)
            # INFO answers from the node itself: the keys are in its own state.
            assert j.client().info("keyspace")["db0"]["keys"] == 12
        first.client().set("after", "1")
        wait_until(lambda: joiners[1].client().get("after") == "1", 15,
                   message="the cluster to take writes")
        codes = [n.stop() for n in joiners + [first]]
        assert codes == [0, 0, 0], codes
    finally:
        for n in [first] + joiners:
            n.kill()


def test_restore_as_the_first_of_three_initial_members(saved, tmp_path):
    """The cluster fixture's way: three members named in --cluster, the
    first with --restore; whichever leads, its keys go through the log."""
    cl = Cluster(str(tmp_path / "c"), 3)
    cl.nodes[0].extra = ["--restore", saved]
    try:
        cl.start()
        cl.leader().client().delete("__ready")  # the fixture's own write
        for n in cl.followers():
            c = n.client()
            c.readonly()
            wait_until(lambda n=n: n.client().info("keyspace").get("db0", {}).get("keys") == 12,
                       30, message=f"node {n.node_id} to hold the keys")
            check(c)
        cl.wait_converged()
    finally:
        cl.stop()


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "missing"])
def test_a_damaged_backup_is_refused_at_start(saved, tmp_path, damage):
    with open(saved, "rb") as f:
        data = bytearray(f.read())
    bad = str(tmp_path / "bad.parley")
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0x40
    elif damage == "garbage":
        data = bytearray(b"not a backup at all" * 10)
    if damage != "missing":
        with open(bad, "wb") as f:
            f.write(data)
    node = Node(str(tmp_path), node_id=9, extra=["--restore", bad])
    node.start(wait=False)
    node.proc.wait(30)
    assert node.proc.returncode == 1
    log = node.log_text()
    assert "--restore" in log and ("not a usable backup" in log or "cannot open" in log), log
    # Nothing was bootstrapped: the directory holds no log.
    assert not os.path.exists(os.path.join(node.dir, "metadata1"))
