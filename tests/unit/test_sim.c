/* tests/unit/test_sim.c — deterministic simulation of a Parley cluster.
 *
 * Three or five replicas, each running Parley's real state machine
 * (repl/fsm.h: repl/apply.c's apply, snapshot and restore, with its dedup
 * table) over its own store, joined by libraft's in-memory fixture
 * (raft/fixture.h): simulated time, network and disk. A seeded PRNG decides
 * every step: client commands, fixture steps (ticks, message deliveries,
 * disk writes), partitions (disconnect), message loss (saturate), latency
 * changes, election timeouts, servers killed and revived, proposer
 * crashes, and linearizable reads (a barrier on the leader, then the
 * leader's store read with cmds/ LRANGE).
 *
 * Each replica is also its node's batcher: repl_fsm_attach() puts
 * propose.c on the fixture's raft, so the leader's repl_flush() seals the
 * tick's commands, announces its term (__leader), builds one entry in
 * Parley's format (repl/entry.c) from its own and the forwarded batches,
 * and proposes it; replies reach the clients' reply slots from apply.c, as
 * in the server. A client of the leader submits with repl_submit(); a
 * client of a follower batches its commands as its node would and
 * forwards them to the leader it knows with repl_submit_forwarded() (what
 * the follower link's PARLEY.FWD does: the link itself, which needs a
 * socket, is not driven). When the leader or term changes every batch sent
 * before goes again, in order, so apply's dedup must skip the ones that
 * did commit (-PARLEYDUP). No timers run, so nothing times out, and the
 * read lease is off: reads are a barrier on the leader, then the leader's
 * store read with cmds/ LRANGE.
 *
 * Workload: RPUSH of unique values to one list, INCR of one counter, SETs,
 * bank transfers (DECRBY + INCRBY in one __exec transaction, as EXEC sends
 * them) and transactions mixing RPUSH and INCR.
 *
 * Invariants, checked after every step on every node whose applied index
 * moved: replicas at the same applied index have the same store_digest; a
 * node's applied index never goes backwards; every value whose command was
 * answered with a result (not an error) is in the list
 * exactly once on every node that has applied that far, and no value is
 * ever there twice; the counter is at least the acknowledged INCRs and at
 * most the proposed ones; the bank's total never changes; no two leaders
 * in one term. A linearizable read must see every write acknowledged
 * before it started. At the end the faults are healed and every replica
 * must converge to one digest.
 *
 * A failure prints the seed and step; `SIM_SEED=<n> build/unit/test_sim`
 * replays exactly that seed (SIM_VERBOSE=1 prints each step,
 * SIM_RAFT_TRACE=1 adds libraft's own trace), `SIM_SEEDS=<n>` runs seeds
 * 1..n, 25 to a child process.
 *
 * Limits, and what this test found in libraft 0.22.1 and its fixture:
 * - a killed server keeps its memory: kill/revive is a long pause and a
 *   cut, not a restart from disk;
 * - raft_fixture_io_fault() makes I/O fail as it is submitted, and an
 *   append failing that way is freed twice inside libraft (a follower
 *   receiving entries, a leader's raft_barrier). Disk failures are
 *   injected instead by failing append completions, and are off unless
 *   SIM_DISK_FAULTS=1: then a follower whose write failed keeps the
 *   entries in its in-memory log, never writes them again and never
 *   advances its commit index ("no new entries to persist"), so it stays
 *   behind until restarted, which the final convergence check reports;
 * - the fixture completes disk writes by time, so lowering a node's disk
 *   latency while it writes would complete a later write first; libraft's
 *   follower then counts a negative number of entries in flight and never
 *   campaigns again. Disk latency changes only between writes;
 * - snapshot trailing windows of 4 entries or fewer, and rarely larger
 *   ones, crash inside raft_fixture_step, so seeds run in child processes
 *   and a rare crash (at most 1 in 50 seeds) is reported, not failed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "base/buf.h"
#include "base/log.h"
#include "cmds/cmd.h"
#include "repl/entry.h"
#include "repl/fsm.h"
#include "store/object.h"

#define MAX_NODES 5
#define ACCOUNTS 5
#define ACCOUNT_START 100
#define MAX_VALUES 8192
#define MAX_BATCH_COMMANDS 6
#define MAX_BATCH_VALUES (MAX_BATCH_COMMANDS * 2)
#define STEPS_PER_SEED 2000
#define DEFAULT_SEEDS 200
#define EPOCH_MS 1700000000000ll
#define MAX_APPENDS 256 /* disk appends in flight per node */

/* --------------------------------------------------------------------
 * Deterministic randomness
 * ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rng_below(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

/* --------------------------------------------------------------------
 * Simulation state
 * ------------------------------------------------------------------ */

/* A batch of one simulated proposer (as propose.c's struct batch). */
struct sbatch {
    uint64_t seq;
    bool sent;
    struct buf body;
    uint32_t n;
    uint32_t values[MAX_BATCH_VALUES]; /* RPUSHed value ids */
    int n_values;
    int n_incr;
    struct sbatch *next;
};

/* One server process's proposer: its clients' commands, batched. */
struct proposer {
    uint64_t origin;             /* node id << 32 | incarnation */
    uint32_t incarnation;
    uint64_t next_seq;
    struct sbatch *current;      /* open batch of this tick */
    struct sbatch *head, *tail;  /* sealed, not yet acknowledged */
    uint64_t target_id, target_term; /* where the SENT batches went */
};

/* A read (raft_barrier) in flight. */
struct sreq {
    struct raft_barrier barrier;
    struct sim *sim;
    unsigned leader;             /* server index it was submitted to */
    uint64_t read_ack_order;     /* acks before the read began */
    struct sreq *prev, *next;
};

/* A disk append in flight, whose completion the test may turn into a
 * failure (see io_fault). */
struct wrapped_append {
    struct raft_io_append *req;
    raft_io_append_cb cb;
    bool fail;
};

