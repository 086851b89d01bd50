/* repl/internal.h — the state shared by the files of repl/: struct repl,
 * made of parts that have their own headers (node.h: a node's life;
 * propose.h: the proposer and the read lease; machine.h: the state
 * machine's replicated state; link.h: the forwarding link and the other
 * connections to peers' client ports; transport.h: libraft's
 * transport), and the
 * smaller concerns, declared here.
 *
 *   node.c     libraft set-up: transport, disk, bootstrap, start and stop
 *   propose.c  the proposer: batches per tick, proposing or forwarding,
 *              re-sending after a leader change, timeouts, read lease
 *   apply.c    the state machine: apply, snapshot, restore, dedup table
 *   peerconn.c a connection to another node's client port (net/outconn.h),
 *              authenticated as a peer (PARLEY.PEER): what link.c and ask.c send over
 *   link.c     the follower's connection to the leader (PARLEY.FWD)
 *   transport.c libraft's TCP transport: the cluster handshake, TCP_NODELAY
 *   members.c  membership changes and leadership transfer (RAFT NODE, RAFT TRANSFER)
 *   join.c     a node started with `join` asking to be added
 *   ask.c      one command sent to another node's client port
 *   snapguard.c holds a leader's snapshot while our own is being written
 *   confguard.c repairs the uncommitted configuration index libraft leaves
 *   entry.c    the bytes of a log entry
 *   note.c     the wait note a blocked command may leave instead of a reply
 *   memory.c   maxmemory at the leader: evictions, refusals before proposing
 *   divergence.c the periodic check that every replica holds the leader's data
 *   poison.c   surviving a poisoned entry: the crash report, apply-skip-entry
 *   expire.c   the leader's active expiry: finding expired keys, proposing their deletion
 *   logbound.c the Raft log bounded in bytes: snapshots by bytes, trailing window
 *   diskwatch.c whether the log reaches the disk: stalled appends, the probe, MISCONF
 *   wipeguard.c a member restarted with a wiped data directory refuses to run
 *   version.c  protocol versions: what this build supports, raising the
 *              cluster's active version, refusing what is newer
 *
 * Nothing outside repl/ includes this file. */
#ifndef PARLEY_REPL_INTERNAL_H
#define PARLEY_REPL_INTERNAL_H

/* What a command still waiting for the log is answered when the node stops. */
#define SHUTDOWN_REPLY \
    "-ERR server is shutting down; the command may or may not have been executed\r\n"

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/histogram.h"
#include "base/peerauth.h"
#include "cmds/memlimit.h"
#include "repl/entry.h"
#include "repl/link.h"
#include "repl/machine.h"
#include "repl/node.h"
#include "repl/propose.h"
#include "repl/repl.h"
#include "repl/transport.h"
#include "store/dict.h"
#include "store/keyspace.h"
#include "store/evict.h"

/* memory.c: maxmemory, decided by the leader. */
struct repl_memory {
    long long maxmemory;           /* bytes; 0: no limit */
    enum evict_policy policy;
    int samples;                   /* maxmemory-samples */
    struct memlimit_state gate;    /* what the last measurement decided */
    bool evict_in_flight;          /* one eviction batch at a time */
    uint64_t evict_seq;
    struct evict_pool pool;
    struct argv_room args;         /* for walking batch bodies */
};

/* expire.c: the leader's active expiry cycle (Redis's activeExpireCycle). */
struct repl_expire {
    bool in_flight;              /* one deletion batch at a time */
    uint64_t seq;                /* its seq */
    int next_db;                 /* where the next cycle starts */
    size_t cursor[STORE_DBS];    /* each database's walk (store_scan_expired) */
    bool more_left;              /* the last cycle stopped before it was done */
    bool paused;                 /* CLIENT PAUSE: no key expires (repl_expire_pause) */
    int64_t last_fast_start_us;  /* monotonic */
    /* INFO stats, this node's own (as in Redis) */
    double stale_perc;           /* running estimate of the expired share */
    uint64_t time_cap_reached;   /* cycles stopped by their time budget */
    uint64_t cpu_us;             /* time spent in cycles */
};

