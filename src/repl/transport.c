/* repl/transport.c — libraft's transport: TCP between nodes, and nothing
 * reaches libraft from a process that has not proved it is a peer.
 *
 * libraft (raft/uv.h) asks a transport for two things: accept connections
 * from other servers, telling it each one's id and address, and connect to
 * a server by id and address. This one does both over TCP with the cluster
 * handshake of base/peerauth.h in front: an accepted connection reaches
 * libraft only after the connector proved it knows the cluster secret
 * (with no secret set, only loopback connectors are taken), and an outgoing
 * one only after the acceptor proved it and said it is the node we meant.
 * The id and address libraft is given are the ones the proof covers.
 * A peer that fails, or says nothing for HANDSHAKE_TIMEOUT_MS, is
 * disconnected and logged (at most a line a second); at most
 * MAX_INCOMING_HANDSHAKES accepted connections wait for their proof at
 * once, later ones are closed at once. An outgoing attempt (lookup, TCP
 * connect and handshake) gets the same bound, so a peer behind a partition
 * costs a retry every few seconds instead of TCP's minutes of SYN
 * retransmissions.
 *
 * With tls-cluster, each TCP stream is wrapped in a TLS session as soon as
 * it is connected or accepted (net/tlspipe.h): both sides must show a
 * certificate the cluster's CA signed, and the handshake above (which also
 * tells the acceptor the connector's id and address) runs inside TLS on the
 * plaintext end of a socketpair, which is what libraft is handed. With a
 * cluster-secret both checks hold; without one the certificate stands for
 * it, and peers need not be on loopback (as on the client-port connections
 * between nodes, repl/peerconn.c, also TLS under tls-cluster). A TLS
 * failure refuses the connection like a wrong proof ("TLS: <OpenSSL's
 * reason>"). The contexts are read from their slots for each new
 * connection, so a certificate reload (CONFIG SET tls-cert-file) applies to
 * the next ones; connections already made keep theirs.
 *
 * Every stream handed to libraft also gets TCP_NODELAY and
 * TCP_USER_TIMEOUT. Without the first, a leader's AppendEntries that
 * follows an unacknowledged small message waits for the peer's delayed ACK
 * (about 40 ms on Linux; a three-node cluster showed p99 latencies of
 * 45 ms). Without the second, a connection whose data goes unacknowledged
 * after a network partition heals carries nothing until TCP's next
 * retransmission, whose delay doubles with every try (the fault suite saw
 * replication resume 5 s after the heal); TCP_USER_TIMEOUT drops it after
 * STALL_TIMEOUT_MS and libraft connects again.
 *
 * Streams are allocated with raft_malloc: libraft releases the ones it is
 * handed with raft_free. */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/tlspipe.h"
#include "repl/internal.h"

/* Longer than any pause a live peer's kernel takes to acknowledge data. */
#define STALL_TIMEOUT_MS 2000
/* A peer that has not finished the handshake by then is dropped. */
#define HANDSHAKE_TIMEOUT_MS 3000
#define MAX_INCOMING_HANDSHAKES 64

enum hs_stage {
    HS_RESOLVING,      /* outgoing: looking the address up */
    HS_CONNECTING,     /* outgoing: TCP connect in flight */
    HS_WAIT_CHALLENGE, /* outgoing: hello sent */
    HS_SEND_PROOF,     /* outgoing: proof being written */
    HS_WAIT_HELLO,     /* incoming */
    HS_WAIT_PROOF,     /* incoming: challenge sent */
    HS_DONE,           /* handed to libraft, or failed: handles closing */
};

