/* base/log.h — the process log.
 *
 * One line per event on stderr (or the file named by the `logfile`
 * directive), prefixed with pid, time and level in Redis's layout:
 * "1234:M 23 Nov 2026 10:57:25.123 * message". */
#ifndef PARLEY_BASE_LOG_H
#define PARLEY_BASE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

void log_set_level(enum log_level level);
/* Returns 0, or -1 with errno set when the file cannot be opened. */
int log_set_file(const char *path);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses "debug", "verbose", "notice", "warning"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
/* The log's file descriptor, for a fatal-signal handler that may only
 * write(2) (repl/poison.c). */
int log_fd(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)

#endif
