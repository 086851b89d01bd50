/* net/outconn.c — see outconn.h.
 *
 * Handles: `tcp`, and `timer` for the deadline. With TLS, once TCP has
 * connected, a net/tlspipe.h takes `tcp` (and closes it) and the
 * connection reads and writes `plain`, the pipe's plaintext end; `stream`
 * points at whichever is in use. `open_handles` counts what must close
 * before the memory goes: the stream, the timer, and the pipe until its
 * on_closed has run.
 *
 * Writing: requests go to `out`; a write moves all of `out` to `inflight`
 * and hands it to uv_write (in pieces of at most 1 GB: uv_buf_t lengths
 * are unsigned), and what is appended meanwhile waits for it to complete.
 * Reading: bytes go to `in`; every whole reply at its front is handed to
 * the owner and consumed. */
#include "net/outconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/mem.h"
#include "net/tlspipe.h"
#include "resp/reply.h"

#define READ_CHUNK 16384
/* One uv_buf_t of a write holds at most this much (its length is unsigned). */
#define WRITE_PIECE_BYTES (1024u * 1024 * 1024)
#define ADDR_MAX 255

struct outconn {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    struct tlspipe *pipe; /* with TLS, once connected, until it has closed */
    uv_pipe_t plain;
    uv_stream_t *stream;  /* &tcp or &plain */
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct outconn_handlers h;
    struct tls_ctx *const *tls;
    long long reply_bulk_max;
    char addr[ADDR_MAX + 1];
    struct buf out, inflight, in;
    bool connected;
    bool writing;
    bool closed;      /* no callback any more; handles closing */
    int open_handles; /* handles to close, and the TLS pipe until it has */
    /* What the timer means when it fires. */
    enum outconn_end timer_end;
    const char *timer_why;
};

static void release(struct outconn *c)
{
    CHECK(c->open_handles > 0);
    if (--c->open_handles > 0) return;
    buf_free(&c->out);
    buf_free(&c->inflight);
    buf_free(&c->in);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    release(h->data);
}

void outconn_close(struct outconn *c)
{
    if (c->closed) return;
    c->closed = true;
    uv_close((uv_handle_t *)c->stream, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (c->pipe) {
        tlspipe_quiet(c->pipe);
        tlspipe_close(c->pipe);
    }
}

/* Ends the connection by itself: tells the owner, then closes. */
static void fail(struct outconn *c, enum outconn_end end, const char *why)
{
    if (c->closed) return;
    c->closed = true; /* the owner may call outconn_close from on_fail */
    c->h.on_fail(c->h.arg, end, why);
    c->closed = false;
    outconn_close(c);
}

static void on_timeout(uv_timer_t *t)
{
    struct outconn *c = t->data;
    fail(c, c->timer_end, c->timer_why);
}

static void arm(struct outconn *c, unsigned timeout_ms, enum outconn_end end, const char *why)
{
    c->timer_end = end;
    c->timer_why = why;
    uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
}

void outconn_deadline(struct outconn *c, unsigned timeout_ms, const char *why)
{
    if (c->closed) return;
    arm(c, timeout_ms, OUTCONN_DEADLINE, why);
}

void outconn_deadline_stop(struct outconn *c)
{
    if (!c->closed) uv_timer_stop(&c->timer);
}

const char *outconn_addr(const struct outconn *c) { return c->addr; }

/* --------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------ */

static void write_out(struct outconn *c);

static void on_written(uv_write_t *req, int status)
{
    struct outconn *c = req->data;
    c->writing = false;
    c->inflight.len = 0;
    if (c->closed) return;
    if (status < 0) {
        fail(c, OUTCONN_CLOSED, uv_strerror(status));
        return;
    }
    write_out(c); /* what was appended while this write was under way */
}

/* Writes what is in out, once connected. */
static void write_out(struct outconn *c)
{
    if (c->closed || !c->connected || c->writing || c->out.len == 0) return;
    struct buf tmp = c->inflight;
    c->inflight = c->out;
    c->out = tmp;
    c->out.len = 0;
    /* In pieces: a tick's forwarded batches may together pass 4 GB. */
    size_t n = (c->inflight.len + WRITE_PIECE_BYTES - 1) / WRITE_PIECE_BYTES;
    uv_buf_t *pieces = xmalloc(n * sizeof *pieces);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * WRITE_PIECE_BYTES, left = c->inflight.len - off;
        pieces[i] = uv_buf_init(c->inflight.data + off,
                                (unsigned)(left < WRITE_PIECE_BYTES ? left : WRITE_PIECE_BYTES));
    }
    c->write_req.data = c;
    int rv = uv_write(&c->write_req, c->stream, pieces, (unsigned)n, on_written);
    free(pieces); /* uv_write copies the array */
    if (rv != 0) {
        fail(c, OUTCONN_CLOSED, "write failed");
        return;
    }
    c->writing = true;
}

