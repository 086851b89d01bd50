/* repl/transport.c — libraft's TCP transport, with TCP_NODELAY and TCP_USER_TIMEOUT.
 *
 * libraft 0.22's raft_uv_tcp never disables Nagle's algorithm on its
 * connections. A leader's AppendEntries that follows an unacknowledged small
 * message then waits for the peer's delayed ACK (about 40 ms on Linux): a
 * three-node cluster showed p99 latencies of 45 ms under light load.
 *
 * Nor does it ever give up on a connection whose data goes unacknowledged.
 * After a network partition heals, a stalled connection then carries
 * nothing until TCP's next retransmission, whose delay doubles with every
 * try: the fault suite saw replication to a node cut off for 8 s resume
 * only 5 s after the heal (rto 6.5 s). TCP_USER_TIMEOUT makes the kernel
 * drop a connection whose data stays unacknowledged for STALL_TIMEOUT_MS;
 * libraft then connects again (every second until it succeeds).
 *
 * This transport wraps raft_uv_tcp and sets both options on every stream it
 * hands to libraft, accepted or connected; everything else is delegated. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/mem.h"
#include "repl/internal.h"

struct pending_connect {
    struct raft_uv_connect inner; /* the request raft_uv_tcp sees */
    struct raft_uv_connect *outer;
    raft_uv_connect_cb cb;
};

static struct nodelay_transport *of(struct raft_uv_transport *t)
{
    return t->impl;
}

/* Longer than any pause a live peer's kernel takes to acknowledge data. */
#define STALL_TIMEOUT_MS 2000

static void no_delay(struct uv_stream_s *stream)
{
    if (stream == NULL || stream->type != UV_TCP) return;
    uv_tcp_nodelay((uv_tcp_t *)stream, 1);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)stream, &fd) == 0) {
        unsigned int timeout_ms = STALL_TIMEOUT_MS;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
    }
}

static int t_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct nodelay_transport *n = of(t);
    int rv = n->inner.init(&n->inner, id, address);
    if (rv != 0) memcpy(t->errmsg, n->inner.errmsg, sizeof t->errmsg);
    return rv;
}

static void on_accept(struct raft_uv_transport *inner, raft_id id, const char *address,
                      struct uv_stream_s *stream)
{
    struct nodelay_transport *n = inner->data;
    no_delay(stream);
    n->accept_cb(&n->outer, id, address, stream);
}

static int t_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct nodelay_transport *n = of(t);
    n->accept_cb = cb;
    int rv = n->inner.listen(&n->inner, on_accept);
    if (rv != 0) memcpy(t->errmsg, n->inner.errmsg, sizeof t->errmsg);
    return rv;
}

static void on_connect(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
    struct pending_connect *p = req->data;
    if (status == 0) no_delay(stream);
    struct raft_uv_connect *outer = p->outer;
    raft_uv_connect_cb cb = p->cb;
    free(p);
    cb(outer, stream, status);
}

static int t_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                     const char *address, raft_uv_connect_cb cb)
{
    struct nodelay_transport *n = of(t);
    struct pending_connect *p = xmalloc(sizeof *p);
    p->inner.data = p;
    p->outer = req;
    p->cb = cb;
    int rv = n->inner.connect(&n->inner, &p->inner, id, address, on_connect);
    if (rv != 0) {
        memcpy(t->errmsg, n->inner.errmsg, sizeof t->errmsg);
        free(p);
    }
    return rv;
}

static void on_inner_closed(struct raft_uv_transport *inner)
{
    struct nodelay_transport *n = inner->data;
    if (n->close_cb) n->close_cb(&n->outer);
}

static void t_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct nodelay_transport *n = of(t);
    n->close_cb = cb;
    n->inner.close(&n->inner, on_inner_closed);
}

int transport_init(struct nodelay_transport *n, uv_loop_t *loop)
{
    memset(n, 0, sizeof *n);
    n->inner.version = 1;
    n->inner.data = n;
    int rv = raft_uv_tcp_init(&n->inner, loop);
    if (rv != 0) return rv;
    n->outer.version = 1;
    n->outer.impl = n;
    n->outer.init = t_init;
    n->outer.listen = t_listen;
    n->outer.connect = t_connect;
    n->outer.close = t_close;
    return 0;
}

void transport_close(struct nodelay_transport *n)
{
    raft_uv_tcp_close(&n->inner);
}
