/* cmds/memlimit.c — see memlimit.h. */
#include "cmds/memlimit.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include "cmds/script.h"
#include "store/scripts.h"

#define EXEC_OOM_ERROR "EXECABORT Transaction discarded because of: " OOM_ERROR

/* The row of argv's command (a container's subcommand resolved), or NULL;
 * *is_sub tells whether it is a subcommand. */
static const struct cmd_def *resolve(int argc, const struct resp_arg *argv, bool *is_sub)
{
    const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len, true);
    *is_sub = false;
    if (d && (d->flags & CMD_CONTAINER)) {
        d = argc >= 2 ? cmd_lookup_sub(d, argv[1].ptr, argv[1].len) : NULL;
        *is_sub = true;
    }
    return d;
}

/* SETRANGE-like commands: the length of the string they ask for (offset
 * plus the bytes written there), or -1 when they ask for nothing (no bytes
 * to write, or arguments the command itself will refuse). */
static long long asked_length(const struct cmd_def *d, int argc, const struct resp_arg *argv)
{
    long long offset;
    if (!(d->flags & CMD_GROWS_TO_ARG) || argc < 4 || argv[3].len == 0) return -1;
    if (!arg_to_ll(&argv[2], &offset) || offset < 0) return -1;
    if ((unsigned long long)offset > (unsigned long long)LLONG_MAX - argv[3].len) return LLONG_MAX;
    return offset + (long long)argv[3].len;
}

const char *memlimit_precheck(const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                              long long max_string)
{
    if (cmd->flags & CMD_WRAPS_COMMAND) { /* judged as the command it runs */
        const char *why;
        const struct cmd_def *inner = cmd_wrapped(argc, argv, &why);
        return inner ? memlimit_precheck(inner, argc - CMD_WRAPPED_AT, argv + CMD_WRAPPED_AT, max_string)
                     : NULL;
    }
    long long asked = asked_length(cmd, argc, argv);
    return asked > max_string ? STRING_TOO_LONG_ERROR : NULL;
}

/* Redis 7's shebang, "#!<engine> [flags=<flag>,...]" on a script's first
 * line: -1 without one (a script in Redis's compatibility mode), else 1
 * when its flags let it run over maxmemory (no-writes or allow-oom), 0
 * when they do not. */
static int shebang_allows_oom(const char *body, size_t len)
{
    if (len < 2 || body[0] != '#' || body[1] != '!') return -1;
    const char *end = memchr(body, '\n', len);
    size_t n = end ? (size_t)(end - body) : len;
    for (size_t i = 2; i + 6 <= n; i++) {
        if (memcmp(body + i, "flags=", 6) != 0 || !isspace((unsigned char)body[i - 1])) continue;
        size_t at = i + 6;
        while (at < n && !isspace((unsigned char)body[at])) {
            size_t start = at;
            while (at < n && body[at] != ',' && !isspace((unsigned char)body[at])) at++;
            size_t flen = at - start;
            if ((flen == 9 && memcmp(body + start, "no-writes", 9) == 0) ||
                (flen == 9 && memcmp(body + start, "allow-oom", 9) == 0))
                return 1;
            if (at < n && body[at] == ',') at++;
        }
        return 0;
    }
    return 0;
}

/* EVAL, EVALSHA and FCALL: top-level writes of the scripting category,
 * whose writes depend on the script. The read-only forms never write. */
static bool runs_script(const struct cmd_def *d, bool is_sub)
{
    return !is_sub && (d->acl & ACL_SCRIPTING) && (d->flags & CMD_WRITE);
}

/* A script over maxmemory, as Redis 7.0 treats it: one whose shebang
 * flags say no-writes or allow-oom runs; one with a shebang and neither
 * flag is refused at once; one without a shebang runs with the guard, so
 * its first deny-oom command fails. Where the script is depends on the
 * command: EVAL carries it, EVALSHA names it in the replicated cache.
 * A function is a script with a shebang: its registered flags decide. */
static enum memlimit_verdict script_verdict(struct store *s, const struct cmd_def *d, int argc,
                                            const struct resp_arg *argv)
{
    const char *body = NULL;
    size_t len = 0;
    if (strcmp(d->name, "fcall") == 0 && argc >= 2) {
        int allowed = function_allows_oom(s, argv[1].ptr, argv[1].len);
        return allowed == 0 ? MEMLIMIT_REFUSE : MEMLIMIT_RUN;
    }
    if (strcmp(d->name, "eval") == 0 && argc >= 2) {
        body = argv[1].ptr;
        len = argv[1].len;
    } else if (strcmp(d->name, "evalsha") == 0 && argc >= 2 && argv[1].len == 40) {
        char sha[40];
        for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)argv[1].ptr[i]);
        const struct script_body *b = scripts_find(&s->scripts, sha);
        if (b) {
            body = b->text;
            len = b->len;
        }
    }
    int allowed = body ? shebang_allows_oom(body, len) : -1;
    if (allowed == 1) return MEMLIMIT_RUN;
    return allowed == 0 ? MEMLIMIT_REFUSE : MEMLIMIT_GUARD;
}

/* How many bytes the command may add beyond what the key holds now. */
static long long growth(struct store *s, struct memlimit_state *st, int db,
                        const struct cmd_def *d, int argc, const struct resp_arg *argv)
{
    long long asked = asked_length(d, argc, argv);
    if (asked <= 0) return 0;
    struct dict_entry *e = store_lookup(s, db, argv[1].ptr, argv[1].len, st->now_ms, false);
    long long have = e && store_value(e)->type == OBJ_STRING ? (long long)sobj_strlen(store_value(e)) : 0;
    return asked > have ? asked - have : 0;
}

