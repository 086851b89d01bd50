/* cmds/dump.c — DUMP and RESTORE: a value in Redis's serialization (one
 * RDB object, then the RDB version and a CRC-64 of it all), so values move
 * between redis-server 7.0 and Parley in both directions.
 *
 * DUMP writes the plainest forms Redis 7.0 reads: strings as bytes, lists
 * (RDB type 1), sets (2), hashes (4) as their elements, sorted sets as
 * members and binary scores (5), streams as Redis 7.0 does (19,
 * cmds/rdb_stream.c), RDB version 10. RESTORE reads those and what
 * redis-server 7.0 writes: strings in any of their encodings (small
 * integers, LZF), quicklists of listpacks (18), intsets (11), listpack
 * hashes (16) and sorted sets (17), sorted sets with text scores (3), and
 * what Redis 6 wrote: streams (15), ziplists of lists (10), sorted sets
 * (12) and hashes (13), quicklists of ziplists (14). Not read: the
 * zipmap hashes of Redis 2.4 and older (9), and modules. The RDB building blocks (lengths,
 * strings, listpacks, the CRC) are cmds/rdb.c's.
 *
 * A payload is a user's argument and may be anything: every length is
 * checked against what is left of it before it is used, nothing is
 * allocated for more than the payload holds (an LZF string is bounded by
 * proto-max-bulk-len, from the entry), and any inconsistency is "Bad data
 * format". The parse is a pure function of the payload, so every replica
 * answers alike.
 *
 * MIGRATE's two log commands are here too, as they are DUMP's payloads:
 * __migrateread (each key's TTL and payload) and __migratedel (deletes a
 * key only while its payload is still the one sent); the command itself,
 * which talks to the target, is server/cmd_migrate.c's. RESTORE-ASKING,
 * what MIGRATE sends, is RESTORE. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/rdb.h"
#include "store/evict.h"
#include "store/lazyfree.h"
#include "store/hash.h"
#include "store/list.h"
#include "store/quicklist.h"
#include "store/set.h"
#include "store/stream.h"
#include "store/zset.h"

#define RDB_VERSION 10
#define BAD_FORMAT "ERR Bad data format"


/* ---------------------------------------------------------------------
 * Writing (DUMP)
 * ------------------------------------------------------------------- */

static void put_double(struct buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    unsigned char t[8];
    for (int i = 0; i < 8; i++) t[i] = (unsigned char)(u >> (8 * i));
    buf_append(b, t, 8);
}

/* The value's serialization; false for a type DUMP does not write. */
static bool serialize(struct sobj *o, struct buf *b)
{
    char tmp[SOBJ_INT_BUF];
    size_t len;
    unsigned char type;
    switch (o->type) {
    case OBJ_STRING: {
        type = RDB_TYPE_STRING;
        buf_append(b, &type, 1);
        const char *p = sobj_str(o, tmp, &len);
        rdb_put_str(b, p, len);
        return true;
    }
    case OBJ_LIST: {
        type = RDB_TYPE_LIST;
        buf_append(b, &type, 1);
        struct quicklist *ql = list_ql(o);
        rdb_put_len(b, ql_count(ql));
        struct ql_iter it;
        if (ql_iter_at(ql, 0, true, &it)) {
            for (; !ql_iter_done(&it); ql_iter_next(&it)) {
                struct lp_value v;
                ql_iter_get(&it, &v);
                if (v.p) {
                    rdb_put_str(b, v.p, v.len);
                } else {
                    int n = snprintf(tmp, sizeof tmp, "%lld", v.i);
                    rdb_put_str(b, tmp, (size_t)n);
                }
            }
        }
        return true;
    }
    case OBJ_SET: {
        type = RDB_TYPE_SET;
        buf_append(b, &type, 1);
        size_t n = set_size(o);
        rdb_put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            const char *p = set_get_at(o, i, tmp, &len);
            rdb_put_str(b, p, len);
        }
        return true;
    }
    case OBJ_ZSET: {
        type = RDB_TYPE_ZSET_2;
        buf_append(b, &type, 1);
        size_t n = zset_length(o);
        rdb_put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            struct zset_elem e;
            zset_get_at(o, i, &e);
            rdb_put_str(b, e.m, e.mlen);
            put_double(b, e.score);
        }
        return true;
    }
    case OBJ_HASH: {
        type = RDB_TYPE_HASH;
        buf_append(b, &type, 1);
        size_t n = hash_len(o);
        rdb_put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            struct hash_str f, v;
            hash_at(o, i, &f, &v);
            rdb_put_str(b, f.p, f.len);
            rdb_put_str(b, v.p, v.len);
        }
        return true;
    }
    case OBJ_STREAM:
        rdb_stream_write(stream_of(o), b);
        return true;
    default:
        return false;
    }
}

