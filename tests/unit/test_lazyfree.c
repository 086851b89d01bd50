/* tests/unit/test_lazyfree.c — freeing in the background (store/lazyfree.c).
 *
 * Covers the effort rule (strings and listpack hashes cost 1, a hash table
 * its fields; a value at or under LAZYFREE_THRESHOLD is freed at once even
 * when asked lazily, and is not counted); the directives (each reason asks
 * for a lazy free only when its directive is yes; ALWAYS and NEVER whatever
 * they say); a big value handed over is counted pending, then freed: after
 * lazyfree_shutdown nothing is pending, lazyfreed counts it and
 * mem_used_bytes is back where it was; a lazy flush empties the database at
 * once (DBSIZE 0, the key order empty, new keys usable) and frees every key
 * on the thread; store_free_lazily (a keyspace a snapshot replaced) frees
 * every key there; the keyspace's own deletions follow their reasons (DEL-like
 * store_delete_for, an overwrite, an expired key met by a lookup); a thread
 * stopped by lazyfree_shutdown starts again for the next job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "store/hash.h"
#include "store/keyspace.h"
#include "store/lazyfree.h"

#define S(lit) lit, sizeof(lit) - 1

static struct sobj *big_hash(size_t fields)
{
    struct sobj *o = hash_new();
    char f[32];
    for (size_t i = 0; i < fields; i++) {
        int n = snprintf(f, sizeof f, "field:%zu", i);
        hash_set(o, f, (size_t)n, f, (size_t)n);
    }
    return o;
}

static void reset_directives(void)
{
    for (int why = 0; why < LAZYFREE_DIRECTIVES; why++)
        lazyfree_configure((enum lazyfree_reason)why, false);
}

static void test_effort_and_threshold(void **state)
{
    (void)state;
    reset_directives();
    struct sobj *str = sobj_string(S("hello"));
    assert_int_equal(lazyfree_effort(str), 1);
    struct sobj *small = big_hash(10);
    assert_int_equal(small->encoding, ENC_LISTPACK);
    assert_int_equal(lazyfree_effort(small), 1);
    struct sobj *big = big_hash(1000);
    assert_int_equal(big->encoding, ENC_HT);
    assert_int_equal(lazyfree_effort(big), 1000);

    uint64_t freed = lazyfree_freed_objects();
    /* Small values are freed at once, however asked. */
    lazyfree_value(str, LAZYFREE_ALWAYS);
    lazyfree_value(small, LAZYFREE_ALWAYS);
    assert_int_equal(lazyfree_pending_objects(), 0);
    /* A big one asked NEVER, or under a directive that is no, too. */
    lazyfree_value(big, LAZYFREE_USER_DEL);
    assert_int_equal(lazyfree_pending_objects(), 0);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), freed);
}

static void test_directives(void **state)
{
    (void)state;
    reset_directives();
    assert_true(lazyfree_wanted(LAZYFREE_ALWAYS));
    assert_false(lazyfree_wanted(LAZYFREE_NEVER));
    for (int why = 0; why < LAZYFREE_DIRECTIVES; why++) {
        assert_false(lazyfree_wanted((enum lazyfree_reason)why));
        lazyfree_configure((enum lazyfree_reason)why, true);
        assert_true(lazyfree_wanted((enum lazyfree_reason)why));
        for (int other = 0; other < LAZYFREE_DIRECTIVES; other++)
            if (other != why) assert_false(lazyfree_wanted((enum lazyfree_reason)other));
        lazyfree_configure((enum lazyfree_reason)why, false);
    }
}

static void test_big_value_freed_in_background(void **state)
{
    (void)state;
    reset_directives();
    size_t before = mem_used_bytes();
    uint64_t freed = lazyfree_freed_objects();
    lazyfree_value(big_hash(20000), LAZYFREE_ALWAYS);
    lazyfree_value(big_hash(20000), LAZYFREE_ALWAYS);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_pending_objects(), 0);
    assert_int_equal(lazyfree_freed_objects(), freed + 2);
    /* The thread's frees were counted: back to the figure before. */
    assert_int_equal(mem_used_bytes(), before);
    /* Stopped, it starts again for the next job. */
    lazyfree_value(big_hash(1000), LAZYFREE_ALWAYS);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), freed + 3);
    lazyfree_reset_stats();
    assert_int_equal(lazyfree_freed_objects(), 0);
}

