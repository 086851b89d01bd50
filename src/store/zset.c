/* store/zset.c — sorted sets (see zset.h): the listpack and skiplist
 * encodings, conversions between them, rank and range queries, and the
 * type's free/dup/memory/digest/snapshot operations. */
#include "store/zset.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "store/dict.h"
#include "store/dset.h"
#include "store/encoding.h"
#include "store/listpack.h"

/* ---------------------------------------------------------------------
 * Members and scores
 * ------------------------------------------------------------------- */

/* Binary-safe order of members: bytes, then length (Redis's sdscmp). */
static int member_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Redis's double2ll: d is integral and within +-2^62. -0 gives 0. */
static bool double_to_ll(double d, long long *out)
{
    if (!(d >= (double)(-LLONG_MAX / 2) && d <= (double)(LLONG_MAX / 2))) return false;
    long long ll = (long long)d;
    if ((double)ll != d) return false;
    *out = ll;
    return true;
}

size_t zset_format_double(double d, char *buf)
{
    if (isinf(d)) {
        strcpy(buf, d > 0 ? "inf" : "-inf");
        return strlen(buf);
    }
    int n = snprintf(buf, 32, "%.17g", d);
    assert(n > 0 && n < 32);
    return (size_t)n;
}

/* The text a listpack keeps for a score (Redis's zzlInsertAt). */
static size_t lp_score_text(double d, char *buf)
{
    assert(!isnan(d));
    long long ll;
    if (double_to_ll(d, &ll)) return (size_t)snprintf(buf, 32, "%lld", ll);
    return zset_format_double(d, buf);
}

/* ---------------------------------------------------------------------
 * Listpack encoding: member, score, member, score, ...
 * ------------------------------------------------------------------- */

static double lp_score_at(const unsigned char *lp, size_t pos)
{
    struct lp_value v;
    lp_get(lp, pos, &v);
    if (v.p == NULL) return (double)v.i;
    char tmp[64];
    size_t n = v.len < sizeof tmp - 1 ? v.len : sizeof tmp - 1;
    memcpy(tmp, v.p, n);
    tmp[n] = '\0';
    return strtod(tmp, NULL);
}

static void lp_elem(const unsigned char *lp, size_t pos, struct zset_elem *e)
{
    e->m = lp_get_str(lp, pos, e->buf, &e->mlen);
    e->score = lp_score_at(lp, lp_next(lp, pos));
}

static size_t lp_next_pair(const unsigned char *lp, size_t pos)
{
    size_t spos = lp_next(lp, pos);
    assert(spos != 0);
    return lp_next(lp, spos);
}

static size_t lp_prev_pair(const unsigned char *lp, size_t pos)
{
    size_t spos = lp_prev(lp, pos);
    return spos ? lp_prev(lp, spos) : 0;
}

static size_t lp_length(const unsigned char *lp) { return lp_count(lp) / 2; }

static size_t lp_find_member(const unsigned char *lp, const char *m, size_t mlen)
{
    size_t first = lp_first(lp);
    return first ? lp_find(lp, first, m, mlen, 1) : 0;
}

/* Inserts (m, score) before the member at pos (0: at the end). */
static unsigned char *lp_insert_at(unsigned char *lp, size_t pos, const char *m, size_t mlen,
                                   double score)
{
    char text[32];
    size_t tlen = lp_score_text(score, text);
    size_t inserted;
    lp = lp_insert(lp, pos, m, mlen, &inserted);
    return lp_insert(lp, lp_next(lp, inserted), text, tlen, NULL);
}

/* Inserts (m, score) at its place in (score, member) order. */
static unsigned char *lp_insert_sorted(unsigned char *lp, const char *m, size_t mlen, double score)
{
    size_t pos = lp_first(lp);
    while (pos) {
        struct zset_elem e;
        lp_elem(lp, pos, &e);
        if (e.score > score || (e.score == score && member_cmp(e.m, e.mlen, m, mlen) > 0)) break;
        pos = lp_next_pair(lp, pos);
    }
    return lp_insert_at(lp, pos, m, mlen, score);
}

/* ---------------------------------------------------------------------
 * Skiplist encoding
 * ------------------------------------------------------------------- */

struct zsl_level {
    struct zsl_node *forward;
    size_t span; /* elements crossed by following forward */
};

struct zsl_node {
    struct dict_entry *de; /* the member (de->key); NULL in the header */
    double score;
    struct zsl_node *backward;
    struct zsl_level level[];
};

struct zsl {
    struct zsl_node *header, *tail;
    size_t length;
    int level;
    uint64_t rng;        /* node levels only; never observable */
    size_t member_bytes; /* sum of member lengths */
    size_t node_bytes;   /* allocated for nodes, header included */
    struct dset members; /* member -> node (v.ptr), in the replicated order */
};

static size_t node_size(int level)
{
    return sizeof(struct zsl_node) + (size_t)level * sizeof(struct zsl_level);
}

static struct zsl_node *node_new(struct zsl *zs, int level, double score, struct dict_entry *de)
{
    struct zsl_node *x = xmalloc(node_size(level));
    x->de = de;
    x->score = score;
    x->backward = NULL;
    zs->node_bytes += node_size(level);
    return x;
}

