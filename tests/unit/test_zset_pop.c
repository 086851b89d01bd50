/* tests/unit/test_zset_pop.c — the pop API of cmds/zset.h, which the
 * blocking commands (BZPOPMIN, BZPOPMAX, BZMPOP) build on.
 *
 * Drives zset_pop_reply, zset_pop_first and zset_parse_mpop directly on a
 * store, as a blocking command would, and checks the exact reply bytes of
 * every shape in RESP2 and RESP3 (including BZPOPMIN's key-member-score
 * and BZMPOP's nested form, which no non-blocking command produces), that
 * nothing is written when no key exists, that WRONGTYPE is written and
 * reported, that an emptied set is deleted, and that every pop reports its
 * key to the keyspace's touch hook (what wakes WATCH and blocked clients).
 * BZMPOP's argument layout (numkeys at argv[2]) is parsed with Redis's
 * error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cmds/zset.h"
#include "store/zset.h"

#define S(lit) lit, sizeof(lit) - 1

static int touches;
static char last_touched[32];

static void on_touch(void *arg, int db, const char *key, size_t klen)
{
    (void)arg, (void)db;
    touches++;
    snprintf(last_touched, sizeof last_touched, "%.*s", (int)klen, key ? key : "");
}

struct fixture {
    struct store *store;
    struct buf out;
    struct cmd_ctx c;
};

static void setup(struct fixture *f, int proto)
{
    f->store = store_new();
    f->store->on_touch = on_touch;
    buf_init(&f->out);
    memset(&f->c, 0, sizeof f->c);
    f->c.store = f->store;
    f->c.apply = true;
    f->c.max_bulk_len = 512ll << 20;
    f->c.out.buf = &f->out;
    f->c.out.proto = proto;
    touches = 0;
}

static void teardown(struct fixture *f)
{
    store_free(f->store);
    buf_free(&f->out);
}

static void put_zset(struct fixture *f, const char *key, int n)
{
    struct sobj *o = zset_new(0, 0);
    for (int i = 0; i < n; i++) {
        char m[8];
        int out;
        zset_add(o, i + 1, m, (size_t)sprintf(m, "%c", 'a' + i), 0, &out, NULL);
    }
    store_set(f->store, 0, key, strlen(key), o, false);
}

static void expect_out(struct fixture *f, const char *expected)
{
    assert_int_equal(f->out.len, strlen(expected));
    assert_memory_equal(f->out.data, expected, f->out.len);
    buf_clear(&f->out);
}

static struct resp_arg arg(const char *s) { return (struct resp_arg){s, strlen(s)}; }

static void test_shapes_resp2(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 2);
    put_zset(&f, "k", 4);
    struct resp_arg key = arg("k");
    bool wrong = true;
    touches = 0;
    assert_true(zset_pop_reply(&f.c, &key, false, 1, ZPOP_KEY_FLAT, &wrong));
    assert_false(wrong);
    expect_out(&f, "*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n");          /* BZPOPMIN */
    assert_int_equal(touches, 1);
    assert_string_equal(last_touched, "k");
    assert_true(zset_pop_reply(&f.c, &key, true, 1, ZPOP_KEY_FLAT, &wrong));
    expect_out(&f, "*3\r\n$1\r\nk\r\n$1\r\nd\r\n$1\r\n4\r\n");          /* BZPOPMAX */
    assert_true(zset_pop_reply(&f.c, &key, false, 1, ZPOP_FLAT, &wrong));
    expect_out(&f, "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    /* More than there is: what there is, then the key is gone. */
    assert_true(zset_pop_reply(&f.c, &key, false, 10, ZPOP_KEY_NESTED, &wrong));
    expect_out(&f, "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"); /* BZMPOP */
    assert_null(store_lookup(f.store, 0, S("k"), 0, true));
    assert_int_equal(touches, 4);
    /* A missing key: false, nothing written, nothing touched. */
    assert_false(zset_pop_reply(&f.c, &key, false, 1, ZPOP_KEY_FLAT, &wrong));
    assert_false(wrong);
    assert_int_equal(f.out.len, 0);
    assert_int_equal(touches, 4);
    teardown(&f);
}

