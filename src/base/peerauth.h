/* base/peerauth.h — how two Parley nodes prove to each other that they
 * belong to the same cluster, before either trusts a byte from the other.
 *
 * Both connections between nodes authenticate the same way: the Raft
 * transport (repl/transport.c, binary frames below) and a follower's link
 * to the leader's client port (repl/link.c and the PARLEY.PEER command,
 * hex words in RESP). The side that connects (the connector) and the side
 * that accepts (the acceptor) each send a fresh random nonce; each proves
 * that it knows the cluster secret with
 *
 *     HMAC-SHA256(secret, label || connector nonce || acceptor nonce
 *                         || connector id || acceptor id || connector address)
 *
 * where the label names the connection (Raft or link) and the direction
 * (connector or acceptor). A captured proof is useless on another
 * connection (the other side's nonce is new each time), an acceptor's
 * proof cannot be reflected back as a connector's (the labels differ),
 * and a proof for the Raft port means nothing on the client port.
 *
 * Without a cluster secret the same exchange runs with an empty key, and
 * only loopback peers are accepted (the callers check the address): a
 * cluster on one machine needs no configuration, one across machines must
 * set `cluster-secret` (or, for the Raft port, `tls-cluster`, whose
 * certificates authenticate the peer instead).
 *
 * What this does not do: encrypt or sign what follows the handshake. An
 * attacker who can rewrite traffic between two nodes can still take over an
 * authenticated connection; `tls-cluster` is the answer to that on the Raft
 * port: the same exchange then runs inside TLS with certificates checked
 * both ways (repl/transport.c).
 *
 * Raft port frames (integers little endian, as libraft's own):
 *   hello      connector → acceptor  "PARLEYH1" nonce[32] id u64 addr_len u8 addr[255]
 *   challenge  acceptor → connector  "PARLEYC1" nonce[32] id u64 mac[32]
 *   proof      connector → acceptor  "PARLEYP1" mac[32]
 * After the proof, the stream belongs to libraft; the acceptor never writes
 * again. */
#ifndef PARLEY_BASE_PEERAUTH_H
#define PARLEY_BASE_PEERAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERAUTH_NONCE_BYTES 32
#define PEERAUTH_MAC_BYTES 32
#define PEERAUTH_ADDR_MAX 255
/* The shortest cluster secret accepted: short secrets fall to an offline
 * guess from one captured handshake. */
#define PEERAUTH_SECRET_MIN 16

#define PEERAUTH_HELLO_BYTES (8 + PEERAUTH_NONCE_BYTES + 8 + 1 + PEERAUTH_ADDR_MAX)
#define PEERAUTH_CHALLENGE_BYTES (8 + PEERAUTH_NONCE_BYTES + 8 + PEERAUTH_MAC_BYTES)
#define PEERAUTH_PROOF_BYTES (8 + PEERAUTH_MAC_BYTES)

/* Which proof: the connection and the side that makes it. */
enum peerauth_role {
    PEERAUTH_RAFT_CONNECTOR,
    PEERAUTH_RAFT_ACCEPTOR,
    PEERAUTH_LINK_CONNECTOR,
    PEERAUTH_LINK_ACCEPTOR,
};

/* What both sides have seen of one handshake. */
struct peerauth_transcript {
    uint8_t connector_nonce[PEERAUTH_NONCE_BYTES];
    uint8_t acceptor_nonce[PEERAUTH_NONCE_BYTES];
    uint64_t connector_id, acceptor_id;
    char connector_addr[PEERAUTH_ADDR_MAX + 1]; /* Raft: the connector's raft-addr; link: "" */
};

enum peerauth_result {
    PEERAUTH_OK,
    PEERAUTH_NOT_PARLEY,   /* not a frame of this protocol */
    PEERAUTH_WRONG_SECRET, /* the proof does not check out */
    PEERAUTH_WRONG_NODE,   /* the acceptor is not the node we meant to reach */
};
const char *peerauth_result_text(enum peerauth_result r);

/* secret: NUL-terminated; "" when none is set. */
void peerauth_mac(const char *secret, enum peerauth_role role, const struct peerauth_transcript *t,
                  uint8_t out[PEERAUTH_MAC_BYTES]);
/* Compares in constant time. */
bool peerauth_mac_ok(const char *secret, enum peerauth_role role,
                     const struct peerauth_transcript *t, const uint8_t mac[PEERAUTH_MAC_BYTES]);
/* Fresh randomness from the kernel. */
void peerauth_nonce(uint8_t out[PEERAUTH_NONCE_BYTES]);

/* Raft port frames. The connector fills connector_* and writes a hello;
 * the acceptor reads it, fills acceptor_* and writes a challenge; the
 * connector reads that (checking the acceptor is expected_id) and writes a
 * proof; the acceptor reads the proof. */
void peerauth_hello_write(uint8_t out[PEERAUTH_HELLO_BYTES], const struct peerauth_transcript *t);
enum peerauth_result peerauth_hello_read(const uint8_t in[PEERAUTH_HELLO_BYTES],
                                         struct peerauth_transcript *t);
void peerauth_challenge_write(uint8_t out[PEERAUTH_CHALLENGE_BYTES], const char *secret,
                              const struct peerauth_transcript *t);
enum peerauth_result peerauth_challenge_read(const uint8_t in[PEERAUTH_CHALLENGE_BYTES],
                                             const char *secret, uint64_t expected_id,
                                             struct peerauth_transcript *t);
void peerauth_proof_write(uint8_t out[PEERAUTH_PROOF_BYTES], const char *secret,
                          const struct peerauth_transcript *t);
enum peerauth_result peerauth_proof_read(const uint8_t in[PEERAUTH_PROOF_BYTES],
                                         const char *secret, const struct peerauth_transcript *t);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated), and
 * back: false unless hex is exactly 2n hex digits. */
void peerauth_hex(const uint8_t *in, size_t n, char *out);
bool peerauth_unhex(const char *hex, size_t len, uint8_t *out, size_t n);

/* Whether addr ("ip:port", "[ipv6]:port", a bare IP, or "localhost[:port]")
 * is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
bool peerauth_is_loopback(const char *addr);

/* Logs a refused peer at most once per second per limiter, saying how many
 * were refused without a line in between. The text never holds the secret. */
struct peerauth_limiter {
    int64_t next_us;
    unsigned long suppressed;
};
void peerauth_log_refused(struct peerauth_limiter *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
