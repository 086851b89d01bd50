/* cmds/t_stream_read.c — XREAD and XREADGROUP, with Redis 7.0's options,
 * reply shapes and error texts.
 *
 * Both may block (BLOCK ms). They do it the way the blocking pops do
 * (cmds/blocking.c, server/blocking.c): when nothing can be served the
 * command writes no reply and sets c->blocked; the node whose client sent
 * it keeps the client waiting and submits the command again through the
 * log when one of its streams changes, until it is served or its timeout
 * (counted by that node) passes. XREADGROUP is a write: a retry that
 * serves entries records them in the group's PEL from the log, on every
 * node, like the first attempt would have.
 *
 * Two differences from a pop. XREAD's `$` means "the last ID when the
 * command ran", so a retry must not resolve it again; and a retried
 * XREADGROUP whose stream or group has gone must answer what Redis answers
 * a client it unblocks for that reason, not what a new XREADGROUP gets. So
 * when XREAD blocks with `$`, or XREADGROUP blocks, it leaves a wait note
 * instead of an empty reply: a NUL byte, then the command to retry with as
 * a RESP array, each `$` replaced by the ID it stood for and XREADGROUP
 * renamed __xreadgroup_retry. The replication layer hands the note's
 * command to the waiting node (repl.h, on_blocked), which retries that.
 *
 * Inside MULTI (c->no_block) BLOCK is ignored, as in Redis; inside a
 * script BLOCK is refused with Redis's error. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/stream.h"

/* What a blocked XREADGROUP is retried as (its wait note names it). */
#define RETRY_CMD "__xreadgroup_retry"

