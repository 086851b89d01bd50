/* repl/propose.c — the proposer: from submitted commands to log entries.
 *
 * Commands submitted during one event-loop tick go into one batch. At the
 * end of the tick the batch is sealed with the next sequence number of this
 * process (`origin`) and joins the pending list, in sequence order. A
 * leader puts every queued batch (and the batches followers forwarded to
 * it) into one Raft entry; a follower forwards queued batches to the leader
 * over its link. A batch stays pending until this node applies it (the
 * replies are written then) or until request-timeout-ms passes.
 *
 * Ordering rule that makes re-sending safe: for one origin, batches reach
 * the log in sequence order. Apply skips a batch whose seq is not above the
 * highest applied for its origin, so a re-sent batch is never applied
 * twice. Hence, whenever the target changes (this node wins a term, or the
 * follower's link moves to a new leader or reconnects), every batch sent
 * earlier goes back to QUEUED and everything is sent again from the lowest
 * pending seq: batches that did commit are skipped as duplicates, the others
 * are applied, and none overtakes another.
 *
 * Read lease: an entry we proposed at monotonic time t and that committed
 * was acknowledged by a quorum whose members then refuse to vote for anyone
 * else until their election timer (at least their election timeout) runs
 * out (libraft rejects votes while it has a leader, Raft thesis §4.2.3).
 * Until t + 0.8 x the smallest election timeout of any voter no other leader
 * can exist, so reads served from our keyspace are linearizable. Every node
 * registers its timeout in the replicated member table (__member); while a
 * voter's is unknown there is no lease and reads go through the log. The
 * margin covers clock-rate drift and the delay between a message's arrival
 * and libraft timestamping it. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/lua_sandbox.h"
#include "repl/internal.h"

/* What a follower hears for a forwarded batch this node cannot take: it
 * sends its batches again to whoever leads. */
#define NOT_LEADER_REPLY "-NOTLEADER this node is not the Raft leader\r\n"
/* Added to an error for commands that may have reached the log. */
#define MAYBE_EXECUTED "; the command may or may not have been executed"

/* --------------------------------------------------------------------
 * Batches and slots
 * ------------------------------------------------------------------ */

void slot_answer(struct reply_slot *slot, const char *raw, size_t len)
{
    if (slot == NULL) return;
    CHECK(slot->pending > 0); /* one answer per command submitted */
    buf_append(&slot->reply, raw, len);
    if (--slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
}

static struct batch *batch_new(bool internal)
{
    struct batch *b = xcalloc(1, sizeof *b);
    b->internal = internal;
    b->created_us = clock_mono_us();
    return b;
}

void batch_free(struct batch *b)
{
    buf_free(&b->body);
    free(b->slots);
    free(b);
}

static void batch_add_slot(struct batch *b, struct reply_slot *slot, int db, int proto, int argc,
                           const struct resp_arg *argv)
{
    entry_write_command(&b->body, db, proto, argc, argv);
    if (b->n == b->slots_cap) {
        b->slots_cap = b->slots_cap ? b->slots_cap * 2 : 8;
        b->slots = xrealloc(b->slots, b->slots_cap * sizeof *b->slots);
    }
    b->slots[b->n++] = slot;
}

static void batch_add(struct batch *b, struct reply_slot *slot, int db, int proto, int argc,
                      const struct resp_arg *argv)
{
    batch_add_slot(b, slot, db, proto, argc, argv);
    if (slot) slot->pending++;
}

static void seal(struct repl *r, struct batch *b)
{
    b->seq = ++r->prop.next_seq;
    b->state = BATCH_QUEUED;
    /* The pending list is in seq order: re-sending depends on it. */
    CHECK(r->prop.pending_tail == NULL || r->prop.pending_tail->seq < b->seq);
    if (r->prop.pending_tail) r->prop.pending_tail->next = b;
    else r->prop.pending_head = b;
    r->prop.pending_tail = b;
    r->prop.n_pending++;
    r->prop.pending_size += b->body.len;
}

static void seal_current(struct repl *r)
{
    if (r->prop.current == NULL) return;
    seal(r, r->prop.current);
    r->prop.current = NULL;
}

struct batch *propose_internal_batch(void)
{
    return batch_new(true);
}

void propose_internal_add(struct batch *b, int db, int argc, const struct resp_arg *argv)
{
    batch_add(b, NULL, db, 2, argc, argv);
}

/* The batch still collecting this tick's commands takes its sequence number
 * when it is sealed, so b, sealed now, reaches the log before it. */
void propose_seal_first(struct repl *r, struct batch *b)
{
    seal(r, b);
}

struct batch *propose_find_pending(struct repl *r, uint64_t seq)
{
    for (struct batch *b = r->prop.pending_head; b; b = b->next) {
        if (b->seq == seq) return b;
        if (b->seq > seq) break;
    }
    return NULL;
}

void propose_remove(struct repl *r, struct batch *b)
{
    struct batch *prev = NULL;
    for (struct batch *x = r->prop.pending_head; x && x != b; x = x->next) prev = x;
    if (prev) prev->next = b->next;
    else r->prop.pending_head = b->next;
    if (r->prop.pending_tail == b) r->prop.pending_tail = prev;
    CHECK(r->prop.n_pending > 0 && r->prop.pending_size >= b->body.len);
    r->prop.n_pending--;
    r->prop.pending_size -= b->body.len;
    expire_batch_gone(r, b->seq);
    memory_batch_gone(r, b->seq);
    batch_free(b);
    if (r->prop.blocked && r->prop.pending_size < r->cfg.max_inflight_bytes / 2) {
        r->prop.blocked = false;
        if (r->hooks.on_unblocked) r->hooks.on_unblocked(r->hooks.ctx);
    }
}

/* Answers every command of b that has no reply yet with `error`. */
static void batch_fail(struct batch *b, const char *error)
{
    size_t len = strlen(error);
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->slots[i]) slot_answer(b->slots[i], error, len);
        b->slots[i] = NULL;
    }
}

