/* Workload: CPUID leaf 0 `count` times. CPUID exits unconditionally in VMX
 * non-root operation (SDM 3C "Instructions That Cause VM Exits
 * Unconditionally"), so under a hypervisor every iteration is one VM exit
 * at the innermost level. Checks that every execution returns the same
 * leaf-0 values (maximum basic leaf and a non-empty vendor string). */
#include "report.h"
#include "workload.h"
#include "x86.h"

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("cpuid", mb_magic, mb_info, 1000);
    struct cpuid_regs first = cpuid(0, 0), r;
    uint64_t differ = 0, t0, t1;

    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        r = cpuid(0, 0);
        differ += r.eax != first.eax || r.ebx != first.ebx || r.ecx != first.ecx ||
                  r.edx != first.edx;
    }
    t1 = wl_rdtsc();
    wl_timing("cpuid", n, t1 - t0);
    check_true("workload.cpuid.vendor", (first.ebx | first.ecx | first.edx) != 0,
               "a vendor string in CPUID leaf 0");
    check_eq("workload.cpuid.same_result", differ, 0);
}