/* logbound.c: bytes of the command entries this node has applied and still
 * holds in its log, to snapshot and compact by bytes. */
struct logbound_entry {
    uint64_t index;
    size_t bytes;
};
struct repl_logbound {
    struct logbound_entry *ring; /* applied entries still in the log, oldest first */
    size_t head, n, cap;
    size_t bytes;                /* sum of the ring's bytes */
    size_t since_snapshot_bytes; /* applied since the last snapshot */
    bool triggered;              /* snapshot threshold lowered to take one now */
    uint64_t snapshots_by_bytes; /* snapshots the byte bound started */
    uint64_t drop_through;       /* what the snapshot being written leaves out */
    /* The state machine's callbacks, wrapped (logbound.c). */
    int (*apply)(struct raft_fsm *, const struct raft_buffer *, void **);
    int (*snapshot)(struct raft_fsm *, struct raft_buffer *[], unsigned *);
    int (*restore)(struct raft_fsm *, struct raft_buffer *);
    int (*snapshot_finalize)(struct raft_fsm *, struct raft_buffer *[], unsigned *);
};

/* A snapshot put libraft asked for, held back until it may go on
 * (snapfork.c: until the child's bytes are there; snapprune.c: until a
 * removal of old snapshots is done). libraft has one put at a time. */
typedef int snapshot_put_fn(struct raft_io *, unsigned, struct raft_io_snapshot_put *,
                            const struct raft_snapshot *, raft_io_snapshot_put_cb);
struct held_put {
    bool held;
    struct raft_io *io;
    unsigned trailing;
    struct raft_io_snapshot_put *req;
    const struct raft_snapshot *snapshot;
    raft_io_snapshot_put_cb cb;
};

static inline void held_put_take(struct held_put *h, struct raft_io *io, unsigned trailing,
                                 struct raft_io_snapshot_put *req,
                                 const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    *h = (struct held_put){true, io, trailing, req, snapshot, cb};
}

/* Passes the held put on to `put`; if put refuses it, its callback is
 * answered with put's result, which is returned. */
static inline int held_put_release(struct held_put *h, snapshot_put_fn *put)
{
    struct held_put p = *h;
    h->held = false;
    int rv = put(p.io, p.trailing, p.req, p.snapshot, p.cb);
    if (rv != 0) p.cb(p.req, rv);
    return rv;
}

/* Completes the held put, if any, with `status` (a failure). */
static inline void held_put_cancel(struct held_put *h, int status)
{
    if (!h->held) return;
    h->held = false;
    h->cb(h->req, status);
}

/* snapprune.c: the older snapshots removed from the data directory. */
struct repl_snapprune {
    uv_work_t work;
    bool running, again, closing;
    unsigned removed_now;        /* by the last removal (its thread's) */
    struct held_put held;        /* a put that arrived while a removal runs */
    /* The calls it wraps. */
    snapshot_put_fn *put;
    void (*close)(struct raft_io *, raft_io_close_cb);
    int (*finalize)(struct raft_fsm *, struct raft_buffer *[], unsigned *);
    int (*restore)(struct raft_fsm *, struct raft_buffer *);
};
/* Wraps the io's snapshot_put and close and the state machine's finalize
 * and restore; after the other wrappers (logbound_install). */
void snapprune_install(struct repl *r);
/* Whether a removal is running on libuv's pool (no fork meanwhile). */
bool snapprune_running(const struct repl *r);

/* logfree.c: the log entries libraft frees in a snapshot put's callback,
 * freed a slice per loop iteration. */
struct repl_logfree {
    void **ptrs;        /* recorded, not yet freed: [next, n) */
    size_t next, n, cap;
    bool release_pages; /* once they are freed (base/mem.h) */
    snapshot_put_fn *put; /* the io's, wrapped */
};
/* Wraps the io's snapshot_put; after the other wrappers
 * (snapprune_install). One node per process. */
