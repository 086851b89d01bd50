/* Unit tests for repl/apply.c through the state machine alone (repl/fsm.h):
 * entries built with repl/entry.c and applied as libraft would apply them.
 * The dedup table stays bounded, dropping the origin seen longest ago; a
 * batch of this node's proposer overtaken in the log by a later one is
 * answered at once (it could only be skipped as a duplicate from then on);
 * a command with more than a million arguments applies; the member records
 * (__member, __leader) with and without a TLS client address apply, and
 * the addresses survive a snapshot, one of aux version 3 (before TLS
 * addresses) included; protocol versions (repl/version.c): registrations
 * with and without one, the raise, the snapshot's replication state kept
 * at version 4 (what builds before versions read) until the raise and 5
 * after it, an entry written under a newer version left out by a state
 * machine without a node (a node would exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmds/cmd.h"
#include "repl/entry.h"
#include "repl/fsm.h"
#include "repl/internal.h"
#include "repl/repl.h"
#include "store/keyspace.h"
#include "store/snapshot.h"

#define OURS 7

/* Applies one entry holding one batch of one command. */
static void apply_one(struct repl *r, int64_t time_ms, uint64_t origin, uint64_t seq, int argc,
                      const struct resp_arg *argv)
{
    struct buf body = BUF_INIT, e = BUF_INIT;
    entry_write_command(&body, 0, 2, argc, argv);
    struct entry_header h = {.time_ms = time_ms, .seed = 1, .max_bulk_len = 512ll << 20};
    entry_write_header(&e, &h);
    entry_write_batch(&e, origin, seq, 1, body.data, body.len);
    entry_finish(&e);
    struct raft_buffer rb = {e.data, e.len};
    void *result;
    struct raft_fsm *fsm = repl_fsm_raft(r);
    assert_int_equal(fsm->apply(fsm, &rb, &result), 0);
    buf_free(&e);
    buf_free(&body);
}

static long long counter(struct store *s)
{
    struct dict_entry *e = store_lookup(s, 0, "c", 1, 0, false);
    if (e == NULL) return 0;
    char tmp[SOBJ_INT_BUF];
    size_t len;
    const char *p = sobj_str(store_value(e), tmp, &len);
    return strtoll(p, NULL, 10);
}

static void test_dedup_table_is_bounded(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct repl *r = repl_fsm_new(s, 1, OURS);
    struct resp_arg incr[2] = {{"INCR", 4}, {"c", 1}};
    const uint64_t origins = REPL_DEDUP_MAX + 100;
    /* Origin i last seen at time i: origins 1..100 are the oldest. */
    for (uint64_t i = 1; i <= origins; i++) apply_one(r, (int64_t)i, 1000 + i, 1, 2, incr);
    assert_int_equal(counter(s), (long long)origins);
    /* A re-sent batch of a recent origin is still recognised... */
    apply_one(r, (int64_t)origins, 1000 + origins, 1, 2, incr);
    assert_int_equal(repl_fsm_duplicates_skipped(r), 1);
    /* ...one of an origin dropped for room is not (the table forgot it). */
    apply_one(r, (int64_t)origins, 1000 + 1, 1, 2, incr);
    assert_int_equal(repl_fsm_duplicates_skipped(r), 1);
    assert_int_equal(counter(s), (long long)origins + 1);
    repl_fsm_free(r);
    store_free(s);
}

static void test_overtaken_batch_is_answered(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct repl *r = repl_fsm_new(s, 1, OURS);
    struct reply_slot first = {0}, second = {0};
    struct resp_arg set_a[3] = {{"SET", 3}, {"a", 1}, {"1", 1}};
    struct resp_arg set_b[3] = {{"SET", 3}, {"b", 1}, {"2", 1}};
    /* No max_entry_bytes (0): each command is a batch of its own, seq 1 and 2. */
    repl_submit(r, &first, 0, 2, 3, set_a);
    repl_submit(r, &second, 0, 2, 3, set_b);
    repl_flush(r); /* seals; no raft attached: nothing is sent */
    assert_int_equal(first.pending, 1);
    assert_int_equal(second.pending, 1);
    /* Batch 2 reaches the log first: batch 1 could never apply any more. */
    apply_one(r, 1, OURS, 2, 3, set_b);
    assert_int_equal(second.pending, 0);
    assert_int_equal(second.reply.len, 5);
    assert_memory_equal(second.reply.data, "+OK\r\n", 5);
    assert_int_equal(first.pending, 0);
    assert_non_null(strstr(first.reply.data, "was not executed"));
    /* ...and indeed it is skipped when it comes. */
    apply_one(r, 2, OURS, 1, 3, set_a);
    assert_int_equal(repl_fsm_duplicates_skipped(r), 1);
    assert_null(store_lookup(s, 0, "a", 1, 0, false));
    buf_free(&first.reply);
    buf_free(&second.reply);
    repl_fsm_free(r);
    store_free(s);
}

