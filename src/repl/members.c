/* repl/members.c — membership changes: RAFT NODE ADD on the leader.
 *
 * Adding a voter is libraft's two steps: raft_add (the node enters the
 * configuration as a spare), then raft_assign to RAFT_VOTER (the leader
 * first brings its log up to date, streaming a snapshot if the log was
 * compacted). The caller's reply slot is answered when both have
 * committed, or with the step that failed. Asking to add a node that is
 * already a voter at that address answers OK at once, so a joining node
 * that restarts can simply ask again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

struct add_req {
    struct raft_change change;
    struct repl *r;
    struct reply_slot *slot;
    uint64_t id;
    char addr[256];
};

static void answer(struct add_req *a, const char *fmt, const char *detail)
{
    char line[512];
    int n = snprintf(line, sizeof line, fmt, detail);
    slot_answer(a->slot, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    free(a);
}

static const char *change_error(int status)
{
    if (status == RAFT_CANTCHANGE) return "a membership change is already in progress, try again";
    if (status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST) return "leadership was lost, try again";
    return raft_strerror(status);
}

static void on_assigned(struct raft_change *req, int status)
{
    struct add_req *a = req->data;
    if (status != 0) {
        answer(a, "-ERR cannot make the node a voter: %s\r\n", change_error(status));
        return;
    }
    log_info("Node %" PRIu64 " (%s) is a voting member", a->id, a->addr);
    answer(a, "+OK%s\r\n", "");
}

static void assign(struct add_req *a)
{
    int rv = raft_assign(&a->r->raft, &a->change, a->id, RAFT_VOTER, on_assigned);
    if (rv != 0) answer(a, "-ERR cannot make the node a voter: %s\r\n", change_error(rv));
}

static void on_added(struct raft_change *req, int status)
{
    struct add_req *a = req->data;
    if (status != 0) {
        answer(a, "-ERR cannot add the node: %s\r\n", change_error(status));
        return;
    }
    assign(a);
}

void repl_add_voter(struct repl *r, struct reply_slot *slot, uint64_t id, const char *addr)
{
    slot->pending++;
    struct add_req *a = xcalloc(1, sizeof *a);
    a->r = r;
    a->slot = slot;
    a->id = id;
    a->change.data = a;
    snprintf(a->addr, sizeof a->addr, "%s", addr);
    if (!node_is_leader(r)) {
        const char *leader = repl_leader_client_addr(r);
        if (leader && leader[0])
            answer(a, "-ERR this node is not the leader; the leader is at %s\r\n", leader);
        else
            answer(a, "-ERR this node is not the leader and knows no leader yet%s\r\n", "");
        return;
    }
    const struct raft_configuration *conf = &r->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *s = &conf->servers[i];
        if (s->id == id && strcmp(s->address, addr) != 0) {
            answer(a, "-ERR that node id is already a member at %s\r\n", s->address);
            return;
        }
        if (s->id != id && strcmp(s->address, addr) == 0) {
            answer(a, "-ERR another member already has the address %s\r\n", addr);
            return;
        }
        if (s->id == id) {
            if (s->role == RAFT_VOTER) answer(a, "+OK%s\r\n", "");
            else assign(a);
            return;
        }
    }
    log_info("Adding node %" PRIu64 " at %s", id, addr);
    int rv = raft_add(&r->raft, &a->change, id, a->addr, on_added);
    if (rv != 0) answer(a, "-ERR cannot add the node: %s\r\n", change_error(rv));
}
