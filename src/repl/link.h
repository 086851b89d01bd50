/* repl/link.h — this node's connections to other nodes' client ports: the
 * follower's forwarding link to the leader (link.c, PARLEY.FWD), single
 * commands to a peer (ask.c), both over a peer connection (peerconn.c:
 * net/outconn.h plus the PARLEY.PEER handshake). */
#ifndef PARLEY_REPL_LINK_H
#define PARLEY_REPL_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

struct repl;

/* The follower's link to the leader's client port. */
struct link;
struct repl_link {
    struct link *current;        /* to the announced leader, or NULL */
    int64_t retry_at_us;         /* no new link before (monotonic) */
};

/* peerconn.c: a connection to another node's client port (with
 * tls-cluster its tls-port, over TLS) that has proved it comes from a
 * node of the cluster (see the file). Callbacks
 * never run before peerconn_open returns, nor after peerconn_close; after
 * on_fail the connection is gone. Requests go in only once it is ready. */
struct peerconn;
struct peerconn_handlers {
    void *arg;
    void (*on_ready)(void *arg);                               /* may be NULL */
    void (*on_reply)(void *arg, const char *reply, size_t len); /* one whole reply */
    void (*on_fail)(void *arg, const char *why);
};
/* expected_id: the node meant to answer (0: any node of the cluster). */
struct peerconn *peerconn_open(struct repl *r, const char *addr, uint64_t expected_id,
                               unsigned handshake_timeout_ms, const struct peerconn_handlers *h);
bool peerconn_ready(const struct peerconn *pc);
struct buf *peerconn_out(struct peerconn *pc); /* append requests (ready only) */
void peerconn_request(struct peerconn *pc, int argc, const char *const *argv);
void peerconn_flush(struct peerconn *pc);      /* write what was appended */
/* Fails the connection with `why` unless closed within timeout_ms. */
void peerconn_deadline(struct peerconn *pc, unsigned timeout_ms, const char *why);
void peerconn_close(struct peerconn *pc);

/* link.c */
void link_update(struct repl *r);      /* follow the announced leader */
void link_send_queued(struct repl *r); /* forward QUEUED batches */
void link_flush(struct repl *r);       /* end of tick: write what was sent */
void link_close(struct repl *r);

/* ask.c: one command to another node's client port, over a peer
 * connection to the node expected_id (0: any node of the cluster); cb gets
 * the first reply line (no CRLF), or an "-ERR ..." of ours; never before
 * ask_start returns, never after ask_cancel. */
struct ask;
typedef void ask_cb(void *arg, const char *line, size_t len);
struct ask *ask_start(struct repl *r, const char *addr, uint64_t expected_id, int argc,
                      const char *const *argv, unsigned timeout_ms, ask_cb *cb, void *arg);
void ask_cancel(struct ask *a);

#endif
