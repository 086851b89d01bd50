/* resp/parse.c — the request parser: multibulk and inline commands.
 *
 * A port of the request framing in Redis 7.0's networking.c
 * (processMultibulkBuffer, processInlineBuffer) and of sdssplitargs from
 * sds.c, reshaped to work on a caller-owned buffer that may move between
 * calls. Redis's quirks are kept on purpose, so a client gets exactly the
 * answer redis-server would give it:
 *
 *   - line ends are found by searching for '\r' (multibulk) or '\n' (inline)
 *     with strchr() on a NUL-terminated buffer, so a NUL byte in front of the
 *     terminator hides it and the line stays "incomplete";
 *   - the byte after a header's '\r' is skipped unseen, as are the two bytes
 *     after a bulk payload;
 *   - integers are parsed by string2ll(): no sign but '-', no spaces, no
 *     leading zeros, fewer than 21 characters.
 *
 * Progress is kept as offsets (pos, scan, offsets[]), never as pointers into
 * the buffer, so the owner may reallocate it between calls, and a command
 * arriving a byte at a time is scanned once. Nothing is allocated in
 * proportion to a length the client declared but has not sent: argv grows
 * as arguments actually arrive, and payload bytes are never copied. */
#include "resp/parse.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

enum { KIND_UNKNOWN = 0, KIND_MULTIBULK = 1, KIND_INLINE = 2 };

/* Redis's LONG_STR_SIZE: string2ll rejects anything this long or longer. */
#define LL_STR_MAX 21
/* First argv allocation of a multibulk command; it doubles from there. */
#define ARGV_INITIAL 8
/* Argument arrays and inline scratch larger than these are released once
 * the command that needed them is done, so one huge command does not pin
 * its memory for the life of the connection. */
#define ARGV_KEEP_MAX 1024
#define INLINE_KEEP_MAX (2 * RESP_INLINE_MAX)

static const char ERR_MBULK_TOO_BIG[] =
    "ERR Protocol error: too big mbulk count string";
static const char ERR_MBULK_LEN[] =
    "ERR Protocol error: invalid multibulk length";
static const char ERR_BULK_TOO_BIG[] =
    "ERR Protocol error: too big bulk count string";
static const char ERR_BULK_LEN[] = "ERR Protocol error: invalid bulk length";
static const char ERR_INLINE_TOO_BIG[] =
    "ERR Protocol error: too big inline request";
static const char ERR_QUOTES[] =
    "ERR Protocol error: unbalanced quotes in request";

/* Outcome of one step that may stop the parse early. */
enum step { STEP_DONE, STEP_STOP };

void resp_parser_init(struct resp_parser *p)
{
    assert(p != NULL);
    memset(p, 0, sizeof *p);
    p->max_bulk_len = RESP_DEFAULT_MAX_BULK;
    p->max_args = RESP_DEFAULT_MAX_ARGS;
    p->bulk_len = -1;
    buf_init(&p->inline_args);
}

static void release_argv(struct resp_parser *p)
{
    free(p->argv);
    free(p->offsets);
    p->argv = NULL;
    p->offsets = NULL;
    p->argv_cap = 0;
}

void resp_parser_free(struct resp_parser *p)
{
    assert(p != NULL);
    release_argv(p);
    buf_free(&p->inline_args);
    p->argc = 0;
}

/* Forget the command in progress: the next call starts a new one. The
 * result fields (argc, argv contents, consumed, error) are left alone. */
static void reset_progress(struct resp_parser *p)
{
    p->kind = KIND_UNKNOWN;
    p->pos = 0;
    p->args_expected = 0;
    p->bulk_len = -1;
    p->args_read = 0;
    p->scan = 0;
    p->line_blocked = 0;
}

/* Drop memory that only an unusually large command needed. Called when a
 * new command starts, after the previous result is no longer valid. */
static void trim_memory(struct resp_parser *p)
{
    if (p->argv_cap > ARGV_KEEP_MAX) release_argv(p);
    if (p->inline_args.cap > INLINE_KEEP_MAX) buf_free(&p->inline_args);
}

/* Make room for at least `need` arguments, growing geometrically but never
 * beyond `limit` (the declared count, when known). */
