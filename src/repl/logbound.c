/* repl/logbound.c — the Raft log bounded in bytes, in memory and on disk.
 *
 * libraft 0.22 bounds its log in entries only: a snapshot once
 * `raft-snapshot-threshold` entries were applied since the last one, then
 * `raft-snapshot-trailing` entries kept behind it for followers slightly
 * behind. With group commit an entry carries a whole tick's writes (up to
 * raft-max-entry-bytes), so that bound in bytes grew with the load: 1.4 GB
 * of log after 2.6 million SETs of 1 KB. libraft keeps the whole log in
 * memory as well as on disk.
 *
 * This file adds bounds in bytes, on every node, from outside libraft:
 *
 *  - It wraps the state machine's apply and records each applied command
 *    entry's index and size. Once the entries applied since the last
 *    snapshot hold `raft-log-max-bytes`, it lowers libraft's snapshot
 *    threshold to 1 entry: libraft checks the threshold after every event
 *    (legacyShouldTakeSnapshot in legacy.c) and so takes a snapshot at once.
 *  - It wraps the snapshot callback, which libraft calls before it passes
 *    the trailing count to the disk (snapshot_put) and to its in-memory log
 *    (logSnapshot, when the snapshot is written): there it sets the
 *    trailing count to the newest entries that fit `raft-log-trailing-bytes`
 *    (at least 1, at most raft-snapshot-trailing), and puts the entry
 *    threshold back.
 *    The record of what the log holds drops the older entries when libraft
 *    does, once the snapshot is written (snapshot_finalize).
 *  - It wraps restore (a snapshot loaded at start-up or sent by the leader):
 *    the log before it is gone, and so is what was recorded.
 *
 * So the log holds at most raft-log-max-bytes since the snapshot plus
 * raft-log-trailing-bytes behind it (on a leader with a member behind, up
 * to raft-log-max-bytes behind it: see trailing_entries), plus the entries not yet applied (at
 * most raft-max-inflight-bytes on a leader), one entry of overshoot, and
 * what is applied while a snapshot is being written (libraft takes no
 * other meanwhile; writing one costs about a second per 200 MB here). On
 * disk libraft removes only whole closed segments (8 MB here); of the two
 * snapshots it keeps, snapprune.c removes the older. Entries other than commands (configuration
 * changes, barriers) are a few bytes and are not counted. */
#include <inttypes.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

/* The record is the log's bookkeeping, not data: like the log (and as the
 * entries handed to libraft), it stays out of used_memory, which maxmemory
 * compares with (base/mem.h). */
static void ring_free(struct logbound_entry *ring)
{
    if (ring == NULL) return;
    mem_own(ring);
    free(ring);
}

static void ring_push(struct repl_logbound *lb, uint64_t index, size_t bytes)
{
    if (lb->n == lb->cap) {
        size_t cap = lb->cap ? lb->cap * 2 : 1024;
        struct logbound_entry *ring = xmalloc(cap * sizeof *ring);
        mem_disown(ring);
        for (size_t i = 0; i < lb->n; i++) ring[i] = lb->ring[(lb->head + i) % lb->cap];
        ring_free(lb->ring);
        lb->ring = ring;
        lb->cap = cap;
        lb->head = 0;
    }
    lb->ring[(lb->head + lb->n) % lb->cap] = (struct logbound_entry){index, bytes};
    lb->n++;
    lb->bytes += bytes;
}

static const struct logbound_entry *ring_at(const struct repl_logbound *lb, size_t i)
{
    CHECK(i < lb->n);
    return &lb->ring[(lb->head + i) % lb->cap];
}

/* Forgets the entries at or below index (libraft no longer holds them). */
static void ring_drop_through(struct repl_logbound *lb, uint64_t index)
{
    while (lb->n > 0 && ring_at(lb, 0)->index <= index) {
        CHECK(lb->bytes >= ring_at(lb, 0)->bytes);
        lb->bytes -= ring_at(lb, 0)->bytes;
        lb->head = (lb->head + 1) % lb->cap;
        lb->n--;
    }
}

static void ring_clear(struct repl_logbound *lb)
{
    lb->head = lb->n = 0;
    lb->bytes = 0;
}

static int wrapped_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct repl *r = fsm->data;
    struct repl_logbound *lb = &r->logbound;
    uint64_t index = raft_last_applied(r->raft) + 1; /* libraft sets it after apply */
    int rv = lb->apply(fsm, buf, result);
    if (rv != 0) return rv;
    /* Entries apply in order; one seen again (after a restore) restarts the record. */
    if (lb->n > 0 && ring_at(lb, lb->n - 1)->index >= index) ring_clear(lb);
    ring_push(lb, index, buf->len);
    lb->since_snapshot_bytes += buf->len;
    if (r->cfg.log_max_bytes > 0 && lb->since_snapshot_bytes >= r->cfg.log_max_bytes &&
        !lb->triggered) {
        lb->triggered = true;
        lb->snapshots_by_bytes++;
        raft_set_snapshot_threshold(r->raft, 1);
        log_msg(LOG_VERBOSE,
                "%zu bytes of log since the last snapshot (raft-log-max-bytes %zu): "
                "snapshotting at index %" PRIu64,
                lb->since_snapshot_bytes, r->cfg.log_max_bytes, index);
    }
    return 0;
}

