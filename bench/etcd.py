#!/usr/bin/python3
"""bench/etcd.py — Parley next to etcd: durable writes, locks, election failover.

Starts three etcd members (Debian's etcd-server 3.4; fsync on, as by default)
and a three-node Parley cluster on free loopback ports, every data directory
inside one temporary directory (build/bench-tmp/etcd.XXXXXX), and measures,
each for --seconds:

  put/SET, 1, 16 and 64 clients   etcd put (v3 JSON gateway, /v3/kv/put) vs
                                  Parley SET, each client its own keys
  lock, 1 and 16 clients          acquire + release of a lock of the client's
                                  own (uncontended): etcd's concurrency lock
                                  (/v3/lock/lock + /v3/lock/unlock with a
                                  lease granted once per client) vs
                                  LOCK.ACQUIRE/LOCK.RELEASE vs redis-py's
                                  Lock (SET NX PX + a release script) on Parley
  election failover               an application leader campaigns through the
                                  Raft leader node, a candidate waits in a
                                  campaign through a follower; right after the
                                  leader renews its lease the leader node is
                                  SIGKILLed; time until the candidate's
                                  campaign returns (it leads). Equal TTLs.

Load clients are processes (up to --procs, 8; threads inside them beyond that),
each client one connection kept open for the whole run; etcd clients speak
HTTP/1.1 keep-alive to the gateway, Parley clients RESP. Every client talks
to its side's Raft leader (a follower would forward). The clients' own CPU
time is measured and printed next to the servers', so a client-bound row
shows. Everything has a deadline; every server is killed at the end, on
error too.

Usage: bench/etcd.py [--seconds 5] [--trials 3] [--ttl-ms 3000]
                     [--write-results bench/RESULTS.md]
"""
import argparse
import base64
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Parley vs etcd"
READY_TIMEOUT = 30.0
OP_TIMEOUT = 10.0


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


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


# ---- clients ---------------------------------------------------------------

class Resp:
    """One RESP2 connection, kept open."""

    def __init__(self, port, timeout=OP_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def call(self, *parts):
        out = [b"*%d\r\n" % len(parts)]
        for p in parts:
            p = p if isinstance(p, bytes) else str(p).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(p), p))
        self.sock.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            raise RuntimeError(body.decode(errors="replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            return None if n < 0 else self.rfile.read(n + 2)[:-2]
        if kind == b"*":
            n = int(body)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line[:80])

    def close(self):
        self.sock.close()


class Http:
    """One HTTP/1.1 keep-alive connection to etcd's v3 JSON gateway."""

    def __init__(self, port, timeout=OP_TIMEOUT):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def post(self, path, obj):
        body = json.dumps(obj).encode()
        self.sock.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self.port, len(body), body))
        status = self.rfile.readline()
        if not status:
            raise ConnectionError("connection closed")
        length, chunked = None, False
        while True:
            h = self.rfile.readline()
            if h in (b"\r\n", b""):
                break
            name, _, value = h.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(n))
                self.rfile.readline()
            data = b"".join(parts)
        else:
            data = self.rfile.read(length or 0)
        code = int(status.split()[1])
        if code != 200:
            raise RuntimeError("%s: HTTP %d %s" % (path, code, data[:200]))
        reply = json.loads(data.splitlines()[0]) if data else {}
        if "error" in reply:
            raise RuntimeError("%s: %s" % (path, reply["error"]))
        return reply.get("result", reply)

    def close(self):
        self.sock.close()


# ---- workloads: a client's setup and one operation ---------------------------
# Each is built in the worker process, one per client, and keeps its
# connection for the whole run. op() raises on any unexpected answer.

VALUE = "v" * 16


class EtcdPut:
    def __init__(self, port, i):
        self.c, self.i, self.n = Http(port), i, 0

    def op(self):
        self.n += 1
        self.c.post("/v3/kv/put", {"key": b64("bench/k/%d/%d" % (self.i, self.n % 1000)), "value": b64(VALUE)})


class ParleySet:
    def __init__(self, port, i):
        self.c, self.i, self.n = Resp(port), i, 0

    def op(self):
        self.n += 1
        if self.c.call("SET", "bench:k:%d:%d" % (self.i, self.n % 1000), VALUE) != "OK":
            raise RuntimeError("SET did not answer OK")


