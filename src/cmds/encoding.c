/* cmds/encoding.c — __setencoding: a change of the encoding thresholds
 * (store/encoding.h) as the log carries it.
 *
 *   __setencoding <name> <value> [<name> <value> ...]
 *
 * CONFIG SET of hash-max-listpack-entries and its kin (server/cmd_server.c)
 * checks the values with Redis's texts and proposes this, with the
 * settings' names and integer values; so does a node started with such
 * directives (server/encoding.c). It applies on every node at the
 * same log position, so every replica encodes alike from then on. It is
 * checked again here, all or nothing, so an entry no node could have
 * proposed (an unknown name, a value out of range) changes nothing and is
 * answered with an error on every node alike. */
#include <string.h>

#include "cmds/cmd.h"
#include "store/encoding.h"

static void cmd_internal_setencoding(struct cmd_ctx *c)
{
    if (c->argc % 2 == 0) {
        resp_error(&c->out, "ERR malformed __setencoding");
        return;
    }
    struct store_encoding next = c->store->enc;
    for (int i = 1; i < c->argc; i += 2) {
        const struct store_encoding_setting *s =
            store_encoding_find(c->argv[i].ptr, c->argv[i].len);
        long long v;
        if (s == NULL || !arg_to_ll(&c->argv[i + 1], &v) || v < s->min || v > s->max) {
            resp_error(&c->out, "ERR malformed __setencoding");
            return;
        }
        *store_encoding_field(&next, s) = v;
    }
    c->store->enc = next;
    resp_ok(&c->out);
}

const struct cmd_def cmd_rows_encoding[] = {
    {"__setencoding", -3, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE, 0, 0, 0, 0,
     cmd_internal_setencoding, "internal", "parley-0.1",
     "CONFIG SET of the encoding thresholds (sent by the server).", "O(N)", NULL, NULL, NULL},
    CMD_ROWS_END,
};
