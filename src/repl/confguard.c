/* repl/confguard.c — repairs a configuration that libraft 0.22.1 leaves
 * marked "uncommitted" after it has been committed and applied.
 *
 * libraft refuses every membership change (RAFT_CANTCHANGE, "a membership
 * change is already in progress") while `configuration_uncommitted_index`
 * is set, and clears it only when the legacy layer applies that entry and
 * steps the RAFT_CONFIGURATION event it queued. Some paths set the index
 * for an entry that will never be applied again: a restart whose snapshot
 * already covers the entry but carries an older configuration (the
 * snapshot was taken between the entry's apply and its configuration
 * event), so the log's copy is taken as uncommitted. The fault suite saw a
 * new leader answer CANTCHANGE for every change, for as long as it led.
 *
 * Between two libraft calls, an uncommitted index at or below the applied
 * index can only be that stuck state (a live one is cleared inside the same
 * call that applies it). The entry is committed, and `configuration` is its
 * content (libraft keeps them equal while the index is set), so we do what
 * libraft's own apply does: record it as the committed configuration. Run
 * from the housekeeping timer, outside any libraft call. */
#include <inttypes.h>

#include "base/log.h"
#include "repl/internal.h"

void confguard_tick(struct repl *r)
{
    struct raft *raft = r->raft;
    if (!r->raft_started) return;
    raft_index stuck = raft->configuration_uncommitted_index;
    if (stuck == 0 || stuck > raft_last_applied(raft) || stuck > raft_commit_index(raft)) return;

    struct raft_configuration copy;
    raft_configuration_init(&copy);
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        const struct raft_server *s = &raft->configuration.servers[i];
        if (raft_configuration_add(&copy, s->id, s->address, s->role) != 0) {
            raft_configuration_close(&copy);
            return; /* out of memory: try again on the next tick */
        }
    }
    log_warn("libraft left the configuration of entry %" PRIu64 " marked uncommitted after "
             "applying it (applied %" PRIu64 "); recording it as committed",
             (uint64_t)stuck, (uint64_t)raft_last_applied(raft));
    raft_configuration_close(&raft->configuration_committed);
    raft->configuration_committed = copy;
    raft->configuration_committed_index = stuck;
    raft->configuration_uncommitted_index = 0;
    r->config_repairs++;
}
