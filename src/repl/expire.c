/* repl/expire.c — the leader's active expiry: finding keys whose time has
 * passed and proposing their deletion, as fast as they expire.
 *
 * Reads already treat a key past its time as absent; this reclaims the
 * memory. Deletions travel through the log (`__expire <keys>`, one command
 * per database), so every replica deletes the same keys at the same index;
 * only the leader looks for them, in its own keyspace.
 *
 * The cycle is Redis 7.0's activeExpireCycle (expire.c), with its default
 * effort (active-expire-effort 1):
 *
 *   "Keys with an expire set are sampled ... ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
 *   (20) keys per database per iteration, and the loop repeats while more
 *   than ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE (10) percent of them were
 *   expired, within a time limit: 25% of the CPU for the slow cycle run by
 *   serverCron, 1000 us for the fast cycle run before sleeping, which runs
 *   only when the last cycle hit its time limit or the estimated share of
 *   expired keys is above the acceptable one, and not twice within two
 *   fast-cycle durations."
 *
 * Here the slow cycle runs on the housekeeping timer (every 100 ms, so 25 ms
 * of budget) and the fast one at the end of every loop tick. Like Redis 7
 * (which scans the expires dict with a cursor), each database is walked in
 * order, not sampled at random (store_scan_expired): no key is reported
 * twice in one cycle, and a walk from the top leaves nothing behind it when
 * its finds are deleted.
 *
 * What differs, because the deletions are proposed rather than done on the
 * spot: one deletion batch is in flight at a time (a key found again before
 * the batch that deletes it is applied would be proposed twice), and a
 * batch holds at most EXPIRE_BATCH_KEYS_MAX keys and max_entry_bytes / 2
 * bytes of names, so that applying it is short on every node. A cycle that
 * stops on those limits or on its time budget lets the fast cycle run at the
 * next tick after the batch is applied: with many expired keys, a batch
 * follows another at the pace of the log.
 *
 * A check costs less than Redis's: the walk reads an array of (key,
 * deadline) pairs and touches a key only when it has expired, and deletes
 * nothing. So the clock is consulted every 64 iterations (1,280 keys), not
 * every 16, and each cycle checks at least EXPIRE_MIN_CHECKS_PER_DB keys of
 * every database before the share of expired keys may stop it: a few keys
 * that expired among many that have not (which Redis leaves for its random
 * sampling to meet, up to 10% of them) are found within a pass over the
 * array, 1,000 keys per database every 100 ms at the least. */
#include <inttypes.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

#define EXPIRE_KEYS_PER_LOOP 20
#define EXPIRE_ACCEPTABLE_STALE_PERC 10
#define EXPIRE_SLOW_TIME_PERC 25
#define EXPIRE_HOUSEKEEPING_US 100000 /* the slow cycle's period (repl.c) */
#define EXPIRE_FAST_DURATION_US 1000
#define EXPIRE_CHECK_CLOCK_EVERY 64   /* iterations between looks at the clock */
#define EXPIRE_BATCH_KEYS_MAX 10000
#define EXPIRE_MIN_CHECKS_PER_DB 1000 /* checked per database and cycle, whatever is found */

struct found {
    struct buf names; /* u32 length + bytes, repeated */
    size_t keys, bytes;
};

static void collect(void *ctx, struct dict_entry *e)
{
    struct found *f = ctx;
    buf_append_u32(&f->names, e->klen);
    buf_append(&f->names, e->key, e->klen);
    f->keys++;
    f->bytes += e->klen + 16; /* what the name adds to the entry, about */
}

/* Adds `__expire <names...>` for database db to b. */
static void add_deletions(struct batch *b, int db, const struct found *f)
{
    struct resp_arg *argv = xmalloc((f->keys + 1) * sizeof *argv);
    argv[0] = (struct resp_arg){"__expire", 8};
    struct reader rd;
    reader_init(&rd, f->names.data, f->names.len);
    for (size_t i = 1; i <= f->keys; i++) {
        uint32_t len;
        CHECK(reader_u32(&rd, &len) == 0 && reader_bytes(&rd, len, &argv[i].ptr) == 0);
        argv[i].len = len;
    }
    CHECK(reader_left(&rd) == 0);
    propose_internal_add(b, db, (int)f->keys + 1, argv);
    free(argv);
}

static bool may_run(struct repl *r)
{
    return r->node.raft_started && !r->node.stopping && node_is_leader(r) && !r->expire.in_flight &&
           !r->expire.paused &&
           r->lease.ready_term == raft_current_term(r->raft);
}