static void reserve_args(struct resp_parser *p, long long need, long long limit)
{
    assert(need > 0 && need <= INT_MAX);
    if (need <= p->argv_cap) return;
    long long cap = p->argv_cap ? 2ll * p->argv_cap : ARGV_INITIAL;
    if (cap > limit) cap = limit;
    if (cap < need) cap = need;
    if (cap > INT_MAX) cap = INT_MAX;
    p->argv = xrealloc(p->argv, (size_t)cap * sizeof *p->argv);
    p->offsets = xrealloc(p->offsets, (size_t)cap * sizeof *p->offsets);
    p->argv_cap = (int)cap;
}

/* Redis's string2ll (util.c): strict decimal, accepting exactly what it
 * accepts. Returns 1 and sets *out, or 0. */
static int parse_ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len >= LL_STR_MAX) return 0;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int negative = 0;
    if (s[0] == '-') {
        negative = 1;
        i++;
        if (i == len) return 0;
    }
    if (s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = (unsigned long long)(s[i++] - '0');
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > ULLONG_MAX / 10) return 0;
        v *= 10;
        if (v > ULLONG_MAX - digit) return 0;
        v += digit;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                      : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Where strchr(buf + p->pos, c) would point, as an offset, or -1 when it
 * would return NULL: c is absent from buf[scan..len), or a NUL byte comes
 * first. Bytes already searched are not searched again; a NUL blocks the
 * line for good, since bytes only ever get appended behind it. */
static long long find_line_end(struct resp_parser *p, const char *buf,
                               size_t len, char c)
{
    assert(p->scan >= p->pos && p->scan <= len);
    if (p->line_blocked) return -1;
    const char *from = buf + p->scan;
    size_t avail = len - p->scan;
    const char *hit = memchr(from, c, avail);
    size_t before = hit ? (size_t)(hit - from) : avail;
    if (memchr(from, '\0', before) != NULL) {
        p->line_blocked = 1;
        return -1;
    }
    if (hit == NULL) {
        p->scan = len;
        return -1;
    }
    p->scan = (size_t)(hit - buf);
    return (long long)p->scan;
}

static enum resp_status fail(struct resp_parser *p, const char *msg,
                             size_t consumed)
{
    p->error = msg;
    p->consumed = consumed;
    return RESP_ERROR;
}

/* Reads "*<count>\r\n". STEP_DONE: the count is in args_expected and pos is
 * past the line. STEP_STOP: *status says why not (NEED_MORE, EMPTY, ERROR). */
static enum step read_count(struct resp_parser *p, const char *buf, size_t len,
                            enum resp_status *status)
{
    assert(p->pos == 0 && buf[0] == '*');
    long long cr = find_line_end(p, buf, len, '\r');
    if (cr < 0) {
        *status = len > RESP_INLINE_MAX ? fail(p, ERR_MBULK_TOO_BIG, 0)
                                        : RESP_NEED_MORE;
        return STEP_STOP;
    }
    /* Redis wants one more byte after the '\r' and skips it unchecked. */
    if ((size_t)cr + 1 >= len) {
        *status = RESP_NEED_MORE;
        return STEP_STOP;
    }
    long long count;
    long long max_args = p->max_args < INT_MAX ? p->max_args : INT_MAX;
    if (!parse_ll(buf + 1, (size_t)cr - 1, &count) || count > max_args) {
        *status = fail(p, ERR_MBULK_LEN, 0);
        return STEP_STOP;
    }
    p->pos = p->scan = (size_t)cr + 2;
    if (count <= 0) {
        p->consumed = p->pos;
        *status = RESP_EMPTY;
        return STEP_STOP;
    }
    p->args_expected = count;
    p->bulk_len = -1;
    return STEP_DONE;
}

/* Reads "$<len>\r\n" at pos. STEP_DONE: bulk_len is set and pos is at the
 * payload. STEP_STOP: *status is NEED_MORE or ERROR. */
