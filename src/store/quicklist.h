/* store/quicklist.h — the list value: a doubly linked list of listpacks.
 *
 * What Redis 7.0 calls a quicklist (OBJECT ENCODING "quicklist"): elements
 * live in listpack nodes bounded by list-max-listpack-size (a replicated
 * setting, store/encoding.h; the default -2 is 8 KB), so pushes and pops at either end are
 * O(1) and an element costs a few bytes beyond its own. An element too big
 * for a node's limit gets a node to itself. No compression:
 * list-compress-depth is kept and shown, never used.
 *
 * Node layout is a function of the operations applied, so replicas that
 * applied the same log have the same layout; nothing replicated depends on
 * it anyway (the snapshot form and the digest are element sequences).
 *
 * Indexes are 0-based from the head; negative ones count from the tail
 * (-1 is the last element), as in Redis commands. */
#ifndef PARLEY_STORE_QUICKLIST_H
#define PARLEY_STORE_QUICKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/listpack.h"

/* A node's listpack may grow to this size under the default fill -2
 * (element length + 8, counted as Redis's _quicklistNodeAllowInsert counts
 * it), and under a positive fill (Redis's SIZE_SAFETY_LIMIT). */
#define QL_NODE_MAX_BYTES 8192
/* The largest element a listpack (32-bit sizes) can hold, with room to spare. */
#define QL_MAX_ELEMENT ((size_t)UINT32_MAX - 64)

struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *lp; /* never empty while linked */
};

struct quicklist {
    struct ql_node *head, *tail;
    size_t count; /* elements */
    size_t nodes;
};

/* A position in the list: an element (node and its offset in the node's
 * listpack), or the end (node NULL). */
struct ql_iter {
    struct quicklist *ql;
    struct ql_node *node;
    size_t pos;
    bool forward; /* head to tail */
};

struct quicklist *ql_new(void);
void ql_free(struct quicklist *ql);
struct quicklist *ql_dup(const struct quicklist *ql);
static inline size_t ql_count(const struct quicklist *ql) { return ql->count; }
/* Bytes used by the structure (headers and listpacks). */
size_t ql_memory(const struct quicklist *ql);

/* Adds s at the head (LPUSH) or the tail (RPUSH). len <= QL_MAX_ELEMENT. */
void ql_push(struct quicklist *ql, bool head, const char *s, size_t len);
/* The first or last element; the list must not be empty. The value points
 * into the list and is valid until the list changes. */
void ql_peek(const struct quicklist *ql, bool head, struct lp_value *v);
/* Removes the first or last element; the list must not be empty. */
void ql_pop(struct quicklist *ql, bool head);

/* Points it at the element at index, to walk forward (towards the tail) or
 * backward; false (and it at the end) if index is out of range. */
bool ql_iter_at(struct quicklist *ql, long long index, bool forward, struct ql_iter *it);
static inline bool ql_iter_done(const struct ql_iter *it) { return it->node == NULL; }
void ql_iter_get(const struct ql_iter *it, struct lp_value *v);
bool ql_iter_eq(const struct ql_iter *it, const char *s, size_t len);
void ql_iter_next(struct ql_iter *it);
/* Deletes the element it points at and moves it to the following one in
 * its direction. */
void ql_iter_delete(struct ql_iter *it);
/* Inserts s before or after the element it points at (LINSERT). The
 * iterator is invalid afterwards. */
void ql_iter_insert(struct ql_iter *it, bool after, const char *s, size_t len);

/* Element at index into *v (valid until the list changes); false if out of
 * range. */
bool ql_index(struct quicklist *ql, long long index, struct lp_value *v);
/* Replaces the element at index (LSET); false if out of range. */
bool ql_replace(struct quicklist *ql, long long index, const char *s, size_t len);
/* Deletes n elements from index start (0 <= start, start + n <= count). */
void ql_delete_range(struct quicklist *ql, size_t start, size_t n);

#endif
