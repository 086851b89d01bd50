/* tests/unit/test_zset.c — sorted sets (store/zset.c), both encodings.
 *
 * A reference model (a sorted array of (score, member)) is driven with the
 * same random operations as a set, and after each batch every observable
 * is compared: length, each member's score and rank (both directions),
 * the element at every rank walking forwards and backwards, first/last
 * elements and counts in random score and lex ranges. Operations include
 * ZADD with NX/XX/GT/LT/INCR (flags and NaN results checked against the
 * model), deletions, and deletions by rank, score and lex range. This runs
 * for small sets (listpack, then converted) and for sets of thousands of
 * members (skiplist, deep levels).
 *
 * Also: the listpack limits (128 members, 64-byte members) and the moment
 * of conversion, zset_new's choice, zset_shrink_if_fits, the score text a
 * listpack keeps (integers, -0 kept as 0 in a listpack but as -0 in a
 * skiplist, %.17g, inf), range parsing (strtod quirks, exclusive bounds,
 * lex items), dup and digest (equal for equal contents in the same member
 * order, different when a score, a member or a skiplist's member order
 * differs), the member order ZSCAN and ZRANDMEMBER use (a listpack's rank
 * order, kept by conversion; additions append, removals of any kind move
 * the last member into the hole, score changes move nothing; the same
 * under another hash seed), and the snapshot codec: round trips of both
 * encodings, every truncation refused, random byte corruption never
 * crashing (ASan build) and never yielding a set that breaks the order,
 * a skiplist decoded in its member order whatever the ranks, and crafted
 * bad inputs (empty set, an unordered listpack, duplicate members, NaN,
 * listpack beyond its limits, unknown encoding) refused. The whole store
 * snapshot round trip with zsets keeps store_digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "store/dict.h"
#include "store/keyspace.h"
#include "store/snapshot.h"
#include "store/zset.h"

#define S(lit) lit, sizeof(lit) - 1

/* ---- reference model ---------------------------------------------------- */

struct melem {
    double score;
    char m[80];
    size_t mlen;
};

struct model {
    struct melem *v;
    size_t n, cap;
};

static int mcmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int elem_order(const struct melem *a, double score, const char *m, size_t mlen)
{
    if (a->score < score) return -1;
    if (a->score > score) return 1;
    return mcmp(a->m, a->mlen, m, mlen);
}

static long model_find(const struct model *md, const char *m, size_t mlen)
{
    for (size_t i = 0; i < md->n; i++)
        if (md->v[i].mlen == mlen && memcmp(md->v[i].m, m, mlen) == 0) return (long)i;
    return -1;
}

static void model_del_at(struct model *md, size_t i)
{
    memmove(&md->v[i], &md->v[i + 1], (md->n - i - 1) * sizeof *md->v);
    md->n--;
}

static void model_insert(struct model *md, double score, const char *m, size_t mlen)
{
    if (md->n == md->cap) {
        md->cap = md->cap ? md->cap * 2 : 64;
        md->v = xrealloc(md->v, md->cap * sizeof *md->v);
    }
    size_t i = 0;
    while (i < md->n && elem_order(&md->v[i], score, m, mlen) < 0) i++;
    memmove(&md->v[i + 1], &md->v[i], (md->n - i) * sizeof *md->v);
    md->v[i].score = score;
    memcpy(md->v[i].m, m, mlen);
    md->v[i].mlen = mlen;
    md->n++;
}

/* ZADD semantics on the model; returns what zset_add should report. */
static bool model_add(struct model *md, double score, const char *m, size_t mlen, int in,
                      int *out, double *newscore)
{
    *out = 0;
    long i = model_find(md, m, mlen);
    if (i < 0) {
        if (in & ZADD_IN_XX) {
            *out = ZADD_OUT_NOP;
            return true;
        }
        model_insert(md, score, m, mlen);
        *out = ZADD_OUT_ADDED;
        *newscore = score;
        return true;
    }
    if (in & ZADD_IN_NX) {
        *out = ZADD_OUT_NOP;
        return true;
    }
    double cur = md->v[i].score;
    if (in & ZADD_IN_INCR) score += cur;
    if (isnan(score)) {
        *out = ZADD_OUT_NAN;
        return false;
    }
    if (((in & ZADD_IN_LT) && score >= cur) || ((in & ZADD_IN_GT) && score <= cur)) {
        *out = ZADD_OUT_NOP;
        return true;
    }
    *newscore = score;
    if (score != cur) {
        model_del_at(md, (size_t)i);
        model_insert(md, score, m, mlen);
        *out = ZADD_OUT_UPDATED;
    }
    return true;
}

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng = 42;

static uint64_t rnd(uint64_t n) { return dict_rand64(&rng) % n; }

static const double score_pool[] = {0, 1, 2, 2.5, -1, -3.25, 0.1, 1e17, 1e300, -1e300,
                                    4611686018427387904.0, 7, 7, 7, 100, 42};

static double random_score(void)
{
    switch (rnd(20)) {
    case 0: return INFINITY;
    case 1: return -INFINITY;
    case 2: return -0.0;
    case 3: return (double)(int64_t)rnd(1000) / 8.0 - 60;
    default: return score_pool[rnd(sizeof score_pool / sizeof *score_pool)];
    }
}

/* Members: short words, integer-looking ones (kept as integers in a
 * listpack), binary ones with NULs, and (when long_ok) ones over 64 bytes. */
static size_t random_member(char *out, uint64_t universe, bool long_ok)
{
    uint64_t id = rnd(universe);
    switch (id % 4) {
    case 0: return (size_t)sprintf(out, "%llu", (unsigned long long)id);
    case 1: return (size_t)sprintf(out, "-%llu", (unsigned long long)id);
    case 2:
        out[0] = '\0';
        return 1 + (size_t)sprintf(out + 1, "b%llu", (unsigned long long)id);
    default:
        if (long_ok && id % 64 == 3) {
            memset(out, 'L', 70);
            return 70 + (size_t)sprintf(out + 70, "%llu", (unsigned long long)id);
        }
        return (size_t)sprintf(out, "m%llu", (unsigned long long)id);
    }
}

static void elem_of(struct sobj *o, size_t rank, struct zset_elem *e)
{
    struct zset_it it;
    zset_it_at_rank(&it, o, rank);
    assert_true(zset_it_valid(&it));
    zset_it_get(&it, e);
}

