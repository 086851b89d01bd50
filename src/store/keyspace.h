/* store/keyspace.h — the databases: keys, their values, their expiry.
 *
 * STORE_DBS numbered databases (SELECT 0..15), each a dset (dset.h) from key
 * to struct sobj: a dict to find keys, and a dense array that lists them in
 * a replicated order, which depends only on the sequence of changes (a new
 * key is appended; a deleted key's place is taken by the last key), never
 * on hash seeds, bucket layout or rehash progress. KEYS, SCAN and RANDOMKEY
 * answer in that order, so their replies are the same on every replica,
 * including one that restored a snapshot: snapshots write the keys in that
 * order and restoring appends them in it. A Lua script, which runs on every
 * node, may therefore write what KEYS returned.
 *
 * Every key with an expiry is also in a per-database array of (entry,
 * expiry) so the leader can walk them for active expiry; a key's
 * index there is kept in its dict entry's `aux` (-1 without an expiry; its
 * `slot` is its index in the key order). That array's order is not
 * replicated: only the leader walks it, and it proposes what it found.
 *
 * The keyspace never reads a clock: callers pass `now_ms`. Apply passes the
 * time carried in the log entry, so every replica decides "expired" the same
 * way. A lookup with evict=true deletes an expired key it meets (used only
 * while applying the log, where it is deterministic); evict=false only hides
 * it (used by reads served outside the log). */
#ifndef PARLEY_STORE_KEYSPACE_H
#define PARLEY_STORE_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/acl.h"
#include "store/dict.h"
#include "store/dset.h"
#include "store/encoding.h"
#include "store/lazyfree.h"
#include "store/notify.h"
#include "store/object.h"
#include "store/pubsub.h"
#include "store/scripts.h"
#include "store/watch.h"

#define STORE_DBS 16
#define STORE_NO_EXPIRE (-1)

/* A key with an expiry, in its database's expiring array. */
struct store_expiry {
    struct dict_entry *e;
    int64_t when_ms;
};

struct store_db {
    struct dset keys;               /* key -> value, in the replicated order */
    struct store_expiry *expiring;  /* keys with an expiry; e->aux indexes */
    size_t n_expiring;
    size_t cap_expiring;
};

/* Called for every change to a key (set, delete, expire, rename, in-place
 * edits reported with store_touch); key NULL means every key of the
 * database (FLUSHDB, SWAPDB). Blocked clients and WATCH hang off this. */
typedef void store_touch_fn(void *arg, int db, const char *key, size_t klen);

struct store {
    struct store_db db[STORE_DBS];
    uint64_t expired_keys; /* deleted on access because their TTL passed */
    uint64_t evicted_keys; /* deleted to make room under maxmemory (__evict) */
    store_touch_fn *on_touch;
    void *touch_arg;
    struct store_watch watch; /* replicated state of WATCH (watch.h) */
    struct pubsub pubsub;     /* replicated subscriptions (pubsub.h) */
    struct scripts scripts;   /* replicated script cache (scripts.h) */
    struct acl_users users;   /* replicated ACL users (acl.h) */
    struct store_encoding enc; /* replicated encoding thresholds (encoding.h) */
    /* Where an applied change of a user is reported (the server
     * disconnects or re-checks its clients); not replicated state. */
    void (*on_user_change)(void *arg, const char *name, size_t nlen, bool deleted);
    /* A command queued in MULTI refused when its EXEC was applied (its
     * user's rights changed since): the node that sent it (origin, the
     * client's id) adds it to its ACL LOG; reason "command", "key" or
     * "channel", object what was refused. Not replicated state. */
    void (*on_acl_denied)(void *arg, uint64_t origin, uint64_t client, const char *user,
                          size_t ulen, const char *reason, const char *object, size_t olen);
    void *user_change_arg;
    /* Where applied PUBLISHes and subscription changes are reported (the
     * server delivers to its own clients); not replicated state. */
    void (*on_message)(void *arg, struct pubsub_id to, const char *type, const char *pattern,
                       size_t plen, const char *channel, size_t clen, const char *message,
                       size_t mlen);
    void (*on_subscriptions)(void *arg, struct pubsub_id who, long long count);
    void *pubsub_arg;
    /* Keyspace notifications (notify.h): this node's notify-keyspace-events
     * and where events go; not replicated state. */
    uint32_t notify_flags;
    store_notify_fn *on_notify;
    /* Changes applied, one per keyspace event of A (notify.h) whether or not anyone listens
     * (Redis's dirty counter, near enough: INFO's
     * rdb_changes_since_last_save); this process's count, not replicated. */
    uint64_t changes;
};

