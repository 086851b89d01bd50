/* store/hash.h — the hash type (OBJ_HASH) and its two encodings.
 *
 * As in Redis 7.0: "listpack" (field, value, field, value... in one
 * listpack) while there are at most hash-max-listpack-entries fields and
 * every field and value is at most hash-max-listpack-value bytes, then
 * "hashtable" (a struct dset of fields, each entry holding its value: up to
 * 15 bytes in the entry itself, longer ones in an allocation of their own).
 * A hash converts once and never back. The limits are replicated settings
 * (store/encoding.h; defaults 512 and 64, the constants below), so every
 * replica chooses the same encoding.
 *
 * Fields have an index, 0..len-1, in an order every replica agrees on (the
 * listpack's, or the dset's dense array): iteration, HRANDFIELD and HSCAN
 * go by it, so their replies are the same on every node, which a Lua
 * script (run on every node) relies on when it writes what it read. */
#ifndef PARLEY_STORE_HASH_H
#define PARLEY_STORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/object.h"

/* The defaults (store_encoding_defaults); the live limits are store_enc()'s. */
#define HASH_MAX_LISTPACK_ENTRIES 512
#define HASH_MAX_LISTPACK_VALUE 64

extern const struct sobj_ops hash_ops;

/* A field or value as bytes (an integer in a listpack is formatted into
 * tmp, so the struct must outlive the use of p). */
struct hash_str {
    const char *p;
    size_t len;
    char tmp[SOBJ_INT_BUF];
};

/* An empty listpack hash: callers add fields before storing it. */
struct sobj *hash_new(void);
size_t hash_len(const struct sobj *o);

/* The value of field f: false if absent. */
bool hash_get(struct sobj *o, const char *f, size_t flen, struct hash_str *value);
bool hash_exists(struct sobj *o, const char *f, size_t flen);
/* Sets f to v; true if f is a new field. Converts the encoding when a
 * limit is crossed. */
bool hash_set(struct sobj *o, const char *f, size_t flen, const char *v, size_t vlen);
/* True if f was deleted. An emptied hash stays (the caller deletes the key). */
bool hash_delete(struct sobj *o, const char *f, size_t flen);

/* Iteration in index order. The hash must not change meanwhile. */
struct hash_iter {
    struct sobj *o;
    size_t pos; /* listpack position, or dset index */
};
void hash_iter_init(struct hash_iter *it, struct sobj *o);
bool hash_iter_next(struct hash_iter *it, struct hash_str *field, struct hash_str *value);

/* The field and value at index i (0 <= i < len). O(1) for a hashtable,
 * O(i) for a listpack: callers walking a listpack hash iterate instead. */
void hash_at(struct sobj *o, size_t i, struct hash_str *field, struct hash_str *value);

#endif
