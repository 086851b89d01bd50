/* cmds/script.h — what the Lua engine (script.c) offers other command
 * families (FUNCTION, later). */
#ifndef PARLEY_CMDS_SCRIPT_H
#define PARLEY_CMDS_SCRIPT_H

#include <stddef.h>

/* SHA-1 of text as 40 lower-case hex digits and a NUL. */
void script_sha1_hex(const char *text, size_t len, char out[41]);

#endif
