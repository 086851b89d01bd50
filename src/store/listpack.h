/* store/listpack.h — a compact sequence of strings, in one allocation.
 *
 * What Redis calls a listpack: small hashes, small sorted sets and the nodes
 * of lists keep their elements here instead of one allocation per element,
 * which is most of the memory a small collection would otherwise cost.
 * Elements that are canonical 64-bit integers are stored as integers.
 *
 * Layout:  u32 total bytes | u32 count | entries...
 * entry:   varint (len << 1 | is_int) | payload | backlen
 *          payload: the bytes, or the integer as a zigzag varint
 *          backlen: the size of the two fields before it, as a varint
 *                   written backwards, so the list can be walked from the end
 *
 * Positions are byte offsets into the listpack; 0 means "none". Any change
 * reallocates and invalidates positions held by the caller, except the ones
 * the changing function returns. */
#ifndef PARLEY_STORE_LISTPACK_H
#define PARLEY_STORE_LISTPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_HEADER 8

struct lp_value {
    const char *p; /* bytes, or NULL for an integer */
    size_t len;
    long long i;   /* the integer when p == NULL */
};

unsigned char *lp_new(void);
void lp_free(unsigned char *lp);
size_t lp_bytes(const unsigned char *lp);
uint32_t lp_count(const unsigned char *lp);

size_t lp_first(const unsigned char *lp);
size_t lp_last(const unsigned char *lp);
size_t lp_next(const unsigned char *lp, size_t pos);
size_t lp_prev(const unsigned char *lp, size_t pos);
/* Element at index (negative counts from the end), or 0. */
size_t lp_seek(const unsigned char *lp, long long index);
void lp_get(const unsigned char *lp, size_t pos, struct lp_value *v);
/* The element's bytes: an integer is formatted into tmp (at least 24 bytes). */
const char *lp_get_str(const unsigned char *lp, size_t pos, char *tmp, size_t *len);
bool lp_eq(const unsigned char *lp, size_t pos, const char *s, size_t len);

/* Inserts s before pos (pos 0: at the end); *inserted receives the new
 * element's position if not NULL. */
unsigned char *lp_insert(unsigned char *lp, size_t pos, const char *s, size_t len, size_t *inserted);
unsigned char *lp_append(unsigned char *lp, const char *s, size_t len);
unsigned char *lp_prepend(unsigned char *lp, const char *s, size_t len);
/* Deletes n elements starting at pos; *next receives the position of the
 * element after them (0 at the end) if not NULL. */
unsigned char *lp_delete(unsigned char *lp, size_t pos, uint32_t n, size_t *next);
unsigned char *lp_replace(unsigned char *lp, size_t pos, const char *s, size_t len);
/* First element equal to s, looking at every (skip + 1)-th element from
 * pos (skip 1 compares the fields of field/value pairs); 0 if none. */
size_t lp_find(const unsigned char *lp, size_t pos, const char *s, size_t len, unsigned skip);

/* Checks a listpack read from outside (a snapshot): true if every entry is
 * well formed and the count and size agree. */
bool lp_valid(const unsigned char *lp, size_t bytes);

#endif
