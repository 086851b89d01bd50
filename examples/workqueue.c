/* examples/workqueue.c — a controller and workers passing messages through
 * a stream with a consumer group; a worker killed mid-task loses nothing:
 * its tasks are claimed by the others and done once. See examples/README.md.
 *
 *   workqueue controller --tasks N      queue N tasks, wait for every result,
 *                                       print "done N total T", tell workers to stop
 *   workqueue worker --name W [--work-ms M]
 *
 * Tasks are entries of the stream wq:tasks (field n: a number, ID 0-(n+1),
 * so that queueing one again after a failover adds nothing), read by the
 * group `workers` with XREADGROUP; a task whose worker died is taken over
 * with XAUTOCLAIM once it has been pending for 2 s. A worker finishes a task
 * with one script: it records the result in the hash wq:results only if no
 * result is there yet (HSETNX), adds it to wq:total only then, and XACKs. So
 * a task done twice (its first worker died after the work, before the
 * acknowledgement) counts once, and wq:total is the sum of n*n exactly when
 * every task was done once. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

#define DEADLINE_MS 120000
#define CLAIM_IDLE_MS "2000"

static const char finish_script[] =
    "if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 1 then "
    "redis.call('incrby', KEYS[2], ARGV[2]) end "
    "return redis.call('xack', KEYS[3], 'workers', ARGV[1])";

static int controller(struct rr_conn *conn, long tasks)
{
    const char *del[] = {"DEL", "wq:tasks", "wq:results", "wq:total", "wq:finished"};
    const char *group[] = {"XGROUP", "CREATE", "wq:tasks", "workers", "$", "MKSTREAM"};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 5, del);
    if (r) freeReplyObject(r);
    if ((r = rr_conn_call(conn, DEADLINE_MS, "BUSYGROUP", 6, group)) == NULL) return 1;
    freeReplyObject(r);
    /* Task i gets the entry ID 0-(i+1): an XADD sent again after a failover
     * (its reply lost, not knowing whether it was applied) is refused if it
     * was, instead of queueing the task twice. */
    for (long i = 0; i < tasks; i++) {
        char n[32], id[32];
        snprintf(n, sizeof n, "%ld", i);
        snprintf(id, sizeof id, "0-%ld", i + 1);
        const char *add[] = {"XADD", "wq:tasks", id, "n", n};
        if ((r = rr_conn_call(conn, DEADLINE_MS, "ERR The ID specified in XADD is equal or smaller",
                              5, add)) == NULL)
            return 1;
        freeReplyObject(r);
    }
    const char *hlen[] = {"HLEN", "wq:results"};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    long long done;
    bool ok;
    while ((done = rr_conn_call_int(conn, DEADLINE_MS, 2, hlen, &ok)) < tasks && rr_mono_ms() < deadline)
        rr_sleep_ms(50);
    const char *total[] = {"GET", "wq:total"};
    const char *finished[] = {"SET", "wq:finished", "1"};
    long long sum = rr_conn_call_int(conn, DEADLINE_MS, 2, total, &ok);
    if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 3, finished))) freeReplyObject(r);
    printf("done %lld total %lld\n", done, sum < 0 ? 0 : sum); /* nil: no task */
    return done == tasks ? 0 : 1;
}

/* The task of a stream entry reply ([id, [field, value...]]): 0 if none. */
static bool task_of(const redisReply *entry, const char **id, long long *n)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return false;
    const redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements < 2) return false;
    *id = entry->element[0]->str;
    *n = strtoll(fields->element[1]->str, NULL, 10);
    return true;
}

static bool finish(struct rr_conn *conn, const char *id, long long n, int work_ms)
{
    if (work_ms) rr_sleep_ms(work_ms); /* the work */
    char result[32];
    snprintf(result, sizeof result, "%lld", n * n);
    const char *eval[] = {"EVAL", finish_script, "3", "wq:results", "wq:total", "wq:tasks", id, result};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 8, eval);
    if (r) freeReplyObject(r);
    return r != NULL;
}

static int worker(struct rr_conn *conn, const char *name, int work_ms)
{
    const char *exists[] = {"EXISTS", "wq:finished"};
    const struct rr_group_reader reader = {"wq:tasks", "workers", name, CLAIM_IDLE_MS, "500"};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS * 2;
    while (rr_mono_ms() < deadline) {
        bool ok;
        long long over = rr_conn_call_int(conn, DEADLINE_MS, 2, exists, &ok);
        if (!ok) return 1;
        if (over == 1) return 0;
        /* A task a dead worker left pending for 2 s first, then a new one. */
        const redisReply *entry;
        bool claimed;
        redisReply *r = rr_group_next(conn, DEADLINE_MS, &reader, &entry, &claimed);
        if (r == NULL) return 1;
        const char *id;
        long long n;
        char idbuf[64];
        bool got = entry && task_of(entry, &id, &n);
        if (got) snprintf(idbuf, sizeof idbuf, "%s", id);
        freeReplyObject(r);
        if (got && !finish(conn, idbuf, n, work_ms)) return 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *nodes = "127.0.0.1", *name = "worker";
    int port = 6379, work_ms = 0;
    long tasks = 100;
    static const struct option longopts[] = {RR_COMMON_OPTIONS,
                                             {"tasks", required_argument, 0, 't'},
                                             {"work-ms", required_argument, 0, 'w'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 't': tasks = atol(optarg); break;
        case 'w': work_ms = atoi(optarg); break;
        default:
            if (!rr_common_option("workqueue", c, optarg, &nodes, &port, &name)) return 2;
        }
    }
    const char *mode = optind < argc ? argv[optind] : "";
    struct rr_conn conn;
    if (!rr_conn_open(&conn, "workqueue", nodes, port, name)) return 2;
    int rc = strcmp(mode, "controller") == 0 ? controller(&conn, tasks)
             : strcmp(mode, "worker") == 0   ? worker(&conn, name, work_ms)
                                             : 2;
    if (rc == 2) fprintf(stderr, "workqueue: MODE is controller or worker\n");
    rr_conn_close(&conn);
    return rc;
}
