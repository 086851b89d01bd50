/* repl/node.c — bringing libraft up and down.
 *
 * One struct raft per process, on libraft's libuv disk and TCP backends, in
 * the data directory. A new directory is bootstrapped with the `cluster`
 * configuration (every initial member bootstraps the same one, so they all
 * begin with the same first entry), unless the node was started with `join`:
 * then it starts empty and waits to be added (join.c). An existing
 * directory is loaded as is.
 *
 * Timeouts: pre-vote is on (a node that was cut off cannot disrupt a
 * healthy leader when it returns), the election timeout defaults to 300 ms
 * and the heartbeat to 10 ms (README: "Why a 10 ms heartbeat"); on one
 * machine a new leader is elected 0.4-0.65 s after the old one dies.
 * libraft's diagnostics are logged through our tracer, so a torn log tail
 * or a failed load is reported with libraft's own words. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "repl/internal.h"

/* libraft's diagnostics. Most are debug chatter; those about damaged files
 * are not, whatever level libraft gives them: a torn or corrupt log tail is
 * reported as a warning so an operator sees what was dropped and why. */
static void trace_emit(struct raft_tracer *t, int type, const void *info)
{
    if (type != RAFT_TRACER_DIAGNOSTIC || info == NULL) return;
    const struct raft_tracer_info *i = info;
    if (i->version < 1) return;
    const char *msg = i->diagnostic.message;
    int level = i->diagnostic.level;
    bool segment = strstr(msg, "segment") != NULL || strstr(msg, "open-") != NULL;
    if (segment && (strstr(msg, "corrupt") || strstr(msg, "trail") || strstr(msg, "checksum"))) {
        log_warn("Raft log damage detected: %s. Entries after the damage were written but not "
                 "completely (a crash during the write); they are dropped. A write is "
                 "acknowledged only once it is on disk, so no acknowledged write was in them "
                 "unless the disk itself corrupted data.", msg);
    } else if (level <= 2) {
        log_warn("raft: %s", msg);
    } else if (level == 3) {
        log_msg(LOG_VERBOSE, "raft: %s", msg);
    } else {
        log_msg(LOG_DEBUG, "raft: %s (%s:%d)", msg, i->diagnostic.file, i->diagnostic.line);
    }
}

/* Parses "1@host:port,2@host:port" into conf. */
static int parse_cluster(const char *spec, struct raft_configuration *conf, char *err, size_t errlen)
{
    char *copy = xstrdup(spec);
    int rv = 0;
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *at = strchr(item, '@');
        char *end = NULL;
        unsigned long long id = at ? strtoull(item, &end, 10) : 0;
        if (at == NULL || end != at || id == 0 || at[1] == '\0' || strchr(at + 1, ':') == NULL) {
            snprintf(err, errlen, "bad cluster member '%s' (expected id@host:port)", item);
            rv = -1;
            break;
        }
        if (raft_configuration_add(conf, id, at + 1, RAFT_VOTER) != 0) {
            snprintf(err, errlen, "duplicate cluster member '%s'", item);
            rv = -1;
            break;
        }
    }
    free(copy);
    if (rv == 0 && conf->n == 0) {
        snprintf(err, errlen, "the cluster has no members");
        rv = -1;
    }
    return rv;
}

static int check_membership(struct repl *r, const struct raft_configuration *conf, char *err,
                            size_t errlen)
{
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].id != r->cfg.node_id) continue;
        if (strcmp(conf->servers[i].address, r->node.raft_addr) != 0) {
            snprintf(err, errlen, "node %llu is %s in 'cluster' but raft-addr is %s",
                     (unsigned long long)r->cfg.node_id, conf->servers[i].address, r->node.raft_addr);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "node-id %llu is not a member of 'cluster' (%s)",
             (unsigned long long)r->cfg.node_id, r->node.cluster);
    return -1;
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    }
    snprintf(err, errlen, "cannot use data directory %s: %s", dir, strerror(errno));
    return -1;
}

/* One process per data directory: two would corrupt each other's log. The
 * lock is released when the process exits, however it exits. */
static int lock_dir(struct repl *r, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/parley.lock", r->node.dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "data directory %s is in use by another parley-server process",
                 r->node.dir);
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) != n) { /* best effort */
    }
    r->node.lock_fd = fd;
    return 0;
}

