/* store/stream.c — see stream.h. */
#include "store/stream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"

#define FLAG_DELETED 1
#define FLAG_SAMEFIELDS 2 /* only values: the fields are the block's first entry's */

/* ---------------------------------------------------------------------
 * Varints (LEB128) in blocks
 * ------------------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *varint_put(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* Reads a varint from [*p, end); false when it is cut or too long. */
static bool varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------------
 * Redis's listpack sizes
 *
 * Blocks end where Redis's listpacks would: a new one starts when the
 * tail's listpack, as Redis would have encoded it, plus the new entry's
 * strings reaches stream-node-max-bytes (Redis 7.0's streamAppendItem).
 * In Redis's listpack even a block's first entry is stored without its
 * fields (they are the master entry's).
 * So `~` trimming, which drops whole blocks, removes what Redis removes.
 * These functions give the listpack bytes (element header, data, backlen)
 * of what Redis stores.
 * ------------------------------------------------------------------- */

static size_t lp_backlen(size_t l)
{
    return l < 128 ? 1 : l < 16384 ? 2 : l < 2097152 ? 3 : l < 268435456 ? 4 : 5;
}

static size_t lp_int(int64_t v)
{
    size_t enc = v >= 0 && v <= 127                   ? 1
                 : v >= -4096 && v <= 4095             ? 2
                 : v >= -32768 && v <= 32767           ? 3
                 : v >= -8388608 && v <= 8388607       ? 4
                 : v >= INT32_MIN && v <= INT32_MAX    ? 5
                                                       : 9;
    return enc + lp_backlen(enc);
}

static size_t lp_str(const char *p, size_t len)
{
    long long v;
    if (len <= 20 && str_to_ll(p, len, &v)) return lp_int(v);
    size_t enc = len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len;
    return enc + lp_backlen(enc);
}

/* A new listpack: header and end byte, then the master entry (count,
 * deleted, number of fields, the fields, a zero). */
static size_t lp_master_bytes(size_t n, const struct stream_str *strs)
{
    size_t bytes = 7 + lp_int(1) + lp_int(0) + lp_int((int64_t)(n / 2)) + lp_int(0);
    for (size_t i = 0; i < n; i += 2) bytes += lp_str(strs[i].p, strs[i].len);
    return bytes;
}

/* One entry: flags, ms and seq deltas, [number of fields], [fields and]
 * values, and the count of its elements. */
static size_t lp_entry_bytes(const struct stream_id *master, const struct stream_id *id, size_t n,
                             const struct stream_str *strs, bool same)
{
    size_t pairs = n / 2;
    size_t bytes = lp_int(same ? 2 : 0) + lp_int((int64_t)(id->ms - master->ms)) +
                   lp_int((int64_t)(id->seq - master->seq));
    if (!same) bytes += lp_int((int64_t)pairs);
    for (size_t i = same ? 1 : 0; i < n; i += same ? 2 : 1) bytes += lp_str(strs[i].p, strs[i].len);
    return bytes + lp_int((int64_t)(pairs + 3 + (same ? 0 : pairs + 1)));
}

/* ---------------------------------------------------------------------
 * Entries inside a block
 * ------------------------------------------------------------------- */

struct raw_entry {
    uint8_t flags;
    struct stream_id id;
    uint64_t n_strs;           /* fields and values */
    const unsigned char *body; /* the strings (only values if SAMEFIELDS) */
    uint32_t next;             /* offset of the following entry */
};

/* The header of the block's first entry: its number of strings and where
 * they start (the master fields of SAMEFIELDS entries). */
static bool master_of(const struct stream_block *b, uint64_t *n_strs, const unsigned char **body)
{
    const unsigned char *p = b->data, *end = b->data + b->len;
    uint64_t dms, seq;
    if (b->len == 0 || (p[0] & FLAG_SAMEFIELDS)) return false;
    p++;
    if (!varint_get(&p, end, &dms) || !varint_get(&p, end, &seq) || !varint_get(&p, end, n_strs))
        return false;
    *body = p;
    return true;
}

/* Parses the entry at off; false if the bytes are malformed (only
 * snapshots can hold such bytes). */
static bool entry_at(const struct stream_block *b, uint32_t off, struct raw_entry *e)
{
    const unsigned char *p = b->data + off, *end = b->data + b->len;
    if (p >= end) return false;
    e->flags = *p++;
    uint64_t dms, seq, stored;
    if (!varint_get(&p, end, &dms) || !varint_get(&p, end, &seq)) return false;
    if (e->flags & FLAG_SAMEFIELDS) {
        const unsigned char *mbody;
        if (off == 0 || !master_of(b, &e->n_strs, &mbody)) return false;
        stored = e->n_strs / 2;
    } else {
        if (!varint_get(&p, end, &e->n_strs)) return false;
        stored = e->n_strs;
    }
    if (dms > UINT64_MAX - b->first.ms) return false;
    e->id.ms = b->first.ms + dms;
    e->id.seq = seq;
    e->body = p;
    for (uint64_t i = 0; i < stored; i++) {
        uint64_t len;
        if (!varint_get(&p, end, &len) || len > (uint64_t)(end - p)) return false;
        p += len;
    }
    e->next = (uint32_t)(p - b->data);
    return true;
}

/* Reads one string at *q and moves past it. */
static bool str_get(const unsigned char **q, const unsigned char *end, const char **p, size_t *len)
{
    uint64_t l;
    if (*q >= end || !varint_get(q, end, &l) || l > (uint64_t)(end - *q)) return false;
    *p = (const char *)*q;
    *len = (size_t)l;
    *q += l;
    return true;
}

bool stream_entry_next_str(struct stream_entry *e, const char **p, size_t *len)
{
    if (!e->same) return str_get(&e->p, e->end, p, len);
    /* Fields from the block's first entry (skipping its values), values
     * from this one. */
    e->field_turn = !e->field_turn;
    if (!e->field_turn) return str_get(&e->p, e->end, p, len);
    const char *skip;
    size_t skip_len;
    return str_get(&e->mp, e->mend, p, len) && str_get(&e->mp, e->mend, &skip, &skip_len);
}

/* The entry e of block b as callers read it (its strings in order). */
static void entry_view(const struct stream_block *b, const struct raw_entry *e,
                       struct stream_entry *out)
{
    out->id = e->id;
    out->n_strs = e->n_strs;
    out->p = e->body;
    out->end = b->data + e->next;
    out->same = (e->flags & FLAG_SAMEFIELDS) != 0;
    out->field_turn = false;
    if (out->same) {
        struct raw_entry m;
        entry_at(b, 0, &m);
        out->mp = m.body;
        out->mend = b->data + m.next;
    }
}

/* What the entry at e adds to Redis's listpack (the master entry too, for
 * the block's first entry): lp_master_bytes and lp_entry_bytes from the
 * stored entry. */
static size_t stored_lp_bytes(const struct stream_block *b, const struct raw_entry *e, bool first)
{
    struct stream_entry x;
    entry_view(b, e, &x);
    bool same = x.same || first;
    size_t pairs = (size_t)(e->n_strs / 2);
    size_t bytes = lp_int(same ? 2 : 0) + lp_int((int64_t)(e->id.ms - b->first.ms)) +
                   lp_int((int64_t)(e->id.seq - b->first.seq)) + lp_int((int64_t)(pairs + 3 + (same ? 0 : pairs + 1)));
    if (!same) bytes += lp_int((int64_t)pairs);
    if (first) bytes += 7 + lp_int(1) + lp_int(0) + lp_int((int64_t)pairs) + lp_int(0);
    const char *p;
    size_t len;
    for (uint64_t i = 0; stream_entry_next_str(&x, &p, &len); i++)
        if (!same || i % 2 == 1 || first) bytes += lp_str(p, len); /* first: the master's fields */
    return bytes;
}

static void block_free(struct stream_block *b)
{
    if (b == NULL) return;
    free(b->data);
    free(b);
}

static void remove_block(struct stream *s, size_t i)
{
    block_free(s->blocks[i]);
    memmove(&s->blocks[i], &s->blocks[i + 1], (s->n_blocks - i - 1) * sizeof *s->blocks);
    s->n_blocks--;
}

/* The index of the last block whose first ID is <= id, or 0. */
static size_t block_for(const struct stream *s, const struct stream_id *id)
{
    size_t lo = 0, hi = s->n_blocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (stream_id_cmp(&s->blocks[mid]->first, id) <= 0) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* The first live entry's ID, 0-0 when empty. */
static struct stream_id first_live_id(const struct stream *s)
{
    for (size_t i = 0; i < s->n_blocks; i++) {
        const struct stream_block *b = s->blocks[i];
        struct raw_entry e;
        for (uint32_t off = 0; off < b->len && entry_at(b, off, &e); off = e.next)
            if (!(e.flags & FLAG_DELETED)) return e.id;
    }
    return (struct stream_id){0, 0};
}

struct stream_id stream_last_valid_id(const struct stream *s)
{
    struct stream_it it;
    struct stream_entry e;
    stream_it_start(&it, s, NULL, NULL, true);
    if (stream_it_next(&it, &e)) return e.id;
    return (struct stream_id){0, 0};
}

/* ---------------------------------------------------------------------
 * Stream
 * ------------------------------------------------------------------- */

struct sobj *stream_new(void)
{
    return sobj_new(OBJ_STREAM, ENC_STREAM, xcalloc(1, sizeof(struct stream)));
}

/* Whether an entry's fields are the block's first entry's, in the same
 * order (Redis's "same fields as the master entry"): then only its values
 * are stored. */
static bool same_fields(const struct stream_block *b, size_t n, const struct stream_str *strs)
{
    uint64_t mn;
    const unsigned char *mp, *end = b->data + b->len;
    if (!master_of(b, &mn, &mp) || mn != n) return false;
    for (size_t i = 0; i < n; i++) {
        const char *p;
        size_t len;
        if (!str_get(&mp, end, &p, &len)) return false;
        if (i % 2 == 0 && (len != strs[i].len || memcmp(p, strs[i].p, len) != 0)) return false;
    }
    return true;
}

void stream_append(struct stream *s, const struct stream_id *id, size_t n,
                   const struct stream_str *strs)
{
    assert(stream_id_cmp(id, &s->last_id) > 0);
    struct stream_block *b = s->n_blocks ? s->blocks[s->n_blocks - 1] : NULL;
    size_t need = 1 + varint_len(UINT64_MAX) + varint_len(id->seq) + varint_len(n), strings = 0;
    for (size_t i = 0; i < n; i++) {
        need += varint_len(strs[i].len) + strs[i].len;
        strings += strs[i].len;
    }
    if (b && (b->n_entries >= STREAM_BLOCK_MAX_ENTRIES || b->lp_bytes + strings >= STREAM_BLOCK_MAX_BYTES)) {
        /* The tail is full for good: give back what its buffer has spare. */
        b->data = xrealloc(b->data, b->len);
        b->cap = b->len;
        b = NULL;
    }
    bool same = b && same_fields(b, n, strs);
    if (b == NULL) {
        b = xcalloc(1, sizeof *b);
        b->first = *id;
        b->lp_bytes = lp_master_bytes(n, strs);
        if (s->n_blocks == s->cap_blocks) {
            s->cap_blocks = s->cap_blocks ? s->cap_blocks * 2 : 4;
            s->blocks = xrealloc(s->blocks, s->cap_blocks * sizeof *s->blocks);
        }
        s->blocks[s->n_blocks++] = b;
    }
    if (b->len + need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + need) cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = (uint32_t)cap;
    }
    unsigned char *p = b->data + b->len;
    *p++ = same ? FLAG_SAMEFIELDS : 0;
    p = varint_put(p, id->ms - b->first.ms);
    p = varint_put(p, id->seq);
    if (!same) p = varint_put(p, n);
    for (size_t i = 0; i < n; i++) {
        if (same && i % 2 == 0) continue; /* the block's first entry has the fields */
        p = varint_put(p, strs[i].len);
        if (strs[i].len) memcpy(p, strs[i].p, strs[i].len);
        p += strs[i].len;
    }
    b->len = (uint32_t)(p - b->data);
    b->lp_bytes += lp_entry_bytes(&b->first, id, n, strs, same || b->n_entries == 0);
    b->last = *id;
    b->n_entries++;
    b->n_live++;
    s->length++;
    s->entries_added++;
    s->last_id = *id;
    if (s->length == 1) s->first_id = *id;
}

/* Finds the live entry id: its block index and offset. */
static bool find_entry(const struct stream *s, const struct stream_id *id, size_t *bi,
                       uint32_t *off)
{
    if (s->n_blocks == 0) return false;
    size_t i = block_for(s, id);
    const struct stream_block *b = s->blocks[i];
    if (stream_id_cmp(id, &b->first) < 0 || stream_id_cmp(id, &b->last) > 0) return false;
    struct raw_entry e;
    for (uint32_t o = 0; o < b->len && entry_at(b, o, &e); o = e.next) {
        int cmp = stream_id_cmp(&e.id, id);
        if (cmp > 0) return false;
        if (cmp == 0) {
            if (e.flags & FLAG_DELETED) return false;
            *bi = i;
            *off = o;
            return true;
        }
    }
    return false;
}

bool stream_entry_exists(const struct stream *s, const struct stream_id *id)
{
    size_t bi;
    uint32_t off;
    return find_entry(s, id, &bi, &off);
}

/* Marks the entry at (block i, off) deleted; frees the block if it was
 * its last live entry. */
static void delete_at(struct stream *s, size_t i, uint32_t off)
{
    struct stream_block *b = s->blocks[i];
    b->data[off] |= FLAG_DELETED;
    b->n_live--;
    s->length--;
    if (b->n_live == 0) remove_block(s, i);
}

bool stream_delete(struct stream *s, const struct stream_id *id)
{
    size_t bi;
    uint32_t off;
    if (!find_entry(s, id, &bi, &off)) return false;
    delete_at(s, bi, off);
    if (s->length == 0) s->first_id = (struct stream_id){0, 0};
    else if (stream_id_cmp(id, &s->first_id) == 0) s->first_id = first_live_id(s);
    return true;
}

/* Redis 7.0's streamTrim, for both strategies. */
static uint64_t trim(struct stream *s, bool by_len, uint64_t maxlen, const struct stream_id *minid,
                     bool approx, uint64_t limit)
{
    uint64_t removed = 0;
    while (s->n_blocks > 0) {
        if (by_len && s->length <= maxlen) break;
        struct stream_block *b = s->blocks[0];
        uint64_t entries = b->n_live;
        if (limit && removed + entries > limit) break;
        bool whole = by_len ? s->length - entries >= maxlen : stream_id_cmp(&b->last, minid) < 0;
        if (whole) {
            remove_block(s, 0);
            s->length -= entries;
            removed += entries;
            continue;
        }
        if (approx) break;
        struct raw_entry e;
        for (uint32_t off = 0; off < b->len && entry_at(b, off, &e); off = e.next) {
            if (e.flags & FLAG_DELETED) continue;
            if (by_len ? s->length <= maxlen : stream_id_cmp(&e.id, minid) >= 0) break;
            b->data[off] |= FLAG_DELETED;
            b->n_live--;
            s->length--;
            removed++;
        }
        if (b->n_live == 0) remove_block(s, 0);
        break;
    }
    s->first_id = s->length ? first_live_id(s) : (struct stream_id){0, 0};
    return removed;
}

uint64_t stream_trim_maxlen(struct stream *s, uint64_t maxlen, bool approx, uint64_t limit)
{
    return trim(s, true, maxlen, NULL, approx, limit);
}

uint64_t stream_trim_minid(struct stream *s, const struct stream_id *minid, bool approx,
                           uint64_t limit)
{
    return trim(s, false, 0, minid, approx, limit);
}

/* ---------------------------------------------------------------------
 * Iteration
 * ------------------------------------------------------------------- */

static void load_offsets(struct stream_it *it)
{
    const struct stream_block *b = it->s->blocks[it->block];
    struct raw_entry e;
    it->n_offs = 0;
    for (uint32_t off = 0; off < b->len && it->n_offs < STREAM_BLOCK_MAX_ENTRIES && entry_at(b, off, &e);
         off = e.next)
        it->offs[it->n_offs++] = off;
    it->pos = it->n_offs - 1;
}

void stream_it_start(struct stream_it *it, const struct stream *s, const struct stream_id *start,
                     const struct stream_id *end, bool rev)
{
    it->s = s;
    it->start = start ? *start : (struct stream_id){0, 0};
    it->end = end ? *end : (struct stream_id){UINT64_MAX, UINT64_MAX};
    it->rev = rev;
    it->done = s->n_blocks == 0 || stream_id_cmp(&it->start, &it->end) > 0;
    it->off = 0;
    if (it->done) return;
    if (!rev) {
        it->block = block_for(s, &it->start);
    } else {
        it->block = block_for(s, &it->end);
        load_offsets(it);
    }
}

bool stream_it_next(struct stream_it *it, struct stream_entry *out)
{
    const struct stream *s = it->s;
    while (!it->done) {
        const struct stream_block *b = s->blocks[it->block];
        struct raw_entry e;
        if (!it->rev) {
            if (it->off >= b->len || !entry_at(b, it->off, &e)) {
                if (++it->block >= s->n_blocks) it->done = true;
                it->off = 0;
                continue;
            }
            it->off = e.next;
            if (e.flags & FLAG_DELETED) continue;
            if (stream_id_cmp(&e.id, &it->start) < 0) continue;
            if (stream_id_cmp(&e.id, &it->end) > 0) {
                it->done = true;
                return false;
            }
        } else {
            if (it->pos < 0) {
                if (it->block == 0) {
                    it->done = true;
                    return false;
                }
                it->block--;
                load_offsets(it);
                continue;
            }
            if (!entry_at(b, it->offs[it->pos--], &e)) continue;
            if (e.flags & FLAG_DELETED) continue;
            if (stream_id_cmp(&e.id, &it->end) > 0) continue;
            if (stream_id_cmp(&e.id, &it->start) < 0) {
                it->done = true;
                return false;
            }
        }
        entry_view(b, &e, out);
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------
 * Consumer groups, consumers, PELs
 * ------------------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* Binary search in an array of pointers to structs with name/name_len at
 * the same place; *at gets the insertion point. */
#define SORTED_FIND(arr, n, key, klen, at)                                     \
    do {                                                                       \
        size_t lo_ = 0, hi_ = (n);                                             \
        while (lo_ < hi_) {                                                    \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                               \
            int c_ = name_cmp((arr)[mid_]->name, (arr)[mid_]->name_len, key, klen); \
            if (c_ < 0) lo_ = mid_ + 1;                                        \
            else hi_ = mid_;                                                   \
        }                                                                      \
        *(at) = lo_;                                                           \
    } while (0)

struct stream_cg *stream_cg_find(const struct stream *s, const char *name, size_t len)
{
    size_t at;
    SORTED_FIND(s->groups, s->n_groups, name, len, &at);
    if (at < s->n_groups && name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) == 0)
        return s->groups[at];
    return NULL;
}

struct stream_cg *stream_cg_create(struct stream *s, const char *name, size_t len,
                                   const struct stream_id *last_id, int64_t entries_read)
{
    size_t at;
    SORTED_FIND(s->groups, s->n_groups, name, len, &at);
    if (at < s->n_groups && name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) == 0)
        return NULL;
    struct stream_cg *g = xcalloc(1, sizeof *g);
    g->name = xmemdup(name, len ? len : 1);
    g->name_len = len;
    g->last_id = *last_id;
    g->entries_read = entries_read;
    idmap_init(&g->pel);
    if (s->n_groups == s->cap_groups) {
        s->cap_groups = s->cap_groups ? s->cap_groups * 2 : 2;
        s->groups = xrealloc(s->groups, s->cap_groups * sizeof *s->groups);
    }
    memmove(&s->groups[at + 1], &s->groups[at], (s->n_groups - at) * sizeof *s->groups);
    s->groups[at] = g;
    s->n_groups++;
    return g;
}

static void consumer_free(struct stream_consumer *c)
{
    idmap_clear(&c->pel, NULL);
    free(c->pel.head);
    free(c->name);
    free(c);
}

static void cg_free(struct stream_cg *g)
{
    for (size_t i = 0; i < g->n_consumers; i++) consumer_free(g->consumers[i]);
    free(g->consumers);
    idmap_clear(&g->pel, free);
    free(g->pel.head);
    free(g->name);
    free(g);
}

bool stream_cg_destroy(struct stream *s, const char *name, size_t len)
{
    size_t at;
    SORTED_FIND(s->groups, s->n_groups, name, len, &at);
    if (at >= s->n_groups || name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) != 0)
        return false;
    cg_free(s->groups[at]);
    memmove(&s->groups[at], &s->groups[at + 1], (s->n_groups - at - 1) * sizeof *s->groups);
    s->n_groups--;
    return true;
}

struct stream_consumer *stream_consumer_find(const struct stream_cg *g, const char *name,
                                             size_t len)
{
    size_t at;
    SORTED_FIND(g->consumers, g->n_consumers, name, len, &at);
    if (at < g->n_consumers &&
        name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) == 0)
        return g->consumers[at];
    return NULL;
}

