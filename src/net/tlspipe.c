/* net/tlspipe.c — see tlspipe.h.
 *
 * Two handles: `tcp` carries ciphertext to and from the peer, `inner` is
 * the pipe's end of the socketpair (the owner holds the other end).
 *
 *   tcp --read--> tls_conn_feed / tls_conn_read --write--> inner
 *   inner --read--> tls_conn_write / tls_conn_take --write--> tcp
 *
 * Each write carries its own heap buffer (struct chunk), counted in
 * to_inner or to_tcp until its callback runs; a direction whose count
 * passes TLSPIPE_QUEUE_MAX stops reading its source, and the write
 * callback starts it again. Plaintext the engine holds while `inner` is
 * full stays there (at most one TCP read's worth of ciphertext) and is
 * drained before `tcp` is read again. */
#include "net/tlspipe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/tls.h"

#define READ_BYTES (64 * 1024)

struct tlspipe {
    uv_tcp_t *tcp;
    uv_pipe_t inner;
    struct tls_conn *tls;
    struct tlspipe_hooks hooks;
    size_t to_inner, to_tcp; /* bytes written and not yet confirmed */
    int open_handles;
    bool closing;
    bool reading_tcp, reading_inner;
    bool established;
    char buf[READ_BYTES]; /* one read at a time, either handle */
};

struct chunk {
    uv_write_t req;
    struct tlspipe *p;
    size_t len;
    bool to_tcp;
    char data[];
};

static void pump_in(struct tlspipe *p);
static void start_reads(struct tlspipe *p);

static void on_handle_closed(uv_handle_t *h)
{
    struct tlspipe *p = h->data;
    if (h == (uv_handle_t *)p->tcp) p->hooks.free_tcp(p->tcp);
    CHECK(p->open_handles > 0);
    if (--p->open_handles > 0) return;
    tls_conn_free(p->tls);
    struct tlspipe_hooks hooks = p->hooks;
    free(p);
    if (hooks.on_closed) hooks.on_closed(hooks.data);
}

void tlspipe_close(struct tlspipe *p)
{
    if (p->closing) return;
    p->closing = true;
    uv_close((uv_handle_t *)p->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&p->inner, on_handle_closed);
}

size_t tlspipe_queued(const struct tlspipe *p) { return p->to_inner + p->to_tcp; }

void tlspipe_quiet(struct tlspipe *p) { p->hooks.on_fail = NULL; }

static void fail(struct tlspipe *p, const char *why)
{
    if (p->closing) return;
    if (p->hooks.on_fail) p->hooks.on_fail(p->hooks.data, why);
    else log_msg(LOG_VERBOSE, "TLS between nodes: %s", why);
    tlspipe_close(p);
}

static void on_written(uv_write_t *req, int status)
{
    struct chunk *c = (struct chunk *)req;
    struct tlspipe *p = c->p;
    bool to_tcp = c->to_tcp;
    size_t *queued = to_tcp ? &p->to_tcp : &p->to_inner;
    CHECK(*queued >= c->len);
    *queued -= c->len;
    free(c);
    if (p->closing) return;
    if (status != 0) {
        tlspipe_close(p);
        return;
    }
    /* Room again: drain what the engine holds, then read the sources. */
    if (!to_tcp) pump_in(p);
    if (!p->closing) start_reads(p);
}

static struct chunk *chunk_new(struct tlspipe *p, bool to_tcp, size_t cap)
{
    struct chunk *c = xmalloc(sizeof *c + cap);
    c->p = p;
    c->len = 0;
    c->to_tcp = to_tcp;
    return c;
}

/* Writes c (c->len bytes) to its handle; frees it if that cannot start. */
static void send_chunk(struct tlspipe *p, struct chunk *c)
{
    uv_buf_t b = uv_buf_init(c->data, (unsigned)c->len);
    uv_stream_t *s = c->to_tcp ? (uv_stream_t *)p->tcp : (uv_stream_t *)&p->inner;
    if (uv_write(&c->req, s, &b, 1, on_written) != 0) {
        free(c);
        tlspipe_close(p);
        return;
    }
    *(c->to_tcp ? &p->to_tcp : &p->to_inner) += c->len;
}

/* Sends the ciphertext the engine produced (handshake records, session
 * tickets, encrypted plaintext, alerts). */
static void flush_tls(struct tlspipe *p)
{
    size_t n = tls_conn_pending(p->tls);
    if (p->closing || n == 0) return;
    struct chunk *c = chunk_new(p, true, n);
    c->len = tls_conn_take(p->tls, c->data, n);
    CHECK(c->len == n);
    send_chunk(p, c);
}