/* On a leader, the oldest entry some member's catching up needs (0: none,
 * or not leading): the last one it holds (its term goes with the entries
 * after it) and those after it, which it is sent next, unless they are
 * gone and it must be sent the whole snapshot. */
static uint64_t lacking_from(struct repl *r)
{
    if (!node_is_leader(r)) return 0;
    uint64_t lowest = 0;
    const struct raft_configuration *c = &r->raft->configuration;
    for (unsigned i = 0; i < c->n; i++) {
        raft_index match;
        if (c->servers[i].id == r->cfg.node_id) continue;
        if (raft_match_index(r->raft, c->servers[i].id, &match) != 0 || match == 0) continue;
        if (lowest == 0 || match < lowest) lowest = match;
    }
    return lowest;
}

/* How many of the newest entries (all at or below the snapshot's index)
 * libraft keeps behind the snapshot: those that fit raft-log-trailing-bytes,
 * and on a leader those a member still lacks as long as they fit
 * raft-log-max-bytes. Under heavy writes one follower of three falls
 * behind (a majority commits without it); sent the snapshot instead, it
 * stalls its loop loading it (about 0.7 s for 150 MB) and is behind the
 * trailing window again by then: `make bench` saw one follower installed
 * three snapshots in seven seconds, each written to the shared disk. */
static unsigned trailing_entries(struct repl *r)
{
    const struct repl_logbound *lb = &r->logbound;
    uint64_t lacking = lacking_from(r);
    size_t lacking_cap = r->cfg.log_max_bytes > r->cfg.log_trailing_bytes ? r->cfg.log_max_bytes
                                                                          : r->cfg.log_trailing_bytes;
    size_t bytes = 0, k = 0;
    while (k < lb->n) {
        const struct logbound_entry *e = ring_at(lb, lb->n - 1 - k);
        size_t cap = lacking && e->index >= lacking ? lacking_cap : r->cfg.log_trailing_bytes;
        if (bytes + e->bytes > cap) break;
        bytes += e->bytes;
        k++;
    }
    if (k > r->cfg.snapshot_trailing) k = r->cfg.snapshot_trailing;
    /* libraft's disk layer takes 0 for "installing a snapshot": never. */
    return k > 0 ? (unsigned)k : 1;
}

static int wrapped_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    struct repl_logbound *lb = &r->logbound;
    int rv = lb->snapshot(fsm, bufs, n_bufs);
    if (rv != 0) return rv; /* libraft tries again at its next event */
    uint64_t index = raft_last_applied(r->raft);
    unsigned trailing = trailing_entries(r);
    raft_set_snapshot_trailing(r->raft, trailing);
    if (lb->triggered) {
        raft_set_snapshot_threshold(r->raft, r->cfg.snapshot_threshold);
        lb->triggered = false;
    }
    lb->since_snapshot_bytes = 0;
    lb->drop_through = index > trailing ? index - trailing : 0;
    log_msg(LOG_VERBOSE, "Snapshot at index %" PRIu64 ": keeping %u entries behind it", index,
            trailing);
    return 0;
}

/* libraft calls it once the snapshot is written, just before it drops the
 * entries from its log (takeSnapshotCb), or when it gives the snapshot up. */
static int wrapped_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                     unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    struct repl_logbound *lb = &r->logbound;
    /* A snapshot given up (snapfork.c) leaves libraft's log as it was. */
    if (!snapfork_last_failed(r)) ring_drop_through(lb, lb->drop_through);
    lb->drop_through = 0;
    return lb->snapshot_finalize(fsm, bufs, n_bufs);
}

static int wrapped_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct repl *r = fsm->data;
    struct repl_logbound *lb = &r->logbound;
    int rv = lb->restore(fsm, buf);
    if (rv != 0) return rv;
    ring_clear(lb);
    lb->since_snapshot_bytes = 0;
    lb->drop_through = 0;
    return 0;
}

void logbound_install(struct repl *r)
{
    struct repl_logbound *lb = &r->logbound;
    CHECK(lb->apply == NULL); /* once */
    lb->apply = r->machine.fsm.apply;
    lb->snapshot = r->machine.fsm.snapshot;
    lb->restore = r->machine.fsm.restore;
    lb->snapshot_finalize = r->machine.fsm.snapshot_finalize;
    CHECK(lb->snapshot_finalize != NULL); /* libraft must tell us when it is written */
    r->machine.fsm.apply = wrapped_apply;
    r->machine.fsm.snapshot = wrapped_snapshot;
    r->machine.fsm.snapshot_finalize = wrapped_snapshot_finalize;
    r->machine.fsm.restore = wrapped_restore;
}

void logbound_close(struct repl *r)
{
    ring_free(r->logbound.ring);
    r->logbound.ring = NULL;
    r->logbound.n = r->logbound.cap = r->logbound.head = 0;
}

size_t logbound_bytes(struct repl *r, size_t *entries)
{
    *entries = r->logbound.n;
    return r->logbound.bytes;
}
