/* cmds/t_lock.c — locks with fencing tokens: LOCK.ACQUIRE, LOCK.RELEASE,
 * LOCK.REFRESH, LOCK.HOLDER and LOCK.FENCED; and the holds (lock.h) that
 * they and ELECT.* (t_elect.c) keep in keys, with the minting of tokens.
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

#include "cmds/lock.h"
#include "store/object.h"

#define HOLD_TTL_MAX_MS (1LL << 46) /* about 2,200 years */
#define ENTRY_COMMANDS_MAX (1u << 20)
#define TOKENS_PER_COMMAND_MAX (1u << 12)

const struct hold_kind LOCK_HOLD = {"owner", 5}, ELECTION_HOLD = {"candidate", 9};

bool hold_is(struct sobj *o, const struct hold_kind *k, struct hold *h)
{
    struct hash_str token;
    if (o->type != OBJ_HASH || hash_len(o) != 2 || !hash_get(o, k->holder, k->holder_len, &h->holder) ||
        !hash_get(o, "token", 5, &token))
        return false;
    struct resp_arg ta = {token.p, token.len};
    return arg_to_ll(&ta, &h->token);
}

int hold_read(struct cmd_ctx *c, const struct hold_kind *k, const struct resp_arg *key,
              struct dict_entry **entry, struct hold *h)
{
    struct dict_entry *e = ctx_lookup(c, key);
    *entry = e;
    if (e == NULL) return 0;
    if (!hold_is(store_value(e), k, h)) {
        cmd_reply_wrongtype(c);
        return -1;
    }
    return 1;
}

bool hold_ttl_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *ttl)
{
    if (!arg_get_ll_or_reply(c, a, ttl)) return false;
    if (*ttl <= 0 || *ttl > HOLD_TTL_MAX_MS) {
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

bool hold_block_shape(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    *sh = (struct block_shape){.first = 1, .n = 1, .timeout = 5, .ms_units = true};
    return argc == 6 && arg_is(&argv[4], "wait");
}

bool hold_wait_or_reply(struct cmd_ctx *c, bool *wait)
{
    *wait = false;
    if (c->argc == 4) return true;
    long long ms;
    if (c->argc != 6 || !arg_is(&c->argv[4], "wait")) {
        cmd_reply_syntax_error(c);
        return false;
    }
    if (!arg_get_ll_or_reply(c, &c->argv[5], &ms)) return false;
    if (ms < 0) {
        resp_error(&c->out, "ERR timeout is negative");
        return false;
    }
    *wait = true;
    return true;
}

void hold_taken(struct cmd_ctx *c, bool wait)
{
    if (wait && !c->no_block) c->blocked = true; /* no reply: the client waits */
    else resp_null(&c->out);
}

void hold_renew(struct cmd_ctx *c, struct dict_entry *e, long long ttl)
{
    store_set_expire(c->store, c->db, e, c->now_ms + ttl);
    store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
    ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
}

int hold_acquire(struct cmd_ctx *c, const struct hold_kind *k, long long ttl, long long *token)
{
    struct dict_entry *e;
    struct hold h;
    const struct resp_arg *key = &c->argv[1], *holder = &c->argv[2];
    int held = hold_read(c, k, key, &e, &h);
    if (held < 0) return -1;
    if (held && (h.holder.len != holder->len || memcmp(h.holder.p, holder->ptr, holder->len) != 0))
        return 0;
    if (held) {
        hold_renew(c, e, ttl);
        *token = h.token;
        return 2;
    }
    if ((*token = mint(c)) < 0) return -1;
    struct sobj *o = hash_new();
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", *token);
    hash_set(o, k->holder, k->holder_len, holder->ptr, holder->len);
    hash_set(o, "token", 5, t, (size_t)n);
    e = store_set(c->store, c->db, key->ptr, key->len, o, false);
    store_set_expire(c->store, c->db, e, c->now_ms + ttl);
    ctx_notify(c, NOTIFY_HASH, "hset", key);
    ctx_notify(c, NOTIFY_GENERIC, "expire", key);
    return 1;
}

int hold_by_token(struct cmd_ctx *c, const struct hold_kind *k, struct dict_entry **e)
{
    long long token;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &token)) return -1;
    struct hold h;
    int held = hold_read(c, k, &c->argv[1], e, &h);
    if (held <= 0) return held;
    return h.token == token;
}

