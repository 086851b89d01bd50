/* examples/bank.c — bank transfers that keep the total, with a lock and
 * fencing tokens (LOCK.FENCED) or with MULTI/WATCH; workers and the leader
 * may be killed at any time. See examples/README.md.
 *
 * Accounts are keys acct:<i> holding integers. A transfer has an id
 * (<worker name>:<n>) and moves money from one account to another, in one
 * transaction that also adds the id to the set bank:applied and appends
 * "<id> <from> <to> <amount>" to the list bank:log. A worker first asks
 * whether its transfer's id is already applied, so a transfer whose reply
 * was lost (its node died) is never applied twice. `check` replays the log
 * over the initial balances and compares with the accounts.
 *
 *   bank init  --accounts N --balance B
 *   bank work  --name W --mode lock|watch --transfers N --accounts N [--seed S]
 *   bank check --accounts N --balance B      (exit 0: consistent) */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

#define DEADLINE_MS 120000
#define LOCK_KEY "bank:lock"
#define LOCK_TTL "2000"

struct opts {
    const char *nodes, *name, *mode;
    int port;
    long accounts, balance, transfers;
    unsigned long seed;
};

/* The n-th transfer of a worker, the same after a restart. */
static void transfer_of(const struct opts *o, long n, long *from, long *to, long *amount)
{
    uint64_t x = o->seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
    for (const char *p = o->name; *p; p++) x = (x ^ (uint8_t)*p) * 0x100000001b3ull;
    x ^= x >> 31;
    *from = (long)(x % (uint64_t)o->accounts);
    *to = (long)((x >> 20) % (uint64_t)(o->accounts - 1));
    if (*to >= *from) (*to)++;
    *amount = 1 + (long)((x >> 40) % 50);
}

/* The transaction that applies a transfer; in lock mode every command is
 * fenced by the token. Returns 1 applied, 0 to retry (the lock was lost or
 * a watched key changed), -1 unknown (the connection failed). */
static int apply(struct rr_conn *conn, const char *token, const char *id, long from, long to,
                 long amount)
{
    char a[32], b[32], m[32], entry[256];
    snprintf(a, sizeof a, "acct:%ld", from);
    snprintf(b, sizeof b, "acct:%ld", to);
    snprintf(m, sizeof m, "%ld", amount);
    snprintf(entry, sizeof entry, "%s %ld %ld %ld", id, from, to, amount);
    const char *ops[4][3] = {{"DECRBY", a, m}, {"INCRBY", b, m}, {"SADD", "bank:applied", id},
                             {"RPUSH", "bank:log", entry}};
    struct rr_cmd cmds[6];
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    cmds[0] = rr_cmd_of(1, multi);
    for (int i = 0; i < 4; i++) {
        const char *fenced[] = {"LOCK.FENCED", LOCK_KEY, token, ops[i][0], ops[i][1], ops[i][2]};
        cmds[1 + i] = token ? rr_cmd_of(6, fenced) : rr_cmd_of(3, ops[i]);
    }
    cmds[5] = rr_cmd_of(1, exec);
    redisReply *replies[6];
    if (rr_conn_pipeline(conn, 10000, 6, cmds, replies) != 0) return -1;
    redisReply *r = replies[5];
    int result = r->type == REDIS_REPLY_ARRAY && r->elements == 4 ? 1 : 0;
    for (size_t i = 0; result && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR) result = 0; /* FENCED: the lock was lost */
    if (r->type == REDIS_REPLY_ERROR && rr_reply_is_transient(r)) result = -1;
    for (int i = 0; i < 6; i++) freeReplyObject(replies[i]);
    return result;
}

/* One transfer, applied exactly once whatever fails meanwhile. */
static bool transfer(struct rr_conn *conn, const struct opts *o, long n)
{
    char id[128], acct[32];
    snprintf(id, sizeof id, "%s:%ld", o->name, n);
    long from, to, amount;
    transfer_of(o, n, &from, &to, &amount);
    snprintf(acct, sizeof acct, "acct:%ld", from);
    bool lock = strcmp(o->mode, "lock") == 0, ok;
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (rr_mono_ms() < deadline) {
        char token[32] = "";
        if (lock) {
            const char *acquire[] = {"LOCK.ACQUIRE", LOCK_KEY, o->name, LOCK_TTL};
            long long t = rr_conn_call_int(conn, DEADLINE_MS, 4, acquire, &ok);
            if (!ok) return false;
            if (t < 0) { /* held by another worker */
                rr_sleep_ms(2);
                continue;
            }
            snprintf(token, sizeof token, "%lld", t);
        } else {
            char b[32];
            snprintf(b, sizeof b, "acct:%ld", to);
            const char *watch[] = {"WATCH", acct, b};
            redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 3, watch);
            if (r == NULL) return false;
            freeReplyObject(r);
        }
        const char *applied[] = {"SISMEMBER", "bank:applied", id};
        const char *get[] = {"GET", acct};
        long long done = rr_conn_call_int(conn, DEADLINE_MS, 3, applied, &ok);
        long long balance = ok && done == 0 ? rr_conn_call_int(conn, DEADLINE_MS, 2, get, &ok) : 0;
        int result = 1;
        if (ok && done == 0)
            result = apply(conn, lock ? token : NULL, id, from, to, amount < balance ? amount : balance);
        if (lock) {
            const char *release[] = {"LOCK.RELEASE", LOCK_KEY, token};
            rr_conn_call_int(conn, DEADLINE_MS, 3, release, &ok);
        } else if (result != 1) {
            const char *unwatch[] = {"UNWATCH"};
            redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 1, unwatch);
            if (r) freeReplyObject(r);
        }
        if (result == 1) return true;
        if (result < 0) rr_conn_failed(conn, deadline); /* unknown: ask again whether it applied */
    }
    return false;
}

