/* cmds/lua_redis.c — what a script sees of Redis: the `redis` table
 * (call, pcall, error_reply, status_reply, sha1hex, log, and the no-ops
 * Redis 7.0 keeps for old scripts), math.random as Redis's drand48, and
 * the conversions between RESP replies and Lua values both ways
 * (sandbox_reply), as Redis 7.0 does them for RESP2.
 *
 * Everything here runs inside a sandbox run (lua_sandbox.c) and may raise
 * Lua errors at any point, so it holds no C resource across a call that
 * can raise: the argument vector and the reply of redis.call live in
 * buffers of this file that are reused from run to run. Work is charged
 * to the run's budget: the bytes of every argument and reply, one unit
 * per element converted. */
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "base/log.h"
#include "base/mem.h"
#include "cmds/acl.h"
#include "cmds/lua_sandbox.h"
#include "cmds/script.h"

#define MAX_REPLY_DEPTH 100      /* redis.call replies pushed into Lua */
#define MAX_SCRIPT_REPLY_DEPTH 4000 /* a script's reply: deeper is Redis's stack-limit error */
#define BYTES_PER_UNIT 64
#define UNITS_PER_ELEMENT 8
#define LOG_LINE_MAX 4096  /* redis.log: longer messages are cut */
#define LOG_LINES_MAX 100  /* redis.log: lines per run; the rest are dropped */
#define SCRATCH_KEEP (1u << 20)

static struct {
    uint64_t rand48;         /* drand48 state */
    unsigned log_lines;      /* redis.log lines written in this run */
    struct buf reply;        /* redis.call's reply */
    struct resp_arg *argv;   /* redis.call's arguments */
    char (*nums)[32];        /* numbers formatted as arguments */
    int argv_cap;
} rl;

void script_sha1_hex(const char *text, size_t len, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, len, md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20; i++) sprintf(out + 2 * i, "%02x", md[i]);
    out[40] = '\0';
}

/* --------------------------------------------------------------------
 * math.random: Redis's drand48, seeded from the log entry for each run
 * ------------------------------------------------------------------ */

