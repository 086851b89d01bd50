/* cmds/function.c — Redis 7 functions: FUNCTION LOAD, LIST, DELETE, FLUSH,
 * DUMP, RESTORE, STATS, KILL, HELP; FCALL and FCALL_RO.
 *
 * Library code ("#!lua name=<lib>" then Lua) is replicated state
 * (store/scripts.h): FUNCTION LOAD is applied from the log on every node.
 * Loading runs the code in a sandbox (cmds/lua_sandbox.h) in a small
 * environment where redis.register_function records the library's
 * functions; what it records (each function's library, flags and
 * description) is this process's own table, rebuilt from the replicated
 * libraries whenever they changed under it (a snapshot restored, a
 * restart). Sandboxes do not outlive a run, so FCALL runs the library's
 * code again in a fresh one and then calls the function: every call starts
 * from the same state on every node, and nothing a function does (to its
 * library's locals, say) is seen by the next call.
 *
 * The DUMP payload is Parley's own format ("PRLYFN1", then the libraries'
 * code), opaque to clients as Redis's is. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "base/hash.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/lua_sandbox.h"
#include "cmds/script.h"

#define PAYLOAD_MAGIC "PRLYFN1"
#define MAX_NAME 127 /* library and function names */
#define REG_CALLBACKS "parley.callbacks" /* function name -> callback, in a run */

/* What a library registered, per function (this process's table). */
struct fn_info {
    char *lib;
    char *desc;       /* NULL if none */
    struct buf flags; /* the flag names, each followed by a NUL */
    bool no_writes;
    bool allow_oom;
};

static struct dict functions;   /* name -> struct fn_info */
static bool functions_ready;
static uint64_t loaded_version; /* the libraries version `functions` reflects */

static void free_info(struct dict_entry *e)
{
    struct fn_info *f = e->v.ptr;
    if (f == NULL) return;
    free(f->lib);
    free(f->desc);
    buf_free(&f->flags);
    free(f);
}

static struct dict *function_table(void)
{
    if (!functions_ready) {
        dict_init(&functions, free_info);
        functions_ready = true;
    }
    return &functions;
}

static bool valid_name(const char *p, size_t len)
{
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '_') return false;
    return true;
}

/* --------------------------------------------------------------------
 * Running a library's code
 * ------------------------------------------------------------------ */

struct library_run {
    const char *lib;
    const struct buf *bytecode;
    bool loading;           /* its code is running: register_function works */
    bool read_only;         /* FCALL_RO, or a no-writes function */
    /* FUNCTION LOAD: names taken by other libraries, and what this one
     * registers (NULL for FCALL). */
    struct dict *taken;
    struct dict *registered;
    int n_registered;
    char error[256];        /* the load error, as Redis words it */
    /* FCALL: the function to call and its arguments. */
    const char *call;
    const struct resp_arg *keys, *args;
    int nkeys, nargs;
};

static struct library_run *current_library;

/* Fails the load with msg, reported as Redis does: "ERR Error registering
 * functions: ERR <msg>" unless final (then "ERR <msg>"). */
static int load_error(lua_State *L, bool final, const char *msg)
{
    snprintf(current_library->error, sizeof current_library->error, "%s%s",
             final ? "ERR " : "ERR Error registering functions: ERR ", msg);
    lua_pushstring(L, msg);
    return lua_error(L);
}