struct stream_consumer *stream_consumer_create(struct stream_cg *g, const char *name, size_t len,
                                               int64_t now_ms)
{
    size_t at;
    SORTED_FIND(g->consumers, g->n_consumers, name, len, &at);
    if (at < g->n_consumers &&
        name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) == 0)
        return NULL;
    struct stream_consumer *c = xcalloc(1, sizeof *c);
    c->name = xmemdup(name, len ? len : 1);
    c->name_len = len;
    c->seen_time = now_ms;
    c->active_time = -1;
    idmap_init(&c->pel);
    if (g->n_consumers == g->cap_consumers) {
        g->cap_consumers = g->cap_consumers ? g->cap_consumers * 2 : 2;
        g->consumers = xrealloc(g->consumers, g->cap_consumers * sizeof *g->consumers);
    }
    memmove(&g->consumers[at + 1], &g->consumers[at], (g->n_consumers - at) * sizeof *g->consumers);
    g->consumers[at] = c;
    g->n_consumers++;
    return c;
}

long long stream_consumer_delete(struct stream_cg *g, const char *name, size_t len)
{
    size_t at;
    SORTED_FIND(g->consumers, g->n_consumers, name, len, &at);
    if (at >= g->n_consumers ||
        name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) != 0)
        return -1;
    struct stream_consumer *c = g->consumers[at];
    long long pending = (long long)idmap_size(&c->pel);
    for (struct idmap_node *n = idmap_first(&c->pel); n; n = idmap_next(n))
        free(idmap_remove(&g->pel, &n->id));
    consumer_free(c);
    memmove(&g->consumers[at], &g->consumers[at + 1], (g->n_consumers - at - 1) * sizeof *g->consumers);
    g->n_consumers--;
    return pending;
}

