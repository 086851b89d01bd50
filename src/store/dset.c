/* store/dset.c — see dset.h. */
#include "store/dset.h"

#include <assert.h>
#include <stdlib.h>

#include "base/mem.h"

#define DSET_MIN_CAP 8

void dset_init(struct dset *s, void (*free_value)(struct dict_entry *e))
{
    dict_init(&s->d, free_value);
    s->items = NULL;
    s->n = s->cap = 0;
}

void dset_clear(struct dset *s)
{
    dict_clear(&s->d);
    free(s->items);
    s->items = NULL;
    s->n = s->cap = 0;
}

struct dset *dset_new(void (*free_value)(struct dict_entry *e))
{
    struct dset *s = xmalloc(sizeof *s);
    dset_init(s, free_value);
    return s;
}

void dset_free(struct dset *s)
{
    if (s == NULL) return;
    dset_clear(s);
    free(s);
}

static void reserve(struct dset *s, size_t cap)
{
    if (cap < DSET_MIN_CAP) cap = DSET_MIN_CAP;
    s->items = xrealloc(s->items, cap * sizeof *s->items);
    s->cap = cap;
}

void dset_presize(struct dset *s, size_t n)
{
    if (s->n != 0 || n <= s->cap) return;
    reserve(s, n);
    dict_presize(&s->d, n);
}

struct dset *dset_dup(const struct dset *s)
{
    struct dset *copy = dset_new(NULL);
    reserve(copy, s->n);
    for (size_t i = 0; i < s->n; i++) {
        bool added = dset_add(copy, s->items[i]->key, s->items[i]->klen);
        assert(added);
        (void)added;
    }
    return copy;
}

struct dict_entry *dset_find(struct dset *s, const char *m, size_t len)
{
    return dict_find(&s->d, m, len);
}

bool dset_contains(struct dset *s, const char *m, size_t len)
{
    return dict_find(&s->d, m, len) != NULL;
}

struct dict_entry *dset_upsert(struct dset *s, const char *m, size_t len, bool *created)
{
    struct dict_entry *e = dict_upsert(&s->d, m, len, created);
    if (!*created) return e;
    assert(s->n < UINT32_MAX);
    if (s->n == s->cap) reserve(s, s->cap * 2);
    e->slot = (uint32_t)s->n;
    s->items[s->n++] = e;
    return e;
}

bool dset_add(struct dset *s, const char *m, size_t len)
{
    bool created;
    dset_upsert(s, m, len, &created);
    return created;
}

/* Takes e out of the array: the last member fills its place. */
static void array_remove(struct dset *s, const struct dict_entry *e)
{
    size_t i = e->slot;
    assert(i < s->n && s->items[i] == e);
    struct dict_entry *last = s->items[--s->n];
    s->items[i] = last;
    last->slot = (uint32_t)i;
    if (s->cap > DSET_MIN_CAP && s->n * 4 < s->cap) reserve(s, s->cap / 2);
}

struct dict_entry *dset_unlink(struct dset *s, const char *m, size_t len)
{
    struct dict_entry *e = dict_unlink(&s->d, m, len);
    if (e == NULL) return NULL;
    array_remove(s, e);
    dict_maybe_shrink(&s->d);
    return e;
}

bool dset_remove(struct dset *s, const char *m, size_t len)
{
    struct dict_entry *e = dset_unlink(s, m, len);
    if (e == NULL) return false;
    dict_entry_free(&s->d, e);
    return true;
}

void dset_remove_at(struct dset *s, size_t i)
{
    assert(i < s->n);
    const struct dict_entry *e = s->items[i];
    bool removed = dset_remove(s, e->key, e->klen);
    assert(removed);
}

size_t dset_memory(const struct dset *s)
{
    size_t n = dict_overhead_bytes(&s->d) + s->cap * sizeof *s->items;
    for (size_t i = 0; i < s->n; i++) n += sizeof(struct dict_entry) + s->items[i]->klen + 1;
    return n;
}
