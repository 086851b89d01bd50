/* Unit tests for base/peerauth.c, the cluster handshake between nodes: a
 * full Raft-port exchange between two sides that share the secret passes;
 * a side with another secret, a replayed proof, an acceptor's proof sent
 * back as a connector's, a link proof used on the Raft port, a challenge
 * from a node other than the one meant, and bytes that are not a
 * handshake all fail. Also the hex words of the link and the loopback
 * rule that applies when no secret is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/peerauth.h"

#define SECRET "correct horse battery staple"
#define OTHER "correct horse battery stapler"

/* Runs the Raft-port handshake: connector (id 1) with connector_secret to
 * acceptor (id 2) with acceptor_secret. Returns what the acceptor thought
 * of the proof, or the connector's verdict on the challenge if it failed
 * there. The frames are left in the arguments for replays. */
static enum peerauth_result exchange(const char *connector_secret, const char *acceptor_secret,
                                     uint8_t hello[PEERAUTH_HELLO_BYTES],
                                     uint8_t challenge[PEERAUTH_CHALLENGE_BYTES],
                                     uint8_t proof[PEERAUTH_PROOF_BYTES],
                                     struct peerauth_transcript *acceptor_side)
{
    struct peerauth_transcript c = {0}, *a = acceptor_side;
    memset(a, 0, sizeof *a);
    peerauth_nonce(c.connector_nonce);
    c.connector_id = 1;
    strcpy(c.connector_addr, "10.0.0.1:7001");
    peerauth_hello_write(hello, &c);

    assert_int_equal(peerauth_hello_read(hello, a), PEERAUTH_OK);
    assert_int_equal(a->connector_id, 1);
    assert_string_equal(a->connector_addr, "10.0.0.1:7001");
    peerauth_nonce(a->acceptor_nonce);
    a->acceptor_id = 2;
    peerauth_challenge_write(challenge, acceptor_secret, a);

    enum peerauth_result rv = peerauth_challenge_read(challenge, connector_secret, 2, &c);
    if (rv != PEERAUTH_OK) return rv;
    peerauth_proof_write(proof, connector_secret, &c);
    return peerauth_proof_read(proof, acceptor_secret, a);
}

static void same_secret_passes(void **state)
{
    (void)state;
    uint8_t h[PEERAUTH_HELLO_BYTES], ch[PEERAUTH_CHALLENGE_BYTES], p[PEERAUTH_PROOF_BYTES];
    struct peerauth_transcript a;
    assert_int_equal(exchange(SECRET, SECRET, h, ch, p, &a), PEERAUTH_OK);
    /* No secret on either side: the empty key (loopback-only mode). */
    assert_int_equal(exchange("", "", h, ch, p, &a), PEERAUTH_OK);
}

static void other_secret_fails_both_ways(void **state)
{
    (void)state;
    uint8_t h[PEERAUTH_HELLO_BYTES], ch[PEERAUTH_CHALLENGE_BYTES], p[PEERAUTH_PROOF_BYTES];
    struct peerauth_transcript a;
    /* The connector notices the acceptor's proof is wrong... */
    assert_int_equal(exchange(OTHER, SECRET, h, ch, p, &a), PEERAUTH_WRONG_SECRET);
    assert_int_equal(exchange("", SECRET, h, ch, p, &a), PEERAUTH_WRONG_SECRET);
    /* ... and a connector that ignores that and sends a proof anyway is
     * refused by the acceptor. */
    struct peerauth_transcript c = {0};
    peerauth_nonce(c.connector_nonce);
    c.connector_id = 1;
    strcpy(c.connector_addr, "10.0.0.1:7001");
    peerauth_hello_write(h, &c);
    assert_int_equal(peerauth_hello_read(h, &a), PEERAUTH_OK);
    peerauth_nonce(a.acceptor_nonce);
    a.acceptor_id = 2;
    memcpy(c.acceptor_nonce, a.acceptor_nonce, PEERAUTH_NONCE_BYTES);
    c.acceptor_id = 2;
    peerauth_proof_write(p, OTHER, &c);
    assert_int_equal(peerauth_proof_read(p, SECRET, &a), PEERAUTH_WRONG_SECRET);
    peerauth_proof_write(p, SECRET, &c);
    assert_int_equal(peerauth_proof_read(p, SECRET, &a), PEERAUTH_OK);
}

static void replayed_proof_fails(void **state)
{
    (void)state;
    uint8_t h[PEERAUTH_HELLO_BYTES], ch[PEERAUTH_CHALLENGE_BYTES], p[PEERAUTH_PROOF_BYTES];
    struct peerauth_transcript a;
    assert_int_equal(exchange(SECRET, SECRET, h, ch, p, &a), PEERAUTH_OK);
    /* An eavesdropper sends the captured hello and proof on a new
     * connection: the acceptor's nonce is new, the proof does not fit. */
    struct peerauth_transcript fresh = {0};
    assert_int_equal(peerauth_hello_read(h, &fresh), PEERAUTH_OK);
    peerauth_nonce(fresh.acceptor_nonce);
    fresh.acceptor_id = 2;
    assert_int_equal(peerauth_proof_read(p, SECRET, &fresh), PEERAUTH_WRONG_SECRET);
}