void propose_on_applied_own(struct repl *r, struct batch *b)
{
    if (b->state == BATCH_SENT && b->sent_term == raft_current_term(r->raft) &&
        node_is_leader(r)) {
        int64_t until = b->proposed_us + r->lease.window_us;
        if (r->lease.window_us > 0 && until > r->lease.until_us) r->lease.until_us = until;
    }
    batch_fail(b, "-ERR internal error: command lost in a malformed batch\r\n");
    propose_remove(r, b);
}

void propose_overtaken(struct repl *r, uint64_t seq)
{
    while (r->prop.pending_head && r->prop.pending_head->seq < seq) {
        struct batch *b = r->prop.pending_head;
        log_warn("Batch %" PRIu64 " of this node was overtaken in the log by batch %" PRIu64
                 "; its %" PRIu32 " commands were not executed",
                 b->seq, seq, b->n);
        batch_fail(b, "-TRYAGAIN the command was not executed (a later batch of this node reached the "
                      "Raft log first); send it again\r\n");
        propose_remove(r, b);
    }
}

void propose_fail_all(struct repl *r, const char *error)
{
    seal_current(r);
    while (r->prop.pending_head) {
        struct batch *b = r->prop.pending_head;
        batch_fail(b, error);
        propose_remove(r, b);
    }
}

void propose_refuse_all(struct repl *r, bool sent_too)
{
    const char *why = repl_disk_refusal(r);
    if (why == NULL) return;
    char never[300], maybe[360];
    snprintf(never, sizeof never, "-%s\r\n", why);
    snprintf(maybe, sizeof maybe, "-%s" MAYBE_EXECUTED "\r\n", why);
    seal_current(r);
    for (struct batch *b = r->prop.pending_head, *next; b; b = next) {
        next = b->next;
        if (b->internal) continue;
        bool never_sent = b->state == BATCH_QUEUED && b->sent_term == 0;
        if (!never_sent && !sent_too) continue;
        batch_fail(b, never_sent ? never : maybe);
        propose_remove(r, b);
    }
}

/* Everything sent before goes back to QUEUED, to be sent again in order. */
void propose_requeue_sent(struct repl *r)
{
    for (struct batch *b = r->prop.pending_head; b; b = b->next)
        if (b->state == BATCH_SENT) b->state = BATCH_QUEUED;
}

