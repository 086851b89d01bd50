/* bench/xreadgroup_latency.c — how long an entry added to a stream takes
 * to reach a consumer blocked in XREADGROUP on it, and how many such
 * deliveries a server makes per second (bench/run.sh's "xreadgroup_wake"
 * test). The stream twin of bench/blpop_latency.c, with the same driver:
 *
 * K pairs; each pair is a consumer connection and a producer connection on
 * a stream of its own (bench:xwake:<i>, group g created at $), in lock step:
 *
 *   1. the consumer's XREADGROUP GROUP g c COUNT 1 BLOCK <ms> STREAMS key >
 *      is written first, then the producer's XADD key * m <message>;
 *   2. a message's latency runs from just before its XADD is written to the
 *      moment the XREADGROUP reply carrying it has been read;
 *   3. a consumer that has its entry writes its next XREADGROUP at once;
 *      the producer adds the next entry once it has both its XADD reply and
 *      the delivery.
 *
 * Entries are not acknowledged (the group's pending list grows by one per
 * message, on both servers alike): the test measures delivery, and the
 * consumer-throughput test (bench/xreadgroup_consume.c) measures XACK.
 * Every message carries "<pair>:<seq>:" and padding; a consumer must receive
 * its producer's entries exactly once and in order, or the run fails.
 *
 * Output on stdout: a redis-benchmark --csv style header and one row (rps is
 * entries delivered per second, latencies XADD-to-delivery in ms); a summary
 * goes to stderr.
 *
 * Usage: xreadgroup-latency --port P [--host H] [--pairs K] [--messages N]
 *                           [--size BYTES] [--deadline SECONDS]
 * Exit status: 0 every entry delivered; 1 error reply, lost, duplicated or
 * reordered entry, or connection failure; 2 the deadline passed. */
#include <assert.h>
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

#define PAIRS_MAX 1000
#define MESSAGES_MAX 10000000ULL
#define SIZE_MAX_BYTES (1024 * 1024)
#define DEADLINE_MAX_S 3600

struct pair {
    redisContext *consumer;
    redisContext *producer;
    char key[32];
    uint64_t seq;          /* of the message in flight, or the last delivered */
    int64_t push_ns;       /* when the XADD of message seq was written */
    bool pop_outstanding;  /* an XREADGROUP was written, its reply not read yet */
    bool push_outstanding; /* an XADD was written, its reply not read yet */
    bool delivered;        /* message seq has reached the consumer */
    bool next_reserved;    /* one more message of the budget is this pair's */
};

struct run {
    struct pair *pairs;
    int pair_count;
    uint64_t messages;  /* the budget */
    uint64_t reserved;  /* messages handed to pairs so far */
    uint64_t delivered; /* messages read by consumers so far */
    int64_t *latency_ns;
    char *payload; /* size bytes plus room for the tag */
    size_t size;
    int block_ms;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "xreadgroup-latency: %s\n", what);
    exit(1);
}

/* Writes everything hiredis has buffered for c. The socket is blocking, so
 * this returns once the kernel has taken it all (or the connection broke). */
static void flush(redisContext *c)
{
    int done = 0;
    for (int tries = 0; !done; tries++) {
        if (redisBufferWrite(c, &done) != REDIS_OK) fail(c->errstr);
        if (tries > 1000000) fail("a write did not complete");
    }
}

static void send_read(struct run *r, struct pair *p)
{
    char block[16];
    snprintf(block, sizeof block, "%d", r->block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", "g", "c", "COUNT", "1",
                          "BLOCK", block, "STREAMS", p->key, ">"};
    size_t lens[11];
    for (int i = 0; i < 11; i++) lens[i] = strlen(argv[i]);
    if (redisAppendCommandArgv(p->consumer, 11, argv, lens) != REDIS_OK) fail("out of memory");
    flush(p->consumer);
    p->pop_outstanding = true;
}

/* The message is "<pair>:<seq>:" followed by 'x' up to size bytes. */
static size_t format_message(struct run *r, int pair_index, uint64_t seq)
{
    int tag = snprintf(r->payload, 48, "%d:%" PRIu64 ":", pair_index, seq);
    size_t len = r->size > (size_t)tag ? r->size : (size_t)tag;
    memset(r->payload + tag, 'x', len - (size_t)tag);
    return len;
}

static void send_xadd(struct run *r, struct pair *p)
{
    int index = (int)(p - r->pairs);
    size_t len = format_message(r, index, p->seq);
    const char *argv[] = {"XADD", p->key, "*", "m", r->payload};
    size_t lens[] = {4, strlen(p->key), 1, 1, len};
    if (redisAppendCommandArgv(p->producer, 5, argv, lens) != REDIS_OK) fail("out of memory");
    p->push_ns = now_ns();
    flush(p->producer);
    p->push_outstanding = true;
}

/* Hands the pair one more message of the budget, if any is left. */
static bool reserve(struct run *r, struct pair *p)
{
    assert(!p->next_reserved);
    assert(r->reserved <= r->messages);
    if (r->reserved == r->messages) return false;
    r->reserved++;
    p->next_reserved = true;
    return true;
}

