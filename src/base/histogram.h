/* base/histogram.h — latency histograms with power-of-two buckets (bucket
 * k counts observations of at most 2^k microseconds; the last also counts
 * everything longer), their count and sum, and their Prometheus text form
 * (cumulative `_bucket{le=...}`, `_sum`, `_count`, in seconds). Used for
 * each command's duration (cmds/cmdstats.c, LATENCY HISTOGRAM) and for
 * Raft's commit and log-write times (server/metrics.c). */
#ifndef PARLEY_BASE_HISTOGRAM_H
#define PARLEY_BASE_HISTOGRAM_H

#include <stdint.h>

#include "base/buf.h"

#define HISTOGRAM_BUCKETS 40

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t count;
    uint64_t sum_us;
};

void histogram_observe(struct histogram *h, uint64_t us);
/* The bucket series of one histogram; `labels` ("cmd=\"get\"," with its
 * trailing comma, or "") goes before each sample's own labels. */
void histogram_prometheus_series(struct buf *out, const char *name, const char *labels,
                                 const struct histogram *h);
/* The upper bound, in microseconds, of the bucket holding the pct-th
 * percentile (0-100) of the observations; 0 when there are none. */
uint64_t histogram_percentile_us(const struct histogram *h, double pct);
/* "# HELP", "# TYPE name histogram" and the unlabelled series. */
void histogram_prometheus(struct buf *out, const char *name, const char *help,
                          const struct histogram *h);

#endif
