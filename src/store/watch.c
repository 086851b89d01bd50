/* store/watch.c — see watch.h. */
#include "store/watch.h"

#include <string.h>

static void session_key(unsigned char out[16], uint64_t origin, uint64_t client)
{
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(origin >> (8 * i));
        out[8 + i] = (unsigned char)(client >> (8 * i));
    }
}

void watch_init(struct store_watch *w)
{
    memset(w, 0, sizeof *w);
    dict_init(&w->sessions, NULL);
    dict_init(&w->changed, NULL);
}

void watch_clear(struct store_watch *w)
{
    dict_clear(&w->sessions);
    dict_clear(&w->changed);
    w->counter = 0;
    memset(w->flushed, 0, sizeof w->flushed);
}

void watch_touch(struct store_watch *w, int db, const char *key, size_t klen)
{
    if (!watch_active(w)) return;
    w->counter++;
    if (key == NULL) {
        w->flushed[db] = w->counter;
        return;
    }
    struct buf k = BUF_INIT;
    buf_append_u8(&k, (uint8_t)db);
    buf_append(&k, key, klen);
    bool created;
    struct dict_entry *e = dict_upsert(&w->changed, k.data, k.len, &created);
    e->v.i = (int64_t)w->counter;
    buf_free(&k);
}

/* Whether none of the keys changed after the counter was at `since`. */
static bool unchanged_since(struct store_watch *w, uint64_t since, const struct watch_key *keys,
                            size_t n)
{
    bool clean = true;
    for (size_t i = 0; i < n && clean; i++) {
        if (w->flushed[keys[i].db] > since) {
            clean = false;
            break;
        }
        struct buf kb = BUF_INIT;
        buf_append_u8(&kb, (uint8_t)keys[i].db);
        buf_append(&kb, keys[i].key, keys[i].klen);
        struct dict_entry *c = dict_find(&w->changed, kb.data, kb.len);
        if (c && (uint64_t)c->v.i > since) clean = false;
        buf_free(&kb);
    }
    return clean;
}

void watch_begin(struct store_watch *w, uint64_t origin, uint64_t client, bool fresh,
                 const struct watch_key *earlier, size_t n_earlier, int64_t now_ms)
{
    unsigned char k[16];
    session_key(k, origin, client);
    bool created;
    struct dict_entry *e = dict_upsert(&w->sessions, k, sizeof k, &created);
    /* A later WATCH keeps the first point: the transaction must fail if a
     * key watched earlier changed since then. But Redis watches each key
     * from its own WATCH, so a change made before this WATCH to a key it
     * adds must not count: when none of the earlier keys has changed since
     * the point, moving the point to now decides every key as Redis would
     * (an earlier key unchanged until now changes after the point exactly
     * when it changes after now). When one has changed, the transaction is
     * doomed either way and the point stays. */
    /* The session lasts WATCH_SESSION_MS from its point, so the point's log
     * time is aux - WATCH_SESSION_MS (watch_session_start). */
    if (created || fresh || (n_earlier && unchanged_since(w, (uint64_t)e->v.i, earlier, n_earlier))) {
        e->v.i = (int64_t)w->counter;
        e->aux = now_ms + WATCH_SESSION_MS;
    }
}

bool watch_session_start(struct store_watch *w, uint64_t origin, uint64_t client, int64_t *start_ms)
{
    unsigned char k[16];
    session_key(k, origin, client);
    struct dict_entry *s = dict_find(&w->sessions, k, sizeof k);
    if (s == NULL) return false;
    *start_ms = s->aux - WATCH_SESSION_MS;
    return true;
}

bool watch_any_began_before(struct store_watch *w, int64_t when_ms)
{
    struct dict_iter it;
    dict_iter_init(&it, &w->sessions);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        if (e->aux - WATCH_SESSION_MS < when_ms) return true;
    return false;
}

bool watch_check_and_end(struct store_watch *w, uint64_t origin, uint64_t client,
                         const struct watch_key *keys, size_t n)
{
    unsigned char k[16];
    session_key(k, origin, client);
    struct dict_entry *s = dict_find(&w->sessions, k, sizeof k);
    if (s == NULL) return false;
    uint64_t since = (uint64_t)s->v.i;
    dict_delete(&w->sessions, k, sizeof k);
    bool clean = unchanged_since(w, since, keys, n);
    if (!watch_active(w)) dict_clear(&w->changed);
    return clean;
}

void watch_expire(struct store_watch *w, int64_t now_ms)
{
    if (!watch_active(w)) return;
    struct buf doomed = BUF_INIT;
    struct dict_iter it;
    dict_iter_init(&it, &w->sessions);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        if (e->aux <= now_ms) buf_append(&doomed, e->key, 16);
    for (size_t off = 0; off < doomed.len; off += 16) dict_delete(&w->sessions, doomed.data + off, 16);
    buf_free(&doomed);
    if (!watch_active(w)) dict_clear(&w->changed);
}

void watch_encode(const struct store_watch *w, struct buf *out)
{
    buf_append_u64(out, w->counter);
    for (int i = 0; i < 16; i++) buf_append_u64(out, w->flushed[i]);
    struct dict *d[2] = {(struct dict *)&w->sessions, (struct dict *)&w->changed};
    for (int t = 0; t < 2; t++) {
        buf_append_u64(out, dict_size(d[t]));
        struct dict_iter it;
        dict_iter_init(&it, d[t]);
        struct dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            buf_append_u32(out, e->klen);
            buf_append(out, e->key, e->klen);
            buf_append_u64(out, (uint64_t)e->v.i);
            buf_append_u64(out, (uint64_t)e->aux);
        }
    }
}

int watch_decode(struct store_watch *w, struct reader *r)
{
    watch_clear(w);
    if (reader_u64(r, &w->counter)) return -1;
    for (int i = 0; i < 16; i++)
        if (reader_u64(r, &w->flushed[i])) return -1;
    struct dict *d[2] = {&w->sessions, &w->changed};
    for (int t = 0; t < 2; t++) {
        uint64_t n;
        if (reader_u64(r, &n)) return -1;
        for (uint64_t i = 0; i < n; i++) {
            uint32_t klen;
            const char *key;
            uint64_t v, aux;
            if (reader_u32(r, &klen) || reader_bytes(r, klen, &key) || reader_u64(r, &v) ||
                reader_u64(r, &aux))
                return -1;
            if (t == 0 && klen != 16) return -1;
            bool created;
            struct dict_entry *e = dict_upsert(d[t], key, klen, &created);
            if (!created) return -1;
            e->v.i = (int64_t)v;
            e->aux = (int64_t)aux;
        }
    }
    return 0;
}