static void srand48_(int32_t seed)
{
    rl.rand48 = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

static int32_t lrand48_(void)
{
    rl.rand48 = (rl.rand48 * 0x5DEECE66Dull + 0xB) & 0xFFFFFFFFFFFFull;
    return (int32_t)(rl.rand48 >> 17);
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
    luaL_checkstack(L, 4, "reply nested too deeply");
    sandbox_charge(L, UNITS_PER_ELEMENT);
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
        if (n < 0 || n > end - p) {
            lua_pushboolean(L, 0);
        } else {
            lua_pushlstring(L, p, (size_t)n);
            p += n + 2;
        }
        break;
    case '+':
    case '-':
        lua_createtable(L, 0, 1);
        lua_pushstring(L, type == '+' ? "ok" : "err");
        lua_pushlstring(L, *pp + 1, (size_t)(eol - *pp - 1));
        lua_rawset(L, -3);
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
 * redis.call and redis.pcall
 * ------------------------------------------------------------------ */

/* Pushes the error table Redis's redis.call raises: {err = msg}. */
static void push_err(lua_State *L, const char *msg, size_t len)
{
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "err");
    lua_pushlstring(L, msg, len);
    lua_rawset(L, -3);
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

static void reserve_args(int argc)
{
    if (argc <= rl.argv_cap) return;
    rl.argv_cap = argc;
    rl.argv = xrealloc(rl.argv, (size_t)argc * sizeof *rl.argv);
    rl.nums = xrealloc(rl.nums, (size_t)argc * sizeof *rl.nums);
}

/* Runs the command the arguments name into rl.reply; returns NULL or
 * the reason it may not run. */
static const char *run_command(lua_State *L, int argc)
{
    const struct sandbox_run *run = sandbox_current();
    struct cmd_ctx *c = run->ctx;
    if (argc == 0) return "ERR Please specify at least one argument for this redis lib call";
    reserve_args(argc);
    uint64_t bytes = 0;
    for (int j = 0; j < argc; j++) {
        int t = lua_type(L, j + 1);
        if (t == LUA_TNUMBER) {
            rl.argv[j].len = number_text(lua_tonumber(L, j + 1), rl.nums[j], sizeof rl.nums[j]);
            rl.argv[j].ptr = rl.nums[j];
        } else if (t == LUA_TSTRING) {
            rl.argv[j].ptr = lua_tolstring(L, j + 1, &rl.argv[j].len);
        } else {
            return "ERR Lua redis lib command arguments must be strings or integers";
        }
        bytes += rl.argv[j].len;
    }
    sandbox_charge(L, 1 + bytes / BYTES_PER_UNIT);
    const struct cmd_def *d = cmd_lookup(rl.argv[0].ptr, rl.argv[0].len, false);
    if (d && (d->flags & CMD_CONTAINER) && argc >= 2) d = cmd_lookup_sub(d, rl.argv[1].ptr, rl.argv[1].len);
    bool is_time = d && !strcmp(d->name, "time");
    if (d == NULL) return "ERR Unknown Redis command called from script";
    if (!cmd_arity_ok(d, argc)) return "ERR Wrong number of args calling Redis command from script";
    if ((d->flags & CMD_NOSCRIPT) || (d->exec == NULL && !is_time))
        return "ERR This Redis command is not allowed from script";
    if (run->read_only && (d->flags & CMD_WRITE))
        return "ERR Write commands are not allowed from read-only scripts.";
    if (c->acl_user) {
        /* The caller's permissions, as the replicated users are at this
         * log index: the same answer on every node. */
        int bad;
        switch (acl_check(c->store, c->acl_user, c->acl_user_len, d, argc, rl.argv, &bad)) {
        case ACL_ALLOWED:
            break;
        case ACL_DENIED_KEY:
            return "ERR The user executing the script can't access at least one of the keys mentioned in the command";
        case ACL_DENIED_CHANNEL:
            return "ERR The user executing the script can't publish to the channel mentioned in the command";
        default:
            return "ERR The user executing the script can't run this command or subcommand";
        }
    }
    buf_clear(&rl.reply);
    if (is_time) {
        /* The entry's time, not this node's clock. */
        char s[24], us[24];
        int ns = snprintf(s, sizeof s, "%lld", (long long)(c->now_ms / 1000));
        int nus = snprintf(us, sizeof us, "%lld", (long long)(c->now_ms % 1000) * 1000);
        buf_printf(&rl.reply, "*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", ns, s, nus, us);
    } else {
        struct cmd_ctx sub = *c;
        sub.no_block = true; /* blocking commands answer nil in scripts */
        sub.in_script = true;
        sub.out.buf = &rl.reply;
        sub.out.proto = 2;
        sub.argc = argc;
        sub.argv = rl.argv;
        sub.cmd = d;
        cmd_exec(&sub);
        c->rng = sub.rng;
    }
    return NULL;
}

static int redis_call_generic(lua_State *L, bool raise)
{
    const char *problem = run_command(L, lua_gettop(L));
    if (problem) {
        push_err(L, problem, strlen(problem));
        return raise ? lua_error(L) : 1;
    }
    sandbox_charge(L, rl.reply.len / BYTES_PER_UNIT);
    const char *p = rl.reply.data ? rl.reply.data : "";
    if (raise && rl.reply.len && p[0] == '-') {
        /* redis.call raises the command's error; the caller's reply will
         * carry it with the script's position. */
        const char *eol = line_end(p, p + rl.reply.len);
        push_err(L, p + 1, eol ? (size_t)(eol - p - 1) : rl.reply.len - 1);
        return lua_error(L);
    }
    push_reply(L, &p, p + rl.reply.len, 0);
    if (rl.reply.cap > SCRATCH_KEEP) buf_free(&rl.reply);
    return 1;
}

static int lua_redis_call(lua_State *L) { return redis_call_generic(L, true); }
static int lua_redis_pcall(lua_State *L) { return redis_call_generic(L, false); }

/* --------------------------------------------------------------------
 * The rest of the redis table
 * ------------------------------------------------------------------ */

static int reply_table(lua_State *L, const char *field)
{
    luaL_checkstring(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, field);
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    return 1;
}

static int lua_error_reply(lua_State *L) { return reply_table(L, "err"); }
static int lua_status_reply(lua_State *L) { return reply_table(L, "ok"); }

static int lua_sha1hex(lua_State *L)
{
    if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    sandbox_charge(L, s ? len / BYTES_PER_UNIT : 0);
    char hex[41];
    script_sha1_hex(s ? s : "", s ? len : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

/* redis.log(level, ...): a script runs on every node, so each line is
 * written by every node; lines are cut at LOG_LINE_MAX bytes and a run
 * writes at most LOG_LINES_MAX of them. */
static int lua_log(lua_State *L)
{
    int argc = lua_gettop(L);
    if (argc < 2) return luaL_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return luaL_error(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, 1);
    if (level < LOG_DEBUG || level > LOG_WARNING) return luaL_error(L, "Invalid debug level.");
    if (rl.log_lines >= LOG_LINES_MAX) return 0;
    char line[LOG_LINE_MAX + 1];
    size_t used = 0;
    bool cut = false;
    for (int j = 2; j <= argc; j++) {
        size_t len;
        const char *s = lua_tolstring(L, j, &len);
        if (s == NULL) continue;
        if (j > 2 && used < LOG_LINE_MAX) line[used++] = ' ';
        size_t take = len < LOG_LINE_MAX - used ? len : LOG_LINE_MAX - used;
        if (take < len) cut = true;
        memcpy(line + used, s, take);
        used += take;
    }
    line[used] = '\0';
    sandbox_charge(L, used / BYTES_PER_UNIT);
    log_msg((enum log_level)level, "%s%s", line, cut ? "..." : "");
    if (++rl.log_lines == LOG_LINES_MAX)
        log_msg((enum log_level)level, "redis.log: the script wrote %d lines; further lines of this "
                "run are dropped", LOG_LINES_MAX);
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

static void set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
}

static void set_int(lua_State *L, const char *name, int v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

void lua_redis_start(lua_State *L)
{
    (void)L;
    srand48_((int32_t)dict_rand64(&sandbox_current()->ctx->rng));
    rl.log_lines = 0;
}

void lua_redis_open(lua_State *L)
{
    lua_getfield(L, LUA_GLOBALSINDEX, "math");
    set_fn(L, "random", lua_math_random);
    set_fn(L, "randomseed", lua_math_randomseed);
    lua_pop(L, 1);
    lua_createtable(L, 0, 24);
    set_fn(L, "call", lua_redis_call);
    set_fn(L, "pcall", lua_redis_pcall);
    set_fn(L, "error_reply", lua_error_reply);
    set_fn(L, "status_reply", lua_status_reply);
    set_fn(L, "sha1hex", lua_sha1hex);
    set_fn(L, "setresp", lua_nothing);
    set_fn(L, "set_repl", lua_nothing);
    set_fn(L, "replicate_commands", lua_true);
    set_fn(L, "breakpoint", lua_nothing);
    set_fn(L, "debug", lua_nothing);
    set_int(L, "REPL_NONE", 0);
    set_int(L, "REPL_AOF", 1);
    set_int(L, "REPL_SLAVE", 2);
    set_int(L, "REPL_REPLICA", 2);
    set_int(L, "REPL_ALL", 3);
    set_fn(L, "log", lua_log);
    set_int(L, "LOG_DEBUG", LOG_DEBUG);
    set_int(L, "LOG_VERBOSE", LOG_VERBOSE);
    set_int(L, "LOG_NOTICE", LOG_NOTICE);
    set_int(L, "LOG_WARNING", LOG_WARNING);
    lua_setfield(L, LUA_GLOBALSINDEX, "redis");
}

/* --------------------------------------------------------------------
 * Lua to RESP
 * ------------------------------------------------------------------ */

struct reply_writer {
    lua_State *L;
    struct resp_out *o;
    size_t start;
    bool too_deep;
};

/* A string's text on one line, for status and error replies. */
static void write_line(struct resp_out *o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i] == '\r' || s[i] == '\n' ? ' ' : s[i];
        resp_raw(o, &ch, 1);
    }
    resp_raw(o, "\r\n", 2);
}

/* Redis casts the double to long long; out of range, x86 gives LLONG_MIN. */
static long long number_to_integer(lua_Number v)
{
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
    return (long long)v;
}

static void write_value(struct reply_writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    struct resp_out *o = w->o;
    sandbox_charge(L, UNITS_PER_ELEMENT);
    if (o->buf->len - w->start > sandbox_memory())
        luaL_error(L, "the script's reply is larger than %d MB", (int)(sandbox_memory() >> 20));
    if (w->too_deep) return;
    if (depth > MAX_SCRIPT_REPLY_DEPTH || !lua_checkstack(L, 4)) {
        w->too_deep = true;
        return;
    }
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        sandbox_charge(L, len / BYTES_PER_UNIT);
        resp_bulk(o, s, len);
        return;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) resp_int(o, 1);
        else resp_null(o);
        return;
    case LUA_TNUMBER:
        resp_int(o, number_to_integer(lua_tonumber(L, idx)));
        return;
    case LUA_TTABLE: {
        size_t len;
        lua_pushliteral(L, "err");
        lua_rawget(L, idx);
        if (lua_isstring(L, -1)) {
            const char *s = lua_tolstring(L, -1, &len);
            resp_raw(o, "-", 1);
            write_line(o, s, len);
            lua_pop(L, 1);
            return;
        }
        lua_pop(L, 1);
        lua_pushliteral(L, "ok");
        lua_rawget(L, idx);
        if (lua_isstring(L, -1)) {
            const char *s = lua_tolstring(L, -1, &len);
            resp_raw(o, "+", 1);
            write_line(o, s, len);
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
            write_value(w, lua_gettop(L), depth + 1);
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

void sandbox_reply(lua_State *L, int idx)
{
    const struct sandbox_run *run = sandbox_current();
    struct reply_writer w = {L, &run->ctx->out, run->ctx->out.buf->len, false};
    write_value(&w, idx < 0 ? lua_gettop(L) + idx + 1 : idx, 0);
    if (w.too_deep) {
        /* As Redis 7.0: the whole reply becomes the error. */
        w.o->buf->len = w.start;
        resp_error(w.o, "ERR reached lua stack limit");
    }
}