static int check(struct rr_conn *conn, const struct opts *o)
{
    long long *want = calloc((size_t)o->accounts, sizeof *want), total = 0;
    for (long i = 0; i < o->accounts; i++) want[i] = o->balance;
    const char *lrange[] = {"LRANGE", "bank:log", "0", "-1"};
    redisReply *log = rr_conn_call(conn, DEADLINE_MS, NULL, 4, lrange);
    if (log == NULL || log->type != REDIS_REPLY_ARRAY) return 1;
    for (size_t i = 0; i < log->elements; i++) {
        long from, to, amount;
        char id[128];
        if (sscanf(log->element[i]->str, "%127s %ld %ld %ld", id, &from, &to, &amount) != 4) return 1;
        want[from] -= amount;
        want[to] += amount;
    }
    const char *scard[] = {"SCARD", "bank:applied"};
    bool ok, consistent = true;
    long long applied = rr_conn_call_int(conn, DEADLINE_MS, 2, scard, &ok);
    for (long i = 0; i < o->accounts; i++) {
        char key[32];
        snprintf(key, sizeof key, "acct:%ld", i);
        const char *get[] = {"GET", key};
        long long have = rr_conn_call_int(conn, DEADLINE_MS, 2, get, &ok);
        total += have;
        if (have != want[i] || have < 0) consistent = false;
    }
    consistent = consistent && ok && applied == (long long)log->elements &&
                 total == o->balance * o->accounts;
    printf("total %lld transfers %zu applied %lld %s\n", total, log->elements, applied,
           consistent ? "consistent" : "INCONSISTENT");
    freeReplyObject(log);
    free(want);
    return consistent ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.nodes = "127.0.0.1", .port = 6379, .name = "worker", .mode = "lock",
                     .accounts = 10, .balance = 1000, .transfers = 100, .seed = 1};
    static const struct option longopts[] = {
        RR_COMMON_OPTIONS,                       {"mode", required_argument, 0, 'm'},
        {"accounts", required_argument, 0, 'a'}, {"balance", required_argument, 0, 'b'},
        {"transfers", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.mode = optarg; break;
        case 'a': o.accounts = atol(optarg); break;
        case 'b': o.balance = atol(optarg); break;
        case 't': o.transfers = atol(optarg); break;
        case 's': o.seed = strtoul(optarg, NULL, 10); break;
        default:
            if (!rr_common_option("bank", c, optarg, &o.nodes, &o.port, &o.name)) return 2;
        }
    }
    const char *mode = optind < argc ? argv[optind] : "";
    if (o.accounts < 2 || (strcmp(o.mode, "lock") && strcmp(o.mode, "watch"))) {
        fprintf(stderr, "bank: --accounts must be 2 or more, --mode lock or watch\n");
        return 2;
    }
    struct rr_conn conn;
    if (!rr_conn_open(&conn, "bank", o.nodes, o.port, o.name)) return 2;
    int rc = 0;
    if (strcmp(mode, "init") == 0) {
        const char *del[] = {"DEL", "bank:applied", "bank:log", LOCK_KEY};
        redisReply *r = rr_conn_call(&conn, DEADLINE_MS, NULL, 4, del);
        rc = r ? 0 : 1;
        if (r) freeReplyObject(r);
        char b[32];
        snprintf(b, sizeof b, "%ld", o.balance);
        for (long i = 0; rc == 0 && i < o.accounts; i++) {
            char key[32];
            snprintf(key, sizeof key, "acct:%ld", i);
            const char *set[] = {"SET", key, b};
            r = rr_conn_call(&conn, DEADLINE_MS, NULL, 3, set);
            rc = r ? 0 : 1;
            if (r) freeReplyObject(r);
        }
    } else if (strcmp(mode, "work") == 0) {
        for (long n = 0; n < o.transfers; n++) {
            if (!transfer(&conn, &o, n)) {
                rr_log(o.name, "transfer %ld failed", n);
                rc = 1;
                break;
            }
        }
        if (rc == 0) printf("done %ld\n", o.transfers);
    } else if (strcmp(mode, "check") == 0) {
        rc = check(&conn, &o);
    } else {
        fprintf(stderr, "bank: MODE is init, work or check\n");
        rc = 2;
    }
    rr_conn_close(&conn);
    return rc;
}
