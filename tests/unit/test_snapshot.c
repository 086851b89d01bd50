/* tests/unit/test_snapshot.c — the snapshot codec (store/snapshot.c).
 *
 * Round trips: a store with thousands of keys in several databases, all
 * three string encodings (plus raw and embstr strings that look like
 * integers, which must stay raw/embstr), TTLs, empty and binary keys and
 * values, and a binary aux blob decodes to a store with the same
 * store_digest, the same keys in the same key order, expiry counts and aux,
 * and encodes again to the same bytes; so do an empty store and a
 * snapshot appended after other bytes in the output buffer. Corruption:
 * flipping any single byte of a small snapshot (every position, several
 * bit masks) and every truncation length make decode fail with a non-empty
 * message; a wrong magic is reported as such; and bodies with a valid CRC
 * (computed here with checksum_crc32) but bad structure — db index 99, key
 * count beyond the data, unknown type, encoding or opcode, oversized
 * lengths, duplicate keys, missing EOF, trailing bytes, bad format version —
 * fail cleanly. Every decode input is an exact-size heap copy so ASan
 * catches any read past its end, and the ASan build checks that failed
 * decodes leak nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include <cmocka.h>
#include <lz4.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/mem.h"
#include "cmds/acl.h"
#include "store/snapshot.h"

#define S(lit) lit, sizeof(lit) - 1

/* ---- helpers ---------------------------------------------------------- */

/* Decodes a private heap copy of exactly len bytes; on success the caller
 * gets the store and the aux copied out (the copy is freed here). */
static struct store *decode_copy(const void *data, size_t len, struct buf *aux_out, char *err,
                                 size_t errlen)
{
    char *copy = xmalloc(len ? len : 1);
    if (len) memcpy(copy, data, len);
    const char *aux = NULL;
    size_t aux_len = 0;
    struct store *s = store_snapshot_decode(copy, len, &aux, &aux_len, err, errlen);
    if (s) {
        assert_true(aux >= copy && aux + aux_len <= copy + len);
        if (aux_out) buf_append(aux_out, aux, aux_len);
    }
    free(copy);
    return s;
}

/* Decode must fail with a message; returns it (static storage). */
static const char *expect_fail(const void *data, size_t len)
{
    static char err[256];
    memset(err, 0, sizeof err);
    struct store *s = decode_copy(data, len, NULL, err, sizeof err);
    if (s) {
        store_free(s);
        fail_msg("decode of %zu bytes succeeded, expected failure", len);
    }
    assert_true(strlen(err) > 0);
    return err;
}

static void set_kv(struct store *s, int db, const char *k, size_t kl, struct sobj *v,
                   int64_t expire)
{
    struct dict_entry *e = store_set(s, db, k, kl, v, false);
    if (expire != STORE_NO_EXPIRE) store_set_expire(s, db, e, expire);
}

static struct store *build_big(void)
{
    struct store *s = store_new();
    char big[300];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 31 + 7);
    for (uint32_t i = 0; i < 6000; i++) {
        int db = (int)((i * 7) % 4) * 5; /* 0, 5, 10, 15 */
        char k[40];
        memcpy(k, "k\0ey:", 5); /* binary keys */
        size_t kl = 5 + (size_t)snprintf(k + 5, sizeof k - 5, "%u", i);
        struct sobj *v;
        switch (i % 5) {
        case 0: {
            char num[32];
            int64_t x = (int64_t)i * 1000003 - 3000000000ll;
            v = sobj_string(num, (size_t)snprintf(num, sizeof num, "%lld", (long long)x));
            assert_int_equal(v->encoding, ENC_INT);
            break;
        }
        case 1: v = sobj_string(big, i % 45); break;           /* embstr, 0..44 */
        case 2: v = sobj_string(big, 45 + i % 255); break;     /* raw */
        case 3: v = sobj_string_raw(k, kl); break;             /* short raw */
        default: v = sobj_string_as(S("123"), ENC_EMBSTR); break; /* int-like embstr */
        }
        int64_t expire = STORE_NO_EXPIRE;
        if (i % 3 == 0) expire = 1700000000000ll + i;
        if (i % 97 == 0) expire = 0;
        if (i % 101 == 0) expire = INT64_MAX;
        set_kv(s, db, k, kl, v, expire);
    }
    /* Edge values. */
    set_kv(s, 3, "", 0, sobj_string("", 0), STORE_NO_EXPIRE);         /* empty key, empty value */
    set_kv(s, 4, "", 0, sobj_string_raw("", 0), 5);                    /* empty raw with TTL */
    set_kv(s, 3, S("\0"), sobj_string(S("\0\0\xff")), STORE_NO_EXPIRE);
    set_kv(s, 3, S("\xff\xfe\0x"), sobj_string(S("-9223372036854775808")), 1);
    set_kv(s, 3, S("max"), sobj_string_int(INT64_MAX), STORE_NO_EXPIRE);
    set_kv(s, 3, S("rawint"), sobj_string_raw(S("42")), STORE_NO_EXPIRE);
    struct sobj *grown = sobj_string(S("7"));
    sobj_string_grow(grown, 10); /* APPEND-style raw with NULs */
    set_kv(s, 3, S("grown"), grown, 99);
    uint64_t total = 0;
    for (int db = 0; db < STORE_DBS; db++) total += store_db_size(s, db);
    assert_int_equal(total, 6000 + 7);
    return s;
}

