/* cmds/table.c — the command table: every command Parley knows, as data.
 *
 * Each row gives name, arity, flags, key positions (first, last, step), ACL
 * categories, the exec function (NULL for CMD_LOCAL commands, which server/
 * runs; PING and ECHO have one for scripts), the key specs (what it does to
 * each key, with Redis 7.0's key-spec flags: keyspec.c), and the COMMAND
 * DOCS texts (Redis 7.0.15's, where Redis has the
 * command; Parley's own otherwise). Containers (CLIENT, CONFIG, OBJECT,
 * ...) list their subcommands in a table of their own, named "parent|sub"
 * as Redis 7 names them. Lookups go through a hash index built once. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/check.h"
#include "base/hash.h"
#include "cmds/cmd.h"
#include "cmds/exec.h"

extern const struct cmd_def cmd_rows_list[]; /* t_list.c */
extern const struct cmd_def cmd_rows_zset[]; /* t_zset.c */

#define W CMD_WRITE
#define R CMD_READONLY
#define L CMD_LOCAL
#define F CMD_FAST
#define A CMD_ADMIN
#define DOOM CMD_DENYOOM
/* Flags Redis gives connection and server commands (COMMAND INFO only). */
#define NLS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define LS (CMD_LOADING | CMD_STALE)

#define K_RD (ACL_KEYSPACE | ACL_READ)
#define K_WR (ACL_KEYSPACE | ACL_WRITE)
#define S_RD (ACL_STRING | ACL_READ)
#define S_WR (ACL_STRING | ACL_WRITE)

/* name, arity, flags, first, last, step, acl, exec, group, since, summary, complexity */
#define ROW(n, ar, fl, f, l, s, acl, ex, g, since, sum, cx, ...) \
    {n, ar, fl, f, l, s, acl, ex, g, since, sum, cx, NULL, "" __VA_ARGS__, NULL}
#define PARENT(n, ar, fl, acl, g, since, sum, subs) \
    {n, ar, (fl) | CMD_CONTAINER, 0, 0, 0, acl, NULL, g, since, sum, "Depends on subcommand.", subs, NULL, NULL}

