/* cmds/exec.h — the exec functions the command table points at, one per
 * keyspace command, grouped by the file that implements them. */
#ifndef PARLEY_CMDS_EXEC_H
#define PARLEY_CMDS_EXEC_H

#include "cmds/cmd.h"

/* ping.c: PING and ECHO called from a script (server/ answers clients) */
void cmd_ping(struct cmd_ctx *c);
void cmd_echo(struct cmd_ctx *c);

/* t_string.c */
void cmd_get(struct cmd_ctx *c);
void cmd_set(struct cmd_ctx *c);
void cmd_setnx(struct cmd_ctx *c);
void cmd_setex(struct cmd_ctx *c);
void cmd_psetex(struct cmd_ctx *c);
void cmd_getset(struct cmd_ctx *c);
void cmd_getdel(struct cmd_ctx *c);
void cmd_getex(struct cmd_ctx *c);
void cmd_mget(struct cmd_ctx *c);
void cmd_mset(struct cmd_ctx *c);
void cmd_msetnx(struct cmd_ctx *c);
void cmd_incr(struct cmd_ctx *c);
void cmd_decr(struct cmd_ctx *c);
void cmd_incrby(struct cmd_ctx *c);
void cmd_decrby(struct cmd_ctx *c);
void cmd_incrbyfloat(struct cmd_ctx *c);
void cmd_append(struct cmd_ctx *c);
void cmd_strlen(struct cmd_ctx *c);
void cmd_getrange(struct cmd_ctx *c);
void cmd_setrange(struct cmd_ctx *c);
void cmd_lcs(struct cmd_ctx *c);
void cmd_substr(struct cmd_ctx *c);

/* keys.c */
void cmd_del(struct cmd_ctx *c);
void cmd_unlink(struct cmd_ctx *c);
void cmd_exists(struct cmd_ctx *c);
void cmd_touch(struct cmd_ctx *c);
void cmd_type(struct cmd_ctx *c);
void cmd_keys(struct cmd_ctx *c);
void cmd_scan(struct cmd_ctx *c);
void cmd_randomkey(struct cmd_ctx *c);
void cmd_rename(struct cmd_ctx *c);
void cmd_renamenx(struct cmd_ctx *c);
void cmd_copy(struct cmd_ctx *c);
void cmd_move(struct cmd_ctx *c);
void cmd_expire(struct cmd_ctx *c);
void cmd_pexpire(struct cmd_ctx *c);
void cmd_expireat(struct cmd_ctx *c);
void cmd_pexpireat(struct cmd_ctx *c);
void cmd_ttl(struct cmd_ctx *c);
void cmd_pttl(struct cmd_ctx *c);
void cmd_expiretime(struct cmd_ctx *c);
void cmd_pexpiretime(struct cmd_ctx *c);
void cmd_persist(struct cmd_ctx *c);
void cmd_internal_expire(struct cmd_ctx *c);
void cmd_internal_evict(struct cmd_ctx *c);
void cmd_object_encoding(struct cmd_ctx *c);
void cmd_object_refcount(struct cmd_ctx *c);
void cmd_object_help(struct cmd_ctx *c);
void cmd_dbsize(struct cmd_ctx *c);
void cmd_flushdb(struct cmd_ctx *c);
void cmd_flushall(struct cmd_ctx *c);
void cmd_swapdb(struct cmd_ctx *c);
void cmd_debug_digest(struct cmd_ctx *c);

#endif
