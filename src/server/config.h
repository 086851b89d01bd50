/* server/config.h — configuration, Redis style.
 *
 * Directives are `name value...` lines in a file (parley-server parley.conf)
 * and/or `--name value` flags on the command line (flags override the
 * file). Every directive has a row in the table in config.c giving its
 * type, default and whether CONFIG SET may change it at run time; CONFIG
 * GET and CONFIG SET read the same table. Some directives only start-up
 * reads: CONFIG SET accepts for them the value they have, and refuses any
 * other as immutable; Redis's own immutable ones (daemonize, logfile...) it
 * refuses whatever the value, as Redis does. */
#ifndef PARLEY_SERVER_CONFIG_H
#define PARLEY_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/encoding.h"

/* latency-tracking-info-percentiles */
#define CONFIG_PERCENTILES_MAX 16
struct config_percentiles {
    double v[CONFIG_PERCENTILES_MAX];
    int n;
};

struct config {
    char *config_file;
    /* Directives CONFIG SET changed (by table position): CONFIG REWRITE
     * writes these into config_file. */
    unsigned char changed[160];
    char *bind;
    long long port;
    char *dir;
    char *dbfilename; /* SAVE/BGSAVE's file, in dir */
    char *restore;    /* --restore FILE: a new cluster from a backup; "" none */
    long long node_id;
    char *raft_addr;
    char *cluster;
    char *join;
    char *announce_addr;
    bool announce_addr_derived; /* not given: config_finish made it from bind and port */
    char *cluster_secret;       /* peers prove they know it; "" none (loopback peers only) */
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
    bool raft_log_prewrite;
    bool force_new_cluster;
    long long metrics_port;
    /* Memory (repl/memory.c decides with them when this node leads). */
    long long maxmemory;          /* bytes, 0: no limit */
    int maxmemory_policy;         /* enum evict_policy */
    long long maxmemory_samples;
    long long lfu_log_factor;
    long long lfu_decay_time;     /* minutes */
    /* lazyfree-lazy-*: which deletions are freed in the background. */
    bool lazyfree_lazy_eviction;
    bool lazyfree_lazy_expire;
    bool lazyfree_lazy_server_del;
    bool lazyfree_lazy_user_del;
    bool lazyfree_lazy_user_flush;
    uint32_t notify_keyspace_events; /* enum notify_class bits */
    long long divergence_check_interval_ms;
    long long apply_skip_entry;
    /* TLS for clients, Redis's directives (base/tls.h builds the context). */
    long long tls_port;           /* 0: no TLS listener */
    char *tls_cert_file;
    char *tls_key_file;
    char *tls_key_file_pass;
    char *tls_ca_cert_file;
    char *tls_ca_cert_dir;
    char *tls_protocols;
    char *tls_ciphers;
    char *tls_ciphersuites;
    bool tls_prefer_server_ciphers;
    int tls_auth_clients;         /* enum tls_auth */
    long long tls_handshake_timeout_ms;
    bool tls_cluster;             /* the Raft transport speaks TLS, certificates both ways */
    char *tls_client_cert_file;   /* outgoing Raft connections' certificate ("": tls-cert-file) */
    char *tls_client_key_file;
    char *tls_client_key_file_pass;
    /* With tls-cluster: where other nodes reach this node's tls-port (the
     * forwarding link, joins, relayed RAFT commands); by default the host
     * of announce-addr with tls-port. "" without tls-cluster. */
    char *tls_announce_addr;
    char *requirepass;   /* the default user's password on this node ("": none) */
    /* The encoding thresholds this node was configured with (or last
     * CONFIG SET): proposed through the log; the replicated ones in the
     * keyspace (store/encoding.h) are what CONFIG GET shows and what
     * the types obey. */
    struct store_encoding enc;
    bool protected_mode; /* no password for default: loopback clients only */
    char *aclfile;       /* what ACL LOAD reads and ACL SAVE writes */
    long long acllog_max_len;
    long long raft_snapshot_timeout_ms;
    long long latency_monitor_threshold; /* ms; 0: off (latency.h) */
    bool latency_tracking;               /* INFO latencystats reports */
    struct config_percentiles latency_percentiles;
    long long slowlog_log_slower_than;   /* us; -1: off (slowlog.h) */
    long long slowlog_max_len;
    long long tracking_table_max_keys;
    /* Accepted and shown as Redis 7.0 has them, with no effect in Parley
     * (config.c says why for each). */
    long long maxmemory_clients; /* bytes, or -N for N% of maxmemory */
    char *save;                  /* "seconds changes ..." */
    long long repl_backlog_size;
    long long key_load_delay;
};