void logfree_install(struct repl *r);
/* Frees recorded entries for a bounded time: every loop iteration. */
void logfree_step(struct repl *r);
/* Frees the rest, once Raft is closed. */
void logfree_close(struct repl *r);

/* snapfork.c: the snapshot a child process writes, off the loop. */
struct snapfork_job;
struct repl_snapfork {
    struct snapfork_job *job;    /* the one in progress, or NULL */
    int child_pid;               /* its child while it runs, else 0 */
    size_t buffer_bytes;         /* its bytes, mapped, while libraft writes them */
    uint64_t started, taken, failed;
    int64_t last_taken_ms;       /* wall clock of the last one taken (LASTSAVE), 0: none */
    uint64_t last_changes;       /* store->changes when it forked (rdb_changes_since_last_save) */
    size_t last_bytes;
    int64_t last_fork_us;
    struct histogram seconds;    /* snapshots taken: from the fork to the encoded bytes */
    bool last_failed;            /* the latest snapshot was given up */
    int64_t deferred_since_us;   /* the first snapshot put off (RAFT_BUSY), 0: none */
    /* The io's calls, wrapped (snapfork.c). */
    snapshot_put_fn *put;
    void (*close)(struct raft_io *, raft_io_close_cb);
};
/* Replaces the state machine's snapshot callback with one that forks and
 * its finalize with one that frees off the loop, and
 * wraps the io's snapshot_put and close; after fsm_init, before the
 * callbacks are wrapped (memory.c, logbound.c). */
void snapfork_install(struct repl *r);
bool snapfork_last_failed(const struct repl *r);
/* Forks a child that encodes the keyspace (with aux) as store/snapshot.h
 * says, hands the bytes to sink (in the child: system calls only, 0 on
 * success) and exits 0, or 2 when the sink failed. RAFT_BUSY: not now (a
 * thread of ours may be inside the allocator; `overdue` waits for the free
 * thread's current job instead). The caller reaps *pid_out. */
typedef int snapfork_sink_fn(const void *data, size_t len, void *arg);
int snapfork_spawn(struct repl *r, const struct buf *aux, bool overdue, snapfork_sink_fn *sink,
                   void *arg, pid_t *pid_out);
/* write(2) until all of it is written (EINTR retried): for sinks. */
bool snapfork_write_all(int fd, const void *data, size_t len);

/* bgsave.c: backups (SAVE, BGSAVE) written into a file. */
struct bgsave_job;
struct repl_bgsave {
    struct bgsave_job *job;      /* the one in progress (or waiting to fork), or NULL */
    bool scheduled;              /* BGSAVE SCHEDULE while a snapshot's child ran */
    char scheduled_path[4096];
    int64_t last_ok_ms;          /* wall clock of the last good SAVE/BGSAVE, 0: none */
    int64_t last_bgsave_secs;    /* how long the last BGSAVE took, -1: none */
    bool last_bgsave_failed;
    uv_timer_t cron;             /* starts a scheduled BGSAVE */
    bool cron_on;
};
void bgsave_init(struct repl *r);
void bgsave_get_info(const struct repl *r, struct repl_info *info);
/* Whether a backup's child runs (the Raft snapshot waits for it). */
bool bgsave_child_running(const struct repl *r);
/* Raft is closing: the child is killed, its temporary file removed. */
void bgsave_cancel(struct repl *r);


/* diskwatch.c: whether this node's log writes reach its disk. */
struct disk_append;
struct disk_probe;
struct repl_disk {
    int (*append)(struct raft_io *, struct raft_io_append *, const struct raft_entry[], unsigned,
                  raft_io_append_cb);     /* libraft's, wrapped */
    struct disk_append *head, *tail;      /* appends not finished, oldest first */
    size_t outstanding;
    struct disk_probe *probe;             /* the probe running, or NULL */
    int64_t next_probe_us;                /* monotonic */
    bool error;                           /* the data directory cannot be written */
    int64_t since_ms;                     /* wall clock: when the error was found */
    char reason[128];                     /* errno text, while error */
    bool refuse_sent;                     /* libraft holds entries it cannot write */
    int last_errno;                       /* of the last failure seen (0: libraft's status) */
    uint64_t errors_total;                /* failures seen: failed probes, failed appends */
    struct histogram append_seconds;      /* log writes, from libraft's request to synced */
    char refusal[200];                    /* repl_disk_refusal's text */
    struct raft_transfer transfer;        /* a leader in error hands over */
    bool transferring;
    int64_t next_transfer_us;             /* monotonic: the next attempt */
    int64_t nospace_since_us;             /* monotonic: libraft refusing entries since (0: not) */
    bool nospace_logged;                  /* the wait was logged */
    uint64_t nospace_total;               /* entries libraft refused for want of space */
};
/* Wraps the io's append (before raft_init); diskwatch_tick runs every
 * housekeeping period; diskwatch_close when Raft has closed. */
