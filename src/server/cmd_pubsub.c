/* server/cmd_pubsub.c — publish/subscribe on the connection's side.
 *
 * SUBSCRIBE and its relatives are sent through the log as internal
 * commands on the client's behalf (cmds/pubsub.c), so every node knows every
 * subscription. When a PUBLISH is applied, the keyspace reports each
 * receiver (store->on_message); those whose origin is this process are our
 * clients, and get the message pushed to their connection at once (as
 * Redis pushes it: out of band of their pending replies).
 *
 * A RESP2 client with subscriptions is in subscribed mode: it may only
 * (un)subscribe, PING, QUIT or RESET. A client that disconnects while
 * subscribed is unsubscribed through the log. Subscribed clients are
 * held to client-output-buffer-limit pubsub. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "cmds/notify.h"
#include "server/server.h"

struct client *server_find_client(struct server *s, uint64_t id)
{
    struct dict_entry *e = dict_find(&s->clients_by_id, &id, sizeof id);
    return e ? e->v.ptr : NULL;
}

static void on_message(void *arg, struct pubsub_id to, const char *type, const char *pattern,
                       size_t plen, const char *channel, size_t clen, const char *message,
                       size_t mlen)
{
    struct server *s = arg;
    if (to.origin != repl_origin(s->repl)) return;
    struct client *c = server_find_client(s, to.client);
    if (c == NULL || net_conn_closing(c->conn)) return;
    /* The connection's buffer is bounded by its output limit (pubsub class
     * while subscribed): a message that would take the subscriber past it
     * is not copied, and the subscriber is dropped, as Redis drops it. */
    struct resp_out o = {net_conn_out(c->conn), c->proto};
    resp_push(&o, pattern ? 4 : 3);
    resp_bulk_str(&o, type);
    if (pattern) resp_bulk(&o, pattern, plen);
    resp_bulk(&o, channel, clen);
    resp_bulk(&o, message, mlen);
    if (o.buf->over) {
        log_warn("Client %s closed for overcoming of output buffer limits.", net_conn_peer(c->conn));
        net_conn_close(c->conn);
    }
}

static void on_subscriptions(void *arg, struct pubsub_id who, long long count)
{
    struct server *s = arg;
    if (who.origin != repl_origin(s->repl)) return;
    struct client *c = server_find_client(s, who.client);
    if (c) c->subscriptions = count;
}

/* The client's own view of its subscriptions, updated as commands arrive
 * (the log confirms later): subscribed mode begins and ends with it, as in
 * Redis, so a PING right after the last UNSUBSCRIBE is a plain PING. */
static void local_update(struct client *c, char kind, bool add, int argc,
                         const struct resp_arg *argv)
{
    if (c->local_subs == NULL) {
        c->local_subs = xcalloc(1, sizeof *c->local_subs);
        dict_init(c->local_subs, NULL);
    }
    if (!add && argc == 1) {
        struct buf doomed = BUF_INIT;
        struct dict_iter it;
        dict_iter_init(&it, c->local_subs);
        struct dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            if (e->key[0] != kind) continue;
            buf_append_u32(&doomed, e->klen);
            buf_append(&doomed, e->key, e->klen);
        }
        struct reader rd;
        reader_init(&rd, doomed.data, doomed.len);
        while (reader_left(&rd)) {
            uint32_t len;
            const char *k;
            reader_u32(&rd, &len);
            reader_bytes(&rd, len, &k);
            dict_delete(c->local_subs, k, len);
        }
        buf_free(&doomed);
    }
    for (int i = 1; i < argc; i++) {
        struct buf k = BUF_INIT;
        buf_append_u8(&k, (uint8_t)kind);
        buf_append(&k, argv[i].ptr, argv[i].len);
        bool created;
        if (add) dict_upsert(c->local_subs, k.data, k.len, &created);
        else dict_delete(c->local_subs, k.data, k.len);
        buf_free(&k);
    }
    c->pubsub_mode = dict_size(c->local_subs) > 0;
    net_conn_set_pubsub(c->conn, c->pubsub_mode);
}

