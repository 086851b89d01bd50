/* cmds/script.c — Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and
 * SCRIPT, on Lua 5.1 (the Lua Redis scripts are written for).
 *
 * A script is applied from the log like any write, on every node, so it
 * must behave the same everywhere: it sees the entry's time (redis.call of
 * TIME), math.random is Redis's drand48 seeded from the log entry (a new
 * sequence at every call, as in Redis 7, but the same on every replica),
 * there is no os or io library, and globals are read-only. Its writes happen inside one apply step: all of
 * a script runs between two other commands, on every node.
 *
 * The cache of script bodies is replicated state (store/scripts.h); the
 * compiled functions are this process's own, kept in the Lua registry.
 *
 * A script that runs away is stopped after SCRIPT_MAX_INSTRUCTIONS Lua
 * instructions (counted the same way on every node, so every replica stops
 * it at the same point) and its caller gets a BUSY error. Writes it made
 * before that point stay: unlike Redis, which cannot stop a script that
 * wrote, Parley does not freeze every replica on it. The budget is a
 * constant, not a setting, because every replica must stop at the same
 * instruction; it is small (about 0.15 s of Lua on a 2-core VM) because
 * every node runs the script on its event loop, and a leader that stays
 * silent for longer than the election timeout (300 ms) is replaced: at a
 * billion instructions (6.5 s) a runaway script cost three elections and
 * 11 s without writes on a three-node cluster.
 *
 * Conversions between RESP and Lua follow Redis 7.0 (RESP2). */
#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/log.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/script.h"

#define SCRIPT_MAX_INSTRUCTIONS 25000000ull
#define HOOK_EVERY 100000
#define MAX_REPLY_DEPTH 100

/* The one Lua engine of this process. */
static struct {
    lua_State *L;
    struct cmd_ctx *ctx;    /* the command running the script */
    bool read_only;         /* EVAL_RO / EVALSHA_RO */
    uint64_t instructions;
    uint64_t rand48;        /* drand48 state */
    char label[128];        /* the script's sha or the function's name */
    const char *source;     /* "@user_script" or "@user_function" */
} eng;

/* --------------------------------------------------------------------
 * SHA-1 and the drand48 that Redis's math.random uses
 * ------------------------------------------------------------------ */

void script_sha1_hex(const char *text, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, len, md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20; i++) sprintf(out + 2 * i, "%02x", md[i]);
    out[40] = '\0';
}

static void srand48_(int32_t seed)
{
    eng.rand48 = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

static int32_t lrand48_(void)
{
    eng.rand48 = (eng.rand48 * 0x5DEECE66Dull + 0xB) & 0xFFFFFFFFFFFFull;
    return (int32_t)(eng.rand48 >> 17);
}

static int lua_math_random(lua_State *L)
{
    lua_Number r = (lua_Number)(lrand48_() % 2147483647) / (lua_Number)2147483647;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1), u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int lua_math_randomseed(lua_State *L)
{
    srand48_(luaL_checkint(L, 1));
    return 0;
}

/* --------------------------------------------------------------------
 * RESP (RESP2, as our commands write it for scripts) to Lua
 * ------------------------------------------------------------------ */

static const char *line_end(const char *p, const char *end)
{
    while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n')) p++;
    return p + 1 < end ? p : NULL;
}

/* Pushes the reply at *pp as a Lua value; advances *pp. */
static void push_reply(lua_State *L, const char **pp, const char *end, int depth)
{
    const char *p = *pp;
    const char *eol = line_end(p, end);
    if (eol == NULL || depth > MAX_REPLY_DEPTH) {
        lua_pushboolean(L, 0);
        *pp = end;
        return;
    }
    char type = p[0];
    long long n = strtoll(p + 1, NULL, 10);
    p = eol + 2;
    switch (type) {
    case ':':
        lua_pushnumber(L, (lua_Number)n);
        break;
    case '$':
        if (n < 0) {
            lua_pushboolean(L, 0);
        } else {
            lua_pushlstring(L, p, (size_t)n);
            p += n + 2;
        }
        break;
    case '+':
    case '-':
        lua_newtable(L);
        lua_pushstring(L, type == '+' ? "ok" : "err");
        lua_pushlstring(L, *pp + 1, (size_t)(eol - *pp - 1));
        lua_settable(L, -3);
        break;
    case '*':
        if (n < 0) {
            lua_pushboolean(L, 0);
            break;
        }
        lua_createtable(L, (int)(n < 1024 ? n : 1024), 0);
        for (long long i = 0; i < n; i++) {
            push_reply(L, &p, end, depth + 1);
            lua_rawseti(L, -2, (int)(i + 1));
        }
        break;
    default:
        lua_pushboolean(L, 0);
        p = end;
    }
    *pp = p;
}

/* --------------------------------------------------------------------
 * redis.* functions
 * ------------------------------------------------------------------ */

/* Raises the error Redis raises from redis.call: a table {err=msg}. */
static int raise_err(lua_State *L, const char *msg)
{
    lua_newtable(L);
    lua_pushstring(L, "err");
    lua_pushstring(L, msg);
    lua_settable(L, -3);
    return lua_error(L);
}

/* Formats a number argument as Redis does: the shortest text that reads
 * back as the same double. */
static size_t number_text(lua_Number v, char *out, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, (double)v);
        if (strtod(out, NULL) == (double)v) break;
    }
    return strlen(out);
}

