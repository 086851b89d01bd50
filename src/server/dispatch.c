/* server/dispatch.c — where each parsed command goes.
 *
 * Look the command up in the table (a node-to-node command, CMD_PEER_ONLY,
 * is refused unless the connection proved it is a peer's: cmd_peer.c),
 * check its arity, then:
 *   - connection and server commands (CMD_LOCAL) run here, now;
 *   - reads run now on the local keyspace when repl says this node may
 *     serve them linearizably (leader holding the read lease) and the
 *     client has no earlier command still waiting: otherwise the read
 *     would overtake that command;
 *   - everything else (writes, and reads that cannot be served locally)
 *     goes to repl, which answers through the client's reply slot once the
 *     command's log entry is applied; what could not be applied anywhere
 *     (a string longer than any node may make) is refused first. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/memlimit.h"
#include "cmds/cmdstats.h"
#include "server/server.h"

void dispatch_unknown_command(struct resp_out *o, int argc, const struct resp_arg *argv)
{
    /* Redis 7.0: "unknown command 'x', with args beginning with: 'a' 'b' ",
     * the argument list cut at 128 characters. */
    struct buf args = BUF_INIT;
    for (int i = 1; i < argc && args.len < 128; i++) {
        size_t room = 128 - args.len;
        buf_printf(&args, "'%.*s' ", (int)(argv[i].len < room ? argv[i].len : room), argv[i].ptr);
    }
    resp_errorf(o, "ERR unknown command '%.*s', with args beginning with: %.*s",
                (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr, (int)args.len,
                args.data ? args.data : "");
    buf_free(&args);
}

static void upper(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && src[i] != '|' && i + 1 < cap; i++) dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

