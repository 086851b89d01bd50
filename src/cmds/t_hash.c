/* cmds/t_hash.c — the hash commands (HSET, HGET, HINCRBY, HRANDFIELD,
 * HSCAN...) and their rows in the command table. Semantics, reply shapes
 * and error texts follow Redis 7.0's t_hash.c; the type itself is
 * store/hash.c.
 *
 * Writes never leave an empty hash behind: a command that would create the
 * key builds the hash first and stores it only if it holds a field, and a
 * hash emptied by HDEL loses its key.
 *
 * Replies are the same on every replica given the same rng (fields are
 * listed, chosen and scanned by index, never in dict order): a Lua script
 * runs on every node and may write what it read. */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/hash.h"

/* ---------------------------------------------------------------------
 * Lookup and storing
 * ------------------------------------------------------------------- */

/* The hash at argv[1] for reading: NULL if missing (nothing replied) or of
 * another type (WRONGTYPE replied, *wrong set). */
static struct sobj *hash_read(struct cmd_ctx *c, bool *wrong)
{
    struct dict_entry *e = ctx_lookup_type(c, &c->argv[1], OBJ_HASH, wrong);
    return e ? store_value(e) : NULL;
}

/* The hash at argv[1] for writing: the stored one, or a new empty one that
 * hash_close stores only if it ends up holding a field. */
struct hash_write {
    struct sobj *o;
    bool created;
};

static bool hash_open(struct cmd_ctx *c, struct hash_write *w)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return false;
    w->created = o == NULL;
    w->o = o ? o : hash_new();
    return true;
}

static void hash_close(struct cmd_ctx *c, struct hash_write *w, bool changed)
{
    const struct resp_arg *key = &c->argv[1];
    if (w->created) {
        if (hash_len(w->o) > 0) store_set(c->store, c->db, key->ptr, key->len, w->o, false);
        else sobj_free(w->o);
    } else if (hash_len(w->o) == 0) {
        store_delete(c->store, c->db, key->ptr, key->len);
    } else if (changed) {
        store_touch(c->store, c->db, key->ptr, key->len);
    }
}

static void reply_str(struct cmd_ctx *c, const struct hash_str *s)
{
    resp_bulk(&c->out, s->p, s->len);
}

static void reply_field_value(struct cmd_ctx *c, struct sobj *o, const struct resp_arg *f)
{
    struct hash_str v;
    if (o && hash_get(o, f->ptr, f->len, &v)) reply_str(c, &v);
    else resp_null(&c->out);
}

/* ---------------------------------------------------------------------
 * Setting and getting fields
 * ------------------------------------------------------------------- */

static void hset_generic(struct cmd_ctx *c, bool hmset)
{
    if (c->argc % 2 == 1) {
        cmd_reply_arity(&c->out, c->cmd);
        return;
    }
    struct hash_write w;
    if (!hash_open(c, &w)) return;
    long long created = 0;
    for (int j = 2; j < c->argc; j += 2) {
        const struct resp_arg *f = &c->argv[j], *v = &c->argv[j + 1];
        created += hash_set(w.o, f->ptr, f->len, v->ptr, v->len);
    }
    hash_close(c, &w, true);
    ctx_notify(c, NOTIFY_HASH, "hset", &c->argv[1]);
    if (hmset) resp_ok(&c->out);
    else resp_int(&c->out, created);
}

static void cmd_hset(struct cmd_ctx *c) { hset_generic(c, false); }
static void cmd_hmset(struct cmd_ctx *c) { hset_generic(c, true); }

static void cmd_hsetnx(struct cmd_ctx *c)
{
    const struct resp_arg *f = &c->argv[2], *v = &c->argv[3];
    struct hash_write w;
    if (!hash_open(c, &w)) return;
    bool set = !hash_exists(w.o, f->ptr, f->len);
    if (set) hash_set(w.o, f->ptr, f->len, v->ptr, v->len);
    hash_close(c, &w, set);
    if (set) ctx_notify(c, NOTIFY_HASH, "hset", &c->argv[1]);
    resp_int(&c->out, set);
}

static void cmd_hget(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (!wrong) reply_field_value(c, o, &c->argv[2]);
}

static void cmd_hmget(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    resp_array(&c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) reply_field_value(c, o, &c->argv[j]);
}

