/* cmds/common.c — helpers every command family shares: argument parsing,
 * Redis's standard error replies, typed key lookup, and cmd_exec. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmds/cmd.h"

bool arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

bool arg_to_ll(const struct resp_arg *a, long long *v)
{
    return str_to_ll(a->ptr, a->len, v);
}

/* Redis's string2ld: no spaces, no empty string, no nan, at most 5k chars. */
bool arg_to_ld(const struct resp_arg *a, long double *v)
{
    char tmp[5120];
    if (a->len == 0 || a->len >= sizeof tmp) return false;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    if (isspace((unsigned char)tmp[0])) return false;
    char *end;
    errno = 0;
    long double value = strtold(tmp, &end);
    if ((size_t)(end - tmp) != a->len || (errno == ERANGE && (value == HUGE_VALL ||
        value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) || isnan(value))
        return false;
    *v = value;
    return true;
}

bool arg_get_ll_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *v)
{
    if (arg_to_ll(a, v)) return true;
    cmd_reply_not_integer(c);
    return false;
}

void cmd_reply_syntax_error(struct cmd_ctx *c)
{
    resp_error(&c->out, "ERR syntax error");
}

void cmd_reply_wrongtype(struct cmd_ctx *c)
{
    resp_error(&c->out, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void cmd_reply_not_integer(struct cmd_ctx *c)
{
    resp_error(&c->out, "ERR value is not an integer or out of range");
}

void cmd_reply_arity(struct resp_out *o, const struct cmd_def *cmd)
{
    resp_errorf(o, "ERR wrong number of arguments for '%s' command", cmd->name);
}

struct dict_entry *ctx_lookup(struct cmd_ctx *c, const struct resp_arg *key)
{
    return store_lookup(c->store, c->db, key->ptr, key->len, c->now_ms, c->apply);
}

struct dict_entry *ctx_lookup_type(struct cmd_ctx *c, const struct resp_arg *key, int type,
                                   bool *wrong)
{
    *wrong = false;
    struct dict_entry *e = ctx_lookup(c, key);
    if (e && store_value(e)->type != type) {
        *wrong = true;
        cmd_reply_wrongtype(c);
        return NULL;
    }
    return e;
}

bool cmd_arity_ok(const struct cmd_def *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

void cmd_exec(struct cmd_ctx *c)
{
    c->cmd->exec(c);
}
