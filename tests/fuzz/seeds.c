/* tests/fuzz/seeds.c — writes the seed inputs of every fuzz target
 * (`make fuzz-seeds`: build/fuzz/seeds tests/fuzz/corpus).
 *
 * A handful of scenarios, each a list of commands as text, one per line,
 * cover every type and its encodings: strings, lists (one node and
 * several), hashes, sets and sorted sets (compact and not), streams with
 * consumer groups and pending entries, keys with expiry in two databases,
 * subscriptions, WATCH and transactions. From each the generator writes:
 *   corpus/cmds/seed-<name>      the commands in fuzz_cmds.c's format
 *   corpus/snapshot/seed-<name>  mode byte 1 and a snapshot of a store the
 *                                commands were run on (plus a script cache)
 *   corpus/entry/seed-<name>     one log entry holding the commands
 *   corpus/apply/seed-<name>     entries as fuzz_apply.c reads them: a
 *                                leader announcement, the commands a few
 *                                per entry, a batch sent twice, and a
 *                                restore's __restore/__restorelib
 *   corpus/resp/seed-<name>      the commands as a client sends them
 * plus a few hand-written request streams for the parser.
 *
 * Line syntax: optional prefixes "db1" (database 1), "r3" (RESP3), "+N"
 * (the clock moves by fuzz_time_steps[N] first), then the words; a word
 * "@run:S:N" is a run of generated arguments (fuzz.h, style S, 1 + 3N
 * items). "@exec N" and "@snapshot" are fuzz_cmds.c's own steps; for the
 * other targets @exec's commands run as they are. A line fuzz_cmds.c
 * cannot encode (a command it does not list, a word in no alphabet is
 * fine: it becomes a literal) is left out of its seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cmds/cmd.h"
#include "fuzz.h"
#include "repl/entry.h"
#include "store/snapshot.h"

#define EPOCH_MS 1700000000000ll
#define LINE_ARGS_MAX 2400
#define COMMANDS_PER_ENTRY 4

struct scenario {
    const char *name;
    const char *const *lines;
};

static const char *const strings[] = {
    "set k0 12", "incr k0", "incrbyfloat k0 3.5", "append k1 abc", "setrange k1 70 xyz",
    "set k2 v EX 100", "+3 getex k2 PERSIST", "set k3 v PX 5000 GET", "mset k4 1 {k}5 2",
    "getrange k1 0 -1", "+6 ttl k3", "getdel k4", "strlen k1", "copy k0 k4", "rename k4 k3",
    "setex k2 10 x", "@snapshot", "object encoding k1", "debug digest", NULL};

static const char *const lists[] = {
    "rpush k0 a b c", "lpush k0 0", "linsert k0 BEFORE b m1", "lpos k0 b RANK 1", "lrange k0 0 -1",
    "rpush k1 @run:3:120", "lindex k1 100", "lset k1 3 v", "ltrim k1 2 -3", "lmove k0 k2 LEFT RIGHT",
    "lrem k1 0 v", "lmpop 2 k1 k0 LEFT COUNT 2", "blpop k3 0", "rpoplpush k2 k0", "@snapshot",
    "object encoding k1", "llen k1", NULL};

static const char *const hashes[] = {
    "hset k0 f0 v f1 12", "hincrby k0 f1 5", "hincrbyfloat k0 f2 1.5", "hset k1 @run:3:20",
    "hrandfield k1 -5 WITHVALUES", "hscan k1 0 COUNT 10", "hdel k1 f3 f4", "hgetall k0",
    "hsetnx k0 f0 x", "hstrlen k0 f0", "@snapshot", "object encoding k1", "hlen k1", NULL};

static const char *const sets[] = {
    "sadd k0 1 2 3", "sadd k1 @run:0:200", "sadd k2 a b c 1", "smove k2 k0 a", "spop k1 3",
    "srandmember k1 -4", "sinterstore k3 k0 k1", "sunionstore k4 k0 k2", "sdiff k1 k0",
    "sintercard 2 k0 k1 LIMIT 2", "sscan k1 0 MATCH 1*", "@snapshot", "object encoding k1",
    "smembers k0", NULL};

static const char *const zsets[] = {
    "zadd k0 1 a 2 b 3 c", "zadd k1 @run:2:60", "zincrby k0 5 a", "zadd k0 GT CH 1 b",
    "zrangestore k2 k1 0 10 BYSCORE LIMIT 0 5", "zunionstore k3 2 k0 k1 WEIGHTS 1 2",
    "zinterstore k4 2 k0 k2 AGGREGATE MAX", "zpopmin k1 2", "zrange k0 [a + BYLEX",
    "zrangebyscore k1 (1 +inf WITHSCORES LIMIT 1 3", "zrandmember k1 -3 WITHSCORES",
    "zremrangebyrank k1 0 5", "zmpop 2 k0 k1 MAX COUNT 2", "bzpopmin k5 0", "@snapshot",
    "object encoding k1", "zscan k1 0", NULL};

static const char *const streams[] = {
    "xadd k0 * f v", "+1 xadd k0 * f v a b", "xadd k0 1700000000001-3 f v",
    "xgroup create k0 g0 0", "xgroup create k1 g1 $ MKSTREAM", "xgroup createconsumer k0 g0 c1",
    "xreadgroup GROUP g0 c0 COUNT 2 STREAMS k0 >", "+3 xpending k0 g0 - + 10",
    "xclaim k0 g0 c1 0 1700000000000-0", "xautoclaim k0 g0 c1 0 0-0 COUNT 5", "xack k0 g0 1700000000000-0",
    "xadd k1 MAXLEN ~ 10 * @run:3:60", "xtrim k1 MAXLEN = 5", "xsetid k0 1700000000005-0",
    "xdel k0 1700000000001-3", "xread COUNT 2 STREAMS k0 k1 0 0", "xinfo stream k0 FULL",
    "xinfo groups k0", "xinfo consumers k0 g0", "@snapshot", "xrange k0 - +", NULL};

static const char *const keyspace[] = {
    "set k0 1", "db1 set k1 2", "db1 expire k1 100", "move k0 1", "swapdb 0 1", "copy k1 k2 DB 1",
    "pexpire k2 50", "+5 __expire k2", "scan 0 MATCH k* COUNT 5 TYPE string", "keys *",
    "randomkey", "dbsize", "expireat k1 1700000100000 NX", "persist k1", "expiretime k1",
    "db1 flushdb", "@snapshot", "type k1", NULL};

static const char *const pubsub_multi[] = {
    "r3 __subscribe 1 c ch0", "__subscribe 2 p ch*", "publish ch0 v", "spublish ch0 v",
    "pubsub numsub ch0", "pubsub channels", "__watch 1 1", "set k0 1", "@exec 2", "incr k0",
    "get k0", "__exec 1 1 1 0 k0 1 0 2 get k0", "__exec 1 0 0 2 0 3 set k1 v 0 2 get k1",
    "__unsubscribe 1 c ch0", "@snapshot", "__unsubscribe 2 a", "pubsub numpat", NULL};

static const struct scenario scenarios[] = {
    {"strings", strings}, {"lists", lists},     {"hashes", hashes},     {"sets", sets},
    {"zsets", zsets},     {"streams", streams}, {"keyspace", keyspace}, {"pubsub-multi", pubsub_multi},
};

/* --------------------------------------------------------------------
 * One line
 * ------------------------------------------------------------------ */

