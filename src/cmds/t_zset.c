/* cmds/t_zset.c — the sorted-set commands: ZADD and ZINCRBY, removals,
 * scores and ranks, the ZRANGE family (by rank, score and lex, reversed,
 * stored), counts, range removals, pops (ZPOPMIN/ZPOPMAX/ZMPOP; the shared
 * pop functions are declared in cmds/zset.h for the blocking variants),
 * ZUNIONSTORE/ZINTERSTORE (which also take plain sets), ZSCAN and
 * ZRANDMEMBER. Semantics, reply shapes
 * and error texts follow Redis 7.0's t_zset.c; the data structure is
 * store/zset.c. Everything that changes state depends only on the
 * arguments and the sets' contents (never on hash order or skiplist
 * levels), and so does every reply: ZSCAN and ZRANDMEMBER go by the
 * replicated member order (zset.h), ZRANDMEMBER drawing from c->rng, so a
 * Lua script, which runs on every replica, may write what they returned. */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/zset.h"
#include "store/dict.h"
#include "store/dset.h"
#include "store/encoding.h"
#include "store/set.h"
#include "store/zset.h"

#define NOT_FLOAT "ERR value is not a valid float"
#define SCORE_RANGE_ERR "ERR min or max is not a float"
#define LEX_RANGE_ERR "ERR min or max not valid string range item"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/* The sorted set at key: NULL if missing (nothing replied) or of another
 * type (WRONGTYPE replied, *wrong set). */
static struct sobj *lookup_zset(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong)
{
    struct dict_entry *e = ctx_lookup_type(c, key, OBJ_ZSET, wrong);
    return e ? store_value(e) : NULL;
}

/* A source of ZUNIONSTORE/ZINTERSTORE: a sorted set or a plain set; NULL
 * if missing, or of another type (WRONGTYPE replied, *wrong set). */
static struct sobj *lookup_zset_or_set(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong)
{
    *wrong = false;
    struct dict_entry *e = ctx_lookup(c, key);
    if (e == NULL) return NULL;
    struct sobj *o = store_value(e);
    if (o->type != OBJ_ZSET && o->type != OBJ_SET) {
        *wrong = true;
        cmd_reply_wrongtype(c);
        return NULL;
    }
    return o;
}

/* Redis's getRangeLongFromObjectOrReply with a message: a non-integer or a
 * value outside [min, max] replies msg. */
static bool arg_range_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long min,
                               long long max, const char *msg, long long *v)
{
    if (arg_to_ll(a, v) && *v >= min && *v <= max) return true;
    resp_error(&c->out, msg);
    return false;
}

/* One element of a reply: the member, and its score if asked; in RESP3 a
 * member with its score is a two-element array. */
static void reply_elem(struct cmd_ctx *c, const char *m, size_t mlen, double score, bool withscores)
{
    if (withscores && c->out.proto == 3) resp_array(&c->out, 2);
    resp_bulk(&c->out, m, mlen);
    if (withscores) resp_double(&c->out, score);
}

/* After an in-place change: delete the key if the set is empty (Redis
 * never keeps empty collections), else report the change; notifies event,
 * then "del" when the key went, as Redis does. */
static void changed(struct cmd_ctx *c, const struct resp_arg *key, struct sobj *o,
                    const char *event)
{
    bool emptied = zset_length(o) == 0;
    if (emptied) store_delete(c->store, c->db, key->ptr, key->len);
    else store_touch(c->store, c->db, key->ptr, key->len);
    ctx_notify(c, NOTIFY_ZSET, event, key);
    if (emptied) ctx_notify(c, NOTIFY_GENERIC, "del", key);
}

/* A computed sorted set stored at dst (event: the command's), or dst
 * deleted when the result is empty ("del" if it existed). */
static void store_zset_result(struct cmd_ctx *c, const struct resp_arg *dst, struct sobj *o,
                              const char *event)
{
    if (zset_length(o)) {
        store_set(c->store, c->db, dst->ptr, dst->len, o, false);
        ctx_notify(c, NOTIFY_ZSET, event, dst);
    } else {
        sobj_free(o);
        if (ctx_lookup(c, dst) && store_delete(c->store, c->db, dst->ptr, dst->len))
            ctx_notify(c, NOTIFY_GENERIC, "del", dst);
    }
}

/* ---------------------------------------------------------------------
 * ZADD, ZINCRBY
 * ------------------------------------------------------------------- */

