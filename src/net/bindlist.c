/* net/bindlist.c — the walk over a `bind` directive's addresses (see
 * bindlist.h). */
#include "net/bindlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/mem.h"

/* The socket address of one bind entry, "*" and "::*" meaning any. */
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "*") == 0) host = "0.0.0.0";
    if (strcmp(host, "::*") == 0) host = "::";
    if (strchr(host, ':')) return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
    return uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

int bindlist_listen(const char *bind, int port, const char *what, bindlist_listen_fn listen,
                    void *ctx, char *err, size_t errlen)
{
    char *copy = xstrdup(bind);
    int rv = 0;
    for (char *save = NULL, *host = strtok_r(copy, " ", &save); host; host = strtok_r(NULL, " ", &save)) {
        bool optional = host[0] == '-';
        if (optional) host++;
        struct sockaddr_storage ss;
        rv = parse_addr(host, port, &ss);
        if (rv == 0) rv = listen(ctx, (struct sockaddr *)&ss, ss.ss_family == AF_INET6);
        if (rv == 0) continue;
        if (optional) {
            rv = 0;
            continue;
        }
        snprintf(err, errlen, "Could not create server %s listening socket %s:%d: %s", what, host,
                 port, uv_strerror(rv));
        break;
    }
    free(copy);
    return rv;
}
