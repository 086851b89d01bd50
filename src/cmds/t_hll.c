/* cmds/t_hll.c — HyperLogLog: PFADD, PFCOUNT, PFMERGE, in the string
 * format Redis 7.0 uses, so a value made by one server reads the same on
 * the other and PFCOUNT answers the same numbers.
 *
 * The format (Redis's documentation of its HyperLogLog, and Heule, Nunkesser
 * and Hall's and Ertl's papers for the estimator):
 *   - a 16-byte header: "HYLL", the encoding (0 dense, 1 sparse), three
 *     unused bytes, and the cached cardinality (8 bytes little-endian; the
 *     top bit of the last byte set means "not valid");
 *   - 16384 registers (P = 14) holding the longest run of zeros seen + 1,
 *     from the 64-bit MurmurHash2 (MurmurHash64A, seed 0xadc83b19) of each
 *     element: the low 14 bits choose the register, the rest give the run;
 *   - dense: 6 bits a register, packed from the low bits of each byte;
 *   - sparse: run-length opcodes: ZERO 00xxxxxx (1-64 zero registers),
 *     XZERO 01xxxxxx yyyyyyyy (1-16384 zero registers), VAL 1vvvvvxx (1-4
 *     registers of value 1-32). A sparse value turns dense when a register
 *     needs more than 32 or it would pass hll-sparse-max-bytes (3000 by
 *     default; a replicated setting, store/encoding.h, so every replica
 *     encodes alike).
 * Edits follow the same steps as Redis's (an opcode split into at most
 * three, then equal neighbours merged) so the bytes come out the same.
 *
 * Parley's difference: PFCOUNT never writes. Redis stores the cardinality
 * it computed in the header (a read that writes); a read here may be
 * answered by one node alone, which must not change its copy. The header
 * of a value PFCOUNT has read keeps its "not valid" mark; the estimates
 * PFCOUNT computed are remembered by the value's content instead, in this
 * process only (card_memo).
 *
 * Every value is a user's string and may be anything: each walk is bounded
 * by the value's length and the register count, and a malformed value is
 * answered with Redis's INVALIDOBJ error, never an abort. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/encoding.h"

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define SPARSE_VAL_MAX_VALUE 32
#define SPARSE_VAL_MAX_LEN 4
#define SPARSE_ZERO_MAX_LEN 64
#define HLL_SEED 0xadc83b19ull

#define NOT_HLL_ERROR "WRONGTYPE Key is not a valid HyperLogLog string value."
#define INVALID_HLL_ERROR "INVALIDOBJ Corrupted HLL object detected"

/* A value being edited: its bytes, copied out of the keyspace. */
struct hll {
    unsigned char *p;
    size_t len, cap;
};

static void hll_reserve(struct hll *h, size_t need)
{
    if (need <= h->cap) return;
    h->cap = need > HLL_DENSE_SIZE ? need : HLL_DENSE_SIZE;
    h->p = xrealloc(h->p, h->cap);
}

/* An empty sparse value: the header (cached cardinality 0, valid) and one
 * XZERO over every register. */
static void hll_init_sparse(struct hll *h)
{
    hll_reserve(h, HLL_HDR_SIZE + 2);
    memset(h->p, 0, HLL_HDR_SIZE);
    memcpy(h->p, "HYLL", 4);
    h->p[4] = HLL_SPARSE;
    h->p[HLL_HDR_SIZE] = 0x40 | ((HLL_REGISTERS - 1) >> 8);
    h->p[HLL_HDR_SIZE + 1] = (HLL_REGISTERS - 1) & 0xff;
    h->len = HLL_HDR_SIZE + 2;
}

static inline void hll_invalidate_cache(unsigned char *p) { p[15] |= 0x80; }

/* ---------------------------------------------------------------------
 * Hashing an element
 * ------------------------------------------------------------------- */

/* MurmurHash64A (Austin Appleby's MurmurHash2, 64-bit), reading the input
 * as little-endian words on any machine. */