struct stream_nack *stream_pel_add(struct stream_cg *g, struct stream_consumer *c,
                                   const struct stream_id *id, int64_t now_ms)
{
    struct stream_nack *n = idmap_get(&g->pel, id);
    if (n == NULL) {
        n = xcalloc(1, sizeof *n);
        n->consumer = c;
        idmap_insert(&g->pel, id, n);
        idmap_insert(&c->pel, id, n);
    } else {
        stream_nack_move(g, n, id, c);
    }
    n->delivery_time = now_ms;
    n->delivery_count = 1;
    return n;
}

void stream_nack_move(struct stream_cg *g, struct stream_nack *n, const struct stream_id *id,
                      struct stream_consumer *to)
{
    (void)g;
    if (n->consumer == to) return;
    if (n->consumer) idmap_remove(&n->consumer->pel, id);
    idmap_insert(&to->pel, id, n);
    n->consumer = to;
}

bool stream_pel_remove(struct stream_cg *g, const struct stream_id *id)
{
    struct stream_nack *n = idmap_remove(&g->pel, id);
    if (n == NULL) return false;
    if (n->consumer) idmap_remove(&n->consumer->pel, id);
    free(n);
    return true;
}

/* ---------------------------------------------------------------------
 * Lag (Redis 7.0)
 * ------------------------------------------------------------------- */

