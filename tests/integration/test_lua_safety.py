"""No script can break the cluster: every case the issue "No client can
break the cluster" lists for Lua, sent as a client would, on a single node
and (for divergence) on three. A script is applied from the Raft log on
every node and again at every restart, so each test restarts the node(s)
afterwards and checks that they come back, answer, and still hold the data.

What is checked: globals and library tables stay read-only (rawset,
setmetatable, table.insert included) and nothing a script does is seen by
the next one; precompiled bytecode is refused; the work budget stops
infinite loops, runaway patterns, huge string.rep and recursive replies,
and pcall/xpcall/coroutines cannot catch it, FUNCTION LOAD included; the
memory cap; redis.log cannot flood the log; and replicas running scripts
that look at addresses, table order or the garbage collector stay equal."""
import re

import pytest

from conftest import Node, wait_until, wait_writable
from exact import err, exact_client


@pytest.fixture
def node(tmp_path):
    # One node a test: the restart after it (x) replays only that test's
    # writes, not every budget-long script of the tests before it.
    n = Node(str(tmp_path)).start()
    wait_writable(n)
    yield n
    code = n.stop()
    assert code == 0, f"server exited with {code}:\n{n.log_tail()}"


@pytest.fixture
def x(node):
    """A client on the node; after the test the node is restarted (it
    replays what the test wrote) and must come back with the data."""
    c = exact_client(node)
    c.execute_command("FLUSHALL")
    c.execute_command("FUNCTION", "FLUSH")
    c.execute_command("SET", "canary", "alive")
    yield c
    c.close()
    assert node.alive(), "the node died:\n" + node.log_tail()
    node.client().delete("__ready")
    before = node.client().execute_command("RAFT", "DIGEST")
    code = node.stop()
    assert code == 0, f"node exited with {code}:\n{node.log_tail()}"
    node.start()
    wait_writable(node)
    c = node.client()
    c.delete("__ready")
    assert c.get("canary") == "alive"
    # Everything the test left is there again, byte for byte.
    assert c.execute_command("RAFT", "DIGEST")[1] == before[1]


def busy(e):
    return e.startswith("BUSY script stopped after spending its work budget")


# ---------------------------------------------------------------- the table of the issue

def test_returning_the_globals_table_answers_and_does_not_crash(x):
    assert x.execute_command("EVAL", "return _G", 0) == []
    assert x.execute_command("EVAL", "return {_G, string, redis}", 0) == [[], [], []]
    assert x.execute_command("PING") == "PONG"


def test_bytecode_is_refused_everywhere(x, node):
    # loadstring and load read a binary chunk as text, as Redis's Lua does.
    e = err(x, "EVAL", "return loadstring(string.dump(function() return 42 end))()", 0)
    assert "attempt to call a nil value" in e, e
    ok, msg = x.execute_command(
        "EVAL", "local f, e = loadstring(string.dump(function() return 42 end)) "
                "return {tostring(f), e}", 0)
    assert ok == "nil" and "unexpected symbol" in msg, msg
    msg = x.execute_command(
        "EVAL", "local s = string.dump(function() return 42 end) local done = false "
                "local f, e = load(function() if done then return nil end done = true "
                "return s end) return e", 0)
    assert "unexpected symbol" in msg, msg
    # A script body that is bytecode does not compile.
    raw = exact_client(node, decode=False)
    dumped = raw.execute_command("EVAL", "return string.dump(function() return 42 end)", 0)
    assert dumped.startswith(b"\x1bLua")
    assert err(raw, "EVAL", dumped, 0).startswith(
        "ERR Error compiling script (new function): user_script:1: unexpected symbol")
    # Source text still loads.
    assert x.execute_command("EVAL", "return loadstring('return 6 * 7')()", 0) == 42


@pytest.mark.parametrize("catcher", [
    "pcall(function() while true do end end)",
    "xpcall(function() while true do end end, function() return 'handled' end)",
    "while true do pcall(function() while true do end end) end",
    "coroutine.resume(coroutine.create(function() while true do end end))",
    "coroutine.wrap(function() while true do pcall(error) end end)()",
    "pcall(pcall, function() while true do end end)",
])
def test_the_budget_cannot_be_caught(x, catcher):
    e = err(x, "EVAL", "redis.call('set', 'before', '1') " + catcher + " return 'escaped'", 0)
    assert busy(e), e
    # As in Redis, writes made before the stop are kept (on every node).
    assert x.execute_command("GET", "before") == "1"
    assert x.execute_command("PING") == "PONG"


