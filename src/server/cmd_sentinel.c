/* server/cmd_sentinel.c — leader discovery for clients that know Redis
 * Sentinel.
 *
 * Every Parley node answers the SENTINEL queries that Sentinel-aware clients
 * send (redis-py's Sentinel, Celery/kombu's sentinel:// transport, Jedis):
 * the "master" is the current Raft leader, the "replicas" are the other
 * members, and the "sentinels" are the other members again (each of them
 * answers these same queries). There is one master, named by the
 * `sentinel-master-name` directive (default "mymaster"). Parley needs no
 * Sentinel processes: Raft elects the leader, so the failover commands
 * (FAILOVER, MONITOR, REMOVE, SET, RESET) are refused.
 *
 * While no leader is known the master is reported with the flags
 * "master,s_down" (and GET-MASTER-ADDR-BY-NAME answers nil), so a client
 * asks another node or tries again instead of connecting to a stale one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"

/* "host:port" into its two parts; false if it has no port. */
static bool split_addr(const char *addr, char *host, size_t hostlen, long long *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= hostlen) return false;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    *port = atoll(colon + 1);
    return *port > 0;
}

static void field_str(struct resp_out *o, const char *name, const char *value)
{
    resp_bulk_str(o, name);
    resp_bulk_str(o, value);
}

static void field_int(struct resp_out *o, const char *name, long long value)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%lld", value);
    field_str(o, name, tmp);
}

/* A node's run id in Sentinel's 40-hex-digit shape, from its node id. */
static void run_id(uint64_t id, char out[41])
{
    snprintf(out, 41, "%040" PRIx64, id);
}

struct view {
    struct repl_member m[REPL_MEMBERS_MAX];
    size_t n;
    const struct repl_member *leader; /* NULL if none is known */
};

static void view_get(struct server *s, struct view *v)
{
    v->n = repl_members(s->repl, v->m, REPL_MEMBERS_MAX);
    v->leader = NULL;
    for (size_t i = 0; i < v->n; i++)
        if (v->m[i].leader && v->m[i].client_addr[0]) v->leader = &v->m[i];
}

static bool name_is(struct server *s, const struct resp_arg *a)
{
    const char *name = s->cfg.sentinel_master_name;
    return a->len == strlen(name) && memcmp(a->ptr, name, a->len) == 0;
}

static bool known_master(struct client *c, const struct resp_arg *a)
{
    if (name_is(c->srv, a)) return true;
    struct resp_out o = client_reply(c);
    resp_error(&o, "ERR No such master with that name");
    return false;
}

static size_t replica_count(const struct view *v)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        if (&v->m[i] != v->leader && v->m[i].client_addr[0]) n++;
    return n;
}

static void master_state(struct server *s, struct resp_out *o, const struct view *v)
{
    char host[256] = "", rid[41];
    long long port = 0;
    if (v->leader) split_addr(v->leader->client_addr, host, sizeof host, &port);
    run_id(v->leader ? v->leader->id : 0, rid);
    long long voters = 0;
    for (size_t i = 0; i < v->n; i++) voters += strcmp(v->m[i].role, "voter") == 0;
    resp_array(o, 40);
    field_str(o, "name", s->cfg.sentinel_master_name);
    field_str(o, "ip", host);
    field_int(o, "port", port);
    field_str(o, "runid", rid);
    field_str(o, "flags", v->leader ? "master" : "master,s_down");
    field_int(o, "link-pending-commands", 0);
    field_int(o, "link-refcount", 1);
    field_int(o, "last-ping-sent", 0);
    field_int(o, "last-ok-ping-reply", 0);
    field_int(o, "last-ping-reply", 0);
    field_int(o, "down-after-milliseconds", s->cfg.raft_election_timeout_ms);
    field_int(o, "info-refresh", 0);
    field_str(o, "role-reported", "master");
    field_int(o, "role-reported-time", 0);
    field_int(o, "config-epoch", 0);
    field_int(o, "num-slaves", (long long)replica_count(v));
    field_int(o, "num-other-sentinels", v->n > 0 ? (long long)v->n - 1 : 0);
    field_int(o, "quorum", voters / 2 + 1);
    field_int(o, "failover-timeout", s->cfg.raft_election_timeout_ms);
    field_int(o, "parallel-syncs", 1);
}

static void sentinel_masters(struct client *c, const struct cmd_def *cmd, int argc,
                             const struct resp_arg *argv)
{
    struct view v;
    view_get(c->srv, &v);
    struct resp_out o = client_reply(c);
    resp_array(&o, 1);
    master_state(c->srv, &o, &v);
}

static void sentinel_master(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    if (!known_master(c, &argv[2])) return;
    struct view v;
    view_get(c->srv, &v);
    struct resp_out o = client_reply(c);
    master_state(c->srv, &o, &v);
}

static void sentinel_get_master_addr(struct client *c, const struct cmd_def *cmd, int argc,
                                     const struct resp_arg *argv)
{
    struct view v;
    view_get(c->srv, &v);
    struct resp_out o = client_reply(c);
    char host[256];
    long long port;
    if (!name_is(c->srv, &argv[2]) || v.leader == NULL ||
        !split_addr(v.leader->client_addr, host, sizeof host, &port)) {
        resp_null_array(&o);
        return;
    }
    resp_array(&o, 2);
    resp_bulk_str(&o, host);
    resp_bulk_ll(&o, port);
}

