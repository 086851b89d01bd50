/* repl/wipeguard.c — a member whose data directory was wiped does not come
 * back under its old id.
 *
 * A voter's directory holds its vote and the entries it acknowledged. A
 * node restarted with an empty directory and the same `cluster` would
 * bootstrap it again and rejoin as if new: it could vote a second time in a
 * term it had voted in, and the entries it acknowledged before would now
 * be on fewer disks than the quorum that committed them (one more loss and
 * an election can go to a node without them). So a node that bootstrapped
 * its directory in this run (not `join`, not --force-new-cluster, more than
 * one voter) starts on probation:
 *
 * - It does not grant votes (its answers go out as refusals, which a voter
 *   may always give) while its log holds nothing but the bootstrap entry
 *   and it has seen that the cluster has a history (a vote request or an
 *   AppendEntries naming a log index past the bootstrap entry): an empty
 *   log makes any candidate look up to date, even one without the entries
 *   this node acknowledged before it was wiped. A first bootstrap, where
 *   every member starts empty together, elects its first leader before
 *   anyone has such a history, and a node that has received entries votes
 *   as usual (a wiped one then soon applies its old registration, below).
 *   The price: a new member started after the others, still holding no
 *   entry when the leader dies, withholds its vote; if the others need it,
 *   a restart of it lifts this (the directory is no longer empty).
 * - It learns the log from the leader like any follower, and registers
 *   itself (__member, or __leader if it leads) as every node does. Each
 *   registration carries the origin of the process that made it. If it
 *   applies a registration of its own node id made by another process,
 *   the cluster knew this node before: the directory was wiped. It writes
 *   WIPED_MARKER into the directory (so that a restart refuses as well),
 *   logs what to do, and exits with status 1. If it applies its own
 *   registration first, everything before it in the log was seen: it is a
 *   new member, and probation ends.
 * - libraft 0.22.1 never sends the log to such a node while the leader
 *   that counted its acknowledgements leads: that record of what the node
 *   held makes it send empty heartbeats only. Heartbeats that match the bootstrap entry, carry nothing and
 *   name a commit index past it for WIPE_STARVED_MS are the same evidence
 *   (watch_starving).
 *
 * What to do instead (README, "A node that lost its data directory"):
 * remove the node (RAFT NODE REMOVE <id>) on a running member, empty its
 * directory and start it with --join: it asks to be added back. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "repl/internal.h"

#define WIPED_MARKER "wiped-member"
/* How long the starving heartbeats (watch_starving) go on before they count. */
#define WIPE_STARVED_MS 2000

static void advice(struct repl *r, char *out, size_t len)
{
    snprintf(out, len,
             "node %" PRIu64 " started with an empty data directory (%s), but the cluster already "
             "knew node %" PRIu64 ": its vote and the entries it had acknowledged are gone, and "
             "rejoining under that id could lose committed writes. Remove it from the cluster "
             "(RAFT NODE REMOVE %" PRIu64 " on a running member), empty %s, and start it with "
             "--join <a member's client address> instead of --cluster: it asks to be added back",
             r->cfg.node_id, r->node.dir, r->cfg.node_id, r->cfg.node_id, r->node.dir);
}

static void marker_path(struct repl *r, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", r->node.dir, WIPED_MARKER);
}

