/* server/config.c — see config.h. */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/peerauth.h"
#include "base/tls.h"
#include "cmds/cmd.h"
#include "cmds/notify.h"
#include "repl/entry.h"
#include "store/encoding.h"
#include "store/evict.h"
#include "store/keyspace.h"

/* K_SECRET: a string that CONFIG GET and error messages never show.
 * K_MEMORY_OR_PERCENT: bytes, or a percentage of maxmemory ("10%").
 * K_SAVE: Redis's save points ("3600 1 300 100"), kept as text.
 * K_FIXED: a Redis directive whose value Parley cannot change (`def`); it
 * has no field, a file may name it with that value only. */
enum kind { K_STRING, K_SECRET, K_INT, K_MEMORY, K_BOOL, K_OUTPUT_LIMIT, K_EVICT_POLICY, K_TLS_AUTH,
           K_NOTIFY, K_ENCODING, K_PERCENTILES, K_MEMORY_OR_PERCENT, K_SAVE, K_FIXED };

/* What CONFIG SET may do with a directive.
 * SET_STARTUP: read at start-up only, in Parley (Parley's own, and the few
 *   Redis changes at run time but Parley cannot): CONFIG SET to the value
 *   it already has is accepted and changes nothing, so a tool that writes
 *   back what CONFIG GET * showed works; any other value is refused as
 *   immutable.
 * SET_RUNTIME: CONFIG SET changes it.
 * SET_NEVER: immutable in Redis too; refused as Redis 7.0 refuses it,
 *   whatever the value.
 * HIDDEN, added to one of them: as Redis's hidden (test) configs, CONFIG
 * GET answers it by name and no pattern lists it. */
enum set_rule { SET_STARTUP, SET_RUNTIME, SET_NEVER, SET_RULE = 3, HIDDEN = 4 };

struct directive {
    const char *name;
    enum kind kind;
    size_t offset;
    unsigned set; /* a set_rule, maybe | HIDDEN */
    const char *def;
    long long min, max;
};

static enum set_rule set_rule(const struct directive *d) { return (enum set_rule)(d->set & SET_RULE); }

#define OFF(f) offsetof(struct config, f)
#define BIG 0x7fffffffffffffffll
#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)

