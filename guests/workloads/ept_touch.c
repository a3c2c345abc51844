/* Workload: touch `count` 4-KiB pages, one after another from `base=`
 * (default 16 MiB), writing a value into each and reading it back. Under a
 * hypervisor that populates EPT on demand each new page is an EPT violation
 * (SDM 3C "EPT Violations"); the turtle maps its guest's memory up front,
 * and a page outside that memory ends the run (docs/guests.md). */
#include "cmdline.h"
#include "console.h"
#include "report.h"
#include "workload.h"

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("ept_touch", mb_magic, mb_info, 1000);
    bool ok;
    uint64_t base = cmdline_u64(wl_cmdline, "base", 16ull << 20, &ok), wrong = 0, t0, t1;

    if (!ok || (base & 0xfff) || base + n * 4096 > (4ull << 30)) {
        report_fail("workload.ept_touch", "base= must be page aligned and the range below 4 GiB");
        return;
    }
    con_printf("workload ept_touch: pages %#lx-%#lx\n", base, base + n * 4096);
    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(base + i * 4096);
        uint64_t v = 0x5a5a000000000000ull | i;
        *p = v;
        wrong += *p != v;
    }
    t1 = wl_rdtsc();
    wl_timing("ept_touch", n, t1 - t0);
    check_eq("workload.ept_touch.read_back", wrong, 0);
}
