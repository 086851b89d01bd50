#!/usr/bin/python3
"""Bytes per sorted-set element: parley-server against redis-server.

Starts both servers itself (free loopback ports, data in a temporary
directory, removed at the end), loads the same data into each and reports
the growth of INFO memory's used_memory divided by the number of elements:

  one big key   one sorted set of --elements members (a skiplist)
  100 per key   --elements / 100 sorted sets of 100 members (listpacks)

Members are "member:<n>" (12 to 14 bytes), scores are doubles with a
fraction (so neither server can store them as small integers). Parley runs
as one durable node with frequent log compaction, and is given a moment
after loading to take its snapshot, so that the Raft log held in memory
does not count as data. Both numbers include each server's own per-key
overhead (the key, its dict entry) divided among the elements.

  bench/memory_zset.py                       # 1,000,000 elements
  bench/memory_zset.py --elements 200000     # quicker
  bench/memory_zset.py --parley build/parley-server --redis redis-server

Needs Debian's python3 and redis-py only.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
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


def wait_ready(client, proc, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited with {proc.returncode}")
        try:
            if client.set("__ready", "1"):
                client.delete("__ready")
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    sys.exit(f"{name} did not become ready within {timeout}s")


def used_memory(client):
    return int(client.info("memory")["used_memory"])


def settle(client, seconds):
    """used_memory once it stops moving (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    last = used_memory(client)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = used_memory(client)
        if abs(now - last) < 4096:
            return now
        last = now
    return last


def load_big(client, n, rnd):
    pipe = client.pipeline(transaction=False)
    batch = {}
    for i in range(n):
        batch[f"member:{i}"] = rnd.random() * 1e6
        if len(batch) == 1000:
            pipe.zadd("big", batch)
            batch = {}
            if len(pipe) == 50:
                pipe.execute()
    if batch:
        pipe.zadd("big", batch)
    pipe.execute()
    assert client.zcard("big") == n
    return client.object("encoding", "big")


def load_small(client, n, rnd):
    keys = n // 100
    pipe = client.pipeline(transaction=False)
    for k in range(keys):
        pipe.zadd(f"zs:{k}", {f"member:{i}": rnd.random() * 1e6 for i in range(100)})
        if len(pipe) == 200:
            pipe.execute()
    pipe.execute()
    assert client.zcard(f"zs:{keys - 1}") == 100
    return client.object("encoding", "zs:0")


def measure(client, loader, n, settle_s, compact):
    """Bytes per element that loading n elements adds. compact() runs
    before each reading: it lets parley drop its in-memory Raft log."""
    client.flushall()
    compact()
    before = settle(client, settle_s)
    encoding = loader(client, n, random.Random(1))
    compact()
    after = settle(client, settle_s)
    return (after - before) / n, encoding


def pad_writes(client):
    """Enough log entries past the snapshot threshold for the node to take
    a snapshot and truncate its log, so the log is not counted as data."""
    for i in range(80):
        client.set("__pad", i)
    client.delete("__pad")


class Server:
    def __init__(self, name, args, port, log):
        self.name = name
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True,
                                  socket_timeout=120)
        wait_ready(self.client, self.proc, name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--parley", default=os.path.join(ROOT, "build", "parley-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to let memory settle")
    args = ap.parse_args()
    n = args.elements - args.elements % 100
    tmp = tempfile.mkdtemp(prefix="memory_zset.")
    servers = []
    try:
        rp, pp, raft = free_ports(3)
        redis_side = Server("redis", [args.redis, "--port", str(rp), "--dir", tmp, "--save", "",
                                      "--appendonly", "no"], rp, os.path.join(tmp, "redis.log"))
        servers.append(redis_side)
        parley_side = Server("parley", [args.parley, "--port", str(pp), "--dir",
                                        os.path.join(tmp, "parley"), "--raft-addr",
                                        f"127.0.0.1:{raft}", "--raft-snapshot-threshold", "64",
                                        "--raft-snapshot-trailing", "16"], pp,
                             os.path.join(tmp, "parley.log"))
        servers.append(parley_side)
        version = redis_side.client.info("server")["redis_version"]
        rows = []
        for label, loader in (("one big key", load_big), ("100 per key", load_small)):
            row = [label]
            for side in (redis_side, parley_side):
                compact = (lambda cl=side.client: pad_writes(cl)) if side is parley_side else (lambda: None)
                per, encoding = measure(side.client, loader, n, args.settle, compact)
                row += [f"{per:.1f}", encoding]
            rows.append(row)
        print(f"sorted sets, {n:,} elements per workload; bytes per element "
              f"(INFO used_memory growth / elements)")
        print(f"{'workload':<14} {'redis ' + version:>16} {'encoding':>10} {'parley':>10} {'encoding':>10}"
              f" {'parley/redis':>13}")
        for label, rb, re, pb, pe in rows:
            print(f"{label:<14} {rb:>16} {re:>10} {pb:>10} {pe:>10} {float(pb) / float(rb):>13.2f}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
