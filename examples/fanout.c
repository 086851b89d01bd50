/* examples/fanout.c — publish/subscribe fan-out with a slow subscriber: one
 * publisher, several subscribers, one of them slow. With pub/sub (Redis
 * semantics) a subscriber that falls behind by more than
 * client-output-buffer-limit pubsub is disconnected and misses the rest;
 * the others never wait for it. With a stream and one consumer group per
 * subscriber the fan-out is lossless: the slow one reads everything, later.
 * See examples/README.md.
 *
 *   fanout publish   --messages M [--size S] --subscribers K [--mode pubsub|stream]
 *   fanout subscribe --name N [--slow-ms D] [--pause] [--mode pubsub|stream]
 *
 * Messages are "<seq> <padding to S bytes>", seq from 0, then "end". The
 * publisher waits until K subscribers are there (PUBSUB NUMSUB fan:channel,
 * or K groups on the stream fan:stream), publishes in pipelined batches,
 * sets fan:published and prints "published M". A subscriber checks that
 * the messages come in order without a gap and prints "received R
 * complete" when it read "end", or "received R disconnected" when the
 * server closed its connection. A slow one sleeps D ms after each message;
 * with --pause it reads nothing at all until fan:published exists (a
 * stalled consumer: a long GC pause, a blocked thread), so what the
 * publisher sends piles up in the socket buffers and then in the server's
 * output buffer, where the limit applies. A stream subscriber reads with
 * XREADGROUP (its own group sub:<name>) and XACKs what it read. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

#define DEADLINE_MS 60000
#define BATCH 50

struct opts {
    const char *nodes, *name, *mode;
    int port, slow_ms, size;
    long messages, subscribers;
    bool pause;
};

/* Sends the command that subscribes (SUBSCRIBE, or XGROUP CREATE with
 * `accept` BUSYGROUP), says the subscriber is in place and, with --pause,
 * then waits until the publisher is done (fan:published exists). */
static bool subscribe(struct rr_conn *conn, const struct opts *o, const char *accept, int argc,
                      const char *const *argv)
{
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, accept, argc, argv);
    if (!r) return false;
    freeReplyObject(r);
    printf("subscribed\n");
    fflush(stdout);
    if (!o->pause) return true;
    struct rr_conn ctl;
    if (!rr_conn_open(&ctl, "fanout", o->nodes, o->port, o->name)) return false;
    const char *exists[] = {"EXISTS", "fan:published"};
    bool published = false, ok;
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (!published && rr_mono_ms() < deadline) {
        published = rr_conn_call_int(&ctl, DEADLINE_MS, 2, exists, &ok) == 1;
        if (!published) rr_sleep_ms(20);
    }
    rr_conn_close(&ctl);
    return published;
}

/* Until K subscribers are there. */
static bool wait_for_subscribers(struct rr_conn *conn, const struct opts *o, bool stream)
{
    const char *numsub[] = {"PUBSUB", "NUMSUB", "fan:channel"};
    const char *groups[] = {"XINFO", "GROUPS", "fan:stream"};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (rr_mono_ms() < deadline) {
        /* XINFO GROUPS answers an error until a subscriber made the stream. */
        redisReply *r = rr_conn_call(conn, DEADLINE_MS, "ERR", 3, stream ? groups : numsub);
        if (!r) return false;
        long long have = r->type != REDIS_REPLY_ARRAY ? 0
                         : stream                      ? (long long)r->elements
                         : r->elements == 2            ? r->element[1]->integer
                                                       : 0;
        freeReplyObject(r);
        if (have >= o->subscribers) return true;
        rr_sleep_ms(20);
    }
    return false;
}

/* An XADD sent again whose first sending was applied (its reply lost). */
static bool already_added(const redisReply *r)
{
    return strncmp(r->str, "ERR The ID specified in XADD is equal or smaller", 48) == 0;
}

static int publish(struct rr_conn *conn, const struct opts *o)
{
    bool stream = strcmp(o->mode, "stream") == 0;
    if (!wait_for_subscribers(conn, o, stream)) return 1;
    char *payload = malloc((size_t)o->size + 64);
    struct rr_cmd *cmds = calloc(BATCH, sizeof *cmds);
    char ids[BATCH][32];
    redisReply **replies = calloc(BATCH, sizeof *replies);
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    long sent = 0;
    while (sent <= o->messages && rr_mono_ms() < deadline) {
        int n = 0;
        for (long seq = sent; seq <= o->messages && n < BATCH; seq++, n++) {
            int len = seq == o->messages ? snprintf(payload, 64, "end")
                                         : snprintf(payload, 64, "%ld ", seq);
            memset(payload + len, 'x', (size_t)(o->size > len ? o->size - len : 0));
            len = o->size > len && seq < o->messages ? o->size : len;
            /* Each command of the batch has its own copy, freed after it. */
            char *copy = malloc((size_t)len);
            memcpy(copy, payload, (size_t)len);
            const char *pub[] = {"PUBLISH", "fan:channel", copy};
            /* Message seq is the entry 0-(seq+1) (ids[n], freed with copy). */
            snprintf(ids[n], sizeof ids[n], "0-%ld", seq + 1);
            const char *add[] = {"XADD", "fan:stream", ids[n], "m", copy};
            cmds[n] = stream ? rr_cmd_of(5, add) : rr_cmd_of(3, pub);
            cmds[n].len[stream ? 4 : 2] = (size_t)len;
        }
        int rc = rr_conn_pipeline(conn, 10000, n, cmds, replies);
        bool fine = rc == 0;
        for (int i = 0; i < n; i++) {
            free((void *)cmds[i].argv[stream ? 4 : 2]);
            if (replies[i]) {
                if (replies[i]->type == REDIS_REPLY_ERROR && !already_added(replies[i])) fine = false;
                freeReplyObject(replies[i]);
            }
        }
        /* A batch that failed is sent again: with pub/sub a subscriber may
         * then see a message twice; with a stream, a message that did reach
         * it is refused the second time (its ID is taken). */
        if (!fine) {
            rr_conn_failed(conn, deadline);
            continue;
        }
        rr_conn_succeeded(conn);
        sent += n;
    }
    free(payload);
    free(cmds);
    free(replies);
    if (sent <= o->messages) return 1;
    const char *published[] = {"SET", "fan:published", "1"};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 3, published);
    if (!r) return 1;
    freeReplyObject(r);
    printf("published %ld\n", o->messages);
    return 0;
}

