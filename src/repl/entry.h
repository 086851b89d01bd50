/* repl/entry.h — the bytes of one Raft log entry.
 *
 * Every write travels as one of these. The leader builds one entry per
 * event-loop tick holding every batch of commands that tick produced:
 *
 *   header:  u8 version  u8 padding  u8 protocol  u8 reserved  u64 time_ms  u64 seed
 *            u64 max_bulk_len  u64 script_budget  u64 script_memory   (version 2 on)
 *   batches: u64 origin  u64 seq  u32 n_commands  u32 n_bytes  commands...
 *   command: u8 db  u8 proto  u16 reserved  u32 argc  (u32 len, bytes) * argc
 *
 * time_ms and seed are the leader's clock and randomness for the whole entry
 * (apply never reads its own); max_bulk_len is the leader's
 * proto-max-bulk-len, so string size limits are the same on every replica;
 * script_budget and script_memory are the limits of a Lua run (work units
 * and bytes, cmds/lua_sandbox.h) the leader's build sets, so a node of
 * another build stops a script at the same point. Version 1 entries (older
 * builds) have neither: 0 stands for this build's defaults.
 * `version` is the entry's format; `protocol` the cluster protocol version
 * (cmds/cmd.h, repl/version.c) the leader wrote it under: its active
 * version, or the version an entry raises it to. Builds before protocol
 * versions wrote 0 there (read as PROTOCOL_BASE) and never read it, so it
 * takes no new format. A node refuses an entry whose format or protocol is
 * newer than it understands, before applying any of it (version.c).
 * A batch comes from one proposer: `origin` names the node process that
 * collected it (its clients are waiting for the replies) and `seq` numbers
 * its batches, so apply can skip a batch it has already applied when a
 * proposer re-sends one after a leader change. All integers little endian.
 * libraft wants entry lengths in multiples of 8: entry_finish pads with
 * zeros and records how many in the header.
 *
 * Size limits. libraft stores an entry's length in 32 bits, so an entry is
 * at most ENTRY_BYTES_MAX bytes, and a batch body (one u32 length) at most
 * ENTRY_BATCH_BODY_MAX, which is also the largest command: one that alone
 * fills a batch in an entry of its own. There is no other limit: a command
 * may have as many arguments as its bytes allow (each takes at least the 4
 * bytes of its length), so anything the RESP parser accepts that fits in
 * those bytes can be written and read back. The proposer asks
 * entry_command_bytes() before it encodes anything: a command that does
 * not fit is refused with an error then, never written into a batch that
 * apply would have to call malformed. */
#ifndef PARLEY_REPL_ENTRY_H
#define PARLEY_REPL_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "resp/parse.h"

#define ENTRY_VERSION 2
#define ENTRY_HEADER_BYTES 44
#define ENTRY_V1_HEADER_BYTES 28
#define ENTRY_BATCH_HEADER_BYTES 24
#define ENTRY_COMMAND_HEADER_BYTES 8
/* The largest multiple of 8 that fits libraft's 32-bit entry length. */
#define ENTRY_BYTES_MAX ((size_t)UINT32_MAX & ~(size_t)7)
#define ENTRY_BATCH_BODY_MAX (ENTRY_BYTES_MAX - ENTRY_HEADER_BYTES - ENTRY_BATCH_HEADER_BYTES)

struct entry_header {
    int64_t time_ms;
    uint64_t seed;
    int64_t max_bulk_len;
    uint64_t script_budget; /* 0: the defaults */
    uint64_t script_memory;
    uint64_t protocol;      /* 0 when read: written by a build before versions (a u64:
                               the struct has no padding, fuzz_entry compares it whole) */
};

void entry_write_header(struct buf *out, const struct entry_header *h);
/* The bytes entry_write_command appends for this command, or 0 when it
 * cannot be carried at all (over ENTRY_BATCH_BODY_MAX, or no argument). */
size_t entry_command_bytes(int argc, const struct resp_arg *argv);
/* Appends one command to a batch body; it must be one that
 * entry_command_bytes() accepts. */
void entry_write_command(struct buf *body, int db, int proto, int argc,
                         const struct resp_arg *argv);
void entry_write_batch(struct buf *out, uint64_t origin, uint64_t seq, uint32_t n_commands,
                       const void *body, size_t body_len);
/* Pads the entry that starts at out->data to a multiple of 8 bytes. */
void entry_finish(struct buf *out);

/* Reading. */
struct entry_reader {
    const unsigned char *p, *end;
};

/* The entry's format and protocol versions, whatever they are (false if
 * there are not even the first bytes of a header): what a node checks
 * before reading further (repl/version.c). */
bool entry_versions(const void *data, size_t len, unsigned *format, unsigned *protocol);
/* Returns false if the bytes are not a well-formed entry header. */
bool entry_read_header(struct entry_reader *r, const void *data, size_t len,
                       struct entry_header *h);
struct entry_batch {
    uint64_t origin;
    uint64_t seq;
    uint32_t n_commands;
    const char *body;
    size_t body_len;
};
/* 1 with the next batch, 0 at the end, -1 if malformed. */
int entry_next_batch(struct entry_reader *r, struct entry_batch *b);

/* Iterates the commands of a batch body. argv must hold `argv_cap` slots;
 * returns 1 with a command, 0 at the end, -1 if malformed or over argv_cap
 * (the caller grows argv and calls again; *need tells how many). A command
 * claiming more arguments than the rest of the body could hold is
 * malformed, so *need never exceeds a quarter of the body's length. */
struct command_reader {
    const unsigned char *p, *end;
};
struct entry_command {
    int db;
    int proto;
    int argc;
};
void command_reader_init(struct command_reader *r, const char *body, size_t len);
int command_next(struct command_reader *r, struct entry_command *c, struct resp_arg *argv,
                 int argv_cap, int *need);

/* Room for one command's arguments, for walking bodies: it grows to what a
 * command needs, and argv_room_trim gives back what only an unusually
 * large command needed (a SADD of 100,000 members would otherwise keep
 * 1.6 MB for good). Zero-initialised is empty. */
struct argv_room {
    struct resp_arg *argv;
    int cap;
};
/* command_next with room grown as needed: 1 with a command (its arguments
 * in room->argv), 0 at the end, -1 if malformed. */
int command_next_in(struct command_reader *r, struct entry_command *c, struct argv_room *room);
/* Frees the room if it holds more than ARGV_ROOM_KEEP arguments. */
#define ARGV_ROOM_KEEP 1024
void argv_room_trim(struct argv_room *room);
void argv_room_free(struct argv_room *room);

/* Checks that a batch body is well formed (n_commands commands, each with
 * a valid db and proto); used on bodies that arrive from the network. */
bool entry_body_valid(const char *body, size_t len, uint32_t n_commands, int max_db);

#endif
