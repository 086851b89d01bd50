"""Leader discovery for Sentinel-aware clients: every node answers SENTINEL
queries with the current Raft leader as the master, and redis-py's Sentinel
finds the leader, and the new one after the leader is killed, with no
acknowledged write lost."""

import redis
from redis.sentinel import Sentinel

from conftest import wait_until
from exact import err, exact_client


def test_every_node_names_the_leader(cluster):
    leader = cluster.leader()
    for n in cluster.nodes:
        c = n.client()
        # Members register their client address once per leader.
        wait_until(lambda: c.sentinel_masters()["mymaster"]["num-slaves"] == 2, 10,
                   message="every member's client address to be known")
        assert c.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", leader.port)
        masters = c.sentinel_masters()
        assert list(masters) == ["mymaster"]
        m = masters["mymaster"]
        assert m["is_master"] and not m["is_sdown"] and not m["is_odown"]
        assert (m["ip"], m["port"]) == ("127.0.0.1", leader.port)
        assert m["num-slaves"] == 2 and m["num-other-sentinels"] == 2 and m["quorum"] == 2
        assert c.sentinel_master("mymaster")["port"] == leader.port
        replicas = c.sentinel_slaves("mymaster")
        assert sorted(r["port"] for r in replicas) == sorted(
            x.port for x in cluster.nodes if x is not leader)
        assert all(r["is_slave"] and r["master-port"] == leader.port for r in replicas)
        sentinels = c.sentinel_sentinels("mymaster")
        assert sorted(s["port"] for s in sentinels) == sorted(
            x.port for x in cluster.nodes if x is not n)
    x = exact_client(cluster.nodes[0])
    assert x.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "other") is None
    assert err(x, "SENTINEL", "MASTER", "other") == "ERR No such master with that name"
    assert err(x, "SENTINEL", "REPLICAS", "other") == "ERR No such master with that name"
    assert err(x, "SENTINEL", "FAILOVER", "mymaster").startswith("ERR Parley elects its leader")
    assert err(x, "SENTINEL", "NOPE") == (
        "ERR unknown subcommand 'NOPE'. Try SENTINEL HELP.")
    assert x.execute_command("SENTINEL", "CKQUORUM", "mymaster").startswith("OK")


def test_redis_py_sentinel_follows_the_leader_across_a_kill(make_cluster):
    c = make_cluster().start()
    sentinel = Sentinel([("127.0.0.1", n.port) for n in c.nodes], socket_timeout=2)
    master = sentinel.master_for("mymaster", socket_timeout=2, decode_responses=True)
    leader = c.leader()
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", leader.port)
    acked = []
    for i in range(100):
        master.set(f"k{i}", i)
        acked.append(i)
    leader.kill()
    new = c.wait_leader(15, exclude=[leader])

    def write(i):
        try:
            return master.set(f"k{i}", i)
        except (redis.ConnectionError, redis.TimeoutError):
            return False  # rediscovers on the next call
    for i in range(100, 200):
        wait_until(lambda: write(i), 15, message=f"write {i} through Sentinel")
        acked.append(i)
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", new.port)
    assert master.connection_pool.get_master_address() == ("127.0.0.1", new.port)
    values = master.mget([f"k{i}" for i in acked])
    assert values == [str(i) for i in acked]
