"""The task queue example (examples/taskqueue.c, hiredis), what Celery does
in C, on a three-node cluster: a producer submits tasks and fetches their
results, three workers execute them; flaky tasks are retried after a
backoff up to a limit, then fail; a worker is killed while it holds a
task, which another worker takes over. Every task has exactly one result,
stored with an expiry, and the retries are exactly the ones the failures
call for."""
import signal
import subprocess

import pytest

from conftest import wait_until

TASKS = 60
MAX_RETRIES = 2
TTL_MS = 60000


@pytest.fixture(scope="module")
def taskqueue(examples):
    return examples("taskqueue")


def expected_summary():
    # Attempt a of task i fails while a < i % 4; attempts 0..MAX_RETRIES.
    success = [i for i in range(TASKS) if i % 4 <= MAX_RETRIES]
    retries = sum(min(i % 4, MAX_RETRIES) for i in range(TASKS))
    return (f"results {TASKS} success {len(success)} failure {TASKS - len(success)} "
            f"sum {sum(i * i for i in success)} retries {retries}")


def test_retries_with_backoff_and_a_killed_worker_give_one_result_per_task(taskqueue, make_cluster,
                                                                            tmp_path):
    cl = make_cluster().start()
    hosts = ",".join(f"127.0.0.1:{n.port}" for n in cl.nodes)
    procs = {}

    def start(name, *args):
        with open(tmp_path / f"{name}.log", "ab") as log:
            procs[name] = subprocess.Popen([taskqueue, "-h", hosts, *args], stderr=log, text=True,
                                           stdout=subprocess.PIPE if name == "producer" else log)

    c = cl.leader().client()
    try:
        for w in ("w1", "w2", "w3"):
            start(w, "--name", w, "--work-ms", "30", "--result-ttl-ms", str(TTL_MS), "worker")
        start("producer", "--tasks", str(TASKS), "--max-retries", str(MAX_RETRIES),
              "--backoff-ms", "50", "submit")

        # Freeze w1 while it holds a task it has had for a while (its work
        # takes 30 ms: no reply of its is in flight), then kill it.
        def w1_frozen_holding_a_task():
            procs["w1"].send_signal(signal.SIGSTOP)
            held = c.xpending_range("tq:tasks", "workers", "-", "+", 10, consumername="w1")
            if held:
                return held
            procs["w1"].send_signal(signal.SIGCONT)
            return None
        wait_until(w1_frozen_holding_a_task, 60, interval=0.01, message="w1 to hold a task")
        wait_until(lambda: all(p["time_since_delivered"] >= 300 for p in c.xpending_range(
            "tq:tasks", "workers", "-", "+", 10, consumername="w1")), 10, message="w1's task to idle")
        held = c.xpending_range("tq:tasks", "workers", "-", "+", 10, consumername="w1")
        assert len(held) == 1
        entry = c.xrange("tq:tasks", held[0]["message_id"], held[0]["message_id"])[0][1]
        procs["w1"].send_signal(signal.SIGKILL)
        procs["w1"].wait(10)

        out, _ = procs["producer"].communicate(timeout=90)
        assert procs["producer"].returncode == 0, out
        assert out.strip() == expected_summary()
        for w in ("w2", "w3"):
            assert procs[w].wait(30) == 0, (tmp_path / f"{w}.log").read_text()
        # The task w1 died holding was taken over by another worker.
        took_over = f"took over {entry['id']} attempt {entry['attempt']} (its worker died)"
        assert any(took_over in (tmp_path / f"{w}.log").read_text() for w in ("w2", "w3"))

        # One stored result per task, each with its expiry; nothing pending.
        stored = c.lrange("tq:stored", 0, -1)
        assert sorted(stored) == sorted(f"t{i}" for i in range(TASKS))
        assert c.get("tq:result:t5") == "SUCCESS 25"
        assert c.get("tq:result:t3") == f"FAILURE attempt {MAX_RETRIES} failed"
        assert all(0 < c.pttl(f"tq:result:t{i}") <= TTL_MS for i in range(TASKS))
        assert c.xpending("tq:tasks", "workers")["pending"] == 0
        assert c.zcard("tq:delayed") == 0
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
