/* tests/fuzz/fuzz_entry.c — libFuzzer target: the log entry decoder
 * (src/repl/entry.c: entry_read_header, entry_next_batch, command_next,
 * entry_body_valid) on arbitrary bytes, held in an exact-size heap copy so
 * ASan sees any read past them. Checked:
 *   - the header is refused exactly when entry.h's layout says so, and the
 *     batches then lie between the header and the padding;
 *   - every batch body and every command argument lies inside the entry;
 *     argc is between 1 and ENTRY_MAX_ARGS;
 *   - entry_body_valid() accepts a body exactly when command_next() walks
 *     it to its end in n_commands commands, each with a database below
 *     STORE_DBS and protocol 2 or 3 (what the follower link checks is what
 *     apply can read);
 *   - an entry whose batches are all valid is what the writer
 *     (entry_write_header, entry_write_command, entry_write_batch,
 *     entry_finish) writes for the decoded contents, but for the bytes
 *     entry.h calls reserved and the padding, and reads back the same. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "fuzz.h"
#include "repl/entry.h"

/* Walks one batch body; normalizes `norm` (the entry with the reserved
 * bytes of each command zeroed). Returns whether the body is valid by
 * command_next's reading, and re-encodes it into `again`. */
static bool walk_body(const struct entry_batch *b, const char *entry, size_t entry_len, char *norm,
                      struct buf *again)
{
    struct command_reader cr;
    command_reader_init(&cr, b->body, b->body_len);
    int cap = 2, need = 0, rc;
    struct resp_arg *argv = xmalloc((size_t)cap * sizeof *argv);
    uint32_t n = 0;
    bool fields_ok = true;
    for (;;) {
        size_t at = (size_t)((const char *)cr.p - entry);
        struct entry_command ec;
        rc = command_next(&cr, &ec, argv, cap, &need);
        if (rc < 0 && need > cap) {
            /* Each argument takes at least its 4-byte length. */
            FUZZ_CHECK((size_t)need <= b->body_len / 4, "command_next asks for %d arguments", need);
            cap = need;
            argv = xrealloc(argv, (size_t)cap * sizeof *argv);
            need = 0;
            continue;
        }
        if (rc <= 0) break;
        FUZZ_CHECK(ec.argc >= 1 && (size_t)ec.argc <= b->body_len / 4 && ec.argc <= cap, "argc %d",
                   ec.argc);
        for (int i = 0; i < ec.argc; i++)
            FUZZ_CHECK(argv[i].ptr >= b->body && argv[i].ptr + argv[i].len <= b->body + b->body_len,
                       "argument %d of command %u is outside its batch", i, n);
        if (ec.db >= STORE_DBS || (ec.proto != 2 && ec.proto != 3)) fields_ok = false;
        FUZZ_CHECK(at + 4 <= entry_len, "command header outside the entry");
        norm[at + 2] = norm[at + 3] = 0;
        entry_write_command(again, ec.db, ec.proto, ec.argc, argv);
        n++;
    }
    free(argv);
    return rc == 0 && fields_ok && n == b->n_commands;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *entry = xmalloc(size ? size : 1);
    if (size) memcpy(entry, data, size);
    struct entry_reader r;
    struct entry_header h;
    bool header_ok = entry_read_header(&r, entry, size, &h);
    /* Version 1 (older builds) has a shorter header, without script limits. */
    size_t header_bytes = size && data[0] == 1 ? ENTRY_V1_HEADER_BYTES : ENTRY_HEADER_BYTES;
    bool layout_ok = size >= header_bytes && (data[0] == 1 || data[0] == ENTRY_VERSION) &&
                     data[1] <= 7 && size - header_bytes >= data[1];
    FUZZ_CHECK(header_ok == layout_ok, "header %s, layout %s", header_ok ? "read" : "refused",
               layout_ok ? "fine" : "wrong");
    if (!header_ok) {
        free(entry);
        return 0;
    }
    const char *first = entry + header_bytes, *end = entry + size - data[1];
    FUZZ_CHECK((const char *)r.p == first && (const char *)r.end == end, "reader bounds");

    char *norm = xmemdup(entry, size);
    struct buf again = BUF_INIT, body = BUF_INIT;
    entry_write_header(&again, &h);
    struct entry_batch b;
    int rc;
    bool all_valid = true;
    while ((rc = entry_next_batch(&r, &b)) == 1) {
        FUZZ_CHECK(b.body >= first && b.body + b.body_len <= end, "batch body outside the entry");
        bool valid = entry_body_valid(b.body, b.body_len, b.n_commands, STORE_DBS);
        buf_clear(&body);
        bool walked = walk_body(&b, entry, size, norm, &body);
        FUZZ_CHECK(valid == walked, "entry_body_valid says %d, command_next's walk %d", valid, walked);
        all_valid = all_valid && valid;
        if (valid) {
            FUZZ_CHECK(body.len == b.body_len &&
                           (body.len == 0 || memcmp(body.data, norm + (b.body - entry), body.len) == 0),
                       "a valid body re-encodes to other bytes");
            entry_write_batch(&again, b.origin, b.seq, b.n_commands, body.data, body.len);
        }
    }
    FUZZ_CHECK(rc == 0 || rc == -1, "entry_next_batch returned %d", rc);
    if (rc == 0 && all_valid && data[0] == ENTRY_VERSION) {
        size_t core = (size_t)(end - entry);
        FUZZ_CHECK(again.len == core && memcmp(again.data + 4, norm + 4, core - 4) == 0,
                   "a valid entry re-encodes to other bytes");
        entry_finish(&again);
        struct entry_reader r2;
        struct entry_header h2;
        FUZZ_CHECK(entry_read_header(&r2, again.data, again.len, &h2) && again.len % 8 == 0 &&
                       memcmp(&h, &h2, sizeof h) == 0,
                   "a written entry does not read back");
    }
    buf_free(&again);
    buf_free(&body);
    free(norm);
    free(entry);
    return 0;
}
