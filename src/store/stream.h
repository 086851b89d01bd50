/* store/stream.h — the stream type: an append-only log of entries, each an
 * ID and field/value pairs, plus its consumer groups.
 *
 * Entries are packed into blocks of at most stream-node-max-entries
 * entries (live or deleted) ending where Redis's listpacks would end
 * (stream-node-max-bytes, counted in Redis's listpack encoding: stream.c
 * keeps that count per block; both are replicated settings,
 * store/encoding.h, by default 100 and 4096), so that
 * approximate trimming (`~`), which only drops whole blocks, removes what
 * Redis would. The blocks are kept
 * in a sorted array: IDs only grow, so appending is at the end, trimming
 * at the front, and a seek is a binary search over the blocks' first IDs.
 * An entry in a block is
 *
 *   u8 flags (1: deleted, 2: same fields)  varint ms - block's first ms
 *   varint seq  varint n_strings  (varint length, bytes) per field and value
 *
 * An entry whose fields are those of the block's first entry, in the same
 * order (the usual case: producers send the same fields every time), has
 * flag 2 and stores neither its count nor its fields, only its values, as
 * Redis's SAMEFIELDS entries. The first entry of a block never has it.
 *
 * XDEL marks an entry deleted; a block whose entries are all deleted is
 * freed. Snapshots write the blocks as they are, so a restored replica
 * trims exactly as one that applied the log.
 *
 * Consumer groups (sorted by name, as Redis's radix tree lists them) hold
 * their last delivered ID, their entries_read counter, a PEL (pending
 * entries list: ID -> struct stream_nack) and their consumers (sorted by
 * name), each with its own PEL sharing the group's nack structs.
 *
 * Times (delivery, seen, active) are the log entry's time passed in by the
 * commands: nothing here reads a clock. Nothing here replies to clients;
 * cmds/t_stream*.c do. */
#ifndef PARLEY_STORE_STREAM_H
#define PARLEY_STORE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/idmap.h"
#include "store/object.h"

/* A block never holds more entries than this, whatever
 * stream-node-max-entries says (0, "no limit", included), so that an
 * iterator can hold a block's offsets; nor more than Redis's
 * STREAM_LISTPACK_MAX_SIZE in listpack bytes (stream-node-max-bytes 0). */
#define STREAM_BLOCK_ENTRIES_CAP 1024
#define STREAM_BLOCK_BYTES_CAP (1 << 30)
/* Redis's SCG_INVALID_ENTRIES_READ. */
#define STREAM_ENTRIES_READ_INVALID (-1)

extern const struct sobj_ops stream_type_ops;

struct stream_block {
    struct stream_id first; /* the first entry's ID (live or deleted) */
    struct stream_id last;  /* the last entry's ID (live or deleted) */
    uint32_t len, cap;      /* bytes used and allocated in data */
    size_t lp_bytes;        /* what Redis's listpack of these entries takes */
    uint16_t n_entries;     /* live and deleted */
    uint16_t n_live;
    unsigned char *data;
};

struct stream_consumer {
    char *name;
    size_t name_len;
    int64_t seen_time;   /* last time it read, claimed or was looked up */
    int64_t active_time; /* last time it was handed entries (-1: never) */
    struct idmap pel;    /* ID -> struct stream_nack (the group's) */
};

struct stream_nack {
    struct stream_consumer *consumer;
    int64_t delivery_time;
    uint64_t delivery_count;
};

struct stream_cg {
    char *name;
    size_t name_len;
    struct stream_id last_id;
    int64_t entries_read; /* or STREAM_ENTRIES_READ_INVALID */
    struct idmap pel;     /* ID -> struct stream_nack (owned) */
    struct stream_consumer **consumers; /* sorted by name */
    size_t n_consumers, cap_consumers;
};

struct stream {
    struct stream_block **blocks;
    size_t n_blocks, cap_blocks;
    uint64_t length;
    struct stream_id last_id;
    struct stream_id first_id;       /* 0-0 when empty */
    struct stream_id max_deleted_id; /* the largest ID XDEL removed */
    uint64_t entries_added;
    struct stream_cg **groups; /* sorted by name */
    size_t n_groups, cap_groups;
};

/* A string handed to stream_append (a field or a value). */
struct stream_str {
    const char *p;
    size_t len;
};

struct sobj *stream_new(void);
static inline struct stream *stream_of(const struct sobj *o) { return o->ptr; }

/* Appends an entry with n strings (field, value, field, value...): the ID
 * must be greater than s->last_id (callers check). Updates length,
 * last_id, entries_added and first_id. */
void stream_append(struct stream *s, const struct stream_id *id, size_t n,
                   const struct stream_str *strs);
/* Building a stream from another's entries (RESTORE of Redis's form):
 * entries in increasing ID order, live or deleted, each either opening a
 * new block (as the source's blocks began) or following in the current one
 * (a block is also closed at STREAM_BLOCK_ENTRIES_CAP entries or
 * STREAM_BLOCK_BYTES_CAP bytes). Counts s->length; a block left with no
 * live entry is dropped. stream_load_entry is false (nothing added) for an
 * ID not above the previous one or an entry without fields and values in
 * pairs. stream_load_finish closes the last block and sets first_id; the
 * caller sets last_id, max_deleted_id and entries_added. */
