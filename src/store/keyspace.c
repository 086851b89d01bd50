/* store/keyspace.c — see keyspace.h. */
#include "store/keyspace.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"
#include "store/evict.h"
#include "store/lazyfree.h"

static void free_entry_value(struct dict_entry *e)
{
    sobj_free(e->v.ptr);
    e->v.ptr = NULL;
}

/* e->aux of a key without an expiry. */
#define NOT_EXPIRING (-1)

struct store *store_new(void)
{
    struct store *s = xcalloc(1, sizeof *s);
    for (int i = 0; i < STORE_DBS; i++) dset_init(&s->db[i].keys, free_entry_value);
    watch_init(&s->watch);
    pubsub_init(&s->pubsub);
    scripts_init(&s->scripts);
    acl_users_init(&s->users);
    s->enc = store_encoding_defaults;
    return s;
}

void store_free(struct store *s)
{
    if (s == NULL) return;
    for (int i = 0; i < STORE_DBS; i++) {
        dset_clear(&s->db[i].keys);
        free(s->db[i].expiring);
    }
    watch_clear(&s->watch);
    pubsub_clear(&s->pubsub);
    scripts_clear(&s->scripts);
    acl_users_free(&s->users);
    free(s);
}

static void expiring_add(struct store_db *d, struct dict_entry *e, int64_t when_ms)
{
    assert(e->aux == NOT_EXPIRING);
    if (d->n_expiring == d->cap_expiring) {
        d->cap_expiring = d->cap_expiring ? d->cap_expiring * 2 : 16;
        d->expiring = xrealloc(d->expiring, d->cap_expiring * sizeof *d->expiring);
    }
    e->aux = (int64_t)d->n_expiring;
    d->expiring[d->n_expiring++] = (struct store_expiry){e, when_ms};
}

/* The last expiring key takes e's place. */
static void expiring_remove(struct store_db *d, struct dict_entry *e)
{
    size_t i = (size_t)e->aux;
    assert(e->aux >= 0 && i < d->n_expiring && d->expiring[i].e == e);
    d->expiring[i] = d->expiring[--d->n_expiring];
    d->expiring[i].e->aux = (int64_t)i;
    e->aux = NOT_EXPIRING;
}

static void forget_entry(struct store_db *d, struct dict_entry *e)
{
    if (e->aux != NOT_EXPIRING) expiring_remove(d, e);
}

/* Takes key out of the database, expiry index included; its value is
 * freed as `why` says (lazyfree.h). */
static bool remove_key(struct store *s, int db, const char *key, size_t klen,
                       enum lazyfree_reason why)
{
    struct store_db *d = &s->db[db];
    struct dict_entry *e = dset_unlink(&d->keys, key, klen);
    if (e == NULL) return false;
    forget_entry(d, e);
    struct sobj *val = e->v.ptr;
    e->v.ptr = NULL;
    dict_entry_free(&d->keys.d, e);
    lazyfree_value(val, why);
    return true;
}

bool store_delete_for(struct store *s, int db, const char *key, size_t klen,
                      enum lazyfree_reason why)
{
    if (!remove_key(s, db, key, klen, why)) return false;
    store_touch(s, db, key, klen);
    return true;
}

bool store_delete(struct store *s, int db, const char *key, size_t klen)
{
    return store_delete_for(s, db, key, klen, LAZYFREE_SERVER_DEL);
}

struct dict_entry *store_peek(struct store *s, int db, const char *key, size_t klen, int64_t now_ms)
{
    assert(db >= 0 && db < STORE_DBS);
    struct dict_entry *e = dset_find(&s->db[db].keys, key, klen);
    return e && !store_is_expired(s, db, e, now_ms) ? e : NULL;
}

static store_reclaimed_fn *reclaimed_hook;

void store_set_reclaimed_hook(store_reclaimed_fn *fn) { reclaimed_hook = fn; }