struct node {
    struct store *store;
    struct repl *fsm;
    raft_index applied;          /* last seen, for the monotonic check */
};

struct sim {
    uint64_t seed, rng;
    unsigned n;
    unsigned step;
    bool verbose, failed;
    char why[512];
    struct raft_fixture f;
    struct raft_tracer quiet;
    struct node nodes[MAX_NODES];
    struct proposer props[MAX_NODES];
    bool disconnected[MAX_NODES][MAX_NODES];
    bool saturated[MAX_NODES][MAX_NODES];
    struct sreq *reqs;
    int (*orig_append[MAX_NODES])(struct raft_io *, struct raft_io_append *,
                                  const struct raft_entry[], unsigned, raft_io_append_cb);
    struct wrapped_append appends[MAX_NODES][MAX_APPENDS];
    unsigned disk_faults[MAX_NODES];
    bool disk_faults_on;         /* SIM_DISK_FAULTS=1, see io_fault */

    /* Checker state */
    uint32_t n_values;           /* value ids 1..n_values proposed */
    raft_index value_ack_index[MAX_VALUES]; /* 0: not acknowledged */
    uint64_t value_ack_order[MAX_VALUES];
    uint64_t ack_order;
    uint64_t incr_proposed;
    struct {
        raft_index index;
        int count;
    } *incr_acks;
    size_t n_incr_acks, cap_incr_acks;
    uint64_t *digests;           /* by applied index; 0: not seen yet */
    size_t cap_digests;
    raft_id *term_leader;        /* by term */
    size_t cap_terms;
    unsigned char seen[MAX_VALUES];
    struct buf scratch;

    /* Counters for the summary line */
    bool tearing_down;
    uint64_t acked_batches, acked_direct, reads_ok, kills, io_faults, snapshots_seen;
    uint64_t max_term;
};

static void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_fail(struct sim *s, const char *fmt, ...)
{
    if (s->failed) return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
}

