/* cmds/sort.c — SORT and SORT_RO: the elements of a list, set or sorted
 * set, sorted as numbers or (ALPHA) as strings, by themselves or by the
 * values of other keys (BY pattern), cut (LIMIT), each replaced by the
 * values of other keys (GET pattern), returned or stored as a list (STORE).
 * Semantics and error texts follow Redis 7.0's documentation of SORT.
 *
 * Deterministic on every replica: elements equal under the comparison keep
 * the order they were loaded in (a stable merge sort where Redis uses
 * qsort, whose order for ties is unspecified), and strings compare as
 * bytes (Redis's strcoll in the C locale). A set sorted with BY and no
 * `*` (no sorting asked) is sorted ALPHA when the result is stored or the
 * caller is a script, as Redis does. The work is bounded by the elements
 * of the key and the number of GET patterns. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/hash.h"
#include "store/list.h"
#include "store/quicklist.h"
#include "store/set.h"
#include "store/zset.h"

/* An element being sorted: offsets into the sort's byte buffer. */
struct sort_item {
    size_t at, len;          /* the element */
    size_t by_at, by_len;    /* its BY value (ALPHA) */
    bool has_by;
    double score;            /* its weight (numeric sort) */
};

struct sort_opts {
    bool desc, alpha, dontsort;
    long long limit_start, limit_count; /* -1: no LIMIT */
    const struct resp_arg *by;          /* NULL: the elements themselves */
    const struct resp_arg *store;       /* NULL: reply */
    const struct resp_arg **gets;
    int n_gets;
};

/* A pattern's value for one element: "#" is the element itself; otherwise
 * the first `*` is replaced by the element and the key read (a string), or,
 * with "->field" after the `*`, that field of the hash. Appends the bytes
 * to `bytes` and returns true, or false when there is no such value. */
static bool pattern_value(struct cmd_ctx *c, const struct resp_arg *pat, const char *elem,
                          size_t elen, struct buf *bytes)
{
    if (pat->len == 1 && pat->ptr[0] == '#') {
        buf_append(bytes, elem, elen);
        return true;
    }
    const char *star = memchr(pat->ptr, '*', pat->len);
    if (star == NULL) return false;
    const char *end = pat->ptr + pat->len, *field = NULL;
    size_t field_len = 0;
    for (const char *f = star + 1; f + 1 < end; f++) {
        if (f[0] == '-' && f[1] == '>') {
            if (f + 2 < end) {
                field = f + 2;
                field_len = (size_t)(end - field);
            }
            break;
        }
    }
    const char *post = star + 1;
    size_t post_len = (size_t)((field ? field - 2 : end) - post);
    struct buf key = BUF_INIT;
    buf_append(&key, pat->ptr, (size_t)(star - pat->ptr));
    buf_append(&key, elem, elen);
    buf_append(&key, post, post_len);
    struct resp_arg k = {key.data ? key.data : "", key.len};
    struct dict_entry *e = ctx_lookup(c, &k);
    bool found = false;
    if (e) {
        struct sobj *o = store_value(e);
        if (field && o->type == OBJ_HASH) {
            struct hash_str v;
            if (hash_get(o, field, field_len, &v)) {
                buf_append(bytes, v.p, v.len);
                found = true;
            }
        } else if (!field && o->type == OBJ_STRING) {
            char tmp[SOBJ_INT_BUF];
            size_t len;
            const char *p = sobj_str(o, tmp, &len);
            buf_append(bytes, p, len);
            found = true;
        }
    }
    buf_free(&key);
    return found;
}

