/* base/mem.h — allocation that never returns NULL.
 *
 * Parley treats running out of memory as fatal, as Redis does: every caller
 * would otherwise need an error path that cannot be tested. These wrappers
 * print what failed and abort. Everything in src/ allocates through them,
 * and everything src/ allocates, through them or not, is counted. */
#ifndef PARLEY_BASE_MEM_H
#define PARLEY_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t size);
/* A copy of len bytes with a NUL after them. */
char *xstrndup(const char *p, size_t len);
/* realloc that may fail: NULL (and ptr untouched) when size cannot be had.
 * Only for growth a command can refuse with an error instead of aborting. */
void *mem_try_realloc(void *ptr, size_t size);
/* Bytes Parley's own code has allocated and not freed (see mem.c: the
 * link counts every malloc and free of src/, not those libraries make for
 * themselves): Redis's used_memory. */
size_t mem_used_bytes(void);
/* A buffer handed to a library that will free it itself (a log entry given
 * to libraft) leaves the count; mem_own puts back one taken from it before
 * Parley frees it after all. */
void mem_disown(void *ptr);
void mem_own(void *ptr);
/* For a thread that frees much of what another thread allocated (the free
 * thread of store/lazyfree.c): glibc puts small chunks a thread frees into
 * the fastbins of the arena they came from, the loop's main arena, and the
 * loop's next large malloc consolidates them all at once under the arena's
 * lock (600 ms for the 3 million keys of a FLUSHALL ASYNC). With this set,
 * every `frees` frees of the calling thread consolidate the main arena
 * themselves (mallopt does, holding the lock for those few chunks only).
 * 0 turns it off. Per thread. */
void mem_consolidate_every(size_t frees);
/* Gives the free pages inside the heap back to the system (glibc's
 * malloc_trim): freed chunks between live ones stay resident otherwise.
 * Under sustained 1 KB writes a node's heap keeps the log entries libraft
 * dropped at its last snapshot and the values overwritten since, and its
 * RSS was 3x redis-server's for the same data. It holds the arena's lock
 * while it walks it, so call it off the loop (store/lazyfree.c). */
void mem_release_free_pages(void);
/* The machine's physical memory in bytes (sysconf), read once: no value
 * larger than this can ever be held, whatever the configuration allows. */
size_t mem_physical_bytes(void);
/* The process's resident set (/proc/self/statm), 0 if unknown. */
size_t mem_rss_bytes(void);

#endif
