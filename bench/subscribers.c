/* bench/subscribers.c — K subscribers to one channel that count what they
 * receive, so that bench/run.sh's PUBLISH tests can say whether every
 * published message reached every subscriber.
 *
 * Opens K connections, SUBSCRIBEs each to the channel and waits until every
 * subscription is confirmed; then prints "ready" on stdout. From then on it
 * counts the messages each connection receives, until every connection has
 * received the end marker (a message whose payload is --end, published by
 * bench/run.sh once the benchmark is over; a server delivers one channel's
 * messages to a subscriber in publish order, so the marker comes last).
 * Finally it prints
 *
 *   subscribers K min M max X total T
 *
 * where M and X are the fewest and most messages one subscriber received
 * (the marker not counted). One thread reads every connection with poll();
 * hiredis parses the replies.
 *
 * Usage: subscribers --port P --channel C [--host H] [--clients K]
 *                    [--end MARKER] [--deadline SECONDS]
 * Exit status: 0 every subscriber got the marker; 1 connection failure or
 * an unexpected reply; 2 the deadline passed (the counts so far are still
 * printed). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>

#define CLIENTS_MAX 1000
#define DEADLINE_MAX_S 3600

struct subscriber {
    redisContext *c;
    uint64_t messages;
    bool subscribed; /* the server confirmed the SUBSCRIBE */
    bool ended;      /* the end marker arrived */
};

static const char *channel = NULL;
static const char *end_marker = "__end__";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(const char *what)
{
    fprintf(stderr, "subscribers: %s\n", what);
    exit(1);
}

static bool is_str(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && !memcmp(r->str, s, r->len);
}

/* One pushed reply: ["subscribe", channel, count] or ["message", channel,
 * payload]. Anything else is a failure. */
static void on_reply(struct subscriber *s, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "subscribers: error reply: %s\n", r->str);
        exit(1);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !is_str(r->element[1], channel))
        fail("unexpected reply on a subscribed connection");
    if (is_str(r->element[0], "subscribe")) {
        if (s->subscribed) fail("subscribed twice");
        s->subscribed = true;
        return;
    }
    if (!is_str(r->element[0], "message") || r->element[2]->type != REDIS_REPLY_STRING)
        fail("unexpected push on a subscribed connection");
    if (!s->subscribed) fail("a message before the subscription was confirmed");
    if (s->ended) fail("a message after the end marker");
    if (is_str(r->element[2], end_marker))
        s->ended = true;
    else
        s->messages++;
}

static void on_readable(struct subscriber *s)
{
    if (redisBufferRead(s->c) != REDIS_OK) fail(s->c->errstr);
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(s->c, &reply) != REDIS_OK) fail(s->c->errstr);
        if (reply == NULL) return;
        on_reply(s, reply);
        freeReplyObject(reply);
    }
}

/* Polls every connection until done(subs, k) holds or the deadline passes. */
static bool poll_until(struct subscriber *subs, struct pollfd *fds, int k, int64_t deadline_ms,
                       bool (*done)(const struct subscriber *, int))
{
    while (!done(subs, k)) {
        int64_t left_ms = deadline_ms - now_ms();
        if (left_ms <= 0) return false;
        int ready = poll(fds, (nfds_t)k, left_ms > 1000 ? 1000 : (int)left_ms);
        if (ready < 0 && errno != EINTR) fail(strerror(errno));
        for (int i = 0; ready > 0 && i < k; i++)
            if (fds[i].revents) on_readable(&subs[i]);
    }
    return true;
}

static bool all_subscribed(const struct subscriber *subs, int k)
{
    for (int i = 0; i < k; i++)
        if (!subs[i].subscribed) return false;
    return true;
}

static bool all_ended(const struct subscriber *subs, int k)
{
    for (int i = 0; i < k; i++)
        if (!subs[i].ended) return false;
    return true;
}

static long parse_long(const char *flag, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "subscribers: %s wants an integer in [%ld, %ld], got '%s'\n", flag, min,
                max, s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    long k = 1, deadline_s = 60;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) fail("every option takes a value; see the comment at the top of the file");
        if (!strcmp(flag, "--host")) host = v;
        else if (!strcmp(flag, "--port")) port = (int)parse_long(flag, v, 1, 65535);
        else if (!strcmp(flag, "--channel")) channel = v;
        else if (!strcmp(flag, "--clients")) k = parse_long(flag, v, 1, CLIENTS_MAX);
        else if (!strcmp(flag, "--end")) end_marker = v;
        else if (!strcmp(flag, "--deadline")) deadline_s = parse_long(flag, v, 1, DEADLINE_MAX_S);
        else {
            fprintf(stderr, "subscribers: unknown option '%s'\n", flag);
            return 1;
        }
        i++;
    }
    if (port == 0 || channel == NULL) fail("--port and --channel are required");

    int64_t deadline_ms = now_ms() + deadline_s * 1000;
    struct subscriber *subs = calloc((size_t)k, sizeof *subs);
    struct pollfd *fds = calloc((size_t)k, sizeof *fds);
    if (!subs || !fds) fail("out of memory");
    for (int i = 0; i < k; i++) {
        struct timeval tv = {5, 0};
        subs[i].c = redisConnectWithTimeout(host, port, tv);
        if (subs[i].c == NULL || subs[i].c->err) {
            fprintf(stderr, "subscribers: connect %s:%d: %s\n", host, port,
                    subs[i].c ? subs[i].c->errstr : "out of memory");
            return 1;
        }
        const char *cmd[] = {"SUBSCRIBE", channel};
        size_t lens[] = {9, strlen(channel)};
        if (redisAppendCommandArgv(subs[i].c, 2, cmd, lens) != REDIS_OK) fail("out of memory");
        int done = 0;
        while (!done)
            if (redisBufferWrite(subs[i].c, &done) != REDIS_OK) fail(subs[i].c->errstr);
        fds[i] = (struct pollfd){.fd = subs[i].c->fd, .events = POLLIN};
    }
    if (!poll_until(subs, fds, (int)k, deadline_ms, all_subscribed))
        fail("the deadline passed before every SUBSCRIBE was confirmed");
    printf("ready\n");
    fflush(stdout);

    bool ended = poll_until(subs, fds, (int)k, deadline_ms, all_ended);
    uint64_t min = UINT64_MAX, max = 0, total = 0;
    for (int i = 0; i < k; i++) {
        uint64_t m = subs[i].messages;
        min = m < min ? m : min;
        max = m > max ? m : max;
        total += m;
    }
    printf("subscribers %ld min %" PRIu64 " max %" PRIu64 " total %" PRIu64 "\n", k, min, max,
           total);
    if (!ended) fprintf(stderr, "subscribers: deadline of %ld s passed before every end marker\n",
                        deadline_s);
    for (int i = 0; i < k; i++) redisFree(subs[i].c);
    free(fds);
    free(subs);
    return ended ? 0 : 2;
}
