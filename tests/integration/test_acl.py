"""ACL users as Redis 7.0 has them, kept as replicated state: rules and
their errors, NOPERM texts, ACL LOG, scripts that run with their caller's
permissions, ACL LOAD/SAVE with an aclfile, users kept across restarts
(snapshot and log replay), and on three nodes: a user created through one
node logs in on another and after the leader is killed, with the same
digest on every node.

Error texts were taken from redis-server 7.0.15 given the same input."""
import os

import pytest
import redis

from conftest import Node, wait_until, wait_writable
from rawresp import Closed, RawConn

NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"


def noperm_cmd(name):
    return f"NOPERM this user has no permissions to run the '{name}' command"


def setuser_error(rule, why):
    return f"ERR Error in ACL SETUSER modifier '{rule}': {why}"


@pytest.fixture
def acl(server, r):
    yield r
    for user in r.execute_command("ACL", "USERS"):
        if user != "default":
            r.execute_command("ACL", "DELUSER", user)


def login(server, user, password):
    c = RawConn(server.port)
    assert c.call("AUTH", user, password) == "OK"
    return c


def test_new_user_and_list(server, acl):
    assert acl.execute_command("ACL", "SETUSER", "bob") == "OK"
    assert acl.execute_command("ACL", "LIST") == [
        "user bob off resetchannels -@all", "user default on nopass ~* &* +@all"]
    assert acl.execute_command("ACL", "USERS") == ["bob", "default"]
    assert acl.execute_command("ACL", "SETUSER", "bob", "on", ">p1", "~foo*", "%R~ro*",
                               "&news", "+@read", "+set") == "OK"
    user = acl.execute_command("ACL", "GETUSER", "bob")
    fields = dict(zip(user[::2], user[1::2]))
    assert fields["flags"] == ["on"]
    assert fields["passwords"] == ["f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a"]
    assert fields["keys"] == "~foo* %R~ro*"
    assert fields["channels"] == "&news"
    assert fields["commands"] == "-@all +@read +set"
    assert acl.execute_command("ACL", "GETUSER", "nobody") is None


def test_setuser_errors(server, acl):
    cases = [
        ("foo", "Syntax error"),
        ("+nosuch", "Unknown command or category name in ACL"),
        ("-@nosuch", "Unknown command or category name in ACL"),
        # Node-to-node commands are outside ACL: no rule names them.
        ("+parley.fwd", "Unknown command or category name in ACL"),
        ("-parley.peer", "Unknown command or category name in ACL"),
        ("#abc", "The password hash must be exactly 64 characters and contain only lowercase "
                 "hexadecimal characters"),
        ("<nothere", "The password you are trying to remove from the user does not exist"),
    ]
    for rule, why in cases:
        with pytest.raises(redis.ResponseError) as e:
            acl.execute_command("ACL", "SETUSER", "eve", rule)
        assert "ERR " + str(e.value) == setuser_error(rule, why)
    # A rule that depends on the user: refused when applied, on every node alike.
    acl.execute_command("ACL", "SETUSER", "eve", "allkeys")
    with pytest.raises(redis.ResponseError) as e:
        acl.execute_command("ACL", "SETUSER", "eve", "~x")
    assert "ERR " + str(e.value) == setuser_error("~x", "Adding a pattern after the * pattern (or the "
                                         "'allkeys' flag) is not valid and does not have any "
                                         "effect. Try 'resetkeys' to start with an empty list "
                                         "of patterns")
    with pytest.raises(redis.ResponseError, match="^The 'default' user cannot be removed"):
        acl.execute_command("ACL", "DELUSER", "default")


def test_permissions(server, acl):
    acl.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "~foo*", "%R~ro*", "&news",
                        "+@read", "+@write", "+@transaction", "-@dangerous", "-del", "+client|id", "+publish",
                        "+subscribe")
    acl.set("ro1", "x")
    c = login(server, "bob", "pw")
    assert c.call("SET", "foo1", "v") == "OK"
    assert c.call("GET", "foo1") == b"v"
    assert c.call("GET", "other") == NOPERM_KEY
    assert c.call("MGET", "foo1", "other") == NOPERM_KEY
    assert c.call("GET", "ro1") == b"x"
    assert c.call("SET", "ro1", "y") == NOPERM_KEY
    assert c.call("DEL", "foo1") == noperm_cmd("del")
    assert c.call("CLIENT", "ID") > 0
    assert c.call("CLIENT", "KILL", "ID", "1") == noperm_cmd("client|kill")
    assert c.call("FLUSHALL") == noperm_cmd("flushall")
    assert c.call("PUBLISH", "news", "hi") == 0
    assert c.call("PUBLISH", "sports", "hi") == NOPERM_CHANNEL
    assert c.call("SUBSCRIBE", "sports") == NOPERM_CHANNEL
    # Inside MULTI a refused command aborts the transaction, as in Redis.
    assert c.call("MULTI") == "OK"
    assert c.call("GET", "other") == NOPERM_KEY
    assert str(c.call("EXEC")).startswith("EXECABORT")
    assert c.call("ACL", "WHOAMI") == noperm_cmd("acl|whoami")
    c.close()
    # DRYRUN answers for the user without running anything.
    assert acl.execute_command("ACL", "DRYRUN", "bob", "set", "foo2", "v") == "OK"
    assert acl.execute_command("ACL", "DRYRUN", "bob", "del", "foo2") == \
        "This user has no permissions to run the 'del' command"
    assert acl.get("foo2") is None


