/* store/snapshot.c — see snapshot.h. */
#include "store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

#include "base/check.h"
#include "base/hash.h"
#include "base/mem.h"

#define MAGIC "PARLEYS1"
/* Format 2 writes a skiplist sorted set in its member order (zset.h),
 * which format 1 readers refuse as unsorted; format 1 (sorted) still
 * decodes. Format 3 may hold streams (stream.h), which format 2 readers
 * do not know; formats 1 and 2 still decode. Format 5 may hold the
 * encoding thresholds (encoding.h); older formats load with the defaults.
 * Format 6 is format 5's records in LZ4 blocks. */
#define FORMAT STORE_SNAPSHOT_FORMAT
#define FORMAT_OLDEST 1
/* Format 6 packs the records into LZ4 blocks (snapshot.h). */
#define FORMAT_PACKED 6
/* A block is closed at the first record boundary past this many bytes. */
#define BLOCK_BYTES (1u << 20)
/* LZ4 expands at most about 255 to 1: a block claiming more is malformed
 * (and is not allocated for). */
#define LZ4_RATIO_MAX 256
/* A key record's least size: type, encoding, expiry, key length, and a
 * value's length or integer. */
#define KEY_RECORD_MIN (1 + 1 + 8 + 4 + 8)
#define OP_ENCODING 0xF9
#define OP_ACL 0xFA
#define OP_SCRIPTS 0xFB
#define OP_PUBSUB 0xFC
#define OP_WATCH 0xFD
#define OP_DB 0xFE
#define OP_EOF 0xFF

static void encode_value(struct buf *out, const struct sobj *o)
{
    const struct sobj_ops *t = sobj_type_of(o->type);
    if (t) {
        t->encode(o, out);
        return;
    }
    switch (o->type) {
    case OBJ_STRING:
        if (o->encoding == ENC_INT) {
            buf_append_u64(out, (uint64_t)o->i);
        } else {
            buf_append_u64(out, o->s.len);
            buf_append(out, o->s.p, o->s.len);
        }
        return;
    }
}

void store_snapshot_encode_key(const struct store *s, int db, const struct dict_entry *e,
                               struct buf *out)
{
    const struct sobj *o = e->v.ptr;
    buf_append_u8(out, o->type);
    buf_append_u8(out, o->encoding);
    buf_append_u64(out, (uint64_t)store_expire_of(s, db, e));
    buf_append_u32(out, e->klen);
    buf_append(out, e->key, e->klen);
    encode_value(out, o);
}

/* Where the records go: straight into the output, or (format 6) into a
 * block that is compressed into it once it holds BLOCK_BYTES. */
struct body {
    struct buf *out;
    struct buf block;
    bool packed;
};

static struct buf *body_buf(struct body *b)
{
    return b->packed ? &b->block : b->out;
}

/* After each whole record, so that no record spans two blocks: the block
 * is closed when full, or at the end. Stored as it is when LZ4 cannot
 * make it smaller (or it is too big for LZ4: one huge record). */
static void body_record_done(struct body *b, bool last)
{
    size_t raw = b->block.len;
    if (!b->packed || raw == 0 || (raw < BLOCK_BYTES && !last)) return;
    int stored = 0;
    buf_append_u64(b->out, raw);
    if (raw <= LZ4_MAX_INPUT_SIZE) {
        int bound = LZ4_compressBound((int)raw);
        char *dst = buf_reserve(b->out, 8 + (size_t)bound) + 8;
        stored = LZ4_compress_default(b->block.data, dst, (int)raw, bound);
    }
    if (stored > 0 && (size_t)stored < raw) {
        buf_append_u64(b->out, (uint64_t)stored); /* before the bytes just written */
        b->out->len += (size_t)stored;
    } else {
        buf_append_u64(b->out, raw);
        buf_append(b->out, b->block.data, raw);
    }
    buf_clear(&b->block);
}