/* The same keys in the same key order, with the same values and TTLs. */
static void assert_same_store(struct store *a, struct store *b)
{
    assert_int_equal(store_digest(a), store_digest(b));
    for (int db = 0; db < STORE_DBS; db++) {
        assert_int_equal(store_db_size(a, db), store_db_size(b, db));
        assert_int_equal(store_db_expiring(a, db), store_db_expiring(b, db));
        for (uint64_t i = 0; i < store_db_size(a, db); i++) {
            const struct dict_entry *e = store_key_at(a, db, i), *f = store_key_at(b, db, i);
            assert_int_equal(e->klen, f->klen);
            assert_memory_equal(e->key, f->key, e->klen);
            assert_int_equal(store_expire_of(a, db, e), store_expire_of(b, db, f));
            const struct sobj *x = store_value(e), *y = store_value(f);
            assert_int_equal(x->type, y->type);
            assert_int_equal(x->encoding, y->encoding);
            char t1[SOBJ_INT_BUF], t2[SOBJ_INT_BUF];
            size_t l1, l2;
            const char *p1 = sobj_str(x, t1, &l1), *p2 = sobj_str(y, t2, &l2);
            assert_int_equal(l1, l2);
            if (l1) assert_memory_equal(p1, p2, l1);
        }
    }
}

/* ---- round trips -------------------------------------------------------- */

