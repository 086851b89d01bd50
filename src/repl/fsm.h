/* repl/fsm.h — Parley's replicated state machine without a node around it.
 *
 * The server creates its state machine inside repl_start(); this header
 * gives the same state machine (repl/apply.c: apply, snapshot, restore, the
 * dedup table) over a caller's store, with no event loop, no disk and no
 * network, so a test can hand it to libraft's in-memory fixture
 * (raft/fixture.h) and drive a simulated cluster of real Parley replicas
 * (tests/unit/test_sim.c). Replies to commands are discarded: no proposer
 * of this process is waiting for them. */
#ifndef PARLEY_REPL_FSM_H
#define PARLEY_REPL_FSM_H

#include <raft.h>
#include <stdint.h>

#include "store/keyspace.h"

struct repl;

/* A state machine applying entries to `store` (which stays the caller's;
 * a restored snapshot is swapped into it) as node `node_id`, whose
 * proposer's batches carry `origin`. */
struct repl *repl_fsm_new(struct store *store, uint64_t node_id, uint64_t origin);
/* What to give raft_init() or raft_fixture_grow(). */
struct raft_fsm *repl_fsm_raft(struct repl *r);
/* Batches skipped because their (origin, seq) had been applied before. */
uint64_t repl_fsm_duplicates_skipped(struct repl *r);
void repl_fsm_free(struct repl *r);

#endif
