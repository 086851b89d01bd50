/* cmds/hold.c — holds: a holder and a fencing token kept in a key, the
 * line of clients waiting for it, and the minting of tokens; the core of
 * LOCK.* (t_lock.c) and ELECT.* (t_elect.c).
 *
 * A hold is a hash: the holder's field (`owner` or `candidate`) and
 * `token`; the key's expiry is the hold's TTL. Being a key, it is
 * replicated, snapshotted and expired like any other (the leader's clock,
 * carried in the log, decides when a TTL ran out), watched by WATCH,
 * reported by keyspace events and guarded by ACL key patterns; DEL breaks
 * it.
 *
 * A fencing token is minted from the grant's place in the log: the entry's
 * index times 2^32, plus the command's place in the entry times 2^12, plus
 * how many tokens that command minted before (a LOCK.ACQUIRE in MULTI, or
 * holds passed on by one __expire). So every token is larger than every
 * token granted before, for any hold, on every node, across failovers and
 * restarts, and FLUSHALL cannot make one come back. An entry of more than
 * 2^20 commands, or a command minting more than 4096 tokens, is refused the
 * grant (an error, the same on every node).
 *
 * The line. A client that asks to WAIT while another holds it takes a
 * place at the end of the hold's line (the field `line`: each waiter's
 * holder, TTL and deadline on the leader's clock), in log order, whichever
 * node it is connected to. When the holder releases it or its TTL runs
 * out, the same step gives it to the first waiter whose deadline has not
 * passed, with a new token, and marks it `pending` until that waiter's node
 * answers its client (its retry, server/blocking.c, finds it the holder
 * and claims it). So waiters are served first come, first served across
 * all nodes. A waiter that leaves unserved (timeout, CLIENT UNBLOCK,
 * disconnection) is taken out of the line by its node (__holdcancel), and
 * gives back a hold passed to it that it had not claimed; one whose node
 * died is given the hold in its turn and keeps it for its TTL. A line
 * holds at most HOLD_LINE_MAX waiters. DEL, FLUSHALL or eviction of the
 * key drop the line with it: its waiters then race for the free hold. */
#include "cmds/hold.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "store/object.h"

#define HOLD_TTL_MAX_MS (1LL << 46) /* about 2,200 years */
#define ENTRY_COMMANDS_MAX (1u << 20)
#define TOKENS_PER_COMMAND_MAX (1u << 12)
#define HOLD_LINE_MAX 4096

#define FIELD(lit) lit, sizeof lit - 1
#define LINE_FIELD FIELD("line")
#define PENDING_FIELD FIELD("pending")

static bool same(const struct hash_str *a, const struct resp_arg *b)
{
    return a->len == b->len && memcmp(a->p, b->ptr, b->len) == 0;
}

bool hold_is(struct sobj *o, const struct hold_kind *k, struct hold *h)
{
    struct hash_str token;
    if (o->type != OBJ_HASH || !hash_get(o, k->holder, k->holder_len, &h->holder) ||
        !hash_get(o, "token", 5, &token))
        return false;
    size_t fields = 2 + hash_exists(o, LINE_FIELD) + hash_exists(o, PENDING_FIELD);
    struct resp_arg ta = {token.p, token.len};
    return hash_len(o) == fields && arg_to_ll(&ta, &h->token);
}

/* Which kind of hold the value is, if any. */
static const struct hold_kind *kind_of(struct sobj *o, struct hold *h)
{
    if (hold_is(o, &LOCK_HOLD, h)) return &LOCK_HOLD;
    if (hold_is(o, &ELECTION_HOLD, h)) return &ELECTION_HOLD;
    return NULL;
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

int hold_by_token(struct cmd_ctx *c, const struct hold_kind *k, struct dict_entry **e)
{
    long long token;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &token)) return -1;
    struct hold h;
    int held = hold_read(c, k, &c->argv[1], e, &h);
    if (held <= 0) return held;
    return h.token == token;
}

