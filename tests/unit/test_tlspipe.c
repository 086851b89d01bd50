/* tests/unit/test_tlspipe.c — net/tlspipe.c: two pipes over a real
 * loopback TCP connection, in one libuv loop.
 *
 * A server-role pipe (requiring a client certificate) and a client-role
 * pipe each offer a plaintext end; the test writes on one end and reads
 * the other, as libraft would. Checked: 8 MB arrive intact and in order
 * both ways; while the reader does not read, both pipes stop (their
 * queues stay within the bound, the rest waits in the writer's own queue)
 * and resume when it reads; closing one plaintext end reaches the other as
 * EOF and frees both pipes; a client without a certificate, or with one
 * another CA signed, fails with OpenSSL's reason and nothing reaches the
 * server's plaintext end. Certificates: tls_certs.h. Every wait is a loop
 * run until a condition, with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "base/tls.h"
#include "net/tlspipe.h"
#include "loop_until.h"
#include "tls_certs.h"

#define TOTAL (8u * 1024 * 1024)
#define PIECE (64u * 1024)
#define DEADLINE_MS 30000

struct side {
    uv_tcp_t *tcp;
    uv_pipe_t plain;
    struct tlspipe *pipe;
    bool closed;      /* on_closed ran */
    bool eof;         /* the plaintext end read EOF */
    char why[256];    /* on_fail */
    size_t received;  /* plaintext read on the plain end */
    bool pattern_ok;
    bool reading;
};

struct world {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_connect_t connect;
    struct side server, client;
    struct tls_ctx *sctx, *cctx;
    int connected; /* accepted + connected */
    size_t max_queued;
    char buf[PIECE];
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131u + (i >> 16)); }

static void free_tcp(uv_tcp_t *tcp) { free(tcp); }
static void on_fail(void *data, const char *why)
{
    struct side *s = data;
    snprintf(s->why, sizeof s->why, "%s", why);
}
static void on_closed(void *data) { ((struct side *)data)->closed = true; }

static void start_pipe(struct world *w, struct side *s, struct tls_ctx *ctx)
{
    struct tlspipe_hooks hooks = {
        .data = s, .on_fail = on_fail, .on_closed = on_closed, .free_tcp = free_tcp};
    int status = 0;
    s->pipe = tlspipe_new(&w->loop, s->tcp, ctx, &s->plain, &hooks, &status);
    assert_non_null(s->pipe);
    s->plain.data = s;
    s->pattern_ok = true;
}

static void on_accept(uv_stream_t *l, int status)
{
    struct world *w = l->data;
    assert_int_equal(status, 0);
    w->server.tcp = malloc(sizeof *w->server.tcp);
    uv_tcp_init(&w->loop, w->server.tcp);
    assert_int_equal(uv_accept(l, (uv_stream_t *)w->server.tcp), 0);
    start_pipe(w, &w->server, w->sctx);
    w->connected++;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct world *w = req->data;
    assert_int_equal(status, 0);
    start_pipe(w, &w->client, w->cctx);
    w->connected++;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    static char scratch[PIECE];
    (void)h;
    buf->base = scratch;
    buf->len = sizeof scratch;
}

static void on_plain_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct side *s = st->data;
    if (n < 0) {
        s->eof = true;
        uv_read_stop(st);
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if ((uint8_t)buf->base[i] != pattern(s->received + (size_t)i)) s->pattern_ok = false;
    s->received += (size_t)n;
}

static void set_reading(struct side *s, bool on)
{
    if (on == s->reading) return;
    if (on) assert_int_equal(uv_read_start((uv_stream_t *)&s->plain, on_alloc, on_plain_read), 0);
    else uv_read_stop((uv_stream_t *)&s->plain);
    s->reading = on;
}

static void on_plain_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Queues TOTAL bytes of the pattern on s's plaintext end (libuv holds
 * what the socketpair does not take: the writer's own queue). */
static void write_all(struct side *s)
{
    for (size_t off = 0; off < TOTAL; off += PIECE) {
        struct {
            uv_write_t req;
            char data[PIECE];
        } *w = malloc(sizeof *w);
        for (size_t i = 0; i < PIECE; i++) w->data[i] = (char)pattern(off + i);
        uv_buf_t b = uv_buf_init(w->data, PIECE);
        assert_int_equal(uv_write(&w->req, (uv_stream_t *)&s->plain, &b, 1, on_plain_written), 0);
    }
}

static void note_queues(struct world *w)
{
    struct tlspipe *ps[] = {w->server.closed ? NULL : w->server.pipe,
                            w->client.closed ? NULL : w->client.pipe};
    for (int k = 0; k < 2; k++)
        if (ps[k] && tlspipe_queued(ps[k]) > w->max_queued) w->max_queued = tlspipe_queued(ps[k]);
}

