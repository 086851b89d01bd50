/* tests/unit/test_stream.c — the stream type (store/stream.c) and its
 * ordered ID map (store/idmap.c).
 *
 * Entries: appends pack into blocks of at most 100 entries; forward and
 * reverse iteration over any range (across block edges, with deleted
 * entries skipped) return exactly the live entries in order; delete keeps
 * length and first_id right and frees an emptied block. Trimming: exact
 * MAXLEN and MINID remove exactly what they should, `~` only whole blocks,
 * LIMIT bounds the work, as Redis's streamTrim. Groups and consumers are
 * kept sorted by name; the PEL moves a nack between consumers and removes
 * it from both maps; lag follows Redis 7.0. The idmap against a sorted
 * reference under random insertions and removals. Snapshot: a stream with
 * deletions, groups, consumers and a PEL round-trips through
 * store_snapshot (same digest, same bytes when encoded again), and so does
 * sobj_dup; the decoder refuses every truncation and a corrupted block.
 * Loading (RESTORE of Redis's form): blocks begin where asked and at the
 * entry cap, a block left without a live entry is dropped, IDs must grow,
 * and what is loaded survives the snapshot form and appends go on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/keyspace.h"
#include "store/snapshot.h"
#include "store/stream.h"

static struct stream_id ID(uint64_t ms, uint64_t seq)
{
    return (struct stream_id){ms, seq};
}

static void add(struct stream *s, uint64_t ms, uint64_t seq, const char *f, const char *v)
{
    struct stream_str strs[2] = {{f, strlen(f)}, {v, strlen(v)}};
    struct stream_id id = ID(ms, seq);
    stream_append(s, &id, 2, strs);
}

/* The ms of every live entry in [start, end], in iteration order. */
static size_t collect(const struct stream *s, struct stream_id start, struct stream_id end, bool rev,
                      uint64_t *out, size_t cap)
{
    struct stream_it it;
    struct stream_entry e;
    size_t n = 0;
    stream_it_start(&it, s, &start, &end, rev);
    while (stream_it_next(&it, &e)) {
        assert_true(n < cap);
        out[n++] = e.id.ms;
    }
    return n;
}

static struct sobj *filled(uint64_t n)
{
    struct sobj *o = stream_new();
    char v[32];
    for (uint64_t i = 1; i <= n; i++) {
        snprintf(v, sizeof v, "value-%llu", (unsigned long long)i);
        add(stream_of(o), i, 0, "field", v);
    }
    return o;
}

static void test_append_blocks_and_iterate(void **state)
{
    (void)state;
    struct sobj *o = filled(250);
    struct stream *s = stream_of(o);
    assert_int_equal(s->length, 250);
    assert_int_equal(s->n_blocks, 3);
    assert_int_equal(s->blocks[0]->n_entries, 100);
    assert_int_equal(s->entries_added, 250);
    assert_true(stream_id_cmp(&s->first_id, &(struct stream_id){1, 0}) == 0);
    assert_true(stream_id_cmp(&s->last_id, &(struct stream_id){250, 0}) == 0);
    uint64_t got[300];
    size_t n = collect(s, ID(0, 0), ID(UINT64_MAX, UINT64_MAX), false, got, 300);
    assert_int_equal(n, 250);
    for (size_t i = 0; i < n; i++) assert_int_equal(got[i], i + 1);
    n = collect(s, ID(95, 0), ID(205, 0), true, got, 300);
    assert_int_equal(n, 111);
    assert_int_equal(got[0], 205);
    assert_int_equal(got[110], 95);
    n = collect(s, ID(100, 1), ID(101, 0), false, got, 300);
    assert_int_equal(n, 1);
    assert_int_equal(got[0], 101);
    assert_int_equal(collect(s, ID(300, 0), ID(400, 0), false, got, 300), 0);
    assert_int_equal(collect(s, ID(5, 0), ID(4, 0), true, got, 300), 0);
    /* The strings of an entry. */
    struct stream_it it;
    struct stream_entry e;
    struct stream_id seven = ID(7, 0);
    stream_it_start(&it, s, &seven, &seven, false);
    assert_true(stream_it_next(&it, &e));
    const char *p;
    size_t len;
    assert_int_equal(e.n_strs, 2);
    assert_true(stream_entry_next_str(&e, &p, &len));
    assert_memory_equal(p, "field", 5);
    assert_true(stream_entry_next_str(&e, &p, &len));
    assert_int_equal(len, 7);
    assert_memory_equal(p, "value-7", 7);
    assert_false(stream_entry_next_str(&e, &p, &len));
    sobj_free(o);
}

