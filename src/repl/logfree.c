/* repl/logfree.c — the log entries a snapshot lets go are freed a slice
 * at a time, not all in one loop iteration.
 *
 * When a snapshot is written (or one sent by the leader installed), libraft
 * drops the log entries it covers from memory, inside the snapshot put's
 * callback, on the loop: one free() per entry, raft-log-max-bytes of them
 * (64 MB by default) at once. Right after a snapshot's fork every page of
 * the heap is write-protected, so nearly every one of those frees also
 * takes a page fault, and glibc merges each freed chunk with its free
 * neighbours: measured with perf on the loop thread under SET load, one
 * loop iteration of 104-135 ms per snapshot spent in free(), the longest
 * stall LATENCY LATEST showed. (Handing them to the free thread moved the
 * stall, not removed it: the chunks are the main arena's, and the loop's
 * own mallocs waited up to 88 ms for the arena lock that thread kept
 * taking.)
 *
 * So libraft's heap (raft_heap_set) is libraft's own default one, except
 * that a raft_free made on the thread running a snapshot put's callback,
 * while it runs, only records the pointer. The recorded pointers are freed
 * by logfree_step, which the loop's tick calls every iteration (through
 * repl_flush), for at most STEP_BUDGET_US each time; once they are all
 * freed, the free thread gives the heap's free pages back to the system
 * (base/mem.h: the entries and the values overwritten since the last
 * snapshot leave holes between live chunks). Nothing else changes:
 * allocation and every other free are as before, and memory freed through
 * libraft is not in used_memory either way. The entries are gone from
 * libraft's log when the callback returns; their bytes come back within a
 * few hundred iterations. */
#include <stdlib.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/mem.h"
#include "repl/internal.h"
#include "store/lazyfree.h"

#define STEP_BUDGET_US 500
#define STEP_CLOCK_EVERY 16 /* frees between two readings of the clock */

static const struct raft_heap *libraft_heap; /* libraft's default */

/* The node whose snapshot put's callback this thread runs, if it does. */
static _Thread_local struct repl_logfree *collecting;

static void *heap_malloc(void *data, size_t size)
{
    return libraft_heap->malloc(libraft_heap->data, size);
}

static void *heap_calloc(void *data, size_t nmemb, size_t size)
{
    return libraft_heap->calloc(libraft_heap->data, nmemb, size);
}

static void *heap_realloc(void *data, void *ptr, size_t size)
{
    return libraft_heap->realloc(libraft_heap->data, ptr, size);
}

static void *heap_aligned_alloc(void *data, size_t alignment, size_t size)
{
    return libraft_heap->aligned_alloc(libraft_heap->data, alignment, size);
}

static void heap_aligned_free(void *data, size_t alignment, void *ptr)
{
    libraft_heap->aligned_free(libraft_heap->data, alignment, ptr);
}

static void heap_free(void *data, void *ptr)
{
    struct repl_logfree *f = collecting;
    if (ptr == NULL) return;
    if (f != NULL) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 1024;
            void **ptrs = libraft_heap->realloc(libraft_heap->data, f->ptrs, cap * sizeof *ptrs);
            if (ptrs != NULL) {
                f->ptrs = ptrs;
                f->cap = cap;
            }
        }
        if (f->n < f->cap) { /* else: no room to record it, freed now */
            f->ptrs[f->n++] = ptr;
            return;
        }
    }
    libraft_heap->free(libraft_heap->data, ptr);
}

static struct raft_heap heap = {
    .malloc = heap_malloc,
    .free = heap_free,
    .calloc = heap_calloc,
    .realloc = heap_realloc,
    .aligned_alloc = heap_aligned_alloc,
    .aligned_free = heap_aligned_free,
};

/* libraft has one snapshot put in flight at a time, and a process runs one
 * node: the put in flight's node and callback. */
static struct repl *putting;
static raft_io_snapshot_put_cb put_cb;

static void collecting_put_cb(struct raft_io_snapshot_put *req, int status)
{
    struct repl *r = putting;
    raft_io_snapshot_put_cb cb = put_cb;
    putting = NULL; /* the callback may start the next put */
    put_cb = NULL;
    struct repl_logfree *outer = collecting;
    collecting = &r->logfree;
    cb(req, status);
    collecting = outer;
    r->logfree.release_pages = true;
}

static int wrapped_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                       const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    struct raft *raft = io->data;
    struct repl *r = raft->data;
    CHECK(putting == NULL);
    putting = r;
    put_cb = cb;
    int rv = r->logfree.put(io, trailing, req, snapshot, collecting_put_cb);
    if (rv != 0) putting = NULL; /* refused: the caller answers cb itself */
    return rv;
}

static void release_pages(void *arg)
{
    mem_release_free_pages();
}

void logfree_step(struct repl *r)
{
    struct repl_logfree *f = &r->logfree;
    if (f->next < f->n) {
        int64_t deadline_us = clock_mono_us() + STEP_BUDGET_US;
        while (f->next < f->n) {
            libraft_heap->free(libraft_heap->data, f->ptrs[f->next++]);
            if (f->next % STEP_CLOCK_EVERY == 0 && clock_mono_us() >= deadline_us) return;
        }
        f->next = f->n = 0;
    }
    if (f->release_pages) {
        f->release_pages = false;
        lazyfree_call(release_pages, NULL);
    }
}

void logfree_install(struct repl *r)
{
    CHECK(r->logfree.put == NULL); /* once per node */
    if (libraft_heap == NULL) {
        libraft_heap = raft_heap_get();
        raft_heap_set(&heap);
    }
    r->logfree.put = r->node.io.snapshot_put;
    r->node.io.snapshot_put = wrapped_put;
}

void logfree_close(struct repl *r)
{
    struct repl_logfree *f = &r->logfree;
    while (f->next < f->n) libraft_heap->free(libraft_heap->data, f->ptrs[f->next++]);
    if (f->ptrs) libraft_heap->free(libraft_heap->data, f->ptrs);
    *f = (struct repl_logfree){.put = f->put};
}
