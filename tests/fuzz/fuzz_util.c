/* tests/fuzz/fuzz_util.c — see fuzz.h: the shared checks, the command
 * runner and the command fuzzer's alphabet and command list. */
#include "fuzz.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "cmds/cmd.h"
#include "store/snapshot.h"

/* Apply logs a warning for every malformed entry: quiet, at start-up of
 * every target and of seeds.c. */
__attribute__((constructor)) static void quiet_logs(void)
{
    log_set_level(LOG_WARNING + 1);
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

/* --------------------------------------------------------------------
 * RESP reply checker
 * ------------------------------------------------------------------ */

/* Nesting deeper than this is a runaway reply (ours nest a few levels). */
#define REPLY_DEPTH_MAX 4100 /* a Lua script may nest its reply 4000 levels */

struct reply_cursor {
    const char *p, *end;
    int proto;
    const char *problem;
};

static bool bad(struct reply_cursor *c, const char *why)
{
    if (c->problem == NULL) c->problem = why;
    return false;
}

/* The text up to the next CRLF, which must contain no CR or LF. */
static bool line(struct reply_cursor *c, const char **text, size_t *len)
{
    const char *s = c->p;
    while (c->p < c->end && *c->p != '\r' && *c->p != '\n') c->p++;
    if (c->end - c->p < 2 || c->p[0] != '\r' || c->p[1] != '\n')
        return bad(c, "a line does not end in CRLF");
    *text = s;
    *len = (size_t)(c->p - s);
    c->p += 2;
    return true;
}

/* A decimal as resp_ll_to_str writes it: no '+', no leading zeros, no
 * "-0", at most 19 digits. */
static bool integer(struct reply_cursor *c, long long *v)
{
    const char *s;
    size_t len;
    if (!line(c, &s, &len)) return false;
    size_t i = len > 0 && s[0] == '-' ? 1 : 0;
    if (len == i || len - i > 19) return bad(c, "malformed integer");
    if (s[i] == '0' && (len - i > 1 || i == 1)) return bad(c, "non-canonical integer");
    unsigned long long u = 0;
    for (size_t k = i; k < len; k++) {
        if (!isdigit((unsigned char)s[k])) return bad(c, "malformed integer");
        u = u * 10 + (unsigned)(s[k] - '0');
    }
    if (u > (unsigned long long)INT64_MAX + (i == 1)) return bad(c, "integer out of range");
    *v = i ? (long long)(0 - u) : (long long)u;
    return true;
}

static bool error_text_ok(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || (i > 0 && s[i] >= '0' && s[i] <= '9'))) i++;
    return i > 0 && (i == len || s[i] == ' ');
}

static bool double_text_ok(const char *s, size_t len)
{
    if ((len == 3 && memcmp(s, "inf", 3) == 0) || (len == 4 && memcmp(s, "-inf", 4) == 0) ||
        (len == 3 && memcmp(s, "nan", 3) == 0))
        return true;
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    strtod(tmp, &end);
    return *end == '\0' && !isspace((unsigned char)tmp[0]);
}

static bool value(struct reply_cursor *c, int depth);

static bool elements(struct reply_cursor *c, long long n, int depth)
{
    /* Each element takes at least 3 bytes: a count beyond that is a lie. */
    if (n > (c->end - c->p) / 3) return bad(c, "aggregate count beyond the reply");
    for (long long i = 0; i < n; i++)
        if (!value(c, depth + 1)) return false;
    return true;
}