static void assert_elem(const struct zset_elem *e, const struct melem *m)
{
    assert_int_equal(e->mlen, m->mlen);
    assert_memory_equal(e->m, m->m, m->mlen);
    assert_true(e->score == m->score);
}

/* The whole set against the model: contents, order, ranks, scores. */
static void assert_matches(struct sobj *o, const struct model *md)
{
    size_t n = md->n;
    assert_int_equal(zset_length(o), n);
    struct zset_it it;
    zset_it_at_rank(&it, o, 0);
    for (size_t i = 0; i < n; i++, zset_it_next(&it)) {
        assert_true(zset_it_valid(&it));
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[i]);
        double s;
        assert_true(zset_score(o, md->v[i].m, md->v[i].mlen, &s));
        assert_true(s == md->v[i].score);
        assert_int_equal(zset_rank(o, md->v[i].m, md->v[i].mlen, false), (long long)i);
        assert_int_equal(zset_rank(o, md->v[i].m, md->v[i].mlen, true), (long long)(n - 1 - i));
    }
    assert_false(zset_it_valid(&it));
    zset_it_at_rank(&it, o, n ? n - 1 : 0);
    for (size_t i = n; i-- > 0; zset_it_prev(&it)) {
        assert_true(zset_it_valid(&it));
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[i]);
    }
    assert_false(zset_it_valid(&it));
    /* Random access by rank, including past the end. */
    for (int k = 0; k < 20 && n; k++) {
        size_t r = (size_t)rnd(n);
        struct zset_elem e;
        elem_of(o, r, &e);
        assert_elem(&e, &md->v[r]);
    }
    zset_it_at_rank(&it, o, n);
    assert_false(zset_it_valid(&it));
    assert_false(zset_score(o, S("no such member"), &(double){0}));
    assert_int_equal(zset_rank(o, S("no such member"), false), -1);
}

/* ---- ranges against the model ------------------------------------------ */

static bool m_gte(const struct melem *x, const struct zrange_spec *s)
{
    return zset_score_gte_min(x->score, s);
}

static bool m_in(const struct melem *x, const struct zrange_spec *s)
{
    return m_gte(x, s) && zset_score_lte_max(x->score, s);
}

static bool ml_in(const struct melem *x, const struct zlex_spec *s)
{
    return zset_lex_gte_min(x->m, x->mlen, s) && zset_lex_lte_max(x->m, x->mlen, s);
}

static void random_range(struct zrange_spec *s)
{
    s->min = random_score();
    s->max = rnd(4) == 0 ? s->min : random_score();
    if (rnd(3) == 0 && s->min > s->max) {
        double t = s->min;
        s->min = s->max;
        s->max = t;
    }
    s->minex = rnd(2);
    s->maxex = rnd(2);
}

static void random_lex_bound(struct zlex_bound *b, char *buf)
{
    switch (rnd(6)) {
    case 0: b->kind = ZLEX_NEG_INF; b->ex = true; b->len = 0; return;
    case 1: b->kind = ZLEX_POS_INF; b->ex = true; b->len = 0; return;
    default:
        b->kind = ZLEX_STR;
        b->ex = rnd(2);
        b->len = random_member(buf, 300, false);
        if (rnd(3) == 0 && b->len > 1) b->len--; /* a prefix of a member */
        b->p = buf;
    }
}

/* Count, first and last of a score range, as the model sees them. */
static void check_range(struct sobj *o, const struct model *md, const struct zrange_spec *s)
{
    long first = -1, last = -1;
    size_t count = 0;
    for (size_t i = 0; i < md->n; i++) {
        if (!m_in(&md->v[i], s)) continue;
        if (first < 0) first = (long)i;
        last = (long)i;
        count++;
    }
    assert_int_equal(zset_count_in_range(o, s), count);
    struct zset_it it;
    zset_it_in_range(&it, o, s, false);
    assert_int_equal(zset_it_valid(&it), first >= 0);
    if (first >= 0) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[first]);
    }
    zset_it_in_range(&it, o, s, true);
    assert_int_equal(zset_it_valid(&it), last >= 0);
    if (last >= 0) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[last]);
    }
}

static void check_lex_range(struct sobj *o, const struct model *md, const struct zlex_spec *s)
{
    long first = -1, last = -1;
    size_t count = 0;
    /* Lex ranges are only meaningful when all scores are equal; the
     * functions walk in set order regardless, as Redis's do: first is the
     * first in order that is >= min, if it is also <= max. */
    for (size_t i = 0; i < md->n; i++) {
        if (!ml_in(&md->v[i], s)) continue;
        if (first < 0) first = (long)i;
        last = (long)i;
        count++;
    }
    assert_int_equal(zset_count_in_lex_range(o, s), count);
    struct zset_it it;
    zset_it_in_lex_range(&it, o, s, false);
    assert_int_equal(zset_it_valid(&it), first >= 0);
    if (first >= 0) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[first]);
    }
    zset_it_in_lex_range(&it, o, s, true);
    assert_int_equal(zset_it_valid(&it), last >= 0);
    if (last >= 0) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        assert_elem(&e, &md->v[last]);
    }
}

/* Redis's zslFirstInLexRange on the model: the range must be non-empty and
 * overlap the set; then the first member >= min counts if it is <= max. */
static int model_lex_bounds_cmp(const struct zlex_bound *a, const struct zlex_bound *b)
{
    if (a->kind != ZLEX_STR && a->kind == b->kind) return 0;
    if (a->kind == ZLEX_NEG_INF || b->kind == ZLEX_POS_INF) return -1;
    if (a->kind == ZLEX_POS_INF || b->kind == ZLEX_NEG_INF) return 1;
    return mcmp(a->p, a->len, b->p, b->len);
}

static long model_first_lex(const struct model *md, const struct zlex_spec *s)
{
    int c = model_lex_bounds_cmp(&s->min, &s->max);
    if (md->n == 0 || c > 0 || (c == 0 && (s->min.ex || s->max.ex))) return -1;
    const struct melem *first = &md->v[0], *last = &md->v[md->n - 1];
    if (!zset_lex_gte_min(last->m, last->mlen, s) || !zset_lex_lte_max(first->m, first->mlen, s))
        return -1;
    for (size_t i = 0; i < md->n; i++)
        if (zset_lex_gte_min(md->v[i].m, md->v[i].mlen, s))
            return zset_lex_lte_max(md->v[i].m, md->v[i].mlen, s) ? (long)i : -1;
    return -1;
}

