/* cmds/keyspec.c — where a command's keys are, and what it does to each,
 * read from its row of the command table (what Redis 7 calls key specs).
 *
 * Every row that names keys says so in its `keys` string: a list of specs
 * separated by ", ", each the flags Redis 7.0 gives those keys, then where
 * they are, then maybe a condition:
 *
 *   spec   := flag {" " flag} [" " where] {" " cond}
 *   flag   := "RO" | "RW" | "OW" | "RM"     (exactly one of these, unless
 *                                             the spec is only "not_key")
 *           | "access" | "update" | "insert" | "delete"
 *           | "not_key" | "incomplete" | "variable_flags"
 *           | "keymiss"  (Parley's: the command looks these keys up as
 *                         Redis's lookupKeyRead does, so one that is
 *                         missing fires a keymiss event, cmds/notify.c)
 *   where  := (none)      the row's legacy positions (first, last, step)
 *           | N           the argument at index N
 *           | N ".."      from index N to the last argument
 *           | "#" N       the argument at N is a count; that many keys follow
 *           | WORD "@" N "/2"
 *                         after the first argument from index N on that is
 *                         WORD (any case), the first half of what follows
 *                         (XREAD ... STREAMS k1 k2 id1 id2)
 *           | WORD "@" N "/1"
 *                         the argument after the last such WORD (SORT ...
 *                         STORE k: the last STORE wins); none if no WORD
 *           | WORD "@" N "/n"
 *                         every argument after the first such WORD
 *                         (MIGRATE ... KEYS k1 k2); none if no WORD
 *   cond   := "?" WORDS "@" N   the spec counts only when an argument from
 *                               index N on is one of WORDS ("A|B", any case)
 *           | "!" WORDS "@" N   ... only when none is
 *
 * The flags are Redis's names, and COMMAND GETKEYSANDFLAGS answers them as
 * written (key_flag_names), keymiss aside. A condition stands for what
 * Redis decides in code for SET and BITFIELD (its variable_flags): SET "OW
 * update !GET@3, RW access update keymiss ?GET@3" (BITFIELD with a syntax
 * error is RW to Redis, RO here if it names no SET or INCRBY: the command
 * refuses it either way). e.g. LMOVE "RW access delete 1, RW insert 2",
 * EVAL "RW access update #2", ZUNIONSTORE "OW update 1, RO access keymiss
 * #2", XREAD "RO access keymiss STREAMS@1/2", SORT "RO access keymiss 1,
 * OW update STORE@2/1".
 *
 * ACL reads this (cmds/acl.c: %R~ for a key with access, %W~ for one with
 * update, insert or delete), and so do client tracking, keyspace
 * notifications (keymiss) and COMMAND GETKEYS; nothing routes on a
 * command's name. A not_key spec names no
 * key (SPUBLISH's channel): none of them sees it. Malformed arguments (a
 * count that is not a number, fewer keys than it says) yield the keys that
 * are there; cmd_keys_complete says whether Redis would call them invalid,
 * and the command itself refuses them with Redis's error. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmds/cmd.h"

/* In the order Redis 7.0 answers them (addReplyFlagsForKeyArgs). */
const struct key_flag_name key_flag_names[] = {
    {KEY_RO, "RO"},
    {KEY_RW, "RW"},
    {KEY_OW, "OW"},
    {KEY_RM, "RM"},
    {KEY_ACCESS, "access"},
    {KEY_UPDATE, "update"},
    {KEY_INSERT, "insert"},
    {KEY_DELETE, "delete"},
    {KEY_NOT_KEY, "not_key"},
    {KEY_INCOMPLETE, "incomplete"},
    {KEY_VARIABLE_FLAGS, "variable_flags"},
    {0, NULL},
};

#define KEY_BASE (KEY_RO | KEY_RW | KEY_OW | KEY_RM)
#define CONDS_MAX 2

struct cond {
    const char *words; /* "A|B" */
    size_t len;
    int from;
    bool negated;
};

struct spec {
    uint32_t flags;
    enum { LEGACY, AT, FROM, COUNT, AFTER_WORD } kind;
    int n;
    const char *word; /* AFTER_WORD's word */
    size_t word_len;
    bool one; /* AFTER_WORD: the one argument after it, not half */
    bool all; /* AFTER_WORD: every argument after it, not half */
    struct cond cond[CONDS_MAX];
    int n_conds;
};

/* What a spec found in one call. */
enum found { FOUND, SKIPPED, INVALID };

static bool parse_int(const char **p, int *out)
{
    if (!isdigit((unsigned char)**p)) return false;
    int v = 0;
    while (isdigit((unsigned char)**p) && v < 1000) v = v * 10 + (*(*p)++ - '0');
    *out = v;
    return true;
}

