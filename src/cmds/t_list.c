/* cmds/t_list.c — the list commands: pushes (LPUSH, RPUSH, LPUSHX, RPUSHX,
 * LINSERT), pops and moves (LPOP, RPOP, LMPOP, LMOVE, RPOPLPUSH: the shared
 * logic is exported in list.h for the blocking variants), reads (LLEN,
 * LINDEX, LRANGE, LPOS) and in-place edits (LSET, LREM, LTRIM). Semantics,
 * argument checking order and error texts follow Redis 7.0's t_list.c.
 *
 * Every change to an existing list is reported with store_touch (blocked
 * clients and WATCH depend on it); a list that becomes empty is deleted. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/list.h"
#include "store/list.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static void reply_value(struct cmd_ctx *c, const struct lp_value *v)
{
    if (v->p) resp_bulk(&c->out, v->p, v->len);
    else resp_bulk_ll(&c->out, v->i);
}

/* A list key: NULL and nothing replied if missing; NULL with *failed set
 * and WRONGTYPE replied if it holds another type. */
static struct dict_entry *lookup_list(struct cmd_ctx *c, const struct resp_arg *key, bool *failed)
{
    return ctx_lookup_type(c, key, OBJ_LIST, failed);
}

static struct quicklist *entry_ql(const struct dict_entry *e)
{
    return list_ql(store_value(e));
}

/* After removing elements from the list at key: deletes the key if the
 * list is empty, else reports the change; notifies event, then "del" when
 * the key went, as Redis does. */
static void after_removal(struct cmd_ctx *c, const struct resp_arg *key, struct quicklist *ql,
                          const char *event)
{
    bool emptied = ql_count(ql) == 0;
    if (emptied) store_delete(c->store, c->db, key->ptr, key->len);
    else store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_LIST, event, key);
    if (emptied) ctx_notify(c, NOTIFY_GENERIC, "del", key);
}

/* Listpacks hold elements below 4 GB; Redis 7.0 would put a bigger one in
 * a node of its own, which Parley does not have. */
static bool check_elements(struct cmd_ctx *c, int first)
{
    for (int j = first; j < c->argc; j++) {
        if (c->argv[j].len > QL_MAX_ELEMENT) {
            resp_error(&c->out, "ERR Element too large");
            return false;
        }
    }
    return true;
}

/* Redis's getPositiveLongFromObjectOrReply / getRangeLongFromObjectOrReply:
 * an integer in [min, LLONG_MAX]; anything else replies msg. */
static bool arg_get_min_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long min,
                                 const char *msg, long long *v)
{
    if (arg_to_ll(a, v) && *v >= min) return true;
    resp_error(&c->out, msg);
    return false;
}

/* Converts Redis's [start, end] (negative from the tail) to a start offset
 * and a length; false if the range is empty. */
static bool range_of(long long start, long long end, size_t count, size_t *from, size_t *n)
{
    long long llen = (long long)count;
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return false;
    if (end >= llen) end = llen - 1;
    *from = (size_t)start;
    *n = (size_t)(end - start + 1);
    return true;
}

/* ---------------------------------------------------------------------
 * Pushes
 * ------------------------------------------------------------------- */

/* LPUSH, RPUSH (create: the key may be missing) and LPUSHX, RPUSHX. */
static void push_generic(struct cmd_ctx *c, bool head, bool create)
{
    const struct resp_arg *key = &c->argv[1];
    bool wrong;
    struct dict_entry *e = lookup_list(c, key, &wrong);
    if (wrong) return;
    if (e == NULL && !create) {
        resp_int(&c->out, 0);
        return;
    }
    if (!check_elements(c, 2)) return;
    struct sobj *o = e ? store_value(e) : list_new();
    for (int j = 2; j < c->argc; j++) ql_push(list_ql(o), head, c->argv[j].ptr, c->argv[j].len);
    resp_int(&c->out, (long long)ql_count(list_ql(o)));
    if (e) store_touch(c->store, c->db, key->ptr, key->len);
    else store_set(c->store, c->db, key->ptr, key->len, o, false);
    ctx_notify(c, NOTIFY_LIST, head ? "lpush" : "rpush", key);
}