static uint64_t murmur64a(const unsigned char *data, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--) k = (k << 8) | data[i * 8 + (size_t)b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *tail = data + blocks * 8;
    size_t rest = len & 7;
    if (rest) {
        for (size_t b = rest; b > 0; b--) h ^= (uint64_t)tail[b - 1] << (8 * (b - 1));
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register an element falls in, and the value it offers there: the
 * number of trailing zeros of the hash's upper 50 bits, plus one. */
static int hll_pattern(const char *ele, size_t len, long *index)
{
    uint64_t hash = murmur64a((const unsigned char *)ele, len, HLL_SEED);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q; /* the run ends by bit Q at the latest */
    return __builtin_ctzll(hash) + 1;
}

/* ---------------------------------------------------------------------
 * Dense registers
 * ------------------------------------------------------------------- */

static int dense_get(const unsigned char *regs, long i)
{
    size_t bit = (size_t)i * HLL_BITS, byte = bit / 8;
    unsigned fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 8 - HLL_BITS) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return (int)(v & 63);
}

static void dense_put(unsigned char *regs, long i, int val)
{
    size_t bit = (size_t)i * HLL_BITS, byte = bit / 8;
    unsigned fb = bit & 7;
    regs[byte] = (unsigned char)((regs[byte] & ~(63u << fb)) | ((unsigned)val << fb));
    if (fb > 8 - HLL_BITS) {
        unsigned shift = 8 - fb;
        regs[byte + 1] = (unsigned char)((regs[byte + 1] & ~(63u >> shift)) | ((unsigned)val >> shift));
    }
}

/* Every register, one byte each. Registers are 6 bits, the first in the
 * low bits of the first byte, so every 3 bytes hold 4 whole registers: read
 * 4 at a time (PFCOUNT and PFMERGE walk all 16,384 of each dense value). */
static void dense_unpack(const unsigned char *regs, uint8_t out[HLL_REGISTERS])
{
    for (long i = 0; i < HLL_REGISTERS; i += 4, regs += 3) {
        unsigned b0 = regs[0], b1 = regs[1], b2 = regs[2];
        out[i] = (uint8_t)(b0 & 63);
        out[i + 1] = (uint8_t)(((b0 >> 6) | (b1 << 2)) & 63);
        out[i + 2] = (uint8_t)(((b1 >> 4) | (b2 << 4)) & 63);
        out[i + 3] = (uint8_t)(b2 >> 2);
    }
}

/* Raises register i to count if it is lower: 1 when it changed. */
static int dense_set(unsigned char *regs, long i, int count)
{
    if (dense_get(regs, i) >= count) return 0;
    dense_put(regs, i, count);
    return 1;
}

/* ---------------------------------------------------------------------
 * Sparse opcodes
 * ------------------------------------------------------------------- */

#define OP_IS_ZERO(b) (((b) & 0xc0) == 0x00)
#define OP_IS_XZERO(b) (((b) & 0xc0) == 0x40)
#define OP_IS_VAL(b) (((b) & 0x80) != 0)
#define VAL_VALUE(b) ((((b) >> 2) & 0x1f) + 1)
#define VAL_RUN(b) (((b) & 0x3) + 1)

/* The opcode at p: its size (1 or 2), *value (0 for a zero run) and *run.
 * An XZERO cut short by the end of the value reads its second byte as 0,
 * as Redis does (its strings end with a NUL). */
static int sparse_op(const unsigned char *p, const unsigned char *end, int *value, long *run)
{
    if (OP_IS_ZERO(*p)) {
        *value = 0;
        *run = (*p & 0x3f) + 1;
        return 1;
    }
    if (OP_IS_XZERO(*p)) {
        unsigned second = p + 1 < end ? p[1] : 0;
        *value = 0;
        *run = (long)((((unsigned)*p & 0x3f) << 8) | second) + 1;
        return 2;
    }
    *value = VAL_VALUE(*p);
    *run = VAL_RUN(*p);
    return 1;
}

static size_t put_zero_run(unsigned char *out, long run)
{
    if (run > SPARSE_ZERO_MAX_LEN) {
        out[0] = (unsigned char)(0x40 | ((run - 1) >> 8));
        out[1] = (unsigned char)((run - 1) & 0xff);
        return 2;
    }
    out[0] = (unsigned char)(run - 1);
    return 1;
}

static inline unsigned char val_op(int value, long run)
{
    return (unsigned char)(0x80 | ((value - 1) << 2) | (run - 1));
}

/* The registers of a sparse value into a dense one (same header, encoding
 * dense). -1 when the opcodes do not cover exactly the 16384 registers. */
static int sparse_to_dense(struct hll *h)
{
    unsigned char *dense = xcalloc(1, HLL_DENSE_SIZE);
    memcpy(dense, h->p, HLL_HDR_SIZE);
    dense[4] = HLL_DENSE;
    const unsigned char *p = h->p + HLL_HDR_SIZE, *end = h->p + h->len;
    long idx = 0;
    while (p < end) {
        int value;
        long run;
        p += sparse_op(p, end, &value, &run);
        if (value == 0) {
            idx += run;
            continue;
        }
        if (idx + run > HLL_REGISTERS) break;
        while (run--) dense_put(dense + HLL_HDR_SIZE, idx++, value);
    }
    if (idx != HLL_REGISTERS) {
        free(dense);
        return -1;
    }
    free(h->p);
    h->p = dense;
    h->len = h->cap = HLL_DENSE_SIZE;
    return 0;
}

/* Merges equal neighbouring VAL opcodes, looking at up to five opcodes
 * from `from` (Redis's step after every sparse edit). */
static void sparse_merge_near(struct hll *h, size_t from)
{
    unsigned char *p = h->p + from, *end = h->p + h->len;
    for (int scan = 5; p < end && scan > 0; scan--) {
        if (OP_IS_XZERO(*p)) {
            p += 2;
            continue;
        }
        if (OP_IS_ZERO(*p)) {
            p++;
            continue;
        }
        if (p + 1 < end && OP_IS_VAL(p[1]) && VAL_VALUE(*p) == VAL_VALUE(p[1])) {
            long run = VAL_RUN(*p) + VAL_RUN(p[1]);
            if (run <= SPARSE_VAL_MAX_LEN) {
                p[1] = val_op(VAL_VALUE(*p), run);
                memmove(p, p + 1, (size_t)(end - p - 1));
                h->len--;
                end--;
                continue; /* the merged opcode may merge with the next */
            }
        }
        p++;
    }
}

/* Raises register index to count in a sparse value: 1 when it changed, 0
 * when not, -1 when the value is malformed. May turn the value dense. */
static int sparse_set(struct hll *h, long index, int count)
{
    if (count > SPARSE_VAL_MAX_VALUE) goto promote;
    unsigned char *start = h->p + HLL_HDR_SIZE, *p = start, *end = h->p + h->len, *prev = NULL;
    long first = 0, run = 0;
    int value = 0, oplen = 0;
    while (p < end) {
        oplen = sparse_op(p, end, &value, &run);
        if (index <= first + run - 1) break;
        prev = p;
        p += oplen;
        first += run;
    }
    if (p >= end || p + oplen > end) return -1;
    size_t at = (size_t)(p - h->p), from = (size_t)((prev ? prev : start) - h->p);

    if (value > 0) {
        if (value >= count) return 0;
        if (run == 1) {
            *p = val_op(count, 1);
            goto updated;
        }
    } else if (oplen == 1 && run == 1) {
        *p = val_op(count, 1);
        goto updated;
    }

    /* The opcode becomes up to three: what precedes index, index, what
     * follows it. */
    unsigned char seq[5];
    size_t n = 0;
    long last = first + run - 1;
    if (value == 0) {
        if (index != first) n += put_zero_run(seq + n, index - first);
        seq[n++] = val_op(count, 1);
        if (index != last) n += put_zero_run(seq + n, last - index);
    } else {
        if (index != first) seq[n++] = val_op(value, index - first);
        seq[n++] = val_op(count, 1);
        if (index != last) seq[n++] = val_op(value, last - index);
    }
    long delta = (long)n - oplen;
    if (delta > 0 && h->len + (size_t)delta > (size_t)store_enc()->hll_sparse_max_bytes) goto promote;
    hll_reserve(h, h->len + n);
    p = h->p + at;
    memmove(p + n, p + oplen, h->len - at - (size_t)oplen);
    memcpy(p, seq, n);
    h->len = (size_t)((long)h->len + delta);

updated:
    sparse_merge_near(h, from);
    hll_invalidate_cache(h->p);
    return 1;

promote:
    if (sparse_to_dense(h) < 0) return -1;
    return dense_set(h->p + HLL_HDR_SIZE, index, count);
}

/* Adds an element: 1 when a register changed, 0 when not, -1 when the
 * value is malformed. */
static int hll_add(struct hll *h, const char *ele, size_t len)
{
    long index;
    int count = hll_pattern(ele, len, &index);
    if (h->p[4] == HLL_DENSE) return dense_set(h->p + HLL_HDR_SIZE, index, count);
    return sparse_set(h, index, count);
}

/* ---------------------------------------------------------------------
 * Counting and merging
 * ------------------------------------------------------------------- */

/* Ertl's sigma and tau, the corrections of the improved estimator for
 * the registers that are zero and those that hold the maximum. */
static double hll_sigma(double x)
{
    if (x == 1.0) return INFINITY;
    double y = 1.0, z = x, before;
    do {
        x *= x;
        before = z;
        z += x * y;
        y += y;
    } while (before != z);
    return z;
}

static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0) return 0.0;
    double y = 1.0, z = 1 - x, before;
    do {
        x = sqrt(x);
        before = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (before != z);
    return z / 3;
}

