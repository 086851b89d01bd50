/* Unit tests for repl/entry.c: the bytes of a Raft log entry. Round trips
 * of headers, batches and commands (binary arguments included), padding to
 * 8 bytes, and that every malformed or truncated input is rejected rather
 * than read past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "repl/entry.h"

static struct buf make_body(void)
{
    struct buf body = BUF_INIT;
    struct resp_arg set[3] = {{"SET", 3}, {"k\0ey", 4}, {"v\r\nal", 5}};
    struct resp_arg get[2] = {{"GET", 3}, {"", 0}};
    entry_write_command(&body, 3, 2, 3, set);
    entry_write_command(&body, 15, 3, 2, get);
    return body;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct buf body = make_body();
    struct buf e = BUF_INIT;
    struct entry_header h = {.time_ms = 1700000000123, .seed = 0xdeadbeefcafef00dull,
                             .max_bulk_len = 512ll << 20};
    entry_write_header(&e, &h);
    entry_write_batch(&e, 42, 7, 2, body.data, body.len);
    entry_write_batch(&e, 43, 1, 0, "", 0);
    entry_finish(&e);
    assert_int_equal(e.len % 8, 0);

    struct entry_reader r;
    struct entry_header got;
    assert_true(entry_read_header(&r, e.data, e.len, &got));
    assert_int_equal(got.time_ms, h.time_ms);
    assert_true(got.seed == h.seed);
    assert_int_equal(got.max_bulk_len, h.max_bulk_len);

    struct entry_batch b;
    assert_int_equal(entry_next_batch(&r, &b), 1);
    assert_true(b.origin == 42 && b.seq == 7 && b.n_commands == 2);
    assert_true(entry_body_valid(b.body, b.body_len, 2, 16));
    struct command_reader cr;
    command_reader_init(&cr, b.body, b.body_len);
    struct resp_arg argv[4];
    struct entry_command c;
    int need = 0;
    assert_int_equal(command_next(&cr, &c, argv, 4, &need), 1);
    assert_int_equal(c.db, 3);
    assert_int_equal(c.proto, 2);
    assert_int_equal(c.argc, 3);
    assert_int_equal(argv[1].len, 4);
    assert_memory_equal(argv[1].ptr, "k\0ey", 4);
    assert_memory_equal(argv[2].ptr, "v\r\nal", 5);
    /* Too small an argv: the reader says how many it needs. */
    struct command_reader cr2 = cr;
    assert_int_equal(command_next(&cr2, &c, argv, 1, &need), -1);
    assert_int_equal(need, 2);
    assert_int_equal(command_next(&cr, &c, argv, 4, &need), 1);
    assert_int_equal(c.db, 15);
    assert_int_equal(c.proto, 3);
    assert_int_equal(argv[1].len, 0);
    assert_int_equal(command_next(&cr, &c, argv, 4, &need), 0);

    assert_int_equal(entry_next_batch(&r, &b), 1);
    assert_true(b.origin == 43 && b.n_commands == 0 && b.body_len == 0);
    assert_int_equal(entry_next_batch(&r, &b), 0); /* padding is not a batch */
    buf_free(&e);
    buf_free(&body);
}

static void test_truncations_are_rejected(void **state)
{
    (void)state;
    struct buf body = make_body();
    struct buf e = BUF_INIT;
    struct entry_header h = {1, 2, 3, 4, 5, 1};
    entry_write_header(&e, &h);
    entry_write_batch(&e, 1, 1, 2, body.data, body.len);
    /* Every prefix that cuts into the batch is malformed, never a crash. */
    for (size_t len = ENTRY_HEADER_BYTES + 1; len < e.len; len++) {
        char *copy = malloc(len);
        memcpy(copy, e.data, len);
        struct entry_reader r;
        struct entry_header got;
        assert_true(entry_read_header(&r, copy, len, &got));
        struct entry_batch b;
        assert_int_equal(entry_next_batch(&r, &b), -1);
        free(copy);
    }
    /* Every prefix of a body is invalid for its command count. */
    for (size_t len = 0; len < body.len; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, body.data, len);
        assert_false(entry_body_valid(copy, len, 2, 16));
        free(copy);
    }
    assert_false(entry_body_valid(body.data, body.len, 3, 16)); /* count mismatch */
    assert_false(entry_body_valid(body.data, body.len, 2, 8));  /* db 15 out of range */
    buf_free(&e);
    buf_free(&body);
}

