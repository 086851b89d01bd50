/* cmds/lua_cmsgpack.c — the `cmsgpack` library scripts find in Redis 7.0:
 * MessagePack encoding of Lua values (cmsgpack.pack) and decoding
 * (cmsgpack.unpack, unpack_one, unpack_limit), written for Parley.
 *
 * What Redis's library does, and so what this one does:
 *   - pack(v1, v2, ...) concatenates the encodings of its arguments. Numbers
 *     that are integers (and fit 64 bits) take the smallest integer form;
 *     others are a float 32 when that loses nothing, else a float 64.
 *     Strings are str forms (fixstr, str8, str16, str32). A table whose keys
 *     are exactly 1..n is an array (the empty table too), any other a map.
 *     Tables nested deeper than 16 levels, functions and other values
 *     encode as nil.
 *   - unpack(s) returns every value s holds; unpack_one(s [, offset]) and
 *     unpack_limit(s, limit [, offset]) return the offset to continue from
 *     (-1 at the end) and then up to `limit` values.
 *   - bin and ext forms are "Bad data format in input.".
 *
 * Sandbox rules: every table and string is built through the Lua API, so
 * the arena, the memory cap and the budget see them; nothing is sized from
 * a length the input claims (an array of 2^32 elements costs nothing until
 * its elements are read, one input byte at least each); nesting is bounded
 * by Lua's C stack limit (luaL_checkstack), and the work is charged per
 * value and per byte copied. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cmds/lua_sandbox.h"

#define PACK_MAX_NESTING 16
#define BYTES_PER_UNIT 64

/* --------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------ */

/* The output grows in a userdata kept at a fixed stack slot, so values
 * being encoded can be pushed above it, and a failed allocation is Lua's
 * own memory error. A grown copy replaces it; the old one is garbage. */
struct out {
    lua_State *L;
    int slot;
    unsigned char *p;
    size_t len, cap;
};

static void out_reserve(struct out *o, size_t n)
{
    if (o->cap - o->len >= n) return;
    size_t cap = o->cap ? o->cap : 64;
    while (cap - o->len < n) cap *= 2;
    unsigned char *p = lua_newuserdata(o->L, cap);
    if (o->len) memcpy(p, o->p, o->len);
    lua_replace(o->L, o->slot);
    o->p = p;
    o->cap = cap;
}

static void put_bytes(struct out *o, const void *s, size_t n)
{
    out_reserve(o, n);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_be(struct out *o, uint64_t v, int bytes)
{
    out_reserve(o, (size_t)bytes);
    for (int i = bytes - 1; i >= 0; i--) o->p[o->len++] = (unsigned char)(v >> (8 * i));
}

static void put_tag(struct out *o, unsigned tag)
{
    put_be(o, tag, 1);
}

static void pack_integer(struct out *o, int64_t n)
{
    uint64_t u = (uint64_t)n;
    if (n >= 0) {
        if (u <= 0x7f) put_tag(o, (unsigned)u);
        else if (u <= 0xff) put_tag(o, 0xcc), put_be(o, u, 1);
        else if (u <= 0xffff) put_tag(o, 0xcd), put_be(o, u, 2);
        else if (u <= 0xffffffffu) put_tag(o, 0xce), put_be(o, u, 4);
        else put_tag(o, 0xcf), put_be(o, u, 8);
    } else {
        if (n >= -32) put_tag(o, (unsigned)(u & 0xff));
        else if (n >= -128) put_tag(o, 0xd0), put_be(o, u, 1);
        else if (n >= -32768) put_tag(o, 0xd1), put_be(o, u, 2);
        else if (n >= -2147483648ll) put_tag(o, 0xd2), put_be(o, u, 4);
        else put_tag(o, 0xd3), put_be(o, u, 8);
    }
}

static void pack_number(struct out *o, lua_Number d)
{
    /* An integer that fits int64 (2^63 does not). */
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && floor(d) == d) {
        pack_integer(o, (int64_t)d);
        return;
    }
    float f = (float)d;
    if ((double)f == d) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        put_tag(o, 0xca);
        put_be(o, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        put_tag(o, 0xcb);
        put_be(o, bits, 8);
    }
}

/* A length header: the fix form up to fix_max, then 16 and 32 bits (with
 * an 8-bit form t8 between fix and 16 when there is one). */