/* LOCK.ACQUIRE key owner ttl-ms [WAIT ms]: the token, the same one renewed
 * for the owner that holds it, or nil while another owner does (with WAIT:
 * once it is free, first come first served, or nil after ms; 0: no limit). */
static void cmd_lock_acquire(struct cmd_ctx *c)
{
    long long ttl, token;
    bool wait;
    if (!hold_ttl_or_reply(c, &c->argv[3], &ttl) || !hold_wait_or_reply(c, &wait)) return;
    int got = hold_acquire(c, &LOCK_HOLD, ttl, &token);
    if (got == 0) hold_taken(c, wait);
    else if (got > 0) resp_int(&c->out, token);
}

void hold_release_cmd(struct cmd_ctx *c, const struct hold_kind *k,
                      void (*before)(struct cmd_ctx *c, const struct hold *h))
{
    struct dict_entry *e;
    int is = hold_by_token(c, k, &e);
    if (is < 0) return;
    if (is) {
        struct hold h;
        if (before && hold_is(store_value(e), k, &h)) before(c, &h);
        store_delete(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    }
    resp_int(&c->out, is);
}

void hold_refresh_cmd(struct cmd_ctx *c, const struct hold_kind *k)
{
    long long ttl;
    if (!hold_ttl_or_reply(c, &c->argv[3], &ttl)) return;
    struct dict_entry *e;
    int is = hold_by_token(c, k, &e);
    if (is < 0) return;
    if (is) hold_renew(c, e, ttl);
    resp_int(&c->out, is);
}

/* LOCK.RELEASE key token: 1 if token held it (now free), else 0. */
static void cmd_lock_release(struct cmd_ctx *c) { hold_release_cmd(c, &LOCK_HOLD, NULL); }

/* LOCK.REFRESH key token ttl-ms: 1 if token holds it (TTL renewed), else 0. */
static void cmd_lock_refresh(struct cmd_ctx *c) { hold_refresh_cmd(c, &LOCK_HOLD); }

/* LOCK.HOLDER key: [owner, token, remaining ms], or nil when free. */
static void cmd_lock_holder(struct cmd_ctx *c)
{
    struct dict_entry *e;
    struct hold h;
    int held = hold_read(c, &LOCK_HOLD, &c->argv[1], &e, &h);
    if (held < 0) return;
    if (held == 0) {
        resp_null_array(&c->out);
        return;
    }
    int64_t when = store_expire_of(c->store, c->db, e);
    resp_array(&c->out, 3);
    resp_bulk(&c->out, h.holder.p, h.holder.len);
    resp_int(&c->out, h.token);
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

#define ROW(n, ar, fl, f, l, s, acl, ex, sum, cx) \
    {n, ar, fl, f, l, s, acl, ex, "lock", "parley-0.1", sum, cx, NULL, "", NULL}
#define LOCK_FLAGS (CMD_NOSCRIPT | CMD_KEY_ACCESS | CMD_KEY_MODIFY)

const struct cmd_def cmd_rows_lock[] = {
    {"lock.acquire", -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST | CMD_BLOCKING | LOCK_FLAGS, 1, 1, 1,
     ACL_WRITE | ACL_KEYSPACE | ACL_FAST | ACL_BLOCKING, cmd_lock_acquire, "lock", "parley-0.1",
     "Acquires a lock for an owner with a TTL; answers its fencing token, or nil while another "
     "owner holds it",
     "O(1)", NULL, "", hold_block_shape},
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
    CMD_ROWS_END,
};
