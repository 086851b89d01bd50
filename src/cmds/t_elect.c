/* cmds/t_elect.c — leader election for applications: ELECT.CAMPAIGN,
 * ELECT.LEADER, ELECT.RESIGN and ELECT.REFRESH.
 *
 * An election is a hold (cmds/hold.c) whose holder field is `candidate`:
 * the key names the election, its TTL is the leader's lease, candidates
 * that WAIT stand in its line, and the leader's token is a fencing token
 * like a lock's (LOCK.FENCED does not take it: a leader fences its writes
 * with a lock of its own, or checks its token). Every change of leader is
 * published on the channel __elect__:<election> where it is applied, on
 * every node, so a subscriber on any node hears each one, in log order:
 *     leader <token> <candidate>     a candidate won
 *     resigned <token> <candidate>   the leader resigned
 *     expired <token> <candidate>    the leader's TTL ran out (the
 *                                    leader's clock, as key expiry)
 *     evicted <token> <candidate>    maxmemory evicted the election (a
 *                                    volatile-* or allkeys-* policy)
 * (a leader that resigns or expires with candidates in line is followed at
 * once by the next: `leader <token> <candidate>`). */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cmds/hold.h"
#include "cmds/notify.h"

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

const struct hold_kind ELECTION_HOLD = {"candidate", 9, announce};

/* ELECT.CAMPAIGN election candidate ttl-ms [WAIT ms]: the token once the
 * candidate leads (the same one, renewed, if it already does), nil while
 * another candidate leads (with WAIT: once it can lead, in line, or nil
 * after ms; 0: no limit). */
static void cmd_elect_campaign(struct cmd_ctx *c) { hold_acquire_cmd(c, &ELECTION_HOLD); }

/* ELECT.LEADER election: [candidate, token], or nil. */
static void cmd_elect_leader(struct cmd_ctx *c) { hold_holder_cmd(c, &ELECTION_HOLD, false); }

/* ELECT.RESIGN election token: 1 if the token led (now nobody does, or
 * the next in line). */
static void cmd_elect_resign(struct cmd_ctx *c) { hold_release_cmd(c, &ELECTION_HOLD); }

/* ELECT.REFRESH election token ttl-ms: 1 if the token leads (lease renewed). */
static void cmd_elect_refresh(struct cmd_ctx *c) { hold_refresh_cmd(c, &ELECTION_HOLD); }

#define ROW(n, ar, fl, acl, ex, sum, blk, ...) \
    {n, ar, fl, 1, 1, 1, acl, ex, "lock", "parley-0.1", sum, "O(1)", NULL, "" __VA_ARGS__, blk}
#define WRITE_FLAGS (CMD_WRITE | CMD_FAST | CMD_NOSCRIPT)

const struct cmd_def cmd_rows_elect[] = {
    ROW("elect.campaign", -4, WRITE_FLAGS | CMD_DENYOOM | CMD_BLOCKING,
        ACL_WRITE | ACL_KEYSPACE | ACL_FAST | ACL_BLOCKING,
        cmd_elect_campaign, "Makes a candidate the leader of an election unless another leads; answers its fencing token",
        hold_block_shape, "RW access update"),
    ROW("elect.leader", 2, CMD_READONLY | CMD_FAST | CMD_NOSCRIPT,
        ACL_READ | ACL_KEYSPACE | ACL_FAST, cmd_elect_leader, "Returns an election's leader and token, or nil", NULL, "RO access"),
    ROW("elect.resign", 3, WRITE_FLAGS, ACL_WRITE | ACL_KEYSPACE | ACL_FAST, cmd_elect_resign,
        "Ends the leadership the token holds", NULL, "RW access update"),
    ROW("elect.refresh", 4, WRITE_FLAGS, ACL_WRITE | ACL_KEYSPACE | ACL_FAST, cmd_elect_refresh,
        "Renews the leader's lease if the token leads", NULL, "RW access update"),
    CMD_ROWS_END,
};