static bool is_str(const struct resp_arg *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

/* Redis's getTimeoutFromObjectOrReply with UNIT_MILLISECONDS. */
static bool parse_block_ms(struct cmd_ctx *c, const struct resp_arg *a, long long *ms)
{
    if (!arg_to_ll(a, ms)) {
        resp_error(&c->out, "ERR timeout is not an integer or out of range");
        return false;
    }
    if (*ms < 0) {
        resp_error(&c->out, "ERR timeout is negative");
        return false;
    }
    /* Redis 7.0 has no upper bound here: a BLOCK too large for a
     * deadline waits for ever (server/blocking.c). */
    return true;
}

/* The history of a consumer (XREADGROUP with an ID): its own pending
 * entries from start, each delivery counted again. */
static size_t reply_consumer_pel(struct cmd_ctx *c, const struct stream *s,
                                 struct stream_consumer *k, const struct stream_id *start,
                                 size_t count)
{
    size_t h = resp_defer_len(&c->out), n = 0;
    for (struct idmap_node *node = idmap_seek(&k->pel, start); node && (!count || n < count);
         node = idmap_next(node)) {
        if (!reply_entry_by_id(c, s, &node->id)) {
            /* Deleted since it was delivered: the ID, then a null. */
            resp_array(&c->out, 2);
            reply_xid(c, &node->id);
            resp_null_array(&c->out);
        } else {
            struct stream_nack *nack = node->val;
            nack->delivery_time = c->now_ms;
            nack->delivery_count++;
        }
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
    return n;
}

/* New entries for a group (XREADGROUP >): the group's last ID moves past
 * them and, unless noack, they become pending for the consumer. */
static size_t reply_group_new(struct cmd_ctx *c, struct stream *s, struct stream_cg *g,
                              struct stream_consumer *k, const struct stream_id *start,
                              size_t count, bool noack)
{
    size_t h = resp_defer_len(&c->out), n = 0;
    struct stream_it it;
    struct stream_entry e;
    stream_it_start(&it, s, start, NULL, false);
    while ((!count || n < count) && stream_it_next(&it, &e)) {
        stream_cg_delivered(s, g, &e.id);
        struct stream_id id = e.id;
        reply_entry(c, &e);
        if (!noack) stream_pel_add(g, k, &id, c->now_ms);
        n++;
    }
    if (n) k->active_time = c->now_ms;
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
    return n;
}

/* The wait note (see the top of this file): the command with `$` resolved
 * and, for XREADGROUP, named RETRY_CMD. */
static void write_note(struct cmd_ctx *c, int streams_arg, int streams_count,
                       const struct stream_id *ids, bool xreadgroup)
{
    resp_raw(&c->out, "", 1);
    resp_array(&c->out, c->argc);
    for (int i = 0; i < c->argc; i++) {
        int id_idx = i - streams_arg - streams_count;
        if (i == 0 && xreadgroup) resp_bulk_str(&c->out, RETRY_CMD);
        else if (id_idx >= 0 && is_str(&c->argv[i], "$")) reply_xid(c, &ids[id_idx]);
        else resp_bulk(&c->out, c->argv[i].ptr, c->argv[i].len);
    }
}

/* retry: this is a blocked XREADGROUP trying again (RETRY_CMD): a stream
 * or group that has gone since it started waiting is answered as Redis
 * answers the clients it unblocks for that reason. */
static void xread_generic(struct cmd_ctx *c, bool xreadgroup, bool retry)
{
    long long timeout = -1, count = 0;
    int streams_arg = 0, streams_count = 0;
    const struct resp_arg *groupname = NULL, *consumername = NULL;
    bool noack = false;
    for (int i = 1; i < c->argc; i++) {
        int more = c->argc - i - 1;
        const struct resp_arg *o = &c->argv[i];
        if (arg_is(o, "block") && more) {
            if (c->in_script) {
                resp_errorf(&c->out, "ERR %.*s command is not allowed with BLOCK option from scripts",
                            (int)c->argv[0].len, c->argv[0].ptr);
                return;
            }
            i++;
            if (!parse_block_ms(c, &c->argv[i], &timeout)) return;
        } else if (arg_is(o, "count") && more) {
            i++;
            if (!arg_get_ll_or_reply(c, &c->argv[i], &count)) return;
            if (count < 0) count = 0;
        } else if (arg_is(o, "streams") && more) {
            streams_arg = i + 1;
            streams_count = c->argc - streams_arg;
            if (streams_count % 2 != 0) {
                resp_error(&c->out, "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return;
            }
            streams_count /= 2;
            break;
        } else if (arg_is(o, "group") && more >= 2) {
            if (!xreadgroup) {
                resp_error(&c->out, "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            groupname = &c->argv[i + 1];
            consumername = &c->argv[i + 2];
            i += 2;
        } else if (arg_is(o, "noack")) {
            if (!xreadgroup) {
                resp_error(&c->out, "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = true;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    if (streams_arg == 0) {
        cmd_reply_syntax_error(c);
        return;
    }
    if (xreadgroup && groupname == NULL) {
        resp_error(&c->out, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    struct stream_id *ids = xmalloc((size_t)streams_count * sizeof *ids);
    struct stream_cg **groups = xcalloc((size_t)streams_count, sizeof *groups);
    bool dollar = false;
    for (int i = 0; i < streams_count; i++) {
        const struct resp_arg *key = &c->argv[streams_arg + i];
        const struct resp_arg *ida = &c->argv[streams_arg + streams_count + i];
        bool wrong;
        /* A retried XREAD treats a key of another type as no stream
         * (Redis 7.0 keeps it blocked); XREADGROUP's retry answers. */
        struct dict_entry *se = groupname ? ctx_lookup_type(c, key, OBJ_STREAM, &wrong)
                                          : ctx_lookup_source(c, key, OBJ_STREAM, &wrong);
        struct sobj *o = se ? store_value(se) : NULL;
        if (wrong) goto done;
        if (groupname) {
            if (retry && o == NULL) {
                resp_error(&c->out, "UNBLOCKED the stream key no longer exists");
                goto done;
            }
            if (retry && stream_cg_find(stream_of(o), groupname->ptr, groupname->len) == NULL) {
                resp_error(&c->out, "NOGROUP the consumer group this client was blocked on no longer exists");
                goto done;
            }
            if (o == NULL ||
                (groups[i] = stream_cg_find(stream_of(o), groupname->ptr, groupname->len)) == NULL) {
                resp_errorf(&c->out,
                            "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with GROUP option",
                            (int)key->len, key->ptr, (int)groupname->len, groupname->ptr);
                goto done;
            }
        }
        if (is_str(ida, "$")) {
            if (xreadgroup) {
                resp_error(&c->out, "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                goto done;
            }
            ids[i] = o ? stream_of(o)->last_id : (struct stream_id){0, 0};
            dollar = true;
            continue;
        }
        if (is_str(ida, ">")) {
            if (!xreadgroup) {
                resp_error(&c->out, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                goto done;
            }
            ids[i] = (struct stream_id){UINT64_MAX, UINT64_MAX};
            continue;
        }
        if (!xid_parse(c, ida, &ids[i], 0, true, NULL)) goto done;
    }

    size_t served = 0, h = 0;
    for (int i = 0; i < streams_count; i++) {
        const struct resp_arg *key = &c->argv[streams_arg + i];
        bool wrong;
        struct dict_entry *se = groupname ? ctx_lookup_type(c, key, OBJ_STREAM, &wrong)
                                          : ctx_lookup_source(c, key, OBJ_STREAM, &wrong);
        struct sobj *o = se ? store_value(se) : NULL;
        if (o == NULL) continue;
        struct stream *s = stream_of(o);
        struct stream_id gt = ids[i];
        bool serve = false, history = false;
        struct stream_consumer *k = NULL;
        if (groups[i]) {
            if (gt.ms != UINT64_MAX || gt.seq != UINT64_MAX) {
                serve = history = true;
            } else if (s->length) {
                struct stream_id maxid = stream_last_valid_id(s);
                if (stream_id_cmp(&maxid, &groups[i]->last_id) > 0) {
                    serve = true;
                    gt = groups[i]->last_id;
                }
            }
        } else if (s->length) {
            struct stream_id maxid = stream_last_valid_id(s);
            if (stream_id_cmp(&maxid, &gt) > 0) serve = true;
        }
        if (!serve) continue;
        /* As in Redis, the consumer is created (and its seen time set) only
         * when it is served: a read that finds nothing, or blocks, leaves
         * the group as it was. */
        if (groups[i]) k = consumer_get(c, key, groups[i], consumername);
        if (served++ == 0) h = resp_defer_len(&c->out);
        struct stream_id start = gt;
        xid_incr(&start);
        if (c->out.proto == 2) resp_array(&c->out, 2);
        resp_bulk(&c->out, key->ptr, key->len);
        if (history) {
            reply_consumer_pel(c, s, k, &start, (size_t)count);
        } else if (groups[i]) {
            if (reply_group_new(c, s, groups[i], k, &start, (size_t)count, noack))
                store_touch_unwatched(c->store, c->db, key->ptr, key->len); /* as in Redis 7.0 */
        } else {
            reply_range(c, s, &start, NULL, (size_t)count, false);
        }
    }
    if (served) {
        resp_set_deferred_len(&c->out, h, c->out.proto == 2 ? '*' : '%', (long long)served);
        goto done;
    }
    if (timeout != -1 && !c->no_block) {
        c->blocked = true;
        if (dollar || (xreadgroup && !retry)) write_note(c, streams_arg, streams_count, ids, xreadgroup);
        goto done;
    }
    resp_null_array(&c->out);
done:
    free(ids);
    free(groups);
}

static void cmd_xread(struct cmd_ctx *c) { xread_generic(c, false, false); }
static void cmd_xreadgroup(struct cmd_ctx *c) { xread_generic(c, true, false); }
static void cmd_xreadgroup_retry(struct cmd_ctx *c) { xread_generic(c, true, true); }

/* XREAD/XREADGROUP wait only with BLOCK, on the keys: the first half of
 * what follows STREAMS. */
static bool block_shape(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    *sh = (struct block_shape){.timeout = -1, .ms_units = true};
    for (int i = 1; i < argc; i++) {
        if (arg_is(&argv[i], "block") && i + 1 < argc) {
            sh->timeout = ++i;
        } else if (arg_is(&argv[i], "count") && i + 1 < argc) {
            i++;
        } else if (arg_is(&argv[i], "group") && i + 2 < argc) {
            i += 2;
        } else if (arg_is(&argv[i], "streams")) {
            sh->first = i + 1;
            sh->n = (argc - i - 1) / 2;
            return sh->timeout > 0 && sh->n > 0;
        }
    }
    return false;
}

const struct cmd_def cmd_rows_stream_read[] = {
    {"xread", -4, CMD_READONLY | CMD_BLOCKING, 0, 0, 0, ACL_STREAM | ACL_READ | ACL_SLOW | ACL_BLOCKING,
     cmd_xread, "stream", "5.0.0",
     "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
     "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
     NULL, "RO access keymiss STREAMS@1/2", block_shape},
    {"xreadgroup", -7, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, ACL_STREAM | ACL_WRITE | ACL_SLOW | ACL_BLOCKING,
     cmd_xreadgroup, "stream", "5.0.0",
     "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
     "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
     NULL, "RO access keymiss STREAMS@4/2", block_shape},
    /* A blocked XREADGROUP trying again: internal, sent for its client. */
    {RETRY_CMD, -7, CMD_WRITE | CMD_BLOCKING | CMD_INTERNAL | CMD_FOR_CLIENT, 0, 0, 0, 0,
     cmd_xreadgroup_retry, "stream", "parley-0.1",
     "XREADGROUP retried for a client that waits (internal to Parley).", "As XREADGROUP.", NULL, NULL,
     block_shape},
    CMD_ROWS_END,
};
