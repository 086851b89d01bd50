/* net/tlspipe.h — a TLS session on a TCP stream, offered as plaintext on
 * one end of a socketpair.
 *
 * For owners that must hand a plain libuv stream to code that reads and
 * writes it itself (libraft's Raft transport, repl/transport.c, takes a
 * uv_stream_t and calls uv_read_start/uv_write/uv_close on it; outgoing
 * client-port connections, net/outconn.c, read and write it like a TCP
 * stream): the pipe takes a connected TCP
 * handle, makes a socketpair, opens one end as the uv_pipe_t the caller
 * gave (the "plaintext end", the caller's to use, close and free) and
 * keeps the other. Then it pumps, in both directions, between that end and
 * a base/tls.h engine whose ciphertext travels on the TCP stream.
 *
 * Bounds: at most TLSPIPE_QUEUE_MAX bytes wait to be written in each
 * direction; past that the pipe stops reading the side that feeds it
 * (backpressure, both ways) and resumes when the writes drain. Plaintext is
 * read from the plaintext end only once the TLS handshake is done (what the
 * owner wrote before waits in the socketpair). Nothing blocks.
 *
 * Closing: the TCP stream ending (EOF, error, close_notify, a TLS failure)
 * closes the pipe's end of the socketpair, so the owner reads EOF on the
 * plaintext end; the owner closing the plaintext end closes the TCP stream.
 * tlspipe_close ends it at once. Either way on_closed runs once every
 * handle of the pipe is closed and the pipe freed. */
#ifndef PARLEY_NET_TLSPIPE_H
#define PARLEY_NET_TLSPIPE_H

#include <stddef.h>
#include <uv.h>

struct tls_ctx;
struct tlspipe;

#define TLSPIPE_QUEUE_MAX (256 * 1024)
/* The most one write adds to a queue: one read's plaintext, or the
 * ciphertext of one read's plaintext (records add their headers and tags). */
#define TLSPIPE_CHUNK_MAX (64 * 1024 + 4096)

struct tlspipe_hooks {
    void *data;
    /* The TLS session failed (a certificate the CA did not sign, none at
     * all, not TLS): why, as OpenSSL words it. At most once, before the
     * pipe closes; may be NULL. */
    void (*on_fail)(void *data, const char *why);
    /* Every handle is closed and the pipe is gone. May be NULL. */
    void (*on_closed)(void *data);
    /* Releases the TCP handle given to tlspipe_new once it is closed. */
    void (*free_tcp)(uv_tcp_t *tcp);
};

/* Starts TLS (in ctx's role: a client sends its hello now) on tcp, a
 * connected stream the pipe owns from now on, and opens `plain`
 * (uninitialized, the caller's memory) as the plaintext end. Returns the
 * pipe, or NULL with a negative libuv error in *status (then neither tcp
 * nor plain was touched, and both stay the caller's). */
struct tlspipe *tlspipe_new(uv_loop_t *loop, uv_tcp_t *tcp, struct tls_ctx *ctx, uv_pipe_t *plain,
                            const struct tlspipe_hooks *hooks, int *status);
/* Bytes written and not yet confirmed, both directions together: at most
 * 2 * (TLSPIPE_QUEUE_MAX + TLSPIPE_CHUNK_MAX). */
size_t tlspipe_queued(const struct tlspipe *p);
/* Stops reporting failures (the owner no longer listens for them). */
void tlspipe_quiet(struct tlspipe *p);
/* Closes the TCP stream and the pipe's end at once (the plaintext end is
 * the owner's to close). */
void tlspipe_close(struct tlspipe *p);

#endif
