/* repl/snapguard.c — keeps libraft 0.22.1 from crashing when a snapshot
 * arrives from the leader while this node is writing its own.
 *
 * libraft's legacy layer puts such an install on hold until its own
 * snapshot is written, and then, in takeSnapshotCb (legacy.c), clears
 * `snapshot_pending` before reading it and dereferences NULL. The fault
 * suite hit it on nodes that came back from a pause or a partition.
 *
 * We never let libraft see the install at that moment: the io's receive
 * callback is wrapped, and an InstallSnapshot message that arrives while
 * `legacy.snapshot_taking` is true is held (one at most; an older one is
 * dropped, the leader sends again) and delivered on the first tick or
 * receive after the own snapshot is written. libraft then never has an
 * install pending. The wrapper is installed on the io itself (its start
 * function), so libraft and raft_uv see no difference otherwise.
 *
 * The same wrapper plugs a leak of libraft 0.22.1: an InstallSnapshot that
 * arrives while the follower is still installing an earlier one is ignored
 * by recvInstallSnapshot ("the leader will eventually retry") without
 * freeing its data and configuration; the leader sends one every heartbeat
 * until the install is done, each the size of the snapshot. libraft still
 * sees the message (it resets the election timer, learns the leader), and
 * once it has ignored it the wrapper frees what it left. It is ignored
 * exactly when libraft was installing and the message's term is not below
 * ours (a lower term is refused, and freed, before that check).
 *
 * On the leader, libraft 0.22.1 starts sending a snapshot again (it reads
 * the whole file into memory and queues it on the connection) every time
 * a follower that is still receiving or installing the previous one
 * answers a heartbeat: a 3-node cluster under 1 KB MSETs queued 78 copies
 * of a 77 MB snapshot in a second, and the leader was killed for lack of
 * memory at 23 GB. So one snapshot is read or sent at a time: while one
 * is, a snapshot_get (libraft's first step to send one) fails at once with
 * RAFT_BUSY, without reading anything; libraft gives that attempt up
 * (sendSnapshot) and tries again at a later heartbeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "repl/internal.h"

static struct repl *repl_of(struct raft_io *io)
{
    struct raft *raft = io->data; /* raft_init sets it */
    return raft->data;
}

static void free_install(struct raft_message *m)
{
    raft_configuration_close(&m->install_snapshot.conf);
    raft_free(m->install_snapshot.data.base);
}

/* Delivers an InstallSnapshot to libraft, freeing it afterwards if libraft
 * ignored it because it is still installing another (see above). */
static void deliver_install(struct raft_io *io, struct repl *r, struct raft_message *m)
{
    CHECK(m->type == RAFT_INSTALL_SNAPSHOT);
    /* While closing, libraft frees every message itself. */
    bool ignored = r->raft->snapshot.installing && !r->raft->legacy.closing &&
                   m->install_snapshot.term >= raft_current_term(r->raft);
    struct raft_message copy = *m;
    r->guard.recv(io, m);
    if (!ignored) return;
    log_msg(LOG_VERBOSE, "Freed a snapshot of %zu bytes libraft ignored while installing another",
            copy.install_snapshot.data.len);
    free_install(&copy);
}

/* Hands the held install to libraft once its own snapshot is written. */
static void release_held(struct raft_io *io, struct repl *r)
{
    if (!r->guard.holding || r->raft->legacy.snapshot_taking) return;
    r->guard.holding = false;
    log_msg(LOG_VERBOSE, "Delivering the leader's snapshot held while ours was written");
    deliver_install(io, r, &r->guard.held);
}

static void guard_tick(struct raft_io *io)
{
    struct repl *r = repl_of(io);
    r->guard.tick(io);
    release_held(io, r);
}

static void guard_recv(struct raft_io *io, struct raft_message *m)
{
    struct repl *r = repl_of(io);
    release_held(io, r);
    if (m->type == RAFT_INSTALL_SNAPSHOT && r->raft->legacy.snapshot_taking) {
        if (r->guard.holding) free_install(&r->guard.held);
        r->guard.held = *m; /* its buffers are ours now, as they were libraft's */
        /* The address belongs to the connection, which may close meanwhile. */
        snprintf(r->guard.held_address, sizeof r->guard.held_address, "%s",
                 m->server_address ? m->server_address : "");
        r->guard.held.server_address = r->guard.held_address;
        r->guard.holding = true;
        return;
    }
    if (m->type == RAFT_INSTALL_SNAPSHOT) deliver_install(io, r, m);
    else r->guard.recv(io, m);
}

/* The node whose snapshot send is in progress (a process runs one node;
 * the requests' data fields are libraft's). */
static struct repl *install_owner;

static void install_done(struct repl *r)
{
    r->guard.install_busy = false;
}

static void install_sent(struct raft_io_send *req, int status)
{
    struct repl *r = install_owner;
    CHECK(r->guard.install_req == req);
    raft_io_send_cb cb = r->guard.install_cb;
    r->guard.install_req = NULL;
    install_done(r);
    cb(req, status);
}

static int guard_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                      raft_io_send_cb cb)
{
    struct repl *r = repl_of(io);
    if (m->type != RAFT_INSTALL_SNAPSHOT) return r->guard.send(io, req, m, cb);
    CHECK(r->guard.install_req == NULL); /* one send at a time: gets wait */
    r->guard.install_req = req;
    r->guard.install_cb = cb;
    install_owner = r;
    int rv = r->guard.send(io, req, m, install_sent);
    if (rv != 0) r->guard.install_req = NULL;
    return rv;
}

/* libraft has read the snapshot: it sends it now (guard_send), or gave up. */
static void install_read(struct raft_io_snapshot_get *req, struct raft_snapshot *snapshot,
                         int status)
{
    struct repl *r = install_owner;
    raft_io_snapshot_get_cb cb = r->guard.get_cb;
    cb(req, snapshot, status);
    if (r->guard.install_req == NULL) install_done(r);
}

static int guard_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                              raft_io_snapshot_get_cb cb)
{
    struct repl *r = repl_of(io);
    if (!r->guard.install_busy) {
        r->guard.install_busy = true;
        r->guard.get_cb = cb;
        install_owner = r;
        int rv = r->guard.snapshot_get(io, req, install_read);
        if (rv != 0) install_done(r);
        return rv;
    }
    return RAFT_BUSY; /* libraft gives this attempt up and tries again later */
}

static int guard_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                       raft_io_recv_cb recv)
{
    struct repl *r = repl_of(io);
    r->guard.tick = tick;
    r->guard.recv = recv;
    return r->guard.start(io, msecs, guard_tick, guard_recv);
}

void snapguard_install(struct repl *r)
{
    r->guard.start = r->node.io.start;
    r->node.io.start = guard_start;
    r->guard.send = r->node.io.send;
    r->node.io.send = guard_send;
    r->guard.snapshot_get = r->node.io.snapshot_get;
    r->node.io.snapshot_get = guard_snapshot_get;
}

void snapguard_close(struct repl *r)
{
    if (r->guard.holding) free_install(&r->guard.held);
    r->guard.holding = false;
}
