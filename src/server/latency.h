/* server/latency.h — Redis's latency monitor: LATENCY LATEST, HISTORY,
 * RESET, DOCTOR and `latency-monitor-threshold`.
 *
 * An event (Redis's names: "command", "fast-command", "fork", and Parley's
 * "snapshot" for the state machine's snapshot callback and "event-loop" for
 * one loop iteration's busy time) is recorded when it took at least the
 * threshold in milliseconds (0: the monitor is off). Each event keeps its
 * latest 160 samples, one per second (a second sample in the same second
 * keeps the larger), and the largest ever seen, as Redis's latency.c does. */
#ifndef PARLEY_SERVER_LATENCY_H
#define PARLEY_SERVER_LATENCY_H

#include <stdint.h>

#define LATENCY_EVENTS_MAX 16
#define LATENCY_SAMPLES 160

struct latency_sample {
    int64_t time_s;
    uint32_t latency_ms;
};

struct latency_event {
    char name[32];
    struct latency_sample samples[LATENCY_SAMPLES];
    unsigned next;      /* where the next sample goes */
    unsigned count;     /* samples held, at most LATENCY_SAMPLES */
    uint32_t max_ms;    /* the largest ever recorded */
};

struct latency_monitor {
    struct latency_event events[LATENCY_EVENTS_MAX];
    unsigned n_events;
};

struct server;
/* Records `latency_ms` for `event` if the threshold is on and reached. */
void latency_add(struct server *s, const char *event, int64_t latency_ms);
/* The loop's busy time, measured from one tick to the next (main.c). */
void latency_loop_start(struct server *s);
void latency_loop_tick(struct server *s);
/* repl's hook (repl_hooks.on_latency); ctx is the server. */
void latency_on_repl(void *ctx, const char *event, int64_t ms);
void latency_bind_handlers(void);

#endif
