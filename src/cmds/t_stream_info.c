/* cmds/t_stream_info.c — XINFO STREAM [FULL [COUNT n]], XINFO GROUPS,
 * XINFO CONSUMERS and XINFO HELP, with Redis 7.0's reply shapes (maps in
 * RESP3), lag and entries-read, and error texts. Idle times are measured
 * against ctx->now_ms. */
#include <stdlib.h>
#include <string.h>

#include "cmds/stream.h"

/* ---------------------------------------------------------------------
 * XINFO
 * ------------------------------------------------------------------- */

static void reply_lag(struct cmd_ctx *c, const struct stream *s, const struct stream_cg *g)
{
    long long lag;
    if (stream_cg_lag(s, g, &lag)) resp_int(&c->out, lag);
    else resp_null(&c->out);
}

static void reply_entries_read(struct cmd_ctx *c, const struct stream_cg *g)
{
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID) resp_int(&c->out, g->entries_read);
    else resp_null(&c->out);
}

/* Stand-in for Redis's radix tree node count: a tree over the blocks. */
static long long tree_nodes(const struct stream *s)
{
    return s->n_blocks ? (long long)(s->n_blocks + (s->n_blocks + 1) / 2) : 1;
}

static void xinfo_stream(struct cmd_ctx *c, const struct stream *s)
{
    bool full = false;
    long long count = 10;
    int argc = c->argc - 3;
    const struct resp_arg *argv = c->argv + 3;
    if (argc) {
        if (!arg_is(&argv[0], "full")) {
            reply_subcommand_syntax(c, "XINFO");
            return;
        }
        if (argc == 3 && arg_is(&argv[1], "count")) {
            if (!arg_get_ll_or_reply(c, &argv[2], &count)) return;
            if (count < 0) count = 10;
        } else if (argc != 1) {
            reply_subcommand_syntax(c, "XINFO");
            return;
        }
        full = true;
    }
    resp_map(&c->out, full ? 9 : 10);
    resp_bulk_str(&c->out, "length");
    resp_int(&c->out, (long long)s->length);
    resp_bulk_str(&c->out, "radix-tree-keys");
    resp_int(&c->out, (long long)s->n_blocks);
    resp_bulk_str(&c->out, "radix-tree-nodes");
    resp_int(&c->out, tree_nodes(s));
    resp_bulk_str(&c->out, "last-generated-id");
    reply_xid(c, &s->last_id);
    resp_bulk_str(&c->out, "max-deleted-entry-id");
    reply_xid(c, &s->max_deleted_id);
    resp_bulk_str(&c->out, "entries-added");
    resp_int(&c->out, (long long)s->entries_added);
    resp_bulk_str(&c->out, "recorded-first-entry-id");
    reply_xid(c, &s->first_id);
    if (!full) {
        resp_bulk_str(&c->out, "groups");
        resp_int(&c->out, (long long)s->n_groups);
        struct stream_it it;
        struct stream_entry e;
        resp_bulk_str(&c->out, "first-entry");
        stream_it_start(&it, s, NULL, NULL, false);
        if (stream_it_next(&it, &e)) reply_entry(c, &e);
        else resp_null(&c->out);
        resp_bulk_str(&c->out, "last-entry");
        stream_it_start(&it, s, NULL, NULL, true);
        if (stream_it_next(&it, &e)) reply_entry(c, &e);
        else resp_null(&c->out);
        return;
    }
    resp_bulk_str(&c->out, "entries");
    reply_range(c, s, NULL, NULL, (size_t)count, false);
    resp_bulk_str(&c->out, "groups");
    resp_array(&c->out, (long long)s->n_groups);
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct stream_cg *g = s->groups[i];
        resp_map(&c->out, 7);
        resp_bulk_str(&c->out, "name");
        resp_bulk(&c->out, g->name, g->name_len);
        resp_bulk_str(&c->out, "last-delivered-id");
        reply_xid(c, &g->last_id);
        resp_bulk_str(&c->out, "entries-read");
        reply_entries_read(c, g);
        resp_bulk_str(&c->out, "lag");
        reply_lag(c, s, g);
        resp_bulk_str(&c->out, "pel-count");
        resp_int(&c->out, (long long)idmap_size(&g->pel));
        resp_bulk_str(&c->out, "pending");
        size_t h = resp_defer_len(&c->out);
        long long n = 0;
        for (struct idmap_node *node = idmap_first(&g->pel); node && (!count || n < count);
             node = idmap_next(node), n++) {
            const struct stream_nack *nack = node->val;
            resp_array(&c->out, 4);
            reply_xid(c, &node->id);
            resp_bulk(&c->out, nack->consumer->name, nack->consumer->name_len);
            resp_int(&c->out, nack->delivery_time);
            resp_int(&c->out, (long long)nack->delivery_count);
        }
        resp_set_deferred_len(&c->out, h, '*', n);
        resp_bulk_str(&c->out, "consumers");
        resp_array(&c->out, (long long)g->n_consumers);
        for (size_t j = 0; j < g->n_consumers; j++) {
            const struct stream_consumer *k = g->consumers[j];
            resp_map(&c->out, 4);
            resp_bulk_str(&c->out, "name");
            resp_bulk(&c->out, k->name, k->name_len);
            resp_bulk_str(&c->out, "seen-time");
            resp_int(&c->out, k->seen_time);
            resp_bulk_str(&c->out, "pel-count");
            resp_int(&c->out, (long long)idmap_size(&k->pel));
            resp_bulk_str(&c->out, "pending");
            size_t hk = resp_defer_len(&c->out);
            long long m = 0;
            for (struct idmap_node *node = idmap_first(&k->pel); node && (!count || m < count);
                 node = idmap_next(node), m++) {
                const struct stream_nack *nack = node->val;
                resp_array(&c->out, 3);
                reply_xid(c, &node->id);
                resp_int(&c->out, nack->delivery_time);
                resp_int(&c->out, (long long)nack->delivery_count);
            }
            resp_set_deferred_len(&c->out, hk, '*', m);
        }
    }
}

