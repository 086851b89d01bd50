/* server/cmd_multi.c — MULTI, EXEC, DISCARD, WATCH, UNWATCH on the
 * connection's side.
 *
 * Between MULTI and EXEC, commands are checked (known, right arity, able
 * to run inside a transaction) and queued on the client; a bad one makes
 * EXEC answer EXECABORT, as in Redis. EXEC sends the whole queue to repl as
 * one internal __exec command, so the transaction is a single step of the
 * log (cmds/multi.c runs it), wrapped in __asuser with the client's user so
 * that each queued command is checked again when it runs, as Redis checks
 * them at EXEC. WATCH sends __watch through the log, which
 * opens a session recorded on every node; EXEC then carries the watched keys
 * and runs only if none changed since (store/watch.h). Node-local commands
 * Redis queues (CMD_TX_LOCAL: SLOWLOG, CONFIG GET/SET, CLIENT PAUSE) run
 * on this node when EXEC is sent, before the logged commands apply, and
 * their replies travel in the transaction in their places. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/mem.h"
#include "server/server.h"

struct queued {
    int db;
    int argc;
    size_t first; /* index of its first argument in args */
    const struct cmd_def *local; /* CMD_TX_LOCAL: runs on this node at EXEC */
};

struct multi_state {
    bool active;       /* between MULTI and EXEC/DISCARD */
    bool dirty;        /* a command was refused: EXEC answers EXECABORT */
    int db;            /* the database as SELECTs inside MULTI leave it */
    struct buf bytes;  /* argument bytes of queued commands and watched keys */
    size_t *offsets;   /* (offset, len) pairs into bytes */
    size_t n_args, cap_args;
    struct queued *cmds;
    size_t n_cmds, cap_cmds;
    struct buf watched; /* u8 db, u32 len, key ... */
    size_t n_watched;
    bool writes;        /* a queued command writes (CLIENT PAUSE WRITE holds EXEC) */
};

bool multi_queued_writes(const struct client *c)
{
    return c->multi && c->multi->active && c->multi->writes;
}

static struct multi_state *state(struct client *c)
{
    if (c->multi == NULL) c->multi = xcalloc(1, sizeof *c->multi);
    return c->multi;
}

static void reset_queue(struct multi_state *m)
{
    m->writes = false;
    m->active = m->dirty = false;
    buf_clear(&m->bytes);
    m->n_args = m->n_cmds = 0;
}

static void reset_watch(struct multi_state *m)
{
    buf_clear(&m->watched);
    m->n_watched = 0;
}

void multi_free(struct client *c)
{
    struct multi_state *m = c->multi;
    if (m == NULL) return;
    buf_free(&m->bytes);
    buf_free(&m->watched);
    free(m->offsets);
    free(m->cmds);
    free(m);
    c->multi = NULL;
}

/* The next watched key of m->watched (u8 db, u32 len, key). */
static void watched_next(struct reader *rd, uint8_t *db, const char **key, uint32_t *len)
{
    reader_u8(rd, db);
    reader_u32(rd, len);
    reader_bytes(rd, *len, key);
}

static void add_arg(struct multi_state *m, const char *p, size_t len)
{
    if (m->n_args == m->cap_args) {
        m->cap_args = m->cap_args ? m->cap_args * 2 : 16;
        m->offsets = xrealloc(m->offsets, m->cap_args * 2 * sizeof *m->offsets);
    }
    m->offsets[2 * m->n_args] = m->bytes.len;
    m->offsets[2 * m->n_args + 1] = len;
    m->n_args++;
    buf_append(&m->bytes, p, len);
}

static void add_cmd(struct multi_state *m, int db, int argc, const struct resp_arg *argv)
{
    if (m->n_cmds == m->cap_cmds) {
        m->cap_cmds = m->cap_cmds ? m->cap_cmds * 2 : 8;
        m->cmds = xrealloc(m->cmds, m->cap_cmds * sizeof *m->cmds);
    }
    m->cmds[m->n_cmds].db = db;
    m->cmds[m->n_cmds].argc = argc;
    m->cmds[m->n_cmds].first = m->n_args;
    m->cmds[m->n_cmds].local = NULL;
    m->n_cmds++;
    for (int i = 0; i < argc; i++) add_arg(m, argv[i].ptr, argv[i].len);
}