static void cmd_lpush(struct cmd_ctx *c) { push_generic(c, true, true); }
static void cmd_rpush(struct cmd_ctx *c) { push_generic(c, false, true); }
static void cmd_lpushx(struct cmd_ctx *c) { push_generic(c, true, false); }
static void cmd_rpushx(struct cmd_ctx *c) { push_generic(c, false, false); }

static void cmd_linsert(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *pivot = &c->argv[3], *elem = &c->argv[4];
    bool after;
    if (arg_is(&c->argv[2], "after")) after = true;
    else if (arg_is(&c->argv[2], "before")) after = false;
    else {
        cmd_reply_syntax_error(c);
        return;
    }
    bool wrong;
    struct dict_entry *e = lookup_list(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    if (!check_elements(c, 4)) return;
    struct quicklist *ql = entry_ql(e);
    struct ql_iter it;
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it); ql_iter_next(&it)) {
        if (ql_iter_eq(&it, pivot->ptr, pivot->len)) {
            ql_iter_insert(&it, after, elem->ptr, elem->len);
            store_touch(c->store, c->db, key->ptr, key->len);
            ctx_notify(c, NOTIFY_LIST, "linsert", key);
            resp_int(&c->out, (long long)ql_count(ql));
            return;
        }
    }
    resp_int(&c->out, -1);
}

/* ---------------------------------------------------------------------
 * Pops and moves (list.h)
 * ------------------------------------------------------------------- */

/* Replies n elements from the head (left) or the tail, in pop order. */
static void reply_end_elements(struct cmd_ctx *c, struct quicklist *ql, bool left, size_t n)
{
    resp_array(&c->out, (long long)n);
    struct ql_iter it;
    ql_iter_at(ql, left ? 0 : -1, left, &it);
    for (size_t i = 0; i < n; i++, ql_iter_next(&it)) {
        struct lp_value v;
        ql_iter_get(&it, &v);
        reply_value(c, &v);
    }
}

bool list_pop_reply(struct cmd_ctx *c, const struct resp_arg *key, bool left, long long count,
                    enum list_reply_shape shape)
{
    bool wrong;
    struct dict_entry *e = ctx_lookup_source(c, key, OBJ_LIST, &wrong);
    if (wrong) return true;
    if (e == NULL) return false;
    struct quicklist *ql = entry_ql(e);
    if (shape == LIST_REPLY_KEY_ELEMENT || shape == LIST_REPLY_KEY_ARRAY) {
        resp_array(&c->out, 2);
        resp_bulk(&c->out, key->ptr, key->len);
    }
    if (shape == LIST_REPLY_ELEMENT || shape == LIST_REPLY_KEY_ELEMENT) {
        struct lp_value v;
        ql_peek(ql, left, &v);
        reply_value(c, &v);
        ql_pop(ql, left);
    } else {
        size_t n = count < 0 ? 0 : (unsigned long long)count > ql_count(ql) ? ql_count(ql) : (size_t)count;
        reply_end_elements(c, ql, left, n);
        if (n == 0) return true; /* LPOP key 0: nothing changes */
        ql_delete_range(ql, left ? 0 : ql_count(ql) - n, n);
    }
    after_removal(c, key, ql, left ? "lpop" : "rpop");
    return true;
}

/* LPOP key [count], RPOP key [count]. */
static void pop_generic(struct cmd_ctx *c, bool left)
{
    if (c->argc > 3) {
        cmd_reply_arity(&c->out, c->cmd);
        return;
    }
    bool has_count = c->argc == 3;
    long long count = 0;
    if (has_count && !arg_get_min_or_reply(c, &c->argv[2], 0,
                                           "ERR value is out of range, must be positive", &count))
        return;
    if (has_count) {
        if (!list_pop_reply(c, &c->argv[1], left, count, LIST_REPLY_ARRAY)) resp_null_array(&c->out);
    } else {
        if (!list_pop_reply(c, &c->argv[1], left, 1, LIST_REPLY_ELEMENT)) resp_null(&c->out);
    }
}

