/* repl/ask.c — one command sent to another node's client port.
 *
 * Some cluster operations need a word with another member rather than the
 * log: a joining node asks a member to add it, and a membership command
 * sent to a follower is passed on to the leader. An ask is one short-lived
 * connection: connect, send one command, read the first line of the reply,
 * close. It ends within its deadline, and its callback runs exactly once
 * (unless it is cancelled): with the reply line ("+OK", "-ERR ...", ":1";
 * no CRLF), or with an "-ERR ..." line of our own saying why no reply came.
 * Only single-line replies are understood; that is all these commands send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "repl/internal.h"

#define ASK_REPLY_MAX 4096

struct ask {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct buf out, in;
    ask_cb *cb;
    void *arg;
    int open_handles;
    bool done;
    const char *early_error; /* failed before connecting: told from the timer */
};

static void on_closed(uv_handle_t *h)
{
    struct ask *a = h->data;
    if (--a->open_handles > 0) return;
    buf_free(&a->out);
    buf_free(&a->in);
    free(a);
}

/* Calls back (once) and closes both handles. */
static void finish(struct ask *a, const char *line, size_t len)
{
    if (a->done) return;
    a->done = true;
    if (a->cb) a->cb(a->arg, line, len);
    uv_close((uv_handle_t *)&a->tcp, on_closed);
    uv_close((uv_handle_t *)&a->timer, on_closed);
}

static void fail(struct ask *a, const char *why)
{
    char line[300];
    int n = snprintf(line, sizeof line, "-ERR %s", why);
    finish(a, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void on_timeout(uv_timer_t *t)
{
    struct ask *a = t->data;
    fail(a, a->early_error ? a->early_error : "no answer in time");
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct ask *a = h->data;
    (void)hint;
    buf_reserve(&a->in, 512);
    b->base = a->in.data + a->in.len;
    b->len = a->in.cap - a->in.len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct ask *a = s->data;
    (void)b;
    if (a->done) return;
    if (n < 0) {
        fail(a, n == UV_EOF ? "connection closed" : uv_strerror((int)n));
        return;
    }
    a->in.len += (size_t)n;
    char *eol = memchr(a->in.data, '\n', a->in.len);
    if (eol) {
        size_t len = (size_t)(eol - a->in.data);
        if (len > 0 && a->in.data[len - 1] == '\r') len--;
        finish(a, a->in.data, len);
    } else if (a->in.len > ASK_REPLY_MAX) {
        fail(a, "reply too long");
    }
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0) fail(req->data, uv_strerror(status));
}

static void on_connected(uv_connect_t *req, int status)
{
    struct ask *a = req->data;
    if (a->done) return;
    if (status < 0) {
        fail(a, uv_strerror(status));
        return;
    }
    uv_buf_t b = uv_buf_init(a->out.data, (unsigned)a->out.len);
    uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
    if (uv_write(&a->write_req, (uv_stream_t *)&a->tcp, &b, 1, on_written) != 0)
        fail(a, "write failed");
}

struct ask *ask_start(struct repl *r, const char *addr, int argc, const char *const *argv,
                      unsigned timeout_ms, ask_cb *cb, void *arg)
{
    struct ask *a = xcalloc(1, sizeof *a);
    a->cb = cb;
    a->arg = arg;
    buf_printf(&a->out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) buf_printf(&a->out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    uv_tcp_init(r->loop, &a->tcp);
    uv_timer_init(r->loop, &a->timer);
    a->tcp.data = a->timer.data = a->connect_req.data = a->write_req.data = a;
    a->open_handles = 2;
    struct sockaddr_storage ss;
    if (addr_resolve(addr, &ss) != 0)
        a->early_error = "not a numeric host:port";
    else if (uv_tcp_connect(&a->connect_req, &a->tcp, (struct sockaddr *)&ss, on_connected) != 0)
        a->early_error = "connect failed";
    /* The callback never runs before ask_start returns. */
    uv_timer_start(&a->timer, on_timeout, a->early_error ? 0 : timeout_ms, 0);
    return a;
}

void ask_cancel(struct ask *a)
{
    a->cb = NULL;
    finish(a, NULL, 0);
}