static const char *const known_flags[] = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                                          "allow-cross-slot-keys", NULL};

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags=, description=} */
static int lua_register_function(lua_State *L)
{
    struct library_run *run = current_library;
    if (run == NULL || !run->loading)
        return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD command");
    const char *name = NULL, *desc = NULL;
    size_t nlen = 0;
    int flags_idx = 0, cb_idx;
    if (lua_gettop(L) == 1) {
        /* Named arguments, checked as Redis 7.0 checks them. */
        if (!lua_istable(L, 1))
            return load_error(L, false, "calling redis.register_function with a single argument is "
                                        "only applicable to Lua table (representing named arguments).");
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            const char *why = NULL;
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (k == NULL)
                why = "unknown argument given to redis.register_function";
            else if (!strcmp(k, "function_name") && !lua_isstring(L, -1))
                why = "function_name argument given to redis.register_function must be a string";
            else if (!strcmp(k, "description") && !lua_isstring(L, -1))
                why = "description argument given to redis.register_function must be a string";
            else if (!strcmp(k, "callback") && !lua_isfunction(L, -1))
                why = "callback argument given to redis.register_function must be a function";
            else if (!strcmp(k, "flags") && !lua_istable(L, -1))
                why = "flags argument to redis.register_function must be a table representing function flags";
            else if (strcmp(k, "function_name") && strcmp(k, "description") && strcmp(k, "callback") &&
                     strcmp(k, "flags"))
                why = "unknown argument given to redis.register_function";
            if (why) return load_error(L, false, why);
            lua_pop(L, 1);
        }
        lua_getfield(L, 1, "function_name");
        lua_getfield(L, 1, "callback");
        lua_getfield(L, 1, "flags");
        lua_getfield(L, 1, "description");
        if (lua_isnil(L, 2)) return load_error(L, false, "redis.register_function must get a function name argument");
        if (lua_isnil(L, 3)) return load_error(L, false, "redis.register_function must get a callback argument");
        name = lua_tolstring(L, 2, &nlen);
        cb_idx = 3;
        flags_idx = lua_istable(L, 4) ? 4 : 0;
        desc = lua_tostring(L, 5);
    } else if (lua_gettop(L) == 2) {
        if (!lua_isstring(L, 1))
            return load_error(L, false, "first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2))
            return load_error(L, false, "second argument to redis.register_function must be a function");
        name = lua_tolstring(L, 1, &nlen);
        cb_idx = 2;
    } else {
        return load_error(L, false, "wrong number of arguments to redis.register_function");
    }
    if (nlen > MAX_NAME) return load_error(L, false, "Function names are limited to 127 characters");
    /* Redis 7.0 checks a function's name with its library-name text. */
    if (!valid_name(name, nlen))
        return load_error(L, false, "Library names can only contain letters, numbers, or "
                          "underscores(_) and must be at least one character long");
    bool no_writes = false, allow_oom = false;
    struct buf flags = BUF_INIT;
    if (flags_idx) {
        for (int i = 1;; i++) {
            lua_rawgeti(L, flags_idx, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            const char *f = lua_tostring(L, -1);
            const char *const *k = known_flags;
            while (*k && (f == NULL || strcmp(f, *k))) k++;
            if (*k == NULL) {
                buf_free(&flags);
                return load_error(L, false, "unknown flag given");
            }
            if (!strcmp(*k, "no-writes")) no_writes = true;
            if (!strcmp(*k, "allow-oom")) allow_oom = true;
            buf_append(&flags, *k, strlen(*k) + 1);
            lua_pop(L, 1);
        }
    }
    /* The callback, for this run. */
    lua_getfield(L, LUA_REGISTRYINDEX, REG_CALLBACKS);
    lua_pushlstring(L, name, nlen);
    lua_rawget(L, -2);
    bool again = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (again) {
        buf_free(&flags);
        return load_error(L, false, "Function already exists in the library");
    }
    if (run->registered) {
        struct dict_entry *other = dict_find(run->taken, name, nlen);
        if (other) {
            buf_free(&flags);
            char msg[200];
            snprintf(msg, sizeof msg, "Function %.*s already exists", (int)nlen, name);
            return load_error(L, true, msg);
        }
        bool created;
        struct dict_entry *e = dict_upsert(run->registered, name, nlen, &created);
        struct fn_info *f = xcalloc(1, sizeof *f);
        f->lib = xstrdup(run->lib);
        f->desc = desc ? xstrdup(desc) : NULL;
        f->flags = flags;
        f->no_writes = no_writes;
        f->allow_oom = allow_oom;
        e->v.ptr = f;
    } else {
        buf_free(&flags);
    }
    lua_pushlstring(L, name, nlen);
    lua_pushvalue(L, cb_idx);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    run->n_registered++;
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
    "  __metatable = false,\n"
    "})\n";

static int lua_loading(lua_State *L)
{
    lua_pushboolean(L, current_library && current_library->loading);
    return 1;
}

/* env_code, compiled once (outside any run). */
static struct buf env_bytecode;

/* Pushes a new library environment. */
static void push_library_env(lua_State *L)
{
    sandbox_load(L, &env_bytecode, "=function-env");
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
    lua_call(L, 3, 1);
}

/* The body of a run: the library's code, then (FCALL) the function. The
 * header line is compiled as a comment, so that error lines count from it
 * as Redis's do. */
static void library_body(lua_State *L, void *arg)
{
    struct library_run *run = arg;
    current_library = run;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_CALLBACKS);
    push_library_env(L);
    sandbox_load(L, run->bytecode, "@user_function");
    lua_insert(L, -2);
    lua_setfenv(L, -2);
    run->loading = true;
    int rc = sandbox_pcall(L, 0, 0);
    run->loading = false;
    if (rc != 0) {
        if (run->error[0] == '\0')
            snprintf(run->error, sizeof run->error, "ERR Error registering functions: ERR %s",
                     lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error");
        lua_pop(L, 1);
        return;
    }
    if (run->n_registered == 0) {
        snprintf(run->error, sizeof run->error, "ERR No functions registered");
        return;
    }
    if (run->call == NULL) return;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_CALLBACKS);
    lua_getfield(L, -1, run->call);
    lua_remove(L, -2);
    sandbox_push_strings(L, run->keys, run->nkeys);
    sandbox_push_strings(L, run->args, run->nargs);
    if (sandbox_call(L, 2)) sandbox_reply(L, -1);
}

/* Runs a library in a sandbox for c. For FUNCTION LOAD (run->registered
 * set) the reply is left to the caller; returns false with the error in
 * run->error or (when the sandbox failed) already replied to c. */
static bool run_library(struct cmd_ctx *c, struct library_run *run, const char *code, size_t len,
                        bool *replied)
{
    /* The header line becomes a comment. */
    char key[64], sha[41];
    script_sha1_hex(code, len, sha);
    snprintf(key, sizeof key, "fn:%s", sha);
    if (env_bytecode.len == 0) {
        char env_err[256];
        if (!sandbox_compile(env_code, strlen(env_code), "=function-env", &env_bytecode, env_err,
                             sizeof env_err))
            abort(); /* our own code */
    }
    char *copy = xmalloc(len);
    memcpy(copy, code, len);
    copy[0] = copy[1] = '-';
    char err[200];
    run->bytecode = sandbox_compiled(key, copy, len, "@user_function", err, sizeof err);
    free(copy);
    *replied = false;
    if (run->bytecode == NULL) {
        snprintf(run->error, sizeof run->error, "ERR Error compiling function: %s", err);
        return false;
    }
    struct sandbox_run sr = {
        .ctx = c,
        .label = run->call ? run->call : run->lib,
        .source = "@user_function",
        .read_only = run->read_only,
        .loading = run->call == NULL,
        .body = library_body,
        .arg = run,
    };
    bool ok = sandbox_exec(&sr);
    current_library = NULL;
    if (!ok) *replied = true;
    return ok && run->error[0] == '\0';
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


/* --------------------------------------------------------------------
 * This process's function table
 * ------------------------------------------------------------------ */

static void drop_library(struct dict *into, const char *lib)
{
    struct buf names = BUF_INIT;
    struct dict_iter it;
    dict_iter_init(&it, into);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct fn_info *f = e->v.ptr;
        if (strcmp(f->lib, lib) == 0) {
            buf_append_u32(&names, e->klen);
            buf_append(&names, e->key, e->klen);
        }
    }
    struct reader r;
    reader_init(&r, names.data, names.len);
    uint32_t len;
    const char *name;
    while (!reader_u32(&r, &len) && !reader_bytes(&r, len, &name)) dict_delete(into, name, len);
    buf_free(&names);
}

static void copy_functions(struct dict *dst, struct dict *src)
{
    dict_init(dst, free_info);
    struct dict_iter it;
    dict_iter_init(&it, src);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct fn_info *f = e->v.ptr;
        struct fn_info *g = xcalloc(1, sizeof *g);
        g->lib = xstrdup(f->lib);
        g->desc = f->desc ? xstrdup(f->desc) : NULL;
        buf_append(&g->flags, f->flags.data, f->flags.len);
        g->no_writes = f->no_writes;
        g->allow_oom = f->allow_oom;
        bool created;
        dict_upsert(dst, e->key, e->klen, &created)->v.ptr = g;
    }
}