static void cmd_lpop(struct cmd_ctx *c) { pop_generic(c, true); }
static void cmd_rpop(struct cmd_ctx *c) { pop_generic(c, false); }

bool list_move_reply(struct cmd_ctx *c, const struct resp_arg *src, const struct resp_arg *dst,
                     bool from_left, bool to_left)
{
    bool wrong;
    struct dict_entry *se = ctx_lookup_source(c, src, OBJ_LIST, &wrong);
    if (wrong) return true;
    if (se == NULL) return false;
    struct dict_entry *de = lookup_list(c, dst, &wrong);
    if (wrong) return true;
    struct quicklist *sql = entry_ql(se);
    /* Copy the element out: the push below may reallocate its node. */
    struct lp_value v;
    ql_peek(sql, from_left, &v);
    char tmp[24];
    size_t len;
    char *copy = NULL;
    const char *p;
    if (v.p) {
        p = copy = xmemdup(v.p, v.len);
        len = v.len;
    } else {
        len = resp_ll_to_str(tmp, v.i);
        p = tmp;
    }
    ql_pop(sql, from_left);
    if (de) {
        ql_push(entry_ql(de), to_left, p, len);
        store_touch(c->store, c->db, dst->ptr, dst->len);
    } else {
        struct sobj *o = list_new();
        ql_push(list_ql(o), to_left, p, len);
        store_set(c->store, c->db, dst->ptr, dst->len, o, false);
    }
    ctx_notify(c, NOTIFY_LIST, to_left ? "lpush" : "rpush", dst);
    resp_bulk(&c->out, p, len);
    free(copy);
    /* src and dst may be the same key: the list then still has the
     * element and is kept. */
    after_removal(c, src, sql, from_left ? "lpop" : "rpop");
    return true;
}

bool list_parse_where(struct cmd_ctx *c, const struct resp_arg *a, bool *left)
{
    if (arg_is(a, "left")) *left = true;
    else if (arg_is(a, "right")) *left = false;
    else {
        cmd_reply_syntax_error(c);
        return false;
    }
    return true;
}

static void cmd_lmove(struct cmd_ctx *c)
{
    bool from_left, to_left;
    if (!list_parse_where(c, &c->argv[3], &from_left) || !list_parse_where(c, &c->argv[4], &to_left))
        return;
    if (!list_move_reply(c, &c->argv[1], &c->argv[2], from_left, to_left)) resp_null(&c->out);
}

static void cmd_rpoplpush(struct cmd_ctx *c)
{
    if (!list_move_reply(c, &c->argv[1], &c->argv[2], false, true)) resp_null(&c->out);
}

bool list_mpop_reply(struct cmd_ctx *c, const struct resp_arg *keys, long long numkeys, bool left,
                     long long count)
{
    for (long long j = 0; j < numkeys; j++)
        if (list_pop_reply(c, &keys[j], left, count, LIST_REPLY_KEY_ARRAY)) return true;
    return false;
}

