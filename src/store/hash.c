/* store/hash.c — see hash.h. */
#include "store/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "store/dset.h"
#include "store/encoding.h"
#include "store/listpack.h"

static unsigned char *lp(const struct sobj *o) { return o->ptr; }
static struct dset *ht(const struct sobj *o) { return o->ptr; }

/* ---------------------------------------------------------------------
 * Values in a hashtable's entries
 *
 * The entry's v and aux (16 bytes the dset leaves to its owner) hold the
 * value: up to VALUE_INLINE bytes in place, the last byte giving the
 * length; or, with VALUE_HEAP as the last byte, v.ptr pointing to an
 * allocation that starts with the length. Most values are short, and an
 * allocation costs more than the value.
 * ------------------------------------------------------------------- */

#define VALUE_INLINE 15
#define VALUE_HEAP 0xff

static void raw_load(const struct dict_entry *e, unsigned char raw[16])
{
    memcpy(raw, &e->v, 8);
    memcpy(raw + 8, &e->aux, 8);
}

static void raw_store(struct dict_entry *e, const unsigned char raw[16])
{
    memcpy(&e->v, raw, 8);
    memcpy(&e->aux, raw + 8, 8);
}

static void free_value(struct dict_entry *e)
{
    unsigned char raw[16];
    raw_load(e, raw);
    if (raw[15] == VALUE_HEAP) free(e->v.ptr);
    memset(raw, 0, sizeof raw);
    raw_store(e, raw);
}

static void set_value(struct dict_entry *e, const char *v, size_t vlen)
{
    free_value(e);
    unsigned char raw[16] = {0};
    if (vlen <= VALUE_INLINE) {
        if (vlen) memcpy(raw, v, vlen);
        raw[15] = (unsigned char)vlen;
        raw_store(e, raw);
        return;
    }
    char *heap = xmalloc(sizeof(size_t) + vlen);
    memcpy(heap, &vlen, sizeof vlen);
    memcpy(heap + sizeof vlen, v, vlen);
    raw[15] = VALUE_HEAP;
    raw_store(e, raw);
    e->v.ptr = heap;
}

/* The value's bytes; an inline value is copied into tmp. */
static const char *get_value(const struct dict_entry *e, char tmp[SOBJ_INT_BUF], size_t *len)
{
    unsigned char raw[16];
    raw_load(e, raw);
    if (raw[15] == VALUE_HEAP) {
        const char *heap = e->v.ptr;
        memcpy(len, heap, sizeof *len);
        return heap + sizeof *len;
    }
    *len = raw[15];
    if (*len) memcpy(tmp, raw, *len);
    return tmp;
}

static size_t value_heap_bytes(const struct dict_entry *e)
{
    unsigned char raw[16];
    raw_load(e, raw);
    if (raw[15] != VALUE_HEAP) return 0;
    size_t len;
    memcpy(&len, e->v.ptr, sizeof len);
    return sizeof len + len;
}

static void entry_strs(const struct dict_entry *e, struct hash_str *field, struct hash_str *value)
{
    if (field) {
        field->p = e->key;
        field->len = e->klen;
    }
    if (value) value->p = get_value(e, value->tmp, &value->len);
}

/* Sets the value of a field, appending the field if it is new. */
static bool ht_put(struct dset *d, const char *f, size_t flen, const char *v, size_t vlen)
{
    bool created;
    set_value(dset_upsert(d, f, flen, &created), v, vlen);
    return created;
}

/* ---------------------------------------------------------------------
 * Fields
 * ------------------------------------------------------------------- */

struct sobj *hash_new(void)
{
    return sobj_new(OBJ_HASH, ENC_LISTPACK, lp_new());
}

size_t hash_len(const struct sobj *o)
{
    assert(o->type == OBJ_HASH);
    return o->encoding == ENC_LISTPACK ? lp_count(lp(o)) / 2 : dset_size(ht(o));
}

static void lp_str(const unsigned char *l, size_t pos, struct hash_str *s)
{
    s->p = lp_get_str(l, pos, s->tmp, &s->len);
}