struct store *store_new(void);
void store_free(struct store *s);
/* store_free, with the databases' keys and values freed by the free thread
 * (lazyfree.h): a keyspace a snapshot replaced, let go of at once. */
void store_free_lazily(struct store *s);

static inline struct sobj *store_value(const struct dict_entry *e)
{
    return e->v.ptr;
}
/* The expiry of key entry e of database db, or STORE_NO_EXPIRE. */
static inline int64_t store_expire_of(const struct store *s, int db, const struct dict_entry *e)
{
    return e->aux < 0 ? STORE_NO_EXPIRE : s->db[db].expiring[e->aux].when_ms;
}
static inline bool store_is_expired(const struct store *s, int db, const struct dict_entry *e,
                                    int64_t now_ms)
{
    return e->aux >= 0 && s->db[db].expiring[e->aux].when_ms <= now_ms;
}

struct dict_entry *store_lookup(struct store *s, int db, const char *key, size_t klen,
                                int64_t now_ms, bool evict);
/* store_lookup without counting an access (Redis's LOOKUP_NOTOUCH: TYPE,
 * TTL and kin, EXISTS leave a key's idle time as it was). */
struct dict_entry *store_lookup_notouch(struct store *s, int db, const char *key, size_t klen,
                                        int64_t now_ms, bool evict);
/* The live entry of key without counting an access or deleting anything
 * (OBJECT IDLETIME and FREQ look without touching). */
struct dict_entry *store_peek(struct store *s, int db, const char *key, size_t klen, int64_t now_ms);
/* Values taken out of the keyspace are freed as lazyfree.h says: a value
 * replaced or deleted by store_set, store_replace_value, store_move and
 * store_delete as the server's own deletion (lazyfree-lazy-server-del), an
 * expired key found by a lookup with evict=true as lazyfree-lazy-expire;
 * store_delete_for names the reason. Either way the key is gone at once.
 *
 * Stores val under key (taking ownership), replacing any previous value.
 * The expiry is cleared unless keep_ttl. */
struct dict_entry *store_set(struct store *s, int db, const char *key, size_t klen,
                             struct sobj *val, bool keep_ttl);
/* Replaces the value of an existing entry, keeping its expiry. */
void store_replace_value(struct store *s, int db, struct dict_entry *e, struct sobj *val);
bool store_delete(struct store *s, int db, const char *key, size_t klen);
/* DEL (LAZYFREE_USER_DEL), UNLINK (LAZYFREE_ALWAYS), eviction... */
bool store_delete_for(struct store *s, int db, const char *key, size_t klen,
                      enum lazyfree_reason why);
/* when_ms == STORE_NO_EXPIRE removes the expiry. */
void store_set_expire(struct store *s, int db, struct dict_entry *e, int64_t when_ms);
/* Moves key (value and expiry) to dst_key in dst_db, replacing anything
 * there. The source must exist. Returns the new entry. */
struct dict_entry *store_move(struct store *s, int db, const char *key, size_t klen,
                              int dst_db, const char *dst_key, size_t dst_klen);

static inline uint64_t store_db_size(const struct store *s, int db)
{
    return dset_size(&s->db[db].keys);
}
/* The key at index i (0 <= i < store_db_size) of the database's replicated
 * order, possibly expired (callers check). */
static inline struct dict_entry *store_key_at(const struct store *s, int db, uint64_t i)
{
    return s->db[db].keys.items[i];
}
static inline uint64_t store_db_expiring(const struct store *s, int db)
{
    return s->db[db].n_expiring;
}
/* Empties one database or all of them at once; their keys and values are
 * freed by the free thread when `why` wants it lazy (lazyfree.h). */
