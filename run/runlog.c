#include "run/runlog.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* systemd sets JOURNAL_STREAM=DEV:INODE when stderr is connected to the journal;
 * comparing it with fd 2 tells whether the "<N>" prefixes would be understood.
 * https://www.freedesktop.org/software/systemd/man/systemd.exec.html#%24JOURNAL_STREAM */
static bool stderr_is_journal(void)
{
        static int cached = -1;
        if (cached >= 0)
                return cached;
        cached = 0;
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
            (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
                cached = 1;
        return cached;
}

void runlog(int priority, const char *fmt, ...)
{
        char line[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (stderr_is_journal())
                fprintf(stderr, "<%d>%s\n", priority, line);
        else if (priority <= LOG_ERR)
                fprintf(stderr, "error: %s\n", line);
        else if (priority == LOG_WARNING)
                fprintf(stderr, "warning: %s\n", line);
        else
                fprintf(stderr, "%s\n", line);
}
