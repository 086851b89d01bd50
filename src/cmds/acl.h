/* cmds/acl.h — ACL users' rules and permission checks, as Redis 7.0 has
 * them.
 *
 * The users are replicated state (store/acl.h keeps each one's rules as
 * a blob); this module says what is in the blob and what a user may do.
 * A blob is the user's description as ACL LIST gives it, one rule per
 * item (u32 length + bytes): on|off, nopass, [skip-]sanitize-payload, #<sha256> per password, key
 * patterns (~p, %R~p, %W~p), channel patterns (&p, or resetchannels),
 * then the command rules as Redis 7.0 writes them from the user's bits:
 * +@all or -@all, the categories that fit best, then single commands
 * (blobs of older builds hold the rules as given: they compile the same
 * way). Passwords
 * are hashed before they are proposed (acl_hash_passwords), so the log
 * never holds one in clear.
 *
 * Everything here depends only on the store's users and its arguments,
 * so a check made while applying (a script's redis.call) answers the same
 * on every node. Compiled users are cached per process, by the users'
 * version. */
#ifndef PARLEY_CMDS_ACL_H
#define PARLEY_CMDS_ACL_H

#include "base/buf.h"
#include "cmds/cmd.h"

enum acl_verdict {
    ACL_ALLOWED = 0,
    ACL_DENIED_CMD,
    ACL_DENIED_KEY,
    ACL_DENIED_CHANNEL,
    ACL_DENIED_USER, /* no such user (deleted meanwhile) */
};

/* Whether user (name, of this store) may run cmd (resolved: the
 * subcommand's row for a container) with these arguments. On a key or
 * channel denial, *bad_arg is the index of the argument refused. */
enum acl_verdict acl_check(struct store *s, const char *user, size_t ulen,
                           const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                           int *bad_arg);
/* Whether the user exists, is on, and password is one of its passwords
 * (or it has nopass). */
bool acl_password_ok(struct store *s, const char *user, size_t ulen, const char *pass,
                     size_t plen);
/* Whether the user exists and has a password of this SHA-256 (hex). */
bool acl_user_has_hash(struct store *s, const char *user, size_t ulen, const char *hex);
/* Whether the user exists and is on. */
bool acl_user_on(struct store *s, const char *user, size_t ulen);
/* Whether the user exists, is on and has nopass (a new connection is
 * logged in as "default" when it has). */
bool acl_user_nopass(struct store *s, const char *user, size_t ulen);
/* Whether the user may run everything on every key and channel (then a
 * script needs no checks while it runs). */
bool acl_user_unrestricted(struct store *s, const char *user, size_t ulen);
/* Whether the user may still use each of these channels (kind 'c'
 * channel, 'p' pattern, 's' shard channel), for the re-check of a
 * subscribed client after its user changed. */
bool acl_channel_ok(struct store *s, const char *user, size_t ulen, char kind, const char *name,
                    size_t nlen);

/* EXEC re-checks each queued command as Redis does, when the transaction
 * runs with a user (__asuser <user> __exec ...: c->acl_user): false if
 * the user may run it (or it needs no permission: __ok, __reply);
 * otherwise writes Redis's NOPERM "ACLs rules changed ..." reply into
 * c->out, reports the refusal to the store's on_acl_denied (client: the
 * sender's client id, for its ACL LOG) and returns true. */
bool acl_exec_refuse(struct cmd_ctx *c, uint64_t client, const struct cmd_def *d, int argc,
                     const struct resp_arg *argv);

/* ACL SETUSER's rules checked before they are proposed: replies Redis's
 * error and returns false for a rule no user could take; otherwise
 * returns the rules with >pass and <pass turned into #hash and !hash, in
 * out (argument bytes, u32 length + bytes each, as acl_rules_next reads
 * them). */
bool acl_hash_passwords(int n, const struct resp_arg *rules, struct buf *out, char *err,
                        size_t errlen);
/* Those rules (acl_hash_passwords's out) applied in turn to the user as
 * this node has it now: -1 if they all apply, else the index of the
 * first that does not and Redis's reason in *why (removing a password
 * the user lacks, a key pattern after allkeys). Apply checks them again,
 * against the user as it is then. */
int acl_setuser_check(struct store *s, const char *name, size_t nlen, const struct buf *items,
                      const char **why);
/* The next item of such a list (u32 length + bytes); false at the end. */
bool acl_rules_next(const char **p, const char *end, const char **item, size_t *len);

/* SHA-256 of p as 64 lower-case hex digits and a NUL. */
void acl_sha256_hex(const char *p, size_t len, char out[65]);

#endif
