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
 * Before any batch, the link proves to the leader that it comes from a
 * node of the cluster, and the leader proves the same back (PARLEY.PEER
 * HELLO and PROVE, server/cmd_peer.c; the proofs are base/peerauth.h's):
 * the leader runs PARLEY.FWD only on a connection that did. A handshake
 * that fails, or is not over within HANDSHAKE_TIMEOUT_US of connecting,
 * ends the link like any other doubt.
 *
 * The link uses libuv directly (net/ is a higher layer than repl/). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

#define RECONNECT_DELAY_US (100 * 1000)
#define HANDSHAKE_TIMEOUT_US (3000 * 1000)
#define READ_CHUNK 16384
/* A forwarded body travels in bulk strings of at most this many bytes: the
 * least proto-max-bulk-len any node may have. */
#define FWD_PART_BYTES (1024 * 1024)
/* One uv_buf_t of a write holds at most this much (its length is unsigned). */
#define WRITE_PIECE_BYTES (1024u * 1024 * 1024)

enum link_stage {
    LINK_CONNECTING,
    LINK_HELLO_SENT,  /* PARLEY.PEER HELLO: awaiting the leader's nonce and proof */
    LINK_PROOF_SENT,  /* PARLEY.PEER PROVE: awaiting +OK */
    LINK_READY,       /* a peer's connection: batches may go */
};

struct link {
    struct repl *r;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uint64_t node, term;
    bool connected, writing, closing; /* connected: LINK_READY */
    enum link_stage stage;
    int64_t handshake_deadline_us;
    struct peerauth_transcript tr;
    uv_write_t handshake_req;
    struct buf handshake_out;
    struct buf out, inflight, in;
    uint64_t *fifo; /* seqs awaiting a reply, oldest first */
    size_t fifo_head, fifo_len, fifo_cap;
};

static void on_link_closed(uv_handle_t *h)
{
    struct link *l = h->data;
    buf_free(&l->out);
    buf_free(&l->inflight);
    buf_free(&l->in);
    buf_free(&l->handshake_out);
    free(l->fifo);
    free(l);
}

static void link_drop(struct repl *r, const char *why)
{
    struct link *l = r->link;
    if (l == NULL) return;
    r->link = NULL;
    l->closing = true;
    if (why) log_msg(LOG_VERBOSE, "Link to leader %" PRIu64 " closed: %s", l->node, why);
    propose_requeue_sent(r);
    r->link_retry_at_us = clock_mono_us() + RECONNECT_DELAY_US;
    uv_close((uv_handle_t *)&l->tcp, on_link_closed);
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

/* Finds "\r\n" at or after p; returns its offset or -1. */
static long find_crlf(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n') return (long)i;
    return -1;
}

static bool parse_len(const char *p, long n, long long *out)
{
    char tmp[24];
    if (n <= 0 || n >= (long)sizeof tmp) return false;
    memcpy(tmp, p, (size_t)n);
    tmp[n] = '\0';
    char *end;
    *out = strtoll(tmp, &end, 10);
    return *end == '\0';
}

/* Handles one complete reply at p; returns bytes used, 0 if incomplete,
 * -1 if the stream makes no sense. */
static long handle_reply(struct link *l, const char *p, size_t len)
{
    struct repl *r = l->r;
    long eol = find_crlf(p, len);
    if (eol < 0) return 0;
    if (p[0] == '-') {
        uint64_t seq = 0;
        fifo_pop(l, &seq);
        /* Already applied: this node's own apply answers it. */
        if (eol >= 10 && memcmp(p, "-PARLEYDUP", 10) == 0) return eol + 2;
        /* Not the leader (any more): drop the link, send again elsewhere. */
        if (eol >= 10 && memcmp(p, "-NOTLEADER", 10) == 0) {
            log_msg(LOG_VERBOSE, "Forwarded batch refused: %.*s", (int)eol - 1, p + 1);
            return -1;
        }
        /* Refused for what it is: sending it again would be refused again.
         * Its commands get the leader's error; they were not applied. */
        struct batch *b = propose_find_pending(r, seq);
        log_warn("Leader refused a forwarded batch: %.*s", (int)eol - 1, p + 1);
        if (b && b->state == BATCH_SENT) {
            for (uint32_t i = 0; i < b->n; i++) {
                if (b->slots[i]) slot_answer(b->slots[i], p, (size_t)eol + 2);
                b->slots[i] = NULL;
            }
            propose_remove(r, b);
        }
        return eol + 2;
    }
    long long n;
    if (p[0] != '*' || !parse_len(p + 1, eol - 1, &n) || n < 0) return -1;
    /* First pass: is the whole array here? */
    size_t off = (size_t)eol + 2;
    for (long long i = 0; i < n; i++) {
        long e = find_crlf(p + off, len - off);
        if (e < 0) return 0;
        long long blen;
        if (p[off] != '$' || !parse_len(p + off + 1, e - 1, &blen) || blen < 0) return -1;
        if (len - off < (size_t)e + 2 + (size_t)blen + 2) return 0;
        off += (size_t)e + 2 + (size_t)blen + 2;
    }
    uint64_t seq;
    if (!fifo_pop(l, &seq)) return -1;
    struct batch *b = propose_find_pending(r, seq);
    if (b && b->state == BATCH_SENT && b->n == (uint32_t)n) {
        size_t at = (size_t)eol + 2;
        struct command_reader cr;
        command_reader_init(&cr, b->body.data, b->body.len);
        for (long long i = 0; i < n; i++) {
            long e = find_crlf(p + at, len - at);
            long long blen = 0;
            parse_len(p + at + 1, e - 1, &blen);
            at += (size_t)e + 2;
            /* The command itself, for a blocked one's waiter. */
            struct entry_command ec;
            int need = 0, rc;
            while ((rc = command_next(&cr, &ec, r->argv, r->argv_cap, &need)) < 0 && need > r->argv_cap) {
                r->argv_cap = need;
                r->argv = xrealloc(r->argv, (size_t)need * sizeof *r->argv);
                need = 0;
            }
            if (b->slots[i] && blen == 0 && rc > 0 && r->hooks.on_blocked) {
                /* An empty reply: the command blocked; the server waits. */
                r->hooks.on_blocked(r->hooks.ctx, b->slots[i], ec.db, ec.proto, ec.argc, r->argv);
            } else if (b->slots[i] && rc > 0 && note_is(p + at, (size_t)blen) && r->hooks.on_blocked) {
                /* Blocked with a wait note: wait with the note's command. */
                struct resp_arg *note_argv = NULL;
                int note_argc = note_parse(p + at, (size_t)blen, &note_argv);
                r->hooks.on_blocked(r->hooks.ctx, b->slots[i], ec.db, ec.proto,
                                    note_argc ? note_argc : ec.argc, note_argc ? note_argv : r->argv);
                free(note_argv);
            } else if (b->slots[i]) {
                slot_answer(b->slots[i], p + at, (size_t)blen);
            }
            b->slots[i] = NULL;
            at += (size_t)blen + 2;
        }
        propose_remove(r, b);
    }
    return (long)off;
}

/* --------------------------------------------------------------------
 * The peer handshake
 * ------------------------------------------------------------------ */

static struct peerauth_limiter refused_log;

static const char *secret_of(const struct repl *r)
{
    return r->cfg.cluster_secret ? r->cfg.cluster_secret : "";
}

static void on_handshake_written(uv_write_t *req, int status)
{
    struct link *l = req->data;
    if (l->closing) return;
    if (status < 0) link_drop(l->r, uv_strerror(status));
}

/* Sends "PARLEY.PEER <word> <args>..." (bulk strings). */
static void handshake_send(struct link *l, int argc, const char *const *argv)
{
    struct buf *out = &l->handshake_out;
    out->len = 0;
    buf_printf(out, "*%d\r\n$11\r\nPARLEY.PEER\r\n", argc + 1);
    for (int i = 0; i < argc; i++) buf_printf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    uv_buf_t b = uv_buf_init(out->data, (unsigned)out->len);
    l->handshake_req.data = l;
    if (uv_write(&l->handshake_req, (uv_stream_t *)&l->tcp, &b, 1, on_handshake_written) != 0)
        link_drop(l->r, "write failed");
}

static void handshake_refused(struct link *l, const char *why, int why_len)
{
    peerauth_log_refused(&refused_log, "Forwarding link to leader %" PRIu64 " refused: %.*s",
                         l->node, why_len, why);
}

/* One bulk string at p: its bytes in *s, *n; returns the bytes it takes,
 * 0 if incomplete, -1 if it is not one. */
static long bulk_at(const char *p, size_t len, const char **s, long long *n)
{
    long eol = find_crlf(p, len);
    if (eol < 0) return 0;
    if (p[0] != '$' || !parse_len(p + 1, eol - 1, n) || *n < 0 || *n > 1024) return -1;
    if (len < (size_t)eol + 2 + (size_t)*n + 2) return 0;
    *s = p + eol + 2;
    return eol + 2 + (long)*n + 2;
}

static void link_ready(struct link *l);

/* The leader's answer to HELLO or PROVE at p; returns the bytes used, 0 if
 * incomplete, -1 when the link must end (done here). */
static long handshake_reply(struct link *l, const char *p, size_t len)
{
    long eol = find_crlf(p, len);
    if (eol < 0) return 0;
    if (p[0] == '-') {
        handshake_refused(l, p + 1, (int)eol - 1);
        link_drop(l->r, NULL);
        return -1;
    }
    if (l->stage == LINK_PROOF_SENT) {
        if (eol != 3 || memcmp(p, "+OK", 3) != 0) {
            link_drop(l->r, "unexpected reply to PARLEY.PEER PROVE");
            return -1;
        }
        link_ready(l);
        return eol + 2;
    }
    /* HELLO's answer: [nonce, node id, proof]. */
    long long count;
    if (p[0] != '*' || !parse_len(p + 1, eol - 1, &count) || count != 3) {
        link_drop(l->r, "unexpected reply to PARLEY.PEER HELLO");
        return -1;
    }
    size_t off = (size_t)eol + 2;
    const char *word[3];
    long long word_len[3];
    for (int i = 0; i < 3; i++) {
        long used = bulk_at(p + off, len - off, &word[i], &word_len[i]);
        if (used == 0) return 0;
        if (used < 0) {
            link_drop(l->r, "unexpected reply to PARLEY.PEER HELLO");
            return -1;
        }
        off += (size_t)used;
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, l->node);
    uint8_t mac[PEERAUTH_MAC_BYTES];
    l->tr.acceptor_id = l->node;
    if (!peerauth_unhex(word[0], (size_t)word_len[0], l->tr.acceptor_nonce, PEERAUTH_NONCE_BYTES) ||
        !peerauth_unhex(word[2], (size_t)word_len[2], mac, PEERAUTH_MAC_BYTES) ||
        !peerauth_mac_ok(secret_of(l->r), PEERAUTH_LINK_ACCEPTOR, &l->tr, mac)) {
        const char *why = "the leader does not know our cluster secret";
        handshake_refused(l, why, (int)strlen(why));
        link_drop(l->r, NULL);
        return -1;
    }
    if ((size_t)word_len[1] != strlen(id) || memcmp(word[1], id, strlen(id)) != 0) {
        const char *why = "another node answers at the leader's address";
        handshake_refused(l, why, (int)strlen(why));
        link_drop(l->r, NULL);
        return -1;
    }
    peerauth_mac(secret_of(l->r), PEERAUTH_LINK_CONNECTOR, &l->tr, mac);
    char mac_hex[2 * PEERAUTH_MAC_BYTES + 1];
    peerauth_hex(mac, PEERAUTH_MAC_BYTES, mac_hex);
    const char *argv[] = {"PROVE", mac_hex};
    l->stage = LINK_PROOF_SENT;
    handshake_send(l, 2, argv);
    return l->closing ? -1 : (long)off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    struct link *l = h->data;
    out->base = buf_reserve(&l->in, READ_CHUNK);
    out->len = l->in.cap - l->in.len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct link *l = s->data;
    if (l->closing) return;
    struct repl *r = l->r;
    if (nread < 0) {
        link_drop(r, uv_strerror((int)nread));
        return;
    }
    l->in.len += (size_t)nread;
    size_t used = 0;
    while (used < l->in.len && !l->closing) {
        if (l->stage != LINK_READY) {
            long n = handshake_reply(l, l->in.data + used, l->in.len - used);
            if (n < 0) return; /* dropped */
            if (n == 0) break;
            used += (size_t)n;
            continue;
        }
        long n = handle_reply(l, l->in.data + used, l->in.len - used);
        if (n < 0) {
            link_drop(r, "unexpected reply");
            return;
        }
        if (n == 0) break;
        used += (size_t)n;
    }
    if (!l->closing) buf_consume(&l->in, used);
}

/* --------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    struct link *l = req->data;
    l->writing = false;
    l->inflight.len = 0;
    if (l->closing) return;
    if (status < 0) link_drop(l->r, uv_strerror(status));
}

void link_flush(struct repl *r)
{
    struct link *l = r->link;
    if (l == NULL || !l->connected || l->writing || l->out.len == 0) return;
    struct buf tmp = l->inflight;
    l->inflight = l->out;
    l->out = tmp;
    l->out.len = 0;
    /* In pieces: a tick's batches may together pass 4 GB. */
    size_t n = (l->inflight.len + WRITE_PIECE_BYTES - 1) / WRITE_PIECE_BYTES;
    uv_buf_t *pieces = xmalloc(n * sizeof *pieces);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * WRITE_PIECE_BYTES, left = l->inflight.len - off;
        pieces[i] = uv_buf_init(l->inflight.data + off,
                                (unsigned)(left < WRITE_PIECE_BYTES ? left : WRITE_PIECE_BYTES));
    }
    l->write_req.data = l;
    int rv = uv_write(&l->write_req, (uv_stream_t *)&l->tcp, pieces, (unsigned)n, on_written);
    free(pieces); /* uv_write copies the array */
    if (rv != 0) {
        link_drop(r, "write failed");
        return;
    }
    l->writing = true;
}

