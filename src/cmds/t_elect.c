/* cmds/t_elect.c — leader election for applications: ELECT.CAMPAIGN,
 * ELECT.LEADER, ELECT.RESIGN and ELECT.REFRESH.
 *
 * An election is a hold (lock.h) whose holder field is `candidate`: the
 * key names the election, its TTL is the leader's lease, and the leader's
 * token is a fencing token like a lock's (LOCK.FENCED does not take it:
 * a leader fences its writes with a lock of its own, or checks its token).
 * Every change of leader is published on the channel __elect__:<election>
 * where it is applied, on every node, so a subscriber on any node hears
 * each one, in log order:
 *     leader <token> <candidate>     a candidate won
 *     resigned <token> <candidate>   the leader resigned
 *     expired <token> <candidate>    the leader's TTL ran out (the
 *                                    leader's clock, as key expiry)
 *     evicted <token> <candidate>    maxmemory evicted the election (a
 *                                    volatile-* or allkeys-* policy) */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cmds/lock.h"
#include "cmds/notify.h"
#include "store/object.h"

static void announce(struct store *s, const char *key, size_t klen, const char *what,
                     long long token, const char *candidate, size_t clen)
{
    struct buf ch = BUF_INIT, msg = BUF_INIT;
    buf_append_str(&ch, "__elect__:");
    buf_append(&ch, key, klen);
    buf_printf(&msg, "%s %lld ", what, token);
    buf_append(&msg, candidate, clen);
    pubsub_publish(s, ch.data, ch.len, msg.data, msg.len);
    buf_free(&ch);
    buf_free(&msg);
}

/* The store's reclaimed-key hook: an election whose leader's TTL ran out,
 * or that maxmemory evicted. */
static void on_reclaimed(struct store *s, int db, const char *key, size_t klen,
                         struct sobj *value, const char *why)
{
    struct hold h;
    if (hold_is(value, &ELECTION_HOLD, &h))
        announce(s, key, klen, why, h.token, h.holder.p, h.holder.len);
}

void elect_init(void) { store_set_reclaimed_hook(on_reclaimed); }

/* ELECT.CAMPAIGN election candidate ttl-ms [WAIT ms]: the token once the
 * candidate leads (the same one, renewed, if it already does), nil while
 * another candidate leads (with WAIT: once it can lead, in line, or nil
 * after ms; 0: no limit). */
static void cmd_elect_campaign(struct cmd_ctx *c)
{
    long long ttl, token;
    bool wait;
    if (!hold_ttl_or_reply(c, &c->argv[3], &ttl) || !hold_wait_or_reply(c, &wait)) return;
    int got = hold_acquire(c, &ELECTION_HOLD, ttl, &token);
    if (got == 0) {
        hold_taken(c, wait);
        return;
    }
    if (got < 0) return;
    if (got == 1)
        announce(c->store, c->argv[1].ptr, c->argv[1].len, "leader", token, c->argv[2].ptr, c->argv[2].len);
    resp_int(&c->out, token);
}

/* ELECT.LEADER election: [candidate, token], or nil. */
static void cmd_elect_leader(struct cmd_ctx *c)
{
    struct dict_entry *e;
    struct hold h;
    int held = hold_read(c, &ELECTION_HOLD, &c->argv[1], &e, &h);
    if (held < 0) return;
    if (held == 0) {
        resp_null_array(&c->out);
        return;
    }
    resp_array(&c->out, 2);
    resp_bulk(&c->out, h.holder.p, h.holder.len);
    resp_int(&c->out, h.token);
}

static void announce_resigned(struct cmd_ctx *c, const struct hold *h)
{
    announce(c->store, c->argv[1].ptr, c->argv[1].len, "resigned", h->token, h->holder.p,
             h->holder.len);
}

/* ELECT.RESIGN election token: 1 if the token led (now nobody does). */
static void cmd_elect_resign(struct cmd_ctx *c) { hold_release_cmd(c, &ELECTION_HOLD, announce_resigned); }

/* ELECT.REFRESH election token ttl-ms: 1 if the token leads (lease renewed). */
static void cmd_elect_refresh(struct cmd_ctx *c) { hold_refresh_cmd(c, &ELECTION_HOLD); }

#define ROW(n, ar, fl, acl, ex, sum, blk) \
    {n, ar, fl, 1, 1, 1, acl, ex, "lock", "parley-0.1", sum, "O(1)", NULL, "", blk}
#define WRITE_FLAGS (CMD_WRITE | CMD_FAST | CMD_NOSCRIPT | CMD_KEY_ACCESS | CMD_KEY_MODIFY)

const struct cmd_def cmd_rows_elect[] = {
    ROW("elect.campaign", -4, WRITE_FLAGS | CMD_DENYOOM | CMD_BLOCKING,
        ACL_WRITE | ACL_KEYSPACE | ACL_FAST | ACL_BLOCKING,
        cmd_elect_campaign, "Makes a candidate the leader of an election unless another leads; answers its fencing token",
        hold_block_shape),
    ROW("elect.leader", 2, CMD_READONLY | CMD_FAST | CMD_NOSCRIPT | CMD_KEY_ACCESS,
        ACL_READ | ACL_KEYSPACE | ACL_FAST, cmd_elect_leader, "Returns an election's leader and token, or nil", NULL),
    ROW("elect.resign", 3, WRITE_FLAGS, ACL_WRITE | ACL_KEYSPACE | ACL_FAST, cmd_elect_resign,
        "Ends the leadership the token holds", NULL),
    ROW("elect.refresh", 4, WRITE_FLAGS, ACL_WRITE | ACL_KEYSPACE | ACL_FAST, cmd_elect_refresh,
        "Renews the leader's lease if the token leads", NULL),
    CMD_ROWS_END,
};
