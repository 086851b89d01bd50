/* cmds/pubsub.c — publish/subscribe as it runs from the log.
 *
 * PUBLISH and SPUBLISH are applied on every node: each counts the
 * receivers in the replicated registry (store/pubsub.h) — channel
 * subscribers plus matching pattern subscriptions, as Redis counts them —
 * and reports each receiver through store->on_message; the server delivers
 * to the receivers that are its own clients. The server sends SUBSCRIBE
 * and its relatives as internal commands on the client's behalf:
 *
 *   __subscribe <client id> <c|p|s> <name>...
 *   __unsubscribe <client id> <c|p|s|a> [<name>...]   (a: every kind)
 *
 * whose replies are the confirmations Redis sends, one per name. PUBSUB
 * reads the registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"
#include "cmds/notify.h"

static const char *const sub_word[3] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[3] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

static bool parse_id(const struct resp_arg *a, uint64_t *v)
{
    long long x;
    if (!arg_to_ll(a, &x) || x < 0) return false;
    *v = (uint64_t)x;
    return true;
}

static bool parse_kind(const struct resp_arg *a, int *kind)
{
    if (a->len != 1) return false;
    switch (a->ptr[0]) {
    case 'c': *kind = PUBSUB_CHANNEL; return true;
    case 'p': *kind = PUBSUB_PATTERN; return true;
    case 's': *kind = PUBSUB_SHARD; return true;
    case 'a': *kind = -1; return true;
    }
    return false;
}

static void notify_count(struct cmd_ctx *c, struct pubsub_id id)
{
    if (c->store->on_subscriptions)
        c->store->on_subscriptions(c->store->pubsub_arg, id,
                                   pubsub_count(&c->store->pubsub, id, false) +
                                       pubsub_count(&c->store->pubsub, id, true));
}

static void confirm(struct cmd_ctx *c, const char *word, const char *name, size_t len,
                    long long count)
{
    resp_push(&c->out, 3);
    resp_bulk_str(&c->out, word);
    if (name) resp_bulk(&c->out, name, len);
    else resp_null(&c->out);
    resp_int(&c->out, count);
}

static void cmd_internal_subscribe(struct cmd_ctx *c)
{
    struct pubsub_id id = {c->origin, 0};
    int kind;
    if (!parse_id(&c->argv[1], &id.client) || !parse_kind(&c->argv[2], &kind) || kind < 0) {
        resp_error(&c->out, "ERR malformed __subscribe");
        return;
    }
    for (int j = 3; j < c->argc; j++) {
        pubsub_subscribe(&c->store->pubsub, (enum pubsub_kind)kind, id, c->argv[j].ptr, c->argv[j].len);
        confirm(c, sub_word[kind], c->argv[j].ptr, c->argv[j].len,
                pubsub_count(&c->store->pubsub, id, kind == PUBSUB_SHARD));
    }
    notify_count(c, id);
}

struct unsub_ctx {
    struct cmd_ctx *c;
    struct pubsub_id id;
    int kind;
    int replies;
};

static void unsubscribed(void *arg, const char *name, size_t len)
{
    struct unsub_ctx *u = arg;
    confirm(u->c, unsub_word[u->kind], name, len,
            pubsub_count(&u->c->store->pubsub, u->id, u->kind == PUBSUB_SHARD));
    u->replies++;
}

static void cmd_internal_unsubscribe(struct cmd_ctx *c)
{
    struct pubsub_id id = {c->origin, 0};
    int kind;
    if (!parse_id(&c->argv[1], &id.client) || !parse_kind(&c->argv[2], &kind)) {
        resp_error(&c->out, "ERR malformed __unsubscribe");
        return;
    }
    int first = kind < 0 ? PUBSUB_CHANNEL : kind, last = kind < 0 ? PUBSUB_SHARD : kind;
    for (int k = first; k <= last; k++) {
        struct unsub_ctx u = {c, id, k, 0};
        if (c->argc > 3) {
            for (int j = 3; j < c->argc; j++) {
                pubsub_unsubscribe(&c->store->pubsub, (enum pubsub_kind)k, id, c->argv[j].ptr,
                                   c->argv[j].len);
                unsubscribed(&u, c->argv[j].ptr, c->argv[j].len);
            }
        } else {
            pubsub_unsubscribe_all(&c->store->pubsub, (enum pubsub_kind)k, id, unsubscribed, &u);
        }
        /* Nothing to unsubscribe from: Redis still confirms, with a nil name. */
        if (u.replies == 0 && kind >= 0)
            confirm(c, unsub_word[k], NULL, 0, pubsub_count(&c->store->pubsub, id, k == PUBSUB_SHARD));
    }
    notify_count(c, id);
}

