/* cmds/function.c — Redis 7 functions: FUNCTION LOAD, LIST, DELETE, FLUSH,
 * DUMP, RESTORE, STATS, KILL, HELP; FCALL and FCALL_RO.
 *
 * Library code ("#!lua name=<lib>" then Lua) is replicated state
 * (store/scripts.h): FUNCTION LOAD is applied from the log on every node,
 * which runs the code in a small loading environment where
 * redis.register_function collects the library's functions. Each node keeps
 * what that produced (the callbacks, in the Lua registry) and rebuilds it
 * from the replicated libraries whenever they changed under it (a snapshot
 * restored, a restart), so FCALL finds on every node what was loaded.
 *
 * Functions run through the same engine as EVAL (script.c), with keys and
 * args as their two parameters. The DUMP payload is Parley's own format
 * ("PRLYFN1", then the libraries' code), opaque to clients as Redis's is. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/hash.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/script.h"

#define FN_TABLE "parley_functions"     /* function name -> callback */
#define FN_META "parley_function_meta"  /* function name -> {lib, desc, flags} */
#define PAYLOAD_MAGIC "PRLYFN1"
#define MAX_NAME 127 /* library and function names */

static uint64_t loaded_version; /* the libraries version the registry reflects */

/* --------------------------------------------------------------------
 * Loading a library
 * ------------------------------------------------------------------ */

struct loading {
    char lib[MAX_NAME + 1];
    int registered;
    char error[256];
};

static struct loading *current_load;

/* Fails FUNCTION LOAD with msg, reported as Redis does: "ERR Error
 * registering functions: ERR <msg>" unless final (then "ERR <msg>"). */
static int load_error(lua_State *L, bool final, const char *fmt, const char *arg)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, arg);
    snprintf(current_load->error, sizeof current_load->error, "%s%s",
             final ? "ERR " : "ERR Error registering functions: ERR ", msg);
    lua_pushstring(L, msg);
    return lua_error(L);
}

static bool valid_name(const char *p, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '_') return false;
    return true;
}

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags=, description=} */
static int lua_register_function(lua_State *L)
{
    struct loading *ld = current_load;
    if (ld == NULL)
        return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD command");
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0;
    int flags_idx = 0, cb_idx;
    if (lua_gettop(L) == 1 && lua_istable(L, 1)) {
        lua_getfield(L, 1, "function_name");
        lua_getfield(L, 1, "callback");
        lua_getfield(L, 1, "flags");
        lua_getfield(L, 1, "description");
        name = lua_tolstring(L, 2, &nlen);
        cb_idx = 3;
        flags_idx = lua_istable(L, 4) ? 4 : 0;
        desc = lua_tostring(L, 5);
    } else if (lua_gettop(L) == 2) {
        name = lua_tolstring(L, 1, &nlen);
        cb_idx = 2;
    } else {
        return load_error(L, false, "%swrong number of arguments to redis.register_function", "");
    }
    if (name != NULL && nlen > MAX_NAME)
        return load_error(L, false, "Function names are limited to %s characters", "127");
    if (name == NULL || !valid_name(name, nlen))
        return load_error(L, false, "%sFunction names can only contain letters, numbers, or "
                          "underscores(_) and must be at least one character long", "");
    if (!lua_isfunction(L, cb_idx)) return load_error(L, false, "%scallback must be a function", "");
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    lua_getfield(L, -1, name);
    bool exists = !lua_isnil(L, -1);
    lua_pop(L, 2);
    if (exists) return load_error(L, true, "Function %s already exists", name);
    /* Metadata: library, description, flags. */
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    lua_newtable(L);
    lua_pushstring(L, ld->lib);
    lua_setfield(L, -2, "lib");
    if (desc) {
        lua_pushstring(L, desc);
        lua_setfield(L, -2, "desc");
    }
    lua_newtable(L);
    int nflags = 0;
    if (flags_idx) {
        for (int i = 1;; i++) {
            lua_rawgeti(L, flags_idx, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            const char *f = lua_tostring(L, -1);
            if (f == NULL || (strcmp(f, "no-writes") && strcmp(f, "allow-oom") &&
                              strcmp(f, "allow-stale") && strcmp(f, "no-cluster") &&
                              strcmp(f, "allow-cross-slot-keys")))
                return load_error(L, false, "%sunknown flag given", "");
            lua_rawseti(L, -2, ++nflags);
        }
    }
    lua_setfield(L, -2, "flags");
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, FN_TABLE);
    lua_pushvalue(L, cb_idx);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    ld->registered++;
    return 0;
}