int64_t stream_estimate_entries_read(const struct stream *s, const struct stream_id *id)
{
    if (!s->entries_added) return 0;
    if (!s->length && stream_id_cmp(id, &s->last_id) < 1) return (int64_t)s->entries_added;
    int cmp_last = stream_id_cmp(id, &s->last_id);
    if (cmp_last == 0) return (int64_t)s->entries_added;
    if (cmp_last > 0) return STREAM_ENTRIES_READ_INVALID;
    int cmp_id_first = stream_id_cmp(id, &s->first_id);
    int cmp_xdel_first = stream_id_cmp(&s->max_deleted_id, &s->first_id);
    if (stream_id_is_zero(&s->max_deleted_id) || cmp_xdel_first < 0) {
        if (cmp_id_first < 0) return (int64_t)(s->entries_added - s->length);
        if (cmp_id_first == 0) return (int64_t)(s->entries_added - s->length + 1);
    }
    return STREAM_ENTRIES_READ_INVALID;
}

bool stream_range_has_tombstones(const struct stream *s, const struct stream_id *start,
                                 const struct stream_id *end)
{
    if (!s->length || stream_id_is_zero(&s->max_deleted_id)) return false;
    if (stream_id_cmp(&s->first_id, &s->max_deleted_id) > 0) return false;
    struct stream_id lo = start ? *start : (struct stream_id){0, 0};
    struct stream_id hi = end ? *end : (struct stream_id){UINT64_MAX, UINT64_MAX};
    return stream_id_cmp(&lo, &s->max_deleted_id) <= 0 && stream_id_cmp(&s->max_deleted_id, &hi) <= 0;
}