/* One connection on its way to libraft, either direction. */
struct handshake {
    struct peer_transport *t;
    struct handshake *prev, *next;
    bool incoming;
    enum hs_stage stage;
    int status;          /* outgoing: what libraft's callback is told */
    int refs;            /* open handles and requests in flight */
    /* What the handshake reads and writes and libraft is handed: the TCP
     * stream, or with tls-cluster the plaintext end of a net/tlspipe.h
     * (which then owns the TCP stream). NULL once handed to libraft. */
    uv_stream_t *stream;
    struct tls_pipe_entry *pipe; /* with tls-cluster, until the handshake ends */
    uv_timer_t timer;
    uv_getaddrinfo_t resolve;
    uv_connect_t connect;
    uv_write_t write;
    uint8_t in[PEERAUTH_HELLO_BYTES]; /* the frame being read */
    size_t in_have, in_want;
    uint8_t out[PEERAUTH_HELLO_BYTES]; /* the frame being written */
    struct peerauth_transcript tr;
    struct raft_uv_connect *req;       /* outgoing */
    raft_uv_connect_cb cb;
    char peer[PEERAUTH_ADDR_MAX + 1];  /* for the log */
};

/* A TLS pipe of this transport: listed until it has closed, so that the
 * transport's close waits for it. */
struct tls_pipe_entry {
    struct peer_transport *t;
    struct tls_pipe_entry *prev, *next;
    struct tlspipe *pipe;
    struct handshake *h; /* told of a TLS failure while in its handshake */
};

static struct peerauth_limiter refused_log;

static struct peer_transport *of(struct raft_uv_transport *t)
{
    return t->impl;
}

static void maybe_closed(struct peer_transport *t)
{
    if (t->closing && t->handshakes == NULL && t->pipes == NULL && !t->listener_open &&
        t->close_cb) {
        raft_uv_transport_close_cb cb = t->close_cb;
        t->close_cb = NULL;
        cb(&t->outer);
    }
}

static void tune(uv_tcp_t *tcp)
{
    CHECK(tcp->type == UV_TCP);
    uv_tcp_nodelay(tcp, 1);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0) {
        unsigned int timeout_ms = STALL_TIMEOUT_MS;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
    }
}

/* --------------------------------------------------------------------
 * Ending a handshake
 * ------------------------------------------------------------------ */

/* The last reference is gone: tell libraft how an outgoing one ended (on
 * failure; success was told when the stream was handed over) and free. */
static void unref(struct handshake *h)
{
    CHECK(h->refs > 0);
    if (--h->refs > 0) return;
    struct peer_transport *t = h->t;
    if (h->prev) h->prev->next = h->next;
    else t->handshakes = h->next;
    if (h->next) h->next->prev = h->prev;
    if (h->incoming) t->n_incoming--;
    struct raft_uv_connect *req = h->req;
    raft_uv_connect_cb cb = h->cb;
    int status = h->status;
    free(h);
    if (req && cb) cb(req, NULL, status);
    maybe_closed(t);
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct handshake *h = handle->data;
    if (handle != (uv_handle_t *)&h->timer) raft_free(handle);
    unref(h);
}

/* The handshake no longer hears of its TLS pipe's failures. */
static void detach_pipe(struct handshake *h)
{
    if (h->pipe == NULL) return;
    tlspipe_quiet(h->pipe->pipe);
    h->pipe->h = NULL;
    h->pipe = NULL;
}

/* Ends a handshake that did not succeed: closes what is open; an outgoing
 * one's callback runs (with status) once everything is closed. */
static void fail(struct handshake *h, int status)
{
    if (h->stage == HS_DONE) return;
    bool resolving = h->stage == HS_RESOLVING;
    h->stage = HS_DONE;
    h->status = status;
    if (resolving) uv_cancel((uv_req_t *)&h->resolve); /* its callback unrefs */
    if (h->pipe) tlspipe_close(h->pipe->pipe); /* it may not be reading its end yet */
    detach_pipe(h);
    if (h->stream) uv_close((uv_handle_t *)h->stream, on_handle_closed);
    h->stream = NULL;
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
}

static void refuse(struct handshake *h, const char *why)
{
    if (h->incoming)
        peerauth_log_refused(&refused_log, "Refused a Raft connection from %s: %s", h->peer, why);
    else
        peerauth_log_refused(&refused_log, "Raft connection to node %" PRIu64 " at %s refused: %s",
                             h->tr.acceptor_id, h->peer, why);
    fail(h, RAFT_NOCONNECTION);
}

