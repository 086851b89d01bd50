/* examples/taskqueue.c — a task queue with results and retries (what Celery
 * does, in C): a producer submits tasks and fetches their results, workers
 * execute them, a failed task is retried after a growing delay up to a
 * limit, and a result is stored once, with an expiry. A worker killed
 * mid-task loses nothing: its task is taken over and its result stored
 * once. See examples/README.md.
 *
 *   taskqueue submit --tasks N [--max-retries R] [--backoff-ms B]
 *                                  submit N tasks, wait for every result,
 *                                  print "results N success S failure F sum X
 *                                  retries R", tell the workers to stop
 *   taskqueue worker --name W [--work-ms M] [--result-ttl-ms T]
 *
 * Task t<i> squares i; standing in for a flaky call, its attempt a fails
 * while a < i % 4, so t3, t7, ... fail every attempt when R is 2 (the
 * default) and end as FAILURE. Tasks are entries of the stream tq:tasks
 * (fields: id, n, attempt, max, backoff), read by the group `workers`; a
 * task a dead worker left pending for 2 s is taken over with XAUTOCLAIM.
 * A worker finishes an attempt with one script that first XACKs it (an
 * attempt already finished changes nothing), then either stores the result
 * with SET NX PX (and appends the id to tq:stored, the log of stored
 * results) or, for a failure under the limit, schedules the next attempt in
 * the sorted set tq:delayed at now + backoff * 2^attempt and counts it in
 * tq:retries. Every worker moves due attempts from tq:delayed back to the
 * stream (one script: ZRANGEBYSCORE, ZREM, XADD). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

#define DEADLINE_MS 120000
#define CLAIM_IDLE_MS "2000"

static const char finish_script[] =
    /* KEYS: tasks, result, stored, delayed, retries;
     * ARGV: entry, id, ok|fail, value, ttl-ms, attempt, max, due-ms, n, backoff */
    "if redis.call('xack', KEYS[1], 'workers', ARGV[1]) == 0 then return 0 end "
    "if ARGV[3] == 'ok' or tonumber(ARGV[6]) >= tonumber(ARGV[7]) then "
    "  local v = (ARGV[3] == 'ok' and 'SUCCESS ' or 'FAILURE ') .. ARGV[4] "
    "  if redis.call('set', KEYS[2], v, 'NX', 'PX', ARGV[5]) then redis.call('rpush', KEYS[3], ARGV[2]) end "
    "  return 1 end "
    "redis.call('zadd', KEYS[4], ARGV[8], "
    "  ARGV[2] .. ' ' .. ARGV[9] .. ' ' .. (tonumber(ARGV[6]) + 1) .. ' ' .. ARGV[7] .. ' ' .. ARGV[10]) "
    "redis.call('incr', KEYS[5]) return 2";

static const char promote_script[] = /* KEYS: delayed, tasks; ARGV: now-ms */
    "local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 10) "
    "for _, t in ipairs(due) do redis.call('zrem', KEYS[1], t) "
    "  local id, n, a, m, b = string.match(t, '(%S+) (%S+) (%S+) (%S+) (%S+)') "
    "  redis.call('xadd', KEYS[2], '*', 'id', id, 'n', n, 'attempt', a, 'max', m, 'backoff', b) end "
    "return #due";

static int submit(struct rr_conn *conn, long tasks, long max_retries, long backoff_ms)
{
    const char *del[] = {"DEL", "tq:tasks", "tq:delayed", "tq:stored", "tq:retries", "tq:stop"};
    const char *group[] = {"XGROUP", "CREATE", "tq:tasks", "workers", "$", "MKSTREAM"};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 6, del);
    if (r) freeReplyObject(r);
    if ((r = rr_conn_call(conn, DEADLINE_MS, "BUSYGROUP", 6, group)) == NULL) return 1;
    freeReplyObject(r);
    char max[32], backoff[32];
    snprintf(max, sizeof max, "%ld", max_retries);
    snprintf(backoff, sizeof backoff, "%ld", backoff_ms);
    for (long i = 0; i < tasks; i++) {
        char id[32], n[32], key[48];
        snprintf(id, sizeof id, "t%ld", i);
        snprintf(n, sizeof n, "%ld", i);
        snprintf(key, sizeof key, "tq:result:%s", id);
        const char *del_result[] = {"DEL", key};
        const char *add[] = {"XADD", "tq:tasks", "*", "id", id, "n", n, "attempt", "0",
                             "max", max, "backoff", backoff};
        if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 2, del_result)) == NULL) return 1;
        freeReplyObject(r);
        if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 13, add)) == NULL) return 1;
        freeReplyObject(r);
    }
    /* Wait until every result is stored, then fetch them (before they expire). */
    const char *stored[] = {"LLEN", "tq:stored"};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    bool ok;
    while (rr_conn_call_int(conn, DEADLINE_MS, 2, stored, &ok) < tasks && rr_mono_ms() < deadline)
        rr_sleep_ms(50);
    long success = 0, failure = 0, fetched = 0;
    long long sum = 0;
    for (long i = 0; i < tasks; i++) {
        char key[48];
        snprintf(key, sizeof key, "tq:result:t%ld", i);
        const char *get[] = {"GET", key};
        if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 2, get)) == NULL) return 1;
        if (r->type == REDIS_REPLY_STRING) {
            fetched++;
            if (strncmp(r->str, "SUCCESS ", 8) == 0) {
                success++;
                sum += strtoll(r->str + 8, NULL, 10);
            } else {
                failure++;
            }
        }
        freeReplyObject(r);
    }
    const char *retries[] = {"GET", "tq:retries"}, *stop[] = {"SET", "tq:stop", "1"};
    long long retried = rr_conn_call_int(conn, DEADLINE_MS, 2, retries, &ok);
    if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 3, stop))) freeReplyObject(r);
    printf("results %ld success %ld failure %ld sum %lld retries %lld\n", fetched, success, failure,
           sum, retried < 0 ? 0 : retried);
    return fetched == tasks ? 0 : 1;
}

