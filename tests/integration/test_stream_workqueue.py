"""A work queue on a stream with a consumer group, on a three-node cluster
whose leader is killed (SIGKILL) twice while 4 producers XADD 50,000
messages, 4 consumers XREADGROUP (BLOCK, COUNT) and XACK them, and a
reclaimer hands what stays pending to itself with XAUTOCLAIM.

The structure is test_reliable_queue.py's (the list version): plain redis-py
clients spread over the nodes that move to the next node on a connection
error. Every message is processed at least once and none is lost. An
entry can be processed twice only when it was delivered to a consumer and
not yet acknowledged at a kill (its XACK failed, so it stayed pending and
the reclaimer took it): the test counts those and checks that every entry
processed twice was in flight at a kill. Each batch takes a little work
(WORK_S) between being processed and its XACK, so that a kill lands there
now and then. A producer whose XADD failed
without an answer adds its batch again (the first may have committed), so
a payload can also sit in the stream twice under two IDs; those are counted
separately and bounded by the producers' retries. Consumers also abandon a
batch now and then right after XREADGROUP, before processing it: its
entries stay pending until the reclaimer claims them."""
import collections
import threading
import time

import redis

from conftest import wait_until

PRODUCERS = 4
CONSUMERS = 4
MESSAGES = 50_000
BATCH = 20           # XADDs a producer sends in one pipeline
READ_COUNT = 50      # XREADGROUP COUNT
MIN_IDLE_MS = 4000   # XAUTOCLAIM min-idle-time
ABANDON_EVERY = 41   # a consumer drops the batch of every this many reads
WORK_S = 0.02        # a batch's work: between processing it and XACK
DEADLINE_S = 180
STREAM, GROUP = "jobs", "workers"
ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError)


class Worker:
    """A client that moves to the next live node when its node fails."""

    def __init__(self, cluster, start):
        self.cluster = cluster
        self.i = start
        self.client = None

    def conn(self):
        if self.client is None:
            live = [n for n in self.cluster.nodes if n.alive()]
            node = live[self.i % len(live)]
            self.client = node.client(socket_timeout=5, socket_connect_timeout=2)
        return self.client

    def failed(self):
        if self.client is not None:
            self.client.close()
        self.client = None
        self.i += 1
        time.sleep(0.05)  # do not spin against a dying node