/* The producer pushes the next message once the previous one has been
 * both acknowledged and delivered. */
static void maybe_push(struct run *r, struct pair *p)
{
    if (p->push_outstanding || !p->delivered || !p->next_reserved) return;
    p->next_reserved = false;
    p->delivered = false;
    p->seq++;
    send_xadd(r, p);
}

/* The message of a one-entry XREADGROUP reply:
 * [[key, [[id, ["m", message]]]]], or NULL if the reply is not that shape. */
static redisReply *entry_value(redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1) return NULL;
    redisReply *stream = reply->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) return NULL;
    redisReply *entries = stream->element[1];
    if (entries->type != REDIS_REPLY_ARRAY || entries->elements != 1) return NULL;
    redisReply *entry = entries->element[0];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return NULL;
    redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2 ||
        fields->element[1]->type != REDIS_REPLY_STRING)
        return NULL;
    return fields->element[1];
}

static void on_pop_reply(struct run *r, struct pair *p, redisReply *reply, int64_t at_ns)
{
    char expect[48];
    int index = (int)(p - r->pairs);
    int tag = snprintf(expect, sizeof expect, "%d:%" PRIu64 ":", index, p->seq);

    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "xreadgroup-latency: XREADGROUP: %s\n", reply->str);
        exit(1);
    }
    if (reply->type == REDIS_REPLY_NIL) fail("XREADGROUP timed out: an added entry was not delivered");
    redisReply *value = entry_value(reply);
    if (value == NULL) fail("XREADGROUP: unexpected reply shape");
    if (p->delivered) fail("XREADGROUP: a second delivery of one entry");
    assert(p->pop_outstanding);
    if (value->len < (size_t)tag || memcmp(value->str, expect, (size_t)tag) != 0) {
        fprintf(stderr, "xreadgroup-latency: pair %d expected message %s, got %.40s\n", index, expect,
                value->str);
        exit(1);
    }
    r->latency_ns[r->delivered++] = at_ns - p->push_ns;
    p->pop_outstanding = false;
    p->delivered = true;
    if (reserve(r, p)) send_read(r, p);
    maybe_push(r, p);
}

static void on_push_reply(struct run *r, struct pair *p, redisReply *reply)
{
    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "xreadgroup-latency: XADD: %s\n", reply->str);
        exit(1);
    }
    if (reply->type != REDIS_REPLY_STRING) fail("XADD: expected an entry ID");
    assert(p->push_outstanding);
    p->push_outstanding = false;
    maybe_push(r, p);
}

/* Reads what the socket has and handles every complete reply in it. */
static void on_readable(struct run *r, struct pair *p, bool consumer)
{
    redisContext *c = consumer ? p->consumer : p->producer;
    if (redisBufferRead(c) != REDIS_OK) fail(c->errstr);
    int64_t at_ns = now_ns();
    for (int replies = 0;; replies++) {
        void *reply = NULL;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK) fail(c->errstr);
        if (reply == NULL) break;
        if (replies > 0) fail("more than one reply in flight on a connection");
        if (consumer)
            on_pop_reply(r, p, reply, at_ns);
        else
            on_push_reply(r, p, reply);
        freeReplyObject(reply);
    }
}

static redisContext *connect_to(const char *host, int port)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "xreadgroup-latency: connect %s:%d: %s\n", host, port,
                c ? c->errstr : "out of memory");
        exit(1);
    }
    return c;
}

/* Removes what an earlier run may have left, and gives every pair's
 * stream an empty group that starts at its end. */