static bool zadd_options(struct cmd_ctx *c, int *flags, bool *ch, int *scoreidx)
{
    for (*scoreidx = 2; *scoreidx < c->argc; (*scoreidx)++) {
        const struct resp_arg *a = &c->argv[*scoreidx];
        if (arg_is(a, "nx")) *flags |= ZADD_IN_NX;
        else if (arg_is(a, "xx")) *flags |= ZADD_IN_XX;
        else if (arg_is(a, "ch")) *ch = true;
        else if (arg_is(a, "incr")) *flags |= ZADD_IN_INCR;
        else if (arg_is(a, "gt")) *flags |= ZADD_IN_GT;
        else if (arg_is(a, "lt")) *flags |= ZADD_IN_LT;
        else break;
    }
    int elements = c->argc - *scoreidx;
    bool nx = *flags & ZADD_IN_NX, xx = *flags & ZADD_IN_XX, gt = *flags & ZADD_IN_GT,
         lt = *flags & ZADD_IN_LT;
    if (elements == 0 || elements % 2) {
        cmd_reply_syntax_error(c);
        return false;
    }
    if (nx && xx) {
        resp_error(&c->out, "ERR XX and NX options at the same time are not compatible");
        return false;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        resp_error(&c->out, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return false;
    }
    if ((*flags & ZADD_IN_INCR) && elements > 2) {
        resp_error(&c->out, "ERR INCR option supports a single increment-element pair");
        return false;
    }
    return true;
}

static void zadd_generic(struct cmd_ctx *c, int flags)
{
    const struct resp_arg *key = &c->argv[1];
    bool ch = false;
    int scoreidx;
    if (!zadd_options(c, &flags, &ch, &scoreidx)) return;
    int elements = (c->argc - scoreidx) / 2;
    bool incr = flags & ZADD_IN_INCR;
    double *scores = xmalloc((size_t)elements * sizeof *scores);
    for (int j = 0; j < elements; j++) {
        if (!arg_to_double(&c->argv[scoreidx + 2 * j], &scores[j])) {
            resp_error(&c->out, NOT_FLOAT);
            free(scores);
            return;
        }
    }
    bool wrong;
    struct sobj *o = lookup_zset(c, key, &wrong);
    bool created = false;
    if (wrong) goto done;
    if (o == NULL) {
        if (flags & ZADD_IN_XX) {
            if (incr) resp_null(&c->out);
            else resp_int(&c->out, 0);
            goto done;
        }
        /* Stored once it holds its members: whoever store_set tells of
         * the new key (blocked clients) must never see it empty. */
        o = zset_new(0, c->argv[scoreidx + 1].len);
        created = true;
    }
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    for (int j = 0; j < elements; j++) {
        const struct resp_arg *m = &c->argv[scoreidx + 2 * j + 1];
        int out;
        double newscore = 0;
        if (!zset_add(o, scores[j], m->ptr, m->len, flags, &out, &newscore)) {
            /* Only INCR gives NaN, with one element: nothing changed. */
            resp_error(&c->out, "ERR resulting score is not a number (NaN)");
            if (created) sobj_free(o);
            goto done;
        }
        if (out & ZADD_OUT_ADDED) added++;
        if (out & ZADD_OUT_UPDATED) updated++;
        if (!(out & ZADD_OUT_NOP)) processed++;
        score = newscore;
    }
    if (created && zset_length(o) > 0) store_set(c->store, c->db, key->ptr, key->len, o, false);
    else if (created) sobj_free(o);
    else if (added || updated) store_touch(c->store, c->db, key->ptr, key->len);
    if (added || updated) ctx_notify(c, NOTIFY_ZSET, incr ? "zincr" : "zadd", key);
    if (incr) {
        if (processed) resp_double(&c->out, score);
        else resp_null(&c->out);
    } else {
        resp_int(&c->out, ch ? added + updated : added);
    }
done:
    free(scores);
}

static void cmd_zadd(struct cmd_ctx *c) { zadd_generic(c, 0); }
static void cmd_zincrby(struct cmd_ctx *c) { zadd_generic(c, ZADD_IN_INCR); }

/* ---------------------------------------------------------------------
 * ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK
 * ------------------------------------------------------------------- */

static void cmd_zrem(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long deleted = 0;
    for (int j = 2; o && j < c->argc; j++) {
        if (zset_del(o, c->argv[j].ptr, c->argv[j].len)) deleted++;
        if (zset_length(o) == 0) break;
    }
    if (deleted) changed(c, &c->argv[1], o, "zrem");
    resp_int(&c->out, deleted);
}

static void cmd_zscore(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    double score;
    if (o && zset_score(o, c->argv[2].ptr, c->argv[2].len, &score)) resp_double(&c->out, score);
    else resp_null(&c->out);
}

static void cmd_zmscore(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_array(&c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double score;
        if (o && zset_score(o, c->argv[j].ptr, c->argv[j].len, &score))
            resp_double(&c->out, score);
        else
            resp_null(&c->out);
    }
}

static void cmd_zcard(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (!wrong) resp_int(&c->out, o ? (long long)zset_length(o) : 0);
}

static void rank_generic(struct cmd_ctx *c, bool reverse)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    long long rank = o ? zset_rank(o, c->argv[2].ptr, c->argv[2].len, reverse) : -1;
    if (rank >= 0) resp_int(&c->out, rank);
    else resp_null(&c->out);
}

static void cmd_zrank(struct cmd_ctx *c) { rank_generic(c, false); }
static void cmd_zrevrank(struct cmd_ctx *c) { rank_generic(c, true); }

/* ---------------------------------------------------------------------
 * ZCOUNT, ZLEXCOUNT
 * ------------------------------------------------------------------- */

static bool parse_range_or_reply(struct cmd_ctx *c, const struct resp_arg *min,
                                 const struct resp_arg *max, struct zrange_spec *s)
{
    if (zset_parse_range(min->ptr, min->len, max->ptr, max->len, s)) return true;
    resp_error(&c->out, SCORE_RANGE_ERR);
    return false;
}

static bool parse_lex_or_reply(struct cmd_ctx *c, const struct resp_arg *min,
                               const struct resp_arg *max, struct zlex_spec *s)
{
    if (zset_parse_lex_range(min->ptr, min->len, max->ptr, max->len, s)) return true;
    resp_error(&c->out, LEX_RANGE_ERR);
    return false;
}

static void cmd_zcount(struct cmd_ctx *c)
{
    struct zrange_spec s;
    if (!parse_range_or_reply(c, &c->argv[2], &c->argv[3], &s)) return;
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (!wrong) resp_int(&c->out, o ? (long long)zset_count_in_range(o, &s) : 0);
}

static void cmd_zlexcount(struct cmd_ctx *c)
{
    struct zlex_spec s;
    if (!parse_lex_or_reply(c, &c->argv[2], &c->argv[3], &s)) return;
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (!wrong) resp_int(&c->out, o ? (long long)zset_count_in_lex_range(o, &s) : 0);
}

/* ---------------------------------------------------------------------
 * The ZRANGE family: results go to the client or (ZRANGESTORE) to a key
 * ------------------------------------------------------------------- */

struct range_out {
    struct cmd_ctx *c;
    const struct resp_arg *dst; /* ZRANGESTORE's destination, else NULL */
    bool withscores;
    bool deferred;
    size_t handle;
    struct sobj *set; /* the set being stored */
    size_t count;
};

/* length < 0: not known yet (Redis's beginResultEmission). */
static void out_begin(struct range_out *r, long long length)
{
    r->count = 0;
    if (r->dst) {
        r->set = zset_new(length > store_enc()->zset_max_listpack_entries ? (size_t)length : 0, 0);
        return;
    }
    long long per = r->withscores && r->c->out.proto == 2 ? 2 : 1;
    r->deferred = length <= 0;
    if (r->deferred) r->handle = resp_defer_len(&r->c->out);
    else resp_array(&r->c->out, length * per);
}

