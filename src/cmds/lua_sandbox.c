/* cmds/lua_sandbox.c — see lua_sandbox.h.
 *
 * One run at a time (scripts never nest: EVAL and FCALL are refused inside
 * scripts). Each run:
 *
 *   1. lua_newstate over the arena, everything else inside lua_cpcall, so
 *      that no Lua error (not even running out of the arena) can escape as
 *      a panic;
 *   2. the base, table, string and math libraries, then our changes: the
 *      functions that could leak state, read files or be fooled into
 *      running bytecode are removed or wrapped, the string functions that
 *      loop are ours (lua_strlib.c), the redis table (lua_redis.c), the
 *      libraries Redis bundles: cjson, bit, struct, cmsgpack (lua_libs.c);
 *   3. read-only globals and libraries: the globals table the script sees
 *      is an empty proxy whose reads go to the real table and whose writes
 *      fail; every library table is reached through such a proxy; rawset,
 *      setmetatable and the table functions refuse protected tables;
 *      rawget, next, pairs and ipairs see through proxies;
 *   4. the count hook and the allocator charge the budget; when it is spent
 *      the run is killed: the hook fires at every instruction and raises
 *      again, and pcall, xpcall and coroutine.resume re-raise, so nothing
 *      in the script can catch it;
 *   5. the body (script.c, function.c) runs and writes the reply;
 *   6. the arena is reset: the state is dropped without lua_close (nothing
 *      of it lives outside the arena), so no finalizer runs.
 *
 * Work that a single Lua instruction can do without allocating is
 * proportional to the strings it touches (a concatenation that yields an
 * existing string, a comparison). So each instruction is charged one unit
 * plus one per WEIGHT_BYTES of the longest string alive: the allocator
 * watches blocks of at least TRACK_MIN bytes and, once Lua has written
 * their header, recognises strings by it (a TString: type byte, then the
 * length matching the block's size). */
#include "cmds/lua_sandbox.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/dict.h"

/* Set-up (libraries, proxies) takes about 60 KB; a margin above the cap
 * for it keeps the cap the script's own. */
#define SETUP_BYTES (1u << 20)
#define KEEP_TOUCHED_BYTES (8u << 20)
#define HOOK_MAX 1000        /* instructions between two hooks, at most */
#define BYTES_PER_UNIT 64    /* allocation charge */
#define WEIGHT_BYTES 1024    /* instruction weight per byte of the longest string */
#define TRACK_MIN 256        /* shorter strings are not weighed */
#define TSTRING_HEADER 24    /* sizeof(TString) in Lua 5.1 on LP64 */
#define COMPILED_MAX 4096   /* entries of the compile cache before it is emptied */
#define REG_PROXIES "parley.proxies"     /* proxy -> real table */
#define REG_PROTECTED "parley.protected" /* table -> true */

static struct {
    struct arena *arena;
    /* The state right after set-up, taken once: each run starts from a
     * copy of it (the same bytes at the same addresses). */
    struct arena_image *pristine;
    lua_State *pristine_L;
    const struct sandbox_run *run;
    uint64_t spent;
    uint64_t budget;     /* this run's: the entry's, or SANDBOX_BUDGET */
    uint64_t memory;     /* this run's cap in bytes */
    bool killed;
    bool out_of_memory; /* a memory error ended the script (sandbox_call) */
    bool in_setup;
    bool fail_next; /* sandbox_raise_out_of_memory: refuse one allocation */
    /* Watching strings: the last large block, not yet looked at; the live
     * large strings by log2 of their block size, and a set of them. */
    void *unseen;
    size_t unseen_size;
    size_t bucket[64];
    void **set;
    size_t set_cap, set_n, set_used;
} sb;

/* --------------------------------------------------------------------
 * Large strings
 * ------------------------------------------------------------------ */

static size_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

#define TOMBSTONE ((void *)1)

/* Open addressing; removed entries leave tombstones, counted in set_used
 * with the live ones, and set_used stays at most half the capacity, so
 * every probe ends at an empty slot. */
