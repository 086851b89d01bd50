/* store/hash.c — see hash.h. */
#include "store/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "store/listpack.h"

static unsigned char *lp(const struct sobj *o) { return o->ptr; }
static struct dict *ht(const struct sobj *o) { return o->ptr; }

/* A hashtable field's value lives in its dict entry when it is short (up
 * to VALUE_INLINE bytes in v and aux, its length in slot), otherwise in an
 * allocation of its own (v.ptr, length in aux, slot == VALUE_HEAP). Most
 * values are short, and an allocation costs more than the value. */
#define VALUE_INLINE 16
#define VALUE_HEAP UINT32_MAX

static void free_value(struct dict_entry *e)
{
    if (e->slot == VALUE_HEAP) free(e->v.ptr);
    e->v.ptr = NULL;
    e->aux = 0;
    e->slot = 0;
}

static void set_value(struct dict_entry *e, const char *v, size_t vlen)
{
    free_value(e);
    if (vlen <= VALUE_INLINE) {
        size_t head = vlen < 8 ? vlen : 8;
        if (head) memcpy(&e->v, v, head);
        if (vlen > head) memcpy(&e->aux, v + head, vlen - head);
        e->slot = (uint32_t)vlen;
        return;
    }
    char *copy = xmalloc(vlen + 1);
    memcpy(copy, v, vlen);
    copy[vlen] = '\0';
    e->v.ptr = copy;
    e->aux = (int64_t)vlen;
    e->slot = VALUE_HEAP;
}

/* The value's bytes; an inline value is copied into tmp. */
static const char *get_value(const struct dict_entry *e, char tmp[SOBJ_INT_BUF], size_t *len)
{
    if (e->slot == VALUE_HEAP) {
        *len = (size_t)e->aux;
        return e->v.ptr;
    }
    *len = e->slot;
    size_t head = *len < 8 ? *len : 8;
    if (head) memcpy(tmp, &e->v, head);
    if (*len > head) memcpy(tmp + head, &e->aux, *len - head);
    return tmp;
}

static struct dict *ht_new(void)
{
    struct dict *d = xmalloc(sizeof *d);
    dict_init(d, free_value);
    return d;
}

/* Sets the value of a field (replacing any previous one). */
static void ht_put(struct dict *d, const char *f, size_t flen, const char *v, size_t vlen,
                   bool *created)
{
    set_value(dict_upsert(d, f, flen, created), v, vlen);
}

struct sobj *hash_new(void)
{
    return sobj_new(OBJ_HASH, ENC_LISTPACK, lp_new());
}

size_t hash_len(const struct sobj *o)
{
    assert(o->type == OBJ_HASH);
    return o->encoding == ENC_LISTPACK ? lp_count(lp(o)) / 2 : dict_size(ht(o));
}

static void lp_str(const unsigned char *l, size_t pos, struct hash_str *s)
{
    s->p = lp_get_str(l, pos, s->tmp, &s->len);
}

void hash_entry_strs(const struct dict_entry *e, struct hash_str *field, struct hash_str *value)
{
    if (field) {
        field->p = e->key;
        field->len = e->klen;
    }
    if (value) value->p = get_value(e, value->tmp, &value->len);
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
    struct dict_entry *e = dict_find(ht(o), f, flen);
    if (e == NULL) return false;
    hash_entry_strs(e, NULL, value);
    return true;
}

bool hash_exists(struct sobj *o, const char *f, size_t flen)
{
    return hash_get(o, f, flen, NULL);
}

static void convert_to_ht(struct sobj *o)
{
    assert(o->encoding == ENC_LISTPACK);
    struct dict *d = ht_new();
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, o);
    while (hash_iter_next(&it, &f, &v)) {
        bool created;
        ht_put(d, f.p, f.len, v.p, v.len, &created);
        assert(created);
    }
    lp_free(lp(o));
    o->ptr = d;
    o->encoding = ENC_HT;
}

bool hash_set(struct sobj *o, const char *f, size_t flen, const char *v, size_t vlen)
{
    if (o->encoding == ENC_LISTPACK &&
        (flen > HASH_MAX_LISTPACK_VALUE || vlen > HASH_MAX_LISTPACK_VALUE))
        convert_to_ht(o);
    bool created;
    if (o->encoding == ENC_HT) {
        ht_put(ht(o), f, flen, v, vlen, &created);
        return created;
    }
    size_t pos = lp_field(o, f, flen);
    created = pos == 0;
    if (created) {
        o->ptr = lp_append(lp(o), f, flen);
        o->ptr = lp_append(lp(o), v, vlen);
        if (hash_len(o) > HASH_MAX_LISTPACK_ENTRIES) convert_to_ht(o);
    } else {
        o->ptr = lp_replace(lp(o), lp_next(lp(o), pos), v, vlen);
    }
    return created;
}

bool hash_delete(struct sobj *o, const char *f, size_t flen)
{
    if (o->encoding == ENC_LISTPACK) {
        size_t pos = lp_field(o, f, flen);
        if (pos == 0) return false;
        o->ptr = lp_delete(lp(o), pos, 2, NULL);
        return true;
    }
    if (!dict_delete(ht(o), f, flen)) return false;
    dict_maybe_shrink(ht(o));
    return true;
}

void hash_iter_init(struct hash_iter *it, struct sobj *o)
{
    it->o = o;
    if (o->encoding == ENC_LISTPACK) it->pos = lp_first(lp(o));
    else dict_iter_init(&it->it, ht(o));
}

