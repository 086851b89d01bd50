/* cmds/blocking.c — the blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * Applied from the log like any write. When there is something to pop
 * they behave as their non-blocking twins (cmds/list.h). When there is
 * nothing, they write no reply and set c->blocked: the node whose client
 * sent the command keeps it waiting and submits it again when one of its
 * keys changes (server/blocking.c). Inside MULTI or a script (c->no_block)
 * they answer nil at once, as in Redis.
 *
 * The timeout is validated here (errors are part of the reply, so every
 * node must agree on them) and enforced by the waiting node. */
#include <math.h>

#include "cmds/cmd.h"
#include "cmds/list.h"
#include "cmds/zset.h"

/* Redis's getTimeoutFromObjectOrReply (seconds, decimals allowed). Redis
 * 7.0 converts the milliseconds to a long long without a range check, so a
 * timeout too large for one (inf, 1e17) comes out negative and is refused
 * as negative; we give the same answer. A large timeout that fits waits
 * for ever (server/blocking.c). */
bool blocking_parse_timeout(struct cmd_ctx *c, const struct resp_arg *a, long long *ms)
{
    long double t;
    if (!arg_to_ld(a, &t)) {
        resp_error(&c->out, "ERR timeout is not a float or out of range");
        return false;
    }
    t = ceill(t * 1000.0L);
    if (t < 0 || !(t < 9223372036854775807.0L)) {
        resp_error(&c->out, "ERR timeout is negative");
        return false;
    }
    *ms = (long long)t;
    return true;
}

/* Nothing to pop: wait, or answer nil where waiting is not possible. */
static void nothing(struct cmd_ctx *c, bool array)
{
    if (!c->no_block) c->blocked = true;
    else if (array) resp_null_array(&c->out);
    else resp_null(&c->out);
}

static void bpop(struct cmd_ctx *c, bool left)
{
    long long ms;
    if (!blocking_parse_timeout(c, &c->argv[c->argc - 1], &ms)) return;
    for (int j = 1; j < c->argc - 1; j++)
        if (list_pop_reply(c, &c->argv[j], left, 1, LIST_REPLY_KEY_ELEMENT)) return;
    nothing(c, true);
}

static void cmd_blpop(struct cmd_ctx *c) { bpop(c, true); }
static void cmd_brpop(struct cmd_ctx *c) { bpop(c, false); }

static void bmove(struct cmd_ctx *c, bool from_left, bool to_left, const struct resp_arg *timeout)
{
    long long ms;
    if (!blocking_parse_timeout(c, timeout, &ms)) return;
    if (list_move_reply(c, &c->argv[1], &c->argv[2], from_left, to_left)) return;
    nothing(c, false);
}

static void cmd_blmove(struct cmd_ctx *c)
{
    bool from_left, to_left;
    if (!list_parse_where(c, &c->argv[3], &from_left) || !list_parse_where(c, &c->argv[4], &to_left))
        return;
    bmove(c, from_left, to_left, &c->argv[5]);
}

static void cmd_brpoplpush(struct cmd_ctx *c) { bmove(c, false, true, &c->argv[3]); }

static void cmd_blmpop(struct cmd_ctx *c)
{
    long long ms, numkeys, count;
    bool left;
    /* Redis parses numkeys, the end and COUNT before the timeout. */
    if (!list_parse_mpop(c, 2, &numkeys, &left, &count)) return;
    if (!blocking_parse_timeout(c, &c->argv[1], &ms)) return;
    if (list_mpop_reply(c, &c->argv[3], numkeys, left, count)) return;
    nothing(c, true);
}

static void bzpop(struct cmd_ctx *c, bool max)
{
    long long ms;
    if (!blocking_parse_timeout(c, &c->argv[c->argc - 1], &ms)) return;
    for (int j = 1; j < c->argc - 1; j++) {
        bool wrongtype = false;
        if (zset_pop_reply(c, &c->argv[j], max, 1, ZPOP_KEY_FLAT, &wrongtype) || wrongtype) return;
    }
    nothing(c, true);
}

static void cmd_bzpopmin(struct cmd_ctx *c) { bzpop(c, false); }
static void cmd_bzpopmax(struct cmd_ctx *c) { bzpop(c, true); }

static void cmd_bzmpop(struct cmd_ctx *c)
{
    long long ms, numkeys, count;
    bool max;
    if (!zset_parse_mpop(c, 2, &numkeys, &max, &count)) return;
    if (!blocking_parse_timeout(c, &c->argv[1], &ms)) return;
    if (zset_pop_first(c, &c->argv[3], numkeys, max, count, ZPOP_KEY_NESTED)) return;
    nothing(c, true);
}

