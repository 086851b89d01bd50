/* repl/fsm.h — Parley's replicated state machine without a node around it.
 *
 * The server creates its state machine inside repl_start(); this header
 * gives the same state machine (repl/apply.c: apply, snapshot, restore, the
 * dedup table) over a caller's store, with no event loop, no disk and no
 * network, so a test can hand it to libraft's in-memory fixture
 * (raft/fixture.h) and drive a simulated cluster of real Parley replicas
 * (tests/unit/test_sim.c). Without repl_fsm_attach() replies are
 * discarded: no proposer of this process is waiting for them. */
#ifndef PARLEY_REPL_FSM_H
#define PARLEY_REPL_FSM_H

#include <raft.h>
#include <stdint.h>

#include "repl/repl.h"
#include "store/keyspace.h"

struct repl;

/* The dedup table holds at most this many origins (apply.c). */
#define REPL_DEDUP_MAX 65536

/* A state machine applying entries to `store` (which stays the caller's;
 * a restored snapshot is swapped into it) as node `node_id`, whose
 * proposer's batches carry `origin`. */
struct repl *repl_fsm_new(struct store *store, uint64_t node_id, uint64_t origin);
/* What to give raft_init() or raft_fixture_grow(). */
struct raft_fsm *repl_fsm_raft(struct repl *r);
/* Makes r also this node's proposer (propose.c) on `raft`, the instance
 * created with repl_fsm_raft(r): repl_submit(), repl_submit_forwarded() and
 * repl_flush() (repl.h) then batch, announce, propose and answer slots as
 * in the server. There is no link to the leader: a follower's own batches
 * wait until it leads, and the caller forwards in its stead with
 * repl_submit_forwarded() on the leader. No timers run: nothing times out. */
void repl_fsm_attach(struct repl *r, struct raft *raft, const struct repl_config *cfg);
/* Batches skipped because their (origin, seq) had been applied before. */
uint64_t repl_fsm_duplicates_skipped(struct repl *r);
void repl_fsm_free(struct repl *r);

#endif