static void test_shapes_resp3(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 3);
    put_zset(&f, "k", 3);
    struct resp_arg key = arg("k");
    bool wrong;
    assert_true(zset_pop_reply(&f.c, &key, false, 1, ZPOP_KEY_FLAT, &wrong));
    expect_out(&f, "*3\r\n$1\r\nk\r\n$1\r\na\r\n,1\r\n");
    assert_true(zset_pop_reply(&f.c, &key, true, 1, ZPOP_NESTED, &wrong));
    expect_out(&f, "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    assert_true(zset_pop_reply(&f.c, &key, true, 2, ZPOP_KEY_NESTED, &wrong));
    expect_out(&f, "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    teardown(&f);
}

static void test_pop_first_over_keys(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 2);
    put_zset(&f, "z2", 2);
    store_set(f.store, 0, S("str"), sobj_string(S("v")), false);
    struct resp_arg keys[] = {arg("none"), arg("z2"), arg("str")};
    /* The first existing key is popped; the string after it is not looked at. */
    assert_true(zset_pop_first(&f.c, keys, 3, true, 5, ZPOP_KEY_NESTED));
    expect_out(&f, "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    /* Now z2 is gone: the string is met first and answered WRONGTYPE. */
    assert_true(zset_pop_first(&f.c, keys, 3, true, 1, ZPOP_KEY_NESTED));
    expect_out(&f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    bool wrong = false;
    assert_false(zset_pop_reply(&f.c, &keys[2], false, 1, ZPOP_KEY_FLAT, &wrong));
    assert_true(wrong);
    expect_out(&f, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    /* No key at all: nothing written, so a blocking command may block. */
    assert_false(zset_pop_first(&f.c, keys, 1, false, 1, ZPOP_KEY_NESTED));
    assert_int_equal(f.out.len, 0);
    teardown(&f);
}

/* BZMPOP timeout numkeys key... MIN|MAX [COUNT count]: numkeys at argv[2]. */
static bool parse(struct fixture *f, const char *const *argv, int argc, long long *numkeys, bool *max,
                  long long *count)
{
    struct resp_arg a[16];
    for (int i = 0; i < argc; i++) a[i] = arg(argv[i]);
    f->c.argc = argc;
    f->c.argv = a;
    return zset_parse_mpop(&f->c, 2, numkeys, max, count);
}

static void test_parse_bzmpop_layout(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, 2);
    long long numkeys, count;
    bool max;
    const char *ok1[] = {"bzmpop", "0", "2", "a", "b", "MAX", "COUNT", "7"};
    assert_true(parse(&f, ok1, 8, &numkeys, &max, &count));
    assert_true(numkeys == 2 && max && count == 7);
    const char *ok2[] = {"bzmpop", "0", "1", "a", "min"};
    assert_true(parse(&f, ok2, 5, &numkeys, &max, &count));
    assert_true(numkeys == 1 && !max && count == 1);
    assert_int_equal(f.out.len, 0);
    static const struct {
        const char *argv[8];
        int argc;
        const char *error;
    } bad[] = {
        {{"bzmpop", "0", "0", "a", "min"}, 5, "-ERR numkeys should be greater than 0\r\n"},
        {{"bzmpop", "0", "x", "a", "min"}, 5, "-ERR numkeys should be greater than 0\r\n"},
        {{"bzmpop", "0", "2", "a", "min"}, 5, "-ERR syntax error\r\n"},
        {{"bzmpop", "0", "1", "a", "mid"}, 5, "-ERR syntax error\r\n"},
        {{"bzmpop", "0", "1", "a", "min", "COUNT", "0"}, 7, "-ERR count should be greater than 0\r\n"},
        {{"bzmpop", "0", "1", "a", "min", "COUNT"}, 6, "-ERR syntax error\r\n"},
        {{"bzmpop", "0", "1", "a", "min", "COUNT", "1", "COUNT"}, 8, "-ERR syntax error\r\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_false(parse(&f, bad[i].argv, bad[i].argc, &numkeys, &max, &count));
        expect_out(&f, bad[i].error);
    }
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_resp2),
        cmocka_unit_test(test_shapes_resp3),
        cmocka_unit_test(test_pop_first_over_keys),
        cmocka_unit_test(test_parse_bzmpop_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
