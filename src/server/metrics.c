/* server/metrics.c — the Prometheus endpoint: `metrics-port` (0, off by
 * default) serves HTTP `GET /metrics` (text exposition format 0.0.4) and
 * `GET /health` on the `bind` addresses.
 *
 * One request per connection, answered and closed (HTTP/1.1 with
 * "Connection: close"): a request's head may be 8 KB, must arrive within
 * 5 s, and at most 64 scrapes are served at once; anything else is closed
 * without an answer. When the default user needs a password (requirepass,
 * ACL), a scrape must log in with HTTP Basic auth as a user that may run
 * INFO, as a client would: 401 otherwise.
 *
 * /health answers 200 only while the node knows a leader, has applied
 * every entry it knows committed and can write its Raft log to the data
 * directory (repl/diskwatch.c; 503 otherwise), for load balancers and
 * Kubernetes probes. The figures are this node's own, as INFO's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "base/histogram.h"
#include "base/log.h"
#include "base/mem.h"
#include "cmds/acl.h"
#include "cmds/cmdstats.h"
#include "net/bindlist.h"
#include "server/server.h"

#define HEAD_MAX 8192
#define SCRAPES_MAX 64
#define SCRAPE_TIMEOUT_MS 5000

struct scrape {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct server *srv;
    char head[HEAD_MAX];
    size_t len;
    struct buf reply;
    uv_write_t wr;
    int closing; /* handles still to close */
};

static int n_scrapes;

static void on_handle_closed(uv_handle_t *h)
{
    struct scrape *sc = h->data;
    if (--sc->closing > 0) return;
    buf_free(&sc->reply);
    free(sc);
    n_scrapes--;
}

