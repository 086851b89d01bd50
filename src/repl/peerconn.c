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
 * stream carries TLS from the moment it connects (net/tlspipe.h, as the
 * Raft transport's do): this node shows its certificate (the cluster's
 * client context: tls-client-cert-file, else tls-cert-file) and accepts
 * the other node only if its certificate verifies against
 * tls-ca-cert-file. The handshake above then runs inside TLS, on the
 * plaintext end of the pipe; the acceptor takes PARLEY.PEER only on such
 * a connection. A TLS failure fails the connection ("TLS: <reason>").
 *
 * The connection itself (connect, deadline, TLS, write queue, the reply
 * reader) is net/outconn.h's; this file adds the handshake and what it
 * means for the owner. The owner hears of the connection through three
 * callbacks, none of them before peerconn_open returns and none after
 * peerconn_close: on_ready once the handshake is over, on_reply for each
 * reply after it (whole RESP bytes, read with resp/reply.h), and on_fail
 * once when it ends by itself (refused, closed, or its deadline passed);
 * the connection is closed after on_fail returns. The deadline starts at
 * peerconn_open and covers the handshake; peerconn_deadline sets another. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "net/outconn.h"
#include "repl/internal.h"
#include "resp/reply.h"

/* Replies come from a node that proved itself; this only bounds a broken one. */
#define REPLY_BULK_MAX (1ll << 40)
#define HANDSHAKE_LATE "no answer to the peer handshake in time"

enum peerconn_stage {
    PEERCONN_CONNECTING,
    PEERCONN_HELLO_SENT, /* awaiting the acceptor's nonce, id and proof */
    PEERCONN_PROOF_SENT, /* awaiting +OK */
    PEERCONN_READY,      /* the owner's requests may go */
};

struct peerconn {
    struct repl *r;
    struct outconn *conn;
    struct peerconn_handlers h;
    uint64_t expected_id;
    enum peerconn_stage stage;
    struct peerauth_transcript tr;
    bool failing; /* telling the owner on_fail: its close is ours to do */
};

static struct peerauth_limiter refused_log;

static const char *secret_of(const struct repl *r)
{
    return r->cfg.cluster_secret ? r->cfg.cluster_secret : "";
}

void peerconn_close(struct peerconn *pc)
{
    if (pc->failing) return;
    outconn_close(pc->conn);
    free(pc);
}

/* Ends the connection by itself: tells the owner, then closes. pc is gone
 * when this returns. */
static void fail(struct peerconn *pc, const char *why)
{
    CHECK(!pc->failing);
    pc->failing = true; /* the owner may call peerconn_close from on_fail */
    pc->h.on_fail(pc->h.arg, why);
    pc->failing = false;
    peerconn_close(pc);
}

/* The other node is not (or does not prove to be) a node of ours. */
static void refused(struct peerconn *pc, const char *why)
{
    peerauth_log_refused(&refused_log, "Peer connection to %s refused: %s", outconn_addr(pc->conn),
                         why);
    fail(pc, why);
}

void peerconn_deadline(struct peerconn *pc, unsigned timeout_ms, const char *why)
{
    outconn_deadline(pc->conn, timeout_ms, why);
}

void peerconn_flush(struct peerconn *pc)
{
    if (pc->stage == PEERCONN_READY) outconn_flush(pc->conn);
}

struct buf *peerconn_out(struct peerconn *pc)
{
    CHECK(pc->stage == PEERCONN_READY && !pc->failing);
    return outconn_out(pc->conn);
}

void peerconn_request(struct peerconn *pc, int argc, const char *const *argv)
{
    CHECK(pc->stage == PEERCONN_READY && !pc->failing);
    outconn_request(pc->conn, argc, argv);
}

bool peerconn_ready(const struct peerconn *pc)
{
    return pc->stage == PEERCONN_READY && !pc->failing;
}

/* --------------------------------------------------------------------
 * The handshake
 * ------------------------------------------------------------------ */

/* Sends PARLEY.PEER <argv...>. May fail the connection (pc is then gone):
 * the caller returns at once. */