/* Runs library lib's code and puts its functions into `into`, in place of
 * the ones lib had there; other libraries' names are taken. False with
 * the error in err, or with *replied when the sandbox answered c. */
static bool load_into(struct cmd_ctx *c, struct dict *into, const char *lib, const char *code,
                      size_t len, char *err, size_t errlen, bool *replied)
{
    drop_library(into, lib);
    struct dict registered;
    dict_init(&registered, free_info);
    struct library_run run = {.lib = lib, .taken = into, .registered = &registered};
    bool ok = run_library(c, &run, code, len, replied);
    if (ok) {
        struct dict_iter it;
        dict_iter_init(&it, &registered);
        struct dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            bool created;
            dict_upsert(into, e->key, e->klen, &created)->v.ptr = e->v.ptr;
            e->v.ptr = NULL;
        }
    } else {
        snprintf(err, errlen, "%s", run.error);
    }
    dict_clear(&registered);
    return ok;
}

static void replace_functions(struct dict *next)
{
    struct dict *f = function_table();
    dict_clear(f);
    *f = *next;
}

/* Makes the function table reflect the replicated libraries. */
static void sync_functions(struct cmd_ctx *c)
{
    if (loaded_version == c->store->scripts.version) return;
    struct buf scratch = BUF_INIT;
    struct cmd_ctx quiet = *c;
    quiet.out.buf = &scratch;
    struct dict next;
    dict_init(&next, free_info);
    struct dict_iter it;
    dict_iter_init(&it, &c->store->scripts.libraries);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        char err[256];
        bool replied;
        load_into(&quiet, &next, e->key, b->text, b->len, err, sizeof err, &replied);
    }
    buf_free(&scratch);
    replace_functions(&next);
    loaded_version = c->store->scripts.version;
}

