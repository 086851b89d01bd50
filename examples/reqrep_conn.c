/* examples/reqrep_conn.c — a hiredis connection that survives node failures.
 *
 * Any Parley node accepts any client: a follower forwards writes to the
 * leader and relays the answer. So a client needs no leader discovery, only
 * a list of nodes: when the node it talks to dies (connection refused or
 * reset, or no reply in time) or answers with an error that a failover
 * produces, it backs off and tries the next one. What it cannot know is
 * whether a command whose connection failed was executed: callers of this
 * file decide what to do about that (see reqrep_pattern.c).
 *
 * Also here: the clock and log helpers every file of the example uses, and
 * what the scenario examples build on: a command retried until it answers
 * (rr_conn_call), the messages pushed to a subscriber, a consumer group's
 * next entry, and the options every one of them takes. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "reqrep.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

/* ---- time ------------------------------------------------------------ */

int64_t rr_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rr_mono_ms(void)
{
    return rr_mono_us() / 1000;
}

int64_t rr_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rr_sleep_ms(int64_t ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static struct timeval timeval_of_ms(int64_t ms)
{
    if (ms < 1) ms = 1;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* ---- logging --------------------------------------------------------- */

void rr_log(const char *who, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s: ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, who ? who : "request_reply");
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one write per line, so threads do not interleave */
}

/* ---- node list ------------------------------------------------------- */

static int parse_node(const char *s, size_t len, int default_port, struct rr_node *node)
{
    const char *colon = memrchr(s, ':', len);
    size_t host_len = colon ? (size_t)(colon - s) : len;
    if (host_len == 0 || host_len >= RR_HOST_MAX) return -1;
    memcpy(node->host, s, host_len);
    node->host[host_len] = '\0';
    node->port = default_port;
    if (colon) {
        char digits[8];
        size_t digits_len = len - host_len - 1;
        if (digits_len == 0 || digits_len >= sizeof digits) return -1;
        memcpy(digits, colon + 1, digits_len);
        digits[digits_len] = '\0';
        char *end;
        long port = strtol(digits, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535) return -1;
        node->port = (int)port;
    }
    return 0;
}

int rr_conn_init(struct rr_conn *conn, const char *nodes, int default_port, const char *who,
                 char *error)
{
    assert(conn && nodes && error);
    memset(conn, 0, sizeof *conn);
    conn->connect_timeout_ms = 2000;
    conn->who = who;
    const char *p = nodes;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (conn->node_count == RR_NODES_MAX) {
            snprintf(error, 128, "more than %d nodes in '%s'", RR_NODES_MAX, nodes);
            return -1;
        }
        if (parse_node(p, len, default_port, &conn->nodes[conn->node_count]) != 0) {
            snprintf(error, 128, "bad node '%.*s' (want host or host:port)", (int)len, p);
            return -1;
        }
        conn->node_count++;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

bool rr_conn_open(struct rr_conn *conn, const char *program, const char *nodes, int default_port,
                  const char *who)
{
    char error[256];
    if (rr_conn_init(conn, nodes, default_port, who, error) == 0) return true;
    fprintf(stderr, "%s: %s\n", program, error);
    return false;
}

void rr_conn_close(struct rr_conn *conn)
{
    if (conn->ctx) redisFree(conn->ctx);
    conn->ctx = NULL;
}

static const struct rr_node *current_node(const struct rr_conn *conn)
{
    assert(conn->node_count > 0);
    return &conn->nodes[conn->node_index % conn->node_count];
}

static bool ensure_connected(struct rr_conn *conn)
{
    if (conn->ctx) return true;
    const struct rr_node *node = current_node(conn);
    redisContext *ctx =
        redisConnectWithTimeout(node->host, node->port, timeval_of_ms(conn->connect_timeout_ms));
    if (ctx == NULL || ctx->err) {
        if (!conn->quiet)
            rr_log(conn->who, "cannot connect to %s:%d: %s", node->host, node->port,
                   ctx ? ctx->errstr : "out of memory");
        if (ctx) redisFree(ctx);
        return false;
    }
    conn->ctx = ctx;
    return true;
}

/* ---- commands -------------------------------------------------------- */

int rr_conn_pipeline(struct rr_conn *conn, int64_t timeout_ms, int n, const struct rr_cmd *cmds,
                     redisReply **replies)
{
    assert(n > 0);
    for (int i = 0; i < n; i++) replies[i] = NULL;
    if (!ensure_connected(conn)) return -1;
    /* The socket's send and receive timeout bounds every read and write. */
    if (redisSetTimeout(conn->ctx, timeval_of_ms(timeout_ms)) != REDIS_OK) goto err;
    for (int i = 0; i < n; i++) {
        assert(cmds[i].argc > 0 && cmds[i].argc <= RR_ARGS_MAX);
        const char *argv[RR_ARGS_MAX]; /* hiredis 0.14 wants a non-const array */
        memcpy(argv, cmds[i].argv, sizeof argv);
        if (redisAppendCommandArgv(conn->ctx, cmds[i].argc, argv, cmds[i].len) != REDIS_OK)
            goto err;
    }
    for (int i = 0; i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(conn->ctx, &reply) != REDIS_OK || reply == NULL) goto err_after_replies;
        replies[i] = reply;
    }
    return 0;

err_after_replies:
    for (int i = 0; i < n; i++) {
        if (replies[i]) freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
err:
    if (!conn->quiet) {
        const struct rr_node *node = current_node(conn);
        rr_log(conn->who, "connection to %s:%d failed: %s", node->host, node->port,
               conn->ctx->errstr[0] ? conn->ctx->errstr : "no reply in time");
    }
    /* A context with a half-read reply cannot be reused: drop it. */
    redisFree(conn->ctx);
    conn->ctx = NULL;
    return -1;
}

redisReply *rr_conn_command(struct rr_conn *conn, int64_t timeout_ms, const struct rr_cmd *cmd)
{
    redisReply *reply;
    return rr_conn_pipeline(conn, timeout_ms, 1, cmd, &reply) == 0 ? reply : NULL;
}

bool rr_reply_is_transient(const redisReply *reply)
{
    static const char *const prefixes[] = {"CLUSTERDOWN", "TIMEOUT",  "NOTLEADER", "TRYAGAIN",
                                           "LOADING",     "READONLY", "MASTERDOWN"};
    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) return false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t len = strlen(prefixes[i]);
        if ((size_t)reply->len >= len && strncmp(reply->str, prefixes[i], len) == 0 &&
            ((size_t)reply->len == len || reply->str[len] == ' '))
            return true;
    }
    return false;
}