bool list_parse_mpop(struct cmd_ctx *c, int numkeys_idx, long long *numkeys, bool *left,
                     long long *count)
{
    if (!arg_get_min_or_reply(c, &c->argv[numkeys_idx], 1, "ERR numkeys should be greater than 0",
                              numkeys))
        return false;
    /* The LEFT|RIGHT argument follows the keys. */
    if (*numkeys >= c->argc - numkeys_idx - 1) {
        cmd_reply_syntax_error(c);
        return false;
    }
    int where_idx = numkeys_idx + (int)*numkeys + 1;
    if (!list_parse_where(c, &c->argv[where_idx], left)) return false;
    *count = -1;
    for (int j = where_idx + 1; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        if (*count == -1 && arg_is(&c->argv[j], "count") && more) {
            if (!arg_get_min_or_reply(c, &c->argv[++j], 1, "ERR count should be greater than 0", count))
                return false;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    if (*count == -1) *count = 1;
    return true;
}

static void cmd_lmpop(struct cmd_ctx *c)
{
    long long numkeys, count;
    bool left;
    if (!list_parse_mpop(c, 1, &numkeys, &left, &count)) return;
    if (!list_mpop_reply(c, &c->argv[2], numkeys, left, count)) resp_null_array(&c->out);
}

/* ---------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------- */

static void cmd_llen(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_int(&c->out, e ? (long long)ql_count(entry_ql(e)) : 0);
}

static void cmd_lindex(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_null(&c->out);
        return;
    }
    long long index;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &index)) return;
    struct lp_value v;
    if (ql_index(entry_ql(e), index, &v)) reply_value(c, &v);
    else resp_null(&c->out);
}

static void cmd_lrange(struct cmd_ctx *c)
{
    long long start, end;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &start) || !arg_get_ll_or_reply(c, &c->argv[3], &end))
        return;
    bool wrong;
    struct dict_entry *e = lookup_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    size_t from, n;
    if (e == NULL || !range_of(start, end, ql_count(entry_ql(e)), &from, &n)) {
        resp_array(&c->out, 0);
        return;
    }
    resp_array(&c->out, (long long)n);
    struct ql_iter it;
    ql_iter_at(entry_ql(e), (long long)from, true, &it);
    for (size_t i = 0; i < n; i++, ql_iter_next(&it)) {
        struct lp_value v;
        ql_iter_get(&it, &v);
        reply_value(c, &v);
    }
}

struct lpos_opts {
    long long rank;   /* >= 1 */
    bool from_tail;
    long long count;  /* -1: no COUNT (reply an integer); 0: all matches */
    long long maxlen; /* 0: no limit */
};

static bool parse_lpos(struct cmd_ctx *c, struct lpos_opts *o)
{
    long long rank = 1;
    o->count = -1;
    o->maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        bool more = j + 1 < c->argc;
        if (arg_is(a, "rank") && more) {
            if (!arg_get_ll_or_reply(c, &c->argv[++j], &rank)) return false;
            if (rank == 0) {
                resp_error(&c->out, "ERR RANK can't be zero: use 1 to start from the first match, "
                                    "2 from the second ... or use negative to start from the end "
                                    "of the list");
                return false;
            }
        } else if (arg_is(a, "count") && more) {
            if (!arg_get_min_or_reply(c, &c->argv[++j], 0, "ERR COUNT can't be negative", &o->count))
                return false;
        } else if (arg_is(a, "maxlen") && more) {
            if (!arg_get_min_or_reply(c, &c->argv[++j], 0, "ERR MAXLEN can't be negative", &o->maxlen))
                return false;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    o->from_tail = rank < 0;
    if (rank == LLONG_MIN) {
        /* Redis negates the rank, which stays LONG_MIN: every match
         * qualifies from the first one, and COUNT never stops the scan. */
        o->rank = 1;
        if (o->count > 0) o->count = 0;
    } else {
        o->rank = rank < 0 ? -rank : rank;
    }
    return true;
}

static void cmd_lpos(struct cmd_ctx *c)
{
    const struct resp_arg *elem = &c->argv[2];
    struct lpos_opts o;
    if (!parse_lpos(c, &o)) return;
    bool wrong;
    struct dict_entry *e = lookup_list(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e == NULL) {
        if (o.count != -1) resp_array(&c->out, 0);
        else resp_null(&c->out);
        return;
    }
    struct quicklist *ql = entry_ql(e);
    size_t handle = o.count != -1 ? resp_defer_len(&c->out) : 0;
    long long llen = (long long)ql_count(ql), index = 0, matches = 0, found = -1, replied = 0;
    struct ql_iter it;
    for (ql_iter_at(ql, o.from_tail ? -1 : 0, !o.from_tail, &it);
         !ql_iter_done(&it) && (o.maxlen == 0 || index < o.maxlen); ql_iter_next(&it), index++) {
        if (!ql_iter_eq(&it, elem->ptr, elem->len) || ++matches < o.rank) continue;
        found = o.from_tail ? llen - index - 1 : index;
        if (o.count == -1) break;
        resp_int(&c->out, found);
        replied++;
        if (o.count && matches - o.rank + 1 >= o.count) break;
    }
    if (o.count != -1) resp_set_deferred_len(&c->out, handle, '*', replied);
    else if (found != -1) resp_int(&c->out, found);
    else resp_null(&c->out);
}

/* ---------------------------------------------------------------------
 * In-place edits
 * ------------------------------------------------------------------- */

static void cmd_lset(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *elem = &c->argv[3];
    bool wrong;
    struct dict_entry *e = lookup_list(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_error(&c->out, "ERR no such key");
        return;
    }
    long long index;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &index) || !check_elements(c, 3)) return;
    if (!ql_replace(entry_ql(e), index, elem->ptr, elem->len)) {
        resp_error(&c->out, "ERR index out of range");
        return;
    }
    store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_LIST, "lset", key);
    resp_ok(&c->out);
}

