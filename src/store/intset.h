/* store/intset.h — a sorted array of distinct 64-bit integers.
 *
 * What Redis calls an intset: the "intset" encoding of small sets whose
 * members are all integers. The integers are kept in ascending order, all
 * with the same width (2, 4 or 8 bytes, little endian): the width grows to
 * the smallest one that holds every member ever added and never shrinks,
 * as in Redis. Lookups are binary searches; insertions and removals move
 * the tail of the array (the sets that use it are small).
 *
 * Layout (one allocation): u32 width | u32 count | count * width bytes.
 * An intset pointer changes when the intset grows or shrinks: the
 * functions that change it return the new pointer. */
#ifndef PARLEY_STORE_INTSET_H
#define PARLEY_STORE_INTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct reader;
struct intset;

struct intset *intset_new(void);
void intset_free(struct intset *is);
struct intset *intset_dup(const struct intset *is);

uint32_t intset_len(const struct intset *is);
/* Bytes per member: 2, 4 or 8. */
uint32_t intset_width(const struct intset *is);
/* Bytes of the whole allocation. */
size_t intset_bytes(const struct intset *is);

/* The member at index (0 <= index < len), in ascending order. */
int64_t intset_get(const struct intset *is, uint32_t index);
/* True if v is a member; *index (if not NULL) receives its index, or the
 * index where it would be inserted. */
bool intset_find(const struct intset *is, int64_t v, uint32_t *index);

/* Adds v; *added tells whether it was new. */
struct intset *intset_add(struct intset *is, int64_t v, bool *added);
/* Removes v; *removed tells whether it was there. */
struct intset *intset_remove(struct intset *is, int64_t v, bool *removed);
/* Removes the member at index. */
struct intset *intset_remove_at(struct intset *is, uint32_t index);

/* Snapshot form: u32 width, u32 count, the members (little endian).
 * intset_decode returns NULL unless the bytes are a well-formed intset (a
 * valid width, as many bytes as the count implies, members strictly
 * ascending); it consumes exactly the intset's bytes. */
void intset_encode(const struct intset *is, struct buf *out);
struct intset *intset_decode(struct reader *r);

#endif
