/* cmds/t_stream_group.c — consumer groups: XGROUP (CREATE, SETID,
 * DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK, XPENDING, XCLAIM and
 * XAUTOCLAIM, with Redis 7.0's options, reply shapes and error texts.
 * XREADGROUP is in t_stream_read.c, XINFO in t_stream_info.c.
 *
 * Idle and delivery times are measured against ctx->now_ms (the log
 * entry's time when applied), so every replica keeps the same PEL. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/stream.h"

static void reply_nogroup(struct cmd_ctx *c, const struct resp_arg *key, const struct resp_arg *group)
{
    resp_errorf(&c->out, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len, key->ptr,
                (int)group->len, group->ptr);
}

/* Consumer-group changes wake blocked readers but, as in Redis 7.0, do not
 * abort a transaction that WATCHes the stream (creating the stream does). */
static void touch(struct cmd_ctx *c, const struct resp_arg *key)
{
    store_touch_unwatched(c->store, c->db, key->ptr, key->len);
}


/* ---------------------------------------------------------------------
 * XGROUP
 * ------------------------------------------------------------------- */

/* ENTRIESREAD's value: >= 0 or -1. */
static bool parse_entries_read(struct cmd_ctx *c, const struct resp_arg *a, long long *v)
{
    if (!arg_get_ll_or_reply(c, a, v)) return false;
    if (*v < 0 && *v != STREAM_ENTRIES_READ_INVALID) {
        resp_error(&c->out, "ERR value for ENTRIESREAD must be positive or -1");
        return false;
    }
    return true;
}

/* What every XGROUP subcommand but HELP starts with: options, the key
 * (which must exist unless MKSTREAM), the group (which must exist for
 * all but CREATE and DESTROY) and the ID (CREATE, SETID). */
struct xgroup_args {
    bool mkstream;
    long long entries_read;
    struct sobj *o;
    struct stream_cg *g;
    struct stream_id id;
};

static bool xgroup_prepare(struct cmd_ctx *c, struct xgroup_args *a, bool create, bool setid,
                           bool need_group)
{
    a->mkstream = false;
    a->entries_read = STREAM_ENTRIES_READ_INVALID;
    a->g = NULL;
    if (create) {
        for (int i = 5; i < c->argc;) {
            if (arg_is(&c->argv[i], "mkstream")) {
                a->mkstream = true;
                i++;
            } else if (arg_is(&c->argv[i], "entriesread") && i + 1 < c->argc) {
                if (!parse_entries_read(c, &c->argv[i + 1], &a->entries_read)) return false;
                i += 2;
            } else {
                reply_subcommand_syntax(c, "XGROUP");
                return false;
            }
        }
    } else if (setid) {
        /* Redis reads ENTRIESREAD's value before it counts the arguments. */
        bool entries_read = c->argc >= 7 && arg_is(&c->argv[5], "entriesread");
        if (entries_read && !parse_entries_read(c, &c->argv[6], &a->entries_read)) return false;
        if (c->argc != 5 && !(c->argc == 7 && entries_read)) {
            reply_subcommand_syntax(c, "XGROUP");
            return false;
        }
    }
    bool wrong;
    a->o = stream_lookup(c, &c->argv[2], &wrong);
    if (wrong) return false;
    const struct resp_arg *grp = &c->argv[3];
    if (!a->mkstream) {
        if (a->o == NULL) {
            resp_error(&c->out, "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
            return false;
        }
        a->g = stream_cg_find(stream_of(a->o), grp->ptr, grp->len);
        if (a->g == NULL && need_group) {
            resp_errorf(&c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
                        (int)grp->len, grp->ptr, (int)c->argv[2].len, c->argv[2].ptr);
            return false;
        }
    }
    if (create || setid) {
        const struct resp_arg *ida = &c->argv[4];
        if (ida->len == 1 && ida->ptr[0] == '$') {
            a->id = a->o ? stream_of(a->o)->last_id : (struct stream_id){0, 0};
        } else if (!xid_parse(c, ida, &a->id, 0, true, NULL)) {
            return false;
        }
    }
    return true;
}

static void cmd_xgroup_create(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, &a, true, false, false)) return;
    const struct resp_arg *key = &c->argv[2], *grp = &c->argv[3];
    bool created = a.o == NULL;
    if (created) a.o = stream_new();
    if (stream_cg_create(stream_of(a.o), grp->ptr, grp->len, &a.id, a.entries_read) == NULL) {
        resp_error(&c->out, "BUSYGROUP Consumer Group name already exists");
        return;
    }
    if (created) store_set(c->store, c->db, key->ptr, key->len, a.o, false);
    touch(c, key);
    ctx_notify(c, NOTIFY_STREAM, "xgroup-create", key);
    resp_ok(&c->out);
}

