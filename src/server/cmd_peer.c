/* server/cmd_peer.c — PARLEY.PEER: a connection on the client port proves
 * that a cluster node is at the other end.
 *
 * A follower forwards its clients' commands to the leader's client port
 * (repl/link.c, PARLEY.FWD). What a forwarded batch may hold (internal
 * commands such as __member, which sets a node's client address that
 * followers, SENTINEL and RAFT INFO trust) no client may send, so PARLEY.FWD
 * and every other command flagged CMD_PEER_ONLY runs only on a connection
 * that has passed this handshake (dispatch refuses it elsewhere with
 * PEER_ONLY_ERROR, whatever the client's ACL):
 *
 *   PARLEY.PEER HELLO <node id> <nonce, 64 hex digits>
 *       → [<this node's nonce>, <this node's id>, <this node's proof>]
 *   PARLEY.PEER PROVE <the connector's proof, 64 hex digits>
 *       → +OK, and the connection is a peer's
 *
 * The connector is any node that knows the cluster secret, a member or
 * not: repl/peerconn.c opens these connections for the forwarding link, for
 * a node started with `join` asking to be added (not a member yet: the id
 * it proves is the one in its HELLO) and for a RAFT command a follower
 * passes on. A peer's connection holds every right (acl_refuse), and
 * protected mode lets a connection from another host say PARLEY.PEER
 * before it refuses it (acl_protected_deny).
 *
 * The proofs are base/peerauth.h's for the link (the secret, both nonces,
 * both ids). Without a cluster secret only loopback connections may try.
 *
 * On a tls-cluster node a peer connects to tls-port with its certificate
 * (repl/peerconn.c), and HELLO is refused on any other connection: a
 * plaintext one, or a TLS one whose client showed no certificate the
 * tls-ca-cert-file CA signed (the TLS listener asks every client for one,
 * server/config.c). The proofs still run inside TLS; with no secret set,
 * the certificate stands for it and the peer need not be on loopback.
 * A failed proof is answered with an error, logged (at most a line a
 * second) and the connection is closed. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/peerauth.h"
#include "server/server.h"

struct peer_hello {
    uint8_t connector_nonce[PEERAUTH_NONCE_BYTES], acceptor_nonce[PEERAUTH_NONCE_BYTES];
    uint64_t connector_id;
};

static struct peerauth_limiter refused_log;

static void transcript_of(const struct client *c, struct peerauth_transcript *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->connector_nonce, c->peer_hello->connector_nonce, PEERAUTH_NONCE_BYTES);
    memcpy(t->acceptor_nonce, c->peer_hello->acceptor_nonce, PEERAUTH_NONCE_BYTES);
    t->connector_id = c->peer_hello->connector_id;
    t->acceptor_id = (uint64_t)c->srv->cfg.node_id;
}

static void refuse(struct client *c, const char *error, const char *why)
{
    peerauth_log_refused(&refused_log, "Refused PARLEY.PEER from %s: %s", net_conn_peer(c->conn),
                         why);
    struct resp_out o = client_reply(c);
    resp_error(&o, error);
    peer_forget(c);
    client_quit(c);
}

static void peer_hello_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    peer_forget(c);
    const char *secret = c->srv->cfg.cluster_secret;
    bool tls_cluster = c->srv->cfg.tls_cluster;
    if (tls_cluster && !net_conn_peer_verified(c->conn)) {
        refuse(c,
               "NOPERM tls-cluster is on: peers must connect to tls-port with a certificate "
               "the cluster's CA signed",
               net_conn_is_tls(c->conn) ? "no certificate the CA signed" : "not TLS");
        return;
    }
    if (secret[0] == '\0' && !tls_cluster && !peerauth_is_loopback(net_conn_peer(c->conn))) {
        refuse(c, "NOPERM no cluster-secret is set: only loopback peers are accepted",
               "not a loopback address, and no cluster-secret is set");
        return;
    }
    struct peer_hello h = {0};
    long long id;
    if (!arg_to_ll(&argv[2], &id) || id <= 0 ||
        !peerauth_unhex(argv[3].ptr, argv[3].len, h.connector_nonce, PEERAUTH_NONCE_BYTES)) {
        struct resp_out o = client_reply(c);
        resp_error(&o, "ERR malformed PARLEY.PEER HELLO");
        return;
    }
    h.connector_id = (uint64_t)id;
    peerauth_nonce(h.acceptor_nonce);
    c->peer_hello = xmemdup(&h, sizeof h);
    struct peerauth_transcript t;
    transcript_of(c, &t);
    uint8_t mac[PEERAUTH_MAC_BYTES];
    peerauth_mac(secret, PEERAUTH_LINK_ACCEPTOR, &t, mac);
    char nonce_hex[2 * PEERAUTH_NONCE_BYTES + 1], mac_hex[2 * PEERAUTH_MAC_BYTES + 1];
    peerauth_hex(h.acceptor_nonce, PEERAUTH_NONCE_BYTES, nonce_hex);
    peerauth_hex(mac, PEERAUTH_MAC_BYTES, mac_hex);
    struct resp_out o = client_reply(c);
    resp_array(&o, 3);
    resp_bulk_str(&o, nonce_hex);
    resp_bulk_ll(&o, c->srv->cfg.node_id);
    resp_bulk_str(&o, mac_hex);
}

static void peer_prove_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    if (c->peer_hello == NULL) {
        struct resp_out o = client_reply(c);
        resp_error(&o, "ERR PARLEY.PEER PROVE without HELLO");
        return;
    }
    uint8_t mac[PEERAUTH_MAC_BYTES];
    struct peerauth_transcript t;
    transcript_of(c, &t);
    if (!peerauth_unhex(argv[2].ptr, argv[2].len, mac, PEERAUTH_MAC_BYTES) ||
        !peerauth_mac_ok(c->srv->cfg.cluster_secret, PEERAUTH_LINK_CONNECTOR, &t, mac)) {
        refuse(c, "NOPERM cluster peer authentication failed", "wrong cluster secret");
        return;
    }
    peer_forget(c);
    c->peer = true;
    log_msg(LOG_VERBOSE, "Connection from %s authenticated as cluster node %" PRIu64,
            net_conn_peer(c->conn), t.connector_id);
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

void peer_forget(struct client *c)
{
    free(c->peer_hello);
    c->peer_hello = NULL;
    c->peer = false;
}

void peer_bind_handlers(void)
{
    cmd_bind_local("parley.peer|hello", peer_hello_cmd);
    cmd_bind_local("parley.peer|prove", peer_prove_cmd);
}