static const struct directive table[] = {
    {"bind", K_STRING, OFF(bind), SET_STARTUP, "127.0.0.1", 0, 0},
    /* 0: TLS only (tls-port). CONFIG SET moves the listener (server/main.c). */
    {"port", K_INT, OFF(port), SET_RUNTIME, "6379", 0, 65535},
    {"metrics-port", K_INT, OFF(metrics_port), SET_STARTUP, "0", 0, 65535}, /* Prometheus (metrics.c); 0: off */
    {"dir", K_STRING, OFF(dir), SET_STARTUP, "./parley-data", 0, 0},
    /* SAVE and BGSAVE write `dir`/`dbfilename` (server/cmd_save.c). */
    {"dbfilename", K_STRING, OFF(dbfilename), SET_STARTUP, "dump.parley", 0, 0},
    /* Start a new cluster from a backup (server/restore.c). */
    {"restore", K_STRING, OFF(restore), SET_STARTUP, "", 0, 0},
    {"node-id", K_INT, OFF(node_id), SET_STARTUP, "1", 1, BIG},
    {"raft-addr", K_STRING, OFF(raft_addr), SET_STARTUP, "", 0, 0},
    {"cluster", K_STRING, OFF(cluster), SET_STARTUP, "", 0, 0},
    {"join", K_STRING, OFF(join), SET_STARTUP, "", 0, 0},
    {"announce-addr", K_STRING, OFF(announce_addr), SET_STARTUP, "", 0, 0},
    /* What peers prove they know (base/peerauth.h); none: loopback peers only. */
    {"cluster-secret", K_SECRET, OFF(cluster_secret), SET_STARTUP, "", 0, 0},
    {"sentinel-master-name", K_STRING, OFF(sentinel_master_name), SET_STARTUP, "mymaster", 0, 0},
    {"logfile", K_STRING, OFF(logfile), SET_NEVER, "", 0, 0},
    {"loglevel", K_STRING, OFF(loglevel), SET_RUNTIME, "notice", 0, 0},
    {"maxclients", K_INT, OFF(maxclients), SET_RUNTIME, "10000", 1, 1000000},
    {"proto-max-bulk-len", K_MEMORY, OFF(proto_max_bulk_len), SET_RUNTIME, "512mb", 1024 * 1024, BIG},
    {"client-query-buffer-limit", K_MEMORY, OFF(client_query_buffer_limit), SET_RUNTIME, "1gb",
     1024 * 1024, BIG},
    {"client-output-buffer-limit", K_OUTPUT_LIMIT, OFF(output_hard), SET_RUNTIME,
     "normal 0 0 0 pubsub 32mb 8mb 60", 0, 0},
    {"client-reply-pause-bytes", K_MEMORY, OFF(client_reply_pause_bytes), SET_RUNTIME, "64mb", 0, BIG},
    {"raft-election-timeout-ms", K_INT, OFF(raft_election_timeout_ms), SET_STARTUP, "300", 20, 600000},
    {"raft-heartbeat-ms", K_INT, OFF(raft_heartbeat_ms), SET_STARTUP, "10", 5, 100000},
    /* A backstop: raft-log-max-bytes decides when to snapshot. Every
     * snapshot costs a few tens of milliseconds of client latency; at
     * 8192 small entries one came every two seconds under -P 1 writes. */
    {"raft-snapshot-threshold", K_INT, OFF(raft_snapshot_threshold), SET_STARTUP, "65536", 2, 1 << 30},
    {"raft-snapshot-trailing", K_INT, OFF(raft_snapshot_trailing), SET_STARTUP, "16384", 0, 1 << 30},
    /* The log in bytes (repl/logbound.c): a snapshot once this much was
     * applied since the last (0: entries only), and at most this much kept
     * behind it. */
    /* A snapshot's child (repl/snapfork.c) still writing after this is
     * killed and the snapshot given up. */
    {"raft-snapshot-timeout-ms", K_INT, OFF(raft_snapshot_timeout_ms), SET_STARTUP, "600000", 100,
     86400000},
    {"raft-log-max-bytes", K_MEMORY, OFF(raft_log_max_bytes), SET_STARTUP, "64mb", 0, BIG},
    {"raft-log-trailing-bytes", K_MEMORY, OFF(raft_log_trailing_bytes), SET_STARTUP, "16mb", 0, BIG},
    {"raft-max-inflight-bytes", K_MEMORY, OFF(raft_max_inflight_bytes), SET_STARTUP, "64mb",
     1024 * 1024, BIG},
    /* A batch holds up to this much (or one command): at most what one
     * batch of a log entry can carry, which is also what a leader takes
     * in a follower's PARLEY.FWD (repl/entry.h). */
    {"raft-max-entry-bytes", K_MEMORY, OFF(raft_max_entry_bytes), SET_STARTUP, "1mb", 4096,
     (long long)ENTRY_BATCH_BODY_MAX},
    {"request-timeout-ms", K_INT, OFF(request_timeout_ms), SET_STARTUP, "10000", 100, 86400000},
    {"lease-reads", K_BOOL, OFF(lease_reads), SET_STARTUP, "yes", 0, 0},
    /* libraft's log segments get their blocks written when prepared
     * (repl/segalloc.c). */
    {"raft-log-prewrite", K_BOOL, OFF(raft_log_prewrite), SET_STARTUP, "yes", 0, 0},
    /* Quorum lost for good: this node's data becomes a one-node cluster (node.c). */
    {"force-new-cluster", K_BOOL, OFF(force_new_cluster), SET_STARTUP, "no", 0, 0},
    {"maxmemory", K_MEMORY, OFF(maxmemory), SET_RUNTIME, "0", 0, BIG},
    /* Accepted and shown, as Redis 7.0 parses it; Parley does not evict
     * clients (the README's list of directives). Bytes, or -percent of
     * maxmemory. */
    {"maxmemory-clients", K_MEMORY_OR_PERCENT, OFF(maxmemory_clients), SET_RUNTIME, "0", 0, BIG},
    {"maxmemory-policy", K_EVICT_POLICY, OFF(maxmemory_policy), SET_RUNTIME, "noeviction", 0, 0},
    {"maxmemory-samples", K_INT, OFF(maxmemory_samples), SET_RUNTIME, "5", 1, 0x7fffffff},
    {"lfu-log-factor", K_INT, OFF(lfu_log_factor), SET_RUNTIME, "10", 0, 0x7fffffff},
    {"lfu-decay-time", K_INT, OFF(lfu_decay_time), SET_RUNTIME, "1", 0, 0x7fffffff},
    /* Which deletions this node frees on its background thread
     * (store/lazyfree.h); node-local, they never change the data. */
    {"lazyfree-lazy-eviction", K_BOOL, OFF(lazyfree_lazy_eviction), SET_RUNTIME, "no", 0, 0},
    {"lazyfree-lazy-expire", K_BOOL, OFF(lazyfree_lazy_expire), SET_RUNTIME, "no", 0, 0},
    {"lazyfree-lazy-server-del", K_BOOL, OFF(lazyfree_lazy_server_del), SET_RUNTIME, "no", 0, 0},
    {"lazyfree-lazy-user-del", K_BOOL, OFF(lazyfree_lazy_user_del), SET_RUNTIME, "no", 0, 0},
    {"lazyfree-lazy-user-flush", K_BOOL, OFF(lazyfree_lazy_user_flush), SET_RUNTIME, "no", 0, 0},
    /* How often the leader checks that every replica holds its data (0: never). */
    {"divergence-check-interval-ms", K_INT, OFF(divergence_check_interval_ms), SET_RUNTIME, "10000", 0,
     86400000},
    /* Get past a poisoned log entry: this node does not run that entry's
     * commands (0: none). Every node must be given the same. */
    {"apply-skip-entry", K_INT, OFF(apply_skip_entry), SET_STARTUP, "0", 0, BIG},
    /* TLS for clients (Redis 7.0's names). Changing any of them at run time
     * builds a new context: new connections use it, a bad file is refused
     * and the old context kept. */
    {"tls-port", K_INT, OFF(tls_port), SET_STARTUP, "0", 0, 65535},
    {"tls-cert-file", K_STRING, OFF(tls_cert_file), SET_RUNTIME, "", 0, 0},
    {"tls-key-file", K_STRING, OFF(tls_key_file), SET_RUNTIME, "", 0, 0},
    {"tls-key-file-pass", K_STRING, OFF(tls_key_file_pass), SET_RUNTIME, "", 0, 0},
    {"tls-ca-cert-file", K_STRING, OFF(tls_ca_cert_file), SET_RUNTIME, "", 0, 0},
    {"tls-ca-cert-dir", K_STRING, OFF(tls_ca_cert_dir), SET_RUNTIME, "", 0, 0},
    {"tls-auth-clients", K_TLS_AUTH, OFF(tls_auth_clients), SET_RUNTIME, "yes", 0, 0},
    {"tls-protocols", K_STRING, OFF(tls_protocols), SET_RUNTIME, "", 0, 0},
    {"tls-ciphers", K_STRING, OFF(tls_ciphers), SET_RUNTIME, "", 0, 0},
    {"tls-ciphersuites", K_STRING, OFF(tls_ciphersuites), SET_RUNTIME, "", 0, 0},
    {"tls-prefer-server-ciphers", K_BOOL, OFF(tls_prefer_server_ciphers), SET_RUNTIME, "no", 0, 0},
    /* TLS between nodes (the Raft transport, and to tls-port the forwarding
     * link, joins and relayed RAFT commands): both sides show a certificate
     * the tls-ca-cert-file CA signed. The client-side certificate of
     * outgoing connections, when it must differ from tls-cert-file. */
    {"tls-cluster", K_BOOL, OFF(tls_cluster), SET_STARTUP, "no", 0, 0},
    {"tls-client-cert-file", K_STRING, OFF(tls_client_cert_file), SET_RUNTIME, "", 0, 0},
    {"tls-client-key-file", K_STRING, OFF(tls_client_key_file), SET_RUNTIME, "", 0, 0},
    {"tls-client-key-file-pass", K_STRING, OFF(tls_client_key_file_pass), SET_RUNTIME, "", 0, 0},
    /* With tls-cluster, the tls-port address other nodes connect to. */
    {"tls-announce-addr", K_STRING, OFF(tls_announce_addr), SET_STARTUP, "", 0, 0},
    /* Parley's own: a TLS client that has not finished its handshake by
     * then is dropped. */
    {"tls-handshake-timeout-ms", K_INT, OFF(tls_handshake_timeout_ms), SET_RUNTIME, "10000", 10,
     3600000},
    /* Authentication (server/cmd_acl.c). */
    {"requirepass", K_STRING, OFF(requirepass), SET_RUNTIME, "", 0, 0},
    {"protected-mode", K_BOOL, OFF(protected_mode), SET_RUNTIME, "yes", 0, 0},
    {"aclfile", K_STRING, OFF(aclfile), SET_NEVER, "", 0, 0},
    {"acllog-max-len", K_INT, OFF(acllog_max_len), SET_RUNTIME, "128", 0, 0x7fffffff},
    /* Keyspace notifications this node delivers to its own subscribers
     * (cmds/notify.h); node-local, they never change the data. */
    {"notify-keyspace-events", K_NOTIFY, OFF(notify_keyspace_events), SET_RUNTIME, "", 0, 0},
    /* The encoding thresholds (store/encoding.h), and Redis's old names
     * for them: replicated settings. CONFIG GET shows the replicated
     * values; the configured ones (and CONFIG SET's) are proposed through
     * the log (server/cmd_server.c, server/encoding.c). Names,
     * ranges and defaults come from store/encoding.c's table. */
#define ENC(name, field) {name, K_ENCODING, OFF(enc.field), SET_RUNTIME, "", 0, 0}
    ENC("list-max-listpack-size", list_max_listpack_size),
    ENC("list-max-ziplist-size", list_max_listpack_size),
    ENC("list-compress-depth", list_compress_depth),
    ENC("hash-max-listpack-entries", hash_max_listpack_entries),
    ENC("hash-max-ziplist-entries", hash_max_listpack_entries),
    ENC("hash-max-listpack-value", hash_max_listpack_value),
    ENC("hash-max-ziplist-value", hash_max_listpack_value),
    ENC("set-max-intset-entries", set_max_intset_entries),
    ENC("zset-max-listpack-entries", zset_max_listpack_entries),
    ENC("zset-max-ziplist-entries", zset_max_listpack_entries),
    ENC("zset-max-listpack-value", zset_max_listpack_value),
    ENC("zset-max-ziplist-value", zset_max_listpack_value),
    ENC("stream-node-max-bytes", stream_node_max_bytes),
    ENC("stream-node-max-entries", stream_node_max_entries),
    ENC("hll-sparse-max-bytes", hll_sparse_max_bytes),
#undef ENC
    /* server/latency.h: events at least this long are recorded (0: off). */
    {"latency-monitor-threshold", K_INT, OFF(latency_monitor_threshold), SET_RUNTIME, "0", 0, BIG},
    /* INFO latencystats: whether it reports, and which percentiles. */
    {"latency-tracking", K_BOOL, OFF(latency_tracking), SET_RUNTIME, "yes", 0, 0},
    {"latency-tracking-info-percentiles", K_PERCENTILES, OFF(latency_percentiles), SET_RUNTIME,
     "50 99 99.9", 0, 0},
    {"slowlog-log-slower-than", K_INT, OFF(slowlog_log_slower_than), SET_RUNTIME, "10000", -1, BIG},
    {"slowlog-max-len", K_INT, OFF(slowlog_max_len), SET_RUNTIME, "128", 0, BIG},
    /* CLIENT TRACKING's table (tracking.c): keys remembered at most; 0: no limit. */
    {"tracking-table-max-keys", K_INT, OFF(tracking_table_max_keys), SET_RUNTIME, "1000000", 0, BIG},
    /* Redis's persistence and replication settings that have no effect in
     * Parley, where the Raft log is the persistence and every node a
     * replica of it: accepted and shown (the README's list of directives). */
    {"save", K_SAVE, OFF(save), SET_RUNTIME, "", 0, 0},
    {"repl-backlog-size", K_MEMORY, OFF(repl_backlog_size), SET_RUNTIME, "1mb", 1, BIG},
    /* Redis's test setting (a delay per key loaded); no effect in Parley. */
    {"key-load-delay", K_INT, OFF(key_load_delay), SET_RUNTIME | HIDDEN, "0", -2147483648ll,
     2147483647},
    /* Redis's start-up settings, at the only values Parley has. */
    {"daemonize", K_FIXED, 0, SET_NEVER, "no", 0, 0},
    {"databases", K_FIXED, 0, SET_NEVER, TEXT(STORE_DBS), 0, 0},
    {"io-threads", K_FIXED, 0, SET_NEVER, "1", 0, 0},
    {"replicaof", K_FIXED, 0, SET_NEVER, "", 0, 0}, /* never a Redis replica */
    {"slaveof", K_FIXED, 0, SET_NEVER, "", 0, 0},
};
#define N_DIRECTIVES (sizeof table / sizeof *table)
_Static_assert(N_DIRECTIVES <= sizeof(((struct config *)0)->changed), "config.changed too small");

