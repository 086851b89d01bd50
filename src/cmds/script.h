/* cmds/script.h — what the scripting commands share with other command
 * families (FUNCTION). The engine itself is cmds/lua_sandbox.h. */
#ifndef PARLEY_CMDS_SCRIPT_H
#define PARLEY_CMDS_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* SHA-1 of text as 40 lower-case hex digits and a NUL. */
void script_sha1_hex(const char *text, size_t len, char out[41]);

/* Whether a script body's shebang declares flags=no-writes (CLIENT PAUSE
 * WRITE lets such an EVAL run). */
bool script_declares_no_writes(const char *body, size_t len);

/* For the maxmemory gate (memlimit.c): 1 if the function's flags let it
 * run over the limit (no-writes or allow-oom), 0 if they do not, -1 if
 * there is no such function. */
int function_allows_oom(struct store *s, const char *name, size_t len);
/* Whether a loaded function has the no-writes flag (CLIENT PAUSE WRITE). */
bool function_declares_no_writes(struct store *s, const char *name, size_t len);

#endif