/* ---- the random workload ----------------------------------------------- */

static const int flag_sets[] = {0, ZADD_IN_NX, ZADD_IN_XX, ZADD_IN_GT, ZADD_IN_LT,
                                ZADD_IN_INCR, ZADD_IN_INCR | ZADD_IN_XX, ZADD_IN_GT | ZADD_IN_XX,
                                ZADD_IN_LT | ZADD_IN_INCR, 0, 0, 0};

static void random_op(struct sobj *o, struct model *md, uint64_t universe, bool long_ok,
                      bool equal_scores)
{
    char m[100];
    size_t mlen = random_member(m, universe, long_ok);
    uint64_t op = rnd(100);
    if (op < 60) {
        double score = equal_scores ? 0 : random_score();
        int in = flag_sets[rnd(sizeof flag_sets / sizeof *flag_sets)];
        int out, mout;
        double ns = 12345, mns = 54321;
        bool ok = zset_add(o, score, m, mlen, in, &out, &ns);
        bool mok = model_add(md, score, m, mlen, in, &mout, &mns);
        assert_int_equal(ok, mok);
        assert_int_equal(out, mout);
        if (ok && !(out & ZADD_OUT_NOP)) assert_true(ns == mns);
    } else if (op < 80) {
        long i = model_find(md, m, mlen);
        assert_int_equal(zset_del(o, m, mlen), i >= 0);
        if (i >= 0) model_del_at(md, (size_t)i);
    } else if (op < 86 && md->n > 0) {
        size_t a = (size_t)rnd(md->n), b = (size_t)rnd(md->n);
        if (a > b) {
            size_t t = a;
            a = b;
            b = t;
        }
        if (b - a > 8) b = a + (size_t)rnd(8);
        assert_int_equal(zset_delete_rank_range(o, a, b), b - a + 1);
        for (size_t k = a; k <= b; k++) model_del_at(md, a);
    } else if (op < 90) {
        struct zrange_spec s;
        random_range(&s);
        size_t expect = 0;
        for (size_t i = 0; i < md->n;) {
            if (m_in(&md->v[i], &s)) {
                model_del_at(md, i);
                expect++;
            } else {
                i++;
            }
        }
        assert_int_equal(zset_delete_range(o, &s), expect);
    } else if (op < 93) {
        struct zlex_spec s;
        char b1[100], b2[100];
        random_lex_bound(&s.min, b1);
        random_lex_bound(&s.max, b2);
        /* Redis deletes from the first in range while <= max. */
        size_t expect = 0;
        long start = model_first_lex(md, &s);
        while (start >= 0 && (size_t)start < md->n &&
               zset_lex_lte_max(md->v[start].m, md->v[start].mlen, &s)) {
            model_del_at(md, (size_t)start);
            expect++;
        }
        assert_int_equal(zset_delete_lex_range(o, &s), expect);
    } else {
        struct zrange_spec s;
        random_range(&s);
        check_range(o, md, &s);
        if (equal_scores) {
            struct zlex_spec ls;
            char b1[100], b2[100];
            random_lex_bound(&ls.min, b1);
            random_lex_bound(&ls.max, b2);
            check_lex_range(o, md, &ls);
        }
    }
}

static void run_workload(uint64_t seed, int ops, uint64_t universe, bool long_ok,
                         bool equal_scores, int check_every)
{
    rng = seed;
    struct sobj *o = zset_new(0, 0);
    struct model md = {0};
    bool saw_skiplist = false;
    for (int i = 0; i < ops; i++) {
        random_op(o, &md, universe, long_ok, equal_scores);
        if (o->encoding == ENC_SKIPLIST) saw_skiplist = true;
        /* Once converted, a set never goes back by itself. */
        if (saw_skiplist) assert_int_equal(o->encoding, ENC_SKIPLIST);
        if (i % check_every == 0) assert_matches(o, &md);
    }
    assert_matches(o, &md);
    sobj_free(o);
    free(md.v);
}

static void test_small_sets_random(void **state)
{
    (void)state;
    /* Universes of 60 members stay listpacks; 160 cross the entry limit;
     * long members cross the size limit. */
    for (uint64_t seed = 1; seed <= 30; seed++)
        run_workload(seed, 600, seed % 3 ? 60 : 160, seed % 5 == 0, false, 7);
}

static void test_small_sets_equal_scores_lex(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed <= 120; seed++) run_workload(seed, 400, 80, false, true, 5);
}

static void test_big_sets_random(void **state)
{
    (void)state;
    run_workload(7, 30000, 5000, true, false, 5000);
    run_workload(8, 20000, 3000, true, true, 4000);
}

/* Grows to thousands, then shrinks to nothing: spans stay right at every
 * size (checked through every rank). */
static void test_skiplist_grow_and_shrink(void **state)
{
    (void)state;
    rng = 99;
    struct sobj *o = zset_new(1000, 0);
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    struct model md = {0};
    char m[32];
    for (int i = 0; i < 3000; i++) {
        size_t mlen = (size_t)sprintf(m, "k%05d", (int)rnd(100000));
        int out;
        double ns, mns;
        double score = (double)rnd(50);
        assert_int_equal(zset_add(o, score, m, mlen, 0, &out, &ns),
                         model_add(&md, score, m, mlen, 0, &(int){0}, &mns));
    }
    assert_matches(o, &md);
    while (md.n > 0) {
        size_t r = (size_t)rnd(md.n);
        assert_true(zset_del(o, md.v[r].m, md.v[r].mlen));
        model_del_at(&md, r);
        if (md.n % 500 == 0) assert_matches(o, &md);
    }
    assert_int_equal(zset_length(o), 0);
    sobj_free(o);
    free(md.v);
}

static void assert_same_contents(struct sobj *a, struct sobj *b);

/* Lex ranges over mixed scores: Redis leaves the result unspecified (its
 * skiplist search depends on the random node levels). Here the result must
 * depend on the contents only, or replicas whose sets were built in
 * different orders (a restored snapshot) would diverge on ZREMRANGEBYLEX. */
