/* cmds/rdb_stream.c — a stream in Redis's serialization, for DUMP and
 * RESTORE (cmds/dump.c): written as Redis 7.0 writes it (RDB type 19,
 * STREAM_LISTPACKS_2), read from that and from the type 15
 * (STREAM_LISTPACKS) of Redis 5 and 6.
 *
 * Redis keeps a stream as a radix tree of listpacks, each under the ID of
 * its first entry (16 bytes, big-endian ms and seq) and beginning with a
 * "master entry": live count, deleted count, number of fields, the fields,
 * and a 0. Each entry follows as flags (1 deleted, 2 same fields as the
 * master), the ms and seq differences from the master ID, then either its
 * values (same fields) or its number of fields and fields and values, and
 * last the number of listpack elements it took. Parley's blocks
 * (store/stream.h) are those listpacks' entries in Parley's own encoding,
 * one block per listpack, so a stream keeps its boundaries both ways.
 * After the listpacks: length, last ID, first ID, largest deleted ID and
 * entries added (type 19 only), then the consumer groups: name, last
 * delivered ID, entries read (type 19 only), the group's pending entries
 * (raw ID, delivery time, delivery count) and its consumers (name, seen
 * time, the raw IDs of their pending entries).
 *
 * Reading is total and strict: a payload that does not describe a stream
 * Parley could hold (IDs out of order, counts that lie, a pending entry
 * without its consumer or in two) is refused; nothing is allocated beyond
 * what the payload's bytes hold. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/rdb.h"
#include "store/stream.h"

#define FLAG_DELETED 1
#define FLAG_SAMEFIELDS 2

/* ---------------------------------------------------------------------
 * Writing (DUMP)
 * ------------------------------------------------------------------- */

