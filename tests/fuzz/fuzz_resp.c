/* tests/fuzz/fuzz_resp.c — libFuzzer target: the request parser
 * (src/resp/parse.c) on arbitrary bytes in arbitrary chunks.
 *
 * Input: u8 limits (bits 0-2 proto-max-bulk-len, bits 3-5 the largest
 * multibulk count, bits 6-7 client-query-buffer-limit, each from a small
 * table that includes tiny values), u8 seed of the chunking, then the bytes
 * a client sends. They are parsed twice, as the server's connection does
 * (net.c: drop what each command consumed, stop at the first protocol
 * error, close when the unparsed bytes exceed the query buffer limit):
 * once arriving all at once and once in chunks of pseudo-random sizes,
 * each time from a heap buffer of exactly the bytes received, so ASan
 * sees any read past them. Checked:
 *   - a command has argc >= 1, and each argument lies in the received bytes
 *     (multibulk) or in the parser's own unescaped copy (inline), inside
 *     what the command consumed;
 *   - consumed is within the buffer and never 0 for a command;
 *   - an error is one of Redis's "ERR Protocol error: ..." texts;
 *   - while a bulk is incomplete, resp_parser_wanted() is beyond what was
 *     received and within proto-max-bulk-len of it;
 *   - chunking changes nothing: the same commands with the same arguments,
 *     the same error (inputs shorter than Redis's 64 KB inline limit, past
 *     which Redis's own answer depends on how the bytes arrived), unless
 *     the query buffer limit closed the connection first (which depends on
 *     how the bytes arrived, in Redis too), in which case one run's
 *     commands are a prefix of the other's. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fuzz.h"

#define EVENTS_MAX 4096

static const long long bulk_limits[8] = {RESP_DEFAULT_MAX_BULK, 0, 1, 5, 64, 1024, 65536, 1 << 20};
static const long long args_limits[8] = {RESP_DEFAULT_MAX_ARGS, 0, 1, 2, 3, 16, 1024, INT_MAX};
static const size_t qbuf_limits[4] = {SIZE_MAX, 16, 1024, 65536};

/* What one parse of the whole stream produced: the arguments of each
 * command concatenated with their lengths (so two runs compare as bytes),
 * and how it ended. */
struct outcome {
    struct buf commands;
    size_t n_commands;
    const char *error;
    bool closed; /* the query buffer limit was exceeded */
};

static bool known_error(const char *e)
{
    static const char *const texts[] = {
        "ERR Protocol error: too big mbulk count string", "ERR Protocol error: invalid multibulk length",
        "ERR Protocol error: too big bulk count string", "ERR Protocol error: invalid bulk length",
        "ERR Protocol error: too big inline request", "ERR Protocol error: unbalanced quotes in request",
        NULL};
    for (int i = 0; texts[i]; i++)
        if (strcmp(e, texts[i]) == 0) return true;
    static const char expected[] = "ERR Protocol error: expected '$', got '";
    return strncmp(e, expected, sizeof expected - 1) == 0 && strlen(e) == sizeof expected + 1 &&
           e[sizeof expected] == '\'';
}

static bool inside(const char *p, size_t len, const char *base, size_t base_len)
{
    return p >= base && p + len <= base + base_len;
}

static void check_command(const struct resp_parser *p, const char *buf, size_t len)
{
    FUZZ_CHECK(p->argc >= 1, "a command with argc %d", p->argc);
    FUZZ_CHECK(p->consumed > 0 && p->consumed <= len, "consumed %zu of %zu", p->consumed, len);
    bool multibulk = buf[0] == '*';
    for (int i = 0; i < p->argc; i++) {
        const struct resp_arg *a = &p->argv[i];
        FUZZ_CHECK(a->ptr != NULL || a->len == 0, "argument %d has no bytes", i);
        if (multibulk)
            FUZZ_CHECK(inside(a->ptr, a->len, buf, p->consumed),
                       "argument %d is not inside the command's bytes", i);
        else
            FUZZ_CHECK(inside(a->ptr, a->len, p->inline_args.data, p->inline_args.len),
                       "inline argument %d is not inside the parser's copy", i);
    }
}

static void record(struct outcome *o, const struct resp_parser *p)
{
    buf_append_u32(&o->commands, (uint32_t)p->argc);
    for (int i = 0; i < p->argc; i++) {
        buf_append_u64(&o->commands, p->argv[i].len);
        buf_append(&o->commands, p->argv[i].ptr, p->argv[i].len);
    }
    o->n_commands++;
}