void rr_conn_failed(struct rr_conn *conn, int64_t deadline_ms)
{
    rr_conn_close(conn);
    conn->node_index++;
    conn->backoff_ms = conn->backoff_ms ? conn->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (conn->backoff_ms > BACKOFF_MAX_MS) conn->backoff_ms = BACKOFF_MAX_MS;
    int64_t sleep_ms = conn->backoff_ms;
    if (deadline_ms) {
        int64_t left = deadline_ms - rr_mono_ms();
        if (sleep_ms > left) sleep_ms = left;
    }
    rr_sleep_ms(sleep_ms);
}

void rr_conn_succeeded(struct rr_conn *conn)
{
    conn->backoff_ms = 0;
}

bool rr_common_option(const char *program, int c, const char *arg, const char **nodes, int *port,
                      const char **name)
{
    switch (c) {
    case 'h': *nodes = arg; return true;
    case 'p': *port = atoi(arg); return true;
    case 'n': *name = arg; return true;
    default:
        fprintf(stderr, "%s: see the comment atop examples/%s.c\n", program, program);
        return false;
    }
}

/* ---- retried calls ---------------------------------------------------- */

struct rr_cmd rr_cmd_of(int argc, const char *const *argv)
{
    assert(argc > 0 && argc <= RR_ARGS_MAX);
    struct rr_cmd c = {.argc = argc};
    for (int i = 0; i < argc; i++) {
        c.argv[i] = argv[i];
        c.len[i] = strlen(argv[i]);
    }
    return c;
}

