/* store/list.h — the list type (OBJ_LIST): a quicklist in a struct sobj.
 *
 * Lists have one encoding, ENC_QUICKLIST, as in Redis 7.0 (which reports
 * "quicklist" even for a one-element list). This file gives the keyspace
 * what it needs to free, copy, digest and snapshot lists (list_type_ops,
 * registered in object.c); the commands are in cmds/t_list.c. */
#ifndef PARLEY_STORE_LIST_H
#define PARLEY_STORE_LIST_H

#include "store/object.h"
#include "store/quicklist.h"

extern const struct sobj_ops list_type_ops;

/* A new, empty list object (the caller stores it only once it has
 * elements: Redis never keeps empty lists). */
struct sobj *list_new(void);

static inline struct quicklist *list_ql(const struct sobj *o)
{
    return o->ptr;
}

#endif