static void out_emit(struct range_out *r, const struct zset_elem *e)
{
    r->count++;
    if (r->dst) {
        int flags;
        bool ok = zset_add(r->set, e->score, e->m, e->mlen, 0, &flags, NULL);
        (void)ok;
        return;
    }
    reply_elem(r->c, e->m, e->mlen, e->score, r->withscores);
}

static void out_end(struct range_out *r)
{
    struct cmd_ctx *c = r->c;
    if (r->dst == NULL) {
        long long per = r->withscores && c->out.proto == 2 ? 2 : 1;
        if (r->deferred) resp_set_deferred_len(&c->out, r->handle, '*', (long long)r->count * per);
        return;
    }
    /* ZRANGESTORE's (GEORADIUS and GEOSEARCHSTORE store their own). */
    store_zset_result(c, r->dst, r->set, "zrangestore");
    r->set = NULL;
    resp_int(&c->out, (long long)r->count);
}

static void step(struct zset_it *it, bool reverse)
{
    if (reverse) zset_it_prev(it);
    else zset_it_next(it);
}

static void range_by_rank(struct range_out *r, struct sobj *o, long long start, long long end,
                          bool reverse)
{
    long long llen = (long long)zset_length(o);
    if (start < 0) start += llen;
    if (end < 0) end += llen;
    if (start < 0) start = 0;
    if (start > end || start >= llen) {
        out_begin(r, 0);
        out_end(r);
        return;
    }
    if (end >= llen) end = llen - 1;
    long long n = end - start + 1;
    out_begin(r, n);
    struct zset_it it;
    zset_it_at_rank(&it, o, (size_t)(reverse ? llen - 1 - start : start));
    for (; n > 0; n--, step(&it, reverse)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        out_emit(r, &e);
    }
    out_end(r);
}

/* Score or lex range with LIMIT: a negative offset gives nothing (Redis
 * walks past the end), a negative limit means no limit. */
static void range_by_bounds(struct range_out *r, struct sobj *o, const struct zrange_spec *s,
                            const struct zlex_spec *l, long long offset, long long limit,
                            bool reverse)
{
    out_begin(r, -1);
    struct zset_it it;
    if (offset < 0 || (offset > 0 && offset >= (long long)zset_length(o))) {
        out_end(r);
        return;
    }
    if (s) zset_it_in_range(&it, o, s, reverse);
    else zset_it_in_lex_range(&it, o, l, reverse);
    for (; offset > 0 && zset_it_valid(&it); offset--) step(&it, reverse);
    for (; limit != 0 && zset_it_valid(&it); step(&it, reverse)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        bool in = s ? (reverse ? zset_score_gte_min(e.score, s) : zset_score_lte_max(e.score, s))
                    : (reverse ? zset_lex_gte_min(e.m, e.mlen, l) : zset_lex_lte_max(e.m, e.mlen, l));
        if (!in) break;
        out_emit(r, &e);
        if (limit > 0) limit--;
    }
    out_end(r);
}

enum range_type { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum range_dir { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

struct range_args {
    enum range_type type;
    enum range_dir dir;
    bool withscores;
    long long offset, limit;
};

/* The options after "key min max" (Redis's zrangeGenericCommand step 1). */
static bool range_options(struct cmd_ctx *c, int first, bool store, struct range_args *a)
{
    a->withscores = false;
    a->offset = 0;
    a->limit = -1;
    bool has_limit = false;
    for (int j = first; j < c->argc; j++) {
        const struct resp_arg *arg = &c->argv[j];
        int left = c->argc - j - 1;
        if (!store && arg_is(arg, "withscores")) {
            a->withscores = true;
        } else if (arg_is(arg, "limit") && left >= 2) {
            if (!arg_get_ll_or_reply(c, &c->argv[j + 1], &a->offset) ||
                !arg_get_ll_or_reply(c, &c->argv[j + 2], &a->limit))
                return false;
            has_limit = a->limit != -1;
            j += 2;
        } else if (a->dir == DIR_AUTO && arg_is(arg, "rev")) {
            a->dir = DIR_REVERSE;
        } else if (a->type == BY_AUTO && arg_is(arg, "bylex")) {
            a->type = BY_LEX;
        } else if (a->type == BY_AUTO && arg_is(arg, "byscore")) {
            a->type = BY_SCORE;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    if (a->dir == DIR_AUTO) a->dir = DIR_FORWARD;
    if (a->type == BY_AUTO) a->type = BY_RANK;
    if (has_limit && a->type == BY_RANK) {
        resp_error(&c->out, "ERR syntax error, LIMIT is only supported in combination with "
                            "either BYSCORE or BYLEX");
        return false;
    }
    if (a->withscores && a->type == BY_LEX) {
        resp_error(&c->out, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return false;
    }
    return true;
}

/* Redis's zrangeGenericCommand: key at argv[argc_start], then min, max,
 * options. dst is ZRANGESTORE's destination (NULL for replies). */
static void range_generic(struct cmd_ctx *c, int argc_start, const struct resp_arg *dst,
                          enum range_type type, enum range_dir dir)
{
    struct range_args a = {.type = type, .dir = dir};
    if (!range_options(c, argc_start + 3, dst != NULL, &a)) return;
    bool reverse = a.dir == DIR_REVERSE;
    const struct resp_arg *min = &c->argv[argc_start + 1], *max = &c->argv[argc_start + 2];
    if (reverse && a.type != BY_RANK) {
        const struct resp_arg *t = min; /* given as max, min */
        min = max;
        max = t;
    }
    long long start = 0, end = 0;
    struct zrange_spec s;
    struct zlex_spec l;
    if (a.type == BY_RANK) {
        if (!arg_get_ll_or_reply(c, min, &start) || !arg_get_ll_or_reply(c, max, &end)) return;
    } else if (a.type == BY_SCORE) {
        if (!parse_range_or_reply(c, min, max, &s)) return;
    } else {
        if (!parse_lex_or_reply(c, min, max, &l)) return;
    }
    struct range_out r = {.c = c, .dst = dst, .withscores = a.withscores || dst};
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[argc_start], &wrong);
    if (wrong) return;
    if (o == NULL) {
        if (dst) {
            out_begin(&r, -1);
            out_end(&r);
        } else {
            resp_array(&c->out, 0);
        }
        return;
    }
    if (a.type == BY_RANK) range_by_rank(&r, o, start, end, reverse);
    else if (a.type == BY_SCORE) range_by_bounds(&r, o, &s, NULL, a.offset, a.limit, reverse);
    else range_by_bounds(&r, o, NULL, &l, a.offset, a.limit, reverse);
}

static void cmd_zrange(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_AUTO, DIR_AUTO); }
static void cmd_zrangestore(struct cmd_ctx *c) { range_generic(c, 2, &c->argv[1], BY_AUTO, DIR_AUTO); }
static void cmd_zrevrange(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_RANK, DIR_REVERSE); }
static void cmd_zrangebyscore(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_SCORE, DIR_FORWARD); }
static void cmd_zrevrangebyscore(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_SCORE, DIR_REVERSE); }
static void cmd_zrangebylex(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_LEX, DIR_FORWARD); }
static void cmd_zrevrangebylex(struct cmd_ctx *c) { range_generic(c, 1, NULL, BY_LEX, DIR_REVERSE); }

