/* tests/unit/test_lua_sandbox.c — the deterministic arena (base/arena.c)
 * and the Lua sandbox (cmds/lua_sandbox.c, lua_strlib.c) through EVAL.
 *
 * Covers: the arena hands out the same offsets for the same requests,
 * refuses growth past its limit but never a free or a shrink, and an image
 * put back restores blocks and forgets later ones; our pattern matcher
 * gives what stock Lua 5.1's gives (results and error texts) for
 * thousands of random subjects, patterns and replacements through find,
 * match, gmatch and gsub; and EVAL answers the same bytes in two runs of a
 * script that prints addresses and iterates a table keyed by tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "cmds/cmd.h"
#include "store/keyspace.h"

/* ---------------------------------------------------------------- arena */

static void test_arena_is_deterministic(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 20), *b = arena_new(1 << 20);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t rng = 7;
    void *pa[64] = {0}, *pb[64] = {0};
    size_t sz[64] = {0};
    for (int i = 0; i < 5000; i++) {
        int k = (int)(dict_rand64(&rng) % 64);
        size_t n = (size_t)(dict_rand64(&rng) % 3000);
        pa[k] = arena_realloc(a, pa[k], sz[k], n);
        pb[k] = arena_realloc(b, pb[k], sz[k], n);
        sz[k] = n;
        /* Same offsets from each 4 GiB-aligned base. */
        assert_int_equal((uintptr_t)pa[k] & 0xffffffffu, (uintptr_t)pb[k] & 0xffffffffu);
        if (n) memset(pa[k], k, n);
    }
    assert_int_equal(arena_live_bytes(a), arena_live_bytes(b));
    arena_destroy(a);
    arena_destroy(b);
}

static void test_arena_limit_and_shrink(void **state)
{
    (void)state;
    struct arena *a = arena_new(64 * 1024);
    void *big = arena_realloc(a, NULL, 0, 40 * 1024);
    assert_non_null(big);
    assert_null(arena_realloc(a, NULL, 0, 40 * 1024)); /* over the limit */
    /* Shrinking never fails and keeps the bytes. */
    memset(big, 'x', 100);
    void *small = arena_realloc(a, big, 40 * 1024, 100);
    assert_ptr_equal(small, big);
    assert_memory_equal(small, "xxxx", 4);
    assert_true(arena_live_bytes(a) < 1024);
    assert_non_null(arena_realloc(a, NULL, 0, 40 * 1024)); /* room again */
    assert_null(arena_realloc(a, small, 100, 60 * 1024));  /* growth fails... */
    assert_memory_equal(small, "xxxx", 4);                 /* ...and keeps the block */
    arena_reset(a, 0);
    assert_int_equal(arena_live_bytes(a), 0);
    arena_destroy(a);
}

static void test_arena_image(void **state)
{
    (void)state;
    struct arena *a = arena_new(1 << 20);
    char *p = arena_realloc(a, NULL, 0, 32);
    strcpy(p, "kept");
    struct arena_image *img = arena_save(a);
    strcpy(p, "changed");
    char *q = arena_realloc(a, NULL, 0, 32);
    arena_restore(a, img);
    assert_string_equal(p, "kept");
    /* What was allocated after the image is forgotten: handed out again. */
    assert_ptr_equal(arena_realloc(a, NULL, 0, 32), q);
    arena_image_free(img);
    arena_destroy(a);
}

/* ---------------------------------------------------------------- EVAL */

static struct store *store;

static uint64_t entry_budget, entry_memory; /* what the log entry carries (0: defaults) */

static char *eval(const char *script, int nargs, const char **args)
{
    struct resp_arg argv[8];
    int argc = 0;
    argv[argc++] = (struct resp_arg){"EVAL", 4};
    argv[argc++] = (struct resp_arg){script, strlen(script)};
    argv[argc++] = (struct resp_arg){"0", 1};
    for (int i = 0; i < nargs; i++) argv[argc++] = (struct resp_arg){args[i], strlen(args[i])};
    struct buf out = BUF_INIT;
    struct cmd_ctx c = {
        .store = store,
        .now_ms = 1000,
        .rng = 42,
        .apply = true,
        .max_bulk_len = 512 << 20,
        .script_budget = entry_budget,
        .script_memory = entry_memory,
        .out = {&out, 2},
        .argc = argc,
        .argv = argv,
    };
    c.cmd = cmd_lookup("eval", 4, false);
    cmd_exec(&c);
    buf_append(&out, "", 1);
    return out.data;
}

/* The same expression in stock Lua 5.1: its result as the bulk string
 * EVAL answers. */