void multi_flag_error(struct client *c)
{
    if (c->multi && c->multi->active) c->multi->dirty = true;
}

static void cmd_exec_tx(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv);

bool multi_refuse_exec(struct client *c, const struct cmd_def *cmd)
{
    if (cmd_local_handler(cmd) != cmd_exec_tx) return false;
    multi_free(c);
    struct resp_out o = client_reply(c);
    resp_error(&o, "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command");
    return true;
}

static void reply_error(struct client *c, const char *text)
{
    struct resp_out o = client_reply(c);
    resp_error(&o, text);
}

bool multi_queueing(const struct client *c)
{
    return c->multi != NULL && c->multi->active;
}

void multi_queue_reply(struct client *c, const char *kind, const char *text, size_t len)
{
    CHECK(multi_queueing(c));
    struct multi_state *m = c->multi;
    if (kind == NULL) {
        struct resp_arg ok = {"__ok", 4};
        add_cmd(m, m->db, 1, &ok);
        return;
    }
    struct resp_arg r[3] = {{"__reply", 7}, {kind, strlen(kind)}, {text, len}};
    add_cmd(m, m->db, 3, r);
}

void multi_queue_internal(struct client *c, int argc, const struct resp_arg *argv)
{
    CHECK(multi_queueing(c) && argc > 0);
    add_cmd(c->multi, c->multi->db, argc, argv);
}

void multi_queue_select(struct client *c, int db)
{
    CHECK(multi_queueing(c) && db >= 0 && db < STORE_DBS);
    c->multi->db = db;
    multi_queue_reply(c, NULL, NULL, 0);
}

bool multi_queue(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    struct multi_state *m = c->multi;
    if (m == NULL || !m->active) return false;
    if (cmd->flags & CMD_TX_CONTROL) return false;
    if (cmd->flags & CMD_TX_REPLY) {
        /* Connection commands Redis queues like any other (SELECT, PING,
         * ...): their handler sees the client queueing and queues what it
         * answers inside EXEC (cmds/multi.c: __ok, __reply). */
        cmd_local_fn *fn = cmd_local_handler(cmd);
        CHECK(fn != NULL);
        fn(c, cmd, argc, argv);
    } else if (cmd->flags & CMD_TX_LOCAL) {
        add_cmd(m, m->db, argc, argv);
        m->cmds[m->n_cmds - 1].local = cmd;
    } else if (cmd->exec == NULL || (cmd->flags & CMD_INTERNAL)) {
        struct resp_out o = client_reply(c);
        resp_errorf(&o, "ERR '%s' cannot run inside a transaction in Parley", cmd->name);
        m->dirty = true;
        return true;
    } else {
        /* A restricted user's script runs with its permissions (cmd_acl.c). */
        struct resp_arg *wrapped = acl_wrap_script(c, cmd, argc, argv);
        if (wrapped) add_cmd(m, m->db, argc + 2, wrapped);
        else add_cmd(m, m->db, argc, argv);
        if (pause_counts_as_write(c, cmd, argc, argv)) m->writes = true;
        free(wrapped);
    }
    struct resp_out o = client_reply(c);
    resp_simple(&o, "QUEUED");
    return true;
}

