/* repl/apply.c — the replicated state machine.
 *
 * APPLY IS TOTAL. Every command in the Raft log runs on every node, here,
 * through the same cmds/ functions the leader uses. A node that fails on
 * an entry (crashes, hangs, runs out of memory) fails on it again after
 * every restart, because the entry stays in the log, and so does every
 * other replica: one bad entry stops the whole cluster for good. A command
 * that answers differently on another node silently splits the replicas.
 * So every entry must apply on every node without crashing, without
 * hanging, without allocating beyond a bound it carries, and with the same
 * result everywhere. For anyone adding a command this means:
 *
 *   - Refuse before proposing what could fail. Whatever depends on this
 *     node (memory, configuration, the clock, a limit) is decided by the
 *     node that receives the command, with Redis's error text, before it
 *     reaches the log; the log holds only commands that can apply.
 *   - What apply itself needs to know travels in the entry: the leader's
 *     time and seed (ctx->now_ms, ctx->rng), proto-max-bulk-len, the
 *     script budget (entry.h). Apply never reads its own clock, RNG, hash
 *     seed, pointer values, configuration or an unordered table's order.
 *   - Errors are replies, never aborts: a bad argument, a wrong type, a
 *     size over the carried limit is answered with an error on every node
 *     alike. Every loop is bounded by what the entry carries; every
 *     allocation is checked against a carried limit before it is made.
 *   - A read-only command run here changes nothing on any node.
 *   - Test it on three nodes and compare RAFT DIGEST at the same index.
 *
 * What breaks the rule anyway is caught, not prevented: the divergence
 * checks compare every replica's data with the leader's (divergence.c);
 * a crash in apply names the entry and command and apply-skip-entry gets
 * the cluster past it (poison.c); and the invariants below are CHECKed in
 * every build (base/check.h): slots' pending counts, the dedup table's
 * order and bound, applied <= committed, argv capacity.
 *
 * The state machine. apply() runs every committed entry, in log order: the
 * entry carries the leader's time and seed, so every replica computes the
 * same keyspace and the same replies. Each batch is first checked against
 * the dedup table (origin -> highest seq applied): a proposer that re-sends
 * a batch after a leader change cannot get it applied twice. The node that
 * collected a batch (origin == ours) writes each reply into the waiting
 * client's slot; a leader writes the replies of a batch a follower
 * forwarded into that follower's PARLEY.FWD reply; everyone else discards
 * them.
 *
 * Snapshots hold the keyspace plus this layer's own replicated state (the
 * last entry time, the dedup table, the members' client addresses and
 * election timeouts, the last leader announcement, and who skips which
 * entry) in the keyspace snapshot's aux section, all under one checksum.
 *
 * repl_fsm_new() (fsm.h) gives the same state machine without a node, for
 * the deterministic simulation (tests/unit/test_sim.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/cmd.h"
#include "repl/fsm.h"
#include "repl/internal.h"
#include "store/snapshot.h"

/* Origins not seen for this long are dropped from the dedup table: no
 * proposer re-sends a batch that old (request-timeout-ms is far lower). */
#define DEDUP_FORGET_MS (3600 * 1000)
/* At most REPL_DEDUP_MAX origins (fsm.h): one per proposer process (node
 * restarts, and whatever PARLEY.FWD names); past it the one seen longest
 * ago goes. */
#define DEDUP_MAX REPL_DEDUP_MAX

/* --------------------------------------------------------------------
 * Dedup table and members (replicated state)
 * ------------------------------------------------------------------ */

/* What a member registered: where its clients connect, and with
 * tls-cluster where other nodes reach its tls-port ("" if it did not say). */
struct member_addrs {
    char *client, *tls;
    unsigned protocol; /* the protocol version it supports; 0: it did not say */
};

static void free_member(struct dict_entry *e)
{
    struct member_addrs *m = e->v.ptr;
    if (m) {
        free(m->client);
        free(m->tls);
        free(m);
    }
    e->v.ptr = NULL;
}

static char *text_dup(const char *p, size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = '\0';
    return copy;
}

/* Replaces the addresses of e (a members entry) with these. */
static void member_store(struct dict_entry *e, const char *client, size_t client_len,
                         const char *tls, size_t tls_len, unsigned protocol)
{
    free_member(e);
    struct member_addrs *m = xmalloc(sizeof *m);
    m->client = text_dup(client, client_len);
    m->tls = text_dup(tls, tls_len);
    m->protocol = protocol;
    e->v.ptr = m;
}