static void trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct sim *s, const char *fmt, ...)
{
    if (!s->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    printf("[seed %llu step %u t=%llu] ", (unsigned long long)s->seed, s->step,
           (unsigned long long)raft_fixture_time(&s->f));
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static struct raft *node_raft(struct sim *s, unsigned i)
{
    return raft_fixture_get(&s->f, i);
}

static bool usable(struct sim *s, unsigned i)
{
    return raft_fixture_alive(&s->f, i) && raft_state(node_raft(s, i)) != RAFT_UNAVAILABLE;
}

/* --------------------------------------------------------------------
 * Reading a replica's store (the read path: cmds/ on the keyspace)
 * ------------------------------------------------------------------ */

static void run_read(struct sim *s, struct store *store, int argc, struct resp_arg *argv)
{
    buf_clear(&s->scratch);
    struct cmd_ctx c;
    memset(&c, 0, sizeof c);
    c.store = store;
    c.now_ms = EPOCH_MS;
    c.rng = 1;
    c.max_bulk_len = 512ll << 20;
    c.out.buf = &s->scratch;
    c.out.proto = 2;
    c.argc = argc;
    c.argv = argv;
    c.cmd = cmd_lookup(argv[0].ptr, argv[0].len, false);
    assert_non_null(c.cmd);
    cmd_exec(&c);
}

static long long read_int(struct sim *s, struct store *store, const char *key, bool *exists)
{
    struct dict_entry *e = store_lookup(store, 0, key, strlen(key), EPOCH_MS, false);
    *exists = e != NULL;
    if (e == NULL) return 0;
    long long v = 0;
    if (!sobj_get_ll(store_value(e), &v)) sim_fail(s, "key %s is not an integer", key);
    return v;
}

/* Fills s->seen with how many times each value id is in the list.
 * Returns false (and fails the run) on an unexpected reply. */
static bool read_list(struct sim *s, struct store *store)
{
    memset(s->seen, 0, (size_t)s->n_values + 1);
    struct resp_arg argv[4] = {{"LRANGE", 6}, {"list", 4}, {"0", 1}, {"-1", 2}};
    run_read(s, store, 4, argv);
    const char *p = s->scratch.data, *end = p + s->scratch.len;
    char *next;
    if (s->scratch.len < 4 || *p != '*') {
        sim_fail(s, "LRANGE answered %.*s", (int)s->scratch.len, s->scratch.data);
        return false;
    }
    long n = strtol(p + 1, &next, 10);
    p = next + 2;
    for (long i = 0; i < n; i++) {
        if (p >= end || *p != '$') {
            sim_fail(s, "malformed LRANGE reply");
            return false;
        }
        long len = strtol(p + 1, &next, 10);
        p = next + 2;
        /* values are "v<id>" */
        unsigned long id = strtoul(p + 1, NULL, 10);
        if (len < 2 || *p != 'v' || id == 0 || id > s->n_values) {
            sim_fail(s, "the list holds %.*s, which was never pushed", (int)len, p);
            return false;
        }
        if (s->seen[id] < 255) s->seen[id]++;
        p += len + 2;
    }
    return true;
}

/* --------------------------------------------------------------------
 * Invariants
 * ------------------------------------------------------------------ */

static void check_bank(struct sim *s, unsigned i)
{
    struct store *st = s->nodes[i].store;
    bool init, exists;
    read_int(s, st, "bank:init", &init);
    long long total = 0;
    for (int a = 0; a < ACCOUNTS; a++) {
        char key[16];
        snprintf(key, sizeof key, "acct%d", a);
        total += read_int(s, st, key, &exists);
    }
    long long want = init ? ACCOUNTS * ACCOUNT_START : 0;
    if (total != want)
        sim_fail(s, "node %u: bank total %lld, expected %lld (applied %llu)", i + 1, total, want,
                 (unsigned long long)raft_last_applied(node_raft(s, i)));
}

/* Every acknowledged value present once where it must be, none twice. */
static void check_list(struct sim *s, unsigned i, raft_index applied, uint64_t ack_order_max,
                       const char *what)
{
    if (!read_list(s, s->nodes[i].store)) return;
    for (uint32_t v = 1; v <= s->n_values; v++) {
        if (s->seen[v] > 1) {
            sim_fail(s, "%s %u: value v%u is in the list %u times", what, i + 1, v, s->seen[v]);
            return;
        }
        bool must = s->value_ack_index[v] != 0 &&
                    (ack_order_max ? s->value_ack_order[v] <= ack_order_max
                                   : s->value_ack_index[v] <= applied);
        if (must && s->seen[v] != 1) {
            sim_fail(s, "%s %u: acknowledged value v%u (index %llu) is missing at applied %llu",
                     what, i + 1, v, (unsigned long long)s->value_ack_index[v],
                     (unsigned long long)applied);
            return;
        }
    }
}

static void check_counter(struct sim *s, unsigned i, raft_index applied)
{
    bool exists;
    long long c = read_int(s, s->nodes[i].store, "counter", &exists);
    long long acked = 0;
    for (size_t k = 0; k < s->n_incr_acks; k++)
        if (s->incr_acks[k].index <= applied) acked += s->incr_acks[k].count;
    if (c < acked || (unsigned long long)c > s->incr_proposed)
        sim_fail(s, "node %u: counter %lld outside [acknowledged %lld, proposed %llu] at %llu",
                 i + 1, c, acked, (unsigned long long)s->incr_proposed,
                 (unsigned long long)applied);
}

static void check_digest(struct sim *s, unsigned i, raft_index applied)
{
    if (applied >= s->cap_digests) {
        size_t cap = s->cap_digests ? s->cap_digests : 1024;
        while (cap <= applied) cap *= 2;
        s->digests = realloc(s->digests, cap * sizeof *s->digests);
        memset(s->digests + s->cap_digests, 0, (cap - s->cap_digests) * sizeof *s->digests);
        s->cap_digests = cap;
    }
    uint64_t d = store_digest(s->nodes[i].store) | 1; /* 0 means unset */
    if (s->digests[applied] == 0) s->digests[applied] = d;
    else if (s->digests[applied] != d)
        sim_fail(s, "node %u: digest %016llx at applied index %llu, another replica had %016llx",
                 i + 1, (unsigned long long)d, (unsigned long long)applied,
                 (unsigned long long)s->digests[applied]);
}

static void check_leaders(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct raft *r = node_raft(s, i);
        if (raft_state(r) != RAFT_LEADER) continue;
        raft_term t = raft_current_term(r);
        if (t > s->max_term) s->max_term = t;
        if (t >= s->cap_terms) {
            size_t cap = s->cap_terms ? s->cap_terms : 64;
            while (cap <= t) cap *= 2;
            s->term_leader = realloc(s->term_leader, cap * sizeof *s->term_leader);
            memset(s->term_leader + s->cap_terms, 0, (cap - s->cap_terms) * sizeof(raft_id));
            s->cap_terms = cap;
        }
        if (s->term_leader[t] == 0) s->term_leader[t] = i + 1;
        else if (s->term_leader[t] != i + 1)
            sim_fail(s, "nodes %llu and %u both led term %llu",
                     (unsigned long long)s->term_leader[t], i + 1, (unsigned long long)t);
    }
}

static void check_all(struct sim *s)
{
    check_leaders(s);
    for (unsigned i = 0; i < s->n && !s->failed; i++) {
        raft_index applied = raft_last_applied(node_raft(s, i));
        if (applied < s->nodes[i].applied) {
            sim_fail(s, "node %u: applied index went back from %llu to %llu", i + 1,
                     (unsigned long long)s->nodes[i].applied, (unsigned long long)applied);
            return;
        }
        if (applied == s->nodes[i].applied) continue;
        s->nodes[i].applied = applied;
        check_digest(s, i, applied);
        check_bank(s, i);
        check_counter(s, i, applied);
        check_list(s, i, applied, 0, "node");
    }
}

/* --------------------------------------------------------------------
 * Proposers (propose.c's protocol)
 * ------------------------------------------------------------------ */

static void batch_free_one(struct sbatch *b)
{
    buf_free(&b->body);
    free(b);
}

static struct sbatch *current_batch(struct proposer *p)
{
    if (p->current == NULL) p->current = calloc(1, sizeof *p->current);
    return p->current;
}

static void seal(struct proposer *p)
{
    struct sbatch *b = p->current;
    if (b == NULL) return;
    p->current = NULL;
    b->seq = ++p->next_seq;
    if (p->tail) p->tail->next = b;
    else p->head = b;
    p->tail = b;
}

/* The client process died: what it held is indeterminate. */
static void proposer_crash(struct sim *s, unsigned i)
{
    struct proposer *p = &s->props[i];
    seal(p);
    while (p->head) {
        struct sbatch *b = p->head;
        p->head = b->next;
        batch_free_one(b);
    }
    p->tail = NULL;
    p->incarnation++;
    p->origin = ((uint64_t)(i + 1) << 32) | p->incarnation;
    p->next_seq = 0;
    p->target_id = p->target_term = 0;
}

/* Records that the values and INCRs of one command (or batch) were
 * acknowledged, applied on a node whose next index is `index` at most. */
static void acknowledge(struct sim *s, const uint32_t *values, int n_values, int n_incr,
                        raft_index index)
{
    for (int v = 0; v < n_values; v++) {
        if (s->value_ack_index[values[v]]) continue;
        s->value_ack_index[values[v]] = index;
        s->value_ack_order[values[v]] = ++s->ack_order;
    }
    if (n_incr) {
        if (s->n_incr_acks == s->cap_incr_acks) {
            s->cap_incr_acks = s->cap_incr_acks ? 2 * s->cap_incr_acks : 256;
            s->incr_acks = realloc(s->incr_acks, s->cap_incr_acks * sizeof *s->incr_acks);
        }
        s->incr_acks[s->n_incr_acks].index = index;
        s->incr_acks[s->n_incr_acks++].count = n_incr;
    }
}

/* A command a client sent to the leader itself: repl_submit() into the
 * node's own batcher (propose.c); the reply comes when it is applied. */
struct direct {
    struct reply_slot slot;
    struct sim *sim;
    unsigned node;
    uint32_t values[2];
    int n_values, n_incr;
};

static void on_direct_reply(struct reply_slot *slot)
{
    struct direct *d = (struct direct *)slot;
    struct sim *s = d->sim;
    if (slot->reply.len > 0 && slot->reply.data[0] != '-') {
        acknowledge(s, d->values, d->n_values, d->n_incr,
                    raft_last_applied(node_raft(s, d->node)) + 1);
        s->acked_direct++;
    }
    buf_free(&slot->reply);
    free(d);
}

/* A batch a follower's client process forwarded to the leader
 * (repl_submit_forwarded, as PARLEY.FWD does). */
struct forwarded {
    struct reply_slot slot;
    struct sim *sim;
    unsigned proposer, leader;
    uint64_t origin, seq;
};

static void on_forwarded_reply(struct reply_slot *slot)
{
    struct forwarded *fw = (struct forwarded *)slot;
    struct sim *s = fw->sim;
    struct proposer *p = &s->props[fw->proposer];
    const char *dup = "-PARLEYDUP";
    bool applied = slot->reply.len > 0 &&
                   (slot->reply.data[0] == '*' ||
                    (slot->reply.len >= strlen(dup) && memcmp(slot->reply.data, dup, strlen(dup)) == 0));
    if (!applied && p->origin == fw->origin) p->target_id = p->target_term = 0; /* send again */
    if (applied && p->origin == fw->origin && !s->tearing_down) {
        struct sbatch *prev = NULL, *b = p->head;
        while (b && b->seq != fw->seq) prev = b, b = b->next;
        if (b) {
            acknowledge(s, b->values, b->n_values, b->n_incr,
                        raft_last_applied(node_raft(s, fw->leader)) + 1);
            if (prev) prev->next = b->next;
            else p->head = b->next;
            if (p->tail == b) p->tail = prev;
            batch_free_one(b);
            s->acked_batches++;
        }
    }
    buf_free(&slot->reply);
    free(fw);
}

static bool is_leader(struct sim *s, unsigned i)
{
    return usable(s, i) && raft_state(node_raft(s, i)) == RAFT_LEADER;
}

/* One client command, chosen by the PRNG, from a client of node i: on the
 * leader it goes into the node's own batcher; on a follower into the
 * batch its client process forwards. */
static void submit(struct sim *s, unsigned i, int argc, struct resp_arg *argv,
                   const uint32_t *values, int n_values, int n_incr)
{
    if (is_leader(s, i)) {
        struct direct *d = calloc(1, sizeof *d);
        d->sim = s;
        d->node = i;
        d->slot.owner = d;
        d->slot.on_ready = on_direct_reply;
        memcpy(d->values, values, (size_t)n_values * sizeof *values);
        d->n_values = n_values;
        d->n_incr = n_incr;
        repl_submit(s->nodes[i].fsm, &d->slot, 0, 2, argc, argv);
        return;
    }
    struct sbatch *b = current_batch(&s->props[i]);
    entry_write_command(&b->body, 0, 2, argc, argv);
    b->n++;
    for (int v = 0; v < n_values; v++) b->values[b->n_values++] = values[v];
    b->n_incr += n_incr;
}

static void client_command(struct sim *s, unsigned i)
{
    struct sbatch *b = s->props[i].current;
    if ((b && b->n >= MAX_BATCH_COMMANDS) || s->n_values + 2 >= MAX_VALUES) return;
    unsigned kind = rng_below(&s->rng, 100);
    char val[24], amt[24], k1[16], k2[16];
    uint32_t v[1];
    if (kind < 35) {
        v[0] = ++s->n_values;
        snprintf(val, sizeof val, "v%u", v[0]);
        struct resp_arg argv[3] = {{"RPUSH", 5}, {"list", 4}, {val, strlen(val)}};
        submit(s, i, 3, argv, v, 1, 0);
    } else if (kind < 55) {
        struct resp_arg argv[2] = {{"INCR", 4}, {"counter", 7}};
        s->incr_proposed++;
        submit(s, i, 2, argv, v, 0, 1);
    } else if (kind < 65) {
        snprintf(k1, sizeof k1, "reg%u", rng_below(&s->rng, 4));
        snprintf(val, sizeof val, "%u", rng_below(&s->rng, 1000));
        struct resp_arg argv[3] = {{"SET", 3}, {k1, strlen(k1)}, {val, strlen(val)}};
        submit(s, i, 3, argv, v, 0, 0);
    } else if (kind < 90) {
        /* A transfer, as EXEC sends MULTI DECRBY INCRBY EXEC. */
        unsigned from = rng_below(&s->rng, ACCOUNTS), to = rng_below(&s->rng, ACCOUNTS);
        snprintf(k1, sizeof k1, "acct%u", from);
        snprintf(k2, sizeof k2, "acct%u", to);
        snprintf(amt, sizeof amt, "%u", 1 + rng_below(&s->rng, 50));
        struct resp_arg argv[] = {
            {"__exec", 6}, {"7", 1},  {"0", 1},  {"0", 1},          {"2", 1},
            {"0", 1},      {"3", 1},  {"DECRBY", 6}, {k1, strlen(k1)}, {amt, strlen(amt)},
            {"0", 1},      {"3", 1},  {"INCRBY", 6}, {k2, strlen(k2)}, {amt, strlen(amt)},
        };
        submit(s, i, (int)(sizeof argv / sizeof argv[0]), argv, v, 0, 0);
    } else {
        /* A transaction mixing a push and an increment. */
        v[0] = ++s->n_values;
        snprintf(val, sizeof val, "v%u", v[0]);
        struct resp_arg argv[] = {
            {"__exec", 6}, {"9", 1}, {"0", 1}, {"0", 1},      {"2", 1},
            {"0", 1},      {"3", 1}, {"RPUSH", 5}, {"list", 4}, {val, strlen(val)},
            {"0", 1},      {"2", 1}, {"INCR", 4},  {"counter", 7},
        };
        s->incr_proposed++;
        submit(s, i, (int)(sizeof argv / sizeof argv[0]), argv, v, 1, 1);
    }
}

static struct sreq *req_new(struct sim *s, unsigned leader)
{
    struct sreq *q = calloc(1, sizeof *q);
    q->sim = s;
    q->leader = leader;
    q->next = s->reqs;
    if (s->reqs) s->reqs->prev = q;
    s->reqs = q;
    return q;
}

static void req_free(struct sreq *q)
{
    struct sim *s = q->sim;
    if (q->prev) q->prev->next = q->next;
    else s->reqs = q->next;
    if (q->next) q->next->prev = q->prev;
    free(q);
}

/* End of a tick: every client process seals its batch and, if it can
 * reach the leader its node knows, forwards its queued batches there (as
 * link.c does: all of them again, in order, when the leader or term
 * changed); then every node runs repl_flush(): propose.c announces a new
 * term, and a leader proposes one entry with its own and the forwarded
 * batches. */
static void flush(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct proposer *p = &s->props[i];
        seal(p);
        if (!usable(s, i) || p->head == NULL) continue;
        raft_id leader_id;
        const char *addr;
        raft_leader(node_raft(s, i), &leader_id, &addr);
        if (leader_id == 0) continue;
        unsigned l = (unsigned)leader_id - 1;
        /* The follower's link: needs the leader up and a connection. */
        if (l != i && (s->disconnected[i][l] || s->disconnected[l][i])) continue;
        if (!is_leader(s, l)) continue;
        uint64_t term = raft_current_term(node_raft(s, l));
        if (p->target_id != leader_id || p->target_term != term) {
            for (struct sbatch *b = p->head; b; b = b->next) b->sent = false;
            p->target_id = leader_id;
            p->target_term = term;
        }
        for (struct sbatch *b = p->head; b; b = b->next) {
            if (b->sent) continue;
            struct forwarded *fw = calloc(1, sizeof *fw);
            fw->sim = s;
            fw->proposer = i;
            fw->leader = l;
            fw->origin = p->origin;
            fw->seq = b->seq;
            fw->slot.owner = fw;
            fw->slot.on_ready = on_forwarded_reply;
            b->sent = true;
            repl_submit_forwarded(s->nodes[l].fsm, &fw->slot, p->origin, b->seq, b->n,
                                  b->body.data, b->body.len);
            if (p->target_id == 0) break; /* refused at once: try again later */
        }
    }
    for (unsigned i = 0; i < s->n; i++)
        if (usable(s, i)) repl_flush(s->nodes[i].fsm);
}

