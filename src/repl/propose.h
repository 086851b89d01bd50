/* repl/propose.h — the proposer (propose.c) and the read lease: this
 * node's commands collected into one batch per tick, proposed to Raft on a
 * leader or forwarded to it from a follower (link.c), answered when applied
 * or failed on time-out or shutdown; and the lease under which a leader
 * answers reads without a log entry. */
#ifndef PARLEY_REPL_PROPOSE_H
#define PARLEY_REPL_PROPOSE_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/histogram.h"
#include "repl/repl.h"
#include "resp/parse.h"

struct repl;

/* A batch of commands collected by this node's proposer. */
enum batch_state {
    BATCH_QUEUED,   /* not sent anywhere yet (or to be re-sent) */
    BATCH_SENT,     /* proposed to our Raft, or forwarded to the leader */
};

struct batch {
    uint64_t seq;
    enum batch_state state;
    bool internal;               /* proposed by repl itself (no clients) */
    struct buf body;             /* encoded commands */
    uint32_t n;                  /* commands */
    struct reply_slot **slots;   /* one per command (NULL: no client) */
    uint32_t slots_cap;
    int64_t created_us;          /* monotonic */
    int64_t proposed_us;         /* when last sent (lease start) */
    uint64_t sent_term;          /* term of the leader it was last sent to */
    uint64_t sent_term_before;   /* sent_term before the entry being built */
    bool held;                   /* in the entry libraft refused for want of space */
    struct batch *next;
};

/* A batch a follower forwarded to us (the leader), waiting to be applied. */
struct foreign {
    uint64_t origin, seq;
    uint32_t n;
    struct reply_slot *slot;
    struct foreign *next;
};

/* An entry we proposed, for in-flight accounting. */
struct proposal {
    struct raft_apply req;
    struct repl *r;
    size_t bytes;
    int64_t start_us;            /* monotonic: when it went to libraft */
};

struct repl_proposer {
    uint64_t origin;             /* this process: node id and incarnation */
    uint64_t next_seq;
    struct batch *current;       /* open batch of this tick, or NULL */
    struct batch *pending_head, *pending_tail;
    size_t n_pending;
    size_t pending_size;         /* bytes of pending batch bodies */
    struct foreign *foreign_head, *foreign_tail;
    struct buf foreign_bodies;   /* batches forwarded to us this tick */
    uint32_t foreign_count;
    /* An entry libraft refused for want of reserved log space (RAFT_NOSPACE),
     * finished and offered again before anything newer (propose.c). */
    struct buf held;
    bool held_foreign;           /* it carries batches followers forwarded */
    size_t inflight_bytes;
    bool blocked;                /* told a client to pause */
    int last_state;              /* raft state seen at the last tick */
    bool announce_again;         /* our client address changed (repl_set_announce_addr) */
    uint64_t last_term;
    int64_t time_floor_ms;       /* entry times never go backwards */
    uint64_t seed_rng;           /* the seeds entries carry */
    /* Counters */
    uint64_t entries_proposed, batches_proposed, batches_forwarded;
    uint64_t leader_changes;     /* leaders seen (a new id or term with a leader) */
    uint64_t seen_leader, seen_leader_term;
    struct histogram commit_seconds; /* proposed entries: raft_apply to applied here */
};

/* The read lease (monotonic microseconds). */
struct repl_lease {
    int64_t until_us;
    uint64_t ready_term;         /* our announce for this term is applied */
    bool wanted;                 /* reads arrived while the lease ran low */
    int64_t window_us;           /* 0.8 x the smallest voter election timeout */
    uint64_t member_sent_term;   /* the announce we registered ourselves for */
};

/* propose.c */
void propose_tick(struct repl *r);
void propose_on_applied_own(struct repl *r, struct batch *b);
struct batch *propose_find_pending(struct repl *r, uint64_t seq);
void propose_remove(struct repl *r, struct batch *b);
void propose_fail_all(struct repl *r, const char *error);
/* The data directory cannot be written (diskwatch.c): the commands of this
 * node's clients that wait for the log are answered with MISCONF and
 * dropped: those never sent anywhere as not executed; with `sent_too`,
 * those already in an entry or forwarded as "may or may not have been
 * executed" (libraft writes the entry once it can, or a leader with room
 * commits it). Internal batches go on. */
void propose_refuse_all(struct repl *r, bool sent_too);
/* Our batch `seq` was applied: any of ours still pending below it can never
 * be (apply would skip it as a duplicate), so its commands are failed now. */
void propose_overtaken(struct repl *r, uint64_t seq);
void batch_free(struct batch *b);
void slot_answer(struct reply_slot *slot, const char *raw, size_t len);
void propose_housekeeping(struct repl *r);
void propose_requeue_sent(struct repl *r);
/* Seals a batch of its own holding one internal command of repl/ (no
 * client waits for it); returns the batch's seq. */
uint64_t propose_internal(struct repl *r, int argc, const struct resp_arg *argv);

/* note.c: a blocked command's wait note (a NUL, then the command to retry
 * with as a RESP array). note_parse returns its argc with *argv (to free;
 * pointers into p), or 0 when p is not a well-formed note. */
bool note_is(const char *p, size_t len);
int note_parse(const char *p, size_t len, struct resp_arg **argv);

/* propose.c: an internal batch (no clients), and putting it in the queue
 * ahead of the batch this tick is still collecting. */
struct batch *propose_internal_batch(void);
void propose_internal_add(struct batch *b, int db, int argc, const struct resp_arg *argv);
void propose_seal_first(struct repl *r, struct batch *b);

/* propose.c: whether the read lease holds now, renewing nothing. */
bool repl_lease_valid(struct repl *r);

#endif