/* Drops the origin seen longest ago (the smallest origin among equals):
 * the same choice on every replica, whose tables are the same. O(n), and
 * only when the table is full. */
static void dedup_evict_oldest(struct repl *r, uint64_t keep)
{
    struct dict_iter it;
    dict_iter_init(&it, &r->machine.dedup);
    struct dict_entry *e, *oldest = NULL;
    uint64_t oldest_origin = 0;
    while ((e = dict_iter_next(&it)) != NULL) {
        uint64_t origin;
        memcpy(&origin, e->key, sizeof origin);
        if (origin == keep) continue;
        if (oldest == NULL || e->aux < oldest->aux ||
            (e->aux == oldest->aux && origin < oldest_origin)) {
            oldest = e;
            oldest_origin = origin;
        }
    }
    CHECK(oldest != NULL);
    dict_delete(&r->machine.dedup, &oldest_origin, sizeof oldest_origin);
}

/* Returns true if (origin, seq) was applied before; records it otherwise:
 * an origin's recorded sequence number only grows. */
static bool dedup_seen(struct repl *r, uint64_t origin, uint64_t seq)
{
    bool created;
    struct dict_entry *e = dict_upsert(&r->machine.dedup, &origin, sizeof origin, &created);
    if (!created && seq <= (uint64_t)e->v.i) return true;
    CHECK(created || seq > (uint64_t)e->v.i);
    e->v.i = (int64_t)seq;
    e->aux = r->machine.apply_time_ms;
    if (created && dict_size(&r->machine.dedup) > DEDUP_MAX) dedup_evict_oldest(r, origin);
    CHECK(dict_size(&r->machine.dedup) <= DEDUP_MAX);
    return false;
}

/* Drops origins idle for DEDUP_FORGET_MS. Runs when the entry time enters
 * a new minute: that depends only on replicated state, so every replica
 * sweeps at the same entry and the tables stay identical. */
static void dedup_sweep(struct repl *r, int64_t previous_time_ms)
{
    if (previous_time_ms / 60000 == r->machine.apply_time_ms / 60000) return;
    struct buf doomed = BUF_INIT;
    struct dict_iter it;
    dict_iter_init(&it, &r->machine.dedup);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL)
        if (r->machine.apply_time_ms - e->aux > DEDUP_FORGET_MS) buf_append(&doomed, e->key, sizeof(uint64_t));
    for (size_t off = 0; off < doomed.len; off += sizeof(uint64_t))
        dict_delete(&r->machine.dedup, doomed.data + off, sizeof(uint64_t));
    buf_free(&doomed);
}

/* members: node id (decimal) -> struct member_addrs; aux = its election
 * timeout in ms (0 while unknown), which bounds the read lease (propose.c).
 * The timeout argument may carry the protocol version the node supports
 * ("1000,2", version.c); older builds wrote none (0 here).
 * tls is NULL when the record carried no TLS address (entries written
 * before tls-cluster reached the forwarding link, or without tls-cluster):
 * the member then has none. */
static void set_member(struct repl *r, uint64_t node, const struct resp_arg *client,
                       const struct resp_arg *tls, const struct resp_arg *timeout)
{
    char key[24];
    int klen = snprintf(key, sizeof key, "%" PRIu64, node);
    uint64_t election_timeout_ms;
    unsigned protocol;
    version_parse_registration(timeout, &election_timeout_ms, &protocol);
    bool created;
    struct dict_entry *e = dict_upsert(&r->machine.members, key, (size_t)klen, &created);
    member_store(e, client->ptr, client->len, tls ? tls->ptr : "", tls ? tls->len : 0, protocol);
    if (election_timeout_ms) e->aux = (int64_t)election_timeout_ms;
    if (node == r->cfg.node_id && election_timeout_ms)
        node_election_timeout_registered(r, (unsigned)election_timeout_ms);
}

static struct dict_entry *find_member(struct repl *r, uint64_t node)
{
    char key[24];
    int klen = snprintf(key, sizeof key, "%" PRIu64, node);
    return dict_find(&r->machine.members, key, (size_t)klen);
}

