/* server/tracking.h — client-side caching: CLIENT TRACKING, CACHING,
 * GETREDIR and TRACKINGINFO, and the invalidation messages (tracking.c). */
#ifndef PARLEY_SERVER_TRACKING_H
#define PARLEY_SERVER_TRACKING_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct server;
struct client;
struct cmd_def;
struct resp_arg;

void tracking_init(struct server *s);
void tracking_free(struct server *s);
void tracking_bind_handlers(void);
/* A command of c about to run or be queued: a read remembers its keys. */
void tracking_before_command(struct client *c, const struct cmd_def *cmd, int argc,
                             const struct resp_arg *argv);
/* Every command this node executes (the exec observer): scripts' reads. */
struct cmd_ctx;
void tracking_observe(struct server *s, const struct cmd_ctx *ctx);
/* After it: CLIENT CACHING's choice lasts one command (or one MULTI). */
void tracking_after_command(struct client *c);
/* This node changed key in database db (NULL: the whole database). */
void tracking_on_touch(struct server *s, int db, const char *key, size_t klen);
/* End of a tick: BCAST and flush messages, the table's size limit. */
void tracking_tick(struct server *s);
/* The client leaves, or RESET: its tracking is off. */
void tracking_client_gone(struct client *c);
/* CLIENT LIST's flags letters (t, B, R) and redir= value. */
void tracking_client_flags(const struct client *c, char *flags, size_t *n, long long *redir);
/* INFO: tracking_clients; tracking_total_keys/items/prefixes. */
uint64_t tracking_clients(const struct server *s);
void tracking_info_stats(const struct server *s, struct buf *out);

#endif