struct stream_load {
    struct stream *s;
    struct stream_id last; /* the previous entry's */
    uint64_t entries;      /* loaded so far, live and deleted */
};
bool stream_load_entry(struct stream_load *l, bool new_block, const struct stream_id *id,
                       bool deleted, size_t n, const struct stream_str *strs);
void stream_load_finish(struct stream_load *l);

/* Marks the entry id deleted; false if there is no live entry with it.
 * Updates length and first_id (not max_deleted_id: XDEL's business). */
bool stream_delete(struct stream *s, const struct stream_id *id);
bool stream_entry_exists(const struct stream *s, const struct stream_id *id);

/* Trimming (Redis's streamTrim). MAXLEN keeps at most maxlen entries; MINID
 * removes entries below minid. approx only removes whole blocks; limit
 * (0: none) bounds the entries removed. Returns how many were removed. */
uint64_t stream_trim_maxlen(struct stream *s, uint64_t maxlen, bool approx, uint64_t limit);
uint64_t stream_trim_minid(struct stream *s, const struct stream_id *minid, bool approx,
                           uint64_t limit);

/* One entry as the iterator returns it; the strings are read with
 * stream_entry_next_str and stay valid until the stream changes. */
struct stream_entry {
    struct stream_id id;
    uint64_t n_strs; /* fields and values: twice the pairs */
    const unsigned char *p, *end;
    bool same, field_turn;           /* fields from the block's first entry */
    const unsigned char *mp, *mend;
};
bool stream_entry_next_str(struct stream_entry *e, const char **p, size_t *len);

/* Every entry of block b in order, deleted ones too: *off starts at 0;
 * false after the last. */
bool stream_block_next(const struct stream_block *b, uint32_t *off, struct stream_entry *e,
                       bool *deleted);

/* Walks live entries with start <= ID <= end, upwards or (rev) downwards. */
struct stream_it {
    const struct stream *s;
    struct stream_id start, end;
    bool rev, done;
    size_t block;  /* index of the current block */
    uint32_t off;  /* forward: the next entry's offset in the block */
    int pos;       /* reverse: index in offs of the next entry */
    int n_offs;
    uint32_t offs[STREAM_BLOCK_ENTRIES_CAP];
};
void stream_it_start(struct stream_it *it, const struct stream *s, const struct stream_id *start,
                     const struct stream_id *end, bool rev);
bool stream_it_next(struct stream_it *it, struct stream_entry *e);

/* The last live entry's ID, 0-0 when empty (Redis's streamLastValidID). */
struct stream_id stream_last_valid_id(const struct stream *s);

/* Consumer groups. */
struct stream_cg *stream_cg_find(const struct stream *s, const char *name, size_t len);
/* NULL if a group with that name exists. */
struct stream_cg *stream_cg_create(struct stream *s, const char *name, size_t len,
                                   const struct stream_id *last_id, int64_t entries_read);
bool stream_cg_destroy(struct stream *s, const char *name, size_t len);
struct stream_consumer *stream_consumer_find(const struct stream_cg *g, const char *name,
                                             size_t len);
/* Creates the consumer (seen now, never active); NULL if it exists. */
struct stream_consumer *stream_consumer_create(struct stream_cg *g, const char *name, size_t len,
                                               int64_t now_ms);
/* Deletes the consumer and its pending entries; returns how many it had,
 * -1 if there was no such consumer. */
long long stream_consumer_delete(struct stream_cg *g, const char *name, size_t len);

/* Records a delivery of id to consumer (XREADGROUP, XCLAIM FORCE): a new
 * nack, or the existing one moved to consumer. Returns the nack. */
struct stream_nack *stream_pel_add(struct stream_cg *g, struct stream_consumer *c,
                                   const struct stream_id *id, int64_t now_ms);
/* Moves a pending entry to consumer (no-op if it is already there). */
void stream_nack_move(struct stream_cg *g, struct stream_nack *n, const struct stream_id *id,
                      struct stream_consumer *to);
/* Removes id from the group's and its consumer's PEL; false if absent. */
bool stream_pel_remove(struct stream_cg *g, const struct stream_id *id);

/* Redis 7.0's lag bookkeeping (streamEstimateDistanceFromFirstEverEntry,
 * streamRangeHasTombstones): the entries_read value of an ID, or
 * STREAM_ENTRIES_READ_INVALID when it cannot be known. */
int64_t stream_estimate_entries_read(const struct stream *s, const struct stream_id *id);
bool stream_range_has_tombstones(const struct stream *s, const struct stream_id *start,
                                 const struct stream_id *end);
/* The group's lag; false when it cannot be known (reply null). */
bool stream_cg_lag(const struct stream *s, const struct stream_cg *g, long long *lag);
/* Moves the group's last_id to id (> last_id) after delivering it,
 * keeping entries_read as Redis 7.0 does. */
void stream_cg_delivered(const struct stream *s, struct stream_cg *g, const struct stream_id *id);

/* Approximate bytes of the stream's structures (for MEMORY and benchmarks). */
size_t stream_memory_bytes(const struct stream *s);

#endif
