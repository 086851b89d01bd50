/* cmds/t_geo.c — the GEO commands: positions kept in a sorted set whose
 * scores are 52-bit geohashes (cmds/geohash.h). GEOADD is ZADD with those
 * scores; GEOPOS, GEODIST and GEOHASH decode them; GEOSEARCH,
 * GEOSEARCHSTORE and the older GEORADIUS family search the boxes around a
 * point. Replies, their order (the boxes walked center first, then N, S,
 * E, W, NE, NW, SE, SW, each in score order) and error texts follow Redis
 * 7.0's documentation, so they match redis-server's; sorting by distance
 * is stable, so equal distances keep that order on every replica. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/geohash.h"
#include "store/zset.h"

#define NOT_FLOAT "ERR value is not a valid float"

/* ---------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------- */

static bool double_or_reply(struct cmd_ctx *c, const struct resp_arg *a, double *v, const char *msg)
{
    if (arg_to_double(a, v)) return true;
    resp_error(&c->out, msg ? msg : NOT_FLOAT);
    return false;
}

/* A longitude and latitude at argv[0..1], within the WGS84 limits. */
static bool lonlat_or_reply(struct cmd_ctx *c, const struct resp_arg *argv, double xy[2])
{
    if (!double_or_reply(c, &argv[0], &xy[0], NULL) || !double_or_reply(c, &argv[1], &xy[1], NULL))
        return false;
    if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN || xy[1] > GEO_LAT_MAX) {
        resp_errorf(&c->out, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
        return false;
    }
    return true;
}

