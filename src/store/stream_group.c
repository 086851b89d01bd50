/* store/stream_group.c — consumer groups, their consumers and pending
 * entries lists, and Redis 7.0's lag bookkeeping (stream.h). */
#include "store/stream.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/stream_internal.h"

/* ---------------------------------------------------------------------
 * Consumer groups, consumers, PELs
 * ------------------------------------------------------------------- */

int stream_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}


struct stream_cg *stream_cg_find(const struct stream *s, const char *name, size_t len)
{
    size_t at;
    SORTED_FIND(s->groups, s->n_groups, name, len, &at);
    if (at < s->n_groups && stream_name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) == 0)
        return s->groups[at];
    return NULL;
}

struct stream_cg *stream_cg_create(struct stream *s, const char *name, size_t len,
                                   const struct stream_id *last_id, int64_t entries_read)
{
    size_t at;
    SORTED_FIND(s->groups, s->n_groups, name, len, &at);
    if (at < s->n_groups && stream_name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) == 0)
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

void stream_cg_free(struct stream_cg *g)
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
    if (at >= s->n_groups || stream_name_cmp(s->groups[at]->name, s->groups[at]->name_len, name, len) != 0)
        return false;
    stream_cg_free(s->groups[at]);
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
        stream_name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) == 0)
        return g->consumers[at];
    return NULL;
}

struct stream_consumer *stream_consumer_create(struct stream_cg *g, const char *name, size_t len,
                                               int64_t now_ms)
{
    size_t at;
    SORTED_FIND(g->consumers, g->n_consumers, name, len, &at);
    if (at < g->n_consumers &&
        stream_name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) == 0)
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
        stream_name_cmp(g->consumers[at]->name, g->consumers[at]->name_len, name, len) != 0)
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