/* Checks one message; returns 1 at "end" (after saying how many came), 0
 * in order, -1 out of order. */
static int take(const struct opts *o, const char *msg, long *received)
{
    if (strcmp(msg, "end") == 0) {
        printf("received %ld complete\n", *received);
        return 1;
    }
    if (strtol(msg, NULL, 10) != *received) {
        rr_log(o->name, "message %ld out of order (expected %ld)", strtol(msg, NULL, 10), *received);
        return -1;
    }
    (*received)++;
    rr_sleep_ms(o->slow_ms);
    return 0;
}

static int subscribe_pubsub(struct rr_conn *conn, const struct opts *o)
{
    const char *channel[] = {"SUBSCRIBE", "fan:channel"};
    if (!subscribe(conn, o, NULL, 2, channel)) return 1;
    long received = 0;
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (rr_mono_ms() < deadline) {
        redisReply *m;
        int got = rr_conn_next_message(conn, 1000, &m);
        if (got < 0) {
            printf("received %ld disconnected\n", received);
            return 0;
        }
        if (got == 0) continue;
        int step = m->type == REDIS_REPLY_ARRAY && m->elements == 3 ? take(o, m->element[2]->str, &received) : 0;
        freeReplyObject(m);
        if (step != 0) return step < 0 ? 1 : 0;
    }
    return 1;
}

static int subscribe_stream(struct rr_conn *conn, const struct opts *o)
{
    char group[128];
    snprintf(group, sizeof group, "sub:%s", o->name);
    const char *create[] = {"XGROUP", "CREATE", "fan:stream", group, "0", "MKSTREAM"};
    const char *read[] = {"XREADGROUP", "GROUP", group, o->name, "COUNT", "100", "BLOCK", "1000",
                          "STREAMS", "fan:stream", ">"};
    if (!subscribe(conn, o, "BUSYGROUP", 6, create)) return 1;
    redisReply *r;
    long received = 0;
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (rr_mono_ms() < deadline) {
        if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 11, read)) == NULL) return 1;
        /* [[stream, [[id, [m, message]]...]]] */
        const redisReply *entries = r->type == REDIS_REPLY_ARRAY && r->elements == 1
                                        ? r->element[0]->element[1] : NULL;
        int step = 0;
        for (size_t i = 0; entries && i < entries->elements && step == 0; i++) {
            const redisReply *e = entries->element[i];
            step = take(o, e->element[1]->element[1]->str, &received);
            const char *ack[] = {"XACK", "fan:stream", group, e->element[0]->str};
            redisReply *a = rr_conn_call(conn, DEADLINE_MS, NULL, 4, ack);
            if (a) freeReplyObject(a);
        }
        freeReplyObject(r);
        if (step != 0) return step < 0 ? 1 : 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.nodes = "127.0.0.1", .name = "subscriber", .mode = "pubsub", .port = 6379,
                     .size = 100, .messages = 1000, .subscribers = 1};
    static const struct option longopts[] = {
        RR_COMMON_OPTIONS,                       {"mode", required_argument, 0, 'm'},
        {"messages", required_argument, 0, 'M'}, {"size", required_argument, 0, 's'},
        {"slow-ms", required_argument, 0, 'd'},  {"subscribers", required_argument, 0, 'k'},
        {"pause", no_argument, 0, 'P'},          {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.mode = optarg; break;
        case 'M': o.messages = atol(optarg); break;
        case 's': o.size = atoi(optarg); break;
        case 'd': o.slow_ms = atoi(optarg); break;
        case 'k': o.subscribers = atol(optarg); break;
        case 'P': o.pause = true; break;
        default:
            if (!rr_common_option("fanout", c, optarg, &o.nodes, &o.port, &o.name)) return 2;
        }
    }
    const char *role = optind < argc ? argv[optind] : "";
    bool stream = strcmp(o.mode, "stream") == 0;
    if ((!stream && strcmp(o.mode, "pubsub") != 0) || o.size < 1 || o.size > 1 << 20) {
        fprintf(stderr, "fanout: --mode pubsub or stream, --size 1..1048576\n");
        return 2;
    }
    struct rr_conn conn;
    if (!rr_conn_open(&conn, "fanout", o.nodes, o.port, o.name)) return 2;
    int rc = strcmp(role, "publish") == 0     ? publish(&conn, &o)
             : strcmp(role, "subscribe") == 0 ? (stream ? subscribe_stream(&conn, &o)
                                                        : subscribe_pubsub(&conn, &o))
                                              : 2;
    if (rc == 2) fprintf(stderr, "fanout: ROLE is publish or subscribe\n");
    rr_conn_close(&conn);
    return rc;
}
