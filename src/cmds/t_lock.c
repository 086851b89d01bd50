/* cmds/t_lock.c — locks with fencing tokens: LOCK.ACQUIRE, LOCK.RELEASE,
 * LOCK.REFRESH, LOCK.HOLDER and LOCK.FENCED.
 *
 * A lock is a key: a hash of exactly two fields, `owner` and `token`, whose
 * expiry is the lock's TTL. Being a key, it is replicated, snapshotted and
 * expired like any other (the leader's clock, carried in the log, decides
 * when a TTL ran out), watched by WATCH, reported by keyspace events, and
 * guarded by ACL key patterns; DEL breaks it.
 *
 * A fencing token is minted from the grant's place in the log: the entry's
 * index times 2^32, plus the command's place in the entry times 2^12, plus
 * how many tokens that command minted before (a LOCK.ACQUIRE in MULTI). So
 * every token is larger than every token granted before, for any lock, on
 * every node, across failovers and restarts, and FLUSHALL cannot make one
 * come back. An entry of more than 2^20 commands, or a command minting more
 * than 4096 tokens, is refused the grant (an error, the same on every node).
 *
 * LOCK.FENCED runs a command only while the token is the holder's: the
 * check is made where the data is, in the same step as the write, so a
 * holder whose TTL ran out (paused, partitioned) can no longer write. */
#include <stdio.h>
#include <string.h>

#include "cmds/cmd.h"
#include "store/hash.h"
#include "store/object.h"

#define LOCK_TTL_MAX_MS (1LL << 46) /* about 2,200 years */
#define ENTRY_COMMANDS_MAX (1u << 20)
#define TOKENS_PER_COMMAND_MAX (1u << 12)

struct lock_state {
    struct hash_str owner; /* its p may point into its own tmp: keep it here */
    long long token;
};

/* The lock at key: 1 held (filled in), 0 free, -1 the key holds
 * something else (WRONGTYPE replied). */
static int lock_read(struct cmd_ctx *c, const struct resp_arg *key, struct dict_entry **entry,
                     struct lock_state *l)
{
    struct dict_entry *e = ctx_lookup(c, key);
    *entry = e;
    if (e == NULL) return 0;
    struct sobj *o = store_value(e);
    struct hash_str token;
    long long t;
    if (o->type != OBJ_HASH || hash_len(o) != 2 || !hash_get(o, "owner", 5, &l->owner) ||
        !hash_get(o, "token", 5, &token)) {
        cmd_reply_wrongtype(c);
        return -1;
    }
    struct resp_arg ta = {token.p, token.len};
    if (!arg_to_ll(&ta, &t)) {
        cmd_reply_wrongtype(c);
        return -1;
    }
    l->token = t;
    return 1;
}

static bool ttl_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *ttl)
{
    if (!arg_get_ll_or_reply(c, a, ttl)) return false;
    if (*ttl <= 0 || *ttl > LOCK_TTL_MAX_MS) {
        resp_errorf(&c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
        return false;
    }
    return true;
}

/* The next fencing token, or -1 (an error replied). */
static long long mint(struct cmd_ctx *c)
{
    if (c->tokens_minted == NULL || c->log_index == 0) {
        resp_error(&c->out, "ERR a fencing token is minted only from the log");
        return -1;
    }
    if (c->log_command >= ENTRY_COMMANDS_MAX || *c->tokens_minted >= TOKENS_PER_COMMAND_MAX) {
        resp_error(&c->out, "ERR too many locks granted in one log entry");
        return -1;
    }
    if (c->log_index >= (1ull << 31)) {
        resp_error(&c->out, "ERR the log is past the last fencing token");
        return -1;
    }
    uint32_t n = (*c->tokens_minted)++;
    return (long long)((c->log_index << 32) | ((uint64_t)c->log_command << 12) | n);
}

static void lock_write(struct cmd_ctx *c, const struct resp_arg *key, const struct resp_arg *owner,
                       long long token, long long ttl)
{
    struct sobj *o = hash_new();
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", token);
    hash_set(o, "owner", 5, owner->ptr, owner->len);
    hash_set(o, "token", 5, t, (size_t)n);
    struct dict_entry *e = store_set(c->store, c->db, key->ptr, key->len, o, false);
    store_set_expire(c->store, c->db, e, c->now_ms + ttl);
    ctx_notify(c, NOTIFY_HASH, "hset", key);
    ctx_notify(c, NOTIFY_GENERIC, "expire", key);
}

/* LOCK.ACQUIRE key owner ttl-ms: the token, the same one renewed for the
 * owner that holds it, or nil while another owner does. */
static void cmd_lock_acquire(struct cmd_ctx *c)
{
    long long ttl;
    if (!ttl_or_reply(c, &c->argv[3], &ttl)) return;
    struct dict_entry *e;
    struct lock_state l;
    int held = lock_read(c, &c->argv[1], &e, &l);
    if (held < 0) return;
    const struct resp_arg *owner = &c->argv[2];
    if (held && (l.owner.len != owner->len || memcmp(l.owner.p, owner->ptr, owner->len) != 0)) {
        resp_null(&c->out);
        return;
    }
    if (held) {
        store_set_expire(c->store, c->db, e, c->now_ms + ttl);
        store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
        resp_int(&c->out, l.token);
        return;
    }
    long long token = mint(c);
    if (token < 0) return;
    lock_write(c, &c->argv[1], owner, token, ttl);
    resp_int(&c->out, token);
}

/* The lock at argv[1] when its token is argv[2]: 1 (e set), 0 (replied
 * nothing), -1 (an error replied). */
static int holder_is(struct cmd_ctx *c, struct dict_entry **e)
{
    long long token;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &token)) return -1;
    struct lock_state l;
    int held = lock_read(c, &c->argv[1], e, &l);
    if (held <= 0) return held;
    return l.token == token;
}