/* --------------------------------------------------------------------
 * Submission
 * ------------------------------------------------------------------ */

/* The answer to a command that entry_command_bytes() cannot carry. */
#define TOO_LARGE "ERR command too large for the Raft log (over 4 GB once encoded)"
static const char too_large_reply[] = "-" TOO_LARGE "\r\n";

const char *repl_refuse(int argc, const struct resp_arg *argv)
{
    return entry_command_bytes(argc, argv) ? NULL : TOO_LARGE;
}

/* Adds a command to this tick's batch. A batch holding commands already is
 * sealed first if this one would take it over max_entry_bytes, so a batch
 * is a single command or at most max_entry_bytes (what a follower forwards
 * stays within what the leader reads in one piece). Returns false, adding
 * nothing, when the command cannot be encoded at all: callers ask
 * repl_refuse() first and answer in their client's order; this is the last
 * line, so that nothing unencodable ever reaches a batch. */
static bool add_command(struct repl *r, struct reply_slot *slot, int db, int proto, int argc,
                        const struct resp_arg *argv)
{
    size_t bytes = entry_command_bytes(argc, argv);
    if (bytes == 0) {
        log_warn("Refused a command of %d arguments that no log entry can carry", argc);
        return false;
    }
    if (r->prop.current && r->prop.current->n > 0 && r->prop.current->body.len + bytes > r->cfg.max_entry_bytes)
        seal_current(r);
    if (r->prop.current == NULL) r->prop.current = batch_new(false);
    batch_add_slot(r->prop.current, slot, db, proto, argc, argv);
    return true;
}

void repl_resubmit(struct repl *r, struct reply_slot *slot, int db, int proto, int argc,
                   const struct resp_arg *argv)
{
    /* The slot counts the command already. */
    if (r->node.proposals_closed) {
        slot_answer(slot, SHUTDOWN_REPLY, sizeof SHUTDOWN_REPLY - 1);
        return;
    }
    if (!add_command(r, slot, db, proto, argc, argv))
        slot_answer(slot, too_large_reply, sizeof too_large_reply - 1);
}

bool repl_submit(struct repl *r, struct reply_slot *slot, int db, int proto, int argc,
                 const struct resp_arg *argv)
{
    if (slot) slot->pending++;
    /* A command read after the pending batches were failed on the way out
     * would sit in a batch nothing proposes or frees. */
    if (r->node.proposals_closed) {
        slot_answer(slot, SHUTDOWN_REPLY, sizeof SHUTDOWN_REPLY - 1);
        return true;
    }
    if (!add_command(r, slot, db, proto, argc, argv)) {
        slot_answer(slot, too_large_reply, sizeof too_large_reply - 1);
        return true;
    }
    if (r->prop.current->body.len >= r->cfg.max_entry_bytes) seal_current(r);
    if (r->prop.pending_size + (r->prop.current ? r->prop.current->body.len : 0) > r->cfg.max_inflight_bytes) {
        r->prop.blocked = true;
        return false;
    }
    return true;
}

void repl_submit_forwarded(struct repl *r, struct reply_slot *slot, uint64_t origin,
                           uint64_t seq, uint32_t n_commands, const char *body, size_t len)
{
    slot->pending++;
    if (!node_is_leader(r)) {
        const char *e = NOT_LEADER_REPLY;
        slot_answer(slot, e, strlen(e));
        return;
    }
    const char *misconf = repl_disk_refusal(r);
    if (misconf) { /* the follower answers its clients with it */
        char e[300];
        int n = snprintf(e, sizeof e, "-%s\r\n", misconf);
        slot_answer(slot, e, (size_t)n);
        return;
    }
    struct foreign *f = xcalloc(1, sizeof *f);
    f->origin = origin;
    f->seq = seq;
    f->n = n_commands;
    f->slot = slot;
    if (r->prop.foreign_tail) r->prop.foreign_tail->next = f;
    else r->prop.foreign_head = f;
    r->prop.foreign_tail = f;
    struct buf gated = BUF_INIT;
    if (memory_gate(r, body, len, &gated)) {
        body = gated.data;
        len = gated.len;
    }
    entry_write_batch(&r->prop.foreign_bodies, origin, seq, n_commands, body, len);
    buf_free(&gated);
    r->prop.foreign_count++;
    r->prop.batches_forwarded++;
}

