/* store/pubsub.h — who is subscribed to what, as replicated state.
 *
 * SUBSCRIBE and UNSUBSCRIBE travel through the log like writes, so every
 * node holds the same registry: for each channel (and each pattern, and
 * each shard channel) the subscribers, a subscriber being (origin, client):
 * the process that holds the connection and the client's id there. A
 * PUBLISH applied on every node therefore counts the same receivers
 * everywhere, and each node delivers the message to the subscribers whose
 * origin is itself. A process that restarts gets a new origin; the
 * registrations of its previous one are dropped when it registers again
 * (pubsub_set_node_origin), and a client that disconnects is unsubscribed
 * through the log by its node.
 *
 * The registry is in snapshots. Matching of patterns is the caller's
 * (cmds/pubsub.c, with glob_match). */
#ifndef PARLEY_STORE_PUBSUB_H
#define PARLEY_STORE_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/dict.h"

enum pubsub_kind { PUBSUB_CHANNEL = 0, PUBSUB_PATTERN = 1, PUBSUB_SHARD = 2 };

struct pubsub_id {
    uint64_t origin;
    uint64_t client;
};

/* Subscribers of one channel or pattern, in subscription order. */
struct pubsub_subs {
    struct pubsub_id *ids;
    size_t n, cap;
};

struct pubsub {
    struct dict names[3];   /* kind -> name -> struct pubsub_subs* */
    struct dict clients;    /* id (16 bytes) -> aux: channels+patterns, slot: shard count */
    struct dict origins;    /* node id (8 bytes) -> v.i: that node's current origin */
};

void pubsub_init(struct pubsub *ps);
void pubsub_clear(struct pubsub *ps);

/* 1 if newly subscribed, 0 if it already was. */
int pubsub_subscribe(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                     const char *name, size_t len);
int pubsub_unsubscribe(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                       const char *name, size_t len);
/* Unsubscribes id from every name of kind, in the order it subscribed...
 * (order of the registry, deterministic); calls fn for each name dropped. */
void pubsub_unsubscribe_all(struct pubsub *ps, enum pubsub_kind kind, struct pubsub_id id,
                            void (*fn)(void *arg, const char *name, size_t len), void *arg);
/* Subscriptions of id: channels + patterns (what SUBSCRIBE replies count),
 * or shard channels. */
long long pubsub_count(struct pubsub *ps, struct pubsub_id id, bool shard);
const struct pubsub_subs *pubsub_find(struct pubsub *ps, enum pubsub_kind kind, const char *name,
                                      size_t len);
/* A node registered its current process: drop what older processes of the
 * same node had subscribed. */
void pubsub_set_node_origin(struct pubsub *ps, uint64_t node, uint64_t origin);

void pubsub_encode(struct pubsub *ps, struct buf *out);
int pubsub_decode(struct pubsub *ps, struct reader *r);
static inline bool pubsub_empty(const struct pubsub *ps)
{
    return dict_size(&ps->clients) == 0 && dict_size(&ps->origins) == 0;
}

#endif
