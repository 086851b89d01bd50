/* tests/unit/test_object.c — string values (store/object.c).
 *
 * sobj_string must choose the encoding Redis 7.0's tryObjectEncoding gives a
 * SET value: "int" only for canonical decimals of at most 20 characters that
 * fit in a long long, "embstr" up to 44 bytes, "raw" from 45. Every case in
 * the encoding table was checked against redis-server 7.0.15 with
 * SET + OBJECT ENCODING (including APPEND/SETRANGE turning int and embstr
 * values into raw ones and SETRANGE past the end zero-filling). Also
 * covered: str_to_ll (Redis's string2ll) edge cases, sobj_string_as,
 * sobj_string_grow (encoding change, zero fill, content kept, large growth),
 * sobj_dup deep copies, sobj_get_ll, sobj_str formatting and the name
 * helpers. Leaks and bad frees are left to the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include <cmocka.h>

#include "base/mem.h"
#include "store/object.h"

#define S(lit) lit, sizeof(lit) - 1

static void assert_str_content(const struct sobj *o, const char *p, size_t len)
{
    char tmp[SOBJ_INT_BUF];
    size_t got;
    const char *s = sobj_str(o, tmp, &got);
    assert_int_equal(got, len);
    if (len) assert_memory_equal(s, p, len);
    assert_int_equal(sobj_strlen(o), len);
}

/* ---- encodings chosen by SET -------------------------------------------- */

struct enc_case {
    const char *val;
    size_t len;
    const char *enc;
};
#define C(lit, enc) {lit, sizeof(lit) - 1, enc}

static void test_set_encodings(void **state)
{
    (void)state;
    /* Verified against redis-server 7.0.15: SET k <val>; OBJECT ENCODING k. */
    static const struct enc_case cases[] = {
        C("0", "int"),
        C("1", "int"),
        C("-1", "int"),
        C("123456", "int"),
        C("9223372036854775807", "int"),
        C("-9223372036854775808", "int"),
        C("01", "embstr"),
        C("00", "embstr"),
        C("+1", "embstr"),
        C(" 1", "embstr"),
        C("1 ", "embstr"),
        C("-0", "embstr"),
        C("-", "embstr"),
        C("1a", "embstr"),
        C("1\0", "embstr"),
        C("9223372036854775808", "embstr"),
        C("-9223372036854775809", "embstr"),
        C("12345678901234567890", "embstr"),
        C("18446744073709551615", "embstr"),
        C("", "embstr"),
        C("hello", "embstr"),
        C("0.5", "embstr"),
        C("1e3", "embstr"),
        C("0x10", "embstr"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sobj *o = sobj_string(cases[i].val, cases[i].len);
        assert_int_equal(o->type, OBJ_STRING);
        if (strcmp(sobj_encoding_name(o), cases[i].enc) != 0)
            fail_msg("value \"%s\": encoding %s, want %s", cases[i].val,
                     sobj_encoding_name(o), cases[i].enc);
        assert_string_equal(sobj_type_name(o), "string");
        /* Whatever the encoding, the bytes read back unchanged. */
        assert_str_content(o, cases[i].val, cases[i].len);
        sobj_free(o);
    }
}

static void test_embstr_raw_boundary(void **state)
{
    (void)state;
    char buf[200];
    memset(buf, 'x', sizeof buf);
    for (size_t len = 0; len <= sizeof buf; len++) {
        struct sobj *o = sobj_string(buf, len);
        assert_int_equal(o->encoding, len <= 44 ? ENC_EMBSTR : ENC_RAW);
        assert_string_equal(sobj_encoding_name(o), len <= 44 ? "embstr" : "raw");
        assert_str_content(o, buf, len);
        assert_int_equal(o->s.p[len], '\0');
        sobj_free(o);
    }
    /* A long numeric string is not an int. */
    memset(buf, '1', 60);
    struct sobj *o = sobj_string(buf, 60);
    assert_int_equal(o->encoding, ENC_RAW);
    sobj_free(o);
    /* Binary bytes inside an embstr and a raw string. */
    o = sobj_string(S("a\0b\xff"));
    assert_int_equal(o->encoding, ENC_EMBSTR);
    assert_str_content(o, S("a\0b\xff"));
    sobj_free(o);
    char big[100];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)i;
    o = sobj_string(big, sizeof big);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, big, sizeof big);
    sobj_free(o);
}

