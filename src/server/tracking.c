/* server/tracking.c — client-side caching, as Redis 7.0's CLIENT TRACKING.
 *
 * A tracking client is told when keys it may have cached change. A client
 * lives on one node and every node applies every change, so each node
 * keeps the tracking state of its own clients only and tells them when it
 * applies a change (store->on_touch): a client of a follower hears of a
 * write made through the leader when its node applies it.
 *
 * Default mode: the keys of every read-only command of a tracking client
 * (OPTIN: only right after CLIENT CACHING yes; OPTOUT: not right after
 * CLIENT CACHING no) are remembered in one table, key name -> the ids of
 * the clients that read it (names only, across databases, as Redis keys
 * it). A change of the key sends each of them an invalidation and forgets
 * the key. The table holds at most tracking-table-max-keys keys: each tick
 * evicts (and invalidates) some of the excess, more while it lasts.
 * BCAST mode: nothing is remembered; a change of a key that starts with a
 * prefix is queued on the prefix, and each tick sends the prefix's clients
 * every key queued, in one message.
 * A database flushed (FLUSHDB, FLUSHALL, SWAPDB, a snapshot installed)
 * sends every tracking client one null invalidation ("drop everything")
 * at the end of the tick, and empties the table.
 *
 * Keys are remembered when the command is dispatched, before its reply is
 * made, and an invalidation goes behind every reply its client is still
 * owed (client_reply): no client gets an invalidation before a reply that
 * holds the old value. The price is an invalidation now and then for a
 * value read after the change, which makes a cache drop a fresh entry.
 * NOLOOP: no invalidation for a change the client made itself (the owner
 * of the command repl applies, repl_applying_owner). Invalidations go to
 * the client in RESP3 (a push), or to its REDIRECT client: a push in
 * RESP3, a message on __redis__:invalidate in RESP2 if it is subscribed. */
#include "server/tracking.h"

#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "server/server.h"

struct tracking_client {
    bool bcast, optin, optout, noloop, broken_redir;
    bool caching;     /* CLIENT CACHING yes (OPTIN) or no (OPTOUT) given */
    bool caching_now; /* ... by the command that just ran */
    uint64_t redirect;
    char **prefixes; /* BCAST, sorted */
    size_t *prefix_len;
    size_t n_prefixes;
};

/* A BCAST prefix: its clients, and the keys changed since the last tick
 * (u32 length, key, u64 id of the client that changed it or 0). */
struct bcast_prefix {
    struct dict clients; /* id (8 bytes) */
    struct buf changed;
    uint32_t n_changed;
};

struct tracking {
    struct dict table;    /* key -> struct dict * of client ids */
    struct dict prefixes; /* prefix -> struct bcast_prefix * */
    uint64_t n_clients;
    uint64_t items; /* (key, client) pairs in the table */
    bool flush_pending;
    bool script_read; /* the script running now ran a read-only command */
    unsigned evict_rounds; /* ticks in a row over the limit */
    uint64_t rng;
};

static void free_ids(struct dict_entry *e)
{
    struct dict *ids = e->v.ptr;
    dict_clear(ids);
    free(ids);
}

static void free_prefix(struct dict_entry *e)
{
    struct bcast_prefix *p = e->v.ptr;
    dict_clear(&p->clients);
    buf_free(&p->changed);
    free(p);
}

void tracking_init(struct server *s)
{
    struct tracking *t = xcalloc(1, sizeof *t);
    dict_init(&t->table, free_ids);
    dict_init(&t->prefixes, free_prefix);
    t->rng = 0x7472616b;
    s->tracking = t;
}

void tracking_free(struct server *s)
{
    if (s->tracking == NULL) return;
    dict_clear(&s->tracking->table);
    dict_clear(&s->tracking->prefixes);
    free(s->tracking);
    s->tracking = NULL;
}

static struct client *client_by_id(struct server *s, uint64_t id)
{
    struct dict_entry *e = dict_find(&s->clients_by_id, &id, sizeof id);
    return e ? e->v.ptr : NULL;
}

/* ------------------------------------------------------------------
 * Sending
 * ---------------------------------------------------------------- */

