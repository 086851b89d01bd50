/* store/idmap.h — stream IDs, and an ordered map from a stream ID to a
 * pointer.
 *
 * A stream ID is Redis's <ms>-<seq>, two unsigned 64-bit numbers compared
 * ms first. The map is what the pending entries lists (PELs) of consumer
 * groups and consumers are: lookup, insertion and removal anywhere in
 * O(log n), walking in ID order from any ID, both ends in O(1). It is a
 * skiplist; node levels come from a PRNG kept in the map, so they may
 * differ between replicas without changing any order or reply.
 *
 * The map never owns its values: idmap_clear takes a function to free
 * them. */
#ifndef PARLEY_STORE_IDMAP_H
#define PARLEY_STORE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stream_id {
    uint64_t ms, seq;
};

static inline int stream_id_cmp(const struct stream_id *a, const struct stream_id *b)
{
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

static inline bool stream_id_is_zero(const struct stream_id *a)
{
    return a->ms == 0 && a->seq == 0;
}

#define IDMAP_MAX_LEVEL 24

struct idmap_node {
    struct stream_id id;
    void *val;
    struct idmap_node *prev;   /* level 0, NULL for the first */
    int level;
    struct idmap_node *next[]; /* level entries */
};

struct idmap {
    struct idmap_node *head; /* sentinel with IDMAP_MAX_LEVEL links */
    struct idmap_node *tail; /* the last node, NULL when empty */
    int level;
    size_t size;
    uint64_t rng;
};

void idmap_init(struct idmap *m);
/* Frees the nodes (and each value with free_val, when not NULL). The map
 * is empty and usable afterwards. */
void idmap_clear(struct idmap *m, void (*free_val)(void *));
void *idmap_get(const struct idmap *m, const struct stream_id *id);
/* Adds id -> val; false (nothing changed) when id is already there. */
bool idmap_insert(struct idmap *m, const struct stream_id *id, void *val);
/* Removes id; returns its value, NULL when it was not there. */
void *idmap_remove(struct idmap *m, const struct stream_id *id);
/* The first node whose ID is >= id, NULL if none. */
struct idmap_node *idmap_seek(const struct idmap *m, const struct stream_id *id);
static inline struct idmap_node *idmap_first(const struct idmap *m) { return m->head->next[0]; }
static inline struct idmap_node *idmap_last(const struct idmap *m) { return m->tail; }
static inline struct idmap_node *idmap_next(const struct idmap_node *n) { return n->next[0]; }
static inline size_t idmap_size(const struct idmap *m) { return m->size; }
/* Bytes of the map's own nodes. */
size_t idmap_memory(const struct idmap *m);

#endif