/* The estimate from the histogram of register values. */
static uint64_t hll_estimate(const int histo[64])
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    const double alpha_inf = 0.721347520444481703680; /* 1 / (2 ln 2), a double as in Redis */
    return (uint64_t)llroundl(alpha_inf * m * m / z);
}

/* The histogram of a value's registers; -1 when a sparse value does not
 * cover exactly the 16384 registers. */
static int hll_histogram(const unsigned char *v, size_t len, int histo[64])
{
    memset(histo, 0, 64 * sizeof *histo);
    if (v[4] == HLL_DENSE) {
        /* Four counts, added up at the end: one count would make each
         * increment wait for the last (most registers hold the same few
         * values), several times slower. */
        uint8_t regs[HLL_REGISTERS];
        int part[4][64] = {{0}};
        dense_unpack(v + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++) part[i & 3][regs[i]]++;
        for (int r = 0; r < 64; r++) histo[r] = part[0][r] + part[1][r] + part[2][r] + part[3][r];
        return 0;
    }
    const unsigned char *p = v + HLL_HDR_SIZE, *end = v + len;
    long idx = 0;
    while (p < end) {
        int value;
        long run;
        p += sparse_op(p, end, &value, &run);
        histo[value] += (int)run;
        idx += run;
        if (idx > HLL_REGISTERS) return -1;
    }
    return idx == HLL_REGISTERS ? 0 : -1;
}

