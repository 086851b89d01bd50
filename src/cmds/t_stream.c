/* cmds/t_stream.c — the stream commands that add, read by range, delete
 * and trim: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, and the
 * helpers every stream command file shares (cmds/stream.h). Semantics,
 * reply shapes and error texts follow Redis 7.0's t_stream.c; the type
 * itself is store/stream.c.
 *
 * IDs made for `*` come from ctx->now_ms, the time the leader wrote into
 * the log entry, and never go backwards: when that time is not past the
 * stream's last ID, the last ID's ms is kept and its sequence grows (as
 * Redis does with its own clock), so a new leader whose clock is behind
 * still adds greater IDs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/stream.h"
#include "store/encoding.h"

/* ---------------------------------------------------------------------
 * Shared helpers
 * ------------------------------------------------------------------- */

/* Redis's string2ull: string2ll for the plain form, else strtoull (which
 * takes leading spaces and a '+'). */
static bool str_to_ull(const char *s, unsigned long long *v)
{
    long long ll;
    if (str_to_ll(s, strlen(s), &ll)) {
        if (ll < 0) return false;
        *v = (unsigned long long)ll;
        return true;
    }
    errno = 0;
    char *end = NULL;
    *v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0')) return false;
    return true;
}

bool xid_parse(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
               uint64_t missing_seq, bool strict, bool *seq_given)
{
    char buf[128];
    unsigned long long ms, seq;
    if (a->len > sizeof buf - 1) goto invalid;
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') goto invalid;
    if (seq_given) *seq_given = true;
    if (buf[0] == '-' && buf[1] == '\0') {
        *id = (struct stream_id){0, 0};
        return true;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        *id = (struct stream_id){UINT64_MAX, UINT64_MAX};
        return true;
    }
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (!str_to_ull(buf, &ms)) goto invalid;
    if (dash) {
        if (seq_given && dash[1] == '*' && dash[2] == '\0') {
            seq = 0;
            *seq_given = false;
        } else if (!str_to_ull(dash + 1, &seq)) {
            goto invalid;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return true;
invalid:
    if (c) resp_error(&c->out, "ERR Invalid stream ID specified as stream command argument");
    return false;
}

bool xid_parse_interval(struct cmd_ctx *c, const struct resp_arg *a, struct stream_id *id,
                        bool *exclude, uint64_t missing_seq)
{
    *exclude = a->len > 1 && a->ptr[0] == '(';
    if (*exclude) {
        struct resp_arg rest = {a->ptr + 1, a->len - 1};
        return xid_parse(c, &rest, id, missing_seq, true, NULL);
    }
    return xid_parse(c, a, id, missing_seq, false, NULL);
}

bool xid_incr(struct stream_id *id)
{
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) {
            id->ms = id->seq = 0;
            return false;
        }
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return true;
}

bool xid_decr(struct stream_id *id)
{
    if (id->seq == 0) {
        if (id->ms == 0) {
            id->ms = id->seq = UINT64_MAX;
            return false;
        }
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return true;
}

int xid_format(const struct stream_id *id, char *buf)
{
    return snprintf(buf, 48, "%" PRIu64 "-%" PRIu64, id->ms, id->seq);
}

void reply_xid(struct cmd_ctx *c, const struct stream_id *id)
{
    char buf[48];
    int n = xid_format(id, buf);
    resp_bulk(&c->out, buf, (size_t)n);
}

void reply_entry(struct cmd_ctx *c, struct stream_entry *e)
{
    resp_array(&c->out, 2);
    reply_xid(c, &e->id);
    resp_array(&c->out, (long long)e->n_strs);
    const char *p;
    size_t len;
    while (stream_entry_next_str(e, &p, &len)) resp_bulk(&c->out, p, len);
}

bool reply_entry_by_id(struct cmd_ctx *c, const struct stream *s, const struct stream_id *id)
{
    struct stream_it it;
    struct stream_entry e;
    stream_it_start(&it, s, id, id, false);
    if (!stream_it_next(&it, &e)) return false;
    reply_entry(c, &e);
    return true;
}

size_t reply_range(struct cmd_ctx *c, const struct stream *s, const struct stream_id *start,
                   const struct stream_id *end, size_t count, bool rev)
{
    size_t h = resp_defer_len(&c->out), n = 0;
    struct stream_it it;
    struct stream_entry e;
    stream_it_start(&it, s, start, end, rev);
    while ((count == 0 || n < count) && stream_it_next(&it, &e)) {
        reply_entry(c, &e);
        n++;
    }
    resp_set_deferred_len(&c->out, h, '*', (long long)n);
    return n;
}

struct sobj *stream_lookup(struct cmd_ctx *c, const struct resp_arg *key, bool *wrong)
{
    struct dict_entry *e = ctx_lookup_type(c, key, OBJ_STREAM, wrong);
    return e ? store_value(e) : NULL;
}

struct stream_consumer *consumer_get(struct cmd_ctx *c, const struct resp_arg *key,
                                     struct stream_cg *g, const struct resp_arg *name)
{
    struct stream_consumer *k = stream_consumer_find(g, name->ptr, name->len);
    if (k == NULL) {
        k = stream_consumer_create(g, name->ptr, name->len, c->now_ms);
        ctx_notify(c, NOTIFY_STREAM, "xgroup-createconsumer", key);
        return k;
    }
    k->seen_time = c->now_ms;
    return k;
}

void reply_subcommand_syntax(struct cmd_ctx *c, const char *parent)
{
    resp_errorf(&c->out, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                (int)c->argv[1].len, c->argv[1].ptr, parent);
}

void reply_help_lines(struct cmd_ctx *c, const char *const *lines)
{
    size_t n = 0;
    while (lines[n]) n++;
    resp_array(&c->out, (long long)n);
    for (size_t i = 0; i < n; i++) resp_simple(&c->out, lines[i]);
}

/* ---------------------------------------------------------------------
 * XADD and XTRIM options (Redis's streamParseAddOrTrimArgsOrReply)
 * ------------------------------------------------------------------- */

enum trim_strategy { TRIM_NONE, TRIM_MAXLEN, TRIM_MINID };

struct add_trim_args {
    enum trim_strategy strategy;
    long long maxlen;
    struct stream_id minid;
    bool approx;
    long long limit;
    bool nomkstream;
    bool id_given, seq_given;
    struct stream_id id;
};

/* Redis's STREAM_LISTPACK_MAX_SIZE: the most bytes of fields and values
 * one entry may have. */
#define STREAM_MAX_ENTRY_BYTES (1u << 30)

/* Redis 7.0's default LIMIT for `~`: 100 blocks' worth of
 * stream-node-max-entries, 10000 when that is 0, at most a million. */
static long long trim_default_limit(void)
{
    long long per_block = store_enc()->stream_node_max_entries;
    if (per_block <= 0 || per_block > 10000) return per_block <= 0 ? 10000 : 1000000;
    return 100 * per_block;
}

/* Returns the index of the ID argument (XADD), or argc (XTRIM); -1 after
 * replying an error. */
static int parse_add_trim(struct cmd_ctx *c, struct add_trim_args *a, bool xadd)
{
    memset(a, 0, sizeof *a);
    a->maxlen = -1;
    bool limit_given = false;
    int i = 2;
    for (; i < c->argc; i++) {
        int more = c->argc - 1 - i;
        const struct resp_arg *opt = &c->argv[i];
        if (xadd && opt->len == 1 && opt->ptr[0] == '*') {
            break;
        } else if ((arg_is(opt, "maxlen") || arg_is(opt, "minid")) && more) {
            bool maxlen = arg_is(opt, "maxlen");
            if (a->strategy != TRIM_NONE) {
                resp_error(&c->out, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->approx = false;
            const struct resp_arg *next = &c->argv[i + 1];
            if (more >= 2 && next->len == 1 && next->ptr[0] == '~') {
                a->approx = true;
                i++;
            } else if (more >= 2 && next->len == 1 && next->ptr[0] == '=') {
                i++;
            }
            if (maxlen) {
                if (!arg_get_ll_or_reply(c, &c->argv[i + 1], &a->maxlen)) return -1;
                if (a->maxlen < 0) {
                    resp_error(&c->out, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->strategy = TRIM_MAXLEN;
            } else {
                if (!xid_parse(c, &c->argv[i + 1], &a->minid, 0, true, NULL)) return -1;
                a->strategy = TRIM_MINID;
            }
            i++;
        } else if (arg_is(opt, "limit") && more) {
            if (!arg_get_ll_or_reply(c, &c->argv[i + 1], &a->limit)) return -1;
            if (a->limit < 0) {
                resp_error(&c->out, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = true;
            i++;
        } else if (xadd && arg_is(opt, "nomkstream")) {
            a->nomkstream = true;
        } else if (xadd) {
            if (!xid_parse(c, opt, &a->id, 0, true, &a->seq_given)) return -1;
            a->id_given = true;
            break;
        } else {
            cmd_reply_syntax_error(c);
            return -1;
        }
    }
    if (a->limit && a->strategy == TRIM_NONE) {
        resp_error(&c->out, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->strategy == TRIM_NONE) {
        resp_error(&c->out, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!a->approx) {
            resp_error(&c->out, "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else {
        a->limit = a->approx ? trim_default_limit() : 0;
    }
    return i;
}

static uint64_t apply_trim(struct stream *s, const struct add_trim_args *a)
{
    if (a->strategy == TRIM_MAXLEN)
        return stream_trim_maxlen(s, (uint64_t)a->maxlen, a->approx, (uint64_t)a->limit);
    if (a->strategy == TRIM_MINID) return stream_trim_minid(s, &a->minid, a->approx, (uint64_t)a->limit);
    return 0;
}

/* ---------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------- */

static void cmd_xadd(struct cmd_ctx *c)
{
    struct add_trim_args a;
    int idpos = parse_add_trim(c, &a, true);
    if (idpos < 0) return;
    int field_pos = idpos + 1;
    if (c->argc - field_pos < 2 || (c->argc - field_pos) % 2 == 1) {
        cmd_reply_arity(&c->out, c->cmd);
        return;
    }
    size_t total = 0;
    for (int i = field_pos; i < c->argc; i++) total += c->argv[i].len;
    if (total > STREAM_MAX_ENTRY_BYTES) {
        resp_error(&c->out, "ERR Elements are too large to be stored");
        return;
    }
    if (a.id_given && a.seq_given && stream_id_is_zero(&a.id)) {
        resp_error(&c->out, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    bool wrong;
    const struct resp_arg *key = &c->argv[1];
    struct sobj *o = stream_lookup(c, key, &wrong);
    if (wrong) return;
    if (o == NULL && a.nomkstream) {
        resp_null(&c->out);
        return;
    }
    bool created = o == NULL;
    if (created) o = stream_new();
    struct stream *s = stream_of(o);
    struct stream_id id;
    const char *err = NULL;
    static const char *const too_small =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    if (s->last_id.ms == UINT64_MAX && s->last_id.seq == UINT64_MAX) {
        err = "ERR The stream has exhausted the last possible ID, unable to add more items";
    } else if (a.id_given && !a.seq_given && s->last_id.ms == a.id.ms) {
        /* <ms>-* with the last ID's ms: the next sequence, if any is left. */
        id = s->last_id;
        if (id.seq == UINT64_MAX) err = too_small;
        else id.seq++;
    } else if (a.id_given) {
        id = a.id;
    } else {
        /* Redis's streamNextID, with the entry's clock for mstime(). */
        uint64_t now = c->now_ms > 0 ? (uint64_t)c->now_ms : 0;
        if (now > s->last_id.ms) {
            id = (struct stream_id){now, 0};
        } else {
            id = s->last_id;
            xid_incr(&id);
        }
    }
    if (err == NULL && stream_id_cmp(&id, &s->last_id) <= 0) err = too_small;
    if (err) {
        if (created) sobj_free(o);
        resp_error(&c->out, err);
        return;
    }
    size_t n = (size_t)(c->argc - field_pos);
    struct stream_str *strs = xmalloc(n * sizeof *strs);
    for (size_t i = 0; i < n; i++) strs[i] = (struct stream_str){c->argv[field_pos + i].ptr, c->argv[field_pos + i].len};
    stream_append(s, &id, n, strs);
    free(strs);
    if (created) store_set(c->store, c->db, key->ptr, key->len, o, false);
    reply_xid(c, &id);
    ctx_notify(c, NOTIFY_STREAM, "xadd", key);
    if (apply_trim(s, &a)) ctx_notify(c, NOTIFY_STREAM, "xtrim", key);
    store_touch(c->store, c->db, key->ptr, key->len);
}

static void cmd_xlen(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    resp_int(&c->out, o ? (long long)stream_of(o)->length : 0);
}

static void xrange(struct cmd_ctx *c, bool rev)
{
    const struct resp_arg *start_arg = &c->argv[rev ? 3 : 2], *end_arg = &c->argv[rev ? 2 : 3];
    struct stream_id start, end;
    bool startex, endex;
    long long count = -1;
    if (!xid_parse_interval(c, start_arg, &start, &startex, 0)) return;
    if (startex && !xid_incr(&start)) {
        resp_error(&c->out, "ERR invalid start ID for the interval");
        return;
    }
    if (!xid_parse_interval(c, end_arg, &end, &endex, UINT64_MAX)) return;
    if (endex && !xid_decr(&end)) {
        resp_error(&c->out, "ERR invalid end ID for the interval");
        return;
    }
    for (int j = 4; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "count") && j + 1 < c->argc) {
            if (!arg_get_ll_or_reply(c, &c->argv[j + 1], &count)) return;
            if (count < 0) count = 0;
            j++;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_array(&c->out, 0);
        return;
    }
    if (count == 0) {
        resp_null_array(&c->out);
        return;
    }
    reply_range(c, stream_of(o), &start, &end, count == -1 ? 0 : (size_t)count, rev);
}

static void cmd_xrange(struct cmd_ctx *c) { xrange(c, false); }
static void cmd_xrevrange(struct cmd_ctx *c) { xrange(c, true); }

static void cmd_xdel(struct cmd_ctx *c)
{
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    struct stream *s = stream_of(o);
    int n = c->argc - 2;
    struct stream_id *ids = xmalloc((size_t)n * sizeof *ids);
    for (int j = 0; j < n; j++) {
        if (!xid_parse(c, &c->argv[2 + j], &ids[j], 0, true, NULL)) {
            free(ids);
            return;
        }
    }
    long long deleted = 0;
    for (int j = 0; j < n; j++) {
        if (!stream_delete(s, &ids[j])) continue;
        if (stream_id_cmp(&ids[j], &s->max_deleted_id) > 0) s->max_deleted_id = ids[j];
        deleted++;
    }
    free(ids);
    if (deleted) {
        store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_STREAM, "xdel", &c->argv[1]);
    }
    resp_int(&c->out, deleted);
}

/* Redis parses the options before it looks at the key: a bad option is an
 * error even for a missing key or one of another type. */
static void cmd_xtrim(struct cmd_ctx *c)
{
    struct add_trim_args a;
    if (parse_add_trim(c, &a, false) < 0) return;
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_int(&c->out, 0);
        return;
    }
    uint64_t removed = apply_trim(stream_of(o), &a);
    if (removed) {
        store_touch(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
        ctx_notify(c, NOTIFY_STREAM, "xtrim", &c->argv[1]);
    }
    resp_int(&c->out, (long long)removed);
}

static void cmd_xsetid(struct cmd_ctx *c)
{
    struct stream_id id, max_xdel = {0, 0};
    long long entries_added = -1;
    if (!xid_parse(c, &c->argv[2], &id, 0, true, NULL)) return;
    for (int i = 3; i < c->argc;) {
        int more = c->argc - 1 - i;
        if (arg_is(&c->argv[i], "entriesadded") && more) {
            if (!arg_get_ll_or_reply(c, &c->argv[i + 1], &entries_added)) return;
            if (entries_added < 0) {
                resp_error(&c->out, "ERR entries_added must be positive");
                return;
            }
            i += 2;
        } else if (arg_is(&c->argv[i], "maxdeletedid") && more) {
            if (!xid_parse(c, &c->argv[i + 1], &max_xdel, 0, true, NULL)) return;
            if (stream_id_cmp(&id, &max_xdel) < 0) {
                resp_error(&c->out, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
            i += 2;
        } else {
            cmd_reply_syntax_error(c);
            return;
        }
    }
    bool wrong;
    struct sobj *o = stream_lookup(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (o == NULL) {
        resp_error(&c->out, "ERR no such key");
        return;
    }
    struct stream *s = stream_of(o);
    if (s->length > 0) {
        struct stream_id maxid = stream_last_valid_id(s);
        if (stream_id_cmp(&id, &maxid) < 0) {
            resp_error(&c->out, "ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if (entries_added != -1 && s->length > (uint64_t)entries_added) {
            resp_error(&c->out, "ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s->last_id = id;
    if (entries_added != -1) s->entries_added = (uint64_t)entries_added;
    if (!stream_id_is_zero(&max_xdel)) s->max_deleted_id = max_xdel;
    /* Redis 7.0's XSETID does not signal the key as modified (WATCH). */
    store_touch_unwatched(c->store, c->db, c->argv[1].ptr, c->argv[1].len);
    ctx_notify(c, NOTIFY_STREAM, "xsetid", &c->argv[1]);
    resp_ok(&c->out);
}

#define X_RD (ACL_STREAM | ACL_READ)
#define X_WR (ACL_STREAM | ACL_WRITE)
#define ROW(n, ar, fl, acl, ex, since, sum, cx, ...) \
    {n, ar, fl, 1, 1, 1, acl, ex, "stream", since, sum, cx, NULL, "" __VA_ARGS__, NULL}

const struct cmd_def cmd_rows_stream[] = {
    ROW("xadd", -5, CMD_WRITE | CMD_DENYOOM | CMD_FAST, X_WR | ACL_FAST, cmd_xadd, "5.0.0",
        "Appends a new entry to a stream",
        "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "RW update"),
    ROW("xlen", 2, CMD_READONLY | CMD_FAST, X_RD | ACL_FAST, cmd_xlen, "5.0.0",
        "Return the number of entries in a stream", "O(1)", "RO keymiss"),
    ROW("xrange", -4, CMD_READONLY, X_RD | ACL_SLOW, cmd_xrange, "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval",
        "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "RO access keymiss"),
    ROW("xrevrange", -4, CMD_READONLY, X_RD | ACL_SLOW, cmd_xrevrange, "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
        "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "RO access keymiss"),
    ROW("xdel", -3, CMD_WRITE | CMD_FAST, X_WR | ACL_FAST, cmd_xdel, "5.0.0",
        "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
        "O(1) for each single item to delete in the stream, regardless of the stream size.", "RW delete"),
    ROW("xtrim", -4, CMD_WRITE, X_WR | ACL_SLOW, cmd_xtrim, "5.0.0",
        "Trims the stream to (approximately if '~' is passed) a certain size",
        "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "RW delete"),
    ROW("xsetid", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, X_WR | ACL_FAST, cmd_xsetid, "5.0.0",
        "An internal command for replicating stream values", "O(1)", "RW update"),
    CMD_ROWS_END,
};
