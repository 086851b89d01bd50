/* server/cmd_migrate.c — MIGRATE: moves keys to another server (a
 * redis-server or a Parley node) over its client port, and the cache of
 * connections MIGRATE keeps to its targets.
 *
 * MIGRATE talks to the network, so it never runs in apply: the node that
 * receives it does the work and holds its client's reply meanwhile (the
 * client's next commands wait, as Redis's MIGRATE blocks its client):
 *   1. it reads the keys with `__migrateread` (cmds/dump.c): each key's
 *      TTL and DUMP payload, linearizably, where a client's DUMP and PTTL
 *      would be read: on the leader under its read lease, else (a
 *      follower, no lease, an earlier command of the client waiting)
 *      through the log;
 *   2. it sends the target, pipelined, AUTH or AUTH2 if given, SELECT, and
 *      one RESTORE-ASKING key ttl payload [REPLACE] per key, over one
 *      outgoing connection (net/outconn.h); the timeout (ms) bounds
 *      connecting and then each reply;
 *   3. unless COPY, it deletes the keys the target acknowledged through
 *      the log, `__migratedel` (cmds/dump.c), which deletes a key only if
 *      its value is still the one sent: a write that landed between the
 *      read and the delete is kept, on every replica alike.
 * Replies and errors are Redis 7.0's: OK; NOKEY when none of the keys
 * exists; "Target instance replied with error: ..." with the target's
 * first error; IOERR when the target cannot be reached or does not answer
 * in time (keys the target did not acknowledge stay).
 *
 * As Redis does, a connection to a host:port is kept for the next
 * MIGRATE there and closed once unused for 10 s (INFO's
 * migrate_cached_sockets counts them); one that failed is dropped. A
 * MIGRATE that finds the cached connection busy (another MIGRATE to the
 * same target is under way) uses a connection of its own, closed after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/outconn.h"
#include "resp/reply.h"
#include "server/server.h"

#define CACHE_IDLE_MS 10000 /* Redis's MIGRATE_SOCKET_CACHE_TTL */
#define CACHE_MAX 64        /* Redis's MIGRATE_SOCKET_CACHE_ITEMS */
#define ADDR_MAX 300

#define IOERR_CONNECT "IOERR error or timeout connecting to the client"
#define IOERR_WRITE "IOERR error or timeout writing to target instance"
#define IOERR_READ "IOERR error or timeout reading to target instance"

struct migrate_op;

/* A connection to one target; cached ones are in the server's list. */
struct migrate_conn {
    struct migrate_cache *cache;
    char addr[ADDR_MAX];
    struct outconn *conn;   /* NULL once it ended */
    bool connected;
    bool cached;            /* in the list: counted by migrate_cached_sockets */
    struct migrate_op *op;  /* the MIGRATE using it now; NULL when idle */
    uv_timer_t idle;        /* closes a cached connection unused for 10 s */
    struct migrate_conn *next;
};

struct migrate_key {
    struct buf name;
    long long ttl;       /* 0: none (RESTORE's) */
    struct buf payload;  /* DUMP's */
    bool acked;          /* the target answered its RESTORE-ASKING with OK */
};

/* One MIGRATE, from its client's command to its reply. */
struct migrate_op {
    struct server *srv;
    struct reply_slot *client; /* the client's reply, held until answered */
    struct reply_slot log;     /* __migrateread's, then __migratedel's */
    int db, dest_db;
    unsigned timeout_ms;
    bool copy, replace;
    int auth_words;            /* 0, 2 (AUTH pass) or 3 (AUTH2 user pass) */
    struct buf auth_user, auth_pass;
    char addr[ADDR_MAX];
    char host_port1[ADDR_MAX]; /* the host with port 1: is the host one? */
    struct migrate_key *keys;
    int n_keys;                /* those that exist, once read */
    int n_named;               /* the command's keys (keys[] holds them all) */
    struct migrate_conn *mc;
    int replies_seen;          /* of the AUTH, SELECT and RESTORE-ASKINGs sent */
    struct buf target_error;   /* the target's first error, "-..." */
    const char *io_error;      /* why the connection failed, or NULL */
    struct migrate_op *next;
};

