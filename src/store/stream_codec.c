/* store/stream_codec.c — the stream type's operations (object.h's
 * sobj_ops): free, memory, snapshot encode and decode (with the checks
 * that refuse bytes the log could not have produced), copy and digest. */
#include "store/stream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "store/stream_internal.h"

/* ---------------------------------------------------------------------
 * The type's operations: free, copy, memory, digest, snapshot
 * ------------------------------------------------------------------- */

static void stream_free_raw(struct stream *s)
{
    for (size_t i = 0; i < s->n_blocks; i++) stream_block_free(s->blocks[i]);
    free(s->blocks);
    for (size_t i = 0; i < s->n_groups; i++) stream_cg_free(s->groups[i]);
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
        if (!stream_entry_at(b, off, &e) || (e.flags & ~(FLAG_DELETED | FLAG_SAMEFIELDS)) || e.n_strs == 0 ||
            e.n_strs % 2)
            return false;
        if (n == 0 && stream_id_cmp(&e.id, &b->first) != 0) return false;
        if (*any && stream_id_cmp(&e.id, prev) <= 0) return false;
        *prev = e.id;
        *any = true;
        b->lp_bytes += stream_stored_lp_bytes(b, &e, n == 0);
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
            n_entries > STREAM_BLOCK_ENTRIES_CAP || len == 0)
            goto fail;
        b->n_entries = (uint16_t)n_entries;
        b->n_live = (uint16_t)n_live;
        b->data = xmemdup(data, len);
        b->len = b->cap = len;
        if (!block_valid(b, &prev, &any)) goto fail;
        total += n_live;
    }
    if (total != s->length || (any && stream_id_cmp(&prev, &s->last_id) > 0)) goto fail;
    struct stream_id first = stream_first_live_id(s);
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
        if (s->n_groups && stream_name_cmp(s->groups[s->n_groups - 1]->name,
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
            if (g->n_consumers && stream_name_cmp(g->consumers[g->n_consumers - 1]->name,
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
