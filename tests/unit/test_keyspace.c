/* tests/unit/test_keyspace.c — databases, values and expiry (store/keyspace.c).
 *
 * Covers set/lookup/delete across databases; expiry as seen by store_lookup
 * (evict=false hides an expired key but keeps it, evict=true deletes it; a
 * key expires when now_ms reaches its deadline); store_set clearing the TTL
 * unless keep_ttl; and the expiry index: after every kind of change (TTL
 * added, changed, removed, key deleted, overwritten, moved with store_move,
 * flushed, databases swapped, housekeeping) store_db_expiring matches the
 * number of keys with a TTL, and the index holds exactly those entries with
 * their slot numbers right (check_index walks it). store_scan_expired is
 * checked to find every expired key of a small set once per pass, to clear
 * a large one's expired keys in one pass when each walk's finds are deleted
 * before the next, and never to report an unexpired key. The replicated key order (KEYS, SCAN and
 * RANDOMKEY answer in it): a new key is appended, a deleted key's place
 * taken by the last one, nothing else moves a key (overwrites, TTL changes,
 * in-place edits), store_move appends at the destination, swap and flush
 * take orders along; for WATCH a flush or swap changes only the keys the
 * databases held (up to 100,000 keys; above, the whole database); the
 * same changes give the same order under another
 * hash seed; store_random picks by index. store_digest must not depend on
 * table history or hash seed, and must change when one value, TTL,
 * encoding, database or the key order differs, or when two keys exchange
 * values or TTLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hash.h"
#include "base/mem.h"
#include "store/keyspace.h"

#define S(lit) lit, sizeof(lit) - 1
#define DEFAULT_SEED 0x9e3779b97f4a7c15ull /* base/hash.c's */

/* ---- helpers ---------------------------------------------------------- */

static size_t key_of(uint32_t id, char out[32])
{
    return (size_t)snprintf(out, 32, "key:%u", id);
}

static struct dict_entry *set_str(struct store *s, int db, const char *k, size_t klen,
                                  const char *v, size_t vlen)
{
    return store_set(s, db, k, klen, sobj_string(v, vlen), false);
}

static struct dict_entry *set_id(struct store *s, int db, uint32_t id, int64_t expire)
{
    char k[32], v[32];
    size_t kl = key_of(id, k);
    size_t vl = (size_t)snprintf(v, sizeof v, "value-%u", id);
    struct dict_entry *e = set_str(s, db, k, kl, v, vl);
    if (expire != STORE_NO_EXPIRE) store_set_expire(s, db, e, expire);
    return e;
}

static struct dict_entry *peek(struct store *s, int db, uint32_t id)
{
    char k[32];
    size_t kl = key_of(id, k);
    return dset_find(&s->db[db].keys, k, kl);
}

static void assert_value(const struct dict_entry *e, const char *v, size_t len)
{
    assert_non_null(e);
    char tmp[SOBJ_INT_BUF];
    size_t got;
    const char *p = sobj_str(store_value(e), tmp, &got);
    assert_int_equal(got, len);
    assert_memory_equal(p, v, len);
}

/* Every db's key order lists each key once, at its slot; the expiry index
 * holds exactly the keys with a TTL, each at the index its entry names,
 * each still in the db. */
static void check_index(struct store *s)
{
    for (int db = 0; db < STORE_DBS; db++) {
        struct store_db *d = &s->db[db];
        size_t with_ttl = 0;
        assert_int_equal(dict_size(&d->keys.d), store_db_size(s, db));
        for (uint64_t i = 0; i < store_db_size(s, db); i++) {
            struct dict_entry *e = store_key_at(s, db, i);
            assert_int_equal(e->slot, i);
            assert_ptr_equal(dset_find(&d->keys, e->key, e->klen), e);
            assert_non_null(e->v.ptr);
            if (e->aux == -1) continue;
            with_ttl++;
            assert_true(e->aux >= 0 && (size_t)e->aux < d->n_expiring);
            assert_ptr_equal(d->expiring[e->aux].e, e);
            assert_int_equal(store_expire_of(s, db, e), d->expiring[e->aux].when_ms);
        }
        assert_int_equal(store_db_expiring(s, db), with_ttl);
        assert_true(d->n_expiring <= d->cap_expiring || d->cap_expiring == 0);
        for (size_t i = 0; i < d->n_expiring; i++) {
            struct dict_entry *x = d->expiring[i].e;
            assert_int_equal(x->aux, i);
            assert_true(d->expiring[i].when_ms != STORE_NO_EXPIRE);
            assert_ptr_equal(dset_find(&d->keys, x->key, x->klen), x);
        }
    }
}

/* ---- basic -------------------------------------------------------------- */

