/* cmds/acl.c — ACL users' rules, permission checks, and the ACL commands
 * that run on the store (see acl.h):
 *
 *   __aclsetuser <name> <rule>...   ACL SETUSER, passwords already hashed
 *   ACL DELUSER <name>...           as Redis
 *   __aclload (<name> <items>)*     ACL LOAD: the aclfile's users, read and
 *                                   checked by the node that received it
 *   ACL GETUSER / LIST / USERS / DRYRUN   reads of the replicated users
 *   __asuser <user> <command>...    runs a script command with its
 *                                   caller's permissions (redis.call
 *                                   checks them against the users as they
 *                                   are at that log index), or a
 *                                   transaction (__exec) whose queued
 *                                   commands are checked as EXEC runs
 *                                   (acl_exec_refuse)
 *
 * Server commands (AUTH, ACL WHOAMI / CAT / GENPASS / LOG / SAVE / LOAD's
 * file reading) are server/cmd_acl.c's. */
#include "cmds/acl.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "base/mem.h"
#include "cmds/exec.h"

/* ------------------------------------------------------------------
 * A user, compiled from its blob
 * ---------------------------------------------------------------- */

enum { PERM_R = 1, PERM_W = 2 };

struct pattern {
    char *p;
    size_t len;
    int perm; /* PERM_R | PERM_W for keys */
};

enum { SANITIZE = 1, SANITIZE_SKIP = 2 };

struct acl_user {
    bool on, nopass, allkeys, allchannels;
    /* Redis's reserved "future commands" bit: set by +@all, cleared by
     * -@all; ACL LIST starts from +@all when it is set. */
    bool allcommands;
    int sanitize; /* 0, SANITIZE or SANITIZE_SKIP: shown, else unused */
    char (*hashes)[65];
    size_t n_hashes;
    struct pattern *keys, *chans;
    size_t n_keys, n_chans;
    uint64_t *bits; /* by cmd_id */
};

static void user_free(struct acl_user *u)
{
    if (u == NULL) return;
    free(u->hashes);
    for (size_t i = 0; i < u->n_keys; i++) free(u->keys[i].p);
    for (size_t i = 0; i < u->n_chans; i++) free(u->chans[i].p);
    free(u->keys);
    free(u->chans);
    free(u->bits);
    free(u);
}

static struct acl_user *user_new(void)
{
    struct acl_user *u = xcalloc(1, sizeof *u);
    u->bits = xcalloc((cmd_count_all() + 63) / 64, sizeof *u->bits);
    return u;
}

static void add_pattern(struct pattern **v, size_t *n, const char *p, size_t len, int perm)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].len == len && memcmp((*v)[i].p, p, len) == 0) {
            (*v)[i].perm |= perm;
            return;
        }
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n].p = xstrndup(p, len);
    (*v)[*n].len = len;
    (*v)[*n].perm = perm;
    (*n)++;
}

static void clear_patterns(struct pattern **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++) free((*v)[i].p);
    free(*v);
    *v = NULL;
    *n = 0;
}

void acl_sha256_hex(const char *p, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)p, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool valid_hash(const char *p, size_t len)
{
    if (len != 64) return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)p[i]) && !(p[i] >= 'a' && p[i] <= 'f')) return false;
    return true;
}

