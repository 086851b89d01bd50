/* cmds/dump.c — DUMP and RESTORE: a value in Redis's serialization (one
 * RDB object, then the RDB version and a CRC-64 of it all), so values move
 * between redis-server 7.0 and Parley in both directions.
 *
 * DUMP writes the plainest forms Redis 7.0 reads: strings as bytes, lists
 * (RDB type 1), sets (2), hashes (4) as their elements, sorted sets as
 * members and binary scores (5), RDB version 10. RESTORE reads those and
 * what redis-server 7.0 writes: strings in any of their encodings (small
 * integers, LZF), quicklists of listpacks (18), intsets (11), listpack
 * hashes (16) and sorted sets (17), and sorted sets with text scores (3).
 * Not read: the ziplist and zipmap forms of Redis 6 and older, modules,
 * and streams (DUMP of a stream is refused; see README).
 *
 * A payload is a user's argument and may be anything: every length is
 * checked against what is left of it before it is used, nothing is
 * allocated for more than the payload holds (an LZF string is bounded by
 * proto-max-bulk-len, from the entry), and any inconsistency is "Bad data
 * format". The parse is a pure function of the payload, so every replica
 * answers alike. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/evict.h"
#include "store/hash.h"
#include "store/list.h"
#include "store/quicklist.h"
#include "store/set.h"
#include "store/zset.h"

#define RDB_VERSION 10
#define BAD_FORMAT "ERR Bad data format"

enum {
    RDB_STRING = 0,
    RDB_LIST = 1,
    RDB_SET = 2,
    RDB_ZSET = 3,
    RDB_HASH = 4,
    RDB_ZSET_2 = 5,
    RDB_SET_INTSET = 11,
    RDB_HASH_LISTPACK = 16,
    RDB_ZSET_LISTPACK = 17,
    RDB_LIST_QUICKLIST_2 = 18,
};

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

static uint64_t crc64(const unsigned char *p, size_t len)
{
    crc64_init();
    uint64_t crc = 0;
    for (size_t i = 0; i < len; i++) crc = crc64_table[(uint8_t)crc ^ p[i]] ^ (crc >> 8);
    return crc;
}

/* ---------------------------------------------------------------------
 * Writing (DUMP)
 * ------------------------------------------------------------------- */

static void put_len(struct buf *b, uint64_t len)
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

static void put_str(struct buf *b, const char *p, size_t len)
{
    put_len(b, len);
    buf_append(b, p, len);
}

static void put_double(struct buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    unsigned char t[8];
    for (int i = 0; i < 8; i++) t[i] = (unsigned char)(u >> (8 * i));
    buf_append(b, t, 8);
}

/* The value's serialization; false for a type DUMP does not write. */
static bool serialize(struct sobj *o, struct buf *b)
{
    char tmp[SOBJ_INT_BUF];
    size_t len;
    unsigned char type;
    switch (o->type) {
    case OBJ_STRING: {
        type = RDB_STRING;
        buf_append(b, &type, 1);
        const char *p = sobj_str(o, tmp, &len);
        put_str(b, p, len);
        return true;
    }
    case OBJ_LIST: {
        type = RDB_LIST;
        buf_append(b, &type, 1);
        struct quicklist *ql = list_ql(o);
        put_len(b, ql_count(ql));
        struct ql_iter it;
        if (ql_iter_at(ql, 0, true, &it)) {
            for (; !ql_iter_done(&it); ql_iter_next(&it)) {
                struct lp_value v;
                ql_iter_get(&it, &v);
                if (v.p) {
                    put_str(b, v.p, v.len);
                } else {
                    int n = snprintf(tmp, sizeof tmp, "%lld", v.i);
                    put_str(b, tmp, (size_t)n);
                }
            }
        }
        return true;
    }
    case OBJ_SET: {
        type = RDB_SET;
        buf_append(b, &type, 1);
        size_t n = set_size(o);
        put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            const char *p = set_get_at(o, i, tmp, &len);
            put_str(b, p, len);
        }
        return true;
    }
    case OBJ_ZSET: {
        type = RDB_ZSET_2;
        buf_append(b, &type, 1);
        size_t n = zset_length(o);
        put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            struct zset_elem e;
            zset_get_at(o, i, &e);
            put_str(b, e.m, e.mlen);
            put_double(b, e.score);
        }
        return true;
    }
    case OBJ_HASH: {
        type = RDB_HASH;
        buf_append(b, &type, 1);
        size_t n = hash_len(o);
        put_len(b, n);
        for (size_t i = 0; i < n; i++) {
            struct hash_str f, v;
            hash_at(o, i, &f, &v);
            put_str(b, f.p, f.len);
            put_str(b, v.p, v.len);
        }
        return true;
    }
    default:
        return false;
    }
}