static bool value(struct reply_cursor *c, int depth)
{
    if (depth > REPLY_DEPTH_MAX) return bad(c, "reply nested too deep");
    if (c->p >= c->end) return bad(c, "reply truncated");
    char type = *c->p++;
    bool resp3 = c->proto == 3;
    const char *s;
    size_t len;
    long long n;
    switch (type) {
    case '+':
        return line(c, &s, &len);
    case '-':
        if (!line(c, &s, &len)) return false;
        return error_text_ok(s, len) || bad(c, "error without an upper-case code");
    case ':':
        return integer(c, &n);
    case '$':
    case '=':
        if (!integer(c, &n)) return false;
        if (n == -1 && type == '$' && !resp3) return true;
        if (n < 0 || n > c->end - c->p - 2) return bad(c, "bad bulk length");
        if (type == '=' && (!resp3 || n < 4 || c->p[3] != ':')) return bad(c, "bad verbatim string");
        c->p += n;
        if (c->end - c->p < 2 || c->p[0] != '\r' || c->p[1] != '\n')
            return bad(c, "bulk not followed by CRLF");
        c->p += 2;
        return true;
    case '*':
    case '~':
    case '>':
    case '%':
        if (type != '*' && !resp3) return bad(c, "RESP3 aggregate in a RESP2 reply");
        if (!integer(c, &n)) return false;
        if (n == -1 && type == '*' && !resp3) return true;
        if (n < 0) return bad(c, "negative aggregate length");
        if (type == '%') {
            if (n > INT64_MAX / 2) return bad(c, "map too large");
            n *= 2;
        }
        return elements(c, n, depth);
    case '_':
        if (!resp3) return bad(c, "RESP3 null in a RESP2 reply");
        return line(c, &s, &len) && (len == 0 || bad(c, "null with content"));
    case '#':
        if (!resp3) return bad(c, "RESP3 boolean in a RESP2 reply");
        if (!line(c, &s, &len)) return false;
        return (len == 1 && (s[0] == 't' || s[0] == 'f')) || bad(c, "bad boolean");
    case ',':
        if (!resp3) return bad(c, "RESP3 double in a RESP2 reply");
        if (!line(c, &s, &len)) return false;
        return double_text_ok(s, len) || bad(c, "bad double");
    case '(':
        if (!resp3) return bad(c, "RESP3 big number in a RESP2 reply");
        if (!line(c, &s, &len)) return false;
        for (size_t i = s[0] == '-' ? 1 : 0; i < len; i++)
            if (!isdigit((unsigned char)s[i])) return bad(c, "bad big number");
        return len > 0 || bad(c, "empty big number");
    default:
        return bad(c, "unknown reply type byte");
    }
}

const char *fuzz_reply_problem(const char *reply, size_t len, int proto, bool several)
{
    if (len == 0) return several ? NULL : "no reply";
    struct reply_cursor c = {reply, reply + len, proto, NULL};
    do {
        if (!value(&c, 0)) return c.problem;
    } while (several && c.p != c.end);
    if (c.p != c.end) return "bytes after the reply";
    return NULL;
}

bool fuzz_snapshot_canonical(struct store *s)
{
    return pubsub_empty(&s->pubsub) && !watch_active(&s->watch) && scripts_empty(&s->scripts);
}

bool fuzz_encodes_alike(struct store *s, struct store *d, const struct buf *snap, const char *aux)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    bool canonical = fuzz_snapshot_canonical(s);
    if (canonical) {
        buf_append(&a, snap->data, snap->len);
        store_snapshot_encode(d, aux, strlen(aux), &b);
    } else {
        store_snapshot_encode_format(s, STORE_SNAPSHOT_FORMAT_PLAIN, aux, strlen(aux), &a);
        store_snapshot_encode_format(d, STORE_SNAPSHOT_FORMAT_PLAIN, aux, strlen(aux), &b);
    }
    bool same = a.len == b.len && (!canonical || memcmp(a.data, b.data, a.len) == 0);
    buf_free(&a);
    buf_free(&b);
    return same;
}


/* --------------------------------------------------------------------
 * Running one command
 * ------------------------------------------------------------------ */

