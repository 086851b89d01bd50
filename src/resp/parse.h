/* resp/parse.h — incremental parser for client requests.
 *
 * Parses what a Redis client sends: RESP multibulk requests
 * ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands ("GET k\r\n", what
 * a person types into nc or telnet), one command at a time, from a buffer
 * that may hold a partial command, several commands, or garbage.
 *
 * The parser never reads past `len` and keeps its progress between calls, so
 * a command split at any byte costs no rescanning: call resp_parse again with
 * the same (possibly moved or grown) buffer once more bytes have arrived. The
 * buffer passed must always start at the first byte of the command being
 * parsed, i.e. the caller drops `consumed` bytes after each complete command.
 *
 * Limits and error texts are Redis 7.0's (networking.c), so clients see the
 * same "-ERR Protocol error: ..." they would from redis-server, after which
 * the connection must be closed. */
#ifndef PARLEY_RESP_PARSE_H
#define PARLEY_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Redis's PROTO_INLINE_MAX_SIZE: the longest inline command, and the longest
 * "*<count>" or "$<len>" line. */
#define RESP_INLINE_MAX 65536
/* Redis's proto-max-bulk-len default: 512 MB. */
#define RESP_DEFAULT_MAX_BULK (512ll * 1024 * 1024)
/* Largest multibulk count Redis accepts (INT_MAX). */
#define RESP_DEFAULT_MAX_ARGS 2147483647ll

struct resp_arg {
    const char *ptr;
    size_t len;
};

enum resp_status {
    RESP_COMMAND = 0, /* one command parsed: argc/argv/consumed are set */
    RESP_EMPTY,       /* an empty line or "*0": consume and ignore */
    RESP_NEED_MORE,   /* incomplete: call again when more bytes arrived */
    RESP_ERROR,       /* protocol error: reply p->error, then close */
};

struct resp_parser {
    /* Limits, set by the owner; resp_parser_init sets Redis's defaults. */
    long long max_bulk_len;
    long long max_args;

    /* Result of the last RESP_COMMAND: argv[i].ptr points into the buffer
     * passed to resp_parse (multibulk) or into the parser's own scratch
     * memory (inline); either stays valid until the next resp_parse call or
     * until the caller modifies the buffer. */
    int argc;
    struct resp_arg *argv;
    /* Bytes of the buffer that the last RESP_COMMAND / RESP_EMPTY / (for
     * RESP_ERROR: bytes up to the bad line) used. */
    size_t consumed;
    /* Set on RESP_ERROR: the message without the leading "-", e.g.
     * "ERR Protocol error: invalid bulk length". Static storage. */
    const char *error;

    /* Private progress state. */
    int kind;                 /* 0 unknown, 1 multibulk, 2 inline */
    size_t pos;               /* resume offset into the buffer */
    long long args_expected;  /* multibulk count */
    long long bulk_len;       /* -1 when waiting for "$<len>" */
    int args_read;            /* multibulk arguments complete so far */
    size_t scan;              /* line terminator searched up to here */
    int line_blocked;         /* a NUL hides the terminator (as strchr) */
    size_t *offsets;          /* argument offsets while incomplete */
    int argv_cap;
    struct buf inline_args;   /* unescaped inline arguments */
    char error_text[64];
};

void resp_parser_init(struct resp_parser *p);
void resp_parser_free(struct resp_parser *p);
/* Parse the command at the start of buf[0..len). */
enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len);
/* Bytes the current incomplete command needs in total, when known (a large
 * bulk is being read), so the owner can size its buffer once; else 0. */
size_t resp_parser_wanted(const struct resp_parser *p);

#endif