/* One invalidation for c's cache; payload is the RESP of what it names:
 * an array of keys, or a null (everything). */
static void deliver(struct server *s, struct client *c, const char *payload, size_t len)
{
    struct tracking_client *tc = c->tracking;
    struct client *to = c;
    if (tc->redirect) {
        to = client_by_id(s, tc->redirect);
        if (to == NULL) {
            tc->broken_redir = true;
            if (c->proto > 2) {
                struct resp_out o = client_reply(c);
                resp_push(&o, 2);
                resp_bulk(&o, "tracking-redir-broken", 21);
                resp_int(&o, (long long)tc->redirect);
            }
            return;
        }
    }
    struct resp_out o = client_reply(to);
    if (to->proto > 2) {
        resp_push(&o, 2);
        resp_bulk(&o, "invalidate", 10);
    } else if (to != c && (to->pubsub_mode || to->subscriptions > 0)) {
        resp_array(&o, 3);
        resp_bulk(&o, "message", 7);
        resp_bulk(&o, "__redis__:invalidate", 20);
    } else {
        return; /* RESP2 without a subscribed redirect: nowhere to say it */
    }
    resp_raw(&o, payload, len);
}

static void deliver_key(struct server *s, struct client *c, const char *key, size_t klen)
{
    struct buf p = BUF_INIT;
    struct resp_out o = {&p, 3};
    resp_array(&o, 1);
    resp_bulk(&o, key, klen);
    deliver(s, c, p.data, p.len);
    buf_free(&p);
}

/* Sends every client that remembered key an invalidation (but the one
 * that changed it, if it asked for NOLOOP) and forgets the key. */
static void invalidate_key(struct server *s, const char *key, size_t klen, const struct client *by)
{
    struct tracking *t = s->tracking;
    struct dict_entry *e = dict_unlink(&t->table, key, klen);
    if (e == NULL) return;
    struct dict *ids = e->v.ptr;
    t->items -= dict_size(ids);
    struct dict_iter it;
    dict_iter_init(&it, ids);
    struct dict_entry *id;
    while ((id = dict_iter_next(&it)) != NULL) {
        uint64_t cid;
        memcpy(&cid, id->key, sizeof cid);
        struct client *c = client_by_id(s, cid);
        if (c == NULL || c->tracking == NULL || c->tracking->bcast) continue;
        if (c->tracking->noloop && c == by) continue;
        deliver_key(s, c, e->key, e->klen);
    }
    dict_entry_free(&t->table, e);
}

/* ------------------------------------------------------------------
 * Remembering
 * ---------------------------------------------------------------- */

static bool remember(void *arg, int index, uint32_t access)
{
    const void **ctx = arg;
    struct client *c = (struct client *)ctx[0];
    const struct resp_arg *argv = ctx[1];
    struct tracking *t = c->srv->tracking;
    bool created;
    struct dict_entry *e = dict_upsert(&t->table, argv[index].ptr, argv[index].len, &created);
    if (created) {
        struct dict *ids = xmalloc(sizeof *ids);
        dict_init(ids, NULL);
        e->v.ptr = ids;
    }
    dict_upsert(e->v.ptr, &c->id, sizeof c->id, &created);
    if (created) t->items++;
    return true;
}

static void remember_keys(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct tracking_client *tc = c->tracking;
    if (tc == NULL || tc->bcast) return;
    bool track = tc->optin ? tc->caching : tc->optout ? !tc->caching : true;
    if (!track) return;
    const void *ctx[2] = {c, argv};
    cmd_keys_each(cmd, argc, argv, remember, ctx);
}

/* A script's keys are remembered only if it reads (tracking_observe). */
void tracking_before_command(struct client *c, const struct cmd_def *cmd, int argc,
                             const struct resp_arg *argv)
{
    if ((cmd->flags & CMD_READONLY) && !(cmd->acl & ACL_SCRIPTING)) remember_keys(c, cmd, argc, argv);
}

/* As Redis does, a script that ran a read-only command has its declared
 * keys remembered for its caller: the commands it runs come first, the
 * script itself (not in_script) last. */
