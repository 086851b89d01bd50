/* net/outconn.h — one outgoing connection that sends RESP requests and
 * reads RESP replies: the client side of the protocol, for a node talking
 * to another node's client port.
 *
 * An outconn connects to a numeric "host:port" ("[v6]:port" too), with TLS
 * if a client context is given (net/tlspipe.h: the TCP stream carries TLS
 * from the moment it connects, and the connection reads and writes the
 * pipe's plaintext end; the other side must show a certificate the context
 * verifies). Requests are appended to its write queue at any time and
 * written by outconn_flush (what is appended before the connection is up
 * waits for it). Replies are cut out of the input with the one reply reader
 * (resp/reply.h) and handed to the owner whole, one at a time, in order.
 *
 * The owner hears of the connection through three callbacks, none of them
 * before outconn_open returns and none after outconn_close:
 *   on_connected  once, when the stream is up (TCP connected, TLS started);
 *   on_reply      for each whole reply (the bytes stay valid until it returns);
 *   on_fail       once, when it ends by itself: not reachable, closed by the
 *                 other side, a TLS failure, a reply that is not RESP (or
 *                 holds a bulk longer than reply_bulk_max), or its deadline.
 * The connection is closed after on_fail returns; the owner may call
 * outconn_close from any callback, and must not touch it after either.
 *
 * Every outconn has at most one deadline: the one given to outconn_open
 * covers connecting (and whatever the owner does next) until
 * outconn_deadline sets another or outconn_deadline_stop ends it. Every
 * handle, buffer and the TLS pipe are released once, after the last of
 * them has closed. */
#ifndef PARLEY_NET_OUTCONN_H
#define PARLEY_NET_OUTCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/buf.h"

struct outconn;
struct tls_ctx;

/* How a connection ended by itself (the text says more). */
enum outconn_end {
    OUTCONN_UNREACHABLE, /* a bad address, or the TCP connect failed */
    OUTCONN_CLOSED,      /* the other side closed it, or a read or write failed */
    OUTCONN_TLS,         /* the TLS session failed ("TLS: <OpenSSL's reason>") */
    OUTCONN_BAD_REPLY,   /* input that is not a RESP reply */
    OUTCONN_DEADLINE,    /* its deadline passed (the text given with it) */
};

struct outconn_handlers {
    void *arg;
    void (*on_connected)(void *arg); /* may be NULL */
    void (*on_reply)(void *arg, const char *reply, size_t len);
    void (*on_fail)(void *arg, enum outconn_end end, const char *why);
};

struct outconn_options {
    /* With TLS: the slot of the client context, read when TCP connects (a
     * reload may replace it meanwhile). NULL: plaintext. */
    struct tls_ctx *const *tls;
    unsigned deadline_ms;       /* the first deadline, from outconn_open */
    const char *deadline_why;   /* what on_fail is told then (static text) */
    long long reply_bulk_max;   /* a longer bulk in a reply is OUTCONN_BAD_REPLY */
};

/* Starts connecting to addr. Never fails at once: a bad address or a
 * connect that cannot start is told through on_fail, from the loop. */
struct outconn *outconn_open(uv_loop_t *loop, const char *addr, const struct outconn_options *o,
                             const struct outconn_handlers *h);
/* The write queue: append requests here (whole RESP), then outconn_flush. */
struct buf *outconn_out(struct outconn *c);
/* Appends one request of argc C strings. */
void outconn_request(struct outconn *c, int argc, const char *const *argv);
/* Writes what was appended (once connected; until then it waits). */
void outconn_flush(struct outconn *c);
/* Replaces the deadline: on_fail(OUTCONN_DEADLINE, why) unless closed
 * within timeout_ms. why must outlive the connection (static text). */
void outconn_deadline(struct outconn *c, unsigned timeout_ms, const char *why);
void outconn_deadline_stop(struct outconn *c);
void outconn_close(struct outconn *c);
const char *outconn_addr(const struct outconn *c);

/* "host:port" (numeric; "[v6]:port" too) into a socket address: 0, or -1
 * if it is not one. */
int outconn_resolve(const char *addr, struct sockaddr_storage *ss);

#endif