static void put_raw_id(struct buf *b, const struct stream_id *id)
{
    unsigned char t[16];
    for (int i = 0; i < 8; i++) {
        t[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        t[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
    buf_append(b, t, 16);
}

static void put_ms(struct buf *b, int64_t ms)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++) t[i] = (unsigned char)((uint64_t)ms >> (8 * i));
    buf_append(b, t, 8);
}

static void put_id(struct buf *b, const struct stream_id *id)
{
    rdb_put_len(b, id->ms);
    rdb_put_len(b, id->seq);
}

/* One block as Redis's listpack: the master entry from the block's first
 * entry's fields, then every entry (deleted ones too). */
static void put_block(struct buf *out, const struct stream_block *b)
{
    struct rdb_lp_writer w;
    struct stream_entry e;
    const char *p;
    size_t len;
    bool deleted;
    uint32_t off = 0;
    rdb_lp_begin(&w);
    rdb_lp_int(&w, b->n_live);
    rdb_lp_int(&w, (long long)b->n_entries - b->n_live);
    if (stream_block_next(b, &off, &e, &deleted)) {
        rdb_lp_int(&w, (long long)(e.n_strs / 2));
        for (uint64_t i = 0; stream_entry_next_str(&e, &p, &len); i++)
            if (i % 2 == 0) rdb_lp_str(&w, p, len);
    }
    rdb_lp_int(&w, 0);
    off = 0;
    for (bool first = true; stream_block_next(b, &off, &e, &deleted); first = false) {
        bool same = first || e.same;
        long long pairs = (long long)(e.n_strs / 2);
        rdb_lp_int(&w, (deleted ? FLAG_DELETED : 0) | (same ? FLAG_SAMEFIELDS : 0));
        rdb_lp_int(&w, (long long)(e.id.ms - b->first.ms));
        rdb_lp_int(&w, (long long)(e.id.seq - b->first.seq));
        if (!same) rdb_lp_int(&w, pairs);
        for (uint64_t i = 0; stream_entry_next_str(&e, &p, &len); i++)
            if (!same || i % 2 == 1) rdb_lp_str(&w, p, len);
        rdb_lp_int(&w, same ? pairs + 3 : pairs * 2 + 4);
    }
    rdb_lp_end(&w, out);
}

void rdb_stream_write(const struct stream *s, struct buf *b)
{
    unsigned char type = RDB_TYPE_STREAM_LISTPACKS_2;
    buf_append(b, &type, 1);
    rdb_put_len(b, s->n_blocks);
    for (size_t i = 0; i < s->n_blocks; i++) {
        struct buf key = BUF_INIT;
        put_raw_id(&key, &s->blocks[i]->first);
        rdb_put_str(b, key.data, key.len);
        buf_free(&key);
        put_block(b, s->blocks[i]);
    }
    rdb_put_len(b, s->length);
    put_id(b, &s->last_id);
    put_id(b, &s->first_id);
    put_id(b, &s->max_deleted_id);
    rdb_put_len(b, s->entries_added);
    rdb_put_len(b, s->n_groups);
    for (size_t i = 0; i < s->n_groups; i++) {
        const struct stream_cg *g = s->groups[i];
        rdb_put_str(b, g->name, g->name_len);
        put_id(b, &g->last_id);
        rdb_put_len(b, (uint64_t)g->entries_read); /* -1: 2^64 - 1, as Redis */
        rdb_put_len(b, idmap_size(&g->pel));
        for (struct idmap_node *n = idmap_first(&g->pel); n; n = idmap_next(n)) {
            const struct stream_nack *k = n->val;
            put_raw_id(b, &n->id);
            put_ms(b, k->delivery_time);
            rdb_put_len(b, k->delivery_count);
        }
        rdb_put_len(b, g->n_consumers);
        for (size_t j = 0; j < g->n_consumers; j++) {
            const struct stream_consumer *c = g->consumers[j];
            rdb_put_str(b, c->name, c->name_len);
            put_ms(b, c->seen_time);
            rdb_put_len(b, idmap_size(&c->pel));
            for (struct idmap_node *n = idmap_first(&c->pel); n; n = idmap_next(n))
                put_raw_id(b, &n->id);
        }
    }
}

/* ---------------------------------------------------------------------
 * Reading (RESTORE)
 * ------------------------------------------------------------------- */

static bool get_raw_id(struct rdb_reader *r, struct stream_id *id)
{
    const unsigned char *p;
    if (!rdb_get_bytes(r, 16, &p)) return false;
    id->ms = id->seq = 0;
    for (int i = 0; i < 8; i++) {
        id->ms = (id->ms << 8) | p[i];
        id->seq = (id->seq << 8) | p[8 + i];
    }
    return true;
}

static bool get_ms(struct rdb_reader *r, int64_t *ms)
{
    const unsigned char *p;
    if (!rdb_get_bytes(r, 8, &p)) return false;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = (u << 8) | p[i];
    *ms = (int64_t)u;
    return true;
}

static bool get_id(struct rdb_reader *r, struct stream_id *id)
{
    return rdb_get_count(r, &id->ms) && rdb_get_count(r, &id->seq);
}

/* Strings read from a listpack, copied (integers formatted) into one
 * buffer. */
struct strlist {
    struct buf text;
    size_t *off, *len;
    size_t n, cap;
};

static void sl_add(struct strlist *l, const struct rdb_elem *e)
{
    char num[24];
    const char *p;
    size_t len;
    rdb_elem_text(e, num, &p, &len);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->off = xrealloc(l->off, l->cap * sizeof *l->off);
        l->len = xrealloc(l->len, l->cap * sizeof *l->len);
    }
    l->off[l->n] = l->text.len;
    l->len[l->n++] = len;
    buf_append(&l->text, p, len);
}

static struct stream_str sl_at(const struct strlist *l, size_t i)
{
    return (struct stream_str){l->text.data ? l->text.data + l->off[i] : "", l->len[i]};
}

static void sl_free(struct strlist *l)
{
    buf_free(&l->text);
    free(l->off);
    free(l->len);
}

