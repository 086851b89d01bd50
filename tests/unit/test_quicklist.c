/* tests/unit/test_quicklist.c — the list value (store/quicklist.c) and the
 * list type's keyspace operations (store/list.c).
 *
 * Every test checks the structure after each change against a plain model
 * (an array of strings): same elements in the same order read forward,
 * backward and by index, and the quicklist invariants — links consistent
 * both ways, node and element counts right, no empty node, every listpack
 * well formed (lp_valid) and within QL_NODE_MAX_BYTES unless it holds a
 * single element. Covered: pushes and pops at both ends across many node
 * boundaries, integers kept as integers, elements bigger than a node
 * (8 KB) at the ends, in the middle (LINSERT) and as replacements (LSET),
 * iteration with deletion in both directions (LREM), insertion before and
 * after pivots in full nodes (node splits; mid-size elements only the
 * second half can take; the halves merging with small neighbours), delete
 * ranges (LTRIM, LPOP count), a long random sequence of all of these with
 * small, mid-size and big elements, duplication, and the
 * type's snapshot codec: round trip with equal digest (also between lists
 * with the same elements but different node layouts), digest sensitivity to
 * order and content, and refusal of every truncation, bad tags, lengths,
 * counts and encodings. Leaks are left to the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/dict.h"
#include "store/encoding.h"
#include "store/list.h"
#include "store/quicklist.h"

/* ---- the model -------------------------------------------------------- */

struct elem {
    char *p;
    size_t len;
};

struct model {
    struct elem *v;
    size_t n, cap;
};

static void model_insert(struct model *m, size_t at, const char *p, size_t len)
{
    assert_true(at <= m->n);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xrealloc(m->v, m->cap * sizeof *m->v);
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof *m->v);
    m->v[at].p = xmemdup(p, len);
    m->v[at].len = len;
    m->n++;
}

static void model_delete(struct model *m, size_t at, size_t count)
{
    for (size_t i = at; i < at + count; i++) free(m->v[i].p);
    memmove(m->v + at, m->v + at + count, (m->n - at - count) * sizeof *m->v);
    m->n -= count;
}

static void model_free(struct model *m)
{
    model_delete(m, 0, m->n);
    free(m->v);
    m->v = NULL;
    m->cap = 0;
}

/* ---- checks ----------------------------------------------------------- */

static void assert_value(const struct lp_value *v, const struct elem *e)
{
    char tmp[24];
    const char *p = v->p;
    size_t len = v->len;
    if (p == NULL) len = (size_t)snprintf(tmp, sizeof tmp, "%lld", v->i), p = tmp;
    if (len != e->len || memcmp(p, e->p, len) != 0)
        fail_msg("element \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", (int)(len > 40 ? 40 : len),
                 p, len, (int)(e->len > 40 ? 40 : e->len), e->p, e->len);
}

static void check_structure(const struct quicklist *ql)
{
    size_t count = 0, nodes = 0;
    const struct ql_node *prev = NULL;
    for (const struct ql_node *n = ql->head; n; prev = n, n = n->next) {
        assert_ptr_equal(n->prev, prev);
        uint32_t c = lp_count(n->lp);
        assert_true(c > 0);
        assert_true(lp_valid(n->lp, lp_bytes(n->lp)));
        if (c > 1 && lp_bytes(n->lp) > QL_NODE_MAX_BYTES)
            fail_msg("node of %u elements has %zu bytes", c, lp_bytes(n->lp));
        count += c;
        nodes++;
    }
    assert_ptr_equal(ql->tail, prev);
    assert_int_equal(count, ql_count(ql));
    assert_int_equal(nodes, ql->nodes);
}

static void check_equal(struct quicklist *ql, const struct model *m)
{
    check_structure(ql);
    assert_int_equal(ql_count(ql), m->n);
    struct ql_iter it;
    struct lp_value v;
    size_t i = 0;
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it); ql_iter_next(&it), i++) {
        ql_iter_get(&it, &v);
        assert_value(&v, &m->v[i]);
    }
    assert_int_equal(i, m->n);
    for (ql_iter_at(ql, -1, false, &it); !ql_iter_done(&it); ql_iter_next(&it)) {
        ql_iter_get(&it, &v);
        assert_value(&v, &m->v[--i]);
    }
    assert_int_equal(i, 0);
    if (m->n) {
        ql_peek(ql, true, &v);
        assert_value(&v, &m->v[0]);
        ql_peek(ql, false, &v);
        assert_value(&v, &m->v[m->n - 1]);
    }
}

