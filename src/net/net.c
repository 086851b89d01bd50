/* net/net.c — see net.h.
 *
 * Each connection has an input buffer (parsed in place; commands point into
 * it) and two output buffers: `out`, where replies are appended, and
 * `inflight`, the bytes libuv is writing. net_flush() first tries a direct
 * non-blocking write of `out`; only what the socket does not take goes to
 * uv_write, so the common case is one write(2) per connection per tick and
 * no copy. Connections with output wait on a "dirty" list, so a flush costs
 * nothing for idle connections.
 *
 * A TLS connection reads ciphertext into the net's one read buffer, feeds
 * it to its engine and drains the plaintext into `in` at once, so the
 * parser and the query-buffer limit see only plaintext. On output, replies
 * still go to `out`; while nothing is being written, the flush encrypts
 * all of `out` into `cipher` (the engine holds at most one chunk of it),
 * and `cipher` goes through the same try-write-then-uv_write path as `out`
 * does for a plaintext connection. Handshake records land in `cipher`
 * whenever the engine makes them. */
#include "net/net.h"
#include "net/bindlist.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/tls.h"

#define READ_CHUNK (16 * 1024)
#define OUT_SHRINK_BYTES (1024 * 1024)
/* How often handshake deadlines are looked at. */
#define HANDSHAKE_SWEEP_MS 50

struct net_conn {
    struct net *net;
    uv_tcp_t tcp;
    uv_write_t write_req;
    struct buf in;
    size_t in_off;
    struct buf out;
    struct buf inflight;
    struct resp_parser parser;
    struct tls_conn *tls;     /* NULL: plaintext */
    struct buf cipher;        /* TLS: ciphertext waiting to be written */
    int64_t handshake_deadline_ms;
    bool handshaking;         /* TLS, counted in net->handshaking */
    void *data;
    bool pubsub;      /* held to the pubsub output limits */
    bool reading;
    bool writing;
    bool paused;      /* by the owner (on_command returned false) */
    bool held;        /* by the owner: still read (to see a hang-up), parse nothing */
    bool throttled;   /* by us: too much unsent output */
    bool closing;
    bool close_after_flush;
    bool dirty;       /* on the dirty list */
    bool resume;      /* on the resume list */
    bool rejected;    /* refused by on_accept (net_conn_reject) */
    int64_t soft_limit_since_ms;
    struct net_conn *prev, *next;  /* all connections */
    struct net_conn *dirty_next;
    struct net_conn *resume_next;
    char peer[64];
    char local[64];
};

struct listener {
    uv_tcp_t tcp;
    struct net *net;
    bool tls;
    struct listener *next;
};

struct net {
    uv_loop_t *loop;
    struct net_handlers h;
    struct net_limits limits;
    struct listener *listeners;
    struct net_conn *conns;
    struct net_conn *dirty;
    struct net_conn *resumed;
    uv_idle_t wake;   /* active while `resumed` is not empty */
    bool closed;      /* net_close_all was called */
    struct net_stats stats;
    struct tls_ctx *tls;          /* for connections accepted on TLS listeners */
    uv_timer_t handshake_timer;   /* runs while `handshaking` > 0 */
    size_t handshaking;
    char tls_read[READ_CHUNK];    /* every TLS read lands here, then in the engine */
};

static void start_reading(struct net_conn *c);
static void process_input(struct net_conn *c);
static void mark_dirty(struct net_conn *c);
static bool output_ok(struct net_conn *c);

struct net *net_new(uv_loop_t *loop, const struct net_handlers *handlers,
                    const struct net_limits *limits)
{
    struct net *n = xcalloc(1, sizeof *n);
    n->loop = loop;
    n->h = *handlers;
    n->limits = *limits;
    /* A started idle handle keeps the loop from blocking in poll, so a
     * connection resumed from within the tick is served on the next
     * iteration rather than at the next unrelated event. */
    uv_idle_init(loop, &n->wake);
    uv_unref((uv_handle_t *)&n->wake);
    uv_timer_init(loop, &n->handshake_timer);
    n->handshake_timer.data = n;
    uv_unref((uv_handle_t *)&n->handshake_timer);
    return n;
}

void net_update_limits(struct net *n, const struct net_limits *limits)
{
    n->limits = *limits;
    for (struct net_conn *c = n->conns; c; c = c->next) c->parser.max_bulk_len = limits->max_bulk_len;
}

