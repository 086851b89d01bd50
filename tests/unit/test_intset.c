/* tests/unit/test_intset.c — the sorted integer array (store/intset.c).
 *
 * Covers: members kept ascending and distinct against a reference model
 * under thousands of random adds and removes; the width growing 2 -> 4 -> 8
 * bytes exactly at the int16/int32 limits and never shrinking (as Redis's
 * intset); lookups of values wider than the current width; remove_at;
 * dup; and the snapshot form: a round trip keeps members and width, and
 * intset_decode refuses a bad width, a count the bytes do not hold,
 * members out of order or repeated, and every truncation, consuming
 * exactly the intset's bytes when it succeeds. */
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
#include "store/intset.h"

static struct intset *add(struct intset *is, int64_t v, bool expect_added)
{
    bool added;
    is = intset_add(is, v, &added);
    assert_int_equal(added, expect_added);
    return is;
}

static void assert_members(const struct intset *is, const int64_t *want, uint32_t n)
{
    assert_int_equal(intset_len(is), n);
    for (uint32_t i = 0; i < n; i++) assert_int_equal(intset_get(is, i), want[i]);
}

static void test_sorted_distinct(void **state)
{
    (void)state;
    struct intset *is = intset_new();
    assert_int_equal(intset_len(is), 0);
    assert_false(intset_find(is, 0, NULL));
    is = add(is, 5, true);
    is = add(is, -3, true);
    is = add(is, 10, true);
    is = add(is, 5, false);
    is = add(is, 0, true);
    static const int64_t want[] = {-3, 0, 5, 10};
    assert_members(is, want, 4);
    uint32_t at;
    assert_true(intset_find(is, 5, &at));
    assert_int_equal(at, 2);
    assert_false(intset_find(is, 7, &at));
    assert_int_equal(at, 3); /* where 7 would go */
    bool removed;
    is = intset_remove(is, 0, &removed);
    assert_true(removed);
    is = intset_remove(is, 0, &removed);
    assert_false(removed);
    is = intset_remove_at(is, 0);
    static const int64_t after[] = {5, 10};
    assert_members(is, after, 2);
    intset_free(is);
}

