"""Bitmaps (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO):
the same commands sent to Parley and to a redis-server 7.0 give the same
replies, errors included, and leave the same values; and on a cluster every
replica ends with the leader's bits."""
import random

import pytest
import redis

from conftest import parse_info
from exact import exact_client


def run(client, cmd):
    try:
        return client.execute_command(*cmd)
    except redis.ResponseError as e:
        return ("error", str(e))


def compare(server, redis_ref, cmds, keys):
    """Runs cmds on both servers; every reply and the final values agree."""
    ours = exact_client(server, decode=False)
    theirs = exact_client(redis_ref, decode=False)
    ours.flushall()
    theirs.flushall()
    for cmd in cmds:
        a, b = run(ours, cmd), run(theirs, cmd)
        assert a == b, f"{cmd!r}: parley {a!r}, redis {b!r}"
    for k in keys:
        assert ours.execute_command("GET", k) == theirs.execute_command("GET", k), k


FIXED = [
    # SETBIT / GETBIT: creation, growth, int-encoded strings, errors
    ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 1), ("SETBIT", "b", 100, 1), ("GET", "b"),
    ("GETBIT", "b", 7), ("GETBIT", "b", 6), ("GETBIT", "b", 100000), ("GETBIT", "missing", 3),
    ("SET", "n", "12"), ("GETBIT", "n", 2), ("SETBIT", "n", 15, 1), ("GET", "n"),
    ("SETBIT", "b", -1, 1), ("SETBIT", "b", "x", 1), ("SETBIT", "b", 4294967296, 1),
    ("SETBIT", "b", 1, 2), ("SETBIT", "b", 1, "-1"), ("GETBIT", "b", "1.5"),
    ("LPUSH", "l", "x"), ("SETBIT", "l", 1, 1), ("GETBIT", "l", 1), ("BITCOUNT", "l"),
    # BITCOUNT
    ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", 0, 0), ("BITCOUNT", "s", 1, 1),
    ("BITCOUNT", "s", 1, 1, "BYTE"), ("BITCOUNT", "s", 5, 30, "BIT"), ("BITCOUNT", "s", -3, -1, "bit"),
    ("BITCOUNT", "s", -1, -3), ("BITCOUNT", "s", 3, 1), ("BITCOUNT", "s", 0), ("BITCOUNT", "s", 0, 1, "x"),
    ("BITCOUNT", "s", "a", 1), ("BITCOUNT", "missing", "a"), ("BITCOUNT", "s", -100, 100),
    ("BITCOUNT", "s", 0, -1, "BIT"), ("BITCOUNT", "s", 47, 47, "BIT"), ("BITCOUNT", "s", 48, 60, "BIT"),
    # BITPOS
    ("SET", "p", b"\xff\xf0\x00"), ("BITPOS", "p", 0), ("BITPOS", "p", 1, 2), ("BITPOS", "p", 0, 1, 1),
    ("SET", "ones", b"\xff\xff"), ("BITPOS", "ones", 0), ("BITPOS", "ones", 0, 0, -1), ("BITPOS", "ones", 0, 1),
    ("BITPOS", "ones", 1, 3), ("BITPOS", "missing", 0), ("BITPOS", "missing", 1), ("BITPOS", "p", 2),
    ("BITPOS", "p", "x"), ("BITPOS", "p", 1, 3, 20, "BIT"), ("BITPOS", "p", 0, 3, 20, "bit"),
    ("BITPOS", "p", 0, 5, 9, "BIT"), ("BITPOS", "ones", 0, 3, 14, "BIT"), ("BITPOS", "p", 1, 0, 1, "WORD"),
    ("BITPOS", "p", 1, -1, -2), ("BITPOS", "p", 0, -100), ("SET", "empty", ""), ("BITPOS", "empty", 0),
    ("BITPOS", "empty", 1), ("BITCOUNT", "empty"), ("BITPOS", "l", 1),
    # BITOP
    ("SET", "x", "abc"), ("SET", "y", "zz"), ("BITOP", "AND", "d", "x", "y"), ("GET", "d"),
    ("BITOP", "or", "d", "x", "y", "missing"), ("GET", "d"), ("BITOP", "XOR", "d", "x", "y"), ("GET", "d"),
    ("BITOP", "NOT", "d", "x"), ("GET", "d"), ("BITOP", "NOT", "d", "x", "y"), ("BITOP", "NAND", "d", "x"),
    ("BITOP", "AND", "d", "missing", "missing2"), ("EXISTS", "d"), ("BITOP", "AND", "x", "x", "y"), ("GET", "x"),
    ("BITOP", "OR", "d", "x", "l"), ("SET", "i", "123"), ("BITOP", "OR", "d", "i", "y"), ("GET", "d"),
    ("SET", "t", "v", "EX", 100), ("BITOP", "OR", "t", "y"), ("TTL", "t"), ("BITOP", "AND", "l", "y"), ("TYPE", "l"),
    # BITFIELD
    ("BITFIELD", "f", "SET", "i8", 0, 100, "GET", "i8", 0, "INCRBY", "i8", 0, 100, "GET", "u4", 0),
    ("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", 0, 100, "INCRBY", "i8", 0, -1000),
    ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", 100, 1, "INCRBY", "u2", 100, 5, "GET", "u2", 100),
    ("BITFIELD", "f", "SET", "u8", "#3", 255, "GET", "u8", "#3", "GET", "i8", 24), ("GET", "f"),
    ("BITFIELD", "f", "SET", "i64", 0, -1, "GET", "i64", 0, "INCRBY", "i64", 0, 1, "GET", "u63", 1),
    ("BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i64", 0, 9223372036854775807, "INCRBY", "i64", 0, 1),
    ("BITFIELD", "f", "OVERFLOW", "WRAP", "INCRBY", "i64", 0, 9223372036854775807, "INCRBY", "u63", 0, -1),
    ("BITFIELD", "f", "SET", "u8", 0, -1, "OVERFLOW", "SAT", "SET", "u8", 8, 300, "SET", "i4", 16, -9),
    ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u8", 0, 256, "SET", "i4", 8, 8, "GET", "u8", 0),
    ("BITFIELD", "f", "GET", "u64", 0), ("BITFIELD", "f", "GET", "i65", 0), ("BITFIELD", "f", "GET", "x8", 0),
    ("BITFIELD", "f", "GET", "i0", 0), ("BITFIELD", "f", "GET", "u8", -1), ("BITFIELD", "f", "GET", "u8", "#-1"),
    ("BITFIELD", "f", "GET", "u8"), ("BITFIELD", "f", "OVERFLOW", "XX", "GET", "u8", 0),
    ("BITFIELD", "f", "FOO", "u8", 0), ("BITFIELD", "f", "SET", "u8", 0, "x"), ("BITFIELD", "f"),
    ("BITFIELD", "nf", "GET", "u8", 0, "GET", "i16", 3), ("EXISTS", "nf"),
    ("BITFIELD", "nf", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 10), ("EXISTS", "nf"), ("GET", "nf"),
    ("BITFIELD", "l", "GET", "u8", 0), ("BITFIELD", "f", "GET", "u8", 4294967296),
    ("BITFIELD", "f", "GET", "I8", 0, "get", "U8", 0), ("BITFIELD", "n", "INCRBY", "u8", 0, 1), ("GET", "n"),
    ("BITFIELD_RO", "f", "GET", "i8", 0, "GET", "u4", 4), ("BITFIELD_RO", "f", "SET", "i8", 0, 1),
    ("BITFIELD_RO", "f", "OVERFLOW", "SAT", "GET", "i8", 0), ("BITFIELD_RO", "f", "INCRBY", "i8", 0, 1),
    ("BITFIELD_RO", "missing", "GET", "u8", 0), ("BITFIELD_RO", "l", "GET", "u8", 0),
    ("BITFIELD", "f", "GET", "i8x", 0), ("BITFIELD", "f", "GET", "i08", 0), ("BITFIELD", "f", "GET", "u+8", 0),
    ("BITFIELD", "f", "GET", "i 8", 0), ("BITFIELD", "f", "GET", "i", 0), ("BITFIELD", "f", "GET", "u8", "#"),
    ("BITFIELD", "f", "GET", "u8", "#+1"), ("BITFIELD", "f", "GET", "u8", "+1"), ("GETBIT", "f", "007"),
    ("GET", "f"),
]