static struct zsl *zsl_new(void)
{
    struct zsl *zs = xcalloc(1, sizeof *zs);
    zs->level = 1;
    zs->rng = 0x5a5e7u;
    zs->header = node_new(zs, ZSL_MAX_LEVEL, 0, NULL);
    for (int i = 0; i < ZSL_MAX_LEVEL; i++) {
        zs->header->level[i].forward = NULL;
        zs->header->level[i].span = 0;
    }
    dset_init(&zs->members, NULL);
    return zs;
}

static void zsl_free(struct zsl *zs)
{
    struct zsl_node *x = zs->header;
    while (x) {
        struct zsl_node *next = x->level[0].forward;
        free(x);
        x = next;
    }
    dset_clear(&zs->members);
    free(zs);
}

/* Levels 1..ZSL_MAX_LEVEL with P(level > k) = 0.25^k, as Redis. */
static int random_level(struct zsl *zs)
{
    int level = 1;
    while (level < ZSL_MAX_LEVEL && (dict_rand64(&zs->rng) & 0xffff) < 0x4000) level++;
    return level;
}

/* Does x sort before (score, m)? */
static bool node_before(const struct zsl_node *x, double score, const char *m, size_t mlen)
{
    return x->score < score ||
           (x->score == score && member_cmp(x->de->key, x->de->klen, m, mlen) < 0);
}

static struct zsl_node *zsl_insert(struct zsl *zs, double score, struct dict_entry *de)
{
    assert(!isnan(score));
    struct zsl_node *update[ZSL_MAX_LEVEL], *x = zs->header;
    size_t rank[ZSL_MAX_LEVEL];
    for (int i = zs->level - 1; i >= 0; i--) {
        rank[i] = i == zs->level - 1 ? 0 : rank[i + 1];
        while (x->level[i].forward && node_before(x->level[i].forward, score, de->key, de->klen)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    int level = random_level(zs);
    if (level > zs->level) {
        for (int i = zs->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zs->header;
            update[i]->level[i].span = zs->length;
        }
        zs->level = level;
    }
    x = node_new(zs, level, score, de);
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = rank[0] - rank[i] + 1;
    }
    for (int i = level; i < zs->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == zs->header ? NULL : update[0];
    if (x->level[0].forward) x->level[0].forward->backward = x;
    else zs->tail = x;
    zs->length++;
    de->v.ptr = x;
    return x;
}

/* Unlinks x, whose predecessors at every level are in update. */
static void zsl_unlink(struct zsl *zs, struct zsl_node *x, struct zsl_node **update)
{
    for (int i = 0; i < zs->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward) x->level[0].forward->backward = x->backward;
    else zs->tail = x->backward;
    while (zs->level > 1 && zs->header->level[zs->level - 1].forward == NULL) zs->level--;
    zs->length--;
}

/* The predecessors of (score, m) at every level; returns the node after. */
static struct zsl_node *zsl_path(struct zsl *zs, double score, const char *m, size_t mlen,
                                 struct zsl_node **update)
{
    struct zsl_node *x = zs->header;
    for (int i = zs->level - 1; i >= 0; i--) {
        while (x->level[i].forward && node_before(x->level[i].forward, score, m, mlen))
            x = x->level[i].forward;
        update[i] = x;
    }
    return x->level[0].forward;
}

static int node_level(const struct zsl *zs, const struct zsl_node *x, struct zsl_node **update)
{
    int level = 0;
    while (level < zs->level && update[level]->level[level].forward == x) level++;
    return level;
}

/* Frees an unlinked node and its member (the dset entry: the last member
 * takes its place in the member order). */
static void zsl_free_node(struct zsl *zs, struct zsl_node *x, int level)
{
    struct dict_entry *de = x->de;
    zs->member_bytes -= de->klen;
    zs->node_bytes -= node_size(level);
    bool deleted = dset_remove(&zs->members, de->key, de->klen);
    assert(deleted);
    free(x);
}

/* Removes node x (member and all). */
static void zsl_remove(struct zsl *zs, struct zsl_node *x)
{
    struct zsl_node *update[ZSL_MAX_LEVEL];
    struct zsl_node *found = zsl_path(zs, x->score, x->de->key, x->de->klen, update);
    assert(found == x);
    int level = node_level(zs, x, update);
    zsl_unlink(zs, x, update);
    zsl_free_node(zs, x, level);
}

/* Moves x to newscore; returns the node now holding the member. The
 * member keeps its dset entry, so its place in the member order. */
static struct zsl_node *zsl_update_score(struct zsl *zs, struct zsl_node *x, double newscore)
{
    /* Stays in place when the neighbours still bracket it (by score). */
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (x->level[0].forward == NULL || x->level[0].forward->score > newscore)) {
        x->score = newscore;
        return x;
    }
    struct zsl_node *update[ZSL_MAX_LEVEL];
    struct zsl_node *found = zsl_path(zs, x->score, x->de->key, x->de->klen, update);
    assert(found == x);
    int level = node_level(zs, x, update);
    zsl_unlink(zs, x, update);
    struct dict_entry *de = x->de;
    zs->node_bytes -= node_size(level);
    free(x);
    return zsl_insert(zs, newscore, de);
}

/* 1-based rank of (score, m), 0 if absent. */
static size_t zsl_rank(struct zsl *zs, double score, const char *m, size_t mlen)
{
    struct zsl_node *x = zs->header;
    size_t rank = 0;
    for (int i = zs->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               (x->level[i].forward->score < score ||
                (x->level[i].forward->score == score &&
                 member_cmp(x->level[i].forward->de->key, x->level[i].forward->de->klen, m,
                            mlen) <= 0))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x->de && x->score == score && member_cmp(x->de->key, x->de->klen, m, mlen) == 0)
            return rank;
    }
    return 0;
}

