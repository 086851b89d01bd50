"""RQ (Debian's python3-rq 1.13) on Parley, unchanged: it sees
redis_version 7.0.15, so it keeps job results in streams (XADD with
MAXLEN, XREVRANGE). Jobs are enqueued, a real `rq worker --burst` process
runs them, results are read back from their streams, and a failing job
lands in the failed job registry with its traceback; the same with the
worker connected to a follower of a three-node cluster."""
import os
import shutil
import subprocess
import sys

import pytest

rq = pytest.importorskip("rq")

from conftest import wait_until, wait_writable  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def run_worker(port, queues=("default",), timeout=120, extra=(), url=None):
    """Runs `rq worker --burst` until the queues are empty; returns its output."""
    url = url or f"redis://127.0.0.1:{port}/0"
    exe = shutil.which("rq")
    cmd = [exe] if exe else [sys.executable, "-c", "from rq.cli import main; main()"]
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd + ["worker", "--burst", "--url", url] + list(extra) +
                          list(queues),
                          cwd=HERE, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def check_jobs(node, worker_node):
    from rq import Queue
    from rq.job import JobStatus
    from rq.registry import FailedJobRegistry
    from rq.results import Result
    import redis
    import rq_jobs

    conn = redis.Redis(port=node.port)
    q = Queue("default", connection=conn)
    jobs = [q.enqueue(rq_jobs.add, i, i * 10) for i in range(10)]
    shout = q.enqueue(rq_jobs.shout, "hello")
    bad = q.enqueue(rq_jobs.fail, "boom")
    assert len(q) == 12
    run_worker(worker_node.port)
    assert len(q) == 0
    for i, job in enumerate(jobs):
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
        assert job.result == i * 11
        latest = job.latest_result()
        assert latest.type == Result.Type.SUCCESSFUL and latest.return_value == i * 11
        # The result is an entry in the job's own stream.
        assert conn.type(f"rq:results:{job.id}") == b"stream"
        assert conn.xlen(f"rq:results:{job.id}") == 1
    shout.refresh()
    assert shout.return_value() == "HELLO"
    bad.refresh()
    assert bad.get_status() == JobStatus.FAILED
    assert bad.id in FailedJobRegistry(queue=q).get_job_ids()
    failed = bad.latest_result()
    assert failed.type == Result.Type.FAILED and "ValueError: boom" in failed.exc_string
    # Requeued and failed again: two results in the stream, newest first.
    FailedJobRegistry(queue=q).requeue(bad.id)
    run_worker(worker_node.port)
    results = bad.results()
    assert len(results) == 2 and all(r.type == Result.Type.FAILED for r in results)
    assert results[0].created_at >= results[1].created_at


def test_rq_with_a_password(make_node):
    """A worker given redis://user:password@host, as a team with ACL users
    would run it."""
    from rq import Queue
    import redis
    import rq_jobs

    node = make_node(extra=["--requirepass", "adminpw"]).start(wait=False)
    admin = node.client(password="adminpw", socket_timeout=2)
    wait_until(lambda: admin.set("__ready", "1"), 30, message="the node with a password")
    admin.execute_command("ACL", "SETUSER", "worker", "on", ">rqpw", "~*", "&*", "+@all",
                          "-@dangerous", "+info", "+client")
    conn = redis.Redis(port=node.port, username="worker", password="rqpw")
    q = Queue("default", connection=conn)
    jobs = [q.enqueue(rq_jobs.add, i, 1) for i in range(5)]
    run_worker(node.port, url=f"redis://worker:rqpw@127.0.0.1:{node.port}/0")
    for i, job in enumerate(jobs):
        job.refresh()
        assert job.return_value() == i + 1


def test_rq_on_a_single_node(server):
    server.client().flushall()
    check_jobs(server, server)


def test_rq_scheduled_jobs(server):
    from datetime import datetime, timedelta, timezone

    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    import redis
    import rq_jobs

    server.client().flushall()
    conn = redis.Redis(port=server.port)
    q = Queue("default", connection=conn)
    due = q.enqueue_at(datetime.now(timezone.utc) - timedelta(seconds=1), rq_jobs.add, 20, 22)
    later = q.enqueue_in(timedelta(hours=1), rq_jobs.add, 1, 1)
    registry = ScheduledJobRegistry(queue=q)
    assert set(registry.get_job_ids()) == {due.id, later.id}
    run_worker(server.port, extra=["--with-scheduler"])
    due.refresh()
    assert due.return_value() == 42
    assert registry.get_job_ids() == [later.id]
    assert later.get_status() == "scheduled"


def test_rq_with_the_worker_on_a_follower(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    wait_writable(follower)
    check_jobs(leader, follower)
    cluster.wait_converged()


def test_rq_across_a_leader_kill(make_cluster):
    """200 jobs, a burst worker on a follower, the leader SIGKILLed while it
    works: the worker carries on (its node forwards to the new leader) and
    every job finishes with its result."""
    from rq import Queue
    from rq.job import Job, JobStatus
    import redis
    import rq_jobs

    c = make_cluster().start()
    leader = c.leader()
    follower = c.followers()[0]
    conn = redis.Redis(port=follower.port)
    q = Queue("default", connection=conn)
    ids = [q.enqueue(rq_jobs.add_slowly, i, 1).id for i in range(200)]
    exe = shutil.which("rq")
    cmd = [exe] if exe else [sys.executable, "-c", "from rq.cli import main; main()"]
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    worker = subprocess.Popen(cmd + ["worker", "--burst", "--url", f"redis://127.0.0.1:{follower.port}/0",
                                     "default"], cwd=HERE, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: len(q) <= 150, 60, message="the worker to get going")
        left_at_kill = len(q)
        leader.kill()
        out, _ = worker.communicate(timeout=180)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, out
    assert left_at_kill > 0  # the kill did happen mid-run
    c.wait_leader(timeout=15, exclude=(leader,))
    for i, job_id in enumerate(ids):
        job = Job.fetch(job_id, connection=conn)
        assert job.get_status() == JobStatus.FINISHED, (job_id, job.get_status())
        assert job.return_value() == i + 1
    leader.start()
    c.wait_converged(timeout=30)