bool fuzz_run_command(struct fuzz_run *r, int argc, const struct resp_arg *argv, struct buf *out,
                      bool *blocked)
{
    *blocked = false;
    if (argc < 1) return false;
    const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len, true);
    if (d && (d->flags & CMD_CONTAINER)) d = argc > 1 ? cmd_lookup_sub(d, argv[1].ptr, argv[1].len) : NULL;
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, argc)) return false;
    struct cmd_ctx c = {
        .store = r->store, .db = r->db, .now_ms = r->now_ms, .rng = r->rng, .apply = true,
        .origin = r->origin, .no_block = r->no_block, .max_bulk_len = r->max_bulk_len,
        .script_budget = r->script_budget,
        .out = {out, r->proto}, .argc = argc, .argv = argv, .cmd = d,
    };
    cmd_exec(&c);
    r->rng = c.rng;
    *blocked = c.blocked;
    return true;
}

/* --------------------------------------------------------------------
 * The command fuzzer's alphabet and commands
 * ------------------------------------------------------------------ */

static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "{k}5", "", "k\xff", NULL};

/* 70 bytes: longer than an entry of a compact hash, set or zset may be. */
#define LONG_VALUE "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char *const values[] = {
    "", "v", "0", "1", "-1", "12", "3.5", "-2.5e3", "inf", "-inf", "+inf", "nan",
    "9223372036854775807", "-9223372036854775808", "18446744073709551616", "abc",
    LONG_VALUE,
    "0x10", " 1", "1e400", "01", "-0", "1.0", "4.5e-324", "a\r\nb", NULL};

static const char *const ints[] = {
    "0", "1", "2", "3", "4", "5", "7", "10", "-1", "-2", "-5", "64", "100", "127", "128", "129",
    "511", "512", "513", "1000", "4096", "65536", "2147483647", "2147483648", "-2147483648",
    "9223372036854775807", "-9223372036854775808", "1700000000000", "1700000000001",
    "1700000100000", "-100", NULL};

static const char *const ids[] = {
    "0", "0-0", "0-1", "1", "1-0", "1-1", "2-5", "*", "$", ">", "-", "+", "(0-1", "(1-0",
    "1700000000000-0", "1700000000000-*", "1700000000001-3", "18446744073709551615-18446744073709551615",
    "(18446744073709551615-18446744073709551615", "1700000000000", "3-*", "0-*", "(+", "(-",
    "18446744073709551615-*", "99999999999999-1", NULL};

static const char *const ranges[] = {
    "-inf", "+inf", "(1", "(0", "[a", "(a", "[m1", "-", "+", "1.5", "-1", "0", "(-inf", "1e308",
    "nan", "(", "[", "2", "(+inf", "[m0", "(m3", "10", NULL};

static const char *const members[] = {"m0", "m1", "m2", "m3", "a", "b", "c", "0", "1", "2",
                                      "100", "-7", "g0", "g1", "c0", "c1", "ch0", "ch*", NULL};

const char *const *const fuzz_alphabets[FUZZ_ALPHABETS] = {
    [FUZZ_A_KEY] = keys, [FUZZ_A_VALUE] = values, [FUZZ_A_INT] = ints,
    [FUZZ_A_ID] = ids,   [FUZZ_A_RANGE] = ranges, [FUZZ_A_MEMBER] = members,
};

const int64_t fuzz_time_steps[8] = {1, 7, 100, 1000, 1500, 60000, 3700000, 86400000};

/* Every keyspace command with an exec function but the scripting ones.
 * Append new commands at the end, so the corpus keeps its meaning; the
 * fuzzer checks at start-up that every name here is runnable. */
