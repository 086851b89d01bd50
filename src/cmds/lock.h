/* cmds/lock.h — what LOCK.* (t_lock.c) and ELECT.* (t_elect.c) share: a
 * holder and a fencing token kept in a key (a hash of two fields, the
 * key's TTL the hold's), and the minting of tokens from the log. */
#ifndef PARLEY_CMDS_LOCK_H
#define PARLEY_CMDS_LOCK_H

#include "cmds/cmd.h"
#include "store/hash.h"

/* The field that names the holder: "owner" (a lock), "candidate" (an
 * election); the other field is "token". */
struct hold_kind {
    const char *holder;
    size_t holder_len;
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
/* Whether the value is a hold of kind k (an expiring key's value). */
bool hold_is(struct sobj *o, const struct hold_kind *k, struct hold *h);
/* argv[1] held by the token argv[2]: 1 (e set), 0, -1 (an error replied). */
int hold_by_token(struct cmd_ctx *c, const struct hold_kind *k, struct dict_entry **e);
/* A TTL argument, 1 ms to about 2,200 years, or an error replied. */
bool hold_ttl_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *ttl);
/* Grant argv[1] to the holder argv[2] for ttl ms: 1 granted anew (*token
 * set), 2 renewed for the same holder (*token set), 0 held by another
 * (nothing replied), -1 an error replied. */
int hold_acquire(struct cmd_ctx *c, const struct hold_kind *k, long long ttl, long long *token);
/* The optional "WAIT <ms>" after the TTL (argv[4], argv[5]): false with an
 * error replied; *wait false without it. With it, a hold another holder
 * has keeps the client waiting (c->blocked, server/blocking.c) unless it
 * cannot wait (MULTI): then, as without it, nil. */
bool hold_wait_or_reply(struct cmd_ctx *c, bool *wait);
/* LOCK.ACQUIRE's and ELECT.CAMPAIGN's block shape: a call waits with
 * WAIT <ms>, on its key. */
bool hold_block_shape(int argc, const struct resp_arg *argv, struct block_shape *sh);
/* The answer while another holder has it: nil, or wait. */
void hold_taken(struct cmd_ctx *c, bool wait);
/* The TTL of an existing hold renewed (REFRESH). */
void hold_renew(struct cmd_ctx *c, struct dict_entry *e, long long ttl);
/* The whole of LOCK.RELEASE / ELECT.RESIGN (key token): deletes the hold
 * if the token holds it, calling before(c, hold) first when given; replies
 * 1 or 0. */
void hold_release_cmd(struct cmd_ctx *c, const struct hold_kind *k,
                      void (*before)(struct cmd_ctx *c, const struct hold *h));
/* The whole of LOCK.REFRESH / ELECT.REFRESH (key token ttl-ms): renews the
 * hold's TTL if the token holds it; replies 1 or 0. */
void hold_refresh_cmd(struct cmd_ctx *c, const struct hold_kind *k);

#endif
