"""The controller-and-workers example (examples/workqueue.c, hiredis): a
controller queues tasks in a stream with a consumer group, three workers do
them, one is killed mid-task and the leader is killed too; the dead
worker's tasks are claimed by the others, and every task is done exactly
once (the sum of the results is exact)."""
import signal
import subprocess

import pytest

from conftest import wait_until

TASKS = 200


@pytest.fixture(scope="module")
def workqueue(examples):
    return examples("workqueue")


def test_a_killed_worker_loses_no_task_and_none_is_done_twice(workqueue, make_cluster, tmp_path):
    cl = make_cluster().start()
    hosts = ",".join(f"127.0.0.1:{n.port}" for n in cl.nodes)
    procs = {}

    def start(name, *args):
        log = open(tmp_path / f"{name}.log", "ab")
        procs[name] = subprocess.Popen([workqueue, "-h", hosts, *args], stdout=subprocess.PIPE
                                       if name == "controller" else log, stderr=log, text=True)
        log.close()

    for w in ("w1", "w2", "w3"):
        start(w, "--name", w, "--work-ms", "5", "worker")
    start("controller", "--tasks", str(TASKS), "controller")
    c = cl.leader().client()
    try:
        wait_until(lambda: c.hlen("wq:results") >= 30, 60, message="some tasks done")
        procs["w1"].send_signal(signal.SIGKILL)  # it may hold a task it read and did not finish
        procs["w1"].wait(10)
        cl.leader().kill()
        out, _ = procs["controller"].communicate(timeout=150)
        assert procs["controller"].returncode == 0, out
        assert out.strip() == f"done {TASKS} total {sum(i * i for i in range(TASKS))}"
        for w in ("w2", "w3"):
            assert procs[w].wait(30) == 0, (tmp_path / f"{w}.log").read_text()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