const char *repl_member_client_addr(struct repl *r, uint64_t node)
{
    struct dict_entry *e = find_member(r, node);
    return e ? ((struct member_addrs *)e->v.ptr)->client : NULL;
}

const char *repl_member_tls_addr(struct repl *r, uint64_t node)
{
    struct dict_entry *e = find_member(r, node);
    return e ? ((struct member_addrs *)e->v.ptr)->tls : NULL;
}

unsigned repl_member_election_timeout(struct repl *r, uint64_t node)
{
    struct dict_entry *e = find_member(r, node);
    return e ? (unsigned)e->aux : 0;
}

unsigned repl_member_protocol(struct repl *r, uint64_t node)
{
    struct dict_entry *e = find_member(r, node);
    return e ? ((struct member_addrs *)e->v.ptr)->protocol : 0;
}

uint64_t repl_arg_u64(const struct resp_arg *a)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(a->len < 30 ? a->len : 30), a->ptr);
    return strtoull(tmp, NULL, 10);
}

/* --------------------------------------------------------------------
 * Forwarded batches waiting at the leader
 * ------------------------------------------------------------------ */

struct foreign *foreign_take(struct repl *r, uint64_t origin, uint64_t seq)
{
    struct foreign **p = &r->prop.foreign_head, *prev = NULL;
    for (; *p; prev = *p, p = &(*p)->next) {
        struct foreign *f = *p;
        if (f->origin == origin && f->seq == seq) {
            *p = f->next;
            if (r->prop.foreign_tail == f) r->prop.foreign_tail = prev;
            return f;
        }
    }
    return NULL;
}

void foreign_fail_all(struct repl *r, const char *error)
{
    while (r->prop.foreign_head) {
        struct foreign *f = r->prop.foreign_head;
        r->prop.foreign_head = f->next;
        slot_answer(f->slot, error, strlen(error));
        free(f);
    }
    r->prop.foreign_tail = NULL;
}

/* --------------------------------------------------------------------
 * Apply
 * ------------------------------------------------------------------ */

/* __leader <node id> <term> <client address> <election timeout ms>
 *          [<TLS client address>] */
static void apply_announce(struct repl *r, const struct entry_batch *b, int argc,
                           const struct resp_arg *argv)
{
    if (argc != 5 && argc != 6) return;
    uint64_t node = repl_arg_u64(&argv[1]), term = repl_arg_u64(&argv[2]);
    wipeguard_registered(r, node, b->origin);
    set_member(r, node, &argv[3], argc == 6 ? &argv[5] : NULL, &argv[4]);
    pubsub_set_node_origin(&r->store->pubsub, node, b->origin);
    if (term < r->machine.announced_term) return;
    r->machine.announced_node = node;
    r->machine.announced_term = term;
    if (b->origin == r->prop.origin && node == r->cfg.node_id) r->lease.ready_term = term;
    log_msg(LOG_VERBOSE, "Node %" PRIu64 " leads term %" PRIu64 " (clients at %.*s)", node, term,
            (int)argv[3].len, argv[3].ptr);
}

/* __member <node id> <client address> <election timeout ms> [<TLS client
 * address>]: every node registers itself after each leader change. */
static void apply_member(struct repl *r, const struct entry_batch *b, int argc,
                         const struct resp_arg *argv)
{
    if (argc != 4 && argc != 5) return;
    wipeguard_registered(r, repl_arg_u64(&argv[1]), b->origin);
    set_member(r, repl_arg_u64(&argv[1]), &argv[2], argc == 5 ? &argv[4] : NULL, &argv[3]);
    /* The node's previous process is gone: so are its subscriptions. */
    pubsub_set_node_origin(&r->store->pubsub, repl_arg_u64(&argv[1]), b->origin);
}

static bool is_word(const struct resp_arg *a, const char *word)
{
    return a->len == strlen(word) && memcmp(a->ptr, word, a->len) == 0;
}

