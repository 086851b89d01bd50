/* store/object.h — the value stored under a key.
 *
 * A struct sobj is a typed value: for now a string, later lists, hashes,
 * sets, sorted sets and streams. Strings use Redis's three encodings so that
 * OBJECT ENCODING answers what Redis would: "int" (a canonical decimal that
 * fits in 64 bits, at most 20 characters), "embstr" (at most 44 bytes,
 * stored in the same allocation as the header) and "raw" (a separate,
 * growable buffer; what APPEND and SETRANGE produce). */
#ifndef PARLEY_STORE_OBJECT_H
#define PARLEY_STORE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type numbers are Redis's (RDB) numbers. */
enum sobj_type {
    OBJ_STRING = 0,
    OBJ_LIST = 1,
    OBJ_SET = 2,
    OBJ_ZSET = 3,
    OBJ_HASH = 4,
    OBJ_STREAM = 6,
};

/* Encoding numbers are Redis's (OBJ_ENCODING_*). */
enum sobj_encoding {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_HT = 2,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_EMBSTR = 8,
    ENC_QUICKLIST = 9,
    ENC_STREAM = 10,
    ENC_LISTPACK = 11,
};

struct buf;
struct sobj;
struct reader;

/* What a collection type supplies so that the keyspace can free, copy,
 * digest and snapshot its values without knowing them. One instance per
 * type, listed in object.c. */
struct sobj_ops {
    void (*free)(struct sobj *o);
    struct sobj *(*dup)(const struct sobj *o);
    size_t (*memory)(const struct sobj *o);
    /* Equal for equal contents on every node (order-independent where the
     * type is unordered). */
    uint64_t (*digest)(const struct sobj *o);
    /* Snapshot form of the value (the encoding byte is written by the
     * caller); decode returns NULL when the bytes are malformed. */
    void (*encode)(const struct sobj *o, struct buf *out);
    struct sobj *(*decode)(struct reader *r, uint8_t encoding);
};

/* The type descriptor, or NULL for strings and unknown types. */
const struct sobj_ops *sobj_type_of(int type);

#define SOBJ_EMBSTR_MAX 44
/* A new value's LFU counter (Redis's LFU_INIT_VAL): new keys are not
 * evicted before they had a chance to be used. */
#define SOBJ_LFU_INIT 5
#define SOBJ_INT_MAX_CHARS 20
/* Room for any 64-bit integer in decimal, sign and NUL included. */
#define SOBJ_INT_BUF 24

struct sobj {
    uint8_t type;
    uint8_t encoding;
    /* How this node has been using the value, for maxmemory's LRU and LFU
     * policies (store/evict.h), in what would otherwise be padding. Never
     * replicated, digested or snapshotted: only the leader's view decides
     * what is evicted, and its decision travels in the log. */
    uint8_t lfu_count;  /* Redis's logarithmic access counter */
    uint8_t spare;
    uint32_t access_ms; /* last access: the access clock in ms, mod 2^32 */
    union {
        int64_t i; /* strings: ENC_INT */
        struct {   /* ENC_RAW, ENC_EMBSTR */
            char *p;
            size_t len;
            size_t cap;
        } s;
        void *ptr; /* collections: their own structure, per encoding */
    };
};

/* A new object of a collection type (header only; ptr set by the type). */
struct sobj *sobj_new(enum sobj_type type, enum sobj_encoding encoding, void *ptr);

/* A string with the most compact encoding (what SET stores). */
struct sobj *sobj_string(const char *p, size_t len);
/* A string that is always raw (what APPEND and SETRANGE store). */
struct sobj *sobj_string_raw(const char *p, size_t len);
struct sobj *sobj_string_int(int64_t v);
/* A string in the given encoding (ENC_RAW, or ENC_EMBSTR when it fits):
 * restoring a snapshot keeps the encoding the log produced. */
struct sobj *sobj_string_as(const char *p, size_t len, enum sobj_encoding enc);
void sobj_free(struct sobj *o);
struct sobj *sobj_dup(const struct sobj *o);

/* The bytes of a string; an int is formatted into tmp. */
const char *sobj_str(const struct sobj *o, char tmp[SOBJ_INT_BUF], size_t *len);
size_t sobj_strlen(const struct sobj *o);
/* The string as a 64-bit integer (Redis's strict string2ll rules). */
bool sobj_get_ll(const struct sobj *o, long long *v);
/* Makes a string raw and able to hold `len` bytes, zero-filling any growth;
 * returns a pointer to its bytes. Used by APPEND and SETRANGE, which check
 * `len` against their limits first: NULL (the string unchanged) when the
 * memory cannot be had anyway, which they answer as an error. */
char *sobj_string_grow(struct sobj *o, size_t len);

const char *sobj_type_name(const struct sobj *o);     /* "string", ... */
const char *sobj_encoding_name(const struct sobj *o); /* "int", ... */
/* Approximate bytes used by the value (for INFO memory and benchmarks). */
size_t sobj_memory(const struct sobj *o);

/* Redis's string2ll: optional '-', no leading zeros or spaces or '+',
 * must fit in long long. */
bool str_to_ll(const char *p, size_t len, long long *v);

#endif
