/* server/monitor.h — MONITOR: clients that see, as lines, every command
 * this node's clients send (and the Redis commands their scripts call, as
 * this node runs them). Node-local: a monitor on one node does not see the
 * commands other nodes' clients send. */
#ifndef PARLEY_SERVER_MONITOR_H
#define PARLEY_SERVER_MONITOR_H

#include <stdbool.h>

#include "resp/parse.h"

struct server;
struct client;
struct cmd_def;

/* A client's command as this node receives it (client), or a command a
 * script runs (client NULL: shown as "lua"). */
void monitor_feed(struct server *s, const struct client *c, int db, const struct cmd_def *cmd,
                  int argc, const struct resp_arg *argv);
/* The client stops monitoring (RESET, or it goes away). */
void monitor_client_gone(struct client *c);
void monitor_bind_handlers(void);

#endif
