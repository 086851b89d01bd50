/* server/config.h — configuration, Redis style.
 *
 * Directives are `name value...` lines in a file (parley-server parley.conf)
 * and/or `--name value` flags on the command line (flags override the
 * file). Every directive has a row in the table in config.c giving its
 * type, default and whether CONFIG SET may change it at run time; CONFIG
 * GET and CONFIG SET read the same table. */
#ifndef PARLEY_SERVER_CONFIG_H
#define PARLEY_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct config {
    char *config_file;
    char *bind;
    long long port;
    char *dir;
    long long node_id;
    char *raft_addr;
    char *cluster;
    char *join;
    char *announce_addr;
    char *sentinel_master_name; /* the master SENTINEL queries name */
    char *logfile;
    char *loglevel;
    long long maxclients;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long output_hard, output_soft, output_soft_seconds; /* client-output-buffer-limit normal */
    long long pubsub_hard, pubsub_soft, pubsub_soft_seconds; /* ... pubsub */
    long long client_reply_pause_bytes;
    long long raft_election_timeout_ms;
    long long raft_heartbeat_ms;
    long long raft_snapshot_threshold;
    long long raft_snapshot_trailing;
    long long raft_log_max_bytes;
    long long raft_log_trailing_bytes;
    long long raft_max_inflight_bytes;
    long long raft_max_entry_bytes;
    long long request_timeout_ms;
    bool lease_reads;
    /* Memory (repl/memory.c decides with them when this node leads). */
    long long maxmemory;          /* bytes, 0: no limit */
    int maxmemory_policy;         /* enum evict_policy */
    long long maxmemory_samples;
    long long lfu_log_factor;
    long long lfu_decay_time;     /* minutes */
    long long divergence_check_interval_ms;
    long long apply_skip_entry;
};

/* Fills defaults, then applies the file (if argv[1] is not a flag), then
 * flags. On error returns -1 with a message in err (multi-line, Redis's
 * FATAL CONFIG FILE ERROR layout). */
int config_load(struct config *c, int argc, char **argv, struct buf *err);
/* Derived defaults that depend on other values (raft-addr, cluster,
 * announce-addr); call after config_load. */
void config_finish(struct config *c);
void config_free(struct config *c);

/* CONFIG GET: appends name/value pairs of directives matching the glob. */
typedef void config_pair_fn(void *ctx, const char *name, const char *value);
void config_get(struct config *c, const char *pattern, size_t plen, config_pair_fn *fn, void *ctx);
/* CONFIG SET of n directives at once, as Redis 7.0 does it: all names are
 * checked first (unknown, immutable, named twice), then the values are set
 * in order, and if one is refused the ones already set are restored, so the
 * command changes everything or nothing. Returns 0; -2 with *bad = an
 * unknown name; or -1 with *bad = the name to blame and a Redis-style reason
 * in err (the part after "possibly related to argument 'x') - "). */
int config_set(struct config *c, int n, const char *const *names, const char *const *values,
               const char **bad, char *err, size_t errlen);
/* Parses Redis memory units: 1k=1000, 1kb=1024, m, mb, g, gb. */
bool config_parse_memory(const char *s, long long *out);

#endif
