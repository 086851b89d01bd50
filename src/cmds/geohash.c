/* cmds/geohash.c — see geohash.h. */
#include "cmds/geohash.h"

#include <math.h>
#include <string.h>

#define EARTH_RADIUS_M 6372797.560856
#define MERCATOR_MAX 20037726.37
#define DEG_TO_RAD (M_PI / 180.0)

static inline double deg_rad(double a) { return a * DEG_TO_RAD; }
static inline double rad_deg(double a) { return a / DEG_TO_RAD; }

static const struct geo_range WGS84_LON = {GEO_LONG_MIN, GEO_LONG_MAX};
static const struct geo_range WGS84_LAT = {GEO_LAT_MIN, GEO_LAT_MAX};

/* The bits of x in the even positions of the result. */
static uint64_t spread(uint32_t x)
{
    uint64_t v = x;
    v = (v | (v << 16)) & 0x0000FFFF0000FFFFull;
    v = (v | (v << 8)) & 0x00FF00FF00FF00FFull;
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0Full;
    v = (v | (v << 2)) & 0x3333333333333333ull;
    v = (v | (v << 1)) & 0x5555555555555555ull;
    return v;
}

/* The even bits of v, packed. */
static uint32_t squash(uint64_t v)
{
    v &= 0x5555555555555555ull;
    v = (v | (v >> 1)) & 0x3333333333333333ull;
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0Full;
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FFull;
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFFull;
    v = (v | (v >> 16)) & 0x00000000FFFFFFFFull;
    return (uint32_t)v;
}

bool geohash_encode(const struct geo_range *lon, const struct geo_range *lat, double longitude,
                    double latitude, uint8_t step, struct geo_hash *out)
{
    if (step == 0 || step > 32) return false;
    /* Never outside the WGS84 limits, whatever the ranges. */
    if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX ||
        latitude < GEO_LAT_MIN)
        return false;
    if (latitude < lat->min || latitude > lat->max || longitude < lon->min || longitude > lon->max)
        return false;
    double lat_off = (latitude - lat->min) / (lat->max - lat->min);
    double lon_off = (longitude - lon->min) / (lon->max - lon->min);
    lat_off *= (double)(1ull << step);
    lon_off *= (double)(1ull << step);
    out->bits = spread((uint32_t)lat_off) | (spread((uint32_t)lon_off) << 1);
    out->step = step;
    return true;
}

bool geohash_score(double longitude, double latitude, uint64_t *score)
{
    struct geo_hash h;
    if (!geohash_encode(&WGS84_LON, &WGS84_LAT, longitude, latitude, GEO_STEP_MAX, &h)) return false;
    *score = h.bits << (52 - 2 * GEO_STEP_MAX);
    return true;
}

static void decode_area(const struct geo_range *lon, const struct geo_range *lat, struct geo_hash h,
                        struct geo_area *a)
{
    uint32_t ilat = squash(h.bits), ilon = squash(h.bits >> 1);
    double scale = (double)(1ull << h.step);
    double lat_scale = lat->max - lat->min, lon_scale = lon->max - lon->min;
    a->hash = h;
    a->lat.min = lat->min + (ilat * 1.0 / scale) * lat_scale;
    a->lat.max = lat->min + ((ilat + 1) * 1.0 / scale) * lat_scale;
    a->lon.min = lon->min + (ilon * 1.0 / scale) * lon_scale;
    a->lon.max = lon->min + ((ilon + 1) * 1.0 / scale) * lon_scale;
}

static void area_center(const struct geo_area *a, double xy[2])
{
    xy[0] = (a->lon.min + a->lon.max) / 2;
    if (xy[0] > GEO_LONG_MAX) xy[0] = GEO_LONG_MAX;
    if (xy[0] < GEO_LONG_MIN) xy[0] = GEO_LONG_MIN;
    xy[1] = (a->lat.min + a->lat.max) / 2;
    if (xy[1] > GEO_LAT_MAX) xy[1] = GEO_LAT_MAX;
    if (xy[1] < GEO_LAT_MIN) xy[1] = GEO_LAT_MIN;
}

/* A score as the bits Redis reads from it: the conversion of a double to
 * an unsigned 64-bit integer as GCC compiles it on x86-64 (negative
 * values wrap; NaN and values out of range give 2^63, or 0 at 2^64 and
 * above), spelled out so that any score a user gave, not only a GEOADD's,
 * decodes alike everywhere and without undefined behaviour. */