void pubsub_free_client(struct client *c)
{
    if (c->local_subs == NULL) return;
    dict_clear(c->local_subs);
    free(c->local_subs);
    c->local_subs = NULL;
}

void pubsub_init_server(struct server *s)
{
    s->store->on_message = on_message;
    s->store->on_subscriptions = on_subscriptions;
    s->store->pubsub_arg = s;
    s->store->on_notify = notify_deliver;
}

/* Sends __subscribe/__unsubscribe <client id> <kind> <names...>. */
static void submit(struct client *c, const char *cmd, const char *kind, int argc,
                   const struct resp_arg *argv, struct reply_slot *slot)
{
    char id[24];
    int n = snprintf(id, sizeof id, "%" PRIu64, c->id);
    struct resp_arg *args = xmalloc((size_t)(argc + 2) * sizeof *args);
    args[0].ptr = cmd;
    args[0].len = strlen(cmd);
    args[1].ptr = id;
    args[1].len = (size_t)n;
    args[2].ptr = kind;
    args[2].len = 1;
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    repl_submit(c->srv->repl, slot, c->db, c->proto, argc + 2, args);
    free(args);
}

static void subscribe(struct client *c, const char *kind, int argc, const struct resp_arg *argv)
{
    local_update(c, kind[0], true, argc, argv);
    submit(c, "__subscribe", kind, argc, argv, client_slot_for_submit(c));
}

static void unsubscribe(struct client *c, const char *kind, int argc, const struct resp_arg *argv)
{
    local_update(c, kind[0], false, argc, argv);
    submit(c, "__unsubscribe", kind, argc, argv, client_slot_for_submit(c));
}

#define HANDLER(fn, op, kind)                                                            \
    static void fn(struct client *c, const struct cmd_def *cmd, int argc,                \
                   const struct resp_arg *argv)                                          \
    {                                                                                    \
        op(c, kind, argc, argv);                                                         \
    }
HANDLER(cmd_subscribe, subscribe, "c")
HANDLER(cmd_psubscribe, subscribe, "p")
HANDLER(cmd_ssubscribe, subscribe, "s")
HANDLER(cmd_unsubscribe, unsubscribe, "c")
HANDLER(cmd_punsubscribe, unsubscribe, "p")
HANDLER(cmd_sunsubscribe, unsubscribe, "s")
#undef HANDLER

void pubsub_bind_handlers(void)
{
    cmd_bind_local("subscribe", cmd_subscribe);
    cmd_bind_local("psubscribe", cmd_psubscribe);
    cmd_bind_local("ssubscribe", cmd_ssubscribe);
    cmd_bind_local("unsubscribe", cmd_unsubscribe);
    cmd_bind_local("punsubscribe", cmd_punsubscribe);
    cmd_bind_local("sunsubscribe", cmd_sunsubscribe);
}

/* RESP2 subscribed mode (Redis's processCommand): true if the command was
 * refused or answered here. PING answers ["pong", <arg>]. */
bool pubsub_refuse(struct client *c, const struct cmd_def *cmd, int argc,
                   const struct resp_arg *argv)
{
    if (!c->pubsub_mode || c->proto != 2) return false;
    if (cmd->flags & CMD_SUBSCRIBED) return false;
    struct resp_out o = client_reply(c);
    resp_errorf(&o, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                    "QUIT / RESET are allowed in this context", cmd->name);
    return true;
}

void pubsub_client_gone(struct client *c)
{
    bool had = c->local_subs != NULL || c->subscriptions != 0;
    pubsub_free_client(c);
    c->pubsub_mode = false;
    if (!had || c->srv->shutting_down) return;
    struct resp_arg none[1] = {{"", 0}};
    submit(c, "__unsubscribe", "a", 1, none, NULL);
}
