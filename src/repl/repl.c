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

static void on_housekeeping(uv_timer_t *t)
{
    struct repl *r = t->data;
    propose_housekeeping(r);
    propose_expire_cycle(r);
    join_tick(r);
    store_housekeeping(r->store);
}

struct repl *repl_start(uv_loop_t *loop, struct store *store, const struct repl_config *cfg,
                        const struct repl_hooks *hooks, char *err, size_t errlen)
{
    struct repl *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->store = store;
    r->cfg = *cfg;
    if (hooks) r->hooks = *hooks;
    r->dir = xstrdup(cfg->dir);
    r->raft_addr = xstrdup(cfg->raft_addr);
    r->cluster = xstrdup(cfg->cluster);
    r->announce_addr = xstrdup(cfg->announce_addr);
    r->cfg.dir = r->dir;
    r->cfg.raft_addr = r->raft_addr;
    r->cfg.cluster = r->cluster;
    r->cfg.announce_addr = r->announce_addr;
    r->origin = random_nonzero();
    r->expire_rng = random_nonzero();
    r->seed_rng = random_nonzero();
    r->last_state = RAFT_UNAVAILABLE;
    if (node_start(r, err, errlen) != 0) {
        fsm_close(r);
        free(r->dir);
        free(r->raft_addr);
        free(r->cluster);
        free(r->announce_addr);
        free(r);
        return NULL;
    }
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    log_info("Raft node %" PRIu64 " started on %s (data in %s)", cfg->node_id, cfg->raft_addr,
             cfg->dir);
    return r;
}

void repl_flush(struct repl *r)
{
    propose_tick(r);
    link_flush(r);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct repl *r = h->data;
    if (--r->closing_handles == 0 && r->stop_cb) r->stop_cb(r->stop_arg);
}

void repl_stop(struct repl *r, void (*cb)(void *arg), void *arg)
{
    r->stopping = true;
    r->stop_cb = cb;
    r->stop_arg = arg;
    const char *bye = "-ERR server is shutting down; the command may or may not have been "
                      "executed\r\n";
    propose_fail_all(r, bye);
    foreign_fail_all(r, bye);
    link_close(r);
    join_close(r);
    r->closing_handles = 1;
    uv_close((uv_handle_t *)&r->timer, on_handle_closed);
    node_close(r);
}

uint64_t repl_origin(struct repl *r)
{
    return r->origin;
}

void repl_set_max_bulk_len(struct repl *r, long long max_bulk_len)
{
    r->cfg.max_bulk_len = max_bulk_len;
}

void repl_free(struct repl *r)
{
    fsm_close(r);
    buf_free(&r->foreign_bodies);
    free(r->dir);
    free(r->raft_addr);
    free(r->cluster);
    free(r->announce_addr);
    free(r);
}

void repl_get_info(struct repl *r, struct repl_info *info)
{
    memset(info, 0, sizeof *info);
    info->node_id = r->cfg.node_id;
    info->role = "unavailable";
    if (r->raft_started) {
        switch (raft_state(&r->raft)) {
        case RAFT_LEADER: info->role = "leader"; break;
        case RAFT_FOLLOWER: info->role = "follower"; break;
        case RAFT_CANDIDATE: info->role = "candidate"; break;
        default: break;
        }
        info->term = raft_current_term(&r->raft);
        const char *addr;
        raft_id id;
        raft_leader(&r->raft, &id, &addr);
        info->leader_id = id;
        info->commit_index = raft_commit_index(&r->raft);
        info->applied_index = raft_last_applied(&r->raft);
        info->last_index = raft_last_index(&r->raft);
    }
    const char *la = info->leader_id ? repl_member_client_addr(r, info->leader_id) : NULL;
    info->leader_addr = la ? la : "";
    info->entries_proposed = r->entries_proposed;
    info->batches_proposed = r->batches_proposed;
    info->commands_applied = r->commands_applied;
    info->batches_forwarded = r->batches_forwarded;
    info->duplicates_skipped = r->duplicates_skipped;
    info->inflight_bytes = r->inflight_bytes;
    info->pending_batches = r->n_pending;
    int64_t now = clock_mono_us();
    info->lease_valid = repl_can_read_locally(r);
    info->lease_remaining_ms = r->lease_until_us > now ? (r->lease_until_us - now) / 1000 : 0;
}

const char *repl_leader_client_addr(struct repl *r)
{
    if (!r->raft_started) return NULL;
    const char *addr;
    raft_id id;
    raft_leader(&r->raft, &id, &addr);
    return id ? repl_member_client_addr(r, id) : NULL;
}

void repl_members(struct repl *r, struct buf *out)
{
    if (!r->raft_started) return;
    const struct raft_configuration *c = &r->raft.configuration;
    for (unsigned i = 0; i < c->n; i++) {
        const struct raft_server *s = &c->servers[i];
        const char *client = repl_member_client_addr(r, s->id);
        buf_printf(out, "%llu@%s:%s:%s\n", (unsigned long long)s->id, s->address,
                   raft_role_name(s->role), client ? client : "");
    }
}
