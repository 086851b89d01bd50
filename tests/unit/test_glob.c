/* tests/unit/test_glob.c — glob_match (cmds/glob.c) against Redis 7.0's
 * stringmatchlen.
 *
 * The case-sensitive table below was checked against redis-server 7.0.15
 * (x86-64): each string was stored as a key in an otherwise empty database
 * and KEYS <pattern> had to return it exactly when the table says "match".
 * It covers '*', '?', classes with lists, ranges (also reversed, also with
 * ']' as the range end, also with bytes >= 0x80, which Redis compares as
 * signed chars), negation, unterminated classes, '\' escapes inside and
 * outside classes, empty patterns and strings (Redis never matches an empty
 * string against a non-empty pattern, not even "*"; KEYS and SCAN treat
 * the pattern "*" specially, so that case is only visible here), binary
 * bytes and patterns with several stars. The nocase table follows Redis's
 * source (nocase is not reachable through KEYS): letters fold outside
 * classes and in lists, a range is swapped before its bounds fold, and an
 * escaped character inside a class compares exactly. Pathological patterns
 * (many stars against a 10k-character string) are part of the suite so
 * that exponential backtracking would show up as a hang; time is not
 * asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "cmds/cmd.h"

struct glob_case {
    const char *pat;
    size_t plen;
    const char *str;
    size_t slen;
    bool match;
};
#define G(p, s, m) {p, sizeof(p) - 1, s, sizeof(s) - 1, m}

/* Checked against redis-server 7.0.15 with KEYS (see tests above main). */
static const struct glob_case redis_cases[] = {
    /* Empty pattern / empty string. */
    G("", "", 1),
    G("", "a", 0),
    G("a", "", 0),
    G("?", "", 0),
    G("*", "", 0), /* stringmatchlen says no; KEYS/SCAN special-case "*" */
    G("**", "", 0),
    G("***", "", 0),
    G("[^", "", 0),
    G("\\", "", 0),
    /* Literals. */
    G("hello", "hello", 1),
    G("hello", "hell", 0),
    G("hello", "helloo", 0),
    G("hello", "Hello", 0),
    /* '*' */
    G("*", "a", 1),
    G("*", "anything at all", 1),
    G("**", "x", 1),
    G("*?", "a", 1),
    G("?*", "a", 1),
    G("*?", "ab", 1),
    G("??", "a", 0),
    G("a*", "a", 1),
    G("a*", "abc", 1),
    G("a*", "ba", 0),
    G("*b", "b", 1),
    G("*b", "ab", 1),
    G("*b", "ba", 0),
    G("a*b", "ab", 1),
    G("a*b", "aXb", 1),
    G("a*b", "a\\b", 1),
    G("a*b", "abc", 0),
    G("a*b", "b", 0),
    G("a**b", "ab", 1),
    G("h*llo", "hllo", 1),
    G("h*llo", "hello", 1),
    G("h*llo", "heeeello", 1),
    G("h*llo", "hellox", 0),
    G("*ab", "aab", 1),
    G("*aab", "aaab", 1),
    G("*abc", "ababc", 1),
    G("*a*b*c*", "xaybzc", 1),
    G("*a*b*c*", "acb", 0),
    G("*.*", "a.b", 1),
    G("*.*", "ab", 0),
    G("foo*bar*baz", "foobarbaz", 1),
    G("foo*bar*baz", "foo_bar_baz", 1),
    G("foo*bar*baz", "foobazbar", 0),
    G("*x*", "x", 1),
    G("*x*", "", 0),
    /* '?' */
    G("h?llo", "hello", 1),
    G("h?llo", "hallo", 1),
    G("h?llo", "h*llo", 1),
    G("h?llo", "hllo", 0),
    G("h?llo", "heello", 0),
    G("?", "\xff", 1),
    G("a?c", "a\0c", 1),
    /* Classes: lists and negation. */
    G("h[ae]llo", "hello", 1),
    G("h[ae]llo", "hallo", 1),
    G("h[ae]llo", "hillo", 0),
    G("h[^e]llo", "hallo", 1),
    G("h[^e]llo", "hxllo", 1),
    G("h[^e]llo", "hello", 0),
    G("[^a]", "b", 1),
    G("[^a]", "a", 0),
    G("[^a]", "", 0),
    G("[^a]", "bb", 0),
    G("[abc]", "c", 1),
    G("[abc]", "d", 0),
    /* Ranges. */
    G("h[a-b]llo", "hallo", 1),
    G("h[a-b]llo", "hbllo", 1),
    G("h[a-b]llo", "hcllo", 0),
    G("[a-z]", "a", 1),
    G("[a-z]", "m", 1),
    G("[a-z]", "z", 1),
    G("[a-z]", "A", 0),
    G("[a-z]", "-", 0),
    G("[A-Z]", "A", 1),
    G("[A-Z]", "a", 0),
    G("[z-a]", "a", 1), /* reversed: same as [a-z] */
    G("[z-a]", "m", 1),
    G("[z-a]", "z", 1),
    G("[z-a]", "A", 0),
    G("[0-9]*", "7up", 1),
    G("[0-9]*", "up7", 0),
    G("[a-cx-z]", "y", 1),
    G("[a-cx-z]", "m", 0),
    G("[-a]", "-", 1),
    G("[-a]", "a", 1),
    /* ']' as the end of a range: Redis reads "[a-]" as the range ']'..'a'
     * and the class then runs to the end of the pattern. */
    G("[a-]", "a", 1),
    G("[a-]", "]", 1),
    G("[a-]", "^", 1),
    G("[a-]", "_", 1),
    G("[a-]", "`", 1),
    G("[a-]", "-", 0),
    G("[a-]", "b", 0),
    G("[a-]b]", "b", 1),
    G("[a-]b]", "]", 1),
    G("[a-]b]x", "bx", 1),
    /* Bytes >= 0x80 are negative in Redis's (signed char) range compares. */
    G("[\x01-\xff]", "\x01", 1),
    G("[\x01-\xff]", "\x00", 1),
    G("[\x01-\xff]", "\xff", 1),
    G("[\x01-\xff]", "\x02", 0),
    G("[\x01-\xff]", "\x80", 0),
    G("[\xff-\x01]", "\x00", 1),
    G("[\xff-\x01]", "a", 0),
    G("[\x80-\xff]", "\x80", 1),
    G("[\x80-\xff]", "\xc3", 1),
    G("[\x80-\xff]", "\xff", 1),
    G("[\x80-\xff]", "a", 0),
    G("[\x80-\xff]", "\x7f", 0),
    G("[a-\xc3]", "\x10", 1),
    G("[a-\xc3]", "a", 1),
    G("[a-\xc3]", "\xd0", 1),
    G("[a-\xc3]", "b", 0),
    G("[a-\xc3]", "\xc2", 0),
    G("[\x7f-\x80]", "a", 1),
    G("[\x7f-\x80]", "\xff", 1),
    G("[^\x00-\x7f]", "\x80", 1),
    G("[^\x00-\x7f]", "a", 0),
    G("[\xc3]", "\xc3", 1),
    G("[^\xc3]", "\xc3", 0),
    G("\xc3*", "\xc3\xa9", 1),
    /* Escapes. */
    G("\\*", "*", 1),
    G("\\*", "a", 0),
    G("\\*", "\\*", 0),
    G("\\?", "?", 1),
    G("\\?", "a", 0),
    G("h\\*llo", "h*llo", 1),
    G("h\\*llo", "hello", 0),
    G("\\[a]", "[a]", 1),
    G("\\[a]", "a", 0),
    G("\\a", "a", 1),
    G("\\", "\\", 1), /* a trailing backslash is literal */
    G("a\\", "a", 0),
    G("a\\", "a\\", 1),
    G("a\\\\b", "a\\b", 1),
    G("\\\\*", "\\x", 1),
    G("[\\]]", "]", 1),
    G("[\\]]", "\\", 0),
    G("[\\^a]", "^", 1),
    G("[\\a-z]", "a", 1), /* \a, then '-' and 'z' as plain members */
    G("[\\a-z]", "-", 1),
    G("[\\a-z]", "z", 1),
    G("[\\a-z]", "b", 0),
    G("[\\\x00]", "\x00", 1),
    /* Odd classes. */
    G("[]a]", "a]", 0), /* "[]" is an empty class */
    G("[]a]", "]", 0),
    G("[^]a", "xa", 1),
    G("[", "[", 0), /* unterminated: a class that runs to the end */
    G("[", "a", 0),
    G("[^", "a", 1),
    G("[^", "ab", 0),
    G("[a", "a", 1),
    G("[a", "ab", 0),
    G("[ab", "b", 1),
    G("x[", "x", 0),
    G("*[", "x", 0),
    /* Binary. */
    G("\x00*", "\x00" "abc", 1),
    G("*\x00", "abc\x00", 1),
    G("a\x00" "b", "a\x00" "b", 1),
    G("a\x00" "b", "a\x00" "c", 0),
};

