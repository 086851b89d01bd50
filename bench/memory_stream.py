#!/usr/bin/python3
"""Memory per stream entry: parley-server next to redis-server.

Starts both servers (bench/memory_list.py's Servers: free loopback ports,
parley with a small snapshot threshold so that its in-memory Raft log is
compacted before each reading), then on each:

  one-stream-1M    XADD s * of 1,000,000 entries with 5 fields each
                   (user, action, page, ms, ok: the same field names in
                   every entry, values of 1 to 12 bytes), pipelined
  then XTRIM       XTRIM s MAXLEN 0: what is left of that growth, per
                   entry added (a trimmed stream gives its memory back)

and prints bytes per entry = (INFO used_memory after - before) / entries.
Redis (jemalloc) and parley (glibc malloc) count allocations differently,
so small differences mean little.

Usage: bench/memory_stream.py [--parley build/parley-server] [--redis redis-server]
                              [--entries N]
Needs only the Debian python3 standard library and redis-py.
"""
import argparse
import os
import sys
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memory_list import ROOT, Servers, settled_memory  # noqa: E402


def load(c, n):
    pipe = c.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd("s", {"user": f"user:{i % 10007}", "action": "click",
                        "page": f"/page/{i % 97}", "ms": str(i * 7), "ok": "1"})
        if len(pipe) >= 1000:
            pipe.execute()
    pipe.execute()
    assert c.xlen("s") == n


def measure(c, n, pad):
    """(bytes per entry held, seconds to load, bytes per entry left after
    XTRIM MAXLEN 0)."""
    c.flushall()
    c.xgroup_create("s", "g", id="$", mkstream=True)  # keeps the key when trimmed empty
    before = settled_memory(c, pad)
    t0 = time.monotonic()
    load(c, n)
    seconds = time.monotonic() - t0
    held = settled_memory(c, pad) - before
    assert c.xtrim("s", maxlen=0, approximate=False) == n
    left = settled_memory(c, pad) - before
    return held / n, seconds, left / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parley", default=os.path.join(ROOT, "build", "parley-server"))
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--entries", type=int, default=1000000)
    args = ap.parse_args()
    servers = Servers(args)
    try:
        sides = [("redis", redis.Redis(port=servers.redis_port, socket_timeout=120), 0),
                 ("parley", redis.Redis(port=servers.parley_port, socket_timeout=120), 200)]
        # A first burst grows some of parley's own buffers once (see
        # tests/integration/test_stream_memory.py): warm both up alike.
        for _, c, _ in sides:
            load(c, min(args.entries, 100000))
        got = {side: measure(c, args.entries, pad) for side, c, pad in sides}
        print(f"{'workload':<26} {'redis B/entry':>14} {'parley B/entry':>15} {'ratio':>7}"
              f" {'redis s':>8} {'parley s':>9}")
        r, p = got["redis"], got["parley"]
        name = f"one-stream-{args.entries}"
        print(f"{name:<26} {r[0]:>14.1f} {p[0]:>15.1f} {p[0] / r[0]:>7.2f}"
              f" {r[1]:>8.1f} {p[1]:>9.1f}")
        print(f"{'  then XTRIM MAXLEN 0':<26} {r[2]:>14.1f} {p[2]:>15.1f} {'-':>7}"
              f" {'-':>8} {'-':>9}")
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
