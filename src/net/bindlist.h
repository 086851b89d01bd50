/* net/bindlist.h — the one walk over a `bind` directive ("addr ..."), shared
 * by every listener (client port, TLS port, metrics port).
 *
 * Each address is a numeric IPv4 or IPv6 address, "*" (every IPv4 address)
 * or "::*" (every IPv6 address); a leading '-' makes it optional: it is
 * skipped when it cannot be bound (as Redis does for "-::1" on hosts
 * without IPv6). */
#ifndef PARLEY_NET_BINDLIST_H
#define PARLEY_NET_BINDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Listens on one address: binds and listens, keeping the listener on
 * success; returns 0 or a libuv error (and then keeps nothing). `v6only` is
 * set for IPv6 addresses (so "*" and "::*" can both be bound). */
typedef int (*bindlist_listen_fn)(void *ctx, const struct sockaddr *sa, bool v6only);

/* Calls `listen` for each address of `bind` at `port`, in order. Stops at
 * the first address that fails and is not optional, writing
 * "Could not create server <what> listening socket <addr>:<port>: <error>"
 * to err, and returns its error; returns 0 when every address was bound or
 * skipped as optional. */
int bindlist_listen(const char *bind, int port, const char *what, bindlist_listen_fn listen,
                    void *ctx, char *err, size_t errlen);

#endif