/* From Redis's util.c (stringmatchlen with nocase=1); not reachable through
 * KEYS, so not checked against a server. */
static const struct glob_case nocase_cases[] = {
    G("HELLO", "hello", 1),
    G("hello", "HeLLo", 1),
    G("h*LLO", "HeLlo", 1),
    G("H?LLO", "hallo", 1),
    G("[AB]", "b", 1),
    G("[ab]", "B", 1),
    G("[^a]", "A", 0),
    G("[^a]", "B", 1),
    G("[A-C]", "b", 1),
    G("[a-c]", "B", 1),
    G("[a-c]", "d", 0),
    G("[c-a]", "B", 1),
    G("\\E", "e", 1),
    G("\\e", "E", 1),
    G("[\\A]", "a", 0), /* an escaped class member compares exactly */
    G("[\\A]", "A", 1),
    /* Bounds are swapped first, then folded: 'Z'..'a' becomes 'z'..'a',
     * an empty range, even though case-sensitively it holds "[\\]^_`". */
    G("[Z-a]", "_", 0),
    G("[Z-a]", "z", 0),
    G("[Z-a]", "a", 0),
    G("[\xc3]", "\xc3", 1),
    G("[\x80-\xff]", "\xc3", 1),
    G("[\x01-\xff]", "\x80", 0),
    G("", "", 1),
    G("*", "", 0),
};