static enum step read_bulk_header(struct resp_parser *p, const char *buf,
                                  size_t len, enum resp_status *status)
{
    assert(p->bulk_len == -1 && p->pos <= len);
    long long cr = find_line_end(p, buf, len, '\r');
    if (cr < 0) {
        *status = len - p->pos > RESP_INLINE_MAX
                      ? fail(p, ERR_BULK_TOO_BIG, p->pos)
                      : RESP_NEED_MORE;
        return STEP_STOP;
    }
    if ((size_t)cr + 1 >= len) {
        *status = RESP_NEED_MORE;
        return STEP_STOP;
    }
    char first = buf[p->pos];
    if (first != '$') {
        /* Redis's addReplyErrorFormat turns CR and LF into spaces. */
        if (first == '\r' || first == '\n') first = ' ';
        snprintf(p->error_text, sizeof p->error_text,
                 "ERR Protocol error: expected '$', got '%c'", first);
        *status = fail(p, p->error_text, p->pos);
        return STEP_STOP;
    }
    long long bulk_len;
    size_t digits = (size_t)cr - p->pos - 1;
    if (!parse_ll(buf + p->pos + 1, digits, &bulk_len) || bulk_len < 0 ||
        bulk_len > p->max_bulk_len) {
        *status = fail(p, ERR_BULK_LEN, p->pos);
        return STEP_STOP;
    }
    p->bulk_len = bulk_len;
    p->pos = (size_t)cr + 2;
    return STEP_DONE;
}

/* Points argv at the arguments, now that the whole command is in buf. */
static enum resp_status finish_multibulk(struct resp_parser *p, const char *buf)
{
    assert(p->args_read == p->args_expected);
    for (int i = 0; i < p->args_read; i++) p->argv[i].ptr = buf + p->offsets[i];
    p->argc = p->args_read;
    p->consumed = p->pos;
    return RESP_COMMAND;
}

static enum resp_status parse_multibulk(struct resp_parser *p, const char *buf,
                                        size_t len)
{
    enum resp_status status;
    if (p->args_expected == 0 &&
        read_count(p, buf, len, &status) == STEP_STOP)
        return status;

    while (p->args_read < p->args_expected) {
        if (p->bulk_len < 0 &&
            read_bulk_header(p, buf, len, &status) == STEP_STOP)
            return status;
        /* The payload and the two bytes after it, which are not checked. */
        if ((unsigned long long)(len - p->pos) <
            (unsigned long long)p->bulk_len + 2)
            return RESP_NEED_MORE;
        reserve_args(p, p->args_read + 1ll, p->args_expected);
        p->offsets[p->args_read] = p->pos;
        p->argv[p->args_read].len = (size_t)p->bulk_len;
        p->args_read++;
        p->pos += (size_t)p->bulk_len + 2;
        p->scan = p->pos;
        p->bulk_len = -1;
    }
    return finish_multibulk(p, buf);
}

/* isspace() in the C locale, which is what sdssplitargs runs under. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The line being split, read as the NUL-terminated string sdssplitargs
 * sees: past the end every byte is '\0'. */
struct line {
    const char *s;
    size_t len;
    size_t i;
};

static char at(const struct line *l, size_t k)
{
    return l->i + k < l->len ? l->s[l->i + k] : '\0';
}

static void emit(struct resp_parser *p, char c)
{
    assert(p->inline_args.len < p->inline_args.cap);
    p->inline_args.data[p->inline_args.len++] = c;
}

/* One step inside "double quotes". Returns 1 when the token is complete,
 * 0 to continue, -1 on unbalanced quotes. Does not advance past the byte
 * it looked at; the caller does. */
static int dquote_step(struct resp_parser *p, struct line *l)
{
    char c = at(l, 0);
    if (c == '\\' && at(l, 1) == 'x' && hex_value(at(l, 2)) >= 0 &&
        hex_value(at(l, 3)) >= 0) {
        emit(p, (char)(hex_value(at(l, 2)) * 16 + hex_value(at(l, 3))));
        l->i += 3;
    } else if (c == '\\' && at(l, 1) != '\0') {
        l->i++;
        switch (at(l, 0)) {
        case 'n': emit(p, '\n'); break;
        case 'r': emit(p, '\r'); break;
        case 't': emit(p, '\t'); break;
        case 'b': emit(p, '\b'); break;
        case 'a': emit(p, '\a'); break;
        default: emit(p, at(l, 0)); break;
        }
    } else if (c == '"') {
        /* The closing quote must be followed by a space or nothing. */
        if (at(l, 1) != '\0' && !is_space(at(l, 1))) return -1;
        return 1;
    } else if (c == '\0') {
        return -1;
    } else {
        emit(p, c);
    }
    return 0;
}

