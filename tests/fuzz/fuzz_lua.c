/* tests/fuzz/fuzz_lua.c — libFuzzer target: Lua scripts through EVAL, the
 * way apply runs them (cmds/lua_sandbox.h).
 *
 * The input is a script's text (lua.dict gives libFuzzer Lua's words and
 * the library functions that loop or allocate). It runs as EVAL with one
 * key and one argument on a store holding a few keys of every kind, three
 * times: twice on that store and once on its twin. Checks:
 *   - the run ends (libFuzzer's -timeout reports one that does not: the
 *     work budget must stop every script) and never crashes;
 *   - the reply is exactly one well-formed RESP2 value;
 *   - the twin answers the same bytes and ends with the same digest: a
 *     script does the same on every replica, whatever it looks at
 *     (addresses, table order, the garbage collector);
 *   - run again on both stores (now holding what the first run wrote),
 *     the two still answer the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/cmd.h"
#include "cmds/lua_sandbox.h"
#include "fuzz.h"

static struct store *filled(void)
{
    struct store *s = store_new();
    static const char *const setup[][6] = {
        {"SET", "k", "v", NULL},
        {"RPUSH", "list", "a", "b", "c", NULL},
        {"HSET", "hash", "f", "1", NULL},
        {"SADD", "set", "x", "y", NULL},
        {"ZADD", "zset", "1", "m", NULL},
        {"XADD", "stream", "1-1", "f", "v", NULL},
    };
    for (size_t i = 0; i < sizeof setup / sizeof *setup; i++) {
        struct resp_arg argv[6];
        int argc = 0;
        for (; setup[i][argc]; argc++) argv[argc] = (struct resp_arg){setup[i][argc], strlen(setup[i][argc])};
        struct fuzz_run r = {.store = s, .now_ms = 1700000000000ll, .rng = 1, .proto = 2,
                             .max_bulk_len = 512ll << 20};
        struct buf out = BUF_INIT;
        bool blocked;
        fuzz_run_command(&r, argc, argv, &out, &blocked);
        buf_free(&out);
    }
    return s;
}

/* A tenth of the default work budget: a script that runs until the budget
 * kills it takes four runs here, which must end well within libFuzzer's
 * -timeout under ASan on a loaded machine (a CI run timed out on a pattern
 * that backtracks until killed). The kill itself is the same at any budget. */
#define FUZZ_SCRIPT_BUDGET (SANDBOX_BUDGET / 10)

static void eval(struct store *s, const uint8_t *data, size_t size, struct buf *out)
{
    struct resp_arg argv[] = {{"EVAL", 4}, {(const char *)data, size}, {"1", 1}, {"k", 1},
                              {"arg", 3}};
    struct fuzz_run r = {.store = s, .now_ms = 1700000000000ll, .rng = 42, .proto = 2,
                         .max_bulk_len = 512ll << 20, .script_budget = FUZZ_SCRIPT_BUDGET};
    bool blocked;
    FUZZ_CHECK(fuzz_run_command(&r, 5, argv, out, &blocked), "EVAL did not run");
    FUZZ_CHECK(!blocked, "a script blocked");
}

static uint64_t digest(struct store *s)
{
    struct resp_arg argv[] = {{"DEBUG", 5}, {"DIGEST", 6}};
    struct fuzz_run r = {.store = s, .now_ms = 1700000000000ll, .proto = 2};
    struct buf out = BUF_INIT;
    bool blocked;
    fuzz_run_command(&r, 2, argv, &out, &blocked);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < out.len; i++) h = (h ^ (unsigned char)out.data[i]) * 1099511628211ull;
    buf_free(&out);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store *a = filled(), *b = filled();
    struct buf ra = BUF_INIT, rb = BUF_INIT, again = BUF_INIT;
    eval(a, data, size, &ra);
    const char *problem = fuzz_reply_problem(ra.data ? ra.data : "", ra.len, 2, false);
    FUZZ_CHECK(problem == NULL, "bad reply (%s): %.*s", problem, (int)(ra.len > 300 ? 300 : ra.len),
               ra.data);
    eval(b, data, size, &rb);
    FUZZ_CHECK(ra.len == rb.len && memcmp(ra.data, rb.data, ra.len) == 0,
               "two replicas answered differently:\n%.*s\n%.*s", (int)(ra.len > 300 ? 300 : ra.len),
               ra.data, (int)(rb.len > 300 ? 300 : rb.len), rb.data);
    FUZZ_CHECK(digest(a) == digest(b), "two replicas hold different data after the script");
    /* The same script again on both: nothing of the first run is seen. */
    eval(a, data, size, &again);
    buf_clear(&rb);
    eval(b, data, size, &rb);
    FUZZ_CHECK(again.len == rb.len && memcmp(again.data, rb.data, again.len) == 0,
               "a second run differs between replicas");
    buf_free(&ra);
    buf_free(&rb);
    buf_free(&again);
    store_free(a);
    store_free(b);
    return 0;
}
