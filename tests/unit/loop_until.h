/* tests/unit/loop_until.h — the one way a unit test waits on a libuv loop:
 * run it until a condition holds, with a deadline. A ticking timer wakes
 * the loop so the condition (and the deadline) are looked at even while
 * nothing else happens; `each`, if not NULL, runs after every turn. */
#ifndef PARLEY_TESTS_LOOP_UNTIL_H
#define PARLEY_TESTS_LOOP_UNTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

static inline void loop_until_tick(uv_timer_t *t) { (void)t; }

static inline bool loop_until(uv_loop_t *loop, bool (*done)(void *), void (*each)(void *),
                              void *arg, uint64_t deadline_ms)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, loop_until_tick, 5, 5);
    uv_update_time(loop);
    uint64_t deadline = uv_now(loop) + deadline_ms;
    while (!done(arg) && uv_now(loop) < deadline) {
        uv_run(loop, UV_RUN_ONCE);
        if (each) each(arg);
    }
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return done(arg);
}

#endif
