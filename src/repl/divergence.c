/* repl/divergence.c — noticing that a replica's data differs from the leader's.
 *
 * Apply is deterministic, so replicas that applied the same log hold the
 * same data. A bug in a command, memory or a disk that flips a bit, or
 * someone editing one node's files breaks that silently; nothing else would
 * tell. So the leader puts a check into the log every
 * divergence-check-interval-ms (default 10 s; 0 turns the checks off):
 *
 *   __check <leader id> <prev origin> <prev seq> <prev digest> <db> <index> <keys>
 *
 * A node applying a check (the leader too) first compares: if the check it
 * applied last is the one named by <prev origin> <prev seq> (the identity
 * of a check's batch, unique in the log: apply skips a re-sent batch), then
 * its digest of that check's slice must equal <prev digest>, the leader's
 * digest of the same slice at the same log index. It then takes its own
 * digest of this check's slice and remembers it for the next check. The
 * leader's digest travels in the next check, so no second round trip is
 * needed. A node with no digest of the named check (restarted, loaded a
 * snapshot since, or the leader had not applied the newest check when it
 * proposed this one) compares nothing this time, and the leader does not
 * compare its own digest with itself.
 *
 * A mismatch is logged at WARNING, naming the log index and both digests,
 * and counted (INFO raft and RAFT INFO: divergence_checks_passed,
 * divergence_checks_failed, divergence_last_failed_index). A follower whose
 * data differs reports it alone; when the leader's data is the odd one,
 * every follower reports. Nothing is repaired here: the README says what to
 * do ("Divergence").
 *
 * Cost: a slice is at most DIVERGENCE_SLICE_KEYS keys of the replicated key
 * order (store_digest_slice: each key with its whole value), hashed on the
 * event loop of every node. The leader names the count in the check, so
 * nodes of any version digest the same slice. Each check's
 * slice starts where the leader's previous one ended, so successive checks
 * sweep the keyspace and wrap around; as keys come and go the order shifts,
 * so a key moved behind the sweep waits for the next round. */
#include <inttypes.h>
#include <stdio.h>

#include "base/clock.h"
#include "base/log.h"
#include "repl/internal.h"

/* Keys per check: 100 000 keys of 100 B took 38-43 ms of the loop under
 * SET load (perf on the loop thread: their values' cache misses, not the
 * hashing of 25 ns per key a quiet keyspace showed), a stall every check;
 * 10 000 take a few milliseconds, and sweep a million keys in 100 checks. */
#define DIVERGENCE_SLICE_KEYS 10000

void divergence_tick(struct repl *r)
{
    unsigned interval_ms = r->cfg.divergence_check_interval_ms;
    if (interval_ms == 0 || !node_is_leader(r) || r->lease.ready_term != raft_current_term(r->raft))
        return;
    /* One check at a time: the next one carries this one's digest. */
    if (r->div.proposed_seq && propose_find_pending(r, r->div.proposed_seq)) return;
    int64_t now = clock_mono_us();
    if (r->div.proposed_us && now - r->div.proposed_us < (int64_t)interval_ms * 1000) return;
    char num[7][24];
    uint64_t values[7] = {
        r->cfg.node_id,
        r->div.have ? r->div.origin : 0,
        r->div.have ? r->div.seq : 0,
        r->div.have ? r->div.digest : 0,
        r->div.have ? (uint64_t)r->div.next_db : 0,
        r->div.have ? r->div.next_index : 0,
        DIVERGENCE_SLICE_KEYS,
    };
    struct resp_arg argv[8] = {{DIVERGENCE_CHECK_CMD, sizeof DIVERGENCE_CHECK_CMD - 1}};
    for (int i = 0; i < 7; i++) {
        argv[i + 1].ptr = num[i];
        argv[i + 1].len = (size_t)snprintf(num[i], sizeof num[i], "%" PRIu64, values[i]);
    }
    r->div.proposed_seq = propose_internal(r, 8, argv);
    r->div.proposed_us = now;
}

void divergence_apply(struct repl *r, const struct entry_batch *b, int argc,
                      const struct resp_arg *argv)
{
    if (argc != 8) {
        log_warn("Ignoring a divergence check of %d arguments at log index %" PRIu64, argc,
                 r->machine.applying_index);
        return;
    }
    uint64_t leader = repl_arg_u64(&argv[1]);
    uint64_t prev_origin = repl_arg_u64(&argv[2]), prev_seq = repl_arg_u64(&argv[3]);
    uint64_t prev_digest = repl_arg_u64(&argv[4]);
    uint64_t db = repl_arg_u64(&argv[5]), index = repl_arg_u64(&argv[6]);
    uint64_t keys = repl_arg_u64(&argv[7]);

    if (prev_seq != 0 && b->origin != r->prop.origin && r->div.have && r->div.origin == prev_origin &&
        r->div.seq == prev_seq) {
        if (r->div.digest == prev_digest) {
            r->div.passed++;
        } else {
            r->div.failed++;
            r->div.last_failed_index = r->div.index;
            log_warn("DIVERGENCE at log index %" PRIu64 ": this node's digest is %016" PRIx64
                     ", the leader's (node %" PRIu64 ") is %016" PRIx64 " (the keys the check "
                     "covered differ). This replica's data no longer matches the leader's: see "
                     "'Divergence' in the README",
                     r->div.index, r->div.digest, leader, prev_digest);
        }
    }
    /* Past the last database: an empty slice (the sweep wraps). */
    int slice_db = db < STORE_DBS ? (int)db : STORE_DBS;
    uint64_t slice_index = index;
    r->div.digest = store_digest_slice(r->store, &slice_db, &slice_index, keys);
    r->div.have = true;
    r->div.origin = b->origin;
    r->div.seq = b->seq;
    r->div.index = r->machine.applying_index;
    r->div.next_db = slice_db;
    r->div.next_index = slice_index;
}

void divergence_forget(struct repl *r)
{
    r->div.have = false;
}

void repl_set_divergence_check_interval(struct repl *r, unsigned interval_ms)
{
    r->cfg.divergence_check_interval_ms = interval_ms;
}
