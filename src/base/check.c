/* base/check.c — see check.h. */
#include "base/check.h"

#include <stdlib.h>

#include "base/log.h"

void check_failed(const char *expr, const char *file, int line)
{
    log_msg(LOG_WARNING, "Assertion failed: %s at %s:%d", expr, file, line);
    abort();
}
