/* tests/unit/test_resp_write.c — the reply writer, byte for byte.
 *
 * Every function is checked in RESP2 and RESP3 against the exact bytes
 * redis-server 7.0 sends for the same value (doubles and error texts were
 * checked against a running 7.0.15). */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resp/write.h"

struct fixture {
    struct buf buf;
    struct resp_out out2; /* RESP2 */
    struct resp_out out3; /* RESP3 */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    buf_init(&f->buf);
    f->out2 = (struct resp_out){&f->buf, 2};
    f->out3 = (struct resp_out){&f->buf, 3};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    buf_free(&f->buf);
    free(f);
    return 0;
}

/* Checks the buffer holds exactly want[0..len) and empties it. */
static void expect_bytes(struct buf *b, const char *want, size_t len)
{
    if (b->len != len || memcmp(b->data, want, len) != 0) {
        print_error("want %zu bytes \"%.*s\"\n got %zu bytes \"%.*s\"\n", len,
                    (int)len, want, b->len, (int)b->len, b->data);
        fail();
    }
    buf_clear(b);
}
#define EXPECT(f, lit) expect_bytes(&(f)->buf, lit, sizeof(lit) - 1)

static void test_simple_and_ok(void **state)
{
    struct fixture *f = *state;
    resp_simple(&f->out2, "PONG");
    EXPECT(f, "+PONG\r\n");
    resp_simple(&f->out3, "");
    EXPECT(f, "+\r\n");
    resp_ok(&f->out2);
    EXPECT(f, "+OK\r\n");
    resp_ok(&f->out3);
    EXPECT(f, "+OK\r\n");
}

static void test_error_codes(void **state)
{
    struct fixture *f = *state;
    resp_error(&f->out2, "ERR unknown command");
    EXPECT(f, "-ERR unknown command\r\n");
    resp_error(&f->out3, "WRONGTYPE Operation against a key");
    EXPECT(f, "-WRONGTYPE Operation against a key\r\n");
    resp_error(&f->out2, "NOSCRIPT No matching script");
    EXPECT(f, "-NOSCRIPT No matching script\r\n");
    resp_error(&f->out2, "value is not an integer or out of range");
    EXPECT(f, "-ERR value is not an integer or out of range\r\n");
    /* Not a code: mixed case, no space after the word, digits first. */
    resp_error(&f->out2, "Err lower");
    EXPECT(f, "-ERR Err lower\r\n");
    resp_error(&f->out2, "ERR");
    EXPECT(f, "-ERR ERR\r\n");
    resp_error(&f->out2, "ERR:x y");
    EXPECT(f, "-ERR ERR:x y\r\n");
    resp_error(&f->out2, " ERR x");
    EXPECT(f, "-ERR  ERR x\r\n");
    resp_error(&f->out2, "");
    EXPECT(f, "-ERR \r\n");
    /* A leading '-' (Redis's own convention for "code given") is dropped. */
    resp_error(&f->out2, "-NOSCRIPT No matching script");
    EXPECT(f, "-NOSCRIPT No matching script\r\n");
    resp_error(&f->out2, "-no code here");
    EXPECT(f, "-ERR no code here\r\n");
}

static void test_error_sanitised(void **state)
{
    struct fixture *f = *state;
    resp_error(&f->out2, "ERR bad\r\nthing\n\r");
    EXPECT(f, "-ERR bad  thing  \r\n");
    resp_error(&f->out3, "line one\nline two");
    EXPECT(f, "-ERR line one line two\r\n");
}

static void test_errorf(void **state)
{
    struct fixture *f = *state;
    resp_errorf(&f->out2, "unknown command '%s', with args beginning with: %s",
                "FOO", "");
    EXPECT(f, "-ERR unknown command 'FOO', with args beginning with: \r\n");
    resp_errorf(&f->out3, "WRONGTYPE %d\r%d", 1, 2);
    EXPECT(f, "-WRONGTYPE 1 2\r\n");
    /* Longer than any stack buffer the implementation might use. */
    char arg[1001];
    memset(arg, 'x', 1000);
    arg[1000] = '\0';
    resp_errorf(&f->out2, "BIG %s!", arg);
    assert_int_equal(f->buf.len, 1 + 4 + 1000 + 1 + 2);
    assert_memory_equal(f->buf.data, "-BIG xxx", 8);
    assert_memory_equal(f->buf.data + f->buf.len - 4, "x!\r\n", 4);
    buf_clear(&f->buf);
}

static void test_int(void **state)
{
    struct fixture *f = *state;
    resp_int(&f->out2, 0);
    EXPECT(f, ":0\r\n");
    resp_int(&f->out3, -42);
    EXPECT(f, ":-42\r\n");
    resp_int(&f->out2, LLONG_MAX);
    EXPECT(f, ":9223372036854775807\r\n");
    resp_int(&f->out3, LLONG_MIN);
    EXPECT(f, ":-9223372036854775808\r\n");
}