static const struct directive *find(const char *name)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++)
        if (strcasecmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

bool config_parse_memory(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (*s == '\0' || *s == '-' || isspace((unsigned char)*s)) return false;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s) return false;
    long long mul = 1;
    if (*end) {
        if (!strcasecmp(end, "k")) mul = 1000;
        else if (!strcasecmp(end, "kb")) mul = 1024;
        else if (!strcasecmp(end, "m")) mul = 1000 * 1000;
        else if (!strcasecmp(end, "mb")) mul = 1024 * 1024;
        else if (!strcasecmp(end, "g")) mul = 1000ll * 1000 * 1000;
        else if (!strcasecmp(end, "gb")) mul = 1024ll * 1024 * 1024;
        else return false;
    }
    if (v > BIG / mul) return false;
    *out = v * mul;
    return true;
}

static bool parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return false;
    *out = v;
    return true;
}

/* An integer written plainly: digits, a '-' before them, no leading zero,
 * space or '+' (Redis's reading of a number inside a setting, string2ll). */
static bool parse_plain_int(const char *s, long long *out)
{
    return str_to_ll(s, strlen(s), out);
}

/* save: pairs of "seconds changes", both plain numbers, or nothing; kept as
 * the numbers read. */
static const char *set_save(void *field, const char *text)
{
    char copy[512], out[512];
    snprintf(copy, sizeof copy, "%s", text);
    long long v[64];
    int n = 0;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n == 64 || !parse_plain_int(w, &v[n]) || v[n] < 0) return "Invalid save parameters";
        n++;
    }
    if (n % 2) return "Invalid save parameters";
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) at += (size_t)snprintf(out + at, sizeof out - at, "%s%lld", i ? " " : "", v[i]);
    free(*(char **)field);
    *(char **)field = xstrdup(out);
    return NULL;
}

