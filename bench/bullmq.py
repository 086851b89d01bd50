#!/usr/bin/python3
"""bench/bullmq.py — BullMQ throughput (jobs per second through a Worker),
Parley next to redis-server.

Starts a durable parley-server node and redis-server with `appendonly yes`,
`appendfsync always`, and runs tests/node/bullmq_bench.js against each: a
Queue adds the jobs in bulk (1000 a call), a Worker with the given
concurrency runs them (each returns at once). Prints, per server, the
seconds to add them, the seconds until the last one completed, and jobs
per second over the whole run.

Run alone (after scripts/deps.sh, which installs tests/node):

  bench/bullmq.py --parley build/parley-server [--jobs 10000] [--concurrency 8]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from memory_hash_set import Server, free_ports

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_DIR = os.path.join(ROOT, "tests", "node")


def measure(server, jobs, concurrency, deadline_s):
    env = dict(os.environ, PORT=str(server.port), JOBS=str(jobs), CONCURRENCY=str(concurrency),
               DEADLINE_MS=str(int(deadline_s * 1000)))
    proc = subprocess.run(["node", "bullmq_bench.js"], cwd=NODE_DIR, env=env, capture_output=True,
                          text=True, timeout=deadline_s + 30)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{server.name}: bullmq_bench.js exited {proc.returncode}: "
                         f"{proc.stdout}{proc.stderr}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parley", required=True)
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=300.0, help="seconds one server may take")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "bullmq")):
        raise SystemExit("tests/node has no node_modules: run scripts/deps.sh")
    tmp = tempfile.mkdtemp(prefix="parley-bullmq-")
    pport, rport, raftport = free_ports(3)
    servers = []
    try:
        parley = Server("parley", [args.parley, "--port", str(pport), "--dir", os.path.join(tmp, "p"),
                                   "--node-id", "1", "--raft-addr", f"127.0.0.1:{raftport}"],
                        pport, os.path.join(tmp, "parley.log"))
        servers.append(parley)
        rdir = os.path.join(tmp, "r")
        os.makedirs(rdir)
        rs = Server("redis", [args.redis, "--port", str(rport), "--dir", rdir, "--save", "",
                              "--appendonly", "yes", "--appendfsync", "always"],
                    rport, os.path.join(tmp, "redis.log"))
        servers.append(rs)
        print(f"BullMQ: {args.jobs} jobs added in bulk, a Worker with concurrency {args.concurrency}")
        print(f"{'server':<10}{'add s':>9}{'total s':>9}{'jobs/s':>10}")
        rate = {}
        for s in (parley, rs):
            got = measure(s, args.jobs, args.concurrency, args.deadline)
            rate[s.name] = got["jobs"] / got["total_s"]
            print(f"{s.name:<10}{got['added_s']:>9.2f}{got['total_s']:>9.2f}{rate[s.name]:>10.0f}")
            sys.stdout.flush()
        print(f"parley/redis jobs per second: {rate['parley'] / rate['redis']:.2f}x")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
