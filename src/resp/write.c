/* resp/write.c — the reply writer, RESP2 and RESP3.
 *
 * Every reply byte Parley sends is formatted here, appended to the struct buf
 * of a struct resp_out. The RESP3-only types fall back to the RESP2 forms
 * that Redis 7.0 sends (see write.h), and the text of doubles and errors
 * follows Redis 7.0's addReplyDouble and addReplyError.
 *
 * Deferred aggregate lengths reserve a fixed-size placeholder in the buffer;
 * when the count is known the real header is written at the start of the
 * placeholder and the body after it is moved down over the unused bytes.
 *
 * A buffer's owner may bound it (struct buf's `limit`: a client's output
 * limit): each writer first checks that what it is about to add fits, and
 * if not adds nothing and marks the buffer `over`; once over, nothing more
 * is written to it. A reply that would take a client past its limit is
 * therefore never built, however large the command meant it to be. */
#include "resp/write.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Longest aggregate header: a type byte, 19 digits (n <= LLONG_MAX; a RESP2
 * map of n pairs is limited to 2n <= LLONG_MAX), CR LF. */
#define DEFER_HEADER_MAX 22
/* What a placeholder holds until it is filled; checked when it is. */
#define DEFER_FILL '\0'

static void append_header(struct resp_out *o, char type, long long n)
{
    char tmp[1 + 21 + 2];
    tmp[0] = type;
    size_t len = 1 + resp_ll_to_str(tmp + 1, n);
    tmp[len++] = '\r';
    tmp[len++] = '\n';
    buf_append(o->buf, tmp, len);
}

static void assert_out(const struct resp_out *o)
{
    assert(o != NULL && o->buf != NULL);
    assert(o->proto == 2 || o->proto == 3);
}

/* Whether n more bytes may be written (see the top of the file). */
static bool fits(struct resp_out *o, size_t n)
{
    struct buf *b = o->buf;
    if (b->over) return false;
    if (b->limit && (b->len > b->limit || n > b->limit - b->len)) {
        b->over = true;
        return false;
    }
    return true;
}

void resp_raw(struct resp_out *o, const void *p, size_t len)
{
    assert_out(o);
    assert(p != NULL || len == 0);
    if (!fits(o, len)) return;
    buf_append(o->buf, p, len);
}

void resp_simple(struct resp_out *o, const char *s)
{
    assert_out(o);
    assert(s != NULL);
    size_t len = strlen(s);
    if (!fits(o, len + 3)) return;
    char *out = buf_reserve(o->buf, len + 3);
    out[0] = '+';
    memcpy(out + 1, s, len);
    out[len + 1] = '\r';
    out[len + 2] = '\n';
    o->buf->len += len + 3;
}

void resp_ok(struct resp_out *o)
{
    assert_out(o);
    if (!fits(o, 5)) return;
    buf_append(o->buf, "+OK\r\n", 5);
}

/* Does text start with an error code: an upper-case word and a space? */
static int has_error_code(const char *text)
{
    size_t i = 0;
    while (text[i] >= 'A' && text[i] <= 'Z') i++;
    return i > 0 && text[i] == ' ';
}

void resp_error(struct resp_out *o, const char *text)
{
    assert_out(o);
    assert(text != NULL);
    if (text[0] == '-') text++;
    size_t len = strlen(text);
    if (!fits(o, len + 7)) return;
    buf_append(o->buf, "-", 1);
    if (!has_error_code(text)) buf_append(o->buf, "ERR ", 4);
    char *out = buf_reserve(o->buf, len + 2);
    for (size_t i = 0; i < len; i++)
        out[i] = text[i] == '\r' || text[i] == '\n' ? ' ' : text[i];
    out[len] = '\r';
    out[len + 1] = '\n';
    o->buf->len += len + 2;
}

