/* tests/fuzz/fuzz_apply.c — libFuzzer target: arbitrary log entries through
 * Parley's whole state machine (src/repl/apply.c through repl/fsm.h, as
 * tests/unit/test_sim.c drives it), without a node: the rule "apply is
 * total" (ARCHITECTURE.md) as a test.
 *
 * Input: entries, each a u16 little-endian length and that many bytes (the
 * last one takes what is left). Every entry is applied, from an exact-size
 * heap copy, on two state machines over fresh stores that stand for two
 * different nodes (other node ids, other proposer origins). Checked: no
 * crash, hang or unbounded allocation (ASan, UBSan, libFuzzer's limits);
 * after every entry both stores have the same DEBUG DIGEST; at the end both
 * state machines write byte-identical snapshots (keyspace and replicated
 * state: dedup table, members, subscriptions, WATCH sessions), and a third
 * restored from one of them has the same digest.
 *
 * Two things the harness decides rather than the input, as a leader would:
 * an entry's max_bulk_len is capped at 1 MB (a leader's proto-max-bulk-len
 * of gigabytes lets one SETRANGE allocate that much on every node: the
 * memory limits of issue 10, not this target's subject), and its script
 * limits are at most this build's (a budget of 2^63 would let a script of
 * the input loop for ever, as the entry allows). */
#include <stdlib.h>
#include <string.h>

#include <raft.h>

#include "base/mem.h"
#include "cmds/lua_sandbox.h"
#include "fuzz.h"
#include "repl/entry.h"
#include "repl/fsm.h"
#include "store/keyspace.h"

#define ENTRIES_MAX 64
#define MAX_BULK_LEN_CAP (1ll << 20)

struct node {
    struct store *store;
    struct repl *fsm;
};

static void node_start(struct node *n, uint64_t id)
{
    n->store = store_new();
    n->fsm = repl_fsm_new(n->store, id, (id << 32) | 0xabcdu);
}

static void node_stop(struct node *n)
{
    repl_fsm_free(n->fsm);
    store_free(n->store);
}

static void apply(struct node *n, const char *entry, size_t len)
{
    struct raft_fsm *fsm = repl_fsm_raft(n->fsm);
    struct raft_buffer b = {(void *)entry, len};
    void *result = NULL;
    FUZZ_CHECK(fsm->apply(fsm, &b, &result) == 0, "apply failed");
}

/* The snapshot a node would send, as one buffer (the caller frees it). */
static struct raft_buffer snapshot(struct node *n)
{
    struct raft_fsm *fsm = repl_fsm_raft(n->fsm);
    struct raft_buffer *bufs = NULL;
    unsigned n_bufs = 0;
    FUZZ_CHECK(fsm->snapshot(fsm, &bufs, &n_bufs) == 0 && n_bufs == 1, "snapshot failed");
    struct raft_buffer out = {raft_malloc(bufs[0].len), bufs[0].len};
    memcpy(out.base, bufs[0].base, out.len);
    FUZZ_CHECK(fsm->snapshot_finalize(fsm, &bufs, &n_bufs) == 0, "snapshot_finalize failed");
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *entries[ENTRIES_MAX];
    size_t lens[ENTRIES_MAX];
    size_t n = 0;
    for (size_t at = 0; at < size && n < ENTRIES_MAX; n++) {
        size_t len = at + 2 <= size ? (size_t)(data[at] | data[at + 1] << 8) : 0;
        at = at + 2 <= size ? at + 2 : size;
        if (len > size - at) len = size - at;
        char *copy = xmalloc(len ? len : 1);
        if (len) memcpy(copy, data + at, len);
        if (len >= ENTRY_HEADER_BYTES && copy[0] == ENTRY_VERSION) {
            /* A leader writes its build's script limits. */
            uint64_t limit;
            memcpy(&limit, copy + 28, sizeof limit);
            if (limit > SANDBOX_BUDGET) memcpy(copy + 28, &(uint64_t){SANDBOX_BUDGET}, 8);
            memcpy(&limit, copy + 36, sizeof limit);
            if (limit > SANDBOX_MEMORY_BYTES) memcpy(copy + 36, &(uint64_t){SANDBOX_MEMORY_BYTES}, 8);
        }
        if (len >= ENTRY_V1_HEADER_BYTES) {
            int64_t max_bulk;
            memcpy(&max_bulk, copy + 20, sizeof max_bulk);
            if (max_bulk > MAX_BULK_LEN_CAP) {
                max_bulk = MAX_BULK_LEN_CAP;
                memcpy(copy + 20, &max_bulk, sizeof max_bulk);
            }
        }
        entries[n] = copy;
        lens[n] = len;
        at += len;
    }
    {
        struct node a, b, c;
        node_start(&a, 1);
        node_start(&b, 2);
        for (size_t i = 0; i < n; i++) {
            apply(&a, entries[i], lens[i]);
            apply(&b, entries[i], lens[i]);
            FUZZ_CHECK(store_digest(a.store) == store_digest(b.store),
                       "two nodes differ after entry %zu", i);
        }
        struct raft_buffer sa = snapshot(&a), sb = snapshot(&b);
        FUZZ_CHECK(sa.len == sb.len && memcmp(sa.base, sb.base, sa.len) == 0,
                   "two nodes write different snapshots (%zu and %zu bytes)", sa.len, sb.len);
        raft_free(sb.base);
        node_start(&c, 3);
        struct raft_fsm *fsm = repl_fsm_raft(c.fsm);
        FUZZ_CHECK(fsm->restore(fsm, &sa) == 0, "a node's own snapshot does not restore");
        FUZZ_CHECK(store_digest(c.store) == store_digest(a.store), "a restored node differs");
        node_stop(&a);
        node_stop(&b);
        node_stop(&c);
    }
    for (size_t i = 0; i < n; i++) free((void *)entries[i]);
    return 0;
}