/* --------------------------------------------------------------------
 * Proposing (leader)
 * ------------------------------------------------------------------ */


static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct proposal *p = req->data;
    struct repl *r = p->r;
    CHECK(r->prop.inflight_bytes >= p->bytes);
    r->prop.inflight_bytes -= p->bytes;
    if (status == 0) histogram_observe(&r->prop.commit_seconds, clock_mono_us() - p->start_us);
    else if (!r->node.stopping)
        log_msg(LOG_VERBOSE, "Entry not applied as leader: %s", raft_strerror(status));
    free(p);
}

static int64_t entry_time(struct repl *r)
{
    int64_t now = clock_wall_ms();
    if (now < r->prop.time_floor_ms) now = r->prop.time_floor_ms;
    if (now < r->machine.apply_time_ms) now = r->machine.apply_time_ms;
    r->prop.time_floor_ms = now;
    return now;
}

/* Offers a finished entry to libraft. RAFT_NOSPACE (fewer than a majority
 * of voters have log space reserved, diskwatch.c) or RAFT_NOTLEADER:
 * libraft did not take it and the entry is still the caller's, as it was;
 * after any other failure the caller's buffer is empty. */
static int offer_entry(struct repl *r, struct buf *entry)
{
    CHECK(entry->len <= ENTRY_BYTES_MAX); /* libraft's 32-bit entry length */
    struct proposal *p = xcalloc(1, sizeof *p);
    p->r = r;
    p->bytes = entry->len;
    p->req.data = p;
    struct raft_buffer rb;
    rb.base = entry->data;
    rb.len = entry->len;
    /* libraft frees the entry: it leaves Parley's memory count now (the
     * log is not data, and maxmemory counts data; base/mem.h). */
    mem_disown(rb.base);
    p->start_us = clock_mono_us();
    int rv = raft_apply(r->raft, &p->req, &rb, 1, on_applied);
    if (rv == RAFT_NOSPACE || rv == RAFT_NOTLEADER) {
        /* Refused before libraft took it (ClientSubmit checks leadership,
         * a transfer under way included, and space before it appends):
         * nothing of it is in the log and the entry is still ours. */
        free(p);
        mem_own(entry->data);
        if (rv == RAFT_NOSPACE) diskwatch_nospace(r);
        return rv;
    }
    if (rv != 0) {
        /* After appending it to its in-memory log libraft frees the buffer
         * itself when it fails (logDiscard); a failure before that leaves it
         * ours: which one is not told, so leak it rather than risk a double
         * free. Failures here mean leadership was lost. */
        log_msg(LOG_VERBOSE, "raft_apply: %s (%s)", raft_strerror(rv), raft_errmsg(r->raft));
        free(p);
        buf_init(entry);
        return rv;
    }
    buf_init(entry); /* libraft owns the memory now */
    diskwatch_taken(r);
    r->prop.inflight_bytes += p->bytes;
    r->prop.entries_proposed++;
    return 0;
}

static int propose_entry(struct repl *r, struct buf *entry)
{
    entry_finish(entry);
    return offer_entry(r, entry);
}

/* A batch put in an entry libraft never took is as it was before. */
static void unsend(struct batch *b)
{
    b->state = BATCH_QUEUED;
    b->sent_term = b->sent_term_before;
}

/* The held entry is given up (its commands were never in the log): its
 * batches are queued again as they were before it was built, and the
 * forwarded batches are answered: NOTLEADER (the follower sends them again
 * to whoever leads) or, when this node's disk is full, MISCONF (final;
 * earlier entries may have held some of them). */
static void drop_held(struct repl *r, bool disk_full)
{
    if (r->prop.held.len == 0) return;
    buf_free(&r->prop.held);
    for (struct batch *b = r->prop.pending_head; b; b = b->next) {
        if (b->held && b->state == BATCH_SENT) unsend(b);
        b->held = false;
    }
    if (r->prop.held_foreign) {
        char misconf[360];
        if (disk_full)
            snprintf(misconf, sizeof misconf, "-%s" MAYBE_EXECUTED "\r\n", repl_disk_refusal(r));
        foreign_fail_all(r, disk_full ? misconf : NOT_LEADER_REPLY);
    }
    r->prop.held_foreign = false;
}