struct line {
    int db, proto, time_step; /* time_step -1: the clock stays */
    int argc;
    struct resp_arg argv[LINE_ARGS_MAX];
    char text[LINE_ARGS_MAX][FUZZ_GENERATED_MAX];
    const char *words[64]; /* the words as written, "@run" kept */
    int n_words;
    char copy[512];
};

static void parse_line(const char *src, struct line *l)
{
    l->db = 0;
    l->proto = 2;
    l->time_step = -1;
    l->argc = l->n_words = 0;
    snprintf(l->copy, sizeof l->copy, "%s", src);
    char *save = NULL;
    for (char *w = strtok_r(l->copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (l->n_words == 0 && strcmp(w, "db1") == 0) l->db = 1;
        else if (l->n_words == 0 && strcmp(w, "r3") == 0) l->proto = 3;
        else if (l->n_words == 0 && w[0] == '+') l->time_step = atoi(w + 1);
        else l->words[l->n_words++] = w;
    }
    for (int i = 0; i < l->n_words; i++) {
        unsigned style, n;
        if (sscanf(l->words[i], "@run:%u:%u", &style, &n) == 2) {
            char gen[2][FUZZ_GENERATED_MAX];
            size_t len[2];
            for (unsigned k = 0; k < 1 + 3 * n; k++) {
                int m = fuzz_generated(style, k, gen, len);
                for (int j = 0; j < m && l->argc < LINE_ARGS_MAX; j++) {
                    memcpy(l->text[l->argc], gen[j], len[j]);
                    l->argv[l->argc] = (struct resp_arg){l->text[l->argc], len[j]};
                    l->argc++;
                }
            }
        } else if (l->argc < LINE_ARGS_MAX) {
            l->argv[l->argc++] = (struct resp_arg){l->words[i], strlen(l->words[i])};
        }
    }
}

static bool is_meta(const struct line *l)
{
    return l->n_words > 0 && l->words[0][0] == '@';
}

/* --------------------------------------------------------------------
 * Writing files
 * ------------------------------------------------------------------ */

static const char *root;

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/seed-%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* --------------------------------------------------------------------
 * cmds: the fuzzer's own encoding
 * ------------------------------------------------------------------ */

static int index_in(const char *const *list, const char *w)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], w) == 0) return i;
    return -1;
}

