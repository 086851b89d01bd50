/* repl/join.c — a node started with `join` asks to become a member.
 *
 * The node starts without bootstrapping a cluster of its own and sends
 * `RAFT NODE ADD <its id> <its raft-addr>` to the client port it was given
 * (any member: a follower answers with the leader's address, which the
 * next attempt uses). It asks again every JOIN_RETRY_MS until a leader
 * answers OK; a node already in the configuration is answered OK at once,
 * so a restarted node asks again harmlessly. Driven by the housekeeping
 * timer; an attempt is one short-lived connection. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

#define JOIN_RETRY_MS 500

struct join {
    struct repl *r;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct buf out, in;
    bool closing;
};

static void on_closed(uv_handle_t *h)
{
    struct join *j = h->data;
    buf_free(&j->out);
    buf_free(&j->in);
    free(j);
}

/* Ends the attempt; why (if any) is logged once per distinct reason. The
 * next attempt goes to the configured address again unless this one was
 * redirected to the leader. */
static void finish(struct join *j, const char *why, bool redirected)
{
    struct repl *r = j->r;
    if (j->closing) return;
    j->closing = true;
    if (r->join == j) r->join = NULL;
    if (!redirected) snprintf(r->join_target, sizeof r->join_target, "%s", r->cfg.join);
    if (why && strcmp(why, r->join_last_error) != 0) {
        log_warn("Joining through %s: %s (asking again every %d ms)", r->join_target, why,
                 JOIN_RETRY_MS);
        snprintf(r->join_last_error, sizeof r->join_last_error, "%s", why);
    }
    r->join_retry_at_us = clock_mono_us() + JOIN_RETRY_MS * 1000;
    uv_close((uv_handle_t *)&j->tcp, on_closed);
}

static void on_reply(struct join *j, const char *line, size_t len)
{
    struct repl *r = j->r;
    if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
        log_info("Node %" PRIu64 " is a member of the cluster (joined through %s)",
                 r->cfg.node_id, r->join_target);
        r->join_done = true;
        finish(j, NULL, false);
        return;
    }
    char text[300];
    snprintf(text, sizeof text, "%.*s", (int)(len > 1 ? len - 1 : 0), line + 1);
    const char *at = strstr(text, "the leader is at ");
    if (at) snprintf(r->join_target, sizeof r->join_target, "%s", at + strlen("the leader is at "));
    finish(j, text, at != NULL);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct join *j = h->data;
    (void)hint;
    buf_reserve(&j->in, 512);
    b->base = j->in.data + j->in.len;
    b->len = j->in.cap - j->in.len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct join *j = s->data;
    (void)b;
    if (n < 0) {
        finish(j, uv_strerror((int)n), false);
        return;
    }
    j->in.len += (size_t)n;
    char *eol = memchr(j->in.data, '\n', j->in.len);
    if (eol) on_reply(j, j->in.data, (size_t)(eol - j->in.data));
    else if (j->in.len > 4096) finish(j, "reply too long", false);
}

static void on_written(uv_write_t *req, int status)
{
    struct join *j = req->data;
    if (status < 0) finish(j, uv_strerror(status), false);
}

static void on_connected(uv_connect_t *req, int status)
{
    struct join *j = req->data;
    if (j->closing) return;
    if (status < 0) {
        finish(j, uv_strerror(status), false);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, j->r->cfg.node_id);
    const char *args[] = {"RAFT", "NODE", "ADD", id, j->r->raft_addr};
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", sizeof args / sizeof *args);
    buf_append_str(&j->out, head);
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(args[i]));
        buf_append_str(&j->out, head);
        buf_append_str(&j->out, args[i]);
        buf_append_str(&j->out, "\r\n");
    }
    uv_buf_t b = uv_buf_init(j->out.data, (unsigned)j->out.len);
    uv_read_start((uv_stream_t *)&j->tcp, on_alloc, on_read);
    if (uv_write(&j->write_req, (uv_stream_t *)&j->tcp, &b, 1, on_written) != 0)
        finish(j, "write failed", false);
}

void join_tick(struct repl *r)
{
    if (r->cfg.join == NULL || r->cfg.join[0] == '\0' || r->join_done || r->join || r->stopping)
        return;
    if (clock_mono_us() < r->join_retry_at_us) return;
    if (r->join_target[0] == '\0') snprintf(r->join_target, sizeof r->join_target, "%s", r->cfg.join);
    struct sockaddr_storage ss;
    if (addr_resolve(r->join_target, &ss) != 0) {
        log_warn("Cannot join through %s: not a numeric host:port", r->join_target);
        snprintf(r->join_target, sizeof r->join_target, "%s", r->cfg.join);
        r->join_retry_at_us = clock_mono_us() + JOIN_RETRY_MS * 1000;
        return;
    }
    struct join *j = xcalloc(1, sizeof *j);
    j->r = r;
    uv_tcp_init(r->loop, &j->tcp);
    j->tcp.data = j;
    j->connect_req.data = j;
    j->write_req.data = j;
    r->join = j;
    if (uv_tcp_connect(&j->connect_req, &j->tcp, (struct sockaddr *)&ss, on_connected) != 0)
        finish(j, "connect failed", false);
}

void join_close(struct repl *r)
{
    if (r->join) finish(r->join, NULL, false);
}
