/* store/pubsub.c — see pubsub.h. */
#include "store/pubsub.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static void free_subs(struct dict_entry *e)
{
    struct pubsub_subs *s = e->v.ptr;
    if (s) free(s->ids);
    free(s);
    e->v.ptr = NULL;
}

void pubsub_init(struct pubsub *ps)
{
    for (int k = 0; k < 3; k++) dict_init(&ps->names[k], free_subs);
    dict_init(&ps->clients, NULL);
    dict_init(&ps->origins, NULL);
}

void pubsub_clear(struct pubsub *ps)
{
    for (int k = 0; k < 3; k++) dict_clear(&ps->names[k]);
    dict_clear(&ps->clients);
    dict_clear(&ps->origins);
}

static void id_key(unsigned char out[16], struct pubsub_id id)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(id.origin >> (8 * i));
        out[8 + i] = (unsigned char)(id.client >> (8 * i));
    }
}

static bool same(struct pubsub_id a, struct pubsub_id b)
{
    return a.origin == b.origin && a.client == b.client;
}

/* Adjusts id's counters by delta; forgets the client at zero. */
static void count(struct pubsub *ps, struct pubsub_id id, enum pubsub_kind kind, int delta)
{
    unsigned char k[16];
    id_key(k, id);
    bool created;
    struct dict_entry *e = dict_upsert(&ps->clients, k, sizeof k, &created);
    if (kind == PUBSUB_SHARD) e->slot = (uint32_t)((int64_t)e->slot + delta);
    else e->aux += delta;
    if (e->aux == 0 && e->slot == 0) dict_delete(&ps->clients, k, sizeof k);
}

int pubsub_subscribe(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                     const char *name, size_t len)
{
    bool created;
    struct dict_entry *e = dict_upsert(&ps->names[kind], name, len, &created);
    struct pubsub_subs *s = e->v.ptr;
    if (s == NULL) s = e->v.ptr = xcalloc(1, sizeof *s);
    for (size_t i = 0; i < s->n; i++)
        if (same(s->ids[i], id)) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->ids = xrealloc(s->ids, s->cap * sizeof *s->ids);
    }
    s->ids[s->n++] = id;
    count(ps, id, kind, 1);
    return 1;
}

int pubsub_unsubscribe(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                       const char *name, size_t len)
{
    struct dict_entry *e = dict_find(&ps->names[kind], name, len);
    if (e == NULL) return 0;
    struct pubsub_subs *s = e->v.ptr;
    for (size_t i = 0; i < s->n; i++) {
        if (!same(s->ids[i], id)) continue;
        /* Keep subscription order: delivery order follows it. */
        memmove(&s->ids[i], &s->ids[i + 1], (s->n - i - 1) * sizeof *s->ids);
        s->n--;
        count(ps, id, kind, -1);
        if (s->n == 0) dict_delete(&ps->names[kind], name, len);
        return 1;
    }
    return 0;
}

void pubsub_unsubscribe_all(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                            void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    /* Collect first (unsubscribing changes the dict), in a deterministic
     * order: sorted by name. */
    struct buf names = BUF_INIT;
    size_t n = 0;
    struct dict_iter it;
    dict_iter_init(&it, &ps->names[kind]);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        struct pubsub_subs *s = e->v.ptr;
        for (size_t i = 0; i < s->n; i++) {
            if (!same(s->ids[i], id)) continue;
            buf_append_u32(&names, e->klen);
            buf_append(&names, e->key, e->klen);
            n++;
            break;
        }
    }
    const char **ptrs = xmalloc((n ? n : 1) * sizeof *ptrs);
    size_t *lens = xmalloc((n ? n : 1) * sizeof *lens);
    struct reader rd;
    reader_init(&rd, names.data, names.len);
    for (size_t i = 0; i < n; i++) {
        uint32_t len;
        reader_u32(&rd, &len);
        reader_bytes(&rd, len, &ptrs[i]);
        lens[i] = len;
    }
    /* Insertion sort by name: unsubscribe-all replies list names in an
     * order every node agrees on. */
    for (size_t i = 1; i < n; i++) {
        const char *p = ptrs[i];
        size_t l = lens[i], j = i;
        while (j > 0) {
            size_t m = l < lens[j - 1] ? l : lens[j - 1];
            int c = memcmp(ptrs[j - 1], p, m);
            if (c < 0 || (c == 0 && lens[j - 1] <= l)) break;
            ptrs[j] = ptrs[j - 1];
            lens[j] = lens[j - 1];
            j--;
        }
        ptrs[j] = p;
        lens[j] = l;
    }
    for (size_t i = 0; i < n; i++) {
        pubsub_unsubscribe(ps, kind, id, ptrs[i], lens[i]);
        if (fn) fn(arg, ptrs[i], lens[i]);
    }
    free(ptrs);
    free(lens);
    buf_free(&names);
}