static void test_set_lookup_delete_dbs(void **state)
{
    (void)state;
    struct store *s = store_new();
    for (int db = 0; db < STORE_DBS; db++) assert_int_equal(store_db_size(s, db), 0);

    set_str(s, 0, S("k"), S("zero"));
    set_str(s, 5, S("k"), S("five"));
    set_str(s, 15, S("k"), S("fifteen"));
    set_str(s, 5, S("a\0b"), S("bin\0val"));
    set_str(s, 5, "", 0, "", 0);
    assert_int_equal(store_db_size(s, 0), 1);
    assert_int_equal(store_db_size(s, 5), 3);
    assert_int_equal(store_db_size(s, 15), 1);
    assert_int_equal(store_db_size(s, 1), 0);

    assert_value(store_lookup(s, 0, S("k"), 0, false), S("zero"));
    assert_value(store_lookup(s, 5, S("k"), 0, true), S("five"));
    assert_value(store_lookup(s, 15, S("k"), 0, false), S("fifteen"));
    assert_value(store_lookup(s, 5, S("a\0b"), 0, false), S("bin\0val"));
    assert_value(store_lookup(s, 5, "", 0, 0, false), "", 0);
    assert_null(store_lookup(s, 1, S("k"), 0, false));
    assert_null(store_lookup(s, 5, S("a"), 0, false));

    /* Overwrite replaces the value, not the count. */
    struct dict_entry *e = set_str(s, 0, S("k"), S("12"));
    assert_int_equal(store_value(e)->encoding, ENC_INT);
    assert_int_equal(store_db_size(s, 0), 1);
    assert_value(store_lookup(s, 0, S("k"), 0, false), S("12"));

    assert_true(store_delete(s, 5, S("k")));
    assert_false(store_delete(s, 5, S("k")));
    assert_false(store_delete(s, 3, S("k")));
    assert_null(store_lookup(s, 5, S("k"), 0, false));
    assert_value(store_lookup(s, 0, S("k"), 0, false), S("12"));
    assert_value(store_lookup(s, 15, S("k"), 0, false), S("fifteen"));
    assert_int_equal(store_db_size(s, 5), 2);

    /* store_replace_value keeps the entry. */
    e = store_lookup(s, 15, S("k"), 0, false);
    store_replace_value(s, 0, e, sobj_string(S("new")));
    assert_ptr_equal(store_lookup(s, 15, S("k"), 0, false), e);
    assert_value(e, S("new"));

    /* Many keys in several dbs. */
    for (uint32_t i = 0; i < 20000; i++) set_id(s, (int)(i % 4) + 8, i, STORE_NO_EXPIRE);
    for (int db = 8; db < 12; db++) assert_int_equal(store_db_size(s, db), 5000);
    for (uint32_t i = 0; i < 20000; i++) {
        char v[32];
        size_t vl = (size_t)snprintf(v, sizeof v, "value-%u", i);
        assert_value(peek(s, (int)(i % 4) + 8, i), v, vl);
        assert_null(peek(s, (int)((i + 1) % 4) + 8, i));
    }
    assert_true(store_memory(s) > 20000 * 10);
    check_index(s);
    store_free(s);
    store_free(NULL);
}

/* ---- expiry --------------------------------------------------------------- */

static void test_lookup_expired(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct dict_entry *e = set_str(s, 2, S("k"), S("v"));
    store_set_expire(s, 2, e, 1000);
    assert_int_equal(store_expire_of(s, 2, e), 1000);
    assert_int_equal(store_db_expiring(s, 2), 1);
    assert_false(store_is_expired(s, 2, e, 999));
    assert_true(store_is_expired(s, 2, e, 1000));

    /* Before the deadline: visible either way. */
    assert_ptr_equal(store_lookup(s, 2, S("k"), 999, false), e);
    assert_ptr_equal(store_lookup(s, 2, S("k"), 999, true), e);
    /* At and after the deadline, evict=false hides it but keeps it. */
    assert_null(store_lookup(s, 2, S("k"), 1000, false));
    assert_null(store_lookup(s, 2, S("k"), 5000, false));
    assert_int_equal(store_db_size(s, 2), 1);
    assert_int_equal(store_db_expiring(s, 2), 1);
    assert_ptr_equal(store_lookup(s, 2, S("k"), 999, false), e); /* still there */
    check_index(s);
    /* evict=true deletes it. */
    assert_null(store_lookup(s, 2, S("k"), 1000, true));
    assert_int_equal(store_db_size(s, 2), 0);
    assert_int_equal(store_db_expiring(s, 2), 0);
    assert_null(store_lookup(s, 2, S("k"), 0, false));
    check_index(s);

    /* A key without TTL never expires; a missing key is just missing. */
    set_str(s, 2, S("p"), S("v"));
    assert_non_null(store_lookup(s, 2, S("p"), INT64_MAX, true));
    assert_null(store_lookup(s, 2, S("missing"), 0, true));

    /* Evicting one expired key among many keeps the index consistent. */
    for (uint32_t i = 0; i < 100; i++) set_id(s, 3, i, 100 + i);
    for (uint32_t i = 0; i < 100; i += 2) {
        char k[32];
        size_t kl = key_of(i, k);
        assert_null(store_lookup(s, 3, k, kl, 100 + i, true));
        check_index(s);
    }
    assert_int_equal(store_db_size(s, 3), 50);
    assert_int_equal(store_db_expiring(s, 3), 50);
    store_free(s);
}

static void test_set_clears_ttl(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct dict_entry *e = set_str(s, 0, S("k"), S("v1"));
    assert_int_equal(store_expire_of(s, 0, e), STORE_NO_EXPIRE);
    store_set_expire(s, 0, e, 5000);
    assert_int_equal(store_db_expiring(s, 0), 1);

    /* keep_ttl: value changes, TTL stays. */
    e = store_set(s, 0, S("k"), sobj_string(S("v2")), true);
    assert_int_equal(store_expire_of(s, 0, e), 5000);
    assert_int_equal(store_db_expiring(s, 0), 1);
    assert_value(e, S("v2"));
    check_index(s);

    /* Plain SET: TTL cleared. */
    e = store_set(s, 0, S("k"), sobj_string(S("v3")), false);
    assert_int_equal(store_expire_of(s, 0, e), STORE_NO_EXPIRE);
    assert_int_equal(store_db_expiring(s, 0), 0);
    assert_value(e, S("v3"));
    assert_non_null(store_lookup(s, 0, S("k"), INT64_MAX, false));
    check_index(s);

    /* keep_ttl on a key without TTL, and on a new key. */
    e = store_set(s, 0, S("k"), sobj_string(S("v4")), true);
    assert_int_equal(store_expire_of(s, 0, e), STORE_NO_EXPIRE);
    e = store_set(s, 0, S("new"), sobj_string(S("v")), true);
    assert_int_equal(store_expire_of(s, 0, e), STORE_NO_EXPIRE);
    assert_int_equal(store_db_expiring(s, 0), 0);

    /* replace_value keeps the TTL. */
    store_set_expire(s, 0, e, 77);
    store_replace_value(s, 0, e, sobj_string(S("w")));
    assert_int_equal(store_expire_of(s, 0, e), 77);
    assert_int_equal(store_db_expiring(s, 0), 1);
    check_index(s);
    store_free(s);
}

