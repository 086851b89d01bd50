/* tests/unit/test_resp_parse.c — the request parser against Redis 7.0.
 *
 * Expected answers (argument splits, error texts, what counts as incomplete)
 * were checked against redis-server 7.0.15 with raw sockets. Incomplete
 * input is fed from a fresh heap copy on every call, so ASan catches any
 * pointer the parser keeps into a buffer the owner has since moved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "resp/parse.h"

#define S(lit) lit, sizeof(lit) - 1

struct arg {
    const char *p;
    size_t len;
};
#define A(lit) {lit, sizeof(lit) - 1}

static int setup(void **state)
{
    struct resp_parser *p = xmalloc(sizeof *p);
    resp_parser_init(p);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct resp_parser *p = *state;
    resp_parser_free(p);
    free(p);
    return 0;
}

/* Parses buf[0..len) from a private heap copy, freed before returning, so
 * results that point into it must be checked by the caller via `check`. */
static enum resp_status parse_copy(struct resp_parser *p, const char *buf,
                                   size_t len, char **copy_out)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, buf, len);
    enum resp_status st = resp_parse(p, copy, len);
    *copy_out = copy;
    return st;
}

static void assert_argv(const struct resp_parser *p, const struct arg *want,
                        int n)
{
    assert_int_equal(p->argc, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(p->argv[i].len, want[i].len);
        assert_memory_equal(p->argv[i].ptr, want[i].p, want[i].len);
    }
}

static void expect_command(struct resp_parser *p, const char *buf, size_t len,
                           size_t consumed, const struct arg *want, int n)
{
    assert_int_equal(resp_parse(p, buf, len), RESP_COMMAND);
    assert_int_equal(p->consumed, consumed);
    assert_argv(p, want, n);
}

static void expect_error(struct resp_parser *p, const char *buf, size_t len,
                         const char *error)
{
    assert_int_equal(resp_parse(p, buf, len), RESP_ERROR);
    assert_non_null(p->error);
    assert_string_equal(p->error, error);
    /* The parser is ready for a new command (a new connection's, say). */
    static const struct arg ping[] = {A("PING")};
    expect_command(p, S("*1\r\n$4\r\nPING\r\n"), 14, ping, 1);
}

/* ---- well-formed input ------------------------------------------------ */

static void test_multibulk(void **state)
{
    struct resp_parser *p = *state;
    static const struct arg get[] = {A("GET"), A("k")};
    expect_command(p, S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), 20, get, 2);
    static const struct arg empty_arg[] = {A("SET"), A("k"), A("")};
    expect_command(p, S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), 26,
                   empty_arg, 3);
}

static void test_inline(void **state)
{
    struct resp_parser *p = *state;
    static const struct arg get[] = {A("GET"), A("k")};
    expect_command(p, S("GET k\r\n"), 7, get, 2);
    expect_command(p, S("GET k\n"), 6, get, 2);
    expect_command(p, S("  GET \t  k  \r\n"), 14, get, 2);
    /* A lone '\r' inside the line separates arguments, as in Redis. */
    expect_command(p, S("GET\rk\r\n"), 7, get, 2);
    static const struct arg one[] = {A("PING")};
    expect_command(p, S("PING\r\n"), 6, one, 1);
}

static void test_binary_safe(void **state)
{
    struct resp_parser *p = *state;
    static const char cmd[] = "*3\r\n$3\r\nSET\r\n$4\r\n\r\n\0\r\r\n$5\r\na\0b\nc\r\n";
    static const struct arg want[] = {A("SET"), A("\r\n\0\r"), A("a\0b\nc")};
    expect_command(p, cmd, sizeof cmd - 1, sizeof cmd - 1, want, 3);
}

/* Redis skips the byte after a header's '\r' and the two bytes after a
 * payload without looking at them. redis-server answers this buffer with
 * "unknown command 'PIN'" and then runs "x*-1" as an inline command. */
static void test_unchecked_terminators(void **state)
{
    struct resp_parser *p = *state;
    static const struct arg pin[] = {A("PIN")};
    expect_command(p, S("*1\r\n$3\rxPING\rx*-1\r\n"), 13, pin, 1);
    static const struct arg x[] = {A("x*-1")};
    expect_command(p, S("x*-1\r\n"), 6, x, 1);
}