static bool eq_word(const char *p, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

/* Whether a rule can name the row: node-to-node and internal rows are
 * outside ACL. */
static bool nameable(const struct cmd_def *d)
{
    return !(d->flags & (CMD_INTERNAL | CMD_NODE));
}

/* The row a command rule names ("get", "client", "client|kill"), NULL if
 * none. */
static const struct cmd_def *rule_command(const char *p, size_t len)
{
    const char *bar = memchr(p, '|', len);
    const struct cmd_def *d = cmd_lookup(p, bar ? (size_t)(bar - p) : len, false);
    if (d == NULL || !nameable(d)) return NULL;
    if (bar == NULL) return d;
    if (d->subcommands == NULL) return NULL; /* Parley allows no first-arg rules */
    return cmd_lookup_sub(d, bar + 1, len - (size_t)(bar - p) - 1);
}

static void set_bit(struct acl_user *u, const struct cmd_def *d, bool allow)
{
    size_t id = cmd_id(d);
    if (allow) u->bits[id / 64] |= 1ull << (id % 64);
    else u->bits[id / 64] &= ~(1ull << (id % 64));
}

static bool has_bit(const struct acl_user *u, const struct cmd_def *d)
{
    size_t id = cmd_id(d);
    return (u->bits[id / 64] >> (id % 64)) & 1;
}

/* Redis's ACLChangeSelectorPerm: a command's bit, and a container's
 * subcommands' bits with it. */
static void change_perm(struct acl_user *u, const struct cmd_def *d, bool allow)
{
    set_bit(u, d, allow);
    if (d->subcommands)
        for (const struct cmd_def *s = d->subcommands; s->name; s++) set_bit(u, s, allow);
}

/* +@cat / -@cat: every row of the category, a container's subcommands
 * with it (as Redis 7.0: +@slow reaches CLIENT's fast subcommands). */
static void apply_category(struct acl_user *u, uint32_t cat, bool allow)
{
    for (size_t i = 0; i < cmd_table_size(); i++) {
        const struct cmd_def *d = cmd_table_at(i);
        if (d->acl & cat) change_perm(u, d, allow);
        if (d->subcommands)
            for (const struct cmd_def *s = d->subcommands; s->name; s++)
                if (s->acl & cat) change_perm(u, s, allow);
    }
}

static void set_all_commands(struct acl_user *u, bool allow)
{
    memset(u->bits, allow ? 0xff : 0, (cmd_count_all() + 63) / 64 * sizeof *u->bits);
    u->allcommands = allow;
}

/* Applies a command rule (+x / -x, checked) to the bits. */
static void apply_command_rule(struct acl_user *u, const char *p, size_t len)
{
    bool allow = p[0] == '+';
    if (len >= 2 && p[1] == '@') {
        apply_category(u, acl_category_bit(p + 2, len - 2), allow);
        return;
    }
    const struct cmd_def *d = rule_command(p + 1, len - 1);
    CHECK(d != NULL); /* checked when the rule was taken */
    if (memchr(p, '|', len)) set_bit(u, d, allow);
    else change_perm(u, d, allow);
}

/* Applies one rule as ACL SETUSER takes it; NULL or Redis's reason. */
static const char *apply_rule(struct acl_user *u, const char *p, size_t len)
{
    if (len == 0) return "Syntax error";
    if (eq_word(p, len, "on")) u->on = true;
    else if (eq_word(p, len, "off")) u->on = false;
    else if (eq_word(p, len, "nopass")) {
        u->nopass = true;
        free(u->hashes);
        u->hashes = NULL;
        u->n_hashes = 0;
    } else if (eq_word(p, len, "resetpass")) {
        u->nopass = false;
        free(u->hashes);
        u->hashes = NULL;
        u->n_hashes = 0;
    } else if (p[0] == '>' || p[0] == '#' || p[0] == '<' || p[0] == '!') {
        char hex[65];
        if (p[0] == '>' || p[0] == '<') {
            acl_sha256_hex(p + 1, len - 1, hex);
        } else {
            if (!valid_hash(p + 1, len - 1))
                return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
            memcpy(hex, p + 1, 64);
            hex[64] = '\0';
        }
        size_t at = u->n_hashes;
        for (size_t i = 0; i < u->n_hashes; i++)
            if (memcmp(u->hashes[i], hex, 64) == 0) at = i;
        if (p[0] == '>' || p[0] == '#') {
            if (at == u->n_hashes) {
                u->hashes = xrealloc(u->hashes, (u->n_hashes + 1) * sizeof *u->hashes);
                memcpy(u->hashes[u->n_hashes++], hex, 65);
            }
            u->nopass = false;
        } else {
            if (at == u->n_hashes) return "The password you are trying to remove from the user does not exist";
            memmove(&u->hashes[at], &u->hashes[at + 1], (u->n_hashes - at - 1) * sizeof *u->hashes);
            u->n_hashes--;
        }
    } else if (eq_word(p, len, "allkeys") || (len == 2 && p[0] == '~' && p[1] == '*')) {
        clear_patterns(&u->keys, &u->n_keys);
        u->allkeys = true;
    } else if (eq_word(p, len, "resetkeys")) {
        clear_patterns(&u->keys, &u->n_keys);
        u->allkeys = false;
    } else if (p[0] == '~' || p[0] == '%') {
        int perm = PERM_R | PERM_W;
        size_t skip = 1;
        if (p[0] == '%') {
            perm = 0;
            for (skip = 1; skip < len && p[skip] != '~'; skip++) {
                if (toupper((unsigned char)p[skip]) == 'R') perm |= PERM_R;
                else if (toupper((unsigned char)p[skip]) == 'W') perm |= PERM_W;
                else return "Syntax error";
            }
            if (skip == len || perm == 0) return "Syntax error";
            skip++;
        }
        if (u->allkeys)
            return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
        add_pattern(&u->keys, &u->n_keys, p + skip, len - skip, perm);
    } else if (eq_word(p, len, "allchannels") || (len == 2 && p[0] == '&' && p[1] == '*')) {
        clear_patterns(&u->chans, &u->n_chans);
        u->allchannels = true;
    } else if (eq_word(p, len, "resetchannels")) {
        clear_patterns(&u->chans, &u->n_chans);
        u->allchannels = false;
    } else if (p[0] == '&') {
        if (u->allchannels)
            return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
        add_pattern(&u->chans, &u->n_chans, p + 1, len - 1, PERM_R | PERM_W);
    } else if (eq_word(p, len, "allcommands") || eq_word(p, len, "+@all") ||
               eq_word(p, len, "nocommands") || eq_word(p, len, "-@all")) {
        set_all_commands(u, p[0] == 'a' || p[0] == 'A' || p[0] == '+');
    } else if (p[0] == '+' || p[0] == '-') {
        if (len >= 2 && p[1] == '@') {
            if (acl_category_bit(p + 2, len - 2) == 0) return "Unknown command or category name in ACL";
        } else if (rule_command(p + 1, len - 1) == NULL) {
            return "Unknown command or category name in ACL";
        }
        apply_command_rule(u, p, len);
    } else if (eq_word(p, len, "reset")) {
        u->on = u->nopass = u->allkeys = u->allchannels = u->allcommands = false;
        free(u->hashes);
        u->hashes = NULL;
        u->n_hashes = 0;
        clear_patterns(&u->keys, &u->n_keys);
        clear_patterns(&u->chans, &u->n_chans);
        set_all_commands(u, false);
        u->sanitize = SANITIZE; /* as Redis's reset */
    } else if (eq_word(p, len, "sanitize-payload")) {
        u->sanitize = SANITIZE; /* shown as Redis shows it; RESTORE always checks a payload whole */
    } else if (eq_word(p, len, "skip-sanitize-payload")) {
        u->sanitize = SANITIZE_SKIP;
    } else if (eq_word(p, len, "clearselectors")) {
        /* accepted; Parley has no selectors */
    } else {
        return "Syntax error";
    }
    return NULL;
}

bool acl_rules_next(const char **p, const char *end, const char **item, size_t *len)
{
    if (*p == end || end - *p < 4) return false;
    const unsigned char *q = (const unsigned char *)*p;
    uint32_t n = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    if ((size_t)(end - *p - 4) < n) return false;
    *item = *p + 4;
    *len = n;
    *p += 4 + n;
    return true;
}

static void put_item(struct buf *out, const char *p, size_t len)
{
    buf_append_u32(out, (uint32_t)len);
    buf_append(out, p, len);
}

static void put_itemf(struct buf *out, const char *prefix, const char *p, size_t len)
{
    size_t pl = strlen(prefix);
    buf_append_u32(out, (uint32_t)(pl + len));
    buf_append(out, prefix, pl);
    buf_append(out, p, len);
}

/* Counts a category's rows (subcommands included, internal rows not:
 * the rows apply_category reaches) the user may and may not run, as
 * Redis's ACLCountCategoryBitsForCommands. */
static void count_category(const struct acl_user *u, uint32_t cat, size_t *on, size_t *off)
{
    *on = *off = 0;
    for (size_t i = 0; i < cmd_table_size(); i++) {
        const struct cmd_def *d = cmd_table_at(i);
        if (d->acl & cat) *(has_bit(u, d) ? on : off) += 1;
        if (d->subcommands)
            for (const struct cmd_def *s = d->subcommands; s->name; s++)
                if (s->acl & cat) *(has_bit(u, s) ? on : off) += 1;
    }
}

/* The user's command rules as Redis 7.0 describes them
 * (ACLDescribeSelectorCommandRules): +@all or -@all, then the categories
 * that best fit the commands, greedily (the one with the fewest
 * differences, then the most in common, first in ACL CAT's order on a
 * tie), then a rule per command (and subcommand) still different. Redis
 * lists those single commands in its hash table's order, which changes
 * with every process; Parley lists them in the table's. Applied in order
 * to a new user, the rules give this user's bits exactly. */
static void describe_commands(const struct acl_user *u, struct buf *out)
{
    bool additive = !u->allcommands;
    struct acl_user *fake = user_new(), *temp = user_new();
    set_all_commands(fake, !additive);
    memcpy(temp->bits, u->bits, (cmd_count_all() + 63) / 64 * sizeof *u->bits);
    put_item(out, additive ? "-@all" : "+@all", 5);
    bool applied[32] = {false};
    for (;;) {
        int best = -1;
        size_t mindiff = SIZE_MAX, maxsame = 0;
        for (int j = 0; acl_category_names[j].name; j++) {
            if (applied[j]) continue;
            size_t on, off;
            count_category(temp, acl_category_names[j].bit, &on, &off);
            size_t diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        apply_category(fake, acl_category_names[best].bit, additive);
        apply_category(temp, acl_category_names[best].bit, !additive);
        put_itemf(out, additive ? "+@" : "-@", acl_category_names[best].name,
                  strlen(acl_category_names[best].name));
        applied[best] = true;
    }
    for (size_t i = 0; i < cmd_table_size(); i++) {
        const struct cmd_def *d = cmd_table_at(i);
        if (!nameable(d)) continue;
        bool bit = has_bit(u, d);
        if (bit != has_bit(fake, d)) {
            put_itemf(out, bit ? "+" : "-", d->name, strlen(d->name));
            change_perm(fake, d, bit);
        }
        if (d->subcommands)
            for (const struct cmd_def *s = d->subcommands; s->name; s++) {
                bit = has_bit(u, s);
                if (bit == has_bit(fake, s)) continue;
                put_itemf(out, bit ? "+" : "-", s->name, strlen(s->name));
                set_bit(fake, s, bit);
            }
    }
    user_free(fake);
    user_free(temp);
}

/* The user's blob: its description as Redis 7.0's ACL LIST gives it, one
 * rule per item (acl.h). */
static void describe(const struct acl_user *u, struct buf *out)
{
    put_item(out, u->on ? "on" : "off", u->on ? 2 : 3);
    if (u->nopass) put_item(out, "nopass", 6);
    if (u->sanitize == SANITIZE_SKIP) put_item(out, "skip-sanitize-payload", 21);
    if (u->sanitize == SANITIZE) put_item(out, "sanitize-payload", 16);
    for (size_t i = 0; i < u->n_hashes; i++) put_itemf(out, "#", u->hashes[i], 64);
    if (u->allkeys) put_item(out, "~*", 2);
    for (size_t i = 0; i < u->n_keys; i++) {
        const struct pattern *k = &u->keys[i];
        const char *prefix = k->perm == (PERM_R | PERM_W) ? "~" : k->perm == PERM_R ? "%R~" : "%W~";
        put_itemf(out, prefix, k->p, k->len);
    }
    if (u->allchannels) put_item(out, "&*", 2);
    else put_item(out, "resetchannels", 13);
    for (size_t i = 0; i < u->n_chans; i++) put_itemf(out, "&", u->chans[i].p, u->chans[i].len);
    describe_commands(u, out);
}

/* A user from its blob (NULL blob: a new user, as Redis 7.0 makes one with
 * acl-pubsub-default resetchannels). */
static struct acl_user *compile(const char *blob, size_t len)
{
    struct acl_user *u = user_new();
    const char *p = blob, *end = blob + len, *item;
    size_t n;
    while (blob && acl_rules_next(&p, end, &item, &n)) {
        if (apply_rule(u, item, n) != NULL) {
            /* Stored descriptions are checked before they enter the log;
             * one that is not valid here (a snapshot of another build, a
             * damaged one) must not stop every node: that user may do
             * nothing, on every node alike. */
            user_free(u);
            return user_new();
        }
    }
    return u;
}

/* ------------------------------------------------------------------
 * The cache of compiled users
 * ---------------------------------------------------------------- */

#define CACHE_SLOTS 64

static struct {
    uint64_t version;
    char *name;
    size_t nlen;
    struct acl_user *u;
} cache[CACHE_SLOTS];

static size_t hash_name(const char *p, size_t len);

static struct acl_user *user_of(struct store *s, const char *name, size_t nlen)
{
    const struct acl_user_rec *rec = acl_users_find(&s->users, name, nlen);
    if (rec == NULL) return NULL;
    size_t slot = hash_name(name, nlen) % CACHE_SLOTS;
    if (cache[slot].u && cache[slot].version == s->users.version && cache[slot].nlen == nlen &&
        memcmp(cache[slot].name, name, nlen) == 0)
        return cache[slot].u;
    user_free(cache[slot].u);
    free(cache[slot].name);
    cache[slot].u = compile(rec->rules, rec->rlen);
    cache[slot].name = xstrndup(name, nlen);
    cache[slot].nlen = nlen;
    cache[slot].version = s->users.version;
    return cache[slot].u;
}

static size_t hash_name(const char *p, size_t len)
{
    size_t h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + (unsigned char)p[i];
    return h;
}

/* ------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------- */

bool acl_password_ok(struct store *s, const char *user, size_t ulen, const char *pass, size_t plen)
{
    const struct acl_user *u = user_of(s, user, ulen);
    if (u == NULL || !u->on) return false;
    if (u->nopass) return true;
    char hex[65];
    acl_sha256_hex(pass, plen, hex);
    for (size_t i = 0; i < u->n_hashes; i++)
        if (memcmp(u->hashes[i], hex, 64) == 0) return true;
    return false;
}

bool acl_user_has_hash(struct store *s, const char *user, size_t ulen, const char *hex)
{
    const struct acl_user *u = user_of(s, user, ulen);
    for (size_t i = 0; u && i < u->n_hashes; i++)
        if (memcmp(u->hashes[i], hex, 64) == 0) return true;
    return false;
}

bool acl_user_on(struct store *s, const char *user, size_t ulen)
{
    const struct acl_user *u = user_of(s, user, ulen);
    return u && u->on;
}

bool acl_user_nopass(struct store *s, const char *user, size_t ulen)
{
    const struct acl_user *u = user_of(s, user, ulen);
    return u && u->on && u->nopass;
}

bool acl_user_unrestricted(struct store *s, const char *user, size_t ulen)
{
    const struct acl_user *u = user_of(s, user, ulen);
    if (u == NULL || !u->allkeys || !u->allchannels) return false;
    for (size_t id = 0; id < cmd_count_all(); id++)
        if (!has_bit(u, cmd_by_id(id))) return false;
    return true;
}

static bool key_ok(const struct acl_user *u, const struct resp_arg *key, int perm)
{
    if (u->allkeys) return true;
    for (size_t i = 0; i < u->n_keys; i++)
        if ((u->keys[i].perm & perm) == perm &&
            glob_match(u->keys[i].p, u->keys[i].len, key->ptr, key->len, false))
            return true;
    return false;
}

/* A channel (glob-matched against the user's patterns) or, for
 * PSUBSCRIBE, a pattern (which must be one of the user's, literally). */
static bool channel_ok(const struct acl_user *u, const char *name, size_t len, bool is_pattern)
{
    if (u->allchannels) return true;
    for (size_t i = 0; i < u->n_chans; i++) {
        const struct pattern *c = &u->chans[i];
        if (is_pattern ? (c->len == len && memcmp(c->p, name, len) == 0)
                       : glob_match(c->p, c->len, name, len, false))
            return true;
    }
    return false;
}

bool acl_channel_ok(struct store *s, const char *user, size_t ulen, char kind, const char *name,
                    size_t nlen)
{
    const struct acl_user *u = user_of(s, user, ulen);
    return u && channel_ok(u, name, nlen, kind == 'p');
}

struct key_check {
    const struct acl_user *u;
    const struct resp_arg *argv;
};

/* Redis's rule: %R~ for a key the command reads (access), %W~ for one it
 * changes (update, insert, delete). */
static bool key_allowed(void *arg, int index, uint32_t key_flags)
{
    const struct key_check *k = arg;
    int perm = ((key_flags & KEY_ACCESS) ? PERM_R : 0) | ((key_flags & KEY_WRITES) ? PERM_W : 0);
    return key_ok(k->u, &k->argv[index], perm);
}

/* The first key argument the user may not use as the command uses it
 * (the row's key specs: %R~ for a key it reads, %W~ for one it changes,
 * any matching pattern for one it does neither to), or -1. */
static int first_bad_key(const struct acl_user *u, const struct cmd_def *d, int argc,
                         const struct resp_arg *argv)
{
    if (u->allkeys) return -1;
    struct key_check k = {u, argv};
    return cmd_keys_each(d, argc, argv, key_allowed, &k);
}

/* The channels the row says the command names (CMD_CHANNEL_*):
 * PUBLISH/SPUBLISH argv[1], (S|P)SUBSCRIBE all of theirs. -1 or the index
 * refused. */
static int first_bad_channel(const struct acl_user *u, const struct cmd_def *d, int argc,
                             const struct resp_arg *argv)
{
    if (u->allchannels) return -1;
    int last;
    if (d->flags & CMD_CHANNEL_PUBLISH) last = argc > 1 ? 1 : 0;
    else if (d->flags & CMD_CHANNEL_SUBSCRIBE) last = argc - 1;
    else return -1;
    bool pattern = d->flags & CMD_CHANNEL_PATTERN;
    for (int i = 1; i <= last; i++)
        if (!channel_ok(u, argv[i].ptr, argv[i].len, pattern)) return i;
    return -1;
}

enum acl_verdict acl_check(struct store *s, const char *user, size_t ulen,
                           const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                           int *bad_arg)
{
    const struct acl_user *u = user_of(s, user, ulen);
    *bad_arg = 0;
    if (u == NULL) return ACL_DENIED_USER;
    if (!has_bit(u, cmd)) return ACL_DENIED_CMD;
    int bad = first_bad_key(u, cmd, argc, argv);
    if (bad >= 0) {
        *bad_arg = bad;
        return ACL_DENIED_KEY;
    }
    bad = first_bad_channel(u, cmd, argc, argv);
    if (bad >= 0) {
        *bad_arg = bad;
        return ACL_DENIED_CHANNEL;
    }
    return ACL_ALLOWED;
}

/* ------------------------------------------------------------------
 * Rules before they are proposed
 * ---------------------------------------------------------------- */

bool acl_hash_passwords(int n, const struct resp_arg *rules, struct buf *out, char *err,
                        size_t errlen)
{
    /* Each rule must be one a user could take: try them on a scratch
     * user that has no patterns (so only state-free errors show). */
    struct acl_user *scratch = user_new();
    for (int i = 0; i < n; i++) {
        const struct resp_arg *r = &rules[i];
        const char *why = NULL;
        if (r->len && (r->ptr[0] == '<' || r->ptr[0] == '!')) {
            if (r->ptr[0] == '!' && !valid_hash(r->ptr + 1, r->len - 1))
                why = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
        } else if (!(r->len && (r->ptr[0] == '~' || r->ptr[0] == '%' || r->ptr[0] == '&'))) {
            why = apply_rule(scratch, r->ptr, r->len);
        } else if (r->ptr[0] == '%') {
            struct acl_user *fresh = user_new();
            why = apply_rule(fresh, r->ptr, r->len);
            user_free(fresh);
        }
        if (why) {
            snprintf(err, errlen, "ERR Error in ACL SETUSER modifier '%.*s': %s", (int)r->len, r->ptr,
                     why);
            user_free(scratch);
            return false;
        }
        if (r->len && (r->ptr[0] == '>' || r->ptr[0] == '<')) {
            char hex[65];
            acl_sha256_hex(r->ptr + 1, r->len - 1, hex);
            put_itemf(out, r->ptr[0] == '>' ? "#" : "!", hex, 64);
        } else {
            put_item(out, r->ptr, r->len);
        }
    }
    user_free(scratch);
    return true;
}

/* ------------------------------------------------------------------
 * Commands on the store
 * ---------------------------------------------------------------- */

/* Applies rules (items, or resp arguments) to a user (NULL: a new one):
 * the new blob in out, or false with Redis's error in err. */
static bool setuser(struct store *s, const struct resp_arg *name, int n, const struct resp_arg *args,
                    const char *items, size_t items_len, struct buf *out, char *err, size_t errlen)
{
    const struct acl_user_rec *rec = s ? acl_users_find(&s->users, name->ptr, name->len) : NULL;
    struct acl_user *u = compile(rec ? rec->rules : NULL, rec ? rec->rlen : 0);
    const char *p = items, *end = items + items_len, *item;
    size_t len;
    for (int i = 0;; i++) {
        if (args) {
            if (i == n) break;
            item = args[i].ptr;
            len = args[i].len;
        } else if (!acl_rules_next(&p, end, &item, &len)) {
            break;
        }
        const char *why = apply_rule(u, item, len);
        if (why) {
            snprintf(err, errlen, "ERR Error in ACL SETUSER modifier '%.*s': %s", (int)len, item, why);
            user_free(u);
            return false;
        }
    }
    describe(u, out);
    user_free(u);
    return true;
}

static void user_changed(struct store *s, const char *name, size_t nlen, bool deleted)
{
    if (s->on_user_change) s->on_user_change(s->user_change_arg, name, nlen, deleted);
}

int acl_setuser_check(struct store *s, const char *name, size_t nlen, const struct buf *items,
                      const char **why)
{
    const struct acl_user_rec *rec = acl_users_find(&s->users, name, nlen);
    struct acl_user *u = compile(rec ? rec->rules : NULL, rec ? rec->rlen : 0);
    const char *p = items->data, *end = items->data + items->len, *item;
    size_t len;
    int bad = -1;
    for (int i = 0; p && bad < 0 && acl_rules_next(&p, end, &item, &len); i++)
        if ((*why = apply_rule(u, item, len)) != NULL) bad = i;
    user_free(u);
    return bad;
}

/* __aclsetuser <name> <rule>... */
static void cmd_internal_setuser(struct cmd_ctx *c)
{
    struct buf blob = BUF_INIT;
    char err[512];
    if (!setuser(c->store, &c->argv[1], c->argc - 2, c->argv + 2, NULL, 0, &blob, err, sizeof err)) {
        resp_error(&c->out, err);
        buf_free(&blob);
        return;
    }
    acl_users_set(&c->store->users, c->argv[1].ptr, c->argv[1].len, blob.data ? blob.data : "",
                  blob.len);
    buf_free(&blob);
    user_changed(c->store, c->argv[1].ptr, c->argv[1].len, false);
    resp_ok(&c->out);
}

static void cmd_acl_deluser(struct cmd_ctx *c)
{
    for (int i = 2; i < c->argc; i++)
        if (c->argv[i].len == 7 && memcmp(c->argv[i].ptr, "default", 7) == 0) {
            resp_error(&c->out, "ERR The 'default' user cannot be removed");
            return;
        }
    long long n = 0;
    for (int i = 2; i < c->argc; i++)
        if (acl_users_delete(&c->store->users, c->argv[i].ptr, c->argv[i].len)) {
            n++;
            user_changed(c->store, c->argv[i].ptr, c->argv[i].len, true);
        }
    resp_int(&c->out, n);
}

/* __aclload (<name> <items>)*: every user of the file, checked before it
 * was proposed; replaces all users (a file without "default" gives the
 * default user of a fresh store). All or nothing. */
static void cmd_internal_aclload(struct cmd_ctx *c)
{
    if ((c->argc - 1) % 2) {
        resp_error(&c->out, "ERR malformed __aclload");
        return;
    }
    struct acl_users next;
    acl_users_init(&next);
    char err[512];
    for (int i = 1; i < c->argc; i += 2) {
        struct buf blob = BUF_INIT;
        if (!setuser(NULL, &c->argv[i], 0, NULL, c->argv[i + 1].ptr, c->argv[i + 1].len, &blob, err,
                     sizeof err)) {
            buf_free(&blob);
            acl_users_free(&next);
            resp_error(&c->out, err);
            return;
        }
        acl_users_set(&next, c->argv[i].ptr, c->argv[i].len, blob.data ? blob.data : "", blob.len);
        buf_free(&blob);
    }
    struct acl_users old = c->store->users;
    c->store->users = next; /* its version is new (acl.h) */
    for (size_t i = 0; i < old.n; i++) {
        bool gone = acl_users_find(&c->store->users, old.v[i].name, old.v[i].nlen) == NULL;
        user_changed(c->store, old.v[i].name, old.v[i].nlen, gone);
    }
    acl_users_free(&old);
    resp_ok(&c->out);
}

/* One user's rules as ACL LIST writes them: items joined by spaces. */
static void append_description(struct buf *out, const struct acl_user_rec *rec)
{
    const char *p = rec->rules, *end = rec->rules + rec->rlen, *item;
    size_t len;
    while (acl_rules_next(&p, end, &item, &len)) {
        buf_append(out, " ", 1);
        buf_append(out, item, len);
    }
}

static void cmd_acl_list(struct cmd_ctx *c)
{
    const struct acl_users *u = &c->store->users;
    resp_array(&c->out, (long long)u->n);
    for (size_t i = 0; i < u->n; i++) {
        struct buf line = BUF_INIT;
        buf_append(&line, "user ", 5);
        buf_append(&line, u->v[i].name, u->v[i].nlen);
        append_description(&line, &u->v[i]);
        resp_bulk(&c->out, line.data, line.len);
        buf_free(&line);
    }
}

static void cmd_acl_users(struct cmd_ctx *c)
{
    const struct acl_users *u = &c->store->users;
    resp_array(&c->out, (long long)u->n);
    for (size_t i = 0; i < u->n; i++) resp_bulk(&c->out, u->v[i].name, u->v[i].nlen);
}

static void cmd_acl_getuser(struct cmd_ctx *c)
{
    const struct acl_user_rec *rec = acl_users_find(&c->store->users, c->argv[2].ptr, c->argv[2].len);
    if (rec == NULL) {
        resp_null(&c->out);
        return;
    }
    struct acl_user *u = compile(rec->rules, rec->rlen);
    resp_map(&c->out, 6);
    resp_bulk_str(&c->out, "flags");
    resp_array(&c->out, 1 + (u->nopass ? 1 : 0) + (u->sanitize ? 1 : 0));
    resp_bulk_str(&c->out, u->on ? "on" : "off");
    if (u->nopass) resp_bulk_str(&c->out, "nopass");
    if (u->sanitize) resp_bulk_str(&c->out, u->sanitize == SANITIZE ? "sanitize-payload" : "skip-sanitize-payload");
    resp_bulk_str(&c->out, "passwords");
    resp_array(&c->out, (long long)u->n_hashes);
    for (size_t i = 0; i < u->n_hashes; i++) resp_bulk(&c->out, u->hashes[i], 64);
    struct buf rules = BUF_INIT, text = BUF_INIT;
    describe_commands(u, &rules);
    const char *p = rules.data, *end = rules.data + rules.len, *item;
    size_t len;
    while (acl_rules_next(&p, end, &item, &len)) {
        if (text.len) buf_append(&text, " ", 1);
        buf_append(&text, item, len);
    }
    buf_free(&rules);
    resp_bulk_str(&c->out, "commands");
    resp_bulk(&c->out, text.data, text.len);
    buf_clear(&text);
    if (u->allkeys) buf_append_str(&text, "~*");
    for (size_t i = 0; i < u->n_keys; i++) {
        const struct pattern *k = &u->keys[i];
        if (text.len) buf_append(&text, " ", 1);
        buf_append_str(&text, k->perm == (PERM_R | PERM_W) ? "~" : k->perm == PERM_R ? "%R~" : "%W~");
        buf_append(&text, k->p, k->len);
    }
    resp_bulk_str(&c->out, "keys");
    resp_bulk(&c->out, text.data ? text.data : "", text.len);
    buf_clear(&text);
    if (u->allchannels) buf_append_str(&text, "&*");
    for (size_t i = 0; i < u->n_chans; i++) {
        if (text.len) buf_append(&text, " ", 1);
        buf_append(&text, "&", 1);
        buf_append(&text, u->chans[i].p, u->chans[i].len);
    }
    resp_bulk_str(&c->out, "channels");
    resp_bulk(&c->out, text.data ? text.data : "", text.len);
    resp_bulk_str(&c->out, "selectors");
    resp_array(&c->out, 0);
    buf_free(&text);
    user_free(u);
}

static void cmd_acl_dryrun(struct cmd_ctx *c)
{
    const struct acl_user_rec *rec = acl_users_find(&c->store->users, c->argv[2].ptr, c->argv[2].len);
    if (rec == NULL) {
        resp_errorf(&c->out, "ERR User '%.*s' not found", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    int argc = c->argc - 3;
    const struct resp_arg *argv = c->argv + 3;
    const struct cmd_def *d = cmd_lookup(argv[0].ptr, argv[0].len, false);
    if (d && (d->flags & CMD_CONTAINER) && argc >= 2) d = cmd_lookup_sub(d, argv[1].ptr, argv[1].len);
    if (d == NULL) {
        resp_errorf(&c->out, "ERR Command '%.*s' not found", (int)argv[0].len, argv[0].ptr);
        return;
    }
    if (!cmd_arity_ok(d, argc)) {
        resp_errorf(&c->out, "ERR wrong number of arguments for '%s' command", d->name);
        return;
    }
    int bad;
    enum acl_verdict v = acl_check(c->store, c->argv[2].ptr, c->argv[2].len, d, argc, argv, &bad);
    if (v == ACL_ALLOWED) {
        resp_ok(&c->out);
    } else if (v == ACL_DENIED_CMD) {
        struct buf t = BUF_INIT;
        buf_printf(&t, "This user has no permissions to run the '%s' command", d->name);
        resp_bulk(&c->out, t.data, t.len);
        buf_free(&t);
    } else {
        struct buf t = BUF_INIT;
        buf_printf(&t, "This user has no permissions to access the '%.*s' %s", (int)argv[bad].len,
                   argv[bad].ptr, v == ACL_DENIED_KEY ? "key" : "channel");
        resp_bulk(&c->out, t.data, t.len);
        buf_free(&t);
    }
}

/* __asuser <user> <command> <args>...: runs the command (a script, or a
 * transaction: __exec) with the user's permissions checked by every
 * redis.call and every queued command. */
static void cmd_internal_asuser(struct cmd_ctx *c)
{
    const struct cmd_def *d = cmd_lookup(c->argv[2].ptr, c->argv[2].len, true);
    if (d && (d->flags & CMD_INTERNAL) && !(d->flags & CMD_FOR_CLIENT)) d = NULL;
    if (d == NULL || d->exec == NULL || !cmd_arity_ok(d, c->argc - 2)) {
        resp_error(&c->out, "ERR malformed __asuser");
        return;
    }
    struct cmd_ctx sub = *c;
    sub.acl_user = c->argv[1].ptr;
    sub.acl_user_len = c->argv[1].len;
    sub.argc = c->argc - 2;
    sub.argv = c->argv + 2;
    sub.cmd = d;
    cmd_exec(&sub);
    c->rng = sub.rng;
    c->blocked = sub.blocked;
}

#define ADMIN_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define ADMIN_ACL (ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS)
#define SUB(n, ar, fl, acl, ex, sum, cx) {n, ar, fl, 0, 0, 0, acl, ex, "server", "6.0.0", sum, cx, NULL, NULL, NULL}

static const struct cmd_def acl_subs[] = {
    SUB("acl|cat", -2, CMD_LOCAL | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_SLOW, NULL,
        "List the ACL categories or the commands inside a category", "O(1) since the categories and commands are a fixed set."),
    SUB("acl|deluser", -3, CMD_WRITE | ADMIN_FLAGS, ADMIN_ACL, cmd_acl_deluser,
        "Remove the specified ACL users and the associated rules", "O(1) amortized time considering the typical user."),
    {"acl|dryrun", -4, CMD_READONLY | ADMIN_FLAGS, 0, 0, 0, ADMIN_ACL, cmd_acl_dryrun, "server", "7.0.0",
     "Returns whether the user can execute the given command without executing the command.", "O(1).", NULL, NULL, NULL},
    SUB("acl|genpass", -2, CMD_LOCAL | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_SLOW, NULL,
        "Generate a pseudorandom secure password to use for ACL users", "O(1)"),
    SUB("acl|getuser", 3, CMD_READONLY | ADMIN_FLAGS, ADMIN_ACL, cmd_acl_getuser,
        "Get the rules for a specific ACL user", "O(N). Where N is the number of password, command and pattern rules that the user has."),
    SUB("acl|list", 2, CMD_READONLY | ADMIN_FLAGS, ADMIN_ACL, cmd_acl_list,
        "List the current ACL rules in ACL config file format", "O(N). Where N is the number of configured users."),
    SUB("acl|load", 2, CMD_LOCAL | CMD_TX_REPLY | ADMIN_FLAGS, ADMIN_ACL, NULL,
        "Reload the ACLs from the configured ACL file", "O(N). Where N is the number of configured users."),
    SUB("acl|log", -2, CMD_LOCAL | ADMIN_FLAGS, ADMIN_ACL, NULL,
        "List latest events denied because of ACLs in place", "O(N) with N being the number of entries shown."),
    SUB("acl|save", 2, CMD_LOCAL | ADMIN_FLAGS, ADMIN_ACL, NULL,
        "Save the current ACL rules in the configured ACL file", "O(N). Where N is the number of configured users."),
    SUB("acl|setuser", -3, CMD_LOCAL | CMD_TX_REPLY | ADMIN_FLAGS, ADMIN_ACL, NULL,
        "Modify or create the rules for a specific ACL user", "O(N). Where N is the number of rules provided."),
    SUB("acl|users", 2, CMD_READONLY | ADMIN_FLAGS, ADMIN_ACL, cmd_acl_users,
        "List the username of all the configured ACL rules", "O(N). Where N is the number of configured users."),
    SUB("acl|whoami", 2, CMD_LOCAL | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, ACL_SLOW, NULL,
        "Return the name of the user associated to the current connection", "O(1)"),
    SUB("acl|help", 2, CMD_LOCAL | CMD_LOADING | CMD_STALE, ACL_SLOW, NULL,
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

/* The row of an ACL subcommand ("acl|load"). */
static const struct cmd_def *acl_sub_row(const char *name)
{
    for (const struct cmd_def *s = acl_subs; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    CHECK(!"no such ACL subcommand");
    return NULL;
}

/* The row whose permission a queued command needs: a script wrapped in
 * __asuser is its own command; __aclsetuser is ACL SETUSER, __aclload
 * ACL LOAD; the other internal rows of a transaction (__ok, __reply) need
 * none (NULL). */

static const struct cmd_def *checked_row(const struct cmd_def *d, int *argc,
                                         const struct resp_arg **argv)
{
    if (d->exec == cmd_internal_asuser) {
        const struct cmd_def *inner = cmd_lookup((*argv)[2].ptr, (*argv)[2].len, false);
        *argc -= 2;
        *argv += 2;
        return inner;
    }
    if (d->exec == cmd_internal_setuser) return acl_sub_row("acl|setuser");
    if (d->exec == cmd_internal_aclload) return acl_sub_row("acl|load");
    return (d->flags & CMD_INTERNAL) ? NULL : d;
}

bool acl_exec_refuse(struct cmd_ctx *c, uint64_t client, const struct cmd_def *d, int argc,
                     const struct resp_arg *argv)
{
    if (c->acl_user == NULL) return false;
    const struct cmd_def *row = checked_row(d, &argc, &argv);
    if (row == NULL) return false;
    int bad;
    enum acl_verdict v = acl_check(c->store, c->acl_user, c->acl_user_len, row, argc, argv, &bad);
    const char *why_not;
    const struct cmd_def *inner;
    if (v == ACL_ALLOWED && (row->flags & CMD_WRAPS_COMMAND) &&
        (inner = cmd_wrapped(argc, argv, &why_not)) != NULL) {
        /* LOCK.FENCED: the command it runs, on its keys, as well. */
        row = inner;
        argc -= CMD_WRAPPED_AT;
        argv += CMD_WRAPPED_AT;
        v = acl_check(c->store, c->acl_user, c->acl_user_len, row, argc, argv, &bad);
    }
    if (v == ACL_ALLOWED) return false;
    static const char *const reasons[] = {
        [ACL_DENIED_CMD] = "no permission to execute the command or subcommand",
        [ACL_DENIED_KEY] = "no permission to touch the specified keys",
        [ACL_DENIED_CHANNEL] = "no permission to access one of the channels used as arguments",
        [ACL_DENIED_USER] = "no permission",
    };
    resp_errorf(&c->out,
                "NOPERM ACLs rules changed between the moment the transaction was accumulated "
                "and the EXEC call. This command is no longer allowed for the following reason: %s",
                reasons[v]);
    if (c->store->on_acl_denied && v != ACL_DENIED_USER) {
        const char *why = v == ACL_DENIED_KEY ? "key" : v == ACL_DENIED_CHANNEL ? "channel" : "command";
        const char *obj = v == ACL_DENIED_CMD ? row->name : argv[bad].ptr;
        size_t olen = v == ACL_DENIED_CMD ? strlen(row->name) : argv[bad].len;
        c->store->on_acl_denied(c->store->user_change_arg, c->origin, client, c->acl_user,
                                c->acl_user_len, why, obj, olen);
    }
    return true;
}

#define INTERNAL(n, ar, ex, sum) \
    {n, ar, CMD_INTERNAL | CMD_FOR_CLIENT | CMD_WRITE, 0, 0, 0, 0, ex, "internal", "parley-0.1", sum, "O(N)", NULL, NULL, NULL}

const struct cmd_def cmd_rows_acl[] = {
    {"acl", -2, CMD_CONTAINER, 0, 0, 0, ACL_SLOW, NULL, "server", "6.0.0",
     "A container for Access List Control commands", "Depends on subcommand.", acl_subs, NULL, NULL},
    {"auth", -2, CMD_SECRET | CMD_LOCAL | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY,
     0, 0, 0, ACL_FAST | ACL_CONNECTION, NULL, "connection", "1.0.0", "Authenticate to the server", "O(N) where N is the number of passwords defined for the user", NULL, NULL, NULL},
    INTERNAL("__aclsetuser", -2, cmd_internal_setuser, "ACL SETUSER, its passwords hashed (sent by the server)."),
    INTERNAL("__aclload", -1, cmd_internal_aclload, "ACL LOAD: the users of the aclfile (sent by the server)."),
    INTERNAL("__asuser", -3, cmd_internal_asuser, "Runs a script with its caller's permissions (sent by the server)."),
    CMD_ROWS_END,
};