int wipeguard_check_marker(struct repl *r, char *err, size_t errlen)
{
    char path[4200];
    marker_path(r, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    advice(r, err, errlen);
    return -1;
}

static void refuse(struct repl *r, const char *evidence);

/* Whether a message shows the cluster has entries past the bootstrap one. */
static bool shows_history(const struct raft_message *m)
{
    switch (m->type) {
    case RAFT_REQUEST_VOTE: return m->request_vote.last_log_index > 1;
    case RAFT_APPEND_ENTRIES:
        return m->append_entries.prev_log_index + m->append_entries.n_entries > 1 ||
               m->append_entries.leader_commit > 1;
    case RAFT_INSTALL_SNAPSHOT: return true;
    default: return false;
    }
}

static struct repl *repl_of(struct raft_io *io)
{
    struct raft *raft = io->data;
    return raft->data;
}

/* A leader that sends this node heartbeats matching its log (the
 * bootstrap entry) with nothing after them, while it commits entries this
 * node lacks, believes this node acknowledged them already: libraft 0.22.1
 * then never sends them (the node's stale match index stops it), and only
 * a node that held them before is in that state. */
static void watch_starving(struct repl *r, const struct raft_message *m)
{
    const struct raft_append_entries *a = &m->append_entries;
    raft_index last = raft_last_index(r->raft);
    int64_t now = clock_mono_us();
    if (m->type != RAFT_APPEND_ENTRIES) return;
    if (a->n_entries != 0 || a->prev_log_index != last || a->leader_commit <= last) {
        r->wipe.starved_since_us = 0;
        return;
    }
    if (r->wipe.starved_since_us == 0) r->wipe.starved_since_us = now;
    else if (now - r->wipe.starved_since_us >= (int64_t)WIPE_STARVED_MS * 1000)
        refuse(r, "the leader takes this node to hold entries it acknowledged before");
}

static void wg_recv(struct raft_io *io, struct raft_message *m)
{
    struct repl *r = repl_of(io);
    if (r->wipe.probation) {
        if (!r->wipe.history && shows_history(m)) r->wipe.history = true;
        if (r->wipe.history) watch_starving(r, m);
    }
    r->wipe.recv(io, m);
}

static int wg_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    struct repl *r = repl_of(io);
    r->wipe.recv = recv;
    return r->wipe.start(io, msecs, tick, wg_recv);
}

static int wg_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                   raft_io_send_cb cb)
{
    struct repl *r = repl_of(io);
    if (r->wipe.probation && r->wipe.history && raft_last_index(r->raft) <= 1 &&
        m->type == RAFT_REQUEST_VOTE_RESULT && m->request_vote_result.vote_granted) {
        if (!r->wipe.said_no_vote) {
            log_warn("Not voting: this node started with an empty data directory and holds no "
                     "entry of the cluster's log yet, so it may be a member whose directory was "
                     "wiped. If it is a new member and the cluster cannot elect a leader without "
                     "it, restart it (a restart with this directory votes)");
            r->wipe.said_no_vote = true;
        }
        struct raft_message refused = *m;
        refused.request_vote_result.vote_granted = false;
        return r->wipe.send(io, req, &refused, cb);
    }
    return r->wipe.send(io, req, m, cb);
}

void wipeguard_install(struct repl *r, bool bootstrapped, unsigned voters)
{
    r->wipe.probation = bootstrapped && voters > 1;
    if (!r->wipe.probation) return;
    /* After snapguard: its recv and send are the ones we pass on to. */
    r->wipe.start = r->node.io.start;
    r->node.io.start = wg_start;
    r->wipe.send = r->node.io.send;
    r->node.io.send = wg_send;
}

/* The cluster knew this node: record it, say what to do, and exit. */
static void refuse(struct repl *r, const char *evidence)
{
    char why[1200], path[4200];
    advice(r, why, sizeof why);
    marker_path(r, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, why, strlen(why)) < 0 || fsync(fd) != 0) { /* best effort */
        }
        close(fd);
    }
    log_warn("Refusing to run (%s): %s", evidence, why);
    _exit(1); /* as any refusal to start */
}

void wipeguard_registered(struct repl *r, uint64_t node, uint64_t origin)
{
    if (!r->wipe.probation || node != r->cfg.node_id) return;
    if (origin == r->prop.origin) {
        r->wipe.probation = false;
        log_msg(LOG_VERBOSE, "Node %" PRIu64 " is a new member (no earlier registration of it in "
                             "the log)", node);
        return;
    }
    refuse(r, "the log holds a registration of this node by an earlier process");
}
