/* repl/repl.c — start, stop, the per-tick flush and introspection: the
 * public face of repl/ (see repl.h). The work itself is in node.c (libraft),
 * propose.c (batches), apply.c (the state machine) and link.c (forwarding). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

#define HOUSEKEEPING_MS 100

static uint64_t random_nonzero(void)
{
    uint64_t v = 0;
    while (v == 0)
        if (getrandom(&v, sizeof v, 0) != sizeof v) v = (uint64_t)clock_mono_us();
    return v;
}

static void stop_now(struct repl *r);

static void on_housekeeping(uv_timer_t *t)
{
    struct repl *r = t->data;
    propose_housekeeping(r);
    expire_slow_cycle(r);
    memory_tick(r);
    join_tick(r);
    members_tick(r);
    confguard_tick(r);
    divergence_tick(r);
    poison_tick(r);
    version_tick(r);
    diskwatch_tick(r);
    store_housekeeping(r->store);
    if (r->node.stop_transferring && clock_mono_us() > r->node.stop_deadline_us) {
        log_warn("Leadership was not handed over in time; shutting down anyway");
        r->node.stop_transferring = false;
        stop_now(r);
    }
}

struct repl *repl_start(uv_loop_t *loop, struct store *store, const struct repl_config *cfg,
                        const struct repl_hooks *hooks, char *err, size_t errlen)
{
    struct repl *r = xcalloc(1, sizeof *r);
    r->raft = &r->node.raft_storage;
    r->loop = loop;
    r->store = store;
    r->cfg = *cfg;
    if (hooks) r->hooks = *hooks;
    r->node.dir = xstrdup(cfg->dir);
    r->node.raft_addr = xstrdup(cfg->raft_addr);
    r->node.cluster = xstrdup(cfg->cluster);
    r->node.announce_addr = xstrdup(cfg->announce_addr);
    r->cfg.dir = r->node.dir;
    r->cfg.raft_addr = r->node.raft_addr;
    r->cfg.cluster = r->node.cluster;
    r->cfg.announce_addr = r->node.announce_addr;
    r->prop.origin = random_nonzero();
    r->machine.expire_rng = random_nonzero();
    r->prop.seed_rng = random_nonzero();
    r->prop.last_state = RAFT_UNAVAILABLE;
    if (cfg->apply_skip_index)
        log_warn("apply-skip-entry %" PRIu64 ": this node will not run the commands of log entry "
                 "%" PRIu64 "; every node must be given the same option (see 'Poisoned entries' "
                 "in the README)",
                 cfg->apply_skip_index, cfg->apply_skip_index);
    if (node_start(r, err, errlen) != 0) {
        fsm_close(r);
        free(r->node.dir);
        free(r->node.raft_addr);
        free(r->node.cluster);
        free(r->node.announce_addr);
        free(r);
        return NULL;
    }
    uv_timer_init(loop, &r->node.timer);
    r->node.timer.data = r;
    uv_timer_start(&r->node.timer, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    log_info("Raft node %" PRIu64 " started on %s (data in %s)", cfg->node_id, cfg->raft_addr,
             cfg->dir);
    return r;
}

void repl_flush(struct repl *r)
{
    propose_tick(r);
    link_flush(r);
    logfree_step(r);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct repl *r = h->data;
    if (--r->node.closing_handles == 0 && r->node.stop_cb) r->node.stop_cb(r->node.stop_arg);
}

static void stop_now(struct repl *r)
{
    propose_fail_all(r, SHUTDOWN_REPLY);
    r->node.proposals_closed = true;
    foreign_fail_all(r, SHUTDOWN_REPLY);
    link_close(r);
    join_close(r);
    members_close(r);
    r->node.closing_handles = 1;
    uv_close((uv_handle_t *)&r->node.timer, on_handle_closed);
    node_close(r);
}

#define STOP_TRANSFER_ATTEMPTS 3

static void on_stop_transfer(struct raft_transfer *req)
{
    struct repl *r = req->data;
    if (!r->node.stop_transferring) return; /* gave up waiting: already stopping */
    raft_id leader = 0;
    const char *addr;
    raft_leader(r->raft, &leader, &addr);
    if (leader == r->cfg.node_id && ++r->node.stop_transfer_attempts < STOP_TRANSFER_ATTEMPTS &&
        raft_transfer(r->raft, &r->node.stop_transfer, 0, on_stop_transfer) == 0)
        return; /* the chosen voter did not take over in time (behind?): again */
    r->node.stop_transferring = false;
    if (leader != 0 && leader != r->cfg.node_id)
        log_info("Leadership handed over to node %" PRIu64 " before shutting down",
                 (uint64_t)leader);
    else
        log_warn("Could not hand leadership over before shutting down");
    stop_now(r);
}

