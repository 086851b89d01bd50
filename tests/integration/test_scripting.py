"""Lua scripting: EVAL, EVALSHA, EVAL_RO, SCRIPT, and Redis 7 functions
(FUNCTION, FCALL, FCALL_RO), with replies and error texts as Redis 7.0 gives
them; scripts and libraries replicated, durable and deterministic on every
node; and redis-py's Lock, which is built on scripts."""
import struct
import threading
import zlib

import pytest
import redis

from conftest import wait_until, wait_writable
from exact import err, exact_client

LIB = """#!lua name=mylib
local function set_it(keys, args)
  return redis.call('SET', keys[1], args[1])
end
local function get_it(keys, args)
  return redis.call('GET', keys[1])
end
redis.register_function('setit', set_it)
redis.register_function{function_name='getit', callback=get_it, flags={'no-writes'},
                        description='reads'}
"""


@pytest.fixture
def x(server, r):
    c = exact_client(server)
    c.execute_command("SCRIPT", "FLUSH")
    c.execute_command("FUNCTION", "FLUSH")
    yield c
    c.close()


# ---------------------------------------------------------------- EVAL family

def test_lua_values_become_redis_replies(x):
    assert x.execute_command(
        "EVAL", "return {1, 'two', {3, 'four'}, 3.7, true, false, nil, 'after'}", 0) == \
        [1, "two", [3, "four"], 3, 1, None]
    assert x.execute_command("EVAL", "return redis.status_reply('FINE')", 0) == "FINE"
    assert x.execute_command("EVAL", "return redis.sha1hex('')", 0) == \
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert err(x, "EVAL", "return redis.error_reply('MY bad')", 0) == "MY bad"
    assert err(x, "EVAL", "return {err='E1 x'}", 0) == "E1 x"


def test_keys_and_argv_reach_the_script(x):
    assert x.execute_command("EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}",
                             2, "k1", "k2", "a1", "a2") == ["k1", "k2", "a1", 2]
    assert x.execute_command("EVAL", "return redis.call('set', KEYS[1], ARGV[1])",
                             1, "k", "v") == "OK"
    assert x.execute_command("GET", "k") == "v"


def test_call_raises_and_pcall_returns_errors(x):
    x.execute_command("SET", "k", "abc")
    assert err(x, "EVAL", "return redis.pcall('incr', KEYS[1])", 1, "k") == \
        "ERR value is not an integer or out of range"
    assert err(x, "EVAL", "return redis.call('incr', KEYS[1])", 1, "k") == \
        "ERR value is not an integer or out of range script: " \
        "2bab3b661081db58bd2341920e0ba7cf5dc77b25, on @user_script:1."
    assert err(x, "EVAL", "return redis.call('nosuch')", 0).startswith(
        "ERR Unknown Redis command called from script")
    assert err(x, "EVAL", "return redis.call('multi')", 0).startswith(
        "ERR This Redis command is not allowed from script")


def test_argument_and_compile_errors(x):
    assert err(x, "EVAL", "return 1", -1) == "ERR Number of keys can't be negative"
    assert err(x, "EVAL", "return 1", 2, "a") == \
        "ERR Number of keys can't be greater than number of args"
    assert err(x, "EVAL", "return (", 0) == \
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    assert err(x, "EVALSHA", "0" * 40, 0) == "NOSCRIPT No matching script. Please use EVAL."


def test_globals_cannot_be_read_unset_or_written(x):
    assert err(x, "EVAL", "x = 1", 0).startswith(
        "ERR user_script:1: Attempt to modify a readonly table")
    assert err(x, "EVAL", "return y", 0).startswith(
        "ERR user_script:1: Script attempted to access nonexistent global variable 'y'")
    assert err(x, "EVAL", "return os", 0).startswith("ERR user_script:1: Script attempted")


