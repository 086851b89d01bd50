/* cmds/cmd.h — what a command is, and what it runs with.
 *
 * A command is a row of data in the command table (table.c): its name,
 * arity, flags, key positions and ACL categories, as Redis's command table.
 * Dispatch, COMMAND INFO/DOCS and (later) ACLs all read the same row.
 *
 * Keyspace commands have an `exec` function that runs on the store with a
 * struct cmd_ctx and writes exactly one reply. The same function runs on the
 * leader and on every follower from the apply loop, so it must be
 * deterministic: time comes from ctx->now_ms, randomness from ctx->rng,
 * never from a clock or rand(). It never sees a socket or Raft.
 *
 * Connection and server commands (PING, CLIENT, INFO, ...) have no `exec`:
 * they are flagged CMD_LOCAL and server/ runs them: at start-up server/
 * binds a handler to each of their rows (cmd_bind_local), and dispatch
 * calls the row's handler. Nothing routes on a command's name. */
#ifndef PARLEY_CMDS_CMD_H
#define PARLEY_CMDS_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "resp/parse.h"
#include "resp/write.h"
#include "store/keyspace.h"

enum cmd_flag {
    CMD_WRITE = 1u << 0,    /* changes the keyspace: goes through the log */
    CMD_READONLY = 1u << 1, /* reads the keyspace */
    CMD_LOCAL = 1u << 2,    /* runs in server/, never logged */
    CMD_FAST = 1u << 3,
    CMD_ADMIN = 1u << 4,
    CMD_DENYOOM = 1u << 5,
    CMD_NOSCRIPT = 1u << 6,
    CMD_LOADING = 1u << 7,
    CMD_STALE = 1u << 8,
    CMD_NO_AUTH = 1u << 9,
    CMD_PUBSUB = 1u << 10,
    CMD_INTERNAL = 1u << 11, /* proposed by the leader only; unknown to clients */
    CMD_CONTAINER = 1u << 12,/* has subcommands (CLIENT, CONFIG, OBJECT...) */
    CMD_RANDOM = 1u << 13,   /* result depends on randomness (RANDOMKEY) */
    CMD_FOR_CLIENT = 1u << 14, /* internal, but sent on a client's behalf
                                  (__exec, __watch): a follower may forward it */
    CMD_ALLOW_BUSY = 1u << 15, /* Redis runs it while a script is busy (COMMAND INFO only) */
    CMD_BLOCKING = 1u << 16,   /* may block its client (BLPOP...) */
    CMD_GROWS_TO_ARG = 1u << 17, /* makes a string as long as the offset argv[2]
                                    plus the length of argv[3] (SETRANGE):
                                    checked before it is proposed (memlimit.h) */
    CMD_TX_CONTROL = 1u << 18, /* runs at once inside MULTI, never queued
                                  (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET) */
    CMD_TX_REPLY = 1u << 19,   /* a local command Redis queues inside MULTI; its
                                  handler queues what it answers in EXEC
                                  (SELECT, UNWATCH, PING, ECHO) */
    CMD_SUBSCRIBED = 1u << 20, /* allowed in RESP2 subscribed mode
                                  ((P|S)(UN)SUBSCRIBE, PING, QUIT, RESET) */
    CMD_NODE = 1u << 21,       /* spoken between nodes (PARLEY.PEER, PARLEY.FWD):
                                  outside ACL, no rule grants or denies it */
    CMD_PEER_ONLY = 1u << 22,  /* runs only on a connection that proved it is
                                  a cluster node (server/cmd_peer.c) */
    /* Bits 23 and 24 are free (they said what a command does to its
     * keys; the row's `keys` string says it now, keyspec.c). */
    CMD_NOT_QUEUED = 1u << 25, /* answers one reply per name, or none: never a
                                  command of a transaction (__subscribe,
                                  __unsubscribe) */
    /* The channels ACL checks, as Redis 7.0's channel specs name them
     * (its CMD_CHANNEL_PUBLISH / SUBSCRIBE / PATTERN; the unsubscribe
     * commands, PUBSUB's subcommands and scripts name none it checks). */
    CMD_CHANNEL_PUBLISH = 1u << 26,   /* argv[1] is a channel it publishes to
                                         (PUBLISH, SPUBLISH) */
    CMD_CHANNEL_SUBSCRIBE = 1u << 27, /* every argument is a channel it
                                         subscribes to (SUBSCRIBE, SSUBSCRIBE,
                                         PSUBSCRIBE) */
    CMD_CHANNEL_PATTERN = 1u << 28,   /* ... a pattern (PSUBSCRIBE): a user's
                                         channel pattern must be the same,
                                         literally */
    CMD_PATTERN_KEYS = 1u << 29,      /* arguments may name keys no key spec
                                         can find (SORT's BY and GET
                                         patterns): COMMAND INFO says
                                         movablekeys */
    CMD_TX_LOCAL = 1u << 30,          /* a node-local command Redis queues
                                         inside MULTI (SLOWLOG, CONFIG GET/SET,
                                         CLIENT PAUSE): it runs on this node
                                         when EXEC is sent, and its reply takes
                                         its place in EXEC's (server/cmd_multi.c) */
    CMD_WRAPS_COMMAND = 1u << 31,     /* argv[CMD_WRAPPED_AT] on is a command it
                                         runs (LOCK.FENCED): the server checks
                                         it as that command too (cmd_wrapped) */
};
#define CMD_WRAPPED_AT 3
/* Flags past bit 31 (an enum constant must fit an int). */
#define CMD_SECRET (1ull << 32)       /* its arguments are secrets (AUTH,
                                         HELLO): never in the slow log, and
                                         MONITOR shows them as (redacted) */