/* Redis's text for a numeric value outside the bounds. */
static const char *out_of_bounds(long long min, long long max)
{
    static char text[96];
    snprintf(text, sizeof text, "argument must be between %lld and %lld inclusive", min, max);
    return text;
}

static const char *out_of_range(const struct directive *d) { return out_of_bounds(d->min, d->max); }

/* Sets one directive from its words; returns NULL or a reason. */
static const char *apply(struct config *c, const struct directive *d, int argc, char **argv)
{
    void *field = (char *)c + d->offset;
    if (d->kind == K_PERCENTILES) { /* as Redis 7.0: numbers from 0 to 100, or none */
        struct config_percentiles p = {0};
        for (int i = 0; i < argc; i++) {
            char *end;
            double v = strtod(argv[i], &end);
            if (end == argv[i] || *end) return "Invalid latency-tracking-info-percentiles parameters";
            if (!(v >= 0.0 && v <= 100.0))
                return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
            if (p.n == CONFIG_PERCENTILES_MAX) return "too many percentiles";
            p.v[p.n++] = v;
        }
        *(struct config_percentiles *)field = p;
        return NULL;
    }
    if (d->kind == K_OUTPUT_LIMIT) {
        /* "<class> <hard> <soft> <seconds>"... as Redis 7.0's
         * updateClientOutputBufferLimit: all checked before any is set.
         * The normal and pubsub classes apply; replica is accepted and
         * ignored (Parley has no Redis replicas). */
        if (argc % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
        for (int i = 0; i < argc; i += 4) {
            long long hard, soft, secs;
            if (strcasecmp(argv[i], "normal") && strcasecmp(argv[i], "pubsub") &&
                strcasecmp(argv[i], "replica") && strcasecmp(argv[i], "slave"))
                return "Invalid client class specified in buffer limit configuration.";
            if (!config_parse_memory(argv[i + 1], &hard) || !config_parse_memory(argv[i + 2], &soft) ||
                !parse_int(argv[i + 3], &secs) || secs < 0)
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        }
        for (int i = 0; i < argc; i += 4) {
            bool normal = !strcasecmp(argv[i], "normal");
            if (!normal && strcasecmp(argv[i], "pubsub")) continue;
            config_parse_memory(argv[i + 1], normal ? &c->output_hard : &c->pubsub_hard);
            config_parse_memory(argv[i + 2], normal ? &c->output_soft : &c->pubsub_soft);
            parse_int(argv[i + 3], normal ? &c->output_soft_seconds : &c->pubsub_soft_seconds);
        }
        return NULL;
    }
    if (d->kind == K_SAVE || d->kind == K_FIXED) {
        /* The words together ("3600 1" as one argument or two). */
        char text[512];
        size_t at = 0;
        text[0] = '\0';
        for (int i = 0; i < argc && at < sizeof text; i++)
            at += (size_t)snprintf(text + at, sizeof text - at, "%s%s", i ? " " : "", argv[i]);
        if (at >= sizeof text) return "argument too long";
        if (d->kind == K_FIXED) {
            static char why[96];
            if (strcmp(text, d->def) == 0) return NULL;
            snprintf(why, sizeof why, "this setting can only be '%s' in Parley", d->def);
            return why;
        }
        return set_save(field, text);
    }
    /* A yes/no directive given as a bare flag (--force-new-cluster) means yes. */
    if (argc == 0 && d->kind == K_BOOL) {
        *(bool *)((char *)c + d->offset) = true;
        return NULL;
    }
    if (argc != 1) return "wrong number of arguments";
    const char *v = argv[0];
    long long n;
    switch (d->kind) {
    case K_SECRET:
        if (v[0] && strlen(v) < PEERAUTH_SECRET_MIN)
            return "cluster-secret must be at least 16 characters (openssl rand -hex 32 makes one)";
        /* fall through */
    case K_STRING:
        /* Redis's check: SAVE writes it inside dir. */
        if (d->offset == OFF(dbfilename) && (strchr(v, '/') || !v[0]))
            return "dbfilename can't be a path, just a filename";
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return NULL;
    case K_INT:
        if (!parse_int(v, &n)) return "argument couldn't be parsed into an integer";
        if (n < d->min || n > d->max) return out_of_range(d);
        *(long long *)field = n;
        return NULL;
    case K_MEMORY:
        if (!config_parse_memory(v, &n)) return "argument must be a memory value";
        if (n < d->min || n > d->max) return out_of_range(d);
        *(long long *)field = n;
        return NULL;
    case K_MEMORY_OR_PERCENT: { /* as Redis 7.0: "N%" (0 to 100) or memory */
        size_t len = strlen(v);
        if (len > 1 && v[len - 1] == '%') {
            char digits[24];
            if (len - 1 >= sizeof digits) return "argument must be a memory or percent value";
            memcpy(digits, v, len - 1);
            digits[len - 1] = '\0';
            if (!parse_plain_int(digits, &n) || n < 0)
                return "argument must be a memory or percent value";
            if (n > 100) return "percentage argument must be less or equal to 100";
            *(long long *)field = -n;
            return NULL;
        }
        if (!config_parse_memory(v, &n)) return "argument must be a memory or percent value";
        *(long long *)field = n;
        return NULL;
    }
    case K_BOOL:
        if (!strcasecmp(v, "yes")) *(bool *)field = true;
        else if (!strcasecmp(v, "no")) *(bool *)field = false;
        else return "argument must be 'yes' or 'no'";
        return NULL;
    case K_EVICT_POLICY:
        n = evict_policy_parse(v);
        if (n < 0)
            return "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
                   "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                   "noeviction";
        *(int *)field = (int)n;
        return NULL;
    case K_NOTIFY: {
        uint32_t flags;
        if (!notify_parse_flags(v, strlen(v), &flags))
            return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
        *(uint32_t *)field = flags;
        return NULL;
    }
    case K_ENCODING: {
        const struct store_encoding_setting *s = store_encoding_find(d->name, strlen(d->name));
        if (s->memory ? !config_parse_memory(v, &n) : !parse_int(v, &n))
            return s->memory ? "argument must be a memory value"
                             : "argument couldn't be parsed into an integer";
        if (n < s->min || n > s->max) return out_of_bounds(s->min, s->max);
        *(long long *)field = n;
        return NULL;
    }
    case K_TLS_AUTH:
        n = tls_auth_parse(v);
        if (n < 0) return "argument(s) must be one of the following: no, yes, optional";
        *(int *)field = (int)n;
        return NULL;
    default:
        return "unsupported";
    }
}

/* Splits a config line into words, honouring "double quotes". */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (*p == '"') {
            char *w = ++p;
            while (*p && *p != '"') p++;
            if (*p) *p++ = '\0';
            words[n++] = w;
        } else {
            words[n++] = p;
            while (*p && !isspace((unsigned char)*p)) p++;
            if (*p) *p++ = '\0';
        }
    }
    return n;
}