LOCK_TTL_S = 10


class EtcdLock:
    def __init__(self, port, i):
        self.c = Http(port)
        self.name = b64("bench/lock/%d" % i)
        self.lease = self.c.post("/v3/lease/grant", {"TTL": LOCK_TTL_S})["ID"]

    def op(self):
        key = self.c.post("/v3/lock/lock", {"name": self.name, "lease": self.lease})["key"]
        self.c.post("/v3/lock/unlock", {"key": key})


class ParleyLock:
    def __init__(self, port, i):
        self.c, self.key, self.owner = Resp(port), "bench:lock:%d" % i, "c%d" % i

    def op(self):
        token = self.c.call("LOCK.ACQUIRE", self.key, self.owner, LOCK_TTL_S * 1000)
        if not isinstance(token, int):
            raise RuntimeError("LOCK.ACQUIRE answered %r" % (token,))
        if self.c.call("LOCK.RELEASE", self.key, token) != 1:
            raise RuntimeError("LOCK.RELEASE did not release")


class RedisPyLock:
    def __init__(self, port, i):
        import redis
        self.r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=OP_TIMEOUT)
        self.lock = self.r.lock("bench:rlock:%d" % i, timeout=LOCK_TTL_S)
        self.r.ping()

    def op(self):
        if not self.lock.acquire(blocking=False):
            raise RuntimeError("redis-py Lock not acquired")
        self.lock.release()


# etcd's native API, gRPC (python3-grpcio), with the few protobuf messages
# needed encoded here by hand (field numbers from etcd's rpc.proto and
# v3lock.proto). Each client its own channel and TCP connection.

def pb_varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_encode(*fields):
    """fields: (number, int or bytes) pairs -> a protobuf message."""
    out = []
    for num, v in fields:
        if isinstance(v, int):
            out.append(pb_varint(num << 3) + pb_varint(v))
        else:
            out.append(pb_varint(num << 3 | 2) + pb_varint(len(v)) + v)
    return b"".join(out)


def pb_decode(data):
    """A protobuf message -> {field number: last value (int or bytes)}."""
    out, i = {}, 0
    while i < len(data):
        key, i = pb_read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = pb_read_varint(data, i)
        elif wt == 2:
            n, i = pb_read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError("protobuf wire type %d" % wt)
        out[num] = v
    return out


def pb_read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


class Grpc:
    def __init__(self, port):
        import grpc  # in the worker process only: gRPC and fork() do not mix
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % port,
                                             options=[("grpc.use_local_subchannel_pool", 1)])
        self.methods = {}

    def call(self, method, *fields):
        m = self.methods.get(method)
        if m is None:
            m = self.methods[method] = self.channel.unary_unary(method)
        return pb_decode(m(pb_encode(*fields), timeout=OP_TIMEOUT))


class EtcdGrpcPut:
    def __init__(self, port, i):
        self.c, self.i, self.n = Grpc(port), i, 0

    def op(self):
        self.n += 1
        self.c.call("/etcdserverpb.KV/Put", (1, b"bench/k/%d/%d" % (self.i, self.n % 1000)), (2, VALUE.encode()))


class EtcdGrpcLock:
    def __init__(self, port, i):
        self.c = Grpc(port)
        self.name = b"bench/glock/%d" % i
        self.lease = self.c.call("/etcdserverpb.Lease/LeaseGrant", (1, LOCK_TTL_S))[2]

    def op(self):
        key = self.c.call("/v3lockpb.Lock/Lock", (1, self.name), (2, self.lease))[2]
        self.c.call("/v3lockpb.Lock/Unlock", (1, key))


WORKLOADS = {"etcd gRPC put": EtcdGrpcPut, "etcd JSON put": EtcdPut, "parley SET": ParleySet,
             "etcd gRPC lock": EtcdGrpcLock, "etcd JSON lock": EtcdLock,
             "parley LOCK.*": ParleyLock, "redis-py Lock": RedisPyLock}