/* Spot checks of index access from both ends. */
static void check_indexes(struct quicklist *ql, const struct model *m)
{
    struct lp_value v;
    size_t step = m->n / 50 + 1;
    for (size_t i = 0; i < m->n; i += step) {
        assert_true(ql_index(ql, (long long)i, &v));
        assert_value(&v, &m->v[i]);
        assert_true(ql_index(ql, (long long)i - (long long)m->n, &v));
        assert_value(&v, &m->v[i]);
    }
    assert_false(ql_index(ql, (long long)m->n, &v));
    assert_false(ql_index(ql, -(long long)m->n - 1, &v));
    assert_false(ql_index(ql, INT64_MAX, &v));
    assert_false(ql_index(ql, INT64_MIN, &v));
}

static void push(struct quicklist *ql, struct model *m, bool head, const char *p, size_t len)
{
    ql_push(ql, head, p, len);
    model_insert(m, head ? 0 : m->n, p, len);
}

/* A value of len bytes derived from seed; seeds divisible by 3 give a
 * decimal integer (stored as an integer by the listpack). */
static size_t make_value(char *out, size_t len, uint64_t seed)
{
    if (seed % 3 == 0) return (size_t)snprintf(out, 24, "%lld", (long long)(seed * 7919) - 500000);
    for (size_t i = 0; i < len; i++) out[i] = (char)('a' + (seed + i * 13) % 26);
    return len;
}

/* ---- tests ------------------------------------------------------------ */

static void test_empty(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    check_equal(ql, &m);
    struct ql_iter it;
    assert_false(ql_iter_at(ql, 0, true, &it));
    assert_true(ql_iter_done(&it));
    assert_false(ql_iter_at(ql, -1, false, &it));
    assert_false(ql_replace(ql, 0, "x", 1));
    ql_delete_range(ql, 0, 0);
    assert_int_equal(ql->nodes, 0);
    ql_free(ql);
    ql_free(NULL);
}

static void test_push_pop_both_ends(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    char buf[300];
    /* Enough elements for dozens of nodes, pushed at both ends. */
    for (uint64_t i = 0; i < 6000; i++) {
        size_t len = make_value(buf, 1 + i % 200, i);
        push(ql, &m, i % 2 == 0, buf, len);
    }
    check_equal(ql, &m);
    check_indexes(ql, &m);
    assert_true(ql->nodes > 50);
    /* Pops from both ends, through node boundaries, down to empty. */
    struct lp_value v;
    for (size_t k = 0; m.n > 0; k++) {
        bool head = (k / 7) % 2 == 0;
        ql_peek(ql, head, &v);
        assert_value(&v, &m.v[head ? 0 : m.n - 1]);
        ql_pop(ql, head);
        model_delete(&m, head ? 0 : m.n - 1, 1);
        if (k % 500 == 0) check_equal(ql, &m);
    }
    check_equal(ql, &m);
    assert_null(ql->head);
    assert_null(ql->tail);
    assert_int_equal(ql->nodes, 0);
    /* Usable again once empty. */
    push(ql, &m, false, "again", 5);
    check_equal(ql, &m);
    model_free(&m);
    ql_free(ql);
}

static void test_nodes_fill_to_the_limit(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    char buf[100];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 1000; i++) push(ql, &m, false, buf, sizeof buf);
    check_equal(ql, &m);
    /* 100-byte elements take 102 bytes in a listpack; nodes fill up to
     * the 8 KB estimate: about 80 per node, so about 13 nodes. */
    for (const struct ql_node *n = ql->head; n != ql->tail; n = n->next) {
        assert_true(lp_bytes(n->lp) + sizeof buf + 8 > QL_NODE_MAX_BYTES);
        assert_true(lp_bytes(n->lp) <= QL_NODE_MAX_BYTES);
    }
    assert_in_range(ql->nodes, 12, 14);
    model_free(&m);
    ql_free(ql);
}

