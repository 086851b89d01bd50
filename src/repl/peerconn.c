/* repl/peerconn.c — an outgoing connection to another node's client port,
 * authenticated as a node of the cluster.
 *
 * Every connection this node opens to another node's client port goes
 * through here: the forwarding link (link.c), a joining node's request to
 * be added and a follower passing RAFT NODE on to the leader (ask.c). A
 * peer connection connects, proves that this node knows the cluster secret
 * and checks that the other node knows it too, then carries RESP requests
 * its owner writes and hands back each complete reply:
 *
 *   → PARLEY.PEER HELLO <our id> <our nonce>
 *   ← [<its nonce>, <its id>, <its proof>]     checked here
 *   → PARLEY.PEER PROVE <our proof>
 *   ← +OK                                      on_ready
 *
 * (the acceptor's side is server/cmd_peer.c; the proofs base/peerauth.h's
 * link proofs). A node that proved itself holds every right on the other
 * node (no requirepass, no ACL user, and protected mode does not apply),
 * and may send node-to-node commands such as PARLEY.FWD.
 *
 * With tls-cluster the address is the other node's tls-port and the TCP
 * stream carries TLS from the moment it connects (repl/tlspipe.h, as the
 * Raft transport's do): this node shows its certificate (the cluster's
 * client context: tls-client-cert-file, else tls-cert-file) and accepts
 * the other node only if its certificate verifies against
 * tls-ca-cert-file. The handshake above then runs inside TLS, on the
 * plaintext end of the pipe; the acceptor takes PARLEY.PEER only on such
 * a connection. A TLS failure fails the connection ("TLS: <reason>").
 *
 * The owner hears of the connection through three callbacks, none of them
 * before peerconn_open returns and none after peerconn_close: on_ready once
 * the handshake is over, on_reply for each reply after it (whole RESP
 * bytes, read with resp/reply.h), and on_fail once when it ends by itself
 * (refused, closed, or its deadline passed); the connection is closed
 * after on_fail returns. The deadline starts at peerconn_open and covers
 * the handshake; peerconn_deadline sets another. repl/ uses libuv directly
 * here: net/'s connections belong to server/'s handlers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"
#include "repl/tlspipe.h"
#include "resp/reply.h"

#define READ_CHUNK 16384
/* One uv_buf_t of a write holds at most this much (its length is unsigned). */
#define WRITE_PIECE_BYTES (1024u * 1024 * 1024)
/* Replies come from a node that proved itself; this only bounds a broken one. */
#define REPLY_BULK_MAX (1ll << 40)

enum peerconn_stage {
    PEERCONN_CONNECTING,
    PEERCONN_HELLO_SENT, /* awaiting the acceptor's nonce, id and proof */
    PEERCONN_PROOF_SENT, /* awaiting +OK */
    PEERCONN_READY,      /* the owner's requests may go */
};

struct peerconn {
    struct repl *r;
    uv_tcp_t tcp;
    /* With tls-cluster, once connected: the pipe owns tcp, and plain (its
     * plaintext end) is what is read and written. */
    struct tlspipe *pipe;
    uv_pipe_t plain;
    uv_stream_t *stream; /* &tcp or &plain */
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_write_t write_req;
    struct peerconn_handlers h;
    char addr[PEERAUTH_ADDR_MAX + 1];
    uint64_t expected_id;
    enum peerconn_stage stage;
    struct peerauth_transcript tr;
    struct buf out, inflight, in;
    bool writing;
    bool closed; /* no callback any more; handles closing */
    int open_handles; /* handles to close, and the TLS pipe until it has */
    const char *deadline_why;
};

static struct peerauth_limiter refused_log;

static const char *secret_of(const struct repl *r)
{
    return r->cfg.cluster_secret ? r->cfg.cluster_secret : "";
}

static void release(struct peerconn *pc)
{
    if (--pc->open_handles > 0) return;
    buf_free(&pc->out);
    buf_free(&pc->inflight);
    buf_free(&pc->in);
    free(pc);
}

static void on_handle_closed(uv_handle_t *h)
{
    release(h->data);
}