static void test_lex_ranges_independent_of_levels(void **state)
{
    (void)state;
    rng = 77;
    struct sobj *a = zset_new(1000, 0), *b = zset_new(1000, 0);
    struct melem *v = xmalloc(2000 * sizeof *v);
    for (int i = 0; i < 2000; i++) /* distinct members */
        v[i].mlen = (size_t)sprintf(v[i].m, "%c%d", "ab-1z"[rnd(5)], i), v[i].score = (double)rnd(5);
    for (int i = 0; i < 2000; i++) {
        int out;
        zset_add(a, v[i].score, v[i].m, v[i].mlen, 0, &out, NULL);
        zset_add(b, v[1999 - i].score, v[1999 - i].m, v[1999 - i].mlen, 0, &out, NULL);
    }
    for (int k = 0; k < 3000; k++) {
        struct zlex_spec s;
        char b1[100], b2[100];
        random_lex_bound(&s.min, b1);
        random_lex_bound(&s.max, b2);
        assert_int_equal(zset_count_in_lex_range(a, &s), zset_count_in_lex_range(b, &s));
        for (int last = 0; last < 2; last++) {
            struct zset_it x, y;
            zset_it_in_lex_range(&x, a, &s, last);
            zset_it_in_lex_range(&y, b, &s, last);
            assert_int_equal(zset_it_valid(&x), zset_it_valid(&y));
            if (zset_it_valid(&x)) {
                struct zset_elem e, f;
                zset_it_get(&x, &e);
                zset_it_get(&y, &f);
                assert_int_equal(e.mlen, f.mlen);
                assert_memory_equal(e.m, f.m, e.mlen);
            }
        }
        if (k % 10 == 0) {
            assert_int_equal(zset_delete_lex_range(a, &s), zset_delete_lex_range(b, &s));
            assert_same_contents(a, b); /* member orders differ: built apart */
        }
    }
    free(v);
    sobj_free(a);
    sobj_free(b);
}

/* ---- encodings and conversions ------------------------------------------ */

static void add_ok(struct sobj *o, double score, const char *m, size_t mlen)
{
    int out;
    assert_true(zset_add(o, score, m, mlen, 0, &out, NULL));
}

static void test_listpack_limits(void **state)
{
    (void)state;
    struct sobj *o = zset_new(0, 0);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    char m[16];
    for (int i = 0; i < ZSET_LISTPACK_MAX_ENTRIES; i++)
        add_ok(o, i, m, (size_t)sprintf(m, "m%d", i));
    assert_int_equal(o->encoding, ENC_LISTPACK);
    /* Updating, or adding with XX, does not convert at the limit. */
    int out;
    assert_true(zset_add(o, 5, S("m1"), 0, &out, NULL));
    assert_int_equal(out, ZADD_OUT_UPDATED);
    assert_true(zset_add(o, 5, S("new"), ZADD_IN_XX, &out, NULL));
    assert_int_equal(out, ZADD_OUT_NOP);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    add_ok(o, 1000, S("one more"));
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    assert_int_equal(zset_length(o), 129);
    /* Deleting back under the limit does not convert back. */
    assert_true(zset_del(o, S("one more")));
    assert_true(zset_del(o, S("m0")));
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    /* But a command building a new set may ask for the compact form. */
    zset_shrink_if_fits(o);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    assert_int_equal(zset_length(o), 127);
    double s;
    assert_true(zset_score(o, S("m1"), &s));
    assert_true(s == 5);
    sobj_free(o);

    /* Member length: 64 bytes fit, 65 do not. */
    char big[65];
    memset(big, 'x', sizeof big);
    o = zset_new(0, 0);
    add_ok(o, 1, big, 64);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    add_ok(o, 2, big, 65);
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    zset_shrink_if_fits(o); /* a 65-byte member: stays */
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    assert_true(zset_del(o, big, 65));
    zset_shrink_if_fits(o);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    sobj_free(o);

    /* zset_new picks the encoding from the hints. */
    o = zset_new(128, 64);
    assert_int_equal(o->encoding, ENC_LISTPACK);
    sobj_free(o);
    o = zset_new(129, 0);
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    sobj_free(o);
    o = zset_new(1, 65);
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    sobj_free(o);
}

static void score_text_of(struct sobj *o, const char *m, size_t mlen, char *out)
{
    long long r = zset_rank(o, m, mlen, false);
    assert_true(r >= 0);
    struct zset_it it;
    zset_it_at_rank(&it, o, (size_t)r);
    out[zset_score_text(&it, out)] = '\0';
}

static void test_score_text_and_negative_zero(void **state)
{
    (void)state;
    static const struct {
        double score;
        const char *lp_text, *sl_text;
    } cases[] = {
        {3, "3", "3"},
        {1.5, "1.5", "1.5"},
        {0.1, "0.10000000000000001", "0.10000000000000001"},
        {1e17, "100000000000000000", "1e+17"},
        {4611686018427387904.0, "4611686018427387904", "4.6116860184273879e+18"},
        {9223372036854775807.0, "9.2233720368547758e+18", "9.2233720368547758e+18"},
        {1e300, "1.0000000000000001e+300", "1.0000000000000001e+300"},
        {INFINITY, "inf", "inf"},
        {-INFINITY, "-inf", "-inf"},
        {-0.0, "0", "-0"},
        {-2, "-2", "-2"},
    };
    struct sobj *lp = zset_new(0, 0), *sl = zset_new(1000, 0);
    char m[8], text[32];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t mlen = (size_t)sprintf(m, "c%zu", i);
        add_ok(lp, cases[i].score, m, mlen);
        add_ok(sl, cases[i].score, m, mlen);
        score_text_of(lp, m, mlen, text);
        assert_string_equal(text, cases[i].lp_text);
        score_text_of(sl, m, mlen, text);
        assert_string_equal(text, cases[i].sl_text);
    }
    /* -0: a listpack keeps 0, a skiplist keeps the sign. */
    double s;
    assert_true(zset_score(lp, S("c9"), &s));
    assert_false(signbit(s));
    assert_true(zset_score(sl, S("c9"), &s));
    assert_true(signbit(s));
    /* Converting a listpack keeps its 0; 0 and -0 are the same score. */
    zset_to_skiplist(lp);
    assert_true(zset_score(lp, S("c9"), &s));
    assert_false(signbit(s));
    int out;
    assert_true(zset_add(sl, 0.0, S("c9"), 0, &out, NULL));
    assert_int_equal(out, 0); /* equal: not an update */
    assert_true(zset_score(sl, S("c9"), &s));
    assert_true(signbit(s));
    sobj_free(lp);
    sobj_free(sl);
}

