/* cmds/cmdstats.c — see cmdstats.h. */
#include "cmds/cmdstats.h"

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "cmds/cmd.h"

#define ROWS_MAX 1024
/* Redis stops adding error codes past 128 (it logs that and counts the
 * rest in total_error_replies only); so does this table. */
#define ERROR_CODES_MAX 128
#define ERROR_CODE_LEN 32

static struct cmd_stat stats[ROWS_MAX];
static struct {
    char code[ERROR_CODE_LEN];
    uint64_t count;
} errors[ERROR_CODES_MAX];
static size_t n_errors;
static uint64_t total_errors, hits, misses;

void cmdstats_ran(const struct cmd_def *cmd, uint64_t usec, bool failed)
{
    size_t id = cmd_id(cmd);
    if (id >= ROWS_MAX) return;
    histogram_observe(&stats[id].ran, usec);
    if (failed) stats[id].failed++;
}

const struct cmd_stat *cmdstats_of(const struct cmd_def *cmd)
{
    size_t id = cmd_id(cmd);
    return id < ROWS_MAX ? &stats[id] : NULL;
}

void cmdstats_rejected(const struct cmd_def *cmd)
{
    size_t id = cmd_id(cmd);
    if (id < ROWS_MAX) stats[id].rejected++;
}

void cmdstats_error(const char *text, size_t len)
{
    if (len && text[0] == '-') text++, len--;
    size_t n = 0;
    while (n < len && text[n] != ' ' && text[n] != '\r' && n < ERROR_CODE_LEN - 1) n++;
    total_errors++;
    if (n == 0) return;
    for (size_t i = 0; i < n_errors; i++)
        if (strlen(errors[i].code) == n && memcmp(errors[i].code, text, n) == 0) {
            errors[i].count++;
            return;
        }
    if (n_errors == ERROR_CODES_MAX) return;
    memcpy(errors[n_errors].code, text, n);
    errors[n_errors].code[n] = '\0';
    errors[n_errors++].count = 1;
}

void cmdstats_keyspace(bool hit)
{
    if (hit) hits++;
    else misses++;
}

void cmdstats_info_commands(struct buf *out)
{
    size_t n = cmd_count_all();
    for (size_t id = 0; id < n && id < ROWS_MAX; id++) {
        const struct cmd_stat *s = &stats[id];
        uint64_t calls = s->ran.count, usec = s->ran.sum_us;
        if (calls == 0 && s->rejected == 0 && s->failed == 0) continue;
        const struct cmd_def *d = cmd_by_id(id);
        buf_printf(out, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
                        "failed_calls=%llu\r\n",
                   d->name, (unsigned long long)calls, (unsigned long long)usec,
                   calls ? (double)usec / (double)calls : 0.0,
                   (unsigned long long)s->rejected, (unsigned long long)s->failed);
    }
}

void cmdstats_info_latency(struct buf *out, const double *pcts, int n)
{
    size_t count = cmd_count_all();
    for (size_t id = 0; id < count && id < ROWS_MAX; id++) {
        const struct histogram *h = &stats[id].ran;
        if (h->count == 0) continue;
        buf_printf(out, "latency_percentiles_usec_%s:", cmd_by_id(id)->name);
        for (int i = 0; i < n; i++)
            buf_printf(out, "%sp%g=%.3f", i ? "," : "", pcts[i],
                       (double)histogram_percentile_us(h, pcts[i]));
        buf_append_str(out, "\r\n");
    }
}

void cmdstats_info_errors(struct buf *out)
{
    for (size_t i = 0; i < n_errors; i++)
        buf_printf(out, "errorstat_%s:count=%llu\r\n", errors[i].code,
                   (unsigned long long)errors[i].count);
}

void cmdstats_metrics(struct buf *out)
{
    buf_printf(out, "# HELP parley_command_calls_total Calls of each command.\n"
                    "# TYPE parley_command_calls_total counter\n");
    size_t n = cmd_count_all();
    for (size_t id = 0; id < n && id < ROWS_MAX; id++)
        if (stats[id].ran.count)
            buf_printf(out, "parley_command_calls_total{cmd=\"%s\"} %llu\n", cmd_by_id(id)->name,
                       (unsigned long long)stats[id].ran.count);
    buf_printf(out, "# HELP parley_command_errors_total Calls refused or answered with an error.\n"
                    "# TYPE parley_command_errors_total counter\n");
    for (size_t id = 0; id < n && id < ROWS_MAX; id++)
        if (stats[id].rejected || stats[id].failed)
            buf_printf(out, "parley_command_errors_total{cmd=\"%s\"} %llu\n", cmd_by_id(id)->name,
                       (unsigned long long)(stats[id].rejected + stats[id].failed));
    buf_printf(out, "# HELP parley_command_duration_seconds Time each command ran on this node.\n"
                    "# TYPE parley_command_duration_seconds histogram\n");
    for (size_t id = 0; id < n && id < ROWS_MAX; id++) {
        const struct cmd_stat *s = &stats[id];
        if (s->ran.count == 0) continue;
        char labels[128];
        snprintf(labels, sizeof labels, "cmd=\"%s\",", cmd_by_id(id)->name);
        histogram_prometheus_series(out, "parley_command_duration_seconds", labels, &s->ran);
    }
    buf_printf(out, "# HELP parley_error_replies_total Error replies by their first word.\n"
                    "# TYPE parley_error_replies_total counter\n");
    for (size_t i = 0; i < n_errors; i++)
        buf_printf(out, "parley_error_replies_total{code=\"%s\"} %llu\n", errors[i].code,
                   (unsigned long long)errors[i].count);
}

uint64_t cmdstats_total_errors(void) { return total_errors; }

void cmdstats_keyspace_counts(uint64_t *h, uint64_t *m)
{
    *h = hits;
    *m = misses;
}

void cmdstats_reset(void)
{
    memset(stats, 0, sizeof stats);
    n_errors = 0;
    total_errors = hits = misses = 0;
}
