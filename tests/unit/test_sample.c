/* tests/unit/test_sample.c — sample_distinct (cmds/common.c), which
 * SRANDMEMBER and HRANDFIELD use for a positive COUNT.
 *
 * For many (n, k) pairs on both sides of its strategy switch (k*3 > n:
 * shuffle; otherwise Floyd's algorithm): k results, all distinct, all in
 * [0, n) (a Floyd step that kept the colliding index instead of j would
 * repeat one). Over many draws every index is chosen about equally often
 * (each count within 20% of the mean), and the same rng seed gives the
 * same choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmds/cmd.h"

static void check_one(uint64_t n, uint64_t k, uint64_t seed)
{
    uint64_t *out = calloc(k + 1, sizeof *out);
    unsigned char *seen = calloc(n + 1, 1);
    uint64_t rng = seed;
    sample_distinct(&rng, n, k, out);
    for (uint64_t i = 0; i < k; i++) {
        assert_true(out[i] < n);
        assert_false(seen[out[i]]);
        seen[out[i]] = 1;
    }
    uint64_t *again = calloc(k + 1, sizeof *again);
    rng = seed;
    sample_distinct(&rng, n, k, again);
    assert_memory_equal(out, again, k * sizeof *out);
    free(again);
    free(out);
    free(seen);
}

static void test_distinct_in_range(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {1, 2, 3, 10, 100, 1000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t n = sizes[i];
        uint64_t ks[] = {0, 1, n / 3, n / 3 + 1, n / 2, n - 1, n};
        for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
            if (ks[j] <= n) check_one(n, ks[j], n * 31 + j);
    }
}

static void uniformity(uint64_t n, uint64_t k)
{
    enum { DRAWS = 20000 };
    uint64_t *hits = calloc(n, sizeof *hits);
    uint64_t *out = calloc(k, sizeof *out);
    uint64_t rng = 1234;
    for (int d = 0; d < DRAWS; d++) {
        sample_distinct(&rng, n, k, out);
        for (uint64_t i = 0; i < k; i++) hits[out[i]]++;
    }
    double mean = (double)DRAWS * (double)k / (double)n;
    for (uint64_t i = 0; i < n; i++) {
        assert_true(hits[i] > mean * 0.8);
        assert_true(hits[i] < mean * 1.2);
    }
    free(hits);
    free(out);
}

static void test_uniform(void **state)
{
    (void)state;
    uniformity(60, 5);  /* Floyd's algorithm */
    uniformity(60, 30); /* shuffle */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_in_range),
        cmocka_unit_test(test_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
