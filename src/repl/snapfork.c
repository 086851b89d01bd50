/* repl/snapfork.c — snapshots written by a child process, off the loop.
 *
 * Encoding the keyspace on the event loop (store_snapshot_encode: tens of
 * milliseconds per million keys) stalls client replies and Raft heartbeats
 * for as long. Instead, as Redis's BGSAVE does, the state machine's
 * snapshot callback forks: the child holds the keyspace exactly as it is at
 * the snapshot's index (libraft records last_applied when it calls us),
 * copy-on-write, encodes it (store/snapshot.h: packed in LZ4 blocks once
 * the cluster's version allows, fsm_encode_keyspace) and writes
 * it into a memory file (memfd) the parent made, then _exits. The parent
 * pays for copying its page tables and, while the child runs, for copying
 * each page it writes to. The child runs nothing but the encoder and
 * write(2): the process has libuv's and libraft's worker threads, whose
 * locks a child must never touch; it logs nothing, frees nothing and dies
 * with its parent.
 *
 * libraft 0.22.1 calls `snapshot` and then, at once, `snapshot_async` (fsm
 * version 3) on the loop, before it hands the buffers to the disk layer
 * (legacyTakeSnapshot in legacy.c): version 3 buys nothing there. So the
 * callback returns one empty buffer, and the io's snapshot_put is wrapped:
 * called with that buffer, it waits (without blocking the loop: a timer
 * polls for the child's exit) until the child is done, maps the memory
 * file read-only as the buffer, and only then passes the put on to
 * libraft's disk layer. The loop never copies the snapshot's bytes (it
 * read them from a pipe before: a tenth of its time under sustained 1 KB
 * writes). libraft keeps `snapshot_taking` set meanwhile, so it starts no
 * other snapshot, and snapguard.c holds the leader's installs until it is
 * over.
 *
 * Bounded: one snapshot at a time; a child that dies (a signal, a non-zero
 * exit) or does not finish within raft-snapshot-timeout-ms (it is then
 * killed) makes the snapshot fail: the put completes with an error, libraft
 * gives the snapshot up with its log untouched (takeSnapshotCb; its status
 * assertion is not compiled into Debian's 0.22.1) and takes one again at a
 * later event. The mapping is not heap memory: it is not in used_memory,
 * and INFO raft shows it while libraft writes it. It is unmapped by the
 * free thread (lazy_finalize), not on the loop.
 *
 * Closing Raft while a child runs kills it and completes the put as
 * cancelled before libraft's io closes (the io's close is wrapped too).
 *
 * The fork itself (snapfork_spawn: the allocator's safety, the child's
 * signals and its one job) also serves backups (bgsave.c), whose child
 * writes a file instead of the memory file. One child runs at a time: a
 * snapshot waits (RAFT_BUSY) while a backup's child runs. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"
#include "store/evict.h"
#include "store/lazyfree.h"

#define POLL_MS 5

struct snapfork_job {
    struct repl *r;
    pid_t pid;                 /* 0 once reaped */
    pid_t child;               /* for the log */
    int exit_status;           /* waitpid's */
    int memfd;                 /* what the child writes into */
    int64_t deadline_us;       /* monotonic */
    int64_t started_us;
    uint64_t changes;           /* the keyspace's change count when the child forked */
    struct held_put put;       /* libraft's, held until the child is done */
    uv_timer_t timer;
};

bool snapfork_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The child: encode, hand the bytes to the sink, exit. Nothing else. */
static void child_run(struct repl *r, const struct buf *aux, snapfork_sink_fn *sink, void *arg)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* libuv's signal handlers would write into the parent's signal pipe: a
     * SIGTERM or SIGINT sent to the process group must end the child only. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    struct buf out = BUF_INIT;
    fsm_encode_keyspace(r, aux->data, aux->len, &out);
    _exit(sink(out.data, out.len, arg) == 0 ? 0 : 2);
}

