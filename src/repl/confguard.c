/* repl/confguard.c — repairs the configuration index that libraft 0.22.1
 * leaves "uncommitted" on a follower.
 *
 * A follower that appends a batch of entries records a RAFT_CHANGE among
 * them as uncommitted under the index of the batch's first entry, not its
 * own (replication.c, `membershipUncommittedChange(r, index, entry)`; the
 * leader's path passes `index + i`). When the entry is applied, its index
 * does not match, so `configuration_uncommitted_index` is never cleared
 * and `configuration_committed` never updated. Such a node, once leader,
 * refuses every membership change (RAFT_CANTCHANGE, "a membership change
 * is already in progress"), and the snapshots it takes carry the older
 * committed configuration. The fault suite found it after removals and
 * re-adds.
 *
 * The recorded index is a lower bound of the real entry's, and the entry
 * was in the log when we first saw the index set, so once everything that
 * was then in the log is applied (same term, same index still set), the
 * entry is committed and applied and the flag is stale. `configuration` is
 * that entry's content (libraft keeps them equal while the flag is set),
 * so we do what libraft's own apply would have done: record it as the
 * committed configuration. Runs from the housekeeping timer, outside any
 * libraft call. */
#include <inttypes.h>

#include "base/log.h"
#include "repl/internal.h"

void confguard_tick(struct repl *r)
{
    struct raft *raft = r->raft;
    if (!r->node.raft_started) return;
    raft_index flagged = raft->configuration_uncommitted_index;
    raft_term term = raft_current_term(raft);
    if (flagged == 0) {
        r->conf_seen.index = 0;
        return;
    }
    if (r->conf_seen.index != flagged || r->conf_seen.term != term) {
        r->conf_seen.index = flagged; /* first sight: the entry is at or before last */
        r->conf_seen.term = term;
        r->conf_seen.last = raft_last_index(raft);
        return;
    }
    if (raft_last_applied(raft) < r->conf_seen.last) return;

    struct raft_configuration copy;
    raft_configuration_init(&copy);
    for (unsigned i = 0; i < raft->configuration.n; i++) {
        const struct raft_server *s = &raft->configuration.servers[i];
        if (raft_configuration_add(&copy, s->id, s->address, s->role) != 0) {
            raft_configuration_close(&copy);
            return; /* out of memory: try again on the next tick */
        }
    }
    log_warn("libraft left a configuration marked uncommitted (index %" PRIu64
             ") after applying it (applied %" PRIu64 "); recording it as committed",
             (uint64_t)flagged, (uint64_t)raft_last_applied(raft));
    raft_configuration_close(&raft->configuration_committed);
    raft->configuration_committed = copy;
    raft->configuration_committed_index = flagged;
    raft->configuration_uncommitted_index = 0;
    r->conf_seen.index = 0;
    r->config_repairs++;
}