struct migrate_cache {
    struct migrate_conn *conns; /* cached, idle or in use */
    size_t n_cached;
    struct migrate_op *ops;     /* under way */
};

static struct migrate_cache *cache_of(struct server *s)
{
    if (s->migrate == NULL) s->migrate = xcalloc(1, sizeof *s->migrate);
    return s->migrate;
}

size_t migrate_cached_sockets(const struct server *s)
{
    return s->migrate ? s->migrate->n_cached : 0;
}

/* --------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------ */

static void conn_freed(uv_handle_t *h)
{
    free(h->data);
}

static void uncache(struct migrate_conn *mc)
{
    if (!mc->cached) return;
    for (struct migrate_conn **p = &mc->cache->conns; *p; p = &(*p)->next)
        if (*p == mc) {
            *p = mc->next;
            break;
        }
    mc->cached = false;
    mc->cache->n_cached--;
}

/* Closes and frees mc (its timer's close frees it). */
static void conn_drop(struct migrate_conn *mc)
{
    uncache(mc);
    if (mc->conn) outconn_close(mc->conn);
    mc->conn = NULL;
    uv_timer_stop(&mc->idle);
    uv_close((uv_handle_t *)&mc->idle, conn_freed);
}

static void on_idle(uv_timer_t *t)
{
    struct migrate_conn *mc = t->data;
    CHECK(mc->op == NULL);
    conn_drop(mc);
}

/* The op is done with its connection: a cached one that still works waits
 * for the next MIGRATE; any other is closed. */
static void conn_release(struct migrate_conn *mc, bool broken)
{
    mc->op = NULL;
    if (broken || !mc->cached || mc->conn == NULL) {
        conn_drop(mc);
        return;
    }
    outconn_deadline_stop(mc->conn);
    uv_timer_start(&mc->idle, on_idle, CACHE_IDLE_MS, 0);
}

static void op_conn_failed(struct migrate_op *op, enum outconn_end end, bool connected);
static void op_connected(struct migrate_op *op);
static void op_reply(struct migrate_op *op, const char *reply, size_t len);

static void on_conn_connected(void *arg)
{
    struct migrate_conn *mc = arg;
    mc->connected = true;
    struct migrate_cache *cache = mc->cache;
    bool taken = false;
    for (struct migrate_conn *o = cache->conns; o && !taken; o = o->next)
        taken = strcmp(o->addr, mc->addr) == 0;
    if (!taken && cache->n_cached < CACHE_MAX) { /* cached once it is up, as Redis */
        mc->cached = true;
        mc->next = cache->conns;
        cache->conns = mc;
        cache->n_cached++;
    }
    if (mc->op) op_connected(mc->op);
}

static void on_conn_reply(void *arg, const char *reply, size_t len)
{
    struct migrate_conn *mc = arg;
    if (mc->op) op_reply(mc->op, reply, len);
}

/* Ended by itself: the connection closes after this returns. */
static void on_conn_fail(void *arg, enum outconn_end end, const char *why)
{
    struct migrate_conn *mc = arg;
    mc->conn = NULL;
    struct migrate_op *op = mc->op;
    log_msg(LOG_VERBOSE, "MIGRATE connection to %s ended: %s", mc->addr, why);
    if (op) op_conn_failed(op, end, mc->connected); /* releases mc */
    else conn_drop(mc);
}

/* A connection for op: the cached one to its target when idle, else a new
 * one (cached once connected if none is). */