static int redis_call_generic(lua_State *L, bool raise)
{
    struct cmd_ctx *c = eng.ctx;
    int argc = lua_gettop(L);
    if (argc == 0) return raise_err(L, "ERR Please specify at least one argument for this redis lib call");
    struct resp_arg *argv = xmalloc((size_t)argc * sizeof *argv);
    char (*nums)[32] = xmalloc((size_t)argc * sizeof *nums);
    const char *problem = NULL;
    for (int j = 0; j < argc; j++) {
        int t = lua_type(L, j + 1);
        if (t == LUA_TNUMBER) {
            argv[j].len = number_text(lua_tonumber(L, j + 1), nums[j], sizeof nums[j]);
            argv[j].ptr = nums[j];
        } else if (t == LUA_TSTRING) {
            argv[j].ptr = lua_tolstring(L, j + 1, &argv[j].len);
        } else {
            problem = "ERR Lua redis lib command arguments must be strings or integers";
            break;
        }
    }
    const struct cmd_def *d = problem ? NULL : cmd_lookup(argv[0].ptr, argv[0].len, false);
    if (d && (d->flags & CMD_CONTAINER) && argc >= 2) d = cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
    bool is_time = d && !strcmp(d->name, "time");
    if (!problem && d == NULL) problem = "ERR Unknown Redis command called from script";
    else if (!problem && !cmd_arity_ok(d, argc))
        problem = "ERR Wrong number of args calling Redis command from script";
    else if (!problem && (d->flags & CMD_NOSCRIPT || (d->exec == NULL && !is_time)))
        problem = "ERR This Redis command is not allowed from script";
    else if (!problem && eng.read_only && (d->flags & CMD_WRITE))
        problem = "ERR Write commands are not allowed from read-only scripts.";
    if (problem) {
        free(argv);
        free(nums);
        if (raise) return raise_err(L, problem);
        lua_newtable(L);
        lua_pushstring(L, "err");
        lua_pushstring(L, problem);
        lua_settable(L, -3);
        return 1;
    }
    struct buf reply = BUF_INIT;
    if (is_time) {
        /* The entry's time, not this node's clock. */
        buf_printf(&reply, "*2\r\n$%d\r\n%lld\r\n", snprintf(NULL, 0, "%lld", (long long)(c->now_ms / 1000)),
                   (long long)(c->now_ms / 1000));
        char us[24];
        int n = snprintf(us, sizeof us, "%lld", (long long)(c->now_ms % 1000) * 1000);
        buf_printf(&reply, "$%d\r\n%s\r\n", n, us);
    } else {
        struct cmd_ctx sub = *c;
        sub.no_block = true; /* blocking commands answer nil in scripts */
        sub.in_script = true;
        sub.out.buf = &reply;
        sub.out.proto = 2;
        sub.argc = argc;
        sub.argv = argv;
        sub.cmd = d;
        cmd_exec(&sub);
        c->rng = sub.rng;
    }
    free(argv);
    free(nums);
    const char *p = reply.data ? reply.data : "";
    if (raise && reply.len && p[0] == '-') {
        /* redis.call raises the command's error; the caller's reply will
         * carry it with the script's position. */
        const char *eol = line_end(p, p + reply.len);
        lua_newtable(L);
        lua_pushstring(L, "err");
        lua_pushlstring(L, p + 1, eol ? (size_t)(eol - p - 1) : reply.len - 1);
        lua_settable(L, -3);
        buf_free(&reply);
        return lua_error(L);
    }
    push_reply(L, &p, p + reply.len, 0);
    buf_free(&reply);
    return 1;
}

