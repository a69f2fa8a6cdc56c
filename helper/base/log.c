/* log.c — see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static void log_tagged(int priority, int logno, const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof(message), fmt, ap);
    syslog(priority, "EXP%05d: %s", logno, message);
}

void log_warning(int logno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_tagged(LOG_WARNING, logno, fmt, ap);
    va_end(ap);
}

void log_error(int logno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_tagged(LOG_ERR, logno, fmt, ap);
    va_end(ap);
}
