/* tests/unit/test_tls.c — base/tls.c: two engines pumped into each other.
 *
 * The certificates are tls_certs.h's. A server-role and a client-role
 * engine exchange whatever each has to take until neither has anything
 * more (a bounded number of rounds): the handshake, data both ways, a megabyte written in the
 * engine's chunks, a client certificate required and refused, garbage
 * instead of a ClientHello, and a reload that fails (the old context is
 * kept) or succeeds while an engine made from the old context lives on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/tls.h"
#include "tls_certs.h"

/* Moves a's ciphertext to b; the bytes moved. */
static size_t move(struct tls_conn *from, struct tls_conn *to)
{
    char chunk[16384];
    size_t moved = 0, n;
    while ((n = tls_conn_take(from, chunk, sizeof chunk)) > 0) {
        tls_conn_feed(to, chunk, n);
        moved += n;
    }
    return moved;
}

/* Handshakes both until neither has anything to send: 1 when both are
 * established, else the failing side's result. */
static int handshake(struct tls_conn *client, struct tls_conn *server)
{
    int c = 0, s = 0;
    for (int round = 0; round < 20; round++) {
        c = tls_conn_handshake(client);
        size_t moved = move(client, server);
        s = tls_conn_handshake(server);
        moved += move(server, client);
        if (c < 0 || s < 0) return c < 0 ? c : s;
        if (c == 1 && s == 1 && moved == 0) return 1;
    }
    return 0;
}

/* Reads what `to` has after the exchange into out (at most cap). */
static ssize_t read_all(struct tls_conn *t, char *out, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = tls_conn_read(t, out + got, cap - got);
        if (n < 0) return n;
        if (n == 0) return (ssize_t)got;
        got += (size_t)n;
    }
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    struct tls_ctx *sctx = server_ctx(TLS_AUTH_NO), *cctx = client_ctx(NULL);
    struct tls_conn *server = tls_conn_new(sctx), *client = tls_conn_new(cctx);
    /* Nothing can be written before the handshake. */
    assert_int_equal(tls_conn_write(client, "x", 1), 0);
    assert_int_equal(handshake(client, server), 1);
    assert_true(tls_conn_established(client) && tls_conn_established(server));
    assert_false(tls_conn_peer_verified(server)); /* the client showed nothing */
    assert_true(tls_conn_peer_verified(client));  /* the server's certificate verified */

    assert_int_equal(tls_conn_write(client, "PING\r\n", 6), 6);
    move(client, server);
    char buf[64];
    assert_int_equal(read_all(server, buf, sizeof buf), 6);
    assert_memory_equal(buf, "PING\r\n", 6);

    /* A megabyte: at most one chunk per write, and its ciphertext is
     * about that big, so an owner that takes after each write holds little. */
    size_t big_len = 1024 * 1024;
    char *big = malloc(big_len), *got = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (char)(i * 7);
    size_t sent = 0, received = 0;
    while (sent < big_len) {
        ssize_t n = tls_conn_write(server, big + sent, big_len - sent);
        assert_true(n > 0 && n <= TLS_WRITE_CHUNK);
        assert_true(tls_conn_pending(server) <= TLS_WRITE_CHUNK + 4096);
        sent += (size_t)n;
        move(server, client);
        ssize_t r = read_all(client, got + received, big_len - received);
        assert_true(r >= 0);
        received += (size_t)r;
    }
    assert_int_equal(received, big_len);
    assert_memory_equal(got, big, big_len);
    free(big);
    free(got);

    tls_conn_free(client);
    tls_conn_free(server);
    tls_ctx_free(cctx);
    tls_ctx_free(sctx);
}

static void test_client_certificate_required(void **state)
{
    (void)state;
    struct tls_ctx *sctx = server_ctx(TLS_AUTH_YES);
    const char *clients[] = {NULL, "rogue", "client"};
    for (int i = 0; i < 3; i++) {
        struct tls_ctx *cctx = client_ctx(clients[i]);
        struct tls_conn *server = tls_conn_new(sctx), *client = tls_conn_new(cctx);
        int rv = handshake(client, server);
        if (i < 2) {
            /* TLS 1.3: the server decides after the client has finished;
             * it is the server that fails, and says why. */
            assert_true(rv < 0);
            assert_false(tls_conn_established(server));
            assert_true(strlen(tls_conn_error(server)) > 0);
        } else {
            assert_int_equal(rv, 1);
            assert_true(tls_conn_peer_verified(server));
        }
        tls_conn_free(client);
        tls_conn_free(server);
        tls_ctx_free(cctx);
    }
    tls_ctx_free(sctx);
}

