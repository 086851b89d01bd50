/* store/quicklist.c — see quicklist.h. */
#include "store/quicklist.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/encoding.h"

/* Redis's SIZE_ESTIMATE_OVERHEAD: what an entry adds beyond its bytes. */
#define ENTRY_OVERHEAD 8

/* --- nodes --------------------------------------------------------- */

static struct ql_node *node_new(unsigned char *lp)
{
    struct ql_node *n = xmalloc(sizeof *n);
    n->prev = n->next = NULL;
    n->lp = lp;
    return n;
}

static uint32_t node_count(const struct ql_node *n) { return lp_count(n->lp); }

/* Whether a node of `bytes` (estimated) holding `count` elements is within
 * list-max-listpack-size (store/encoding.h), by Redis 7.0's rule: a
 * negative fill -1..-5 (below -5 counts as -5) bounds the node's bytes at
 * 4, 8, 16, 32 or 64 KB; a positive one bounds its elements, and the
 * bytes at 8 KB (Redis's SIZE_SAFETY_LIMIT); 0 allows one element. */
static bool node_within_fill(size_t bytes, size_t count)
{
    long long fill = store_enc()->list_max_listpack_size;
    if (fill < 0) {
        long long level = fill < -5 ? 5 : -fill;
        return bytes <= ((size_t)4096 << (level - 1));
    }
    if (fill > 32767) fill = 32767; /* Redis's FILL_MAX */
    return bytes <= QL_NODE_MAX_BYTES && (long long)count <= fill;
}

/* Whether an element of len bytes may join the node (Redis's
 * _quicklistNodeAllowInsert: the size estimate must stay within the fill). */
static bool node_allows(const struct ql_node *n, size_t len)
{
    if (n == NULL || len > QL_MAX_ELEMENT) return false;
    return node_within_fill(lp_bytes(n->lp) + len + ENTRY_OVERHEAD, (size_t)node_count(n) + 1);
}

/* Links n after `after` (NULL: at the head). */
static void link_after(struct quicklist *ql, struct ql_node *after, struct ql_node *n)
{
    n->prev = after;
    n->next = after ? after->next : ql->head;
    if (n->next) n->next->prev = n;
    else ql->tail = n;
    if (after) after->next = n;
    else ql->head = n;
    ql->nodes++;
}

static void unlink_free(struct quicklist *ql, struct ql_node *n)
{
    if (n->prev) n->prev->next = n->next;
    else ql->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else ql->tail = n->prev;
    ql->nodes--;
    lp_free(n->lp);
    free(n);
}

static struct ql_node *node_with(const char *s, size_t len)
{
    assert(len <= QL_MAX_ELEMENT);
    return node_new(lp_append(lp_new(), s, len));
}

/* --- the list ------------------------------------------------------ */

struct quicklist *ql_new(void)
{
    return xcalloc(1, sizeof(struct quicklist));
}

void ql_free(struct quicklist *ql)
{
    if (ql == NULL) return;
    struct ql_node *n = ql->head;
    while (n) {
        struct ql_node *next = n->next;
        lp_free(n->lp);
        free(n);
        n = next;
    }
    free(ql);
}

struct quicklist *ql_dup(const struct quicklist *ql)
{
    struct quicklist *copy = ql_new();
    for (const struct ql_node *n = ql->head; n; n = n->next)
        link_after(copy, copy->tail, node_new(xmemdup(n->lp, lp_bytes(n->lp))));
    copy->count = ql->count;
    return copy;
}

size_t ql_memory(const struct quicklist *ql)
{
    size_t total = sizeof *ql;
    for (const struct ql_node *n = ql->head; n; n = n->next)
        total += sizeof *n + lp_bytes(n->lp);
    return total;
}

void ql_push(struct quicklist *ql, bool head, const char *s, size_t len)
{
    assert(len <= QL_MAX_ELEMENT);
    struct ql_node *end = head ? ql->head : ql->tail;
    if (node_allows(end, len)) {
        end->lp = head ? lp_prepend(end->lp, s, len) : lp_append(end->lp, s, len);
    } else {
        link_after(ql, head ? NULL : ql->tail, node_with(s, len));
    }
    ql->count++;
}

void ql_peek(const struct quicklist *ql, bool head, struct lp_value *v)
{
    assert(ql->count > 0);
    const struct ql_node *n = head ? ql->head : ql->tail;
    lp_get(n->lp, head ? lp_first(n->lp) : lp_last(n->lp), v);
}