/* --------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------ */

static void cmd_function_load(struct cmd_ctx *c)
{
    sync_functions(c);
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
    if (!parse_header(code->ptr, code->len, lib, sizeof lib, err, sizeof err)) {
        resp_error(&c->out, err);
        return;
    }
    if (!replace && dict_find(&c->store->scripts.libraries, lib, strlen(lib))) {
        resp_errorf(&c->out, "ERR Library '%s' already exists", lib);
        return;
    }
    struct dict next;
    copy_functions(&next, function_table());
    bool replied;
    if (!load_into(c, &next, lib, code->ptr, code->len, err, sizeof err, &replied)) {
        dict_clear(&next);
        if (!replied) resp_error(&c->out, err);
        return;
    }
    replace_functions(&next);
    scripts_set_library(&c->store->scripts, lib, strlen(lib), code->ptr, code->len);
    loaded_version = c->store->scripts.version;
    resp_bulk_str(&c->out, lib);
}

static void cmd_function_delete(struct cmd_ctx *c)
{
    sync_functions(c);
    const struct resp_arg *name = &c->argv[2];
    if (!scripts_delete_library(&c->store->scripts, name->ptr, name->len)) {
        resp_error(&c->out, "ERR Library not found");
        return;
    }
    char lib[MAX_NAME + 1];
    snprintf(lib, sizeof lib, "%.*s", (int)(name->len < MAX_NAME ? name->len : MAX_NAME), name->ptr);
    drop_library(function_table(), lib);
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
    dict_clear(function_table());
    loaded_version = c->store->scripts.version;
    resp_ok(&c->out);
}