/* The stream is authenticated: it is libraft's from now on. */
static void hand_over(struct handshake *h)
{
    struct peer_transport *t = h->t;
    uv_stream_t *stream = h->stream;
    uv_read_stop(stream);
    h->stream = NULL;
    detach_pipe(h);
    CHECK(h->refs > 1); /* the stream's reference goes with it; the timer's stays */
    h->refs--;
    h->stage = HS_DONE;
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
    if (stream->type == UV_TCP) tune((uv_tcp_t *)stream); /* a TLS pipe's TCP was tuned */
    stream->data = NULL;
    if (h->incoming) {
        /* libraft must not hear of a connection once it is closing us. */
        if (t->closing) {
            uv_close((uv_handle_t *)stream, (uv_close_cb)raft_free);
            return;
        }
        log_msg(LOG_VERBOSE, "Raft connection from node %" PRIu64 " (%s) authenticated",
                h->tr.connector_id, h->peer);
        t->accept_cb(&t->outer, h->tr.connector_id, h->tr.connector_addr, stream);
        return;
    }
    struct raft_uv_connect *req = h->req;
    raft_uv_connect_cb cb = h->cb;
    h->req = NULL; /* told now, not when the timer has closed */
    cb(req, stream, 0);
}

/* A callback of a request that held a reference: true (and h may be gone)
 * when the handshake has ended, so the caller must return at once. While
 * it has not, the open timer holds a reference of its own. */
static bool request_done(struct handshake *h)
{
    if (h->stage == HS_DONE) {
        unref(h);
        return true;
    }
    CHECK(h->refs > 1);
    h->refs--;
    return false;
}

static void on_timeout(uv_timer_t *timer)
{
    struct handshake *h = timer->data;
    if (h->stage == HS_RESOLVING || h->stage == HS_CONNECTING) {
        /* Unreachable (down, or cut off): not a refusal; libraft tries again. */
        fail(h, RAFT_NOCONNECTION);
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "no handshake within %d ms", HANDSHAKE_TIMEOUT_MS);
    refuse(h, why);
}

/* --------------------------------------------------------------------
 * Reading exactly one frame
 * ------------------------------------------------------------------ */

static void on_frame(struct handshake *h);

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct handshake *h = handle->data;
    /* Never more than the frame: what follows it is libraft's. */
    buf->base = (char *)h->in + h->in_have;
    buf->len = h->in_want - h->in_have;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct handshake *h = stream->data;
    if (h->stage == HS_DONE) return;
    if (n < 0) {
        refuse(h, n == UV_EOF ? "closed during the handshake" : uv_strerror((int)n));
        return;
    }
    h->in_have += (size_t)n;
    if (h->in_have < h->in_want) return;
    uv_read_stop(stream);
    on_frame(h);
}

static void expect(struct handshake *h, size_t bytes)
{
    CHECK(bytes <= sizeof h->in);
    h->in_have = 0;
    h->in_want = bytes;
    if (uv_read_start(h->stream, on_alloc, on_read) != 0) refuse(h, "cannot read");
}

static void on_written(uv_write_t *req, int status)
{
    struct handshake *h = req->data;
    if (request_done(h)) return;
    if (status != 0) {
        refuse(h, uv_strerror(status));
        return;
    }
    if (h->stage == HS_SEND_PROOF) hand_over(h);
}

static void send_frame(struct handshake *h, size_t bytes)
{
    uv_buf_t b = uv_buf_init((char *)h->out, (unsigned)bytes);
    h->write.data = h;
    if (uv_write(&h->write, h->stream, &b, 1, on_written) != 0) {
        refuse(h, "cannot write");
        return;
    }
    h->refs++;
}

