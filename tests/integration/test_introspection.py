"""What a node tells about itself and about commands: INFO's cpu,
commandstats and errorstats sections and the counters Redis exporters read
(keyspace_hits/misses, total_error_replies), CONFIG RESETSTAT, COMMAND
GETKEYS/GETKEYSANDFLAGS (compared with redis-server 7.0), OBJECT
IDLETIME/FREQ (this node's own access records), PFDEBUG and PFSELFTEST;
CONFIG GET/SET as Redis 7.0 answers them (refusals, values, hidden and
alias settings, start-up settings given their own value) and CONFIG SET
port moving the client listener."""
import socket

import pytest
import redis

from conftest import free_port, parse_info, wait_until
from exact import exact_client
from test_membership import members


def info(c, *sections):
    return parse_info(c.execute_command("INFO", *sections))


@pytest.fixture
def x(server):
    """A client that shows replies as sent (no redis-py parsing)."""
    c = exact_client(server)
    c.flushall()
    return c


def test_cpu_and_sections(x):
    r = x
    cpu = info(r, "cpu")
    assert float(cpu["used_cpu_user"]) >= 0 and float(cpu["used_cpu_sys_children"]) >= 0
    assert "used_memory" not in cpu
    default = r.execute_command("INFO")
    assert "used_cpu_user" in default and "rejected_calls" not in default
    everything = r.execute_command("INFO", "everything")
    assert "rejected_calls" in everything or "cmdstat_" in everything
    assert everything.count("used_cpu_user_children") == 1
    assert "master_repl_offset" in r.execute_command("INFO", "replication")


def test_latencystats_follow_the_tracking_settings(x, redis_ref):
    r = x
    assert "# Errorstats" in r.execute_command("INFO")  # a default section, as in Redis 7
    r.set("k", "v")
    r.get("k")
    stats = info(r, "latencystats")
    assert set(stats["latency_percentiles_usec_get"].split(",")) != set()
    assert [p.split("=")[0] for p in stats["latency_percentiles_usec_get"].split(",")] == \
        ["p50", "p99", "p99.9"]
    assert "latency_percentiles_usec_set" in stats
    assert "latency_percentiles_usec_get" not in info(r, "default")
    try:
        assert r.execute_command("CONFIG", "SET", "latency-tracking-info-percentiles", "50 90") == "OK"
        assert r.execute_command("CONFIG", "GET", "latency-tracking-info-percentiles") == \
            ["latency-tracking-info-percentiles", "50 90"]
        p = info(r, "latencystats")["latency_percentiles_usec_get"].split(",")
        assert [v.split("=")[0] for v in p] == ["p50", "p90"]
        assert all(float(v.split("=")[1]) > 0 for v in p)
        # Bad values: Redis's errors, and the setting stays.
        ref = exact_client(redis_ref)
        for bad in ("50 101", "abc"):
            with pytest.raises(redis.ResponseError) as ours:
                r.execute_command("CONFIG", "SET", "latency-tracking-info-percentiles", bad)
            with pytest.raises(redis.ResponseError) as theirs:
                ref.execute_command("CONFIG", "SET", "latency-tracking-info-percentiles", bad)
            assert str(ours.value) == str(theirs.value)
        assert r.execute_command("CONFIG", "GET", "latency-tracking-info-percentiles")[1] == "50 90"
        r.execute_command("CONFIG", "SET", "latency-tracking", "no")
        assert info(r, "latencystats") == {}
    finally:
        r.execute_command("CONFIG", "SET", "latency-tracking", "yes")
        r.execute_command("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")


