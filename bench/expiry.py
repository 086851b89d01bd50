#!/usr/bin/python3
"""bench/expiry.py — how fast expired keys are reclaimed, Parley next to
redis-server, and how PING fares meanwhile.

Sets N keys (default 1,000,000) with `SET key:<i> v PX <ttl>` (default
1000 ms), pipelined over one connection, on a durable parley-server node
and on redis-server with `appendonly yes`, `appendfsync always`. Keys start
expiring while the load is still running. Prints, per server:

  load s         first SET sent to last SET acknowledged
  empty s        last SET acknowledged to DBSIZE 0 (polled every 50 ms)
  total s        first SET sent to DBSIZE 0
  ping max ms    the slowest PING of a second connection that pings every
                 10 ms from the end of the load until DBSIZE is 0
  ping p99 ms    its 99th percentile

Run alone:

  bench/expiry.py --parley build/parley-server [--keys 1000000] [--ttl-ms 1000]
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

from memory_hash_set import Server, free_ports
from tools import Conn, encode


def load(port, n, ttl_ms, deadline_s, window=2000):
    conn = Conn("127.0.0.1", port, time.monotonic() + deadline_s)
    pending = 0
    for i in range(n):
        conn.send(encode("SET", "key:%d" % i, "v", "PX", str(ttl_ms)))
        pending += 1
        if pending >= window:
            got = conn.reply()
            if got != "OK":
                raise RuntimeError("SET answered %r" % (got,))
            pending -= 1
    while pending:
        got = conn.reply()
        if got != "OK":
            raise RuntimeError("SET answered %r" % (got,))
        pending -= 1


class Pinger(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True)
        self.client = server.client.__class__(host="127.0.0.1", port=server.port, socket_timeout=30)
        self.latencies = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            t = time.perf_counter()
            self.client.ping()
            self.latencies.append(time.perf_counter() - t)
            self.done.wait(0.01)


def measure(server, n, ttl_ms, deadline_s):
    server.client.flushall()
    t0 = time.monotonic()
    load(server.port, n, ttl_ms, deadline_s)
    t1 = time.monotonic()
    pinger = Pinger(server)
    pinger.start()
    try:
        while server.client.dbsize() > 0:
            if time.monotonic() - t0 > deadline_s:
                raise SystemExit(f"{server.name}: {server.client.dbsize()} keys left after "
                                 f"{deadline_s} s")
            time.sleep(0.05)
        t2 = time.monotonic()
    finally:
        pinger.done.set()
        pinger.join(30)
    lat = sorted(pinger.latencies) or [0.0]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return t1 - t0, t2 - t1, t2 - t0, lat[-1] * 1000, p99 * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parley", required=True)
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--ttl-ms", type=int, default=1000)
    ap.add_argument("--deadline", type=float, default=300.0,
                    help="seconds one server may take to load and empty")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="parley-expiry-")
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
        print(f"{args.keys} keys, SET PX {args.ttl_ms}")
        print(f"{'server':<10}{'load s':>9}{'empty s':>9}{'total s':>9}{'ping max ms':>13}"
              f"{'ping p99 ms':>13}")
        rows = {}
        for s in (parley, rs):
            rows[s.name] = measure(s, args.keys, args.ttl_ms, args.deadline)
            ld, empty, total, pmax, p99 = rows[s.name]
            print(f"{s.name:<10}{ld:>9.2f}{empty:>9.2f}{total:>9.2f}{pmax:>13.1f}{p99:>13.1f}")
            sys.stdout.flush()
        ratio = rows["parley"][2] / rows["redis"][2] if rows["redis"][2] > 0 else float("nan")
        print(f"parley/redis total time: {ratio:.2f}x")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
