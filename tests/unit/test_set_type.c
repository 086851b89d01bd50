/* tests/unit/test_set_type.c — the set type (store/set.c) and its place in
 * the object registry, the digest and the snapshot.
 *
 * Encodings as Redis 7.0 chooses them (checked with OBJECT ENCODING on
 * redis-server 7.0.15): a first member that is an integer (string2ll)
 * makes an intset, anything else ("01", "1.0", " 1", "a") a hashtable; an
 * intset becomes a hashtable at the 513th member or at a non-integer
 * member and never converts back. The member order (set_get_at) is
 * ascending for an intset and, after conversion, the intset's order (the
 * member that overflowed it included, or followed by the non-integer that
 * forced the conversion), then later additions.
 *
 * Snapshot: sets of both encodings round-trip through store_snapshot with
 * their encoding, members and ORDER intact (equal store_digest, and the
 * digest does depend on the order), and so does sobj_dup (COPY). The
 * type's decoder refuses every truncation, a hashtable set with a repeated
 * member or no member, an empty or oversized (> 512) intset and an unknown
 * encoding. The digest is equal for equal sets and differs when a member
 * differs. Leaks on the failure paths are left to the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/mem.h"
#include "store/keyspace.h"
#include "store/set.h"
#include "store/snapshot.h"

#define S(lit) lit, sizeof(lit) - 1

static void assert_member_at(const struct sobj *o, size_t i, const char *m, size_t len)
{
    char tmp[SOBJ_INT_BUF];
    size_t got;
    const char *p = set_get_at(o, i, tmp, &got);
    assert_int_equal(got, len);
    assert_memory_equal(p, m, len);
}

static struct sobj *make_set(const char *const *members, size_t n)
{
    struct sobj *o = set_new_for(members[0], strlen(members[0]));
    for (size_t i = 0; i < n; i++) set_add(o, members[i], strlen(members[i]));
    return o;
}

static void test_first_member_chooses_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *m;
        const char *enc;
    } cases[] = {
        {"1", "intset"}, {"-1", "intset"}, {"9223372036854775807", "intset"},
        {"-9223372036854775808", "intset"}, {"9223372036854775808", "hashtable"},
        {"01", "hashtable"}, {"1.0", "hashtable"}, {" 1", "hashtable"}, {"", "hashtable"},
        {"a", "hashtable"}, {"-0", "hashtable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct sobj *o = make_set(&cases[i].m, 1);
        assert_string_equal(sobj_encoding_name(o), cases[i].enc);
        assert_string_equal(sobj_type_name(o), "set");
        assert_int_equal(set_size(o), 1);
        assert_true(set_contains(o, cases[i].m, strlen(cases[i].m)));
        sobj_free(o);
    }
}

static void test_intset_conversions(void **state)
{
    (void)state;
    struct sobj *o = set_new_intset();
    char m[32];
    for (int i = SET_MAX_INTSET_ENTRIES - 1; i >= 0; i--)
        assert_true(set_add(o, m, (size_t)snprintf(m, sizeof m, "%d", i * 2)));
    assert_int_equal(o->encoding, ENC_INTSET);
    assert_false(set_add(o, S("0")));
    assert_int_equal(o->encoding, ENC_INTSET);
    /* Lookups of non-integers in an intset simply miss. */
    assert_false(set_contains(o, S("a")));
    assert_false(set_contains(o, S("02")));
    assert_false(set_remove(o, S("02")));
    assert_member_at(o, 0, S("0"));
    assert_member_at(o, 1, S("2"));
    /* The 513th integer joins the intset, which then converts (as Redis's
     * setTypeAdd does): the order is ascending, the new member included. */
    assert_true(set_add(o, S("-1")));
    assert_int_equal(o->encoding, ENC_HT);
    assert_int_equal(set_size(o), SET_MAX_INTSET_ENTRIES + 1);
    assert_member_at(o, 0, S("-1"));
    assert_member_at(o, 1, S("0"));
    assert_member_at(o, SET_MAX_INTSET_ENTRIES, S("1022"));
    /* Never back, even when small and all integers again. */
    for (int i = 0; i < SET_MAX_INTSET_ENTRIES; i++)
        assert_true(set_remove(o, m, (size_t)snprintf(m, sizeof m, "%d", i * 2)));
    assert_int_equal(set_size(o), 1);
    assert_int_equal(o->encoding, ENC_HT);
    sobj_free(o);

    o = set_new_intset();
    set_add(o, S("5"));
    set_add(o, S("3"));
    assert_true(set_add(o, S("x")));
    assert_int_equal(o->encoding, ENC_HT);
    assert_member_at(o, 0, S("3"));
    assert_member_at(o, 1, S("5"));
    assert_member_at(o, 2, S("x"));
    assert_true(set_contains(o, S("5")));
    set_remove_at(o, 0); /* x fills the hole */
    assert_member_at(o, 0, S("x"));
    sobj_free(o);
}

