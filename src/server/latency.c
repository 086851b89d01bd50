/* server/latency.c — the latency monitor (latency.h) and its command,
 * LATENCY LATEST / HISTORY / RESET / DOCTOR / HELP.
 *
 * The loop's busy time: main.c's tick (a uv_prepare, run just before the
 * loop blocks) calls latency_loop_tick, which takes the time since the
 * previous tick minus what the loop spent blocked in between (libuv's idle
 * time metric). What is left is the time callbacks held the loop: a long
 * command, a snapshot encoded on the loop, anything that delays replies and
 * Raft heartbeats. It is recorded as "event-loop". */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "cmds/cmdstats.h"
#include "server/latency.h"
#include "server/server.h"

static struct latency_event *find_event(struct latency_monitor *m, const char *name, size_t len)
{
    for (unsigned i = 0; i < m->n_events; i++)
        if (strlen(m->events[i].name) == len && strncasecmp(m->events[i].name, name, len) == 0)
            return &m->events[i];
    return NULL;
}

void latency_add(struct server *s, const char *event, int64_t latency_ms)
{
    long long threshold = s->cfg.latency_monitor_threshold;
    if (threshold <= 0 || latency_ms < threshold) return;
    struct latency_monitor *m = &s->latency;
    struct latency_event *e = find_event(m, event, strlen(event));
    if (e == NULL) {
        if (m->n_events == LATENCY_EVENTS_MAX) return; /* bounded: names are ours */
        e = &m->events[m->n_events++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", event);
    }
    uint32_t ms = latency_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_ms;
    int64_t now_s = clock_wall_ms() / 1000;
    if (ms > e->max_ms) e->max_ms = ms;
    unsigned prev = (e->next + LATENCY_SAMPLES - 1) % LATENCY_SAMPLES;
    if (e->count > 0 && e->samples[prev].time_s == now_s) {
        if (ms > e->samples[prev].latency_ms) e->samples[prev].latency_ms = ms;
        return;
    }
    e->samples[e->next].time_s = now_s;
    e->samples[e->next].latency_ms = ms;
    e->next = (e->next + 1) % LATENCY_SAMPLES;
    if (e->count < LATENCY_SAMPLES) e->count++;
}

void latency_on_repl(void *ctx, const char *event, int64_t ms)
{
    latency_add(ctx, event, ms);
}

void latency_loop_start(struct server *s)
{
    s->loop_tick_us = clock_mono_us();
    s->loop_idle_ns = uv_metrics_idle_time(s->loop);
}

void latency_loop_tick(struct server *s)
{
    int64_t now_us = clock_mono_us();
    uint64_t idle_ns = uv_metrics_idle_time(s->loop);
    int64_t busy_us = (now_us - s->loop_tick_us) - (int64_t)((idle_ns - s->loop_idle_ns) / 1000);
    s->loop_tick_us = now_us;
    s->loop_idle_ns = idle_ns;
    if (busy_us > s->latency_loop_max_us) s->latency_loop_max_us = busy_us;
    latency_add(s, "event-loop", busy_us / 1000);
}

static const struct latency_sample *latest(const struct latency_event *e)
{
    return &e->samples[(e->next + LATENCY_SAMPLES - 1) % LATENCY_SAMPLES];
}

static void latency_latest(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    (void)cmd, (void)argc, (void)argv;
    struct latency_monitor *m = &c->srv->latency;
    struct resp_out o = client_reply(c);
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_events; i++) n += m->events[i].count > 0;
    resp_array(&o, n);
    for (unsigned i = 0; i < m->n_events; i++) {
        const struct latency_event *e = &m->events[i];
        if (e->count == 0) continue;
        resp_array(&o, 4);
        resp_bulk_str(&o, e->name);
        resp_int(&o, latest(e)->time_s);
        resp_int(&o, latest(e)->latency_ms);
        resp_int(&o, e->max_ms);
    }
}

static void latency_history(struct client *c, const struct cmd_def *cmd, int argc,
                            const struct resp_arg *argv)
{
    (void)cmd, (void)argc;
    const struct latency_event *e = find_event(&c->srv->latency, argv[2].ptr, argv[2].len);
    struct resp_out o = client_reply(c);
    unsigned n = e ? e->count : 0;
    resp_array(&o, n);
    for (unsigned k = 0; k < n; k++) {
        const struct latency_sample *sm =
            &e->samples[(e->next + LATENCY_SAMPLES - n + k) % LATENCY_SAMPLES];
        resp_array(&o, 2);
        resp_int(&o, sm->time_s);
        resp_int(&o, sm->latency_ms);
    }
}

static void reset_one(struct latency_event *e, long long *n)
{
    if (e->count == 0 && e->max_ms == 0) return;
    e->count = 0;
    e->next = 0;
    e->max_ms = 0;
    (*n)++;
}

/* Redis answers how many events were reset: all of them without names. */
static void latency_reset(struct client *c, const struct cmd_def *cmd, int argc,
                          const struct resp_arg *argv)
{
    struct latency_monitor *m = &c->srv->latency;
    long long n = 0;
    if (argc == 2) {
        for (unsigned i = 0; i < m->n_events; i++) reset_one(&m->events[i], &n);
    } else {
        for (int a = 2; a < argc; a++) {
            struct latency_event *e = find_event(m, argv[a].ptr, argv[a].len);
            if (e) reset_one(e, &n);
        }
    }
    struct resp_out o = client_reply(c);
    resp_int(&o, n);
}

