#!/usr/bin/python3
"""bench/memory_keys.py — bytes per key of the keyspace, and per member of a
skiplist sorted set, Parley next to redis-server.

What each replicated order costs: every database lists its keys in a dense
array (8 bytes per key, up to twice that while the array has room to grow)
so that KEYS, SCAN and RANDOMKEY answer the same on every replica, a key
with an expiry has a 16-byte slot in its database's expiring array, and a
skiplist sorted set lists its members in the same kind of array for ZSCAN.
Workloads, each from FLUSHALL:

  keys 1M         1,000,000 string keys ("key:N" -> "value:N")
  keys 1M ttl     the same, each with an expiry (SET ... EX)
  zset 1M         one sorted set of 1,000,000 members ("member:N", score N.5)

Prints INFO memory `used_memory` growth divided by the number of keys or
members, settled as bench/memory_hash_set.py settles it (whose server
handling this reuses). Run it against two builds to see what a change
costs:

  bench/memory_keys.py --parley build/parley-server [--scale 0.1]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from memory_hash_set import ROOT, Server, free_ports


def load_keys(c, n, ttl, batch=1000):
    p = c.pipeline(transaction=False)
    for i in range(n):
        if ttl:
            p.execute_command("SET", f"key:{i}", f"value:{i}", "EX", 100000)
        else:
            p.execute_command("SET", f"key:{i}", f"value:{i}")
        if len(p) >= batch:
            p.execute()
    p.execute()


def load_zset(c, n, batch=1000):
    p = c.pipeline(transaction=False)
    for start in range(0, n, batch):
        args = []
        for i in range(start, min(n, start + batch)):
            args += [f"{i}.5", f"member:{i}"]
        p.execute_command("ZADD", "bigzset", *args)
        if len(p) >= 50:
            p.execute()
    p.execute()


def workloads(scale):
    n = max(1000, int(1_000_000 * scale))
    return [
        ("keys 1M", n, lambda c: load_keys(c, n, False), None),
        ("keys 1M ttl", n, lambda c: load_keys(c, n, True), None),
        ("zset 1M", n, lambda c: load_zset(c, n), ("bigzset", "skiplist")),
    ]


def measure(server, elements, load, check):
    c = server.client
    c.flushall()
    before = server.settled_memory()
    t0 = time.monotonic()
    load(c)
    took = time.monotonic() - t0
    if check:
        key, encoding = check
        got = c.object("encoding", key)
        got = got.decode() if isinstance(got, bytes) else got
        if got != encoding:
            raise SystemExit(f"{server.name}: {key} is {got}, expected {encoding}")
    after = server.settled_memory()
    return (after - before) / elements, took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parley", default=os.path.join(ROOT, "build", "parley-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="parley-memory-keys-")
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
        print(f"{'workload':<14}{'elements':>10}{'parley B/elem':>15}{'redis B/elem':>14}"
              f"{'ratio':>8}{'load s (p/r)':>16}")
        for name, elements, load, check in workloads(args.scale):
            pb, pt = measure(parley, elements, load, check)
            rb, rt = measure(rs, elements, load, check)
            print(f"{name:<14}{elements:>10}{pb:>15.1f}{rb:>14.1f}{pb / rb:>8.2f}"
                  f"{pt:>8.1f}/{rt:<7.1f}", flush=True)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
