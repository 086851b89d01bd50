/* tests/unit/test_outconn.c — net/outconn.c against a scripted peer over
 * real loopback TCP (and TLS), in one libuv loop.
 *
 * The peer accepts one connection, records what it is sent and writes
 * what the test tells it to. Checked: a request made before the connection
 * is up is sent once it is; a reply split anywhere is handed over whole,
 * once, and only when its last byte has come; several replies in one read
 * come out one by one, in order; input that is not RESP, or a bulk over the
 * bound (refused from its header, not waited for), fails the connection
 * once with OUTCONN_BAD_REPLY; a silent peer meets the deadline, a replaced
 * deadline's text is the one told; a bad address or nothing listening is
 * OUTCONN_UNREACHABLE, told from the loop (never before outconn_open
 * returns); the peer closing is OUTCONN_CLOSED; the owner closing from
 * on_reply hears nothing more; over TLS a request and its reply go through
 * the pipe, and a peer whose certificate the CA did not sign is
 * OUTCONN_TLS. Every test ends with every handle closed (uv_loop_close
 * succeeds) and, under ASan, nothing leaked. Every wait is a loop run until
 * a condition, with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "base/tls.h"
#include "net/outconn.h"
#include "net/tlspipe.h"
#include "loop_until.h"
#include "tls_certs.h"

#define DEADLINE_MS 20000
#define BULK_MAX 16
#define REPLIES_MAX 8

/* The far side: accepts one connection and is scripted by the test. */
struct peer {
    uv_tcp_t listener;
    uv_tcp_t *tcp;
    struct tlspipe *pipe; /* with TLS: the peer reads and writes `plain` */
    uv_pipe_t plain;
    uv_stream_t *stream;
    bool accepted, eof, pipe_closed, stream_closed;
    int writes_pending;
    char got[1024];
    size_t got_len;
};

/* The outconn's owner: what each callback was told. */
struct owner {
    struct outconn *c;
    int connected;
    int n_replies;
    char reply[REPLIES_MAX][128];
    size_t reply_len[REPLIES_MAX];
    int fails;
    enum outconn_end end;
    char why[256];
    bool close_on_reply;
};

struct world {
    uv_loop_t loop;
    struct peer peer;
    struct owner owner;
    struct tls_ctx *peer_ctx, *owner_ctx;
    char addr[64];
};

/* --------------------------------------------------------------------
 * The peer
 * ------------------------------------------------------------------ */

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct world *w = h->data;
    buf->base = w->peer.got + w->peer.got_len;
    buf->len = sizeof w->peer.got - w->peer.got_len;
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct world *w = s->data;
    if (n < 0) {
        w->peer.eof = true;
        uv_read_stop(s);
        return;
    }
    w->peer.got_len += (size_t)n;
}

static void free_tcp(uv_tcp_t *tcp) { free(tcp); }
static void peer_pipe_closed(void *data) { ((struct world *)data)->peer.pipe_closed = true; }

static void peer_accept(uv_stream_t *l, int status)
{
    struct world *w = l->data;
    assert_int_equal(status, 0);
    struct peer *p = &w->peer;
    assert_false(p->accepted);
    p->tcp = malloc(sizeof *p->tcp);
    uv_tcp_init(&w->loop, p->tcp);
    p->tcp->data = w;
    assert_int_equal(uv_accept(l, (uv_stream_t *)p->tcp), 0);
    p->stream = (uv_stream_t *)p->tcp;
    if (w->peer_ctx) {
        struct tlspipe_hooks hooks = {
            .data = w, .on_closed = peer_pipe_closed, .free_tcp = free_tcp};
        int rv = 0;
        p->pipe = tlspipe_new(&w->loop, p->tcp, w->peer_ctx, &p->plain, &hooks, &rv);
        assert_non_null(p->pipe);
        p->plain.data = w;
        p->stream = (uv_stream_t *)&p->plain;
    }
    assert_int_equal(uv_read_start(p->stream, peer_alloc, peer_read), 0);
    p->accepted = true;
}

static void peer_written(uv_write_t *req, int status)
{
    (void)status;
    struct world *w = req->data;
    w->peer.writes_pending--;
    free(req);
}

