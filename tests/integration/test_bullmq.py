"""BullMQ (npm `bullmq`, Node.js, over ioredis) against Parley: its Lua
scripts use cjson and cmsgpack, its workers block on sorted sets and
streams. tests/node/bullmq_jobs.js adds jobs (plain ones, a delayed one and
one that fails once and is retried) and a Worker runs them; every job must
complete exactly once, with its result. tests/node/bullmq_features.js runs
the higher-level features one scenario at a time: a repeating job
scheduler, a FlowProducer flow, a rate-limited Worker and QueueEvents.
scripts/deps.sh installs the pinned packages into tests/node (npm ci)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

NODE_DIR = os.path.join(ROOT, "tests", "node")
JOBS = 20


def run_script(script, queue_port, worker_port, queue_name, timeout_s, **extra_env):
    """Runs tests/node/<script> with the ports and queue name in its
    environment (and a deadline 10 s short of timeout_s); returns its JSON
    report, failing the test unless it exited 0."""
    node = shutil.which("node")
    assert node, "node is not installed (scripts/deps.sh installs it)"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "bullmq")), \
        "tests/node has no node_modules: run scripts/deps.sh (npm ci)"
    env = dict(os.environ, QUEUE_PORT=str(queue_port), WORKER_PORT=str(worker_port),
               QUEUE_NAME=queue_name, DEADLINE_MS=str((timeout_s - 10) * 1000), **extra_env)
    proc = subprocess.run([node, script], cwd=NODE_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0, f"exit {proc.returncode}: {report}\n{proc.stderr}"
    return report


def run_jobs(queue_port, worker_port, queue_name, timeout_s=60):
    return run_script("bullmq_jobs.js", queue_port, worker_port, queue_name, timeout_s,
                      JOBS=str(JOBS))


def run_feature(scenario, queue_port, worker_port, queue_name, timeout_s=40):
    report = run_script("bullmq_features.js", queue_port, worker_port, queue_name, timeout_s,
                        SCENARIO=scenario)
    assert report["errors"] == [], report
    return report


def check_report(report):
    names = [f"job-{i}" for i in range(JOBS)] + ["delayed", "flaky"]
    # Each job ran once (the flaky one twice: its first attempt throws).
    assert report["runs"] == {**{n: 1 for n in names}, "flaky": 2}
    assert report["results"]["job-7"] == {"doubled": 14, "name": "job-7"}
    assert report["results"]["delayed"] == {"doubled": 200, "name": "delayed"}
    assert report["results"]["flaky"] == {"doubled": 14, "name": "flaky"}
    assert report["failures"] == ["flaky: first attempt fails"]
    assert report["counts"] == {"completed": JOBS + 2, "failed": 0, "waiting": 0, "delayed": 0,
                                "active": 0}


def test_bullmq_jobs_complete_once(server):
    check_report(run_jobs(server.port, server.port, "single"))


def test_bullmq_jobs_survive_a_leader_kill(make_cluster):
    """Queue and Worker on the two followers; the leader is killed (SIGKILL)
    while the jobs run. Every job still completes exactly once: what was
    acknowledged survives, and a follower resends its pending commands to
    the new leader, which applies each only once."""
    node = shutil.which("node")
    c = make_cluster().start()
    leader = c.leader()
    a, b = [n for n in c.nodes if n is not leader]
    jobs = 150
    env = dict(os.environ, QUEUE_PORT=str(a.port), WORKER_PORT=str(b.port), JOBS=str(jobs),
               QUEUE_NAME="leader-kill", DEADLINE_MS="80000", PROGRESS="1", JOB_MS="20")
    proc = subprocess.Popen([node, "bullmq_jobs.js"], cwd=NODE_DIR, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed = False
    report = None
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if "progress" in msg:
                if not killed and msg["progress"] >= jobs // 3:
                    leader.kill()
                    killed = True
                continue
            report = msg
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed, "the jobs finished before a third of them were done"
    assert report and proc.returncode == 0, f"exit {proc.returncode}: {report}\n{proc.stderr.read()}"
    names = [f"job-{i}" for i in range(jobs)] + ["delayed", "flaky"]
    assert report["runs"] == {**{n: 1 for n in names}, "flaky": 2}
    assert report["counts"]["completed"] == jobs + 2 and report["counts"]["failed"] == 0


def test_bullmq_worker_on_a_follower(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    check_report(run_jobs(leader.port, follower.port, "three-nodes"))


# --- Higher-level features (tests/node/bullmq_features.js) ---------------

def check_flow(report):
    # The parent ran after its three children and saw each one's result.
    assert report["childrenValues"] == {"child-1": {"square": 1}, "child-2": {"square": 4},
                                        "child-3": {"square": 9}}
    assert report["parentResult"] == {"sum": 14}
    assert report["parentState"] == "completed"
    assert report["counts"] == {"completed": 4, "failed": 0, "waiting": 0,
                                "waiting-children": 0, "active": 0}


def check_events(report):
    assert report["completed"] == {"ok-1": {"echo": 1}, "ok-2": {"echo": 2}}
    assert report["failed"] == {"bad-1": "bad-1 refuses", "bad-2": "bad-2 refuses"}
    assert report["progress"] == {"ok-1": {"half": 1}, "ok-2": {"half": 2}}
    assert report["waited"] == {"ok-1": {"value": {"echo": 1}}, "ok-2": {"value": {"echo": 2}},
                                "bad-1": {"error": "bad-1 refuses"},
                                "bad-2": {"error": "bad-2 refuses"}}


def check_repeat(report):
    """A job scheduler {every: 200, limit: 3}: three runs, then none queued."""
    assert report["runs"] == ["tick"] * 3
    assert report["returned"] == [1, 2, 3]
    assert report["counts"] == {"completed": 3, "failed": 0, "waiting": 0, "delayed": 0,
                                "active": 0}


def test_bullmq_repeatable_job_runs_limit_times(server):
    check_repeat(run_feature("repeat", server.port, server.port, "repeat"))


def test_bullmq_flow_parent_sees_children_values(server):
    check_flow(run_feature("flow", server.port, server.port, "flow"))


def test_bullmq_nested_flow_across_queues(server):
    """root <- (mid <- leaf-1, leaf-2), the leaves in a second queue; then a
    child failing with failParentOnFailure fails its parent."""
    check_nested(run_feature("flow-nested", server.port, server.port, "nested"), "nested")


def check_nested(report, queue_name):
    assert report["nested"] == {"root": [{"mid": [1]}, 2]}
    assert report["parentFailure"] == f"child bull:{queue_name}-leaves:<child> failed"


def check_limiter(report):
    """limiter {max: 5, duration: 1000} over 12 jobs queued at once. BullMQ's
    limiter is a fixed window opened by the first job it starts, so the
    starts (processedOn) are grouped greedily: a window opens at the first
    start not yet counted and spans 1000 ms; none may hold more than 5
    (hence at least 3 windows: the limiter really held jobs back)."""
    assert report["counts"] == {"completed": 12, "failed": 0, "waiting": 0, "active": 0}
    starts = report["processedOn"]
    assert len(starts) == 12 and all(report["finishedOn"])
    windows = []
    for t in starts:
        if windows and t < windows[-1][0] + 1000:
            windows[-1][1] += 1
        else:
            windows.append([t, 1])
    assert all(count <= 5 for _, count in windows), windows
    assert len(windows) >= 3, windows


def test_bullmq_rate_limited_worker(server):
    check_limiter(run_feature("limiter", server.port, server.port, "limiter"))


def test_bullmq_queue_events(server):
    check_events(run_feature("events", server.port, server.port, "events"))


def test_bullmq_flow_and_events_on_followers(cluster):
    """The flows with every client (FlowProducer, Queue, Worker) on one
    follower, which forwards the writes to the leader. Then the jobs are
    added on the other follower while the Worker and QueueEvents sit on the
    first: QueueEvents' XREAD BLOCK there wakes as the replicated events
    stream grows."""
    a, b = cluster.followers()[:2]
    check_flow(run_feature("flow", a.port, a.port, "flow-follower"))
    check_nested(run_feature("flow-nested", a.port, a.port, "nested-follower"),
                 "nested-follower")
    check_events(run_feature("events", b.port, a.port, "events-follower"))


def test_bullmq_repeat_and_limiter_on_a_follower(cluster):
    """The job scheduler and the rate limiter (both kept in keys with TTLs
    and delayed sets, which the leader's clock drives) with every client on
    a follower."""
    follower = cluster.followers()[0]
    check_repeat(run_feature("repeat", follower.port, follower.port, "repeat-follower"))
    check_limiter(run_feature("limiter", follower.port, follower.port, "limiter-follower"))