static int lua_redis_call(lua_State *L) { return redis_call_generic(L, true); }
static int lua_redis_pcall(lua_State *L) { return redis_call_generic(L, false); }

static int reply_table(lua_State *L, const char *field)
{
    luaL_checkstring(L, 1);
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushvalue(L, 1);
    lua_settable(L, -3);
    return 1;
}

static int lua_error_reply(lua_State *L) { return reply_table(L, "err"); }
static int lua_status_reply(lua_State *L) { return reply_table(L, "ok"); }

static int lua_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    char hex[41];
    script_sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int lua_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return luaL_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return luaL_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LOG_DEBUG || level > LOG_WARNING) return luaL_error(L, "Invalid debug level.");
    struct buf msg = BUF_INIT;
    for (int j = 2; j <= argc; j++) {
        size_t len;
        const char *s = lua_tolstring(L, j, &len);
        if (s) buf_append(&msg, s, len);
        if (j < argc) buf_append(&msg, " ", 1);
    }
    buf_append(&msg, "", 1);
    log_msg((enum log_level)level, "%s", msg.data);
    buf_free(&msg);
    return 0;
}

static int lua_true(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int lua_nothing(lua_State *L)
{
    (void)L;
    return 0;
}

/* --------------------------------------------------------------------
 * Engine set-up
 * ------------------------------------------------------------------ */

static void set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushstring(L, name);
    lua_pushcfunction(L, fn);
    lua_settable(L, -3);
}

static void set_int(lua_State *L, const char *name, int v)
{
    lua_pushstring(L, name);
    lua_pushnumber(L, v);
    lua_settable(L, -3);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* Globals are read-only and reading an unknown one is an error, as in Redis
 * 7.0: a script cannot leak state into the next one. */
static const char *protect_globals =
    "local mt = {}\n"
    "mt.__newindex = function(t, n, v) error('Attempt to modify a readonly table', 2) end\n"
    "mt.__index = function(t, n) error(\"Script attempted to access nonexistent global "
    "variable '\" .. tostring(n) .. \"'\", 2) end\n"
    "setmetatable(_G, mt)\n";

static void engine_init(void)
{
    lua_State *L = luaL_newstate();
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_getglobal(L, "math");
    set_fn(L, "random", lua_math_random);
    set_fn(L, "randomseed", lua_math_randomseed);
    lua_pop(L, 1);
    lua_newtable(L);
    set_fn(L, "call", lua_redis_call);
    set_fn(L, "pcall", lua_redis_pcall);
    set_fn(L, "error_reply", lua_error_reply);
    set_fn(L, "status_reply", lua_status_reply);
    set_fn(L, "sha1hex", lua_sha1hex);
    set_fn(L, "log", lua_log);
    set_fn(L, "setresp", lua_nothing);
    set_fn(L, "set_repl", lua_nothing);
    set_fn(L, "replicate_commands", lua_true);
    set_fn(L, "breakpoint", lua_nothing);
    set_fn(L, "debug", lua_nothing);
    set_int(L, "LOG_DEBUG", LOG_DEBUG);
    set_int(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_int(L, "LOG_NOTICE", LOG_NOTICE);
    set_int(L, "LOG_WARNING", LOG_WARNING);
    set_int(L, "REPL_NONE", 0);
    set_int(L, "REPL_AOF", 1);
    set_int(L, "REPL_SLAVE", 2);
    set_int(L, "REPL_REPLICA", 2);
    set_int(L, "REPL_ALL", 3);
    lua_setglobal(L, "redis");
    /* Compiled scripts, by sha, outside the globals. */
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "parley_scripts");
    if (luaL_dostring(L, protect_globals) != 0) abort();
    eng.L = L;
}

static lua_State *engine(void)
{
    if (eng.L == NULL) engine_init();
    return eng.L;
}

/* Compiles body under sha if this process has not yet; on error writes
 * Redis's message into err. */
static bool compile(const char sha[41], const char *body, size_t len, char *err, size_t errlen)
{
    lua_State *L = engine();
    lua_getfield(L, LUA_REGISTRYINDEX, "parley_scripts");
    lua_getfield(L, -1, sha);
    bool have = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (have) {
        lua_pop(L, 1);
        return true;
    }
    if (luaL_loadbuffer(L, body, len, "@user_script") != 0) {
        snprintf(err, errlen, "ERR Error compiling script (new function): %s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return false;
    }
    lua_setfield(L, -2, sha);
    lua_pop(L, 1);
    return true;
}

/* --------------------------------------------------------------------
 * Running a script
 * ------------------------------------------------------------------ */

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    eng.instructions += HOOK_EVERY;
    if (eng.instructions > SCRIPT_MAX_INSTRUCTIONS) {
        lua_sethook(L, NULL, 0, 0);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "BUSY script stopped after %llu Lua instructions (writes it made are kept)",
                 (unsigned long long)SCRIPT_MAX_INSTRUCTIONS);
        raise_err(L, msg);
    }
}

