/* repl/memory.c — maxmemory, decided by the leader before it proposes.
 *
 * Used memory is a node's own figure (base/mem.h: what Parley's code has
 * allocated; the Raft log and snapshots being written are left out, as
 * Redis leaves out its AOF and replica buffers), so only one node's figure
 * may decide: the leader's, when it puts commands into the log. Every tick
 * (and on housekeeping, so a lowered maxmemory takes effect when idle) the
 * leader compares used memory with maxmemory and, as Redis 7.0's
 * performEvictions does before each command:
 *
 *   - under an eviction policy, chooses victims (store/evict.h) until the
 *     memory their deletion frees covers the excess, and proposes
 *     `__evict <keys>` ahead of the writes of this tick: every replica
 *     deletes the same keys at the same log index. One eviction batch is
 *     in flight at a time; until it is applied, writes go on (Redis's
 *     EVICT_RUNNING). Under lazyfree-lazy-eviction a big victim's memory
 *     comes back when the free thread gets to it (store/lazyfree.h), a
 *     little after the batch is applied: eviction does not wait for it
 *     and may take a few more victims meanwhile, as Redis's may. (Holding
 *     batches back while frees were pending starved eviction.)
 *   - under noeviction, or when nothing can be evicted (volatile-* with no
 *     key that has a TTL), commands flagged deny-oom are refused: the batch
 *     being proposed carries `__refuse <OOM error>` in their place
 *     (cmds/memlimit.h), a script that may write runs guarded, an EXEC
 *     with a deny-oom command is aborted.
 *
 * Whatever the policy, a command that would grow a string by a length the
 * client names (SETRANGE) is refused when the growth does not fit in the
 * room left (maxmemory minus used memory; all of maxmemory under an
 * eviction policy, which makes room by evicting).
 *
 * A follower decides nothing: it forwards its batches, and the leader
 * gates them as it gates its own. The figure and the decision are the
 * leader's of the moment; replicas' figures (INFO) are their own. The
 * decision goes into the entry being proposed, never into the batch: a
 * batch sent again (its entry not committed before a leader change) still
 * holds its clients' commands, and the leader that proposes it decides. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

/* At most this many keys in one eviction batch: the next one continues. */
#define EVICT_MAX_KEYS 4096

void repl_set_memory(struct repl *r, long long maxmemory, enum evict_policy policy, int samples)
{
    assert(maxmemory >= 0 && samples > 0);
    if (r->mem.policy != policy) evict_pool_clear(&r->mem.pool);
    r->mem.maxmemory = maxmemory;
    r->mem.policy = policy;
    r->mem.samples = samples;
}

void memory_close(struct repl *r)
{
    evict_pool_clear(&r->mem.pool);
    argv_room_free(&r->mem.args);
}

void memory_batch_gone(struct repl *r, uint64_t seq)
{
    if (r->mem.evict_in_flight && seq == r->mem.evict_seq) r->mem.evict_in_flight = false;
}

/* Chooses victims whose deletion frees at least `excess` bytes and
 * proposes their deletion; false if there was nothing to choose. */
static bool evict(struct repl *r, size_t excess)
{
    struct repl_memory *m = &r->mem;
    struct evict_chosen chosen;
    for (int db = 0; db < STORE_DBS; db++) dict_init(&chosen.db[db], NULL);
    if (m->pool.rng == 0) m->pool.rng = dict_rand64(&r->machine.expire_rng) | 1;
    evict_set_clock(repl_read_time_ms(r));
    size_t freed = 0, n = 0;
    struct evict_victim v;
    while (freed < excess && n < EVICT_MAX_KEYS &&
           evict_choose(r->store, m->policy, m->samples, &m->pool, &chosen, &v)) {
        freed += v.bytes;
        n++;
    }
    if (n > 0) {
        struct batch *b = propose_internal_batch();
        for (int db = 0; db < STORE_DBS; db++) {
            size_t keys = dict_size(&chosen.db[db]);
            if (keys == 0) continue;
            struct resp_arg *argv = xmalloc((keys + 1) * sizeof *argv);
            argv[0] = (struct resp_arg){"__evict", 7};
            int argc = 1;
            struct dict_iter it;
            dict_iter_init(&it, &chosen.db[db]);
            struct dict_entry *e;
            while ((e = dict_iter_next(&it)) != NULL) argv[argc++] = (struct resp_arg){e->key, e->klen};
            propose_internal_add(b, db, argc, argv);
            free(argv);
        }
        propose_seal_first(r, b);
        m->evict_in_flight = true;
        m->evict_seq = b->seq;
        log_msg(LOG_VERBOSE, "maxmemory: evicting %zu keys (about %zu bytes over the limit)", n,
                excess);
    }
    for (int db = 0; db < STORE_DBS; db++) dict_clear(&chosen.db[db]);
    return n > 0;
}

