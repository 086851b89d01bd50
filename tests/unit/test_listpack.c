/* tests/unit/test_listpack.c — the compact element sequence
 * (store/listpack.c).
 *
 * Append-only file shared by the helpers that build on listpacks: add
 * tests at the end and register them in main's table.
 *
 * Covers: appending, walking forwards and backwards, integers stored as
 * integers, lp_find with and without skipping (field/value pairs), delete
 * and replace, and lp_valid on hand-built bytes: it must refuse an element
 * that is not in the form the writer produces (a canonical integer kept as
 * a string, an integer tag with stray bits), because lp_find compares
 * integers with integers and would never find such an element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/listpack.h"

#define S(lit) lit, sizeof(lit) - 1

static void assert_elem(const unsigned char *lp, size_t pos, const char *s, size_t len)
{
    char tmp[24];
    size_t got;
    const char *p = lp_get_str(lp, pos, tmp, &got);
    assert_int_equal(got, len);
    if (len) assert_memory_equal(p, s, len);
}

static void test_append_walk(void **state)
{
    (void)state;
    unsigned char *lp = lp_new();
    lp = lp_append(lp, S("a"));
    lp = lp_append(lp, S("-42"));
    lp = lp_append(lp, S("hello world"));
    lp = lp_append(lp, S(""));
    lp = lp_append(lp, S("9223372036854775807"));
    assert_int_equal(lp_count(lp), 5);
    assert_true(lp_valid(lp, lp_bytes(lp)));
    size_t pos = lp_first(lp);
    assert_elem(lp, pos, S("a"));
    pos = lp_next(lp, pos);
    struct lp_value v;
    lp_get(lp, pos, &v);
    assert_null(v.p);
    assert_int_equal(v.i, -42);
    pos = lp_last(lp);
    assert_elem(lp, pos, S("9223372036854775807"));
    pos = lp_prev(lp, pos);
    assert_elem(lp, pos, S(""));
    pos = lp_prev(lp, pos);
    assert_elem(lp, pos, S("hello world"));
    assert_elem(lp, lp_seek(lp, -4), S("-42"));
    assert_int_equal(lp_seek(lp, 5), 0);
    lp_free(lp);
}

static void test_find_pairs(void **state)
{
    (void)state;
    unsigned char *lp = lp_new();
    /* field/value pairs where a value equals a later field */
    const char *items[] = {"f1", "f2", "f2", "10", "10", "x"};
    for (int i = 0; i < 6; i++) lp = lp_append(lp, items[i], strlen(items[i]));
    size_t f2 = lp_find(lp, lp_first(lp), S("f2"), 1);
    assert_int_equal(f2, lp_seek(lp, 2));
    size_t ten = lp_find(lp, lp_first(lp), S("10"), 1);
    assert_int_equal(ten, lp_seek(lp, 4));
    assert_int_equal(lp_find(lp, lp_first(lp), S("x"), 1), 0);
    assert_int_equal(lp_find(lp, lp_first(lp), S("x"), 0), lp_seek(lp, 5));
    lp_free(lp);
}

static void test_delete_replace(void **state)
{
    (void)state;
    unsigned char *lp = lp_new();
    for (int i = 0; i < 6; i++) {
        char b[8];
        int n = snprintf(b, sizeof b, "e%d", i);
        lp = lp_append(lp, b, (size_t)n);
    }
    size_t next;
    lp = lp_delete(lp, lp_seek(lp, 2), 2, &next);
    assert_int_equal(lp_count(lp), 4);
    assert_elem(lp, next, S("e4"));
    lp = lp_replace(lp, lp_seek(lp, 0), S("12345"));
    assert_elem(lp, lp_seek(lp, 0), S("12345"));
    assert_elem(lp, lp_seek(lp, 1), S("e1"));
    lp = lp_delete(lp, lp_seek(lp, 3), 5, &next);
    assert_int_equal(next, 0);
    assert_int_equal(lp_count(lp), 3);
    assert_true(lp_valid(lp, lp_bytes(lp)));
    lp_free(lp);
}

/* A one-element listpack holding `entry` verbatim. */
static unsigned char *one_entry(const unsigned char *entry, size_t n, size_t *bytes)
{
    *bytes = LP_HEADER + n;
    unsigned char *lp = malloc(*bytes);
    assert_non_null(lp);
    for (int i = 0; i < 4; i++) lp[i] = (unsigned char)(*bytes >> (8 * i));
    lp[4] = 1;
    lp[5] = lp[6] = lp[7] = 0;
    memcpy(lp + LP_HEADER, entry, n);
    return lp;
}

static void test_valid_refuses_noncanonical_elements(void **state)
{
    (void)state;
    size_t bytes;
    /* The string "ab": tag 2<<1, payload, backlen 3 — well formed. */
    static const unsigned char ok[] = {4, 'a', 'b', 3};
    unsigned char *lp = one_entry(ok, sizeof ok, &bytes);
    assert_true(lp_valid(lp, bytes));
    free(lp);
    /* The string "5": a canonical integer the writer would store as one. */
    static const unsigned char str5[] = {2, '5', 2};
    lp = one_entry(str5, sizeof str5, &bytes);
    assert_false(lp_valid(lp, bytes));
    free(lp);
    /* "05" is not canonical, so it is a legitimate string. */
    static const unsigned char str05[] = {4, '0', '5', 3};
    lp = one_entry(str05, sizeof str05, &bytes);
    assert_true(lp_valid(lp, bytes));
    free(lp);
    /* The integer 5 (tag 1, zigzag 10, backlen 2), then with tag 3. */
    static const unsigned char int5[] = {1, 10, 2};
    lp = one_entry(int5, sizeof int5, &bytes);
    assert_true(lp_valid(lp, bytes));
    free(lp);
    static const unsigned char bad_tag[] = {3, 10, 2};
    lp = one_entry(bad_tag, sizeof bad_tag, &bytes);
    assert_false(lp_valid(lp, bytes));
    free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_walk),
        cmocka_unit_test(test_find_pairs),
        cmocka_unit_test(test_delete_replace),
        cmocka_unit_test(test_valid_refuses_noncanonical_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