/* Entries with the block's first fields store only their values; others
 * keep theirs; both read back the same. */
static void test_same_fields_compression(void **state)
{
    (void)state;
    struct sobj *o = stream_new();
    struct stream *s = stream_of(o);
    const char *fields[][4] = {{"a", "b", "c", "d"}, {"a", "b", "c", "d"}, {"a", "x", "z", "d"},
                               {"a", "b", NULL, NULL}, {"a", "b", "c", "d"}};
    char vals[5][2][16];
    for (int i = 0; i < 5; i++) {
        size_t n = fields[i][2] ? 4 : 2;
        for (size_t j = 0; j < n / 2; j++) snprintf(vals[i][j], sizeof vals[i][j], "v%d.%zu", i, j);
        /* Fields a and c (the table's even columns) with their values. */
        struct stream_str pairs[4] = {{fields[i][0], 1}, {vals[i][0], strlen(vals[i][0])}};
        if (n == 4) {
            pairs[2] = (struct stream_str){fields[i][2], 1};
            pairs[3] = (struct stream_str){vals[i][1], strlen(vals[i][1])};
        }
        struct stream_id id = ID((uint64_t)i + 1, 0);
        stream_append(s, &id, n, pairs);
    }
    assert_int_equal(s->blocks[0]->data[0] & 2, 0);
    struct stream_it it;
    struct stream_entry e;
    stream_it_start(&it, s, NULL, NULL, true);
    int i = 4;
    while (stream_it_next(&it, &e)) {
        const char *p;
        size_t len;
        size_t n = fields[i][2] ? 4 : 2;
        assert_int_equal(e.n_strs, n);
        for (size_t j = 0; j < n / 2; j++) {
            assert_true(stream_entry_next_str(&e, &p, &len));
            assert_int_equal(len, 1);
            assert_memory_equal(p, fields[i][2 * j], 1);
            assert_true(stream_entry_next_str(&e, &p, &len));
            assert_int_equal(len, strlen(vals[i][j]));
            assert_memory_equal(p, vals[i][j], len);
        }
        assert_false(stream_entry_next_str(&e, &p, &len));
        i--;
    }
    assert_int_equal(i, -1);
    sobj_free(o);
}

static void test_delete(void **state)
{
    (void)state;
    struct sobj *o = filled(150);
    struct stream *s = stream_of(o);
    struct stream_id id = ID(1, 0);
    assert_true(stream_delete(s, &id));
    assert_false(stream_delete(s, &id));
    assert_false(stream_entry_exists(s, &id));
    assert_true(stream_id_cmp(&s->first_id, &(struct stream_id){2, 0}) == 0);
    for (uint64_t i = 2; i <= 100; i++) {
        id = ID(i, 0);
        assert_true(stream_delete(s, &id));
    }
    assert_int_equal(s->n_blocks, 1); /* the emptied block is gone */
    assert_int_equal(s->length, 50);
    assert_true(stream_id_cmp(&s->first_id, &(struct stream_id){101, 0}) == 0);
    id = ID(120, 0);
    assert_true(stream_delete(s, &id));
    uint64_t got[200];
    size_t n = collect(s, ID(0, 0), ID(UINT64_MAX, UINT64_MAX), true, got, 200);
    assert_int_equal(n, 49);
    for (size_t i = 0; i < n; i++) assert_true(got[i] != 120);
    struct stream_id last = stream_last_valid_id(s);
    assert_int_equal(last.ms, 150);
    id = ID(150, 0);
    assert_true(stream_delete(s, &id));
    last = stream_last_valid_id(s);
    assert_int_equal(last.ms, 149);
    assert_int_equal(s->last_id.ms, 150); /* the last ID never goes back */
    sobj_free(o);
}

