/* cmds/rdb.c — the pieces of Redis's serialization that DUMP and RESTORE
 * (cmds/dump.c, cmds/rdb_stream.c) build values from: RDB lengths and
 * strings (integer and LZF encodings), the CRC-64 of the footer, Redis's
 * listpack read and written, and Redis 6's ziplist read (rdb.h).
 *
 * Every read checks each length against what is left before using it; a
 * malformed input is a false return, never a crash or an allocation larger
 * than the input (LZF output is bounded by the caller's max_string). */
#include "cmds/rdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/object.h"

/* ---------------------------------------------------------------------
 * CRC-64 (Jones polynomial, reflected), as Redis's DUMP footer
 * ------------------------------------------------------------------- */

static uint64_t crc64_table[256];

static void crc64_init(void)
{
    if (crc64_table[1]) return;
    const uint64_t poly = 0x95ac9329ac4bc9b5ull; /* 0xad93d23594c935a9, bits reversed */
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        crc64_table[i] = c;
    }
}

uint64_t rdb_crc64(const unsigned char *p, size_t len)
{
    crc64_init();
    uint64_t crc = 0;
    for (size_t i = 0; i < len; i++) crc = crc64_table[(uint8_t)crc ^ p[i]] ^ (crc >> 8);
    return crc;
}

/* ---------------------------------------------------------------------
 * Lengths and strings
 * ------------------------------------------------------------------- */