bool store_evict(struct store *s, int db, const char *key, size_t klen)
{
    assert(db >= 0 && db < STORE_DBS);
    struct dict_entry *e = dset_find(&s->db[db].keys, key, klen);
    if (e == NULL) return false;
    if (reclaimed_hook) reclaimed_hook(s, db, key, klen, e, "evicted");
    store_delete_for(s, db, key, klen, LAZYFREE_EVICTION);
    s->evicted_keys++;
    return true;
}

static struct dict_entry *lookup(struct store *s, int db, const char *key, size_t klen,
                                 int64_t now_ms, bool evict, bool touch)
{
    assert(db >= 0 && db < STORE_DBS);
    struct dict_entry *e = dset_find(&s->db[db].keys, key, klen);
    if (e == NULL) return NULL;
    if (!store_is_expired(s, db, e, now_ms)) {
        if (touch) evict_touch(store_value(e));
        return e;
    }
    if (evict) {
        if (reclaimed_hook && reclaimed_hook(s, db, key, klen, e, "expired")) {
            if (touch) evict_touch(store_value(e));
            return e;
        }
        /* As in Redis 7.0, deleting a key whose time has passed changes it
         * for WATCH only if a transaction watched it while it was alive: one
         * that began watching once the key had expired saw it as gone. */
        int64_t expired_at = store_expire_of(s, db, e);
        remove_key(s, db, key, klen, LAZYFREE_EXPIRE);
        if (watch_active(&s->watch) && watch_any_began_before(&s->watch, expired_at))
            store_touch(s, db, key, klen);
        else
            store_touch_unwatched(s, db, key, klen);
        s->expired_keys++;
        store_notify(s, db, NOTIFY_EXPIRED, "expired", key, klen);
    }
    return NULL;
}

struct dict_entry *store_lookup(struct store *s, int db, const char *key, size_t klen,
                                int64_t now_ms, bool evict)
{
    return lookup(s, db, key, klen, now_ms, evict, true);
}

struct dict_entry *store_lookup_notouch(struct store *s, int db, const char *key, size_t klen,
                                        int64_t now_ms, bool evict)
{
    return lookup(s, db, key, klen, now_ms, evict, false);
}

struct dict_entry *store_set(struct store *s, int db, const char *key, size_t klen,
                             struct sobj *val, bool keep_ttl)
{
    struct store_db *d = &s->db[db];
    bool created;
    struct dict_entry *e = dset_upsert(&d->keys, key, klen, &created);
    if (created) {
        e->aux = NOT_EXPIRING;
        evict_stamp(val, NULL);
    } else {
        evict_stamp(val, e->v.ptr);
        lazyfree_value(e->v.ptr, LAZYFREE_SERVER_DEL);
        if (!keep_ttl) forget_entry(d, e);
    }
    e->v.ptr = val;
    store_touch(s, db, key, klen);
    if (created) store_notify(s, db, NOTIFY_NEW, "new", key, klen);
    return e;
}

void store_replace_value(struct store *s, int db, struct dict_entry *e, struct sobj *val)
{
    evict_stamp(val, e->v.ptr);
    lazyfree_value(e->v.ptr, LAZYFREE_SERVER_DEL);
    e->v.ptr = val;
    store_touch(s, db, e->key, e->klen);
}

void store_set_expire(struct store *s, int db, struct dict_entry *e, int64_t when_ms)
{
    struct store_db *d = &s->db[db];
    assert(dset_at(&d->keys, e->slot) == e);
    if (when_ms == STORE_NO_EXPIRE) forget_entry(d, e);
    else if (e->aux == NOT_EXPIRING) expiring_add(d, e, when_ms);
    else d->expiring[e->aux].when_ms = when_ms;
    store_touch(s, db, e->key, e->klen);
}