/* Parses the stream as it arrives in chunks (chunk_seed 0: all at once). */
static void parse_stream(const char *data, size_t size, long long max_bulk, long long max_args,
                         size_t qbuf_max, uint64_t chunk_seed, struct outcome *o)
{
    struct resp_parser p;
    resp_parser_init(&p);
    p.max_bulk_len = max_bulk;
    p.max_args = max_args;
    char *buf = NULL;
    size_t len = 0, fed = 0;
    uint64_t rng = chunk_seed;
    while (fed < size && o->error == NULL && !o->closed && o->n_commands < EVENTS_MAX) {
        size_t chunk = size - fed;
        if (chunk_seed) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(rng >> 33);
            size_t pick = r % 4 == 0 ? 1 : r % 4 == 1 ? 1 + (r >> 2) % 8 : 1 + (r >> 2) % 300;
            if (pick < chunk) chunk = pick;
        }
        /* An exact-size copy of what has been received and not consumed. */
        char *grown = xmalloc(len + chunk);
        if (len) memcpy(grown, buf, len);
        memcpy(grown + len, data + fed, chunk);
        free(buf);
        buf = grown;
        len += chunk;
        fed += chunk;
        if (len > qbuf_max) {
            o->closed = true;
            break;
        }
        for (;;) {
            enum resp_status st = resp_parse(&p, buf, len);
            if (st == RESP_NEED_MORE) {
                size_t wanted = resp_parser_wanted(&p);
                FUZZ_CHECK(wanted == 0 || (wanted > len && wanted - len <= (size_t)max_bulk + 2),
                           "wanted %zu with %zu bytes buffered", wanted, len);
                break;
            }
            if (st == RESP_ERROR) {
                FUZZ_CHECK(p.error != NULL && known_error(p.error), "unknown protocol error \"%s\"",
                           p.error ? p.error : "(null)");
                FUZZ_CHECK(p.consumed <= len, "error consumed %zu of %zu", p.consumed, len);
                o->error = p.error;
                break;
            }
            if (st == RESP_COMMAND) {
                check_command(&p, buf, len);
                record(o, &p);
            } else {
                FUZZ_CHECK(st == RESP_EMPTY && p.consumed > 0 && p.consumed <= len,
                           "status %d consumed %zu of %zu", st, p.consumed, len);
            }
            /* Drop the consumed bytes, into another exact-size copy. */
            size_t left = len - p.consumed;
            char *rest = xmalloc(left);
            if (left) memcpy(rest, buf + p.consumed, left);
            free(buf);
            buf = rest;
            len = left;
            if (len == 0 || o->n_commands >= EVENTS_MAX) break;
        }
    }
    free(buf);
    resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    long long max_bulk = bulk_limits[data[0] & 7];
    long long max_args = args_limits[(data[0] >> 3) & 7];
    size_t qbuf_max = qbuf_limits[data[0] >> 6];
    uint64_t seed = data[1] | 0x100u;
    const char *stream = (const char *)data + 2;
    size -= 2;

    struct outcome whole = {BUF_INIT, 0, NULL, false}, chunked = {BUF_INIT, 0, NULL, false};
    parse_stream(stream, size, max_bulk, max_args, qbuf_max, 0, &whole);
    parse_stream(stream, size, max_bulk, max_args, qbuf_max, seed, &chunked);
    if (size < RESP_INLINE_MAX && whole.n_commands < EVENTS_MAX) {
        size_t common = chunked.commands.len < whole.commands.len ? chunked.commands.len
                                                                  : whole.commands.len;
        FUZZ_CHECK(common == 0 || memcmp(chunked.commands.data, whole.commands.data, common) == 0,
                   "chunked parse gave other commands (%zu vs %zu)", chunked.n_commands,
                   whole.n_commands);
        if (!chunked.closed && !whole.closed) {
            FUZZ_CHECK(chunked.n_commands == whole.n_commands, "chunked parse gave %zu commands, whole %zu",
                       chunked.n_commands, whole.n_commands);
            FUZZ_CHECK((chunked.error == NULL) == (whole.error == NULL) &&
                           (whole.error == NULL || strcmp(chunked.error, whole.error) == 0),
                       "chunked parse ended with \"%s\", whole with \"%s\"",
                       chunked.error ? chunked.error : "-", whole.error ? whole.error : "-");
        }
    }
    buf_free(&whole.commands);
    buf_free(&chunked.commands);
    return 0;
}
