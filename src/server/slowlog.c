/* server/slowlog.c — see slowlog.h. SLOWLOG GET/LEN/RESET/HELP.
 *
 * An entry keeps at most 32 arguments (the 32nd says how many more there
 * were) of at most 128 bytes each (the rest replaced by how many bytes
 * more), and the client's address and name. Secrets never enter it: AUTH,
 * HELLO, EXEC and repl/'s internal commands are not logged (EXEC's
 * commands are, one by one), and the
 * arguments after ACL SETUSER's subcommand, the value of a secret
 * CONFIG SET and MIGRATE's AUTH and AUTH2 passwords are "(redacted)", as
 * Redis does (MONITOR redacts with the same rule). */
#include "server/slowlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/mem.h"
#include "server/server.h"

#define SLOWLOG_ARGS_MAX 32
#define SLOWLOG_ARG_BYTES 128

static void entry_free(struct slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++) free(e->argv[i]);
    free(e->argv);
    free(e->argv_len);
    free(e->addr);
    free(e->name);
    memset(e, 0, sizeof *e);
}

void slowlog_free(struct slowlog *l)
{
    for (size_t i = 0; i < l->n; i++) entry_free(&l->ring[(l->head + l->cap - 1 - i) % l->cap]);
    free(l->ring);
    *l = (struct slowlog){.next_id = l->next_id};
}

static void reset(struct slowlog *l) { slowlog_free(l); }

/* MIGRATE's passwords: the argument after AUTH, the two after AUTH2,
 * among its options (argv[6] on, up to KEYS). */
static bool migrate_secret(int argc, const struct resp_arg *argv, int i)
{
    for (int j = 6; j < argc && j < i; j++) {
        if (arg_is(&argv[j], "keys")) return false;
        int words = arg_is(&argv[j], "auth") ? 1 : arg_is(&argv[j], "auth2") ? 2 : 0;
        if (i > j && i <= j + words) return true;
        j += words;
    }
    return false;
}

bool slowlog_redacted(const struct cmd_def *cmd, int argc, const struct resp_arg *argv, int i)
{
    if (strcmp(cmd->name, "migrate") == 0) return migrate_secret(argc, argv, i);
    if (strcmp(cmd->name, "acl|setuser") == 0) return i >= 2;
    if (strcmp(cmd->name, "config|set") == 0 && i >= 3 && (i - 2) % 2 == 1) {
        static const char *const secrets[] = {"requirepass", "masterauth", "cluster-secret",
                                              "tls-key-file-pass", "tls-client-key-file-pass"};
        for (size_t k = 0; k < sizeof secrets / sizeof *secrets; k++)
            if (argv[i - 1].len == strlen(secrets[k]) &&
                strncasecmp(argv[i - 1].ptr, secrets[k], argv[i - 1].len) == 0)
                return true;
    }
    return false;
}

static char *copy_arg(const char *p, size_t len, size_t *out_len)
{
    char *s;
    if (len > SLOWLOG_ARG_BYTES) {
        char tail[64];
        int n = snprintf(tail, sizeof tail, "... (%zu more bytes)", len - SLOWLOG_ARG_BYTES);
        s = xmalloc(SLOWLOG_ARG_BYTES + (size_t)n);
        memcpy(s, p, SLOWLOG_ARG_BYTES);
        memcpy(s + SLOWLOG_ARG_BYTES, tail, (size_t)n);
        *out_len = SLOWLOG_ARG_BYTES + (size_t)n;
    } else {
        s = xmemdup(p, len ? len : 1);
        *out_len = len;
    }
    return s;
}

void slowlog_maybe(struct server *s, const struct client *c, const struct cmd_def *cmd, int argc,
                   const struct resp_arg *argv, uint64_t usec)
{
    long long threshold = s->cfg.slowlog_log_slower_than;
    if (threshold < 0 || usec < (uint64_t)threshold || s->cfg.slowlog_max_len <= 0) return;
    /* Internal commands are repl/'s own (and may carry a password hash
     * or a user's rules): never logged. */
    if (cmd->flags & (CMD_INTERNAL | CMD_SECRET | CMD_SKIP_SLOWLOG)) return;
    struct slowlog *l = &s->slowlog;
    size_t cap = (size_t)s->cfg.slowlog_max_len;
    if (l->cap != cap) { /* the length changed: keep the newest that fit */
        struct slowlog_entry *ring = xcalloc(cap, sizeof *ring);
        size_t keep = l->n < cap ? l->n : cap;
        for (size_t i = 0; i < l->n; i++) {
            struct slowlog_entry *e = &l->ring[(l->head + l->cap - 1 - i) % l->cap];
            if (i < keep) ring[keep - 1 - i] = *e;
            else entry_free(e);
        }
        free(l->ring);
        l->ring = ring;
        l->cap = cap;
        l->n = keep;
        l->head = keep % cap;
    }
    struct slowlog_entry *e = &l->ring[l->head];
    if (l->n == cap) entry_free(e);
    else l->n++;
    l->head = (l->head + 1) % cap;
    int kept = argc > SLOWLOG_ARGS_MAX ? SLOWLOG_ARGS_MAX : argc;
    *e = (struct slowlog_entry){.id = l->next_id++, .time_s = clock_wall_ms() / 1000, .usec = usec,
                                .argc = kept, .argv = xmalloc((size_t)kept * sizeof(char *)),
                                .argv_len = xmalloc((size_t)kept * sizeof(size_t))};
    for (int i = 0; i < kept; i++) {
        if (kept < argc && i == kept - 1) {
            char more[64];
            int n = snprintf(more, sizeof more, "... (%d more arguments)", argc - kept + 1);
            e->argv[i] = copy_arg(more, (size_t)n, &e->argv_len[i]);
        } else if (slowlog_redacted(cmd, argc, argv, i)) {
            e->argv[i] = copy_arg("(redacted)", 10, &e->argv_len[i]);
        } else {
            e->argv[i] = copy_arg(argv[i].ptr, argv[i].len, &e->argv_len[i]);
        }
    }
    e->addr = xstrdup(c ? net_conn_peer(c->conn) : "");
    e->name = xstrdup(c && c->name ? c->name : "");
}

static void slowlog_get(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long count = 10;
    if (argc == 3) {
        if (!arg_to_ll(&argv[2], &count) || count < -1) {
            resp_error(&o, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1) count = (long long)c->srv->slowlog.n;
    }
    struct slowlog *l = &c->srv->slowlog;
    size_t n = l->n < (size_t)count ? l->n : (size_t)count;
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) {
        const struct slowlog_entry *e = &l->ring[(l->head + l->cap - 1 - i) % l->cap];
        resp_array(&o, 6);
        resp_int(&o, (long long)e->id);
        resp_int(&o, e->time_s);
        resp_int(&o, (long long)e->usec);
        resp_array(&o, e->argc);
        for (int k = 0; k < e->argc; k++) resp_bulk(&o, e->argv[k], e->argv_len[k]);
        resp_bulk_str(&o, e->addr);
        resp_bulk_str(&o, e->name);
    }
}

static void slowlog_len(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_int(&o, (long long)c->srv->slowlog.n);
}

static void slowlog_reset(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    reset(&c->srv->slowlog);
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void slowlog_help(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    static const char *lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

void slowlog_bind_handlers(void)
{
    cmd_bind_local("slowlog|get", slowlog_get);
    cmd_bind_local("slowlog|len", slowlog_len);
    cmd_bind_local("slowlog|reset", slowlog_reset);
    cmd_bind_local("slowlog|help", slowlog_help);
}