static void set_rehash(size_t cap)
{
    void **old = sb.set;
    size_t old_cap = sb.set_cap;
    sb.set = xcalloc(cap, sizeof *sb.set);
    sb.set_cap = cap;
    sb.set_n = sb.set_used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] == NULL || old[i] == TOMBSTONE) continue;
        size_t j = ptr_hash(old[i]) & (cap - 1);
        while (sb.set[j]) j = (j + 1) & (cap - 1);
        sb.set[j] = old[i];
        sb.set_n++;
        sb.set_used++;
    }
    free(old);
}

static bool set_insert(void *p)
{
    if ((sb.set_used + 1) * 2 > sb.set_cap) {
        size_t cap = 64;
        while (cap < (sb.set_n + 1) * 4) cap *= 2;
        set_rehash(cap);
    }
    size_t mask = sb.set_cap - 1, grave = SIZE_MAX;
    for (size_t i = ptr_hash(p) & mask;; i = (i + 1) & mask) {
        if (sb.set[i] == p) return false;
        if (sb.set[i] == TOMBSTONE && grave == SIZE_MAX) grave = i;
        if (sb.set[i] == NULL) {
            if (grave != SIZE_MAX) i = grave;
            else sb.set_used++;
            sb.set[i] = p;
            sb.set_n++;
            return true;
        }
    }
}

static bool set_remove(void *p)
{
    if (sb.set_cap == 0) return false;
    size_t mask = sb.set_cap - 1;
    for (size_t i = ptr_hash(p) & mask; sb.set[i] != NULL; i = (i + 1) & mask) {
        if (sb.set[i] == p) {
            sb.set[i] = TOMBSTONE;
            sb.set_n--;
            return true;
        }
    }
    return false;
}

static int bucket_of(size_t size)
{
    return 64 - __builtin_clzll((unsigned long long)size);
}

/* Looks at the last large block now that Lua has filled it in. */
static void classify_unseen(void)
{
    if (sb.unseen == NULL) return;
    const unsigned char *h = sb.unseen;
    size_t len;
    memcpy(&len, h + 16, sizeof len);
    if (h[8] == LUA_TSTRING && len + TSTRING_HEADER + 1 == sb.unseen_size && set_insert(sb.unseen))
        sb.bucket[bucket_of(sb.unseen_size)]++;
    sb.unseen = NULL;
}

static void forget_block(void *p, size_t size)
{
    if (p == sb.unseen) {
        sb.unseen = NULL;
    } else if (set_remove(p)) {
        assert(sb.bucket[bucket_of(size)] > 0);
        sb.bucket[bucket_of(size)]--;
    }
}

static size_t longest_string(void)
{
    classify_unseen();
    for (int b = 63; b > 0; b--)
        if (sb.bucket[b]) return (size_t)1 << b;
    return 0;
}

/* --------------------------------------------------------------------
 * Budget
 * ------------------------------------------------------------------ */

static void hook(lua_State *L, lua_Debug *ar);

/* Raises the kill error: a table {err = ...} as redis.call errors are. */
static int raise_kill(lua_State *L)
{
    lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, "BUSY script killed after spending its budget");
    lua_setfield(L, -2, "err");
    return lua_error(L);
}

void sandbox_charge(lua_State *L, uint64_t units)
{
    sb.spent += units;
    if (sb.spent > sb.budget) sb.killed = true;
    if (sb.killed) raise_kill(L);
}

static void hook(lua_State *L, lua_Debug *ar)
{
    if (sb.killed) raise_kill(L);
    uint64_t weight = 1 + longest_string() / WEIGHT_BYTES;
    sandbox_charge(L, (uint64_t)lua_gethookcount(L) * weight);
    /* Fire again before the rest of the budget can be overspent by much. */
    uint64_t next = (sb.budget - sb.spent) / weight / 2;
    if (next > HOOK_MAX) next = HOOK_MAX;
    if (next < 1) next = 1;
    if ((int)next != lua_gethookcount(L)) lua_sethook(L, hook, LUA_MASKCOUNT, (int)next);
}

