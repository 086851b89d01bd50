/* repl/link.c — a follower's connection to the leader.
 *
 * A follower does not propose: it sends each sealed batch to the leader's
 * client port as "PARLEY.FWD <origin> <seq> <n> <body>" (a RESP request any
 * Parley node understands) and the leader answers, once the batch is
 * applied, with an array of the raw replies, which go to the waiting
 * clients' slots. The link follows the leader that the log last announced.
 *
 * Any doubt ends the link: a closed socket, an error reply other than
 * "already applied" (PARLEYDUP), or a new leader. Everything sent on it goes
 * back to QUEUED and is sent again, in order, on the next link; apply's
 * dedup table skips what had in fact been applied. A batch that was applied
 * but whose reply was lost is answered by this node's own apply of it.
 *
 * The link is a peer connection (peerconn.c): before any batch, it proves
 * to the leader that it comes from a node of the cluster and checks that
 * the leader proves the same back (with tls-cluster, on the leader's
 * tls-port and over TLS, both sides showing certificates the CA signed); the leader runs PARLEY.FWD only on a
 * connection that did. A handshake that fails, or is not over in
 * HANDSHAKE_TIMEOUT_MS, ends the link like any other doubt. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"
#include "resp/reply.h"

#define RECONNECT_DELAY_US (100 * 1000)
#define HANDSHAKE_TIMEOUT_MS 3000
/* A forwarded body travels in bulk strings of at most this many bytes: the
 * least proto-max-bulk-len any node may have. */
#define FWD_PART_BYTES (1024 * 1024)

struct link {
    struct repl *r;
    struct peerconn *pc;
    uint64_t node, term;
    uint64_t *fifo; /* seqs awaiting a reply, oldest first */
    size_t fifo_head, fifo_len, fifo_cap;
};

static void link_drop(struct repl *r, const char *why)
{
    struct link *l = r->link.current;
    if (l == NULL) return;
    r->link.current = NULL;
    if (why) log_msg(LOG_VERBOSE, "Link to leader %" PRIu64 " closed: %s", l->node, why);
    propose_requeue_sent(r);
    r->link.retry_at_us = clock_mono_us() + RECONNECT_DELAY_US;
    peerconn_close(l->pc);
    free(l->fifo);
    free(l);
}

void link_close(struct repl *r)
{
    link_drop(r, NULL);
}

static void fifo_push(struct link *l, uint64_t seq)
{
    if (l->fifo_len == l->fifo_cap) {
        size_t cap = l->fifo_cap ? l->fifo_cap * 2 : 16;
        uint64_t *f = xmalloc(cap * sizeof *f);
        for (size_t i = 0; i < l->fifo_len; i++) f[i] = l->fifo[(l->fifo_head + i) % l->fifo_cap];
        free(l->fifo);
        l->fifo = f;
        l->fifo_cap = cap;
        l->fifo_head = 0;
    }
    l->fifo[(l->fifo_head + l->fifo_len++) % l->fifo_cap] = seq;
}

static bool fifo_pop(struct link *l, uint64_t *seq)
{
    if (l->fifo_len == 0) return false;
    *seq = l->fifo[l->fifo_head];
    l->fifo_head = (l->fifo_head + 1) % l->fifo_cap;
    l->fifo_len--;
    return true;
}

/* --------------------------------------------------------------------
 * Replies from the leader
 * ------------------------------------------------------------------ */

/* An error in place of a batch's replies (p: the whole reply line). */
static bool handle_refusal(struct link *l, const char *p, size_t len)
{
    struct repl *r = l->r;
    size_t eol = len - 2;
    uint64_t seq = 0;
    fifo_pop(l, &seq);
    /* Already applied: this node's own apply answers it. */
    if (eol >= 10 && memcmp(p, "-PARLEYDUP", 10) == 0) return true;
    /* Not the leader (any more): drop the link, send again elsewhere. */
    if (eol >= 10 && memcmp(p, "-NOTLEADER", 10) == 0) {
        log_msg(LOG_VERBOSE, "Forwarded batch refused: %.*s", (int)eol - 1, p + 1);
        return false;
    }
    /* Refused for what it is: sending it again would be refused again.
     * Its commands get the leader's error; they were not applied. */
    struct batch *b = propose_find_pending(r, seq);
    log_warn("Leader refused a forwarded batch: %.*s", (int)eol - 1, p + 1);
    if (b && b->state == BATCH_SENT) {
        for (uint32_t i = 0; i < b->n; i++) {
            if (b->slots[i]) slot_answer(b->slots[i], p, len);
            b->slots[i] = NULL;
        }
        propose_remove(r, b);
    }
    return true;
}

/* One whole reply to a PARLEY.FWD: an error, or an array of the raw
 * replies of the batch's commands as bulk strings. Returns false if the
 * stream makes no sense (the link must end). */