/* list-max-listpack-size (store/encoding.h) other than the default: a
 * positive fill bounds a node's elements, a negative one its bytes, and
 * inserts, replaces and deletes keep within it. */
static void test_configured_fill(void **state)
{
    (void)state;
    struct store_encoding enc = store_encoding_defaults;
    store_encoding_bind(&enc);
    const long long fills[] = {3, 1, 0, -1, -5};
    const size_t max_bytes[] = {8192, 8192, 8192, 4096, 65536};
    for (size_t f = 0; f < sizeof fills / sizeof *fills; f++) {
        enc.list_max_listpack_size = fills[f];
        struct quicklist *ql = ql_new();
        struct model m = {0};
        char buf[300];
        memset(buf, 'y', sizeof buf);
        for (int i = 0; i < 400; i++) push(ql, &m, i % 3 == 0, buf, (size_t)(i % 7) * 40 + 1);
        struct ql_iter it;
        assert_true(ql_iter_at(ql, 17, true, &it));
        ql_iter_insert(&it, true, "ins", 3);
        assert_true(ql_replace(ql, 5, buf, sizeof buf));
        ql_delete_range(ql, 100, 50);
        for (const struct ql_node *n = ql->head; n; n = n->next) {
            uint32_t c = lp_count(n->lp);
            if (fills[f] > 0) assert_true(c <= (uint32_t)fills[f]);
            if (fills[f] == 0) assert_int_equal(c, 1);
            if (c > 1) assert_true(lp_bytes(n->lp) <= max_bytes[f]);
        }
        if (fills[f] < 0) assert_true(ql->nodes < ql_count(ql) / 4); /* nodes do fill */
        assert_int_equal(ql_count(ql), 351);
        if (max_bytes[f] <= QL_NODE_MAX_BYTES) check_structure(ql);
        model_free(&m);
        ql_free(ql);
    }
    store_encoding_bind(NULL);
}

static void test_integers(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    const char *vals[] = {"0", "-1", "9223372036854775807", "-9223372036854775808", "01", "+1",
                          "9223372036854775808", " 1", "1.5", ""};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) push(ql, &m, false, vals[i], strlen(vals[i]));
    check_equal(ql, &m);
    struct lp_value v;
    assert_true(ql_index(ql, 3, &v));
    assert_null(v.p);
    assert_true(v.i == INT64_MIN);
    assert_true(ql_index(ql, 4, &v));
    assert_non_null(v.p); /* "01" is not canonical: a string */
    /* Comparison: an integer element equals its canonical text only. */
    struct ql_iter it;
    assert_true(ql_iter_at(ql, 1, true, &it));
    assert_true(ql_iter_eq(&it, "-1", 2));
    assert_false(ql_iter_eq(&it, "-01", 3));
    assert_true(ql_iter_at(ql, 4, true, &it));
    assert_true(ql_iter_eq(&it, "01", 2));
    assert_false(ql_iter_eq(&it, "1", 1));
    assert_true(ql_iter_at(ql, -1, true, &it));
    assert_true(ql_iter_eq(&it, "", 0));
    model_free(&m);
    ql_free(ql);
}

