/* base/arena.c — see arena.h.
 *
 * Size classes: multiples of 16 bytes up to 512, then four classes per
 * power of two (2^k + j * 2^(k-2), j = 1..4). A block's class is computed
 * from the size its caller passes back, so a block must be freed with a
 * size of the same class it was allocated with; shrinking in place keeps
 * that true by never moving a block and recording the smaller class (the
 * block is then larger than its class, which is harmless). */
#include "base/arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/mem.h"

#define ALIGN_BYTES (1ull << 32)
#define SMALL_MAX 512
#define N_SMALL (SMALL_MAX / 16)
#define N_CLASSES (N_SMALL + 4 * 48)

struct arena {
    char *map;          /* what mmap returned */
    size_t map_len;
    char *base;         /* 4 GiB aligned */
    size_t reserve;     /* usable bytes from base */
    size_t limit;       /* cap on live bytes */
    size_t max_limit;   /* the limit it was made with */
    size_t bump;        /* offset of the first byte never handed out */
    size_t touched;     /* highest bump since the last reset that gave pages back */
    size_t live;
    int top;            /* highest class with live blocks, -1 if none */
    void *free_list[N_CLASSES];
    size_t count[N_CLASSES];
};

static int class_of(size_t n)
{
    if (n <= SMALL_MAX) return (int)((n + 15) / 16) - 1;
    int k = 63 - __builtin_clzll((unsigned long long)(n - 1)); /* n in (2^k, 2^(k+1)] */
    size_t step = (size_t)1 << (k - 2);
    size_t j = (n - ((size_t)1 << k) + step - 1) / step; /* 1..4 */
    return N_SMALL + (k - 9) * 4 + (int)j - 1;
}

static size_t class_size(int c)
{
    if (c < N_SMALL) return (size_t)(c + 1) * 16;
    int k = (c - N_SMALL) / 4 + 9;
    size_t j = (size_t)((c - N_SMALL) % 4) + 1;
    return ((size_t)1 << k) + j * ((size_t)1 << (k - 2));
}

struct arena *arena_new(size_t limit_bytes)
{
    assert(limit_bytes > 0 && limit_bytes < (1ull << 40));
    struct arena *a = xcalloc(1, sizeof *a);
    a->limit = a->max_limit = limit_bytes;
    a->reserve = 4 * limit_bytes + (64u << 20);
    a->map_len = a->reserve + ALIGN_BYTES;
    void *m = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        free(a);
        return NULL;
    }
    a->map = m;
    uintptr_t aligned = ((uintptr_t)m + ALIGN_BYTES - 1) & ~(uintptr_t)(ALIGN_BYTES - 1);
    a->base = (char *)aligned;
    /* The slack before and after the aligned region is never used. */
    size_t head = (size_t)(aligned - (uintptr_t)m);
    if (head) munmap(a->map, head);
    size_t tail = a->map_len - head - a->reserve;
    if (tail) munmap(a->base + a->reserve, tail);
    a->map = a->base;
    a->map_len = a->reserve;
    a->top = -1;
    return a;
}

void arena_destroy(struct arena *a)
{
    if (a == NULL) return;
    munmap(a->map, a->map_len);
    free(a);
}

static void *alloc_block(struct arena *a, int c)
{
    size_t size = class_size(c);
    if (a->live + size > a->limit) return NULL;
    void *p = a->free_list[c];
    if (p) {
        memcpy(&a->free_list[c], p, sizeof(void *));
    } else {
        if (size > a->reserve - a->bump) return NULL;
        p = a->base + a->bump;
        a->bump += size;
        if (a->bump > a->touched) a->touched = a->bump;
    }
    a->live += size;
    a->count[c]++;
    if (c > a->top) a->top = c;
    return p;
}

static void release_block(struct arena *a, void *p, int c)
{
    assert(a->count[c] > 0 && a->live >= class_size(c));
    memcpy(p, &a->free_list[c], sizeof(void *));
    a->free_list[c] = p;
    a->live -= class_size(c);
    a->count[c]--;
    while (a->top >= 0 && a->count[a->top] == 0) a->top--;
}

void *arena_realloc(struct arena *a, void *ptr, size_t old_size, size_t new_size)
{
    if (ptr == NULL) return new_size ? alloc_block(a, class_of(new_size)) : NULL;
    assert((char *)ptr >= a->base && (char *)ptr < a->base + a->bump);
    int old_class = class_of(old_size ? old_size : 1);
    if (new_size == 0) {
        release_block(a, ptr, old_class);
        return NULL;
    }
    int new_class = class_of(new_size);
    if (new_class == old_class) return ptr;
    if (new_class < old_class) {
        /* Shrink in place: account the block under its new, smaller class. */
        a->live -= class_size(old_class) - class_size(new_class);
        a->count[old_class]--;
        a->count[new_class]++;
        while (a->top >= 0 && a->count[a->top] == 0) a->top--;
        return ptr;
    }
    void *p = alloc_block(a, new_class);
    if (p == NULL) return NULL;
    memcpy(p, ptr, old_size);
    release_block(a, ptr, old_class);
    return p;
}

void arena_reset(struct arena *a, size_t keep_bytes)
{
    memset(a->free_list, 0, sizeof a->free_list);
    memset(a->count, 0, sizeof a->count);
    a->bump = 0;
    a->live = 0;
    a->top = -1;
    if (a->touched > keep_bytes) {
        size_t from = (keep_bytes + 4095) & ~(size_t)4095;
        if (a->touched > from) madvise(a->base + from, a->touched - from, MADV_DONTNEED);
        a->touched = keep_bytes;
    }
}

struct arena_image {
    struct arena meta;
    char bytes[];
};

struct arena_image *arena_save(const struct arena *a)
{
    struct arena_image *image = xmalloc(sizeof *image + a->bump);
    image->meta = *a;
    memcpy(image->bytes, a->base, a->bump);
    return image;
}

void arena_restore(struct arena *a, const struct arena_image *image)
{
    assert(image->meta.base == a->base);
    size_t touched = a->touched;
    *a = image->meta;
    a->touched = touched > a->bump ? touched : a->bump;
    memcpy(a->base, image->bytes, a->bump);
}

void arena_image_free(struct arena_image *image)
{
    free(image);
}

void arena_set_limit(struct arena *a, size_t limit_bytes)
{
    assert(limit_bytes <= a->max_limit);
    a->limit = limit_bytes;
}

size_t arena_live_bytes(const struct arena *a)
{
    return a->live;
}

size_t arena_largest_live(const struct arena *a)
{
    return a->top < 0 ? 0 : class_size(a->top);
}

size_t arena_limit(const struct arena *a)
{
    return a->limit;
}
