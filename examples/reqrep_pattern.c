/* examples/reqrep_pattern.c — request/reply over a broker: the request
 * format, the caller, the server loop, and the recovery of a dead server.
 *
 *   caller:  LPUSH requests "<id> reply:<id> <deadline> <payload>"
 *            BLPOP reply:<id> <timeout>
 *   server:  BLMOVE requests processing:<name> RIGHT LEFT <poll>
 *            ... compute the reply ...
 *            MULTI
 *              RPUSH   reply:<id> <reply>
 *              PEXPIRE reply:<id> <ttl>          uncollected replies vanish
 *              LREM    processing:<name> 1 <request>
 *            EXEC
 *
 * The request sits in exactly one list at any time (queue, then the
 * server's processing list) until the transaction that publishes its reply
 * also removes it, so a server that dies mid-request leaves it in its
 * processing list, where its next incarnation (or `recover`) finds it.
 *
 * Delivery is at least once:
 * - the work is done twice when a server dies after working and before
 *   its EXEC commits (the request is then served again);
 * - a request is queued twice when a caller's connection fails (its LPUSH
 *   may have been executed; its BLPOP may have taken the reply on a node
 *   that died before answering, so the caller queues the request again),
 *   and `recover` run on a server that is still alive lets two servers
 *   answer it. Callers take the first reply; the second expires.
 * On Parley nothing acknowledged is lost across a crash or a failover: an
 * LPUSH that answered is in the Raft log on a quorum of disks. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "reqrep.h"

#define ID_BYTES 16
#define ID_HEX (2 * ID_BYTES)
#define REPLY_KEY_PREFIX "reply:"
#define KEY_MAX 512
/* The margin a blocking command's socket timeout gets over the command's
 * own timeout, for the round trip and a slow node. */
#define BLOCK_MARGIN_MS 5000
/* How long one non-blocking command may take before the connection counts
 * as failed. Above Parley's request-timeout-ms (10 s), after which Parley
 * itself answers -TIMEOUT or -CLUSTERDOWN. */
#define COMMAND_TIMEOUT_MS 15000

static struct rr_cmd cmd_of(int argc, const char *const *argv, const size_t *len)
{
    struct rr_cmd cmd = {.argc = argc};
    assert(argc > 0 && argc <= RR_ARGS_MAX);
    for (int i = 0; i < argc; i++) {
        cmd.argv[i] = argv[i];
        cmd.len[i] = len ? len[i] : strlen(argv[i]);
    }
    return cmd;
}

static void log_error_reply(const char *who, const char *what, const redisReply *reply)
{
    if (reply == NULL) return;
    if (reply->type == REDIS_REPLY_ERROR) rr_log(who, "%s: -%s", what, reply->str);
    else rr_log(who, "%s: unexpected reply of type %d", what, reply->type);
}

void rr_processing_key(const char *name, char *key, size_t key_size)
{
    snprintf(key, key_size, "processing:%s", name);
}

/* ---- the request format ---------------------------------------------- */

static bool random_id(char id[ID_HEX + 1])
{
    unsigned char bytes[ID_BYTES];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += (size_t)n;
    }
    for (size_t i = 0; i < ID_BYTES; i++) snprintf(id + 2 * i, 3, "%02x", bytes[i]);
    return true;
}

/* "<id> <reply-key> <deadline-unix-ms> <payload>", malloc'd. */
static char *request_format(const char *id, const char *reply_key, int64_t deadline_unix_ms,
                            const char *payload, size_t payload_len, size_t *len)
{
    char head[KEY_MAX + 64];
    int head_len = snprintf(head, sizeof head, "%s %s %lld ", id, reply_key,
                            (long long)deadline_unix_ms);
    assert(head_len > 0 && (size_t)head_len < sizeof head);
    char *request = malloc((size_t)head_len + payload_len + 1);
    if (request == NULL) return NULL;
    memcpy(request, head, (size_t)head_len);
    memcpy(request + head_len, payload, payload_len);
    request[head_len + payload_len] = '\0';
    *len = (size_t)head_len + payload_len;
    return request;
}