/* --------------------------------------------------------------------
 * Reads (a barrier, then the leader's own keyspace)
 * ------------------------------------------------------------------ */

static void on_barrier(struct raft_barrier *req, int status)
{
    struct sreq *q = req->data;
    struct sim *s = q->sim;
    if (status == 0 && !s->failed) {
        check_list(s, q->leader, raft_last_applied(node_raft(s, q->leader)),
                   q->read_ack_order ? q->read_ack_order : 0, "read on node");
        /* With no acknowledgement before the read, it only checks for
         * duplicates (ack_order_max 0 falls back to the applied index). */
        check_bank(s, q->leader);
        s->reads_ok++;
    }
    trace(s, "read on node %u: %s", q->leader + 1, status ? raft_strerror(status) : "ok");
    req_free(q);
}

static void start_read(struct sim *s)
{
    for (unsigned l = 0; l < s->n; l++) {
        if (!usable(s, l) || raft_state(node_raft(s, l)) != RAFT_LEADER) continue;
        struct sreq *q = req_new(s, l);
        q->read_ack_order = s->ack_order;
        q->barrier.data = q;
        int rv = raft_barrier(node_raft(s, l), &q->barrier, on_barrier);
        if (rv != 0) req_free(q);
        return;
    }
}

/* --------------------------------------------------------------------
 * Faults
 * ------------------------------------------------------------------ */

