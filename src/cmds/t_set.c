/* cmds/t_set.c — the set commands (SADD, SPOP, SINTERSTORE, SSCAN...) and
 * their rows in the command table. Semantics, reply shapes and error texts
 * follow Redis 7.0's t_set.c; the type itself is store/set.c.
 *
 * Determinism: every write that chooses or orders members goes by member
 * index (set_get_at), which is the same on every replica; never by dict
 * order. SPOP picks dict_rand64(&c->rng) % size. The set operations that
 * store their result visit their sources in index order, so the result's
 * own order is replicated too. Replies go by index as well (SMEMBERS,
 * SRANDMEMBER, SSCAN...): with the same rng they are the same on every
 * replica, so a Lua script, which runs on every node, may write what a
 * set command returned. */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/set.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/* The set at key for reading: NULL if missing (nothing replied) or of
 * another type (WRONGTYPE replied, *wrong set). */
static struct sobj *set_lookup(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong)
{
    struct dict_entry *e = ctx_lookup_type(c, key, OBJ_SET, wrong);
    return e ? store_value(e) : NULL;
}

/* After removing members in place: delete the key if the set is empty,
 * otherwise report the change; notifies event, then "del" when the key
 * went, as Redis does. */
static void after_remove(struct cmd_ctx *c, const struct resp_arg *key, struct sobj *o,
                         const char *event)
{
    bool emptied = set_size(o) == 0;
    if (emptied) store_delete(c->store, c->db, key->ptr, key->len);
    else store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_SET, event, key);
    if (emptied) ctx_notify(c, NOTIFY_GENERIC, "del", key);
}

static void reply_member_at(struct cmd_ctx *c, const struct sobj *o, size_t i)
{
    char tmp[SOBJ_INT_BUF];
    size_t len;
    const char *m = set_get_at(o, i, tmp, &len);
    resp_bulk(&c->out, m, len);
}

/* The whole set, in index order, as a RESP3 set. */
static void reply_all(struct cmd_ctx *c, const struct sobj *o)
{
    size_t n = o ? set_size(o) : 0;
    resp_set(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) reply_member_at(c, o, i);
}

/* ---------------------------------------------------------------------
 * Members
 * ------------------------------------------------------------------- */

static void cmd_sadd(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    bool wrong;
    struct sobj *o = set_lookup(c, key, &wrong);
    if (wrong) return;
    bool created = o == NULL;
    if (created) o = set_new_for(c->argv[2].ptr, c->argv[2].len);
    long long added = 0;
    for (int j = 2; j < c->argc; j++) added += set_add(o, c->argv[j].ptr, c->argv[j].len);
    if (created) store_set(c->store, c->db, key->ptr, key->len, o, false);
    else if (added) store_touch(c->store, c->db, key->ptr, key->len);
    if (added) ctx_notify(c, NOTIFY_SET, "sadd", key);
    resp_int(&c->out, added);
}

static void cmd_srem(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long removed = 0;
    for (int j = 2; o && j < c->argc && set_size(o) > 0; j++)
        removed += set_remove(o, c->argv[j].ptr, c->argv[j].len);
    if (removed) after_remove(c, &c->argv[1], o, "srem");
    resp_int(&c->out, removed);
}

static void cmd_smove(struct cmd_ctx *c)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2], *m = &c->argv[3];
    struct dict_entry *se = ctx_lookup(c, src), *de = ctx_lookup(c, dst);
    if (se == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    struct sobj *from = store_value(se), *to = de ? store_value(de) : NULL;
    if (from->type != OBJ_SET || (to && to->type != OBJ_SET)) {
        cmd_reply_wrongtype(c);
        return;
    }
    if (from == to) {
        resp_int(&c->out, set_contains(from, m->ptr, m->len));
        return;
    }
    if (!set_remove(from, m->ptr, m->len)) {
        resp_int(&c->out, 0);
        return;
    }
    after_remove(c, src, from, "srem");
    if (to == NULL) {
        to = set_new_for(m->ptr, m->len);
        set_add(to, m->ptr, m->len);
        store_set(c->store, c->db, dst->ptr, dst->len, to, false);
        ctx_notify(c, NOTIFY_SET, "sadd", dst);
    } else if (set_add(to, m->ptr, m->len)) {
        store_touch(c->store, c->db, dst->ptr, dst->len);
        ctx_notify(c, NOTIFY_SET, "sadd", dst);
    }
    resp_int(&c->out, 1);
}