void rdb_put_len(struct buf *b, uint64_t len)
{
    unsigned char t[9];
    size_t n;
    if (len < 64) {
        t[0] = (unsigned char)len;
        n = 1;
    } else if (len < 16384) {
        t[0] = (unsigned char)(0x40 | (len >> 8));
        t[1] = (unsigned char)(len & 0xff);
        n = 2;
    } else if (len <= UINT32_MAX) {
        t[0] = 0x80;
        for (int i = 0; i < 4; i++) t[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        t[0] = 0x81;
        for (int i = 0; i < 8; i++) t[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    buf_append(b, t, n);
}

void rdb_put_str(struct buf *b, const char *p, size_t len)
{
    rdb_put_len(b, len);
    buf_append(b, p, len);
}

bool rdb_get_bytes(struct rdb_reader *r, size_t n, const unsigned char **out)
{
    if (rdb_left(r) < n) return false;
    *out = r->p;
    r->p += n;
    return true;
}

/* A length, or (*special) one of the string encodings 0-3. */
static bool get_len(struct rdb_reader *r, uint64_t *len, int *special)
{
    const unsigned char *b;
    *special = -1;
    if (!rdb_get_bytes(r, 1, &b)) return false;
    switch (b[0] >> 6) {
    case 0:
        *len = b[0] & 0x3f;
        return true;
    case 1: {
        const unsigned char *n;
        if (!rdb_get_bytes(r, 1, &n)) return false;
        *len = ((uint64_t)(b[0] & 0x3f) << 8) | n[0];
        return true;
    }
    case 3:
        *special = b[0] & 0x3f;
        *len = 0;
        return true;
    }
    int width = b[0] == 0x80 ? 4 : b[0] == 0x81 ? 8 : 0;
    const unsigned char *n;
    if (width == 0 || !rdb_get_bytes(r, (size_t)width, &n)) return false;
    *len = 0;
    for (int i = 0; i < width; i++) *len = (*len << 8) | n[i];
    return true;
}

bool rdb_get_count(struct rdb_reader *r, uint64_t *n)
{
    int special;
    return get_len(r, n, &special) && special < 0;
}

/* LZF decompression of in into out (exactly out_len bytes). */
static bool lzf_expand(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len)
{
    size_t i = 0, o = 0;
    while (i < in_len) {
        unsigned ctrl = in[i++];
        if (ctrl < 32) { /* a literal run of ctrl + 1 bytes */
            size_t n = ctrl + 1;
            if (in_len - i < n || out_len - o < n) return false;
            memcpy(out + o, in + i, n);
            i += n;
            o += n;
            continue;
        }
        size_t n = ctrl >> 5; /* a back reference */
        if (n == 7) {
            if (i >= in_len) return false;
            n += in[i++];
        }
        if (i >= in_len) return false;
        size_t back = ((size_t)(ctrl & 0x1f) << 8) + in[i++] + 1;
        n += 2;
        if (back > o || out_len - o < n) return false;
        for (size_t k = 0; k < n; k++, o++) out[o] = out[o - back];
    }
    return o == out_len;
}

bool rdb_get_string(struct rdb_reader *r, struct buf *into, size_t *at, size_t *len)
{
    uint64_t n;
    int special;
    if (!get_len(r, &n, &special)) return false;
    *at = into->len;
    const unsigned char *b;
    if (special < 0) {
        if (!rdb_get_bytes(r, n, &b)) return false;
        buf_append(into, b, n);
        *len = n;
        return true;
    }
    char num[24];
    long long v;
    switch (special) {
    case 0:
        if (!rdb_get_bytes(r, 1, &b)) return false;
        v = (int8_t)b[0];
        break;
    case 1:
        if (!rdb_get_bytes(r, 2, &b)) return false;
        v = (int16_t)(b[0] | b[1] << 8);
        break;
    case 2:
        if (!rdb_get_bytes(r, 4, &b)) return false;
        v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
        break;
    case 3: {
        uint64_t clen, ulen;
        if (!rdb_get_count(r, &clen) || !rdb_get_count(r, &ulen)) return false;
        if (ulen == 0 || ulen > (uint64_t)r->max_string || !rdb_get_bytes(r, clen, &b)) return false;
        unsigned char *out = xmalloc(ulen);
        bool ok = lzf_expand(b, clen, out, ulen);
        if (ok) buf_append(into, out, ulen);
        free(out);
        *len = ulen;
        return ok;
    }
    default:
        return false;
    }
    *len = (size_t)snprintf(num, sizeof num, "%lld", v);
    buf_append(into, num, *len);
    return true;
}

bool rdb_get_blob(struct rdb_reader *r, struct buf *blob)
{
    size_t at, len;
    buf_clear(blob);
    return rdb_get_string(r, blob, &at, &len);
}

/* ---------------------------------------------------------------------
 * Elements of containers
 * ------------------------------------------------------------------- */

void rdb_elem_text(const struct rdb_elem *e, char num[24], const char **p, size_t *len)
{
    if (e->is_int) {
        *len = (size_t)snprintf(num, 24, "%lld", e->v);
        *p = num;
    } else {
        *p = e->p;
        *len = e->len;
    }
}

bool rdb_elem_int(const struct rdb_elem *e, long long *v)
{
    if (e->is_int) {
        *v = e->v;
        return true;
    }
    return str_to_ll(e->p, e->len, v);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A little-endian signed integer of w bytes. */
static long long le_signed(const unsigned char *p, int w)
{
    uint64_t u = 0;
    for (int i = w - 1; i >= 0; i--) u = (u << 8) | p[i];
    if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~0ull << (8 * w); /* sign */
    return (long long)u;
}

/* ---------------------------------------------------------------------
 * Redis's listpack
 *
 * A 4-byte total size, a 2-byte element count (65535: unknown), the
 * elements, and 0xff. An element is an encoding byte (with a 7-bit or
 * 13-bit integer, or a 6-bit or 12-bit string length, in it; or followed
 * by a 16, 24, 32 or 64-bit integer or a 32-bit length), its data, and
 * its own size written backwards in 7-bit groups (its "backlen").
 * ------------------------------------------------------------------- */

/* Bytes of the backlen of an element of l bytes (Redis's thresholds). */
static size_t backlen_size(size_t l)
{
    return l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
}

bool rdb_lp_open(struct rdb_lp_reader *it, const unsigned char *lp, size_t size)
{
    if (lp == NULL || size < 7 || le32(lp) != size || lp[size - 1] != 0xff) return false;
    it->declared = (uint32_t)lp[4] | (uint32_t)lp[5] << 8;
    it->p = lp + 6;
    it->end = lp + size - 1;
    it->seen = 0;
    return true;
}

int rdb_lp_next(struct rdb_lp_reader *it, struct rdb_elem *e)
{
    if (it->p >= it->end) return it->declared == 65535 || it->declared == it->seen ? 0 : -1;
    const unsigned char *p = it->p;
    unsigned char c = p[0];
    size_t head, slen = 0, avail = (size_t)(it->end - p);
    e->is_int = true;
    e->v = 0;
    if ((c & 0x80) == 0) {
        head = 1, e->v = c & 0x7f;
    } else if ((c & 0xc0) == 0x80) {
        head = 1, slen = c & 0x3f, e->is_int = false;
    } else if ((c & 0xe0) == 0xc0) {
        if (avail < 2) return -1;
        head = 2;
        e->v = ((c & 0x1f) << 8) | p[1];
        if (e->v >= 4096) e->v -= 8192;
    } else if ((c & 0xf0) == 0xe0) {
        if (avail < 2) return -1;
        head = 2, slen = ((size_t)(c & 0x0f) << 8) | p[1], e->is_int = false;
    } else if (c == 0xf0) {
        if (avail < 5) return -1;
        head = 5, slen = le32(p + 1), e->is_int = false;
    } else if (c >= 0xf1 && c <= 0xf4) {
        static const int widths[] = {2, 3, 4, 8};
        int w = widths[c - 0xf1];
        if (avail < (size_t)w + 1) return -1;
        head = (size_t)w + 1;
        e->v = le_signed(p + 1, w);
    } else {
        return -1;
    }
    if (avail - head < slen) return -1;
    size_t entry = head + slen;
    if (avail - entry < backlen_size(entry)) return -1;
    e->p = (const char *)p + head;
    e->len = slen;
    it->p = p + entry + backlen_size(entry);
    it->seen++;
    return 1;
}

void rdb_lp_begin(struct rdb_lp_writer *w)
{
    buf_init(&w->lp);
    static const unsigned char header[6];
    buf_append(&w->lp, header, sizeof header);
    w->count = 0;
}

static void lp_backlen(struct rdb_lp_writer *w, size_t l)
{
    unsigned char t[5];
    size_t n = backlen_size(l);
    /* The most significant group first; every byte but the first has its
     * top bit set (it is read from the right). */
    for (size_t i = 0; i < n; i++) {
        t[i] = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        if (i > 0) t[i] |= 128;
    }
    buf_append(&w->lp, t, n);
}

void rdb_lp_int(struct rdb_lp_writer *w, long long v)
{
    unsigned char t[9];
    size_t n;
    if (v >= 0 && v <= 127) {
        t[0] = (unsigned char)v, n = 1;
    } else if (v >= -4096 && v <= 4095) {
        uint64_t u = (uint64_t)v & 0x1fff;
        t[0] = (unsigned char)(0xc0 | (u >> 8)), t[1] = (unsigned char)(u & 0xff), n = 2;
    } else {
        int width = v >= -32768 && v <= 32767 ? 2 : v >= -8388608 && v <= 8388607 ? 3
                    : v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
        t[0] = (unsigned char)(width == 2 ? 0xf1 : width == 3 ? 0xf2 : width == 4 ? 0xf3 : 0xf4);
        for (int i = 0; i < width; i++) t[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
        n = (size_t)width + 1;
    }
    buf_append(&w->lp, t, n);
    lp_backlen(w, n);
    w->count++;
}

void rdb_lp_str(struct rdb_lp_writer *w, const char *p, size_t len)
{
    long long v;
    if (len <= 20 && str_to_ll(p, len, &v)) {
        rdb_lp_int(w, v);
        return;
    }
    unsigned char t[5];
    size_t n;
    if (len < 64) {
        t[0] = (unsigned char)(0x80 | len), n = 1;
    } else if (len < 4096) {
        t[0] = (unsigned char)(0xe0 | (len >> 8)), t[1] = (unsigned char)(len & 0xff), n = 2;
    } else {
        t[0] = 0xf0;
        for (int i = 0; i < 4; i++) t[1 + i] = (unsigned char)(len >> (8 * i));
        n = 5;
    }
    buf_append(&w->lp, t, n);
    buf_append(&w->lp, p, len);
    lp_backlen(w, n + len);
    w->count++;
}

void rdb_lp_end(struct rdb_lp_writer *w, struct buf *out)
{
    unsigned char end = 0xff;
    buf_append(&w->lp, &end, 1);
    unsigned char *h = (unsigned char *)w->lp.data;
    size_t total = w->lp.len;
    for (int i = 0; i < 4; i++) h[i] = (unsigned char)(total >> (8 * i));
    uint32_t count = w->count < 65535 ? w->count : 65535;
    h[4] = (unsigned char)(count & 0xff);
    h[5] = (unsigned char)(count >> 8);
    rdb_put_str(out, w->lp.data, w->lp.len);
    buf_free(&w->lp);
}

bool rdb_listpack_each(const unsigned char *lp, size_t size, rdb_elem_fn *fn, void *arg)
{
    struct rdb_lp_reader it;
    struct rdb_elem e;
    if (!rdb_lp_open(&it, lp, size)) return false;
    int rc;
    while ((rc = rdb_lp_next(&it, &e)) == 1) {
        char num[24];
        const char *p;
        size_t len;
        rdb_elem_text(&e, num, &p, &len);
        if (!fn(arg, p, len)) return false;
    }
    return rc == 0;
}

/* ---------------------------------------------------------------------
 * Redis 6's ziplist
 *
 * A 4-byte total size, the 4-byte offset of the last element, a 2-byte
 * element count (65535: unknown), the elements, and 0xff. An element is
 * the previous element's size (1 byte under 254, else 0xfe and 4 bytes),
 * an encoding (a string of 6-bit, 14-bit or 32-bit big-endian length; an
 * integer of 8, 16, 24, 32 or 64 bits, or 0 to 12 in the encoding byte),
 * and its data.
 * ------------------------------------------------------------------- */

bool rdb_ziplist_each(const unsigned char *zl, size_t size, rdb_elem_fn *fn, void *arg)
{
    if (zl == NULL || size < 11 || le32(zl) != size || zl[size - 1] != 0xff) return false;
    uint32_t declared = (uint32_t)zl[8] | (uint32_t)zl[9] << 8, seen = 0;
    const unsigned char *p = zl + 10, *end = zl + size - 1;
    size_t prev_size = 0;
    while (p < end) {
        size_t avail = (size_t)(end - p), head, slen = 0, prevlen;
        if (p[0] < 254) {
            head = 1, prevlen = p[0];
        } else if (p[0] == 254 && avail >= 5) {
            head = 5, prevlen = le32(p + 1);
        } else {
            return false;
        }
        if (prevlen != prev_size || avail - head < 1) return false;
        const unsigned char *q = p + head;
        unsigned char c = q[0];
        struct rdb_elem e = {.is_int = true};
        size_t left = avail - head;
        switch (c >> 6) {
        case 0:
            head += 1, slen = c & 0x3f, e.is_int = false;
            break;
        case 1:
            if (left < 2) return false;
            head += 2, slen = ((size_t)(c & 0x3f) << 8) | q[1], e.is_int = false;
            break;
        case 2:
            if (left < 5) return false;
            head += 5, e.is_int = false;
            slen = (size_t)q[1] << 24 | (size_t)q[2] << 16 | (size_t)q[3] << 8 | q[4];
            break;
        default: {
            int w = c == 0xc0 ? 2 : c == 0xd0 ? 4 : c == 0xe0 ? 8 : c == 0xf0 ? 3 : c == 0xfe ? 1 : 0;
            if (w == 0 && (c < 0xf1 || c > 0xfd)) return false;
            if (left < (size_t)w + 1) return false;
            head += (size_t)w + 1;
            e.v = w ? le_signed(q + 1, w) : (c & 0x0f) - 1;
        }
        }
        if (avail - head < slen) return false;
        e.p = (const char *)p + head;
        e.len = slen;
        char num[24];
        const char *t;
        size_t tlen;
        rdb_elem_text(&e, num, &t, &tlen);
        if (!fn(arg, t, tlen)) return false;
        prev_size = head + slen;
        p += prev_size;
        seen++;
    }
    return declared == 65535 || declared == seen;
}
