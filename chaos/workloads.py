"""The fault suite's clients: threads that run the three workloads against the
cluster and record every operation for the checker (see checker.py for the
history format).

Each client talks to one node at a time over one connection (redis-py's
Connection, so it controls exactly what is sent) and moves to another node
after an error. What an error means for the operation:

* the connection could not be opened: nothing was sent; not recorded;
* CLUSTERDOWN (Parley: "the command was not executed"): "fail";
* anything else after the request was sent (a socket timeout, a closed
  connection, Parley's TIMEOUT or shutting-down error): "info", it may or
  may not have happened.

Keys rotate over time (a new set of register keys every few seconds, of
list keys a little less often) so that each key's history stays small enough
for the linearizability search.
"""
import random
import threading
import time

import redis

from cluster import CLIENT_PORT


class NotSent(Exception):
    pass


def _definite_failure(e):
    return isinstance(e, redis.ResponseError) and str(e).startswith("CLUSTERDOWN")


class Conn:
    """One connection to one node. call() sends commands pipelined and
    returns their replies, error replies as ResponseError objects in place."""

    def __init__(self, ip, timeout):
        self.ip = ip
        self.c = redis.Connection(host=ip, port=CLIENT_PORT, socket_timeout=timeout,
                                  socket_connect_timeout=1.0, decode_responses=True)

    def call(self, *commands):
        try:
            self.c.connect()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            raise NotSent() from e
        self.c.send_packed_command(self.c.pack_commands(commands), check_health=False)
        replies = []
        for _ in commands:
            try:
                replies.append(self.c.read_response())
            except redis.ResponseError as e:
                replies.append(e)
        return replies

    def close(self):
        self.c.disconnect()


def _int(v):
    return None if v is None else int(v)


