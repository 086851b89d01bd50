/* repl/note.c — the wait note of a blocked command.
 *
 * A blocking command that found nothing normally writes no reply. One
 * whose arguments must not be evaluated again on a retry (XREAD's `$`,
 * cmds/t_stream_read.c) writes a note instead: a NUL byte, then the
 * command to retry with, as a RESP array of bulk strings. Apply hands the
 * note's command to the waiting node's on_blocked hook in place of the
 * original one; a leader forwards the note to the follower that sent the
 * command, whose link does the same. No client ever sees a note. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "repl/internal.h"

static bool read_len(const char **p, const char *end, char type, long long *n)
{
    if (*p >= end || **p != type) return false;
    const char *q = *p + 1;
    long long v = 0;
    bool any = false;
    while (q < end && *q >= '0' && *q <= '9') {
        if (v > 100000000000LL) return false;
        v = v * 10 + (*q++ - '0');
        any = true;
    }
    if (!any || end - q < 2 || q[0] != '\r' || q[1] != '\n') return false;
    *p = q + 2;
    *n = v;
    return true;
}

bool note_is(const char *p, size_t len)
{
    return len > 0 && p[0] == '\0';
}

int note_parse(const char *p, size_t len, struct resp_arg **argv)
{
    const char *end = p + len;
    long long n;
    *argv = NULL;
    if (!note_is(p, len)) return 0;
    p++;
    if (!read_len(&p, end, '*', &n) || n < 1 || n > (long long)len) return 0;
    struct resp_arg *v = xmalloc((size_t)n * sizeof *v);
    for (long long i = 0; i < n; i++) {
        long long blen;
        if (!read_len(&p, end, '$', &blen) || end - p < blen + 2) {
            free(v);
            return 0;
        }
        v[i].ptr = p;
        v[i].len = (size_t)blen;
        p += blen + 2;
    }
    *argv = v;
    return (int)n;
}
