/* tests/unit/tls_certs.h — certificates for the TLS unit tests, made with
 * the openssl CLI in a temporary directory by the group setup
 * (make_certs) and removed by its teardown (remove_certs): a CA (ca.crt),
 * a server and a client certificate it signed, and a client certificate
 * ("rogue") another CA signed; and contexts built from them. Include after
 * <cmocka.h>. */
#ifndef PARLEY_TESTS_TLS_CERTS_H
#define PARLEY_TESTS_TLS_CERTS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/tls.h"

static char dir[64];
static char path_buf[8][256];

static inline const char *path(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

static inline int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd %s && %s >/dev/null 2>&1", dir, cmd);
    return system(full);
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static inline int make_certs(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/parley-tls-XXXXXX");
    if (mkdtemp(dir) == NULL) return -1;
    const char *cmds[] = {
        "openssl req -x509 " EC " -keyout ca.key -out ca.crt -days 2 -subj /CN=ca",
        "openssl req -x509 " EC " -keyout other.key -out other.crt -days 2 -subj /CN=other",
        "openssl req " EC " -keyout server.key -out server.csr -subj /CN=server",
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-out server.crt",
        "openssl req " EC " -keyout client.key -out client.csr -subj /CN=client",
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-out client.crt",
        "openssl req " EC " -keyout rogue.key -out rogue.csr -subj /CN=rogue",
        "openssl x509 -req -in rogue.csr -CA other.crt -CAkey other.key -CAcreateserial -days 2 "
        "-out rogue.crt",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (run(cmds[i]) != 0) return -1;
    return 0;
}

static inline int remove_certs(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* A server showing `cert` (server: the one ca.crt signed; rogue: another
 * CA's), trusting ca.crt. */
static inline struct tls_ctx *server_ctx_showing(const char *cert, enum tls_auth auth)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", cert);
    snprintf(key, sizeof key, "%s.key", cert);
    struct tls_settings s = {
        .cert_file = path(0, crt),
        .key_file = path(1, key),
        .ca_cert_file = path(2, "ca.crt"),
        .auth_peers = auth,
    };
    char err[256];
    struct tls_ctx *ctx = tls_ctx_new(&s, TLS_ROLE_SERVER, err, sizeof err);
    if (ctx == NULL) fail_msg("server context: %s", err);
    return ctx;
}

static inline struct tls_ctx *server_ctx(enum tls_auth auth)
{
    return server_ctx_showing("server", auth);
}

/* A client trusting ca.crt, showing `cert` (NULL: none). */
static inline struct tls_ctx *client_ctx(const char *cert)
{
    char crt[64], key[64];
    snprintf(crt, sizeof crt, "%s.crt", cert ? cert : "");
    snprintf(key, sizeof key, "%s.key", cert ? cert : "");
    struct tls_settings s = {
        .cert_file = cert ? path(3, crt) : NULL,
        .key_file = cert ? path(4, key) : NULL,
        .ca_cert_file = path(5, "ca.crt"),
        .auth_peers = TLS_AUTH_YES,
    };
    char err[256];
    struct tls_ctx *ctx = tls_ctx_new(&s, TLS_ROLE_CLIENT, err, sizeof err);
    if (ctx == NULL) fail_msg("client context: %s", err);
    return ctx;
}

#endif