static void test_big_elements(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    size_t big_len = 20000;
    char *big = xmalloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)('A' + i % 26);
    char small[10] = "small";

    push(ql, &m, false, small, 5);
    push(ql, &m, false, big, big_len);       /* own node at the tail */
    push(ql, &m, false, small, 5);           /* cannot join it: a new node */
    push(ql, &m, true, big, 9000);           /* own node at the head */
    push(ql, &m, true, big, QL_NODE_MAX_BYTES); /* exactly the limit */
    check_equal(ql, &m);
    assert_int_equal(ql->nodes, 5);

    /* Fill with small elements so a big one must go into a full node. */
    for (int i = 0; i < 3000; i++) push(ql, &m, i % 2, small, 5);
    struct ql_iter it;
    for (long long at = 100; at < 3000; at += 700) {
        assert_true(ql_iter_at(ql, at, true, &it));
        ql_iter_insert(&it, at % 2, big, big_len);
        model_insert(&m, (size_t)at + at % 2, big, big_len);
        check_equal(ql, &m);
    }
    /* Replacements by big and small values in full nodes. */
    for (long long at = 50; at < (long long)m.n; at += 333) {
        size_t len = at % 3 == 0 ? big_len : 3;
        assert_true(ql_replace(ql, at, big, len));
        free(m.v[at].p);
        m.v[at].p = xmemdup(big, len);
        m.v[at].len = len;
        check_equal(ql, &m);
    }
    check_indexes(ql, &m);
    /* Deleting every big element (LREM) leaves a well-formed list. */
    size_t i = 0;
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it);) {
        struct lp_value v;
        ql_iter_get(&it, &v);
        if (v.p && v.len > 1000) {
            ql_iter_delete(&it);
            model_delete(&m, i, 1);
        } else {
            ql_iter_next(&it);
            i++;
        }
    }
    check_equal(ql, &m);
    free(big);
    model_free(&m);
    ql_free(ql);
}

static void fill(struct quicklist *ql, struct model *m, size_t n)
{
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        size_t len = make_value(buf, 5 + i % 50, i);
        push(ql, m, false, buf, len);
    }
}

static void test_insert_splits_full_nodes(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    fill(ql, &m, 2000);
    size_t nodes_before = ql->nodes;
    /* Before and after pivots at node starts, node ends and middles. */
    long long spots[] = {0, 1, -1, -2, 500, 999, 1000, 1500, 77, 1234};
    for (size_t k = 0; k < sizeof spots / sizeof *spots; k++) {
        for (int after = 0; after < 2; after++) {
            struct ql_iter it;
            assert_true(ql_iter_at(ql, spots[k], true, &it));
            size_t at = spots[k] < 0 ? m.n + (size_t)spots[k] : (size_t)spots[k];
            char val[40];
            int len = snprintf(val, sizeof val, "inserted-%zu-%d-padding-padding", k, after);
            ql_iter_insert(&it, after, val, (size_t)len);
            model_insert(&m, at + (size_t)after, val, (size_t)len);
            check_equal(ql, &m);
        }
    }
    assert_true(ql->nodes > nodes_before);
    /* Insert at every node boundary of a list of full nodes. */
    for (size_t i = 0, at = 0; i < 30; i++, at += 67) {
        struct ql_iter it;
        assert_true(ql_iter_at(ql, (long long)at, true, &it));
        ql_iter_insert(&it, false, "b", 1);
        model_insert(&m, at, "b", 1);
    }
    check_equal(ql, &m);
    check_indexes(ql, &m);
    model_free(&m);
    ql_free(ql);
}

static void test_insert_mid_size_in_full_nodes(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    fill(ql, &m, 8000);
    /* Mid-size elements inserted after the second-to-last element of full
     * nodes: the first half of the split cannot take them, the second half
     * (one element) can. */
    char *mid = xmalloc(6000);
    memset(mid, 'm', 6000);
    for (size_t k = 0; k < 10; k++) {
        size_t at = 0;
        const struct ql_node *n = ql->head;
        for (size_t skip = 0; skip < 2 * k + 1 && n->next; skip++) {
            at += lp_count(n->lp);
            n = n->next;
        }
        assert_true(lp_bytes(n->lp) > QL_NODE_MAX_BYTES - 100);
        at += lp_count(n->lp) - 2;
        size_t nodes = ql->nodes;
        struct ql_iter it;
        assert_true(ql_iter_at(ql, (long long)at, true, &it));
        size_t len = 4000 + k * 100;
        ql_iter_insert(&it, true, mid, len);
        model_insert(&m, at + 1, mid, len);
        check_equal(ql, &m);
        assert_int_equal(ql->nodes, nodes + 1); /* split, no extra node */
    }
    free(mid);
    check_indexes(ql, &m);
    model_free(&m);
    ql_free(ql);
}

/* A split's halves merge with small neighbours (Redis merges around a
 * split node too): N2 and N4 shrunk to 3 elements, then an insertion in
 * the middle of the full N3 leaves one node fewer, not one more. */
