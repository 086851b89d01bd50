/* tests/fuzz/fuzz_cmds.c — libFuzzer target: sequences of keyspace
 * commands, run as the apply loop runs them.
 *
 * The input is read as commands over a small alphabet of keys, values,
 * members, integers, stream IDs and score bounds (the format is in fuzz.h),
 * so that commands keep meeting the same keys, of every type, and grow
 * them past their compact encodings. Each command runs through cmd_exec
 * with apply=true, a clock that only the input moves and a seed derived
 * from the command's position, on two stores: A, and B, which starts as
 * A's twin and is replaced by a snapshot of A (encoded, decoded) at every
 * @snapshot step. After every command:
 *   - the reply is exactly one well-formed RESP2/RESP3 value whose errors
 *     carry an upper-case code, or, when the command blocked, empty or a
 *     wait note (repl/note.c), whose command is then run as its retry;
 *   - B answered exactly the same bytes (a replica restored from a
 *     snapshot must behave as one that applied the log);
 *   - the keyspace changed (DEBUG DIGEST) only if the command reported a
 *     change (store->on_touch, which WATCH and blocked clients rely on),
 *     consumer group commands excepted (changes_groups);
 *   - an error reply changed and reported nothing, unless the command's
 *     lookups deleted expired keys;
 * at every @snapshot step, encoding A, decoding it and encoding again gives
 * the same digest and as many bytes, the same bytes where the snapshot is
 * canonical (fuzz.h); at the end A and B have one digest.
 * @exec wraps the commands after it into one __exec transaction, as the
 * server sends EXEC. Scripts have their own target (fuzz_lua.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds/cmd.h"
#include "fuzz.h"
#include "repl/internal.h"
#include "store/snapshot.h"

#define COMMANDS_MAX 256    /* per input: bounds the time of one run */
#define ARGS_MAX 2048       /* per command, generated runs included */
#define POOL_BYTES 65536    /* generated argument text, per input */
#define QUEUED_MAX 7        /* commands inside one @exec */
#define EPOCH_MS 1700000000000ll
#define MAX_BULK_LEN (1ll << 20)
#define ORIGIN 7

struct input {
    const uint8_t *p, *end;
};

