/* base/peerauth.c — the cluster-secret handshake between nodes: proofs,
 * frames, and the checks and logging around them (see peerauth.h). Pure
 * apart from the kernel's randomness and the log. */
#include "base/peerauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"

static const char magic_hello[8] = {'P', 'A', 'R', 'L', 'E', 'Y', 'H', '1'};
static const char magic_challenge[8] = {'P', 'A', 'R', 'L', 'E', 'Y', 'C', '1'};
static const char magic_proof[8] = {'P', 'A', 'R', 'L', 'E', 'Y', 'P', '1'};

const char *peerauth_result_text(enum peerauth_result r)
{
    switch (r) {
    case PEERAUTH_OK: return "ok";
    case PEERAUTH_NOT_PARLEY: return "not a Parley node's handshake";
    case PEERAUTH_WRONG_SECRET: return "wrong cluster secret";
    case PEERAUTH_WRONG_NODE: return "another node answers at that address";
    }
    return "?";
}

static const char *label_of(enum peerauth_role role)
{
    switch (role) {
    case PEERAUTH_RAFT_CONNECTOR: return "parley raft connector v1";
    case PEERAUTH_RAFT_ACCEPTOR: return "parley raft acceptor v1";
    case PEERAUTH_LINK_CONNECTOR: return "parley link connector v1";
    case PEERAUTH_LINK_ACCEPTOR: return "parley link acceptor v1";
    }
    CHECK(!"unknown peerauth role");
    return "";
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void peerauth_mac(const char *secret, enum peerauth_role role, const struct peerauth_transcript *t,
                  uint8_t out[PEERAUTH_MAC_BYTES])
{
    /* label NUL, nonces, ids, the address with its length: every field
     * has a fixed place, so no two transcripts make the same message. */
    uint8_t msg[64 + 2 * PEERAUTH_NONCE_BYTES + 16 + 1 + PEERAUTH_ADDR_MAX];
    size_t n = 0;
    const char *label = label_of(role);
    size_t label_len = strlen(label) + 1;
    CHECK(label_len <= 64);
    memcpy(msg, label, label_len);
    n += label_len;
    memcpy(msg + n, t->connector_nonce, PEERAUTH_NONCE_BYTES);
    n += PEERAUTH_NONCE_BYTES;
    memcpy(msg + n, t->acceptor_nonce, PEERAUTH_NONCE_BYTES);
    n += PEERAUTH_NONCE_BYTES;
    put64(msg + n, t->connector_id);
    put64(msg + n + 8, t->acceptor_id);
    n += 16;
    size_t addr_len = strnlen(t->connector_addr, PEERAUTH_ADDR_MAX);
    msg[n++] = (uint8_t)addr_len;
    memcpy(msg + n, t->connector_addr, addr_len);
    n += addr_len;
    unsigned int mac_len = 0;
    /* An empty secret is an empty key (no secret set: loopback only). */
    static const unsigned char empty[1];
    const unsigned char *key = secret && secret[0] ? (const unsigned char *)secret : empty;
    int key_len = secret ? (int)strlen(secret) : 0;
    CHECK(HMAC(EVP_sha256(), key, key_len, msg, n, out, &mac_len) != NULL);
    CHECK(mac_len == PEERAUTH_MAC_BYTES);
}

bool peerauth_mac_ok(const char *secret, enum peerauth_role role,
                     const struct peerauth_transcript *t, const uint8_t mac[PEERAUTH_MAC_BYTES])
{
    uint8_t want[PEERAUTH_MAC_BYTES];
    peerauth_mac(secret, role, t, want);
    return CRYPTO_memcmp(want, mac, PEERAUTH_MAC_BYTES) == 0;
}

void peerauth_nonce(uint8_t out[PEERAUTH_NONCE_BYTES])
{
    size_t have = 0;
    while (have < PEERAUTH_NONCE_BYTES) {
        ssize_t n = getrandom(out + have, PEERAUTH_NONCE_BYTES - have, 0);
        if (n < 0 && errno == EINTR) continue;
        CHECK(n > 0); /* without randomness a handshake proves nothing */
        have += (size_t)n;
    }
}

/* ------------------------------------------------------------------ */

void peerauth_hello_write(uint8_t out[PEERAUTH_HELLO_BYTES], const struct peerauth_transcript *t)
{
    memset(out, 0, PEERAUTH_HELLO_BYTES);
    memcpy(out, magic_hello, 8);
    memcpy(out + 8, t->connector_nonce, PEERAUTH_NONCE_BYTES);
    put64(out + 8 + PEERAUTH_NONCE_BYTES, t->connector_id);
    size_t addr_len = strnlen(t->connector_addr, PEERAUTH_ADDR_MAX);
    out[16 + PEERAUTH_NONCE_BYTES] = (uint8_t)addr_len;
    memcpy(out + 17 + PEERAUTH_NONCE_BYTES, t->connector_addr, addr_len);
}

enum peerauth_result peerauth_hello_read(const uint8_t in[PEERAUTH_HELLO_BYTES],
                                         struct peerauth_transcript *t)
{
    if (memcmp(in, magic_hello, 8) != 0) return PEERAUTH_NOT_PARLEY;
    memcpy(t->connector_nonce, in + 8, PEERAUTH_NONCE_BYTES);
    t->connector_id = get64(in + 8 + PEERAUTH_NONCE_BYTES);
    size_t addr_len = in[16 + PEERAUTH_NONCE_BYTES];
    const uint8_t *addr = in + 17 + PEERAUTH_NONCE_BYTES;
    /* libraft needs a printable address; an id of 0 is no server. */
    if (t->connector_id == 0 || addr_len == 0) return PEERAUTH_NOT_PARLEY;
    for (size_t i = 0; i < addr_len; i++)
        if (addr[i] < 0x21 || addr[i] > 0x7e) return PEERAUTH_NOT_PARLEY;
    memcpy(t->connector_addr, addr, addr_len);
    t->connector_addr[addr_len] = '\0';
    return PEERAUTH_OK;
}

void peerauth_challenge_write(uint8_t out[PEERAUTH_CHALLENGE_BYTES], const char *secret,
                              const struct peerauth_transcript *t)
{
    memcpy(out, magic_challenge, 8);
    memcpy(out + 8, t->acceptor_nonce, PEERAUTH_NONCE_BYTES);
    put64(out + 8 + PEERAUTH_NONCE_BYTES, t->acceptor_id);
    peerauth_mac(secret, PEERAUTH_RAFT_ACCEPTOR, t, out + 16 + PEERAUTH_NONCE_BYTES);
}

enum peerauth_result peerauth_challenge_read(const uint8_t in[PEERAUTH_CHALLENGE_BYTES],
                                             const char *secret, uint64_t expected_id,
                                             struct peerauth_transcript *t)
{
    if (memcmp(in, magic_challenge, 8) != 0) return PEERAUTH_NOT_PARLEY;
    memcpy(t->acceptor_nonce, in + 8, PEERAUTH_NONCE_BYTES);
    t->acceptor_id = get64(in + 8 + PEERAUTH_NONCE_BYTES);
    if (!peerauth_mac_ok(secret, PEERAUTH_RAFT_ACCEPTOR, t, in + 16 + PEERAUTH_NONCE_BYTES))
        return PEERAUTH_WRONG_SECRET;
    if (t->acceptor_id != expected_id) return PEERAUTH_WRONG_NODE;
    return PEERAUTH_OK;
}

void peerauth_proof_write(uint8_t out[PEERAUTH_PROOF_BYTES], const char *secret,
                          const struct peerauth_transcript *t)
{
    memcpy(out, magic_proof, 8);
    peerauth_mac(secret, PEERAUTH_RAFT_CONNECTOR, t, out + 8);
}

enum peerauth_result peerauth_proof_read(const uint8_t in[PEERAUTH_PROOF_BYTES],
                                         const char *secret, const struct peerauth_transcript *t)
{
    if (memcmp(in, magic_proof, 8) != 0) return PEERAUTH_NOT_PARLEY;
    return peerauth_mac_ok(secret, PEERAUTH_RAFT_CONNECTOR, t, in + 8) ? PEERAUTH_OK
                                                                        : PEERAUTH_WRONG_SECRET;
}

/* ------------------------------------------------------------------ */

void peerauth_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool peerauth_unhex(const char *hex, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool peerauth_is_loopback(const char *addr)
{
    char host[PEERAUTH_ADDR_MAX + 1];
    snprintf(host, sizeof host, "%s", addr);
    if (host[0] == '[') { /* [v6]:port */
        char *end = strchr(host, ']');
        if (end == NULL) return false;
        *end = '\0';
        memmove(host, host + 1, strlen(host + 1) + 1);
    } else {
        char *colon = strchr(host, ':');
        /* One colon: host:port. More: a bare IPv6 address. */
        if (colon && strchr(colon + 1, ':') == NULL) *colon = '\0';
    }
    if (strcasecmp(host, "localhost") == 0) return true;
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    struct in6_addr v6;
    if (inet_pton(AF_INET6, host, &v6) != 1) return false;
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

void peerauth_log_refused(struct peerauth_limiter *l, const char *fmt, ...)
{
    int64_t now = clock_mono_us();
    if (now < l->next_us) {
        l->suppressed++;
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (l->suppressed)
        log_warn("%s (%lu more refused since the last such line)", line, l->suppressed);
    else
        log_warn("%s", line);
    l->suppressed = 0;
    l->next_us = now + 1000000;
}