static uint64_t score_bits(double score)
{
    const double two63 = 9223372036854775808.0;
    if (!(score == score)) return 1ull << 63;
    if (score >= 0 && score < two63) return (uint64_t)score;
    if (score >= two63 && score < 2 * two63) return (uint64_t)(score - two63) ^ (1ull << 63);
    if (score >= 2 * two63) return 0;
    if (score > -two63) return (uint64_t)(int64_t)score;
    return 1ull << 63;
}

bool geohash_score_position(double score, double xy[2])
{
    struct geo_hash h = {score_bits(score), GEO_STEP_MAX};
    struct geo_area a;
    decode_area(&WGS84_LON, &WGS84_LAT, h, &a);
    area_center(&a, xy);
    return true;
}

bool geohash_string(double score, char out[12])
{
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    double xy[2];
    if (!geohash_score_position(score, xy)) return false;
    const struct geo_range lon = {-180, 180}, lat = {-90, 90};
    struct geo_hash h = {0, 0};
    geohash_encode(&lon, &lat, xy[0], xy[1], GEO_STEP_MAX, &h);
    for (int i = 0; i < 11; i++) {
        /* 52 bits make ten characters and two bits: the eleventh is 0. */
        int idx = i == 10 ? 0 : (int)((h.bits >> (52 - (i + 1) * 5)) & 0x1f);
        out[i] = alphabet[idx];
    }
    out[11] = '\0';
    return true;
}

