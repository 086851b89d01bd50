/* tests/unit/test_list_cmds.c — which list commands report changes
 * (cmds/t_list.c), and the pop/move entry points of cmds/list.h.
 *
 * Commands run directly on a store whose on_touch hook records every
 * reported key: blocked clients and WATCH depend on these reports. Every
 * command that changes a list in place (pushes onto an existing list,
 * pops that leave elements, LINSERT, LSET, LREM, LTRIM, both keys of
 * LMOVE, the popped key of LMPOP) must report its key; pops that empty a
 * list delete the key; commands that change nothing (misses, errors,
 * reads, LPOP with count 0, LREM with no match, LINSERT without pivot)
 * report nothing. The list.h functions must write nothing and return false
 * for a missing key (so a blocking caller can block), and reply WRONGTYPE
 * and return true for a key of another type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "cmds/cmd.h"
#include "cmds/list.h"

#define MAX_TOUCH 16

struct touches {
    int n;
    char keys[MAX_TOUCH][32];
};

static void record(void *arg, int db, const char *key, size_t klen)
{
    struct touches *t = arg;
    assert_int_equal(db, 0);
    assert_non_null(key);
    assert_true(t->n < MAX_TOUCH && klen < 32);
    memcpy(t->keys[t->n], key, klen);
    t->keys[t->n][klen] = '\0';
    t->n++;
}

struct fixture {
    struct store *store;
    struct touches touched;
    struct buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->store = store_new();
    f->store->on_touch = record;
    f->store->touch_arg = &f->touched;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->store);
    buf_free(&f->out);
    free(f);
    return 0;
}

static void make_ctx(struct fixture *f, struct cmd_ctx *c, int argc, struct resp_arg *argv)
{
    memset(c, 0, sizeof *c);
    c->store = f->store;
    c->now_ms = 1000;
    c->rng = 1;
    c->apply = true;
    c->max_bulk_len = 512 * 1024 * 1024;
    c->out.buf = &f->out;
    c->out.proto = 2;
    c->argc = argc;
    c->argv = argv;
}

/* Runs a command given as words; returns its reply (valid until the next
 * run) and leaves the keys it reported in f->touched. */
static const char *run(struct fixture *f, const char *line)
{
    static char copy[256];
    struct resp_arg argv[16];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
        argv[argc].ptr = w;
        argv[argc].len = strlen(w);
        argc++;
    }
    struct cmd_ctx c;
    make_ctx(f, &c, argc, argv);
    c.cmd = cmd_lookup(argv[0].ptr, argv[0].len, false);
    assert_non_null(c.cmd);
    assert_true(cmd_arity_ok(c.cmd, argc));
    buf_clear(&f->out);
    f->touched.n = 0;
    cmd_exec(&c);
    buf_append(&f->out, "", 1);
    return f->out.data;
}

/* Runs line, checks its reply and that exactly the keys listed in touched
 * (space separated, in order; "" for none) were reported. */
static void expect(struct fixture *f, const char *line, const char *reply, const char *touched)
{
    const char *got = run(f, line);
    if (strcmp(got, reply) != 0) fail_msg("%s: reply %s, want %s", line, got, reply);
    char all[256] = "";
    for (int i = 0; i < f->touched.n; i++) {
        if (i) strcat(all, " ");
        strcat(all, f->touched.keys[i]);
    }
    if (strcmp(all, touched) != 0) fail_msg("%s: touched \"%s\", want \"%s\"", line, all, touched);
}

static bool exists(struct fixture *f, const char *key)
{
    return store_lookup(f->store, 0, key, strlen(key), 1000, false) != NULL;
}

static void test_pushes_report_their_key(void **state)
{
    struct fixture *f = *state;
    expect(f, "LPUSHX l a", ":0\r\n", "");
    expect(f, "RPUSHX l a", ":0\r\n", "");
    expect(f, "RPUSH l a b", ":2\r\n", "l");
    expect(f, "LPUSH l x", ":3\r\n", "l");
    expect(f, "RPUSHX l y", ":4\r\n", "l");
    expect(f, "LPUSHX l z", ":5\r\n", "l");
    expect(f, "LINSERT l BEFORE nope q", ":-1\r\n", "");
    expect(f, "LINSERT l AFTER a q", ":6\r\n", "l");
    expect(f, "LINSERT none AFTER a q", ":0\r\n", "");
}

static void test_edits_report_their_key(void **state)
{
    struct fixture *f = *state;
    expect(f, "RPUSH l a b c a", ":4\r\n", "l");
    expect(f, "LSET l 0 x", "+OK\r\n", "l");
    expect(f, "LSET l 9 x", "-ERR index out of range\r\n", "");
    expect(f, "LREM l 0 zz", ":0\r\n", "");
    expect(f, "LREM l 0 a", ":1\r\n", "l");
    expect(f, "LTRIM l 0 -1", "+OK\r\n", "l");
    expect(f, "LTRIM l 1 1", "+OK\r\n", "l");
    expect(f, "LREM l 0 b", ":1\r\n", "l");
    assert_false(exists(f, "l"));
    expect(f, "LTRIM none 0 1", "+OK\r\n", "");
}