def test_shebang_flags_as_redis_7(x):
    # Texts as redis-server 7.0.15 answers them.
    assert err(x, "EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", 0) == \
        "ERR Write commands are not allowed from read-only scripts. script: " \
        "6acb400a50fe96e33eca4e0af6e9dcfb21193726, on @user_script:2."
    assert err(x, "EVAL", "#!js\nreturn 1", 0) == "ERR Unexpected engine in script shebang: #!js"
    assert err(x, "EVAL", "#!luax\nreturn 1", 0) == "ERR Unexpected engine in script shebang: #!luax"
    assert err(x, "EVAL", "#!lua flags=bogus\nreturn 1", 0) == \
        "ERR Unexpected flag in script shebang: bogus"
    assert err(x, "EVAL", "#!lua foo=bar\nreturn 1", 0) == "ERR Unknown lua shebang option: foo=bar"
    assert err(x, "EVAL", "#!lua\nerror('x')", 0) == \
        "ERR user_script:2: x script: f0363b84b71234131413165ce8dee0dbb5f9ce96, on @user_script:2."
    assert err(x, "EVAL_RO", "#!lua\nreturn 1", 0) == \
        "ERR Can not execute a script with write flag using *_ro command."
    assert x.execute_command("EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0) == 1
    assert x.execute_command("EVAL", "#!lua  flags=no-writes,allow-oom\nreturn 2", 0) == 2
    assert x.execute_command("EVAL", "#!lua flags=\nreturn 3", 0) == 3
    assert x.execute_command("EVAL", "#!lua\nreturn redis.call('set','a','b')", 0) == "OK"
    assert err(x, "SCRIPT", "LOAD", "#!lua flags=bogus\nreturn 1") == \
        "ERR Unexpected flag in script shebang: bogus"


def test_script_cache_load_exists_flush(x):
    sha = x.execute_command("SCRIPT", "LOAD", "return 'hi'")
    assert sha == "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3"
    assert x.execute_command("EVALSHA", sha, 0) == "hi"
    assert x.execute_command("EVALSHA", sha.upper(), 0) == "hi"
    assert x.execute_command("SCRIPT", "EXISTS", sha, "ab") == [1, 0]
    assert x.execute_command("SCRIPT", "FLUSH") == "OK"
    assert x.execute_command("SCRIPT", "EXISTS", sha) == [0]
    assert err(x, "EVALSHA", sha, 0).startswith("NOSCRIPT")


def test_read_only_scripts_refuse_writes(x):
    assert err(x, "EVAL_RO", "return redis.call('set','a','b')", 1, "a").startswith(
        "ERR Write commands are not allowed from read-only scripts.")
    x.execute_command("SET", "a", "1")
    assert x.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "a") == "1"
    sha = x.execute_command("SCRIPT", "LOAD", "return redis.call('del', KEYS[1])")
    assert err(x, "EVALSHA_RO", sha, 1, "a").startswith("ERR Write commands are not allowed")
    assert x.execute_command("GET", "a") == "1"


def test_writes_before_an_error_are_kept_as_in_redis(x):
    assert err(x, "EVAL", "redis.call('set','w','1'); error('later')", 0).startswith(
        "ERR user_script:1: later")
    assert x.execute_command("GET", "w") == "1"


def test_runaway_script_is_stopped_and_server_answers(x):
    e = err(x, "EVAL", "redis.call('set','before','1') while true do end", 0)
    assert e.startswith("BUSY script stopped after"), e
    assert x.execute_command("GET", "before") == "1"
    assert x.execute_command("PING") == "PONG"


# ---------------------------------------------------------------- functions

PING_SCRIPTS = [
    "return redis.call('ping')",
    "return redis.call('PING', 'hello')",
    "return redis.call('echo', 'x y')",
    "return redis.call('ping').ok",
    "return type(redis.call('ping'))",
    "return redis.pcall('ping', 'a', 'b')",
    "return redis.pcall('echo')",
    "redis.call('set', 'pinged', '1'); return {redis.call('ping'), redis.call('echo', 3)}",
]

PING_LIB = """#!lua name=pinglib
redis.register_function{function_name='pong', callback=function(keys, args)
  return {redis.call('ping'), redis.call('ping', args[1]), redis.call('echo', args[1])}
end, flags={'no-writes'}}
"""