/* The members other than the leader: as replicas, or as sentinels. */
static void others(struct client *c, const struct resp_arg *name, bool as_sentinels)
{
    if (!known_master(c, name)) return;
    struct view v;
    view_get(c->srv, &v);
    char master_host[256] = "";
    long long master_port = 0;
    if (v.leader) split_addr(v.leader->client_addr, master_host, sizeof master_host, &master_port);
    struct resp_out o = client_reply(c);
    size_t n = 0;
    for (size_t i = 0; i < v.n; i++) {
        const struct repl_member *m = &v.m[i];
        n += as_sentinels ? !m->self && m->client_addr[0] : m != v.leader && m->client_addr[0];
    }
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < v.n; i++) {
        const struct repl_member *m = &v.m[i];
        if (as_sentinels ? m->self || !m->client_addr[0] : m == v.leader || !m->client_addr[0])
            continue;
        char host[256] = "", rid[41];
        long long port = 0;
        split_addr(m->client_addr, host, sizeof host, &port);
        run_id(m->id, rid);
        if (as_sentinels) {
            resp_array(&o, 14);
            field_str(&o, "name", rid);
            field_str(&o, "ip", host);
            field_int(&o, "port", port);
            field_str(&o, "runid", rid);
            field_str(&o, "flags", "sentinel");
            field_int(&o, "last-hello-message", 0);
            field_str(&o, "voted-leader", "?");
        } else {
            resp_array(&o, 28);
            field_str(&o, "name", m->client_addr);
            field_str(&o, "ip", host);
            field_int(&o, "port", port);
            field_str(&o, "runid", rid);
            field_str(&o, "flags", "slave");
            field_int(&o, "last-ping-sent", 0);
            field_int(&o, "last-ok-ping-reply", 0);
            field_int(&o, "master-link-down-time", 0);
            field_str(&o, "master-link-status", v.leader ? "ok" : "err");
            field_str(&o, "master-host", master_host);
            field_int(&o, "master-port", master_port);
            field_int(&o, "slave-priority", strcmp(m->role, "voter") == 0 ? 100 : 0);
            field_int(&o, "slave-repl-offset", 0);
            field_str(&o, "role", m->role); /* Parley's: voter, observer, spare */
        }
    }
}

static void sentinel_replicas(struct client *c, const struct cmd_def *cmd, int argc,
                              const struct resp_arg *argv)
{
    others(c, &argv[2], false);
}

static void sentinel_sentinels(struct client *c, const struct cmd_def *cmd, int argc,
                               const struct resp_arg *argv)
{
    others(c, &argv[2], true);
}

static void sentinel_myid(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    char rid[41];
    run_id(ri.node_id, rid);
    struct resp_out o = client_reply(c);
    resp_bulk_str(&o, rid);
}

static void sentinel_ckquorum(struct client *c, const struct cmd_def *cmd, int argc,
                              const struct resp_arg *argv)
{
    if (!known_master(c, &argv[2])) return;
    struct view v;
    view_get(c->srv, &v);
    struct resp_out o = client_reply(c);
    if (v.leader == NULL) {
        resp_error(&o, "NOQUORUM no Raft leader is known right now");
        return;
    }
    resp_simple(&o, "OK a Raft leader is elected: the cluster has a quorum");
}

/* What Sentinel does by hand, Raft does here. */
static void sentinel_refused(struct client *c, const struct cmd_def *cmd, int argc,
                             const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    resp_error(&o, "ERR Parley elects its leader through Raft: use RAFT TRANSFER and RAFT NODE "
                   "to change it");
}

static void sentinel_help(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    static const char *lines[] = {
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    The current Raft leader's client address.",
        "MASTERS",
        "    The one master (sentinel-master-name): the current Raft leader.",
        "MASTER <master-name>",
        "    Its state.",
        "REPLICAS <master-name>",
        "    The members other than the leader.",
        "SENTINELS <master-name>",
        "    The other members: every Parley node answers SENTINEL queries.",
        "MYID",
        "    This node's id as a Sentinel run id.",
        "CKQUORUM <master-name>",
        "    Whether a leader is elected.",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

void sentinel_bind_handlers(void)
{
    cmd_bind_local("sentinel|get-master-addr-by-name", sentinel_get_master_addr);
    cmd_bind_local("sentinel|masters", sentinel_masters);
    cmd_bind_local("sentinel|master", sentinel_master);
    cmd_bind_local("sentinel|replicas", sentinel_replicas);
    cmd_bind_local("sentinel|slaves", sentinel_replicas);
    cmd_bind_local("sentinel|sentinels", sentinel_sentinels);
    cmd_bind_local("sentinel|myid", sentinel_myid);
    cmd_bind_local("sentinel|ckquorum", sentinel_ckquorum);
    cmd_bind_local("sentinel|failover", sentinel_refused);
    cmd_bind_local("sentinel|monitor", sentinel_refused);
    cmd_bind_local("sentinel|remove", sentinel_refused);
    cmd_bind_local("sentinel|set", sentinel_refused);
    cmd_bind_local("sentinel|reset", sentinel_refused);
    cmd_bind_local("sentinel|help", sentinel_help);
}
