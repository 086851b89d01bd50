/* cmds/keys.c — commands on keys of any type: existence, deletion,
 * renaming and copying, expiry, iteration (KEYS, SCAN, RANDOMKEY), OBJECT,
 * and whole-database commands (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, MOVE).
 * Semantics and error texts follow Redis 7.0's db.c and expire.c. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/cmd.h"
#include "cmds/exec.h"

/* DEL and UNLINK answer and delete alike; they differ in how this node
 * frees the values (store/lazyfree.h): UNLINK hands big ones to the free
 * thread, DEL does when lazyfree-lazy-user-del is yes. */
static void delete_generic(struct cmd_ctx *c, enum lazyfree_reason why)
{
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++) {
        if (ctx_lookup(c, &c->argv[j]) &&
            store_delete_for(c->store, c->db, c->argv[j].ptr, c->argv[j].len, why)) {
            deleted++;
            ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[j]);
        }
    }
    resp_int(&c->out, deleted);
}

void cmd_del(struct cmd_ctx *c) { delete_generic(c, LAZYFREE_USER_DEL); }
void cmd_unlink(struct cmd_ctx *c) { delete_generic(c, LAZYFREE_ALWAYS); }

static void count_existing(struct cmd_ctx *c, bool touch)
{
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (touch ? ctx_lookup(c, &c->argv[j]) : ctx_lookup_notouch(c, &c->argv[j])) n++;
    resp_int(&c->out, n);
}

void cmd_exists(struct cmd_ctx *c) { count_existing(c, false); }
void cmd_touch(struct cmd_ctx *c) { count_existing(c, true); }

void cmd_type(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup_notouch(c, &c->argv[1]);
    resp_simple(&c->out, e ? sobj_type_name(store_value(e)) : "none");
}

/* KEYS, SCAN and RANDOMKEY read the database's replicated key order
 * (store/keyspace.h), never its hash table: a script runs on every replica
 * and may write what they return. */
void cmd_keys(struct cmd_ctx *c)
{
    const struct resp_arg *pattern = &c->argv[1];
    bool all = pattern->len == 1 && pattern->ptr[0] == '*';
    size_t handle = resp_defer_len(&c->out);
    long long n = 0;
    for (uint64_t i = 0; i < store_db_size(c->store, c->db); i++) {
        const struct dict_entry *e = store_key_at(c->store, c->db, i);
        if (store_is_expired(c->store, c->db, e, c->now_ms)) continue;
        if (!all && !glob_match(pattern->ptr, pattern->len, e->key, e->klen, false)) continue;
        resp_bulk(&c->out, e->key, e->klen);
        n++;
    }
    resp_set_deferred_len(&c->out, handle, '*', n);
}

/* COUNT keys are visited per call, by index (cmd.h's scan_index_window);
 * expired keys and those MATCH or TYPE filter out are visited but not
 * returned, as Redis's SCAN filters after collecting. */