static void cmd_hdel(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    long long deleted = 0;
    for (int j = 2; o && j < c->argc && hash_len(o) > 0; j++)
        deleted += hash_delete(o, c->argv[j].ptr, c->argv[j].len);
    if (deleted) {
        bool emptied = hash_len(o) == 0;
        struct hash_write w = {o, false};
        hash_close(c, &w, true);
        ctx_notify(c, NOTIFY_HASH, "hdel", &c->argv[1]);
        if (emptied) ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
    resp_int(&c->out, deleted);
}

static void cmd_hlen(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (!wrong) resp_int(&c->out, o ? (long long)hash_len(o) : 0);
}

static void cmd_hstrlen(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    struct hash_str v;
    bool found = o && hash_get(o, c->argv[2].ptr, c->argv[2].len, &v);
    resp_int(&c->out, found ? (long long)v.len : 0);
}

static void cmd_hexists(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (!wrong) resp_int(&c->out, o && hash_exists(o, c->argv[2].ptr, c->argv[2].len));
}

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

static void getall_generic(struct cmd_ctx *c, int want)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    long long n = o ? (long long)hash_len(o) : 0;
    if (want == (WANT_FIELDS | WANT_VALUES)) resp_map(&c->out, n);
    else resp_array(&c->out, n);
    if (o == NULL) return;
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        if (want & WANT_FIELDS) reply_str(c, &f);
        if (want & WANT_VALUES) reply_str(c, &v);
    }
}

static void cmd_hkeys(struct cmd_ctx *c) { getall_generic(c, WANT_FIELDS); }
static void cmd_hvals(struct cmd_ctx *c) { getall_generic(c, WANT_VALUES); }
static void cmd_hgetall(struct cmd_ctx *c) { getall_generic(c, WANT_FIELDS | WANT_VALUES); }

/* ---------------------------------------------------------------------
 * Counters
 * ------------------------------------------------------------------- */