static void *sandbox_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    classify_unseen();
    if (sb.fail_next && new_size > old_size) {
        sb.fail_next = false;
        return NULL;
    }
    if (ptr && old_size >= TRACK_MIN && new_size != old_size) forget_block(ptr, old_size);
    if (new_size > old_size) {
        if (sb.killed) return NULL;
        if (!sb.in_setup) {
            sb.spent += (new_size - old_size) / BYTES_PER_UNIT;
            if (sb.spent > sb.budget) {
                sb.killed = true; /* the next hook or wrapper raises it */
                return NULL;
            }
        }
    }
    void *p = arena_realloc(sb.arena, ptr, old_size, new_size);
    if (p && new_size >= TRACK_MIN && p != ptr) {
        sb.unseen = p;
        sb.unseen_size = new_size;
    }
    return p;
}

/* --------------------------------------------------------------------
 * Errors with the script's position
 * ------------------------------------------------------------------ */

/* Raises msg prefixed with the position of the Lua code `level` frames up. */
static int error_at(lua_State *L, int level, const char *msg)
{
    luaL_where(L, level);
    lua_pushstring(L, msg);
    lua_concat(L, 2);
    return lua_error(L);
}

static int readonly_error(lua_State *L)
{
    return error_at(L, 1, "Attempt to modify a readonly table");
}

static int missing_global(lua_State *L)
{
    const char *name = lua_tostring(L, 2);
    luaL_where(L, 1);
    lua_pushfstring(L, "Script attempted to access nonexistent global variable '%s'",
                    name ? name : "?");
    lua_concat(L, 2);
    return lua_error(L);
}

/* --------------------------------------------------------------------
 * Protection
 * ------------------------------------------------------------------ */

static int absolute(lua_State *L, int idx)
{
    return idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
}

