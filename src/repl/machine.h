/* repl/machine.h — the replicated state machine's own state (apply.c):
 * what the log replicates besides the keyspace (the dedup table, the
 * members' records, the leader's announce, the apply clock, the poisoned
 * entries skipped), kept in snapshots, and apply's scratch. */
#ifndef PARLEY_REPL_MACHINE_H
#define PARLEY_REPL_MACHINE_H

#include <raft.h>
#include <stdint.h>

#include "base/buf.h"
#include "resp/parse.h"
#include "store/dict.h"

struct repl;
struct foreign;

/* poison.c: a node that skips an entry (apply-skip-entry), as the log
 * recorded it; replicated, kept in snapshots. */
struct skip_record {
    uint64_t node, index;
};
#define SKIPPED_MAX 64

struct repl_machine {
    struct raft_fsm fsm;
    /* Replicated state besides the keyspace (kept in snapshots). */
    int64_t apply_time_ms;
    struct dict dedup;           /* origin (8 bytes) -> last seq; aux = time */
    struct dict members;         /* node id (decimal) -> client address */
    uint64_t announced_node, announced_term;
    unsigned active_version;     /* the cluster's protocol version (version.c) */
    /* poison.c: who skips which entry, our own record in flight, and RAFT
     * INFO's text of the table. */
    struct skip_record skipped[SKIPPED_MAX];
    unsigned n_skipped;
    uint64_t skip_seq;
    char skipped_text[SKIPPED_MAX * 44];
    /* The log index of the entry being applied, 0 outside apply. */
    uint64_t applying_index;
    struct reply_slot *applying_slot; /* its command's, when this node's client sent it */
    uint64_t expire_rng;
    /* Apply scratch */
    struct argv_room args;
    struct buf scratch;
    struct buf fwd_reply;
    /* Counters */
    uint64_t commands_applied, duplicates_skipped;
};

/* apply.c */
/* A decimal argument of an internal command (0 if it is not one). */
uint64_t repl_arg_u64(const struct resp_arg *a);
void fsm_init(struct repl *r);
/* The replication state a snapshot carries next to the keyspace (apply.c). */
void fsm_encode_aux(struct repl *r, struct buf *aux);
/* The keyspace with `aux`, in the snapshot format the cluster's active
 * protocol version lets every member read (snapshots and backups). */
void fsm_encode_keyspace(struct repl *r, const void *aux, size_t aux_len, struct buf *out);
void fsm_close(struct repl *r);
struct foreign *foreign_take(struct repl *r, uint64_t origin, uint64_t seq);
void foreign_fail_all(struct repl *r, const char *error);

/* apply.c: what a member registered: its client address (or NULL) and its
 * election timeout (0 while unknown). */
const char *repl_member_client_addr(struct repl *r, uint64_t node);
/* Its TLS client address (tls-port; "" if it registered none), or NULL. */
const char *repl_member_tls_addr(struct repl *r, uint64_t node);
/* Where this node reaches another's client port as a peer (peerconn.c):
 * its TLS client address with tls-cluster, else its client address; NULL
 * or "" while unknown. */
const char *repl_member_peer_addr(struct repl *r, uint64_t node);
unsigned repl_member_election_timeout(struct repl *r, uint64_t node);
/* The protocol version it registered (0: none said, or not registered). */
unsigned repl_member_protocol(struct repl *r, uint64_t node);

#endif