const struct fuzz_command fuzz_commands[] = {
    /* strings */
    {"get", ""}, {"set", "EX PX EXAT PXAT NX XX KEEPTTL GET"}, {"setnx", ""}, {"setex", ""},
    {"psetex", ""}, {"getset", ""}, {"getdel", ""}, {"getex", "EX PX EXAT PXAT PERSIST"},
    {"mget", ""}, {"mset", ""}, {"msetnx", ""}, {"incr", ""}, {"decr", ""}, {"incrby", ""},
    {"decrby", ""}, {"incrbyfloat", ""}, {"append", ""}, {"strlen", ""}, {"getrange", ""},
    {"substr", ""}, {"setrange", ""},
    /* keys */
    {"del", ""}, {"unlink", ""}, {"exists", ""}, {"touch", ""}, {"type", ""},
    {"keys", "* ? k* [k]? *5 [^k]*"}, {"scan", "MATCH COUNT TYPE string list set zset hash stream k*"},
    {"randomkey", ""}, {"rename", ""}, {"renamenx", ""}, {"copy", "DB REPLACE"}, {"move", ""},
    {"expire", "NX XX GT LT"}, {"pexpire", "NX XX GT LT"}, {"expireat", "NX XX GT LT"},
    {"pexpireat", "NX XX GT LT"}, {"ttl", ""}, {"pttl", ""}, {"expiretime", ""},
    {"pexpiretime", ""}, {"persist", ""}, {"__expire", ""}, {"object encoding", ""},
    {"object refcount", ""}, {"object help", ""}, {"dbsize", ""}, {"flushdb", "ASYNC SYNC"},
    {"flushall", "ASYNC SYNC"}, {"swapdb", ""}, {"debug digest", ""},
    /* publish/subscribe */
    {"publish", ""}, {"spublish", ""}, {"pubsub channels", "* ch*"}, {"pubsub numsub", ""},
    {"pubsub numpat", ""}, {"pubsub shardchannels", "* ch*"}, {"pubsub shardnumsub", ""},
    {"__subscribe", "c p s"}, {"__unsubscribe", "c p s a"},
    /* lists */
    {"lpush", ""}, {"rpush", ""}, {"lpushx", ""}, {"rpushx", ""}, {"linsert", "BEFORE AFTER"},
    {"lpop", ""}, {"rpop", ""}, {"lmove", "LEFT RIGHT"}, {"rpoplpush", ""},
    {"lmpop", "LEFT RIGHT COUNT"}, {"llen", ""}, {"lindex", ""}, {"lrange", ""},
    {"lpos", "RANK COUNT MAXLEN"}, {"lset", ""}, {"lrem", ""}, {"ltrim", ""}, {"blpop", ""},
    {"brpop", ""}, {"blmove", "LEFT RIGHT"}, {"brpoplpush", ""}, {"blmpop", "LEFT RIGHT COUNT"},
    /* sorted sets */
    {"bzpopmin", ""}, {"bzpopmax", ""}, {"bzmpop", "MIN MAX COUNT"},
    {"zadd", "NX XX GT LT CH INCR"}, {"zincrby", ""}, {"zrem", ""}, {"zscore", ""},
    {"zmscore", ""}, {"zcard", ""}, {"zcount", ""}, {"zlexcount", ""},
    {"zrange", "BYSCORE BYLEX REV LIMIT WITHSCORES"},
    {"zrangestore", "BYSCORE BYLEX REV LIMIT"}, {"zrangebyscore", "WITHSCORES LIMIT"},
    {"zrevrange", "WITHSCORES"}, {"zrevrangebyscore", "WITHSCORES LIMIT"},
    {"zrangebylex", "LIMIT"}, {"zrevrangebylex", "LIMIT"}, {"zrank", ""}, {"zrevrank", ""},
    {"zremrangebyscore", ""}, {"zremrangebyrank", ""}, {"zremrangebylex", ""}, {"zpopmin", ""},
    {"zpopmax", ""}, {"zmpop", "MIN MAX COUNT"},
    {"zunionstore", "WEIGHTS AGGREGATE SUM MIN MAX"},
    {"zinterstore", "WEIGHTS AGGREGATE SUM MIN MAX"}, {"zscan", "MATCH COUNT m*"},
    {"zrandmember", "WITHSCORES"},
    /* hashes */
    {"hset", ""}, {"hsetnx", ""}, {"hmset", ""}, {"hget", ""}, {"hmget", ""}, {"hgetall", ""},
    {"hdel", ""}, {"hexists", ""}, {"hlen", ""}, {"hkeys", ""}, {"hvals", ""}, {"hstrlen", ""},
    {"hincrby", ""}, {"hincrbyfloat", ""}, {"hrandfield", "WITHVALUES"},
    {"hscan", "MATCH COUNT m*"},
    /* sets */
    {"sadd", ""}, {"srem", ""}, {"smembers", ""}, {"sismember", ""}, {"smismember", ""},
    {"scard", ""}, {"spop", ""}, {"srandmember", ""}, {"smove", ""}, {"sinter", ""},
    {"sunion", ""}, {"sdiff", ""}, {"sinterstore", ""}, {"sunionstore", ""}, {"sdiffstore", ""},
    {"sintercard", "LIMIT"}, {"sscan", "MATCH COUNT m*"},
    /* streams */
    {"xadd", "NOMKSTREAM MAXLEN MINID = ~ LIMIT * f v"}, {"xlen", ""}, {"xrange", "COUNT"},
    {"xrevrange", "COUNT"}, {"xdel", ""}, {"xtrim", "MAXLEN MINID = ~ LIMIT"},
    {"xsetid", "ENTRIESADDED MAXDELETEDID"}, {"xread", "COUNT BLOCK STREAMS"},
    {"xreadgroup", "GROUP COUNT BLOCK NOACK STREAMS >"},
    {"xgroup create", "MKSTREAM ENTRIESREAD $"}, {"xgroup setid", "ENTRIESREAD $"},
    {"xgroup destroy", ""}, {"xgroup createconsumer", ""}, {"xgroup delconsumer", ""},
    {"xgroup help", ""}, {"xack", ""}, {"xpending", "IDLE"},
    {"xclaim", "IDLE TIME RETRYCOUNT FORCE JUSTID LASTID"}, {"xautoclaim", "COUNT JUSTID"},
    {"xinfo stream", "FULL COUNT"}, {"xinfo groups", ""}, {"xinfo consumers", ""},
    {"xinfo help", ""},
    /* transactions: __exec is the fuzzer's @exec step, which wraps the
     * commands after it */
    {"__watch", ""}, {"__ok", ""}, {"@exec", ""},
    /* the fuzzer's snapshot round trip */
    {"@snapshot", ""},
    /* a blocked XREADGROUP's retry (also run from its wait note) */
    {"__xreadgroup_retry", "GROUP COUNT BLOCK NOACK STREAMS >"},
};
const size_t fuzz_n_commands = sizeof fuzz_commands / sizeof fuzz_commands[0];

