/* repl/node.h — a node's life (node.c, and the stop in repl.c): libraft
 * brought up on its disk and transport, the housekeeping timer, and the
 * stop that hands leadership over and closes every handle. */
#ifndef PARLEY_REPL_NODE_H
#define PARLEY_REPL_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "repl/transport.h"

struct repl;

struct repl_node {
    char *dir, *raft_addr, *cluster, *announce_addr;
    struct raft raft_storage;    /* what repl's `raft` points to, outside tests */
    struct raft_io io;
    struct peer_transport transport;
    struct raft_tracer tracer;
    int lock_fd;                 /* flock on <dir>/parley.lock */
    /* The election timeout libraft runs with: the configured one, or the
     * larger one this node registered before a restart until the configured
     * one is registered (node.c, election_timeout_load). */
    unsigned election_timeout_now_ms;
    bool raft_started;
    bool stopping;
    bool proposals_closed;       /* stop_now ran: a command submitted now is answered at once */
    void (*stop_cb)(void *);
    void *stop_arg;
    struct raft_transfer stop_transfer; /* a leader shutting down hands over */
    bool stop_transferring;
    int stop_transfer_attempts;
    int64_t stop_deadline_us;
    int closing_handles;
    uv_timer_t timer;            /* housekeeping: timeouts, expiry, lease */
    uv_check_t check;
    /* node_watch: what was seen at the last loop iteration. */
    struct {
        int state;
        uint64_t term;
        raft_time heard_ms;      /* a follower's last word from its leader (libraft's clock) */
        int64_t iter_us;         /* monotonic: the last iteration */
        int64_t pause_us, pause_before_us; /* longest gap between iterations: now, previous window */
        int64_t window_us;       /* monotonic: when the current window began */
    } watch;
};

/* join.c: a node started with `join` asking to be added. */
struct ask;
struct repl_join {
    struct ask *attempt;         /* the request in flight, if any */
    bool done;
    int64_t retry_at_us;
    char last_error[256];        /* the last reason given, said once */
};

/* node.c */
int node_start(struct repl *r, char *err, size_t errlen);
void node_close(struct repl *r);
bool node_is_leader(struct repl *r);
/* Called every loop iteration: logs why leadership moves (this node stands
 * for election, or stops leading) with what explains it. */
void node_watch(struct repl *r);
/* This node's own registration of `election_timeout_ms` was applied: once
 * it is the configured timeout, libraft may run with it (see node.c). */
void node_election_timeout_registered(struct repl *r, unsigned election_timeout_ms);

#endif
