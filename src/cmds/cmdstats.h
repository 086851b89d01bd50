/* cmds/cmdstats.h — this node's counters of the commands it ran and the
 * errors it answered (INFO commandstats, errorstats and stats'
 * keyspace_hits/misses, total_error_replies). Never replicated: each node
 * counts what it executes, as a Redis replica counts the commands its
 * master sends it, so on a follower the writes of every node's clients
 * are counted too. */
#ifndef PARLEY_CMDS_CMDSTATS_H
#define PARLEY_CMDS_CMDSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/histogram.h"

struct cmd_def;
struct buf;

struct cmd_stat {
    struct histogram ran; /* calls that ran, by duration: count is calls, sum usec */
    uint64_t rejected, failed;
};

/* A command ran for usec microseconds; failed: it answered an error. */
void cmdstats_ran(const struct cmd_def *cmd, uint64_t usec, bool failed);
/* A command was refused before it ran (arity, ACL, memory...). */
void cmdstats_rejected(const struct cmd_def *cmd);
/* An error reply (its text, "-" optional): counted under its first word. */
void cmdstats_error(const char *text, size_t len);
/* A read found its key, or not. */
void cmdstats_keyspace(bool hit);

/* A row's counters (NULL for a row with no id). */
const struct cmd_stat *cmdstats_of(const struct cmd_def *cmd);
/* INFO's lines: "cmdstat_<name>:calls=...", "errorstat_<CODE>:count=..." */
void cmdstats_info_commands(struct buf *out);
void cmdstats_info_errors(struct buf *out);
/* "latency_percentiles_usec_<name>:p50=...,p99=..." per command that ran;
 * each value is the upper bound of its duration bucket (powers of two of
 * microseconds, base/histogram.h), where Redis's is within 1%. */
void cmdstats_info_latency(struct buf *out, const double *pcts, int n);
uint64_t cmdstats_total_errors(void);
void cmdstats_keyspace_counts(uint64_t *hits, uint64_t *misses);
/* The Prometheus form (server/metrics.c): calls, errors and a duration
 * histogram per command that ran, error replies per code. */
void cmdstats_metrics(struct buf *out);
/* CONFIG RESETSTAT */
void cmdstats_reset(void);

#endif