static void reconnect_all_of(struct sim *s, unsigned i)
{
    for (unsigned j = 0; j < s->n; j++) {
        if (j == i) continue;
        if (s->disconnected[i][j]) raft_fixture_reconnect(&s->f, i, j);
        if (s->disconnected[j][i]) raft_fixture_reconnect(&s->f, j, i);
        s->disconnected[i][j] = s->disconnected[j][i] = false;
    }
}

static void heal(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) reconnect_all_of(s, i);
    for (unsigned i = 0; i < s->n; i++)
        for (unsigned j = 0; j < s->n; j++) {
            if (i == j || !s->saturated[i][j]) continue;
            if (!raft_fixture_alive(&s->f, i) || !raft_fixture_alive(&s->f, j)) continue;
            raft_fixture_desaturate(&s->f, i, j);
            s->saturated[i][j] = false;
        }
}

static void kill_node(struct sim *s, unsigned i)
{
    if (!raft_fixture_alive(&s->f, i)) return;
    reconnect_all_of(s, i); /* the fixture asserts connected links */
    raft_fixture_kill(&s->f, i);
    for (unsigned j = 0; j < s->n; j++)
        if (j != i) s->saturated[i][j] = s->saturated[j][i] = true;
    if (rng_below(&s->rng, 2)) proposer_crash(s, i);
    s->kills++;
    trace(s, "kill node %u", i + 1);
}

static void revive_node(struct sim *s, unsigned i)
{
    if (raft_fixture_alive(&s->f, i)) return;
    reconnect_all_of(s, i);
    raft_fixture_revive(&s->f, i);
    for (unsigned j = 0; j < s->n; j++)
        if (j != i && raft_fixture_alive(&s->f, j)) s->saturated[i][j] = s->saturated[j][i] = false;
    trace(s, "revive node %u", i + 1);
}

