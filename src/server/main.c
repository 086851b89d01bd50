/* server/main.c — parley-server: start-up, the tick, shutdown.
 *
 * Start-up: read the configuration, open the data directory through repl/
 * (snapshot + log), listen for clients. Then one libuv loop runs
 * everything. Just before the loop would block, the tick (a uv_prepare
 * handle) parses input of connections that were paused, seals and sends
 * the batch of writes this iteration produced (repl_flush), and writes every
 * pending reply (net_flush): one Raft entry and one write(2) per client per
 * iteration, however many commands arrived.
 *
 * SIGINT/SIGTERM: new connections are refused; a leader hands leadership
 * over; pending commands are answered (with an error when their outcome is
 * not known), connections are flushed and closed, Raft is closed, and the
 * process exits 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/tls.h"
#include "server/server.h"

static void on_tick(uv_prepare_t *h)
{
    struct server *s = h->data;
    latency_loop_tick(s);
    net_run_resumed(s->net);
    blocking_tick(s);
    tracking_tick(s);
    if (!s->shutting_down) repl_flush(s->repl);
    net_flush(s->net);
}

/* A key this node changed (NULL: a whole database): blocked clients wake,
 * tracking clients hear of it. */
static void on_key_touched(void *ctx, int db, const char *key, size_t klen)
{
    blocking_on_touch(ctx, db, key, klen);
    tracking_on_touch(ctx, db, key, klen);
}

static void on_cron(uv_timer_t *t)
{
    struct server *s = t->data;
    uint64_t total = s->stats.commands;
    s->stats.ops_window[s->stats.ops_window_pos] = total - s->stats.ops_last_total;
    s->stats.ops_window_pos = (s->stats.ops_window_pos + 1) % 10;
    s->stats.ops_last_total = total;
}

static void on_block_timer(uv_timer_t *t)
{
    blocking_timeouts(t->data);
    pause_tick(t->data);
}

static void on_accept(void *ctx, struct net_conn *conn)
{
    struct server *s = ctx;
    if (s->shutting_down || (long long)s->n_clients >= s->cfg.maxclients) {
        net_conn_reject(conn, "-ERR max number of clients reached\r\n");
        return;
    }
    if (acl_protected_refuse(s, conn)) return;
    net_conn_set_data(conn, client_new(s, conn));
}

/* Bad input: answered in its place among the client's replies (after the
 * ones its earlier commands still wait for), then the connection closes. */
static void on_protocol_error(void *ctx, struct net_conn *conn, const char *error)
{
    struct client *c = net_conn_data(conn);
    struct resp_out o = client_reply(c);
    resp_error(&o, error);
    client_quit(c);
}

static void on_close(void *ctx, struct net_conn *conn)
{
    struct client *c = net_conn_data(conn);
    if (c) client_free(c);
}

static struct net_limits limits_of(const struct config *cfg)
{
    struct net_limits l = {
        .max_bulk_len = cfg->proto_max_bulk_len,
        .query_buffer_max = (size_t)cfg->client_query_buffer_limit,
        .output_hard_max = (size_t)cfg->output_hard,
        .output_soft_max = (size_t)cfg->output_soft,
        .output_soft_seconds = (int)cfg->output_soft_seconds,
        .pubsub_hard_max = (size_t)cfg->pubsub_hard,
        .pubsub_soft_max = (size_t)cfg->pubsub_soft,
        .pubsub_soft_seconds = (int)cfg->pubsub_soft_seconds,
        .output_pause_bytes = (size_t)cfg->client_reply_pause_bytes,
        .tls_handshake_timeout_ms = cfg->tls_handshake_timeout_ms,
    };
    return l;
}

