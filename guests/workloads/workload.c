/* Workloads: command line and timing lines shared by every image. */
#include "workload.h"

#include "cmdline.h"
#include "console.h"
#include "report.h"

const char *wl_cmdline = "";

uint64_t wl_start(const char *name, uint32_t mb_magic, uint32_t mb_info, uint64_t dflt)
{
    bool ok;
    uint64_t n;

    wl_cmdline = mb_cmdline(mb_magic, mb_info);
    n = cmdline_u64(wl_cmdline, "count", dflt, &ok);
    if (!ok)
        report_fail(name, "count= on the command line \"%s\" is not a number", wl_cmdline);
    con_printf("workload %s: count=%lu\n", name, n);
    return n;
}

void wl_timing(const char *name, uint64_t n, uint64_t ticks)
{
    con_printf("workload %s: %lu iterations, %lu TSC ticks, %lu per iteration\n", name, n, ticks,
               n ? ticks / n : 0);
}