/* The stream at argv[2] for XINFO, or NULL after replying. */
static const struct stream *xinfo_stream_or_reply(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[2], &wrong);
    if (wrong) return NULL;
    if (o == NULL) {
        resp_error(&c->out, "ERR no such key");
        return NULL;
    }
    return stream_of(o);
}

static void cmd_xinfo_stream(struct cmd_ctx *c)
{
    const struct stream *s = xinfo_stream_or_reply(c);
    if (s) xinfo_stream(c, s);
}

static void cmd_xinfo_groups(struct cmd_ctx *c)
{
    const struct stream *s = xinfo_stream_or_reply(c);
    if (s == NULL) return;
    resp_array(&c->out, (long long)s->n_groups);
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct stream_cg *g = s->groups[i];
        resp_map(&c->out, 6);
        resp_bulk_str(&c->out, "name");
        resp_bulk(&c->out, g->name, g->name_len);
        resp_bulk_str(&c->out, "consumers");
        resp_int(&c->out, (long long)g->n_consumers);
        resp_bulk_str(&c->out, "pending");
        resp_int(&c->out, (long long)idmap_size(&g->pel));
        resp_bulk_str(&c->out, "last-delivered-id");
        reply_xid(c, &g->last_id);
        resp_bulk_str(&c->out, "entries-read");
        reply_entries_read(c, g);
        resp_bulk_str(&c->out, "lag");
        reply_lag(c, s, g);
    }
}

static void cmd_xinfo_consumers(struct cmd_ctx *c)
{
    const struct stream *s = xinfo_stream_or_reply(c);
    if (s == NULL) return;
    const struct resp_arg *grp = &c->argv[3];
    const struct stream_cg *g = stream_cg_find(s, grp->ptr, grp->len);
    if (g == NULL) {
        resp_errorf(&c->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'", (int)grp->len,
                    grp->ptr, (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    resp_array(&c->out, (long long)g->n_consumers);
    for (size_t i = 0; i < g->n_consumers; i++) {
        const struct stream_consumer *k = g->consumers[i];
        long long idle = c->now_ms - k->seen_time;
        resp_map(&c->out, 3);
        resp_bulk_str(&c->out, "name");
        resp_bulk(&c->out, k->name, k->name_len);
        resp_bulk_str(&c->out, "pending");
        resp_int(&c->out, (long long)idmap_size(&k->pel));
        resp_bulk_str(&c->out, "idle");
        resp_int(&c->out, idle < 0 ? 0 : idle);
    }
}

static void cmd_xinfo_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help_lines(c, lines);
}

#define X_RD (ACL_STREAM | ACL_READ)
#define SUB(n, ar, fl, f, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, f, 1, acl, ex, "stream", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

static const struct cmd_def xinfo_subs[] = {
    SUB("xinfo|stream", -3, CMD_READONLY, 2, X_RD | ACL_SLOW, cmd_xinfo_stream, "5.0.0",
        "Get information about a stream",
        "O(1)", "RO access keymiss"),
    SUB("xinfo|groups", 3, CMD_READONLY, 2, X_RD | ACL_SLOW, cmd_xinfo_groups, "5.0.0",
        "List the consumer groups of a stream", "O(1)", "RO access keymiss"),
    SUB("xinfo|consumers", 4, CMD_READONLY, 2, X_RD | ACL_SLOW, cmd_xinfo_consumers, "5.0.0",
        "List the consumers in a consumer group", "O(1)", "RO access keymiss"),
    SUB("xinfo|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, ACL_STREAM | ACL_SLOW, cmd_xinfo_help,
        "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

const struct cmd_def cmd_rows_stream_info[] = {
    {"xinfo", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "stream", "5.0.0",
     "A container for stream introspection commands", "Depends on subcommand.", xinfo_subs, NULL, NULL},
    CMD_ROWS_END,
};