static void test_int_values(void **state)
{
    (void)state;
    struct sobj *o = sobj_string(S("-9223372036854775808"));
    assert_int_equal(o->encoding, ENC_INT);
    assert_true(o->i == INT64_MIN);
    sobj_free(o);
    o = sobj_string(S("9223372036854775807"));
    assert_true(o->i == INT64_MAX);
    sobj_free(o);
    o = sobj_string(S("-42"));
    assert_true(o->i == -42);
    sobj_free(o);

    /* sobj_string_int and formatting through sobj_str. */
    const int64_t vals[] = {0, 1, -1, 10, -10, INT64_MAX, INT64_MIN, 1000000007};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        o = sobj_string_int(vals[i]);
        assert_int_equal(o->encoding, ENC_INT);
        assert_string_equal(sobj_encoding_name(o), "int");
        char want[32];
        int n = snprintf(want, sizeof want, "%lld", (long long)vals[i]);
        assert_str_content(o, want, (size_t)n);
        long long v;
        assert_true(sobj_get_ll(o, &v));
        assert_true(v == vals[i]);
        sobj_free(o);
    }
}

/* ---- str_to_ll ---------------------------------------------------------- */

static void test_str_to_ll(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t len;
        bool ok;
        long long v;
    } cases[] = {
        {S("0"), true, 0},
        {S("1"), true, 1},
        {S("-1"), true, -1},
        {S("10"), true, 10},
        {S("-10"), true, -10},
        {S("9223372036854775807"), true, LLONG_MAX},
        {S("-9223372036854775808"), true, LLONG_MIN},
        {S("9223372036854775806"), true, LLONG_MAX - 1},
        {S("-9223372036854775807"), true, LLONG_MIN + 1},
        {S("9223372036854775808"), false, 0},
        {S("-9223372036854775809"), false, 0},
        {S("18446744073709551615"), false, 0},
        {S("18446744073709551616"), false, 0},
        {S("99999999999999999999"), false, 0},   /* 20 digits, > ULLONG_MAX */
        {S("-99999999999999999999"), false, 0},  /* 21 chars */
        {S("100000000000000000000"), false, 0},  /* 21 chars */
        {S("00000000000000000001"), false, 0},
        {S(""), false, 0},
        {S("-"), false, 0},
        {S("-0"), false, 0},
        {S("00"), false, 0},
        {S("01"), false, 0},
        {S("-01"), false, 0},
        {S("+1"), false, 0},
        {S(" 1"), false, 0},
        {S("1 "), false, 0},
        {S("1\0"), false, 0},
        {S("\0001"), false, 0},
        {S("1a"), false, 0},
        {S("a1"), false, 0},
        {S("--1"), false, 0},
        {S("1-"), false, 0},
        {S("1.0"), false, 0},
        {S("1e5"), false, 0},
        {S("0x1"), false, 0},
        {S("\xb1"), false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = 12345;
        bool ok = str_to_ll(cases[i].s, cases[i].len, &v);
        if (ok != cases[i].ok)
            fail_msg("str_to_ll(\"%s\") = %d, want %d", cases[i].s, ok, cases[i].ok);
        if (ok) assert_true(v == cases[i].v);
    }
    /* Only len bytes are read: a valid prefix of a longer buffer. */
    long long v;
    assert_true(str_to_ll("12345", 3, &v));
    assert_true(v == 123);
    assert_true(str_to_ll("-7xyz", 2, &v));
    assert_true(v == -7);
}

/* ---- sobj_string_as / sobj_string_raw ----------------------------------- */

static void test_string_as(void **state)
{
    (void)state;
    char buf[60];
    memset(buf, 'y', sizeof buf);
    struct sobj *o = sobj_string_as(S("123"), ENC_EMBSTR);
    assert_int_equal(o->encoding, ENC_EMBSTR); /* kept, not turned into int */
    long long v;
    assert_true(sobj_get_ll(o, &v));
    assert_true(v == 123);
    sobj_free(o);
    o = sobj_string_as(S("123"), ENC_RAW);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, S("123"));
    sobj_free(o);
    o = sobj_string_as(buf, 44, ENC_EMBSTR);
    assert_int_equal(o->encoding, ENC_EMBSTR);
    sobj_free(o);
    o = sobj_string_as(buf, 45, ENC_EMBSTR); /* does not fit: raw */
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, buf, 45);
    sobj_free(o);
    o = sobj_string_as("", 0, ENC_RAW);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, "", 0);
    sobj_free(o);

    o = sobj_string_raw(S("42"));
    assert_int_equal(o->encoding, ENC_RAW);
    assert_string_equal(sobj_encoding_name(o), "raw");
    assert_true(sobj_get_ll(o, &v));
    assert_true(v == 42);
    sobj_free(o);
    sobj_free(NULL);
}