#define CMD_SKIP_SLOWLOG (1ull << 33) /* not in the slow log: the commands it
                                         runs are (EXEC) */
#define CMD_PAYLOAD (1ull << 34)      /* argv[3] is a DUMP payload (RESTORE): a
                                         malformed one is refused before it is
                                         proposed when apply is sure to refuse
                                         it (cmd_payload_precheck) */
#define CMD_NO_MANDATORY_KEYS (1ull << 35) /* may name no key at all (EVAL ... 0,
                                              FCALL): COMMAND GETKEYS answers an
                                              empty list, not an error */
/* The cluster protocol version (below) from which the command may be
 * proposed, in the flags' top byte: CMD_PROTOCOL(2). None (0) is
 * PROTOCOL_BASE. A command every build of a version applies alike carries
 * the first such version. */
#define CMD_PROTOCOL_SHIFT 56
#define CMD_PROTOCOL(v) ((uint64_t)(v) << CMD_PROTOCOL_SHIFT)


enum acl_category {
    ACL_KEYSPACE = 1u << 0,
    ACL_READ = 1u << 1,
    ACL_WRITE = 1u << 2,
    ACL_STRING = 1u << 3,
    ACL_FAST = 1u << 4,
    ACL_SLOW = 1u << 5,
    ACL_ADMIN = 1u << 6,
    ACL_DANGEROUS = 1u << 7,
    ACL_CONNECTION = 1u << 8,
    ACL_SERVER = 1u << 9,
    ACL_PUBSUB = 1u << 10,
    ACL_SCRIPTING = 1u << 11,
    ACL_LIST = 1u << 12,
    ACL_SET = 1u << 13,
    ACL_SORTEDSET = 1u << 14,
    ACL_HASH = 1u << 15,
    ACL_BLOCKING = 1u << 16,
    ACL_TRANSACTION = 1u << 17,
    ACL_STREAM = 1u << 18,
    ACL_BITMAP = 1u << 19,      /* no commands of Parley's yet */
    ACL_HYPERLOGLOG = 1u << 20, /* no commands of Parley's yet */
    ACL_GEO = 1u << 21,         /* no commands of Parley's yet */
};
/* The categories' names without '@', in the order Redis's ACL CAT lists
 * them; NULL-name terminated. */
struct acl_category_name {
    uint32_t bit;
    const char *name;
};
extern const struct acl_category_name acl_category_names[];
/* The bit of the category named (without '@', any case), 0 if none. */
uint32_t acl_category_bit(const char *name, size_t len);

struct cmd_ctx;
typedef void cmd_exec_fn(struct cmd_ctx *c);
struct cmd_oom_guard;
struct cmd_def;
/* A CMD_LOCAL command's handler in server/ (struct client is server/'s,
 * opaque here). */
struct client;
typedef void cmd_local_fn(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv);

/* Where a blocking command's call waits: on the keys argv[first] ..
 * argv[first + n - 1], for the timeout argv[timeout] (milliseconds if
 * ms_units, else seconds). */
