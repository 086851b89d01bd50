/* server/pause.c — see pause.h. Semantics and errors as Redis 7.0's: a
 * new pause never shortens a running one nor weakens ALL to WRITE. */
#include "server/pause.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cmds/script.h"
#include "server/server.h"

/* What CLIENT PAUSE WRITE holds, as Redis documents it: writes, PUBLISH,
 * PFCOUNT (Redis's may write its cache), scripts (all but an EVAL whose
 * shebang says no-writes, by body or by SHA, and an FCALL of a no-writes
 * function; SCRIPT LOAD changes no data), and an EXEC that queued a write. */
bool pause_counts_as_write(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    if ((cmd->acl & ACL_SCRIPTING) && (cmd->flags & CMD_WRITE) && argc >= 2) {
        if (strcmp(cmd->name, "script|load") == 0) return false; /* changes no data */
        if (strcmp(cmd->name, "fcall") == 0)
            return !function_declares_no_writes(c->srv->store, argv[1].ptr, argv[1].len);
        if (strcmp(cmd->name, "evalsha") == 0) {
            char sha[40];
            if (argv[1].len != 40) return true;
            for (int i = 0; i < 40; i++) sha[i] = (char)tolower((unsigned char)argv[1].ptr[i]);
            const struct script_body *b = scripts_find(&c->srv->store->scripts, sha);
            return !(b && script_declares_no_writes(b->text, b->len));
        }
        return !script_declares_no_writes(argv[1].ptr, argv[1].len);
    }
    if (cmd->flags & (CMD_WRITE | CMD_CHANNEL_PUBLISH)) return true;
    if (cmd->acl & ACL_HYPERLOGLOG) return true;
    return (cmd->flags & CMD_TX_CONTROL) && strcmp(cmd->name, "exec") == 0 && multi_queued_writes(c);
}

/* A held command: its arguments, copied (the connection's buffer moves on). */
struct held {
    int argc;
    struct resp_arg *argv;
    char *bytes;
};

static void held_free(struct held *h)
{
    if (h == NULL) return;
    free(h->argv);
    free(h->bytes);
    free(h);
}

bool pause_holds(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    struct server *s = c->srv;
    if (s->pause_until_ms == 0 || c->peer) return false;
    /* Inside MULTI a command is only queued; EXEC is what runs it. */
    if (multi_queueing(c) && !(cmd->flags & CMD_TX_CONTROL)) return false;
    if (!s->pause_all && !pause_counts_as_write(c, cmd, argc, argv)) return false;
    struct held *h = xcalloc(1, sizeof *h);
    size_t total = 0;
    for (int i = 0; i < argc; i++) total += argv[i].len;
    h->argc = argc;
    h->argv = xmalloc((size_t)argc * sizeof *h->argv);
    h->bytes = xmalloc(total ? total : 1);
    for (int i = 0, at = 0; i < argc; at += (int)argv[i].len, i++) {
        memcpy(h->bytes + at, argv[i].ptr, argv[i].len);
        h->argv[i] = (struct resp_arg){h->bytes + at, argv[i].len};
    }
    c->pause_cmd = h;
    /* Held clients are let go in the order they came. */
    struct client **tail = &s->paused;
    while (*tail) tail = &(*tail)->paused_next;
    *tail = c;
    c->paused_next = NULL;
    return true;
}

static void unpause(struct server *s)
{
    s->pause_until_ms = 0;
    s->pause_all = false;
    if (s->repl) repl_expire_pause(s->repl, false);
    while (s->paused) {
        struct client *c = s->paused;
        s->paused = c->paused_next;
        struct held *h = c->pause_cmd;
        c->pause_cmd = NULL;
        /* The held command runs now; then the client is read again, unless
         * that command holds it (a blocking one, or repl's back-pressure). */
        bool more = dispatch(NULL, c->conn, h->argc, h->argv);
        held_free(h);
        if (more && !net_conn_closing(c->conn)) net_conn_resume(c->conn);
    }
}

void pause_tick(struct server *s)
{
    if (s->pause_until_ms && clock_wall_ms() >= s->pause_until_ms) unpause(s);
}

void pause_client_gone(struct client *c)
{
    if (c->pause_cmd == NULL) return;
    for (struct client **p = &c->srv->paused; *p; p = &(*p)->paused_next)
        if (*p == c) {
            *p = c->paused_next;
            break;
        }
    held_free(c->pause_cmd);
    c->pause_cmd = NULL;
}

/* CLIENT PAUSE timeout [WRITE|ALL] */
static void client_pause(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long ms;
    if (!arg_to_ll(&argv[2], &ms)) {
        resp_error(&o, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        resp_error(&o, "ERR timeout is negative");
        return;
    }
    bool all = true;
    if (argc == 4) {
        if (arg_is(&argv[3], "write")) all = false;
        else if (!arg_is(&argv[3], "all")) {
            resp_error(&o, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (argc > 4) {
        resp_error(&o, "ERR syntax error");
        return;
    }
    struct server *s = c->srv;
    int64_t until = clock_wall_ms() + ms;
    if (until > s->pause_until_ms) s->pause_until_ms = until;
    if (all) s->pause_all = true;
    if (s->repl) repl_expire_pause(s->repl, true);
    resp_ok(&o);
}

static void client_unpause(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    unpause(c->srv);
    if (c->capture || c->srv->repl == NULL) {
        struct resp_out o = client_reply(c);
        resp_ok(&o);
        return;
    }
    /* Keys that expired during the pause are proposed for deletion now
     * (repl_expire_pause): answer through the log, after them, so that
     * what this client does next sees them deleted, as in Redis. */
    struct resp_arg ok = {"__ok", 4};
    repl_submit(c->srv->repl, client_slot_for_submit(c), c->db, c->proto, 1, &ok);
}

void pause_bind_handlers(void)
{
    cmd_bind_local("client|pause", client_pause);
    cmd_bind_local("client|unpause", client_unpause);
}