/* One cycle of at most budget_us: walks the databases from where the last
 * cycle stopped and proposes one batch with what it found. */
static void cycle(struct repl *r, int64_t budget_us)
{
    struct repl_expire *x = &r->expire;
    int64_t start = clock_mono_us();
    int64_t now_ms = repl_read_time_ms(r);
    size_t keys_max = EXPIRE_BATCH_KEYS_MAX;
    size_t bytes_max = r->cfg.max_entry_bytes / 2;
    uint64_t sampled_total = 0, expired_total = 0;
    size_t keys = 0, bytes = 0;
    bool timelimit_exit = false, full = false;
    struct batch *b = NULL;
    for (int j = 0; j < STORE_DBS && !timelimit_exit && !full; j++) {
        int db = x->next_db;
        x->next_db = (x->next_db + 1) % STORE_DBS;
        size_t expiring = store_db_expiring(r->store, db);
        if (expiring == 0) continue;
        struct found f = {BUF_INIT, 0, 0};
        size_t checked_db = 0;
        unsigned iteration = 0;
        for (;;) {
            size_t checked;
            size_t want = expiring - checked_db < EXPIRE_KEYS_PER_LOOP ? expiring - checked_db
                                                                        : EXPIRE_KEYS_PER_LOOP;
            size_t expired = store_scan_expired(r->store, db, now_ms, want, &x->cursor[db], &checked,
                                                collect, &f);
            checked_db += checked;
            sampled_total += checked;
            expired_total += expired;
            if (keys + f.keys >= keys_max || bytes + f.bytes >= bytes_max) {
                full = true;
                break;
            }
            if (checked_db >= expiring) break; /* every key of this database looked at */
            if (++iteration % EXPIRE_CHECK_CLOCK_EVERY == 0 &&
                clock_mono_us() - start > budget_us) {
                timelimit_exit = true;
                x->time_cap_reached++;
                /* Go on from this database next time. */
                x->next_db = db;
                break;
            }
            if (expired * 100 <= (size_t)EXPIRE_KEYS_PER_LOOP * EXPIRE_ACCEPTABLE_STALE_PERC &&
                checked == EXPIRE_KEYS_PER_LOOP && checked_db >= EXPIRE_MIN_CHECKS_PER_DB)
                break; /* few expired here: not worth more of this cycle */
        }
        if (f.keys > 0) {
            if (b == NULL) b = propose_internal_batch();
            add_deletions(b, db, &f);
            keys += f.keys;
            bytes += f.bytes;
        }
        buf_free(&f.names);
        if (full) x->next_db = db; /* this one may have more */
    }
    int64_t elapsed = clock_mono_us() - start;
    x->cpu_us += (uint64_t)(elapsed > 0 ? elapsed : 0);
    x->more_left = timelimit_exit || full;
    if (sampled_total > 0) {
        double current = (double)expired_total * 100 / (double)sampled_total;
        x->stale_perc = current * 0.05 + x->stale_perc * 0.95;
    }
    if (b) {
        propose_seal_first(r, b);
        x->in_flight = true;
        x->seq = b->seq;
        log_debug("Active expiry: proposing the deletion of %zu keys", keys);
    }
}

void expire_slow_cycle(struct repl *r)
{
    if (!may_run(r)) return;
    cycle(r, EXPIRE_HOUSEKEEPING_US * EXPIRE_SLOW_TIME_PERC / 100);
}

void expire_fast_cycle(struct repl *r)
{
    struct repl_expire *x = &r->expire;
    if (!may_run(r)) return;
    if (!x->more_left && x->stale_perc < EXPIRE_ACCEPTABLE_STALE_PERC) return;
    int64_t now = clock_mono_us();
    if (now < x->last_fast_start_us + 2 * EXPIRE_FAST_DURATION_US) return;
    x->last_fast_start_us = now;
    cycle(r, EXPIRE_FAST_DURATION_US);
}

/* As in Redis 7.0, keys do not expire while clients are paused (WRITE or
 * ALL): their deletion is a write. Reads still see them as gone. When the
 * pause ends, a cycle runs at once. */
void repl_expire_pause(struct repl *r, bool paused)
{
    r->expire.paused = paused;
    if (!paused) expire_slow_cycle(r);
}

void expire_batch_gone(struct repl *r, uint64_t seq)
{
    if (r->expire.in_flight && seq == r->expire.seq) r->expire.in_flight = false;
}
