/* base/tls.c — see tls.h.
 *
 * Each engine is an OpenSSL SSL object between two memory BIOs: `rbio`
 * holds the ciphertext fed and not yet decrypted, `wbio` the ciphertext
 * produced and not yet taken. OpenSSL's error queue is per thread and shared
 * by every engine, so each call clears it first and reads it right after. */
#include "base/tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/check.h"
#include "base/mem.h"

struct tls_ctx {
    SSL_CTX *ssl;
    enum tls_role role;
};

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio;
    char error[256];
};

static bool set(const char *s) { return s != NULL && s[0] != '\0'; }

/* OpenSSL's first queued error, as Redis logs it. */
static void openssl_error(char *out, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(out, len, "unknown error");
    } else {
        ERR_error_string_n(e, out, len);
    }
    ERR_clear_error();
}

int tls_auth_parse(const char *value)
{
    if (!strcasecmp(value, "no")) return TLS_AUTH_NO;
    if (!strcasecmp(value, "yes")) return TLS_AUTH_YES;
    if (!strcasecmp(value, "optional")) return TLS_AUTH_OPTIONAL;
    return -1;
}

const char *tls_auth_name(enum tls_auth a)
{
    CHECK(a != TLS_AUTH_REQUEST); /* no directive's value */
    return a == TLS_AUTH_NO ? "no" : a == TLS_AUTH_YES ? "yes" : "optional";
}

/* TLS_AUTH_REQUEST: the verification goes on whatever it finds; its result
 * stays in SSL_get_verify_result (tls_conn_peer_verified reads it). */
static int verify_continue(int preverify_ok, X509_STORE_CTX *store)
{
    return 1;
}

/* tls-protocols: a space-separated subset of TLSv1, TLSv1.1, TLSv1.2 and
 * TLSv1.3; empty means TLSv1.2 and TLSv1.3. The SSL_OP_NO_* options for
 * the ones left out, or -1 for a word that is none of them. */
static long protocol_options(const char *protocols)
{
    static const struct {
        const char *name;
        long no_option;
    } known[] = {
        {"TLSv1", SSL_OP_NO_TLSv1},
        {"TLSv1.1", SSL_OP_NO_TLSv1_1},
        {"TLSv1.2", SSL_OP_NO_TLSv1_2},
        {"TLSv1.3", SSL_OP_NO_TLSv1_3},
    };
    long allowed = 0, all = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) all |= known[i].no_option;
    if (!set(protocols)) return SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    char copy[256];
    if (strlen(protocols) >= sizeof copy) return -1;
    snprintf(copy, sizeof copy, "%s", protocols);
    int words = 0;
    for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        size_t i = 0;
        while (i < sizeof known / sizeof *known && strcasecmp(w, known[i].name) != 0) i++;
        if (i == sizeof known / sizeof *known) return -1;
        allowed |= known[i].no_option;
        words++;
    }
    if (words == 0) return SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    return all & ~allowed;
}

/* The passphrase of tls-key-file-pass, while the key is being read. */
static int key_password(char *buf, int size, int rwflag, void *userdata)
{
    const char *pass = userdata;
    size_t len = strlen(pass);
    if (size <= 0 || len > (size_t)size) return 0;
    memcpy(buf, pass, len);
    return (int)len;
}