static size_t zsl_rank_of(struct zsl *zs, const struct zsl_node *x)
{
    size_t rank = zsl_rank(zs, x->score, x->de->key, x->de->klen);
    assert(rank != 0);
    return rank;
}

/* The node at 1-based rank, or NULL. */
static struct zsl_node *zsl_at_rank(struct zsl *zs, size_t rank)
{
    struct zsl_node *x = zs->header;
    size_t traversed = 0;
    for (int i = zs->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return rank ? x : NULL;
    }
    return NULL;
}

static struct zsl_node *zsl_add(struct zsl *zs, double score, const char *m, size_t mlen)
{
    bool created;
    struct dict_entry *de = dset_upsert(&zs->members, m, mlen, &created);
    assert(created);
    zs->member_bytes += mlen;
    return zsl_insert(zs, score, de);
}

/* ---------------------------------------------------------------------
 * Ranges, for both encodings: a pair of predicates on an element
 * ------------------------------------------------------------------- */

typedef bool bound_fn(const void *spec, double score, const char *m, size_t mlen);

struct bounds {
    const void *spec;
    bound_fn *gte_min, *lte_max;
    bool empty; /* the range can hold nothing */
    bool lex;   /* on members: ordered along the set only if scores are equal */
};

bool zset_score_gte_min(double v, const struct zrange_spec *s)
{
    return s->minex ? v > s->min : v >= s->min;
}

bool zset_score_lte_max(double v, const struct zrange_spec *s)
{
    return s->maxex ? v < s->max : v <= s->max;
}

/* Order of a member against a bound (Redis's sdscmplex). */
static int lex_cmp(const char *m, size_t mlen, const struct zlex_bound *b)
{
    if (b->kind == ZLEX_NEG_INF) return 1;
    if (b->kind == ZLEX_POS_INF) return -1;
    return member_cmp(m, mlen, b->p, b->len);
}

bool zset_lex_gte_min(const char *m, size_t mlen, const struct zlex_spec *s)
{
    int c = lex_cmp(m, mlen, &s->min);
    return s->min.ex ? c > 0 : c >= 0;
}

bool zset_lex_lte_max(const char *m, size_t mlen, const struct zlex_spec *s)
{
    int c = lex_cmp(m, mlen, &s->max);
    return s->max.ex ? c < 0 : c <= 0;
}

static bool score_gte(const void *spec, double score, const char *m, size_t mlen)
{
    (void)m, (void)mlen;
    return zset_score_gte_min(score, spec);
}

static bool score_lte(const void *spec, double score, const char *m, size_t mlen)
{
    (void)m, (void)mlen;
    return zset_score_lte_max(score, spec);
}

static bool lex_gte(const void *spec, double score, const char *m, size_t mlen)
{
    return zset_lex_gte_min(m, mlen, spec);
}

static bool lex_lte(const void *spec, double score, const char *m, size_t mlen)
{
    return zset_lex_lte_max(m, mlen, spec);
}

static struct bounds score_bounds(const struct zrange_spec *s)
{
    bool empty = s->min > s->max || (s->min == s->max && (s->minex || s->maxex));
    return (struct bounds){s, score_gte, score_lte, empty, false};
}

/* Order of two lex bounds (the emptiness test of zslIsInLexRange). */
static int lex_bounds_cmp(const struct zlex_bound *a, const struct zlex_bound *b)
{
    if (a->kind != ZLEX_STR && a->kind == b->kind) return 0;
    if (a->kind == ZLEX_NEG_INF || b->kind == ZLEX_POS_INF) return -1;
    if (a->kind == ZLEX_POS_INF || b->kind == ZLEX_NEG_INF) return 1;
    return member_cmp(a->p, a->len, b->p, b->len);
}

static struct bounds lex_bounds(const struct zlex_spec *s)
{
    int c = lex_bounds_cmp(&s->min, &s->max);
    bool empty = c > 0 || (c == 0 && (s->min.ex || s->max.ex));
    return (struct bounds){s, lex_gte, lex_lte, empty, true};
}

static bool elem_gte(const struct bounds *b, const struct zset_elem *e)
{
    return b->gte_min(b->spec, e->score, e->m, e->mlen);
}

static bool elem_lte(const struct bounds *b, const struct zset_elem *e)
{
    return b->lte_max(b->spec, e->score, e->m, e->mlen);
}

static bool node_gte(const struct bounds *b, const struct zsl_node *x)
{
    return b->gte_min(b->spec, x->score, x->de->key, x->de->klen);
}

static bool node_lte(const struct bounds *b, const struct zsl_node *x)
{
    return b->lte_max(b->spec, x->score, x->de->key, x->de->klen);
}

/* --- listpack --- */

static bool lp_in(const unsigned char *lp, const struct bounds *b)
{
    if (b->empty || lp_count(lp) == 0) return false;
    struct zset_elem e;
    lp_elem(lp, lp_seek(lp, -2), &e);
    if (!elem_gte(b, &e)) return false;
    lp_elem(lp, lp_first(lp), &e);
    return elem_lte(b, &e);
}

