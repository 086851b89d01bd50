/* cmds/t_string.c — the string commands: GET/SET and their variants,
 * counters (INCR...), and byte-range operations (APPEND, GETRANGE,
 * SETRANGE). Semantics and error texts follow Redis 7.0's t_string.c. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/cmd.h"
#include "cmds/exec.h"
#include "cmds/memlimit.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static void reply_value(struct cmd_ctx *c, const struct sobj *o)
{
    char tmp[SOBJ_INT_BUF];
    size_t len;
    const char *p = sobj_str(o, tmp, &len);
    resp_bulk(&c->out, p, len);
}

/* Looks up a string key: NULL and no reply if missing, NULL and WRONGTYPE
 * replied (*failed set) if another type. */
static struct dict_entry *lookup_string(struct cmd_ctx *c, const struct resp_arg *key, bool *failed)
{
    return ctx_lookup_type(c, key, OBJ_STRING, failed);
}

/* Redis's checkStringLength: size + append must fit in proto-max-bulk-len
 * (both are >= 0; the sum is never computed, so it cannot overflow), and,
 * Parley's addition, in this machine's memory (cmd_max_string_len): the
 * limit travels in the log entry, so every replica answers alike. */
static bool check_length(struct cmd_ctx *c, long long size, long long append)
{
    long long max = cmd_max_string_len(c);
    if (size > max || append > max - size) {
        resp_error(&c->out, STRING_TOO_LONG_ERROR);
        return false;
    }
    return true;
}

/* The string grown to len bytes, or NULL after answering the OOM error when
 * even a length under the limits cannot be allocated here (an entry from an
 * older build without the memory limit, or a replica with less memory than
 * its leader): never an abort that every restart would repeat. */
static char *grow_or_reply(struct cmd_ctx *c, struct sobj *o, size_t len)
{
    char *p = sobj_string_grow(o, len);
    if (p == NULL) resp_error(&c->out, OOM_ERROR);
    return p;
}

static void reply_invalid_expire(struct cmd_ctx *c)
{
    resp_errorf(&c->out, "ERR invalid expire time in '%s' command", c->cmd->name);
}

enum {
    OPT_NX = 1 << 0,
    OPT_XX = 1 << 1,
    OPT_GET = 1 << 2,
    OPT_KEEPTTL = 1 << 3,
    OPT_PERSIST = 1 << 4,
    OPT_EX = 1 << 5,
    OPT_PX = 1 << 6,
    OPT_EXAT = 1 << 7,
    OPT_PXAT = 1 << 8,
};
#define OPT_ANY_EXPIRE (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

/* Redis's parseExtendedStringArgumentsOrReply, for SET (is_set) and GETEX.
 * On success *flags has the options and *expire_arg the time argument. */
static bool parse_string_options(struct cmd_ctx *c, int first, bool is_set, int *flags,
                                 const struct resp_arg **expire_arg)
{
    *flags = 0;
    *expire_arg = NULL;
    for (int j = first; j < c->argc; j++) {
        const struct resp_arg *a = &c->argv[j];
        bool has_next = j + 1 < c->argc;
        int f = *flags, unit;
        if (is_set && arg_is(a, "nx") && !(f & OPT_XX)) {
            *flags |= OPT_NX;
        } else if (is_set && arg_is(a, "xx") && !(f & OPT_NX)) {
            *flags |= OPT_XX;
        } else if (is_set && arg_is(a, "get")) {
            *flags |= OPT_GET;
        } else if (is_set && arg_is(a, "keepttl") && !(f & (OPT_PERSIST | OPT_ANY_EXPIRE))) {
            *flags |= OPT_KEEPTTL;
        } else if (!is_set && arg_is(a, "persist") && !(f & (OPT_ANY_EXPIRE | OPT_KEEPTTL))) {
            *flags |= OPT_PERSIST;
        } else if ((unit = arg_is(a, "ex") ? OPT_EX : arg_is(a, "px") ? OPT_PX
                          : arg_is(a, "exat") ? OPT_EXAT : arg_is(a, "pxat") ? OPT_PXAT : 0) &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | (OPT_ANY_EXPIRE & ~unit))) && has_next) {
            /* The same unit may be repeated (the last time wins), as in
             * Redis; two different units may not. */
            *flags |= unit;
            *expire_arg = &c->argv[++j];
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    return true;
}

