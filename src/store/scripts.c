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

void scripts_init(struct scripts *s) { dict_init(&s->by_sha, free_body); }
void scripts_clear(struct scripts *s) { dict_clear(&s->by_sha); }

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
        const char *sha, *text;
        uint64_t len;
        if (reader_bytes(r, 40, &sha) || reader_u64(r, &len) || len > reader_left(r) ||
            reader_bytes(r, (size_t)len, &text))
            return -1;
        scripts_add(s, sha, text, (size_t)len);
    }
    return 0;
}