def test_fixed_cases_match_redis(server, redis_ref):
    compare(server, redis_ref, FIXED, ["b", "n", "s", "p", "d", "x", "f", "nf", "i", "t"])


def random_commands(rng, n):
    keys = ["k1", "k2", "k3"]
    types = ["i1", "u1", "i3", "u5", "i8", "u8", "i13", "u17", "i32", "u31", "i63", "i64", "u63"]
    cmds = []
    for _ in range(n):
        k = rng.choice(keys)
        pick = rng.random()
        off = rng.choice([0, 1, 7, 8, 9, 15, 31, 63, 64, 100, rng.randrange(0, 400)])
        if pick < 0.15:
            cmds.append(("SETBIT", k, off, rng.randrange(2)))
        elif pick < 0.25:
            cmds.append(("SET", k, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 12)))))
        elif pick < 0.4:
            a, b = rng.randrange(-60, 60), rng.randrange(-60, 60)
            cmds.append(("BITCOUNT", k, a, b) + ((rng.choice(["BIT", "BYTE"]),) if rng.random() < 0.5 else ()))
        elif pick < 0.55:
            extra = []
            if rng.random() < 0.7:
                extra.append(rng.randrange(-60, 60))
                if rng.random() < 0.6:
                    extra.append(rng.randrange(-60, 60))
                    if rng.random() < 0.5:
                        extra.append(rng.choice(["BIT", "BYTE"]))
            cmds.append(("BITPOS", k, rng.randrange(2), *extra))
        elif pick < 0.65:
            op = rng.choice(["AND", "OR", "XOR", "NOT"])
            srcs = [rng.choice(keys)] if op == "NOT" else rng.sample(keys, rng.randrange(1, 4))
            cmds.append(("BITOP", op, rng.choice(keys), *srcs))
        else:
            args = []
            for _ in range(rng.randrange(1, 5)):
                t = rng.choice(types)
                o = rng.choice([off, f"#{rng.randrange(0, 6)}"])
                w = rng.random()
                if w < 0.15:
                    args += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
                if w < 0.4:
                    args += ["GET", t, o]
                elif w < 0.7:
                    args += ["SET", t, o, rng.choice([0, 1, -1, 5, -100, 2 ** 31, -2 ** 63, 2 ** 63 - 1,
                                                      rng.randrange(-2 ** 20, 2 ** 20)])]
                else:
                    args += ["INCRBY", t, o, rng.choice([1, -1, 100, -100, 2 ** 62, -2 ** 62, 2 ** 63 - 1,
                                                         rng.randrange(-2 ** 40, 2 ** 40)])]
            cmds.append((rng.choice(["BITFIELD", "BITFIELD"]), k, *args))
        if rng.random() < 0.1:
            cmds.append(("GET", k))
    return cmds


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_match_redis(server, redis_ref, seed):
    compare(server, redis_ref, random_commands(random.Random(seed), 700), ["k1", "k2", "k3"])


