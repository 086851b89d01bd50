#!/usr/bin/python3
"""Memory per list element: parley-server next to redis-server.

Starts both servers itself (free loopback ports, data directories in a
temporary directory outside the source tree), runs each workload on both
and prints bytes per element = (INFO memory used_memory after - before) /
elements. Workloads:

  one-key-1M     one list of 1,000,000 short strings ("element:123456")
  one-key-1M-int one list of 1,000,000 integers (stored as integers)
  100-per-key    10,000 lists of 100 short strings each

Parley's used_memory is the whole process's malloc accounting, which also
holds the Raft log kept in memory: parley runs with a small snapshot
threshold, and after loading, a few small writes push the list-bearing
entries out of the log before the measurement, which waits until
used_memory stops changing. Redis (jemalloc) and parley (glibc malloc)
count allocations differently, so small differences mean little.

Usage: bench/memory_list.py [--parley build/parley-server] [--redis redis-server]
                            [--elements N] [--keys K] [--per-key M]
Needs only the Debian python3 standard library and redis-py.
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def used_memory(c):
    return int(c.info("memory")["used_memory"])


def settled_memory(c, pad):
    """used_memory once it stops moving (two equal readings in a row),
    after `pad` tiny writes that push earlier entries out of parley's log."""
    for i in range(pad):
        c.set("__pad", i)
    last = [None]

    def stable():
        now = used_memory(c)
        same = now == last[0]
        last[0] = now
        return same
    wait_until(stable, 30, "used_memory to settle")
    return last[0]


def load_one_key(c, n, ints):
    batch = 1000
    pipe = c.pipeline(transaction=False)
    for start in range(0, n, batch):
        end = min(n, start + batch)
        elems = range(start, end) if ints else [f"element:{i}" for i in range(start, end)]
        pipe.rpush("biglist", *elems)
        if len(pipe) >= 20:
            pipe.execute()
    pipe.execute()
    assert c.llen("biglist") == n


def load_many_keys(c, keys, per_key):
    pipe = c.pipeline(transaction=False)
    for k in range(keys):
        pipe.rpush(f"list:{k}", *[f"element:{i}" for i in range(per_key)])
        if len(pipe) >= 100:
            pipe.execute()
    pipe.execute()
    assert c.dbsize() == keys + c.exists("__pad")
    assert c.llen(f"list:{keys - 1}") == per_key


def measure(c, load, elements, pad):
    c.flushall()
    before = settled_memory(c, pad)
    t0 = time.monotonic()
    load()
    seconds = time.monotonic() - t0
    after = settled_memory(c, pad)
    return (after - before) / elements, seconds


class Servers:
    def __init__(self, args):
        self.tmp = tempfile.mkdtemp(prefix="memory_list.")
        self.procs = []
        rport, pport, raft = free_ports(3)
        self.redis_port, self.parley_port = rport, pport
        self.start([args.redis, "--port", str(rport), "--dir", self.tmp, "--save", "",
                    "--appendonly", "no", "--daemonize", "no"], "redis.log")
        self.start([args.parley, "--port", str(pport), "--dir", os.path.join(self.tmp, "parley"),
                    "--raft-addr", f"127.0.0.1:{raft}", "--raft-snapshot-threshold", "64",
                    "--raft-snapshot-trailing", "16"], "parley.log")
        for port in (rport, pport):
            c = redis.Redis(port=port, socket_timeout=60)
            wait_until(lambda: c.set("__ready", "1"), 20, f"the server on port {port}")

    def start(self, argv, log):
        out = open(os.path.join(self.tmp, log), "wb")
        self.procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parley", default=os.path.join(ROOT, "build", "parley-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--elements", type=int, default=1000000)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--per-key", type=int, default=100)
    args = ap.parse_args()
    servers = Servers(args)
    try:
        sides = [("redis", redis.Redis(port=servers.redis_port, socket_timeout=120), 0),
                 ("parley", redis.Redis(port=servers.parley_port, socket_timeout=120), 200)]
        workloads = [
            (f"one-key-{args.elements}", args.elements,
             lambda c: load_one_key(c, args.elements, False)),
            (f"one-key-{args.elements}-int", args.elements,
             lambda c: load_one_key(c, args.elements, True)),
            (f"{args.per_key}-per-key x{args.keys}", args.keys * args.per_key,
             lambda c: load_many_keys(c, args.keys, args.per_key)),
        ]
        print(f"{'workload':<26} {'redis B/elem':>13} {'parley B/elem':>14} {'ratio':>7}"
              f" {'redis s':>8} {'parley s':>9}")
        for name, elements, load in workloads:
            got = {}
            for side, c, pad in sides:
                got[side] = measure(c, lambda: load(c), elements, pad)
            r, p = got["redis"][0], got["parley"][0]
            print(f"{name:<26} {r:>13.1f} {p:>14.1f} {p / r:>7.2f}"
                  f" {got['redis'][1]:>8.1f} {got['parley'][1]:>9.1f}")
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
