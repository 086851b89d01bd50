/* base/arena.h — a deterministic, capped allocator for one short-lived
 * heap at a time (the Lua state of one script run).
 *
 * Given the same sequence of requests, an arena hands out the same
 * addresses relative to its base, and its base is aligned to 4 GiB. Code
 * that looks at the low 32 bits of a pointer (Lua hashes tables, functions
 * and userdata by them; tostring shows them) therefore sees the same values
 * in every process: a script that iterates a table keyed by tables visits
 * the keys in the same order on every replica.
 *
 * Requests are rounded up to size classes; freed blocks go to a free list
 * of their class, and new ones are carved from the reserved region in
 * order. Everything is forgotten at once by arena_reset (no per-block
 * frees needed). Growth beyond `limit_bytes` of live blocks, or beyond the
 * reserved region, fails with NULL; freeing and shrinking never fail.
 * Sizes are passed back by the caller on free and realloc (as Lua does),
 * so blocks carry no headers. */
#ifndef PARLEY_BASE_ARENA_H
#define PARLEY_BASE_ARENA_H

#include <stddef.h>

struct arena;

/* Reserves address space for about 4 x limit_bytes (pages are committed
 * only when touched). Returns NULL if the address space is not available. */
struct arena *arena_new(size_t limit_bytes);
void arena_destroy(struct arena *a);

/* lua_Alloc semantics: ptr NULL allocates, new_size 0 frees (returns
 * NULL), otherwise resizes, keeping the first min(old, new) bytes. Returns
 * NULL only when growing fails; the old block is then untouched. */
void *arena_realloc(struct arena *a, void *ptr, size_t old_size, size_t new_size);

/* Forgets every block. Pages beyond keep_bytes of the region that were
 * touched are given back to the kernel. */
void arena_reset(struct arena *a, size_t keep_bytes);

/* A copy of everything an arena holds, to put back later: what was
 * allocated when it was taken is again exactly as it was then, at the
 * same addresses, and everything allocated since is forgotten. */
struct arena_image;
struct arena_image *arena_save(const struct arena *a);
void arena_restore(struct arena *a, const struct arena_image *image);
void arena_image_free(struct arena_image *image);

/* Changes the cap on live bytes, at most the limit it was made with. */
void arena_set_limit(struct arena *a, size_t limit_bytes);

/* Bytes in live blocks (class sizes), and the size of the largest. */
size_t arena_live_bytes(const struct arena *a);
size_t arena_largest_live(const struct arena *a);
size_t arena_limit(const struct arena *a);

#endif
