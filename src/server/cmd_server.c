/* server/cmd_server.c — commands about the server: INFO, COMMAND (from the
 * command table), CONFIG, TIME and PARLEY.FWD (the leader's side of a
 * follower's forwarded batch). RAFT is in cmd_raft.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/cmdstats.h"
#include "repl/entry.h"
#include "server/server.h"

/* --------------------------------------------------------------------
 * INFO
 * ------------------------------------------------------------------ */

static void human_bytes(char *out, size_t len, double n)
{
    const char *units = "BKMGTP";
    int u = 0;
    while (n >= 1024 && u < 5) {
        n /= 1024;
        u++;
    }
    if (u == 0) snprintf(out, len, "%.0fB", n);
    else snprintf(out, len, "%.2f%c", n, units[u]);
}

/* Whether INFO with these arguments shows the section `name`. No argument
 * means "default"; "all" and "everything" mean every section. As in Redis 7,
 * the arguments select sections, and the sections come out once each, in
 * their own order. */
static bool want(int n, const struct resp_arg *args, const char *name, bool is_default)
{
    if (n == 0) return is_default;
    for (int i = 0; i < n; i++) {
        if (arg_is(&args[i], "default") && is_default) return true;
        if (arg_is(&args[i], "all") || arg_is(&args[i], "everything")) return true;
        if (arg_is(&args[i], name)) return true;
    }
    return false;
}

