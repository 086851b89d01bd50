/* tests/fuzz/fuzz_snapshot.c — libFuzzer target: the snapshot loader
 * (src/store/snapshot.c store_snapshot_decode and the types' decoders).
 *
 * Input: u8 mode, then a snapshot. Mode bit 0 set: the last 4 bytes are
 * replaced by the right CRC-32 of the rest, so the fuzzer reaches the
 * structure behind the checksum (the seeds, written by seeds.c, are valid
 * snapshots of keyspaces holding every type and encoding, streams with
 * consumer groups, subscriptions, WATCH sessions and a script cache). The
 * bytes are an exact-size heap copy, so ASan sees any read past them, and
 * libFuzzer's -malloc_limit_mb (tests/fuzz/run.sh) catches a length field
 * trusted before it was checked against the bytes left.
 *
 * Checked: a refused snapshot says why; an accepted one is a usable store:
 * it encodes, decodes again to the same digest and encodes to as many bytes
 * (the same bytes where the snapshot is canonical, fuzz.h), and every key
 * survives a battery of reads and writes for its type (replies well-formed
 * RESP), after which the round trip holds again.
 * Decoding must not accept what the commands cannot work with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"
#include "fuzz.h"
#include "store/snapshot.h"

#define KEYS_MAX 32
#define NOW_MS 1700000000500ll

/* The commands run on a key of each type; "K" stands for the key. */
static const char *const common_battery[] = {
    "TYPE K", "OBJECT ENCODING K", "PTTL K", "DEBUG DIGEST", "COPY K K~copy", NULL};
static const char *const string_battery[] = {
    "GET K", "STRLEN K", "GETRANGE K 0 -1", "APPEND K x", "INCR K", "SETRANGE K 3 y", NULL};
static const char *const list_battery[] = {
    "LLEN K", "LRANGE K 0 -1", "LINDEX K 1", "LPOS K a", "LINSERT K BEFORE a b", "LPUSH K x",
    "RPOP K", "LREM K 0 x", "LSET K 0 z", "LTRIM K 1 -2", "LMOVE K K LEFT RIGHT", NULL};
static const char *const hash_battery[] = {
    "HLEN K", "HGETALL K", "HGET K f0", "HRANDFIELD K -5 WITHVALUES", "HSCAN K 0 COUNT 3",
    "HSET K f0 v", "HINCRBY K n 1", "HDEL K a", "HKEYS K", NULL};
static const char *const set_battery[] = {
    "SCARD K", "SMEMBERS K", "SISMEMBER K 1", "SRANDMEMBER K -3", "SSCAN K 0", "SINTER K K",
    "SADD K 5 x", "SREM K 1", "SPOP K", "SMEMBERS K", NULL};
static const char *const zset_battery[] = {
    "ZCARD K", "ZRANGE K 0 -1 WITHSCORES", "ZRANGEBYSCORE K -inf +inf", "ZRANGEBYLEX K - +",
    "ZRANK K a", "ZSCORE K a", "ZSCAN K 0", "ZRANDMEMBER K -3", "ZADD K 1 x", "ZINCRBY K 2 a",
    "ZREM K m1", "ZPOPMIN K", "ZREVRANGE K 0 -1 WITHSCORES", "ZCOUNT K 0 10", NULL};
static const char *const stream_battery[] = {
    "XLEN K", "XRANGE K - +", "XREVRANGE K + - COUNT 3", "XINFO STREAM K FULL", "XINFO GROUPS K",
    "XINFO CONSUMERS K g0", "XPENDING K g0", "XPENDING K g0 - + 10", "XREAD STREAMS K 0",
    "XREADGROUP GROUP g0 c0 STREAMS K >", "XREADGROUP GROUP g0 c0 STREAMS K 0",
    "XAUTOCLAIM K g0 c1 0 0-0", "XCLAIM K g0 c1 0 0-1", "XACK K g0 0-1", "XADD K * f v",
    "XTRIM K MAXLEN 2", "XDEL K 0-1", "XGROUP SETID K g0 $", "XGROUP DELCONSUMER K g0 c0",
    "XINFO STREAM K", NULL};
static const char *const db_battery[] = {
    "DBSIZE", "KEYS *", "SCAN 0 COUNT 5", "RANDOMKEY", "PUBSUB CHANNELS", "PUBSUB NUMPAT",
    "PUBSUB SHARDCHANNELS", "__exec 1 1 0 0", NULL};

