/* store/set.h — the set type (OBJ_SET) and its two encodings.
 *
 * As in Redis 7.0: "intset" (struct intset) while every member is an
 * integer (Redis's string2ll) and there are at most set-max-intset-entries
 * of them (a replicated setting, store/encoding.h; default 512, the
 * constant below), "hashtable" (struct dset) otherwise. A set converts
 * once and never back.
 *
 * Members have an index, 0..size-1, in an order every replica agrees on:
 * ascending for an intset, the dense array's order for a dset. Writes that
 * choose or iterate members (SPOP, SINTERSTORE...) go by index, never by
 * dict order. */
#ifndef PARLEY_STORE_SET_H
#define PARLEY_STORE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/object.h"

/* The default (store_encoding_defaults); the live limit is store_enc()'s. */
#define SET_MAX_INTSET_ENTRIES 512

extern const struct sobj_ops set_ops;

/* An empty set in the encoding Redis would create for a first member m
 * (intset if m is an integer). Callers add members before storing it. */
struct sobj *set_new_for(const char *m, size_t len);
struct sobj *set_new_intset(void);

size_t set_size(const struct sobj *o);
bool set_contains(struct sobj *o, const char *m, size_t len);
/* True if m was added (it was absent). May convert the encoding. */
bool set_add(struct sobj *o, const char *m, size_t len);
/* True if m was removed. An emptied set stays (the caller deletes the key). */
bool set_remove(struct sobj *o, const char *m, size_t len);

/* The member at index i; an intset member is formatted into tmp. */
const char *set_get_at(const struct sobj *o, size_t i, char tmp[SOBJ_INT_BUF], size_t *len);
void set_remove_at(struct sobj *o, size_t i);

#endif
