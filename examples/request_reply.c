/* examples/request_reply.c — the command line of the request/reply example:
 * one mode per role (serve, call, recover, bench); the pattern itself is in
 * reqrep_pattern.c. See examples/README.md. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqrep.h"

static const char usage[] =
    "Usage: request_reply MODE [options] [argument]\n"
    "\n"
    "Modes:\n"
    "  serve --name NAME   answer requests until SIGINT or SIGTERM; first re-serves\n"
    "                      what processing:NAME still holds (a previous crash)\n"
    "  call PAYLOAD        send one request and print its reply (exit 2 on timeout)\n"
    "  recover DEAD-NAME   move the in-flight requests of a server that will never\n"
    "                      come back from processing:DEAD-NAME to the queue\n"
    "  bench               measure round trips with server and caller threads\n"
    "\n"
    "Options:\n"
    "  -h, --host NODES      host, host:port, or a comma-separated list of them; on a\n"
    "                        connection failure the next one is used (127.0.0.1)\n"
    "  -p, --port PORT       port of the hosts given without one (6379)\n"
    "  --queue KEY           the list requests wait in (requests)\n"
    "  --timeout-ms MS       call, recover, bench: give up after this (10000)\n"
    "  -v, --verbose         serve: one line per request\n"
    "serve:\n"
    "  --name NAME           unique among running servers, the same across restarts\n"
    "  --reply-ttl-ms MS     uncollected replies expire after this (60000)\n"
    "  --work-ms MS          pretend each request takes this long (0)\n"
    "  --poll-ms MS          how long one BLMOVE waits (1000)\n"
    "bench:\n"
    "  --callers N           concurrent callers, a thread and connection each (1)\n"
    "  --servers N           server threads to start, 0 if they run elsewhere (4)\n"
    "  --requests N          measured calls in all (1000)\n"
    "  --duration-s S        stop starting calls after this (30)\n"
    "  --payload-bytes N     request payload size (16)\n"
    "  --label TEXT          printed with the results\n";

enum {
    OPT_QUEUE = 256,
    OPT_TIMEOUT_MS,
    OPT_NAME,
    OPT_REPLY_TTL_MS,
    OPT_WORK_MS,
    OPT_POLL_MS,
    OPT_CALLERS,
    OPT_SERVERS,
    OPT_REQUESTS,
    OPT_DURATION_S,
    OPT_PAYLOAD_BYTES,
    OPT_LABEL,
    OPT_HELP,
};

struct args {
    const char *nodes, *queue, *name, *label;
    long port, timeout_ms, reply_ttl_ms, work_ms, poll_ms;
    long callers, servers, requests, payload_bytes;
    double duration_s;
    bool verbose;
};

static atomic_int stop_requested;

static void on_stop_signal(int signo)
{
    (void)signo;
    atomic_store(&stop_requested, 1);
}

static long number(const char *option, const char *text, long min, long max)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "request_reply: %s wants a number from %ld to %ld, not '%s'\n", option,
                min, max, text);
        exit(2);
    }
    return value;
}

static void parse(int argc, char **argv, struct args *a)
{
    static const struct option options[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"verbose", no_argument, NULL, 'v'},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
        {"name", required_argument, NULL, OPT_NAME},
        {"reply-ttl-ms", required_argument, NULL, OPT_REPLY_TTL_MS},
        {"work-ms", required_argument, NULL, OPT_WORK_MS},
        {"poll-ms", required_argument, NULL, OPT_POLL_MS},
        {"callers", required_argument, NULL, OPT_CALLERS},
        {"servers", required_argument, NULL, OPT_SERVERS},
        {"requests", required_argument, NULL, OPT_REQUESTS},
        {"duration-s", required_argument, NULL, OPT_DURATION_S},
        {"payload-bytes", required_argument, NULL, OPT_PAYLOAD_BYTES},
        {"label", required_argument, NULL, OPT_LABEL},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const long day_ms = 86400000;
    int opt;
    while ((opt = getopt_long(argc, argv, "h:p:v", options, NULL)) != -1) {
        switch (opt) {
        case 'h': a->nodes = optarg; break;
        case 'p': a->port = number("--port", optarg, 1, 65535); break;
        case 'v': a->verbose = true; break;
        case OPT_QUEUE: a->queue = optarg; break;
        case OPT_TIMEOUT_MS: a->timeout_ms = number("--timeout-ms", optarg, 1, day_ms); break;
        case OPT_NAME: a->name = optarg; break;
        case OPT_REPLY_TTL_MS:
            a->reply_ttl_ms = number("--reply-ttl-ms", optarg, 1, 365 * day_ms);
            break;
        case OPT_WORK_MS: a->work_ms = number("--work-ms", optarg, 0, day_ms); break;
        case OPT_POLL_MS: a->poll_ms = number("--poll-ms", optarg, 1, 60000); break;
        case OPT_CALLERS: a->callers = number("--callers", optarg, 1, 1000); break;
        case OPT_SERVERS: a->servers = number("--servers", optarg, 0, 1000); break;
        case OPT_REQUESTS: a->requests = number("--requests", optarg, 1, 100000000); break;
        case OPT_DURATION_S: a->duration_s = (double)number("--duration-s", optarg, 1, 86400); break;
        case OPT_PAYLOAD_BYTES:
            a->payload_bytes = number("--payload-bytes", optarg, 1, 4000);
            break;
        case OPT_LABEL: a->label = optarg; break;
        case OPT_HELP: fputs(usage, stdout); exit(0);
        default: fputs(usage, stderr); exit(2);
        }
    }
}

/* The only argument a mode takes after its options, or NULL. */
static const char *operand(int argc, char **argv, const char *mode, bool wanted)
{
    int left = argc - optind;
    if ((wanted && left != 1) || (!wanted && left != 0)) {
        fprintf(stderr, "request_reply %s: %s\n%s", mode,
                wanted ? "takes exactly one argument" : "takes no argument", usage);
        exit(2);
    }
    return wanted ? argv[optind] : NULL;
}

