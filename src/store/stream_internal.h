/* store/stream_internal.h — what the files of the stream type share:
 *
 *   stream.c        blocks and entries: append, delete, trim, iteration,
 *                   and Redis's listpack sizes that say where blocks end
 *   stream_group.c  consumer groups, consumers, PELs, lag
 *   stream_codec.c  the type's operations: free, memory, snapshot, copy,
 *                   digest
 *
 * Nothing outside store/stream*.c includes this file. */
#ifndef PARLEY_STORE_STREAM_INTERNAL_H
#define PARLEY_STORE_STREAM_INTERNAL_H

#include "store/stream.h"

#define FLAG_DELETED 1
#define FLAG_SAMEFIELDS 2 /* only values: the fields are the block's first entry's */

/* An entry of a block as stored. */
struct raw_entry {
    uint8_t flags;
    struct stream_id id;
    uint64_t n_strs;           /* fields and values */
    const unsigned char *body; /* the strings (only values if SAMEFIELDS) */
    uint32_t next;             /* offset of the following entry */
};

/* Parses the entry at off of block b; false if the bytes are malformed
 * (only snapshots can hold such bytes). */
bool stream_entry_at(const struct stream_block *b, uint32_t off, struct raw_entry *e);
/* The entry e of block b as callers read it (its strings in order). */
void stream_entry_view(const struct stream_block *b, const struct raw_entry *e,
                       struct stream_entry *out);
/* What the entry adds to Redis's listpack (with the master entry for the
 * block's first). */
size_t stream_stored_lp_bytes(const struct stream_block *b, const struct raw_entry *e, bool first);
void stream_block_free(struct stream_block *b);
/* The first live entry's ID, 0-0 when empty. */
struct stream_id stream_first_live_id(const struct stream *s);

/* Names of groups and consumers compare as Redis's radix tree orders them. */
int stream_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
void stream_cg_free(struct stream_cg *g);

/* Binary search in an array of pointers to structs with name/name_len at
 * the same place; *at gets the insertion point. */
#define SORTED_FIND(arr, n, key, klen, at)                                     \
    do {                                                                       \
        size_t lo_ = 0, hi_ = (n);                                             \
        while (lo_ < hi_) {                                                    \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                               \
            int c_ = stream_name_cmp((arr)[mid_]->name, (arr)[mid_]->name_len, key, klen); \
            if (c_ < 0) lo_ = mid_ + 1;                                        \
            else hi_ = mid_;                                                   \
        }                                                                      \
        *(at) = lo_;                                                           \
    } while (0)

#endif
