/* store/set.c — see set.h. */
#include "store/set.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "store/dset.h"
#include "store/encoding.h"
#include "store/intset.h"

static struct intset *iset(const struct sobj *o) { return o->ptr; }
static struct dset *dset(const struct sobj *o) { return o->ptr; }

struct sobj *set_new_intset(void)
{
    return sobj_new(OBJ_SET, ENC_INTSET, intset_new());
}

struct sobj *set_new_for(const char *m, size_t len)
{
    long long v;
    if (str_to_ll(m, len, &v)) return set_new_intset();
    return sobj_new(OBJ_SET, ENC_HT, dset_new(NULL));
}

size_t set_size(const struct sobj *o)
{
    assert(o->type == OBJ_SET);
    return o->encoding == ENC_INTSET ? intset_len(iset(o)) : dset_size(dset(o));
}

bool set_contains(struct sobj *o, const char *m, size_t len)
{
    if (o->encoding == ENC_HT) return dset_contains(dset(o), m, len);
    long long v;
    return str_to_ll(m, len, &v) && intset_find(iset(o), v, NULL);
}

/* intset -> hashtable, keeping the ascending order as the array order. */
static void convert_to_ht(struct sobj *o)
{
    assert(o->encoding == ENC_INTSET);
    struct intset *is = iset(o);
    struct dset *s = dset_new(NULL);
    for (uint32_t i = 0; i < intset_len(is); i++) {
        char tmp[SOBJ_INT_BUF];
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)intset_get(is, i));
        dset_add(s, tmp, (size_t)n);
    }
    intset_free(is);
    o->ptr = s;
    o->encoding = ENC_HT;
}

bool set_add(struct sobj *o, const char *m, size_t len)
{
    if (o->encoding == ENC_INTSET) {
        long long v;
        if (str_to_ll(m, len, &v)) {
            bool added;
            o->ptr = intset_add(iset(o), v, &added);
            if (added && intset_len(iset(o)) > (size_t)store_enc()->set_max_intset_entries)
                convert_to_ht(o);
            return added;
        }
        convert_to_ht(o);
    }
    return dset_add(dset(o), m, len);
}

bool set_remove(struct sobj *o, const char *m, size_t len)
{
    if (o->encoding == ENC_HT) return dset_remove(dset(o), m, len);
    long long v;
    if (!str_to_ll(m, len, &v)) return false;
    bool removed;
    o->ptr = intset_remove(iset(o), v, &removed);
    return removed;
}

const char *set_get_at(const struct sobj *o, size_t i, char tmp[SOBJ_INT_BUF], size_t *len)
{
    assert(i < set_size(o));
    if (o->encoding == ENC_INTSET) {
        *len = (size_t)snprintf(tmp, SOBJ_INT_BUF, "%lld", (long long)intset_get(iset(o), (uint32_t)i));
        return tmp;
    }
    const struct dict_entry *e = dset_at(dset(o), i);
    *len = e->klen;
    return e->key;
}

void set_remove_at(struct sobj *o, size_t i)
{
    assert(i < set_size(o));
    if (o->encoding == ENC_INTSET) o->ptr = intset_remove_at(iset(o), (uint32_t)i);
    else dset_remove_at(dset(o), i);
}

/* ---------------------------------------------------------------------
 * Type operations (object.c's registry)
 * ------------------------------------------------------------------- */

static void set_free(struct sobj *o)
{
    if (o->encoding == ENC_INTSET) intset_free(iset(o));
    else dset_free(dset(o));
}

static struct sobj *set_dup(const struct sobj *o)
{
    void *copy = o->encoding == ENC_INTSET ? (void *)intset_dup(iset(o)) : (void *)dset_dup(dset(o));
    return sobj_new(OBJ_SET, (enum sobj_encoding)o->encoding, copy);
}

static size_t set_memory(const struct sobj *o)
{
    return o->encoding == ENC_INTSET ? intset_bytes(iset(o))
                                     : sizeof(struct dset) + dset_memory(dset(o));
}

/* Depends on the members and on their order: the order is replicated
 * state (it decides SPOP), so replicas whose orders drifted apart must
 * not look equal. */
static uint64_t set_digest(const struct sobj *o)
{
    size_t n = set_size(o);
    uint64_t h = hash_bytes_fixed("set", 3, (uint64_t)n);
    for (size_t i = 0; i < n; i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(o, i, tmp, &len);
        h = hash_bytes_fixed(m, len, h);
    }
    return h;
}

static void set_encode(const struct sobj *o, struct buf *out)
{
    if (o->encoding == ENC_INTSET) {
        intset_encode(iset(o), out);
        return;
    }
    const struct dset *s = dset(o);
    buf_append_u64(out, dset_size(s));
    for (size_t i = 0; i < dset_size(s); i++) {
        const struct dict_entry *e = dset_at(s, i);
        buf_append_u32(out, e->klen);
        buf_append(out, e->key, e->klen);
    }
}

static struct sobj *decode_intset(struct reader *r)
{
    struct intset *is = intset_decode(r);
    if (is == NULL) return NULL;
    if (intset_len(is) == 0) { /* any size: the log may have built it under other limits */
        intset_free(is);
        return NULL;
    }
    return sobj_new(OBJ_SET, ENC_INTSET, is);
}

static struct sobj *decode_ht(struct reader *r)
{
    uint64_t count;
    if (reader_u64(r, &count) || count == 0) return NULL;
    struct dset *s = dset_new(NULL);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len;
        const char *m;
        if (reader_u32(r, &len) || reader_bytes(r, len, &m) || !dset_add(s, m, len)) {
            dset_free(s); /* truncated, or a duplicate member */
            return NULL;
        }
    }
    return sobj_new(OBJ_SET, ENC_HT, s);
}

static struct sobj *set_decode(struct reader *r, uint8_t encoding)
{
    if (encoding == ENC_INTSET) return decode_intset(r);
    if (encoding == ENC_HT) return decode_ht(r);
    return NULL;
}

const struct sobj_ops set_ops = {
    .free = set_free,
    .dup = set_dup,
    .memory = set_memory,
    .digest = set_digest,
    .encode = set_encode,
    .decode = set_decode,
};