void tracking_observe(struct server *s, const struct cmd_ctx *ctx)
{
    struct tracking *t = s->tracking;
    if (t->n_clients == 0) return;
    if (ctx->in_script) {
        if (ctx->cmd->flags & CMD_READONLY) t->script_read = true;
        return;
    }
    if (!t->script_read) return;
    t->script_read = false;
    if (!(ctx->cmd->acl & ACL_SCRIPTING)) return;
    struct client *caller = ctx->apply ? client_of_slot(repl_applying_slot(s->repl))
                                       : (struct client *)s->running;
    if (caller) remember_keys(caller, ctx->cmd, ctx->argc, ctx->argv);
}

void tracking_after_command(struct client *c)
{
    struct tracking_client *tc = c->tracking;
    if (tc == NULL) return;
    if (tc->caching_now) tc->caching_now = false;
    else if (!multi_queueing(c)) tc->caching = false; /* one command, or one transaction */
}

/* ------------------------------------------------------------------
 * Changes
 * ---------------------------------------------------------------- */

void tracking_on_touch(struct server *s, int db, const char *key, size_t klen)
{
    struct tracking *t = s->tracking;
    if (t->n_clients == 0 && dict_size(&t->table) == 0) return;
    if (key == NULL) {
        /* The table goes, whoever tracks now: a key remembered for a
         * client that turned tracking off and on again must not be told
         * of after the flush that told it to drop everything. */
        t->flush_pending = t->n_clients > 0;
        dict_clear(&t->table);
        t->items = 0;
        return;
    }
    const struct client *by = s->repl ? client_of_slot(repl_applying_slot(s->repl)) : NULL;
    if (dict_size(&t->table)) invalidate_key(s, key, klen, by);
    if (dict_size(&t->prefixes) == 0) return;
    uint64_t by_id = by ? by->id : 0;
    struct dict_iter it;
    dict_iter_init(&it, &t->prefixes);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        if (klen < e->klen || memcmp(key, e->key, e->klen) != 0) continue;
        struct bcast_prefix *p = e->v.ptr;
        buf_append_u32(&p->changed, (uint32_t)klen);
        buf_append(&p->changed, key, klen);
        buf_append(&p->changed, &by_id, sizeof by_id);
        p->n_changed++;
    }
}

/* The keys a prefix queued, as one array for client c (less its own
 * changes under NOLOOP); false if none is left for it. */
static bool bcast_payload(const struct bcast_prefix *p, const struct client *c, struct buf *out)
{
    buf_clear(out);
    struct resp_out o = {out, 3};
    for (int pass = 0; pass < 2; pass++) {
        uint32_t n = 0;
        struct reader rd;
        reader_init(&rd, p->changed.data, p->changed.len);
        for (uint32_t i = 0; i < p->n_changed; i++) {
            uint32_t klen;
            const char *key, *by;
            CHECK(reader_u32(&rd, &klen) == 0 && reader_bytes(&rd, klen, &key) == 0 &&
                  reader_bytes(&rd, sizeof(uint64_t), &by) == 0);
            uint64_t by_id;
            memcpy(&by_id, by, sizeof by_id);
            if (c->tracking->noloop && by_id == c->id) continue;
            if (pass == 1) resp_bulk(&o, key, klen);
            n++;
        }
        if (n == 0) return false;
        if (pass == 0) resp_array(&o, n);
    }
    return true;
}

static void send_bcast(struct server *s)
{
    struct buf payload = BUF_INIT;
    struct dict_iter it;
    dict_iter_init(&it, &s->tracking->prefixes);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        struct bcast_prefix *p = e->v.ptr;
        if (p->n_changed == 0) continue;
        struct dict_iter ci;
        dict_iter_init(&ci, &p->clients);
        struct dict_entry *id;
        while ((id = dict_iter_next(&ci)) != NULL) {
            uint64_t cid;
            memcpy(&cid, id->key, sizeof cid);
            struct client *c = client_by_id(s, cid);
            if (c && c->tracking && bcast_payload(p, c, &payload))
                deliver(s, c, payload.data, payload.len);
        }
        buf_clear(&p->changed);
        p->n_changed = 0;
    }
    buf_free(&payload);
}