/* The environment of every library's code. While it loads, it sees only
 * what a library needs to define functions (and redis.register_function,
 * redis.log); when its functions run, they see the globals scripts see.
 * Either way it cannot be written to. */
static const char *const env_code =
    "local G, loading, load_redis = ...\n"
    "local allowed = {}\n"
    "for _, n in ipairs({'string', 'table', 'math', 'pairs', 'ipairs', 'type', 'tostring',\n"
    "    'tonumber', 'select', 'unpack', 'next', 'assert', 'error', 'pcall', 'rawget', 'rawset',\n"
    "    'rawequal', 'setmetatable', 'getmetatable'}) do allowed[n] = true end\n"
    "local function missing(n) error(\"Script attempted to access nonexistent global variable '\""
    " .. tostring(n) .. \"'\", 3) end\n"
    "setmetatable(load_redis, {__index = function(t, n) missing(n) end})\n"
    "return setmetatable({}, {\n"
    "  __index = function(t, n)\n"
    "    if loading() then\n"
    "      if n == 'redis' then return load_redis end\n"
    "      if not allowed[n] then missing(n) end\n"
    "    end\n"
    "    local v = rawget(G, n)\n"
    "    if v == nil then missing(n) end\n"
    "    return v\n"
    "  end,\n"
    "  __newindex = function() error('Attempt to modify a readonly table', 2) end,\n"
    "})\n";

static int lua_loading(lua_State *L)
{
    lua_pushboolean(L, current_load != NULL);
    return 1;
}

/* Pushes the library environment (made on first use, kept in the registry). */
static void push_library_env(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "parley_library_env");
    if (!lua_isnil(L, -1)) return;
    lua_pop(L, 1);
    if (luaL_loadstring(L, env_code) != 0) abort();
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushcfunction(L, lua_loading);
    lua_newtable(L); /* redis, while loading */
    lua_pushcfunction(L, lua_register_function);
    lua_setfield(L, -2, "register_function");
    lua_getfield(L, LUA_GLOBALSINDEX, "redis");
    for (const char *const *c = (const char *const[]){"log", "LOG_DEBUG", "LOG_VERBOSE",
                                                      "LOG_NOTICE", "LOG_WARNING", NULL};
         *c; c++) {
        lua_getfield(L, -1, *c);
        lua_setfield(L, -3, *c);
    }
    lua_pop(L, 1);
    if (lua_pcall(L, 3, 1, 0) != 0) abort();
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "parley_library_env");
}

/* Drops every function of lib from the registry. */
static void unregister_library(lua_State *L, const char *lib)
{
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    struct buf names = BUF_INIT;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_getfield(L, -1, "lib");
        if (strcmp(lua_tostring(L, -1), lib) == 0) {
            buf_append_str(&names, lua_tostring(L, -3));
            buf_append(&names, "", 1);
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    for (size_t off = 0; off < names.len; off += strlen(names.data + off) + 1) {
        lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
        lua_pushnil(L);
        lua_setfield(L, -2, names.data + off);
        lua_getfield(L, LUA_REGISTRYINDEX, FN_TABLE);
        lua_pushnil(L);
        lua_setfield(L, -2, names.data + off);
        lua_pop(L, 2);
    }
    buf_free(&names);
}

/* Parses "#!lua name=<lib>" at the head of code. */
static bool parse_header(const char *code, size_t len, char *lib, size_t libcap, char *err,
                         size_t errlen)
{
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errlen, "ERR Missing library metadata");
        return false;
    }
    const char *eol = memchr(code, '\n', len);
    size_t hlen = eol ? (size_t)(eol - code) : len;
    char header[512];
    snprintf(header, sizeof header, "%.*s", (int)(hlen - 2 < 500 ? hlen - 2 : 500), code + 2);
    char *save = NULL, *engine_name = strtok_r(header, " ", &save);
    if (engine_name == NULL || strcasecmp(engine_name, "lua") != 0) {
        snprintf(err, errlen, "ERR Engine '%s' not found", engine_name ? engine_name : "");
        return false;
    }
    lib[0] = '\0';
    for (char *tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "name=", 5) == 0) {
            if (strlen(tok + 5) >= libcap) {
                snprintf(err, errlen, "ERR Library names are limited to %zu characters", libcap - 1);
                return false;
            }
            snprintf(lib, libcap, "%s", tok + 5);
        } else {
            snprintf(err, errlen, "ERR Invalid metadata value given: %s", tok);
            return false;
        }
    }
    if (lib[0] == '\0') {
        snprintf(err, errlen, "ERR Library name was not given");
        return false;
    }
    if (!valid_name(lib, strlen(lib))) {
        snprintf(err, errlen, "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
        return false;
    }
    return true;
}

