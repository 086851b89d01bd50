/* repl/transport.h — libraft's transport (transport.c): TCP with the
 * cluster handshake (base/peerauth.h) in front of every connection, and TLS
 * with tls-cluster (net/tlspipe.c). */
#ifndef PARLEY_REPL_TRANSPORT_H
#define PARLEY_REPL_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <uv.h>

#include "base/peerauth.h"

struct handshake;
struct tls_pipe_entry;
struct tls_ctx;
struct peer_transport {
    struct raft_uv_transport outer; /* what raft_uv_init is given */
    uv_loop_t *loop;
    const char *secret;             /* cluster-secret; "" when none */
    raft_id id;
    char address[PEERAUTH_ADDR_MAX + 1];
    uv_tcp_t listener;
    bool listener_open, closing;
    raft_uv_accept_cb accept_cb;
    raft_uv_transport_close_cb close_cb;
    struct handshake *handshakes;   /* connections not yet libraft's */
    unsigned n_incoming;            /* ... of them accepted ones */
    /* tls-cluster: the slots of the contexts new connections use (a reload
     * replaces what they hold); NULL without it. */
    struct tls_ctx *const *tls_server, *const *tls_client;
    struct tls_pipe_entry *pipes;   /* TLS pipes not yet closed */
};
int transport_init(struct peer_transport *t, uv_loop_t *loop, const char *secret,
                   struct tls_ctx *const *tls_server, struct tls_ctx *const *tls_client);
void transport_close(struct peer_transport *t);

#endif
