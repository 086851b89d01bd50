/* cmds/script.h — what the scripting commands share with other command
 * families (FUNCTION). The engine itself is cmds/lua_sandbox.h. */
#ifndef PARLEY_CMDS_SCRIPT_H
#define PARLEY_CMDS_SCRIPT_H

#include <stddef.h>

struct store;

/* SHA-1 of text as 40 lower-case hex digits and a NUL. */
void script_sha1_hex(const char *text, size_t len, char out[41]);

/* For the maxmemory gate (memlimit.c): 1 if the function's flags let it
 * run over the limit (no-writes or allow-oom), 0 if they do not, -1 if
 * there is no such function. */
int function_allows_oom(struct store *s, const char *name, size_t len);

#endif
