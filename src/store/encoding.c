/* store/encoding.c — see encoding.h. */
#include "store/encoding.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

const struct store_encoding store_encoding_defaults = {
    .list_max_listpack_size = -2,
    .list_compress_depth = 0,
    .hash_max_listpack_entries = 512,
    .hash_max_listpack_value = 64,
    .set_max_intset_entries = 512,
    .zset_max_listpack_entries = 128,
    .zset_max_listpack_value = 64,
    .stream_node_max_bytes = 4096,
    .stream_node_max_entries = 100,
    .hll_sparse_max_bytes = 3000,
};

#define OFF(f) offsetof(struct store_encoding, f)

/* Redis 7.0's names, old names and ranges (config.c's createIntConfig /
 * createSizeTConfig rows). */
const struct store_encoding_setting store_encoding_settings[] = {
    {"list-max-listpack-size", "list-max-ziplist-size", OFF(list_max_listpack_size), false, INT_MIN,
     INT_MAX},
    {"list-compress-depth", NULL, OFF(list_compress_depth), false, 0, INT_MAX},
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", OFF(hash_max_listpack_entries), false,
     0, LONG_MAX},
    {"hash-max-listpack-value", "hash-max-ziplist-value", OFF(hash_max_listpack_value), true, 0,
     LONG_MAX},
    {"set-max-intset-entries", NULL, OFF(set_max_intset_entries), false, 0, LONG_MAX},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", OFF(zset_max_listpack_entries), false,
     0, LONG_MAX},
    {"zset-max-listpack-value", "zset-max-ziplist-value", OFF(zset_max_listpack_value), true, 0,
     LONG_MAX},
    {"stream-node-max-bytes", NULL, OFF(stream_node_max_bytes), true, 0, LONG_MAX},
    {"stream-node-max-entries", NULL, OFF(stream_node_max_entries), false, 0, LLONG_MAX},
    {"hll-sparse-max-bytes", NULL, OFF(hll_sparse_max_bytes), true, 0, LONG_MAX},
};
const size_t store_encoding_n_settings =
    sizeof store_encoding_settings / sizeof *store_encoding_settings;

const struct store_encoding *store_encoding_live = &store_encoding_defaults;

void store_encoding_bind(const struct store_encoding *e)
{
    store_encoding_live = e ? e : &store_encoding_defaults;
}

static bool name_is(const char *want, const char *name, size_t len)
{
    return want && strlen(want) == len && strncasecmp(want, name, len) == 0;
}

const struct store_encoding_setting *store_encoding_find(const char *name, size_t len)
{
    for (size_t i = 0; i < store_encoding_n_settings; i++) {
        const struct store_encoding_setting *s = &store_encoding_settings[i];
        if (name_is(s->name, name, len) || name_is(s->alias, name, len)) return s;
    }
    return NULL;
}

bool store_encoding_is_default(const struct store_encoding *e)
{
    return memcmp(e, &store_encoding_defaults, sizeof *e) == 0;
}

void store_encoding_encode(const struct store_encoding *e, struct buf *out)
{
    buf_append_u32(out, (uint32_t)store_encoding_n_settings);
    for (size_t i = 0; i < store_encoding_n_settings; i++) {
        const struct store_encoding_setting *s = &store_encoding_settings[i];
        buf_append_u32(out, (uint32_t)strlen(s->name));
        buf_append(out, s->name, strlen(s->name));
        buf_append_u64(out, (uint64_t) * (const long long *)((const char *)e + s->offset));
    }
}

int store_encoding_decode(struct store_encoding *e, struct reader *r)
{
    uint32_t n;
    if (reader_u32(r, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        const char *name;
        uint64_t raw;
        if (reader_u32(r, &len) || reader_bytes(r, len, &name) || reader_u64(r, &raw)) return -1;
        const struct store_encoding_setting *s = store_encoding_find(name, len);
        if (s == NULL) continue;
        long long v = (long long)raw;
        if (v < s->min || v > s->max) return -1;
        *store_encoding_field(e, s) = v;
    }
    return 0;
}
