"""Publish/subscribe: Redis 7.0 semantics on one node, and across a
cluster: a subscriber on any node receives what is published on any node,
in each publisher's order, and PUBLISH counts receivers on every node."""
import threading
import time

import pytest
import redis

from conftest import raw_command, resp_encode, wait_until


def messages(ps, n, timeout=10):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.2)
        if m and m["type"] in ("message", "pmessage", "smessage"):
            got.append(m)
    return got


def test_subscribe_publish_and_counts(server, r):
    ps = server.client().pubsub()
    ps.subscribe("news", "sports")
    assert ps.get_message(timeout=5) == {"type": "subscribe", "pattern": None, "channel": "news", "data": 1}
    assert ps.get_message(timeout=5) == {"type": "subscribe", "pattern": None, "channel": "sports", "data": 2}
    pps = server.client().pubsub()
    pps.psubscribe("n*")
    assert pps.get_message(timeout=5)["data"] == 1
    assert r.publish("news", "hello") == 2      # a channel and a pattern subscription
    assert r.publish("sports", "goal") == 1
    assert r.publish("nobody", "x") == 1        # matches n*
    got = messages(ps, 2)
    assert [(m["channel"], m["data"]) for m in got] == [("news", "hello"), ("sports", "goal")]
    got = messages(pps, 2)
    assert [(m["pattern"], m["channel"], m["data"]) for m in got] == [
        ("n*", "news", "hello"), ("n*", "nobody", "x")]
    assert r.pubsub_numsub("news", "sports", "none") == [("news", 1), ("sports", 1), ("none", 0)]
    assert sorted(r.pubsub_channels()) == ["news", "sports"]
    assert r.pubsub_channels("n*") == ["news"]
    assert r.pubsub_numpat() == 1
    ps.close()
    pps.close()
    # Subscribers that disconnect are unsubscribed through the log.
    wait_until(lambda: r.pubsub_numsub("news") == [("news", 0)] and r.pubsub_numpat() == 0, 10,
               message="disconnected subscribers to be dropped")


def test_redis_py_listen_gets_channel_and_pattern_messages_in_order(server, r):
    ps = server.client().pubsub()
    ps.subscribe("feed")
    ps.psubscribe("fe*")
    stream = ps.listen()
    assert [next(stream)["type"] for _ in range(2)] == ["subscribe", "psubscribe"]

    def publish():
        for i in range(10):
            r.publish("feed", f"m{i}")
    t = threading.Thread(target=publish)
    t.start()
    got = [next(stream) for _ in range(20)]
    t.join(10)
    assert [m["data"] for m in got if m["type"] == "message"] == [f"m{i}" for i in range(10)]
    assert [m["data"] for m in got if m["type"] == "pmessage"] == [f"m{i}" for i in range(10)]
    ps.close()


def test_unsubscribe_replies(server):
    payload = (resp_encode("UNSUBSCRIBE", "never") + resp_encode("SUBSCRIBE", "a", "b")
               + resp_encode("UNSUBSCRIBE") + resp_encode("PING"))
    reply = raw_command(server.port, payload, read_until=b"+PONG\r\n")
    assert reply == (b"*3\r\n$11\r\nunsubscribe\r\n$5\r\nnever\r\n:0\r\n"
                     b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                     b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
                     b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
                     b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"
                     b"+PONG\r\n")


def test_subscribed_mode_allows_only_pubsub_commands_and_ping(server):
    payload = (resp_encode("SUBSCRIBE", "ch") + resp_encode("GET", "k") + resp_encode("PING")
               + resp_encode("PING", "hi") + resp_encode("QUIT"))
    reply = raw_command(server.port, payload, read_until=b"+OK\r\n")
    assert reply == (b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
                     b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     b"QUIT / RESET are allowed in this context\r\n"
                     b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
                     b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
                     b"+OK\r\n")


def test_redis_py_ping_inside_subscribed_mode(server):
    ps = server.client().pubsub()
    ps.subscribe("p")
    ps.get_message(timeout=5)
    ps.ping("x")
    m = None
    deadline = time.monotonic() + 5
    while m is None and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.2)
    assert m == {"type": "pong", "pattern": None, "channel": None, "data": "x"}
    ps.close()


def test_resp3_messages_are_pushes(server):
    import socket
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        s.sendall(resp_encode("HELLO", "3") + resp_encode("SUBSCRIBE", "r3"))
        data = b""
        while b">3\r\n$9\r\nsubscribe\r\n$2\r\nr3\r\n:1\r\n" not in data:
            data += s.recv(65536)
        server.client().publish("r3", "payload")
        while b">3\r\n$7\r\nmessage\r\n$2\r\nr3\r\n$7\r\npayload\r\n" not in data:
            data += s.recv(65536)
        # In RESP3 other commands work while subscribed.
        s.sendall(resp_encode("GET", "nothing-here"))
        while not data.endswith(b"_\r\n"):
            data += s.recv(65536)
    finally:
        s.close()


