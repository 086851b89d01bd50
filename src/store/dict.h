/* store/dict.h — a hash table from byte strings to values.
 *
 * Chained buckets over a power-of-two table, rehashed incrementally (a few
 * buckets per operation) so that growing a table of millions of keys never
 * stalls the event loop, as Redis's dict does. Keys are copied into the
 * entry; the value is a union the owner interprets. Iteration order depends
 * on a per-process hash seed, so nothing replicated may depend on it.
 *
 * dict_scan implements Redis's SCAN guarantee: an element present for the
 * whole scan is returned at least once, even across resizes, using the
 * reverse-binary cursor. */
#ifndef PARLEY_STORE_DICT_H
#define PARLEY_STORE_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dict_entry {
    struct dict_entry *next;
    union {
        void *ptr;
        int64_t i;
        double d;
    } v;
    int64_t aux;     /* owner-defined (the keyspace keeps the expiry here) */
    uint32_t slot;   /* owner-defined (the keyspace's expiry index) */
    uint32_t klen;
    char key[];      /* klen bytes, then a NUL for convenience */
};

struct dict_table {
    struct dict_entry **buckets;
    uint64_t size; /* 0 or a power of two */
    uint64_t used;
};

struct dict {
    struct dict_table t[2];
    int64_t rehash_index; /* -1 when not rehashing */
    /* Called on each entry removed by dict_delete/dict_clear (may be NULL). */
    void (*free_value)(struct dict_entry *e);
};

void dict_init(struct dict *d, void (*free_value)(struct dict_entry *e));
void dict_clear(struct dict *d); /* removes everything, keeps d usable */
/* An empty dict sized for n entries at once (loading a snapshot), so that
 * adding them does not rehash on the way; does nothing to one in use. */
void dict_presize(struct dict *d, uint64_t n);

static inline uint64_t dict_size(const struct dict *d)
{
    return d->t[0].used + d->t[1].used;
}

struct dict_entry *dict_find(struct dict *d, const void *key, size_t klen);
/* Returns the entry for key, creating it (value zeroed, aux 0) when absent;
 * *created tells which. */
struct dict_entry *dict_upsert(struct dict *d, const void *key, size_t klen, bool *created);
/* Removes and frees the entry for key; false if absent. */
bool dict_delete(struct dict *d, const void *key, size_t klen);
/* Removes the entry without freeing it or its value; the caller owns it and
 * frees it with dict_entry_free. */
struct dict_entry *dict_unlink(struct dict *d, const void *key, size_t klen);
void dict_entry_free(struct dict *d, struct dict_entry *e);

/* A random entry, or NULL when empty. `rng` is the caller's PRNG state. */
struct dict_entry *dict_random(struct dict *d, uint64_t *rng);

typedef void dict_scan_fn(void *ctx, struct dict_entry *e);
/* Visits the entries of one or more buckets; returns the next cursor, 0 when
 * the scan is complete. */
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_scan_fn *fn, void *ctx);

/* Safe full iteration: the callback must not modify the dict. */
struct dict_iter {
    struct dict *d;
    int table;
    uint64_t bucket;
    struct dict_entry *next;
};
void dict_iter_init(struct dict_iter *it, struct dict *d);
struct dict_entry *dict_iter_next(struct dict_iter *it);

/* Shrinks an oversized table (call from periodic housekeeping). */
void dict_maybe_shrink(struct dict *d);
/* Bytes used by the table itself (buckets), for INFO memory. */
size_t dict_overhead_bytes(const struct dict *d);

/* splitmix64: the small PRNG used with dict_random. */
static inline uint64_t dict_rand64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