static void test_intset_remove_at(void **state)
{
    (void)state;
    static const char *const m[] = {"30", "10", "20"};
    struct sobj *o = make_set(m, 3);
    assert_member_at(o, 0, S("10"));
    set_remove_at(o, 1);
    assert_member_at(o, 0, S("10"));
    assert_member_at(o, 1, S("30"));
    assert_int_equal(set_size(o), 2);
    sobj_free(o);
}

/* ---- digest, dup, snapshot ------------------------------------------- */

static uint64_t digest(const struct sobj *o)
{
    return sobj_type_of(OBJ_SET)->digest(o);
}

static void test_digest(void **state)
{
    (void)state;
    static const char *const a[] = {"a", "b", "c"};
    static const char *const b[] = {"a", "b", "d"};
    static const char *const a_other_order[] = {"b", "a", "c"};
    struct sobj *x = make_set(a, 3), *y = make_set(a, 3), *z = make_set(b, 3);
    struct sobj *w = make_set(a_other_order, 3);
    assert_int_equal(digest(x), digest(y));
    assert_int_not_equal(digest(x), digest(z));
    /* The order is replicated state (SPOP picks by index). */
    assert_int_not_equal(digest(x), digest(w));
    static const char *const ints[] = {"1", "2"};
    static const char *const ints2[] = {"1", "3"};
    struct sobj *i1 = make_set(ints, 2), *i2 = make_set(ints2, 2);
    assert_int_not_equal(digest(i1), digest(i2));
    sobj_free(x);
    sobj_free(y);
    sobj_free(z);
    sobj_free(w);
    sobj_free(i1);
    sobj_free(i2);
}

static void assert_same_set(const struct sobj *a, const struct sobj *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->encoding, b->encoding);
    assert_int_equal(set_size(a), set_size(b));
    for (size_t i = 0; i < set_size(a); i++) {
        char tmp[SOBJ_INT_BUF];
        size_t len;
        const char *m = set_get_at(a, i, tmp, &len);
        assert_member_at(b, i, m, len);
    }
    assert_int_equal(digest(a), digest(b));
}

/* A hashtable set whose order differs from insertion order. */
static struct sobj *shuffled_ht_set(void)
{
    struct sobj *o = set_new_for(S("x"));
    char m[32];
    for (int i = 0; i < 2000; i++) set_add(o, m, (size_t)snprintf(m, sizeof m, "member-%d", i));
    for (int i = 0; i < 2000; i += 3) set_remove(o, m, (size_t)snprintf(m, sizeof m, "member-%d", i));
    set_add(o, "bin\0ary", 7);
    set_add(o, "", 0);
    return o;
}

static void test_dup(void **state)
{
    (void)state;
    struct sobj *o = shuffled_ht_set();
    struct sobj *copy = sobj_dup(o);
    assert_same_set(o, copy);
    set_add(copy, S("only-in-copy"));
    assert_false(set_contains(o, S("only-in-copy")));
    sobj_free(copy);
    sobj_free(o);
    static const char *const ints[] = {"7", "-70000", "3"};
    o = make_set(ints, 3);
    copy = sobj_dup(o);
    assert_same_set(o, copy);
    sobj_free(copy);
    sobj_free(o);
}

static struct sobj *decode(const void *p, size_t len, uint8_t encoding)
{
    char *copy = xmalloc(len ? len : 1);
    if (len) memcpy(copy, p, len);
    struct reader r;
    reader_init(&r, copy, len);
    struct sobj *o = sobj_type_of(OBJ_SET)->decode(&r, encoding);
    if (o) assert_int_equal(reader_left(&r), 0);
    free(copy);
    return o;
}

static void roundtrip(const struct sobj *o)
{
    struct buf out = BUF_INIT;
    sobj_type_of(OBJ_SET)->encode(o, &out);
    struct sobj *back = decode(out.data, out.len, o->encoding);
    assert_non_null(back);
    assert_same_set(o, back);
    sobj_free(back);
    for (size_t len = 0; len < out.len; len++) assert_null(decode(out.data, len, o->encoding));
    assert_null(decode(out.data, out.len, ENC_LISTPACK));
    buf_free(&out);
}

