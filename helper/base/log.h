/* log.h — the helper's messages to syslog, tagged with their number
 * ("EXPnnnnn: ..."), as every message at notice level or above must be
 * (the registry is docs/messages.txt). */
#ifndef EXPACME_LOG_H
#define EXPACME_LOG_H

void log_warning(int logno, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_error(int logno, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
