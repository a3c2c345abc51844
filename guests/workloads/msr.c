/* Workload: WRMSR then RDMSR of IA32_SYSENTER_ESP (0x175) `count` times;
 * the value must read back. A hypervisor that intercepts the MSR (SDM 3C
 * "RDMSR", "WRMSR" exits, MSR bitmaps) takes two VM exits per iteration.
 * The MSR has no effect until SYSENTER runs, so any value is harmless. */
#include "report.h"
#include "workload.h"
#include "x86.h"

#define MSR_SYSENTER_ESP 0x175u

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("msr", mb_magic, mb_info, 1000);
    uint64_t differ = 0, t0, t1, saved = rdmsr(MSR_SYSENTER_ESP);

    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = 0x10000 + i * 16;
        wrmsr(MSR_SYSENTER_ESP, v);
        differ += rdmsr(MSR_SYSENTER_ESP) != v;
    }
    t1 = wl_rdtsc();
    wrmsr(MSR_SYSENTER_ESP, saved);
    wl_timing("msr", n, t1 - t0);
    check_eq("workload.msr.read_back", differ, 0);
    check_eq("workload.msr.restored", rdmsr(MSR_SYSENTER_ESP), saved);
}
