/* cmds/t_lock.c — locks with fencing tokens: LOCK.ACQUIRE, LOCK.RELEASE,
 * LOCK.REFRESH, LOCK.HOLDER and LOCK.FENCED.
 *
 * A lock is a hold (cmds/hold.c) whose holder field is `owner`: a key
 * holding a hash of the owner and its fencing token, whose expiry is the
 * lock's TTL, with a line of the clients that wait for it (WAIT), served
 * first come, first served across all nodes.
 *
 * LOCK.FENCED runs a command only while the token is the holder's: the
 * check is made where the data is, in the same step as the write, so a
 * holder whose TTL ran out (paused, partitioned) can no longer write. */
#include <stdio.h>
#include <string.h>

#include "cmds/hold.h"
#include "store/object.h"

const struct hold_kind LOCK_HOLD = {"owner", 5, NULL};

/* LOCK.ACQUIRE key owner ttl-ms [WAIT ms]: the token, the same one renewed
 * for the owner that holds it, or nil while another owner does (with WAIT:
 * once it is free, first come first served, or nil after ms; 0: no limit). */
static void cmd_lock_acquire(struct cmd_ctx *c) { hold_acquire_cmd(c, &LOCK_HOLD); }

/* LOCK.RELEASE key token: 1 if token held it (now free, or the next
 * waiter's), else 0. */
static void cmd_lock_release(struct cmd_ctx *c) { hold_release_cmd(c, &LOCK_HOLD); }

/* LOCK.REFRESH key token ttl-ms: 1 if token holds it (TTL renewed), else 0. */
static void cmd_lock_refresh(struct cmd_ctx *c) { hold_refresh_cmd(c, &LOCK_HOLD); }

/* LOCK.HOLDER key: [owner, token, remaining ms], or nil when free. */
static void cmd_lock_holder(struct cmd_ctx *c) { hold_holder_cmd(c, &LOCK_HOLD, true); }

static void cmd_lock_fenced(struct cmd_ctx *c);

const struct cmd_def *cmd_wrapped(int argc, const struct resp_arg *argv, const char **why)
{
    *why = NULL;
    const int at = CMD_WRAPPED_AT;
    if (argc <= at) return NULL;
    const struct cmd_def *d = cmd_lookup(argv[at].ptr, argv[at].len, false);
    if (d && (d->flags & CMD_CONTAINER))
        d = argc > at + 1 ? cmd_lookup_sub(d, argv[at + 1].ptr, argv[at + 1].len) : NULL;
    if (d == NULL) {
        *why = "ERR unknown command given to LOCK.FENCED";
        return NULL;
    }
    if (!cmd_arity_ok(d, argc - at)) {
        *why = "ERR wrong number of arguments for the command given to LOCK.FENCED";
        return NULL;
    }
    if (d->exec == NULL || !(d->flags & (CMD_WRITE | CMD_READONLY)) ||
        (d->flags & (CMD_LOCAL | CMD_INTERNAL | CMD_BLOCKING | CMD_NOSCRIPT | CMD_PUBSUB |
                     CMD_TX_CONTROL)) ||
        (d->acl & ACL_SCRIPTING) || d->exec == cmd_lock_fenced) {
        *why = "ERR this command cannot be fenced";
        return NULL;
    }
    return d;
}

/* LOCK.FENCED key token command [arg ...]: the command's reply if token
 * holds the lock, else -FENCED and nothing done. */
static void cmd_lock_fenced(struct cmd_ctx *c)
{
    const char *why;
    const struct cmd_def *inner = cmd_wrapped(c->argc, c->argv, &why);
    if (inner == NULL) {
        resp_error(&c->out, why);
        return;
    }
    struct dict_entry *e;
    int is = hold_by_token(c, &LOCK_HOLD, &e);
    if (is < 0) return;
    if (!is) {
        resp_error(&c->out, "FENCED the token does not hold the lock");
        return;
    }
    struct cmd_ctx sub = *c;
    sub.argc = c->argc - CMD_WRAPPED_AT;
    sub.argv = c->argv + CMD_WRAPPED_AT;
    sub.cmd = inner;
    sub.no_block = true;
    sub.wrapped = true;
    cmd_exec(&sub);
    c->rng = sub.rng;
}

/* ---------------------------------------------------------------------
 * Command table rows
 * ------------------------------------------------------------------- */

#define ROW(n, ar, fl, f, l, s, acl, ex, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "lock", "parley-0.1", sum, cx, NULL, "" __VA_ARGS__, NULL}
#define LOCK_FLAGS CMD_NOSCRIPT

const struct cmd_def cmd_rows_lock[] = {
    {"lock.acquire", -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST | CMD_BLOCKING | LOCK_FLAGS, 1, 1, 1,
     ACL_WRITE | ACL_KEYSPACE | ACL_FAST | ACL_BLOCKING, cmd_lock_acquire, "lock", "parley-0.1",
     "Acquires a lock for an owner with a TTL; answers its fencing token, or nil while another "
     "owner holds it",
     "O(1)", NULL, "RW access update", hold_block_shape},
    ROW("lock.release", 3, CMD_WRITE | CMD_FAST | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_FAST,
        cmd_lock_release, "Releases a lock if the token holds it", "O(1)", "RW access update"),
    ROW("lock.refresh", 4, CMD_WRITE | CMD_FAST | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_FAST,
        cmd_lock_refresh, "Renews a lock's TTL if the token holds it", "O(1)", "RW access update"),
    ROW("lock.holder", 2, CMD_READONLY | CMD_FAST | CMD_NOSCRIPT, 1, 1, 1,
        ACL_READ | ACL_KEYSPACE | ACL_FAST, cmd_lock_holder,
        "Returns a lock's owner, token and remaining milliseconds, or nil", "O(1)", "RO access"),
    ROW("lock.fenced", -4, CMD_WRITE | CMD_DENYOOM | CMD_WRAPS_COMMAND | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_SLOW,
        cmd_lock_fenced, "Runs a command only while the token holds the lock",
        "O(1) plus the command's", "RW access update"),
    CMD_ROWS_END,
};