static void test_expire_index_counts(void **state)
{
    (void)state;
    struct store *s = store_new();
    const uint32_t n = 3000;
    for (uint32_t i = 0; i < n; i++) set_id(s, 1, i, STORE_NO_EXPIRE);
    assert_int_equal(store_db_expiring(s, 1), 0);

    /* Add a TTL to every third key; changing it does not count twice;
     * removing it where there is none is a no-op. */
    for (uint32_t i = 0; i < n; i += 3) store_set_expire(s, 1, peek(s, 1, i), 1000 + i);
    assert_int_equal(store_db_expiring(s, 1), n / 3);
    for (uint32_t i = 0; i < n; i += 3) store_set_expire(s, 1, peek(s, 1, i), 2000 + i);
    assert_int_equal(store_db_expiring(s, 1), n / 3);
    for (uint32_t i = 1; i < n; i += 3) store_set_expire(s, 1, peek(s, 1, i), STORE_NO_EXPIRE);
    assert_int_equal(store_db_expiring(s, 1), n / 3);
    check_index(s);
    for (uint32_t i = 0; i < n; i++) {
        int64_t want = i % 3 == 0 ? (int64_t)(2000 + i) : STORE_NO_EXPIRE;
        assert_int_equal(store_expire_of(s, 1, peek(s, 1, i)), want);
    }

    /* Remove TTLs from half of those (PERSIST). */
    size_t expect = n / 3;
    for (uint32_t i = 0; i < n; i += 6) {
        store_set_expire(s, 1, peek(s, 1, i), STORE_NO_EXPIRE);
        expect--;
    }
    assert_int_equal(store_db_expiring(s, 1), expect);
    check_index(s);

    /* Delete keys with and without TTL. */
    for (uint32_t i = 0; i < n; i += 5) {
        struct dict_entry *e = peek(s, 1, i);
        if (store_expire_of(s, 1, e) != STORE_NO_EXPIRE) expect--;
        assert_true(store_delete(s, 1, e->key, e->klen));
    }
    assert_int_equal(store_db_expiring(s, 1), expect);
    check_index(s);

    /* Overwrite keys with TTL (SET clears it) and with keep_ttl. */
    for (uint32_t i = 3; i < n; i += 6) {
        struct dict_entry *e = peek(s, 1, i);
        if (e == NULL) continue;
        assert_true(store_expire_of(s, 1, e) != STORE_NO_EXPIRE);
        bool keep = (i / 6) % 2;
        char k[32];
        size_t kl = key_of(i, k);
        store_set(s, 1, k, kl, sobj_string(S("over")), keep);
        if (!keep) expect--;
    }
    assert_int_equal(store_db_expiring(s, 1), expect);
    check_index(s);

    /* Flush: everything goes, and the db works afterwards. */
    set_id(s, 2, 1, 10);
    store_flush_db(s, 1, LAZYFREE_NEVER);
    assert_int_equal(store_db_size(s, 1), 0);
    assert_int_equal(store_db_expiring(s, 1), 0);
    assert_int_equal(store_db_expiring(s, 2), 1);
    set_id(s, 1, 5, 10);
    set_id(s, 1, 6, 11);
    assert_int_equal(store_db_expiring(s, 1), 2);
    check_index(s);
    store_flush_all(s, LAZYFREE_NEVER);
    for (int db = 0; db < STORE_DBS; db++) {
        assert_int_equal(store_db_size(s, db), 0);
        assert_int_equal(store_db_expiring(s, db), 0);
    }
    set_id(s, 1, 5, 10);
    assert_int_equal(store_db_expiring(s, 1), 1);
    check_index(s);
    store_free(s);
}

