/* examples/reqrep_bench.c — round-trip latency of request/reply.
 *
 * Starts `servers` server threads (the same loop as `request_reply serve`,
 * each with its own connection) and `callers` caller threads, each with its
 * own connection, calling one request at a time. A round trip is measured
 * from just before the caller's LPUSH to the moment its BLPOP returns the
 * reply, and every reply is checked to be the answer to its own request.
 * Each caller makes one call before the clock starts (connection set-up,
 * first-use costs); then the callers share `requests` calls, and stop
 * starting new ones after `duration_s`. Prints one line:
 *
 *   label=... callers=50 servers=8 calls=2000 ok=2000 failed=0 timeouts=0
 *   p50_ms=... p99_ms=... max_ms=... calls_per_s=... elapsed_s=...
 *
 * (on one line), where the percentiles are over the calls that succeeded
 * (nearest rank) and calls_per_s is ok calls over the measured time. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reqrep.h"

#define SERVER_POLL_MS 200

struct bench {
    const struct rr_bench_options *options;
    double *latency_ms;             /* [requests]; < 0 for a call that failed */
    atomic_long next_call;          /* the next call index to claim */
    atomic_long ok, failed, timeouts;
    atomic_int stop_servers;
    atomic_int warmed_up;           /* callers done with their warm-up call */
    atomic_int go;                  /* the clock has started */
    _Atomic int64_t deadline_us;    /* stop starting calls */
};

struct caller {
    struct bench *bench;
    int index;
    int64_t last_done_us;
    pthread_t thread;
};

struct server {
    struct bench *bench;
    char name[64];
    struct rr_conn conn;
    struct rr_serve_options serve;
    int result;
    pthread_t thread;
};

/* Payload of call `i`: "call-<i>-" padded with 'x' to the wanted size. */
static size_t make_payload(char *payload, size_t size, long i, int payload_bytes)
{
    int n = snprintf(payload, size, "call-%ld-", i);
    assert(n > 0 && (size_t)n < size);
    size_t len = (size_t)n;
    while (len < (size_t)payload_bytes && len + 1 < size) payload[len++] = 'x';
    payload[len] = '\0';
    return len;
}

/* The server's reply ends with ": " and the payload in upper case. */
static bool reply_matches(const char *reply, size_t reply_len, const char *payload,
                          size_t payload_len)
{
    if (reply_len < payload_len + 2) return false;
    const char *tail = reply + reply_len - payload_len;
    if (memcmp(tail - 2, ": ", 2) != 0) return false;
    for (size_t i = 0; i < payload_len; i++) {
        char ch = payload[i];
        char want = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
        if (tail[i] != want) return false;
    }
    return true;
}

static enum rr_call_result one_call(struct rr_conn *conn, const struct rr_bench_options *o,
                                    long i)
{
    char payload[4096];
    size_t payload_len = make_payload(payload, sizeof payload, i, o->payload_bytes);
    const struct rr_call_options call = {.queue = o->queue, .timeout_ms = o->timeout_ms};
    char *reply;
    size_t reply_len;
    enum rr_call_result result = rr_call(conn, &call, payload, payload_len, &reply, &reply_len);
    if (result == RR_CALL_OK && !reply_matches(reply, reply_len, payload, payload_len)) {
        rr_log(conn->who, "call %ld got a reply to something else: %.80s", i, reply);
        result = RR_CALL_FAILED;
    }
    free(reply);
    return result;
}