static void append_bulk(struct buf *out, const void *p, size_t len)
{
    buf_printf(out, "$%zu\r\n", len);
    buf_append(out, p, len);
    buf_append_str(out, "\r\n");
}

void link_send_queued(struct repl *r)
{
    struct link *l = r->link;
    if (l == NULL || !l->connected || l->closing) return;
    for (struct batch *b = r->pending_head; b; b = b->next) {
        if (b->state != BATCH_QUEUED) continue;
        char num[3][24];
        int len[3];
        len[0] = snprintf(num[0], sizeof num[0], "%" PRIu64, r->origin);
        len[1] = snprintf(num[1], sizeof num[1], "%" PRIu64, b->seq);
        len[2] = snprintf(num[2], sizeof num[2], "%u", b->n);
        /* The body in parts the leader reads whatever its proto-max-bulk-len. */
        size_t parts = b->body.len ? (b->body.len + FWD_PART_BYTES - 1) / FWD_PART_BYTES : 1;
        buf_printf(&l->out, "*%zu\r\n$10\r\nPARLEY.FWD\r\n", 4 + parts);
        for (int i = 0; i < 3; i++) append_bulk(&l->out, num[i], (size_t)len[i]);
        for (size_t off = 0, i = 0; i < parts; i++, off += FWD_PART_BYTES) {
            size_t part = b->body.len - off < FWD_PART_BYTES ? b->body.len - off : FWD_PART_BYTES;
            append_bulk(&l->out, b->body.data + off, part);
        }
        b->state = BATCH_SENT;
        b->sent_term = l->term;
        fifo_push(l, b->seq);
        r->batches_forwarded++;
    }
}