def worker(kind, port, first, count, conn):
    """A worker process: `count` clients (threads), numbered from `first`.
    Sends "ready" (or an error), waits for [start, end], runs until end,
    sends [ops, latencies, cpu seconds in the window, error]."""
    try:
        clients = [WORKLOADS[kind](port, first + k) for k in range(count)]
    except Exception as e:  # noqa: BLE001 — reported to the driver
        conn.send(("error", "%s setup: %r" % (kind, e)))
        return
    conn.send(("ready", None))
    start, end = conn.recv()
    results = [None] * count

    def run(k):
        lat, ops, err = [], 0, None
        op = clients[k].op
        while time.monotonic() < start:
            time.sleep(0.001)
        try:
            while True:
                t0 = time.monotonic()
                if t0 >= end:
                    break
                op()
                t1 = time.monotonic()
                if t1 <= end:
                    ops += 1
                    lat.append(t1 - t0)
        except Exception as e:  # noqa: BLE001
            err = "%s: %r" % (kind, e)
        results[k] = (ops, lat, err)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    while time.monotonic() < start:
        time.sleep(0.001)
    cpu0 = time.process_time()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu0
    ops = sum(r[0] for r in results)
    lat = [x for r in results for x in r[1]]
    errs = [r[2] for r in results if r[2]]
    conn.send(("done", (ops, lat, cpu, errs[0] if errs else None)))