/* Offers the held entry again; true once nothing is held. */
static bool offer_held(struct repl *r)
{
    if (r->prop.held.len == 0) return true;
    int rv = offer_entry(r, &r->prop.held);
    if (rv == RAFT_NOSPACE) return false;
    if (rv != 0) {
        drop_held(r, false);
        return false;
    }
    for (struct batch *b = r->prop.pending_head; b; b = b->next) b->held = false;
    r->prop.held_foreign = false;
    return true;
}

static void start_entry(struct repl *r, struct buf *entry)
{
    /* The longest string commands of this entry may make, on every node:
     * proto-max-bulk-len, but no more than this machine could hold. */
    long long physical = mem_physical_bytes() > LLONG_MAX ? LLONG_MAX : (long long)mem_physical_bytes();
    struct entry_header h = {
        .time_ms = entry_time(r),
        .seed = dict_rand64(&r->prop.seed_rng),
        .max_bulk_len = r->cfg.max_bulk_len < physical ? r->cfg.max_bulk_len : physical,
        .script_budget = SANDBOX_BUDGET,
        .script_memory = SANDBOX_MEMORY_BYTES,
        .protocol = version_entry_protocol(r),
    };
    buf_init(entry);
    entry_write_header(entry, &h);
}

static bool anything_queued(struct repl *r)
{
    if (r->prop.foreign_count) return true;
    for (struct batch *b = r->prop.pending_head; b; b = b->next)
        if (b->state == BATCH_QUEUED) return true;
    return false;
}

/* Whether a batch of body_len bytes still fits the entry being built. */
static bool entry_has_room(const struct buf *entry, size_t body_len)
{
    return entry->len + ENTRY_BATCH_HEADER_BYTES + body_len <= ENTRY_BYTES_MAX;
}

/* Builds entries from the queued batches and the forwarded ones: an entry
 * is proposed once it reaches max_entry_bytes, or before a batch that would
 * take it past what libraft can store (ENTRY_BYTES_MAX). */
