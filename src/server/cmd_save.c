/* server/cmd_save.c — SAVE, BGSAVE and LASTSAVE: backups of this node's
 * keyspace into `dir`/`dbfilename` (repl/bgsave.c writes them). They are
 * node-local, never logged: each node saves what it has applied. */
#include <stdio.h>

#include "server/server.h"

static void backup_path(const struct server *s, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", s->cfg.dir, s->cfg.dbfilename);
}

static void cmd_save(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    (void)cmd, (void)argc, (void)argv;
    struct resp_out o = client_reply(c);
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    if (ri.bgsave_in_progress) {
        resp_error(&o, "ERR Background save already in progress");
        return;
    }
    char path[4096];
    backup_path(c->srv, path, sizeof path);
    if (repl_save(c->srv->repl, path) != 0) resp_error(&o, "ERR");
    else resp_ok(&o);
}

static void cmd_bgsave(struct client *c, const struct cmd_def *cmd, int argc,
                       const struct resp_arg *argv)
{
    (void)cmd;
    struct resp_out o = client_reply(c);
    bool schedule = false;
    if (argc > 1) {
        if (argc == 2 && arg_is(&argv[1], "schedule")) {
            schedule = true;
        } else {
            resp_error(&o, "ERR syntax error");
            return;
        }
    }
    char path[4096];
    backup_path(c->srv, path, sizeof path);
    switch (repl_bgsave(c->srv->repl, path, schedule)) {
    case REPL_BGSAVE_STARTED: resp_simple(&o, "Background saving started"); break;
    case REPL_BGSAVE_SCHEDULED: resp_simple(&o, "Background saving scheduled"); break;
    case REPL_BGSAVE_IN_PROGRESS: resp_error(&o, "ERR Background save already in progress"); break;
    case REPL_BGSAVE_CHILD_ACTIVE:
        resp_error(&o, "ERR Another child process is active (AOF?): can't BGSAVE right now. "
                       "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        break;
    case REPL_BGSAVE_FAILED: resp_error(&o, "ERR"); break;
    }
}

int64_t server_last_save_ms(struct server *s)
{
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    /* The later of this node's last backup and last Raft snapshot; as
     * Redis, the start time before either. */
    int64_t ms = ri.save_last_ok_ms > ri.snapshot_last_taken_ms ? ri.save_last_ok_ms
                                                               : ri.snapshot_last_taken_ms;
    return ms ? ms : s->start_ms;
}

static void cmd_lastsave(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    (void)cmd, (void)argc, (void)argv;
    struct resp_out o = client_reply(c);
    resp_int(&o, server_last_save_ms(c->srv) / 1000);
}

void save_bind_handlers(void)
{
    cmd_bind_local("save", cmd_save);
    cmd_bind_local("bgsave", cmd_bgsave);
    cmd_bind_local("lastsave", cmd_lastsave);
}