/* The peer writes text (len bytes). */
static void peer_send(struct world *w, const char *text, size_t len)
{
    struct {
        uv_write_t req;
        char data[256];
    } *m = malloc(sizeof *m);
    assert_true(len <= sizeof m->data);
    memcpy(m->data, text, len);
    m->req.data = w;
    uv_buf_t b = uv_buf_init(m->data, (unsigned)len);
    assert_int_equal(uv_write(&m->req, w->peer.stream, &b, 1, peer_written), 0);
    w->peer.writes_pending++;
}

/* The peer hangs up (with TLS its pipe then closes the TCP stream). */
static void peer_close(struct world *w)
{
    struct peer *p = &w->peer;
    if (!p->accepted || p->stream_closed) return;
    p->stream_closed = true;
    uv_close((uv_handle_t *)p->stream, p->pipe ? NULL : (uv_close_cb)free);
}

/* --------------------------------------------------------------------
 * The owner
 * ------------------------------------------------------------------ */

static void on_connected(void *arg)
{
    struct owner *o = arg;
    o->connected++;
}

static void on_reply(void *arg, const char *reply, size_t len)
{
    struct owner *o = arg;
    assert_true(o->n_replies < REPLIES_MAX && len < sizeof o->reply[0]);
    memcpy(o->reply[o->n_replies], reply, len);
    o->reply_len[o->n_replies++] = len;
    if (o->close_on_reply) {
        outconn_close(o->c);
        o->c = NULL;
    }
}

static void on_fail(void *arg, enum outconn_end end, const char *why)
{
    struct owner *o = arg;
    o->fails++;
    o->end = end;
    snprintf(o->why, sizeof o->why, "%s", why);
    o->c = NULL; /* closed once this returns */
}

/* --------------------------------------------------------------------
 * The world
 * ------------------------------------------------------------------ */

/* Runs the loop until done(w), or DEADLINE_MS. */
static bool run_until(struct world *w, bool (*done)(struct world *))
{
    return loop_until(&w->loop, (bool (*)(void *))done, NULL, w, DEADLINE_MS);
}

static bool accepted(struct world *w) { return w->peer.accepted; }
static bool connected(struct world *w) { return w->owner.connected == 1 && w->peer.accepted; }
static bool failed(struct world *w) { return w->owner.fails > 0; }
static bool peer_flushed(struct world *w) { return w->peer.writes_pending == 0; }
static bool peer_eof(struct world *w) { return w->peer.eof; }
static bool got_ping(struct world *w)
{
    return w->peer.got_len >= 14;
}
static bool one_reply(struct world *w) { return w->owner.n_replies >= 1; }
static bool three_replies(struct world *w) { return w->owner.n_replies >= 3; }

/* Listens on a loopback port (the address outconn is given: w->addr). */
static void world_start(struct world *w, struct tls_ctx *peer_ctx, struct tls_ctx *owner_ctx)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    w->peer_ctx = peer_ctx;
    w->owner_ctx = owner_ctx;
    uv_tcp_init(&w->loop, &w->peer.listener);
    w->peer.listener.data = w;
    struct sockaddr_in sin;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    assert_int_equal(uv_tcp_bind(&w->peer.listener, (struct sockaddr *)&sin, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&w->peer.listener, 4, peer_accept), 0);
    int len = sizeof sin;
    uv_tcp_getsockname(&w->peer.listener, (struct sockaddr *)&sin, &len);
    snprintf(w->addr, sizeof w->addr, "127.0.0.1:%d", ntohs(sin.sin_port));
}

static void open_conn(struct world *w, const char *addr, unsigned deadline_ms, const char *why)
{
    struct outconn_options o = {
        .tls = w->owner_ctx ? &w->owner_ctx : NULL,
        .deadline_ms = deadline_ms,
        .deadline_why = why,
        .reply_bulk_max = BULK_MAX,
    };
    struct outconn_handlers h = {
        .arg = &w->owner, .on_connected = on_connected, .on_reply = on_reply, .on_fail = on_fail};
    w->owner.c = outconn_open(&w->loop, addr, &o, &h);
    /* No callback before outconn_open returns. */
    assert_int_equal(w->owner.connected + w->owner.n_replies + w->owner.fails, 0);
}

