/* base/mem.h — allocation that never returns NULL.
 *
 * Parley treats running out of memory as fatal, as Redis does: every caller
 * would otherwise need an error path that cannot be tested. These wrappers
 * print what failed and abort. Everything in src/ allocates through them. */
#ifndef PARLEY_BASE_MEM_H
#define PARLEY_BASE_MEM_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t size);
/* Bytes currently allocated by this process (malloc's own accounting). */
size_t mem_used_bytes(void);

#endif