def test_acl_log(server, acl):
    acl.execute_command("ACL", "LOG", "RESET")
    acl.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "+get", "~a*")
    c = login(server, "bob", "pw")
    c.call("GET", "b")
    c.call("SET", "a", "1")
    c.call("SET", "a", "1")
    assert c.call("AUTH", "bob", "wrong").startswith("WRONGPASS")
    c.close()
    entries = acl.execute_command("ACL", "LOG")
    entries = [dict(zip(e[::2], e[1::2])) for e in entries]
    assert [(e["reason"], e["object"], e["username"], e["count"]) for e in entries] == [
        ("auth", "AUTH", "bob", 1), ("command", "set", "bob", 2), ("key", "b", "bob", 1)]
    assert all("user=bob" in e["client-info"] for e in entries[1:])
    assert acl.execute_command("ACL", "LOG", "RESET") == "OK"
    assert acl.execute_command("ACL", "LOG") == []


def test_cat_matches_redis(server, redis_ref):
    with RawConn(server.port) as ours, RawConn(redis_ref.port) as theirs:
        cats = theirs.call("ACL", "CAT")
        assert ours.call("ACL", "CAT") == cats
        ours_cmds = set(ours.call("COMMAND", "LIST"))
        parley_only = {b"raft|node", b"raft|transfer", b"parley.fwd", b"debug|digest",
                       b"raft|info", b"raft|members", b"raft|digest", b"raft|help", b"raft|version",
                       b"client|setinfo", b"sentinel|help", b"sentinel", b"raft",
                       b"waitaof"}  # Redis 7.2's (client|setinfo too)
        for cat in cats:
            want = {n for n in theirs.call("ACL", "CAT", cat) if n in ours_cmds}
            got = {n for n in ours.call("ACL", "CAT", cat)
                   if not n.startswith((b"sentinel|", b"parley.test", b"lock.", b"elect."))}
            assert got - parley_only == want, cat
        assert ours.call("ACL", "CAT", "nosuch") == "ERR Unknown category 'nosuch'"


def test_scripts_run_with_callers_permissions(server, acl):
    acl.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "~mine*", "+@scripting", "+get",
                        "+set", "+@transaction")
    c = login(server, "bob", "pw")
    assert c.call("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "mine1") == "OK"
    err = c.call("EVAL", "return redis.call('set', 'theirs', 'v')", "0")
    assert "The user executing the script can't access at least one of the keys" in err
    err = c.call("EVAL", "return redis.call('del', 'mine1')", "0")
    assert "The user executing the script can't run this command or subcommand" in err
    assert c.call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', "
                  "function(k) return redis.call('get', 'theirs') end)") == b"lib"
    assert "can't access at least one of the keys" in c.call("FCALL", "f", "0")
    # Inside a transaction too.
    assert c.call("MULTI") == "OK"
    assert c.call("EVAL", "return redis.call('set', 'theirs', 'v')", "0") == "QUEUED"
    assert "can't access at least one of the keys" in c.call("EXEC")[0]
    c.close()
    assert acl.get("theirs") is None and acl.get("mine1") == "v"
    acl.execute_command("FUNCTION", "FLUSH")


def test_deluser_disconnects_its_clients(server, acl):
    acl.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*")
    bob = login(server, "bob", "pw")
    assert bob.call("PING") == "PONG"
    assert acl.execute_command("ACL", "DELUSER", "bob", "nobody") == 1
    with pytest.raises((Closed, OSError)):
        bob.call("PING")
    with pytest.raises(redis.ResponseError, match="^WRONGPASS"):
        server.client(username="bob", password="pw").ping()


def test_acl_load_and_save(tmp_path, make_node):
    path = tmp_path / "users.acl"
    path.write_text("user alice on >a1 ~* +@all\nuser default on nopass ~* &* +@all\n")
    node = make_node(extra=["--aclfile", str(path)]).start()
    wait_writable(node)
    r = node.client()
    assert r.execute_command("ACL", "LOAD") == "OK"
    assert node.client(username="alice", password="a1").ping()
    r.execute_command("ACL", "SETUSER", "carol", "on", ">c1", "+get")
    assert r.execute_command("ACL", "SAVE") == "OK"
    saved = path.read_text()
    assert "user carol on #" in saved and ">c1" not in saved
    # A bad line changes nothing.
    path.write_text("user dave on >d1 +nosuch\n")
    with pytest.raises(redis.ResponseError, match="Unknown command or category name in ACL"):
        r.execute_command("ACL", "LOAD")
    assert r.execute_command("ACL", "USERS") == ["alice", "carol", "default"]
    # A file without default gives the default user of a fresh server.
    path.write_text("user erin on >e1 +@all ~*\n")
    assert r.execute_command("ACL", "LOAD") == "OK"
    assert r.execute_command("ACL", "USERS") == ["default", "erin"]


