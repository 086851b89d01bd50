/* examples/mapreduce.c — leader, participants and an observer: a word count
 * over a text file, split by an elected leader into tasks that the other
 * workers map, reduced by the leader into one final result. Killing the
 * leader mid-job makes another worker lead, continue from the state kept in
 * Parley, and write the result, exactly once. See examples/README.md.
 *
 *   mapreduce worker --name W --input FILE [--tasks N] [--work-ms M]
 *   mapreduce observe            (-h: a node, an observer node with READONLY)
 *
 * Every worker campaigns (ELECT.CAMPAIGN mr:leader, a lease of 1.5 s
 * renewed every loop). The leader splits the file into N ranges of lines
 * once (a script: SETNX mr:split, then XADD each range to the stream
 * mr:tasks, group `mappers`). The others map: they read a range with
 * XREADGROUP (or take over one a dead worker left pending for 2 s with
 * XAUTOCLAIM), count its words, and record the counts once (HSETNX
 * mr:parts <task> "word count\n..."), XACK and publish the progress on
 * mr:progress, in one script. When every part is in, the leader adds them up
 * and writes the result with a script that writes the hash mr:result only
 * if mr:result:by does not exist yet, then mr:result:by (the token and name
 * of the writer), and publishes "done". No fencing is needed: the parts are
 * written once and the result is made only from all of them, so a leader
 * deposed while it reduced would write the same result, and the script
 * writes it once. (Scripts cannot call ELECT.* commands.) The observer
 * subscribes to mr:progress and __elect__:mr:leader, prints each message,
 * follows the parts through READONLY reads, and exits once it has read the
 * result. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

#define DEADLINE_MS 120000
#define LEASE_MS "1500"
#define CLAIM_IDLE_MS "2000"

static const char split_script[] = /* KEYS: split, tasks, progress; ARGV: tasks, lines */
    "if redis.call('setnx', KEYS[1], ARGV[1]) == 0 then return 0 end "
    "local n, lines = tonumber(ARGV[1]), tonumber(ARGV[2]) "
    "for i = 0, n - 1 do redis.call('xadd', KEYS[2], '*', 'task', i, "
    "'from', math.floor(i * lines / n), 'to', math.floor((i + 1) * lines / n)) end "
    "redis.call('publish', KEYS[3], 'split ' .. n) return 1";

static const char map_script[] = /* KEYS: parts, tasks, progress, split; ARGV: entry id, task, counts, name */
    "if redis.call('hsetnx', KEYS[1], ARGV[2], ARGV[3]) == 1 then "
    "redis.call('publish', KEYS[3], 'mapped ' .. ARGV[2] .. ' ' .. redis.call('hlen', KEYS[1]) "
    ".. '/' .. redis.call('get', KEYS[4]) .. ' by ' .. ARGV[4]) end "
    "return redis.call('xack', KEYS[2], 'mappers', ARGV[1])";

static const char reduce_script[] = /* KEYS: result, by, progress; ARGV: token, name, counts */
    "if redis.call('exists', KEYS[2]) == 1 then return 0 end "
    "for w, c in string.gmatch(ARGV[3], '(%S+) (%d+)') do redis.call('hset', KEYS[1], w, c) end "
    "redis.call('set', KEYS[2], ARGV[1] .. ' ' .. ARGV[2]) "
    "redis.call('publish', KEYS[3], 'done ' .. ARGV[1] .. ' by ' .. ARGV[2]) return 1";

/* ---- counting -------------------------------------------------------- */

struct count {
    char *word;
    long long n;
};

struct counts {
    struct count *v;
    size_t len, cap;
};

static void counts_add(struct counts *c, const char *word, size_t len, long long n)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v) abort();
    }
    c->v[c->len].word = strndup(word, len);
    c->v[c->len++].n = n;
}

static int by_word(const void *a, const void *b)
{
    return strcmp(((const struct count *)a)->word, ((const struct count *)b)->word);
}

/* Sorts the counts and adds up those of the same word; returns them as
 * "word count\n" lines (malloc'd) and empties `c`. */
