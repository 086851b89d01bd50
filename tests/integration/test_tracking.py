"""Client-side caching (CLIENT TRACKING): a client that read a key hears
when it changes, on any node, in RESP3 pushes or on a RESP2 redirect's
__redis__:invalidate channel; BCAST prefixes, NOLOOP, OPTIN, flushes; the
options' errors and TRACKINGINFO as redis-server gives them."""
import pytest

from rawresp import Push, RawConn


def resp3(port):
    c = RawConn(port)
    c.call("HELLO", "3")
    return c


def invalidation(conn):
    msg = conn.read()
    assert isinstance(msg, Push), msg
    assert msg[0] == b"invalidate", msg
    return msg[1]


def test_a_read_key_is_invalidated_once_when_another_client_writes_it(server, r):
    with resp3(server.port) as a:
        assert a.call("CLIENT", "TRACKING", "ON") == "OK"
        r.set("trk:k", "1")
        r.set("trk:unread", "1")
        assert a.call("GET", "trk:k") == b"1"
        r.set("trk:unread", "2")  # never read: no message
        r.set("trk:k", "2")
        assert invalidation(a) == [b"trk:k"]
        r.set("trk:k", "3")  # forgotten after the first message
        assert a.call("PING") == "PONG"


def test_the_invalidation_of_its_own_write_follows_the_reply(server):
    with resp3(server.port) as a:
        a.call("CLIENT", "TRACKING", "ON")
        a.call("HSET", "trk:h", "f", "1")
        assert a.call("HGET", "trk:h", "f") == b"1"
        assert a.call("HDEL", "trk:h", "f") == 1
        assert invalidation(a) == [b"trk:h"]


def test_a_transaction_reply_comes_before_its_invalidation(server, r):
    with resp3(server.port) as a:
        a.call("CLIENT", "TRACKING", "ON")
        r.mset({"trk:ta": "1", "trk:tb": "2"})
        a.call("GET", "trk:ta")
        a.call("MULTI")
        a.call("INCR", "trk:ta")
        a.call("GET", "trk:tb")
        assert a.call("EXEC") == [2, b"2"]
        assert invalidation(a) == [b"trk:ta"]


def test_a_client_of_a_follower_hears_of_a_write_made_on_the_leader(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    leader.client().set("trk:f", "1")
    with resp3(follower.port) as a:
        a.call("CLIENT", "TRACKING", "ON")
        assert a.call("GET", "trk:f") == b"1"
        leader.client().set("trk:f", "2")
        assert invalidation(a) == [b"trk:f"]
        assert a.call("GET", "trk:f") == b"2"


def test_bcast_sends_the_keys_under_its_prefixes_and_noloop_leaves_out_its_own(server, r):
    with resp3(server.port) as a:
        assert a.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "trk:user:", "NOLOOP") == "OK"
        a.call("SET", "trk:user:mine", "1")  # its own change: not told
        r.set("trk:other:1", "1")  # outside the prefix
        r.set("trk:user:1", "1")
        assert invalidation(a) == [b"trk:user:1"]


def test_redirect_to_a_resp2_subscriber(server, r):
    with RawConn(server.port) as sub, RawConn(server.port) as a:
        sub_id = sub.call("CLIENT", "ID")
        sub.call("SUBSCRIBE", "__redis__:invalidate")
        assert a.call("CLIENT", "TRACKING", "ON", "REDIRECT", str(sub_id)) == "OK"
        assert a.call("CLIENT", "GETREDIR") == sub_id
        r.set("trk:r", "1")
        a.call("GET", "trk:r")
        r.set("trk:r", "2")
        assert sub.read() == [b"message", b"__redis__:invalidate", [b"trk:r"]]


def test_optin_remembers_only_the_command_after_caching_yes(server, r):
    with resp3(server.port) as a:
        a.call("CLIENT", "TRACKING", "ON", "OPTIN")
        a.call("GET", "trk:o1")
        assert a.call("CLIENT", "CACHING", "YES") == "OK"
        a.call("GET", "trk:o2")
        a.call("GET", "trk:o3")  # CACHING lasts one command
        r.set("trk:o1", "x")
        r.set("trk:o3", "x")
        r.set("trk:o2", "x")
        assert invalidation(a) == [b"trk:o2"]
        assert a.call("PING") == "PONG"


def test_flushall_tells_every_tracking_client_to_drop_everything(make_node):
    node = make_node().start()
    with resp3(node.port) as a:
        a.call("CLIENT", "TRACKING", "ON")
        a.call("GET", "trk:any")
        node.client().flushall()
        assert invalidation(a) is None


def test_tracking_info_and_stats(server, r):
    with resp3(server.port) as a, resp3(server.port) as b:
        a.call("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")
        a.call("GET", "trk:i1")
        b.call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "trk:b", "PREFIX", "trk:a")
        info = a.call("CLIENT", "TRACKINGINFO")
        assert info[b"flags"] == [b"on", b"optout", b"noloop"]
        assert info[b"redirect"] == 0
        assert b.call("CLIENT", "TRACKINGINFO")[b"prefixes"] == [b"trk:a", b"trk:b"]
        stats = r.info()
        assert stats["tracking_clients"] >= 2
        assert stats["tracking_total_prefixes"] >= 2
        assert stats["tracking_total_keys"] >= 1
        line = next(l for l in r.execute_command("CLIENT", "LIST").splitlines()
                    if f"id={b.call('CLIENT', 'ID')} " in l)
        assert " flags=tB " in line


@pytest.mark.parametrize("args", [
    ["CLIENT", "TRACKING", "ON", "PREFIX", "a"],
    ["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"],
    ["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"],
    ["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"],
    ["CLIENT", "TRACKING", "ON", "REDIRECT", "x"],
    ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "abc"],
    ["CLIENT", "TRACKING", "MAYBE"],
    ["CLIENT", "TRACKING", "ON", "BOGUS"],
    ["CLIENT", "CACHING", "YES"],
    ["CLIENT", "GETREDIR"],
    ["CLIENT", "TRACKINGINFO"],
])
def test_replies_match_redis(server, redis_ref, args):
    with resp3(server.port) as ours, resp3(redis_ref.port) as ref:
        assert ours.call(*args) == ref.call(*args)


def test_switching_modes_is_refused_as_redis_refuses_it(server, redis_ref):
    steps = [
        ["CLIENT", "TRACKING", "ON", "OPTIN"],
        ["CLIENT", "TRACKING", "ON", "OPTOUT"],
        ["CLIENT", "CACHING", "NO"],
        ["CLIENT", "TRACKING", "ON", "BCAST"],
        ["CLIENT", "TRACKING", "OFF"],
        ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p"],
        ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "px"],
        ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "q"],
        ["CLIENT", "TRACKINGINFO"],
    ]
    with resp3(server.port) as ours, resp3(redis_ref.port) as ref:
        for step in steps:
            assert ours.call(*step) == ref.call(*step), step


def test_reset_turns_tracking_off(server, redis_ref):
    seen = []
    for port in (server.port, redis_ref.port):
        with resp3(port) as a:
            a.call("CLIENT", "TRACKING", "ON", "BCAST")
            assert a.call("RESET") == "RESET"  # RESP2 again, tracking off
            seen.append([a.call("CLIENT", "TRACKINGINFO"), a.call("CLIENT", "GETREDIR")])
    assert seen[0] == seen[1] and seen[0][1] == -1