def test_acl_file_not_configured(server, acl):
    with pytest.raises(redis.ResponseError, match="^This Redis instance is not configured to use an ACL file"):
        acl.execute_command("ACL", "LOAD")


@pytest.mark.parametrize("snapshot", [False, True])
def test_users_survive_restart(make_node, snapshot):
    extra = ["--raft-snapshot-threshold", "16", "--raft-snapshot-trailing", "4"] if snapshot else []
    node = make_node(extra=extra).start()
    wait_writable(node)
    r = node.client()
    r.execute_command("ACL", "SETUSER", "bob", "on", ">pw", "~k*", "+get", "+set")
    if snapshot:
        for i in range(64):
            r.set(f"k{i}", i)
    digest = r.execute_command("RAFT", "DIGEST")
    assert node.stop() == 0
    node.start()
    wait_writable(node)
    bob = node.client(username="bob", password="pw")
    assert bob.set("k1", "x")
    with pytest.raises(redis.ResponseError, match="no permissions"):
        bob.get("other")
    assert node.client().execute_command("ACL", "LIST")[0].startswith("user bob on #")
    assert digest is not None


def digest_of(node):
    return node.client().execute_command("RAFT", "DIGEST")


def test_three_nodes(make_cluster):
    cluster = make_cluster(3, extra=["--requirepass", "adminpw"])
    for n in cluster.nodes:
        n.client = (lambda node: lambda **kw: Node.client(node, **{"password": "adminpw", **kw}))(n)
    cluster.start()
    leader = cluster.leader()
    wait_writable(leader)
    followers = [n for n in cluster.nodes if n is not leader]
    # Created through a follower (forwarded to the leader), used on another.
    followers[0].client().execute_command("ACL", "SETUSER", "app", "on", ">apppw", "~app:*",
                                          "+@read", "+@write", "-@dangerous")
    app = followers[1].client(username="app", password="apppw")
    wait_until(lambda: app.set("app:1", "v"), 10, message="the user on another node")
    with pytest.raises(redis.ResponseError, match="no permissions"):
        app.set("other", "v")
    with pytest.raises(redis.ResponseError, match="no permissions"):
        app.flushall()

    def digests_equal():
        ds = [digest_of(n) for n in cluster.nodes]
        return len({d[1] if isinstance(d, list) else str(d).split()[-1] for d in ds}) == 1 and ds
    wait_until(digests_equal, 15, message="equal digests on three nodes")

    leader.kill()
    survivors = [n for n in cluster.nodes if n is not leader]
    new_leader = cluster.wait_leader(15, exclude=(leader,))
    assert new_leader in survivors
    for n in survivors:
        c = n.client(username="app", password="apppw")
        wait_until(lambda: c.get("app:1") == "v", 15, message="the user after the leader kill")
    survivors[0].client().execute_command("ACL", "DELUSER", "app")

    def refused():
        try:
            survivors[1].client(username="app", password="apppw").ping()
        except redis.ResponseError as e:
            return str(e).startswith("WRONGPASS")
        return False
    wait_until(refused, 10, message="the deleted user refused on another node")


CHANGED = ("NOPERM ACLs rules changed between the moment the transaction was accumulated and "
           "the EXEC call. This command is no longer allowed for the following reason: ")


def test_exec_rechecks_rules_changed_since_multi(server, acl):
    """As redis-server 7.0.15: EXEC checks each queued command again; the
    ones the user lost answer NOPERM in their place, the others run."""
    acl.execute_command("ACL", "SETUSER", "tx", "on", ">pw", "~*", "&*", "+@all")
    with login(server, "tx", "pw") as c:
        assert c.call("MULTI") == "OK"
        assert c.call("SET", "txk", "v") == "QUEUED"
        assert c.call("GET", "txk") == "QUEUED"
        assert c.call("PUBLISH", "ch", "x") == "QUEUED"
        assert c.call("GET", "zz") == "QUEUED"
        acl.execute_command("ACL", "SETUSER", "tx", "-get", "resetchannels", "resetkeys", "~txk")
        assert c.call("EXEC") == [
            "OK", CHANGED + "no permission to execute the command or subcommand",
            CHANGED + "no permission to access one of the channels used as arguments",
            CHANGED + "no permission to execute the command or subcommand"]
        assert acl.get("txk") == "v"
        acl.execute_command("ACL", "SETUSER", "tx", "+get", "resetkeys", "~*")
        assert c.call("MULTI") == "OK"
        assert c.call("GET", "zz") == "QUEUED"
        assert c.call("SET", "txk", "w") == "QUEUED"
        acl.execute_command("ACL", "SETUSER", "tx", "resetkeys", "~zz")
        assert c.call("EXEC") == [None, CHANGED + "no permission to touch the specified keys"]
    assert acl.get("txk") == "v"
    entries = acl.execute_command("ACL", "LOG", "4")
    multi = [dict(zip(e[::2], e[1::2])) for e in entries]
    multi = [(e["reason"], e["object"]) for e in multi if e["context"] == "multi"]
    assert ("key", "txk") in multi and ("command", "get") in multi and ("channel", "ch") in multi