static void test_pipeline(void **state)
{
    struct resp_parser *p = *state;
    static const char in[] = "*1\r\n$4\r\nPING\r\n"
                             "ECHO hi\r\n"
                             "\r\n"
                             "*0\r\n"
                             "*2\r\n$4\r\nECHO\r\n$2\r\nyo\r\n"
                             "PING";
    size_t len = sizeof in - 1, off = 0;

    static const struct arg a1[] = {A("PING")};
    expect_command(p, in + off, len - off, 14, a1, 1);
    off += p->consumed;
    static const struct arg a2[] = {A("ECHO"), A("hi")};
    expect_command(p, in + off, len - off, 9, a2, 2);
    off += p->consumed;
    assert_int_equal(resp_parse(p, in + off, len - off), RESP_EMPTY);
    assert_int_equal(p->consumed, 2);
    off += p->consumed;
    assert_int_equal(resp_parse(p, in + off, len - off), RESP_EMPTY);
    assert_int_equal(p->consumed, 4);
    off += p->consumed;
    static const struct arg a3[] = {A("ECHO"), A("yo")};
    expect_command(p, in + off, len - off, 22, a3, 2);
    off += p->consumed;
    assert_int_equal(resp_parse(p, in + off, len - off), RESP_NEED_MORE);
    assert_int_equal(off, len - 4);
}

static void test_empty(void **state)
{
    struct resp_parser *p = *state;
    static const struct { const char *in; size_t len, consumed; } cases[] = {
        {S("\r\n"), 2},       {S("\n"), 1},          {S(" \t \r\n"), 5},
        {S("\v\f\n"), 3},     {S("*0\r\n"), 4},      {S("*-1\r\n"), 5},
        {S("*-5\r\nX"), 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(resp_parse(p, cases[i].in, cases[i].len), RESP_EMPTY);
        assert_int_equal(p->consumed, cases[i].consumed);
        assert_int_equal(p->argc, 0);
    }
}

/* ---- incremental input ------------------------------------------------ */

struct split_case {
    const char *in;
    size_t len;
    enum resp_status status;
    size_t consumed;
    struct arg argv[4];
    int argc;
};

static const struct split_case split_cases[] = {
    {S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), RESP_COMMAND, 20,
     {A("GET"), A("k")}, 2},
    {S("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$11\r\nx\r\ny\0z\r\n\r\nw\r\n"),
     RESP_COMMAND, 37, {A("SET"), A(""), A("x\r\ny\0z\r\n\r\nw")}, 3},
    {S("*1\r\n$10\r\n0123456789\r\n"), RESP_COMMAND, 21, {A("0123456789")}, 1},
    {S("SET \"a b\" 'c\\'d'\r\n"), RESP_COMMAND, 18,
     {A("SET"), A("a b"), A("c'd")}, 3},
    {S("PING\n"), RESP_COMMAND, 5, {A("PING")}, 1},
    {S("*0\r\n"), RESP_EMPTY, 4, {{NULL, 0}}, 0},
    {S("  \r\n"), RESP_EMPTY, 4, {{NULL, 0}}, 0},
};

static void check_split(struct resp_parser *p, const struct split_case *c,
                        const char *tail, size_t tail_len)
{
    char *copy = NULL;
    for (size_t k = 0; k < c->len; k++) {
        enum resp_status st = parse_copy(p, c->in, k, &copy);
        free(copy);
        assert_int_equal(st, RESP_NEED_MORE);
    }
    size_t total = c->len + tail_len;
    char *full = xmalloc(total);
    memcpy(full, c->in, c->len);
    memcpy(full + c->len, tail, tail_len);
    assert_int_equal(resp_parse(p, full, total), c->status);
    assert_int_equal(p->consumed, c->consumed);
    assert_argv(p, c->argv, c->argc);
    free(full);
}

/* Every command cut at every byte: NEED_MORE until the last byte, then the
 * exact result, whether or not the next command follows in the buffer. */
static void test_split_every_offset(void **state)
{
    struct resp_parser *p = *state;
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
        check_split(p, &split_cases[i], "", 0);
        check_split(p, &split_cases[i], S("*1\r\n$4\r\nPING\r\n"));
    }
}

