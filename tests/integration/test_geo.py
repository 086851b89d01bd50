"""GEO (GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and the
GEORADIUS family): the same commands sent to Parley and to a redis-server
7.0 give the same replies (scores, coordinates, distances, the order of
unsorted results, errors) and store the same sorted sets; and on a cluster
every replica stores the same result."""
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


def compare(pair, cmds):
    ours, theirs = pair
    for cmd in cmds:
        a, b = run(ours, cmd), run(theirs, cmd)
        assert a == b, f"{cmd!r}: parley {a!r}, redis {b!r}"


SICILY = [("GEOADD", "Sicily", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"),
          ("GEOADD", "Sicily", "CH", 12.758489, 38.788135, "edge1", 17.241510, 38.788135, "edge2"),
          ("GEOADD", "Sicily", "NX", 13.5, 38.2, "Palermo", 14.0, 37.0, "Agrigento"),
          ("GEOADD", "Sicily", "XX", "CH", 13.361389, 38.115557, "Palermo", 10, 10, "nowhere")]

CASES = SICILY + [
    ("ZRANGE", "Sicily", 0, -1, "WITHSCORES"),
    ("GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting"), ("GEOPOS", "missing", "a"),
    ("GEODIST", "Sicily", "Palermo", "Catania"), ("GEODIST", "Sicily", "Palermo", "Catania", "km"),
    ("GEODIST", "Sicily", "Palermo", "Catania", "MI"), ("GEODIST", "Sicily", "Palermo", "Catania", "ft"),
    ("GEODIST", "Sicily", "Palermo", "x"), ("GEODIST", "Sicily", "Palermo", "Catania", "yd"),
    ("GEODIST", "Sicily", "Palermo", "Catania", "km", "x"), ("GEODIST", "Sicily", "Palermo", "Palermo"),
    ("GEOHASH", "Sicily", "Palermo", "Catania", "x"), ("GEOHASH", "missing", "a"),
    ("GEOADD", "Sicily", 200, 10, "bad"), ("GEOADD", "Sicily", 10, 86, "bad"), ("GEOADD", "Sicily", "a", 1, "b"),
    ("GEOADD", "Sicily", "NX", "XX", 1, 1, "b"), ("GEOADD", "Sicily", 1, 1), ("GEOADD", "Sicily", "GT", 1, 1, "b"),
    ("SET", "str", "x"), ("GEOADD", "str", 1, 1, "a"), ("GEOPOS", "str", "a"), ("GEOSEARCH", "str", "FROMLONLAT", 1, 1, "BYRADIUS", 1, "km"),
    ("GEORADIUS", "Sicily", 15, 37, 200, "km", "WITHDIST"),
    ("GEORADIUS", "Sicily", 15, 37, 200, "km", "WITHCOORD", "WITHHASH", "ASC"),
    ("GEORADIUS", "Sicily", 15, 37, 200, "km", "DESC", "COUNT", 2),
    ("GEORADIUS", "Sicily", 15, 37, 200, "km", "COUNT", 1, "ANY"),
    ("GEORADIUS", "Sicily", 15, 37, 200, "km", "ANY"), ("GEORADIUS", "Sicily", 15, 37, 200, "km", "COUNT", 0),
    ("GEORADIUS", "Sicily", 15, 37, -1, "km"), ("GEORADIUS", "Sicily", 15, 37, "x", "km"),
    ("GEORADIUS", "Sicily", 15, 37, 200, "yd"), ("GEORADIUS", "Sicily", 15, 37, 200, "km", "STORE", "dst"),
    ("ZRANGE", "dst", 0, -1, "WITHSCORES"), ("GEORADIUS", "Sicily", 15, 37, 200, "km", "STOREDIST", "dst"),
    ("ZRANGE", "dst", 0, -1, "WITHSCORES"), ("GEORADIUS", "Sicily", 15, 37, 200, "km", "STORE", "dst", "WITHDIST"),
    ("GEORADIUS", "Sicily", 15, 37, 1, "m", "STORE", "dst"), ("EXISTS", "dst"),
    ("GEORADIUS_RO", "Sicily", 15, 37, 200, "km", "WITHDIST"), ("GEORADIUS_RO", "Sicily", 15, 37, 200, "km", "STORE", "x"),
    ("GEORADIUSBYMEMBER", "Sicily", "Palermo", 300, "km", "WITHDIST"),
    ("GEORADIUSBYMEMBER", "Sicily", "nobody", 300, "km"), ("GEORADIUSBYMEMBER", "missing", "nobody", "x", "km"),
    ("GEORADIUSBYMEMBER_RO", "Sicily", "Catania", 100, "km", "WITHCOORD"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "ASC"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", 400, 400, "km", "WITHDIST", "WITHCOORD"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km", "ASC", "WITHHASH"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37), ("GEOSEARCH", "Sicily", "BYRADIUS", 10, "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "FROMMEMBER", "Palermo", "BYRADIUS", 10, "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 10, "km", "BYBOX", 1, 1, "km"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "nobody", "BYRADIUS", 10, "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYBOX", -1, 1, "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "STORE", "x"),
    ("GEOSEARCH", "missing", "FROMMEMBER", "x", "BYRADIUS", 200, "km"),
    ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km"),
    ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
    ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "STOREDIST", "COUNT", 2),
    ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
    ("GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "WITHDIST"),
    ("GEOSEARCHSTORE", "dst", "missing", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km"), ("EXISTS", "dst"),
    ("ZADD", "odd", -5, "neg", 1e30, "huge", 4503599627370496, "top"), ("GEOPOS", "odd", "neg", "huge", "top"),
    ("GEOHASH", "odd", "neg", "huge", "top"), ("GEODIST", "odd", "neg", "top"),
]


def test_cases_match_redis(pair):
    compare(pair, CASES)


def points(rng, n, lon, lat, spread):
    out = []
    for i in range(n):
        x = max(-180, min(180, lon + rng.uniform(-spread, spread)))
        y = max(-85, min(85, lat + rng.uniform(-spread, spread)))
        out += [round(x, 6), round(y, 6), f"p{i}"]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_searches_match_redis(pair, seed):
    """Points around a few places (the equator, the date line, near a
    pole), searched by radius and box in every unit, unsorted included:
    the order of the boxes walked must be Redis's."""
    rng = random.Random(seed)
    cmds = []
    centers = [(0, 0), (179.5, 10), (-20, 70), (13.4, 52.5), (-73.9, 40.7), (100, -80)]
    for k, (lon, lat) in enumerate(centers):
        cmds.append(("GEOADD", f"g{k}", *points(rng, 150, lon, lat, rng.choice([0.01, 0.5, 3, 20]))))
    for _ in range(80):
        k = rng.randrange(len(centers))
        lon, lat = centers[k]
        x = round(max(-180, min(180, lon + rng.uniform(-2, 2))), 5)
        y = round(max(-85, min(85, lat + rng.uniform(-2, 2))), 5)
        unit = rng.choice(["m", "km", "mi", "ft"])
        size = {"m": 300000, "km": 300, "mi": 200, "ft": 900000}[unit] * rng.choice([0.001, 0.05, 0.3, 1, 5])
        shape = (["BYRADIUS", round(size, 3), unit] if rng.random() < 0.5
                 else ["BYBOX", round(size, 3), round(size * rng.uniform(0.3, 2), 3), unit])
        opts = []
        if rng.random() < 0.5:
            opts.append(rng.choice(["ASC", "DESC"]))
        if rng.random() < 0.3:
            opts += ["COUNT", rng.randrange(1, 30)] + (["ANY"] if rng.random() < 0.3 else [])
        if rng.random() < 0.5:
            opts += rng.sample(["WITHDIST", "WITHCOORD", "WITHHASH"], rng.randrange(1, 4))
        origin = (["FROMLONLAT", x, y] if rng.random() < 0.7 else ["FROMMEMBER", f"p{rng.randrange(150)}"])
        cmds.append(("GEOSEARCH", f"g{k}", *origin, *shape, *opts))
        if rng.random() < 0.2:
            cmds.append(("GEORADIUS", f"g{k}", x, y, round(size, 3), unit, *opts))
    compare(pair, cmds)


def test_replicas_store_the_same_result(make_cluster):
    c = make_cluster().start()
    cl = c.leader().client(decode_responses=False)
    rng = random.Random(9)
    cl.execute_command("GEOADD", "g", *points(rng, 300, 2.35, 48.85, 1))
    n = cl.execute_command("GEOSEARCHSTORE", "near", "g", "FROMLONLAT", 2.35, 48.85, "BYRADIUS", 50, "km",
                           "STOREDIST")
    assert 0 < n < 300
    c.wait_converged()
    got = [nd.client(decode_responses=False).execute_command("ZRANGE", "near", 0, -1, "WITHSCORES")
           for nd in c.nodes]
    assert got[0] == got[1] == got[2]
