/* base/buf.h — a growable byte buffer.
 *
 * The one buffer type of the project: the RESP reply writer, the batcher's
 * log entries and the snapshot encoder all append to a struct buf. The data
 * is not NUL-terminated unless the caller appends a NUL. */
#ifndef PARLEY_BASE_BUF_H
#define PARLEY_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    /* A bound the owner sets on replies (0: none). The reply writer
     * (resp/write.h) never grows the buffer past `limit` bytes: a reply
     * that would is not written and `over` is set, and the owner drops the
     * client, as Redis drops one over client-output-buffer-limit, but
     * before the bytes are copied rather than after. Plain appends ignore
     * it. buf_clear and buf_free clear `over` and keep `limit`. */
    size_t limit;
    bool over;
};

#define BUF_INIT {NULL, 0, 0, 0, false}

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Make room for at least `extra` more bytes; returns a pointer to the end. */
char *buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_append_u8(struct buf *b, uint8_t v);
void buf_append_u32(struct buf *b, uint32_t v); /* little endian */
void buf_append_u64(struct buf *b, uint64_t v); /* little endian */
/* Forget the content, keep the memory. */
static inline void buf_clear(struct buf *b)
{
    b->len = 0;
    b->over = false;
}
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hand the memory to the caller; the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

/* A bounds-checked reader over bytes written with buf_append_u*: every get
 * fails (returns -1 and sets `failed`) rather than read past the end. */
struct reader {
    const unsigned char *p;
    const unsigned char *end;
    int failed;
};

void reader_init(struct reader *r, const void *p, size_t len);
int reader_u8(struct reader *r, uint8_t *v);
int reader_u32(struct reader *r, uint32_t *v);
int reader_u64(struct reader *r, uint64_t *v);
/* Points *p at the next n bytes, which stay owned by the underlying memory. */
int reader_bytes(struct reader *r, size_t n, const char **p);
static inline size_t reader_left(const struct reader *r)
{
    return (size_t)(r->end - r->p);
}

#endif