/* Fills defaults, then applies the file (if argv[1] is not a flag), then
 * flags. On error returns -1 with a message in err (multi-line, Redis's
 * FATAL CONFIG FILE ERROR layout). */
int config_load(struct config *c, int argc, char **argv, struct buf *err);
/* Derived defaults that depend on other values (raft-addr, cluster,
 * announce-addr); call after config_load. */
void config_finish(struct config *c);
/* The port clients are told to use: `port`, or `tls-port` when port is 0
 * (TLS only). It also derives the default raft-addr and announce-addr. */
long long config_client_port(const struct config *c);
/* After `port` changed at run time: an announce-addr that config_finish
 * derived is derived again from the new port. Returns whether it changed. */
bool config_follow_port(struct config *c);
void config_free(struct config *c);
/* With no cluster-secret, peers are accepted from loopback addresses only
 * (tls-cluster lifts that on the Raft port, not on the forwarding link):
 * a configuration that names another address for this node or a peer
 * (raft-addr, cluster, join, or announce-addr when there are peers) could
 * never work, and would invite one. Returns -1 with the reason then. */
int config_check_peers(const struct config *c, char *err, size_t errlen);

/* CONFIG GET: appends name/value pairs of directives matching the glob. */
typedef void config_pair_fn(void *ctx, const char *name, const char *value);
void config_get(struct config *c, const char *pattern, size_t plen, config_pair_fn *fn, void *ctx);
/* CONFIG REWRITE: the directives CONFIG SET changed are written into the
 * config file, in place of its lines that set them (later duplicates
 * dropped), or at its end; everything else is kept as it is. Written to a
 * temporary file, fsynced and renamed over. 0, or -1 with Redis's reason. */
int config_rewrite(struct config *c, char *err, size_t errlen);
/* What must happen for some directives to take effect, in this order:
 * reload the TLS contexts (tls-*), move the client listener (port). */
enum config_apply { CONFIG_APPLY_TLS, CONFIG_APPLY_LISTENER, CONFIG_APPLY_N };
/* Makes one of them take effect with the values now in the config: 0, or
 * non-zero with a reason in err (the old state kept). */
typedef int config_apply_fn(void *ctx, enum config_apply what, char *err, size_t errlen);
/* CONFIG SET of n directives at once, as Redis 7.0 does it: all names are
 * checked first, in order (unknown, immutable, named twice: the first
 * problem is reported), then the values are set
 * in order, and if one is refused the ones already set are restored, so the
 * command changes everything or nothing. Then `take_effect` runs once for each
 * config_apply the directives set need, in that enum's order; if one fails,
 * every value is restored and the ones that ran before it run again (the
 * one that failed kept its old state).
 * Returns 0; -2 with *bad = an unknown name; or -1 with *bad = the name to
 * blame and a Redis-style reason in err (the part after "possibly related
 * to argument 'x') - "). */
int config_set(struct config *c, int n, const char *const *names, const char *const *values,
               const char **bad, char *err, size_t errlen, config_apply_fn *take_effect,
               void *apply_ctx);
/* The TLS directives as base/tls.h takes them (pointers into c). */
struct tls_settings;
void config_tls_settings(const struct config *c, struct tls_settings *out);
/* The settings of the contexts between nodes (tls-cluster): the server
 * side (connections accepted) or the client side (connections made, with
 * tls-client-cert-file if set); both require the peer's certificate. */
void config_tls_cluster_settings(const struct config *c, bool client, struct tls_settings *out);
/* Parses Redis memory units: 1k=1000, 1kb=1024, m, mb, g, gb. */
bool config_parse_memory(const char *s, long long *out);

#endif