def test_shard_channels(server, r):
    ps = server.client().pubsub()
    ps.execute_command("SSUBSCRIBE", "shard1")
    wait_until(lambda: r.execute_command("PUBSUB", "SHARDNUMSUB", "shard1") == ["shard1", 1], 5,
               message="the shard subscription")
    assert r.execute_command("SPUBLISH", "shard1", "m") == 1
    assert r.publish("shard1", "m") == 0        # another namespace
    assert r.execute_command("PUBSUB", "SHARDCHANNELS") == ["shard1"]
    ps.close()


def test_every_subscriber_on_every_node_gets_every_message_in_order(cluster):
    subs = []
    for n in cluster.nodes:
        ps = n.client().pubsub()
        ps.subscribe("events")
        assert ps.get_message(timeout=10)["type"] == "subscribe"
        subs.append(ps)
    leader = cluster.leader()
    wait_until(lambda: leader.client().pubsub_numsub("events") == [("events", 3)], 10,
               message="all three subscriptions to be known cluster-wide")

    def publish(node, tag):
        c = node.client()
        for i in range(50):
            # Every node counts every subscriber in the cluster.
            assert c.publish("events", f"{tag}:{i}") == 3

    threads = [threading.Thread(target=publish, args=(n, n.node_id)) for n in cluster.nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    orders = []
    for ps in subs:
        got = [m["data"] for m in messages(ps, 150, timeout=20)]
        assert len(got) == 150
        for n in cluster.nodes:
            mine = [int(x.split(":")[1]) for x in got if x.startswith(f"{n.node_id}:")]
            assert mine == list(range(50)), "a publisher's messages arrived out of order"
        orders.append(got)
    # The log orders publishers too: every subscriber saw the same sequence.
    assert orders[0] == orders[1] == orders[2]
    for ps in subs:
        ps.close()


def test_a_restarted_node_drops_its_old_subscriptions(make_cluster):
    cluster = make_cluster().start()
    follower = cluster.followers()[0]
    ps = follower.client().pubsub()
    ps.subscribe("gone")
    assert ps.get_message(timeout=10)["type"] == "subscribe"
    leader = cluster.leader()
    wait_until(lambda: leader.client().pubsub_numsub("gone") == [("gone", 1)], 10,
               message="the subscription")
    follower.kill()
    follower.start()
    # The restarted process registers itself; its predecessor's
    # subscriptions are dropped on every node.
    wait_until(lambda: leader.client().pubsub_numsub("gone") == [("gone", 0)], 20,
               message="the dead process's subscription to be dropped")


def test_a_slow_subscriber_is_disconnected_and_stalls_no_one(make_node):
    from conftest import wait_writable
    node = make_node().start()
    wait_writable(node)
    r = node.client()
    assert r.config_set("client-output-buffer-limit", "pubsub 1mb 0 0")
    import socket
    slow = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(resp_encode("SUBSCRIBE", "firehose"))
    fast = node.client().pubsub()
    fast.subscribe("firehose")
    assert fast.get_message(timeout=5)["type"] == "subscribe"
    wait_until(lambda: r.pubsub_numsub("firehose") == [("firehose", 2)], 10,
               message="both subscriptions")
    payload = "x" * 100_000
    received = []
    for i in range(200):
        r.publish("firehose", f"{i}:{payload}")
        m = fast.get_message(timeout=0.01)
        while m is not None:
            if m["type"] == "message":
                received.append(m["data"])
            m = fast.get_message(timeout=0.01)
    received += [m["data"] for m in messages(fast, 200 - len(received), timeout=20)]
    # The one that keeps up gets everything, in order.
    assert [int(m.split(":")[0]) for m in received] == list(range(200))
    # The one that does not read was cut off at 1 MB of pending messages,
    # and unsubscribed through the log.
    wait_until(lambda: r.pubsub_numsub("firehose") == [("firehose", 1)], 10,
               message="the slow subscriber to be dropped")
    assert r.ping()
    slow.close()
    fast.close()


def test_channel_lists_are_the_same_on_every_node(cluster):
    """PUBSUB CHANNELS answers in one order everywhere: a script that writes
    what it read leaves identical replicas (every node has its own hash seed)."""
    leader = cluster.leader()
    subscribers = []
    names = [f"chan:{i}" for i in range(200)]
    for k, node in enumerate(cluster.nodes):
        ps = node.client().pubsub()
        ps.subscribe(*names[k::3])
        subscribers.append(ps)
    c = leader.client()
    wait_until(lambda: len(c.pubsub_channels("chan:*")) == len(names), 10,
               message="every subscription to be registered")
    for node in cluster.nodes:
        assert node.client().pubsub_channels("chan:*") == sorted(names)
    c.eval("redis.call('rpush', KEYS[1], unpack(redis.call('pubsub', 'channels', 'chan:*')))",
           1, "channels-read-by-a-script")
    assert c.lrange("channels-read-by-a-script", 0, -1) == sorted(names)
    cluster.wait_converged()
    for ps in subscribers:
        ps.close()