/* ---------------------------------------------------------------------
 * ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX
 * ------------------------------------------------------------------- */

static void remrange_generic(struct cmd_ctx *c, enum range_type type)
{
    long long start = 0, end = 0;
    struct zrange_spec s;
    struct zlex_spec l;
    const struct resp_arg *min = &c->argv[2], *max = &c->argv[3];
    if (type == BY_RANK) {
        if (!arg_get_ll_or_reply(c, min, &start) || !arg_get_ll_or_reply(c, max, &end)) return;
    } else if (type == BY_SCORE) {
        if (!parse_range_or_reply(c, min, max, &s)) return;
    } else {
        if (!parse_lex_or_reply(c, min, max, &l)) return;
    }
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    size_t deleted;
    if (type == BY_RANK) {
        long long llen = (long long)zset_length(o);
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen) {
            resp_int(&c->out, 0);
            return;
        }
        if (end >= llen) end = llen - 1;
        deleted = zset_delete_rank_range(o, (size_t)start, (size_t)end);
    } else if (type == BY_SCORE) {
        deleted = zset_delete_range(o, &s);
    } else {
        deleted = zset_delete_lex_range(o, &l);
    }
    /* The event is the command's name: zremrangebyrank, ...byscore, ...bylex. */
    if (deleted) changed(c, &c->argv[1], o, c->cmd->name);
    resp_int(&c->out, (long long)deleted);
}

static void cmd_zremrangebyrank(struct cmd_ctx *c) { remrange_generic(c, BY_RANK); }
static void cmd_zremrangebyscore(struct cmd_ctx *c) { remrange_generic(c, BY_SCORE); }
static void cmd_zremrangebylex(struct cmd_ctx *c) { remrange_generic(c, BY_LEX); }

/* ---------------------------------------------------------------------
 * Pops: ZPOPMIN, ZPOPMAX, ZMPOP (and, through cmds/zset.h, the blocking
 * variants)
 * ------------------------------------------------------------------- */

bool zset_pop_reply(struct cmd_ctx *c, const struct resp_arg *key, bool max, long long count,
                    enum zpop_shape shape, bool *wrongtype)
{
    assert(count >= 1);
    struct dict_entry *ze = ctx_lookup_source(c, key, OBJ_ZSET, wrongtype);
    struct sobj *o = ze ? store_value(ze) : NULL;
    if (o == NULL || zset_length(o) == 0) return false;
    long long llen = (long long)zset_length(o);
    long long n = count < llen ? count : llen;
    switch (shape) {
    case ZPOP_FLAT: resp_array(&c->out, n * 2); break;
    case ZPOP_NESTED: resp_array(&c->out, n); break;
    case ZPOP_KEY_FLAT:
        resp_array(&c->out, n * 2 + 1);
        resp_bulk(&c->out, key->ptr, key->len);
        break;
    case ZPOP_KEY_NESTED:
        resp_array(&c->out, 2);
        resp_bulk(&c->out, key->ptr, key->len);
        resp_array(&c->out, n);
        break;
    }
    bool nested = shape == ZPOP_NESTED || shape == ZPOP_KEY_NESTED;
    struct zset_it it;
    zset_it_at_rank(&it, o, (size_t)(max ? llen - 1 : 0));
    for (long long i = 0; i < n; i++, step(&it, max)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        if (nested) resp_array(&c->out, 2);
        resp_bulk(&c->out, e.m, e.mlen);
        resp_double(&c->out, e.score);
    }
    if (max) zset_delete_rank_range(o, (size_t)(llen - n), (size_t)(llen - 1));
    else zset_delete_rank_range(o, 0, (size_t)(n - 1));
    changed(c, key, o, max ? "zpopmax" : "zpopmin");
    return true;
}

bool zset_pop_first(struct cmd_ctx *c, const struct resp_arg *keys, long long numkeys, bool max,
                    long long count, enum zpop_shape shape)
{
    for (long long i = 0; i < numkeys; i++) {
        bool wrong;
        if (zset_pop_reply(c, &keys[i], max, count, shape, &wrong) || wrong) return true;
    }
    return false;
}

static void pop_minmax(struct cmd_ctx *c, bool max)
{
    if (c->argc > 3) {
        cmd_reply_syntax_error(c);
        return;
    }
    long long count = -1; /* no count: one element, flat */
    if (c->argc == 3 && !arg_range_or_reply(c, &c->argv[2], 0, LLONG_MAX,
                                            "ERR value is out of range, must be positive", &count))
        return;
    if (count == 0) {
        bool wrong;
        lookup_zset(c, &c->argv[1], &wrong);
        if (!wrong) resp_array(&c->out, 0);
        return;
    }
    enum zpop_shape shape = c->out.proto == 3 && count != -1 ? ZPOP_NESTED : ZPOP_FLAT;
    bool wrong;
    if (!zset_pop_reply(c, &c->argv[1], max, count == -1 ? 1 : count, shape, &wrong) && !wrong)
        resp_array(&c->out, 0);
}