static void test_move(void **state)
{
    (void)state;
    struct store *s = store_new();
    /* RENAME-like within a db, with TTL: the TTL moves along. */
    struct dict_entry *e = set_str(s, 0, S("src"), S("v"));
    store_set_expire(s, 0, e, 500);
    e = store_move(s, 0, S("src"), 0, S("dst"));
    assert_value(e, S("v"));
    assert_int_equal(store_expire_of(s, 0, e), 500);
    assert_null(store_lookup(s, 0, S("src"), 0, false));
    assert_ptr_equal(store_lookup(s, 0, S("dst"), 0, false), e);
    assert_int_equal(store_db_size(s, 0), 1);
    assert_int_equal(store_db_expiring(s, 0), 1);
    check_index(s);

    /* Onto an existing key that has a TTL, from a key without one: the
     * destination's TTL is gone. */
    struct dict_entry *d = set_str(s, 0, S("old"), S("old"));
    store_set_expire(s, 0, d, 900);
    set_str(s, 0, S("plain"), S("p"));
    assert_int_equal(store_db_expiring(s, 0), 2);
    e = store_move(s, 0, S("plain"), 0, S("old"));
    assert_value(e, S("p"));
    assert_int_equal(store_expire_of(s, 0, e), STORE_NO_EXPIRE);
    assert_int_equal(store_db_expiring(s, 0), 1);
    assert_int_equal(store_db_size(s, 0), 2); /* dst, old */
    check_index(s);

    /* Onto an existing key with a TTL, from a key with a TTL. */
    d = store_lookup(s, 0, S("old"), 0, false);
    store_set_expire(s, 0, d, 901);
    e = store_move(s, 0, S("dst"), 0, S("old"));
    assert_int_equal(store_expire_of(s, 0, e), 500);
    assert_value(e, S("v"));
    assert_int_equal(store_db_size(s, 0), 1);
    assert_int_equal(store_db_expiring(s, 0), 1);
    check_index(s);

    /* A key moved onto itself (RENAME k k). */
    e = store_move(s, 0, S("old"), 0, S("old"));
    assert_value(e, S("v"));
    assert_int_equal(store_expire_of(s, 0, e), 500);
    assert_int_equal(store_db_size(s, 0), 1);
    assert_int_equal(store_db_expiring(s, 0), 1);
    check_index(s);

    /* MOVE to another db keeps key, value and TTL. */
    e = store_move(s, 0, S("old"), 7, S("old"));
    assert_int_equal(store_db_size(s, 0), 0);
    assert_int_equal(store_db_expiring(s, 0), 0);
    assert_int_equal(store_db_size(s, 7), 1);
    assert_int_equal(store_db_expiring(s, 7), 1);
    assert_ptr_equal(store_lookup(s, 7, S("old"), 0, false), e);
    assert_int_equal(store_expire_of(s, 7, e), 500);
    check_index(s);

    /* Many moves between dbs with a mix of TTLs. */
    for (uint32_t i = 0; i < 2000; i++) set_id(s, 3, i, i % 2 ? (int64_t)(100 + i) : STORE_NO_EXPIRE);
    for (uint32_t i = 0; i < 2000; i += 3) {
        char k[32], k2[32];
        size_t kl = key_of(i, k), kl2 = key_of(i + 1, k2);
        store_move(s, 3, k, kl, 4, k2, kl2);
    }
    check_index(s);
    assert_int_equal(store_db_size(s, 3) + store_db_size(s, 4), 2000);
    for (uint32_t i = 0; i < 2000; i += 3) {
        struct dict_entry *x = peek(s, 4, i + 1);
        assert_non_null(x);
        assert_int_equal(store_expire_of(s, 4, x), i % 2 ? (int64_t)(100 + i) : STORE_NO_EXPIRE);
    }
    store_free(s);
}

static void test_swap_db(void **state)
{
    (void)state;
    struct store *s = store_new();
    for (uint32_t i = 0; i < 500; i++) set_id(s, 0, i, i % 2 ? 1000 : STORE_NO_EXPIRE);
    for (uint32_t i = 1000; i < 1100; i++) set_id(s, 9, i, 2000);
    uint64_t digest_before = store_digest(s);
    store_swap_db(s, 0, 9);
    assert_int_equal(store_db_size(s, 0), 100);
    assert_int_equal(store_db_expiring(s, 0), 100);
    assert_int_equal(store_db_size(s, 9), 500);
    assert_int_equal(store_db_expiring(s, 9), 250);
    assert_non_null(peek(s, 0, 1000));
    assert_null(peek(s, 0, 1));
    assert_non_null(peek(s, 9, 1));
    check_index(s);
    assert_true(store_digest(s) != digest_before); /* the db number is part of it */

    /* The swapped dbs keep working: TTL changes and deletes land in the
     * right index. */
    for (uint32_t i = 1000; i < 1100; i += 2) {
        struct dict_entry *e = peek(s, 0, i);
        store_set_expire(s, 0, e, STORE_NO_EXPIRE);
    }
    for (uint32_t i = 1; i < 500; i += 4) assert_true(store_delete(s, 9, peek(s, 9, i)->key, peek(s, 9, i)->klen));
    for (uint32_t i = 0; i < 500; i += 4) set_id(s, 9, i, 3000);
    check_index(s);
    assert_int_equal(store_db_expiring(s, 0), 50);

    /* Swapping with an empty db and back again. */
    store_swap_db(s, 9, 12);
    assert_int_equal(store_db_size(s, 9), 0);
    assert_int_equal(store_db_expiring(s, 9), 0);
    set_id(s, 9, 1, 5);
    store_swap_db(s, 12, 9);
    check_index(s);
    assert_int_equal(store_db_size(s, 12), 1);
    store_swap_db(s, 4, 4);
    check_index(s);
    store_free(s);
}

/* For WATCH a flush changes the keys the database held, not every name;
 * above 100,000 keys the whole database counts as changed. */
static bool watch_survives_flush(uint32_t keys_in_db)
{
    struct store *s = store_new();
    for (uint32_t i = 0; i < keys_in_db; i++) set_id(s, 3, i, STORE_NO_EXPIRE);
    watch_begin(&s->watch, 7, 1, true, NULL, 0, 0);
    store_flush_db(s, 3, LAZYFREE_NEVER);
    struct watch_key absent = {3, S("never-there")};
    bool clean = watch_check_and_end(&s->watch, 7, 1, &absent, 1);
    store_free(s);
    return clean;
}

static void test_flush_changes_only_existing_keys_for_watch(void **state)
{
    (void)state;
    assert_true(watch_survives_flush(10));
    assert_true(watch_survives_flush(100000));
    assert_false(watch_survives_flush(100001));

    struct store *s = store_new();
    set_id(s, 3, 1, STORE_NO_EXPIRE);
    char k[32];
    size_t kl = key_of(1, k);
    struct watch_key present = {3, k, kl};
    watch_begin(&s->watch, 7, 1, true, NULL, 0, 0);
    store_swap_db(s, 3, 4);
    assert_false(watch_check_and_end(&s->watch, 7, 1, &present, 1));
    present.db = 4;
    watch_begin(&s->watch, 7, 1, true, NULL, 0, 0);
    store_swap_db(s, 3, 4);
    assert_false(watch_check_and_end(&s->watch, 7, 1, &present, 1));
    store_free(s);
}