struct dict_entry *store_move(struct store *s, int db, const char *key, size_t klen,
                              int dst_db, const char *dst_key, size_t dst_klen)
{
    struct store_db *d = &s->db[db];
    struct dict_entry *src = dset_unlink(&d->keys, key, klen);
    assert(src != NULL);
    store_touch(s, db, key, klen);
    int64_t expire = store_expire_of(s, db, src);
    forget_entry(d, src);
    struct sobj *val = src->v.ptr;
    src->v.ptr = NULL;
    dict_entry_free(&d->keys.d, src);
    struct dict_entry *e = store_set(s, dst_db, dst_key, dst_klen, val, false);
    if (expire != STORE_NO_EXPIRE) store_set_expire(s, dst_db, e, expire);
    return e;
}

/* For WATCH, Redis counts FLUSHDB, FLUSHALL and SWAPDB as changes of the
 * keys the database held (touchAllWatchedKeysInDb), not of every name: a
 * watched key that did not exist is left alone. So while a transaction
 * watches, each key of `from` is recorded as changed in database `db`.
 * Above WATCH_FLUSH_KEYS_MAX keys the whole database is recorded instead
 * (a watched key that did not exist then aborts too), so that a flush
 * costs no more memory than that. */
#define WATCH_FLUSH_KEYS_MAX 100000

static void watch_touch_db_keys(struct store *s, int db, int from)
{
    if (!watch_active(&s->watch)) return;
    const struct dset *keys = &s->db[from].keys;
    if (dset_size(keys) > WATCH_FLUSH_KEYS_MAX) {
        watch_touch(&s->watch, db, NULL, 0);
        return;
    }
    for (size_t i = 0; i < dset_size(keys); i++) {
        const struct dict_entry *e = dset_at(keys, i);
        watch_touch(&s->watch, db, e->key, e->klen);
    }
}

/* A lazy flush moves the database's dset (its table, its key order and,
 * through free_entry_value, its values) to the heap and hands it to the
 * free thread whole, as Redis's emptyDbAsync hands over its dicts: the
 * database is empty at once, however many keys it held. */
static void hand_over_keys(struct store_db *d)
{
    uint64_t keys = dset_size(&d->keys);
    if (keys == 0) return;
    struct dset *old = xmalloc(sizeof *old);
    *old = d->keys;
    dset_init(&d->keys, free_entry_value);
    lazyfree_dset(old, keys);
}

void store_flush_db(struct store *s, int db, enum lazyfree_reason why)
{
    struct store_db *d = &s->db[db];
    watch_touch_db_keys(s, db, db);
    if (lazyfree_wanted(why)) hand_over_keys(d);
    dset_clear(&d->keys);
    free(d->expiring);
    d->expiring = NULL;
    d->n_expiring = d->cap_expiring = 0;
    store_touch_unwatched(s, db, NULL, 0);
}

void store_flush_all(struct store *s, enum lazyfree_reason why)
{
    for (int i = 0; i < STORE_DBS; i++) store_flush_db(s, i, why);
}

void store_free_lazily(struct store *s)
{
    if (s == NULL) return;
    for (int i = 0; i < STORE_DBS; i++) hand_over_keys(&s->db[i]);
    store_free(s);
}

/* Nothing points at a struct store_db (entries hold indexes only), so the
 * two are exchanged whole, orders and expiring arrays included. */
void store_swap_db(struct store *s, int a, int b)
{
    /* A watched key changes if it existed on either side. */
    watch_touch_db_keys(s, a, a);
    watch_touch_db_keys(s, a, b);
    watch_touch_db_keys(s, b, a);
    watch_touch_db_keys(s, b, b);
    struct store_db tmp = s->db[a];
    s->db[a] = s->db[b];
    s->db[b] = tmp;
    store_touch_unwatched(s, a, NULL, 0);
    store_touch_unwatched(s, b, NULL, 0);
}

struct dict_entry *store_random(struct store *s, int db, uint64_t *rng)
{
    uint64_t n = store_db_size(s, db);
    return n ? store_key_at(s, db, dict_rand64(rng) % n) : NULL;
}

