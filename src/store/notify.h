/* store/notify.h — the classes of keyspace events, and the hook through
 * which the keyspace and the commands report them.
 *
 * Keyspace notifications (Redis's notify-keyspace-events) are not state:
 * each node delivers them to its own subscribers as it applies the log, so
 * a subscriber on any node sees every event, in log order. A change calls
 * store_notify() with the event's class and name; the store's on_notify
 * (cmds/notify.c, installed by the server) turns it into messages on
 * __keyspace@<db>__:<key> and __keyevent@<db>__:<event>, when this node's
 * notify_flags ask for that class. A store without the hook (a scratch
 * store, a snapshot being decoded) reports nothing. */
#ifndef PARLEY_STORE_NOTIFY_H
#define PARLEY_STORE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Redis's class letters (notify-keyspace-events). */
enum notify_class {
    NOTIFY_KEYSPACE = 1u << 0,  /* K: __keyspace@<db>__:<key> <event> */
    NOTIFY_KEYEVENT = 1u << 1,  /* E: __keyevent@<db>__:<event> <key> */
    NOTIFY_GENERIC = 1u << 2,   /* g: DEL, EXPIRE, RENAME... */
    NOTIFY_STRING = 1u << 3,    /* $ */
    NOTIFY_LIST = 1u << 4,      /* l */
    NOTIFY_SET = 1u << 5,       /* s */
    NOTIFY_HASH = 1u << 6,      /* h */
    NOTIFY_ZSET = 1u << 7,      /* z */
    NOTIFY_EXPIRED = 1u << 8,   /* x */
    NOTIFY_EVICTED = 1u << 9,   /* e */
    NOTIFY_STREAM = 1u << 10,   /* t */
    NOTIFY_KEY_MISS = 1u << 11, /* m: not part of A */
    NOTIFY_MODULE = 1u << 13,   /* d: accepted; Parley has no modules */
    NOTIFY_NEW = 1u << 14,      /* n: not part of A */
    /* A: g$lshzxetd */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                 NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};

struct store;
typedef void store_notify_fn(struct store *s, int db, uint32_t cls, const char *event,
                             const char *key, size_t klen);

#endif