struct tls_ctx *tls_ctx_new(const struct tls_settings *s, enum tls_role role, char *err,
                            size_t errlen)
{
    char why[256];
    bool server = role == TLS_ROLE_SERVER;
    if (server && !set(s->cert_file)) {
        snprintf(err, errlen, "No tls-cert-file configured!");
        return NULL;
    }
    if (server && !set(s->key_file)) {
        snprintf(err, errlen, "No tls-key-file configured!");
        return NULL;
    }
    if (s->auth_peers != TLS_AUTH_NO && !set(s->ca_cert_file) && !set(s->ca_cert_dir)) {
        snprintf(err, errlen,
                 "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                 "tls-cluster, tls-replication or tls-auth-clients are enabled!");
        return NULL;
    }
    long no_protocols = protocol_options(s->protocols);
    if (no_protocols < 0) {
        snprintf(err, errlen,
                 "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', "
                 "'TLSv1.2' and 'TLSv1.3'.");
        return NULL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL) {
        openssl_error(why, sizeof why);
        snprintf(err, errlen, "Failed to create TLS context: %s", why);
        return NULL;
    }
    SSL_CTX_set_options(ctx, (uint64_t)no_protocols | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
    if (s->prefer_server_ciphers) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* A resumed session must belong to this server's context, or OpenSSL
     * refuses resumption when client certificates are verified. */
    if (server) {
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"parley", 6);
        SSL_CTX_set_dh_auto(ctx, 1);
    }

    if (set(s->cert_file) || set(s->key_file)) {
        if (set(s->key_file_pass)) {
            SSL_CTX_set_default_passwd_cb(ctx, key_password);
            SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)s->key_file_pass);
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, s->cert_file) <= 0) {
            openssl_error(why, sizeof why);
            snprintf(err, errlen, "Failed to load certificate: %s: %s", s->cert_file, why);
            goto err_after_ctx;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, s->key_file, SSL_FILETYPE_PEM) <= 0) {
            openssl_error(why, sizeof why);
            snprintf(err, errlen, "Failed to load private key: %s: %s", s->key_file, why);
            goto err_after_ctx;
        }
        if (SSL_CTX_check_private_key(ctx) <= 0) {
            openssl_error(why, sizeof why);
            snprintf(err, errlen, "Private key %s does not match certificate %s: %s", s->key_file,
                     s->cert_file, why);
            goto err_after_ctx;
        }
        /* The passphrase is needed only while the key is read. */
        SSL_CTX_set_default_passwd_cb(ctx, NULL);
        SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    }
    if ((set(s->ca_cert_file) || set(s->ca_cert_dir)) &&
        SSL_CTX_load_verify_locations(ctx, set(s->ca_cert_file) ? s->ca_cert_file : NULL,
                                      set(s->ca_cert_dir) ? s->ca_cert_dir : NULL) <= 0) {
        openssl_error(why, sizeof why);
        snprintf(err, errlen, "Failed to configure CA certificate(s) file/directory: %s", why);
        goto err_after_ctx;
    }
    if (set(s->ciphers) && !SSL_CTX_set_cipher_list(ctx, s->ciphers)) {
        openssl_error(why, sizeof why);
        snprintf(err, errlen, "Failed to configure ciphers: %s", s->ciphers);
        goto err_after_ctx;
    }
    if (set(s->ciphersuites) && !SSL_CTX_set_ciphersuites(ctx, s->ciphersuites)) {
        openssl_error(why, sizeof why);
        snprintf(err, errlen, "Failed to configure ciphersuites: %s", s->ciphersuites);
        goto err_after_ctx;
    }
    int verify = SSL_VERIFY_NONE;
    if (s->auth_peers == TLS_AUTH_YES)
        verify = SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    else if (s->auth_peers == TLS_AUTH_OPTIONAL || s->auth_peers == TLS_AUTH_REQUEST)
        verify = SSL_VERIFY_PEER;
    SSL_CTX_set_verify(ctx, verify, s->auth_peers == TLS_AUTH_REQUEST ? verify_continue : NULL);

    struct tls_ctx *t = xcalloc(1, sizeof *t);
    t->ssl = ctx;
    t->role = role;
    return t;

err_after_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (ctx == NULL) return;
    SSL_CTX_free(ctx->ssl); /* engines hold their own references */
    free(ctx);
}

int tls_ctx_reload(struct tls_ctx **slot, const struct tls_settings *s, enum tls_role role,
                   char *err, size_t errlen)
{
    struct tls_ctx *fresh = tls_ctx_new(s, role, err, errlen);
    if (fresh == NULL) return -1;
    tls_ctx_free(*slot);
    *slot = fresh;
    return 0;
}

