/* repl/members.c — membership changes and leadership transfer:
 * RAFT NODE ADD / PROMOTE / REMOVE and RAFT TRANSFER.
 *
 * The leader carries them out with libraft; any other node passes the
 * command on to the leader (an ask, repl/ask.c) and relays its one-line
 * answer, so an operator can type them on any node.
 *
 *   ADD id addr [VOTER]  libraft's two steps: raft_add (the node enters the
 *                        configuration as a spare), then raft_assign to
 *                        RAFT_VOTER (the leader first brings its log up to
 *                        date, streaming a snapshot if the log was
 *                        compacted). Asking again for a member at that
 *                        address answers OK at once (without a role: in
 *                        whatever role it has), so a joining node that
 *                        restarts, or was added as an observer before it
 *                        started, can simply ask.
 *   ADD id addr OBSERVER raft_add, then raft_assign to RAFT_STANDBY: it
 *                        receives the log and never votes.
 *   PROMOTE id           an observer (or spare) becomes a voter.
 *   REMOVE id            raft_remove. Removing the leader itself first
 *                        hands leadership to another voter (raft_transfer)
 *                        and then passes the removal to the new leader.
 *   TRANSFER [id]        raft_transfer; id 0 lets libraft pick the most
 *                        up-to-date voter.
 *
 * libraft refuses a change while another is in progress (RAFT_CANTCHANGE);
 * such a step is tried again on the housekeeping ticks for a few seconds
 * (a new leader's inherited configuration, or one repl/confguard.c is
 * about to repair, clears within them) before the error is answered.
 *
 * Each request answers its reply slot exactly once: when the change has
 * committed, with the step that failed, or with an error at shutdown. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

/* libraft gives a transfer one election timeout; a target that is behind
 * under load may need another. */
#define TRANSFER_ATTEMPTS 3
/* Passing a command on to the leader: an add may wait for a snapshot. */
#define RELAY_ANSWER_MS 30000
/* How long a step refused with RAFT_CANTCHANGE is tried again. */
#define CANTCHANGE_RETRY_MS 5000

struct member_req {
    struct repl_member_change ch;
    char addr[256];
    struct repl *r;
    struct reply_slot *slot;
    struct raft_change change;
    struct raft_transfer transfer;
    struct ask *ask;                /* relaying to the leader */
    bool in_libraft;                /* a libraft callback is pending */
    int64_t transfer_deadline_us;   /* answer by then even if libraft has not */
    int transfer_attempts;
    void (*retry)(struct member_req *); /* a refused step, tried again on a tick */
    int64_t retry_until_us;
    struct member_req *next;        /* r->member_reqs */
};

static void unlink_req(struct member_req *m)
{
    for (struct member_req **p = &m->r->member_reqs; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            return;
        }
}

/* Answers the slot with one line (fmt has the RESP type byte and CRLF),
 * once: a request answered early keeps waiting for its libraft callback. */
static void reply(struct member_req *m, const char *fmt, va_list ap)
{
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 2] = '\r';
        line[n - 1] = '\n';
    }
    slot_answer(m->slot, line, (size_t)n);
    m->slot = NULL;
}

/* Answers (unless already answered) and frees the request. */
static void answer(struct member_req *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void answer(struct member_req *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->slot) reply(m, fmt, ap);
    va_end(ap);
    unlink_req(m);
    free(m);
}

static void answer_early(struct member_req *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void answer_early(struct member_req *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->slot) reply(m, fmt, ap);
    va_end(ap);
}

static const char *change_error(int status)
{
    if (status == RAFT_CANTCHANGE) return "a membership change is already in progress, try again";
    if (status == RAFT_NOTLEADER || status == RAFT_LEADERSHIPLOST)
        return "leadership was lost, try again";
    return raft_strerror(status);
}

static const char *role_word(int role)
{
    return role == RAFT_STANDBY ? "an observer" : role == RAFT_VOTER ? "a voter" : "a spare";
}

/* ------------------------------------------------------------------
 * Relaying to the leader
 * ---------------------------------------------------------------- */