void server_info(struct server *s, int nsections, const struct resp_arg *sections,
                 struct buf *out)
{
    int64_t now = clock_wall_ms();
    bool first = true;
#define SECTION(name)                              \
    do {                                           \
        if (!first) buf_append_str(out, "\r\n");   \
        first = false;                             \
        buf_append_str(out, "# " name "\r\n");     \
    } while (0)
    if (want(nsections, sections, "server", true)) {
        struct utsname u;
        uname(&u);
        SECTION("Server");
        buf_printf(out,
                   "redis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                   "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                   "multiplexing_api:epoll\r\ngcc_version:%d.%d.%d\r\nprocess_id:%d\r\n"
                   "run_id:%s\r\ntcp_port:%lld\r\nserver_time_usec:%lld\r\n"
                   "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:10\r\n"
                   "executable:parley-server\r\nconfig_file:%s\r\nparley_version:%s\r\n",
                   REDIS_COMPAT_VERSION, u.sysname, u.release, u.machine, (int)(8 * sizeof(long)),
                   __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, (int)getpid(), s->run_id,
                   s->cfg.port, (long long)clock_wall_us(), (long long)((now - s->start_ms) / 1000),
                   (long long)((now - s->start_ms) / 86400000), s->cfg.config_file ? s->cfg.config_file : "",
                   PARLEY_VERSION);
        if (s->repl) {
            struct repl_info ri;
            repl_get_info(s->repl, &ri);
            buf_printf(out, "parley_protocol_version:%u\r\ncluster_protocol_version:%u\r\n",
                       ri.protocol_supported, ri.protocol_active);
        }
    }
    if (want(nsections, sections, "clients", true)) {
        size_t held = 0; /* clients CLIENT PAUSE holds count as blocked, as in Redis */
        for (const struct client *p = s->paused; p; p = p->paused_next) held++;
        SECTION("Clients");
        buf_printf(out,
                   "connected_clients:%llu\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
                   "blocked_clients:%zu\r\ntracking_clients:%llu\r\nclients_in_timeout_table:%zu\r\n",
                   (unsigned long long)s->n_clients, s->cfg.maxclients, s->n_waiters + held,
                   (unsigned long long)tracking_clients(s), s->n_waiters);
    }
    if (want(nsections, sections, "memory", true)) {
        /* This node's own figures (base/mem.h); maxmemory is decided by the
         * leader with its own (repl/memory.c). */
        size_t used = mem_used_bytes(), rss = mem_rss_bytes();
        if (used > s->stats.peak_memory) s->stats.peak_memory = used;
        char h[32], hp[32], hrss[32], hmax[32];
        human_bytes(h, sizeof h, (double)used);
        human_bytes(hp, sizeof hp, (double)s->stats.peak_memory);
        human_bytes(hrss, sizeof hrss, (double)rss);
        human_bytes(hmax, sizeof hmax, (double)s->cfg.maxmemory);
        SECTION("Memory");
        buf_printf(out,
                   "used_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                   "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\n"
                   "used_memory_peak_human:%s\r\nmaxmemory:%lld\r\nmaxmemory_human:%s\r\n"
                   "maxmemory_policy:%s\r\nmem_allocator:libc\r\n"
                   "lazyfree_pending_objects:%llu\r\n",
                   used, h, rss, hrss, (unsigned long long)s->stats.peak_memory, hp,
                   s->cfg.maxmemory, hmax, evict_policy_name(s->cfg.maxmemory_policy),
                   (unsigned long long)lazyfree_pending_objects());
        /* The Raft log's share, outside used_memory (repl/logbound.c). */
        struct repl_info ri;
        repl_get_info(s->repl, &ri);
        char hlog[32];
        human_bytes(hlog, sizeof hlog, (double)ri.log_bytes);
        buf_printf(out,
                   "raft_log_bytes:%zu\r\nraft_log_bytes_human:%s\r\nraft_log_entries:%zu\r\n"
                   "raft_log_max_bytes:%zu\r\nraft_log_trailing_bytes:%zu\r\n",
                   ri.log_bytes, hlog, ri.log_entries, ri.log_max_bytes, ri.log_trailing_bytes);
    }
    if (want(nsections, sections, "persistence", true)) {
        SECTION("Persistence");
        struct repl_info pri;
        repl_get_info(s->repl, &pri);
        buf_printf(out, "loading:0\r\nrdb_changes_since_last_save:%llu\r\n"
                        "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\n"
                        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\n"
                        "rdb_current_bgsave_time_sec:%lld\r\nrdb_saves_scheduled:%d\r\n"
                        "aof_enabled:0\r\nparley_durability:raft-quorum-fsync\r\n",
                   (unsigned long long)pri.changes_since_snapshot, pri.bgsave_in_progress ? 1 : 0,
                   (long long)(server_last_save_ms(s) / 1000),
                   pri.bgsave_last_failed ? "err" : "ok", (long long)pri.bgsave_last_secs,
                   (long long)pri.bgsave_current_secs, pri.bgsave_scheduled ? 1 : 0);
        /* The Raft log is what Redis's AOF is here: its write status under
         * Redis's name, the rest (repl/diskwatch.c) under ours. */
        buf_printf(out,
                   "aof_last_write_status:%s\r\nparley_disk_write_status:%s\r\n"
                   "parley_disk_error:%s\r\nparley_disk_error_since:%lld\r\n"
                   "parley_disk_last_errno:%d\r\nparley_disk_write_errors:%llu\r\n"
                   "parley_log_space_waits:%llu\r\n",
                   pri.disk_error ? "err" : "ok", pri.disk_error ? "err" : "ok",
                   pri.disk_error_reason, (long long)(pri.disk_error_since_ms / 1000),
                   pri.disk_last_errno, (unsigned long long)pri.disk_write_errors,
                   (unsigned long long)pri.log_space_waits);
    }
    if (want(nsections, sections, "stats", true)) {
        const struct net_stats *ns = net_get_stats(s->net);
        struct repl_info ri;
        repl_get_info(s->repl, &ri);
        uint64_t ops = 0, hits, misses;
        for (int i = 0; i < 10; i++) ops += s->stats.ops_window[i];
        cmdstats_keyspace_counts(&hits, &misses);
        SECTION("Stats");
        buf_printf(out,
                   "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                   "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\n"
                   "total_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
                   "expired_keys:%llu\r\nexpired_stale_perc:%.2f\r\n"
                   "expired_time_cap_reached_count:%llu\r\nexpire_cycle_cpu_milliseconds:%llu\r\n"
                   "evicted_keys:%llu\r\nlazyfreed_objects:%llu\r\n"
                   "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\nmigrate_cached_sockets:%zu\r\n"
                   "total_error_replies:%llu\r\n",
                   (unsigned long long)ns->connections_received,
                   (unsigned long long)s->stats.commands, (unsigned long long)ops,
                   (unsigned long long)ns->net_input_bytes, (unsigned long long)ns->net_output_bytes,
                   (unsigned long long)ns->rejected_connections,
                   (unsigned long long)s->store->expired_keys, ri.expired_stale_perc,
                   (unsigned long long)ri.expired_time_cap_reached_count,
                   (unsigned long long)ri.expire_cycle_cpu_ms,
                   (unsigned long long)s->store->evicted_keys,
                   (unsigned long long)lazyfree_freed_objects(), (unsigned long long)hits,
                   (unsigned long long)misses, migrate_cached_sockets(s),
                   (unsigned long long)cmdstats_total_errors());
        tracking_info_stats(s, out);
    }
    if (want(nsections, sections, "replication", true)) {
        SECTION("Replication");
        role_info_section(s, out);
    }
    if (want(nsections, sections, "cpu", true)) {
        struct rusage self, children;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
#define SECS(tv) ((double)(tv).tv_sec + (double)(tv).tv_usec / 1000000.0)
        SECTION("CPU");
        buf_printf(out,
                   "used_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
                   "used_cpu_user_children:%.6f\r\n",
                   SECS(self.ru_stime), SECS(self.ru_utime), SECS(children.ru_stime),
                   SECS(children.ru_utime));
#undef SECS
    }
    if (want(nsections, sections, "raft", true)) {
        struct repl_info ri;
        repl_get_info(s->repl, &ri);
        SECTION("Raft");
        buf_printf(out,
                   "raft_node_id:%" PRIu64 "\r\nraft_role:%s\r\nraft_term:%" PRIu64 "\r\n"
                   "raft_leader_id:%" PRIu64 "\r\nraft_leader_addr:%s\r\n"
                   "raft_commit_index:%" PRIu64 "\r\nraft_applied_index:%" PRIu64 "\r\n"
                   "raft_last_index:%" PRIu64 "\r\nraft_entries_proposed:%" PRIu64 "\r\n"
                   "raft_batches_proposed:%" PRIu64 "\r\nraft_batches_forwarded:%" PRIu64 "\r\n"
                   "raft_commands_applied:%" PRIu64 "\r\nraft_duplicates_skipped:%" PRIu64 "\r\n"
                   "raft_pending_batches:%zu\r\nraft_inflight_bytes:%zu\r\n"
                   "raft_read_lease:%s\r\n",
                   ri.node_id, ri.role, ri.term, ri.leader_id, ri.leader_addr, ri.commit_index,
                   ri.applied_index, ri.last_index, ri.entries_proposed, ri.batches_proposed,
                   ri.batches_forwarded, ri.commands_applied, ri.duplicates_skipped,
                   ri.pending_batches, ri.inflight_bytes, ri.lease_valid ? "valid" : "none");
        buf_printf(out,
                   "raft_divergence_checks_passed:%" PRIu64 "\r\n"
                   "raft_divergence_checks_failed:%" PRIu64 "\r\n"
                   "raft_divergence_last_failed_index:%" PRIu64 "\r\n"
                   "raft_snapshots_by_bytes:%" PRIu64 "\r\n",
                   ri.divergence_checks_passed, ri.divergence_checks_failed,
                   ri.divergence_last_failed_index, ri.snapshots_by_bytes);
        buf_printf(out,
                   "raft_snapshot_in_progress:%d\r\nraft_snapshot_child_pid:%d\r\n"
                   "raft_snapshot_buffer_bytes:%zu\r\nraft_snapshots_started:%" PRIu64 "\r\n"
                   "raft_snapshots_taken:%" PRIu64 "\r\nraft_snapshots_failed:%" PRIu64 "\r\n"
                   "raft_snapshot_last_bytes:%zu\r\nraft_snapshot_last_fork_usec:%lld\r\n",
                   ri.snapshot_child_pid != 0, ri.snapshot_child_pid, ri.snapshot_buffer_bytes,
                   ri.snapshots_started, ri.snapshots_taken, ri.snapshots_failed,
                   ri.snapshot_last_bytes, (long long)ri.snapshot_last_fork_us);
    }
    if (want(nsections, sections, "commandstats", false)) {
        SECTION("Commandstats");
        cmdstats_info_commands(out);
    }
    if (want(nsections, sections, "errorstats", true)) {
        SECTION("Errorstats");
        cmdstats_info_errors(out);
    }
    if (want(nsections, sections, "latencystats", false)) {
        SECTION("Latencystats");
        if (s->cfg.latency_tracking)
            cmdstats_info_latency(out, s->cfg.latency_percentiles.v, s->cfg.latency_percentiles.n);
    }
    if (want(nsections, sections, "keyspace", true)) {
        SECTION("Keyspace");
        for (int db = 0; db < STORE_DBS; db++) {
            uint64_t keys = store_db_size(s->store, db);
            if (keys == 0) continue;
            buf_printf(out, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", db,
                       (unsigned long long)keys, (unsigned long long)store_db_expiring(s->store, db));
        }
    }
#undef SECTION
}