struct block_shape {
    int first, n, timeout;
    bool ms_units;
    bool in_line; /* the call waits in a line kept in the keyspace (a
                     lock's, cmds/hold.c): argv[1] is the key, argv[2] the
                     holder, and a waiter that leaves unserved must leave
                     the line (__holdcancel) */
};
/* A blocking row's shape of a call: false if this call does not wait
 * (XREAD without BLOCK, LOCK.ACQUIRE without WAIT) or cannot say where. */
typedef bool cmd_block_fn(int argc, const struct resp_arg *argv, struct block_shape *sh);

struct cmd_def {
    const char *name;  /* lower case; "client|setname" style for subcommands */
    int arity;         /* > 0 exact argc, < 0 at least -arity */
    uint64_t flags;
    int first_key, last_key, key_step; /* Redis's legacy key positions */
    uint32_t acl;
    cmd_exec_fn *exec;
    const char *group, *since, *summary, *complexity; /* COMMAND DOCS */
    const struct cmd_def *subcommands; /* NULL-name terminated */
    /* Key specs: what the command does to each of its keys, with Redis
     * 7.0's key-spec flags, and where the keys are when the legacy
     * positions cannot say (LMOVE, EVAL's numkeys, XREAD's STREAMS):
     * keyspec.c gives the grammar. A row with legacy positions has one;
     * NULL or "": no keys. */
    const char *keys;
    /* CMD_BLOCKING rows: where a call waits (server/blocking.c). */
    cmd_block_fn *block;
};

/* Cluster protocol versions (repl/version.c, README "Upgrades"): what a
 * build understands of the log (entry formats, snapshot formats, internal
 * commands, the command set). PROTOCOL_BASE is every build before versions
 * were announced (up to commit edb9635), whose command set is this table's
 * rows without a `protocol`; PROTOCOL_BUILD is this build's. The cluster's
 * active version (replicated) is raised once every member supports it; a
 * command is proposed only when the active version reaches its row's.
 * Version 2: the __version record and replication state 5. Version 3:
 * RESTORE reads streams and Redis 6's ziplists, DUMP writes streams
 * (PROTOCOL_RESTORE_FORMS, cmds/dump.c: until then they are refused as
 * builds of version 2 refuse them, the same on every node). Version 4:
 * MIGRATE, RESTORE-ASKING, __migrateread and __migratedel (cmds/dump.c).
 * Version 5: snapshots and backups of keyspace format 6, packed in LZ4
 * blocks (store/snapshot.h, repl/apply.c's fsm_encode_keyspace). */
#define PROTOCOL_BASE 1u
#define PROTOCOL_RESTORE_FORMS 3u
#define PROTOCOL_MIGRATE 4u
#define PROTOCOL_PACKED_SNAPSHOTS 5u
#define PROTOCOL_BUILD 5u

/* The row that ends every table of rows (name NULL). */
#define CMD_ROWS_END {0}

struct cmd_ctx {
    struct store *store;
    int db;
    int64_t now_ms;    /* the entry's time (apply) or the leader's clock */
    uint64_t rng;      /* PRNG state; seeded from the log entry in apply */
    bool apply;        /* running from the log: may evict expired keys */
    uint64_t origin;   /* the process that sent the command (apply only) */
    /* Where the command is in the log (apply only): the entry's index,
     * the command's place in it, and the fencing tokens minted so far by
     * it and the commands it runs (t_lock.c). NULL minted: no log here. */
    uint64_t log_index;
    uint32_t log_command;
    uint32_t *tokens_minted;
    bool no_block;     /* inside MULTI or a script: blocking commands don't */
    bool in_script;    /* inside a script (XREAD BLOCK is refused there) */
    bool wrapped;      /* run by LOCK.FENCED: the slow log shows the whole
                          LOCK.FENCED call instead */
    bool blocked;      /* out: a blocking command found nothing and wrote
                          no reply; its client waits (server/blocking.c) */
    bool retry;        /* a waiting blocking command trying again (__retry):
                          a key it pops from or reads that holds another
                          type now is no key, as Redis 7.0 keeps such a
                          client blocked (ctx_lookup_source) */
    long long max_bulk_len; /* proto-max-bulk-len, the largest string */
    uint64_t script_budget; /* a Lua run's limits (lua_sandbox.h); 0: defaults */
    uint64_t script_memory;
    /* Set (by __oomguard, memlimit.c) when the leader found memory over
     * maxmemory as it proposed a script: the script's first deny-oom
     * command is refused, as Redis refuses it (NULL otherwise). */
    struct cmd_oom_guard *oom_guard;
    /* The user whose permissions redis.call checks (__asuser, acl.h);
     * NULL: no checks. */
    const char *acl_user;
    size_t acl_user_len;
    struct resp_out out;
    int argc;
    const struct resp_arg *argv;
    const struct cmd_def *cmd;
};

