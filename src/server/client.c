/* server/client.c — a connected client and its reply queue.
 *
 * Replies must leave in the order the commands arrived, but they are
 * produced at different times: PING at once, a GET served under the read
 * lease at once, a SET only when its log entry is applied. A client
 * therefore has a FIFO of reply slots. While the FIFO is empty, immediate
 * replies are written straight to the connection; otherwise they are
 * appended to the tail slot (or a new one, if the tail still waits for
 * repl). When the head slot is complete its bytes go to the connection,
 * and so on down the queue. Slots are recycled through a small free list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "server/server.h"

#define FREE_SLOTS_MAX 1024
#define SLOT_KEEP_BYTES 4096

static void slot_ready(struct reply_slot *slot);

static struct reply_slot *slot_get(struct server *s, struct client *c)
{
    struct reply_slot *slot = s->free_slots;
    if (slot) {
        s->free_slots = slot->next;
        s->n_free_slots--;
    } else {
        slot = xcalloc(1, sizeof *slot);
    }
    slot->pending = 0;
    slot->overflowed = false;
    slot->waiter = NULL;
    slot->silent = false;
    slot->max_bytes = (size_t)s->cfg.output_hard;
    slot->reply.limit = slot->max_bytes; /* no reply is built past it */
    slot->owner = c;
    slot->next = NULL;
    slot->on_ready = slot_ready;
    buf_clear(&slot->reply);
    return slot;
}

static void slot_put(struct server *s, struct reply_slot *slot)
{
    if (s == NULL || s->n_free_slots >= FREE_SLOTS_MAX || slot->reply.cap > SLOT_KEEP_BYTES) {
        buf_free(&slot->reply);
        free(slot);
        return;
    }
    slot->next = s->free_slots;
    s->free_slots = slot;
    s->n_free_slots++;
}

/* Writes every complete slot at the head of the queue to the connection. */
static void drain(struct client *c)
{
    while (c->head && c->head->pending == 0) {
        struct reply_slot *slot = c->head;
        if (slot->reply.over) {
            /* A reply was cut short at the client's output limit. */
            log_warn("Client %s closed for overcoming of output buffer limits.", net_conn_peer(c->conn));
            net_conn_close(c->conn);
            return;
        }
        c->head = slot->next;
        if (c->head == NULL) c->tail = NULL;
        if (slot->reply.len && !slot->silent) net_conn_write(c->conn, slot->reply.data, slot->reply.len);
        if (slot == c->exec_slot) {
            /* EXEC answered: an array (not a null one) means it ran. */
            const char *r = slot->reply.data;
            if (slot->reply.len > 3 && r[0] == '*' && memcmp(r, "*-1", 3) != 0) c->db = c->exec_db;
            c->exec_slot = NULL;
        }
        if (slot == c->blocking_slot) {
            /* Its blocking command answered: read the client's next ones. */
            c->blocking_slot = NULL;
            net_conn_resume(c->conn);
        }
        slot_put(c->srv, slot);
    }
    if (c->head == NULL && c->quit) net_conn_close_after_flush(c->conn);
}

void client_quit(struct client *c)
{
    c->quit = true;
    net_conn_pause(c->conn);
    if (c->head == NULL) net_conn_close_after_flush(c->conn);
}

static void slot_ready(struct reply_slot *slot)
{
    struct client *c = slot->owner;
    if (slot->waiter && c) blocking_slot_done(c->srv, slot);
    if (c && (slot->overflowed || slot->reply.over) && !net_conn_closing(c->conn)) {
        log_warn("Client %s closed for overcoming of output buffer limits.", net_conn_peer(c->conn));
        net_conn_close(c->conn);
        return;
    }
    if (c == NULL) {
        /* Its client went away while repl still held it. */
        buf_free(&slot->reply);
        free(slot);
        return;
    }
    if (slot == c->head) drain(c);
}

static void append_slot(struct client *c, struct reply_slot *slot)
{
    if (c->tail) c->tail->next = slot;
    else c->head = slot;
    c->tail = slot;
}