/* Runs one command; returns true if it blocked (wrote no reply). */
static bool exec_command(struct repl *r, const struct entry_header *h, uint64_t origin,
                         uint64_t index, const struct entry_command *ec,
                         const struct resp_arg *argv, struct buf *dest)
{
    uint32_t minted = 0;
    struct cmd_ctx c = {
        .log_index = r->machine.applying_index,
        .log_command = (uint32_t)(index < UINT32_MAX ? index : UINT32_MAX),
        .tokens_minted = &minted,
        .store = r->store,
        .db = ec->db,
        .now_ms = r->machine.apply_time_ms,
        .rng = h->seed + index * 0x9e3779b97f4a7c15ull,
        .apply = true,
        .origin = origin,
        .max_bulk_len = h->max_bulk_len,
        .script_budget = h->script_budget,
        .script_memory = h->script_memory,
        .out = {dest, ec->proto == 3 ? 3 : 2},
        .argc = ec->argc,
        .argv = argv,
    };
    const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len, true);
    if (d && (d->flags & CMD_CONTAINER))
        d = ec->argc >= 2 ? cmd_lookup_sub(d, argv[1].ptr, argv[1].len) : NULL;
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, ec->argc) || ec->db >= STORE_DBS) {
        /* Every node of this build answers the same error. A build that
         * knows the command would run it: between builds that respect
         * protocol versions (version.c) that cannot happen, so say so
         * (once per entry) rather than let a replica drift unnoticed. */
        static uint64_t warned_index;
        if (d == NULL && warned_index != r->machine.applying_index) {
            warned_index = r->machine.applying_index;
            log_warn("Log entry %" PRIu64 " holds a command this build does not know ('%.*s'): "
                     "answered with an error here; a build that knows it would run it (see "
                     "\"Upgrades\" in the README)",
                     r->machine.applying_index, (int)(argv[0].len < 64 ? argv[0].len : 64),
                     argv[0].ptr);
        }
        resp_error(&c.out, "ERR command cannot be applied from the log");
        return false;
    }
    /* A command of a protocol version this build does not support: only a
     * build that claims less than it has (a test's) can meet one, since
     * the entry carrying it says that version too (version.c). */
    if (cmd_protocol_of(d) > r->version.supported) {
        version_refuse_command(r, d);
        resp_error(&c.out, "ERR command cannot be applied from the log");
        return false;
    }
    c.cmd = d;
    /* The leader's active expiry deletes keys here, when its __expire
     * applies: that is this node's "expire-cycle" latency (LATENCY). */
    bool expiry = r->hooks.on_latency && is_word(&argv[0], "__expire");
    int64_t start_us = expiry ? clock_mono_us() : 0;
    cmd_exec(&c);
    if (expiry) r->hooks.on_latency(r->hooks.ctx, "expire-cycle", (clock_mono_us() - start_us) / 1000);
    r->machine.commands_applied++;
    return c.blocked;
}

