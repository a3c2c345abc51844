/* Workload: VMCALL `count` times, the hypercall round trip. VMCALL exits
 * unconditionally in VMX non-root operation (SDM 3C "Instructions That
 * Cause VM Exits Unconditionally"); outside VMX operation it is #UD (SDM 2B
 * "VMCALL"), which makes the workload SKIP. Under the turtle hypervisor
 * (CPUID leaf 0x40000000 signature "TurtleTurtle") the NOP hypercall
 * (RAX = 0x54540000) returns RAX = 0; under another hypervisor every call must return the
 * value the first one returned. */
#include "console.h"
#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "workload.h"
#include "x86.h"

#define TURTLE_HC_NOP 0x54540000u /* guests/turtle/turtle.h */
#define CPUID_HYPERVISOR (1u << 31)

static uint64_t hypercall(uint64_t nr)
{
    uint64_t rax = nr;
    __asm__ volatile("vmcall" : "+a"(rax) : : "memory");
    return rax;
}

static uint64_t first_result;
static void first_call(void *arg)
{
    first_result = hypercall(TURTLE_HC_NOP);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("vmcall", mb_magic, mb_info, 1000);
    uint64_t differ = 0, t0, t1;
    char sig[13] = {0};
    bool turtle = false;
    int vec;

    if (cpuid(1, 0).ecx & CPUID_HYPERVISOR) {
        struct cpuid_regs h = cpuid(0x40000000u, 0);
        memcpy(sig, &h.ebx, 4);
        memcpy(sig + 4, &h.ecx, 4);
        memcpy(sig + 8, &h.edx, 4);
        turtle = memcmp(sig, "TurtleTurtle", 12) == 0;
        con_printf("workload vmcall: hypervisor \"%s\"\n", sig);
    }
    vec = exc_run(first_call, 0);
    if (vec >= 0) {
        report_skip("workload.vmcall", vec == 6 ? "VMCALL raised #UD (no hypervisor handles it)"
                                                : "VMCALL raised an exception");
        return;
    }
    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++)
        differ += hypercall(TURTLE_HC_NOP) != first_result;
    t1 = wl_rdtsc();
    wl_timing("vmcall", n, t1 - t0);
    if (turtle)
        check_eq("workload.vmcall.turtle_nop_result", first_result, 0);
    check_eq("workload.vmcall.same_result", differ, 0);
}
