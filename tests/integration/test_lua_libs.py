"""The libraries Redis 7.0 bundles with its Lua (cjson, cmsgpack, bit,
struct): each script below runs on Parley and on a reference redis-server
7.0, and the replies (values or error texts) must be the same. Then what
only Parley promises: the sandbox's limits hold inside these libraries
(hostile input fails cleanly, memory and work are capped), the library
tables are read-only, and results are the same on every node."""
import pytest
import redis

from conftest import wait_until
from exact import exact_client

# Scripts whose replies must match Redis 7.0 byte for byte.
SAME_AS_REDIS = [
    # cjson: round trips and shapes
    "return cjson.encode({1, 2, 3, {a = 1}})",
    "return cjson.encode({})",
    "return cjson.encode({{}, {{}}})",
    "return cjson.encode('a\\0b\\1\\127\\255/\"\\\\\\n')",
    "return cjson.encode({1e15, 123456789012345678, -0.5, 0.1, 1/3, 100, -7, 2^53})",
    "return cjson.encode({a = cjson.null})",
    "return cjson.encode(true)",
    "return cjson.encode({[1] = 1, [2] = 2, [4] = 4})",
    "return cjson.encode(cjson.decode('{\"a\":\"\\\\u00e9\\\\n\\\\ud83d\\\\ude00/\"}'))",
    "return cjson.decode('[1,2,{\"a\":[true,false,null]}]')[3].a[2]",
    "return cjson.decode('\"a\\\\u0000b\"')",
    "return cjson.decode('  -12.5e1 ')",
    "return cjson.decode('[1,2,3]')[3] + cjson.decode('{\"x\":40}').x",
    "return tostring(cjson.decode('null') == cjson.null)",
    "return {tostring(cjson.null), type(cjson.null)}",
    "return cjson.encode(cjson.decode('[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]'))",
    # cjson: errors
    "return cjson.decode('[1,2')",
    "return cjson.decode('')",
    "return cjson.decode('nul')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('{1:2}')",
    "return cjson.encode({[1] = 1, [100] = 2})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode(1/0)",
    "return cjson.encode(redis.call)",
    "return cjson.encode(1, 2)",
    "local e = cjson.encode return e()",
    "return {pcall(cjson.decode, '{')}",
    "local t = {} local c = t for i = 1, 1100 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "return cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100))",
    # cjson: settings, and the instances cjson.new makes
    "local c = cjson.new() c.encode_max_depth(2) "
    "return {select(2, pcall(c.encode, {{{1}}})), cjson.encode({{{1}}})}",
    "cjson.encode_sparse_array(true) return cjson.encode({[1] = 1, [5] = 5})",
    "cjson.encode_number_precision(3) return cjson.encode({0.123456})",
    "cjson.encode = 1",
    "return {cjson._NAME, cjson._VERSION}",
    # cmsgpack
    "return cmsgpack.pack(string.rep('a', 40), 1.5, 0.1, -1, -33, 200, 70000, 5000000000, "
    "-5000000000, true, false, nil, {}, {1, 2, nil, 4}, 2^63, -2^63, -0.0, 'x\\0y')",
    "return cmsgpack.pack(string.rep('b', 300), string.rep('c', 70000))",
    "return {cmsgpack.unpack(cmsgpack.pack({a = {1, 2, {b = 'x'}}, [1.5] = true}))}",
    "return cjson.encode({cmsgpack.unpack(cmsgpack.pack({1, {2, {3}}, 'x\\0y', -5, 2.25}))})",
    "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
    "local a = {} for d = 1, 40 do a = {a, a} end return #cmsgpack.pack(a)",
    "return {cmsgpack.unpack('')}",
    "return cmsgpack.pack()",
    "return {cmsgpack.unpack(string.char(0xc1))}",
    "return {cmsgpack.unpack(string.char(0xc4, 1, 65))}",
    "return {cmsgpack.unpack(string.char(0x92, 1))}",
    "return {cmsgpack.unpack(string.char(0xdd, 0xff, 0xff, 0xff, 0xff))}",
    "return {cmsgpack.unpack(string.rep(string.char(0x91), 100000) .. string.char(1))}",
    "return #{cmsgpack.unpack(string.rep(string.char(1), 10000))}",
    "return {cmsgpack.unpack(string.char(0x81, 0xc0, 1))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 5)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), -1)}",
    "return cmsgpack.unpack(5)",
    "cmsgpack.pack = 1",
    "return {cmsgpack._NAME, cmsgpack._VERSION}",
    # bit
    "return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(5, 3), bit.bnot(0), "
    "bit.lshift(1, 40), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), "
    "bit.ror(1, 1), bit.bswap(0x12345678), bit.tobit(2^32 + 5)}",
    "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 100)}",
    "return bit.band('x')",
    "bit.band = 1",
    # struct
    "return struct.pack('>i2Bc0s', -2, 255, 'ab', 'x\\0y')",
    "return {struct.unpack('<i4', struct.pack('<i4', -123456))}",
    "return {struct.unpack('>hHlLbBdf', struct.pack('>hHlLbBdf', -3, 65535, -5, 7, -1, 1, 0.1, 0.5))}",
    "return {struct.unpack('Bc0', string.char(3) .. 'abcd')}",
    "return {struct.unpack('s', 'ab\\0cd')}",
    "return {struct.unpack('i4', 'abcdef', 3)}",
    "return struct.pack('!4bi8d', 1, 2, 3)",
    "return struct.size('!4bi8d')",
    "return struct.pack('i16I3', -1, 70000)",
    "return {struct.unpack('i33', 'x')}",
    "return {struct.pack('!0bi', 1, 2)}",
    "return {struct.pack('!3i', 1)}",
    "return {struct.pack('c99999999999', 'a')}",
    "return {struct.pack('c9', 'a')}",
    "return {struct.pack('y', 'a')}",
    "return {struct.unpack('i4', 'ab')}",
    "return {struct.unpack('s', 'ab')}",
    "return {struct.unpack('c0', 'ab')}",
    "return {struct.unpack('i4', 'abcd', 0)}",
    "return struct.size('s')",
    "struct.x = 1",
]


