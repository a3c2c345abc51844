/* Workloads: command line and timing lines shared by every image. */
#include "workload.h"

#include "cmdline.h"
#include "console.h"
#include "report.h"
#include "nvmx/annotate.h"

const char *wl_cmdline = "";
static bool wl_annotate;
static uint64_t wl_level;

/* level=N: confirm the level to nvmx's trace (include/nvmx/annotate.h). */
static void annotate_level(void)
{
    if (wl_annotate)
        nvmx_annotate(NVMX_ANNOTATE_LEVEL, wl_level, 0);
}

uint64_t wl_start(const char *name, uint32_t mb_magic, uint32_t mb_info, uint64_t dflt)
{
    bool ok;
    uint64_t n;

    wl_cmdline = mb_cmdline(mb_magic, mb_info);
    n = cmdline_u64(wl_cmdline, "count", dflt, &ok);
    if (!ok)
        report_fail(name, "count= on the command line \"%s\" is not a number", wl_cmdline);
    wl_annotate = cmdline_has(wl_cmdline, "level");
    wl_level = cmdline_u64(wl_cmdline, "level", 0, &ok);
    if (!ok || wl_level > 63)
        report_fail(name, "level= on the command line \"%s\" is not a level 0-63", wl_cmdline);
    annotate_level();
    con_printf("workload %s: count=%lu\n", name, n);
    return n;
}

void wl_timing(const char *name, uint64_t n, uint64_t ticks)
{
    annotate_level();
    con_printf("workload %s: %lu iterations, %lu TSC ticks, %lu per iteration\n", name, n, ticks,
               n ? ticks / n : 0);
}
