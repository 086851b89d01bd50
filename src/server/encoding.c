/* server/encoding.c — the encoding thresholds (store/encoding.h) from
 * this node's side: CONFIG SET of one, and the ones its configuration
 * gives at start-up, become a logged __setencoding (cmds/encoding.c).
 *
 * The thresholds are replicated state: every node encodes by what the log
 * says, and CONFIG GET shows that. CONFIG SET checks the values (Redis's
 * ranges and texts, server/config.c), then proposes them; its reply is the
 * entry's, once applied on a quorum. A node whose configuration (file or
 * flags) sets thresholds away from Redis's defaults proposes those once
 * Raft runs, again after a failure, until it applies, as a configured
 * requirepass is (server/cmd_acl.c): the last node started with such
 * directives sets them for the whole cluster (server/startup_proposal.c). Until then the node encodes
 * by the replicated values, so nodes never disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/log.h"
#include "base/mem.h"
#include "server/server.h"

#define ENC_MAX_SETTINGS 10 /* store_encoding_n_settings, checked at start-up */

struct encoding_startup {
    struct resp_arg argv[1 + 2 * ENC_MAX_SETTINGS]; /* __setencoding and up to every setting */
    char values[ENC_MAX_SETTINGS][24];
    int argc;
    struct startup_proposal prop;
};

/* __setencoding with, for every setting that CONFIG SET's arguments name
 * (set_argv[2], [4]...; every setting when set_argv is NULL) and whose
 * configured value differs from the default (when only_changed), its name
 * and this node's configured value. Returns argc (1: nothing to propose). */
static int build_args(const struct store_encoding *enc, int set_argc,
                      const struct resp_arg *set_argv, bool only_changed, struct resp_arg *argv,
                      char (*values)[24])
{
    int argc = 0;
    argv[argc++] = (struct resp_arg){"__setencoding", 13};
    for (size_t i = 0; i < store_encoding_n_settings; i++) {
        const struct store_encoding_setting *s = &store_encoding_settings[i];
        bool wanted = set_argv == NULL;
        for (int j = 2; j < set_argc && !wanted; j += 2)
            wanted = store_encoding_find(set_argv[j].ptr, set_argv[j].len) == s;
        long long v = store_encoding_value(enc, s);
        if (!wanted || (only_changed && v == store_encoding_value(&store_encoding_defaults, s)))
            continue;
        int len = snprintf(values[i], 24, "%lld", v);
        argv[argc++] = (struct resp_arg){s->name, strlen(s->name)};
        argv[argc++] = (struct resp_arg){values[i], (size_t)len};
    }
    return argc;
}

bool encoding_config_named(int argc, const struct resp_arg *argv)
{
    for (int j = 2; j < argc; j += 2)
        if (store_encoding_find(argv[j].ptr, argv[j].len)) return true;
    return false;
}

void encoding_config_changed(struct client *c, int argc, const struct resp_arg *argv)
{
    struct resp_arg args[1 + 2 * ENC_MAX_SETTINGS];
    char values[ENC_MAX_SETTINGS][24];
    int nargs = build_args(&c->srv->cfg.enc, argc, argv, false, args, values);
    repl_submit(c->srv->repl, client_slot_for_submit(c), c->db, c->proto, nargs, args);
}

void encoding_startup_begin(struct server *s)
{
    CHECK(store_encoding_n_settings <= ENC_MAX_SETTINGS);
    struct encoding_startup *st = xcalloc(1, sizeof *st);
    st->argc = build_args(&s->cfg.enc, 0, NULL, true, st->argv, st->values);
    if (st->argc == 1) {
        free(st);
        return;
    }
    s->encoding_startup = st;
    startup_proposal_start(&st->prop, s, "encoding thresholds of the configuration", st->argc,
                           st->argv, NULL);
}

void encoding_close_handles(struct server *s)
{
    if (s->encoding_startup == NULL) return;
    startup_proposal_close(&s->encoding_startup->prop);
}

void encoding_free_server(struct server *s)
{
    if (s->encoding_startup == NULL) return;
    startup_proposal_free(&s->encoding_startup->prop);
    free(s->encoding_startup);
    s->encoding_startup = NULL;
}
