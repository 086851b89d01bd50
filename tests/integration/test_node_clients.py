"""ioredis and node-redis (npm, pinned in tests/node) against Parley: the
basics of each (pipelines, MULTI/EXEC, WATCH, pub/sub, Lua, streams with a
consumer group) run by tests/node/clients.js; everything the clients see
must be what they see from redis-server 7.0."""
import json
import os
import shutil
import subprocess

import redis

from conftest import ROOT

NODE_DIR = os.path.join(ROOT, "tests", "node")


def run(port, prefix):
    node = shutil.which("node")
    assert node, "node is not installed (scripts/deps.sh installs it)"
    env = dict(os.environ, PORT=str(port), PREFIX=prefix)
    proc = subprocess.run([node, "clients.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True,
                          timeout=60)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines and proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1])


def test_ioredis_and_node_redis_see_what_redis_gives(server, redis_ref):
    server.client().flushall()
    ours = run(server.port, "t")
    redis.Redis(port=redis_ref.port).flushall()
    theirs = run(redis_ref.port, "t")
    assert ours["ioredis"] == theirs["ioredis"]
    assert ours["noderedis"] == theirs["noderedis"]
    assert ours["ioredis"]["watchFailed"] is None and ours["ioredis"]["afterWatch"] == "2"


def test_node_clients_on_a_follower(cluster):
    """Through a follower: its writes are forwarded, its reads go through
    the log, pub/sub is delivered by every node."""
    follower = cluster.followers()[0]
    got = run(follower.port, "f")
    assert got["ioredis"]["messages"] == [["f:io:chan", "one"], ["f:io:chan", "two"]]
    assert got["noderedis"]["multi"] == ["OK", 2, "2"]
