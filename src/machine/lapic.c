/* Local APIC model: registers, acceptance and the timer on modelled cycles.
 * The timer counts at the modelled core clock divided by the divide
 * configuration (nvmx's choice: one tick per cycle before the divider; real
 * parts count at the bus or crystal clock, which software must calibrate
 * anyway). Everything is a function of the cycle count, never host time. */
#include "nvmx/lapic.h"

#include <string.h>

#define LAPIC_VERSION_VALUE 0x00050014u /* version 0x14, 6 LVT entries */

static const uint32_t lvt_masks_default = LAPIC_LVT_MASKED;

void lapic_reset(struct lapic *l, uint32_t id)
{
    memset(l, 0, sizeof *l);
    l->id = id;
    l->dfr = 0xffffffffu;
    l->svr = 0xff;
    l->lvt_timer = l->lvt_thermal = l->lvt_perf = lvt_masks_default;
    l->lvt_lint0 = l->lvt_lint1 = l->lvt_error = l->lvt_cmci = lvt_masks_default;
    l->timer_deadline = LAPIC_NO_DEADLINE;
}

static int highest_bit(const uint32_t v[8])
{
    for (int i = 7; i >= 0; i--)
        if (v[i])
            return i * 32 + 31 - __builtin_clz(v[i]);
    return -1;
}

static unsigned ppr(const struct lapic *l)
{
    /* SDM 3A "Processor Priority Register (PPR)" */
    int isrv = highest_bit(l->isr);
    unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isr_class ? (l->tpr & 0xff) : isr_class;
}

int lapic_pending_vector(const struct lapic *l)
{
    int v = highest_bit(l->irr);
    if (v < 0)
        return -1;
    if (((unsigned)v & 0xf0) <= (ppr(l) & 0xf0))
        return -1;
    return v;
}

/* SDM 3A "Local Vector Table": LINT0 with delivery mode ExtINT (111b),
 * unmasked, passes the 8259's INTR to the processor. SDM 3A "Enabling or
 * Disabling the Local APIC": with IA32_APIC_BASE.EN clear the processor is
 * as one without a local APIC, whose LINT0 pin is INTR itself. */
bool lapic_extint_pending(const struct lapic *l)
{
    return l->lint0_pin && (l->globally_disabled || (!(l->lvt_lint0 & LAPIC_LVT_MASKED) &&
                                                     ((l->lvt_lint0 >> 8) & 7) == 7));
}

static void update_any(struct lapic *l)
{
    l->irr_any = highest_bit(l->irr) >= 0 || lapic_signal_pending(l) || lapic_extint_pending(l);
}

void lapic_set_lint0(struct lapic *l, bool level)
{
    l->lint0_pin = level;
    update_any(l);
}

void lapic_set_global_enable(struct lapic *l, bool enabled)
{
    l->globally_disabled = !enabled;
    update_any(l);
}

void lapic_ack(struct lapic *l, int vector)
{
    l->irr[vector >> 5] &= ~(1u << (vector & 31));
    l->isr[vector >> 5] |= 1u << (vector & 31);
    update_any(l);
}

void lapic_signal_init(struct lapic *l)
{
    l->init_pending = true;
    l->irr_any = true;
}

/* A SIPI is not latched: one that finds the processor outside wait-for-SIPI
 * is discarded when the CPU looks at it (SDM 3A "MP Initialization Protocol
 * Algorithm for MP Systems"; SDM 3C "Start-up IPIs"). */
void lapic_signal_sipi(struct lapic *l, uint8_t vector)
{
    l->sipi_pending = true;
    l->sipi_vector = vector;
    l->irr_any = true;
}

void lapic_signals_taken(struct lapic *l) { update_any(l); }

/* SDM 3A "Local APIC State After an INIT Reset ('Wait-for-SIPI' State)":
 * "The state of the local APIC following an INIT reset is the same as it is
 * after a power-up or hardware reset, except that the APIC ID and
 * arbitration ID registers are not affected." */
void lapic_init_reset(struct lapic *l)
{
    uint32_t id = l->id;
    bool x2apic = l->x2apic, init = l->init_pending, sipi = l->sipi_pending;
    uint8_t vec = l->sipi_vector;
    bool lint0 = l->lint0_pin, disabled = l->globally_disabled;
    void (*eoi)(void *, uint8_t) = l->eoi_broadcast;
    void *eoi_ctx = l->eoi_ctx;
    lapic_reset(l, id);
    l->lint0_pin = lint0;
    l->globally_disabled = disabled;
    l->eoi_broadcast = eoi;
    l->eoi_ctx = eoi_ctx;
    l->x2apic = x2apic;
    l->init_pending = init;
    l->sipi_pending = sipi;
    l->sipi_vector = vec;
    l->wait_for_sipi = true;
    update_any(l);
}