def test_ping_and_echo_from_scripts_as_redis(server, redis_ref):
    """PING and ECHO called from a script or a function answer as Redis
    7.0's: PONG as a status reply ({ok='PONG'} in Lua), the argument as a
    bulk string, PING's own arity error; in read-only scripts too."""
    answers = {}
    for port in (server.port, redis_ref.port):
        c = exact_client(type("N", (), {"port": port}))
        c.execute_command("FLUSHALL")
        c.execute_command("FUNCTION", "FLUSH")
        got = []
        for script in PING_SCRIPTS:
            for cmd in ("EVAL", "EVAL_RO"):
                try:
                    got.append(c.execute_command(cmd, script, 0))
                except redis.ResponseError as e:
                    got.append(("error", str(e).split(" script: ")[0]))
        assert c.execute_command("FUNCTION", "LOAD", PING_LIB) == "pinglib"
        got.append(c.execute_command("FCALL", "pong", 0, "hi"))
        got.append(c.execute_command("FCALL_RO", "pong", 0, "hi"))
        got.append(c.execute_command("GET", "pinged"))
        c.execute_command("FUNCTION", "FLUSH")
        c.close()
        answers[port] = got
    assert answers[server.port] == answers[redis_ref.port]
    assert answers[server.port][:2] == ["PONG", "PONG"]
    assert answers[server.port][-3] == ["PONG", "hi", "hi"]


def test_function_load_and_call(x):
    assert x.execute_command("FUNCTION", "LOAD", LIB) == "mylib"
    assert err(x, "FUNCTION", "LOAD", LIB) == "ERR Library 'mylib' already exists"
    assert x.execute_command("FCALL", "setit", 1, "k", "v1") == "OK"
    assert x.execute_command("FCALL_RO", "getit", 1, "k") == "v1"
    assert x.execute_command("FCALL", "getit", 1, "k") == "v1"
    assert err(x, "FCALL_RO", "setit", 1, "k", "v") == \
        "ERR Can not execute a script with write flag using *_ro command."
    assert err(x, "FCALL", "nope", 0) == "ERR Function not found"
    assert err(x, "FCALL", "setit", -1) == "ERR Number of keys can't be negative"
    assert err(x, "FCALL", "setit", 3, "a") == \
        "ERR Number of keys can't be greater than number of args"


def test_function_load_errors_as_redis_gives_them(x):
    x.execute_command("FUNCTION", "LOAD", LIB)
    cases = {
        "return 1": "ERR Missing library metadata",
        "#!js name=x\nreturn 1": "ERR Engine 'js' not found",
        "#!lua name=x\nreturn 1": "ERR No functions registered",
        "#!lua name=x foo=bar\nreturn 1": "ERR Invalid metadata value given: foo=bar",
        "#!lua\nreturn 1": "ERR Library name was not given",
        "#!lua name=x\nredis.register_function('setit', function() return 1 end)":
            "ERR Function setit already exists",
        "#!lua name=x\nredis.call('set','a','b')":
            "ERR Error registering functions: ERR user_function:2: "
            "Script attempted to access nonexistent global variable 'call'",
        "#!lua name=x\nsyntax error here":
            "ERR Error compiling function: user_function:2: '=' expected near 'error'",
        "#!lua name=x\nfoo = 1":
            "ERR Error registering functions: ERR user_function:2: "
            "Attempt to modify a readonly table",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, "
        "flags={'bogus'}}": "ERR Error registering functions: ERR unknown flag given",
    }
    for code, message in cases.items():
        assert err(x, "FUNCTION", "LOAD", code) == message, code
    # Nothing of the failed loads stayed behind.
    assert [lib[1] for lib in x.execute_command("FUNCTION", "LIST")] == ["mylib"]