static void reset_streams(struct run *r)
{
    for (int i = 0; i < r->pair_count; i++) {
        redisContext *c = r->pairs[i].producer;
        redisReply *reply = redisCommand(c, "DEL %s", r->pairs[i].key);
        if (reply == NULL) fail(c->errstr);
        if (reply->type != REDIS_REPLY_INTEGER) fail("DEL: unexpected reply");
        freeReplyObject(reply);
        reply = redisCommand(c, "XGROUP CREATE %s g $ MKSTREAM", r->pairs[i].key);
        if (reply == NULL) fail(c->errstr);
        if (reply->type != REDIS_REPLY_STATUS) fail("XGROUP CREATE: unexpected reply");
        freeReplyObject(reply);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, in ms. */
static double percentile_ms(const int64_t *sorted, uint64_t n, double q)
{
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)sorted[rank - 1] / 1e6;
}

static void report(struct run *r, int64_t elapsed_ns)
{
    uint64_t n = r->delivered;
    qsort(r->latency_ns, n, sizeof r->latency_ns[0], cmp_i64);
    double sum_ms = 0;
    for (uint64_t i = 0; i < n; i++) sum_ms += (double)r->latency_ns[i] / 1e6;
    double rate = (double)n / ((double)elapsed_ns / 1e9);
    printf("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
           "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n");
    printf("\"XREADGROUP woken by XADD\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
           rate, sum_ms / (double)n, percentile_ms(r->latency_ns, n, 0.0),
           percentile_ms(r->latency_ns, n, 0.50), percentile_ms(r->latency_ns, n, 0.95),
           percentile_ms(r->latency_ns, n, 0.99), percentile_ms(r->latency_ns, n, 1.0));
    fprintf(stderr,
            "xreadgroup-latency: %" PRIu64 " messages delivered, in order, exactly once, over %d "
            "pairs in %.3f s\n",
            n, r->pair_count, (double)elapsed_ns / 1e9);
}

static long parse_long(const char *flag, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "xreadgroup-latency: %s wants an integer in [%ld, %ld], got '%s'\n", flag, min,
                max, s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    long pairs = 25, deadline_s = 60;
    long long messages = 10000;
    long size = 3;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) fail("every option takes a value; see the comment at the top of the file");
        if (!strcmp(flag, "--host")) host = v;
        else if (!strcmp(flag, "--port")) port = (int)parse_long(flag, v, 1, 65535);
        else if (!strcmp(flag, "--pairs")) pairs = parse_long(flag, v, 1, PAIRS_MAX);
        else if (!strcmp(flag, "--messages")) messages = parse_long(flag, v, 1, (long)MESSAGES_MAX);
        else if (!strcmp(flag, "--size")) size = parse_long(flag, v, 1, SIZE_MAX_BYTES);
        else if (!strcmp(flag, "--deadline")) deadline_s = parse_long(flag, v, 1, DEADLINE_MAX_S);
        else {
            fprintf(stderr, "xreadgroup-latency: unknown option '%s'\n", flag);
            return 1;
        }
        i++;
    }
    if (port == 0) fail("--port is required");

    struct run r = {0};
    r.pair_count = (int)pairs;
    r.messages = (uint64_t)messages;
    r.size = (size_t)size;
    r.block_ms = ((int)deadline_s + 5) * 1000; /* the deadline below fires first */
    r.pairs = calloc((size_t)pairs, sizeof *r.pairs);
    r.latency_ns = calloc(r.messages, sizeof *r.latency_ns);
    r.payload = malloc(r.size + 48);
    struct pollfd *fds = calloc(2 * (size_t)pairs, sizeof *fds);
    if (!r.pairs || !r.latency_ns || !r.payload || !fds) fail("out of memory");

    for (int i = 0; i < r.pair_count; i++) {
        struct pair *p = &r.pairs[i];
        p->consumer = connect_to(host, port);
        p->producer = connect_to(host, port);
        snprintf(p->key, sizeof p->key, "bench:xwake:%d", i);
        p->delivered = true; /* nothing in flight yet */
        fds[2 * i] = (struct pollfd){.fd = p->consumer->fd, .events = POLLIN};
        fds[2 * i + 1] = (struct pollfd){.fd = p->producer->fd, .events = POLLIN};
    }
    reset_streams(&r);

    int64_t start_ns = now_ns();
    int64_t deadline_ns = start_ns + (int64_t)deadline_s * 1000000000;
    for (int i = 0; i < r.pair_count; i++) {
        struct pair *p = &r.pairs[i];
        if (!reserve(&r, p)) break;
        send_read(&r, p);
        p->seq = (uint64_t)-1; /* maybe_push makes the first message number 0 */
        maybe_push(&r, p);
    }
    while (r.delivered < r.messages) {
        int64_t left_ns = deadline_ns - now_ns();
        if (left_ns <= 0) {
            fprintf(stderr,
                    "xreadgroup-latency: deadline of %ld s passed with %" PRIu64 " of %" PRIu64
                    " messages delivered\n",
                    deadline_s, r.delivered, r.messages);
            return 2;
        }
        int ready = poll(fds, 2 * (nfds_t)pairs, (int)(left_ns / 1000000) + 1);
        if (ready < 0 && errno != EINTR) fail(strerror(errno));
        for (int i = 0; ready > 0 && i < 2 * r.pair_count; i++) {
            if (fds[i].revents == 0) continue;
            on_readable(&r, &r.pairs[i / 2], i % 2 == 0);
        }
    }
    int64_t elapsed_ns = now_ns() - start_ns;
    /* Every message has been delivered; collect the XADD replies still on
     * their way, so that every push is known to have been acknowledged. */
    for (bool waiting = true; waiting;) {
        waiting = false;
        for (int i = 0; i < r.pair_count; i++) {
            assert(!r.pairs[i].pop_outstanding && !r.pairs[i].next_reserved);
            waiting |= r.pairs[i].push_outstanding;
        }
        if (!waiting) break;
        if (now_ns() > deadline_ns) {
            fprintf(stderr, "xreadgroup-latency: deadline passed before every XADD was answered\n");
            return 2;
        }
        int ready = poll(fds, 2 * (nfds_t)pairs, 100);
        if (ready < 0 && errno != EINTR) fail(strerror(errno));
        for (int i = 0; ready > 0 && i < 2 * r.pair_count; i++)
            if (fds[i].revents) on_readable(&r, &r.pairs[i / 2], i % 2 == 0);
    }
    report(&r, elapsed_ns);
    for (int i = 0; i < r.pair_count; i++) {
        redisFree(r.pairs[i].consumer);
        redisFree(r.pairs[i].producer);
    }
    free(fds);
    free(r.payload);
    free(r.latency_ns);
    free(r.pairs);
    return 0;
}