/* TLS_AUTH_REQUEST (the client port of a tls-cluster node with
 * tls-auth-clients no): every client gets through the handshake, and only
 * one whose certificate the CA signed counts as verified. */
static void test_client_certificate_requested(void **state)
{
    (void)state;
    struct tls_ctx *sctx = server_ctx(TLS_AUTH_REQUEST);
    const char *clients[] = {NULL, "rogue", "client"};
    for (int i = 0; i < 3; i++) {
        struct tls_ctx *cctx = client_ctx(clients[i]);
        struct tls_conn *server = tls_conn_new(sctx), *client = tls_conn_new(cctx);
        assert_int_equal(handshake(client, server), 1);
        assert_true(tls_conn_established(server));
        assert_int_equal(tls_conn_peer_verified(server), i == 2);
        tls_conn_free(client);
        tls_conn_free(server);
        tls_ctx_free(cctx);
    }
    tls_ctx_free(sctx);
}

static void test_garbage_instead_of_hello(void **state)
{
    (void)state;
    struct tls_ctx *sctx = server_ctx(TLS_AUTH_NO);
    struct tls_conn *server = tls_conn_new(sctx);
    tls_conn_feed(server, "*1\r\n$4\r\nPING\r\n", 14);
    char buf[16];
    assert_int_equal(tls_conn_read(server, buf, sizeof buf), TLS_FAILED);
    assert_non_null(strstr(tls_conn_error(server), "wrong version number"));
    tls_conn_free(server);
    tls_ctx_free(sctx);
}

static void test_settings_refused(void **state)
{
    (void)state;
    char err[256];
    struct tls_settings s = {
        .cert_file = path(0, "server.crt"), .key_file = path(1, "server.key"),
        .protocols = "TLSv1.2 TLSv9",
    };
    assert_null(tls_ctx_new(&s, TLS_ROLE_SERVER, err, sizeof err));
    assert_string_equal(err, "Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                             "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
    s.protocols = NULL;
    s.auth_peers = TLS_AUTH_YES;
    assert_null(tls_ctx_new(&s, TLS_ROLE_SERVER, err, sizeof err));
    assert_non_null(strstr(err, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"));
    s.auth_peers = TLS_AUTH_NO;
    s.key_file = path(1, "client.key"); /* not the certificate's key */
    assert_null(tls_ctx_new(&s, TLS_ROLE_SERVER, err, sizeof err));
    s.key_file = path(1, "server.key");
    s.ciphersuites = "NOT_A_SUITE";
    assert_null(tls_ctx_new(&s, TLS_ROLE_SERVER, err, sizeof err));
    assert_string_equal(err, "Failed to configure ciphersuites: NOT_A_SUITE");
    assert_int_equal(tls_auth_parse("Optional"), TLS_AUTH_OPTIONAL);
    assert_int_equal(tls_auth_parse("maybe"), -1);
}

static void test_reload(void **state)
{
    (void)state;
    struct tls_ctx *slot = server_ctx(TLS_AUTH_NO), *before = slot;
    struct tls_conn *old_server = tls_conn_new(slot);
    char err[256];
    struct tls_settings bad = {.cert_file = path(0, "missing.crt"), .key_file = path(1, "server.key")};
    assert_int_equal(tls_ctx_reload(&slot, &bad, TLS_ROLE_SERVER, err, sizeof err), -1);
    assert_ptr_equal(slot, before);
    assert_non_null(strstr(err, "Failed to load certificate: "));

    struct tls_settings good = {.cert_file = path(0, "server.crt"), .key_file = path(1, "server.key")};
    assert_int_equal(tls_ctx_reload(&slot, &good, TLS_ROLE_SERVER, err, sizeof err), 0);
    assert_ptr_not_equal(slot, NULL);
    /* The engine made from the freed context still works. */
    struct tls_ctx *cctx = client_ctx(NULL);
    struct tls_conn *client = tls_conn_new(cctx);
    assert_int_equal(handshake(client, old_server), 1);
    tls_conn_free(client);
    tls_conn_free(old_server);
    tls_ctx_free(cctx);
    tls_ctx_free(slot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_client_certificate_required),
        cmocka_unit_test(test_client_certificate_requested),
        cmocka_unit_test(test_garbage_instead_of_hello),
        cmocka_unit_test(test_settings_refused),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