static void cmd_lrem(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *elem = &c->argv[3];
    long long toremove;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &toremove)) return;
    bool wrong;
    struct dict_entry *e = lookup_list(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    /* count < 0 removes from the tail; LLONG_MIN (whose negation Redis
     * leaves negative) removes every match, as 0 does. */
    bool from_tail = toremove < 0;
    unsigned long long limit = toremove == LLONG_MIN ? 0
                               : (unsigned long long)(toremove < 0 ? -toremove : toremove);
    struct quicklist *ql = entry_ql(e);
    long long removed = 0;
    struct ql_iter it;
    ql_iter_at(ql, from_tail ? -1 : 0, !from_tail, &it);
    while (!ql_iter_done(&it)) {
        if (!ql_iter_eq(&it, elem->ptr, elem->len)) {
            ql_iter_next(&it);
            continue;
        }
        ql_iter_delete(&it);
        removed++;
        if (limit && (unsigned long long)removed == limit) break;
    }
    if (removed) after_removal(c, key, ql, "lrem");
    resp_int(&c->out, removed);
}

static void cmd_ltrim(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    long long start, end;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &start) || !arg_get_ll_or_reply(c, &c->argv[3], &end))
        return;
    bool wrong;
    struct dict_entry *e = lookup_list(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_ok(&c->out);
        return;
    }
    struct quicklist *ql = entry_ql(e);
    size_t from, n;
    if (!range_of(start, end, ql_count(ql), &from, &n)) {
        from = 0;
        n = 0;
    }
    size_t count = ql_count(ql);
    ql_delete_range(ql, from + n, count - from - n); /* the tail first: from stays valid */
    ql_delete_range(ql, 0, from);
    after_removal(c, key, ql, "ltrim");
    resp_ok(&c->out);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO and COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define ROW(n, ar, fl, f, l, s, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "list", since, sum, cx, NULL, "" __VA_ARGS__, NULL}
#define L_RD (ACL_READ | ACL_LIST)
#define L_WR (ACL_WRITE | ACL_LIST)
#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define DOOM CMD_DENYOOM
#define PUSH_CX "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."

