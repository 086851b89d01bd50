/* repl/repl.h — the replicated write path, as server/ sees it.
 *
 * Everything that changes the keyspace goes through here: server/ submits a
 * command with the reply slot its client waits on; at the end of the
 * event-loop tick repl_flush() seals the tick's commands into a batch and
 * either proposes it to libraft (leader) or forwards it to the leader
 * (follower). When the entry is committed (durable on a quorum) every node
 * applies it in log order; the node whose client sent a command writes that
 * command's reply into the client's slot. A slot therefore always receives
 * its replies in the order its commands were submitted.
 *
 * Reads: repl_can_read_locally() says whether this node may answer a read
 * from its own keyspace right now and stay linearizable (it is the leader,
 * has applied its own term's first entry, and holds a read lease). When it
 * may not, the read is submitted like a write and answered from the log.
 *
 * Every submitted command is answered exactly once: with its result, or
 * with an error if no leader could take it before request-timeout-ms. */
#ifndef PARLEY_REPL_REPL_H
#define PARLEY_REPL_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/histogram.h"
#include "resp/parse.h"
#include "store/evict.h"
#include "store/keyspace.h"

/* Where the replies of one or more commands of one client go. Owned by
 * server/; repl writes into `reply`, decrements `pending` once per command
 * and calls on_ready when it reaches zero. */
struct reply_slot {
    struct buf reply;
    uint32_t pending;    /* repl holds a reference while this is > 0 */
    void *owner;         /* NULL when the client has gone away */
    struct reply_slot *next;
    void (*on_ready)(struct reply_slot *slot);
    /* The client's output hard limit (0: none). Apply stops filling a slot
     * that grows past it and sets overflowed: the owner then closes the
     * client, as Redis closes one over client-output-buffer-limit. */
    size_t max_bytes;
    bool overflowed;
    void *waiter;        /* the owner's: a blocked client's wait (server/) */
    bool silent;         /* the owner's: its reply is dropped (CLIENT REPLY) */
};

struct tls_ctx;
struct repl_config {
    uint64_t node_id;
    const char *raft_addr;       /* host:port of this node's Raft transport */
    const char *cluster;         /* "1@host:port,2@host:port,..." */
    const char *join;            /* a member's client address: join, don't bootstrap */
    const char *dir;             /* data directory (libraft's files) */
    const char *announce_addr;   /* host:port clients and peers use for this node */
    const char *cluster_secret;  /* peers prove they know it (base/peerauth.h); "" none */
    /* tls-cluster: host:port of this node's tls-port, where other nodes'
     * peer connections (repl/peerconn.c) reach it; NULL or "" without. */
    const char *tls_announce_addr;
    /* tls-cluster: slots holding the TLS contexts (base/tls.h) the Raft
     * transport uses for connections it accepts and makes, both verifying
     * the peer's certificate; what a slot holds when a connection starts is
     * what it uses (server/ replaces it on a reload). NULL: plain TCP. */
    struct tls_ctx *const *tls_cluster_server, *const *tls_cluster_client;
    unsigned election_timeout_ms;
    unsigned heartbeat_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    size_t log_max_bytes;        /* snapshot once this much was applied since the last (0: off) */
    size_t log_trailing_bytes;   /* at most this much kept behind a snapshot */
    unsigned request_timeout_ms;
    size_t max_inflight_bytes;   /* proposed but not yet applied */
    size_t max_entry_bytes;      /* split a tick's entry above this */
    long long max_bulk_len;      /* proto-max-bulk-len, carried in entries */
    bool lease_reads;            /* false: every read goes through the log */
    bool log_prewrite;           /* write libraft's segments' blocks when prepared (segalloc.c) */
    bool force_new_cluster;      /* start as the only voter, with this node's log */
    unsigned divergence_check_interval_ms; /* leader's checks (0: none) */
    uint64_t apply_skip_index;   /* apply-skip-entry: skip that entry (0: none) */
    unsigned snapshot_timeout_ms; /* a snapshot's child is killed after this */
};