void diskwatch_install(struct repl *r);
/* Whether libraft's segments get their blocks written when prepared
 * (segalloc.c, raft-log-prewrite). */
void segalloc_enable(bool on);
void diskwatch_tick(struct repl *r);
void diskwatch_close(struct repl *r);
/* raft_apply answered RAFT_NOSPACE: fewer than a majority of voters (this
 * node among them, or not) have log space reserved. diskwatch_taken: it
 * took an entry. */
void diskwatch_nospace(struct repl *r);
void diskwatch_taken(struct repl *r);

/* wipeguard.c: a node that bootstrapped its directory in this run, on
 * probation until the log shows whether the cluster knew it before. */
struct repl_wipe {
    bool probation;
    bool history;                 /* seen: the cluster has entries past bootstrap */
    bool said_no_vote;
    int64_t starved_since_us;     /* monotonic: empty heartbeats past our log since */
    int (*start)(struct raft_io *, unsigned, raft_io_tick_cb, raft_io_recv_cb);
    raft_io_recv_cb recv;
    int (*send)(struct raft_io *, struct raft_io_send *, const struct raft_message *,
                raft_io_send_cb);
};
/* Refuses (-1, the reason in err) a directory where a refusal was recorded. */
int wipeguard_check_marker(struct repl *r, char *err, size_t errlen);
/* After snapguard_install and raft_bootstrap, before raft_start:
 * `bootstrapped`: this run wrote the directory's first entry. */
void wipeguard_install(struct repl *r, bool bootstrapped, unsigned voters);
/* apply.c: a registration (__member, __leader) of `node` by process `origin`. */
void wipeguard_registered(struct repl *r, uint64_t node, uint64_t origin);

/* A node's replication: its parts have their own headers (node.h,
 * propose.h, machine.h, link.h); the smaller concerns below keep theirs here. */
/* version.c: this build's protocol version and the raise a leader has in
 * flight. (The active version is replicated: machine.h.) */
struct repl_version {
    unsigned supported;   /* PROTOCOL_BUILD, or less in a test build told so */
    unsigned raising;     /* the version our proposed raise sets (0: none) */
    uint64_t raise_seq;   /* its batch */
};

struct repl {
    uv_loop_t *loop;
    struct store *store;
    struct repl_config cfg;
    struct repl_hooks hooks;
    struct raft *raft;           /* &node.raft_storage, or a test fixture's */

    struct repl_node node;       /* node.h: libraft up and down */
    struct repl_proposer prop;   /* propose.h: batches, proposing, forwarding */
    struct repl_lease lease;     /* propose.h: the read lease */
    struct repl_machine machine; /* machine.h: apply's replicated state */

    struct repl_link link;       /* link.h: a follower's link to the leader */
    struct repl_join join;       /* node.h: joining a cluster */

    /* snapguard.c: an InstallSnapshot held while our own snapshot is written */
    struct {
        int (*start)(struct raft_io *, unsigned, raft_io_tick_cb, raft_io_recv_cb);
        raft_io_tick_cb tick;
        raft_io_recv_cb recv;
        struct raft_message held;
        char held_address[256];
        bool holding;
        /* A leader's InstallSnapshot sends: one in flight at a time. */
        int (*send)(struct raft_io *, struct raft_io_send *, const struct raft_message *,
                    raft_io_send_cb);
        int (*snapshot_get)(struct raft_io *, struct raft_io_snapshot_get *,
                            raft_io_snapshot_get_cb);
        bool install_busy;                /* a snapshot read or sent */
        raft_io_snapshot_get_cb get_cb;
        struct raft_io_send *install_req; /* the send in flight, or NULL */
        raft_io_send_cb install_cb;
    } guard;