/* The cluster's active protocol version, as the state machine last
 * applied it (repl/ sets it; PROTOCOL_BASE until then): the same at the
 * same log position on every replica. */
void cmd_protocol_set_active(unsigned version);
unsigned cmd_protocol_active(void);
/* CMD_PAYLOAD rows (cmds/dump.c): NULL, or the error apply is sure to
 * answer, which the receiving node answers instead of proposing.
 * max_string is proto-max-bulk-len. */
const char *cmd_payload_precheck(int argc, const struct resp_arg *argv, long long max_string);
/* The version cmd needs (its row's, PROTOCOL_BASE for 0). */
unsigned cmd_protocol_of(const struct cmd_def *cmd);
/* NULL when the active version allows cmd; else the error to refuse it with
 * (without '-'), valid until the next call. */
const char *cmd_protocol_refusal(const struct cmd_def *cmd);

/* Lookup by name (case-insensitive), NULL if unknown. Internal commands are
 * only found when internal is true. */
const struct cmd_def *cmd_lookup(const char *name, size_t len, bool internal);
/* For a container command, the subcommand argv[1] names, or NULL. */
const struct cmd_def *cmd_lookup_sub(const struct cmd_def *parent, const char *name, size_t len);
bool cmd_arity_ok(const struct cmd_def *cmd, int argc);
/* Iteration over the top-level table (for COMMAND). */
const struct cmd_def *cmd_table_at(size_t i);
size_t cmd_table_size(void);

/* Every row, subcommands included, has a dense id in [0, cmd_count_all())
 * (ACL users keep one bit per id). */
size_t cmd_count_all(void);
size_t cmd_id(const struct cmd_def *cmd);
const struct cmd_def *cmd_by_id(size_t id);
/* Binds server/'s handler to the CMD_LOCAL row named "name" or
 * "parent|sub" (asserts the row exists, has no exec and is not bound
 * yet); cmd_local_handler gives it back (NULL when unbound).
 * cmd_unbound_local names a CMD_LOCAL row without exec nor handler, or is
 * NULL: server/ checks at start-up that it bound them all. */
void cmd_bind_local(const char *name, cmd_local_fn *fn);
cmd_local_fn *cmd_local_handler(const struct cmd_def *cmd);
const char *cmd_unbound_local(void);

/* What a command does to a key: Redis 7.0's key-spec flags. Exactly one
 * of RO, RW, OW, RM; then ACCESS (reads its value: %R~ needed), UPDATE,
 * INSERT, DELETE (changes it: %W~ needed). A key it does neither to (RO
 * alone: EXISTS, TYPE) needs only a matching pattern. */
enum key_flag {
    KEY_RO = 1u << 0,
    KEY_RW = 1u << 1,
    KEY_OW = 1u << 2,
    KEY_RM = 1u << 3,
    KEY_ACCESS = 1u << 4,
    KEY_UPDATE = 1u << 5,
    KEY_INSERT = 1u << 6,
    KEY_DELETE = 1u << 7,
    KEY_NOT_KEY = 1u << 8, /* names no key (SPUBLISH's channel) */
    KEY_INCOMPLETE = 1u << 9,
    KEY_VARIABLE_FLAGS = 1u << 10,
    /* Parley's, not answered by COMMAND GETKEYSANDFLAGS: a lookup that
     * misses the key fires a keymiss event (notify_key_misses). */
    KEY_NOTIFY_MISS = 1u << 16,
};
#define KEY_WRITES (KEY_UPDATE | KEY_INSERT | KEY_DELETE)
/* The flags' names in the order Redis answers them; NULL-name terminated. */
struct key_flag_name {
    uint32_t bit;
    const char *name;
};
extern const struct key_flag_name key_flag_names[];

