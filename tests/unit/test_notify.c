/* tests/unit/test_notify.c — keyspace notifications (store/notify.h,
 * cmds/notify.c): the letters of notify-keyspace-events and their CONFIG
 * GET form, and which messages an event becomes.
 *
 * Commands run directly on a store whose on_message records every message
 * delivered. Nothing is delivered without K or E, without the event's
 * class, without a subscriber, or by a store without the hook (a scratch
 * store); a key longer than the stack buffer still makes the whole
 * channel name; keys may hold any byte. */
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
#include "cmds/notify.h"

struct received {
    int n;
    struct buf all; /* "type|pattern|channel|message\n" per message */
};

static void on_message(void *arg, struct pubsub_id to, const char *type, const char *pattern,
                       size_t plen, const char *channel, size_t clen, const char *message,
                       size_t mlen)
{
    struct received *r = arg;
    r->n++;
    buf_printf(&r->all, "%s|%.*s|", type, (int)plen, pattern ? pattern : "");
    buf_append(&r->all, channel, clen);
    buf_append(&r->all, "|", 1);
    buf_append(&r->all, message, mlen);
    buf_append(&r->all, "\n", 1);
}

struct fixture {
    struct store *store;
    struct received got;
    struct buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->store = store_new();
    f->store->on_message = on_message;
    f->store->pubsub_arg = &f->got;
    f->store->on_notify = notify_deliver;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->store);
    buf_free(&f->out);
    buf_free(&f->got.all);
    free(f);
    return 0;
}

static void exec_args(struct fixture *f, int argc, struct resp_arg *argv)
{
    struct cmd_ctx c;
    memset(&c, 0, sizeof c);
    c.store = f->store;
    c.now_ms = 1000;
    c.rng = 1;
    c.apply = true;
    c.max_bulk_len = 512 * 1024 * 1024;
    c.out.buf = &f->out;
    c.out.proto = 2;
    c.argc = argc;
    c.argv = argv;
    c.cmd = cmd_lookup(argv[0].ptr, argv[0].len, false);
    assert_non_null(c.cmd);
    buf_clear(&f->out);
    cmd_exec(&c);
}

/* Runs a command given as words. */
static void run(struct fixture *f, const char *line)
{
    char copy[256];
    struct resp_arg argv[16];
    int argc = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
        argv[argc].ptr = w;
        argv[argc].len = strlen(w);
        argc++;
    }
    exec_args(f, argc, argv);
}

static void expect_received(struct fixture *f, const char *want)
{
    buf_append(&f->got.all, "", 1);
    if (strcmp(f->got.all.data, want) != 0) fail_msg("got:\n%s\nwant:\n%s", f->got.all.data, want);
    buf_clear(&f->got.all);
    f->got.n = 0;
}

static void subscribe_pattern(struct fixture *f, const char *pattern)
{
    struct pubsub_id id = {1, 1};
    pubsub_subscribe(&f->store->pubsub, PUBSUB_PATTERN, id, pattern, strlen(pattern));
}

