/* store/listpack.c — see listpack.h. */
#include "store/listpack.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/object.h"

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

size_t lp_bytes(const unsigned char *lp) { return get_u32(lp); }
uint32_t lp_count(const unsigned char *lp) { return get_u32(lp + 4); }

static void set_bytes(unsigned char *lp, size_t n) { put_u32(lp, (uint32_t)n); }
static void set_count(unsigned char *lp, uint32_t n) { put_u32(lp + 4, n); }

unsigned char *lp_new(void)
{
    unsigned char *lp = xmalloc(LP_HEADER);
    set_bytes(lp, LP_HEADER);
    set_count(lp, 0);
    return lp;
}

void lp_free(unsigned char *lp) { free(lp); }

/* --- varints ------------------------------------------------------- */

static size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        p[n++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7) n++;
    return n;
}

static size_t varint_get(const unsigned char *p, uint64_t *v)
{
    uint64_t x = 0;
    size_t n = 0;
    int shift = 0;
    for (;;) {
        unsigned char b = p[n++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80) || shift >= 63) break;
        shift += 7;
    }
    *v = x;
    return n;
}

/* The backlen is written so that reading backwards from the entry's end
 * finds its last byte first: the bytes of the varint, reversed. */
static size_t backlen_put(unsigned char *p, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = varint_put(tmp, v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

/* Reads the backlen that ends just before `end`. Read backwards, its bytes
 * come out in the varint's own order (least significant group first). */
static uint64_t backlen_get(const unsigned char *end, size_t *n)
{
    unsigned char in_order[10];
    size_t k = 0;
    do {
        in_order[k] = end[-(long)k - 1];
        k++;
    } while ((in_order[k - 1] & 0x80) && k < 10);
    uint64_t v;
    varint_get(in_order, &v);
    *n = k;
    return v;
}

static uint64_t zigzag(long long v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static long long unzigzag(uint64_t v) { return (long long)(v >> 1) ^ -(long long)(v & 1); }

/* Encodes one element into out (at least 10 + len + 10 bytes); returns its size. */
static size_t encode(unsigned char *out, const char *s, size_t len)
{
    long long iv;
    size_t n;
    if (str_to_ll(s, len, &iv)) {
        n = varint_put(out, 1);
        n += varint_put(out + n, zigzag(iv));
    } else {
        n = varint_put(out, (uint64_t)len << 1);
        memcpy(out + n, s, len);
        n += len;
    }
    return n + backlen_put(out + n, n);
}

static size_t encoded_size(const char *s, size_t len)
{
    long long iv;
    size_t n = str_to_ll(s, len, &iv) ? 1 + varint_len(zigzag(iv)) : varint_len((uint64_t)len << 1) + len;
    return n + varint_len(n);
}

/* Size of the entry at pos. */
static size_t entry_size(const unsigned char *lp, size_t pos)
{
    uint64_t tag;
    size_t n = varint_get(lp + pos, &tag);
    if (tag & 1) {
        uint64_t v;
        n += varint_get(lp + pos + n, &v);
    } else {
        n += tag >> 1;
    }
    return n + varint_len(n);
}

/* --- walking ------------------------------------------------------- */

size_t lp_first(const unsigned char *lp) { return lp_count(lp) ? LP_HEADER : 0; }

size_t lp_next(const unsigned char *lp, size_t pos)
{
    assert(pos >= LP_HEADER && pos < lp_bytes(lp));
    size_t next = pos + entry_size(lp, pos);
    return next < lp_bytes(lp) ? next : 0;
}

size_t lp_prev(const unsigned char *lp, size_t pos)
{
    assert(pos >= LP_HEADER);
    if (pos == LP_HEADER) return 0;
    size_t n;
    uint64_t size = backlen_get(lp + pos, &n);
    return pos - n - (size_t)size;
}

size_t lp_last(const unsigned char *lp)
{
    if (lp_count(lp) == 0) return 0;
    size_t n;
    size_t end = lp_bytes(lp);
    uint64_t size = backlen_get(lp + end, &n);
    return end - n - (size_t)size;
}

size_t lp_seek(const unsigned char *lp, long long index)
{
    long long count = lp_count(lp);
    if (index < 0) index += count;
    if (index < 0 || index >= count) return 0;
    size_t pos;
    if (index < count / 2) {
        pos = lp_first(lp);
        while (index--) pos = lp_next(lp, pos);
    } else {
        pos = lp_last(lp);
        for (long long i = count - 1; i > index; i--) pos = lp_prev(lp, pos);
    }
    return pos;
}

void lp_get(const unsigned char *lp, size_t pos, struct lp_value *v)
{
    uint64_t tag;
    size_t n = varint_get(lp + pos, &tag);
    if (tag & 1) {
        uint64_t z;
        varint_get(lp + pos + n, &z);
        v->p = NULL;
        v->len = 0;
        v->i = unzigzag(z);
    } else {
        v->p = (const char *)lp + pos + n;
        v->len = (size_t)(tag >> 1);
        v->i = 0;
    }
}

const char *lp_get_str(const unsigned char *lp, size_t pos, char *tmp, size_t *len)
{
    struct lp_value v;
    lp_get(lp, pos, &v);
    if (v.p) {
        *len = v.len;
        return v.p;
    }
    *len = (size_t)snprintf(tmp, 24, "%lld", v.i);
    return tmp;
}

bool lp_eq(const unsigned char *lp, size_t pos, const char *s, size_t len)
{
    struct lp_value v;
    lp_get(lp, pos, &v);
    if (v.p) return v.len == len && memcmp(v.p, s, len) == 0;
    long long iv;
    return str_to_ll(s, len, &iv) && iv == v.i;
}

size_t lp_find(const unsigned char *lp, size_t pos, const char *s, size_t len, unsigned skip)
{
    long long iv;
    bool s_is_int = str_to_ll(s, len, &iv);
    while (pos) {
        struct lp_value v;
        lp_get(lp, pos, &v);
        if (v.p ? (!s_is_int && v.len == len && memcmp(v.p, s, len) == 0) : (s_is_int && v.i == iv))
            return pos;
        for (unsigned k = 0; k <= skip && pos; k++) pos = lp_next(lp, pos);
    }
    return 0;
}

/* --- changing ------------------------------------------------------ */

unsigned char *lp_insert(unsigned char *lp, size_t pos, const char *s, size_t len, size_t *inserted)
{
    size_t bytes = lp_bytes(lp);
    if (pos == 0) pos = bytes;
    size_t esize = encoded_size(s, len);
    assert(bytes + esize <= UINT32_MAX);
    lp = xrealloc(lp, bytes + esize);
    memmove(lp + pos + esize, lp + pos, bytes - pos);
    size_t written = encode(lp + pos, s, len);
    assert(written == esize);
    set_bytes(lp, bytes + esize);
    set_count(lp, lp_count(lp) + 1);
    if (inserted) *inserted = pos;
    return lp;
}

unsigned char *lp_append(unsigned char *lp, const char *s, size_t len)
{
    return lp_insert(lp, 0, s, len, NULL);
}

unsigned char *lp_prepend(unsigned char *lp, const char *s, size_t len)
{
    return lp_insert(lp, LP_HEADER, s, len, NULL);
}

unsigned char *lp_delete(unsigned char *lp, size_t pos, uint32_t n, size_t *next)
{
    size_t bytes = lp_bytes(lp);
    size_t end = pos;
    uint32_t removed = 0;
    while (removed < n && end < bytes) {
        end += entry_size(lp, end);
        removed++;
    }
    memmove(lp + pos, lp + end, bytes - end);
    set_bytes(lp, bytes - (end - pos));
    set_count(lp, lp_count(lp) - removed);
    if (next) *next = pos < lp_bytes(lp) ? pos : 0;
    return xrealloc(lp, lp_bytes(lp));
}

unsigned char *lp_replace(unsigned char *lp, size_t pos, const char *s, size_t len)
{
    size_t next;
    lp = lp_delete(lp, pos, 1, &next);
    return lp_insert(lp, next, s, len, NULL);
}

bool lp_valid(const unsigned char *lp, size_t bytes)
{
    if (bytes < LP_HEADER || lp_bytes(lp) != bytes) return false;
    uint32_t count = 0;
    size_t pos = LP_HEADER;
    while (pos < bytes) {
        /* Bounds-checked decode of one entry. */
        uint64_t tag = 0;
        size_t n = 0;
        int shift = 0;
        for (;;) {
            if (pos + n >= bytes || shift > 63) return false;
            unsigned char b = lp[pos + n++];
            tag |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
            shift += 7;
        }
        if (tag & 1) {
            if (tag != 1) return false; /* the writer's integer tag is exactly 1 */
            /* Skip the value's varint. */
            shift = 0;
            for (;;) {
                if (pos + n >= bytes || shift > 63) return false;
                unsigned char b = lp[pos + n++];
                if (!(b & 0x80)) break;
                shift += 7;
            }
        } else {
            if ((tag >> 1) > bytes - pos - n) return false;
            /* A canonical integer is always stored as one: lp_find and
             * lp_eq compare integers with integers and would miss it. */
            long long iv;
            if (str_to_ll((const char *)lp + pos + n, (size_t)(tag >> 1), &iv)) return false;
            n += (size_t)(tag >> 1);
        }
        size_t bl = varint_len(n);
        if (pos + n + bl > bytes) return false;
        size_t k;
        if (backlen_get(lp + pos + n + bl, &k) != n || k != bl) return false;
        pos += n + bl;
        count++;
    }
    return pos == bytes && count == lp_count(lp);
}