static void test_pops_report_or_delete(void **state)
{
    struct fixture *f = *state;
    expect(f, "RPUSH l a b c d e", ":5\r\n", "l");
    expect(f, "LPOP l", "$1\r\na\r\n", "l");
    expect(f, "RPOP l 0", "*0\r\n", "");
    expect(f, "RPOP l 2", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n", "l");
    expect(f, "LMPOP 2 none l LEFT COUNT 1", "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n", "l");
    expect(f, "LPOP l 5", "*1\r\n$1\r\nc\r\n", "l");
    assert_false(exists(f, "l"));
    expect(f, "LPOP l", "$-1\r\n", "");
    expect(f, "LPOP l 1", "*-1\r\n", "");
    expect(f, "LMPOP 1 l RIGHT", "*-1\r\n", "");
}

static void test_moves_report_both_keys(void **state)
{
    struct fixture *f = *state;
    expect(f, "RPUSH a 1 2", ":2\r\n", "a");
    expect(f, "LMOVE a b LEFT RIGHT", "$1\r\n1\r\n", "b a");
    expect(f, "RPOPLPUSH a b", "$1\r\n2\r\n", "b a");
    assert_false(exists(f, "a"));
    expect(f, "LMOVE b b LEFT RIGHT", "$1\r\n2\r\n", "b b");
    expect(f, "LMOVE none b LEFT RIGHT", "$-1\r\n", "");
    expect(f, "SET s v", "+OK\r\n", "s");
    expect(f, "LMOVE b s LEFT RIGHT", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "");
}

static void test_reads_and_errors_report_nothing(void **state)
{
    struct fixture *f = *state;
    expect(f, "RPUSH l a b", ":2\r\n", "l");
    expect(f, "SET s v", "+OK\r\n", "s");
    const char *quiet[] = {"LLEN l", "LINDEX l 0", "LRANGE l 0 -1", "LPOS l a", "LPUSH s a",
                           "LPOP s", "LSET s 0 a", "LREM s 0 a", "LTRIM s 0 1", "LINSERT s BEFORE a b",
                           "LMPOP 1 s LEFT", "LPOP l -1", "LMPOP 0 l LEFT", "LINSERT l middle a b"};
    for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++) {
        run(f, quiet[i]);
        if (f->touched.n) fail_msg("%s reported %s", quiet[i], f->touched.keys[0]);
    }
}

static void test_list_h_entry_points(void **state)
{
    struct fixture *f = *state;
    run(f, "RPUSH l a b c");
    run(f, "SET s v");
    struct resp_arg none = {"none", 4}, l = {"l", 1}, s = {"s", 1}, d = {"d", 1};
    struct cmd_ctx c;
    make_ctx(f, &c, 0, NULL);
    buf_clear(&f->out);

    /* A missing key: false and nothing written, for every shape. */
    for (int shape = LIST_REPLY_ELEMENT; shape <= LIST_REPLY_KEY_ARRAY; shape++)
        assert_false(list_pop_reply(&c, &none, true, 1, shape));
    assert_false(list_move_reply(&c, &none, &l, true, true));
    assert_false(list_move_reply(&c, &none, &s, true, true)); /* dst not checked */
    struct resp_arg keys[2] = {none, none};
    assert_false(list_mpop_reply(&c, keys, 2, true, 1));
    assert_int_equal(f->out.len, 0);

    /* Another type: true and WRONGTYPE. */
    assert_true(list_pop_reply(&c, &s, true, 1, LIST_REPLY_KEY_ELEMENT));
    assert_true(list_move_reply(&c, &l, &s, true, true));
    buf_append(&f->out, "", 1);
    assert_string_equal(f->out.data,
                        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
                        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    buf_clear(&f->out);

    /* The blocking shapes. */
    assert_true(list_pop_reply(&c, &l, false, 1, LIST_REPLY_KEY_ELEMENT));
    assert_true(list_pop_reply(&c, &l, true, 7, LIST_REPLY_KEY_ARRAY));
    buf_append(&f->out, "", 1);
    assert_string_equal(f->out.data, "*2\r\n$1\r\nl\r\n$1\r\nc\r\n"
                                     "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_false(exists(f, "l"));
    buf_clear(&f->out);
    run(f, "RPUSH l x");
    buf_clear(&f->out);
    assert_true(list_move_reply(&c, &l, &d, false, true));
    buf_append(&f->out, "", 1);
    assert_string_equal(f->out.data, "$1\r\nx\r\n");
}

static void test_list_h_parsers(void **state)
{
    struct fixture *f = *state;
    struct resp_arg argv[8] = {{"BLMPOP", 6}, {"0", 1}, {"2", 1}, {"a", 1}, {"b", 1},
                               {"right", 5}, {"COUNT", 5}, {"3", 1}};
    struct cmd_ctx c;
    make_ctx(f, &c, 8, argv);
    buf_clear(&f->out);
    long long numkeys, count;
    bool left = true;
    assert_true(list_parse_mpop(&c, 2, &numkeys, &left, &count));
    assert_true(numkeys == 2 && count == 3 && !left);
    c.argc = 6; /* no COUNT */
    assert_true(list_parse_mpop(&c, 2, &numkeys, &left, &count));
    assert_true(count == 1);
    assert_int_equal(f->out.len, 0);
    c.argc = 5; /* no LEFT|RIGHT */
    assert_false(list_parse_mpop(&c, 2, &numkeys, &left, &count));
    buf_append(&f->out, "", 1);
    assert_string_equal(f->out.data, "-ERR syntax error\r\n");
    buf_clear(&f->out);
    struct resp_arg up = {"up", 2}, lft = {"LeFt", 4};
    assert_false(list_parse_where(&c, &up, &left));
    assert_true(list_parse_where(&c, &lft, &left));
    assert_true(left);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pushes_report_their_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edits_report_their_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pops_report_or_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moves_report_both_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_and_errors_report_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_h_entry_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_h_parsers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
