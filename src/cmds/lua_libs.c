/* cmds/lua_libs.c — the libraries Redis 7.0 bundles with its Lua, installed
 * in the sandbox: cjson and bit from Debian's packages (lua-cjson-dev,
 * lua-bitop-dev), struct and cmsgpack from lua_struct.c and lua_cmsgpack.c.
 *
 * bit (LuaBitOp) only computes on numbers: it is opened as it is.
 *
 * cjson builds its output and its decoding scratch in C buffers of its own
 * (strbuf) with malloc, realloc and free. Left so, they would sit outside
 * the sandbox's arena: not counted by the memory cap, not dropped when a
 * run ends (a run killed in the middle would leak them), and the encoder's
 * kept buffer would dangle when each run restores the pristine state. The
 * build therefore links a copy of Debian's static archive whose malloc,
 * realloc and free are renamed lua_ext_malloc, lua_ext_realloc and
 * lua_ext_free (Makefile, objcopy --redefine-sym), defined here: they
 * allocate through the running state's allocator, so the bytes are in the
 * arena, charged to the budget, under the cap, and forgotten with the run.
 * A failed allocation raises Lua's memory error (cjson would call exit).
 * Every cjson function, and those of the instances cjson.new makes, runs
 * through a wrapper that tells the allocator which state is calling, and
 * charges the bytes it reads or writes.
 *
 * cjson's own limits stay: nesting deeper than encode_max_depth and
 * decode_max_depth (1000 unless a script changes them for its run) is an
 * error, and either way its recursion is bounded by Lua's C stack limit
 * (lua_checkstack). A script's cjson settings last for its run only: each
 * run starts from the pristine state. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "cmds/lua_sandbox.h"

int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);

void *lua_ext_malloc(size_t size);
void *lua_ext_realloc(void *ptr, size_t size);
void lua_ext_free(void *ptr);

#define EXT_HEADER 16      /* the block's size, keeping 16-byte alignment */
/* Work charged to the budget: cjson's C loops run without the count hook,
 * so each call pays for the bytes it reads (its string arguments: JSON to
 * decode), the bytes its buffers grow by (output being built, decoding
 * scratch: so an encode whose output doubles level after level is stopped
 * while it runs) and the strings it returns. Decoding dense JSON costs
 * more than this (building tables); the memory cap bounds it too. */
#define CJSON_UNITS_PER_ARG_BYTE 2
#define CJSON_GROWN_BYTES_PER_UNIT 4 /* strings reserve 6 bytes a byte */
#define CJSON_UNITS_PER_RESULT_BYTE 1

/* The state whose cjson call is running (set by cjson_call). */
static lua_State *ext_L;

static void *ext_resize(void *ptr, size_t size)
{
    assert(ext_L != NULL);
    void *ud;
    lua_Alloc alloc = lua_getallocf(ext_L, &ud);
    unsigned char *block = ptr ? (unsigned char *)ptr - EXT_HEADER : NULL;
    size_t old = 0;
    if (block) memcpy(&old, block, sizeof old);
    if (size == 0) {
        if (block) alloc(ud, block, old + EXT_HEADER, 0);
        return NULL;
    }
    if (size > old && sandbox_current() != NULL) /* not while setting up */
        sandbox_charge(ext_L, (size - old) / CJSON_GROWN_BYTES_PER_UNIT);
    unsigned char *grown =
        alloc(ud, block, block ? old + EXT_HEADER : 0, size + EXT_HEADER);
    if (grown == NULL) {
        sandbox_charge(ext_L, 0); /* the kill, if that is why */
        sandbox_raise_out_of_memory(ext_L);
    }
    memcpy(grown, &size, sizeof size);
    return grown + EXT_HEADER;
}

void *lua_ext_malloc(size_t size)
{
    return ext_resize(NULL, size ? size : 1);
}

void *lua_ext_realloc(void *ptr, size_t size)
{
    return ext_resize(ptr, size ? size : 1);
}

void lua_ext_free(void *ptr)
{
    if (ptr) ext_resize(ptr, 0);
}

static void wrap_functions(lua_State *L, int t);

/* Errors come out as if the script had called the cjson function itself:
 * the position of the script's line in front, and in "bad argument" texts
 * the name the caller used where Lua, seeing a C caller, put '?'. */
static int reraise_positioned(lua_State *L)
{
    if (lua_type(L, -1) != LUA_TSTRING) return lua_error(L);
    lua_Debug ar;
    const char *name = NULL;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar)) name = ar.name;
    int msg = lua_gettop(L);
    luaL_where(L, 1);
    if (name) {
        const char *text = lua_tostring(L, msg);
        const char *with_name = lua_pushfstring(L, "to '%s'", name);
        luaL_gsub(L, text, "to '?'", with_name);
        lua_remove(L, -2);
    } else {
        lua_pushvalue(L, msg);
    }
    lua_concat(L, 2);
    return lua_error(L);
}

/* A cjson function (upvalue 1) called with the arguments given; upvalue 2
 * is true for cjson.new, whose instance gets wrapped too. */
static int cjson_call(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++)
        if (lua_type(L, i) == LUA_TSTRING)
            sandbox_charge(L, (uint64_t)lua_objlen(L, i) * CJSON_UNITS_PER_ARG_BYTE);
    ext_L = L;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int rc = lua_pcall(L, n, LUA_MULTRET, 0);
    sandbox_charge(L, 0); /* the kill, if it happened inside */
    if (rc == LUA_ERRMEM) sandbox_raise_out_of_memory(L);
    if (rc != 0) return reraise_positioned(L);
    int results = lua_gettop(L);
    for (int i = 1; i <= results; i++)
        if (lua_type(L, i) == LUA_TSTRING)
            sandbox_charge(L, (uint64_t)lua_objlen(L, i) * CJSON_UNITS_PER_RESULT_BYTE);
    if (lua_toboolean(L, lua_upvalueindex(2)) && results >= 1 && lua_istable(L, 1))
        wrap_functions(L, 1);
    return results;
}

/* Replaces every function of the table at t by a cjson_call of it. */
static void wrap_functions(lua_State *L, int t)
{
    if (t < 0) t = lua_gettop(L) + t + 1;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_iscfunction(L, -1) && lua_tocfunction(L, -1) != cjson_call) {
            const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            lua_pushboolean(L, name && strcmp(name, "new") == 0);
            lua_pushcclosure(L, cjson_call, 2);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, t);
        } else {
            lua_pop(L, 1);
        }
    }
}

void lua_libs_open(lua_State *L)
{
    ext_L = L;
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    wrap_functions(L, -1);
    lua_setglobal(L, "cjson");

    lua_pushcfunction(L, luaopen_bit);
    lua_call(L, 0, 0);
    lua_getglobal(L, "bit");
    assert(lua_istable(L, -1));
    lua_pop(L, 1);

    lua_struct_open(L);
    lua_cmsgpack_open(L);
}
