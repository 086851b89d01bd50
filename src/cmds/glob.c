/* cmds/glob.c — glob-style pattern matching, as KEYS, SCAN MATCH and (later)
 * PSUBSCRIBE use it: '*', '?', '[...]' classes with ranges and '^'
 * negation, and '\' escapes. Iterative with one backtrack point for '*', so
 * a hostile pattern costs O(pattern × string), never exponential time. */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>

#include "cmds/cmd.h"

static int fold(int ch, bool nocase)
{
    return nocase && ch >= 0 ? tolower(ch) : ch;
}

/* Matches one class "[...]" starting after '['; *p advances past ']'. */
static bool class_match(const char **pp, const char *pend, int ch, bool nocase)
{
    const char *p = *pp;
    bool negate = false, matched = false;
    if (p < pend && *p == '^') {
        negate = true;
        p++;
    }
    while (p < pend && *p != ']') {
        if (*p == '\\' && p + 1 < pend) {
            p++;
            if ((unsigned char)*p == ch) matched = true; /* exact, even with nocase */
        } else if (p + 2 < pend && p[1] == '-') {
            /* As Redis: the end may be ']', bytes compare as (x86-64's
             * signed) char, and reversed bounds are swapped before folding. */
            int lo = (signed char)p[0], hi = (signed char)p[2], c = (signed char)ch;
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            lo = fold(lo, nocase);
            hi = fold(hi, nocase);
            c = fold(c, nocase);
            if (c >= lo && c <= hi) matched = true;
            p += 2;
        } else if (fold((unsigned char)*p, nocase) == fold(ch, nocase)) {
            matched = true;
        }
        p++;
    }
    *pp = p < pend ? p + 1 : p; /* Redis treats a missing ']' as the end */
    return negate ? !matched : matched;
}

bool glob_match(const char *pattern, size_t plen, const char *s, size_t slen, bool nocase)
{
    const char *p = pattern, *pend = pattern + plen;
    const char *str = s, *send = s + slen;
    const char *star_p = NULL, *star_s = NULL;
    /* Redis never matches an empty string against a non-empty pattern, not
     * even "*" (KEYS and SCAN special-case a lone "*" themselves). */
    if (slen == 0) return plen == 0;
    while (str < send) {
        if (p < pend && *p == '*') {
            while (p < pend && *p == '*') p++;
            if (p == pend) return true;
            star_p = p;
            star_s = str;
            continue;
        }
        if (p < pend) {
            const char *next = p;
            bool ok;
            if (*p == '?') {
                ok = true;
                next = p + 1;
            } else if (*p == '[') {
                next = p + 1;
                ok = class_match(&next, pend, (unsigned char)*str, nocase);
            } else if (*p == '\\' && p + 1 < pend) {
                ok = fold((unsigned char)p[1], nocase) == fold((unsigned char)*str, nocase);
                next = p + 2;
            } else {
                ok = fold((unsigned char)*p, nocase) == fold((unsigned char)*str, nocase);
                next = p + 1;
            }
            if (ok) {
                p = next;
                str++;
                continue;
            }
        }
        if (star_p == NULL) return false;
        p = star_p;
        str = ++star_s;
    }
    while (p < pend && *p == '*') p++;
    return p == pend;
}