static struct migrate_conn *conn_for(struct migrate_op *op)
{
    struct migrate_cache *cache = cache_of(op->srv);
    for (struct migrate_conn *mc = cache->conns; mc; mc = mc->next)
        if (strcmp(mc->addr, op->addr) == 0 && mc->op == NULL && mc->conn && mc->connected) {
            uv_timer_stop(&mc->idle);
            mc->op = op;
            return mc;
        }
    struct migrate_conn *mc = xcalloc(1, sizeof *mc);
    mc->cache = cache;
    snprintf(mc->addr, sizeof mc->addr, "%s", op->addr);
    mc->op = op;
    uv_timer_init(op->srv->loop, &mc->idle);
    mc->idle.data = mc;
    struct outconn_options o = {
        .deadline_ms = op->timeout_ms,
        .deadline_why = IOERR_CONNECT,
        .reply_bulk_max = op->srv->cfg.proto_max_bulk_len,
    };
    struct outconn_handlers h = {
        .arg = mc, .on_connected = on_conn_connected, .on_reply = on_conn_reply, .on_fail = on_conn_fail};
    mc->conn = outconn_open(op->srv->loop, mc->addr, &o, &h);
    return mc;
}

/* --------------------------------------------------------------------
 * One MIGRATE
 * ------------------------------------------------------------------ */

static void op_free(struct migrate_op *op)
{
    CHECK(op->log.pending == 0 && op->mc == NULL);
    struct migrate_cache *cache = cache_of(op->srv);
    for (struct migrate_op **p = &cache->ops; *p; p = &(*p)->next)
        if (*p == op) {
            *p = op->next;
            break;
        }
    for (int i = 0; i < op->n_named; i++) {
        buf_free(&op->keys[i].name);
        buf_free(&op->keys[i].payload);
    }
    free(op->keys);
    buf_free(&op->auth_user);
    buf_free(&op->auth_pass);
    buf_free(&op->target_error);
    buf_free(&op->log.reply);
    free(op);
}

/* Answers the client (raw RESP) and ends op. */
static void op_answer(struct migrate_op *op, const char *raw, size_t len)
{
    struct reply_slot *slot = op->client;
    CHECK(slot->pending > 0);
    buf_append(&slot->reply, raw, len);
    op_free(op);
    if (--slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
}

static void op_answer_error(struct migrate_op *op, const char *text)
{
    struct buf b = BUF_INIT;
    buf_printf(&b, "-%s\r\n", text);
    op_answer(op, b.data, b.len);
    buf_free(&b);
}

/* What MIGRATE answers once the keys are sent (and deleted). */
static void op_finish_reply(struct migrate_op *op)
{
    if (op->target_error.len) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "-ERR Target instance replied with error: %.*s\r\n",
                   (int)op->target_error.len, op->target_error.data);
        op_answer(op, b.data, b.len);
        buf_free(&b);
    } else if (op->io_error) {
        op_answer_error(op, op->io_error);
    } else {
        op_answer(op, "+OK\r\n", 5);
    }
}

static void on_deleted(struct reply_slot *slot)
{
    struct migrate_op *op = slot->owner;
    const struct buf *r = &slot->reply;
    if (r->len && r->data[0] == '-') { /* the keys were sent, but not deleted */
        op_answer(op, r->data, r->len);
        return;
    }
    op_finish_reply(op);
}

/* The target has what it acknowledged: unless COPY, those keys go. */
static void op_sent(struct migrate_op *op)
{
    int acked = 0;
    for (int i = 0; i < op->n_keys; i++) acked += op->keys[i].acked;
    if (op->copy || acked == 0) {
        op_finish_reply(op);
        return;
    }
    int argc = 1 + 2 * acked;
    struct resp_arg *argv = xcalloc((size_t)argc, sizeof *argv);
    argv[0] = (struct resp_arg){"__migratedel", 12};
    int n = 1;
    for (int i = 0; i < op->n_keys; i++) {
        struct migrate_key *k = &op->keys[i];
        if (!k->acked) continue;
        argv[n++] = (struct resp_arg){k->name.data ? k->name.data : "", k->name.len};
        argv[n++] = (struct resp_arg){k->payload.data + k->payload.len - 8, 8}; /* its CRC-64 */
    }
    buf_clear(&op->log.reply);
    op->log.on_ready = on_deleted;
    repl_submit(op->srv->repl, &op->log, op->db, 2, argc, argv); /* may answer at once */
    free(argv);
}