static void apply_batch(struct repl *r, const struct entry_header *h, const struct entry_batch *b,
                        uint64_t *index)
{
    bool mine = b->origin == r->prop.origin;
    struct batch *own = mine ? propose_find_pending(r, b->seq) : NULL;
    /* Our own batch: its body is the one we encoded. */
    CHECK(own == NULL || own->n == b->n_commands);
    struct foreign *fo = mine ? NULL : foreign_take(r, b->origin, b->seq);
    if (dedup_seen(r, b->origin, b->seq)) {
        r->machine.duplicates_skipped++;
        if (fo) {
            const char *dup = "-PARLEYDUP batch already applied\r\n";
            slot_answer(fo->slot, dup, strlen(dup));
            free(fo);
        }
        return;
    }
    /* Our batches reach the log in seq order (propose.c); one still pending
     * below this one could only be skipped as a duplicate from now on. */
    if (mine) propose_overtaken(r, b->seq);
    struct command_reader cr;
    command_reader_init(&cr, b->body, b->body_len);
    struct entry_command ec;
    uint32_t i = 0;
    int rc;
    if (fo) {
        buf_clear(&r->machine.fwd_reply);
        buf_printf(&r->machine.fwd_reply, "*%u\r\n", b->n_commands);
    }
    for (;;) {
        if ((rc = command_next_in(&cr, &ec, &r->machine.args)) <= 0) break;
        CHECK(ec.argc > 0 && ec.argc <= r->machine.args.cap);
        const struct resp_arg *argv = r->machine.args.argv;
        (*index)++;
        struct reply_slot *slot = own && i < own->n ? own->slots[i] : NULL;
        struct buf *dest = slot && !slot->overflowed ? &slot->reply : &r->machine.scratch;
        buf_clear(&r->machine.scratch);
        size_t before = dest->len;
        bool blocked = false;
        /* For the fatal-signal report (poison.c): pointers, no formatting. */
        apply_record.command = (uint32_t)*index;
        apply_record.argv = argv;
        apply_record.argc = ec.argc;
        if (is_word(&argv[0], ANNOUNCE_CMD)) {
            apply_announce(r, b, ec.argc, argv);
            buf_append_str(dest, "+OK\r\n");
        } else if (is_word(&argv[0], MEMBER_CMD)) {
            apply_member(r, b, ec.argc, argv);
            buf_append_str(dest, "+OK\r\n");
        } else if (is_word(&argv[0], VERSION_CMD)) {
            version_apply_raise(r, ec.argc, argv);
            buf_append_str(dest, "+OK\r\n");
        } else if (poison_skips_entry(r)) {
            /* Everything else of the entry this node was told to skip. */
            poison_skip_command(r, (uint32_t)*index, ec.argc, argv, dest);
        } else if (is_word(&argv[0], DIVERGENCE_CHECK_CMD)) {
            divergence_apply(r, b, ec.argc, argv);
            buf_append_str(dest, "+OK\r\n");
        } else if (is_word(&argv[0], SKIPPED_CMD)) {
            poison_apply_skipped(r, ec.argc, argv);
            buf_append_str(dest, "+OK\r\n");
        } else {
            r->machine.applying_slot = slot;
            blocked = exec_command(r, h, b->origin, *index, &ec, argv, dest);
            r->machine.applying_slot = NULL;
        }
        apply_record.argc = 0;
        if (fo) {
            /* An empty element tells the follower its command blocked. */
            buf_printf(&r->machine.fwd_reply, "$%zu\r\n", r->machine.scratch.len);
            buf_append(&r->machine.fwd_reply, r->machine.scratch.data, r->machine.scratch.len);
            buf_append_str(&r->machine.fwd_reply, "\r\n");
        }
        if (slot && slot->owner == NULL && !blocked && r->hooks.on_orphan_reply)
            r->hooks.on_orphan_reply(r->hooks.ctx, ec.db, ec.argc, argv, dest->data + before,
                                     dest->len - before);
        if (slot && slot->max_bytes && slot->reply.len > slot->max_bytes) {
            slot->overflowed = true;
            buf_free(&slot->reply);
        }
        if (slot && blocked) {
            /* The slot keeps counting the command: the server holds it,
             * with the command of its wait note if it left one (note.c).
             * The note is no reply: it is cut off before the server sees
             * the slot, which it may answer (a waiter that timed out) or
             * let go (its client left) from inside on_blocked; the note's
             * bytes stay where they are for the call. */
            struct resp_arg *note_argv = NULL;
            int note_argc = note_parse(dest->data + before, dest->len - before, &note_argv);
            dest->len = before;
            if (r->hooks.on_blocked)
                r->hooks.on_blocked(r->hooks.ctx, slot, ec.db, ec.proto, note_argc ? note_argc : ec.argc,
                                    note_argc ? note_argv : argv);
            free(note_argv);
        } else if (slot) {
            CHECK(slot->pending > 0);
            slot->pending--;
            if (slot->pending == 0 && slot->on_ready) slot->on_ready(slot);
        }
        if (own && i < own->n) own->slots[i] = NULL;
        i++;
    }
    if (rc < 0) log_warn("Malformed batch from origin %016" PRIx64 " (applied %u commands)",
                         b->origin, i);
    argv_room_trim(&r->machine.args);
    if (own) propose_on_applied_own(r, own);
    if (fo) {
        slot_answer(fo->slot, r->machine.fwd_reply.data, r->machine.fwd_reply.len);
        free(fo);
    }
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct repl *r = fsm->data;
    *result = NULL;
    struct entry_reader er;
    struct entry_header h;
    /* libraft applies entries in order and sets last_applied after each
     * (also from inside raft_start, replaying the log of a single voter).
     * A state machine without a node (fsm.h) has no raft of its own. */
    bool have_raft = r->loop != NULL || r->node.raft_started;
    r->machine.applying_index = have_raft ? raft_last_applied(r->raft) + 1 : 0;
    /* Only committed entries are applied. */
    CHECK(!have_raft || r->machine.applying_index <= raft_commit_index(r->raft));
    apply_record.index = r->machine.applying_index;
    /* An entry newer than this build: stop before applying any of it. */
    if (!version_check_entry(r, buf->base, buf->len)) {
        r->machine.applying_index = apply_record.index = 0;
        return 0;
    }
    /* The commands' gate (cmds/cmd.h) reads this state machine's version. */
    cmd_protocol_set_active(r->machine.active_version);
    if (!entry_read_header(&er, buf->base, buf->len, &h)) {
        log_warn("Skipping a log entry that is not a Parley entry (%zu bytes) at index %" PRIu64,
                 buf->len, r->machine.applying_index);
        r->machine.applying_index = apply_record.index = 0;
        return 0;
    }
    int64_t previous_time_ms = r->machine.apply_time_ms;
    if (h.time_ms > r->machine.apply_time_ms) r->machine.apply_time_ms = h.time_ms;
    watch_expire(&r->store->watch, r->machine.apply_time_ms);
    struct entry_batch b;
    uint64_t index = 0;
    int rc;
    while ((rc = entry_next_batch(&er, &b)) == 1) apply_batch(r, &h, &b, &index);
    if (rc < 0) log_warn("Malformed log entry tail ignored");
    dedup_sweep(r, previous_time_ms);
    r->machine.applying_index = apply_record.index = 0;
    return 0;
}