/* Resolves a container's subcommand; replies and returns NULL on error. */
static const struct cmd_def *resolve(struct client *c, const struct cmd_def *cmd, int argc,
                                     const struct resp_arg *argv)
{
    /* A container whose arity allows no subcommand (COMMAND) runs itself. */
    if (!(cmd->flags & CMD_CONTAINER) || argc < 2) return cmd;
    const struct cmd_def *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    if (sub == NULL) {
        char name[32];
        upper(name, sizeof name, cmd->name);
        struct resp_out o = client_reply(c);
        resp_errorf(&o, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                    (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr, name);
        return NULL;
    }
    return sub;
}

/* The longest string a command may make: proto-max-bulk-len, at most the
 * machine's memory (the leader writes the same into each log entry). */
static long long max_string_len(const struct server *s)
{
    size_t physical = mem_physical_bytes();
    return (unsigned long long)s->cfg.proto_max_bulk_len < physical ? s->cfg.proto_max_bulk_len
                                                                    : (long long)physical;
}

/* Whether key holds something other than a string in this node's data. */
static bool holds_another_type(struct server *s, int db, const struct resp_arg *key)
{
    struct dict_entry *e = store_lookup(s->store, db, key->ptr, key->len, clock_wall_ms(), false);
    return e != NULL && store_value(e)->type != OBJ_STRING;
}

/* A command run on the loop here, as Redis's call() records it. */
static void record_latency(struct server *s, const struct cmd_def *cmd, int64_t start_us)
{
    int64_t ms = (clock_mono_us() - start_us) / 1000;
    latency_add(s, (cmd->flags & CMD_FAST) ? "fast-command" : "command", ms);
}

void dispatch_run_here(struct server *s, const struct client *running, int db,
                       const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                       int64_t now_ms, struct resp_out out)
{
    struct cmd_ctx ctx = {
        .store = s->store,
        .db = db,
        .now_ms = now_ms,
        .rng = dict_rand64(&s->rng),
        .apply = false,
        .max_bulk_len = s->cfg.proto_max_bulk_len,
        .out = out,
        .argc = argc,
        .argv = argv,
        .cmd = cmd,
    };
    s->running = running;
    cmd_exec(&ctx);
    s->running = NULL;
}

static void run_now(struct client *c, const struct cmd_def *cmd, int argc,
                    const struct resp_arg *argv, int64_t now_ms)
{
    dispatch_run_here(c->srv, c, c->db, cmd, argc, argv, now_ms, client_reply(c));
}

/* Every command this node executes (cmd_exec): the slow log's view. A
 * command from the log has no client here unless run_now set one. */
static void observe_exec(void *arg, const struct cmd_ctx *ctx, uint64_t usec)
{
    struct server *s = arg;
    tracking_observe(s, ctx);
    if (ctx->in_script) {
        /* A command a script calls: MONITOR shows it ("lua") where the
         * script's own client is, as it runs there; the slow log shows
         * only the script. */
        if (s->monitors == NULL || s->repl == NULL) return; /* none, or replaying at start-up */
        bool ours = ctx->apply ? ctx->origin == repl_origin(s->repl) : s->running != NULL;
        if (ours) monitor_feed(s, NULL, ctx->db, ctx->cmd, ctx->argc, ctx->argv);
        return;
    }
    if (ctx->wrapped) return; /* the slow log shows the LOCK.FENCED call */
    slowlog_maybe(s, s->running, ctx->cmd, ctx->argc, ctx->argv, usec);
}

void dispatch_observe(struct server *s)
{
    cmd_set_exec_observer(observe_exec, s);
}

void dispatch_init(void)
{
    conn_bind_handlers();
    server_bind_handlers();
    save_bind_handlers();
    slowlog_bind_handlers();
    monitor_bind_handlers();
    pause_bind_handlers();
    latency_bind_handlers();
    tracking_bind_handlers();
    role_bind_handlers();
    multi_bind_handlers();
    pubsub_bind_handlers();
    raft_bind_handlers();
    sentinel_bind_handlers();
    peer_bind_handlers();
    acl_bind_handlers();
    migrate_bind_handlers();
    const char *unbound = cmd_unbound_local();
    if (unbound) log_warn("command '%s' has no handler", unbound);
    CHECK(unbound == NULL);
}

/* A command refused before it ran: INFO's rejected_calls and errorstats. */
static void reject(const struct cmd_def *cmd, const char *error)
{
    cmdstats_rejected(cmd);
    cmdstats_error(error, strlen(error));
}

static bool dispatch_command(struct net_conn *conn, int argc, const struct resp_arg *argv);

static bool is_client_reply_on(int argc, const struct resp_arg *argv)
{
    return argc == 3 && arg_is(&argv[0], "client") && arg_is(&argv[1], "reply") &&
           arg_is(&argv[2], "on");
}

/* CLIENT REPLY OFF or SKIP: the command answers into a slot whose bytes
 * are dropped, all but CLIENT REPLY ON's OK. */
bool dispatch(void *ctx, struct net_conn *conn, int argc, const struct resp_arg *argv)
{
    struct client *c = net_conn_data(conn);
    bool silent = (c->reply_off || c->reply_skip) && !is_client_reply_on(argc, argv);
    c->reply_skip = false;
    if (silent) client_silence_begin(c);
    bool more = dispatch_command(conn, argc, argv);
    tracking_after_command(c);
    if (silent) client_silence_end(c);
    if (c->reply_skip_next) { /* CLIENT REPLY SKIP just ran: the next command's */
        c->reply_skip = true;
        c->reply_skip_next = false;
    }
    return more;
}

static bool dispatch_command(struct net_conn *conn, int argc, const struct resp_arg *argv)
{
    struct client *c = net_conn_data(conn);
    struct server *s = c->srv;
    s->stats.commands++;
    c->last_ms = clock_wall_ms();
    const struct cmd_def *cmd = cmd_lookup(argv[0].ptr, argv[0].len, false);
    if (c->protected_deferred && acl_protected_deny(c, cmd)) return false;
    if (cmd == NULL) {
        struct resp_out o = client_reply(c);
        dispatch_unknown_command(&o, argc, argv);
        cmdstats_error("ERR", 3);
        c->last_cmd = "NULL";
        multi_flag_error(c);
        return true;
    }
    if ((cmd->flags & CMD_PEER_ONLY) && !c->peer) {
        /* Node-to-node: no client may send it, whatever its ACL. */
        struct resp_out o = client_reply(c);
        resp_error(&o, PEER_ONLY_ERROR);
        cmdstats_error(PEER_ONLY_ERROR, strlen(PEER_ONLY_ERROR));
        c->last_cmd = cmd->name;
        multi_flag_error(c);
        return true;
    }
    if (!cmd_arity_ok(cmd, argc)) {
        if (multi_refuse_exec(c, cmd)) return true;
        struct resp_out o = client_reply(c);
        cmd_reply_arity(&o, cmd);
        reject(cmd, "ERR");
        multi_flag_error(c);
        return true;
    }
    const struct cmd_def *parent = cmd;
    cmd = resolve(c, cmd, argc, argv);
    if (cmd == NULL) {
        reject(parent, "ERR");
        multi_flag_error(c);
        return true;
    }
    c->last_cmd = cmd->name;
    if (!cmd_arity_ok(cmd, argc)) {
        struct resp_out o = client_reply(c);
        cmd_reply_arity(&o, cmd);
        reject(cmd, "ERR");
        multi_flag_error(c);
        return true;
    }
    if (acl_refuse(c, cmd, argc, argv)) {
        reject(cmd, "NOPERM");
        multi_flag_error(c);
        return true;
    }
    if (cmd->flags & CMD_WRAPS_COMMAND) {
        /* LOCK.FENCED: the command it runs must be one it may, and one the
         * user may run on those keys. */
        const char *why;
        const struct cmd_def *inner = cmd_wrapped(argc, argv, &why);
        if (inner == NULL) {
            struct resp_out o = client_reply(c);
            resp_error(&o, why);
            reject(cmd, why);
            multi_flag_error(c);
            return true;
        }
        if (acl_refuse(c, inner, argc - CMD_WRAPPED_AT, argv + CMD_WRAPPED_AT)) {
            reject(cmd, "NOPERM");
            multi_flag_error(c);
            return true;
        }
    }
    /* A command the cluster's active protocol version does not have yet
     * (cmds/cmd.h): some member may run a build that cannot apply it. */
    const char *too_new = cmd_protocol_refusal(cmd);
    if (too_new == NULL && (cmd->flags & CMD_WRAPS_COMMAND)) {
        const char *why;
        const struct cmd_def *inner = cmd_wrapped(argc, argv, &why);
        if (inner) too_new = cmd_protocol_refusal(inner);
    }
    if (too_new) {
        struct resp_out o = client_reply(c);
        resp_error(&o, too_new);
        reject(cmd, too_new);
        multi_flag_error(c);
        return true;
    }
    if (pause_holds(c, cmd, argc, argv)) return false; /* CLIENT PAUSE: runs when let go */
    monitor_feed(s, c, c->db, cmd, argc, argv);
    if (pubsub_refuse(c, cmd, argc, argv)) return true;
    if (cmd->flags & CMD_WRITE) {
        /* The data directory cannot take the log (repl/diskwatch.c): as
         * Redis refuses writes when its AOF cannot be written. */
        const char *misconf = repl_disk_refusal(s->repl);
        if (misconf) {
            struct resp_out o = client_reply(c);
            resp_error(&o, misconf);
            reject(cmd, misconf);
            multi_flag_error(c);
            return true;
        }
    }
    tracking_before_command(c, cmd, argc, argv);
    if (multi_queue(c, cmd, argc, argv)) return true;
    if (cmd->flags & CMD_LOCAL) {
        int64_t start_us = clock_mono_us();
        /* A bound handler answers clients even when the row has an exec
         * for scripts (PING, ECHO: cmds/ping.c). */
        cmd_local_fn *fn = cmd_local_handler(cmd);
        if (fn == NULL && cmd->exec) {
            run_now(c, cmd, argc, argv, clock_wall_ms());
            record_latency(s, cmd, start_us);
            return true;
        }
        CHECK(fn != NULL); /* main.c checks at start-up that every row has one */
        fn(c, cmd, argc, argv);
        record_latency(s, cmd, start_us);
        uint64_t usec = (uint64_t)(clock_mono_us() - start_us);
        cmdstats_ran(cmd, usec, false);
        slowlog_maybe(s, c, cmd, argc, argv, usec);
        return !net_conn_closing(conn) && !net_conn_paused(conn);
    }
    /* What no node could do is refused here, before it is proposed
     * (cmds/memlimit.h): apply must never fail on it. */
    const char *refused = memlimit_precheck(cmd, argc, argv, max_string_len(s));
    if (refused && holds_another_type(s, c->db, &argv[1])) {
        /* Redis answers WRONGTYPE before it looks at the length: let apply
         * answer (it refuses the length too, should the key change). */
        refused = NULL;
    }
    if (refused == NULL && (cmd->flags & CMD_PAYLOAD))
        refused = cmd_payload_precheck(argc, argv, max_string_len(s));
    if (refused) {
        struct resp_out o = client_reply(c);
        resp_error(&o, refused);
        reject(cmd, refused);
        return true;
    }
    bool may_block = cmd_may_block(cmd, argc, argv);
    bool is_read = !(cmd->flags & CMD_WRITE) && !may_block;
    if (is_read && !client_has_pending(c) && (c->readonly || repl_can_read_locally(s->repl))) {
        if (c->readonly) s->stats.reads_readonly++;
        else s->stats.reads_lease++;
        int64_t start_us = clock_mono_us();
        run_now(c, cmd, argc, argv, repl_read_time_ms(s->repl));
        record_latency(s, cmd, start_us);
        return true;
    }
    const char *unencodable = repl_refuse(argc, argv);
    if (unencodable) {
        struct resp_out o = client_reply(c);
        resp_error(&o, unencodable);
        reject(cmd, unencodable);
        return true;
    }
    struct reply_slot *slot = client_slot_for_submit(c);
    struct resp_arg *wrapped = acl_wrap_script(c, cmd, argc, argv);
    if (wrapped) { /* runs with its user's permissions (cmd_acl.c) */
        argv = wrapped;
        argc += 2;
    }
    if (may_block) {
        /* Redis reads nothing more from a blocked client: pause until this
         * command is answered (at once if something was there to pop). */
        repl_submit(s->repl, slot, c->db, c->proto, argc, argv);
        free(wrapped);
        c->blocking_slot = slot;
        net_conn_hold(conn);
        return true;
    }
    bool taken = repl_submit(s->repl, slot, c->db, c->proto, argc, argv);
    free(wrapped);
    if (!taken) {
        c->waiting_repl = true;
        c->waiting_next = s->waiting;
        s->waiting = c;
        return false;
    }
    if (is_read) s->stats.reads_log++;
    return true;
}
