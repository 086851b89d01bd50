"""The reliable-queue pattern (BLMOVE into a per-consumer processing list,
LREM when done) on a three-node cluster whose leader is killed twice while
4 producers push and 4 consumers work through 20,000 messages: every
acknowledged message is processed, and the queue ends empty.

Producers and consumers use plain redis-py clients spread over the nodes; on
a connection error they move to another node and carry on, as a production
client with a node list would. A producer whose LPUSH failed without an
answer pushes again (the first may have committed), so a message can be
processed twice; none may be missed. A consumer restarting after an error
first finishes what its processing list holds, as the pattern prescribes.
Consumers also crash on purpose now and then right after a BLMOVE, before
processing: the message must wait in their processing list, not vanish."""
import threading
import time

import redis

from conftest import wait_until

PRODUCERS = 4
CONSUMERS = 4
MESSAGES = 20_000
DEADLINE_S = 240
CRASH_EVERY = 997  # a consumer abandons its connection after this many moves


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


def test_no_message_lost_across_two_leader_kills(make_cluster):
    cluster = make_cluster().start()
    deadline = time.monotonic() + DEADLINE_S
    acked = set()            # pushes the server acknowledged
    processed = []           # every message a consumer completed (dups possible)
    lock = threading.Lock()
    producers_done = threading.Event()
    errors = []
    failures = {"connection": 0, "crash": 0}

    def producer(p):
        w = Worker(cluster, p)
        for n in range(p, MESSAGES, PRODUCERS):
            msg = f"m{n}"
            while time.monotonic() < deadline:
                try:
                    w.conn().lpush("queue", msg)
                    with lock:
                        acked.add(msg)
                    break
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    w.failed()

    def consumer(c):
        w = Worker(cluster, c + 1)
        mine = f"processing:{c}"
        recovering = True
        moves = 0
        while time.monotonic() < deadline:
            try:
                cl = w.conn()
                if recovering:  # finish what a failed round left in our list
                    for msg in cl.lrange(mine, 0, -1):
                        with lock:
                            processed.append(msg)
                        cl.lrem(mine, 1, msg)
                    recovering = False
                msg = cl.blmove("queue", mine, 1, "RIGHT", "LEFT")
                if msg is None:
                    if producers_done.is_set() and cl.llen("queue") == 0:
                        return
                    continue
                moves += 1
                if moves % CRASH_EVERY == 0:  # dies holding msg
                    failures["crash"] += 1
                    w.failed()
                    recovering = True
                    continue
                with lock:
                    processed.append(msg)
                cl.lrem(mine, 1, msg)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                failures["connection"] += 1
                w.failed()
                recovering = True

    def run(fn, i):
        try:
            fn(i)
        except Exception as e:  # surfaced by the assertions below
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(producer, p)) for p in range(PRODUCERS)]
    consumers = [threading.Thread(target=run, args=(consumer, c)) for c in range(CONSUMERS)]
    for t in threads + consumers:
        t.start()

    killed = []
    for fraction in (0.3, 0.6):
        wait_until(lambda: len(processed) >= MESSAGES * fraction, 120,
                   message=f"{fraction:.0%} of the messages processed")
        leader = cluster.leader()
        leader.kill()
        killed.append(leader.node_id)
        cluster.wait_leader(15, exclude=[leader])
        leader.start()

    for t in threads:
        t.join(max(1, deadline - time.monotonic()))
    producers_done.set()
    for t in consumers:
        t.join(max(1, deadline - time.monotonic()))
    assert not errors, errors
    assert not any(t.is_alive() for t in threads + consumers), "workers did not finish in time"

    assert len(acked) == MESSAGES
    missing = acked - set(processed)
    assert not missing, f"{len(missing)} acknowledged messages never processed, e.g. " \
                        f"{sorted(missing)[:5]} (leaders killed: {killed})"
    c = cluster.leader().client()
    assert c.llen("queue") == 0
    assert all(c.llen(f"processing:{i}") == 0 for i in range(CONSUMERS))
    # Duplicates come only from retried operations, so there are few.
    assert len(processed) - MESSAGES < 200, (len(processed) - MESSAGES, failures)
    assert failures["crash"] >= 10, failures
    cluster.wait_converged(30)
