/* server/cmd_acl.c — who a connection is, and what it may run.
 *
 * AUTH and HELLO AUTH log a connection in as a user of the replicated
 * ACL table (cmds/acl.h); requirepass is the default user's password,
 * changed through the log like any ACL change (at start-up, as the
 * aclfile's users are: see "Users given at start-up"). A user's change
 * disconnects the clients it no longer allows (deleted, off, or a
 * channel a subscriber uses). Dispatch asks acl_refuse before a command is
 * queued or proposed: NOAUTH for a connection not logged in, NOPERM for a
 * command, key or channel its user may not use (each refusal goes to this
 * node's ACL LOG). Scripts of a restricted user go in the log wrapped in
 * __asuser, so that redis.call checks the user's rules as every node
 * holds them at that index. protected-mode refuses connections from
 * other hosts while "default" needs no password.
 *
 * The ACL commands that are not replicated run here: WHOAMI, CAT,
 * GENPASS, LOG, SAVE, and the parts of SETUSER and LOAD that come before
 * proposing (checking the rules, hashing passwords, reading the file);
 * SETUSER inside MULTI queues what it would propose. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/acl.h"
#include "server/server.h"

/* ------------------------------------------------------------------
 * Logging in
 * ---------------------------------------------------------------- */

struct acl_startup {
    struct store *view;     /* the users as they will be; NULL once applied */
    struct resp_arg *argv;  /* the change proposed (into items) */
    int argc;
    struct buf items;
    struct startup_proposal prop;
};

/* The users this node enforces: the replicated ones, except while the
 * users given at start-up (aclfile, requirepass) are on their way
 * through the log: then the replicated ones with that change made
 * (see "Users given at start-up" below), so that no client is served
 * with less than the configuration asks for. */
static struct store *users_of(struct server *s)
{
    return s->acl_startup && s->acl_startup->view ? s->acl_startup->view : s->store;
}

bool acl_login_ok(struct server *s, const char *user, size_t ulen, const char *pass, size_t plen)
{
    return acl_password_ok(users_of(s), user, ulen, pass, plen);
}

/* Whether "default" needs no password on this node. */
static bool default_nopass(struct server *s)
{
    return acl_user_nopass(users_of(s), "default", 7);
}

void client_login(struct client *c, const char *user, size_t ulen)
{
    free(c->user);
    c->user = xmalloc(ulen + 1);
    memcpy(c->user, user, ulen);
    c->user[ulen] = '\0';
    c->authenticated = true;
}

/* Protected mode: while "default" needs no password, only loopback
 * clients are served. */
static bool protected_from(struct server *s, const char *peer)
{
    if (!s->cfg.protected_mode || !default_nopass(s)) return false;
    return !(strncmp(peer, "127.", 4) == 0 || strncmp(peer, "[::1]", 5) == 0 ||
             strncmp(peer, "::1", 3) == 0 || strncmp(peer, "/", 1) == 0);
}