void resp_errorf(struct resp_out *o, const char *fmt, ...)
{
    assert_out(o);
    assert(fmt != NULL);
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    assert(n >= 0);
    if ((size_t)n < sizeof small) {
        resp_error(o, small);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    resp_error(o, big);
    free(big);
}

void resp_int(struct resp_out *o, long long v)
{
    assert_out(o);
    if (!fits(o, 24)) return;
    append_header(o, ':', v);
}

void resp_bulk(struct resp_out *o, const void *p, size_t len)
{
    assert_out(o);
    assert(p != NULL || len == 0);
    assert(len <= LLONG_MAX);
    if (len > SIZE_MAX - 26 || !fits(o, len + 26)) return;
    append_header(o, '$', (long long)len);
    char *out = buf_reserve(o->buf, len + 2);
    if (len) memcpy(out, p, len);
    out[len] = '\r';
    out[len + 1] = '\n';
    o->buf->len += len + 2;
}

void resp_bulk_str(struct resp_out *o, const char *s)
{
    assert(s != NULL);
    resp_bulk(o, s, strlen(s));
}

void resp_bulk_ll(struct resp_out *o, long long v)
{
    char digits[21];
    size_t len = resp_ll_to_str(digits, v);
    resp_bulk(o, digits, len);
}

void resp_null(struct resp_out *o)
{
    assert_out(o);
    if (!fits(o, 5)) return;
    if (o->proto == 3)
        buf_append(o->buf, "_\r\n", 3);
    else
        buf_append(o->buf, "$-1\r\n", 5);
}

void resp_null_array(struct resp_out *o)
{
    assert_out(o);
    if (!fits(o, 5)) return;
    if (o->proto == 3)
        buf_append(o->buf, "_\r\n", 3);
    else
        buf_append(o->buf, "*-1\r\n", 5);
}

/* The header of an aggregate of n elements (pairs, for '%'), in the form
 * the client's protocol wants. */
static void aggregate_header(char *out, size_t *len, int proto, char kind,
                             long long n)
{
    assert(n >= 0);
    assert(kind == '*' || kind == '%' || kind == '~' || kind == '>');
    if (proto == 2) {
        if (kind == '%') {
            assert(n <= LLONG_MAX / 2);
            n *= 2;
        }
        kind = '*';
    }
    out[0] = kind;
    size_t l = 1 + resp_ll_to_str(out + 1, n);
    out[l++] = '\r';
    out[l++] = '\n';
    assert(l <= DEFER_HEADER_MAX);
    *len = l;
}

static void append_aggregate(struct resp_out *o, char kind, long long n)
{
    assert_out(o);
    char tmp[DEFER_HEADER_MAX + 2];
    size_t len;
    aggregate_header(tmp, &len, o->proto, kind, n);
    if (!fits(o, len)) return;
    buf_append(o->buf, tmp, len);
}

void resp_array(struct resp_out *o, long long n) { append_aggregate(o, '*', n); }
void resp_map(struct resp_out *o, long long pairs) { append_aggregate(o, '%', pairs); }
void resp_set(struct resp_out *o, long long n) { append_aggregate(o, '~', n); }
void resp_push(struct resp_out *o, long long n) { append_aggregate(o, '>', n); }

void resp_bool(struct resp_out *o, int v)
{
    assert_out(o);
    if (!fits(o, 4)) return;
    if (o->proto == 3)
        buf_append(o->buf, v ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(o->buf, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_double(struct resp_out *o, double v)
{
    assert_out(o);
    char text[64];
    int len;
    if (isinf(v))
        len = snprintf(text, sizeof text, "%s", v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        len = snprintf(text, sizeof text, "nan");
    else
        len = snprintf(text, sizeof text, "%.17g", v);
    assert(len > 0 && (size_t)len < sizeof text);
    if (o->proto == 2) {
        resp_bulk(o, text, (size_t)len);
        return;
    }
    if (!fits(o, (size_t)len + 3)) return;
    buf_append(o->buf, ",", 1);
    buf_append(o->buf, text, (size_t)len);
    buf_append(o->buf, "\r\n", 2);
}

void resp_verbatim(struct resp_out *o, const char *text, size_t len)
{
    assert_out(o);
    assert(text != NULL || len == 0);
    if (o->proto == 2) {
        resp_bulk(o, text, len);
        return;
    }
    assert(len <= LLONG_MAX - 4);
    if (len > SIZE_MAX - 32 || !fits(o, len + 32)) return;
    append_header(o, '=', (long long)len + 4);
    buf_append(o->buf, "txt:", 4);
    buf_append(o->buf, text, len);
    buf_append(o->buf, "\r\n", 2);
}

void resp_bignum(struct resp_out *o, const char *digits, size_t len)
{
    assert_out(o);
    assert(digits != NULL || len == 0);
    if (o->proto == 2) {
        resp_bulk(o, digits, len);
        return;
    }
    if (len > SIZE_MAX - 3 || !fits(o, len + 3)) return;
    buf_append(o->buf, "(", 1);
    buf_append(o->buf, digits, len);
    buf_append(o->buf, "\r\n", 2);
}

size_t resp_defer_len(struct resp_out *o)
{
    assert_out(o);
    size_t handle = o->buf->len;
    if (!fits(o, DEFER_HEADER_MAX)) return handle; /* filled by no one: the buffer is over */
    memset(buf_reserve(o->buf, DEFER_HEADER_MAX), DEFER_FILL, DEFER_HEADER_MAX);
    o->buf->len += DEFER_HEADER_MAX;
    return handle;
}

void resp_set_deferred_len(struct resp_out *o, size_t handle, char kind,
                           long long n)
{
    assert_out(o);
    if (o->buf->over) return; /* the reply was cut short: nothing to fill */
    assert(handle <= o->buf->len && o->buf->len - handle >= DEFER_HEADER_MAX);
    char *slot = o->buf->data + handle;
    /* Catches a handle that was already filled, or was moved by a deferred
     * length reserved before it and filled first (fill inner ones first). */
    for (size_t i = 0; i < DEFER_HEADER_MAX; i++)
        assert(slot[i] == DEFER_FILL);

    char header[DEFER_HEADER_MAX + 2];
    size_t len;
    aggregate_header(header, &len, o->proto, kind, n);
    size_t body = o->buf->len - handle - DEFER_HEADER_MAX;
    memcpy(slot, header, len);
    memmove(slot + len, slot + DEFER_HEADER_MAX, body);
    o->buf->len -= DEFER_HEADER_MAX - len;
}

/* "00" "01" ... "99": two digits per division. */
static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "7475767778798081828384858687888990919293949596979899";

size_t resp_ll_to_str(char *out, long long v)
{
    assert(out != NULL);
    /* Negate in unsigned arithmetic so LLONG_MIN needs no special case. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
                                 : (unsigned long long)v;
    char tmp[20];
    size_t i = sizeof tmp;
    while (u >= 100) {
        unsigned idx = (unsigned)(u % 100) * 2;
        u /= 100;
        tmp[--i] = digit_pairs[idx + 1];
        tmp[--i] = digit_pairs[idx];
    }
    if (u >= 10) {
        unsigned idx = (unsigned)u * 2;
        tmp[--i] = digit_pairs[idx + 1];
        tmp[--i] = digit_pairs[idx];
    } else {
        tmp[--i] = (char)('0' + u);
    }
    size_t len = 0;
    if (v < 0) out[len++] = '-';
    memcpy(out + len, tmp + i, sizeof tmp - i);
    len += sizeof tmp - i;
    out[len] = '\0';
    return len;
}
