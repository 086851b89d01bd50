/* cmds/memlimit.h — what memory limits refuse, decided before a command is
 * proposed, and the two internal commands that carry those decisions
 * through the log.
 *
 * Apply is total: a command in the log runs on every node and must not
 * fail there. So whatever depends on memory is decided before proposing:
 *
 *   - by the node that receives the command (dispatch), with limits known
 *     without the keyspace: a string a command would make longer than
 *     proto-max-bulk-len or than the machine's physical memory is refused
 *     with Redis's "string exceeds maximum allowed size";
 *   - by the leader, as it puts a batch into the log (repl/memory.c), with
 *     its own used memory: while used memory is over maxmemory and nothing
 *     can be evicted, a deny-oom command is replaced by `__refuse <error>`
 *     (Redis's OOM error, answered from the log on every node, so the
 *     batch keeps one reply per command); a command whose client-named
 *     growth (SETRANGE's offset) exceeds the room left is refused the same
 *     way; and a script that may write runs as `__oomguard <script
 *     command>`, which refuses the script's first deny-oom command, as
 *     Redis refuses it when a script starts while memory is over the limit.
 *
 *   __refuse <error>            answers <error> and does nothing else
 *   __oomguard <command> ...    runs <command> with the guard set */
#ifndef PARLEY_CMDS_MEMLIMIT_H
#define PARLEY_CMDS_MEMLIMIT_H

#include <stdbool.h>

#include "cmds/cmd.h"

/* Redis's exact text for a command refused over maxmemory. */
#define OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."
#define STRING_TOO_LONG_ERROR "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
#define REFUSE_CMD "__refuse"
#define OOM_GUARD_CMD "__oomguard"

/* The receiving node's check: NULL, or the error to answer instead of
 * proposing. max_string is the longest string allowed (proto-max-bulk-len,
 * at most physical memory). */
const char *memlimit_precheck(const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                              long long max_string);

/* The leader's view of memory when it proposes, updated as it walks the
 * commands of a tick. */
struct memlimit_state {
    bool deny_oom;         /* used > maxmemory and nothing can be evicted */
    long long room;        /* bytes a command may still add (client-named
                              growth); -1 when there is no maxmemory */
    long long budget;      /* under noeviction: bytes deny-oom commands may
                              add (what each stores, estimated) before the
                              limit is reached within this tick, after which
                              deny_oom is set, as Redis refuses the commands
                              after the one that crossed it; -1: none */
    int64_t now_ms;
};

enum memlimit_verdict {
    MEMLIMIT_RUN,          /* propose as it is */
    MEMLIMIT_REFUSE,       /* propose __refuse <*error> instead */
    MEMLIMIT_GUARD,        /* propose __oomguard <the command> instead */
};

/* The leader's decision for one command of a batch (in database db).
 * Cheap when the state asks for nothing: callers skip the walk then. */
enum memlimit_verdict memlimit_verdict(struct store *s, struct memlimit_state *st, int db,
                                       int argc, const struct resp_arg *argv, const char **error);

/* cmd_exec's side of __oomguard: false (after answering Redis's OOM error)
 * for a deny-oom command before the script wrote anything. */
struct cmd_oom_guard {
    bool wrote;
};
bool oom_guard_allows(struct cmd_ctx *c);

#endif