/* Runs a library's code in the library environment, registering its
 * functions under lib. The header line is compiled as a comment, so that
 * error lines count from it as Redis's do. */
static bool run_library(lua_State *L, const char *lib, const char *code, size_t len, char *err,
                        size_t errlen)
{
    struct loading ld = {0};
    snprintf(ld.lib, sizeof ld.lib, "%s", lib);
    current_load = &ld;
    char *copy = xmalloc(len);
    memcpy(copy, code, len);
    copy[0] = copy[1] = '-';
    bool ok = false;
    if (luaL_loadbuffer(L, copy, len, "@user_function") != 0) {
        snprintf(err, errlen, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
    } else {
        push_library_env(L);
        lua_setfenv(L, -2);
        if (lua_pcall(L, 0, 0, 0) != 0) {
            if (ld.error[0]) snprintf(err, errlen, "%s", ld.error);
            else snprintf(err, errlen, "ERR Error registering functions: ERR %s", lua_tostring(L, -1));
            lua_pop(L, 1);
        } else if (ld.registered == 0) {
            snprintf(err, errlen, "ERR No functions registered");
        } else {
            ok = true;
        }
    }
    free(copy);
    current_load = NULL;
    if (!ok) unregister_library(L, lib);
    return ok;
}

/* Loads a library's code into the registry; on failure leaves the
 * registry as it was (a replaced library's previous code loaded again)
 * and writes Redis's error. */
static bool load_library(const char *code, size_t len, bool replace, struct store *store,
                         char *lib, size_t libcap, char *err, size_t errlen)
{
    lua_State *L = script_lua();
    if (!parse_header(code, len, lib, libcap, err, errlen)) return false;
    struct dict_entry *e = dict_find(&store->scripts.libraries, lib, strlen(lib));
    if (e && !replace) {
        snprintf(err, errlen, "ERR Library '%s' already exists", lib);
        return false;
    }
    unregister_library(L, lib);
    if (run_library(L, lib, code, len, err, errlen)) return true;
    if (e) {
        const struct script_body *old = e->v.ptr;
        char e2[256];
        run_library(L, lib, old->text, old->len, e2, sizeof e2);
    }
    return false;
}

/* Makes the registry reflect the replicated libraries. */
static void sync_registry(struct store *store)
{
    if (loaded_version == store->scripts.version) return;
    lua_State *L = script_lua();
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, FN_TABLE);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, FN_META);
    struct dict_iter it;
    dict_iter_init(&it, &store->scripts.libraries);
    struct dict_entry *e;
    /* Each library is in the dict already: load with replace. */
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        char lib[MAX_NAME + 1], err[256];
        load_library(b->text, b->len, true, store, lib, sizeof lib, err, sizeof err);
    }
    loaded_version = store->scripts.version;
}

/* --------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------ */

static void cmd_function_load(struct cmd_ctx *c)
{
    sync_registry(c->store);
    bool replace = false;
    int code_idx = 2;
    if (c->argc == 4) {
        if (!arg_is(&c->argv[2], "replace")) {
            resp_errorf(&c->out, "ERR Unknown option given: %.*s", (int)c->argv[2].len, c->argv[2].ptr);
            return;
        }
        replace = true;
        code_idx = 3;
    } else if (c->argc > 4) {
        cmd_reply_syntax_error(c);
        return;
    }
    const struct resp_arg *code = &c->argv[code_idx];
    char lib[MAX_NAME + 1], err[512];
    if (!load_library(code->ptr, code->len, replace, c->store, lib, sizeof lib, err, sizeof err)) {
        loaded_version = c->store->scripts.version;
        resp_error(&c->out, err);
        return;
    }
    scripts_set_library(&c->store->scripts, lib, strlen(lib), code->ptr, code->len);
    loaded_version = c->store->scripts.version;
    resp_bulk_str(&c->out, lib);
}