bool stream_cg_lag(const struct stream *s, const struct stream_cg *g, long long *lag)
{
    if (!s->entries_added) {
        *lag = 0;
        return true;
    }
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID &&
        !stream_range_has_tombstones(s, &g->last_id, NULL)) {
        *lag = (long long)s->entries_added - g->entries_read;
        return true;
    }
    int64_t read = stream_estimate_entries_read(s, &g->last_id);
    if (read == STREAM_ENTRIES_READ_INVALID) return false;
    *lag = (long long)s->entries_added - read;
    return true;
}

void stream_cg_delivered(const struct stream *s, struct stream_cg *g, const struct stream_id *id)
{
    if (stream_id_cmp(id, &g->last_id) <= 0) return;
    if (g->entries_read != STREAM_ENTRIES_READ_INVALID && !stream_range_has_tombstones(s, id, NULL))
        g->entries_read++;
    else if (s->entries_added)
        g->entries_read = stream_estimate_entries_read(s, id);
    g->last_id = *id;
}

/* ---------------------------------------------------------------------
 * The type's operations: free, copy, memory, digest, snapshot
 * ------------------------------------------------------------------- */

static void stream_free_raw(struct stream *s)
{
    for (size_t i = 0; i < s->n_blocks; i++) block_free(s->blocks[i]);
    free(s->blocks);
    for (size_t i = 0; i < s->n_groups; i++) cg_free(s->groups[i]);
    free(s->groups);
    free(s);
}

