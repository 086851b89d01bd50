/* cmds/multi.c — transactions as they run from the log.
 *
 * The server queues MULTI ... EXEC on the client's connection and sends
 * EXEC as one internal command, so a transaction is one step of the log:
 * every node runs all of it, between two other commands, or none of it.
 *
 *   __watch <client id> <fresh 0|1> (<db> <key>)*
 *       opens the WATCH session of (sending process, client) (watch.h);
 *       fresh: the first WATCH since the last EXEC/DISCARD/UNWATCH, which
 *       starts a new observation point; a later one carries the keys
 *       watched before it, and starts a new point if none has changed
 *   __exec <client id> <watched 0|1> <n keys> (<db> <key>)* <n cmds>
 *          (<db> <argc> <arg>*)*
 *       runs the queued commands in order and answers their replies as one
 *       array; if watched and a watched key changed since the session
 *       opened, runs nothing and answers a null array, as Redis does.
 *       The server sends it wrapped, __asuser <user> __exec ...: each
 *       queued command is then checked against the user's rules as they
 *       are when the transaction applies (acl_exec_refuse).
 *   __ok, __reply simple|bulk|error <text>
 *       only inside __exec: what a connection command queued in MULTI
 *       answers there (SELECT, UNWATCH, PING, ECHO)
 *
 * Commands inside a transaction run through the same table and exec
 * functions as anywhere else. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/acl.h"
#include "cmds/cmd.h"

static bool arg_u64(const struct resp_arg *a, uint64_t *v)
{
    long long x;
    if (!arg_to_ll(a, &x) || x < 0) return false;
    *v = (uint64_t)x;
    return true;
}

static void cmd_internal_watch(struct cmd_ctx *c)
{
    uint64_t client, fresh;
    if (!arg_u64(&c->argv[1], &client) || !arg_u64(&c->argv[2], &fresh) || (c->argc - 3) % 2) {
        resp_error(&c->out, "ERR malformed __watch");
        return;
    }
    size_t n = (size_t)(c->argc - 3) / 2;
    struct watch_key *earlier = n ? calloc(n, sizeof *earlier) : NULL;
    if (n && earlier == NULL) abort();
    for (size_t k = 0; k < n; k++) {
        uint64_t db;
        if (!arg_u64(&c->argv[3 + 2 * k], &db) || db >= STORE_DBS) {
            free(earlier);
            resp_error(&c->out, "ERR malformed __watch");
            return;
        }
        earlier[k].db = (int)db;
        earlier[k].key = c->argv[4 + 2 * k].ptr;
        earlier[k].klen = c->argv[4 + 2 * k].len;
    }
    watch_begin(&c->store->watch, c->origin, client, fresh != 0, earlier, n, c->now_ms);
    free(earlier);
    resp_ok(&c->out);
}

/* SELECT inside MULTI: the server applies the database to the commands
 * queued after it; inside the transaction it answers OK. */
static void cmd_internal_ok(struct cmd_ctx *c)
{
    resp_ok(&c->out);
}

/* PING, ECHO and a SELECT that fails, inside MULTI: what they answer
 * depends on their arguments alone, so the server queues their reply,
 * which EXEC gives in its place:
 *   __reply simple|bulk|error <text>
 * and a node-local command (SLOWLOG, CONFIG SET...) the server ran when
 * EXEC was sent, its whole reply:  __reply raw <reply> */
static void cmd_internal_reply(struct cmd_ctx *c)
{
    const struct resp_arg *text = &c->argv[2];
    if (arg_is(&c->argv[1], "bulk")) {
        resp_bulk(&c->out, text->ptr, text->len);
    } else if (arg_is(&c->argv[1], "raw")) {
        /* What a node-local command answered when EXEC was sent. */
        resp_raw(&c->out, text->ptr, text->len);
    } else if (arg_is(&c->argv[1], "error")) {
        resp_errorf(&c->out, "%.*s", (int)text->len, text->ptr);
    } else if (arg_is(&c->argv[1], "simple") && text->len < 64 && !memchr(text->ptr, '\r', text->len) &&
               !memchr(text->ptr, '\n', text->len)) {
        char line[64];
        memcpy(line, text->ptr, text->len);
        line[text->len] = '\0';
        resp_simple(&c->out, line);
    } else {
        resp_error(&c->out, "ERR malformed __reply");
    }
}

/* Runs one queued command with its own database; replies like a client.
 * A transaction sent with its user (__asuser <user> __exec ...) has each
 * command checked against the user as it is now, as Redis checks them
 * when EXEC runs: a command refused answers NOPERM in its place and the
 * others run. */
static void run_queued(struct cmd_ctx *c, uint64_t client, int db, int argc,
                       const struct resp_arg *argv)
{
    struct cmd_ctx sub = *c;
    sub.no_block = true; /* blocking commands answer nil inside MULTI */
    sub.db = db;
    sub.argc = argc;
    sub.argv = argv;
    /* What the server queues: client commands, and the internal ones it
     * sends on a client's behalf (__ok, __reply, __asuser, __aclsetuser,
     * __aclload). */
    const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len, true);
    if (d && (d->flags & CMD_INTERNAL) && !(d->flags & CMD_FOR_CLIENT)) d = NULL;
    if (d && (d->flags & CMD_CONTAINER) && argc >= 2) d = cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
    /* EXEC answers one reply per command: a command that may answer
     * several or none never runs here (the server refuses it in MULTI). */
    if (d == NULL || d->exec == NULL || (d->flags & CMD_NOT_QUEUED) || !cmd_arity_ok(d, argc)) {
        resp_error(&sub.out, "ERR command cannot run inside a transaction");
        return;
    }
    if (acl_exec_refuse(&sub, client, d, argc, argv)) return;
    sub.cmd = d;
    cmd_exec(&sub);
    c->rng = sub.rng;
}