/* SORT's options from argv[2]; replies and returns false on a bad one. */
static bool parse_opts(struct cmd_ctx *c, bool read_only, struct sort_opts *o)
{
    *o = (struct sort_opts){.limit_start = 0, .limit_count = -1};
    o->gets = xmalloc((size_t)c->argc * sizeof *o->gets);
    for (int j = 2; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        int left = c->argc - j - 1;
        if (arg_is(a, "asc")) {
            o->desc = false;
        } else if (arg_is(a, "desc")) {
            o->desc = true;
        } else if (arg_is(a, "alpha")) {
            o->alpha = true;
        } else if (arg_is(a, "limit") && left >= 2) {
            if (!arg_get_ll_or_reply(c, &c->argv[j + 1], &o->limit_start) ||
                !arg_get_ll_or_reply(c, &c->argv[j + 2], &o->limit_count))
                return false;
            j += 2;
        } else if (arg_is(a, "store") && left >= 1 && !read_only) {
            o->store = &c->argv[++j];
        } else if (arg_is(a, "by") && left >= 1) {
            o->by = &c->argv[++j];
            /* A pattern without `*` names no key per element: no sorting. */
            if (memchr(o->by->ptr, '*', o->by->len) == NULL) o->dontsort = true;
        } else if (arg_is(a, "get") && left >= 1) {
            o->gets[o->n_gets++] = &c->argv[++j];
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    return true;
}

/* Redis's numeric reading of a weight: strtod over the whole string (an
 * empty one is 0), not NaN, in range. */
static bool weight_of(const char *p, size_t len, double *out)
{
    char tmp[128];
    char *copy = len < sizeof tmp ? tmp : xmalloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(copy, &end);
    bool ok = end == copy + len && errno != ERANGE && !isnan(v);
    if (copy != tmp) free(copy);
    *out = v;
    return ok;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r) return r;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

struct sort_ctx {
    const struct sort_opts *o;
    const char *bytes;
};

static int item_cmp(const struct sort_ctx *s, const struct sort_item *x, const struct sort_item *y)
{
    int r;
    if (!s->o->alpha) {
        r = x->score > y->score ? 1 : x->score < y->score ? -1 : 0;
        if (r == 0) r = bytes_cmp(s->bytes + x->at, x->len, s->bytes + y->at, y->len);
    } else if (s->o->by) {
        if (!x->has_by || !y->has_by) r = x->has_by == y->has_by ? 0 : x->has_by ? 1 : -1;
        else r = bytes_cmp(s->bytes + x->by_at, x->by_len, s->bytes + y->by_at, y->by_len);
    } else {
        r = bytes_cmp(s->bytes + x->at, x->len, s->bytes + y->at, y->len);
    }
    return s->o->desc ? -r : r;
}

/* A stable merge sort of v[0..n) (tmp: room for n items). */
static void merge_sort(const struct sort_ctx *s, struct sort_item *v, struct sort_item *tmp, size_t n)
{
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(s, v, tmp, h);
    merge_sort(s, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = item_cmp(s, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static void add_item(struct buf *bytes, struct sort_item **v, size_t *n, size_t *cap, const char *p,
                     size_t len)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = (struct sort_item){.at = bytes->len, .len = len};
    buf_append(bytes, p, len);
}

static void sort_generic(struct cmd_ctx *c, bool read_only)
{
    struct sort_opts o;
    struct buf bytes = BUF_INIT, out_bytes = BUF_INIT;
    struct sort_item *v = NULL, *tmp = NULL;
    size_t n = 0, cap = 0;
    struct { size_t at, len; bool found; } *outs = NULL;
    if (!parse_opts(c, read_only, &o)) goto done;

    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    struct sobj *val = e ? store_value(e) : NULL;
    if (val && val->type != OBJ_LIST && val->type != OBJ_SET && val->type != OBJ_ZSET) {
        cmd_reply_wrongtype(c);
        goto done;
    }
    /* A set has no order of its own to return: sort it when the answer
     * must not depend on the node's hashing (stored, or seen by a script). */
    if (o.dontsort && val && val->type == OBJ_SET && (o.store || c->in_script)) {
        o.dontsort = false;
        o.alpha = true;
        o.by = NULL;
    }
    long long total = 0;
    if (val && val->type == OBJ_LIST) total = (long long)ql_count(list_ql(val));
    else if (val && val->type == OBJ_SET) total = (long long)set_size(val);
    else if (val) total = (long long)zset_length(val);

    long long start = o.limit_start < 0 ? 0 : o.limit_start, end;
    if (start >= total) {
        start = total - 1;
        end = total - 2;
    } else {
        end = o.limit_count < 0 || o.limit_count > total ? total - 1 : start + o.limit_count - 1;
        if (end >= total) end = total - 1;
    }

    if (val && val->type == OBJ_LIST) {
        struct ql_iter it;
        if (ql_iter_at(list_ql(val), 0, true, &it)) {
            for (; !ql_iter_done(&it); ql_iter_next(&it)) {
                struct lp_value lv;
                ql_iter_get(&it, &lv);
                char num[SOBJ_INT_BUF];
                size_t len = lv.len;
                const char *p = lv.p;
                if (p == NULL) {
                    len = (size_t)snprintf(num, sizeof num, "%lld", lv.i);
                    p = num;
                }
                add_item(&bytes, &v, &n, &cap, p, len);
            }
        }
    } else if (val && val->type == OBJ_SET) {
        for (size_t i = 0; i < set_size(val); i++) {
            char num[SOBJ_INT_BUF];
            size_t len;
            const char *p = set_get_at(val, i, num, &len);
            add_item(&bytes, &v, &n, &cap, p, len);
        }
    } else if (val && o.dontsort) {
        /* A sorted set keeps its own order (reversed by DESC), and LIMIT
         * takes its range directly. */
        if (start <= end) {
            struct zset_it it;
            zset_it_at_rank(&it, val, o.desc ? (size_t)(total - 1 - start) : (size_t)start);
            for (long long i = start; i <= end && zset_it_valid(&it); i++) {
                struct zset_elem ze;
                zset_it_get(&it, &ze);
                add_item(&bytes, &v, &n, &cap, ze.m, ze.mlen);
                if (o.desc) zset_it_prev(&it);
                else zset_it_next(&it);
            }
        }
        end -= start;
        start = 0;
    } else if (val) {
        for (size_t i = 0; i < (size_t)total; i++) {
            struct zset_elem ze;
            zset_get_at(val, i, &ze);
            add_item(&bytes, &v, &n, &cap, ze.m, ze.mlen);
        }
    }

    if (!o.dontsort) {
        for (size_t i = 0; i < n; i++) {
            struct sort_item *it = &v[i];
            if (o.by) {
                size_t at = bytes.len;
                /* bytes may move as it grows: copy the element out first */
                char *elem = xmemdup(bytes.data + it->at, it->len);
                bool found = pattern_value(c, o.by, elem, it->len, &bytes);
                free(elem);
                if (!found) continue; /* no weight: 0, or first under ALPHA */
                it->has_by = true;
                it->by_at = at;
                it->by_len = bytes.len - at;
                if (!o.alpha && !weight_of(bytes.data + at, it->by_len, &it->score)) {
                    resp_error(&c->out, "ERR One or more scores can't be converted into double");
                    goto done;
                }
            } else if (!o.alpha && !weight_of(bytes.data + it->at, it->len, &it->score)) {
                resp_error(&c->out, "ERR One or more scores can't be converted into double");
                goto done;
            }
        }
        tmp = xmalloc((n ? n : 1) * sizeof *tmp);
        struct sort_ctx sc = {&o, bytes.data};
        merge_sort(&sc, v, tmp, n);
    }

    long long count = end >= start ? end - start + 1 : 0;
    long long outlen = o.n_gets ? count * o.n_gets : count;
    outs = xmalloc((size_t)(outlen ? outlen : 1) * sizeof *outs);
    long long k = 0;
    for (long long i = start; i <= end; i++) {
        const struct sort_item *it = &v[i];
        if (o.n_gets == 0) {
            outs[k].at = out_bytes.len;
            buf_append(&out_bytes, bytes.data + it->at, it->len);
            outs[k].len = it->len;
            outs[k++].found = true;
            continue;
        }
        for (int g = 0; g < o.n_gets; g++) {
            outs[k].at = out_bytes.len;
            outs[k].found = pattern_value(c, o.gets[g], bytes.data + it->at, it->len, &out_bytes);
            outs[k].len = out_bytes.len - outs[k].at;
            k++;
        }
    }

    if (o.store == NULL) {
        resp_array(&c->out, outlen);
        for (long long i = 0; i < outlen; i++) {
            if (outs[i].found) resp_bulk(&c->out, out_bytes.data + outs[i].at, outs[i].len);
            else resp_null(&c->out);
        }
    } else {
        if (outlen > 0) {
            struct sobj *list = list_new();
            for (long long i = 0; i < outlen; i++)
                ql_push(list_ql(list), false, outs[i].found ? out_bytes.data + outs[i].at : "",
                        outs[i].found ? outs[i].len : 0);
            store_set(c->store, c->db, o.store->ptr, o.store->len, list, false);
            ctx_notify(c, NOTIFY_LIST, "sortstore", o.store);
        } else if (store_delete(c->store, c->db, o.store->ptr, o.store->len)) {
            ctx_notify(c, NOTIFY_GENERIC, "del", o.store);
        }
        resp_int(&c->out, outlen);
    }
done:
    free(o.gets);
    free(v);
    free(tmp);
    free(outs);
    buf_free(&bytes);
    buf_free(&out_bytes);
}

static void cmd_sort(struct cmd_ctx *c) { sort_generic(c, false); }
static void cmd_sort_ro(struct cmd_ctx *c) { sort_generic(c, true); }

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define SORT_CX \
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the " \
    "number of returned elements. When the elements are not sorted, complexity is O(N)."

const struct cmd_def cmd_rows_sort[] = {
    {"sort", -2, CMD_WRITE | CMD_DENYOOM | CMD_PATTERN_KEYS, 1, 1, 1,
     ACL_WRITE | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS, cmd_sort, "generic",
     "1.0.0", "Sort the elements in a list, set or sorted set", SORT_CX, NULL,
     "RO access keymiss 1, OW update STORE@2/1", NULL},
    {"sort_ro", -2, CMD_READONLY | CMD_PATTERN_KEYS, 1, 1, 1,
     ACL_READ | ACL_SET | ACL_SORTEDSET | ACL_LIST | ACL_SLOW | ACL_DANGEROUS, cmd_sort_ro, "generic",
     "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", SORT_CX,
     NULL, "RO access keymiss 1", NULL},
    CMD_ROWS_END,
};