static void test_split_merges_with_small_neighbours(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    fill(ql, &m, 6000);
    const struct ql_node *n0 = ql->head, *n1 = n0->next, *n2 = n1->next, *n3 = n2->next, *n4 = n3->next;
    size_t c0 = lp_count(n0->lp), c1 = lp_count(n1->lp), c2 = lp_count(n2->lp);
    size_t c3 = lp_count(n3->lp), c4 = lp_count(n4->lp);
    size_t s2 = c0 + c1;
    ql_delete_range(ql, s2 + 3, c2 - 3);
    model_delete(&m, s2 + 3, c2 - 3);
    size_t s4 = s2 + 3 + c3;
    ql_delete_range(ql, s4 + 3, c4 - 3);
    model_delete(&m, s4 + 3, c4 - 3);
    check_equal(ql, &m);
    size_t nodes = ql->nodes;
    size_t at = s2 + 3 + c3 / 2;
    struct ql_iter it;
    assert_true(ql_iter_at(ql, (long long)at, true, &it));
    char val[100];
    memset(val, 'v', sizeof val);
    ql_iter_insert(&it, false, val, sizeof val);
    model_insert(&m, at, val, sizeof val);
    check_equal(ql, &m);
    assert_int_equal(ql->nodes, nodes - 1);
    model_free(&m);
    ql_free(ql);
}

static void test_iterator_delete(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    /* "x" every third element, across many nodes. */
    char buf[40];
    for (int i = 0; i < 3000; i++) {
        if (i % 3 == 0) push(ql, &m, false, "x", 1);
        else push(ql, &m, false, buf, (size_t)snprintf(buf, sizeof buf, "element-%d-xxxxxxxxxx", i));
    }
    /* Forward, first 10. */
    size_t removed = 0;
    struct ql_iter it;
    size_t i = 0;
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it) && removed < 10;) {
        if (ql_iter_eq(&it, "x", 1)) {
            ql_iter_delete(&it);
            model_delete(&m, i, 1);
            removed++;
        } else {
            ql_iter_next(&it);
            i++;
        }
    }
    check_equal(ql, &m);
    /* Backward, last 10. */
    removed = 0;
    i = m.n;
    for (ql_iter_at(ql, -1, false, &it); !ql_iter_done(&it) && removed < 10;) {
        i--;
        if (ql_iter_eq(&it, "x", 1)) {
            ql_iter_delete(&it);
            model_delete(&m, i, 1);
            removed++;
        } else {
            ql_iter_next(&it);
        }
    }
    check_equal(ql, &m);
    /* Backward, all remaining, then everything else forward. */
    i = m.n;
    for (ql_iter_at(ql, -1, false, &it); !ql_iter_done(&it);) {
        i--;
        if (ql_iter_eq(&it, "x", 1)) {
            ql_iter_delete(&it);
            model_delete(&m, i, 1);
        } else {
            ql_iter_next(&it);
        }
    }
    check_equal(ql, &m);
    assert_int_equal(m.n, 2000);
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it);) ql_iter_delete(&it);
    model_delete(&m, 0, m.n);
    check_equal(ql, &m);
    assert_int_equal(ql->nodes, 0);
    model_free(&m);
    ql_free(ql);
}