struct resp_out client_reply(struct client *c)
{
    struct resp_out o;
    o.proto = c->proto;
    if (c->capture) {
        o.buf = c->capture;
        return o;
    }
    if (c->silent_slot) {
        o.buf = &c->silent_slot->reply;
        return o;
    }
    if (c->head == NULL) {
        o.buf = net_conn_out(c->conn);
        return o;
    }
    if (c->tail->pending > 0 || c->tail->silent) append_slot(c, slot_get(c->srv, c));
    o.buf = &c->tail->reply;
    return o;
}

void client_silence_begin(struct client *c)
{
    struct reply_slot *slot = slot_get(c->srv, c);
    slot->silent = true;
    append_slot(c, slot);
    c->silent_slot = slot;
}

void client_silence_end(struct client *c)
{
    c->silent_slot = NULL;
    if (c->head && c->head->pending == 0) drain(c);
}

struct reply_slot *client_slot_own(struct client *c)
{
    if (c->silent_slot) return c->silent_slot;
    if (c->tail == NULL || c->tail->pending > 0 || c->tail->reply.len > 0 || c->tail->silent)
        append_slot(c, slot_get(c->srv, c));
    return c->tail;
}

struct reply_slot *client_slot_for_submit(struct client *c)
{
    if (c->silent_slot) return c->silent_slot;
    if (c->tail == NULL || c->tail->silent) append_slot(c, slot_get(c->srv, c));
    return c->tail;
}

struct client *client_of_slot(const struct reply_slot *slot)
{
    return slot && slot->on_ready == slot_ready ? slot->owner : NULL;
}

bool client_has_pending(const struct client *c)
{
    return c->head != NULL;
}

struct client *client_new(struct server *s, struct net_conn *conn)
{
    struct client *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->conn = conn;
    c->id = ++s->next_client_id;
    c->proto = 2;
    c->created_ms = c->last_ms = clock_wall_ms();
    c->last_cmd = "NULL";
    c->next = s->clients;
    if (s->clients) s->clients->prev = c;
    s->clients = c;
    s->n_clients++;
    bool created;
    dict_upsert(&s->clients_by_id, &c->id, sizeof c->id, &created)->v.ptr = c;
    acl_client_new(c);
    return c;
}

void client_free(struct client *c)
{
    struct server *s = c->srv;
    blocking_client_gone(c);
    pubsub_client_gone(c);
    monitor_client_gone(c);
    tracking_client_gone(c);
    pause_client_gone(c);
    dict_delete(&s->clients_by_id, &c->id, sizeof c->id);
    while (c->head) {
        struct reply_slot *slot = c->head;
        c->head = slot->next;
        if (slot->pending > 0) slot->owner = NULL; /* repl frees it */
        else slot_put(s, slot);
    }
    if (c->waiting_repl) {
        for (struct client **p = &s->waiting; *p; p = &(*p)->waiting_next)
            if (*p == c) {
                *p = c->waiting_next;
                break;
            }
    }
    if (c->prev) c->prev->next = c->next;
    else s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    s->n_clients--;
    multi_free(c);
    peer_forget(c);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c->user);
    free(c);
}

void server_resume_waiting(void *ctx)
{
    struct server *s = ctx;
    while (s->waiting) {
        struct client *c = s->waiting;
        s->waiting = c->waiting_next;
        c->waiting_repl = false;
        net_conn_resume(c->conn);
    }
}

void client_line(struct client *c, struct buf *out)
{
    int64_t now = clock_wall_ms();
    size_t qbuf = net_conn_query_len(c->conn);
    size_t qcap = net_conn_query_cap(c->conn);
    size_t obl = net_conn_output_len(c->conn);
    char flags[8];
    size_t nflags = 0;
    long long redir;
    tracking_client_flags(c, flags, &nflags, &redir);
    if (nflags == 0) flags[nflags++] = 'N';
    flags[nflags] = '\0';
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 "
               "psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
               "rbp=0 obl=%zu oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=%s redir=%lld "
               "resp=%d lib-name=%s lib-ver=%s\n",
               (unsigned long long)c->id, net_conn_peer(c->conn), net_conn_local(c->conn),
               net_conn_fd(c->conn), c->name ? c->name : "",
               (long long)((now - c->created_ms) / 1000), (long long)((now - c->last_ms) / 1000),
               flags, c->db, qbuf, qcap - qbuf, obl, obl, obl, qcap + obl, c->last_cmd, c->user, redir,
               c->proto,
               c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
}
