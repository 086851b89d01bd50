/* repl/bgsave.c — backups: SAVE and BGSAVE write the keyspace into a file.
 *
 * The file is the native snapshot encoding (store/snapshot.h) of the
 * keyspace as this node has applied it, with a short aux ("parley-backup")
 * in place of the replication state: `parley-server --restore FILE`
 * (server/restore.c) starts a new cluster from it.
 *
 * BGSAVE forks through snapfork_spawn, the Raft snapshots' own child
 * (snapfork.c): the child holds the keyspace as it was when it forked
 * (copy-on-write), encodes it, writes it to a temporary name beside the
 * target, fsyncs it, renames it over the target and fsyncs the directory,
 * then exits; the loop polls for its exit. One child at a time: a BGSAVE
 * while a Raft snapshot's child runs is refused (or, with SCHEDULE, started
 * once it is over), and a Raft snapshot waits while a backup's child runs.
 * A BGSAVE that cannot fork at once (a thread of ours may be inside the
 * allocator) counts as in progress and forks at the next poll. A child
 * still running after raft-snapshot-timeout-ms is killed (the save
 * fails), as a snapshot's is. SAVE
 * encodes and writes on the loop, as Redis's SAVE blocks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"
#include "store/evict.h"

#define POLL_MS 10
#define AUX "parley-backup"

struct bgsave_job {
    struct repl *r;
    pid_t pid;           /* 0: not forked yet, or reaped */
    bool forked;
    int64_t started_ms;  /* wall clock */
    int64_t deadline_us; /* monotonic: the child is killed after it */
    uint64_t changes;    /* the keyspace's change count when it forked */
    /* Made before the fork: the child only uses them. */
    char path[4096], tmp[4096 + 32], dir[4096];
    uv_timer_t timer;
};

/* tmp, written and fsynced, renamed over path, then dir fsynced: a crash
 * leaves the old file or the new one whole. System calls only (it runs in
 * the child too). Returns 0, or an errno. */
static int write_file(const char *tmp, const char *path, const char *dir, const void *data,
                      size_t len)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    if (!snapfork_write_all(fd, data, len) || fsync(fd) != 0) {
        int e = errno ? errno : EIO;
        close(fd);
        unlink(tmp);
        return e;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return e;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return errno;
    int rv = fsync(dfd) != 0 ? errno : 0;
    close(dfd);
    return rv;
}

static int file_sink(const void *data, size_t len, void *arg)
{
    struct bgsave_job *job = arg;
    return write_file(job->tmp, job->path, job->dir, data, len) == 0 ? 0 : -1;
}

static void fill_paths(struct bgsave_job *job, const char *path)
{
    snprintf(job->path, sizeof job->path, "%s", path);
    snprintf(job->tmp, sizeof job->tmp, "%s.tmp-%d", path, (int)getpid());
    snprintf(job->dir, sizeof job->dir, "%s", path);
    char *slash = strrchr(job->dir, '/');
    if (slash == NULL) snprintf(job->dir, sizeof job->dir, ".");
    else if (slash == job->dir) slash[1] = '\0';
    else *slash = '\0';
}

bool bgsave_child_running(const struct repl *r)
{
    return r->bgsave.job != NULL && r->bgsave.job->pid > 0;
}

static void on_job_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void job_end(struct bgsave_job *job, bool ok)
{
    struct repl *r = job->r;
    r->bgsave.job = NULL;
    if (job->forked) evict_pause_touches(false);
    if (job->pid > 0) {
        kill(job->pid, SIGKILL);
        int st;
        while (waitpid(job->pid, &st, 0) < 0 && errno == EINTR) {
        }
        job->pid = 0;
    }
    if (!ok) unlink(job->tmp);
    int64_t now = clock_wall_ms();
    r->bgsave.last_bgsave_failed = !ok;
    r->bgsave.last_bgsave_secs = (now - job->started_ms) / 1000;
    if (ok) {
        r->bgsave.last_ok_ms = now;
        r->snapfork.last_changes = job->changes;
        log_info("Background saving terminated with success (%s)", job->path);
    } else {
        log_warn("Background saving error (%s)", job->path);
    }
    uv_timer_stop(&job->timer);
    uv_close((uv_handle_t *)&job->timer, on_job_timer_closed);
}

/* Forks the child, or RAFT_BUSY: not now (a Raft snapshot's child runs,
 * or a thread of ours may be inside the allocator: after DEFER_MAX_MS of
 * that, the fork waits for the free thread's current job, as snapfork.c's
 * does). */
#define DEFER_MAX_MS 1000

static int job_fork(struct bgsave_job *job)
{
    struct repl *r = job->r;
    if (r->snapfork.job) return RAFT_BUSY;
    bool overdue = clock_wall_ms() - job->started_ms > DEFER_MAX_MS;
    struct buf aux = BUF_INIT;
    buf_append(&aux, AUX, strlen(AUX));
    pid_t pid;
    int rv = snapfork_spawn(r, &aux, overdue, file_sink, job, &pid);
    buf_free(&aux);
    if (rv != 0) return rv;
    job->pid = pid;
    job->forked = true;
    job->deadline_us = clock_mono_us() + (int64_t)r->cfg.snapshot_timeout_ms * 1000;
    job->changes = r->store->changes;
    evict_pause_touches(true);
    log_info("Background saving started by pid %d", (int)pid);
    return 0;
}

