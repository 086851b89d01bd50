/* server/blocking.c — clients waiting in a blocking command.
 *
 * A blocking command (BLPOP..., XREAD/XREADGROUP with BLOCK) goes through the log like any write. When
 * it finds nothing, repl hands its reply slot here (on_blocked) and the
 * client waits, paused, on this node; nothing about the wait is
 * replicated. Every change applied to a key on this node is reported
 * (store->on_touch; a snapshot installed from the leader reports every
 * database, repl/apply.c); at the next tick the waiters of changed keys submit
 * their command again (as `__retry <command>`, cmds/blocking.c), in the order they started waiting, so the log
 * serves them first come, first served among this node's clients (waiters
 * on different nodes are served in the order their retries reach the
 * leader). A retry that finds nothing waits again, in the same place.
 *
 * Timeouts are this node's. A client that disconnects stops waiting; if a
 * retry of its was already on its way and took an element, the element is
 * pushed back where it came from (on_orphan_reply): no element leaves a
 * list without being delivered to a connected client. After a leader
 * change waiters keep waiting: their retries go to the new leader like any
 * batch. Not covered: a node that dies while a waiter's retry is in the
 * log; the retry can still commit, and the element leaves with a reply no
 * one sends (README, "Blocking pops"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "server/server.h"

struct waiter {
    struct client *c;
    struct reply_slot *slot;
    int db, proto, argc;
    struct resp_arg *argv; /* into bytes */
    char *bytes;
    struct buf keys;       /* u32 len, db byte + key; the keys it waits on */
    int64_t deadline_ms;   /* monotonic; 0: forever */
    bool in_flight;        /* a retry is on its way through the log */
    bool expired;          /* timed out while in flight */
    bool unblock_error;    /* CLIENT UNBLOCK ... ERROR: answer that, not a timeout */
    bool in_line;          /* it waits in a hold's line (block_shape.in_line) */
    struct waiter *prev, *next;
};

struct waitlist {
    struct waiter **v;
    size_t n, cap;
};

static void free_waitlist(struct dict_entry *e)
{
    struct waitlist *l = e->v.ptr;
    if (l) free(l->v);
    free(l);
}

void blocking_init(struct server *s)
{
    dict_init(&s->blocked_keys, free_waitlist);
    dict_init(&s->ready_keys, NULL);
}

/* --------------------------------------------------------------------
 * Which keys a blocking command waits on, and for how long
 * ------------------------------------------------------------------ */

/* Where this call waits: its row's block shape (cmds/cmd.h). A retry
 * (__retry <command>) waits where its command does. */
static bool shape(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    if (argc >= 2 && arg_is(&argv[0], "__retry")) return shape(argc - 1, argv + 1, sh);
    const struct cmd_def *cmd = cmd_lookup(argv[0].ptr, argv[0].len, true);
    return cmd != NULL && cmd->block != NULL && cmd->block(argc, argv, sh);
}

/* A client that waited in a hold's line (argv: its command, or a retry of
 * it) left it unserved: its node takes it out through the log, with the
 * token if a retry claimed the hold for a client that has gone
 * (__holdcancel, cmds/hold.c). */
static void leave_line(struct server *s, int db, int argc, const struct resp_arg *argv,
                       const struct resp_arg *token)
{
    if (argc >= 2 && arg_is(&argv[0], "__retry")) {
        argc--;
        argv++;
    }
    if (argc < 3) return;
    struct resp_arg cancel[4] = {{"__holdcancel", 12}, argv[1], argv[2]};
    int n = 3;
    if (token) cancel[n++] = *token;
    repl_submit(s->repl, NULL, db, 2, n, cancel);
}

/* --------------------------------------------------------------------
 * Waiters
 * ------------------------------------------------------------------ */

static void key_of(struct buf *out, int db, const char *key, size_t len)
{
    buf_clear(out);
    buf_append_u8(out, (uint8_t)db);
    buf_append(out, key, len);
}