/* ---- sobj_string_grow (APPEND / SETRANGE) ------------------------------- */

static void test_grow_from_int(void **state)
{
    (void)state;
    /* SET k 12; SETRANGE k 5 x  ->  "12\0\0\0x", raw */
    struct sobj *o = sobj_string(S("12"));
    assert_int_equal(o->encoding, ENC_INT);
    char *p = sobj_string_grow(o, 6);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_ptr_equal(p, o->s.p);
    assert_int_equal(o->s.len, 6);
    assert_true(o->s.cap >= 6);
    assert_memory_equal(p, "12\0\0\0\0", 6);
    p[5] = 'x';
    assert_str_content(o, S("12\0\0\0x"));
    assert_int_equal(o->s.p[6], '\0');
    long long v;
    assert_false(sobj_get_ll(o, &v));
    sobj_free(o);

    /* SET k 5; APPEND k 1  ->  "51", raw (no longer int). */
    o = sobj_string(S("5"));
    p = sobj_string_grow(o, 2);
    p[1] = '1';
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, S("51"));
    assert_true(sobj_get_ll(o, &v));
    assert_true(v == 51);
    sobj_free(o);

    /* Growing to the current length (SETRANGE within the value). */
    o = sobj_string(S("-9223372036854775808"));
    p = sobj_string_grow(o, 20);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, S("-9223372036854775808"));
    p[0] = '1';
    assert_str_content(o, S("19223372036854775808"));
    sobj_free(o);

    /* Growing to a smaller length never truncates. */
    o = sobj_string(S("123456"));
    sobj_string_grow(o, 2);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, S("123456"));
    sobj_free(o);
}

static void test_grow_from_embstr(void **state)
{
    (void)state;
    /* SET k ab; SETRANGE k 0 x  ->  "xb", raw */
    struct sobj *o = sobj_string(S("ab"));
    assert_int_equal(o->encoding, ENC_EMBSTR);
    char *p = sobj_string_grow(o, 2);
    assert_int_equal(o->encoding, ENC_RAW);
    /* The bytes no longer live inside the object's own allocation. */
    assert_true(p < (char *)o || p >= (char *)(o + 1) + 3);
    p[0] = 'x';
    assert_str_content(o, S("xb"));
    sobj_free(o);

    /* Binary content survives, growth is zero-filled. */
    o = sobj_string(S("a\0b"));
    p = sobj_string_grow(o, 8);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_memory_equal(p, "a\0b\0\0\0\0\0", 8);
    assert_int_equal(o->s.len, 8);
    sobj_free(o);

    /* The empty string. */
    o = sobj_string("", 0);
    assert_int_equal(o->encoding, ENC_EMBSTR);
    p = sobj_string_grow(o, 0);
    assert_int_equal(o->encoding, ENC_RAW);
    assert_str_content(o, "", 0);
    p = sobj_string_grow(o, 3);
    assert_memory_equal(p, "\0\0\0", 3);
    assert_str_content(o, S("\0\0\0"));
    sobj_free(o);

    /* A 44-byte embstr grown by one. */
    char buf[45];
    memset(buf, 'q', 44);
    o = sobj_string(buf, 44);
    assert_int_equal(o->encoding, ENC_EMBSTR);
    p = sobj_string_grow(o, 45);
    p[44] = 'r';
    buf[44] = 'r';
    assert_str_content(o, buf, 45);
    sobj_free(o);
}

static void test_grow_raw_repeatedly(void **state)
{
    (void)state;
    /* Many small APPENDs, then a big one: content intact, zero filled. */
    struct sobj *o = sobj_string_raw(S("start"));
    size_t len = 5;
    char *model = xmalloc(3 << 20);
    memcpy(model, "start", 5);
    for (int i = 0; i < 5000; i++) {
        size_t add = (size_t)(i % 13) + 1;
        char *p = sobj_string_grow(o, len + add);
        for (size_t j = 0; j < add; j++) assert_int_equal(p[len + j], '\0');
        for (size_t j = 0; j < add; j++) p[len + j] = model[len + j] = (char)('a' + (i + j) % 26);
        len += add;
        assert_int_equal(o->s.len, len);
        assert_true(o->s.cap >= len);
    }
    assert_str_content(o, model, len);
    size_t big = (2u << 20) + 17; /* beyond the 1 MiB doubling limit */
    char *p = sobj_string_grow(o, big);
    memset(model + len, 0, big - len);
    assert_int_equal(o->s.len, big);
    assert_memory_equal(p, model, big);
    assert_int_equal(p[big], '\0');
    assert_true(sobj_memory(o) >= big);
    free(model);
    sobj_free(o);
}

