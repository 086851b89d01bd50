/* cmds/zset.h — the sorted-set pops, for the commands that block.
 *
 * ZPOPMIN, ZPOPMAX and ZMPOP (cmds/t_zset.c) are built on these functions;
 * BZPOPMIN, BZPOPMAX and BZMPOP reuse them on top of the blocking
 * framework: try to pop when the command arrives, and again each time a
 * watched key is touched, until one call pops or the timeout passes.
 *
 * Reply shapes follow Redis 7.0's genericZpopCommand. A popped element is
 * a bulk member and a double score (a bulk string in RESP2). */
#ifndef PARLEY_CMDS_ZSET_H
#define PARLEY_CMDS_ZSET_H

#include <stdbool.h>

#include "cmds/cmd.h"

enum zpop_shape {
    ZPOP_FLAT,       /* member, score, ...          ZPOPMIN/ZPOPMAX (RESP2, or no count) */
    ZPOP_NESTED,     /* [member, score], ...        ZPOPMIN/ZPOPMAX with a count, RESP3 */
    ZPOP_KEY_FLAT,   /* key, member, score          BZPOPMIN, BZPOPMAX */
    ZPOP_KEY_NESTED, /* key, [[member, score], ...] ZMPOP, BZMPOP */
};

/* Pops min(count, size) members (count >= 1) from the low end of the
 * sorted set at key, or the high end if max, and replies with them in the
 * given shape. The key is deleted when emptied; either way the change is
 * reported to the keyspace (WATCH, blocked clients).
 *
 * Returns true if it popped (and replied). Returns false with nothing
 * written when the key does not exist, or with *wrongtype set and the
 * WRONGTYPE error written when it holds another type. */
bool zset_pop_reply(struct cmd_ctx *c, const struct resp_arg *key, bool max, long long count,
                    enum zpop_shape shape, bool *wrongtype);

/* Redis's ZMPOP/BZMPOP rule over several keys: pops from the first key
 * that exists. Returns true if it wrote a reply (the pop, or WRONGTYPE for
 * a key of another type met first); false, with nothing written, when no
 * key exists (ZMPOP then replies a null array; BZMPOP blocks). */
bool zset_pop_first(struct cmd_ctx *c, const struct resp_arg *keys, long long numkeys, bool max,
                    long long count, enum zpop_shape shape);

/* Parses "numkeys key... MIN|MAX [COUNT count]" starting at argv[numkeys_idx]
 * (1 for ZMPOP, 2 for BZMPOP), with Redis's error replies. On success the
 * keys are argv[numkeys_idx + 1 ...], *count is 1 when not given. Returns
 * false after replying an error. */
bool zset_parse_mpop(struct cmd_ctx *c, int numkeys_idx, long long *numkeys, bool *max,
                     long long *count);

#endif