static void set_error(struct lapic *l, uint32_t bit)
{
    l->esr_pending |= bit;
    if (!(l->lvt_error & LAPIC_LVT_MASKED)) {
        unsigned v = l->lvt_error & 0xff;
        if (v >= 16) {
            l->irr[v >> 5] |= 1u << (v & 31);
            l->irr_any = true;
        }
    }
}

void lapic_accept(struct lapic *l, int vector, bool level)
{
    if (vector < 16) {
        set_error(l, 1u << 6); /* received illegal vector */
        return;
    }
    uint32_t bit = 1u << (vector & 31);
    l->irr[vector >> 5] |= bit;
    /* SDM 3A "Trigger Mode Register (TMR)": set for level-triggered
     * interrupts on acceptance into the IRR, cleared for edge-triggered */
    if (level)
        l->tmr[vector >> 5] |= bit;
    else
        l->tmr[vector >> 5] &= ~bit;
    l->irr_any = true;
}

void lapic_raise(struct lapic *l, int vector) { lapic_accept(l, vector, false); }

static uint64_t divisor(const struct lapic *l)
{
    unsigned v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
    return v == 7 ? 1 : 2ull << v;
}

static unsigned timer_mode(const struct lapic *l)
{
    return (l->lvt_timer >> LAPIC_TIMER_MODE_SHIFT) & 3;
}

static void timer_fire(struct lapic *l)
{
    if (!(l->lvt_timer & LAPIC_LVT_MASKED))
        lapic_raise(l, (int)(l->lvt_timer & 0xff));
}

void lapic_update(struct lapic *l, uint64_t now)
{
    if (now < l->timer_deadline)
        return;
    timer_fire(l);
    if (timer_mode(l) == LAPIC_TIMER_PERIODIC && l->timer_initial) {
        uint64_t period = (uint64_t)l->timer_initial * divisor(l);
        uint64_t missed = (now - l->timer_deadline) / period;
        l->timer_start = l->timer_deadline + missed * period;
        l->timer_deadline = l->timer_start + period;
    } else {
        if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
            l->tsc_deadline = 0;
        l->timer_deadline = LAPIC_NO_DEADLINE;
    }
}

/* SDM 3A "APIC Timer": the current count counts down from the initial
 * count; in periodic mode it reloads from it at 0, in one-shot mode it
 * stays 0. Computed from modelled time, also between the expiry and the
 * next lapic_update(). */
static uint32_t current_count(const struct lapic *l, uint64_t now)
{
    if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE || l->timer_deadline == LAPIC_NO_DEADLINE)
        return 0;
    uint64_t left;
    if (now < l->timer_deadline)
        left = l->timer_deadline - now;
    else if (timer_mode(l) == LAPIC_TIMER_PERIODIC && l->timer_initial) {
        uint64_t period = (uint64_t)l->timer_initial * divisor(l);
        left = period - (now - l->timer_deadline) % period;
    } else
        return 0;
    return (uint32_t)((left + divisor(l) - 1) / divisor(l));
}

void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc, uint64_t tsc_offset, uint64_t now)
{
    if (timer_mode(l) != LAPIC_TIMER_TSC_DEADLINE)
        return; /* SDM 3A "TSC-Deadline Mode": writes are ignored in other modes */
    l->tsc_deadline = tsc;
    if (!tsc) {
        l->timer_deadline = LAPIC_NO_DEADLINE;
        return;
    }
    uint64_t cyc = tsc - tsc_offset; /* TSC = cycles + offset */
    l->timer_deadline = cyc < now ? now : cyc;
}