static void test_bulk(void **state)
{
    struct fixture *f = *state;
    resp_bulk(&f->out2, "a\r\n\0b", 5);
    EXPECT(f, "$5\r\na\r\n\0b\r\n");
    resp_bulk(&f->out3, "", 0);
    EXPECT(f, "$0\r\n\r\n");
    resp_bulk(&f->out3, NULL, 0);
    EXPECT(f, "$0\r\n\r\n");
    resp_bulk_str(&f->out2, "hello");
    EXPECT(f, "$5\r\nhello\r\n");
    resp_bulk_ll(&f->out3, -123);
    EXPECT(f, "$4\r\n-123\r\n");
    resp_bulk_ll(&f->out2, LLONG_MIN);
    EXPECT(f, "$20\r\n-9223372036854775808\r\n");

    enum { BIG = 100000 };
    char *big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'z', BIG);
    resp_bulk(&f->out2, big, BIG);
    assert_int_equal(f->buf.len, 9 + BIG + 2);
    assert_memory_equal(f->buf.data, "$100000\r\n", 9);
    assert_memory_equal(f->buf.data + 9, big, BIG);
    assert_memory_equal(f->buf.data + 9 + BIG, "\r\n", 2);
    buf_clear(&f->buf);
    free(big);
}

static void test_null(void **state)
{
    struct fixture *f = *state;
    resp_null(&f->out2);
    EXPECT(f, "$-1\r\n");
    resp_null(&f->out3);
    EXPECT(f, "_\r\n");
    resp_null_array(&f->out2);
    EXPECT(f, "*-1\r\n");
    resp_null_array(&f->out3);
    EXPECT(f, "_\r\n");
}

static void test_aggregates(void **state)
{
    struct fixture *f = *state;
    resp_array(&f->out2, 3);
    EXPECT(f, "*3\r\n");
    resp_array(&f->out3, 0);
    EXPECT(f, "*0\r\n");
    resp_map(&f->out2, 2);
    EXPECT(f, "*4\r\n");
    resp_map(&f->out3, 2);
    EXPECT(f, "%2\r\n");
    resp_map(&f->out2, 0);
    EXPECT(f, "*0\r\n");
    resp_set(&f->out2, 5);
    EXPECT(f, "*5\r\n");
    resp_set(&f->out3, 5);
    EXPECT(f, "~5\r\n");
    resp_push(&f->out2, 3);
    EXPECT(f, "*3\r\n");
    resp_push(&f->out3, 3);
    EXPECT(f, ">3\r\n");
    resp_array(&f->out3, 1234567890123ll);
    EXPECT(f, "*1234567890123\r\n");
    resp_map(&f->out2, LLONG_MAX / 2);
    EXPECT(f, "*9223372036854775806\r\n");
}

static void test_bool(void **state)
{
    struct fixture *f = *state;
    resp_bool(&f->out2, 1);
    EXPECT(f, ":1\r\n");
    resp_bool(&f->out2, 0);
    EXPECT(f, ":0\r\n");
    resp_bool(&f->out3, 7);
    EXPECT(f, "#t\r\n");
    resp_bool(&f->out3, 0);
    EXPECT(f, "#f\r\n");
}

static void test_double(void **state)
{
    struct fixture *f = *state;
    resp_double(&f->out2, 1.5);
    EXPECT(f, "$3\r\n1.5\r\n");
    resp_double(&f->out3, 1.5);
    EXPECT(f, ",1.5\r\n");
    resp_double(&f->out2, 3);
    EXPECT(f, "$1\r\n3\r\n");
    resp_double(&f->out3, 3);
    EXPECT(f, ",3\r\n");
    resp_double(&f->out2, 0.1);
    EXPECT(f, "$19\r\n0.10000000000000001\r\n");
    resp_double(&f->out3, 0.1);
    EXPECT(f, ",0.10000000000000001\r\n");
    /* Redis 7.0 (skiplist zset, ZSCORE) answers "-0" for a -0 score. */
    resp_double(&f->out2, -0.0);
    EXPECT(f, "$2\r\n-0\r\n");
    resp_double(&f->out3, -0.0);
    EXPECT(f, ",-0\r\n");
    resp_double(&f->out2, 0.0);
    EXPECT(f, "$1\r\n0\r\n");
    resp_double(&f->out2, INFINITY);
    EXPECT(f, "$3\r\ninf\r\n");
    resp_double(&f->out3, INFINITY);
    EXPECT(f, ",inf\r\n");
    resp_double(&f->out2, -INFINITY);
    EXPECT(f, "$4\r\n-inf\r\n");
    resp_double(&f->out3, -INFINITY);
    EXPECT(f, ",-inf\r\n");
    resp_double(&f->out2, NAN);
    EXPECT(f, "$3\r\nnan\r\n");
    resp_double(&f->out3, -NAN);
    EXPECT(f, ",nan\r\n");
    resp_double(&f->out2, 1e300);
    EXPECT(f, "$23\r\n1.0000000000000001e+300\r\n");
    resp_double(&f->out3, 1e17);
    EXPECT(f, ",1e+17\r\n");
    resp_double(&f->out2, 123456789012345678.0);
    EXPECT(f, "$22\r\n1.2345678901234568e+17\r\n");
    resp_double(&f->out3, -2.5e-10);
    EXPECT(f, ",-2.5000000000000002e-10\r\n");
}