static void test_delete_range(void **state)
{
    (void)state;
    const size_t n = 3000;
    /* (start, count) pairs: within a node, across nodes, whole nodes,
     * head, tail, everything. */
    const size_t cases[][2] = {{0, 0}, {0, 1}, {n - 1, 1}, {10, 5}, {100, 900}, {0, 1500},
                               {1500, 1500}, {0, n}, {1, n - 2}, {777, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        struct quicklist *ql = ql_new();
        struct model m = {0};
        fill(ql, &m, n);
        ql_delete_range(ql, cases[k][0], cases[k][1]);
        model_delete(&m, cases[k][0], cases[k][1]);
        check_equal(ql, &m);
        check_indexes(ql, &m);
        model_free(&m);
        ql_free(ql);
    }
}

static void test_replace(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    fill(ql, &m, 1000);
    char buf[200];
    for (long long at = -1000; at < 1000; at += 37) {
        size_t len = make_value(buf, (size_t)(at + 1000) % 150, (uint64_t)(at + 2000));
        assert_true(ql_replace(ql, at, buf, len));
        size_t i = at < 0 ? (size_t)(at + 1000) : (size_t)at;
        free(m.v[i].p);
        m.v[i].p = xmemdup(buf, len);
        m.v[i].len = len;
    }
    check_equal(ql, &m);
    assert_false(ql_replace(ql, 1000, "x", 1));
    assert_false(ql_replace(ql, -1001, "x", 1));
    model_free(&m);
    ql_free(ql);
}

/* A long random sequence of every operation, checked against the model. */
static void test_random_operations(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    uint64_t rng = 12345;
    char *buf = xmalloc(10000);
    for (int step = 0; step < 20000; step++) {
        uint64_t r = dict_rand64(&rng);
        /* Mostly small, some mid-size (a split node's halves differ in
         * what they can take), some bigger than a node. */
        size_t len = r % 97 == 0 ? 9000 + r % 1000 : r % 89 == 0 ? 2000 + r % 5000 : r % 60;
        len = make_value(buf, len, r >> 8);
        /* Pick a value already present now and then (for pivots/LREM). */
        const char *pv = buf;
        size_t plen = len;
        if (m.n && r % 2) {
            size_t i = (size_t)(r >> 20) % m.n;
            pv = m.v[i].p;
            plen = m.v[i].len;
        }
        switch (r % 8) {
        case 0:
        case 1:
            push(ql, &m, r % 16 < 8, buf, len);
            break;
        case 2:
            if (m.n) {
                bool head = (r >> 4) % 2;
                ql_pop(ql, head);
                model_delete(&m, head ? 0 : m.n - 1, 1);
            }
            break;
        case 3: { /* LINSERT at the first match of pv */
            struct ql_iter it;
            size_t i = 0;
            char *pivot = xmemdup(pv, plen);
            for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it); ql_iter_next(&it), i++)
                if (ql_iter_eq(&it, pivot, plen)) break;
            if (!ql_iter_done(&it)) {
                bool after = (r >> 7) % 2;
                ql_iter_insert(&it, after, buf, len);
                model_insert(&m, i + after, buf, len);
            }
            free(pivot);
            break;
        }
        case 4: { /* LSET */
            if (m.n == 0) break;
            size_t i = (size_t)(r >> 11) % m.n;
            assert_true(ql_replace(ql, (long long)i, buf, len));
            free(m.v[i].p);
            m.v[i].p = xmemdup(buf, len);
            m.v[i].len = len;
            break;
        }
        case 5: { /* LREM of pv, limited, either direction */
            if (m.n == 0) break;
            char *target = xmemdup(pv, plen);
            bool forward = (r >> 9) % 2;
            size_t limit = (r >> 13) % 3, removed = 0;
            struct ql_iter it;
            size_t i = forward ? 0 : m.n;
            ql_iter_at(ql, forward ? 0 : -1, forward, &it);
            while (!ql_iter_done(&it)) {
                if (!forward) i--;
                if (ql_iter_eq(&it, target, plen)) {
                    ql_iter_delete(&it);
                    model_delete(&m, i, 1);
                    if (limit && ++removed == limit) break;
                } else {
                    ql_iter_next(&it);
                    if (forward) i++;
                }
            }
            free(target);
            break;
        }
        case 6: { /* LTRIM-like range delete, small */
            if (m.n == 0) break;
            size_t start = (size_t)(r >> 17) % m.n;
            size_t n = (size_t)(r >> 33) % 40;
            if (n > m.n - start) n = m.n - start;
            ql_delete_range(ql, start, n);
            model_delete(&m, start, n);
            break;
        }
        case 7: /* keep it from shrinking to nothing */
            for (int k = 0; k < 20; k++) push(ql, &m, k % 2, buf, len);
            break;
        }
        if (step % 97 == 0) check_equal(ql, &m);
    }
    check_equal(ql, &m);
    check_indexes(ql, &m);
    free(buf);
    model_free(&m);
    ql_free(ql);
}