static void test_add_flags_and_nan(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        struct sobj *o = zset_new(enc ? 1000 : 0, 0);
        int out;
        double ns = 0;
        assert_false(zset_add(o, NAN, S("a"), 0, &out, &ns));
        assert_int_equal(out, ZADD_OUT_NAN);
        assert_int_equal(zset_length(o), 0);
        assert_true(zset_add(o, INFINITY, S("a"), ZADD_IN_INCR, &out, &ns));
        assert_int_equal(out, ZADD_OUT_ADDED);
        assert_true(isinf(ns));
        /* inf + -inf is NaN: refused, the member keeps its score. */
        assert_false(zset_add(o, -INFINITY, S("a"), ZADD_IN_INCR, &out, &ns));
        assert_int_equal(out, ZADD_OUT_NAN);
        double s;
        assert_true(zset_score(o, S("a"), &s) && isinf(s) && s > 0);
        /* GT with INCR compares the incremented score. */
        assert_true(zset_add(o, 5, S("b"), 0, &out, &ns));
        assert_true(zset_add(o, -1, S("b"), ZADD_IN_INCR | ZADD_IN_GT, &out, &ns));
        assert_int_equal(out, ZADD_OUT_NOP);
        assert_true(zset_add(o, 1, S("b"), ZADD_IN_INCR | ZADD_IN_GT, &out, &ns));
        assert_int_equal(out, ZADD_OUT_UPDATED);
        assert_true(ns == 6);
        /* An unchanged score is neither NOP nor UPDATED, newscore is set. */
        ns = 0;
        assert_true(zset_add(o, 6, S("b"), 0, &out, &ns));
        assert_int_equal(out, 0);
        assert_true(ns == 6);
        sobj_free(o);
    }
}

/* ---- parsing -------------------------------------------------------------- */

static bool parse(const char *a, const char *b, struct zrange_spec *s)
{
    return zset_parse_range(a, strlen(a), b, strlen(b), s);
}

static void test_parse_ranges(void **state)
{
    (void)state;
    struct zrange_spec s;
    assert_true(parse("1", "(2.5", &s));
    assert_true(s.min == 1 && !s.minex && s.max == 2.5 && s.maxex);
    assert_true(parse("-inf", "+inf", &s));
    assert_true(isinf(s.min) && s.min < 0 && isinf(s.max) && s.max > 0);
    /* strtod's leniency, as Redis: "" is 0, "(" is exclusive 0, leading
     * spaces and hex are accepted. */
    assert_true(parse("", "(", &s));
    assert_true(s.min == 0 && !s.minex && s.max == 0 && s.maxex);
    assert_true(parse(" 1", "0x10", &s));
    assert_true(s.min == 1 && s.max == 16);
    assert_true(parse("1e400", "-1e400", &s)); /* overflow gives inf */
    assert_true(isinf(s.min));
    assert_false(parse("x", "1", &s));
    assert_false(parse("1", "1 ", &s));
    assert_false(parse("nan", "1", &s));
    assert_false(parse("1", "(nan", &s));
    assert_false(parse("((1", "2", &s));
    /* Parsing stops at a NUL, as strtod on Redis's C string does. */
    assert_true(zset_parse_range("5\0x", 3, "6", 1, &s));
    assert_true(s.min == 5);

    struct zlex_spec l;
    assert_true(zset_parse_lex_range(S("-"), S("+"), &l));
    assert_int_equal(l.min.kind, ZLEX_NEG_INF);
    assert_int_equal(l.max.kind, ZLEX_POS_INF);
    assert_true(zset_parse_lex_range(S("[a"), S("(b\0c"), &l));
    assert_true(l.min.kind == ZLEX_STR && !l.min.ex && l.min.len == 1);
    assert_true(l.max.kind == ZLEX_STR && l.max.ex && l.max.len == 3);
    assert_true(zset_parse_lex_range(S("["), S("("), &l));
    assert_int_equal(l.min.len, 0);
    assert_false(zset_parse_lex_range(S("a"), S("+"), &l));
    assert_false(zset_parse_lex_range(S(""), S("+"), &l));
    assert_false(zset_parse_lex_range(S("-"), S("+x"), &l));
    assert_false(zset_parse_lex_range(S("-a"), S("+"), &l));
    assert_true(zset_parse_lex_range(S("-\0junk"), S("+"), &l)); /* Redis reads c[1] only */
}

static void test_empty_ranges(void **state)
{
    (void)state;
    struct sobj *o = zset_new(0, 0);
    add_ok(o, 1, S("a"));
    add_ok(o, 1, S("b"));
    struct zrange_spec s = {1, 1, true, false};
    assert_int_equal(zset_count_in_range(o, &s), 0);
    s = (struct zrange_spec){2, 1, false, false};
    assert_int_equal(zset_count_in_range(o, &s), 0);
    s = (struct zrange_spec){1, 1, false, false};
    assert_int_equal(zset_count_in_range(o, &s), 2);
    struct zlex_spec l;
    assert_true(zset_parse_lex_range(S("-"), S("-"), &l));
    assert_int_equal(zset_count_in_lex_range(o, &l), 0);
    assert_true(zset_parse_lex_range(S("+"), S("-"), &l));
    assert_int_equal(zset_count_in_lex_range(o, &l), 0);
    assert_true(zset_parse_lex_range(S("[a"), S("(a"), &l));
    assert_int_equal(zset_count_in_lex_range(o, &l), 0);
    assert_true(zset_parse_lex_range(S("[a"), S("[a"), &l));
    assert_int_equal(zset_count_in_lex_range(o, &l), 1);
    assert_true(zset_parse_lex_range(S("(a"), S("+"), &l));
    assert_int_equal(zset_count_in_lex_range(o, &l), 1);
    sobj_free(o);
}

/* ---- dup, digest, snapshot ----------------------------------------------- */