static void cmd_info(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    struct buf text = BUF_INIT;
    server_info(c->srv, argc - 1, argv + 1, &text);
    struct resp_out o = client_reply(c);
    resp_verbatim(&o, text.data ? text.data : "", text.len);
    buf_free(&text);
}

/* --------------------------------------------------------------------
 * COMMAND
 * ------------------------------------------------------------------ */

/* Flags and ACL categories in the order Redis 7.0 lists them
 * (addReplyCommandFlags, ACLCommandCategories). */
static const struct {
    uint64_t bit;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},     {CMD_PUBSUB, "pubsub"},     {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"}, {CMD_LOADING, "loading"}, {CMD_STALE, "stale"},       {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_FAST, "fast"},       {CMD_NO_AUTH, "no_auth"},   {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};

static void command_info_one(struct resp_out *o, const struct cmd_def *d)
{
    resp_array(o, 10);
    resp_bulk_str(o, d->name);
    resp_int(o, d->arity);
    size_t h = resp_defer_len(o);
    long long n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof *flag_names; i++)
        if (d->flags & flag_names[i].bit) {
            resp_simple(o, flag_names[i].name);
            n++;
        }
    if (cmd_keys_movable(d)) { /* last, as Redis lists it */
        resp_simple(o, "movablekeys");
        n++;
    }
    resp_set_deferred_len(o, h, '~', n);
    resp_int(o, d->first_key);
    resp_int(o, d->last_key);
    resp_int(o, d->key_step);
    h = resp_defer_len(o);
    n = 0;
    for (const struct acl_category_name *a = acl_category_names; a->name; a++)
        if (d->acl & a->bit) {
            char at[32];
            snprintf(at, sizeof at, "@%s", a->name);
            resp_simple(o, at);
            n++;
        }
    resp_set_deferred_len(o, h, '~', n);
    /* Tips, key specs and subcommands are sets in RESP3, as Redis sends. */
    resp_set(o, 0); /* tips */
    resp_set(o, 0); /* key specs */
    long long subs = 0;
    if (d->subcommands)
        for (const struct cmd_def *s = d->subcommands; s->name; s++) subs++;
    resp_set(o, subs);
    if (d->subcommands)
        for (const struct cmd_def *s = d->subcommands; s->name; s++) command_info_one(o, s);
}