static uint8_t next_byte(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

/* Text made up while decoding (numbers, generated members), valid for the
 * whole input. */
struct pool {
    char data[POOL_BYTES];
    size_t used;
};

struct args {
    struct resp_arg v[ARGS_MAX];
    int n;
};

static void push(struct args *a, const char *p, size_t len)
{
    if (a->n < ARGS_MAX) a->v[a->n++] = (struct resp_arg){p, len};
}

static void push_str(struct args *a, const char *s)
{
    push(a, s, strlen(s));
}

/* Formats n into the pool as *out; false when the pool is full. */
static bool pool_print(struct pool *pool, const char *fmt, long long n, struct resp_arg *out)
{
    size_t room = POOL_BYTES - pool->used;
    int len = snprintf(pool->data + pool->used, room, fmt, n);
    if (len < 0 || (size_t)len >= room) return false;
    *out = (struct resp_arg){pool->data + pool->used, (size_t)len};
    pool->used += (size_t)len;
    return true;
}

static void push_fmt(struct args *a, struct pool *pool, const char *fmt, long long n)
{
    struct resp_arg arg;
    if (pool_print(pool, fmt, n, &arg)) push(a, arg.ptr, arg.len);
}

static size_t count_of(const char *const *list)
{
    size_t n = 0;
    while (list[n]) n++;
    return n;
}

/* A run of generated arguments (fuzz_generated), into the pool. */
static void push_run(struct args *a, struct pool *pool, unsigned style, unsigned n)
{
    char text[2][FUZZ_GENERATED_MAX];
    size_t len[2];
    for (unsigned i = 0; i < n && a->n < ARGS_MAX; i++) {
        int k = fuzz_generated(style, i, text, len);
        for (int j = 0; j < k; j++) {
            if (POOL_BYTES - pool->used < len[j]) return;
            memcpy(pool->data + pool->used, text[j], len[j]);
            push(a, pool->data + pool->used, len[j]);
            pool->used += len[j];
        }
    }
}

static void push_arg(struct input *in, struct args *a, struct pool *pool, const char *words)
{
    uint8_t b = next_byte(in);
    unsigned alphabet = b >> 5, index = b & 31;
    const char *w;
    size_t len;
    switch (alphabet) {
    case FUZZ_A_WORD:
        len = fuzz_word_at(words, index, &w);
        if (len) push(a, w, len);
        else push_str(a, fuzz_alphabets[FUZZ_A_MEMBER][index % count_of(fuzz_alphabets[FUZZ_A_MEMBER])]);
        return;
    case FUZZ_A_SPECIAL:
        if (index < 16) {
            size_t n = next_byte(in);
            if (n > (size_t)(in->end - in->p)) n = (size_t)(in->end - in->p);
            push(a, (const char *)in->p, n);
            in->p += n;
        } else {
            push_run(a, pool, index, 1 + 3u * next_byte(in));
        }
        return;
    default: {
        const char *const *list = fuzz_alphabets[alphabet];
        push_str(a, list[index % count_of(list)]);
    }
    }
}

/* One command's header and arguments. */
struct decoded {
    const struct fuzz_command *cmd;
    int db, proto;
    bool no_block;
    int64_t advance_ms;
    unsigned flags;
};

static void decode_command(struct input *in, struct args *a, struct pool *pool, struct decoded *d)
{
    d->cmd = &fuzz_commands[next_byte(in) % fuzz_n_commands];
    d->flags = next_byte(in);
    d->db = d->flags & FUZZ_FLAG_DB1 ? 1 : 0;
    d->proto = d->flags & FUZZ_FLAG_RESP3 ? 3 : 2;
    d->no_block = (d->flags & FUZZ_FLAG_NO_BLOCK) != 0;
    d->advance_ms = d->flags & FUZZ_FLAG_TIME ? fuzz_time_steps[next_byte(in) % 8] : 0;
    a->n = 0;
    if (d->cmd->name[0] == '@') return;
    for (size_t i = 0; i < fuzz_word_count(d->cmd->name); i++) {
        const char *w;
        size_t len = fuzz_word_at(d->cmd->name, i, &w);
        push(a, w, len);
    }
    unsigned n = d->flags & FUZZ_MAX_ARGS_FLAG;
    for (unsigned i = 0; i < n; i++) push_arg(in, a, pool, d->cmd->words);
}

struct state {
    struct store *a, *b;
    struct buf out_a, out_b, snap;
    int64_t now_ms;
    uint64_t commands;
    uint64_t digest;  /* of A, after the last command */
    uint64_t touches; /* keyspace changes A reported (store->on_touch) */
    bool in_retry;    /* running a wait note's command */
    struct pool pool;
    struct args args, queued;
};

static void count_touch(void *arg, int db, const char *key, size_t klen)
{
    (void)db;
    (void)key;
    (void)klen;
    ((struct state *)arg)->touches++;
}

static void check_snapshot(struct state *s)
{
    buf_clear(&s->snap);
    store_snapshot_encode(s->a, "fuzz", 4, &s->snap);
    char err[160] = "";
    const char *aux;
    size_t aux_len;
    struct store *d = store_snapshot_decode(s->snap.data, s->snap.len, &aux, &aux_len, err, sizeof err);
    FUZZ_CHECK(d != NULL, "a snapshot of a store does not decode: %s", err);
    FUZZ_CHECK(aux_len == 4 && memcmp(aux, "fuzz", 4) == 0, "snapshot aux not kept");
    FUZZ_CHECK(store_digest(d) == store_digest(s->a), "a decoded snapshot has another digest");
    FUZZ_CHECK(fuzz_encodes_alike(s->a, d, &s->snap, "fuzz"), "a decoded snapshot encodes to other bytes");
    store_free(s->b);
    s->b = d;
}

static void show_command(int argc, const struct resp_arg *argv)
{
    fprintf(stderr, "command:");
    for (int i = 0; i < argc && i < 24; i++) fprintf(stderr, " \"%.*s\"", (int)(argv[i].len < 80 ? argv[i].len : 80), argv[i].ptr);
    fprintf(stderr, argc > 24 ? " ... (%d arguments)\n" : "\n", argc);
}

/* Consumer group commands change the group (PEL, consumers, their seen
 * times) without reporting a change of the key, as in Redis, where they do
 * not signalModifiedKey either: WATCH does not see them. */
static bool changes_groups(int argc, const struct resp_arg *argv)
{
    static const char *const names[] = {"xgroup", "xreadgroup", "xack", "xclaim", "xautoclaim",
                                        "__xreadgroup_retry", NULL};
    for (int i = 0; i < argc; i++)
        for (int k = 0; names[k]; k++)
            if (arg_is(&argv[i], names[k])) return true;
    return false;
}

static void run(struct state *s, const struct decoded *d, int argc, const struct resp_arg *argv);

/* A blocked command writes nothing, or a wait note (repl/note.c): a NUL
 * byte and the command its node retries with, which is run at once, as
 * when a key it waits on changes (a retry leaves no note of its own). */
static void check_note(struct state *s, const struct decoded *d, int argc, const struct resp_arg *argv)
{
    if (s->out_a.len == 0) return;
    const char *problem = s->out_a.data[0] != '\0' || s->out_a.len < 2 || s->out_a.data[1] != '*'
                              ? "not a wait note"
                              : fuzz_reply_problem(s->out_a.data + 1, s->out_a.len - 1, 2, false);
    if (problem) show_command(argc, argv);
    FUZZ_CHECK(problem == NULL, "a blocked command wrote a bad note (%s)", problem);
    FUZZ_CHECK(!s->in_retry, "a retry left a wait note");
    struct buf note = BUF_INIT;
    buf_append(&note, s->out_a.data, s->out_a.len);
    struct resp_arg *retry = NULL;
    int n = note_parse(note.data, note.len, &retry);
    FUZZ_CHECK(n > 0, "note_parse refuses a wait note");
    s->in_retry = true;
    run(s, d, n, retry);
    s->in_retry = false;
    free(retry);
    buf_free(&note);
}

static void run(struct state *s, const struct decoded *d, int argc, const struct resp_arg *argv)
{
    s->commands++;
    struct fuzz_run ra = {
        .store = s->a, .db = d->db, .proto = d->proto, .now_ms = s->now_ms,
        .rng = 0x5eed + s->commands * 0x9e3779b97f4a7c15ull, .origin = ORIGIN,
        .no_block = d->no_block, .max_bulk_len = MAX_BULK_LEN,
    };
    struct fuzz_run rb = ra;
    rb.store = s->b;
    buf_clear(&s->out_a);
    buf_clear(&s->out_b);
    uint64_t expired_before = s->a->expired_keys, touches_before = s->touches;
    bool blocked_a, blocked_b;
    bool ran = fuzz_run_command(&ra, argc, argv, &s->out_a, &blocked_a);
    bool ran_b = fuzz_run_command(&rb, argc, argv, &s->out_b, &blocked_b);
    if (!ran) return; /* refused before the log: unknown or wrong arity */
    if (getenv("FUZZ_VERBOSE")) {
        show_command(argc, argv);
        fprintf(stderr, "  -> %.*s\n", (int)(s->out_a.len < 300 ? s->out_a.len : 300), s->out_a.data);
    }
    FUZZ_CHECK(ran_b && blocked_a == blocked_b, "B ran differently");
    if (blocked_a) {
        check_note(s, d, argc, argv);
    } else {
        bool several = argv[0].len > 2 && memcmp(argv[0].ptr, "__", 2) == 0 &&
                       (argv[0].ptr[2] == 's' || argv[0].ptr[2] == 'u');
        const char *problem = fuzz_reply_problem(s->out_a.data, s->out_a.len, d->proto, several);
        if (problem) show_command(argc, argv);
        FUZZ_CHECK(problem == NULL, "malformed reply (%s): %.*s", problem,
                   (int)(s->out_a.len < 500 ? s->out_a.len : 500), s->out_a.data);
    }
    if (s->out_a.len != s->out_b.len ||
        (s->out_a.len > 0 && memcmp(s->out_a.data, s->out_b.data, s->out_a.len) != 0)) {
        show_command(argc, argv);
        FUZZ_CHECK(false, "the store restored from a snapshot answers otherwise:\n  A: %.*s\n  B: %.*s",
                   (int)(s->out_a.len < 300 ? s->out_a.len : 300), s->out_a.data,
                   (int)(s->out_b.len < 300 ? s->out_b.len : 300), s->out_b.data);
    }
    uint64_t digest = store_digest(s->a);
    bool touched = s->touches != touches_before, changed = digest != s->digest;
    s->digest = digest;
    if (changed && !touched && !changes_groups(argc, argv)) {
        show_command(argc, argv);
        FUZZ_CHECK(false, "the keyspace changed without a touch (WATCH and blocked clients miss it)");
    }
    if (s->out_a.len > 0 && s->out_a.data[0] == '-' && s->a->expired_keys == expired_before &&
        (changed || touched)) {
        show_command(argc, argv);
        FUZZ_CHECK(false, "an error reply %s the keyspace: %.*s", changed ? "changed" : "touched",
                   (int)s->out_a.len, s->out_a.data);
    }
}

/* __exec <client> <watched> <n keys> (<db> <key>)* <n cmds> (<db> <argc> <arg>*)* */
static void run_exec(struct state *s, struct input *in, const struct decoded *d)
{
    struct args *q = &s->queued;
    q->n = 0;
    bool watched = (d->flags & 8) != 0;
    push_str(q, "__exec");
    push_str(q, "1");
    push_str(q, watched ? "1" : "0");
    push_str(q, watched ? "1" : "0");
    if (watched) {
        push_str(q, "0");
        push_str(q, "k0");
    }
    int count_at = q->n;
    push_str(q, "0");
    unsigned n = d->flags & 7, queued = 0;
    for (unsigned i = 0; i < n && in->p < in->end; i++) {
        struct decoded sub;
        decode_command(in, &s->args, &s->pool, &sub);
        if (sub.cmd->name[0] == '@' || q->n + 2 + s->args.n > ARGS_MAX) continue;
        push_fmt(q, &s->pool, "%lld", sub.db);
        push_fmt(q, &s->pool, "%lld", s->args.n);
        for (int j = 0; j < s->args.n; j++) q->v[q->n++] = s->args.v[j];
        queued++;
    }
    pool_print(&s->pool, "%lld", queued, &q->v[count_at]);
    run(s, d, q->n, q->v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < fuzz_n_commands; i++) {
        const char *name = fuzz_commands[i].name, *w0, *w1;
        if (name[0] == '@') continue;
        size_t l0 = fuzz_word_at(name, 0, &w0), l1 = fuzz_word_at(name, 1, &w1);
        const struct cmd_def *c = cmd_lookup(w0, l0, true);
        if (c && (c->flags & CMD_CONTAINER)) c = cmd_lookup_sub(c, w1, l1);
        FUZZ_CHECK(c != NULL && c->exec != NULL, "fuzz_commands[] names \"%s\", which cannot run", name);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct state s; /* large (argument arrays, pool): not on the stack */
    s.a = store_new();
    s.b = store_new();
    s.a->on_touch = count_touch;
    s.a->touch_arg = &s;
    s.digest = store_digest(s.a);
    s.now_ms = EPOCH_MS;
    s.commands = 0;
    s.pool.used = 0;
    struct input in = {data, data + size};
    for (int i = 0; i < COMMANDS_MAX && in.p < in.end; i++) {
        struct decoded d;
        decode_command(&in, &s.args, &s.pool, &d);
        s.now_ms += d.advance_ms;
        if (strcmp(d.cmd->name, "@snapshot") == 0) check_snapshot(&s);
        else if (strcmp(d.cmd->name, "@exec") == 0) run_exec(&s, &in, &d);
        else run(&s, &d, s.args.n, s.args.v);
    }
    FUZZ_CHECK(store_digest(s.a) == store_digest(s.b), "A and B end with different digests");
    check_snapshot(&s);
    store_free(s.a);
    store_free(s.b);
    buf_free(&s.out_a);
    buf_free(&s.out_b);
    buf_free(&s.snap);
    return 0;
}