/* A unit's meters, or -1 after replying. */
static double unit_or_reply(struct cmd_ctx *c, const struct resp_arg *a)
{
    if (arg_is(a, "m")) return 1;
    if (arg_is(a, "km")) return 1000;
    if (arg_is(a, "ft")) return 0.3048;
    if (arg_is(a, "mi")) return 1609.34;
    resp_error(&c->out, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

static bool radius_or_reply(struct cmd_ctx *c, const struct resp_arg *argv, struct geo_shape *s)
{
    if (!double_or_reply(c, &argv[0], &s->radius, "ERR need numeric radius")) return false;
    if (s->radius < 0) {
        resp_error(&c->out, "ERR radius cannot be negative");
        return false;
    }
    s->conversion = unit_or_reply(c, &argv[1]);
    s->type = GEO_CIRCLE;
    return s->conversion >= 0;
}

static bool box_or_reply(struct cmd_ctx *c, const struct resp_arg *argv, struct geo_shape *s)
{
    if (!double_or_reply(c, &argv[0], &s->width, "ERR need numeric width") ||
        !double_or_reply(c, &argv[1], &s->height, "ERR need numeric height"))
        return false;
    if (s->width < 0 || s->height < 0) {
        resp_error(&c->out, "ERR height or width cannot be negative");
        return false;
    }
    s->conversion = unit_or_reply(c, &argv[2]);
    s->type = GEO_BOX;
    return s->conversion >= 0;
}

/* The sorted set at key for reading: NULL if missing; *wrong after
 * replying WRONGTYPE. */
static struct sobj *geo_lookup(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong)
{
    struct dict_entry *e = ctx_lookup_type(c, key, OBJ_ZSET, wrong);
    return e ? store_value(e) : NULL;
}

/* A member's position: false when it is not in the set. */
static bool member_position(struct sobj *z, const struct resp_arg *m, double xy[2])
{
    double score;
    return z && zset_score(z, m->ptr, m->len, &score) && geohash_score_position(score, xy);
}

/* A coordinate as Redis sends it: the shortest text of a long double
 * ("human" form), a bulk string in RESP2, a double in RESP3. */
static void reply_coordinate(struct cmd_ctx *c, double v)
{
    char text[128];
    size_t len = format_long_double(text, sizeof text, v);
    if (c->out.proto == 2) {
        resp_bulk(&c->out, text, len);
        return;
    }
    resp_raw(&c->out, ",", 1);
    resp_raw(&c->out, text, len);
    resp_raw(&c->out, "\r\n", 2);
}

static void reply_distance(struct cmd_ctx *c, double meters)
{
    char text[128];
    int len = snprintf(text, sizeof text, "%.4f", meters);
    resp_bulk(&c->out, text, (size_t)len);
}

/* ---------------------------------------------------------------------
 * GEOADD, GEOPOS, GEODIST, GEOHASH
 * ------------------------------------------------------------------- */

/* GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with the
 * positions turned into scores. */
static void cmd_geoadd(struct cmd_ctx *c)
{
    int first = 2;
    bool nx = false, xx = false;
    for (; first < c->argc; first++) {
        if (arg_is(&c->argv[first], "nx")) nx = true;
        else if (arg_is(&c->argv[first], "xx")) xx = true;
        else if (!arg_is(&c->argv[first], "ch")) break;
    }
    if ((c->argc - first) % 3 || (nx && xx)) {
        cmd_reply_syntax_error(c);
        return;
    }
    int n = (c->argc - first) / 3;
    int argc = first + 2 * n;
    struct resp_arg *argv = xmalloc((size_t)argc * sizeof *argv);
    char (*scores)[24] = xmalloc((size_t)(n ? n : 1) * sizeof *scores);
    argv[0] = (struct resp_arg){"zadd", 4};
    for (int i = 1; i < first; i++) argv[i] = c->argv[i];
    for (int i = 0; i < n; i++) {
        double xy[2];
        uint64_t score = 0;
        if (!lonlat_or_reply(c, &c->argv[first + 3 * i], xy)) goto done;
        geohash_score(xy[0], xy[1], &score);
        int len = snprintf(scores[i], sizeof scores[i], "%llu", (unsigned long long)score);
        argv[first + 2 * i] = (struct resp_arg){scores[i], (size_t)len};
        argv[first + 2 * i + 1] = c->argv[first + 3 * i + 2];
    }
    struct cmd_ctx zadd = *c;
    zadd.cmd = cmd_lookup("zadd", 4, false);
    zadd.argc = argc;
    zadd.argv = argv;
    zadd.cmd->exec(&zadd);
    c->out = zadd.out;
done:
    free(scores);
    free(argv);
}

static void cmd_geopos(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *z = geo_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double xy[2];
        if (!member_position(z, &c->argv[i], xy)) {
            resp_null_array(&c->out);
            continue;
        }
        resp_array(&c->out, 2);
        reply_coordinate(c, xy[0]);
        reply_coordinate(c, xy[1]);
    }
}

static void cmd_geodist(struct cmd_ctx *c)
{
    double to_meters = 1;
    if (c->argc == 5) {
        to_meters = unit_or_reply(c, &c->argv[4]);
        if (to_meters < 0) return;
    } else if (c->argc > 5) {
        cmd_reply_syntax_error(c);
        return;
    }
    bool wrong;
    struct sobj *z = geo_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    double a[2], b[2];
    if (!member_position(z, &c->argv[2], a) || !member_position(z, &c->argv[3], b)) {
        resp_null(&c->out);
        return;
    }
    reply_distance(c, geohash_distance(a[0], a[1], b[0], b[1]) / to_meters);
}

static void cmd_geohash(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *z = geo_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double score;
        char text[12];
        if (z && zset_score(z, c->argv[i].ptr, c->argv[i].len, &score) && geohash_string(score, text))
            resp_bulk(&c->out, text, 11);
        else resp_null(&c->out);
    }
}

/* ---------------------------------------------------------------------
 * Searching
 * ------------------------------------------------------------------- */

struct geo_point {
    double lon, lat, dist, score;
    size_t at, len; /* member, in the search's byte buffer */
};

struct geo_found {
    struct geo_point *v;
    size_t n, cap;
    struct buf members;
};

/* Appends the members of one box that lie in the shape, in score order;
 * stops at `limit` points in all (0: no limit). */
static void search_box(struct sobj *z, struct geo_hash box, const struct geo_shape *s,
                       struct geo_found *f, size_t limit)
{
    uint64_t min, max;
    geohash_box_scores(box, &min, &max);
    struct zrange_spec range = {(double)min, (double)max, false, true};
    struct zset_it it;
    zset_it_in_range(&it, z, &range, false);
    for (; zset_it_valid(&it); zset_it_next(&it)) {
        struct zset_elem e;
        zset_it_get(&it, &e);
        if (!zset_score_lte_max(e.score, &range)) break;
        double xy[2], dist;
        if (!geohash_score_position(e.score, xy) || !geohash_in_shape(s, xy[0], xy[1], &dist))
            continue;
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 32;
            f->v = xrealloc(f->v, f->cap * sizeof *f->v);
        }
        f->v[f->n++] = (struct geo_point){xy[0], xy[1], dist, e.score, f->members.len, e.mlen};
        buf_append(&f->members, e.m, e.mlen);
        if (limit && f->n >= limit) break;
    }
}

