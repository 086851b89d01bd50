/* store/scripts.c — see scripts.h. */
#include "store/scripts.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

static void free_body(struct dict_entry *e)
{
    free(e->v.ptr);
    e->v.ptr = NULL;
}

static uint64_t versions; /* process-wide, so a restored store never looks current */

void scripts_init(struct scripts *s)
{
    dict_init(&s->by_sha, free_body);
    dict_init(&s->libraries, free_body);
    s->version = ++versions;
}

void scripts_clear(struct scripts *s)
{
    dict_clear(&s->by_sha);
    dict_clear(&s->libraries);
    s->version = ++versions;
}

void scripts_set_library(struct scripts *s, const char *name, size_t nlen, const char *code,
                         size_t clen)
{
    bool created;
    struct dict_entry *e = dict_upsert(&s->libraries, name, nlen, &created);
    free(e->v.ptr);
    struct script_body *b = xmalloc(sizeof *b + clen + 1);
    b->len = clen;
    memcpy(b->text, code, clen);
    b->text[clen] = '\0';
    e->v.ptr = b;
    s->version = ++versions;
}

bool scripts_delete_library(struct scripts *s, const char *name, size_t nlen)
{
    bool deleted = dict_delete(&s->libraries, name, nlen);
    if (deleted) s->version = ++versions;
    return deleted;
}

void scripts_clear_libraries(struct scripts *s)
{
    dict_clear(&s->libraries);
    s->version = ++versions;
}

const struct script_body *scripts_find(struct scripts *s, const char sha[40])
{
    struct dict_entry *e = dict_find(&s->by_sha, sha, 40);
    return e ? e->v.ptr : NULL;
}

const struct script_body *scripts_add(struct scripts *s, const char sha[40], const char *text,
                                      size_t len)
{
    bool created;
    struct dict_entry *e = dict_upsert(&s->by_sha, sha, 40, &created);
    if (created) {
        struct script_body *b = xmalloc(sizeof *b + len + 1);
        b->len = len;
        memcpy(b->text, text, len);
        b->text[len] = '\0';
        e->v.ptr = b;
    }
    return e->v.ptr;
}

void scripts_encode(struct scripts *s, struct buf *out)
{
    buf_append_u64(out, dict_size(&s->libraries));
    struct dict_iter li;
    dict_iter_init(&li, &s->libraries);
    struct dict_entry *le;
    while ((le = dict_iter_next(&li)) != NULL) {
        const struct script_body *b = le->v.ptr;
        buf_append_u32(out, le->klen);
        buf_append(out, le->key, le->klen);
        buf_append_u64(out, b->len);
        buf_append(out, b->text, b->len);
    }
    buf_append_u64(out, dict_size(&s->by_sha));
    struct dict_iter it;
    dict_iter_init(&it, &s->by_sha);
    struct dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        const struct script_body *b = e->v.ptr;
        buf_append(out, e->key, 40);
        buf_append_u64(out, b->len);
        buf_append(out, b->text, b->len);
    }
}

int scripts_decode(struct scripts *s, struct reader *r)
{
    scripts_clear(s);
    uint64_t n;
    if (reader_u64(r, &n)) return -1;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t nlen;
        uint64_t clen;
        const char *name, *code;
        if (reader_u32(r, &nlen) || reader_bytes(r, nlen, &name) || reader_u64(r, &clen) ||
            clen > reader_left(r) || reader_bytes(r, (size_t)clen, &code))
            return -1;
        scripts_set_library(s, name, nlen, code, (size_t)clen);
    }
    if (reader_u64(r, &n)) return -1;
    for (uint64_t i = 0; i < n; i++) {
        const char *sha, *text;
        uint64_t len;
        if (reader_bytes(r, 40, &sha) || reader_u64(r, &len) || len > reader_left(r) ||
            reader_bytes(r, (size_t)len, &text))
            return -1;
        scripts_add(s, sha, text, (size_t)len);
    }
    return 0;
}
