#!/usr/bin/python3
"""bench/snapshot_stall.py — the longest event-loop stall while a node
holding N keys takes snapshots under write load, Parley next to
redis-server's BGSAVE, from each server's own LATENCY LATEST.

Loads N keys (default 10,000,000; 8-byte values) with pipelined MSETs on a
durable parley-server node (raft-snapshot-threshold 1024, so that snapshots
come every few hundred milliseconds under load) and on redis-server with
`appendonly yes`, `appendfsync always`. Then sets latency-monitor-threshold
to 1 ms, resets the monitor, and runs a write load (pipelined SETs of 50,
one connection) until SNAPSHOTS snapshots were written: Parley's own
(INFO raft raft_snapshots_taken), redis-server's by BGSAVE, one after the
other. Prints, per server:

  load s       time to load the N keys
  snapshots    how many were written under the load
  stall ms     the largest latency LATEST reports, over every event
  event        the event it was recorded as ("event-loop", "fork", ...)
  ping max ms  the slowest PING of a second connection meanwhile

Run alone:

  bench/snapshot_stall.py --parley build/parley-server [--keys 10000000]
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


def load(port, n, deadline_s, per_cmd=1000, window=64):
    conn = Conn("127.0.0.1", port, time.monotonic() + deadline_s)
    pending = 0
    for start in range(0, n, per_cmd):
        args = ["MSET"]
        for i in range(start, min(start + per_cmd, n)):
            args += ["k:%d" % i, "value%03d" % (i % 1000)]
        conn.send(encode(*args))
        pending += 1
        if pending >= window:
            if conn.reply() != "OK":
                raise RuntimeError("MSET refused")
            pending -= 1
    while pending:
        if conn.reply() != "OK":
            raise RuntimeError("MSET refused")
        pending -= 1


class Background(threading.Thread):
    """Runs step() until stopped; for the write load and the pinger."""

    def __init__(self, server, step):
        super().__init__(daemon=True)
        self.client = server.client.__class__(host="127.0.0.1", port=server.port,
                                              socket_timeout=120)
        self.step = step
        self.done = threading.Event()
        self.max_s = 0.0
        self.error = None

    def run(self):
        try:
            while not self.done.is_set():
                t = time.perf_counter()
                self.step(self.client)
                self.max_s = max(self.max_s, time.perf_counter() - t)
        except Exception as e:
            self.error = e


def writes(client):
    p = client.pipeline(transaction=False)
    for i in range(50):
        p.set("w:%d" % i, i)
    p.execute()


def ping(client):
    client.ping()
    time.sleep(0.005)


def parley_snapshots(server, count, deadline):
    info = server.client.info("raft")
    base = int(info["raft_snapshots_taken"])
    while int(server.client.info("raft")["raft_snapshots_taken"]) < base + count:
        if time.monotonic() > deadline:
            raise SystemExit("parley: snapshots did not come in time")
        time.sleep(0.05)
    return count


def redis_snapshots(server, count, deadline):
    for _ in range(count):
        server.client.bgsave()
        while server.client.info("persistence")["rdb_bgsave_in_progress"]:
            if time.monotonic() > deadline:
                raise SystemExit("redis: BGSAVE did not end in time")
            time.sleep(0.05)
    return count


def measure(server, n, snapshots, deadline_s, take):
    t0 = time.monotonic()
    load(server.port, n, deadline_s)
    t1 = time.monotonic()
    server.client.config_set("latency-monitor-threshold", 1)
    server.client.execute_command("LATENCY", "RESET")
    load_thread = Background(server, writes)
    pinger = Background(server, ping)
    load_thread.start()
    pinger.start()
    try:
        took = take(server, snapshots, time.monotonic() + deadline_s)
    finally:
        load_thread.done.set()
        pinger.done.set()
        load_thread.join(60)
        pinger.join(60)
    for t in (load_thread, pinger):
        if t.error:
            raise SystemExit(f"{server.name}: {t.error!r}")
    worst_ms, worst_event = 0, "-"
    for event, _, _, max_ms in server.client.execute_command("LATENCY", "LATEST"):
        if int(max_ms) > worst_ms:
            worst_ms = int(max_ms)
            worst_event = event.decode() if isinstance(event, bytes) else event
    return t1 - t0, took, worst_ms, worst_event, pinger.max_s * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parley", required=True)
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--keys", type=int, default=10_000_000)
    ap.add_argument("--snapshots", type=int, default=3)
    ap.add_argument("--deadline", type=float, default=600.0,
                    help="seconds one server may take to load, and to snapshot")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="parley-snapstall-")
    pport, rport, raftport = free_ports(3)
    servers = []
    try:
        parley = Server("parley", [args.parley, "--port", str(pport), "--dir", os.path.join(tmp, "p"),
                                   "--node-id", "1", "--raft-addr", f"127.0.0.1:{raftport}",
                                   "--raft-snapshot-threshold", "1024"],
                        pport, os.path.join(tmp, "parley.log"))
        servers.append(parley)
        rdir = os.path.join(tmp, "r")
        os.makedirs(rdir)
        rs = Server("redis", [args.redis, "--port", str(rport), "--dir", rdir, "--save", "",
                              "--appendonly", "yes", "--appendfsync", "always"],
                    rport, os.path.join(tmp, "redis.log"))
        servers.append(rs)
        print(f"{args.keys} keys, {args.snapshots} snapshots under write load (LATENCY LATEST, "
              f"threshold 1 ms)")
        print(f"{'server':<10}{'load s':>9}{'snapshots':>11}{'stall ms':>10}  {'event':<14}"
              f"{'ping max ms':>12}")
        for s, take in ((parley, parley_snapshots), (rs, redis_snapshots)):
            ld, took, stall, event, pmax = measure(s, args.keys, args.snapshots, args.deadline, take)
            print(f"{s.name:<10}{ld:>9.2f}{took:>11}{stall:>10}  {event:<14}{pmax:>12.1f}")
            sys.stdout.flush()
            s.stop()
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