static struct sobj *build(int n, bool skiplist, uint64_t seed)
{
    rng = seed;
    struct sobj *o = zset_new(skiplist ? 1000 : 0, 0);
    char m[100];
    for (int i = 0; i < n; i++) {
        size_t mlen = random_member(m, 100000, skiplist);
        int out;
        zset_add(o, random_score(), m, mlen, 0, &out, NULL);
    }
    assert_int_equal(o->encoding, skiplist ? ENC_SKIPLIST : ENC_LISTPACK);
    return o;
}

/* The same elements in the same (rank) order, and the same encoding. */
static void assert_same_contents(struct sobj *a, struct sobj *b)
{
    assert_int_equal(a->encoding, b->encoding);
    assert_int_equal(zset_length(a), zset_length(b));
    struct zset_it x, y;
    zset_it_at_rank(&x, a, 0);
    zset_it_at_rank(&y, b, 0);
    for (; zset_it_valid(&x); zset_it_next(&x), zset_it_next(&y)) {
        struct zset_elem e, f;
        zset_it_get(&x, &e);
        zset_it_get(&y, &f);
        assert_int_equal(e.mlen, f.mlen);
        assert_memory_equal(e.m, f.m, e.mlen);
        assert_memory_equal(&e.score, &f.score, sizeof e.score); /* -0 too */
    }
    assert_false(zset_it_valid(&y));
}

/* The same contents in the same member order (zset_get_at): what a copy
 * or a snapshot round trip must keep. */
static void assert_same_set(struct sobj *a, struct sobj *b)
{
    assert_same_contents(a, b);
    for (size_t i = 0; i < zset_length(a); i++) {
        struct zset_elem e, f;
        zset_get_at(a, i, &e);
        zset_get_at(b, i, &f);
        assert_int_equal(e.mlen, f.mlen);
        assert_memory_equal(e.m, f.m, e.mlen);
    }
    assert_int_equal(zset_type_ops.digest(a), zset_type_ops.digest(b));
}

static void test_dup_and_digest(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        struct sobj *o = build(enc ? 2000 : 100, enc, 5 + enc);
        struct sobj *d = sobj_dup(o);
        assert_same_set(o, d);
        assert_true(zset_type_ops.memory(o) > 0);
        uint64_t before = zset_type_ops.digest(o);
        /* A changed score changes the digest; changing it back restores it. */
        struct zset_elem e;
        elem_of(d, 3, &e);
        char m[100];
        size_t mlen = e.mlen;
        memcpy(m, e.m, mlen);
        double old = e.score;
        int out;
        assert_true(zset_add(d, old + 1, m, mlen, 0, &out, NULL) || isinf(old));
        if (!isinf(old)) {
            assert_int_not_equal(zset_type_ops.digest(d), before);
            assert_true(zset_add(d, old, m, mlen, 0, &out, NULL));
            assert_int_equal(zset_type_ops.digest(d), before);
        }
        /* A renamed member changes it. */
        assert_true(zset_del(d, m, mlen));
        add_ok(d, old, S("renamed"));
        assert_int_not_equal(zset_type_ops.digest(d), before);
        sobj_free(o);
        sobj_free(d);
    }
    /* Equal contents built in different orders: the same listpack (its
     * member order is its rank order), but two skiplists whose member
     * orders differ, which the digest tells apart. */
    struct sobj *a = zset_new(0, 0), *b = zset_new(0, 0);
    add_ok(a, 1, S("x"));
    add_ok(a, 2, S("y"));
    add_ok(b, 2, S("y"));
    add_ok(b, 1, S("x"));
    assert_same_set(a, b);
    zset_to_skiplist(a);
    zset_to_skiplist(b);
    assert_same_set(a, b); /* converted in rank order */
    assert_true(zset_del(a, S("x")));
    assert_true(zset_del(b, S("x")));
    add_ok(a, 1, S("x")); /* y, x */
    add_ok(b, 3, S("z"));
    assert_true(zset_del(b, S("z")));
    add_ok(b, 1, S("x")); /* y, x as well */
    assert_same_set(a, b);
    struct sobj *c = zset_new(1000, 0);
    add_ok(c, 1, S("x"));
    add_ok(c, 2, S("y")); /* x, y */
    assert_same_contents(a, c);
    assert_int_not_equal(zset_type_ops.digest(a), zset_type_ops.digest(c));
    sobj_free(a);
    sobj_free(b);
    sobj_free(c);
}

/* ---- the member order ----------------------------------------------------- */

/* The skiplist's members as "a,b,c," in member order. */
static char *member_order(struct sobj *o)
{
    size_t total = 1;
    for (size_t i = 0; i < zset_length(o); i++) {
        struct zset_elem e;
        zset_get_at(o, i, &e);
        total += e.mlen + 1;
    }
    char *out = xcalloc(1, total), *p = out;
    for (size_t i = 0; i < zset_length(o); i++) {
        struct zset_elem e;
        zset_get_at(o, i, &e);
        memcpy(p, e.m, e.mlen);
        p += e.mlen;
        *p++ = ',';
    }
    return out;
}

static void assert_member_order(struct sobj *o, const char *want)
{
    char *got = member_order(o);
    assert_string_equal(got, want);
    free(got);
}