/* Disk write failures. raft_fixture_io_fault() makes the next I/O calls
 * fail as they are submitted, and with libraft 0.22.1 an append that fails
 * that way frees its entries twice (a double free inside libraft, on a
 * follower receiving entries and on a leader's raft_barrier; found by this
 * test). So the fault is injected one level up: the node's append goes to
 * the fixture as usual, and its completion is reported as RAFT_IOERR, as
 * an fsync that fails after the write was queued would be. */
static struct sim *current_sim; /* the completion callback carries no context */


static void append_done(struct raft_io_append *req, int status)
{
    struct sim *s = current_sim;
    for (unsigned i = 0; i < s->n; i++)
        for (unsigned k = 0; k < MAX_APPENDS; k++) {
            struct wrapped_append *w = &s->appends[i][k];
            if (w->req != req) continue;
            raft_io_append_cb cb = w->cb;
            bool fail = w->fail;
            w->req = NULL;
            if (fail) trace(s, "disk write on node %u fails", i + 1);
            cb(req, fail && status == 0 ? RAFT_IOERR : status);
            return;
        }
    assert_true(false);
}

static int append_wrapper(struct raft_io *io, struct raft_io_append *req,
                          const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct sim *s = current_sim;
    unsigned i = 0;
    while (i < s->n && node_raft(s, i)->io != io) i++;
    assert_true(i < s->n);
    unsigned k = 0;
    while (k < MAX_APPENDS && s->appends[i][k].req != NULL) k++;
    assert_true(k < MAX_APPENDS);
    int rv = s->orig_append[i](io, req, entries, n, append_done);
    if (rv != 0) return rv;
    s->appends[i][k].req = req;
    s->appends[i][k].cb = cb;
    s->appends[i][k].fail = s->disk_faults[i] > 0;
    if (s->disk_faults[i] > 0) s->disk_faults[i]--;
    return 0;
}

/* The next 1-3 disk writes of node i fail (never on a majority at once). */
static void io_fault(struct sim *s, unsigned i)
{
    unsigned faulty = 0;
    for (unsigned j = 0; j < s->n; j++)
        if (j != i && s->disk_faults[j]) faulty++;
    if (!s->disk_faults_on || faulty + 1 > (s->n - 1) / 2) return;
    s->disk_faults[i] = 1 + rng_below(&s->rng, 3);
    s->io_faults++;
    trace(s, "the next %u disk writes of node %u fail", s->disk_faults[i], i + 1);
}

/* --------------------------------------------------------------------
 * One seed
 * ------------------------------------------------------------------ */

static void quiet_emit(struct raft_tracer *t, int type, const void *info)
{
    (void)t;
    (void)type;
    (void)info;
}

static void sim_setup(struct sim *s, uint64_t seed, bool verbose)
{
    memset(s, 0, sizeof *s);
    current_sim = s;
    s->disk_faults_on = getenv("SIM_DISK_FAULTS") != NULL;
    s->seed = seed;
    s->rng = seed * 0x2545f4914f6cdd1dull + 1;
    s->verbose = verbose;
    s->n = seed % 2 ? 3 : 5;
    s->quiet.version = 2;
    s->quiet.emit = quiet_emit;
    assert_int_equal(raft_fixture_init(&s->f), 0);
    for (unsigned i = 0; i < s->n; i++) {
        s->props[i].origin = ((uint64_t)(i + 1) << 32);
        s->nodes[i].store = store_new();
        /* The node's own batcher has an origin no client process uses. */
        s->nodes[i].fsm = repl_fsm_new(s->nodes[i].store, i + 1, ((uint64_t)(i + 1) << 32) | 0xffffffffu);
        assert_int_equal(raft_fixture_grow(&s->f, repl_fsm_raft(s->nodes[i].fsm)), 0);
        struct raft *r = node_raft(s, i);
        if (!getenv("SIM_RAFT_TRACE")) r->tracer = &s->quiet;
        /* Small enough for snapshots and installs to happen in every run.
         * A trailing window of 4 entries or fewer crashes libraft 0.22.1's
         * fixture (a segfault and leaks inside raft_fixture_step), so 8+. */
        raft_set_snapshot_threshold(r, 64 + rng_below(&s->rng, 16));
        raft_set_snapshot_trailing(r, 32 + rng_below(&s->rng, 8));
        raft_set_pre_vote(r, rng_below(&s->rng, 2));
        raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + rng_below(&s->rng, 1000));
        raft_fixture_set_network_latency(&s->f, i, 1 + rng_below(&s->rng, 30));
        raft_fixture_set_disk_latency(&s->f, i, 1 + rng_below(&s->rng, 20));
        s->orig_append[i] = r->io->append;
        r->io->append = append_wrapper;
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%u", 7000 + i + 1);
        struct repl_config cfg = {
            .node_id = i + 1,
            .announce_addr = addr,
            .election_timeout_ms = 1000,
            .heartbeat_ms = 100,
            .request_timeout_ms = 10000,
            .max_inflight_bytes = 64u << 20,
            .max_entry_bytes = 1u << 20,
            .max_bulk_len = 512ll << 20,
            .lease_reads = false,
        };
        repl_fsm_attach(s->nodes[i].fsm, r, &cfg);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&s->f, s->n, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&s->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&s->f), 0);

    /* The bank opens in the first batch of node 1's proposer. */
    struct resp_arg argv[3 + 2 * ACCOUNTS] = {{"MSET", 4}, {"bank:init", 9}, {"1", 1}};
    char keys[ACCOUNTS][16], start[16];
    snprintf(start, sizeof start, "%d", ACCOUNT_START);
    int argc = 3;
    for (int a = 0; a < ACCOUNTS; a++) {
        snprintf(keys[a], sizeof keys[a], "acct%d", a);
        argv[argc].ptr = keys[a];
        argv[argc++].len = strlen(keys[a]);
        argv[argc].ptr = start;
        argv[argc++].len = strlen(start);
    }
    submit(s, 0, argc, argv, NULL, 0, 0);
    seal(&s->props[0]);
}