void store_snapshot_encode_format(struct store *s, unsigned format, const void *aux,
                                  size_t aux_len, struct buf *out)
{
    CHECK(format == FORMAT_PACKED || format == STORE_SNAPSHOT_FORMAT_PLAIN);
    size_t start = out->len;
    buf_append(out, MAGIC, 8);
    buf_append_u32(out, format);
    buf_append_u32(out, (uint32_t)aux_len);
    buf_append(out, aux, aux_len);
    struct body b = {out, BUF_INIT, format == FORMAT_PACKED};
    struct buf *rec = body_buf(&b);
    for (int db = 0; db < STORE_DBS; db++) {
        if (store_db_size(s, db) == 0) continue;
        buf_append_u8(rec, OP_DB);
        buf_append_u32(rec, (uint32_t)db);
        buf_append_u64(rec, store_db_size(s, db));
        body_record_done(&b, false);
        /* In the key order: restoring appends them in it (snapshot.h). */
        for (uint64_t i = 0; i < store_db_size(s, db); i++) {
            store_snapshot_encode_key(s, db, store_key_at(s, db, i), rec);
            body_record_done(&b, false);
        }
    }
    if (!scripts_empty(&s->scripts)) {
        buf_append_u8(rec, OP_SCRIPTS);
        scripts_encode(&s->scripts, rec);
    }
    if (!acl_users_initial(&s->users)) {
        buf_append_u8(rec, OP_ACL);
        acl_users_encode(&s->users, rec);
    }
    if (!store_encoding_is_default(&s->enc)) {
        buf_append_u8(rec, OP_ENCODING);
        store_encoding_encode(&s->enc, rec);
    }
    if (!pubsub_empty(&s->pubsub)) {
        buf_append_u8(rec, OP_PUBSUB);
        pubsub_encode(&s->pubsub, rec);
    }
    if (watch_active(&s->watch)) {
        buf_append_u8(rec, OP_WATCH);
        watch_encode(&s->watch, rec);
    }
    buf_append_u8(rec, OP_EOF);
    body_record_done(&b, true);
    buf_free(&b.block);
    buf_append_u32(out, checksum_crc32(0, out->data + start, out->len - start));
}

void store_snapshot_encode(struct store *s, const void *aux, size_t aux_len, struct buf *out)
{
    store_snapshot_encode_format(s, FORMAT, aux, aux_len, out);
}

static struct sobj *decode_value(struct reader *r, uint8_t type, uint8_t encoding)
{
    const struct sobj_ops *t = sobj_type_of(type);
    if (t) return t->decode(r, encoding);
    if (type != OBJ_STRING) return NULL;
    uint64_t v;
    if (reader_u64(r, &v)) return NULL;
    switch (encoding) {
    case ENC_INT:
        return sobj_string_int((int64_t)v);
    case ENC_EMBSTR:
    case ENC_RAW: {
        const char *p;
        if (v > reader_left(r) || reader_bytes(r, (size_t)v, &p)) return NULL;
        return sobj_string_as(p, (size_t)v, encoding);
    }
    }
    return NULL;
}

int store_snapshot_decode_key(struct reader *r, struct snapshot_key *k)
{
    uint8_t type, encoding;
    uint64_t expire;
    uint32_t klen;
    if (reader_u8(r, &type) || reader_u8(r, &encoding) || reader_u64(r, &expire) ||
        reader_u32(r, &klen) || reader_bytes(r, klen, &k->key))
        return -1;
    k->klen = klen;
    k->expire_ms = (int64_t)expire;
    k->val = decode_value(r, type, encoding);
    return k->val ? 0 : -1;
}

static struct store *fail(struct store *s, char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    store_free(s);
    return NULL;
}

unsigned store_snapshot_format(const void *data, size_t len)
{
    const char *bytes = data;
    if (len < 8 + 4 || memcmp(bytes, MAGIC, 8) != 0) return 0;
    struct reader r;
    reader_init(&r, bytes + 8, 4);
    uint32_t format;
    return reader_u32(&r, &format) ? 0 : format;
}

/* Where the records come from: the bytes after the header, or (format 6)
 * its blocks, one at a time, each holding whole records. */
struct records {
    struct reader file; /* what follows the header */
    struct reader r;    /* the records at hand */
    bool packed;
    char *scratch;      /* a compressed block, unpacked */
    size_t cap;
};

/* Before each record: a packed snapshot's next block once the one at hand
 * is read. -1: the block is malformed. */
static int records_next(struct records *s)
{
    if (!s->packed || reader_left(&s->r) > 0) return 0;
    uint64_t raw, stored;
    const char *p;
    if (reader_u64(&s->file, &raw) || reader_u64(&s->file, &stored) || raw == 0 ||
        stored > raw || reader_bytes(&s->file, (size_t)stored, &p))
        return -1;
    if (stored == raw) {
        reader_init(&s->r, p, (size_t)raw);
        return 0;
    }
    if (raw > LZ4_MAX_INPUT_SIZE || raw / LZ4_RATIO_MAX > stored) return -1;
    if (raw > s->cap) {
        s->scratch = xrealloc(s->scratch, (size_t)raw);
        s->cap = (size_t)raw;
    }
    int n = LZ4_decompress_safe(p, s->scratch, (int)stored, (int)raw);
    if (n < 0 || (uint64_t)n != raw) return -1;
    reader_init(&s->r, s->scratch, (size_t)raw);
    return 0;
}

static struct store *records_fail(struct records *recs, struct store *s, char *err,
                                  size_t errlen, const char *why)
{
    free(recs->scratch);
    return fail(s, err, errlen, why);
}