/* Reports every failing case, then fails. */
static void run_cases(const struct glob_case *c, size_t n, bool nocase)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        bool got = glob_match(c[i].pat, c[i].plen, c[i].str, c[i].slen, nocase);
        if (got != c[i].match) {
            print_error("case %zu%s: pattern \"%.*s\" vs \"%.*s\": got %d, want %d\n", i,
                        nocase ? " (nocase)" : "", (int)c[i].plen, c[i].pat, (int)c[i].slen,
                        c[i].str, got, c[i].match);
            failed++;
        }
    }
    if (failed) fail_msg("%zu of %zu cases failed", failed, n);
}

static void test_redis_cases(void **state)
{
    (void)state;
    run_cases(redis_cases, sizeof redis_cases / sizeof redis_cases[0], false);
}

static void test_nocase_cases(void **state)
{
    (void)state;
    run_cases(nocase_cases, sizeof nocase_cases / sizeof nocase_cases[0], true);
    /* Everything that matches case-sensitively and involves no letters
     * matches the same way with nocase. */
    for (size_t i = 0; i < sizeof redis_cases / sizeof redis_cases[0]; i++) {
        const struct glob_case *c = &redis_cases[i];
        bool letters = false;
        for (size_t j = 0; j < c->plen; j++)
            letters |= (c->pat[j] >= 'a' && c->pat[j] <= 'z') || (c->pat[j] >= 'A' && c->pat[j] <= 'Z');
        for (size_t j = 0; j < c->slen; j++)
            letters |= (c->str[j] >= 'a' && c->str[j] <= 'z') || (c->str[j] >= 'A' && c->str[j] <= 'Z');
        if (letters) continue;
        assert_int_equal(glob_match(c->pat, c->plen, c->str, c->slen, true), c->match);
    }
}

/* Only plen/slen bytes are read. */
static void test_lengths_respected(void **state)
{
    (void)state;
    assert_true(glob_match("abcXXX", 3, "abcYYY", 3, false));
    assert_false(glob_match("abc", 3, "abcd", 3 + 1, false));
    assert_true(glob_match("a*", 2, "a\0\0\0", 4, false));
    /* Heap copies of exact size so ASan catches any read past the end. */
    const char *pats[] = {"[", "[^", "[a-", "[a-]", "\\", "a\\", "[\\", "*", "h*[", "[a-z"};
    const char *strs[] = {"", "a", "]", "\\", "-", "zz"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        for (size_t j = 0; j < sizeof strs / sizeof strs[0]; j++) {
            size_t pl = strlen(pats[i]), sl = strlen(strs[j]);
            char *p = xmemdup(pats[i], pl ? pl : 1), *s = xmemdup(strs[j], sl ? sl : 1);
            glob_match(p, pl, s, sl, false);
            glob_match(p, pl, s, sl, true);
            free(p);
            free(s);
        }
    }
}

/* Many stars against a long string: a backtracking matcher without the
 * single-backtrack rule would take exponential time here. */
static void test_pathological(void **state)
{
    (void)state;
    const size_t n = 10000;
    char *s = xmalloc(n + 1);
    memset(s, 'a', n);
    const char *pat = "a*a*a*a*a*a*a*a*a*a*b";
    assert_false(glob_match(pat, strlen(pat), s, n, false));
    assert_false(glob_match(pat, strlen(pat), s, n, true));
    s[n] = 'b';
    assert_true(glob_match(pat, strlen(pat), s, n + 1, false));
    /* Stars and '?' and classes mixed. */
    const char *pat2 = "*?*?*?*?*?*?*?*?*?*?[b]";
    assert_false(glob_match(pat2, strlen(pat2), s, n, false));
    assert_true(glob_match(pat2, strlen(pat2), s, n + 1, false));
    const char *pat3 = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c";
    assert_false(glob_match(pat3, strlen(pat3), s, n + 1, false));
    /* A long pattern against a long string. */
    char *p = xmalloc(2 * 200 + 1);
    for (int i = 0; i < 200; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = 'a';
    }
    p[400] = 'c';
    assert_false(glob_match(p, 401, s, n + 1, false));
    assert_true(glob_match(p, 400, s, n, false));
    free(p);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_cases),
        cmocka_unit_test(test_nocase_cases),
        cmocka_unit_test(test_lengths_respected),
        cmocka_unit_test(test_pathological),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