static void stream_free(struct sobj *o)
{
    stream_free_raw(o->ptr);
}

size_t stream_memory_bytes(const struct stream *s)
{
    size_t n = sizeof *s + s->cap_blocks * sizeof *s->blocks + s->cap_groups * sizeof *s->groups;
    for (size_t i = 0; i < s->n_blocks; i++) n += sizeof *s->blocks[i] + s->blocks[i]->cap;
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct stream_cg *g = s->groups[i];
        n += sizeof *g + g->name_len + idmap_memory(&g->pel) +
             idmap_size(&g->pel) * sizeof(struct stream_nack) +
             g->cap_consumers * sizeof *g->consumers;
        for (size_t j = 0; j < g->n_consumers; j++)
            n += sizeof *g->consumers[j] + g->consumers[j]->name_len + idmap_memory(&g->consumers[j]->pel);
    }
    return n;
}

static size_t stream_memory(const struct sobj *o)
{
    return stream_memory_bytes(o->ptr);
}

static void put_id(struct buf *out, const struct stream_id *id)
{
    buf_append_u64(out, id->ms);
    buf_append_u64(out, id->seq);
}

static int get_id(struct reader *r, struct stream_id *id)
{
    return reader_u64(r, &id->ms) || reader_u64(r, &id->seq);
}

