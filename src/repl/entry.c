/* repl/entry.c — see entry.h. */
#include "repl/entry.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/mem.h"

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void entry_write_header(struct buf *out, const struct entry_header *h)
{
    CHECK(h->protocol <= UINT8_MAX);
    buf_append_u8(out, ENTRY_VERSION);
    buf_append_u8(out, 0); /* padding: entry_finish */
    buf_append_u8(out, (uint8_t)h->protocol);
    buf_append_u8(out, 0);
    buf_append_u64(out, (uint64_t)h->time_ms);
    buf_append_u64(out, h->seed);
    buf_append_u64(out, (uint64_t)h->max_bulk_len);
    buf_append_u64(out, h->script_budget);
    buf_append_u64(out, h->script_memory);
}

size_t entry_command_bytes(int argc, const struct resp_arg *argv)
{
    if (argc <= 0) return 0;
    size_t total = ENTRY_COMMAND_HEADER_BYTES;
    for (int i = 0; i < argc; i++) {
        /* Each step adds at most 4 + ENTRY_BATCH_BODY_MAX: no overflow. */
        if (argv[i].len > ENTRY_BATCH_BODY_MAX) return 0;
        total += 4 + argv[i].len;
        if (total > ENTRY_BATCH_BODY_MAX) return 0;
    }
    return total;
}

void entry_write_command(struct buf *body, int db, int proto, int argc,
                         const struct resp_arg *argv)
{
    size_t total = entry_command_bytes(argc, argv);
    CHECK(total != 0 && db >= 0 && db <= UINT8_MAX);
    char *p = buf_reserve(body, total);
    p[0] = (char)db;
    p[1] = (char)proto;
    p[2] = p[3] = 0;
    body->len += 4;
    buf_append_u32(body, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        buf_append_u32(body, (uint32_t)argv[i].len);
        buf_append(body, argv[i].ptr, argv[i].len);
    }
}

void entry_write_batch(struct buf *out, uint64_t origin, uint64_t seq, uint32_t n_commands,
                       const void *body, size_t body_len)
{
    buf_append_u64(out, origin);
    buf_append_u64(out, seq);
    CHECK(body_len <= ENTRY_BATCH_BODY_MAX);
    buf_append_u32(out, n_commands);
    buf_append_u32(out, (uint32_t)body_len);
    buf_append(out, body, body_len);
}

void entry_finish(struct buf *out)
{
    size_t pad = (8 - out->len % 8) % 8;
    buf_append(out, "\0\0\0\0\0\0\0", pad);
    out->data[1] = (char)pad;
}

bool entry_versions(const void *data, size_t len, unsigned *format, unsigned *protocol)
{
    const unsigned char *p = data;
    if (len < 4) return false;
    *format = p[0];
    *protocol = p[2];
    return true;
}

bool entry_read_header(struct entry_reader *r, const void *data, size_t len,
                       struct entry_header *h)
{
    const unsigned char *p = data;
    size_t header = len > 0 && p[0] == 1 ? ENTRY_V1_HEADER_BYTES : ENTRY_HEADER_BYTES;
    if (len < header || (p[0] != 1 && p[0] != ENTRY_VERSION) || p[1] > 7 || len - header < p[1])
        return false;
    h->time_ms = (int64_t)get64(p + 4);
    h->seed = get64(p + 12);
    h->max_bulk_len = (int64_t)get64(p + 20);
    h->script_budget = header == ENTRY_HEADER_BYTES ? get64(p + 28) : 0;
    h->script_memory = header == ENTRY_HEADER_BYTES ? get64(p + 36) : 0;
    h->protocol = p[2];
    r->p = p + header;
    r->end = p + len - p[1];
    return true;
}

int entry_next_batch(struct entry_reader *r, struct entry_batch *b)
{
    if (r->p == r->end) return 0;
    if ((size_t)(r->end - r->p) < ENTRY_BATCH_HEADER_BYTES) return -1;
    b->origin = get64(r->p);
    b->seq = get64(r->p + 8);
    b->n_commands = get32(r->p + 16);
    b->body_len = get32(r->p + 20);
    r->p += ENTRY_BATCH_HEADER_BYTES;
    if ((size_t)(r->end - r->p) < b->body_len) return -1;
    b->body = (const char *)r->p;
    r->p += b->body_len;
    return 1;
}

void command_reader_init(struct command_reader *r, const char *body, size_t len)
{
    r->p = (const unsigned char *)body;
    r->end = r->p + len;
}

/* The argument count of the command at p (before end), checked against the
 * bytes left: each argument takes at least its 4-byte length. */
static bool read_argc(const unsigned char *p, const unsigned char *end, uint32_t *argc)
{
    if (end - p < ENTRY_COMMAND_HEADER_BYTES) return false;
    *argc = get32(p + 4);
    size_t room = (size_t)(end - p) - ENTRY_COMMAND_HEADER_BYTES;
    return *argc != 0 && *argc <= room / 4 && *argc <= INT_MAX;
}

/* Reads the command at p: its arguments into argv (when not NULL, with room
 * for them). Returns the end of the command, or NULL if it is malformed. */
static const unsigned char *read_command(const unsigned char *p, const unsigned char *end,
                                         struct resp_arg *argv)
{
    uint32_t argc;
    if (!read_argc(p, end, &argc)) return NULL;
    p += ENTRY_COMMAND_HEADER_BYTES;
    for (uint32_t i = 0; i < argc; i++) {
        if (end - p < 4) return NULL;
        uint32_t len = get32(p);
        p += 4;
        if ((size_t)(end - p) < len) return NULL;
        if (argv) {
            argv[i].ptr = (const char *)p;
            argv[i].len = len;
        }
        p += len;
    }
    return p;
}

int command_next(struct command_reader *r, struct entry_command *c, struct resp_arg *argv,
                 int argv_cap, int *need)
{
    if (r->p == r->end) return 0;
    uint32_t argc;
    if (!read_argc(r->p, r->end, &argc)) return -1;
    if (argc > (uint32_t)argv_cap) {
        *need = (int)argc;
        return -1;
    }
    const unsigned char *next = read_command(r->p, r->end, argv);
    if (next == NULL) return -1;
    c->db = r->p[0];
    c->proto = r->p[1];
    c->argc = (int)argc;
    r->p = next;
    return 1;
}

int command_next_in(struct command_reader *r, struct entry_command *c, struct argv_room *room)
{
    int need = 0, rc;
    while ((rc = command_next(r, c, room->argv, room->cap, &need)) < 0 && need > room->cap) {
        /* Bounded: need is at most a quarter of the body (entry.h). */
        room->argv = xrealloc(room->argv, (size_t)need * sizeof *room->argv);
        room->cap = need;
        need = 0;
    }
    return rc;
}

void argv_room_trim(struct argv_room *room)
{
    if (room->cap > ARGV_ROOM_KEEP) argv_room_free(room);
}

void argv_room_free(struct argv_room *room)
{
    free(room->argv);
    room->argv = NULL;
    room->cap = 0;
}

bool entry_body_valid(const char *body, size_t len, uint32_t n_commands, int max_db)
{
    const unsigned char *p = (const unsigned char *)body, *end = p + len;
    for (uint32_t i = 0; i < n_commands; i++) {
        const unsigned char *next = read_command(p, end, NULL);
        if (next == NULL || p[0] >= max_db || (p[1] != 2 && p[1] != 3)) return false;
        p = next;
    }
    return p == end;
}
