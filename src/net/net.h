/* net/net.h — TCP listeners and connections on libuv.
 *
 * net/ owns sockets and their buffers and knows nothing about commands:
 * server connections parse their input with the RESP parser and hand each
 * command to the `on_command` callback that server/ registered (a node's
 * own connections to other nodes' client ports are net/outconn.h's). Replies are
 * appended to a connection's output buffer at any time and written once per
 * event-loop tick by net_flush(), so a pipeline of a hundred commands costs
 * one write(2).
 *
 * A connection can be paused (its input stays buffered and unparsed) and
 * resumed; it is closed at once (net_conn_close) or after its pending output
 * is written (net_conn_close_after_flush). The owner learns of every close
 * through on_close, exactly once, as soon as the close begins, and must not
 * touch the connection after.
 *
 * TLS: a listener opened with net_listen(..., tls = true) wraps each
 * connection it accepts in a base/tls.h engine made from the context of
 * net_tls_reload. Everything above is the same for such a connection (the
 * owner sees plaintext commands and writes plaintext replies, and the
 * query-buffer and output limits count plaintext); a connection that fails
 * its handshake, or has not finished it within tls_handshake_timeout_ms, is
 * closed. */
#ifndef PARLEY_NET_NET_H
#define PARLEY_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "resp/parse.h"

struct net_conn;

struct net_handlers {
    void *ctx;
    /* A new connection was accepted (server side). */
    void (*on_accept)(void *ctx, struct net_conn *c);
    /* One parsed command. Return false to pause the connection: no more
     * commands are parsed until net_conn_resume. */
    bool (*on_command)(void *ctx, struct net_conn *c, int argc, const struct resp_arg *argv);
    /* Input that cannot be parsed. `error` is the reply without the "-"
     * ("ERR Protocol error: ..."). Nothing more is parsed; the owner sends
     * the error after the replies still due to earlier commands and then
     * closes (net_conn_close_after_flush). NULL: the error is written at
     * once and the connection closed after it. */
    void (*on_protocol_error)(void *ctx, struct net_conn *c, const char *error);
    void (*on_close)(void *ctx, struct net_conn *c);
};

struct net_limits {
    long long max_bulk_len;       /* proto-max-bulk-len */
    size_t query_buffer_max;      /* client-query-buffer-limit */
    size_t output_hard_max;       /* client-output-buffer-limit normal hard (0 = none) */
    size_t output_soft_max;       /* ... soft (0 = none) */
    int output_soft_seconds;      /* ... soft seconds */
    size_t pubsub_hard_max;       /* client-output-buffer-limit pubsub, for */
    size_t pubsub_soft_max;       /* connections marked with net_conn_set_pubsub */
    int pubsub_soft_seconds;
    size_t output_pause_bytes;    /* stop reading a client while this much is unsent */
    int64_t tls_handshake_timeout_ms; /* drop a TLS client whose handshake takes longer */
};

struct net;
struct net *net_new(uv_loop_t *loop, const struct net_handlers *handlers,
                    const struct net_limits *limits);
/* Listens on each space-separated address of `bind` (IPv4 or IPv6) at port,
 * speaking TLS if `tls` (net_tls_reload must have succeeded first).
 * Returns 0, or a negative libuv error with a message in err. */
int net_listen(struct net *n, const char *bind, int port, bool tls, char *err, size_t errlen);
/* Moves the plaintext (or, with `tls`, the TLS) listeners to `port` on
 * `bind`: the new ones are opened first, and only once every address is
 * bound are the old ones closed; connections already accepted stay open.
 * On failure nothing changes and the error is returned as net_listen's.
 * Port 0 closes them. */
int net_relisten(struct net *n, const char *bind, int port, bool tls, char *err, size_t errlen);
/* Builds the TLS server context from s; on success connections accepted
 * from now on use it (those already open keep theirs) and 0 is returned;
 * on failure the context in use is kept, and -1 comes with Redis's reason
 * in err. */
struct tls_settings;
int net_tls_reload(struct net *n, const struct tls_settings *s, char *err, size_t errlen);
/* Stops listening and closes every connection. */
void net_close_all(struct net *n);
void net_free(struct net *n);
/* Parses the buffered input of connections resumed since the last call. */
void net_run_resumed(struct net *n);
/* Writes pending output. Call once per loop iteration, before the loop
 * blocks (server/ does both from its uv_prepare handle). */
void net_flush(struct net *n);
void net_update_limits(struct net *n, const struct net_limits *limits);

/* Per-connection API. */
struct buf *net_conn_out(struct net_conn *c); /* append replies here */
void net_conn_write(struct net_conn *c, const void *p, size_t len);
void net_conn_close(struct net_conn *c);
void net_conn_close_after_flush(struct net_conn *c);
/* From on_accept: refuses the connection, sending `reply` (whole protocol
 * text) before closing. Counted in rejected_connections, not in
 * connections_received. */
void net_conn_reject(struct net_conn *c, const char *reply);
void net_conn_pause(struct net_conn *c);
/* Stops parsing the connection's commands but keeps reading it, so that a
 * hang-up is noticed (a client blocked in BLPOP); net_conn_resume ends it. */
void net_conn_hold(struct net_conn *c);
/* Subscribed clients are held to the pubsub class of output limits. */
void net_conn_set_pubsub(struct net_conn *c, bool pubsub);
void net_conn_resume(struct net_conn *c);
bool net_conn_paused(const struct net_conn *c);
bool net_conn_closing(const struct net_conn *c);
void *net_conn_data(const struct net_conn *c);
void net_conn_set_data(struct net_conn *c, void *data);
const char *net_conn_peer(const struct net_conn *c); /* "ip:port" */
const char *net_conn_local(const struct net_conn *c); /* "ip:port" */
int net_conn_fd(const struct net_conn *c);
size_t net_conn_query_len(const struct net_conn *c);
size_t net_conn_query_cap(const struct net_conn *c);
size_t net_conn_output_len(const struct net_conn *c); /* unsent bytes */
/* The connection came through a TLS listener. */
bool net_conn_is_tls(const struct net_conn *c);
/* A TLS connection whose client showed a certificate the CA signed. */
bool net_conn_peer_verified(const struct net_conn *c);
/* Parser limits apply per connection (inline/multibulk caps). */
struct resp_parser *net_conn_parser(struct net_conn *c);

/* Counters for INFO. */
struct net_stats {
    uint64_t connections_received;
    uint64_t rejected_connections;
    uint64_t net_input_bytes;
    uint64_t net_output_bytes;
    uint64_t connected;
};
const struct net_stats *net_get_stats(const struct net *n);

#endif