class Client(threading.Thread):
    """A workload thread. Subclasses implement one_op(); record() notes a
    finished operation."""

    workload = None

    def __init__(self, index, ips, run, timeout):
        super().__init__(name=f"{self.workload}-{index}", daemon=True)
        self.index = index
        self.ips = ips
        self.run_state = run
        self.timeout = timeout
        self.rng = random.Random(run.seed * 1000 + index)
        self.history = []
        self.errors = {}
        self.seq = 0
        self.home = index % len(ips)
        self.conn = None

    def connection(self):
        if self.conn is None:
            self.conn = Conn(self.ips[self.home], self.timeout)
        return self.conn

    def switch_node(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.home = self.rng.randrange(len(self.ips))

    def record(self, f, key, v, out, t0, t1, st):
        self.history.append({"w": self.workload, "p": f"{self.workload}{self.index}", "f": f,
                             "k": key, "v": v, "out": out, "t0": t0,
                             "t1": t1 if st == "ok" else None, "st": st})

    def note_error(self, e):
        name = str(e).split(" ")[0] if isinstance(e, redis.ResponseError) else type(e).__name__
        self.errors[name] = self.errors.get(name, 0) + 1

    def run(self):
        while not self.run_state.stop.is_set():
            self.seq += 1
            try:
                self.one_op()
            except NotSent:
                self.switch_node()
                time.sleep(0.02)
            except Exception as e:  # a lost connection; anything else is counted too
                self.note_error(e)
                self.switch_node()
            if self.seq % 500 == 0:
                self.switch_node()
            if self.run_state.op_sleep:
                time.sleep(self.rng.uniform(0, self.run_state.op_sleep))

    def finish_status(self, reply):
        """ok / fail / info for the reply of a write."""
        if isinstance(reply, redis.ResponseError):
            self.note_error(reply)
            return "fail" if _definite_failure(reply) else "info"
        return "ok"

    def call_recording_failure(self, f, key, v, t0, *commands):
        """Runs commands; on a lost connection records f as indeterminate and
        re-raises so the client moves on."""
        try:
            return self.connection().call(*commands)
        except NotSent:
            raise
        except Exception:
            self.record(f, key, v, None, t0, None, "info")
            raise


class RegisterClient(Client):
    """GET, SET of a fresh value, INCR, and compare-and-set through WATCH,
    GET, MULTI, SET, EXEC, on a few keys that change every few seconds."""

    workload = "reg"

    def key(self):
        rs = self.run_state
        epoch = int((time.monotonic() - rs.started) / rs.register_epoch_s)
        return f"reg:{epoch}:{self.rng.randrange(rs.register_keys)}"

    def one_op(self):
        k = self.key()
        roll = self.rng.random()
        t0 = time.monotonic_ns()
        if roll < 0.35:
            (reply,) = self.call_recording_failure("read", k, None, t0, ("GET", k))
            t1 = time.monotonic_ns()
            if isinstance(reply, redis.ResponseError):
                self.note_error(reply)
            else:
                self.record("read", k, None, _int(reply), t0, t1, "ok")
        elif roll < 0.6:
            v = self.rng.randrange(1 << 40)
            (reply,) = self.call_recording_failure("write", k, v, t0, ("SET", k, v))
            self.record("write", k, v, None, t0, time.monotonic_ns(), self.finish_status(reply))
        elif roll < 0.75:
            (reply,) = self.call_recording_failure("incr", k, None, t0, ("INCR", k))
            st = self.finish_status(reply)
            self.record("incr", k, None, reply if st == "ok" else None, t0,
                        time.monotonic_ns(), st)
        else:
            self.cas(k, t0)

    def cas(self, k, t0):
        watched, current = self.connection().call(("WATCH", k), ("GET", k))
        t_read = time.monotonic_ns()
        if watched != "OK" or isinstance(current, redis.ResponseError):
            self.note_error(current if watched == "OK" else watched)
            self.connection().call(("UNWATCH",))
            return
        expected, new = _int(current), self.rng.randrange(1 << 40)
        replies = self.call_recording_failure("cas", k, [expected, new], t0,
                                              ("MULTI",), ("SET", k, new), ("EXEC",))
        t1 = time.monotonic_ns()
        result = replies[2]
        if replies[0] != "OK" or replies[1] != "QUEUED":
            # Not a transaction: the SET may have run on its own.
            self.note_error(replies[0] if replies[0] != "OK" else replies[1])
            self.record("write", k, new, None, t0, None, "info")
        elif isinstance(result, redis.ResponseError):
            self.record("cas", k, [expected, new], None, t0, t1, self.finish_status(result))
        elif result is None:
            # Another write got in first: the CAS did nothing, but its GET
            # is a read like any other.
            self.record("read", k, None, expected, t0, t_read, "ok")
        else:
            self.record("cas", k, [expected, new], None, t0, t1, "ok")


class ListClient(Client):
    """RPUSH of values no one else pushes, and LRANGE of the whole list."""

    workload = "list"

    def key(self):
        rs = self.run_state
        epoch = int((time.monotonic() - rs.started) / rs.list_epoch_s)
        k = f"list:{epoch}:{self.rng.randrange(rs.list_keys)}"
        rs.list_keys_used.add(k)
        return k

    def one_op(self):
        k = self.key()
        t0 = time.monotonic_ns()
        if self.rng.random() < 0.6:
            v = f"{self.index}-{self.seq}"
            (reply,) = self.call_recording_failure("append", k, v, t0, ("RPUSH", k, v))
            st = self.finish_status(reply)
            self.record("append", k, v, reply if st == "ok" else None, t0,
                        time.monotonic_ns(), st)
        else:
            (reply,) = self.call_recording_failure("read", k, None, t0, ("LRANGE", k, 0, -1))
            t1 = time.monotonic_ns()
            if isinstance(reply, redis.ResponseError):
                self.note_error(reply)
            else:
                self.record("read", k, None, list(reply), t0, t1, "ok")


class BankClient(Client):
    """MULTI/EXEC transfers between accounts, and reads of every account in
    one MGET or one MULTI."""

    workload = "bank"

    def one_op(self):
        rs = self.run_state
        accounts = [f"bank:{i}" for i in range(rs.bank_accounts)]
        t0 = time.monotonic_ns()
        roll = self.rng.random()
        if roll < 0.5:
            a, b = self.rng.sample(accounts, 2)
            amount = self.rng.randrange(1, 20)
            replies = self.call_recording_failure(
                "transfer", None, [a, b, amount], t0,
                ("MULTI",), ("DECRBY", a, amount), ("INCRBY", b, amount), ("EXEC",))
            st = self.finish_status(replies[3])
            if st == "ok" and not isinstance(replies[3], list):
                st = "info"
            self.record("transfer", None, [a, b, amount], None, t0, time.monotonic_ns(), st)
            return
        if roll < 0.75:
            (reply,) = self.call_recording_failure("read", None, None, t0, ("MGET", *accounts))
        else:
            replies = self.call_recording_failure(
                "read", None, None, t0,
                ("MULTI",), *[("GET", a) for a in accounts], ("EXEC",))
            reply = replies[-1]
        t1 = time.monotonic_ns()
        if isinstance(reply, redis.ResponseError) or reply is None:
            self.note_error(reply if reply is not None else redis.ResponseError("nil EXEC"))
        else:
            self.record("read", None, None, [_int(x) for x in reply], t0, t1, "ok")


class LockClient(Client):
    """Takes one of a few locks (LOCK.ACQUIRE, half the time waiting in its
    line with WAIT), holds it a moment, and
    releases it (LOCK.RELEASE); records each grant with its fencing token
    and each release with whether the token still held the lock. Each
    attempt is a new owner, so no grant is a renewal (which would answer the
    token of an earlier grant, perhaps one whose reply was lost): every
    token it is granted must be new, and larger than those before."""

    workload = "lock"

    def one_op(self):
        rs = self.run_state
        lock = f"lock:{self.rng.randrange(rs.lock_keys)}"
        owner = f"lock{self.index}:{self.seq}"
        wait = ("WAIT", rs.lock_wait_ms) if self.rng.random() < 0.5 else ()
        t0 = time.monotonic_ns()
        (reply,) = self.call_recording_failure("acquire", lock, owner, t0,
                                               ("LOCK.ACQUIRE", lock, owner, rs.lock_ttl_ms, *wait))
        if isinstance(reply, redis.ResponseError):
            self.record("acquire", lock, owner, None, t0, None, self.finish_status(reply))
            return
        self.record("acquire", lock, owner, reply, t0, time.monotonic_ns(), "ok")
        if reply is None:
            time.sleep(0.005)
            return
        time.sleep(self.rng.uniform(0, 0.02))
        t0 = time.monotonic_ns()
        (rel,) = self.call_recording_failure("release", lock, reply, t0,
                                             ("LOCK.RELEASE", lock, reply))
        st = self.finish_status(rel)
        self.record("release", lock, reply, None if st != "ok" else rel, t0, time.monotonic_ns(), st)


class ProbeClient(Client):
    """Writes its own key through one node, over and over, with a short
    timeout: when a write is first acknowledged after a fault tells how long
    the cluster was unavailable to a client of that node, whatever the
    workload clients are stuck on. Its operations are not checked."""

    workload = "probe"

    def __init__(self, index, ips, run, timeout):
        super().__init__(index, ips, run, timeout)
        self.home = index

    def switch_node(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def one_op(self):
        k = f"probe:{self.index}"
        t0 = time.monotonic_ns()
        (reply,) = self.connection().call(("SET", k, t0))
        if not isinstance(reply, redis.ResponseError):
            self.record("write", k, t0, None, t0, time.monotonic_ns(), "ok")
        time.sleep(0.01)


class RogueClient(Client):
    """For the suite's self-test only: writes that are not recorded (a SET of
    a register key, an RPUSH to a list) every second. A checker that does
    its job must report them."""

    workload = "rogue"

    def one_op(self):
        rs = self.run_state
        if time.monotonic() - rs.started < 2:
            time.sleep(0.1)
            return
        epoch = int((time.monotonic() - rs.started) / rs.register_epoch_s)
        self.connection().call(("SET", f"reg:{epoch}:0", -1))
        epoch = int((time.monotonic() - rs.started) / rs.list_epoch_s)
        k = f"list:{epoch}:0"
        rs.list_keys_used.add(k)
        self.connection().call(("RPUSH", k, "rogue"))
        time.sleep(1.0)


class RunState:
    """What the clients share: when the run started, the stop flag, the
    workload's shape."""

    def __init__(self, seed, op_sleep=0.0):
        self.seed = seed
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.op_sleep = op_sleep
        self.register_epoch_s, self.register_keys = 3.0, 3
        self.list_epoch_s, self.list_keys = 6.0, 2
        self.list_keys_used = set()
        self.bank_accounts, self.bank_initial = 8, 100
        self.lock_keys, self.lock_ttl_ms, self.lock_wait_ms = 2, 1500, 1000


def start_clients(ips, run, registers=4, lists=2, banks=2, locks=2, timeout=5.0, rogue=False):
    clients = ([RogueClient(0, ips, run, timeout)] if rogue else []) + ([RegisterClient(i, ips, run, timeout) for i in range(registers)]
               + [ListClient(i, ips, run, timeout) for i in range(lists)]
               + [BankClient(i, ips, run, timeout) for i in range(banks)]
               + [LockClient(i, ips, run, timeout) for i in range(locks)]
               + [ProbeClient(i, ips, run, 1.0) for i in range(len(ips))])
    for c in clients:
        c.start()
    return clients
