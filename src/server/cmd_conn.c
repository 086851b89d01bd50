/* server/cmd_conn.c — commands about the connection itself: PING, ECHO,
 * HELLO, QUIT, RESET, SELECT and the CLIENT family. They touch no keyspace
 * and never go through the log. Replies and errors follow Redis 7. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "server/server.h"

static void cmd_ping(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    if (multi_queueing(c)) { /* answered inside EXEC */
        if (argc > 2) {
            const char *e = "ERR wrong number of arguments for 'ping' command";
            multi_queue_reply(c, "error", e, strlen(e));
        } else if (argc == 2) {
            multi_queue_reply(c, "bulk", argv[1].ptr, argv[1].len);
        } else {
            multi_queue_reply(c, "simple", "PONG", 4);
        }
        return;
    }
    struct resp_out o = client_reply(c);
    if (argc <= 2 && c->pubsub_mode && c->proto == 2) {
        /* RESP2 subscribed mode: PING answers ["pong", <arg>] */
        resp_array(&o, 2);
        resp_bulk_str(&o, "pong");
        if (argc > 1) resp_bulk(&o, argv[1].ptr, argv[1].len);
        else resp_bulk(&o, "", 0);
        return;
    }
    cmd_reply_ping(&o, cmd, argc, argv);
}

static void cmd_echo(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    if (multi_queueing(c)) {
        multi_queue_reply(c, "bulk", argv[1].ptr, argv[1].len);
        return;
    }
    struct resp_out o = client_reply(c);
    resp_bulk(&o, argv[1].ptr, argv[1].len);
}

static void cmd_quit(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_ok(&o);
    client_quit(c);
}