void server_apply_runtime_config(struct server *s)
{
    int level = log_level_parse(s->cfg.loglevel);
    if (level >= 0) log_set_level((enum log_level)level);
    struct net_limits l = limits_of(&s->cfg);
    net_update_limits(s->net, &l);
    repl_set_max_bulk_len(s->repl, s->cfg.proto_max_bulk_len);
    repl_set_memory(s->repl, s->cfg.maxmemory, (enum evict_policy)s->cfg.maxmemory_policy,
                    (int)s->cfg.maxmemory_samples);
    evict_configure((int)s->cfg.lfu_log_factor, (int)s->cfg.lfu_decay_time);
    lazyfree_configure(LAZYFREE_EVICTION, s->cfg.lazyfree_lazy_eviction);
    lazyfree_configure(LAZYFREE_EXPIRE, s->cfg.lazyfree_lazy_expire);
    lazyfree_configure(LAZYFREE_SERVER_DEL, s->cfg.lazyfree_lazy_server_del);
    lazyfree_configure(LAZYFREE_USER_DEL, s->cfg.lazyfree_lazy_user_del);
    lazyfree_configure(LAZYFREE_USER_FLUSH, s->cfg.lazyfree_lazy_user_flush);
    repl_set_divergence_check_interval(s->repl, (unsigned)s->cfg.divergence_check_interval_ms);
    s->store->notify_flags = s->cfg.notify_keyspace_events;
}

/* With tls-cluster, the Raft transport's two contexts from the
 * configuration: 0, or -1 with the reason in why (and nothing made). */
static int cluster_tls_new(const struct config *cfg, struct tls_ctx **server,
                           struct tls_ctx **client, char *why, size_t whylen)
{
    struct tls_settings ts;
    config_tls_cluster_settings(cfg, false, &ts);
    *server = tls_ctx_new(&ts, TLS_ROLE_SERVER, why, whylen);
    if (*server == NULL) return -1;
    config_tls_cluster_settings(cfg, true, &ts);
    *client = tls_ctx_new(&ts, TLS_ROLE_CLIENT, why, whylen);
    if (*client == NULL) {
        tls_ctx_free(*server);
        *server = NULL;
        return -1;
    }
    return 0;
}

/* The TLS directives take effect (CONFIG SET tls-*): new contexts for new
 * connections (clients on tls-port, and with tls-cluster the Raft
 * transport's), or, if a file is bad, the old ones kept and the CONFIG SET
 * refused with Redis's text. Without a tls-port or tls-cluster they are
 * only stored, as in Redis. */
static int reload_tls(void *ctx, char *err, size_t errlen)
{
    struct server *s = ctx;
    if (s->cfg.tls_port == 0 && !s->cfg.tls_cluster) return 0;
    char why[512];
    struct tls_ctx *server = NULL, *client = NULL;
    if (s->cfg.tls_cluster && cluster_tls_new(&s->cfg, &server, &client, why, sizeof why) != 0)
        goto refused;
    if (s->cfg.tls_port) {
        struct tls_settings ts;
        config_tls_settings(&s->cfg, &ts);
        if (net_tls_reload(s->net, &ts, why, sizeof why) != 0) {
            tls_ctx_free(server);
            tls_ctx_free(client);
            goto refused;
        }
    }
    if (s->cfg.tls_cluster) {
        tls_ctx_free(s->cluster_tls_server);
        tls_ctx_free(s->cluster_tls_client);
        s->cluster_tls_server = server;
        s->cluster_tls_client = client;
    }
    log_info("TLS configuration reloaded: new connections use it");
    return 0;
refused:
    log_warn("%s", why);
    log_warn("Failed applying new TLS configuration. Restoring previous settings.");
    snprintf(err, errlen, "Unable to update TLS configuration. Check server logs.");
    return -1;
}

/* CONFIG SET port: as Redis 7.0, the listener moves to the new port, the
 * old one closed only once the new one listens (connections already open
 * stay); a port that cannot be bound refuses the CONFIG SET with Redis's
 * text. Unlike Redis, port 0 is refused when there is no tls-port: a node
 * must stay reachable by its clients and by the other nodes. A derived
 * announce-addr follows the port and is registered again through the log
 * (repl_set_announce_addr). The setting itself is this node's own. */