static void cmd_multi(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    struct multi_state *m = state(c);
    if (m->active) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    reset_queue(m);
    m->active = true;
    m->db = c->db;
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void cmd_discard(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct multi_state *m = c->multi;
    if (m == NULL || !m->active) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    reset_queue(m);
    reset_watch(m);
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

/* Builds the __exec command (see cmds/multi.c) and submits it. */
static void cmd_exec_tx(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    struct multi_state *m = c->multi;
    if (m == NULL || !m->active) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (m->dirty) {
        reset_queue(m);
        reset_watch(m);
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    /* Node-local commands (CMD_TX_LOCAL) run here, on this node, in their
     * queued order, before the logged ones apply; what each answers goes
     * into the transaction as `__reply raw <reply>` in its place, so EXEC's
     * array keeps every reply where Redis has it. (Unlike Redis's, they
     * have run even if a WATCH then aborts the transaction.) */
    struct buf local = BUF_INIT;
    size_t *local_off = xmalloc((m->n_cmds ? m->n_cmds : 1) * 2 * sizeof *local_off);
    for (size_t i = 0; i < m->n_cmds; i++) {
        const struct queued *q = &m->cmds[i];
        if (q->local == NULL) continue;
        struct resp_arg *qargv = xmalloc((size_t)q->argc * sizeof *qargv);
        for (int j = 0; j < q->argc; j++) {
            size_t arg = q->first + (size_t)j;
            qargv[j] = (struct resp_arg){m->bytes.data + m->offsets[2 * arg], m->offsets[2 * arg + 1]};
        }
        local_off[2 * i] = local.len;
        cmd_local_fn *fn = cmd_local_handler(q->local);
        CHECK(fn != NULL);
        c->capture = &local;
        fn(c, q->local, q->argc, qargv);
        c->capture = NULL;
        free(qargv);
        local_off[2 * i + 1] = local.len - local_off[2 * i];
        if (local_off[2 * i + 1] == 0) { /* a handler that answered nothing */
            struct resp_out o = {&local, c->proto};
            resp_error(&o, "ERR command cannot run inside a transaction");
            local_off[2 * i + 1] = local.len - local_off[2 * i];
        }
    }
    /* Numbers first (their buffer must not move once pointed into). */
    struct buf nums = BUF_INIT;
    size_t n_total = 7 + 2 * m->n_watched + 5 * m->n_cmds + m->n_args;
    size_t *num_off = xmalloc((3 + 2 * m->n_watched + 1 + 2 * m->n_cmds) * 2 * sizeof *num_off);
    size_t k = 0;
#define NUM(fmt, v)                                        \
    do {                                                   \
        num_off[2 * k] = nums.len;                         \
        buf_printf(&nums, fmt, v);                         \
        num_off[2 * k + 1] = nums.len - num_off[2 * k];    \
        k++;                                               \
    } while (0)
    NUM("%" PRIu64, c->id);
    NUM("%d", m->n_watched ? 1 : 0);
    NUM("%zu", m->n_watched);
    struct reader rd;
    reader_init(&rd, m->watched.data, m->watched.len);
    for (size_t i = 0; i < m->n_watched; i++) {
        uint8_t db;
        uint32_t len;
        const char *key;
        watched_next(&rd, &db, &key, &len);
        NUM("%d", (int)db);
    }
    NUM("%zu", m->n_cmds);
    for (size_t i = 0; i < m->n_cmds; i++) {
        NUM("%d", m->cmds[i].db);
        NUM("%d", m->cmds[i].argc);
    }
#undef NUM
    struct resp_arg *args = xmalloc(n_total * sizeof *args);
    size_t a = 0, num = 0;
#define PUT_NUM() (args[a].ptr = nums.data + num_off[2 * num], args[a++].len = num_off[2 * num + 1], num++)
    /* Run as the client's user: EXEC re-checks every queued command
     * against the user's rules as they are when it applies (cmds/multi.c). */
    args[a].ptr = "__asuser";
    args[a++].len = 8;
    args[a].ptr = c->user;
    args[a++].len = strlen(c->user);
    args[a].ptr = "__exec";
    args[a++].len = 6;
    PUT_NUM();
    PUT_NUM();
    PUT_NUM();
    reader_init(&rd, m->watched.data, m->watched.len);
    for (size_t i = 0; i < m->n_watched; i++) {
        uint8_t db;
        uint32_t len;
        const char *key;
        watched_next(&rd, &db, &key, &len);
        PUT_NUM();
        args[a].ptr = key;
        args[a++].len = len;
    }
    PUT_NUM();
    for (size_t i = 0; i < m->n_cmds; i++) {
        PUT_NUM();
        if (m->cmds[i].local) { /* __reply raw <what it answered> */
            num++;
            args[a++] = (struct resp_arg){"3", 1};
            args[a++] = (struct resp_arg){"__reply", 7};
            args[a++] = (struct resp_arg){"raw", 3};
            args[a].ptr = local.data + local_off[2 * i];
            args[a++].len = local_off[2 * i + 1];
            continue;
        }
        PUT_NUM();
        for (int j = 0; j < m->cmds[i].argc; j++) {
            size_t arg = m->cmds[i].first + (size_t)j;
            args[a].ptr = m->bytes.data + m->offsets[2 * arg];
            args[a++].len = m->offsets[2 * arg + 1];
        }
    }
#undef PUT_NUM
    /* A transaction larger than a log entry can carry is refused whole. */
    const char *too_large = a > INT_MAX ? repl_refuse(0, args) : repl_refuse((int)a, args);
    if (too_large) {
        reply_error(c, too_large);
    } else {
        struct reply_slot *slot = client_slot_for_submit(c);
        repl_submit(c->srv->repl, slot, c->db, c->proto, (int)a, args);
        if (m->db != c->db && m->n_watched == 0) {
            c->db = m->db;
        } else if (m->db != c->db) {
            /* A WATCH may still abort the transaction, and then its SELECTs
             * never ran: read nothing more from this client until EXEC is
             * answered, and switch only if it ran (client.c). */
            c->exec_slot = slot;
            c->exec_db = m->db;
            c->blocking_slot = slot;
            net_conn_hold(c->conn);
        }
    }
    free(args);
    free(num_off);
    buf_free(&nums);
    free(local_off);
    buf_free(&local);
    reset_queue(m);
    reset_watch(m);
}

static void cmd_watch(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    struct multi_state *m = state(c);
    if (m->active) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* The first WATCH of a transaction starts a new observation point; a
     * later one carries the keys watched before it (cmds/multi.c). */
    const char *fresh = m->n_watched == 0 ? "1" : "0";
    size_t n_args = 3 + 2 * m->n_watched;
    struct resp_arg *w = xmalloc(n_args * sizeof *w);
    char (*dbs)[4] = xmalloc((m->n_watched ? m->n_watched : 1) * sizeof *dbs);
    char id[24];
    int n = snprintf(id, sizeof id, "%" PRIu64, c->id);
    w[0] = (struct resp_arg){"__watch", 7};
    w[1] = (struct resp_arg){id, (size_t)n};
    w[2] = (struct resp_arg){fresh, 1};
    struct reader rd;
    reader_init(&rd, m->watched.data, m->watched.len);
    for (size_t i = 0; i < m->n_watched; i++) {
        uint8_t db;
        uint32_t len;
        const char *key;
        watched_next(&rd, &db, &key, &len);
        w[3 + 2 * i] = (struct resp_arg){dbs[i], (size_t)snprintf(dbs[i], sizeof dbs[i], "%d", (int)db)};
        w[4 + 2 * i] = (struct resp_arg){key, len};
    }
    /* Earlier keys too many for one log entry: sent without them, the
     * session keeps its first point (a transaction may abort where Redis
     * would run it, never the other way). */
    if (n_args > INT_MAX || repl_refuse((int)n_args, w)) n_args = 3;
    repl_submit(c->srv->repl, client_slot_for_submit(c), c->db, c->proto, (int)n_args, w);
    free(dbs);
    free(w);
    for (int i = 1; i < argc; i++) {
        buf_append_u8(&m->watched, (uint8_t)c->db);
        buf_append_u32(&m->watched, (uint32_t)argv[i].len);
        buf_append(&m->watched, argv[i].ptr, argv[i].len);
        m->n_watched++;
    }
}

static void cmd_unwatch(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    if (multi_queueing(c)) { /* answers OK inside EXEC; the WATCH stands */
        multi_queue_reply(c, NULL, NULL, 0);
        return;
    }
    if (c->multi) reset_watch(c->multi);
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

void multi_bind_handlers(void)
{
    cmd_bind_local("multi", cmd_multi);
    cmd_bind_local("exec", cmd_exec_tx);
    cmd_bind_local("discard", cmd_discard);
    cmd_bind_local("watch", cmd_watch);
    cmd_bind_local("unwatch", cmd_unwatch);
}