/* Redis 7 names subcommands in full ("object|encoding"), and redis-cli
 * expects every entry to carry an "arguments" array. */
static void command_docs_one(struct resp_out *o, const struct cmd_def *d)
{
    resp_bulk_str(o, d->name); /* subcommands too go by their full name */
    long long subs = 0;
    if (d->subcommands)
        for (const struct cmd_def *s = d->subcommands; s->name; s++) subs++;
    resp_map(o, subs ? 6 : 5);
    resp_bulk_str(o, "summary");
    resp_bulk_str(o, d->summary);
    resp_bulk_str(o, "since");
    resp_bulk_str(o, d->since);
    resp_bulk_str(o, "group");
    resp_bulk_str(o, d->group);
    resp_bulk_str(o, "complexity");
    resp_bulk_str(o, d->complexity);
    resp_bulk_str(o, "arguments");
    resp_array(o, 0);
    if (subs) {
        resp_bulk_str(o, "subcommands");
        resp_map(o, subs);
        for (const struct cmd_def *s = d->subcommands; s->name; s++) command_docs_one(o, s);
    }
}

static const struct cmd_def *find_any(const struct resp_arg *a)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    if (bar == NULL) return cmd_lookup(a->ptr, a->len, false);
    const struct cmd_def *parent = cmd_lookup(a->ptr, (size_t)(bar - a->ptr), false);
    if (parent == NULL) return NULL;
    return cmd_lookup_sub(parent, bar + 1, a->len - (size_t)(bar - a->ptr) - 1);
}

static void cmd_command(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    size_t n = cmd_table_size();
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) command_info_one(&o, cmd_table_at(i));
}

static void command_count(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_int(&o, (long long)cmd_table_size());
}

static void command_list(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    const struct resp_arg *pattern = NULL, *aclcat = NULL;
    if (argc == 5 && arg_is(&argv[2], "filterby")) {
        if (arg_is(&argv[3], "pattern")) pattern = &argv[4];
        else if (arg_is(&argv[3], "aclcat")) aclcat = &argv[4];
        else if (!arg_is(&argv[3], "module")) goto syntax;
    } else if (argc != 2) {
        goto syntax;
    }
    struct resp_out o = client_reply(c);
    size_t h = resp_defer_len(&o);
    long long count = 0;
    /* Every command and subcommand, as Redis 7.0 lists them. */
    for (size_t i = 0; i < cmd_count_all(); i++) {
        const struct cmd_def *d = cmd_by_id(i);
        if (d->flags & CMD_INTERNAL) continue;
        if (argc == 5 && arg_is(&argv[3], "module")) break;
        if (pattern && !glob_match(pattern->ptr, pattern->len, d->name, strlen(d->name), true)) continue;
        if (aclcat) {
            uint32_t bit = acl_category_bit(aclcat->ptr, aclcat->len);
            if (!(d->acl & bit)) continue;
        }
        resp_bulk_str(&o, d->name);
        count++;
    }
    resp_set_deferred_len(&o, h, '*', count);
    return;
syntax:
    o = client_reply(c);
    resp_error(&o, "ERR syntax error");
}

static void command_info(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    if (argc == 2) {
        cmd_command(c, cmd, argc, argv);
        return;
    }
    struct resp_out o = client_reply(c);
    resp_array(&o, argc - 2);
    for (int j = 2; j < argc; j++) {
        const struct cmd_def *d = find_any(&argv[j]);
        if (d && !(d->flags & CMD_INTERNAL)) command_info_one(&o, d);
        else resp_null(&o); /* Redis's addReplyNull: $-1, or _ in RESP3 */
    }
}

static void command_docs(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if (argc == 2) {
        resp_map(&o, (long long)cmd_table_size());
        for (size_t i = 0; i < cmd_table_size(); i++) command_docs_one(&o, cmd_table_at(i));
        return;
    }
    size_t h = resp_defer_len(&o);
    long long n = 0;
    for (int j = 2; j < argc; j++) {
        const struct cmd_def *d = find_any(&argv[j]);
        if (d == NULL) continue;
        command_docs_one(&o, d);
        n++;
    }
    resp_set_deferred_len(&o, h, '%', n);
}

void reply_lines(struct client *c, const char **lines, size_t n)
{
    struct resp_out o = client_reply(c);
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&o, lines[i]);
}