static size_t lp_first_in(const unsigned char *lp, const struct bounds *b)
{
    if (!lp_in(lp, b)) return 0;
    for (size_t pos = lp_first(lp); pos; pos = lp_next_pair(lp, pos)) {
        struct zset_elem e;
        lp_elem(lp, pos, &e);
        if (elem_gte(b, &e)) return elem_lte(b, &e) ? pos : 0;
    }
    return 0;
}

static size_t lp_last_in(const unsigned char *lp, const struct bounds *b)
{
    if (!lp_in(lp, b)) return 0;
    for (size_t pos = lp_seek(lp, -2); pos; pos = lp_prev_pair(lp, pos)) {
        struct zset_elem e;
        lp_elem(lp, pos, &e);
        if (elem_lte(b, &e)) return elem_gte(b, &e) ? pos : 0;
    }
    return 0;
}

static unsigned char *lp_delete_in(unsigned char *lp, const struct bounds *b, size_t *deleted)
{
    *deleted = 0;
    size_t pos = lp_first_in(lp, b);
    while (pos) {
        struct zset_elem e;
        lp_elem(lp, pos, &e);
        if (!elem_lte(b, &e)) break;
        lp = lp_delete(lp, pos, 2, &pos);
        (*deleted)++;
    }
    return lp;
}

/* --- skiplist ---
 *
 * The searches descend the levels while a predicate holds, which finds the
 * boundary only if the predicate is monotonic along the set. It is for
 * scores, and for members when every score is equal (then the set is in
 * member order). Lex ranges over mixed scores (whose result Redis leaves
 * unspecified) would then depend on the random node levels, which differ
 * between replicas; those walk level 0 instead, with the listpack's rules,
 * so that the result depends on the contents only. */

static bool zsl_monotonic(const struct zsl *zs, const struct bounds *b)
{
    return !b->lex || zs->tail == NULL || zs->header->level[0].forward->score == zs->tail->score;
}

static bool zsl_in(struct zsl *zs, const struct bounds *b)
{
    if (b->empty || zs->tail == NULL) return false;
    return node_gte(b, zs->tail) && node_lte(b, zs->header->level[0].forward);
}

static struct zsl_node *zsl_first_in(struct zsl *zs, const struct bounds *b)
{
    if (!zsl_in(zs, b)) return NULL;
    struct zsl_node *x = zs->header;
    if (zsl_monotonic(zs, b)) {
        for (int i = zs->level - 1; i >= 0; i--)
            while (x->level[i].forward && !node_gte(b, x->level[i].forward))
                x = x->level[i].forward;
        x = x->level[0].forward;
        assert(x != NULL);
    } else {
        x = x->level[0].forward;
        while (x && !node_gte(b, x)) x = x->level[0].forward;
        if (x == NULL) return NULL;
    }
    return node_lte(b, x) ? x : NULL;
}

static struct zsl_node *zsl_last_in(struct zsl *zs, const struct bounds *b)
{
    if (!zsl_in(zs, b)) return NULL;
    struct zsl_node *x = zs->header;
    if (zsl_monotonic(zs, b)) {
        for (int i = zs->level - 1; i >= 0; i--)
            while (x->level[i].forward && node_lte(b, x->level[i].forward))
                x = x->level[i].forward;
        assert(x != zs->header);
    } else {
        x = zs->tail;
        while (x && !node_lte(b, x)) x = x->backward;
        if (x == NULL) return NULL;
    }
    return node_gte(b, x) ? x : NULL;
}

static size_t zsl_delete_in(struct zsl *zs, const struct bounds *b)
{
    size_t removed = 0;
    if (!zsl_monotonic(zs, b)) {
        struct zsl_node *x = zsl_first_in(zs, b);
        while (x && node_lte(b, x)) {
            struct zsl_node *next = x->level[0].forward;
            zsl_remove(zs, x);
            removed++;
            x = next;
        }
        return removed;
    }
    if (b->empty) return 0;
    struct zsl_node *update[ZSL_MAX_LEVEL], *x = zs->header;
    for (int i = zs->level - 1; i >= 0; i--) {
        while (x->level[i].forward && !node_gte(b, x->level[i].forward)) x = x->level[i].forward;
        update[i] = x;
    }
    x = x->level[0].forward;
    while (x && node_lte(b, x)) {
        struct zsl_node *next = x->level[0].forward;
        int level = node_level(zs, x, update);
        zsl_unlink(zs, x, update);
        zsl_free_node(zs, x, level);
        removed++;
        x = next;
    }
    return removed;
}

