/* store/object.c — see object.h. */
#include "store/object.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/hash.h"
#include "store/list.h"
#include "store/set.h"
#include "store/stream.h"
#include "store/zset.h"

bool str_to_ll(const char *p, size_t len, long long *v)
{
    if (len == 0 || len > SOBJ_INT_MAX_CHARS) return false;
    if (len == 1 && p[0] == '0') {
        *v = 0;
        return true;
    }
    size_t i = 0;
    bool negative = false;
    if (p[0] == '-') {
        negative = true;
        if (++i == len) return false;
    }
    if (p[i] < '1' || p[i] > '9') return false;
    unsigned long long acc = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned digit = (unsigned)(p[i] - '0');
        if (acc > (ULLONG_MAX - digit) / 10) return false;
        acc = acc * 10 + digit;
    }
    if (negative) {
        if (acc > (unsigned long long)LLONG_MAX + 1) return false;
        *v = acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)acc;
    } else {
        if (acc > LLONG_MAX) return false;
        *v = (long long)acc;
    }
    return true;
}

/* The header fields every new object starts with. */
static void init_header(struct sobj *o, enum sobj_type type, enum sobj_encoding encoding)
{
    o->type = (uint8_t)type;
    o->encoding = (uint8_t)encoding;
    o->lfu_count = SOBJ_LFU_INIT;
    o->spare = 0;
    o->access_ms = 0;
}

struct sobj *sobj_string_int(int64_t v)
{
    struct sobj *o = xmalloc(sizeof *o);
    init_header(o, OBJ_STRING, ENC_INT);
    o->i = v;
    return o;
}

static struct sobj *embstr(const char *p, size_t len)
{
    struct sobj *o = xmalloc(sizeof *o + len + 1);
    init_header(o, OBJ_STRING, ENC_EMBSTR);
    o->s.p = (char *)(o + 1);
    o->s.len = o->s.cap = len;
    if (len) memcpy(o->s.p, p, len);
    o->s.p[len] = '\0';
    return o;
}

struct sobj *sobj_string_raw(const char *p, size_t len)
{
    struct sobj *o = xmalloc(sizeof *o);
    init_header(o, OBJ_STRING, ENC_RAW);
    o->s.p = xmalloc(len + 1);
    o->s.len = o->s.cap = len;
    if (len) memcpy(o->s.p, p, len);
    o->s.p[len] = '\0';
    return o;
}

struct sobj *sobj_string(const char *p, size_t len)
{
    long long v;
    if (str_to_ll(p, len, &v)) return sobj_string_int(v);
    if (len <= SOBJ_EMBSTR_MAX) return embstr(p, len);
    return sobj_string_raw(p, len);
}

struct sobj *sobj_string_as(const char *p, size_t len, enum sobj_encoding enc)
{
    if (enc == ENC_EMBSTR && len <= SOBJ_EMBSTR_MAX) return embstr(p, len);
    return sobj_string_raw(p, len);
}

/* Collection types register here, one line each. */
static const struct sobj_ops *types[8] = {
    [OBJ_STRING] = NULL, /* strings are handled in this file */
    [OBJ_LIST] = &list_type_ops,
    [OBJ_SET] = &set_ops,
    [OBJ_ZSET] = &zset_type_ops,
    [OBJ_HASH] = &hash_ops,
    [OBJ_STREAM] = &stream_type_ops,
};

const struct sobj_ops *sobj_type_of(int type)
{
    return type >= 0 && type < 8 ? types[type] : NULL;
}

struct sobj *sobj_new(enum sobj_type type, enum sobj_encoding encoding, void *ptr)
{
    struct sobj *o = xmalloc(sizeof *o);
    init_header(o, type, encoding);
    o->ptr = ptr;
    return o;
}

void sobj_free(struct sobj *o)
{
    if (o == NULL) return;
    if (o->type == OBJ_STRING) {
        if (o->encoding == ENC_RAW) free(o->s.p);
    } else {
        const struct sobj_ops *t = sobj_type_of(o->type);
        assert(t != NULL);
        t->free(o);
    }
    free(o);
}

struct sobj *sobj_dup(const struct sobj *o)
{
    if (o->type != OBJ_STRING) return sobj_type_of(o->type)->dup(o);
    if (o->encoding == ENC_INT) return sobj_string_int(o->i);
    if (o->encoding == ENC_EMBSTR) return embstr(o->s.p, o->s.len);
    return sobj_string_raw(o->s.p, o->s.len);
}

const char *sobj_str(const struct sobj *o, char tmp[SOBJ_INT_BUF], size_t *len)
{
    assert(o->type == OBJ_STRING);
    if (o->encoding == ENC_INT) {
        *len = (size_t)snprintf(tmp, SOBJ_INT_BUF, "%lld", (long long)o->i);
        return tmp;
    }
    *len = o->s.len;
    return o->s.p;
}

size_t sobj_strlen(const struct sobj *o)
{
    char tmp[SOBJ_INT_BUF];
    size_t len;
    sobj_str(o, tmp, &len);
    return len;
}

bool sobj_get_ll(const struct sobj *o, long long *v)
{
    assert(o->type == OBJ_STRING);
    if (o->encoding == ENC_INT) {
        *v = o->i;
        return true;
    }
    return str_to_ll(o->s.p, o->s.len, v);
}

char *sobj_string_grow(struct sobj *o, size_t len)
{
    assert(o->type == OBJ_STRING);
    if (len > SIZE_MAX / 2) return NULL;
    bool raw = o->encoding == ENC_RAW;
    size_t cur = sobj_strlen(o);
    if (len < cur) len = cur;
    if (!raw || len > o->s.cap) {
        /* Grow greedily, as sds does, so repeated APPENDs are amortised;
         * only by what was asked when the greedy size cannot be had. */
        size_t cap = len < (1u << 20) ? len * 2 : len + (1u << 20);
        char *old_p = raw ? o->s.p : NULL;
        char *p = mem_try_realloc(old_p, cap + 1);
        if (p == NULL && cap > len) p = mem_try_realloc(old_p, (cap = len) + 1);
        if (p == NULL) return NULL;
        if (!raw) {
            char tmp[SOBJ_INT_BUF];
            size_t old;
            const char *src = sobj_str(o, tmp, &old);
            memcpy(p, src, old);
            o->encoding = ENC_RAW;
            o->s.len = old;
        }
        o->s.p = p;
        o->s.cap = cap;
    }
    if (len > o->s.len) {
        memset(o->s.p + o->s.len, 0, len - o->s.len);
        o->s.len = len;
        o->s.p[len] = '\0';
    }
    return o->s.p;
}

const char *sobj_type_name(const struct sobj *o)
{
    switch (o->type) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    case OBJ_STREAM: return "stream";
    }
    return "unknown";
}

const char *sobj_encoding_name(const struct sobj *o)
{
    switch (o->encoding) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_HT: return "hashtable";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_EMBSTR: return "embstr";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_STREAM: return "stream";
    case ENC_LISTPACK: return "listpack";
    }
    return "unknown";
}

size_t sobj_memory(const struct sobj *o)
{
    size_t n = sizeof *o;
    if (o->type == OBJ_STRING) {
        if (o->encoding == ENC_EMBSTR) n += o->s.len + 1;
        if (o->encoding == ENC_RAW) n += o->s.cap + 1;
        return n;
    }
    return n + sobj_type_of(o->type)->memory(o);
}