const struct net_stats *net_get_stats(const struct net *n) { return &n->stats; }

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

static void fill_names(struct net_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, c->peer, sizeof c->peer);
    len = sizeof ss;
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, c->local, sizeof c->local);
}

static struct net_conn *conn_new(struct net *n)
{
    struct net_conn *c = xcalloc(1, sizeof *c);
    c->net = n;
    resp_parser_init(&c->parser);
    c->parser.max_bulk_len = n->limits.max_bulk_len;
    uv_tcp_init(n->loop, &c->tcp);
    c->tcp.data = c;
    c->next = n->conns;
    if (n->conns) n->conns->prev = c;
    n->conns = c;
    n->stats.connected++;
    snprintf(c->peer, sizeof c->peer, "?:0");
    snprintf(c->local, sizeof c->local, "?:0");
    return c;
}

static void on_closed(uv_handle_t *h)
{
    struct net_conn *c = h->data;
    struct net *n = c->net;
    if (c->prev) c->prev->next = c->next;
    else n->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    /* The dirty and resume lists skip closing connections; unlink here. */
    for (struct net_conn **p = &n->dirty; *p; p = &(*p)->dirty_next)
        if (*p == c) {
            *p = c->dirty_next;
            break;
        }
    for (struct net_conn **p = &n->resumed; *p; p = &(*p)->resume_next)
        if (*p == c) {
            *p = c->resume_next;
            break;
        }
    n->stats.connected--;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->inflight);
    buf_free(&c->cipher);
    tls_conn_free(c->tls);
    resp_parser_free(&c->parser);
    free(c);
}

/* The owner hears of the close at once, not when libuv's close completes:
 * from now on nothing may be delivered to this connection as if its client
 * were still there (a blocked client's element must not vanish into it). */
static void handshake_over(struct net_conn *c)
{
    if (!c->handshaking) return;
    c->handshaking = false;
    c->net->handshaking--;
    if (c->net->handshaking == 0) uv_timer_stop(&c->net->handshake_timer);
}

void net_conn_close(struct net_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    handshake_over(c);
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    struct net *n = c->net;
    if (n->h.on_close) n->h.on_close(n->h.ctx, c);
    c->data = NULL;
}

void net_conn_close_after_flush(struct net_conn *c)
{
    c->close_after_flush = true;
    c->paused = true;
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    mark_dirty(c);
}

void net_conn_reject(struct net_conn *c, const char *reply)
{
    c->rejected = true;
    c->net->stats.rejected_connections++;
    net_conn_write(c, reply, strlen(reply));
    net_conn_close_after_flush(c);
}

/* --------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct net_conn *c = h->data;
    if (c->tls) {
        /* libuv calls on_read right after, before any other allocation. */
        *out = uv_buf_init(c->net->tls_read, sizeof c->net->tls_read);
        return;
    }
    size_t want = READ_CHUNK;
    size_t needed = resp_parser_wanted(&c->parser);
    size_t have = c->in.len - c->in_off;
    if (needed > have && needed - have > want) want = needed - have;
    out->base = buf_reserve(&c->in, want);
    out->len = c->in.cap - c->in.len;
}

static void compact_input(struct net_conn *c)
{
    if (c->in_off == 0) return;
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
        if (c->in.cap > 4 * READ_CHUNK && c->parser.kind == 0) buf_free(&c->in);
        return;
    }
    buf_consume(&c->in, c->in_off);
    c->in_off = 0;
}

static bool can_process(const struct net_conn *c)
{
    return !c->paused && !c->held && !c->throttled && !c->closing;
}

static void process_input(struct net_conn *c)
{
    struct net *n = c->net;
    while (can_process(c) && c->in_off < c->in.len) {
        enum resp_status st =
            resp_parse(&c->parser, c->in.data + c->in_off, c->in.len - c->in_off);
        if (st == RESP_NEED_MORE) break;
        if (st == RESP_ERROR) {
            log_msg(LOG_VERBOSE, "Protocol error (%s) from client %s", c->parser.error, c->peer);
            c->in_off = c->in.len;
            net_conn_pause(c);
            if (n->h.on_protocol_error) {
                n->h.on_protocol_error(n->h.ctx, c, c->parser.error);
            } else {
                struct buf *out = &c->out;
                buf_append_str(out, "-");
                buf_append_str(out, c->parser.error);
                buf_append_str(out, "\r\n");
                net_conn_close_after_flush(c);
            }
            break;
        }
        size_t consumed = c->parser.consumed;
        bool go_on = true;
        if (st == RESP_COMMAND)
            go_on = n->h.on_command(n->h.ctx, c, c->parser.argc, c->parser.argv);
        c->in_off += consumed;
        if (!go_on && !c->closing) net_conn_pause(c);
        /* Like Redis, which checks the limits as each reply is added:
         * a client that does not read must not make us build more
         * output than the limits allow before the next flush. */
        if (!output_ok(c)) break;
    }
    if (!c->closing) compact_input(c);
    if (c->out.len) mark_dirty(c);
}

