"""MULTI/EXEC/DISCARD/WATCH/UNWATCH: Redis 7.0 semantics, with a
transaction applied as one step of the Raft log on every node."""
import threading

import pytest
import redis

from conftest import raw_command, resp_encode, wait_until
from exact import err, exact_client


@pytest.fixture
def x(server, r):
    c = exact_client(server)
    yield c
    c.close()


def test_transaction_runs_all_commands_in_order(r):
    p = r.pipeline(transaction=True)
    p.set("a", 1)
    p.incr("a")
    p.get("a")
    assert p.execute() == [True, 2, "2"]


def test_queued_replies_and_exec_array(x):
    assert x.execute_command("MULTI") == "OK"
    assert x.execute_command("SET", "k", "v") == "QUEUED"
    assert x.execute_command("GET", "k") == "QUEUED"
    assert x.execute_command("EXEC") == ["OK", "v"]


def test_empty_transaction(x):
    assert x.execute_command("MULTI") == "OK"
    assert x.execute_command("EXEC") == []


def test_errors_outside_and_nested(x):
    assert err(x, "EXEC") == "ERR EXEC without MULTI"
    assert err(x, "DISCARD") == "ERR DISCARD without MULTI"
    x.execute_command("MULTI")
    assert err(x, "MULTI") == "ERR MULTI calls can not be nested"
    assert err(x, "WATCH", "k") == "ERR WATCH inside MULTI is not allowed"
    # Neither error made the transaction fail.
    assert x.execute_command("SET", "n", "1") == "QUEUED"
    assert x.execute_command("EXEC") == ["OK"]


def test_unknown_command_or_arity_error_aborts_exec(x):
    x.execute_command("MULTI")
    assert x.execute_command("SET", "k", "v") == "QUEUED"
    assert err(x, "NOSUCHCMD", "a").startswith("ERR unknown command 'NOSUCHCMD'")
    assert err(x, "EXEC") == "EXECABORT Transaction discarded because of previous errors."
    assert x.execute_command("EXISTS", "k") == 0
    x.execute_command("MULTI")
    assert err(x, "GET") == "ERR wrong number of arguments for 'get' command"
    assert err(x, "EXEC") == "EXECABORT Transaction discarded because of previous errors."


def test_runtime_error_does_not_roll_back(x):
    x.execute_command("SET", "s", "not-a-number")
    x.execute_command("MULTI")
    x.execute_command("SET", "t", "1")
    x.execute_command("INCR", "s")
    x.execute_command("INCR", "t")
    reply = x.execute_command("EXEC")
    assert reply[0] == "OK"
    assert isinstance(reply[1], redis.ResponseError)
    assert str(reply[1]) == "ERR value is not an integer or out of range"
    assert reply[2] == 2


def test_discard_drops_the_queue(x):
    x.execute_command("MULTI")
    x.execute_command("SET", "d", "1")
    assert x.execute_command("DISCARD") == "OK"
    assert x.execute_command("EXISTS", "d") == 0


def test_select_inside_multi(x):
    x.execute_command("MULTI")
    x.execute_command("SELECT", "3")
    x.execute_command("SET", "in3", "yes")
    assert x.execute_command("EXEC") == ["OK", "OK"]
    assert x.execute_command("GET", "in3") == "yes"   # the connection is on db 3 now
    x.execute_command("SELECT", "0")
    assert x.execute_command("GET", "in3") is None