def reply(client, script):
    try:
        return client.execute_command("EVAL", script, 0)
    except redis.ResponseError as e:
        return ("error", str(e))


@pytest.fixture(scope="module")
def both(server, redis_ref):
    mine = exact_client(server, decode=False)
    ref = exact_client(redis_ref, decode=False)
    yield mine, ref
    mine.close()
    ref.close()


@pytest.mark.parametrize("script", SAME_AS_REDIS)
def test_library_replies_match_redis(both, script):
    mine, ref = both
    assert reply(mine, script) == reply(ref, script)
    if "_depth(" in script or "encode_sparse_array(" in script or "_precision(" in script:
        # Redis keeps cjson's settings until its Lua state is made anew;
        # Parley's last one run (test_settings_last_one_run).
        ref.execute_command("SCRIPT", "FLUSH")


def test_libraries_in_functions(server):
    c = exact_client(server)
    c.execute_command("FUNCTION", "LOAD", "REPLACE", """#!lua name=libs
redis.register_function('codec', function(keys, args)
  local t = cmsgpack.unpack(args[1])
  t.n = bit.band(t.n, 0xff)
  return {cjson.encode(t), struct.pack('>I2', t.n)}
end)""")
    import struct as pystruct
    packed = bytes([0x81, 0xa1, ord("n"), 0xcd, 0x12, 0x34])
    assert c.execute_command("FCALL", "codec", 0, packed) == ['{"n":52}', pystruct.pack(">H", 52).decode()]


# ------------------------------------------------- the sandbox's limits inside