static void cmd_hincrby(struct cmd_ctx *c)
{
    const struct resp_arg *f = &c->argv[2];
    long long incr, value = 0;
    if (!arg_get_ll_or_reply(c, &c->argv[3], &incr)) return;
    struct hash_write w;
    if (!hash_open(c, &w)) return;
    struct hash_str cur;
    if (hash_get(w.o, f->ptr, f->len, &cur) && !str_to_ll(cur.p, cur.len, &value)) {
        hash_close(c, &w, false);
        resp_error(&c->out, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        hash_close(c, &w, false);
        resp_error(&c->out, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    char text[SOBJ_INT_BUF];
    int len = snprintf(text, sizeof text, "%lld", value);
    hash_set(w.o, f->ptr, f->len, text, (size_t)len);
    hash_close(c, &w, true);
    ctx_notify(c, NOTIFY_HASH, "hincrby", &c->argv[1]);
    resp_int(&c->out, value);
}

static void cmd_hincrbyfloat(struct cmd_ctx *c)
{
    const struct resp_arg *f = &c->argv[2];
    long double incr, value = 0;
    if (!arg_to_ld(&c->argv[3], &incr)) {
        resp_error(&c->out, "ERR value is not a valid float");
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        resp_error(&c->out, "ERR value is NaN or Infinity");
        return;
    }
    struct hash_write w;
    if (!hash_open(c, &w)) return;
    struct hash_str cur;
    if (hash_get(w.o, f->ptr, f->len, &cur)) {
        struct resp_arg current = {.ptr = cur.p, .len = cur.len};
        if (!arg_to_ld(&current, &value)) {
            hash_close(c, &w, false);
            resp_error(&c->out, "ERR hash value is not a float");
            return;
        }
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        hash_close(c, &w, false);
        resp_error(&c->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    char text[5120];
    size_t len = format_long_double(text, sizeof text, value);
    hash_set(w.o, f->ptr, f->len, text, len);
    hash_close(c, &w, true);
    ctx_notify(c, NOTIFY_HASH, "hincrbyfloat", &c->argv[1]);
    resp_bulk(&c->out, text, len);
}

/* ---------------------------------------------------------------------
 * HRANDFIELD
 *
 * Fields are chosen by index with c->rng, so that a script (which runs on
 * every node) gets the same fields everywhere.
 * ------------------------------------------------------------------- */

/* Random access to the fields by index: a listpack is walked once into an
 * array, a hashtable is indexed directly. */
struct fields {
    struct sobj *o;
    struct hash_str *pairs; /* listpack: field i at 2i, its value at 2i+1 */
    size_t n;
};

static void fields_open(struct fields *fs, struct sobj *o)
{
    fs->o = o;
    fs->n = hash_len(o);
    fs->pairs = NULL;
    if (o->encoding != ENC_LISTPACK) return;
    fs->pairs = xmalloc(2 * fs->n * sizeof *fs->pairs);
    struct hash_iter it;
    size_t i = 0;
    hash_iter_init(&it, o);
    while (i < fs->n && hash_iter_next(&it, &fs->pairs[2 * i], &fs->pairs[2 * i + 1])) i++;
    assert(i == fs->n);
}

static void fields_close(struct fields *fs) { free(fs->pairs); }

/* Replies field i (and its value). */
static void reply_field_at(struct cmd_ctx *c, struct fields *fs, size_t i, bool withvalues)
{
    assert(i < fs->n);
    struct hash_str f, v;
    const struct hash_str *pf = &f, *pv = &v;
    if (fs->pairs) {
        pf = &fs->pairs[2 * i];
        pv = &fs->pairs[2 * i + 1];
    } else {
        hash_at(fs->o, i, &f, &v);
    }
    if (withvalues && c->out.proto == 3) resp_array(&c->out, 2);
    reply_str(c, pf);
    if (withvalues) reply_str(c, pv);
}

static void reply_pairs_header(struct cmd_ctx *c, uint64_t n, bool withvalues)
{
    resp_array(&c->out, (long long)(withvalues && c->out.proto == 2 ? n * 2 : n));
}

static void hrandfield_count(struct cmd_ctx *c, long long l, bool withvalues)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    uint64_t count = l >= 0 ? (uint64_t)l : -(uint64_t)l;
    if (o == NULL || count == 0) {
        resp_array(&c->out, 0);
        return;
    }
    struct fields fs;
    fields_open(&fs, o);
    if (l < 0 || count == 1) {
        /* Chosen independently: repeats allowed. */
        reply_pairs_header(c, count, withvalues);
        for (uint64_t i = 0; i < count; i++)
            reply_field_at(c, &fs, dict_rand64(&c->rng) % fs.n, withvalues);
    } else if (count >= fs.n) {
        reply_pairs_header(c, fs.n, withvalues);
        for (size_t i = 0; i < fs.n; i++) reply_field_at(c, &fs, i, withvalues);
    } else {
        uint64_t *pick = xmalloc(count * sizeof *pick);
        sample_distinct(&c->rng, fs.n, count, pick);
        reply_pairs_header(c, count, withvalues);
        for (uint64_t i = 0; i < count; i++) reply_field_at(c, &fs, pick[i], withvalues);
        free(pick);
    }
    fields_close(&fs);
}

/* HRANDFIELD key: one random field, or nil. */
static void hrandfield_one(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_null(&c->out);
        return;
    }
    struct hash_str f;
    hash_at(o, dict_rand64(&c->rng) % hash_len(o), &f, NULL);
    reply_str(c, &f);
}

static void cmd_hrandfield(struct cmd_ctx *c)
{
    if (c->argc == 2) {
        hrandfield_one(c);
        return;
    }
    long long l;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &l)) return;
    if (l == LLONG_MIN) {
        resp_errorf(&c->out, "ERR value is out of range, value must between %lld and %lld",
                    -LLONG_MAX, LLONG_MAX);
        return;
    }
    if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3], "withvalues"))) {
        cmd_reply_syntax_error(c);
        return;
    }
    bool withvalues = c->argc == 4;
    if (withvalues && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
        resp_error(&c->out, "ERR value is out of range");
        return;
    }
    if (random_count_ok(c, l)) hrandfield_count(c, l, withvalues);
}

/* ---------------------------------------------------------------------
 * HSCAN
 * ------------------------------------------------------------------- */

static bool scan_match(const struct resp_arg *pattern, const struct hash_str *f)
{
    return pattern == NULL || glob_match(pattern->ptr, pattern->len, f->p, f->len, false);
}