struct repl;

/* Callbacks into server/ (repl must not include server headers). */
struct repl_hooks {
    void *ctx;
    /* In-flight bytes fell below the bound: paused clients may resume. */
    void (*on_unblocked)(void *ctx);
    /* A blocking command of this node found nothing when applied: slot
     * keeps its pending count; the command is argv (valid during the call):
     * the one submitted, or the one its wait note asks to retry with
     * (repl/note.c: XREAD with `$`). */
    void (*on_blocked)(void *ctx, struct reply_slot *slot, int db, int proto, int argc,
                       const struct resp_arg *argv);
    /* A command whose client has gone away was applied with this reply
     * (the server may undo what it took: an element popped for no one). */
    void (*on_orphan_reply)(void *ctx, int db, int argc, const struct resp_arg *argv,
                            const char *reply, size_t len);
    /* Work on the loop that took `ms` (server/latency.h's events: "fork",
     * "snapshot"). */
    void (*on_latency)(void *ctx, const char *event, int64_t ms);
};

/* Opens the data directory, bootstraps it from `cluster` if it is new,
 * loads the latest snapshot and log, and starts Raft. On failure returns
 * NULL with a one-line reason in err. The store's contents are replaced by
 * the snapshot; `store` stays owned by the caller. */
struct repl *repl_start(uv_loop_t *loop, struct store *store,
                        const struct repl_config *cfg, const struct repl_hooks *hooks,
                        char *err, size_t errlen);
/* Leaves the cluster politely (transfers leadership when leading), fails
 * what is pending, closes Raft; cb runs when every handle is closed. */
void repl_stop(struct repl *r, void (*cb)(void *arg), void *arg);

/* NULL if the command can be submitted; otherwise the error to answer it
 * with (Raft entries have a size limit, entry.h). Ask before taking a reply
 * slot, so the error keeps its place among the client's replies. */
const char *repl_refuse(int argc, const struct resp_arg *argv);
/* Submits one command for the log; its reply goes to slot. Returns false
 * when the proposer is over its in-flight bound: the caller should stop
 * reading from this client until on_unblocked. A command repl_refuse()
 * refuses is answered with that error at once instead. */
/* CLIENT PAUSE began (true) or ended (false): active expiry stops meanwhile
 * (expire.c). */
void repl_expire_pause(struct repl *r, bool paused);

bool repl_submit(struct repl *r, struct reply_slot *slot, int db, int proto, int argc,
                 const struct resp_arg *argv);
/* Submits a blocked command again for a slot that still counts it. */
void repl_resubmit(struct repl *r, struct reply_slot *slot, int db, int proto, int argc,
                   const struct resp_arg *argv);
/* A batch forwarded by a follower (PARLEY.FWD): proposed as is; the reply
 * (an array with one bulk string per command, each the raw RESP reply) is
 * written to slot once applied. */
void repl_submit_forwarded(struct repl *r, struct reply_slot *slot, uint64_t origin,
                           uint64_t seq, uint32_t n_commands, const char *body, size_t len);
/* End of tick: seal and send what was submitted, check leadership. */
void repl_flush(struct repl *r);

bool repl_can_read_locally(struct repl *r);
/* NULL while this node's Raft log reaches its disk; otherwise the MISCONF
 * error (without '-') every command that would need the log is refused
 * with, before it is proposed (repl/diskwatch.c). Valid until the next call. */
const char *repl_disk_refusal(struct repl *r);
/* The time a read served now must use for expiry (never behind the log). */
int64_t repl_read_time_ms(struct repl *r);
/* proto-max-bulk-len changed (CONFIG SET): entries proposed from now on
 * carry the new limit. */
void repl_set_max_bulk_len(struct repl *r, long long max_bulk_len);
/* maxmemory (bytes, 0: none), maxmemory-policy and maxmemory-samples: what
 * this node decides with when it leads (repl/memory.c). */
