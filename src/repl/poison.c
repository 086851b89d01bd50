/* repl/poison.c — surviving a poisoned entry.
 *
 * Apply is total (apply.c). If a bug still makes a command crash while it
 * is applied, every node that applies that entry crashes at the same log
 * index, and again after every restart, since the entry stays in the log:
 * a poisoned entry. This file gives the operator what is needed to get the
 * cluster back (README, "Poisoned entries"):
 *
 * The last words. Apply keeps a record of what it runs (apply_record: the
 * entry's index, the command's position in it, pointers to its arguments;
 * a few stores per command, nothing formatted). A handler for the fatal
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, and SIGABRT, which CHECK() and
 * abort() raise) formats that record with async-signal-safe calls only,
 * write(2)s it and a backtrace to the log, and re-raises the signal with
 * its default action, so the process dies as it would have (core included):
 *
 *   1234:M # CRASH: signal 11 (SIGSEGV) while applying log entry 57,
 *   command 1 of the entry: PARLEY.TEST "crash-apply" (2 arguments). ...
 *
 * apply-skip-entry <index>. A start-up option (and config-file directive)
 * every node must be given: this node does not run the commands of that
 * one entry (each is answered with an error and logged at WARNING; only
 * the leader and member records repl/ keeps, which a cluster needs to find
 * its leader, still apply). The entry stays in the log and is skipped
 * on every replay. Once running, the node records in the log that it
 * skips that entry (__skipped <node id> <index>), so every replica's
 * RAFT INFO shows which node skipped which index (apply_skipped), and
 * the record survives in snapshots: nothing is skipped silently. Nodes
 * must agree: a node that applies the entry and one that skips it no longer
 * hold the same data, which the divergence checks then report. */
#include <execinfo.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/log.h"
#include "repl/internal.h"

struct apply_record apply_record;

/* --------------------------------------------------------------------
 * Describing a command, async-signal-safely
 * ------------------------------------------------------------------ */

/* Bounded text: appends never overflow, they stop at the end. */
struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && t->len + 1 < t->cap; i++) t->p[t->len++] = s[i];
    t->p[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_u64(struct text *t, uint64_t v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(t, digits + sizeof digits - n, n);
}

/* At most `max` bytes of an argument, printable ASCII as is, the rest as
 * \xNN, quotes and backslashes escaped. */
static void put_arg(struct text *t, const struct resp_arg *a, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = a->len < max ? a->len : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a->ptr[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(t, esc, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            put(t, (const char *)&c, 1);
        } else {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put(t, esc, 4);
        }
    }
    if (a->len > max) put_str(t, "...");
}

#define DESCRIBE_ARGS 4      /* the name and three arguments */
#define DESCRIBE_ARG_BYTES 64

/* NAME "arg1" "arg2" "arg3" ... (N arguments) */
static void describe(struct text *t, int argc, const struct resp_arg *argv)
{
    for (int i = 0; i < argc && i < DESCRIBE_ARGS; i++) {
        if (i) put_str(t, " \"");
        put_arg(t, &argv[i], DESCRIBE_ARG_BYTES);
        if (i) put_str(t, "\"");
    }
    if (argc > DESCRIBE_ARGS) put_str(t, " ...");
    put_str(t, " (");
    put_u64(t, (uint64_t)argc);
    put_str(t, argc == 1 ? " argument)" : " arguments)");
}

/* --------------------------------------------------------------------
 * The fatal-signal report
 * ------------------------------------------------------------------ */

static const struct {
    int sig;
    const char *name;
} fatal_signals[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGFPE, "SIGFPE"},
    {SIGILL, "SIGILL"},   {SIGABRT, "SIGABRT"},
};
#define N_FATAL (sizeof fatal_signals / sizeof *fatal_signals)
#define BACKTRACE_FRAMES 64

static void on_fatal_signal(int sig)
{
    char line[1024];
    struct text t = {line, 0, sizeof line};
    const char *name = "?";
    for (size_t i = 0; i < N_FATAL; i++)
        if (fatal_signals[i].sig == sig) name = fatal_signals[i].name;
    put_u64(&t, (uint64_t)getpid());
    put_str(&t, ":M # CRASH: signal ");
    put_u64(&t, (uint64_t)sig);
    put_str(&t, " (");
    put_str(&t, name);
    put_str(&t, ")");
    uint64_t index = apply_record.index;
    const struct resp_arg *argv = apply_record.argv;
    int argc = apply_record.argc;
    if (index != 0) {
        put_str(&t, " while applying log entry ");
        put_u64(&t, index);
        if (argv != NULL && argc > 0) {
            put_str(&t, ", command ");
            put_u64(&t, apply_record.command);
            put_str(&t, " of the entry: ");
            describe(&t, argc, argv);
        }
        put_str(&t, ". If the node crashes at the same entry again after a restart, the entry "
                    "is poisoned: start every node with --apply-skip-entry ");
        put_u64(&t, index);
        put_str(&t, " (see 'Poisoned entries' in the README)");
    } else {
        put_str(&t, ", not while applying a log entry");
    }
    put_str(&t, "\n");
    int fd = log_fd();
    ssize_t ignored = write(fd, line, t.len);
    (void)ignored;
    void *frames[BACKTRACE_FRAMES];
    int n = backtrace(frames, BACKTRACE_FRAMES);
    backtrace_symbols_fd(frames, n, fd);
    /* SA_RESETHAND made the action the default again: die of the signal. */
    raise(sig);
}

