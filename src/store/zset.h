/* store/zset.h — sorted sets: unique members, each with a score, ordered by
 * (score, member).
 *
 * Two encodings, as Redis 7.0:
 *
 *   listpack  member, score, member, score, ... in order, in one listpack,
 *             while the set has at most zset-max-listpack-entries members of
 *             at most zset-max-listpack-value bytes (replicated settings,
 *             store/encoding.h; defaults 128 and 64, the constants below). A score is kept as its
 *             text: an integer when it is integral and within +-2^62 (so
 *             -0 is kept as 0, Redis's quirk), else "%.17g", "inf", "-inf".
 *   skiplist  a skiplist ordered by (score, member) with spans (ranks in
 *             O(log N)) and a dset (dset.h) from member to node: its dict
 *             finds members, its dense array lists them in a replicated
 *             member order. The dset entry holds the member's bytes; the
 *             node points at its entry.
 *
 * A listpack set becomes a skiplist when an insertion would cross a limit;
 * it never goes back, except that zset_shrink_if_fits lets commands that
 * build a new set (ZUNIONSTORE...) choose the compact form as Redis does.
 *
 * Node levels come from a PRNG kept in each skiplist: they change neither
 * the order nor any reply, so they may differ between replicas.
 *
 * The member order (zset_get_at) is what ZSCAN walks: for a listpack it is
 * the rank order; for a skiplist the dset's array, which depends only on
 * the sequence of changes (a new member is appended, a removed member's
 * place goes to the last one, a score change moves nothing), never on hash
 * seeds or table layout, so it is the same on every replica. The rank
 * order would not do: it shifts under every insertion, which would break
 * SCAN's guarantee. Snapshots and copies keep the member order (a skiplist
 * is written in it and rebuilt by adding its members in turn).
 *
 * Nothing here replies to clients; cmds/t_zset.c does. */
#ifndef PARLEY_STORE_ZSET_H
#define PARLEY_STORE_ZSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/object.h"

/* The defaults (store_encoding_defaults); the live limits are store_enc()'s. */
#define ZSET_LISTPACK_MAX_ENTRIES 128
#define ZSET_LISTPACK_MAX_VALUE 64
#define ZSL_MAX_LEVEL 32

extern const struct sobj_ops zset_type_ops;

struct zsl_node;

/* An empty set in the encoding Redis would choose for `count` members the
 * longest of which is `max_len` bytes (listpack unless a limit is passed).
 * The caller adds members and never stores it empty. */
struct sobj *zset_new(size_t count, size_t max_len);
size_t zset_length(const struct sobj *o);

/* zset_add flags, Redis's ZADD_IN_* / ZADD_OUT_*. */
enum {
    ZADD_IN_INCR = 1 << 0, /* add score to the current one */
    ZADD_IN_NX = 1 << 1,   /* only add new members */
    ZADD_IN_XX = 1 << 2,   /* only update existing members */
    ZADD_IN_GT = 1 << 3,   /* only update to a greater score */
    ZADD_IN_LT = 1 << 4,   /* only update to a smaller score */
};
enum {
    ZADD_OUT_NOP = 1 << 0,     /* nothing done because of NX/XX/GT/LT */
    ZADD_OUT_NAN = 1 << 1,     /* the (resulting) score is NaN */
    ZADD_OUT_ADDED = 1 << 2,   /* a new member */
    ZADD_OUT_UPDATED = 1 << 3, /* an existing member's score changed */
};

/* Redis's zsetAdd: false (with ZADD_OUT_NAN) when the score or the
 * incremented score is NaN, nothing changed. *newscore (may be NULL) gets
 * the member's score when it was added or updated (or left equal). */
bool zset_add(struct sobj *o, double score, const char *m, size_t mlen, int in_flags,
              int *out_flags, double *newscore);
bool zset_del(struct sobj *o, const char *m, size_t mlen);
bool zset_score(struct sobj *o, const char *m, size_t mlen, double *score);
/* 0-based rank of m (from the highest score if reverse), or -1. */
long long zset_rank(struct sobj *o, const char *m, size_t mlen, bool reverse);

