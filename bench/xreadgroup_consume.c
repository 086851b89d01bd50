/* bench/xreadgroup_consume.c — consumer-group throughput: how fast K
 * consumers drain a stream with XREADGROUP COUNT C and acknowledge what
 * they read with XACK (bench/run.sh's "xreadgroup" test).
 *
 * Untimed setup on one connection: DEL bench:xconsume, N entries added
 * with pipelined XADD bench:xconsume * f <size bytes>, XGROUP CREATE
 * bench:xconsume g 0. Timed: K threads, each with its own connection and
 * consumer name c<i>, repeat
 *
 *     XREADGROUP GROUP g c<i> COUNT C STREAMS bench:xconsume >
 *     XACK bench:xconsume g <every ID just read>
 *
 * until XREADGROUP finds nothing new. A round's latency runs from the
 * XREADGROUP written to the XACK reply read. Afterwards every entry must
 * have been read exactly once in all (the reads add up to N and every XACK
 * acknowledged all it named) and XPENDING must say nothing is pending.
 *
 * Output on stdout: a redis-benchmark --csv style header and one row: rps
 * is entries read and acknowledged per second, the latencies are a round's,
 * in ms. A summary goes to stderr.
 *
 * Usage: xreadgroup-consume --port P [--host H] [--consumers K] [--entries N]
 *                           [--count C] [--size BYTES] [--deadline SECONDS]
 * Exit status: 0 all read and acknowledged; 1 error reply, a count that does
 * not add up, or connection failure; 2 the deadline passed. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis.h>

#define KEY "bench:xconsume"
#define WINDOW 500 /* XADDs in flight during the setup */

struct consumer {
    pthread_t thread;
    int index;
    redisContext *c;
    int64_t *round_ns; /* one per round */
    uint64_t rounds;
    uint64_t read;  /* entries */
    uint64_t acked; /* XACK's count */
    int status;     /* 0 ok, 1 failure, 2 deadline */
};

static const char *host = "127.0.0.1";
static int port, count = 100;
static uint64_t entries = 10000;
static int64_t deadline_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "xreadgroup-consume: %s\n", what);
    exit(1);
}

static redisContext *connect_to(void)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "xreadgroup-consume: connect %s:%d: %s\n", host, port,
                c ? c->errstr : "out of memory");
        exit(1);
    }
    long left_s = (long)((deadline_ns - now_ns()) / 1000000000) + 1;
    struct timeval io = {left_s > 0 ? left_s : 1, 0};
    redisSetTimeout(c, io);
    return c;
}

static redisReply *command_ok(redisContext *c, redisReply *reply, int type, const char *what)
{
    if (reply == NULL) {
        fprintf(stderr, "xreadgroup-consume: %s: %s\n", what, c->errstr);
        exit(c->err == REDIS_ERR_IO && now_ns() > deadline_ns ? 2 : 1);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "xreadgroup-consume: %s: %s\n", what, reply->str);
        exit(1);
    }
    if (reply->type != type) {
        fprintf(stderr, "xreadgroup-consume: %s: unexpected reply type %d\n", what, reply->type);
        exit(1);
    }
    return reply;
}

/* DEL, N pipelined XADDs, XGROUP CREATE at 0. */
static void setup(size_t size)
{
    redisContext *c = connect_to();
    char *value = malloc(size);
    if (value == NULL) fail("out of memory");
    memset(value, 'v', size);
    freeReplyObject(command_ok(c, redisCommand(c, "DEL %s", KEY), REDIS_REPLY_INTEGER, "DEL"));
    uint64_t sent = 0, answered = 0;
    while (answered < entries) {
        while (sent < entries && sent - answered < WINDOW) {
            if (redisAppendCommand(c, "XADD %s * f %b", KEY, value, size) != REDIS_OK)
                fail("out of memory");
            sent++;
        }
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) reply = NULL;
        freeReplyObject(command_ok(c, reply, REDIS_REPLY_STRING, "XADD"));
        answered++;
    }
    redisReply *len = command_ok(c, redisCommand(c, "XLEN %s", KEY), REDIS_REPLY_INTEGER, "XLEN");
    if ((uint64_t)len->integer != entries) fail("XLEN after the setup differs from --entries");
    freeReplyObject(len);
    freeReplyObject(command_ok(c, redisCommand(c, "XGROUP CREATE %s g 0", KEY), REDIS_REPLY_STATUS,
                               "XGROUP CREATE"));
    redisFree(c);
    free(value);
}