static long long deliver(struct store *st, const struct pubsub_subs *s, const char *type,
                         const char *pattern, size_t plen, const char *ch, size_t clen,
                         const char *msg, size_t mlen)
{
    if (s == NULL) return 0;
    if (st->on_message)
        for (size_t i = 0; i < s->n; i++)
            st->on_message(st->pubsub_arg, s->ids[i], type, pattern, plen, ch, clen, msg, mlen);
    return (long long)s->n;
}

long long pubsub_publish(struct store *s, const char *channel, size_t clen, const char *message,
                         size_t mlen)
{
    struct pubsub *ps = &s->pubsub;
    long long n = deliver(s, pubsub_find(ps, PUBSUB_CHANNEL, channel, clen), "message", NULL, 0,
                          channel, clen, message, mlen);
    struct dict_iter it;
    dict_iter_init(&it, &ps->names[PUBSUB_PATTERN]);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        if (glob_match(e->key, e->klen, channel, clen, false))
            n += deliver(s, e->v.ptr, "pmessage", e->key, e->klen, channel, clen, message, mlen);
    return n;
}

static void cmd_publish(struct cmd_ctx *c)
{
    const struct resp_arg *ch = &c->argv[1], *msg = &c->argv[2];
    resp_int(&c->out, pubsub_publish(c->store, ch->ptr, ch->len, msg->ptr, msg->len));
}

static void cmd_spublish(struct cmd_ctx *c)
{
    const struct resp_arg *ch = &c->argv[1], *msg = &c->argv[2];
    resp_int(&c->out, deliver(c->store, pubsub_find(&c->store->pubsub, PUBSUB_SHARD, ch->ptr, ch->len),
                              "smessage", NULL, 0, ch->ptr, ch->len, msg->ptr, msg->len));
}

static int by_name(const void *a, const void *b)
{
    const struct dict_entry *x = *(struct dict_entry *const *)a, *y = *(struct dict_entry *const *)b;
    int cmp = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
    return cmp ? cmp : (x->klen > y->klen) - (x->klen < y->klen);
}

/* PUBSUB CHANNELS and SHARDCHANNELS, sorted: the reply must not depend on
 * a node's hash table (a script may read it and write what it read). */
static void list_names(struct cmd_ctx *c, int kind)
{
    const struct resp_arg *pattern = c->argc > 2 ? &c->argv[2] : NULL;
    struct dict *names = &c->store->pubsub.names[kind];
    struct dict_entry **found = xmalloc((dict_size(names) + 1) * sizeof *found);
    size_t n = 0;
    struct dict_iter it;
    dict_iter_init(&it, names);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        if (!pattern || glob_match(pattern->ptr, pattern->len, e->key, e->klen, false)) found[n++] = e;
    qsort(found, n, sizeof *found, by_name);
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_bulk(&c->out, found[i]->key, found[i]->klen);
    free(found);
}

static void numsub(struct cmd_ctx *c, int kind)
{
    resp_map(&c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        const struct pubsub_subs *s = pubsub_find(&c->store->pubsub, kind, c->argv[j].ptr, c->argv[j].len);
        resp_bulk(&c->out, c->argv[j].ptr, c->argv[j].len);
        resp_int(&c->out, s ? (long long)s->n : 0);
    }
}

static void cmd_pubsub_channels(struct cmd_ctx *c) { list_names(c, PUBSUB_CHANNEL); }
static void cmd_pubsub_shardchannels(struct cmd_ctx *c) { list_names(c, PUBSUB_SHARD); }
static void cmd_pubsub_numsub(struct cmd_ctx *c) { numsub(c, PUBSUB_CHANNEL); }
static void cmd_pubsub_shardnumsub(struct cmd_ctx *c) { numsub(c, PUBSUB_SHARD); }

static void cmd_pubsub_numpat(struct cmd_ctx *c)
{
    resp_int(&c->out, (long long)dict_size(&c->store->pubsub.names[PUBSUB_PATTERN]));
}

static void cmd_pubsub_help(struct cmd_ctx *c)
{
    static const char *lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof *lines;
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&c->out, lines[i]);
}

#define PS (ACL_PUBSUB | ACL_SLOW)