size_t store_scan_expired(struct store *s, int db, int64_t now_ms, size_t max_checks,
                          size_t *cursor, size_t *checked,
                          void (*fn)(void *ctx, struct dict_entry *e), void *ctx)
{
    struct store_db *d = &s->db[db];
    size_t n = d->n_expiring, expired = 0, done = 0;
    if (max_checks > n) max_checks = n;
    size_t at = *cursor == 0 || *cursor > n ? n : *cursor;
    while (done < max_checks) {
        if (at == 0) at = n; /* wrap round to the top */
        const struct store_expiry *x = &d->expiring[--at];
        done++;
        if (x->when_ms <= now_ms) {
            fn(ctx, x->e);
            expired++;
        }
    }
    *cursor = at;
    *checked = done;
    return expired;
}

void store_housekeeping(struct store *s)
{
    for (int i = 0; i < STORE_DBS; i++) {
        struct store_db *d = &s->db[i];
        dict_maybe_shrink(&d->keys.d);
        if (d->cap_expiring > 64 && d->n_expiring * 4 < d->cap_expiring) {
            d->cap_expiring /= 2;
            d->expiring = xrealloc(d->expiring, d->cap_expiring * sizeof *d->expiring);
        }
    }
}

static uint64_t value_digest(const struct sobj *o)
{
    uint64_t h = hash_bytes_fixed(&o->type, 1, o->encoding);
    if (o->type == OBJ_STRING) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *p = sobj_str(o, tmp, &len);
        h ^= hash_bytes_fixed(p, len, 0x5eed);
    } else {
        h ^= sobj_type_of(o->type)->digest(o);
    }
    return h;
}

/* Per key, its name, value and expiry hashed together (little endian, so
 * the digest is the same on every host: a linear combination would let two
 * keys exchange values or TTLs unnoticed), chained in the key order: that
 * order is replicated state (KEYS, SCAN and RANDOMKEY answer in it), so
 * replicas whose orders drifted apart must not look equal. */
static uint64_t digest_chain(uint64_t digest, struct store *s, int db, const struct dict_entry *e)
{
    uint64_t parts[4] = {digest, hash_bytes_fixed(e->key, e->klen, (uint64_t)db),
                         value_digest(e->v.ptr), (uint64_t)store_expire_of(s, db, e)};
    unsigned char bytes[sizeof parts];
    for (size_t j = 0; j < sizeof bytes; j++)
        bytes[j] = (unsigned char)(parts[j / 8] >> (8 * (j % 8)));
    return hash_bytes_fixed(bytes, sizeof bytes, 0);
}

uint64_t store_digest_slice(struct store *s, int *db, uint64_t *index, uint64_t max_keys)
{
    uint64_t digest = 0, done = 0;
    int d = *db < 0 ? 0 : *db;
    uint64_t i = *index;
    /* The ACL users are part of the first slice (a whole digest too). */
    if (d == 0 && i == 0) {
        digest = acl_users_digest(&s->users);
        /* The encoding thresholds too, when set (defaults leave it as it was). */
        if (!store_encoding_is_default(&s->enc))
            digest ^= hash_bytes_fixed(&s->enc, sizeof s->enc, 0x656e63); /* "enc" */
    }
    for (; d < STORE_DBS; d++, i = 0) {
        for (; i < store_db_size(s, d); i++) {
            if (done == max_keys) {
                *db = d;
                *index = i;
                return digest;
            }
            digest = digest_chain(digest, s, d, store_key_at(s, d, i));
            done++;
        }
    }
    *db = 0;
    *index = 0;
    return digest;
}

uint64_t store_digest(struct store *s)
{
    int db = 0;
    uint64_t index = 0;
    return store_digest_slice(s, &db, &index, UINT64_MAX);
}

size_t store_memory(struct store *s)
{
    size_t total = 0;
    for (int db = 0; db < STORE_DBS; db++) {
        const struct store_db *d = &s->db[db];
        total += dset_memory(&d->keys) + d->cap_expiring * sizeof *d->expiring;
        for (uint64_t i = 0; i < dset_size(&d->keys); i++)
            total += sobj_memory(store_value(dset_at(&d->keys, i)));
    }
    return total;
}