def test_exec_rechecks_the_command_a_fenced_call_runs(server, acl):
    """LOCK.FENCED queued in MULTI: EXEC checks the command it runs, on
    its keys, against the rules as they are then, not only the lock's."""
    acl.execute_command("ACL", "SETUSER", "fx", "on", ">pw", "~*", "+@all")
    token = acl.execute_command("LOCK.ACQUIRE", "fx:lock", "o", 10000)
    with login(server, "fx", "pw") as c:
        assert c.call("MULTI") == "OK"
        assert c.call("LOCK.FENCED", "fx:lock", str(token), "SET", "fx:data", "1") == "QUEUED"
        assert c.call("LOCK.FENCED", "fx:lock", str(token), "SET", "fx:other", "1") == "QUEUED"
        acl.execute_command("ACL", "SETUSER", "fx", "resetkeys", "~fx:lock", "~fx:data")
        assert c.call("EXEC") == ["OK", CHANGED + "no permission to touch the specified keys"]
    assert acl.get("fx:data") == "1" and acl.get("fx:other") is None


def test_exec_checks_a_restricted_default_user(server, acl):
    """An unrestricted user's transaction is checked too: a user that
    loses a right inside its own transaction (ACL SETUSER queued before)."""
    acl.execute_command("ACL", "SETUSER", "self", "on", ">pw", "~*", "&*", "+@all")
    with login(server, "self", "pw") as c:
        assert c.call("MULTI") == "OK"
        assert c.call("SET", "selfk", "1") == "QUEUED"
        assert c.call("ACL", "SETUSER", "self", "-set") == "QUEUED"
        assert c.call("SET", "selfk", "2") == "QUEUED"
        assert c.call("EXEC") == ["OK", "OK", CHANGED + "no permission to execute the command or subcommand"]
    assert acl.get("selfk") == "1"


def test_setuser_and_deluser_inside_multi(server, acl):
    """ACL SETUSER and DELUSER are queued like any command (Redis allows
    them) and apply atomically with the rest of the transaction; a bad rule
    answers its error in EXEC, where Redis answers it."""
    c = acl.pipeline(transaction=True)
    c.execute_command("ACL", "SETUSER", "txu", "on", ">secret", "~t:*", "+set")
    c.set("t:1", "x")
    c.execute_command("ACL", "SETUSER", "old", "on", ">o")
    out = c.execute()
    assert out == ["OK", True, "OK"]
    user = server.client(username="txu", password="secret")
    assert user.set("t:2", "y")
    with pytest.raises(redis.ResponseError, match="no permissions"):
        user.get("t:2")
    # The log holds the password hashed, as for ACL SETUSER outside MULTI.
    assert acl.execute_command("ACL", "LIST")[2].startswith(
        "user txu on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ")
    with RawConn(server.port) as raw:
        assert raw.call("MULTI") == "OK"
        assert raw.call("ACL", "DELUSER", "old") == "QUEUED"
        assert raw.call("ACL", "SETUSER", "txu", "bogus") == "QUEUED"
        assert raw.call("INCR", "t:n") == "QUEUED"
        assert raw.call("EXEC") == [1, setuser_error("bogus", "Syntax error"), 1]
    assert acl.execute_command("ACL", "USERS") == ["default", "txu"]