void repl_crash_report_install(void)
{
    /* Handled on a stack of its own: a stack overflow is a SIGSEGV too. */
    static char alt_stack[64 * 1024];
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    /* backtrace() loads libgcc on its first call: not in the handler. */
    void *frame;
    backtrace(&frame, 1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL; i++) sigaction(fatal_signals[i].sig, &sa, NULL);
}

/* --------------------------------------------------------------------
 * apply-skip-entry
 * ------------------------------------------------------------------ */

bool poison_skips_entry(struct repl *r)
{
    return r->cfg.apply_skip_index != 0 && r->machine.applying_index == r->cfg.apply_skip_index;
}

void poison_skip_command(struct repl *r, uint32_t command, int argc, const struct resp_arg *argv,
                         struct buf *dest)
{
    char what[512];
    struct text t = {what, 0, sizeof what};
    describe(&t, argc, argv);
    log_warn("SKIPPED command %" PRIu32 " of log entry %" PRIu64 " (apply-skip-entry): %s; "
             "not applied on this node",
             command, r->machine.applying_index, what);
    buf_printf(dest, "-ERR this node skips log entry %" PRIu64
                     " (apply-skip-entry): the command was not executed\r\n",
               r->machine.applying_index);
}

static bool skip_recorded(struct repl *r, uint64_t node, uint64_t index)
{
    for (unsigned i = 0; i < r->machine.n_skipped; i++)
        if (r->machine.skipped[i].node == node && r->machine.skipped[i].index == index) return true;
    return false;
}

/* Housekeeping: until the log says that this node skips its entry, propose
 * the record (a leader once it leads for good, a follower through its
 * link); again if the proposal timed out. */
void poison_tick(struct repl *r)
{
    uint64_t index = r->cfg.apply_skip_index;
    if (index == 0 || !r->node.raft_started || r->node.stopping ||
        skip_recorded(r, r->cfg.node_id, index))
        return;
    if (r->machine.skip_seq && propose_find_pending(r, r->machine.skip_seq)) return;
    bool leader_ready = node_is_leader(r) && r->lease.ready_term == raft_current_term(r->raft);
    bool follower_linked = !node_is_leader(r) && r->machine.announced_node != 0 &&
                           r->lease.member_sent_term == r->machine.announced_term;
    if (!leader_ready && !follower_linked) return;
    char id[24], at[24];
    struct resp_arg argv[3] = {
        {SKIPPED_CMD, sizeof SKIPPED_CMD - 1},
        {id, (size_t)snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id)},
        {at, (size_t)snprintf(at, sizeof at, "%" PRIu64, index)},
    };
    r->machine.skip_seq = propose_internal(r, 3, argv);
}

/* __skipped <node id> <index>: kept, oldest dropped beyond SKIPPED_MAX
 * (the same on every replica: it depends only on the log). */
void poison_apply_skipped(struct repl *r, int argc, const struct resp_arg *argv)
{
    if (argc != 3) return;
    uint64_t node = repl_arg_u64(&argv[1]), index = repl_arg_u64(&argv[2]);
    log_warn("Node %" PRIu64 " skips the commands of log entry %" PRIu64
             " (apply-skip-entry), recorded at log index %" PRIu64,
             node, index, r->machine.applying_index);
    if (skip_recorded(r, node, index)) return;
    if (r->machine.n_skipped == SKIPPED_MAX) {
        memmove(r->machine.skipped, r->machine.skipped + 1, (SKIPPED_MAX - 1) * sizeof *r->machine.skipped);
        r->machine.n_skipped--;
    }
    r->machine.skipped[r->machine.n_skipped].node = node;
    r->machine.skipped[r->machine.n_skipped].index = index;
    r->machine.n_skipped++;
    CHECK(r->machine.n_skipped <= SKIPPED_MAX);
}

void poison_encode(struct repl *r, struct buf *aux)
{
    buf_append_u32(aux, r->machine.n_skipped);
    for (unsigned i = 0; i < r->machine.n_skipped; i++) {
        buf_append_u64(aux, r->machine.skipped[i].node);
        buf_append_u64(aux, r->machine.skipped[i].index);
    }
}

int poison_decode(struct reader *rd, struct skip_record *out, unsigned *n)
{
    uint32_t count;
    if (reader_u32(rd, &count) || count > SKIPPED_MAX) return -1;
    for (uint32_t i = 0; i < count; i++)
        if (reader_u64(rd, &out[i].node) || reader_u64(rd, &out[i].index)) return -1;
    *n = count;
    return 0;
}

const char *poison_skipped_text(struct repl *r)
{
    struct text t = {r->machine.skipped_text, 0, sizeof r->machine.skipped_text};
    r->machine.skipped_text[0] = '\0';
    for (unsigned i = 0; i < r->machine.n_skipped; i++) {
        if (i) put_str(&t, ",");
        put_u64(&t, r->machine.skipped[i].node);
        put_str(&t, "@");
        put_u64(&t, r->machine.skipped[i].index);
    }
    return r->machine.skipped_text;
}
