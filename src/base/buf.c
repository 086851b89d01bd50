/* base/buf.c — see buf.h. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = 0;
    b->over = false;
}

void buf_free(struct buf *b)
{
    size_t limit = b->limit;
    free(b->data);
    buf_init(b);
    b->limit = limit;
}

char *buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len < extra) {
        size_t want = b->len + extra;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < want) cap = cap < (1u << 20) ? cap * 2 : cap + cap / 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0) return;
    memcpy(buf_reserve(b, n), p, n);
    b->len += n;
}

void buf_append_str(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    char *end = buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(end, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_append_u8(struct buf *b, uint8_t v)
{
    buf_append(b, &v, 1);
}

void buf_append_u32(struct buf *b, uint32_t v)
{
    unsigned char out[4];
    for (int i = 0; i < 4; i++) out[i] = (unsigned char)(v >> (8 * i));
    buf_append(b, out, 4);
}

void buf_append_u64(struct buf *b, uint64_t v)
{
    unsigned char out[8];
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
    buf_append(b, out, 8);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *data = b->data;
    if (len) *len = b->len;
    buf_init(b);
    return data;
}

void reader_init(struct reader *r, const void *p, size_t len)
{
    r->p = p;
    /* p may be NULL when len is 0 (an empty buf), and NULL + 0 is undefined. */
    r->end = len ? r->p + len : r->p;
    r->failed = 0;
}

static int need(struct reader *r, size_t n)
{
    if (r->failed || (size_t)(r->end - r->p) < n) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

int reader_u8(struct reader *r, uint8_t *v)
{
    if (need(r, 1)) return -1;
    *v = *r->p++;
    return 0;
}

int reader_u32(struct reader *r, uint32_t *v)
{
    if (need(r, 4)) return -1;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    *v = x;
    return 0;
}

int reader_u64(struct reader *r, uint64_t *v)
{
    if (need(r, 8)) return -1;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    *v = x;
    return 0;
}

int reader_bytes(struct reader *r, size_t n, const char **p)
{
    if (need(r, n)) return -1;
    *p = (const char *)r->p;
    r->p += n;
    return 0;
}