/* max[i] = MAX(max[i], register i of the value); -1 when malformed. */
static int hll_merge_into(uint8_t max[HLL_REGISTERS], const unsigned char *v, size_t len)
{
    if (v[4] == HLL_DENSE) {
        uint8_t regs[HLL_REGISTERS];
        dense_unpack(v + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++)
            if (regs[i] > max[i]) max[i] = regs[i];
        return 0;
    }
    const unsigned char *p = v + HLL_HDR_SIZE, *end = v + len;
    long idx = 0;
    while (p < end) {
        int value;
        long run;
        p += sparse_op(p, end, &value, &run);
        if (value == 0) {
            idx += run;
            continue;
        }
        if (idx + run > HLL_REGISTERS) break;
        for (; run > 0; run--, idx++)
            if (value > max[idx]) max[idx] = (uint8_t)value;
    }
    return idx == HLL_REGISTERS ? 0 : -1;
}

/* ---------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------- */

/* The HyperLogLog at key: *e NULL when the key is missing, the value's
 * bytes otherwise; false after replying (another type, or a string that
 * is not a HyperLogLog). */
static bool lookup_hll(struct cmd_ctx *c, const struct resp_arg *key, struct dict_entry **e,
                       const unsigned char **v, size_t *len)
{
    bool wrong;
    *e = ctx_lookup_type(c, key, OBJ_STRING, &wrong);
    if (wrong) return false;
    if (*e == NULL) return true;
    const struct sobj *o = store_value(*e);
    if (o->encoding != ENC_INT) {
        char tmp[SOBJ_INT_BUF];
        *v = (const unsigned char *)sobj_str(o, tmp, len);
        if (*len >= HLL_HDR_SIZE && memcmp(*v, "HYLL", 4) == 0 && (*v)[4] <= HLL_SPARSE &&
            ((*v)[4] != HLL_DENSE || *len == HLL_DENSE_SIZE))
            return true;
    }
    resp_error(&c->out, NOT_HLL_ERROR);
    return false;
}