/* The next element as an integer in [lo, hi]. */
static bool lp_int_in(struct rdb_lp_reader *it, long long lo, long long hi, long long *v)
{
    struct rdb_elem e;
    return rdb_lp_next(it, &e) == 1 && rdb_elem_int(&e, v) && *v >= lo && *v <= hi;
}

/* n string elements into l. */
static bool lp_strings(struct rdb_lp_reader *it, long long n, struct strlist *l)
{
    struct rdb_elem e;
    for (long long i = 0; i < n; i++) {
        if (rdb_lp_next(it, &e) != 1) return false;
        sl_add(l, &e);
    }
    return true;
}

/* One of Redis's listpacks under master ID: its entries into the stream. */
static bool load_listpack(struct stream_load *l, const struct stream_id *master,
                          const unsigned char *lp, size_t size)
{
    struct rdb_lp_reader it;
    struct strlist fields = {.text = BUF_INIT}, vals = {.text = BUF_INIT};
    struct stream_str *strs = NULL;
    long long live, dead, n_fields, zero;
    long long seen_live = 0, seen_dead = 0;
    bool ok = rdb_lp_open(&it, lp, size) && lp_int_in(&it, 0, LLONG_MAX, &live) &&
              lp_int_in(&it, 0, LLONG_MAX, &dead) && lp_int_in(&it, 1, (long long)size, &n_fields) &&
              lp_strings(&it, n_fields, &fields) && lp_int_in(&it, 0, 0, &zero);
    for (bool first = true; ok; first = false) {
        struct rdb_elem e;
        int rc = rdb_lp_next(&it, &e);
        if (rc == 0) break;
        long long flags, dms, dseq, pairs, count;
        ok = rc == 1 && rdb_elem_int(&e, &flags) && flags >= 0 &&
             !(flags & ~(FLAG_DELETED | FLAG_SAMEFIELDS)) && lp_int_in(&it, LLONG_MIN, LLONG_MAX, &dms) &&
             lp_int_in(&it, LLONG_MIN, LLONG_MAX, &dseq);
        if (!ok) break;
        bool same = flags & FLAG_SAMEFIELDS;
        vals.n = 0;
        buf_clear(&vals.text);
        if (same) pairs = n_fields;
        else ok = lp_int_in(&it, 1, (long long)size, &pairs);
        ok = ok && lp_strings(&it, same ? pairs : pairs * 2, &vals) &&
             lp_int_in(&it, 0, LLONG_MAX, &count) && count == (same ? pairs + 3 : pairs * 2 + 4);
        if (!ok) break;
        strs = xrealloc(strs, (size_t)pairs * 2 * sizeof *strs);
        for (long long i = 0; i < pairs; i++) {
            strs[2 * i] = same ? sl_at(&fields, (size_t)i) : sl_at(&vals, (size_t)(2 * i));
            strs[2 * i + 1] = same ? sl_at(&vals, (size_t)i) : sl_at(&vals, (size_t)(2 * i + 1));
        }
        struct stream_id id = {master->ms + (uint64_t)dms, master->seq + (uint64_t)dseq};
        bool deleted = flags & FLAG_DELETED;
        ok = stream_load_entry(l, first, &id, deleted, (size_t)pairs * 2, strs);
        if (deleted) seen_dead++;
        else seen_live++;
    }
    ok = ok && seen_live == live && seen_dead == dead && live + dead > 0;
    free(strs);
    sl_free(&fields);
    sl_free(&vals);
    return ok;
}

/* Pending entries of a group waiting for their consumer. */
struct pending {
    int64_t delivery_time;
    uint64_t delivery_count;
};

static void pending_clear(struct idmap *m)
{
    idmap_clear(m, free);
    free(m->head);
}