/* The error handler: the error and where in the script it happened. */
static int on_error(lua_State *L)
{
    int line = -1;
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (strcmp(ar.source, eng.source) == 0) {
            line = ar.currentline;
            break;
        }
    }
    const char *msg;
    char owned[512];
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "err");
        msg = lua_tostring(L, -1);
        snprintf(owned, sizeof owned, "%s", msg ? msg : "ERR unknown error");
    } else {
        msg = lua_tostring(L, 1);
        snprintf(owned, sizeof owned, "ERR %s", msg ? msg : "unknown error");
    }
    if (strncmp(owned, "BUSY ", 5) == 0) {
        lua_pushstring(L, owned);
        return 1;
    }
    char full[700];
    snprintf(full, sizeof full, "%s script: %s, on %s:%d.", owned, eng.label, eng.source, line);
    lua_pushstring(L, full);
    return 1;
}

static void set_array(lua_State *L, const char *name, const struct resp_arg *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushstring(L, name);
    lua_insert(L, -2);
    lua_rawset(L, LUA_GLOBALSINDEX);
}

/* Writes a Lua value as a RESP2 reply, as Redis's luaReplyToRedisReply. */
static void write_value(struct resp_out *o, lua_State *L, int idx, int depth)
{
    int t = lua_type(L, idx);
    if (depth > MAX_REPLY_DEPTH) {
        resp_null(o);
        return;
    }
    switch (t) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        resp_bulk(o, s, len);
        return;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) resp_int(o, 1);
        else resp_null(o);
        return;
    case LUA_TNUMBER:
        resp_int(o, (long long)lua_tonumber(L, idx));
        return;
    case LUA_TTABLE: {
        lua_getfield(L, idx, "err");
        if (lua_isstring(L, -1)) {
            struct buf text = BUF_INIT;
            buf_append_str(&text, "-");
            buf_append_str(&text, lua_tostring(L, -1));
            for (size_t i = 0; i < text.len; i++)
                if (text.data[i] == '\r' || text.data[i] == '\n') text.data[i] = ' ';
            buf_append_str(&text, "\r\n");
            resp_raw(o, text.data, text.len);
            buf_free(&text);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
        lua_getfield(L, idx, "ok");
        if (lua_isstring(L, -1)) {
            struct buf text = BUF_INIT;
            buf_append_str(&text, lua_tostring(L, -1));
            for (size_t i = 0; i < text.len; i++)
                if (text.data[i] == '\r' || text.data[i] == '\n') text.data[i] = ' ';
            buf_append(&text, "", 1);
            resp_simple(o, text.data);
            buf_free(&text);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
        size_t h = resp_defer_len(o);
        long long n = 0;
        for (int i = 1;; i++) {
            lua_rawgeti(L, idx, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            write_value(o, L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            n++;
        }
        resp_set_deferred_len(o, h, '*', n);
        return;
    }
    default:
        resp_null(o);
    }
}

/* Pushes an array of strings. */
static void push_array(lua_State *L, const struct resp_arg *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, v[i].ptr, v[i].len);
        lua_rawseti(L, -2, i + 1);
    }
}

