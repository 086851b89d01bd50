/* cmds/script.h — what the scripting commands share with other command
 * families (FUNCTION). The engine itself is cmds/lua_sandbox.h. */
#ifndef PARLEY_CMDS_SCRIPT_H
#define PARLEY_CMDS_SCRIPT_H

#include <stddef.h>

/* SHA-1 of text as 40 lower-case hex digits and a NUL. */
void script_sha1_hex(const char *text, size_t len, char out[41]);

#endif
