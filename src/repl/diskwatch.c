/* repl/diskwatch.c — whether this node's Raft log reaches its disk.
 *
 * What libraft 0.22.1 does when the data directory fills up (seen on a
 * tmpfs): its disk backend keeps two log segments allocated ahead; once
 * it cannot allocate the next one (ENOSPC from posix_fallocate) it tries
 * again every few seconds, without a word, and a leader's raft_apply
 * answers RAFT_NOSPACE (no segment reserved: the entry is refused before
 * it enters the log). An entry the backend took but cannot write waits in
 * memory and is retried for as long as it takes; nothing is lost and
 * nothing is written twice, but nothing is said either: propose.c took
 * RAFT_NOSPACE for a lost leadership, and every write waited for its
 * client's time-out while PING answered.
 *
 * RAFT_NOSPACE is not a full disk by itself: libraft's leader refuses
 * entries while fewer than a majority of voters (itself included) report
 * 4 MB of log space reserved, which also happens under heavy writes, when
 * the segments the voters prepare ahead cannot keep up (seen in a 3-node
 * cluster on one disk at 1 KB values, -P 16). propose.c then holds the
 * entry and offers it again each tick; diskwatch_nospace counts the wait,
 * logs it once it lasts, and when this node's own reserve is short, probes
 * the data directory.
 *
 * So the error is recorded (time, errno text) on either sign:
 * - a probe fails while raft_apply refuses entries for want of space and
 *   this node's own reserve is short;
 * - an append has waited DISK_STALL_MS: every log append passes through a
 *   wrapper here that notes when it started and finished, and then the
 *   data directory is probed on libuv's thread pool the way libraft uses
 *   it (a file of one segment's size allocated with posix_fallocate, a
 *   block written and flushed with fdatasync, the file removed). A slow
 *   disk passes the probe and is not an error; a failed probe is.
 * While it holds, the log has said so, new commands are refused with
 * MISCONF before they are proposed (server/dispatch.c and the forwarded
 * batches in propose.c, through repl_disk_refusal), and the commands of
 * this node waiting for the log are answered at the end of the loop
 * iteration (propose_refuse_all): as not executed if libraft never took
 * them, as "may or may not have been executed" if it holds their entry (it
 * writes it once it can, or a node with room commits it). Reads the read
 * lease serves go on.
 *
 * The error clears, and the log says writes resumed, when an append
 * completes or a probe passes with no append waiting, once libraft has
 * disk reserved again (its capacity). A failed append libraft reports
 * (0.22.1 does so only in corner cases) counts like a failed probe.
 *
 * A leader in error with other voters hands leadership over (raft_transfer)
 * so that the cluster takes writes again through a node that can write. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

/* An append unfinished for this long has the directory probed. */
#define DISK_STALL_MS 500
/* At most one probe this often while appends wait or the error holds. */
#define DISK_PROBE_INTERVAL_MS 1000
/* A wait for log space this long is logged. */
#define NOSPACE_LOG_MS 1000
/* libraft's open segment size (uv.c's default, 8 MB): what it must be able
 * to allocate to go on writing. */
#define DISK_PROBE_BYTES (8u * 1024 * 1024)
#define DISK_PROBE_NAME "disk-probe.tmp"

/* One append on its way to libraft's disk backend. */
struct disk_append {
    struct raft_io_append inner;   /* what the backend completes */
    struct raft_io_append *outer;  /* libraft's own request */
    raft_io_append_cb cb;          /* libraft's callback */
    struct repl *r;
    int64_t start_us;              /* monotonic */
    struct disk_append *prev, *next;
};

/* A probe on the thread pool; outlives the repl if Raft closes first. */
struct disk_probe {
    uv_work_t work;
    struct repl *r;                /* NULL once orphaned (diskwatch_close) */
    char path[4200];
    int err;                       /* errno of the failed step, 0: passed */
    const char *step;              /* "create", "allocate", "write", "flush" */
};

/* Records the error; the commands waiting for the log are answered at the
 * end of this loop iteration (propose_tick), not from inside whatever
 * found the error (propose_entry may be walking the pending list). With
 * `stuck`, libraft holds entries it could not write: their commands are
 * answered too, as ones that may or may not be executed. */
static void set_error(struct repl *r, int err, const char *reason, const char *how, bool stuck)
{
    struct repl_disk *d = &r->disk;
    d->errors_total++;
    d->last_errno = err;
    if (stuck) d->refuse_sent = true;
    if (d->error) return;
    d->error = true;
    d->since_ms = clock_wall_ms();
    snprintf(d->reason, sizeof d->reason, "%s", reason);
    log_warn("Cannot write the Raft log in %s: %s (%s). Write commands are refused with MISCONF "
             "until the disk takes writes again, and so are the commands of this node that were "
             "waiting for the log (those libraft already holds as \"may or may not have been "
             "executed\": it writes them once it can). Reads go on. Free space in the data "
             "directory.",
             r->node.dir, d->reason, how);
}