class Ledger:
    """What the clients saw: additions, deliveries, processing and acks,
    with client-side times, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.added = set()                         # payloads whose XADD was answered
        self.processed = []                        # (entry id, payload, who)
        self.delivered_at = {}                     # (who, id) -> time of the delivery
        self.acked_at = {}                         # (who, id) -> time XACK answered
        self.unacked = {}                          # who -> ids processed, XACK not answered
        self.counts = collections.Counter()

    def process(self, who, entries):
        now = time.monotonic()
        with self.lock:
            for eid, fields in entries:
                self.processed.append((eid, fields["p"], who))
                self.delivered_at[(who, eid)] = now
                self.unacked.setdefault(who, set()).add(eid)

    def acked(self, who, ids):
        now = time.monotonic()
        with self.lock:
            for eid in ids:
                self.acked_at[(who, eid)] = now
                self.unacked[who].discard(eid)

    def in_flight(self, kills):
        """Entries processed by someone and not acknowledged by them at some
        moment of a failover (from the kill to the first write the new
        leader accepted): the only ones that may be processed twice."""
        out = set()
        for (who, eid), t in self.delivered_at.items():
            acked = self.acked_at.get((who, eid))
            for killed_at, recovered_at in kills:
                if t <= recovered_at and (acked is None or acked >= killed_at):
                    out.add(eid)
        return out


def test_every_message_processed_across_two_leader_kills(make_cluster):
    cluster = make_cluster().start()
    deadline = time.monotonic() + DEADLINE_S
    cluster.leader().client().xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    led = Ledger()
    stop = threading.Event()
    errors = []

    def producer(p):
        w = Worker(cluster, p)
        mine = list(range(p, MESSAGES, PRODUCERS))
        for start in range(0, len(mine), BATCH):
            msgs = [f"m{n}" for n in mine[start:start + BATCH]]
            while time.monotonic() < deadline:
                try:
                    pipe = w.conn().pipeline(transaction=False)
                    for m in msgs:
                        pipe.xadd(STREAM, {"p": m})
                    pipe.execute()
                    with led.lock:
                        led.added.update(msgs)
                    break
                except ERRORS:
                    led.counts["producer retries"] += 1
                    w.failed()

    def consumer(c):
        w = Worker(cluster, c + 1)
        who = f"c{c}"
        reads = 0
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                got = w.conn().xreadgroup(GROUP, who, {STREAM: ">"}, count=READ_COUNT, block=1000)
                if not got:
                    continue
                entries = got[0][1]
                reads += 1
                if reads % ABANDON_EVERY == 0:  # dies holding these entries
                    led.counts["abandoned batches"] += 1
                    led.counts["abandoned entries"] += len(entries)
                    w.failed()
                    continue
                led.process(who, entries)
                time.sleep(WORK_S)  # a kill now leaves the batch processed, not acked
                ids = [eid for eid, _ in entries]
                w.conn().xack(STREAM, GROUP, *ids)
                led.acked(who, ids)
            except ERRORS:
                led.counts["consumer errors"] += 1
                w.failed()

    def reclaimer():
        w = Worker(cluster, 0)
        who = "reclaimer"
        cursor = "0-0"
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                cl = w.conn()
                cursor, entries = cl.xautoclaim(STREAM, GROUP, who, MIN_IDLE_MS,
                                                start_id=cursor, count=100)[:2]
                if entries:
                    led.counts["reclaimed"] += len(entries)
                    led.process(who, entries)
                    ids = [eid for eid, _ in entries]
                    cl.xack(STREAM, GROUP, *ids)
                    led.acked(who, ids)
                if cursor == "0-0":
                    stop.wait(0.5)
            except ERRORS:
                led.counts["reclaimer errors"] += 1
                w.failed()

    def run(fn, *a):
        try:
            fn(*a)
        except Exception as e:  # surfaced by the assertions below
            errors.append(repr(e))

    producers = [threading.Thread(target=run, args=(producer, p)) for p in range(PRODUCERS)]
    workers = [threading.Thread(target=run, args=(consumer, c)) for c in range(CONSUMERS)]
    workers.append(threading.Thread(target=run, args=(reclaimer,)))
    for t in producers + workers:
        t.start()

    def processed_count():
        return len(led.processed)

    kills = []  # (time of the kill, time the new leader accepted a write)
    killed = []
    try:
        for fraction in (0.3, 0.6):
            wait_until(lambda: processed_count() >= MESSAGES * fraction, 90,
                       message=f"{fraction:.0%} of the messages processed")
            leader = cluster.leader()
            killed_at = time.monotonic()
            leader.kill()
            killed.append(leader.node_id)
            new = cluster.wait_leader(15, exclude=[leader])
            wait_until(lambda: new.client(socket_timeout=2).set("__ready", "1"), 15,
                       message="a write on the new leader")
            kills.append((killed_at, time.monotonic()))
            leader.start()

        for t in producers:
            t.join(max(1, deadline - time.monotonic()))
        leader_client = cluster.leader().client(socket_timeout=5)

        def drained():  # everything added was processed and acknowledged
            with led.lock:
                done = led.added <= {p for _, p, _ in led.processed}
            return done and leader_client.xpending(STREAM, GROUP)["pending"] == 0
        wait_until(drained, max(1, deadline - time.monotonic()), interval=0.2,
                   message="every message processed and acknowledged")
    finally:
        stop.set()
        for t in producers + workers:
            t.join(max(1, deadline + 15 - time.monotonic()))
    assert not errors, errors
    assert not any(t.is_alive() for t in producers + workers), "workers did not finish in time"

    assert len(led.added) == MESSAGES
    payloads = {p for _, p, _ in led.processed}
    missing = led.added - payloads
    assert not missing, f"{len(missing)} added messages never processed, e.g. {sorted(missing)[:5]}"

    # Every entry of the stream was processed, and nothing else was.
    c = cluster.leader().client(socket_timeout=30)
    stream = c.xrange(STREAM, count=10 * MESSAGES)
    stream_ids = [eid for eid, _ in stream]
    per_id = collections.Counter(eid for eid, _, _ in led.processed)
    assert set(stream_ids) == set(per_id), "processed entries differ from the stream's"

    # Entries processed twice: only those in flight at a kill.
    twice = {eid for eid, n in per_id.items() if n > 1}
    in_flight = led.in_flight(kills)
    # Payloads added twice (a retried XADD batch): bounded by the retries.
    ids_per_payload = collections.Counter(fields["p"] for _, fields in stream)
    added_twice = sum(n - 1 for n in ids_per_payload.values() if n > 1)
    report = dict(led.counts, entries=len(stream_ids), processings=len(led.processed),
                  processed_twice=len(twice), in_flight_at_kills=len(in_flight),
                  payloads_added_twice=added_twice, leaders_killed=killed)
    print(f"\nstream work queue: {report}")
    assert twice <= in_flight, \
        f"{len(twice - in_flight)} entries processed twice that were not in flight at a kill, " \
        f"e.g. {sorted(twice - in_flight)[:5]}; {report}"
    assert added_twice <= led.counts["producer retries"] * BATCH, report
    # The reclaimer took over at least every abandoned batch.
    assert led.counts["abandoned batches"] >= 5, report
    assert led.counts["reclaimed"] >= led.counts["abandoned entries"], report
    assert c.xpending(STREAM, GROUP)["pending"] == 0
    cluster.wait_converged(30)
    cluster.stop()  # every node exits cleanly (under ASan: no leak, no memory error)
