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
    struct entry_header h = {1, 2, 3};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_truncations_are_rejected),
        cmocka_unit_test(test_bad_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
