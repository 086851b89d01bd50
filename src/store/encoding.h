/* store/encoding.h — the encoding thresholds: Redis 7.0's
 * list-max-listpack-size, list-compress-depth, hash-max-listpack-entries/
 * value, set-max-intset-entries, zset-max-listpack-entries/value and
 * stream-node-max-bytes/entries, and hll-sparse-max-bytes.
 *
 * They decide how values are encoded (OBJECT ENCODING, node and block
 * sizes), so they are replicated state: every node must decide alike at
 * the same log position. A keyspace holds its own (struct store's `enc`,
 * written in snapshots); a CONFIG SET of one travels through the log as
 * __setencoding (cmds/encoding.c). The types (hash.c, set.c, zset.c,
 * quicklist.c, stream.c) read the thresholds of the keyspace being
 * applied through store_enc(), which points at the live keyspace's once
 * the server binds it (store_encoding_bind) and at the defaults before
 * (unit tests, tools).
 *
 * As in Redis, a value converts when a write crosses a threshold; lowering
 * one converts nothing until the value is written. Snapshot decoding never
 * checks values against the thresholds: a listpack bigger than today's
 * limit is one the log built under an older one. */
#ifndef PARLEY_STORE_ENCODING_H
#define PARLEY_STORE_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

struct store_encoding {
    long long list_max_listpack_size; /* < 0: -1..-5 node bytes 4..64 KB; >= 0: entries */
    long long list_compress_depth;    /* kept and shown; nodes are never compressed */
    long long hash_max_listpack_entries;
    long long hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries;
    long long zset_max_listpack_value;
    long long stream_node_max_bytes;   /* 0: no byte limit */
    long long stream_node_max_entries; /* 0: no entry limit (STREAM_BLOCK_ENTRIES_CAP) */
    long long hll_sparse_max_bytes;    /* a sparse HyperLogLog that would pass it turns dense */
};

/* Redis 7.0's defaults: -2, 0, 512, 64, 512, 128, 64, 4096, 100, 3000. */
extern const struct store_encoding store_encoding_defaults;

/* One setting: its name, Redis's old name (or NULL), its place and range. */
struct store_encoding_setting {
    const char *name;
    const char *alias;
    size_t offset;
    bool memory; /* Redis parses it as a memory value ("4kb") */
    long long min, max;
};
extern const struct store_encoding_setting store_encoding_settings[];
extern const size_t store_encoding_n_settings;
/* The setting named name or its alias (case-insensitive), or NULL. */
const struct store_encoding_setting *store_encoding_find(const char *name, size_t len);
static inline long long *store_encoding_field(struct store_encoding *e,
                                              const struct store_encoding_setting *s)
{
    return (long long *)((char *)e + s->offset);
}
static inline long long store_encoding_value(const struct store_encoding *e,
                                             const struct store_encoding_setting *s)
{
    return *(const long long *)((const char *)e + s->offset);
}

/* The thresholds the types obey now. */
extern const struct store_encoding *store_encoding_live;
static inline const struct store_encoding *store_enc(void) { return store_encoding_live; }
/* Points store_enc() at e (the server's keyspace; it never moves), or
 * back at the defaults for NULL. */
void store_encoding_bind(const struct store_encoding *e);

/* Snapshot section (snapshot.h's 0xF9): u32 count, then per setting
 * u32 name length, name, u64 value. Unknown names are skipped and values
 * out of range refused, so a newer writer's section still loads. */
void store_encoding_encode(const struct store_encoding *e, struct buf *out);
struct reader;
int store_encoding_decode(struct store_encoding *e, struct reader *r);
bool store_encoding_is_default(const struct store_encoding *e);

#endif
