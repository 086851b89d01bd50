/* repl/ask.c — one command sent to another node's client port.
 *
 * Some cluster operations need a word with another member rather than the
 * log: a joining node asks a member to add it, and a membership command
 * sent to a follower is passed on to the leader. An ask is one short-lived
 * peer connection (peerconn.c: it proves the cluster secret first, over
 * TLS with this node's certificate under tls-cluster, so it is answered
 * whatever requirepass, ACL users or protected mode the other node has):
 * send one command, read the first line of its reply, close. A relayed
 * command names the leader it is meant for, and is answered by no other.
 * It ends within its deadline, and its callback runs exactly once (unless
 * it is cancelled): with the reply line ("+OK", "-ERR ...", ":1"; no
 * CRLF), or with an "-ERR ..." line of our own saying why no reply came.
 * Only single-line replies are understood; that is all these commands
 * send. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/mem.h"
#include "repl/internal.h"

#define ASK_ARGS_MAX 8

struct ask {
    struct peerconn *pc;
    ask_cb *cb;
    void *arg;
    int64_t deadline_us;
    int argc;
    char *argv[ASK_ARGS_MAX];
};

static void ask_free(struct ask *a)
{
    for (int i = 0; i < a->argc; i++) free(a->argv[i]);
    free(a);
}

/* Calls back once; the connection is closed (or closing) and a is freed. */
static void finish(struct ask *a, const char *line, size_t len)
{
    ask_cb *cb = a->cb;
    void *arg = a->arg;
    peerconn_close(a->pc);
    ask_free(a);
    cb(arg, line, len);
}

static void on_fail(void *arg, const char *why)
{
    char line[300];
    int n = snprintf(line, sizeof line, "-ERR %s", why);
    finish(arg, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void on_ready(void *arg)
{
    struct ask *a = arg;
    int64_t left_us = a->deadline_us - clock_mono_us();
    peerconn_deadline(a->pc, left_us > 0 ? (unsigned)(left_us / 1000) : 0, "no answer in time");
    peerconn_request(a->pc, a->argc, (const char *const *)a->argv);
    peerconn_flush(a->pc);
}

static void on_reply(void *arg, const char *reply, size_t len)
{
    /* The first line, without its CRLF (replies end with one). */
    const char *eol = memchr(reply, '\r', len);
    finish(arg, reply, eol ? (size_t)(eol - reply) : len);
}

struct ask *ask_start(struct repl *r, const char *addr, uint64_t expected_id, int argc,
                      const char *const *argv, unsigned timeout_ms, ask_cb *cb, void *arg)
{
    CHECK(argc > 0 && argc <= ASK_ARGS_MAX && cb != NULL);
    struct ask *a = xcalloc(1, sizeof *a);
    a->cb = cb;
    a->arg = arg;
    a->argc = argc;
    for (int i = 0; i < argc; i++) a->argv[i] = xstrdup(argv[i]);
    a->deadline_us = clock_mono_us() + (int64_t)timeout_ms * 1000;
    struct peerconn_handlers h = {.arg = a, .on_ready = on_ready, .on_reply = on_reply,
                                  .on_fail = on_fail};
    a->pc = peerconn_open(r, addr, expected_id, timeout_ms, &h);
    return a;
}

void ask_cancel(struct ask *a)
{
    peerconn_close(a->pc);
    ask_free(a);
}
