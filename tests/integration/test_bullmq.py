"""BullMQ (npm `bullmq`, Node.js, over ioredis) against Parley: its Lua
scripts use cjson and cmsgpack, its workers block on sorted sets and
streams. tests/node/bullmq_jobs.js adds jobs (plain ones, a delayed one and
one that fails once and is retried) and a Worker runs them; every job must
complete exactly once, with its result. scripts/deps.sh installs the
pinned packages into tests/node (npm ci)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

NODE_DIR = os.path.join(ROOT, "tests", "node")
JOBS = 20


def run_jobs(queue_port, worker_port, queue_name, timeout_s=60):
    node = shutil.which("node")
    assert node, "node is not installed (scripts/deps.sh installs it)"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "bullmq")), \
        "tests/node has no node_modules: run scripts/deps.sh (npm ci)"
    env = dict(os.environ, QUEUE_PORT=str(queue_port), WORKER_PORT=str(worker_port),
               JOBS=str(JOBS), QUEUE_NAME=queue_name, DEADLINE_MS=str((timeout_s - 10) * 1000))
    proc = subprocess.run([node, "bullmq_jobs.js"], cwd=NODE_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout_s)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines, f"no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0, f"exit {proc.returncode}: {report}\n{proc.stderr}"
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


def test_bullmq_worker_on_a_follower(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    check_report(run_jobs(leader.port, follower.port, "three-nodes"))