/* LOCK.RELEASE key token: 1 if token held it (now free), else 0. */
static void cmd_lock_release(struct cmd_ctx *c)
{
    struct dict_entry *e;
    int is = holder_is(c, &e);
    if (is < 0) return;
    if (is) {
        store_delete(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
    resp_int(&c->out, is);
}

/* LOCK.REFRESH key token ttl-ms: 1 if token holds it (TTL renewed), else 0. */
static void cmd_lock_refresh(struct cmd_ctx *c)
{
    long long ttl;
    if (!ttl_or_reply(c, &c->argv[3], &ttl)) return;
    struct dict_entry *e;
    int is = holder_is(c, &e);
    if (is < 0) return;
    if (is) {
        store_set_expire(c->store, c->db, e, c->now_ms + ttl);
        store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
    }
    resp_int(&c->out, is);
}

/* LOCK.HOLDER key: [owner, token, remaining ms], or nil when free. */
static void cmd_lock_holder(struct cmd_ctx *c)
{
    struct dict_entry *e;
    struct lock_state l;
    int held = lock_read(c, &c->argv[1], &e, &l);
    if (held < 0) return;
    if (held == 0) {
        resp_null_array(&c->out);
        return;
    }
    int64_t when = store_expire_of(c->store, c->db, e);
    resp_array(&c->out, 3);
    resp_bulk(&c->out, l.owner.p, l.owner.len);
    resp_int(&c->out, l.token);
    resp_int(&c->out, when == STORE_NO_EXPIRE ? -1 : (long long)(when - c->now_ms));
}

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
    int is = holder_is(c, &e);
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
    cmd_exec(&sub);
    c->rng = sub.rng;
}

/* ---------------------------------------------------------------------
 * Command table rows
 * ------------------------------------------------------------------- */

#define ROW(n, ar, fl, f, l, s, acl, ex, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "lock", "parley-0.1", sum, cx, NULL, "" __VA_ARGS__}
#define LOCK_FLAGS (CMD_NOSCRIPT | CMD_KEY_ACCESS | CMD_KEY_MODIFY)

const struct cmd_def cmd_rows_lock[] = {
    ROW("lock.acquire", 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST | LOCK_FLAGS, 1, 1, 1,
        ACL_WRITE | ACL_KEYSPACE | ACL_FAST, cmd_lock_acquire,
        "Acquires a lock for an owner with a TTL; answers its fencing token, or nil while another "
        "owner holds it",
        "O(1)"),
    ROW("lock.release", 3, CMD_WRITE | CMD_FAST | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_FAST,
        cmd_lock_release, "Releases a lock if the token holds it", "O(1)"),
    ROW("lock.refresh", 4, CMD_WRITE | CMD_FAST | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_FAST,
        cmd_lock_refresh, "Renews a lock's TTL if the token holds it", "O(1)"),
    ROW("lock.holder", 2, CMD_READONLY | CMD_FAST | CMD_NOSCRIPT | CMD_KEY_ACCESS, 1, 1, 1,
        ACL_READ | ACL_KEYSPACE | ACL_FAST, cmd_lock_holder,
        "Returns a lock's owner, token and remaining milliseconds, or nil", "O(1)"),
    ROW("lock.fenced", -4, CMD_WRITE | CMD_DENYOOM | CMD_WRAPS_COMMAND | LOCK_FLAGS, 1, 1, 1, ACL_WRITE | ACL_KEYSPACE | ACL_SLOW,
        cmd_lock_fenced, "Runs a command only while the token holds the lock",
        "O(1) plus the command's"),
    {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
