/* base/check.h — invariants checked in every build.
 *
 * CHECK(cond) states something the code itself guarantees, whatever
 * clients send: a reply slot's pending count never goes below zero, an
 * origin's applied sequence numbers only grow. When it does not hold, the
 * process writes "Assertion failed: <cond> at <file>:<line>" to the
 * process log (log.h: the log file if there is one, where assert()'s line
 * on stderr could be lost) and aborts; the fatal-signal report of repl/
 * then names the log entry being applied, if any. NDEBUG does not turn
 * CHECK off. Keep checks cheap on hot paths: a comparison or two.
 *
 * What a client can get wrong is refused with an error instead, before
 * anything is proposed: a CHECK that fires is a bug. */
#ifndef PARLEY_BASE_CHECK_H
#define PARLEY_BASE_CHECK_H

/* The plain assert()s of store/ and resp/ guard invariants too: a build
 * that would compile them out is refused rather than made quietly weaker. */
#ifdef NDEBUG
#error "Parley keeps its assertions on: do not build with -DNDEBUG"
#endif

#define CHECK(cond) ((cond) ? (void)0 : check_failed(#cond, __FILE__, __LINE__))

_Noreturn void check_failed(const char *expr, const char *file, int line);

#endif