static void test_member_order(void **state)
{
    (void)state;
    /* A listpack's member order is its rank order, and a conversion keeps
     * it. */
    struct sobj *o = zset_new(0, 0);
    add_ok(o, 3, S("a"));
    add_ok(o, 1, S("b"));
    add_ok(o, 2, S("c"));
    assert_member_order(o, "b,c,a,");
    zset_to_skiplist(o);
    assert_int_equal(o->encoding, ENC_SKIPLIST);
    assert_member_order(o, "b,c,a,");
    /* Additions append, wherever they rank. */
    add_ok(o, 0, S("d"));
    add_ok(o, 9, S("e"));
    assert_member_order(o, "b,c,a,d,e,");
    /* Score changes (ZADD, ZINCRBY) move a member in rank only. */
    int out;
    assert_true(zset_add(o, 5, S("b"), ZADD_IN_INCR, &out, NULL));
    assert_true(zset_add(o, -1, S("e"), 0, &out, NULL));
    assert_member_order(o, "b,c,a,d,e,");
    assert_int_equal(zset_rank(o, S("e"), false), 0);
    /* A removal moves the last member into the hole. */
    assert_true(zset_del(o, S("c")));
    assert_member_order(o, "b,e,a,d,");
    /* So do removals by rank, score and lex range, one member at a time
     * in rank order: ranks 0..1 are e (-1) and d (0). */
    assert_int_equal(zset_delete_rank_range(o, 0, 1), 2);
    assert_member_order(o, "b,a,");
    struct zrange_spec all = {-INFINITY, INFINITY, false, false};
    assert_int_equal(zset_delete_range(o, &all), 2);
    assert_int_equal(zset_length(o), 0);
    add_ok(o, 1, S("x"));
    add_ok(o, 1, S("y"));
    add_ok(o, 1, S("z"));
    struct zlex_spec lex;
    assert_true(zset_parse_lex_range(S("[x"), S("[y"), &lex));
    assert_int_equal(zset_delete_lex_range(o, &lex), 2);
    assert_member_order(o, "z,");
    struct zset_elem e;
    zset_get_at(o, 0, &e);
    assert_true(e.score == 1);
    sobj_free(o);
}

/* A fixed workload of adds, score changes and removals on a skiplist;
 * returns its member order. */
static char *member_order_workload(void)
{
    uint64_t r = 31;
    struct sobj *o = zset_new(1000, 0);
    for (int step = 0; step < 20000; step++) {
        uint64_t x = dict_rand64(&r);
        char m[32];
        size_t mlen = (size_t)snprintf(m, sizeof m, "m%llu", (unsigned long long)(x % 4000));
        int out;
        if (x % 5 < 3) zset_add(o, (double)((x >> 20) % 50), m, mlen, 0, &out, NULL);
        else if (x % 5 == 3) zset_del(o, m, mlen);
        else zset_add(o, 1, m, mlen, ZADD_IN_INCR | ZADD_IN_XX, &out, NULL);
    }
    char *order = member_order(o);
    sobj_free(o);
    return order;
}