/* Stores an edited value at key (e: its entry, or NULL to create it). */
static void store_hll(struct cmd_ctx *c, const struct resp_arg *key, struct dict_entry *e,
                      const struct hll *h)
{
    struct sobj *o = sobj_string_raw((const char *)h->p, h->len);
    if (e) store_replace_value(c->store, c->db, e, o);
    else store_set(c->store, c->db, key->ptr, key->len, o, false);
}

static void cmd_pfadd(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1];
    struct dict_entry *e;
    const unsigned char *v = NULL;
    size_t len = 0;
    if (!lookup_hll(c, key, &e, &v, &len)) return;
    struct hll h = {0};
    bool updated = false;
    if (e == NULL) {
        hll_init_sparse(&h);
        updated = true;
    } else {
        hll_reserve(&h, len);
        memcpy(h.p, v, len);
        h.len = len;
    }
    int rc = 0;
    for (int i = 2; i < c->argc && rc >= 0; i++) {
        rc = hll_add(&h, c->argv[i].ptr, c->argv[i].len);
        if (rc > 0) updated = true;
    }
    if (updated) {
        hll_invalidate_cache(h.p);
        store_hll(c, key, e, &h);
        ctx_notify(c, NOTIFY_STRING, "pfadd", key);
    }
    if (rc < 0) resp_error(&c->out, INVALID_HLL_ERROR);
    else resp_int(&c->out, updated ? 1 : 0);
    free(h.p);
}

/* PFCOUNT's memo of the estimates it computed, by the value's content (a
 * 128-bit seeded digest, base/hash.h), for values whose header says their
 * cached cardinality is not valid: Parley never writes it there (see the
 * top of this file), so without the memo every PFCOUNT of a dense value
 * walks its 16,384 registers again. The estimate is a function of the
 * bytes alone, so a memo hit answers exactly what the walk would, on
 * every node; it only holds this process's recent answers, a fixed
 * number, overwritten in place. */
#define CARD_MEMO_SLOTS 256
static struct card_memo {
    uint64_t digest[2];
    long long card; /* -1: an empty slot */
} card_memo[CARD_MEMO_SLOTS] = {[0 ... CARD_MEMO_SLOTS - 1] = {{0, 0}, -1}};

/* The estimate of one value: from the memo, or walked and remembered; -1
 * when the value is malformed. */
static long long value_cardinality(const unsigned char *v, size_t len)
{
    uint64_t digest[2];
    hash_bytes_128(v, len, digest);
    struct card_memo *m = &card_memo[digest[0] % CARD_MEMO_SLOTS];
    if (m->card >= 0 && m->digest[0] == digest[0] && m->digest[1] == digest[1]) return m->card;
    int histo[64];
    if (hll_histogram(v, len, histo) < 0) return -1;
    *m = (struct card_memo){{digest[0], digest[1]}, (long long)hll_estimate(histo)};
    return m->card;
}

static void cmd_pfcount(struct cmd_ctx *c)
{
    struct dict_entry *e;
    const unsigned char *v;
    size_t len;
    int histo[64];
    if (c->argc == 2) {
        if (!lookup_hll(c, &c->argv[1], &e, &v, &len)) return;
        if (e == NULL) {
            resp_int(&c->out, 0);
            return;
        }
        if (!(v[15] & 0x80)) { /* the cached cardinality is valid */
            uint64_t card = 0;
            for (int b = 7; b >= 0; b--) card = (card << 8) | v[8 + b];
            resp_int(&c->out, (long long)card);
            return;
        }
        long long card = value_cardinality(v, len);
        if (card < 0) resp_error(&c->out, INVALID_HLL_ERROR);
        else resp_int(&c->out, card);
        return;
    }
    uint8_t *max = xcalloc(1, HLL_REGISTERS);
    for (int i = 1; i < c->argc; i++) {
        if (!lookup_hll(c, &c->argv[i], &e, &v, &len)) goto done;
        if (e == NULL) continue;
        if (hll_merge_into(max, v, len) < 0) {
            resp_error(&c->out, INVALID_HLL_ERROR);
            goto done;
        }
    }
    memset(histo, 0, sizeof histo);
    for (long i = 0; i < HLL_REGISTERS; i++) histo[max[i] & 63]++;
    resp_int(&c->out, (long long)hll_estimate(histo));
done:
    free(max);
}

/* PFMERGE destkey [sourcekey ...]: destkey is one of the inputs. The
 * result is dense when an input was dense; otherwise registers are set one
 * by one into the sparse value (which may turn dense on the way). */