static void test_million_arguments_apply(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct repl *r = repl_fsm_new(s, 1, OURS);
    struct resp_arg set[3] = {{"SET", 3}, {"k1", 2}, {"v", 1}};
    apply_one(r, 1, 99, 1, 3, set);
    int argc = 1100001;
    struct resp_arg *argv = malloc((size_t)argc * sizeof *argv);
    argv[0] = (struct resp_arg){"DEL", 3};
    for (int i = 1; i < argc; i++) argv[i] = (struct resp_arg){i % 2 ? "k1" : "k2", 2};
    apply_one(r, 2, 99, 2, argc, argv);
    assert_null(store_lookup(s, 0, "k1", 2, 0, false));
    free(argv);
    repl_fsm_free(r);
    store_free(s);
}

/* Restores r from a snapshot of an empty store with this aux section. */
static void restore_aux(struct repl *r, const struct buf *aux)
{
    struct store *empty = store_new();
    struct buf snap = BUF_INIT;
    store_snapshot_encode(empty, aux->data, aux->len, &snap);
    store_free(empty);
    size_t len;
    struct raft_buffer rb;
    rb.base = buf_detach(&snap, &len);
    rb.len = len;
    struct raft_fsm *fsm = repl_fsm_raft(r);
    assert_int_equal(fsm->restore(fsm, &rb), 0); /* takes rb.base */
}

static void test_member_addresses(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct repl *r = repl_fsm_new(s, 1, OURS);
    /* Written before tls-cluster reached the forwarding link: no TLS address. */
    struct resp_arg old_member[4] = {{"__member", 8}, {"2", 1}, {"h:6380", 6}, {"1000", 4}};
    apply_one(r, 1, 99, 1, 4, old_member);
    assert_string_equal(repl_member_client_addr(r, 2), "h:6380");
    assert_string_equal(repl_member_tls_addr(r, 2), "");
    struct resp_arg member[5] = {
        {"__member", 8}, {"2", 1}, {"h:6380", 6}, {"1000", 4}, {"h:16380", 7}};
    apply_one(r, 2, 99, 2, 5, member);
    assert_string_equal(repl_member_tls_addr(r, 2), "h:16380");
    struct resp_arg leader[6] = {{"__leader", 8}, {"3", 1}, {"5", 1},
                                 {"h:6381", 6}, {"1000", 4}, {"h:16381", 7}};
    apply_one(r, 3, 99, 3, 6, leader);
    assert_string_equal(repl_member_client_addr(r, 3), "h:6381");
    assert_string_equal(repl_member_tls_addr(r, 3), "h:16381");
    assert_null(repl_member_tls_addr(r, 4));

    /* A snapshot keeps both addresses. */
    struct buf aux = BUF_INIT;
    fsm_encode_aux(r, &aux);
    struct store *s2 = store_new();
    struct repl *r2 = repl_fsm_new(s2, 1, OURS);
    restore_aux(r2, &aux);
    assert_string_equal(repl_member_client_addr(r2, 2), "h:6380");
    assert_string_equal(repl_member_tls_addr(r2, 2), "h:16380");
    assert_string_equal(repl_member_tls_addr(r2, 3), "h:16381");

    /* Aux version 3 (no TLS addresses) still loads. */
    buf_clear(&aux);
    buf_append_u32(&aux, 3);
    buf_append_u64(&aux, 1);           /* time */
    buf_append_u64(&aux, 3);           /* announced node */
    buf_append_u64(&aux, 5);           /* and term */
    buf_append_u64(&aux, 0);           /* dedup origins */
    buf_append_u64(&aux, 1);           /* members */
    buf_append_u32(&aux, 1);
    buf_append(&aux, "7", 1);
    buf_append_u32(&aux, 6);
    buf_append(&aux, "h:6387", 6);
    buf_append_u64(&aux, 1000);
    buf_append_u32(&aux, 0);           /* skipped entries */
    restore_aux(r2, &aux);
    assert_string_equal(repl_member_client_addr(r2, 7), "h:6387");
    assert_string_equal(repl_member_tls_addr(r2, 7), "");
    assert_null(repl_member_client_addr(r2, 2));
    buf_free(&aux);
    repl_fsm_free(r2);
    store_free(s2);
    repl_fsm_free(r);
    store_free(s);
}