static void op_conn_failed(struct migrate_op *op, enum outconn_end end, bool connected)
{
    struct migrate_conn *mc = op->mc;
    op->mc = NULL;
    conn_release(mc, true);
    /* Redis: a connect that does not complete in time is "connecting"; a
     * refused one shows when it writes; after that, replies are read. */
    if (!connected) op->io_error = end == OUTCONN_UNREACHABLE ? IOERR_WRITE : IOERR_CONNECT;
    else op->io_error = IOERR_READ;
    op_sent(op);
}

static void put_request(struct resp_out *o, int argc, const struct resp_arg *argv)
{
    resp_array(o, argc);
    for (int i = 0; i < argc; i++) resp_bulk(o, argv[i].ptr, argv[i].len);
}

static void op_connected(struct migrate_op *op)
{
    struct outconn *conn = op->mc->conn;
    struct resp_out o = {.buf = outconn_out(conn), .proto = 2};
    if (op->auth_words == 2) {
        struct resp_arg a[] = {{"AUTH", 4}, {op->auth_pass.data ? op->auth_pass.data : "", op->auth_pass.len}};
        put_request(&o, 2, a);
    } else if (op->auth_words == 3) {
        struct resp_arg a[] = {{"AUTH", 4},
                               {op->auth_user.data ? op->auth_user.data : "", op->auth_user.len},
                               {op->auth_pass.data ? op->auth_pass.data : "", op->auth_pass.len}};
        put_request(&o, 3, a);
    }
    char db[24];
    struct resp_arg select[] = {{"SELECT", 6}, {db, (size_t)snprintf(db, sizeof db, "%d", op->dest_db)}};
    put_request(&o, 2, select);
    for (int i = 0; i < op->n_keys; i++) {
        struct migrate_key *k = &op->keys[i];
        char ttl[24];
        struct resp_arg a[] = {{"RESTORE-ASKING", 14},
                               {k->name.data ? k->name.data : "", k->name.len},
                               {ttl, (size_t)snprintf(ttl, sizeof ttl, "%lld", k->ttl)},
                               {k->payload.data, k->payload.len},
                               {"REPLACE", 7}};
        put_request(&o, op->replace ? 5 : 4, a);
    }
    outconn_deadline(conn, op->timeout_ms, IOERR_READ);
    outconn_flush(conn);
}

/* One reply of the target, in the order of the requests. */
static void op_reply(struct migrate_op *op, const char *reply, size_t len)
{
    int pre = (op->auth_words ? 1 : 0) + 1; /* AUTH, SELECT */
    int at = op->replies_seen++;
    bool error = len > 0 && reply[0] == '-';
    if (error && op->target_error.len == 0) {
        size_t text = len >= 3 ? len - 3 : 0; /* without '-' and CRLF */
        buf_append(&op->target_error, reply + 1, text);
    }
    if (at >= pre && !error) op->keys[at - pre].acked = true;
    if (op->replies_seen < pre + op->n_keys) {
        outconn_deadline(op->mc->conn, op->timeout_ms, IOERR_READ);
        return;
    }
    struct migrate_conn *mc = op->mc;
    op->mc = NULL;
    conn_release(mc, false);
    op_sent(op);
}

/* Reads __migrateread's reply p[0..len) into op's keys (those that exist
 * first; *kept of them): NULL, or the error reply in it to pass on. */
static bool read_keys(struct migrate_op *op, const char *p, size_t len, int *kept,
                      const char **error, size_t *error_len)
{
    struct resp_reply_head h;
    *error = NULL;
    *kept = 0;
    if (resp_reply_head(p, len, &h) != 1 || h.type != '*' || h.n != op->n_keys) return false;
    size_t at = h.head_len;
    for (int i = 0; i < op->n_keys; i++) {
        struct resp_reply_head e, ttl, pl;
        if (resp_reply_head(p + at, len - at, &e) != 1) return false;
        if (e.type == '-') { /* DUMP's error for this value */
            *error = p + at;
            *error_len = e.head_len;
            return true;
        }
        at += e.head_len;
        if (e.type != '*') continue; /* no such key */
        if (e.n != 2 || resp_reply_head(p + at, len - at, &ttl) != 1 || ttl.type != ':') return false;
        at += ttl.head_len;
        if (resp_reply_head(p + at, len - at, &pl) != 1 || pl.type != '$' || pl.n < 10 ||
            (size_t)pl.n + 2 > len - at - pl.head_len)
            return false;
        at += pl.head_len;
        struct migrate_key *k = &op->keys[*kept];
        if (*kept != i) { /* keep the names of those that exist first */
            struct buf name = op->keys[i].name;
            op->keys[i].name = k->name;
            k->name = name;
        }
        k->ttl = ttl.n < 0 ? 0 : ttl.n;
        buf_clear(&k->payload);
        buf_append(&k->payload, p + at, (size_t)pl.n);
        at += (size_t)pl.n + 2;
        (*kept)++;
    }
    return true;
}