/* --------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------ */

/* 3 adds the apply-skip-entry records (poison.c); 2 is read as none. 4
 * adds each member's TLS client address; 2 and 3 are read as none. 5
 * (protocol version 2, repl/version.c) adds each member's protocol version
 * and the cluster's active version; older ones are read as "did not say"
 * and PROTOCOL_BASE. Version 5 is written only once the active version
 * is 2 or more: until then every member may be a build that reads 4. */
#define AUX_VERSION 5
#define AUX_VERSION_BASE 4

void fsm_encode_aux(struct repl *r, struct buf *aux)
{
    uint32_t version = r->machine.active_version >= 2 ? AUX_VERSION : AUX_VERSION_BASE;
    buf_append_u32(aux, version);
    buf_append_u64(aux, (uint64_t)r->machine.apply_time_ms);
    buf_append_u64(aux, r->machine.announced_node);
    buf_append_u64(aux, r->machine.announced_term);
    buf_append_u64(aux, dict_size(&r->machine.dedup));
    struct dict_iter it;
    dict_iter_init(&it, &r->machine.dedup);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        uint64_t origin;
        memcpy(&origin, e->key, sizeof origin);
        buf_append_u64(aux, origin);
        buf_append_u64(aux, (uint64_t)e->v.i);
        buf_append_u64(aux, (uint64_t)e->aux);
    }
    buf_append_u64(aux, dict_size(&r->machine.members));
    dict_iter_init(&it, &r->machine.members);
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct member_addrs *m = e->v.ptr;
        buf_append_u32(aux, e->klen);
        buf_append(aux, e->key, e->klen);
        buf_append_u32(aux, (uint32_t)strlen(m->client));
        buf_append_str(aux, m->client);
        buf_append_u64(aux, (uint64_t)e->aux);
        buf_append_u32(aux, (uint32_t)strlen(m->tls));
        buf_append_str(aux, m->tls);
        if (version >= 5) buf_append_u32(aux, m->protocol);
    }
    poison_encode(r, aux);
    if (version >= 5) buf_append_u32(aux, r->machine.active_version);
}