/* The cluster protocol version from which RESTORE reads an RDB type
 * (cmds/cmd.h): builds of version 2 and older answer "Bad data format" to
 * streams and ziplists, so until every member reads them, every node
 * answers that, and a rolling upgrade never restores a key on some
 * replicas only. */
static unsigned type_protocol(int type)
{
    switch (type) {
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        return PROTOCOL_RESTORE_FORMS;
    default:
        return PROTOCOL_BASE;
    }
}

/* The DUMP payload of a value into b (empty at first): NULL, or the error
 * DUMP answers for a value it does not write. */
static const char *dump_payload(struct sobj *o, struct buf *b)
{
    static char error[96];
    bool older = o->type == OBJ_STREAM && cmd_protocol_active() < PROTOCOL_RESTORE_FORMS;
    if (older || !serialize(o, b)) { /* refused as builds of version 2 refuse it */
        snprintf(error, sizeof error, "ERR DUMP of a %s is not supported by Parley", sobj_type_name(o));
        return error;
    }
    unsigned char footer[10] = {RDB_VERSION & 0xff, RDB_VERSION >> 8};
    buf_append(b, footer, 2);
    uint64_t crc = rdb_crc64((const unsigned char *)b->data, b->len);
    for (int i = 0; i < 8; i++) footer[2 + i] = (unsigned char)(crc >> (8 * i));
    buf_append(b, footer + 2, 8);
    return NULL;
}

static void cmd_dump(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    if (e == NULL) {
        resp_null(&c->out);
        return;
    }
    struct buf b = BUF_INIT;
    const char *error = dump_payload(store_value(e), &b);
    if (error) resp_error(&c->out, error);
    else resp_bulk(&c->out, b.data, b.len);
    buf_free(&b);
}

/* __migrateread key [key ...] (MIGRATE's read, server/cmd_migrate.c): for
 * each key, nil when there is none, else [its TTL in ms (-1: none), its
 * DUMP payload], or DUMP's error for a value it does not write. Bounded
 * by the keys' sizes, as DUMP is. */
static void cmd_internal_migrateread(struct cmd_ctx *c)
{
    resp_array(&c->out, c->argc - 1);
    struct buf b = BUF_INIT;
    for (int j = 1; j < c->argc; j++) {
        struct dict_entry *e = ctx_lookup(c, &c->argv[j]);
        if (e == NULL) {
            resp_null(&c->out);
            continue;
        }
        buf_clear(&b);
        const char *error = dump_payload(store_value(e), &b);
        if (error) {
            resp_error(&c->out, error);
            continue;
        }
        long long expire = store_expire_of(c->store, c->db, e);
        long long ttl = expire == STORE_NO_EXPIRE ? -1 : expire - c->now_ms;
        resp_array(&c->out, 2);
        resp_int(&c->out, ttl < 1 && expire != STORE_NO_EXPIRE ? 1 : ttl);
        resp_bulk(&c->out, b.data ? b.data : "", b.len);
    }
    buf_free(&b);
}

/* __migratedel key crc [key crc ...] (MIGRATE without COPY): deletes each
 * key whose value is still the one MIGRATE sent, that is whose DUMP
 * payload ends with the same CRC-64 (the payload's last 8 bytes, crc): a
 * write that landed between MIGRATE's read and this entry changed the
 * value, and the key stays. Every replica serializes the same value alike,
 * so every one decides the same. Answers how many keys it deleted. */