static void cmd_sismember(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (!wrong) resp_int(&c->out, o && set_contains(o, c->argv[2].ptr, c->argv[2].len));
}

static void cmd_smismember(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_array(&c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        resp_int(&c->out, o && set_contains(o, c->argv[j].ptr, c->argv[j].len));
}

static void cmd_scard(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (!wrong) resp_int(&c->out, o ? (long long)set_size(o) : 0);
}

static void cmd_smembers(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (!wrong) reply_all(c, o);
}

/* ---------------------------------------------------------------------
 * SPOP and SRANDMEMBER
 * ------------------------------------------------------------------- */

static void spop_count(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    long long l;
    if (!arg_to_ll(&c->argv[2], &l) || l < 0) {
        resp_error(&c->out, "ERR value is out of range, must be positive");
        return;
    }
    bool wrong;
    struct sobj *o = set_lookup(c, key, &wrong);
    if (wrong) return;
    if (o == NULL || l == 0) {
        resp_set(&c->out, 0);
        return;
    }
    size_t count = (size_t)l;
    ctx_notify(c, NOTIFY_SET, "spop", key);
    if (count >= set_size(o)) {
        reply_all(c, o);
        store_delete(c->store, c->db, key->ptr, key->len);
        ctx_notify(c, NOTIFY_GENERIC, "del", key);
        return;
    }
    resp_set(&c->out, (long long)count);
    for (size_t i = 0; i < count; i++) {
        size_t at = dict_rand64(&c->rng) % set_size(o);
        reply_member_at(c, o, at);
        set_remove_at(o, at);
    }
    store_touch(c->store, c->db, key->ptr, key->len);
}

static void cmd_spop(struct cmd_ctx *c)
{
    if (c->argc == 3) {
        spop_count(c);
        return;
    }
    if (c->argc > 3) {
        cmd_reply_syntax_error(c);
        return;
    }
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_null(&c->out);
        return;
    }
    size_t at = dict_rand64(&c->rng) % set_size(o);
    reply_member_at(c, o, at);
    set_remove_at(o, at);
    after_remove(c, &c->argv[1], o, "spop");
}

static void srandmember_count(struct cmd_ctx *c)
{
    long long l;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &l)) return;
    if (l == LLONG_MIN) {
        resp_errorf(&c->out, "ERR value is out of range, value must between %lld and %lld",
                    -LLONG_MAX, LLONG_MAX);
        return;
    }
    if (!random_count_ok(c, l)) return;
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    uint64_t count = l >= 0 ? (uint64_t)l : (uint64_t)-l;
    if (o == NULL || count == 0) {
        resp_array(&c->out, 0);
        return;
    }
    uint64_t size = set_size(o);
    if (l < 0 || count == 1) {
        resp_array(&c->out, (long long)count);
        for (uint64_t i = 0; i < count; i++) reply_member_at(c, o, dict_rand64(&c->rng) % size);
        return;
    }
    if (count >= size) {
        resp_array(&c->out, (long long)size);
        for (uint64_t i = 0; i < size; i++) reply_member_at(c, o, i);
        return;
    }
    uint64_t *pick = xmalloc(count * sizeof *pick);
    sample_distinct(&c->rng, size, count, pick);
    resp_array(&c->out, (long long)count);
    for (uint64_t i = 0; i < count; i++) reply_member_at(c, o, pick[i]);
    free(pick);
}

static void cmd_srandmember(struct cmd_ctx *c)
{
    if (c->argc == 3) {
        srandmember_count(c);
        return;
    }
    if (c->argc > 3) {
        cmd_reply_syntax_error(c);
        return;
    }
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) resp_null(&c->out);
    else reply_member_at(c, o, dict_rand64(&c->rng) % set_size(o));
}

/* ---------------------------------------------------------------------
 * Set algebra
 * ------------------------------------------------------------------- */

/* The sets at keys[0..n) (NULL for a missing key). False, with WRONGTYPE
 * replied, if a key holds another type. */
static bool lookup_sets(struct cmd_ctx *c, const struct resp_arg *keys, int n, struct sobj **sets)
{
    for (int j = 0; j < n; j++) {
        bool wrong;
        sets[j] = set_lookup(c, &keys[j], &wrong);
        if (wrong) return false;
    }
    return true;
}