static void cmd_zpopmin(struct cmd_ctx *c) { pop_minmax(c, false); }
static void cmd_zpopmax(struct cmd_ctx *c) { pop_minmax(c, true); }

bool zset_parse_mpop(struct cmd_ctx *c, int numkeys_idx, long long *numkeys, bool *max,
                     long long *count)
{
    if (!arg_range_or_reply(c, &c->argv[numkeys_idx], 1, LLONG_MAX,
                            "ERR numkeys should be greater than 0", numkeys))
        return false;
    if (*numkeys >= c->argc - numkeys_idx - 1) {
        cmd_reply_syntax_error(c);
        return false;
    }
    int where = numkeys_idx + (int)*numkeys + 1;
    if (arg_is(&c->argv[where], "min")) {
        *max = false;
    } else if (arg_is(&c->argv[where], "max")) {
        *max = true;
    } else {
        cmd_reply_syntax_error(c);
        return false;
    }
    *count = -1;
    for (int j = where + 1; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        if (*count == -1 && arg_is(&c->argv[j], "count") && more) {
            if (!arg_range_or_reply(c, &c->argv[++j], 1, LLONG_MAX,
                                    "ERR count should be greater than 0", count))
                return false;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    if (*count == -1) *count = 1;
    return true;
}

static void cmd_zmpop(struct cmd_ctx *c)
{
    long long numkeys, count;
    bool max;
    if (!zset_parse_mpop(c, 1, &numkeys, &max, &count)) return;
    if (!zset_pop_first(c, &c->argv[2], numkeys, max, count, ZPOP_KEY_NESTED))
        resp_null_array(&c->out);
}

/* ---------------------------------------------------------------------
 * ZUNIONSTORE, ZINTERSTORE
 * ------------------------------------------------------------------- */

enum aggregate { AGG_SUM, AGG_MIN, AGG_MAX };

struct zsrc {
    struct sobj *o; /* NULL for a missing key */
    double weight;
    size_t index;   /* position among the keys (tie-break of the sort) */
};

static void aggregate(double *target, double v, enum aggregate agg)
{
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target)) *target = 0; /* inf + -inf */
    } else if (agg == AGG_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

static size_t src_len(const struct zsrc *s)
{
    if (s->o == NULL) return 0;
    return s->o->type == OBJ_SET ? set_size(s->o) : zset_length(s->o);
}

/* Smallest first; equal sizes keep their key order, so every replica sums
 * in the same order. */
static int by_cardinality(const void *a, const void *b)
{
    const struct zsrc *x = a, *y = b;
    size_t lx = src_len(x), ly = src_len(y);
    if (lx != ly) return lx < ly ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* WEIGHTS and AGGREGATE after the keys (not for ZDIFF), and WITHSCORES
 * when the result is the reply (withscores non-NULL). */
static bool setop_options(struct cmd_ctx *c, int j, struct zsrc *src, long long n,
                          enum aggregate *agg, bool weights_ok, bool *withscores)
{
    while (j < c->argc) {
        long long remaining = c->argc - j;
        if (withscores && arg_is(&c->argv[j], "withscores")) {
            *withscores = true;
            j++;
        } else if (weights_ok && remaining >= n + 1 && arg_is(&c->argv[j], "weights")) {
            j++;
            for (long long i = 0; i < n; i++, j++) {
                if (!arg_to_double(&c->argv[j], &src[i].weight)) {
                    resp_error(&c->out, "ERR weight value is not a float");
                    return false;
                }
            }
        } else if (weights_ok && remaining >= 2 && arg_is(&c->argv[j], "aggregate")) {
            const struct resp_arg *a = &c->argv[j + 1];
            if (arg_is(a, "sum")) *agg = AGG_SUM;
            else if (arg_is(a, "min")) *agg = AGG_MIN;
            else if (arg_is(a, "max")) *agg = AGG_MAX;
            else {
                cmd_reply_syntax_error(c);
                return false;
            }
            j += 2;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    return true;
}

/* A source's score for member m: a plain set's members all score 1, as
 * in Redis. False if m is not in it. */
static bool src_score(const struct zsrc *s, const char *m, size_t mlen, double *score)
{
    if (s->o->type == OBJ_ZSET) return zset_score(s->o, m, mlen, score);
    if (!set_contains(s->o, m, mlen)) return false;
    *score = 1.0;
    return true;
}

/* Member m of src[0] with its score: kept if every other source has it. */
static void inter_one(const struct zsrc *src, long long n, enum aggregate agg, struct sobj *dst,
                      const char *m, size_t mlen, double own)
{
    double score = src[0].weight * own;
    if (isnan(score)) score = 0;
    for (long long j = 1; j < n; j++) {
        double v;
        if (src[j].o == src[0].o) v = own;
        else if (!src_score(&src[j], m, mlen, &v)) return;
        aggregate(&score, v * src[j].weight, agg);
    }
    int flags;
    zset_add(dst, score, m, mlen, 0, &flags, NULL);
}

/* The result is built as a skiplist and made compact if it fits, as
 * Redis does (so a -0 score survives only in a big result). Sources are
 * walked in their own order (a plain set's by member index). */
static void setop_inter(struct zsrc *src, long long n, enum aggregate agg, struct sobj *dst)
{
    if (src_len(&src[0]) == 0) return;
    if (src[0].o->type == OBJ_SET) {
        for (size_t i = 0; i < set_size(src[0].o); i++) {
            char tmp[SOBJ_INT_BUF];
            size_t len;
            const char *m = set_get_at(src[0].o, i, tmp, &len);
            inter_one(src, n, agg, dst, m, len, 1.0);
        }
        return;
    }
    struct zset_it it;
    for (zset_it_at_rank(&it, src[0].o, 0); zset_it_valid(&it); zset_it_next(&it)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        inter_one(src, n, agg, dst, e.m, e.mlen, e.score);
    }
}

static void union_one(struct dset *acc, const struct zsrc *s, enum aggregate agg, const char *m,
                      size_t mlen, double own)
{
    double score = s->weight * own;
    if (isnan(score)) score = 0;
    bool created;
    struct dict_entry *de = dset_upsert(acc, m, mlen, &created);
    if (created) de->v.d = score;
    else aggregate(&de->v.d, score, agg);
}

/* Members are accumulated in a dset and added to the result in the order
 * they were first met, so the result's member order (what ZSCAN walks) is
 * the same on every replica. */
static void setop_union(struct zsrc *src, long long n, enum aggregate agg, struct sobj *dst)
{
    struct dset acc;
    dset_init(&acc, NULL);
    for (long long i = 0; i < n; i++) {
        if (src_len(&src[i]) == 0) continue;
        if (src[i].o->type == OBJ_SET) {
            for (size_t k = 0; k < set_size(src[i].o); k++) {
                char tmp[SOBJ_INT_BUF];
                size_t len;
                const char *m = set_get_at(src[i].o, k, tmp, &len);
                union_one(&acc, &src[i], agg, m, len, 1.0);
            }
            continue;
        }
        struct zset_it it;
        for (zset_it_at_rank(&it, src[i].o, 0); zset_it_valid(&it); zset_it_next(&it)) {
            struct zset_elem e;
            zset_it_get(&it, &e);
            union_one(&acc, &src[i], agg, e.m, e.mlen, e.score);
        }
    }
    for (size_t i = 0; i < dset_size(&acc); i++) {
        const struct dict_entry *de = dset_at(&acc, i);
        int flags;
        zset_add(dst, de->v.d, de->key, de->klen, 0, &flags, NULL);
    }
    dset_clear(&acc);
}

/* ZDIFF: the members of src[0] that no other source has, with their
 * scores (src[0] is the first key: never reordered). */
static void setop_diff(struct zsrc *src, long long n, struct sobj *dst)
{
    if (src_len(&src[0]) == 0) return;
    bool plain = src[0].o->type == OBJ_SET;
    size_t count = src_len(&src[0]);
    struct zset_it it;
    if (!plain) zset_it_at_rank(&it, src[0].o, 0);
    for (size_t i = 0; i < count; i++) {
        char tmp[SOBJ_INT_BUF];
        struct zset_elem e; /* e.m may point into e.buf: e lives through the loop body */
        const char *m;
        size_t len;
        double score = 1.0;
        if (plain) {
            m = set_get_at(src[0].o, i, tmp, &len);
        } else {
            zset_it_get(&it, &e);
            zset_it_next(&it);
            m = e.m, len = e.mlen, score = e.score;
        }
        bool elsewhere = false;
        for (long long j = 1; j < n && !elsewhere; j++) {
            double v;
            if (src[j].o == src[0].o) elsewhere = true; /* the same key twice */
            else if (src[j].o) elsewhere = src_score(&src[j], m, len, &v);
        }
        if (!elsewhere) {
            int flags;
            zset_add(dst, score, m, len, 0, &flags, NULL);
        }
    }
}

enum setop { SETOP_UNION, SETOP_INTER, SETOP_DIFF };

/* ZUNION/ZINTER/ZDIFF (dstkey NULL: the result is the reply) and their
 * STORE forms: numkeys at argv[first], then the keys and the options. */
static void setop_generic(struct cmd_ctx *c, enum setop op, const struct resp_arg *dstkey, int first)
{
    long long n;
    if (!arg_get_ll_or_reply(c, &c->argv[first], &n)) return;
    if (n < 1) {
        resp_errorf(&c->out, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (n > c->argc - first - 1) {
        cmd_reply_syntax_error(c);
        return;
    }
    struct zsrc *src = xcalloc((size_t)n, sizeof *src);
    for (long long i = 0; i < n; i++) {
        /* Redis also takes plain sets here, each member with score 1. */
        bool wrong;
        src[i].o = lookup_zset_or_set(c, &c->argv[first + 1 + i], &wrong);
        src[i].weight = 1;
        src[i].index = (size_t)i;
        if (wrong) goto done;
    }
    enum aggregate agg = AGG_SUM;
    bool withscores = false;
    if (!setop_options(c, first + 1 + (int)n, src, n, &agg, op != SETOP_DIFF,
                       dstkey ? NULL : &withscores))
        goto done;
    if (op != SETOP_DIFF) qsort(src, (size_t)n, sizeof *src, by_cardinality);
    struct sobj *dst = zset_new(SIZE_MAX, 0);
    if (op == SETOP_INTER) setop_inter(src, n, agg, dst);
    else if (op == SETOP_UNION) setop_union(src, n, agg, dst);
    else setop_diff(src, n, dst);
    size_t len = zset_length(dst);
    if (len) zset_shrink_if_fits(dst);
    if (dstkey) {
        /* The event is the command's name: zunionstore, zinterstore, zdiffstore. */
        store_zset_result(c, dstkey, dst, c->cmd->name);
        resp_int(&c->out, (long long)len);
    } else {
        resp_array(&c->out, (long long)(withscores && c->out.proto == 2 ? len * 2 : len));
        struct zset_it it;
        for (zset_it_at_rank(&it, dst, 0); len && zset_it_valid(&it); zset_it_next(&it)) {
            struct zset_elem e;
            zset_it_get(&it, &e);
            reply_elem(c, e.m, e.mlen, e.score, withscores);
        }
        sobj_free(dst);
    }
done:
    free(src);
}

/* ZINTERCARD numkeys key [key ...] [LIMIT limit] */
static void cmd_zintercard(struct cmd_ctx *c)
{
    long long n, limit = 0;
    if (!arg_get_ll_or_reply(c, &c->argv[1], &n)) return;
    if (n < 1) {
        resp_errorf(&c->out, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return;
    }
    if (n > c->argc - 2) {
        cmd_reply_syntax_error(c);
        return;
    }
    for (int j = 2 + (int)n; j < c->argc; j += 2) {
        if (arg_is(&c->argv[j], "limit") && j + 1 < c->argc) {
            if (!arg_to_ll(&c->argv[j + 1], &limit) || limit < 0) {
                resp_error(&c->out, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    struct zsrc *src = xcalloc((size_t)n, sizeof *src);
    for (long long i = 0; i < n; i++) {
        bool wrong;
        src[i].o = lookup_zset_or_set(c, &c->argv[2 + i], &wrong);
        src[i].weight = 1;
        src[i].index = (size_t)i;
        if (wrong) goto done;
    }
    qsort(src, (size_t)n, sizeof *src, by_cardinality);
    struct sobj *dst = zset_new(SIZE_MAX, 0);
    setop_inter(src, n, AGG_SUM, dst);
    size_t count = zset_length(dst);
    sobj_free(dst);
    resp_int(&c->out, (long long)(limit && count > (size_t)limit ? (size_t)limit : count));
done:
    free(src);
}

static void cmd_zunionstore(struct cmd_ctx *c) { setop_generic(c, SETOP_UNION, &c->argv[1], 2); }
static void cmd_zinterstore(struct cmd_ctx *c) { setop_generic(c, SETOP_INTER, &c->argv[1], 2); }
static void cmd_zdiffstore(struct cmd_ctx *c) { setop_generic(c, SETOP_DIFF, &c->argv[1], 2); }
static void cmd_zunion(struct cmd_ctx *c) { setop_generic(c, SETOP_UNION, NULL, 1); }
static void cmd_zinter(struct cmd_ctx *c) { setop_generic(c, SETOP_INTER, NULL, 1); }
static void cmd_zdiff(struct cmd_ctx *c) { setop_generic(c, SETOP_DIFF, NULL, 1); }

/* ---------------------------------------------------------------------
 * ZSCAN
 * ------------------------------------------------------------------- */

static bool scan_match(const struct resp_arg *pattern, const char *m, size_t len)
{
    return pattern == NULL || glob_match(pattern->ptr, pattern->len, m, len, false);
}

/* A listpack set is small: everything at once, and cursor 0, with its
 * scores as it keeps them. */
static void zscan_listpack(struct cmd_ctx *c, struct sobj *o, const struct resp_arg *pattern)
{
    reply_scan_cursor(c, 0);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    struct zset_it it;
    for (zset_it_at_rank(&it, o, 0); zset_it_valid(&it); zset_it_next(&it)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        if (!scan_match(pattern, e.m, e.mlen)) continue;
        char score[32];
        resp_bulk(&c->out, e.m, e.mlen);
        resp_bulk(&c->out, score, zset_score_text(&it, score));
        n += 2;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

/* A skiplist set is scanned by its member order (zset.h), downwards
 * (cmd.h's scan_index_window): SCAN's guarantee, and the same replies on
 * every replica. COUNT counts a member and its score as two, as Redis
 * does. */
static void zscan_skiplist(struct cmd_ctx *c, struct sobj *o, uint64_t cursor, long long count,
                           const struct resp_arg *pattern)
{
    uint64_t members = count > 1 ? (uint64_t)count / 2 : 1;
    uint64_t top, bottom;
    scan_index_window(cursor, zset_length(o), members, &top, &bottom);
    reply_scan_cursor(c, bottom);
    size_t h = resp_defer_len(&c->out);
    long long n = 0;
    for (uint64_t i = top; i-- > bottom;) {
        struct zset_elem e;
        zset_get_at(o, i, &e);
        if (!scan_match(pattern, e.m, e.mlen)) continue;
        char score[32];
        resp_bulk(&c->out, e.m, e.mlen);
        resp_bulk(&c->out, score, zset_format_double(e.score, score));
        n += 2;
    }
    resp_set_deferred_len(&c->out, h, '*', n);
}

static void cmd_zscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    if (!arg_to_cursor(&c->argv[2], &cursor)) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        reply_scan_cursor(c, 0);
        resp_array(&c->out, 0);
        return;
    }
    long long count;
    const struct resp_arg *pattern;
    if (!scan_options_or_reply(c, 3, &count, &pattern)) return;
    if (o->encoding == ENC_LISTPACK) zscan_listpack(c, o, pattern);
    else zscan_skiplist(c, o, cursor, count, pattern);
}

/* ---------------------------------------------------------------------
 * ZRANDMEMBER: picks go by index in the member order (zset.h) with
 * c->rng, so a script that writes what it returned stays deterministic.
 * ------------------------------------------------------------------- */

static void reply_at(struct cmd_ctx *c, struct sobj *o, size_t i, bool withscores)
{
    struct zset_elem e;
    zset_get_at(o, i, &e);
    reply_elem(c, e.m, e.mlen, e.score, withscores);
}

static void randmember_count(struct cmd_ctx *c, long long l, bool withscores)
{
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL || l == 0) {
        resp_array(&c->out, 0);
        return;
    }
    uint64_t size = zset_length(o);
    uint64_t count = l > 0 ? (uint64_t)l : -(uint64_t)l;
    long long per = withscores && c->out.proto == 2 ? 2 : 1;
    if (l < 0 || count == 1) {
        /* Chosen independently: repeats allowed (random_count_ok bounded
         * a negative count). */
        resp_array(&c->out, (long long)count * per);
        for (uint64_t i = 0; i < count; i++)
            reply_at(c, o, dict_rand64(&c->rng) % size, withscores);
        return;
    }
    if (count >= size) {
        /* The whole set, from the highest score as Redis sends it. */
        struct zset_it it;
        resp_array(&c->out, (long long)size * per);
        for (zset_it_at_rank(&it, o, size - 1); zset_it_valid(&it); zset_it_prev(&it)) {
            struct zset_elem e;
            zset_it_get(&it, &e);
            reply_elem(c, e.m, e.mlen, e.score, withscores);
        }
        return;
    }
    uint64_t *pick = xmalloc(count * sizeof *pick);
    sample_distinct(&c->rng, size, count, pick);
    resp_array(&c->out, (long long)count * per);
    for (uint64_t i = 0; i < count; i++) reply_at(c, o, pick[i], withscores);
    free(pick);
}

static void cmd_zrandmember(struct cmd_ctx *c)
{
    if (c->argc >= 3) {
        long long l;
        if (!arg_get_ll_or_reply(c, &c->argv[2], &l)) return;
        if (l < -LLONG_MAX) {
            resp_errorf(&c->out, "ERR value is out of range, value must between %lld and %lld",
                        -LLONG_MAX, LLONG_MAX);
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(&c->argv[3], "withscores"))) {
            cmd_reply_syntax_error(c);
            return;
        }
        bool withscores = c->argc == 4;
        if (withscores && (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2)) {
            resp_error(&c->out, "ERR value is out of range");
            return;
        }
        if (random_count_ok(c, l)) randmember_count(c, l, withscores);
        return;
    }
    bool wrong;
    struct sobj *o = lookup_zset(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_null(&c->out);
        return;
    }
    reply_at(c, o, dict_rand64(&c->rng) % zset_length(o), false);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define DOOM CMD_DENYOOM
#define Z_RD (ACL_READ | ACL_SORTEDSET)
#define Z_WR (ACL_WRITE | ACL_SORTEDSET)

#define ROW(n, ar, fl, f, l, s, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "sorted-set", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

const struct cmd_def cmd_rows_zset[] = {
    ROW("zadd", -4, W | DOOM | F, 1, 1, 1, Z_WR | ACL_FAST, cmd_zadd, "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "RW update"),
    ROW("zincrby", 4, W | DOOM | F, 1, 1, 1, Z_WR | ACL_FAST, cmd_zincrby, "1.2.0",
        "Increment the score of a member in a sorted set",
        "O(log(N)) where N is the number of elements in the sorted set.", "RW access update"),
    ROW("zrem", -3, W | F, 1, 1, 1, Z_WR | ACL_FAST, cmd_zrem, "1.2.0",
        "Remove one or more members from a sorted set",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "RW delete"),
    ROW("zscore", 3, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zscore, "1.2.0",
        "Get the score associated with the given member in a sorted set",
        "O(1)", "RO access keymiss"),
    ROW("zmscore", -3, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zmscore, "6.2.0",
        "Get the score associated with the given members in a sorted set",
        "O(N) where N is the number of members being requested.", "RO access keymiss"),
    ROW("zcard", 2, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zcard, "1.2.0",
        "Get the number of members in a sorted set",
        "O(1)", "RO keymiss"),
    ROW("zcount", 4, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zcount, "2.0.0",
        "Count the members in a sorted set with scores within the given values",
        "O(log(N)) with N being the number of elements in the sorted set.", "RO access keymiss"),
    ROW("zlexcount", 4, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zlexcount, "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
        "O(log(N)) with N being the number of elements in the sorted set.", "RO access keymiss"),
    ROW("zrange", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrange, "1.2.0",
        "Return a range of members in a sorted set",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "RO access keymiss"),
    ROW("zrangestore", -5, W | DOOM, 1, 2, 1, Z_WR | ACL_SLOW, cmd_zrangestore, "6.2.0",
        "Store a range of members from sorted set into another key",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", "OW update 1, RO access keymiss 2"),
    ROW("zrangebyscore", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrangebyscore, "1.0.5",
        "Return a range of members in a sorted set, by score",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "RO access keymiss"),
    ROW("zrevrange", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrevrange, "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", "RO access keymiss"),
    ROW("zrevrangebyscore", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrevrangebyscore, "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "RO access keymiss"),
    ROW("zrangebylex", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrangebylex, "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "RO access keymiss"),
    ROW("zrevrangebylex", -4, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrevrangebylex, "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", "RO access keymiss"),
    ROW("zrank", 3, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zrank, "2.0.0",
        "Determine the index of a member in a sorted set",
        "O(log(N))", "RO access keymiss"),
    ROW("zrevrank", 3, R | F, 1, 1, 1, Z_RD | ACL_FAST, cmd_zrevrank, "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "O(log(N))", "RO access keymiss"),
    ROW("zremrangebyscore", 4, W, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zremrangebyscore, "1.2.0",
        "Remove all members in a sorted set within the given scores",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "RW delete"),
    ROW("zremrangebyrank", 4, W, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zremrangebyrank, "2.0.0",
        "Remove all members in a sorted set within the given indexes",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "RW delete"),
    ROW("zremrangebylex", 4, W, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zremrangebylex, "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", "RW delete"),
    ROW("zpopmin", -2, W | F, 1, 1, 1, Z_WR | ACL_FAST, cmd_zpopmin, "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "RW access delete"),
    ROW("zpopmax", -2, W | F, 1, 1, 1, Z_WR | ACL_FAST, cmd_zpopmax, "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "RW access delete"),
    ROW("zmpop", -4, W, 0, 0, 0, Z_WR | ACL_SLOW, cmd_zmpop, "7.0.0",
        "Remove and return members with scores in a sorted set",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", "RW access delete #1"),
    ROW("zunionstore", -4, W | DOOM, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zunionstore, "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "OW update 1, RO access keymiss #2"),
    ROW("zinterstore", -4, W | DOOM, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zinterstore, "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "OW update 1, RO access keymiss #2"),
    ROW("zdiffstore", -4, W | DOOM, 1, 1, 1, Z_WR | ACL_SLOW, cmd_zdiffstore, "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "OW update 1, RO access keymiss #2"),
    ROW("zunion", -3, R, 0, 0, 0, Z_RD | ACL_SLOW, cmd_zunion, "6.2.0",
        "Add multiple sorted sets",
        "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "RO access keymiss #1"),
    ROW("zinter", -3, R, 0, 0, 0, Z_RD | ACL_SLOW, cmd_zinter, "6.2.0",
        "Intersect multiple sorted sets",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", "RO access keymiss #1"),
    ROW("zdiff", -3, R, 0, 0, 0, Z_RD | ACL_SLOW, cmd_zdiff, "6.2.0",
        "Subtract multiple sorted sets",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", "RO access keymiss #1"),
    ROW("zintercard", -3, R, 0, 0, 0, Z_RD | ACL_SLOW, cmd_zintercard, "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", "RO access keymiss #1"),
    ROW("zscan", -3, R, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zscan, "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "RO access keymiss"),
    ROW("zrandmember", -2, R | CMD_RANDOM, 1, 1, 1, Z_RD | ACL_SLOW, cmd_zrandmember, "6.2.0",
        "Get one or multiple random elements from a sorted set",
        "O(N) where N is the number of elements returned", "RO access keymiss"),
    CMD_ROWS_END,
};