/* A score interval; minex/maxex make the bound exclusive. */
struct zrange_spec {
    double min, max;
    bool minex, maxex;
};

/* A lexicographic bound: "-" (below everything), "+" (above everything),
 * or a string, inclusive ("[x") or exclusive ("(x"). p points into memory
 * the caller keeps alive. */
enum zlex_kind { ZLEX_NEG_INF, ZLEX_POS_INF, ZLEX_STR };
struct zlex_bound {
    enum zlex_kind kind;
    bool ex;
    const char *p;
    size_t len;
};
struct zlex_spec {
    struct zlex_bound min, max;
};

/* Redis's range parsers (zslParseRange, zslParseLexRange): false when an
 * argument is malformed. Score bounds go through strtod as Redis's do, so
 * "" means 0 and leading spaces are accepted. */
bool zset_parse_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                      struct zrange_spec *spec);
bool zset_parse_lex_range(const char *min, size_t minlen, const char *max, size_t maxlen,
                          struct zlex_spec *spec);
bool zset_score_gte_min(double v, const struct zrange_spec *s);
bool zset_score_lte_max(double v, const struct zrange_spec *s);
bool zset_lex_gte_min(const char *m, size_t mlen, const struct zlex_spec *s);
bool zset_lex_lte_max(const char *m, size_t mlen, const struct zlex_spec *s);

/* One element as read through an iterator: m points into the set (or into
 * buf, for a listpack member stored as an integer) and stays valid until
 * the set changes or the element struct goes away. */
struct zset_elem {
    const char *m;
    size_t mlen;
    double score;
    char buf[24];
};

/* A position in a set, walkable both ways. Invalid past either end. */
struct zset_it {
    struct sobj *o;
    size_t pos;            /* listpack: offset of the member, 0 at the end */
    struct zsl_node *node; /* skiplist: NULL at the end */
};

bool zset_it_valid(const struct zset_it *it);
void zset_it_get(const struct zset_it *it, struct zset_elem *e);
void zset_it_next(struct zset_it *it);
void zset_it_prev(struct zset_it *it);
/* Positions the iterator at 0-based rank (from the lowest score). */
void zset_it_at_rank(struct zset_it *it, struct sobj *o, size_t rank);
/* The first element in the range, or the last one if `last`. */
void zset_it_in_range(struct zset_it *it, struct sobj *o, const struct zrange_spec *s, bool last);
void zset_it_in_lex_range(struct zset_it *it, struct sobj *o, const struct zlex_spec *s, bool last);

size_t zset_count_in_range(struct sobj *o, const struct zrange_spec *s);
size_t zset_count_in_lex_range(struct sobj *o, const struct zlex_spec *s);

/* Deletions by rank (0-based, inclusive, start <= end < length), score
 * range and lex range; each returns how many members it removed. */
size_t zset_delete_rank_range(struct sobj *o, size_t start, size_t end);
size_t zset_delete_range(struct sobj *o, const struct zrange_spec *s);
size_t zset_delete_lex_range(struct sobj *o, const struct zlex_spec *s);

/* Converts a skiplist set that fits the listpack limits (for results that
 * commands build from scratch, as Redis's zsetConvertToListpackIfNeeded). */
void zset_shrink_if_fits(struct sobj *o);
/* Converts a listpack set to a skiplist (no-op for a skiplist). */
void zset_to_skiplist(struct sobj *o);

/* Bytes the members take (a listpack's whole size, scores included): an
 * estimate for bounding reply sizes. */
size_t zset_member_bytes(const struct sobj *o);

/* The text ZSCAN shows for an element's score: for a listpack the text it
 * stores (an integer stays "3", "1e+17" stays "100000000000000000"), for a
 * skiplist "%.17g" as a reply double. Returns the length; buf >= 32. */
size_t zset_score_text(const struct zset_it *it, char *buf);
/* "%.17g", "inf", "-inf": how replies print a double. buf >= 32. */
size_t zset_format_double(double d, char *buf);

/* The element at index i (0 <= i < length) of the member order (above):
 * O(1) for a skiplist, a seek for a listpack. */
void zset_get_at(struct sobj *o, size_t i, struct zset_elem *e);

#endif