static void test_trim(void **state)
{
    (void)state;
    struct sobj *o = filled(350);
    struct stream *s = stream_of(o);
    /* ~ removes whole blocks only. */
    assert_int_equal(stream_trim_maxlen(s, 300, true, 10000), 0);
    assert_int_equal(stream_trim_maxlen(s, 240, true, 10000), 100);
    assert_int_equal(s->length, 250);
    /* LIMIT stops before a block that would pass it. */
    assert_int_equal(stream_trim_maxlen(s, 0, true, 99), 0);
    /* Exact trimming marks entries inside the first block. */
    assert_int_equal(stream_trim_maxlen(s, 245, false, 0), 5);
    assert_int_equal(s->length, 245);
    assert_int_equal(s->first_id.ms, 106);
    struct stream_id minid = ID(210, 0);
    assert_int_equal(stream_trim_minid(s, &minid, true, 10000), 95);
    assert_int_equal(s->first_id.ms, 201);
    assert_int_equal(stream_trim_minid(s, &minid, false, 0), 9);
    assert_int_equal(s->first_id.ms, 210);
    assert_int_equal(stream_trim_maxlen(s, 0, false, 0), 141);
    assert_int_equal(s->length, 0);
    assert_int_equal(s->n_blocks, 0);
    assert_true(stream_id_is_zero(&s->first_id));
    assert_int_equal(s->last_id.ms, 350);
    sobj_free(o);
}

