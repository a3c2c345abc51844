/* VMX non-root operation, events: exceptions against the exception bitmap,
 * NMIs, external interrupts and triple faults as the CPU is about to deliver
 * them (SDM 3C "VM Exits Caused by Events" ... "Exceptions", "NMIs",
 * "External Interrupts", "Triple Fault"), and the exits that happen between
 * instructions (SDM 3C "Monitor Trap Flag", "VMX-Preemption Timer",
 * "NMI-Window Exiting", "Interrupt-Window Exiting"), in the order of SDM 3A
 * "Priority Among Concurrent Events" as 3C places them:
 *   MTF > debug traps > preemption timer > NMI window > NMI
 *       > interrupt window > external interrupts. */
#include "vmx_internal.h"

static uint32_t intr_info(int vector, enum cpu_event_type type, bool has_err)
{
    return VMX_INTR_INFO_VALID | ((uint32_t)vector & VMX_INTR_INFO_VECTOR) |
           ((uint32_t)type << VMX_INTR_INFO_TYPE_SHIFT) | (has_err ? VMX_INTR_INFO_ERROR_CODE : 0);
}

static bool exit_now(struct cpu *c, struct vmx *v, uint32_t reason)
{
    struct vmx_exit e = { .reason = reason };
    vmx_vm_exit(c, v, &e);
    return true;
}

/* SDM 3C "Exception Bitmap": a #PF exits when bit 14 is 1 and
 * (PFEC & mask) == match, or when bit 14 is 0 and they differ. */
static bool exception_exits(const struct vmx *v, int vector, uint32_t err)
{
    bool bit = (vmcs_get(v, VMCS_exception_bitmap) >> vector) & 1;
    if (vector != EXC_PF)
        return bit;
    uint32_t mask = (uint32_t)vmcs_get(v, VMCS_page_fault_error_code_mask);
    uint32_t match = (uint32_t)vmcs_get(v, VMCS_page_fault_error_code_match);
    return bit == ((err & mask) == match);
}

/* SDM 3C "Exit Qualification for ... Exceptions": the linear address for
 * #PF, the DR6-format bits for #DB, else 0. */
static uint64_t exception_qual(const struct cpu *c, int vector)
{
    if (vector == EXC_PF)
        return c->fault_cr2;
    if (vector == EXC_DB)
        return c->dr[6] & 0x600full; /* B0-B3, BD, BS */
    return 0;
}

static bool exception_event(struct cpu *c, struct vmx *v, int vector, enum cpu_event_type type,
                            bool has_err, uint32_t err)
{
    if (vector < 0 || vector > 31 || !exception_exits(v, vector, err))
        return false;
    struct vmx_exit e = {
        .reason = VMX_EXIT_exception_nmi,
        .qual = exception_qual(c, vector),
        .intr_info = intr_info(vector, type, has_err),
        .intr_error = err,
    };
    /* software exceptions (INT3, INTO, INT1) are traps: the length of the
     * instruction goes with the exit */
    if (type == EVT_SW_EXC || type == EVT_PRIV_SW_EXC)
        e.insn_len = (uint32_t)(c->next_rip - c->rip);
    vmx_vm_exit(c, v, &e);
    return true;
}

/* SDM 3C "External Interrupts": with "acknowledge interrupt on exit" the
 * interrupt controller is acknowledged and the vector recorded; otherwise
 * the interrupt stays pending and the information is invalid. */
static bool extint_exit(struct cpu *c, struct vmx *v)
{
    struct vmx_exit e = { .reason = VMX_EXIT_external_interrupt };
    if (v->exit_ctls & EXIT_ACK_INTERRUPT_ON_EXIT) {
        int vec = cpu_ack_extint(c);
        if (vec >= 0)
            e.intr_info = intr_info(vec, EVT_EXTINT, false);
    }
    vmx_vm_exit(c, v, &e);
    return true;
}

bool vmx_hook_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                    uint32_t err)
{
    struct vmx *v = vmx_of(c);

    if (!c->vmx_nonroot)
        return false;
    if (vector < 0) /* SDM 3C "Triple Fault" */
        return exit_now(c, v, VMX_EXIT_triple_fault);
    switch (type) {
    case EVT_NMI:
        if (!(v->pin & PIN_NMI_EXITING))
            return false;
        {
            struct vmx_exit e = { .reason = VMX_EXIT_exception_nmi,
                                  .intr_info = intr_info(EXC_NMI, EVT_NMI, false) };
            vmx_vm_exit(c, v, &e);
        }
        return true;
    case EVT_EXTINT:
        return (v->pin & PIN_EXTERNAL_INTERRUPT_EXITING) && extint_exit(c, v);
    case EVT_HW_EXC:
    case EVT_SW_EXC:
    case EVT_PRIV_SW_EXC:
        return exception_event(c, v, vector, type, has_err, err);
    default:
        return false; /* INT n never exits (SDM 3C "Exceptions") */
    }
}

