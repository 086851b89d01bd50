/* tests/integration/hiredict_tls.c — a hiredis-family C client over TLS,
 * for test_tls.py: Debian bookworm's libhiredis 0.14 has no SSL, so this
 * uses libhiredict 1.3 (bookworm-backports; hiredis's API under redict*
 * names, the same calls hiredis 1.x has as redisCreateSSLContext and
 * redisInitiateSSLWithContext).
 *
 * Usage: hiredict_tls <port> <ca.crt>. Prints the GET reply and the last of
 * 100 pipelined INCRs; exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>

#include <hiredict/hiredict.h>
#include <hiredict/hiredict_ssl.h>

int main(int argc, char **argv)
{
    if (argc != 3) return 2;
    redictInitOpenSSL();
    redictSSLContextError ssl_error = REDICT_SSL_CTX_NONE;
    redictSSLContext *ssl = redictCreateSSLContext(argv[2], NULL, NULL, NULL, NULL, &ssl_error);
    if (ssl == NULL) {
        fprintf(stderr, "SSL context: %s\n", redictSSLContextGetError(ssl_error));
        return 1;
    }
    redictContext *c = redictConnect("127.0.0.1", atoi(argv[1]));
    if (c == NULL || c->err) {
        fprintf(stderr, "connect: %s\n", c ? c->errstr : "no memory");
        return 1;
    }
    if (redictInitiateSSLWithContext(c, ssl) != REDICT_OK) {
        fprintf(stderr, "TLS: %s\n", c->errstr);
        return 1;
    }
    redictReply *r = redictCommand(c, "SET hiredict:k %s", "over tls");
    if (r == NULL || r->type != REDICT_REPLY_STATUS) return 1;
    freeReplyObject(r);
    r = redictCommand(c, "GET hiredict:k");
    if (r == NULL || r->type != REDICT_REPLY_STRING) return 1;
    printf("%s\n", r->str);
    freeReplyObject(r);
    for (int i = 0; i < 100; i++) redictAppendCommand(c, "INCR hiredict:n");
    long long last = 0;
    for (int i = 0; i < 100; i++) {
        if (redictGetReply(c, (void **)&r) != REDICT_OK || r->type != REDICT_REPLY_INTEGER) return 1;
        last = r->integer;
        freeReplyObject(r);
    }
    printf("%lld\n", last);
    redictFree(c);
    redictFreeSSLContext(ssl);
    return 0;
}