    /* confguard.c: when the uncommitted configuration index was first seen */
    struct {
        raft_index index, last;
        raft_term term;
    } conf_seen;

    /* Membership requests in progress (members.c) */
    struct member_req *member_reqs;

    struct repl_memory mem;      /* memory.c */
    struct repl_snapfork snapfork; /* snapfork.c */
    struct repl_bgsave bgsave;   /* bgsave.c */
    struct repl_snapprune snapprune; /* snapprune.c */
    struct repl_logfree logfree; /* logfree.c */
    struct repl_expire expire;   /* expire.c */
    struct repl_logbound logbound; /* logbound.c */
    struct repl_disk disk;       /* diskwatch.c */
    struct repl_wipe wipe;       /* wipeguard.c */
    struct repl_version version; /* version.c */

    /* divergence.c: this node's digest at the last check it applied, and
     * what the checks found. */
    struct {
        bool have;                   /* digest and slice below are valid */
        uint64_t origin, seq;        /* the check's batch: unique in the log */
        uint64_t index;              /* its log index */
        uint64_t digest;             /* of the slice it named */
        int next_db;                 /* where the next slice starts */
        uint64_t next_index;
        uint64_t proposed_seq;       /* our check in flight (0: none) */
        int64_t proposed_us;         /* when we last proposed one */
        uint64_t passed, failed, last_failed_index;
    } div;

    uint64_t config_repairs;     /* confguard.c */
};

/* memory.c. memory_tick (leader, each tick and housekeeping): measures
 * used memory against maxmemory, proposes evictions ahead of the tick's
 * writes, and decides what memory_gate refuses. memory_gate rewrites a
 * batch body about to be proposed (ours or a follower's) into *out and
 * returns true when some command is refused or guarded (memlimit.h); the
 * batch itself keeps its body (it may be sent again, elsewhere). */
void memory_tick(struct repl *r);
bool memory_gate(struct repl *r, const char *body, size_t len, struct buf *out);
void memory_batch_gone(struct repl *r, uint64_t seq);
void memory_close(struct repl *r);

/* expire.c. expire_slow_cycle runs every housekeeping period (100 ms),
 * expire_fast_cycle at the end of every tick; both do something only on a
 * leader that is ready, with no deletion batch of theirs in flight. */
void expire_slow_cycle(struct repl *r);
void expire_fast_cycle(struct repl *r);
void expire_batch_gone(struct repl *r, uint64_t seq);

/* logbound.c: wraps the state machine's apply, snapshot and restore (before
 * raft_init); logbound_close frees what it holds. */
void logbound_install(struct repl *r);
void logbound_close(struct repl *r);
/* Bytes and number of the applied command entries still in the log. */
size_t logbound_bytes(struct repl *r, size_t *entries);

/* snapguard.c: works around libraft 0.22.1's crash when a snapshot
 * arrives while this node writes its own (install after raft_init). */
void snapguard_install(struct repl *r);
void snapguard_close(struct repl *r);

/* confguard.c: works around the configuration index libraft 0.22.1 leaves
 * uncommitted on followers (housekeeping, outside libraft calls). */
void confguard_tick(struct repl *r);

/* members.c */
void members_tick(struct repl *r);   /* housekeeping: deadlines */
void members_close(struct repl *r);

/* join.c */
void join_tick(struct repl *r);
void join_close(struct repl *r);

/* divergence.c: the leader proposes a check every
 * divergence-check-interval-ms (housekeeping); apply runs each one. */
void divergence_tick(struct repl *r);
void divergence_apply(struct repl *r, const struct entry_batch *b, int argc,
                      const struct resp_arg *argv);