static void on_relayed(void *arg, const char *line, size_t len)
{
    struct member_req *m = arg;
    m->ask = NULL;
    answer(m, "%.*s\r\n", (int)len, line);
}

/* The command again, as the leader should receive it. */
static int command_words(const struct member_req *m, const char *words[6], char id[24])
{
    snprintf(id, 24, "%" PRIu64, m->ch.id);
    switch (m->ch.op) {
    case REPL_NODE_ADD:
        words[0] = "RAFT", words[1] = "NODE", words[2] = "ADD", words[3] = id;
        words[4] = m->addr, words[5] = m->ch.observer ? "OBSERVER" : "VOTER";
        return m->ch.role_given ? 6 : 5;
    case REPL_NODE_PROMOTE:
    case REPL_NODE_REMOVE:
        words[0] = "RAFT", words[1] = "NODE";
        words[2] = m->ch.op == REPL_NODE_PROMOTE ? "PROMOTE" : "REMOVE", words[3] = id;
        return 4;
    case REPL_TRANSFER:
        words[0] = "RAFT", words[1] = "TRANSFER", words[2] = id;
        return 3;
    }
    return 0;
}

static void relay(struct member_req *m)
{
    if (m->r->node.stopping) {
        answer(m, "-ERR server is shutting down\r\n");
        return;
    }
    raft_id leader = 0;
    const char *leader_raft_addr;
    if (m->r->node.raft_started) raft_leader(m->r->raft, &leader, &leader_raft_addr);
    const char *addr = leader ? repl_member_peer_addr(m->r, leader) : NULL;
    if (addr == NULL || addr[0] == '\0') {
        answer(m, "-ERR no leader is known right now, try again\r\n");
        return;
    }
    const char *words[6];
    char id[24];
    int n = command_words(m, words, id);
    /* Only the leader we asked may answer: another node at that address
     * (one that took it over, or a process posing as it) is refused. */
    m->ask = ask_start(m->r, addr, leader, n, words, RELAY_ANSWER_MS, on_relayed, m);
}

/* ------------------------------------------------------------------
 * On the leader
 * ---------------------------------------------------------------- */

static void on_assigned(struct raft_change *req, int status)
{
    struct member_req *m = req->data;
    m->in_libraft = false;
    if (status != 0) {
        answer(m, "-ERR cannot change the node's role: %s\r\n", change_error(status));
        return;
    }
    log_info("Node %" PRIu64 " is %s", m->ch.id,
             role_word(m->ch.op == REPL_NODE_ADD && m->ch.observer ? RAFT_STANDBY : RAFT_VOTER));
    answer(m, "+OK\r\n");
}

/* Whether a step refused with rv is to be tried again later (it is then
 * left waiting for members_tick). */
static bool retry_later(struct member_req *m, int rv, void (*step)(struct member_req *))
{
    if (rv != RAFT_CANTCHANGE) return false;
    int64_t now = clock_mono_us();
    if (m->retry_until_us == 0) m->retry_until_us = now + CANTCHANGE_RETRY_MS * 1000LL;
    if (now >= m->retry_until_us) return false;
    m->retry = step;
    return true;
}

/* The role an ADD or PROMOTE gives the node. */
static int target_role(const struct member_req *m)
{
    return m->ch.op == REPL_NODE_ADD && m->ch.observer ? RAFT_STANDBY : RAFT_VOTER;
}

static void assign(struct member_req *m)
{
    int rv = raft_assign(m->r->raft, &m->change, m->ch.id, target_role(m), on_assigned);
    if (rv == 0) m->in_libraft = true;
    else if (!retry_later(m, rv, assign))
        answer(m, "-ERR cannot change the node's role: %s\r\n", change_error(rv));
}

static void on_added(struct raft_change *req, int status)
{
    struct member_req *m = req->data;
    m->in_libraft = false;
    if (status != 0) {
        answer(m, "-ERR cannot add the node: %s\r\n", change_error(status));
        return;
    }
    assign(m);
}

static const struct raft_server *find_member(struct repl *r, uint64_t id)
{
    const struct raft_configuration *conf = &r->raft->configuration;
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id) return &conf->servers[i];
    return NULL;
}