bool lapic_read(struct lapic *l, unsigned off, uint64_t now, uint32_t *val)
{
    uint32_t v = 0;
    switch (off) {
    case LAPIC_ID: v = l->x2apic ? l->id : l->id << 24; break;
    case LAPIC_VERSION: v = LAPIC_VERSION_VALUE; break;
    case LAPIC_TPR: v = l->tpr; break;
    case LAPIC_APR: v = 0; break;
    case LAPIC_PPR: v = ppr(l); break;
    case LAPIC_LDR: v = l->ldr; break;
    case LAPIC_DFR: v = l->dfr; break;
    case LAPIC_SVR: v = l->svr; break;
    case LAPIC_ESR: v = l->esr; break;
    case LAPIC_LVT_CMCI: v = l->lvt_cmci; break;
    case LAPIC_ICR_LO: v = l->icr_lo & ~(1u << 12); break; /* delivery status: idle */
    case LAPIC_ICR_HI: v = l->icr_hi; break;
    case LAPIC_LVT_TIMER: v = l->lvt_timer; break;
    case LAPIC_LVT_THERMAL: v = l->lvt_thermal; break;
    case LAPIC_LVT_PERF: v = l->lvt_perf; break;
    case LAPIC_LVT_LINT0: v = l->lvt_lint0; break;
    case LAPIC_LVT_LINT1: v = l->lvt_lint1; break;
    case LAPIC_LVT_ERROR: v = l->lvt_error; break;
    case LAPIC_TIMER_ICR: v = l->timer_initial; break;
    case LAPIC_TIMER_CCR: v = current_count(l, now); break;
    case LAPIC_TIMER_DCR: v = l->timer_dcr; break;
    case LAPIC_EOI:
    case LAPIC_RRD:
    case LAPIC_SELF_IPI: v = 0; break;
    default:
        if (off >= LAPIC_ISR0 && off < LAPIC_ISR0 + 0x80 && !(off & 0xf))
            v = l->isr[(off - LAPIC_ISR0) >> 4];
        else if (off >= LAPIC_TMR0 && off < LAPIC_TMR0 + 0x80 && !(off & 0xf))
            v = l->tmr[(off - LAPIC_TMR0) >> 4];
        else if (off >= LAPIC_IRR0 && off < LAPIC_IRR0 + 0x80 && !(off & 0xf))
            v = l->irr[(off - LAPIC_IRR0) >> 4];
        else
            return false;
    }
    *val = v;
    return true;
}

static uint32_t lvt_write_value(const struct lapic *l, uint32_t v, uint32_t writable)
{
    v &= writable;
    if (!(l->svr & LAPIC_SVR_ENABLE))
        v |= LAPIC_LVT_MASKED; /* SDM 3A "Spurious-Interrupt Vector Register" */
    return v;
}

static void send_ipi(struct lapic *l, uint32_t lo, uint32_t dest)
{
    unsigned mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
    bool broadcast = l->x2apic ? dest == 0xffffffffu : (dest & 0xff) == 0xff;
    bool to_self = shorthand == 1 || shorthand == 2 ||
                   (shorthand == 0 && (broadcast || dest == l->id));
    if (!to_self)
        return; /* no other processors on this machine */
    if (mode == 0) { /* fixed */
        unsigned v = lo & 0xff;
        if (v < 16) {
            set_error(l, 1u << 5); /* send illegal vector */
            return;
        }
        lapic_raise(l, (int)v);
    } else if (mode == 4) { /* NMI */
        l->nmi_pending = true;
    } else if (mode == 5 || mode == 6) {
        /* INIT and Start-Up reach this processor with "all including
         * self" or its own (or the broadcast) destination; the "self"
         * shorthand is invalid for them (SDM 3A Table "Valid Combinations
         * for the Pentium 4 and Intel Xeon Processors' Local xAPIC
         * Interrupt Command Register"). An INIT with level 0 and trigger
         * mode level is the INIT level de-assert, which only
         * synchronizes arbitration IDs (SDM 3A "Interrupt Command
         * Register (ICR)"). */
        bool deassert = mode == 5 && !(lo & (1u << 14)) && (lo & (1u << 15));
        if (shorthand == 1 || deassert)
            return;
        if (mode == 5)
            lapic_signal_init(l);
        else
            lapic_signal_sipi(l, (uint8_t)(lo & 0xff));
    }
    /* SMI to self is not modelled: ignored. */
}

static void timer_start(struct lapic *l, uint64_t now)
{
    l->timer_start = now;
    l->timer_deadline = l->timer_initial ? now + (uint64_t)l->timer_initial * divisor(l)
                                         : LAPIC_NO_DEADLINE;
}

