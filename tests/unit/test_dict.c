/* tests/unit/test_dict.c — the keyspace hash table (store/dict.c).
 *
 * Covers insert/find/delete of 100k binary keys (every key holds NUL bytes
 * and keys differ in length), lookups while an incremental rehash is under
 * way (the test checks it caught the dict with rehash_index >= 0), unlink
 * plus dict_entry_free, dict_clear, shrinking after mass deletion,
 * dict_random, full iteration (every entry exactly once, also mid-rehash),
 * and Redis's SCAN guarantee: every key present for the whole scan is
 * returned at least once when the table is static, grows between calls,
 * shrinks between calls, or is rehashing (frozen or progressing), and the
 * scan comes back to cursor 0 within a bounded number of calls. The free
 * callback counts calls so that every removal path is checked to free each
 * value exactly once; leaks are left to the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "store/dict.h"

/* ---- helpers ---------------------------------------------------------- */

static size_t freed; /* free_value calls */

static void count_free(struct dict_entry *e)
{
    (void)e;
    freed++;
}

/* Key for id: 4 bytes little endian (so small ids hold NULs), then id % 7
 * NUL bytes, then one tag byte. Distinct ids give distinct keys. */
#define KEY_MAX 16
static size_t make_key(uint32_t id, char out[KEY_MAX])
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) out[n++] = (char)(id >> (8 * i));
    for (uint32_t i = 0; i < id % 7; i++) out[n++] = '\0';
    out[n++] = (char)('a' + id % 26);
    return n;
}

static struct dict_entry *put(struct dict *d, uint32_t id)
{
    char k[KEY_MAX];
    size_t n = make_key(id, k);
    bool created;
    struct dict_entry *e = dict_upsert(d, k, n, &created);
    assert_true(created);
    e->v.i = id;
    return e;
}

static struct dict_entry *get(struct dict *d, uint32_t id)
{
    char k[KEY_MAX];
    size_t n = make_key(id, k);
    return dict_find(d, k, n);
}

static bool del(struct dict *d, uint32_t id)
{
    char k[KEY_MAX];
    size_t n = make_key(id, k);
    return dict_delete(d, k, n);
}

/* The entry is the one for its id, byte for byte. */
static void check_entry(const struct dict_entry *e)
{
    char k[KEY_MAX];
    assert_true(e->v.i >= 0 && e->v.i <= UINT32_MAX);
    size_t n = make_key((uint32_t)e->v.i, k);
    assert_int_equal(e->klen, n);
    assert_memory_equal(e->key, k, n);
    assert_int_equal(e->key[n], '\0');
}

/* Advances an incremental rehash by one step without changing content. */
static void poke(struct dict *d)
{
    static const char missing[] = "\xff\xff\xff\xff no such key";
    assert_null(dict_find(d, missing, sizeof missing - 1));
}

static uint64_t table_size(const struct dict *d)
{
    return d->t[0].size > d->t[1].size ? d->t[0].size : d->t[1].size;
}

