/* cmds/lua_sandbox.h — the Lua sandbox every script and function runs in.
 *
 * A script in Parley is applied from the log on every node, so it must do
 * exactly the same thing everywhere, must stop, and must not take memory
 * without bound. The sandbox gives each run:
 *
 *   - a brand new Lua state in a deterministic arena (base/arena.h): no run
 *     sees anything an earlier one left, addresses (tostring, the order of
 *     `pairs` over tables keyed by tables) are the same on every node;
 *   - a memory cap (SANDBOX_MEMORY_BYTES), counted by the allocator, so
 *     every node refuses the same allocation;
 *   - a work budget (SANDBOX_BUDGET units): Lua instructions, weighted by
 *     the largest live block (an instruction on a long string can cost a
 *     pass over it), bytes allocated, and the work of the C functions that
 *     loop (pattern matching, string.rep, table.concat, table.sort, the
 *     reply conversions). Once it is spent the run is killed: pcall, xpcall
 *     and coroutines cannot catch that;
 *   - read-only globals and library tables (rawset, table.insert,
 *     setmetatable... included), no bytecode (load and loadstring refuse
 *     binary chunks the way Redis does), no file or OS access.
 *
 * The limits must be the same on every node: the leader writes its build's
 * (below) into each log entry, and a run applied from the log uses the
 * entry's (cmd_ctx script_budget and script_memory), so a node of another
 * build stops a script at the same point. */
#ifndef PARLEY_CMDS_LUA_SANDBOX_H
#define PARLEY_CMDS_LUA_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "cmds/cmd.h"

struct lua_State;

#define SANDBOX_MEMORY_BYTES (256ull << 20)
/* About 0.15 s of plain Lua on our 2-core machines: every node runs a
 * script on its event loop, and a leader silent for longer than the
 * election timeout (300 ms) is replaced. */
#define SANDBOX_BUDGET 25000000ull
/* The most work an entry may give a run (about 6 s), whatever it says. */
#define SANDBOX_BUDGET_MAX 1000000000ull
/* The most memory an entry may give a run (the arena reserves 4x this). */
#define SANDBOX_MEMORY_MAX (1ull << 30)

/* What runs inside a fresh state, in protected mode: it may raise Lua
 * errors. It writes the command's reply into the ctx's output. */
typedef void sandbox_body_fn(struct lua_State *L, void *arg);

struct sandbox_run {
    struct cmd_ctx *ctx;     /* the command: its output, time, seed, store */
    const char *label;       /* sha1 or function name, for error texts */
    const char *source;      /* chunk name: "@user_script" or "@user_function" */
    bool read_only;          /* redis.call refuses write commands */
    bool loading;            /* FUNCTION LOAD: errors say so, no redis.call */
    sandbox_body_fn *body;
    void *arg;
};

/* Runs body in a fresh sandbox. Returns true if the body ran to its end
 * (it wrote the reply, or left that to the caller); otherwise (the budget
 * spent, the memory cap, an error the body did not handle) whatever it
 * wrote is dropped, the error reply is written, and false is returned. */
bool sandbox_exec(const struct sandbox_run *run);

/* Compiles Lua source into bytecode (our own compiler's: the one way a
 * chunk enters a sandbox). A chunk that starts as precompiled bytecode is
 * read as text, so it fails as Redis's patched Lua fails on it. On error
 * writes Lua's message into err and returns false. Deterministic. */
bool sandbox_compile(const char *code, size_t len, const char *chunk_name, struct buf *bytecode,
                     char *err, size_t errlen);

/* The compiled form of code, from this process's cache (keyed by key,
 * e.g. the code's SHA-1), compiled on a miss. NULL with err on a compile
 * error. The result stays valid until the next call. */
const struct buf *sandbox_compiled(const char *key, const char *code, size_t len,
                                   const char *chunk_name, char *err, size_t errlen);

/* For bodies: loads bytecode made by sandbox_compile as a function whose
 * environment is the read-only globals; pushes it. */
void sandbox_load(struct lua_State *L, const struct buf *bytecode, const char *chunk_name);

/* For bodies: calls the function under nargs arguments on the stack, with
 * Redis's error position handler; on success leaves one result and
 * returns true, on error writes the error reply and returns false. */
bool sandbox_call(struct lua_State *L, int nargs);

/* For bodies: lua_pcall for errors the caller handles itself; the kill
 * and running out of memory are raised again, never returned. */
int sandbox_pcall(struct lua_State *L, int nargs, int nresults);

/* Raises Lua's own memory error (LUA_ERRMEM), as a failed allocation of
 * the state does: for C code whose memory failed another way (lua_libs.c). */
void sandbox_raise_out_of_memory(struct lua_State *L);

/* For bodies: writes the Lua value at idx as the command's reply (Redis
 * 7.0's conversion, RESP2 types), charged to the budget. */
void sandbox_reply(struct lua_State *L, int idx);

/* Pushes a Lua array of the strings v[0..n-1]. */
void sandbox_push_strings(struct lua_State *L, const struct resp_arg *v, int n);

/* Charges work to the run's budget; raises the kill error once it is
 * spent. For C functions that loop. */
void sandbox_charge(struct lua_State *L, uint64_t units);

/* Sets t[name] = the value on top of the stack (popped), bypassing the
 * read-only protection: for building tables during set-up. */
void sandbox_set_global(struct lua_State *L, const char *name);

/* The run in progress, for the redis.* library (lua_redis.c), and its
 * limits (work units, bytes). */
const struct sandbox_run *sandbox_current(void);
uint64_t sandbox_budget(void);
uint64_t sandbox_memory(void);

/* Installed by lua_redis.c, lua_strlib.c and lua_libs.c (cjson, bit,
 * struct, cmsgpack: lua_struct.c, lua_cmsgpack.c) into the pristine state;
 * lua_redis_start readies the redis library for one run. */
void lua_redis_open(struct lua_State *L);
void lua_redis_start(struct lua_State *L);
void lua_strlib_open(struct lua_State *L);
void lua_libs_open(struct lua_State *L);
void lua_struct_open(struct lua_State *L);
void lua_cmsgpack_open(struct lua_State *L);

#endif