static void command_help(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    static const char *lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS <command> [arg ...]: the keys the
 * table's key specs find in that call (keyspec.c), each with its Redis
 * key-spec flags. A call whose specs Redis would call invalid, or that
 * names no key, gets Redis's error, or an empty list for a command that
 * may name none (EVAL ... 0). */
struct getkeys {
    int *index;
    uint32_t *key_flags;
    int n;
};

static bool collect_key(void *arg, int index, uint32_t key_flags)
{
    struct getkeys *g = arg;
    g->index[g->n] = index;
    g->key_flags[g->n++] = key_flags;
    return true;
}

static void reply_key_flags(struct resp_out *o, uint32_t key_flags)
{
    long long n = 0;
    for (const struct key_flag_name *f = key_flag_names; f->name; f++) n += (key_flags & f->bit) != 0;
    resp_set(o, n);
    for (const struct key_flag_name *f = key_flag_names; f->name; f++)
        if (key_flags & f->bit) resp_simple(o, f->name);
}

static void command_getkeys_generic(struct client *c, int argc, const struct resp_arg *argv,
                                    bool with_flags)
{
    struct resp_out o = client_reply(c);
    const struct resp_arg *args = argv + 2;
    int n = argc - 2;
    const struct cmd_def *d = cmd_lookup(args[0].ptr, args[0].len, false);
    if (d && (d->flags & CMD_CONTAINER)) d = n > 1 ? cmd_lookup_sub(d, args[1].ptr, args[1].len) : NULL;
    if (d == NULL) {
        resp_error(&o, "ERR Invalid command specified");
        return;
    }
    if (!cmd_has_keys(d)) {
        resp_error(&o, "ERR The command has no key arguments");
        return;
    }
    if (!cmd_arity_ok(d, n)) {
        resp_error(&o, "ERR Invalid number of arguments specified for command");
        return;
    }
    struct getkeys g = {xmalloc((size_t)n * sizeof(int)), xmalloc((size_t)n * sizeof(uint32_t)), 0};
    if (cmd_keys_complete(d, n, args)) cmd_keys_each(d, n, args, collect_key, &g);
    if (g.n == 0 && (d->flags & CMD_NO_MANDATORY_KEYS)) {
        resp_array(&o, 0);
    } else if (g.n == 0) {
        resp_error(&o, "ERR Invalid arguments specified for command");
    } else {
        resp_array(&o, g.n);
        for (int i = 0; i < g.n; i++) {
            const struct resp_arg *k = &args[g.index[i]];
            if (!with_flags) {
                resp_bulk(&o, k->ptr, k->len);
                continue;
            }
            resp_array(&o, 2);
            resp_bulk(&o, k->ptr, k->len);
            reply_key_flags(&o, g.key_flags[i]);
        }
    }
    free(g.index);
    free(g.key_flags);
}

static void command_getkeys(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    command_getkeys_generic(c, argc, argv, false);
}

static void command_getkeysandflags(struct client *c, const struct cmd_def *cmd, int argc,
                                    const struct resp_arg *argv)
{
    command_getkeys_generic(c, argc, argv, true);
}

/* COMMAND alone is a container whose subcommand is optional. */
static void cmd_command_entry(struct client *c, const struct cmd_def *cmd, int argc,
                              const struct resp_arg *argv)
{
    cmd_command(c, cmd, argc, argv);
}

/* --------------------------------------------------------------------
 * CONFIG, TIME
 * ------------------------------------------------------------------ */

struct pairs {
    struct resp_out *o;
    long long n;
    struct buf seen;
};

static void add_pair(void *ctx, const char *name, const char *value)
{
    struct pairs *p = ctx;
    /* A directive matched by two patterns is listed once, under the first
     * spelling (names are case-insensitive). */
    size_t len = strlen(name);
    for (size_t off = 0; off < p->seen.len; off += strlen(p->seen.data + off) + 1)
        if (strcasecmp(p->seen.data + off, name) == 0) return;
    buf_append(&p->seen, name, len + 1);
    resp_bulk_str(p->o, name);
    resp_bulk_str(p->o, value);
    p->n++;
}

static void config_get_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    struct pairs p = {&o, 0, BUF_INIT};
    size_t h = resp_defer_len(&o);
    for (int j = 2; j < argc; j++) config_get(&c->srv->cfg, argv[j].ptr, argv[j].len, add_pair, &p);
    resp_set_deferred_len(&o, h, '%', p.n);
    buf_free(&p.seen);
}

