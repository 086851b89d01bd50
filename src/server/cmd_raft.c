/* server/cmd_raft.c — the RAFT command: the cluster as redis-cli sees it.
 *
 *   RAFT INFO        this node's id, role, term, leader, indexes, divergence
 *                    checks, members
 *   RAFT MEMBERS     the members, one array each
 *   RAFT DIGEST      this node's applied index and keyspace digest
 *   RAFT VERSION     cluster protocol versions: this build's, the cluster's,
 *                    each member's (repl/version.c; raised by the leader)
 *   RAFT NODE ADD <id> <raft host:port> [VOTER|OBSERVER]
 *   RAFT NODE PROMOTE <id>
 *   RAFT NODE REMOVE <id>
 *   RAFT TRANSFER [<id>]
 *
 * The changing ones are carried out by repl/members.c on the leader (a
 * follower passes them on); the client waits, reading nothing more, until
 * the change has committed or failed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "server/server.h"

static void raft_info(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    struct buf text = BUF_INIT;
    buf_printf(&text,
               "node_id:%" PRIu64 "\r\nrole:%s\r\nterm:%" PRIu64 "\r\nleader_id:%" PRIu64 "\r\n"
               "leader_addr:%s\r\ncommit_index:%" PRIu64 "\r\napplied_index:%" PRIu64 "\r\n"
               "last_index:%" PRIu64 "\r\nread_lease:%s\r\n"
               "config_committed_index:%" PRIu64 "\r\nconfig_uncommitted_index:%" PRIu64 "\r\n"
               "config_repairs:%" PRIu64 "\r\n",
               ri.node_id, ri.role, ri.term, ri.leader_id, ri.leader_addr, ri.commit_index,
               ri.applied_index, ri.last_index, ri.lease_valid ? "valid" : "none",
               ri.config_committed_index, ri.config_uncommitted_index, ri.config_repairs);
    buf_printf(&text,
               "divergence_checks_passed:%" PRIu64 "\r\ndivergence_checks_failed:%" PRIu64
               "\r\ndivergence_last_failed_index:%" PRIu64 "\r\n",
               ri.divergence_checks_passed, ri.divergence_checks_failed,
               ri.divergence_last_failed_index);
    buf_printf(&text, "apply_skipped:%s\r\n", ri.apply_skipped);
    buf_printf(&text, "read_lease_window_ms:%" PRId64 "\r\nelection_timeout_ms:%u\r\n",
               ri.lease_window_ms, ri.election_timeout_ms);
    buf_printf(&text, "protocol_version:%u\r\ncluster_protocol_version:%u\r\n",
               ri.protocol_supported, ri.protocol_active);
    struct repl_member m[REPL_MEMBERS_MAX];
    size_t n = repl_members(c->srv->repl, m, REPL_MEMBERS_MAX);
    for (size_t i = 0; i < n; i++)
        buf_printf(&text, "member%zu:%" PRIu64 "@%s:%s:%s\r\n", i, m[i].id, m[i].raft_addr,
                   m[i].role, m[i].client_addr);
    buf_printf(&text, "members:%zu\r\n", n);
    struct resp_out o = client_reply(c);
    resp_verbatim(&o, text.data, text.len);
    buf_free(&text);
}

static void raft_members(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct repl_member m[REPL_MEMBERS_MAX];
    size_t n = repl_members(c->srv->repl, m, REPL_MEMBERS_MAX);
    struct resp_out o = client_reply(c);
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) {
        resp_array(&o, 14);
        resp_bulk_str(&o, "id");
        resp_int(&o, (long long)m[i].id);
        resp_bulk_str(&o, "raft-addr");
        resp_bulk_str(&o, m[i].raft_addr);
        resp_bulk_str(&o, "client-addr");
        resp_bulk_str(&o, m[i].client_addr);
        resp_bulk_str(&o, "tls-client-addr");
        resp_bulk_str(&o, m[i].tls_client_addr);
        resp_bulk_str(&o, "role");
        resp_bulk_str(&o, m[i].role);
        resp_bulk_str(&o, "leader");
        resp_int(&o, m[i].leader);
        resp_bulk_str(&o, "protocol-version");
        resp_int(&o, m[i].protocol);
    }
}

/* [build-protocol-version, n, cluster-protocol-version, n, members,
 * [[id, n], ...]]: a member's 0 means it registered no version (a build
 * before versions, read as 1) or has not registered with this leader's
 * log yet. */
static void raft_version(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    struct repl_member m[REPL_MEMBERS_MAX];
    size_t n = repl_members(c->srv->repl, m, REPL_MEMBERS_MAX);
    struct resp_out o = client_reply(c);
    resp_array(&o, 6);
    resp_bulk_str(&o, "build-protocol-version");
    resp_int(&o, ri.protocol_supported);
    resp_bulk_str(&o, "cluster-protocol-version");
    resp_int(&o, ri.protocol_active);
    resp_bulk_str(&o, "members");
    resp_array(&o, (long long)n);
    for (size_t i = 0; i < n; i++) {
        resp_array(&o, 2);
        resp_int(&o, (long long)m[i].id);
        resp_int(&o, m[i].protocol);
    }
}