/* The next space-separated field of [*p, end), which must be non-empty and
 * followed by a space; *p moves past the space. */
static bool next_field(const char **p, const char *end, const char **field, size_t *field_len)
{
    const char *space = memchr(*p, ' ', (size_t)(end - *p));
    if (space == NULL || space == *p) return false;
    *field = *p;
    *field_len = (size_t)(space - *p);
    *p = space + 1;
    return true;
}

bool rr_request_parse(const char *raw, size_t raw_len, struct rr_request *request)
{
    const char *p = raw, *end = raw + raw_len, *deadline;
    size_t deadline_len;
    if (!next_field(&p, end, &request->id, &request->id_len)) return false;
    if (!next_field(&p, end, &request->reply_key, &request->reply_key_len)) return false;
    if (!next_field(&p, end, &deadline, &deadline_len)) return false;
    /* A request names the key its reply goes to; a server writes nowhere
     * but under reply:, whatever a malformed request says. */
    size_t prefix_len = strlen(REPLY_KEY_PREFIX);
    if (request->reply_key_len <= prefix_len || request->reply_key_len >= KEY_MAX ||
        memcmp(request->reply_key, REPLY_KEY_PREFIX, prefix_len) != 0)
        return false;
    if (deadline_len > 18) return false;
    int64_t value = 0;
    for (size_t i = 0; i < deadline_len; i++) {
        if (deadline[i] < '0' || deadline[i] > '9') return false;
        value = value * 10 + (deadline[i] - '0');
    }
    request->deadline_unix_ms = value;
    request->payload = p;
    request->payload_len = (size_t)(end - p);
    return true;
}

/* ---- caller ---------------------------------------------------------- */

enum rr_call_result rr_call(struct rr_conn *conn, const struct rr_call_options *options,
                            const char *payload, size_t payload_len, char **reply,
                            size_t *reply_len)
{
    assert(options->timeout_ms > 0);
    const int64_t deadline_ms = rr_mono_ms() + options->timeout_ms;
    enum rr_call_result result = RR_CALL_TIMEOUT;
    char id[ID_HEX + 1], reply_key[sizeof REPLY_KEY_PREFIX + ID_HEX];
    *reply = NULL;
    *reply_len = 0;
    if (!random_id(id)) {
        rr_log(conn->who, "getrandom: %s", strerror(errno));
        return RR_CALL_FAILED;
    }
    snprintf(reply_key, sizeof reply_key, REPLY_KEY_PREFIX "%s", id);
    size_t request_len;
    char *request = request_format(id, reply_key, rr_unix_ms() + options->timeout_ms, payload,
                                   payload_len, &request_len);
    if (request == NULL) return RR_CALL_FAILED;

    /* Queue the request, then wait for its reply; after any failure (a
     * connection lost, a failover's error reply) queue it again and wait
     * again, on whichever node answers:
     * - a failed LPUSH may or may not have been executed;
     * - a BLPOP whose node died may have taken the reply from the list (its
     *   pop committed in the log) without delivering it to us.
     * Either way the request may be queued twice and answered twice: we
     * take the first reply, and the other expires uncollected. */
    const char *push_argv[] = {"LPUSH", options->queue, request};
    const size_t push_len[] = {5, strlen(options->queue), request_len};
    const struct rr_cmd push = cmd_of(3, push_argv, push_len);
    bool queued = false;
    for (;;) {
        int64_t left_ms = deadline_ms - rr_mono_ms();
        if (left_ms <= 0) goto out;
        redisReply *r;
        if (!queued) {
            r = rr_conn_command(conn, left_ms, &push);
            if (r && r->type == REDIS_REPLY_INTEGER) {
                freeReplyObject(r);
                rr_conn_succeeded(conn);
                queued = true;
                continue;
            }
        } else {
            char timeout_s[32];
            snprintf(timeout_s, sizeof timeout_s, "%.3f", (double)left_ms / 1000.0);
            const char *wait_argv[] = {"BLPOP", reply_key, timeout_s};
            const struct rr_cmd wait = cmd_of(3, wait_argv, NULL);
            r = rr_conn_command(conn, left_ms + BLOCK_MARGIN_MS, &wait);
            if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                r->element[1]->type == REDIS_REPLY_STRING) {
                *reply_len = r->element[1]->len;
                *reply = malloc(*reply_len + 1);
                if (*reply) {
                    memcpy(*reply, r->element[1]->str, *reply_len);
                    (*reply)[*reply_len] = '\0';
                    result = RR_CALL_OK;
                } else {
                    result = RR_CALL_FAILED;
                }
                freeReplyObject(r);
                rr_conn_succeeded(conn);
                goto out;
            }
            if (r && r->type == REDIS_REPLY_NIL) { /* BLPOP's own timeout */
                freeReplyObject(r);
                rr_conn_succeeded(conn);
                goto out;
            }
        }
        if (r && !rr_reply_is_transient(r)) {
            log_error_reply(conn->who, queued ? "BLPOP" : "LPUSH", r);
            freeReplyObject(r);
            result = RR_CALL_FAILED;
            goto out;
        }
        if (r) freeReplyObject(r);
        queued = false;
        rr_conn_failed(conn, deadline_ms);
    }