/* Progress is kept: completed arguments are not parsed again. */
static void test_progress_kept(void **state)
{
    struct resp_parser *p = *state;
    static const char in[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    char *copy;
    assert_int_equal(parse_copy(p, in, 15, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(p->args_read, 1);
    assert_int_equal(p->pos, 13);
    assert_int_equal(parse_copy(p, in, 20, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(p->args_read, 2);
    /* If the parser re-read its progress from the bytes, this would fail:
     * the first two arguments it already took are now garbage. */
    char *mangled = xmemdup(in, sizeof in - 1);
    memset(mangled + 4, '#', 16);
    assert_int_equal(resp_parse(p, mangled, sizeof in - 1), RESP_COMMAND);
    assert_int_equal(p->argc, 3);
    assert_int_equal(p->argv[2].len, 1);
    assert_memory_equal(p->argv[2].ptr, "v", 1);
    assert_ptr_equal(p->argv[0].ptr, mangled + 8);
    free(mangled);
}

/* ---- protocol errors -------------------------------------------------- */

static char *repeat(char c, size_t n, const char *prefix)
{
    size_t plen = strlen(prefix);
    char *s = xmalloc(plen + n);
    memcpy(s, prefix, plen);
    memset(s + plen, c, n);
    return s;
}

static void test_error_mbulk_count_too_big(void **state)
{
    struct resp_parser *p = *state;
    /* Exactly RESP_INLINE_MAX bytes without '\r' is still incomplete. */
    char *s = repeat('1', RESP_INLINE_MAX - 1, "*");
    assert_int_equal(resp_parse(p, s, RESP_INLINE_MAX), RESP_NEED_MORE);
    free(s);
    s = repeat('1', RESP_INLINE_MAX, "*");
    expect_error(p, s, RESP_INLINE_MAX + 1,
                 "ERR Protocol error: too big mbulk count string");
    free(s);
}

static void test_error_mbulk_count_invalid(void **state)
{
    struct resp_parser *p = *state;
    static const char *bad[] = {
        "*abc\r\n", "*\r\n",    "* 1\r\n",   "*+1\r\n",  "*01\r\n", "*-0\r\n",
        "*1 \r\n",  "*1x\r\n",  "*2147483648\r\n",
        "*99999999999999999999\r\n", "*-\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(p, bad[i], strlen(bad[i]),
                     "ERR Protocol error: invalid multibulk length");
    assert_int_equal(resp_parse(p, S("*2147483647\r\n")), RESP_NEED_MORE);
    resp_parser_free(p);
    resp_parser_init(p);
    p->max_args = 3;
    assert_int_equal(resp_parse(p, S("*3\r\n")), RESP_NEED_MORE);
    resp_parser_free(p);
    resp_parser_init(p);
    p->max_args = 3;
    expect_error(p, S("*4\r\n"), "ERR Protocol error: invalid multibulk length");
}

static void test_error_expected_dollar(void **state)
{
    struct resp_parser *p = *state;
    expect_error(p, S("*1\r\nX\r\n"),
                 "ERR Protocol error: expected '$', got 'X'");
    expect_error(p, S("*3\r\n*1\r\n"),
                 "ERR Protocol error: expected '$', got '*'");
    expect_error(p, S("*2\r\n$1\r\na\r\n:1\r\n"),
                 "ERR Protocol error: expected '$', got ':'");
    /* Redis turns CR/LF in the message into spaces. */
    expect_error(p, S("*1\r\n\r\n"),
                 "ERR Protocol error: expected '$', got ' '");
    expect_error(p, S("*1\r\n\nx\r\n"),
                 "ERR Protocol error: expected '$', got ' '");
    /* Like Redis, the check waits for the whole header line. */
    assert_int_equal(resp_parse(p, S("*1\r\nX")), RESP_NEED_MORE);
    assert_int_equal(resp_parse(p, S("*1\r\nX\r")), RESP_NEED_MORE);
    assert_int_equal(resp_parse(p, S("*1\r\nX\r\n")), RESP_ERROR);
    assert_int_equal(p->consumed, 4);
}

static void test_error_bulk_count_too_big(void **state)
{
    struct resp_parser *p = *state;
    /* The limit counts from the start of the "$" line. */
    char *s = repeat('1', RESP_INLINE_MAX - 1, "*1\r\n$");
    assert_int_equal(resp_parse(p, s, 4 + RESP_INLINE_MAX), RESP_NEED_MORE);
    free(s);
    resp_parser_free(p);
    resp_parser_init(p);
    s = repeat('1', RESP_INLINE_MAX, "*1\r\n$");
    expect_error(p, s, 4 + RESP_INLINE_MAX + 1,
                 "ERR Protocol error: too big bulk count string");
    free(s);
}

static void test_error_bulk_length(void **state)
{
    struct resp_parser *p = *state;
    static const char *bad[] = {
        "*1\r\n$-1\r\n", "*1\r\n$abc\r\n", "*1\r\n$01\r\n",   "*1\r\n$-0\r\n",
        "*1\r\n$\r\n",   "*1\r\n$ 1\r\n",  "*1\r\n$+1\r\n",   "*1\r\n$1 \r\n",
        "*1\r\n$536870913\r\n", "*2\r\n$1\r\na\r\n$x\r\n",
        "*1\r\n$99999999999999999999\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(p, bad[i], strlen(bad[i]),
                     "ERR Protocol error: invalid bulk length");
    /* The default limit itself is allowed. */
    assert_int_equal(resp_parse(p, S("*1\r\n$536870912\r\n")), RESP_NEED_MORE);
    resp_parser_free(p);
    resp_parser_init(p);
    p->max_bulk_len = 10;
    static const struct arg ten[] = {A("0123456789")};
    expect_command(p, S("*1\r\n$10\r\n0123456789\r\n"), 21, ten, 1);
    expect_error(p, S("*1\r\n$11\r\n"), "ERR Protocol error: invalid bulk length");
}

static void test_error_inline_too_big(void **state)
{
    struct resp_parser *p = *state;
    char *s = repeat('a', RESP_INLINE_MAX, "");
    assert_int_equal(resp_parse(p, s, RESP_INLINE_MAX), RESP_NEED_MORE);
    free(s);
    resp_parser_free(p);
    resp_parser_init(p);
    s = repeat('a', 70 * 1024, "SET k ");
    expect_error(p, s, 6 + 70 * 1024,
                 "ERR Protocol error: too big inline request");
    free(s);
}

static void test_error_unbalanced_quotes(void **state)
{
    struct resp_parser *p = *state;
    static const char *bad[] = {
        "SET \"a\r\n", "SET 'a\r\n",    "SET \"a\"b\r\n", "SET 'a'b\r\n",
        "SET a\"b c\"d\r\n", "SET \"a\\\"\r\n", "SET 'a\\'\r\n",
        "SET \"a\\\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(p, bad[i], strlen(bad[i]),
                     "ERR Protocol error: unbalanced quotes in request");
}

/* strchr() stops at a NUL, so in Redis a NUL ahead of the line terminator
 * hides it: the command never completes and only the length limit ends it. */
static void test_nul_hides_terminator(void **state)
{
    struct resp_parser *p = *state;
    assert_int_equal(resp_parse(p, S("ECHO a\0b\r\n")), RESP_NEED_MORE);
    /* Remembered, so later calls do not search the line again. */
    assert_true(p->line_blocked);
    char *s = repeat('x', RESP_INLINE_MAX + 10, "");
    memcpy(s, "ECHO a\0b\r\n", 10);
    expect_error(p, s, 10 + RESP_INLINE_MAX,
                 "ERR Protocol error: too big inline request");
    free(s);
    assert_int_equal(resp_parse(p, S("*1\r\n$\0\r\n")), RESP_NEED_MORE);
    resp_parser_free(p);
    resp_parser_init(p);
    assert_int_equal(resp_parse(p, S("*1\0\r\n")), RESP_NEED_MORE);
}

/* ---- resource bounds -------------------------------------------------- */

static void test_huge_count_small_argv(void **state)
{
    struct resp_parser *p = *state;
    assert_int_equal(resp_parse(p, S("*1000000000\r\n$1\r\na\r\n")),
                     RESP_NEED_MORE);
    assert_true(p->argv_cap >= 1);
    assert_true(p->argv_cap <= 16);
    assert_int_equal(p->args_read, 1);
}

/* argv grows as arguments arrive, past any initial size. */
static void test_many_args(void **state)
{
    struct resp_parser *p = *state;
    enum { N = 5000 };
    struct buf in = BUF_INIT;
    buf_printf(&in, "*%d\r\n", N);
    for (int i = 0; i < N; i++) {
        char num[16];
        int n = snprintf(num, sizeof num, "%d", i);
        buf_printf(&in, "$%d\r\n%s\r\n", n, num);
    }
    assert_int_equal(resp_parse(p, in.data, in.len), RESP_COMMAND);
    assert_int_equal(p->consumed, in.len);
    assert_int_equal(p->argc, N);
    assert_true(p->argv_cap <= 2 * N);
    assert_memory_equal(p->argv[4321].ptr, "4321", 4);
    /* The big array is dropped when the next command starts. */
    static const struct arg ping[] = {A("PING")};
    expect_command(p, S("PING\r\n"), 6, ping, 1);
    assert_true(p->argv_cap <= 1024);
    buf_free(&in);
}

static void test_wanted(void **state)
{
    struct resp_parser *p = *state;
    enum { BIG = 100000 };
    char *s = repeat('v', BIG + 2, "*2\r\n$3\r\nSET\r\n$100000\r\n");
    size_t head = 22, total = head + BIG + 2;
    char *copy;
    assert_int_equal(parse_copy(p, s, 4, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(resp_parser_wanted(p), 0);
    assert_int_equal(parse_copy(p, s, 17, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(resp_parser_wanted(p), 0);
    assert_int_equal(parse_copy(p, s, head, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(resp_parser_wanted(p), total);
    assert_int_equal(parse_copy(p, s, total - 1, &copy), RESP_NEED_MORE);
    free(copy);
    assert_int_equal(resp_parser_wanted(p), total);
    assert_int_equal(resp_parse(p, s, total), RESP_COMMAND);
    assert_int_equal(p->argv[1].len, BIG);
    assert_int_equal(resp_parser_wanted(p), 0);
    free(s);

    /* The largest allowed bulk: known size, nothing allocated for it. */
    assert_int_equal(resp_parse(p, S("*1\r\n$536870912\r\n")), RESP_NEED_MORE);
    assert_int_equal(resp_parser_wanted(p), 16 + 536870912ull + 2);
    assert_true(p->inline_args.cap <= 2 * RESP_INLINE_MAX);
    assert_true(p->argv_cap <= 16);
}

/* ---- inline quoting --------------------------------------------------- */

static void test_inline_quoting(void **state)
{
    struct resp_parser *p = *state;
    static const struct {
        const char *in;
        size_t len;
        struct arg argv[3];
        int argc;
    } cases[] = {
        {S("ECHO \"\\x41\\q\\\\\\\"\\x4\\xZZ\\n\"\n"),
         {A("ECHO"), A("Aq\\\"x4xZZ\n")}, 2},
        {S("ECHO \"\\n\\r\\t\\b\\a\\x00\\xfF\"\n"),
         {A("ECHO"), A("\n\r\t\b\a\0\xff")}, 2},
        {S("ECHO 'a\\'b\\n\\\\x'\n"), {A("ECHO"), A("a'b\\n\\\\x")}, 2},
        {S("ECHO ab\"c d\"\n"), {A("ECHO"), A("abc d")}, 2},
        {S("ECHO ab'c \" d'\n"), {A("ECHO"), A("abc \" d")}, 2},
        {S("ECHO \"\" ''\n"), {A("ECHO"), A(""), A("")}, 3},
        {S("ECHO a\vb\n"), {A("ECHO"), A("a\vb")}, 2},
        {S("\vECHO\fa\r\n"), {A("ECHO\fa")}, 1},
        {S("ECHO \"a\"\v\r\n"), {A("ECHO"), A("a")}, 2},
        {S("ECHO \"a\"\t'b' \r\n"), {A("ECHO"), A("a"), A("b")}, 3},
        {S("ECHO \"x\r\n"), {{NULL, 0}}, -1},
        {S("ECHO \xc3\xa9t\xe9\r\n"), {A("ECHO"), A("\xc3\xa9t\xe9")}, 2},
        /* "\r\r\n": the line ends at the last "\r\n"; the other \r splits. */
        {S("ECHO a\r\r\n"), {A("ECHO"), A("a")}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum resp_status st = resp_parse(p, cases[i].in, cases[i].len);
        if (cases[i].argc < 0) {
            assert_int_equal(st, RESP_ERROR);
            continue;
        }
        assert_int_equal(st, RESP_COMMAND);
        assert_int_equal(p->consumed, cases[i].len);
        assert_argv(p, cases[i].argv, cases[i].argc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_multibulk),
        T(test_inline),
        T(test_binary_safe),
        T(test_unchecked_terminators),
        T(test_pipeline),
        T(test_empty),
        T(test_split_every_offset),
        T(test_progress_kept),
        T(test_error_mbulk_count_too_big),
        T(test_error_mbulk_count_invalid),
        T(test_error_expected_dollar),
        T(test_error_bulk_count_too_big),
        T(test_error_bulk_length),
        T(test_error_inline_too_big),
        T(test_error_unbalanced_quotes),
        T(test_nul_hides_terminator),
        T(test_huge_count_small_argv),
        T(test_many_args),
        T(test_wanted),
        T(test_inline_quoting),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