/* A whole frame has arrived: the next step of either side. */
static void on_frame(struct handshake *h)
{
    struct peer_transport *t = h->t;
    enum peerauth_result rv;
    switch (h->stage) {
    case HS_WAIT_HELLO:
        rv = peerauth_hello_read(h->in, &h->tr);
        if (rv != PEERAUTH_OK) {
            refuse(h, peerauth_result_text(rv));
            return;
        }
        peerauth_nonce(h->tr.acceptor_nonce);
        h->tr.acceptor_id = t->id;
        peerauth_challenge_write(h->out, t->secret, &h->tr);
        h->stage = HS_WAIT_PROOF;
        send_frame(h, PEERAUTH_CHALLENGE_BYTES);
        if (h->stage != HS_DONE) expect(h, PEERAUTH_PROOF_BYTES);
        return;
    case HS_WAIT_PROOF:
        rv = peerauth_proof_read(h->in, t->secret, &h->tr);
        if (rv != PEERAUTH_OK) {
            refuse(h, peerauth_result_text(rv));
            return;
        }
        hand_over(h);
        return;
    case HS_WAIT_CHALLENGE: {
        uint64_t expected = h->tr.acceptor_id;
        rv = peerauth_challenge_read(h->in, t->secret, expected, &h->tr);
        h->tr.acceptor_id = expected; /* for the log */
        if (rv != PEERAUTH_OK) {
            refuse(h, peerauth_result_text(rv));
            return;
        }
        peerauth_proof_write(h->out, t->secret, &h->tr);
        h->stage = HS_SEND_PROOF;
        send_frame(h, PEERAUTH_PROOF_BYTES);
        return;
    }
    default:
        CHECK(!"a frame in a stage that reads none");
    }
}

static struct handshake *handshake_new(struct peer_transport *t, bool incoming)
{
    struct handshake *h = xcalloc(1, sizeof *h);
    h->t = t;
    h->incoming = incoming;
    uv_tcp_t *tcp = raft_malloc(sizeof *tcp);
    CHECK(tcp != NULL);
    uv_tcp_init(t->loop, tcp);
    tcp->data = h;
    h->stream = (uv_stream_t *)tcp;
    uv_timer_init(t->loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    h->refs = 2; /* tcp, timer */
    h->next = t->handshakes;
    if (h->next) h->next->prev = h;
    t->handshakes = h;
    if (incoming) t->n_incoming++;
    return h;
}

/* --------------------------------------------------------------------
 * TLS (tls-cluster)
 * ------------------------------------------------------------------ */

static void on_pipe_failed(void *data, const char *why)
{
    struct tls_pipe_entry *e = data;
    if (e->h == NULL) return;
    char text[320];
    snprintf(text, sizeof text, "TLS: %s", why);
    refuse(e->h, text);
}

static void on_pipe_closed(void *data)
{
    struct tls_pipe_entry *e = data;
    struct peer_transport *t = e->t;
    CHECK(e->h == NULL || e->h->pipe == e);
    if (e->h) e->h->pipe = NULL;
    if (e->prev) e->prev->next = e->next;
    else t->pipes = e->next;
    if (e->next) e->next->prev = e->prev;
    free(e);
    maybe_closed(t);
}

/* The TCP stream is connected: from now on it carries TLS (with ctx, which
 * verifies the peer's certificate), and the handshake and libraft use the
 * plaintext end of a pipe instead. False if that failed (h is refused). */
static bool start_tls(struct handshake *h, struct tls_ctx *ctx)
{
    struct peer_transport *t = h->t;
    CHECK(h->stream != NULL && h->stream->type == UV_TCP && h->pipe == NULL);
    uv_tcp_t *tcp = (uv_tcp_t *)h->stream;
    uv_pipe_t *plain = raft_malloc(sizeof *plain);
    CHECK(plain != NULL);
    struct tls_pipe_entry *e = xcalloc(1, sizeof *e);
    e->t = t;
    e->h = h;
    struct tlspipe_hooks hooks = {
        .data = e,
        .on_fail = on_pipe_failed,
        .on_closed = on_pipe_closed,
        .free_tcp = (void (*)(uv_tcp_t *))raft_free,
    };
    tune(tcp);
    int status = 0;
    e->pipe = tlspipe_new(t->loop, tcp, ctx, plain, &hooks, &status);
    if (e->pipe == NULL) {
        free(e);
        raft_free(plain);
        refuse(h, uv_strerror(status));
        return false;
    }
    e->next = t->pipes;
    if (e->next) e->next->prev = e;
    t->pipes = e;
    h->pipe = e;
    plain->data = h;
    h->stream = (uv_stream_t *)plain;
    return true;
}

/* --------------------------------------------------------------------
 * Accepting
 * ------------------------------------------------------------------ */

static void format_peer(uv_tcp_t *tcp, char *out, size_t len)
{
    struct sockaddr_storage ss;
    int n = sizeof ss;
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            snprintf(out, len, "[%s]:%d", ip, port);
            return;
        }
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct peer_transport *t = listener->data;
    if (status != 0 || t->closing) return;
    struct handshake *h = handshake_new(t, true);
    if (uv_accept(listener, h->stream) != 0) {
        fail(h, RAFT_NOCONNECTION);
        return;
    }
    format_peer((uv_tcp_t *)h->stream, h->peer, sizeof h->peer);
    if (t->n_incoming > MAX_INCOMING_HANDSHAKES) {
        refuse(h, "too many connections in their handshake");
        return;
    }
    /* A certificate the cluster's CA signed stands for the secret. */
    if (t->secret[0] == '\0' && t->tls_server == NULL && !peerauth_is_loopback(h->peer)) {
        refuse(h, "not a loopback address, and no cluster-secret is set");
        return;
    }
    if (t->tls_server && !start_tls(h, *t->tls_server)) return;
    h->stage = HS_WAIT_HELLO;
    expect(h, PEERAUTH_HELLO_BYTES);
}