/* Deletes 1-based ranks start..end. */
static size_t zsl_delete_ranks(struct zsl *zs, size_t start, size_t end)
{
    struct zsl_node *update[ZSL_MAX_LEVEL], *x = zs->header;
    size_t traversed = 0, removed = 0;
    for (int i = zs->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    traversed++;
    x = x->level[0].forward;
    while (x && traversed <= end) {
        struct zsl_node *next = x->level[0].forward;
        int level = node_level(zs, x, update);
        zsl_unlink(zs, x, update);
        zsl_free_node(zs, x, level);
        removed++;
        traversed++;
        x = next;
    }
    return removed;
}

/* ---------------------------------------------------------------------
 * The set, either encoding
 * ------------------------------------------------------------------- */

static bool is_listpack(const struct sobj *o)
{
    assert(o->type == OBJ_ZSET);
    assert(o->encoding == ENC_LISTPACK || o->encoding == ENC_SKIPLIST);
    return o->encoding == ENC_LISTPACK;
}

struct sobj *zset_new(size_t count, size_t max_len)
{
    const struct store_encoding *enc = store_enc();
    if (count > (size_t)enc->zset_max_listpack_entries ||
        max_len > (size_t)enc->zset_max_listpack_value)
        return sobj_new(OBJ_ZSET, ENC_SKIPLIST, zsl_new());
    return sobj_new(OBJ_ZSET, ENC_LISTPACK, lp_new());
}

size_t zset_length(const struct sobj *o)
{
    if (is_listpack(o)) return lp_length(o->ptr);
    return ((const struct zsl *)o->ptr)->length;
}

size_t zset_member_bytes(const struct sobj *o)
{
    if (is_listpack(o)) return lp_bytes(o->ptr);
    return ((const struct zsl *)o->ptr)->member_bytes;
}

void zset_to_skiplist(struct sobj *o)
{
    if (!is_listpack(o)) return;
    unsigned char *lp = o->ptr;
    struct zsl *zs = zsl_new();
    for (size_t pos = lp_first(lp); pos; pos = lp_next_pair(lp, pos)) {
        struct zset_elem e;
        lp_elem(lp, pos, &e);
        zsl_add(zs, e.score, e.m, e.mlen);
    }
    lp_free(lp);
    o->ptr = zs;
    o->encoding = ENC_SKIPLIST;
}

static void zset_to_listpack(struct sobj *o)
{
    assert(!is_listpack(o));
    struct zsl *zs = o->ptr;
    unsigned char *lp = lp_new();
    for (struct zsl_node *x = zs->header->level[0].forward; x; x = x->level[0].forward)
        lp = lp_insert_at(lp, 0, x->de->key, x->de->klen, x->score);
    zsl_free(zs);
    o->ptr = lp;
    o->encoding = ENC_LISTPACK;
}

void zset_shrink_if_fits(struct sobj *o)
{
    if (is_listpack(o)) return;
    struct zsl *zs = o->ptr;
    const struct store_encoding *enc = store_enc();
    if (zs->length > (size_t)enc->zset_max_listpack_entries) return;
    for (struct zsl_node *x = zs->header->level[0].forward; x; x = x->level[0].forward)
        if (x->de->klen > (size_t)enc->zset_max_listpack_value) return;
    zset_to_listpack(o);
}

bool zset_score(struct sobj *o, const char *m, size_t mlen, double *score)
{
    if (is_listpack(o)) {
        unsigned char *lp = o->ptr;
        size_t pos = lp_find_member(lp, m, mlen);
        if (pos == 0) return false;
        *score = lp_score_at(lp, lp_next(lp, pos));
        return true;
    }
    struct zsl *zs = o->ptr;
    struct dict_entry *de = dset_find(&zs->members, m, mlen);
    if (de == NULL) return false;
    *score = ((struct zsl_node *)de->v.ptr)->score;
    return true;
}

/* What NX/XX/GT/LT/INCR make of an existing member's score: false when
 * nothing is to be done (NOP or NaN, set in *out). */
static bool update_rule(double cur, double *score, int in, int *out)
{
    if (in & ZADD_IN_NX) {
        *out |= ZADD_OUT_NOP;
        return false;
    }
    if (in & ZADD_IN_INCR) {
        *score += cur;
        if (isnan(*score)) {
            *out |= ZADD_OUT_NAN;
            return false;
        }
    }
    if (((in & ZADD_IN_LT) && *score >= cur) || ((in & ZADD_IN_GT) && *score <= cur)) {
        *out |= ZADD_OUT_NOP;
        return false;
    }
    return true;
}

static bool lp_add(struct sobj *o, double score, const char *m, size_t mlen, int in, int *out,
                   double *newscore)
{
    unsigned char *lp = o->ptr;
    size_t pos = lp_find_member(lp, m, mlen);
    if (pos) {
        double cur = lp_score_at(lp, lp_next(lp, pos));
        if (!update_rule(cur, &score, in, out)) return !(*out & ZADD_OUT_NAN);
        if (newscore) *newscore = score;
        if (score != cur) {
            lp = lp_delete(lp, pos, 2, NULL);
            o->ptr = lp_insert_sorted(lp, m, mlen, score);
            *out |= ZADD_OUT_UPDATED;
        }
        return true;
    }
    if (in & ZADD_IN_XX) {
        *out |= ZADD_OUT_NOP;
        return true;
    }
    o->ptr = lp_insert_sorted(lp, m, mlen, score);
    if (newscore) *newscore = score;
    *out |= ZADD_OUT_ADDED;
    return true;
}

static bool zsl_add_member(struct zsl *zs, double score, const char *m, size_t mlen, int in,
                           int *out, double *newscore)
{
    struct dict_entry *de = dset_find(&zs->members, m, mlen);
    if (de) {
        struct zsl_node *x = de->v.ptr;
        double cur = x->score;
        if (!update_rule(cur, &score, in, out)) return !(*out & ZADD_OUT_NAN);
        if (newscore) *newscore = score;
        if (score != cur) {
            zsl_update_score(zs, x, score);
            *out |= ZADD_OUT_UPDATED;
        }
        return true;
    }
    if (in & ZADD_IN_XX) {
        *out |= ZADD_OUT_NOP;
        return true;
    }
    zsl_add(zs, score, m, mlen);
    if (newscore) *newscore = score;
    *out |= ZADD_OUT_ADDED;
    return true;
}

bool zset_add(struct sobj *o, double score, const char *m, size_t mlen, int in_flags,
              int *out_flags, double *newscore)
{
    *out_flags = 0;
    if (isnan(score)) {
        *out_flags = ZADD_OUT_NAN;
        return false;
    }
    if (is_listpack(o)) {
        /* A new member that would cross a limit converts the set first. */
        const struct store_encoding *enc = store_enc();
        bool fits = (size_t)lp_length(o->ptr) + 1 <= (size_t)enc->zset_max_listpack_entries &&
                    mlen <= (size_t)enc->zset_max_listpack_value;
        if (fits || (in_flags & ZADD_IN_XX) || lp_find_member(o->ptr, m, mlen))
            return lp_add(o, score, m, mlen, in_flags, out_flags, newscore);
        zset_to_skiplist(o);
    }
    return zsl_add_member(o->ptr, score, m, mlen, in_flags, out_flags, newscore);
}

bool zset_del(struct sobj *o, const char *m, size_t mlen)
{
    if (is_listpack(o)) {
        size_t pos = lp_find_member(o->ptr, m, mlen);
        if (pos == 0) return false;
        o->ptr = lp_delete(o->ptr, pos, 2, NULL);
        return true;
    }
    struct zsl *zs = o->ptr;
    struct dict_entry *de = dset_find(&zs->members, m, mlen);
    if (de == NULL) return false;
    zsl_remove(zs, de->v.ptr);
    return true;
}

long long zset_rank(struct sobj *o, const char *m, size_t mlen, bool reverse)
{
    size_t len = zset_length(o), rank;
    if (is_listpack(o)) {
        unsigned char *lp = o->ptr;
        size_t pos = lp_first(lp);
        for (rank = 1; pos && !lp_eq(lp, pos, m, mlen); rank++) pos = lp_next_pair(lp, pos);
        if (pos == 0) return -1;
    } else {
        struct zsl *zs = o->ptr;
        struct dict_entry *de = dset_find(&zs->members, m, mlen);
        if (de == NULL) return -1;
        rank = zsl_rank_of(zs, de->v.ptr);
    }
    return (long long)(reverse ? len - rank : rank - 1);
}

/* ---------------------------------------------------------------------
 * Iterators, ranges, counts, deletions
 * ------------------------------------------------------------------- */

bool zset_it_valid(const struct zset_it *it)
{
    return is_listpack(it->o) ? it->pos != 0 : it->node != NULL;
}

void zset_it_get(const struct zset_it *it, struct zset_elem *e)
{
    assert(zset_it_valid(it));
    if (is_listpack(it->o)) {
        lp_elem(it->o->ptr, it->pos, e);
    } else {
        e->m = it->node->de->key;
        e->mlen = it->node->de->klen;
        e->score = it->node->score;
    }
}

void zset_it_next(struct zset_it *it)
{
    assert(zset_it_valid(it));
    if (is_listpack(it->o)) it->pos = lp_next_pair(it->o->ptr, it->pos);
    else it->node = it->node->level[0].forward;
}

void zset_it_prev(struct zset_it *it)
{
    assert(zset_it_valid(it));
    if (is_listpack(it->o)) it->pos = lp_prev_pair(it->o->ptr, it->pos);
    else it->node = it->node->backward;
}

void zset_it_at_rank(struct zset_it *it, struct sobj *o, size_t rank)
{
    it->o = o;
    it->pos = 0;
    it->node = NULL;
    if (is_listpack(o)) {
        if (rank < lp_length(o->ptr)) it->pos = lp_seek(o->ptr, (long long)(2 * rank));
        return;
    }
    struct zsl *zs = o->ptr;
    if (rank == 0) it->node = zs->header->level[0].forward;
    else if (rank + 1 == zs->length) it->node = zs->tail;
    else if (rank < zs->length) it->node = zsl_at_rank(zs, rank + 1);
}

static void it_in(struct zset_it *it, struct sobj *o, const struct bounds *b, bool last)
{
    it->o = o;
    it->pos = 0;
    it->node = NULL;
    if (is_listpack(o)) it->pos = last ? lp_last_in(o->ptr, b) : lp_first_in(o->ptr, b);
    else it->node = last ? zsl_last_in(o->ptr, b) : zsl_first_in(o->ptr, b);
}

void zset_it_in_range(struct zset_it *it, struct sobj *o, const struct zrange_spec *s, bool last)
{
    struct bounds b = score_bounds(s);
    it_in(it, o, &b, last);
}

void zset_it_in_lex_range(struct zset_it *it, struct sobj *o, const struct zlex_spec *s, bool last)
{
    struct bounds b = lex_bounds(s);
    it_in(it, o, &b, last);
}

static size_t count_in(struct sobj *o, const struct bounds *b)
{
    if (is_listpack(o)) {
        unsigned char *lp = o->ptr;
        size_t n = 0;
        for (size_t pos = lp_first_in(lp, b); pos; pos = lp_next_pair(lp, pos)) {
            struct zset_elem e;
            lp_elem(lp, pos, &e);
            if (!elem_lte(b, &e)) break;
            n++;
        }
        return n;
    }
    struct zsl *zs = o->ptr;
    struct zsl_node *first = zsl_first_in(zs, b);
    if (first == NULL) return 0;
    if (!zsl_monotonic(zs, b)) {
        size_t n = 0;
        for (struct zsl_node *x = first; x && node_lte(b, x); x = x->level[0].forward) n++;
        return n;
    }
    struct zsl_node *last = zsl_last_in(zs, b);
    assert(last != NULL);
    return zsl_rank_of(zs, last) - zsl_rank_of(zs, first) + 1;
}

size_t zset_count_in_range(struct sobj *o, const struct zrange_spec *s)
{
    struct bounds b = score_bounds(s);
    return count_in(o, &b);
}

size_t zset_count_in_lex_range(struct sobj *o, const struct zlex_spec *s)
{
    struct bounds b = lex_bounds(s);
    return count_in(o, &b);
}

static size_t delete_in(struct sobj *o, const struct bounds *b)
{
    size_t deleted;
    if (is_listpack(o)) {
        o->ptr = lp_delete_in(o->ptr, b, &deleted);
    } else {
        deleted = zsl_delete_in(o->ptr, b);
    }
    return deleted;
}

size_t zset_delete_range(struct sobj *o, const struct zrange_spec *s)
{
    struct bounds b = score_bounds(s);
    return delete_in(o, &b);
}

size_t zset_delete_lex_range(struct sobj *o, const struct zlex_spec *s)
{
    struct bounds b = lex_bounds(s);
    return delete_in(o, &b);
}

size_t zset_delete_rank_range(struct sobj *o, size_t start, size_t end)
{
    assert(start <= end && end < zset_length(o));
    size_t n = end - start + 1;
    if (is_listpack(o)) {
        size_t pos = lp_seek(o->ptr, (long long)(2 * start));
        o->ptr = lp_delete(o->ptr, pos, (uint32_t)(2 * n), NULL);
        return n;
    }
    struct zsl *zs = o->ptr;
    size_t removed = zsl_delete_ranks(zs, start + 1, end + 1);
    assert(removed == n);
    return removed;
}

size_t zset_score_text(const struct zset_it *it, char *buf)
{
    assert(zset_it_valid(it));
    if (is_listpack(it->o)) {
        const unsigned char *lp = it->o->ptr;
        char tmp[24];
        size_t len;
        const char *p = lp_get_str(lp, lp_next(lp, it->pos), tmp, &len);
        if (len > 31) len = 31;
        memcpy(buf, p, len);
        buf[len] = '\0';
        return len;
    }
    return zset_format_double(it->node->score, buf);
}

void zset_get_at(struct sobj *o, size_t i, struct zset_elem *e)
{
    assert(i < zset_length(o));
    if (is_listpack(o)) {
        lp_elem(o->ptr, lp_seek(o->ptr, (long long)(2 * i)), e);
        return;
    }
    const struct dict_entry *de = dset_at(&((struct zsl *)o->ptr)->members, i);
    e->m = de->key;
    e->mlen = de->klen;
    e->score = ((const struct zsl_node *)de->v.ptr)->score;
}

/* ---------------------------------------------------------------------
 * Range parsing (Redis's zslParseRange / zslParseLexRange)
 * ------------------------------------------------------------------- */

/* strtod over the whole argument; like Redis, parsing stops at a NUL. */
static bool parse_score_bound(const char *p, size_t len, double *v, bool *ex)
{
    *ex = len > 0 && p[0] == '(';
    if (*ex) p++, len--;
    char small[64];
    char *tmp = len < sizeof small ? small : xmalloc(len + 1);
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    char *end;
    *v = strtod(tmp, &end);
    bool ok = *end == '\0' && !isnan(*v);
    if (tmp != small) free(tmp);
    return ok;
}

bool zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                      struct zrange_spec *spec)
{
    return parse_score_bound(min, minlen, &spec->min, &spec->minex) &&
           parse_score_bound(max, maxlen, &spec->max, &spec->maxex);
}