/* This node's own state, not the leader's: [applied index, digest]. Two
 * replicas with equal answers hold the same data. */
static void raft_digest(struct client *c, const struct cmd_def *cmd, int argc,
                        const struct resp_arg *argv)
{
    struct repl_info ri;
    repl_get_info(c->srv->repl, &ri);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)store_digest(c->srv->store));
    struct resp_out o = client_reply(c);
    resp_array(&o, 2);
    resp_int(&o, (long long)ri.applied_index);
    resp_bulk(&o, hex, 16);
}

static bool parse_id(const struct resp_arg *a, uint64_t *v)
{
    char tmp[24];
    if (a->len == 0 || a->len >= sizeof tmp) return false;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    *v = strtoull(tmp, &end, 10);
    return *end == '\0' && tmp[0] >= '0' && tmp[0] <= '9';
}

/* Hands the change to repl/ and holds the client until it is answered. */
static void change(struct client *c, const struct repl_member_change *ch)
{
    struct reply_slot *slot = client_slot_own(c);
    c->blocking_slot = slot;
    net_conn_hold(c->conn);
    repl_change_members(c->srv->repl, slot, ch);
}

static void error(struct client *c, const char *text)
{
    struct resp_out o = client_reply(c);
    resp_error(&o, text);
}

#define NODE_SYNTAX                                                                            \
    "ERR syntax: RAFT NODE ADD <id> <raft host:port> [VOTER|OBSERVER] | RAFT NODE PROMOTE <id> " \
    "| RAFT NODE REMOVE <id>"

static void raft_node(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    struct repl_member_change ch = {0};
    char addr[256];
    if (arg_is(&argv[2], "add") && (argc == 5 || argc == 6)) {
        ch.op = REPL_NODE_ADD;
        if (argv[4].len == 0 || argv[4].len >= sizeof addr ||
            !memchr(argv[4].ptr, ':', argv[4].len)) {
            error(c, "ERR address must be host:port");
            return;
        }
        memcpy(addr, argv[4].ptr, argv[4].len);
        addr[argv[4].len] = '\0';
        ch.addr = addr;
        if (argc == 6) {
            ch.role_given = true;
            if (arg_is(&argv[5], "observer")) ch.observer = true;
            else if (!arg_is(&argv[5], "voter")) {
                error(c, NODE_SYNTAX);
                return;
            }
        }
    } else if (arg_is(&argv[2], "promote") && argc == 4) {
        ch.op = REPL_NODE_PROMOTE;
    } else if (arg_is(&argv[2], "remove") && argc == 4) {
        ch.op = REPL_NODE_REMOVE;
    } else {
        error(c, NODE_SYNTAX);
        return;
    }
    if (!parse_id(&argv[3], &ch.id) || ch.id == 0) {
        error(c, "ERR node id must be a positive integer");
        return;
    }
    change(c, &ch);
}

static void raft_transfer(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct repl_member_change ch = {.op = REPL_TRANSFER};
    if (argc == 3 && (!parse_id(&argv[2], &ch.id) || ch.id == 0)) {
        error(c, "ERR node id must be a positive integer");
        return;
    }
    if (argc > 3) {
        error(c, "ERR syntax: RAFT TRANSFER [<id>]");
        return;
    }
    change(c, &ch);
}

static void raft_help(struct client *c, const struct cmd_def *cmd, int argc,
                      const struct resp_arg *argv)
{
    static const char *lines[] = {
        "RAFT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "INFO",
        "    This node's id, role, term, leader, commit and applied index, what its",
        "    divergence checks found, the entries nodes skip (apply_skipped:",
        "    <node>@<index>,...), and the members",
        "    (member<n>:<id>@<raft address>:<role>:<client address>).",
        "MEMBERS",
        "    The members: id, raft-addr, client-addr, tls-client-addr (with tls-cluster), role",
        "    (voter, observer, spare), leader, protocol-version.",
        "VERSION",
        "    The cluster protocol version this build supports, the one the cluster runs",
        "    (raised by the leader once every voter and observer supports it), and each",
        "    member's (0: none registered).",
        "DIGEST",
        "    This node's applied index and a digest of its own keyspace; equal on replicas",
        "    that applied the same log.",
        "NODE ADD <id> <raft host:port> [VOTER|OBSERVER]",
        "    Adds a member: a voter (the default) once it has caught up, or an observer that",
        "    receives the log and never votes. A node started with --join sends this itself.",
        "NODE PROMOTE <id>",
        "    Makes an observer a voter.",
        "NODE REMOVE <id>",
        "    Removes a member; removing the leader hands leadership over first.",
        "TRANSFER [<id>]",
        "    Hands leadership to the given voter, or to the most up-to-date one.",
        "HELP",
        "    Prints this help.",
        "Changes may be sent to any node and are answered once committed.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

void raft_bind_handlers(void)
{
    cmd_bind_local("raft|info", raft_info);
    cmd_bind_local("raft|members", raft_members);
    cmd_bind_local("raft|digest", raft_digest);
    cmd_bind_local("raft|version", raft_version);
    cmd_bind_local("raft|node", raft_node);
    cmd_bind_local("raft|transfer", raft_transfer);
    cmd_bind_local("raft|help", raft_help);
}
