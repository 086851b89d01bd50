/* cmds/notify.h — keyspace notifications: notify-keyspace-events' letters,
 * and the delivery of events as pub/sub messages (store/notify.h says
 * where events come from). */
#ifndef PARLEY_CMDS_NOTIFY_H
#define PARLEY_CMDS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/keyspace.h"

/* Redis's keyspaceEventsStringToFlags: each letter of K E g $ l s h z x e
 * t m d n A adds its classes; false on any other character. */
bool notify_parse_flags(const char *s, size_t len, uint32_t *flags);
/* What CONFIG GET shows, as Redis 7.0 writes it ("AKE" for KEA; n is not
 * shown). out holds at least NOTIFY_FLAGS_STR_MAX bytes. */
#define NOTIFY_FLAGS_STR_MAX 24
void notify_format_flags(uint32_t flags, char *out);

/* The store's on_notify: publishes the event on __keyspace@<db>__:<key>
 * (message: the event) and __keyevent@<db>__:<event> (message: the key),
 * as this node's flags ask, through the same delivery as PUBLISH. */
void notify_deliver(struct store *s, int db, uint32_t cls, const char *event, const char *key,
                    size_t klen);

/* Before a command runs (cmd_exec): a keymiss event (class m) for each key
 * its key specs mark keymiss (keyspec.c) that is not there, as Redis's
 * lookupKeyRead fires one, and before the command's own events, as there.
 * Where the command runs: a read on the node that serves it, a write on
 * every node as it applies it. Unlike Redis, a call refused for its syntax
 * (SORT k STORE) fires too: Redis refuses it before any lookup. */
struct cmd_ctx;
void notify_key_misses(struct cmd_ctx *c);

/* cmds/pubsub.c: delivers message on channel to its subscribers and to the
 * matching pattern subscriptions (store->on_message); returns how many
 * received it, across the cluster. */
long long pubsub_publish(struct store *s, const char *channel, size_t clen, const char *message,
                         size_t mlen);

#endif