/* --------------------------------------------------------------------
 * Connecting
 * ------------------------------------------------------------------ */

static void on_connected(uv_connect_t *req, int status)
{
    struct link *l = req->data;
    if (l->closing) return;
    if (status < 0) {
        link_drop(l->r, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
    struct repl *r = l->r;
    memset(&l->tr, 0, sizeof l->tr);
    peerauth_nonce(l->tr.connector_nonce);
    l->tr.connector_id = r->cfg.node_id;
    char id[24], nonce_hex[2 * PEERAUTH_NONCE_BYTES + 1];
    snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id);
    peerauth_hex(l->tr.connector_nonce, PEERAUTH_NONCE_BYTES, nonce_hex);
    const char *argv[] = {"HELLO", id, nonce_hex};
    l->stage = LINK_HELLO_SENT;
    handshake_send(l, 3, argv);
}

/* The leader took our proof: this connection may forward. */
static void link_ready(struct link *l)
{
    l->stage = LINK_READY;
    l->connected = true;
    log_msg(LOG_VERBOSE, "Forwarding to leader %" PRIu64 " (term %" PRIu64 ")", l->node, l->term);
    link_send_queued(l->r);
    link_flush(l->r);
}

int addr_resolve(const char *addr, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(addr, ':');
    char host[256];
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    if (host[0] == '[') { /* [v6]:port */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535) return -1;
    memset(ss, 0, sizeof *ss);
    return strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss)
                             : uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

void link_update(struct repl *r)
{
    if (r->loop == NULL) return; /* no event loop (repl/fsm.h): nothing to connect */
    uint64_t node = r->announced_node, term = r->announced_term;
    if (r->link && (r->link->node != node || r->link->term != term)) link_drop(r, "new leader");
    if (r->link && r->link->stage != LINK_READY && clock_mono_us() > r->link->handshake_deadline_us) {
        const char *why = "no answer to the peer handshake in time";
        handshake_refused(r->link, why, (int)strlen(why));
        link_drop(r, NULL);
    }
    if (r->link || node == 0 || node == r->cfg.node_id) return;
    if (clock_mono_us() < r->link_retry_at_us) return;
    const char *addr = repl_member_client_addr(r, node);
    struct sockaddr_storage ss;
    if (addr == NULL || addr_resolve(addr, &ss) != 0) {
        r->link_retry_at_us = clock_mono_us() + RECONNECT_DELAY_US;
        return;
    }
    struct link *l = xcalloc(1, sizeof *l);
    l->r = r;
    l->node = node;
    l->term = term;
    l->stage = LINK_CONNECTING;
    l->handshake_deadline_us = clock_mono_us() + HANDSHAKE_TIMEOUT_US;
    uv_tcp_init(r->loop, &l->tcp);
    l->tcp.data = l;
    l->connect_req.data = l;
    r->link = l;
    propose_requeue_sent(r);
    if (uv_tcp_connect(&l->connect_req, &l->tcp, (struct sockaddr *)&ss, on_connected) != 0)
        link_drop(r, "connect failed");
}
