/* libvirt's cpuset syntax ("0-3,^2,8": ranges, and ^N to take one out) to the
 * cpulist a vmlaunch definition takes ("0-1,3,8"). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer/importer.h"

#define CPU_MAX 1023

static int parse_cpu(const char **s, unsigned *out)
{
        const char *p = *s;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        unsigned v = 0;
        while (*p >= '0' && *p <= '9') {
                v = v * 10 + (unsigned)(*p - '0');
                if (v > CPU_MAX)
                        return -EINVAL;
                p++;
        }
        *s = p;
        *out = v;
        return 0;
}

int importer_cpuset_to_cpulist(const char *cpuset, char *buf, size_t len)
{
        bool cpus[CPU_MAX + 1] = {false};
        const char *p = cpuset;
        bool any = false;
        while (*p) {
                while (*p == ' ')
                        p++;
                bool exclude = *p == '^';
                if (exclude)
                        p++;
                unsigned lo, hi;
                if (parse_cpu(&p, &lo) < 0)
                        return -EINVAL;
                hi = lo;
                if (*p == '-') {
                        if (exclude)
                                return -EINVAL;
                        p++;
                        if (parse_cpu(&p, &hi) < 0 || hi < lo)
                                return -EINVAL;
                }
                for (unsigned c = lo; c <= hi; c++)
                        cpus[c] = !exclude;
                any = any || !exclude;
                while (*p == ' ')
                        p++;
                if (*p == ',')
                        p++;
                else if (*p)
                        return -EINVAL;
        }
        if (!any)
                return -EINVAL;
        size_t used = 0;
        buf[0] = '\0';
        for (unsigned c = 0; c <= CPU_MAX; c++) {
                if (!cpus[c])
                        continue;
                unsigned end = c;
                while (end < CPU_MAX && cpus[end + 1])
                        end++;
                int n = end == c ? snprintf(buf + used, len - used, "%s%u", used ? "," : "", c)
                                 : snprintf(buf + used, len - used, "%s%u-%u", used ? "," : "", c,
                                            end);
                if (n < 0 || (size_t)n >= len - used)
                        return -EINVAL;
                used += (size_t)n;
                c = end;
        }
        return used ? 0 : -EINVAL;
}