static void cmd_internal_migratedel(struct cmd_ctx *c)
{
    long long deleted = 0;
    struct buf b = BUF_INIT;
    for (int j = 1; j + 1 < c->argc; j += 2) {
        const struct resp_arg *key = &c->argv[j], *crc = &c->argv[j + 1];
        struct dict_entry *e = ctx_lookup(c, key);
        if (e == NULL || crc->len != 8) continue;
        buf_clear(&b);
        if (dump_payload(store_value(e), &b) != NULL || b.len < 8 ||
            memcmp(b.data + b.len - 8, crc->ptr, 8) != 0)
            continue;
        if (store_delete_for(c->store, c->db, key->ptr, key->len, LAZYFREE_USER_DEL)) {
            deleted++;
            ctx_notify(c, NOTIFY_GENERIC, "del", key);
        }
    }
    buf_free(&b);
    resp_int(&c->out, deleted);
}

/* ---------------------------------------------------------------------
 * Reading (RESTORE)
 * ------------------------------------------------------------------- */

/* What a restore is building. */
struct build {
    int type;
    struct sobj *o;
    struct buf pending; /* a hash field or zset member waiting for its pair */
    bool have_pending;
    uint64_t added;
};

static bool add_score(struct build *b, const char *m, size_t mlen, double score)
{
    if (isnan(score)) return false;
    if (b->o == NULL) b->o = zset_new(1, mlen);
    int out = 0;
    if (!zset_add(b->o, score, m, mlen, ZADD_IN_NX, &out, NULL) || !(out & ZADD_OUT_ADDED))
        return false; /* NaN, or a member twice */
    b->added++;
    return true;
}

/* One element of a collection being restored (hash fields and zset
 * members wait for their value or score). */
static bool add_element(void *arg, const char *p, size_t len)
{
    struct build *b = arg;
    switch (b->type) {
    case OBJ_LIST:
        if (b->o == NULL) b->o = list_new();
        ql_push(list_ql(b->o), false, p, len);
        b->added++;
        return true;
    case OBJ_SET:
        if (b->o == NULL) b->o = set_new_for(p, len);
        if (!set_add(b->o, p, len)) return false; /* a member twice */
        b->added++;
        return true;
    default:
        break;
    }
    if (!b->have_pending) {
        buf_clear(&b->pending);
        buf_append(&b->pending, p, len);
        b->have_pending = true;
        return true;
    }
    b->have_pending = false;
    if (b->type == OBJ_HASH) {
        if (b->o == NULL) b->o = hash_new();
        if (!hash_set(b->o, b->pending.data ? b->pending.data : "", b->pending.len, p, len))
            return false; /* a field twice */
        b->added++;
        return true;
    }
    struct resp_arg s = {p, len};
    double score;
    if (!arg_to_double(&s, &score)) return false;
    return add_score(b, b->pending.data ? b->pending.data : "", b->pending.len, score);
}

static bool load_elements(struct rdb_reader *r, struct build *b, uint64_t n)
{
    struct buf tmp = BUF_INIT;
    bool ok = true;
    for (uint64_t i = 0; i < n && ok; i++) {
        size_t at, len;
        buf_clear(&tmp);
        ok = rdb_get_string(r, &tmp, &at, &len) && add_element(b, tmp.data ? tmp.data + at : "", len);
    }
    buf_free(&tmp);
    return ok;
}

/* A sorted set's score in RDB_ZSET's text form (253 NaN, 254 +inf, 255 -inf). */
static bool get_text_score(struct rdb_reader *r, double *score)
{
    const unsigned char *b;
    if (!rdb_get_bytes(r, 1, &b)) return false;
    if (b[0] == 253) return false;
    if (b[0] == 254 || b[0] == 255) {
        *score = b[0] == 254 ? INFINITY : -INFINITY;
        return true;
    }
    const unsigned char *t;
    if (!rdb_get_bytes(r, b[0], &t)) return false;
    char text[256];
    memcpy(text, t, b[0]);
    text[b[0]] = '\0';
    char *end;
    *score = strtod(text, &end);
    return end == text + b[0] && !isnan(*score);
}

/* The object of one RDB type from the payload; NULL when it is malformed,
 * empty, or of a type Parley does not read. */