static void propose_queued(struct repl *r)
{
    if (!offer_held(r) || !anything_queued(r)) return;
    int rv = 0;
    bool foreign_proposed = false; /* an entry holding forwarded batches went to libraft */
    bool in_entry_foreign = false; /* the entry being built holds forwarded batches */
    size_t foreign_left = SIZE_MAX; /* where the forwarded batches not in an entry start */
    uint32_t foreign_taken = 0;    /* forwarded batches put in entries */
    uint64_t term = raft_current_term(r->raft);
    int64_t now = clock_mono_us();
    struct buf entry;
    start_entry(r, &entry);
    size_t empty_len = entry.len;
    struct batch *sent_from = NULL;
    for (struct batch *b = r->prop.pending_head; b; b = b->next) {
        if (b->state != BATCH_QUEUED) continue;
        if (r->prop.inflight_bytes + entry.len > r->cfg.max_inflight_bytes && r->prop.inflight_bytes) break;
        /* The gate's verdict goes into the entry only: the batch keeps its
         * clients' commands, so that if it is sent again (this entry not
         * proposed, or not committed before a leader change) whoever
         * proposes it then judges them, and a follower forwards nothing
         * but what a client sent (PARLEY.FWD refuses internal commands). */
        struct buf gated = BUF_INIT;
        const char *body = b->body.data;
        size_t body_len = b->body.len;
        if (memory_gate(r, body, body_len, &gated)) {
            body = gated.data;
            body_len = gated.len;
        }
        if (entry.len > empty_len && !entry_has_room(&entry, body_len)) {
            if ((rv = propose_entry(r, &entry)) != 0) {
                buf_free(&gated);
                goto failed;
            }
            start_entry(r, &entry);
            sent_from = NULL;
        }
        entry_write_batch(&entry, r->prop.origin, b->seq, b->n, body, body_len);
        buf_free(&gated);
        b->state = BATCH_SENT;
        b->sent_term_before = b->sent_term;
        b->sent_term = term;
        b->proposed_us = now;
        if (sent_from == NULL) sent_from = b;
        r->prop.batches_proposed++;
        if (entry.len >= r->cfg.max_entry_bytes) {
            if ((rv = propose_entry(r, &entry)) != 0) goto failed;
            start_entry(r, &entry);
            sent_from = NULL;
        }
    }
    if (r->prop.foreign_count) {
        /* Checked when they arrived (PARLEY.FWD): well-formed batches. */
        const unsigned char *bodies = (const unsigned char *)r->prop.foreign_bodies.data;
        struct entry_reader fr = {bodies, bodies + r->prop.foreign_bodies.len};
        struct entry_batch fb;
        for (const unsigned char *at = fr.p; entry_next_batch(&fr, &fb) == 1; at = fr.p) {
            if (entry.len > empty_len && !entry_has_room(&entry, fb.body_len)) {
                if ((rv = propose_entry(r, &entry)) != 0) {
                    foreign_left = (size_t)(at - bodies);
                    goto failed;
                }
                foreign_proposed = true;
                start_entry(r, &entry);
            }
            entry_write_batch(&entry, fb.origin, fb.seq, fb.n_commands, fb.body, fb.body_len);
            in_entry_foreign = true;
            foreign_taken++;
        }
        buf_clear(&r->prop.foreign_bodies);
        r->prop.foreign_count = 0;
        foreign_taken = 0;
    }
    if (entry.len > empty_len) {
        if ((rv = propose_entry(r, &entry)) != 0) goto failed;
    } else {
        buf_free(&entry);
    }
    return;
failed:
    if (rv == RAFT_NOSPACE && !r->disk.error) {
        /* Space on disk is being reserved (libraft prepares its log
         * segments ahead, on this node and the others): the entry waits,
         * whole, and is offered again before anything newer, so that the
         * order of batches holds. The forwarded batches not in it stay
         * queued. */
        r->prop.held = entry;
        r->prop.held_foreign = in_entry_foreign;
        for (struct batch *b = sent_from; b; b = b->next)
            if (b->state == BATCH_SENT && b->sent_term == term) b->held = true;
        if (foreign_left != SIZE_MAX) {
            buf_consume(&r->prop.foreign_bodies, foreign_left);
            r->prop.foreign_count -= foreign_taken;
        }
        return;
    }
    buf_free(&entry);
    /* Not leader any more, or no room on disk: what this entry carried is
     * sent again later; libraft never took it, so a batch it held first is
     * still one never sent (propose_refuse_all answers it as not
     * executed). */
    for (struct batch *b = sent_from; b; b = b->next)
        if (b->sent_term == term && b->state == BATCH_SENT) unsend(b);
    /* libraft refused an entry for want of disk: the forwarded batches get
     * MISCONF, which the follower gives its clients as final; if an entry
     * holding some of them was taken before, which ones is not tracked, so
     * all hear that they may or may not have been executed. */
    const char *why = rv == RAFT_NOSPACE ? repl_disk_refusal(r) : NULL;
    char misconf[360];
    if (why)
        snprintf(misconf, sizeof misconf, "-%s%s\r\n", why, foreign_proposed ? MAYBE_EXECUTED : "");
    foreign_fail_all(r, why ? misconf : NOT_LEADER_REPLY);
    buf_clear(&r->prop.foreign_bodies);
    r->prop.foreign_count = 0;
}

uint64_t propose_internal(struct repl *r, int argc, const struct resp_arg *argv)
{
    seal_current(r);
    struct batch *b = batch_new(true);
    batch_add(b, NULL, 0, 2, argc, argv);
    seal(r, b);
    return b->seq;
}

/* The first batch of every term we lead: tells every replica where this
 * leader's clients connect, and marks the point after which we may serve
 * reads (everything committed before it has been applied). */
