/* store/intset.c — see intset.h. */
#include "store/intset.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

struct intset {
    uint32_t width;
    uint32_t count;
    unsigned char data[]; /* count * width bytes, little endian */
};

#define HEADER sizeof(struct intset)

static uint32_t width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t read_at(const unsigned char *p, uint32_t width)
{
    uint64_t u = 0;
    for (uint32_t i = 0; i < width; i++) u |= (uint64_t)p[i] << (8 * i);
    /* Sign-extend from the stored width. */
    if (width < 8) {
        uint64_t sign = 1ull << (8 * width - 1);
        u = (u ^ sign) - sign;
    }
    return (int64_t)u;
}

static void write_at(unsigned char *p, uint32_t width, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (uint32_t i = 0; i < width; i++) p[i] = (unsigned char)(u >> (8 * i));
}

struct intset *intset_new(void)
{
    struct intset *is = xmalloc(HEADER);
    is->width = 2;
    is->count = 0;
    return is;
}

void intset_free(struct intset *is) { free(is); }

size_t intset_bytes(const struct intset *is)
{
    return HEADER + (size_t)is->count * is->width;
}

struct intset *intset_dup(const struct intset *is)
{
    return xmemdup(is, intset_bytes(is));
}

uint32_t intset_len(const struct intset *is) { return is->count; }
uint32_t intset_width(const struct intset *is) { return is->width; }

int64_t intset_get(const struct intset *is, uint32_t index)
{
    assert(index < is->count);
    return read_at(is->data + (size_t)index * is->width, is->width);
}

bool intset_find(const struct intset *is, int64_t v, uint32_t *index)
{
    uint32_t lo = 0, hi = is->count; /* the answer is in [lo, hi] */
    if (width_for(v) > is->width) {
        /* Out of range for every member: before them all or after. */
        if (index) *index = v < 0 ? 0 : is->count;
        return false;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t m = intset_get(is, mid);
        if (m == v) {
            if (index) *index = mid;
            return true;
        }
        if (m < v) lo = mid + 1;
        else hi = mid;
    }
    if (index) *index = lo;
    return false;
}

/* Rewrites every member with a wider width. */
static struct intset *upgrade(struct intset *is, uint32_t width)
{
    assert(width > is->width);
    struct intset *wide = xmalloc(HEADER + (size_t)is->count * width);
    wide->width = width;
    wide->count = is->count;
    for (uint32_t i = 0; i < is->count; i++)
        write_at(wide->data + (size_t)i * width, width, intset_get(is, i));
    free(is);
    return wide;
}

struct intset *intset_add(struct intset *is, int64_t v, bool *added)
{
    uint32_t at;
    if (intset_find(is, v, &at)) {
        *added = false;
        return is;
    }
    assert(is->count < UINT32_MAX);
    uint32_t need = width_for(v);
    if (need > is->width) is = upgrade(is, need);
    size_t w = is->width;
    is = xrealloc(is, HEADER + (is->count + 1) * w);
    memmove(is->data + (at + 1) * w, is->data + at * w, (is->count - at) * w);
    write_at(is->data + at * w, is->width, v);
    is->count++;
    *added = true;
    return is;
}

struct intset *intset_remove_at(struct intset *is, uint32_t index)
{
    assert(index < is->count);
    size_t w = is->width;
    memmove(is->data + index * w, is->data + (index + 1) * w, (is->count - index - 1) * w);
    is->count--;
    return xrealloc(is, intset_bytes(is));
}

struct intset *intset_remove(struct intset *is, int64_t v, bool *removed)
{
    uint32_t at;
    *removed = intset_find(is, v, &at);
    return *removed ? intset_remove_at(is, at) : is;
}

void intset_encode(const struct intset *is, struct buf *out)
{
    buf_append_u32(out, is->width);
    buf_append_u32(out, is->count);
    buf_append(out, is->data, (size_t)is->count * is->width);
}

struct intset *intset_decode(struct reader *r)
{
    uint32_t width, count;
    const char *p;
    if (reader_u32(r, &width) || reader_u32(r, &count)) return NULL;
    if (width != 2 && width != 4 && width != 8) return NULL;
    if (reader_left(r) / width < count || reader_bytes(r, (size_t)count * width, &p)) return NULL;
    const unsigned char *b = (const unsigned char *)p;
    for (uint32_t i = 1; i < count; i++)
        if (read_at(b + (size_t)(i - 1) * width, width) >= read_at(b + (size_t)i * width, width))
            return NULL;
    struct intset *is = xmalloc(HEADER + (size_t)count * width);
    is->width = width;
    is->count = count;
    memcpy(is->data, b, (size_t)count * width);
    return is;
}