static struct sobj *load_object(int type, struct rdb_reader *r)
{
    struct build b = {.pending = BUF_INIT};
    struct buf blob = BUF_INIT;
    uint64_t n = 0;
    bool ok = false;
    switch (type) {
    case RDB_TYPE_STRING: {
        size_t at, len;
        ok = rdb_get_string(r, &blob, &at, &len);
        struct sobj *o = ok ? sobj_string(blob.data ? blob.data : "", len) : NULL;
        buf_free(&blob);
        return o;
    }
    case RDB_TYPE_LIST:
        b.type = OBJ_LIST;
        ok = rdb_get_count(r, &n) && load_elements(r, &b, n);
        break;
    case RDB_TYPE_SET:
        b.type = OBJ_SET;
        ok = rdb_get_count(r, &n) && load_elements(r, &b, n);
        break;
    case RDB_TYPE_HASH:
        b.type = OBJ_HASH;
        ok = rdb_get_count(r, &n) && n <= UINT64_MAX / 2 && load_elements(r, &b, n * 2);
        break;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        b.type = OBJ_ZSET;
        ok = rdb_get_count(r, &n);
        for (uint64_t i = 0; ok && i < n; i++) {
            double score = 0;
            const unsigned char *d;
            ok = rdb_get_blob(r, &blob);
            if (ok && type == RDB_TYPE_ZSET_2) {
                ok = rdb_get_bytes(r, 8, &d);
                if (ok) {
                    uint64_t u = 0;
                    for (int k = 7; k >= 0; k--) u = (u << 8) | d[k];
                    memcpy(&score, &u, 8);
                }
            } else if (ok) {
                ok = get_text_score(r, &score);
            }
            ok = ok && add_score(&b, blob.data ? blob.data : "", blob.len, score);
        }
        break;
    case RDB_TYPE_SET_INTSET: {
        b.type = OBJ_SET;
        ok = rdb_get_blob(r, &blob) && blob.len >= 8;
        if (!ok) break;
        const unsigned char *p = (const unsigned char *)blob.data;
        uint32_t width = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint32_t count = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        ok = (width == 2 || width == 4 || width == 8) && blob.len == 8 + (size_t)count * width;
        for (uint32_t i = 0; ok && i < count; i++) {
            uint64_t u = 0;
            for (int k = (int)width - 1; k >= 0; k--) u = (u << 8) | p[8 + (size_t)i * width + (size_t)k];
            if (width < 8 && (u >> (8 * width - 1)) & 1) u |= ~0ull << (8 * width);
            char num[24];
            ok = add_element(&b, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)u));
        }
        break;
    }
    case RDB_TYPE_HASH_LISTPACK:
    case RDB_TYPE_ZSET_LISTPACK:
        b.type = type == RDB_TYPE_HASH_LISTPACK ? OBJ_HASH : OBJ_ZSET;
        ok = rdb_get_blob(r, &blob) &&
             rdb_listpack_each((const unsigned char *)blob.data, blob.len, add_element, &b) &&
             !b.have_pending;
        break;
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_HASH_ZIPLIST:
        b.type = type == RDB_TYPE_LIST_ZIPLIST ? OBJ_LIST : type == RDB_TYPE_ZSET_ZIPLIST ? OBJ_ZSET : OBJ_HASH;
        ok = rdb_get_blob(r, &blob) &&
             rdb_ziplist_each((const unsigned char *)blob.data, blob.len, add_element, &b) &&
             !b.have_pending;
        break;
    case RDB_TYPE_LIST_QUICKLIST: /* Redis 6: a ziplist per node (an empty one is skipped) */
        b.type = OBJ_LIST;
        ok = rdb_get_count(r, &n);
        for (uint64_t i = 0; ok && i < n; i++)
            ok = rdb_get_blob(r, &blob) &&
                 rdb_ziplist_each((const unsigned char *)blob.data, blob.len, add_element, &b);
        break;
    case RDB_TYPE_LIST_QUICKLIST_2:
        b.type = OBJ_LIST;
        ok = rdb_get_count(r, &n);
        for (uint64_t i = 0; ok && i < n; i++) {
            uint64_t container;
            ok = rdb_get_count(r, &container) && (container == 1 || container == 2) && rdb_get_blob(r, &blob);
            if (!ok) break;
            if (container == 1) ok = add_element(&b, blob.data ? blob.data : "", blob.len);
            else ok = rdb_listpack_each((const unsigned char *)blob.data, blob.len, add_element, &b);
        }
        break;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
        buf_free(&blob);
        buf_free(&b.pending);
        return rdb_stream_read(type, r);
    default:
        break;
    }
    buf_free(&blob);
    buf_free(&b.pending);
    if (!ok || b.added == 0) { /* malformed, or an empty collection */
        if (b.o) sobj_free(b.o);
        return NULL;
    }
    return b.o;
}

