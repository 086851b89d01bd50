/* store/evict.h — what maxmemory's eviction policies need from the
 * keyspace: each value's access record and Redis's choice of victims.
 *
 * Access records. Every value carries the time of its last access and a
 * logarithmic access counter (struct sobj's access_ms and lfu_count), updated
 * on every lookup that finds it and stamped when it is stored, as Redis
 * keeps robj.lru (in milliseconds, wrapping after 49 days, where Redis
 * counts seconds). They are this node's own: never replicated, digested or
 * snapshotted. Only the leader chooses victims, from its own records, and
 * it proposes their deletion through the log (repl/memory.c), so every
 * replica deletes the same keys at the same point however their records
 * differ. The records are stamped with a process-wide access clock that
 * callers set from the time they run with (cmd_exec: the entry's time in
 * apply, the read's time otherwise); the keyspace itself reads no clock.
 *
 * Victims. As Redis 7.0's evict.c: for each database with keys, sample
 * maxmemory-samples keys (all keys, or those with a TTL for the volatile-*
 * policies), score each (idle time for LRU, 255 minus the decayed counter
 * for LFU, nearness of the expiry for volatile-ttl), and keep the best
 * EVICT_POOL_SIZE candidates across calls in a pool; the victim is the best
 * candidate that still exists. The random policies take a random key,
 * walking the databases round-robin. */
#ifndef PARLEY_STORE_EVICT_H
#define PARLEY_STORE_EVICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dict.h"
#include "store/keyspace.h"

enum evict_policy {
    EVICT_NOEVICTION,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_VOLATILE_LRU,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
};

/* The policy named as in maxmemory-policy ("allkeys-lru"...), or -1. */
int evict_policy_parse(const char *name);
const char *evict_policy_name(enum evict_policy p);

/* Access records -------------------------------------------------------- */

/* lfu-log-factor and lfu-decay-time (minutes), as Redis: process-wide. */
void evict_configure(int lfu_log_factor, int lfu_decay_time_min);
/* Sets the access clock (a time in milliseconds). */
void evict_set_clock(int64_t now_ms);
/* A lookup found o: stamp it and count the access (not while touches are
 * paused). */
void evict_touch(struct sobj *o);
/* While a snapshot's child process shares the keyspace's pages, a lookup
 * writes nothing into the value it found, as Redis does not while it has a
 * child: each such write would copy a page. The records are this process's
 * own, never replicated. */
void evict_pause_touches(bool paused);
/* o is stored in place of `old` (NULL for a new key): stamp it; it keeps
 * old's counter, as Redis keeps it when a value is overwritten. */
void evict_stamp(struct sobj *o, const struct sobj *old);
/* RESTORE ... IDLETIME: o was last used idle_ms ago. */
void evict_set_idle(struct sobj *o, uint64_t idle_ms);
/* Milliseconds since o was last used, by the access clock. */
uint64_t evict_idle_ms(const struct sobj *o);
/* o's counter after its decay (OBJECT FREQ). */
unsigned evict_frequency(const struct sobj *o);

/* Victims ----------------------------------------------------------------- */

#define EVICT_POOL_SIZE 16

struct evict_candidate {
    uint64_t score;    /* higher: a better victim */
    int db;
    char *key;         /* owned copy */
    size_t klen;
};

/* Candidates kept between choices, best last; zero-initialise. */
struct evict_pool {
    struct evict_candidate c[EVICT_POOL_SIZE];
    int n;
    uint64_t rng;      /* sampling: the leader's own randomness */
    int next_db;       /* the random policies' round-robin */
};
void evict_pool_clear(struct evict_pool *pool);

/* Victims chosen but not deleted yet (their deletion is in flight), one
 * dict of keys per database; dict_init each, dict_clear when done. */
struct evict_chosen {
    struct dict db[STORE_DBS];
};

struct evict_victim {
    int db;
    const char *key;   /* in `chosen`: valid until it is cleared */
    size_t klen;
    size_t bytes;      /* estimate of the memory its deletion frees */
};

/* Chooses the next victim under `policy`, sampling `samples` keys per
 * database, never one already in `chosen`, and adds it there. False when
 * there is none (an empty keyspace, or no key with a TTL under a
 * volatile-* policy). Expired keys are fine victims. */
bool evict_choose(struct store *s, enum evict_policy policy, int samples,
                  struct evict_pool *pool, struct evict_chosen *chosen, struct evict_victim *out);

#endif