/* The election timeout, kept safe across restarts.
 *
 * A leader's read lease lasts 0.8 x the smallest election timeout its
 * voters registered in the log (propose.c): until then none of them votes
 * for another candidate. A follower restarted with a shorter timeout than
 * it registered would break that promise at once, before its new timeout is
 * in the log: the leader, partitioned, would serve reads the new leader's
 * writes have made stale. So every node keeps in <dir>/election-timeout the
 * largest timeout it may have registered, runs libraft with the larger of
 * that and its configured one, and lowers it to the configured one only
 * once the log holds that registration (node_election_timeout_registered).
 * A larger timeout than registered is always safe, so a raise takes effect
 * at once. */
static void election_timeout_path(const struct repl *r, char *path, size_t len)
{
    snprintf(path, len, "%s/election-timeout", r->node.dir);
}

/* Writes the value durably (temporary file, fsync, rename); false on error. */
static bool election_timeout_store(struct repl *r, unsigned ms)
{
    char path[4096], tmp[4200];
    election_timeout_path(r, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    char text[32];
    int n = snprintf(text, sizeof text, "%u\n", ms);
    bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) log_warn("cannot write %s: %s", path, strerror(errno));
    return ok;
}

static unsigned election_timeout_load(struct repl *r)
{
    unsigned configured = r->cfg.election_timeout_ms, kept = 0;
    char path[4096];
    election_timeout_path(r, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%u", &kept) != 1) kept = 0;
        fclose(f);
    }
    if (kept > configured) {
        log_info("Election timeout %u ms until this node's %u ms is registered in the log "
                   "(it registered %u ms before)", kept, configured, kept);
        return kept;
    }
    if (kept != configured) election_timeout_store(r, configured);
    return configured;
}

void node_election_timeout_registered(struct repl *r, unsigned election_timeout_ms)
{
    unsigned configured = r->cfg.election_timeout_ms;
    if (election_timeout_ms != configured || r->node.election_timeout_now_ms <= configured) return;
    /* Stored first: a crash in between leaves the larger value, still safe. */
    if (!election_timeout_store(r, configured)) return;
    r->node.election_timeout_now_ms = configured;
    raft_set_election_timeout(r->raft, configured);
    log_info("Election timeout %u ms, now that the log holds it", configured);
}

/* libraft reports a busy Raft port only as "I/O error": check first. */
static int check_bindable(const char *addr, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host) return 0;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct sockaddr_in sa;
    if (uv_ip4_addr(host, atoi(colon + 1), &sa) != 0) return 0; /* libraft will say */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rv = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int saved = errno;
    close(fd);
    if (rv != 0) {
        snprintf(err, errlen, "cannot listen on raft-addr %s: %s", addr, strerror(saved));
        return -1;
    }
    return 0;
}

/* --force-new-cluster: a majority is lost for good. libraft's
 * raft_recover appends to this node's log a configuration in which it is
 * the only voter; it then elects itself and commits everything its log
 * holds, and new nodes join it. Only a directory that holds a log will do. */
static int force_new_cluster(struct repl *r, char *err, size_t errlen)
{
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/metadata1", r->node.dir);
    struct stat st;
    if (stat(probe, &st) != 0) {
        snprintf(probe, sizeof probe, "%s/metadata2", r->node.dir);
        if (stat(probe, &st) != 0) {
            snprintf(err, errlen, "--force-new-cluster needs the data directory of a surviving "
                                  "member; %s holds no Raft log", r->node.dir);
            return -1;
        }
    }
    struct raft_configuration one;
    raft_configuration_init(&one);
    int rv = raft_configuration_add(&one, r->cfg.node_id, r->node.raft_addr, RAFT_VOTER);
    if (rv == 0) rv = raft_recover(r->raft, &one);
    raft_configuration_close(&one);
    if (rv != 0) {
        snprintf(err, errlen, "--force-new-cluster: %s", raft_errmsg(r->raft));
        return -1;
    }
    log_warn("Forced a new cluster: node %llu at %s is now its only voter, with every entry of "
             "its log. Start new members with --join; remove --force-new-cluster before the "
             "next restart.", (unsigned long long)r->cfg.node_id, r->node.raft_addr);
    return 0;
}