static void handshake_send(struct peerconn *pc, int argc, const char *const *argv)
{
    CHECK(pc->stage != PEERCONN_READY);
    const char *words[4] = {"PARLEY.PEER"};
    CHECK(argc < 4);
    for (int i = 0; i < argc; i++) words[i + 1] = argv[i];
    outconn_request(pc->conn, argc + 1, words);
    outconn_flush(pc->conn);
}

/* The acceptor's answer to HELLO: [nonce, id, proof]. */
static void hello_answered(struct peerconn *pc, const char *p, size_t len)
{
    struct resp_reply_head h;
    if (resp_reply_head(p, len, &h) != 1 || h.type != '*' || h.n != 3) {
        refused(pc, "not a Parley node's answer to PARLEY.PEER HELLO");
        return;
    }
    const char *word[3];
    size_t word_len[3];
    size_t off = h.head_len;
    for (int i = 0; i < 3; i++) {
        struct resp_reply_head e;
        if (resp_reply_head(p + off, len - off, &e) != 1 || e.type != '$' || e.n < 0 ||
            e.n > 128) {
            refused(pc, "not a Parley node's answer to PARLEY.PEER HELLO");
            return;
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
        return;
    }
    pc->tr.acceptor_id = id;
    if (!peerauth_mac_ok(secret_of(pc->r), PEERAUTH_LINK_ACCEPTOR, &pc->tr, mac)) {
        refused(pc, "the other node does not know our cluster secret");
        return;
    }
    if (pc->expected_id != 0 && id != pc->expected_id) {
        refused(pc, "another node answers at that address");
        return;
    }
    peerauth_mac(secret_of(pc->r), PEERAUTH_LINK_CONNECTOR, &pc->tr, mac);
    char mac_hex[2 * PEERAUTH_MAC_BYTES + 1];
    peerauth_hex(mac, PEERAUTH_MAC_BYTES, mac_hex);
    const char *argv[] = {"PROVE", mac_hex};
    pc->stage = PEERCONN_PROOF_SENT;
    handshake_send(pc, 2, argv);
}

/* One reply during the handshake. */
static void handshake_reply(struct peerconn *pc, const char *p, size_t len)
{
    if (p[0] == '-') {
        char why[256];
        size_t n = len - 3; /* without "-" and CRLF */
        snprintf(why, sizeof why, "%.*s", (int)(n < 255 ? n : 255), p + 1);
        refused(pc, why);
        return;
    }
    if (pc->stage == PEERCONN_HELLO_SENT) {
        hello_answered(pc, p, len);
        return;
    }
    if (len != 5 || memcmp(p, "+OK\r\n", 5) != 0) {
        refused(pc, "unexpected answer to PARLEY.PEER PROVE");
        return;
    }
    pc->stage = PEERCONN_READY;
    outconn_deadline_stop(pc->conn);
    if (pc->h.on_ready) pc->h.on_ready(pc->h.arg);
}

/* --------------------------------------------------------------------
 * The connection's callbacks
 * ------------------------------------------------------------------ */

/* TCP (and TLS) is up: say HELLO. */
static void on_connected(void *arg)
{
    struct peerconn *pc = arg;
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

static void on_reply(void *arg, const char *p, size_t len)
{
    struct peerconn *pc = arg;
    if (pc->stage != PEERCONN_READY) handshake_reply(pc, p, len);
    else pc->h.on_reply(pc->h.arg, p, len);
}

/* A TLS failure, or no handshake in time, is a refusal (logged); the rest
 * (nobody listening, a closed connection) is not. */
static void on_conn_fail(void *arg, enum outconn_end end, const char *why)
{
    struct peerconn *pc = arg;
    if (end == OUTCONN_TLS || (end == OUTCONN_DEADLINE && pc->stage != PEERCONN_READY))
        refused(pc, why);
    else
        fail(pc, why);
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
    struct outconn_options o = {
        .tls = r->cfg.tls_cluster_client,
        .deadline_ms = handshake_timeout_ms,
        .deadline_why = HANDSHAKE_LATE,
        .reply_bulk_max = REPLY_BULK_MAX,
    };
    struct outconn_handlers oh = {
        .arg = pc, .on_connected = on_connected, .on_reply = on_reply, .on_fail = on_conn_fail};
    pc->conn = outconn_open(r->loop, addr, &o, &oh);
    return pc;
}