/* Over tracking-table-max-keys: evicts random keys, 100 a tick at first
 * and 100 more each tick the excess lasts, as Redis does. */
static void limit_table(struct server *s)
{
    struct tracking *t = s->tracking;
    uint64_t max = (uint64_t)s->cfg.tracking_table_max_keys;
    if (max == 0 || dict_size(&t->table) <= max) {
        t->evict_rounds = 0;
        return;
    }
    uint64_t effort = 100 * ((uint64_t)t->evict_rounds + 1);
    while (effort-- > 0 && dict_size(&t->table) > max) {
        struct dict_entry *e = dict_random(&t->table, &t->rng);
        struct buf key = BUF_INIT;
        buf_append(&key, e->key, e->klen);
        invalidate_key(s, key.data, key.len, NULL);
        buf_free(&key);
    }
    t->evict_rounds++;
}

void tracking_tick(struct server *s)
{
    struct tracking *t = s->tracking;
    if (t->n_clients == 0) return;
    if (t->flush_pending) {
        t->flush_pending = false;
        for (struct client *c = s->clients; c; c = c->next) {
            if (c->tracking == NULL) continue;
            const char *null = c->proto > 2 ? "_\r\n" : "$-1\r\n";
            deliver(s, c, null, strlen(null));
        }
    }
    if (dict_size(&t->prefixes)) send_bcast(s);
    limit_table(s);
}

/* ------------------------------------------------------------------
 * CLIENT TRACKING and friends
 * ---------------------------------------------------------------- */

static bool overlaps(const char *a, size_t alen, const char *b, size_t blen)
{
    return memcmp(a, b, alen < blen ? alen : blen) == 0;
}

static void add_prefix(struct client *c, const char *p, size_t len)
{
    struct tracking_client *tc = c->tracking;
    for (size_t i = 0; i < tc->n_prefixes; i++)
        if (tc->prefix_len[i] == len && memcmp(tc->prefixes[i], p, len) == 0) return;
    size_t at = 0; /* sorted, as TRACKINGINFO lists them */
    while (at < tc->n_prefixes) {
        size_t n = tc->prefix_len[at] < len ? tc->prefix_len[at] : len;
        int cmp = memcmp(tc->prefixes[at], p, n);
        if (cmp > 0 || (cmp == 0 && tc->prefix_len[at] > len)) break;
        at++;
    }
    tc->prefixes = xrealloc(tc->prefixes, (tc->n_prefixes + 1) * sizeof *tc->prefixes);
    tc->prefix_len = xrealloc(tc->prefix_len, (tc->n_prefixes + 1) * sizeof *tc->prefix_len);
    memmove(tc->prefixes + at + 1, tc->prefixes + at, (tc->n_prefixes - at) * sizeof *tc->prefixes);
    memmove(tc->prefix_len + at + 1, tc->prefix_len + at,
            (tc->n_prefixes - at) * sizeof *tc->prefix_len);
    tc->prefixes[at] = xmemdup(p, len ? len : 1);
    tc->prefix_len[at] = len;
    tc->n_prefixes++;
    struct tracking *t = c->srv->tracking;
    bool created;
    struct dict_entry *e = dict_upsert(&t->prefixes, p, len, &created);
    if (created) {
        struct bcast_prefix *bp = xcalloc(1, sizeof *bp);
        dict_init(&bp->clients, NULL);
        e->v.ptr = bp;
    }
    struct bcast_prefix *bp = e->v.ptr;
    dict_upsert(&bp->clients, &c->id, sizeof c->id, &created);
}

static void disable(struct client *c)
{
    struct tracking_client *tc = c->tracking;
    if (tc == NULL) return;
    struct tracking *t = c->srv->tracking;
    for (size_t i = 0; i < tc->n_prefixes; i++) {
        struct dict_entry *e = dict_find(&t->prefixes, tc->prefixes[i], tc->prefix_len[i]);
        if (e) {
            struct bcast_prefix *bp = e->v.ptr;
            dict_delete(&bp->clients, &c->id, sizeof c->id);
            if (dict_size(&bp->clients) == 0) dict_delete(&t->prefixes, tc->prefixes[i], tc->prefix_len[i]);
        }
        free(tc->prefixes[i]);
    }
    free(tc->prefixes);
    free(tc->prefix_len);
    free(tc);
    c->tracking = NULL;
    t->n_clients--;
}

