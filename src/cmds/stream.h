/* cmds/stream.h — what the stream command files (t_stream.c,
 * t_stream_read.c, t_stream_group.c) share: stream ID parsing with Redis
 * 7.0's rules and error texts, and entry replies. */
#ifndef PARLEY_CMDS_STREAM_H
#define PARLEY_CMDS_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "cmds/cmd.h"
#include "store/stream.h"

/* Redis's streamGenericParseIDOrReply: "-", "+", "<ms>" (seq missing_seq)
 * or "<ms>-<seq>"; strict refuses "-" and "+". With seq_given non-NULL,
 * "<ms>-*" is accepted and sets *seq_given false. Replies "Invalid stream
 * ID specified as stream command argument" when c is not NULL. */
bool xid_parse(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
               uint64_t missing_seq, bool strict, bool *seq_given);
/* streamParseIntervalIDOrReply: like xid_parse, and "(<id>" is exclusive. */
bool xid_parse_interval(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                        bool *exclude, uint64_t missing_seq);
/* The next / previous ID; false at the ends. */
bool xid_incr(struct stream_id *id);
bool xid_decr(struct stream_id *id);
/* "<ms>-<seq>" into buf (>= 48 bytes); returns the length. */
int xid_format(const struct stream_id *id, char *buf);
void reply_xid(struct cmd_ctx *c, const struct stream_id *id);

/* [id, [field, value, ...]] */
void reply_entry(struct cmd_ctx *c, struct stream_entry *e);
/* Writes one entry (reply_entry) if id is a live entry; false otherwise. */
bool reply_entry_by_id(struct cmd_ctx *c, const struct stream *s, const struct stream_id *id);
/* An array of the entries in [start, end] (NULL: unbounded), at most count
 * (0: all), upwards or downwards. Returns how many. */
size_t reply_range(struct cmd_ctx *c, const struct stream *s, const struct stream_id *start,
                   const struct stream_id *end, size_t count, bool rev);

/* The stream at key: NULL when missing (nothing replied) or of another
 * type (WRONGTYPE replied, *wrong set). */
struct sobj *stream_lookup(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong);

/* A consumer, refreshed as Redis's streamLookupConsumer does (seen now),
 * created if missing (notifying xgroup-createconsumer on key). */
struct stream_consumer *consumer_get(struct cmd_ctx *c, const struct resp_arg *key,
                                     struct stream_cg *g, const struct resp_arg *name);

/* "ERR unknown subcommand or wrong number of arguments for '<argv[1]>'.
 * Try <parent> HELP." (Redis's addReplySubcommandSyntaxError). */
void reply_subcommand_syntax(struct cmd_ctx *c, const char *parent);
/* A HELP reply: the NULL-terminated lines as simple strings. */
void reply_help_lines(struct cmd_ctx *c, const char *const *lines);

#endif