static bool parse_lex_bound(const char *p, size_t len, struct zlex_bound *b)
{
    if (len == 0) return false;
    b->p = p + 1;
    b->len = len - 1;
    switch (p[0]) {
    case '+':
    case '-':
        /* Redis looks at the byte after the sign only (a NUL ends it). */
        if (len > 1 && p[1] != '\0') return false;
        b->kind = p[0] == '+' ? ZLEX_POS_INF : ZLEX_NEG_INF;
        b->ex = true;
        return true;
    case '(':
    case '[':
        b->kind = ZLEX_STR;
        b->ex = p[0] == '(';
        return true;
    }
    return false;
}

bool zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                          struct zlex_spec *spec)
{
    return parse_lex_bound(min, minlen, &spec->min) && parse_lex_bound(max, maxlen, &spec->max);
}

/* ---------------------------------------------------------------------
 * Type operations: free, dup, memory, digest, snapshot
 * ------------------------------------------------------------------- */

static void zset_free_value(struct sobj *o)
{
    if (is_listpack(o)) lp_free(o->ptr);
    else zsl_free(o->ptr);
}

static struct sobj *zset_dup_value(const struct sobj *o)
{
    if (is_listpack(o)) {
        const unsigned char *lp = o->ptr;
        return sobj_new(OBJ_ZSET, ENC_LISTPACK, xmemdup(lp, lp_bytes(lp)));
    }
    /* Members added in the member order, so the copy's is the same. */
    const struct zsl *zs = o->ptr;
    struct zsl *copy = zsl_new();
    for (size_t i = 0; i < zs->length; i++) {
        const struct dict_entry *de = dset_at(&zs->members, i);
        zsl_add(copy, ((const struct zsl_node *)de->v.ptr)->score, de->key, de->klen);
    }
    return sobj_new(OBJ_ZSET, ENC_SKIPLIST, copy);
}