static void put_str(struct buf *out, const char *p, size_t len)
{
    buf_append_u32(out, (uint32_t)len);
    buf_append(out, p, len);
}

/* Snapshot form: the stream's counters, its blocks as they are, then the
 * groups with their consumers and PEL (each nack naming its consumer by
 * index in the group's sorted consumer array). */
static void stream_encode(const struct sobj *o, struct buf *out)
{
    const struct stream *s = o->ptr;
    buf_append_u64(out, s->length);
    buf_append_u64(out, s->entries_added);
    put_id(out, &s->last_id);
    put_id(out, &s->first_id);
    put_id(out, &s->max_deleted_id);
    buf_append_u64(out, s->n_blocks);
    for (size_t i = 0; i < s->n_blocks; i++) {
        const struct stream_block *b = s->blocks[i];
        put_id(out, &b->first);
        put_id(out, &b->last);
        buf_append_u32(out, b->n_entries);
        buf_append_u32(out, b->n_live);
        put_str(out, (const char *)b->data, b->len);
    }
    buf_append_u32(out, (uint32_t)s->n_groups);
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct stream_cg *g = s->groups[i];
        put_str(out, g->name, g->name_len);
        put_id(out, &g->last_id);
        buf_append_u64(out, (uint64_t)g->entries_read);
        buf_append_u32(out, (uint32_t)g->n_consumers);
        for (size_t j = 0; j < g->n_consumers; j++) {
            const struct stream_consumer *c = g->consumers[j];
            put_str(out, c->name, c->name_len);
            buf_append_u64(out, (uint64_t)c->seen_time);
            buf_append_u64(out, (uint64_t)c->active_time);
        }
        buf_append_u64(out, idmap_size(&g->pel));
        for (struct idmap_node *n = idmap_first(&g->pel); n; n = idmap_next(n)) {
            const struct stream_nack *k = n->val;
            put_id(out, &n->id);
            buf_append_u64(out, (uint64_t)k->delivery_time);
            buf_append_u64(out, k->delivery_count);
            size_t at;
            SORTED_FIND(g->consumers, g->n_consumers, k->consumer->name, k->consumer->name_len, &at);
            buf_append_u32(out, (uint32_t)at);
        }
    }
}

/* A block from a snapshot must be one the log could have built: entries
 * that parse, increasing IDs within first..last, the counts it claims. */
static bool block_valid(struct stream_block *b, struct stream_id *prev, bool *any)
{
    struct raw_entry e;
    uint32_t off = 0, n = 0, live = 0;
    while (off < b->len) {
        if (!entry_at(b, off, &e) || (e.flags & ~(FLAG_DELETED | FLAG_SAMEFIELDS)) || e.n_strs == 0 ||
            e.n_strs % 2)
            return false;
        if (n == 0 && stream_id_cmp(&e.id, &b->first) != 0) return false;
        if (*any && stream_id_cmp(&e.id, prev) <= 0) return false;
        *prev = e.id;
        *any = true;
        b->lp_bytes += stored_lp_bytes(b, &e, n == 0);
        n++;
        if (!(e.flags & FLAG_DELETED)) live++;
        off = e.next;
    }
    return n > 0 && n == b->n_entries && live == b->n_live && live > 0 &&
           stream_id_cmp(prev, &b->last) == 0;
}