/* What a write stores, roughly: its arguments and a key's overhead. */
static long long stored_bytes(int argc, const struct resp_arg *argv)
{
    long long n = 96;
    for (int i = 1; i < argc; i++) n += (long long)argv[i].len;
    return n;
}

static enum memlimit_verdict one(struct store *s, struct memlimit_state *st, int db,
                                 int argc, const struct resp_arg *argv, bool *script)
{
    bool is_sub;
    const struct cmd_def *d = resolve(argc, argv, &is_sub);
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, argc)) return MEMLIMIT_RUN;
    if (st->room >= 0 && growth(s, st, db, d, argc, argv) > st->room) return MEMLIMIT_REFUSE;
    if (!st->deny_oom) {
        if ((d->flags & CMD_DENYOOM) && st->budget >= 0) {
            st->budget -= stored_bytes(argc, argv);
            if (st->budget < 0) st->deny_oom = true; /* from the next command on */
        }
        return MEMLIMIT_RUN;
    }
    if (d->flags & CMD_DENYOOM) return MEMLIMIT_REFUSE;
    if (runs_script(d, is_sub)) {
        enum memlimit_verdict v = script_verdict(s, d, argc, argv);
        if (v == MEMLIMIT_GUARD) *script = true;
        return v;
    }
    return MEMLIMIT_RUN;
}

/* __exec <client> <watched> <n keys> (<db> <key>)* <n cmds> (<db> <argc> <arg>*)*
 * (cmds/multi.c): as Redis's EXEC, refused whole when one of its commands
 * would be; guarded when one runs a script. */
static enum memlimit_verdict transaction(struct store *s, struct memlimit_state *st,
                                         int argc, const struct resp_arg *argv)
{
    long long nkeys, ncmds, db, n;
    int i = 3;
    if (argc < 5 || !arg_to_ll(&argv[i++], &nkeys) || nkeys < 0 || nkeys > (argc - i) / 2)
        return MEMLIMIT_RUN;
    i += 2 * (int)nkeys;
    if (i >= argc || !arg_to_ll(&argv[i++], &ncmds)) return MEMLIMIT_RUN;
    bool script = false;
    for (long long k = 0; k < ncmds; k++) {
        if (i + 2 > argc || !arg_to_ll(&argv[i], &db) || db < 0 || db >= STORE_DBS ||
            !arg_to_ll(&argv[i + 1], &n) || n <= 0 || n > argc - i - 2)
            return MEMLIMIT_RUN; /* malformed: __exec answers that itself */
        bool inner_script = false;
        if (one(s, st, (int)db, (int)n, &argv[i + 2], &inner_script) == MEMLIMIT_REFUSE)
            return MEMLIMIT_REFUSE;
        script = script || inner_script;
        i += 2 + (int)n;
    }
    return script ? MEMLIMIT_GUARD : MEMLIMIT_RUN;
}

enum memlimit_verdict memlimit_verdict(struct store *s, struct memlimit_state *st, int db,
                                       int argc, const struct resp_arg *argv, const char **error)
{
    *error = OOM_ERROR;
    if (argc < 1 || (!st->deny_oom && st->room < 0 && st->budget < 0)) return MEMLIMIT_RUN;
    /* __asuser <user> <command>...: a restricted user's script, or any
     * user's transaction (cmds/acl.c): judged as the command it runs. */
    if (argc >= 3 && argv[0].len == 8 && memcmp(argv[0].ptr, "__asuser", 8) == 0) {
        argc -= 2;
        argv += 2;
    }
    if (argv[0].len == 6 && memcmp(argv[0].ptr, "__exec", 6) == 0) {
        *error = EXEC_OOM_ERROR;
        return transaction(s, st, argc, argv);
    }
    bool script = false;
    return one(s, st, db, argc, argv, &script);
}

bool oom_guard_allows(struct cmd_ctx *c)
{
    struct cmd_oom_guard *g = c->oom_guard;
    if (!g->wrote && (c->cmd->flags & CMD_DENYOOM)) {
        resp_error(&c->out, OOM_ERROR);
        return false;
    }
    if (c->cmd->flags & CMD_WRITE) g->wrote = true;
    return true;
}

/* --------------------------------------------------------------------
 * The internal commands
 * ------------------------------------------------------------------ */

static void cmd_internal_refuse(struct cmd_ctx *c)
{
    const struct resp_arg *e = &c->argv[1];
    resp_errorf(&c->out, "%.*s", (int)(e->len > 1024 ? 1024 : e->len), e->ptr);
}

static void cmd_internal_oomguard(struct cmd_ctx *c)
{
    bool is_sub;
    const struct cmd_def *d = resolve(c->argc - 1, c->argv + 1, &is_sub);
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, c->argc - 1)) {
        resp_error(&c->out, "ERR command cannot be applied from the log");
        return;
    }
    struct cmd_oom_guard guard = {false};
    struct cmd_ctx sub = *c;
    sub.argc = c->argc - 1;
    sub.argv = c->argv + 1;
    sub.cmd = d;
    sub.oom_guard = &guard;
    cmd_exec(&sub);
    c->rng = sub.rng;
    c->blocked = sub.blocked;
}

const struct cmd_def cmd_rows_memlimit[] = {
    {REFUSE_CMD, 2, CMD_WRITE | CMD_INTERNAL, 0, 0, 0, 0, cmd_internal_refuse, "internal",
     "parley-0.1", "Answers an error the leader decided instead of proposing a command.", "O(1)",
     NULL, NULL, NULL},
    {OOM_GUARD_CMD, -2, CMD_WRITE | CMD_INTERNAL, 0, 0, 0, 0, cmd_internal_oomguard, "internal",
     "parley-0.1", "Runs a script whose first deny-oom command is refused (memory over maxmemory).",
     "Depends on the command", NULL, NULL, NULL},
    CMD_ROWS_END,
};