/* --------------------------------------------------------------------
 * Connecting
 * ------------------------------------------------------------------ */

static void on_connected(uv_connect_t *req, int status)
{
    struct handshake *h = req->data;
    if (request_done(h)) return;
    if (status != 0) {
        /* Nobody listening: libraft tries again, no need to log. */
        fail(h, RAFT_NOCONNECTION);
        return;
    }
    struct peer_transport *t = h->t;
    if (t->tls_client && !start_tls(h, *t->tls_client)) return;
    peerauth_nonce(h->tr.connector_nonce);
    h->tr.connector_id = t->id;
    snprintf(h->tr.connector_addr, sizeof h->tr.connector_addr, "%s", t->address);
    peerauth_hello_write(h->out, &h->tr);
    h->stage = HS_WAIT_CHALLENGE;
    send_frame(h, PEERAUTH_HELLO_BYTES);
    if (h->stage != HS_DONE) expect(h, PEERAUTH_CHALLENGE_BYTES);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct handshake *h = req->data;
    if (request_done(h)) {
        if (res) uv_freeaddrinfo(res);
        return;
    }
    if (status != 0 || res == NULL) {
        if (res) uv_freeaddrinfo(res);
        refuse(h, "cannot resolve the address");
        return;
    }
    h->stage = HS_CONNECTING;
    h->connect.data = h;
    int rv = uv_tcp_connect(&h->connect, (uv_tcp_t *)h->stream, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rv != 0) {
        fail(h, RAFT_NOCONNECTION);
        return;
    }
    h->refs++;
}

/* "host:port" or "[v6]:port" into its parts; false if it is neither. */
static bool split_address(const char *address, char *host, size_t host_len, char *port,
                          size_t port_len)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || colon[1] == '\0') return false;
    const char *start = address, *end = colon;
    if (*start == '[') {
        if (end[-1] != ']') return false;
        start++;
        end--;
    }
    if ((size_t)(end - start) >= host_len || strlen(colon + 1) >= port_len) return false;
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = '\0';
    snprintf(port, port_len, "%s", colon + 1);
    return true;
}

static int t_connect(struct raft_uv_transport *transport, struct raft_uv_connect *req, raft_id id,
                     const char *address, raft_uv_connect_cb cb)
{
    struct peer_transport *t = of(transport);
    CHECK(!t->closing);
    char host[PEERAUTH_ADDR_MAX + 1], port[16];
    if (!split_address(address, host, sizeof host, port, sizeof port)) {
        snprintf(transport->errmsg, sizeof transport->errmsg, "bad raft address %.200s", address);
        return RAFT_NOCONNECTION;
    }
    struct handshake *h = handshake_new(t, false);
    h->req = req;
    h->cb = cb;
    h->tr.acceptor_id = id;
    snprintf(h->peer, sizeof h->peer, "%s", address);
    h->stage = HS_RESOLVING;
    h->resolve.data = h;
    static const struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (uv_getaddrinfo(t->loop, &h->resolve, on_resolved, host, port, &hints) != 0) {
        /* Nothing was started that libraft will hear of: say so now. */
        h->req = NULL;
        fail(h, RAFT_NOCONNECTION);
        snprintf(transport->errmsg, sizeof transport->errmsg, "cannot resolve %.200s", address);
        return RAFT_NOCONNECTION;
    }
    h->refs++;
    return 0;
}