static void config_set_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    if ((argc - 2) % 2 != 0) {
        resp_error(&o, "ERR syntax error"); /* Redis 7.0: not name/value pairs */
        return;
    }
    /* Both are proposed through the log, each as an entry of its own
     * that answers the CONFIG SET: one command cannot carry both. */
    bool has_requirepass = false;
    for (int j = 2; j < argc; j += 2) has_requirepass |= arg_is(&argv[j], "requirepass");
    /* Inside EXEC (cmd_multi.c) a node-local command answers at once; a
     * replicated setting answers only once its own entry applies. */
    if (c->capture && (has_requirepass || encoding_config_named(argc, argv))) {
        resp_error(&o, "ERR CONFIG SET of a replicated setting (requirepass, the encoding thresholds) "
                       "cannot run inside a transaction in Parley");
        return;
    }
    if (has_requirepass && encoding_config_named(argc, argv)) {
        resp_error(&o, "ERR CONFIG SET failed (possibly related to argument 'requirepass') - "
                       "set requirepass and the encoding thresholds in separate CONFIG SET commands");
        return;
    }
    int n = (argc - 2) / 2;
    char **words = xmalloc((size_t)(2 * n) * sizeof *words);
    for (int j = 0; j < 2 * n; j++) {
        words[j] = xmalloc(argv[j + 2].len + 1);
        memcpy(words[j], argv[j + 2].ptr, argv[j + 2].len);
        words[j][argv[j + 2].len] = '\0';
    }
    const char **names = xmalloc((size_t)n * sizeof *names);
    const char **values = xmalloc((size_t)n * sizeof *values);
    for (int i = 0; i < n; i++) {
        names[i] = words[2 * i];
        values[i] = words[2 * i + 1];
    }
    const char *bad;
    char err[256];
    int rv = config_set(&c->srv->cfg, n, names, values, &bad, err, sizeof err, server_apply_config,
                        c->srv);
    if (rv == -2)
        resp_errorf(&o, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", bad);
    else if (rv != 0)
        resp_errorf(&o, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", bad, err);
    for (int j = 0; j < 2 * n; j++) free(words[j]);
    free(words);
    free(names);
    free(values);
    if (rv != 0) return;
    server_apply_runtime_config(c->srv);
    /* requirepass is the default user's password, replicated state: its
     * change goes through the log and answers this CONFIG SET. */
    bool requirepass = false;
    for (int j = 2; j < argc; j += 2) requirepass |= arg_is(&argv[j], "requirepass");
    /* So are the encoding thresholds (server/encoding.c). */
    if (requirepass) acl_requirepass_changed(c);
    else if (encoding_config_named(argc, argv)) encoding_config_changed(c, argc, argv);
    else resp_ok(&o);
}

static void config_resetstat(struct client *c, const struct cmd_def *cmd, int argc,
                             const struct resp_arg *argv)
{
    c->srv->stats.commands = 0;
    c->srv->store->evicted_keys = 0;
    lazyfree_reset_stats();
    cmdstats_reset();
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

/* CONFIG REWRITE: what CONFIG SET changed, into the config file. */
static void config_rewrite_cmd(struct client *c, const struct cmd_def *cmd, int argc,
                               const struct resp_arg *argv)
{
    char why[512];
    struct resp_out o = client_reply(c);
    if (config_rewrite(&c->srv->cfg, why, sizeof why) != 0) {
        log_warn("CONFIG REWRITE failed: %s", why);
        resp_errorf(&o, "ERR %s", why);
        return;
    }
    log_info("CONFIG REWRITE executed with success.");
    resp_ok(&o);
}

static void config_help(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    static const char *lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

static void cmd_time(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    int64_t us = clock_wall_us();
    struct resp_out o = client_reply(c);
    resp_array(&o, 2);
    resp_bulk_ll(&o, us / 1000000);
    resp_bulk_ll(&o, us % 1000000);
}

/* --------------------------------------------------------------------
 * PARLEY.FWD
 * ------------------------------------------------------------------ */

static bool parse_u64(const struct resp_arg *a, uint64_t *v)
{
    char tmp[24];
    if (a->len == 0 || a->len >= sizeof tmp) return false;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    *v = strtoull(tmp, &end, 10);
    return *end == '\0' && tmp[0] != '-';
}

/* Every command of a forwarded body must be one a client could send
 * directly (no connection commands, no internal ones), one the server sends
 * on a client's behalf (__exec, __watch), or one a follower sends for
 * itself (repl_internal_forwardable: __member, __skipped). */
static bool forwardable(const char *body, size_t len)
{
    struct command_reader cr;
    command_reader_init(&cr, body, len);
    struct argv_room room = {0};
    struct entry_command ec;
    bool ok = true;
    int rc;
    while (ok && (rc = command_next_in(&cr, &ec, &room)) != 0) {
        const struct resp_arg *argv = room.argv;
        if (rc > 0 && repl_internal_forwardable(argv[0].ptr, argv[0].len)) continue;
        const struct cmd_def *d = rc > 0 ? cmd_lookup(argv[0].ptr, argv[0].len, true) : NULL;
        ok = d != NULL && !(d->flags & CMD_LOCAL) &&
             (!(d->flags & CMD_INTERNAL) || (d->flags & CMD_FOR_CLIENT));
    }
    argv_room_free(&room);
    return ok;
}

/* PARLEY.FWD <origin> <seq> <n> <body part>...: the body comes in parts
 * (repl/link.c sends at most 1 MB each, the least proto-max-bulk-len), so
 * a batch holding a command as large as this node accepts from a client
 * is never refused for the size of the bulk string carrying it. */
static void parley_fwd(struct client *c, const struct cmd_def *cmd, int argc,
                       const struct resp_arg *argv)
{
    struct resp_arg body = argv[4];
    struct buf joined = BUF_INIT;
    size_t total = 0;
    for (int i = 4; i < argc; i++) total += argv[i].len;
    if (argc > 5 && total <= ENTRY_BATCH_BODY_MAX) {
        buf_reserve(&joined, total + 1);
        for (int i = 4; i < argc; i++) buf_append(&joined, argv[i].ptr, argv[i].len);
        body.ptr = joined.data;
        body.len = joined.len;
    }
    uint64_t origin, seq, n;
    if (!parse_u64(&argv[1], &origin) || !parse_u64(&argv[2], &seq) || !parse_u64(&argv[3], &n) ||
        n > UINT32_MAX || total > ENTRY_BATCH_BODY_MAX ||
        !entry_body_valid(body.ptr, body.len, (uint32_t)n, STORE_DBS) ||
        !forwardable(body.ptr, body.len)) {
        struct resp_out o = client_reply(c);
        resp_error(&o, "ERR malformed forwarded batch");
        buf_free(&joined);
        return;
    }
    struct reply_slot *slot = client_slot_for_submit(c);
    repl_submit_forwarded(c->srv->repl, slot, origin, seq, (uint32_t)n, body.ptr, body.len);
    buf_free(&joined);
}

/* --------------------------------------------------------------------
 * OBJECT IDLETIME / FREQ: this node's own access records of a key (never
 * replicated: they answer from here, never through the log, and are
 * refused inside MULTI and scripts as the other node-local commands are)
 * ------------------------------------------------------------------ */

static bool lfu_policy(const struct server *s)
{
    return s->cfg.maxmemory_policy == EVICT_ALLKEYS_LFU || s->cfg.maxmemory_policy == EVICT_VOLATILE_LFU;
}

static struct sobj *object_lookup(struct client *c, const struct resp_arg *key)
{
    struct dict_entry *e = store_peek(c->srv->store, c->db, key->ptr, key->len, clock_wall_ms());
    return e ? store_value(e) : NULL;
}

static void object_idletime(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    struct sobj *v = object_lookup(c, &argv[2]);
    if (v == NULL) {
        resp_null(&o);
    } else if (lfu_policy(c->srv)) {
        resp_error(&o, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note "
                       "that when switching between policies at runtime LRU and LFU data will take "
                       "some time to adjust.");
    } else {
        resp_int(&o, (long long)(evict_idle_ms(v) / 1000));
    }
}

static void object_freq(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    struct sobj *v = object_lookup(c, &argv[2]);
    if (v == NULL) {
        resp_null(&o);
    } else if (!lfu_policy(c->srv)) {
        resp_error(&o, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                       "Please note that when switching between policies at runtime LRU and LFU data "
                       "will take some time to adjust.");
    } else {
        resp_int(&o, evict_frequency(v));
    }
}

/* --------------------------------------------------------------------
 * WAIT, WAITAOF, LASTSAVE: what is true of Parley's durability. Every write
 * acknowledged to a client is already on the disks of a quorum, this node
 * included (Parley always fsyncs), so neither waits: each answers at once
 * how many other members hold every committed entry (on a leader, counted
 * from the followers' match indexes; elsewhere the quorum's share).
 * ------------------------------------------------------------------ */

/* Redis's getTimeoutFromObjectOrReply in milliseconds (checked only). */
static bool timeout_ok(struct resp_out *o, const struct resp_arg *a)
{
    long long t;
    if (!arg_to_ll(a, &t)) {
        resp_error(o, "ERR timeout is not an integer or out of range");
        return false;
    }
    if (t < 0) {
        resp_error(o, "ERR timeout is negative");
        return false;
    }
    return true;
}

static void cmd_wait(struct client *c, const struct cmd_def *cmd, int argc,
                     const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long n;
    if (!arg_to_ll(&argv[1], &n)) {
        resp_error(&o, "ERR value is not an integer or out of range");
        return;
    }
    if (!timeout_ok(&o, &argv[2])) return;
    resp_int(&o, repl_replicas_holding_commits(c->srv->repl));
}

static void cmd_waitaof(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    long long local, replicas;
    if (!arg_to_ll(&argv[1], &local) || !arg_to_ll(&argv[2], &replicas)) {
        resp_error(&o, "ERR value is not an integer or out of range");
        return;
    }
    if (!timeout_ok(&o, &argv[3])) return;
    resp_array(&o, 2);
    resp_int(&o, 1);
    resp_int(&o, repl_replicas_holding_commits(c->srv->repl));
}

/* --------------------------------------------------------------------
 * MEMORY: this node's own memory, as INFO memory counts it
 * ------------------------------------------------------------------ */

/* MEMORY USAGE key [SAMPLES n]: the value's bytes (sobj_memory, every
 * element counted: SAMPLES is accepted and changes nothing), the key's
 * and its entry's. Not Redis's figure for the same data (another
 * allocator and other structures). */
static void memory_usage(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    for (int j = 3; j < argc; j++) {
        long long n;
        if (arg_is(&argv[j], "samples") && j + 1 < argc) {
            if (!arg_to_ll(&argv[++j], &n)) {
                resp_error(&o, "ERR value is not an integer or out of range");
                return;
            }
            if (n < 0) {
                resp_error(&o, "ERR syntax error");
                return;
            }
        } else {
            resp_error(&o, "ERR syntax error");
            return;
        }
    }
    struct dict_entry *e = store_peek(c->srv->store, c->db, argv[2].ptr, argv[2].len, clock_wall_ms());
    if (e == NULL) {
        resp_null(&o);
        return;
    }
    resp_int(&o, (long long)(sobj_memory(store_value(e)) + e->klen + sizeof *e));
}

static void memory_stats(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    size_t used = mem_used_bytes(), rss = mem_rss_bytes(), dataset = store_memory(c->srv->store);
    if (used > c->srv->stats.peak_memory) c->srv->stats.peak_memory = used;
    uint64_t keys = 0;
    for (int db = 0; db < STORE_DBS; db++) keys += store_db_size(c->srv->store, db);
    resp_map(&o, 9);
    resp_bulk_str(&o, "peak.allocated");
    resp_int(&o, (long long)c->srv->stats.peak_memory);
    resp_bulk_str(&o, "total.allocated");
    resp_int(&o, (long long)used);
    resp_bulk_str(&o, "keys.count");
    resp_int(&o, (long long)keys);
    resp_bulk_str(&o, "keys.bytes-per-key");
    resp_int(&o, keys ? (long long)(dataset / keys) : 0);
    resp_bulk_str(&o, "dataset.bytes");
    resp_int(&o, (long long)dataset);
    resp_bulk_str(&o, "dataset.percentage");
    resp_double(&o, used ? 100.0 * (double)dataset / (double)used : 0.0);
    resp_bulk_str(&o, "peak.percentage");
    resp_double(&o, c->srv->stats.peak_memory ? 100.0 * (double)used / (double)c->srv->stats.peak_memory : 0.0);
    resp_bulk_str(&o, "rss-overhead.bytes");
    resp_int(&o, (long long)rss - (long long)used);
    resp_bulk_str(&o, "raft.log.bytes");
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    resp_int(&o, (long long)ri.log_bytes);
}

static void memory_doctor(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    const char *text = "Hi Sam, I can't find any memory issue in your instance. I can only account "
                       "for what occurs on this base.";
    resp_verbatim(&o, text, strlen(text));
}

static void memory_malloc_stats(struct client *c, const struct cmd_def *cmd, int argc,
                                const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    const char *text = "Stats not supported for the current allocator";
    resp_verbatim(&o, text, strlen(text));
}

static void memory_purge(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_ok(&o);
}

static void memory_help(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    static const char *lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

static void pfselftest(struct client *c, const struct cmd_def *cmd, int argc,
                       const struct resp_arg *argv)
{
    char err[160];
    struct resp_out o = client_reply(c);
    if (hll_selftest(err, sizeof err)) resp_ok(&o);
    else resp_error(&o, err);
}

void server_bind_handlers(void)
{
    cmd_bind_local("pfselftest", pfselftest);
    cmd_bind_local("wait", cmd_wait);
    cmd_bind_local("waitaof", cmd_waitaof);
    cmd_bind_local("memory|usage", memory_usage);
    cmd_bind_local("memory|stats", memory_stats);
    cmd_bind_local("memory|doctor", memory_doctor);
    cmd_bind_local("memory|malloc-stats", memory_malloc_stats);
    cmd_bind_local("memory|purge", memory_purge);
    cmd_bind_local("memory|help", memory_help);
    cmd_bind_local("object|idletime", object_idletime);
    cmd_bind_local("object|freq", object_freq);
    cmd_bind_local("info", cmd_info);
    cmd_bind_local("command", cmd_command_entry);
    cmd_bind_local("command|count", command_count);
    cmd_bind_local("command|list", command_list);
    cmd_bind_local("command|info", command_info);
    cmd_bind_local("command|docs", command_docs);
    cmd_bind_local("command|help", command_help);
    cmd_bind_local("command|getkeys", command_getkeys);
    cmd_bind_local("command|getkeysandflags", command_getkeysandflags);
    cmd_bind_local("config|get", config_get_cmd);
    cmd_bind_local("config|set", config_set_cmd);
    cmd_bind_local("config|resetstat", config_resetstat);
    cmd_bind_local("config|rewrite", config_rewrite_cmd);
    cmd_bind_local("config|help", config_help);
    cmd_bind_local("time", cmd_time);
    cmd_bind_local("shutdown", cmd_shutdown);
    cmd_bind_local("parley.fwd", parley_fwd);
}