static void cmd_xgroup_setid(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, &a, false, true, true)) return;
    a.g->last_id = a.id;
    a.g->entries_read = a.entries_read;
    touch(c, &c->argv[2]);
    ctx_notify(c, NOTIFY_STREAM, "xgroup-setid", &c->argv[2]);
    resp_ok(&c->out);
}

static void cmd_xgroup_destroy(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, &a, false, false, false)) return;
    if (a.g == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    stream_cg_destroy(stream_of(a.o), c->argv[3].ptr, c->argv[3].len);
    touch(c, &c->argv[2]);
    ctx_notify(c, NOTIFY_STREAM, "xgroup-destroy", &c->argv[2]);
    resp_int(&c->out, 1);
}

static void cmd_xgroup_createconsumer(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, &a, false, false, true)) return;
    bool created = stream_consumer_create(a.g, c->argv[4].ptr, c->argv[4].len, c->now_ms) != NULL;
    if (created) {
        touch(c, &c->argv[2]);
        ctx_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", &c->argv[2]);
    }
    resp_int(&c->out, created);
}

static void cmd_xgroup_delconsumer(struct cmd_ctx *c)
{
    struct xgroup_args a;
    if (!xgroup_prepare(c, &a, false, false, true)) return;
    long long pending = stream_consumer_delete(a.g, c->argv[4].ptr, c->argv[4].len);
    if (pending >= 0) {
        touch(c, &c->argv[2]);
        ctx_notify(c, NOTIFY_STREAM, "xgroup-delconsumer", &c->argv[2]);
    }
    resp_int(&c->out, pending < 0 ? 0 : pending);
}


static void cmd_xgroup_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help_lines(c, lines);
}

/* ---------------------------------------------------------------------
 * XACK, XPENDING
 * ------------------------------------------------------------------- */

static void cmd_xack(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    struct stream_cg *g = o ? stream_cg_find(stream_of(o), c->argv[2].ptr, c->argv[2].len) : NULL;
    if (g == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    int n = c->argc - 3;
    struct stream_id *ids = xmalloc((size_t)n * sizeof *ids);
    for (int j = 0; j < n; j++) {
        if (!xid_parse(c, &c->argv[3 + j], &ids[j], 0, true, NULL)) {
            free(ids);
            return;
        }
    }
    long long acked = 0;
    for (int j = 0; j < n; j++) acked += stream_pel_remove(g, &ids[j]);
    free(ids);
    if (acked) touch(c, &c->argv[1]);
    resp_int(&c->out, acked);
}

static void cmd_xpending(struct cmd_ctx *c)
{
    bool justinfo = c->argc == 3;
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2], *consumer_name = NULL;
    struct stream_id start = {0, 0}, end = {0, 0};
    long long count = 0, minidle = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        cmd_reply_syntax_error(c);
        return;
    }
    if (c->argc >= 6) {
        int si = 3;
        if (arg_is(&c->argv[3], "idle")) {
            if (!arg_get_ll_or_reply(c, &c->argv[4], &minidle)) return;
            if (c->argc < 8) {
                cmd_reply_syntax_error(c);
                return;
            }
            si += 2;
        }
        if (!arg_get_ll_or_reply(c, &c->argv[si + 2], &count)) return;
        if (count < 0) count = 0;
        bool startex, endex;
        if (!xid_parse_interval(c, &c->argv[si], &start, &startex, 0)) return;
        if (startex && !xid_incr(&start)) {
            resp_error(&c->out, "ERR invalid start ID for the interval");
            return;
        }
        if (!xid_parse_interval(c, &c->argv[si + 1], &end, &endex, UINT64_MAX)) return;
        if (endex && !xid_decr(&end)) {
            resp_error(&c->out, "ERR invalid end ID for the interval");
            return;
        }
        if (si + 3 < c->argc) consumer_name = &c->argv[si + 3];
    }
    bool wrong;
    struct sobj *o = stream_lookup(c, key, &wrong);
    if (wrong) return;
    struct stream_cg *g = o ? stream_cg_find(stream_of(o), grp->ptr, grp->len) : NULL;
    if (g == NULL) {
        reply_nogroup(c, key, grp);
        return;
    }
    if (justinfo) {
        resp_array(&c->out, 4);
        resp_int(&c->out, (long long)idmap_size(&g->pel));
        if (idmap_size(&g->pel) == 0) {
            resp_null(&c->out);
            resp_null(&c->out);
            resp_null_array(&c->out);
            return;
        }
        reply_xid(c, &idmap_first(&g->pel)->id);
        reply_xid(c, &idmap_last(&g->pel)->id);
        size_t h = resp_defer_len(&c->out), n = 0;
        for (size_t i = 0; i < g->n_consumers; i++) {
            struct stream_consumer *k = g->consumers[i];
            if (idmap_size(&k->pel) == 0) continue;
            resp_array(&c->out, 2);
            resp_bulk(&c->out, k->name, k->name_len);
            resp_bulk_ll(&c->out, (long long)idmap_size(&k->pel));
            n++;
        }
        resp_set_deferred_len(&c->out, h, '*', (long long)n);
        return;
    }
    const struct idmap *pel = &g->pel;
    if (consumer_name) {
        struct stream_consumer *k = stream_consumer_find(g, consumer_name->ptr, consumer_name->len);
        if (k == NULL) {
            resp_array(&c->out, 0);
            return;
        }
        pel = &k->pel;
    }
    size_t h = resp_defer_len(&c->out), n = 0;
    for (struct idmap_node *node = idmap_seek(pel, &start);
         count && node && stream_id_cmp(&node->id, &end) <= 0; node = idmap_next(node)) {
        struct stream_nack *nack = node->val;
        long long idle = c->now_ms - nack->delivery_time;
        if (minidle && idle < minidle) continue;
        n++;
        count--;
        resp_array(&c->out, 4);
        reply_xid(c, &node->id);
        resp_bulk(&c->out, nack->consumer->name, nack->consumer->name_len);
        resp_int(&c->out, idle < 0 ? 0 : idle);
        resp_int(&c->out, (long long)nack->delivery_count);
    }
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
}