static bool is_protected(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return false;
    idx = absolute(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    bool yes = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return yes;
}

static void check_writable(lua_State *L, int idx)
{
    if (is_protected(L, idx)) error_at(L, 1, "Attempt to modify a readonly table");
}

/* Replaces the table at idx by its real table if it is a proxy. */
static void see_through(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return;
    idx = absolute(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    if (lua_istable(L, -1)) lua_replace(L, idx);
    else lua_pop(L, 1);
    lua_pop(L, 1);
}

static void mark_protected(lua_State *L, int idx)
{
    idx = absolute(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Pushes a read-only proxy of the table at idx. */
static void push_proxy(lua_State *L, int idx)
{
    int real = absolute(L, idx);
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, real);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    mark_protected(L, -1);
    mark_protected(L, real);
}

/* --------------------------------------------------------------------
 * Wrapped base functions
 * ------------------------------------------------------------------ */

static int sb_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (sb.killed) return raise_kill(L);
    lua_pushboolean(L, status == 0);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static int sb_xpcall(lua_State *L)
{
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    lua_insert(L, 1); /* handler, function */
    int status = lua_pcall(L, 0, LUA_MULTRET, 1);
    if (sb.killed) return raise_kill(L);
    lua_pushboolean(L, status == 0);
    lua_replace(L, 1);
    return lua_gettop(L);
}

/* Calls the original function (upvalue 1) with the same arguments, then
 * re-raises the kill if it happened inside (coroutine.resume). */
static int sb_forward_unkillable(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    if (sb.killed) return raise_kill(L);
    return lua_gettop(L);
}

static int sb_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    if (luaL_callmeta(L, 1, "__tostring")) return 1;
    switch (lua_type(L, 1)) {
    case LUA_TTABLE:
    case LUA_TFUNCTION:
    case LUA_TUSERDATA:
    case LUA_TTHREAD:
    case LUA_TLIGHTUSERDATA: {
        /* Only the offset in the arena: the same on every node. NULL
         * (cjson.null) as Redis's %p prints it. */
        char text[64];
        const void *p = lua_topointer(L, 1);
        if (p == NULL)
            snprintf(text, sizeof text, "%s: (nil)", luaL_typename(L, 1));
        else
            snprintf(text, sizeof text, "%s: 0x%08x", luaL_typename(L, 1), (unsigned)(uintptr_t)p);
        lua_pushstring(L, text);
        return 1;
    }
    default:
        sandbox_charge(L, lua_objlen(L, 1) / BYTES_PER_UNIT);
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        return 1;
    }
}

static int sb_tonumber(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING) sandbox_charge(L, lua_objlen(L, 1) / BYTES_PER_UNIT);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_nothing(lua_State *L)
{
    (void)L;
    return 0;
}

/* Source read by load/loadstring: a chunk that starts as precompiled
 * bytecode gets a space in front, so the parser sees text and fails on
 * it, as in Redis (whose Lua has no undump). */
struct text_reader {
    const char *p;
    size_t len;
    int state; /* 0: maybe the space, 1: the text, 2: done */
};

static const char *read_text(lua_State *L, void *ud, size_t *size)
{
    (void)L;
    struct text_reader *r = ud;
    if (r->state == 0) {
        r->state = 1;
        if (r->len && r->p[0] == LUA_SIGNATURE[0]) {
            *size = 1;
            return " ";
        }
    }
    if (r->state == 1) {
        r->state = 2;
        *size = r->len;
        return r->p;
    }
    *size = 0;
    return NULL;
}

static int load_text(lua_State *L, const char *code, size_t len, const char *name)
{
    struct text_reader r = {code, len, 0};
    return lua_load(L, read_text, &r, name);
}

static int sb_loadstring(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    sandbox_charge(L, len / 8);
    if (load_text(L, s, len, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* load(f [, name]): the pieces f returns are joined (charged, in the
 * arena) and read as text like loadstring's. */
static int sb_load(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    lua_settop(L, 2);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1) || (lua_isstring(L, -1) && lua_objlen(L, -1) == 0)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    sandbox_charge(L, len / 8);
    if (load_text(L, s, len, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

static int sb_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    check_writable(L, 1);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int sb_rawget(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    see_through(L, 1);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int sb_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    see_through(L, 1);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int sb_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    see_through(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1)); /* next */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ipairs_step(lua_State *L)
{
    int i = luaL_checkint(L, 2) + 1;
    lua_pushinteger(L, i);
    lua_rawgeti(L, 1, i);
    return lua_isnil(L, -1) ? 0 : 2;
}

static int sb_ipairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    see_through(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

static int sb_setmetatable(lua_State *L)
{
    if (is_protected(L, 1)) return readonly_error(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* table.insert, remove, sort, concat, maxn, foreach, foreachi: refuse
 * protected tables where they write, charge what they loop over. */
static int sb_table_op(lua_State *L)
{
    bool writes = lua_toboolean(L, lua_upvalueindex(2));
    if (lua_istable(L, 1)) {
        if (writes) check_writable(L, 1);
        size_t n = lua_objlen(L, 1);
        uint64_t units = n;
        if (lua_toboolean(L, lua_upvalueindex(3))) { /* sort: n log n comparisons */
            unsigned log2n = 1;
            while (((size_t)1 << log2n) < n) log2n++;
            units = (uint64_t)n * log2n * (1 + longest_string() / WEIGHT_BYTES);
        }
        sandbox_charge(L, units);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* --------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------ */

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* t[name] = closure of fn over the current value of t[name]. */
static void wrap_field(lua_State *L, int t, const char *name, lua_CFunction fn)
{
    t = absolute(L, t);
    lua_getfield(L, t, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, t, name);
}

static void wrap_table_op(lua_State *L, int t, const char *name, bool writes, bool sort)
{
    t = absolute(L, t);
    lua_getfield(L, t, name);
    lua_pushboolean(L, writes);
    lua_pushboolean(L, sort);
    lua_pushcclosure(L, sb_table_op, 3);
    lua_setfield(L, t, name);
}

static void set_cfunction(lua_State *L, int t, const char *name, lua_CFunction fn)
{
    t = absolute(L, t);
    lua_pushcfunction(L, fn);
    lua_setfield(L, t, name);
}

void sandbox_set_global(lua_State *L, const char *name)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_rawget(L, -2);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushvalue(L, LUA_GLOBALSINDEX);
    }
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, name);
    lua_pop(L, 3);
}

static void setup(lua_State *L)
{
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PROTECTED);
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);

    int G = LUA_GLOBALSINDEX;
    for (const char *const *n = (const char *const[]){"dofile", "loadfile", NULL}; *n; n++) {
        lua_pushnil(L);
        lua_setfield(L, G, *n);
    }
    set_cfunction(L, G, "print", sb_nothing);
    set_cfunction(L, G, "pcall", sb_pcall);
    set_cfunction(L, G, "xpcall", sb_xpcall);
    set_cfunction(L, G, "loadstring", sb_loadstring);
    set_cfunction(L, G, "load", sb_load);
    set_cfunction(L, G, "rawset", sb_rawset);
    set_cfunction(L, G, "rawget", sb_rawget);
    set_cfunction(L, G, "next", sb_next);
    wrap_field(L, G, "tostring", sb_tostring);
    wrap_field(L, G, "tonumber", sb_tonumber);
    wrap_field(L, G, "setmetatable", sb_setmetatable);
    lua_getfield(L, G, "next");
    lua_pushcclosure(L, sb_pairs, 1);
    lua_setfield(L, G, "pairs");
    lua_pushcfunction(L, ipairs_step);
    lua_pushcclosure(L, sb_ipairs, 1);
    lua_setfield(L, G, "ipairs");

    lua_getfield(L, G, "coroutine");
    wrap_field(L, -1, "resume", sb_forward_unkillable);
    wrap_field(L, -1, "wrap", sb_forward_unkillable);
    lua_pop(L, 1);

    lua_getfield(L, G, "table");
    wrap_table_op(L, -1, "insert", true, false);
    wrap_table_op(L, -1, "remove", true, false);
    wrap_table_op(L, -1, "sort", true, true);
    wrap_table_op(L, -1, "setn", true, false);
    wrap_table_op(L, -1, "concat", false, false);
    wrap_table_op(L, -1, "maxn", false, false);
    wrap_table_op(L, -1, "foreach", false, false);
    wrap_table_op(L, -1, "foreachi", false, false);
    lua_pop(L, 1);

    lua_strlib_open(L);
    lua_redis_open(L);
    lua_libs_open(L);

    /* The string metatable's __index is the real string table. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    mark_protected(L, -1);
    lua_pop(L, 2);

    /* Library tables behind proxies. */
    for (const char *const *n = (const char *const[]){"string", "table", "math", "coroutine",
                                                      "redis", "cjson", "bit", "struct",
                                                      "cmsgpack", NULL};
         *n; n++) {
        lua_getfield(L, G, *n);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        push_proxy(L, -1);
        lua_setfield(L, G, *n);
        lua_pop(L, 1);
    }

    /* Reading a missing global is an error; the globals are a proxy. */
    lua_pushvalue(L, G);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, missing_global);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    push_proxy(L, -1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_G");
    lua_replace(L, G);
    lua_pop(L, 1);
}

/* --------------------------------------------------------------------
 * Loading, calling, replying
 * ------------------------------------------------------------------ */

struct bytes_reader {
    const char *p;
    size_t len;
};

static const char *read_bytes(lua_State *L, void *ud, size_t *size)
{
    (void)L;
    struct bytes_reader *r = ud;
    *size = r->len;
    r->len = 0;
    return *size ? r->p : NULL;
}

static int dump_writer(lua_State *L, const void *p, size_t size, void *ud)
{
    (void)L;
    buf_append(ud, p, size);
    return 0;
}

void sandbox_load(lua_State *L, const struct buf *bytecode, const char *chunk_name)
{
    struct bytes_reader r = {bytecode->data, bytecode->len};
    if (lua_load(L, read_bytes, &r, chunk_name) != 0) lua_error(L);
}

/* Compiling runs in the arena too (then reset), under the cap; it is not
 * a run, so it is not charged. */
struct compile_job {
    const char *code;
    size_t len;
    const char *name;
    struct buf *out;
    char *err;
    size_t errlen;
    bool ok;
};

static int compile_protected(lua_State *L)
{
    struct compile_job *j = lua_touserdata(L, 1);
    if (load_text(L, j->code, j->len, j->name) != 0) {
        snprintf(j->err, j->errlen, "%s", lua_tostring(L, -1));
        return 0;
    }
    lua_dump(L, dump_writer, j->out);
    j->ok = true;
    return 0;
}

static void ensure_arena(void)
{
    if (sb.arena) return;
    sb.arena = arena_new(SANDBOX_MEMORY_MAX + SETUP_BYTES);
    if (sb.arena == NULL) {
        log_warn("Cannot reserve address space for the Lua sandbox");
        abort();
    }
}

static void reset_run(void)
{
    arena_reset(sb.arena, KEEP_TOUCHED_BYTES);
    sb.run = NULL;
    sb.spent = 0;
    sb.killed = false;
    sb.out_of_memory = false;
    sb.fail_next = false;
    sb.unseen = NULL;
    memset(sb.bucket, 0, sizeof sb.bucket);
    if (sb.set_cap) memset(sb.set, 0, sb.set_cap * sizeof *sb.set);
    sb.set_n = sb.set_used = 0;
}

static int on_panic(lua_State *L)
{
    log_warn("Lua panic outside the sandbox's protected call: %s", lua_tostring(L, -1));
    abort();
}

bool sandbox_compile(const char *code, size_t len, const char *chunk_name, struct buf *bytecode,
                     char *err, size_t errlen)
{
    assert(sb.run == NULL);
    ensure_arena();
    arena_set_limit(sb.arena, SANDBOX_MEMORY_BYTES + SETUP_BYTES);
    sb.in_setup = true;
    struct compile_job j = {code, len, chunk_name, bytecode, err, errlen, false};
    lua_State *L = lua_newstate(sandbox_alloc, NULL);
    if (L) {
        lua_atpanic(L, on_panic);
        if (lua_cpcall(L, compile_protected, &j) != 0)
            snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "not enough memory");
    } else {
        snprintf(err, errlen, "not enough memory");
    }
    sb.in_setup = false;
    reset_run();
    if (!j.ok) buf_clear(bytecode);
    return j.ok;
}

static void free_compiled(struct dict_entry *e)
{
    buf_free(e->v.ptr);
    free(e->v.ptr);
}

const struct buf *sandbox_compiled(const char *key, const char *code, size_t len,
                                   const char *chunk_name, char *err, size_t errlen)
{
    static struct dict cache;
    static bool ready;
    if (!ready) {
        dict_init(&cache, free_compiled);
        ready = true;
    }
    size_t klen = strlen(key);
    struct dict_entry *e = dict_find(&cache, key, klen);
    if (e) return e->v.ptr;
    struct buf *bytecode = xcalloc(1, sizeof *bytecode);
    if (!sandbox_compile(code, len, chunk_name, bytecode, err, errlen)) {
        buf_free(bytecode);
        free(bytecode);
        return NULL;
    }
    if (dict_size(&cache) >= COMPILED_MAX) dict_clear(&cache);
    bool created;
    e = dict_upsert(&cache, key, klen, &created);
    e->v.ptr = bytecode;
    return bytecode;
}

/* The handler of sandbox_call: the error, and where in the script. */
static int on_error(lua_State *L)
{
    const struct sandbox_run *run = sb.run;
    if (sb.killed) return 1; /* sandbox_call raises the kill again */
    int line = -1;
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (strcmp(ar.source, run->source) == 0) {
            line = ar.currentline;
            break;
        }
    }
    const char *msg = NULL;
    bool has_code = false;
    if (lua_istable(L, 1)) {
        lua_pushliteral(L, "err");
        lua_rawget(L, 1);
        msg = lua_tostring(L, -1);
        has_code = true;
    } else {
        msg = lua_tostring(L, 1);
    }
    if (msg == NULL) msg = "unknown error";
    lua_pushfstring(L, "%s%s script: %s, on %s:%d.", has_code ? "" : "ERR ", msg, run->label,
                    run->source, line);
    return 1;
}

bool sandbox_call(lua_State *L, int nargs)
{
    int fn = lua_gettop(L) - nargs;
    lua_pushcfunction(L, on_error);
    lua_insert(L, fn);
    int rc = lua_pcall(L, nargs, 1, fn);
    lua_remove(L, fn);
    if (sb.killed) raise_kill(L);
    if (rc == LUA_ERRMEM) { /* the run fails as a whole */
        sb.out_of_memory = true;
        lua_error(L);
    }
    if (rc == 0) return true;
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    struct resp_out *o = &sb.run->ctx->out;
    resp_raw(o, "-", 1);
    /* Redis keeps an error on one line. */
    for (size_t i = 0; i < len; i++) {
        char ch = msg[i] == '\r' || msg[i] == '\n' ? ' ' : msg[i];
        resp_raw(o, &ch, 1);
    }
    resp_raw(o, "\r\n", 2);
    lua_pop(L, 1);
    return false;
}

void sandbox_raise_out_of_memory(lua_State *L)
{
    sb.fail_next = true;
    lua_newuserdata(L, 1); /* refused: Lua raises its memory error */
    sb.fail_next = false;
    luaL_error(L, "not enough memory"); /* not reached */
}

int sandbox_pcall(lua_State *L, int nargs, int nresults)
{
    int rc = lua_pcall(L, nargs, nresults, 0);
    if (sb.killed) raise_kill(L);
    if (rc == LUA_ERRMEM) {
        sb.out_of_memory = true;
        lua_error(L);
    }
    return rc;
}

void sandbox_push_strings(lua_State *L, const struct resp_arg *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

const struct sandbox_run *sandbox_current(void)
{
    return sb.run;
}

uint64_t sandbox_budget(void)
{
    return sb.budget;
}

uint64_t sandbox_memory(void)
{
    return sb.memory;
}

/* --------------------------------------------------------------------
 * A run
 * ------------------------------------------------------------------ */

static int setup_protected(lua_State *L)
{
    setup(L);
    return 0;
}

/* Makes the pristine state once; false if even that fails. */
static bool ensure_pristine(void)
{
    if (sb.pristine) return true;
    arena_reset(sb.arena, KEEP_TOUCHED_BYTES);
    sb.in_setup = true;
    lua_State *L = lua_newstate(sandbox_alloc, NULL);
    if (L == NULL) return false;
    lua_atpanic(L, on_panic);
    if (lua_cpcall(L, setup_protected, NULL) != 0) {
        log_warn("Cannot set up the Lua sandbox: %s", lua_tostring(L, -1));
        abort(); /* our own code, with memory to spare: a bug */
    }
    lua_settop(L, 0);
    classify_unseen();
    assert(sb.set_n == 0); /* nothing of the set-up is weighed */
    sb.pristine = arena_save(sb.arena);
    sb.pristine_L = L;
    sb.in_setup = false;
    return true;
}

static int run_protected(lua_State *L)
{
    const struct sandbox_run *run = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_redis_start(L);
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_MAX);
    run->body(L, run->arg);
    return 0;
}

bool sandbox_exec(const struct sandbox_run *run)
{
    assert(sb.run == NULL); /* scripts never nest */
    ensure_arena();
    ensure_pristine();
    sb.run = run;
    sb.budget = run->ctx->script_budget ? run->ctx->script_budget : SANDBOX_BUDGET;
    if (sb.budget > SANDBOX_BUDGET_MAX) sb.budget = SANDBOX_BUDGET_MAX;
    sb.memory = run->ctx->script_memory ? run->ctx->script_memory : SANDBOX_MEMORY_BYTES;
    if (sb.memory > SANDBOX_MEMORY_MAX) sb.memory = SANDBOX_MEMORY_MAX;
    struct resp_out *o = &run->ctx->out;
    size_t before = o->buf->len;
    arena_restore(sb.arena, sb.pristine);
    arena_set_limit(sb.arena, sb.memory + SETUP_BYTES);
    lua_State *L = sb.pristine_L;
    int rc = lua_cpcall(L, run_protected, (void *)run);
    bool ok = rc == 0 && !sb.killed;
    if (!ok) {
        o->buf->len = before;
        unsigned long long budget = sb.budget, mb = sb.memory >> 20;
        if (sb.killed && run->loading)
            resp_errorf(o, "ERR Error registering functions: FUNCTION LOAD timeout: the library's "
                        "code spent its work budget (about %llu Lua instructions)", budget);
        else if (sb.killed)
            resp_errorf(o, "BUSY script stopped after spending its work budget (about %llu Lua "
                        "instructions); writes it made are kept", budget);
        else if ((rc == LUA_ERRMEM || sb.out_of_memory) && run->loading)
            resp_errorf(o, "ERR Error registering functions: not enough memory (the Lua memory "
                        "limit is %llu MB)", mb);
        else if (rc == LUA_ERRMEM || sb.out_of_memory)
            resp_errorf(o, "ERR Error running script: not enough memory (the Lua memory limit is "
                        "%llu MB) script: %s", mb, run->label);
        else
            resp_errorf(o, "ERR Error running script: %s",
                        lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error");
    }
    reset_run();
    return ok;
}