/* __migrateread answered (op->log.reply): [ttl, payload] or nil per key,
 * or an error. */
static void op_read_done(struct migrate_op *op)
{
    const char *p = op->log.reply.data;
    size_t len = op->log.reply.len;
    if (len && p[0] == '-') { /* no leader, MISCONF... */
        op_answer(op, p, len);
        return;
    }
    int kept;
    const char *error;
    size_t error_len;
    if (!read_keys(op, p ? p : "", len, &kept, &error, &error_len)) {
        op_answer_error(op, "ERR MIGRATE could not read the keys");
        return;
    }
    if (error) {
        op_answer(op, error, error_len);
        return;
    }
    op->n_keys = kept;
    if (kept == 0) {
        op_answer(op, "+NOKEY\r\n", 8);
        return;
    }
    if (op->srv->shutting_down) {
        op_answer_error(op, IOERR_CONNECT);
        return;
    }
    struct sockaddr_storage ss;
    if (outconn_resolve(op->addr, &ss) != 0) {
        /* As Redis: a host it cannot connect to is "connecting"; a port
         * that is no port, a refused connection ("writing"). */
        op_answer_error(op, outconn_resolve(op->host_port1, &ss) == 0 ? IOERR_WRITE : IOERR_CONNECT);
        return;
    }
    op->mc = conn_for(op);
    if (op->mc->connected) op_connected(op);
}

static void on_read(struct reply_slot *slot)
{
    op_read_done(slot->owner);
}

/* --------------------------------------------------------------------
 * The command
 * ------------------------------------------------------------------ */

static void reply_error(struct client *c, const char *text)
{
    struct resp_out o = client_reply(c);
    resp_error(&o, text);
}

static bool parse_long(const struct resp_arg *a, long long *v)
{
    return arg_to_ll(a, v) && *v >= -2147483648LL && *v <= 2147483647LL;
}

/* MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
 * [AUTH password] [AUTH2 username password] [KEYS key [key ...]] */