static void pack_header(struct out *o, size_t n, unsigned fix, size_t fix_max, unsigned t8,
                        unsigned t16, unsigned t32)
{
    if (n <= fix_max) put_tag(o, fix | (unsigned)n);
    else if (t8 && n <= 0xff) put_tag(o, t8), put_be(o, n, 1);
    else if (n <= 0xffff) put_tag(o, t16), put_be(o, n, 2);
    else put_tag(o, t32), put_be(o, n, 4);
}

/* True if the table on top has exactly the keys 1..n (or none). */
static bool is_array(lua_State *L)
{
    lua_Number max = 0, count = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_Number n;
        if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 || floor(n) != n) {
            lua_pop(L, 1);
            return false;
        }
        if (n > max) max = n;
        count++;
    }
    return max == count;
}

static void pack_value(struct out *o, int level);

/* The table on top of the stack (left there). */
static void pack_table(struct out *o, int level)
{
    lua_State *L = o->L;
    luaL_checkstack(L, 3, "in function mp_encode_lua_table");
    if (is_array(L)) {
        size_t n = lua_objlen(L, -1);
        pack_header(o, n, 0x90, 15, 0, 0xdc, 0xdd);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (int)i);
            pack_value(o, level + 1);
        }
        return;
    }
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        n++;
    }
    sandbox_charge(L, n);
    pack_header(o, n, 0x80, 15, 0, 0xde, 0xdf);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        pack_value(o, level + 1); /* the key */
        pack_value(o, level + 1); /* the value */
    }
}

/* Encodes the value on top of the stack and pops it. */
static void pack_value(struct out *o, int level)
{
    lua_State *L = o->L;
    sandbox_charge(L, 1);
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level >= PACK_MAX_NESTING) t = LUA_TNIL;
    switch (t) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        sandbox_charge(L, len / BYTES_PER_UNIT);
        pack_header(o, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
        put_bytes(o, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        put_tag(o, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
        break;
    case LUA_TNUMBER:
        pack_number(o, lua_tonumber(L, -1));
        break;
    case LUA_TTABLE:
        pack_table(o, level);
        break;
    default:
        put_tag(o, 0xc0);
        break;
    }
    lua_pop(L, 1);
}

/* --------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------ */

enum { CUR_OK, CUR_EOF, CUR_BADFMT };

struct cursor {
    const unsigned char *p;
    size_t left;
    int err;
};

static bool need(struct cursor *c, size_t n)
{
    if (c->left < n) {
        c->err = CUR_EOF;
        return false;
    }
    return true;
}

static uint64_t get_be(struct cursor *c, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | c->p[i];
    c->p += bytes;
    c->left -= (size_t)bytes;
    return v;
}

static void unpack_value(lua_State *L, struct cursor *c);

static void unpack_string(lua_State *L, struct cursor *c, size_t len)
{
    if (!need(c, len)) {
        lua_pushnil(L);
        return;
    }
    sandbox_charge(L, len / BYTES_PER_UNIT);
    lua_pushlstring(L, (const char *)c->p, len);
    c->p += len;
    c->left -= len;
}

static void unpack_array(lua_State *L, struct cursor *c, uint64_t n)
{
    luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    lua_newtable(L);
    for (uint64_t i = 1; i <= n && c->err == CUR_OK; i++) {
        unpack_value(L, c);
        if (c->err != CUR_OK) {
            lua_pop(L, 1);
            break;
        }
        lua_rawseti(L, -2, (int)i);
    }
}

static void unpack_map(lua_State *L, struct cursor *c, uint64_t n)
{
    luaL_checkstack(L, 3, "in function mp_decode_to_lua_hash");
    lua_newtable(L);
    for (uint64_t i = 0; i < n && c->err == CUR_OK; i++) {
        unpack_value(L, c);
        if (c->err != CUR_OK) {
            lua_pop(L, 1);
            break;
        }
        unpack_value(L, c);
        if (c->err != CUR_OK) {
            lua_pop(L, 2);
            break;
        }
        lua_settable(L, -3);
    }
}

/* Pushes one value (nil after an error, with c->err set). */
static void unpack_value(lua_State *L, struct cursor *c)
{
    sandbox_charge(L, 1);
    if (!need(c, 1)) {
        lua_pushnil(L);
        return;
    }
    unsigned tag = get_be(c, 1);
    if (tag <= 0x7f) {
        lua_pushnumber(L, tag);
        return;
    }
    if (tag >= 0xe0) {
        lua_pushnumber(L, (int)tag - 256);
        return;
    }
    if ((tag & 0xe0) == 0xa0) {
        unpack_string(L, c, tag & 0x1f);
        return;
    }
    if ((tag & 0xf0) == 0x90) {
        unpack_array(L, c, tag & 0x0f);
        return;
    }
    if ((tag & 0xf0) == 0x80) {
        unpack_map(L, c, tag & 0x0f);
        return;
    }
    static const int width[] = {
        [0xcc] = 1, [0xcd] = 2, [0xce] = 4, [0xcf] = 8, [0xd0] = 1, [0xd1] = 2, [0xd2] = 4,
        [0xd3] = 8, [0xca] = 4, [0xcb] = 8, [0xd9] = 1, [0xda] = 2, [0xdb] = 4, [0xdc] = 2,
        [0xdd] = 4, [0xde] = 2, [0xdf] = 4,
    };
    if (tag == 0xc0 || tag == 0xc2 || tag == 0xc3) {
        if (tag == 0xc0) lua_pushnil(L);
        else lua_pushboolean(L, tag == 0xc3);
        return;
    }
    int w = tag < sizeof width / sizeof width[0] ? width[tag] : 0;
    if (w == 0) {
        c->err = CUR_BADFMT;
        lua_pushnil(L);
        return;
    }
    if (!need(c, (size_t)w)) {
        lua_pushnil(L);
        return;
    }
    uint64_t v = get_be(c, w);
    switch (tag) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        lua_pushnumber(L, (lua_Number)v);
        break;
    case 0xd0:
        lua_pushnumber(L, (int8_t)v);
        break;
    case 0xd1:
        lua_pushnumber(L, (int16_t)v);
        break;
    case 0xd2:
        lua_pushnumber(L, (int32_t)v);
        break;
    case 0xd3:
        lua_pushnumber(L, (lua_Number)(int64_t)v);
        break;
    case 0xca: {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        lua_pushnumber(L, f);
        break;
    }
    case 0xcb: {
        double d;
        memcpy(&d, &v, sizeof d);
        lua_pushnumber(L, d);
        break;
    }
    case 0xd9: case 0xda: case 0xdb:
        unpack_string(L, c, (size_t)v);
        break;
    case 0xdc: case 0xdd:
        unpack_array(L, c, v);
        break;
    default: /* 0xde, 0xdf */
        unpack_map(L, c, v);
        break;
    }
}

