"""HyperLogLog (PFADD, PFCOUNT, PFMERGE): the same commands sent to Parley
and to a redis-server 7.0 give the same replies and the same bytes (sparse
and dense encodings, the switch between them), except the cardinality that
Redis's PFCOUNT caches in the header (Parley's PFCOUNT never writes); a
value made by one server is read by the other; hostile values are refused
with Redis's errors and never stop a node."""
import random

import pytest
import redis

from exact import empty_pair


def run(client, cmd):
    try:
        return client.execute_command(*cmd)
    except redis.ResponseError as e:
        return ("error", str(e))


def without_cache(v):
    """An HLL's bytes with the cached cardinality (bytes 8-15) blanked."""
    if isinstance(v, bytes) and v[:4] == b"HYLL" and len(v) >= 16:
        return v[:8] + b"\0" * 8 + v[16:]
    return v


@pytest.fixture
def pair(server, redis_ref):
    return empty_pair(server, redis_ref)


def compare(pair, cmds):
    ours, theirs = pair
    for cmd in cmds:
        a, b = run(ours, cmd), run(theirs, cmd)
        if cmd[0] == "GET":
            a, b = without_cache(a), without_cache(b)
        assert a == b, f"{cmd!r}: parley {a!r}, redis {b!r}"


def test_sparse_values_and_counts_match_redis(pair):
    cmds = [("PFADD", "h"), ("GET", "h"), ("PFADD", "h"), ("PFCOUNT", "h"), ("PFCOUNT", "missing")]
    for i in range(0, 400, 7):
        cmds.append(("PFADD", "h", *[f"e{j}" for j in range(i, i + 7)]))
        cmds.append(("GET", "h"))
        cmds.append(("PFCOUNT", "h"))
    cmds += [("PFADD", "h", "e1", "e2"), ("PFADD", "b", "", "x" * 100, b"\x00\xff")]
    cmds += [("GET", "b"), ("PFCOUNT", "h", "b", "missing"), ("OBJECT", "ENCODING", "h")]
    compare(pair, cmds)


def test_turning_dense_matches_redis(pair):
    """Past 3000 bytes of opcodes (or a register over 32) a value turns
    dense: the same element makes it turn on both servers."""
    ours, theirs = pair
    for i in range(0, 3000, 50):
        batch = [f"item:{j}" for j in range(i, i + 50)]
        compare(pair, [("PFADD", "big", *batch), ("GET", "big")])
    compare(pair, [("PFCOUNT", "big"), ("STRLEN", "big")])
    assert len(ours.execute_command("GET", "big")) == 12304  # dense


def test_counts_follow_every_change_of_a_dense_value(pair):
    """PFCOUNT remembers the estimates it computed by the value's content
    (Parley never caches one in the header): every change of the value
    gives a new count, and an equal value elsewhere (COPY, SET of its
    bytes) the same count, as Redis answers."""
    ours, _ = pair
    compare(pair, [("PFADD", "big", *[f"item:{j}" for j in range(4000)])])
    assert len(ours.execute_command("GET", "big")) == 12304  # dense
    for i in range(4000, 7000, 100):
        compare(pair, [("PFCOUNT", "big"), ("PFADD", "big", *[f"item:{j}" for j in range(i, i + 100)]),
                       ("PFCOUNT", "big"), ("PFCOUNT", "big")])
    compare(pair, [("COPY", "big", "copy"), ("PFCOUNT", "copy"), ("PFADD", "copy", "one more"),
                   ("PFCOUNT", "copy"), ("PFCOUNT", "big"), ("PFCOUNT", "big", "copy")])
    raw = ours.execute_command("GET", "big")
    ours.execute_command("SET", "same", raw)
    assert ours.execute_command("PFCOUNT", "same") == ours.execute_command("PFCOUNT", "big")


def test_large_sets_count_like_redis(pair):
    ours, theirs = pair
    rng = random.Random(5)
    for _ in range(20):
        batch = [rng.getrandbits(64).to_bytes(8, "little") for _ in range(1000)]
        compare(pair, [("PFADD", "many", *batch)])
    compare(pair, [("PFCOUNT", "many"), ("GET", "many"), ("PFADD", "small", "a", "b", "c")])
    compare(pair, [("PFCOUNT", "many", "small"), ("PFMERGE", "m", "many", "small"), ("GET", "m"),
                   ("PFCOUNT", "m"), ("PFMERGE", "s2", "small"), ("GET", "s2"),
                   ("PFMERGE", "s2", "small", "missing"), ("GET", "s2"), ("PFMERGE", "empty"),
                   ("GET", "empty"), ("PFMERGE", "small", "many"), ("GET", "small")])


