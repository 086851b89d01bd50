/* store/scripts.h — the script cache, as replicated state.
 *
 * EVAL and SCRIPT LOAD are applied from the log on every node, so every
 * node caches the same scripts: an EVALSHA answered by any node, before or
 * after a failover or a restart, finds what SCRIPT LOAD put there. Bodies
 * are kept by their SHA-1 (40 lower-case hex digits); compiling them is the
 * business of cmds/script.c and happens on each node as needed. FUNCTION
 * libraries are kept the same way, by name. Both are in snapshots. */
#ifndef PARLEY_STORE_SCRIPTS_H
#define PARLEY_STORE_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "store/dict.h"

struct scripts {
    struct dict by_sha;    /* sha (40 bytes) -> v.ptr: struct script_body */
    struct dict libraries; /* FUNCTION libraries: name -> v.ptr: struct script_body (code) */
    uint64_t version;      /* changes whenever libraries change (this process's count) */
};

struct script_body {
    size_t len;
    char text[];
};

void scripts_init(struct scripts *s);
void scripts_clear(struct scripts *s);
const struct script_body *scripts_find(struct scripts *s, const char sha[40]);
/* Adds a body under its sha (no-op if present). */
const struct script_body *scripts_add(struct scripts *s, const char sha[40], const char *text,
                                      size_t len);
static inline bool scripts_empty(const struct scripts *s)
{
    return dict_size(&s->by_sha) == 0 && dict_size(&s->libraries) == 0;
}
/* FUNCTION libraries: set (add or replace) and delete by name. */
void scripts_set_library(struct scripts *s, const char *name, size_t nlen, const char *code,
                         size_t clen);
bool scripts_delete_library(struct scripts *s, const char *name, size_t nlen);
void scripts_clear_libraries(struct scripts *s);
void scripts_encode(struct scripts *s, struct buf *out);
int scripts_decode(struct scripts *s, struct reader *r);

#endif