/* ---- basic operations ------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    uint64_t rng = 1;
    assert_int_equal(dict_size(&d), 0);
    assert_null(dict_find(&d, "x", 1));
    assert_null(dict_find(&d, "", 0));
    assert_false(dict_delete(&d, "x", 1));
    assert_null(dict_unlink(&d, "x", 1));
    assert_null(dict_random(&d, &rng));
    assert_int_equal(dict_scan(&d, 0, NULL, NULL), 0);
    struct dict_iter it;
    dict_iter_init(&it, &d);
    assert_null(dict_iter_next(&it));
    dict_maybe_shrink(&d);
    dict_clear(&d);
    assert_int_equal(dict_size(&d), 0);
}

static void test_binary_and_empty_keys(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, NULL);
    bool created;
    struct dict_entry *e0 = dict_upsert(&d, "", 0, &created);
    assert_true(created);
    e0->v.i = 1;
    struct dict_entry *e1 = dict_upsert(&d, "\0", 1, &created);
    assert_true(created);
    e1->v.i = 2;
    struct dict_entry *e2 = dict_upsert(&d, "a\0b", 3, &created);
    assert_true(created);
    e2->v.i = 3;
    struct dict_entry *e3 = dict_upsert(&d, "a\0c", 3, &created);
    assert_true(created);
    e3->v.i = 4;
    struct dict_entry *e4 = dict_upsert(&d, "a", 1, &created);
    assert_true(created);
    e4->v.i = 5;
    assert_int_equal(dict_size(&d), 5);

    assert_ptr_equal(dict_find(&d, "", 0), e0);
    assert_ptr_equal(dict_find(&d, "\0", 1), e1);
    assert_ptr_equal(dict_find(&d, "a\0b", 3), e2);
    assert_ptr_equal(dict_find(&d, "a\0c", 3), e3);
    assert_ptr_equal(dict_find(&d, "a", 1), e4);
    assert_null(dict_find(&d, "\0\0", 2));
    assert_null(dict_find(&d, "a\0", 2));
    assert_int_equal(e0->klen, 0);
    assert_int_equal(e0->key[0], '\0');
    assert_memory_equal(e2->key, "a\0b", 4); /* with the trailing NUL */

    /* Upserting an existing key returns the same entry untouched. */
    assert_ptr_equal(dict_upsert(&d, "a\0b", 3, &created), e2);
    assert_false(created);
    assert_int_equal(e2->v.i, 3);

    assert_true(dict_delete(&d, "", 0));
    assert_null(dict_find(&d, "", 0));
    assert_ptr_equal(dict_find(&d, "\0", 1), e1);
    assert_false(dict_delete(&d, "", 0));
    dict_clear(&d);
}

/* 100k keys: insert, find, delete half, find again; lookups while a
 * rehash is in progress, including a full verification pass that starts
 * right after a large table began to grow. */
#define MANY 100000u
static void test_many_keys_and_rehash(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    freed = 0;
    uint64_t rng = 42;
    size_t finds_mid_rehash = 0;
    bool full_check_done = false;
    for (uint32_t i = 0; i < MANY; i++) {
        bool was_rehashing = d.rehash_index >= 0;
        put(&d, i);
        assert_int_equal(dict_size(&d), i + 1);
        if (d.rehash_index >= 0) {
            /* Spot check an older key while both tables are live. */
            uint32_t j = (uint32_t)(dict_rand64(&rng) % (i + 1));
            struct dict_entry *e = get(&d, j);
            assert_non_null(e);
            assert_int_equal(e->v.i, j);
            finds_mid_rehash++;
        }
        /* A large table just started growing: every key must be found
         * while buckets move from t[0] to t[1] under our feet. */
        if (!full_check_done && !was_rehashing && d.rehash_index >= 0 && d.t[0].size >= 32768) {
            full_check_done = true;
            size_t seen_rehashing = 0;
            for (uint32_t j = 0; j <= i; j++) {
                if (d.rehash_index >= 0) seen_rehashing++;
                struct dict_entry *e = get(&d, j);
                assert_non_null(e);
                check_entry(e);
                assert_int_equal(e->v.i, j);
            }
            assert_true(seen_rehashing > 1000);
            assert_int_equal(dict_size(&d), i + 1);
        }
    }
    assert_true(full_check_done);
    assert_true(finds_mid_rehash > 1000);

    for (uint32_t i = 0; i < MANY; i++) {
        struct dict_entry *e = get(&d, i);
        assert_non_null(e);
        check_entry(e);
    }
    for (uint32_t i = MANY; i < MANY + 1000; i++) assert_null(get(&d, i));

    /* Delete the odd ids. */
    for (uint32_t i = 1; i < MANY; i += 2) assert_true(del(&d, i));
    assert_int_equal(freed, MANY / 2);
    assert_int_equal(dict_size(&d), MANY / 2);
    for (uint32_t i = 0; i < MANY; i++) {
        struct dict_entry *e = get(&d, i);
        if (i % 2) {
            assert_null(e);
            assert_false(del(&d, i));
        } else {
            assert_non_null(e);
            assert_int_equal(e->v.i, i);
        }
    }
    assert_int_equal(freed, MANY / 2);
    dict_clear(&d);
    assert_int_equal(freed, MANY);
    assert_int_equal(dict_size(&d), 0);
    assert_int_equal(d.rehash_index, -1);
}