static void cmd_migrate(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    (void)cmd;
    bool copy = false, replace = false;
    const struct resp_arg *user = NULL, *pass = NULL;
    int first_key = 3, n_keys = 1;
    for (int j = 6; j < argc; j++) {
        int more = argc - 1 - j;
        if (arg_is(&argv[j], "copy")) {
            copy = true;
        } else if (arg_is(&argv[j], "replace")) {
            replace = true;
        } else if (arg_is(&argv[j], "auth") && more >= 1) {
            user = NULL;
            pass = &argv[++j];
        } else if (arg_is(&argv[j], "auth2") && more >= 2) {
            user = &argv[++j];
            pass = &argv[++j];
        } else if (arg_is(&argv[j], "keys")) {
            if (argv[3].len != 0) {
                reply_error(c, "ERR When using MIGRATE KEYS option, the key argument must be set "
                               "to the empty string");
                return;
            }
            first_key = j + 1;
            n_keys = argc - j - 1;
            break;
        } else {
            reply_error(c, "ERR syntax error");
            return;
        }
    }
    long long timeout, db;
    if (!parse_long(&argv[5], &timeout) || !parse_long(&argv[4], &db)) {
        reply_error(c, "ERR value is not an integer or out of range");
        return;
    }
    if (timeout <= 0) timeout = 1000;
    if (n_keys == 0) {
        struct resp_out o = client_reply(c);
        resp_simple(&o, "NOKEY");
        return;
    }
    struct migrate_op *op = xcalloc(1, sizeof *op);
    op->srv = c->srv;
    op->db = c->db;
    op->dest_db = (int)db;
    op->timeout_ms = (unsigned)timeout;
    op->copy = copy;
    op->replace = replace;
    op->auth_words = pass ? (user ? 3 : 2) : 0;
    if (user) buf_append(&op->auth_user, user->ptr, user->len);
    if (pass) buf_append(&op->auth_pass, pass->ptr, pass->len);
    /* host and port as outconn reads them ("[v6]:port" for IPv6) */
    bool v6 = memchr(argv[1].ptr, ':', argv[1].len) != NULL;
    snprintf(op->addr, sizeof op->addr, v6 ? "[%.*s]:%.*s" : "%.*s:%.*s",
             (int)(argv[1].len > 200 ? 200 : argv[1].len), argv[1].ptr,
             (int)(argv[2].len > 20 ? 20 : argv[2].len), argv[2].ptr);
    snprintf(op->host_port1, sizeof op->host_port1, v6 ? "[%.*s]:1" : "%.*s:1",
             (int)(argv[1].len > 200 ? 200 : argv[1].len), argv[1].ptr);
    op->n_keys = op->n_named = n_keys;
    op->keys = xcalloc((size_t)n_keys, sizeof *op->keys);
    struct resp_arg *read = xcalloc((size_t)n_keys + 1, sizeof *read);
    read[0] = (struct resp_arg){"__migrateread", 13};
    for (int i = 0; i < n_keys; i++) {
        buf_append(&op->keys[i].name, argv[first_key + i].ptr, argv[first_key + i].len);
        read[i + 1] = argv[first_key + i];
    }
    struct migrate_cache *cache = cache_of(c->srv);
    op->next = cache->ops;
    cache->ops = op;
    /* Read as a DUMP and PTTL would be: here, when this node may serve
     * reads (the leader under its lease) and no earlier command of the
     * client waits (the read would overtake it); else through the log. */
    struct server *s = c->srv;
    bool here = !client_has_pending(c) && repl_can_read_locally(s->repl);
    /* The client's reply waits for the whole move, and so do its next
     * commands (Redis's MIGRATE blocks its client). */
    op->client = client_slot_own(c);
    op->client->pending++;
    c->blocking_slot = op->client;
    net_conn_hold(c->conn);
    op->log.owner = op;
    op->log.on_ready = on_read;
    if (here) {
        const struct cmd_def *rd = cmd_lookup(read[0].ptr, read[0].len, true);
        CHECK(rd != NULL);
        struct resp_out out = {.buf = &op->log.reply, .proto = 2};
        dispatch_run_here(s, NULL, c->db, rd, n_keys + 1, read, repl_read_time_ms(s->repl), out);
        free(read);
        op_read_done(op);
        return;
    }
    repl_submit(s->repl, &op->log, c->db, 2, n_keys + 1, read); /* may answer at once */
    free(read);
}

void migrate_bind_handlers(void)
{
    cmd_bind_local("migrate", cmd_migrate);
}

/* At shutdown, once Raft is closed: every MIGRATE still talking to its
 * target ends (IOERR), every cached connection closes. */
void migrate_close_handles(struct server *s)
{
    struct migrate_cache *cache = s->migrate;
    if (cache == NULL) return;
    for (struct migrate_op *op = cache->ops, *next; op; op = next) {
        next = op->next;
        if (op->mc == NULL) continue; /* waits for the log, which answers it */
        struct migrate_conn *mc = op->mc;
        op->mc = NULL;
        conn_release(mc, true);
        op_answer_error(op, IOERR_READ);
    }
    while (cache->conns) conn_drop(cache->conns);
}

void migrate_free_server(struct server *s)
{
    if (s->migrate == NULL) return;
    CHECK(s->migrate->ops == NULL && s->migrate->conns == NULL);
    free(s->migrate);
    s->migrate = NULL;
}