void peerconn_close(struct peerconn *pc)
{
    if (pc->closed) return;
    pc->closed = true;
    uv_close((uv_handle_t *)pc->stream, on_handle_closed);
    uv_close((uv_handle_t *)&pc->timer, on_handle_closed);
    if (pc->pipe) {
        tlspipe_quiet(pc->pipe);
        tlspipe_close(pc->pipe);
    }
}

/* Ends the connection by itself: tells the owner, then closes. */
static void fail(struct peerconn *pc, const char *why)
{
    if (pc->closed) return;
    pc->closed = true; /* the owner may call peerconn_close from on_fail */
    if (pc->h.on_fail) pc->h.on_fail(pc->h.arg, why);
    pc->closed = false;
    peerconn_close(pc);
}

/* The other node is not (or does not prove to be) a node of ours. */
static void refused(struct peerconn *pc, const char *why)
{
    peerauth_log_refused(&refused_log, "Peer connection to %s refused: %s", pc->addr, why);
    fail(pc, why);
}

static void on_timeout(uv_timer_t *t)
{
    struct peerconn *pc = t->data;
    if (pc->stage != PEERCONN_READY && pc->deadline_why == NULL)
        refused(pc, "no answer to the peer handshake in time");
    else
        fail(pc, pc->deadline_why ? pc->deadline_why : "no answer in time");
}

void peerconn_deadline(struct peerconn *pc, unsigned timeout_ms, const char *why)
{
    if (pc->closed) return;
    pc->deadline_why = why;
    uv_timer_start(&pc->timer, on_timeout, timeout_ms, 0);
}

/* --------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------ */

static void write_out(struct peerconn *pc);

static void on_written(uv_write_t *req, int status)
{
    struct peerconn *pc = req->data;
    pc->writing = false;
    pc->inflight.len = 0;
    if (pc->closed) return;
    if (status < 0) {
        fail(pc, uv_strerror(status));
        return;
    }
    write_out(pc); /* what was appended while this write was under way */
}

/* Writes what is in out, whatever the stage. */
static void write_out(struct peerconn *pc)
{
    if (pc->closed || pc->writing || pc->out.len == 0) return;
    struct buf tmp = pc->inflight;
    pc->inflight = pc->out;
    pc->out = tmp;
    pc->out.len = 0;
    /* In pieces: a tick's forwarded batches may together pass 4 GB. */
    size_t n = (pc->inflight.len + WRITE_PIECE_BYTES - 1) / WRITE_PIECE_BYTES;
    uv_buf_t *pieces = xmalloc(n * sizeof *pieces);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * WRITE_PIECE_BYTES, left = pc->inflight.len - off;
        pieces[i] = uv_buf_init(pc->inflight.data + off,
                                (unsigned)(left < WRITE_PIECE_BYTES ? left : WRITE_PIECE_BYTES));
    }
    pc->write_req.data = pc;
    int rv = uv_write(&pc->write_req, pc->stream, pieces, (unsigned)n, on_written);
    free(pieces); /* uv_write copies the array */
    if (rv != 0) {
        fail(pc, "write failed");
        return;
    }
    pc->writing = true;
}

void peerconn_flush(struct peerconn *pc)
{
    if (pc->stage == PEERCONN_READY) write_out(pc);
}

struct buf *peerconn_out(struct peerconn *pc)
{
    CHECK(pc->stage == PEERCONN_READY && !pc->closed);
    return &pc->out;
}

static void append_request(struct buf *out, int argc, const char *const *argv)
{
    buf_printf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) buf_printf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

void peerconn_request(struct peerconn *pc, int argc, const char *const *argv)
{
    append_request(peerconn_out(pc), argc, argv);
}

bool peerconn_ready(const struct peerconn *pc)
{
    return pc->stage == PEERCONN_READY && !pc->closed;
}

/* --------------------------------------------------------------------
 * The handshake
 * ------------------------------------------------------------------ */

static void handshake_send(struct peerconn *pc, int argc, const char *const *argv)
{
    CHECK(pc->stage != PEERCONN_READY);
    const char *words[4] = {"PARLEY.PEER"};
    CHECK(argc < 4);
    for (int i = 0; i < argc; i++) words[i + 1] = argv[i];
    append_request(&pc->out, argc + 1, words);
    write_out(pc);
}

/* The acceptor's answer to HELLO: [nonce, id, proof]. Returns false when
 * the connection ended here. */