static void note_queues_of(void *w) { note_queues(w); }

/* Runs the loop until done(w) or DEADLINE_MS have passed, noting the
 * largest queue either pipe held. */
static bool run_until(struct world *w, bool (*done)(struct world *))
{
    return loop_until(&w->loop, (bool (*)(void *))done, note_queues_of, w, DEADLINE_MS);
}

/* Runs what is ready, n times, without waiting. */
static void spin(struct world *w, int n)
{
    for (int i = 0; i < n; i++) {
        uv_run(&w->loop, UV_RUN_NOWAIT);
        note_queues(w);
    }
}

static bool connected(struct world *w) { return w->connected == 2; }
static bool server_got_all(struct world *w) { return w->server.received == TOTAL; }
static bool client_got_all(struct world *w) { return w->client.received == TOTAL; }
static bool both_closed(struct world *w) { return w->server.closed && w->client.closed; }
static bool server_failed(struct world *w) { return w->server.why[0] != '\0' && both_closed(w); }

static void world_start(struct world *w, const char *client_cert)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    w->sctx = server_ctx(TLS_AUTH_YES);
    w->cctx = client_ctx(client_cert);
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    assert_int_equal(uv_tcp_bind(&w->listener, (struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&w->listener, 4, on_accept), 0);
    int len = sizeof addr;
    uv_tcp_getsockname(&w->listener, (struct sockaddr *)&addr, &len);
    w->client.tcp = malloc(sizeof *w->client.tcp);
    uv_tcp_init(&w->loop, w->client.tcp);
    w->connect.data = w;
    assert_int_equal(uv_tcp_connect(&w->connect, w->client.tcp, (struct sockaddr *)&addr,
                                    on_connect), 0);
    assert_true(run_until(w, connected));
}

static void world_end(struct world *w)
{
    /* Our plaintext ends are ours to close; the pipes close their side. */
    uv_handle_t *ends[] = {(uv_handle_t *)&w->server.plain, (uv_handle_t *)&w->client.plain};
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing(ends[i])) uv_close(ends[i], NULL);
    uv_close((uv_handle_t *)&w->listener, NULL);
    assert_true(run_until(w, both_closed));
    assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    tls_ctx_free(w->sctx);
    tls_ctx_free(w->cctx);
}

static void test_data_both_ways_with_backpressure(void **state)
{
    (void)state;
    static struct world w;
    world_start(&w, "client");
    /* The server's end is not read: everything stops within the bounds. */
    write_all(&w.client);
    spin(&w, 5000);
    assert_int_equal(w.server.received, 0);
    assert_true(w.max_queued <= 2 * (TLSPIPE_QUEUE_MAX + TLSPIPE_CHUNK_MAX));
    assert_true(w.max_queued >= TLSPIPE_QUEUE_MAX); /* it did fill up */
    /* Reading resumes the flow; all of it arrives, in order. */
    set_reading(&w.server, true);
    assert_true(run_until(&w, server_got_all));
    assert_true(w.server.pattern_ok);
    /* The other way. */
    set_reading(&w.client, true);
    write_all(&w.server);
    assert_true(run_until(&w, client_got_all));
    assert_true(w.client.pattern_ok);
    assert_true(w.max_queued <= 2 * (TLSPIPE_QUEUE_MAX + TLSPIPE_CHUNK_MAX));
    assert_string_equal(w.server.why, "");
    assert_string_equal(w.client.why, "");
    /* Closing the client's plaintext end reaches the server's as EOF. */
    uv_close((uv_handle_t *)&w.client.plain, NULL);
    assert_true(run_until(&w, both_closed));
    assert_true(w.server.eof);
    world_end(&w);
}

static void refused(const char *client_cert)
{
    static struct world w;
    world_start(&w, client_cert);
    set_reading(&w.server, true);
    set_reading(&w.client, true);
    /* What the client writes must never reach the server's end. */
    uv_buf_t b = uv_buf_init((char *)"hello", 5);
    uv_write_t *req = malloc(sizeof *req);
    assert_int_equal(uv_write(req, (uv_stream_t *)&w.client.plain, &b, 1, on_plain_written), 0);
    assert_true(run_until(&w, server_failed));
    assert_int_equal(w.server.received, 0);
    assert_true(strstr(w.server.why, "certificate") != NULL);
    assert_true(w.server.eof);
    world_end(&w);
}

static void test_client_without_certificate(void **state)
{
    (void)state;
    refused(NULL);
}

static void test_client_certificate_of_another_ca(void **state)
{
    (void)state;
    refused("rogue");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_both_ways_with_backpressure),
        cmocka_unit_test(test_client_without_certificate),
        cmocka_unit_test(test_client_certificate_of_another_ca),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
