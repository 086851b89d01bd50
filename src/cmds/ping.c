/* cmds/ping.c — PING and ECHO as a script calls them (redis.call('ping'),
 * redis.call('echo', x)): what they answer, as Redis 7.0 answers.
 *
 * Their rows are CMD_LOCAL: for a client, server/cmd_conn.c answers them
 * (subscribed mode's ["pong", x], queueing inside MULTI) through
 * cmd_reply_ping below; a script, which may run on every node as its log
 * entry applies, runs the rows' exec functions here. Both touch nothing:
 * the same answer on every node. */
#include "cmds/cmd.h"
#include "cmds/exec.h"

void cmd_reply_ping(struct resp_out *o, const struct cmd_def *cmd, int argc,
                    const struct resp_arg *argv)
{
    if (argc > 2) cmd_reply_arity(o, cmd); /* PING's arity is -1: it checks itself */
    else if (argc == 2) resp_bulk(o, argv[1].ptr, argv[1].len);
    else resp_simple(o, "PONG");
}

void cmd_ping(struct cmd_ctx *c)
{
    cmd_reply_ping(&c->out, c->cmd, c->argc, c->argv);
}

void cmd_echo(struct cmd_ctx *c)
{
    resp_bulk(&c->out, c->argv[1].ptr, c->argv[1].len);
}