static void test_roundtrip_big(void **state)
{
    (void)state;
    struct store *s = build_big();
    char aux[1000];
    for (size_t i = 0; i < sizeof aux; i++) aux[i] = (char)(i ^ (i >> 3));
    aux[0] = '\0';
    struct buf out = BUF_INIT;
    store_snapshot_encode(s, aux, sizeof aux, &out);
    assert_memory_equal(out.data, "PARLEYS1", 8);

    struct buf got_aux = BUF_INIT;
    char err[128] = "";
    struct store *d = decode_copy(out.data, out.len, &got_aux, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_int_equal(got_aux.len, sizeof aux);
    assert_memory_equal(got_aux.data, aux, sizeof aux);
    assert_same_store(s, d);
    assert_same_store(d, s);

    /* Encode the decoded store again: the same bytes (keys are written in
     * the key order, which decoding rebuilt), and the same state. */
    struct buf again = BUF_INIT;
    store_snapshot_encode(d, aux, sizeof aux, &again);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    struct store *d2 = decode_copy(again.data, again.len, NULL, err, sizeof err);
    assert_non_null(d2);
    assert_same_store(s, d2);

    /* The decoded store is fully usable: expiry index and all. */
    for (int db = 0; db < STORE_DBS; db++) {
        struct store_db *x = &d->db[db];
        for (size_t i = 0; i < x->n_expiring; i++) assert_int_equal(x->expiring[i].e->aux, i);
    }
    assert_true(store_delete(d, 3, S("grown")));
    assert_null(store_lookup(d, 4, "", 0, 5, true)); /* expired and evicted */
    assert_int_equal(store_db_size(d, 4), 0);
    assert_int_equal(store_db_expiring(d, 4), 0);

    store_free(d2);
    store_free(d);
    store_free(s);
    buf_free(&again);
    buf_free(&got_aux);
    buf_free(&out);
}

static void test_roundtrip_empty(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct buf out = BUF_INIT;
    store_snapshot_encode(s, NULL, 0, &out);
    /* Header, one block (its sizes, then the EOF byte as it is), CRC. */
    assert_int_equal(out.len, 8 + 4 + 4 + (8 + 8 + 1) + 4);
    buf_clear(&out);
    store_snapshot_encode_format(s, STORE_SNAPSHOT_FORMAT_PLAIN, NULL, 0, &out);
    assert_int_equal(out.len, 8 + 4 + 4 + 1 + 4);
    char err[128] = "";
    struct buf aux = BUF_INIT;
    struct store *d = decode_copy(out.data, out.len, &aux, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_int_equal(aux.len, 0);
    assert_same_store(s, d);
    for (int db = 0; db < STORE_DBS; db++) assert_int_equal(store_db_size(d, db), 0);
    store_free(d);

    /* Empty keyspace with an aux blob. */
    buf_clear(&out);
    store_snapshot_encode(s, S("raft-state\0\x01"), &out);
    d = decode_copy(out.data, out.len, &aux, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(aux.len, 12);
    assert_memory_equal(aux.data, "raft-state\0\x01", 12);
    store_free(d);

    /* Databases emptied by deletion and flush leave nothing behind. */
    set_kv(s, 2, S("a"), sobj_string(S("1")), 10);
    set_kv(s, 9, S("b"), sobj_string(S("2")), STORE_NO_EXPIRE);
    assert_true(store_delete(s, 2, S("a")));
    store_flush_db(s, 9, LAZYFREE_NEVER);
    buf_clear(&out);
    store_snapshot_encode_format(s, STORE_SNAPSHOT_FORMAT_PLAIN, NULL, 0, &out);
    assert_int_equal(out.len, 8 + 4 + 4 + 1 + 4);

    store_free(s);
    buf_free(&aux);
    buf_free(&out);
}

static void test_encode_after_prefix(void **state)
{
    (void)state;
    /* The encoder appends to whatever the buffer already holds, and the
     * checksum covers only the snapshot itself. */
    struct store *s = store_new();
    set_kv(s, 1, S("k"), sobj_string(S("v")), 42);
    struct buf out = BUF_INIT;
    buf_append(&out, S("some header bytes"));
    size_t prefix = out.len;
    store_snapshot_encode(s, S("aux"), &out);
    char err[128] = "";
    struct buf aux = BUF_INIT;
    struct store *d = decode_copy(out.data + prefix, out.len - prefix, &aux, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_same_store(s, d);
    assert_memory_equal(aux.data, "aux", 3);
    store_free(d);
    store_free(s);
    buf_free(&aux);
    buf_free(&out);
}

/* ---- corruption --------------------------------------------------------- */

static void small_snapshot(struct buf *out)
{
    struct store *s = store_new();
    set_kv(s, 0, S("a"), sobj_string(S("1")), STORE_NO_EXPIRE);
    set_kv(s, 0, S("bb"), sobj_string(S("hello")), 1234);
    char raw[50];
    memset(raw, 'r', sizeof raw);
    set_kv(s, 2, S("c\0"), sobj_string(raw, sizeof raw), STORE_NO_EXPIRE);
    set_kv(s, 15, "", 0, sobj_string("", 0), 7);
    store_snapshot_encode(s, S("xy"), out);
    store_free(s);
}

static void test_every_byte_flip(void **state)
{
    (void)state;
    struct buf snap = BUF_INIT;
    small_snapshot(&snap);
    /* Sanity: it decodes as is. */
    char err[128];
    struct store *ok = decode_copy(snap.data, snap.len, NULL, err, sizeof err);
    assert_non_null(ok);
    store_free(ok);

    const unsigned char masks[] = {0x01, 0x80, 0xff, 0x5a};
    char *bad = xmalloc(snap.len);
    for (size_t pos = 0; pos < snap.len; pos++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(bad, snap.data, snap.len);
            bad[pos] ^= (char)masks[m];
            const char *why = expect_fail(bad, snap.len);
            if (pos < 8) assert_non_null(strstr(why, "magic"));
            else assert_non_null(strstr(why, "checksum"));
        }
    }
    free(bad);
    buf_free(&snap);
}

static void test_every_truncation(void **state)
{
    (void)state;
    struct buf snap = BUF_INIT;
    small_snapshot(&snap);
    for (size_t len = 0; len < snap.len; len++) expect_fail(snap.data, len);
    /* Also with one byte too many. */
    buf_append_u8(&snap, 0);
    expect_fail(snap.data, snap.len);
    buf_free(&snap);

    /* Truncations of a big snapshot, at a spread of lengths. */
    struct store *s = build_big();
    struct buf big = BUF_INIT;
    store_snapshot_encode(s, S("aux"), &big);
    store_free(s);
    for (size_t len = 0; len < big.len; len += 1 + len / 7) expect_fail(big.data, len);
    expect_fail(big.data, big.len - 1);
    buf_free(&big);
}

static void test_wrong_magic(void **state)
{
    (void)state;
    struct buf snap = BUF_INIT;
    small_snapshot(&snap);
    const char *magics[] = {"PARLEYS2", "parleys1", "REDIS001", "\0\0\0\0\0\0\0\0"};
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        memcpy(snap.data, magics[i], 8);
        /* Keep the checksum valid, so only the magic is wrong. */
        uint32_t crc = checksum_crc32(0, snap.data, snap.len - 4);
        snap.len -= 4;
        buf_append_u32(&snap, crc);
        const char *why = expect_fail(snap.data, snap.len);
        assert_non_null(strstr(why, "magic"));
    }
    /* Shorter than any snapshot can be. */
    assert_non_null(strstr(expect_fail("PARLEYS1", 8), "magic"));
    expect_fail("", 0);
    buf_free(&snap);
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    char err[8];
    memset(err, 'x', sizeof err);
    const char *aux;
    size_t aux_len;
    assert_null(store_snapshot_decode("garbage-garbage-garbage", 23, &aux, &aux_len, err,
                                      sizeof err));
    assert_int_equal(strlen(err), sizeof err - 1); /* truncated, terminated */
}

/* ---- checksum-valid but structurally bad bodies ------------------------- */

static void hdr(struct buf *b, uint32_t format, const char *aux, uint32_t aux_len)
{
    buf_clear(b);
    buf_append(b, "PARLEYS1", 8);
    buf_append_u32(b, format);
    buf_append_u32(b, aux_len);
    buf_append(b, aux, aux_len);
}

static void db_hdr(struct buf *b, uint32_t db, uint64_t count)
{
    buf_append_u8(b, 0xFE);
    buf_append_u32(b, db);
    buf_append_u64(b, count);
}

static void key_hdr(struct buf *b, uint8_t type, uint8_t enc, int64_t expire, const char *k,
                    uint32_t kl)
{
    buf_append_u8(b, type);
    buf_append_u8(b, enc);
    buf_append_u64(b, (uint64_t)expire);
    buf_append_u32(b, kl);
    buf_append(b, k, kl);
}

static void str_val(struct buf *b, const char *v, uint64_t len)
{
    buf_append_u64(b, len);
    buf_append(b, v, (size_t)len);
}

/* Appends the EOF opcode (if eof) and the CRC of everything before. */
static void seal(struct buf *b, bool eof)
{
    if (eof) buf_append_u8(b, 0xFF);
    buf_append_u32(b, checksum_crc32(0, b->data, b->len));
}

static void test_crafted_valid(void **state)
{
    (void)state;
    /* The crafting helpers produce what the decoder accepts. */
    struct buf b = BUF_INIT;
    hdr(&b, 1, "A", 1);
    db_hdr(&b, 3, 3);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, STORE_NO_EXPIRE, S("k1"));
    str_val(&b, S("v1"));
    key_hdr(&b, OBJ_STRING, ENC_INT, 1000, S("k2"));
    buf_append_u64(&b, (uint64_t)-5);
    key_hdr(&b, OBJ_STRING, ENC_RAW, STORE_NO_EXPIRE, S("k3"));
    str_val(&b, S("raw"));
    db_hdr(&b, 15, 1);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, 7, "", 0);
    str_val(&b, "", 0);
    seal(&b, true);
    char err[128] = "";
    struct buf aux = BUF_INIT;
    struct store *s = decode_copy(b.data, b.len, &aux, err, sizeof err);
    if (s == NULL) fail_msg("crafted snapshot rejected: %s", err);
    assert_memory_equal(aux.data, "A", 1);
    assert_int_equal(store_db_size(s, 3), 3);
    assert_int_equal(store_db_expiring(s, 3), 1);
    struct dict_entry *e = store_lookup(s, 3, S("k2"), 0, false);
    assert_non_null(e);
    assert_int_equal(store_value(e)->encoding, ENC_INT);
    assert_true(store_value(e)->i == -5);
    assert_int_equal(store_expire_of(s, 3, e), 1000);
    assert_ptr_equal(store_key_at(s, 3, 1), e); /* in the order they came */
    e = store_lookup(s, 3, S("k3"), 0, false);
    assert_ptr_equal(store_key_at(s, 3, 2), e);
    assert_int_equal(store_value(e)->encoding, ENC_RAW);
    e = store_lookup(s, 15, "", 0, 0, false);
    assert_non_null(e);
    assert_int_equal(store_expire_of(s, 15, e), 7);
    store_free(s);
    buf_free(&aux);
    buf_free(&b);
}

