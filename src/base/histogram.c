/* base/histogram.c — power-of-two latency histograms (histogram.h). */
#include "base/histogram.h"

#include <math.h>

void histogram_observe(struct histogram *h, uint64_t us)
{
    unsigned k = us <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(us - 1);
    h->counts[k < HISTOGRAM_BUCKETS ? k : HISTOGRAM_BUCKETS - 1]++;
    h->count++;
    h->sum_us += us;
}

uint64_t histogram_percentile_us(const struct histogram *h, double pct)
{
    if (h->count == 0) return 0;
    /* The observation of rank ceil(pct% of count), at least the first. */
    double want = ceil(pct / 100.0 * (double)h->count);
    uint64_t rank = want < 1.0 ? 1 : (uint64_t)want;
    uint64_t seen = 0;
    for (int k = 0; k < HISTOGRAM_BUCKETS; k++) {
        seen += h->counts[k];
        if (seen >= rank) return 1ull << k;
    }
    return 1ull << (HISTOGRAM_BUCKETS - 1);
}

void histogram_prometheus_series(struct buf *out, const char *name, const char *labels,
                                 const struct histogram *h)
{
    uint64_t cumulative = 0;
    for (int k = 0; k < HISTOGRAM_BUCKETS; k++) {
        cumulative += h->counts[k];
        buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, (double)(1ull << k) / 1e6,
                   (unsigned long long)cumulative);
    }
    size_t n = 0;
    while (labels[n]) n++;
    int bare = n > 0 ? (int)n - 1 : 0; /* the labels without their trailing comma */
    const char *open = n ? "{" : "", *close = n ? "}" : "";
    buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n%s_sum%s%.*s%s %.6f\n%s_count%s%.*s%s %llu\n",
               name, labels, (unsigned long long)h->count, name, open, bare, labels, close,
               (double)h->sum_us / 1e6, name, open, bare, labels, close,
               (unsigned long long)h->count);
}

void histogram_prometheus(struct buf *out, const char *name, const char *help,
                          const struct histogram *h)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    histogram_prometheus_series(out, name, "", h);
}
