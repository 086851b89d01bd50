/* cmds/rdb.h — the pieces of Redis's serialization (its RDB format) that
 * DUMP and RESTORE build values from (cmds/rdb.c): lengths, strings (with
 * their integer and LZF encodings), the CRC-64 of the footer, and Redis's
 * listpack (read and written) and Redis 6's ziplist (read) containers.
 *
 * Reading is total: every length is checked against what is left of the
 * payload before it is used, nothing is allocated for more than the
 * payload holds (an LZF string is bounded by max_string), and any
 * inconsistency is a false return. */
#ifndef PARLEY_CMDS_RDB_H
#define PARLEY_CMDS_RDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* The RDB object types DUMP writes or RESTORE reads. */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

uint64_t rdb_crc64(const unsigned char *p, size_t len);

/* Writing. */
void rdb_put_len(struct buf *b, uint64_t len);
void rdb_put_str(struct buf *b, const char *p, size_t len);

/* Reading a payload. */
struct rdb_reader {
    const unsigned char *p, *end;
    long long max_string; /* the longest string an LZF payload may claim */
};
static inline size_t rdb_left(const struct rdb_reader *r) { return (size_t)(r->end - r->p); }
bool rdb_get_bytes(struct rdb_reader *r, size_t n, const unsigned char **out);
/* A length (not one of the string encodings). */
bool rdb_get_count(struct rdb_reader *r, uint64_t *n);
/* A string in any of its encodings, appended to `into` (whose previous
 * bytes stay); its offset and length. */
bool rdb_get_string(struct rdb_reader *r, struct buf *into, size_t *at, size_t *len);
/* A string, replacing what blob held. */
bool rdb_get_blob(struct rdb_reader *r, struct buf *blob);

/* One element of a listpack or ziplist: an integer or a string (p, len
 * into the container). */
struct rdb_elem {
    bool is_int;
    long long v;
    const char *p;
    size_t len;
};
/* The element as text: strings as they are, integers formatted into num. */
void rdb_elem_text(const struct rdb_elem *e, char num[24], const char **p, size_t *len);
/* The element as an integer (a string must be one, exactly). */
bool rdb_elem_int(const struct rdb_elem *e, long long *v);

/* Redis's listpack (not Parley's, store/listpack.h). */
struct rdb_lp_reader {
    const unsigned char *p, *end;
    uint32_t declared, seen;
};
/* False when the header is not that of a listpack of size bytes. */
bool rdb_lp_open(struct rdb_lp_reader *it, const unsigned char *lp, size_t size);
/* 1: an element; 0: the end, with as many elements as declared; -1:
 * malformed. */
int rdb_lp_next(struct rdb_lp_reader *it, struct rdb_elem *e);

/* Writes a listpack into b as an RDB string (its length first). */
struct rdb_lp_writer {
    struct buf lp;
    uint32_t count;
};
void rdb_lp_begin(struct rdb_lp_writer *w);
void rdb_lp_int(struct rdb_lp_writer *w, long long v);
/* A string (as an integer when it is one in canonical form, as Redis). */
void rdb_lp_str(struct rdb_lp_writer *w, const char *p, size_t len);
void rdb_lp_end(struct rdb_lp_writer *w, struct buf *out);

/* Calls fn with each element of a container as text; false when it is
 * malformed or fn refuses one. */
typedef bool rdb_elem_fn(void *arg, const char *p, size_t len);
bool rdb_listpack_each(const unsigned char *lp, size_t size, rdb_elem_fn *fn, void *arg);
/* Redis 6's ziplist. */
bool rdb_ziplist_each(const unsigned char *zl, size_t size, rdb_elem_fn *fn, void *arg);

/* Streams (cmds/rdb_stream.c): written as RDB type 19 (the type byte
 * first); read from type 15 or 19, NULL when the payload is malformed. */
struct stream;
struct sobj;
void rdb_stream_write(const struct stream *s, struct buf *b);
struct sobj *rdb_stream_read(int type, struct rdb_reader *r);

#endif