/* ---- the replicated key order -------------------------------------------- */

/* The keys of db as "a,b,c," in key order. */
static char *order_of(struct store *s, int db)
{
    size_t total = 1;
    for (uint64_t i = 0; i < store_db_size(s, db); i++) total += store_key_at(s, db, i)->klen + 1;
    char *out = xcalloc(1, total), *p = out;
    for (uint64_t i = 0; i < store_db_size(s, db); i++) {
        const struct dict_entry *e = store_key_at(s, db, i);
        memcpy(p, e->key, e->klen);
        p += e->klen;
        *p++ = ',';
    }
    return out;
}

static void assert_order(struct store *s, int db, const char *want)
{
    char *got = order_of(s, db);
    assert_string_equal(got, want);
    free(got);
}

static void test_key_order(void **state)
{
    (void)state;
    struct store *s = store_new();
    set_str(s, 0, S("a"), S("1"));
    set_str(s, 0, S("b"), S("1"));
    set_str(s, 0, S("c"), S("1"));
    set_str(s, 0, S("d"), S("1"));
    assert_order(s, 0, "a,b,c,d,");
    /* Overwrites, TTL changes and in-place edits move nothing. */
    set_str(s, 0, S("b"), S("2"));
    store_set(s, 0, S("a"), sobj_string(S("2")), true);
    store_set_expire(s, 0, store_lookup(s, 0, S("c"), 0, false), 50);
    store_set_expire(s, 0, store_lookup(s, 0, S("a"), 0, false), 70);
    store_set_expire(s, 0, store_lookup(s, 0, S("c"), 0, false), STORE_NO_EXPIRE);
    store_replace_value(s, 0, store_lookup(s, 0, S("d"), 0, false), sobj_string(S("x")));
    assert_order(s, 0, "a,b,c,d,");
    /* A deletion: the last key takes the hole. */
    assert_true(store_delete(s, 0, S("b")));
    assert_order(s, 0, "a,d,c,");
    set_str(s, 0, S("e"), S("1"));
    assert_order(s, 0, "a,d,c,e,");
    /* Deleted because it expired (a lookup while applying the log). */
    assert_null(store_lookup(s, 0, S("a"), 70, true));
    assert_order(s, 0, "e,d,c,");
    /* RENAME to a new key: out of its place, appended as the new key. */
    store_move(s, 0, S("e"), 0, S("f"));
    assert_order(s, 0, "c,d,f,");
    /* RENAME onto an existing key: that key keeps its place. */
    store_move(s, 0, S("f"), 0, S("c"));
    assert_order(s, 0, "c,d,");
    /* MOVE: appended in the other db. */
    set_str(s, 3, S("x"), S("1"));
    store_move(s, 0, S("c"), 3, S("c"));
    assert_order(s, 0, "d,");
    assert_order(s, 3, "x,c,");
    /* SWAPDB exchanges orders; FLUSHDB empties one. */
    store_swap_db(s, 0, 3);
    assert_order(s, 0, "x,c,");
    assert_order(s, 3, "d,");
    store_flush_db(s, 0, LAZYFREE_NEVER);
    assert_order(s, 0, "");
    set_str(s, 0, S("y"), S("1"));
    assert_order(s, 0, "y,");
    check_index(s);

    /* RANDOMKEY's pick: the key at dict_rand64(rng) % size. */
    for (uint32_t i = 0; i < 100; i++) set_id(s, 8, i, STORE_NO_EXPIRE);
    uint64_t rng = 42, copy = 42;
    for (int k = 0; k < 50; k++)
        assert_ptr_equal(store_random(s, 8, &rng), store_key_at(s, 8, dict_rand64(&copy) % 100));
    store_free(s);
}

/* A workload of every kind of change; returns db 2's final key order. */
static char *order_workload(void)
{
    struct store *s = store_new();
    uint64_t rng = 77;
    for (int step = 0; step < 20000; step++) {
        uint64_t r = dict_rand64(&rng);
        uint32_t id = (uint32_t)(r % 3000);
        int db = 2 + (int)((r >> 20) % 2);
        char k[32];
        size_t kl = key_of(id, k);
        switch ((r >> 32) % 8) {
        case 0:
        case 1:
        case 2: set_id(s, db, id, (r >> 40) % 3 ? STORE_NO_EXPIRE : (int64_t)((r >> 42) % 1000)); break;
        case 3: store_delete(s, db, k, kl); break;
        case 4: store_lookup(s, db, k, kl, 500, true); break; /* may expire it */
        case 5:
            if (store_lookup(s, db, k, kl, 0, false)) {
                char k2[32];
                size_t kl2 = key_of((id * 7) % 3000, k2);
                store_move(s, db, k, kl, 5 - db, k2, kl2);
            }
            break;
        case 6: {
            struct dict_entry *e = store_lookup(s, db, k, kl, 0, false);
            if (e) store_set_expire(s, db, e, (r >> 48) % 2 ? STORE_NO_EXPIRE : 900);
            break;
        }
        default: if (step % 5000 == 7) store_swap_db(s, 2, 3); break;
        }
    }
    check_index(s);
    char *out = order_of(s, 2);
    store_free(s);
    return out;
}

