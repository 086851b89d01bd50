/* tests/unit/test_evict.c — access records and victim choice (store/evict.c).
 *
 * LRU: with keys stamped at increasing times, victims come oldest first (64
 * samples per round on ten keys, a fixed seed: the sampling sees them all)
 * and a lookup makes a key young again. LFU: a key looked up many times outlives
 * keys never read. volatile-ttl picks the nearest expiry; volatile-*
 * policies find nothing without keys that have a TTL and never choose one
 * without. A chosen key is never chosen twice. The counter decays with
 * lfu-decay-time and an overwrite keeps it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/evict.h"
#include "store/keyspace.h"

struct fixture {
    struct store *s;
    struct evict_pool pool;
    struct evict_chosen chosen;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->s = store_new();
    f->pool.rng = 42;
    for (int db = 0; db < STORE_DBS; db++) dict_init(&f->chosen.db[db], NULL);
    evict_configure(10, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    evict_pool_clear(&f->pool);
    for (int db = 0; db < STORE_DBS; db++) dict_clear(&f->chosen.db[db]);
    store_free(f->s);
    free(f);
    return 0;
}

static void put(struct fixture *f, int i, int64_t at_ms)
{
    char key[16];
    int n = snprintf(key, sizeof key, "k%d", i);
    evict_set_clock(at_ms);
    store_set(f->s, 0, key, (size_t)n, sobj_string("v", 1), false);
}

static int choose(struct fixture *f, enum evict_policy p)
{
    struct evict_victim v;
    if (!evict_choose(f->s, p, 64, &f->pool, &f->chosen, &v)) return -1;
    assert_true(v.bytes > 0);
    return atoi(v.key + 1);
}

static void test_lru_oldest_first(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10; i++) put(f, i, 1000 + i * 10);
    /* k0 read last: now the youngest. */
    evict_set_clock(5000);
    assert_non_null(store_lookup(f->s, 0, "k0", 2, 0, false));
    evict_set_clock(6000);
    int seen[10] = {0};
    for (int n = 0; n < 10; n++) {
        int v = choose(f, EVICT_ALLKEYS_LRU);
        assert_true(v >= 0 && v < 10);
        assert_int_equal(seen[v], 0); /* never twice */
        seen[v] = 1;
        if (n == 0) assert_int_equal(v, 1); /* the oldest not read since */
    }
    assert_int_equal(seen[0], 1);
    assert_int_equal(choose(f, EVICT_ALLKEYS_LRU), -1); /* all chosen */
}

static void test_lfu_spares_the_read_key(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 8; i++) put(f, i, 1000);
    for (int r = 0; r < 200; r++) store_lookup(f->s, 0, "k3", 2, 0, false);
    for (int n = 0; n < 7; n++) assert_int_not_equal(choose(f, EVICT_ALLKEYS_LFU), 3);
    assert_int_equal(choose(f, EVICT_ALLKEYS_LFU), 3);
}

static void test_lfu_counter_decays_and_survives_overwrite(void **state)
{
    struct fixture *f = *state;
    put(f, 1, 0);
    for (int r = 0; r < 100; r++) store_lookup(f->s, 0, "k1", 2, 0, false);
    struct dict_entry *e = store_lookup(f->s, 0, "k1", 2, 0, false);
    unsigned counter = evict_frequency(store_value(e));
    assert_true(counter > SOBJ_LFU_INIT);
    store_set(f->s, 0, "k1", 2, sobj_string("w", 1), false); /* overwrite */
    e = store_lookup(f->s, 0, "k1", 2, 0, false);
    assert_true(evict_frequency(store_value(e)) >= counter);
    evict_set_clock(3 * 60000); /* three minutes without a read */
    assert_true(evict_frequency(store_value(e)) + 3 <= store_value(e)->lfu_count);
}

static void test_volatile_policies(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 6; i++) put(f, i, 1000);
    assert_int_equal(choose(f, EVICT_VOLATILE_LRU), -1);
    assert_int_equal(choose(f, EVICT_VOLATILE_RANDOM), -1);
    assert_int_equal(choose(f, EVICT_VOLATILE_TTL), -1);
    /* k4 expires before k2: volatile-ttl takes it first; nothing else. */
    store_set_expire(f->s, 0, store_lookup(f->s, 0, "k2", 2, 0, false), 90000);
    store_set_expire(f->s, 0, store_lookup(f->s, 0, "k4", 2, 0, false), 50000);
    assert_int_equal(choose(f, EVICT_VOLATILE_TTL), 4);
    assert_int_equal(choose(f, EVICT_VOLATILE_TTL), 2);
    assert_int_equal(choose(f, EVICT_VOLATILE_TTL), -1);
    assert_int_equal(choose(f, EVICT_VOLATILE_RANDOM), -1);
}

static void test_random_policy_takes_every_key_once(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 20; i++) put(f, i, 1000);
    int seen[20] = {0};
    for (int n = 0; n < 20; n++) {
        int v = choose(f, EVICT_ALLKEYS_RANDOM);
        if (v < 0) break; /* a few tries per database: may stop early */
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
    }
}

static void test_policy_names(void **state)
{
    (void)state;
    assert_int_equal(evict_policy_parse("allkeys-lru"), EVICT_ALLKEYS_LRU);
    assert_int_equal(evict_policy_parse("VOLATILE-TTL"), EVICT_VOLATILE_TTL);
    assert_int_equal(evict_policy_parse("lru"), -1);
    assert_string_equal(evict_policy_name(EVICT_NOEVICTION), "noeviction");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_lru_oldest_first),
        T(test_lfu_spares_the_read_key),
        T(test_lfu_counter_decays_and_survives_overwrite),
        T(test_volatile_policies),
        T(test_random_policy_takes_every_key_once),
        T(test_policy_names),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