/* One consumer: read a batch, acknowledge it, until nothing new is left. */
static void *consume(void *arg)
{
    struct consumer *k = arg;
    char name[16], countstr[16];
    snprintf(name, sizeof name, "c%d", k->index);
    snprintf(countstr, sizeof countstr, "%d", count);
    const char **argv = malloc(((size_t)count + 3) * sizeof *argv);
    size_t *lens = malloc(((size_t)count + 3) * sizeof *lens);
    if (argv == NULL || lens == NULL) fail("out of memory");
    for (;;) {
        if (now_ns() > deadline_ns) {
            k->status = 2;
            break;
        }
        int64_t t0 = now_ns();
        redisReply *r = redisCommand(k->c, "XREADGROUP GROUP g %s COUNT %s STREAMS %s >", name,
                                     countstr, KEY);
        if (r == NULL) fail(k->c->errstr);
        if (r->type == REDIS_REPLY_NIL) { /* nothing new: done */
            freeReplyObject(r);
            break;
        }
        command_ok(k->c, r, REDIS_REPLY_ARRAY, "XREADGROUP");
        if (r->elements != 1 || r->element[0]->type != REDIS_REPLY_ARRAY ||
            r->element[0]->elements != 2 || r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
            fail("XREADGROUP: unexpected reply shape");
        redisReply *batch = r->element[0]->element[1];
        if (batch->elements == 0 || batch->elements > (size_t)count)
            fail("XREADGROUP: a batch of an unexpected size");
        argv[0] = "XACK", argv[1] = KEY, argv[2] = "g";
        lens[0] = 4, lens[1] = strlen(KEY), lens[2] = 1;
        for (size_t i = 0; i < batch->elements; i++) {
            redisReply *e = batch->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING)
                fail("XREADGROUP: unexpected entry shape");
            argv[3 + i] = e->element[0]->str;
            lens[3 + i] = e->element[0]->len;
        }
        redisReply *ack = redisCommandArgv(k->c, (int)batch->elements + 3, argv, lens);
        command_ok(k->c, ack, REDIS_REPLY_INTEGER, "XACK");
        if ((size_t)ack->integer != batch->elements) fail("XACK acknowledged fewer than it named");
        k->round_ns[k->rounds++] = now_ns() - t0;
        k->read += batch->elements;
        k->acked += (uint64_t)ack->integer;
        freeReplyObject(ack);
        freeReplyObject(r);
    }
    free(argv);
    free(lens);
    return NULL;
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

static long parse_long(const char *flag, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "xreadgroup-consume: %s wants an integer in [%ld, %ld], got '%s'\n", flag,
                min, max, s);
        exit(1);
    }
    return v;
}