/* Closes what is left; every handle must be gone (nothing leaks). */
static void world_end(struct world *w)
{
    if (w->owner.c) outconn_close(w->owner.c);
    w->owner.c = NULL;
    struct peer *p = &w->peer;
    peer_close(w);
    uv_close((uv_handle_t *)&p->listener, NULL);
    assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    assert_true(p->pipe == NULL || p->pipe_closed);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    tls_ctx_free(w->peer_ctx);
    tls_ctx_free(w->owner_ctx);
}

/* A plaintext world whose connection is up. */
static void start_connected(struct world *w)
{
    world_start(w, NULL, NULL);
    open_conn(w, w->addr, DEADLINE_MS, "late");
    assert_true(run_until(w, connected));
}

/* The connection ends by itself, once, the way expected. */
static void assert_fails(struct world *w, enum outconn_end end)
{
    assert_true(run_until(w, failed));
    assert_int_equal(w->owner.fails, 1);
    assert_int_equal(w->owner.end, end);
}

static void assert_reply(struct world *w, int i, const char *text)
{
    assert_true(w->owner.n_replies > i);
    assert_int_equal(w->owner.reply_len[i], strlen(text));
    assert_memory_equal(w->owner.reply[i], text, strlen(text));
}

/* --------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------ */

static void test_request_before_connect_and_split_replies(void **state)
{
    (void)state;
    static struct world w;
    world_start(&w, NULL, NULL);
    open_conn(&w, w.addr, DEADLINE_MS, "late");
    const char *ping[] = {"PING"};
    outconn_request(w.owner.c, 1, ping);
    outconn_flush(w.owner.c); /* not connected yet: it waits */
    assert_true(run_until(&w, got_ping));
    assert_int_equal(w.owner.connected, 1);
    assert_int_equal(w.peer.got_len, 14);
    assert_memory_equal(w.peer.got, "*1\r\n$4\r\nPING\r\n", 14);

    /* One reply a byte at a time: nothing until its last byte. */
    const char *reply = "*2\r\n$3\r\nabc\r\n:5\r\n";
    size_t len = strlen(reply);
    for (size_t i = 0; i + 1 < len; i++) {
        peer_send(&w, reply + i, 1);
        assert_true(run_until(&w, peer_flushed));
        for (int k = 0; k < 20; k++) uv_run(&w.loop, UV_RUN_NOWAIT);
        assert_int_equal(w.owner.n_replies, 0);
    }
    peer_send(&w, reply + len - 1, 1);
    assert_true(run_until(&w, one_reply));
    assert_reply(&w, 0, reply);

    /* Two in one write, the second's bulk holding a CRLF. */
    const char *two = "+OK\r\n$4\r\na\r\nb\r\n";
    peer_send(&w, two, strlen(two));
    assert_true(run_until(&w, three_replies));
    assert_reply(&w, 1, "+OK\r\n");
    assert_reply(&w, 2, "$4\r\na\r\nb\r\n");
    assert_int_equal(w.owner.fails, 0);
    world_end(&w);
}

static void bad_input(const char *good, const char *bad)
{
    static struct world w;
    start_connected(&w);
    peer_send(&w, good, strlen(good));
    peer_send(&w, bad, strlen(bad));
    assert_fails(&w, OUTCONN_BAD_REPLY);
    assert_int_equal(w.owner.n_replies, 1);
    assert_reply(&w, 0, good);
    /* It closed itself: the peer reads EOF. */
    assert_true(run_until(&w, peer_eof));
    world_end(&w);
}

static void test_malformed_reply_fails_once(void **state)
{
    (void)state;
    bad_input("+OK\r\n", "?what\r\n");
    bad_input(":1\r\n", "$3\r\nabcXY"); /* a bulk not followed by CRLF */
}

static void test_bulk_over_the_bound_is_refused_from_its_header(void **state)
{
    (void)state;
    /* 16 bytes (the bound) pass; 17 are refused before they arrive. */
    bad_input("$16\r\n0123456789abcdef\r\n", "$17\r\n");
}