/* One step: what the PRNG chooses. */
static void sim_step(struct sim *s)
{
    unsigned what = rng_below(&s->rng, 1000);
    unsigned i = rng_below(&s->rng, s->n), j = rng_below(&s->rng, s->n);
    if (what < 550) {
        if (s->verbose)
            for (unsigned k = 0; k < s->n; k++) {
                struct raft *r = node_raft(s, k);
                trace(s, "  node %u: state %d term %llu applied %llu commit %llu alive %d "
                         "snap sent %u recv %u",
                      k + 1, raft_state(r), (unsigned long long)raft_current_term(r),
                      (unsigned long long)raft_last_applied(r),
                      (unsigned long long)raft_commit_index(r), raft_fixture_alive(&s->f, k),
                      raft_fixture_n_send(&s->f, k, RAFT_INSTALL_SNAPSHOT),
                      raft_fixture_n_recv(&s->f, k, RAFT_INSTALL_SNAPSHOT));
            }
        struct raft_fixture_event *ev = raft_fixture_step(&s->f);
        trace(s, "step: node %u %s", raft_fixture_event_server_index(ev) + 1,
              raft_fixture_event_type(ev) == RAFT_FIXTURE_TICK      ? "tick"
              : raft_fixture_event_type(ev) == RAFT_FIXTURE_NETWORK ? "network"
              : raft_fixture_event_type(ev) == RAFT_FIXTURE_DISK    ? "disk"
                                                                     : "work");
    } else if (what < 800) {
        unsigned k = 1 + rng_below(&s->rng, 3);
        while (k--) client_command(s, i);
    } else if (what < 900) {
        flush(s);
    } else if (what < 915) {
        start_read(s);
    } else if (what < 930) {
        if (i == j) return;
        if (s->disconnected[i][j]) raft_fixture_reconnect(&s->f, i, j);
        else raft_fixture_disconnect(&s->f, i, j);
        s->disconnected[i][j] = !s->disconnected[i][j];
        trace(s, "link %u->%u %s", i + 1, j + 1, s->disconnected[i][j] ? "cut" : "restored");
    } else if (what < 945) {
        if (i == j || s->disconnected[i][j] || !raft_fixture_alive(&s->f, i) ||
            !raft_fixture_alive(&s->f, j))
            return;
        if (s->saturated[i][j]) raft_fixture_desaturate(&s->f, i, j);
        else raft_fixture_saturate(&s->f, i, j);
        s->saturated[i][j] = !s->saturated[i][j];
        trace(s, "messages %u->%u %s", i + 1, j + 1, s->saturated[i][j] ? "dropped" : "delivered");
    } else if (what < 955) {
        raft_fixture_set_network_latency(&s->f, i, 1 + rng_below(&s->rng, 120));
        unsigned disk_ms = 1 + rng_below(&s->rng, 60);
        /* Only between writes: the fixture completes appends by time, so a
         * lower latency would finish a later write first, which no disk
         * does and libraft 0.22's follower does not expect (its count of
         * entries being persisted wraps around and it never campaigns
         * again). */
        bool writing = false;
        for (unsigned k = 0; k < MAX_APPENDS; k++) writing |= s->appends[j][k].req != NULL;
        if (!writing) raft_fixture_set_disk_latency(&s->f, j, disk_ms);
    } else if (what < 962) {
        kill_node(s, i);
    } else if (what < 975) {
        revive_node(s, i);
    } else if (what < 979) {
        io_fault(s, i);
    } else if (what < 983) {
        proposer_crash(s, i);
        trace(s, "proposer of node %u restarts", i + 1);
    } else if (what < 990) {
        raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + rng_below(&s->rng, 1000));
    } else {
        heal(s);
        trace(s, "heal");
    }
}

static bool all_converged(struct sim *s)
{
    raft_index target = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (usable(s, i) && raft_commit_index(node_raft(s, i)) > target)
            target = raft_commit_index(node_raft(s, i));
    for (unsigned i = 0; i < s->n; i++)
        if (usable(s, i) && raft_last_applied(node_raft(s, i)) < target) return false;
    return true;
}

/* Heals everything, lets the cluster settle, and requires one digest. */
static void sim_finish(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) revive_node(s, i);
    heal(s);
    /* Up to 90 s of simulated time: a leader waits 30 s (libraft's install
     * snapshot timeout) before it sends again a snapshot that was lost. */
    raft_time deadline = raft_fixture_time(&s->f) + 90000;
    for (unsigned k = 0; k < 400000 && !s->failed && raft_fixture_time(&s->f) < deadline; k++) {
        raft_fixture_step(&s->f);
        if (k % 16 == 0) flush(s);
        check_all(s);
        if (k > 2000 && k % 64 == 0 && all_converged(s)) break;
    }
    if (s->verbose)
        for (unsigned i = 0; i < s->n; i++) {
            struct raft *r = node_raft(s, i);
            trace(s, "end: node %u state %d term %llu applied %llu commit %llu last %llu "
                     "sent ae %u is %u, received ae %u is %u",
                  i + 1, raft_state(r), (unsigned long long)raft_current_term(r),
                  (unsigned long long)raft_last_applied(r), (unsigned long long)raft_commit_index(r),
                  (unsigned long long)raft_last_index(r),
                  raft_fixture_n_send(&s->f, i, RAFT_APPEND_ENTRIES),
                  raft_fixture_n_send(&s->f, i, RAFT_INSTALL_SNAPSHOT),
                  raft_fixture_n_recv(&s->f, i, RAFT_APPEND_ENTRIES),
                  raft_fixture_n_recv(&s->f, i, RAFT_INSTALL_SNAPSHOT));
        }
    if (s->failed) return;
    uint64_t d0 = 0;
    raft_index a0 = 0;
    for (unsigned i = 0; i < s->n; i++) {
        if (!usable(s, i)) continue;
        raft_index a = raft_last_applied(node_raft(s, i));
        uint64_t d = store_digest(s->nodes[i].store);
        if (a0 == 0) a0 = a, d0 = d;
        else if (a != a0 || d != d0)
            sim_fail(s, "after healing: node %u at %llu digest %016llx, another at %llu %016llx",
                     i + 1, (unsigned long long)a, (unsigned long long)d, (unsigned long long)a0,
                     (unsigned long long)d0);
    }
}