/* Deleting while rehashing finds keys in either table. */
static void test_delete_mid_rehash(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    freed = 0;
    uint32_t n = 0;
    /* Fill until a rehash of a table with >= 1024 buckets starts. */
    for (;;) {
        put(&d, n++);
        if (d.rehash_index >= 0 && d.t[0].size >= 1024) break;
    }
    size_t deleted_mid = 0;
    for (uint32_t i = 0; i < n; i += 3) {
        if (d.rehash_index >= 0) deleted_mid++;
        assert_true(del(&d, i));
    }
    assert_true(deleted_mid > 10);
    for (uint32_t i = 0; i < n; i++) {
        if (i % 3 == 0) assert_null(get(&d, i));
        else assert_non_null(get(&d, i));
    }
    assert_int_equal(dict_size(&d) + freed, n);
    dict_clear(&d);
    assert_int_equal(freed, n);
}

static void test_unlink(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    freed = 0;
    for (uint32_t i = 0; i < 1000; i++) put(&d, i);
    for (uint32_t i = 0; i < 1000; i += 2) {
        char k[KEY_MAX];
        size_t n = make_key(i, k);
        struct dict_entry *e = dict_unlink(&d, k, n);
        assert_non_null(e);
        check_entry(e);
        assert_int_equal(e->v.i, i);
        assert_null(e->next);
        /* Gone from the dict, not yet freed. */
        assert_null(dict_find(&d, k, n));
        assert_int_equal(freed, i / 2);
        assert_null(dict_unlink(&d, k, n));
        dict_entry_free(&d, e);
        assert_int_equal(freed, i / 2 + 1);
    }
    assert_int_equal(dict_size(&d), 500);
    for (uint32_t i = 1; i < 1000; i += 2) assert_non_null(get(&d, i));
    dict_clear(&d);
    assert_int_equal(freed, 1000);
}

static void test_clear_keeps_usable(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    freed = 0;
    uint32_t n = 0;
    /* Clear in the middle of a rehash. */
    for (;;) {
        put(&d, n++);
        if (d.rehash_index >= 0 && d.t[0].size >= 256) break;
    }
    dict_clear(&d);
    assert_int_equal(freed, n);
    assert_int_equal(dict_size(&d), 0);
    assert_int_equal(d.rehash_index, -1);
    assert_int_equal(dict_overhead_bytes(&d), 0);
    for (uint32_t i = 0; i < n; i++) assert_null(get(&d, i));
    for (uint32_t i = 0; i < 100; i++) put(&d, i);
    for (uint32_t i = 0; i < 100; i++) assert_int_equal(get(&d, i)->v.i, i);
    dict_clear(&d);
    dict_clear(&d); /* twice is fine */
    assert_int_equal(freed, n + 100);
}