/* Position of field f in a listpack hash, or 0. */
static size_t lp_field(const struct sobj *o, const char *f, size_t flen)
{
    size_t first = lp_first(lp(o));
    return first ? lp_find(lp(o), first, f, flen, 1) : 0;
}

bool hash_get(struct sobj *o, const char *f, size_t flen, struct hash_str *value)
{
    if (o->encoding == ENC_LISTPACK) {
        size_t pos = lp_field(o, f, flen);
        if (pos == 0) return false;
        if (value) lp_str(lp(o), lp_next(lp(o), pos), value);
        return true;
    }
    struct dict_entry *e = dset_find(ht(o), f, flen);
    if (e == NULL) return false;
    entry_strs(e, NULL, value);
    return true;
}

bool hash_exists(struct sobj *o, const char *f, size_t flen)
{
    return hash_get(o, f, flen, NULL);
}

/* listpack -> hashtable, keeping the order. */
static void convert_to_ht(struct sobj *o)
{
    assert(o->encoding == ENC_LISTPACK);
    struct dset *d = dset_new(free_value);
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        bool created = ht_put(d, f.p, f.len, v.p, v.len);
        assert(created);
        (void)created;
    }
    lp_free(lp(o));
    o->ptr = d;
    o->encoding = ENC_HT;
}

bool hash_set(struct sobj *o, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (o->encoding == ENC_LISTPACK &&
        (flen > (size_t)store_enc()->hash_max_listpack_value ||
         vlen > (size_t)store_enc()->hash_max_listpack_value))
        convert_to_ht(o);
    if (o->encoding == ENC_HT) return ht_put(ht(o), f, flen, v, vlen);
    size_t pos = lp_field(o, f, flen);
    if (pos) {
        o->ptr = lp_replace(lp(o), lp_next(lp(o), pos), v, vlen);
        return false;
    }
    o->ptr = lp_append(lp(o), f, flen);
    o->ptr = lp_append(lp(o), v, vlen);
    if (hash_len(o) > (size_t)store_enc()->hash_max_listpack_entries) convert_to_ht(o);
    return true;
}

bool hash_delete(struct sobj *o, const char *f, size_t flen)
{
    if (o->encoding == ENC_HT) return dset_remove(ht(o), f, flen);
    size_t pos = lp_field(o, f, flen);
    if (pos == 0) return false;
    o->ptr = lp_delete(lp(o), pos, 2, NULL);
    return true;
}

void hash_iter_init(struct hash_iter *it, struct sobj *o)
{
    it->o = o;
    it->pos = o->encoding == ENC_LISTPACK ? lp_first(lp(o)) : 0;
}

bool hash_iter_next(struct hash_iter *it, struct hash_str *field, struct hash_str *value)
{
    if (it->o->encoding == ENC_HT) {
        if (it->pos >= dset_size(ht(it->o))) return false;
        entry_strs(dset_at(ht(it->o), it->pos++), field, value);
        return true;
    }
    const unsigned char *l = lp(it->o);
    if (it->pos == 0) return false;
    size_t vpos = lp_next(l, it->pos);
    assert(vpos != 0);
    if (field) lp_str(l, it->pos, field);
    if (value) lp_str(l, vpos, value);
    it->pos = lp_next(l, vpos);
    return true;
}

void hash_at(struct sobj *o, size_t i, struct hash_str *field, struct hash_str *value)
{
    assert(i < hash_len(o));
    if (o->encoding == ENC_HT) {
        entry_strs(dset_at(ht(o), i), field, value);
        return;
    }
    size_t pos = lp_seek(lp(o), (long long)(2 * i));
    if (field) lp_str(lp(o), pos, field);
    if (value) lp_str(lp(o), lp_next(lp(o), pos), value);
}

/* ---------------------------------------------------------------------
 * Type operations (object.c's registry)
 * ------------------------------------------------------------------- */

static void hash_free(struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK) lp_free(lp(o));
    else dset_free(ht(o));
}