static void cmd_pfmerge(struct cmd_ctx *c)
{
    uint8_t *max = xcalloc(1, HLL_REGISTERS);
    bool use_dense = false;
    struct dict_entry *e;
    const unsigned char *v;
    size_t len;
    struct hll h = {0};
    for (int i = 1; i < c->argc; i++) {
        if (!lookup_hll(c, &c->argv[i], &e, &v, &len)) goto done;
        if (e == NULL) continue;
        if (v[4] == HLL_DENSE) use_dense = true;
        if (hll_merge_into(max, v, len) < 0) {
            resp_error(&c->out, INVALID_HLL_ERROR);
            goto done;
        }
    }
    const struct resp_arg *key = &c->argv[1];
    if (!lookup_hll(c, key, &e, &v, &len)) goto done;
    if (e == NULL) {
        hll_init_sparse(&h);
    } else {
        hll_reserve(&h, len);
        memcpy(h.p, v, len);
        h.len = len;
    }
    if (use_dense && h.p[4] == HLL_SPARSE && sparse_to_dense(&h) < 0) {
        resp_error(&c->out, INVALID_HLL_ERROR);
        goto done;
    }
    for (long i = 0; i < HLL_REGISTERS; i++) {
        if (max[i] == 0) continue;
        if (h.p[4] == HLL_DENSE) dense_set(h.p + HLL_HDR_SIZE, i, max[i]);
        else sparse_set(&h, i, max[i]);
    }
    hll_invalidate_cache(h.p);
    store_hll(c, key, e, &h);
    ctx_notify(c, NOTIFY_STRING, "pfadd", key); /* as Redis names PFMERGE's */
    resp_ok(&c->out);
done:
    free(h.p);
    free(max);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: Redis's debugging view of
 * a value (GETREG and TODENSE turn it dense). */
static void cmd_pfdebug(struct cmd_ctx *c)
{
    const struct resp_arg *sub = &c->argv[1], *key = &c->argv[2];
    struct dict_entry *e;
    const unsigned char *v;
    size_t len;
    bool wrong;
    if (ctx_lookup_type(c, key, OBJ_STRING, &wrong) == NULL && !wrong) {
        resp_error(&c->out, "ERR The specified key does not exist");
        return;
    }
    if (wrong || !lookup_hll(c, key, &e, &v, &len)) return;
    bool getreg = arg_is(sub, "getreg"), todense = arg_is(sub, "todense");
    bool decode = arg_is(sub, "decode"), encoding = arg_is(sub, "encoding");
    if (!getreg && !todense && !decode && !encoding) {
        resp_errorf(&c->out, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)sub->len, sub->ptr);
        return;
    }
    if (c->argc != 3) {
        resp_errorf(&c->out, "ERR Wrong number of arguments for the '%.*s' subcommand", (int)sub->len,
                    sub->ptr);
        return;
    }
    if (encoding) {
        resp_simple(&c->out, v[4] == HLL_DENSE ? "dense" : "sparse");
        return;
    }
    if (decode) {
        if (v[4] != HLL_SPARSE) {
            resp_error(&c->out, "ERR HLL encoding is not sparse");
            return;
        }
        struct buf text = BUF_INIT;
        const unsigned char *p = v + HLL_HDR_SIZE, *end = v + len;
        while (p < end) {
            int value;
            long run;
            bool x = OP_IS_XZERO(*p);
            p += sparse_op(p, end, &value, &run);
            if (value) buf_printf(&text, "v:%d,%ld ", value, run);
            else buf_printf(&text, "%s:%ld ", x ? "Z" : "z", run);
        }
        resp_bulk(&c->out, text.data ? text.data : "", text.len ? text.len - 1 : 0);
        buf_free(&text);
        return;
    }
    struct hll h = {0};
    bool converted = false;
    if (v[4] == HLL_SPARSE) {
        hll_reserve(&h, len);
        memcpy(h.p, v, len);
        h.len = len;
        if (sparse_to_dense(&h) < 0) {
            resp_error(&c->out, INVALID_HLL_ERROR);
            free(h.p);
            return;
        }
        store_hll(c, key, e, &h);
        converted = true;
        v = (const unsigned char *)h.p;
    }
    if (todense) {
        resp_int(&c->out, converted ? 1 : 0);
    } else {
        resp_array(&c->out, HLL_REGISTERS);
        for (long i = 0; i < HLL_REGISTERS; i++) resp_int(&c->out, dense_get(v + HLL_HDR_SIZE, i));
    }
    free(h.p);
}