/* ---------------------------------------------------------------------
 * XCLAIM, XAUTOCLAIM
 * ------------------------------------------------------------------- */

static bool get_ll_msg(struct cmd_ctx *c, const struct resp_arg *a, long long *v, const char *msg)
{
    if (arg_to_ll(a, v)) return true;
    resp_errorf(&c->out, "ERR %s", msg);
    return false;
}

static void cmd_xclaim(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2];
    bool wrong;
    struct sobj *o = stream_lookup(c, key, &wrong);
    if (wrong) return;
    struct stream_cg *g = o ? stream_cg_find(stream_of(o), grp->ptr, grp->len) : NULL;
    if (g == NULL) {
        reply_nogroup(c, key, grp);
        return;
    }
    struct stream *s = stream_of(o);
    long long minidle, retrycount = -1, deliverytime = -1;
    bool force = false, justid = false;
    if (!get_ll_msg(c, &c->argv[4], &minidle, "Invalid min-idle-time argument for XCLAIM")) return;
    if (minidle < 0) minidle = 0;
    int j = 5;
    for (; j < c->argc; j++) {
        struct stream_id id;
        if (!xid_parse(NULL, &c->argv[j], &id, 0, true, NULL)) break;
    }
    int last_id_arg = j - 1;
    long long now = c->now_ms;
    struct stream_id last_id = {0, 0};
    for (; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const struct resp_arg *opt = &c->argv[j];
        if (arg_is(opt, "force")) {
            force = true;
        } else if (arg_is(opt, "justid")) {
            justid = true;
        } else if (arg_is(opt, "idle") && more) {
            j++;
            if (!get_ll_msg(c, &c->argv[j], &deliverytime, "Invalid IDLE option argument for XCLAIM")) return;
            deliverytime = now - deliverytime;
        } else if (arg_is(opt, "time") && more) {
            j++;
            if (!get_ll_msg(c, &c->argv[j], &deliverytime, "Invalid TIME option argument for XCLAIM")) return;
        } else if (arg_is(opt, "retrycount") && more) {
            j++;
            if (!get_ll_msg(c, &c->argv[j], &retrycount, "Invalid RETRYCOUNT option argument for XCLAIM"))
                return;
        } else if (arg_is(opt, "lastid") && more) {
            j++;
            if (!xid_parse(c, &c->argv[j], &last_id, 0, true, NULL)) return;
        } else {
            resp_errorf(&c->out, "ERR Unrecognized XCLAIM option '%.*s'", (int)opt->len, opt->ptr);
            return;
        }
    }
    bool changed = false;
    if (stream_id_cmp(&last_id, &g->last_id) > 0) {
        g->last_id = last_id;
        changed = true;
    }
    if (deliverytime != -1) {
        if (deliverytime < 0 || deliverytime > now) deliverytime = now;
    } else {
        deliverytime = now;
    }
    struct stream_consumer *k = NULL;
    size_t h = resp_defer_len(&c->out), n = 0;
    for (int i = 5; i <= last_id_arg; i++) {
        struct stream_id id;
        xid_parse(NULL, &c->argv[i], &id, 0, true, NULL);
        struct stream_nack *nack = idmap_get(&g->pel, &id);
        if (!stream_entry_exists(s, &id)) {
            /* Gone from the stream: gone from the PEL too. */
            if (nack) {
                stream_pel_remove(g, &id);
                changed = true;
            }
            continue;
        }
        bool fresh = false;
        if (force && nack == NULL) {
            nack = xcalloc(1, sizeof *nack);
            nack->delivery_time = now;
            nack->delivery_count = 1;
            idmap_insert(&g->pel, &id, nack);
            fresh = true;
        }
        if (nack == NULL) continue;
        if (!fresh && minidle && now - nack->delivery_time < minidle) continue;
        if (k == NULL) k = consumer_get(c, &c->argv[1], g, &c->argv[3]);
        if (nack->consumer != k) {
            if (nack->consumer) idmap_remove(&nack->consumer->pel, &id);
            idmap_insert(&k->pel, &id, nack);
            nack->consumer = k;
        }
        nack->delivery_time = deliverytime;
        if (retrycount >= 0) nack->delivery_count = (uint64_t)retrycount;
        else if (!justid) nack->delivery_count++;
        k->active_time = now;
        changed = true;
        if (justid) reply_xid(c, &id);
        else if (!reply_entry_by_id(c, s, &id)) resp_null(&c->out);
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
    if (changed) touch(c, key);
}