static bool handle_reply(struct link *l, const char *p, size_t len)
{
    struct repl *r = l->r;
    if (p[0] == '-') return handle_refusal(l, p, len);
    struct resp_reply_head h;
    if (resp_reply_head(p, len, &h) != 1 || h.type != '*' || h.n < 0) return false;
    uint64_t seq;
    if (!fifo_pop(l, &seq)) return false;
    struct batch *b = propose_find_pending(r, seq);
    if (b == NULL || b->state != BATCH_SENT || b->n != (uint64_t)h.n) return true;
    size_t at = h.head_len;
    struct command_reader cr;
    command_reader_init(&cr, b->body.data, b->body.len);
    for (long long i = 0; i < h.n; i++) {
        struct resp_reply_head e;
        if (resp_reply_head(p + at, len - at, &e) != 1 || e.type != '$' || e.n < 0) return false;
        at += e.head_len;
        size_t blen = (size_t)e.n;
        /* The command itself, for a blocked one's waiter. */
        struct entry_command ec;
        int rc = command_next_in(&cr, &ec, &r->machine.args);
        if (b->slots[i] && blen == 0 && rc > 0 && r->hooks.on_blocked) {
            /* An empty reply: the command blocked; the server waits. */
            r->hooks.on_blocked(r->hooks.ctx, b->slots[i], ec.db, ec.proto, ec.argc, r->machine.args.argv);
        } else if (b->slots[i] && rc > 0 && note_is(p + at, blen) && r->hooks.on_blocked) {
            /* Blocked with a wait note: wait with the note's command. */
            struct resp_arg *note_argv = NULL;
            int note_argc = note_parse(p + at, blen, &note_argv);
            r->hooks.on_blocked(r->hooks.ctx, b->slots[i], ec.db, ec.proto,
                                note_argc ? note_argc : ec.argc, note_argc ? note_argv : r->machine.args.argv);
            free(note_argv);
        } else if (b->slots[i]) {
            slot_answer(b->slots[i], p + at, blen);
        }
        b->slots[i] = NULL;
        at += blen + 2;
    }
    argv_room_trim(&r->machine.args);
    propose_remove(r, b);
    return true;
}

/* --------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------ */

void link_flush(struct repl *r)
{
    struct link *l = r->link.current;
    if (l == NULL || !peerconn_ready(l->pc)) return;
    peerconn_flush(l->pc);
}

static void append_bulk(struct buf *out, const void *p, size_t len)
{
    buf_printf(out, "$%zu\r\n", len);
    buf_append(out, p, len);
    buf_append_str(out, "\r\n");
}

void link_send_queued(struct repl *r)
{
    struct link *l = r->link.current;
    if (l == NULL || !peerconn_ready(l->pc)) return;
    struct buf *out = peerconn_out(l->pc);
    for (struct batch *b = r->prop.pending_head; b; b = b->next) {
        if (b->state != BATCH_QUEUED) continue;
        char num[3][24];
        int len[3];
        len[0] = snprintf(num[0], sizeof num[0], "%" PRIu64, r->prop.origin);
        len[1] = snprintf(num[1], sizeof num[1], "%" PRIu64, b->seq);
        len[2] = snprintf(num[2], sizeof num[2], "%u", b->n);
        /* The body in parts the leader reads whatever its proto-max-bulk-len. */
        size_t parts = b->body.len ? (b->body.len + FWD_PART_BYTES - 1) / FWD_PART_BYTES : 1;
        buf_printf(out, "*%zu\r\n$10\r\nPARLEY.FWD\r\n", 4 + parts);
        for (int i = 0; i < 3; i++) append_bulk(out, num[i], (size_t)len[i]);
        for (size_t off = 0, i = 0; i < parts; i++, off += FWD_PART_BYTES) {
            size_t part = b->body.len - off < FWD_PART_BYTES ? b->body.len - off : FWD_PART_BYTES;
            append_bulk(out, b->body.data + off, part);
        }
        b->state = BATCH_SENT;
        b->sent_term = l->term;
        fifo_push(l, b->seq);
        r->prop.batches_forwarded++;
    }
}

/* --------------------------------------------------------------------
 * The connection
 * ------------------------------------------------------------------ */

/* The leader took our proof: this connection may forward. */
static void on_ready(void *arg)
{
    struct link *l = arg;
    log_msg(LOG_VERBOSE, "Forwarding to leader %" PRIu64 " (term %" PRIu64 ")", l->node, l->term);
    link_send_queued(l->r);
    link_flush(l->r);
}

static void on_reply(void *arg, const char *reply, size_t len)
{
    struct link *l = arg;
    if (!handle_reply(l, reply, len)) link_drop(l->r, "unexpected reply");
}

static void on_fail(void *arg, const char *why)
{
    struct link *l = arg;
    link_drop(l->r, why);
}

void link_update(struct repl *r)
{
    if (r->loop == NULL) return; /* no event loop (repl/fsm.h): nothing to connect */
    uint64_t node = r->machine.announced_node, term = r->machine.announced_term;
    if (r->link.current && (r->link.current->node != node || r->link.current->term != term)) link_drop(r, "new leader");
    if (r->link.current || node == 0 || node == r->cfg.node_id) return;
    if (clock_mono_us() < r->link.retry_at_us) return;
    const char *addr = repl_member_peer_addr(r, node);
    if (addr == NULL || addr[0] == '\0') {
        r->link.retry_at_us = clock_mono_us() + RECONNECT_DELAY_US;
        return;
    }
    struct link *l = xcalloc(1, sizeof *l);
    l->r = r;
    l->node = node;
    l->term = term;
    r->link.current = l;
    propose_requeue_sent(r);
    struct peerconn_handlers h = {.arg = l, .on_ready = on_ready, .on_reply = on_reply,
                                  .on_fail = on_fail};
    l->pc = peerconn_open(r, addr, node, HANDSHAKE_TIMEOUT_MS, &h);
}