/* ---- between instructions ---------------------------------------------------- */

static bool nmi_blocked(const struct cpu *c, const struct vmx *v)
{
    return (v->pin & PIN_VIRTUAL_NMIS) ? v->virtual_nmi_blocked : c->nmi_blocked;
}

/* The first pending() after a VM entry: remember where the guest's
 * instruction count stands (MTF) and single-step while MTF is on. */
static void start_nonroot(struct cpu *c, struct vmx *v)
{
    v->nr_started = true;
    v->mtf_insns = c->stats.insns;
    v->mtf_exceptions = c->stats.exceptions;
    if (v->proc & PROC_MONITOR_TRAP_FLAG)
        c->nr.single_step = true;
}

/* SDM 3C "Monitor Trap Flag": an MTF VM exit is pending after an injected
 * event is delivered (v->mtf_pending, set by VM entry), after any
 * instruction completes, and after a fault is delivered through the IDT. */
static bool mtf_due(const struct cpu *c, const struct vmx *v)
{
    if (!(v->proc & PROC_MONITOR_TRAP_FLAG))
        return false;
    return v->mtf_pending || c->stats.insns != v->mtf_insns ||
           c->stats.exceptions != v->mtf_exceptions;
}

/* SDM 3C "VMX-Preemption Timer": counts down on modelled cycles from VM
 * entry (which sets the deadline); it expires even in the HLT state. */
static bool timer_expired(const struct cpu *c, const struct vmx *v)
{
    return (v->pin & PIN_ACTIVATE_PREEMPTION_TIMER) && c->cycles >= v->preemption_deadline;
}

/* SDM 3C "NMI-Window Exiting": no (virtual-)NMI blocking and no blocking by
 * MOV SS; nvmx also waits out blocking by STI, which the SDM permits. */
static bool nmi_window_open(const struct cpu *c, const struct vmx *v)
{
    return (v->proc & PROC_NMI_WINDOW_EXITING) && !nmi_blocked(c, v) && !c->intr_shadow;
}

/* SDM 3C "Interrupt-Window Exiting": RFLAGS.IF = 1 and no blocking by STI or
 * MOV SS; an NMI about to be delivered goes first. */
static bool interrupt_window_open(const struct cpu *c, const struct vmx *v)
{
    if (!(v->proc & PROC_INTERRUPT_WINDOW_EXITING))
        return false;
    if (c->nmi_pending && !c->nmi_blocked)
        return false;
    return (c->rflags & FL_IF) && !c->intr_shadow;
}

/* SDM 3C "Changes to Event Blocking": with "external-interrupt exiting",
 * RFLAGS.IF does not block external interrupts; the CPU's run loop only
 * offers them with IF = 1, so the IF = 0 case is taken here. */
static bool extint_unmasked(const struct cpu *c, const struct vmx *v)
{
    return (v->pin & PIN_EXTERNAL_INTERRUPT_EXITING) && !c->intr_shadow &&
           cpu_peek_extint(c) >= 0;
}

bool vmx_hook_pending(struct cpu *c)
{
    struct vmx *v = vmx_of(c);

    if (!c->vmx_nonroot)
        return false;
    if (!v->nr_started)
        start_nonroot(c, v);
    if (mtf_due(c, v))
        return exit_now(c, v, VMX_EXIT_monitor_trap_flag);
    if (timer_expired(c, v))
        return exit_now(c, v, VMX_EXIT_preemption_timer);
    if (nmi_window_open(c, v))
        return exit_now(c, v, VMX_EXIT_nmi_window);
    if (interrupt_window_open(c, v))
        return exit_now(c, v, VMX_EXIT_interrupt_window);
    if (extint_unmasked(c, v))
        return extint_exit(c, v);
    return false;
}

/* A HLTed guest sleeps until the preemption timer expires (the CPU also
 * wakes for device events). */
uint64_t vmx_hook_next_event(struct cpu *c)
{
    const struct vmx *v = vmx_of(c);

    if (c->vmx_nonroot && (v->pin & PIN_ACTIVATE_PREEMPTION_TIMER))
        return v->preemption_deadline;
    return UINT64_MAX;
}