int fuzz_generated(unsigned style, unsigned i, char out[2][FUZZ_GENERATED_MAX], size_t len[2])
{
    switch (style % 4) {
    case 0: len[0] = (size_t)snprintf(out[0], FUZZ_GENERATED_MAX, "%u", i); return 1;
    case 1: len[0] = (size_t)snprintf(out[0], FUZZ_GENERATED_MAX, "e%u", i); return 1;
    case 2:
        len[0] = (size_t)snprintf(out[0], FUZZ_GENERATED_MAX, "%u", i * 3 % 1000);
        len[1] = (size_t)snprintf(out[1], FUZZ_GENERATED_MAX, "e%u", i);
        return 2;
    default:
        len[0] = (size_t)snprintf(out[0], FUZZ_GENERATED_MAX, "f%u", i);
        /* every fifth value longer than a compact encoding's entries */
        len[1] = (size_t)snprintf(out[1], FUZZ_GENERATED_MAX, "%s", i % 5 ? "v" : LONG_VALUE);
        return 2;
    }
}

size_t fuzz_word_count(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ') p++;
        if (*p == '\0') break;
        n++;
        while (*p && *p != ' ') p++;
    }
    return n;
}

size_t fuzz_word_at(const char *s, size_t i, const char **out)
{
    size_t n = fuzz_word_count(s);
    if (n == 0) return 0;
    i %= n;
    const char *p = s;
    for (;;) {
        while (*p == ' ') p++;
        const char *start = p;
        while (*p && *p != ' ') p++;
        if (i-- == 0) {
            *out = start;
            return (size_t)(p - start);
        }
    }
}
