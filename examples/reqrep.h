/* examples/reqrep.h — what the files of the request/reply example share,
 * and what the scenario examples (bank, workqueue, mapreduce, taskqueue,
 * fanout: one file each) take from reqrep_conn.c.
 *
 * reqrep_conn.c     a connection that moves to the next node of a list
 *                   when its node fails (any Parley node accepts clients);
 *                   commands retried through it, pushed messages, a
 *                   consumer group's next entry, the common options
 * reqrep_pattern.c  the pattern itself: the request format, the caller,
 *                   the server loop and the recovery of a dead server
 * reqrep_bench.c    round-trip latency with many callers and servers
 * request_reply.c   the command line: one mode per role
 *
 * Every function that talks to the broker takes a deadline or returns
 * within a bounded time; none of them exits the process. */
#ifndef REQREP_H
#define REQREP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

/* ---- time ------------------------------------------------------------ */

int64_t rr_mono_ms(void);    /* monotonic clock: durations and deadlines */
int64_t rr_mono_us(void);
int64_t rr_unix_ms(void);    /* wall clock: the deadline a request carries */
void rr_sleep_ms(int64_t ms);

/* ---- logging (stderr, one line each, prefixed with the role's name) -- */

void rr_log(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- connection ------------------------------------------------------ */

#define RR_NODES_MAX 16
#define RR_HOST_MAX 256

struct rr_node {
    char host[RR_HOST_MAX];
    int port;
};

/* A connection to one node of a list. A command that fails on the
 * connection (refused, reset, no reply in time) or gets an error reply that
 * a failover produces drops it, and the next command connects to the next
 * node of the list. Not thread-safe: one per thread. */
struct rr_conn {
    struct rr_node nodes[RR_NODES_MAX];
    size_t node_count;
    size_t node_index;        /* the node in use, or tried next */
    redisContext *ctx;        /* NULL while disconnected */
    int64_t connect_timeout_ms;
    int64_t backoff_ms;       /* grows on consecutive failures, 0 after a success */
    const char *who;          /* for log lines */
    bool quiet;               /* no log line per failure (the benchmark) */
};

/* One command of a pipeline: argv and lengths (binary safe). */
#define RR_ARGS_MAX 20
struct rr_cmd {
    int argc;
    const char *argv[RR_ARGS_MAX];
    size_t len[RR_ARGS_MAX];
};

/* Parses `nodes` ("host", "host:port" or a comma-separated list of them;
 * `default_port` where none is given). Returns 0, or -1 with a message in
 * `error` (at least 128 bytes). Connects lazily. */
int rr_conn_init(struct rr_conn *conn, const char *nodes, int default_port, const char *who,
                 char *error);
void rr_conn_close(struct rr_conn *conn);
/* rr_conn_init for a program's main: on failure prints "<program>: <why>"
 * on stderr and returns false. */
bool rr_conn_open(struct rr_conn *conn, const char *program, const char *nodes, int default_port,
                  const char *who);

/* Sends `n` commands in one write and reads their `n` replies, waiting at
 * most `timeout_ms` for each read. On success fills replies[] (the caller
 * frees each with freeReplyObject) and returns 0. On a connection failure
 * returns -1 with replies[] all NULL: the commands may or may not have been
 * executed, and the connection has moved on to the next node. */
int rr_conn_pipeline(struct rr_conn *conn, int64_t timeout_ms, int n, const struct rr_cmd *cmds,
                     redisReply **replies);

/* One command; NULL on a connection failure (see rr_conn_pipeline). */
redisReply *rr_conn_command(struct rr_conn *conn, int64_t timeout_ms, const struct rr_cmd *cmd);

/* True for an error reply that a leader change or an unreachable leader
 * produces, after which the same command may succeed (CLUSTERDOWN, TIMEOUT,
 * NOTLEADER, TRYAGAIN, LOADING, READONLY, MASTERDOWN). */
bool rr_reply_is_transient(const redisReply *reply);

/* After a failure: drops the connection (the next command goes to the next
 * node) and sleeps a backoff that doubles from 50 ms to 1 s, never past
 * `deadline_ms` (monotonic; 0 = no deadline). */
void rr_conn_failed(struct rr_conn *conn, int64_t deadline_ms);
/* After a success: the next failure backs off from 50 ms again. */
void rr_conn_succeeded(struct rr_conn *conn);

/* ---- retried calls (the scenario examples) --------------------------- */

/* A command of C strings (argc <= RR_ARGS_MAX). */
struct rr_cmd rr_cmd_of(int argc, const char *const *argv);

/* One command of C strings, retried on the next node (with backoff) until
 * it answers without an error, or with an error whose text begins with
 * `accept_error` (NULL: none): in the examples a command fails only while
 * nodes fail over. NULL once `timeout_ms` has passed. */
redisReply *rr_conn_call(struct rr_conn *conn, int64_t timeout_ms, const char *accept_error,
                         int argc, const char *const *argv);

/* rr_conn_call's integer: an integer reply, or a string parsed as one, or
 * -1 for nil. *ok is false when no reply came in time (the value is then 0)
 * or the reply was of another type. */
long long rr_conn_call_int(struct rr_conn *conn, int64_t timeout_ms, int argc,
                           const char *const *argv, bool *ok);

/* A consumer of a stream's consumer group. */
struct rr_group_reader {
    const char *stream, *group, *consumer;
    const char *claim_idle_ms;   /* take over an entry left pending this long */
    const char *block_ms;        /* how long to wait for a new entry */
};

/* The next entry for a consumer, one at a time: first one that another
 * consumer left pending for claim_idle_ms (XAUTOCLAIM: that consumer died,
 * or is very slow), else a new one (XREADGROUP ... BLOCK). Returns the
 * reply holding it (the caller frees it; NULL past `timeout_ms`) and sets
 * *entry to the entry ([id, [field, value...]]), or NULL when none came,
 * and *claimed to whether it was taken over. */
redisReply *rr_group_next(struct rr_conn *conn, int64_t timeout_ms, const struct rr_group_reader *g,
                          const redisReply **entry, bool *claimed);

/* On a subscribed connection (after SUBSCRIBE through rr_conn_command):
 * waits at most `timeout_ms` for the next pushed message. 1 with *reply
 * (the caller frees it), 0 when none came in time, -1 when the connection
 * is gone (closed by the server or failed; it is dropped). */
int rr_conn_next_message(struct rr_conn *conn, int64_t timeout_ms, redisReply **reply);

/* ---- the command line of the scenario examples ----------------------- */

/* The options every scenario example takes, first in its getopt_long
 * table (which needs <getopt.h>): -h/--host nodes, -p/--port the default
 * port, --name. */
#define RR_COMMON_OPTIONS                                                                  \
    {"host", required_argument, 0, 'h'}, {"port", required_argument, 0, 'p'},             \
        {"name", required_argument, 0, 'n'}

/* True when getopt_long's `c` is one of RR_COMMON_OPTIONS, taken into the
 * matching variable; for any other, says on stderr where `program`'s usage
 * is (atop examples/<program>.c) and returns false. */
bool rr_common_option(const char *program, int c, const char *arg, const char **nodes, int *port,
                      const char **name);

/* ---- the pattern ----------------------------------------------------- */

/* A request as it travels in the queue, one string:
 *     <id> <reply-key> <deadline-unix-ms> <payload>
 * id: 32 hex digits; reply-key: "reply:<id>"; deadline: when the caller
 * stops waiting (0: never); payload: the rest, any bytes. */
struct rr_request {
    const char *id;
    size_t id_len;
    const char *reply_key;
    size_t reply_key_len;
    int64_t deadline_unix_ms;
    const char *payload;
    size_t payload_len;
};

/* Parses a request in place (fields point into `raw`). Returns false when
 * `raw` is not a request. */
bool rr_request_parse(const char *raw, size_t raw_len, struct rr_request *request);

struct rr_call_options {
    const char *queue;         /* the list servers take requests from */
    int64_t timeout_ms;        /* give up this long after the call started */
};

enum rr_call_result { RR_CALL_OK = 0, RR_CALL_FAILED = 1, RR_CALL_TIMEOUT = 2 };

/* Sends one request and waits for its reply. On RR_CALL_OK *reply holds
 * the reply (malloc'd, NUL-terminated, caller frees) and *reply_len its
 * length. Connection failures are retried on the next node until the
 * timeout; RR_CALL_FAILED is for error replies that retrying cannot fix. */
enum rr_call_result rr_call(struct rr_conn *conn, const struct rr_call_options *options,
                            const char *payload, size_t payload_len, char **reply,
                            size_t *reply_len);

struct rr_serve_options {
    const char *name;          /* unique among servers, stable across restarts */
    const char *queue;
    int64_t reply_ttl_ms;      /* uncollected replies vanish after this */
    int64_t work_ms;           /* simulated work per request (0: none) */
    int64_t poll_ms;           /* how long one BLMOVE waits; bounds the reaction to stop */
    atomic_int *stop;          /* serve returns soon after this becomes non-zero */
    bool verbose;              /* one log line per request */
    /* out */
    uint64_t served;           /* replies committed */
    uint64_t dropped;          /* requests dropped (malformed or past their deadline) */
};

/* The server loop: first re-serves what processing:<name> still holds
 * (its previous incarnation died mid-request), then takes requests one at a
 * time with BLMOVE and answers each in one MULTI/EXEC. Survives connection
 * failures (re-serving its processing list after each). Returns 0 when
 * *stop is set, -1 on an error that retrying cannot fix. */
int rr_serve(struct rr_conn *conn, struct rr_serve_options *options);

/* Moves every request left in processing:<dead_name> back to the queue,
 * one LMOVE at a time (atomic each, so a crash of the recovery loses
 * nothing), oldest served first. Only for a server that will never run
 * again. Returns how many it moved, or -1 (after timeout_ms or an error
 * reply that retrying cannot fix; moved ones stay moved, rerun it). */
long rr_recover(struct rr_conn *conn, const char *queue, const char *dead_name,
                int64_t timeout_ms);

/* The processing list of a server: "processing:<name>". */
void rr_processing_key(const char *name, char *key, size_t key_size);

/* ---- benchmark ------------------------------------------------------- */

struct rr_bench_options {
    const char *nodes;
    int default_port;
    const char *queue;
    int callers;               /* concurrent callers, one thread and connection each */
    int servers;               /* server threads started here (0: servers run elsewhere) */
    long requests;             /* measured calls in total */
    double duration_s;         /* stop starting calls after this */
    int payload_bytes;
    int64_t timeout_ms;        /* per call */
    const char *label;         /* printed with the results */
};

/* Runs the benchmark and prints one line of results on stdout. Returns 0
 * when every measured call got its own reply, 1 otherwise. */
int rr_bench(const struct rr_bench_options *options);

#endif