static void test_verbatim(void **state)
{
    struct fixture *f = *state;
    resp_verbatim(&f->out3, "hello", 5);
    EXPECT(f, "=9\r\ntxt:hello\r\n");
    resp_verbatim(&f->out2, "hello", 5);
    EXPECT(f, "$5\r\nhello\r\n");
    resp_verbatim(&f->out3, "a\r\nb", 4);
    EXPECT(f, "=8\r\ntxt:a\r\nb\r\n");
    resp_verbatim(&f->out3, "", 0);
    EXPECT(f, "=4\r\ntxt:\r\n");
}

static void test_bignum(void **state)
{
    struct fixture *f = *state;
    static const char n[] = "3492890328409238509324850943850943825024385";
    resp_bignum(&f->out3, n, sizeof n - 1);
    EXPECT(f, "(3492890328409238509324850943850943825024385\r\n");
    resp_bignum(&f->out2, n, sizeof n - 1);
    EXPECT(f, "$43\r\n3492890328409238509324850943850943825024385\r\n");
    resp_bignum(&f->out3, "-1", 2);
    EXPECT(f, "(-1\r\n");
}

static void test_raw(void **state)
{
    struct fixture *f = *state;
    resp_raw(&f->out2, "+x\r\n", 4);
    resp_raw(&f->out3, NULL, 0);
    EXPECT(f, "+x\r\n");
}

/* ---- deferred lengths ------------------------------------------------- */

static void test_deferred_short(void **state)
{
    struct fixture *f = *state;
    resp_simple(&f->out2, "before");
    size_t h = resp_defer_len(&f->out2);
    resp_bulk_str(&f->out2, "a");
    resp_bulk_str(&f->out2, "b");
    resp_set_deferred_len(&f->out2, h, '*', 2);
    resp_simple(&f->out2, "after");
    EXPECT(f, "+before\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n+after\r\n");
}

static void test_deferred_long(void **state)
{
    struct fixture *f = *state;
    size_t h = resp_defer_len(&f->out3);
    resp_int(&f->out3, 1);
    resp_set_deferred_len(&f->out3, h, '*', LLONG_MAX);
    EXPECT(f, "*9223372036854775807\r\n:1\r\n");

    h = resp_defer_len(&f->out2);
    resp_int(&f->out2, 1);
    resp_set_deferred_len(&f->out2, h, '%', LLONG_MAX / 2);
    EXPECT(f, "*9223372036854775806\r\n:1\r\n");

    h = resp_defer_len(&f->out3);
    resp_set_deferred_len(&f->out3, h, '~', 1234567890123ll);
    EXPECT(f, "~1234567890123\r\n");
}

static void test_deferred_empty(void **state)
{
    struct fixture *f = *state;
    size_t h = resp_defer_len(&f->out2);
    resp_set_deferred_len(&f->out2, h, '*', 0);
    EXPECT(f, "*0\r\n");
    h = resp_defer_len(&f->out3);
    resp_set_deferred_len(&f->out3, h, '%', 0);
    EXPECT(f, "%0\r\n");
}