static void test_shrink(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    freed = 0;
    const uint32_t n = 20000;
    for (uint32_t i = 0; i < n; i++) put(&d, i);
    while (d.rehash_index >= 0) poke(&d);
    uint64_t big = d.t[0].size;
    assert_true(big >= n);
    /* Not oversized yet: no shrink. */
    dict_maybe_shrink(&d);
    assert_int_equal(d.rehash_index, -1);
    assert_int_equal(d.t[0].size, big);

    for (uint32_t i = 0; i < n; i++)
        if (i % 100) assert_true(del(&d, i));
    assert_int_equal(dict_size(&d), n / 100);
    dict_maybe_shrink(&d);
    /* The shrink rehash runs incrementally; keys stay reachable. */
    assert_true(d.rehash_index >= 0);
    assert_true(d.t[1].size < d.t[0].size);
    size_t rounds = 0;
    while (d.rehash_index >= 0) {
        for (uint32_t i = 0; i < n; i += 100) {
            struct dict_entry *e = get(&d, i);
            assert_non_null(e);
            assert_int_equal(e->v.i, i);
        }
        rounds++;
        assert_true(rounds < 100000);
    }
    assert_true(d.t[0].size < big);
    assert_true(d.t[0].size <= 4 * (n / 100));
    assert_int_equal(d.t[1].size, 0);
    assert_true(dict_overhead_bytes(&d) < big * sizeof(void *));
    for (uint32_t i = 0; i < n; i++) {
        if (i % 100) assert_null(get(&d, i));
        else assert_int_equal(get(&d, i)->v.i, i);
    }
    assert_int_equal(dict_size(&d), n / 100);

    /* Shrinking an emptied table, and growing again afterwards. */
    for (uint32_t i = 0; i < n; i += 100) assert_true(del(&d, i));
    dict_maybe_shrink(&d);
    while (d.rehash_index >= 0) poke(&d);
    assert_true(d.t[0].size <= 4);
    for (uint32_t i = 0; i < 1000; i++) put(&d, i);
    for (uint32_t i = 0; i < 1000; i++) assert_int_equal(get(&d, i)->v.i, i);
    dict_clear(&d);
    assert_int_equal(freed, n + 1000);
}

static void test_random(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, count_free);
    uint64_t rng = 7;
    /* A small set: only members come back, and all of them eventually. */
    for (uint32_t i = 0; i < 5; i++) put(&d, i);
    int hits[5] = {0};
    for (int k = 0; k < 10000; k++) {
        struct dict_entry *e = dict_random(&d, &rng);
        assert_non_null(e);
        check_entry(e);
        assert_true(e->v.i >= 0 && e->v.i < 5);
        hits[e->v.i]++;
    }
    for (int i = 0; i < 5; i++) assert_true(hits[i] > 0);

    /* One key. */
    dict_clear(&d);
    put(&d, 77);
    for (int k = 0; k < 100; k++) assert_int_equal(dict_random(&d, &rng)->v.i, 77);

    /* A sparse table (most keys deleted, no shrink) and a rehashing one:
     * only live entries come back. */
    dict_clear(&d);
    const uint32_t n = 5000;
    bool *live = xcalloc(n, sizeof *live);
    for (uint32_t i = 0; i < n; i++) {
        put(&d, i);
        live[i] = true;
    }
    for (uint32_t i = 0; i < n; i++)
        if (i % 250) {
            assert_true(del(&d, i));
            live[i] = false;
        }
    int seen[20] = {0};
    for (int k = 0; k < 20000; k++) {
        struct dict_entry *e = dict_random(&d, &rng);
        assert_non_null(e);
        assert_true(e->v.i >= 0 && (uint32_t)e->v.i < n && live[e->v.i]);
        seen[e->v.i / 250]++;
    }
    for (int i = 0; i < 20; i++) assert_true(seen[i] > 0);
    /* Now shrink: the dict rehashes while we draw. */
    dict_maybe_shrink(&d);
    assert_true(d.rehash_index >= 0);
    size_t drawn_mid = 0;
    for (int k = 0; k < 20000; k++) {
        if (d.rehash_index >= 0) drawn_mid++;
        struct dict_entry *e = dict_random(&d, &rng);
        assert_non_null(e);
        assert_true(e->v.i >= 0 && (uint32_t)e->v.i < n && live[e->v.i]);
    }
    assert_true(drawn_mid > 0);
    free(live);
    dict_clear(&d);
}

/* ---- iteration ---------------------------------------------------------- */