static bool encrypt_output(struct net_conn *c);

/* The peer hung up (or half-closed): hand it what is already waiting for
 * it, best effort, before closing. */
static void last_words(struct net_conn *c)
{
    if (c->writing) return;
    struct buf *src = &c->out;
    if (c->tls) {
        if (!encrypt_output(c)) return;
        src = &c->cipher;
    }
    if (src->len == 0) return;
    uv_buf_t out = uv_buf_init(src->data, (unsigned)src->len);
    uv_try_write((uv_stream_t *)&c->tcp, &out, 1);
}

/* Moves the engine's ciphertext (handshake records, alerts, encrypted
 * replies) to `cipher`, to be written in order. */
static void take_cipher(struct net_conn *c)
{
    size_t pending = tls_conn_pending(c->tls);
    if (pending == 0) return;
    char *dst = buf_reserve(&c->cipher, pending);
    c->cipher.len += tls_conn_take(c->tls, dst, pending);
    mark_dirty(c);
}

static void tls_failed(struct net_conn *c, const char *what)
{
    log_msg(LOG_VERBOSE, "Error %s a client connection: %s (addr=%s laddr=%s)",
            c->handshaking ? "accepting" : "reading from", what, c->peer, c->local);
    /* The engine's alert, if it made one, tells the client why. */
    take_cipher(c);
    if (!c->writing && c->cipher.len) {
        uv_buf_t out = uv_buf_init(c->cipher.data, (unsigned)c->cipher.len);
        uv_try_write((uv_stream_t *)&c->tcp, &out, 1);
    }
    net_conn_close(c);
}

/* Feeds what was read to the engine and drains its plaintext into `in`.
 * False: the connection was closed. */
static bool tls_input(struct net_conn *c, const char *data, size_t len)
{
    tls_conn_feed(c->tls, data, len);
    for (;;) {
        char *dst = buf_reserve(&c->in, READ_CHUNK);
        ssize_t n = tls_conn_read(c->tls, dst, c->in.cap - c->in.len);
        if (n == 0) break;
        if (n == TLS_CLOSED) {
            last_words(c);
            net_conn_close(c);
            return false;
        }
        if (n < 0) {
            tls_failed(c, tls_conn_error(c->tls));
            return false;
        }
        c->in.len += (size_t)n;
        c->net->stats.net_input_bytes += (uint64_t)n;
    }
    if (c->handshaking && tls_conn_established(c->tls)) {
        handshake_over(c);
        if (c->out.len) mark_dirty(c);
    }
    take_cipher(c);
    return true;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct net_conn *c = s->data;
    if (nread < 0) {
        if (nread == UV_EOF) last_words(c);
        net_conn_close(c);
        return;
    }
    if (c->tls) {
        if (!tls_input(c, b->base, (size_t)nread)) return;
    } else {
        c->in.len += (size_t)nread;
        c->net->stats.net_input_bytes += (uint64_t)nread;
    }
    if (c->in.len - c->in_off > c->net->limits.query_buffer_max) {
        log_warn("Closing client %s that reached max query buffer length (%zu bytes)", c->peer,
                 c->in.len - c->in_off);
        net_conn_close(c);
        return;
    }
    process_input(c);
}

static void start_reading(struct net_conn *c)
{
    if (c->reading || c->closing || c->close_after_flush) return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
}

