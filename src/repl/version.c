/* repl/version.c — cluster protocol versions: what this build understands
 * of the log, the version the cluster runs, and refusing what is newer.
 *
 * A protocol version (cmds/cmd.h) names what a build can apply: entry and
 * snapshot formats, internal commands, the command set. PROTOCOL_BASE (1)
 * is every build before versions; this build's is PROTOCOL_BUILD.
 *
 * - Each node says which version it supports in its registration, the
 *   __leader or __member record every node writes after each leader
 *   change: the election timeout argument becomes "<ms>,<version>".
 *   Builds before versions read that argument with strtoull, which stops
 *   at the comma, so they apply the record as before (and wrote none: 0,
 *   read as PROTOCOL_BASE).
 * - The cluster's active version is replicated state (machine.h, in
 *   snapshots from aux version 5 on), PROTOCOL_BASE at first. The leader
 *   raises it with `__version <n>` once every member that receives the log
 *   (voters and observers) has registered support for n (version_tick):
 *   etcd's cluster version, decided the same way. It never goes down.
 * - What the cluster writes follows the active version, not the build:
 *   entries keep their format and carry the active version in their
 *   header's protocol byte; snapshots keep aux version 4 until the active
 *   version is 2. A command whose table row names a version (cmds/cmd.h)
 *   is refused before it is proposed while the active version is lower.
 * - A node that meets something newer than it understands stops before
 *   applying any of it: an entry whose format or protocol byte is newer,
 *   a raise to a version it lacks, a snapshot of a newer format or active
 *   version. It logs what it met and what to do (run a newer build), and
 *   exits with status 1, as a node that refuses to start: applying part
 *   of it, or skipping it, would make its replica differ from the others
 *   for good. The entry stays in the log, so a restart on the same build
 *   refuses again; a restart on a newer build applies it.
 *
 * Test builds (PARLEY_TEST_HOOKS) read PARLEY_TEST_PROTOCOL_VERSION from
 * the environment: the node then claims that older version, so a test can
 * run a cluster of mixed versions from one build. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "cmds/cmd.h"
#include "repl/internal.h"
#include "store/snapshot.h"

/* The exit status of a refusal: that of a node that refuses to start. */
#define VERSION_REFUSED_STATUS 1

void version_init(struct repl *r)
{
    r->version.supported = PROTOCOL_BUILD;
#ifdef PARLEY_TEST_HOOKS
    const char *claim = getenv("PARLEY_TEST_PROTOCOL_VERSION");
    if (claim && *claim) {
        unsigned long v = strtoul(claim, NULL, 10);
        if (v >= PROTOCOL_BASE && v <= PROTOCOL_BUILD) r->version.supported = (unsigned)v;
        log_warn("Test build: claiming protocol version %u (PARLEY_TEST_PROTOCOL_VERSION)",
                 r->version.supported);
    }
#endif
    r->machine.active_version = PROTOCOL_BASE;
    cmd_protocol_set_active(PROTOCOL_BASE);
}

void version_registration_arg(struct repl *r, char *out, size_t len)
{
    snprintf(out, len, "%u,%u", r->cfg.election_timeout_ms, r->version.supported);
}

void version_parse_registration(const struct resp_arg *a, uint64_t *timeout_ms, unsigned *protocol)
{
    *timeout_ms = repl_arg_u64(a);
    *protocol = 0;
    const char *comma = memchr(a->ptr, ',', a->len);
    if (comma == NULL) return;
    struct resp_arg rest = {comma + 1, a->len - (size_t)(comma + 1 - a->ptr)};
    uint64_t v = repl_arg_u64(&rest);
    *protocol = v > 255 ? 255 : (unsigned)v;
}

unsigned version_entry_protocol(struct repl *r)
{
    unsigned v = r->machine.active_version;
    return r->version.raising > v ? r->version.raising : v;
}

/* Says what this node met and what to do, then exits. A state machine
 * without a node (fsm.h: the simulation, the fuzzers' harnesses, which
 * feed it arbitrary entries) has no process of its own to stop: it
 * returns, and the caller leaves the thing out as malformed. */