/* ---- sobj_dup ------------------------------------------------------------ */

static void test_dup(void **state)
{
    (void)state;
    char buf[100];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(i * 7);
    struct sobj *orig[] = {
        sobj_string(S("12345")),              /* int */
        sobj_string(S("a\0bc")),              /* embstr */
        sobj_string(buf, sizeof buf),         /* raw */
        sobj_string_raw(S("77")),             /* raw that looks like an int */
        sobj_string_as(S("88"), ENC_EMBSTR),  /* embstr that looks like an int */
        sobj_string("", 0),
    };
    for (size_t i = 0; i < sizeof orig / sizeof orig[0]; i++) {
        struct sobj *o = orig[i];
        struct sobj *d = sobj_dup(o);
        assert_ptr_not_equal(d, o);
        assert_int_equal(d->type, o->type);
        assert_int_equal(d->encoding, o->encoding);
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *p = sobj_str(o, tmp, &len);
        char *saved = xmemdup(p, len);
        assert_str_content(d, saved, len);
        if (o->encoding != ENC_INT) assert_ptr_not_equal(d->s.p, o->s.p);
        /* Changing or freeing the original leaves the copy alone. */
        char *q = sobj_string_grow(o, len + 4);
        if (len) q[0] ^= 0x55;
        sobj_free(o);
        assert_str_content(d, saved, len);
        /* And the copy is independently growable. */
        q = sobj_string_grow(d, len + 1);
        q[len] = '!';
        assert_int_equal(d->s.len, len + 1);
        assert_memory_equal(d->s.p, saved, len);
        free(saved);
        sobj_free(d);
    }
}

/* ---- sobj_get_ll and helpers ----------------------------------------------- */

static void test_get_ll(void **state)
{
    (void)state;
    struct {
        struct sobj *o;
        bool ok;
        long long v;
    } cases[] = {
        {sobj_string(S("0")), true, 0},
        {sobj_string(S("-9223372036854775808")), true, LLONG_MIN},
        {sobj_string_raw(S("9223372036854775807")), true, LLONG_MAX},
        {sobj_string_as(S("-15"), ENC_EMBSTR), true, -15},
        {sobj_string(S("01")), false, 0},
        {sobj_string(S("9223372036854775808")), false, 0},
        {sobj_string(S("")), false, 0},
        {sobj_string(S(" 3")), false, 0},
        {sobj_string(S("3.0")), false, 0},
        {sobj_string_raw(S("12x")), false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long v = 999;
        assert_int_equal(sobj_get_ll(cases[i].o, &v), cases[i].ok);
        if (cases[i].ok) assert_true(v == cases[i].v);
        sobj_free(cases[i].o);
    }
}

static void test_names_and_memory(void **state)
{
    (void)state;
    struct sobj *i = sobj_string(S("1"));
    struct sobj *e = sobj_string(S("embedded"));
    char buf[1000];
    memset(buf, 'z', sizeof buf);
    struct sobj *r = sobj_string(buf, sizeof buf);
    assert_string_equal(sobj_encoding_name(i), "int");
    assert_string_equal(sobj_encoding_name(e), "embstr");
    assert_string_equal(sobj_encoding_name(r), "raw");
    assert_true(sobj_memory(i) >= sizeof(struct sobj));
    assert_true(sobj_memory(e) >= sizeof(struct sobj) + 8);
    assert_true(sobj_memory(r) >= sizeof(struct sobj) + 1000);
    assert_true(sobj_memory(r) > sobj_memory(e));
    struct sobj fake = {.type = OBJ_LIST};
    assert_string_equal(sobj_type_name(&fake), "list");
    fake.type = OBJ_HASH;
    assert_string_equal(sobj_type_name(&fake), "hash");
    fake.type = OBJ_SET;
    assert_string_equal(sobj_type_name(&fake), "set");
    fake.type = OBJ_ZSET;
    assert_string_equal(sobj_type_name(&fake), "zset");
    fake.type = OBJ_STREAM;
    assert_string_equal(sobj_type_name(&fake), "stream");
    sobj_free(i);
    sobj_free(e);
    sobj_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_encodings),
        cmocka_unit_test(test_embstr_raw_boundary),
        cmocka_unit_test(test_int_values),
        cmocka_unit_test(test_str_to_ll),
        cmocka_unit_test(test_string_as),
        cmocka_unit_test(test_grow_from_int),
        cmocka_unit_test(test_grow_from_embstr),
        cmocka_unit_test(test_grow_raw_repeatedly),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_get_ll),
        cmocka_unit_test(test_names_and_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