def test_function_errors_name_the_function_and_line(x):
    x.execute_command("FUNCTION", "LOAD", "#!lua name=e\n"
                      "redis.register_function('incr_it', function(k, a)\n"
                      "  return redis.call('incr', k[1]) end)\n"
                      "redis.register_function('fail', function(k, a) error('x') end)\n"
                      "redis.register_function('leak', function(k, a) os = 1 end)")
    x.execute_command("SET", "s", "abc")
    assert err(x, "FCALL", "incr_it", 1, "s") == \
        "ERR value is not an integer or out of range script: incr_it, on @user_function:3."
    assert err(x, "FCALL", "fail", 0) == "ERR user_function:4: x script: fail, on @user_function:4."
    assert err(x, "FCALL", "leak", 0).startswith(
        "ERR user_function:5: Attempt to modify a readonly table")


def test_library_locals_and_both_parameters(x):
    x.execute_command("FUNCTION", "LOAD", "#!lua name=e3\n"
                      "local function helper(n) return n * 2 end\n"
                      "redis.register_function{function_name='dbl', callback=function(k, a)\n"
                      "  return helper(tonumber(a[1])) + #k end}")
    assert x.execute_command("FCALL", "dbl", 2, "a", "b", 21) == 44


def test_replace_swaps_functions_and_a_failed_replace_changes_nothing(x):
    x.execute_command("FUNCTION", "LOAD", LIB)
    assert x.execute_command("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\n"
                             "redis.register_function('f2', function(k, a) return a[1] end)") == \
        "mylib"
    assert err(x, "FCALL", "setit", 1, "k", "v") == "ERR Function not found"
    assert x.execute_command("FCALL", "f2", 0, "hello") == "hello"
    assert err(x, "FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nerror('boom')") == \
        "ERR Error registering functions: ERR user_function:2: boom"
    assert x.execute_command("FCALL", "f2", 0, "still") == "still"