static void test_bad_headers(void **state)
{
    (void)state;
    struct entry_reader r;
    struct entry_header got;
    char bytes[ENTRY_HEADER_BYTES + 8] = {0};
    assert_false(entry_read_header(&r, bytes, sizeof bytes, &got)); /* version 0 */
    bytes[0] = ENTRY_VERSION;
    assert_false(entry_read_header(&r, bytes, ENTRY_HEADER_BYTES - 1, &got));
    bytes[1] = 9; /* padding larger than 7 */
    assert_false(entry_read_header(&r, bytes, sizeof bytes, &got));
    bytes[1] = 7;
    assert_false(entry_read_header(&r, bytes, ENTRY_HEADER_BYTES + 6, &got));
    assert_true(entry_read_header(&r, bytes, ENTRY_HEADER_BYTES + 8, &got));
}

/* The script limits travel in the header; an entry of version 1 (written
 * by an older build) has none and still reads, with 0 for "the defaults". */
static void test_script_limits_and_version_1(void **state)
{
    (void)state;
    struct buf e = BUF_INIT;
    struct entry_header h = {.time_ms = 10, .seed = 11, .max_bulk_len = 12,
                             .script_budget = 13, .script_memory = 14};
    entry_write_header(&e, &h);
    struct entry_reader r;
    struct entry_header got;
    assert_true(entry_read_header(&r, e.data, e.len, &got));
    assert_int_equal(got.script_budget, 13);
    assert_int_equal(got.script_memory, 14);
    struct entry_batch b;
    assert_int_equal(entry_next_batch(&r, &b), 0);
    unsigned char v1[ENTRY_V1_HEADER_BYTES] = {1};
    v1[4] = 10;
    assert_true(entry_read_header(&r, v1, sizeof v1, &got));
    assert_int_equal(got.time_ms, 10);
    assert_int_equal(got.script_budget, 0);
    assert_int_equal(got.script_memory, 0);
    assert_false(entry_read_header(&r, v1, sizeof v1 - 1, &got));
    buf_free(&e);
}

/* The protocol version an entry was written under rides in the header
 * byte builds before versions left 0 and never read (version 2 format
 * unchanged); entry_versions reads both versions of any header, even one
 * entry_read_header cannot read (a newer format). */
static void test_protocol_byte(void **state)
{
    (void)state;
    struct buf e = BUF_INIT;
    struct entry_header h = {.time_ms = 10, .protocol = 2};
    entry_write_header(&e, &h);
    entry_finish(&e);
    assert_int_equal((unsigned char)e.data[0], ENTRY_VERSION);
    assert_int_equal((unsigned char)e.data[2], 2);
    struct entry_reader r;
    struct entry_header got;
    assert_true(entry_read_header(&r, e.data, e.len, &got));
    assert_int_equal(got.protocol, 2);
    assert_int_equal(got.time_ms, 10);
    unsigned format, protocol;
    assert_true(entry_versions(e.data, e.len, &format, &protocol));
    assert_int_equal(format, ENTRY_VERSION);
    assert_int_equal(protocol, 2);
    e.data[0] = ENTRY_VERSION + 1; /* a newer format: not readable, but told */
    assert_false(entry_read_header(&r, e.data, e.len, &got));
    assert_true(entry_versions(e.data, e.len, &format, &protocol));
    assert_int_equal(format, ENTRY_VERSION + 1);
    assert_false(entry_versions(e.data, 3, &format, &protocol));
    /* A version 1 entry (older builds) says protocol 0: the base. */
    unsigned char v1[ENTRY_V1_HEADER_BYTES] = {1};
    assert_true(entry_read_header(&r, v1, sizeof v1, &got));
    assert_int_equal(got.protocol, 0);
    buf_free(&e);
}