static void test_key_order_independent_of_hash_seed(void **state)
{
    (void)state;
    hash_seed_init(1);
    char *a = order_workload();
    hash_seed_init(0xdeadbeefcafef00dull);
    char *b = order_workload();
    hash_seed_init(DEFAULT_SEED);
    assert_true(strlen(a) > 5000);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

struct sample_ctx {
    struct store *s;
    int db;
    int64_t now;
    size_t calls;
    bool *reported; /* by id, for the small set */
};

static void on_expired(void *ctx, struct dict_entry *e)
{
    struct sample_ctx *c = ctx;
    assert_true(store_is_expired(c->s, c->db, e, c->now));
    assert_ptr_equal(dset_find(&c->s->db[c->db].keys, e->key, e->klen), e);
    if (c->reported) {
        unsigned id;
        assert_int_equal(sscanf(e->key, "key:%u", &id), 1);
        assert_false(c->reported[id]); /* once per call of the full pass */
        c->reported[id] = true;
    }
    c->calls++;
}

static void test_scan_expired(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct sample_ctx c = {s, 0, 0, 0, NULL};
    size_t cursor = 0, checked = 99;
    assert_int_equal(store_scan_expired(s, 0, 1000, 20, &cursor, &checked, on_expired, &c), 0);
    assert_int_equal(checked, 0);

    /* Small set: one call checks at most every key once, however many it
     * is asked for, and reports exactly the expired ones. */
    bool reported[64] = {false};
    for (uint32_t i = 0; i < 15; i++) set_id(s, 0, i, 100 * (int64_t)i);
    set_id(s, 0, 20, STORE_NO_EXPIRE);
    set_id(s, 0, 21, STORE_NO_EXPIRE);
    c.now = 650; /* ids 0..6 expired (deadline <= now) */
    c.reported = reported;
    assert_int_equal(store_scan_expired(s, 0, c.now, 1000, &cursor, &checked, on_expired, &c), 7);
    assert_int_equal(checked, 15);
    assert_int_equal(c.calls, 7);
    for (uint32_t i = 0; i < 15; i++) assert_int_equal(reported[i], i <= 6);
    /* Walks of 4 cover the 15 keys once in 4 calls (4+4+4+3 would be the
     * next pass's start: it wraps round), each key reported once. */
    memset(reported, 0, sizeof reported);
    c.calls = 0;
    c.now = 1400;
    size_t total = 0, all_checked = 0;
    cursor = 0;
    for (int call = 0; call < 3; call++) {
        total += store_scan_expired(s, 0, c.now, 4, &cursor, &checked, on_expired, &c);
        assert_int_equal(checked, 4);
        all_checked += checked;
    }
    total += store_scan_expired(s, 0, c.now, 3, &cursor, &checked, on_expired, &c);
    assert_int_equal(total, 15);
    assert_int_equal(cursor, 0); /* the next call starts from the top */
    /* Nothing expired yet. */
    c.reported = NULL;
    c.calls = 0;
    c.now = -5;
    assert_int_equal(store_scan_expired(s, 0, c.now, 20, &cursor, &checked, on_expired, &c), 0);
    assert_int_equal(c.calls, 0);
    /* Walking deletes nothing. */
    assert_int_equal(store_db_size(s, 0), 17);
    assert_int_equal(store_db_expiring(s, 0), 15);

    /* Large set, every other key expired: deleting what each walk found
     * before the next (as the leader's proposals do) clears every expired
     * key in one pass over the array, and never touches an unexpired one. */
    c.db = 4;
    for (uint32_t i = 0; i < 10000; i++) set_id(s, 4, i, i % 2 ? 10 : 1000000);
    for (uint32_t i = 10000; i < 12000; i++) set_id(s, 4, i, STORE_NO_EXPIRE);
    c.now = 500;
    cursor = 0;
    all_checked = 0;
    int calls = 0;
    while (store_db_expiring(s, 4) > 5000 && calls < 1000) {
        struct dict_entry *victims[20];
        size_t nv = 0;
        c.calls = 0;
        size_t got = store_scan_expired(s, 4, c.now, 20, &cursor, &checked, on_expired, &c);
        assert_int_equal(got, c.calls);
        assert_true(got <= checked && checked == 20);
        all_checked += checked;
        /* Find them again to delete them: they are the expired entries
         * just above the cursor. */
        for (size_t i = cursor; i < s->db[4].n_expiring && nv < got; i++)
            if (s->db[4].expiring[i].when_ms <= c.now) victims[nv++] = s->db[4].expiring[i].e;
        assert_int_equal(nv, got);
        for (size_t i = 0; i < nv; i++) store_delete(s, 4, victims[i]->key, victims[i]->klen);
        calls++;
    }
    /* 5,000 expired keys among 10,000: one pass of checks, no more. */
    assert_int_equal(store_db_expiring(s, 4), 5000);
    assert_true(all_checked <= 10000);
    for (size_t i = 0; i < s->db[4].n_expiring; i++)
        assert_int_equal(s->db[4].expiring[i].when_ms, 1000000);
    /* None expired now: never reported. */
    c.now = 9;
    for (int round = 0; round < 100; round++)
        assert_int_equal(store_scan_expired(s, 4, c.now, 20, &cursor, &checked, on_expired, &c), 0);
    check_index(s);
    store_free(s);
}

static void test_random_and_housekeeping(void **state)
{
    (void)state;
    struct store *s = store_new();
    uint64_t rng = 11;
    assert_null(store_random(s, 0, &rng));
    for (uint32_t i = 0; i < 5; i++) set_id(s, 6, i, STORE_NO_EXPIRE);
    bool seen[5] = {false};
    for (int k = 0; k < 2000; k++) {
        struct dict_entry *e = store_random(s, 6, &rng);
        assert_non_null(e);
        unsigned id;
        assert_int_equal(sscanf(e->key, "key:%u", &id), 1);
        assert_true(id < 5);
        seen[id] = true;
    }
    for (int i = 0; i < 5; i++) assert_true(seen[i]);
    assert_null(store_random(s, 7, &rng));

    /* Housekeeping after mass deletion shrinks tables and the expiry index
     * without changing what is stored. */
    for (uint32_t i = 0; i < 50000; i++) set_id(s, 1, i, i % 3 ? STORE_NO_EXPIRE : (int64_t)(100 + i));
    for (uint32_t i = 0; i < 50000; i++)
        if (i % 1000) {
            char k[32];
            size_t kl = key_of(i, k);
            assert_true(store_delete(s, 1, k, kl));
        }
    uint64_t digest = store_digest(s);
    size_t mem = store_memory(s);
    size_t cap = s->db[1].cap_expiring;
    for (int round = 0; round < 20; round++) {
        store_housekeeping(s);
        for (uint32_t i = 0; i < 50000; i += 1000) assert_non_null(peek(s, 1, i));
        check_index(s);
    }
    assert_true(s->db[1].cap_expiring < cap);
    assert_true(s->db[1].cap_expiring >= s->db[1].n_expiring);
    assert_true(store_memory(s) < mem);
    assert_int_equal(store_digest(s), digest);
    assert_int_equal(store_db_size(s, 1), 50);
    assert_int_equal(store_db_expiring(s, 1), 17); /* multiples of 3000 below 50000 */
    /* The index works after shrinking. */
    for (uint32_t i = 60000; i < 61000; i++) set_id(s, 1, i, 5);
    check_index(s);
    store_free(s);
}

/* ---- digest --------------------------------------------------------------- */

static void build(struct store *s, const uint32_t *order, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = order[j];
        int db = (int)(i % 3) * 5;
        char k[32];
        size_t kl = key_of(i, k);
        struct dict_entry *e;
        if (i % 4 == 0) {
            char v[32];
            size_t vl = (size_t)snprintf(v, sizeof v, "%u", i * 7); /* int */
            e = set_str(s, db, k, kl, v, vl);
        } else if (i % 4 == 1) {
            e = set_str(s, db, k, kl, "short", 5); /* embstr */
        } else if (i % 4 == 2) {
            char v[64];
            memset(v, 'r', sizeof v);
            e = set_str(s, db, k, kl, v, sizeof v); /* raw */
        } else {
            e = store_set(s, db, k, kl, sobj_string_raw(k, kl), false); /* short raw */
        }
        if (i % 5 == 0) store_set_expire(s, db, e, 1000 + i);
    }
}

