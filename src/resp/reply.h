/* resp/reply.h — reading replies: the client side of RESP.
 *
 * A node that talks to another node's client port (repl/peerconn.c: the
 * forwarding link, a join, a relayed RAFT NODE) reads the replies it gets
 * back with these two functions, and only these: resp_reply_head reads
 * the first line of a reply, resp_reply_span finds where a whole reply
 * (nested aggregates included) ends. Both read RESP2 and RESP3, never
 * read past len, keep no state (call again with more bytes when they say
 * "incomplete") and never recurse, so no reply can exhaust the stack. */
#ifndef PARLEY_RESP_REPLY_H
#define PARLEY_RESP_REPLY_H

#include <stddef.h>

/* The first line of a reply. */
struct resp_reply_head {
    char type;       /* '+', '-', ':', '$', '*', '%', '~', '>', '|', '=', '!', ... */
    long long n;     /* $ = !: the length (-1: null); * ~ >: the count; % |: pairs;
                        ':': the integer; 0 for the other types */
    const char *line; /* what follows the type byte on the line (no CRLF) */
    size_t line_len;
    size_t head_len; /* bytes of the line, CRLF included */
};

/* Reads the line at p[0..len): 1 when read, 0 if the line is incomplete,
 * -1 if it is not a reply line. */
int resp_reply_head(const char *p, size_t len, struct resp_reply_head *h);

/* The bytes of the whole reply at p[0..len): > 0, or 0 if incomplete, or
 * -1 if malformed. Bulk lengths above max_bulk are malformed. */
long long resp_reply_span(const char *p, size_t len, long long max_bulk);

#endif
