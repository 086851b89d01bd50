/* store/evict.c — see evict.h. */
#include "store/evict.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "store/object.h"

static const char *const policy_names[] = {
    [EVICT_NOEVICTION] = "noeviction",
    [EVICT_ALLKEYS_LRU] = "allkeys-lru",
    [EVICT_ALLKEYS_LFU] = "allkeys-lfu",
    [EVICT_ALLKEYS_RANDOM] = "allkeys-random",
    [EVICT_VOLATILE_LRU] = "volatile-lru",
    [EVICT_VOLATILE_LFU] = "volatile-lfu",
    [EVICT_VOLATILE_RANDOM] = "volatile-random",
    [EVICT_VOLATILE_TTL] = "volatile-ttl",
};
#define N_POLICIES (sizeof policy_names / sizeof *policy_names)

int evict_policy_parse(const char *name)
{
    for (size_t i = 0; i < N_POLICIES; i++)
        if (strcasecmp(policy_names[i], name) == 0) return (int)i;
    return -1;
}

const char *evict_policy_name(enum evict_policy p)
{
    assert((size_t)p < N_POLICIES);
    return policy_names[p];
}

/* --------------------------------------------------------------------
 * Access records
 * ------------------------------------------------------------------ */

/* This process's access clock and LFU settings. */
static struct {
    uint32_t clock_ms;
    int lfu_log_factor;
    int lfu_decay_min;
    uint64_t rng; /* the LFU counter's coin: local, like the records */
    bool paused;
} access = {0, 10, 1, 0x2545f4914f6cdd1dull, false};

void evict_configure(int lfu_log_factor, int lfu_decay_time_min)
{
    assert(lfu_log_factor >= 0 && lfu_decay_time_min >= 0);
    access.lfu_log_factor = lfu_log_factor;
    access.lfu_decay_min = lfu_decay_time_min;
}

void evict_set_clock(int64_t now_ms)
{
    access.clock_ms = (uint32_t)now_ms;
}

uint64_t evict_idle_ms(const struct sobj *o)
{
    /* Unsigned arithmetic: right across one wrap of the 32-bit clock. */
    return (uint32_t)(access.clock_ms - o->access_ms);
}

unsigned evict_frequency(const struct sobj *o)
{
    unsigned counter = o->lfu_count;
    if (access.lfu_decay_min == 0) return counter;
    uint64_t periods = evict_idle_ms(o) / 60000 / (uint64_t)access.lfu_decay_min;
    return periods >= counter ? 0 : counter - (unsigned)periods;
}

/* Redis's logarithmic increment: the higher the counter, the less likely
 * an access moves it (lfu-log-factor 10: about a million accesses to 255). */
static unsigned lfu_increment(unsigned counter)
{
    if (counter >= 255) return 255;
    double base = counter > SOBJ_LFU_INIT ? (double)(counter - SOBJ_LFU_INIT) : 0.0;
    double p = 1.0 / (base * access.lfu_log_factor + 1.0);
    double coin = (double)(dict_rand64(&access.rng) >> 11) / (double)(1ull << 53);
    return coin < p ? counter + 1 : counter;
}

void evict_pause_touches(bool paused)
{
    access.paused = paused;
}

void evict_touch(struct sobj *o)
{
    if (access.paused) return;
    o->lfu_count = (uint8_t)lfu_increment(evict_frequency(o));
    o->access_ms = access.clock_ms;
}

void evict_set_idle(struct sobj *o, uint64_t idle_ms)
{
    o->access_ms = (uint32_t)((uint64_t)access.clock_ms - idle_ms);
}

void evict_stamp(struct sobj *o, const struct sobj *old)
{
    if (old) o->lfu_count = (uint8_t)evict_frequency(old);
    o->access_ms = access.clock_ms;
}

/* --------------------------------------------------------------------
 * Victims
 * ------------------------------------------------------------------ */

void evict_pool_clear(struct evict_pool *pool)
{
    for (int i = 0; i < pool->n; i++) free(pool->c[i].key);
    pool->n = 0;
}

static bool volatile_only(enum evict_policy p)
{
    return p == EVICT_VOLATILE_LRU || p == EVICT_VOLATILE_LFU || p == EVICT_VOLATILE_RANDOM ||
           p == EVICT_VOLATILE_TTL;
}

static uint64_t score(struct store *s, enum evict_policy p, int db, const struct dict_entry *e)
{
    const struct sobj *o = store_value(e);
    switch (p) {
    case EVICT_ALLKEYS_LFU:
    case EVICT_VOLATILE_LFU:
        return 255 - evict_frequency(o);
    case EVICT_VOLATILE_TTL:
        /* The sooner it expires, the better a victim. */
        return UINT64_MAX - (uint64_t)store_expire_of(s, db, e);
    default:
        return evict_idle_ms(o);
    }
}