/* One step inside 'single quotes', where only \' is an escape. */
static int squote_step(struct resp_parser *p, struct line *l)
{
    char c = at(l, 0);
    if (c == '\\' && at(l, 1) == '\'') {
        l->i++;
        emit(p, '\'');
    } else if (c == '\'') {
        if (at(l, 1) != '\0' && !is_space(at(l, 1))) return -1;
        return 1;
    } else if (c == '\0') {
        return -1;
    } else {
        emit(p, c);
    }
    return 0;
}

/* Reads one token starting at a non-space byte, appending its unescaped
 * bytes to inline_args. Returns 0, or -1 on unbalanced quotes. */
static int split_token(struct resp_parser *p, struct line *l)
{
    int in_dquote = 0, in_squote = 0, done = 0;
    while (!done) {
        if (in_dquote || in_squote) {
            int r = in_dquote ? dquote_step(p, l) : squote_step(p, l);
            if (r < 0) return -1;
            done = r;
        } else {
            char c = at(l, 0);
            switch (c) {
            case ' ': case '\n': case '\r': case '\t': case '\0':
                done = 1;
                break;
            case '"': in_dquote = 1; break;
            case '\'': in_squote = 1; break;
            default: emit(p, c); break;
            }
        }
        if (at(l, 0) != '\0') l->i++;
    }
    return 0;
}

/* sdssplitargs over s[0..len): fills argv/argc with arguments unescaped
 * into inline_args. Returns 0, or -1 on unbalanced quotes. */
static int split_inline(struct resp_parser *p, const char *s, size_t len)
{
    /* Unescaping never lengthens, so this one reservation keeps every
     * argument pointer stable; +1 so the data pointer is never NULL. */
    buf_clear(&p->inline_args);
    buf_reserve(&p->inline_args, len + 1);
    struct line l = {s, len, 0};
    int argc = 0;
    for (;;) {
        while (at(&l, 0) != '\0' && is_space(at(&l, 0))) l.i++;
        if (at(&l, 0) == '\0') break;
        size_t start = p->inline_args.len;
        if (split_token(p, &l) < 0) return -1;
        reserve_args(p, argc + 1ll, INT_MAX);
        p->argv[argc].ptr = p->inline_args.data + start;
        p->argv[argc].len = p->inline_args.len - start;
        argc++;
    }
    p->argc = argc;
    return 0;
}

static enum resp_status parse_inline(struct resp_parser *p, const char *buf,
                                     size_t len)
{
    long long nl = find_line_end(p, buf, len, '\n');
    if (nl < 0)
        return len > RESP_INLINE_MAX ? fail(p, ERR_INLINE_TOO_BIG, 0)
                                     : RESP_NEED_MORE;
    size_t line_len = (size_t)nl;
    if (line_len > 0 && buf[line_len - 1] == '\r') line_len--;
    if (split_inline(p, buf, line_len) < 0) {
        p->argc = 0;
        return fail(p, ERR_QUOTES, 0);
    }
    p->consumed = (size_t)nl + 1;
    return p->argc > 0 ? RESP_COMMAND : RESP_EMPTY;
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len)
{
    assert(p != NULL);
    assert(buf != NULL || len == 0);
    assert(len >= p->pos); /* the buffer only grows while a command is open */
    p->argc = 0;
    p->consumed = 0;
    p->error = NULL;
    if (len == 0) return RESP_NEED_MORE;

    if (p->kind == KIND_UNKNOWN) {
        trim_memory(p);
        p->kind = buf[0] == '*' ? KIND_MULTIBULK : KIND_INLINE;
    }
    enum resp_status status = p->kind == KIND_MULTIBULK
                                  ? parse_multibulk(p, buf, len)
                                  : parse_inline(p, buf, len);
    if (status != RESP_NEED_MORE) reset_progress(p);
    assert(status != RESP_COMMAND || (p->argc > 0 && p->consumed <= len));
    return status;
}

size_t resp_parser_wanted(const struct resp_parser *p)
{
    assert(p != NULL);
    if (p->kind != KIND_MULTIBULK || p->bulk_len < 0) return 0;
    unsigned long long want = (unsigned long long)p->pos +
                              (unsigned long long)p->bulk_len + 2;
    return want > SIZE_MAX ? SIZE_MAX : (size_t)want;
}