void repl_set_memory(struct repl *r, long long maxmemory, enum evict_policy policy, int samples);
/* This node's client address changed (CONFIG SET port): it registers the
 * new one through the log as it does after every leader change (the
 * leader announces itself again, a follower sends its member record), so
 * followers forward to it and RAFT MEMBERS shows it. */
void repl_set_announce_addr(struct repl *r, const char *addr);
/* divergence-check-interval-ms changed (CONFIG SET); 0 stops the checks. */
void repl_set_divergence_check_interval(struct repl *r, unsigned interval_ms);
/* This process's identity in the log (the origin of its batches). */
uint64_t repl_origin(struct repl *r);
/* The reply slot of the command being applied now, when it came from this
 * node (CLIENT TRACKING's NOLOOP: whose change it is); else NULL. */
struct reply_slot *repl_applying_slot(struct repl *r);
/* Frees what repl_stop left, after its callback ran. */
void repl_free(struct repl *r);

/* Installs the fatal-signal handler (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT) that logs the log entry and command being applied, if any, and
 * a backtrace, then dies of the signal (repl/poison.c). Once, at start-up,
 * after the log file is set. */
void repl_crash_report_install(void);
/* Internal commands a follower may forward for itself (its registration
 * with the leader, its apply-skip-entry record): PARLEY.FWD accepts them. */
bool repl_internal_forwardable(const char *name, size_t len);

/* Introspection for INFO and RAFT INFO. */
struct repl_info {
    uint64_t node_id;
    const char *role;        /* "leader", "follower", "candidate", "unavailable" */
    uint64_t term;
    uint64_t leader_id;
    const char *leader_addr; /* the leader's client address, "" if unknown */
    uint64_t commit_index, applied_index, last_index, snapshot_index;
    uint64_t entries_proposed, batches_proposed, commands_applied;
    uint64_t batches_forwarded, duplicates_skipped;
    uint64_t config_committed_index, config_uncommitted_index, config_repairs;
    size_t inflight_bytes, pending_batches;
    bool lease_valid;
    int64_t lease_remaining_ms;
    int64_t lease_window_ms;          /* what a lease lasts now (0: no lease) */
    unsigned election_timeout_ms;     /* the one libraft runs with (node.c) */
    /* Divergence checks this node compared (divergence.c): equal digests,
     * differing ones, and the log index of the last that differed. */
    uint64_t divergence_checks_passed, divergence_checks_failed;
    uint64_t divergence_last_failed_index;
    /* Nodes that skip an entry (apply-skip-entry), as the log recorded
     * them: "node@index,..." or "". */
    const char *apply_skipped;
    /* This node's active expiry cycle (expire.c; only a leader's runs), as
     * Redis's INFO stats shows its own: the running estimate of the share
     * of expired keys among those checked, the cycles stopped by their time
     * budget, and the time spent in cycles. */
    double expired_stale_perc;
    uint64_t expired_time_cap_reached_count;
    uint64_t expire_cycle_cpu_ms;
    /* The Raft log (logbound.c): bytes and entries it holds (the command
     * entries this node applied and still keeps, plus those not applied
     * yet, counted in entries only), its bounds, and the snapshots the
     * byte bound started. */
    size_t log_bytes, log_entries;
    size_t log_max_bytes, log_trailing_bytes;
    uint64_t snapshots_by_bytes;
    /* Snapshots written by a child (snapfork.c). */
    int snapshot_child_pid;      /* 0: none running */
    size_t snapshot_buffer_bytes;
    uint64_t snapshots_started, snapshots_taken, snapshots_failed;
    size_t snapshot_last_bytes;
    int64_t snapshot_last_fork_us;
    int64_t snapshot_last_taken_ms; /* wall clock; 0: none since start */
    /* Backups (bgsave.c): a BGSAVE running (or about to fork), one
     * scheduled, how long the current and the last took (-1: none), the
     * last one's status, and the last good SAVE or BGSAVE (0: none). */
    bool bgsave_in_progress, bgsave_scheduled, bgsave_last_failed;
    int64_t bgsave_current_secs, bgsave_last_secs;
    int64_t save_last_ok_ms;
    /* Changes (keyspace events) this node applied since the state its last
     * snapshot holds (since start before the first):
     * rdb_changes_since_last_save. */
    uint64_t changes_since_snapshot;
    /* The data directory (diskwatch.c): whether the log cannot reach it
     * now, since when (wall clock ms), why (errno text, "" when fine), the
     * errno of the last failure seen (0: none or libraft's own status), and
     * failures seen since start. */
    bool disk_error;
    int64_t disk_error_since_ms;
    const char *disk_error_reason;
    int disk_last_errno;
    uint64_t disk_write_errors;
    uint64_t log_space_waits;      /* entries libraft refused for want of reserved log space */
    /* Latencies: this leader's entries from raft_apply to applied here
     * (commit), and log writes from libraft's request to synced. */
    const struct histogram *commit_seconds, *append_seconds;
    const struct histogram *snapshot_seconds; /* snapfork.c: fork to encoded */
    uint64_t leader_changes;
    /* Cluster protocol versions (repl/version.c): the one this build
     * supports, and the one the cluster runs (replicated). */
    unsigned protocol_supported, protocol_active;
};
void repl_get_info(struct repl *r, struct repl_info *info);

