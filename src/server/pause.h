/* server/pause.h — CLIENT PAUSE and CLIENT UNPAUSE: this node holds its
 * clients' commands (ALL: every command; WRITE: the ones that write, and
 * an EXEC of a transaction that does) until the pause ends, then runs
 * them in the order they came. Node-local: other nodes' clients are not
 * paused, and the log keeps applying their writes here. */
#ifndef PARLEY_SERVER_PAUSE_H
#define PARLEY_SERVER_PAUSE_H

#include <stdbool.h>

#include "resp/parse.h"

struct server;
struct client;
struct cmd_def;

/* Whether this command of this client must wait for the pause to end; if
 * so it is copied and the client held (dispatch returns false: nothing
 * more is read from it); when the pause ends the command runs. */
bool pause_holds(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv);
/* Whether CLIENT PAUSE WRITE holds this command (MULTI asks it of each
 * command it queues, to know whether EXEC must wait). */
bool pause_counts_as_write(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv);
/* Every 10 ms: a pause that has run its time ends. */
void pause_tick(struct server *s);
void pause_client_gone(struct client *c);
void pause_bind_handlers(void);

#endif