/* Redis's getExpireMillisecondsOrReply: the absolute expiry in ms. */
static bool expire_ms(struct cmd_ctx *c, const struct resp_arg *arg, int flags, long long *when)
{
    if (!arg_get_ll_or_reply(c, arg, when)) return false;
    bool seconds = flags & (OPT_EX | OPT_EXAT);
    if (*when <= 0 || (seconds && *when > LLONG_MAX / 1000)) {
        reply_invalid_expire(c);
        return false;
    }
    if (seconds) *when *= 1000;
    if (flags & (OPT_EX | OPT_PX)) {
        if (*when > LLONG_MAX - c->now_ms) {
            reply_invalid_expire(c);
            return false;
        }
        *when += c->now_ms;
    }
    return true;
}

/* The heart of SET, SETNX, SETEX, PSETEX and GETSET. */
static void set_generic(struct cmd_ctx *c, const struct resp_arg *key, const struct resp_arg *val,
                        int flags, const struct resp_arg *expire_arg, bool reply_int)
{
    long long when = 0;
    if (expire_arg && !expire_ms(c, expire_arg, flags, &when)) return;
    struct dict_entry *e = ctx_lookup(c, key);
    if (flags & OPT_GET) {
        if (e && store_value(e)->type != OBJ_STRING) {
            cmd_reply_wrongtype(c);
            return;
        }
        if (e) reply_value(c, store_value(e));
        else resp_null(&c->out);
    }
    bool found = e != NULL;
    if (((flags & OPT_NX) && found) || ((flags & OPT_XX) && !found)) {
        if (!(flags & OPT_GET)) {
            if (reply_int) resp_int(&c->out, 0);
            else resp_null(&c->out);
        }
        return;
    }
    e = store_set(c->store, c->db, key->ptr, key->len, sobj_string(val->ptr, val->len),
                  flags & OPT_KEEPTTL);
    if (expire_arg) store_set_expire(c->store, c->db, e, when);
    ctx_notify(c, NOTIFY_STRING, "set", key);
    if (expire_arg) ctx_notify(c, NOTIFY_GENERIC, "expire", key);
    if (!(flags & OPT_GET)) {
        if (reply_int) resp_int(&c->out, 1);
        else resp_ok(&c->out);
    }
}

/* ---------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------- */

void cmd_get(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e) reply_value(c, store_value(e));
    else resp_null(&c->out);
}

void cmd_set(struct cmd_ctx *c)
{
    int flags;
    const struct resp_arg *expire_arg;
    if (!parse_string_options(c, 3, true, &flags, &expire_arg)) return;
    set_generic(c, &c->argv[1], &c->argv[2], flags, expire_arg, false);
}

void cmd_setnx(struct cmd_ctx *c)
{
    set_generic(c, &c->argv[1], &c->argv[2], OPT_NX, NULL, true);
}

void cmd_setex(struct cmd_ctx *c)
{
    set_generic(c, &c->argv[1], &c->argv[3], OPT_EX, &c->argv[2], false);
}

void cmd_psetex(struct cmd_ctx *c)
{
    set_generic(c, &c->argv[1], &c->argv[3], OPT_PX, &c->argv[2], false);
}

void cmd_getset(struct cmd_ctx *c)
{
    set_generic(c, &c->argv[1], &c->argv[2], OPT_GET, NULL, false);
}

void cmd_getdel(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_null(&c->out);
        return;
    }
    reply_value(c, store_value(e));
    store_delete(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
    ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
}