static void propose_announce(struct repl *r, uint64_t term)
{
    char id[24], t[24], et[24];
    snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id);
    snprintf(t, sizeof t, "%" PRIu64, term);
    version_registration_arg(r, et, sizeof et);
    const char *tls = r->cfg.tls_announce_addr ? r->cfg.tls_announce_addr : "";
    struct resp_arg argv[6] = {
        {ANNOUNCE_CMD, strlen(ANNOUNCE_CMD)},
        {id, strlen(id)},
        {t, strlen(t)},
        {r->node.announce_addr, strlen(r->node.announce_addr)},
        {et, strlen(et)},
        {tls, strlen(tls)},
    };
    propose_internal(r, tls[0] ? 6 : 5, argv);
}

/* A follower registers its client address and election timeout with each
 * new leader (once per announced term): the leader's read lease may not
 * outlast the shortest election timeout of any voter. */
static void propose_member(struct repl *r)
{
    char id[24], et[24];
    snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id);
    version_registration_arg(r, et, sizeof et);
    const char *tls = r->cfg.tls_announce_addr ? r->cfg.tls_announce_addr : "";
    struct resp_arg argv[5] = {
        {MEMBER_CMD, strlen(MEMBER_CMD)},
        {id, strlen(id)},
        {r->node.announce_addr, strlen(r->node.announce_addr)},
        {et, strlen(et)},
        {tls, strlen(tls)},
    };
    propose_internal(r, tls[0] ? 5 : 4, argv);
    r->lease.member_sent_term = r->machine.announced_term;
}

/* 0.8 x the smallest election timeout among the voters, or 0 (no lease)
 * while some voter has not registered its timeout yet. */
static int64_t lease_window_us(struct repl *r)
{
    const struct raft_configuration *c = &r->raft->configuration;
    unsigned smallest = 0;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].role != RAFT_VOTER) continue;
        unsigned et = c->servers[i].id == r->cfg.node_id
                          ? r->cfg.election_timeout_ms
                          : repl_member_election_timeout(r, c->servers[i].id);
        if (et == 0) return 0;
        if (smallest == 0 || et < smallest) smallest = et;
    }
    return (int64_t)smallest * 800;
}

static bool single_voter(struct repl *r)
{
    const struct raft_configuration *c = &r->raft->configuration;
    unsigned voters = 0;
    bool me = false;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->servers[i].role != RAFT_VOTER) continue;
        voters++;
        if (c->servers[i].id == r->cfg.node_id) me = true;
    }
    return voters == 1 && me;
}

/* Whether the lease covers a read now; `renew`: a read is being served,
 * so a lease past half its window is renewed (an empty batch). Reporting
 * it (INFO, RAFT INFO) renews nothing: polling them put an entry in the
 * log every ~120 ms, and replicas' applied indexes never stood still. */
static bool lease_holds(struct repl *r, bool renew)
{
    if (!r->cfg.lease_reads || !node_is_leader(r)) return false;
    uint64_t term = raft_current_term(r->raft);
    if (r->lease.ready_term != term || raft_transferee(r->raft) != 0) return false;
    if (raft_last_applied(r->raft) < raft_commit_index(r->raft)) return false;
    if (single_voter(r)) return true;
    int64_t now = clock_mono_us();
    if (now >= r->lease.until_us) return false;
    if (renew && r->lease.until_us - now < r->lease.window_us / 2) r->lease.wanted = true;
    return true;
}

bool repl_can_read_locally(struct repl *r)
{
    return lease_holds(r, true);
}

bool repl_lease_valid(struct repl *r)
{
    return lease_holds(r, false);
}

int64_t repl_read_time_ms(struct repl *r)
{
    int64_t now = clock_wall_ms();
    if (now < r->machine.apply_time_ms) now = r->machine.apply_time_ms;
    if (now < r->prop.time_floor_ms) now = r->prop.time_floor_ms;
    return now;
}

/* --------------------------------------------------------------------
 * The tick
 * ------------------------------------------------------------------ */

static void on_lost_leadership(struct repl *r)
{
    drop_held(r, false);
    foreign_fail_all(r, NOT_LEADER_REPLY);
    buf_clear(&r->prop.foreign_bodies);
    r->prop.foreign_count = 0;
    r->lease.until_us = 0;
}