static void test_encode_decode(void **state)
{
    (void)state;
    struct sobj *o = shuffled_ht_set();
    roundtrip(o);
    sobj_free(o);
    static const char *const ints[] = {"7", "-70000", "3", "9223372036854775807"};
    o = make_set(ints, 4);
    roundtrip(o);
    sobj_free(o);
}

static void test_decode_refuses_malformed(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    /* Hashtable: no member; a repeated member. */
    buf_append_u64(&b, 0);
    assert_null(decode(b.data, b.len, ENC_HT));
    buf_clear(&b);
    buf_append_u64(&b, 2);
    buf_append_u32(&b, 1);
    buf_append(&b, "a", 1);
    buf_append_u32(&b, 1);
    buf_append(&b, "a", 1);
    assert_null(decode(b.data, b.len, ENC_HT));
    /* A length beyond the data. */
    buf_clear(&b);
    buf_append_u64(&b, 1);
    buf_append_u32(&b, 0xffffffffu);
    buf_append(&b, "a", 1);
    assert_null(decode(b.data, b.len, ENC_HT));
    /* Intset: empty; more members than today's limit (a log under
     * another set-max-intset-entries built it: it loads). */
    buf_clear(&b);
    buf_append_u32(&b, 2);
    buf_append_u32(&b, 0);
    assert_null(decode(b.data, b.len, ENC_INTSET));
    buf_clear(&b);
    buf_append_u32(&b, 2);
    buf_append_u32(&b, SET_MAX_INTSET_ENTRIES + 1);
    for (int i = 0; i <= SET_MAX_INTSET_ENTRIES; i++) {
        unsigned char le[2] = {(unsigned char)i, (unsigned char)(i >> 8)};
        buf_append(&b, le, 2);
    }
    struct sobj *big = decode(b.data, b.len, ENC_INTSET);
    assert_non_null(big);
    assert_int_equal(set_size(big), SET_MAX_INTSET_ENTRIES + 1);
    sobj_free(big);
    /* The same with one member fewer too. */
    buf_clear(&b);
    buf_append_u32(&b, 2);
    buf_append_u32(&b, SET_MAX_INTSET_ENTRIES);
    for (int i = 0; i < SET_MAX_INTSET_ENTRIES; i++) {
        unsigned char le[2] = {(unsigned char)i, (unsigned char)(i >> 8)};
        buf_append(&b, le, 2);
    }
    struct sobj *o = decode(b.data, b.len, ENC_INTSET);
    assert_non_null(o);
    assert_int_equal(set_size(o), SET_MAX_INTSET_ENTRIES);
    sobj_free(o);
    buf_free(&b);
}

static void test_store_snapshot_roundtrip(void **state)
{
    (void)state;
    struct store *s = store_new();
    store_set(s, 0, S("ht"), shuffled_ht_set(), false);
    static const char *const ints[] = {"1", "2", "-3"};
    store_set(s, 3, S("is"), make_set(ints, 3), false);
    struct dict_entry *e = store_set(s, 0, S("ttl"), make_set(ints, 2), false);
    store_set_expire(s, 0, e, 4102444800000);
    struct buf out = BUF_INIT;
    store_snapshot_encode(s, "aux", 3, &out);
    const char *aux;
    size_t aux_len;
    char err[128];
    struct store *back = store_snapshot_decode(out.data, out.len, &aux, &aux_len, err, sizeof err);
    assert_non_null(back);
    assert_int_equal(store_digest(back), store_digest(s));
    struct dict_entry *be = store_lookup(back, 0, S("ht"), 0, false);
    assert_non_null(be);
    assert_same_set(store_value(store_lookup(s, 0, S("ht"), 0, false)), store_value(be));
    /* A different order of the same members is a different digest. */
    set_remove(store_value(be), S("member-1"));
    set_add(store_value(be), S("member-1"));
    assert_int_not_equal(store_digest(back), store_digest(s));
    store_free(back);
    store_free(s);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_member_chooses_encoding),
        cmocka_unit_test(test_intset_conversions),
        cmocka_unit_test(test_intset_remove_at),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_decode_refuses_malformed),
        cmocka_unit_test(test_store_snapshot_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
