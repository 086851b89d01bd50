/* cmds/list.h — the list pop and move logic, shared with the blocking
 * variants (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH), which wrap these
 * functions: when one returns false nothing was written and the blocking
 * command may block (or reply nil on timeout).
 *
 * Each function looks its keys up itself, changes the lists, deletes a key
 * whose list became empty, reports the change (store_touch) and writes the
 * whole reply, with Redis 7.0's shapes and error texts. */
#ifndef PARLEY_CMDS_LIST_H
#define PARLEY_CMDS_LIST_H

#include <stdbool.h>

#include "cmds/cmd.h"

/* How popped elements are replied. */
enum list_reply_shape {
    LIST_REPLY_ELEMENT,     /* LPOP key:         the element */
    LIST_REPLY_ARRAY,       /* LPOP key count:   [e1, e2, ...] (count 0: []) */
    LIST_REPLY_KEY_ELEMENT, /* BLPOP, BRPOP:     [key, element] */
    LIST_REPLY_KEY_ARRAY,   /* LMPOP, BLMPOP:    [key, [e1, e2, ...]] */
};

/* Pops one element (LIST_REPLY_ELEMENT, LIST_REPLY_KEY_ELEMENT) or up to
 * count >= 0 elements (the array shapes) from the head (left) or the tail
 * of the list at key, and replies in the given shape. Returns true when it
 * replied: elements were popped, or key holds another type (WRONGTYPE), or
 * count is 0 for LIST_REPLY_ARRAY (an empty array). Returns false, having
 * written nothing, when key does not exist. */
bool list_pop_reply(struct cmd_ctx *c, const struct resp_arg *key, bool left, long long count,
                    enum list_reply_shape shape);

/* LMOVE: pops an element from one end of src, pushes it at one end of dst
 * (created if missing; src and dst may be the same list, which rotates it)
 * and replies the element. Returns true when it replied: the element moved,
 * or src or dst holds another type (WRONGTYPE). Returns false, having
 * written nothing, when src does not exist. */
bool list_move_reply(struct cmd_ctx *c, const struct resp_arg *src, const struct resp_arg *dst,
                     bool from_left, bool to_left);

/* LMPOP's pop: the first of keys[0..numkeys) holding a list is popped
 * (list_pop_reply with LIST_REPLY_KEY_ARRAY). Returns true when it replied
 * (popped, or WRONGTYPE on a key met before any list); false, having
 * written nothing, when none of the keys exists. */
bool list_mpop_reply(struct cmd_ctx *c, const struct resp_arg *keys, long long numkeys, bool left,
                     long long count);

/* LEFT or RIGHT (case-insensitive) into *left; otherwise replies a syntax
 * error and returns false. */
bool list_parse_where(struct cmd_ctx *c, const struct resp_arg *a, bool *left);

/* Parses "numkeys key [key ...] LEFT|RIGHT [COUNT count]" starting at
 * argv[numkeys_idx] (1 for LMPOP, 2 for BLMPOP), with Redis's errors. On
 * success the keys are argv[numkeys_idx + 1 ..], *count is 1 without COUNT. */
bool list_parse_mpop(struct cmd_ctx *c, int numkeys_idx, long long *numkeys, bool *left,
                     long long *count);

#endif