static void round_trip(struct store *s)
{
    struct buf once = BUF_INIT;
    store_snapshot_encode(s, "aux", 3, &once);
    char err[160] = "";
    const char *aux;
    size_t aux_len;
    struct store *d = store_snapshot_decode(once.data, once.len, &aux, &aux_len, err, sizeof err);
    FUZZ_CHECK(d != NULL, "an accepted snapshot, encoded again, is refused: %s", err);
    FUZZ_CHECK(store_digest(d) == store_digest(s), "round trip changed the digest");
    FUZZ_CHECK(fuzz_encodes_alike(s, d, &once, "aux"), "round trip changed the bytes");
    store_free(d);
    buf_free(&once);
}

/* Runs "WORD WORD ..." with K replaced by the key. */
static void run_line(struct fuzz_run *r, const char *line, const char *key, size_t klen,
                     struct buf *reply)
{
    char words[128];
    snprintf(words, sizeof words, "%s", line);
    struct resp_arg argv[16];
    int argc = 0;
    char keycopy[300];
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save)) {
        if (w[0] == 'K' && (w[1] == '\0' || w[1] == '~')) {
            /* "K~copy": the key with a suffix. */
            size_t extra = w[1] ? strlen(w + 1) : 0, n = klen < 250 ? klen : 250;
            memcpy(keycopy, key, n);
            memcpy(keycopy + n, w + 1, extra);
            argv[argc++] = (struct resp_arg){keycopy, n + extra};
        } else {
            argv[argc++] = (struct resp_arg){w, strlen(w)};
        }
    }
    buf_clear(reply);
    bool blocked;
    if (!fuzz_run_command(r, argc, argv, reply, &blocked)) return;
    if (blocked) return;
    const char *problem = fuzz_reply_problem(reply->data, reply->len, r->proto, false);
    FUZZ_CHECK(problem == NULL, "\"%s\" on a decoded key: malformed reply (%s): %.*s", line, problem,
               (int)(reply->len < 300 ? reply->len : 300), reply->data);
}

static void run_battery(struct fuzz_run *r, const char *const *lines, const char *key, size_t klen,
                        struct buf *reply)
{
    for (int i = 0; lines[i]; i++) run_line(r, lines[i], key, klen, reply);
}

static void exercise(struct store *s)
{
    struct buf reply = BUF_INIT;
    for (int db = 0; db < STORE_DBS; db++) {
        size_t n = store_db_size(s, db);
        if (n == 0) continue;
        struct fuzz_run r = {.store = s, .db = db, .proto = 2 + db % 2, .now_ms = NOW_MS,
                             .rng = 42, .origin = 1, .no_block = true, .max_bulk_len = 1 << 20};
        /* The keys first: the commands change the keyspace. */
        char *keys[KEYS_MAX];
        size_t klens[KEYS_MAX];
        int types[KEYS_MAX], k = 0;
        for (size_t i = 0; i < n && k < KEYS_MAX; i++, k++) {
            const struct dict_entry *e = store_key_at(s, db, i);
            keys[k] = xmemdup(e->key, e->klen);
            klens[k] = e->klen;
            types[k] = store_value(e)->type;
        }
        for (int i = 0; i < k; i++) {
            const char *const *typed = types[i] == OBJ_STRING ? string_battery
                                       : types[i] == OBJ_LIST ? list_battery
                                       : types[i] == OBJ_HASH ? hash_battery
                                       : types[i] == OBJ_SET  ? set_battery
                                       : types[i] == OBJ_ZSET ? zset_battery
                                                              : stream_battery;
            run_battery(&r, common_battery, keys[i], klens[i], &reply);
            run_battery(&r, typed, keys[i], klens[i], &reply);
            free(keys[i]);
        }
        run_battery(&r, db_battery, "", 0, &reply);
    }
    buf_free(&reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool fix_crc = data[0] & 1;
    size_t len = size - 1;
    char *bytes = xmalloc(len ? len : 1);
    if (len) memcpy(bytes, data + 1, len);
    if (fix_crc && len >= 4) {
        uint32_t crc = checksum_crc32(0, bytes, len - 4);
        for (int i = 0; i < 4; i++) bytes[len - 4 + i] = (char)(crc >> (8 * i));
    }
    char err[160] = "";
    const char *aux = NULL;
    size_t aux_len = 0;
    struct store *s = store_snapshot_decode(bytes, len, &aux, &aux_len, err, sizeof err);
    if (s == NULL) {
        FUZZ_CHECK(err[0] != '\0', "a snapshot was refused without a reason");
    } else {
        FUZZ_CHECK(aux >= bytes && aux + aux_len <= bytes + len, "aux outside the snapshot");
        (void)store_memory(s);
        round_trip(s);
        exercise(s);
        round_trip(s);
        store_free(s);
    }
    free(bytes);
    return 0;
}
