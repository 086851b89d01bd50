/* server/startup_proposal.c — see startup_proposal.h. The reply slot is
 * the proposal's own (no client): "+..." means applied; anything else (no
 * leader yet, a timeout) is logged and tried again. */
#include "server/startup_proposal.h"

#include "base/log.h"
#include "server/server.h"

static void propose(struct startup_proposal *p);

static void on_retry(uv_timer_t *t)
{
    struct startup_proposal *p = t->data;
    if (!p->srv->shutting_down) propose(p);
}

static void on_reply(struct reply_slot *slot)
{
    struct startup_proposal *p = slot->owner;
    const struct buf *r = &slot->reply;
    if (r->len && r->data[0] == '+') {
        log_msg(p->quiet ? LOG_VERBOSE : LOG_NOTICE, "The %s are applied", p->what);
        if (p->on_applied) p->on_applied(p);
        return;
    }
    log_warn("Proposing the %s failed (%.*s); trying again", p->what,
             (int)(r->len > 2 ? r->len - 2 : 0), r->data ? r->data : "");
    if (!p->srv->shutting_down) uv_timer_start(&p->retry, on_retry, 500, 0);
}

static void propose(struct startup_proposal *p)
{
    buf_clear(&p->slot.reply);
    p->slot.owner = p;
    p->slot.on_ready = on_reply;
    repl_submit(p->srv->repl, &p->slot, p->db, 2, p->argc, p->argv);
}

void startup_proposal_start(struct startup_proposal *p, struct server *s, const char *what,
                            int argc, const struct resp_arg *argv,
                            void (*on_applied)(struct startup_proposal *p))
{
    p->srv = s;
    p->what = what;
    p->argc = argc;
    p->argv = argv;
    p->on_applied = on_applied;
    uv_timer_init(s->loop, &p->retry);
    p->retry.data = p;
    uv_unref((uv_handle_t *)&p->retry);
    propose(p);
}

void startup_proposal_next(struct startup_proposal *p, int db, int argc,
                           const struct resp_arg *argv)
{
    p->db = db;
    p->argc = argc;
    p->argv = argv;
    if (!p->srv->shutting_down) propose(p);
}

void startup_proposal_close(struct startup_proposal *p)
{
    uv_timer_stop(&p->retry);
    uv_close((uv_handle_t *)&p->retry, NULL);
}

void startup_proposal_free(struct startup_proposal *p) { buf_free(&p->slot.reply); }