static void iterate_exactly_once(struct dict *d, uint32_t n)
{
    unsigned *count = xcalloc(n, sizeof *count);
    struct dict_iter it;
    dict_iter_init(&it, d);
    struct dict_entry *e;
    uint64_t total = 0;
    while ((e = dict_iter_next(&it)) != NULL) {
        check_entry(e);
        assert_true(e->v.i >= 0 && (uint32_t)e->v.i < n);
        count[e->v.i]++;
        total++;
    }
    assert_null(dict_iter_next(&it)); /* stays exhausted */
    assert_int_equal(total, dict_size(d));
    for (uint32_t i = 0; i < n; i++) {
        bool present = get(d, i) != NULL;
        assert_int_equal(count[i], present ? 1 : 0);
    }
    free(count);
}

static void test_iter(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, NULL);
    uint32_t n = 0;
    while (!(d.rehash_index >= 0 && d.t[0].size >= 4096)) put(&d, n++);
    /* Iterate with the rehash frozen mid-way: move some buckets first. */
    for (int i = 0; i < 1000; i++) poke(&d);
    assert_true(d.rehash_index > 0);
    assert_true(d.t[0].used > 0 && d.t[1].used > 0);
    unsigned *count = xcalloc(n, sizeof *count);
    struct dict_iter it;
    dict_iter_init(&it, &d);
    struct dict_entry *e;
    uint64_t total = 0;
    while ((e = dict_iter_next(&it)) != NULL) {
        assert_true(e->v.i >= 0 && (uint32_t)e->v.i < n);
        count[e->v.i]++;
        total++;
    }
    assert_true(d.rehash_index > 0); /* iteration did not step the rehash */
    assert_int_equal(total, n);
    for (uint32_t i = 0; i < n; i++) assert_int_equal(count[i], 1);
    free(count);

    /* And on a settled table with holes. */
    while (d.rehash_index >= 0) poke(&d);
    for (uint32_t i = 0; i < n; i += 3) assert_true(del(&d, i));
    iterate_exactly_once(&d, n);
    dict_clear(&d);
}

/* ---- SCAN --------------------------------------------------------------- */

struct scan_state {
    uint32_t n;        /* ids are < n */
    unsigned *count;   /* times returned */
    bool *live;        /* currently in the dict */
};

static void scan_cb(void *ctx, struct dict_entry *e)
{
    struct scan_state *s = ctx;
    check_entry(e);
    assert_true(e->v.i >= 0 && (uint32_t)e->v.i < s->n);
    assert_true(s->live[e->v.i]); /* never a deleted entry */
    s->count[e->v.i]++;
}

static void scan_state_init(struct scan_state *s, uint32_t n)
{
    s->n = n;
    s->count = xcalloc(n, sizeof *s->count);
    s->live = xcalloc(n, sizeof *s->live);
}

static void scan_state_free(struct scan_state *s)
{
    free(s->count);
    free(s->live);
}

/* Calls allowed for a scan over tables of at most max_size buckets: one
 * per bucket of the largest table, with slack. */
static size_t scan_bound(uint64_t max_size)
{
    return (size_t)(2 * max_size + 16);
}

static void test_scan_static(void **state)
{
    (void)state;
    const uint32_t sizes[] = {0, 1, 3, 4, 5, 100, 4096, 50000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t n = sizes[k];
        struct dict d;
        dict_init(&d, NULL);
        struct scan_state s;
        scan_state_init(&s, n + 1);
        for (uint32_t i = 0; i < n; i++) {
            put(&d, i);
            s.live[i] = true;
        }
        while (d.rehash_index >= 0) poke(&d);
        uint64_t cursor = 0;
        size_t calls = 0;
        do {
            cursor = dict_scan(&d, cursor, scan_cb, &s);
            calls++;
            assert_true(calls <= scan_bound(table_size(&d)));
        } while (cursor != 0);
        /* A static table: every key exactly once, one call per bucket. */
        for (uint32_t i = 0; i < n; i++) assert_int_equal(s.count[i], 1);
        if (n) assert_int_equal(calls, d.t[0].size);
        scan_state_free(&s);
        dict_clear(&d);
    }
}