static void refuse(struct repl *r, const char *what, bool whole)
{
    log_warn("Refusing to apply %s: this build supports cluster protocol version %u (entry "
             "format %d, snapshot format %d) and applies nothing it does not understand. %s "
             "Upgrade this node: restart it on a build of that version or later, with the same "
             "data directory (see \"Upgrades\" in the README)",
             what, r->version.supported, ENTRY_VERSION, STORE_SNAPSHOT_FORMAT,
             whole ? "Nothing of it was applied." : "The commands before it in its entry were "
             "applied (the entry did not say it needs that version).");
    if (r->loop != NULL || r->node.raft_started) _exit(VERSION_REFUSED_STATUS);
}

bool version_check_entry(struct repl *r, const void *data, size_t len)
{
    unsigned format, protocol;
    if (!entry_versions(data, len, &format, &protocol)) return true; /* apply: no entry */
    if (format <= ENTRY_VERSION && protocol <= r->version.supported) return true;
    char what[200];
    snprintf(what, sizeof what,
             "log entry %" PRIu64 ": it was written in entry format %u under cluster protocol "
             "version %u",
             r->machine.applying_index, format, protocol);
    refuse(r, what, true);
    return false;
}

void version_set_active(struct repl *r, unsigned version)
{
    if (version < PROTOCOL_BASE) version = PROTOCOL_BASE;
    r->machine.active_version = version;
    cmd_protocol_set_active(version);
    if (r->version.raising && r->version.raising <= version) r->version.raising = 0;
}

/* __version <n>: the same on every replica (it depends only on the log). */
void version_apply_raise(struct repl *r, int argc, const struct resp_arg *argv)
{
    if (argc != 2) return;
    uint64_t v = repl_arg_u64(&argv[1]);
    if (v > r->version.supported) {
        char what[160];
        snprintf(what, sizeof what,
                 "log entry %" PRIu64 ": it raises the cluster protocol version to %" PRIu64,
                 r->machine.applying_index, v);
        refuse(r, what, false);
        return;
    }
    if (v <= r->machine.active_version) return;
    log_info("The cluster's protocol version is now %" PRIu64 " (was %u), at log index %" PRIu64,
             v, r->machine.active_version, r->machine.applying_index);
    version_set_active(r, (unsigned)v);
}

void version_refuse_snapshot(struct repl *r, const char *what, unsigned found, unsigned known)
{
    char text[200];
    snprintf(text, sizeof text, "a snapshot: its %s is version %u, and this build knows up to %u",
             what, found, known);
    refuse(r, text, true);
}

void version_refuse_command(struct repl *r, const struct cmd_def *cmd)
{
    char text[200];
    snprintf(text, sizeof text,
             "log entry %" PRIu64 ": its command '%s' needs cluster protocol version %u",
             r->machine.applying_index, cmd->name, cmd_protocol_of(cmd));
    refuse(r, text, false);
}

/* The version every member that receives the log supports (this node's
 * own from this build): the highest the cluster may run. A member that has
 * not registered, or registered no version, counts as PROTOCOL_BASE. */
static unsigned cluster_supports(struct repl *r)
{
    const struct raft_configuration *c = &r->raft->configuration;
    unsigned lowest = r->version.supported;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].role == RAFT_SPARE || c->servers[i].id == r->cfg.node_id) continue;
        unsigned v = repl_member_protocol(r, c->servers[i].id);
        if (v < PROTOCOL_BASE) v = PROTOCOL_BASE;
        if (v < lowest) lowest = v;
    }
    return lowest;
}

void version_tick(struct repl *r)
{
    if (!r->node.raft_started || r->node.stopping) return;
    if (!node_is_leader(r) || r->lease.ready_term != raft_current_term(r->raft)) return;
    if (r->version.raise_seq && propose_find_pending(r, r->version.raise_seq)) return;
    /* None in flight: it applied (or timed out, and is proposed again). */
    r->version.raise_seq = 0;
    r->version.raising = 0;
    unsigned target = cluster_supports(r);
    if (target <= r->machine.active_version) return;
    char v[16];
    struct resp_arg argv[2] = {
        {VERSION_CMD, sizeof VERSION_CMD - 1},
        {v, (size_t)snprintf(v, sizeof v, "%u", target)},
    };
    log_info("Every member supports cluster protocol version %u: raising it from %u", target,
             r->machine.active_version);
    r->version.raising = target;
    r->version.raise_seq = propose_internal(r, 2, argv);
}
