/* server/server.h — the server: the one struct that owns the process's
 * parts (configuration, event loop, keyspace, network, replication), and
 * the clients connected to it.
 *
 *   main.c       start-up, the per-tick hook, signals, shutdown
 *   client.c     client lifecycle and the ordered reply queue
 *   dispatch.c   from a parsed command to where it runs
 *   cmd_conn.c   connection commands: PING, ECHO, HELLO, SELECT, CLIENT...
 *   cmd_server.c server commands: INFO, COMMAND, CONFIG, TIME, RAFT,
 *                PARLEY.FWD
 *   config.c     directives */
#ifndef PARLEY_SERVER_SERVER_H
#define PARLEY_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cmds/cmd.h"
#include "net/net.h"
#include "repl/repl.h"
#include "server/config.h"
#include "server/latency.h"
#include "server/monitor.h"
#include "server/pause.h"
#include "server/slowlog.h"
#include "server/startup_proposal.h"
#include "server/tracking.h"
#include "store/keyspace.h"

#define PARLEY_VERSION "0.1.0"
/* The Redis release whose behaviour Parley matches; clients (RQ, redis-py)
 * pick features by it. */
#define REDIS_COMPAT_VERSION "7.0.15"

struct client {
    struct server *srv;
    struct net_conn *conn;
    uint64_t id;
    int db;
    int proto;
    char *name, *lib_name, *lib_ver;
    int64_t created_ms, last_ms;
    const char *last_cmd;
    /* Replies not yet written, in command order. Immediate replies go
     * straight to the connection when this queue is empty. */
    struct reply_slot *head, *tail;
    bool waiting_repl; /* paused until repl's in-flight bytes drop */
    bool quit;         /* close once every queued reply is written */
    /* CLIENT REPLY: OFF drops every reply, SKIP the next command's; the
     * command being dispatched now writes into silent_slot. */
    bool reply_off, reply_skip, reply_skip_next;
    bool monitoring;                  /* MONITOR (monitor.c) */
    void *pause_cmd;                  /* its command held by CLIENT PAUSE (pause.c) */
    struct client *paused_next;
    struct client *next_monitor;
    struct reply_slot *silent_slot;
    struct buf *capture; /* EXEC runs a node-local command: its reply goes here (cmd_multi.c) */
    bool readonly;     /* READONLY: reads served from this node, maybe stale */
    bool peer;         /* a cluster node proved itself (PARLEY.PEER, cmd_peer.c) */
    struct peer_hello *peer_hello; /* PARLEY.PEER HELLO answered, PROVE awaited */
    bool protected_deferred; /* protected mode refuses this host, unless it proves itself a peer */
    struct multi_state *multi; /* MULTI/WATCH state, NULL when unused */
    struct reply_slot *blocking_slot; /* paused until this blocking command answers */
    struct reply_slot *exec_slot;     /* an EXEC whose SELECTs apply only if it runs */
    int exec_db;                      /* ... the database they leave */
    long long subscriptions;   /* channels+patterns+shard channels, as applied */
    bool pubsub_mode;          /* subscribed: local_subs non-empty */
    struct dict *local_subs;   /* kind byte + name, as this client asked so far */
    struct client *prev, *next;
    struct client *waiting_next;
    char *user;         /* the ACL user it is logged in as ("default" at first) */
    struct tracking_client *tracking; /* CLIENT TRACKING (tracking.c); NULL: off */
    bool authenticated; /* false until AUTH/HELLO AUTH, if the user needs a password */
};

struct server_stats {
    uint64_t commands;
    uint64_t ops_window[10];
    int ops_window_pos;
    uint64_t ops_last_total;
    uint64_t peak_memory;
    /* Reads (commands that neither write nor block) by how they were
     * served: under the leader's lease, by a READONLY client on any node
     * (may be stale), or through the log. */
    uint64_t reads_lease, reads_readonly, reads_log;
};

