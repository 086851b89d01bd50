/* cmds/hold.h — what LOCK.* (t_lock.c) and ELECT.* (t_elect.c) share
 * (hold.c): a holder and a fencing token kept in a key, the line of
 * clients waiting for it, and the minting of tokens from the log. */
#ifndef PARLEY_CMDS_HOLD_H
#define PARLEY_CMDS_HOLD_H

#include "cmds/cmd.h"
#include "store/hash.h"

/* Tells those who follow a hold of who has it (elections publish it; NULL
 * for locks): what is "leader", "resigned", "expired" or "evicted". */
typedef void hold_announce_fn(struct store *s, const char *key, size_t klen, const char *what,
                              long long token, const char *holder, size_t holder_len);

/* The field that names the holder: "owner" (a lock), "candidate" (an
 * election); the other is "token". */
struct hold_kind {
    const char *holder;
    size_t holder_len;
    hold_announce_fn *announce;
};
extern const struct hold_kind LOCK_HOLD, ELECTION_HOLD;

struct hold {
    struct hash_str holder; /* its p may point into its own tmp: keep it here */
    long long token;
};

/* The hold at key: 1 held (h filled in), 0 free, -1 the key holds
 * something else (WRONGTYPE replied). */
int hold_read(struct cmd_ctx *c, const struct hold_kind *k, const struct resp_arg *key,
              struct dict_entry **entry, struct hold *h);
/* Whether the value is a hold of kind k. */
bool hold_is(struct sobj *o, const struct hold_kind *k, struct hold *h);
/* argv[1] held by the token argv[2]: 1 (e set), 0, -1 (an error replied). */
int hold_by_token(struct cmd_ctx *c, const struct hold_kind *k, struct dict_entry **e);

/* The whole of LOCK.ACQUIRE / ELECT.CAMPAIGN (key holder ttl-ms [WAIT ms]):
 * the token of a new grant, or of the holder's own hold renewed; while
 * another holds it, nil, or with WAIT a place in its line and a client
 * that waits (c->blocked) until the line reaches it. */
void hold_acquire_cmd(struct cmd_ctx *c, const struct hold_kind *k);
/* The whole of LOCK.RELEASE / ELECT.RESIGN (key token): if the token holds
 * it, passes it to the first of its line, or frees it; replies 1 or 0. */
void hold_release_cmd(struct cmd_ctx *c, const struct hold_kind *k);
/* The whole of LOCK.REFRESH / ELECT.REFRESH (key token ttl-ms): renews the
 * hold's TTL if the token holds it; replies 1 or 0. */
void hold_refresh_cmd(struct cmd_ctx *c, const struct hold_kind *k);
/* The whole of LOCK.HOLDER / ELECT.LEADER (key): [holder, token] and, if
 * with_ttl, the remaining ms; nil when free. */
void hold_holder_cmd(struct cmd_ctx *c, const struct hold_kind *k, bool with_ttl);

/* LOCK.ACQUIRE's and ELECT.CAMPAIGN's block shape: a call waits with
 * WAIT <ms>, on its key, in the hold's line. */
bool hold_block_shape(int argc, const struct resp_arg *argv, struct block_shape *sh);

#endif