/* Moves plaintext out of the engine to `inner` while there is room. */
static void pump_in(struct tlspipe *p)
{
    while (!p->closing && p->to_inner < TLSPIPE_QUEUE_MAX) {
        /* Into the read buffer (what a TCP read put there is fed already),
         * then a chunk of the size read: the queue's count is its memory. */
        ssize_t n = tls_conn_read(p->tls, p->buf, sizeof p->buf);
        if (n > 0) {
            struct chunk *c = chunk_new(p, false, (size_t)n);
            memcpy(c->data, p->buf, (size_t)n);
            c->len = (size_t)n;
            send_chunk(p, c);
            continue;
        }
        flush_tls(p); /* what the read produced: handshake replies, alerts */
        if (n == TLS_FAILED) {
            fail(p, tls_conn_error(p->tls));
            return;
        }
        if (n == TLS_CLOSED) {
            tlspipe_close(p);
            return;
        }
        break;
    }
    if (p->closing || p->established || !tls_conn_established(p->tls)) return;
    /* Both contexts verify the peer; a session that did not is a bug. */
    if (!tls_conn_peer_verified(p->tls)) {
        fail(p, "the peer's certificate was not verified");
        return;
    }
    p->established = true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tlspipe *p = h->data;
    buf->base = p->buf;
    buf->len = sizeof p->buf;
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct tlspipe *p = s->data;
    if (p->closing || n == 0) return;
    if (n < 0) {
        tlspipe_close(p); /* the owner reads EOF on its end */
        return;
    }
    tls_conn_feed(p->tls, buf->base, (size_t)n);
    pump_in(p);
    if (!p->closing) start_reads(p);
}

static void on_inner_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct tlspipe *p = s->data;
    if (p->closing || n == 0) return;
    if (n < 0) {
        tlspipe_close(p); /* the owner closed its end */
        return;
    }
    size_t done = 0;
    while (done < (size_t)n) {
        ssize_t w = tls_conn_write(p->tls, buf->base + done, (size_t)n - done);
        if (w <= 0) {
            fail(p, w == 0 ? "cannot write" : tls_conn_error(p->tls));
            return;
        }
        done += (size_t)w;
        flush_tls(p);
        if (p->closing) return;
    }
    start_reads(p);
}

/* Reads each source whose destination has room; stops the others. A
 * stream that cannot be read any more (reset) ends the pipe. */
static void start_reads(struct tlspipe *p)
{
    CHECK(!p->closing);
    bool want_tcp = p->to_inner < TLSPIPE_QUEUE_MAX;
    bool want_inner = p->established && p->to_tcp < TLSPIPE_QUEUE_MAX;
    int rv = 0;
    if (want_tcp != p->reading_tcp) {
        if (want_tcp) rv = uv_read_start((uv_stream_t *)p->tcp, on_alloc, on_tcp_read);
        else uv_read_stop((uv_stream_t *)p->tcp);
        p->reading_tcp = want_tcp;
    }
    if (rv == 0 && want_inner != p->reading_inner) {
        if (want_inner) rv = uv_read_start((uv_stream_t *)&p->inner, on_alloc, on_inner_read);
        else uv_read_stop((uv_stream_t *)&p->inner);
        p->reading_inner = want_inner;
    }
    if (rv != 0) tlspipe_close(p);
}

struct tlspipe *tlspipe_new(uv_loop_t *loop, uv_tcp_t *tcp, struct tls_ctx *ctx, uv_pipe_t *plain,
                            const struct tlspipe_hooks *hooks, int *status)
{
    CHECK(hooks->free_tcp != NULL);
    uv_os_sock_t fds[2];
    int rv = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, UV_NONBLOCK_PIPE);
    if (rv != 0) {
        *status = rv;
        return NULL;
    }
    struct tlspipe *p = xcalloc(1, sizeof *p);
    p->tcp = tcp;
    p->hooks = *hooks;
    p->tls = tls_conn_new(ctx);
    uv_pipe_init(loop, &p->inner, 0);
    uv_pipe_init(loop, plain, 0);
    /* Fresh descriptors of a socketpair: only a broken process fails here. */
    CHECK(uv_pipe_open(&p->inner, fds[0]) == 0);
    CHECK(uv_pipe_open(plain, fds[1]) == 0);
    p->tcp->data = p;
    p->inner.data = p;
    p->open_handles = 2;
    tls_conn_handshake(p->tls); /* a client's hello; a server waits */
    flush_tls(p);
    if (!p->closing) start_reads(p);
    return p;
}