struct server {
    struct config cfg;
    uv_loop_t *loop;
    struct store *store;
    struct net *net;
    /* tls-cluster: the Raft transport's contexts (accepting, connecting);
     * repl/ reads the slots for each new connection, a reload replaces them. */
    struct tls_ctx *cluster_tls_server, *cluster_tls_client;
    struct repl *repl;
    uv_prepare_t tick;
    uv_timer_t cron;
    uv_signal_t sigint, sigterm, sighup;
    struct client *clients;
    struct client *waiting; /* paused for repl back-pressure */
    uint64_t next_client_id;
    uint64_t n_clients;
    int64_t start_ms;
    char run_id[41];
    struct server_stats stats;
    uint64_t rng;
    bool shutting_down;
    struct reply_slot *free_slots;
    int n_free_slots;
    struct dict clients_by_id; /* id (8 bytes) -> struct client */
    /* Blocked clients (blocking.c) */
    struct dict blocked_keys;  /* db + key -> waiters, first come first */
    struct dict ready_keys;    /* keys changed since the last tick */
    struct waiter *waiters;
    size_t n_waiters;
    uv_timer_t block_timer;
    struct acl_log *acl_log; /* ACL LOG entries, this node's (cmd_acl.c) */
    struct acl_startup *acl_startup; /* users given at start-up, until applied */
    struct encoding_startup *encoding_startup; /* thresholds given at start-up (encoding.c) */
    struct restore *restore; /* --restore FILE's keys, until proposed (restore.c) */
    struct migrate_cache *migrate; /* MIGRATE's connections and moves (cmd_migrate.c) */
    /* The latency monitor (latency.c) and the loop's busy time. */
    struct latency_monitor latency;
    struct slowlog slowlog;
    struct client *monitors;          /* MONITOR clients (monitor.c) */
    struct tracking *tracking;        /* CLIENT TRACKING's table (tracking.c) */
#define METRICS_LISTENERS_MAX 8
    uv_tcp_t *metrics_listeners[METRICS_LISTENERS_MAX]; /* metrics-port (metrics.c) */
    int n_metrics_listeners;
    long long listening_port;         /* where the plaintext listener is (CONFIG SET port) */
    int64_t pause_until_ms;           /* CLIENT PAUSE (pause.c); 0: none */
    bool pause_all;
    struct client *paused;
    /* The client whose command runs now on this node (not from the log):
     * the slow log names it. */
    const struct client *running;
    int64_t loop_tick_us;
    uint64_t loop_idle_ns;
    int64_t latency_loop_max_us; /* the longest busy iteration since start */
};

/* sdnotify.c: "READY=1", "STOPPING=1"... to systemd, when it started us */
void sdnotify(const char *state);

/* metrics.c: the Prometheus endpoint on metrics-port */
int metrics_listen(struct server *s, char *err, size_t errlen);
void metrics_close(struct server *s);

/* role.c: the replication role as Redis clients see it */
const char *role_hello_name(struct server *s); /* "master" on the leader, else "replica" */
void role_info_section(struct server *s, struct buf *out);
void role_bind_handlers(void);

/* client.c */
struct client *client_new(struct server *s, struct net_conn *conn);
void client_free(struct client *c);
/* Where an immediate reply goes (keeps command order). */
struct resp_out client_reply(struct client *c);
/* CLIENT REPLY: the command about to be dispatched answers into a slot of
 * its own whose bytes are dropped; client_silence_end after it. */
void client_silence_begin(struct client *c);
void client_silence_end(struct client *c);
/* A slot for a command submitted to repl. */
struct reply_slot *client_slot_for_submit(struct client *c);
/* A slot no earlier command writes into (for a reply that may come at any
 * time; the caller holds the client until it does). */
struct reply_slot *client_slot_own(struct client *c);
bool client_has_pending(const struct client *c);
/* The client a reply slot answers, if a client's (not the server's own). */
struct client *client_of_slot(const struct reply_slot *slot);
/* Stops reading and closes the connection after the queued replies. */
void client_quit(struct client *c);
void client_line(struct client *c, struct buf *out); /* CLIENT LIST format */
void server_resume_waiting(void *ctx);

/* cmd_multi.c: MULTI/EXEC/DISCARD/WATCH/UNWATCH. multi_queue takes a
 * command while the client is inside MULTI (true if it did). */
bool multi_queue(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv);
/* A command was refused while queueing: EXEC will answer EXECABORT. */
void multi_flag_error(struct client *c);
/* An EXEC with the wrong number of arguments: answers EXECABORT and
 * discards the transaction and the WATCHed keys, as Redis does; false for
 * any other command. */