/* ACL users are in the snapshot (format 4), and only when they are more
 * than a fresh default user; a truncated section is refused. */
static void test_acl_users_round_trip(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct buf fresh = BUF_INIT;
    store_snapshot_encode(s, NULL, 0, &fresh);
    acl_users_set(&s->users, S("bob"), S("\x02\0\0\0on"));
    struct buf snap = BUF_INIT;
    store_snapshot_encode(s, NULL, 0, &snap);
    assert_true(snap.len > fresh.len);
    char err[256];
    struct store *t = decode_copy(snap.data, snap.len, NULL, err, sizeof err);
    assert_non_null(t);
    const struct acl_user_rec *bob = acl_users_find(&t->users, S("bob"));
    assert_non_null(bob);
    assert_int_equal(bob->rlen, 6);
    assert_non_null(acl_users_find(&t->users, S("default")));
    assert_int_equal(acl_users_digest(&t->users), acl_users_digest(&s->users));
    assert_int_equal(store_digest(t), store_digest(s));
    store_free(t);
    t = NULL;
    /* The users are part of the digest. */
    uint64_t with_bob = store_digest(s);
    assert_true(acl_users_delete(&s->users, S("bob")));
    assert_true(store_digest(s) != with_bob);
    store_free(s);
    buf_free(&snap);
    buf_free(&fresh);
}