static struct sobj *hash_dup(const struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        return sobj_new(OBJ_HASH, ENC_LISTPACK, xmemdup(lp(o), lp_bytes(lp(o))));
    struct dset *d = dset_new(free_value);
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, (struct sobj *)o);
    while (hash_iter_next(&it, &f, &v)) ht_put(d, f.p, f.len, v.p, v.len);
    return sobj_new(OBJ_HASH, ENC_HT, d);
}

static size_t hash_memory(const struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK) return lp_bytes(lp(o));
    size_t n = sizeof(struct dset) + dset_memory(ht(o));
    for (size_t i = 0; i < dset_size(ht(o)); i++) n += value_heap_bytes(dset_at(ht(o), i));
    return n;
}

/* Fields, values and their order: the order is what HGETALL, HRANDFIELD
 * and HSCAN answer with, on every node. */
static uint64_t hash_digest(const struct sobj *o)
{
    uint64_t h = hash_bytes_fixed("hash", 4, hash_len(o));
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, (struct sobj *)o);
    while (hash_iter_next(&it, &f, &v))
        h = hash_bytes_fixed(f.p, f.len, hash_bytes_fixed(v.p, v.len, h));
    return h;
}

static void hash_encode(const struct sobj *o, struct buf *out)
{
    if (o->encoding == ENC_LISTPACK) {
        buf_append_u32(out, (uint32_t)lp_bytes(lp(o)));
        buf_append(out, lp(o), lp_bytes(lp(o)));
        return;
    }
    buf_append_u64(out, hash_len(o));
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, (struct sobj *)o);
    while (hash_iter_next(&it, &f, &v)) {
        buf_append_u32(out, (uint32_t)f.len);
        buf_append(out, f.p, f.len);
        buf_append_u64(out, v.len);
        buf_append(out, v.p, v.len);
    }
}

/* A listpack hash from a snapshot must be one the log could have built:
 * pairs, no field twice. Not checked against today's limits: the log may
 * have built it under others (encoding.h). */
static bool lp_hash_valid(const unsigned char *l)
{
    uint32_t count = lp_count(l);
    if (count == 0 || count % 2) return false;
    for (size_t f = lp_first(l); f; f = lp_next(l, lp_next(l, f))) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *p = lp_get_str(l, f, tmp, &len);
        size_t later = lp_next(l, lp_next(l, f));
        if (later && lp_find(l, later, p, len, 1)) return false;
    }
    return true;
}

static struct sobj *decode_listpack(struct reader *r)
{
    uint32_t bytes;
    const char *p;
    if (reader_u32(r, &bytes) || reader_bytes(r, bytes, &p)) return NULL;
    if (!lp_valid((const unsigned char *)p, bytes)) return NULL;
    if (!lp_hash_valid((const unsigned char *)p)) return NULL;
    return sobj_new(OBJ_HASH, ENC_LISTPACK, xmemdup(p, bytes));
}

/* One field and its value; false if truncated or the field is a repeat. */
static bool decode_pair(struct reader *r, struct dset *d)
{
    uint32_t flen;
    uint64_t vlen;
    const char *f, *v;
    if (reader_u32(r, &flen) || reader_bytes(r, flen, &f) || reader_u64(r, &vlen) ||
        vlen > reader_left(r) || reader_bytes(r, (size_t)vlen, &v))
        return false;
    return ht_put(d, f, flen, v, (size_t)vlen);
}

/* The fields come in index order and are appended in it. */
static struct sobj *decode_ht(struct reader *r)
{
    uint64_t count;
    if (reader_u64(r, &count) || count == 0) return NULL;
    struct dset *d = dset_new(free_value);
    for (uint64_t i = 0; i < count; i++) {
        if (!decode_pair(r, d)) {
            dset_free(d);
            return NULL;
        }
    }
    return sobj_new(OBJ_HASH, ENC_HT, d);
}

static struct sobj *hash_decode(struct reader *r, uint8_t encoding)
{
    if (encoding == ENC_LISTPACK) return decode_listpack(r);
    if (encoding == ENC_HT) return decode_ht(r);
    return NULL;
}

const struct sobj_ops hash_ops = {
    .free = hash_free,
    .dup = hash_dup,
    .memory = hash_memory,
    .digest = hash_digest,
    .encode = hash_encode,
    .decode = hash_decode,
};