static bool is_chosen(struct evict_chosen *chosen, int db, const char *key, size_t klen)
{
    return dict_find(&chosen->db[db], key, klen) != NULL;
}

/* Puts a sampled key in the pool if it beats the worst candidate there
 * (or the pool has room), keeping the pool sorted, best last. */
static void pool_offer(struct evict_pool *pool, uint64_t sc, int db, const char *key, size_t klen)
{
    for (int i = 0; i < pool->n; i++)
        if (pool->c[i].db == db && pool->c[i].klen == klen && memcmp(pool->c[i].key, key, klen) == 0)
            return; /* already a candidate */
    int at = 0;
    while (at < pool->n && pool->c[at].score < sc) at++;
    if (pool->n == EVICT_POOL_SIZE) {
        if (at == 0) return; /* worse than every candidate */
        /* Drop the worst (first) to make room below `at`. */
        free(pool->c[0].key);
        memmove(&pool->c[0], &pool->c[1], (size_t)(at - 1) * sizeof pool->c[0]);
        at--;
    } else {
        memmove(&pool->c[at + 1], &pool->c[at], (size_t)(pool->n - at) * sizeof pool->c[0]);
        pool->n++;
    }
    pool->c[at] = (struct evict_candidate){sc, db, xmemdup(key, klen), klen};
}

/* evictionPoolPopulate: `samples` random keys of each database. */
static void pool_populate(struct store *s, enum evict_policy p, int samples, struct evict_pool *pool,
                          struct evict_chosen *chosen)
{
    bool vol = volatile_only(p);
    for (int db = 0; db < STORE_DBS; db++) {
        const struct store_db *d = &s->db[db];
        size_t n = vol ? d->n_expiring : dset_size(&d->keys);
        for (int i = 0; i < samples && n > 0; i++) {
            size_t at = dict_rand64(&pool->rng) % n;
            struct dict_entry *e = vol ? d->expiring[at].e : d->keys.items[at];
            if (is_chosen(chosen, db, e->key, e->klen)) continue;
            pool_offer(pool, score(s, p, db, e), db, e->key, e->klen);
        }
    }
}

static size_t key_bytes(const struct dict_entry *e)
{
    /* The value, the dict entry with its key, the key order's slot and a
     * bucket pointer; an expiring entry's slot when it has a TTL. */
    return sobj_memory(store_value(e)) + sizeof *e + e->klen + 1 + 2 * sizeof(void *) +
           (e->aux >= 0 ? sizeof(struct store_expiry) : 0);
}

static void take(struct evict_chosen *chosen, int db, struct dict_entry *e,
                 struct evict_victim *out)
{
    bool created;
    struct dict_entry *c = dict_upsert(&chosen->db[db], e->key, e->klen, &created);
    assert(created);
    out->db = db;
    out->key = c->key;
    out->klen = c->klen;
    out->bytes = key_bytes(e);
}

/* allkeys-random, volatile-random: a random key of the next database that
 * has one, a few tries per database to step over chosen keys. */
static bool choose_random(struct store *s, bool vol, struct evict_pool *pool,
                          struct evict_chosen *chosen, struct evict_victim *out)
{
    for (int i = 0; i < STORE_DBS; i++) {
        int db = pool->next_db;
        pool->next_db = (pool->next_db + 1) % STORE_DBS;
        const struct store_db *d = &s->db[db];
        size_t n = vol ? d->n_expiring : dset_size(&d->keys);
        for (int attempt = 0; attempt < 8 && n > 0; attempt++) {
            size_t at = dict_rand64(&pool->rng) % n;
            struct dict_entry *e = vol ? d->expiring[at].e : d->keys.items[at];
            if (is_chosen(chosen, db, e->key, e->klen)) continue;
            take(chosen, db, e, out);
            return true;
        }
    }
    return false;
}

bool evict_choose(struct store *s, enum evict_policy policy, int samples,
                  struct evict_pool *pool, struct evict_chosen *chosen, struct evict_victim *out)
{
    assert(policy != EVICT_NOEVICTION && samples > 0);
    if (policy == EVICT_ALLKEYS_RANDOM || policy == EVICT_VOLATILE_RANDOM)
        return choose_random(s, policy == EVICT_VOLATILE_RANDOM, pool, chosen, out);
    /* A few rounds: candidates in the pool may have gone since they were
     * sampled (deleted, or chosen already), as in Redis's loop. */
    for (int round = 0; round < 4; round++) {
        pool_populate(s, policy, samples, pool, chosen);
        while (pool->n > 0) {
            struct evict_candidate c = pool->c[--pool->n];
            struct dict_entry *e = dset_find(&s->db[c.db].keys, c.key, c.klen);
            bool usable = e != NULL && !is_chosen(chosen, c.db, c.key, c.klen) &&
                          (!volatile_only(policy) || e->aux >= 0);
            free(c.key);
            if (usable) {
                take(chosen, c.db, e, out);
                return true;
            }
        }
    }
    return false;
}