/* The encoding thresholds are in the snapshot (format 5) when they are
 * not the defaults, and in the digest; a snapshot without them (an older
 * one) loads with the defaults; a value out of range is refused. */
static void test_encoding_thresholds_round_trip(void **state)
{
    (void)state;
    struct store *s = store_new();
    struct buf plain = BUF_INIT;
    store_snapshot_encode(s, NULL, 0, &plain);
    uint64_t plain_digest = store_digest(s);
    s->enc.hash_max_listpack_entries = 3;
    s->enc.list_max_listpack_size = -5;
    struct buf snap = BUF_INIT;
    store_snapshot_encode(s, NULL, 0, &snap);
    assert_true(snap.len > plain.len);
    assert_true(store_digest(s) != plain_digest);
    char err[256];
    struct store *t = decode_copy(snap.data, snap.len, NULL, err, sizeof err);
    assert_non_null(t);
    assert_int_equal(t->enc.hash_max_listpack_entries, 3);
    assert_int_equal(t->enc.list_max_listpack_size, -5);
    assert_int_equal(t->enc.zset_max_listpack_entries, 128);
    assert_int_equal(store_digest(t), store_digest(s));
    store_free(t);
    t = decode_copy(plain.data, plain.len, NULL, err, sizeof err);
    assert_non_null(t);
    assert_memory_equal(&t->enc, &store_encoding_defaults, sizeof t->enc);
    store_free(t);
    /* An older format holding the same bytes does not know the section. */
    struct buf old = BUF_INIT;
    buf_append(&old, snap.data, snap.len - 4);
    old.data[8] = 4;
    buf_append_u32(&old, checksum_crc32(0, old.data, old.len));
    assert_null(decode_copy(old.data, old.len, NULL, err, sizeof err));
    /* Out of range (list-compress-depth -1). */
    s->enc.list_compress_depth = -1;
    buf_clear(&snap);
    store_snapshot_encode(s, NULL, 0, &snap);
    assert_null(decode_copy(snap.data, snap.len, NULL, err, sizeof err));
    assert_non_null(strstr(err, "encoding"));
    store_free(s);
    buf_free(&snap);
    buf_free(&plain);
    buf_free(&old);
}

/* A stored user whose rules this build cannot read (a command it does not
 * have, from a snapshot of another build or a damaged one) may do nothing,
 * instead of stopping the node at its next check. */
static void test_acl_user_with_unreadable_rules(void **state)
{
    (void)state;
    struct store *s = store_new();
    acl_users_set(&s->users, S("bob"), S("\x02\0\0\0on\x06\0\0\0nopass\x05\0\0\0+@all"
                                          "\x0e\0\0\0+nosuchcommand"));
    assert_false(acl_user_on(s, S("bob")));
    assert_false(acl_password_ok(s, S("bob"), S("")));
    acl_users_set(&s->users, S("ann"), S("\x02\0\0\0on\x06\0\0\0nopass\x05\0\0\0+@all"));
    assert_true(acl_user_on(s, S("ann")));
    assert_true(acl_password_ok(s, S("ann"), S("")));
    store_free(s);
}

