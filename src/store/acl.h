/* store/acl.h — ACL users, as replicated state.
 *
 * ACL SETUSER, DELUSER and LOAD are applied from the log on every node, so
 * every node holds the same users at the same log index: a user created
 * through one node logs in on any other once the entry is applied, and a
 * script's permissions (checked while applying) are the same everywhere.
 * A user is a name and its rules, kept as an opaque blob (cmds/acl.c says
 * what is in it: the user's description as ACL LIST gives it, passwords
 * already hashed). Users are listed in name order, as Redis lists them.
 * They are in snapshots and in the digest of the keyspace. There is
 * always a user "default"; a fresh store has it with all permissions and
 * no password, as a fresh Redis has. */
#ifndef PARLEY_STORE_ACL_H
#define PARLEY_STORE_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct acl_user_rec {
    char *name;
    size_t nlen;
    char *rules;
    size_t rlen;
};

struct acl_users {
    struct acl_user_rec *v; /* sorted by name (bytes) */
    size_t n, cap;
    uint64_t version; /* changes with every change (this process's count) */
};

/* The default user's rules in a fresh store: on nopass ~* &* +@all. */
extern const char *const acl_default_rules;
extern const size_t acl_default_rules_len;

void acl_users_init(struct acl_users *u); /* just "default", as in a fresh store */
void acl_users_free(struct acl_users *u);
const struct acl_user_rec *acl_users_find(const struct acl_users *u, const char *name, size_t nlen);
void acl_users_set(struct acl_users *u, const char *name, size_t nlen, const char *rules,
                   size_t rlen);
bool acl_users_delete(struct acl_users *u, const char *name, size_t nlen);
/* Only the default user, with its fresh rules (the snapshot leaves the
 * section out). */
bool acl_users_initial(const struct acl_users *u);
uint64_t acl_users_digest(const struct acl_users *u);
void acl_users_encode(const struct acl_users *u, struct buf *out);
int acl_users_decode(struct acl_users *u, struct reader *r);

#endif