void cmd_scan(struct cmd_ctx *c)
{
    uint64_t cursor;
    if (!arg_to_cursor(&c->argv[1], &cursor)) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    long long count = 10;
    const struct resp_arg *pattern = NULL, *type = NULL;
    for (int j = 2; j < c->argc; j += 2) {
        if (j + 1 >= c->argc) {
            cmd_reply_syntax_error(c);
            return;
        }
        if (arg_is(&c->argv[j], "count")) {
            if (!arg_get_ll_or_reply(c, &c->argv[j + 1], &count)) return;
            if (count < 1) {
                cmd_reply_syntax_error(c);
                return;
            }
        } else if (arg_is(&c->argv[j], "match")) {
            pattern = &c->argv[j + 1];
        } else if (arg_is(&c->argv[j], "type")) {
            type = &c->argv[j + 1];
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    if (pattern && pattern->len == 1 && pattern->ptr[0] == '*') pattern = NULL;
    uint64_t top, bottom;
    scan_index_window(cursor, store_db_size(c->store, c->db), (uint64_t)count, &top, &bottom);
    reply_scan_cursor(c, bottom);
    size_t handle = resp_defer_len(&c->out);
    long long n = 0;
    for (uint64_t i = top; i-- > bottom;) {
        const struct dict_entry *e = store_key_at(c->store, c->db, i);
        if (store_is_expired(c->store, c->db, e, c->now_ms)) continue;
        if (pattern && !glob_match(pattern->ptr, pattern->len, e->key, e->klen, false)) continue;
        if (type && !arg_is(type, sobj_type_name(store_value(e)))) continue;
        resp_bulk(&c->out, e->key, e->klen);
        n++;
    }
    resp_set_deferred_len(&c->out, handle, '*', n);
}

void cmd_randomkey(struct cmd_ctx *c)
{
    /* Expired keys are skipped. Redis deletes those it meets and tries
     * again; a read cannot delete, so after a bounded number of random
     * tries (the database is then mostly keys whose deletion the leader
     * has yet to propose) the first live key in key order is taken, and
     * nil only when there is none. */
    for (int tries = 0; tries < 100; tries++) {
        struct dict_entry *e = store_random(c->store, c->db, &c->rng);
        if (e == NULL) {
            resp_null(&c->out);
            return;
        }
        if (store_is_expired(c->store, c->db, e, c->now_ms)) continue;
        resp_bulk(&c->out, e->key, e->klen);
        return;
    }
    for (uint64_t i = 0; i < store_db_size(c->store, c->db); i++) {
        const struct dict_entry *e = store_key_at(c->store, c->db, i);
        if (store_is_expired(c->store, c->db, e, c->now_ms)) continue;
        resp_bulk(&c->out, e->key, e->klen);
        return;
    }
    resp_null(&c->out);
}

static void rename_generic(struct cmd_ctx *c, bool nx)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    bool same = src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0;
    if (ctx_lookup(c, src) == NULL) {
        resp_error(&c->out, "ERR no such key");
        return;
    }
    if (same) {
        if (nx) resp_int(&c->out, 0);
        else resp_ok(&c->out);
        return;
    }
    bool replaced = ctx_lookup(c, dst) != NULL;
    if (replaced && nx) {
        resp_int(&c->out, 0);
        return;
    }
    /* Redis deletes the old destination and adds the key anew: a "new"
     * event even then (the store replaces it in place, and says nothing). */
    if (replaced) ctx_notify(c, NOTIFY_NEW, "new", dst);
    store_move(c->store, c->db, src->ptr, src->len, c->db, dst->ptr, dst->len);
    ctx_notify(c, NOTIFY_GENERIC, "rename_from", src);
    ctx_notify(c, NOTIFY_GENERIC, "rename_to", dst);
    if (nx) resp_int(&c->out, 1);
    else resp_ok(&c->out);
}

void cmd_rename(struct cmd_ctx *c) { rename_generic(c, false); }
void cmd_renamenx(struct cmd_ctx *c) { rename_generic(c, true); }

/* Redis's getIntFromObjectOrReply then selectDb, as MOVE and COPY use. */
static bool parse_db_index(struct cmd_ctx *c, const struct resp_arg *a, int *db)
{
    long long v;
    if (!arg_get_ll_or_reply(c, a, &v)) return false;
    if (v < INT_MIN || v > INT_MAX) {
        resp_errorf(&c->out, "ERR value is out of range, value must between %d and %d",
                    INT_MIN, INT_MAX);
        return false;
    }
    if (v < 0 || v >= STORE_DBS) {
        resp_error(&c->out, "ERR DB index is out of range");
        return false;
    }
    *db = (int)v;
    return true;
}

void cmd_copy(struct cmd_ctx *c)
{
    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    int dst_db = c->db;
    bool replace = false;
    for (int j = 3; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (arg_is(&c->argv[j], "replace")) {
            replace = true;
        } else if (arg_is(&c->argv[j], "db") && additional >= 1) {
            if (!parse_db_index(c, &c->argv[j + 1], &dst_db)) return;
            j++;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    if (dst_db == c->db && src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        resp_error(&c->out, "ERR source and destination objects are the same");
        return;
    }
    struct dict_entry *e = ctx_lookup(c, src);
    if (e == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    int64_t expire = store_expire_of(c->store, c->db, e);
    struct sobj *copy = sobj_dup(store_value(e));
    if (store_lookup(c->store, dst_db, dst->ptr, dst->len, c->now_ms, c->apply)) {
        if (!replace) {
            sobj_free(copy);
            resp_int(&c->out, 0);
            return;
        }
        /* As RENAME's: Redis deletes, then adds anew. */
        store_notify(c->store, dst_db, NOTIFY_NEW, "new", dst->ptr, dst->len);
    }
    struct dict_entry *ne = store_set(c->store, dst_db, dst->ptr, dst->len, copy, false);
    if (expire != STORE_NO_EXPIRE) store_set_expire(c->store, dst_db, ne, expire);
    store_notify(c->store, dst_db, NOTIFY_GENERIC, "copy_to", dst->ptr, dst->len);
    resp_int(&c->out, 1);
}

void cmd_move(struct cmd_ctx *c)
{
    int dst_db;
    if (!parse_db_index(c, &c->argv[2], &dst_db)) return;
    if (dst_db == c->db) {
        resp_error(&c->out, "ERR source and destination objects are the same");
        return;
    }
    const struct resp_arg *key = &c->argv[1];
    if (ctx_lookup(c, key) == NULL ||
        store_lookup(c->store, dst_db, key->ptr, key->len, c->now_ms, c->apply)) {
        resp_int(&c->out, 0);
        return;
    }
    store_move(c->store, c->db, key->ptr, key->len, dst_db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_GENERIC, "move_from", key);
    store_notify(c->store, dst_db, NOTIFY_GENERIC, "move_to", key->ptr, key->len);
    resp_int(&c->out, 1);
}

/* ---------------------------------------------------------------------
 * Expiry
 * ------------------------------------------------------------------- */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

static bool parse_expire_flags(struct cmd_ctx *c, int *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        if (arg_is(a, "nx")) *flags |= EXP_NX;
        else if (arg_is(a, "xx")) *flags |= EXP_XX;
        else if (arg_is(a, "gt")) *flags |= EXP_GT;
        else if (arg_is(a, "lt")) *flags |= EXP_LT;
        else {
            resp_errorf(&c->out, "ERR Unsupported option %.*s", (int)a->len, a->ptr);
            return false;
        }
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        resp_error(&c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        resp_error(&c->out, "ERR GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

static void expire_generic(struct cmd_ctx *c, long long basetime, bool seconds)
{
    int flags;
    if (!parse_expire_flags(c, &flags)) return;
    long long when;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &when)) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            resp_errorf(&c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        resp_errorf(&c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    when += basetime;
    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    if (e == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    long long current = store_expire_of(c->store, c->db, e);
    if (((flags & EXP_NX) && current != STORE_NO_EXPIRE) ||
        ((flags & EXP_XX) && current == STORE_NO_EXPIRE) ||
        ((flags & EXP_GT) && (current == STORE_NO_EXPIRE || when <= current)) ||
        ((flags & EXP_LT) && current != STORE_NO_EXPIRE && when >= current)) {
        resp_int(&c->out, 0);
        return;
    }
    if (when <= c->now_ms) {
        store_delete(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    } else {
        store_set_expire(c->store, c->db, e, when);
        ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
    }
    resp_int(&c->out, 1);
}

void cmd_expire(struct cmd_ctx *c) { expire_generic(c, c->now_ms, true); }
void cmd_pexpire(struct cmd_ctx *c) { expire_generic(c, c->now_ms, false); }
void cmd_expireat(struct cmd_ctx *c) { expire_generic(c, 0, true); }
void cmd_pexpireat(struct cmd_ctx *c) { expire_generic(c, 0, false); }

static void ttl_generic(struct cmd_ctx *c, bool ms, bool absolute)
{
    struct dict_entry *e = ctx_lookup_notouch(c, &c->argv[1]);
    if (e == NULL) {
        resp_int(&c->out, -2);
        return;
    }
    long long expire = store_expire_of(c->store, c->db, e);
    if (expire == STORE_NO_EXPIRE) {
        resp_int(&c->out, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - c->now_ms;
    if (ttl < 0) ttl = 0;
    /* Rounded to the nearest second like Redis's (ttl+500)/1000, without
     * overflowing when the expiry is PXAT 9223372036854775807. */
    resp_int(&c->out, ms ? ttl : ttl / 1000 + (ttl % 1000 >= 500));
}

void cmd_ttl(struct cmd_ctx *c) { ttl_generic(c, false, false); }
void cmd_pttl(struct cmd_ctx *c) { ttl_generic(c, true, false); }
void cmd_expiretime(struct cmd_ctx *c) { ttl_generic(c, false, true); }
void cmd_pexpiretime(struct cmd_ctx *c) { ttl_generic(c, true, true); }

void cmd_persist(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup(c, &c->argv[1]);
    if (e == NULL || store_expire_of(c->store, c->db, e) == STORE_NO_EXPIRE) {
        resp_int(&c->out, 0);
        return;
    }
    store_set_expire(c->store, c->db, e, STORE_NO_EXPIRE);
    ctx_notify(c, NOTIFY_GENERIC, "persist", &c->argv[1]);
    resp_int(&c->out, 1);
}

/* Proposed by the leader for keys its expiry cycle found expired. The key
 * is deleted only if it is still expired at this entry's time: a SET that
 * reached the log after the proposal wins. */
void cmd_internal_expire(struct cmd_ctx *c)
{
    for (int j = 1; j < c->argc; j++) ctx_lookup(c, &c->argv[j]);
    resp_ok(&c->out);
}

/* Proposed by the leader to make room under maxmemory (repl/memory.c):
 * deletes the keys it chose, whatever they hold by now, as Redis deletes
 * its victims. Every replica deletes the same keys at the same point of the
 * log, and counts them in evicted_keys. */
void cmd_internal_evict(struct cmd_ctx *c)
{
    for (int j = 1; j < c->argc; j++)
        if (store_evict(c->store, c->db, c->argv[j].ptr, c->argv[j].len))
            ctx_notify(c, NOTIFY_EVICTED, "evicted", &c->argv[j]);
    resp_ok(&c->out);
}

/* ---------------------------------------------------------------------
 * OBJECT and databases
 * ------------------------------------------------------------------- */

void cmd_object_encoding(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup(c, &c->argv[2]);
    if (e == NULL) resp_null(&c->out);
    else resp_bulk_str(&c->out, sobj_encoding_name(store_value(e)));
}

void cmd_object_refcount(struct cmd_ctx *c)
{
    struct dict_entry *e = ctx_lookup(c, &c->argv[2]);
    if (e == NULL) resp_null(&c->out);
    else resp_int(&c->out, 1);
}

void cmd_object_help(struct cmd_ctx *c)
{
    static const char *lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&c->out, lines[i]);
}

void cmd_dbsize(struct cmd_ctx *c)
{
    resp_int(&c->out, (long long)store_db_size(c->store, c->db));
}

/* FLUSHDB and FLUSHALL [ASYNC|SYNC]: without either, as this node's
 * lazyfree-lazy-user-flush says. Whichever, the keys are gone when the
 * command answers, on every node; only the freeing differs (lazyfree.h). */
static bool parse_flush_mode(struct cmd_ctx *c, enum lazyfree_reason *why)
{
    *why = LAZYFREE_USER_FLUSH;
    if (c->argc == 1) return true;
    if (c->argc == 2 && arg_is(&c->argv[1], "sync")) {
        *why = LAZYFREE_NEVER;
        return true;
    }
    if (c->argc == 2 && arg_is(&c->argv[1], "async")) {
        *why = LAZYFREE_ALWAYS;
        return true;
    }
    cmd_reply_syntax_error(c);
    return false;
}

void cmd_flushdb(struct cmd_ctx *c)
{
    enum lazyfree_reason why;
    if (!parse_flush_mode(c, &why)) return;
    store_flush_db(c->store, c->db, why);
    resp_ok(&c->out);
}

void cmd_flushall(struct cmd_ctx *c)
{
    enum lazyfree_reason why;
    if (!parse_flush_mode(c, &why)) return;
    store_flush_all(c->store, why);
    resp_ok(&c->out);
}

void cmd_swapdb(struct cmd_ctx *c)
{
    long long a, b;
    if (!arg_to_ll(&c->argv[1], &a) || a < INT_MIN || a > INT_MAX) {
        resp_error(&c->out, "ERR invalid first DB index");
        return;
    }
    if (!arg_to_ll(&c->argv[2], &b) || b < INT_MIN || b > INT_MAX) {
        resp_error(&c->out, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= STORE_DBS || b < 0 || b >= STORE_DBS) {
        resp_error(&c->out, "ERR DB index is out of range");
        return;
    }
    if (a != b) store_swap_db(c->store, (int)a, (int)b);
    resp_ok(&c->out);
}

/* DEBUG DIGEST: a digest of every database, equal on replicas that applied
 * the same log (tests compare nodes with it). */
void cmd_debug_digest(struct cmd_ctx *c)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)store_digest(c->store));
    resp_bulk(&c->out, hex, 16);
}
