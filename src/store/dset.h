/* store/dset.h — a set of byte strings with a replicated member order.
 *
 * The "hashtable" encoding of sets. A dict finds members; a dense array
 * lists them in an order that depends only on the sequence of changes
 * (never on hash seeds or bucket layout), so that a choice made by index
 * ("the member at dict_rand64(rng) % size") picks the same member on every
 * replica, whether it applied the log or restored a snapshot.
 *
 * Each dict entry keeps its index in the array in `aux`. Adding appends;
 * removing moves the last member into the hole. Copies and snapshots keep
 * the array order. */
#ifndef PARLEY_STORE_DSET_H
#define PARLEY_STORE_DSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dict.h"

struct dset {
    struct dict d;
    struct dict_entry **items; /* items[i]->aux == i */
    size_t n, cap;
};

struct dset *dset_new(void);
void dset_free(struct dset *s);
/* A copy with the same members in the same order. */
struct dset *dset_dup(const struct dset *s);

static inline size_t dset_size(const struct dset *s) { return s->n; }

bool dset_contains(struct dset *s, const char *m, size_t len);
/* Appends m if absent; true if it was added. */
bool dset_add(struct dset *s, const char *m, size_t len);
/* True if m was there (and is now gone). */
bool dset_remove(struct dset *s, const char *m, size_t len);

/* The member at index i (0 <= i < size), as a dict entry (key, klen). */
static inline const struct dict_entry *dset_at(const struct dset *s, size_t i)
{
    return s->items[i];
}
void dset_remove_at(struct dset *s, size_t i);

/* Bytes used (entries, table, array). */
size_t dset_memory(const struct dset *s);

#endif