static void cmd_xautoclaim(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *grp = &c->argv[2];
    long long minidle, count = 100;
    struct stream_id start;
    bool startex, justid = false;
    if (!get_ll_msg(c, &c->argv[4], &minidle, "Invalid min-idle-time argument for XAUTOCLAIM")) return;
    if (minidle < 0) minidle = 0;
    if (!xid_parse_interval(c, &c->argv[5], &start, &startex, 0)) return;
    if (startex && !xid_incr(&start)) {
        resp_error(&c->out, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (arg_is(&c->argv[j], "count") && more) {
            long long max_count = LONG_MAX / 16;
            if (!arg_to_ll(&c->argv[j + 1], &count) || count < 1 || count > max_count) {
                resp_error(&c->out, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (arg_is(&c->argv[j], "justid")) {
            justid = true;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    bool wrong;
    struct sobj *o = stream_lookup(c, key, &wrong);
    if (wrong) return;
    struct stream_cg *g = o ? stream_cg_find(stream_of(o), grp->ptr, grp->len) : NULL;
    if (g == NULL) {
        reply_nogroup(c, key, grp);
        return;
    }
    struct stream *s = stream_of(o);
    long long attempts = count * 10, now = c->now_ms;
    /* Grown as needed: COUNT may be huge, the PEL is what bounds it. */
    struct stream_id *deleted = NULL;
    size_t n_deleted = 0, cap_deleted = 0, n = 0;
    struct stream_consumer *k = NULL;
    bool changed = false;
    resp_array(&c->out, 3);
    size_t cursor_at = c->out.buf->len;
    struct stream_id cursor = {0, 0};
    reply_xid(c, &cursor); /* placeholder, rewritten below */
    size_t cursor_len = c->out.buf->len - cursor_at;
    size_t h = resp_defer_len(&c->out);
    struct idmap_node *node = idmap_seek(&g->pel, &start);
    while (attempts-- > 0 && count && node) {
        struct idmap_node *next = idmap_next(node);
        struct stream_id id = node->id;
        struct stream_nack *nack = node->val;
        if (!stream_entry_exists(s, &id)) {
            stream_pel_remove(g, &id);
            if (n_deleted == cap_deleted) {
                cap_deleted = cap_deleted ? cap_deleted * 2 : 16;
                deleted = xrealloc(deleted, cap_deleted * sizeof *deleted);
            }
            deleted[n_deleted++] = id;
            changed = true;
            count--;
            node = next;
            continue;
        }
        if (minidle && now - nack->delivery_time < minidle) {
            node = next;
            continue;
        }
        if (k == NULL) k = consumer_get(c, &c->argv[1], g, &c->argv[3]);
        if (nack->consumer != k) {
            if (nack->consumer) idmap_remove(&nack->consumer->pel, &id);
            idmap_insert(&k->pel, &id, nack);
            nack->consumer = k;
        }
        nack->delivery_time = now;
        if (!justid) nack->delivery_count++;
        k->active_time = now;
        changed = true;
        if (justid) reply_xid(c, &id);
        else reply_entry_by_id(c, s, &id);
        n++;
        count--;
        node = next;
    }
    if (node) cursor = node->id;
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
    /* The cursor: the first entry not examined (0-0 at the end). */
    struct buf tail = BUF_INIT;
    buf_append(&tail, c->out.buf->data + cursor_at + cursor_len,
               c->out.buf->len - cursor_at - cursor_len);
    c->out.buf->len = cursor_at;
    reply_xid(c, &cursor);
    buf_append(c->out.buf, tail.data, tail.len);
    buf_free(&tail);
    resp_array(&c->out, (long long)n_deleted);
    for (size_t i = 0; i < n_deleted; i++) reply_xid(c, &deleted[i]);
    free(deleted);
    if (changed) touch(c, key);
}

/* ---------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------- */

#define X_RD (ACL_STREAM | ACL_READ)
#define X_WR (ACL_STREAM | ACL_WRITE)
#define SUB(n, ar, fl, f, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, f, 1, acl, ex, "stream", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

static const struct cmd_def xgroup_subs[] = {
    SUB("xgroup|create", -5, CMD_WRITE | CMD_DENYOOM, 2, X_WR | ACL_SLOW, cmd_xgroup_create, "5.0.0",
        "Create a consumer group.", "O(1)", "RW insert"),
    SUB("xgroup|setid", -5, CMD_WRITE, 2, X_WR | ACL_SLOW, cmd_xgroup_setid, "5.0.0",
        "Set a consumer group to an arbitrary last delivered ID value.", "O(1)", "RW update"),
    SUB("xgroup|destroy", 4, CMD_WRITE, 2, X_WR | ACL_SLOW, cmd_xgroup_destroy, "5.0.0",
        "Destroy a consumer group.",
        "O(N) where N is the number of entries in the group's pending entries list (PEL).", "RW delete"),
    SUB("xgroup|createconsumer", 5, CMD_WRITE | CMD_DENYOOM, 2, X_WR | ACL_SLOW, cmd_xgroup_createconsumer,
        "6.2.0", "Create a consumer in a consumer group.", "O(1)", "RW insert"),
    SUB("xgroup|delconsumer", 5, CMD_WRITE, 2, X_WR | ACL_SLOW, cmd_xgroup_delconsumer, "5.0.0",
        "Delete a consumer from a consumer group.", "O(1)", "RW delete"),
    SUB("xgroup|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, ACL_STREAM | ACL_SLOW, cmd_xgroup_help,
        "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};


#define ROW(n, ar, fl, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, 1, 1, 1, acl, ex, "stream", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

const struct cmd_def cmd_rows_stream_group[] = {
    {"xgroup", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "stream", "5.0.0",
     "A container for consumer groups commands", "Depends on subcommand.", xgroup_subs, NULL, NULL},
    ROW("xack", -4, CMD_WRITE | CMD_FAST, X_WR | ACL_FAST, cmd_xack, "5.0.0",
        "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
        "O(1) for each message ID processed.", "RW update keymiss"),
    ROW("xpending", -3, CMD_READONLY, X_RD | ACL_SLOW, cmd_xpending, "5.0.0",
        "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
        "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "RO access keymiss"),
    ROW("xclaim", -6, CMD_WRITE | CMD_FAST, X_WR | ACL_FAST, cmd_xclaim, "5.0.0",
        "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
        "O(log N) with N being the number of messages in the PEL of the consumer group.", "RW update keymiss"),
    ROW("xautoclaim", -6, CMD_WRITE | CMD_FAST, X_WR | ACL_FAST, cmd_xautoclaim, "6.2.0",
        "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
        "O(1) if COUNT is small.", "RW delete keymiss"),
    CMD_ROWS_END,
};