def test_commandstats_errorstats_and_resetstat(x):
    r = x
    r.execute_command("CONFIG", "RESETSTAT")
    r.set("k", "v")
    r.get("k")
    r.get("missing")
    with pytest.raises(redis.ResponseError):
        r.execute_command("LPUSH", "k", "x")  # WRONGTYPE
    with pytest.raises(redis.ResponseError):
        r.execute_command("GET")  # arity: rejected
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    stats = info(r, "commandstats")
    assert stats["cmdstat_get"].startswith("calls=2,"), stats
    assert "rejected_calls=1" in stats["cmdstat_get"]
    assert stats["cmdstat_set"].startswith("calls=1,")
    assert "failed_calls=1" in stats["cmdstat_lpush"]
    errors = info(r, "errorstats")
    assert errors["errorstat_WRONGTYPE"] == "count=1"
    assert errors["errorstat_ERR"] == "count=2"
    s = info(r, "stats")
    assert int(s["keyspace_hits"]) == 1 and int(s["keyspace_misses"]) == 1
    assert int(s["total_error_replies"]) == 3
    r.execute_command("CONFIG", "RESETSTAT")
    assert "cmdstat_set" not in info(r, "commandstats")
    assert int(info(r, "stats")["total_error_replies"]) == 0


GETKEYS = [
    ("GET", "a"), ("MSET", "a", "1", "b", "2"), ("SORT", "abc", "STORE", "x", "STORE", "def"),
    ("SORT_RO", "abc"), ("LMOVE", "a", "b", "LEFT", "RIGHT"), ("EVAL", "return 1", "2", "k1", "k2", "a"),
    ("XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"), ("ZUNIONSTORE", "d", "2", "a", "b"),
    ("GEORADIUS", "g", "0", "0", "1", "km", "STORE", "dst"), ("GEOSEARCHSTORE", "d", "s", "FROMLONLAT",
                                                               "0", "0", "BYRADIUS", "1", "km"),
    ("BITOP", "AND", "d", "a", "b"), ("PFMERGE", "d", "a", "b"), ("OBJECT", "ENCODING", "k"),
    ("PING",), ("NOSUCH", "a"), ("GET",), ("EVAL", "return 1", "0"),
]


@pytest.mark.parametrize("cmd", GETKEYS)
def test_command_getkeys_matches_redis(server, redis_ref, cmd):
    ours = exact_client(server)
    theirs = exact_client(redis_ref)

    def ask(c):
        try:
            return c.execute_command("COMMAND", "GETKEYS", *cmd)
        except redis.ResponseError as e:
            return str(e)
    assert ask(ours) == ask(theirs)


def test_command_getkeysandflags(x):
    r = x
    got = r.execute_command("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT")
    assert [k for k, _ in got] == ["a", "b"]
    # Redis 7.0's key-spec flags: LMOVE reads and deletes from its source,
    # inserts into its destination.
    assert got[0][1] == ["RW", "access", "delete"] and got[1][1] == ["RW", "insert"]