/* Appends the line in fuzz_cmds.c's format; false if it cannot. */
static bool encode_line(const struct line *l, struct buf *out)
{
    if (l->n_words == 0) return false;
    size_t start = out->len;
    /* The longest name first: "xgroup create" before a bare "xgroup". */
    int best = -1, best_words = 0;
    for (size_t i = 0; i < fuzz_n_commands; i++) {
        const char *name = fuzz_commands[i].name;
        int n = (int)fuzz_word_count(name);
        if (n > l->n_words || n <= best_words) continue;
        bool match = true;
        for (int k = 0; k < n && match; k++) {
            const char *w;
            size_t len = fuzz_word_at(name, (size_t)k, &w);
            match = strlen(l->words[k]) == len && strncasecmp(w, l->words[k], len) == 0;
        }
        if (match) {
            best = (int)i;
            best_words = n;
        }
    }
    if (best < 0) return false;
    int nargs = l->n_words - best_words;
    const char *first = fuzz_commands[best].name;
    if (strcmp(first, "@exec") == 0) nargs = atoi(l->words[1]);
    else if (first[0] == '@') nargs = 0;
    if (nargs > FUZZ_MAX_ARGS_FLAG) return false;
    unsigned flags = (unsigned)nargs | (l->db ? FUZZ_FLAG_DB1 : 0) | (l->proto == 3 ? FUZZ_FLAG_RESP3 : 0) |
                     (l->time_step >= 0 ? FUZZ_FLAG_TIME : 0);
    buf_append_u8(out, (uint8_t)best);
    buf_append_u8(out, (uint8_t)flags);
    if (l->time_step >= 0) buf_append_u8(out, (uint8_t)l->time_step);
    if (first[0] == '@') return true;
    const char *words = fuzz_commands[best].words;
    for (int k = best_words; k < l->n_words; k++) {
        const char *w = l->words[k];
        unsigned style, n;
        if (sscanf(w, "@run:%u:%u", &style, &n) == 2) {
            buf_append_u8(out, (uint8_t)(FUZZ_A_SPECIAL << 5 | (16 + style)));
            buf_append_u8(out, (uint8_t)n);
            continue;
        }
        int found = -1, alphabet = -1;
        for (size_t i = 0; i < fuzz_word_count(words) && found < 0; i++) {
            const char *kw;
            size_t len = fuzz_word_at(words, i, &kw);
            if (strlen(w) == len && strncmp(kw, w, len) == 0) found = (int)i, alphabet = FUZZ_A_WORD;
        }
        static const int order[] = {FUZZ_A_KEY, FUZZ_A_MEMBER, FUZZ_A_VALUE, FUZZ_A_INT, FUZZ_A_ID,
                                    FUZZ_A_RANGE};
        for (size_t i = 0; i < sizeof order / sizeof *order && found < 0; i++) {
            found = index_in(fuzz_alphabets[order[i]], w);
            alphabet = order[i];
        }
        if (found >= 0 && found < 32) {
            buf_append_u8(out, (uint8_t)(alphabet << 5 | found));
        } else {
            size_t len = strlen(w);
            if (len > 255) {
                out->len = start;
                return false;
            }
            buf_append_u8(out, FUZZ_A_SPECIAL << 5);
            buf_append_u8(out, (uint8_t)len);
            buf_append(out, w, len);
        }
    }
    return true;
}

