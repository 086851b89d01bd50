/* base/log.c — see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_NOTICE;
static FILE *out;
static volatile int out_fd = 2;

static const char *names[] = {"debug", "verbose", "notice", "warning"};

void log_set_level(enum log_level level) { min_level = level; }

int log_set_file(const char *path)
{
    FILE *f = fopen(path, "a");
    if (f == NULL) return -1;
    if (out != NULL && out != stderr) fclose(out);
    out = f;
    out_fd = fileno(f);
    return 0;
}

int log_fd(void) { return out_fd; }

int log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(enum log_level level) { return names[level]; }

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    FILE *f = out ? out : stderr;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%d %b %Y %H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03d", (int)(tv.tv_usec / 1000));
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(f, "%d:M %s %c %s\n", (int)getpid(), when, ".-*#"[level], msg);
    fflush(f);
}