bool multi_refuse_exec(struct client *c, const struct cmd_def *cmd);
void multi_free(struct client *c);
/* For the CMD_TX_REPLY handlers (SELECT, UNWATCH, PING, ECHO): whether
 * the client is queueing a transaction, and what the command answers
 * inside EXEC: OK (kind NULL), or kind simple|bulk|error with text. */
bool multi_queueing(const struct client *c);
void multi_queue_reply(struct client *c, const char *kind, const char *text, size_t len);
/* A command queued as is (ACL SETUSER queues __aclsetuser, its
 * passwords hashed); the caller answers QUEUED. */
void multi_queue_internal(struct client *c, int argc, const struct resp_arg *argv);
/* SELECT inside MULTI: the commands queued after it run in db. */
void multi_queue_select(struct client *c, int db);

/* cmd_pubsub.c: delivery of applied PUBLISHes to this node's clients,
 * RESP2 subscribed mode, unsubscribing clients that go away. */
void pubsub_init_server(struct server *s);
bool pubsub_refuse(struct client *c, const struct cmd_def *cmd, int argc,
                   const struct resp_arg *argv);
void pubsub_client_gone(struct client *c);
struct client *server_find_client(struct server *s, uint64_t id);

/* cmd_migrate.c: MIGRATE; INFO's migrate_cached_sockets; at shutdown,
 * once Raft is closed, migrate_close_handles ends the moves under way and
 * closes the connections, then migrate_free_server frees the rest. */
void migrate_bind_handlers(void);
size_t migrate_cached_sockets(const struct server *s);
void migrate_close_handles(struct server *s);
void migrate_free_server(struct server *s);

/* blocking.c: clients waiting in BLPOP and friends. */
void blocking_init(struct server *s);
void blocking_on_blocked(void *ctx, struct reply_slot *slot, int db, int proto, int argc,
                         const struct resp_arg *argv);
void blocking_on_orphan_reply(void *ctx, int db, int argc, const struct resp_arg *argv,
                              const char *reply, size_t len);
void blocking_on_touch(void *ctx, int db, const char *key, size_t klen);
void blocking_tick(struct server *s);
void blocking_timeouts(struct server *s);
void blocking_slot_done(struct server *s, struct reply_slot *slot);
/* CLIENT UNBLOCK: the client's wait ends now as a timeout, or with the
 * UNBLOCKED error; false when it is not waiting. */
bool blocking_unblock(struct server *s, uint64_t client_id, bool error);
void blocking_client_gone(struct client *c);

/* cmd_acl.c: AUTH and ACL. acl_refuse answers NOAUTH or NOPERM (and logs
 * the refusal) and returns true for a command this client may not run;
 * acl_protected_refuse refuses a connection protected-mode does not
 * serve; with a cluster-secret set the refusal waits for the first
 * command, so that another node may prove itself first
 * (acl_protected_deny, from dispatch); client_login sets the user of a
 * connection. */
void acl_bind_handlers(void);
void acl_init_server(struct server *s);
bool acl_refuse(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv);
bool acl_protected_refuse(struct server *s, struct net_conn *conn);
/* For a protected_deferred client about to run cmd (NULL: unknown):
 * answers DENIED and closes unless cmd is the peer handshake. */
bool acl_protected_deny(struct client *c, const struct cmd_def *cmd);
void acl_client_new(struct client *c);
/* RESET: the connection is the default user's again, logged in only if
 * that user needs no password, as a new connection is. */
void acl_client_reset(struct client *c);
void acl_free_server(struct server *s);
/* The users the configuration gives (aclfile, or requirepass) become a
 * logged change: acl_startup_prepare reads and checks them before Raft
 * starts (-1 and Redis's reason in err for a bad aclfile: the node must
 * not start); acl_startup_begin proposes them once Raft runs, again
 * until they apply; acl_close_handles at shutdown. */
int acl_startup_prepare(struct server *s, char *err, size_t errlen);
void acl_startup_begin(struct server *s);
void acl_close_handles(struct server *s);
/* CONFIG SET requirepass took effect in the configuration: propose the
 * default user's new password; its reply answers the CONFIG SET. */