/* The keys of this call of cmd (resolved: a container's subcommand), from
 * its row (keyspec.c): fn gets each key's index and what the command does
 * to it (enum key_flag); returns the index of the first key fn refused
 * (returned false for), or -1. */
typedef bool cmd_key_fn(void *arg, int index, uint32_t key_flags);
int cmd_keys_each(const struct cmd_def *cmd, int argc, const struct resp_arg *argv,
                  cmd_key_fn *fn, void *arg);
/* Whether every key spec of the row finds its keys in this call, as Redis
 * judges it (a count that is not positive or runs past the arguments, a
 * position past them: an invalid spec). COMMAND GETKEYS answers no keys
 * then; ACL still checks what cmd_keys_each finds. */
bool cmd_keys_complete(const struct cmd_def *cmd, int argc, const struct resp_arg *argv);
/* Whether a row names keys at all (a spec that is not not_key). */
bool cmd_has_keys(const struct cmd_def *cmd);
/* Whether a row's keys move with its arguments (COMMAND INFO's
 * movablekeys): counted or found after a word, or named by patterns. */
bool cmd_keys_movable(const struct cmd_def *cmd);
/* Whether a row's `keys` string parses, and says what the row does to the
 * keys at its legacy positions when it has some. */
bool cmd_keys_valid(const struct cmd_def *cmd);

/* Whether this call of a command may wait (its row's block shape says
 * where). A command that may wait goes through the log, even when it is
 * a read. */
bool cmd_may_block(const struct cmd_def *cmd, int argc, const struct resp_arg *argv);

/* Runs cmd->exec with the arguments in c (c->cmd is set by the caller),
 * with the keyspace's access clock at c->now_ms. */
void cmd_exec(struct cmd_ctx *c);
/* The innermost command cmd_exec is running, or NULL: for the keyspace's
 * hooks that act as part of it (hold.c). */
struct cmd_ctx *cmd_running(void);
/* Called after every cmd_exec with how long it took (the server's slow
 * log); one observer per process, NULL for none. */
typedef void cmd_exec_observer_fn(void *arg, const struct cmd_ctx *c, uint64_t usec);
void cmd_set_exec_observer(cmd_exec_observer_fn *fn, void *arg);

/* Reply helpers with Redis's exact texts. */
void cmd_reply_syntax_error(struct cmd_ctx *c);
void cmd_reply_wrongtype(struct cmd_ctx *c);
void cmd_reply_not_integer(struct cmd_ctx *c);
void cmd_reply_arity(struct resp_out *o, const struct cmd_def *cmd);
/* PING's answer (ping.c): PONG, its argument, or the arity error. */
void cmd_reply_ping(struct resp_out *o, const struct cmd_def *cmd, int argc,
                    const struct resp_arg *argv);

/* Argument helpers. */
bool arg_is(const struct resp_arg *a, const char *word); /* case-insensitive */
bool arg_to_ll(const struct resp_arg *a, long long *v);
bool arg_to_ld(const struct resp_arg *a, long double *v); /* Redis string2ld */
/* Redis's getDoubleFromObject: strtod over the whole argument, no leading
 * space, no NaN, no overflow to +-inf and no underflow to 0. */
bool arg_to_double(const struct resp_arg *a, double *v);
/* Parses an integer argument or replies "value is not an integer or out of
 * range"; returns false after replying. */
bool arg_get_ll_or_reply(struct cmd_ctx *c, const struct resp_arg *a, long long *v);

/* Redis's parseScanCursorOrReply: strtoul, so a sign is accepted ("-1" is
 * the largest cursor), an empty cursor is 0, and parsing stops at a NUL. */
bool arg_to_cursor(const struct resp_arg *a, uint64_t *cursor);
/* HSCAN/SSCAN/ZSCAN options from argv[first]: COUNT n (>= 1, default 10)
 * and MATCH pattern (*pattern NULL when absent or "*"). Replies and returns
 * false on a syntax error or a bad count. */
bool scan_options_or_reply(struct cmd_ctx *c, int first, long long *count,
                           const struct resp_arg **pattern);

/* SCAN over a replicated order (the keys of a database, the members of a
 * hashtable set or hash or of a skiplist sorted set), walked by index,
 * downwards: the cursor is the index below which elements remain to be
 * visited, 0 to start (meaning the size) and 0 again at the end. A call
 * visits the indexes bottom <= i < top, from the top, and answers bottom
 * as the next cursor. A cursor beyond the size (the collection shrank, or
 * a made-up cursor) starts from the size. The replies depend only on the
 * replicated order, so they are the same on every replica (a Lua script
 * may write what SCAN returned), and every element present for the whole
 * scan is returned (common.c says why). */