long long pubsub_count(struct pubsub *ps, struct pubsub_id id, bool shard)
{
    unsigned char k[16];
    id_key(k, id);
    struct dict_entry *e = dict_find(&ps->clients, k, sizeof k);
    if (e == NULL) return 0;
    return shard ? (long long)e->slot : e->aux;
}

const struct pubsub_subs *pubsub_find(struct pubsub *ps, enum pubsub_kind kind, const char *name,
                                      size_t len)
{
    struct dict_entry *e = dict_find(&ps->names[kind], name, len);
    return e ? e->v.ptr : NULL;
}

void pubsub_set_node_origin(struct pubsub *ps, uint64_t node, uint64_t origin)
{
    bool created;
    struct dict_entry *e = dict_upsert(&ps->origins, &node, sizeof node, &created);
    uint64_t old = (uint64_t)e->v.i;
    e->v.i = (int64_t)origin;
    if (created || old == origin) return;
    /* Drop every subscription of the node's previous process. */
    struct buf ids = BUF_INIT;
    struct dict_iter it;
    dict_iter_init(&it, &ps->clients);
    struct dict_entry *c;
    while ((c = dict_iter_next(&it)) != NULL) {
        struct pubsub_id id = {0, 0};
        for (int i = 0; i < 8; i++) {
            id.origin |= (uint64_t)(unsigned char)c->key[i] << (8 * i);
            id.client |= (uint64_t)(unsigned char)c->key[8 + i] << (8 * i);
        }
        if (id.origin == old) buf_append(&ids, &id, sizeof id);
    }
    for (size_t off = 0; off < ids.len; off += sizeof(struct pubsub_id)) {
        struct pubsub_id id;
        memcpy(&id, ids.data + off, sizeof id);
        for (int k = 0; k < 3; k++) pubsub_unsubscribe_all(ps, (enum pubsub_kind)k, id, NULL, NULL);
    }
    buf_free(&ids);
}

void pubsub_encode(struct pubsub *ps, struct buf *out)
{
    for (int k = 0; k < 3; k++) {
        buf_append_u64(out, dict_size(&ps->names[k]));
        struct dict_iter it;
        dict_iter_init(&it, &ps->names[k]);
        struct dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            struct pubsub_subs *s = e->v.ptr;
            buf_append_u32(out, e->klen);
            buf_append(out, e->key, e->klen);
            buf_append_u64(out, s->n);
            for (size_t i = 0; i < s->n; i++) {
                buf_append_u64(out, s->ids[i].origin);
                buf_append_u64(out, s->ids[i].client);
            }
        }
    }
    buf_append_u64(out, dict_size(&ps->origins));
    struct dict_iter it;
    dict_iter_init(&it, &ps->origins);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        uint64_t node;
        memcpy(&node, e->key, sizeof node);
        buf_append_u64(out, node);
        buf_append_u64(out, (uint64_t)e->v.i);
    }
}

int pubsub_decode(struct pubsub *ps, struct reader *r)
{
    pubsub_clear(ps);
    for (int k = 0; k < 3; k++) {
        uint64_t names;
        if (reader_u64(r, &names)) return -1;
        for (uint64_t i = 0; i < names; i++) {
            uint32_t len;
            const char *name;
            uint64_t n;
            if (reader_u32(r, &len) || reader_bytes(r, len, &name) || reader_u64(r, &n) ||
                n > reader_left(r) / 16)
                return -1;
            for (uint64_t j = 0; j < n; j++) {
                struct pubsub_id id;
                if (reader_u64(r, &id.origin) || reader_u64(r, &id.client)) return -1;
                pubsub_subscribe(ps, (enum pubsub_kind)k, id, name, len);
            }
        }
    }
    uint64_t n;
    if (reader_u64(r, &n)) return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t node, origin;
        if (reader_u64(r, &node) || reader_u64(r, &origin)) return -1;
        bool created;
        struct dict_entry *e = dict_upsert(&ps->origins, &node, sizeof node, &created);
        e->v.i = (int64_t)origin;
    }
    return 0;
}
