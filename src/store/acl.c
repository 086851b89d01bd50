/* store/acl.c — see acl.h. */
#include "store/acl.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

/* The default user of a fresh store: on nopass ~* &* +@all, in the form
 * cmds/acl.c describes users (u32 length + bytes per rule). */
static const char default_rules[] = "\x02\0\0\0on"
                                    "\x06\0\0\0nopass"
                                    "\x02\0\0\0~*"
                                    "\x02\0\0\0&*"
                                    "\x05\0\0\0+@all";
const char *const acl_default_rules = default_rules;
const size_t acl_default_rules_len = sizeof default_rules - 1;

static uint64_t versions; /* process-wide, so a restored table never looks current */

static int cmp_name(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* The index of name, or where it would go (*found false). */
static size_t position(const struct acl_users *u, const char *name, size_t nlen, bool *found)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_name(u->v[mid].name, u->v[mid].nlen, name, nlen);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

void acl_users_init(struct acl_users *u)
{
    memset(u, 0, sizeof *u);
    acl_users_set(u, "default", 7, acl_default_rules, acl_default_rules_len);
}

void acl_users_free(struct acl_users *u)
{
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].name);
        free(u->v[i].rules);
    }
    free(u->v);
    memset(u, 0, sizeof *u);
    u->version = ++versions;
}

const struct acl_user_rec *acl_users_find(const struct acl_users *u, const char *name, size_t nlen)
{
    bool found;
    size_t i = position(u, name, nlen, &found);
    return found ? &u->v[i] : NULL;
}

void acl_users_set(struct acl_users *u, const char *name, size_t nlen, const char *rules,
                   size_t rlen)
{
    bool found;
    size_t i = position(u, name, nlen, &found);
    if (found) {
        free(u->v[i].rules);
    } else {
        if (u->n == u->cap) {
            u->cap = u->cap ? 2 * u->cap : 8;
            u->v = xrealloc(u->v, u->cap * sizeof *u->v);
        }
        memmove(&u->v[i + 1], &u->v[i], (u->n - i) * sizeof *u->v);
        u->n++;
        u->v[i].name = xstrndup(name, nlen);
        u->v[i].nlen = nlen;
    }
    u->v[i].rules = xstrndup(rules, rlen);
    u->v[i].rlen = rlen;
    u->version = ++versions;
}

bool acl_users_delete(struct acl_users *u, const char *name, size_t nlen)
{
    bool found;
    size_t i = position(u, name, nlen, &found);
    if (!found) return false;
    free(u->v[i].name);
    free(u->v[i].rules);
    memmove(&u->v[i], &u->v[i + 1], (u->n - i - 1) * sizeof *u->v);
    u->n--;
    u->version = ++versions;
    return true;
}

bool acl_users_initial(const struct acl_users *u)
{
    return u->n == 1 && u->v[0].nlen == 7 && memcmp(u->v[0].name, "default", 7) == 0 &&
           u->v[0].rlen == acl_default_rules_len &&
           memcmp(u->v[0].rules, acl_default_rules, acl_default_rules_len) == 0;
}

uint64_t acl_users_digest(const struct acl_users *u)
{
    uint64_t h = 0x61636c; /* "acl" */
    for (size_t i = 0; i < u->n; i++) {
        uint64_t parts[3] = {h, hash_bytes_fixed(u->v[i].name, u->v[i].nlen, 1),
                             hash_bytes_fixed(u->v[i].rules, u->v[i].rlen, 2)};
        unsigned char bytes[sizeof parts];
        for (size_t j = 0; j < sizeof bytes; j++)
            bytes[j] = (unsigned char)(parts[j / 8] >> (8 * (j % 8)));
        h = hash_bytes_fixed(bytes, sizeof bytes, 0);
    }
    return h;
}

/* u32 count, then per user: u32 name length, name, u32 rules length, rules. */
void acl_users_encode(const struct acl_users *u, struct buf *out)
{
    buf_append_u32(out, (uint32_t)u->n);
    for (size_t i = 0; i < u->n; i++) {
        buf_append_u32(out, (uint32_t)u->v[i].nlen);
        buf_append(out, u->v[i].name, u->v[i].nlen);
        buf_append_u32(out, (uint32_t)u->v[i].rlen);
        buf_append(out, u->v[i].rules, u->v[i].rlen);
    }
}

int acl_users_decode(struct acl_users *u, struct reader *r)
{
    uint32_t n;
    if (reader_u32(r, &n)) return -1;
    acl_users_free(u);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nlen, rlen;
        const char *name, *rules;
        if (reader_u32(r, &nlen) || reader_bytes(r, nlen, &name) || reader_u32(r, &rlen) ||
            reader_bytes(r, rlen, &rules))
            return -1;
        acl_users_set(u, name, nlen, rules, rlen);
    }
    return acl_users_find(u, "default", 7) ? 0 : -1;
}