static int decode_aux(struct repl *r, const char *p, size_t len)
{
    struct reader rd;
    reader_init(&rd, p, len);
    uint32_t version;
    uint64_t time, node, term, n;
    if (reader_u32(&rd, &version)) return -1;
    if (version > AUX_VERSION) {
        version_refuse_snapshot(r, "replication state format", version, AUX_VERSION);
        return -1;
    }
    if (version < 2 || reader_u64(&rd, &time) ||
        reader_u64(&rd, &node) || reader_u64(&rd, &term) || reader_u64(&rd, &n))
        return -1;
    struct dict dedup, members;
    dict_init(&dedup, NULL);
    dict_init(&members, free_member);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t origin, seq, seen;
        if (reader_u64(&rd, &origin) || reader_u64(&rd, &seq) || reader_u64(&rd, &seen)) goto fail;
        bool created;
        struct dict_entry *e = dict_upsert(&dedup, &origin, sizeof origin, &created);
        e->v.i = (int64_t)seq;
        e->aux = (int64_t)seen;
    }
    if (reader_u64(&rd, &n)) goto fail;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t klen, alen, tlen = 0, protocol = 0;
        uint64_t timeout_ms;
        const char *key, *addr, *tls = "";
        if (reader_u32(&rd, &klen) || reader_bytes(&rd, klen, &key) || reader_u32(&rd, &alen) ||
            reader_bytes(&rd, alen, &addr) || reader_u64(&rd, &timeout_ms))
            goto fail;
        if (version >= 4 && (reader_u32(&rd, &tlen) || reader_bytes(&rd, tlen, &tls))) goto fail;
        if (version >= 5 && reader_u32(&rd, &protocol)) goto fail;
        bool created;
        struct dict_entry *e = dict_upsert(&members, key, klen, &created);
        member_store(e, addr, alen, tls, tlen, protocol);
        e->aux = (int64_t)timeout_ms;
    }
    struct skip_record skipped[SKIPPED_MAX];
    unsigned n_skipped = 0;
    if (version >= 3 && poison_decode(&rd, skipped, &n_skipped) != 0) goto fail;
    uint32_t active = PROTOCOL_BASE;
    if (version >= 5 && (reader_u32(&rd, &active) || active < PROTOCOL_BASE)) goto fail;
    if (reader_left(&rd) != 0) goto fail;
    /* Nothing replaced yet: a snapshot of a newer cluster is refused whole. */
    if (active > r->version.supported) {
        version_refuse_snapshot(r, "cluster protocol version", active, r->version.supported);
        goto fail;
    }
    memcpy(r->machine.skipped, skipped, n_skipped * sizeof *skipped);
    r->machine.n_skipped = n_skipped;
    dict_clear(&r->machine.dedup);
    dict_clear(&r->machine.members);
    r->machine.dedup = dedup;
    r->machine.members = members;
    r->machine.apply_time_ms = (int64_t)time;
    r->machine.announced_node = node;
    r->machine.announced_term = term;
    version_set_active(r, active);
    return 0;
fail:
    dict_clear(&dedup);
    dict_clear(&members);
    return -1;
}

void fsm_encode_keyspace(struct repl *r, const void *aux, size_t aux_len, struct buf *out)
{
    unsigned format = r->machine.active_version >= PROTOCOL_PACKED_SNAPSHOTS
                          ? STORE_SNAPSHOT_FORMAT
                          : STORE_SNAPSHOT_FORMAT_PLAIN;
    store_snapshot_encode_format(r->store, format, aux, aux_len, out);
}