static char *counts_encode(struct counts *c)
{
    qsort(c->v, c->len, sizeof *c->v, by_word);
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < c->len; i++) cap += strlen(c->v[i].word) + 24;
    char *out = malloc(cap);
    if (!out) abort();
    for (size_t i = 0; i < c->len;) {
        size_t j = i;
        long long sum = 0;
        while (j < c->len && strcmp(c->v[j].word, c->v[i].word) == 0) sum += c->v[j++].n;
        len += (size_t)snprintf(out + len, cap - len, "%s %lld\n", c->v[i].word, sum);
        i = j;
    }
    out[len] = '\0';
    for (size_t i = 0; i < c->len; i++) free(c->v[i].word);
    free(c->v);
    memset(c, 0, sizeof *c);
    return out;
}

/* Adds the "word count\n" lines of `s` to `c`. */
static void counts_decode(struct counts *c, const char *s)
{
    while (*s) {
        const char *space = strchr(s, ' ');
        if (!space) return;
        char *end;
        long long n = strtoll(space + 1, &end, 10);
        counts_add(c, s, (size_t)(space - s), n);
        s = *end ? end + 1 : end;
    }
}

/* The lines of a file; false if it cannot be opened. */
static bool read_lines(const char *path, char ***out, long *count)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char **lines = NULL, *line = NULL;
    size_t cap = 0, n = 0, line_cap = 0;
    while (getline(&line, &line_cap, f) >= 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            lines = realloc(lines, cap * sizeof *lines);
            if (!lines) abort();
        }
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *out = lines;
    *count = (long)n;
    return true;
}

/* The word counts of lines [from, to): words are runs of letters and
 * digits, in lower case. */
static char *map_lines(char **lines, long from, long to)
{
    struct counts c = {0};
    for (long i = from; i < to; i++) {
        char *p = lines[i];
        while (*p) {
            while (*p && !isalnum((unsigned char)*p)) p++;
            char *start = p;
            while (*p && isalnum((unsigned char)*p)) {
                *p = (char)tolower((unsigned char)*p);
                p++;
            }
            if (p > start) counts_add(&c, start, (size_t)(p - start), 1);
        }
    }
    return counts_encode(&c);
}

/* ---- the worker ------------------------------------------------------ */

struct worker {
    struct rr_conn *conn;
    const char *name;
    char **lines;
    long line_count, tasks;
    int work_ms;
};

static long long get_int(struct rr_conn *conn, const char *cmd, const char *key)
{
    const char *argv[] = {cmd, key};
    bool ok;
    long long v = rr_conn_call_int(conn, DEADLINE_MS, 2, argv, &ok);
    return ok ? v : -2;
}

/* The leader's step: split once, reduce once every part is in. Returns 1
 * when the result exists, 0 to go on, -1 on failure. */
static int lead(struct worker *w, long long token)
{
    struct rr_conn *conn = w->conn;
    char tok[32], n[32], lines[32];
    snprintf(tok, sizeof tok, "%lld", token);
    if (get_int(conn, "EXISTS", "mr:split") == 0) {
        const char *group[] = {"XGROUP", "CREATE", "mr:tasks", "mappers", "0", "MKSTREAM"};
        redisReply *r = rr_conn_call(conn, DEADLINE_MS, "BUSYGROUP", 6, group);
        if (!r) return -1;
        freeReplyObject(r);
        snprintf(n, sizeof n, "%ld", w->tasks);
        snprintf(lines, sizeof lines, "%ld", w->line_count);
        const char *split[] = {"EVAL", split_script, "3", "mr:split", "mr:tasks", "mr:progress", n, lines};
        if ((r = rr_conn_call(conn, DEADLINE_MS, NULL, 8, split)) == NULL) return -1;
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            rr_log(w->name, "leader %s: split %ld lines into %ld tasks", tok, w->line_count, w->tasks);
        freeReplyObject(r);
    }
    long long split = get_int(conn, "GET", "mr:split"), parts = get_int(conn, "HLEN", "mr:parts");
    if (split < 0 || parts < 0) return -1;
    if (parts < split) {
        rr_sleep_ms(50);
        return 0;
    }
    const char *hvals[] = {"HVALS", "mr:parts"};
    redisReply *r = rr_conn_call(conn, DEADLINE_MS, NULL, 2, hvals);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        return -1;
    }
    struct counts c = {0};
    for (size_t i = 0; i < r->elements; i++) counts_decode(&c, r->element[i]->str);
    freeReplyObject(r);
    char *result = counts_encode(&c);
    const char *reduce[] = {"EVAL", reduce_script, "3", "mr:result", "mr:result:by", "mr:progress",
                            tok, w->name, result};
    r = rr_conn_call(conn, DEADLINE_MS, NULL, 9, reduce);
    free(result);
    if (!r) return -1;
    long long written = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    rr_log(w->name, written ? "leader %s: result written" : "leader %s: the result was there", tok);
    return 1;
}