/* The table keeps growing (and rehashing) between scan calls. */
static void test_scan_grow(void **state)
{
    (void)state;
    const uint32_t first = 1000, last = 120000;
    struct dict d;
    dict_init(&d, NULL);
    struct scan_state s;
    scan_state_init(&s, last);
    for (uint32_t i = 0; i < first; i++) {
        put(&d, i);
        s.live[i] = true;
    }
    uint32_t next = first;
    uint64_t cursor = 0, max_size = table_size(&d), start_size = max_size;
    size_t calls = 0, calls_rehashing = 0;
    do {
        cursor = dict_scan(&d, cursor, scan_cb, &s);
        calls++;
        for (int j = 0; j < 50 && next < last; j++, next++) {
            s.live[next] = true;
            put(&d, next);
        }
        if (d.rehash_index >= 0) calls_rehashing++;
        if (table_size(&d) > max_size) max_size = table_size(&d);
        assert_true(calls <= scan_bound(max_size));
    } while (cursor != 0);
    assert_true(max_size >= 16 * start_size); /* it really grew */
    assert_true(calls_rehashing > 0);
    for (uint32_t i = 0; i < first; i++) assert_true(s.count[i] >= 1);
    scan_state_free(&s);
    dict_clear(&d);
}

/* Keys are deleted and the table shrinks between scan calls. */
static void test_scan_shrink(void **state)
{
    (void)state;
    const uint32_t n = 40000;
    struct dict d;
    dict_init(&d, NULL);
    struct scan_state s;
    scan_state_init(&s, n);
    for (uint32_t i = 0; i < n; i++) {
        put(&d, i);
        s.live[i] = true;
    }
    while (d.rehash_index >= 0) poke(&d);
    uint64_t start_size = d.t[0].size, min_size = start_size;
    /* Keys with id % 97 == 0 stay for the whole scan; the rest go. */
    uint32_t victim = 0;
    uint64_t cursor = 0;
    size_t calls = 0, shrinks = 0;
    do {
        cursor = dict_scan(&d, cursor, scan_cb, &s);
        calls++;
        for (int j = 0; j < 400 && victim < n; victim++) {
            if (victim % 97 == 0) continue;
            s.live[victim] = false;
            assert_true(del(&d, victim));
            j++;
        }
        bool was = d.rehash_index >= 0;
        dict_maybe_shrink(&d);
        if (!was && d.rehash_index >= 0) shrinks++;
        for (int j = 0; j < 20; j++) poke(&d);
        uint64_t sz = d.rehash_index >= 0 ? d.t[1].size : d.t[0].size;
        if (sz < min_size) min_size = sz;
        assert_true(calls <= scan_bound(start_size));
    } while (cursor != 0);
    for (uint32_t i = 0; i < n; i += 97) assert_true(s.count[i] >= 1);
    /* The scan may end before every victim was deleted; the table must
     * have shrunk at least once while it ran. */
    assert_true(shrinks > 0);
    assert_true(min_size < start_size);
    scan_state_free(&s);
    dict_clear(&d);
}

/* Scan over a dict that stays in the middle of a rehash for the whole scan
 * (nothing else touches it), growing or shrinking. */
static void scan_frozen(struct dict *d, uint32_t n, bool *live)
{
    struct scan_state s;
    scan_state_init(&s, n);
    memcpy(s.live, live, n * sizeof *live);
    int64_t ri = d->rehash_index;
    assert_true(ri >= 0);
    uint64_t cursor = 0;
    size_t calls = 0;
    do {
        cursor = dict_scan(d, cursor, scan_cb, &s);
        calls++;
        assert_true(calls <= scan_bound(table_size(d)));
    } while (cursor != 0);
    assert_int_equal(d->rehash_index, ri); /* scan does not step the rehash */
    for (uint32_t i = 0; i < n; i++) assert_int_equal(s.count[i] >= 1, live[i]);
    scan_state_free(&s);
}

