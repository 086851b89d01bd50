/* store/lazyfree.c — see lazyfree.h.
 *
 * A queue of jobs (a function and what it frees) under one mutex, and one
 * thread that takes them off in order. The lock is held only to push and
 * to pop, never while freeing, so the loop that pushes never waits for a
 * free in progress. The counters are atomics the loop reads for INFO
 * without the lock. The queue has no bound of its own: what it holds was
 * already allocated and counted in used_memory (maxmemory bounds it), and
 * each job costs one small allocation. */
#include "store/lazyfree.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mem.h"
#include "store/hash.h"
#include "store/list.h"
#include "store/set.h"
#include "store/stream.h"
#include "store/zset.h"

struct job {
    struct job *next;
    void (*fn)(void *arg);
    void *arg;
    uint64_t objects;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or stop was asked */
    struct job *head, *tail;
    bool running;  /* the thread exists */
    bool stop;     /* the thread ends once the queue is empty */
    pthread_t thread;
} q = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

/* Held by the thread while it runs a job (so while it may be inside the
 * allocator), and by lazyfree_pause around a fork(). */
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;

/* Set in a forked child (which has no free thread, and whose copy of the
 * lock may be held by a thread that does not exist there): free at once. */
static bool in_child;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static bool directive[LAZYFREE_DIRECTIVES];
static uint64_t pending_objects, freed_objects;

void lazyfree_configure(enum lazyfree_reason why, bool lazy)
{
    assert(why < LAZYFREE_DIRECTIVES);
    __atomic_store_n(&directive[why], lazy, __ATOMIC_RELAXED);
}

bool lazyfree_wanted(enum lazyfree_reason why)
{
    if (why == LAZYFREE_ALWAYS) return true;
    if (why == LAZYFREE_NEVER) return false;
    assert(why < LAZYFREE_DIRECTIVES);
    return __atomic_load_n(&directive[why], __ATOMIC_RELAXED);
}

/* Redis's lazyfreeGetFreeEffort: "the number of allocations the object is
 * composed of", roughly, and 1 for anything in one or two allocations. */
size_t lazyfree_effort(const struct sobj *o)
{
    switch (o->type) {
    case OBJ_LIST:
        return list_ql(o)->nodes;
    case OBJ_SET:
        return o->encoding == ENC_HT ? set_size(o) : 1;
    case OBJ_HASH:
        return o->encoding == ENC_HT ? hash_len(o) : 1;
    case OBJ_ZSET:
        return o->encoding == ENC_SKIPLIST ? zset_length(o) : 1;
    case OBJ_STREAM: {
        const struct stream *s = stream_of(o);
        size_t effort = s->n_blocks;
        for (size_t i = 0; i < s->n_groups; i++) effort += 1 + idmap_size(&s->groups[i]->pel);
        return effort;
    }
    }
    return 1;
}

uint64_t lazyfree_pending_objects(void)
{
    return __atomic_load_n(&pending_objects, __ATOMIC_RELAXED);
}

uint64_t lazyfree_freed_objects(void)
{
    return __atomic_load_n(&freed_objects, __ATOMIC_RELAXED);
}

void lazyfree_reset_stats(void)
{
    __atomic_store_n(&freed_objects, 0, __ATOMIC_RELAXED);
}

/* Frees between two consolidations of the loop's arena (base/mem.h): a
 * few thousand chunks, tens of microseconds under its lock. */
#define CONSOLIDATE_EVERY_FREES 1024

static void *thread_main(void *unused)
{
    mem_consolidate_every(CONSOLIDATE_EVERY_FREES);
    pthread_mutex_lock(&q.lock);
    for (;;) {
        while (q.head == NULL && !q.stop) pthread_cond_wait(&q.wake, &q.lock);
        if (q.head == NULL) break; /* stop, with nothing left */
        struct job *j = q.head;
        q.head = j->next;
        if (q.head == NULL) q.tail = NULL;
        pthread_mutex_unlock(&q.lock);

        uint64_t objects = j->objects;
        pthread_mutex_lock(&busy);
        j->fn(j->arg);
        free(j);
        pthread_mutex_unlock(&busy);
        __atomic_fetch_add(&freed_objects, objects, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&pending_objects, objects, __ATOMIC_RELAXED);

        pthread_mutex_lock(&q.lock);
    }
    pthread_mutex_unlock(&q.lock);
    return NULL;
}

bool lazyfree_pause(bool wait)
{
    if (wait) {
        pthread_mutex_lock(&busy);
        return true;
    }
    return pthread_mutex_trylock(&busy) == 0;
}

void lazyfree_resume(void)
{
    pthread_mutex_unlock(&busy);
}

static void on_fork_child(void)
{
    in_child = true;
}

static void register_atfork(void)
{
    if (pthread_atfork(NULL, NULL, on_fork_child) != 0) abort();
}

/* Called with q.lock held. The thread blocks every signal: they are the
 * loop's (libuv's handlers), as Redis's bio threads leave them. */
static bool start_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&q.thread, NULL, thread_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_warn("lazyfree: cannot start the background free thread (error %d): freeing at once",
                 rc);
        return false;
    }
    q.running = true;
    q.stop = false;
    return true;
}

static void submit(void (*fn)(void *arg), void *arg, uint64_t objects)
{
    pthread_once(&atfork_once, register_atfork);
    if (in_child) {
        fn(arg);
        return;
    }
    struct job *j = xmalloc(sizeof *j);
    *j = (struct job){.next = NULL, .fn = fn, .arg = arg, .objects = objects};
    pthread_mutex_lock(&q.lock);
    if (!q.running && !start_thread()) {
        pthread_mutex_unlock(&q.lock);
        free(j);
        fn(arg);
        return;
    }
    __atomic_fetch_add(&pending_objects, objects, __ATOMIC_RELAXED);
    if (q.tail) q.tail->next = j;
    else q.head = j;
    q.tail = j;
    pthread_cond_signal(&q.wake);
    pthread_mutex_unlock(&q.lock);
}

static void free_value_job(void *arg)
{
    sobj_free(arg);
}

void lazyfree_value(struct sobj *o, enum lazyfree_reason why)
{
    if (o == NULL) return;
    if (lazyfree_wanted(why) && lazyfree_effort(o) > LAZYFREE_THRESHOLD)
        submit(free_value_job, o, 1);
    else
        sobj_free(o);
}

static void free_dset_job(void *arg)
{
    dset_free(arg);
}

void lazyfree_dset(struct dset *s, uint64_t objects)
{
    submit(free_dset_job, s, objects);
}

void lazyfree_call(void (*fn)(void *arg), void *arg)
{
    submit(fn, arg, 0);
}

void lazyfree_shutdown(void)
{
    if (in_child) return;
    pthread_mutex_lock(&q.lock);
    if (!q.running) {
        pthread_mutex_unlock(&q.lock);
        return;
    }
    q.stop = true;
    pthread_cond_signal(&q.wake);
    pthread_mutex_unlock(&q.lock);
    pthread_join(q.thread, NULL);
    pthread_mutex_lock(&q.lock);
    assert(q.head == NULL);
    q.running = false;
    q.stop = false;
    pthread_mutex_unlock(&q.lock);
}