/* Deletes the element at pos of node n; returns the position of the
 * element after it in n (0 if none). Frees n if it became empty. */
static size_t delete_at(struct quicklist *ql, struct ql_node *n, size_t pos)
{
    size_t next;
    n->lp = lp_delete(n->lp, pos, 1, &next);
    ql->count--;
    if (node_count(n) == 0) {
        unlink_free(ql, n);
        return 0;
    }
    return next;
}

void ql_pop(struct quicklist *ql, bool head)
{
    assert(ql->count > 0);
    struct ql_node *n = head ? ql->head : ql->tail;
    delete_at(ql, n, head ? lp_first(n->lp) : lp_last(n->lp));
}

/* --- positions ----------------------------------------------------- */

/* The node holding element index (0 <= index < count) and the index
 * within it, walking from the nearer end. */
static struct ql_node *locate(const struct quicklist *ql, size_t index, size_t *in_node)
{
    assert(index < ql->count);
    struct ql_node *n;
    if (index < ql->count / 2) {
        n = ql->head;
        while (index >= node_count(n)) {
            index -= node_count(n);
            n = n->next;
        }
    } else {
        size_t from_tail = ql->count - 1 - index;
        n = ql->tail;
        while (from_tail >= node_count(n)) {
            from_tail -= node_count(n);
            n = n->prev;
        }
        index = node_count(n) - 1 - from_tail;
    }
    *in_node = index;
    return n;
}

/* A Redis index (negative from the tail) as an offset from the head. */
static bool normalize(const struct quicklist *ql, long long index, size_t *out)
{
    if (index < 0) {
        /* -index cannot overflow once index >= -count is known. */
        if ((unsigned long long)-(index + 1) >= ql->count) return false;
        *out = ql->count - 1 - (size_t)-(index + 1);
        return true;
    }
    if ((unsigned long long)index >= ql->count) return false;
    *out = (size_t)index;
    return true;
}

bool ql_iter_at(struct quicklist *ql, long long index, bool forward, struct ql_iter *it)
{
    it->ql = ql;
    it->forward = forward;
    it->node = NULL;
    it->pos = 0;
    size_t i, in_node;
    if (!normalize(ql, index, &i)) return false;
    it->node = locate(ql, i, &in_node);
    it->pos = lp_seek(it->node->lp, (long long)in_node);
    return true;
}

void ql_iter_get(const struct ql_iter *it, struct lp_value *v)
{
    assert(it->node);
    lp_get(it->node->lp, it->pos, v);
}

bool ql_iter_eq(const struct ql_iter *it, const char *s, size_t len)
{
    assert(it->node);
    return lp_eq(it->node->lp, it->pos, s, len);
}

/* Moves it to the first element of node n in its direction. */
static void enter(struct ql_iter *it, struct ql_node *n)
{
    it->node = n;
    it->pos = n == NULL ? 0 : it->forward ? lp_first(n->lp) : lp_last(n->lp);
}

void ql_iter_next(struct ql_iter *it)
{
    assert(it->node);
    struct ql_node *n = it->node;
    size_t pos = it->forward ? lp_next(n->lp, it->pos) : lp_prev(n->lp, it->pos);
    if (pos) it->pos = pos;
    else enter(it, it->forward ? n->next : n->prev);
}

void ql_iter_delete(struct ql_iter *it)
{
    assert(it->node);
    struct ql_node *n = it->node, *prev = n->prev, *next = n->next;
    /* Offsets before the deleted element do not move. */
    size_t before = lp_prev(n->lp, it->pos);
    bool emptied = node_count(n) == 1;
    size_t after = delete_at(it->ql, n, it->pos);
    size_t pos = it->forward ? after : before;
    if (!emptied && pos) it->pos = pos;
    else enter(it, it->forward ? next : prev);
}

/* Moves the elements of n from pos on into a new node linked after n. */
static struct ql_node *split(struct quicklist *ql, struct ql_node *n, size_t pos)
{
    unsigned char *tail = lp_new();
    uint32_t moved = 0;
    char tmp[24];
    for (size_t p = pos; p; p = lp_next(n->lp, p), moved++) {
        size_t len;
        const char *s = lp_get_str(n->lp, p, tmp, &len);
        tail = lp_append(tail, s, len);
    }
    n->lp = lp_delete(n->lp, pos, moved, NULL);
    struct ql_node *t = node_new(tail);
    link_after(ql, n, t);
    return t;
}