/* --------------------------------------------------------------------
 * The engine
 * ------------------------------------------------------------------ */

struct tls_conn *tls_conn_new(struct tls_ctx *ctx)
{
    CHECK(ctx != NULL);
    ERR_clear_error();
    struct tls_conn *t = xcalloc(1, sizeof *t);
    t->ssl = SSL_new(ctx->ssl); /* takes a reference to the context */
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    CHECK(t->ssl != NULL && t->rbio != NULL && t->wbio != NULL); /* only out of memory */
    /* An empty input BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both now */
    if (ctx->role == TLS_ROLE_SERVER) SSL_set_accept_state(t->ssl);
    else SSL_set_connect_state(t->ssl);
    return t;
}

void tls_conn_free(struct tls_conn *t)
{
    if (t == NULL) return;
    SSL_free(t->ssl);
    free(t);
}

void tls_conn_feed(struct tls_conn *t, const void *p, size_t len)
{
    const char *c = p;
    while (len > 0) {
        int piece = len > INT_MAX ? INT_MAX : (int)len;
        int n = BIO_write(t->rbio, c, piece);
        CHECK(n == piece); /* a memory BIO takes everything, or we are out of memory */
        c += n;
        len -= (size_t)n;
    }
}

/* Maps the result of an SSL call: 0 (wait for input), TLS_CLOSED or
 * TLS_FAILED with the reason recorded. */
static int outcome(struct tls_conn *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return TLS_CLOSED;
    default: {
        char why[200];
        openssl_error(why, sizeof why);
        long verify = SSL_get_verify_result(t->ssl);
        if (verify != X509_V_OK)
            snprintf(t->error, sizeof t->error, "%s (certificate: %s)", why,
                     X509_verify_cert_error_string(verify));
        else
            snprintf(t->error, sizeof t->error, "%s", why);
        return TLS_FAILED;
    }
    }
}

int tls_conn_handshake(struct tls_conn *t)
{
    if (SSL_is_init_finished(t->ssl)) return 1;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) return 1;
    int o = outcome(t, ret);
    if (o == TLS_CLOSED) {
        snprintf(t->error, sizeof t->error, "the peer ended the session during the handshake");
        return TLS_FAILED;
    }
    return o;
}

ssize_t tls_conn_read(struct tls_conn *t, void *p, size_t cap)
{
    if (cap == 0) return 0;
    ERR_clear_error();
    int ret = SSL_read(t->ssl, p, cap > INT_MAX ? INT_MAX : (int)cap);
    if (ret > 0) return ret;
    return outcome(t, ret);
}

ssize_t tls_conn_write(struct tls_conn *t, const void *p, size_t len)
{
    if (len == 0 || !SSL_is_init_finished(t->ssl)) return 0;
    ERR_clear_error();
    int ret = SSL_write(t->ssl, p, len > TLS_WRITE_CHUNK ? TLS_WRITE_CHUNK : (int)len);
    if (ret > 0) return ret;
    int o = outcome(t, ret);
    return o == 0 ? 0 : TLS_FAILED;
}

size_t tls_conn_pending(const struct tls_conn *t) { return BIO_ctrl_pending(t->wbio); }

size_t tls_conn_take(struct tls_conn *t, void *p, size_t cap)
{
    size_t have = BIO_ctrl_pending(t->wbio);
    if (cap > have) cap = have;
    if (cap > INT_MAX) cap = INT_MAX;
    if (cap == 0) return 0;
    int n = BIO_read(t->wbio, p, (int)cap);
    CHECK(n == (int)cap);
    return (size_t)n;
}

bool tls_conn_established(const struct tls_conn *t) { return SSL_is_init_finished(t->ssl); }

bool tls_conn_peer_verified(const struct tls_conn *t)
{
    return SSL_get0_peer_certificate(t->ssl) != NULL &&
           SSL_get_verify_result(t->ssl) == X509_V_OK;
}

const char *tls_conn_error(const struct tls_conn *t) { return t->error; }