static size_t token_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != ' ' && s[n] != ',') n++;
    return n;
}

static uint32_t flag_bit(const char *s, size_t len)
{
    for (const struct key_flag_name *f = key_flag_names; f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, s, len) == 0) return f->bit;
    if (len == 7 && memcmp(s, "keymiss", 7) == 0) return KEY_NOTIFY_MISS;
    return 0;
}

/* "WORD@N/1", "WORD@N/2" or "WORD@N/n" of exactly len characters. */
static bool parse_after_word(const char *s, size_t len, struct spec *sp)
{
    const char *end = s + len, *p = s;
    sp->word = p;
    while (p < end && isupper((unsigned char)*p)) p++;
    sp->word_len = (size_t)(p - sp->word);
    if (sp->word_len == 0 || p >= end || *p++ != '@' || !parse_int(&p, &sp->n)) return false;
    if (end - p != 2 || p[0] != '/' || (p[1] != '1' && p[1] != '2' && p[1] != 'n')) return false;
    sp->one = p[1] == '1';
    sp->all = p[1] == 'n';
    sp->kind = AFTER_WORD;
    return true;
}

/* "N", "N.." or "#N" of exactly len characters. */
static bool parse_position(const char *s, size_t len, struct spec *sp)
{
    const char *end = s + len, *p = s;
    sp->kind = AT;
    if (*p == '#') {
        p++;
        sp->kind = COUNT;
    }
    if (!parse_int(&p, &sp->n)) return false;
    if (sp->kind == AT && end - p == 2 && p[0] == '.' && p[1] == '.') {
        sp->kind = FROM;
        p += 2;
    }
    return p == end && sp->n >= 1;
}

/* "?WORDS@N" or "!WORDS@N" of exactly len characters. */
static bool parse_cond(const char *s, size_t len, struct spec *sp)
{
    if (sp->n_conds == CONDS_MAX) return false;
    struct cond *c = &sp->cond[sp->n_conds++];
    const char *end = s + len, *p = s + 1;
    c->negated = s[0] == '!';
    c->words = p;
    while (p < end && (isupper((unsigned char)*p) || *p == '|')) p++;
    c->len = (size_t)(p - c->words);
    if (c->len == 0 || c->words[0] == '|' || c->words[c->len - 1] == '|') return false;
    if (p >= end || *p++ != '@' || !parse_int(&p, &c->from)) return false;
    return p == end && c->from >= 1;
}

/* One spec from *p (advanced past it and its ", "); false if malformed. */
static bool parse_spec(const char **p, struct spec *sp)
{
    const char *s = *p;
    memset(sp, 0, sizeof *sp);
    sp->kind = LEGACY;
    bool placed = false;
    for (;;) {
        size_t len = token_len(s);
        if (len == 0) return false;
        uint32_t bit = flag_bit(s, len);
        if (bit != 0 && !placed && sp->n_conds == 0) {
            if (sp->flags & bit) return false;
            sp->flags |= bit;
        } else if (s[0] == '?' || s[0] == '!') {
            if (!parse_cond(s, len, sp)) return false;
        } else if (!placed && sp->n_conds == 0 && sp->flags != 0) {
            bool ok = isupper((unsigned char)s[0]) ? parse_after_word(s, len, sp)
                                                   : parse_position(s, len, sp);
            if (!ok) return false;
            placed = true;
        } else {
            return false;
        }
        s += len;
        if (*s != ' ') break;
        s++;
    }
    /* Exactly one of RO/RW/OW/RM, or a spec that names no key. */
    uint32_t base = sp->flags & KEY_BASE;
    if (sp->flags == KEY_NOT_KEY) {
        /* fine */
    } else if (base == 0 || (base & (base - 1)) != 0) {
        return false;
    }
    if (*s == ',') {
        if (s[1] != ' ') return false;
        s += 2;
    } else if (*s != '\0') {
        return false;
    }
    *p = s;
    return true;
}

bool cmd_keys_valid(const struct cmd_def *cmd)
{
    bool has_keys = cmd->keys && cmd->keys[0];
    /* A row with legacy positions says what it does to those keys. */
    if (cmd->first_key > 0 && !has_keys) return false;
    struct spec sp;
    for (const char *p = cmd->keys; p && *p;) {
        if (!parse_spec(&p, &sp)) return false;
        if (sp.kind == LEGACY && cmd->first_key <= 0) return false;
    }
    return true;
}

bool cmd_keys_movable(const struct cmd_def *cmd)
{
    if (cmd->flags & CMD_PATTERN_KEYS) return true;
    struct spec sp;
    for (const char *p = cmd->keys; p && *p;) {
        if (!parse_spec(&p, &sp)) return false; /* checked at start-up (table.c) */
        if (sp.kind == COUNT || sp.kind == AFTER_WORD) return true;
    }
    return false;
}

