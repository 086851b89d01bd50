/* cmds/common.c — helpers every command family shares: argument parsing
 * (numbers, SCAN cursors and options), the window and cursor reply of a
 * SCAN that walks a replicated order by index, Redis's standard error replies,
 * typed key lookup, cmd_exec, the longest string a command may make,
 * Redis's long double formatting, and the
 * sampling that the random-member commands use. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/mem.h"
#include "cmds/cmdstats.h"
#include "cmds/cmd.h"
#include "cmds/memlimit.h"
#include "cmds/notify.h"
#include "store/evict.h"

bool arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

bool arg_to_ll(const struct resp_arg *a, long long *v)
{
    return str_to_ll(a->ptr, a->len, v);
}

/* Redis's getDoubleFromObject: strtod over the whole argument, no leading
 * space, no NaN, no overflow to +-inf and no underflow to 0. */
bool arg_to_double(const struct resp_arg *a, double *v)
{
    if (a->len == 0 || a->ptr[0] == ' ' || (a->ptr[0] >= '\t' && a->ptr[0] <= '\r')) return false;
    char small[128];
    char *tmp = a->len < sizeof small ? small : xmalloc(a->len + 1);
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    bool ok = (size_t)(end - tmp) == a->len && !isnan(d) &&
              !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0));
    if (tmp != small) free(tmp);
    if (ok) *v = d;
    return ok;
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
    struct dict_entry *e = store_lookup(c->store, c->db, key->ptr, key->len, c->now_ms, c->apply);
    if (c->cmd && (c->cmd->flags & CMD_READONLY)) cmdstats_keyspace(e != NULL);
    return e;
}

struct dict_entry *ctx_lookup_notouch(struct cmd_ctx *c, const struct resp_arg *key)
{
    struct dict_entry *e = store_lookup_notouch(c->store, c->db, key->ptr, key->len, c->now_ms, c->apply);
    if (c->cmd && (c->cmd->flags & CMD_READONLY)) cmdstats_keyspace(e != NULL);
    return e;
}

struct dict_entry *ctx_lookup_source(struct cmd_ctx *c, const struct resp_arg *key, int type,
                                     bool *wrong)
{
    if (!c->retry) return ctx_lookup_type(c, key, type, wrong);
    *wrong = false;
    struct dict_entry *e = ctx_lookup(c, key);
    return e && store_value(e)->type != type ? NULL : e;
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

bool cmd_may_block(const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    struct block_shape sh;
    return cmd->block != NULL && cmd->block(argc, argv, &sh);
}

static cmd_exec_observer_fn *exec_observer;
static void *exec_observer_arg;

void cmd_set_exec_observer(cmd_exec_observer_fn *fn, void *arg)
{
    exec_observer = fn;
    exec_observer_arg = arg;
}

static struct cmd_ctx *running;

struct cmd_ctx *cmd_running(void) { return running; }

void cmd_exec(struct cmd_ctx *c)
{
    evict_set_clock(c->now_ms);
    if (c->in_script && c->oom_guard && !oom_guard_allows(c)) return;
    /* A script or a transaction may name a command the cluster's active
     * version does not have yet: refused on every replica alike (the
     * version is replicated state), as the proposer refuses it outside. */
    const char *too_new = cmd_protocol_refusal(c->cmd);
    if (too_new) {
        resp_error(&c->out, too_new);
        return;
    }
    notify_key_misses(c);
    size_t at = c->out.buf ? c->out.buf->len : 0;
    int64_t start_us = clock_mono_us();
    struct cmd_ctx *outer = running;
    running = c;
    c->cmd->exec(c);
    running = outer;
    bool failed = c->out.buf && c->out.buf->len > at && c->out.buf->data[at] == '-';
    if (failed) {
        size_t n = c->out.buf->len - at;
        cmdstats_error(c->out.buf->data + at, n < 64 ? n : 64);
    }
    uint64_t usec = (uint64_t)(clock_mono_us() - start_us);
    cmdstats_ran(c->cmd, usec, failed);
    if (exec_observer) exec_observer(exec_observer_arg, c, usec);
}

bool arg_to_cursor(const struct resp_arg *a, uint64_t *cursor)
{
    char *tmp = xmalloc(a->len + 1);
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    bool ok = !isspace((unsigned char)tmp[0]) && *end == '\0' && errno != ERANGE;
    free(tmp);
    if (ok) *cursor = v;
    return ok;
}

bool scan_options_or_reply(struct cmd_ctx *c, int first, long long *count,
                           const struct resp_arg **pattern)
{
    *count = 10;
    *pattern = NULL;
    for (int j = first; j < c->argc; j += 2) {
        if (j + 1 >= c->argc) {
            cmd_reply_syntax_error(c);
            return false;
        }
        const struct resp_arg *value = &c->argv[j + 1];
        if (arg_is(&c->argv[j], "count")) {
            if (!arg_get_ll_or_reply(c, value, count)) return false;
            if (*count < 1) {
                cmd_reply_syntax_error(c);
                return false;
            }
        } else if (arg_is(&c->argv[j], "match")) {
            *pattern = value->len == 1 && value->ptr[0] == '*' ? NULL : value;
        } else {
            cmd_reply_syntax_error(c);
            return false;
        }
    }
    return true;
}

/* Elements only ever move down an index order: an addition appends, a
 * removal moves the last element into the hole. So an element below the
 * cursor when a call returns stays below it (and is visited later), and one
 * at or above it stays visited: that is SCAN's guarantee. An element moved
 * down past the cursor comes twice, which SCAN allows. */
void scan_index_window(uint64_t cursor, uint64_t size, uint64_t step, uint64_t *top,
                       uint64_t *bottom)
{
    assert(step > 0);
    *top = cursor == 0 || cursor > size ? size : cursor;
    *bottom = *top > step ? *top - step : 0;
}

void reply_scan_cursor(struct cmd_ctx *c, uint64_t cursor)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)cursor);
    resp_array(&c->out, 2);
    resp_bulk(&c->out, digits, (size_t)n);
}

