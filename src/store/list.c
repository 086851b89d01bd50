/* store/list.c — see list.h.
 *
 * Snapshot form (layout-independent, so every replica writes the same bytes
 * for the same list):  u64 count, then per element either
 *     u8 0, u32 length, bytes      (a string)
 *     u8 1, u64 value              (an integer, as the listpack stores it)
 * The digest hashes the count and the elements in order. */
#include "store/list.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/hash.h"

#define TAG_STR 0
#define TAG_INT 1

struct sobj *list_new(void)
{
    return sobj_new(OBJ_LIST, ENC_QUICKLIST, ql_new());
}

static void list_free(struct sobj *o)
{
    ql_free(list_ql(o));
}

static struct sobj *list_dup(const struct sobj *o)
{
    return sobj_new(OBJ_LIST, ENC_QUICKLIST, ql_dup(list_ql(o)));
}

static size_t list_memory(const struct sobj *o)
{
    return ql_memory(list_ql(o));
}

static uint64_t list_digest(const struct sobj *o)
{
    struct quicklist *ql = list_ql(o);
    unsigned char count[8];
    for (int i = 0; i < 8; i++) count[i] = (unsigned char)((uint64_t)ql_count(ql) >> (8 * i));
    uint64_t h = hash_bytes_fixed(count, sizeof count, 0x115ec);
    struct ql_iter it;
    char tmp[24];
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it); ql_iter_next(&it)) {
        size_t len;
        const char *s = lp_get_str(it.node->lp, it.pos, tmp, &len);
        h = hash_bytes_fixed(s, len, h); /* chained: order matters */
    }
    return h;
}

static void list_encode(const struct sobj *o, struct buf *out)
{
    struct quicklist *ql = list_ql(o);
    buf_append_u64(out, ql_count(ql));
    struct ql_iter it;
    for (ql_iter_at(ql, 0, true, &it); !ql_iter_done(&it); ql_iter_next(&it)) {
        struct lp_value v;
        ql_iter_get(&it, &v);
        if (v.p) {
            buf_append_u8(out, TAG_STR);
            buf_append_u32(out, (uint32_t)v.len);
            buf_append(out, v.p, v.len);
        } else {
            buf_append_u8(out, TAG_INT);
            buf_append_u64(out, (uint64_t)v.i);
        }
    }
}

/* Reads one element and appends it; false if malformed. */
static bool decode_element(struct reader *r, struct quicklist *ql)
{
    uint8_t tag;
    if (reader_u8(r, &tag)) return false;
    if (tag == TAG_INT) {
        uint64_t v;
        if (reader_u64(r, &v)) return false;
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
        ql_push(ql, false, tmp, (size_t)n);
        return true;
    }
    uint32_t len;
    const char *p;
    if (tag != TAG_STR || reader_u32(r, &len) || len > QL_MAX_ELEMENT || reader_bytes(r, len, &p))
        return false;
    ql_push(ql, false, p, len);
    return true;
}

static struct sobj *list_decode(struct reader *r, uint8_t encoding)
{
    uint64_t count;
    if (encoding != ENC_QUICKLIST || reader_u64(r, &count) || count == 0) return NULL;
    /* Every element takes at least 5 bytes: refuse impossible counts
     * before looping on them. */
    if (count > reader_left(r) / 5) return NULL;
    struct quicklist *ql = ql_new();
    for (uint64_t i = 0; i < count; i++) {
        if (!decode_element(r, ql)) {
            ql_free(ql);
            return NULL;
        }
    }
    return sobj_new(OBJ_LIST, ENC_QUICKLIST, ql);
}

const struct sobj_ops list_type_ops = {
    .free = list_free,
    .dup = list_dup,
    .memory = list_memory,
    .digest = list_digest,
    .encode = list_encode,
    .decode = list_decode,
};