bool lapic_write(struct lapic *l, unsigned off, uint64_t now, uint64_t tsc_offset, uint32_t v)
{
    switch (off) {
    case LAPIC_ID: if (!l->x2apic) l->id = v >> 24; break;
    case LAPIC_TPR: l->tpr = v & 0xff; break;
    case LAPIC_EOI: {
        int s = highest_bit(l->isr);
        if (s < 0)
            break;
        l->isr[s >> 5] &= ~(1u << (s & 31));
        /* SDM 3A "EOI Register": for a level-triggered interrupt (its TMR
         * bit set) the EOI goes on to the I/O APICs. EOI-broadcast
         * suppression (SVR bit 12) is not enumerated (version bit 24 = 0). */
        if ((l->tmr[s >> 5] >> (s & 31) & 1) && l->eoi_broadcast)
            l->eoi_broadcast(l->eoi_ctx, (uint8_t)s);
        break;
    }
    case LAPIC_LDR: if (!l->x2apic) l->ldr = v & 0xff000000u; break;
    case LAPIC_DFR: if (!l->x2apic) l->dfr = v | 0x0fffffffu; break;
    case LAPIC_SVR:
        l->svr = v & LAPIC_SVR_WRITABLE;
        if (!(l->svr & LAPIC_SVR_ENABLE)) {
            l->lvt_timer |= LAPIC_LVT_MASKED;
            l->lvt_thermal |= LAPIC_LVT_MASKED;
            l->lvt_perf |= LAPIC_LVT_MASKED;
            l->lvt_lint0 |= LAPIC_LVT_MASKED;
            l->lvt_lint1 |= LAPIC_LVT_MASKED;
            l->lvt_error |= LAPIC_LVT_MASKED;
            l->lvt_cmci |= LAPIC_LVT_MASKED;
        }
        break;
    case LAPIC_ESR: /* a write latches the errors seen since the last write */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_LVT_CMCI: l->lvt_cmci = lvt_write_value(l, v, 0x107ff); break;
    case LAPIC_ICR_LO:
        l->icr_lo = v & 0x000ccfffu;
        send_ipi(l, l->icr_lo, l->x2apic ? l->icr_hi : l->icr_hi >> 24);
        break;
    case LAPIC_ICR_HI: l->icr_hi = l->x2apic ? v : v & 0xff000000u; break;
    case LAPIC_LVT_TIMER: {
        unsigned old_mode = timer_mode(l);
        l->lvt_timer = lvt_write_value(l, v, 0x710ff);
        unsigned new_mode = timer_mode(l);
        /* SDM 3A "APIC Timer": changing between one-shot and periodic
         * neither starts nor stops the count (the initial count is kept;
         * the next expiry reloads in periodic mode). SDM 3A "TSC-Deadline
         * Mode": moving into or out of TSC-deadline mode disarms the timer. */
        if (new_mode != old_mode &&
            (old_mode == LAPIC_TIMER_TSC_DEADLINE || new_mode == LAPIC_TIMER_TSC_DEADLINE)) {
            l->timer_initial = 0;
            l->tsc_deadline = 0;
            l->timer_deadline = LAPIC_NO_DEADLINE;
        }
        break;
    }
    case LAPIC_LVT_THERMAL: l->lvt_thermal = lvt_write_value(l, v, 0x107ff); break;
    case LAPIC_LVT_PERF: l->lvt_perf = lvt_write_value(l, v, 0x107ff); break;
    case LAPIC_LVT_LINT0: l->lvt_lint0 = lvt_write_value(l, v, 0x1a7ff); break;
    case LAPIC_LVT_LINT1: l->lvt_lint1 = lvt_write_value(l, v, 0x1a7ff); break;
    case LAPIC_LVT_ERROR: l->lvt_error = lvt_write_value(l, v, 0x100ff); break;
    case LAPIC_TIMER_ICR:
        if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
            break; /* ignored in TSC-deadline mode */
        l->timer_initial = v;
        timer_start(l, now);
        break;
    case LAPIC_TIMER_DCR: l->timer_dcr = v & 0xb; break;
    case LAPIC_SELF_IPI:
        if (!l->x2apic)
            return false;
        lapic_raise(l, (int)(v & 0xff));
        break;
    default:
        /* read-only and reserved registers: writes are ignored (xAPIC) */
        if (off >= 0x400 || (off & 0xf))
            return false;
        break;
    }
    (void)tsc_offset;
    update_any(l); /* LINT0 or the SVR may have changed what LINT0 passes */
    return true;
}