static void add(struct member_req *m)
{
    struct repl *r = m->r;
    int role = target_role(m);
    const struct raft_configuration *conf = &r->raft->configuration;
    for (unsigned i = 0; i < conf->n; i++) {
        const struct raft_server *s = &conf->servers[i];
        if (s->id == m->ch.id && strcmp(s->address, m->addr) != 0) {
            answer(m, "-ERR that node id is already a member at %s\r\n", s->address);
            return;
        }
        if (s->id != m->ch.id && strcmp(s->address, m->addr) == 0) {
            answer(m, "-ERR another member already has the address %s\r\n", m->addr);
            return;
        }
    }
    const struct raft_server *s = find_member(r, m->ch.id);
    if (s && (s->role == role || !m->ch.role_given)) {
        answer(m, "+OK\r\n");
    } else if (s && s->role == RAFT_VOTER) {
        answer(m, "-ERR node %" PRIu64 " is already a voter\r\n", m->ch.id);
    } else if (s) {
        assign(m);
    } else {
        int rv = raft_add(r->raft, &m->change, m->ch.id, m->addr, on_added);
        if (rv == 0) {
            log_info("Adding node %" PRIu64 " at %s as %s", m->ch.id, m->addr, role_word(role));
            m->in_libraft = true;
        } else if (!retry_later(m, rv, add)) {
            answer(m, "-ERR cannot add the node: %s\r\n", change_error(rv));
        }
    }
}

static void on_removed(struct raft_change *req, int status)
{
    struct member_req *m = req->data;
    m->in_libraft = false;
    if (status != 0) {
        answer(m, "-ERR cannot remove the node: %s\r\n", change_error(status));
        return;
    }
    log_info("Node %" PRIu64 " is no longer a member", m->ch.id);
    answer(m, "+OK\r\n");
}

static void transfer_then(struct member_req *m);

static void remove_member(struct member_req *m)
{
    struct repl *r = m->r;
    const struct raft_server *s = find_member(r, m->ch.id);
    if (s == NULL) {
        answer(m, "-ERR node %" PRIu64 " is not a member\r\n", m->ch.id);
        return;
    }
    if (m->ch.id == r->cfg.node_id) { /* the leader itself: hand over first */
        transfer_then(m);
        return;
    }
    int rv = raft_remove(r->raft, &m->change, m->ch.id, on_removed);
    if (rv == 0) m->in_libraft = true;
    else if (!retry_later(m, rv, remove_member))
        answer(m, "-ERR cannot remove the node: %s\r\n", change_error(rv));
}

/* After a transfer: answer TRANSFER, or pass a removal of ourselves on to
 * the new leader. */
static void on_transferred(struct raft_transfer *req)
{
    struct member_req *m = req->data;
    struct repl *r = m->r;
    m->in_libraft = false;
    if (m->slot == NULL) { /* answered at its deadline */
        answer(m, "%s", "");
        return;
    }
    raft_id leader = 0;
    const char *addr;
    raft_leader(r->raft, &leader, &addr);
    bool moved = leader != 0 && leader != r->cfg.node_id &&
                 (m->ch.op != REPL_TRANSFER || m->ch.id == 0 || leader == m->ch.id);
    if (!moved && leader == r->cfg.node_id && ++m->transfer_attempts < TRANSFER_ATTEMPTS &&
        raft_transfer(r->raft, &m->transfer, m->ch.op == REPL_TRANSFER ? m->ch.id : 0,
                      on_transferred) == 0) {
        m->in_libraft = true; /* the target was not caught up in time: again */
        return;
    }
    if (!moved) {
        answer(m, "-ERR leadership transfer did not complete in time, try again\r\n");
        return;
    }
    log_info("Leadership handed over to node %" PRIu64, (uint64_t)leader);
    if (m->ch.op == REPL_TRANSFER) answer(m, "+OK\r\n");
    else relay(m);
}