static const struct cmd_def pubsub_subs[] = {
    {"pubsub|channels", -2, CMD_READONLY | CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, PS,
     cmd_pubsub_channels, "pubsub", "2.8.0", "Returns the active channels.",
     "O(N) where N is the number of active channels, and assuming constant time pattern matching", NULL, NULL, NULL},
    {"pubsub|numsub", -2, CMD_READONLY | CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, PS,
     cmd_pubsub_numsub, "pubsub", "2.8.0", "Returns a count of subscribers to channels.",
     "O(N) for the NUMSUB subcommand, where N is the number of requested channels", NULL, NULL, NULL},
    {"pubsub|numpat", 2, CMD_READONLY | CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, PS,
     cmd_pubsub_numpat, "pubsub", "2.8.0", "Returns a count of unique pattern subscriptions.",
     "O(1)", NULL, NULL, NULL},
    {"pubsub|shardchannels", -2, CMD_READONLY | CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, PS,
     cmd_pubsub_shardchannels, "pubsub", "7.0.0", "Returns the active shard channels.",
     "O(N) where N is the number of active shard channels, and assuming constant time pattern matching", NULL, NULL, NULL},
    {"pubsub|shardnumsub", -2, CMD_READONLY | CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, PS,
     cmd_pubsub_shardnumsub, "pubsub", "7.0.0", "Returns the count of subscribers of shard channels.",
     "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", NULL, NULL, NULL},
    {"pubsub|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, 0, 0, 0, ACL_SLOW, cmd_pubsub_help,
     "pubsub", "6.2.0", "Returns helpful text about the different subcommands.", "O(1)", NULL, NULL, NULL},
    CMD_ROWS_END,
};

#define LOCAL(n, ar, ch, sum, cx)                                                             \
    {n, ar, CMD_LOCAL | CMD_SUBSCRIBED | CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | (ch), 0, 0, 0, PS, NULL, \
     "pubsub", "2.0.0", sum, cx, NULL, NULL, NULL}

const struct cmd_def cmd_rows_pubsub[] = {
    {"publish", 3, CMD_WRITE | CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_CHANNEL_PUBLISH, 0, 0, 0,
     ACL_PUBSUB | ACL_FAST, cmd_publish, "pubsub", "2.0.0", "Posts a message to a channel.",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", NULL, NULL, NULL},
    {"spublish", 3, CMD_WRITE | CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_CHANNEL_PUBLISH, 1, 1, 1,
     ACL_PUBSUB | ACL_FAST, cmd_spublish, "pubsub", "7.0.0", "Post a message to a shard channel",
     "O(N) where N is the number of clients subscribed to the receiving shard channel.", NULL, "not_key", NULL},
    {"pubsub", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "pubsub", "2.8.0",
     "A container for Pub/Sub commands.", "Depends on subcommand.", pubsub_subs, NULL, NULL},
    LOCAL("subscribe", -2, CMD_CHANNEL_SUBSCRIBE, "Listens for messages published to channels.",
          "O(N) where N is the number of channels to subscribe to."),
    LOCAL("unsubscribe", -1, 0, "Stops listening to messages posted to channels.",
          "O(N) where N is the number of clients already subscribed to a channel."),
    LOCAL("psubscribe", -2, CMD_CHANNEL_SUBSCRIBE | CMD_CHANNEL_PATTERN, "Listens for messages published to channels that match one or more patterns.",
          "O(N) where N is the number of patterns the client is already subscribed to."),
    LOCAL("punsubscribe", -1, 0, "Stops listening to messages published to channels that match one or more patterns.",
          "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
    LOCAL("ssubscribe", -2, CMD_CHANNEL_SUBSCRIBE, "Listens for messages published to shard channels.",
          "O(N) where N is the number of shard channels to subscribe to."),
    LOCAL("sunsubscribe", -1, 0, "Stops listening to messages posted to shard channels.",
          "O(N) where N is the number of clients already subscribed to a shard channel."),
    {"__subscribe", -4, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE | CMD_NOT_QUEUED, 0, 0, 0, 0, cmd_internal_subscribe,
     "pubsub", "parley-0.1", "Subscribes a client (sent by the server for SUBSCRIBE and relatives).", "O(N)", NULL, NULL, NULL},
    {"__unsubscribe", -3, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE | CMD_NOT_QUEUED, 0, 0, 0, 0, cmd_internal_unsubscribe,
     "pubsub", "parley-0.1", "Unsubscribes a client (sent by the server).", "O(N)", NULL, NULL, NULL},
    CMD_ROWS_END,
};