static void test_scan_rehashing_frozen(void **state)
{
    (void)state;
    struct dict d;
    dict_init(&d, NULL);
    const uint32_t cap = 20000;
    bool *live = xcalloc(cap, sizeof *live);
    uint32_t n = 0;
    /* Growing: stop right after a rehash to >= 8192 buckets started,
     * then move part of it. */
    while (!(d.rehash_index >= 0 && d.t[0].size >= 4096)) {
        live[n] = true;
        put(&d, n++);
    }
    for (int i = 0; i < 1500; i++) poke(&d);
    assert_true(d.rehash_index > 0 && d.t[0].used > 0 && d.t[1].used > 0);
    assert_true(d.t[1].size > d.t[0].size);
    scan_frozen(&d, cap, live);

    /* Shrinking: t[0] is the large table. */
    while (d.rehash_index >= 0) poke(&d);
    for (uint32_t i = 0; i < n; i++)
        if (i % 50) {
            assert_true(del(&d, i));
            live[i] = false;
        }
    dict_maybe_shrink(&d);
    assert_true(d.rehash_index >= 0 && d.t[1].size < d.t[0].size);
    scan_frozen(&d, cap, live);
    for (int i = 0; i < 300; i++) poke(&d);
    if (d.rehash_index >= 0) {
        assert_true(d.rehash_index > 0);
        scan_frozen(&d, cap, live);
    }
    free(live);
    dict_clear(&d);
}

/* The rehash progresses (and new ones start) between scan calls, with a
 * mix of inserts, deletes of other keys and lookups. */
static void test_scan_rehashing_progress(void **state)
{
    (void)state;
    const uint32_t cap = 200000;
    for (int round = 0; round < 3; round++) {
        struct dict d;
        dict_init(&d, NULL);
        struct scan_state s;
        scan_state_init(&s, cap);
        uint32_t n = 0;
        /* Permanent keys: ids < base. */
        uint32_t base = 3000u << round;
        while (n < base || d.rehash_index < 0) {
            s.live[n] = true;
            put(&d, n++);
        }
        uint32_t permanent = n;
        uint64_t cursor = 0, max_size = table_size(&d);
        size_t calls = 0, calls_rehashing = 0;
        uint64_t rng = (uint64_t)round + 99;
        do {
            if (d.rehash_index >= 0) calls_rehashing++;
            cursor = dict_scan(&d, cursor, scan_cb, &s);
            calls++;
            for (int j = 0; j < 30 && n < cap; j++) {
                s.live[n] = true;
                put(&d, n++);
            }
            /* Delete a few non-permanent keys. */
            for (int j = 0; j < 10 && n > permanent; j++) {
                uint32_t v = permanent + (uint32_t)(dict_rand64(&rng) % (n - permanent));
                if (s.live[v]) {
                    s.live[v] = false;
                    assert_true(del(&d, v));
                }
            }
            poke(&d);
            if (table_size(&d) > max_size) max_size = table_size(&d);
            assert_true(calls <= scan_bound(max_size));
        } while (cursor != 0);
        assert_true(calls_rehashing > 0);
        for (uint32_t i = 0; i < permanent; i++) assert_true(s.count[i] >= 1);
        scan_state_free(&s);
        dict_clear(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_binary_and_empty_keys),
        cmocka_unit_test(test_many_keys_and_rehash),
        cmocka_unit_test(test_delete_mid_rehash),
        cmocka_unit_test(test_unlink),
        cmocka_unit_test(test_clear_keeps_usable),
        cmocka_unit_test(test_shrink),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_iter),
        cmocka_unit_test(test_scan_static),
        cmocka_unit_test(test_scan_grow),
        cmocka_unit_test(test_scan_shrink),
        cmocka_unit_test(test_scan_rehashing_frozen),
        cmocka_unit_test(test_scan_rehashing_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