static void transfer_then(struct member_req *m)
{
    struct repl *r = m->r;
    raft_id target = m->ch.op == REPL_TRANSFER ? m->ch.id : 0;
    if (target == r->cfg.node_id) {
        answer(m, "+OK\r\n"); /* already the leader */
        return;
    }
    const struct raft_server *s = target ? find_member(r, target) : NULL;
    if (target && (s == NULL || s->role != RAFT_VOTER)) {
        answer(m, "-ERR node %" PRIu64 " is not a voting member\r\n", m->ch.id);
        return;
    }
    m->transfer.data = m;
    m->transfer_deadline_us = clock_mono_us() + 1000000 +
                              (TRANSFER_ATTEMPTS + 1) * 1000 * (int64_t)r->cfg.election_timeout_ms;
    int rv = raft_transfer(r->raft, &m->transfer, target, on_transferred);
    if (rv == RAFT_NOTFOUND) answer(m, "-ERR there is no other voter to hand leadership to\r\n");
    else if (rv != 0) answer(m, "-ERR cannot transfer leadership: %s\r\n", change_error(rv));
    else m->in_libraft = true;
}

static void promote(struct member_req *m)
{
    const struct raft_server *s = find_member(m->r, m->ch.id);
    if (s == NULL) answer(m, "-ERR node %" PRIu64 " is not a member\r\n", m->ch.id);
    else if (s->role == RAFT_VOTER) answer(m, "+OK\r\n");
    else assign(m);
}

/* Carries the request out here if we lead, else passes it on. */
static void dispatch(struct member_req *m)
{
    if (!node_is_leader(m->r)) {
        relay(m);
        return;
    }
    switch (m->ch.op) {
    case REPL_NODE_ADD: add(m); break;
    case REPL_NODE_PROMOTE: promote(m); break;
    case REPL_NODE_REMOVE: remove_member(m); break;
    case REPL_TRANSFER: transfer_then(m); break;
    }
}

void repl_change_members(struct repl *r, struct reply_slot *slot,
                         const struct repl_member_change *ch)
{
    slot->pending++;
    struct member_req *m = xcalloc(1, sizeof *m);
    m->ch = *ch;
    if (ch->addr) snprintf(m->addr, sizeof m->addr, "%s", ch->addr);
    m->ch.addr = m->addr;
    m->r = r;
    m->slot = slot;
    m->change.data = m;
    m->next = r->member_reqs;
    r->member_reqs = m;
    if (r->node.stopping) {
        answer(m, "-ERR server is shutting down\r\n");
        return;
    }
    dispatch(m);
}

/* libraft promises a transfer's callback within an election timeout, but
 * does not always keep it (seen when the target is down): the client is
 * answered at our own deadline, and the request freed at the callback
 * (raft_close makes the last one). */
void members_tick(struct repl *r)
{
    int64_t now = clock_mono_us();
    struct member_req *m = r->member_reqs, *next;
    for (; m; m = next) {
        next = m->next; /* a retried step may answer and free m */
        if (m->in_libraft && m->transfer_deadline_us && now > m->transfer_deadline_us)
            answer_early(m, "-ERR leadership transfer did not complete in time, try again\r\n");
        if (m->retry == NULL) continue;
        void (*step)(struct member_req *) = m->retry;
        m->retry = NULL;
        if (r->node.stopping)
            answer(m, "-ERR server is shutting down\r\n");
        else if (step != assign) /* add or remove: from the start, here or on the leader */
            dispatch(m);
        else if (node_is_leader(r))
            assign(m);
        else /* the node was added, not assigned */
            answer(m, "-ERR cannot change the node's role: %s\r\n",
                   change_error(RAFT_LEADERSHIPLOST));
    }
}

/* Shutdown: relays are cancelled and answered now; requests inside
 * libraft are answered by their callbacks when raft closes. */
void members_close(struct repl *r)
{
    struct member_req *m = r->member_reqs, *next;
    for (; m; m = next) {
        next = m->next;
        if (m->ask) {
            ask_cancel(m->ask);
            m->ask = NULL;
            answer(m, "-ERR server is shutting down; the change may or may not have been "
                      "made\r\n");
        } else if (m->retry) {
            answer(m, "-ERR server is shutting down\r\n");
        }
    }
}