static const char protected_denied[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    "If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Setup a an authentication password for the default "
    "user. NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n";

bool acl_protected_refuse(struct server *s, struct net_conn *conn)
{
    if (!protected_from(s, net_conn_peer(conn))) return false;
    /* With a cluster secret another node may connect from afar: it gets
     * to prove itself before the refusal (acl_protected_deny). */
    if (s->cfg.cluster_secret && s->cfg.cluster_secret[0]) return false;
    net_conn_reject(conn, protected_denied);
    return true;
}

bool acl_protected_deny(struct client *c, const struct cmd_def *cmd)
{
    /* PARLEY.PEER (a node's handshake) is the one row that is spoken
     * between nodes and needs no login; a failed proof closes the
     * connection (cmd_peer.c). */
    const unsigned handshake = CMD_NODE | CMD_NO_AUTH;
    if (c->peer || (cmd && (cmd->flags & handshake) == handshake)) return false;
    if (!protected_from(c->srv, net_conn_peer(c->conn))) { /* a password was set since */
        c->protected_deferred = false;
        return false;
    }
    struct resp_out o = client_reply(c);
    resp_raw(&o, protected_denied, sizeof protected_denied - 1);
    client_quit(c);
    return true;
}

void acl_client_new(struct client *c)
{
    acl_client_reset(c);
    c->protected_deferred = protected_from(c->srv, net_conn_peer(c->conn));
}

void acl_client_reset(struct client *c)
{
    client_login(c, "default", 7);
    c->authenticated = default_nopass(c->srv);
}

/* ------------------------------------------------------------------
 * ACL LOG (this node's own refusals)
 * ---------------------------------------------------------------- */

struct acl_log_entry {
    char reason[16], context[16], object[128], username[128], client_info[256];
    long long count;
    int64_t created_ms, updated_ms;
    struct acl_log_entry *next;
};

struct acl_log {
    struct acl_log_entry *head; /* newest first */
    long long n;
};

static void log_refusal(struct client *c, const char *reason, const char *context,
                        const char *object, size_t olen, const char *username)
{
    struct server *s = c->srv;
    if (s->acl_log == NULL) s->acl_log = xcalloc(1, sizeof *s->acl_log);
    struct acl_log *l = s->acl_log;
    int64_t now = clock_wall_ms();
    char obj[128];
    snprintf(obj, sizeof obj, "%.*s", (int)(olen > 127 ? 127 : olen), object);
    /* The same refusal within a minute counts in its entry (Redis's rule). */
    for (struct acl_log_entry *e = l->head; e; e = e->next)
        if (!strcmp(e->reason, reason) && !strcmp(e->context, context) && !strcmp(e->object, obj) &&
            !strcmp(e->username, username) && now - e->updated_ms < 60000) {
            e->count++;
            e->updated_ms = now;
            return;
        }
    struct acl_log_entry *e = xcalloc(1, sizeof *e);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    snprintf(e->context, sizeof e->context, "%s", context);
    snprintf(e->object, sizeof e->object, "%s", obj);
    snprintf(e->username, sizeof e->username, "%s", username);
    struct buf info = BUF_INIT;
    client_line(c, &info);
    if (info.len && info.data[info.len - 1] == '\n') info.len--;
    snprintf(e->client_info, sizeof e->client_info, "%.*s", (int)info.len, info.data);
    buf_free(&info);
    e->count = 1;
    e->created_ms = e->updated_ms = now;
    e->next = l->head;
    l->head = e;
    l->n++;
    /* Keep at most acllog-max-len entries. */
    long long keep = s->cfg.acllog_max_len;
    struct acl_log_entry **p = &l->head;
    for (long long k = 0; *p && k < keep; k++) p = &(*p)->next;
    while (*p) {
        struct acl_log_entry *gone = *p;
        *p = gone->next;
        free(gone);
        l->n--;
    }
}

static void log_reset(struct server *s)
{
    if (s->acl_log == NULL) return;
    while (s->acl_log->head) {
        struct acl_log_entry *e = s->acl_log->head;
        s->acl_log->head = e->next;
        free(e);
    }
    s->acl_log->n = 0;
}

void acl_free_server(struct server *s)
{
    log_reset(s);
    free(s->acl_log);
    s->acl_log = NULL;
    struct acl_startup *st = s->acl_startup;
    if (st == NULL) return;
    if (st->view) store_free(st->view);
    free(st->argv);
    buf_free(&st->items);
    startup_proposal_free(&st->prop);
    free(st);
    s->acl_startup = NULL;
}

/* ------------------------------------------------------------------
 * The check dispatch makes
 * ---------------------------------------------------------------- */

bool acl_refuse(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    if (cmd->flags & CMD_NO_AUTH) return false;
    /* A connection that proved the cluster secret is a node of this
     * cluster, which holds every right a user could be given. */
    if (c->peer) return false;
    if (!c->authenticated) {
        struct resp_out o = client_reply(c);
        resp_error(&o, "NOAUTH Authentication required.");
        return true;
    }
    int bad;
    enum acl_verdict v = acl_check(users_of(c->srv), c->user, strlen(c->user), cmd, argc, argv, &bad);
    if (v == ACL_ALLOWED) return false;
    struct resp_out o = client_reply(c);
    switch (v) {
    case ACL_DENIED_KEY:
        log_refusal(c, "key", "toplevel", argv[bad].ptr, argv[bad].len, c->user);
        resp_error(&o, "NOPERM this user has no permissions to access one of the keys used as arguments");
        break;
    case ACL_DENIED_CHANNEL:
        log_refusal(c, "channel", "toplevel", argv[bad].ptr, argv[bad].len, c->user);
        resp_error(&o, "NOPERM this user has no permissions to access one of the channels used as arguments");
        break;
    default:
        log_refusal(c, "command", "toplevel", cmd->name, strlen(cmd->name), c->user);
        resp_errorf(&o, "NOPERM this user has no permissions to run the '%s' command", cmd->name);
        break;
    }
    return true;
}

struct resp_arg *acl_wrap_script(struct client *c, const struct cmd_def *cmd, int argc,
                                 const struct resp_arg *argv)
{
    if (!(cmd->acl & ACL_SCRIPTING) || cmd->exec == NULL || (cmd->flags & CMD_CONTAINER) ||
        acl_user_unrestricted(c->srv->store, c->user, strlen(c->user)))
        return NULL;
    if (strchr(cmd->name, '|')) return NULL; /* EVAL*, FCALL*: not SCRIPT|..., FUNCTION|... */
    struct resp_arg *w = xmalloc((size_t)(argc + 2) * sizeof *w);
    w[0].ptr = "__asuser";
    w[0].len = 8;
    w[1].ptr = c->user;
    w[1].len = strlen(c->user);
    memcpy(w + 2, argv, (size_t)argc * sizeof *w);
    return w;
}

/* Whether the client's user may still use every channel, pattern and
 * shard channel the client is subscribed to. */
static bool subscriptions_allowed(struct server *s, struct client *c)
{
    if (c->local_subs == NULL) return true;
    struct dict_iter it;
    dict_iter_init(&it, c->local_subs);
    struct dict_entry *e;
    size_t ulen = strlen(c->user);
    while ((e = dict_iter_next(&it)) != NULL) /* kind byte ('c', 'p', 's') + name */
        if (!acl_channel_ok(s->store, c->user, ulen, e->key[0], e->key + 1, e->klen - 1))
            return false;
    return true;
}

/* A user changed (applied from the log): its clients are disconnected
 * when it was deleted (as Redis does), set off, or when a client is
 * subscribed to a channel the user may no longer use (as Redis 7.0 does
 * after ACL SETUSER ... resetchannels). */
static void on_user_change(void *arg, const char *name, size_t nlen, bool deleted)
{
    struct server *s = arg;
    for (struct client *c = s->clients; c; c = c->next) {
        if (strlen(c->user) != nlen || memcmp(c->user, name, nlen) != 0 || net_conn_closing(c->conn))
            continue;
        if (deleted || !acl_user_on(s->store, name, nlen) || !subscriptions_allowed(s, c))
            net_conn_close_after_flush(c->conn); /* not now: this runs inside apply */
    }
}

/* A command of a transaction refused when its EXEC applied: the node
 * whose client sent it logs it (context "multi"), as Redis does. */
static void on_acl_denied(void *arg, uint64_t origin, uint64_t client, const char *user,
                          size_t ulen, const char *reason, const char *object, size_t olen)
{
    struct server *s = arg;
    if (s->repl == NULL || origin != repl_origin(s->repl)) return;
    struct client *c = server_find_client(s, client);
    if (c == NULL) return;
    char uname[128];
    snprintf(uname, sizeof uname, "%.*s", (int)(ulen > 127 ? 127 : ulen), user);
    log_refusal(c, reason, "multi", object, olen, uname);
}

void acl_init_server(struct server *s)
{
    s->store->on_acl_denied = on_acl_denied;
    s->store->on_user_change = on_user_change;
    s->store->user_change_arg = s;
}

/* ------------------------------------------------------------------
 * Commands
 * ---------------------------------------------------------------- */

static void reply_err(struct client *c, const char *text)
{
    struct resp_out o = client_reply(c);
    resp_error(&o, text);
}

static void cmd_auth(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    if (argc > 3) {
        reply_err(c, "ERR syntax error");
        return;
    }
    const struct resp_arg *user = argc == 3 ? &argv[1] : NULL, *pass = &argv[argc - 1];
    if (user == NULL && default_nopass(c->srv)) {
        reply_err(c, "ERR AUTH <password> called without any password configured for the default "
                     "user. Are you sure your configuration is correct?");
        return;
    }
    const char *name = user ? user->ptr : "default";
    size_t nlen = user ? user->len : 7;
    if (!acl_login_ok(c->srv, name, nlen, pass->ptr, pass->len)) {
        char uname[128];
        snprintf(uname, sizeof uname, "%.*s", (int)(nlen > 127 ? 127 : nlen), name);
        log_refusal(c, "auth", "toplevel", "AUTH", 4, uname);
        reply_err(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    client_login(c, name, nlen);
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void acl_whoami(struct client *c, const struct cmd_def *cmd, int argc,
                       const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_bulk_str(&o, c->user);
}

static void acl_cat(struct client *c, const struct cmd_def *cmd, int argc,
                    const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if (argc == 2) {
        long long n = 0;
        for (const struct acl_category_name *a = acl_category_names; a->name; a++) n++;
        resp_array(&o, n);
        for (const struct acl_category_name *a = acl_category_names; a->name; a++)
            resp_bulk_str(&o, a->name);
        return;
    }
    if (argc > 3) {
        resp_errorf(&o, "ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP.");
        return;
    }
    uint32_t bit = acl_category_bit(argv[2].ptr, argv[2].len);
    if (bit == 0) {
        resp_errorf(&o, "ERR Unknown category '%.*s'", (int)argv[2].len, argv[2].ptr);
        return;
    }
    size_t h = resp_defer_len(&o);
    long long n = 0;
    for (size_t i = 0; i < cmd_count_all(); i++) {
        const struct cmd_def *d = cmd_by_id(i);
        if ((d->flags & CMD_INTERNAL) || !(d->acl & bit)) continue;
        resp_bulk_str(&o, d->name);
        n++;
    }
    resp_set_deferred_len(&o, h, '*', n);
}

static void acl_genpass(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    long long bits = 256;
    struct resp_out o = client_reply(c);
    if (argc == 3 && (!arg_to_ll(&argv[2], &bits) || bits <= 0 || bits > 4096)) {
        resp_error(&o, "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
        return;
    }
    if (argc > 3) {
        resp_error(&o, "ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP.");
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    char *hex = xmalloc(chars + 1);
    FILE *f = fopen("/dev/urandom", "rb");
    for (size_t i = 0; i < chars; i += 2) {
        unsigned char byte = 0;
        if (f == NULL || fread(&byte, 1, 1, f) != 1) byte = (unsigned char)dict_rand64(&c->srv->rng);
        char two[3];
        snprintf(two, sizeof two, "%02x", byte);
        hex[i] = two[0];
        if (i + 1 < chars) hex[i + 1] = two[1];
    }
    if (f) fclose(f);
    resp_bulk(&o, hex, chars);
    free(hex);
}

static void acl_log_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct server *s = c->srv;
    struct resp_out o = client_reply(c);
    long long count = 10;
    if (argc == 3 && arg_is(&argv[2], "reset")) {
        log_reset(s);
        resp_ok(&o);
        return;
    }
    if (argc > 3 || (argc == 3 && (!arg_to_ll(&argv[2], &count) || count < 0))) {
        resp_error(&o, "ERR value is out of range, must be positive");
        return;
    }
    long long n = s->acl_log ? s->acl_log->n : 0;
    if (count > n) count = n;
    resp_array(&o, count);
    int64_t now = clock_wall_ms();
    struct acl_log_entry *e = s->acl_log ? s->acl_log->head : NULL;
    for (long long k = 0; k < count && e; k++, e = e->next) {
        resp_map(&o, 7);
        resp_bulk_str(&o, "count");
        resp_int(&o, e->count);
        resp_bulk_str(&o, "reason");
        resp_bulk_str(&o, e->reason);
        resp_bulk_str(&o, "context");
        resp_bulk_str(&o, e->context);
        resp_bulk_str(&o, "object");
        resp_bulk_str(&o, e->object);
        resp_bulk_str(&o, "username");
        resp_bulk_str(&o, e->username);
        resp_bulk_str(&o, "age-seconds");
        resp_double(&o, (double)(now - e->created_ms) / 1000.0);
        resp_bulk_str(&o, "client-info");
        resp_bulk_str(&o, e->client_info);
    }
}

/* Submits an internal command built of a name, then given arguments. */
static void submit(struct client *c, int argc, const struct resp_arg *argv)
{
    repl_submit(c->srv->repl, client_slot_for_submit(c), c->db, c->proto, argc, argv);
}

/* Items (u32 length + bytes each) as arguments appended to args. */
static void items_to_args(const struct buf *items, struct resp_arg **args, int *n)
{
    const char *p = items->data, *end = items->data + items->len, *item;
    size_t len;
    while (p && acl_rules_next(&p, end, &item, &len)) {
        *args = xrealloc(*args, (size_t)(*n + 1) * sizeof **args);
        (*args)[*n].ptr = item;
        (*args)[*n].len = len;
        (*n)++;
    }
}

/* ACL SETUSER: the rules checked and the passwords hashed here, then
 * __aclsetuser through the log. Inside MULTI (Redis queues it like any
 * command) __aclsetuser is queued, or the error it would answer in EXEC. */
static void acl_setuser(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct buf items = BUF_INIT;
    char err[512];
    if (!acl_hash_passwords(argc - 3, argv + 3, &items, err, sizeof err)) {
        if (multi_queueing(c)) multi_queue_reply(c, "error", err, strlen(err));
        else reply_err(c, err);
        buf_free(&items);
        return;
    }
    /* A rule that depends on the user (<pass names a password, which the
     * log never holds) is refused here with Redis's text, the rule as
     * given named; apply refuses it too, against the user as it is then. */
    const char *why;
    int bad = multi_queueing(c) ? -1 : acl_setuser_check(c->srv->store, argv[2].ptr, argv[2].len, &items, &why);
    if (bad >= 0) {
        struct resp_out o = client_reply(c);
        resp_errorf(&o, "ERR Error in ACL SETUSER modifier '%.*s': %s", (int)argv[3 + bad].len,
                    argv[3 + bad].ptr, why);
        buf_free(&items);
        return;
    }
    int n = 2;
    struct resp_arg *args = xmalloc(2 * sizeof *args);
    args[0].ptr = "__aclsetuser";
    args[0].len = 12;
    args[1] = argv[2];
    items_to_args(&items, &args, &n);
    if (multi_queueing(c)) multi_queue_internal(c, n, args);
    else submit(c, n, args);
    free(args);
    buf_free(&items);
}

#define NO_ACLFILE                                                                            \
    "This Redis instance is not configured to use an ACL file. You may want to specify users " \
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "  \
    "configuration file set) in order to store users in the Redis configuration."

/* The aclfile's path, or NULL after replying Redis's error. */
static const char *aclfile_or_reply(struct client *c)
{
    const char *path = c->srv->cfg.aclfile;
    if (path && path[0]) return path;
    reply_err(c, "ERR " NO_ACLFILE);
    return NULL;
}

/* Reads and checks the aclfile: the users as __aclload takes them (per
 * user: u32 name length, name, u32 items length, items; passwords
 * hashed), or false with Redis's error text in err (without "ERR "):
 * every bad line is named, as Redis names them, and nothing changes. */
static bool aclfile_read(const char *path, struct buf *all, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        return false;
    }
    struct buf errors = BUF_INIT;
    char line[65536];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        /* Split into words. */
        struct resp_arg words[1024];
        int nw = 0;
        for (char *p = line; *p && nw < 1024;) {
            while (*p == ' ' || *p == '\t') p++;
            if (!*p) break;
            char *w = p;
            while (*p && *p != ' ' && *p != '\t') p++;
            words[nw].ptr = w;
            words[nw].len = (size_t)(p - w);
            nw++;
        }
        if (nw == 0 || words[0].ptr[0] == '#') continue;
        if (!arg_is(&words[0], "user") || nw < 2) {
            buf_printf(&errors, "%s:%d should start with user keyword followed by the username. ",
                       path, lineno);
            continue;
        }
        struct buf items = BUF_INIT;
        char why[512];
        if (!acl_hash_passwords(nw - 2, words + 2, &items, why, sizeof why)) {
            /* Redis names the line and the reason, not the modifier. */
            const char *reason = strstr(why, "': ");
            buf_printf(&errors, "%s:%d: %s. ", path, lineno, reason ? reason + 3 : why);
            buf_free(&items);
            continue;
        }
        buf_append_u32(all, (uint32_t)words[1].len);
        buf_append(all, words[1].ptr, words[1].len);
        buf_append_u32(all, (uint32_t)items.len);
        buf_append(all, items.data ? items.data : "", items.len);
        buf_free(&items);
    }
    fclose(f);
    if (errors.len) {
        snprintf(err, errlen, "%.*sWARNING: ACL errors detected, no change to the previously "
                 "active ACL rules was performed", (int)errors.len, errors.data);
        buf_free(&errors);
        buf_clear(all);
        return false;
    }
    return true;
}

/* The __aclload command of a file's users (aclfile_read); the caller
 * frees the array (its arguments point into all). */
static struct resp_arg *aclload_args(const struct buf *all, int *n)
{
    *n = 1;
    struct resp_arg *args = xmalloc(sizeof *args);
    args[0].ptr = "__aclload";
    args[0].len = 9;
    items_to_args(all, &args, n);
    return args;
}

/* ACL LOAD: this node reads the file and checks every line; what it
 * proposes is the users with their passwords hashed (__aclload). Inside
 * MULTI (Redis queues it: ACL has no no-multi flag) the file is read
 * when the command is queued, as SETUSER hashes its passwords then, and
 * __aclload is queued, or the error EXEC answers in its place: the file
 * is never read in apply. */
static void acl_load(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    const char *path = c->srv->cfg.aclfile;
    struct buf all = BUF_INIT;
    char err[4096];
    bool ok = false;
    if (path == NULL || path[0] == '\0')
        snprintf(err, sizeof err, "ERR %s", NO_ACLFILE);
    else if (!aclfile_read(path, &all, err + 4, sizeof err - 4))
        memcpy(err, "ERR ", 4);
    else
        ok = true;
    if (!ok) {
        if (multi_queueing(c)) {
            multi_queue_reply(c, "error", err, strlen(err));
        } else {
            struct resp_out o = client_reply(c);
            resp_error(&o, err);
        }
        buf_free(&all);
        return;
    }
    int n;
    struct resp_arg *args = aclload_args(&all, &n);
    if (multi_queueing(c)) multi_queue_internal(c, n, args);
    else submit(c, n, args);
    free(args);
    buf_free(&all);
}

/* ACL SAVE: this node's users (the replicated ones) into its aclfile. */
static void acl_save(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    const char *path = aclfile_or_reply(c);
    if (path == NULL) return;
    struct buf text = BUF_INIT;
    const struct acl_users *u = &c->srv->store->users;
    for (size_t i = 0; i < u->n; i++) {
        buf_append_str(&text, "user ");
        buf_append(&text, u->v[i].name, u->v[i].nlen);
        const char *p = u->v[i].rules, *end = p + u->v[i].rlen, *item;
        size_t len;
        while (acl_rules_next(&p, end, &item, &len)) {
            buf_append(&text, " ", 1);
            buf_append(&text, item, len);
        }
        buf_append(&text, "\n", 1);
    }
    size_t tlen = strlen(path) + 5;
    char *tmp = xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fwrite(text.data ? text.data : "", 1, text.len, f) == text.len;
    if (f && fclose(f) != 0) ok = false;
    if (ok && rename(tmp, path) != 0) ok = false;
    if (ok) {
        struct resp_out o = client_reply(c);
        resp_ok(&o);
    } else {
        remove(tmp);
        reply_err(c, "ERR There was an error trying to save the ACLs. Please check the server logs for more information");
    }
    free(tmp);
    buf_free(&text);
}

static void acl_help(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    static const char *lines[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

/* ------------------------------------------------------------------
 * Users given at start-up: aclfile, requirepass
 *
 * Users are replicated state, so what a node's configuration says about
 * them becomes a logged change. A node started with an aclfile reads and
 * checks it before anything else (a bad file stops the start with
 * Redis's message) and proposes its users as ACL LOAD does (__aclload);
 * one started with requirepass, and no aclfile (Redis ignores
 * requirepass then), proposes the default user's password as CONFIG SET
 * requirepass does (__aclsetuser default resetpass #<sha256>, or nopass).
 * It is proposed once a leader takes it, again after a failure, until it
 * applies. Every node enforces what the log says, so two nodes never
 * enforce different users; the last node started with a file sets the
 * users of the whole cluster (its log says so). Until the change applies,
 * this node enforces its replicated users with the change made (a
 * private copy, `view`), never fewer restrictions than configured.
 * ---------------------------------------------------------------- */

/* __aclsetuser default resetpass #<sha256 of pass> (nopass for ""): the
 * change requirepass makes, as Redis makes it (ACLUpdateDefaultUserPassword). */
static struct resp_arg *requirepass_args(const char *pass, struct buf *items, int *n)
{
    buf_append_u32(items, 7);
    buf_append(items, "default", 7);
    buf_append_u32(items, 9);
    buf_append(items, "resetpass", 9);
    if (pass[0]) {
        char hex[65];
        acl_sha256_hex(pass, strlen(pass), hex);
        buf_append_u32(items, 65);
        buf_append(items, "#", 1);
        buf_append(items, hex, 64);
    } else {
        buf_append_u32(items, 6);
        buf_append(items, "nopass", 6);
    }
    *n = 1;
    struct resp_arg *args = xmalloc(sizeof *args);
    args[0].ptr = "__aclsetuser";
    args[0].len = 12;
    items_to_args(items, &args, n);
    return args;
}

int acl_startup_prepare(struct server *s, char *err, size_t errlen)
{
    struct acl_startup *st = xcalloc(1, sizeof *st);
    if (s->cfg.aclfile[0]) {
        if (!aclfile_read(s->cfg.aclfile, &st->items, err, errlen)) {
            buf_free(&st->items);
            free(st);
            return -1;
        }
        st->argv = aclload_args(&st->items, &st->argc);
    } else if (s->cfg.requirepass[0]) {
        st->argv = requirepass_args(s->cfg.requirepass, &st->items, &st->argc);
    } else {
        free(st);
        return 0;
    }
    s->acl_startup = st;
    return 0;
}

/* Applied: the node enforces the replicated users again. */
static void on_startup_applied(struct startup_proposal *p)
{
    struct acl_startup *st = p->srv->acl_startup;
    store_free(st->view);
    st->view = NULL;
}

void acl_startup_begin(struct server *s)
{
    struct acl_startup *st = s->acl_startup;
    if (st == NULL) return;
    /* The view: the replicated users (from the snapshot and log read so
     * far) with the change made, by the code that will apply it. */
    st->view = store_new();
    struct buf users = BUF_INIT;
    acl_users_encode(&s->store->users, &users);
    struct reader rd;
    reader_init(&rd, users.data, users.len);
    CHECK(acl_users_decode(&st->view->users, &rd) == 0);
    buf_free(&users);
    const struct cmd_def *d = cmd_lookup(st->argv[0].ptr, st->argv[0].len, true);
    CHECK(d != NULL && d->exec != NULL);
    struct buf out = BUF_INIT;
    struct cmd_ctx ctx = {
        .store = st->view,
        .out = {&out, 2},
        .argc = st->argc,
        .argv = st->argv,
        .cmd = d,
    };
    cmd_exec(&ctx);
    CHECK(out.len && out.data[0] == '+'); /* checked when it was read */
    buf_free(&out);
    startup_proposal_start(&st->prop, s, s->cfg.aclfile[0] ? "users of the aclfile" : "users of the requirepass",
                           st->argc, st->argv, on_startup_applied);
}

void acl_close_handles(struct server *s)
{
    if (s->acl_startup == NULL) return;
    startup_proposal_close(&s->acl_startup->prop);
}

/* CONFIG SET requirepass: the default user's password changes through
 * the log; the change's reply is the CONFIG SET's. */
void acl_requirepass_changed(struct client *c)
{
    struct buf items = BUF_INIT;
    int n;
    struct resp_arg *args = requirepass_args(c->srv->cfg.requirepass, &items, &n);
    submit(c, n, args);
    free(args);
    buf_free(&items);
}

void acl_bind_handlers(void)
{
    cmd_bind_local("auth", cmd_auth);
    cmd_bind_local("acl|whoami", acl_whoami);
    cmd_bind_local("acl|cat", acl_cat);
    cmd_bind_local("acl|genpass", acl_genpass);
    cmd_bind_local("acl|log", acl_log_cmd);
    cmd_bind_local("acl|setuser", acl_setuser);
    cmd_bind_local("acl|load", acl_load);
    cmd_bind_local("acl|save", acl_save);
    cmd_bind_local("acl|help", acl_help);
}
