/* cmds/notify.c — keyspace notifications: the letters of
 * notify-keyspace-events, and the messages an event becomes.
 *
 * An event is delivered by each node as it applies the change (see
 * store/notify.h), to the subscribers whose connections it holds, through
 * the same path as an applied PUBLISH (pubsub_publish). Nothing is logged
 * for it and nothing replicated changes: apply stays total, and the only
 * memory taken is one channel name, the size of the key, freed at once.
 *
 * A key miss (class m) is not a change: a read that looks up a key that is
 * not there fires it on the node that runs the read (the leader, or the
 * follower a READONLY client reads from), to that node's subscribers, as a
 * Redis replica fires it for the reads it serves; a write that reads a key
 * (GETDEL, ZUNIONSTORE's sources) fires it on every node as it applies. */
#include "cmds/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cmds/cmd.h"

bool notify_parse_flags(const char *s, size_t len, uint32_t *flags)
{
    uint32_t f = 0;
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case 'A': f |= NOTIFY_ALL; break;
        case 'g': f |= NOTIFY_GENERIC; break;
        case '$': f |= NOTIFY_STRING; break;
        case 'l': f |= NOTIFY_LIST; break;
        case 's': f |= NOTIFY_SET; break;
        case 'h': f |= NOTIFY_HASH; break;
        case 'z': f |= NOTIFY_ZSET; break;
        case 'x': f |= NOTIFY_EXPIRED; break;
        case 'e': f |= NOTIFY_EVICTED; break;
        case 'K': f |= NOTIFY_KEYSPACE; break;
        case 'E': f |= NOTIFY_KEYEVENT; break;
        case 't': f |= NOTIFY_STREAM; break;
        case 'm': f |= NOTIFY_KEY_MISS; break;
        case 'd': f |= NOTIFY_MODULE; break;
        case 'n': f |= NOTIFY_NEW; break;
        default: return false;
        }
    }
    *flags = f;
    return true;
}

void notify_format_flags(uint32_t flags, char *out)
{
    static const struct {
        uint32_t bit;
        char letter;
    } types[] = {
        {NOTIFY_GENERIC, 'g'}, {NOTIFY_STRING, '$'},  {NOTIFY_LIST, 'l'},
        {NOTIFY_SET, 's'},     {NOTIFY_HASH, 'h'},    {NOTIFY_ZSET, 'z'},
        {NOTIFY_EXPIRED, 'x'}, {NOTIFY_EVICTED, 'e'}, {NOTIFY_STREAM, 't'},
        {NOTIFY_MODULE, 'd'},
    };
    size_t n = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        out[n++] = 'A';
    } else {
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (flags & types[i].bit) out[n++] = types[i].letter;
    }
    if (flags & NOTIFY_KEYSPACE) out[n++] = 'K';
    if (flags & NOTIFY_KEYEVENT) out[n++] = 'E';
    if (flags & NOTIFY_KEY_MISS) out[n++] = 'm';
    /* Redis 7.0 accepts n but does not show it. */
    out[n] = '\0';
}

/* "__keyspace@<db>__:" or "__keyevent@<db>__:" followed by name, in
 * stack (when it fits) or on the heap; returns the channel. */
static char *channel_name(char *stack, size_t cap, const char *kind, int db, const char *name,
                          size_t nlen, size_t *clen)
{
    char prefix[40];
    int plen = snprintf(prefix, sizeof prefix, "__%s@%d__:", kind, db);
    size_t total = (size_t)plen + nlen;
    char *ch = total <= cap ? stack : xmalloc(total);
    memcpy(ch, prefix, (size_t)plen);
    memcpy(ch + plen, name, nlen);
    *clen = total;
    return ch;
}

void notify_deliver(struct store *s, int db, uint32_t cls, const char *event, const char *key,
                    size_t klen)
{
    const struct pubsub *ps = &s->pubsub;
    if (s->on_message == NULL ||
        (dict_size(&ps->names[PUBSUB_CHANNEL]) == 0 && dict_size(&ps->names[PUBSUB_PATTERN]) == 0))
        return;
    char stack[256];
    size_t clen, elen = strlen(event);
    if (s->notify_flags & NOTIFY_KEYSPACE) {
        char *ch = channel_name(stack, sizeof stack, "keyspace", db, key, klen, &clen);
        pubsub_publish(s, ch, clen, event, elen);
        if (ch != stack) free(ch);
    }
    if (s->notify_flags & NOTIFY_KEYEVENT) {
        char *ch = channel_name(stack, sizeof stack, "keyevent", db, event, elen, &clen);
        pubsub_publish(s, ch, clen, key, klen);
        if (ch != stack) free(ch);
    }
}

static bool fire_if_missing(void *arg, int index, uint32_t key_flags)
{
    struct cmd_ctx *c = arg;
    if (!(key_flags & KEY_NOTIFY_MISS)) return true;
    const struct resp_arg *key = &c->argv[index];
    /* Not evicting nor touching: the command's own lookup does that. */
    if (store_lookup_notouch(c->store, c->db, key->ptr, key->len, c->now_ms, false) == NULL)
        ctx_notify(c, NOTIFY_KEY_MISS, "keymiss", key);
    return true;
}

void notify_key_misses(struct cmd_ctx *c)
{
    if (!(c->store->notify_flags & NOTIFY_KEY_MISS)) return;
    cmd_keys_each(c->cmd, c->argc, c->argv, fire_if_missing, c);
}
