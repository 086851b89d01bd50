/* base/hash.h — hashing and checksums, from Debian's libxxhash and zlib.
 *
 * hash_bytes is the keyspace's hash: seeded per process (hash_seed_init) so
 * that a client cannot choose keys that collide. Nothing replicated depends
 * on its value. checksum_crc32 guards snapshots and other bytes on disk. */
#ifndef PARLEY_BASE_HASH_H
#define PARLEY_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

void hash_seed_init(uint64_t seed);
uint64_t hash_bytes(const void *p, size_t len);
/* A 128-bit digest with the same seed: equal digests mean equal bytes
 * (for memos keyed by content). */
void hash_bytes_128(const void *p, size_t len, uint64_t out[2]);
/* Unseeded: the same on every node and every run (state digests). */
uint64_t hash_bytes_fixed(const void *p, size_t len, uint64_t seed);
uint32_t checksum_crc32(uint32_t crc, const void *p, size_t len);

#endif