/* A participant's step: map one task, if there is one. */
static int participate(struct worker *w)
{
    struct rr_conn *conn = w->conn;
    if (get_int(conn, "EXISTS", "mr:split") != 1) {
        rr_sleep_ms(50);
        return 0;
    }
    const struct rr_group_reader reader = {"mr:tasks", "mappers", w->name, CLAIM_IDLE_MS, "200"};
    const redisReply *entry;
    bool claimed;
    redisReply *r = rr_group_next(conn, DEADLINE_MS, &reader, &entry, &claimed);
    if (r == NULL) return -1;
    /* [id, [task, i, from, a, to, b]] */
    const redisReply *f = entry ? entry->element[1] : NULL;
    if (!f || f->type != REDIS_REPLY_ARRAY || f->elements != 6) {
        freeReplyObject(r);
        return 0;
    }
    char id[64], task[32];
    snprintf(id, sizeof id, "%s", entry->element[0]->str);
    snprintf(task, sizeof task, "%s", f->element[1]->str);
    long from = atol(f->element[3]->str), to = atol(f->element[5]->str);
    freeReplyObject(r);
    if (from < 0 || to > w->line_count || from > to) {
        rr_log(w->name, "task %s: lines %ld..%ld are not in the input", task, from, to);
        return -1;
    }
    char *counts = map_lines(w->lines, from, to);
    rr_sleep_ms(w->work_ms); /* a bigger data set */
    const char *finish[] = {"EVAL", map_script, "4", "mr:parts", "mr:tasks", "mr:progress",
                            "mr:split", id, task, counts, w->name};
    r = rr_conn_call(conn, DEADLINE_MS, NULL, 11, finish);
    free(counts);
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static int worker(struct worker *w)
{
    const char *campaign[] = {"ELECT.CAMPAIGN", "mr:leader", w->name, LEASE_MS};
    int64_t deadline = rr_mono_ms() + DEADLINE_MS;
    while (rr_mono_ms() < deadline) {
        long long done = get_int(w->conn, "EXISTS", "mr:result:by");
        if (done < 0) return 1;
        if (done == 1) return 0;
        bool ok;
        long long token = rr_conn_call_int(w->conn, DEADLINE_MS, 4, campaign, &ok);
        if (!ok) return 1;
        int step = token > 0 ? lead(w, token) : participate(w);
        if (step < 0) return 1;
        if (step == 1) return 0;
    }
    return 1;
}

/* ---- the observer ---------------------------------------------------- */

/* READONLY then `argv` on the observer's node (READONLY again on every
 * new connection). */
static redisReply *read_only(struct rr_conn *conn, int argc, const char *const *argv)
{
    const char *readonly[] = {"READONLY"};
    struct rr_cmd cmds[2] = {rr_cmd_of(1, readonly), rr_cmd_of(argc, argv)};
    redisReply *replies[2];
    if (rr_conn_pipeline(conn, 2000, 2, cmds, replies) != 0) {
        rr_conn_failed(conn, 0);
        return NULL;
    }
    freeReplyObject(replies[0]);
    return replies[1];
}

/* Prints the result as the observer's node has it: how many words, how
 * many in all. False when it cannot be read. */
static bool print_result(struct rr_conn *ro)
{
    const char *hgetall[] = {"HGETALL", "mr:result"};
    redisReply *r = read_only(ro, 2, hgetall);
    bool ok = r && r->type == REDIS_REPLY_ARRAY;
    if (ok) {
        long long total = 0;
        for (size_t i = 1; i < r->elements; i += 2) total += strtoll(r->element[i]->str, NULL, 10);
        printf("readonly result words %zu total %lld\n", r->elements / 2, total);
    }
    if (r) freeReplyObject(r);
    return ok;
}

/* Prints every message of the job's channels as it comes and, between
 * them, what the observer's node holds, until that node has the result and
 * the "done" message that came with it has been heard (or 5 s passed: the
 * subscription may have been lost meanwhile). */
static int observe(const char *nodes, int port)
{
    struct rr_conn sub, ro;
    if (!rr_conn_open(&sub, "mapreduce", nodes, port, "observer") ||
        !rr_conn_open(&ro, "mapreduce", nodes, port, "observer"))
        return 2;
    const char *subscribe[] = {"SUBSCRIBE", "mr:progress", "__elect__:mr:leader"};
    const char *hlen[] = {"HLEN", "mr:parts"}, *by[] = {"GET", "mr:result:by"};
    long long seen_parts = -1;
    bool heard_done = false;
    int64_t deadline = rr_mono_ms() + DEADLINE_MS, result_seen_ms = 0;
    while (rr_mono_ms() < deadline) {
        if (result_seen_ms && (heard_done || rr_mono_ms() - result_seen_ms > 5000)) break;
        if (!sub.ctx) {
            struct rr_cmd c = rr_cmd_of(3, subscribe);
            redisReply *r = rr_conn_command(&sub, 2000, &c);
            if (!r) {
                rr_conn_failed(&sub, deadline);
                continue;
            }
            freeReplyObject(r); /* the first confirmation; the second comes as a message */
            printf("subscribed\n");
            fflush(stdout);
        }
        redisReply *m;
        if (rr_conn_next_message(&sub, 100, &m) == 1) {
            if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
                strcmp(m->element[0]->str, "message") == 0) {
                printf("%s %s\n", m->element[1]->str, m->element[2]->str);
                heard_done = heard_done || (strcmp(m->element[1]->str, "mr:progress") == 0 &&
                                            strncmp(m->element[2]->str, "done ", 5) == 0);
            }
            freeReplyObject(m);
            fflush(stdout);
            continue;
        }
        if (result_seen_ms) continue;
        redisReply *r = read_only(&ro, 2, hlen);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer != seen_parts) {
            seen_parts = r->integer;
            printf("readonly parts %lld\n", seen_parts);
        }
        if (r) freeReplyObject(r);
        if ((r = read_only(&ro, 2, by)) && r->type == REDIS_REPLY_STRING) {
            printf("readonly result by %s\n", r->str);
            result_seen_ms = rr_mono_ms();
        }
        if (r) freeReplyObject(r);
        fflush(stdout);
    }
    int rc = result_seen_ms && print_result(&ro) ? 0 : 1;
    fflush(stdout);
    rr_conn_close(&sub);
    rr_conn_close(&ro);
    return rc;
}