static const struct cmd_def object_subs[] = {
    ROW("object|encoding", 3, R, 2, 2, 1, K_RD | ACL_SLOW, cmd_object_encoding, "generic", "2.2.3",
        "Inspect the internal encoding of a Redis object", "O(1)", "RO"),
    ROW("object|refcount", 3, R, 2, 2, 1, K_RD | ACL_SLOW, cmd_object_refcount, "generic", "2.2.3",
        "Get the number of references to the value of the key", "O(1)", "RO"),
    ROW("object|idletime", 3, L | R, 2, 2, 1, K_RD | ACL_SLOW, NULL, "generic", "2.2.3",
        "Get the time since a Redis object was last accessed", "O(1)", "RO"),
    ROW("object|freq", 3, L | R, 2, 2, 1, K_RD | ACL_SLOW, NULL, "generic", "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object", "O(1)", "RO"),
    ROW("object|help", 2, L, 0, 0, 0, ACL_KEYSPACE | ACL_SLOW, cmd_object_help, "generic", "6.2.0",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

/* Node-to-node (server/cmd_peer.c): outside ACL, no categories. */
static const struct cmd_def parley_peer_subs[] = {
    ROW("parley.peer|hello", 4, L | CMD_NODE | CMD_NO_AUTH | NLS, 0, 0, 0, 0, NULL, "cluster",
        "parley-0.1", "Starts the peer handshake: the caller's node id and nonce.", "O(1)"),
    ROW("parley.peer|prove", 3, L | CMD_NODE | CMD_NO_AUTH | NLS, 0, 0, 0, 0, NULL, "cluster",
        "parley-0.1", "Ends the peer handshake with the caller's proof.", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def client_subs[] = {
    ROW("client|id", 2, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "5.0.0",
        "Returns the client ID for the current connection", "O(1)"),
    ROW("client|setname", 3, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "2.6.9",
        "Set the current connection name", "O(1)"),
    ROW("client|getname", 2, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "2.6.9",
        "Get the current connection name", "O(1)"),
    ROW("client|setinfo", 4, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "7.2.0",
        "Sets information specific to the client or connection.", "O(1)"),
    ROW("client|list", -2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "2.4.0", "Get the list of client connections", "O(N) where N is the number of client connections"),
    ROW("client|info", 2, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.2.0",
        "Returns information about the current client connection.", "O(1)"),
    ROW("client|kill", -3, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "2.4.0", "Kill the connection of a client", "O(N) where N is the number of client connections"),
    ROW("client|unblock", -3, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "5.0.0", "Unblock a client blocked in a blocking command from a different connection",
        "O(log N) where N is the number of client connections"),
    ROW("client|no-evict", 3, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "7.0.0", "Set client eviction mode for the current connection", "O(1)"),
    ROW("client|pause", -3, L | A | NLS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "2.9.50", "Stop processing commands from clients for some time", "O(1)"),
    ROW("client|unpause", 2, L | A | NLS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS | ACL_CONNECTION,
        NULL, "connection", "6.2.0", "Resume processing of clients that were paused", "O(N) Where N is the number of paused clients"),
    ROW("client|tracking", -3, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.0.0",
        "Enable or disable server assisted client side caching support", "O(1). Some options may introduce additional complexity."),
    ROW("client|caching", 3, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.0.0",
        "Instruct the server about tracking or not keys in the next request", "O(1)"),
    ROW("client|getredir", 2, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.0.0",
        "Get tracking notifications redirection client ID if any", "O(1)"),
    ROW("client|trackinginfo", 2, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "6.2.0",
        "Return information about server assisted client side caching for the current connection", "O(1)"),
    ROW("client|reply", 3, L | NLS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "3.2.0",
        "Instruct the server whether to reply to commands", "O(1)"),
    ROW("client|help", 2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "connection", "5.0.0",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def command_subs[] = {
    ROW("command|count", 2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "2.8.13",
        "Get total number of Redis commands", "O(1)"),
    ROW("command|list", -2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "7.0.0",
        "Get an array of Redis command names", "O(N) where N is the total number of Redis commands"),
    ROW("command|info", -2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "2.8.13",
        "Get array of specific Redis command details, or all when no argument is given.", "O(N) where N is the number of commands to look up"),
    ROW("command|docs", -2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "7.0.0",
        "Get array of specific Redis command documentation", "O(N) where N is the number of commands to look up"),
    ROW("command|help", 2, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "5.0.0",
        "Show helpful text about the different subcommands", "O(1)"),
    ROW("command|getkeys", -4, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "2.8.13",
        "Extract keys given a full Redis command", "O(N) where N is the number of arguments to the command"),
    ROW("command|getkeysandflags", -4, L | LS, 0, 0, 0, ACL_CONNECTION | ACL_SLOW, NULL, "server", "7.0.0",
        "Extract keys and access flags given a full Redis command",
        "O(N) where N is the number of arguments to the command"),
    CMD_ROWS_END,
};

static const struct cmd_def config_subs[] = {
    ROW("config|get", -3, L | A | NLS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Get the values of configuration parameters", "O(N) when N is the number of configuration parameters provided"),
    ROW("config|set", -4, L | A | NLS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Set configuration parameters to the given values", "O(N) when N is the number of configuration parameters provided"),
    ROW("config|rewrite", 2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.8.0",
        "Rewrite the configuration file with the in memory configuration", "O(1)"),
    ROW("config|resetstat", 2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.0.0",
        "Reset the stats returned by INFO", "O(1)"),
    ROW("config|help", 2, L | LS, 0, 0, 0, ACL_SLOW, NULL, "server", "5.0.0",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def latency_subs[] = {
    ROW("latency|latest", 2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.8.13",
        "Return the latest latency samples for all events", "O(1)"),
    ROW("latency|history", 3, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.8.13",
        "Return timestamp-latency samples for the event", "O(1)"),
    ROW("latency|reset", -2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.8.13",
        "Reset latency data for one or more events", "O(1)"),
    ROW("latency|doctor", 2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.8.13",
        "Return a human readable latency analysis report", "O(1)"),
    ROW("latency|histogram", -2, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server",
        "7.0.0", "Return the cumulative distribution of latencies of a subset of commands or all commands",
        "O(N) where N is the number of commands with latency information being retrieved."),
    ROW("latency|help", 2, L | LS, 0, 0, 0, ACL_SLOW, NULL, "server", "2.8.13",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

/* Node-local views of memory (server/cmd_server.c). */
static const struct cmd_def memory_subs[] = {
    ROW("memory|usage", -3, L | R, 2, 2, 1, ACL_READ | ACL_SLOW, NULL, "server", "4.0.0",
        "Estimate the memory usage of a key", "O(N) where N is the number of samples.", "RO"),
    ROW("memory|stats", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "4.0.0",
        "Show memory usage details", "O(1)"),
    ROW("memory|doctor", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "4.0.0",
        "Outputs memory problems report", "O(1)"),
    ROW("memory|malloc-stats", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "4.0.0",
        "Show allocator internal stats", "Depends on how much memory is allocated, could be slow"),
    ROW("memory|purge", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "4.0.0",
        "Ask the allocator to release memory", "Depends on how much memory is allocated, could be slow"),
    ROW("memory|help", 2, L, 0, 0, 0, ACL_SLOW, NULL, "server", "4.0.0",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def slowlog_subs[] = {
    ROW("slowlog|get", -2, L | A | LS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.2.12",
        "Get the slow log's entries", "O(N) where N is the number of entries returned"),
    ROW("slowlog|len", 2, L | A | LS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.2.12",
        "Get the slow log's length", "O(1)"),
    ROW("slowlog|reset", 2, L | A | LS | CMD_TX_LOCAL, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "2.2.12",
        "Clear all entries from the slow log", "O(N) where N is the number of entries in the slowlog"),
    ROW("slowlog|help", 2, L | LS, 0, 0, 0, ACL_SLOW, NULL, "server", "6.2.0",
        "Show helpful text about the different subcommands", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def sentinel_subs[] = {
#define SENTINEL_ROW(n, ar, sum) \
    ROW("sentinel|" n, ar, L | A | LS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, \
        "sentinel", "parley-0.1", sum, "O(N) where N is the number of members")
    SENTINEL_ROW("get-master-addr-by-name", 3, "Returns the current Raft leader's client address."),
    SENTINEL_ROW("masters", 2, "Returns the one master: the current Raft leader."),
    SENTINEL_ROW("master", 3, "Returns the state of the master (the Raft leader)."),
    SENTINEL_ROW("replicas", 3, "Returns the members other than the leader."),
    SENTINEL_ROW("slaves", 3, "Returns the members other than the leader."),
    SENTINEL_ROW("sentinels", 3, "Returns the other members, which answer SENTINEL queries too."),
    SENTINEL_ROW("myid", 2, "Returns this node's id as a Sentinel run id."),
    SENTINEL_ROW("ckquorum", 3, "Says whether a Raft leader is elected."),
    SENTINEL_ROW("failover", 3, "Refused: Raft elects the leader (use RAFT TRANSFER)."),
    SENTINEL_ROW("monitor", 6, "Refused: the master is the Raft leader."),
    SENTINEL_ROW("remove", 3, "Refused: the master is the Raft leader."),
    SENTINEL_ROW("set", -5, "Refused: the master is the Raft leader."),
    SENTINEL_ROW("reset", 3, "Refused: the master is the Raft leader."),
#undef SENTINEL_ROW
    ROW("sentinel|help", 2, L | LS, 0, 0, 0, ACL_SLOW, NULL, "sentinel", "parley-0.1",
        "Returns helpful text about the different subcommands.", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def raft_subs[] = {
    ROW("raft|info", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns this node's view of the Raft cluster.", "O(N) where N is the number of members"),
    ROW("raft|digest", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns this node's applied index and a digest of its own keyspace (not a linearizable read).",
        "O(N) where N is the number of keys"),
    ROW("raft|members", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns the members of the Raft cluster and their roles.",
        "O(N) where N is the number of members"),
    ROW("raft|node", -4, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "cluster",
        "parley-0.1",
        "Changes the cluster's membership: RAFT NODE ADD <id> <raft host:port> [VOTER|OBSERVER], "
        "PROMOTE <id>, REMOVE <id>.",
        "O(1)"),
    ROW("raft|version", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns the cluster protocol version this build supports, the one the cluster runs, "
        "and each member's.",
        "O(N) where N is the number of members"),
    ROW("raft|transfer", -2, L | A, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL,
        "cluster", "parley-0.1", "Hands leadership to another voter.", "O(1)"),
    ROW("raft|help", 2, L, 0, 0, 0, ACL_SLOW, NULL, "cluster", "parley-0.1",
        "Returns helpful text about the different subcommands.", "O(1)"),
    CMD_ROWS_END,
};

static const struct cmd_def debug_subs[] = {
    ROW("debug|digest", 2, R, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, cmd_debug_digest, "server", "1.0.0",
        "Returns a digest of the whole keyspace (equal on replicas).", "O(N)"),
    CMD_ROWS_END,
};

static const struct cmd_def table[] = {
    /* Strings */
    ROW("get", 2, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_get, "string", "1.0.0",
        "Get the value of a key", "O(1)", "RO access keymiss"),
    ROW("set", -3, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_set, "string", "1.0.0",
        "Set the string value of a key", "O(1)", "OW update !GET@3, RW access update keymiss ?GET@3"),
    ROW("setnx", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_setnx, "string", "1.0.0",
        "Set the value of a key, only if the key does not exist", "O(1)", "OW insert"),
    ROW("setex", 4, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_setex, "string", "2.0.0",
        "Set the value and expiration of a key", "O(1)", "OW update"),
    ROW("psetex", 4, W | DOOM, 1, 1, 1, S_WR | ACL_SLOW, cmd_psetex, "string", "2.6.0",
        "Set the value and expiration in milliseconds of a key", "O(1)", "OW update"),
    ROW("getset", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getset, "string", "1.0.0",
        "Set the string value of a key and return its old value", "O(1)", "RW access update keymiss"),
    ROW("getdel", 2, W | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getdel, "string", "6.2.0",
        "Get the value of a key and delete the key", "O(1)", "RW access delete keymiss"),
    ROW("getex", -2, W | F, 1, 1, 1, S_WR | ACL_FAST, cmd_getex, "string", "6.2.0",
        "Get the value of a key and optionally set its expiration", "O(1)", "RW access update keymiss"),
    ROW("mget", -2, R | F, 1, -1, 1, S_RD | ACL_FAST, cmd_mget, "string", "1.0.0",
        "Get the values of all the given keys", "O(N) where N is the number of keys to retrieve.", "RO access keymiss"),
    ROW("mset", -3, W | DOOM, 1, -1, 2, S_WR | ACL_SLOW, cmd_mset, "string", "1.0.1",
        "Set multiple keys to multiple values", "O(N) where N is the number of keys to set.", "OW update"),
    ROW("msetnx", -3, W | DOOM, 1, -1, 2, S_WR | ACL_SLOW, cmd_msetnx, "string", "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist", "O(N) where N is the number of keys to set.", "OW insert"),
    ROW("incr", 2, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incr, "string", "1.0.0",
        "Increment the integer value of a key by one", "O(1)", "RW access update"),
    ROW("decr", 2, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_decr, "string", "1.0.0",
        "Decrement the integer value of a key by one", "O(1)", "RW access update"),
    ROW("incrby", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incrby, "string", "1.0.0",
        "Increment the integer value of a key by the given amount", "O(1)", "RW access update"),
    ROW("decrby", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_decrby, "string", "1.0.0",
        "Decrement the integer value of a key by the given number", "O(1)", "RW access update"),
    ROW("incrbyfloat", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_incrbyfloat, "string", "2.6.0",
        "Increment the float value of a key by the given amount", "O(1)", "RW access update"),
    ROW("append", 3, W | DOOM | F, 1, 1, 1, S_WR | ACL_FAST, cmd_append, "string", "2.0.0",
        "Append a value to a key", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", "RW insert"),
    ROW("strlen", 2, R | F, 1, 1, 1, S_RD | ACL_FAST, cmd_strlen, "string", "2.2.0",
        "Get the length of the value stored in a key", "O(1)", "RO keymiss"),
    ROW("getrange", 4, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_getrange, "string", "2.4.0",
        "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "RO access keymiss"),
    ROW("lcs", -3, R, 1, 2, 1, S_RD | ACL_SLOW, cmd_lcs, "string", "7.0.0",
        "Find longest common substring", "O(N*M) where N and M are the lengths of s1 and s2, respectively", "RO access keymiss"),
    ROW("substr", 4, R, 1, 1, 1, S_RD | ACL_SLOW, cmd_substr, "string", "1.0.0",
        "Get a substring of the string stored at a key", "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "RO access keymiss"),
    ROW("setrange", 4, W | DOOM | CMD_GROWS_TO_ARG, 1, 1, 1, S_WR | ACL_SLOW, cmd_setrange, "string", "2.2.0",
        "Overwrite part of a string at key starting at the specified offset", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "RW update"),

    /* Keys */
    ROW("del", -2, W, 1, -1, 1, K_WR | ACL_SLOW, cmd_del, "generic", "1.0.0",
        "Delete a key", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "RM delete"),
    ROW("unlink", -2, W | F, 1, -1, 1, K_WR | ACL_FAST, cmd_unlink, "generic", "4.0.0",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "RM delete"),
    ROW("exists", -2, R | F, 1, -1, 1, K_RD | ACL_FAST, cmd_exists, "generic", "1.0.0",
        "Determine if a key exists", "O(N) where N is the number of keys to check.", "RO keymiss"),
    ROW("touch", -2, R | F, 1, -1, 1, K_RD | ACL_FAST, cmd_touch, "generic", "3.2.1",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.", "O(N) where N is the number of keys that will be touched.", "RO keymiss"),
    ROW("type", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_type, "generic", "1.0.0",
        "Determine the type stored at key", "O(1)", "RO keymiss"),
    ROW("keys", 2, R, 0, 0, 0, K_RD | ACL_SLOW | ACL_DANGEROUS, cmd_keys, "generic", "1.0.0",
        "Find all keys matching the given pattern", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."),
    ROW("scan", -2, R, 0, 0, 0, K_RD | ACL_SLOW, cmd_scan, "generic", "2.8.0",
        "Incrementally iterate the keys space", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    ROW("randomkey", 1, R | CMD_RANDOM, 0, 0, 0, K_RD | ACL_SLOW, cmd_randomkey, "generic", "1.0.0",
        "Return a random key from the keyspace", "O(1)"),
    ROW("rename", 3, W, 1, 2, 1, K_WR | ACL_SLOW, cmd_rename, "generic", "1.0.0",
        "Rename a key", "O(1)", "RW access delete 1, OW update 2"),
    ROW("renamenx", 3, W | F, 1, 2, 1, K_WR | ACL_FAST, cmd_renamenx, "generic", "1.0.0",
        "Rename a key, only if the new key does not exist", "O(1)", "RW access delete 1, OW insert 2"),
    ROW("copy", -3, W | DOOM, 1, 2, 1, K_WR | ACL_SLOW, cmd_copy, "generic", "6.2.0",
        "Copy a key", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "RO access keymiss 1, OW update 2"),
    ROW("move", 3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_move, "generic", "1.0.0",
        "Move a key to another database", "O(1)", "RW access update"),
    ROW("expire", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_expire, "generic", "1.0.0",
        "Set a key's time to live in seconds", "O(1)", "RW update"),
    ROW("pexpire", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_pexpire, "generic", "2.6.0",
        "Set a key's time to live in milliseconds", "O(1)", "RW update"),
    ROW("expireat", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_expireat, "generic", "1.2.0",
        "Set the expiration for a key as a UNIX timestamp", "O(1)", "RW update"),
    ROW("pexpireat", -3, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_pexpireat, "generic", "2.6.0",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "O(1)", "RW update"),
    ROW("ttl", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_ttl, "generic", "1.0.0",
        "Get the time to live for a key in seconds", "O(1)", "RO access keymiss"),
    ROW("pttl", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_pttl, "generic", "2.6.0",
        "Get the time to live for a key in milliseconds", "O(1)", "RO access keymiss"),
    ROW("expiretime", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_expiretime, "generic", "7.0.0",
        "Get the expiration Unix timestamp for a key", "O(1)", "RO access keymiss"),
    ROW("pexpiretime", 2, R | F, 1, 1, 1, K_RD | ACL_FAST, cmd_pexpiretime, "generic", "7.0.0",
        "Get the expiration Unix timestamp for a key in milliseconds", "O(1)", "RO access keymiss"),
    ROW("persist", 2, W | F, 1, 1, 1, K_WR | ACL_FAST, cmd_persist, "generic", "2.2.0",
        "Remove the expiration from a key", "O(1)", "RW update"),
    PARENT("object", -2, 0, ACL_SLOW, "generic", "2.2.3",
           "A container for object introspection commands", object_subs),
    ROW("dbsize", 1, R | F, 0, 0, 0, K_RD | ACL_FAST, cmd_dbsize, "server", "1.0.0",
        "Return the number of keys in the selected database", "O(1)"),
    ROW("flushdb", -1, W, 0, 0, 0, K_WR | ACL_SLOW | ACL_DANGEROUS, cmd_flushdb, "server", "1.0.0",
        "Remove all keys from the current database", "O(N) where N is the number of keys in the selected database"),
    ROW("flushall", -1, W, 0, 0, 0, K_WR | ACL_SLOW | ACL_DANGEROUS, cmd_flushall, "server", "1.0.0",
        "Remove all keys from all databases", "O(N) where N is the total number of keys in all databases"),
    ROW("swapdb", 3, W | F, 0, 0, 0, K_WR | ACL_FAST | ACL_DANGEROUS, cmd_swapdb, "server", "4.0.0",
        "Swaps two Redis databases", "O(N) where N is the count of clients watching or blocking on keys from both databases."),

    /* Connection and server: run by server/ */
    /* Local for clients (server/ binds their handlers); a script runs the exec (ping.c). */
    ROW("ping", -1, L | F | CMD_TX_REPLY | CMD_SUBSCRIBED, 0, 0, 0, ACL_CONNECTION | ACL_FAST, cmd_ping, "connection", "1.0.0",
        "Ping the server", "O(1)"),
    ROW("echo", 2, L | F | LS | CMD_TX_REPLY, 0, 0, 0, ACL_CONNECTION | ACL_FAST, cmd_echo, "connection", "1.0.0",
        "Echo the given string", "O(1)"),
    ROW("hello", -1, CMD_SECRET | L | F | CMD_NO_AUTH | NLS | CMD_ALLOW_BUSY, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "6.0.0",
        "Handshake with Redis", "O(1)"),
    ROW("quit", -1, L | F | CMD_TX_CONTROL | CMD_SUBSCRIBED | CMD_NO_AUTH | NLS | CMD_ALLOW_BUSY, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Close the connection", "O(1)"),
    ROW("reset", 1, L | F | CMD_TX_CONTROL | CMD_SUBSCRIBED | CMD_NO_AUTH | NLS | CMD_ALLOW_BUSY, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "6.2.0",
        "Reset the connection", "O(1)"),
    ROW("readonly", 1, L | F | LS, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "cluster", "3.0.0",
        "Enables read queries for a connection to a cluster replica node", "O(1)"),
    ROW("readwrite", 1, L | F | LS, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "cluster", "3.0.0",
        "Disables read queries for a connection to a cluster replica node", "O(1)"),
    ROW("select", 2, L | F | LS | CMD_TX_REPLY, 0, 0, 0, ACL_CONNECTION | ACL_FAST, NULL, "connection", "1.0.0",
        "Change the selected database for the current connection", "O(1)"),
    PARENT("client", -2, L, ACL_SLOW, "connection", "2.4.0",
           "A container for client connection commands", client_subs),
    /* COMMAND alone does something, so its complexity is its own. */
    {"command", -1, L | CMD_CONTAINER | LS, 0, 0, 0, ACL_SLOW | ACL_CONNECTION, NULL, "server", "2.8.13",
     "Get array of Redis command details", "O(N) where N is the total number of Redis commands",
     command_subs, NULL, NULL},
    ROW("info", -1, L | LS, 0, 0, 0, ACL_SLOW | ACL_DANGEROUS, NULL, "server", "1.0.0",
        "Get information and statistics about the server", "O(1)"),
    PARENT("config", -2, L, ACL_SLOW, "server", "2.0.0",
           "A container for server configuration commands", config_subs),
    ROW("shutdown", -1, L | A | CMD_NO_AUTH | LS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL,
        "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    PARENT("slowlog", -2, L, ACL_SLOW, "server", "2.2.12",
           "A container for slow log commands", slowlog_subs),
    PARENT("memory", -2, L, ACL_SLOW, "server", "4.0.0",
           "A container for memory diagnostics commands", memory_subs),
    PARENT("latency", -2, L, ACL_SLOW, "server", "2.8.13",
           "A container for latency diagnostics commands", latency_subs),
    ROW("monitor", 1, L | A | NLS, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server", "1.0.0",
        "Listen for all requests received by the server in real time", ""),
    ROW("time", 1, L | F | LS, 0, 0, 0, ACL_FAST, NULL, "server", "2.6.0",
        "Return the current server time", "O(1)"),
    ROW("role", 1, L | F | NLS, 0, 0, 0, ACL_ADMIN | ACL_FAST | ACL_DANGEROUS, NULL, "server", "2.8.12",
        "Return the role of the instance in the context of replication", "O(1)"),
    ROW("save", 1, L | A | CMD_NOSCRIPT, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server",
        "1.0.0", "Synchronously save the dataset to disk", "O(N) where N is the total number of keys in all databases"),
    ROW("bgsave", -1, L | A | CMD_NOSCRIPT, 0, 0, 0, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, NULL, "server",
        "1.0.0", "Asynchronously save the dataset to disk", "O(1)"),
    ROW("lastsave", 1, L | F | LS, 0, 0, 0, ACL_ADMIN | ACL_FAST | ACL_DANGEROUS, NULL, "server", "1.0.0",
        "Get the UNIX time stamp of the last successful save to disk", "O(1)"),
    ROW("wait", 3, L | CMD_NOSCRIPT, 0, 0, 0, ACL_SLOW | ACL_CONNECTION, NULL, "generic", "3.0.0",
        "Wait for the synchronous replication of all the write commands sent in the context of the "
        "current connection", "O(1)"),
    ROW("waitaof", 4, L | CMD_NOSCRIPT, 0, 0, 0, ACL_SLOW | ACL_CONNECTION, NULL, "generic", "7.2.0",
        "Wait for all write commands sent by the client to be appended to the AOF of the local "
        "Redis and/or the replicas", "O(1)"),
    PARENT("raft", -2, L, ACL_SLOW, "cluster", "parley-0.1",
           "A container for Raft cluster commands (Parley).", raft_subs),
    PARENT("sentinel", -2, L | A, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, "sentinel", "2.8.4",
           "Leader discovery for Sentinel-aware clients: the master is the Raft leader.",
           sentinel_subs),
    ROW("parley.fwd", -5, L | A | CMD_NODE | CMD_PEER_ONLY, 0, 0, 0, 0, NULL, "cluster",
        "parley-0.1",
        "Proposes a batch a follower forwards to the leader (cluster peers only).", "O(N)"),
    PARENT("parley.peer", -2, L | CMD_NODE | CMD_NO_AUTH | NLS, 0, "cluster", "parley-0.1",
           "Proves that a connection comes from a node of the cluster (cluster-secret).",
           parley_peer_subs),
    PARENT("debug", -2, A | NLS, ACL_ADMIN | ACL_SLOW | ACL_DANGEROUS, "server", "1.0.0",
           "A container for debugging commands", debug_subs),
    CMD_ROWS_END,
};

/* Proposed by the leader, never accepted from a client. */
static const struct cmd_def internal[] = {
    ROW("__expire", -2, W | CMD_INTERNAL, 1, -1, 1, K_WR, cmd_internal_expire, "internal", "parley-0.1",
        "Deletes the given keys if they are expired at the entry's time.", "O(N)", "RM delete"),
    ROW("__evict", -2, W | CMD_INTERNAL, 1, -1, 1, K_WR, cmd_internal_evict, "internal", "parley-0.1",
        "Deletes the given keys, chosen by the leader to make room under maxmemory.", "O(N)", "RM delete"),
    CMD_ROWS_END,
};

const struct acl_category_name acl_category_names[] = {
    {ACL_KEYSPACE, "keyspace"},   {ACL_READ, "read"},       {ACL_WRITE, "write"},
    {ACL_SET, "set"},             {ACL_SORTEDSET, "sortedset"}, {ACL_LIST, "list"},
    {ACL_HASH, "hash"},           {ACL_STRING, "string"},   {ACL_BITMAP, "bitmap"},
    {ACL_HYPERLOGLOG, "hyperloglog"}, {ACL_GEO, "geo"},     {ACL_STREAM, "stream"},
    {ACL_PUBSUB, "pubsub"},       {ACL_ADMIN, "admin"},     {ACL_FAST, "fast"},
    {ACL_SLOW, "slow"},           {ACL_BLOCKING, "blocking"}, {ACL_DANGEROUS, "dangerous"},
    {ACL_CONNECTION, "connection"}, {ACL_TRANSACTION, "transaction"},
    {ACL_SCRIPTING, "scripting"}, {0, NULL},
};

uint32_t acl_category_bit(const char *name, size_t len)
{
    for (const struct acl_category_name *a = acl_category_names; a->name; a++)
        if (strlen(a->name) == len && strncasecmp(a->name, name, len) == 0) return a->bit;
    return 0;
}

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
extern const struct cmd_def cmd_rows_multi[];
extern const struct cmd_def cmd_rows_pubsub[];
extern const struct cmd_def cmd_rows_script[];
extern const struct cmd_def cmd_rows_blocking[];
extern const struct cmd_def cmd_rows_function[]; /* function.c */
extern const struct cmd_def cmd_rows_hash[];
extern const struct cmd_def cmd_rows_set[];
extern const struct cmd_def cmd_rows_bitmap[]; /* t_bitmap.c */
extern const struct cmd_def cmd_rows_hll[];    /* t_hll.c */
extern const struct cmd_def cmd_rows_sort[];   /* sort.c */
extern const struct cmd_def cmd_rows_geo[];    /* t_geo.c */
extern const struct cmd_def cmd_rows_dump[];   /* dump.c */
extern const struct cmd_def cmd_rows_stream[];       /* t_stream.c */
extern const struct cmd_def cmd_rows_stream_read[];  /* t_stream_read.c */
extern const struct cmd_def cmd_rows_stream_group[]; /* t_stream_group.c */
extern const struct cmd_def cmd_rows_stream_info[];  /* t_stream_info.c */
extern const struct cmd_def cmd_rows_memlimit[];     /* memlimit.c */
extern const struct cmd_def cmd_rows_acl[];          /* acl.c */
extern const struct cmd_def cmd_rows_encoding[];     /* encoding.c */
extern const struct cmd_def cmd_rows_backup[];       /* backup.c */
extern const struct cmd_def cmd_rows_lock[];         /* t_lock.c */
extern const struct cmd_def cmd_rows_elect[];        /* t_elect.c */
extern const struct cmd_def cmd_rows_hold[];         /* hold.c */
#ifdef PARLEY_TEST_HOOKS
extern const struct cmd_def cmd_rows_testhooks[]; /* testhooks.c, test builds only */
#endif

static const struct cmd_def *const families[] = {
    table,
    internal,
    cmd_rows_multi,
    cmd_rows_pubsub,
    cmd_rows_script,
    cmd_rows_list,
    cmd_rows_blocking,
    cmd_rows_zset,
    cmd_rows_function,
    cmd_rows_hash,
    cmd_rows_set,
    cmd_rows_bitmap,
    cmd_rows_hll,
    cmd_rows_sort,
    cmd_rows_geo,
    cmd_rows_dump,
    cmd_rows_stream,
    cmd_rows_stream_read,
    cmd_rows_stream_group,
    cmd_rows_stream_info,
    cmd_rows_memlimit,
    cmd_rows_acl,
    cmd_rows_encoding,
    cmd_rows_backup,
    cmd_rows_lock,
    cmd_rows_elect,
    cmd_rows_hold,
#ifdef PARLEY_TEST_HOOKS
    cmd_rows_testhooks,
#endif
};
#define N_FAMILIES (sizeof families / sizeof *families)

/* Client-visible commands in table order, for COMMAND and COMMAND COUNT. */
static const struct cmd_def *visible[INDEX_SLOTS];
static size_t n_visible;

/* Every row, subcommands included, by id; and the ids by row address
 * (open addressing on the pointer). */
#define ROWS_MAX 1024
#define ROW_SLOTS 2048 /* power of two, > 2x ROWS_MAX */
static const struct cmd_def *rows_by_id[ROWS_MAX];
static cmd_local_fn *local_by_id[ROWS_MAX];
static size_t n_rows;
static struct {
    const struct cmd_def *def;
    size_t id;
} row_slots[ROW_SLOTS];

static uint64_t ptr_hash(const struct cmd_def *d)
{
    uintptr_t p = (uintptr_t)d;
    return hash_bytes_fixed(&p, sizeof p, 0);
}

static void row_add(const struct cmd_def *d)
{
    assert(n_rows < ROWS_MAX);
    /* A row's key specs parse and cover its legacy positions (keyspec.c). */
    if (!cmd_keys_valid(d)) fprintf(stderr, "command table: bad key specs in row '%s'\n", d->name);
    CHECK(cmd_keys_valid(d));
    CHECK(!(d->flags & CMD_BLOCKING) == !d->block); /* a blocking row says where it waits */
    size_t id = n_rows++;
    rows_by_id[id] = d;
    uint64_t h = ptr_hash(d);
    for (size_t i = 0; i < ROW_SLOTS; i++) {
        size_t slot = (h + i) & (ROW_SLOTS - 1);
        assert(row_slots[slot].def != d);
        if (row_slots[slot].def == NULL) {
            row_slots[slot].def = d;
            row_slots[slot].id = id;
            return;
        }
    }
    assert(!"command row index full");
}

static void index_build(void)
{
    for (size_t f = 0; f < N_FAMILIES; f++) {
        for (const struct cmd_def *d = families[f]; d->name; d++) {
            index_add(d);
            row_add(d);
            for (const struct cmd_def *sub = d->subcommands; sub && sub->name; sub++) row_add(sub);
            if (!(d->flags & CMD_INTERNAL)) {
                assert(n_visible < INDEX_SLOTS);
                visible[n_visible++] = d;
            }
        }
    }
    index_built = true;
}

size_t cmd_count_all(void)
{
    if (!index_built) index_build();
    return n_rows;
}

size_t cmd_id(const struct cmd_def *cmd)
{
    if (!index_built) index_build();
    uint64_t h = ptr_hash(cmd);
    for (size_t i = 0; i < ROW_SLOTS; i++) {
        size_t slot = (h + i) & (ROW_SLOTS - 1);
        if (row_slots[slot].def == cmd) return row_slots[slot].id;
        CHECK(row_slots[slot].def != NULL);
    }
    CHECK(!"row not in the command table");
    return 0;
}

const struct cmd_def *cmd_by_id(size_t id)
{
    if (!index_built) index_build();
    return id < n_rows ? rows_by_id[id] : NULL;
}

void cmd_bind_local(const char *name, cmd_local_fn *fn)
{
    const char *bar = strchr(name, '|');
    const struct cmd_def *d = cmd_lookup(name, bar ? (size_t)(bar - name) : strlen(name), false);
    if (d && bar) d = cmd_lookup_sub(d, bar + 1, strlen(bar + 1));
    /* A row with an exec too (PING, ECHO): clients get the handler,
     * scripts the exec. */
    CHECK(d != NULL && (d->flags & CMD_LOCAL) && fn != NULL);
    size_t id = cmd_id(d);
    CHECK(local_by_id[id] == NULL);
    local_by_id[id] = fn;
}

cmd_local_fn *cmd_local_handler(const struct cmd_def *cmd)
{
    return local_by_id[cmd_id(cmd)];
}

const char *cmd_unbound_local(void)
{
    for (size_t id = 0; id < cmd_count_all(); id++) {
        const struct cmd_def *d = rows_by_id[id];
        if ((d->flags & CMD_LOCAL) && !(d->flags & CMD_CONTAINER) && d->exec == NULL &&
            local_by_id[id] == NULL)
            return d->name;
    }
    return NULL;
}

/* The active protocol version (cmd.h): one value for the process, set by
 * the state machine, read by dispatch (before proposing) and cmd_exec (a
 * script's or a transaction's commands, in apply). */
static unsigned protocol_active = PROTOCOL_BASE;

void cmd_protocol_set_active(unsigned version)
{
    CHECK(version >= PROTOCOL_BASE);
    protocol_active = version;
}

unsigned cmd_protocol_active(void)
{
    return protocol_active;
}

unsigned cmd_protocol_of(const struct cmd_def *cmd)
{
    unsigned v = (unsigned)(cmd->flags >> CMD_PROTOCOL_SHIFT) & 0xff;
    return v ? v : PROTOCOL_BASE;
}

const char *cmd_protocol_refusal(const struct cmd_def *cmd)
{
    static char text[320];
    unsigned need = cmd_protocol_of(cmd);
    if (need <= protocol_active) return NULL;
    char upper_name[64];
    size_t i = 0;
    for (; cmd->name[i] && i + 1 < sizeof upper_name; i++)
        upper_name[i] = cmd->name[i] == '|' ? ' ' : (char)toupper((unsigned char)cmd->name[i]);
    upper_name[i] = '\0';
    snprintf(text, sizeof text,
             "ERR '%s' needs cluster protocol version %u and the cluster runs version %u: the "
             "version is raised once every member runs a build that supports it (RAFT VERSION)",
             upper_name, need, protocol_active);
    return text;
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