def test_only_real_changes_count_as_changes_as_redis(server, redis_ref):
    """SETBIT and BITFIELD that leave the bits as they were change nothing:
    INFO's rdb_changes_since_last_save does not move (Redis 7.0's dirty)."""
    steps = [("SETBIT", "f", 0, 0), ("BITFIELD", "g", "SET", "i5", 0, 0),
             ("SETBIT", "f", 0, 0), ("BITFIELD", "g", "SET", "i5", 0, 0),
             ("SETBIT", "f", 0, 1), ("BITFIELD", "g", "SET", "i5", 0, 1),
             ("BITFIELD", "g", "SET", "i5", 0, 1), ("BITFIELD", "h", "INCRBY", "i5", 0, 1),
             ("BITFIELD", "g", "SET", "i5", 90, 0)]
    deltas = []
    for node in (server, redis_ref):
        c = exact_client(node)
        c.execute_command("DEL", "f", "g", "h")

        def changes():
            return int(parse_info(c.execute_command("INFO", "persistence"))["rdb_changes_since_last_save"])
        seen = []
        for step in steps:
            before = changes()
            c.execute_command(*step)
            seen.append(changes() - before)
        deltas.append(seen)
        c.close()
    assert deltas[0] == deltas[1]
    assert deltas[0][2:4] == [0, 0]


def test_replicas_hold_the_same_bits(make_cluster):
    c = make_cluster().start()
    cl = c.leader().client(decode_responses=False)
    rng = random.Random(7)
    for cmd in random_commands(rng, 300):
        try:
            cl.execute_command(*cmd)
        except redis.ResponseError:
            pass
    c.wait_converged()
    values = [n.client(decode_responses=False).execute_command("MGET", "k1", "k2", "k3") for n in c.nodes]
    assert values[0] == values[1] == values[2]