void tracking_client_gone(struct client *c) { disable(c); }

#define F_BCAST 1u
#define F_OPTIN 2u
#define F_OPTOUT 4u
#define F_NOLOOP 8u

/* CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN]
 * [OPTOUT] [NOLOOP], with Redis's checks and texts. */
static void client_tracking(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long redirect = 0;
    unsigned opts = 0;
    int n_prefix = 0;
    const struct resp_arg **prefix = xcalloc((size_t)argc, sizeof *prefix);
    for (int j = 3; j < argc; j++) {
        bool more = j + 1 < argc;
        if (arg_is(&argv[j], "redirect") && more) {
            j++;
            if (redirect != 0) {
                resp_error(&o, "ERR A client can only redirect to a single other client");
                goto out;
            }
            if (!arg_to_ll(&argv[j], &redirect)) {
                resp_error(&o, "ERR value is not an integer or out of range");
                goto out;
            }
            if (client_by_id(c->srv, (uint64_t)redirect) == NULL) {
                resp_error(&o, "ERR The client ID you want redirect to does not exist");
                goto out;
            }
        } else if (arg_is(&argv[j], "bcast")) {
            opts |= F_BCAST;
        } else if (arg_is(&argv[j], "optin")) {
            opts |= F_OPTIN;
        } else if (arg_is(&argv[j], "optout")) {
            opts |= F_OPTOUT;
        } else if (arg_is(&argv[j], "noloop")) {
            opts |= F_NOLOOP;
        } else if (arg_is(&argv[j], "prefix") && more) {
            prefix[n_prefix++] = &argv[++j];
        } else {
            resp_error(&o, "ERR syntax error");
            goto out;
        }
    }
    if (arg_is(&argv[2], "off")) {
        disable(c);
        resp_ok(&o);
        goto out;
    }
    if (!arg_is(&argv[2], "on")) {
        resp_error(&o, "ERR syntax error");
        goto out;
    }
    struct tracking_client *tc = c->tracking;
    if (!(opts & F_BCAST) && n_prefix) {
        resp_error(&o, "ERR PREFIX option requires BCAST mode to be enabled");
        goto out;
    }
    if (tc && tc->bcast != !!(opts & F_BCAST)) {
        resp_error(&o, "ERR You can't switch BCAST mode on/off before disabling tracking for "
                       "this client, and then re-enabling it with a different mode.");
        goto out;
    }
    if ((opts & F_BCAST) && (opts & (F_OPTIN | F_OPTOUT))) {
        resp_error(&o, "ERR OPTIN and OPTOUT are not compatible with BCAST");
        goto out;
    }
    if ((opts & F_OPTIN) && (opts & F_OPTOUT)) {
        resp_error(&o, "ERR You can't specify both OPTIN mode and OPTOUT mode");
        goto out;
    }
    if (tc && (((opts & F_OPTIN) && tc->optout) || ((opts & F_OPTOUT) && tc->optin))) {
        resp_error(&o, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                       "this client, and then re-enabling it with a different mode.");
        goto out;
    }
    for (int i = 0; (opts & F_BCAST) && i < n_prefix; i++) {
        const struct resp_arg *p = prefix[i];
        for (size_t k = 0; tc && k < tc->n_prefixes; k++)
            if (overlaps(tc->prefixes[k], tc->prefix_len[k], p->ptr, p->len)) {
                resp_errorf(&o, "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
                                "Prefixes for a single client must not overlap.",
                            (int)p->len, p->ptr, (int)tc->prefix_len[k], tc->prefixes[k]);
                goto out;
            }
        for (int k = i + 1; k < n_prefix; k++)
            if (overlaps(p->ptr, p->len, prefix[k]->ptr, prefix[k]->len)) {
                resp_errorf(&o, "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
                                "Prefixes for a single client must not overlap.",
                            (int)p->len, p->ptr, (int)prefix[k]->len, prefix[k]->ptr);
                goto out;
            }
    }
    if (tc == NULL) {
        tc = c->tracking = xcalloc(1, sizeof *tc);
        c->srv->tracking->n_clients++;
    }
    tc->redirect = (uint64_t)redirect;
    tc->broken_redir = false;
    tc->bcast = opts & F_BCAST;
    tc->optin = opts & F_OPTIN;
    tc->optout = opts & F_OPTOUT;
    tc->noloop = opts & F_NOLOOP;
    if (tc->bcast && n_prefix == 0) add_prefix(c, "", 0);
    for (int i = 0; tc->bcast && i < n_prefix; i++) add_prefix(c, prefix[i]->ptr, prefix[i]->len);
    resp_ok(&o);
out:
    free(prefix);
}