static char *stock(lua_State *L, const char *script, int nargs, const char **args)
{
    lua_newtable(L);
    for (int i = 0; i < nargs; i++) {
        lua_pushstring(L, args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "ARGV");
    if (luaL_loadbuffer(L, script, strlen(script), "@user_script") != 0 ||
        lua_pcall(L, 0, 1, 0) != 0) {
        char *e = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        return e;
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    char *r = malloc(len + 32);
    snprintf(r, len + 32, "$%zu\r\n%s\r\n", len, s);
    lua_pop(L, 1);
    return r;
}

/* Serialises every result of the call, errors included. */
static const char *const probe =
    "local function show(...) local t = {} for i = 1, select('#', ...) do "
    "t[#t + 1] = string.format('%q', tostring((select(i, ...)))) end "
    "return table.concat(t, '|') end "
    "local s, p, r = ARGV[1], ARGV[2], ARGV[3] "
    "local out = {show(pcall(string.find, s, p)), show(pcall(string.match, s, p)), "
    "show(pcall(string.find, s, p, 2)), show(pcall(string.gsub, s, p, r)), "
    "show(pcall(string.gsub, s, p, r, 2)), "
    "show(pcall(string.gsub, s, p, function(a, b) return b or a end)), "
    "show(pcall(string.gsub, s, p, {a = 'A', ['('] = 'P'})), "
    "show(pcall(function() local t = {} for a, b in string.gmatch(s, p) do "
    "t[#t + 1] = tostring(a) .. ',' .. tostring(b) if #t > 50 then break end end "
    "return table.concat(t, ';') end))} "
    "return table.concat(out, '\\n')";

static const char *const tokens[] = {"a", "b", "(", ")", ".", "%a", "%d", "%s", "%W", "[ab]",
                                     "[^a]", "[a-c]", "[%d(]", "*", "+", "-", "?", "^", "$",
                                     "()", "%b()", "%f[%w]", "%1", "%2", "%", "[", "]", "x*",
                                     "%z", "%("};
static const char subject_chars[] = "ab(1) cx";
static const char *const replacements[] = {"%0", "<%1>", "%%", "z", "%2", "", "%"};

static void test_patterns_match_stock_lua(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    uint64_t rng = 12345;
    int n_tokens = (int)(sizeof tokens / sizeof *tokens);
    for (int round = 0; round < 3000; round++) {
        char s[16], p[64] = "";
        int slen = (int)(dict_rand64(&rng) % 12);
        for (int i = 0; i < slen; i++) s[i] = subject_chars[dict_rand64(&rng) % (sizeof subject_chars - 1)];
        s[slen] = '\0';
        int ntok = 1 + (int)(dict_rand64(&rng) % 6);
        for (int i = 0; i < ntok; i++) strcat(p, tokens[dict_rand64(&rng) % (uint64_t)n_tokens]);
        const char *args[3] = {s, p, replacements[dict_rand64(&rng) % 7]};
        char *ours = eval(probe, 3, args);
        char *theirs = stock(L, probe, 3, args);
        if (strcmp(ours, theirs) != 0)
            fail_msg("subject '%s' pattern '%s' repl '%s':\nours:  %s\nstock: %s", s, p, args[2],
                     ours, theirs);
        free(ours);
        free(theirs);
    }
    lua_close(L);
}

static void test_eval_is_the_same_from_run_to_run(void **state)
{
    (void)state;
    const char *script = "local t = {} for i = 1, 30 do t[{}] = i end local o = {} "
                         "for k, v in pairs(t) do o[#o + 1] = v end "
                         "return tostring({}) .. tostring(string.find) .. table.concat(o, ',') .. "
                         "collectgarbage('count')";
    char *first = eval(script, 0, NULL);
    assert_non_null(strstr(first, "table: 0x"));
    for (int i = 0; i < 3; i++) {
        char *again = eval(script, 0, NULL);
        assert_string_equal(first, again);
        free(again);
    }
    free(first);
}

/* The limits a run uses are the log entry's, not this build's. */
static void test_limits_come_from_the_entry(void **state)
{
    (void)state;
    const char *loop = "local n = 0 for i = 1, 200000 do n = n + 1 end return n";
    char *r = eval(loop, 0, NULL);
    assert_string_equal(r, ":200000\r\n");
    free(r);
    entry_budget = 100000;
    r = eval(loop, 0, NULL);
    assert_non_null(strstr(r, "BUSY script stopped"));
    assert_non_null(strstr(r, "about 100000 Lua"));
    free(r);
    entry_budget = 0;
    entry_memory = 4 << 20;
    r = eval("return #string.rep('x', 8000000)", 0, NULL);
    assert_non_null(strstr(r, "not enough memory (the Lua memory limit is 4 MB)"));
    free(r);
    entry_memory = 0;
    r = eval("return #string.rep('x', 8000000)", 0, NULL);
    assert_string_equal(r, ":8000000\r\n");
    free(r);
}

int main(void)
{
    store = store_new();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_is_deterministic),
        cmocka_unit_test(test_arena_limit_and_shrink),
        cmocka_unit_test(test_arena_image),
        cmocka_unit_test(test_patterns_match_stock_lua),
        cmocka_unit_test(test_eval_is_the_same_from_run_to_run),
        cmocka_unit_test(test_limits_come_from_the_entry),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    store_free(store);
    return rc;
}