/* Backups (bgsave.c): the keyspace, as this node applied it, written into
 * the file at path (store/snapshot.h's encoding). BGSAVE forks a child;
 * SAVE encodes and writes on the loop (0, or -1 logged). */
enum repl_bgsave_result {
    REPL_BGSAVE_STARTED,
    REPL_BGSAVE_SCHEDULED,   /* schedule: once the Raft snapshot's child is done */
    REPL_BGSAVE_IN_PROGRESS, /* a BGSAVE runs */
    REPL_BGSAVE_CHILD_ACTIVE, /* a Raft snapshot's child runs */
    REPL_BGSAVE_FAILED,      /* the fork failed */
};
enum repl_bgsave_result repl_bgsave(struct repl *r, const char *path, bool schedule);
int repl_save(struct repl *r, const char *path);
/* The current configuration, at most max members; strings stay valid until
 * the loop runs again. */
struct repl_member {
    uint64_t id;
    const char *raft_addr;
    const char *role;        /* "voter", "observer", "spare" */
    const char *client_addr; /* "" until the member has registered it */
    const char *tls_client_addr; /* with tls-cluster; "" otherwise or until registered */
    bool leader, self;
    /* On a leader, the last index it knows the member holds (0: unknown). */
    uint64_t match_index;
    /* The protocol version it registered (this node: its build's); 0 when
     * it registered none (a build before versions) or has not yet. */
    unsigned protocol;
};
#define REPL_MEMBERS_MAX 64
size_t repl_members(struct repl *r, struct repl_member *out, size_t max);
/* WAIT and WAITAOF: how many other members are known to hold, on disk,
 * every entry this node knows committed: on a leader, those whose match
 * index reaches the commit index; never fewer than a quorum's other
 * voters, since a committed entry is on a quorum's disks. */
unsigned repl_replicas_holding_commits(struct repl *r);

/* Membership and leadership (RAFT NODE ..., RAFT TRANSFER), on any node: a
 * follower passes the command on to the leader. The one-line reply ("+OK"
 * or an error) goes to slot once the change has committed. */
enum repl_member_op { REPL_NODE_ADD, REPL_NODE_PROMOTE, REPL_NODE_REMOVE, REPL_TRANSFER };
struct repl_member_change {
    enum repl_member_op op;
    uint64_t id;          /* TRANSFER: 0 lets libraft choose */
    const char *addr;     /* ADD: the node's raft host:port */
    bool observer;        /* ADD: a non-voting member that receives the log */
    bool role_given;      /* ADD: VOTER or OBSERVER was said; if not, any
                             current member is answered OK as it is */
};
void repl_change_members(struct repl *r, struct reply_slot *slot,
                         const struct repl_member_change *change);

#endif