int main(int argc, char **argv)
{
    long consumers = 4, size = 3, deadline_s = 60;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) fail("every option takes a value; see the comment at the top of the file");
        if (!strcmp(flag, "--host")) host = v;
        else if (!strcmp(flag, "--port")) port = (int)parse_long(flag, v, 1, 65535);
        else if (!strcmp(flag, "--consumers")) consumers = parse_long(flag, v, 1, 256);
        else if (!strcmp(flag, "--entries")) entries = (uint64_t)parse_long(flag, v, 1, 100000000);
        else if (!strcmp(flag, "--count")) count = (int)parse_long(flag, v, 1, 10000);
        else if (!strcmp(flag, "--size")) size = parse_long(flag, v, 1, 1024 * 1024);
        else if (!strcmp(flag, "--deadline")) deadline_s = parse_long(flag, v, 1, 3600);
        else {
            fprintf(stderr, "xreadgroup-consume: unknown option '%s'\n", flag);
            return 1;
        }
        i++;
    }
    if (port == 0) fail("--port is required");
    deadline_ns = now_ns() + (int64_t)deadline_s * 1000000000;
    setup((size_t)size);

    struct consumer *ks = calloc((size_t)consumers, sizeof *ks);
    if (ks == NULL) fail("out of memory");
    for (long i = 0; i < consumers; i++) {
        ks[i].index = (int)i;
        ks[i].c = connect_to();
        ks[i].round_ns = calloc(entries + 1, sizeof *ks[i].round_ns);
        if (ks[i].round_ns == NULL) fail("out of memory");
    }
    int64_t start_ns = now_ns();
    for (long i = 0; i < consumers; i++)
        if (pthread_create(&ks[i].thread, NULL, consume, &ks[i]) != 0) fail("pthread_create");
    uint64_t read = 0, acked = 0, rounds = 0;
    int status = 0;
    for (long i = 0; i < consumers; i++) {
        pthread_join(ks[i].thread, NULL);
        read += ks[i].read, acked += ks[i].acked, rounds += ks[i].rounds;
        if (ks[i].status > status) status = ks[i].status;
    }
    int64_t elapsed_ns = now_ns() - start_ns;
    if (status == 2) {
        fprintf(stderr, "xreadgroup-consume: deadline of %ld s passed with %" PRIu64 " of %" PRIu64
                        " entries read\n", deadline_s, read, entries);
        return 2;
    }
    if (read != entries || acked != entries) {
        fprintf(stderr, "xreadgroup-consume: %" PRIu64 " entries read and %" PRIu64
                        " acknowledged, %" PRIu64 " were added\n", read, acked, entries);
        return 1;
    }
    redisContext *c = connect_to();
    redisReply *p = command_ok(c, redisCommand(c, "XPENDING %s g", KEY), REDIS_REPLY_ARRAY,
                               "XPENDING");
    if (p->elements < 1 || p->element[0]->type != REDIS_REPLY_INTEGER || p->element[0]->integer)
        fail("entries still pending after every XACK");
    freeReplyObject(p);
    freeReplyObject(command_ok(c, redisCommand(c, "DEL %s", KEY), REDIS_REPLY_INTEGER, "DEL"));
    redisFree(c);

    int64_t *all = malloc(rounds * sizeof *all);
    if (all == NULL) fail("out of memory");
    uint64_t n = 0;
    double sum_ms = 0;
    for (long i = 0; i < consumers; i++)
        for (uint64_t j = 0; j < ks[i].rounds; j++) {
            all[n++] = ks[i].round_ns[j];
            sum_ms += (double)ks[i].round_ns[j] / 1e6;
        }
    qsort(all, n, sizeof *all, cmp_i64);
    double rate = (double)read / ((double)elapsed_ns / 1e9);
    printf("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\","
           "\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n");
    printf("\"XREADGROUP COUNT %d + XACK\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\","
           "\"%.3f\"\n",
           count, rate, sum_ms / (double)n, percentile_ms(all, n, 0.0), percentile_ms(all, n, 0.5),
           percentile_ms(all, n, 0.95), percentile_ms(all, n, 0.99), percentile_ms(all, n, 1.0));
    fprintf(stderr,
            "xreadgroup-consume: %" PRIu64 " entries read once and acknowledged by %ld consumers "
            "in %" PRIu64 " rounds, %.3f s; nothing pending\n",
            read, consumers, rounds, (double)elapsed_ns / 1e9);
    for (long i = 0; i < consumers; i++) {
        redisFree(ks[i].c);
        free(ks[i].round_ns);
    }
    free(ks);
    free(all);
    return 0;
}
