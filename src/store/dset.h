/* store/dset.h — a dict of byte strings with a replicated order.
 *
 * The "hashtable" encoding of sets and hashes. A dict finds members; a
 * dense array lists them in an order that depends only on the sequence of
 * changes (never on hash seeds or bucket layout), so that a choice made by
 * index ("the member at dict_rand64(rng) % size") picks the same member on
 * every replica, whether it applied the log or restored a snapshot, and
 * iteration answers the same everywhere.
 *
 * Each dict entry keeps its index in the array in `slot`; its `v` and `aux`
 * are the owner's (a hash keeps the field's value there, a skiplist sorted
 * set its node, the keyspace the key's value and expiry). Adding appends;
 * removing moves the last member into the hole; nothing else moves a
 * member. Copies and snapshots keep the array order.
 *
 * A dset is either allocated (dset_new/dset_free: set and hash values) or
 * embedded in its owner's struct (dset_init/dset_clear: the databases of
 * the keyspace, skiplist sorted sets). */
#ifndef PARLEY_STORE_DSET_H
#define PARLEY_STORE_DSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dict.h"

struct dset {
    struct dict d;
    struct dict_entry **items; /* items[i]->slot == i */
    size_t n, cap;
};

/* free_value (may be NULL) is called on each entry that is removed. */
struct dset *dset_new(void (*free_value)(struct dict_entry *e));
void dset_free(struct dset *s);
/* The same for a dset embedded in another struct. dset_clear removes every
 * member (calling free_value) and leaves s empty and usable. */
void dset_init(struct dset *s, void (*free_value)(struct dict_entry *e));
void dset_clear(struct dset *s);
/* A copy with the same members in the same order (values not copied:
 * for sets). */
struct dset *dset_dup(const struct dset *s);

static inline size_t dset_size(const struct dset *s) { return s->n; }

bool dset_contains(struct dset *s, const char *m, size_t len);
/* Appends m if absent; true if it was added. */
bool dset_add(struct dset *s, const char *m, size_t len);
/* The entry for m, appended (v and aux zero) if absent; *created tells. */
struct dict_entry *dset_upsert(struct dset *s, const char *m, size_t len, bool *created);
struct dict_entry *dset_find(struct dset *s, const char *m, size_t len);
/* True if m was there (and is now gone). */
bool dset_remove(struct dset *s, const char *m, size_t len);
/* Takes m out of the set (dict and array) without freeing its entry or
 * calling free_value; NULL if absent. The caller frees the entry with
 * dict_entry_free(&s->d, e). */
struct dict_entry *dset_unlink(struct dset *s, const char *m, size_t len);

/* An empty dset sized for n members at once (dict_presize). */
void dset_presize(struct dset *s, size_t n);

/* The member at index i (0 <= i < size), as a dict entry (key, klen). */
static inline const struct dict_entry *dset_at(const struct dset *s, size_t i)
{
    return s->items[i];
}
void dset_remove_at(struct dset *s, size_t i);

/* Bytes used by entries with their keys, the table and the array (not by
 * the struct dset itself). */
size_t dset_memory(const struct dset *s);

#endif
