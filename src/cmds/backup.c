/* cmds/backup.c — __restore: a chunk of a backup's keys, as the log
 * carries them into a cluster started with --restore (server/restore.c).
 *
 *   __restore <records>     (in the command's database)
 *
 * <records> is one or more keys in the snapshot's record encoding
 * (store/snapshot.h: type, encoding, expiry, name, value). The restoring
 * node decoded the whole file before it proposed anything, so every chunk
 * is well formed; apply checks it again all or nothing (decodes every
 * record before it changes a key), so a chunk no node could have proposed
 * changes nothing and is answered with an error on every node alike. A key
 * that exists is replaced; a key whose expiry is at or before the entry's
 * time is not created. Bounded: the chunk's bytes bound what it decodes.
 *
 *   __restorelib <name> <code>
 *
 * A FUNCTION library of the backup, set (or replaced) as a snapshot's
 * load sets it: the code as it is, which cmds/function.c compiles on each
 * node when it next needs the libraries (as after a snapshot). */
#include <stdlib.h>

#include "base/buf.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "store/scripts.h"
#include "store/snapshot.h"

static void cmd_internal_restore(struct cmd_ctx *c)
{
    struct reader r;
    reader_init(&r, c->argv[1].ptr, c->argv[1].len);
    size_t n = 0, cap = 0;
    struct snapshot_key *keys = NULL;
    bool ok = reader_left(&r) > 0;
    while (ok && reader_left(&r) > 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            keys = xrealloc(keys, cap * sizeof *keys);
        }
        ok = store_snapshot_decode_key(&r, &keys[n]) == 0;
        if (ok) n++;
    }
    if (!ok) {
        for (size_t i = 0; i < n; i++) sobj_free(keys[i].val);
        free(keys);
        resp_error(&c->out, "ERR malformed __restore");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct snapshot_key *k = &keys[i];
        struct resp_arg name = {k->key, k->klen};
        bool deleted = store_delete(c->store, c->db, k->key, k->klen);
        if (k->expire_ms != STORE_NO_EXPIRE && k->expire_ms <= c->now_ms) {
            sobj_free(k->val);
            if (deleted) ctx_notify(c, NOTIFY_GENERIC, "del", &name);
            continue;
        }
        struct dict_entry *e = store_set(c->store, c->db, k->key, k->klen, k->val, false);
        if (k->expire_ms != STORE_NO_EXPIRE) store_set_expire(c->store, c->db, e, k->expire_ms);
        ctx_notify(c, NOTIFY_GENERIC, "restore", &name);
    }
    free(keys);
    resp_ok(&c->out);
}

static void cmd_internal_restorelib(struct cmd_ctx *c)
{
    scripts_set_library(&c->store->scripts, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                        c->argv[2].len);
    resp_ok(&c->out);
}

const struct cmd_def cmd_rows_backup[] = {
    {"__restore", 2, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE, 0, 0, 0, 0, cmd_internal_restore,
     "internal", "parley-0.1", "Keys of a backup restored with --restore (sent by the server).",
     "O(N)", NULL, NULL, NULL},
    {"__restorelib", 3, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE, 0, 0, 0, 0,
     cmd_internal_restorelib, "internal", "parley-0.1",
     "A FUNCTION library of a backup restored with --restore (sent by the server).", "O(N)",
     NULL, NULL, NULL},
    CMD_ROWS_END,
};
