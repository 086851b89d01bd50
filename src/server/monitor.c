/* server/monitor.c — see monitor.h. A line is what Redis 7.0 sends:
 * +<seconds>.<microseconds> [<db> <ip:port>|lua] "arg" "arg"..., each
 * argument quoted with its unprintable bytes escaped. Administrative
 * commands are not shown and AUTH's arguments (and the secrets the slow
 * log redacts: MIGRATE's passwords) are "(redacted)", as in Redis; nor
 * are repl/'s internal commands. */
#include "server/monitor.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "server/server.h"

static void quote(struct buf *b, const char *p, size_t len)
{
    buf_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': buf_append(b, "\\\\", 2); break;
        case '"': buf_append(b, "\\\"", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\a': buf_append(b, "\\a", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        default:
            if (isprint(ch)) buf_append(b, (const char *)&ch, 1);
            else buf_printf(b, "\\x%02x", ch);
        }
    }
    buf_append(b, "\"", 1);
}

void monitor_feed(struct server *s, const struct client *c, int db, const struct cmd_def *cmd,
                  int argc, const struct resp_arg *argv)
{
    if (s->monitors == NULL) return;
    if (cmd && (cmd->flags & (CMD_ADMIN | CMD_INTERNAL))) return;
    int64_t us = clock_wall_us();
    struct buf line = BUF_INIT;
    buf_printf(&line, "+%lld.%06lld [%d %s]", (long long)(us / 1000000), (long long)(us % 1000000), db,
               c ? net_conn_peer(c->conn) : "lua");
    bool auth = cmd && (cmd->flags & CMD_SECRET);
    for (int i = 0; i < argc; i++) {
        buf_append(&line, " ", 1);
        if ((auth && i > 0) || (cmd && slowlog_redacted(cmd, argc, argv, i)))
            quote(&line, "(redacted)", 10);
        else quote(&line, argv[i].ptr, argv[i].len);
    }
    buf_append(&line, "\r\n", 2);
    for (struct client *m = s->monitors; m; m = m->next_monitor) {
        if (m == c) continue;
        struct resp_out o = client_reply(m);
        buf_append(o.buf, line.data, line.len);
    }
    buf_free(&line);
}

void monitor_client_gone(struct client *c)
{
    if (!c->monitoring) return;
    struct client **p = &c->srv->monitors;
    while (*p && *p != c) p = &(*p)->next_monitor;
    if (*p) *p = c->next_monitor;
    c->next_monitor = NULL;
    c->monitoring = false;
}

static void cmd_monitor(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    if (!c->monitoring) {
        c->monitoring = true;
        c->next_monitor = c->srv->monitors;
        c->srv->monitors = c;
    }
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

void monitor_bind_handlers(void)
{
    cmd_bind_local("monitor", cmd_monitor);
}