static void fatal(struct buf *err, int line, const char *text, const char *why)
{
    buf_printf(err, "\n*** FATAL CONFIG FILE ERROR (Parley) ***\n");
    if (line > 0) buf_printf(err, "Reading the configuration file, at line %d\n", line);
    buf_printf(err, ">>> '%s'\n%s\n", text, why);
}

static int load_words(struct config *c, int argc, char **argv, int line, const char *text,
                      struct buf *err)
{
    const struct directive *d = find(argv[0]);
    if (d == NULL) {
        fatal(err, line, text, "Bad directive or wrong number of arguments");
        return -1;
    }
    const char *why = apply(c, d, argc - 1, argv + 1);
    if (why) {
        fatal(err, line, d->kind == K_SECRET ? "cluster-secret (not shown)" : text, why);
        return -1;
    }
    return 0;
}

static int load_file(struct config *c, const char *path, struct buf *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        buf_printf(err, "Fatal error, can't open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rv = 0;
    while (rv == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char text[4096];
        snprintf(text, sizeof text, "%s", line);
        char *words[64];
        int n = split_words(line, words, 64);
        if (n == 0 || words[0][0] == '#') continue;
        rv = load_words(c, n, words, lineno, text, err);
    }
    fclose(f);
    return rv;
}

int config_load(struct config *c, int argc, char **argv, struct buf *err)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        char def[128];
        snprintf(def, sizeof def, "%s", table[i].def);
        char *words[8];
        int n = split_words(def, words, 8);
        if ((table[i].kind == K_STRING || table[i].kind == K_SECRET) && n == 0) {
            *(char **)((char *)c + table[i].offset) = xstrdup("");
            continue;
        }
        if (table[i].kind == K_NOTIFY && n == 0) continue; /* none: 0, as memset left it */
        if (table[i].kind == K_ENCODING) continue;         /* store_encoding_defaults, below */
        if (apply(c, &table[i], n, words) != NULL) abort(); /* a bad default is a bug */
    }
    c->enc = store_encoding_defaults;
    int i = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        c->config_file = xstrdup(argv[1]);
        if (load_file(c, argv[1], err) != 0) return -1;
        i = 2;
    }
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0) {
            fatal(err, 0, argv[i], "Expected a --name flag");
            return -1;
        }
        char *words[64];
        int n = 0;
        words[n++] = argv[i] + 2;
        for (i++; i < argc && strncmp(argv[i], "--", 2) != 0 && n < 64; i++) words[n++] = argv[i];
        struct buf text = BUF_INIT;
        for (int w = 0; w < n; w++) buf_printf(&text, "%s%s", w ? " " : "", words[w]);
        buf_append(&text, "", 1);
        int rv = load_words(c, n, words, 0, text.data, err);
        buf_free(&text);
        if (rv != 0) return -1;
        /* A secret given as a flag is visible in ps to every local user:
         * blank it out of the process's arguments once it is read. */
        const struct directive *d = find(words[0]);
        if (d && d->kind == K_SECRET)
            for (int w = 1; w < n; w++) memset(words[w], '*', strlen(words[w]));
    }
    return 0;
}