void outconn_flush(struct outconn *c) { write_out(c); }

struct buf *outconn_out(struct outconn *c)
{
    CHECK(!c->closed);
    return &c->out;
}

void outconn_request(struct outconn *c, int argc, const char *const *argv)
{
    struct buf *out = outconn_out(c);
    buf_printf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) buf_printf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

/* --------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct outconn *c = h->data;
    out->base = buf_reserve(&c->in, READ_CHUNK);
    out->len = c->in.cap - c->in.len;
}

/* Hands every whole reply at the front of `in` to the owner. */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct outconn *c = s->data;
    if (c->closed) return;
    if (nread < 0) {
        fail(c, OUTCONN_CLOSED, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        return;
    }
    c->in.len += (size_t)nread;
    size_t used = 0;
    while (used < c->in.len) {
        const char *p = c->in.data + used;
        long long n = resp_reply_span(p, c->in.len - used, c->reply_bulk_max);
        if (n == 0) break;
        if (n < 0) {
            fail(c, OUTCONN_BAD_REPLY, "unexpected reply");
            return;
        }
        used += (size_t)n;
        c->h.on_reply(c->h.arg, p, (size_t)n);
        if (c->closed) return;
    }
    buf_consume(&c->in, used);
}

/* --------------------------------------------------------------------
 * Connecting
 * ------------------------------------------------------------------ */

static void on_pipe_failed(void *data, const char *why)
{
    char text[320];
    snprintf(text, sizeof text, "TLS: %s", why);
    fail(data, OUTCONN_TLS, text);
}

static void on_pipe_closed(void *data)
{
    struct outconn *c = data;
    c->pipe = NULL;
    release(c);
}

/* tcp is the pipe's, and released with c. */
static void keep_tcp(uv_tcp_t *tcp) { (void)tcp; }

/* The TCP stream is connected: from now on it carries TLS, and the
 * connection reads and writes the pipe's plaintext end. False if that
 * failed (the connection has failed). */
static bool start_tls(struct outconn *c, struct tls_ctx *ctx)
{
    CHECK(c->pipe == NULL && c->stream == (uv_stream_t *)&c->tcp);
    struct tlspipe_hooks hooks = {
        .data = c, .on_fail = on_pipe_failed, .on_closed = on_pipe_closed, .free_tcp = keep_tcp};
    int status = 0;
    c->pipe = tlspipe_new(c->loop, &c->tcp, ctx, &c->plain, &hooks, &status);
    if (c->pipe == NULL) {
        fail(c, OUTCONN_TLS, uv_strerror(status));
        return false;
    }
    /* tcp is closed by the pipe now (counted as the pipe); plain is ours. */
    c->plain.data = c;
    c->stream = (uv_stream_t *)&c->plain;
    c->open_handles++;
    return true;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct outconn *c = req->data;
    if (c->closed) return;
    if (status < 0) {
        fail(c, OUTCONN_UNREACHABLE, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (c->tls && !start_tls(c, *c->tls)) return;
    if (uv_read_start(c->stream, on_alloc, on_read) != 0) {
        fail(c, OUTCONN_CLOSED, "cannot read");
        return;
    }
    c->connected = true;
    if (c->h.on_connected) c->h.on_connected(c->h.arg);
    if (!c->closed) write_out(c);
}

struct outconn *outconn_open(uv_loop_t *loop, const char *addr, const struct outconn_options *o,
                             const struct outconn_handlers *h)
{
    CHECK(loop != NULL && h->on_reply != NULL && h->on_fail != NULL && o->reply_bulk_max >= 0);
    struct outconn *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->h = *h;
    c->tls = o->tls;
    c->reply_bulk_max = o->reply_bulk_max;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    uv_tcp_init(loop, &c->tcp);
    c->stream = (uv_stream_t *)&c->tcp;
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->connect_req.data = c;
    c->open_handles = 2;
    struct sockaddr_storage ss;
    const char *early = NULL;
    if (outconn_resolve(addr, &ss) != 0)
        early = "not a numeric host:port";
    else if (uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&ss, on_connected) != 0)
        early = "connect failed";
    /* No callback runs before outconn_open returns: an early failure is
     * told from the timer. */
    if (early)
        arm(c, 0, OUTCONN_UNREACHABLE, early);
    else
        arm(c, o->deadline_ms, OUTCONN_DEADLINE, o->deadline_why ? o->deadline_why : "no answer in time");
    return c;
}

int outconn_resolve(const char *addr, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(addr, ':');
    char host[256];
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (host[0] == '[') { /* [v6]:port */
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']') return -1;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port <= 0 || port > 65535) return -1;
    memset(ss, 0, sizeof *ss);
    return strchr(host, ':') ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss)
                             : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss);
}