/* RESTORE's arguments but the key's. */
struct restore_args {
    bool replace, absttl;
    long long idle, freq, ttl;
};

#define NOT_INTEGER "ERR value is not an integer or out of range"
#define BAD_FOOTER "ERR DUMP payload version or checksum are wrong"

/* The options (argv[4] on): NULL, or the error Redis answers. */
static const char *restore_options(int argc, const struct resp_arg *argv, struct restore_args *a)
{
    *a = (struct restore_args){.idle = -1, .freq = -1};
    for (int j = 4; j < argc; j++) {
        const struct resp_arg *o = &argv[j];
        bool more = j + 1 < argc;
        if (arg_is(o, "replace")) {
            a->replace = true;
        } else if (arg_is(o, "absttl")) {
            a->absttl = true;
        } else if (arg_is(o, "idletime") && more && a->freq == -1) {
            if (!arg_to_ll(&argv[++j], &a->idle)) return NOT_INTEGER;
            if (a->idle < 0) return "ERR Invalid IDLETIME value, must be >= 0";
        } else if (arg_is(o, "freq") && more && a->idle == -1) {
            if (!arg_to_ll(&argv[++j], &a->freq)) return NOT_INTEGER;
            if (a->freq < 0 || a->freq > 255) return "ERR Invalid FREQ value, must be >= 0 and <= 255";
        } else {
            return "ERR syntax error";
        }
    }
    return NULL;
}

/* The TTL (argv[2]) and the payload's footer (argv[3]): NULL, or the error
 * Redis answers. */
static const char *restore_ttl_and_footer(const struct resp_arg *argv, struct restore_args *a)
{
    if (!arg_to_ll(&argv[2], &a->ttl)) return NOT_INTEGER;
    if (a->ttl < 0) return "ERR Invalid TTL value, must be >= 0";
    const struct resp_arg *pl = &argv[3];
    const unsigned char *p = (const unsigned char *)pl->ptr;
    if (pl->len < 10 || (p[pl->len - 10] | p[pl->len - 9] << 8) > RDB_VERSION) return BAD_FOOTER;
    uint64_t crc = rdb_crc64(p, pl->len - 8), stored = 0;
    for (int i = 7; i >= 0; i--) stored = (stored << 8) | p[pl->len - 8 + (size_t)i];
    return crc == stored ? NULL : BAD_FOOTER;
}

/* The payload's value; NULL when it is malformed. */
static struct sobj *restore_value(const struct resp_arg *payload, long long max_string)
{
    const unsigned char *p = (const unsigned char *)payload->ptr;
    struct rdb_reader r = {p + 1, p + payload->len - 10, max_string};
    return load_object(p[0], &r);
}

/* Before a RESTORE is proposed, the receiving node refuses a payload that
 * is not a value, when apply is sure to answer that: with REPLACE (without
 * it, BUSYKEY may come first, which only apply knows) and every argument
 * before the payload well formed. Which forms the cluster reads yet
 * (type_protocol) is apply's to say: this node's view of the version may
 * lag. */
const char *cmd_payload_precheck(int argc, const struct resp_arg *argv, long long max_string)
{
    struct restore_args a;
    if (restore_options(argc, argv, &a) || !a.replace || restore_ttl_and_footer(argv, &a)) return NULL;
    struct sobj *o = restore_value(&argv[3], max_string);
    if (o == NULL) return BAD_FORMAT;
    sobj_free(o);
    return NULL;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]. */
