/* server/slowlog.h — the slow log (Redis's SLOWLOG): commands this node
 * executed that took at least slowlog-log-slower-than microseconds, the
 * newest slowlog-max-len of them. Node-local, as in Redis: a node records
 * what it runs, a follower the writes it applies (with no client). */
#ifndef PARLEY_SERVER_SLOWLOG_H
#define PARLEY_SERVER_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "resp/parse.h"

struct server;
struct client;
struct cmd_def;

struct slowlog_entry {
    uint64_t id;
    int64_t time_s;
    uint64_t usec;
    int argc;             /* what is kept: at most SLOWLOG_ARGS_MAX */
    char **argv;
    size_t *argv_len;
    char *addr, *name;
};

struct slowlog {
    struct slowlog_entry *ring; /* newest at head - 1 */
    size_t cap, head, n;
    uint64_t next_id;
};

/* Whether argument i of this call is a secret that the slow log and
 * MONITOR show as "(redacted)". */
bool slowlog_redacted(const struct cmd_def *cmd, int argc, const struct resp_arg *argv, int i);
/* A command ran for usec microseconds (client: NULL when it came from the
 * log with none of this node's clients). Records it when slow enough. */
void slowlog_maybe(struct server *s, const struct client *c, const struct cmd_def *cmd, int argc,
                   const struct resp_arg *argv, uint64_t usec);
void slowlog_free(struct slowlog *l);
void slowlog_bind_handlers(void);

#endif