static double lat_distance(double lat1, double lat2)
{
    return EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double geohash_distance(double lon1, double lat1, double lon2, double lat2)
{
    double v = sin((deg_rad(lon2) - deg_rad(lon1)) / 2);
    /* On one meridian the distance is along it. */
    if (v == 0.0) return lat_distance(lat1, lat2);
    double lat1r = deg_rad(lat1), lat2r = deg_rad(lat2);
    double u = sin((lat2r - lat1r) / 2);
    double a = u * u + cos(lat1r) * cos(lat2r) * v * v;
    return 2.0 * EARTH_RADIUS_M * asin(sqrt(a));
}

bool geohash_in_shape(const struct geo_shape *s, double x, double y, double *distance)
{
    if (s->type == GEO_CIRCLE) {
        *distance = geohash_distance(s->xy[0], s->xy[1], x, y);
        return *distance <= s->radius * s->conversion;
    }
    double width = s->width * s->conversion, height = s->height * s->conversion;
    /* The cheaper latitude test first. */
    if (lat_distance(y, s->xy[1]) > height / 2) return false;
    if (geohash_distance(x, y, s->xy[0], y) > width / 2) return false;
    *distance = geohash_distance(s->xy[0], s->xy[1], x, y);
    return true;
}

/* Moves a box one step east (d > 0) or west along the odd (longitude)
 * bits, wrapping around. */
static void move_x(struct geo_hash *h, int d)
{
    if (d == 0) return;
    uint64_t x = h->bits & 0xaaaaaaaaaaaaaaaaull, y = h->bits & 0x5555555555555555ull;
    uint64_t zz = 0x5555555555555555ull >> (64 - h->step * 2);
    if (d > 0) {
        x = x + (zz + 1);
    } else {
        x = x | zz;
        x = x - (zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaaull >> (64 - h->step * 2);
    h->bits = x | y;
}

/* The same north (d > 0) or south along the even (latitude) bits. */
static void move_y(struct geo_hash *h, int d)
{
    if (d == 0) return;
    uint64_t x = h->bits & 0xaaaaaaaaaaaaaaaaull, y = h->bits & 0x5555555555555555ull;
    uint64_t zz = 0xaaaaaaaaaaaaaaaaull >> (64 - h->step * 2);
    if (d > 0) {
        y = y + (zz + 1);
    } else {
        y = y | zz;
        y = y - (zz + 1);
    }
    y &= 0x5555555555555555ull >> (64 - h->step * 2);
    h->bits = x | y;
}

enum { C_CENTER, C_N, C_S, C_E, C_W, C_NE, C_NW, C_SE, C_SW };

static void neighbours(struct geo_hash h, struct geo_hash out[9])
{
    static const int dx[9] = {0, 0, 0, 1, -1, 1, -1, 1, -1};
    static const int dy[9] = {0, 1, -1, 0, 0, 1, 1, -1, -1};
    for (int i = 0; i < 9; i++) {
        out[i] = h;
        move_x(&out[i], dx[i]);
        move_y(&out[i], dy[i]);
    }
}

/* The step whose boxes are about as large as the search radius. */
static uint8_t steps_for_radius(double meters, double lat)
{
    if (meters == 0) return GEO_STEP_MAX;
    int step = 1;
    while (meters < MERCATOR_MAX) {
        meters *= 2;
        step++;
    }
    step -= 2; /* so that the range falls inside the nine boxes */
    /* Boxes narrow towards the poles. */
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > GEO_STEP_MAX) step = GEO_STEP_MAX;
    return (uint8_t)step;
}

/* The shape's bounding box: min longitude, min latitude, max longitude,
 * max latitude. */
static void bounding_box(const struct geo_shape *s, double b[4])
{
    double lon = s->xy[0], lat = s->xy[1];
    double height = s->conversion * (s->type == GEO_CIRCLE ? s->radius : s->height / 2);
    double width = s->conversion * (s->type == GEO_CIRCLE ? s->radius : s->width / 2);
    double lat_delta = rad_deg(height / EARTH_RADIUS_M);
    double lon_delta_top = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
    double lon_delta_bottom = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
    /* The wider edge is the one nearer the equator. */
    bool south = lat < 0;
    b[0] = south ? lon - lon_delta_bottom : lon - lon_delta_top;
    b[2] = south ? lon + lon_delta_bottom : lon + lon_delta_top;
    b[1] = lat - lat_delta;
    b[3] = lat + lat_delta;
}

void geohash_cover(const struct geo_shape *s, struct geo_cover *out)
{
    double b[4];
    bounding_box(s, b);
    double min_lon = b[0], min_lat = b[1], max_lon = b[2], max_lat = b[3];
    double radius = s->type == GEO_CIRCLE
                        ? s->radius
                        : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
    radius *= s->conversion;
    uint8_t steps = steps_for_radius(radius, s->xy[1]);
    struct geo_hash h = {0, 0};
    struct geo_area area;
    geohash_encode(&WGS84_LON, &WGS84_LAT, s->xy[0], s->xy[1], steps, &h);
    neighbours(h, out->boxes);
    decode_area(&WGS84_LON, &WGS84_LAT, h, &area);

    /* Near the edge of the center box, boxes of this step may not reach
     * the whole search area: one step larger then. */
    struct geo_area n, so, e, w;
    decode_area(&WGS84_LON, &WGS84_LAT, out->boxes[C_N], &n);
    decode_area(&WGS84_LON, &WGS84_LAT, out->boxes[C_S], &so);
    decode_area(&WGS84_LON, &WGS84_LAT, out->boxes[C_E], &e);
    decode_area(&WGS84_LON, &WGS84_LAT, out->boxes[C_W], &w);
    bool larger = n.lat.max < max_lat || so.lat.min > min_lat || e.lon.max < max_lon ||
                  w.lon.min > min_lon;
    if (steps > 1 && larger) {
        steps--;
        geohash_encode(&WGS84_LON, &WGS84_LAT, s->xy[0], s->xy[1], steps, &h);
        neighbours(h, out->boxes);
        decode_area(&WGS84_LON, &WGS84_LAT, h, &area);
    }
    /* Drop the neighbours on a side the search area does not reach. */
    if (steps >= 2) {
        static const struct geo_hash none = {0, 0};
        if (area.lat.min < min_lat) out->boxes[C_S] = out->boxes[C_SW] = out->boxes[C_SE] = none;
        if (area.lat.max > max_lat) out->boxes[C_N] = out->boxes[C_NE] = out->boxes[C_NW] = none;
        if (area.lon.min < min_lon) out->boxes[C_W] = out->boxes[C_SW] = out->boxes[C_NW] = none;
        if (area.lon.max > max_lon) out->boxes[C_E] = out->boxes[C_SE] = out->boxes[C_NE] = none;
    }
}

void geohash_box_scores(struct geo_hash box, uint64_t *min, uint64_t *max)
{
    int shift = 52 - box.step * 2;
    *min = box.bits << shift;
    *max = (box.bits + 1) << shift;
}
