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
 * ours (a lower term is refused, and freed, before that check). */
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
    r->guard.start = r->io.start;
    r->io.start = guard_start;
}

void snapguard_close(struct repl *r)
{
    if (r->guard.holding) free_install(&r->guard.held);
    r->guard.holding = false;
}