static bool parse_db(struct client *c, const struct resp_arg *a, int *db)
{
    long long v;
    struct resp_out o = client_reply(c);
    if (!arg_to_ll(a, &v)) {
        resp_error(&o, "ERR value is not an integer or out of range");
        return false;
    }
    if (v < INT_MIN || v > INT_MAX) {
        /* Redis's getIntFromObjectOrReply; its typo ("must between") kept. */
        resp_error(&o, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return false;
    }
    if (v < 0 || v >= STORE_DBS) {
        resp_error(&o, "ERR DB index is out of range");
        return false;
    }
    *db = (int)v;
    return true;
}

static void cmd_select(struct client *c, const struct cmd_def *cmd, int argc,
                       const struct resp_arg *argv)
{
    int db;
    if (multi_queueing(c)) { /* the commands queued after it run in db */
        long long v;
        const char *e = NULL;
        if (!arg_to_ll(&argv[1], &v)) e = "ERR value is not an integer or out of range";
        else if (v < 0 || v >= STORE_DBS) e = "ERR DB index is out of range";
        if (e) multi_queue_reply(c, "error", e, strlen(e));
        else multi_queue_select(c, (int)v);
        return;
    }
    if (!parse_db(c, &argv[1], &db)) return;
    c->db = db;
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void reset_client(struct client *c)
{
    multi_free(c); /* RESET discards a transaction and forgets WATCHed keys */
    pubsub_client_gone(c); /* ... and unsubscribes from every channel and pattern */
    monitor_client_gone(c); /* ... and stops monitoring */
    acl_client_reset(c);    /* ... and logs in as the default user again */
    tracking_client_gone(c); /* ... and turns CLIENT TRACKING off */
    c->reply_off = c->reply_skip = c->reply_skip_next = false;
    c->readonly = false;
    c->db = 0;
    c->proto = 2;
    free(c->name);
    c->name = NULL;
}

/* READONLY: this connection's reads are answered from this node's own
 * data even when it is not the leader (an observer or a follower): fast
 * and possibly stale, as reads from a Redis replica. READWRITE ends it. */
static void cmd_readonly(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    c->readonly = arg_is(&argv[0], "readonly");
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void cmd_reset(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    reset_client(c);
    struct resp_out o = client_reply(c);
    resp_simple(&o, "RESET");
}

/* Redis's validation of client names and library attributes. */
static bool valid_name(const struct resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') return false;
    return true;
}

static char *dup_arg(const struct resp_arg *a)
{
    if (a->len == 0) return NULL;
    char *s = xmalloc(a->len + 1);
    memcpy(s, a->ptr, a->len);
    s[a->len] = '\0';
    return s;
}

static void cmd_hello(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    int proto = c->proto;
    int j = 1;
    if (argc >= 2) {
        long long v;
        if (!arg_to_ll(&argv[1], &v)) {
            struct resp_out o = client_reply(c);
            resp_error(&o, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (v < 2 || v > 3) {
            struct resp_out o = client_reply(c);
            resp_error(&o, "NOPROTO unsupported protocol version");
            return;
        }
        proto = (int)v;
        j = 2;
    }
    const struct resp_arg *setname = NULL, *auth_user = NULL;
    for (; j < argc; j++) {
        int more = argc - j - 1;
        if (arg_is(&argv[j], "auth") && more >= 2) {
            const struct resp_arg *user = &argv[j + 1], *pass = &argv[j + 2];
            if (!acl_login_ok(c->srv, user->ptr, user->len, pass->ptr, pass->len)) {
                struct resp_out o = client_reply(c);
                resp_error(&o, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            auth_user = user;
            j += 2;
        } else if (arg_is(&argv[j], "setname") && more >= 1) {
            setname = &argv[++j];
            if (!valid_name(setname)) {
                struct resp_out o = client_reply(c);
                resp_error(&o, "ERR Client names cannot contain spaces, newlines or special "
                               "characters.");
                return;
            }
        } else {
            struct resp_out o = client_reply(c);
            resp_errorf(&o, "ERR Syntax error in HELLO option '%.*s'", (int)argv[j].len,
                        argv[j].ptr);
            return;
        }
    }
    if (auth_user) {
        client_login(c, auth_user->ptr, auth_user->len);
    } else if (!c->authenticated) {
        struct resp_out o = client_reply(c);
        resp_error(&o, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the "
                       "same time");
        return;
    }
    if (setname) {
        free(c->name);
        c->name = dup_arg(setname);
    }
    c->proto = proto;
    struct resp_out o = client_reply(c);
    resp_map(&o, 7);
    resp_bulk_str(&o, "server");
    resp_bulk_str(&o, "redis");
    resp_bulk_str(&o, "version");
    resp_bulk_str(&o, REDIS_COMPAT_VERSION);
    resp_bulk_str(&o, "proto");
    resp_int(&o, proto);
    resp_bulk_str(&o, "id");
    resp_int(&o, (long long)c->id);
    resp_bulk_str(&o, "mode");
    resp_bulk_str(&o, "standalone");
    resp_bulk_str(&o, "role");
    resp_bulk_str(&o, role_hello_name(c->srv));
    resp_bulk_str(&o, "modules");
    resp_array(&o, 0);
}

/* --------------------------------------------------------------------
 * CLIENT
 * ------------------------------------------------------------------ */

static void client_id(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_int(&o, (long long)c->id);
}

static void client_setname(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if (!valid_name(&argv[2])) {
        resp_error(&o, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    free(c->name);
    c->name = dup_arg(&argv[2]);
    resp_ok(&o);
}

static void client_getname(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if (c->name) resp_bulk_str(&o, c->name);
    else resp_null(&o);
}

static void client_setinfo(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    char **field;
    const char *what;
    if (arg_is(&argv[2], "lib-name")) {
        field = &c->lib_name;
        what = "lib-name";
    } else if (arg_is(&argv[2], "lib-ver")) {
        field = &c->lib_ver;
        what = "lib-ver";
    } else {
        resp_errorf(&o, "ERR Unrecognized option '%.*s'", (int)argv[2].len, argv[2].ptr);
        return;
    }
    if (!valid_name(&argv[3])) {
        resp_errorf(&o, "ERR %s cannot contain spaces, newlines or special characters.", what);
        return;
    }
    free(*field);
    *field = dup_arg(&argv[3]);
    resp_ok(&o);
}

static void client_list(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct server *s = c->srv;
    struct buf text = BUF_INIT;
    if (argc == 2) {
        for (struct client *x = s->clients; x; x = x->next) client_line(x, &text);
    } else if (argc >= 4 && arg_is(&argv[2], "type")) {
        if (!arg_is(&argv[3], "normal") && !arg_is(&argv[3], "master") &&
            !arg_is(&argv[3], "replica") && !arg_is(&argv[3], "slave") &&
            !arg_is(&argv[3], "pubsub")) {
            struct resp_out o = client_reply(c);
            resp_errorf(&o, "ERR Unknown client type '%.*s'", (int)argv[3].len, argv[3].ptr);
            buf_free(&text);
            return;
        }
        if (arg_is(&argv[3], "normal"))
            for (struct client *x = s->clients; x; x = x->next) client_line(x, &text);
    } else if (argc >= 4 && arg_is(&argv[2], "id")) {
        for (int j = 3; j < argc; j++) {
            long long id;
            /* Any integer is accepted; one that no client has matches none. */
            if (!arg_to_ll(&argv[j], &id)) {
                struct resp_out o = client_reply(c);
                resp_error(&o, "ERR Invalid client ID");
                buf_free(&text);
                return;
            }
            for (struct client *x = s->clients; x; x = x->next)
                if (id > 0 && x->id == (uint64_t)id) client_line(x, &text);
        }
    } else {
        struct resp_out o = client_reply(c);
        resp_error(&o, "ERR syntax error");
        buf_free(&text);
        return;
    }
    struct resp_out o = client_reply(c);
    resp_verbatim(&o, text.data ? text.data : "", text.len);
    buf_free(&text);
}

static void client_info(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct buf text = BUF_INIT;
    client_line(c, &text);
    struct resp_out o = client_reply(c);
    resp_verbatim(&o, text.data, text.len);
    buf_free(&text);
}

static bool addr_matches(const char *addr, const struct resp_arg *a)
{
    return strlen(addr) == a->len && memcmp(addr, a->ptr, a->len) == 0;
}

static void client_kill(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct server *s = c->srv;
    struct resp_out o;
    if (argc == 3) {
        /* Old form: CLIENT KILL addr:port */
        for (struct client *x = s->clients; x; x = x->next) {
            if (addr_matches(net_conn_peer(x->conn), &argv[2])) {
                o = client_reply(c);
                resp_ok(&o);
                if (x == c) client_quit(c);
                else net_conn_close(x->conn);
                return;
            }
        }
        o = client_reply(c);
        resp_error(&o, "ERR No such client");
        return;
    }
    long long id = 0;
    const struct resp_arg *addr = NULL, *laddr = NULL;
    bool skipme = true;
    for (int j = 2; j < argc; j += 2) {
        if (j + 1 >= argc) goto syntax;
        const struct resp_arg *v = &argv[j + 1];
        if (arg_is(&argv[j], "id")) {
            if (!arg_to_ll(v, &id) || id <= 0) {
                o = client_reply(c);
                resp_error(&o, "ERR client-id should be greater than 0");
                return;
            }
        } else if (arg_is(&argv[j], "addr")) {
            addr = v;
        } else if (arg_is(&argv[j], "laddr")) {
            laddr = v;
        } else if (arg_is(&argv[j], "type")) {
            if (!arg_is(v, "normal") && !arg_is(v, "master") && !arg_is(v, "replica") &&
                !arg_is(v, "slave") && !arg_is(v, "pubsub")) {
                o = client_reply(c);
                resp_errorf(&o, "ERR Unknown client type '%.*s'", (int)v->len, v->ptr);
                return;
            }
        } else if (arg_is(&argv[j], "user")) {
            /* Only the default user exists, and every client is it. */
            if (v->len != 7 || memcmp(v->ptr, "default", 7) != 0) {
                o = client_reply(c);
                resp_errorf(&o, "ERR No such user '%.*s'", (int)v->len, v->ptr);
                return;
            }
        } else if (arg_is(&argv[j], "skipme")) {
            if (arg_is(v, "yes")) skipme = true;
            else if (arg_is(v, "no")) skipme = false;
            else goto syntax;
        } else {
            goto syntax;
        }
    }
    long long killed = 0;
    for (struct client *x = s->clients, *next; x; x = next) {
        next = x->next;
        if (id && x->id != (uint64_t)id) continue;
        if (addr && !addr_matches(net_conn_peer(x->conn), addr)) continue;
        if (laddr && !addr_matches(net_conn_local(x->conn), laddr)) continue;
        if (x == c && skipme) continue;
        killed++;
        if (x == c) client_quit(c);
        else net_conn_close(x->conn);
    }
    o = client_reply(c);
    resp_int(&o, killed);
    return;
syntax:
    o = client_reply(c);
    resp_error(&o, "ERR syntax error");
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client of this node waiting in a
 * blocking command stops waiting. */
static void client_unblock(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long id;
    if (!arg_to_ll(&argv[2], &id)) {
        resp_error(&o, "ERR value is not an integer or out of range");
        return;
    }
    bool error = false;
    if (argc == 4) {
        if (arg_is(&argv[3], "error")) {
            error = true;
        } else if (!arg_is(&argv[3], "timeout")) {
            resp_error(&o, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    resp_int(&o, blocking_unblock(c->srv, (uint64_t)id, error) ? 1 : 0);
}

/* CLIENT NO-EVICT ON|OFF: Parley evicts no clients; the setting is kept
 * for the client's info, and answered as Redis answers it. */
static void client_no_evict(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if (arg_is(&argv[2], "on") || arg_is(&argv[2], "off")) resp_ok(&o);
    else resp_error(&o, "ERR syntax error");
}

/* CLIENT REPLY ON|OFF|SKIP (dispatch.c drops the replies). */
static void client_reply_mode(struct client *c, const struct cmd_def *cmd, int argc,
                              const struct resp_arg *argv)
{
    if (arg_is(&argv[2], "on")) {
        c->reply_off = c->reply_skip = c->reply_skip_next = false;
        struct resp_out o = client_reply(c);
        resp_ok(&o);
    } else if (arg_is(&argv[2], "off")) {
        c->reply_off = true;
    } else if (arg_is(&argv[2], "skip")) {
        if (!c->reply_off) c->reply_skip_next = true;
    } else {
        struct resp_out o = client_reply(c);
        resp_error(&o, "ERR syntax error");
    }
}

static void client_help(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    /* Redis 7.0's text, less the subcommands Parley does not have, plus
     * the ID filters and SETINFO in Redis 7.2's words. */
    static const char *lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients of specified IDs only.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "HELP",
        "    Prints this help.",
    };
    struct resp_out o = client_reply(c);
    size_t n = sizeof lines / sizeof *lines;
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&o, lines[i]);
}

/* --------------------------------------------------------------------
 * The handlers of this file's rows of the command table
 * ------------------------------------------------------------------ */

void conn_bind_handlers(void)
{
    cmd_bind_local("ping", cmd_ping);
    cmd_bind_local("echo", cmd_echo);
    cmd_bind_local("quit", cmd_quit);
    cmd_bind_local("select", cmd_select);
    cmd_bind_local("reset", cmd_reset);
    cmd_bind_local("hello", cmd_hello);
    cmd_bind_local("readonly", cmd_readonly);
    cmd_bind_local("readwrite", cmd_readonly);
    cmd_bind_local("client|id", client_id);
    cmd_bind_local("client|setname", client_setname);
    cmd_bind_local("client|getname", client_getname);
    cmd_bind_local("client|setinfo", client_setinfo);
    cmd_bind_local("client|list", client_list);
    cmd_bind_local("client|info", client_info);
    cmd_bind_local("client|kill", client_kill);
    cmd_bind_local("client|help", client_help);
    cmd_bind_local("client|reply", client_reply_mode);
    cmd_bind_local("client|unblock", client_unblock);
    cmd_bind_local("client|no-evict", client_no_evict);
}
