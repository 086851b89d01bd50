/* cmds/script.c — Lua scripting commands: EVAL, EVALSHA, EVAL_RO,
 * EVALSHA_RO and SCRIPT, on Lua 5.1 (the Lua Redis scripts are written for).
 *
 * A script is applied from the log like any write, on every node, so it
 * must behave the same everywhere. It runs in the sandbox of
 * cmds/lua_sandbox.h: a fresh Lua state for every call, read-only globals,
 * the entry's time (redis.call of TIME), math.random seeded from the log
 * entry, a memory cap and a work budget that every node counts the same
 * way. A script that spends its budget is stopped with a BUSY error and
 * the writes it made before that point stay: unlike Redis, which cannot
 * stop a script that wrote, Parley does not freeze every replica on it.
 *
 * The cache of script bodies is replicated state (store/scripts.h); the
 * compiled bytecode is this process's own (lua_sandbox.c).
 *
 * Conversions between RESP and Lua follow Redis 7.0 (RESP2), in
 * cmds/lua_redis.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/lua_sandbox.h"
#include "cmds/script.h"

struct eval_job {
    const struct buf *bytecode;
    const struct resp_arg *keys, *args;
    int nkeys, nargs;
};

/* The body of a script run: KEYS and ARGV, then the script's chunk. */
static void eval_body(lua_State *L, void *arg)
{
    const struct eval_job *j = arg;
    sandbox_push_strings(L, j->keys, j->nkeys);
    sandbox_set_global(L, "KEYS");
    sandbox_push_strings(L, j->args, j->nargs);
    sandbox_set_global(L, "ARGV");
    sandbox_load(L, j->bytecode, "@user_script");
    if (sandbox_call(L, 0)) sandbox_reply(L, -1);
}

static void run(struct cmd_ctx *c, const char sha[41], const struct buf *bytecode,
                long long nkeys, bool read_only)
{
    struct eval_job j = {bytecode, &c->argv[3], &c->argv[3 + nkeys], (int)nkeys,
                         c->argc - 3 - (int)nkeys};
    struct sandbox_run r = {
        .ctx = c,
        .label = sha,
        .source = "@user_script",
        .read_only = read_only,
        .body = eval_body,
        .arg = &j,
    };
    sandbox_exec(&r);
}

/* Redis 7's shebang, "#!lua [flags=<flag>,...]" on a script's first line:
 * parsed as Redis parses it; false after replying its error. */
static bool parse_shebang(struct cmd_ctx *c, const char *body, size_t len, bool *present,
                          bool *no_writes)
{
    *present = *no_writes = false;
    if (len < 2 || body[0] != '#' || body[1] != '!') return true;
    *present = true;
    const char *eol = memchr(body, '\n', len);
    const char *p = body, *end = eol ? eol : body + len;
    bool first = true;
    while (p < end) {
        while (p < end && *p == ' ') p++;
        const char *tok = p;
        while (p < end && *p != ' ') p++;
        int n = (int)(p - tok);
        if (n == 0) break;
        if (first) {
            first = false;
            if (n != 5 || memcmp(tok, "#!lua", 5) != 0) {
                resp_errorf(&c->out, "ERR Unexpected engine in script shebang: %.*s", n, tok);
                return false;
            }
            continue;
        }
        if (n < 6 || memcmp(tok, "flags=", 6) != 0) {
            resp_errorf(&c->out, "ERR Unknown lua shebang option: %.*s", n, tok);
            return false;
        }
        for (const char *f = tok + 6; f < p;) {
            const char *comma = memchr(f, ',', (size_t)(p - f));
            const char *fend = comma ? comma : p;
            int fl = (int)(fend - f);
            static const char *const known[] = {"no-writes", "allow-oom", "allow-stale",
                                                "no-cluster", "allow-cross-slot-keys", NULL};
            const char *const *k = known;
            while (*k && !((int)strlen(*k) == fl && memcmp(*k, f, (size_t)fl) == 0)) k++;
            if (*k == NULL) {
                resp_errorf(&c->out, "ERR Unexpected flag in script shebang: %.*s", fl, f);
                return false;
            }
            if (k == known) *no_writes = true;
            f = comma ? comma + 1 : p;
        }
    }
    return true;
}

bool script_declares_no_writes(const char *body, size_t len)
{
    struct buf scratch = BUF_INIT;
    struct cmd_ctx c = {.out = {&scratch, 2}};
    bool present, no_writes;
    bool ok = parse_shebang(&c, body, len, &present, &no_writes);
    buf_free(&scratch);
    return ok && no_writes;
}

/* The bytecode of a script body, or NULL after replying its error. A
 * shebang line is compiled as a comment, so lines count as Redis's do. */
static const struct buf *compiled(struct cmd_ctx *c, const char sha[41], const char *body,
                                  size_t len, bool shebang)
{
    char err[512];
    char *copy = NULL;
    if (shebang) {
        copy = xmalloc(len);
        memcpy(copy, body, len);
        copy[0] = copy[1] = '-';
    }
    const struct buf *bytecode =
        sandbox_compiled(sha, copy ? copy : body, len, "@user_script", err, sizeof err);
    free(copy);
    if (bytecode == NULL) resp_errorf(&c->out, "ERR Error compiling script (new function): %s", err);
    return bytecode;
}