void scan_index_window(uint64_t cursor, uint64_t size, uint64_t step, uint64_t *top,
                       uint64_t *bottom);
/* The start of a SCAN reply: a two-element array, then the cursor as a bulk
 * string; the caller writes the array of elements. */
void reply_scan_cursor(struct cmd_ctx *c, uint64_t cursor);

/* Redis's ld2string in "human friendly" mode (INCRBYFLOAT, HINCRBYFLOAT):
 * %.17Lf without trailing zeros, "-0" printed as "0". Returns the length,
 * 0 if it does not fit in cap. */
size_t format_long_double(char *out, size_t cap, long double v);

/* k distinct indices in [0, n) (k <= n), chosen with dict_rand64(rng), into
 * out. Uniform; O(k) time and memory when k is small next to n. */
void sample_distinct(uint64_t *rng, uint64_t n, uint64_t k, uint64_t *out);

/* t_lock.c: the command a CMD_WRAPS_COMMAND row (LOCK.FENCED) runs, from
 * argv[CMD_WRAPPED_AT], or NULL with the error text in *why (unknown, wrong
 * arity, or one that cannot be fenced: blocking, scripting, local,
 * pub/sub, transactions, LOCK.FENCED itself). */
const struct cmd_def *cmd_wrapped(int argc, const struct resp_arg *argv, const char **why);

/* hold.c: lets locks and elections act when the keyspace removes one by
 * itself (store_set_reclaimed_hook): an election that expired or was
 * evicted is announced, a hold that expired passes to the first of its
 * line. Once, at start-up. */
void hold_init(void);

/* t_hll.c: PFSELFTEST's checks of the HyperLogLog arithmetic (server/
 * runs it); false with the failure in err. */
bool hll_selftest(char *err, size_t errlen);

/* The longest string a command may make: in apply, the entry's limit
 * (the leader's proto-max-bulk-len, at most the leader's memory), the same
 * on every node; elsewhere proto-max-bulk-len, at most this machine's
 * physical memory. */
long long cmd_max_string_len(const struct cmd_ctx *c);

/* Parley's bound on the negative COUNT of SRANDMEMBER, HRANDFIELD and
 * ZRANDMEMBER (Redis has none): at most cmd_max_string_len / 8 repeated
 * elements. A read that goes through the log builds its reply on every
 * node, so an absurd count would exhaust every replica's memory, and again
 * at each replay. Replies "ERR value is out of range" and returns false
 * beyond it. */
bool random_count_ok(struct cmd_ctx *c, long long count);

/* Keyspace access with the context's time and eviction rule. */
struct dict_entry *ctx_lookup(struct cmd_ctx *c, const struct resp_arg *key);
/* The key a blocking command pops from or reads (BLPOP's lists, XREAD's
 * streams; also their non-blocking twins): ctx_lookup_type, except that on
 * a retry (c->retry) a key of another type is as good as missing. */
struct dict_entry *ctx_lookup_source(struct cmd_ctx *c, const struct resp_arg *key, int type,
                                     bool *wrong);
/* ctx_lookup that leaves the key's access record alone (TYPE, TTL, EXISTS). */
struct dict_entry *ctx_lookup_notouch(struct cmd_ctx *c, const struct resp_arg *key);
/* Like ctx_lookup but replies WRONGTYPE and returns NULL with *wrong set when
 * the key holds another type. */
struct dict_entry *ctx_lookup_type(struct cmd_ctx *c, const struct resp_arg *key, int type,
                                   bool *wrong);

/* A keyspace event (store/notify.h) of class cls about key, in the
 * command's database: Redis's notifyKeyspaceEvent. */
static inline void ctx_notify(struct cmd_ctx *c, uint32_t cls, const char *event,
                              const struct resp_arg *key)
{
    store_notify(c->store, c->db, cls, event, key->ptr, key->len);
}

/* Redis's stringmatchlen: glob-style pattern matching (*, ?, [a-z], [^x], \). */
bool glob_match(const char *pattern, size_t plen, const char *s, size_t slen, bool nocase);

#endif