def test_list_delete_flush_stats(x):
    x.execute_command("FUNCTION", "LOAD", LIB)
    x.execute_command("FUNCTION", "LOAD", "#!lua name=other\n"
                      "redis.register_function('o', function() return 1 end)")
    libs = {lib[1]: lib for lib in x.execute_command("FUNCTION", "LIST")}
    assert set(libs) == {"mylib", "other"}
    mylib = libs["mylib"]
    assert mylib[:4] == ["library_name", "mylib", "engine", "LUA"]
    functions = {f[1]: f for f in mylib[5]}
    assert functions["getit"] == ["name", "getit", "description", "reads", "flags", ["no-writes"]]
    assert functions["setit"] == ["name", "setit", "description", None, "flags", []]
    only = x.execute_command("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "my*")
    assert len(only) == 1 and only[0][6:] == ["library_code", LIB]
    assert x.execute_command("FUNCTION", "STATS") == \
        ["running_script", None, "engines",
         ["LUA", ["libraries_count", 2, "functions_count", 3]]]
    assert err(x, "FUNCTION", "DELETE", "nope") == "ERR Library not found"
    assert x.execute_command("FUNCTION", "DELETE", "other") == "OK"
    assert err(x, "FCALL", "o", 0) == "ERR Function not found"
    assert x.execute_command("FUNCTION", "FLUSH") == "OK"
    assert x.execute_command("FUNCTION", "LIST") == []
    assert err(x, "FCALL", "setit", 1, "k", "v") == "ERR Function not found"
    assert err(x, "FUNCTION", "KILL") == "NOTBUSY No scripts in execution right now."


def test_dump_and_restore_policies(x, server):
    x.execute_command("FUNCTION", "LOAD", LIB)
    payload = exact_client(server, decode=False).execute_command("FUNCTION", "DUMP")
    assert err(x, "FUNCTION", "RESTORE", payload) == "ERR Library mylib already exists"
    assert err(x, "FUNCTION", "RESTORE", payload[:-1] + b"x") == \
        "ERR payload version or checksum are wrong"
    assert x.execute_command("FUNCTION", "RESTORE", payload, "REPLACE") == "OK"
    x.execute_command("FUNCTION", "LOAD", "#!lua name=other\n"
                      "redis.register_function('o', function() return 1 end)")
    assert x.execute_command("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert [lib[1] for lib in x.execute_command("FUNCTION", "LIST")] == ["mylib"]
    assert err(x, "FCALL", "o", 0) == "ERR Function not found"
    x.execute_command("FUNCTION", "FLUSH")
    assert x.execute_command("FUNCTION", "RESTORE", payload) == "OK"
    assert x.execute_command("FCALL", "setit", 1, "k", "restored") == "OK"
    assert x.execute_command("GET", "k") == "restored"


def payload_of(*libraries):
    """A FUNCTION DUMP payload holding these library codes, in this order."""
    body = b"PRLYFN1" + struct.pack("<I", len(libraries))
    for code in libraries:
        body += struct.pack("<I", len(code)) + code.encode()
    return body + struct.pack("<I", zlib.crc32(body))


def test_a_restore_that_fails_part_way_changes_nothing(x):
    x.execute_command("FUNCTION", "LOAD", "#!lua name=c\n"
                      "redis.register_function('fb', function() return 'c' end)")
    payload = payload_of("#!lua name=a\nredis.register_function('fa', function() return 'a' end)",
                         "#!lua name=b\nredis.register_function('fb', function() return 'b' end)")
    for policy in ("APPEND", "REPLACE"):
        assert err(x, "FUNCTION", "RESTORE", payload, policy) == "ERR Function fb already exists"
        assert [lib[1] for lib in x.execute_command("FUNCTION", "LIST")] == ["c"]
        assert err(x, "FCALL", "fa", 0) == "ERR Function not found"
        assert x.execute_command("FCALL", "fb", 0) == "c"
    assert x.execute_command("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
    assert sorted(lib[1] for lib in x.execute_command("FUNCTION", "LIST")) == ["a", "b"]
    assert x.execute_command("FCALL", "fb", 0) == "b"


# ---------------------------------------------------------------- replication

def test_scripts_and_functions_reach_every_node(cluster):
    leader = cluster.leader()
    lc = exact_client(leader)
    sha = lc.execute_command("SCRIPT", "LOAD", "return redis.call('incr', KEYS[1])")
    lc.execute_command("FUNCTION", "LOAD", "REPLACE", LIB)
    for node in cluster.followers():
        c = exact_client(node)
        # EVALSHA and FCALL on a follower: forwarded, committed, answered.
        assert c.execute_command("EVALSHA", sha, 1, f"n{node.node_id}") == 1
        assert c.execute_command("FCALL", "setit", 1, f"f{node.node_id}", "v") == "OK"
        # Read-only calls run on the follower itself and see the library.
        assert c.execute_command("FCALL_RO", "getit", 1, f"f{node.node_id}") == "v"
        c.close()
    cluster.wait_converged()


def test_random_in_a_write_script_is_the_same_on_every_node(cluster):
    c = exact_client(cluster.leader())
    script = ("local t = {} for i = 1, 5 do t[i] = tostring(math.random()) end "
              "redis.call('set', KEYS[1], table.concat(t, ',')) return 1")
    for i in range(5):
        c.execute_command("EVAL", script, 1, f"rnd{i}")
    values = {c.execute_command("GET", f"rnd{i}") for i in range(5)}
    assert len(values) == 5  # fresh numbers for each run ...
    cluster.wait_converged()  # ... and identical stores on every node


def test_scripts_and_libraries_survive_restart_and_snapshot(make_node):
    node = make_node(extra=["--raft-snapshot-threshold", "64", "--raft-snapshot-trailing", "16"])
    node.start()
    wait_writable(node)
    c = exact_client(node)
    sha = c.execute_command("SCRIPT", "LOAD", "return 'cached'")
    c.execute_command("FUNCTION", "LOAD", LIB)
    for i in range(200):  # past the snapshot threshold
        c.execute_command("SET", f"pad{i}", i)
    c.execute_command("FUNCTION", "LOAD", "#!lua name=late\n"
                      "redis.register_function('late', function() return 'after snapshot' end)")
    c.close()
    assert node.stop() == 0
    node.start()
    wait_writable(node)
    c = exact_client(node)
    assert c.execute_command("EVALSHA", sha, 0) == "cached"
    assert c.execute_command("FCALL", "setit", 1, "k", "v") == "OK"
    assert c.execute_command("FCALL", "late", 0) == "after snapshot"


def test_functions_survive_leader_failover(make_cluster):
    cluster = make_cluster().start()
    leader = cluster.leader()
    exact_client(leader).execute_command("FUNCTION", "LOAD", LIB)
    leader.kill()
    new = cluster.wait_leader(15, exclude=[leader])
    c = exact_client(new)
    assert c.execute_command("FCALL", "setit", 1, "k", "after") == "OK"
    assert c.execute_command("FCALL_RO", "getit", 1, "k") == "after"
    leader.start()
    cluster.wait_converged(30)


# ---------------------------------------------------------------- redis-py Lock

def test_redis_py_lock_acquire_extend_reacquire_release(r, server):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert lock.owned() and lock.locked()
    assert 0 < r.pttl("resource") <= 5000
    assert lock.extend(10)
    assert 5000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    assert 0 < r.pttl("resource") <= 5000
    other = server.client().lock("resource", timeout=5)
    assert not other.acquire(blocking=False)
    other.local.token = b"not-the-owner"  # as if its own hold had expired
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.release()
    other.local.token = b"not-the-owner"
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.extend(10)
    other.local.token = None
    lock.release()
    assert not lock.locked()
    assert other.acquire(blocking=False)
    other.release()


def test_redis_py_lock_blocks_a_second_client_until_release(r, server):
    holder = r.lock("job-lock", timeout=30)
    assert holder.acquire(blocking=False)
    acquired = threading.Event()

    def waiter():
        lock = server.client().lock("job-lock", timeout=30, sleep=0.02)
        if lock.acquire(blocking_timeout=20):
            acquired.set()
            lock.release()

    t = threading.Thread(target=waiter)
    t.start()
    # The waiter is polling; while the lock is held it must not get it.
    wait_until(lambda: r.get("job-lock") is not None, 5)
    assert not acquired.is_set()
    holder.release()
    t.join(25)
    assert acquired.is_set()


def test_lock_held_across_leader_failover(make_cluster):
    cluster = make_cluster().start()
    leader = cluster.leader()
    follower = cluster.followers()[0]
    owner = follower.client().lock("leader-election", timeout=60)
    assert owner.acquire(blocking=False)
    leader.kill()
    new = cluster.wait_leader(15, exclude=[leader])
    rival = new.client().lock("leader-election", timeout=60)
    assert not rival.acquire(blocking=False)
    assert owner.owned()
    owner.release()
    assert rival.acquire(blocking=False)
    rival.release()
    leader.start()
    cluster.wait_converged(30)


REGISTER_MISUSES = [
    "redis.register_function()",
    "redis.register_function('f')",
    "redis.register_function('f', 1)",
    "redis.register_function({}, function() end)",
    "redis.register_function('f', function() end, 3)",
    "redis.register_function{}",
    "redis.register_function{function_name='f'}",
    "redis.register_function{callback=function() end}",
    "redis.register_function{function_name='f', callback=1}",
    "redis.register_function{function_name={}, callback=function() end}",
    "redis.register_function{function_name='f', callback=function() end, flags=1}",
    "redis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
    "redis.register_function{function_name='f', callback=function() end, description={}}",
    "redis.register_function{function_name='f', callback=function() end, foo=1}",
    "redis.register_function{[1]='f'}",
    "redis.register_function('f-x', function() end)",
    "redis.register_function('', function() end)",
    "redis.register_function('f', function() end) redis.register_function('f', function() end)",
    "redis.register_function(1, function() end)",
    "redis.register_function{function_name='g', callback=function() end, flags={'no-writes'}, description='d'}",
]


@pytest.mark.parametrize("body", REGISTER_MISUSES)
def test_register_function_misuse_is_answered_as_redis_answers_it(server, redis_ref, body):
    code = "#!lua name=reglib\n" + body
    answers = []
    for c in (exact_client(server), exact_client(redis_ref)):
        c.execute_command("FUNCTION", "FLUSH")
        try:
            answers.append(c.execute_command("FUNCTION", "LOAD", code))
        except redis.ResponseError as e:
            answers.append(str(e))
    assert answers[0] == answers[1]
