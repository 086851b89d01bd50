/* repl/snapprune.c — one snapshot on disk, not two.
 *
 * libraft's disk layer keeps the newest two snapshots in the data
 * directory (uvSnapshotKeepLastTwo, after every put), so a node's
 * directory held about twice its dataset plus the log. The older one is
 * never read again: at start-up libraft loads the newest (Parley turns its
 * auto-recovery off, so a damaged newest one stops the node rather than
 * falling back), and a follower is sent the newest. So after each put that
 * succeeded, the older snapshots are removed, the .meta first (a data file
 * without its .meta is an orphan libraft ignores and cleans up).
 *
 * The removal runs on libuv's thread pool (unlinking a few hundred
 * megabytes is not loop work). libraft would list and remove snapshots in
 * the next put itself, and a file removed under it fails that put; so a
 * put that arrives while a removal runs is held (libraft has one put in
 * flight at a time: r->snapshot.put) and passed on when the removal is
 * done. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/check.h"
#include "base/log.h"
#include "repl/internal.h"

struct snap_name {
    unsigned long long term, index, stamp;
};

/* "snapshot-<term>-<index>-<ms>.meta", exactly. */
static bool parse_meta(const char *name, struct snap_name *s)
{
    int end = 0;
    if (sscanf(name, "snapshot-%llu-%llu-%llu.meta%n", &s->term, &s->index, &s->stamp, &end) != 3)
        return false;
    return end > 0 && name[end] == '\0';
}

/* libraft's order (uvSnapshotCompare): term, then index, then time. */
static bool newer(const struct snap_name *a, const struct snap_name *b)
{
    if (a->term != b->term) return a->term > b->term;
    if (a->index != b->index) return a->index > b->index;
    return a->stamp > b->stamp;
}

/* The thread pool's part: every snapshot but the newest, removed. */
static void prune_work(uv_work_t *w)
{
    struct repl *r = w->data;
    struct repl_snapprune *p = &r->snapprune;
    p->removed_now = 0;
    DIR *d = opendir(r->node.dir);
    if (d == NULL) return;
    struct snap_name best = {0}, s;
    bool have = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (parse_meta(e->d_name, &s) && (!have || newer(&s, &best))) {
            best = s;
            have = true;
        }
    rewinddir(d);
    while (have && (e = readdir(d)) != NULL) {
        if (!parse_meta(e->d_name, &s) || !newer(&best, &s)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", r->node.dir, e->d_name);
        if (unlink(path) != 0) continue;
        snprintf(path, sizeof path, "%s/snapshot-%llu-%llu-%llu", r->node.dir, s.term, s.index, s.stamp);
        unlink(path);
        p->removed_now++;
    }
    closedir(d);
}

static void prune_done(uv_work_t *w, int status);

static void start(struct repl *r)
{
    struct repl_snapprune *p = &r->snapprune;
    if (p->closing) return;
    if (p->running) {
        p->again = true;
        return;
    }
    p->running = true;
    p->again = false;
    p->work.data = r;
    CHECK(uv_queue_work(r->loop, &p->work, prune_work, prune_done) == 0);
}

static void prune_done(uv_work_t *w, int status)
{
    struct repl *r = w->data;
    struct repl_snapprune *p = &r->snapprune;
    p->running = false;
    if (status == 0 && p->removed_now > 0)
        log_msg(LOG_VERBOSE, "Removed %u older snapshot(s) from %s", p->removed_now, r->node.dir);
    if (p->again) {
        start(r);
        if (p->running) return;
    }
    if (p->held.held) held_put_release(&p->held, p->put);
}

static int wrapped_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                       const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    struct repl_snapprune *p = &r->snapprune;
    if (!p->running) return p->put(io, trailing, req, snapshot, cb);
    CHECK(!p->held.held); /* libraft has one put in flight at a time */
    held_put_take(&p->held, io, trailing, req, snapshot, cb);
    return 0;
}

/* libraft calls it when a snapshot it took is written (or given up). */
static int wrapped_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    int rv = r->snapprune.finalize(fsm, bufs, n_bufs);
    start(r);
    return rv;
}

/* An installed snapshot (or the one loaded at start-up) is on disk. */
static int wrapped_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct repl *r = fsm->data;
    int rv = r->snapprune.restore(fsm, buf);
    if (rv == 0) start(r);
    return rv;
}

static void wrapped_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    struct repl_snapprune *p = &r->snapprune;
    p->closing = true;
    held_put_cancel(&p->held, RAFT_CANCELED);
    p->close(io, cb);
}

bool snapprune_running(const struct repl *r)
{
    return r->snapprune.running;
}

void snapprune_install(struct repl *r)
{
    struct repl_snapprune *p = &r->snapprune;
    CHECK(p->put == NULL); /* once */
    p->put = r->node.io.snapshot_put;
    p->close = r->node.io.close;
    p->finalize = r->machine.fsm.snapshot_finalize;
    p->restore = r->machine.fsm.restore;
    CHECK(p->finalize != NULL);
    r->node.io.snapshot_put = wrapped_put;
    r->node.io.close = wrapped_close;
    r->machine.fsm.snapshot_finalize = wrapped_finalize;
    r->machine.fsm.restore = wrapped_restore;
}