void acl_requirepass_changed(struct client *c);

/* encoding.c: the encoding thresholds, replicated settings. Whether a
 * CONFIG SET names one; proposing those it set (its reply is the log's);
 * proposing the configured ones once Raft runs, until applied. */
bool encoding_config_named(int argc, const struct resp_arg *argv);
void encoding_config_changed(struct client *c, int argc, const struct resp_arg *argv);
void encoding_startup_begin(struct server *s);
/* --restore FILE (restore.c): restore_prepare reads and checks the file
 * and the directory before Raft starts (-1 with the reason: the node must
 * not start; also when a restore into the directory was interrupted and
 * --restore is not given), and marks the directory (restore-pending);
 * restore_begin proposes its keys once Raft runs. */
int restore_prepare(struct server *s, char *err, size_t errlen);
void restore_begin(struct server *s);
void restore_close_handles(struct server *s);
void restore_free_server(struct server *s);
void encoding_close_handles(struct server *s);
void encoding_free_server(struct server *s);
/* Whether user/pass log in here (the users this node enforces). */
bool acl_login_ok(struct server *s, const char *user, size_t ulen, const char *pass, size_t plen);
void client_login(struct client *c, const char *user, size_t ulen);
/* A script command the client's user sends goes in the log as
 * __asuser <user> ... when the user is restricted (NULL otherwise; the
 * caller frees the array). */
struct resp_arg *acl_wrap_script(struct client *c, const struct cmd_def *cmd, int argc,
                                 const struct resp_arg *argv);

/* dispatch.c. dispatch_init binds every local handler to its row (once,
 * at start-up). */
void dispatch_init(void);
bool dispatch(void *ctx, struct net_conn *conn, int argc, const struct resp_arg *argv);
void dispatch_unknown_command(struct resp_out *o, int argc, const struct resp_arg *argv);
/* Runs cmd on this node's keyspace now, its reply into out, as a read
 * this node may serve (the leader under its lease) runs; running is the
 * client it runs for (the slow log's), or NULL. */
void dispatch_run_here(struct server *s, const struct client *running, int db,
                       const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                       int64_t now_ms, struct resp_out out);

/* Local command handlers: each file binds its handlers to their rows of
 * the command table at start-up (cmd_bind_local); dispatch calls the
 * row's handler. */
typedef cmd_local_fn local_fn;
void conn_bind_handlers(void);     /* cmd_conn.c */
void server_bind_handlers(void);   /* cmd_server.c */
void save_bind_handlers(void);     /* cmd_save.c */
/* LASTSAVE's time (cmd_save.c): the last backup or Raft snapshot, ms. */
int64_t server_last_save_ms(struct server *s);
void multi_bind_handlers(void);    /* cmd_multi.c */
/* cmd_multi.c: the client's open transaction queued a write. */
bool multi_queued_writes(const struct client *c);
void pubsub_bind_handlers(void);   /* cmd_pubsub.c */
void raft_bind_handlers(void);     /* cmd_raft.c */
void sentinel_bind_handlers(void); /* cmd_sentinel.c */
void peer_bind_handlers(void);     /* cmd_peer.c */
/* cmd_peer.c: drops what a connection proved of being a peer, or was
 * proving (a client going away, a new HELLO). */
void peer_forget(struct client *c);
/* What a CMD_PEER_ONLY command answers on a connection that is not a peer's. */
#define PEER_ONLY_ERROR "NOPERM this command is only for cluster peers"
/* An array of simple strings (HELP replies). */
void reply_lines(struct client *c, const char **lines, size_t n);
/* Makes the slow log see every command this server executes. */
void dispatch_observe(struct server *s);

/* main.c */
void cmd_shutdown(struct client *c, const struct cmd_def *cmd, int argc,
                  const struct resp_arg *argv);
void server_apply_runtime_config(struct server *s);
/* config_apply_fn (ctx: the server): the TLS directives, the port. */
int server_apply_config(void *ctx, enum config_apply what, char *err, size_t errlen);
/* INFO's text for the sections named (none: the default ones). */
void server_info(struct server *s, int nsections, const struct resp_arg *sections,
                 struct buf *out);

#endif