static void cmd_function_delete(struct cmd_ctx *c)
{
    sync_registry(c->store);
    const struct resp_arg *name = &c->argv[2];
    if (!scripts_delete_library(&c->store->scripts, name->ptr, name->len)) {
        resp_error(&c->out, "ERR Library not found");
        return;
    }
    char lib[MAX_NAME + 1];
    snprintf(lib, sizeof lib, "%.*s", (int)(name->len < MAX_NAME ? name->len : MAX_NAME), name->ptr);
    unregister_library(script_lua(), lib);
    loaded_version = c->store->scripts.version;
    resp_ok(&c->out);
}

static void cmd_function_flush(struct cmd_ctx *c)
{
    if (c->argc == 3 && !arg_is(&c->argv[2], "sync") && !arg_is(&c->argv[2], "async")) {
        resp_error(&c->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    scripts_clear_libraries(&c->store->scripts);
    sync_registry(c->store);
    resp_ok(&c->out);
}

/* The functions of lib, for FUNCTION LIST: [name, n, description, d, flags, [..]] each. */
static void list_functions(struct cmd_ctx *c, const char *lib)
{
    lua_State *L = script_lua();
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_getfield(L, -1, "lib");
        bool mine = strcmp(lua_tostring(L, -1), lib) == 0;
        lua_pop(L, 1);
        if (mine) {
            resp_map(&c->out, 3);
            resp_bulk_str(&c->out, "name");
            resp_bulk_str(&c->out, lua_tostring(L, -2));
            resp_bulk_str(&c->out, "description");
            lua_getfield(L, -1, "desc");
            if (lua_isstring(L, -1)) resp_bulk_str(&c->out, lua_tostring(L, -1));
            else resp_null(&c->out);
            lua_pop(L, 1);
            resp_bulk_str(&c->out, "flags");
            lua_getfield(L, -1, "flags");
            size_t fh = resp_defer_len(&c->out);
            long long nf = 0;
            for (int i = 1;; i++) {
                lua_rawgeti(L, -1, i);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                resp_bulk_str(&c->out, lua_tostring(L, -1));
                lua_pop(L, 1);
                nf++;
            }
            resp_set_deferred_len(&c->out, fh, '~', nf);
            lua_pop(L, 1);
            n++;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_function_list(struct cmd_ctx *c)
{
    sync_registry(c->store);
    bool with_code = false;
    const struct resp_arg *pattern = NULL;
    for (int j = 2; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "withcode")) {
            with_code = true;
        } else if (arg_is(&c->argv[j], "libraryname") && j + 1 < c->argc) {
            pattern = &c->argv[++j];
        } else {
            resp_errorf(&c->out, "ERR Unknown argument %.*s", (int)c->argv[j].len, c->argv[j].ptr);
            return;
        }
    }
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    struct dict_iter it;
    dict_iter_init(&it, &c->store->scripts.libraries);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        if (pattern && !glob_match(pattern->ptr, pattern->len, e->key, e->klen, false)) continue;
        resp_map(&c->out, with_code ? 4 : 3);
        resp_bulk_str(&c->out, "library_name");
        resp_bulk(&c->out, e->key, e->klen);
        resp_bulk_str(&c->out, "engine");
        resp_bulk_str(&c->out, "LUA");
        resp_bulk_str(&c->out, "functions");
        list_functions(c, e->key);
        if (with_code) {
            const struct script_body *b = e->v.ptr;
            resp_bulk_str(&c->out, "library_code");
            resp_bulk(&c->out, b->text, b->len);
        }
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_function_dump(struct cmd_ctx *c)
{
    struct buf p = BUF_INIT;
    buf_append(&p, PAYLOAD_MAGIC, 7);
    buf_append_u32(&p, (uint32_t)dict_size(&c->store->scripts.libraries));
    struct dict_iter it;
    dict_iter_init(&it, &c->store->scripts.libraries);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        buf_append_u32(&p, (uint32_t)b->len);
        buf_append(&p, b->text, b->len);
    }
    buf_append_u32(&p, checksum_crc32(0, p.data, p.len));
    resp_bulk(&c->out, p.data, p.len);
    buf_free(&p);
}

/* Every library as (u32 name length, name, u32 code length, code). */
static void save_libraries(struct scripts *s, struct buf *out)
{
    struct dict_iter it;
    dict_iter_init(&it, &s->libraries);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        buf_append_u32(out, (uint32_t)e->klen);
        buf_append(out, e->key, e->klen);
        buf_append_u32(out, (uint32_t)b->len);
        buf_append(out, b->text, b->len);
    }
}

/* Puts back what save_libraries kept; the registry is rebuilt from it. */
static void restore_libraries(struct scripts *s, const struct buf *saved)
{
    scripts_clear_libraries(s);
    struct reader r;
    reader_init(&r, saved->data, saved->len);
    uint32_t nlen, clen;
    const char *name, *code;
    while (reader_left(&r) > 0 && !reader_u32(&r, &nlen) && !reader_bytes(&r, nlen, &name) &&
           !reader_u32(&r, &clen) && !reader_bytes(&r, clen, &code))
        scripts_set_library(s, name, nlen, code, clen);
    loaded_version = 0;
}

static void cmd_function_restore(struct cmd_ctx *c)
{
    sync_registry(c->store);
    enum { APPEND, REPLACE, FLUSH } policy = APPEND;
    if (c->argc == 4) {
        if (arg_is(&c->argv[3], "append")) policy = APPEND;
        else if (arg_is(&c->argv[3], "replace")) policy = REPLACE;
        else if (arg_is(&c->argv[3], "flush")) policy = FLUSH;
        else {
            resp_error(&c->out, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    } else if (c->argc > 4) {
        cmd_reply_syntax_error(c);
        return;
    }
    const struct resp_arg *a = &c->argv[2];
    struct reader rd;
    uint32_t n, crc;
    if (a->len < 7 + 4 + 4 || memcmp(a->ptr, PAYLOAD_MAGIC, 7) != 0) goto bad;
    reader_init(&rd, a->ptr + a->len - 4, 4);
    reader_u32(&rd, &crc);
    if (crc != checksum_crc32(0, a->ptr, a->len - 4)) goto bad;
    reader_init(&rd, a->ptr + 7, a->len - 7 - 4);
    if (reader_u32(&rd, &n)) goto bad;
    /* Check every library first: all of them are restored, or none. */
    struct reader check = rd;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *code;
        char lib[MAX_NAME + 1], err[256];
        if (reader_u32(&check, &len) || reader_bytes(&check, len, &code)) goto bad;
        if (!parse_header(code, len, lib, sizeof lib, err, sizeof err)) {
            resp_error(&c->out, err);
            return;
        }
        if (policy == APPEND && dict_find(&c->store->scripts.libraries, lib, strlen(lib))) {
            resp_errorf(&c->out, "ERR Library %s already exists", lib);
            return;
        }
    }
    if (reader_left(&check) != 0) goto bad;
    /* A library can still fail as it runs: keep the current ones to put
     * back, so that a failed RESTORE changes nothing. */
    struct buf saved = BUF_INIT;
    save_libraries(&c->store->scripts, &saved);
    if (policy == FLUSH) {
        scripts_clear_libraries(&c->store->scripts);
        sync_registry(c->store);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *code;
        char lib[MAX_NAME + 1], err[256];
        reader_u32(&rd, &len);
        reader_bytes(&rd, len, &code);
        if (!load_library(code, len, true, c->store, lib, sizeof lib, err, sizeof err)) {
            restore_libraries(&c->store->scripts, &saved);
            buf_free(&saved);
            resp_error(&c->out, err);
            return;
        }
        scripts_set_library(&c->store->scripts, lib, strlen(lib), code, len);
    }
    buf_free(&saved);
    loaded_version = c->store->scripts.version;
    resp_ok(&c->out);
    return;
bad:
    resp_error(&c->out, "ERR payload version or checksum are wrong");
}

static void cmd_function_stats(struct cmd_ctx *c)
{
    sync_registry(c->store);
    lua_State *L = script_lua();
    long long functions = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        functions++;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    resp_map(&c->out, 2);
    resp_bulk_str(&c->out, "running_script");
    resp_null(&c->out);
    resp_bulk_str(&c->out, "engines");
    resp_map(&c->out, 1);
    resp_bulk_str(&c->out, "LUA");
    resp_map(&c->out, 2);
    resp_bulk_str(&c->out, "libraries_count");
    resp_int(&c->out, (long long)dict_size(&c->store->scripts.libraries));
    resp_bulk_str(&c->out, "functions_count");
    resp_int(&c->out, functions);
}

static void cmd_function_kill(struct cmd_ctx *c)
{
    resp_error(&c->out, "NOTBUSY No scripts in execution right now.");
}

static void cmd_function_help(struct cmd_ctx *c)
{
    static const char *lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&c->out, lines[i]);
}

static void fcall_generic(struct cmd_ctx *c, bool read_only)
{
    sync_registry(c->store);
    long long nkeys;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &nkeys)) return;
    if (nkeys < 0) {
        resp_error(&c->out, "ERR Number of keys can't be negative");
        return;
    }
    if (nkeys > c->argc - 3) {
        resp_error(&c->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    char name[MAX_NAME + 1];
    snprintf(name, sizeof name, "%.*s", (int)(c->argv[1].len < MAX_NAME ? c->argv[1].len : MAX_NAME),
             c->argv[1].ptr);
    lua_State *L = script_lua();
    lua_getfield(L, LUA_REGISTRYINDEX, FN_META);
    lua_getfield(L, -1, name);
    bool found = !lua_isnil(L, -1) && strlen(name) == c->argv[1].len;
    bool no_writes = false;
    if (found) {
        lua_getfield(L, -1, "flags");
        for (int i = 1;; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            if (strcmp(lua_tostring(L, -1), "no-writes") == 0) no_writes = true;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (!found) {
        resp_error(&c->out, "ERR Function not found");
        return;
    }
    if (read_only && !no_writes) {
        resp_error(&c->out, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    script_run(c, name, "@user_function", FN_TABLE, name, &c->argv[3], (int)nkeys,
               &c->argv[3 + nkeys], c->argc - 3 - (int)nkeys, read_only || no_writes, true);
}

static void cmd_fcall(struct cmd_ctx *c) { fcall_generic(c, false); }
static void cmd_fcall_ro(struct cmd_ctx *c) { fcall_generic(c, true); }

#define END {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL}
#define SC (ACL_SCRIPTING | ACL_SLOW)

static const struct cmd_def function_subs[] = {
    {"function|load", -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE,
     cmd_function_load, "scripting", "7.0.0", "Creates a library.",
     "O(1) (considering compilation time is redundant)", NULL},
    {"function|delete", 3, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE, cmd_function_delete,
     "scripting", "7.0.0", "Deletes a library and its functions.", "O(1)", NULL},
    {"function|flush", -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE, cmd_function_flush,
     "scripting", "7.0.0", "Deletes all libraries and functions.",
     "O(N) where N is the number of functions deleted", NULL},
    {"function|list", -2, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_function_list, "scripting",
     "7.0.0", "Returns information about all libraries.", "O(N) where N is the number of functions", NULL},
    {"function|dump", 2, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_function_dump, "scripting",
     "7.0.0", "Dumps all libraries into a serialized binary payload.",
     "O(N) where N is the number of functions", NULL},
    {"function|restore", -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE,
     cmd_function_restore, "scripting", "7.0.0", "Restores all libraries from a payload.",
     "O(N) where N is the number of functions on the payload", NULL},
    {"function|stats", 2, CMD_READONLY | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC,
     cmd_function_stats, "scripting", "7.0.0", "Returns information about a function during execution.",
     "O(1)", NULL},
    {"function|kill", 2, CMD_LOCAL | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC, cmd_function_kill,
     "scripting", "7.0.0", "Terminates a function during execution.", "O(1)", NULL},
    {"function|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, 0, 0, SC, cmd_function_help,
     "scripting", "7.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL},
    END,
};

const struct cmd_def cmd_rows_function[] = {
    {"fcall", -3, CMD_WRITE | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, SC, cmd_fcall, "scripting",
     "7.0.0", "Invokes a function.", "Depends on the function that is executed.", NULL},
    {"fcall_ro", -3, CMD_READONLY | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, SC, cmd_fcall_ro,
     "scripting", "7.0.0", "Invokes a read-only function.",
     "Depends on the function that is executed.", NULL},
    {"function", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "scripting", "7.0.0",
     "A container for function commands.", "Depends on subcommand.", function_subs},
    END,
};
