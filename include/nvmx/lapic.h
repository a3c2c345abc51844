/* The local APIC of the one logical processor: xAPIC MMIO registers, x2APIC
 * MSRs, interrupt acceptance (IRR/ISR/TPR/PPR), self-IPIs and the timer in
 * one-shot, periodic and TSC-deadline modes, all on modelled cycles.
 * SDM 3A "Advanced Programmable Interrupt Controller (APIC)". */
#ifndef NVMX_LAPIC_H
#define NVMX_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_NO_DEADLINE UINT64_MAX

/* Register offsets (xAPIC MMIO; the x2APIC MSR is 0x800 + offset / 16). */
enum lapic_reg {
    LAPIC_ID = 0x020,
    LAPIC_VERSION = 0x030,
    LAPIC_TPR = 0x080,
    LAPIC_APR = 0x090,
    LAPIC_PPR = 0x0a0,
    LAPIC_EOI = 0x0b0,
    LAPIC_RRD = 0x0c0,
    LAPIC_LDR = 0x0d0,
    LAPIC_DFR = 0x0e0,
    LAPIC_SVR = 0x0f0,
    LAPIC_ISR0 = 0x100,
    LAPIC_TMR0 = 0x180,
    LAPIC_IRR0 = 0x200,
    LAPIC_ESR = 0x280,
    LAPIC_LVT_CMCI = 0x2f0,
    LAPIC_ICR_LO = 0x300,
    LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_THERMAL = 0x330,
    LAPIC_LVT_PERF = 0x340,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_ICR = 0x380,
    LAPIC_TIMER_CCR = 0x390,
    LAPIC_TIMER_DCR = 0x3e0,
    LAPIC_SELF_IPI = 0x3f0, /* x2APIC only */
};

#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_MODE_SHIFT 17
#define LAPIC_TIMER_ONESHOT 0u
#define LAPIC_TIMER_PERIODIC 1u
#define LAPIC_TIMER_TSC_DEADLINE 2u
#define LAPIC_SVR_ENABLE (1u << 8)
/* SDM 3A "Spurious-Interrupt Vector Register": vector, APIC software
 * enable, focus processor checking; bit 12 (EOI-broadcast suppression) is
 * reserved, the version register not enumerating it (bit 24 = 0). */
#define LAPIC_SVR_WRITABLE 0x3ffu

struct lapic {
    uint32_t id;
    uint32_t tpr, ldr, dfr, svr, esr, esr_pending;
    uint32_t icr_lo, icr_hi;
    uint32_t lvt_timer, lvt_thermal, lvt_perf, lvt_lint0, lvt_lint1, lvt_error, lvt_cmci;
    uint32_t timer_initial, timer_dcr;
    uint64_t timer_start;    /* cycle at which the current count was loaded */
    uint64_t timer_deadline; /* absolute cycle of the next expiry, or NO_DEADLINE */
    uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE (TSC value, 0 = disarmed) */
    uint32_t irr[8], isr[8], tmr[8];
    bool irr_any; /* some IRR bit is set, or an INIT/SIPI is pending: the
                     CPU's cheap per-block check */
    bool x2apic;
    bool nmi_pending; /* an NMI the APIC delivered to its own CPU */
    /* INIT and SIPI delivered to this processor (SDM 3A "MP Initialization
     * Protocol Algorithm for MP Systems"). The CPU takes them between
     * instructions (cpu_take_signals); an INIT stays latched while it is
     * blocked (VMX root operation, SDM 3C "Restrictions on VMX
     * Operation"). */
    bool init_pending;
    bool sipi_pending;
    uint8_t sipi_vector;
    /* The processor is in the wait-for-SIPI state: an INIT reset left it
     * there (SDM 3A "Local APIC State After an INIT Reset ('Wait-for-SIPI'
     * State)"); only a SIPI starts it again. */
    bool wait_for_sipi;
    /* The LINT0 pin: the 8259's INTR output (src/machine/intc.c). With
     * LINT0 unmasked in ExtINT mode it is an interrupt request whose vector
     * the 8259 gives (SDM 3A "Local Vector Table", delivery mode 111). */
    bool lint0_pin;
    /* IA32_APIC_BASE.EN is clear: the LINT0 pin is the processor's INTR
     * (set by the CPU's WRMSR, lapic_set_global_enable). */
    bool globally_disabled;
    /* The EOI message for a level-triggered vector (its TMR bit set) to
     * the I/O APICs (SDM 3A "EOI Register"); NULL = none attached. */
    void (*eoi_broadcast)(void *ctx, uint8_t vector);
    void *eoi_ctx;
};

void lapic_reset(struct lapic *l, uint32_t id);

/* Register access; now is the modelled cycle count. Reads of write-only or
 * reserved registers return 0; x2apic-only registers are checked by the
 * caller (x2APIC MSR path). Returns false for an invalid register. */
bool lapic_read(struct lapic *l, unsigned offset, uint64_t now, uint32_t *val);
bool lapic_write(struct lapic *l, unsigned offset, uint64_t now, uint64_t tsc_offset,
                 uint32_t val);

/* x2APIC MSR access (0x800-0x8ff): false means #GP(0). */
bool lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t now, uint64_t *val);
bool lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t now, uint64_t tsc_offset,
                 uint64_t val);

void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc, uint64_t tsc_offset, uint64_t now);

/* Time: fire the timer if its deadline has passed. */
void lapic_update(struct lapic *l, uint64_t now);
/* Cycle at which something next happens without guest action. */
static inline uint64_t lapic_next_event(const struct lapic *l) { return l->timer_deadline; }

/* Interrupt acceptance (SDM 3A "Interrupt Acceptance for Fixed Interrupts"):
 * the vector the APIC would present now, or -1; lapic_ack moves it from IRR
 * to ISR when the CPU takes it. */
int lapic_pending_vector(const struct lapic *l);
static inline bool lapic_has_irr(const struct lapic *l) { return l->irr_any; }
void lapic_ack(struct lapic *l, int vector);
/* A fixed interrupt accepted into IRR, edge-triggered (lapic_raise) or
 * with its trigger mode (lapic_accept); TMR records the mode (SDM 3A
 * "Interrupt Acceptance for Fixed Interrupts"). */
void lapic_raise(struct lapic *l, int vector);
void lapic_accept(struct lapic *l, int vector, bool level);
/* The LINT0 pin changed; IA32_APIC_BASE.EN changed; and whether LINT0
 * requests an 8259 interrupt now. */
void lapic_set_lint0(struct lapic *l, bool level);
void lapic_set_global_enable(struct lapic *l, bool enabled);
bool lapic_extint_pending(const struct lapic *l);

/* INIT / SIPI arriving at this APIC (from its own ICR, or from another
 * processor), and the processor taking them. */
void lapic_signal_init(struct lapic *l);
void lapic_signal_sipi(struct lapic *l, uint8_t vector);
static inline bool lapic_signal_pending(const struct lapic *l)
{
    return l->init_pending | l->sipi_pending;
}
void lapic_signals_taken(struct lapic *l); /* after clearing init/sipi_pending */
/* The INIT reset of the APIC: its power-up state except the APIC ID and
 * the x2APIC mode (IA32_APIC_BASE is not changed by INIT); the processor
 * enters wait-for-SIPI. */
void lapic_init_reset(struct lapic *l);

#endif