static void search(struct sobj *z, const struct geo_shape *s, struct geo_found *f, size_t limit)
{
    struct geo_cover cover;
    geohash_cover(s, &cover);
    int last = -1;
    for (int i = 0; i < 9; i++) {
        struct geo_hash b = cover.boxes[i];
        if (b.bits == 0 && b.step == 0) continue;
        /* Huge areas make neighbours coincide: a box equal to the one
         * searched just before is skipped. */
        if (last > 0 && b.bits == cover.boxes[last].bits && b.step == cover.boxes[last].step) continue;
        if (f->n && limit && f->n >= limit) break;
        search_box(z, b, s, f, limit);
        last = i;
    }
}

static void merge_by_distance(struct geo_point *v, struct geo_point *tmp, size_t n, bool desc)
{
    if (n < 2) return;
    size_t h = n / 2;
    merge_by_distance(v, tmp, h, desc);
    merge_by_distance(v + h, tmp, n - h, desc);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        bool right_first = desc ? v[j].dist > v[i].dist : v[j].dist < v[i].dist;
        tmp[k++] = right_first ? v[j++] : v[i++];
    }
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

enum {
    GEO_RADIUS_COORDS = 1 << 0, /* GEORADIUS[_RO] */
    GEO_RADIUS_MEMBER = 1 << 1, /* GEORADIUSBYMEMBER[_RO] */
    GEO_NO_STORE = 1 << 2,      /* the _RO forms */
    GEO_SEARCH = 1 << 3,        /* GEOSEARCH, GEOSEARCHSTORE */
    GEO_SEARCH_STORE = 1 << 4,  /* GEOSEARCHSTORE */
};
enum { SORT_NONE, SORT_ASC, SORT_DESC };