void cmd_getex(struct cmd_ctx *c)
{
    int flags;
    const struct resp_arg *expire_arg;
    if (!parse_string_options(c, 2, false, &flags, &expire_arg)) return;
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_null(&c->out);
        return;
    }
    /* As in Redis, the time is validated only once the key is known to
     * exist: GETEX on a missing key answers nil whatever the time. */
    long long when = 0;
    if (expire_arg && !expire_ms(c, expire_arg, flags, &when)) return;
    reply_value(c, store_value(e));
    if (expire_arg && when <= c->now_ms) {
        store_delete(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_GENERIC, "del", &c->argv[1]);
    } else if (expire_arg) {
        store_set_expire(c->store, c->db, e, when);
        ctx_notify(c, NOTIFY_GENERIC, "expire", &c->argv[1]);
    } else if ((flags & OPT_PERSIST) && store_expire_of(c->store, c->db, e) != STORE_NO_EXPIRE) {
        /* Only a TTL removed is a change (WATCH), as in Redis. */
        store_set_expire(c->store, c->db, e, STORE_NO_EXPIRE);
        ctx_notify(c, NOTIFY_GENERIC, "persist", &c->argv[1]);
    }
}

void cmd_mget(struct cmd_ctx *c)
{
    resp_array(&c->out, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        struct dict_entry *e = ctx_lookup(c, &c->argv[j]);
        if (e && store_value(e)->type == OBJ_STRING) reply_value(c, store_value(e));
        else resp_null(&c->out);
    }
}

static void mset_generic(struct cmd_ctx *c, bool nx)
{
    if (c->argc % 2 == 0) {
        cmd_reply_arity(&c->out, c->cmd);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (ctx_lookup(c, &c->argv[j])) {
                resp_int(&c->out, 0);
                return;
            }
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        const struct resp_arg *k = &c->argv[j], *v = &c->argv[j + 1];
        store_set(c->store, c->db, k->ptr, k->len, sobj_string(v->ptr, v->len), false);
        ctx_notify(c, NOTIFY_STRING, "set", k);
    }
    if (nx) resp_int(&c->out, 1);
    else resp_ok(&c->out);
}

void cmd_mset(struct cmd_ctx *c) { mset_generic(c, false); }
void cmd_msetnx(struct cmd_ctx *c) { mset_generic(c, true); }

static void incr_by(struct cmd_ctx *c, long long incr)
{
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long value = 0;
    if (e && !sobj_get_ll(store_value(e), &value)) {
        cmd_reply_not_integer(c);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        resp_error(&c->out, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    if (e) store_replace_value(c->store, c->db, e, sobj_string_int(value));
    else store_set(c->store, c->db, c->argv[1].ptr, c->argv[1].len, sobj_string_int(value), false);
    ctx_notify(c, NOTIFY_STRING, "incrby", &c->argv[1]);
    resp_int(&c->out, value);
}

void cmd_incr(struct cmd_ctx *c) { incr_by(c, 1); }
void cmd_decr(struct cmd_ctx *c) { incr_by(c, -1); }

void cmd_incrby(struct cmd_ctx *c)
{
    long long incr;
    if (arg_get_ll_or_reply(c, &c->argv[2], &incr)) incr_by(c, incr);
}

void cmd_decrby(struct cmd_ctx *c)
{
    long long incr;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &incr)) return;
    if (incr == LLONG_MIN) {
        resp_error(&c->out, "ERR decrement would overflow");
        return;
    }
    incr_by(c, -incr);
}

void cmd_incrbyfloat(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    long double value = 0, incr;
    if (e) {
        char tmp[SOBJ_INT_BUF];
        struct resp_arg current;
        current.ptr = sobj_str(store_value(e), tmp, &current.len);
        if (!arg_to_ld(&current, &value)) {
            resp_error(&c->out, "ERR value is not a valid float");
            return;
        }
    }
    if (!arg_to_ld(&c->argv[2], &incr)) {
        resp_error(&c->out, "ERR value is not a valid float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        resp_error(&c->out, "ERR increment would produce NaN or Infinity");
        return;
    }
    char text[5120];
    size_t len = format_long_double(text, sizeof text, value);
    /* Redis stores the text as a string object (embstr or raw), never
     * as an int, even when it reads as one ("3"). */
    struct sobj *o = sobj_string_as(text, len, ENC_EMBSTR);
    if (e) store_replace_value(c->store, c->db, e, o);
    else store_set(c->store, c->db, c->argv[1].ptr, c->argv[1].len, o, false);
    ctx_notify(c, NOTIFY_STRING, "incrbyfloat", &c->argv[1]);
    resp_bulk(&c->out, text, len);
}

void cmd_append(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *val = &c->argv[2];
    bool wrong;
    struct dict_entry *e = lookup_string(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        store_set(c->store, c->db, key->ptr, key->len, sobj_string(val->ptr, val->len), false);
        ctx_notify(c, NOTIFY_STRING, "append", key);
        resp_int(&c->out, (long long)val->len);
        return;
    }
    struct sobj *o = store_value(e);
    size_t old = sobj_strlen(o);
    if (!check_length(c, (long long)old, (long long)val->len)) return;
    char *p = grow_or_reply(c, o, old + val->len);
    if (p == NULL) return;
    memcpy(p + old, val->ptr, val->len);
    store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_STRING, "append", key);
    resp_int(&c->out, (long long)(old + val->len));
}