/* --------------------------------------------------------------------
 * The other targets
 * ------------------------------------------------------------------ */

static void run_on(struct store *s, const struct line *l, int64_t now_ms, uint64_t n)
{
    struct fuzz_run r = {.store = s, .db = l->db, .proto = l->proto, .now_ms = now_ms,
                         .rng = n * 0x9e3779b97f4a7c15ull, .origin = 1, .no_block = false,
                         .max_bulk_len = 1 << 20};
    struct buf reply = BUF_INIT;
    bool blocked;
    if (!fuzz_run_command(&r, l->argc, l->argv, &reply, &blocked)) {
        fprintf(stderr, "seeds: \"%s\" does not run\n", l->copy);
        exit(1);
    }
    buf_free(&reply);
}

static void add_entry(struct buf *apply_seed, const struct buf *entry)
{
    buf_append_u8(apply_seed, (uint8_t)(entry->len & 0xff));
    buf_append_u8(apply_seed, (uint8_t)(entry->len >> 8));
    buf_append(apply_seed, entry->data, entry->len);
}

static void start_entry(struct buf *entry, int64_t now_ms, uint64_t seed)
{
    buf_clear(entry);
    struct entry_header h = {.time_ms = now_ms, .seed = seed, .max_bulk_len = 1 << 20};
    entry_write_header(entry, &h);
}

static void seal_batch(struct buf *entry, uint64_t origin, uint64_t seq, uint32_t n,
                       struct buf *body)
{
    entry_write_batch(entry, origin, seq, n, body->data, body->len);
    buf_clear(body);
}

static void write_resp(struct buf *out, const struct line *l)
{
    buf_printf(out, "*%d\r\n", l->argc);
    for (int i = 0; i < l->argc; i++) {
        buf_printf(out, "$%zu\r\n", l->argv[i].len);
        buf_append(out, l->argv[i].ptr, l->argv[i].len);
        buf_append_str(out, "\r\n");
    }
}