static void test_crafted_bad(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;

    /* db index 99 (and 16, one past the last). */
    const uint32_t bad_dbs[] = {99, STORE_DBS, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        hdr(&b, 1, NULL, 0);
        db_hdr(&b, bad_dbs[i], 1);
        key_hdr(&b, OBJ_STRING, ENC_EMBSTR, STORE_NO_EXPIRE, S("k"));
        str_val(&b, S("v"));
        seal(&b, true);
        expect_fail(b.data, b.len);
    }

    /* A key count larger than the data (after a valid key, so a partly
     * built store must be freed), and an absurd one with no keys. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, 1000);
    key_hdr(&b, OBJ_STRING, ENC_RAW, 5, S("k"));
    str_val(&b, S("v"));
    seal(&b, true);
    expect_fail(b.data, b.len);
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, UINT64_MAX);
    seal(&b, true);
    expect_fail(b.data, b.len);

    /* Unknown types, including the ones not implemented yet. */
    const uint8_t bad_types[] = {OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, 5, OBJ_STREAM, 7, 0xFF};
    for (size_t i = 0; i < sizeof bad_types; i++) {
        hdr(&b, 1, NULL, 0);
        db_hdr(&b, 0, 2);
        key_hdr(&b, OBJ_STRING, ENC_EMBSTR, 10, S("good"));
        str_val(&b, S("v"));
        key_hdr(&b, bad_types[i], ENC_EMBSTR, STORE_NO_EXPIRE, S("k"));
        str_val(&b, S("v"));
        seal(&b, true);
        expect_fail(b.data, b.len);
    }

    /* Unknown string encodings. */
    const uint8_t bad_encs[] = {2, 3, 7, 9, 0xFF};
    for (size_t i = 0; i < sizeof bad_encs; i++) {
        hdr(&b, 1, NULL, 0);
        db_hdr(&b, 0, 1);
        key_hdr(&b, OBJ_STRING, bad_encs[i], STORE_NO_EXPIRE, S("k"));
        str_val(&b, S("v"));
        seal(&b, true);
        expect_fail(b.data, b.len);
    }

    /* String length beyond the data, small and huge. */
    const uint64_t bad_lens[] = {2, 1000, UINT32_MAX, (uint64_t)SIZE_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        hdr(&b, 1, NULL, 0);
        db_hdr(&b, 0, 1);
        key_hdr(&b, OBJ_STRING, ENC_RAW, STORE_NO_EXPIRE, S("k"));
        buf_append_u64(&b, bad_lens[i]);
        buf_append(&b, "v", 1);
        seal(&b, true);
        expect_fail(b.data, b.len);
    }

    /* Key length beyond the data. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, 1);
    buf_append_u8(&b, OBJ_STRING);
    buf_append_u8(&b, ENC_RAW);
    buf_append_u64(&b, (uint64_t)STORE_NO_EXPIRE);
    buf_append_u32(&b, UINT32_MAX);
    buf_append(&b, "k", 1);
    seal(&b, true);
    expect_fail(b.data, b.len);

    /* An int value cut short. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, 1);
    key_hdr(&b, OBJ_STRING, ENC_INT, STORE_NO_EXPIRE, S("k"));
    buf_append(&b, "\1\2\3", 3);
    seal(&b, true);
    expect_fail(b.data, b.len);

    /* Unknown opcodes where a database header should be. */
    const uint8_t bad_ops[] = {0x00, 0x42, 0xFD};
    for (size_t i = 0; i < sizeof bad_ops; i++) {
        hdr(&b, 1, NULL, 0);
        buf_append_u8(&b, bad_ops[i]);
        seal(&b, true);
        expect_fail(b.data, b.len);
    }

    /* Duplicate key in one db, and across two headers of the same db. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 4, 2);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, 10, S("dup"));
    str_val(&b, S("a"));
    key_hdr(&b, OBJ_STRING, ENC_RAW, 20, S("dup"));
    str_val(&b, S("b"));
    seal(&b, true);
    assert_non_null(strstr(expect_fail(b.data, b.len), "duplicate"));
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 4, 1);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, 10, S("dup"));
    str_val(&b, S("a"));
    db_hdr(&b, 4, 1);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, STORE_NO_EXPIRE, S("dup"));
    str_val(&b, S("b"));
    seal(&b, true);
    expect_fail(b.data, b.len);

    /* No EOF opcode: the keys end and the CRC follows directly. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, 1);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, STORE_NO_EXPIRE, S("k"));
    str_val(&b, S("v"));
    seal(&b, false);
    expect_fail(b.data, b.len);

    /* Bytes after EOF. */
    hdr(&b, 1, NULL, 0);
    db_hdr(&b, 0, 1);
    key_hdr(&b, OBJ_STRING, ENC_EMBSTR, STORE_NO_EXPIRE, S("k"));
    str_val(&b, S("v"));
    buf_append_u8(&b, 0xFF);
    buf_append(&b, "junk", 4);
    seal(&b, false);
    assert_non_null(strstr(expect_fail(b.data, b.len), "trailing"));

    /* Format versions other than 1 (still read: the crafted snapshots
     * here are format 1), 2 to 5 (still read) and 6 (what is written now). */
    const uint32_t bad_formats[] = {0, 7, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        hdr(&b, bad_formats[i], NULL, 0);
        seal(&b, true);
        assert_non_null(strstr(expect_fail(b.data, b.len), "format"));
    }

    /* aux longer than the data. */
    hdr(&b, 1, NULL, 0);
    b.len -= 4;
    buf_append_u32(&b, 100);
    buf_append(&b, "short", 5);
    seal(&b, true);
    expect_fail(b.data, b.len);
    hdr(&b, 1, NULL, 0);
    b.len -= 4;
    buf_append_u32(&b, UINT32_MAX);
    seal(&b, true);
    expect_fail(b.data, b.len);

    buf_free(&b);
}

