/* cmds/table.c — the command table: every command Parley knows, as data.
 *
 * Each row gives name, arity, flags, key positions (first, last, step), ACL
 * categories, the exec function (NULL for CMD_LOCAL commands, which server/
 * runs), and the COMMAND DOCS summary. Containers (CLIENT, CONFIG, OBJECT,
 * ...) list their subcommands in a table of their own, named "parent|sub"
 * as Redis 7 names them. Lookups go through a hash index built once. */
#include <assert.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/hash.h"
#include "cmds/cmd.h"
#include "cmds/exec.h"

extern const struct cmd_def cmd_rows_list[]; /* t_list.c */

#define W CMD_WRITE
#define R CMD_READONLY
#define L CMD_LOCAL
#define F CMD_FAST
#define A CMD_ADMIN
#define DOOM CMD_DENYOOM

#define K_RD (ACL_KEYSPACE | ACL_READ)
#define K_WR (ACL_KEYSPACE | ACL_WRITE)
#define S_RD (ACL_STRING | ACL_READ)
#define S_WR (ACL_STRING | ACL_WRITE)

/* name, arity, flags, first, last, step, acl, exec, group, since, summary, complexity */
#define ROW(n, ar, fl, f, l, s, acl, ex, g, since, sum, cx) \
    {n, ar, fl, f, l, s, acl, ex, g, since, sum, cx, NULL}
#define PARENT(n, ar, fl, acl, g, since, sum, subs) \
    {n, ar, (fl) | CMD_CONTAINER, 0, 0, 0, acl, NULL, g, since, sum, "Depends on subcommand.", subs}
#define END {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL}

static const struct cmd_def object_subs[] = {
    ROW("object|encoding", 3, R, 2, 2, 1, K_RD | ACL_SLOW, cmd_object_encoding, "generic", "2.2.3",
        "Returns the internal encoding of a Redis object.", "O(1)"),
    ROW("object|refcount", 3, R, 2, 2, 1, K_RD | ACL_SLOW, cmd_object_refcount, "generic", "2.2.3",
        "Returns the reference count of a value of a key.", "O(1)"),
    ROW("object|help", 2, L, 0, 0, 0, K_RD | ACL_SLOW, cmd_object_help, "generic", "6.2.0",
        "Returns helpful text about the different subcommands.", "O(1)"),
    END,
};

static const struct cmd_def client_subs[] = {
    ROW("client|id", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "5.0.0",
        "Returns the unique client ID of the connection.", "O(1)"),
    ROW("client|setname", 3, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "2.6.9",
        "Sets the connection name.", "O(1)"),
    ROW("client|getname", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "2.6.9",
        "Returns the name of the connection.", "O(1)"),
    ROW("client|setinfo", 4, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "7.2.0",
        "Sets information specific to the client or connection.", "O(1)"),
    ROW("client|list", -2, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "2.4.0", "Lists open connections.", "O(N) where N is the number of client connections"),
    ROW("client|info", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.2.0",
        "Returns information about the connection.", "O(1)"),
    ROW("client|kill", -3, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "2.4.0", "Terminates open connections.", "O(N) where N is the number of client connections"),
    ROW("client|help", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)"),
    END,
};

static const struct cmd_def command_subs[] = {
    ROW("command|count", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "2.8.13",
        "Returns a count of commands.", "O(1)"),
    ROW("command|list", -2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "7.0.0",
        "Returns a list of command names.", "O(N) where N is the total number of Redis commands"),
    ROW("command|info", -2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "2.8.13",
        "Returns information about one, multiple or all commands.", "O(N) where N is the number of commands to look up"),
    ROW("command|docs", -2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "7.0.0",
        "Returns documentary information about one, multiple or all commands.", "O(N) where N is the number of commands to look up"),
    ROW("command|help", 2, L, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)"),
    END,
};