static void reflected_proof_fails(void **state)
{
    (void)state;
    /* An attacker connects twice to the same acceptor and hands one
     * connection's acceptor proof to the other as a connector's proof:
     * even over the same transcript, the direction labels differ. */
    struct peerauth_transcript t = {0};
    peerauth_nonce(t.connector_nonce);
    peerauth_nonce(t.acceptor_nonce);
    t.connector_id = 1;
    t.acceptor_id = 2;
    strcpy(t.connector_addr, "10.0.0.1:7001");
    uint8_t acceptor_mac[PEERAUTH_MAC_BYTES], link_mac[PEERAUTH_MAC_BYTES];
    peerauth_mac(SECRET, PEERAUTH_RAFT_ACCEPTOR, &t, acceptor_mac);
    assert_false(peerauth_mac_ok(SECRET, PEERAUTH_RAFT_CONNECTOR, &t, acceptor_mac));
    assert_true(peerauth_mac_ok(SECRET, PEERAUTH_RAFT_ACCEPTOR, &t, acceptor_mac));
    /* A proof made for the client-port link means nothing on the Raft port. */
    peerauth_mac(SECRET, PEERAUTH_LINK_CONNECTOR, &t, link_mac);
    assert_false(peerauth_mac_ok(SECRET, PEERAUTH_RAFT_CONNECTOR, &t, link_mac));
    /* Every field counts. */
    struct peerauth_transcript u = t;
    u.connector_id = 3;
    assert_false(peerauth_mac_ok(SECRET, PEERAUTH_RAFT_ACCEPTOR, &u, acceptor_mac));
    u = t;
    strcpy(u.connector_addr, "10.0.0.1:7002");
    assert_false(peerauth_mac_ok(SECRET, PEERAUTH_RAFT_ACCEPTOR, &u, acceptor_mac));
}

static void wrong_node_and_garbage(void **state)
{
    (void)state;
    uint8_t h[PEERAUTH_HELLO_BYTES], ch[PEERAUTH_CHALLENGE_BYTES], p[PEERAUTH_PROOF_BYTES];
    struct peerauth_transcript a, c = {0};
    assert_int_equal(exchange(SECRET, SECRET, h, ch, p, &a), PEERAUTH_OK);
    /* A member we meant as node 3 answers as node 2: not who we meant. */
    struct peerauth_transcript hello_side = {0};
    assert_int_equal(peerauth_hello_read(h, &hello_side), PEERAUTH_OK);
    c = hello_side;
    assert_int_equal(peerauth_challenge_read(ch, SECRET, 3, &c), PEERAUTH_WRONG_NODE);
    /* libraft's own handshake (protocol 1, id, address) is not ours. */
    uint8_t raft_preamble[PEERAUTH_HELLO_BYTES] = {1, 0, 0, 0, 0, 0, 0, 0, 99};
    assert_int_equal(peerauth_hello_read(raft_preamble, &a), PEERAUTH_NOT_PARLEY);
    /* Our magic, but no id or an unprintable address. */
    memcpy(raft_preamble, "PARLEYH1", 8);
    assert_int_equal(peerauth_hello_read(raft_preamble, &a), PEERAUTH_NOT_PARLEY);
    uint8_t bad[PEERAUTH_HELLO_BYTES];
    memcpy(bad, h, sizeof bad);
    bad[8 + PEERAUTH_NONCE_BYTES + 8 + 1] = '\n';
    assert_int_equal(peerauth_hello_read(bad, &a), PEERAUTH_NOT_PARLEY);
    uint8_t not_proof[PEERAUTH_PROOF_BYTES] = {0};
    assert_int_equal(peerauth_proof_read(not_proof, SECRET, &a), PEERAUTH_NOT_PARLEY);
}

static void hex_words(void **state)
{
    (void)state;
    uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff}, out[4];
    char hex[9];
    peerauth_hex(in, 4, hex);
    assert_string_equal(hex, "00ab7fff");
    assert_true(peerauth_unhex("00AB7fff", 8, out, 4));
    assert_memory_equal(in, out, 4);
    assert_false(peerauth_unhex("00ab7ff", 7, out, 4));
    assert_false(peerauth_unhex("00ab7ffg", 8, out, 4));
    assert_false(peerauth_unhex("00ab7fff00", 10, out, 4));
}

static void loopback_rule(void **state)
{
    (void)state;
    assert_true(peerauth_is_loopback("127.0.0.1:17001"));
    assert_true(peerauth_is_loopback("127.1.2.3:1"));
    assert_true(peerauth_is_loopback("127.0.0.1"));
    assert_true(peerauth_is_loopback("[::1]:7000"));
    assert_true(peerauth_is_loopback("::1"));
    assert_true(peerauth_is_loopback("[::ffff:127.0.0.1]:5"));
    assert_true(peerauth_is_loopback("localhost:7000"));
    assert_false(peerauth_is_loopback("10.0.0.1:17001"));
    assert_false(peerauth_is_loopback("128.0.0.1:1"));
    assert_false(peerauth_is_loopback("0.0.0.0:7000"));
    assert_false(peerauth_is_loopback("[::ffff:10.0.0.1]:5"));
    assert_false(peerauth_is_loopback("db.example.com:7000"));
    assert_false(peerauth_is_loopback(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_secret_passes),     cmocka_unit_test(other_secret_fails_both_ways),
        cmocka_unit_test(replayed_proof_fails),   cmocka_unit_test(reflected_proof_fails),
        cmocka_unit_test(wrong_node_and_garbage), cmocka_unit_test(hex_words),
        cmocka_unit_test(loopback_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