/* A TTL argument, 1 ms to about 2,200 years, or an error replied. */
static bool ttl_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *ttl)
{
    if (!arg_get_ll_or_reply(c, a, ttl)) return false;
    if (*ttl <= 0 || *ttl > HOLD_TTL_MAX_MS) {
        resp_errorf(&c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
        return false;
    }
    return true;
}

/* The optional "WAIT <ms>" after the TTL (argv[4], argv[5]): *wait_ms -1
 * without it, 0 for no limit; false with an error replied. */
static bool wait_or_reply(struct cmd_ctx *c, long long *wait_ms)
{
    *wait_ms = -1;
    if (c->argc == 4) return true;
    if (c->argc != 6 || !arg_is(&c->argv[4], "wait")) {
        cmd_reply_syntax_error(c);
        return false;
    }
    if (!arg_get_ll_or_reply(c, &c->argv[5], wait_ms)) return false;
    if (*wait_ms < 0) {
        resp_error(&c->out, "ERR timeout is negative");
        return false;
    }
    return true;
}

bool hold_block_shape(int argc, const struct resp_arg *argv, struct block_shape *sh)
{
    *sh = (struct block_shape){.first = 1, .n = 1, .timeout = 5, .ms_units = true, .in_line = true};
    return argc == 6 && arg_is(&argv[4], "wait");
}

/* The next fencing token, or -1 with the reason in *why. */
static long long mint(struct cmd_ctx *c, const char **why)
{
    if (c->tokens_minted == NULL || c->log_index == 0) {
        *why = "ERR a fencing token is minted only from the log";
        return -1;
    }
    if (c->log_command >= ENTRY_COMMANDS_MAX || *c->tokens_minted >= TOKENS_PER_COMMAND_MAX) {
        *why = "ERR too many locks granted in one log entry";
        return -1;
    }
    if (c->log_index >= (1ull << 31)) {
        *why = "ERR the log is past the last fencing token";
        return -1;
    }
    uint32_t n = (*c->tokens_minted)++;
    return (long long)((c->log_index << 32) | ((uint64_t)c->log_command << 12) | n);
}

static void renew(struct cmd_ctx *c, struct dict_entry *e, long long ttl)
{
    store_set_expire(c->store, c->db, e, c->now_ms + ttl);
    store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
    ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
}

/* ---------------------------------------------------------------------
 * The line
 * ------------------------------------------------------------------- */

struct waiter {
    const char *holder;
    uint32_t len;
    uint64_t ttl;
    uint64_t deadline; /* the leader's clock; 0: none */
};

static bool line_next(struct reader *r, struct waiter *w)
{
    return reader_left(r) > 0 && reader_u32(r, &w->len) == 0 &&
           reader_bytes(r, w->len, &w->holder) == 0 && reader_u64(r, &w->ttl) == 0 &&
           reader_u64(r, &w->deadline) == 0;
}

static void line_put(struct buf *b, const struct waiter *w)
{
    buf_append_u32(b, w->len);
    buf_append(b, w->holder, w->len);
    buf_append_u64(b, w->ttl);
    buf_append_u64(b, w->deadline);
}

/* A copy of the line (empty without one): the hash changes as it is read. */
static void line_copy(struct sobj *o, struct buf *out)
{
    struct hash_str v;
    if (hash_get(o, LINE_FIELD, &v)) buf_append(out, v.p, v.len);
}

static void line_store(struct sobj *o, const struct buf *line)
{
    if (line->len) hash_set(o, LINE_FIELD, line->data, line->len);
    else hash_delete(o, LINE_FIELD);
}

/* Puts holder at the end of the line unless it is in it already; false
 * with an error replied if the line is full. */
static bool line_join(struct cmd_ctx *c, struct sobj *o, const struct resp_arg *holder,
                      long long ttl, long long wait_ms)
{
    struct buf line = BUF_INIT;
    line_copy(o, &line);
    struct reader r;
    reader_init(&r, line.data, line.len);
    struct waiter w;
    size_t n = 0;
    bool in = false;
    while (!in && line_next(&r, &w)) {
        in = w.len == holder->len && memcmp(w.holder, holder->ptr, w.len) == 0;
        n++;
    }
    bool ok = in || n < HOLD_LINE_MAX;
    if (!ok) {
        resp_errorf(&c->out, "ERR too many clients wait in this line (%d)", HOLD_LINE_MAX);
    } else if (!in) {
        uint64_t deadline = wait_ms > 0 && wait_ms <= HOLD_TTL_MAX_MS ? (uint64_t)(c->now_ms + wait_ms) : 0;
        line_put(&line, &(struct waiter){holder->ptr, (uint32_t)holder->len, (uint64_t)ttl, deadline});
        line_store(o, &line);
    }
    buf_free(&line);
    return ok;
}

/* Takes holder out of the line, if it is in it. */
static void line_leave(struct sobj *o, const struct resp_arg *holder)
{
    struct buf line = BUF_INIT, kept = BUF_INIT;
    line_copy(o, &line);
    struct reader r;
    reader_init(&r, line.data, line.len);
    struct waiter w;
    bool left = false;
    while (line_next(&r, &w)) {
        if (!left && w.len == holder->len && memcmp(w.holder, holder->ptr, w.len) == 0) left = true;
        else line_put(&kept, &w);
    }
    if (left) line_store(o, &kept);
    buf_free(&line);
    buf_free(&kept);
}

/* Gives the hold at e (key in db), which its holder has left, to the
 * first waiter of its line whose deadline has not passed, with a new token
 * and TTL; false if there is none, or no token can be minted in this
 * command: the caller frees it. */
static bool pass_on(struct cmd_ctx *c, const struct hold_kind *k, int db, const char *key, size_t klen,
                    struct dict_entry *e)
{
    struct sobj *o = store_value(e);
    struct buf line = BUF_INIT, rest = BUF_INIT;
    line_copy(o, &line);
    struct reader r;
    reader_init(&r, line.data, line.len);
    struct waiter w;
    bool found = false;
    while (!found && line_next(&r, &w)) found = w.deadline == 0 || (int64_t)w.deadline > c->now_ms;
    const char *why;
    long long token = found ? mint(c, &why) : -1;
    if (token >= 0) {
        buf_append(&rest, (const char *)r.p, reader_left(&r));
        char t[32];
        int n = snprintf(t, sizeof t, "%lld", token);
        hash_set(o, k->holder, k->holder_len, w.holder, w.len);
        hash_set(o, "token", 5, t, (size_t)n);
        hash_set(o, PENDING_FIELD, "1", 1);
        line_store(o, &rest);
        store_set_expire(c->store, db, e, c->now_ms + (int64_t)w.ttl);
        store_touch(c->store, db, key, klen);
        store_notify(c->store, db, NOTIFY_HASH, "hset", key, klen);
        store_notify(c->store, db, NOTIFY_GENERIC, "expire", key, klen);
        if (k->announce) k->announce(c->store, key, klen, "leader", token, w.holder, w.len);
    }
    buf_free(&line);
    buf_free(&rest);
    return token >= 0;
}

/* Its holder left the hold at argv[1] (e): announced as `what`, then
 * passed on, or freed. */
static void give_up(struct cmd_ctx *c, const struct hold_kind *k, struct dict_entry *e, const char *what)
{
    const struct resp_arg *key = &c->argv[1];
    struct hold h;
    if (k->announce && hold_is(store_value(e), k, &h))
        k->announce(c->store, key->ptr, key->len, what, h.token, h.holder.p, h.holder.len);
    if (pass_on(c, k, c->db, key->ptr, key->len, e)) return;
    store_delete(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_GENERIC, "del", key);
}

/* The store's hook for keys it removes by itself: a hold whose TTL ran
 * out, or that maxmemory evicted, is announced; one that expired passes to
 * the first of its line as part of the command that found it expired
 * (true: the key stays). */
static bool on_reclaimed(struct store *s, int db, const char *key, size_t klen, struct dict_entry *e,
                         const char *why)
{
    struct hold h;
    const struct hold_kind *k = kind_of(store_value(e), &h);
    if (k == NULL) return false;
    if (k->announce) k->announce(s, key, klen, why, h.token, h.holder.p, h.holder.len);
    struct cmd_ctx *c = cmd_running();
    return strcmp(why, "expired") == 0 && c != NULL && c->apply && c->store == s &&
           pass_on(c, k, db, key, klen, e);
}

void hold_init(void) { store_set_reclaimed_hook(on_reclaimed); }

/* ---------------------------------------------------------------------
 * The commands' bodies
 * ------------------------------------------------------------------- */

void hold_acquire_cmd(struct cmd_ctx *c, const struct hold_kind *k)
{
    long long ttl, wait_ms;
    if (!ttl_or_reply(c, &c->argv[3], &ttl) || !wait_or_reply(c, &wait_ms)) return;
    const struct resp_arg *key = &c->argv[1], *holder = &c->argv[2];
    if (holder->len > UINT32_MAX) {
        resp_error(&c->out, "ERR the holder's name is longer than 4 GB");
        return;
    }
    struct dict_entry *e;
    struct hold h;
    int held = hold_read(c, k, key, &e, &h);
    if (held < 0) return;
    if (held && same(&h.holder, holder)) {
        /* Its own, or passed to it from the line: claimed now. */
        hash_delete(store_value(e), PENDING_FIELD);
        renew(c, e, ttl);
        resp_int(&c->out, h.token);
        return;
    }
    if (held) {
        if (wait_ms < 0 || c->no_block) resp_null(&c->out);
        else if (line_join(c, store_value(e), holder, ttl, wait_ms)) c->blocked = true;
        return;
    }
    const char *why;
    long long token = mint(c, &why);
    if (token < 0) {
        resp_error(&c->out, why);
        return;
    }
    struct sobj *o = hash_new();
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", token);
    hash_set(o, k->holder, k->holder_len, holder->ptr, holder->len);
    hash_set(o, "token", 5, t, (size_t)n);
    e = store_set(c->store, c->db, key->ptr, key->len, o, false);
    store_set_expire(c->store, c->db, e, c->now_ms + ttl);
    ctx_notify(c, NOTIFY_HASH, "hset", key);
    ctx_notify(c, NOTIFY_GENERIC, "expire", key);
    if (k->announce) k->announce(c->store, key->ptr, key->len, "leader", token, holder->ptr, holder->len);
    resp_int(&c->out, token);
}

void hold_release_cmd(struct cmd_ctx *c, const struct hold_kind *k)
{
    struct dict_entry *e;
    int is = hold_by_token(c, k, &e);
    if (is < 0) return;
    if (is) give_up(c, k, e, "resigned");
    resp_int(&c->out, is);
}

void hold_refresh_cmd(struct cmd_ctx *c, const struct hold_kind *k)
{
    long long ttl;
    if (!ttl_or_reply(c, &c->argv[3], &ttl)) return;
    struct dict_entry *e;
    int is = hold_by_token(c, k, &e);
    if (is < 0) return;
    if (is) renew(c, e, ttl);
    resp_int(&c->out, is);
}

void hold_holder_cmd(struct cmd_ctx *c, const struct hold_kind *k, bool with_ttl)
{
    struct dict_entry *e;
    struct hold h;
    int held = hold_read(c, k, &c->argv[1], &e, &h);
    if (held < 0) return;
    if (held == 0) {
        resp_null_array(&c->out);
        return;
    }
    resp_array(&c->out, with_ttl ? 3 : 2);
    resp_bulk(&c->out, h.holder.p, h.holder.len);
    resp_int(&c->out, h.token);
    if (with_ttl) {
        int64_t when = store_expire_of(c->store, c->db, e);
        resp_int(&c->out, when == STORE_NO_EXPIRE ? -1 : (long long)(when - c->now_ms));
    }
}

/* __holdcancel key holder [token]: sent by the node of a waiter that left
 * unserved (timed out, unblocked, disconnected): takes it out of the line,
 * and gives up the hold if it was passed to it and not claimed, or (with
 * the token) if a retry claimed it for a client that has gone. */
static void cmd_internal_holdcancel(struct cmd_ctx *c)
{
    long long token = -1;
    if (c->argc > 4 || (c->argc == 4 && !arg_to_ll(&c->argv[3], &token))) {
        resp_error(&c->out, "ERR malformed __holdcancel");
        return;
    }
    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    struct hold h;
    const struct hold_kind *k = e ? kind_of(store_value(e), &h) : NULL;
    if (k != NULL) {
        struct sobj *o = store_value(e);
        bool holds = same(&h.holder, &c->argv[2]);
        bool leave = c->argc == 4 ? holds && h.token == token : holds && hash_exists(o, PENDING_FIELD);
        line_leave(o, &c->argv[2]);
        if (leave) give_up(c, k, e, "resigned");
    }
    resp_ok(&c->out);
}

const struct cmd_def cmd_rows_hold[] = {
    {"__holdcancel", -3, CMD_WRITE | CMD_INTERNAL | CMD_FOR_CLIENT, 0, 0, 0, 0, cmd_internal_holdcancel,
     "lock", "parley-0.1", "Takes a waiter that left out of a lock's or election's line (sent by the server).",
     "O(N) with N the waiters", NULL, NULL, NULL},
    CMD_ROWS_END,
};