static void unlink_waiter(struct server *s, struct waiter *w)
{
    struct reader rd;
    reader_init(&rd, w->keys.data, w->keys.len);
    while (reader_left(&rd)) {
        uint32_t len;
        const char *k;
        reader_u32(&rd, &len);
        reader_bytes(&rd, len, &k);
        struct dict_entry *e = dict_find(&s->blocked_keys, k, len);
        if (e == NULL) continue;
        struct waitlist *l = e->v.ptr;
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i] != w) continue;
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
            l->n--;
            break;
        }
        if (l->n == 0) dict_delete(&s->blocked_keys, k, len);
    }
    if (w->prev) w->prev->next = w->next;
    else s->waiters = w->next;
    if (w->next) w->next->prev = w->prev;
    w->slot->waiter = NULL;
    s->n_waiters--;
}

static void free_waiter(struct waiter *w)
{
    buf_free(&w->keys);
    free(w->argv);
    free(w->bytes);
    free(w);
}

static struct waiter *new_waiter(struct server *s, struct client *c, struct reply_slot *slot,
                                 int db, int proto, int argc, const struct resp_arg *argv)
{
    struct block_shape sh;
    if (!shape(argc, argv, &sh)) return NULL;
    struct waiter *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->slot = slot;
    w->db = db;
    w->proto = proto;
    w->argc = argc;
    w->in_line = sh.in_line;
    size_t total = 0;
    for (int i = 0; i < argc; i++) total += argv[i].len;
    w->bytes = xmalloc(total ? total : 1);
    w->argv = xmalloc((size_t)argc * sizeof *w->argv);
    size_t off = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(w->bytes + off, argv[i].ptr, argv[i].len);
        w->argv[i].ptr = w->bytes + off;
        w->argv[i].len = argv[i].len;
        off += argv[i].len;
    }
    /* A timeout so large that the deadline would not fit waits for ever
     * (0), as in Redis; apply has refused what it must refuse. */
    long double secs = 0;
    if (arg_to_ld(&argv[sh.timeout], &secs) && secs > 0) {
        long double deadline =
            (long double)(clock_mono_us() / 1000) + ceill(sh.ms_units ? secs : secs * 1000.0L);
        if (deadline < 9223372036854775807.0L) w->deadline_ms = (int64_t)deadline;
    }
    struct buf k = BUF_INIT;
    for (int i = sh.first; i < sh.first + sh.n; i++) {
        key_of(&k, db, argv[i].ptr, argv[i].len);
        buf_append_u32(&w->keys, (uint32_t)k.len);
        buf_append(&w->keys, k.data, k.len);
        bool created;
        struct dict_entry *e = dict_upsert(&s->blocked_keys, k.data, k.len, &created);
        struct waitlist *l = e->v.ptr;
        if (l == NULL) l = e->v.ptr = xcalloc(1, sizeof *l);
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 4;
            l->v = xrealloc(l->v, l->cap * sizeof *l->v);
        }
        l->v[l->n++] = w;
    }
    buf_free(&k);
    w->next = s->waiters;
    if (s->waiters) s->waiters->prev = w;
    s->waiters = w;
    s->n_waiters++;
    slot->waiter = w;
    return w;
}

