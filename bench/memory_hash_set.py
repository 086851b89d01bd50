#!/usr/bin/python3
"""bench/memory_hash_set.py — bytes per element of hashes and sets, Parley
next to redis-server.

Starts one durable parley-server node and one redis-server (no persistence),
each on free loopback ports with its data directory in a fresh temporary
directory, loads the same workloads into both and prints INFO memory
`used_memory` growth divided by the number of elements:

  hash 1M         one hash of 1,000,000 fields ("field:N" -> "value:N")
  hash 100/key    10,000 hashes of 100 fields ("f:N" -> "v:N"; listpack)
  set 1M str      one set of 1,000,000 members ("member:N")
  set 1M int      one set of 1,000,000 integers
  set 100/key int 10,000 sets of 100 integers (intset)
  set 100/key str 10,000 sets of 100 members ("m:N"; small hashtables)

Each workload starts from FLUSHALL; memory is read once it has settled.
Parley runs with a small Raft snapshot threshold so that the log entries
that carried the data are compacted away. Its used_memory counts the usable
size of every allocation Parley's code makes (glibc's malloc; the Raft log is
not counted), Redis's is jemalloc's: the allocators round differently, so
small differences mean little.

Usage: bench/memory_hash_set.py [--parley build/parley-server]
                                [--redis redis-server] [--scale 1.0]
--scale multiplies the element counts (0.1 for a quick run).
Needs Debian's python3 with redis-py (python3-redis).
"""
import argparse
import os
import shutil
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


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError) as e:
            last = e
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what} ({last!r})")


class Server:
    def __init__(self, name, argv, port, log_path):
        self.name = name
        self.port = port
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)
        wait_until(self.ready, 20, f"{name} to accept writes")

    def ready(self):
        if self.proc.poll() is not None:
            raise SystemExit(f"{self.name} exited with {self.proc.returncode}")
        return self.client.set("__ready", "1")

    def used_memory(self):
        return int(self.client.info("memory")["used_memory"])

    def settled_memory(self):
        """used_memory once it stops moving (Parley's snapshots and log
        compaction run after the writes are acknowledged)."""
        for i in range(200):  # push the Raft log past its snapshot threshold
            self.client.set("__settle", i)
        last = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = self.used_memory()
            if now == last:
                return now
            last = now
            time.sleep(0.3)
        return last

    def stop(self):
        try:
            self.client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def load_big_hash(c, n, batch=1000):
    p = c.pipeline(transaction=False)
    for start in range(0, n, batch):
        args = []
        for i in range(start, min(n, start + batch)):
            args += [f"field:{i}", f"value:{i}"]
        p.execute_command("HSET", "bighash", *args)
        if len(p) >= 50:
            p.execute()
    p.execute()


def load_small_hashes(c, keys, per_key):
    p = c.pipeline(transaction=False)
    for k in range(keys):
        args = []
        for i in range(per_key):
            args += [f"f:{i}", f"v:{i}"]
        p.execute_command("HSET", f"hash:{k}", *args)
        if len(p) >= 200:
            p.execute()
    p.execute()


def load_big_set(c, n, member, batch=1000):
    p = c.pipeline(transaction=False)
    for start in range(0, n, batch):
        p.execute_command("SADD", "bigset", *[member(i) for i in range(start, min(n, start + batch))])
        if len(p) >= 50:
            p.execute()
    p.execute()


def load_small_sets(c, keys, per_key, member):
    p = c.pipeline(transaction=False)
    for k in range(keys):
        p.execute_command("SADD", f"set:{k}", *[member(i) for i in range(per_key)])
        if len(p) >= 200:
            p.execute()
    p.execute()


def count_label(n):
    """1000000 -> "1M", 100000 -> "100k": the workload names follow --scale."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def workloads(scale):
    big = max(1000, int(1_000_000 * scale))
    keys = max(10, int(10_000 * scale))
    b = count_label(big)
    return [
        (f"hash {b}", big, lambda c: load_big_hash(c, big), ("bighash", "hashtable")),
        ("hash 100/key", keys * 100, lambda c: load_small_hashes(c, keys, 100),
         ("hash:0", "listpack")),
        (f"set {b} str", big, lambda c: load_big_set(c, big, lambda i: f"member:{i}"),
         ("bigset", "hashtable")),
        (f"set {b} int", big, lambda c: load_big_set(c, big, str), ("bigset", "hashtable")),
        ("set 100/key int", keys * 100, lambda c: load_small_sets(c, keys, 100, str),
         ("set:0", "intset")),
        ("set 100/key str", keys * 100, lambda c: load_small_sets(c, keys, 100, lambda i: f"m:{i}"),
         ("set:0", "hashtable")),
    ]


def measure(server, name, elements, load, check):
    c = server.client
    c.flushall()
    before = server.settled_memory()
    t0 = time.monotonic()
    load(c)
    took = time.monotonic() - t0
    key, encoding = check
    got = c.object("encoding", key)
    got = got.decode() if isinstance(got, bytes) else got
    if got != encoding:
        raise SystemExit(f"{server.name}: {name}: {key} is {got}, expected {encoding}")
    after = server.settled_memory()
    return (after - before) / elements, took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parley", default=os.path.join(ROOT, "build", "parley-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="parley-memory-")
    pport, rport, raftport = free_ports(3)
    servers = []
    try:
        parley = Server("parley", [args.parley, "--port", str(pport), "--dir", os.path.join(tmp, "p"),
                                   "--node-id", "1", "--raft-addr", f"127.0.0.1:{raftport}",
                                   "--raft-snapshot-threshold", "64",
                                   "--raft-snapshot-trailing", "16"],
                        pport, os.path.join(tmp, "parley.log"))
        servers.append(parley)
        rdir = os.path.join(tmp, "r")
        os.makedirs(rdir)
        rs = Server("redis", [args.redis, "--port", str(rport), "--dir", rdir, "--save", "",
                              "--appendonly", "no"], rport, os.path.join(tmp, "redis.log"))
        servers.append(rs)
        print(f"{'workload':<18}{'elements':>10}{'parley B/elem':>15}{'redis B/elem':>14}"
              f"{'ratio':>8}{'load s (p/r)':>16}")
        for name, elements, load, check in workloads(args.scale):
            pb, pt = measure(parley, name, elements, load, check)
            rb, rt = measure(rs, name, elements, load, check)
            print(f"{name:<18}{elements:>10}{pb:>15.1f}{rb:>14.1f}{pb / rb:>8.2f}"
                  f"{pt:>8.1f}/{rt:<7.1f}", flush=True)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