void cmd_strlen(struct cmd_ctx *c)
{
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_int(&c->out, e ? (long long)sobj_strlen(store_value(e)) : 0);
}

void cmd_getrange(struct cmd_ctx *c)
{
    long long start, end;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &start)) return;
    if (!arg_get_ll_or_reply(c, &c->argv[3], &end)) return;
    bool wrong;
    struct dict_entry *e = lookup_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (e == NULL) {
        resp_bulk(&c->out, "", 0);
        return;
    }
    char tmp[SOBJ_INT_BUF];
    size_t slen;
    const char *s = sobj_str(store_value(e), tmp, &slen);
    long long len = (long long)slen;
    if (start < 0 && end < 0 && start > end) {
        resp_bulk(&c->out, "", 0);
        return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) resp_bulk(&c->out, "", 0);
    else resp_bulk(&c->out, s + start, (size_t)(end - start + 1));
}

void cmd_setrange(struct cmd_ctx *c)
{
    const struct resp_arg *key = &c->argv[1], *val = &c->argv[3];
    long long offset;
    if (!arg_get_ll_or_reply(c, &c->argv[2], &offset)) return;
    if (offset < 0) {
        resp_error(&c->out, "ERR offset is out of range");
        return;
    }
    bool wrong;
    struct dict_entry *e = lookup_string(c, key, &wrong);
    if (wrong) return;
    if (e == NULL) {
        if (val->len == 0) {
            resp_int(&c->out, 0);
            return;
        }
        if (!check_length(c, offset, (long long)val->len)) return;
        struct sobj *fresh = sobj_string_raw("", 0);
        if (grow_or_reply(c, fresh, (size_t)offset + val->len) == NULL) {
            sobj_free(fresh);
            return;
        }
        e = store_set(c->store, c->db, key->ptr, key->len, fresh, false);
    } else {
        size_t old = sobj_strlen(store_value(e));
        if (val->len == 0) {
            resp_int(&c->out, (long long)old);
            return;
        }
        if (!check_length(c, offset, (long long)val->len)) return;
    }
    struct sobj *o = store_value(e);
    size_t need = (size_t)offset + val->len;
    size_t cur = sobj_strlen(o);
    char *p = grow_or_reply(c, o, need > cur ? need : cur);
    if (p == NULL) return;
    memcpy(p + offset, val->ptr, val->len);
    store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_STRING, "setrange", key);
    resp_int(&c->out, (long long)o->s.len);
}

void cmd_substr(struct cmd_ctx *c) { cmd_getrange(c); }

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
 * common subsequence by the classic table of prefix lengths, walked back
 * from its end; IDX gives the matching ranges, last first, as Redis does.
 * The table (one uint32 per pair of prefixes) is bounded by
 * proto-max-bulk-len, which travels in the entry. */