long long config_client_port(const struct config *c) { return c->port ? c->port : c->tls_port; }

/* announce-addr when none is given: the first bound address, unless it is
 * a wildcard: then the host of raft-addr, which peers can reach by
 * definition; with the client port. */
static void derive_announce(struct config *c)
{
    char host[256];
    snprintf(host, sizeof host, "%s", c->bind[0] == '-' ? c->bind + 1 : c->bind);
    host[strcspn(host, " ")] = '\0';
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "*") || !host[0]) {
        snprintf(host, sizeof host, "%s", c->raft_addr);
        char *colon = strrchr(host, ':');
        if (colon) *colon = '\0';
    }
    char tmp[320];
    snprintf(tmp, sizeof tmp, strchr(host, ':') ? "[%s]:%lld" : "%s:%lld", host, config_client_port(c));
    free(c->announce_addr);
    c->announce_addr = xstrdup(tmp);
}

bool config_follow_port(struct config *c)
{
    if (!c->announce_addr_derived) return false;
    char *before = xstrdup(c->announce_addr);
    derive_announce(c);
    bool changed = strcmp(before, c->announce_addr) != 0;
    free(before);
    return changed;
}

void config_finish(struct config *c)
{
    long long port = config_client_port(c);
    if (c->raft_addr[0] == '\0') {
        free(c->raft_addr);
        char tmp[64];
        snprintf(tmp, sizeof tmp, "127.0.0.1:%lld", port + 10000 <= 65535 ? port + 10000 : port - 10000);
        c->raft_addr = xstrdup(tmp);
    }
    if (c->cluster[0] == '\0' && c->join[0] == '\0') {
        free(c->cluster);
        char tmp[320];
        snprintf(tmp, sizeof tmp, "%lld@%s", c->node_id, c->raft_addr);
        c->cluster = xstrdup(tmp);
    }
    if (c->announce_addr[0] == '\0') {
        c->announce_addr_derived = true;
        derive_announce(c);
    }
    if (!c->tls_cluster) {
        c->tls_announce_addr[0] = '\0';
    } else if (c->tls_announce_addr[0] == '\0' && c->tls_port) {
        char host[320];
        snprintf(host, sizeof host, "%s", c->announce_addr);
        char *colon = strrchr(host, ':');
        if (colon) *colon = '\0';
        char tmp[340];
        snprintf(tmp, sizeof tmp, "%s:%lld", host, c->tls_port);
        free(c->tls_announce_addr);
        c->tls_announce_addr = xstrdup(tmp);
    }
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < N_DIRECTIVES; i++)
        if (table[i].kind == K_STRING || table[i].kind == K_SECRET || table[i].kind == K_SAVE)
            free(*(char **)((char *)c + table[i].offset));
    free(c->config_file);
}

static void format_value(struct config *c, const struct directive *d, char *out, size_t len)
{
    void *field = (char *)c + d->offset;
    switch (d->kind) {
    case K_STRING:
    case K_SAVE: snprintf(out, len, "%s", *(char **)field); break;
    case K_FIXED: snprintf(out, len, "%s", d->def); break;
    case K_MEMORY_OR_PERCENT: {
        long long v = *(long long *)field;
        snprintf(out, len, v < 0 ? "%lld%%" : "%lld", v < 0 ? -v : v);
        break;
    }
    case K_SECRET: snprintf(out, len, "%s", (*(char **)field)[0] ? "(hidden)" : ""); break;
    case K_INT:
    case K_MEMORY: snprintf(out, len, "%lld", *(long long *)field); break;
    case K_ENCODING: {
        /* The replicated value, which the log decides. */
        const struct store_encoding_setting *s = store_encoding_find(d->name, strlen(d->name));
        snprintf(out, len, "%lld", store_encoding_value(store_enc(), s));
        break;
    }
    case K_BOOL: snprintf(out, len, "%s", *(bool *)field ? "yes" : "no"); break;
    case K_EVICT_POLICY: snprintf(out, len, "%s", evict_policy_name(*(int *)field)); break;
    case K_TLS_AUTH: snprintf(out, len, "%s", tls_auth_name((enum tls_auth) * (int *)field)); break;
    case K_PERCENTILES: {
        const struct config_percentiles *p = field;
        size_t at = 0;
        out[0] = '\0';
        for (int i = 0; i < p->n && at < len; i++)
            at += (size_t)snprintf(out + at, len - at, "%s%g", i ? " " : "", p->v[i]);
        break;
    }
    case K_NOTIFY: {
        char flags[NOTIFY_FLAGS_STR_MAX];
        notify_format_flags(*(uint32_t *)field, flags);
        snprintf(out, len, "%s", flags);
        break;
    }
    case K_OUTPUT_LIMIT:
        snprintf(out, len, "normal %lld %lld %lld replica 0 0 0 pubsub %lld %lld %lld",
                 c->output_hard, c->output_soft, c->output_soft_seconds, c->pubsub_hard,
                 c->pubsub_soft, c->pubsub_soft_seconds);
        break;
    }
}

void config_get(struct config *c, const char *pattern, size_t plen, config_pair_fn *fn, void *ctx)
{
    /* Like Redis 7.0, a name without glob characters is looked up as is and
     * answered under the spelling it was given in. */
    bool glob = false;
    for (size_t i = 0; i < plen; i++)
        if (pattern[i] == '*' || pattern[i] == '?' || pattern[i] == '[') glob = true;
    if (!glob) {
        char name[128];
        if (plen >= sizeof name || memchr(pattern, '\0', plen)) return;
        memcpy(name, pattern, plen);
        name[plen] = '\0';
        const struct directive *d = find(name);
        if (d == NULL) return;
        char value[1024];
        format_value(c, d, value, sizeof value);
        fn(ctx, name, value);
        return;
    }
    for (size_t i = 0; i < N_DIRECTIVES; i++) {
        const char *name = table[i].name;
        if (table[i].set & HIDDEN) continue;
        if (!glob_match(pattern, plen, name, strlen(name), true)) continue;
        char value[1024];
        format_value(c, &table[i], value, sizeof value);
        fn(ctx, name, value);
    }
}