/* Stores a computed set at dst (or deletes dst when it is empty) and
 * replies its size, as the *STORE commands do. */
static void store_result(struct cmd_ctx *c, const struct resp_arg *dst, struct sobj *result)
{
    size_t n = set_size(result);
    /* The event is the command's name: sinterstore, sunionstore, sdiffstore. */
    if (n > 0) {
        store_set(c->store, c->db, dst->ptr, dst->len, result, false);
        ctx_notify(c, NOTIFY_SET, c->cmd->name, dst);
    } else {
        sobj_free(result);
        if (store_delete(c->store, c->db, dst->ptr, dst->len))
            ctx_notify(c, NOTIFY_GENERIC, "del", dst);
    }
    resp_int(&c->out, (long long)n);
}

/* Index order of sets by ascending size; ties keep argument order. */
static void order_by_size(struct sobj **sets, int n)
{
    for (int i = 1; i < n; i++) {
        struct sobj *s = sets[i];
        int j = i;
        while (j > 0 && set_size(sets[j - 1]) > set_size(s)) {
            sets[j] = sets[j - 1];
            j--;
        }
        sets[j] = s;
    }
}

static bool in_all_others(struct sobj **sets, int n, const char *m, size_t len)
{
    for (int j = 1; j < n; j++) {
        if (sets[j] == sets[0]) continue;
        if (!set_contains(sets[j], m, len)) return false;
    }
    return true;
}

enum inter_mode { INTER_REPLY, INTER_STORE, INTER_CARD };

/* SINTER, SINTERSTORE (into dst) and SINTERCARD (stopping at limit unless
 * it is 0): walks the smallest set in index order and keeps the members
 * found in every other set. A stored result starts as an intset, as in
 * Redis 7.0, and converts as members are added. */
static void sinter_generic(struct cmd_ctx *c, const struct resp_arg *keys, int n,
                           enum inter_mode mode, const struct resp_arg *dst, long long limit)
{
    struct sobj **sets = xmalloc((size_t)n * sizeof *sets);
    if (!lookup_sets(c, keys, n, sets)) {
        free(sets);
        return;
    }
    bool empty = false;
    for (int j = 0; j < n; j++) empty |= sets[j] == NULL;
    struct sobj *result = mode == INTER_STORE ? set_new_intset() : NULL;
    size_t handle = mode == INTER_REPLY ? resp_defer_len(&c->out) : 0;
    long long found = 0;
    if (!empty) {
        order_by_size(sets, n);
        for (size_t i = 0; i < set_size(sets[0]); i++) {
            char tmp[SOBJ_INT_BUF];
            size_t len;
            const char *m = set_get_at(sets[0], i, tmp, &len);
            if (!in_all_others(sets, n, m, len)) continue;
            found++;
            if (mode == INTER_STORE) set_add(result, m, len);
            else if (mode == INTER_REPLY) resp_bulk(&c->out, m, len);
            else if (limit && found == limit) break;
        }
    }
    free(sets);
    if (mode == INTER_REPLY) resp_set_deferred_len(&c->out, handle, '~', found);
    else if (mode == INTER_STORE) store_result(c, dst, result);
    else resp_int(&c->out, found);
}

static void cmd_sinter(struct cmd_ctx *c)
{
    sinter_generic(c, c->argv + 1, c->argc - 1, INTER_REPLY, NULL, 0);
}

static void cmd_sinterstore(struct cmd_ctx *c)
{
    sinter_generic(c, c->argv + 2, c->argc - 2, INTER_STORE, &c->argv[1], 0);
}