static bool load_group(struct rdb_reader *r, int type, struct stream *s)
{
    struct buf name = BUF_INIT, cname = BUF_INIT;
    struct stream_id last;
    uint64_t entries_read, n_pel, n_consumers;
    struct idmap pel;
    idmap_init(&pel);
    bool ok = rdb_get_blob(r, &name) && get_id(r, &last);
    if (ok && type == RDB_TYPE_STREAM_LISTPACKS_2) {
        ok = rdb_get_count(r, &entries_read) &&
             (entries_read <= INT64_MAX || entries_read == (uint64_t)STREAM_ENTRIES_READ_INVALID);
    } else if (ok) {
        entries_read = (uint64_t)stream_estimate_entries_read(s, &last);
    }
    struct stream_cg *g = ok ? stream_cg_create(s, name.data ? name.data : "", name.len, &last,
                                                (int64_t)entries_read)
                             : NULL;
    ok = g != NULL && rdb_get_count(r, &n_pel);
    for (uint64_t i = 0; ok && i < n_pel; i++) {
        struct stream_id id;
        struct pending *k = xcalloc(1, sizeof *k);
        ok = get_raw_id(r, &id) && get_ms(r, &k->delivery_time) &&
             rdb_get_count(r, &k->delivery_count) && idmap_insert(&pel, &id, k);
        if (!ok) free(k);
    }
    ok = ok && rdb_get_count(r, &n_consumers);
    for (uint64_t i = 0; ok && i < n_consumers; i++) {
        int64_t seen;
        uint64_t n_ids;
        ok = rdb_get_blob(r, &cname) && get_ms(r, &seen);
        struct stream_consumer *c =
            ok ? stream_consumer_create(g, cname.data ? cname.data : "", cname.len, seen) : NULL;
        ok = c != NULL && rdb_get_count(r, &n_ids);
        for (uint64_t j = 0; ok && j < n_ids; j++) {
            struct stream_id id;
            ok = get_raw_id(r, &id);
            struct pending *k = ok ? idmap_remove(&pel, &id) : NULL;
            ok = k != NULL; /* in the group's PEL, and in no other consumer's */
            if (!ok) break;
            struct stream_nack *nack = stream_pel_add(g, c, &id, k->delivery_time);
            nack->delivery_count = k->delivery_count;
            free(k);
        }
    }
    ok = ok && idmap_size(&pel) == 0; /* every pending entry has its consumer */
    pending_clear(&pel);
    buf_free(&name);
    buf_free(&cname);
    return ok;
}

struct sobj *rdb_stream_read(int type, struct rdb_reader *r)
{
    struct sobj *o = stream_new();
    struct stream *s = stream_of(o);
    struct stream_load l = {.s = s};
    struct buf key = BUF_INIT, lp = BUF_INIT;
    uint64_t n_lists, length, n_groups;
    bool ok = rdb_get_count(r, &n_lists);
    for (uint64_t i = 0; ok && i < n_lists; i++) {
        struct stream_id master;
        ok = rdb_get_blob(r, &key) && key.len == 16;
        if (!ok) break;
        struct rdb_reader kr = {(const unsigned char *)key.data, (const unsigned char *)key.data + 16, 0};
        ok = get_raw_id(&kr, &master) && rdb_get_blob(r, &lp) &&
             load_listpack(&l, &master, (const unsigned char *)lp.data, lp.len);
    }
    if (ok) stream_load_finish(&l);
    ok = ok && rdb_get_count(r, &length) && length == s->length && get_id(r, &s->last_id) &&
         (l.entries == 0 || stream_id_cmp(&l.last, &s->last_id) <= 0);
    if (ok && type == RDB_TYPE_STREAM_LISTPACKS_2) {
        struct stream_id first; /* Parley's is the first live entry's, set above */
        ok = get_id(r, &first) && get_id(r, &s->max_deleted_id) && rdb_get_count(r, &s->entries_added);
    } else if (ok) {
        s->entries_added = s->length;
    }
    ok = ok && rdb_get_count(r, &n_groups);
    for (uint64_t i = 0; ok && i < n_groups; i++) ok = load_group(r, type, s);
    buf_free(&key);
    buf_free(&lp);
    if (!ok) {
        sobj_free(o);
        return NULL;
    }
    return o;
}