void cmd_lcs(struct cmd_ctx *c)
{
    bool wrong_a, wrong_b;
    struct dict_entry *ea = ctx_lookup(c, &c->argv[1]);
    struct dict_entry *eb = ctx_lookup(c, &c->argv[2]);
    wrong_a = ea && store_value(ea)->type != OBJ_STRING;
    wrong_b = eb && store_value(eb)->type != OBJ_STRING;
    if (wrong_a || wrong_b) {
        resp_error(&c->out, "ERR The specified keys must contain string values");
        return;
    }
    bool getlen = false, getidx = false, withmatchlen = false;
    long long minmatchlen = 0;
    for (int j = 3; j < c->argc; j++) {
        const struct resp_arg *o = &c->argv[j];
        if (arg_is(o, "idx")) getidx = true;
        else if (arg_is(o, "len")) getlen = true;
        else if (arg_is(o, "withmatchlen")) withmatchlen = true;
        else if (arg_is(o, "minmatchlen") && j + 1 < c->argc) {
            if (!arg_get_ll_or_reply(c, &c->argv[++j], &minmatchlen)) return;
            if (minmatchlen < 0) minmatchlen = 0;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    if (getidx && getlen) {
        resp_error(&c->out, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    char ta[SOBJ_INT_BUF], tb[SOBJ_INT_BUF];
    size_t la = 0, lb = 0;
    const char *a = ea ? sobj_str(store_value(ea), ta, &la) : "";
    const char *b = eb ? sobj_str(store_value(eb), tb, &lb) : "";
    if (la >= UINT32_MAX - 1 || lb >= UINT32_MAX - 1) {
        resp_error(&c->out, "ERR String too long for LCS");
        return;
    }
    unsigned long long cells = (unsigned long long)(la + 1) * (lb + 1);
    if (cells * sizeof(uint32_t) > (unsigned long long)cmd_max_string_len(c)) {
        resp_error(&c->out, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *t = malloc((size_t)cells * sizeof *t);
    if (t == NULL) {
        resp_error(&c->out, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
#define T(i, j) t[(size_t)(j) + (size_t)(i) * (lb + 1)]
    for (size_t i = 0; i <= la; i++)
        for (size_t j = 0; j <= lb; j++) {
            if (i == 0 || j == 0) T(i, j) = 0;
            else if (a[i - 1] == b[j - 1]) T(i, j) = T(i - 1, j - 1) + 1;
            else T(i, j) = T(i - 1, j) > T(i, j - 1) ? T(i - 1, j) : T(i, j - 1);
        }
    uint32_t total = T(la, lb), idx = total;
    bool compute = getidx || !getlen;
    char *result = compute ? malloc(total ? total : 1) : NULL;
    if (compute && result == NULL) {
        free(t);
        resp_error(&c->out, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    size_t ranges_at = 0;
    long long ranges = 0;
    if (getidx) {
        resp_map(&c->out, 2);
        resp_bulk_str(&c->out, "matches");
        ranges_at = resp_defer_len(&c->out);
    }
    /* The range being grown backwards: a_start == la means "none". */
    size_t a_start = la, a_end = 0, b_start = 0, b_end = 0;
    size_t i = la, j = lb;
    while (compute && i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (a_start == la) {
                a_start = a_end = i - 1;
                b_start = b_end = j - 1;
            } else if (a_start == i && b_start == j) {
                a_start--;
                b_start--;
            } else {
                emit = true;
            }
            if (a_start == 0 || b_start == 0) emit = true;
            idx--;
            i--;
            j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1)) i--;
            else j--;
            if (a_start != la) emit = true;
        }
        size_t match_len = a_end - a_start + 1;
        if (emit) {
            if (getidx && (minmatchlen == 0 || (long long)match_len >= minmatchlen)) {
                resp_array(&c->out, withmatchlen ? 3 : 2);
                resp_array(&c->out, 2);
                resp_int(&c->out, (long long)a_start);
                resp_int(&c->out, (long long)a_end);
                resp_array(&c->out, 2);
                resp_int(&c->out, (long long)b_start);
                resp_int(&c->out, (long long)b_end);
                if (withmatchlen) resp_int(&c->out, (long long)match_len);
                ranges++;
            }
            a_start = la;
        }
    }
#undef T
    if (getidx) {
        resp_set_deferred_len(&c->out, ranges_at, '*', ranges);
        resp_bulk_str(&c->out, "len");
        resp_int(&c->out, total);
    } else if (getlen) {
        resp_int(&c->out, total);
    } else {
        resp_bulk(&c->out, result, total);
    }
    free(result);
    free(t);
}