redisReply *rr_conn_call(struct rr_conn *conn, int64_t timeout_ms, const char *accept_error,
                         int argc, const char *const *argv)
{
    struct rr_cmd c = rr_cmd_of(argc, argv);
    int64_t deadline = rr_mono_ms() + timeout_ms;
    while (rr_mono_ms() < deadline) {
        redisReply *r = rr_conn_command(conn, 5000, &c);
        if (r && (r->type != REDIS_REPLY_ERROR ||
                  (accept_error && strncmp(r->str, accept_error, strlen(accept_error)) == 0))) {
            rr_conn_succeeded(conn);
            return r;
        }
        if (r) freeReplyObject(r);
        rr_conn_failed(conn, deadline);
    }
    return NULL;
}

long long rr_conn_call_int(struct rr_conn *conn, int64_t timeout_ms, int argc,
                           const char *const *argv, bool *ok)
{
    redisReply *r = rr_conn_call(conn, timeout_ms, NULL, argc, argv);
    *ok = r && (r->type == REDIS_REPLY_INTEGER || r->type == REDIS_REPLY_STRING ||
                r->type == REDIS_REPLY_NIL);
    long long v = !r ? 0 : r->type == REDIS_REPLY_INTEGER ? r->integer
                   : r->type == REDIS_REPLY_STRING       ? strtoll(r->str, NULL, 10)
                                                         : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* The first entry of an XAUTOCLAIM reply (`claimed`: [cursor, [entries...],
 * ...]) or of an XREADGROUP reply ([[stream, [entries...]]]), or NULL. */
static const redisReply *first_entry(const redisReply *r, bool claimed)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1) return NULL;
    const redisReply *entries = claimed ? (r->elements >= 2 ? r->element[1] : NULL)
                                        : (r->element[0]->elements == 2 ? r->element[0]->element[1] : NULL);
    return entries && entries->type == REDIS_REPLY_ARRAY && entries->elements > 0 ? entries->element[0] : NULL;
}

redisReply *rr_group_next(struct rr_conn *conn, int64_t timeout_ms, const struct rr_group_reader *g,
                          const redisReply **entry, bool *claimed)
{
    const char *claim[] = {"XAUTOCLAIM", g->stream, g->group, g->consumer, g->claim_idle_ms, "0-0",
                           "COUNT", "1"};
    const char *read[] = {"XREADGROUP", "GROUP", g->group, g->consumer, "COUNT", "1", "BLOCK",
                          g->block_ms, "STREAMS", g->stream, ">"};
    redisReply *r = rr_conn_call(conn, timeout_ms, NULL, 8, claim);
    *entry = first_entry(r, true);
    *claimed = *entry != NULL;
    if (*entry == NULL) {
        if (r) freeReplyObject(r);
        r = rr_conn_call(conn, timeout_ms, NULL, 11, read);
        *entry = first_entry(r, false);
    }
    return r;
}

int rr_conn_next_message(struct rr_conn *conn, int64_t timeout_ms, redisReply **reply)
{
    void *r = NULL;
    *reply = NULL;
    if (conn->ctx == NULL) return -1;
    /* A message already read from the socket first; then wait for more. */
    if (redisGetReplyFromReader(conn->ctx, &r) != REDIS_OK) goto gone;
    if (r == NULL) {
        struct pollfd p = {.fd = conn->ctx->fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)(timeout_ms < 0 ? 0 : timeout_ms));
        if (ready == 0 || (ready < 0 && errno == EINTR)) return 0;
        if (ready < 0 || redisBufferRead(conn->ctx) != REDIS_OK) goto gone;
        if (redisGetReplyFromReader(conn->ctx, &r) != REDIS_OK) goto gone;
        if (r == NULL) return 0;
    }
    *reply = r;
    return 1;
gone:
    rr_conn_close(conn);
    return -1;
}
