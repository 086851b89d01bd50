/* cmds/keyspec.c — where a command's keys are, and what it does to each,
 * read from its row of the command table (what Redis 7 calls key specs).
 *
 * Most rows need nothing more than Redis's legacy positions (first, last,
 * step: a negative last counts from the end) and two flags saying what
 * the command does to those keys: CMD_KEY_ACCESS (reads their values:
 * GET, INCR, LPOP) and CMD_KEY_MODIFY (inserts, updates or deletes: SET,
 * INCR, DEL). A row whose keys one range cannot describe gives them in
 * its `keys` string, a list of specs separated by ", ":
 *
 *   spec   := access " " where [" ?" WORD]
 *   access := "R" | "W" | "RW" | "-"        (ACCESS, MODIFY, both, neither)
 *   where  := N            the argument at index N
 *           | N ".."       from index N to the last argument
 *           | "#" N        the argument at N is a count; that many keys follow
 *           | WORD "@" N "/2"
 *                          after the first argument from index N on that
 *                          is WORD (any case), the first half of what
 *                          follows (XREAD ... STREAMS k1 k2 id1 id2)
 *           | WORD "@" N "/1"
 *                          the argument after the last such WORD
 *                          (SORT ... STORE k: the last STORE wins)
 *           | WORD "@" N "/n"
 *                          every argument after the first such WORD
 *                          (MIGRATE ... KEYS k1 k2)
 *   ?WORD                  the spec counts only when an argument after the
 *                          key and the one following it is WORD (SET ... GET)
 *
 * e.g. LMOVE "RW 1, W 2", EVAL "RW #2", ZUNIONSTORE "W 1, R #2", XREAD
 * "R STREAMS@1/2", SORT "R 1, W STORE@2/1". ACL reads this (cmds/acl.c: %R~ and %W~); nothing
 * routes on a command's name. Malformed arguments (a count that is not a
 * number, fewer keys than it says) yield the keys that are there: the
 * command itself refuses them with Redis's error. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmds/cmd.h"

struct spec {
    uint32_t access;
    enum { AT, FROM, COUNT, AFTER_WORD } kind;
    int n;
    const char *word; /* AFTER_WORD's word, and ?WORD's */
    bool one;         /* AFTER_WORD: the one argument after it, not half */
    bool all;         /* AFTER_WORD: every argument after it, not half */
    size_t word_len;
    const char *cond;
    size_t cond_len;
};

static bool parse_int(const char **p, int *out)
{
    if (!isdigit((unsigned char)**p)) return false;
    int v = 0;
    while (isdigit((unsigned char)**p) && v < 1000) v = v * 10 + (*(*p)++ - '0');
    *out = v;
    return true;
}

/* One spec from *p (advanced past it and its ", "); false if malformed. */
static bool parse_spec(const char **p, struct spec *sp)
{
    const char *s = *p;
    memset(sp, 0, sizeof *sp);
    if (s[0] == 'R' && s[1] == 'W') sp->access = CMD_KEY_ACCESS | CMD_KEY_MODIFY, s += 2;
    else if (s[0] == 'R') sp->access = CMD_KEY_ACCESS, s++;
    else if (s[0] == 'W') sp->access = CMD_KEY_MODIFY, s++;
    else if (s[0] == '-') s++;
    else return false;
    if (*s++ != ' ') return false;
    if (*s == '#') {
        s++;
        sp->kind = COUNT;
        if (!parse_int(&s, &sp->n)) return false;
    } else if (isdigit((unsigned char)*s)) {
        if (!parse_int(&s, &sp->n)) return false;
        sp->kind = AT;
        if (s[0] == '.' && s[1] == '.') sp->kind = FROM, s += 2;
    } else {
        sp->word = s;
        while (isupper((unsigned char)*s)) s++;
        sp->word_len = (size_t)(s - sp->word);
        if (sp->word_len == 0 || *s++ != '@' || !parse_int(&s, &sp->n) || s[0] != '/' ||
            (s[1] != '1' && s[1] != '2' && s[1] != 'n'))
            return false;
        sp->one = s[1] == '1';
        sp->all = s[1] == 'n';
        s += 2;
        sp->kind = AFTER_WORD;
    }
    if (sp->n < 1) return false;
    if (s[0] == ' ' && s[1] == '?') {
        s += 2;
        sp->cond = s;
        while (isupper((unsigned char)*s)) s++;
        sp->cond_len = (size_t)(s - sp->cond);
        if (sp->cond_len == 0) return false;
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

bool cmd_keys_movable(const struct cmd_def *cmd)
{
    if (cmd->flags & CMD_PATTERN_KEYS) return true;
    return cmd->keys && (strchr(cmd->keys, '#') || strchr(cmd->keys, '@'));
}

bool cmd_keys_valid(const char *keys)
{
    struct spec sp;
    for (const char *p = keys; p && *p;)
        if (!parse_spec(&p, &sp)) return false;
    return true;
}

static bool word_is(const struct resp_arg *a, const char *w, size_t len)
{
    return a->len == len && strncasecmp(a->ptr, w, len) == 0;
}

/* The keys one spec names in this call: [*first, *last] every step 1. */
static bool spec_range(const struct spec *sp, int argc, const struct resp_arg *argv, int *first,
                       int *last)
{
    *first = sp->n;
    *last = sp->n;
    switch (sp->kind) {
    case AT:
        break;
    case FROM:
        *last = argc - 1;
        break;
    case COUNT: {
        long long nk;
        if (sp->n >= argc || !arg_to_ll(&argv[sp->n], &nk) || nk <= 0) return false;
        *first = sp->n + 1;
        *last = (long long)*first + nk - 1 < argc ? *first + (int)nk - 1 : argc - 1;
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
        if (at < 0) return false;
        *first = at + 1;
        *last = sp->one ? (at + 1 < argc ? at + 1 : at) : sp->all ? argc - 1 : at + (argc - at - 1) / 2;
        break;
    }
    }
    if (sp->cond) {
        bool found = false;
        for (int i = *first + 2; i < argc && !found; i++)
            found = word_is(&argv[i], sp->cond, sp->cond_len);
        if (!found) return false;
    }
    return *first < argc && *first <= *last;
}

int cmd_keys_each(const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                  cmd_key_fn *fn, void *arg)
{
    if (cmd->keys == NULL || cmd->keys[0] == '\0') {
        if (cmd->first_key <= 0) return -1;
        uint32_t access = cmd->flags & (CMD_KEY_ACCESS | CMD_KEY_MODIFY);
        int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
        int step = cmd->key_step > 0 ? cmd->key_step : 1;
        for (int i = cmd->first_key; i <= last && i < argc; i += step)
            if (!fn(arg, i, access)) return i;
        return -1;
    }
    struct spec sp;
    for (const char *p = cmd->keys; *p;) {
        if (!parse_spec(&p, &sp)) return -1; /* checked at start-up (table.c) */
        int first, last;
        if (!spec_range(&sp, argc, argv, &first, &last)) continue;
        for (int i = first; i <= last; i++)
            if (!fn(arg, i, sp.access)) return i;
    }
    return -1;
}