def test_acl_load_inside_multi(tmp_path, make_node, server):
    """As redis-server 7.0.15: ACL LOAD is queued (ACL has no no-multi
    flag) and EXEC answers what it answers outside MULTI, in its place;
    EXEC re-checks the caller may still run it. Parley reads the file when
    the command is queued (Redis when EXEC runs it: the same answer unless
    the file changes in between), so the log carries the users, never a
    file to read."""
    with RawConn(server.port) as c:  # no aclfile
        assert c.call("MULTI") == "OK"
        assert c.call("ACL", "LOAD") == "QUEUED"
        assert c.call("EXEC") == [
            "ERR This Redis instance is not configured to use an ACL file. You may want to "
            "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
            "(assuming you have a Redis configuration file set) in order to store users in "
            "the Redis configuration."]
    path = tmp_path / "users.acl"
    path.write_text("user default on nopass ~* &* +@all\nuser ops on >o ~* +@all\n")
    node = make_node(extra=["--aclfile", str(path)]).start()
    wait_writable(node)
    path.write_text("user default on nopass ~* &* +@all\nuser ops on >o ~* +@all\n"
                    "user bob on >b ~b:* +set\n")
    with RawConn(node.port) as c:
        assert c.call("MULTI") == "OK"
        assert c.call("ACL", "LOAD") == "QUEUED"
        assert c.call("SET", "k", "v") == "QUEUED"
        assert c.call("EXEC") == ["OK", "OK"]
        assert c.call("ACL", "USERS") == [b"bob", b"default", b"ops"]
    assert node.client(username="bob", password="b").set("b:1", "x")
    # A bad file: its error in EXEC, the other commands run, nothing changes.
    path.write_text("user default on nopass ~* &* +@all\nuser dave on >d\nbadline\n")
    with RawConn(node.port) as c:
        assert c.call("MULTI") == "OK"
        assert c.call("ACL", "LOAD") == "QUEUED"
        assert c.call("INCR", "n") == "QUEUED"
        assert c.call("EXEC") == [
            f"ERR {path}:3 should start with user keyword followed by the username. "
            "WARNING: ACL errors detected, no change to the previously active ACL rules was "
            "performed", 1]
        assert c.call("ACL", "USERS") == [b"bob", b"default", b"ops"]
    # The caller lost the right to ACL LOAD between MULTI and EXEC.
    path.write_text("user default on nopass ~* &* +@all\nuser ops on >o ~* +@all\n")
    with login(node, "ops", "o") as ops, RawConn(node.port) as admin:
        assert ops.call("MULTI") == "OK"
        assert ops.call("ACL", "LOAD") == "QUEUED"
        assert admin.call("ACL", "SETUSER", "ops", "-acl|load") == "OK"
        assert ops.call("EXEC") == [
            "NOPERM ACLs rules changed between the moment the transaction was accumulated "
            "and the EXEC call. This command is no longer allowed for the following reason: "
            "no permission to execute the command or subcommand"]
        assert admin.call("ACL", "USERS") == [b"bob", b"default", b"ops"]


def test_aclfile_read_at_startup(tmp_path, make_node):
    """A node started with an aclfile enforces its users from the first
    connection, and they go through the log: ACL LIST shows them, and
    they stay after a restart without the file."""
    path = tmp_path / "start.acl"
    path.write_text("user alice on >a1 ~a:* +@all\nuser default on >dpw ~* &* +@all\n")
    node = make_node(extra=["--aclfile", str(path)]).start(wait=False)
    wait_until(lambda: node.client(password="dpw", socket_timeout=1).ping(), 30,
               message="the node with its aclfile")
    with RawConn(node.port) as c:
        assert c.call("GET", "k") == "NOAUTH Authentication required."
    alice = node.client(username="alice", password="a1")
    wait_until(lambda: alice.set("a:1", "x"), 10, message="a write as alice")
    with pytest.raises(redis.ResponseError, match="no permissions"):
        alice.get("b")
    admin = node.client(password="dpw")
    assert [u.split(" #")[0] for u in admin.execute_command("ACL", "LIST")] == [
        "user alice on", "user default on"]
    assert node.stop() == 0
    node.extra = []
    node.start(wait=False)
    wait_until(lambda: node.client(username="alice", password="a1", socket_timeout=1).get("a:1"),
               30, message="the users from the log after a restart without the file")


@pytest.mark.parametrize("text,why", [
    ("user alice on >pw ~* +@all\nuser bob on bogus\n", "{path}:2: Syntax error. "),
    ("junk line\n", "{path}:1 should start with user keyword followed by the username. "),
    (None, "Error loading ACLs, opening file '{path}': No such file or directory"),
])
def test_bad_aclfile_refuses_to_start(tmp_path, make_node, text, why):
    """As redis-server 7.0.15: a malformed (or missing) aclfile stops the
    start with "Aborting Redis startup because of ACL errors: ..."."""
    path = tmp_path / "bad.acl"
    if text is not None:
        path.write_text(text)
    node = make_node(extra=["--aclfile", str(path)]).start(wait=False)
    assert node.proc.wait(timeout=30) != 0
    assert ("Aborting Redis startup because of ACL errors: " + why.format(path=path)) in node.log_text()