/* CLIENT CACHING YES|NO: whether the next command's keys are remembered. */
static void client_caching(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    struct tracking_client *tc = c->tracking;
    if (tc == NULL) {
        resp_error(&o, "ERR CLIENT CACHING can be called only when the client is in tracking "
                       "mode with OPTIN or OPTOUT mode enabled");
        return;
    }
    if (arg_is(&argv[2], "yes")) {
        if (!tc->optin) {
            resp_error(&o, "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                           "OPTIN mode.");
            return;
        }
    } else if (arg_is(&argv[2], "no")) {
        if (!tc->optout) {
            resp_error(&o, "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                           "OPTOUT mode.");
            return;
        }
    } else {
        resp_error(&o, "ERR syntax error");
        return;
    }
    tc->caching = tc->caching_now = true;
    resp_ok(&o);
}

static void client_getredir(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_int(&o, c->tracking ? (long long)c->tracking->redirect : -1);
}

static void client_trackinginfo(struct client *c, const struct cmd_def *cmd, int argc,
                                const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    const struct tracking_client *tc = c->tracking;
    const char *flags[8];
    int n = 0;
    flags[n++] = tc ? "on" : "off";
    if (tc && tc->bcast) flags[n++] = "bcast";
    if (tc && tc->optin) {
        flags[n++] = "optin";
        if (tc->caching) flags[n++] = "caching-yes";
    }
    if (tc && tc->optout) {
        flags[n++] = "optout";
        if (tc->caching) flags[n++] = "caching-no";
    }
    if (tc && tc->noloop) flags[n++] = "noloop";
    if (tc && tc->broken_redir) flags[n++] = "broken_redirect";
    resp_map(&o, 3);
    resp_bulk_str(&o, "flags");
    resp_set(&o, n);
    for (int i = 0; i < n; i++) resp_bulk_str(&o, flags[i]);
    resp_bulk_str(&o, "redirect");
    resp_int(&o, tc ? (long long)tc->redirect : -1);
    resp_bulk_str(&o, "prefixes");
    resp_array(&o, tc ? (long long)tc->n_prefixes : 0);
    for (size_t i = 0; tc && i < tc->n_prefixes; i++) resp_bulk(&o, tc->prefixes[i], tc->prefix_len[i]);
}

void tracking_bind_handlers(void)
{
    cmd_bind_local("client|tracking", client_tracking);
    cmd_bind_local("client|caching", client_caching);
    cmd_bind_local("client|getredir", client_getredir);
    cmd_bind_local("client|trackinginfo", client_trackinginfo);
}

void tracking_client_flags(const struct client *c, char *flags, size_t *n, long long *redir)
{
    const struct tracking_client *tc = c->tracking;
    *redir = tc ? (long long)tc->redirect : -1;
    if (tc == NULL) return;
    flags[(*n)++] = 't';
    if (tc->broken_redir) flags[(*n)++] = 'R';
    if (tc->bcast) flags[(*n)++] = 'B';
}

uint64_t tracking_clients(const struct server *s) { return s->tracking->n_clients; }

void tracking_info_stats(const struct server *s, struct buf *out)
{
    const struct tracking *t = s->tracking;
    buf_printf(out, "tracking_total_keys:%llu\r\ntracking_total_items:%llu\r\n"
                    "tracking_total_prefixes:%llu\r\n",
               (unsigned long long)dict_size(&t->table), (unsigned long long)t->items,
               (unsigned long long)dict_size(&t->prefixes));
}
