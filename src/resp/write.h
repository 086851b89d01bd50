/* resp/write.h — the reply writer, RESP2 and RESP3.
 *
 * Commands write replies through these functions and never format protocol
 * by hand, so one command implementation answers both a RESP2 client and a
 * RESP3 client (HELLO 3). Where RESP3 has a type that RESP2 lacks, the RESP2
 * form is the one Redis 7 sends:
 *
 *   null      RESP3 "_"        RESP2 "$-1"   (resp_null_array: "*-1")
 *   map       RESP3 "%n"       RESP2 "*2n"
 *   set       RESP3 "~n"       RESP2 "*n"
 *   double    RESP3 ",d"       RESP2 bulk string of the same text
 *   boolean   RESP3 "#t"/"#f"  RESP2 ":1"/":0"
 *   verbatim  RESP3 "=n\r\ntxt:..."  RESP2 bulk string
 *   push      RESP3 ">n"       RESP2 "*n"
 *   big number RESP3 "(n"      RESP2 bulk string
 *
 * Aggregates are written header first; when the count is not known in
 * advance use resp_defer_len / resp_set_deferred_len.
 *
 * Every writer honours the buffer's `limit` (base/buf.h): what would not
 * fit is not written, and the buffer is marked `over` for its owner. */
#ifndef PARLEY_RESP_WRITE_H
#define PARLEY_RESP_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct resp_out {
    struct buf *buf; /* where bytes go (not owned) */
    int proto;       /* 2 or 3 */
};

void resp_simple(struct resp_out *o, const char *s);             /* +s */
void resp_ok(struct resp_out *o);                                /* +OK */
/* "-<text>": text starts with the error code ("ERR ...", "WRONGTYPE ...").
 * If text has no code (does not start with an upper-case word followed by a
 * space), "ERR " is prepended, as Redis's addReplyError does. CR and LF in
 * the text are replaced by spaces so the reply stays one line. */
void resp_error(struct resp_out *o, const char *text);
void resp_errorf(struct resp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_int(struct resp_out *o, long long v);                  /* :v */
void resp_bulk(struct resp_out *o, const void *p, size_t len);   /* $len */
void resp_bulk_str(struct resp_out *o, const char *s);
void resp_bulk_ll(struct resp_out *o, long long v);              /* bulk "v" */
void resp_null(struct resp_out *o);                              /* _ / $-1 */
void resp_null_array(struct resp_out *o);                        /* _ / *-1 */
void resp_array(struct resp_out *o, long long n);                /* *n */
void resp_map(struct resp_out *o, long long pairs);
void resp_set(struct resp_out *o, long long n);
void resp_push(struct resp_out *o, long long n);
void resp_bool(struct resp_out *o, int v);
/* Doubles as Redis 7.0 prints them: "%.17g", with "inf"/"-inf", and integral
 * values without a fraction ("3", not "3.0000"). Any NaN prints as "nan". */
void resp_double(struct resp_out *o, double v);
void resp_verbatim(struct resp_out *o, const char *text, size_t len); /* "txt" */
void resp_bignum(struct resp_out *o, const char *digits, size_t len);
void resp_raw(struct resp_out *o, const void *p, size_t len);

/* Deferred aggregate length: reserve the header now, fill it in later.
 * The handle is an offset into o->buf: nothing may be consumed from the
 * buffer until it is filled, and nested deferred lengths are filled inner
 * first (filling one moves everything written after it). */
size_t resp_defer_len(struct resp_out *o);
/* kind is '*', '%', '~' or '>' as for the RESP3 header; the RESP2 form is
 * used for proto 2 (a map of n pairs becomes "*2n"). */
void resp_set_deferred_len(struct resp_out *o, size_t handle, char kind, long long n);

/* Formats v in decimal into out (at least 21 bytes); returns the length. */
size_t resp_ll_to_str(char *out, long long v);

#endif