/* A task as the stream carries it. */
struct task {
    char entry[64], id[32], n[32], attempt[16], max[16], backoff[32];
};

static bool task_of(const redisReply *entry, struct task *t)
{
    if (entry == NULL || entry->element[1]->type != REDIS_REPLY_ARRAY || entry->element[1]->elements != 10)
        return false;
    const redisReply *f = entry->element[1];
    snprintf(t->entry, sizeof t->entry, "%s", entry->element[0]->str);
    snprintf(t->id, sizeof t->id, "%s", f->element[1]->str);
    snprintf(t->n, sizeof t->n, "%s", f->element[3]->str);
    snprintf(t->attempt, sizeof t->attempt, "%s", f->element[5]->str);
    snprintf(t->max, sizeof t->max, "%s", f->element[7]->str);
    snprintf(t->backoff, sizeof t->backoff, "%s", f->element[9]->str);
    return true;
}

/* Runs one attempt of a task and records its outcome. */
static bool execute(struct rr_conn *conn, const struct task *t, int work_ms, const char *ttl)
{
    long long n = strtoll(t->n, NULL, 10), attempt = strtoll(t->attempt, NULL, 10);
    rr_sleep_ms(work_ms);
    bool ok = attempt >= n % 4; /* the flaky call */
    char value[64], due[32], key[48];
    if (ok)
        snprintf(value, sizeof value, "%lld", n * n);
    else
        snprintf(value, sizeof value, "attempt %lld failed", attempt);
    snprintf(due, sizeof due, "%lld",
             (long long)rr_unix_ms() + strtoll(t->backoff, NULL, 10) * (1ll << (attempt < 20 ? attempt : 20)));
    snprintf(key, sizeof key, "tq:result:%s", t->id);
    const char *finish[] = {"EVAL", finish_script, "5", "tq:tasks", key, "tq:stored", "tq:delayed",
                            "tq:retries", t->entry, t->id, ok ? "ok" : "fail", value, ttl,
                            t->attempt, t->max, due, t->n, t->backoff};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 18, finish);
    if (r) freeReplyObject(r);
    return r != NULL;
}

static int worker(struct rr_conn *conn, const char *name, int work_ms, const char *ttl)
{
    const char *exists[] = {"EXISTS", "tq:stop"};
    const struct rr_group_reader reader = {"tq:tasks", "workers", name, CLAIM_IDLE_MS, "100"};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS * 2;
    while (rr_mono_ms() < deadline) {
        bool ok;
        long long over = rr_conn_call_int(conn, DEADLINE_MS, 2, exists, &ok);
        if (!ok) return 1;
        if (over == 1) return 0;
        char now[32];
        snprintf(now, sizeof now, "%lld", (long long)rr_unix_ms());
        const char *promote[] = {"EVAL", promote_script, "2", "tq:delayed", "tq:tasks", now};
        redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 6, promote);
        if (r) freeReplyObject(r);
        /* A task a dead worker left pending for 2 s first, then a new one. */
        const redisReply *entry;
        bool claimed;
        if ((r = rr_group_next(conn, DEADLINE_MS, &reader, &entry, &claimed)) == NULL) return 1;
        struct task t;
        bool got = task_of(entry, &t);
        freeReplyObject(r);
        if (!got) continue;
        if (claimed) rr_log(name, "took over %s attempt %s (its worker died)", t.id, t.attempt);
        if (!execute(conn, &t, work_ms, ttl)) return 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *nodes = "127.0.0.1", *name = "worker", *ttl = "60000";
    int port = 6379, work_ms = 0;
    long tasks = 100, max_retries = 2, backoff_ms = 100;
    static const struct option longopts[] = {RR_COMMON_OPTIONS,
                                             {"tasks", required_argument, 0, 't'},
                                             {"max-retries", required_argument, 0, 'r'},
                                             {"backoff-ms", required_argument, 0, 'b'},
                                             {"work-ms", required_argument, 0, 'w'},
                                             {"result-ttl-ms", required_argument, 0, 'x'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 't': tasks = atol(optarg); break;
        case 'r': max_retries = atol(optarg); break;
        case 'b': backoff_ms = atol(optarg); break;
        case 'w': work_ms = atoi(optarg); break;
        case 'x': ttl = optarg; break;
        default:
            if (!rr_common_option("taskqueue", c, optarg, &nodes, &port, &name)) return 2;
        }
    }
    const char *mode = optind < argc ? argv[optind] : "";
    struct rr_conn conn;
    if (!rr_conn_open(&conn, "taskqueue", nodes, port, name)) return 2;
    int rc = strcmp(mode, "submit") == 0   ? submit(&conn, tasks, max_retries, backoff_ms)
             : strcmp(mode, "worker") == 0 ? worker(&conn, name, work_ms, ttl)
                                           : 2;
    if (rc == 2) fprintf(stderr, "taskqueue: MODE is submit or worker\n");
    rr_conn_close(&conn);
    return rc;
}