/* Counts each leadership this node sees: a leader id, or a term with one,
 * other than the last seen. */
static void count_leader_change(struct repl *r, uint64_t term)
{
    raft_id leader = 0;
    const char *addr;
    raft_leader(r->raft, &leader, &addr);
    if (leader == 0 || (leader == r->prop.seen_leader && term == r->prop.seen_leader_term)) return;
    if (r->prop.seen_leader != 0) r->prop.leader_changes++;
    r->prop.seen_leader = leader;
    r->prop.seen_leader_term = term;
}

void propose_tick(struct repl *r)
{
    memory_tick(r); /* evictions go ahead of the writes of this tick */
    expire_fast_cycle(r); /* and so do expired keys' deletions */
    seal_current(r);
    if (!r->node.raft_started || r->node.stopping) return;
    node_watch(r);
    /* The disk cannot take the log (diskwatch.c): what this node's clients
     * sent goes no further (a write is refused in dispatch already; this is
     * a read that needed the log, or a script), and when libraft holds
     * entries it cannot write, their clients hear it now. */
    if (r->disk.error) {
        drop_held(r, true);
        propose_refuse_all(r, r->disk.refuse_sent);
        r->disk.refuse_sent = false;
    }
    int state = raft_state(r->raft);
    uint64_t term = raft_current_term(r->raft);
    if (r->prop.last_state == RAFT_LEADER && (state != RAFT_LEADER || term != r->prop.last_term))
        on_lost_leadership(r);
    bool announced = false;
    if (state == RAFT_LEADER && (r->prop.last_state != RAFT_LEADER || term != r->prop.last_term)) {
        log_info("This node is the Raft leader for term %" PRIu64, term);
        propose_requeue_sent(r);
        propose_announce(r, term);
        announced = true;
    }
    if (r->prop.announce_again) { /* a new client address (repl_set_announce_addr) */
        r->prop.announce_again = false;
        if (state == RAFT_LEADER && !announced) propose_announce(r, term);
        else if (state != RAFT_LEADER) r->lease.member_sent_term = 0; /* registers below */
    }
    r->prop.last_state = state;
    r->prop.last_term = term;
    count_leader_change(r, term);
    int64_t window = lease_window_us(r);
    if (window < r->lease.window_us) {
        /* A voter registered a shorter election timeout: it may stand for
         * election that much sooner, so a lease taken on the longer one
         * ends no later than a lease taken now would. */
        int64_t until = clock_mono_us() + window;
        if (r->lease.until_us > until) r->lease.until_us = until;
    }
    r->lease.window_us = window;
    if (r->lease.window_us == 0) r->lease.until_us = 0;
    if (state != RAFT_LEADER && r->machine.announced_node && r->machine.announced_node != r->cfg.node_id &&
        r->lease.member_sent_term != r->machine.announced_term)
        propose_member(r);
    if (state == RAFT_LEADER) {
        if (r->lease.wanted && r->lease.ready_term == term && r->prop.n_pending == 0) {
            /* Renew the lease before it runs out: an empty batch. */
            seal(r, batch_new(true));
        }
        r->lease.wanted = false;
        propose_queued(r);
    } else {
        link_update(r);
        link_send_queued(r);
    }
}

void repl_set_announce_addr(struct repl *r, const char *addr)
{
    free(r->node.announce_addr);
    r->node.announce_addr = xstrdup(addr);
    r->cfg.announce_addr = r->node.announce_addr;
    r->prop.announce_again = true;
}

void propose_housekeeping(struct repl *r)
{
    int64_t now = clock_mono_us();
    int64_t limit = (int64_t)r->cfg.request_timeout_ms * 1000;
    for (struct batch *b = r->prop.pending_head, *next; b; b = next) {
        next = b->next;
        if (now - b->created_us < limit) continue;
        if (b->state == BATCH_QUEUED && b->sent_term == 0) {
            batch_fail(b, "-CLUSTERDOWN no Raft leader could be reached; the command was not "
                          "executed\r\n");
        } else {
            batch_fail(b, "-TIMEOUT the Raft leader did not answer in time; the command may or "
                          "may not have been executed\r\n");
        }
        propose_remove(r, b);
    }
}
