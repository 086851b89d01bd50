/* cmds/geohash.h — the geohash arithmetic of the GEO commands: positions
 * as 52-bit interleaved geohashes (the scores of a sorted set), boxes and
 * their neighbours, distances on the sphere, and the boxes that cover a
 * search area. The numbers follow Redis 7.0's GEO documentation (the WGS84
 * ranges, a 52-bit score, an earth radius of 6372797.560856 m) so that
 * scores, positions and distances come out as redis-server's. */
#ifndef PARLEY_CMDS_GEOHASH_H
#define PARLEY_CMDS_GEOHASH_H

#include <stdbool.h>
#include <stdint.h>

#define GEO_STEP_MAX 26 /* 26 steps of longitude and latitude: 52 bits */
#define GEO_LONG_MIN -180.0
#define GEO_LONG_MAX 180.0
#define GEO_LAT_MIN -85.05112878
#define GEO_LAT_MAX 85.05112878

struct geo_range {
    double min, max;
};

/* A box: `step` bits of longitude and of latitude, interleaved (latitude
 * in the even bits). bits 0 and step 0 is "no box". */
struct geo_hash {
    uint64_t bits;
    uint8_t step;
};

struct geo_area {
    struct geo_hash hash;
    struct geo_range lon, lat;
};

/* A search: around xy (longitude, latitude), a circle of `radius` or a box
 * of width x height, in units of `conversion` meters. */
struct geo_shape {
    enum { GEO_CIRCLE, GEO_BOX } type;
    double xy[2];
    double conversion;
    double radius;
    double width, height;
};

/* The center box and its eight neighbours (some cleared) to search. */
struct geo_cover {
    struct geo_hash boxes[9]; /* center, N, S, E, W, NE, NW, SE, SW */
};

/* Encodes a position with the given ranges; false when outside them. */
bool geohash_encode(const struct geo_range *lon, const struct geo_range *lat, double longitude,
                    double latitude, uint8_t step, struct geo_hash *out);
/* A position as the 52-bit score a sorted set stores (WGS84 ranges). */
bool geohash_score(double longitude, double latitude, uint64_t *score);
/* The center of the box a score names, clamped to the valid ranges. */
bool geohash_score_position(double score, double xy[2]);
/* The 11-character standard geohash (latitude range -90..90) of a score. */
bool geohash_string(double score, char out[12]);

/* Great-circle distance in meters (haversine). */
double geohash_distance(double lon1, double lat1, double lon2, double lat2);
/* Whether the point (x, y) lies in the shape; *distance from its center. */
bool geohash_in_shape(const struct geo_shape *s, double x, double y, double *distance);
/* The boxes to search for a shape. */
void geohash_cover(const struct geo_shape *s, struct geo_cover *out);
/* A box's scores: min <= score < max. */
void geohash_box_scores(struct geo_hash box, uint64_t *min, uint64_t *max);

#endif