def test_object_idletime_and_freq(server):
    r = exact_client(server, decode=False)
    r.execute_command("FLUSHALL")
    r.execute_command("SET", "k", "v")
    assert r.execute_command("OBJECT", "IDLETIME", "k") == 0
    assert r.execute_command("OBJECT", "IDLETIME", "missing") is None
    with pytest.raises(redis.ResponseError, match="LFU maxmemory policy is not selected"):
        r.execute_command("OBJECT", "FREQ", "k")
    payload = r.execute_command("DUMP", "k")
    r.execute_command("RESTORE", "k2", 0, payload, "IDLETIME", 1000)
    assert 1000 <= r.execute_command("OBJECT", "IDLETIME", "k2") <= 1010
    r.execute_command("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    try:
        r.execute_command("RESTORE", "k3", 0, payload, "FREQ", 100)
        assert r.execute_command("OBJECT", "FREQ", "k3") == 100
        with pytest.raises(redis.ResponseError, match="LFU maxmemory policy is selected"):
            r.execute_command("OBJECT", "IDLETIME", "k3")
    finally:
        r.execute_command("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_type_ttl_exists_leave_the_idle_time_alone_as_redis(server, redis_ref):
    """TYPE, TTL, PTTL, EXPIRETIME and EXISTS do not count as an access;
    GET and TOUCH do (Redis's LOOKUP_NOTOUCH)."""
    for node in (server, redis_ref):
        r = exact_client(node, decode=False)
        r.execute_command("SET", "src", "v")
        payload = r.execute_command("DUMP", "src")
        r.execute_command("RESTORE", "k", 0, payload, "REPLACE", "IDLETIME", 1000)
        for cmd in ("TYPE", "TTL", "PTTL", "EXPIRETIME", "EXISTS"):
            r.execute_command(cmd, "k")
        assert r.execute_command("OBJECT", "IDLETIME", "k") >= 1000, node
        r.execute_command("TOUCH", "k")
        assert r.execute_command("OBJECT", "IDLETIME", "k") < 1000, node
        r.close()


def test_object_idletime_is_refused_in_multi(r):
    r.set("k", "v")
    p = r.pipeline(transaction=True)
    p.execute_command("OBJECT", "IDLETIME", "k")
    with pytest.raises(redis.ResponseError):
        p.execute()


def test_pfdebug_and_pfselftest_match_redis(server, redis_ref):
    ours = exact_client(server)
    theirs = exact_client(redis_ref)
    for c in (ours, theirs):
        c.flushall()
        c.execute_command("PFADD", "h", *[f"e{i}" for i in range(40)])
        c.execute_command("SET", "s", "x")
    for cmd in [("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "GETREG", "h"),
                ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "TODENSE", "h"),
                ("PFDEBUG", "TODENSE", "missing"), ("PFDEBUG", "FOO", "h"), ("PFDEBUG", "ENCODING", "s"),
                ("PFDEBUG", "ENCODING", "h", "x"), ("PFCOUNT", "h"), ("PFSELFTEST",)]:
        def ask(c):
            try:
                return c.execute_command(*cmd)
            except redis.ResponseError as e:
                return str(e)
        assert ask(ours) == ask(theirs), cmd


def test_wait_waitaof_lastsave_single_node(server, redis_ref):
    ours = exact_client(server)
    theirs = exact_client(redis_ref)
    for cmd in [("WAIT", 0, 0), ("WAIT", 1, 10), ("WAIT", "x", 0), ("WAIT", 0, -1), ("WAIT", 0, "y")]:
        def ask(c):
            try:
                return c.execute_command(*cmd)
            except redis.ResponseError as e:
                return str(e)
        assert ask(ours) == ask(theirs), cmd
    # Parley always fsyncs: the local copy counts (redis-server without AOF refuses numlocal).
    assert ours.execute_command("WAITAOF", 1, 0, 0) == [1, 0]
    import time
    assert abs(ours.execute_command("LASTSAVE") - time.time()) < 3600


def test_wait_counts_the_replicas_that_hold_every_write(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    cl = exact_client(leader)
    cl.execute_command("SET", "k", "v")
    assert cl.execute_command("WAIT", 1, 0) >= 1  # a quorum holds it when it is acknowledged
    # Both followers soon hold everything committed (they answer at once, so ask again).
    wait_until(lambda: cl.execute_command("WAIT", 2, 100) == 2, 10, message="WAIT 2 to answer 2")
    wait_until(lambda: cl.execute_command("WAITAOF", 1, 2, 100) == [1, 2], 10, message="WAITAOF 1 2")
    follower = next(n for n in c.nodes if n is not leader)
    assert exact_client(follower).execute_command("WAIT", 1, 0) == 1


def test_memory_commands(server, redis_ref):
    ours = exact_client(server)
    theirs = exact_client(redis_ref)
    for c in (ours, theirs):
        c.execute_command("FLUSHALL")
        c.execute_command("SET", "small", "v")
        c.execute_command("RPUSH", "big", *[str(i) * 10 for i in range(1000)])
    # Same shape and errors as Redis (the figures are Parley's own).
    for cmd in [("MEMORY", "USAGE", "missing"), ("MEMORY", "USAGE", "small", "SAMPLES", "x"),
                ("MEMORY", "USAGE", "small", "SAMPLES", -1), ("MEMORY", "USAGE", "small", "FOO"),
                ("MEMORY", "HELP"), ("MEMORY", "NOSUCH")]:
        def ask(c):
            try:
                return c.execute_command(*cmd)
            except redis.ResponseError as e:
                return str(e)
        assert ask(ours) == ask(theirs), cmd
    small = ours.execute_command("MEMORY", "USAGE", "small")
    big = ours.execute_command("MEMORY", "USAGE", "big", "SAMPLES", 0)
    assert 0 < small < 200 < 10000 < big
    stats = ours.execute_command("MEMORY", "STATS")
    stats = dict(zip(stats[::2], stats[1::2]))
    assert stats["keys.count"] == 2 and stats["total.allocated"] > 0
    assert "memory issue" in ours.execute_command("MEMORY", "DOCTOR")
    assert ours.execute_command("MEMORY", "PURGE") == "OK"


def test_slowlog(server):
    r = exact_client(server)
    r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", 0)
    r.execute_command("CONFIG", "SET", "slowlog-max-len", 5)
    try:
        r.execute_command("SLOWLOG", "RESET")
        r.execute_command("CLIENT", "SETNAME", "slowpoke")
        r.execute_command("SET", "k", "x" * 200)
        r.execute_command("GET", "k")
        r.execute_command("RPUSH", "l", *range(40))
        r.execute_command("ACL", "SETUSER", "slowlog-user", "on", ">secret", "+get")
        r.execute_command("CONFIG", "SET", "requirepass", "")
        r.execute_command("AUTH", "default", "")  # never logged
        entries = r.execute_command("SLOWLOG", "GET", -1)
        assert r.execute_command("SLOWLOG", "LEN") == 5 == len(entries)
        args = [e[3] for e in entries]
        assert args[0] == ["config", "set", "requirepass", "(redacted)"] or \
            args[0] == ["CONFIG", "SET", "requirepass", "(redacted)"]
        assert [a.lower() for a in args[1][:2]] == ["acl", "setuser"] and set(args[1][2:]) == {"(redacted)"}
        rpush = args[2]
        assert len(rpush) == 32 and rpush[-1] == "... (11 more arguments)"
        assert args[3][0].upper() == "GET" and entries[3][5] == "slowpoke" and ":" in entries[3][4]
        assert args[4][2].endswith("... (72 more bytes)") and len(args[4][2]) == 128 + len("... (72 more bytes)")
        ids = [e[0] for e in entries]
        assert ids == sorted(ids, reverse=True)
        assert len(r.execute_command("SLOWLOG", "GET", 2)) == 2
        with pytest.raises(redis.ResponseError, match="count should be greater than or equal to -1"):
            r.execute_command("SLOWLOG", "GET", -2)
        r.execute_command("EVAL", "redis.call('SET', KEYS[1], 'v') return 1", 1, "e")
        assert r.execute_command("SLOWLOG", "GET", 1)[0][3][0].upper() == "EVAL"
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", -1)
        r.execute_command("SLOWLOG", "RESET")
        r.execute_command("PING")
        assert r.execute_command("SLOWLOG", "LEN") == 0
    finally:
        r.execute_command("CONFIG", "SET", "slowlog-log-slower-than", 10000)
        r.execute_command("CONFIG", "SET", "slowlog-max-len", 128)
        r.execute_command("ACL", "DELUSER", "slowlog-user")


class Monitor:
    """A raw connection in MONITOR mode; next() returns its next line."""

    def __init__(self, port):
        import socket
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(b"MONITOR\r\n")
        self.buf = b""
        assert self.next() == "+OK"

    def next(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            assert chunk, "monitor connection closed"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def close(self):
        self.s.close()


def test_monitor(server):
    import re
    m = Monitor(server.port)
    r = exact_client(server)
    try:
        r.execute_command("SET", "foo", "bar\n")
        assert re.fullmatch(r'\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "foo" "bar\\n"', m.next())
        r.execute_command("EVAL", "redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v")
        assert '"EVAL"' in m.next()
        assert re.search(r'\[0 lua\] "set" "k" "v"$', m.next())
        p = r.pipeline(transaction=True)
        p.execute_command("SET", "a", "1")
        p.execute()
        assert ['"MULTI"' in m.next(), '"SET" "a"' in m.next(), '"EXEC"' in m.next()] == [True] * 3
        with pytest.raises(redis.ResponseError):
            r.execute_command("AUTH", "someone", "secret")
        assert m.next().endswith('"AUTH" "(redacted)" "(redacted)"')
        r.execute_command("CONFIG", "GET", "maxmemory")  # admin: not shown
        r.execute_command("PING")
        assert m.next().endswith('"PING"')
        m.s.sendall(b"RESET\r\n")
        assert m.next() == "+RESET"
        r.execute_command("PING")
        r.execute_command("SET", "after", "reset")
        import socket
        m.s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            m.next()
    finally:
        m.close()


def test_latency_histogram(server):
    r = exact_client(server)
    r.execute_command("CONFIG", "RESETSTAT")
    h = r.execute_command("LATENCY", "HISTOGRAM")
    assert h[0] == "config|resetstat" and len(h) == 2  # RESETSTAT itself is counted after it
    r.execute_command("SET", "a", "b")
    r.execute_command("SET", "c", "d")
    r.execute_command("CLIENT", "ID")
    h = dict(zip(*[iter(r.execute_command("LATENCY", "HISTOGRAM", "set", "client", "nosuch"))] * 2))
    assert set(h) == {"set", "client|id"}
    s = dict(zip(*[iter(h["set"])] * 2))
    assert s["calls"] == 2
    buckets = s["histogram_usec"]
    assert buckets[-1] == 2 and all(b & (b - 1) == 0 for b in buckets[0::2])  # powers of two, cumulative
    assert r.execute_command("LATENCY", "HISTOGRAM", "blabla") == []


def test_latency_monitor_records_the_expire_cycle(server):
    """Deleting a big expired key is recorded as the "expire-cycle" event,
    as in Redis (here: when the leader's __expire applies)."""
    r = exact_client(server)
    r.execute_command("FLUSHALL")
    r.execute_command("LATENCY", "RESET")
    r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "1")
    try:
        script = "for i = 1, tonumber(ARGV[1]) do redis.call('sadd', KEYS[1], i) end"
        r.execute_command("EVAL", script, 1, "big", 300000)
        r.execute_command("PEXPIRE", "big", 1)
        wait_until(lambda: r.execute_command("DBSIZE") == 0, message="the key deleted by expiry")
        assert "expire-cycle" in [e[0] for e in r.execute_command("LATENCY", "LATEST")]
    finally:
        r.execute_command("CONFIG", "SET", "latency-monitor-threshold", "0")
        r.execute_command("LATENCY", "RESET")


# ---------------------------------------------------------------- CONFIG as Redis 7.0 has it

# Redis's immutable directives that Parley has: refused whatever the value.
REDIS_IMMUTABLE = {"logfile", "aclfile", "daemonize", "databases", "io-threads", "replicaof", "slaveof"}


def config_dict(c, *patterns):
    pairs = c.execute_command("CONFIG", "GET", *patterns)
    return dict(zip(pairs[0::2], pairs[1::2]))


def answer(c, *args):
    try:
        return c.execute_command(*args)
    except redis.ResponseError as e:
        return str(e)


@pytest.mark.parametrize("args", [
    ["maxmemory-clients", "200%"],
    ["maxmemory-clients", "101%"],
    ["maxmemory-clients", "-5%"],
    ["maxmemory-clients", "00050%"],
    ["maxmemory-clients", "99.5%"],
    ["maxmemory-clients", "%"],
    ["maxmemory-clients", "1.5mb"],
    ["maxmemory-clients", "abc"],
    ["save", "3000"],
    ["save", "a b"],
    ["save", "3000 -5"],
    ["repl-backlog-size", "abc"],
    ["key-load-delay", "abc"],
    ["daemonize", "yes"],
    ["daemonize", "no"],  # its own value too
    ["databases", "16"],
    ["io-threads", "1"],
    ["replicaof", ""],
    ["slaveof", "no one"],
    # The first problem in the order given.
    ["daemonize", "yes", "nosuch", "1"],
    ["maxmemory", "1", "daemonize", "yes", "maxmemory", "2"],
    # Redis's "rollback on set error": nothing of it stays.
    ["maxmemory", "10000001", "maxmemory-clients", "200%", "client-query-buffer-limit", "invalid"],
])
def test_config_set_refusals_match_redis(server, redis_ref, args):
    p, ref = exact_client(server), exact_client(redis_ref)
    before = config_dict(p, "*")
    got, want = answer(p, "CONFIG", "SET", *args), answer(ref, "CONFIG", "SET", *args)
    assert want.startswith("ERR") and got == want
    assert config_dict(p, "*") == before


def test_config_values_match_redis(server, redis_ref):
    """The settings Redis 7.0's own suite sets, read back as Redis shows them."""
    p, ref = exact_client(server), exact_client(redis_ref)
    names = ["maxmemory-clients", "save", "repl-backlog-size", "key-load-delay"]
    saved = config_dict(p, *names)
    try:
        for args in (["maxmemory-clients", "10%"], ["maxmemory-clients", "100%"],
                     ["maxmemory-clients", "0%"], ["maxmemory-clients", "5k"],
                     ["maxmemory-clients", "1gb"], ["save", "3000 5"], ["save", "3000 5 60 10000"],
                     ["save", ""], ["repl-backlog-size", "10000002"], ["key-load-delay", "-7"],
                     # several at once (Redis's "CONFIG SET with multiple args")
                     ["maxmemory", "10000001", "repl-backlog-size", "10000002", "save", "3000 5"]):
            assert p.execute_command("CONFIG", "SET", *args) == ref.execute_command("CONFIG", "SET", *args) \
                == "OK"
            asked = args[0::2]
            assert config_dict(p, *asked) == config_dict(ref, *asked), args
        fixed = ["daemonize", "databases", "io-threads", "replicaof", "slaveof"]
        assert config_dict(p, *fixed) == config_dict(ref, *fixed)
    finally:
        p.execute_command("CONFIG", "SET", "maxmemory", "0", *[w for kv in saved.items() for w in kv])
        ref.execute_command("CONFIG", "SET", "maxmemory", "0")


def test_config_get_hidden_and_aliases(server, redis_ref):
    p = exact_client(server)
    # key-load-delay is one of Redis's hidden test settings: by name only.
    assert config_dict(p, "key-load-delay") == {"key-load-delay": "0"}
    assert "key-load-delay" not in config_dict(p, "*") and config_dict(p, "key-load-*") == {}
    # Redis's "CONFIG GET multiple args".
    pairs = p.execute_command("CONFIG", "GET", "maxmemory", "maxmemory*", "bind", "*of")
    got = config_dict(p, "maxmemory", "maxmemory*", "bind", "*of")
    assert len(pairs) == 2 * len(got)
    assert {"maxmemory", "maxmemory-samples", "maxmemory-clients", "bind", "replicaof",
            "slaveof"} <= set(got)
    assert config_dict(p, "*of") == config_dict(exact_client(redis_ref), "*of")


def test_config_set_every_setting_to_its_own_value(server):
    """Redis's "CONFIG SET sanity": every setting CONFIG GET * lists can be
    set to the value it shows (a start-up one included: nothing changes),
    except Redis's own immutable ones, refused as in Redis; afterwards
    CONFIG GET * shows the same."""
    p = exact_client(server)
    before = config_dict(p, "*")
    assert REDIS_IMMUTABLE <= set(before) and {"node-id", "raft-addr", "bind", "port"} <= set(before)
    for name, value in before.items():
        got = answer(p, "CONFIG", "SET", name, value)
        if name in REDIS_IMMUTABLE:
            assert got == f"ERR CONFIG SET failed (possibly related to argument '{name}') - " \
                          "can't set immutable config"
        else:
            assert got == "OK", (name, value)
    assert config_dict(p, "*") == before
    # Another value for a start-up one is refused.
    for name, value in (("node-id", "99"), ("bind", "0.0.0.0"), ("raft-addr", "127.0.0.1:1")):
        assert answer(p, "CONFIG", "SET", name, value) == \
            f"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"


def busy_port():
    """A port some other socket listens on (closed by the caller)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_config_set_port_moves_the_listener(make_node, redis_ref):
    """Redis's "CONFIG SET rollback on apply error", then a move that works."""
    node = make_node().start()
    p, ref = exact_client(node), exact_client(redis_ref)
    old = node.port
    taken = busy_port()
    try:
        args = ["maxmemory", "10000001", "port", str(taken.getsockname()[1]),
                "client-query-buffer-limit", "10m"]
        before = config_dict(p, "*")
        want = "ERR CONFIG SET failed (possibly related to argument 'port') - " \
               "Unable to listen on this port. Check server logs."
        assert answer(ref, "CONFIG", "SET", *args) == want
        assert answer(p, "CONFIG", "SET", *args) == want
        assert config_dict(p, "*") == before and p.execute_command("PING") == "PONG"
    finally:
        taken.close()
    assert answer(p, "CONFIG", "SET", "port", "0") == \
        "ERR CONFIG SET failed (possibly related to argument 'port') - " \
        "Unable to listen on this port. Check server logs."  # no tls-port: nowhere to listen
    new = free_port()
    assert p.execute_command("CONFIG", "SET", "port", str(new)) == "OK"
    # The connection that asked stays; new ones go to the new port.
    assert config_dict(p, "port", "announce-addr") == {"port": str(new),
                                                       "announce-addr": f"127.0.0.1:{new}"}
    node.port = new
    assert node.client().set("k", "v") and node.client().info("server")["tcp_port"] == new
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=old, socket_timeout=2).ping()
    wait_until(lambda: members(node)[1]["client-addr"] == f"127.0.0.1:{new}",
               message="the new client address registered")
    # Setting it to the port it has changes nothing.
    assert p.execute_command("CONFIG", "SET", "port", str(new)) == "OK"
    assert node.client().ping()


def test_config_set_port_in_a_cluster(make_cluster):
    """Each node's new client address reaches every node through the log;
    a follower started again forwards its writes to the leader's new port."""
    c = make_cluster(3).start()
    leader = c.leader()
    follower = c.followers()[0]
    for n in (leader, follower):
        new = free_port()
        assert n.client().execute_command("CONFIG", "SET", "port", str(new)) == "OK"
        n.port = new
    for n in c.nodes:
        wait_until(lambda: {i: m["client-addr"] for i, m in members(n).items()} ==
                   {m.node_id: f"127.0.0.1:{m.port}" for m in c.nodes},
                   message=f"node {n.node_id} to know every client address")
    other = [n for n in c.nodes if n not in (leader, follower)][0]
    other.stop()
    other.start()
    wait_until(lambda: other.client().set("via-follower", "1"), 15,
               message="a write through the restarted follower")
    assert leader.client().get("via-follower") == "1"