bool hash_iter_next(struct hash_iter *it, struct hash_str *field, struct hash_str *value)
{
    if (it->o->encoding == ENC_LISTPACK) {
        const unsigned char *l = lp(it->o);
        if (it->pos == 0) return false;
        size_t vpos = lp_next(l, it->pos);
        assert(vpos != 0);
        if (field) lp_str(l, it->pos, field);
        if (value) lp_str(l, vpos, value);
        it->pos = lp_next(l, vpos);
        return true;
    }
    struct dict_entry *e = dict_iter_next(&it->it);
    if (e == NULL) return false;
    hash_entry_strs(e, field, value);
    return true;
}

struct dict_entry *hash_random_entry(struct sobj *o, uint64_t *rng)
{
    assert(o->encoding == ENC_HT);
    return dict_random(ht(o), rng);
}

struct scan_adapter {
    hash_scan_fn *fn;
    void *ctx;
};

static void scan_visit(void *ctx, struct dict_entry *e)
{
    struct scan_adapter *a = ctx;
    a->fn(a->ctx, e);
}

uint64_t hash_scan(struct sobj *o, uint64_t cursor, hash_scan_fn *fn, void *ctx)
{
    assert(o->encoding == ENC_HT);
    struct scan_adapter a = {fn, ctx};
    return dict_scan(ht(o), cursor, scan_visit, &a);
}

/* ---------------------------------------------------------------------
 * Type operations (object.c's registry)
 * ------------------------------------------------------------------- */

static void hash_free(struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK) {
        lp_free(lp(o));
        return;
    }
    dict_clear(ht(o));
    free(ht(o));
}

static struct sobj *hash_dup(const struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK)
        return sobj_new(OBJ_HASH, ENC_LISTPACK, xmemdup(lp(o), lp_bytes(lp(o))));
    struct dict *d = ht_new();
    struct dict_iter it;
    dict_iter_init(&it, ht(o));
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        bool created;
        char tmp[SOBJ_INT_BUF];
        size_t vlen;
        const char *v = get_value(e, tmp, &vlen);
        ht_put(d, e->key, e->klen, v, vlen, &created);
    }
    return sobj_new(OBJ_HASH, ENC_HT, d);
}

static size_t hash_memory(const struct sobj *o)
{
    if (o->encoding == ENC_LISTPACK) return lp_bytes(lp(o));
    size_t n = sizeof(struct dict) + dict_overhead_bytes(ht(o));
    struct dict_iter it;
    dict_iter_init(&it, ht(o));
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        n += sizeof *e + e->klen + 1 + (e->slot == VALUE_HEAP ? (size_t)e->aux + 1 : 0);
    return n;
}

/* Order-independent: the sum of one hash per (field, value) pair. */
static uint64_t hash_digest(const struct sobj *o)
{
    uint64_t sum = hash_bytes_fixed("hash", 4, hash_len(o));
    struct hash_iter it;
    struct hash_str f, v;
    hash_iter_init(&it, (struct sobj *)o);
    while (hash_iter_next(&it, &f, &v))
        sum += hash_bytes_fixed(f.p, f.len, hash_bytes_fixed(v.p, v.len, 0x4a5e));
    return sum;
}

static void hash_encode(const struct sobj *o, struct buf *out)
{
    if (o->encoding == ENC_LISTPACK) {
        buf_append_u32(out, (uint32_t)lp_bytes(lp(o)));
        buf_append(out, lp(o), lp_bytes(lp(o)));
        return;
    }
    buf_append_u64(out, dict_size(ht(o)));
    struct dict_iter it;
    dict_iter_init(&it, ht(o));
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        buf_append_u32(out, e->klen);
        buf_append(out, e->key, e->klen);
        char tmp[SOBJ_INT_BUF];
        size_t vlen;
        const char *v = get_value(e, tmp, &vlen);
        buf_append_u64(out, vlen);
        buf_append(out, v, vlen);
    }
}

/* A listpack hash from a snapshot must be one the log could have built:
 * pairs, within the limits, no field twice. */
static bool lp_hash_valid(const unsigned char *l)
{
    uint32_t count = lp_count(l);
    if (count == 0 || count % 2 || count / 2 > HASH_MAX_LISTPACK_ENTRIES) return false;
    for (size_t pos = lp_first(l); pos; pos = lp_next(l, pos)) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        lp_get_str(l, pos, tmp, &len);
        if (len > HASH_MAX_LISTPACK_VALUE) return false;
    }
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
static bool decode_pair(struct reader *r, struct dict *d)
{
    uint32_t flen;
    uint64_t vlen;
    const char *f, *v;
    if (reader_u32(r, &flen) || reader_bytes(r, flen, &f) || reader_u64(r, &vlen) ||
        vlen > reader_left(r) || reader_bytes(r, (size_t)vlen, &v))
        return false;
    bool created;
    ht_put(d, f, flen, v, (size_t)vlen, &created);
    return created;
}

static struct sobj *decode_ht(struct reader *r)
{
    uint64_t count;
    if (reader_u64(r, &count) || count == 0) return NULL;
    struct dict *d = ht_new();
    for (uint64_t i = 0; i < count; i++) {
        if (!decode_pair(r, d)) {
            dict_clear(d);
            free(d);
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