/* SDM 3A "x2APIC Register Address Space": MSR 0x800 + (offset >> 4). */
bool lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t now, uint64_t *val)
{
    if (!l->x2apic || msr < 0x800 || msr > 0x8ff)
        return false;
    unsigned off = (msr - 0x800) << 4;
    if (off == LAPIC_EOI || off == LAPIC_SELF_IPI || off == LAPIC_DFR || off == LAPIC_APR ||
        off == LAPIC_RRD || off == LAPIC_ICR_HI)
        return false; /* write-only or absent in x2APIC mode */
    if (off == LAPIC_ICR_LO) {
        *val = ((uint64_t)l->icr_hi << 32) | (l->icr_lo & ~(1u << 12));
        return true;
    }
    uint32_t v;
    if (!lapic_read(l, off, now, &v))
        return false;
    *val = v;
    return true;
}

/* SDM 3A "Reserved Bit Checking" (x2APIC): a WRMSR that sets a reserved bit
 * of these registers is #GP(0); the reserved bits are those of Table
 * "Local APIC Register Address Map Supported by x2APIC" and the figures it
 * names: TPR bits 31:8, the SVR beyond vector, APIC enable and focus
 * processor checking (EOI-broadcast suppression is not enumerated), each
 * LVT entry beyond its fields ("Local Vector Table (LVT)"; the read-only
 * delivery status and remote IRR bits are ignored, not reserved), the
 * divide configuration beyond bits 3 and 1:0. 0 for the others. */
static uint32_t x2apic_reserved(unsigned off)
{
    switch (off) {
    case LAPIC_TPR: return 0xffffff00u;
    case LAPIC_SVR: return ~(uint32_t)LAPIC_SVR_WRITABLE;
    case LAPIC_LVT_TIMER: return ~0x710ffu;
    case LAPIC_LVT_CMCI:
    case LAPIC_LVT_THERMAL:
    case LAPIC_LVT_PERF: return ~0x117ffu;
    case LAPIC_LVT_LINT0:
    case LAPIC_LVT_LINT1: return ~0x1f7ffu;
    case LAPIC_LVT_ERROR: return ~0x110ffu;
    case LAPIC_TIMER_DCR: return ~0xbu;
    default: return 0;
    }
}

/* SDM 3A Table "Local APIC Register Address Map Supported by x2APIC": the
 * registers WRMSR may write; the rest of 800H-8FFH is read-only or
 * reserved, and WRMSR to it is #GP(0). */
static bool x2apic_writable(unsigned off)
{
    switch (off) {
    case LAPIC_TPR: case LAPIC_EOI: case LAPIC_SVR: case LAPIC_ESR: case LAPIC_LVT_CMCI:
    case LAPIC_ICR_LO: case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PERF:
    case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR: case LAPIC_TIMER_ICR:
    case LAPIC_TIMER_DCR: case LAPIC_SELF_IPI:
        return true;
    default:
        return false;
    }
}

bool lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t now, uint64_t tsc_offset, uint64_t val)
{
    if (!l->x2apic || msr < 0x800 || msr > 0x8ff)
        return false;
    unsigned off = (msr - 0x800) << 4;
    switch (off) {
    case LAPIC_ID: case LAPIC_VERSION: case LAPIC_PPR: case LAPIC_LDR: case LAPIC_TIMER_CCR:
    case LAPIC_DFR: case LAPIC_APR: case LAPIC_RRD: case LAPIC_ICR_HI:
        return false; /* read-only or absent: #GP */
    case LAPIC_EOI:
    case LAPIC_ESR:
        if (val)
            return false; /* non-zero write: #GP */
        break;
    case LAPIC_ICR_LO:
        /* SDM 3A "ICR Operation in x2APIC Mode": bits 31:20, 17:16 and 13
         * are reserved */
        if (val & 0xfff32000ull)
            return false;
        l->icr_hi = (uint32_t)(val >> 32);
        break;
    case LAPIC_SELF_IPI:
        /* SDM 3A "SELF IPI Register": bits 31:8 are reserved */
        if (val & ~0xffull)
            return false;
        break;
    default:
        if (val >> 32 || ((uint32_t)val & x2apic_reserved(off)))
            return false; /* reserved bits 63:32 and the register's own */
        break;
    }
    if (!x2apic_writable(off))
        return false; /* read-only (ISR, TMR, IRR) or reserved: #GP */
    return lapic_write(l, off, now, tsc_offset, (uint32_t)val);
}