/* Any number of arguments the bytes allow: a million and more (Redis
 * accepts up to INT_MAX from a client) round-trip and validate. */
static void test_many_arguments(void **state)
{
    (void)state;
    int argc = 1100001;
    struct resp_arg *argv = malloc((size_t)argc * sizeof *argv);
    argv[0].ptr = "DEL";
    argv[0].len = 3;
    for (int i = 1; i < argc; i++) {
        argv[i].ptr = "key";
        argv[i].len = (size_t)(i % 4);
    }
    struct buf body = BUF_INIT;
    size_t bytes = entry_command_bytes(argc, argv);
    entry_write_command(&body, 0, 2, argc, argv);
    assert_int_equal(body.len, bytes);
    assert_true(entry_body_valid(body.data, body.len, 1, 16));

    struct command_reader cr;
    command_reader_init(&cr, body.data, body.len);
    struct resp_arg *got = malloc((size_t)argc * sizeof *got);
    struct entry_command c;
    int need = 0;
    assert_int_equal(command_next(&cr, &c, got, 8, &need), -1);
    assert_int_equal(need, argc);
    assert_int_equal(command_next(&cr, &c, got, argc, &need), 1);
    assert_int_equal(c.argc, argc);
    assert_int_equal(got[argc - 1].len, (size_t)((argc - 1) % 4));
    assert_int_equal(command_next(&cr, &c, got, argc, &need), 0);
    free(got);
    free(argv);
    buf_free(&body);
}

/* A count the remaining bytes cannot hold is malformed at once: the reader
 * never asks its caller to allocate room for it. */
static void test_impossible_count(void **state)
{
    (void)state;
    unsigned char cmd[8 + 8] = {0, 2, 0, 0};
    const uint32_t counts[] = {3, 0xffffffffu};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        uint32_t argc = counts[k];
        cmd[4] = (unsigned char)argc;
        cmd[5] = (unsigned char)(argc >> 8);
        cmd[6] = (unsigned char)(argc >> 16);
        cmd[7] = (unsigned char)(argc >> 24);
        struct command_reader cr;
        command_reader_init(&cr, (const char *)cmd, sizeof cmd);
        struct resp_arg argv[4];
        struct entry_command c;
        int need = 0;
        assert_int_equal(command_next(&cr, &c, argv, 4, &need), -1);
        assert_int_equal(need, 0);
        assert_false(entry_body_valid((const char *)cmd, sizeof cmd, 1, 16));
    }
}

/* What no entry can carry is told before anything is written. */
static void test_command_bytes_limits(void **state)
{
    (void)state;
    struct resp_arg argv[3] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    assert_int_equal(entry_command_bytes(3, argv), 8 + 3 * 4 + 5);
    assert_int_equal(entry_command_bytes(0, argv), 0);
    argv[2].len = ENTRY_BATCH_BODY_MAX; /* only the length is read */
    assert_int_equal(entry_command_bytes(3, argv), 0);
    argv[2].len = ENTRY_BATCH_BODY_MAX - 8 - 3 * 4 - 4;
    assert_int_equal(entry_command_bytes(3, argv), ENTRY_BATCH_BODY_MAX);
    argv[2].len = (size_t)1 << 40;
    assert_int_equal(entry_command_bytes(3, argv), 0);
    assert_true(ENTRY_BYTES_MAX % 8 == 0 && ENTRY_BYTES_MAX <= UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncations_are_rejected),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_script_limits_and_version_1),
        cmocka_unit_test(test_protocol_byte),
        cmocka_unit_test(test_many_arguments),
        cmocka_unit_test(test_impossible_count),
        cmocka_unit_test(test_command_bytes_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