static void clear_error(struct repl *r, const char *how)
{
    struct repl_disk *d = &r->disk;
    if (!d->error) return;
    int64_t secs = (clock_wall_ms() - d->since_ms) / 1000;
    log_warn("Writes to the Raft log in %s resumed (%s) after %" PRId64 " s of \"%s\"; write "
             "commands are accepted again", r->node.dir, how, secs, d->reason);
    d->error = false;
    d->refuse_sent = false;
    d->reason[0] = '\0';
}

/* Whether libraft has disk reserved for new entries again (its capacity
 * check, which made raft_apply answer RAFT_NOSPACE, passes). */
static bool capacity_ok(struct repl *r)
{
    return r->raft->capacity_threshold == 0 || r->node.io.capacity >= r->raft->capacity_threshold;
}

static void on_append_done(struct raft_io_append *inner, int status)
{
    struct disk_append *a = inner->data;
    struct repl *r = a->r;
    struct repl_disk *d = &r->disk;
    if (a->prev) a->prev->next = a->next;
    else d->head = a->next;
    if (a->next) a->next->prev = a->prev;
    else d->tail = a->prev;
    CHECK(d->outstanding > 0);
    d->outstanding--;
    struct raft_io_append *outer = a->outer;
    raft_io_append_cb cb = a->cb;
    int64_t took_us = clock_mono_us() - a->start_us;
    free(a);
    if (status == 0) {
        histogram_observe(&d->append_seconds, took_us);
        if (capacity_ok(r)) clear_error(r, "a log write completed");
    } else if (status != RAFT_CANCELED && !r->node.stopping) {
        char why[sizeof d->reason];
        snprintf(why, sizeof why, "%s", raft_strerror(status));
        set_error(r, 0, why, "libraft reported a failed log write", true);
    }
    cb(outer, status);
}

static int wrapped_append(struct raft_io *io, struct raft_io_append *req,
                          const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    struct repl_disk *d = &r->disk;
    struct disk_append *a = xcalloc(1, sizeof *a);
    a->inner.data = a;
    a->outer = req;
    a->cb = cb;
    a->r = r;
    a->start_us = clock_mono_us();
    req->cb = cb; /* as the backend would have set it */
    int rv = d->append(io, &a->inner, entries, n, on_append_done);
    if (rv != 0) {
        free(a);
        return rv;
    }
    a->prev = d->tail;
    if (d->tail) d->tail->next = a;
    else d->head = a;
    d->tail = a;
    d->outstanding++;
    return 0;
}

void diskwatch_install(struct repl *r)
{
    CHECK(r->disk.append == NULL); /* once, before raft_init */
    r->disk.append = r->node.io.append;
    r->node.io.append = wrapped_append;
}

/* The probe, on the thread pool: what libraft needs to go on writing. */
static void probe_work(uv_work_t *w)
{
    struct disk_probe *p = w->data;
    p->err = 0;
    p->step = "create";
    int fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        p->err = errno;
        return;
    }
    p->step = "allocate";
    int rv = fallocate(fd, 0, 0, DISK_PROBE_BYTES) == 0 ? 0 : errno;
    if (rv != 0 && rv != EOPNOTSUPP && rv != EINVAL) p->err = rv;
    if (p->err == 0) {
        static const char block[4096];
        p->step = "write";
        if (pwrite(fd, block, sizeof block, 0) != (ssize_t)sizeof block) p->err = errno ? errno : EIO;
    }
    if (p->err == 0) {
        p->step = "flush";
        if (fdatasync(fd) != 0) p->err = errno;
    }
    close(fd);
    unlink(p->path);
}

/* Whether an append has waited DISK_STALL_MS or more. */
static bool append_stalled(struct repl *r, int64_t now_us)
{
    return r->disk.head && now_us - r->disk.head->start_us >= (int64_t)DISK_STALL_MS * 1000;
}

static void probe_done(uv_work_t *w, int status)
{
    struct disk_probe *p = w->data;
    struct repl *r = p->r;
    if (r == NULL) { /* Raft closed meanwhile */
        free(p);
        return;
    }
    struct repl_disk *d = &r->disk;
    d->probe = NULL;
    int64_t now = clock_mono_us();
    d->next_probe_us = now + (int64_t)DISK_PROBE_INTERVAL_MS * 1000;
    if (status == 0 && p->err != 0) {
        /* Only a wait explains a failed probe as the log's trouble. */
        if (d->error || d->head || d->nospace_since_us) {
            char how[96];
            snprintf(how, sizeof how, "a log write has waited %" PRId64 " ms; a probe failed to %s a file",
                     d->head ? (now - d->head->start_us) / 1000 : 0, p->step);
            set_error(r, p->err, strerror(p->err), how, true);
        }
    } else if (status == 0 && d->error && !append_stalled(r, now) && capacity_ok(r)) {
        clear_error(r, "the data directory took a probe write");
    }
    free(p);
}