/* The directive an old name stands for (list-max-ziplist-size is
 * list-max-listpack-size), or d itself. */
static const struct directive *canonical(const struct directive *d)
{
    if (d->kind != K_ENCODING) return d;
    const struct store_encoding_setting *s = store_encoding_find(d->name, strlen(d->name));
    const struct directive *main = s ? find(s->name) : NULL;
    return main ? main : d;
}

/* "name value\n" as the file will read it back: a one-word value as it
 * is, a string quoted when it is empty or has spaces. */
static int rewrite_line(struct config *c, const struct directive *d, struct buf *out, char *err,
                        size_t errlen)
{
    char value[1024];
    format_value(c, d, value, sizeof value);
    bool one_string = d->kind == K_STRING || d->kind == K_SECRET || d->kind == K_NOTIFY || d->kind == K_SAVE;
    if (strpbrk(value, "\"\n\r") || (one_string && strchr(value, '\t'))) {
        snprintf(err, errlen, "Rewriting config file: the value of %s cannot be written", d->name);
        return -1;
    }
    if (one_string && (value[0] == '\0' || strchr(value, ' ')))
        buf_printf(out, "%s \"%s\"\n", d->name, value);
    else
        buf_printf(out, "%s %s\n", d->name, value);
    return 0;
}

/* Applies one value to a known, mutable directive. */
static const char *set_value(struct config *c, const struct directive *d, const char *value)
{
    /* A string is one argument, spaces and all ("TLSv1.2 TLSv1.3"), even
     * empty; so are notify-keyspace-events' letters. */
    if (d->kind == K_STRING || d->kind == K_SECRET || d->kind == K_NOTIFY) {
        char *whole = (char *)value;
        return apply(c, d, 1, &whole);
    }
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", value);
    char *words[64];
    int n = split_words(copy, words, 64);
    return apply(c, d, n, words);
}

/* Whether value is what a start-up directive already has: parsed as
 * CONFIG SET would parse it, into a scratch config, and compared as CONFIG
 * GET shows it (a secret as it is). */
static bool same_value(struct config *c, const struct directive *d, const char *value)
{
    struct config scratch;
    memset(&scratch, 0, sizeof scratch);
    bool same = set_value(&scratch, d, value) == NULL;
    bool text = d->kind == K_STRING || d->kind == K_SECRET;
    if (same && text) {
        same = strcmp(*(char **)((char *)c + d->offset), *(char **)((char *)&scratch + d->offset)) == 0;
    } else if (same) {
        char now[1024], given[1024];
        format_value(c, d, now, sizeof now);
        format_value(&scratch, d, given, sizeof given);
        same = strcmp(now, given) == 0;
    }
    if (text) free(*(char **)((char *)&scratch + d->offset));
    return same;
}

/* What a directive needs to take effect beyond its value, or -1: the
 * tls-* ones a TLS reload, port the listener moved. */
static int applier_of(const struct directive *d)
{
    if (strncmp(d->name, "tls-", 4) == 0) return CONFIG_APPLY_TLS;
    if (d->offset == OFF(port) && d->kind == K_INT) return CONFIG_APPLY_LISTENER;
    return -1;
}

int config_set(struct config *c, int n, const char *const *names, const char *const *values,
               const char **bad, char *err, size_t errlen, config_apply_fn *take_effect,
               void *apply_ctx)
{
    const struct directive **ds = xcalloc((size_t)n, sizeof *ds);
    int rv = 0;
    *bad = NULL;
    /* Every name first, in order, as Redis 7.0: the first unknown,
     * immutable or repeated one is the one reported. A start-up directive
     * given its own value stays in ds as NULL: nothing to do. */
    for (int i = 0; i < n && rv == 0; i++) {
        const struct directive *d = find(names[i]);
        if (d == NULL) {
            *bad = names[i];
            rv = -2;
            break;
        }
        for (int j = 0; j < i; j++)
            if (find(names[j]) == d) { /* Redis 7.0 lets an old name and its new one pass */
                snprintf(err, errlen, "duplicate parameter");
                *bad = names[i];
                rv = -1;
            }
        enum set_rule rule = set_rule(d);
        if (rv == 0 && rule != SET_RUNTIME && (rule == SET_NEVER || !same_value(c, d, values[i]))) {
            snprintf(err, errlen, "can't set immutable config");
            *bad = names[i];
            rv = -1;
        }
        ds[i] = rule == SET_RUNTIME ? d : NULL;
    }
    if (rv != 0) {
        free(ds);
        return rv;
    }

    /* Then the values, restoring the old ones if any is refused. */
    char(*old)[1024] = xmalloc((size_t)n * sizeof *old);
    for (int i = 0; i < n; i++)
        if (ds[i]) format_value(c, ds[i], old[i], sizeof old[i]);
    for (int i = 0; i < n; i++) {
        const char *why = ds[i] ? set_value(c, ds[i], values[i]) : NULL;
        if (why == NULL) continue;
        snprintf(err, errlen, "%s", why);
        *bad = ds[i]->name;
        for (int j = i; j >= 0; j--)
            if (ds[j]) set_value(c, ds[j], old[j]);
        rv = -1;
        break;
    }
    /* Each applier once, for all its directives (a certificate and its key
     * change in one CONFIG SET), blamed on the first that needed it. */
    const struct directive *needs[CONFIG_APPLY_N] = {0};
    for (int i = 0; i < n && rv == 0; i++) {
        int a = ds[i] ? applier_of(ds[i]) : -1;
        if (a >= 0 && needs[a] == NULL) needs[a] = ds[i];
    }
    for (int a = 0; a < CONFIG_APPLY_N && rv == 0 && take_effect; a++) {
        if (needs[a] == NULL || take_effect(apply_ctx, (enum config_apply)a, err, errlen) == 0) continue;
        *bad = needs[a]->name;
        for (int j = n - 1; j >= 0; j--)
            if (ds[j]) set_value(c, ds[j], old[j]);
        /* What already took effect goes back to the old values. */
        char again[256];
        for (int b = 0; b < a; b++)
            if (needs[b] && take_effect(apply_ctx, (enum config_apply)b, again, sizeof again) != 0)
                log_warn("CONFIG SET: restoring %s failed too: %s", needs[b]->name, again);
        rv = -1;
    }
    for (int i = 0; i < n && rv == 0; i++)
        if (ds[i]) c->changed[canonical(ds[i]) - table] = 1;
    free(old);
    free(ds);
    return rv;
}