static size_t zset_memory(const struct sobj *o)
{
    if (is_listpack(o)) return lp_bytes(o->ptr);
    const struct zsl *zs = o->ptr;
    return sizeof *zs + zs->node_bytes + dset_memory(&zs->members);
}

static uint64_t double_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Calls fn on every element in the set's member order (zset_get_at): for
 * a listpack its rank order, for a skiplist the dense array's. */
static void each_in_member_order(const struct sobj *o, void (*fn)(void *ctx, const struct zset_elem *e),
                                 void *ctx)
{
    struct zset_elem e;
    if (is_listpack(o)) {
        struct zset_it it;
        for (zset_it_at_rank(&it, (struct sobj *)o, 0); zset_it_valid(&it); zset_it_next(&it)) {
            zset_it_get(&it, &e);
            fn(ctx, &e);
        }
        return;
    }
    for (size_t i = 0; i < zset_length(o); i++) {
        zset_get_at((struct sobj *)o, i, &e);
        fn(ctx, &e);
    }
}

static void digest_elem(void *ctx, const struct zset_elem *e)
{
    uint64_t *h = ctx;
    unsigned char chain[24];
    put_le64(chain, *h);
    put_le64(chain + 8, double_bits(e->score));
    put_le64(chain + 16, hash_bytes_fixed(e->m, e->mlen, 0x25e7));
    *h = hash_bytes_fixed(chain, sizeof chain, 0);
}

