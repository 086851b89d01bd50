/* tests/unit/test_dset.c — the set with a replicated member order
 * (store/dset.c).
 *
 * Covers: add/remove/contains against a reference model under random
 * operations, with the invariant items[i]->slot == i checked throughout;
 * removal moving the last member into the hole (the documented order);
 * remove_at; unlink (out of dict and array, entry still the caller's);
 * an embedded dset (init/clear, usable again after clear, values freed);
 * dup keeping the order; and the property the type exists for:
 * the same sequence of operations gives the same member order under two
 * different hash seeds (different bucket layouts, different rehash
 * timing), so that an index picks the same member on every replica. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"
#include "store/dset.h"

#define S(lit) lit, sizeof(lit) - 1

static void check_invariants(const struct dset *s)
{
    assert_int_equal(dict_size(&s->d), s->n);
    assert_true(s->n <= s->cap);
    for (size_t i = 0; i < s->n; i++) assert_int_equal(s->items[i]->slot, i);
}

static void assert_at(const struct dset *s, size_t i, const char *m, size_t len)
{
    const struct dict_entry *e = dset_at(s, i);
    assert_int_equal(e->klen, len);
    assert_memory_equal(e->key, m, len);
}

static void test_order_is_insertion_with_swap_removal(void **state)
{
    (void)state;
    struct dset *s = dset_new(NULL);
    assert_true(dset_add(s, S("a")));
    assert_true(dset_add(s, S("b")));
    assert_true(dset_add(s, S("c")));
    assert_true(dset_add(s, S("d")));
    assert_false(dset_add(s, S("b")));
    assert_int_equal(dset_size(s), 4);
    assert_true(dset_remove(s, S("b"))); /* d moves into b's place */
    assert_false(dset_remove(s, S("b")));
    assert_at(s, 0, S("a"));
    assert_at(s, 1, S("d"));
    assert_at(s, 2, S("c"));
    dset_remove_at(s, 0); /* c moves to 0 */
    assert_at(s, 0, S("c"));
    assert_at(s, 1, S("d"));
    dset_remove_at(s, 1); /* the last one: nothing moves */
    assert_at(s, 0, S("c"));
    assert_int_equal(dset_size(s), 1);
    assert_true(dset_contains(s, S("c")));
    assert_false(dset_contains(s, S("a")));
    /* Binary members. */
    assert_true(dset_add(s, "\0x\0", 3));
    assert_true(dset_contains(s, "\0x\0", 3));
    assert_false(dset_contains(s, "\0x", 2));
    check_invariants(s);
    dset_free(s);
}

static size_t member(uint64_t id, char *out)
{
    return (size_t)snprintf(out, 32, "m:%llu", (unsigned long long)id);
}

static void test_random_against_model(void **state)
{
    (void)state;
    enum { RANGE = 3000 };
    bool *in = calloc(RANGE, sizeof *in);
    size_t n = 0;
    uint64_t rng = 7;
    struct dset *s = dset_new(NULL);
    for (int step = 0; step < 60000; step++) {
        uint64_t r = dict_rand64(&rng);
        uint64_t id = r % RANGE;
        char m[32];
        size_t len = member(id, m);
        /* Grow for a while, then shrink, so the array and table shrink too. */
        bool grow = step < 30000 ? (r >> 40) % 4 != 0 : (r >> 40) % 4 == 0;
        if (grow) {
            assert_int_equal(dset_add(s, m, len), !in[id]);
            n += !in[id];
            in[id] = true;
        } else if ((r >> 50) % 2 && dset_size(s) > 0) {
            size_t at = (r >> 20) % dset_size(s);
            const struct dict_entry *e = dset_at(s, at);
            unsigned long long got;
            assert_int_equal(sscanf(e->key, "m:%llu", &got), 1);
            dset_remove_at(s, at);
            in[got] = false;
            n--;
        } else {
            assert_int_equal(dset_remove(s, m, len), in[id]);
            n -= in[id];
            in[id] = false;
        }
        assert_int_equal(dset_size(s), n);
        if (step % 1000 == 0) {
            check_invariants(s);
            for (uint64_t k = 0; k < RANGE; k++) {
                len = member(k, m);
                assert_int_equal(dset_contains(s, m, len), in[k]);
            }
        }
    }
    check_invariants(s);
    dset_free(s);
    free(in);
}