static uint32_t aux_version(struct repl *r)
{
    struct buf aux = BUF_INIT;
    fsm_encode_aux(r, &aux);
    uint32_t v = (uint8_t)aux.data[0] | (uint32_t)(uint8_t)aux.data[1] << 8;
    buf_free(&aux);
    return v;
}

static void test_protocol_versions(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct repl *r = repl_fsm_new(s, 1, OURS);
    /* A build before versions registers none; this build "<ms>,<version>". */
    struct resp_arg old_member[4] = {{"__member", 8}, {"2", 1}, {"h:6380", 6}, {"1000", 4}};
    apply_one(r, 1, 99, 1, 4, old_member);
    assert_int_equal(repl_member_protocol(r, 2), 0);
    assert_int_equal(repl_member_election_timeout(r, 2), 1000);
    struct resp_arg member[4] = {{"__member", 8}, {"3", 1}, {"h:6381", 6}, {"1000,2", 6}};
    apply_one(r, 2, 99, 2, 4, member);
    assert_int_equal(repl_member_protocol(r, 3), 2);
    assert_int_equal(repl_member_election_timeout(r, 3), 1000);
    assert_int_equal(r->machine.active_version, PROTOCOL_BASE);
    assert_int_equal(aux_version(r), 4);

    struct resp_arg raise[2] = {{"__version", 9}, {"2", 1}};
    apply_one(r, 3, 99, 3, 2, raise);
    assert_int_equal(r->machine.active_version, 2);
    assert_int_equal(cmd_protocol_active(), 2);
    struct resp_arg lower[2] = {{"__version", 9}, {"1", 1}};
    apply_one(r, 4, 99, 4, 2, lower); /* never goes down */
    assert_int_equal(r->machine.active_version, 2);
    assert_int_equal(aux_version(r), 5);

    /* The snapshot keeps the version and each member's. */
    struct buf aux = BUF_INIT;
    fsm_encode_aux(r, &aux);
    struct store *s2 = store_new();
    struct repl *r2 = repl_fsm_new(s2, 1, OURS);
    restore_aux(r2, &aux);
    assert_int_equal(r2->machine.active_version, 2);
    assert_int_equal(repl_member_protocol(r2, 3), 2);
    assert_int_equal(repl_member_protocol(r2, 2), 0);
    assert_string_equal(repl_member_client_addr(r2, 3), "h:6381");

    /* A raise beyond this build, and an entry written under a newer
     * version, change nothing here (a node would exit before them). */
    struct resp_arg beyond[2] = {{"__version", 9}, {"9", 1}};
    apply_one(r2, 5, 99, 5, 2, beyond);
    assert_int_equal(r2->machine.active_version, 2);
    struct buf body = BUF_INIT, e = BUF_INIT;
    struct resp_arg set[3] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    entry_write_command(&body, 0, 2, 3, set);
    struct entry_header h = {.time_ms = 6, .max_bulk_len = 1 << 20, .protocol = PROTOCOL_BUILD + 1};
    entry_write_header(&e, &h);
    entry_write_batch(&e, 99, 6, 1, body.data, body.len);
    entry_finish(&e);
    struct raft_buffer rb = {e.data, e.len};
    void *result;
    struct raft_fsm *fsm = repl_fsm_raft(r2);
    assert_int_equal(fsm->apply(fsm, &rb, &result), 0);
    assert_null(store_lookup(s2, 0, "k", 1, 0, false));
    buf_free(&e);
    buf_free(&body);
    buf_free(&aux);
    repl_fsm_free(r2);
    store_free(s2);
    repl_fsm_free(r);
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup_table_is_bounded),
        cmocka_unit_test(test_overtaken_batch_is_answered),
        cmocka_unit_test(test_million_arguments_apply),
        cmocka_unit_test(test_member_addresses),
        cmocka_unit_test(test_protocol_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
