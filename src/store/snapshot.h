/* store/snapshot.h — the keyspace as bytes, and back.
 *
 * The encoding is what Raft snapshots hold:
 *
 *   "PARLEYS1"  u32 format (6; formats 1 to 5 are still read)  u32 aux_len  aux bytes
 *   the records (below); in format 6 packed in blocks:
 *       per block: u64 size  u64 stored size  bytes, LZ4 (a block) when
 *       the stored size is smaller, as they are when equal; each block
 *       holds whole records, about a megabyte of them
 *   u32 CRC-32 of every byte before it (as stored)
 *
 * The records:
 *   per non-empty database: 0xFE  u32 db  u64 key count
 *       per key, in the database's key order (keyspace.h), which decoding
 *       rebuilds by appending them in turn:
 *       u8 type  u8 encoding  u64 expire  u32 key length  key  value
 *   0xF9  the encoding thresholds (encoding.h), when not the defaults
 *   0xFA  the ACL users (acl.h), when not just a fresh default user
 *   0xFB  the script cache (scripts.h), when not empty
 *   0xFC  the pub/sub registry (pubsub.h), when not empty
 *   0xFD  the WATCH state (watch.h), when sessions are open
 *   0xFF  the end
 *
 * Values are typed; a string is u64 length + bytes, or for the int encoding
 * the u64 value; the collection types encode their own (object.h's
 * sobj_ops), in their replicated member order. Format 2 differs from 1 only
 * there: a skiplist sorted set is written in its member order (zset.h)
 * rather than sorted, which format 1 readers would refuse. Format 3 adds
 * streams (type 6, stream.h: their blocks as they are, and their consumer
 * groups). Format 4 adds the ACL users section, format 5 the encoding
 * thresholds (older snapshots load with the defaults), format 6 the blocks:
 * a snapshot of values that repeat themselves (JSON, text, a benchmark's
 * filler) is a fraction of the keyspace's size, which is what every node
 * writes to disk and a leader sends a follower behind it, as Redis
 * compresses its RDB files with LZF. `aux` is opaque bytes of the caller (the replication layer
 * keeps its own state there) covered by the same checksum. Integers are
 * little endian. Decoding checks the checksum before anything else and
 * bounds-checks every read, so a corrupt or truncated snapshot is reported,
 * never loaded. */
#ifndef PARLEY_STORE_SNAPSHOT_H
#define PARLEY_STORE_SNAPSHOT_H

#include <stddef.h>

#include "base/buf.h"
#include "store/keyspace.h"

/* The newest keyspace snapshot format this build writes and reads
 * (snapshot.c says what each added), and the one before it, unpacked,
 * which a cluster writes while a member may not read the newest
 * (repl/version.c). */
#define STORE_SNAPSHOT_FORMAT 6
#define STORE_SNAPSHOT_FORMAT_PLAIN 5
/* Appends a snapshot in the newest format, or in `format` (either above). */
void store_snapshot_encode(struct store *s, const void *aux, size_t aux_len, struct buf *out);
void store_snapshot_encode_format(struct store *s, unsigned format, const void *aux,
                                  size_t aux_len, struct buf *out);
/* The format a snapshot says it has (0: not a snapshot), before anything
 * else is read or checked: a node tells "newer than this build" from
 * "corrupt" with it (repl/version.c). */
unsigned store_snapshot_format(const void *data, size_t len);
/* Returns a new store, or NULL with a one-line reason in err. On success
 * *aux points into data (aux_len bytes). */
struct store *store_snapshot_decode(const void *data, size_t len, const char **aux,
                                    size_t *aux_len, char *err, size_t errlen);

/* One key's record, as the database sections hold it (u8 type ... value):
 * a backup's restore (server/restore.c) carries keys through the log in
 * it. Decoding bounds-checks every read; on success k->key points into the
 * reader's bytes and k->val is the caller's. */
struct reader;
struct snapshot_key {
    const char *key;
    size_t klen;
    int64_t expire_ms; /* STORE_NO_EXPIRE: none */
    struct sobj *val;
};
void store_snapshot_encode_key(const struct store *s, int db, const struct dict_entry *e,
                               struct buf *out);
int store_snapshot_decode_key(struct reader *r, struct snapshot_key *k);

#endif
