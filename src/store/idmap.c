/* store/idmap.c — see idmap.h. */
#include "store/idmap.h"

#include <assert.h>
#include <stdlib.h>

#include "base/mem.h"

static struct idmap_node *node_new(int level, const struct stream_id *id, void *val)
{
    struct idmap_node *n = xcalloc(1, sizeof *n + (size_t)level * sizeof(struct idmap_node *));
    n->level = level;
    if (id) n->id = *id;
    n->val = val;
    return n;
}

void idmap_init(struct idmap *m)
{
    m->head = node_new(IDMAP_MAX_LEVEL, NULL, NULL);
    m->tail = NULL;
    m->level = 1;
    m->size = 0;
    m->rng = 0x9e3779b97f4a7c15ull;
}

void idmap_clear(struct idmap *m, void (*free_val)(void *))
{
    struct idmap_node *n = m->head->next[0];
    while (n) {
        struct idmap_node *next = n->next[0];
        if (free_val) free_val(n->val);
        free(n);
        n = next;
    }
    for (int i = 0; i < IDMAP_MAX_LEVEL; i++) m->head->next[i] = NULL;
    m->tail = NULL;
    m->level = 1;
    m->size = 0;
}

/* One in four nodes goes a level up, as Redis's skiplists. */
static int random_level(struct idmap *m)
{
    int level = 1;
    for (;;) {
        m->rng ^= m->rng << 13;
        m->rng ^= m->rng >> 7;
        m->rng ^= m->rng << 17;
        if ((m->rng & 3) != 0 || level == IDMAP_MAX_LEVEL) return level;
        level++;
    }
}

/* Fills update[] with, per level, the last node whose ID is < id. */
static struct idmap_node *find_before(const struct idmap *m, const struct stream_id *id,
                                      struct idmap_node **update)
{
    struct idmap_node *x = m->head;
    for (int i = m->level - 1; i >= 0; i--) {
        while (x->next[i] && stream_id_cmp(&x->next[i]->id, id) < 0) x = x->next[i];
        if (update) update[i] = x;
    }
    return x;
}

struct idmap_node *idmap_seek(const struct idmap *m, const struct stream_id *id)
{
    return find_before(m, id, NULL)->next[0];
}

void *idmap_get(const struct idmap *m, const struct stream_id *id)
{
    struct idmap_node *n = idmap_seek(m, id);
    return n && stream_id_cmp(&n->id, id) == 0 ? n->val : NULL;
}

bool idmap_insert(struct idmap *m, const struct stream_id *id, void *val)
{
    struct idmap_node *update[IDMAP_MAX_LEVEL];
    struct idmap_node *x = find_before(m, id, update);
    if (x->next[0] && stream_id_cmp(&x->next[0]->id, id) == 0) return false;
    int level = random_level(m);
    if (level > m->level) {
        for (int i = m->level; i < level; i++) update[i] = m->head;
        m->level = level;
    }
    struct idmap_node *n = node_new(level, id, val);
    for (int i = 0; i < level; i++) {
        n->next[i] = update[i]->next[i];
        update[i]->next[i] = n;
    }
    n->prev = update[0] == m->head ? NULL : update[0];
    if (n->next[0]) n->next[0]->prev = n;
    else m->tail = n;
    m->size++;
    return true;
}

void *idmap_remove(struct idmap *m, const struct stream_id *id)
{
    struct idmap_node *update[IDMAP_MAX_LEVEL];
    struct idmap_node *x = find_before(m, id, update)->next[0];
    if (x == NULL || stream_id_cmp(&x->id, id) != 0) return NULL;
    for (int i = 0; i < m->level; i++) {
        if (update[i]->next[i] != x) break;
        update[i]->next[i] = x->next[i];
    }
    if (x->next[0]) x->next[0]->prev = x->prev;
    else m->tail = x->prev;
    while (m->level > 1 && m->head->next[m->level - 1] == NULL) m->level--;
    m->size--;
    void *val = x->val;
    free(x);
    assert(m->size > 0 || m->tail == NULL);
    return val;
}

size_t idmap_memory(const struct idmap *m)
{
    /* Average level 4/3: a node and its links. */
    return (sizeof(struct idmap_node) + 2 * sizeof(void *)) * m->size +
           sizeof(struct idmap_node) + IDMAP_MAX_LEVEL * sizeof(void *);
}