def test_acl_load_errors_as_redis(tmp_path, make_node):
    path = tmp_path / "users.acl"
    path.write_text("user alice on >a1 ~* +@all\n")
    node = make_node(extra=["--aclfile", str(path)]).start()
    wait_writable(node)
    path.write_text("user x on >a ~*\nnot a user\nuser y on +nosuch\n")
    with RawConn(node.port) as c:
        assert c.call("ACL", "LOAD") == (
            f"ERR {path}:2 should start with user keyword followed by the username. "
            f"{path}:3: Unknown command or category name in ACL. "
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
    assert node.client().execute_command("ACL", "USERS") == ["alice", "default"]


def test_aclfile_at_startup_three_nodes(tmp_path, make_cluster):
    """Every node holds the users of the file once one proposed them."""
    path = tmp_path / "cluster.acl"
    path.write_text("user ops on >opspw ~* &* +@all\nuser default on nopass ~* &* +@all\n")
    cluster = make_cluster(3, extra=["--aclfile", str(path)]).start()
    for n in cluster.nodes:
        c = n.client(username="ops", password="opspw", socket_timeout=2)
        wait_until(lambda: c.ping(), 15, message="the aclfile's user on every node")
    cluster.wait_converged()


def test_subscriber_losing_its_channel_is_disconnected(server, acl):
    """As redis-server 7.0.15 after ACL SETUSER ... resetchannels: a client
    subscribed to a channel its user may no longer use is disconnected;
    one whose channels (or literal patterns) are still allowed stays."""
    acl.execute_command("ACL", "SETUSER", "sub", "on", ">pw", "~*", "&*", "+@all")
    keeps, loses, pattern = (login(server, "sub", "pw") for _ in range(3))
    assert keeps.call("SUBSCRIBE", "a")[0] == b"subscribe"
    assert loses.call("SUBSCRIBE", "b")[0] == b"subscribe"
    assert pattern.call("PSUBSCRIBE", "p*")[0] == b"psubscribe"
    acl.execute_command("ACL", "SETUSER", "sub", "resetchannels", "&a", "&p*")
    with pytest.raises((Closed, OSError)):
        loses.call("PING")
    assert keeps.call("PING") == [b"pong", b""]
    assert pattern.call("PING") == [b"pong", b""]
    assert acl.publish("a", "still here") >= 1
    keeps.close()
    pattern.close()


def test_user_set_off_is_disconnected(server, acl):
    """The clients of a user set off are disconnected (redis-server 7.0.15
    keeps them; the issue asks for this) and it can no longer log in."""
    acl.execute_command("ACL", "SETUSER", "offu", "on", ">pw", "~*", "+@all")
    c = login(server, "offu", "pw")
    other = login(server, "offu", "pw")
    assert c.call("PING") == "PONG"
    acl.execute_command("ACL", "SETUSER", "offu", "off")
    for conn in (c, other):
        with pytest.raises((Closed, OSError)):
            conn.call("PING")
    with pytest.raises(redis.ResponseError, match="^WRONGPASS"):
        server.client(username="offu", password="pw").ping()


KEY_SPEC_CALLS = [
    ["GET", "k"], ["SET", "k", "v"], ["SET", "k", "v", "GET"], ["SET", "k", "v", "NX"],
    ["INCR", "k"], ["LPUSH", "k", "a"], ["LPOP", "k"], ["EXISTS", "k", "d"], ["DEL", "k"],
    ["TYPE", "k"], ["STRLEN", "k"], ["GETDEL", "k"], ["HINCRBY", "k", "f", "1"],
    ["LMOVE", "k", "d", "LEFT", "RIGHT"], ["LMOVE", "d", "k", "LEFT", "RIGHT"],
    ["RPOPLPUSH", "k", "d"], ["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], ["COPY", "k", "d"],
    ["COPY", "d", "k"], ["RENAME", "k", "d"], ["SMOVE", "k", "d", "m"],
    ["EVAL", "return 1", "2", "k", "d"], ["EVAL_RO", "return 1", "1", "k"],
    ["EVALSHA", "a" * 40, "1", "d"], ["FCALL", "f", "2", "d", "k"], ["FCALL_RO", "f", "1", "k"],
    ["ZUNIONSTORE", "d", "2", "k", "k2"], ["ZINTERSTORE", "k", "1", "d"],
    ["ZRANGESTORE", "d", "k", "0", "-1"], ["ZRANGESTORE", "k", "d", "0", "-1"],
    ["SINTERSTORE", "d", "k", "k2"], ["SUNIONSTORE", "k", "d"], ["SINTERCARD", "2", "k", "d"],
    ["LMPOP", "2", "k", "d", "LEFT"], ["BLMPOP", "0", "1", "d", "LEFT"], ["ZMPOP", "1", "k", "MIN"],
    ["BZMPOP", "0", "1", "d", "MAX"], ["XREAD", "STREAMS", "k", "d", "0", "0"],
    ["XREAD", "COUNT", "1", "STREAMS", "d", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"],
    ["XADD", "k", "*", "f", "v"], ["XINFO", "STREAM", "k"], ["OBJECT", "ENCODING", "k"],
    ["MSET", "k", "1", "d", "2"], ["MGET", "k", "d"], ["BLPOP", "k", "d", "0"],
]


def test_key_permissions_follow_key_specs(server, acl, redis_ref):
    """%R~ and %W~ as Redis 7.0.15's key specs give them, command by
    command (ACL DRYRUN answers the same on both servers): LMOVE's source
    is read and written, its destination written; SET needs read only
    with GET; EXISTS and TYPE need neither; EVAL/FCALL numkeys,
    Z*STORE, SINTERCARD, *MPOP, XREAD(GROUP) STREAMS..."""
    ref = redis.Redis(port=redis_ref.port, decode_responses=True)
    users = {"ronly": ["%R~*"], "wonly": ["%W~*"], "mixed": ["%R~k*", "%W~d*"]}
    for name, keys in users.items():
        for node in (acl, ref):
            node.execute_command("ACL", "SETUSER", name, "on", "nopass", "+@all", *keys)
    try:
        for name in users:
            for call in KEY_SPEC_CALLS:
                want = ref.execute_command("ACL", "DRYRUN", name, *call)
                got = acl.execute_command("ACL", "DRYRUN", name, *call)
                assert got == want, (name, call)
    finally:
        for name in users:
            ref.execute_command("ACL", "DELUSER", name)


# ACL SETUSER sequences (one list of rules per call) run on Parley and on
# redis-server 7.0.15; ACL LIST and ACL GETUSER must then agree.
PW_C = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"  # sha256("c")
SETUSER_SEQUENCES = [
    [[]],
    [["on"], ["off"], ["on"]],
    [["nopass"]],
    [["nopass", ">pw"]],
    [[">pw", "nopass"]],
    [[">a", ">b", "#" + PW_C, "<a"]],
    [[">a", ">a", "#" + PW_C], ["<c"]],
    [["on", ">a"], ["resetpass"]],
    [["~foo*", "%R~ro*", "%W~wo*", "%R~foo*"]],
    [["~a", "%W~a", "%R~b", "%RW~c", "%W~b"]],
    [["~a", "allkeys"]],
    [["allkeys", "resetkeys", "~b", "~b"]],
    [["~*"]],
    [["&news", "&sports", "&news"]],
    [["&a", "allchannels"]],
    [["allchannels", "resetchannels", "&b"]],
    [["&*"]],
    [["+@all"]],
    [["+@all", "-@all"]],
    [["allcommands"], ["nocommands"]],
    [["-@all", "+@read", "-@read", "+@read"]],
    [["+@read", "-get", "+@read"]],
    [["+@all", "-@dangerous"]],
    [["+@all", "-@dangerous", "+@admin"]],
    [["+@hash", "+@list", "-@write"]],
    [["+@all", "-@write", "-@admin"]],
    [["+@slow"]],
    [["+get", "-get"]],
    [["+get", "+set", "+get"]],
    [["+client|kill"]],
    [["+client", "-client|kill"]],
    [["+client|kill", "+client|list", "-client"]],
    [["+client", "-client|kill", "+client|kill"]],
    [["+@all", "-get", "-client|kill"]],
    [["allcommands", "-config|set", "-config"], ["+config|get"]],
    [["nocommands", "+config|get", "+config"]],
    [["+acl", "-acl"]],
    [["+@all", "-@dangerous", "+@read", "-@read", "+get", "-get", "+client",
      "-client|kill", "+config|get"]],
    [["on", ">x", "~a", "&c", "+get", "reset"]],
    [["reset", "on", "nopass", "+@all", "~*", "&*"]],
    [["+get", "+get", "~a", "~a", "&c", "&c", ">x", ">x", "on", "on"]],
    [["sanitize-payload"]],
    [["skip-sanitize-payload"], ["on"]],
    [["on", "+@all"], ["-get"], ["+get"], ["~k1"], ["%R~k2"]],
]


def command_names(conn):
    names = set()
    for entry in conn.call("COMMAND"):
        names.add(entry[0])
        names.update(sub[0] for sub in entry[9])
    return names


def split_rules(text, known):
    """A description's parts: the rules before the command rules, the
    +@all/-@all and category rules in order, and the rules on single
    commands as a set (redis-server lists those in its hash table's order,
    different in every process), leaving out the commands only one of the
    two servers has."""
    words = text.split()
    first = next((i for i, w in enumerate(words) if w in ("+@all", "-@all")), len(words))
    cats = [w for w in words[first:] if w[1] == "@"]
    single = {w for w in words[first:] if w[1] != "@" and w[1:].encode() in known}
    return words[:first], cats, single


def getuser_fields(conn, name, known):
    reply = conn.call("ACL", "GETUSER", name)
    fields = dict(zip(reply[::2], reply[1::2]))
    return {
        "flags": fields[b"flags"],
        "passwords": fields[b"passwords"],
        "commands": split_rules(fields[b"commands"].decode(), known),
        "keys": fields[b"keys"],
        "channels": fields[b"channels"],
        "selectors": fields[b"selectors"],
    }


def acl_list_line(conn, name, known):
    for line in conn.call("ACL", "LIST"):
        if line.split()[1] == name.encode():
            return split_rules(line.decode(), known)
    raise AssertionError(f"no user {name}")


def test_list_and_getuser_match_redis(server, acl, redis_ref):
    """Selectors (rules in parentheses) are not compared: Parley has none,
    and its GETUSER always answers an empty list, as Redis does for a user
    without them. First-arg rules (+select|0) are not either: Parley
    refuses them."""
    with RawConn(server.port) as ours, RawConn(redis_ref.port) as theirs:
        known = command_names(ours) & command_names(theirs)
        for n, calls in enumerate(SETUSER_SEQUENCES):
            name = f"diff{n}"
            for rules in calls:
                assert ours.call("ACL", "SETUSER", name, *rules) == \
                    theirs.call("ACL", "SETUSER", name, *rules) == "OK", (name, rules)
            assert acl_list_line(ours, name, known) == acl_list_line(theirs, name, known), calls
            assert getuser_fields(ours, name, known) == getuser_fields(theirs, name, known), calls
            theirs.call("ACL", "DELUSER", name)
        # The default user (this test's connections), changed and set back.
        for rules in (["-@write", "resetchannels", "&x"], ["-get", "+@write", ">pw"],
                      ["allchannels", "+@all", "nopass"]):
            assert ours.call("ACL", "SETUSER", "default", *rules) == \
                theirs.call("ACL", "SETUSER", "default", *rules) == "OK"
            assert acl_list_line(ours, "default", known) == \
                acl_list_line(theirs, "default", known), rules
            assert getuser_fields(ours, "default", known) == \
                getuser_fields(theirs, "default", known), rules
        for conn in (ours, theirs):
            assert b"user default on nopass ~* &* +@all" in conn.call("ACL", "LIST")


CHANNEL_CALLS = [
    ("PUBLISH", "a1", "m"), ("PUBLISH", "c", "m"), ("SPUBLISH", "c", "m"), ("SPUBLISH", "b", "m"),
    ("SUBSCRIBE", "a1", "c"), ("SUBSCRIBE", "b", "a2"), ("SSUBSCRIBE", "c"),
    ("PSUBSCRIBE", "a*"), ("PSUBSCRIBE", "a1"), ("PSUBSCRIBE", "b", "c*"),
    ("UNSUBSCRIBE", "c"), ("PUNSUBSCRIBE", "c*"), ("SUNSUBSCRIBE", "c"),
    ("PUBSUB", "CHANNELS", "c*"), ("PUBSUB", "NUMSUB", "c"), ("PUBSUB", "SHARDCHANNELS", "c"),
    ("PUBSUB", "SHARDNUMSUB", "c"), ("PUBSUB", "NUMPAT"), ("EVAL", "return 1", "0", "c"),
]


def test_channel_permissions_match_redis(server, acl, redis_ref):
    """The channels ACL checks come from the command table's rows
    (CMD_CHANNEL_*), as Redis 7.0's from its channel specs: PUBLISH and
    SPUBLISH their channel, (S)SUBSCRIBE each channel, PSUBSCRIBE each
    pattern (literally); the unsubscribe commands, PUBSUB's subcommands and
    EVAL none. Compared with redis-server 7.0.15 by ACL DRYRUN and by the
    commands themselves."""
    rules = ["reset", "on", ">pw", "resetchannels", "&a*", "&b", "+@all", "~*"]
    with RawConn(server.port) as ours, RawConn(redis_ref.port) as theirs:
        for conn in (ours, theirs):
            assert conn.call("ACL", "SETUSER", "chan", *rules) == "OK"
        for call in CHANNEL_CALLS:
            assert ours.call("ACL", "DRYRUN", "chan", *call) == \
                theirs.call("ACL", "DRYRUN", "chan", *call), call
        script = ("EVAL", "return redis.call('publish', KEYS[1], 'm')", "1", "c")
        for call in (("PUBLISH", "c", "m"), ("PUBLISH", "a1", "m"), ("PSUBSCRIBE", "a1"),
                     ("PUBSUB", "NUMSUB", "c"), script):
            with login(server, "chan", "pw") as mine, RawConn(redis_ref.port) as ref:
                assert ref.call("AUTH", "chan", "pw") == "OK"
                assert mine.call(*call) == ref.call(*call), call
        theirs.call("ACL", "DELUSER", "chan")


def test_reset_logs_back_in_as_the_default_user(server, acl):
    acl.execute_command("ACL", "SETUSER", "resetter", "on", ">pw", "+@all", "~*")
    c = login(server, "resetter", "pw")
    assert c.call("ACL", "WHOAMI") == b"resetter"
    assert c.call("RESET") == "RESET"
    assert c.call("ACL", "WHOAMI") == b"default"  # the default user needs no password here
    c.close()