/* ---- format 6: records packed in LZ4 blocks ------------------------------ */

static struct store *build_repetitive(size_t keys, size_t value_len)
{
    struct store *s = store_new();
    char *v = xmalloc(value_len);
    memset(v, 'x', value_len);
    for (size_t i = 0; i < keys; i++) {
        char k[32];
        int kl = snprintf(k, sizeof k, "key:%012zu", i);
        set_kv(s, (int)(i % 3), k, (size_t)kl, sobj_string(v, value_len),
               i % 5 ? STORE_NO_EXPIRE : (int64_t)(1000 + i));
    }
    free(v);
    return s;
}

static void assert_round_trip(struct store *s, const struct buf *snap)
{
    char err[128] = "";
    struct buf aux = BUF_INIT;
    struct store *d = decode_copy(snap->data, snap->len, &aux, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_same_store(s, d);
    assert_int_equal(aux.len, 3);
    store_free(d);
    buf_free(&aux);
}

static void test_packed_is_small_and_round_trips(void **state)
{
    (void)state;
    /* 20,000 values of 1 KB that repeat themselves: many blocks. */
    struct store *s = build_repetitive(20000, 1024);
    struct buf packed = BUF_INIT, plain = BUF_INIT;
    store_snapshot_encode(s, S("aux"), &packed);
    store_snapshot_encode_format(s, STORE_SNAPSHOT_FORMAT_PLAIN, S("aux"), &plain);
    assert_true(plain.len > 20000 * 1024);
    assert_true(packed.len * 20 < plain.len);
    assert_int_equal(store_snapshot_format(packed.data, packed.len), 6);
    assert_int_equal(store_snapshot_format(plain.data, plain.len), 5);
    assert_round_trip(s, &packed);
    assert_round_trip(s, &plain);
    /* Every truncation of the packed one is refused. */
    for (size_t len = 0; len < packed.len; len += 1 + len / 5) expect_fail(packed.data, len);
    store_free(s);
    buf_free(&packed);
    buf_free(&plain);

    /* Values that do not compress: packing costs at most a few bytes a block. */
    s = store_new();
    uint64_t x = 88172645463325252ull;
    char v[700];
    for (int i = 0; i < 3000; i++) {
        for (size_t j = 0; j < sizeof v; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v[j] = (char)x;
        }
        char k[16];
        int kl = snprintf(k, sizeof k, "r%d", i);
        set_kv(s, 0, k, (size_t)kl, sobj_string(v, sizeof v), STORE_NO_EXPIRE);
    }
    store_snapshot_encode(s, S("aux"), &packed);
    store_snapshot_encode_format(s, STORE_SNAPSHOT_FORMAT_PLAIN, S("aux"), &plain);
    assert_true(packed.len < plain.len + plain.len / 1000);
    assert_true(packed.len > plain.len - plain.len / 20);
    assert_round_trip(s, &packed);
    store_free(s);
    buf_free(&packed);
    buf_free(&plain);

    /* One record bigger than a block (a 3 MB value) and small ones around it. */
    s = build_repetitive(10, 100);
    char *big = xmalloc(3u << 20);
    for (size_t j = 0; j < (3u << 20); j++) big[j] = (char)(j % 251);
    set_kv(s, 0, S("big"), sobj_string(big, 3u << 20), STORE_NO_EXPIRE);
    free(big);
    store_snapshot_encode(s, S("aux"), &packed);
    assert_true(packed.len < (3u << 20) / 10);
    assert_round_trip(s, &packed);
    store_free(s);
    buf_free(&packed);
}

/* A format 6 snapshot of crafted blocks: `raw` holds the records. */
static void packed_block(struct buf *b, const void *raw, size_t raw_len, bool compress)
{
    buf_append_u64(b, raw_len);
    if (!compress) {
        buf_append_u64(b, raw_len);
        buf_append(b, raw, raw_len);
        return;
    }
    /* The encoder's own packing: a snapshot of nothing but these records. */
    int bound = LZ4_compressBound((int)raw_len);
    char *dst = xmalloc((size_t)bound);
    int n = LZ4_compress_default(raw, dst, (int)raw_len, bound);
    assert_true(n > 0 && (size_t)n < raw_len);
    buf_append_u64(b, (uint64_t)n);
    buf_append(b, dst, (size_t)n);
    free(dst);
}

static void test_packed_crafted(void **state)
{
    (void)state;
    struct buf rec = BUF_INIT, b = BUF_INIT;
    db_hdr(&rec, 0, 2);
    key_hdr(&rec, OBJ_STRING, ENC_RAW, STORE_NO_EXPIRE, S("k1"));
    str_val(&rec, S("vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"));
    size_t first_key_end = rec.len;
    key_hdr(&rec, OBJ_STRING, ENC_RAW, STORE_NO_EXPIRE, S("k2"));
    str_val(&rec, S("wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww"));
    buf_append_u8(&rec, 0xFF);
    char err[128];

    /* Valid: one compressed block; the records split at a key into two. */
    hdr(&b, 6, NULL, 0);
    packed_block(&b, rec.data, rec.len, true);
    seal(&b, false);
    struct store *d = decode_copy(b.data, b.len, NULL, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_int_equal(store_db_size(d, 0), 2);
    store_free(d);
    hdr(&b, 6, NULL, 0);
    packed_block(&b, rec.data, first_key_end, false);
    packed_block(&b, rec.data + first_key_end, rec.len - first_key_end, false);
    seal(&b, false);
    d = decode_copy(b.data, b.len, NULL, err, sizeof err);
    if (d == NULL) fail_msg("decode failed: %s", err);
    assert_int_equal(store_db_size(d, 0), 2);
    store_free(d);

    /* A block that ends inside a record. */
    hdr(&b, 6, NULL, 0);
    packed_block(&b, rec.data, first_key_end - 3, false);
    packed_block(&b, rec.data + first_key_end - 3, rec.len - first_key_end + 3, false);
    seal(&b, false);
    expect_fail(b.data, b.len);

    /* Sizes that lie: stored larger than raw, raw 0, raw far beyond what
     * LZ4 can expand the stored bytes to, raw not what they expand to. */
    const uint64_t sizes[][2] = {{10, 11}, {0, 0}, {UINT64_MAX, 4}, {1u << 30, 8}, {rec.len + 1, 0}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        hdr(&b, 6, NULL, 0);
        size_t at = b.len;
        packed_block(&b, rec.data, rec.len, true);
        memcpy(b.data + at, &sizes[i][0], 8);
        if (sizes[i][1]) memcpy(b.data + at + 8, &sizes[i][1], 8);
        seal(&b, false);
        assert_non_null(strstr(expect_fail(b.data, b.len), "block"));
    }

    /* Compressed bytes that are not LZ4. */
    hdr(&b, 6, NULL, 0);
    buf_append_u64(&b, 100);
    buf_append_u64(&b, 12);
    buf_append(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12);
    seal(&b, false);
    assert_non_null(strstr(expect_fail(b.data, b.len), "block"));

    /* A block after the one holding EOF, and bytes after the last block. */
    hdr(&b, 6, NULL, 0);
    packed_block(&b, rec.data, rec.len, false);
    packed_block(&b, "\xff", 1, false);
    seal(&b, false);
    assert_non_null(strstr(expect_fail(b.data, b.len), "trailing"));
    hdr(&b, 6, NULL, 0);
    packed_block(&b, rec.data, rec.len, false);
    buf_append(&b, "junk", 4);
    seal(&b, false);
    assert_non_null(strstr(expect_fail(b.data, b.len), "trailing"));

    /* No block at all, and records outside of blocks. */
    hdr(&b, 6, NULL, 0);
    seal(&b, false);
    expect_fail(b.data, b.len);
    hdr(&b, 6, NULL, 0);
    buf_append(&b, rec.data, rec.len);
    seal(&b, false);
    expect_fail(b.data, b.len);

    buf_free(&rec);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_big),
        cmocka_unit_test(test_roundtrip_empty),
        cmocka_unit_test(test_encode_after_prefix),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_crafted_valid),
        cmocka_unit_test(test_crafted_bad),
        cmocka_unit_test(test_packed_is_small_and_round_trips),
        cmocka_unit_test(test_packed_crafted),
        cmocka_unit_test(test_acl_users_round_trip),
        cmocka_unit_test(test_encoding_thresholds_round_trip),
        cmocka_unit_test(test_acl_user_with_unreadable_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
