/* base/mem.c — see mem.h. */
#include "base/mem.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom(size_t size)
{
    fprintf(stderr, "parley: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL) oom(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) oom(count * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL) oom(size);
    return p;
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *p, size_t len)
{
    char *d = xmalloc(len + 1);
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

void *xmemdup(const void *p, size_t size)
{
    void *copy = xmalloc(size);
    if (size) memcpy(copy, p, size);
    return copy;
}

/* --------------------------------------------------------------------
 * Accounting
 *
 * The link wraps malloc, calloc, realloc and free of Parley's own code
 * (Makefile: MEM_WRAP, -Wl,--wrap=...), so every allocation Parley makes,
 * through xmalloc or not, is counted as it happens, by its usable size, as
 * Redis's zmalloc counts used_memory: reading the figure costs nothing,
 * where walking malloc's free lists (mallinfo2) took 150 ms with a million
 * free chunks. The allocations libraft, libuv and Lua make for themselves
 * are not counted; a buffer Parley hands over to a library that frees it
 * itself is taken off the count with mem_disown when it is handed over.
 * Atomic: libuv's worker threads may allocate.
 * ------------------------------------------------------------------ */

static int64_t used_bytes;

static void count(int64_t delta)
{
    __atomic_fetch_add(&used_bytes, delta, __ATOMIC_RELAXED);
}

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void __wrap_free(void *ptr);

void *__wrap_malloc(size_t size)
{
    void *p = __real_malloc(size);
    if (p) count((int64_t)malloc_usable_size(p));
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = __real_calloc(n, size);
    if (p) count((int64_t)malloc_usable_size(p));
    return p;
}

void *__wrap_realloc(void *ptr, size_t size)
{
    int64_t old = ptr ? (int64_t)malloc_usable_size(ptr) : 0;
    void *p = __real_realloc(ptr, size);
    if (p) count((int64_t)malloc_usable_size(p) - old);
    else if (size == 0) count(-old); /* realloc(p, 0) freed p */
    return p;
}

/* See mem_consolidate_every. */
static __thread size_t consolidate_every, frees_since_consolidate;
/* glibc's M_MXFAST default (malloc.c's DEFAULT_MXFAST): set again, it
 * changes nothing, but mallopt consolidates the main arena first. */
#define GLIBC_DEFAULT_MXFAST (64 * sizeof(size_t) / 4)

void __wrap_free(void *ptr)
{
    if (ptr) count(-(int64_t)malloc_usable_size(ptr));
    __real_free(ptr);
    if (consolidate_every && ++frees_since_consolidate >= consolidate_every) {
        frees_since_consolidate = 0;
        mallopt(M_MXFAST, (int)GLIBC_DEFAULT_MXFAST);
    }
}

void mem_consolidate_every(size_t frees)
{
    consolidate_every = frees;
    frees_since_consolidate = 0;
}

void mem_release_free_pages(void)
{
    malloc_trim(0);
}

void mem_disown(void *ptr)
{
    if (ptr) count(-(int64_t)malloc_usable_size(ptr));
}

void mem_own(void *ptr)
{
    if (ptr) count((int64_t)malloc_usable_size(ptr));
}

size_t mem_used_bytes(void)
{
    int64_t n = __atomic_load_n(&used_bytes, __ATOMIC_RELAXED);
    return n > 0 ? (size_t)n : 0;
}

void *mem_try_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

size_t mem_physical_bytes(void)
{
    static size_t bytes;
    if (bytes == 0) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        /* Unknown (never on Linux): assume no more than the address space. */
        bytes = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : SIZE_MAX / 2;
#ifdef PARLEY_TEST_HOOKS
        /* A test build may claim a smaller machine (tests of limits that
         * must not depend on each node's memory). */
        const char *claim = getenv("PARLEY_TEST_PHYSICAL_BYTES");
        if (claim && *claim) bytes = (size_t)strtoull(claim, NULL, 10);
#endif
    }
    return bytes;
}

size_t mem_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long long size, resident = 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)resident * (size_t)(page > 0 ? page : 4096);
}