static int freed;

static void count_free(struct dict_entry *e)
{
    (void)e;
    freed++;
}

static void test_embedded_and_unlink(void **state)
{
    (void)state;
    struct dset s;
    dset_init(&s, count_free);
    assert_int_equal(dset_size(&s), 0);
    freed = 0;
    char m[32];
    for (uint64_t i = 0; i < 100; i++) dset_add(&s, m, member(i, m));
    /* Unlink takes the member out like remove (the last fills the hole)
     * but leaves the entry to the caller. */
    struct dict_entry *e = dset_unlink(&s, S("m:10"));
    assert_non_null(e);
    assert_int_equal(e->klen, 4);
    assert_memory_equal(e->key, "m:10", 4);
    assert_int_equal(freed, 0);
    assert_int_equal(dset_size(&s), 99);
    assert_false(dset_contains(&s, S("m:10")));
    assert_at(&s, 10, S("m:99"));
    check_invariants(&s);
    dict_entry_free(&s.d, e);
    assert_int_equal(freed, 1);
    assert_null(dset_unlink(&s, S("m:10")));
    /* Clear frees every value and leaves an empty, usable set. */
    dset_clear(&s);
    assert_int_equal(freed, 100);
    assert_int_equal(dset_size(&s), 0);
    assert_false(dset_contains(&s, S("m:1")));
    assert_true(dset_add(&s, S("again")));
    assert_at(&s, 0, S("again"));
    check_invariants(&s);
    dset_clear(&s);
    assert_int_equal(freed, 101);
}

static void test_dup_keeps_order(void **state)
{
    (void)state;
    struct dset *s = dset_new(NULL);
    char m[32];
    for (uint64_t i = 0; i < 500; i++) dset_add(s, m, member(i * 7919 % 1000, m));
    for (uint64_t i = 0; i < 100; i++) dset_remove(s, m, member(i * 3, m));
    struct dset *copy = dset_dup(s);
    assert_int_equal(dset_size(copy), dset_size(s));
    for (size_t i = 0; i < dset_size(s); i++)
        assert_at(copy, i, dset_at(s, i)->key, dset_at(s, i)->klen);
    check_invariants(copy);
    dset_free(copy);
    dset_free(s);
}

/* Runs a fixed workload and returns the final order as one string. */
static char *workload_order(void)
{
    struct dset *s = dset_new(NULL);
    uint64_t rng = 99;
    char m[32];
    for (int step = 0; step < 20000; step++) {
        uint64_t r = dict_rand64(&rng);
        size_t len = member(r % 5000, m);
        if (r % 3) dset_add(s, m, len);
        else if (dset_size(s)) dset_remove_at(s, (r >> 32) % dset_size(s));
        (void)len;
    }
    size_t total = 1;
    for (size_t i = 0; i < dset_size(s); i++) total += dset_at(s, i)->klen + 1;
    char *out = calloc(1, total);
    for (size_t i = 0; i < dset_size(s); i++) {
        strcat(out, dset_at(s, i)->key);
        strcat(out, ",");
    }
    dset_free(s);
    return out;
}

static void test_order_independent_of_hash_seed(void **state)
{
    (void)state;
    hash_seed_init(1);
    char *a = workload_order();
    hash_seed_init(0xdeadbeefcafef00dull);
    char *b = workload_order();
    hash_seed_init(0x9e3779b97f4a7c15ull);
    assert_true(strlen(a) > 1000);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_is_insertion_with_swap_removal),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_embedded_and_unlink),
        cmocka_unit_test(test_dup_keeps_order),
        cmocka_unit_test(test_order_independent_of_hash_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