void script_run(struct cmd_ctx *c, const char *label, const char *source, const char *table,
                const char *name, const struct resp_arg *keys, int nkeys,
                const struct resp_arg *args, int nargs, bool read_only, bool as_params)
{
    lua_State *L = engine();
    struct cmd_ctx *outer = eng.ctx;
    eng.ctx = c;
    eng.read_only = read_only;
    eng.instructions = 0;
    eng.source = source;
    snprintf(eng.label, sizeof eng.label, "%s", label);
    srand48_((int32_t)dict_rand64(&c->rng));
    lua_pushcfunction(L, on_error);
    int handler = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, table);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    int nparams = 0;
    if (as_params) {
        push_array(L, keys, nkeys);
        push_array(L, args, nargs);
        nparams = 2;
    } else {
        set_array(L, "KEYS", keys, nkeys);
        set_array(L, "ARGV", args, nargs);
    }
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    int rc = lua_pcall(L, nparams, 1, handler);
    lua_sethook(L, NULL, 0, 0);
    if (rc != 0) {
        const char *msg = lua_tostring(L, -1);
        resp_raw(&c->out, "-", 1);
        struct buf text = BUF_INIT;
        buf_append_str(&text, msg ? msg : "ERR script failed");
        for (size_t i = 0; i < text.len; i++)
            if (text.data[i] == '\r' || text.data[i] == '\n') text.data[i] = ' ';
        resp_raw(&c->out, text.data, text.len);
        resp_raw(&c->out, "\r\n", 2);
        buf_free(&text);
    } else {
        write_value(&c->out, L, lua_gettop(L), 0);
    }
    lua_settop(L, handler - 1);
    lua_gc(L, LUA_GCSTEP, 1);
    eng.ctx = outer;
}

static void run(struct cmd_ctx *c, const char sha[41], const struct resp_arg *keys, int nkeys,
                const struct resp_arg *args, int nargs, bool read_only)
{
    script_run(c, sha, "@user_script", "parley_scripts", sha, keys, nkeys, args, nargs, read_only,
               false);
}

lua_State *script_lua(void)
{
    return engine();
}

/* --------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------ */

/* EVAL/EVALSHA argument 2 and on: numkeys, keys, args. */
static bool parse_keys(struct cmd_ctx *c, long long *nkeys)
{
    if (!arg_get_ll_or_reply(c, &c->argv[2], nkeys)) return false;
    if (*nkeys < 0) {
        resp_error(&c->out, "ERR Number of keys can't be negative");
        return false;
    }
    if (*nkeys > c->argc - 3) {
        resp_error(&c->out, "ERR Number of keys can't be greater than number of args");
        return false;
    }
    return true;
}

static void eval_generic(struct cmd_ctx *c, bool read_only)
{
    long long nkeys;
    if (!parse_keys(c, &nkeys)) return;
    const struct resp_arg *body = &c->argv[1];
    char sha[41], err[512];
    script_sha1_hex(body->ptr, body->len, sha);
    if (!compile(sha, body->ptr, body->len, err, sizeof err)) {
        resp_error(&c->out, err);
        return;
    }
    /* EVAL caches the script on every node (EVAL_RO is not logged). */
    if (c->apply) scripts_add(&c->store->scripts, sha, body->ptr, body->len);
    run(c, sha, &c->argv[3], (int)nkeys, &c->argv[3 + nkeys], c->argc - 3 - (int)nkeys, read_only);
}

