/* store/hash.h — the hash type (OBJ_HASH) and its two encodings.
 *
 * As in Redis 7.0: "listpack" (field, value, field, value... in one
 * listpack) while there are at most HASH_MAX_LISTPACK_ENTRIES fields and
 * every field and value is at most HASH_MAX_LISTPACK_VALUE bytes, then
 * "hashtable" (a dict from field to value; a value of up to 16 bytes is
 * kept in the dict entry itself, a longer one in its own allocation). A
 * hash converts once
 * and never back. The limits are Redis 7.0's built-in defaults
 * (hash-max-listpack-entries 512, hash-max-listpack-value 64) and are
 * constants: every replica must choose the same encoding.
 *
 * No write depends on the order of a hashtable hash, so its dict order is
 * free to differ between replicas. */
#ifndef PARLEY_STORE_HASH_H
#define PARLEY_STORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dict.h"
#include "store/object.h"

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

/* Iteration in encoding order (listpack order, or dict order). The hash
 * must not change during the iteration. */
struct hash_iter {
    struct sobj *o;
    size_t pos;
    struct dict_iter it;
};
void hash_iter_init(struct hash_iter *it, struct sobj *o);
bool hash_iter_next(struct hash_iter *it, struct hash_str *field, struct hash_str *value);

/* A random field of a hashtable hash (dict_random's distribution), as
 * its dict entry; hash_entry_strs reads it. Only for ENC_HT. */
struct dict_entry *hash_random_entry(struct sobj *o, uint64_t *rng);
void hash_entry_strs(const struct dict_entry *e, struct hash_str *field, struct hash_str *value);

/* HSCAN over a hashtable hash (dict_scan's cursor and guarantees). */
typedef void hash_scan_fn(void *ctx, const struct dict_entry *e);
uint64_t hash_scan(struct sobj *o, uint64_t cursor, hash_scan_fn *fn, void *ctx);

#endif