def test_function_load_of_an_endless_library_fails_and_changes_nothing(x):
    e = err(x, "FUNCTION", "LOAD", "#!lua name=lib\n local a = 1 while 1 do a = a + 1 end")
    assert e.startswith("ERR Error registering functions: FUNCTION LOAD timeout"), e
    assert x.execute_command("FUNCTION", "LIST") == []
    # A library whose function loops is loaded; calling it is stopped.
    x.execute_command("FUNCTION", "LOAD",
                      "#!lua name=spin\nredis.register_function('spin', function() "
                      "while true do end end)")
    assert busy(err(x, "FCALL", "spin", 0))


def test_a_reply_that_references_itself_is_stopped(x):
    # A table that contains itself is too deep, as Redis 7.0 says...
    assert err(x, "EVAL", "local t = {} t[1] = t t[2] = t return t", 0) == \
        "ERR reached lua stack limit"
    assert err(x, "EVAL", "local t = {} t[1] = t return t", 0) == "ERR reached lua stack limit"
    # ...and a shallow one that names a table a billion times costs its
    # elements: the budget stops it.
    assert busy(err(x, "EVAL", "local a = {} for i = 1, 1000 do a[i] = 'x' end "
                               "local b = {} for i = 1, 1000 do b[i] = a end "
                               "local c = {} for i = 1, 1000 do c[i] = b end return c", 0))
    deep = x.execute_command("EVAL", "local t = {} local c = t for i = 1, 50 do "
                                     "c[1] = {} c = c[1] end return t", 0)
    depth = 0
    while isinstance(deep, list) and deep:
        deep, depth = deep[0], depth + 1
    assert depth == 50


def test_long_c_functions_count_against_the_budget(x):
    # string.rep of gigabytes, a pattern that backtracks forever, a sort
    # of strings that share a long prefix: each is stopped, none hangs.
    assert busy(err(x, "EVAL", "return #string.rep('x', 2^40)", 0))
    assert busy(err(x, "EVAL", "return string.rep('', 2^50)", 0))
    assert busy(err(x, "EVAL", "local s = string.rep('a', 5000) "
                               "return s:find('.-.-.-.-.-.-.-.-.-.-x')", 0))
    assert busy(err(x, "EVAL", "local s = string.rep('a', 200000) local n = 0 "
                               "for i = 1, 100000 do if s < s .. 'b' then n = n + 1 end end "
                               "return n", 0))
    # The same work on short strings is well within the budget.
    assert x.execute_command("EVAL", "local s = string.rep('a', 100) local n = 0 "
                                     "for i = 1, 100000 do if s < s .. 'b' then n = n + 1 end end "
                                     "return n", 0) == 100000
    assert x.execute_command("EVAL", "return #string.rep('ab', 1000000)", 0) == 2000000


def test_the_memory_cap_is_an_error_not_a_crash(x):
    e = err(x, "EVAL", "local t = {} local s = string.rep('x', 1000000) "
                       "for i = 1, 400 do t[i] = s .. i end return #t", 0)
    assert e.startswith("ERR Error running script: not enough memory (the Lua memory limit is "
                        "256 MB)"), e
    # pcall sees it as Lua's memory error, and the script can go on.
    assert x.execute_command("EVAL", "local ok, e = pcall(function() local t = {} "
                                     "local s = string.rep('x', 1000000) "
                                     "for i = 1, 400 do t[i] = s .. i end end) "
                                     "return {tostring(ok), e}", 0) == \
        ["false", "not enough memory"]


def test_redis_log_cannot_flood_the_disk(x, node):
    before = node.log_text().count("flood-")
    x.execute_command("EVAL", "for i = 1, 5000 do redis.log(redis.LOG_WARNING, 'flood-' .. "
                              "string.rep('y', 10000)) end return 1", 0)
    lines = [l for l in node.log_text().splitlines() if "flood-" in l]
    assert len(lines) - before == 100
    assert max(len(l) for l in lines) < 4300
    assert node.log_text().count("further lines of this run are dropped") >= 1


# ---------------------------------------------------------------- read-only, no leaks