int main(int argc, char **argv)
{
    const char *nodes = "127.0.0.1", *name = "worker", *input = NULL;
    int port = 6379, work_ms = 0;
    long tasks = 20;
    static const struct option longopts[] = {RR_COMMON_OPTIONS,
                                             {"input", required_argument, 0, 'i'},
                                             {"tasks", required_argument, 0, 't'},
                                             {"work-ms", required_argument, 0, 'w'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': input = optarg; break;
        case 't': tasks = atol(optarg); break;
        case 'w': work_ms = atoi(optarg); break;
        default:
            if (!rr_common_option("mapreduce", c, optarg, &nodes, &port, &name)) return 2;
        }
    }
    const char *mode = optind < argc ? argv[optind] : "";
    if (strcmp(mode, "observe") == 0) return observe(nodes, port);
    if (strcmp(mode, "worker") != 0 || !input || tasks < 1) {
        fprintf(stderr, "mapreduce: worker --input FILE [--tasks N >= 1] or observe\n");
        return 2;
    }
    struct worker w = {.name = name, .tasks = tasks, .work_ms = work_ms};
    if (!read_lines(input, &w.lines, &w.line_count)) {
        perror(input);
        return 2;
    }
    struct rr_conn conn;
    if (!rr_conn_open(&conn, "mapreduce", nodes, port, name)) return 2;
    w.conn = &conn;
    int rc = worker(&w);
    rr_conn_close(&conn);
    for (long i = 0; i < w.line_count; i++) free(w.lines[i]);
    free(w.lines);
    return rc;
}