static void cmd_sintercard(struct cmd_ctx *c)
{
    long long numkeys, limit = 0;
    if (!arg_to_ll(&c->argv[1], &numkeys) || numkeys < 1) {
        resp_error(&c->out, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        resp_error(&c->out, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "limit") && j + 1 < c->argc) {
            j++;
            if (!arg_to_ll(&c->argv[j], &limit) || limit < 0) {
                resp_error(&c->out, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    sinter_generic(c, c->argv + 2, (int)numkeys, INTER_CARD, NULL, limit);
}

/* Adds (or removes) every member of src to result, in src's index order. */
static void add_all(struct sobj *result, const struct sobj *src)
{
    for (size_t i = 0; i < set_size(src); i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(src, i, tmp, &len);
        set_add(result, m, len);
    }
}

static void remove_all(struct sobj *result, const struct sobj *src)
{
    for (size_t i = 0; i < set_size(src) && set_size(result) > 0; i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(src, i, tmp, &len);
        set_remove(result, m, len);
    }
}

/* Redis's DIFF algorithm 1: the members of sets[0] found in no other set. */
static void diff_by_lookup(struct sobj *result, struct sobj **sets, int n)
{
    for (size_t i = 0; i < set_size(sets[0]); i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(sets[0], i, tmp, &len);
        int j = 1;
        while (j < n && (sets[j] == NULL || !set_contains(sets[j], m, len))) j++;
        if (j == n) set_add(result, m, len);
    }
}

/* Redis's DIFF algorithm 2: sets[0], then every other set taken away. */
static void diff_by_removal(struct sobj *result, struct sobj **sets, int n)
{
    add_all(result, sets[0]);
    for (int j = 1; j < n && set_size(result) > 0; j++)
        if (sets[j]) remove_all(result, sets[j]);
}

/* The difference, choosing Redis 7.0's algorithm by the same estimate:
 * the result's encoding depends on it (algorithm 2 may add a non-integer
 * that it then removes, leaving a hashtable). */
static void diff(struct sobj *result, struct sobj **sets, int n)
{
    if (sets[0] == NULL) return;
    long long by_lookup = 0, by_removal = 0;
    for (int j = 0; j < n; j++) {
        if (sets[j] == NULL) continue;
        if (j > 0 && sets[j] == sets[0]) return; /* X - X - ... is empty */
        by_lookup += (long long)set_size(sets[0]);
        by_removal += (long long)set_size(sets[j]);
    }
    if (by_lookup / 2 <= by_removal) diff_by_lookup(result, sets, n);
    else diff_by_removal(result, sets, n);
}

static void sunion_diff_generic(struct cmd_ctx *c, const struct resp_arg *keys, int n,
                                const struct resp_arg *dst, bool is_diff)
{
    struct sobj **sets = xmalloc((size_t)n * sizeof *sets);
    if (!lookup_sets(c, keys, n, sets)) {
        free(sets);
        return;
    }
    struct sobj *result = set_new_intset();
    if (is_diff) {
        diff(result, sets, n);
    } else {
        for (int j = 0; j < n; j++)
            if (sets[j]) add_all(result, sets[j]);
    }
    free(sets);
    if (dst) {
        store_result(c, dst, result);
    } else {
        reply_all(c, result);
        sobj_free(result);
    }
}

static void cmd_sunion(struct cmd_ctx *c)
{
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, false);
}

static void cmd_sunionstore(struct cmd_ctx *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], false);
}

static void cmd_sdiff(struct cmd_ctx *c)
{
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, true);
}

static void cmd_sdiffstore(struct cmd_ctx *c)
{
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], true);
}

/* ---------------------------------------------------------------------
 * SSCAN
 * ------------------------------------------------------------------- */

static bool scan_match(const struct resp_arg *pattern, const char *m, size_t len)
{
    return pattern == NULL || glob_match(pattern->ptr, pattern->len, m, len, false);
}