static void on_job_timer(uv_timer_t *t)
{
    struct bgsave_job *job = t->data;
    if (!job->forked) {
        int rv = job_fork(job);
        if (rv != 0 && rv != RAFT_BUSY) job_end(job, false);
        return;
    }
    int st = 0;
    pid_t p = waitpid(job->pid, &st, WNOHANG);
    if (p < 0 && errno == EINTR) return;
    if (p == 0) {
        /* As a snapshot's child: bounded by raft-snapshot-timeout-ms, so a
         * stuck disk cannot hold the Raft snapshots off for ever. */
        if (clock_mono_us() > job->deadline_us) {
            log_warn("Background saving child %d did not finish within "
                     "raft-snapshot-timeout-ms: killed", (int)job->pid);
            job_end(job, false);
        }
        return;
    }
    bool ok = p == job->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    job->pid = 0; /* reaped, or not ours to wait for */
    job_end(job, ok);
}

static void job_begin(struct repl *r, const char *path)
{
    struct bgsave_job *job = xcalloc(1, sizeof *job);
    job->r = r;
    job->started_ms = clock_wall_ms();
    fill_paths(job, path);
    uv_timer_init(r->loop, &job->timer);
    job->timer.data = job;
    r->bgsave.job = job;
    int rv = job_fork(job);
    if (rv != 0 && rv != RAFT_BUSY) {
        job_end(job, false);
        return;
    }
    uv_timer_start(&job->timer, on_job_timer, POLL_MS, POLL_MS);
}

/* A BGSAVE SCHEDULE waiting for a Raft snapshot's child. */
static void on_cron(uv_timer_t *t)
{
    struct repl *r = t->data;
    if (!r->bgsave.scheduled || r->bgsave.job || r->snapfork.job) return;
    r->bgsave.scheduled = false;
    uv_timer_stop(&r->bgsave.cron);
    job_begin(r, r->bgsave.scheduled_path);
}

enum repl_bgsave_result repl_bgsave(struct repl *r, const char *path, bool schedule)
{
    if (r->bgsave.job) return REPL_BGSAVE_IN_PROGRESS;
    if (r->snapfork.job) {
        if (!schedule) return REPL_BGSAVE_CHILD_ACTIVE;
        snprintf(r->bgsave.scheduled_path, sizeof r->bgsave.scheduled_path, "%s", path);
        r->bgsave.scheduled = true;
        if (!r->bgsave.cron_on) {
            uv_timer_init(r->loop, &r->bgsave.cron);
            r->bgsave.cron.data = r;
            r->bgsave.cron_on = true;
        }
        uv_timer_start(&r->bgsave.cron, on_cron, POLL_MS, POLL_MS);
        return REPL_BGSAVE_SCHEDULED;
    }
    job_begin(r, path);
    /* A fork that failed outright ended the job: the status says so. */
    return r->bgsave.job || !r->bgsave.last_bgsave_failed ? REPL_BGSAVE_STARTED
                                                           : REPL_BGSAVE_FAILED;
}

int repl_save(struct repl *r, const char *path)
{
    struct bgsave_job paths;
    fill_paths(&paths, path);
    struct buf out = BUF_INIT;
    fsm_encode_keyspace(r, AUX, strlen(AUX), &out);
    int rv = write_file(paths.tmp, paths.path, paths.dir, out.data, out.len);
    buf_free(&out);
    /* As Redis, SAVE's outcome is rdb_last_bgsave_status too. */
    r->bgsave.last_bgsave_failed = rv != 0;
    if (rv != 0) {
        log_warn("Failed saving the DB to %s: %s", path, strerror(rv));
        return -1;
    }
    r->bgsave.last_ok_ms = clock_wall_ms();
    r->snapfork.last_changes = r->store->changes;
    log_info("DB saved on disk (%s)", path);
    return 0;
}

void bgsave_init(struct repl *r)
{
    r->bgsave.last_bgsave_secs = -1;
}

void bgsave_cancel(struct repl *r)
{
    if (r->bgsave.cron_on) {
        r->bgsave.cron_on = false;
        r->bgsave.scheduled = false;
        uv_timer_stop(&r->bgsave.cron);
        uv_close((uv_handle_t *)&r->bgsave.cron, NULL);
    }
    if (r->bgsave.job) job_end(r->bgsave.job, false);
}

void bgsave_get_info(const struct repl *r, struct repl_info *info)
{
    info->bgsave_in_progress = r->bgsave.job != NULL;
    info->bgsave_scheduled = r->bgsave.scheduled;
    info->bgsave_current_secs =
        r->bgsave.job ? (clock_wall_ms() - r->bgsave.job->started_ms) / 1000 : -1;
    info->bgsave_last_secs = r->bgsave.last_bgsave_secs;
    info->bgsave_last_failed = r->bgsave.last_bgsave_failed;
    info->save_last_ok_ms = r->bgsave.last_ok_ms;
}