/* __retry <command...>: a waiting blocking command trying again, as the
 * node that keeps its client waiting resubmits it (server/blocking.c).
 * It runs as itself, except that a key it pops from or reads that now
 * holds another type counts as missing (ctx_lookup_source): the client
 * keeps waiting, where its first attempt would have answered WRONGTYPE. */
static void cmd_internal_retry(struct cmd_ctx *c)
{
    const struct cmd_def *d = cmd_lookup(c->argv[1].ptr, c->argv[1].len, true);
    if (d && (d->flags & CMD_INTERNAL) && !(d->flags & CMD_FOR_CLIENT)) d = NULL;
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, c->argc - 1)) {
        resp_error(&c->out, "ERR malformed __retry");
        return;
    }
    struct cmd_ctx sub = *c;
    sub.argc = c->argc - 1;
    sub.argv = c->argv + 1;
    sub.cmd = d;
    sub.retry = true;
    cmd_exec(&sub);
    c->rng = sub.rng;
    c->blocked = sub.blocked;
}

/* Block shapes (cmd_def.block): BLPOP/BRPOP/BZPOPMIN/BZPOPMAX wait on
 * every key before the timeout, BLMOVE/BRPOPLPUSH on their source,
 * BLMPOP/BZMPOP on their numkeys keys. */
static bool keys_then_timeout(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    *sh = (struct block_shape){.first = 1, .n = argc - 2, .timeout = argc - 1};
    return argc >= 3;
}

static bool source_then_timeout(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    *sh = (struct block_shape){.first = 1, .n = 1, .timeout = argc - 1};
    return argc >= 4;
}

static bool timeout_then_numkeys(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    long long numkeys;
    if (argc < 4 || !arg_to_ll(&argv[2], &numkeys) || numkeys < 1 || numkeys > argc - 3) return false;
    *sh = (struct block_shape){.first = 3, .n = (int)numkeys, .timeout = 1};
    return true;
}

#define ROW(n, ar, fl, f, l, s, acl, ex, blk, since, sum, cx, ...)                                   \
    {n, ar, CMD_WRITE | CMD_BLOCKING | (fl), f, l, s,                                          \
     ACL_WRITE | ACL_LIST | ACL_SLOW | ACL_BLOCKING | (acl), ex, "list", since, sum, cx, NULL, "" __VA_ARGS__, blk}

const struct cmd_def cmd_rows_blocking[] = {
    ROW("blpop", -3, 0, 1, -2, 1, 0, cmd_blpop, keys_then_timeout, "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.", "RW access delete"),
    ROW("brpop", -3, 0, 1, -2, 1, 0, cmd_brpop, keys_then_timeout, "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.", "RW access delete"),
    ROW("blmove", 6, CMD_DENYOOM, 1, 2, 1, 0, cmd_blmove, source_then_timeout, "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "O(1)", "RW access delete 1, RW insert 2"),
    ROW("brpoplpush", 4, CMD_DENYOOM, 1, 2, 1, 0, cmd_brpoplpush, source_then_timeout, "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "O(1)", "RW access delete 1, RW insert 2"),
    ROW("blmpop", -5, 0, 0, 0, 0, 0, cmd_blmpop, timeout_then_numkeys, "7.0.0",
        "Pop elements from a list, or block until one is available",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "RW access delete #2"),
    {"bzpopmin", -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1,
     ACL_WRITE | ACL_SORTEDSET | ACL_FAST | ACL_BLOCKING, cmd_bzpopmin, "sorted_set", "5.0.0",
     "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
     "O(log(N)) with N being the number of elements in the sorted set.", NULL, "RW access delete", keys_then_timeout},
    {"bzpopmax", -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1,
     ACL_WRITE | ACL_SORTEDSET | ACL_FAST | ACL_BLOCKING, cmd_bzpopmax, "sorted_set", "5.0.0",
     "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
     "O(log(N)) with N being the number of elements in the sorted set.", NULL, "RW access delete", keys_then_timeout},
    {"bzmpop", -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0,
     ACL_WRITE | ACL_SORTEDSET | ACL_SLOW | ACL_BLOCKING, cmd_bzmpop, "sorted_set", "7.0.0",
     "Remove and return members with scores in a sorted set or block until one is available",
     "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", NULL, "RW access delete #2",
     timeout_then_numkeys},
    {"__retry", -2, CMD_WRITE | CMD_INTERNAL | CMD_FOR_CLIENT, 0, 0, 0, 0, cmd_internal_retry, "list",
     "parley-0.1", "Retries a waiting blocking command (sent by the server).", "", NULL, NULL, NULL},
    CMD_ROWS_END,
};