static void latency_doctor(struct client *c, const struct cmd_def *cmd, int argc,
                           const struct resp_arg *argv)
{
    (void)cmd, (void)argc, (void)argv;
    struct server *s = c->srv;
    struct latency_monitor *m = &s->latency;
    struct buf out = BUF_INIT;
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_events; i++) n += m->events[i].count > 0;
    if (s->cfg.latency_monitor_threshold <= 0 && n == 0) {
        buf_append_str(&out, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in "
                             "this Parley instance. You may use \"CONFIG SET "
                             "latency-monitor-threshold <milliseconds>.\" in order to enable it.\n");
    } else if (n == 0) {
        buf_append_str(&out, "Dave, no latency spike was observed during the lifetime of this "
                             "Parley instance, not in the slightest bit.\n");
    } else {
        buf_printf(&out, "Dave, I have observed latency spikes in this Parley instance.\n\n");
        unsigned k = 0;
        for (unsigned i = 0; i < m->n_events; i++) {
            const struct latency_event *e = &m->events[i];
            if (e->count == 0) continue;
            uint64_t sum = 0;
            for (unsigned j = 0; j < e->count; j++) sum += e->samples[j].latency_ms;
            buf_printf(&out,
                       "%u. %s: %u latency spikes (average %llums), latest %ums, worst %ums.\n",
                       ++k, e->name, e->count, (unsigned long long)(sum / e->count),
                       latest(e)->latency_ms, e->max_ms);
        }
        buf_append_str(&out,
                       "\nI have a few advices for you:\n"
                       "- \"event-loop\" or \"snapshot\" spikes: a snapshot or a long command held "
                       "the loop; replies and Raft heartbeats waited meanwhile.\n"
                       "- \"command\" spikes: check for slow commands (KEYS, big set algebra, "
                       "scripts).\n");
    }
    struct resp_out o = client_reply(c);
    resp_verbatim(&o, (const char *)out.data, out.len);
    buf_free(&out);
}

/* LATENCY HISTOGRAM [command ...]: for each command that ran (all, or
 * those named: a container names its subcommands), its calls and its
 * cumulative counts by duration in microseconds, at the powers of two
 * where the count grows (base/histogram.h). */
static void histogram_one(struct resp_out *o, const struct cmd_def *d, long long *n)
{
    const struct cmd_stat *st = cmdstats_of(d);
    if (st == NULL || st->ran.count == 0) return;
    resp_bulk_str(o, d->name);
    resp_map(o, 2);
    resp_bulk_str(o, "calls");
    resp_int(o, (long long)st->ran.count);
    resp_bulk_str(o, "histogram_usec");
    size_t h = resp_defer_len(o);
    long long buckets = 0;
    uint64_t sum = 0;
    for (int k = 0; k < HISTOGRAM_BUCKETS; k++) {
        if (st->ran.counts[k] == 0) continue;
        sum += st->ran.counts[k];
        resp_int(o, 1ll << k);
        resp_int(o, (long long)sum);
        buckets++;
    }
    resp_set_deferred_len(o, h, '%', buckets);
    (*n)++;
}

static void histogram_tree(struct resp_out *o, const struct cmd_def *d, long long *n)
{
    histogram_one(o, d, n);
    for (const struct cmd_def *sub = d->subcommands; sub && sub->name; sub++) histogram_one(o, sub, n);
}

static void latency_histogram(struct client *c, const struct cmd_def *cmd, int argc,
                              const struct resp_arg *argv)
{
    struct resp_out o = client_reply(c);
    size_t h = resp_defer_len(&o);
    long long n = 0;
    if (argc == 2) {
        for (size_t i = 0; i < cmd_count_all(); i++) histogram_one(&o, cmd_by_id(i), &n);
    } else {
        for (int j = 2; j < argc; j++) {
            const char *bar = memchr(argv[j].ptr, '|', argv[j].len);
            const struct cmd_def *d;
            if (bar) {
                d = cmd_lookup(argv[j].ptr, (size_t)(bar - argv[j].ptr), false);
                if (d) d = cmd_lookup_sub(d, bar + 1, argv[j].len - (size_t)(bar - argv[j].ptr) - 1);
                if (d) histogram_one(&o, d, &n);
            } else if ((d = cmd_lookup(argv[j].ptr, argv[j].len, false)) != NULL) {
                histogram_tree(&o, d, &n);
            }
        }
    }
    resp_set_deferred_len(&o, h, '%', n);
}

static void latency_help(struct client *c, const struct cmd_def *cmd, int argc,
                         const struct resp_arg *argv)
{
    (void)cmd, (void)argc, (void)argv;
    static const char *lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "HISTOGRAM [<command> ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HELP",
        "    Prints this help.",
    };
    reply_lines(c, lines, sizeof lines / sizeof *lines);
}

void latency_bind_handlers(void)
{
    cmd_bind_local("latency|latest", latency_latest);
    cmd_bind_local("latency|history", latency_history);
    cmd_bind_local("latency|reset", latency_reset);
    cmd_bind_local("latency|doctor", latency_doctor);
    cmd_bind_local("latency|help", latency_help);
    cmd_bind_local("latency|histogram", latency_histogram);
}
