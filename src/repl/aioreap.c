/* repl/aioreap.c — libraft's kernel AIO contexts are destroyed off the
 * event loop.
 *
 * libraft 0.22 writes its log through a kernel AIO context (io_setup(2)),
 * one per open segment, and destroys it with io_destroy(2) on the loop when
 * the segment is closed: when it is full, and at every snapshot (the
 * snapshot's barrier closes the open segment). io_destroy returns only once
 * the kernel has waited out RCU grace periods: measured on this machine with
 * `perf trace --duration 8` on the loop thread under SET load, 28-48 ms per
 * call, one at each snapshot. That stall is what LATENCY LATEST showed as
 * "event-loop" at every snapshot, and what made the tails of every write
 * benchmark spike.
 *
 * libraft calls io_destroy through the C library's syscall(), taken through
 * the dynamic linker, so the definition below (exported by the executable,
 * which is linked with -rdynamic, as repl/segalloc.c's posix_fallocate) is
 * the one it calls. io_destroy is handed to the free thread
 * (store/lazyfree.c) and answered 0 at once; every other system call goes
 * on to the C library's syscall() unchanged. libraft destroys a context
 * only after its writer is closed: no write of ours is in flight on it, and
 * nothing uses it again. Until the thread has destroyed it, its events still
 * count against fs.aio-max-nr (one context per closed segment, for tens of
 * milliseconds). In a forked child, or when the thread cannot start, the
 * free thread's queue runs the call at once. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/check.h"
#include "repl/internal.h"
#include "store/lazyfree.h"

typedef long syscall_fn(long number, ...);

static syscall_fn *libc_syscall(void)
{
    static syscall_fn *real;
    syscall_fn *fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        fn = (syscall_fn *)dlsym(RTLD_NEXT, "syscall");
        CHECK(fn != NULL);
        __atomic_store_n(&real, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

static bool enabled;

void aioreap_enable(void)
{
    (void)libc_syscall();
    enabled = true;
}

static void destroy_context(void *arg)
{
    (void)libc_syscall()(SYS_io_destroy, (unsigned long)(uintptr_t)arg);
}

/* The kernel reads six argument registers whatever the call: so does this. */
long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_io_destroy && __atomic_load_n(&enabled, __ATOMIC_RELAXED)) {
        lazyfree_call(destroy_context, (void *)(uintptr_t)a[0]);
        return 0;
    }
    return libc_syscall()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
