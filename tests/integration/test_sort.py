"""SORT and SORT_RO: the same commands sent to Parley and to a redis-server
7.0 give the same replies (errors included) and store the same lists, over
lists, sets and sorted sets, BY and GET patterns (keys and hash fields),
LIMIT, ASC/DESC, ALPHA and STORE; and on a cluster every replica stores the
same result."""
import random

import pytest
import redis

from exact import empty_pair


def run(client, cmd):
    try:
        return client.execute_command(*cmd)
    except redis.ResponseError as e:
        return ("error", str(e))


@pytest.fixture
def pair(server, redis_ref):
    return empty_pair(server, redis_ref)


def compare(pair, cmds, unordered=()):
    """unordered: commands whose reply order Redis leaves to its hashing
    (a set returned unsorted): compared as multisets."""
    ours, theirs = pair
    for cmd in cmds:
        a, b = run(ours, cmd), run(theirs, cmd)
        if cmd in unordered and isinstance(a, list) and isinstance(b, list):
            a, b = sorted(a, key=repr), sorted(b, key=repr)
        assert a == b, f"{cmd!r}: parley {a!r}, redis {b!r}"


SETUP = [
    ("RPUSH", "l", 3, 1, 2, 10, "-5", "2.5", 1),
    ("RPUSH", "words", "banana", "apple", "Cherry", "apple2", "", "b"),
    ("SADD", "s", 5, 3, 9, 1, 7), ("SADD", "sw", "x", "ab", "a", "zz"),
    ("ZADD", "z", 1, "c", 2, "a", 3, "b", 3, "aa", 0, "zz"),
    ("MSET", "w_3", 30, "w_1", 10, "w_2", 20, "w_10", -1, "w_-5", 5),
    ("MSET", "o_3", "three", "o_1", "one", "o_2", "two", "o_10", "ten"),
    ("HSET", "h_3", "f", "c", "n", 3), ("HSET", "h_1", "f", "a", "n", 100), ("HSET", "h_2", "n", "x"),
    ("SET", "str", "x"), ("RPUSH", "bad", "1", "two", "3"),
]

CASES = [
    ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "LIMIT", 1, 3), ("SORT", "l", "LIMIT", -1, 2),
    ("SORT", "l", "LIMIT", 2, -1), ("SORT", "l", "LIMIT", 10, 2), ("SORT", "l", "LIMIT", 0, 0),
    ("SORT", "l", "ALPHA"), ("SORT", "l", "ALPHA", "DESC", "LIMIT", 0, 3), ("SORT", "words", "ALPHA"),
    ("SORT", "words"), ("SORT", "bad"), ("SORT", "bad", "ALPHA"), ("SORT", "s"), ("SORT", "s", "DESC"),
    ("SORT", "sw", "ALPHA"), ("SORT", "sw"), ("SORT", "z"), ("SORT", "z", "ALPHA"),
    ("SORT", "z", "BY", "nosort"), ("SORT", "z", "BY", "nosort", "DESC"),
    ("SORT", "z", "BY", "nosort", "LIMIT", 1, 2), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", 1, 2),
    ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"), ("SORT", "l", "BY", "o_*", "ALPHA"),
    ("SORT", "l", "BY", "o_*"), ("SORT", "l", "BY", "h_*->n"), ("SORT", "l", "BY", "h_*->f", "ALPHA"),
    ("SORT", "l", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "GET", "o_*"),
    ("SORT", "l", "GET", "o_*"), ("SORT", "l", "GET", "#", "GET", "o_*", "GET", "h_*->f"),
    ("SORT", "l", "GET", "h_*->"), ("SORT", "l", "GET", "fixed"), ("SORT", "l", "GET", "h_*->missing"),
    ("SORT", "l", "BY", "w_*", "GET", "#", "LIMIT", 0, 2), ("SORT", "s", "BY", "nosort", "STORE", "dst"),
    ("LRANGE", "dst", 0, -1), ("SORT", "sw", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", 0, -1),
    ("SORT", "l", "STORE", "dst"), ("LRANGE", "dst", 0, -1), ("SORT", "l", "GET", "o_*", "STORE", "dst"),
    ("LRANGE", "dst", 0, -1), ("SORT", "missing", "STORE", "dst"), ("EXISTS", "dst"), ("SORT", "missing"),
    ("SET", "dst", "v", "EX", 100), ("SORT", "l", "STORE", "dst"), ("TTL", "dst"), ("TYPE", "dst"),
    ("SORT", "l", "STORE", "l"), ("LRANGE", "l", 0, -1),
    ("SORT", "str"), ("SORT", "h_1"), ("SORT", "l", "LIMIT", 1), ("SORT", "l", "LIMIT", "a", 1),
    ("SORT", "l", "FOO"), ("SORT", "l", "GET"), ("SORT", "l", "BY"), ("SORT", "l", "STORE"),
    ("SORT_RO", "l"), ("SORT_RO", "l", "BY", "w_*", "GET", "#", "GET", "o_*"),
    ("SORT_RO", "l", "STORE", "dst"), ("SORT_RO", "z", "BY", "nosort", "DESC"), ("SORT_RO", "str"),
    ("SORT", "l", "asc", "desc"), ("SORT", "l", "limit", 0, 1, "limit", 2, 2),
]

UNORDERED = {("SORT", "s", "BY", "nosort")}


def test_cases_match_redis(pair):
    compare(pair, SETUP + CASES)


def test_scripts_get_sets_sorted(pair):
    """BY nosort on a set from a script: sorted, as Redis does for scripts."""
    compare(pair, [("SADD", "s", "b", "a", "c"),
                   ("EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'nosort')", 1, "s")])


@pytest.mark.parametrize("seed", [1, 2])
def test_random_sorts_match_redis(pair, seed):
    rng = random.Random(seed)
    cmds = [("RPUSH", "r", *[rng.choice([rng.randrange(-50, 50), f"{rng.random() * 100:.3f}"])
                             for _ in range(60)])]
    for i in range(-50, 50):
        if rng.random() < 0.7:
            cmds.append(("SET", f"wt_{i}", rng.randrange(5)))
    for _ in range(60):
        opts = []
        if rng.random() < 0.5:
            opts += ["BY", "wt_*"]
        if rng.random() < 0.4:
            opts += ["LIMIT", rng.randrange(-3, 70), rng.randrange(-3, 70)]
        if rng.random() < 0.5:
            opts.append("DESC")
        if rng.random() < 0.3:
            opts += ["GET", "#", "GET", "wt_*"]
        cmds.append(("SORT", "r", *opts))
    compare(pair, cmds)


def test_replicas_store_the_same_result(make_cluster):
    c = make_cluster().start()
    cl = c.leader().client(decode_responses=False)
    cl.execute_command("SADD", "s", *[f"m{i}" for i in range(200)])
    assert cl.execute_command("SORT", "s", "BY", "nosort", "STORE", "out") == 200
    c.wait_converged()
    lists = [n.client(decode_responses=False).execute_command("LRANGE", "out", 0, -1) for n in c.nodes]
    assert lists[0] == lists[1] == lists[2] == sorted(lists[0])