/* Answers a waiter's slot with the timeout reply and lets it go. */
static void time_out(struct server *s, struct waiter *w)
{
    struct reply_slot *slot = w->slot;
    struct buf reply = BUF_INIT;
    struct resp_out o = {&reply, w->proto};
    /* Redis 7.0 answers every timed-out list, sorted set and stream wait
     * with a null array, BLMOVE and BRPOPLPUSH included (RESP2 `*-1`). */
    if (w->unblock_error) resp_error(&o, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else resp_null_array(&o);
    if (w->in_line) leave_line(s, w->db, w->argc, w->argv, NULL);
    unlink_waiter(s, w);
    free_waiter(w);
    buf_append(&slot->reply, reply.data, reply.len);
    buf_free(&reply);
    if (--slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
}

void blocking_on_blocked(void *ctx, struct reply_slot *slot, int db, int proto, int argc,
                         const struct resp_arg *argv)
{
    struct server *s = ctx;
    struct client *c = slot->owner;
    struct waiter *w = slot->waiter;
    if (c == NULL) {
        /* Its client is gone: nothing to wait for. */
        struct block_shape sh;
        if (shape(argc, argv, &sh) && sh.in_line) leave_line(s, db, argc, argv, NULL);
        if (--slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
        return;
    }
    if (w != NULL) {
        /* A retry found nothing: wait again, in the same place. */
        w->in_flight = false;
        if (w->expired) time_out(s, w);
        return;
    }
    if (new_waiter(s, c, slot, db, proto, argc, argv) == NULL) {
        struct resp_out o = {&slot->reply, proto};
        resp_error(&o, "ERR cannot wait on this command");
        if (--slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
    }
}

void blocking_on_touch(void *ctx, int db, const char *key, size_t klen)
{
    struct server *s = ctx;
    if (s->n_waiters == 0) return;
    struct buf k = BUF_INIT;
    bool created;
    if (key == NULL) {
        /* A whole database changed (FLUSHDB, SWAPDB): every waiter of it. */
        for (struct waiter *w = s->waiters; w; w = w->next) {
            if (w->db != db) continue;
            struct reader rd;
            reader_init(&rd, w->keys.data, w->keys.len);
            uint32_t len;
            const char *kp;
            reader_u32(&rd, &len);
            reader_bytes(&rd, len, &kp);
            dict_upsert(&s->ready_keys, kp, len, &created);
        }
    } else {
        key_of(&k, db, key, klen);
        if (dict_find(&s->blocked_keys, k.data, k.len)) dict_upsert(&s->ready_keys, k.data, k.len, &created);
    }
    buf_free(&k);
}

/* Start of each tick: waiters of keys that changed try again, first come
 * first served. */
void blocking_tick(struct server *s)
{
    if (dict_size(&s->ready_keys) == 0) return;
    struct dict_iter it;
    dict_iter_init(&it, &s->ready_keys);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        struct dict_entry *b = dict_find(&s->blocked_keys, e->key, e->klen);
        if (b == NULL) continue;
        struct waitlist *l = b->v.ptr;
        for (size_t i = 0; i < l->n; i++) {
            struct waiter *w = l->v[i];
            if (w->in_flight) continue;
            w->in_flight = true;
            /* As __retry (cmds/blocking.c): a key of another type now keeps
             * it waiting, as in Redis 7.0, rather than answering WRONGTYPE. */
            struct resp_arg *retry = xmalloc(((size_t)w->argc + 1) * sizeof *retry);
            retry[0] = (struct resp_arg){"__retry", 7};
            memcpy(retry + 1, w->argv, (size_t)w->argc * sizeof *retry);
            repl_resubmit(s->repl, w->slot, w->db, w->proto, w->argc + 1, retry);
            free(retry);
        }
    }
    dict_clear(&s->ready_keys);
}

void blocking_timeouts(struct server *s)
{
    int64_t now = clock_mono_us() / 1000;
    for (struct waiter *w = s->waiters, *next; w; w = next) {
        next = w->next;
        if (w->deadline_ms == 0 || now < w->deadline_ms) continue;
        if (w->in_flight) w->expired = true;
        else time_out(s, w);
    }
}

bool blocking_unblock(struct server *s, uint64_t client_id, bool error)
{
    for (struct waiter *w = s->waiters; w; w = w->next) {
        if (w->c->id != client_id) continue;
        w->unblock_error = error;
        if (w->in_flight) w->expired = true; /* answered when its retry comes back empty */
        else time_out(s, w);
        return true;
    }
    return false;
}

/* The slot of a waiter was answered (served, or timed out): forget it. */
void blocking_slot_done(struct server *s, struct reply_slot *slot)
{
    struct waiter *w = slot->waiter;
    if (w == NULL) return;
    unlink_waiter(s, w);
    free_waiter(w);
}

void blocking_client_gone(struct client *c)
{
    struct server *s = c->srv;
    for (struct waiter *w = s->waiters, *next; w; w = next) {
        next = w->next;
        if (w->c != c) continue;
        struct reply_slot *slot = w->slot;
        bool in_flight = w->in_flight;
        /* In flight: its retry's reply tells (blocking_on_blocked, or
         * blocking_on_orphan_reply). */
        if (w->in_line && !in_flight) leave_line(s, w->db, w->argc, w->argv, NULL);
        unlink_waiter(s, w);
        free_waiter(w);
        /* Not in flight: repl holds no reference; the client frees it. */
        if (!in_flight) slot->pending = 0;
    }
}

/* --------------------------------------------------------------------
 * An element taken for a client that has gone: put it back
 * ------------------------------------------------------------------ */

struct rd {
    const char *p, *end;
};

static bool rd_line(struct rd *r, char *type, long long *n)
{
    const char *eol = r->p;
    while (eol + 1 < r->end && !(eol[0] == '\r' && eol[1] == '\n')) eol++;
    if (eol + 1 >= r->end) return false;
    *type = r->p[0];
    *n = strtoll(r->p + 1, NULL, 10);
    r->p = eol + 2;
    return true;
}

static bool rd_bulk(struct rd *r, struct resp_arg *out)
{
    char t;
    long long n;
    if (!rd_line(r, &t, &n) || t != '$' || n < 0 || r->end - r->p < n + 2) return false;
    out->ptr = r->p;
    out->len = (size_t)n;
    r->p += n + 2;
    return true;
}

/* What a blocking pop took for a client that is gone, put back: elements
 * to the end of the list they left, members with their scores. */
void blocking_on_orphan_reply(void *ctx, int db, int argc, const struct resp_arg *argv,
                              const char *reply, size_t len)
{
    struct server *s = ctx;
    struct block_shape sh;
    if (len > 1 && reply[0] == ':' && shape(argc, argv, &sh) && sh.in_line) {
        /* A hold granted to a client that is gone: given up. */
        const char *eol = memchr(reply, '\r', len);
        struct resp_arg token = {reply + 1, eol ? (size_t)(eol - reply - 1) : len - 1};
        leave_line(s, db, argc, argv, &token);
        return;
    }
    if (argc >= 2 && arg_is(&argv[0], "__retry")) { /* a retry: the command it carries */
        argc--;
        argv++;
    }
    const struct resp_arg *name = &argv[0];
    bool list = arg_is(name, "blpop") || arg_is(name, "brpop") || arg_is(name, "blmpop");
    bool zset = arg_is(name, "bzpopmin") || arg_is(name, "bzpopmax") || arg_is(name, "bzmpop");
    if (!list && !zset) return;
    struct rd r = {reply, reply + len};
    char t;
    long long n;
    if (!rd_line(&r, &t, &n) || t != '*' || n < 2) return; /* nil or error: nothing taken */
    struct resp_arg key;
    if (!rd_bulk(&r, &key)) return;
    enum { MAX_BACK = 256 };
    struct resp_arg items[MAX_BACK];
    int k = 0;
    if (arg_is(name, "blmpop") || arg_is(name, "bzmpop")) {
        /* [key, [e1, e2...]] or [key, [[m1, s1], ...]] */
        if (!rd_line(&r, &t, &n) || t != '*') return;
        for (long long i = 0; i < n && k + 2 <= MAX_BACK; i++) {
            if (zset) {
                char t2;
                long long n2;
                struct resp_arg m, sc;
                if (!rd_line(&r, &t2, &n2) || !rd_bulk(&r, &m) || !rd_bulk(&r, &sc)) return;
                items[k++] = sc;
                items[k++] = m;
            } else if (rd_bulk(&r, &items[k])) {
                k++;
            }
        }
    } else if (zset) {
        /* [key, member, score] */
        struct resp_arg m, sc;
        if (!rd_bulk(&r, &m) || !rd_bulk(&r, &sc)) return;
        items[k++] = sc;
        items[k++] = m;
    } else if (rd_bulk(&r, &items[k])) {
        k++;
    }
    if (k == 0) return;
    struct resp_arg args[MAX_BACK + 2];
    int nargs = 0;
    if (zset) {
        args[nargs++] = (struct resp_arg){"ZADD", 4};
        args[nargs++] = key;
        for (int i = 0; i < k; i++) args[nargs++] = items[i];
    } else {
        bool left = arg_is(name, "blpop");
        if (arg_is(name, "blmpop")) {
            long long numkeys = 0;
            arg_to_ll(&argv[2], &numkeys);
            left = arg_is(&argv[3 + numkeys], "left");
        }
        args[nargs++] = (struct resp_arg){left ? "LPUSH" : "RPUSH", 5};
        args[nargs++] = key;
        /* The last popped goes back first, so the first popped ends up
         * where it was. */
        for (int i = k - 1; i >= 0; i--) args[nargs++] = items[i];
    }
    log_msg(LOG_VERBOSE, "Putting back what a blocking pop took for a client that disconnected");
    repl_submit(s->repl, NULL, db, 2, nargs, args);
}