static bool hello_answered(struct peerconn *pc, const char *p, size_t len)
{
    struct resp_reply_head h;
    if (resp_reply_head(p, len, &h) != 1 || h.type != '*' || h.n != 3) {
        refused(pc, "not a Parley node's answer to PARLEY.PEER HELLO");
        return false;
    }
    const char *word[3];
    size_t word_len[3];
    size_t off = h.head_len;
    for (int i = 0; i < 3; i++) {
        struct resp_reply_head e;
        if (resp_reply_head(p + off, len - off, &e) != 1 || e.type != '$' || e.n < 0 ||
            e.n > 128) {
            refused(pc, "not a Parley node's answer to PARLEY.PEER HELLO");
            return false;
        }
        word[i] = p + off + e.head_len;
        word_len[i] = (size_t)e.n;
        off += e.head_len + (size_t)e.n + 2;
    }
    uint8_t mac[PEERAUTH_MAC_BYTES];
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%.*s", (int)(word_len[1] < 23 ? word_len[1] : 23), word[1]);
    char *end;
    unsigned long long id = strtoull(id_text, &end, 10);
    if (*end != '\0' || id == 0 ||
        !peerauth_unhex(word[0], word_len[0], pc->tr.acceptor_nonce, PEERAUTH_NONCE_BYTES) ||
        !peerauth_unhex(word[2], word_len[2], mac, PEERAUTH_MAC_BYTES)) {
        refused(pc, "not a Parley node's answer to PARLEY.PEER HELLO");
        return false;
    }
    pc->tr.acceptor_id = id;
    if (!peerauth_mac_ok(secret_of(pc->r), PEERAUTH_LINK_ACCEPTOR, &pc->tr, mac)) {
        refused(pc, "the other node does not know our cluster secret");
        return false;
    }
    if (pc->expected_id != 0 && id != pc->expected_id) {
        refused(pc, "another node answers at that address");
        return false;
    }
    peerauth_mac(secret_of(pc->r), PEERAUTH_LINK_CONNECTOR, &pc->tr, mac);
    char mac_hex[2 * PEERAUTH_MAC_BYTES + 1];
    peerauth_hex(mac, PEERAUTH_MAC_BYTES, mac_hex);
    const char *argv[] = {"PROVE", mac_hex};
    pc->stage = PEERCONN_PROOF_SENT;
    handshake_send(pc, 2, argv);
    return !pc->closed;
}

/* One reply during the handshake. Returns false when the connection ended. */
static bool handshake_reply(struct peerconn *pc, const char *p, size_t len)
{
    if (p[0] == '-') {
        char why[256];
        size_t n = len - 3; /* without "-" and CRLF */
        snprintf(why, sizeof why, "%.*s", (int)(n < 255 ? n : 255), p + 1);
        refused(pc, why);
        return false;
    }
    if (pc->stage == PEERCONN_HELLO_SENT) return hello_answered(pc, p, len);
    if (len != 5 || memcmp(p, "+OK\r\n", 5) != 0) {
        refused(pc, "unexpected answer to PARLEY.PEER PROVE");
        return false;
    }
    pc->stage = PEERCONN_READY;
    uv_timer_stop(&pc->timer);
    if (pc->h.on_ready) pc->h.on_ready(pc->h.arg);
    return !pc->closed;
}

/* --------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    struct peerconn *pc = h->data;
    out->base = buf_reserve(&pc->in, READ_CHUNK);
    out->len = pc->in.cap - pc->in.len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct peerconn *pc = s->data;
    if (pc->closed) return;
    if (nread < 0) {
        fail(pc, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        return;
    }
    pc->in.len += (size_t)nread;
    size_t used = 0;
    while (used < pc->in.len) {
        const char *p = pc->in.data + used;
        long long n = resp_reply_span(p, pc->in.len - used, REPLY_BULK_MAX);
        if (n == 0) break;
        if (n < 0) {
            fail(pc, "unexpected reply");
            return;
        }
        used += (size_t)n;
        if (pc->stage != PEERCONN_READY) {
            if (!handshake_reply(pc, p, (size_t)n)) return;
        } else {
            pc->h.on_reply(pc->h.arg, p, (size_t)n);
            if (pc->closed) return;
        }
    }
    buf_consume(&pc->in, used);
}

/* --------------------------------------------------------------------
 * Connecting
 * ------------------------------------------------------------------ */

