"""Celery (Debian's python3-celery) running unchanged on Parley: broker and
result backend both on Parley, a real worker process, the features users
rely on; and on a three-node cluster whose leader is killed mid-run."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import wait_until, wait_writable

HERE = os.path.dirname(os.path.abspath(__file__))


def start_worker(url, log_path, queues="math.add,math.mul,celery", concurrency=2):
    env = dict(os.environ, PARLEY_URL=url, PYTHONPATH=HERE)
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3", "-m",
         "celery", "-A", "celery_app", "worker", "-Q", queues, "-c", str(concurrency),
         "--pool", "prefork", "-E", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def stop_worker(proc, log):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


def celery_app(url):
    os.environ["PARLEY_URL"] = url
    sys.path.insert(0, HERE)
    import importlib
    import celery_app as module
    importlib.reload(module)
    return module


@pytest.fixture(scope="module")
def worker(server, tmp_path_factory):
    url = f"redis://127.0.0.1:{server.port}/0"
    mod = celery_app(url)
    proc, log = start_worker(url, str(tmp_path_factory.mktemp("celery") / "worker.log"))
    try:
        wait_until(lambda: mod.app.control.ping(timeout=1.0), 60, interval=0.5,
                   message="the Celery worker to answer a ping")
        yield mod
    finally:
        stop_worker(proc, log)


def test_tasks_on_named_queues(worker):
    assert worker.add.apply_async((2, 3)).get(timeout=30) == 5
    assert worker.multiply.apply_async((4, 5)).get(timeout=30) == 20
    assert worker.add.delay(10, 20).get(timeout=30) == 30


def test_group_of_twenty(worker):
    from celery import group
    res = group(worker.add.s(i, i) for i in range(20))()
    assert res.get(timeout=60) == [2 * i for i in range(20)]


def test_chord(worker):
    from celery import chord
    res = chord((worker.add.s(i, i) for i in range(10)), worker.tsum.s())()
    assert res.get(timeout=60) == sum(2 * i for i in range(10))


def test_countdown(worker):
    sent = time.monotonic()
    res = worker.add.apply_async((1, 1), countdown=1)
    assert res.get(timeout=30) == 2
    assert time.monotonic() - sent >= 1.0


def test_retry_until_success(worker, r):
    res = worker.flaky.apply_async(("flaky:attempts", 2))
    assert res.get(timeout=60) == 3
    assert r.get("flaky:attempts") == "3"


def test_revoke(worker):
    res = worker.sleepy.apply_async((0.1,), countdown=3)
    worker.app.control.revoke(res.id)
    from celery.exceptions import TaskRevokedError
    with pytest.raises(TaskRevokedError):
        res.get(timeout=60)


def test_worker_events(worker, r):
    """The worker's task events (sent, received, started, succeeded) reach
    an event receiver: a fanout exchange over pub/sub."""
    events = []  # all of them: the task's id is known only once delay() returns,
    # and the worker may have sent task-received by then
    patterns_before = r.pubsub_numpat()
    result = None

    def receive():
        with worker.app.connection() as conn:
            def on_event(event):
                events.append(event)
                if result is not None and any(e.get("uuid") == result.id and
                                              e["type"] == "task-succeeded" for e in events):
                    recv.should_stop = True
            recv = worker.app.events.Receiver(conn, handlers={"*": on_event})
            try:
                recv.capture(limit=None, timeout=30)
            except Exception:  # noqa: BLE001 - a timeout means no event; asserted below
                pass

    t = threading.Thread(target=receive, daemon=True)
    t.start()
    # The receiver's binding (a pattern subscription) is made asynchronously.
    wait_until(lambda: r.pubsub_numpat() > patterns_before, 10,
               message="the event receiver to subscribe")
    result = worker.add.delay(7, 8)
    assert result.get(timeout=30) == 15
    t.join(40)
    seen = {e["type"]: e for e in events if e.get("uuid") == result.id}
    assert {"task-received", "task-started", "task-succeeded"} <= set(seen), sorted(seen)
    assert seen["task-succeeded"]["result"] == "15"


def test_500_tasks_across_a_leader_kill(make_cluster, tmp_path):
    cluster = make_cluster().start()
    leader = cluster.leader()
    follower_a, follower_b = [n for n in cluster.nodes if n is not leader]
    mod = celery_app(f"redis://127.0.0.1:{follower_a.port}/0")
    proc, log = start_worker(f"redis://127.0.0.1:{follower_b.port}/0", str(tmp_path / "worker.log"),
                             concurrency=4)
    try:
        wait_until(lambda: mod.app.control.ping(timeout=1.0), 60, interval=0.5,
                   message="the Celery worker to answer a ping")
        results = [mod.add.apply_async((i, i)) for i in range(250)]
        wait_until(lambda: sum(1 for r in results if r.ready()) >= 50, 120,
                   message="some tasks to finish before the kill")
        leader.kill()
        results += [mod.add.apply_async((i, i)) for i in range(250, 500)]
        values = [r.get(timeout=180) for r in results]
        assert values == [2 * i for i in range(500)]
    finally:
        stop_worker(proc, log)


def test_sentinel_transport_follows_the_leader(make_cluster, tmp_path):
    """Broker and result backend given as sentinel:// URLs of the three
    nodes: Celery asks them for the master (the Raft leader), and after the
    leader is killed finds the new one."""
    cluster = make_cluster().start()
    leader = cluster.leader()
    for n in cluster.nodes:
        wait_until(lambda: n.client().sentinel_get_master_addr_by_name("mymaster") ==
                   ("127.0.0.1", leader.port), 10, message="every node to name the leader")
    url = ";".join(f"sentinel://127.0.0.1:{n.port}" for n in cluster.nodes)
    mod = celery_app(url)
    proc, log = start_worker(url, str(tmp_path / "worker.log"))
    try:
        wait_until(lambda: mod.app.control.ping(timeout=1.0), 60, interval=0.5,
                   message="the Celery worker to answer a ping")
        assert [mod.add.apply_async((i, i)).get(timeout=30) for i in range(5)] == \
            [0, 2, 4, 6, 8]
        leader.kill()
        cluster.wait_leader(15, exclude=[leader])
        results = [mod.add.apply_async((i, 1)) for i in range(20)]
        assert [r.get(timeout=120) for r in results] == [i + 1 for i in range(20)]
    finally:
        stop_worker(proc, log)


def test_tasks_with_a_password(make_node, tmp_path):
    """Broker and result backend behind requirepass: redis://:password@host."""
    node = make_node(extra=["--requirepass", "celerypw"]).start(wait=False)
    node.wait_listening(password="celerypw")
    wait_until(lambda: node.client(password="celerypw", socket_timeout=1).set("__ready", "1"), 30,
               message="the node with a password to take writes")
    url = f"redis://:celerypw@127.0.0.1:{node.port}/0"
    mod = celery_app(url)
    proc, log = start_worker(url, str(tmp_path / "worker.log"))
    try:
        wait_until(lambda: mod.app.control.ping(timeout=1.0), 60, interval=0.5,
                   message="the Celery worker to answer a ping")
        assert mod.add.apply_async((2, 3)).get(timeout=30) == 5
        assert mod.multiply.delay(6, 7).get(timeout=30) == 42
    finally:
        stop_worker(proc, log)
