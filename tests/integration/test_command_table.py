"""The command table as clients see it: every command's ACL categories and
the categories of Parley's own commands (COMMAND INFO), and commands whose
routing comes from the table's flags (queued inside MULTI, allowed in RESP2
subscribed mode).

The categories of every command redis-server 7.0.15 also has are compared
with its COMMAND INFO, subcommands included; Parley's own commands get what
Redis gives its nearest ones (CLUSTER's admin subcommands, SENTINEL). So are
the keys and key-spec flags COMMAND GETKEYSANDFLAGS finds in a call of each
of them."""
import redis

from rawresp import Err, RawConn


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


# One call of every command with keys that redis-server 7.0.15 also has
# (subcommands by their full call), a few twice where the flags depend on
# the arguments (SET ... GET, BITFIELD, SORT ... STORE, GEORADIUS STORE).
KEYED_CALLS = """
append k v
bitcount k
bitfield k get u8 0
bitfield k incrby u8 0 1
bitfield_ro k get u8 0
bitop and d a b
bitpos k 1
blmove a b left right 0
blmpop 0 2 a b left
blpop a b 0
brpop a b 0
brpoplpush a b 0
bzmpop 0 2 a b min
bzpopmax a b 0
bzpopmin a b 0
copy a b
decr k
decrby k 2
del a b
dump k
eval s 2 a b x
eval s 0
eval_ro s 1 a
evalsha s 2 a b
evalsha_ro s 1 a
exists a b
expire k 10
expireat k 10
expiretime k
fcall f 2 a b x
fcall f 0
fcall_ro f 1 a
geoadd k 1 2 m
geodist k a b
geohash k a
geopos k a
georadius k 1 2 3 m
georadius k 1 2 3 m store d
georadius k 1 2 3 m storedist d
georadius_ro k 1 2 3 m
georadiusbymember k m 3 km store d
georadiusbymember_ro k m 3 km
geosearch k frommember m byradius 1 km
geosearchstore d k frommember m byradius 1 km
get k
getbit k 1
getdel k
getex k
getrange k 0 1
getset k v
hdel k f
hexists k f
hget k f
hgetall k
hincrby k f 1
hincrbyfloat k f 1
hkeys k
hlen k
hmget k f g
hmset k f v
hrandfield k
hscan k 0
hset k f v
hsetnx k f v
hstrlen k f
hvals k
incr k
incrby k 1
incrbyfloat k 1
lcs a b
lindex k 0
linsert k before p v
llen k
lmove a b left right
lmpop 2 a b left
lpop k
lpos k e
lpush k e
lpushx k e
lrange k 0 1
lrem k 0 e
lset k 0 e
ltrim k 0 1
memory usage k
mget a b
move k 1
mset a 1 b 2
msetnx a 1 b 2
object encoding k
object freq k
object idletime k
object refcount k
persist k
pexpire k 10
pexpireat k 10
pexpiretime k
pfadd k e
pfcount a b
pfdebug getreg k
pfmerge d a b
psetex k 10 v
pttl k
rename a b
renamenx a b
restore k 0 payload
rpop k
rpoplpush a b
rpush k e
rpushx k e
sadd k m
scard k
sdiff a b
sdiffstore d a b
set k v
set k v get
set k v nx get
setbit k 1 1
setex k 10 v
setnx k v
setrange k 0 v
sinter a b
sintercard 2 a b
sinterstore d a b
sismember k m
smembers k
smismember k m
smove a b m
sort k
sort k store d
sort k by p get q store d
sort_ro k
spop k
spublish ch msg
srandmember k
srem k m
sscan k 0
ssubscribe ch
strlen k
substr k 0 1
sunion a b
sunionstore d a b
sunsubscribe ch
touch a b
ttl k
type k
unlink a b
watch a b
xack k g 0-1
xadd k * f v
xautoclaim k g c 0 0
xclaim k g c 0 0-1
xdel k 0-1
xgroup create k g $
xgroup createconsumer k g c
xgroup delconsumer k g c
xgroup destroy k g
xgroup setid k g $
xinfo consumers k g
xinfo groups k
xinfo stream k
xlen k
xpending k g
xrange k - +
xread count 1 streams a b 0 0
xreadgroup group g c streams a 0
xrevrange k + -
xsetid k 0-1
xtrim k maxlen 1
zadd k 1 m
zcard k
zcount k 0 1
zdiff 2 a b
zdiffstore d 2 a b
zincrby k 1 m
zinter 2 a b
zintercard 2 a b
zinterstore d 2 a b
zlexcount k - +
zmpop 2 a b min
zmscore k m
zpopmax k
zpopmin k
zrandmember k
zrange k 0 1
zrangebylex k - +
zrangebyscore k 0 1
zrangestore d k 0 1
zrank k m
zrem k m
zremrangebylex k - +
zremrangebyrank k 0 1
zremrangebyscore k 0 1
zrevrange k 0 1
zrevrangebylex k + -
zrevrangebyscore k 1 0
zrevrank k m
zscan k 0
zscore k m
zunion 2 a b
zunionstore d 2 a b
"""

# Calls whose key specs Redis calls invalid, or that find fewer keys.
EDGE_CALLS = """
pfmerge k
zunionstore d 3 a b
zunionstore d 0 a
zunion 0 a
eval s 3 a b
eval s x
lmpop 0 a left
lmpop 3 a b left
xread streams a b c
sort k store
sort k store a store b
set k get
bitfield k
exists k
"""


def getkeysandflags(port, args):
    with RawConn(port) as c:
        return c.call("COMMAND", "GETKEYSANDFLAGS", *args)


def test_getkeysandflags_as_redis(server, redis_ref):
    """COMMAND GETKEYSANDFLAGS names the same keys with the same key-spec
    flags as Redis 7.0 (RO/RW/OW/RM, access, update, insert, delete) for
    every command both have; commands without keys refuse alike."""
    ours = categories_by_name(server.port)
    theirs = categories_by_name(redis_ref.port)
    shared = set(ours) & set(theirs)
    calls = [line.split() for line in (KEYED_CALLS + EDGE_CALLS).split("\n") if line.strip()]
    covered = {a[0] for a in calls} | {a[0] + "|" + a[1] for a in calls if len(a) > 1}
    with RawConn(redis_ref.port) as c:
        arity = {}
        for entry in c.call("COMMAND"):
            arity[entry[0].decode()] = entry[1]
            for sub in entry[9]:
                arity[sub[0].decode()] = sub[1]
    for name in sorted(shared - covered):
        # No keys: enough arguments for the arity. Parley's DEBUG is a
        # container (of DIGEST); Redis's is not.
        words = ["debug", "digest"] if name == "debug" else name.split("|")
        calls.append(words + ["x"] * max(0, abs(arity[name]) - len(words)))
    differ = {}
    for args in calls:
        want, got = getkeysandflags(redis_ref.port, args), getkeysandflags(server.port, args)
        if got != want or type(got) is not type(want):
            differ[" ".join(args)] = (got, want)
    assert differ == {}
    assert len(calls) > 300
    keyed = [a for a in calls if not isinstance(getkeysandflags(server.port, a), Err)]
    assert len({a[0] for a in keyed}) > 170
    assert getkeysandflags(server.port, ["LMOVE", "k1", "k2", "left", "right"]) == [
        [b"k1", ["RW", "access", "delete"]], [b"k2", ["RW", "insert"]]]


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