static const struct cmd_def config_subs[] = {
    ROW("config|get", -3, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Returns the effective values of configuration parameters.", "O(N) when N is the number of configuration parameters provided"),
    ROW("config|set", -4, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Sets configuration parameters in-flight.", "O(N) when N is the number of configuration parameters provided"),
    ROW("config|resetstat", 2, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Resets the server's statistics.", "O(1)"),
    ROW("config|help", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)"),
    END,
};

static const struct cmd_def raft_subs[] = {
    ROW("raft|info", 2, L, 0, 0, 0, ACL_ADMIN | ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns this node's view of the Raft cluster.", "O(N) where N is the number of members"),
    ROW("raft|digest", 2, L, 0, 0, 0, ACL_ADMIN | ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns this node's applied index and a digest of its own keyspace (not a linearizable read).",
        "O(N) where N is the number of keys"),
    ROW("raft|help", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns helpful text about the different subcommands.", "O(1)"),
    END,
};

static const struct cmd_def debug_subs[] = {
    ROW("debug|digest", 2, R, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, cmd_debug_digest, "server", "1.0.0",
        "Returns a digest of the whole keyspace (equal on replicas).", "O(N)"),
    END,
};

static const struct cmd_def table[] = {
    /* Strings */
    ROW("get", 2, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_get, "string", "1.0.0",
        "Returns the string value of a key.", "O(1)"),
    ROW("set", -3, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_set, "string", "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)"),
    ROW("setnx", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_setnx, "string", "1.0.0",
        "Set the string value of a key only when the key doesn't exist.", "O(1)"),
    ROW("setex", 4, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_setex, "string", "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "O(1)"),
    ROW("psetex", 4, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_psetex, "string", "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "O(1)"),
    ROW("getset", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getset, "string", "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.", "O(1)"),
    ROW("getdel", 2, W | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getdel, "string", "6.2.0",
        "Returns the string value of a key after deleting the key.", "O(1)"),
    ROW("getex", -2, W | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getex, "string", "6.2.0",
        "Returns the string value of a key after setting its expiration time.", "O(1)"),
    ROW("mget", -2, R | F, 1, -1, 1, S_RD | ACL_FAST, cmd_mget, "string", "1.0.0",
        "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve."),
    ROW("mset", -3, W | DOOM, 1, -1, 2, S_WR | ACL_SLOW, cmd_mset, "string", "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set."),
    ROW("msetnx", -3, W | DOOM, 1, -1, 2, S_WR | ACL_SLOW, cmd_msetnx, "string", "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.", "O(N) where N is the number of keys to set."),
    ROW("incr", 2, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incr, "string", "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    ROW("decr", 2, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_decr, "string", "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    ROW("incrby", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incrby, "string", "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    ROW("decrby", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_decrby, "string", "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    ROW("incrbyfloat", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incrbyfloat, "string", "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)"),
    ROW("append", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_append, "string", "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.", "O(1)"),
    ROW("strlen", 2, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_strlen, "string", "2.2.0",
        "Returns the length of a string value.", "O(1)"),
    ROW("getrange", 4, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_getrange, "string", "2.4.0",
        "Returns a substring of the string stored at a key.", "O(N) where N is the length of the returned string."),
    ROW("substr", 4, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_substr, "string", "1.0.0",
        "Returns a substring from a string value.", "O(N) where N is the length of the returned string."),
    ROW("setrange", 4, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_setrange, "string", "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "O(1)"),

    /* Keys */
    ROW("del", -2, W, 1, -1, 1, K_WR | ACL_SLOW, cmd_del, "generic", "1.0.0",
        "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed."),
    ROW("unlink", -2, W | F, 1, -1, 1, K_WR | ACL_FAST, cmd_unlink, "generic", "4.0.0",
        "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size."),
    ROW("exists", -2, R | F, 1, -1, 1, K_RD | ACL_FAST, cmd_exists, "generic", "1.0.0",
        "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check."),
    ROW("touch", -2, R | F, 1, -1, 1, K_RD | ACL_FAST, cmd_touch, "generic", "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "O(N) where N is the number of keys that will be touched."),
    ROW("type", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_type, "generic", "1.0.0",
        "Determines the type of value stored at a key.", "O(1)"),
    ROW("keys", 2, R, 0, 0, 0, K_RD | ACL_SLOW | ACL_DANGEROUS, cmd_keys, "generic", "1.0.0",
        "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database"),
    ROW("scan", -2, R, 0, 0, 0, K_RD | ACL_SLOW, cmd_scan, "generic", "2.8.0",
        "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration."),
    ROW("randomkey", 1, R | CMD_RANDOM, 0, 0, 0, K_RD | ACL_SLOW, cmd_randomkey, "generic", "1.0.0",
        "Returns a random key name from the database.", "O(1)"),
    ROW("rename", 3, W, 1, 2, 1, K_WR | ACL_SLOW, cmd_rename, "generic", "1.0.0",
        "Renames a key and overwrites the destination.", "O(1)"),
    ROW("renamenx", 3, W | F, 1, 2, 1, K_WR | ACL_FAST, cmd_renamenx, "generic", "1.0.0",
        "Renames a key only when the target key name doesn't exist.", "O(1)"),
    ROW("copy", -3, W | DOOM, 1, 2, 1, K_WR | ACL_SLOW, cmd_copy, "generic", "6.2.0",
        "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items."),
    ROW("move", 3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_move, "generic", "1.0.0",
        "Moves a key to another database.", "O(1)"),
    ROW("expire", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_expire, "generic", "1.0.0",
        "Sets the expiration time of a key in seconds.", "O(1)"),
    ROW("pexpire", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_pexpire, "generic", "2.6.0",
        "Sets the expiration time of a key in milliseconds.", "O(1)"),
    ROW("expireat", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_expireat, "generic", "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.", "O(1)"),
    ROW("pexpireat", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_pexpireat, "generic", "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)"),
    ROW("ttl", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_ttl, "generic", "1.0.0",
        "Returns the expiration time in seconds of a key.", "O(1)"),
    ROW("pttl", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_pttl, "generic", "2.6.0",
        "Returns the expiration time in milliseconds of a key.", "O(1)"),
    ROW("expiretime", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_expiretime, "generic", "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.", "O(1)"),
    ROW("pexpiretime", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_pexpiretime, "generic", "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)"),
    ROW("persist", 2, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_persist, "generic", "2.2.0",
        "Removes the expiration time of a key.", "O(1)"),
    PARENT("object", -2, 0, ACL_SLOW, "generic", "2.2.3",
           "A container for object introspection commands.", object_subs),
    ROW("dbsize", 1, R | F, 0, 0, 0, K_RD | ACL_FAST, cmd_dbsize, "server", "1.0.0",
        "Returns the number of keys in the database.", "O(1)"),
    ROW("flushdb", -1, W, 0, 0, 0, K_WR | ACL_SLOW | ACL_DANGEROUS, cmd_flushdb, "server", "1.0.0",
        "Removes all keys from the current database.", "O(N) where N is the number of keys in the selected database"),
    ROW("flushall", -1, W, 0, 0, 0, K_WR | ACL_SLOW | ACL_DANGEROUS, cmd_flushall, "server", "1.0.0",
        "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases"),
    ROW("swapdb", 3, W | F, 0, 0, 0, K_WR | ACL_FAST | ACL_DANGEROUS, cmd_swapdb, "server", "4.0.0",
        "Swaps two Redis databases.", "O(N) where N is the count of clients watching or blocking on keys from both databases."),

    /* Connection and server: run by server/ */
    ROW("ping", -1, L | F, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Returns the server's liveliness response.", "O(1)"),
    ROW("echo", 2, L | F, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Returns the given string.", "O(1)"),
    ROW("hello", -1, L | F | CMD_NO_AUTH, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "6.0.0",
        "Handshakes with the Redis server.", "O(1)"),
    ROW("quit", -1, L | F | CMD_NO_AUTH, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Closes the connection.", "O(1)"),
    ROW("reset", 1, L | F | CMD_NO_AUTH, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "6.2.0",
        "Resets the connection.", "O(1)"),
    ROW("select", 2, L | F, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Changes the selected database.", "O(1)"),
    PARENT("client", -2, L, ACL_SLOW, "connection", "2.4.0",
           "A container for client connection commands.", client_subs),
    PARENT("command", -1, L, ACL_SLOW | ACL_CONNECTION, "server", "2.8.13",
           "Returns detailed information about all commands.", command_subs),
    ROW("info", -1, L, 0, 0, 0, ACL_SLOW | ACL_DANGEROUS, NULL, "server", "1.0.0",
        "Returns information and statistics about the server.", "O(1)"),
    PARENT("config", -2, L, ACL_SLOW, "server", "2.0.0",
           "A container for server configuration commands.", config_subs),
    ROW("shutdown", -1, L | A | CMD_NO_AUTH, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL,
        "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    ROW("time", 1, L | F, 0, 0, 0, ACL_FAST, NULL, "server", "2.6.0",
        "Returns the server time.", "O(1)"),
    PARENT("raft", -2, L, ACL_SLOW, "cluster", "parley-0.1",
           "A container for Raft cluster commands (Parley).", raft_subs),
    ROW("parley.fwd", 5, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Proposes a batch a follower forwards to the leader (internal to Parley).", "O(N)"),
    PARENT("debug", -2, A, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, "server", "1.0.0",
           "A container for debugging commands.", debug_subs),
    END,
};

/* Proposed by the leader, never accepted from a client. */
static const struct cmd_def internal[] = {
    ROW("__expire", -2, W | CMD_INTERNAL, 1, -1, 1, K_WR, cmd_internal_expire, "internal", "parley-0.1",
        "Deletes the given keys if they are expired at the entry's time.", "O(N)"),
    END,
};

/* ---------------------------------------------------------------------
 * Lookup
 * ------------------------------------------------------------------- */

#define INDEX_SLOTS 1024 /* power of two, > 2x the number of top-level rows */
#define NAME_MAX_LEN 32

static const struct cmd_def *index_slots[INDEX_SLOTS];
static bool index_built;

static uint64_t name_hash(const char *lower, size_t len)
{
    return hash_bytes_fixed(lower, len, 0);
}

static void index_add(const struct cmd_def *d)
{
    uint64_t h = name_hash(d->name, strlen(d->name));
    for (size_t i = 0; i < INDEX_SLOTS; i++) {
        size_t slot = (h + i) & (INDEX_SLOTS - 1);
        if (index_slots[slot] == NULL) {
            index_slots[slot] = d;
            return;
        }
    }
    assert(!"command index full");
}

/* Command families defined in their own files (t_hash.c, ...) list their
 * rows in a table of their own, NULL-name terminated, added here. */
static const struct cmd_def *const families[] = {
    table,
    internal,
    cmd_rows_list,
};
#define N_FAMILIES (sizeof families / sizeof *families)

/* Client-visible commands in table order, for COMMAND and COMMAND COUNT. */
static const struct cmd_def *visible[INDEX_SLOTS];
static size_t n_visible;

static void index_build(void)
{
    for (size_t f = 0; f < N_FAMILIES; f++) {
        for (const struct cmd_def *d = families[f]; d->name; d++) {
            index_add(d);
            if (!(d->flags & CMD_INTERNAL)) {
                assert(n_visible < INDEX_SLOTS);
                visible[n_visible++] = d;
            }
        }
    }
    index_built = true;
}

const struct cmd_def *cmd_lookup(const char *name, size_t len, bool allow_internal)
{
    if (!index_built) index_build();
    if (len == 0 || len >= NAME_MAX_LEN) return NULL;
    char lower[NAME_MAX_LEN];
    for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)name[i]);
    uint64_t h = name_hash(lower, len);
    for (size_t i = 0; i < INDEX_SLOTS; i++) {
        const struct cmd_def *d = index_slots[(h + i) & (INDEX_SLOTS - 1)];
        if (d == NULL) return NULL;
        if (strlen(d->name) == len && memcmp(d->name, lower, len) == 0) {
            if ((d->flags & CMD_INTERNAL) && !allow_internal) return NULL;
            return d;
        }
    }
    return NULL;
}

const struct cmd_def *cmd_lookup_sub(const struct cmd_def *parent, const char *name, size_t len)
{
    if (parent->subcommands == NULL) return NULL;
    size_t plen = strlen(parent->name);
    for (const struct cmd_def *d = parent->subcommands; d->name; d++) {
        const char *sub = d->name + plen + 1;
        if (strlen(sub) == len && strncasecmp(sub, name, len) == 0) return d;
    }
    return NULL;
}

const struct cmd_def *cmd_table_at(size_t i)
{
    if (!index_built) index_build();
    return i < n_visible ? visible[i] : NULL;
}

size_t cmd_table_size(void)
{
    if (!index_built) index_build();
    return n_visible;
}