static void evalsha_generic(struct cmd_ctx *c, bool read_only)
{
    long long nkeys;
    if (!parse_keys(c, &nkeys)) return;
    char sha[41];
    const struct resp_arg *a = &c->argv[1];
    const struct script_body *b = NULL;
    if (a->len == 40) {
        for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)a->ptr[i]);
        sha[40] = '\0';
        b = scripts_find(&c->store->scripts, sha);
    }
    char err[512];
    if (b == NULL) {
        resp_error(&c->out, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    if (!compile(sha, b->text, b->len, err, sizeof err)) {
        resp_error(&c->out, err);
        return;
    }
    run(c, sha, &c->argv[3], (int)nkeys, &c->argv[3 + nkeys], c->argc - 3 - (int)nkeys, read_only);
}

static void cmd_eval(struct cmd_ctx *c) { eval_generic(c, false); }
static void cmd_eval_ro(struct cmd_ctx *c) { eval_generic(c, true); }
static void cmd_evalsha(struct cmd_ctx *c) { evalsha_generic(c, false); }
static void cmd_evalsha_ro(struct cmd_ctx *c) { evalsha_generic(c, true); }

static void cmd_script_load(struct cmd_ctx *c)
{
    const struct resp_arg *body = &c->argv[2];
    char sha[41], err[512];
    script_sha1_hex(body->ptr, body->len, sha);
    if (!compile(sha, body->ptr, body->len, err, sizeof err)) {
        resp_error(&c->out, err);
        return;
    }
    scripts_add(&c->store->scripts, sha, body->ptr, body->len);
    resp_bulk(&c->out, sha, 40);
}

static void cmd_script_exists(struct cmd_ctx *c)
{
    resp_array(&c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        char sha[40];
        bool found = false;
        if (c->argv[j].len == 40) {
            for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)c->argv[j].ptr[i]);
            found = scripts_find(&c->store->scripts, sha) != NULL;
        }
        resp_int(&c->out, found);
    }
}

static void cmd_script_flush(struct cmd_ctx *c)
{
    if (c->argc == 3 && !arg_is(&c->argv[2], "sync") && !arg_is(&c->argv[2], "async")) {
        resp_error(&c->out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    scripts_clear(&c->store->scripts);
    /* Compiled functions stay until the process ends: harmless, since
     * EVALSHA finds nothing without the replicated body. */
    resp_ok(&c->out);
}

static void cmd_script_kill(struct cmd_ctx *c)
{
    resp_error(&c->out, "NOTBUSY No scripts in execution right now.");
}

static void cmd_script_help(struct cmd_ctx *c)
{
    static const char *lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&c->out, lines[i]);
}

#define END {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL}
#define SC (ACL_SCRIPTING | ACL_SLOW)
#define EVALFL (CMD_NOSCRIPT | CMD_STALE)

static const struct cmd_def script_subs[] = {
    {"script|load", 3, CMD_WRITE | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, SC, cmd_script_load,
     "scripting", "2.6.0", "Loads a server-side Lua script to the script cache.",
     "O(N) with N being the length in bytes of the script body.", NULL},
    {"script|exists", -3, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_script_exists, "scripting",
     "2.6.0", "Determines whether server-side Lua scripts exist in the script cache.",
     "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", NULL},
    {"script|flush", -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_script_flush, "scripting", "2.6.0",
     "Removes all server-side Lua scripts from the script cache.",
     "O(N) with N being the number of scripts in cache", NULL},
    {"script|kill", 2, CMD_LOCAL | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC, cmd_script_kill,
     "scripting", "2.6.0", "Terminates a server-side Lua script during execution.", "O(1)", NULL},
    {"script|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, 0, 0, SC, cmd_script_help, "scripting",
     "5.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL},
    END,
};

const struct cmd_def cmd_rows_script[] = {
    {"eval", -3, CMD_WRITE | EVALFL, 0, 0, 0, SC, cmd_eval, "scripting", "2.6.0",
     "Executes a server-side Lua script.", "Depends on the script that is executed.", NULL},
    {"evalsha", -3, CMD_WRITE | EVALFL, 0, 0, 0, SC, cmd_evalsha, "scripting", "2.6.0",
     "Executes a server-side Lua script by SHA1 digest.", "Depends on the script that is executed.", NULL},
    {"eval_ro", -3, CMD_READONLY | EVALFL, 0, 0, 0, SC, cmd_eval_ro, "scripting", "7.0.0",
     "Executes a read-only server-side Lua script.", "Depends on the script that is executed.", NULL},
    {"evalsha_ro", -3, CMD_READONLY | EVALFL, 0, 0, 0, SC, cmd_evalsha_ro, "scripting", "7.0.0",
     "Executes a read-only server-side Lua script by SHA1 digest.",
     "Depends on the script that is executed.", NULL},
    {"script", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "scripting", "2.6.0",
     "A container for Lua scripts management commands.", "Depends on subcommand.", script_subs},
    END,
};