/* An intset is small: everything at once, and cursor 0. */
static void sscan_intset(struct cmd_ctx *c, const struct sobj *o, const struct resp_arg *pattern)
{
    reply_scan_cursor(c, 0);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    for (size_t i = 0; i < set_size(o); i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(o, i, tmp, &len);
        if (!scan_match(pattern, m, len)) continue;
        resp_bulk(&c->out, m, len);
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

/* A hashtable set is scanned by member index, downwards (cmd.h's
 * scan_index_window): SCAN's guarantee, and unlike a dict scan the same
 * replies on every replica (a script that writes what SSCAN returned stays
 * deterministic). */
static void sscan_ht(struct cmd_ctx *c, const struct sobj *o, uint64_t cursor, long long count,
                     const struct resp_arg *pattern)
{
    uint64_t top, bottom;
    scan_index_window(cursor, set_size(o), (uint64_t)count, &top, &bottom);
    reply_scan_cursor(c, bottom);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    for (uint64_t i = top; i-- > bottom;) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(o, i, tmp, &len);
        if (!scan_match(pattern, m, len)) continue;
        resp_bulk(&c->out, m, len);
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_sscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    if (!arg_to_cursor(&c->argv[2], &cursor)) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    bool wrong;
    struct sobj *o = set_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        reply_scan_cursor(c, 0);
        resp_array(&c->out, 0);
        return;
    }
    long long count;
    const struct resp_arg *pattern;
    if (!scan_options_or_reply(c, 3, &count, &pattern)) return;
    if (o->encoding == ENC_INTSET) sscan_intset(c, o, pattern);
    else sscan_ht(c, o, cursor, count, pattern);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define DOOM CMD_DENYOOM
#define S_RD (ACL_SET | ACL_READ)
#define S_WR (ACL_SET | ACL_WRITE)
#define ROW(n, ar, fl, f, l, s, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "set", since, sum, cx, NULL, "" __VA_ARGS__, NULL}
#define SCAN_CX "O(1) for every call. O(N) for a complete iteration, including enough command calls " \
    "for the cursor to return back to 0. N is the number of elements inside the collection.."
#define ALL_CX "O(N) where N is the total number of elements in all given sets."
#define INTER_CX "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."

const struct cmd_def cmd_rows_set[] = {
    ROW("sadd", -3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_sadd, "1.0.0",
        "Add one or more members to a set",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "RW insert"),
    ROW("srem", -3, W | F, 1, 1, 1, S_WR | ACL_FAST, cmd_srem, "1.0.0",
        "Remove one or more members from a set", "O(N) where N is the number of members to be removed.", "RW delete"),
    ROW("smembers", 2, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_smembers, "1.0.0",
        "Get all the members in a set", "O(N) where N is the set cardinality.", "RO access keymiss"),
    ROW("sismember", 3, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_sismember, "1.0.0",
        "Determine if a given value is a member of a set", "O(1)", "RO keymiss"),
    ROW("smismember", -3, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_smismember, "6.2.0",
        "Returns the membership associated with the given elements for a set",
        "O(N) where N is the number of elements being checked for membership", "RO access keymiss"),
    ROW("scard", 2, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_scard, "1.0.0",
        "Get the number of members in a set", "O(1)", "RO keymiss"),
    ROW("spop", -2, W | F | CMD_RANDOM, 1, 1, 1, S_WR | ACL_FAST, cmd_spop, "1.0.0",
        "Remove and return one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "RW access delete"),
    ROW("srandmember", -2, R | CMD_RANDOM, 1, 1, 1, S_RD | ACL_SLOW, cmd_srandmember, "1.0.0",
        "Get one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "RO access keymiss"),
    ROW("smove", 4, W | F, 1, 2, 1, S_WR | ACL_FAST, cmd_smove, "1.0.0",
        "Move a member from one set to another", "O(1)", "RW access delete 1, RW insert 2"),
    ROW("sinter", -2, R, 1, -1, 1, S_RD | ACL_SLOW, cmd_sinter, "1.0.0",
        "Intersect multiple sets", INTER_CX, "RO access keymiss"),
    ROW("sunion", -2, R, 1, -1, 1, S_RD | ACL_SLOW, cmd_sunion, "1.0.0",
        "Add multiple sets", ALL_CX, "RO access keymiss"),
    ROW("sdiff", -2, R, 1, -1, 1, S_RD | ACL_SLOW, cmd_sdiff, "1.0.0",
        "Subtract multiple sets", ALL_CX, "RO access keymiss"),
    ROW("sinterstore", -3, W | DOOM, 1, -1, 1, S_WR | ACL_SLOW, cmd_sinterstore, "1.0.0",
        "Intersect multiple sets and store the resulting set in a key", INTER_CX, "RW update 1, RO access keymiss 2.."),
    ROW("sunionstore", -3, W | DOOM, 1, -1, 1, S_WR | ACL_SLOW, cmd_sunionstore, "1.0.0",
        "Add multiple sets and store the resulting set in a key", ALL_CX, "OW update 1, RO access keymiss 2.."),
    ROW("sdiffstore", -3, W | DOOM, 1, -1, 1, S_WR | ACL_SLOW, cmd_sdiffstore, "1.0.0",
        "Subtract multiple sets and store the resulting set in a key", ALL_CX, "OW update 1, RO access keymiss 2.."),
    ROW("sintercard", -3, R, 0, 0, 0, S_RD | ACL_SLOW, cmd_sintercard, "7.0.0",
        "Intersect multiple sets and return the cardinality of the result", INTER_CX, "RO access keymiss #1"),
    ROW("sscan", -3, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_sscan, "2.8.0",
        "Incrementally iterate Set elements", SCAN_CX, "RO access keymiss"),
    CMD_ROWS_END,
};