struct store *store_snapshot_decode(const void *data, size_t len, const char **aux,
                                    size_t *aux_len, char *err, size_t errlen)
{
    const char *bytes = data;
    if (len < 8 + 4 + 4 + 1 + 4 || memcmp(bytes, MAGIC, 8) != 0)
        return fail(NULL, err, errlen, "not a Parley snapshot (bad magic or too short)");
    struct reader tail;
    reader_init(&tail, bytes + len - 4, 4);
    uint32_t stored_crc;
    reader_u32(&tail, &stored_crc);
    uint32_t crc = checksum_crc32(0, bytes, len - 4);
    if (crc != stored_crc) {
        char why[128];
        snprintf(why, sizeof why, "snapshot checksum mismatch (stored %08x, computed %08x)",
                 stored_crc, crc);
        return fail(NULL, err, errlen, why);
    }
    struct records recs = {0};
    reader_init(&recs.file, bytes + 8, len - 8 - 4);
    uint32_t format, alen;
    const char *aux_p;
    if (reader_u32(&recs.file, &format) || reader_u32(&recs.file, &alen) ||
        reader_bytes(&recs.file, alen, &aux_p))
        return fail(NULL, err, errlen, "snapshot header truncated");
    if (format < FORMAT_OLDEST || format > FORMAT) return fail(NULL, err, errlen, "unknown snapshot format version");
    recs.packed = format >= FORMAT_PACKED;
    if (!recs.packed) recs.r = recs.file;
    struct reader *r = &recs.r;
    struct store *s = store_new();
    for (;;) {
        uint8_t op;
        if (records_next(&recs) != 0)
            return records_fail(&recs, s, err, errlen, "snapshot has a malformed block");
        if (reader_u8(r, &op)) return records_fail(&recs, s, err, errlen, "snapshot truncated");
        if (op == OP_EOF) break;
        if (op == OP_SCRIPTS) {
            if (scripts_decode(&s->scripts, r) != 0)
                return records_fail(&recs, s, err, errlen, "snapshot has a malformed script cache");
            continue;
        }
        if (op == OP_ACL && format >= 4) {
            if (acl_users_decode(&s->users, r) != 0)
                return records_fail(&recs, s, err, errlen,
                                    "snapshot has a malformed ACL users section");
            continue;
        }
        if (op == OP_ENCODING && format >= 5) {
            if (store_encoding_decode(&s->enc, r) != 0)
                return records_fail(&recs, s, err, errlen,
                                    "snapshot has a malformed encoding thresholds section");
            continue;
        }
        if (op == OP_PUBSUB) {
            if (pubsub_decode(&s->pubsub, r) != 0)
                return records_fail(&recs, s, err, errlen, "snapshot has a malformed pub/sub section");
            continue;
        }
        if (op == OP_WATCH) {
            if (watch_decode(&s->watch, r) != 0)
                return records_fail(&recs, s, err, errlen, "snapshot has a malformed WATCH section");
            continue;
        }
        uint32_t db;
        uint64_t count;
        if (op != OP_DB || reader_u32(r, &db) || reader_u64(r, &count) || db >= STORE_DBS)
            return records_fail(&recs, s, err, errlen, "snapshot has a malformed database header");
        /* Room for the keys at once, no more than the bytes left can hold. */
        uint64_t fits = (uint64_t)(reader_left(r) + reader_left(&recs.file)) *
                        (recs.packed ? LZ4_RATIO_MAX : 1) / KEY_RECORD_MIN;
        dset_presize(&s->db[db].keys, (size_t)(count < fits ? count : fits));
        for (uint64_t i = 0; i < count; i++) {
            struct snapshot_key k;
            if (records_next(&recs) != 0)
                return records_fail(&recs, s, err, errlen, "snapshot has a malformed block");
            if (store_snapshot_decode_key(r, &k) != 0)
                return records_fail(&recs, s, err, errlen,
                                    "snapshot key truncated or value malformed");
            if (dset_find(&s->db[db].keys, k.key, k.klen) != NULL) {
                sobj_free(k.val);
                return records_fail(&recs, s, err, errlen, "snapshot has a duplicate key");
            }
            struct dict_entry *e = store_set(s, (int)db, k.key, k.klen, k.val, false);
            if (k.expire_ms != STORE_NO_EXPIRE) store_set_expire(s, (int)db, e, k.expire_ms);
        }
    }
    bool trailing = reader_left(r) != 0 || (recs.packed && reader_left(&recs.file) != 0);
    free(recs.scratch);
    if (trailing) return fail(s, err, errlen, "snapshot has trailing bytes");
    *aux = aux_p;
    *aux_len = alen;
    return s;
}