static void cmd_dump(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    if (e == NULL) {
        resp_null(&c->out);
        return;
    }
    struct buf b = BUF_INIT;
    if (!serialize(store_value(e), &b)) {
        buf_free(&b);
        resp_errorf(&c->out, "ERR DUMP of a %s is not supported by Parley",
                    sobj_type_name(store_value(e)));
        return;
    }
    unsigned char footer[10] = {RDB_VERSION & 0xff, RDB_VERSION >> 8};
    buf_append(&b, footer, 2);
    uint64_t crc = crc64((const unsigned char *)b.data, b.len);
    for (int i = 0; i < 8; i++) footer[2 + i] = (unsigned char)(crc >> (8 * i));
    buf_append(&b, footer + 2, 8);
    resp_bulk(&c->out, b.data, b.len);
    buf_free(&b);
}

/* ---------------------------------------------------------------------
 * Reading (RESTORE)
 * ------------------------------------------------------------------- */

struct rd {
    const unsigned char *p, *end;
    long long max_string; /* the longest string an LZF payload may claim */
};

static bool get_bytes(struct rd *r, size_t n, const unsigned char **out)
{
    if ((size_t)(r->end - r->p) < n) return false;
    *out = r->p;
    r->p += n;
    return true;
}

/* A length, or (*special) one of the string encodings 0-3. */
static bool get_len(struct rd *r, uint64_t *len, int *special)
{
    const unsigned char *b;
    *special = -1;
    if (!get_bytes(r, 1, &b)) return false;
    switch (b[0] >> 6) {
    case 0:
        *len = b[0] & 0x3f;
        return true;
    case 1: {
        const unsigned char *n;
        if (!get_bytes(r, 1, &n)) return false;
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
    if (width == 0 || !get_bytes(r, (size_t)width, &n)) return false;
    *len = 0;
    for (int i = 0; i < width; i++) *len = (*len << 8) | n[i];
    return true;
}

static bool get_count(struct rd *r, uint64_t *n)
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

/* A string in any of its encodings, appended to `into` (whose previous
 * bytes stay); its offset and length. */
static bool get_string(struct rd *r, struct buf *into, size_t *at, size_t *len)
{
    uint64_t n;
    int special;
    if (!get_len(r, &n, &special)) return false;
    *at = into->len;
    const unsigned char *b;
    if (special < 0) {
        if (!get_bytes(r, n, &b)) return false;
        buf_append(into, b, n);
        *len = n;
        return true;
    }
    char num[24];
    long long v;
    switch (special) {
    case 0:
        if (!get_bytes(r, 1, &b)) return false;
        v = (int8_t)b[0];
        break;
    case 1:
        if (!get_bytes(r, 2, &b)) return false;
        v = (int16_t)(b[0] | b[1] << 8);
        break;
    case 2:
        if (!get_bytes(r, 4, &b)) return false;
        v = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
        break;
    case 3: {
        uint64_t clen, ulen;
        if (!get_count(r, &clen) || !get_count(r, &ulen)) return false;
        if (ulen == 0 || ulen > (uint64_t)r->max_string || !get_bytes(r, clen, &b)) return false;
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

/* Redis's listpack (not Parley's): walks its entries, calling each with
 * the entry's bytes (an integer formatted into text). False when the blob
 * is not a well-formed listpack. */
typedef bool lp_entry_fn(void *arg, const char *p, size_t len);

static size_t backlen_size(size_t l)
{
    return l < 128 ? 1 : l < 16384 ? 2 : l < 2097152 ? 3 : l < 268435456 ? 4 : 5;
}

static bool redis_listpack_each(const unsigned char *lp, size_t size, lp_entry_fn *fn, void *arg)
{
    if (size < 7) return false;
    uint32_t total = (uint32_t)lp[0] | (uint32_t)lp[1] << 8 | (uint32_t)lp[2] << 16 | (uint32_t)lp[3] << 24;
    if (total != size || lp[size - 1] != 0xff) return false;
    uint32_t declared = (uint32_t)lp[4] | (uint32_t)lp[5] << 8;
    const unsigned char *p = lp + 6, *end = lp + size - 1;
    uint32_t seen = 0;
    while (p < end) {
        unsigned char e = p[0];
        size_t head, slen = 0;
        long long v = 0;
        bool is_int = true;
        size_t avail = (size_t)(end - p);
        if ((e & 0x80) == 0) {
            head = 1, v = e & 0x7f;
        } else if ((e & 0xc0) == 0x80) {
            head = 1, slen = e & 0x3f, is_int = false;
        } else if ((e & 0xe0) == 0xc0) {
            if (avail < 2) return false;
            head = 2;
            v = ((e & 0x1f) << 8) | p[1];
            if (v >= 4096) v -= 8192;
        } else if ((e & 0xf0) == 0xe0) {
            if (avail < 2) return false;
            head = 2, slen = ((size_t)(e & 0x0f) << 8) | p[1], is_int = false;
        } else if (e == 0xf0) {
            if (avail < 5) return false;
            head = 5, is_int = false;
            slen = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
        } else if (e >= 0xf1 && e <= 0xf4) {
            static const int widths[] = {2, 3, 4, 8};
            int w = widths[e - 0xf1];
            if (avail < (size_t)w + 1) return false;
            head = (size_t)w + 1;
            uint64_t u = 0;
            for (int i = w - 1; i >= 0; i--) u = (u << 8) | p[1 + i];
            if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~0ull << (8 * w); /* sign */
            v = (long long)u;
        } else {
            return false;
        }
        size_t entry = head + slen;
        if (avail < entry || avail - entry < backlen_size(entry)) return false;
        char num[24];
        bool ok;
        if (is_int) ok = fn(arg, num, (size_t)snprintf(num, sizeof num, "%lld", v));
        else ok = fn(arg, (const char *)p + head, slen);
        if (!ok) return false;
        p += entry + backlen_size(entry);
        seen++;
    }
    return declared == 65535 || declared == seen;
}

/* What a restore is building. */
struct build {
    struct cmd_ctx *c;
    int type;
    struct sobj *o;
    struct buf pending; /* a hash field or zset member waiting for its pair */
    bool have_pending;
    uint64_t added;
};

static bool add_score(struct build *b, const char *m, size_t mlen, double score)
{
    if (isnan(score)) return false;
    if (b->o == NULL) b->o = zset_new(1, mlen);
    int out = 0;
    if (!zset_add(b->o, score, m, mlen, ZADD_IN_NX, &out, NULL) || !(out & ZADD_OUT_ADDED))
        return false; /* NaN, or a member twice */
    b->added++;
    return true;
}

/* One element of a collection being restored (hash fields and zset
 * members wait for their value or score). */
static bool add_element(void *arg, const char *p, size_t len)
{
    struct build *b = arg;
    switch (b->type) {
    case OBJ_LIST:
        if (b->o == NULL) b->o = list_new();
        ql_push(list_ql(b->o), false, p, len);
        b->added++;
        return true;
    case OBJ_SET:
        if (b->o == NULL) b->o = set_new_for(p, len);
        if (!set_add(b->o, p, len)) return false; /* a member twice */
        b->added++;
        return true;
    default:
        break;
    }
    if (!b->have_pending) {
        buf_clear(&b->pending);
        buf_append(&b->pending, p, len);
        b->have_pending = true;
        return true;
    }
    b->have_pending = false;
    if (b->type == OBJ_HASH) {
        if (b->o == NULL) b->o = hash_new();
        if (!hash_set(b->o, b->pending.data ? b->pending.data : "", b->pending.len, p, len))
            return false; /* a field twice */
        b->added++;
        return true;
    }
    struct resp_arg s = {p, len};
    double score;
    if (!arg_to_double(&s, &score)) return false;
    return add_score(b, b->pending.data ? b->pending.data : "", b->pending.len, score);
}

static bool load_elements(struct rd *r, struct build *b, uint64_t n)
{
    struct buf tmp = BUF_INIT;
    bool ok = true;
    for (uint64_t i = 0; i < n && ok; i++) {
        size_t at, len;
        buf_clear(&tmp);
        ok = get_string(r, &tmp, &at, &len) && add_element(b, tmp.data ? tmp.data + at : "", len);
    }
    buf_free(&tmp);
    return ok;
}

/* A sorted set's score in RDB_ZSET's text form (253 NaN, 254 +inf, 255 -inf). */
static bool get_text_score(struct rd *r, double *score)
{
    const unsigned char *b;
    if (!get_bytes(r, 1, &b)) return false;
    if (b[0] == 253) return false;
    if (b[0] == 254 || b[0] == 255) {
        *score = b[0] == 254 ? INFINITY : -INFINITY;
        return true;
    }
    const unsigned char *t;
    if (!get_bytes(r, b[0], &t)) return false;
    char text[256];
    memcpy(text, t, b[0]);
    text[b[0]] = '\0';
    char *end;
    *score = strtod(text, &end);
    return end == text + b[0] && !isnan(*score);
}

static bool load_blob(struct rd *r, struct buf *blob)
{
    size_t at, len;
    buf_clear(blob);
    return get_string(r, blob, &at, &len);
}

/* The object of one RDB type from the payload; NULL when it is malformed,
 * empty, or of a type Parley does not read. */
static struct sobj *load_object(struct cmd_ctx *c, int type, struct rd *r)
{
    struct build b = {.c = c, .pending = BUF_INIT};
    struct buf blob = BUF_INIT;
    uint64_t n = 0;
    bool ok = false;
    switch (type) {
    case RDB_STRING: {
        size_t at, len;
        ok = get_string(r, &blob, &at, &len);
        struct sobj *o = ok ? sobj_string(blob.data ? blob.data : "", len) : NULL;
        buf_free(&blob);
        return o;
    }
    case RDB_LIST:
        b.type = OBJ_LIST;
        ok = get_count(r, &n) && load_elements(r, &b, n);
        break;
    case RDB_SET:
        b.type = OBJ_SET;
        ok = get_count(r, &n) && load_elements(r, &b, n);
        break;
    case RDB_HASH:
        b.type = OBJ_HASH;
        ok = get_count(r, &n) && n <= UINT64_MAX / 2 && load_elements(r, &b, n * 2);
        break;
    case RDB_ZSET:
    case RDB_ZSET_2:
        b.type = OBJ_ZSET;
        ok = get_count(r, &n);
        for (uint64_t i = 0; ok && i < n; i++) {
            double score = 0;
            const unsigned char *d;
            ok = load_blob(r, &blob);
            if (ok && type == RDB_ZSET_2) {
                ok = get_bytes(r, 8, &d);
                if (ok) {
                    uint64_t u = 0;
                    for (int k = 7; k >= 0; k--) u = (u << 8) | d[k];
                    memcpy(&score, &u, 8);
                }
            } else if (ok) {
                ok = get_text_score(r, &score);
            }
            ok = ok && add_score(&b, blob.data ? blob.data : "", blob.len, score);
        }
        break;
    case RDB_SET_INTSET: {
        b.type = OBJ_SET;
        ok = load_blob(r, &blob) && blob.len >= 8;
        if (!ok) break;
        const unsigned char *p = (const unsigned char *)blob.data;
        uint32_t width = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint32_t count = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        ok = (width == 2 || width == 4 || width == 8) && blob.len == 8 + (size_t)count * width;
        for (uint32_t i = 0; ok && i < count; i++) {
            uint64_t u = 0;
            for (int k = (int)width - 1; k >= 0; k--) u = (u << 8) | p[8 + (size_t)i * width + (size_t)k];
            if (width < 8 && (u >> (8 * width - 1)) & 1) u |= ~0ull << (8 * width);
            char num[24];
            ok = add_element(&b, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)u));
        }
        break;
    }
    case RDB_HASH_LISTPACK:
    case RDB_ZSET_LISTPACK:
        b.type = type == RDB_HASH_LISTPACK ? OBJ_HASH : OBJ_ZSET;
        ok = load_blob(r, &blob) &&
             redis_listpack_each((const unsigned char *)blob.data, blob.len, add_element, &b) &&
             !b.have_pending;
        break;
    case RDB_LIST_QUICKLIST_2:
        b.type = OBJ_LIST;
        ok = get_count(r, &n);
        for (uint64_t i = 0; ok && i < n; i++) {
            uint64_t container;
            ok = get_count(r, &container) && (container == 1 || container == 2) && load_blob(r, &blob);
            if (!ok) break;
            if (container == 1) ok = add_element(&b, blob.data ? blob.data : "", blob.len);
            else ok = redis_listpack_each((const unsigned char *)blob.data, blob.len, add_element, &b);
        }
        break;
    default:
        break;
    }
    buf_free(&blob);
    buf_free(&b.pending);
    if (!ok || b.added == 0) { /* malformed, or an empty collection */
        if (b.o) sobj_free(b.o);
        return NULL;
    }
    return b.o;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]. */
static void cmd_restore(struct cmd_ctx *c)
{
    bool replace = false, absttl = false;
    long long idle = -1, freq = -1, ttl;
    for (int j = 4; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        bool more = j + 1 < c->argc;
        if (arg_is(a, "replace")) {
            replace = true;
        } else if (arg_is(a, "absttl")) {
            absttl = true;
        } else if (arg_is(a, "idletime") && more && freq == -1) {
            if (!arg_get_ll_or_reply(c, &c->argv[++j], &idle)) return;
            if (idle < 0) {
                resp_error(&c->out, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
        } else if (arg_is(a, "freq") && more && idle == -1) {
            if (!arg_get_ll_or_reply(c, &c->argv[++j], &freq)) return;
            if (freq < 0 || freq > 255) {
                resp_error(&c->out, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    const struct resp_arg *key = &c->argv[1];
    if (!replace && ctx_lookup(c, key) != NULL) {
        resp_error(&c->out, "BUSYKEY Target key name already exists.");
        return;
    }
    if (!arg_get_ll_or_reply(c, &c->argv[2], &ttl)) return;
    if (ttl < 0) {
        resp_error(&c->out, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const struct resp_arg *pl = &c->argv[3];
    const unsigned char *p = (const unsigned char *)pl->ptr;
    if (pl->len < 10 || (p[pl->len - 10] | p[pl->len - 9] << 8) > RDB_VERSION) {
        resp_error(&c->out, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    uint64_t crc = crc64(p, pl->len - 8), stored = 0;
    for (int i = 7; i >= 0; i--) stored = (stored << 8) | p[pl->len - 8 + (size_t)i];
    if (crc != stored) {
        resp_error(&c->out, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    struct rd r = {p + 1, p + pl->len - 10, cmd_max_string_len(c)};
    struct sobj *o = load_object(c, p[0], &r);
    if (o == NULL) {
        resp_error(&c->out, BAD_FORMAT);
        return;
    }
    bool deleted = replace && store_delete(c->store, c->db, key->ptr, key->len);
    if (ttl && !absttl) ttl = ttl > LLONG_MAX - c->now_ms ? LLONG_MAX : ttl + c->now_ms;
    if (ttl && ttl <= c->now_ms) { /* already expired: nothing to create */
        if (deleted) ctx_notify(c, NOTIFY_GENERIC, "del", key);
        sobj_free(o);
        resp_ok(&c->out);
        return;
    }
    struct dict_entry *e = store_set(c->store, c->db, key->ptr, key->len, o, false);
    /* This node's own access records (never replicated), as Redis sets them. */
    if (freq >= 0) o->lfu_count = (uint8_t)freq;
    if (idle >= 0) evict_set_idle(o, (uint64_t)idle * 1000);
    if (ttl) store_set_expire(c->store, c->db, e, ttl);
    ctx_notify(c, NOTIFY_GENERIC, "restore", key);
    resp_ok(&c->out);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

const struct cmd_def cmd_rows_dump[] = {
    {"dump", 2, CMD_READONLY, 1, 1, 1, ACL_KEYSPACE | ACL_READ | ACL_SLOW, cmd_dump,
     "generic", "2.6.0", "Return a serialized version of the value stored at the specified key.",
     "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis "
     "objects composing the value and M their average size. For small string values the time "
     "complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", NULL, "RO access keymiss", NULL},
    {"restore", -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
     ACL_KEYSPACE | ACL_WRITE | ACL_SLOW | ACL_DANGEROUS, cmd_restore, "generic", "2.6.0",
     "Create a key using the provided serialized value, previously obtained using DUMP.",
     "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N "
     "is the number of Redis objects composing the value and M their average size. For small string "
     "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for "
     "sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is "
     "O(log(N)).", NULL, "OW update", NULL},
    CMD_ROWS_END,
};