static void cmd_restore(struct cmd_ctx *c)
{
    struct restore_args a;
    const char *error = restore_options(c->argc, c->argv, &a);
    const struct resp_arg *key = &c->argv[1];
    if (error == NULL && !a.replace && ctx_lookup(c, key) != NULL)
        error = "BUSYKEY Target key name already exists.";
    if (error == NULL) error = restore_ttl_and_footer(c->argv, &a);
    const struct resp_arg *pl = &c->argv[3];
    struct sobj *o = NULL;
    if (error == NULL && type_protocol((unsigned char)pl->ptr[0]) <= cmd_protocol_active())
        o = restore_value(pl, cmd_max_string_len(c));
    if (error == NULL && o == NULL) error = BAD_FORMAT;
    if (error) {
        resp_error(&c->out, error);
        return;
    }
    long long ttl = a.ttl;
    bool deleted = a.replace && store_delete(c->store, c->db, key->ptr, key->len);
    if (ttl && !a.absttl) ttl = ttl > LLONG_MAX - c->now_ms ? LLONG_MAX : ttl + c->now_ms;
    if (ttl && ttl <= c->now_ms) { /* already expired: nothing to create */
        if (deleted) ctx_notify(c, NOTIFY_GENERIC, "del", key);
        sobj_free(o);
        resp_ok(&c->out);
        return;
    }
    struct dict_entry *e = store_set(c->store, c->db, key->ptr, key->len, o, false);
    /* This node's own access records (never replicated), as Redis sets them. */
    if (a.freq >= 0) o->lfu_count = (uint8_t)a.freq;
    if (a.idle >= 0) evict_set_idle(o, (uint64_t)a.idle * 1000);
    if (ttl) store_set_expire(c->store, c->db, e, ttl);
    ctx_notify(c, NOTIFY_GENERIC, "restore", key);
    resp_ok(&c->out);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

const struct cmd_def cmd_rows_dump[] = {
    {"dump", 2, CMD_READONLY, 1, 1, 1, ACL_KEYSPACE | ACL_READ | ACL_SLOW, cmd_dump,
     "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis "
     "objects composing the value and M their average size. For small string values the time "
     "complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", NULL, "RO access keymiss", NULL},
    {"restore", -4, CMD_WRITE | CMD_DENYOOM | CMD_PAYLOAD, 1, 1, 1,
     ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, cmd_restore, "generic", "2.6.0",
     "Create a key using the provided serialized value, previously obtained using DUMP.",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N "
     "is the number of Redis objects composing the value and M their average size. For small string "
     "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for "
     "sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is "
     "O(log(N)).", NULL, "OW update", NULL},
    /* What Redis's MIGRATE sends its target: RESTORE, for a target that is
     * a cluster node (Parley has no slots, so it is RESTORE here). */
    {"restore-asking", -4,
     CMD_WRITE | CMD_DENYOOM | CMD_PAYLOAD | CMD_PROTOCOL(PROTOCOL_MIGRATE), 1, 1, 1,
     ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, cmd_restore, "server", "3.0.0",
     "An internal command for migrating keys in a cluster",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N "
     "is the number of Redis objects composing the value and M their average size. For small string "
     "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for "
     "sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is "
     "O(log(N)).", NULL, "OW update", NULL},
    /* Run by server/cmd_migrate.c on the node that receives it: it reads
     * the keys through __migrateread, sends them, then deletes them with
     * __migratedel. The keys: argv[3], or those after KEYS. */
    {"migrate", -6, CMD_LOCAL | CMD_WRITE | CMD_PROTOCOL(PROTOCOL_MIGRATE), 3, 3, 1,
     ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, NULL, "generic", "2.6.0",
     "Atomically transfer a key from a Redis instance to another one.",
     "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target "
     "instance. See the pages of these commands for time complexity. Also an O(N) data transfer "
     "between the two instances is performed.", NULL,
     "RW access delete 3 !KEYS@6, RW access delete KEYS@6/n", NULL},
    {"__migrateread", -2,
     CMD_READONLY | CMD_INTERNAL | CMD_FOR_CLIENT | CMD_PROTOCOL(PROTOCOL_MIGRATE), 1, -1, 1,
     ACL_KEYSPACE | ACL_READ, cmd_internal_migrateread, "internal", "parley-0.1",
     "MIGRATE's read: each key's TTL and DUMP payload.", "O(N)", NULL, "RO access", NULL},
    {"__migratedel", -3,
     CMD_WRITE | CMD_INTERNAL | CMD_FOR_CLIENT | CMD_PROTOCOL(PROTOCOL_MIGRATE), 1, -1, 2,
     ACL_KEYSPACE | ACL_WRITE, cmd_internal_migratedel, "internal", "parley-0.1",
     "MIGRATE's delete: each key whose value is still the one sent.", "O(N)", NULL, "RW access delete", NULL},
    CMD_ROWS_END,
};
