/* repl/segalloc.c — libraft's log segments are allocated written, not
 * just reserved.
 *
 * libraft 0.22 prepares each open segment of its log ahead of use (on the
 * thread pool) with posix_fallocate, which on ext4 and XFS reserves
 * unwritten extents. It then writes the log into them with O_DIRECT and
 * RWF_DSYNC, first trying without blocking (RWF_NOWAIT) and, when the
 * kernel answers EAGAIN, again from a thread of the pool. Each of its
 * writes rewrites the last, partly filled block of the one before; on an
 * unwritten extent that makes every non-blocking attempt fail (measured
 * on this machine's ext4: 291 EAGAIN in 292 such writes), so every log
 * write costs a loop iteration and a thread hand-off on top of the write,
 * and the write itself converts extents (a journal commit): about twice
 * the time of a write over blocks already written. With the blocks
 * written (zeros) when the segment is prepared, nearly every write
 * completes without blocking and without touching metadata.
 *
 * libraft takes posix_fallocate from the C library through the dynamic
 * linker, so the definition below (exported by the executable, which is
 * linked with -rdynamic) is the one it calls. It reserves the range as the
 * C library would (fallocate: ENOSPC before anything is written), writes
 * zeros over it, syncs them and drops them from the page cache. It runs
 * where libraft calls it: on the thread pool for segments, once at start
 * for libraft's 4 KB probe file. Parley's own code calls fallocate(2)
 * directly (repl/diskwatch.c). raft-log-prewrite no: reserve only.
 *
 * A test build may slow the preparation of segments down
 * (PARLEY_TEST_SEGMENT_DELAY_MS, on the thread pool only): a disk that
 * cannot keep up with the log's writes, whatever this machine's. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "repl/internal.h"

#define ZERO_CHUNK (256 * 1024)

static bool enabled = true; /* raft-log-prewrite */

void segalloc_enable(bool on) { enabled = on; }

int posix_fallocate(int fd, off_t offset, off_t len)
{
    if (offset < 0 || len <= 0) return EINVAL;
    if (fallocate(fd, 0, offset, len) != 0) return errno;
#ifdef PARLEY_TEST_HOOKS
    const char *delay = getenv("PARLEY_TEST_SEGMENT_DELAY_MS");
    if (delay && *delay && gettid() != getpid()) {
        long ms = atol(delay);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
#endif
    if (!enabled) return 0;
    static const char zeros[ZERO_CHUNK];
    for (off_t done = 0; done < len;) {
        size_t n = len - done < ZERO_CHUNK ? (size_t)(len - done) : ZERO_CHUNK;
        ssize_t w = pwrite(fd, zeros, n, offset + done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        /* Each chunk reaches the disk before the next is written: the log
         * writes meanwhile wait behind one chunk at most, not 8 MB. */
        if (sync_file_range(fd, offset + done, w, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                                      SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            return errno;
        done += w;
    }
    if (fdatasync(fd) != 0) return errno;
    (void)posix_fadvise(fd, offset, len, POSIX_FADV_DONTNEED);
    return 0;
}