static int memfd_sink(const void *data, size_t len, void *arg)
{
    return snapfork_write_all(*(int *)arg, data, len) ? 0 : -1;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Stops everything the job holds on the loop; it frees itself once its
 * timer is closed. */
static void job_release(struct snapfork_job *job)
{
    struct repl *r = job->r;
    CHECK(r->snapfork.job == job);
    r->snapfork.job = NULL;
    r->snapfork.child_pid = 0;
    evict_pause_touches(false);
    if (job->pid > 0) {
        kill(job->pid, SIGKILL);
        while (waitpid(job->pid, &job->exit_status, 0) < 0 && errno == EINTR) {
        }
        job->pid = 0;
    }
    close(job->memfd);
    uv_timer_stop(&job->timer);
    uv_close((uv_handle_t *)&job->timer, on_timer_closed);
}

/* The snapshot failed (or Raft is closing): libraft's put completes with
 * `status`, which makes it give the snapshot up. */
static void job_fail(struct snapfork_job *job, int status, const char *why)
{
    struct repl *r = job->r;
    if (status != RAFT_CANCELED) {
        log_warn("Snapshot child %d failed: %s; Raft will snapshot again later", (int)job->child,
                 why);
        r->snapfork.failed++;
    }
    r->snapfork.last_failed = true;
    struct held_put put = job->put;
    job_release(job);
    held_put_cancel(&put, status);
}

/* The child is reaped: its bytes, mapped, go to the disk. */
static void job_finish(struct snapfork_job *job)
{
    struct repl *r = job->r;
    if (!WIFEXITED(job->exit_status) || WEXITSTATUS(job->exit_status) != 0) {
        job_fail(job, RAFT_IOERR,
                 WIFSIGNALED(job->exit_status) ? "killed by a signal" : "it exited with an error");
        return;
    }
    struct stat st;
    if (fstat(job->memfd, &st) != 0 || st.st_size <= 0) {
        job_fail(job, RAFT_IOERR, "it wrote nothing");
        return;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, job->memfd, 0);
    if (map == MAP_FAILED) {
        job_fail(job, RAFT_NOMEM, strerror(errno));
        return;
    }
    struct raft_buffer *b = &job->put.snapshot->bufs[0];
    CHECK(b->base == NULL && b->len == 0);
    b->base = map; /* unmapped by lazy_finalize */
    b->len = len;
    r->snapfork.taken++;
    r->snapfork.last_taken_ms = clock_wall_ms();
    r->snapfork.last_changes = job->changes;
    r->snapfork.last_bytes = len;
    histogram_observe(&r->snapfork.seconds, (uint64_t)(clock_mono_us() - job->started_us));
    r->snapfork.buffer_bytes = len;
    r->snapfork.last_failed = false;
    log_msg(LOG_VERBOSE, "Snapshot child %d wrote %zu bytes in %lld ms", (int)job->child, len,
            (long long)((clock_mono_us() - job->started_us) / 1000));
    struct held_put put = job->put;
    job_release(job);
    int rv = held_put_release(&put, r->snapfork.put);
    if (rv != 0) {
        log_warn("Writing the snapshot failed: %s", raft_strerror(rv));
        r->snapfork.failed++;
        r->snapfork.last_failed = true;
    }
}

static void try_finish(struct snapfork_job *job)
{
    if (job->pid == 0 && job->put.held) job_finish(job);
}

static void on_timer(uv_timer_t *t)
{
    struct snapfork_job *job = t->data;
    if (job->pid > 0) {
        pid_t p = waitpid(job->pid, &job->exit_status, WNOHANG);
        if (p == job->pid) {
            job->pid = 0;
            job->r->snapfork.child_pid = 0;
        } else if (p < 0 && errno != EINTR) {
            job_fail(job, RAFT_IOERR, strerror(errno));
            return;
        }
    }
    if (job->pid > 0 && clock_mono_us() > job->deadline_us) {
        job_fail(job, RAFT_IOERR, "it did not finish within raft-snapshot-timeout-ms");
        return;
    }
    try_finish(job);
}

/* No fork while another thread of ours may be inside the allocator (the
 * free thread, snapprune.c's removal on libuv's pool): the snapshot waits
 * for libraft's next event (RAFT_BUSY), or, after DEFER_MAX_MS of that, for
 * the free thread's current job. */
#define DEFER_MAX_MS 1000

int snapfork_spawn(struct repl *r, const struct buf *aux, bool overdue, snapfork_sink_fn *sink,
                   void *arg, pid_t *pid_out)
{
    if (snapprune_running(r) || !lazyfree_pause(overdue)) return RAFT_BUSY;
    int64_t fork_start_us = clock_mono_us();
    pid_t pid = fork();
    if (pid == 0) child_run(r, aux, sink, arg); /* never returns */
    lazyfree_resume();
    int64_t fork_us = clock_mono_us() - fork_start_us;
    if (pid < 0) {
        log_warn("Cannot fork to write the keyspace: %s", strerror(errno));
        return RAFT_NOMEM;
    }
    r->snapfork.last_fork_us = fork_us;
    if (r->hooks.on_latency) r->hooks.on_latency(r->hooks.ctx, "fork", fork_us / 1000);
    *pid_out = pid;
    return 0;
}

static int snapfork_start(struct repl *r, const struct buf *aux)
{
    CHECK(r->snapfork.job == NULL); /* libraft takes one snapshot at a time */
    int64_t now = clock_mono_us();
    bool overdue = r->snapfork.deferred_since_us != 0 &&
                   now - r->snapfork.deferred_since_us > DEFER_MAX_MS * 1000;
    /* One child at a time: a backup's (bgsave.c) runs. */
    if (bgsave_child_running(r)) {
        if (r->snapfork.deferred_since_us == 0) r->snapfork.deferred_since_us = now;
        return RAFT_BUSY;
    }
    int memfd = memfd_create("parley-snapshot", MFD_CLOEXEC);
    if (memfd < 0) {
        log_warn("Cannot snapshot: memfd_create: %s", strerror(errno));
        return RAFT_IOERR;
    }
    pid_t pid;
    int rv = snapfork_spawn(r, aux, overdue, memfd_sink, &memfd, &pid);
    if (rv != 0) {
        close(memfd);
        if (rv == RAFT_BUSY && r->snapfork.deferred_since_us == 0) r->snapfork.deferred_since_us = now;
        return rv;
    }
    r->snapfork.deferred_since_us = 0;
    struct snapfork_job *job = xcalloc(1, sizeof *job);
    job->r = r;
    job->pid = job->child = pid;
    job->memfd = memfd;
    job->started_us = clock_mono_us();
    job->changes = r->store->changes;
    job->deadline_us = job->started_us + (int64_t)r->cfg.snapshot_timeout_ms * 1000;
    uv_timer_init(r->loop, &job->timer);
    job->timer.data = job;
    uv_timer_start(&job->timer, on_timer, POLL_MS, POLL_MS);
    r->snapfork.job = job;
    r->snapfork.child_pid = pid;
    r->snapfork.started++;
    evict_pause_touches(true);
    log_msg(LOG_VERBOSE, "Snapshot at index %llu: child %d forked in %lld us",
            (unsigned long long)raft_last_applied(r->raft), (int)pid,
            (long long)r->snapfork.last_fork_us);
    return 0;
}

/* The state machine's snapshot callback: the replication state is encoded
 * here, on the loop (it is small), the keyspace by the child. The one buffer
 * returned stays empty until the child's bytes fill it (wrapped_put). */
static int fork_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    int64_t start_us = clock_mono_us();
    *bufs = raft_malloc(sizeof **bufs);
    if (*bufs == NULL) return RAFT_NOMEM;
    struct buf aux = BUF_INIT;
    fsm_encode_aux(r, &aux);
    int rv = snapfork_start(r, &aux);
    buf_free(&aux);
    if (rv != 0) {
        raft_free(*bufs);
        *bufs = NULL;
        return rv;
    }
    (*bufs)[0].base = NULL;
    (*bufs)[0].len = 0;
    *n_bufs = 1;
    if (r->hooks.on_latency)
        r->hooks.on_latency(r->hooks.ctx, "snapshot", (clock_mono_us() - start_us) / 1000);
    return 0;
}