/* The functions of lib, for FUNCTION LIST: [name, n, description, d, flags, [..]] each. */
static void list_functions(struct cmd_ctx *c, const char *lib)
{
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    struct dict_iter it;
    dict_iter_init(&it, function_table());
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct fn_info *f = e->v.ptr;
        if (strcmp(f->lib, lib) != 0) continue;
        resp_map(&c->out, 3);
        resp_bulk_str(&c->out, "name");
        resp_bulk(&c->out, e->key, e->klen);
        resp_bulk_str(&c->out, "description");
        if (f->desc) resp_bulk_str(&c->out, f->desc);
        else resp_null(&c->out);
        resp_bulk_str(&c->out, "flags");
        size_t fh = resp_defer_len(&c->out);
        long long nf = 0;
        for (size_t off = 0; off < f->flags.len; off += strlen(f->flags.data + off) + 1, nf++)
            resp_bulk_str(&c->out, f->flags.data + off);
        resp_set_deferred_len(&c->out, fh, '~', nf);
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_function_list(struct cmd_ctx *c)
{
    sync_functions(c);
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

static void cmd_function_restore(struct cmd_ctx *c)
{
    sync_functions(c);
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
    /* Run every library into a new table; change nothing unless all load. */
    struct dict next;
    if (policy == FLUSH) dict_init(&next, free_info);
    else copy_functions(&next, function_table());
    struct reader load = rd;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *code;
        char lib[MAX_NAME + 1], err[256];
        reader_u32(&load, &len);
        reader_bytes(&load, len, &code);
        parse_header(code, len, lib, sizeof lib, err, sizeof err);
        bool replied;
        if (!load_into(c, &next, lib, code, len, err, sizeof err, &replied)) {
            dict_clear(&next);
            if (!replied) resp_error(&c->out, err);
            return;
        }
    }
    if (policy == FLUSH) scripts_clear_libraries(&c->store->scripts);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *code;
        char lib[MAX_NAME + 1], err[256];
        reader_u32(&rd, &len);
        reader_bytes(&rd, len, &code);
        parse_header(code, len, lib, sizeof lib, err, sizeof err);
        scripts_set_library(&c->store->scripts, lib, strlen(lib), code, len);
    }
    replace_functions(&next);
    loaded_version = c->store->scripts.version;
    resp_ok(&c->out);
    return;
bad:
    resp_error(&c->out, "ERR payload version or checksum are wrong");
}