static void test_deadline(void **state)
{
    (void)state;
    static struct world w;
    world_start(&w, NULL, NULL);
    /* The peer accepts and says nothing. */
    open_conn(&w, w.addr, 50, "no answer in time");
    assert_fails(&w, OUTCONN_DEADLINE);
    assert_string_equal(w.owner.why, "no answer in time");
    world_end(&w);

    /* A replaced deadline tells its own text. */
    start_connected(&w);
    outconn_deadline(w.owner.c, 50, "second");
    assert_fails(&w, OUTCONN_DEADLINE);
    assert_string_equal(w.owner.why, "second"); /* not the first deadline's "late" */
    world_end(&w);
}

static void test_unreachable(void **state)
{
    (void)state;
    static struct world w;
    const char *bad[] = {"nonsense", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
                         "127.0.0.1:12x", "[::1:80", "300.1.1.1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        world_start(&w, NULL, NULL);
        open_conn(&w, bad[i], DEADLINE_MS, "late");
        assert_fails(&w, OUTCONN_UNREACHABLE);
        assert_string_equal(w.owner.why, "not a numeric host:port");
        world_end(&w);
    }
    /* Nothing listening: the port of a listener that has closed. */
    world_start(&w, NULL, NULL);
    uv_close((uv_handle_t *)&w.peer.listener, NULL);
    uv_run(&w.loop, UV_RUN_NOWAIT);
    uv_tcp_init(&w.loop, &w.peer.listener); /* world_end closes it */
    open_conn(&w, w.addr, DEADLINE_MS, "late");
    assert_fails(&w, OUTCONN_UNREACHABLE);
    assert_int_equal(w.owner.connected, 0);
    world_end(&w);
}

/* The peer hanging up is told once; the owner closing from on_reply hears
 * nothing more, not even of the reply already read behind it. */
static void test_either_side_closing(void **state)
{
    (void)state;
    static struct world w;
    start_connected(&w);
    peer_send(&w, "+OK\r\n", 5);
    assert_true(run_until(&w, peer_flushed));
    peer_close(&w);
    assert_fails(&w, OUTCONN_CLOSED);
    assert_int_equal(w.owner.n_replies, 1);
    world_end(&w);

    start_connected(&w);
    w.owner.close_on_reply = true;
    peer_send(&w, "+A\r\n+B\r\n", 8);
    assert_true(run_until(&w, peer_eof));
    assert_int_equal(w.owner.fails, 0);
    assert_int_equal(w.owner.n_replies, 1);
    assert_reply(&w, 0, "+A\r\n");
    world_end(&w);
}

static void test_tls(void **state)
{
    (void)state;
    static struct world w;
    world_start(&w, server_ctx(TLS_AUTH_YES), client_ctx("client"));
    open_conn(&w, w.addr, DEADLINE_MS, "late");
    const char *ping[] = {"PING"};
    outconn_request(w.owner.c, 1, ping);
    outconn_flush(w.owner.c);
    assert_true(run_until(&w, got_ping));
    assert_memory_equal(w.peer.got, "*1\r\n$4\r\nPING\r\n", 14);
    peer_send(&w, "+PONG\r\n", 7);
    assert_true(run_until(&w, one_reply));
    assert_reply(&w, 0, "+PONG\r\n");
    assert_int_equal(w.owner.fails, 0);
    world_end(&w);
}

static void test_tls_peer_the_ca_did_not_sign(void **state)
{
    (void)state;
    static struct world w;
    world_start(&w, server_ctx_showing("rogue", TLS_AUTH_YES), client_ctx("client"));
    open_conn(&w, w.addr, DEADLINE_MS, "late");
    assert_true(run_until(&w, accepted));
    assert_fails(&w, OUTCONN_TLS);
    assert_true(strncmp(w.owner.why, "TLS: ", 5) == 0);
    assert_true(strstr(w.owner.why, "certificate") != NULL);
    assert_int_equal(w.owner.n_replies, 0);
    world_end(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_before_connect_and_split_replies),
        cmocka_unit_test(test_malformed_reply_fails_once),
        cmocka_unit_test(test_bulk_over_the_bound_is_refused_from_its_header),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_either_side_closing),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_peer_the_ca_did_not_sign),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
