/* Workload: the local APIC timer, `count` one-shot interrupts. Each
 * iteration programs the xAPIC timer (SDM 3A "APIC Timer": divide by 1,
 * one-shot, initial count 1000), waits with STI; HLT and takes the
 * interrupt through its own IDT, which writes EOI. A hypervisor that
 * neither intercepts the APIC nor external interrupts (the turtle) lets the
 * interrupt reach the innermost guest directly. Checks that every timer
 * interrupt arrived, once, with the programmed vector. */
#include "exc.h"
#include "report.h"
#include "workload.h"
#include "x86.h"

#define APIC_PHYS 0xfee00000ull
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_DIV 0x3e0
#define TIMER_VECTOR 0x40
#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_ENABLE (1ull << 11)
#define CPUID_1_EDX_APIC (1u << 9)

static volatile uint64_t ticks, wrong_vector;

static volatile uint32_t *apic(unsigned reg)
{
    return (volatile uint32_t *)(APIC_PHYS + reg);
}

static bool timer_hook(struct exc_frame *f)
{
    if (f->vector != TIMER_VECTOR)
        wrong_vector++;
    ticks++;
    *apic(APIC_EOI) = 0;
    return true;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("apic_timer", mb_magic, mb_info, 100);
    uint64_t t0, t1, waits = 0;

    if (!(cpuid(1, 0).edx & CPUID_1_EDX_APIC)) {
        report_skip("workload.apic_timer", "CPUID.1:EDX.APIC = 0");
        return;
    }
    if ((rdmsr(MSR_APIC_BASE) & ~0xfffull) != APIC_PHYS ||
        !(rdmsr(MSR_APIC_BASE) & APIC_BASE_ENABLE)) {
        report_skip("workload.apic_timer", "the xAPIC is not enabled at 0xfee00000");
        return;
    }
    exc_set_hook(TIMER_VECTOR, timer_hook);
    *apic(APIC_SVR) = 0x1ff; /* software enable, spurious vector 0xff */
    *apic(APIC_TIMER_DIV) = 0xb; /* divide by 1 */
    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t before = ticks;
        *apic(APIC_LVT_TIMER) = TIMER_VECTOR; /* one-shot, not masked */
        *apic(APIC_TIMER_INIT) = 1000;
        /* STI's shadow covers HLT, so the interrupt cannot slip in between
         * (SDM 2B "STI"); if it came before STI it is pending and wakes HLT
         * at once. Bounded: a lost interrupt ends the run at HLT. */
        while (ticks == before && waits < 4 * n + 16) {
            __asm__ volatile("sti; hlt; cli" ::: "memory");
            waits++;
        }
    }
    t1 = wl_rdtsc();
    *apic(APIC_LVT_TIMER) = 1u << 16; /* masked */
    wl_timing("apic_timer", n, t1 - t0);
    check_eq("workload.apic_timer.interrupts", ticks, n);
    check_eq("workload.apic_timer.vector", wrong_vector, 0);
}