static void sim_teardown(struct sim *s)
{
    s->tearing_down = true;
    raft_fixture_close(&s->f);
    while (s->reqs) req_free(s->reqs);
    for (unsigned i = 0; i < s->n; i++) repl_fsm_free(s->nodes[i].fsm); /* answers slots */
    for (unsigned i = 0; i < s->n; i++) {
        proposer_crash(s, i);
        store_free(s->nodes[i].store);
    }
    free(s->digests);
    free(s->term_leader);
    free(s->incr_acks);
    buf_free(&s->scratch);
}

/* Runs one seed; returns false (with the reason printed) if it failed. */
static bool run_seed(uint64_t seed, bool verbose, bool summary)
{
    struct sim *s = malloc(sizeof *s);
    sim_setup(s, seed, verbose);
    for (s->step = 1; s->step <= STEPS_PER_SEED && !s->failed; s->step++) {
        sim_step(s);
        check_all(s);
    }
    if (!s->failed) {
        s->step = STEPS_PER_SEED + 1; /* the healing phase */
        sim_finish(s);
    }
    bool ok = !s->failed;
    uint64_t dups = 0, installs = 0, entries = 0;
    for (unsigned i = 0; i < s->n; i++) {
        struct repl_info info;
        repl_get_info(s->nodes[i].fsm, &info);
        entries += info.entries_proposed;
        dups += repl_fsm_duplicates_skipped(s->nodes[i].fsm);
        installs += raft_fixture_n_recv(&s->f, i, RAFT_INSTALL_SNAPSHOT);
    }
    if (!ok) {
        printf("SIM FAILED seed %llu (%u nodes) at step %u: %s\n"
               "replay: SIM_SEED=%llu SIM_VERBOSE=1 build/unit/test_sim\n",
               (unsigned long long)seed, s->n, s->step, s->why, (unsigned long long)seed);
    } else if (summary) {
        printf("seed %llu: %u nodes, applied %llu, digest %016llx, terms %llu, values %u, "
               "entries proposed %llu, forwarded batches acked %llu, direct commands acked %llu, "
               "duplicates skipped %llu, snapshots installed %llu, reads %llu, kills %llu, "
               "disk faults %llu\n",
               (unsigned long long)seed, s->n, (unsigned long long)s->nodes[0].applied,
               (unsigned long long)store_digest(s->nodes[0].store),
               (unsigned long long)s->max_term, s->n_values,
               (unsigned long long)entries, (unsigned long long)s->acked_batches,
               (unsigned long long)s->acked_direct, (unsigned long long)dups,
               (unsigned long long)installs, (unsigned long long)s->reads_ok, (unsigned long long)s->kills,
               (unsigned long long)s->io_faults);
    }
    sim_teardown(s);
    free(s);
    return ok;
}

/* Runs seeds [first, last] in a child process. Returns how many failed an
 * invariant (each prints its seed), or -1 if the child crashed (a signal:
 * with libraft 0.22.1 a few seeds crash inside raft_fixture_step, see the
 * README). One child per chunk, not per seed: forking an ASan process is
 * slow. */
static int run_seeds_isolated(uint64_t first, uint64_t last, bool verbose)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE};
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
        int failed = 0;
        for (uint64_t seed = first; seed <= last; seed++)
            if (!run_seed(seed, verbose, verbose)) failed++;
        fflush(stdout);
        exit(failed > 100 ? 100 : failed);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) <= 100) return WEXITSTATUS(status);
    if (first == last)
        printf("SIM CRASHED seed %llu (%s %d) inside the fixture; "
               "replay: SIM_SEED=%llu build/unit/test_sim\n",
               (unsigned long long)first, WIFSIGNALED(status) ? "signal" : "exit status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
               (unsigned long long)first);
    return -1;
}

#define SEEDS_PER_CHILD 25

static void test_seeds(void **state)
{
    (void)state;
    log_set_level(LOG_WARNING);
    const char *one = getenv("SIM_SEED");
    const char *many = getenv("SIM_SEEDS");
    bool verbose = getenv("SIM_VERBOSE") != NULL;
    if (one) {
        assert_true(run_seed(strtoull(one, NULL, 10), verbose, true));
        return;
    }
    unsigned long n = many ? strtoul(many, NULL, 10) : DEFAULT_SEEDS;
    unsigned failures = 0, crashes = 0;
    for (unsigned long first = 1; first <= n; first += SEEDS_PER_CHILD) {
        unsigned long last = first + SEEDS_PER_CHILD - 1 < n ? first + SEEDS_PER_CHILD - 1 : n;
        int rc = run_seeds_isolated(first, last, verbose);
        if (rc >= 0) {
            failures += (unsigned)rc;
            continue;
        }
        /* A crash: run the chunk again one seed per child to name it. */
        for (unsigned long seed = first; seed <= last; seed++) {
            rc = run_seeds_isolated(seed, seed, verbose);
            if (rc > 0) failures++;
            if (rc < 0) crashes++;
        }
    }
    printf("simulation: %lu seeds, %u invariant failures, %u crashed inside libraft\n", n,
           failures, crashes);
    assert_int_equal(failures, 0);
    /* A crash is libraft's (0.22.1's fixture), not an invariant of ours; it
     * is reported above, and tolerated only while rare. */
    assert_true(crashes * 50 <= n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