int node_start(struct repl *r, char *err, size_t errlen)
{
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    bool joining = r->cfg.join && r->cfg.join[0];
    int rv = joining ? 0 : parse_cluster(r->node.cluster, &conf, err, errlen);
    if (rv == 0 && !joining) rv = check_membership(r, &conf, err, errlen);
    if (rv == 0) rv = make_dir(r->node.dir, err, errlen);
    if (rv == 0) rv = lock_dir(r, err, errlen);
    if (rv == 0) rv = wipeguard_check_marker(r, err, errlen);
    if (rv == 0) rv = check_bindable(r->node.raft_addr, err, errlen);
    if (rv != 0) goto err_after_conf;

    rv = transport_init(&r->node.transport, r->loop, r->cfg.cluster_secret, r->cfg.tls_cluster_server,
                        r->cfg.tls_cluster_client);
    if (rv != 0) {
        snprintf(err, errlen, "raft transport: %s", raft_strerror(rv));
        goto err_after_conf;
    }
    rv = raft_uv_init(&r->node.io, r->loop, r->node.dir, &r->node.transport.outer);
    if (rv != 0) {
        snprintf(err, errlen, "raft storage in %s: %s", r->node.dir, r->node.io.errmsg);
        goto err_after_transport;
    }
    r->node.tracer.impl = r;
    r->node.tracer.version = 2;
    r->node.tracer.emit = trace_emit;
    raft_uv_set_tracer(&r->node.io, &r->node.tracer);
    /* libraft's "auto-recovery" moves a corrupt closed segment aside and
     * carries on with the log cut short: acknowledged writes vanish, and a
     * voter that forgot committed entries can elect a leader without them.
     * Refuse to start instead; the operator restores the directory. */
    raft_uv_set_auto_recovery(&r->node.io, false);
    /* libraft waits 1 s before reconnecting to a peer; a restarted follower
     * would hear nothing for that long and call an election. */
    raft_uv_set_connect_retry_delay(&r->node.io, 100);

    fsm_init(r);
    snapfork_install(r);
    bgsave_init(r);
    logbound_install(r);
    snapprune_install(r);
    logfree_install(r);
    diskwatch_install(r);
    segalloc_enable(r->cfg.log_prewrite);
    rv = raft_init(r->raft, &r->node.io, &r->machine.fsm, r->cfg.node_id, r->node.raft_addr);
    if (rv != 0) {
        snprintf(err, errlen, "raft init: %s", raft_errmsg(r->raft));
        goto err_after_io;
    }
    r->raft->data = r;
    r->raft->tracer = &r->node.tracer;
    snapguard_install(r);
    r->node.election_timeout_now_ms = election_timeout_load(r);
    raft_set_election_timeout(r->raft, r->node.election_timeout_now_ms);
    raft_set_heartbeat_timeout(r->raft, r->cfg.heartbeat_ms);
    raft_set_pre_vote(r->raft, true);
    raft_set_snapshot_threshold(r->raft, r->cfg.snapshot_threshold);
    raft_set_snapshot_trailing(r->raft, r->cfg.snapshot_trailing);

    /* A joining node starts with no configuration of its own: it becomes a
     * member when the leader adds it (join.c) and sends it the log. */
    rv = joining || r->cfg.force_new_cluster ? RAFT_CANTBOOTSTRAP : raft_bootstrap(r->raft, &conf);
    if (rv == 0) {
        log_info("Bootstrapped a new Raft log in %s: cluster %s", r->node.dir, r->node.cluster);
    } else if (rv != RAFT_CANTBOOTSTRAP) {
        snprintf(err, errlen, "raft bootstrap: %s", raft_errmsg(r->raft));
        goto err_after_raft;
    }
    if (r->cfg.force_new_cluster && force_new_cluster(r, err, errlen) != 0) goto err_after_raft;
    /* A directory bootstrapped now may be a member's that was wiped. */
    unsigned voters = 0;
    for (unsigned i = 0; i < conf.n; i++)
        if (conf.servers[i].role == RAFT_VOTER) voters++;
    wipeguard_install(r, rv == 0 && !joining && !r->cfg.force_new_cluster, voters);
    rv = raft_start(r->raft);
    if (rv != 0) {
        const char *why = raft_errmsg(r->raft);
        snprintf(err, errlen, "cannot start Raft in %s: %s%s%s", r->node.dir, why, why[0] ? ": " : "",
                 raft_strerror(rv));
        goto err_after_raft;
    }
    r->node.raft_started = true;
    raft_configuration_close(&conf);
    return 0;

err_after_raft:
    /* raft_init succeeded: the instance must be closed through raft_close,
     * which the caller does by failing start-up (the process exits). */
    raft_configuration_close(&conf);
    return -1;
err_after_io:
    raft_uv_close(&r->node.io);
err_after_transport:
    transport_close(&r->node.transport);
err_after_conf:
    raft_configuration_close(&conf);
    return -1;
}