def proc_cpu(pids):
    """utime + stime of the given processes, in seconds."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def run_load(kind, port, clients, seconds, procs, server_pids):
    """Runs `clients` clients of a workload for `seconds`; returns a dict."""
    nproc = min(clients, procs)
    ctx = multiprocessing.get_context("fork")
    workers, first = [], 0
    for w in range(nproc):
        count = clients // nproc + (1 if w < clients % nproc else 0)
        parent, child = ctx.Pipe()
        p = ctx.Process(target=worker, args=(kind, port, first, count, child), daemon=True)
        p.start()
        workers.append((p, parent))
        first += count
    try:
        for p, c in workers:
            if not c.poll(READY_TIMEOUT):
                raise RuntimeError("%s: a worker was not ready within %ds" % (kind, READY_TIMEOUT))
            what, detail = c.recv()
            if what != "ready":
                raise RuntimeError(detail)
        start = time.monotonic() + 0.2
        end = start + seconds
        for p, c in workers:
            c.send((start, end))
        while time.monotonic() < start:
            time.sleep(0.005)
        scpu0 = proc_cpu(server_pids)
        while time.monotonic() < end:
            time.sleep(0.01)
        scpu = proc_cpu(server_pids) - scpu0
        ops, lat, cpu = 0, [], 0.0
        for p, c in workers:
            if not c.poll(end - time.monotonic() + OP_TIMEOUT + 5):
                raise RuntimeError("%s: a worker did not finish" % kind)
            what, detail = c.recv()
            if detail[3]:
                raise RuntimeError(detail[3])
            ops += detail[0]
            lat += detail[1]
            cpu += detail[2]
    finally:
        for p, c in workers:
            p.join(2)
            if p.is_alive():
                p.kill()
                p.join()
    lat.sort()
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: float("nan"))
    ncpu = os.cpu_count() or 1
    return {"rate": ops / seconds, "ops": ops, "p50": pct(0.50), "p99": pct(0.99),
            "client_cpu": 100 * cpu / (seconds * ncpu), "server_cpu": 100 * scpu / (seconds * ncpu)}


# ---- clusters ---------------------------------------------------------------

def wait_until(what, cond, timeout=READY_TIMEOUT, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = cond()
            if v:
                return v
        except (OSError, RuntimeError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("not within %ds: %s" % (timeout, what))
        time.sleep(every)


def die_with_parent():
    """In a server's child process before exec: SIGKILL it if this script
    dies (even by SIGKILL), so no server outlives a run."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Cluster:
    """Three members; start/kill/restart by index; leader() -> index."""

    def __init__(self, tmp, name):
        self.tmp, self.name = tmp, name
        self.procs = [None, None, None]
        self.logs = [os.path.join(tmp, "%s%d.log" % (name, i + 1)) for i in range(3)]

    def start(self, i):
        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(self.command(i), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        log.close()

    def kill(self, i):
        p = self.procs[i]
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def stop_all(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for p in self.procs:
            if p:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def pids(self):
        return [p.pid for p in self.procs if p and p.poll() is None]

    def alive(self):
        return [i for i, p in enumerate(self.procs) if p and p.poll() is None]

    def check_alive(self):
        for i, p in enumerate(self.procs):
            if p and p.poll() is not None:
                raise RuntimeError("%s member %d exited (rc %s); log %s" % (self.name, i + 1, p.returncode,
                                                                           self.logs[i]))

    def wait_ready(self):
        """Until every live member agrees on one leader and it takes a write."""
        def ready():
            self.check_alive()
            return self.leader_if_agreed()
        return wait_until("%s has a leader all members agree on" % self.name, ready)


class Etcd(Cluster):
    def __init__(self, tmp):
        super().__init__(tmp, "etcd")
        p = free_ports(6)
        self.client, self.peer = p[:3], p[3:]
        self.ids = {}

    def command(self, i):
        cluster = ",".join("e%d=http://127.0.0.1:%d" % (k + 1, self.peer[k]) for k in range(3))
        return ["etcd", "--name", "e%d" % (i + 1), "--data-dir", os.path.join(self.tmp, "etcd%d" % (i + 1)),
                "--listen-client-urls", "http://127.0.0.1:%d" % self.client[i],
                "--advertise-client-urls", "http://127.0.0.1:%d" % self.client[i],
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer[i],
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer[i],
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "parley-bench", "--logger", "zap", "--log-outputs", "stderr"]

    def status(self, i):
        c = Http(self.client[i], timeout=2)
        try:
            return c.post("/v3/maintenance/status", {})
        finally:
            c.close()

    def leader_if_agreed(self):
        leaders = set()
        for i in self.alive():
            s = self.status(i)
            self.ids[s["header"]["member_id"]] = i
            leaders.add(s.get("leader"))
        if len(leaders) != 1 or next(iter(leaders)) not in self.ids:
            return None
        leader = self.ids[next(iter(leaders))]
        c = Http(self.client[leader], timeout=3)
        try:
            c.post("/v3/kv/put", {"key": b64("bench/ready"), "value": b64("1")})
        finally:
            c.close()
        return (leader,)

    def leader_among(self, members):
        for i in members:
            lid = self.status(i).get("leader")
            if lid in self.ids and self.ids[lid] in members:
                return True
        return False

    def port(self, i):
        return self.client[i]


class Parley(Cluster):
    def __init__(self, tmp, binary):
        super().__init__(tmp, "parley")
        p = free_ports(6)
        self.client, self.raft, self.binary = p[:3], p[3:], binary

    def command(self, i):
        members = ",".join("%d@127.0.0.1:%d" % (k + 1, self.raft[k]) for k in range(3))
        d = os.path.join(self.tmp, "parley%d" % (i + 1))
        os.makedirs(d, exist_ok=True)
        return [self.binary, "--port", str(self.client[i]), "--dir", d, "--node-id", str(i + 1),
                "--raft-addr", "127.0.0.1:%d" % self.raft[i], "--cluster", members]

    def role(self, i):
        c = Resp(self.client[i], timeout=2)
        try:
            info = c.call("RAFT", "INFO").decode()
        finally:
            c.close()
        m = re.search(r"^role:(\w+)", info, re.M)
        return m.group(1) if m else None

    def leader_if_agreed(self):
        alive = self.alive()
        roles = {i: self.role(i) for i in alive}
        leaders = [i for i, r in roles.items() if r == "leader"]
        if len(leaders) != 1 or sum(r == "follower" for r in roles.values()) != len(alive) - 1:
            return None
        c = Resp(self.client[leaders[0]], timeout=3)
        try:
            if c.call("SET", "__bench_ready", "1") != "OK":
                return None
        finally:
            c.close()
        return (leaders[0],)

    def leader_among(self, members):
        return any(self.role(i) == "leader" for i in members)

    def port(self, i):
        return self.client[i]


# ---- election failover -------------------------------------------------------

def watch_failover(cl, killed, done, t0, limit=30):
    """After the kill at t0: polls the survivors until one is the Raft
    leader (seconds from t0, or None) while the candidate's campaign is
    waited on (done); gives up after `limit` seconds."""
    raft = None
    deadline = t0 + limit
    while time.monotonic() < deadline and not (done.is_set() and raft is not None):
        if raft is None:
            try:
                if cl.leader_among([i for i in cl.alive() if i != killed]):
                    raft = time.monotonic() - t0
            except (OSError, RuntimeError, ValueError, KeyError):
                pass
        done.wait(0.02)
    return raft


def etcd_failover(etcd, trial, ttl_ms):
    """App leader through the Raft leader L, candidate through a follower F;
    renew the leader's lease, SIGKILL L, time until F's campaign returns."""
    (leader,) = etcd.wait_ready()
    follower = [i for i in etcd.alive() if i != leader][0]
    name = b64("bench/elect/%d" % trial)
    ttl = max(1, ttl_ms // 1000)
    a = Http(etcd.port(leader))
    lease_a = a.post("/v3/lease/grant", {"TTL": ttl})["ID"]
    a.post("/v3/election/campaign", {"name": name, "lease": lease_a, "value": b64("a")})
    b, bk = Http(etcd.port(follower), timeout=60), Http(etcd.port(follower))
    lease_b = bk.post("/v3/lease/grant", {"TTL": ttl})["ID"]
    done, result, stop = threading.Event(), {}, threading.Event()

    def keepalive():  # the waiting candidate keeps its own lease
        while not stop.wait(ttl / 3):
            try:
                bk.post("/v3/lease/keepalive", {"ID": lease_b})
            except Exception as e:  # noqa: BLE001
                result.setdefault("error", "candidate keepalive: %r" % e)

    def campaign():
        try:
            b.post("/v3/election/campaign", {"name": name, "lease": lease_b, "value": b64("b")})
            result["t"] = time.monotonic()
        except Exception as e:  # noqa: BLE001
            result["error"] = "candidate campaign: %r" % e
        done.set()

    ka = threading.Thread(target=keepalive, daemon=True)
    ka.start()
    th = threading.Thread(target=campaign, daemon=True)
    th.start()
    prefix = "bench/elect/%d/" % trial
    check = Http(etcd.port(leader))
    wait_until("the etcd candidate waits in its campaign", lambda: int(check.post(
        "/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix[:-1] + "0"),
                         "count_only": True}).get("count", 0)) == 2 and not done.is_set(), timeout=10)
    check.close()
    a.post("/v3/lease/keepalive", {"ID": lease_a})
    etcd.kill(leader)
    t0 = time.monotonic()
    raft = watch_failover(etcd, leader, done, t0)
    finished = done.wait(max(0.0, t0 + 30 - time.monotonic()))
    stop.set()
    for c in (a, b, bk):
        c.close()
    if not finished or "t" not in result:
        raise RuntimeError(result.get("error", "the etcd candidate did not lead within 30 s"))
    took = result["t"] - t0
    etcd.start(leader)
    return took, raft


def parley_failover(parley, trial, ttl_ms):
    (leader,) = parley.wait_ready()
    follower = [i for i in parley.alive() if i != leader][0]
    name = "bench:elect:%d" % trial
    a = Resp(parley.port(leader))
    token = a.call("ELECT.CAMPAIGN", name, "a", ttl_ms)
    if not isinstance(token, int):
        raise RuntimeError("ELECT.CAMPAIGN answered %r" % (token,))
    b = Resp(parley.port(follower), timeout=60)
    check = Resp(parley.port(follower))
    blocked0 = int(re.search(r"blocked_clients:(\d+)", check.call("INFO", "clients").decode()).group(1))
    done, result = threading.Event(), {}

    def campaign():
        try:
            got = b.call("ELECT.CAMPAIGN", name, "b", ttl_ms, "WAIT", 0)
            if not isinstance(got, int):
                raise RuntimeError("answered %r" % (got,))
            result["t"] = time.monotonic()
        except Exception as e:  # noqa: BLE001
            result["error"] = "candidate campaign: %r" % e
        done.set()

    th = threading.Thread(target=campaign, daemon=True)
    th.start()
    wait_until("the parley candidate waits in its campaign", lambda: int(re.search(
        r"blocked_clients:(\d+)", check.call("INFO", "clients").decode()).group(1)) > blocked0
        and not done.is_set(), timeout=10)
    check.close()
    if a.call("ELECT.REFRESH", name, token, ttl_ms) != 1:
        raise RuntimeError("ELECT.REFRESH did not renew")
    parley.kill(leader)
    t0 = time.monotonic()
    raft = watch_failover(parley, leader, done, t0)
    finished = done.wait(max(0.0, t0 + 30 - time.monotonic()))
    a.close()
    b.close()
    if not finished or "t" not in result:
        raise RuntimeError(result.get("error", "the parley candidate did not lead within 30 s"))
    took = result["t"] - t0
    parley.start(leader)
    return took, raft


# ---- report -----------------------------------------------------------------

def fmt(x, digits=0):
    return "-" if x != x else ("%.*f" % (digits, x))


def table(rows, header):
    widths = [max(len(str(r[k])) for r in rows + [header]) for k in range(len(header))]
    line = lambda r: "| " + " | ".join(str(v).ljust(w) for v, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def write_section(path, text):
    """Replaces (or appends) the "Parley vs etcd" section of RESULTS.md."""
    old = open(path).read() if os.path.exists(path) else "# Parley benchmark results\n"
    start = old.find("\n" + SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        nxt = old.find("\n## ", start + 1)
        new = old[:start + 1] + text.rstrip("\n") + "\n" + (old[nxt:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="each load workload (5)")
    ap.add_argument("--trials", type=int, default=3, help="failovers per side (3)")
    ap.add_argument("--ttl-ms", type=int, default=3000, help="election lease, both sides (3000)")
    ap.add_argument("--procs", type=int, default=8, help="client processes at most (8)")
    ap.add_argument("--parley", default=os.path.join(REPO, "build", "parley-server"))
    ap.add_argument("--write-results", metavar="FILE", nargs="?", const=os.path.join(REPO, "bench", "RESULTS.md"))
    args = ap.parse_args()
    if args.ttl_ms % 1000:
        ap.error("--ttl-ms must be whole seconds (etcd leases are)")
    for prog in ("etcd", args.parley):
        if not shutil.which(prog):
            sys.exit("bench/etcd.py: %s not found (make bench-etcd installs etcd-server)" % prog)
    began = time.monotonic()
    # SIGTERM (make, timeout) and SIGINT unwind through the finally below,
    # which stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.makedirs(os.path.join(REPO, "build", "bench-tmp"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="etcd.", dir=os.environ.get("BENCH_TMPDIR", os.path.join(REPO, "build", "bench-tmp")))
    etcd, parley = Etcd(tmp), Parley(tmp, args.parley)
    ok = False
    load0 = os.getloadavg()
    rows, fail = [], {"etcd": [], "parley": []}
    try:
        for i in range(3):
            etcd.start(i)
            parley.start(i)
        etcd.wait_ready()
        parley.wait_ready()
        version = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        version = version.replace("etcd Version:", "etcd")
        loads = [("put/SET", c, [("etcd gRPC put", etcd), ("etcd JSON put", etcd), ("parley SET", parley)])
                 for c in (1, 16, 64)]
        loads += [("lock acquire+release", c, [("etcd gRPC lock", etcd), ("etcd JSON lock", etcd),
                                               ("parley LOCK.*", parley), ("redis-py Lock", parley)])
                  for c in (1, 16)]
        for what, clients, sides in loads:
            res = {}
            for kind, cl in sides:
                (leader,) = cl.wait_ready()
                r = run_load(kind, cl.port(leader), clients, args.seconds, args.procs, cl.pids())
                res[kind] = r
                print("%-22s %3d clients  %-14s %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms  cpu: clients %3.0f%%, "
                      "its servers %3.0f%% of %d cores" % (what, clients, kind, r["rate"], r["p50"], r["p99"],
                                                       r["client_cpu"], r["server_cpu"], os.cpu_count()),
                      flush=True)
            rows.append((what, clients, res))
        for t in range(args.trials):
            for name, fn, cl in (("etcd", etcd_failover, etcd), ("parley", parley_failover, parley)):
                took, raft = fn(cl, t, args.ttl_ms)
                fail[name].append((took, raft))
                print("failover trial %d %-6s leader node killed -> new Raft leader %s s, candidate leads %.2f s"
                      % (t + 1, name, fmt(raft if raft is not None else float("nan"), 2), took), flush=True)
        etcd.wait_ready()
        parley.wait_ready()
        ok = True
    finally:
        etcd.stop_all()
        parley.stop_all()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("bench/etcd.py: failed; logs kept in %s" % tmp, file=sys.stderr)
    load1 = os.getloadavg()
    elapsed = time.monotonic() - began

    # The tables.
    header = ["workload", "clients", "etcd gRPC ops/s", "etcd JSON ops/s", "Parley client", "Parley ops/s",
              "Parley / etcd gRPC", "p99 ms etcd gRPC / Parley", "client CPU etcd gRPC / Parley"]
    out = []
    for what, clients, res in rows:
        g = res.get("etcd gRPC put") or res.get("etcd gRPC lock")
        j = res.get("etcd JSON put") or res.get("etcd JSON lock")
        for kind, r in res.items():
            if kind.startswith("etcd"):
                continue
            out.append([what, clients, fmt(g["rate"]), fmt(j["rate"]), kind.replace("parley ", ""), fmt(r["rate"]),
                        fmt(r["rate"] / g["rate"], 2) if g["rate"] else "-",
                        "%s / %s" % (fmt(g["p99"], 1), fmt(r["p99"], 1)),
                        "%.0f%% / %.0f%%" % (g["client_cpu"], r["client_cpu"])])
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    fo = ""
    if args.trials:
        def fo_row(name):
            app = [t for t, _ in fail[name]]
            raft = [r for _, r in fail[name] if r is not None]
            return [name, " ".join("%.2f" % x for x in app), fmt(mean(app), 2),
                    " ".join("%.2f" % x for x in raft), fmt(mean(raft), 2)]
        e, p = fo_row("etcd"), fo_row("parley")
        ratio = mean([t for t, _ in fail["parley"]]) / mean([t for t, _ in fail["etcd"]])
        fo = table([e, p, ["Parley / etcd", "", fmt(ratio, 2), "", ""]],
                   ["side", "new application leader, s, each trial", "mean s", "new Raft leader, s", "mean s"])
    load_text = "1-minute load average %.2f before, %.2f after" % (load0[0], load1[0])
    print()
    print(table(out, header))
    print()
    print(fo)
    print()
    print("%s; %.0f s in all" % (load_text, elapsed))
    if args.write_results:
        cmd = " ".join(["bench/etcd.py"] + sys.argv[1:])
        text = "\n".join([
            SECTION, "",
            "Generated by `%s` (`make bench-etcd BENCH_ETCD_ARGS=--write-results`) on %s: %g s a "
            "workload, %d failover trials a side, %.0f s in all; %s on %d cores shared with other work "
            "(%s). See [README.md](README.md#parley-vs-etcd) for what is measured."
            % (cmd, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), args.seconds, args.trials,
               elapsed, version, os.cpu_count(), load_text), "",
            "Three etcd members and three Parley nodes on loopback, all fsyncing, in one run. ops/s: "
            "operations completed a second, each client one connection kept open to its side's Raft "
            "leader; a lock operation is one acquire plus one release of the client's own lock. "
            "etcd is measured through its gRPC API (the ratio's denominator) and through its v3 JSON "
            "gateway. Parley / etcd gRPC above 1 means Parley did more. Client CPU: the Python load "
            "clients' own CPU as a share of the machine's %d cores." % os.cpu_count(), "",
            table(out, header), "",
            "Election failover: an application leader campaigns through the Raft leader node with a "
            "lease of %d ms (etcd: a lease of %d s and /v3/election/campaign over the JSON gateway; "
            "Parley: ELECT.CAMPAIGN with ttl %d ms), a candidate waits in a campaign through a follower; "
            "right after the leader renews its lease, the Raft leader node is SIGKILLed; seconds from "
            "the kill until the candidate's campaign returns. Raft timeouts are each server's default "
            "(etcd: election 1000 ms, heartbeat 100 ms; Parley: election 300 ms, heartbeat 10 ms)."
            % (args.ttl_ms, args.ttl_ms // 1000, args.ttl_ms), "",
            fo, ""])
        write_section(args.write_results, text)
        print("wrote the \"%s\" section of %s" % (SECTION[3:], args.write_results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