int config_rewrite(struct config *c, char *err, size_t errlen)
{
    if (c->config_file == NULL) {
        snprintf(err, errlen, "The server is running without a config file");
        return -1;
    }
    struct buf out = BUF_INIT;
    unsigned char written[sizeof c->changed] = {0};
    FILE *f = fopen(c->config_file, "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            char copy[4096];
            snprintf(copy, sizeof copy, "%s", line);
            char *words[2];
            const struct directive *d = split_words(copy, words, 2) && words[0][0] != '#' ? find(words[0]) : NULL;
            size_t i = d ? (size_t)(canonical(d) - table) : 0;
            if (d == NULL || !c->changed[i]) {
                buf_append_str(&out, line);
                if (line[0] && line[strlen(line) - 1] != '\n') buf_append_str(&out, "\n");
                continue;
            }
            if (written[i]++) continue; /* a later line for the same directive */
            if (rewrite_line(c, canonical(d), &out, err, errlen) != 0) goto fail;
        }
        fclose(f);
        f = NULL;
    }
    for (size_t i = 0; i < N_DIRECTIVES; i++)
        if (c->changed[i] && !written[i] && rewrite_line(c, &table[i], &out, err, errlen) != 0) goto fail;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.rewrite-%d", c->config_file, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, out.data, out.len) == (ssize_t)out.len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (!ok || rename(tmp, c->config_file) != 0) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        unlink(tmp);
        buf_free(&out);
        return -1;
    }
    buf_free(&out);
    return 0;
fail:
    if (f) fclose(f);
    buf_free(&out);
    return -1;
}

void config_tls_settings(const struct config *c, struct tls_settings *out)
{
    *out = (struct tls_settings){
        .cert_file = c->tls_cert_file,
        .key_file = c->tls_key_file,
        .key_file_pass = c->tls_key_file_pass,
        .ca_cert_file = c->tls_ca_cert_file,
        .ca_cert_dir = c->tls_ca_cert_dir,
        .protocols = c->tls_protocols,
        .ciphers = c->tls_ciphers,
        .ciphersuites = c->tls_ciphersuites,
        .prefer_server_ciphers = c->tls_prefer_server_ciphers,
        .auth_peers = (enum tls_auth)c->tls_auth_clients,
    };
    /* Other nodes connect to tls-port with their certificate: ask every
     * client for one, so cmd_peer.c can tell a node's connection. */
    if (c->tls_cluster && out->auth_peers == TLS_AUTH_NO) out->auth_peers = TLS_AUTH_REQUEST;
}

void config_tls_cluster_settings(const struct config *c, bool client, struct tls_settings *out)
{
    config_tls_settings(c, out);
    out->auth_peers = TLS_AUTH_YES; /* both sides, always */
    if (client && c->tls_client_cert_file[0]) {
        out->cert_file = c->tls_client_cert_file;
        out->key_file = c->tls_client_key_file;
        out->key_file_pass = c->tls_client_key_file_pass;
    }
}

/* The first non-loopback address among cluster's "id@host:port,...". */
static bool cluster_names_remote(const char *cluster, char *addr, size_t len, int *members)
{
    *members = 0;
    bool found = false;
    const char *p = cluster;
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[PEERAUTH_ADDR_MAX + 32];
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        char *at = strchr(item, '@');
        if (item[0]) (*members)++;
        if (at && !found && !peerauth_is_loopback(at + 1)) {
            snprintf(addr, len, "%s", at + 1);
            found = true;
        }
        p += n;
        if (*p == ',') p++;
    }
    return found;
}

int config_check_peers(const struct config *c, char *err, size_t errlen)
{
    /* With tls-cluster, a certificate the CA signed stands for the secret
     * on every connection between nodes (the Raft port, and tls-port for
     * the forwarding link, joins and relayed RAFT commands). */
    if (c->cluster_secret[0] || c->tls_cluster) return 0;
    char remote[PEERAUTH_ADDR_MAX + 32] = "";
    const char *what = NULL;
    int members = 0;
    bool cluster_remote = cluster_names_remote(c->cluster, remote, sizeof remote, &members);
    bool has_peers = members > 1 || c->join[0];
    if (!peerauth_is_loopback(c->raft_addr)) {
        what = "raft-addr";
        snprintf(remote, sizeof remote, "%s", c->raft_addr);
    } else if (cluster_remote) {
        what = "a member in 'cluster'";
    } else if (c->join[0] && !peerauth_is_loopback(c->join)) {
        what = "join";
        snprintf(remote, sizeof remote, "%s", c->join);
    } else if (has_peers && !peerauth_is_loopback(c->announce_addr)) {
        what = "announce-addr";
        snprintf(remote, sizeof remote, "%s", c->announce_addr);
    }
    if (what == NULL) return 0;
    snprintf(err, errlen,
             "%s is %s, not a loopback address, and no cluster-secret is set. Without one, "
             "nodes accept peers only from loopback addresses; give every node the same "
             "cluster-secret (at least 16 characters: openssl rand -hex 32)",
             what, remote);
    return -1;
}