/* Unmapping a snapshot's buffer (the encoded keyspace: tens of
 * milliseconds for a few hundred megabytes) is done by the free thread
 * (store/lazyfree.c), as Redis's lazyfree does, not on the loop. The
 * heap's free pages go back once the log entries the snapshot covers are
 * freed (repl/logfree.c). */
struct snapshot_bufs {
    struct raft_buffer *bufs;
    unsigned n_bufs;
};

static void free_snapshot_bufs(void *arg)
{
    struct snapshot_bufs *sb = arg;
    for (unsigned i = 0; i < sb->n_bufs; i++)
        if (sb->bufs[i].base) munmap(sb->bufs[i].base, sb->bufs[i].len);
    raft_free(sb->bufs);
    free(sb);
}

static int lazy_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    r->snapfork.buffer_bytes = 0;
    if (*bufs != NULL) {
        struct snapshot_bufs *sb = xmalloc(sizeof *sb);
        *sb = (struct snapshot_bufs){.bufs = *bufs, .n_bufs = *n_bufs};
        lazyfree_call(free_snapshot_bufs, sb);
    }
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int wrapped_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                       const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    struct snapfork_job *job = r->snapfork.job;
    /* Ours: the empty buffer of the snapshot a child is writing. An install
     * (the leader's data) goes straight through. */
    if (job == NULL || job->put.held || snapshot->n_bufs != 1 || snapshot->bufs[0].base != NULL)
        return r->snapfork.put(io, trailing, req, snapshot, cb);
    held_put_take(&job->put, io, trailing, req, snapshot, cb);
    try_finish(job); /* never finishes here: the loop has not run since the fork */
    return 0;
}

static void wrapped_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    if (r->snapfork.job) job_fail(r->snapfork.job, RAFT_CANCELED, "Raft is closing");
    bgsave_cancel(r);
    r->snapfork.close(io, cb);
}

void snapfork_install(struct repl *r)
{
    CHECK(r->snapfork.put == NULL); /* once */
    r->machine.fsm.snapshot = fork_snapshot;
    r->machine.fsm.snapshot_finalize = lazy_finalize;
    r->snapfork.put = r->node.io.snapshot_put;
    r->snapfork.close = r->node.io.close;
    r->node.io.snapshot_put = wrapped_put;
    r->node.io.close = wrapped_close;
}

bool snapfork_last_failed(const struct repl *r)
{
    return r->snapfork.last_failed;
}