static void fill(struct store *s, int db, int n)
{
    char k[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(k, sizeof k, "key:%d", i);
        store_set(s, db, k, (size_t)len, sobj_string(k, (size_t)len), false);
        if (i % 3 == 0) store_set_expire(s, db, store_lookup(s, db, k, (size_t)len, 0, false), 1000 + i);
    }
}

static void test_lazy_flush(void **state)
{
    (void)state;
    reset_directives();
    size_t before = mem_used_bytes();
    struct store *s = store_new();
    fill(s, 0, 50000);
    fill(s, 5, 3000);
    lazyfree_reset_stats();
    store_flush_all(s, LAZYFREE_ALWAYS);
    for (int db = 0; db < STORE_DBS; db++) {
        assert_int_equal(store_db_size(s, db), 0);
        assert_int_equal(store_db_expiring(s, db), 0);
    }
    assert_null(store_lookup(s, 0, S("key:7"), 0, false));
    /* The emptied databases are usable at once. */
    store_set(s, 0, S("key:7"), sobj_string(S("again")), false);
    assert_non_null(store_lookup(s, 0, S("key:7"), 0, false));
    assert_int_equal(store_db_size(s, 0), 1);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_pending_objects(), 0);
    assert_int_equal(lazyfree_freed_objects(), 53000);
    store_flush_db(s, 0, LAZYFREE_ALWAYS);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 53001);

    /* A flush under lazyfree-lazy-user-flush no, or SYNC: nothing queued. */
    fill(s, 0, 1000);
    store_flush_db(s, 0, LAZYFREE_USER_FLUSH);
    fill(s, 0, 1000);
    store_flush_db(s, 0, LAZYFREE_NEVER);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 53001);
    /* ... and under yes, queued. */
    lazyfree_configure(LAZYFREE_USER_FLUSH, true);
    fill(s, 0, 1000);
    store_flush_db(s, 0, LAZYFREE_USER_FLUSH);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 54001);
    reset_directives();
    store_free(s);
    assert_int_equal(mem_used_bytes(), before);
}

static void test_store_free_lazily(void **state)
{
    (void)state;
    reset_directives();
    size_t before = mem_used_bytes();
    struct store *s = store_new();
    fill(s, 0, 20000);
    fill(s, 15, 100);
    lazyfree_reset_stats();
    store_free_lazily(s);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 20100);
    assert_int_equal(mem_used_bytes(), before);
}

static void test_keyspace_deletions_follow_their_reason(void **state)
{
    (void)state;
    reset_directives();
    struct store *s = store_new();
    lazyfree_reset_stats();
    /* DEL-like: lazy only with the directive. */
    store_set(s, 0, S("h"), big_hash(1000), false);
    assert_true(store_delete_for(s, 0, S("h"), LAZYFREE_USER_DEL));
    lazyfree_configure(LAZYFREE_USER_DEL, true);
    store_set(s, 0, S("h"), big_hash(1000), false);
    assert_true(store_delete_for(s, 0, S("h"), LAZYFREE_USER_DEL));
    assert_null(store_lookup(s, 0, S("h"), 0, false));
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 1);
    /* An overwrite is the server's deletion. */
    store_set(s, 0, S("h"), big_hash(1000), false);
    store_set(s, 0, S("h"), sobj_string(S("x")), false);
    lazyfree_configure(LAZYFREE_SERVER_DEL, true);
    store_set(s, 0, S("h"), big_hash(1000), false);
    store_set(s, 0, S("h"), sobj_string(S("x")), false);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 2);
    /* An expired key a lookup deletes. */
    struct dict_entry *e = store_set(s, 0, S("h"), big_hash(1000), false);
    store_set_expire(s, 0, e, 100);
    assert_null(store_lookup(s, 0, S("h"), 200, true));
    lazyfree_configure(LAZYFREE_EXPIRE, true);
    e = store_set(s, 0, S("h"), big_hash(1000), false);
    store_set_expire(s, 0, e, 100);
    assert_null(store_lookup(s, 0, S("h"), 200, true));
    assert_int_equal(store_db_size(s, 0), 0);
    lazyfree_shutdown();
    assert_int_equal(lazyfree_freed_objects(), 3);
    reset_directives();
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_effort_and_threshold),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_big_value_freed_in_background),
        cmocka_unit_test(test_lazy_flush),
        cmocka_unit_test(test_store_free_lazily),
        cmocka_unit_test(test_keyspace_deletions_follow_their_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
