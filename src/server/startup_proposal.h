/* server/startup_proposal.h — a change to replicated state that this
 * node's configuration asks for (requirepass or an aclfile, encoding
 * thresholds): proposed once Raft runs, and again half a second after
 * each failure, until it applies (startup_proposal.c). */
#ifndef PARLEY_SERVER_STARTUP_PROPOSAL_H
#define PARLEY_SERVER_STARTUP_PROPOSAL_H

#include <uv.h>

#include "repl/repl.h"

struct server;

struct startup_proposal {
    struct server *srv;
    const char *what; /* for the log: "the users of the requirepass" */
    int db; /* 0 unless the owner sets it before start */
    bool quiet; /* "applied" logged at verbose level only (set before start) */
    int argc;
    const struct resp_arg *argv; /* the owner's, kept until it is freed */
    void (*on_applied)(struct startup_proposal *p);
    struct reply_slot slot;
    uv_timer_t retry;
};

/* Proposes argv now; on_applied (may be NULL) runs once it applied. */
void startup_proposal_start(struct startup_proposal *p, struct server *s, const char *what,
                            int argc, const struct resp_arg *argv,
                            void (*on_applied)(struct startup_proposal *p));
/* From on_applied: proposes the next command (in database db) the same
 * way; argv as for start. */
void startup_proposal_next(struct startup_proposal *p, int db, int argc,
                           const struct resp_arg *argv);
/* At shutdown: closes the retry timer (the loop runs once more after). */
void startup_proposal_close(struct startup_proposal *p);
/* Then, once repl is gone: its reply buffer. */
void startup_proposal_free(struct startup_proposal *p);

#endif
