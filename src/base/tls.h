/* base/tls.h — TLS (OpenSSL 3) over memory buffers, for any byte-stream owner.
 *
 * Two objects. A context (struct tls_ctx) is made from Redis's TLS
 * directives (certificate, key and its passphrase, CA file or directory,
 * protocols, TLS 1.2 ciphers, TLS 1.3 ciphersuites, server cipher
 * preference, whether the peer must show a certificate). A connection engine
 * (struct tls_conn) is one TLS session that never touches a socket: its
 * owner feeds it the ciphertext it received (tls_conn_feed), reads the
 * plaintext out (tls_conn_read, which also drives the handshake), hands it
 * plaintext to send (tls_conn_write) and takes the ciphertext to put on the
 * wire (tls_conn_take). So net/ (client connections) and repl/ (links
 * between nodes) can both drive it from their own libuv streams, and a unit
 * test can pump two engines into each other.
 *
 * Nothing blocks and nothing grows without the owner: the engine holds only
 * what was fed and not yet read, and the ciphertext of what was written and
 * not yet taken; tls_conn_write encrypts at most TLS_WRITE_CHUNK bytes per
 * call, so an owner that takes after each call holds the engine's output
 * buffer to that size. Deadlines (a handshake that does not finish) are the
 * owner's: the engine has no clock.
 *
 * Reloading certificates: build a new context with tls_ctx_reload. On
 * success it replaces the old one in its slot, connections made from now on
 * use it and existing ones keep the context they were made with (each holds
 * a reference) until they end; on failure nothing changes. */
#ifndef PARLEY_BASE_TLS_H
#define PARLEY_BASE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether the peer must present a certificate signed by the CA
 * (tls-auth-clients: no, yes, optional). A client-role context verifies the
 * server's certificate unless this is TLS_AUTH_NO. TLS_AUTH_REQUEST is no
 * directive's value: a server asks for a certificate and verifies one that
 * is shown, but neither its absence nor a failed verification ends the
 * handshake; tls_conn_peer_verified tells the owner which it was (the
 * client port of a tls-cluster node with tls-auth-clients no, where only
 * a peer's connection needs a certificate). */
enum tls_auth { TLS_AUTH_NO = 0, TLS_AUTH_YES = 1, TLS_AUTH_OPTIONAL = 2, TLS_AUTH_REQUEST = 3 };
enum tls_role { TLS_ROLE_SERVER, TLS_ROLE_CLIENT };

/* The directives, as text (NULL or "" = not set). */
struct tls_settings {
    const char *cert_file;
    const char *key_file;
    const char *key_file_pass;
    const char *ca_cert_file;
    const char *ca_cert_dir;
    const char *protocols;      /* "TLSv1.2 TLSv1.3" (the default when empty) */
    const char *ciphers;        /* TLS <= 1.2 cipher list */
    const char *ciphersuites;   /* TLS 1.3 ciphersuites */
    bool prefer_server_ciphers;
    enum tls_auth auth_peers;
};

/* The most plaintext one tls_conn_write call encrypts. */
#define TLS_WRITE_CHUNK (64 * 1024)

struct tls_ctx;

/* A context from the settings, or NULL with the reason in err (Redis's
 * wording: "Failed to load certificate: <file>: <OpenSSL error>"). */
struct tls_ctx *tls_ctx_new(const struct tls_settings *s, enum tls_role role, char *err,
                            size_t errlen);
/* Drops the caller's reference; engines made from it keep theirs. */
void tls_ctx_free(struct tls_ctx *ctx);
/* Builds a context from s; on success frees the one in *slot (if any) and
 * puts the new one there, returning 0. On failure *slot is left as it was
 * and -1 is returned with the reason in err. */
int tls_ctx_reload(struct tls_ctx **slot, const struct tls_settings *s, enum tls_role role,
                   char *err, size_t errlen);
/* Parses a tls-auth-clients value; -1 if it is not no, yes or optional. */
int tls_auth_parse(const char *value);
const char *tls_auth_name(enum tls_auth a);

/* Engine results: counts are >= 0; these are < 0. */
#define TLS_CLOSED (-1) /* the peer ended the session (close_notify) */
#define TLS_FAILED (-2) /* a TLS error: tls_conn_error says which */

struct tls_conn;

/* An engine in ctx's role (a server waits for the ClientHello; a client's
 * first tls_conn_handshake produces one). */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx);
void tls_conn_free(struct tls_conn *t);
/* Takes all of the ciphertext received (copies it). */
void tls_conn_feed(struct tls_conn *t, const void *p, size_t len);
/* Advances the handshake with what was fed: 1 established, 0 waiting for
 * the peer, TLS_FAILED. Any records it produced are left to take. */
int tls_conn_handshake(struct tls_conn *t);
/* Up to cap bytes of plaintext (driving the handshake first if needed):
 * > 0 bytes read, 0 nothing more until more is fed, TLS_CLOSED, TLS_FAILED. */
ssize_t tls_conn_read(struct tls_conn *t, void *p, size_t cap);
/* Encrypts up to TLS_WRITE_CHUNK bytes of p, once the handshake is done:
 * returns the bytes taken (0 before the handshake), or TLS_FAILED. */
ssize_t tls_conn_write(struct tls_conn *t, const void *p, size_t len);
/* Ciphertext waiting to be sent, and taking it (up to cap bytes). */
size_t tls_conn_pending(const struct tls_conn *t);
size_t tls_conn_take(struct tls_conn *t, void *p, size_t cap);
bool tls_conn_established(const struct tls_conn *t);
/* The peer showed a certificate the CA signed (and it verified). */
bool tls_conn_peer_verified(const struct tls_conn *t);
/* The last failure, as OpenSSL words it ("" if none). */
const char *tls_conn_error(const struct tls_conn *t);

#endif