static void test_groups_consumers_pel(void **state)
{
    (void)state;
    struct sobj *o = filled(10);
    struct stream *s = stream_of(o);
    struct stream_id zero = ID(0, 0);
    assert_non_null(stream_cg_create(s, "b", 1, &zero, STREAM_ENTRIES_READ_INVALID));
    assert_non_null(stream_cg_create(s, "a", 1, &zero, 0));
    assert_non_null(stream_cg_create(s, "ab", 2, &zero, 0));
    assert_null(stream_cg_create(s, "a", 1, &zero, 0));
    assert_int_equal(s->n_groups, 3);
    assert_memory_equal(s->groups[0]->name, "a", 1);
    assert_memory_equal(s->groups[1]->name, "ab", 2);
    struct stream_cg *g = stream_cg_find(s, "a", 1);
    struct stream_consumer *x = stream_consumer_create(g, "x", 1, 5);
    struct stream_consumer *y = stream_consumer_create(g, "y", 1, 5);
    assert_null(stream_consumer_create(g, "x", 1, 5));
    for (uint64_t i = 1; i <= 4; i++) {
        struct stream_id id = ID(i, 0);
        stream_cg_delivered(s, g, &id);
        stream_pel_add(g, x, &id, 100);
    }
    assert_int_equal(g->entries_read, 4);
    long long lag;
    assert_true(stream_cg_lag(s, g, &lag));
    assert_int_equal(lag, 6);
    struct stream_id two = ID(2, 0);
    struct stream_nack *n = idmap_get(&g->pel, &two);
    stream_nack_move(g, n, &two, y);
    assert_int_equal(idmap_size(&x->pel), 3);
    assert_int_equal(idmap_size(&y->pel), 1);
    assert_true(stream_pel_remove(g, &two));
    assert_false(stream_pel_remove(g, &two));
    assert_int_equal(idmap_size(&y->pel), 0);
    assert_int_equal(stream_consumer_delete(g, "x", 1), 3);
    assert_int_equal(idmap_size(&g->pel), 0);
    assert_int_equal(stream_consumer_delete(g, "x", 1), -1);
    /* A deletion after the group's last ID makes the lag unknown. */
    struct stream_id six = ID(6, 0);
    assert_true(stream_delete(s, &six));
    s->max_deleted_id = six;
    assert_false(stream_cg_lag(s, g, &lag));
    assert_true(stream_cg_destroy(s, "ab", 2));
    assert_false(stream_cg_destroy(s, "ab", 2));
    sobj_free(o);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_idmap_against_reference(void **state)
{
    (void)state;
    struct idmap m;
    idmap_init(&m);
    uint64_t ref[2000];
    size_t n = 0;
    uint64_t rng = 12345;
    for (int step = 0; step < 20000; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t k = (rng >> 33) % 3000;
        struct stream_id id = ID(k / 7, k % 7);
        bool present = idmap_get(&m, &id) != NULL;
        size_t at = 0;
        while (at < n && ref[at] != k) at++;
        assert_int_equal(present, at < n);
        if (!present && n < 2000) {
            assert_true(idmap_insert(&m, &id, (void *)(uintptr_t)(k + 1)));
            ref[n++] = k;
        } else if (present) {
            assert_ptr_equal(idmap_remove(&m, &id), (void *)(uintptr_t)(k + 1));
            ref[at] = ref[--n];
        }
    }
    qsort(ref, n, sizeof *ref, cmp_u64);
    assert_int_equal(idmap_size(&m), n);
    size_t i = 0;
    for (struct idmap_node *x = idmap_first(&m); x; x = idmap_next(x), i++)
        assert_int_equal(x->id.ms * 7 + x->id.seq, ref[i]);
    assert_int_equal(i, n);
    i = n;
    for (struct idmap_node *x = idmap_last(&m); x; x = x->prev) assert_int_equal(x->id.ms * 7 + x->id.seq, ref[--i]);
    struct stream_id mid = ID(200, 0);
    struct idmap_node *x = idmap_seek(&m, &mid);
    assert_true(x == NULL || x->id.ms >= 200);
    idmap_clear(&m, NULL);
    free(m.head);
}

/* A stream with everything a snapshot must carry. */
static struct store *rich_store(void)
{
    struct store *st = store_new();
    struct sobj *o = filled(230);
    struct stream *s = stream_of(o);
    struct stream_id id = ID(50, 0);
    stream_delete(s, &id);
    s->max_deleted_id = id;
    stream_trim_maxlen(s, 200, false, 0);
    struct stream_id zero = ID(0, 0);
    struct stream_cg *g = stream_cg_create(s, "grp", 3, &zero, STREAM_ENTRIES_READ_INVALID);
    struct stream_consumer *a = stream_consumer_create(g, "alice", 5, 1000);
    struct stream_consumer *b = stream_consumer_create(g, "bob", 3, 1001);
    stream_consumer_create(g, "carol", 5, 1002);
    for (uint64_t i = 40; i < 60; i++) {
        id = ID(i, 0);
        stream_cg_delivered(s, g, &id);
        struct stream_nack *n = stream_pel_add(g, i % 2 ? a : b, &id, (int64_t)(2000 + i));
        n->delivery_count = i;
    }
    stream_cg_create(s, "empty", 5, &s->last_id, 7);
    store_set(st, 0, "s", 1, o, false);
    store_set(st, 3, "e", 1, stream_new(), false);
    return st;
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    struct store *st = rich_store();
    struct buf out = BUF_INIT, again = BUF_INIT;
    store_snapshot_encode(st, "aux", 3, &out);
    char err[128];
    const char *aux;
    size_t aux_len;
    char *copy = xmemdup(out.data, out.len);
    struct store *back = store_snapshot_decode(copy, out.len, &aux, &aux_len, err, sizeof err);
    assert_non_null(back);
    assert_int_equal(store_digest(back), store_digest(st));
    store_snapshot_encode(back, "aux", 3, &again);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    struct dict_entry *e = store_lookup(back, 0, "s", 1, 0, false);
    const struct stream *s = stream_of(store_value(e));
    assert_int_equal(s->length, 200);
    /* Where the next block starts depends on Redis's listpack size of the
     * last one: decoding recomputes it to the same value. */
    const struct stream *orig = stream_of(store_value(store_lookup(st, 0, "s", 1, 0, false)));
    assert_int_equal(s->n_blocks, orig->n_blocks);
    for (size_t i = 0; i < s->n_blocks; i++) {
        assert_int_equal(s->blocks[i]->lp_bytes, orig->blocks[i]->lp_bytes);
        assert_true(s->blocks[i]->lp_bytes > 7);
    }
    assert_int_equal(s->n_groups, 2);
    const struct stream_cg *g = stream_cg_find(s, "grp", 3);
    assert_int_equal(idmap_size(&g->pel), 20);
    assert_int_equal(idmap_size(&g->consumers[0]->pel), 10);
    /* dup (COPY) keeps everything too. */
    struct sobj *d = sobj_dup(store_value(e));
    struct buf x = BUF_INIT, y = BUF_INIT;
    sobj_type_of(OBJ_STREAM)->encode(d, &x);
    sobj_type_of(OBJ_STREAM)->encode(store_value(e), &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    sobj_free(d);
    buf_free(&x);
    buf_free(&y);
    store_free(back);
    free(copy);
    buf_free(&again);
    buf_free(&out);
    store_free(st);
}

static void test_decode_refuses_malformed(void **state)
{
    (void)state;
    struct store *st = rich_store();
    struct buf v = BUF_INIT;
    struct dict_entry *e = store_lookup(st, 0, "s", 1, 0, false);
    const struct sobj_ops *ops = sobj_type_of(OBJ_STREAM);
    ops->encode(store_value(e), &v);
    /* Every truncation. */
    for (size_t len = 0; len < v.len; len += (len < 400 ? 1 : 97)) {
        char *p = xmemdup(v.data, len ? len : 1);
        struct reader r;
        reader_init(&r, p, len);
        struct sobj *o = ops->decode(&r, ENC_STREAM);
        if (o) {
            /* Only a prefix that is itself a whole value may decode. */
            assert_true(reader_left(&r) == 0);
            sobj_free(o);
            assert_true(len == v.len);
        }
        free(p);
    }
    /* A flipped deleted flag in the first block: counts no longer match. */
    size_t first_block_data = 8 * 2 + 16 * 3 + 8 + 32 + 4 + 4 + 4;
    char *p = xmemdup(v.data, v.len);
    p[first_block_data] ^= 1;
    struct reader r;
    reader_init(&r, p, v.len);
    assert_null(ops->decode(&r, ENC_STREAM));
    free(p);
    reader_init(&r, v.data, v.len);
    assert_null(ops->decode(&r, ENC_RAW));
    buf_free(&v);
    store_free(st);
}

static void load(struct stream_load *l, bool new_block, uint64_t ms, bool deleted, bool expect)
{
    struct stream_str strs[2] = {{"f", 1}, {"v", 1}};
    struct stream_id id = ID(ms, 0);
    assert_int_equal(stream_load_entry(l, new_block, &id, deleted, 2, strs), expect);
}

static void test_load_blocks(void **state)
{
    (void)state;
    struct sobj *o = stream_new();
    struct stream *s = stream_of(o);
    struct stream_load l = {.s = s};
    load(&l, true, 1, true, true); /* a block of deleted entries only: dropped */
    load(&l, false, 2, true, true);
    load(&l, true, 3, true, true); /* a block beginning with a deleted entry */
    load(&l, false, 4, false, true);
    load(&l, false, 4, false, false); /* the same ID again */
    load(&l, false, 3, false, false); /* a smaller one */
    for (uint64_t ms = 10; ms < 10 + STREAM_BLOCK_ENTRIES_CAP + 5; ms++) load(&l, ms == 10, ms, false, true);
    struct stream_str odd[1] = {{"f", 1}};
    struct stream_id id = ID(5000, 0);
    assert_false(stream_load_entry(&l, false, &id, false, 1, odd));
    stream_load_finish(&l);
    assert_int_equal(s->n_blocks, 3); /* [3, 4], then the cap splits the third */
    assert_int_equal(s->blocks[0]->first.ms, 3);
    assert_int_equal(s->blocks[0]->n_entries, 2);
    assert_int_equal(s->blocks[0]->n_live, 1);
    assert_int_equal(s->blocks[1]->n_entries, STREAM_BLOCK_ENTRIES_CAP);
    assert_int_equal(s->blocks[2]->n_entries, 5);
    assert_int_equal(s->length, 1 + STREAM_BLOCK_ENTRIES_CAP + 5);
    assert_int_equal(s->first_id.ms, 4);
    s->last_id = l.last;
    s->entries_added = s->length;
    /* The snapshot form takes it as it is. */
    struct sobj *d = sobj_dup(o);
    struct buf x = BUF_INIT, y = BUF_INIT;
    sobj_type_of(OBJ_STREAM)->encode(d, &x);
    sobj_type_of(OBJ_STREAM)->encode(o, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.data, y.data, x.len);
    /* Every entry of a block, deleted ones too. */
    struct stream_entry e;
    bool deleted;
    uint32_t off = 0;
    assert_true(stream_block_next(s->blocks[0], &off, &e, &deleted));
    assert_true(deleted && e.id.ms == 3);
    assert_true(stream_block_next(s->blocks[0], &off, &e, &deleted));
    assert_true(!deleted && e.id.ms == 4);
    assert_false(stream_block_next(s->blocks[0], &off, &e, &deleted));
    add(s, 9000, 0, "f", "v");
    assert_int_equal(s->length, 2 + STREAM_BLOCK_ENTRIES_CAP + 5);
    sobj_free(d);
    sobj_free(o);
    buf_free(&x);
    buf_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_blocks_and_iterate),
        cmocka_unit_test(test_same_fields_compression),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_groups_consumers_pel),
        cmocka_unit_test(test_idmap_against_reference),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_decode_refuses_malformed),
        cmocka_unit_test(test_load_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