/* Decodes from offset, at most limit values (0 and offset 0: all of them,
 * with no offset returned). */
static int unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    bool all = limit == 0 && offset == 0;
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len);
    if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    if (all) limit = INT32_MAX;
    struct cursor c = {(const unsigned char *)s + offset, len - (size_t)offset, CUR_OK};
    int count = 0;
    for (; c.left > 0 && count < limit; count++) {
        luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit "
                              "instead.");
        unpack_value(L, &c);
        if (c.err == CUR_EOF) return luaL_error(L, "Missing bytes in input.");
        if (c.err == CUR_BADFMT) return luaL_error(L, "Bad data format in input.");
    }
    if (!all) {
        lua_pushinteger(L, c.left == 0 ? -1 : (lua_Integer)(len - c.left));
        lua_insert(L, 2);
        count++;
    }
    return count;
}

static int lib_unpack(lua_State *L)
{
    return unpack_full(L, 0, 0);
}

static int lib_unpack_one(lua_State *L)
{
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    lua_settop(L, 1);
    return unpack_full(L, 1, offset);
}

static int lib_unpack_limit(lua_State *L)
{
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return unpack_full(L, limit, offset);
}

/* --------------------------------------------------------------------
 * pack, and the library table
 * ------------------------------------------------------------------ */

/* pack(v1, v2, ...): the encodings of the arguments, one after another. */
static int lib_pack(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    lua_pushnil(L); /* the output's slot */
    struct out o = {L, n + 1, NULL, 0, 0};
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, i);
        pack_value(&o, 0);
    }
    sandbox_charge(L, o.len / BYTES_PER_UNIT);
    lua_pushlstring(L, (const char *)o.p, o.len);
    return 1;
}

static const luaL_Reg cmsgpack_functions[] = {
    {"pack", lib_pack},
    {"unpack", lib_unpack},
    {"unpack_one", lib_unpack_one},
    {"unpack_limit", lib_unpack_limit},
    {NULL, NULL},
};

void lua_cmsgpack_open(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, cmsgpack_functions);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    lua_setglobal(L, "cmsgpack");
}