static void on_transferred(struct raft_transfer *req)
{
    struct repl *r = req->data;
    r->disk.transferring = false;
    raft_id leader = 0;
    const char *addr;
    raft_leader(r->raft, &leader, &addr);
    if (leader != 0 && leader != r->cfg.node_id)
        log_warn("Leadership handed over to node %" PRIu64 " (this node cannot write its log)",
                 (uint64_t)leader);
}

/* A leader that cannot write its log hands leadership to a voter that can
 * (libraft picks the most up-to-date), so that the cluster takes writes
 * again; tried again every DISK_PROBE_INTERVAL_MS while it still leads. */
static void maybe_hand_over(struct repl *r, int64_t now)
{
    struct repl_disk *d = &r->disk;
    if (!d->error || d->transferring || !node_is_leader(r) || now < d->next_transfer_us) return;
    if (raft_transferee(r->raft) != 0) return; /* RAFT TRANSFER or a stop is at it */
    const struct raft_configuration *c = &r->raft->configuration;
    bool other_voter = false;
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].role == RAFT_VOTER && c->servers[i].id != r->cfg.node_id) other_voter = true;
    if (!other_voter) return;
    d->next_transfer_us = now + (int64_t)DISK_PROBE_INTERVAL_MS * 1000;
    d->transfer.data = r;
    if (raft_transfer(r->raft, &d->transfer, 0, on_transferred) == 0) {
        d->transferring = true;
        log_warn("Handing leadership over: this node cannot write its log (%s)", d->reason);
    }
}

/* Whether this node's own log space reserve is short while libraft refuses
 * entries for want of space. */
static bool own_space_short(struct repl *r)
{
    return r->disk.nospace_since_us != 0 && !capacity_ok(r);
}

static void maybe_probe(struct repl *r, int64_t now)
{
    struct repl_disk *d = &r->disk;
    if (d->probe || now < d->next_probe_us) return;
    if (!d->error && !append_stalled(r, now) && !own_space_short(r)) return;
    struct disk_probe *p = xcalloc(1, sizeof *p);
    p->work.data = p;
    p->r = r;
    snprintf(p->path, sizeof p->path, "%s/%s", r->node.dir, DISK_PROBE_NAME);
    if (uv_queue_work(r->loop, &p->work, probe_work, probe_done) != 0) {
        free(p);
        return;
    }
    d->probe = p;
}

void diskwatch_tick(struct repl *r)
{
    struct repl_disk *d = &r->disk;
    if (!r->node.raft_started || r->node.stopping) return;
    int64_t now = clock_mono_us();
    maybe_hand_over(r, now);
    if (d->nospace_since_us && !d->nospace_logged && !d->error &&
        now - d->nospace_since_us >= (int64_t)NOSPACE_LOG_MS * 1000) {
        d->nospace_logged = true;
        log_warn("libraft has refused new log entries for %" PRId64 " ms: fewer than a majority "
                 "of voters have %u KB of log space reserved (this node: %u KB; log segments "
                 "are prepared ahead on each node). Writes wait until it takes them.",
                 (now - d->nospace_since_us) / 1000, (unsigned)r->raft->capacity_threshold,
                 (unsigned)r->node.io.capacity);
    }
    maybe_probe(r, now);
}

void diskwatch_nospace(struct repl *r)
{
    struct repl_disk *d = &r->disk;
    d->nospace_total++;
    if (d->nospace_since_us == 0) d->nospace_since_us = clock_mono_us();
    maybe_probe(r, clock_mono_us());
}

void diskwatch_taken(struct repl *r)
{
    struct repl_disk *d = &r->disk;
    if (d->nospace_since_us == 0) return;
    if (d->nospace_logged)
        log_warn("libraft takes new log entries again, after %" PRId64 " ms",
                 (clock_mono_us() - d->nospace_since_us) / 1000);
    d->nospace_since_us = 0;
    d->nospace_logged = false;
}

void diskwatch_close(struct repl *r)
{
    if (r->disk.probe) r->disk.probe->r = NULL; /* frees itself when done */
    r->disk.probe = NULL;
}

const char *repl_disk_refusal(struct repl *r)
{
    struct repl_disk *d = &r->disk;
    if (!d->error) return NULL;
    snprintf(d->refusal, sizeof d->refusal, "MISCONF Errors writing to the Raft log: %s", d->reason);
    return d->refusal;
}