void store_flush_db(struct store *s, int db, enum lazyfree_reason why);
void store_flush_all(struct store *s, enum lazyfree_reason why);
/* Exchanges the contents of two databases (SWAPDB). */
void store_swap_db(struct store *s, int a, int b);

/* A random key (possibly expired: callers check), or NULL if empty: the key
 * at index dict_rand64(rng) % size, the same on every replica for the same
 * rng. */
struct dict_entry *store_random(struct store *s, int db, uint64_t *rng);
/* Active expiry's walk (only the leader's, repl/expire.c): checks up to
 * max_checks keys with an expiry, never more than the database has, going
 * down its expiring array from *cursor (from the top when *cursor is 0 or
 * past the end; below 0 it wraps round to the top), and calls fn on each
 * one expired at now_ms. Sets *cursor where the next call goes on and
 * *checked to how many keys were checked; returns how many were expired.
 * Deletes nothing. Downwards, because deleting a key moves the last one
 * into its place: when the caller deletes what a walk from the top found,
 * the keys it left close up above the cursor, and none it has not checked
 * moves above it. */
size_t store_scan_expired(struct store *s, int db, int64_t now_ms, size_t max_checks,
                          size_t *cursor, size_t *checked,
                          void (*fn)(void *ctx, struct dict_entry *e), void *ctx);

/* A key the server is removing by itself, just before its value goes:
 * `why` is "expired" (its TTL passed) or "evicted" (maxmemory). One hook
 * per process, NULL for none (cmds/hold.c: locks and elections). Both
 * happen in apply, so it runs on every node at the same point of the log.
 * An expired key the hook gave a new value and expiry (true) stays. */
typedef bool store_reclaimed_fn(struct store *s, int db, const char *key, size_t klen,
                                struct dict_entry *e, const char *why);
void store_set_reclaimed_hook(store_reclaimed_fn *fn);

/* Deletes key as a maxmemory victim (the reclaimed hook told, counted in
 * evicted_keys); false if there is no such key. */
bool store_evict(struct store *s, int db, const char *key, size_t klen);

/* Reports an in-place change of key's value (APPEND, LPUSH on an existing
 * list...): the mutators above report their own changes. */
static inline void store_touch(struct store *s, int db, const char *key, size_t klen)
{
    watch_touch(&s->watch, db, key, klen);
    if (s->on_touch) s->on_touch(s->touch_arg, db, key, klen);
}

/* A change Redis 7.0 does not count as a modification of the key for
 * WATCH (a stream's consumer groups, XSETID): wakes the clients blocked on
 * the key, leaves transactions watching it alone. */
static inline void store_touch_unwatched(struct store *s, int db, const char *key, size_t klen)
{
    if (s->on_touch) s->on_touch(s->touch_arg, db, key, klen);
}

/* Reports a keyspace event (notify.h) of class cls about key in database
 * db, when this node's notify-keyspace-events asks for it. */
static inline void store_notify(struct store *s, int db, uint32_t cls, const char *event,
                                const char *key, size_t klen)
{
    if (cls & NOTIFY_ALL) s->changes++; /* not "new" nor a key miss */
    if ((s->notify_flags & cls) && (s->notify_flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) &&
        s->on_notify)
        s->on_notify(s, db, cls, event, key, klen);
}

/* Periodic housekeeping (table shrinking); never changes logical state. */
void store_housekeeping(struct store *s);

/* A digest of the logical content (keys in their replicated order, values,
 * types, encodings, expiries): equal on replicas that applied the same
 * log. */
uint64_t store_digest(struct store *s);
/* The digest of a slice of the keyspace: at most max_keys keys in the
 * replicated order, from key *index of database *db on, on into the next
 * databases. Sets (*db, *index) to where the next slice starts, (0, 0)
 * after the last key of the last database. store_digest() is the slice
 * from (0, 0) that takes every key. Costs the slice's keys and values. */
uint64_t store_digest_slice(struct store *s, int *db, uint64_t *index, uint64_t max_keys);
/* Approximate bytes used by keys and values. */
size_t store_memory(struct store *s);

#endif