const struct cmd_def cmd_rows_list[] = {
    ROW("lpush", -3, W | DOOM | F, 1, 1, 1, L_WR | ACL_FAST, cmd_lpush, "1.0.0",
        "Prepend one or multiple elements to a list", PUSH_CX, "RW insert"),
    ROW("rpush", -3, W | DOOM | F, 1, 1, 1, L_WR | ACL_FAST, cmd_rpush, "1.0.0",
        "Append one or multiple elements to a list", PUSH_CX, "RW insert"),
    ROW("lpushx", -3, W | DOOM | F, 1, 1, 1, L_WR | ACL_FAST, cmd_lpushx, "2.2.0",
        "Prepend an element to a list, only if the list exists", PUSH_CX, "RW insert"),
    ROW("rpushx", -3, W | DOOM | F, 1, 1, 1, L_WR | ACL_FAST, cmd_rpushx, "2.2.0",
        "Append an element to a list, only if the list exists", PUSH_CX, "RW insert"),
    ROW("linsert", 5, W | DOOM, 1, 1, 1, L_WR | ACL_SLOW, cmd_linsert, "2.2.0",
        "Insert an element before or after another element in a list",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This "
        "means that inserting somewhere on the left end on the list (head) can be considered O(1) "
        "and inserting somewhere on the right end (tail) is O(N).", "RW insert"),
    ROW("lpop", -2, W | F, 1, 1, 1, L_WR | ACL_FAST, cmd_lpop, "1.0.0",
        "Remove and get the first elements in a list", "O(N) where N is the number of elements returned", "RW access delete"),
    ROW("rpop", -2, W | F, 1, 1, 1, L_WR | ACL_FAST, cmd_rpop, "1.0.0",
        "Remove and get the last elements in a list", "O(N) where N is the number of elements returned", "RW access delete"),
    ROW("lmove", 5, W | DOOM, 1, 2, 1, L_WR | ACL_SLOW, cmd_lmove, "6.2.0",
        "Pop an element from a list, push it to another list and return it", "O(1)", "RW access delete 1, RW insert 2"),
    ROW("rpoplpush", 3, W | DOOM, 1, 2, 1, L_WR | ACL_SLOW, cmd_rpoplpush, "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it", "O(1)", "RW access delete 1, RW insert 2"),
    ROW("lmpop", -4, W, 0, 0, 0, L_WR | ACL_SLOW, cmd_lmpop, "7.0.0", "Pop elements from a list",
        "O(N+M) where N is the number of provided keys and M is the number of elements returned.", "RW access delete #1"),
    ROW("llen", 2, R | F, 1, 1, 1, L_RD | ACL_FAST, cmd_llen, "1.0.0", "Get the length of a list", "O(1)", "RO keymiss"),
    ROW("lindex", 3, R, 1, 1, 1, L_RD | ACL_SLOW, cmd_lindex, "1.0.0",
        "Get an element from a list by its index",
        "O(N) where N is the number of elements to traverse to get to the element at index. This "
        "makes asking for the first or the last element of the list O(1).", "RO access keymiss"),
    ROW("lrange", 4, R, 1, 1, 1, L_RD | ACL_SLOW, cmd_lrange, "1.0.0", "Get a range of elements from a list",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
        "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", "RO access keymiss"),
    ROW("lpos", -3, R, 1, 1, 1, L_RD | ACL_SLOW, cmd_lpos, "6.0.6",
        "Return the index of matching elements on a list",
        "O(N) where N is the number of elements in the list, for the average case. When searching "
        "for elements near the head or the tail of the list, or when the MAXLEN option is provided, "
        "the command may run in constant time.", "RO access keymiss"),
    ROW("lset", 4, W | DOOM, 1, 1, 1, L_WR | ACL_SLOW, cmd_lset, "1.0.0",
        "Set the value of an element in a list by its index",
        "O(N) where N is the length of the list. Setting either the first or the last element of "
        "the list is O(1).", "RW update"),
    ROW("lrem", 4, W, 1, 1, 1, L_WR | ACL_SLOW, cmd_lrem, "1.0.0", "Remove elements from a list",
        "O(N+M) where N is the length of the list and M is the number of elements removed.", "RW delete"),
    ROW("ltrim", 4, W, 1, 1, 1, L_WR | ACL_SLOW, cmd_ltrim, "1.0.0", "Trim a list to the specified range",
        "O(N) where N is the number of elements to be removed by the operation.", "RW delete"),
    CMD_ROWS_END,
};