out:
    free(request);
    return result;
}

/* ---- server ---------------------------------------------------------- */

enum step { STEP_OK, STEP_RETRY, STEP_FATAL };

/* The reply: "<server name>: <the payload in upper case>" (ASCII letters
 * only, so any bytes pass through). Stands for the real work. */
static char *compute_reply(const char *name, const struct rr_request *request, size_t *len)
{
    size_t name_len = strlen(name);
    *len = name_len + 2 + request->payload_len;
    char *reply = malloc(*len);
    if (reply == NULL) return NULL;
    memcpy(reply, name, name_len);
    memcpy(reply + name_len, ": ", 2);
    for (size_t i = 0; i < request->payload_len; i++) {
        char ch = request->payload[i];
        reply[name_len + 2 + i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    return reply;
}

/* LREM processing 1 <raw>: drops a request without answering it. */
static enum step drop(struct rr_conn *conn, struct rr_serve_options *options,
                      const char *processing, const char *raw, size_t raw_len)
{
    const char *argv[] = {"LREM", processing, "1", raw};
    const size_t len[] = {4, strlen(processing), 1, raw_len};
    const struct rr_cmd cmd = cmd_of(4, argv, len);
    redisReply *r = rr_conn_command(conn, COMMAND_TIMEOUT_MS, &cmd);
    enum step step = STEP_RETRY;
    if (r && r->type == REDIS_REPLY_INTEGER) {
        options->dropped++;
        step = STEP_OK;
    } else if (r && !rr_reply_is_transient(r)) {
        log_error_reply(options->name, "LREM", r);
        step = STEP_FATAL;
    }
    if (r) freeReplyObject(r);
    return step;
}

/* Serves one request that sits in our processing list. STEP_RETRY: the
 * connection failed or the cluster is changing leader; the request may
 * still be in the processing list, where the caller of this looks again. */
static enum step serve_one(struct rr_conn *conn, struct rr_serve_options *options,
                           const char *processing, const char *raw, size_t raw_len)
{
    struct rr_request request;
    if (!rr_request_parse(raw, raw_len, &request)) {
        rr_log(options->name, "dropping a malformed request (%zu bytes)", raw_len);
        return drop(conn, options, processing, raw, raw_len);
    }
    if (request.deadline_unix_ms && rr_unix_ms() > request.deadline_unix_ms) {
        rr_log(options->name, "dropping request %.*s: its caller stopped waiting %lld ms ago",
               (int)request.id_len, request.id,
               (long long)(rr_unix_ms() - request.deadline_unix_ms));
        return drop(conn, options, processing, raw, raw_len);
    }
    if (options->verbose)
        rr_log(options->name, "serving request %.*s", (int)request.id_len, request.id);
    rr_sleep_ms(options->work_ms);

    size_t reply_len;
    char *reply = compute_reply(options->name, &request, &reply_len);
    if (reply == NULL) return STEP_FATAL;
    char ttl_ms[24];
    snprintf(ttl_ms, sizeof ttl_ms, "%lld", (long long)options->reply_ttl_ms);
    size_t processing_len = strlen(processing);
    const struct rr_cmd tx[] = {
        {1, {"MULTI"}, {5}},
        {3, {"RPUSH", request.reply_key, reply}, {5, request.reply_key_len, reply_len}},
        {3, {"PEXPIRE", request.reply_key, ttl_ms}, {7, request.reply_key_len, strlen(ttl_ms)}},
        {4, {"LREM", processing, "1", raw}, {4, processing_len, 1, raw_len}},
        {1, {"EXEC"}, {4}},
    };
    enum { N = sizeof tx / sizeof tx[0] };
    redisReply *replies[N];
    enum step step = STEP_RETRY;
    if (rr_conn_pipeline(conn, COMMAND_TIMEOUT_MS, N, tx, replies) != 0) goto out;

    const redisReply *exec = replies[N - 1];
    if (exec->type == REDIS_REPLY_ARRAY && exec->elements == 3) {
        /* Committed, all three together. An error inside (say the reply key
         * holds a string) is the request's problem: it is gone all the same. */
        for (size_t i = 0; i < 3; i++)
            if (exec->element[i]->type == REDIS_REPLY_ERROR)
                log_error_reply(options->name, "inside EXEC", exec->element[i]);
        if (exec->element[2]->type == REDIS_REPLY_INTEGER && exec->element[2]->integer == 0)
            rr_log(options->name, "request %.*s was no longer in %s (recovered by someone else?)",
                   (int)request.id_len, request.id, processing);
        options->served++;
        step = STEP_OK;
    } else {
        /* Not committed. A failover (CLUSTERDOWN, TIMEOUT...) is retried; an
         * error before EXEC would have been reported on the command. */
        for (int i = 0; i < N; i++) {
            if (replies[i]->type != REDIS_REPLY_ERROR) continue;
            if (rr_reply_is_transient(replies[i])) continue;
            log_error_reply(options->name, tx[i].argv[0], replies[i]);
            step = STEP_FATAL;
        }
    }
    for (int i = 0; i < N; i++) freeReplyObject(replies[i]);
out:
    free(reply);
    return step;
}

/* Serves what our processing list holds, oldest first. After a restart or
 * a connection failure it may hold the request we were working on (or one
 * whose BLMOVE reply was lost with the connection). */
static enum step serve_processing_list(struct rr_conn *conn, struct rr_serve_options *options,
                                       const char *processing)
{
    const char *argv[] = {"LINDEX", processing, "-1"};
    const struct rr_cmd oldest = cmd_of(3, argv, NULL);
    while (!atomic_load(options->stop)) {
        redisReply *r = rr_conn_command(conn, COMMAND_TIMEOUT_MS, &oldest);
        if (r == NULL) return STEP_RETRY;
        enum step step;
        if (r->type == REDIS_REPLY_NIL) {
            step = STEP_OK;
        } else if (r->type == REDIS_REPLY_STRING) {
            if (options->verbose) rr_log(options->name, "re-serving a request from %s", processing);
            step = serve_one(conn, options, processing, r->str, r->len);
            if (step == STEP_OK) {
                freeReplyObject(r);
                continue;
            }
        } else {
            step = rr_reply_is_transient(r) ? STEP_RETRY : STEP_FATAL;
            if (step == STEP_FATAL) log_error_reply(options->name, "LINDEX", r);
        }
        freeReplyObject(r);
        return step;
    }
    return STEP_OK;
}

int rr_serve(struct rr_conn *conn, struct rr_serve_options *options)
{
    assert(options->name && options->queue && options->stop);
    assert(options->poll_ms >= 1 && options->reply_ttl_ms >= 1);
    char processing[KEY_MAX];
    rr_processing_key(options->name, processing, sizeof processing);
    char poll_s[32];
    snprintf(poll_s, sizeof poll_s, "%.3f", (double)options->poll_ms / 1000.0);
    const char *argv[] = {"BLMOVE", options->queue, processing, "RIGHT", "LEFT", poll_s};
    const struct rr_cmd take = cmd_of(6, argv, NULL);

    bool recovering = true; /* our processing list may hold a request */
    while (!atomic_load(options->stop)) {
        enum step step = STEP_OK;
        if (recovering) {
            step = serve_processing_list(conn, options, processing);
            if (step == STEP_OK) recovering = false;
        } else {
            redisReply *r = rr_conn_command(conn, options->poll_ms + BLOCK_MARGIN_MS, &take);
            if (r == NULL) {
                step = STEP_RETRY;
            } else if (r->type == REDIS_REPLY_STRING) {
                step = serve_one(conn, options, processing, r->str, r->len);
            } else if (r->type != REDIS_REPLY_NIL) { /* nil: nothing came during poll_ms */
                step = rr_reply_is_transient(r) ? STEP_RETRY : STEP_FATAL;
                if (step == STEP_FATAL) log_error_reply(options->name, "BLMOVE", r);
            }
            if (r) freeReplyObject(r);
        }
        if (step == STEP_FATAL) return -1;
        if (step == STEP_RETRY) {
            /* Whatever failed, a request may now sit in our processing list
             * (a BLMOVE executed whose reply we lost, an EXEC not committed):
             * look there first once connected again. */
            recovering = true;
            rr_conn_failed(conn, 0);
        } else {
            rr_conn_succeeded(conn);
        }
    }
    return 0;
}

/* ---- recovery of a dead server ---------------------------------------- */

long rr_recover(struct rr_conn *conn, const char *queue, const char *dead_name,
                int64_t timeout_ms)
{
    const int64_t deadline_ms = rr_mono_ms() + timeout_ms;
    char processing[KEY_MAX];
    rr_processing_key(dead_name, processing, sizeof processing);
    /* Servers take from the queue's right end, and the processing list has
     * its oldest request at its right end: moving LEFT to RIGHT one at a
     * time puts the oldest at the very right, served first. */
    const char *argv[] = {"LMOVE", processing, queue, "LEFT", "RIGHT"};
    const struct rr_cmd move = cmd_of(5, argv, NULL);
    long moved = 0;
    for (;;) {
        int64_t left_ms = deadline_ms - rr_mono_ms();
        if (left_ms <= 0) {
            rr_log(conn->who, "gave up after %lld ms; %ld request(s) moved, run it again",
                   (long long)timeout_ms, moved);
            return -1;
        }
        redisReply *r = rr_conn_command(conn, left_ms, &move);
        if (r && r->type == REDIS_REPLY_NIL) {
            freeReplyObject(r);
            return moved;
        }
        if (r && r->type == REDIS_REPLY_STRING) {
            moved++;
            freeReplyObject(r);
            rr_conn_succeeded(conn);
            continue;
        }
        if (r && !rr_reply_is_transient(r)) {
            log_error_reply(conn->who, "LMOVE", r);
            freeReplyObject(r);
            return -1;
        }
        /* Whether or not that LMOVE was executed, the request is in one of
         * the two lists: the next LMOVE carries on. */
        if (r) freeReplyObject(r);
        rr_conn_failed(conn, deadline_ms);
    }
}