static void georadius_generic(struct cmd_ctx *c, int src, int flags)
{
    const struct resp_arg *storekey = NULL;
    bool storedist = false;
    bool wrong;
    struct sobj *z = geo_lookup(c, &c->argv[src], &wrong);
    if (wrong) return;

    struct geo_shape shape = {0};
    int base;
    if (flags & GEO_RADIUS_COORDS) {
        base = 6;
        if (!lonlat_or_reply(c, &c->argv[2], shape.xy)) return;
        if (!radius_or_reply(c, &c->argv[base - 2], &shape)) return;
    } else if (flags & GEO_RADIUS_MEMBER) {
        base = 5;
        if (z) {
            if (!member_position(z, &c->argv[2], shape.xy)) {
                resp_error(&c->out, "ERR could not decode requested zset member");
                return;
            }
            if (!radius_or_reply(c, &c->argv[base - 2], &shape)) return;
        }
    } else {
        base = 2;
        if (flags & GEO_SEARCH_STORE) {
            base = 3;
            storekey = &c->argv[1];
        }
    }

    bool withdist = false, withhash = false, withcoord = false, any = false;
    bool frommember = false, fromloc = false, byradius = false, bybox = false;
    int sort = SORT_NONE;
    long long count = 0;
    int left = c->argc - base;
    for (int i = 0; i < left; i++) {
        const struct resp_arg *a = &c->argv[base + i];
        const struct resp_arg *next = &c->argv[base + i + 1];
        if (arg_is(a, "withdist")) {
            withdist = true;
        } else if (arg_is(a, "withhash")) {
            withhash = true;
        } else if (arg_is(a, "withcoord")) {
            withcoord = true;
        } else if (arg_is(a, "any")) {
            any = true;
        } else if (arg_is(a, "asc")) {
            sort = SORT_ASC;
        } else if (arg_is(a, "desc")) {
            sort = SORT_DESC;
        } else if (arg_is(a, "count") && i + 1 < left) {
            if (!arg_get_ll_or_reply(c, next, &count)) return;
            if (count <= 0) {
                resp_error(&c->out, "ERR COUNT must be > 0");
                return;
            }
            i++;
        } else if ((arg_is(a, "store") || arg_is(a, "storedist")) && i + 1 < left &&
                   !(flags & GEO_NO_STORE) && !(flags & GEO_SEARCH)) {
            storekey = next;
            storedist = arg_is(a, "storedist");
            i++;
        } else if (arg_is(a, "storedist") && (flags & GEO_SEARCH_STORE)) {
            storedist = true;
        } else if (arg_is(a, "frommember") && i + 1 < left && (flags & GEO_SEARCH) && !fromloc) {
            /* Without the key, the arguments are still checked. */
            if (z && !member_position(z, next, shape.xy)) {
                resp_error(&c->out, "ERR could not decode requested zset member");
                return;
            }
            frommember = true;
            i++;
        } else if (arg_is(a, "fromlonlat") && i + 2 < left && (flags & GEO_SEARCH) && !frommember) {
            if (!lonlat_or_reply(c, next, shape.xy)) return;
            fromloc = true;
            i += 2;
        } else if (arg_is(a, "byradius") && i + 2 < left && (flags & GEO_SEARCH) && !bybox) {
            if (!radius_or_reply(c, next, &shape)) return;
            byradius = true;
            i += 2;
        } else if (arg_is(a, "bybox") && i + 3 < left && (flags & GEO_SEARCH) && !byradius) {
            if (!box_or_reply(c, next, &shape)) return;
            bybox = true;
            i += 3;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    if (storekey && (withdist || withhash || withcoord)) {
        resp_errorf(&c->out, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                    (flags & GEO_SEARCH_STORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return;
    }
    if ((flags & GEO_SEARCH) && !(frommember || fromloc)) {
        resp_errorf(&c->out, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %.*s",
                    (int)c->argv[0].len, c->argv[0].ptr);
        return;
    }
    if ((flags & GEO_SEARCH) && !(byradius || bybox)) {
        resp_errorf(&c->out, "ERR exactly one of BYRADIUS and BYBOX can be specified for %.*s",
                    (int)c->argv[0].len, c->argv[0].ptr);
        return;
    }
    if (any && !count) {
        resp_error(&c->out, "ERR the ANY argument requires COUNT argument");
        return;
    }
    if (z == NULL) {
        if (storekey) {
            if (store_delete(c->store, c->db, storekey->ptr, storekey->len))
                ctx_notify(c, NOTIFY_GENERIC, "del", storekey);
            resp_int(&c->out, 0);
        } else {
            resp_array(&c->out, 0);
        }
        return;
    }
    /* The nearest COUNT need the points sorted (not with ANY). */
    if (count != 0 && sort == SORT_NONE && !any) sort = SORT_ASC;

    struct geo_found f = {0};
    search(z, &shape, &f, any ? (size_t)count : 0);
    size_t returned = count == 0 || f.n < (size_t)count ? f.n : (size_t)count;
    if (sort != SORT_NONE && f.n > 1) {
        struct geo_point *tmp = xmalloc(f.n * sizeof *tmp);
        merge_by_distance(f.v, tmp, f.n, sort == SORT_DESC);
        free(tmp);
    }
    if (storekey == NULL) {
        int options = withdist + withhash + withcoord;
        resp_array(&c->out, (long long)returned);
        for (size_t i = 0; i < returned; i++) {
            const struct geo_point *p = &f.v[i];
            if (options) resp_array(&c->out, options + 1);
            resp_bulk(&c->out, f.members.data + p->at, p->len);
            if (withdist) reply_distance(c, p->dist / shape.conversion);
            if (withhash) resp_int(&c->out, (long long)p->score);
            if (withcoord) {
                resp_array(&c->out, 2);
                reply_coordinate(c, p->lon);
                reply_coordinate(c, p->lat);
            }
        }
    } else if (returned > 0) {
        size_t max_len = 0;
        for (size_t i = 0; i < returned; i++)
            if (f.v[i].len > max_len) max_len = f.v[i].len;
        struct sobj *out = zset_new(returned, max_len);
        for (size_t i = 0; i < returned; i++) {
            const struct geo_point *p = &f.v[i];
            double score = storedist ? p->dist / shape.conversion : p->score;
            int outf = 0;
            zset_add(out, score, f.members.data + p->at, p->len, 0, &outf, NULL);
        }
        store_set(c->store, c->db, storekey->ptr, storekey->len, out, false);
        ctx_notify(c, NOTIFY_ZSET, (flags & GEO_SEARCH) ? "geosearchstore" : "georadiusstore",
                   storekey);
        resp_int(&c->out, (long long)returned);
    } else {
        if (store_delete(c->store, c->db, storekey->ptr, storekey->len))
            ctx_notify(c, NOTIFY_GENERIC, "del", storekey);
        resp_int(&c->out, 0);
    }
    free(f.v);
    buf_free(&f.members);
}

static void cmd_georadius(struct cmd_ctx *c) { georadius_generic(c, 1, GEO_RADIUS_COORDS); }
static void cmd_georadius_ro(struct cmd_ctx *c)
{
    georadius_generic(c, 1, GEO_RADIUS_COORDS | GEO_NO_STORE);
}
static void cmd_georadiusbymember(struct cmd_ctx *c) { georadius_generic(c, 1, GEO_RADIUS_MEMBER); }
static void cmd_georadiusbymember_ro(struct cmd_ctx *c)
{
    georadius_generic(c, 1, GEO_RADIUS_MEMBER | GEO_NO_STORE);
}
static void cmd_geosearch(struct cmd_ctx *c) { georadius_generic(c, 1, GEO_SEARCH); }
static void cmd_geosearchstore(struct cmd_ctx *c)
{
    georadius_generic(c, 2, GEO_SEARCH | GEO_SEARCH_STORE);
}

/* ---------------------------------------------------------------------
 * Command table rows (Redis 7.0's COMMAND INFO / COMMAND DOCS)
 * ------------------------------------------------------------------- */

#define W CMD_WRITE
#define R CMD_READONLY
#define DOOM CMD_DENYOOM
#define G_RD (ACL_GEO | ACL_READ | ACL_SLOW)
#define G_WR (ACL_GEO | ACL_WRITE | ACL_SLOW)
#define ROW(n, ar, fl, f, l, s, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, "geo", since, sum, cx, NULL, "" __VA_ARGS__, NULL}
#define SEARCH_CX \
    "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around " \
    "the shape provided as the filter and M is the number of items inside the shape"
#define RADIUS_CX \
    "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area " \
    "delimited by center and radius and M is the number of items inside the index."

const struct cmd_def cmd_rows_geo[] = {
    ROW("geoadd", -5, W | DOOM, 1, 1, 1, G_WR, cmd_geoadd, "3.2.0",
        "Add one or more geospatial items in the geospatial index represented using a sorted set",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "RW update"),
    ROW("geodist", -4, R, 1, 1, 1, G_RD, cmd_geodist, "3.2.0",
        "Returns the distance between two members of a geospatial index", "O(log(N))", "RO access keymiss"),
    ROW("geohash", -2, R, 1, 1, 1, G_RD, cmd_geohash, "3.2.0",
        "Returns members of a geospatial index as standard geohash strings",
        "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", "RO access keymiss"),
    ROW("geopos", -2, R, 1, 1, 1, G_RD, cmd_geopos, "3.2.0",
        "Returns longitude and latitude of members of a geospatial index",
        "O(N) where N is the number of members requested.", "RO access keymiss"),
    ROW("georadius", -6, W | DOOM, 1, 1, 1, G_WR, cmd_georadius, "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given "
        "maximum distance from a point", RADIUS_CX, "RO access keymiss 1, OW update STORE@6/1, OW update STOREDIST@6/1"),
    ROW("georadius_ro", -6, R, 1, 1, 1, G_RD, cmd_georadius_ro, "3.2.10",
        "A read-only variant for GEORADIUS", RADIUS_CX, "RO access keymiss"),
    ROW("georadiusbymember", -5, W | DOOM, 1, 1, 1, G_WR, cmd_georadiusbymember, "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given "
        "maximum distance from a member",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area "
        "delimited by center and radius and M is the number of items inside the index.", "RO access keymiss 1, OW update STORE@5/1, OW update STOREDIST@5/1"),
    ROW("georadiusbymember_ro", -5, R, 1, 1, 1, G_RD, cmd_georadiusbymember_ro,
        "3.2.10", "A read-only variant for GEORADIUSBYMEMBER",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area "
        "delimited by center and radius and M is the number of items inside the index.", "RO access keymiss"),
    ROW("geosearch", -7, R, 1, 1, 1, G_RD, cmd_geosearch, "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a "
        "box or a circle.", SEARCH_CX, "RO access keymiss"),
    ROW("geosearchstore", -8, W | DOOM, 1, 2, 1, G_WR, cmd_geosearchstore, "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a "
        "box or a circle, and store the result in another key.", SEARCH_CX, "OW update 1, RO access keymiss 2"),
    CMD_ROWS_END,
};