/* Elements chained in the member order: for a skiplist that order is
 * replicated state (ZSCAN answers in it), so replicas whose orders drifted
 * apart must not look equal. */
static uint64_t zset_digest(const struct sobj *o)
{
    uint64_t h = hash_bytes_fixed("zset", 4, zset_length(o));
    each_in_member_order(o, digest_elem, &h);
    return h;
}

static void encode_elem(void *ctx, const struct zset_elem *e)
{
    struct buf *out = ctx;
    buf_append_u64(out, double_bits(e->score));
    buf_append_u32(out, (uint32_t)e->mlen);
    buf_append(out, e->m, e->mlen);
}

/* u64 count, then per element in the member order (for a listpack, which
 * is sorted, (score, member) order): u64 score bits, u32 member length,
 * member bytes. Decoding a skiplist adds the members in that order, so a
 * restored set has the same member order. */
static void zset_encode(const struct sobj *o, struct buf *out)
{
    buf_append_u64(out, zset_length(o));
    each_in_member_order(o, encode_elem, out);
}

/* Reads one element; false if truncated or the score is NaN. */
static bool decode_elem(struct reader *r, double *score, const char **m, size_t *mlen)
{
    uint64_t bits;
    uint32_t len;
    if (reader_u64(r, &bits) || reader_u32(r, &len) || reader_bytes(r, len, m)) return false;
    memcpy(score, &bits, sizeof *score);
    *mlen = len;
    return !isnan(*score);
}

static struct sobj *zset_decode(struct reader *r, uint8_t encoding)
{
    uint64_t count;
    if (encoding != ENC_LISTPACK && encoding != ENC_SKIPLIST) return NULL;
    if (reader_u64(r, &count) || count == 0 || count > reader_left(r) / 12) return NULL;
    struct sobj *o = sobj_new(OBJ_ZSET, encoding,
                              encoding == ENC_LISTPACK ? (void *)lp_new() : (void *)zsl_new());
    double prev_score = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        double score;
        const char *m;
        size_t mlen;
        if (!decode_elem(r, &score, &m, &mlen)) goto bad;
        if (encoding == ENC_LISTPACK) {
            /* Strictly increasing (score, member): the order it keeps. */
            if (prev && (score < prev_score ||
                         (score == prev_score && member_cmp(prev, prev_len, m, mlen) >= 0)))
                goto bad;
            if (lp_find_member(o->ptr, m, mlen)) goto bad; /* any size: encoding.h */
            o->ptr = lp_insert_at(o->ptr, 0, m, mlen, score);
        } else {
            struct zsl *zs = o->ptr;
            if (dset_find(&zs->members, m, mlen)) goto bad;
            zsl_add(zs, score, m, mlen);
        }
        prev_score = score;
        prev = m;
        prev_len = mlen;
    }
    return o;
bad:
    sobj_free(o);
    return NULL;
}

const struct sobj_ops zset_type_ops = {
    .free = zset_free_value,
    .dup = zset_dup_value,
    .memory = zset_memory,
    .digest = zset_digest,
    .encode = zset_encode,
    .decode = zset_decode,
};