static void test_member_order_independent_of_hash_seed(void **state)
{
    (void)state;
    hash_seed_init(3);
    char *a = member_order_workload();
    hash_seed_init(0xfeedfacecafebeefull);
    char *b = member_order_workload();
    hash_seed_init(0x9e3779b97f4a7c15ull); /* base/hash.c's */
    assert_true(strlen(a) > 5000);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static struct sobj *decode_bytes(const void *data, size_t len, uint8_t enc)
{
    char *copy = xmalloc(len ? len : 1);
    if (len) memcpy(copy, data, len);
    struct reader r;
    reader_init(&r, copy, len);
    struct sobj *o = zset_type_ops.decode(&r, enc);
    if (o && reader_left(&r) != 0) {
        /* Trailing bytes are the caller's business; the set must be whole. */
    }
    free(copy);
    return o;
}

/* A decoded set must be one the type could have built: strictly ordered,
 * unique members, within the encoding's limits. */
static void assert_well_formed(struct sobj *o)
{
    size_t n = zset_length(o);
    assert_true(n > 0);
    if (o->encoding == ENC_LISTPACK) assert_true(n <= ZSET_LISTPACK_MAX_ENTRIES);
    struct zset_it it;
    zset_it_at_rank(&it, o, 0);
    struct zset_elem e;
    char pm[200];
    size_t plen = 0;
    double ps = 0;
    for (size_t i = 0; i < n; i++, zset_it_next(&it)) {
        zset_it_get(&it, &e);
        assert_false(isnan(e.score));
        if (o->encoding == ENC_LISTPACK) assert_true(e.mlen <= ZSET_LISTPACK_MAX_VALUE);
        if (i) assert_true(ps < e.score || (ps == e.score && mcmp(pm, plen, e.m, e.mlen) < 0));
        assert_int_equal(zset_rank(o, e.m, e.mlen, false), (long long)i);
        plen = e.mlen < sizeof pm ? e.mlen : sizeof pm;
        memcpy(pm, e.m, plen);
        ps = e.score;
    }
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    for (int enc = 0; enc < 2; enc++) {
        struct sobj *o = build(enc ? 3000 : 128, enc, 11 + enc);
        struct buf b = BUF_INIT;
        zset_type_ops.encode(o, &b);
        struct sobj *d = decode_bytes(b.data, b.len, o->encoding);
        assert_non_null(d);
        assert_same_set(o, d);
        /* Encoding again gives the same bytes: the form is canonical. */
        struct buf b2 = BUF_INIT;
        zset_type_ops.encode(d, &b2);
        assert_int_equal(b.len, b2.len);
        assert_memory_equal(b.data, b2.data, b.len);
        /* Every truncation is refused. */
        for (size_t len = 0; len < b.len; len += enc ? 97 : 1)
            assert_null(decode_bytes(b.data, len, o->encoding));
        assert_null(decode_bytes(b.data, b.len - 1, o->encoding));
        buf_free(&b);
        buf_free(&b2);
        sobj_free(o);
        sobj_free(d);
    }
}

static void test_snapshot_corruption(void **state)
{
    (void)state;
    struct sobj *o = build(60, false, 21);
    struct buf b = BUF_INIT;
    zset_type_ops.encode(o, &b);
    int refused = 0, accepted = 0;
    for (size_t pos = 0; pos < b.len; pos++) {
        for (int mask = 1; mask < 256; mask <<= 1) {
            b.data[pos] ^= (char)mask;
            for (int enc = 0; enc < 2; enc++) {
                struct sobj *d = decode_bytes(b.data, b.len, enc ? ENC_SKIPLIST : ENC_LISTPACK);
                if (d == NULL) {
                    refused++;
                    continue;
                }
                accepted++; /* a flip inside a member or a score can be valid */
                assert_well_formed(d);
                sobj_free(d);
            }
            b.data[pos] ^= (char)mask;
        }
    }
    assert_true(refused > 0 && accepted > 0);
    buf_free(&b);
    sobj_free(o);
}

/* Hand-made bodies: count, then (score bits, u32 length, bytes)... */
static void put_elem(struct buf *b, double score, const char *m, size_t mlen)
{
    uint64_t bits;
    memcpy(&bits, &score, sizeof bits);
    buf_append_u64(b, bits);
    buf_append_u32(b, (uint32_t)mlen);
    buf_append(b, m, mlen);
}

static void test_snapshot_crafted(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    /* A good one, accepted in both encodings. */
    buf_append_u64(&b, 2);
    put_elem(&b, 1, S("a"));
    put_elem(&b, 1, S("b"));
    struct sobj *d = decode_bytes(b.data, b.len, ENC_LISTPACK);
    assert_non_null(d);
    sobj_free(d);
    d = decode_bytes(b.data, b.len, ENC_SKIPLIST);
    assert_non_null(d);
    sobj_free(d);
    assert_null(decode_bytes(b.data, b.len, ENC_HT));
    assert_null(decode_bytes(b.data, b.len, 99));

    struct {
        const char *what;
        int n;
        double s[3];
        const char *m[3];
    } bad[] = {
        {"empty", 0, {0}, {NULL}},
        {"duplicate pair", 2, {1, 1}, {"a", "a"}},
        {"duplicate member", 3, {1, 2, 3}, {"a", "b", "a"}},
        {"nan", 1, {NAN}, {"a"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int enc = 0; enc < 2; enc++) {
            buf_clear(&b);
            buf_append_u64(&b, (uint64_t)bad[i].n);
            for (int k = 0; k < bad[i].n; k++) put_elem(&b, bad[i].s[k], bad[i].m[k], 1);
            d = decode_bytes(b.data, b.len, enc ? ENC_SKIPLIST : ENC_LISTPACK);
            if (d) fail_msg("accepted: %s", bad[i].what);
        }
    }
    /* A listpack is kept sorted, so its elements must come in order; a
     * skiplist's come in its member order, any order of rank. */
    buf_clear(&b);
    buf_append_u64(&b, 3);
    put_elem(&b, 2, S("a"));
    put_elem(&b, 1, S("c"));
    put_elem(&b, 1, S("b"));
    assert_null(decode_bytes(b.data, b.len, ENC_LISTPACK));
    d = decode_bytes(b.data, b.len, ENC_SKIPLIST);
    assert_non_null(d);
    assert_member_order(d, "a,c,b,");
    assert_int_equal(zset_rank(d, S("b"), false), 0);
    assert_int_equal(zset_rank(d, S("a"), false), 2);
    sobj_free(d);
    /* A count beyond the bytes. */
    buf_clear(&b);
    buf_append_u64(&b, UINT64_MAX);
    put_elem(&b, 1, S("a"));
    assert_null(decode_bytes(b.data, b.len, ENC_SKIPLIST));
    /* A member length beyond the bytes. */
    buf_clear(&b);
    buf_append_u64(&b, 1);
    buf_append_u64(&b, 0);
    buf_append_u32(&b, UINT32_MAX);
    buf_append(&b, "abcdefghijkl", 12);
    assert_null(decode_bytes(b.data, b.len, ENC_SKIPLIST));
    /* A listpack beyond today's limits (a log under other ones, encoding.h,
     * built it): it loads, as a skiplist does. */
    char big[65];
    memset(big, 'q', sizeof big);
    buf_clear(&b);
    buf_append_u64(&b, 1);
    put_elem(&b, 1, big, 65);
    d = decode_bytes(b.data, b.len, ENC_LISTPACK);
    assert_non_null(d);
    sobj_free(d);
    d = decode_bytes(b.data, b.len, ENC_SKIPLIST);
    assert_non_null(d);
    sobj_free(d);
    buf_clear(&b);
    buf_append_u64(&b, 129);
    char m[16];
    for (int i = 0; i < 129; i++) put_elem(&b, i, m, (size_t)sprintf(m, "%d", i));
    d = decode_bytes(b.data, b.len, ENC_LISTPACK);
    assert_non_null(d);
    assert_int_equal(zset_length(d), 129);
    sobj_free(d);
    d = decode_bytes(b.data, b.len, ENC_SKIPLIST);
    assert_non_null(d);
    assert_int_equal(zset_length(d), 129);
    sobj_free(d);
    buf_free(&b);
}

/* Zsets inside a whole-store snapshot: the digest survives. */
static void test_store_snapshot_with_zsets(void **state)
{
    (void)state;
    struct store *s = store_new();
    store_set(s, 0, S("small"), build(50, false, 31), false);
    store_set(s, 0, S("big"), build(1000, true, 32), false);
    struct sobj *neg = zset_new(1000, 0);
    add_ok(neg, -0.0, S("z"));
    struct dict_entry *e = store_set(s, 3, S("negzero"), neg, false);
    store_set_expire(s, 3, e, 1700000000000ll);
    store_set(s, 1, S("str"), sobj_string(S("v")), false);
    struct buf b = BUF_INIT;
    store_snapshot_encode(s, "aux", 3, &b);
    const char *aux;
    size_t aux_len;
    char err[128];
    struct store *r = store_snapshot_decode(b.data, b.len, &aux, &aux_len, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(store_digest(r), store_digest(s));
    struct dict_entry *f = dset_find(&r->db[3].keys, S("negzero"));
    assert_non_null(f);
    double sc;
    assert_true(zset_score(store_value(f), S("z"), &sc));
    assert_true(signbit(sc)); /* a skiplist keeps -0 across a snapshot */
    /* The digest sees a score change. */
    int out;
    assert_true(zset_add(store_value(f), 1, S("z"), 0, &out, NULL));
    assert_int_not_equal(store_digest(r), store_digest(s));
    store_free(r);
    store_free(s);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_sets_random),
        cmocka_unit_test(test_small_sets_equal_scores_lex),
        cmocka_unit_test(test_big_sets_random),
        cmocka_unit_test(test_skiplist_grow_and_shrink),
        cmocka_unit_test(test_lex_ranges_independent_of_levels),
        cmocka_unit_test(test_listpack_limits),
        cmocka_unit_test(test_score_text_and_negative_zero),
        cmocka_unit_test(test_add_flags_and_nan),
        cmocka_unit_test(test_parse_ranges),
        cmocka_unit_test(test_empty_ranges),
        cmocka_unit_test(test_dup_and_digest),
        cmocka_unit_test(test_member_order),
        cmocka_unit_test(test_member_order_independent_of_hash_seed),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_snapshot_corruption),
        cmocka_unit_test(test_snapshot_crafted),
        cmocka_unit_test(test_store_snapshot_with_zsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