static struct store *built(const uint32_t *order, uint32_t n)
{
    struct store *s = store_new();
    build(s, order, n);
    return s;
}

static void test_digest(void **state)
{
    (void)state;
    const uint32_t n = 5000;
    uint32_t *fwd = xmalloc(n * sizeof *fwd), *rev = xmalloc(n * sizeof *rev);
    for (uint32_t i = 0; i < n; i++) {
        fwd[i] = i;
        rev[i] = n - 1 - i;
    }
    struct store *a = store_new(), *b = store_new();
    assert_int_equal(store_digest(a), store_digest(b));
    build(a, fwd, n);
    /* b: the same changes, but another table history: extra keys grew the
     * tables, then went from the last one (so the key order is a's again)
     * and housekeeping shrank the tables. */
    build(b, fwd, n);
    for (uint32_t i = 0; i < 30000; i++) set_id(b, 0, 100000 + i, 7);
    for (uint32_t i = 30000; i-- > 0;) {
        char k[32];
        size_t kl = key_of(100000 + i, k);
        assert_true(store_delete(b, 0, k, kl));
    }
    store_housekeeping(b);
    assert_int_equal(store_db_size(a, 0), store_db_size(b, 0));
    assert_int_equal(store_digest(a), store_digest(b));
    uint64_t base = store_digest(a);
    struct store *empty = store_new();
    assert_true(base != store_digest(empty));
    store_free(empty);

    /* Another hash seed (another bucket layout): the same digest. */
    hash_seed_init(0x1234567);
    struct store *other_seed = built(fwd, n);
    assert_int_equal(store_digest(other_seed), base);
    store_free(other_seed);
    hash_seed_init(DEFAULT_SEED);

    /* The same keys and values in another order are another state: KEYS,
     * SCAN and RANDOMKEY answer in the key order. */
    struct store *reversed = built(rev, n);
    assert_true(store_digest(reversed) != base);
    store_free(reversed);

    /* One value differs. */
    struct dict_entry *e = peek(b, 5, 1); /* id 1: db 5, "short" */
    assert_non_null(e);
    store_replace_value(b, 0, e, sobj_string(S("shorT")));
    assert_true(store_digest(b) != base);
    store_replace_value(b, 0, e, sobj_string(S("short")));
    assert_int_equal(store_digest(b), base);

    /* Same bytes, other encoding: int "0" vs raw "0" (id 0: db 0). */
    e = peek(b, 0, 0);
    assert_int_equal(store_value(e)->encoding, ENC_INT);
    store_replace_value(b, 0, e, sobj_string_raw(S("0")));
    assert_true(store_digest(b) != base);
    store_replace_value(b, 0, e, sobj_string_as(S("0"), ENC_EMBSTR));
    assert_true(store_digest(b) != base);
    store_replace_value(b, 0, e, sobj_string(S("0")));
    assert_int_equal(store_digest(b), base);
    /* embstr vs raw of the same bytes (id 1). */
    e = peek(b, 5, 1);
    store_replace_value(b, 0, e, sobj_string_raw(S("short")));
    assert_true(store_digest(b) != base);
    store_replace_value(b, 0, e, sobj_string(S("short")));
    assert_int_equal(store_digest(b), base);

    /* A TTL differs, appears, disappears. */
    e = peek(b, 0, 0); /* id 0 has TTL 1000 */
    assert_int_equal(store_expire_of(b, 0, e), 1000);
    store_set_expire(b, 0, e, 1001);
    assert_true(store_digest(b) != base);
    store_set_expire(b, 0, e, STORE_NO_EXPIRE);
    assert_true(store_digest(b) != base);
    store_set_expire(b, 0, e, 1000);
    assert_int_equal(store_digest(b), base);
    e = peek(b, 5, 1); /* no TTL */
    store_set_expire(b, 5, e, 1000);
    assert_true(store_digest(b) != base);
    store_set_expire(b, 5, e, STORE_NO_EXPIRE);
    assert_int_equal(store_digest(b), base);

    /* A key in another db; a key missing; a renamed key (each on a fresh
     * copy: moving a key back appends it, which is another order). */
    struct store *m = built(fwd, n);
    store_move(m, 5, S("key:1"), 10, S("key:1"));
    assert_true(store_digest(m) != base);
    store_free(m);
    m = built(fwd, n);
    assert_true(store_delete(m, 10, S("key:2")));
    assert_true(store_digest(m) != base);
    store_free(m);
    m = built(fwd, n);
    store_move(m, 5, S("key:1"), 5, S("key:1x"));
    assert_true(store_digest(m) != base);
    store_free(m);
    /* An extra key, and the same key gone again (it was the last). */
    set_str(b, 3, S("extra"), S("x"));
    assert_true(store_digest(b) != base);
    assert_true(store_delete(b, 3, S("extra")));
    assert_int_equal(store_digest(b), base);

    /* Two keys exchanging values is a different state. */
    set_str(a, 2, S("x"), S("1v"));
    set_str(a, 2, S("y"), S("2v"));
    set_str(b, 2, S("x"), S("2v"));
    set_str(b, 2, S("y"), S("1v"));
    assert_true(store_digest(a) != store_digest(b));
    store_replace_value(b, 2, store_lookup(b, 2, S("x"), 0, false), sobj_string(S("1v")));
    store_replace_value(b, 2, store_lookup(b, 2, S("y"), 0, false), sobj_string(S("2v")));
    assert_int_equal(store_digest(a), store_digest(b));
    /* ... and so is two keys exchanging TTLs. */
    store_set_expire(a, 2, store_lookup(a, 2, S("x"), 0, false), 111);
    store_set_expire(a, 2, store_lookup(a, 2, S("y"), 0, false), 222);
    store_set_expire(b, 2, store_lookup(b, 2, S("x"), 0, false), 222);
    store_set_expire(b, 2, store_lookup(b, 2, S("y"), 0, false), 111);
    assert_true(store_digest(a) != store_digest(b));

    free(fwd);
    free(rev);
    store_free(a);
    store_free(b);
}