static void cmd_function_stats(struct cmd_ctx *c)
{
    sync_functions(c);
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
    resp_int(&c->out, (long long)dict_size(function_table()));
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

static const struct fn_info *function_find(struct store *s, const char *name, size_t len)
{
    struct buf scratch = BUF_INIT;
    struct cmd_ctx c = {.store = s, .out = {&scratch, 2}};
    sync_functions(&c);
    buf_free(&scratch);
    struct dict_entry *e = dict_find(function_table(), name, len);
    return e ? e->v.ptr : NULL;
}

int function_allows_oom(struct store *s, const char *name, size_t len)
{
    const struct fn_info *f = function_find(s, name, len);
    if (f == NULL) return -1;
    return f->no_writes || f->allow_oom;
}

bool function_declares_no_writes(struct store *s, const char *name, size_t len)
{
    const struct fn_info *f = function_find(s, name, len);
    return f && f->no_writes;
}

static void fcall_generic(struct cmd_ctx *c, bool read_only)
{
    sync_functions(c);
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
    const struct resp_arg *name = &c->argv[1];
    struct dict_entry *e = dict_find(function_table(), name->ptr, name->len);
    const struct fn_info *f = e ? e->v.ptr : NULL;
    struct dict_entry *le = f ? dict_find(&c->store->scripts.libraries, f->lib, strlen(f->lib)) : NULL;
    if (le == NULL) {
        resp_error(&c->out, "ERR Function not found");
        return;
    }
    if (read_only && !f->no_writes) {
        resp_error(&c->out, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    /* Redis runs a function flagged no-writes or allow-oom over maxmemory. */
    if (f->no_writes || f->allow_oom) c->oom_guard = NULL;
    const struct script_body *b = le->v.ptr;
    struct library_run run = {
        .lib = f->lib,
        .read_only = read_only || f->no_writes,
        .call = e->key,
        .keys = &c->argv[3],
        .nkeys = (int)nkeys,
        .args = &c->argv[3 + nkeys],
        .nargs = c->argc - 3 - (int)nkeys,
    };
    bool replied;
    if (!run_library(c, &run, b->text, b->len, &replied) && !replied) resp_error(&c->out, run.error);
}

static void cmd_fcall(struct cmd_ctx *c) { fcall_generic(c, false); }
static void cmd_fcall_ro(struct cmd_ctx *c) { fcall_generic(c, true); }

#define SC (ACL_SCRIPTING | ACL_SLOW)

static const struct cmd_def function_subs[] = {
    {"function|load", -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE,
     cmd_function_load, "scripting", "7.0.0", "Creates a library.",
     "O(1) (considering compilation time is redundant)", NULL, NULL, NULL},
    {"function|delete", 3, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE, cmd_function_delete,
     "scripting", "7.0.0", "Deletes a library and its functions.", "O(1)", NULL, NULL, NULL},
    {"function|flush", -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE, cmd_function_flush,
     "scripting", "7.0.0", "Deletes all libraries and functions.",
     "O(N) where N is the number of functions deleted", NULL, NULL, NULL},
    {"function|list", -2, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_function_list, "scripting",
     "7.0.0", "Returns information about all libraries.", "O(N) where N is the number of functions", NULL, NULL, NULL},
    {"function|dump", 2, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_function_dump, "scripting",
     "7.0.0", "Dumps all libraries into a serialized binary payload.",
     "O(N) where N is the number of functions", NULL, NULL, NULL},
    {"function|restore", -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0, SC | ACL_WRITE,
     cmd_function_restore, "scripting", "7.0.0", "Restores all libraries from a payload.",
     "O(N) where N is the number of functions on the payload", NULL, NULL, NULL},
    {"function|stats", 2, CMD_READONLY | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC,
     cmd_function_stats, "scripting", "7.0.0", "Returns information about a function during execution.",
     "O(1)", NULL, NULL, NULL},
    {"function|kill", 2, CMD_LOCAL | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC, cmd_function_kill,
     "scripting", "7.0.0", "Terminates a function during execution.", "O(1)", NULL, NULL, NULL},
    {"function|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, 0, 0, SC, cmd_function_help,
     "scripting", "7.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL, NULL, NULL},
    CMD_ROWS_END,
};

const struct cmd_def cmd_rows_function[] = {
    {"fcall", -3, CMD_WRITE | CMD_NOSCRIPT | CMD_STALE | CMD_NO_MANDATORY_KEYS, 0, 0, 0, SC, cmd_fcall, "scripting",
     "7.0.0", "Invokes a function.", "Depends on the function that is executed.", NULL, "RW access update #2", NULL},
    {"fcall_ro", -3, CMD_READONLY | CMD_NOSCRIPT | CMD_STALE | CMD_NO_MANDATORY_KEYS, 0, 0, 0, SC, cmd_fcall_ro,
     "scripting", "7.0.0", "Invokes a read-only function.",
     "Depends on the function that is executed.", NULL, "RO access #2", NULL},
    {"function", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "scripting", "7.0.0",
     "A container for function commands.", "Depends on subcommand.", function_subs, NULL, NULL},
    CMD_ROWS_END,
};