static void cmd_internal_exec(struct cmd_ctx *c)
{
    const struct resp_arg *a = c->argv;
    int i = 1;
    uint64_t client, watched, nkeys, ncmds;
    if (c->argc < 5 || !arg_u64(&a[i++], &client) || !arg_u64(&a[i++], &watched) ||
        !arg_u64(&a[i++], &nkeys) || nkeys > (uint64_t)(c->argc - i) / 2)
        goto malformed;
    struct watch_key *keys = NULL;
    if (nkeys) {
        keys = calloc(nkeys, sizeof *keys);
        if (keys == NULL) abort();
    }
    for (uint64_t k = 0; k < nkeys; k++) {
        uint64_t db;
        if (!arg_u64(&a[i], &db) || db >= STORE_DBS) {
            free(keys);
            goto malformed;
        }
        keys[k].db = (int)db;
        keys[k].key = a[i + 1].ptr;
        keys[k].klen = a[i + 1].len;
        i += 2;
    }
    /* As in Redis 7.0, a watched key that was alive at WATCH and whose
     * time has passed by now is a change, deleted or not yet. */
    bool expired_since = false;
    int64_t start_ms;
    if (watched && watch_session_start(&c->store->watch, c->origin, client, &start_ms)) {
        for (uint64_t k = 0; k < nkeys && !expired_since; k++) {
            struct dict_entry *e = store_lookup(c->store, keys[k].db, keys[k].key, keys[k].klen, start_ms, false);
            expired_since = e && store_is_expired(c->store, keys[k].db, e, c->now_ms);
        }
    }
    bool clean = !watched || watch_check_and_end(&c->store->watch, c->origin, client, keys, nkeys);
    clean = clean && !expired_since;
    free(keys);
    if (i >= c->argc || !arg_u64(&a[i++], &ncmds)) goto malformed;
    if (!clean) {
        resp_null_array(&c->out);
        return;
    }
    resp_array(&c->out, (long long)ncmds);
    for (uint64_t k = 0; k < ncmds; k++) {
        uint64_t db, argc;
        if (i + 2 > c->argc || !arg_u64(&a[i], &db) || db >= STORE_DBS || !arg_u64(&a[i + 1], &argc) ||
            argc == 0 || argc > (uint64_t)(c->argc - i - 2)) {
            /* Cannot happen for what the server sends; keep the reply whole. */
            resp_error(&c->out, "ERR malformed transaction");
            continue;
        }
        run_queued(c, client, (int)db, (int)argc, &a[i + 2]);
        i += 2 + (int)argc;
    }
    return;
malformed:
    resp_error(&c->out, "ERR malformed __exec");
}

#define ROW(n, ar, fl, exec, sum)                                                          \
    {n, ar, (fl) | CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE, 0, 0, 0, 0, exec, "transactions", \
     "parley-0.1", sum, "O(N)", NULL, NULL, NULL}

#define LOCAL(n, ar, fl, acl, sum, cx) \
    {n, ar, CMD_LOCAL | (fl), 0, 0, 0, ACL_TRANSACTION | (acl), NULL, "transactions", "", sum, cx, NULL, NULL, NULL}

const struct cmd_def cmd_rows_multi[] = {
    LOCAL("multi", 1, CMD_TX_CONTROL | CMD_FAST | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_FAST, "Starts a transaction.", "O(1)"),
    LOCAL("exec", 1, CMD_SKIP_SLOWLOG | CMD_TX_CONTROL | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_SLOW,
          "Executes all commands in a transaction.", "Depends on commands in the transaction"),
    LOCAL("discard", 1, CMD_TX_CONTROL | CMD_FAST | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_FAST, "Discards a transaction.",
          "O(N), when N is the number of queued commands"),
    /* Its keys are keys (ACL checks them, as Redis does), though it neither reads nor changes them. */
    {"watch", -2, CMD_LOCAL | CMD_TX_CONTROL | CMD_FAST | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 1, -1, 1,
     ACL_TRANSACTION | ACL_FAST, NULL, "transactions", "",
     "Monitors changes to keys to determine the execution of a transaction.", "O(1) for every key.", NULL,
     "RO", NULL},
    LOCAL("unwatch", 1, CMD_TX_REPLY | CMD_FAST | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_FAST,
          "Forgets about watched keys of a transaction.", "O(1)"),
    ROW("__watch", -3, 0, cmd_internal_watch, "Opens a WATCH session (sent by the server for WATCH)."),
    ROW("__ok", 1, 0, cmd_internal_ok, "Answers OK (SELECT and UNWATCH inside a transaction)."),
    ROW("__reply", 3, 0, cmd_internal_reply, "Answers its argument (PING, ECHO, a failed SELECT inside a transaction)."),
    ROW("__exec", -5, 0, cmd_internal_exec, "Runs a transaction (sent by the server for EXEC)."),
    CMD_ROWS_END,
};