void memory_tick(struct repl *r)
{
    struct repl_memory *m = &r->mem;
    m->gate = (struct memlimit_state){.deny_oom = false, .room = -1, .budget = -1, .now_ms = 0};
    if (m->maxmemory <= 0 || !r->node.raft_started || r->node.stopping || !node_is_leader(r) ||
        r->lease.ready_term != raft_current_term(r->raft))
        return;
    long long used = (long long)mem_used_bytes(), max = m->maxmemory;
    m->gate.now_ms = repl_read_time_ms(r);
    if (m->policy == EVICT_NOEVICTION) {
        /* Entries proposed and not yet applied will store about their own
         * size: what is left of the room is for this tick's writes. */
        long long left = max - used - (long long)r->prop.inflight_bytes;
        m->gate.room = m->gate.budget = left > 0 ? left : 0;
        m->gate.deny_oom = used > max || left < 0;
        return;
    }
    /* An eviction policy makes room: a string may grow up to maxmemory. */
    m->gate.room = max;
    if (used <= max || m->evict_in_flight) return;
    if (!evict(r, (size_t)(used - max))) {
        /* Nothing can be evicted: as noeviction. */
        m->gate.deny_oom = true;
        m->gate.room = 0;
    }
}

bool memory_gate(struct repl *r, const char *body, size_t len, struct buf *out)
{
    struct repl_memory *m = &r->mem;
    if (m->maxmemory <= 0 || (!m->gate.deny_oom && m->gate.room < 0 && m->gate.budget < 0))
        return false;
    struct command_reader cr;
    struct entry_command ec;
    int rc;
    bool changed = false;
    size_t done = 0; /* bytes of body already copied to out */
    command_reader_init(&cr, body, len);
    for (;;) {
        const char *start = (const char *)cr.p;
        rc = command_next_in(&cr, &ec, &m->args);
        if (rc <= 0) break;
        const char *error;
        enum memlimit_verdict v = memlimit_verdict(r->store, &m->gate, ec.db, ec.argc, m->args.argv, &error);
        if (v == MEMLIMIT_RUN) continue;
        /* Copy what came before unchanged, then the replacement. */
        buf_append(out, body + done, (size_t)(start - body) - done);
        done = (size_t)((const char *)cr.p - body);
        changed = true;
        if (v == MEMLIMIT_REFUSE) {
            struct resp_arg argv[2] = {{REFUSE_CMD, strlen(REFUSE_CMD)}, {error, strlen(error)}};
            entry_write_command(out, ec.db, ec.proto, 2, argv);
        } else {
            struct resp_arg *argv = xmalloc((size_t)(ec.argc + 1) * sizeof *argv);
            argv[0] = (struct resp_arg){OOM_GUARD_CMD, strlen(OOM_GUARD_CMD)};
            memcpy(argv + 1, m->args.argv, (size_t)ec.argc * sizeof *argv);
            entry_write_command(out, ec.db, ec.proto, ec.argc + 1, argv);
            free(argv);
        }
    }
    argv_room_trim(&m->args);
    if (!changed) return false;
    buf_append(out, body + done, len - done);
    return true;
}