static void *caller_main(void *arg)
{
    struct caller *c = arg;
    struct bench *b = c->bench;
    const struct rr_bench_options *o = b->options;
    char who[32], error[128];
    snprintf(who, sizeof who, "caller-%d", c->index);
    struct rr_conn conn;
    int rc = rr_conn_init(&conn, o->nodes, o->default_port, who, error);
    assert(rc == 0); /* the node list was checked before the threads started */
    (void)rc;
    conn.node_index = (size_t)c->index; /* spread the callers over the nodes */

    one_call(&conn, o, -1 - c->index); /* warm-up, not measured */
    atomic_fetch_add(&b->warmed_up, 1);
    while (!atomic_load(&b->go)) rr_sleep_ms(1);

    for (;;) {
        long i = atomic_fetch_add(&b->next_call, 1);
        if (i >= o->requests || rr_mono_us() >= atomic_load(&b->deadline_us)) break;
        int64_t t0_us = rr_mono_us();
        enum rr_call_result result = one_call(&conn, o, i);
        int64_t t1_us = rr_mono_us();
        c->last_done_us = t1_us;
        b->latency_ms[i] = result == RR_CALL_OK ? (double)(t1_us - t0_us) / 1000.0 : -1.0;
        if (result == RR_CALL_OK) atomic_fetch_add(&b->ok, 1);
        else if (result == RR_CALL_TIMEOUT) atomic_fetch_add(&b->timeouts, 1);
        else atomic_fetch_add(&b->failed, 1);
    }
    rr_conn_close(&conn);
    return NULL;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    s->result = rr_serve(&s->conn, &s->serve);
    rr_conn_close(&s->conn);
    return NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least q of the values at or below it. */
static double percentile(const double *sorted, size_t n, double q)
{
    if (n == 0) return NAN;
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

int rr_bench(const struct rr_bench_options *o)
{
    assert(o->callers >= 1 && o->servers >= 0 && o->requests >= 1);
    char error[128];
    struct rr_conn probe;
    if (rr_conn_init(&probe, o->nodes, o->default_port, "bench", error) != 0) {
        rr_log("bench", "%s", error);
        return 1;
    }

    struct bench b = {.options = o};
    atomic_init(&b.next_call, 0);
    atomic_init(&b.ok, 0);
    atomic_init(&b.failed, 0);
    atomic_init(&b.timeouts, 0);
    atomic_init(&b.stop_servers, 0);
    b.latency_ms = calloc((size_t)o->requests, sizeof *b.latency_ms);
    struct server *servers = calloc((size_t)o->servers + 1, sizeof *servers);
    struct caller *callers = calloc((size_t)o->callers, sizeof *callers);
    if (!b.latency_ms || !servers || !callers) {
        rr_log("bench", "out of memory");
        free(b.latency_ms);
        free(servers);
        free(callers);
        return 1;
    }
    atomic_init(&b.warmed_up, 0);
    atomic_init(&b.go, 0);
    /* Until the clock starts: room for the warm-up calls. */
    atomic_init(&b.deadline_us, rr_mono_us() + (int64_t)(o->duration_s * 1e6) + 2 * o->timeout_ms * 1000);

    int servers_started = 0;
    for (int i = 0; i < o->servers; i++) {
        struct server *s = &servers[i];
        s->bench = &b;
        snprintf(s->name, sizeof s->name, "bench-%ld-%d", (long)getpid(), i);
        (void)rr_conn_init(&s->conn, o->nodes, o->default_port, s->name, error); /* as probe */
        s->conn.node_index = (size_t)i;
        s->serve = (struct rr_serve_options){
            .name = s->name,
            .queue = o->queue,
            .reply_ttl_ms = 60000,
            .poll_ms = SERVER_POLL_MS,
            .stop = &b.stop_servers,
        };
        if (pthread_create(&s->thread, NULL, server_main, s) != 0) break;
        servers_started++;
    }
    int callers_started = 0;
    for (int i = 0; i < o->callers; i++) {
        callers[i] = (struct caller){.bench = &b, .index = i};
        if (pthread_create(&callers[i].thread, NULL, caller_main, &callers[i]) != 0) break;
        callers_started++;
    }
    if (callers_started < o->callers)
        rr_log("bench", "could only start %d of %d caller threads", callers_started, o->callers);
    /* Every warm-up call ends within its timeout. */
    while (atomic_load(&b.warmed_up) < callers_started) rr_sleep_ms(1);
    const int64_t start_us = rr_mono_us();
    atomic_store(&b.deadline_us, start_us + (int64_t)(o->duration_s * 1e6));
    atomic_store(&b.go, 1);

    int64_t end_us = start_us;
    for (int i = 0; i < callers_started; i++) {
        pthread_join(callers[i].thread, NULL);
        if (callers[i].last_done_us > end_us) end_us = callers[i].last_done_us;
    }
    atomic_store(&b.stop_servers, 1);
    int server_errors = 0;
    for (int i = 0; i < servers_started; i++) {
        pthread_join(servers[i].thread, NULL);
        if (servers[i].result != 0) server_errors++;
    }

    long calls = atomic_load(&b.next_call);
    if (calls > o->requests) calls = o->requests;
    size_t n_ok = 0;
    for (long i = 0; i < calls; i++)
        if (b.latency_ms[i] >= 0) b.latency_ms[n_ok++] = b.latency_ms[i];
    qsort(b.latency_ms, n_ok, sizeof *b.latency_ms, compare_double);
    double elapsed_s = (double)(end_us - start_us) / 1e6;
    long ok = atomic_load(&b.ok), failed = atomic_load(&b.failed),
         timeouts = atomic_load(&b.timeouts);
    printf("label=%s callers=%d servers=%d calls=%ld ok=%ld failed=%ld timeouts=%ld "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f calls_per_s=%.1f elapsed_s=%.2f\n",
           o->label ? o->label : "-", o->callers, servers_started, ok + failed + timeouts, ok,
           failed, timeouts, percentile(b.latency_ms, n_ok, 0.50),
           percentile(b.latency_ms, n_ok, 0.99), n_ok ? b.latency_ms[n_ok - 1] : NAN,
           elapsed_s > 0 ? (double)ok / elapsed_s : 0.0, elapsed_s);
    fflush(stdout);

    free(b.latency_ms);
    free(servers);
    free(callers);
    bool all_ok = failed == 0 && timeouts == 0 && ok > 0 && server_errors == 0 &&
                  servers_started == o->servers && callers_started == o->callers;
    return all_ok ? 0 : 1;
}
