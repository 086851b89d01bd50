/* repl/join.c — a node started with `join` asks to become a member.
 *
 * The node starts without bootstrapping a cluster of its own and sends
 * `RAFT NODE ADD <its id> <its raft-addr>` to the client port it was given
 * (any member: a follower passes it on to the leader; with tls-cluster,
 * a member's tls-port, over TLS with this node's certificate). It asks again every
 * JOIN_RETRY_MS until it is answered OK; a node already in the
 * configuration is answered OK at once, so a restarted node asks again
 * harmlessly. Driven by the housekeeping timer; an attempt is one ask. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "repl/internal.h"

#define JOIN_RETRY_MS 500
/* Adding a voter waits for it to catch up (a snapshot, perhaps). */
#define JOIN_ANSWER_MS 30000

static void on_answer(void *arg, const char *line, size_t len)
{
    struct repl *r = arg;
    r->join.attempt = NULL;
    if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
        log_info("Node %" PRIu64 " is a member of the cluster (joined through %s)",
                 r->cfg.node_id, r->cfg.join);
        r->join.done = true;
        return;
    }
    char why[256];
    snprintf(why, sizeof why, "%.*s", (int)(len > 1 ? len - 1 : 0), line + 1);
    if (strcmp(why, r->join.last_error) != 0) { /* say each distinct reason once */
        log_warn("Joining through %s: %s (asking again every %d ms)", r->cfg.join, why,
                 JOIN_RETRY_MS);
        snprintf(r->join.last_error, sizeof r->join.last_error, "%s", why);
    }
    r->join.retry_at_us = clock_mono_us() + JOIN_RETRY_MS * 1000;
}

void join_tick(struct repl *r)
{
    if (r->cfg.join == NULL || r->cfg.join[0] == '\0' || r->join.done || r->join.attempt || r->node.stopping)
        return;
    if (clock_mono_us() < r->join.retry_at_us) return;
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id);
    const char *argv[] = {"RAFT", "NODE", "ADD", id, r->node.raft_addr};
    r->join.attempt = ask_start(r, r->cfg.join, 0, 5, argv, JOIN_ANSWER_MS, on_answer, r);
}

void join_close(struct repl *r)
{
    if (r->join.attempt) ask_cancel(r->join.attempt);
    r->join.attempt = NULL;
}