static void test_deferred_kinds(void **state)
{
    struct fixture *f = *state;
    static const struct {
        char kind;
        int proto;
        const char *want;
    } cases[] = {
        {'*', 2, "*2\r\n:1\r\n:2\r\n"}, {'*', 3, "*2\r\n:1\r\n:2\r\n"},
        {'%', 2, "*4\r\n:1\r\n:2\r\n"}, {'%', 3, "%2\r\n:1\r\n:2\r\n"},
        {'~', 2, "*2\r\n:1\r\n:2\r\n"}, {'~', 3, "~2\r\n:1\r\n:2\r\n"},
        {'>', 2, "*2\r\n:1\r\n:2\r\n"}, {'>', 3, ">2\r\n:1\r\n:2\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resp_out *o = cases[i].proto == 2 ? &f->out2 : &f->out3;
        size_t h = resp_defer_len(o);
        resp_int(o, 1);
        resp_int(o, 2);
        /* For '%' the "2" counts pairs; the body here is just filler. */
        resp_set_deferred_len(o, h, cases[i].kind, 2);
        expect_bytes(&f->buf, cases[i].want, strlen(cases[i].want));
    }
}

/* Nested deferred lengths, inner filled before outer, with a body large
 * enough that moving it crosses buffer growth. */
static void test_deferred_nested(void **state)
{
    struct fixture *f = *state;
    size_t outer = resp_defer_len(&f->out3);
    resp_bulk_str(&f->out3, "k");
    size_t inner = resp_defer_len(&f->out3);
    for (int i = 0; i < 1000; i++) resp_int(&f->out3, i);
    resp_set_deferred_len(&f->out3, inner, '*', 1000);
    resp_bulk_str(&f->out3, "k2");
    size_t inner2 = resp_defer_len(&f->out3);
    resp_set_deferred_len(&f->out3, inner2, '~', 0);
    resp_set_deferred_len(&f->out3, outer, '%', 2);

    struct buf want = BUF_INIT;
    buf_append_str(&want, "%2\r\n$1\r\nk\r\n*1000\r\n");
    for (int i = 0; i < 1000; i++) buf_printf(&want, ":%d\r\n", i);
    buf_append_str(&want, "$2\r\nk2\r\n~0\r\n");
    expect_bytes(&f->buf, want.data, want.len);
    buf_free(&want);
}

/* ---- resp_ll_to_str --------------------------------------------------- */

static void check_ll(long long v)
{
    char got[21], want[32];
    memset(got, '#', sizeof got);
    size_t len = resp_ll_to_str(got, v);
    int wlen = snprintf(want, sizeof want, "%lld", v);
    assert_int_equal(len, (size_t)wlen);
    assert_string_equal(got, want);
}

static void test_ll_to_str(void **state)
{
    (void)state;
    char out[21];
    assert_int_equal(resp_ll_to_str(out, 0), 1);
    assert_string_equal(out, "0");
    assert_int_equal(resp_ll_to_str(out, LLONG_MIN), 20);
    assert_string_equal(out, "-9223372036854775808");
    assert_int_equal(resp_ll_to_str(out, LLONG_MAX), 19);
    assert_string_equal(out, "9223372036854775807");

    static const long long edges[] = {
        1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 1000000000,
        4294967295ll, 4294967296ll, 999999999999999999ll,
        1000000000000000000ll, LLONG_MAX - 1, LLONG_MIN + 1,
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_ll(edges[i]);
        check_ll(-edges[i]);
    }
    /* Every power of ten and its neighbours, then a pseudo-random sweep. */
    for (long long p = 1; p <= LLONG_MAX / 10; p *= 10) {
        check_ll(p - 1);
        check_ll(p);
        check_ll(p + 1);
        check_ll(-p);
    }
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_ll((long long)(x >> (i % 64)));
        check_ll((long long)x);
    }
}

/* A bounded buffer: what would take it past its limit is never written,
 * the buffer is marked over, and nothing is written after that. */
static void test_limit(void **state)
{
    struct fixture *f = *state;
    f->buf.limit = 32;
    resp_bulk(&f->out2, "hello", 5);
    assert_int_equal(f->buf.len, 11);
    assert_false(f->buf.over);
    char big[100];
    memset(big, 'x', sizeof big);
    resp_bulk(&f->out2, big, sizeof big);
    assert_true(f->buf.over);
    assert_int_equal(f->buf.len, 11); /* not a byte of it */
    resp_ok(&f->out2);
    resp_int(&f->out3, 1);
    assert_int_equal(f->buf.len, 11); /* over: nothing more */
    buf_clear(&f->buf);
    assert_false(f->buf.over);
    assert_int_equal(f->buf.limit, 32);

    /* A deferred aggregate whose elements do not fit is left unfilled. */
    size_t h = resp_defer_len(&f->out2);
    for (int i = 0; i < 10; i++) resp_bulk(&f->out2, "abc", 3);
    assert_true(f->buf.over);
    resp_set_deferred_len(&f->out2, h, '*', 10);
    assert_true(f->buf.len <= 32);
    buf_free(&f->buf);
    assert_false(f->buf.over);
    assert_int_equal(f->buf.limit, 32);
    f->buf.limit = 0;
    resp_bulk(&f->out2, big, sizeof big); /* no limit: all of it */
    assert_int_equal(f->buf.len, 108);
    buf_clear(&f->buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_simple_and_ok),
        T(test_error_codes),
        T(test_error_sanitised),
        T(test_errorf),
        T(test_int),
        T(test_bulk),
        T(test_null),
        T(test_aggregates),
        T(test_bool),
        T(test_double),
        T(test_verbatim),
        T(test_bignum),
        T(test_raw),
        T(test_deferred_short),
        T(test_deferred_long),
        T(test_deferred_empty),
        T(test_deferred_kinds),
        T(test_deferred_nested),
        T(test_ll_to_str),
        T(test_limit),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
