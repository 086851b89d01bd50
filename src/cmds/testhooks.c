/* cmds/testhooks.c — commands that exist only in test builds.
 *
 * Compiled in with -DPARLEY_TEST_HOOKS (the Makefile's sanitizer build
 * defines it; release builds have none of this), for tests that must make
 * a node misbehave on purpose:
 *
 *   PARLEY.TEST CORRUPT <key> <value>
 *       sets the key on this node only, without the log (a local command):
 *       this replica now differs from the others, as after a bug or a
 *       flipped bit (tests/integration/test_divergence.py).
 *   PARLEY.TEST CRASH-APPLY
 *       goes through the log like any write, and kills the process with
 *       SIGSEGV when it is applied, on every node, again on every restart:
 *       a poisoned entry (tests/integration/test_poisoned_entry.py).
 *   PARLEY.TEST NEWEST <key> <value>
 *       sets the key through the log, like SET, but its row needs this
 *       build's protocol version (PROTOCOL_BUILD): refused until the
 *       cluster's active version reaches it (tests/integration/
 *       test_versions.py, with nodes that claim an older version).
 *   PARLEY.TEST FUTURE
 *       a write of a protocol version no build has yet: always refused.
 *
 * A test finds out whether the server has them by sending one: a release
 * build answers "unknown command". */
#ifdef PARLEY_TEST_HOOKS

#include <signal.h>

#include "cmds/cmd.h"

static void cmd_test_corrupt(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[2], *value = &c->argv[3];
    store_set(c->store, c->db, key->ptr, key->len, sobj_string(value->ptr, value->len), false);
    resp_ok(&c->out);
}

static void cmd_test_crash_apply(struct cmd_ctx *c)
{
    if (c->apply) raise(SIGSEGV);
    resp_ok(&c->out);
}

static void cmd_test_newest(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[2], *value = &c->argv[3];
    store_set(c->store, c->db, key->ptr, key->len, sobj_string(value->ptr, value->len), false);
    resp_ok(&c->out);
}

static const struct cmd_def test_subs[] = {
    {"parley.test|corrupt", 4, CMD_LOCAL | CMD_ADMIN, 2, 2, 1, ACL_ADMIN | ACL_DANGEROUS,
     cmd_test_corrupt, "server", "parley-test",
     "Sets a key on this node only, outside the log (test builds).", "O(1)", NULL, "OW update", NULL},
    {"parley.test|crash-apply", 2, CMD_WRITE | CMD_ADMIN, 0, 0, 0, ACL_ADMIN | ACL_DANGEROUS,
     cmd_test_crash_apply, "server", "parley-test",
     "Crashes every node that applies it (test builds).", "O(1)", NULL, NULL, NULL},
    {"parley.test|newest", 4, CMD_WRITE | CMD_ADMIN | CMD_PROTOCOL(PROTOCOL_BUILD), 2, 2, 1,
     ACL_ADMIN | ACL_DANGEROUS,
     cmd_test_newest, "server", "parley-test",
     "Sets a key through the log; needs this build's protocol version (test builds).", "O(1)",
     NULL, "OW update", NULL},
    {"parley.test|future", 2, CMD_WRITE | CMD_ADMIN | CMD_PROTOCOL(PROTOCOL_BUILD + 1), 0, 0, 0,
     ACL_ADMIN | ACL_DANGEROUS,
     cmd_test_crash_apply, "server", "parley-test",
     "A write of a protocol version no build has (test builds).", "O(1)", NULL, NULL, NULL},
    CMD_ROWS_END,
};

const struct cmd_def cmd_rows_testhooks[] = {
    {"parley.test", -2, CMD_CONTAINER | CMD_ADMIN, 0, 0, 0, ACL_ADMIN | ACL_DANGEROUS, NULL,
     "server", "parley-test", "Makes this node misbehave on purpose (test builds only).",
     "Depends on subcommand.", test_subs, NULL, NULL},
    CMD_ROWS_END,
};

#endif