static void test_dup(void **state)
{
    (void)state;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    fill(ql, &m, 1500);
    struct quicklist *copy = ql_dup(ql);
    check_equal(copy, &m);
    assert_int_equal(copy->nodes, ql->nodes);
    /* Independent: changing one leaves the other. */
    struct model mc = {0};
    for (size_t i = 0; i < m.n; i++) model_insert(&mc, i, m.v[i].p, m.v[i].len);
    ql_pop(ql, true);
    model_delete(&m, 0, 1);
    push(copy, &mc, false, "extra", 5);
    check_equal(ql, &m);
    check_equal(copy, &mc);
    model_free(&mc);
    model_free(&m);
    ql_free(ql);
    ql_free(copy);
}

/* ---- the list type: digest and snapshot codec ------------------------- */

static struct sobj *list_of(const struct model *m)
{
    struct sobj *o = list_new();
    for (size_t i = 0; i < m->n; i++) ql_push(list_ql(o), false, m->v[i].p, m->v[i].len);
    return o;
}

static struct sobj *decode_bytes(const char *data, size_t len, uint8_t encoding)
{
    char *copy = xmemdup(data, len); /* exact size, for ASan */
    struct reader r;
    reader_init(&r, copy, len);
    struct sobj *o = list_type_ops.decode(&r, encoding);
    if (o) assert_int_equal(reader_left(&r), 0);
    free(copy);
    return o;
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    struct model m = {0};
    char *big = xcalloc(1, 30000);
    memset(big, 'b', 29999);
    model_insert(&m, 0, "", 0);
    model_insert(&m, 1, "-9223372036854775808", 20);
    model_insert(&m, 2, "123", 3);
    model_insert(&m, 3, "0123", 4);
    model_insert(&m, 4, "bin\0ary\xff", 8);
    model_insert(&m, 5, big, 30000);
    char buf[64];
    for (int i = 0; i < 5000; i++) model_insert(&m, m.n, buf, make_value(buf, 1 + i % 40, (uint64_t)i));

    struct sobj *o = list_of(&m);
    /* Give the original a different node layout than a rebuilt list:
     * pops at the head leave its first node half empty. */
    for (int i = 0; i < 30; i++) ql_push(list_ql(o), true, "pad", 3);
    for (int i = 0; i < 30; i++) ql_pop(list_ql(o), true);
    check_equal(list_ql(o), &m);

    struct buf b = BUF_INIT;
    list_type_ops.encode(o, &b);
    struct sobj *back = decode_bytes(b.data, b.len, ENC_QUICKLIST);
    assert_non_null(back);
    assert_int_equal(back->type, OBJ_LIST);
    assert_int_equal(back->encoding, ENC_QUICKLIST);
    check_equal(list_ql(back), &m);
    assert_true(list_type_ops.digest(o) == list_type_ops.digest(back));
    /* The same bytes again: the form does not depend on node layout. */
    struct buf b2 = BUF_INIT;
    list_type_ops.encode(back, &b2);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* A copy (COPY) digests the same, too. */
    struct sobj *dup = sobj_dup(o);
    assert_true(list_type_ops.digest(dup) == list_type_ops.digest(o));
    assert_true(sobj_memory(o) > 30000);

    sobj_free(dup);
    sobj_free(back);
    sobj_free(o);
    buf_free(&b);
    buf_free(&b2);
    free(big);
    model_free(&m);
}

static void test_digest_sensitivity(void **state)
{
    (void)state;
    struct model m = {0};
    model_insert(&m, 0, "ab", 2);
    model_insert(&m, 1, "c", 1);
    struct sobj *a = list_of(&m);
    /* Other order, other split of the same bytes, one more element. */
    struct model m2 = {0};
    model_insert(&m2, 0, "c", 1);
    model_insert(&m2, 1, "ab", 2);
    struct sobj *b = list_of(&m2);
    struct model m3 = {0};
    model_insert(&m3, 0, "a", 1);
    model_insert(&m3, 1, "bc", 2);
    struct sobj *c = list_of(&m3);
    struct sobj *d = list_of(&m);
    ql_push(list_ql(d), false, "", 0);
    struct sobj *same = list_of(&m);
    uint64_t da = list_type_ops.digest(a);
    assert_true(da != list_type_ops.digest(b));
    assert_true(da != list_type_ops.digest(c));
    assert_true(da != list_type_ops.digest(d));
    assert_true(da == list_type_ops.digest(same));
    sobj_free(a);
    sobj_free(b);
    sobj_free(c);
    sobj_free(d);
    sobj_free(same);
    model_free(&m);
    model_free(&m2);
    model_free(&m3);
}