void net_conn_pause(struct net_conn *c)
{
    c->paused = true;
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

static void on_wake(uv_idle_t *h) { (void)h; }

static void schedule_resume(struct net_conn *c)
{
    if (c->resume || c->closing) return;
    c->resume = true;
    c->resume_next = c->net->resumed;
    c->net->resumed = c;
    if (!c->net->closed) uv_idle_start(&c->net->wake, on_wake);
}

void net_conn_hold(struct net_conn *c) { c->held = true; }

void net_conn_resume(struct net_conn *c)
{
    if ((!c->paused && !c->held) || c->close_after_flush) return;
    c->paused = false;
    c->held = false;
    schedule_resume(c);
}

bool net_conn_paused(const struct net_conn *c) { return c->paused; }
bool net_conn_closing(const struct net_conn *c) { return c->closing || c->close_after_flush; }

/* --------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------ */

static void class_limits(const struct net_conn *c, size_t *hard, size_t *soft, int *seconds);

/* Replies are appended here. The buffer carries the room left under the
 * connection's hard output limit (struct buf's `limit`): a reply that
 * would not fit is never copied in, and output_ok closes the connection. */
struct buf *net_conn_out(struct net_conn *c)
{
    mark_dirty(c);
    size_t hard = 0, soft;
    int seconds;
    class_limits(c, &hard, &soft, &seconds);
    c->out.limit = hard == 0 ? 0 : hard > c->inflight.len ? hard - c->inflight.len : 1;
    return &c->out;
}

void net_conn_write(struct net_conn *c, const void *p, size_t len)
{
    buf_append(net_conn_out(c), p, len);
}

size_t net_conn_output_len(const struct net_conn *c)
{
    return c->out.len + c->inflight.len + c->cipher.len;
}

static void mark_dirty(struct net_conn *c)
{
    if (c->dirty || c->closing) return;
    c->dirty = true;
    c->dirty_next = c->net->dirty;
    c->net->dirty = c;
}

static void flush_conn(struct net_conn *c);

static void throttle(struct net_conn *c)
{
    c->throttled = true;
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* Serves a throttled connection again once half its output is written. */
static void maybe_unthrottle(struct net_conn *c)
{
    size_t pause = c->net->limits.output_pause_bytes;
    if (!c->throttled || c->writing || (pause && net_conn_output_len(c) >= pause / 2)) return;
    c->throttled = false;
    if (!c->paused) schedule_resume(c);
}

/* The hard output limit and the pause threshold, checked after each
 * command. False: process no more input now (the connection is closed,
 * or throttled until its output drains). */
/* The output limits of c's class: normal, or pubsub. */
static void class_limits(const struct net_conn *c, size_t *hard, size_t *soft, int *seconds)
{
    const struct net_limits *l = &c->net->limits;
    *hard = c->pubsub ? l->pubsub_hard_max : l->output_hard_max;
    *soft = c->pubsub ? l->pubsub_soft_max : l->output_soft_max;
    *seconds = c->pubsub ? l->pubsub_soft_seconds : l->output_soft_seconds;
}

void net_conn_set_pubsub(struct net_conn *c, bool pubsub) { c->pubsub = pubsub; }

static bool output_ok(struct net_conn *c)
{
    const struct net_limits *l = &c->net->limits;
    if (c->closing) return false;
    size_t pending = net_conn_output_len(c), hard, soft;
    int seconds;
    class_limits(c, &hard, &soft, &seconds);
    if (c->out.over || (hard && pending > hard)) {
        log_warn("Client %s closed for overcoming of output buffer limits.", c->peer);
        net_conn_close(c);
        return false;
    }
    if (l->output_pause_bytes && pending > l->output_pause_bytes) {
        throttle(c);
        return false;
    }
    return true;
}

static void on_written(uv_write_t *req, int status)
{
    struct net_conn *c = req->data;
    c->writing = false;
    c->inflight.len = 0;
    if (c->inflight.cap > OUT_SHRINK_BYTES) buf_free(&c->inflight);
    if (status < 0) {
        net_conn_close(c);
        return;
    }
    if (c->out.len || c->cipher.len || c->close_after_flush) mark_dirty(c);
    maybe_unthrottle(c);
}

static bool over_output_limits(struct net_conn *c)
{
    size_t pending = net_conn_output_len(c), hard, soft;
    int seconds;
    class_limits(c, &hard, &soft, &seconds);
    if (c->out.over || (hard && pending > hard)) return true;
    if (soft && pending > soft) {
        int64_t now = (int64_t)uv_now(c->net->loop);
        if (c->soft_limit_since_ms == 0) c->soft_limit_since_ms = now;
        else if (now - c->soft_limit_since_ms > (int64_t)seconds * 1000) return true;
    } else {
        c->soft_limit_since_ms = 0;
    }
    return false;
}

/* TLS: encrypts all of `out` into `cipher` once the handshake is done and
 * nothing is being written (so at most one batch is in flight and one
 * waits, as for plaintext). False: the connection was closed. */
static bool encrypt_output(struct net_conn *c)
{
    size_t done = 0;
    if (!c->writing && tls_conn_established(c->tls)) {
        while (done < c->out.len) {
            ssize_t n = tls_conn_write(c->tls, c->out.data + done, c->out.len - done);
            if (n <= 0) {
                tls_failed(c, n < 0 ? tls_conn_error(c->tls) : "the engine took nothing");
                return false;
            }
            done += (size_t)n;
            take_cipher(c);
        }
        c->net->stats.net_output_bytes += done;
        if (done == c->out.len) {
            c->out.len = 0;
            if (c->out.cap > OUT_SHRINK_BYTES) buf_free(&c->out);
        }
    }
    take_cipher(c);
    return true;
}

/* Writes `src` (`out`, or `cipher` for TLS): directly what the socket
 * takes, the rest through uv_write from `inflight`, new bytes going to a
 * fresh `src`. False: the connection was closed. */
static bool write_out(struct net_conn *c, struct buf *src, bool count)
{
    if (c->writing || src->len == 0) return true;
    uv_buf_t b = uv_buf_init(src->data, (unsigned)src->len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) {
        net_conn_close(c);
        return false;
    }
    if (count) c->net->stats.net_output_bytes += (uint64_t)n;
    if ((size_t)n == src->len) {
        src->len = 0;
        if (src->cap > OUT_SHRINK_BYTES) buf_free(src);
        return true;
    }
    struct buf tmp = c->inflight;
    c->inflight = *src;
    *src = tmp;
    src->len = 0;
    buf_consume(&c->inflight, (size_t)n);
    if (count) c->net->stats.net_output_bytes += c->inflight.len;
    b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        net_conn_close(c);
        return false;
    }
    c->writing = true;
    return true;
}

static void flush_conn(struct net_conn *c)
{
    if (c->closing) return;
    if (over_output_limits(c)) {
        log_warn("Client %s scheduled to be closed for overcoming of output buffer limits.", c->peer);
        net_conn_close(c);
        return;
    }
    if (c->tls) {
        if (!encrypt_output(c) || !write_out(c, &c->cipher, false)) return;
    } else if (!write_out(c, &c->out, true)) {
        return;
    }
    /* A TLS client still in its handshake cannot be told anything: it is
     * dropped (reading stopped with close_after_flush). */
    if (c->close_after_flush &&
        ((!c->writing && net_conn_output_len(c) == 0) || (c->tls && !tls_conn_established(c->tls)))) {
        net_conn_close(c);
        return;
    }
    if (c->net->limits.output_pause_bytes &&
        net_conn_output_len(c) > c->net->limits.output_pause_bytes)
        throttle(c);
    else
        maybe_unthrottle(c);
}

void net_run_resumed(struct net *n)
{
    while (n->resumed) {
        struct net_conn *c = n->resumed;
        n->resumed = c->resume_next;
        c->resume = false;
        if (!can_process(c)) continue;
        start_reading(c);
        process_input(c);
    }
    uv_idle_stop(&n->wake);
}

void net_flush(struct net *n)
{
    while (n->dirty) {
        struct net_conn *c = n->dirty;
        n->dirty = c->dirty_next;
        c->dirty = false;
        flush_conn(c);
    }
}

/* --------------------------------------------------------------------
 * Listening and connecting
 * ------------------------------------------------------------------ */

/* Drops TLS clients whose handshake is past its deadline. */
static void on_handshake_sweep(uv_timer_t *t)
{
    struct net *n = t->data;
    int64_t now = (int64_t)uv_now(n->loop);
    for (struct net_conn *c = n->conns, *next; c && n->handshaking; c = next) {
        next = c->next;
        if (c->handshaking && !c->closing && now >= c->handshake_deadline_ms) {
            log_msg(LOG_VERBOSE, "Closing client %s: TLS handshake not done after %lld ms",
                    c->peer, (long long)n->limits.tls_handshake_timeout_ms);
            net_conn_close(c);
        }
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct net *n = l->net;
    if (status < 0) return;
    struct net_conn *c = conn_new(n);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        net_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 300);
    fill_names(c);
    if (l->tls) {
        CHECK(n->tls != NULL); /* net_listen refuses a TLS listener without one */
        c->tls = tls_conn_new(n->tls);
        c->handshaking = true;
        c->handshake_deadline_ms = (int64_t)uv_now(n->loop) + n->limits.tls_handshake_timeout_ms;
        if (n->handshaking++ == 0)
            uv_timer_start(&n->handshake_timer, on_handshake_sweep, HANDSHAKE_SWEEP_MS,
                           HANDSHAKE_SWEEP_MS);
    }
    if (n->h.on_accept) n->h.on_accept(n->h.ctx, c);
    if (c->rejected) return;
    n->stats.connections_received++;
    start_reading(c);
}

int net_tls_reload(struct net *n, const struct tls_settings *s, char *err, size_t errlen)
{
    return tls_ctx_reload(&n->tls, s, TLS_ROLE_SERVER, err, errlen);
}

/* Listens on one address of a bind list for net_listen. */
struct listen_args {
    struct net *net;
    bool tls;
};

static int listen_one(void *ctx, const struct sockaddr *sa, bool v6only)
{
    struct listen_args *a = ctx;
    struct listener *l = xcalloc(1, sizeof *l);
    l->net = a->net;
    l->tls = a->tls;
    uv_tcp_init(a->net->loop, &l->tcp);
    l->tcp.data = l;
    int rv = uv_tcp_bind(&l->tcp, sa, v6only ? UV_TCP_IPV6ONLY : 0);
    if (rv == 0) rv = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
    if (rv != 0) {
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
        return rv;
    }
    l->next = a->net->listeners;
    a->net->listeners = l;
    return 0;
}

int net_listen(struct net *n, const char *bind, int port, bool tls, char *err, size_t errlen)
{
    if (tls && n->tls == NULL) {
        snprintf(err, errlen, "No TLS context for the TLS listener on port %d", port);
        return UV_EINVAL;
    }
    struct listen_args a = {n, tls};
    return bindlist_listen(bind, port, tls ? "TLS" : "TCP", listen_one, &a, err, errlen);
}

int net_relisten(struct net *n, const char *bind, int port, bool tls, char *err, size_t errlen)
{
    struct listener *kept = n->listeners;
    n->listeners = NULL;
    int rv = port ? net_listen(n, bind, port, tls, err, errlen) : 0;
    struct listener *fresh = n->listeners;
    n->listeners = kept;
    struct listener **closing = rv == 0 ? &n->listeners : &fresh;
    /* On success the old listeners of this kind go; on failure the new. */
    for (struct listener **p = closing; *p;) {
        struct listener *l = *p;
        if (rv == 0 && l->tls != tls) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
    }
    if (rv != 0) return rv;
    struct listener **end = &n->listeners;
    while (*end) end = &(*end)->next;
    *end = fresh;
    return 0;
}

void net_close_all(struct net *n)
{
    for (struct listener *l = n->listeners, *next; l; l = next) {
        next = l->next;
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
    }
    n->listeners = NULL;
    for (struct net_conn *c = n->conns; c; c = c->next) net_conn_close(c);
    n->closed = true;
    uv_close((uv_handle_t *)&n->wake, NULL);
    uv_close((uv_handle_t *)&n->handshake_timer, NULL);
}

void net_free(struct net *n)
{
    assert(n->conns == NULL);
    tls_ctx_free(n->tls);
    free(n);
}

/* --------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------ */

void *net_conn_data(const struct net_conn *c) { return c->data; }
void net_conn_set_data(struct net_conn *c, void *data) { c->data = data; }
const char *net_conn_peer(const struct net_conn *c) { return c->peer; }
const char *net_conn_local(const struct net_conn *c) { return c->local; }
size_t net_conn_query_len(const struct net_conn *c) { return c->in.len - c->in_off; }
size_t net_conn_query_cap(const struct net_conn *c) { return c->in.cap; }
struct resp_parser *net_conn_parser(struct net_conn *c) { return &c->parser; }
bool net_conn_is_tls(const struct net_conn *c) { return c->tls != NULL; }
bool net_conn_peer_verified(const struct net_conn *c)
{
    return c->tls != NULL && tls_conn_established(c->tls) && tls_conn_peer_verified(c->tls);
}

int net_conn_fd(const struct net_conn *c)
{
    uv_os_fd_t fd = -1;
    uv_fileno((const uv_handle_t *)&c->tcp, &fd);
    return fd;
}
