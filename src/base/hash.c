/* base/hash.c — see hash.h. */
#include "base/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zlib.h>

static uint64_t seed = 0x9e3779b97f4a7c15ull;

void hash_seed_init(uint64_t s) { seed = s; }

uint64_t hash_bytes(const void *p, size_t len)
{
    return XXH3_64bits_withSeed(p, len, seed);
}

void hash_bytes_128(const void *p, size_t len, uint64_t out[2])
{
    XXH128_hash_t h = XXH3_128bits_withSeed(p, len, seed);
    out[0] = h.low64;
    out[1] = h.high64;
}

uint64_t hash_bytes_fixed(const void *p, size_t len, uint64_t s)
{
    return XXH3_64bits_withSeed(p, len, s);
}

uint32_t checksum_crc32(uint32_t crc, const void *p, size_t len)
{
    const unsigned char *bytes = p;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, bytes, chunk);
        bytes += chunk;
        len -= chunk;
    }
    return crc;
}