static int move_listener(struct server *s, char *err, size_t errlen)
{
    if (s->cfg.port == s->listening_port) return 0;
    char why[512];
    if (s->cfg.port == 0 && s->cfg.tls_port == 0) {
        log_warn("port 0 without a tls-port would leave this node listening nowhere");
        goto refused;
    }
    if (net_relisten(s->net, s->cfg.bind, (int)s->cfg.port, false, why, sizeof why) != 0) {
        log_warn("%s", why);
        goto refused;
    }
    log_info("Now accepting connections tcp on %s port %lld (was %lld)", s->cfg.bind, s->cfg.port,
             s->listening_port);
    s->listening_port = s->cfg.port;
    if (config_follow_port(&s->cfg)) {
        log_info("Announced as %s", s->cfg.announce_addr);
        repl_set_announce_addr(s->repl, s->cfg.announce_addr);
    }
    return 0;
refused:
    snprintf(err, errlen, "Unable to listen on this port. Check server logs.");
    return -1;
}

int server_apply_config(void *ctx, enum config_apply what, char *err, size_t errlen)
{
    switch (what) {
    case CONFIG_APPLY_TLS: return reload_tls(ctx, err, errlen);
    case CONFIG_APPLY_LISTENER: return move_listener(ctx, err, errlen);
    case CONFIG_APPLY_N: break;
    }
    return -1;
}

static void on_closed(uv_handle_t *h) { (void)h; }

/* Raft is closed and every command it held has been answered (or failed):
 * send those replies, then close the clients and the loop. */
static void on_repl_stopped(void *arg)
{
    struct server *s = arg;
    migrate_close_handles(s);
    net_flush(s->net);
    net_close_all(s->net);
    uv_close((uv_handle_t *)&s->cron, on_closed);
    uv_close((uv_handle_t *)&s->block_timer, on_closed);
    uv_close((uv_handle_t *)&s->sigint, on_closed);
    uv_close((uv_handle_t *)&s->sigterm, on_closed);
    uv_close((uv_handle_t *)&s->sighup, on_closed);
    metrics_close(s);
    acl_close_handles(s);
    encoding_close_handles(s);
    restore_close_handles(s);
    log_info("Raft closed. Parley is now ready to exit, bye bye...");
    uv_stop(s->loop);
}

/* No new connections from now on; a leader first hands leadership over
 * (repl_stop), while clients already connected stay open to hear the
 * answers to what they sent. */