static void scenario_seeds(const struct scenario *sc)
{
    static struct line l; /* large: not on the stack */
    struct buf cmds = BUF_INIT, resp = BUF_INIT, apply = BUF_INIT, entry = BUF_INIT,
               whole = BUF_INIT, body = BUF_INIT, whole_body = BUF_INIT, last = BUF_INIT;
    struct store *s = store_new();
    int64_t now_ms = EPOCH_MS;
    uint64_t n = 0, seq = 1;
    uint32_t in_body = 0, in_whole = 0;
    /* node 1's origin in fuzz_apply.c, so its own-batch path runs too */
    const uint64_t origin = (1ull << 32) | 0xabcdu, foreign = 99;
    buf_append_u8(&resp, 0);    /* Redis's limits */
    buf_append_u8(&resp, 0x5a); /* chunking */

    start_entry(&entry, now_ms, 1);
    struct line ann;
    parse_line("__leader 1 1 127.0.0.1:6379 1000", &ann);
    entry_write_command(&body, 0, 2, ann.argc, ann.argv);
    parse_line("__member 2 127.0.0.1:6380 1000", &ann);
    entry_write_command(&body, 0, 2, ann.argc, ann.argv);
    seal_batch(&entry, foreign, 1, 2, &body);
    start_entry(&whole, now_ms, 1);

    for (int i = 0; sc->lines[i]; i++) {
        parse_line(sc->lines[i], &l);
        encode_line(&l, &cmds);
        if (l.time_step >= 0) now_ms += fuzz_time_steps[l.time_step];
        if (is_meta(&l)) continue;
        run_on(s, &l, now_ms, ++n);
        write_resp(&resp, &l);
        entry_write_command(&body, l.db, l.proto, l.argc, l.argv);
        entry_write_command(&whole_body, l.db, l.proto, l.argc, l.argv);
        in_whole++;
        if (++in_body == COMMANDS_PER_ENTRY || l.time_step >= 0) {
            /* Alternate the proposer: node 1's own batches and another's. */
            seal_batch(&entry, seq % 2 ? origin : foreign, seq, in_body, &body);
            seq++;
            in_body = 0;
            entry_finish(&entry);
            add_entry(&apply, &entry);
            buf_clear(&last);
            buf_append(&last, entry.data, entry.len);
            start_entry(&entry, now_ms, seq);
        }
    }
    if (in_body) seal_batch(&entry, foreign, seq, in_body, &body);
    entry_finish(&entry);
    add_entry(&apply, &entry);
    add_entry(&apply, &last); /* sent twice: dedup skips it */
    seal_batch(&whole, foreign, 1, in_whole, &whole_body);
    entry_finish(&whole);

    /* A backup's restore (server/restore.c): some of database 0's keys as
     * one __restore chunk, and a FUNCTION library. */
    struct buf records = BUF_INIT;
    for (uint64_t i = 0; i < store_db_size(s, 0) && records.len < 3000; i++)
        store_snapshot_encode_key(s, 0, store_key_at(s, 0, i), &records);
    if (records.len) {
        start_entry(&entry, now_ms, seq + 1);
        struct resp_arg rargv[3] = {{"__restore", 9}, {records.data, records.len}};
        entry_write_command(&body, 0, 2, 2, rargv);
        rargv[0] = (struct resp_arg){"__restorelib", 12};
        rargv[1] = (struct resp_arg){"lib", 3};
        rargv[2] = (struct resp_arg){"#!lua name=lib\n", 15};
        entry_write_command(&body, 0, 2, 3, rargv);
        seal_batch(&entry, foreign, seq + 1, 2, &body);
        entry_finish(&entry);
        add_entry(&apply, &entry);
    }
    buf_free(&records);

    /* A script cache and a library, so the snapshot has that section. */
    scripts_add(&s->scripts, "a42059b356c875f0717db19a51f6aaca9ae659ea", "return 1", 8);
    scripts_set_library(&s->scripts, "lib", 3, "#!lua name=lib\n", 15);
    struct buf snap = BUF_INIT;
    buf_append_u8(&snap, 1); /* fix the CRC */
    store_snapshot_encode(s, "aux", 3, &snap);

    write_seed("cmds", sc->name, cmds.data, cmds.len);
    write_seed("resp", sc->name, resp.data, resp.len);
    write_seed("entry", sc->name, whole.data, whole.len);
    write_seed("apply", sc->name, apply.data, apply.len);
    write_seed("snapshot", sc->name, snap.data, snap.len);
    store_free(s);
    struct buf *bufs[] = {&cmds, &resp, &apply, &entry, &whole, &body, &whole_body, &last, &snap};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) buf_free(bufs[i]);
}

/* Request streams the scenarios do not cover: inline commands with quotes
 * and escapes, empty lines, and each protocol error. Byte 0 picks the
 * limits (fuzz_resp.c), byte 1 the chunking. */
static void parser_seeds(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } seeds[] = {
#define SEED(n, s) {n, s, sizeof s - 1}
        SEED("inline", "\x00\x11SET k \"a\\x41\\n\" 'it\\'s'\r\nPING\n\r\n  \nGET k\n"),
        SEED("inline-quotes", "\x00\x22SET \"unbalanced\r\n"),
        SEED("inline-nul", "\x00\x33GET k\x00\r\nGET k\n"),
        SEED("empty-multibulk", "\x00\x44*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"),
        SEED("bad-count", "\x00\x55*3000000000\r\n"),
        SEED("bad-dollar", "\x00\x66*1\r\n+3\r\nabc\r\n"),
        SEED("bad-bulk", "\x00\x77*1\r\n$-1\r\n"),
        SEED("big-bulk", "\x02\x88*2\r\n$3\r\nGET\r\n$6\r\nabcdef\r\n"),
        SEED("args-limit", "\x18\x99*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n"),
        SEED("query-limit", "\x40\xaa*2\r\n$3\r\nGET\r\n$20\r\nabcdefghijabcdefghij\r\n"),
        SEED("pipeline", "\x00\x01*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"),
#undef SEED
    };
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++)
        write_seed("resp", seeds[i].name, seeds[i].bytes, seeds[i].len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    root = argv[1];
    for (int a = 0; a < FUZZ_ALPHABETS; a++) {
        const char *const *list = fuzz_alphabets[a];
        size_t n = 0;
        while (list && list[n]) n++;
        if (n > 32) {
            fprintf(stderr, "seeds: alphabet %d has %zu entries; the format indexes 32\n", a, n);
            return 1;
        }
    }
    for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) scenario_seeds(&scenarios[i]);
    parser_seeds();
    return 0;
}