static void test_snapshot_corruption(void **state)
{
    (void)state;
    struct model m = {0};
    model_insert(&m, 0, "hello", 5);
    model_insert(&m, 1, "42", 2);
    model_insert(&m, 2, "", 0);
    struct sobj *o = list_of(&m);
    struct buf b = BUF_INIT;
    list_type_ops.encode(o, &b);

    /* Every truncation fails; the whole decodes. */
    for (size_t len = 0; len < b.len; len++) assert_null(decode_bytes(b.data, len, ENC_QUICKLIST));
    struct sobj *back = decode_bytes(b.data, b.len, ENC_QUICKLIST);
    assert_non_null(back);
    sobj_free(back);

    /* Wrong encodings. */
    const uint8_t encs[] = {ENC_RAW, ENC_LISTPACK, ENC_HT, 0xFF};
    for (size_t i = 0; i < sizeof encs; i++) assert_null(decode_bytes(b.data, b.len, encs[i]));

    struct buf x = BUF_INIT;
    /* An empty list is never stored. */
    buf_append_u64(&x, 0);
    assert_null(decode_bytes(x.data, x.len, ENC_QUICKLIST));
    /* Counts beyond the data, including absurd ones. */
    const uint64_t counts[] = {2, 1000, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        buf_clear(&x);
        buf_append_u64(&x, counts[i]);
        buf_append_u8(&x, 0);
        buf_append_u32(&x, 1);
        buf_append(&x, "a", 1);
        assert_null(decode_bytes(x.data, x.len, ENC_QUICKLIST));
    }
    /* Unknown element tags. */
    for (unsigned tag = 2; tag < 256; tag += 37) {
        buf_clear(&x);
        buf_append_u64(&x, 1);
        buf_append_u8(&x, (uint8_t)tag);
        buf_append_u64(&x, 5);
        assert_null(decode_bytes(x.data, x.len, ENC_QUICKLIST));
    }
    /* String lengths beyond the data. */
    const uint32_t lens[] = {2, 1000, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        buf_clear(&x);
        buf_append_u64(&x, 1);
        buf_append_u8(&x, 0);
        buf_append_u32(&x, lens[i]);
        buf_append(&x, "a", 1);
        assert_null(decode_bytes(x.data, x.len, ENC_QUICKLIST));
    }
    /* A valid crafted list: an integer element and a string one. */
    buf_clear(&x);
    buf_append_u64(&x, 2);
    buf_append_u8(&x, 1);
    buf_append_u64(&x, (uint64_t)-7);
    buf_append_u8(&x, 0);
    buf_append_u32(&x, 3);
    buf_append(&x, "abc", 3);
    back = decode_bytes(x.data, x.len, ENC_QUICKLIST);
    assert_non_null(back);
    struct model want = {0};
    model_insert(&want, 0, "-7", 2);
    model_insert(&want, 1, "abc", 3);
    check_equal(list_ql(back), &want);
    sobj_free(back);

    model_free(&want);
    buf_free(&x);
    buf_free(&b);
    sobj_free(o);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_push_pop_both_ends),
        cmocka_unit_test(test_nodes_fill_to_the_limit),
        cmocka_unit_test(test_configured_fill),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_big_elements),
        cmocka_unit_test(test_insert_splits_full_nodes),
        cmocka_unit_test(test_insert_mid_size_in_full_nodes),
        cmocka_unit_test(test_split_merges_with_small_neighbours),
        cmocka_unit_test(test_iterator_delete),
        cmocka_unit_test(test_delete_range),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_random_operations),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_digest_sensitivity),
        cmocka_unit_test(test_snapshot_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