static void test_flags_parse_and_format(void **state)
{
    (void)state;
    static const struct {
        const char *in, *shown;
    } cases[] = {
        {"", ""},          {"KEA", "AKE"},    {"g", "g"},          {"KEAmn", "AKEm"},
        {"Ag$lshzxeKEtmdn", "AKEm"}, {"K$lshzxetd", "$lshzxetdK"}, {"Eg$", "g$E"},
        {"KgE", "gKE"},    {"n", ""},         {"x", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint32_t flags;
        char shown[NOTIFY_FLAGS_STR_MAX];
        assert_true(notify_parse_flags(cases[i].in, strlen(cases[i].in), &flags));
        notify_format_flags(flags, shown);
        assert_string_equal(shown, cases[i].shown);
    }
    uint32_t flags = 7;
    assert_false(notify_parse_flags("KEq", 3, &flags));
    assert_false(notify_parse_flags("K E", 3, &flags));
    assert_false(notify_parse_flags("K\0E", 3, &flags));
    assert_int_equal(flags, 7); /* untouched on error */
}

static void test_channels_and_classes(void **state)
{
    struct fixture *f = *state;
    subscribe_pattern(f, "*");
    /* Off: nothing. */
    run(f, "set a 1");
    expect_received(f, "");
    /* A class without K or E: nothing. */
    f->store->notify_flags = NOTIFY_ALL;
    run(f, "set a 1");
    expect_received(f, "");
    f->store->notify_flags = NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_STRING;
    run(f, "set a 2");
    expect_received(f, "pmessage|*|__keyspace@0__:a|set\npmessage|*|__keyevent@0__:set|a\n");
    /* Another class: nothing. */
    run(f, "del a");
    expect_received(f, "");
    f->store->notify_flags = NOTIFY_KEYEVENT | NOTIFY_GENERIC | NOTIFY_NEW;
    run(f, "set b 1");
    expect_received(f, "pmessage|*|__keyevent@0__:new|b\n");
    run(f, "del b nope");
    expect_received(f, "pmessage|*|__keyevent@0__:del|b\n");
}

static void test_channel_subscriber_and_long_binary_key(void **state)
{
    struct fixture *f = *state;
    f->store->notify_flags = NOTIFY_KEYSPACE | NOTIFY_LIST;
    /* A key of 1000 bytes with a NUL in it: a channel past the stack buffer. */
    char key[1000];
    memset(key, 'k', sizeof key);
    key[10] = '\0';
    char channel[1100];
    int plen = snprintf(channel, sizeof channel, "__keyspace@0__:");
    memcpy(channel + plen, key, sizeof key);
    struct pubsub_id id = {1, 2};
    pubsub_subscribe(&f->store->pubsub, PUBSUB_CHANNEL, id, channel, (size_t)plen + sizeof key);
    struct resp_arg argv[3] = {{"rpush", 5}, {key, sizeof key}, {"x", 1}};
    exec_args(f, 3, argv);
    assert_int_equal(f->got.n, 1);
    struct buf want = BUF_INIT;
    buf_append(&want, "message||", 9);
    buf_append(&want, channel, (size_t)plen + sizeof key);
    buf_append(&want, "|rpush\n", 8); /* with the terminating NUL */
    buf_append(&f->got.all, "", 1);
    assert_int_equal(f->got.all.len, want.len);
    assert_memory_equal(f->got.all.data, want.data, want.len);
    buf_free(&want);
    buf_clear(&f->got.all);
}

static void test_no_hook_no_subscriber_nothing(void **state)
{
    struct fixture *f = *state;
    f->store->notify_flags = NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL;
    /* No subscriber at all. */
    run(f, "set a 1");
    assert_int_equal(f->got.n, 0);
    /* A store without the hook (a scratch store) reports nothing. */
    subscribe_pattern(f, "*");
    f->store->on_notify = NULL;
    run(f, "set a 2");
    assert_int_equal(f->got.n, 0);
    /* The expiry of a key met during apply is reported. */
    f->store->on_notify = notify_deliver;
    run(f, "set e 1 px 1");
    expect_received(f, "pmessage|*|__keyspace@0__:e|set\npmessage|*|__keyevent@0__:set|e\n"
                       "pmessage|*|__keyspace@0__:e|expire\npmessage|*|__keyevent@0__:expire|e\n");
    struct resp_arg argv[2] = {{"get", 3}, {"e", 1}};
    struct cmd_ctx c;
    memset(&c, 0, sizeof c);
    c.store = f->store;
    c.now_ms = 5000; /* past e's time */
    c.apply = true;
    c.out.buf = &f->out;
    c.out.proto = 2;
    c.argc = 2;
    c.argv = argv;
    c.cmd = cmd_lookup("get", 3, false);
    cmd_exec(&c);
    expect_received(f, "pmessage|*|__keyspace@0__:e|expired\npmessage|*|__keyevent@0__:expired|e\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_parse_and_format),
        cmocka_unit_test_setup_teardown(test_channels_and_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_subscriber_and_long_binary_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_hook_no_subscriber_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
