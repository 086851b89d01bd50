/* tests/unit/test_resp_reply.c — reading replies (resp/reply.h): where a
 * reply ends, at every split, for the shapes a node answers with (the
 * PARLEY.PEER HELLO array, PARLEY.FWD's array of raw replies, errors) and
 * RESP3's; malformed lines are refused rather than waited for. Every
 * prefix is read from a fresh heap copy, so ASan catches a read past len. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "resp/reply.h"

#define MAX_BULK (1ll << 30)

/* The whole of `text` is one reply: every shorter prefix is incomplete,
 * and trailing bytes are not counted. */
static void assert_one_reply(const char *text)
{
    size_t len = strlen(text);
    for (size_t cut = 0; cut < len; cut++) {
        char *copy = xmalloc(cut ? cut : 1);
        memcpy(copy, text, cut);
        assert_int_equal(resp_reply_span(copy, cut, MAX_BULK), 0);
        free(copy);
    }
    char *more = xmalloc(len + 5);
    memcpy(more, text, len);
    memcpy(more + len, "+OK\r\n", 5);
    assert_int_equal(resp_reply_span(more, len, MAX_BULK), (long long)len);
    assert_int_equal(resp_reply_span(more, len + 5, MAX_BULK), (long long)len);
    free(more);
}

static void test_simple_types(void **state)
{
    (void)state;
    assert_one_reply("+OK\r\n");
    assert_one_reply("-ERR no leader is known right now, try again\r\n");
    assert_one_reply(":-12\r\n");
    assert_one_reply("$-1\r\n");
    assert_one_reply("$0\r\n\r\n");
    assert_one_reply("$5\r\nhe\r\no\r\n"); /* a CRLF inside a bulk is data */
    assert_one_reply("*-1\r\n");
    assert_one_reply("*0\r\n");
}

static void test_node_replies(void **state)
{
    (void)state;
    /* PARLEY.PEER HELLO's answer, and a PARLEY.FWD answer holding raw replies. */
    assert_one_reply("*3\r\n$4\r\nabcd\r\n$1\r\n2\r\n$4\r\nwxyz\r\n");
    assert_one_reply("*2\r\n$5\r\n+OK\r\n\r\n$13\r\n*1\r\n$3\r\nabc\r\n\r\n");
}

static void test_nested_and_resp3(void **state)
{
    (void)state;
    assert_one_reply("*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n$1\r\nx\r\n");
    assert_one_reply("%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n_\r\n");
    assert_one_reply(">2\r\n+message\r\n,1.5\r\n");
    assert_one_reply("|1\r\n+key\r\n#t\r\n:7\r\n"); /* an attribute, then its reply */
    assert_one_reply("=8\r\ntxt:abcd\r\n");
    assert_one_reply("!3\r\nERR\r\n");
    assert_one_reply("(12345678901234567890\r\n");
}

static void test_head(void **state)
{
    (void)state;
    struct resp_reply_head h;
    assert_int_equal(resp_reply_head("*3\r\n", 4, &h), 1);
    assert_int_equal(h.type, '*');
    assert_int_equal(h.n, 3);
    assert_int_equal(h.head_len, 4);
    assert_int_equal(resp_reply_head("-NOPERM x\r\n", 11, &h), 1);
    assert_int_equal(h.line_len, 8);
    assert_memory_equal(h.line, "NOPERM x", 8);
    assert_int_equal(resp_reply_head("*3\r", 3, &h), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "?\r\n", "\r\n", "+OK\n", "*x\r\n", "$-2\r\n", ":\r\n", "$3\r\nabcd\r\n",
        "*2\r\n$2\r\nab\r\n*z\r\n", "$99999999999999999999\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(resp_reply_span(bad[i], strlen(bad[i]), MAX_BULK), -1);
    /* Past the caller's bulk limit. */
    assert_int_equal(resp_reply_span("$2000\r\n", 7, 1000), -1);
    /* A count no reply could fill is refused, not waited for. */
    assert_int_equal(resp_reply_span("*9223372036854775807\r\n", 22, MAX_BULK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_types),
        cmocka_unit_test(test_node_replies),
        cmocka_unit_test(test_nested_and_resp3),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