/* Compiles a body after checking its shebang; NULL after replying. */
static const struct buf *prepare(struct cmd_ctx *c, const char sha[41], const char *body,
                                 size_t len, bool *read_only)
{
    bool shebang, no_writes;
    if (!parse_shebang(c, body, len, &shebang, &no_writes)) return NULL;
    if (shebang && *read_only && !no_writes) {
        resp_error(&c->out, "ERR Can not execute a script with write flag using *_ro command.");
        return NULL;
    }
    if (no_writes) *read_only = true;
    return compiled(c, sha, body, len, shebang);
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
    char sha[41];
    script_sha1_hex(body->ptr, body->len, sha);
    const struct buf *bytecode = prepare(c, sha, body->ptr, body->len, &read_only);
    if (bytecode == NULL) return;
    /* EVAL caches the script on every node (EVAL_RO is not logged). */
    if (c->apply) scripts_add(&c->store->scripts, sha, body->ptr, body->len);
    run(c, sha, bytecode, nkeys, read_only);
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
    if (b == NULL) {
        resp_error(&c->out, "NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    const struct buf *bytecode = prepare(c, sha, b->text, b->len, &read_only);
    if (bytecode == NULL) return;
    run(c, sha, bytecode, nkeys, read_only);
}

static void cmd_eval(struct cmd_ctx *c) { eval_generic(c, false); }
static void cmd_eval_ro(struct cmd_ctx *c) { eval_generic(c, true); }
static void cmd_evalsha(struct cmd_ctx *c) { evalsha_generic(c, false); }
static void cmd_evalsha_ro(struct cmd_ctx *c) { evalsha_generic(c, true); }

static void cmd_script_load(struct cmd_ctx *c)
{
    const struct resp_arg *body = &c->argv[2];
    char sha[41];
    script_sha1_hex(body->ptr, body->len, sha);
    bool read_only = false;
    if (prepare(c, sha, body->ptr, body->len, &read_only) == NULL) return;
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
    /* Compiled bytecode stays in this process's cache: harmless, since
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

#define SC (ACL_SCRIPTING | ACL_SLOW)
#define EVALFL (CMD_NOSCRIPT | CMD_STALE | CMD_NO_MANDATORY_KEYS)

static const struct cmd_def script_subs[] = {
    {"script|load", 3, CMD_WRITE | CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, SC, cmd_script_load,
     "scripting", "2.6.0", "Loads a server-side Lua script to the script cache.",
     "O(N) with N being the length in bytes of the script body.", NULL, NULL, NULL},
    {"script|exists", -3, CMD_READONLY | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_script_exists, "scripting",
     "2.6.0", "Determines whether server-side Lua scripts exist in the script cache.",
     "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", NULL, NULL, NULL},
    {"script|flush", -2, CMD_WRITE | CMD_NOSCRIPT, 0, 0, 0, SC, cmd_script_flush, "scripting", "2.6.0",
     "Removes all server-side Lua scripts from the script cache.",
     "O(N) with N being the number of scripts in cache", NULL, NULL, NULL},
    {"script|kill", 2, CMD_LOCAL | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, SC, cmd_script_kill,
     "scripting", "2.6.0", "Terminates a server-side Lua script during execution.", "O(1)", NULL, NULL, NULL},
    {"script|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, 0, 0, SC, cmd_script_help, "scripting",
     "5.0.0", "Returns helpful text about the different subcommands.", "O(1)", NULL, NULL, NULL},
    CMD_ROWS_END,
};

const struct cmd_def cmd_rows_script[] = {
    {"eval", -3, CMD_WRITE | EVALFL, 0, 0, 0, SC, cmd_eval, "scripting", "2.6.0",
     "Executes a server-side Lua script.", "Depends on the script that is executed.", NULL, "RW access update #2", NULL},
    {"evalsha", -3, CMD_WRITE | EVALFL, 0, 0, 0, SC, cmd_evalsha, "scripting", "2.6.0",
     "Executes a server-side Lua script by SHA1 digest.", "Depends on the script that is executed.", NULL, "RW access update #2", NULL},
    {"eval_ro", -3, CMD_READONLY | EVALFL, 0, 0, 0, SC, cmd_eval_ro, "scripting", "7.0.0",
     "Executes a read-only server-side Lua script.", "Depends on the script that is executed.", NULL, "RO access #2", NULL},
    {"evalsha_ro", -3, CMD_READONLY | EVALFL, 0, 0, 0, SC, cmd_evalsha_ro, "scripting", "7.0.0",
     "Executes a read-only server-side Lua script by SHA1 digest.",
     "Depends on the script that is executed.", NULL, "RO access #2", NULL},
    {"script", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "scripting", "2.6.0",
     "A container for Lua scripts management commands.", "Depends on subcommand.", script_subs, NULL, NULL},
    CMD_ROWS_END,
};
