/* store/dict.c — see dict.h. */
#include "store/dict.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

#define DICT_MIN_SIZE 4
#define REHASH_STEP_BUCKETS 1
#define REHASH_EMPTY_VISITS 10

void dict_init(struct dict *d, void (*free_value)(struct dict_entry *e))
{
    memset(d, 0, sizeof *d);
    d->rehash_index = -1;
    d->free_value = free_value;
}

static bool rehashing(const struct dict *d) { return d->rehash_index >= 0; }

void dict_entry_free(struct dict *d, struct dict_entry *e)
{
    if (d->free_value) d->free_value(e);
    free(e);
}

static void table_clear(struct dict *d, struct dict_table *t)
{
    for (uint64_t i = 0; i < t->size; i++) {
        struct dict_entry *e = t->buckets[i];
        while (e) {
            struct dict_entry *next = e->next;
            dict_entry_free(d, e);
            e = next;
        }
    }
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

void dict_clear(struct dict *d)
{
    table_clear(d, &d->t[0]);
    table_clear(d, &d->t[1]);
    d->rehash_index = -1;
}

static void table_alloc(struct dict_table *t, uint64_t size)
{
    t->buckets = xcalloc(size, sizeof *t->buckets);
    t->size = size;
    t->used = 0;
}

/* Moves up to n non-empty buckets from t[0] to t[1]; finishes the rehash
 * when t[0] is drained. Bounded work: at most n*REHASH_EMPTY_VISITS empty
 * buckets are skipped per call. */
static void rehash_step(struct dict *d, int n)
{
    int empty_visits = n * REHASH_EMPTY_VISITS;
    struct dict_table *from = &d->t[0], *to = &d->t[1];
    while (n-- && from->used) {
        assert((uint64_t)d->rehash_index < from->size);
        while (from->buckets[d->rehash_index] == NULL) {
            d->rehash_index++;
            if (--empty_visits == 0) return;
        }
        struct dict_entry *e = from->buckets[d->rehash_index];
        while (e) {
            struct dict_entry *next = e->next;
            uint64_t h = hash_bytes(e->key, e->klen) & (to->size - 1);
            e->next = to->buckets[h];
            to->buckets[h] = e;
            from->used--;
            to->used++;
            e = next;
        }
        from->buckets[d->rehash_index++] = NULL;
    }
    if (from->used == 0) {
        free(from->buckets);
        *from = *to;
        memset(to, 0, sizeof *to);
        d->rehash_index = -1;
    }
}

static void start_resize(struct dict *d, uint64_t size)
{
    assert(!rehashing(d));
    if (size < DICT_MIN_SIZE) size = DICT_MIN_SIZE;
    uint64_t real = DICT_MIN_SIZE;
    while (real < size) real *= 2;
    if (real == d->t[0].size) return;
    if (d->t[0].size == 0) {
        table_alloc(&d->t[0], real);
        return;
    }
    table_alloc(&d->t[1], real);
    d->rehash_index = 0;
    if (d->t[0].used == 0) rehash_step(d, 1);
}

static void maybe_grow(struct dict *d)
{
    if (rehashing(d)) return;
    if (d->t[0].size == 0) {
        start_resize(d, DICT_MIN_SIZE);
    } else if (d->t[0].used >= d->t[0].size) {
        start_resize(d, d->t[0].used * 2);
    }
}

void dict_presize(struct dict *d, uint64_t n)
{
    if (dict_size(d) == 0 && !rehashing(d) && d->t[0].size == 0) start_resize(d, n);
}

void dict_maybe_shrink(struct dict *d)
{
    if (rehashing(d) || d->t[0].size <= DICT_MIN_SIZE) return;
    if (d->t[0].used * 10 < d->t[0].size) start_resize(d, d->t[0].used);
}

size_t dict_overhead_bytes(const struct dict *d)
{
    return (d->t[0].size + d->t[1].size) * sizeof(struct dict_entry *);
}

static struct dict_entry **find_ref(struct dict *d, const void *key, size_t klen, uint64_t h)
{
    for (int t = 0; t <= 1; t++) {
        struct dict_table *table = &d->t[t];
        if (table->size == 0) continue;
        struct dict_entry **ref = &table->buckets[h & (table->size - 1)];
        for (; *ref; ref = &(*ref)->next) {
            struct dict_entry *e = *ref;
            if (e->klen == klen && memcmp(e->key, key, klen) == 0) return ref;
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

struct dict_entry *dict_find(struct dict *d, const void *key, size_t klen)
{
    if (dict_size(d) == 0) return NULL;
    if (rehashing(d)) rehash_step(d, REHASH_STEP_BUCKETS);
    struct dict_entry **ref = find_ref(d, key, klen, hash_bytes(key, klen));
    return ref ? *ref : NULL;
}

struct dict_entry *dict_upsert(struct dict *d, const void *key, size_t klen, bool *created)
{
    assert(klen <= UINT32_MAX);
    if (rehashing(d)) rehash_step(d, REHASH_STEP_BUCKETS);
    uint64_t h = hash_bytes(key, klen);
    struct dict_entry **ref = dict_size(d) ? find_ref(d, key, klen, h) : NULL;
    if (ref) {
        *created = false;
        return *ref;
    }
    maybe_grow(d);
    struct dict_table *t = rehashing(d) ? &d->t[1] : &d->t[0];
    struct dict_entry *e = xmalloc(sizeof *e + klen + 1);
    memset(e, 0, sizeof *e);
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    uint64_t b = h & (t->size - 1);
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->used++;
    *created = true;
    return e;
}

struct dict_entry *dict_unlink(struct dict *d, const void *key, size_t klen)
{
    if (dict_size(d) == 0) return NULL;
    if (rehashing(d)) rehash_step(d, REHASH_STEP_BUCKETS);
    uint64_t h = hash_bytes(key, klen);
    for (int t = 0; t <= 1; t++) {
        struct dict_table *table = &d->t[t];
        if (table->size == 0) continue;
        struct dict_entry **ref = &table->buckets[h & (table->size - 1)];
        for (; *ref; ref = &(*ref)->next) {
            struct dict_entry *e = *ref;
            if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
                *ref = e->next;
                table->used--;
                e->next = NULL;
                return e;
            }
        }
        if (!rehashing(d)) break;
    }
    return NULL;
}

bool dict_delete(struct dict *d, const void *key, size_t klen)
{
    struct dict_entry *e = dict_unlink(d, key, klen);
    if (e == NULL) return false;
    dict_entry_free(d, e);
    return true;
}

struct dict_entry *dict_random(struct dict *d, uint64_t *rng)
{
    if (dict_size(d) == 0) return NULL;
    if (rehashing(d)) rehash_step(d, REHASH_STEP_BUCKETS);
    struct dict_entry *e = NULL;
    /* Pick a random non-empty bucket (buckets below rehash_index in t[0]
     * are empty while rehashing), then a random element of its chain. */
    while (e == NULL) {
        if (rehashing(d)) {
            uint64_t lo = (uint64_t)d->rehash_index;
            uint64_t span = d->t[0].size + d->t[1].size - lo;
            uint64_t i = lo + dict_rand64(rng) % span;
            e = i >= d->t[0].size ? d->t[1].buckets[i - d->t[0].size] : d->t[0].buckets[i];
        } else {
            e = d->t[0].buckets[dict_rand64(rng) & (d->t[0].size - 1)];
        }
    }
    uint64_t len = 0;
    for (struct dict_entry *x = e; x; x = x->next) len++;
    uint64_t pick = dict_rand64(rng) % len;
    while (pick--) e = e->next;
    return e;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    v = ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
    v = ((v >> 16) & 0x0000ffff0000ffffull) | ((v & 0x0000ffff0000ffffull) << 16);
    return (v >> 32) | (v << 32);
}

static void visit_bucket(struct dict_entry *e, dict_scan_fn *fn, void *ctx)
{
    while (e) {
        struct dict_entry *next = e->next;
        fn(ctx, e);
        e = next;
    }
}

/* The cursor is incremented in reverse-bit order, so that after the table
 * grows or shrinks the buckets already visited map onto buckets the cursor
 * has passed (see Redis's dictScan for the full argument). While rehashing,
 * visit the bucket in the smaller table and every bucket of the larger table
 * that it expands to. */
uint64_t dict_scan(struct dict *d, uint64_t cursor, dict_scan_fn *fn, void *ctx)
{
    if (dict_size(d) == 0) return 0;
    if (!rehashing(d)) {
        struct dict_table *t = &d->t[0];
        uint64_t mask = t->size - 1;
        visit_bucket(t->buckets[cursor & mask], fn, ctx);
        cursor |= ~mask;
        cursor = rev64(cursor);
        cursor++;
        return rev64(cursor);
    }
    struct dict_table *small = &d->t[0], *large = &d->t[1];
    if (small->size > large->size) {
        struct dict_table *tmp = small;
        small = large;
        large = tmp;
    }
    uint64_t m0 = small->size - 1, m1 = large->size - 1;
    visit_bucket(small->buckets[cursor & m0], fn, ctx);
    do {
        visit_bucket(large->buckets[cursor & m1], fn, ctx);
        cursor |= ~m1;
        cursor = rev64(cursor);
        cursor++;
        cursor = rev64(cursor);
    } while (cursor & (m0 ^ m1));
    return cursor;
}

void dict_iter_init(struct dict_iter *it, struct dict *d)
{
    it->d = d;
    it->table = 0;
    it->bucket = 0;
    it->next = NULL;
}

struct dict_entry *dict_iter_next(struct dict_iter *it)
{
    while (it->next == NULL) {
        struct dict_table *t = &it->d->t[it->table];
        if (it->bucket >= t->size) {
            if (it->table == 1 || !rehashing(it->d)) return NULL;
            it->table = 1;
            it->bucket = 0;
            continue;
        }
        it->next = t->buckets[it->bucket++];
    }
    struct dict_entry *e = it->next;
    it->next = e->next;
    return e;
}