static void shutdown_server(struct server *s, const char *why)
{
    if (s->shutting_down) return;
    s->shutting_down = true;
    log_info("%s: shutting down", why);
    sdnotify("STOPPING=1\nSTATUS=Shutting down");
    repl_stop(s->repl, on_repl_stopped, s);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every write is already on
 * disk, so the save options change nothing; like Redis, a successful
 * shutdown closes the connection without a reply. */
void cmd_shutdown(struct client *c, const struct cmd_def *cmd, int argc,
                  const struct resp_arg *argv)
{
    for (int j = 1; j < argc; j++) {
        if (arg_is(&argv[j], "abort")) {
            struct resp_out o = client_reply(c);
            resp_error(&o, "ERR No shutdown in progress.");
            return;
        }
        if (!arg_is(&argv[j], "nosave") && !arg_is(&argv[j], "save") &&
            !arg_is(&argv[j], "now") && !arg_is(&argv[j], "force")) {
            struct resp_out o = client_reply(c);
            resp_error(&o, "ERR syntax error");
            return;
        }
    }
    shutdown_server(c->srv, "User requested shutdown");
}

static void on_signal(uv_signal_t *h, int signum)
{
    shutdown_server(h->data, signum == SIGINT ? "Received SIGINT" : "Received SIGTERM");
}

/* SIGHUP: reopen the log file (after logrotate moved it), as Redis does. */
static void on_sighup(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    log_info("Received SIGHUP, reopening the log file");
    if (s->cfg.logfile[0] && log_set_file(s->cfg.logfile) != 0)
        log_warn("Can't reopen the log file %s: %s", s->cfg.logfile, strerror(errno));
    else if (s->cfg.logfile[0])
        log_info("Log file reopened");
}

static void usage(void)
{
    printf("Usage: parley-server [/path/to/parley.conf] [--directive value ...]\n"
           "       parley-server --version\n\n"
           "With no arguments: a single durable node on 127.0.0.1:6379, data in ./parley-data.\n"
           "A three-node cluster on one machine (run each line in its own terminal):\n"
           "  parley-server --port 7001 --dir n1 --node-id 1 --raft-addr 127.0.0.1:17001 \\\n"
           "    --cluster 1@127.0.0.1:17001,2@127.0.0.1:17002,3@127.0.0.1:17003\n"
           "  (the same with 7002/n2/2/17002 and 7003/n3/3/17003)\n"
           "Or start one node, and have others join it (it adds them as voters):\n"
           "  parley-server --port 7001 --dir n1 --node-id 1 --raft-addr 127.0.0.1:17001\n"
           "  parley-server --port 7002 --dir n2 --node-id 2 --raft-addr 127.0.0.1:17002 \\\n"
           "    --join 127.0.0.1:7001\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
        printf("parley-server v=%s (redis protocol %s)\n", PARLEY_VERSION, REDIS_COMPAT_VERSION);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    static struct server s;
    struct buf err = BUF_INIT;
    if (config_load(&s.cfg, argc, argv, &err) != 0) {
        fprintf(stderr, "%.*s\n", (int)err.len, err.data);
        return 1;
    }
    if (s.cfg.cluster[0] && s.cfg.join[0]) {
        fprintf(stderr, "Give either 'cluster' (the members of a new cluster) or 'join' (a "
                        "member of a running one), not both\n");
        return 1;
    }
    if (s.cfg.port == 0 && s.cfg.tls_port == 0) {
        fprintf(stderr, "Configured to not listen anywhere, exiting.\n");
        return 1;
    }
    if (s.cfg.tls_cluster && s.cfg.tls_port == 0) {
        fprintf(stderr, "tls-cluster yes needs a tls-port: other nodes reach this one there "
                        "over TLS (the forwarding link, joins and relayed RAFT commands)\n");
        return 1;
    }
    config_finish(&s.cfg);
    char peers_err[512];
    if (config_check_peers(&s.cfg, peers_err, sizeof peers_err) != 0) {
        fprintf(stderr, "Fatal: %s\n", peers_err);
        return 1;
    }
    if (s.cfg.logfile[0] && log_set_file(s.cfg.logfile) != 0) {
        fprintf(stderr, "Can't open the log file %s\n", s.cfg.logfile);
        return 1;
    }
    int level = log_level_parse(s.cfg.loglevel);
    if (level < 0) {
        fprintf(stderr, "Invalid loglevel '%s'\n", s.cfg.loglevel);
        return 1;
    }
    log_set_level((enum log_level)level);
    /* A crash names the log entry and command being applied (repl/poison.c). */
    repl_crash_report_install();

    uint64_t seed[2];
    if (getrandom(seed, sizeof seed, 0) != sizeof seed) seed[0] = seed[1] = (uint64_t)clock_mono_us();
    /* The hash tables' seed is this process's own secret, so that no
     * client can choose keys that collide. Nothing a client sees depends on
     * it: replies list keys, members and fields in replicated orders (see
     * store/dset.h), and SCAN cursors are positions in those orders, valid
     * on every node. */
    hash_seed_init(seed[0]);
    s.rng = seed[1];
    /* run_id: 160 random bits of its own, so INFO reveals nothing of the
     * hash seed or the PRNG state. */
    unsigned char id[20];
    if (getrandom(id, sizeof id, 0) != sizeof id) {
        uint64_t x = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 40);
        for (size_t i = 0; i < sizeof id; i++) id[i] = (unsigned char)(dict_rand64(&x) >> 56);
    }
    for (int i = 0; i < 40; i++) s.run_id[i] = "0123456789abcdef"[(id[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    s.start_ms = clock_wall_ms();
    s.loop = uv_default_loop();
    /* The loop's idle time, so latency.c can tell busy time from waiting. */
    uv_loop_configure(s.loop, UV_METRICS_IDLE_TIME);
    s.store = store_new();
    /* The types encode by this keyspace's replicated thresholds; a
     * snapshot swaps its contents in place, so the pointer stays good. */
    store_encoding_bind(&s.store->enc);
    dict_init(&s.clients_by_id, NULL);
    log_info("Parley %s (Redis %s protocol) starting, pid %d", PARLEY_VERSION,
             REDIS_COMPAT_VERSION, (int)getpid());

    struct repl_config rc = {
        .node_id = (uint64_t)s.cfg.node_id,
        .raft_addr = s.cfg.raft_addr,
        .cluster = s.cfg.cluster,
        .join = s.cfg.join,
        .dir = s.cfg.dir,
        .announce_addr = s.cfg.announce_addr,
        .tls_announce_addr = s.cfg.tls_announce_addr,
        .cluster_secret = s.cfg.cluster_secret,
        .election_timeout_ms = (unsigned)s.cfg.raft_election_timeout_ms,
        .heartbeat_ms = (unsigned)s.cfg.raft_heartbeat_ms,
        .snapshot_threshold = (unsigned)s.cfg.raft_snapshot_threshold,
        .snapshot_trailing = (unsigned)s.cfg.raft_snapshot_trailing,
        .log_max_bytes = (size_t)s.cfg.raft_log_max_bytes,
        .log_trailing_bytes = (size_t)s.cfg.raft_log_trailing_bytes,
        .request_timeout_ms = (unsigned)s.cfg.request_timeout_ms,
        .max_inflight_bytes = (size_t)s.cfg.raft_max_inflight_bytes,
        .max_entry_bytes = (size_t)s.cfg.raft_max_entry_bytes,
        .max_bulk_len = s.cfg.proto_max_bulk_len,
        .lease_reads = s.cfg.lease_reads,
        .log_prewrite = s.cfg.raft_log_prewrite,
        .force_new_cluster = s.cfg.force_new_cluster,
        .divergence_check_interval_ms = (unsigned)s.cfg.divergence_check_interval_ms,
        .apply_skip_index = (uint64_t)s.cfg.apply_skip_entry,
        .snapshot_timeout_ms = (unsigned)s.cfg.raft_snapshot_timeout_ms,
    };
    struct repl_hooks hooks = {
        .ctx = &s,
        .on_unblocked = server_resume_waiting,
        .on_blocked = blocking_on_blocked,
        .on_orphan_reply = blocking_on_orphan_reply,
        .on_latency = latency_on_repl,
    };
    if (s.cfg.tls_cluster) {
        char tls_why[512];
        if (cluster_tls_new(&s.cfg, &s.cluster_tls_server, &s.cluster_tls_client, tls_why,
                            sizeof tls_why) != 0) {
            log_warn("%s", tls_why);
            log_warn("Failed to configure TLS. Check logs for more info.");
            return 1;
        }
        rc.tls_cluster_server = &s.cluster_tls_server;
        rc.tls_cluster_client = &s.cluster_tls_client;
    }
    dispatch_init();
    hold_init();
    dispatch_observe(&s);
    blocking_init(&s);
    acl_init_server(&s);
    tracking_init(&s);
    s.store->on_touch = on_key_touched;
    s.store->touch_arg = &s;
    char why[8192];
    if (acl_startup_prepare(&s, why, sizeof why) != 0) {
        log_warn("Aborting Redis startup because of ACL errors: %s", why);
        return 1;
    }
    if (restore_prepare(&s, why, sizeof why) != 0) {
        log_warn("Fatal: %s", why);
        return 1;
    }
    s.repl = repl_start(s.loop, s.store, &rc, &hooks, why, sizeof why);
    if (s.repl == NULL) {
        log_warn("Fatal: %s", why);
        return 1;
    }

    pubsub_init_server(&s);
    acl_startup_begin(&s);
    encoding_startup_begin(&s);
    restore_begin(&s);
    struct net_handlers handlers = {
        .ctx = &s,
        .on_accept = on_accept,
        .on_command = dispatch,
        .on_protocol_error = on_protocol_error,
        .on_close = on_close,
    };
    struct net_limits limits = limits_of(&s.cfg);
    s.net = net_new(s.loop, &handlers, &limits);
    server_apply_runtime_config(&s);
    if (s.cfg.tls_port) {
        struct tls_settings ts;
        config_tls_settings(&s.cfg, &ts);
        if (net_tls_reload(s.net, &ts, why, sizeof why) != 0) {
            log_warn("%s", why);
            log_warn("Failed to configure TLS. Check logs for more info.");
            return 1;
        }
    }
    if ((s.cfg.port && net_listen(s.net, s.cfg.bind, (int)s.cfg.port, false, why, sizeof why) != 0) ||
        (s.cfg.tls_port &&
         net_listen(s.net, s.cfg.bind, (int)s.cfg.tls_port, true, why, sizeof why) != 0)) {
        log_warn("Fatal: %s", why);
        return 1;
    }
    s.listening_port = s.cfg.port;
    if (metrics_listen(&s, why, sizeof why) != 0) {
        log_warn("Fatal: %s", why);
        return 1;
    }

    uv_prepare_init(s.loop, &s.tick);
    s.tick.data = &s;
    uv_prepare_start(&s.tick, on_tick);
    uv_unref((uv_handle_t *)&s.tick);
    uv_timer_init(s.loop, &s.cron);
    s.cron.data = &s;
    uv_timer_start(&s.cron, on_cron, 100, 100);
    /* Blocked clients' timeouts, to 10 ms (Redis resolves them as finely). */
    uv_timer_init(s.loop, &s.block_timer);
    s.block_timer.data = &s;
    uv_timer_start(&s.block_timer, on_block_timer, 10, 10);
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    uv_signal_init(s.loop, &s.sighup);
    s.sigint.data = s.sigterm.data = s.sighup.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sighup, on_sighup, SIGHUP);
    if (s.cfg.port)
        log_info("Ready to accept connections tcp on %s port %lld", s.cfg.bind, s.cfg.port);
    if (s.cfg.tls_port)
        log_info("Ready to accept connections tls on %s port %lld", s.cfg.bind, s.cfg.tls_port);
    log_info("Node %lld, raft %s, announced as %s", s.cfg.node_id, s.cfg.raft_addr,
             s.cfg.announce_addr);

    sdnotify("READY=1\nSTATUS=Ready to accept connections");
    latency_loop_start(&s);
    uv_run(s.loop, UV_RUN_DEFAULT);

    /* Let every closing handle finish, then release everything. */
    uv_close((uv_handle_t *)&s.tick, on_closed);
    uv_run(s.loop, UV_RUN_DEFAULT);
    cmd_set_exec_observer(NULL, NULL);
    slowlog_free(&s.slowlog);
    repl_free(s.repl);
    encoding_free_server(&s);
    restore_free_server(&s);
    migrate_free_server(&s);
    tls_ctx_free(s.cluster_tls_server);
    tls_ctx_free(s.cluster_tls_client);
    net_free(s.net);
    acl_free_server(&s);
    store_free(s.store);
    tracking_free(&s);
    lazyfree_shutdown(); /* whatever is still queued is freed before exit */
    dict_clear(&s.clients_by_id);
    dict_clear(&s.blocked_keys);
    dict_clear(&s.ready_keys);
    config_free(&s.cfg);
    buf_free(&err);
    while (s.free_slots) {
        struct reply_slot *slot = s.free_slots;
        s.free_slots = slot->next;
        buf_free(&slot->reply);
        free(slot);
    }
    uv_loop_close(s.loop);
    return 0;
}