/* A snapshot replaced the state: no digest of ours to compare any more. */
void divergence_forget(struct repl *r);

/* poison.c: what apply is running, for the fatal-signal report: set per
 * command (pointers and numbers only), read by the signal handler. */
struct apply_record {
    volatile uint64_t index;            /* the entry's log index; 0: none */
    volatile uint32_t command;          /* the command's position in it, from 1 */
    volatile int argc;
    const struct resp_arg *volatile argv;
};
extern struct apply_record apply_record;
/* apply-skip-entry: whether the entry being applied is the one to skip;
 * a skipped command is logged and answered with an error in dest. */
bool poison_skips_entry(struct repl *r);
void poison_skip_command(struct repl *r, uint32_t command, int argc, const struct resp_arg *argv,
                         struct buf *dest);
void poison_tick(struct repl *r); /* housekeeping: record our skip in the log */
void poison_apply_skipped(struct repl *r, int argc, const struct resp_arg *argv);
/* The skip table in the snapshot's aux section. */
void poison_encode(struct repl *r, struct buf *aux);
int poison_decode(struct reader *rd, struct skip_record *out, unsigned *n);
/* "node@index,..." (valid until the next call). */
const char *poison_skipped_text(struct repl *r);

/* Internal commands of repl/ (never accepted from clients):
 *   __leader <node id> <term> <client address> <election timeout ms> [<TLS
 *            client address>]
 *     the first batch of every term, proposed by its leader;
 *   __member <node id> <client address> <election timeout ms> [<TLS client
 *            address>]
 *     every node registers itself once per leader.
 * The TLS client address (tls-cluster's tls-announce-addr) is sent only
 * when there is one, so a cluster without tls-cluster writes the records
 * older nodes read. */
#define ANNOUNCE_CMD "__leader"
#define MEMBER_CMD "__member"
/*   __check <leader id> <previous check's origin> <its seq> <leader's digest
 *           there> <slice db> <slice index> <slice keys>
 *     a divergence check (divergence.c), proposed by the leader. */
#define DIVERGENCE_CHECK_CMD "__check"
/*   __skipped <node id> <index>
 *     that node skips the commands of that entry (poison.c). */
#define SKIPPED_CMD "__skipped"
/*   __version <protocol version>
 *     raises the cluster's active protocol version (version.c), proposed
 *     by the leader once every member registered support for it.
 * The election timeout of __leader and __member may carry the protocol
 * version the node supports: "<ms>,<version>" (builds before versions
 * read the number before the comma and wrote none). */
#define VERSION_CMD "__version"

/* version.c */
struct cmd_def;
void version_init(struct repl *r);
/* The election timeout argument of our registration, with our version. */
void version_registration_arg(struct repl *r, char *out, size_t len);
/* Reads a registration's election timeout argument: the timeout and the
 * protocol version (0: it said none, a build before versions). */
void version_parse_registration(const struct resp_arg *a, uint64_t *timeout_ms,
                                unsigned *protocol);
/* The protocol version the next entry is written under (entry.h). */
unsigned version_entry_protocol(struct repl *r);
/* Before an entry applies: exits, saying why, if its format or protocol is
 * newer than this build understands. (Without a node, fsm.h, nothing
 * exits: these return, false here, and the thing is left out.) */
bool version_check_entry(struct repl *r, const void *data, size_t len);
/* __version: raises the active version, or exits if this build does not
 * support it. */
void version_apply_raise(struct repl *r, int argc, const struct resp_arg *argv);
/* The replicated active version, set from a snapshot. */
void version_set_active(struct repl *r, unsigned version);
/* Exits, saying why: a snapshot's `what` is at version `found`, newer than
 * `known`, the newest this build reads. */
void version_refuse_snapshot(struct repl *r, const char *what, unsigned found, unsigned known);
/* Exits: a logged command of a protocol version this build lacks. */
void version_refuse_command(struct repl *r, const struct cmd_def *cmd);
/* Housekeeping: the leader raises the active version once it may. */
void version_tick(struct repl *r);

#endif