bool node_is_leader(struct repl *r)
{
    return r->node.raft_started && raft_state(r->raft) == RAFT_LEADER;
}

/* Elections under load with no fault injected (seen in `make bench`) are
 * told apart here: a follower that stands for election says how long ago
 * its leader was last heard from and the longest pause of its own loop in
 * the last one or two election timeouts (a long pause: this node stalled;
 * a short one: the leader's messages did not come); a leader that stops
 * leading says the same of its loop. */
void node_watch(struct repl *r)
{
    struct repl_node *n = &r->node;
    if (!n->raft_started || n->stopping) return;
    int64_t now = clock_mono_us();
    int64_t timeout_us = (int64_t)r->raft->election_timeout * 1000;
    if (n->watch.iter_us) {
        int64_t gap = now - n->watch.iter_us;
        if (gap > n->watch.pause_us) n->watch.pause_us = gap;
    }
    n->watch.iter_us = now;
    if (now - n->watch.window_us >= timeout_us) {
        n->watch.pause_before_us = n->watch.pause_us;
        n->watch.pause_us = 0;
        n->watch.window_us = now;
    }
    int64_t pause_ms = (n->watch.pause_us > n->watch.pause_before_us ? n->watch.pause_us
                                                                     : n->watch.pause_before_us) / 1000;
    int state = raft_state(r->raft);
    uint64_t term = raft_current_term(r->raft);
    if (state == RAFT_CANDIDATE && n->watch.state == RAFT_FOLLOWER && n->watch.heard_ms != 0) {
        raft_time io_now = r->raft->io->time(r->raft->io);
        uint64_t silent_ms = io_now > n->watch.heard_ms ? io_now - n->watch.heard_ms : 0;
        if (silent_ms < r->raft->election_timeout) /* the leader's TimeoutNow */
            log_info("Standing for election (term %" PRIu64 "): the leader hands leadership over "
                     "to this node", term);
        else
            log_warn("Standing for election (term %" PRIu64 "): the leader was last heard from "
                     "%" PRIu64 " ms ago (election timeout %u ms); this node's loop paused at most "
                     "%" PRId64 " ms meanwhile",
                     term, silent_ms, r->raft->election_timeout, pause_ms);
    }
    if (n->watch.state == RAFT_LEADER && (state != RAFT_LEADER || term != n->watch.term))
        log_warn("No longer the Raft leader of term %" PRIu64 " (now term %" PRIu64 ", %s); this "
                 "node's loop paused at most %" PRId64 " ms in the last election timeouts",
                 n->watch.term, term, state == RAFT_LEADER ? "leader" : raft_state_name(state),
                 pause_ms);
    raft_id leader = 0;
    const char *addr;
    raft_leader(r->raft, &leader, &addr);
    if (state == RAFT_FOLLOWER && leader != 0) n->watch.heard_ms = r->raft->election_timer_start;
    else if (state != RAFT_CANDIDATE) n->watch.heard_ms = 0;
    n->watch.state = state;
    n->watch.term = term;
}

static void on_raft_closed(struct raft *raft)
{
    struct repl *r = raft->data;
    snapguard_close(r);
    diskwatch_close(r);
    raft_uv_close(&r->node.io);
    transport_close(&r->node.transport);
    r->node.raft_started = false;
    if (--r->node.closing_handles == 0 && r->node.stop_cb) r->node.stop_cb(r->node.stop_arg);
}

void node_close(struct repl *r)
{
    if (!r->node.raft_started) return;
    r->node.closing_handles++;
    raft_close(r->raft, on_raft_closed);
}
