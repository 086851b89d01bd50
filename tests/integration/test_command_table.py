"""The command table as clients see it: every command's ACL categories and
the categories of Parley's own commands (COMMAND INFO), and commands whose
routing comes from the table's flags (queued inside MULTI, allowed in RESP2
subscribed mode).

The categories of every command redis-server 7.0.15 also has are compared
with its COMMAND INFO, subcommands included; Parley's own commands get what
Redis gives its nearest ones (CLUSTER's admin subcommands, SENTINEL)."""
import redis

from rawresp import RawConn


def categories_by_name(port):
    """{name: (flags, categories)} for every command and subcommand."""
    client = redis.Redis(port=port)
    client.response_callbacks.pop("COMMAND", None)
    out = {}

    def walk(entry):
        name = entry[0].decode() if isinstance(entry[0], bytes) else entry[0]
        out[name] = ([f.decode() for f in entry[2]], [a.decode() for a in entry[6]])
        for sub in entry[9]:
            walk(sub)

    for entry in client.execute_command("COMMAND"):
        walk(entry)
    client.close()
    return out


def test_categories_are_redis_categories(server, redis_ref):
    ours = categories_by_name(server.port)
    theirs = categories_by_name(redis_ref.port)
    shared = sorted(set(ours) & set(theirs))
    assert len(shared) > 220
    differ = {n: (ours[n][1], theirs[n][1]) for n in shared if ours[n][1] != theirs[n][1]}
    assert differ == {}
    # Every category list is in Redis's order, as COMMAND INFO sends it.
    assert ours["multi"][1] == ["@fast", "@transaction"]
    assert ours["readonly"][1] == ["@fast", "@connection"]


def test_parley_commands_categories(server):
    ours = categories_by_name(server.port)
    admin = ["@admin", "@slow", "@dangerous"]
    for name in ("raft|node", "raft|transfer", "sentinel",
                 "sentinel|get-master-addr-by-name", "sentinel|failover", "debug|digest"):
        assert ours[name][1] == admin, name
        assert "admin" in ours[name][0] or name == "debug|digest", name
    for name in ("raft|info", "raft|members", "raft|digest", "raft|version", "raft|help",
                 "sentinel|help"):
        assert ours[name][1] == ["@slow"], name
    # Node-to-node commands are outside ACL: no category, no rule reaches them.
    for name in ("parley.fwd", "parley.peer", "parley.peer|hello", "parley.peer|prove"):
        assert ours[name][1] == [], name
    with RawConn(server.port) as c:
        # Subcommands are listed too, as Redis 7.0 lists them.
        assert set(c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "dangerous")) >= {
            b"raft|node", b"raft|transfer", b"sentinel", b"flushall", b"debug"}
        assert b"raft|info" not in c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "dangerous")
        assert b"client|kill" in c.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "client*")


def test_connection_commands_queued_in_multi(server, r):
    with RawConn(server.port) as c:
        assert c.call("MULTI") == "OK"
        for cmd in (("PING",), ("ECHO", "x"), ("SELECT", "2"), ("SET", "k", "v"),
                    ("UNWATCH",), ("PING", "a", "b")):
            assert c.call(*cmd) == "QUEUED", cmd
        got = c.call("EXEC")
        assert got[:5] == ["PONG", b"x", "OK", "OK", "OK"]
        assert str(got[5]) == "ERR wrong number of arguments for 'ping' command"
    assert r.execute_command("SELECT", "2") and server.client(db=2).get("k") == "v"


def test_subscribed_mode_follows_flags(server):
    with RawConn(server.port) as c:
        c.call("SUBSCRIBE", "ch")
        assert c.call("PING") == [b"pong", b""]
        assert c.call("PSUBSCRIBE", "p*")[0] == b"psubscribe"
        err = c.call("GET", "k")
        assert str(err).startswith("ERR Can't execute 'get': only (P|S)SUBSCRIBE")
        assert c.call("RESET") == "RESET"
        assert c.call("GET", "k") is None


def test_movablekeys_flag_matches_redis(server, redis_ref):
    """COMMAND INFO's movablekeys: set exactly where Redis 7.0 sets it."""
    ours = redis.Redis(port=server.port)
    theirs = redis.Redis(port=redis_ref.port)
    for c in (ours, theirs):
        c.response_callbacks.pop("COMMAND", None)

    def movable(c):
        return {e[0]: b"movablekeys" in e[2] for e in c.execute_command("COMMAND")}
    a, b = movable(ours), movable(theirs)
    differ = {n for n in set(a) & set(b) if a[n] != b[n]}
    assert differ == set()


def test_blocking_flag_matches_redis(server, redis_ref):
    """COMMAND INFO's blocking flag: on every command Redis 7.0 marks as one
    that may block its client, and on Parley's own waiting commands."""
    ours, theirs = categories_by_name(server.port), categories_by_name(redis_ref.port)
    shared = set(ours) & set(theirs)
    differ = {n for n in shared if ("blocking" in ours[n][0]) != ("blocking" in theirs[n][0])}
    assert differ == set()
    assert {n for n in shared if "blocking" in theirs[n][0]} >= {"blpop", "xread", "bzmpop"}
    for name in ("lock.acquire", "elect.campaign"):
        assert "blocking" in ours[name][0], name
