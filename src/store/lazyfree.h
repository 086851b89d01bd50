/* store/lazyfree.h — freeing big values and whole databases off the event
 * loop: Redis 7.0's lazyfree.
 *
 * Deleting a key is two things: taking it out of the keyspace (what every
 * replica must do at the same point of the log, and what the client sees)
 * and giving its memory back (which only this node cares about). The
 * keyspace always does the first at once; this module does the second,
 * either at once or on a background thread:
 *
 *   "UNLINK ... performs the actual memory reclaiming in a different thread,
 *    so it is not blocking ... the command just unlinks the keys from the
 *    keyspace. The actual removal will happen later asynchronously."
 *
 * As Redis's freeObjAsync, a value goes to the thread only when freeing it
 * is real work: its effort (elements of a hash table, skiplist or set,
 * nodes of a quicklist, blocks and groups of a stream) is above
 * LAZYFREE_THRESHOLD; strings and compact encodings (listpack, intset) are
 * freed at once whatever the caller asked. A whole database (FLUSHALL or
 * FLUSHDB ASYNC) always goes to the thread.
 *
 * Which deletions may be lazy is node-local configuration (Redis's
 * lazyfree-lazy-* directives, all "no" by default): it changes how a node
 * frees, never what its keyspace holds, so nodes may differ. UNLINK and
 * FLUSH... ASYNC are always lazy; FLUSH... SYNC never is.
 *
 * One thread for the process, started at the first job. Memory accounting
 * (base/mem.h) is atomic, so used_memory drops as the thread frees; until
 * then the bytes count as used (maxmemory's eviction does not wait for
 * them: see repl/memory.c). A forked child (repl/snapfork.c) never touches
 * the queue or its lock: in a child every free is done at once.
 * lazyfree_shutdown waits until everything queued is freed. */
#ifndef PARLEY_STORE_LAZYFREE_H
#define PARLEY_STORE_LAZYFREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/dset.h"
#include "store/object.h"

/* Redis's LAZYFREE_THRESHOLD: values that cost less to free are freed at once. */
#define LAZYFREE_THRESHOLD 64

/* Why a value is freed: which directive decides whether it may be lazy. */
enum lazyfree_reason {
    LAZYFREE_EVICTION,   /* lazyfree-lazy-eviction: maxmemory's victims */
    LAZYFREE_EXPIRE,     /* lazyfree-lazy-expire: keys whose TTL passed */
    LAZYFREE_SERVER_DEL, /* lazyfree-lazy-server-del: overwritten and implicitly deleted values */
    LAZYFREE_USER_DEL,   /* lazyfree-lazy-user-del: DEL */
    LAZYFREE_USER_FLUSH, /* lazyfree-lazy-user-flush: FLUSHALL/FLUSHDB without SYNC|ASYNC */
    LAZYFREE_DIRECTIVES, /* (the number of the above) */
    LAZYFREE_ALWAYS = LAZYFREE_DIRECTIVES, /* UNLINK, FLUSH... ASYNC */
    LAZYFREE_NEVER,      /* FLUSH... SYNC */
};

/* Sets the directive of one of the first LAZYFREE_DIRECTIVES reasons. */
void lazyfree_configure(enum lazyfree_reason why, bool lazy);
/* Whether a deletion for `why` may be lazy under the directives. */
bool lazyfree_wanted(enum lazyfree_reason why);

/* What freeing o costs, as Redis's lazyfreeGetFreeEffort counts it. */
size_t lazyfree_effort(const struct sobj *o);
/* Frees o (NULL: nothing): on the thread when `why` wants it lazy and its
 * effort is above LAZYFREE_THRESHOLD, at once otherwise. */
void lazyfree_value(struct sobj *o, enum lazyfree_reason why);
/* Frees a dset allocated with dset_new or moved to the heap (a database's
 * keys, values included through its free_value) on the thread; `objects`
 * is what the pending and freed counts grow by (its keys). */
void lazyfree_dset(struct dset *s, uint64_t objects);

/* Runs fn(arg) on the thread (at once in a forked child, or if the thread
 * cannot start): for memory that is not a value, such as a snapshot's
 * buffer (repl/snapfork.c). */
void lazyfree_call(void (*fn)(void *arg), void *arg);

/* Keeps the thread out of the allocator until lazyfree_resume: for a
 * fork(), whose child must not inherit an allocator lock that thread holds
 * (under the sanitizers' allocator the child would wait for it forever;
 * under glibc's, fork() itself waits, and malloc_trim holds it long).
 * Without `wait`, false at once when the thread is running a job. */
bool lazyfree_pause(bool wait);
void lazyfree_resume(void);
/* INFO: objects queued and not yet freed (lazyfree_pending_objects), and
 * freed by the thread since start or lazyfree_reset_stats (lazyfreed_objects). */
uint64_t lazyfree_pending_objects(void);
uint64_t lazyfree_freed_objects(void);
void lazyfree_reset_stats(void);

/* Waits until the thread has freed everything queued, then stops it (a
 * later job starts it again). Call before the process exits. */
void lazyfree_shutdown(void);

#endif