/* Slices (the divergence checks' digests): walking on from where the last
 * one ended covers every key once across databases, then wraps to (0, 0);
 * a slice that reaches every key is store_digest(); a change shows only in
 * the slice that holds the changed key. */
static void test_digest_slices(void **state)
{
    (void)state;
    const uint32_t n = 1000; /* in databases 0, 5 and 10 */
    uint32_t *order = xmalloc(n * sizeof *order);
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    struct store *a = built(order, n), *b = built(order, n);
    int db = 0;
    uint64_t index = 0;
    assert_int_equal(store_digest_slice(a, &db, &index, UINT64_MAX), store_digest(a));
    assert_true(db == 0 && index == 0);

    uint64_t digests[8], covered = 0;
    int slices = 0;
    do {
        int db_before = db;
        uint64_t index_before = index;
        digests[slices++] = store_digest_slice(a, &db, &index, 150);
        assert_true(slices < 8);
        covered += db == 0 && index == 0 ? 0 : 150;
        assert_true(db > db_before || (db == db_before && index > index_before) ||
                    (db == 0 && index == 0));
    } while (!(db == 0 && index == 0));
    assert_int_equal(slices, 7);          /* 334 + 333 + 333 keys, 150 a slice */
    assert_int_equal(covered, 6 * 150);   /* the last one ends at the wrap */

    /* Key #200 of database 5 (id 601) changes in b: only the slice holding
     * it differs (database 0 has 334 keys: slices 0-2 end at db 5 #116). */
    struct dict_entry *e = store_key_at(b, 5, 200);
    store_replace_value(b, 5, e, sobj_string(S("changed")));
    db = 0;
    index = 0;
    for (int i = 0; i < slices; i++) {
        uint64_t d = store_digest_slice(b, &db, &index, 150);
        if (i == 3) assert_true(d != digests[i]);
        else assert_int_equal(d, digests[i]);
    }
    /* An empty slice, and one that starts past the end. */
    db = 5;
    index = 3;
    assert_int_equal(store_digest_slice(a, &db, &index, 0), 0);
    assert_true(db == 5 && index == 3);
    db = 15;
    index = 7;
    assert_int_equal(store_digest_slice(a, &db, &index, 10), 0);
    assert_true(db == 0 && index == 0);
    free(order);
    store_free(a);
    store_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_lookup_delete_dbs),
        cmocka_unit_test(test_lookup_expired),
        cmocka_unit_test(test_set_clears_ttl),
        cmocka_unit_test(test_expire_index_counts),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_swap_db),
        cmocka_unit_test(test_flush_changes_only_existing_keys_for_watch),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_key_order_independent_of_hash_seed),
        cmocka_unit_test(test_scan_expired),
        cmocka_unit_test(test_random_and_housekeeping),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_digest_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
