/* server/role.c — the replication role as Redis clients see it: ROLE,
 * INFO's replication section, HELLO's role.
 *
 * Parley has no replication stream: the Raft leader is the master, every
 * other member (follower, observer, a node that knows no leader) a replica
 * of it, and offsets are log indexes. A replica's "master" is the leader's
 * client address; its link is up while it knows a leader. Replicas still
 * take writes (they pass them to the leader), so slave_read_only is 0. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static bool is_master(struct server *s)
{
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    return strcmp(ri.role, "leader") == 0;
}

const char *role_hello_name(struct server *s) { return is_master(s) ? "master" : "replica"; }

/* host and port of "host:port" (IPv6 hosts keep their colons). */
static void split_addr(const char *addr, char *host, size_t hostlen, long long *port)
{
    const char *colon = strrchr(addr, ':');
    size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
    if (n >= hostlen) n = hostlen - 1;
    memcpy(host, addr, n);
    host[n] = '\0';
    *port = colon ? strtoll(colon + 1, NULL, 10) : 0;
}

void role_info_section(struct server *s, struct buf *out)
{
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    if (strcmp(ri.role, "leader") == 0) {
        struct repl_member m[REPL_MEMBERS_MAX];
        size_t n = repl_members(s->repl, m, REPL_MEMBERS_MAX), k = 0;
        for (size_t i = 0; i < n; i++) k += !m[i].self;
        buf_printf(out, "role:master\r\nconnected_slaves:%zu\r\n", k);
        k = 0;
        for (size_t i = 0; i < n; i++) {
            if (m[i].self) continue;
            char host[256];
            long long port;
            split_addr(m[i].client_addr, host, sizeof host, &port);
            buf_printf(out, "slave%zu:ip=%s,port=%lld,state=%s,offset=%" PRIu64 ",lag=0\r\n", k++, host,
                       port, m[i].match_index ? "online" : "wait_bgsave", m[i].match_index);
        }
    } else {
        char host[256];
        long long port;
        split_addr(ri.leader_addr, host, sizeof host, &port);
        bool up = ri.leader_id != 0 && ri.leader_addr[0];
        buf_printf(out,
                   "role:slave\r\nmaster_host:%s\r\nmaster_port:%lld\r\nmaster_link_status:%s\r\n"
                   "master_last_io_seconds_ago:%d\r\nmaster_sync_in_progress:0\r\n"
                   "slave_read_repl_offset:%" PRIu64 "\r\nslave_repl_offset:%" PRIu64 "\r\n"
                   "slave_priority:100\r\nslave_read_only:0\r\nreplica_announced:1\r\n"
                   "connected_slaves:0\r\n",
                   host, port, up ? "up" : "down", up ? 0 : -1, ri.applied_index, ri.applied_index);
    }
    buf_printf(out, "master_failover_state:no-failover\r\nmaster_repl_offset:%" PRIu64 "\r\n",
               ri.applied_index);
}

/* ROLE: ["master", offset, [[ip, port, offset]...]] on the leader,
 * ["slave", leader ip, leader port, state, offset] elsewhere. */
static void cmd_role(struct client *c, const struct cmd_def *cmd, int argc, const struct resp_arg *argv)
{
    struct server *s = c->srv;
    struct resp_out o = client_reply(c);
    struct repl_info ri;
    repl_get_info(s->repl, &ri);
    char host[256], num[32];
    long long port;
    if (strcmp(ri.role, "leader") == 0) {
        struct repl_member m[REPL_MEMBERS_MAX];
        size_t n = repl_members(s->repl, m, REPL_MEMBERS_MAX), k = 0;
        for (size_t i = 0; i < n; i++) k += !m[i].self;
        resp_array(&o, 3);
        resp_bulk_str(&o, "master");
        resp_int(&o, (long long)ri.applied_index);
        resp_array(&o, (long long)k);
        for (size_t i = 0; i < n; i++) {
            if (m[i].self) continue;
            split_addr(m[i].client_addr, host, sizeof host, &port);
            resp_array(&o, 3);
            resp_bulk_str(&o, host);
            snprintf(num, sizeof num, "%lld", port);
            resp_bulk_str(&o, num);
            snprintf(num, sizeof num, "%" PRIu64, m[i].match_index);
            resp_bulk_str(&o, num);
        }
        return;
    }
    split_addr(ri.leader_addr, host, sizeof host, &port);
    bool up = ri.leader_id != 0 && ri.leader_addr[0];
    resp_array(&o, 5);
    resp_bulk_str(&o, "slave");
    resp_bulk_str(&o, host);
    resp_int(&o, port);
    resp_bulk_str(&o, up ? "connected" : "connect");
    resp_int(&o, (long long)ri.applied_index);
}

void role_bind_handlers(void) { cmd_bind_local("role", cmd_role); }