bool cmd_has_keys(const struct cmd_def *cmd)
{
    struct spec sp;
    for (const char *p = cmd->keys; p && *p;) {
        if (!parse_spec(&p, &sp)) return false; /* checked at start-up (table.c) */
        if (!(sp.flags & KEY_NOT_KEY)) return true;
    }
    return false;
}

static bool word_is(const struct resp_arg *a, const char *w, size_t len)
{
    return a->len == len && strncasecmp(a->ptr, w, len) == 0;
}

/* Whether a is one of the '|'-separated words. */
static bool word_in(const struct resp_arg *a, const char *words, size_t len)
{
    for (const char *w = words, *end = words + len; w < end;) {
        const char *bar = memchr(w, '|', (size_t)(end - w));
        size_t wl = bar ? (size_t)(bar - w) : (size_t)(end - w);
        if (word_is(a, w, wl)) return true;
        w += wl + 1;
    }
    return false;
}

static bool conds_hold(const struct spec *sp, int argc, const struct resp_arg *argv)
{
    for (int c = 0; c < sp->n_conds; c++) {
        const struct cond *cd = &sp->cond[c];
        bool found = false;
        for (int i = cd->from; i < argc && !found; i++) found = word_in(&argv[i], cd->words, cd->len);
        if (found == cd->negated) return false;
    }
    return true;
}

/* The keys one spec names in this call: [*first, *last] every *step.
 * SKIPPED: its condition does not hold, or its optional WORD is absent;
 * INVALID: its arguments are missing or malformed (Redis's invalid key
 * spec), and *first..*last are what is there. */
static enum found spec_range(const struct cmd_def *cmd, const struct spec *sp, int argc,
                             const struct resp_arg *argv, int *first, int *last, int *step)
{
    *first = sp->n;
    *last = sp->n;
    *step = 1;
    if (!conds_hold(sp, argc, argv)) return SKIPPED;
    switch (sp->kind) {
    case LEGACY:
        *first = cmd->first_key;
        *last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
        *step = cmd->key_step > 0 ? cmd->key_step : 1;
        if (*last >= argc) *last = argc - 1;
        break;
    case AT:
        break;
    case FROM:
        *last = argc - 1;
        break;
    case COUNT: {
        long long nk;
        if (sp->n >= argc || !arg_to_ll(&argv[sp->n], &nk) || nk <= 0) {
            *last = *first - 1; /* none */
            return INVALID;
        }
        *first = sp->n + 1;
        if ((long long)*first + nk - 1 < argc) {
            *last = *first + (int)nk - 1;
        } else {
            *last = argc - 1;
            return INVALID;
        }
        break;
    }
    case AFTER_WORD: {
        /* "/1": the last WORD counts (SORT ... STORE a STORE b stores b). */
        int at = -1;
        if (sp->one) {
            for (int i = argc - 2; i >= sp->n && at < 0; i--)
                if (word_is(&argv[i], sp->word, sp->word_len)) at = i;
        } else {
            for (int i = sp->n; i < argc && at < 0; i++)
                if (word_is(&argv[i], sp->word, sp->word_len)) at = i;
        }
        if (at < 0) {
            *last = *first - 1; /* none */
            return sp->one || sp->all ? SKIPPED : INVALID;
        }
        *first = at + 1;
        *last = sp->one ? (at + 1 < argc ? at + 1 : at) : sp->all ? argc - 1 : at + (argc - at - 1) / 2;
        break;
    }
    }
    return *first < argc && *first <= *last ? FOUND : INVALID;
}

int cmd_keys_each(const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                  cmd_key_fn *fn, void *arg)
{
    struct spec sp;
    for (const char *p = cmd->keys; p && *p;) {
        if (!parse_spec(&p, &sp)) return -1; /* checked at start-up (table.c) */
        if (sp.flags & KEY_NOT_KEY) continue;
        int first, last, step;
        if (spec_range(cmd, &sp, argc, argv, &first, &last, &step) == SKIPPED) continue;
        for (int i = first; i <= last && i < argc; i += step)
            if (!fn(arg, i, sp.flags)) return i;
    }
    return -1;
}

bool cmd_keys_complete(const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    struct spec sp;
    for (const char *p = cmd->keys; p && *p;) {
        if (!parse_spec(&p, &sp)) return false; /* checked at start-up (table.c) */
        if (sp.flags & KEY_NOT_KEY) continue;
        int first, last, step;
        if (spec_range(cmd, &sp, argc, argv, &first, &last, &step) == INVALID) return false;
    }
    return true;
}