def test_huge_outputs_are_stopped_while_they_grow(server):
    c = exact_client(server)
    big = ("local s = string.rep('x', 1000000) local t = {} "
           "for i = 1, 300 do t[i] = s end ")
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", big + "return #cjson.encode(t)", 0)
    assert str(e.value).startswith("BUSY")
    # pcall cannot catch that stop.
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", big + "local ok, m = pcall(cjson.encode, t) return m", 0)
    assert str(e.value).startswith("BUSY")
    # Shared subtables: the output doubles with each level.
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", "local a = {} for d = 1, 40 do a = {a, a} end "
                          "return #cjson.encode(a)", 0)
    assert str(e.value).startswith("BUSY")
    # Encoding the same table again and again pays for each output.
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", "local t = {string.rep('x', 100000)} "
                          "for i = 1, 1000 do cjson.encode(t) end", 0)
    assert str(e.value).startswith("BUSY")
    # Below the budget, a few megabytes are fine.
    assert c.execute_command("EVAL", "local t = {} for i = 1, 2 do t[i] = string.rep('y', 1000000) "
                             "end return #cjson.decode(cjson.encode(t))", 0) == 2
    assert c.execute_command("PING") == "PONG"


def test_memory_errors_inside_cjson_are_lua_memory_errors(server):
    c = exact_client(server)
    # Strings near the cap leave cjson no room for its output.
    script = ("local chunk = string.rep('x', 1024) local keep = {} "
              "for i = 1, 150 do keep[i] = string.rep(chunk .. i, 1020) end "
              "local t = {string.rep('y', 2000000)} "
              "local ok, m = pcall(cjson.encode, t) return {tostring(ok), m}")
    assert c.execute_command("EVAL", script, 0) == ["false", "not enough memory"]


def test_hostile_depth_settings_stay_bounded(server):
    c = exact_client(server)
    deep = ("cjson.encode_max_depth(100000) local t = {} local c = t "
            "for i = 1, 100000 do c[1] = {} c = c[1] end return #cjson.encode(t)")
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", deep, 0)
    assert "excessive nesting" in str(e.value)
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", "cjson.decode_max_depth(100000) return "
                          "#cjson.decode(string.rep('[', 100000) .. string.rep(']', 100000))", 0)
    assert "too many nested data structures" in str(e.value)
    # Claimed lengths cost nothing until their elements are read.
    for claim in ("0xdd, 0xff, 0xff, 0xff, 0xff", "0xdf, 0xff, 0xff, 0xff, 0xff",
                  "0xdb, 0xff, 0xff, 0xff, 0xff"):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("EVAL", f"return cmsgpack.unpack(string.char({claim}))", 0)
        assert "Missing bytes in input." in str(e.value)


def test_settings_last_one_run(server):
    c = exact_client(server)
    assert c.execute_command("EVAL", "cjson.encode_number_precision(2) "
                             "return cjson.encode(0.123)", 0) == "0.12"
    assert c.execute_command("EVAL", "return cjson.encode(0.123)", 0) == "0.123"


def test_endless_work_in_a_library_loop_is_killed(server):
    c = exact_client(server)
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("EVAL", "local s = cmsgpack.pack(string.rep('x', 100000)) "
                          "while true do cmsgpack.unpack(s) cjson.decode('[1,2,3]') end", 0)
    assert str(e.value).startswith("BUSY")


def test_same_results_on_every_node(cluster):
    leader = cluster.leader()
    c = exact_client(leader)
    script = ("local t = cjson.decode(ARGV[1]) t.extra = {1, 2, 3} "
              "local m = cmsgpack.pack(t) "
              "redis.call('SET', KEYS[1], cjson.encode(cmsgpack.unpack(m))) "
              "redis.call('SET', KEYS[2], m) return 1")
    c.execute_command("EVAL", script, 2, "j", "m", '{"b":2,"a":1,"c":[true,null,"x"]}')
    want = (c.execute_command("GET", "j"), exact_client(leader, decode=False).execute_command("GET", "m"))
    for node in cluster.nodes:
        r = node.client()
        wait_until(lambda: r.execute_command("READONLY") and r.get("j") is not None, 10,
                   message="the write to reach every node")
        raw = exact_client(node, decode=False)
        raw.execute_command("READONLY")
        assert raw.execute_command("GET", "j").decode() == want[0]
        assert raw.execute_command("GET", "m") == want[1]