/* Joins a's successor into a when together they fit in one node, as
 * Redis merges the neighbours of a node it split. */
static void try_merge(struct quicklist *ql, struct ql_node *a)
{
    if (a == NULL || a->next == NULL) return;
    struct ql_node *b = a->next;
    if (!node_within_fill(lp_bytes(a->lp) + lp_bytes(b->lp) - LP_HEADER,
                          (size_t)node_count(a) + node_count(b)))
        return;
    char tmp[24];
    for (size_t p = lp_first(b->lp); p; p = lp_next(b->lp, p)) {
        size_t len;
        const char *s = lp_get_str(b->lp, p, tmp, &len);
        a->lp = lp_append(a->lp, s, len);
    }
    unlink_free(ql, b);
}

/* Inserts s into node n before the element at pos, or at its end if pos
 * is 0, keeping nodes within their size limit. */
static void insert_in_node(struct quicklist *ql, struct ql_node *n, size_t pos, const char *s,
                           size_t len)
{
    assert(len <= QL_MAX_ELEMENT);
    ql->count++;
    if (node_allows(n, len)) {
        n->lp = lp_insert(n->lp, pos, s, len, NULL);
        return;
    }
    if (pos == 0) { /* after n's last element */
        if (node_allows(n->next, len)) n->next->lp = lp_prepend(n->next->lp, s, len);
        else link_after(ql, n, node_with(s, len));
        return;
    }
    if (pos == lp_first(n->lp)) { /* before n's first element */
        if (node_allows(n->prev, len)) n->prev->lp = lp_append(n->prev->lp, s, len);
        else link_after(ql, n->prev, node_with(s, len));
        return;
    }
    /* In the middle of a full node: split it there, and put s at the end
     * of the first half, the start of the second, or between them. */
    struct ql_node *second = split(ql, n, pos);
    if (node_allows(n, len)) n->lp = lp_append(n->lp, s, len);
    else if (node_allows(second, len)) second->lp = lp_prepend(second->lp, s, len);
    else link_after(ql, n, node_with(s, len));
    /* The halves may fit with their outer neighbours (n last: it may go). */
    try_merge(ql, second);
    try_merge(ql, n->prev);
}

void ql_iter_insert(struct ql_iter *it, bool after, const char *s, size_t len)
{
    assert(it->node);
    size_t pos = after ? lp_next(it->node->lp, it->pos) : it->pos;
    insert_in_node(it->ql, it->node, pos, s, len);
    it->node = NULL;
}

bool ql_index(struct quicklist *ql, long long index, struct lp_value *v)
{
    struct ql_iter it;
    if (!ql_iter_at(ql, index, true, &it)) return false;
    ql_iter_get(&it, v);
    return true;
}

bool ql_replace(struct quicklist *ql, long long index, const char *s, size_t len)
{
    assert(len <= QL_MAX_ELEMENT);
    struct ql_iter it;
    if (!ql_iter_at(ql, index, true, &it)) return false;
    struct ql_node *n = it.node;
    size_t next = lp_next(n->lp, it.pos);
    size_t old = (next ? next : lp_bytes(n->lp)) - it.pos;
    if (node_count(n) == 1 ||
        node_within_fill(lp_bytes(n->lp) - old + len + ENTRY_OVERHEAD, node_count(n))) {
        n->lp = lp_replace(n->lp, it.pos, s, len);
        return true;
    }
    /* The new value does not fit: delete the old one and insert the new
     * one in its place, which splits the node if need be. */
    size_t at = delete_at(ql, n, it.pos); /* n keeps other elements */
    insert_in_node(ql, n, at, s, len);
    return true;
}

void ql_delete_range(struct quicklist *ql, size_t start, size_t n)
{
    assert(start <= ql->count && n <= ql->count - start);
    if (n == 0) return;
    size_t in_node;
    struct ql_node *node = locate(ql, start, &in_node);
    while (n > 0) {
        struct ql_node *next = node->next;
        size_t here = node_count(node) - in_node;
        if (here > n) here = n;
        if (here == node_count(node)) {
            unlink_free(ql, node);
        } else {
            node->lp = lp_delete(node->lp, lp_seek(node->lp, (long long)in_node), (uint32_t)here, NULL);
        }
        ql->count -= here;
        n -= here;
        node = next;
        in_node = 0;
    }
}