/* --------------------------------------------------------------------
 * Listening and closing
 * ------------------------------------------------------------------ */

static int t_init(struct raft_uv_transport *transport, raft_id id, const char *address)
{
    struct peer_transport *t = of(transport);
    t->id = id;
    if (strlen(address) > PEERAUTH_ADDR_MAX) {
        snprintf(transport->errmsg, sizeof transport->errmsg, "raft address too long");
        return RAFT_INVALID;
    }
    snprintf(t->address, sizeof t->address, "%s", address);
    return 0;
}

static int t_listen(struct raft_uv_transport *transport, raft_uv_accept_cb cb)
{
    struct peer_transport *t = of(transport);
    char host[PEERAUTH_ADDR_MAX + 1], port[16];
    if (!split_address(t->address, host, sizeof host, port, sizeof port)) {
        snprintf(transport->errmsg, sizeof transport->errmsg, "bad raft address %.200s", t->address);
        return RAFT_INVALID;
    }
    /* At start-up: a blocking lookup is fine here. */
    uv_getaddrinfo_t req;
    static const struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    int rv = uv_getaddrinfo(t->loop, &req, NULL, host, port, &hints);
    if (rv != 0) {
        snprintf(transport->errmsg, sizeof transport->errmsg, "cannot resolve %.150s: %.80s",
                 t->address, uv_strerror(rv));
        return RAFT_IOERR;
    }
    uv_tcp_init(t->loop, &t->listener);
    t->listener.data = t;
    t->listener_open = true;
    rv = uv_tcp_bind(&t->listener, req.addrinfo->ai_addr, 0);
    if (rv == 0) rv = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    uv_freeaddrinfo(req.addrinfo);
    if (rv != 0) {
        snprintf(transport->errmsg, sizeof transport->errmsg, "cannot listen on %.150s: %.80s",
                 t->address, uv_strerror(rv));
        return RAFT_IOERR;
    }
    t->accept_cb = cb;
    return 0;
}

static void on_listener_closed(uv_handle_t *handle)
{
    struct peer_transport *t = handle->data;
    t->listener_open = false;
    maybe_closed(t);
}

static void t_close(struct raft_uv_transport *transport, raft_uv_transport_close_cb cb)
{
    struct peer_transport *t = of(transport);
    t->closing = true;
    t->close_cb = cb;
    if (t->listener_open) uv_close((uv_handle_t *)&t->listener, on_listener_closed);
    /* Each one's callback (RAFT_CANCELED for libraft's connects) runs when
     * its handles have closed; the last one fires cb. */
    for (struct handshake *h = t->handshakes; h; h = h->next) fail(h, RAFT_CANCELED);
    /* Streams already libraft's: their TCP side closes, libraft's end reads EOF. */
    for (struct tls_pipe_entry *e = t->pipes; e; e = e->next) tlspipe_close(e->pipe);
    maybe_closed(t);
}

int transport_init(struct peer_transport *t, uv_loop_t *loop, const char *secret,
                   struct tls_ctx *const *tls_server, struct tls_ctx *const *tls_client)
{
    memset(t, 0, sizeof *t);
    t->loop = loop;
    t->secret = secret ? secret : "";
    CHECK((tls_server == NULL) == (tls_client == NULL));
    t->tls_server = tls_server;
    t->tls_client = tls_client;
    t->outer.version = 1;
    t->outer.impl = t;
    t->outer.init = t_init;
    t->outer.listen = t_listen;
    t->outer.connect = t_connect;
    t->outer.close = t_close;
    return 0;
}

void transport_close(struct peer_transport *t)
{
    /* Everything was released before libraft's close callback ran. */
    CHECK(t->handshakes == NULL && t->pipes == NULL && !t->listener_open);
}