def test_globals_and_libraries_are_truly_read_only(x):
    for code in ["rawset(_G, 'leak', 1)",
                 "string.gsub = nil",
                 "rawset(string, 'gsub', nil)",
                 "table.insert(_G, 1)",
                 "table.insert(string, 'x')",
                 "setmetatable(_G, nil)",
                 "redis.call = nil",
                 "math.random = function() return 4 end"]:
        e = err(x, "EVAL", code, 0)
        assert "Attempt to modify a readonly table" in e, (code, e)
    assert err(x, "EVAL", "getmetatable('').__index.upper = nil", 0)
    assert x.execute_command("EVAL", "return string.upper('ok')", 0) == "OK"
    # Reads see through: rawget, pairs, next, ipairs on the libraries.
    assert x.execute_command("EVAL", "return type(rawget(_G, 'redis'))", 0) == "table"
    assert x.execute_command("EVAL", "local n = 0 for k in pairs(string) do n = n + 1 end "
                                     "return n > 10", 0) == 1


def test_nothing_a_script_does_is_seen_by_the_next(x):
    # A script may change its own environment; the next run starts afresh.
    assert x.execute_command("EVAL", "setfenv(1, {}) return 1", 0) == 1
    assert x.execute_command("EVAL", "return type(redis)", 0) == "table"
    x.execute_command("FUNCTION", "LOAD", "#!lua name=counter\nlocal n = 0\n"
                      "redis.register_function('bump', function() n = n + 1 return n end)")
    # Each FCALL runs the library afresh: a library's locals do not carry
    # state from one call to the next (they would differ after a restart).
    assert [x.execute_command("FCALL", "bump", 0) for _ in range(3)] == [1, 1, 1]


def test_addresses_and_orders_are_the_same_from_run_to_run(x):
    script = ("local t = {} for i = 1, 20 do t[{}] = i end local o = {} "
              "for k, v in pairs(t) do o[#o + 1] = v end "
              "return {tostring({}), tostring(print), table.concat(o, ','), "
              "collectgarbage('count') * 1024}")
    first = x.execute_command("EVAL", script, 0)
    assert re.fullmatch(r"table: 0x[0-9a-f]{8}", first[0]), first
    assert [x.execute_command("EVAL", script, 0) for _ in range(3)] == [first] * 3


# ---------------------------------------------------------------- replicas stay equal

def test_replicas_stay_equal_whatever_the_script_looks_at(make_cluster):
    c = make_cluster().start()
    leader = c.leader()
    follower = c.followers()[0]
    lc = exact_client(leader)
    lc.execute_command("EVAL", "redis.call('set', 'addr', tostring({}) .. tostring(redis.call)) "
                               "local t = {} for i = 1, 50 do t[{}] = i end local o = {} "
                               "for k, v in pairs(t) do o[#o + 1] = v end "
                               "redis.call('set', 'order', table.concat(o, ',')) "
                               "redis.call('set', 'gc', collectgarbage('count')) return 1", 0)
    # A read-only script run locally on a follower tries to leave state behind.
    fc = exact_client(follower)
    fc.execute_command("READONLY")
    e = err(fc, "EVAL_RO", "rawset(_G, 'leak', 1) return 1", 0)
    assert "Attempt to modify a readonly table" in e
    assert "Attempt to modify a readonly table" in err(fc, "EVAL_RO", "string.gsub = nil", 0)
    lc.execute_command("EVAL", "redis.call('set', 'leak', tostring(rawget(_G, 'leak'))) return 1", 0)
    e = err(lc, "EVAL", "string.gsub = function() return 'x' end return 1", 0)
    assert "Attempt to modify a readonly table" in e
    lc.execute_command("EVAL", "redis.call('set', 'gsub', (string.gsub('abc', 'b', 'B'))) "
                               "return 1", 0)
    assert lc.execute_command("MGET", "leak", "gsub") == ["nil", "aBc"]
    c.wait_converged()
    values = {n.node_id: n.client().execute_command("RAFT", "DIGEST") for n in c.nodes}
    assert len({v[1] for v in values.values()}) == 1, values
    # Every node replays the same log after a restart and comes back equal.
    for n in c.nodes:
        assert n.stop() == 0
    for n in c.nodes:
        n.start(wait=False)
    for n in c.nodes:
        n.wait_listening()
    c.wait_leader()
    c.wait_converged()
    assert c.nodes[2].client().get("order") == lc.execute_command("GET", "order")
    c.stop()