@pytest.mark.parametrize("seed", [1, 2])
def test_random_merges_match_redis(pair, seed):
    rng = random.Random(seed)
    keys = ["a", "b", "c", "d"]
    cmds = []
    for _ in range(120):
        k = rng.choice(keys)
        p = rng.random()
        if p < 0.6:
            cmds.append(("PFADD", k, *[f"{rng.randrange(5000)}" for _ in range(rng.randrange(0, 60))]))
        elif p < 0.8:
            cmds.append(("PFMERGE", k, *rng.sample(keys, rng.randrange(0, 4))))
        else:
            cmds.append(("PFCOUNT", *rng.sample(keys, rng.randrange(1, 4))))
        cmds.append(("GET", k))
    compare(pair, cmds)


def test_a_value_moves_between_servers(pair):
    ours, theirs = pair
    theirs.execute_command("PFADD", "r", *[f"x{i}" for i in range(100)])
    ours.execute_command("SET", "r", theirs.execute_command("GET", "r"))
    assert ours.execute_command("PFCOUNT", "r") == theirs.execute_command("PFCOUNT", "r")
    ours.execute_command("PFADD", "p", *[f"y{i}" for i in range(5000)])
    theirs.execute_command("SET", "p", ours.execute_command("GET", "p"))
    assert theirs.execute_command("PFCOUNT", "p") == ours.execute_command("PFCOUNT", "p")


HOSTILE = [
    b"HYLL",                                       # short
    b"HYLX" + b"\x01" + b"\0" * 11 + b"\x7f\xff",  # bad magic
    b"HYLL\x02" + b"\0" * 11 + b"\x7f\xff",        # bad encoding
    b"HYLL\x00" + b"\0" * 11 + b"\0" * 100,        # dense of the wrong size
    b"HYLL\x01" + b"\0" * 11,                      # sparse, no opcodes
    b"HYLL\x01" + b"\0" * 11 + b"\x7f\xff\x00",    # one register too many
    b"HYLL\x01" + b"\0" * 11 + b"\xff" * 50,       # VALs short of 16384
    b"HYLL\x01" + b"\0" * 11 + b"\x7f\xfe\xfb",    # a VAL run past the end
    b"HYLL\x01" + b"\0" * 7 + b"\x05\0\0\0\0\0\0\0" + b"\x7f\xff",  # a cached count
    b"HYLL\x01" + b"\0" * 11 + b"\x40\x00" * 8192,  # 8192 XZERO of 1
    b"HYLL\x00" + b"\0" * 11 + b"\xff" * 12288,    # dense, every register 63
    b"12345678901234567890",
]


@pytest.mark.parametrize("i", range(len(HOSTILE)))
def test_hostile_values_get_redis_errors(pair, i):
    v = HOSTILE[i]
    compare(pair, [("SET", "x", v), ("PFCOUNT", "x"), ("PFADD", "x", "a", "b", "zz" * 40), ("GET", "x"),
                   ("PFCOUNT", "x", "missing"), ("PFMERGE", "d", "x"), ("GET", "d"),
                   ("SET", "y", v), ("PFMERGE", "y"), ("GET", "y"), ("LPUSH", "l", "1"), ("PFADD", "l"),
                   ("PFCOUNT", "l"), ("PFMERGE", "l"), ("PFCOUNT", "x", "l"), ("SET", "n", "7"),
                   ("PFADD", "n", "a"), ("PFCOUNT", "n")])


def test_a_cut_short_opcode_is_refused(pair):
    """A sparse value ending in half an XZERO: Redis reads the byte after
    the value as its second byte and edits past its end; Parley refuses
    the edit, and counts it as Redis does."""
    ours, theirs = pair
    v = b"HYLL\x01" + b"\0" * 11 + b"\x7f"
    ours.execute_command("SET", "x", v)
    theirs.execute_command("SET", "x", v)
    assert run(ours, ("PFADD", "x", "a")) == ("error", "INVALIDOBJ Corrupted HLL object detected")
    assert ours.execute_command("GET", "x") == v
    compare(pair, [("PFCOUNT", "x"), ("PFCOUNT", "x", "missing")])


def test_replicas_hold_the_same_hyperloglogs(make_cluster):
    c = make_cluster().start()
    cl = c.leader().client(decode_responses=False)
    for i in range(0, 4000, 100):
        cl.execute_command("PFADD", f"h{i % 3}", *[f"v{j}" for j in range(i, i + 100)])
    cl.execute_command("PFMERGE", "all", "h0", "h1", "h2")
    counts = cl.execute_command("PFCOUNT", "all")
    assert 3800 < counts < 4200
    c.wait_converged()  # the same digest on every node
    for n in c.nodes:
        assert n.client(decode_responses=False).execute_command("PFCOUNT", "all") == counts