/* --------------------------------------------------------------------
 * TLS (tls-cluster)
 * ------------------------------------------------------------------ */

static void on_pipe_failed(void *data, const char *why)
{
    char text[320];
    snprintf(text, sizeof text, "TLS: %s", why);
    refused(data, text);
}

static void on_pipe_closed(void *data)
{
    struct peerconn *pc = data;
    pc->pipe = NULL;
    release(pc);
}

/* tcp is the pipe's, and released with pc. */
static void keep_tcp(uv_tcp_t *tcp) { (void)tcp; }

/* The TCP stream is connected: from now on it carries TLS, and the
 * connection reads and writes the pipe's plaintext end. False if that
 * failed (the connection has failed). */
static bool start_tls(struct peerconn *pc, struct tls_ctx *ctx)
{
    CHECK(pc->pipe == NULL && pc->stream == (uv_stream_t *)&pc->tcp);
    struct tlspipe_hooks hooks = {
        .data = pc, .on_fail = on_pipe_failed, .on_closed = on_pipe_closed, .free_tcp = keep_tcp};
    int status = 0;
    pc->pipe = tlspipe_new(pc->r->loop, &pc->tcp, ctx, &pc->plain, &hooks, &status);
    if (pc->pipe == NULL) {
        fail(pc, uv_strerror(status));
        return false;
    }
    /* tcp is closed by the pipe now (counted as the pipe); plain is ours. */
    pc->plain.data = pc;
    pc->stream = (uv_stream_t *)&pc->plain;
    pc->open_handles++;
    return true;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct peerconn *pc = req->data;
    if (pc->closed) return;
    if (status < 0) {
        fail(pc, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&pc->tcp, 1);
    struct tls_ctx *const *tls = pc->r->cfg.tls_cluster_client;
    if (tls && !start_tls(pc, *tls)) return;
    uv_read_start(pc->stream, on_alloc, on_read);
    struct repl *r = pc->r;
    memset(&pc->tr, 0, sizeof pc->tr);
    peerauth_nonce(pc->tr.connector_nonce);
    pc->tr.connector_id = r->cfg.node_id;
    char id[24], nonce_hex[2 * PEERAUTH_NONCE_BYTES + 1];
    snprintf(id, sizeof id, "%" PRIu64, r->cfg.node_id);
    peerauth_hex(pc->tr.connector_nonce, PEERAUTH_NONCE_BYTES, nonce_hex);
    const char *argv[] = {"HELLO", id, nonce_hex};
    pc->stage = PEERCONN_HELLO_SENT;
    handshake_send(pc, 3, argv);
}

struct peerconn *peerconn_open(struct repl *r, const char *addr, uint64_t expected_id,
                               unsigned handshake_timeout_ms, const struct peerconn_handlers *h)
{
    CHECK(r->loop != NULL && h->on_reply != NULL && h->on_fail != NULL);
    struct peerconn *pc = xcalloc(1, sizeof *pc);
    pc->r = r;
    pc->h = *h;
    pc->expected_id = expected_id;
    pc->stage = PEERCONN_CONNECTING;
    snprintf(pc->addr, sizeof pc->addr, "%s", addr);
    uv_tcp_init(r->loop, &pc->tcp);
    pc->stream = (uv_stream_t *)&pc->tcp;
    uv_timer_init(r->loop, &pc->timer);
    pc->tcp.data = pc->timer.data = pc->connect_req.data = pc;
    pc->open_handles = 2;
    struct sockaddr_storage ss;
    const char *early = NULL;
    if (addr_resolve(addr, &ss) != 0)
        early = "not a numeric host:port";
    else if (uv_tcp_connect(&pc->connect_req, &pc->tcp, (struct sockaddr *)&ss, on_connected) != 0)
        early = "connect failed";
    /* No callback runs before peerconn_open returns: an early failure is
     * told from the timer. */
    if (early) {
        peerconn_deadline(pc, 0, early);
    } else {
        uv_timer_start(&pc->timer, on_timeout, handshake_timeout_ms, 0);
    }
    return pc;
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