/* A leader with another voter hands leadership over first (libraft calls
 * back within an election timeout, done or not; we try a few times), so
 * the cluster does not wait out an election timeout to notice it is gone. */
void repl_stop(struct repl *r, void (*cb)(void *arg), void *arg)
{
    r->node.stopping = true;
    r->node.stop_cb = cb;
    r->node.stop_arg = arg;
    if (node_is_leader(r) && r->raft->configuration.n > 1) {
        r->node.stop_transfer.data = r;
        r->node.stop_transferring = true;
        r->node.stop_deadline_us = clock_mono_us() + (STOP_TRANSFER_ATTEMPTS + 1) * 1000 *
                                                    (int64_t)r->cfg.election_timeout_ms;
        if (raft_transfer(r->raft, &r->node.stop_transfer, 0, on_stop_transfer) == 0) {
            log_info("Handing leadership over before shutting down");
            return;
        }
        r->node.stop_transferring = false;
    }
    stop_now(r);
}

uint64_t repl_origin(struct repl *r)
{
    return r->prop.origin;
}

struct reply_slot *repl_applying_slot(struct repl *r)
{
    return r->machine.applying_slot;
}

void repl_set_max_bulk_len(struct repl *r, long long max_bulk_len)
{
    r->cfg.max_bulk_len = max_bulk_len;
}

void repl_free(struct repl *r)
{
    fsm_close(r);
    memory_close(r);
    logbound_close(r);
    logfree_close(r);
    buf_free(&r->prop.foreign_bodies);
    buf_free(&r->prop.held);
    free(r->node.dir);
    free(r->node.raft_addr);
    free(r->node.cluster);
    free(r->node.announce_addr);
    free(r);
}

void repl_get_info(struct repl *r, struct repl_info *info)
{
    memset(info, 0, sizeof *info);
    info->node_id = r->cfg.node_id;
    info->role = "unavailable";
    if (r->node.raft_started) {
        switch (raft_state(r->raft)) {
        case RAFT_LEADER: info->role = "leader"; break;
        case RAFT_FOLLOWER: info->role = "follower"; break;
        case RAFT_CANDIDATE: info->role = "candidate"; break;
        default: break;
        }
        info->term = raft_current_term(r->raft);
        const char *addr;
        raft_id id;
        raft_leader(r->raft, &id, &addr);
        info->leader_id = id;
        info->commit_index = raft_commit_index(r->raft);
        info->applied_index = raft_last_applied(r->raft);
        info->last_index = raft_last_index(r->raft);
    }
    const char *la = info->leader_id ? repl_member_client_addr(r, info->leader_id) : NULL;
    info->leader_addr = la ? la : "";
    info->entries_proposed = r->prop.entries_proposed;
    info->batches_proposed = r->prop.batches_proposed;
    info->commands_applied = r->machine.commands_applied;
    info->batches_forwarded = r->prop.batches_forwarded;
    info->duplicates_skipped = r->machine.duplicates_skipped;
    info->config_repairs = r->config_repairs;
    if (r->node.raft_started) {
        info->config_committed_index = r->raft->configuration_committed_index;
        info->config_uncommitted_index = r->raft->configuration_uncommitted_index;
    }
    info->inflight_bytes = r->prop.inflight_bytes;
    info->pending_batches = r->prop.n_pending;
    int64_t now = clock_mono_us();
    info->lease_valid = repl_lease_valid(r);
    info->lease_remaining_ms = r->lease.until_us > now ? (r->lease.until_us - now) / 1000 : 0;
    info->lease_window_ms = r->lease.window_us / 1000;
    info->election_timeout_ms = r->node.election_timeout_now_ms;
    info->divergence_checks_passed = r->div.passed;
    info->divergence_checks_failed = r->div.failed;
    info->divergence_last_failed_index = r->div.last_failed_index;
    info->apply_skipped = poison_skipped_text(r);
    info->expired_stale_perc = r->expire.stale_perc;
    info->expired_time_cap_reached_count = r->expire.time_cap_reached;
    info->expire_cycle_cpu_ms = r->expire.cpu_us / 1000;
    size_t applied_entries;
    info->log_bytes = logbound_bytes(r, &applied_entries);
    info->log_entries = applied_entries + (info->last_index > info->applied_index
                                               ? info->last_index - info->applied_index
                                               : 0);
    info->log_max_bytes = r->cfg.log_max_bytes;
    info->log_trailing_bytes = r->cfg.log_trailing_bytes;
    info->snapshots_by_bytes = r->logbound.snapshots_by_bytes;
    info->snapshot_child_pid = r->snapfork.child_pid;
    info->snapshot_buffer_bytes = r->snapfork.buffer_bytes;
    info->snapshots_started = r->snapfork.started;
    info->snapshots_taken = r->snapfork.taken;
    info->snapshot_last_taken_ms = r->snapfork.last_taken_ms;
    bgsave_get_info(r, info);
    /* A keyspace installed from a snapshot counts from 0 again. */
    uint64_t changes = r->store->changes;
    info->changes_since_snapshot = changes >= r->snapfork.last_changes ? changes - r->snapfork.last_changes
                                                                       : changes;
    info->snapshots_failed = r->snapfork.failed;
    info->snapshot_last_bytes = r->snapfork.last_bytes;
    info->snapshot_last_fork_us = r->snapfork.last_fork_us;
    info->disk_error = r->disk.error;
    info->disk_error_since_ms = r->disk.error ? r->disk.since_ms : 0;
    info->disk_error_reason = r->disk.reason;
    info->disk_last_errno = r->disk.last_errno;
    info->disk_write_errors = r->disk.errors_total;
    info->log_space_waits = r->disk.nospace_total;
    info->commit_seconds = &r->prop.commit_seconds;
    info->append_seconds = &r->disk.append_seconds;
    info->snapshot_seconds = &r->snapfork.seconds;
    info->leader_changes = r->prop.leader_changes;
    info->protocol_supported = r->version.supported;
    info->protocol_active = r->machine.active_version;
}