/* PFSELFTEST (run by server/, on no keyspace): the register arithmetic and
 * the estimator checked on this build; false with Redis's TESTFAILED text. */
bool hll_selftest(char *err, size_t errlen)
{
    /* Every register holds every value, in a dense array. */
    unsigned char *regs = xcalloc(1, HLL_DENSE_SIZE);
    bool ok = true;
    for (int round = 0; round < 64 && ok; round++) {
        for (long i = 0; i < HLL_REGISTERS; i++) dense_put(regs, i, (int)((i + round) & 63));
        for (long i = 0; i < HLL_REGISTERS && ok; i++)
            if (dense_get(regs, i) != (int)((i + round) & 63)) {
                snprintf(err, errlen, "ERR TESTFAILED Register error at %ld", i);
                ok = false;
            }
    }
    free(regs);
    /* The sparse and the dense forms of the same elements hold the same
     * registers, and the estimate stays within 5% of the truth. */
    struct hll sp = {0}, dn = {0};
    hll_init_sparse(&sp);
    hll_init_sparse(&dn);
    if (ok) ok = sparse_to_dense(&dn) == 0;
    char ele[32];
    for (long n = 1; ok && n <= 20000; n++) {
        int len = snprintf(ele, sizeof ele, "selftest:%ld", n);
        if (hll_add(&sp, ele, (size_t)len) < 0 || hll_add(&dn, ele, (size_t)len) < 0) ok = false;
        if (!ok || (n != 100 && n != 1000 && n != 20000)) continue;
        int hs[64], hd[64];
        if (hll_histogram(sp.p, sp.len, hs) < 0 || hll_histogram(dn.p, dn.len, hd) < 0 ||
            memcmp(hs, hd, sizeof hs) != 0) {
            snprintf(err, errlen, "ERR TESTFAILED sparse and dense registers differ at %ld", n);
            ok = false;
            break;
        }
        double est = (double)hll_estimate(hd);
        if (fabs(est - (double)n) > (double)n * 0.05) {
            snprintf(err, errlen, "ERR TESTFAILED Too big error. card:%ld abserr:%.0f", n, fabs(est - n));
            ok = false;
        }
    }
    free(sp.p);
    free(dn.p);
    return ok;
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define DOOM CMD_DENYOOM
#define H_RD (ACL_HYPERLOGLOG | ACL_READ)
#define H_WR (ACL_HYPERLOGLOG | ACL_WRITE)
#define ROW(n, ar, fl, f, l, s, acl, ex, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "hyperloglog", "2.8.9", sum, cx, NULL, "" __VA_ARGS__, NULL}

const struct cmd_def cmd_rows_hll[] = {
    ROW("pfadd", -2, W | DOOM | F, 1, 1, 1, H_WR | ACL_FAST, cmd_pfadd,
        "Adds the specified elements to the specified HyperLogLog.", "O(1) to add every element.", "RW insert"),
    ROW("pfcount", -2, R, 1, -1, 1, H_RD | ACL_SLOW, cmd_pfcount,
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        "O(1) with a very small average constant time when called with a single key. O(N) with N "
        "being the number of keys, and much bigger constant times, when called with multiple keys.", "RW access keymiss"),
    ROW("pfmerge", -2, W | DOOM, 1, -1, 1, H_WR | ACL_SLOW, cmd_pfmerge,
        "Merge N different HyperLogLogs into a single one.",
        "O(N) to merge N HyperLogLogs, but with high constant times.", "RW access insert keymiss 1, RO access keymiss 2.."),
    {"pfdebug", 3, CMD_WRITE | CMD_DENYOOM | CMD_ADMIN, 2, 2, 1,
     H_WR | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, cmd_pfdebug, "hyperloglog", "2.8.9",
     "Internal commands for debugging HyperLogLog values", "N/A", NULL, "RW access 2", NULL},
    {"pfselftest", 1, CMD_LOCAL | CMD_ADMIN, 0, 0, 0,
     ACL_HYPERLOGLOG | ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "hyperloglog", "2.8.9",
     "An internal command for testing HyperLogLog values", "N/A", NULL, "", NULL},
    CMD_ROWS_END,
};
