/* store/stream.c — the stream type's blocks and entries: appending,
 * deleting, trimming and walking them, and loading another's blocks as
 * they were (RESTORE of Redis's form, stream.h). Groups are in
 * stream_group.c, the type's operations (snapshot...) in stream_codec.c. */
#include "store/stream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/encoding.h"
#include "store/stream_internal.h"

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
bool stream_entry_at(const struct stream_block *b, uint32_t off, struct raw_entry *e)
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
void stream_entry_view(const struct stream_block *b, const struct raw_entry *e,
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
        stream_entry_at(b, 0, &m);
        out->mp = m.body;
        out->mend = b->data + m.next;
    }
}

/* What the entry at e adds to Redis's listpack (the master entry too, for
 * the block's first entry): lp_master_bytes and lp_entry_bytes from the
 * stored entry. */
size_t stream_stored_lp_bytes(const struct stream_block *b, const struct raw_entry *e, bool first)
{
    struct stream_entry x;
    stream_entry_view(b, e, &x);
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

void stream_block_free(struct stream_block *b)
{
    if (b == NULL) return;
    free(b->data);
    free(b);
}

static void remove_block(struct stream *s, size_t i)
{
    stream_block_free(s->blocks[i]);
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
struct stream_id stream_first_live_id(const struct stream *s)
{
    for (size_t i = 0; i < s->n_blocks; i++) {
        const struct stream_block *b = s->blocks[i];
        struct raw_entry e;
        for (uint32_t off = 0; off < b->len && stream_entry_at(b, off, &e); off = e.next)
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

/* Whether the tail block b takes no more entries, by Redis 7.0's
 * streamAppendItem: its listpack bytes plus the new entry's strings reach
 * stream-node-max-bytes, or its entries (live and deleted) reach
 * stream-node-max-entries; 0 is no limit (up to the caps, stream.h). */
static bool block_full(const struct stream_block *b, size_t strings)
{
    const struct store_encoding *enc = store_enc();
    long long max_bytes = enc->stream_node_max_bytes;
    if (max_bytes == 0 || max_bytes > STREAM_BLOCK_BYTES_CAP) max_bytes = STREAM_BLOCK_BYTES_CAP;
    if (b->lp_bytes + strings >= (size_t)max_bytes) return true;
    long long max_entries = enc->stream_node_max_entries;
    if (max_entries == 0 || max_entries > STREAM_BLOCK_ENTRIES_CAP) max_entries = STREAM_BLOCK_ENTRIES_CAP;
    return b->n_entries >= max_entries;
}

/* Writes an entry at the end of block b (only its values if same), and
 * counts it in the block's entries and Redis listpack bytes. */
static void block_put(struct stream_block *b, const struct stream_id *id, bool same, size_t n,
                      const struct stream_str *strs)
{
    size_t need = 1 + varint_len(UINT64_MAX) + varint_len(id->seq) + varint_len(n);
    for (size_t i = 0; i < n; i++) need += varint_len(strs[i].len) + strs[i].len;
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
}

/* A new block at the end of the stream, first at id. */
static struct stream_block *block_add(struct stream *s, const struct stream_id *id, size_t n,
                                      const struct stream_str *strs)
{
    struct stream_block *b = xcalloc(1, sizeof *b);
    b->first = *id;
    b->lp_bytes = lp_master_bytes(n, strs);
    if (s->n_blocks == s->cap_blocks) {
        s->cap_blocks = s->cap_blocks ? s->cap_blocks * 2 : 4;
        s->blocks = xrealloc(s->blocks, s->cap_blocks * sizeof *s->blocks);
    }
    s->blocks[s->n_blocks++] = b;
    return b;
}

void stream_append(struct stream *s, const struct stream_id *id, size_t n,
                   const struct stream_str *strs)
{
    assert(stream_id_cmp(id, &s->last_id) > 0);
    struct stream_block *b = s->n_blocks ? s->blocks[s->n_blocks - 1] : NULL;
    size_t strings = 0;
    for (size_t i = 0; i < n; i++) strings += strs[i].len;
    if (b && block_full(b, strings)) {
        /* The tail is full for good: give back what its buffer has spare. */
        b->data = xrealloc(b->data, b->len);
        b->cap = b->len;
        b = NULL;
    }
    bool same = b && same_fields(b, n, strs);
    if (b == NULL) b = block_add(s, id, n, strs);
    block_put(b, id, same, n, strs);
    s->length++;
    s->entries_added++;
    s->last_id = *id;
    if (s->length == 1) s->first_id = *id;
}

/* ---------------------------------------------------------------------
 * Loading another's blocks (RESTORE of Redis's form)
 * ------------------------------------------------------------------- */

/* Drops the tail block if it holds no live entry (a block always holds
 * one), giving back what its buffer has spare otherwise. */
static void load_close_tail(struct stream *s)
{
    if (s->n_blocks == 0) return;
    struct stream_block *b = s->blocks[s->n_blocks - 1];
    if (b->n_live == 0) {
        remove_block(s, s->n_blocks - 1);
        return;
    }
    b->data = xrealloc(b->data, b->len);
    b->cap = b->len;
}

bool stream_load_entry(struct stream_load *l, bool new_block, const struct stream_id *id,
                       bool deleted, size_t n, const struct stream_str *strs)
{
    struct stream *s = l->s;
    if (n == 0 || n % 2 || (l->entries && stream_id_cmp(id, &l->last) <= 0)) return false;
    struct stream_block *b = s->n_blocks ? s->blocks[s->n_blocks - 1] : NULL;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += strs[i].len + 10;
    if (b && (new_block || b->n_entries >= STREAM_BLOCK_ENTRIES_CAP ||
              b->len + bytes > STREAM_BLOCK_BYTES_CAP)) {
        load_close_tail(s);
        b = NULL;
    }
    if (bytes > STREAM_BLOCK_BYTES_CAP) return false;
    bool same = b && same_fields(b, n, strs);
    if (b == NULL) b = block_add(s, id, n, strs);
    uint32_t off = b->len;
    block_put(b, id, same, n, strs);
    if (deleted) {
        b->data[off] |= FLAG_DELETED;
        b->n_live--;
    } else {
        s->length++;
    }
    l->last = *id;
    l->entries++;
    return true;
}

void stream_load_finish(struct stream_load *l)
{
    struct stream *s = l->s;
    load_close_tail(s);
    s->first_id = stream_first_live_id(s);
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
    for (uint32_t o = 0; o < b->len && stream_entry_at(b, o, &e); o = e.next) {
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
    else if (stream_id_cmp(id, &s->first_id) == 0) s->first_id = stream_first_live_id(s);
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
        for (uint32_t off = 0; off < b->len && stream_entry_at(b, off, &e); off = e.next) {
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
    s->first_id = s->length ? stream_first_live_id(s) : (struct stream_id){0, 0};
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
    for (uint32_t off = 0; off < b->len && it->n_offs < STREAM_BLOCK_ENTRIES_CAP && stream_entry_at(b, off, &e);
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
            if (it->off >= b->len || !stream_entry_at(b, it->off, &e)) {
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
            if (!stream_entry_at(b, it->offs[it->pos--], &e)) continue;
            if (e.flags & FLAG_DELETED) continue;
            if (stream_id_cmp(&e.id, &it->end) > 0) continue;
            if (stream_id_cmp(&e.id, &it->start) < 0) {
                it->done = true;
                return false;
            }
        }
        stream_entry_view(b, &e, out);
        return true;
    }
    return false;
}


bool stream_block_next(const struct stream_block *b, uint32_t *off, struct stream_entry *e,
                       bool *deleted)
{
    struct raw_entry r;
    if (*off >= b->len || !stream_entry_at(b, *off, &r)) return false;
    stream_entry_view(b, &r, e);
    *deleted = (r.flags & FLAG_DELETED) != 0;
    *off = r.next;
    return true;
}
