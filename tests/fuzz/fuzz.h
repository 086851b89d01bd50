/* tests/fuzz/fuzz.h — what the fuzz targets share: the failure report, a
 * strict checker of RESP replies, running one command on a store the way
 * the apply loop does, and the key/value alphabet of the command fuzzer
 * with its byte encoding (fuzz_cmds.c reads it, seeds.c writes it).
 *
 * Each fuzz_<target>.c is one libFuzzer target (tests/fuzz/README.md); this
 * file and fuzz_util.c are linked into every one of them and into the
 * seed generator (seeds.c). */
#ifndef PARLEY_FUZZ_H
#define PARLEY_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "resp/parse.h"
#include "store/keyspace.h"

/* A broken invariant: prints where and why, then aborts, which libFuzzer
 * reports as a crash with the input that caused it. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);         \
    } while (0)
void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Checks that reply[0..len) is exactly one well-formed RESP value of
 * protocol `proto` (2: no RESP3 types), every error in it starting with an
 * upper-case code ("ERR ...", "WRONGTYPE ..."); with `several`, any
 * number of them: __subscribe and __unsubscribe answer a confirmation per
 * name, and "__unsubscribe <id> a" (sent for a client that is gone, whose
 * reply nobody reads) none when there was nothing to drop. Returns NULL,
 * or why not. */
const char *fuzz_reply_problem(const char *reply, size_t len, int proto, bool several);

/* Whether a snapshot of s is a function of its contents alone: the
 * keyspace is written in its replicated order, but the subscriptions,
 * WATCH sessions and script cache in their dicts' order, which depends on
 * the insertion history, so decoding and encoding again may reorder them
 * (their contents and behaviour stay the same). Byte-exact round trips are
 * checked only when those sections are empty. */
bool fuzz_snapshot_canonical(struct store *s);
/* d, decoded from snap (a snapshot of s in the newest format, aux `aux`),
 * encodes to the same bytes; or, when s is not canonical, to as many bytes
 * unpacked (packed, another order compresses to another size). */
bool fuzz_encodes_alike(struct store *s, struct store *d, const struct buf *snap, const char *aux);

/* One command as the apply loop runs it (repl/apply.c exec_command): the
 * row found by name, internal commands included, a container's
 * subcommand, the arity checked. */
struct fuzz_run {
    struct store *store;
    int db;
    int proto;
    int64_t now_ms;
    uint64_t rng;
    uint64_t origin;
    bool no_block;
    long long max_bulk_len;
    uint64_t script_budget; /* a Lua run's work budget; 0: SANDBOX_BUDGET */
};
/* Runs argv on r->store and appends its reply to out. Returns false, with
 * nothing run, when no runnable row matches (unknown name, no exec
 * function, wrong arity). *blocked: it waits and wrote no reply. */
bool fuzz_run_command(struct fuzz_run *r, int argc, const struct resp_arg *argv, struct buf *out,
                      bool *blocked);

/* --------------------------------------------------------------------
 * The command fuzzer's input format (fuzz_cmds.c; seeds.c writes it)
 *
 * A sequence of commands, each:
 *   u8 command   index into fuzz_commands[] (modulo its size)
 *   u8 flags     bits 0-3: arguments that follow; bit 4: database 1
 *                instead of 0; bit 5: RESP3; bit 6: no_block (as inside
 *                MULTI); bit 7: a u8 follows, the clock advances by
 *                fuzz_time_steps[u8 % 8] ms before the command
 *   arguments    each a u8: bits 5-7 the alphabet, bits 0-4 the index in
 *                it (modulo its size); FUZZ_A_SPECIAL: index < 16 is a
 *                literal (u8 length, then the bytes); else a run of
 *                generated arguments (u8 n: 1 + 3n of them, in the style
 *                of index % 4, see fuzz_cmds.c), to grow collections past
 *                their compact encodings
 * Bytes missing at the end read as zero.
 * ------------------------------------------------------------------ */
enum fuzz_alphabet {
    FUZZ_A_KEY = 0,
    FUZZ_A_VALUE,
    FUZZ_A_WORD, /* the command's own keywords (fuzz_commands[].words) */
    FUZZ_A_INT,
    FUZZ_A_ID,    /* stream IDs */
    FUZZ_A_RANGE, /* scores and lexicographic bounds */
    FUZZ_A_MEMBER,
    FUZZ_A_SPECIAL,
};
#define FUZZ_ALPHABETS 8
#define FUZZ_FLAG_DB1 0x10
#define FUZZ_FLAG_RESP3 0x20
#define FUZZ_FLAG_NO_BLOCK 0x40
#define FUZZ_FLAG_TIME 0x80
#define FUZZ_MAX_ARGS_FLAG 15

/* Each alphabet: NULL-terminated strings (only FUZZ_A_KEY..FUZZ_A_MEMBER;
 * FUZZ_A_WORD is per command). */
extern const char *const *const fuzz_alphabets[FUZZ_ALPHABETS];
extern const int64_t fuzz_time_steps[8];

/* A command the fuzzer knows: its name words (a subcommand is "xgroup
 * create"), and its keywords, space separated. Names starting with '@' are
 * the fuzzer's own steps (fuzz_cmds.c). */
struct fuzz_command {
    const char *name;
    const char *words;
};
extern const struct fuzz_command fuzz_commands[];
extern const size_t fuzz_n_commands;

/* The generated arguments of FUZZ_A_SPECIAL runs: item i of a run in
 * `style` (0 integers, 1 members, 2 score-member pairs, 3 field-value
 * pairs) is one or two arguments, written into out[] with their lengths;
 * returns how many. */
#define FUZZ_GENERATED_MAX 80
int fuzz_generated(unsigned style, unsigned i, char out[2][FUZZ_GENERATED_MAX], size_t len[2]);

/* The i-th space-separated word of s (modulo their count) into out;
 * returns its length, 0 when s has none. */
size_t fuzz_word_at(const char *s, size_t i, const char **out);
size_t fuzz_word_count(const char *s);

#endif