size_t format_long_double(char *out, size_t cap, long double v)
{
    int n = snprintf(out, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) return 0;
    size_t len = (size_t)n;
    if (strchr(out, '.')) {
        while (out[len - 1] == '0') len--;
        if (out[len - 1] == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        len = 1;
    }
    out[len] = '\0';
    return len;
}

/* Partial Fisher-Yates over all n indices when k is a sizeable part of n;
 * otherwise Floyd's algorithm, remembering the chosen indices in a dict. */
void sample_distinct(uint64_t *rng, uint64_t n, uint64_t k, uint64_t *out)
{
    assert(k <= n);
    if (k == 0) return;
    if (k * 3 > n) {
        uint64_t *all = xmalloc(n * sizeof *all);
        for (uint64_t i = 0; i < n; i++) all[i] = i;
        for (uint64_t i = 0; i < k; i++) {
            uint64_t j = i + dict_rand64(rng) % (n - i);
            uint64_t t = all[i];
            all[i] = all[j];
            all[j] = t;
            out[i] = all[i];
        }
        free(all);
        return;
    }
    struct dict chosen;
    dict_init(&chosen, NULL);
    uint64_t got = 0;
    for (uint64_t j = n - k; j < n; j++) {
        uint64_t t = dict_rand64(rng) % (j + 1);
        bool created;
        dict_upsert(&chosen, &t, sizeof t, &created);
        if (!created) {
            t = j; /* larger than every index chosen so far */
            dict_upsert(&chosen, &t, sizeof t, &created);
        }
        out[got++] = t;
    }
    dict_clear(&chosen);
}

long long cmd_max_string_len(const struct cmd_ctx *c)
{
    /* In apply, the entry's limit alone: the leader clamped it to its own
     * memory, and every replica must refuse or accept alike (one with less
     * memory than the leader must not answer differently). */
    if (c->apply) return c->max_bulk_len;
    long long physical = (long long)(mem_physical_bytes() > LLONG_MAX ? LLONG_MAX : mem_physical_bytes());
    return c->max_bulk_len < physical ? c->max_bulk_len : physical;
}

bool random_count_ok(struct cmd_ctx *c, long long count)
{
    if (count >= 0 || -(count + 1) < cmd_max_string_len(c) / 8) return true;
    resp_error(&c->out, "ERR value is out of range");
    return false;
}