def test_watch_aborts_when_another_client_changes_the_key(server, r):
    other = server.client()
    r.set("w", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        other.set("w", "2")
        p.multi()
        p.set("w", "3")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("w") == "2"


def test_watch_executes_when_nothing_changed(r):
    r.set("w", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("w")
        assert p.get("w") == "1"
        p.multi()
        p.set("w", "2")
        assert p.execute() == [True]
    assert r.get("w") == "2"


def test_redis_py_transaction_helper_retries_after_a_conflict(server, r):
    """r.transaction() re-runs the function when EXEC is aborted by WATCH."""
    other = server.client()
    r.set("balance", "100")
    attempts = []

    def withdraw(pipe):
        balance = int(pipe.get("balance"))
        attempts.append(balance)
        if len(attempts) == 1:
            other.decrby("balance", 30)  # a concurrent change: this attempt must fail
        pipe.multi()
        pipe.set("balance", balance - 10)

    r.transaction(withdraw, "balance")
    assert attempts == [100, 70]
    assert r.get("balance") == "60"


def test_redis_py_plain_pipeline(r):
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.rpush("pl", i)
    p.lrange("pl", 0, 2)
    p.incr("pl")  # an error in the middle of a pipeline does not stop it
    p.llen("pl")
    out = p.execute(raise_on_error=False)
    assert out[:100] == list(range(1, 101))
    assert out[100] == ["0", "1", "2"]
    assert isinstance(out[101], redis.ResponseError)
    assert out[102] == 100


def test_watch_of_a_missing_key_sees_its_creation(server, x):
    other = server.client()
    x.execute_command("WATCH", "ghost")
    other.set("ghost", "boo")
    x.execute_command("MULTI")
    x.execute_command("SET", "ghost", "mine")
    assert x.execute_command("EXEC") is None


def test_flushdb_touches_every_watched_key(server, x):
    x.execute_command("SET", "f", "1")
    x.execute_command("WATCH", "f")
    server.client().flushdb()
    x.execute_command("MULTI")
    x.execute_command("SET", "f", "2")
    assert x.execute_command("EXEC") is None


def test_unwatch_forgets_and_the_next_watch_starts_fresh(server, x):
    other = server.client()
    x.execute_command("SET", "u", "1")
    x.execute_command("WATCH", "u")
    other.set("u", "2")
    assert x.execute_command("UNWATCH") == "OK"
    x.execute_command("WATCH", "u")   # observes from here
    x.execute_command("MULTI")
    x.execute_command("SET", "u", "3")
    assert x.execute_command("EXEC") == ["OK"]


def test_exec_ends_the_watch(server, x):
    other = server.client()
    x.execute_command("WATCH", "e")
    x.execute_command("MULTI")
    x.execute_command("SET", "e", "1")
    assert x.execute_command("EXEC") == ["OK"]
    other.set("e", "2")
    x.execute_command("MULTI")
    x.execute_command("SET", "e", "3")
    assert x.execute_command("EXEC") == ["OK"]


def test_a_pipelined_watch_multi_exec_in_one_write(server, r):
    """WATCH's session opens in the log before EXEC checks it, even when
    both arrive in one write (EXEC is sent before WATCH is applied)."""
    r.set("pw", "5")
    payload = (resp_encode("WATCH", "pw") + resp_encode("MULTI") + resp_encode("INCR", "pw")
               + resp_encode("EXEC"))
    reply = raw_command(server.port, payload, read_until=b"*1\r\n:6\r\n")
    assert reply == b"+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:6\r\n"


def optimistic_increments(clients, key, per_client):
    def work(c):
        for _ in range(per_client):
            while True:
                try:
                    with c.pipeline(transaction=True) as p:
                        p.watch(key)
                        value = int(p.get(key) or 0)
                        p.multi()
                        p.set(key, value + 1)
                        p.execute()
                        break
                except redis.WatchError:
                    continue
    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)


def test_optimistic_counter_single_node(server, r):
    optimistic_increments([server.client() for _ in range(4)], "occ", 40)
    assert r.get("occ") == "160"


def test_optimistic_counter_across_cluster_nodes(cluster):
    clients = [n.client() for n in cluster.nodes for _ in range(2)]
    optimistic_increments(clients, "occ-cluster", 20)
    assert cluster.nodes[0].client().get("occ-cluster") == "120"
    cluster.wait_converged()


def test_transactions_stay_whole_across_a_leader_kill(make_cluster):
    cluster = make_cluster().start()
    stop = threading.Event()
    errors = []

    def writer(node, tag):
        c = node.client(socket_timeout=20)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                p = c.pipeline(transaction=True)
                p.set(f"pair:{tag}:a", i)
                p.set(f"pair:{tag}:b", i)
                p.execute()
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as e:
                errors.append(e)
                live = [n for n in cluster.nodes if n.alive()]
                if not live:
                    return
                c = live[0].client(socket_timeout=20)

    threads = [threading.Thread(target=writer, args=(n, n.node_id)) for n in cluster.nodes]
    for t in threads:
        t.start()
    leader = cluster.leader()
    c0 = [n for n in cluster.nodes if n is not leader][0].client()
    wait_until(lambda: all(c0.get(f"pair:{n.node_id}:a") for n in cluster.nodes), 30,
               message="transactions from every node")
    leader.kill()
    cluster.wait_leader(10, exclude=[leader])
    before = {n.node_id: int(c0.get(f"pair:{n.node_id}:a") or 0) for n in cluster.nodes}
    wait_until(lambda: sum(int(c0.get(f"pair:{t}:a") or 0) for t in before) > sum(before.values()) + 30,
               30, message="more transactions after the kill")
    stop.set()
    for t in threads:
        t.join(30)
    leader.start()
    cluster.wait_converged(30)
    for n in cluster.nodes:
        a = c0.get(f"pair:{n.node_id}:a")
        assert a == c0.get(f"pair:{n.node_id}:b"), "a transaction was applied in part"


def test_node_local_commands_are_queued_like_redis(server, redis_ref):
    """SLOWLOG, CONFIG GET/SET and CLIENT UNPAUSE inside MULTI are queued
    and answer in their places in EXEC's array, as redis-server's do."""
    script = [("SET", "k", "v"), ("CONFIG", "SET", "slowlog-max-len", "77"),
              ("CONFIG", "GET", "slowlog-max-len"), ("SLOWLOG", "RESET"), ("SLOWLOG", "LEN"),
              ("SLOWLOG", "GET", "-2"), ("CLIENT", "UNPAUSE"), ("GET", "k")]
    results = []
    for node in (server, redis_ref):
        c = exact_client(node)
        try:
            old = c.execute_command("CONFIG", "GET", "slowlog-max-len")[1]
            assert c.execute_command("MULTI") == "OK"
            for cmd in script:
                assert c.execute_command(*cmd) == "QUEUED"
            results.append([("error", str(v)) if isinstance(v, Exception) else v
                            for v in c.execute_command("EXEC")])
            assert c.execute_command("CONFIG", "GET", "slowlog-max-len") == ["slowlog-max-len", "77"]
            c.execute_command("CONFIG", "SET", "slowlog-max-len", old)
        finally:
            c.close()
    assert results[0] == results[1]
    assert results[0][2] == ["slowlog-max-len", "77"]
    assert results[0][5] == ("error", "ERR count should be greater than or equal to -1")


def test_replicated_setting_inside_multi_is_refused_in_its_place(x):
    """CONFIG SET of an encoding threshold answers only once its own log
    entry applies: inside a transaction it answers an error, the rest runs."""
    assert x.execute_command("MULTI") == "OK"
    assert x.execute_command("CONFIG", "SET", "list-max-listpack-size", "64") == "QUEUED"
    assert x.execute_command("SET", "after", "1") == "QUEUED"
    got = x.execute_command("EXEC")
    assert str(got[0]).startswith("ERR CONFIG SET of a replicated setting")
    assert got[1] == "OK"
    assert x.execute_command("CONFIG", "GET", "list-max-listpack-size") == ["list-max-listpack-size", "-2"]