bool repl_internal_forwardable(const char *name, size_t len)
{
    return (len == strlen(MEMBER_CMD) && memcmp(name, MEMBER_CMD, len) == 0) ||
           (len == strlen(SKIPPED_CMD) && memcmp(name, SKIPPED_CMD, len) == 0);
}

const char *repl_member_peer_addr(struct repl *r, uint64_t node)
{
    return r->cfg.tls_cluster_client ? repl_member_tls_addr(r, node)
                                     : repl_member_client_addr(r, node);
}

unsigned repl_replicas_holding_commits(struct repl *r)
{
    if (!r->node.raft_started) return 0;
    const struct raft_configuration *c = &r->raft->configuration;
    unsigned voters = 0, caught_up = 0;
    bool leader = raft_state(r->raft) == RAFT_LEADER;
    for (unsigned i = 0; i < c->n; i++) {
        const struct raft_server *s = &c->servers[i];
        if (s->role == RAFT_VOTER) voters++;
        if (!leader || s->id == r->cfg.node_id) continue;
        raft_index match;
        if (raft_match_index(r->raft, s->id, &match) == 0 && match >= raft_commit_index(r->raft))
            caught_up++;
    }
    unsigned quorum_others = voters ? voters / 2 : 0; /* a majority, less this node */
    return caught_up > quorum_others ? caught_up : quorum_others;
}

size_t repl_members(struct repl *r, struct repl_member *out, size_t max)
{
    if (!r->node.raft_started) return 0;
    const struct raft_configuration *c = &r->raft->configuration;
    raft_id leader = 0;
    const char *leader_addr;
    raft_leader(r->raft, &leader, &leader_addr);
    bool leading = raft_state(r->raft) == RAFT_LEADER;
    size_t n = 0;
    for (unsigned i = 0; i < c->n && n < max; i++, n++) {
        const struct raft_server *s = &c->servers[i];
        const char *client = repl_member_client_addr(r, s->id);
        const char *tls = repl_member_tls_addr(r, s->id);
        if (client == NULL && s->id == r->cfg.node_id) {
            client = r->node.announce_addr;
            tls = r->cfg.tls_announce_addr;
        }
        out[n].id = s->id;
        out[n].raft_addr = s->address;
        out[n].role = s->role == RAFT_VOTER     ? "voter"
                      : s->role == RAFT_STANDBY ? "observer"
                                                : "spare";
        out[n].client_addr = client ? client : "";
        out[n].tls_client_addr = tls ? tls : "";
        out[n].leader = s->id == leader;
        out[n].self = s->id == r->cfg.node_id;
        raft_index match = 0;
        if (leading && !out[n].self && raft_match_index(r->raft, s->id, &match) != 0) match = 0;
        out[n].match_index = match;
        out[n].protocol = out[n].self ? r->version.supported : repl_member_protocol(r, s->id);
    }
    return n;
}