static struct sobj *stream_decode(struct reader *r, uint8_t encoding)
{
    if (encoding != ENC_STREAM) return NULL;
    struct stream *s = xcalloc(1, sizeof *s);
    uint64_t n_blocks, total = 0;
    struct stream_id prev = {0, 0};
    bool any = false;
    uint32_t n_groups;
    if (reader_u64(r, &s->length) || reader_u64(r, &s->entries_added) || get_id(r, &s->last_id) ||
        get_id(r, &s->first_id) || get_id(r, &s->max_deleted_id) || reader_u64(r, &n_blocks) ||
        n_blocks > reader_left(r))
        goto fail;
    s->blocks = xcalloc(n_blocks ? n_blocks : 1, sizeof *s->blocks);
    s->cap_blocks = n_blocks ? n_blocks : 1;
    for (uint64_t i = 0; i < n_blocks; i++) {
        struct stream_block *b = xcalloc(1, sizeof *b);
        s->blocks[s->n_blocks++] = b;
        uint32_t n_entries, n_live, len;
        const char *data;
        if (get_id(r, &b->first) || get_id(r, &b->last) || reader_u32(r, &n_entries) ||
            reader_u32(r, &n_live) || reader_u32(r, &len) || reader_bytes(r, len, &data) ||
            n_entries > STREAM_BLOCK_MAX_ENTRIES || len == 0)
            goto fail;
        b->n_entries = (uint16_t)n_entries;
        b->n_live = (uint16_t)n_live;
        b->data = xmemdup(data, len);
        b->len = b->cap = len;
        if (!block_valid(b, &prev, &any)) goto fail;
        total += n_live;
    }
    if (total != s->length || (any && stream_id_cmp(&prev, &s->last_id) > 0)) goto fail;
    struct stream_id first = first_live_id(s);
    if (stream_id_cmp(&first, &s->first_id) != 0) goto fail;
    if (reader_u32(r, &n_groups) || n_groups > reader_left(r)) goto fail;
    for (uint32_t i = 0; i < n_groups; i++) {
        uint32_t nlen, n_consumers;
        const char *name;
        struct stream_id last;
        uint64_t entries_read;
        if (reader_u32(r, &nlen) || reader_bytes(r, nlen, &name) || get_id(r, &last) ||
            reader_u64(r, &entries_read))
            goto fail;
        if (s->n_groups && name_cmp(s->groups[s->n_groups - 1]->name,
                                    s->groups[s->n_groups - 1]->name_len, name, nlen) >= 0)
            goto fail;
        struct stream_cg *g = stream_cg_create(s, name, nlen, &last, (int64_t)entries_read);
        if (g == NULL || reader_u32(r, &n_consumers) || n_consumers > reader_left(r)) goto fail;
        for (uint32_t j = 0; j < n_consumers; j++) {
            uint32_t clen;
            const char *cname;
            uint64_t seen, active;
            if (reader_u32(r, &clen) || reader_bytes(r, clen, &cname) || reader_u64(r, &seen) ||
                reader_u64(r, &active))
                goto fail;
            if (g->n_consumers && name_cmp(g->consumers[g->n_consumers - 1]->name,
                                           g->consumers[g->n_consumers - 1]->name_len, cname, clen) >= 0)
                goto fail;
            struct stream_consumer *c = stream_consumer_create(g, cname, clen, (int64_t)seen);
            if (c == NULL) goto fail;
            c->active_time = (int64_t)active;
        }
        uint64_t n_pel;
        if (reader_u64(r, &n_pel) || n_pel > reader_left(r)) goto fail;
        for (uint64_t j = 0; j < n_pel; j++) {
            struct stream_id id;
            uint64_t when, count;
            uint32_t ci;
            if (get_id(r, &id) || reader_u64(r, &when) || reader_u64(r, &count) || reader_u32(r, &ci) ||
                ci >= g->n_consumers || idmap_get(&g->pel, &id) != NULL)
                goto fail;
            struct stream_nack *k = stream_pel_add(g, g->consumers[ci], &id, (int64_t)when);
            k->delivery_count = count;
        }
    }
    return sobj_new(OBJ_STREAM, ENC_STREAM, s);
fail:
    stream_free_raw(s);
    return NULL;
}

static struct sobj *stream_dup(const struct sobj *o)
{
    struct buf b = BUF_INIT;
    stream_encode(o, &b);
    struct reader r;
    reader_init(&r, b.data, b.len);
    struct sobj *copy = stream_decode(&r, ENC_STREAM);
    assert(copy != NULL);
    buf_free(&b);
    return copy;
}

/* Everything replicated, in order: the snapshot form covers it. */
static uint64_t stream_digest(const struct sobj *o)
{
    struct buf b = BUF_INIT;
    stream_encode(o, &b);
    uint64_t h = hash_bytes_fixed(b.data, b.len, 0x5354524541ull);
    buf_free(&b);
    return h;
}

const struct sobj_ops stream_type_ops = {
    .free = stream_free,
    .dup = stream_dup,
    .memory = stream_memory,
    .digest = stream_digest,
    .encode = stream_encode,
    .decode = stream_decode,
};