static void test_width_grows_never_shrinks(void **state)
{
    (void)state;
    struct intset *is = intset_new();
    is = add(is, INT16_MAX, true);
    assert_int_equal(intset_width(is), 2);
    is = add(is, INT16_MIN, true);
    assert_int_equal(intset_width(is), 2);
    is = add(is, INT16_MAX + 1, true);
    assert_int_equal(intset_width(is), 4);
    is = add(is, INT32_MIN, true);
    assert_int_equal(intset_width(is), 4);
    /* Values wider than the width are found absent, at either end. */
    uint32_t at;
    assert_false(intset_find(is, (int64_t)INT32_MAX + 1, &at));
    assert_int_equal(at, intset_len(is));
    assert_false(intset_find(is, (int64_t)INT32_MIN - 1, &at));
    assert_int_equal(at, 0);
    is = add(is, INT64_MIN, true);
    assert_int_equal(intset_width(is), 8);
    is = add(is, INT64_MAX, true);
    static const int64_t want[] = {INT64_MIN, INT32_MIN, INT16_MIN, INT16_MAX, INT16_MAX + 1,
                                   INT64_MAX};
    assert_members(is, want, 6);
    bool removed;
    is = intset_remove(is, INT64_MIN, &removed);
    is = intset_remove(is, INT64_MAX, &removed);
    is = intset_remove(is, INT32_MIN, &removed);
    assert_int_equal(intset_width(is), 8); /* as in Redis: no downgrade */
    assert_int_equal(intset_bytes(is), 8 + 3 * 8);
    intset_free(is);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_random_against_model(void **state)
{
    (void)state;
    uint64_t rng = 42;
    struct intset *is = intset_new();
    int64_t model[600];
    uint32_t n = 0;
    for (int step = 0; step < 20000; step++) {
        uint64_t r = dict_rand64(&rng);
        int64_t v;
        switch (r % 3) {
        case 0: v = (int64_t)(r >> 8) % 100; break;
        case 1: v = (int64_t)(r >> 8) % 100000; break;
        default: v = (int64_t)(r >> 2); break;
        }
        if (r & (1ull << 60)) v = -v;
        bool present = false;
        for (uint32_t i = 0; i < n; i++) present |= model[i] == v;
        if ((r >> 61) % 2 == 0 && n < 600) {
            is = add(is, v, !present);
            if (!present) model[n++] = v;
        } else {
            bool removed;
            is = intset_remove(is, v, &removed);
            assert_int_equal(removed, present);
            for (uint32_t i = 0; present && i < n; i++)
                if (model[i] == v) model[i] = model[--n];
        }
        if (step % 97 == 0) {
            int64_t sorted[600];
            memcpy(sorted, model, n * sizeof *model);
            qsort(sorted, n, sizeof *sorted, cmp64);
            assert_members(is, sorted, n);
        }
    }
    intset_free(is);
}

static void test_dup(void **state)
{
    (void)state;
    struct intset *is = intset_new();
    for (int i = 0; i < 100; i++) is = add(is, i * 1000, true);
    struct intset *copy = intset_dup(is);
    is = add(is, 7, true);
    assert_int_equal(intset_len(copy), 100);
    assert_false(intset_find(copy, 7, NULL));
    assert_int_equal(intset_width(copy), intset_width(is));
    intset_free(is);
    intset_free(copy);
}

/* ---- snapshot form ---------------------------------------------------- */

static struct intset *decode_exact(const void *p, size_t len, size_t *left)
{
    char *copy = xmalloc(len ? len : 1);
    if (len) memcpy(copy, p, len);
    struct reader r;
    reader_init(&r, copy, len);
    struct intset *is = intset_decode(&r);
    if (left) *left = reader_left(&r);
    free(copy);
    return is;
}

static void test_encode_decode(void **state)
{
    (void)state;
    struct intset *is = intset_new();
    is = add(is, -70000, true);
    is = add(is, 3, true);
    is = add(is, 9, true);
    struct buf out = BUF_INIT;
    buf_append(&out, "x", 1); /* the encoder appends */
    intset_encode(is, &out);
    buf_append(&out, "tail", 4);
    size_t left;
    struct intset *back = decode_exact(out.data + 1, out.len - 1, &left);
    assert_non_null(back);
    assert_int_equal(left, 4);
    static const int64_t want[] = {-70000, 3, 9};
    assert_members(back, want, 3);
    assert_int_equal(intset_width(back), 4);
    intset_free(back);
    /* Every truncation of the intset's own bytes fails. */
    size_t whole = out.len - 1 - 4;
    for (size_t len = 0; len < whole; len++) assert_null(decode_exact(out.data + 1, len, NULL));
    buf_free(&out);
    intset_free(is);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void test_decode_refuses_malformed(void **state)
{
    (void)state;
    unsigned char b[8 + 3 * 2];
    /* A good one first: width 2, members 1, 2, 3. */
    put32(b, 2);
    put32(b + 4, 3);
    b[8] = 1, b[9] = 0, b[10] = 2, b[11] = 0, b[12] = 3, b[13] = 0;
    struct intset *ok = decode_exact(b, sizeof b, NULL);
    assert_non_null(ok);
    intset_free(ok);
    unsigned char bad[sizeof b];
    memcpy(bad, b, sizeof b);
    put32(bad, 3); /* width */
    assert_null(decode_exact(bad, sizeof bad, NULL));
    put32(bad, 0);
    assert_null(decode_exact(bad, sizeof bad, NULL));
    memcpy(bad, b, sizeof b);
    put32(bad + 4, 4); /* more members than bytes */
    assert_null(decode_exact(bad, sizeof bad, NULL));
    put32(bad + 4, 0xffffffffu);
    assert_null(decode_exact(bad, sizeof bad, NULL));
    memcpy(bad, b, sizeof b);
    bad[10] = 1; /* 1, 1, 3: repeated */
    assert_null(decode_exact(bad, sizeof bad, NULL));
    memcpy(bad, b, sizeof b);
    bad[12] = 0; /* 1, 2, 0: out of order */
    assert_null(decode_exact(bad, sizeof bad, NULL));
    memcpy(bad, b, sizeof b);
    bad[9] = 0xff; /* -255 after... first member -255, fine; then 2, 3 */
    struct intset *neg = decode_exact(bad, sizeof bad, NULL);
    assert_non_null(neg);
    assert_int_equal(intset_get(neg, 0), -255);
    intset_free(neg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_distinct),
        cmocka_unit_test(test_width_grows_never_shrinks),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_decode_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
