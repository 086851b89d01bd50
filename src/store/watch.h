/* store/watch.h — what WATCH needs to know, as replicated state.
 *
 * WATCH k; MULTI; ...; EXEC must fail if k changed after the WATCH. With
 * every command applied from the log on every node, "changed after" must be
 * decided from the log alone. A WATCH is applied as a command: it opens a
 * session (the sending process and client) holding the modification
 * counter at that point. While any session is open, every change to a key
 * (store_touch) bumps the counter and records it against the key. EXEC
 * carries the watched keys; it runs only if none was recorded above the
 * session's counter. Sessions close at EXEC or after WATCH_SESSION_MS of
 * log time; with none open nothing is recorded, so WATCH costs nothing to
 * those who do not use it. An EXEC whose session expired is refused (the
 * client sees an aborted transaction and retries, as after a conflict). */
#ifndef PARLEY_STORE_WATCH_H
#define PARLEY_STORE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "store/dict.h"

#define WATCH_SESSION_MS (60 * 1000)

struct store_watch {
    uint64_t counter;       /* bumped by every change while sessions are open */
    struct dict sessions;   /* origin(8) client(8) -> v.i counter at WATCH, aux expiry */
    struct dict changed;    /* db(1) key -> v.i counter of the last change */
    uint64_t flushed[16];   /* per database: counter of the last flush or swap too large
                               to record key by key (keyspace.c) */
};

void watch_init(struct store_watch *w);
void watch_clear(struct store_watch *w);
static inline bool watch_active(const struct store_watch *w) { return dict_size(&w->sessions) > 0; }
/* A key changed (key NULL: the whole database). */
void watch_touch(struct store_watch *w, int db, const char *key, size_t klen);
struct watch_key {
    int db;
    const char *key;
    size_t klen;
};
/* Opens the session of (origin, client). A fresh WATCH (the first of a
 * transaction) observes from now; a later one keeps the earlier point,
 * unless none of the keys watched earlier (n_earlier of them, given) has
 * changed since it: then it observes from now. */
void watch_begin(struct store_watch *w, uint64_t origin, uint64_t client, bool fresh,
                 const struct watch_key *earlier, size_t n_earlier, int64_t now_ms);
/* The log time of the session's point (false: no such session). */
bool watch_session_start(struct store_watch *w, uint64_t origin, uint64_t client, int64_t *start_ms);
/* Whether an open session's point is older than when_ms. */
bool watch_any_began_before(struct store_watch *w, int64_t when_ms);
/* Closes the session and says whether none of the keys changed since it
 * opened. keys: n (db, key) pairs. A missing session answers false. */
bool watch_check_and_end(struct store_watch *w, uint64_t origin, uint64_t client,
                         const struct watch_key *keys, size_t n);
/* Drops sessions past their expiry (deterministic: log time). */
void watch_expire(struct store_watch *w, int64_t now_ms);

void watch_encode(const struct store_watch *w, struct buf *out);
int watch_decode(struct store_watch *w, struct reader *r);

#endif
