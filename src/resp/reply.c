/* resp/reply.c — finding where one reply ends (see reply.h). */
#include "resp/reply.h"

#include <stdbool.h>
#include <string.h>

#include "base/check.h"

/* A decimal with an optional '-', nothing else. */
static bool parse_ll(const char *p, size_t n, long long *out)
{
    if (n == 0 || n > 20) return false;
    bool neg = p[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == n) return false;
    long long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        if (v > (9223372036854775807ll - (p[i] - '0')) / 10) return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

int resp_reply_head(const char *p, size_t len, struct resp_reply_head *h)
{
    const char *nl = len ? memchr(p, '\n', len) : NULL;
    if (nl == NULL) return len > 65536 ? -1 : 0;
    size_t eol = (size_t)(nl - p);
    if (eol < 2 || p[eol - 1] != '\r') return -1;
    memset(h, 0, sizeof *h);
    h->type = p[0];
    h->line = p + 1;
    h->line_len = eol - 2; /* between the type byte and the CR */
    h->head_len = eol + 1;
    switch (h->type) {
    case '+': case '-': case '_': case ',': case '#': case '(':
        return 1;
    case ':': case '$': case '=': case '!': case '*': case '%': case '~': case '>': case '|':
        if (!parse_ll(h->line, h->line_len, &h->n)) return -1;
        if (h->type != ':' && h->n < -1) return -1;
        return 1;
    default:
        return -1;
    }
}

long long resp_reply_span(const char *p, size_t len, long long max_bulk)
{
    size_t off = 0;
    long long remaining = 1; /* replies still to pass, nested ones included */
    while (remaining > 0) {
        struct resp_reply_head h;
        int rc = resp_reply_head(p + off, len - off, &h);
        if (rc <= 0) return rc;
        off += h.head_len;
        remaining--;
        switch (h.type) {
        case '$': case '=': case '!':
            if (h.n < 0) break;
            if (h.n > max_bulk) return -1;
            if (len - off < (size_t)h.n + 2) return 0;
            if (p[off + (size_t)h.n] != '\r' || p[off + (size_t)h.n + 1] != '\n') return -1;
            off += (size_t)h.n + 2;
            break;
        case '*': case '~': case '>':
            if (h.n > 0) remaining += h.n;
            break;
        case '%':
            if (h.n > 0) remaining += 2 * h.n;
            break;
        case '|': /* attributes come before the reply they describe */
            if (h.n > 0) remaining += 2 * h.n;
            remaining++;
            break;
        default:
            break;
        }
        /* Each element takes at least 3 bytes: a count past what could
         * still arrive in a sane reply is refused rather than waited for. */
        if (remaining > (long long)1 << 40) return -1;
    }
    CHECK(off <= len);
    return (long long)off;
}
