/* cmds/script.h — what the Lua engine (script.c) offers other command
 * families (FUNCTION, later). */
#ifndef PARLEY_CMDS_SCRIPT_H
#define PARLEY_CMDS_SCRIPT_H

#include <stddef.h>

#include <stdbool.h>

#include "cmds/cmd.h"

struct lua_State;

/* SHA-1 of text as 40 lower-case hex digits and a NUL. */
void script_sha1_hex(const char *text, size_t len, char out[41]);

/* The process's Lua engine (created on first use). */
struct lua_State *script_lua(void);

/* Runs the Lua function stored in the registry table `table` under
 * `name`, with keys and args as globals KEYS/ARGV (scripts) or as its two
 * parameters (functions), and writes its reply. Errors name it by label
 * and position in source ("@user_script" or "@user_function"). */
void script_run(struct cmd_ctx *c, const char *label, const char *source, const char *table,
                const char *name, const struct resp_arg *keys, int nkeys,
                const struct resp_arg *args, int nargs, bool read_only, bool as_params);

#endif