/* The snapshot encoded on the loop: what libraft's in-memory fixture drives
 * (fsm.h). The server takes its snapshots in a child instead (snapfork.c
 * replaces this callback). */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct repl *r = fsm->data;
    struct buf aux = BUF_INIT, out = BUF_INIT;
    fsm_encode_aux(r, &aux);
    fsm_encode_keyspace(r, aux.data, aux.len, &out);
    buf_free(&aux);
    *bufs = raft_malloc(sizeof **bufs);
    if (*bufs == NULL) {
        buf_free(&out);
        return RAFT_NOMEM;
    }
    size_t len;
    (*bufs)[0].base = buf_detach(&out, &len);
    (*bufs)[0].len = len;
    *n_bufs = 1;
    log_msg(LOG_VERBOSE, "Snapshot taken at index %llu (%zu bytes)",
            (unsigned long long)raft_last_applied(r->raft), len);
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    for (unsigned i = 0; i < *n_bufs; i++) free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct repl *r = fsm->data;
    char why[160];
    const char *aux;
    size_t aux_len;
    unsigned format = store_snapshot_format(buf->base, buf->len);
    if (format > STORE_SNAPSHOT_FORMAT) {
        version_refuse_snapshot(r, "keyspace format", format, STORE_SNAPSHOT_FORMAT);
        return RAFT_CORRUPT;
    }
    struct store *fresh = store_snapshot_decode(buf->base, buf->len, &aux, &aux_len, why, sizeof why);
    if (fresh == NULL) {
        log_warn("Refusing to load the Raft snapshot in %s: %s. The snapshot is corrupt; "
                 "restore the data directory from a healthy replica.", r->node.dir, why);
        return RAFT_CORRUPT;
    }
    if (decode_aux(r, aux, aux_len) != 0) {
        log_warn("Refusing to load the Raft snapshot in %s: its replication state is malformed",
                 r->node.dir);
        store_free(fresh);
        return RAFT_CORRUPT;
    }
    /* Keep the caller's store pointer: swap the contents in. */
    struct store tmp = *r->store;
    *r->store = *fresh;
    *fresh = tmp;
    /* What belongs to this process, not to the replicated state, stays. */
    r->store->expired_keys = tmp.expired_keys;
    r->store->on_touch = tmp.on_touch;
    r->store->touch_arg = tmp.touch_arg;
    r->store->on_message = tmp.on_message;
    r->store->on_subscriptions = tmp.on_subscriptions;
    r->store->pubsub_arg = tmp.pubsub_arg;
    r->store->notify_flags = tmp.notify_flags;
    r->store->on_notify = tmp.on_notify;
    store_free_lazily(fresh); /* the keyspace replaced: its keys on the free thread */
    /* Any key may have changed without an apply to say so: the clients
     * blocked on this node try again, as after FLUSHALL. (A push that came
     * inside the snapshot left its waiter waiting for its own timeout.) */
    if (r->store->on_touch)
        for (int db = 0; db < STORE_DBS; db++) r->store->on_touch(r->store->touch_arg, db, NULL, 0);
    divergence_forget(r);
    raft_free(buf->base);
    log_info("Loaded a snapshot of %zu bytes", buf->len);
    return 0;
}

void fsm_init(struct repl *r)
{
    dict_init(&r->machine.dedup, NULL);
    dict_init(&r->machine.members, free_member);
    version_init(r);
    r->machine.fsm.version = 2;
    r->machine.fsm.data = r;
    r->machine.fsm.apply = fsm_apply;
    r->machine.fsm.snapshot = fsm_snapshot;
    r->machine.fsm.restore = fsm_restore;
    r->machine.fsm.snapshot_finalize = fsm_snapshot_finalize;
    r->machine.fsm.snapshot_async = NULL;
}

void fsm_close(struct repl *r)
{
    dict_clear(&r->machine.dedup);
    dict_clear(&r->machine.members);
    argv_room_free(&r->machine.args);
    buf_free(&r->machine.scratch);
    buf_free(&r->machine.fwd_reply);
}

/* --------------------------------------------------------------------
 * The state machine alone (fsm.h)
 * ------------------------------------------------------------------ */

struct repl *repl_fsm_new(struct store *store, uint64_t node_id, uint64_t origin)
{
    struct repl *r = xcalloc(1, sizeof *r);
    r->raft = &r->node.raft_storage; /* never started: read as "no progress" */
    r->store = store;
    r->cfg.node_id = node_id;
    r->prop.origin = origin;
    r->prop.seed_rng = origin;
    r->machine.expire_rng = origin;
    r->prop.last_state = RAFT_UNAVAILABLE;
    fsm_init(r);
    return r;
}

void repl_fsm_attach(struct repl *r, struct raft *raft, const struct repl_config *cfg)
{
    uint64_t node_id = r->cfg.node_id;
    r->raft = raft;
    r->cfg = *cfg;
    r->cfg.node_id = node_id;
    free(r->node.announce_addr);
    r->node.announce_addr = xstrdup(cfg->announce_addr ? cfg->announce_addr : "");
    r->cfg.announce_addr = r->node.announce_addr;
    r->node.raft_started = true;
}

struct raft_fsm *repl_fsm_raft(struct repl *r)
{
    return &r->machine.fsm;
}

uint64_t repl_fsm_duplicates_skipped(struct repl *r)
{
    return r->machine.duplicates_skipped;
}

void repl_fsm_free(struct repl *r)
{
    const char *gone = "-ERR the simulated node is gone\r\n";
    r->node.stopping = true;
    propose_fail_all(r, gone);
    foreign_fail_all(r, gone);
    buf_free(&r->prop.foreign_bodies);
    buf_free(&r->prop.held);
    fsm_close(r);
    free(r->node.announce_addr);
    free(r);
}