static void scrape_close(struct scrape *sc)
{
    if (sc->closing) return;
    sc->closing = 2;
    uv_timer_stop(&sc->timer);
    uv_close((uv_handle_t *)&sc->timer, on_handle_closed);
    uv_close((uv_handle_t *)&sc->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t) { scrape_close(t->data); }

static void on_written(uv_write_t *w, int status)
{
    scrape_close(w->data);
}

/* ------------------------------------------------------------------
 * The figures
 * ---------------------------------------------------------------- */

static void metric(struct buf *out, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static void metrics_body(struct server *s, struct buf *out)
{
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    const struct net_stats *ns = net_get_stats(s->net);
    uint64_t hits, misses;
    cmdstats_keyspace_counts(&hits, &misses);

    metric(out, "parley_commands_processed_total", "counter", "Commands received by this node.",
           s->stats.commands);
    cmdstats_metrics(out);
    metric(out, "parley_errors_total", "counter", "Error replies sent.", cmdstats_total_errors());
    metric(out, "parley_connected_clients", "gauge", "Client connections.", s->n_clients);
    metric(out, "parley_blocked_clients", "gauge", "Clients waiting in a blocking command.",
           s->n_waiters);
    metric(out, "parley_tracking_clients", "gauge", "Clients with CLIENT TRACKING on.",
           tracking_clients(s));
    metric(out, "parley_connections_received_total", "counter", "Connections accepted.",
           ns->connections_received);
    metric(out, "parley_net_input_bytes_total", "counter", "Bytes read from clients.",
           ns->net_input_bytes);
    metric(out, "parley_net_output_bytes_total", "counter", "Bytes written to clients.",
           ns->net_output_bytes);
    buf_printf(out, "# HELP parley_keys Keys in each database.\n# TYPE parley_keys gauge\n");
    for (int db = 0; db < STORE_DBS; db++) {
        uint64_t n = store_db_size(s->store, db);
        if (n) buf_printf(out, "parley_keys{db=\"%d\"} %llu\n", db, (unsigned long long)n);
    }
    metric(out, "parley_keyspace_hits_total", "counter", "Reads that found their key.", hits);
    metric(out, "parley_keyspace_misses_total", "counter", "Reads that did not.", misses);
    metric(out, "parley_expired_keys_total", "counter", "Keys deleted by expiry.", s->store->expired_keys);
    metric(out, "parley_evicted_keys_total", "counter", "Keys evicted by maxmemory.",
           s->store->evicted_keys);
    metric(out, "parley_memory_used_bytes", "gauge", "Memory Parley's own structures use.",
           mem_used_bytes());
    metric(out, "parley_memory_rss_bytes", "gauge", "Resident set size of the process.", mem_rss_bytes());
    metric(out, "parley_maxmemory_bytes", "gauge", "maxmemory (0: none).",
           (unsigned long long)s->cfg.maxmemory);

    metric(out, "parley_raft_term", "gauge", "This node's Raft term.", ri.term);
    buf_printf(out, "# HELP parley_raft_role This node's Raft role (1 for the current one).\n"
                    "# TYPE parley_raft_role gauge\n");
    static const char *const roles[] = {"leader", "follower", "candidate", "unavailable"};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        buf_printf(out, "parley_raft_role{role=\"%s\"} %d\n", roles[i], strcmp(ri.role, roles[i]) == 0);
    metric(out, "parley_raft_leader_id", "gauge", "The leader's node id (0: none known).", ri.leader_id);
    metric(out, "parley_raft_commit_index", "gauge", "The last log index known committed.",
           ri.commit_index);
    metric(out, "parley_raft_applied_index", "gauge", "The last log index applied here.",
           ri.applied_index);
    metric(out, "parley_raft_last_index", "gauge", "The last log index held here.", ri.last_index);
    metric(out, "parley_raft_entries_proposed_total", "counter", "Log entries this node proposed.",
           ri.entries_proposed);
    metric(out, "parley_raft_batches_proposed_total", "counter", "Command batches proposed.",
           ri.batches_proposed);
    metric(out, "parley_raft_batches_forwarded_total", "counter",
           "Command batches forwarded to the leader.", ri.batches_forwarded);
    metric(out, "parley_raft_commands_applied_total", "counter", "Commands applied from the log.",
           ri.commands_applied);
    metric(out, "parley_raft_log_bytes", "gauge", "Bytes of command entries the log holds.",
           ri.log_bytes);
    metric(out, "parley_raft_log_entries", "gauge", "Entries the log holds.", ri.log_entries);
    metric(out, "parley_raft_snapshots_taken_total", "counter", "Snapshots written.",
           ri.snapshots_taken);
    metric(out, "parley_raft_snapshots_failed_total", "counter", "Snapshots given up.",
           ri.snapshots_failed);
    metric(out, "parley_raft_snapshot_last_bytes", "gauge", "Size of the last snapshot.",
           ri.snapshot_last_bytes);
    histogram_prometheus(out, "parley_raft_snapshot_seconds",
                         "Snapshots taken: from the fork of the child that encodes the keyspace "
                         "to its encoded bytes.", ri.snapshot_seconds);
    buf_printf(out, "# HELP parley_divergence_checks_total Replica digest comparisons.\n"
                    "# TYPE parley_divergence_checks_total counter\n"
                    "parley_divergence_checks_total{result=\"passed\"} %llu\n"
                    "parley_divergence_checks_total{result=\"failed\"} %llu\n",
               (unsigned long long)ri.divergence_checks_passed,
               (unsigned long long)ri.divergence_checks_failed);
    struct repl_member m[REPL_MEMBERS_MAX];
    size_t n = repl_members(s->repl, m, REPL_MEMBERS_MAX);
    if (strcmp(ri.role, "leader") == 0) {
        buf_printf(out, "# HELP parley_raft_follower_match_index The last index each member holds "
                        "(leader's view).\n# TYPE parley_raft_follower_match_index gauge\n"
                        "# HELP parley_raft_follower_lag_entries How far each member is behind the "
                        "leader's last index.\n# TYPE parley_raft_follower_lag_entries gauge\n");
        for (size_t i = 0; i < n; i++) {
            if (m[i].self) continue;
            buf_printf(out, "parley_raft_follower_match_index{node=\"%llu\"} %llu\n",
                       (unsigned long long)m[i].id, (unsigned long long)m[i].match_index);
            buf_printf(out, "parley_raft_follower_lag_entries{node=\"%llu\"} %llu\n",
                       (unsigned long long)m[i].id,
                       (unsigned long long)(ri.last_index > m[i].match_index
                                                ? ri.last_index - m[i].match_index : 0));
        }
    }
    metric(out, "parley_raft_members", "gauge", "Members of the Raft configuration.", n);
    metric(out, "parley_raft_leader_changes_total", "counter",
           "Leaderships this node saw begin after the first (a new leader, or a new term).",
           ri.leader_changes);
    histogram_prometheus(out, "parley_raft_commit_seconds",
                         "Entries this node proposed as leader: from proposal to committed and "
                         "applied here.", ri.commit_seconds);
    histogram_prometheus(out, "parley_raft_log_write_seconds",
                         "Raft log writes: from libraft's request to written and synced (fsync).",
                         ri.append_seconds);
    buf_printf(out, "# HELP parley_reads_total Reads (commands that neither write nor block) by "
                    "how they were served: under the leader's read lease, by a READONLY client "
                    "(may be stale), or through the log.\n"
                    "# TYPE parley_reads_total counter\n"
                    "parley_reads_total{path=\"lease\"} %llu\n"
                    "parley_reads_total{path=\"readonly\"} %llu\n"
                    "parley_reads_total{path=\"log\"} %llu\n",
               (unsigned long long)s->stats.reads_lease,
               (unsigned long long)s->stats.reads_readonly, (unsigned long long)s->stats.reads_log);
    metric(out, "parley_disk_write_error", "gauge",
           "1 while the Raft log cannot be written to the data directory.", ri.disk_error);
    metric(out, "parley_disk_write_errors_total", "counter",
           "Times the Raft log could not be written to the data directory (a failed probe while "
           "a log write waited or log space was short).",
           ri.disk_write_errors);
    metric(out, "parley_log_space_waits_total", "counter",
           "Entries the leader's libraft refused, and Parley offered again, because fewer than "
           "a majority of voters had log space reserved.",
           ri.log_space_waits);
}

static bool healthy(struct server *s, char *why, size_t len)
{
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    if (ri.leader_id == 0) {
        snprintf(why, len, "no leader known (role %s, term %llu)\n", ri.role,
                 (unsigned long long)ri.term);
        return false;
    }
    if (ri.disk_error) {
        snprintf(why, len, "cannot write the Raft log in the data directory since %lld: %s\n",
                 (long long)(ri.disk_error_since_ms / 1000), ri.disk_error_reason);
        return false;
    }
    if (ri.applied_index < ri.commit_index) {
        snprintf(why, len, "applying: %llu of %llu\n", (unsigned long long)ri.applied_index,
                 (unsigned long long)ri.commit_index);
        return false;
    }
    snprintf(why, len, "ok: leader %llu, applied %llu\n", (unsigned long long)ri.leader_id,
             (unsigned long long)ri.applied_index);
    return true;
}

/* ------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------- */

/* Whether the request may read the figures: anyone when the default user
 * logs in without a password, else Basic auth of a user that may run INFO. */
static bool allowed(struct server *s, const char *head)
{
    struct store *st = s->store;
    if (acl_user_on(st, "default", 7) && acl_user_nopass(st, "default", 7) &&
        acl_user_unrestricted(st, "default", 7))
        return true;
    const char *h = strcasestr(head, "\r\nAuthorization: Basic ");
    if (h == NULL) return false;
    h += strlen("\r\nAuthorization: Basic ");
    size_t n = strcspn(h, "\r\n");
    if (n == 0 || n > 1024 || n % 4) return false;
    unsigned char plain[800];
    int len = EVP_DecodeBlock(plain, (const unsigned char *)h, (int)n);
    if (len < 0) return false;
    while (len > 0 && h[n - 1] == '=' && plain[len - 1] == '\0') { /* padding */
        len--;
        n--;
    }
    char *colon = memchr(plain, ':', (size_t)len);
    if (colon == NULL) return false;
    const char *user = (const char *)plain;
    size_t ulen = (size_t)(colon - user);
    const char *pass = colon + 1;
    size_t plen = (size_t)len - ulen - 1;
    if (!acl_login_ok(s, user, ulen, pass, plen)) return false;
    const struct cmd_def *info = cmd_lookup("info", 4, false);
    struct resp_arg argv[1] = {{"info", 4}};
    int bad;
    return info && acl_check(st, user, ulen, info, 1, argv, &bad) == ACL_ALLOWED;
}

static void respond(struct scrape *sc, int status, const char *reason, const char *type,
                    const struct buf *body, const char *extra)
{
    buf_printf(&sc->reply,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
               status, reason, type, body->len, extra);
    buf_append(&sc->reply, body->data, body->len);
    uv_buf_t b = uv_buf_init(sc->reply.data, (unsigned)sc->reply.len);
    sc->wr.data = sc;
    uv_read_stop((uv_stream_t *)&sc->tcp);
    if (uv_write(&sc->wr, (uv_stream_t *)&sc->tcp, &b, 1, on_written) != 0) scrape_close(sc);
}

static void answer(struct scrape *sc)
{
    struct server *s = sc->srv;
    struct buf body = BUF_INIT;
    const char *text = "text/plain; charset=utf-8";
    bool get = strncmp(sc->head, "GET ", 4) == 0;
    const char *path = sc->head + 4;
    size_t plen = strcspn(path, " ?\r\n");
    bool is_metrics = get && plen == 8 && memcmp(path, "/metrics", 8) == 0;
    bool is_health = get && plen == 7 && memcmp(path, "/health", 7) == 0;
    if (!get) {
        buf_printf(&body, "only GET\n");
        respond(sc, 405, "Method Not Allowed", text, &body, "Allow: GET\r\n");
    } else if (!is_metrics && !is_health) {
        buf_printf(&body, "try /metrics or /health\n");
        respond(sc, 404, "Not Found", text, &body, "");
    } else if (!allowed(s, sc->head)) {
        buf_printf(&body, "log in as a user that may run INFO\n");
        respond(sc, 401, "Unauthorized", text, &body, "WWW-Authenticate: Basic realm=\"parley\"\r\n");
    } else if (is_metrics) {
        metrics_body(s, &body);
        respond(sc, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", &body, "");
    } else {
        char why[160];
        bool ok = healthy(s, why, sizeof why);
        buf_append_str(&body, why);
        respond(sc, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", text, &body, "");
    }
    buf_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct scrape *sc = h->data;
    b->base = sc->head + sc->len;
    b->len = HEAD_MAX - 1 - sc->len;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct scrape *sc = st->data;
    if (n < 0) {
        scrape_close(sc);
        return;
    }
    sc->len += (size_t)n;
    sc->head[sc->len] = '\0';
    if (strstr(sc->head, "\r\n\r\n")) answer(sc);
    else if (sc->len >= HEAD_MAX - 1) scrape_close(sc); /* a head too long: no answer */
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    if (status != 0) return;
    struct scrape *sc = xcalloc(1, sizeof *sc);
    sc->srv = s;
    n_scrapes++;
    uv_tcp_init(s->loop, &sc->tcp);
    uv_timer_init(s->loop, &sc->timer);
    sc->tcp.data = sc->timer.data = sc;
    if (uv_accept(listener, (uv_stream_t *)&sc->tcp) != 0 || n_scrapes > SCRAPES_MAX) {
        scrape_close(sc);
        return;
    }
    uv_timer_start(&sc->timer, on_timeout, SCRAPE_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read);
}

/* Listens on one address of the bind list for metrics_listen. */
static int listen_one(void *ctx, const struct sockaddr *sa, bool v6only)
{
    struct server *s = ctx;
    if (s->n_metrics_listeners == METRICS_LISTENERS_MAX) return 0;
    uv_tcp_t *l = xcalloc(1, sizeof *l);
    uv_tcp_init(s->loop, l);
    l->data = s;
    int rv = uv_tcp_bind(l, sa, v6only ? UV_TCP_IPV6ONLY : 0);
    if (rv == 0) rv = uv_listen((uv_stream_t *)l, 64, on_connection);
    if (rv != 0) {
        uv_close((uv_handle_t *)l, (uv_close_cb)free);
        return rv;
    }
    s->metrics_listeners[s->n_metrics_listeners++] = l;
    return 0;
}

int metrics_listen(struct server *s, char *err, size_t errlen)
{
    if (s->cfg.metrics_port == 0) return 0;
    int rv = bindlist_listen(s->cfg.bind, (int)s->cfg.metrics_port, "metrics", listen_one, s, err,
                             errlen);
    if (rv == 0) log_info("Metrics on port %lld (/metrics, /health)", s->cfg.metrics_port);
    return rv;
}

void metrics_close(struct server *s)
{
    for (int i = 0; i < s->n_metrics_listeners; i++)
        uv_close((uv_handle_t *)s->metrics_listeners[i], (uv_close_cb)free);
    s->n_metrics_listeners = 0;
}