static void connect_or_exit(struct rr_conn *conn, const struct args *a, const char *who)
{
    char error[128];
    if (rr_conn_init(conn, a->nodes, (int)a->port, who, error) != 0) {
        fprintf(stderr, "request_reply: %s\n", error);
        exit(2);
    }
}

static int mode_serve(const struct args *a)
{
    if (a->name == NULL || a->name[0] == '\0' || strpbrk(a->name, " \t\r\n")) {
        fprintf(stderr, "request_reply serve: needs --name, without spaces: unique among the\n"
                        "servers that run at the same time, and the same when this one restarts\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct rr_conn conn;
    connect_or_exit(&conn, a, a->name);
    struct rr_serve_options options = {
        .name = a->name,
        .queue = a->queue,
        .reply_ttl_ms = a->reply_ttl_ms,
        .work_ms = a->work_ms,
        .poll_ms = a->poll_ms,
        .stop = &stop_requested,
        .verbose = a->verbose,
    };
    char processing[512];
    rr_processing_key(a->name, processing, sizeof processing);
    char via[256] = "";
    for (size_t i = 0, used = 0; i < conn.node_count && used < sizeof via; i++) {
        int n = snprintf(via + used, sizeof via - used, "%s%s:%d", i ? "," : "",
                         conn.nodes[i].host, conn.nodes[i].port);
        if (n < 0) break;
        used += (size_t)n;
    }
    rr_log(a->name, "serving %s (in flight: %s) via %s", a->queue, processing, via);
    int rc = rr_serve(&conn, &options);
    rr_conn_close(&conn);
    rr_log(a->name, "%s after serving %llu request(s), dropping %llu",
           rc == 0 ? "stopped" : "gave up", (unsigned long long)options.served,
           (unsigned long long)options.dropped);
    return rc == 0 ? 0 : 1;
}

static int mode_call(const struct args *a, const char *payload)
{
    struct rr_conn conn;
    connect_or_exit(&conn, a, "call");
    const struct rr_call_options options = {.queue = a->queue, .timeout_ms = a->timeout_ms};
    char *reply;
    size_t reply_len;
    enum rr_call_result result =
        rr_call(&conn, &options, payload, strlen(payload), &reply, &reply_len);
    rr_conn_close(&conn);
    if (result == RR_CALL_OK) {
        fwrite(reply, 1, reply_len, stdout);
        fputc('\n', stdout);
        free(reply);
        return 0;
    }
    if (result == RR_CALL_TIMEOUT)
        rr_log("call", "no reply within %ld ms", a->timeout_ms);
    return (int)result;
}

static int mode_recover(const struct args *a, const char *dead_name)
{
    struct rr_conn conn;
    connect_or_exit(&conn, a, "recover");
    long moved = rr_recover(&conn, a->queue, dead_name, a->timeout_ms);
    rr_conn_close(&conn);
    if (moved < 0) return 1;
    char processing[512];
    rr_processing_key(dead_name, processing, sizeof processing);
    printf("moved %ld request(s) from %s to %s\n", moved, processing, a->queue);
    return 0;
}

static int mode_bench(const struct args *a)
{
    const struct rr_bench_options options = {
        .nodes = a->nodes,
        .default_port = (int)a->port,
        .queue = a->queue,
        .callers = (int)a->callers,
        .servers = (int)a->servers,
        .requests = a->requests,
        .duration_s = a->duration_s,
        .payload_bytes = (int)a->payload_bytes,
        .timeout_ms = a->timeout_ms,
        .label = a->label,
    };
    return rr_bench(&options);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *mode = argv[1];
    struct args a = {
        .nodes = "127.0.0.1",
        .queue = "requests",
        .port = 6379,
        .timeout_ms = 10000,
        .reply_ttl_ms = 60000,
        .poll_ms = 1000,
        .callers = 1,
        .servers = 4,
        .requests = 1000,
        .duration_s = 30,
        .payload_bytes = 16,
    };
    parse(argc - 1, argv + 1, &a);
    optind += 1; /* operands are counted in the full argv */

    /* A write to a connection the other end closed must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    if (strcmp(mode, "serve") == 0) {
        operand(argc, argv, mode, false);
        return mode_serve(&a);
    }
    if (strcmp(mode, "call") == 0) return mode_call(&a, operand(argc, argv, mode, true));
    if (strcmp(mode, "recover") == 0) return mode_recover(&a, operand(argc, argv, mode, true));
    if (strcmp(mode, "bench") == 0) {
        operand(argc, argv, mode, false);
        return mode_bench(&a);
    }
    fprintf(stderr, "request_reply: unknown mode '%s'\n%s", mode, usage);
    return 2;
}