/* A listpack hash is small: everything at once, and cursor 0. */
static void hscan_listpack(struct cmd_ctx *c, struct sobj *o, const struct resp_arg *pattern)
{
    reply_scan_cursor(c, 0);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        if (!scan_match(pattern, &f)) continue;
        reply_str(c, &f);
        reply_str(c, &v);
        n += 2;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

/* A hashtable hash is scanned by field index, downwards (cmd.h's
 * scan_index_window): SCAN's guarantee, and the same replies on every
 * replica. COUNT counts a field and its value as two, as Redis does. */
static void hscan_ht(struct cmd_ctx *c, struct sobj *o, uint64_t cursor, long long count,
                     const struct resp_arg *pattern)
{
    uint64_t fields = count > 1 ? (uint64_t)count / 2 : 1;
    uint64_t top, bottom;
    scan_index_window(cursor, hash_len(o), fields, &top, &bottom);
    reply_scan_cursor(c, bottom);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    for (uint64_t i = top; i-- > bottom;) {
        struct hash_str f, v;
        hash_at(o, i, &f, &v);
        if (!scan_match(pattern, &f)) continue;
        reply_str(c, &f);
        reply_str(c, &v);
        n += 2;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_hscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    if (!arg_to_cursor(&c->argv[2], &cursor)) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    bool wrong;
    struct sobj *o = hash_read(c, &wrong);
    if (wrong) return;
    if (o == NULL) {
        reply_scan_cursor(c, 0);
        resp_array(&c->out, 0);
        return;
    }
    long long count;
    const struct resp_arg *pattern;
    if (!scan_options_or_reply(c, 3, &count, &pattern)) return;
    if (o->encoding == ENC_LISTPACK) hscan_listpack(c, o, pattern);
    else hscan_ht(c, o, cursor, count, pattern);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define DOOM CMD_DENYOOM
#define H_RD (ACL_HASH | ACL_READ)
#define H_WR (ACL_HASH | ACL_WRITE)
#define ROW(n, ar, fl, f, l, s, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "hash", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

const struct cmd_def cmd_rows_hash[] = {
    ROW("hset", -4, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hset, "2.0.0",
        "Set the string value of a hash field",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "RW update"),
    ROW("hsetnx", 4, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hsetnx, "2.0.0",
        "Set the value of a hash field, only if the field does not exist", "O(1)", "RW insert"),
    ROW("hmset", -4, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hmset, "2.0.0",
        "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set.", "RW update"),
    ROW("hget", 3, R | F, 1, 1, 1, H_RD | ACL_FAST, cmd_hget, "2.0.0",
        "Get the value of a hash field", "O(1)", "RO access keymiss"),
    ROW("hmget", -3, R | F, 1, 1, 1, H_RD | ACL_FAST, cmd_hmget, "2.0.0",
        "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested.", "RO access keymiss"),
    ROW("hgetall", 2, R, 1, 1, 1, H_RD | ACL_SLOW, cmd_hgetall, "2.0.0",
        "Get all the fields and values in a hash", "O(N) where N is the size of the hash.", "RO access keymiss"),
    ROW("hdel", -3, W | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hdel, "2.0.0",
        "Delete one or more hash fields",
        "O(N) where N is the number of fields to be removed.", "RW delete"),
    ROW("hexists", 3, R | F, 1, 1, 1, H_RD | ACL_FAST, cmd_hexists, "2.0.0",
        "Determine if a hash field exists", "O(1)", "RO keymiss"),
    ROW("hlen", 2, R | F, 1, 1, 1, H_RD | ACL_FAST, cmd_hlen, "2.0.0",
        "Get the number of fields in a hash", "O(1)", "RO keymiss"),
    ROW("hkeys", 2, R, 1, 1, 1, H_RD | ACL_SLOW, cmd_hkeys, "2.0.0",
        "Get all the fields in a hash", "O(N) where N is the size of the hash.", "RO access keymiss"),
    ROW("hvals", 2, R, 1, 1, 1, H_RD | ACL_SLOW, cmd_hvals, "2.0.0",
        "Get all the values in a hash", "O(N) where N is the size of the hash.", "RO access keymiss"),
    ROW("hstrlen", 3, R | F, 1, 1, 1, H_RD | ACL_FAST, cmd_hstrlen, "3.2.0",
        "Get the length of the value of a hash field", "O(1)", "RO keymiss"),
    ROW("hincrby", 4, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hincrby, "2.0.0",
        "Increment the integer value of a hash field by the given number",
        "O(1)", "RW access update"),
    ROW("hincrbyfloat", 4, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_hincrbyfloat, "2.6.0",
        "Increment the float value of a hash field by the given amount",
        "O(1)", "RW access update"),
    ROW("hrandfield", -2, R | CMD_RANDOM, 1, 1, 1, H_RD | ACL_SLOW, cmd_hrandfield, "6.2.0",
        "Get one or multiple random fields from a hash",
        "O(N) where N is the number of fields returned", "RO access keymiss"),
    ROW("hscan", -3, R, 1, 1, 1, H_RD | ACL_SLOW, cmd_hscan, "2.8.0",
        "Incrementally iterate hash fields and associated values",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "RO access keymiss"),
    CMD_ROWS_END,
};
