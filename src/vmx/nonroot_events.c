/* VMX non-root operation, events: exceptions against the exception bitmap,
 * NMIs, external interrupts and triple faults as the CPU is about to deliver
 * them (SDM 3C "VM Exits Caused by Events" ... "Exceptions", "NMIs",
 * "External Interrupts", "Triple Fault"), and the exits that happen between
 * instructions (SDM 3C "Monitor Trap Flag", "VMX-Preemption Timer",
 * "NMI-Window Exiting", "Interrupt-Window Exiting"), in the order of SDM 3A
 * "Priority Among Concurrent Events" as 3C places them:
 *   INIT > MTF > debug traps > preemption timer > NMI window > NMI
 *       > interrupt window > external interrupts,
 * and the INIT and SIPI signals with the guest activity states that block
 * them (SDM 3C "INIT Signals", "Start-up IPIs", "Activity State"). */
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

/* SDM 3C "Exception Bitmap" (the rule is in exit_rules.c) */
static bool exception_exits(struct vmx *v, int vector, uint32_t err)
{
    struct vmx_vmcs_view vw;
    vmx_view_fields(v, &vw);
    return vmx_exception_rule_applies(&vw, vector, err, NULL);
}

/* SDM 3C "Exit Qualification for Debug Exceptions" and "... for
 * Page-Fault Exceptions": the linear address for #PF; for a #DB the bits
 * DR6 would have received -- B0-B3 (breakpoint conditions met, including
 * those of a pending debug exception delivered after VM entry), BD (the
 * MOV DR general detect) and BS (single step) -- which the CPU offers in
 * c->fault_dr6 without touching DR6; else 0. INT1 (a privileged software
 * exception) detects no debug condition: 0. */
static uint64_t exception_qual(const struct cpu *c, int vector, enum cpu_event_type type)
{
    if (vector == EXC_PF)
        return c->fault_cr2;
    if (vector == EXC_DB && type == EVT_HW_EXC)
        return c->fault_dr6 & (DR6_B0_B3 | DR6_BD | DR6_BS);
    return 0;
}

/* SDM 3C "Monitor Trap Flag": "MTF VM exits take priority over debug-trap
 * exceptions": a single-step trap after an instruction that MTF also
 * stops at stays pending, saved in the pending debug exceptions field
 * (B0-B3 and BS of the trap, as the CPU offers them in c->fault_dr6). */
static bool mtf_overtakes_trap(struct cpu *c, struct vmx *v, int vector,
                               enum cpu_event_type type)
{
    if (vector != EXC_DB || type != EVT_HW_EXC || !(v->proc & PROC_MONITOR_TRAP_FLAG) ||
        !v->nr_started || c->stats.insns == v->mtf_insns)
        return false;
    struct vmx_exit e = { .reason = VMX_EXIT_monitor_trap_flag,
                          .pending_dbg = c->fault_dr6 & (DR6_B0_B3 | DR6_BS) };
    vmx_vm_exit(c, v, &e);
    return true;
}

/* SDM 3C "Information for VM Exits Due to Vectored Events": bit 12 "NMI
 * unblocking due to IRET" is set when the exception is a fault of an IRET
 * that had (virtual-)NMI blocking to remove -- the IRET unblocked NMIs
 * before it faulted, so the blocking is gone in the saved state too.
 * Undefined (left 0) when the exit also has IDT-vectoring information. */
bool vmx_iret_unblocked_nmis(struct cpu *c)
{
    int vec;
    enum cpu_event_type type;
    bool has_err;
    uint32_t err;

    if (!c->nmi_blocked || cpu_delivering_event(c, &vec, &type, &has_err, &err))
        return false;
    return cpu_insn_is_iret(c, c->rip);
}

static bool exception_event(struct cpu *c, struct vmx *v, int vector, enum cpu_event_type type,
                            bool has_err, uint32_t err)
{
    if (mtf_overtakes_trap(c, v, vector, type))
        return true;
    if (vector < 0 || vector > 31 || !exception_exits(v, vector, err))
        return false;
    struct vmx_exit e = {
        .reason = VMX_EXIT_exception_nmi,
        .qual = exception_qual(c, vector, type),
        .intr_info = intr_info(vector, type, has_err),
        .intr_error = err,
    };
    if (type == EVT_HW_EXC && vmx_iret_unblocked_nmis(c)) {
        e.intr_info |= VMX_INTR_INFO_NMI_UNBLOCKING;
        c->nmi_blocked = false;
    }
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

/* SDM 3C "NMIs": with "NMI exiting" an NMI causes a VM exit instead of
 * being delivered (interruption type 2, vector 2). */
static bool nmi_exit(struct cpu *c, struct vmx *v)
{
    struct vmx_exit e = { .reason = VMX_EXIT_exception_nmi,
                          .intr_info = intr_info(EXC_NMI, EVT_NMI, false) };
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
        return (v->pin & PIN_NMI_EXITING) && nmi_exit(c, v);
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

/* (Virtual-)NMI blocking: c->nmi_blocked in both cases (struct vmx). */
static bool nmi_blocked(const struct cpu *c, const struct vmx *v)
{
    (void)v;
    return c->nmi_blocked;
}

/* SDM 3C "Changes to Event Blocking": "If the 'virtual NMIs' VM-execution
 * control is 1, NMIs are not blocked in VMX non-root operation (except for
 * ordinary blocking for other reasons, such as by the MOV SS
 * instruction...)": a physical NMI exits whatever the virtual-NMI
 * blocking, in the NMI's place among the between-instruction events. */
static bool virtual_nmis_physical_nmi(const struct cpu *c, const struct vmx *v)
{
    return (v->pin & PIN_VIRTUAL_NMIS) && c->nmi_pending && !c->intr_shadow;
}

/* A guest in the shutdown state still takes NMI exits (the only events,
 * with the preemption timer and INIT, that end it here); one in
 * wait-for-SIPI takes none of these (SDM 3C "Activity State", "VMX-
 * Preemption Timer": the timer "does not cause a VM exit if it counts down
 * to zero in the wait-for-SIPI state"). */
static bool shutdown_nmi(const struct cpu *c, const struct vmx *v)
{
    return (v->pin & PIN_NMI_EXITING) && c->nmi_pending &&
           (!c->nmi_blocked || (v->pin & PIN_VIRTUAL_NMIS));
}

/* The first pending() after a VM entry: remember where the guest's
 * instruction count stands (MTF) and single-step while MTF is on. */
static void start_nonroot(struct cpu *c, struct vmx *v)
{
    v->nr_started = true;
    vmx_account_exit_to_entry(c, v);
    v->mtf_insns = c->stats.insns;
    v->mtf_exceptions = c->stats.exceptions;
    if (v->proc & PROC_MONITOR_TRAP_FLAG)
        c->nr.single_step = true;
}

/* SDM 3C "Monitor Trap Flag": an MTF VM exit is pending after an injected
 * event is delivered (v->mtf_pending, set by VM entry), after any
 * instruction completes, and after a fault is delivered through the IDT.
 * A pending MTF VM exit injected by VM entry (type 7, vector 0) is due
 * before the first guest instruction "even if the 'monitor trap flag'
 * VM-execution control is 0" (SDM 3C "Event Injection for VM Entries"). */
static bool mtf_due(const struct cpu *c, const struct vmx *v)
{
    if (v->mtf_pending)
        return true;
    if (!(v->proc & PROC_MONITOR_TRAP_FLAG))
        return false;
    return c->stats.insns != v->mtf_insns || c->stats.exceptions != v->mtf_exceptions;
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
    if (v->entry_events_pending) {
        vmx_deliver_entry_events(c, v);
        return true;
    }
    if (!v->nr_started)
        start_nonroot(c, v);
    if (!c->halted)
        v->activity = VMX_ACTIVITY_ACTIVE; /* woken: a later HLT is plain HLT */
    else if (v->activity == VMX_ACTIVITY_WAIT_SIPI)
        return false; /* only a SIPI (vmx_hook_signal) */
    if (mtf_due(c, v))
        return exit_now(c, v, VMX_EXIT_monitor_trap_flag);
    if (timer_expired(c, v))
        return exit_now(c, v, VMX_EXIT_preemption_timer);
    if (nmi_window_open(c, v))
        return exit_now(c, v, VMX_EXIT_nmi_window);
    if (c->halted && v->activity == VMX_ACTIVITY_SHUTDOWN) {
        if (!shutdown_nmi(c, v))
            return false;
        c->nmi_pending = false;
        return nmi_exit(c, v);
    }
    if (virtual_nmis_physical_nmi(c, v)) {
        c->nmi_pending = false;
        c->halted = false;
        return nmi_exit(c, v);
    }
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

    if (c->vmx_nonroot && (v->pin & PIN_ACTIVATE_PREEMPTION_TIMER) &&
        vmx_guest_activity(c, v) != VMX_ACTIVITY_WAIT_SIPI)
        return v->preemption_deadline;
    return UINT64_MAX;
}

/* ---- INIT and SIPI ------------------------------------------------------------ */

/* SDM 3C "Restrictions on VMX Operation": "INIT signals are blocked
 * whenever a logical processor is in VMX root operation. They are not
 * blocked in VMX non-root operation. Instead, INITs cause VM exits." SDM 3C
 * "INIT Signals": "(If a logical processor is in the wait-for-SIPI state,
 * INIT signals are blocked. They do not cause VM exits in this case.)" SDM
 * 3C "Start-up IPIs": "If a logical processor is not in the wait-for-SIPI
 * activity state when a SIPI arrives, no VM exit occurs and the SIPI is
 * discarded"; the exit qualification is the SIPI vector (SDM 3C "Exit
 * Qualification for ... SIPIs"). Neither exit changes register state
 * beyond the VM exit itself. Outside VMX operation the CPU performs them. */
enum cpu_signal_action vmx_hook_signal(struct cpu *c, enum cpu_signal s, uint8_t vector)
{
    struct vmx *v = vmx_of(c);
    bool wait_sipi = c->vmx_nonroot && vmx_guest_activity(c, v) == VMX_ACTIVITY_WAIT_SIPI;

    if (s == CPU_SIGNAL_INIT) {
        if (!v->in_vmx_operation)
            return CPU_SIGNAL_NATIVE;
        if (!c->vmx_nonroot || wait_sipi)
            return CPU_SIGNAL_BLOCKED;
        exit_now(c, v, VMX_EXIT_init_signal);
        return CPU_SIGNAL_TAKEN;
    }
    if (!c->vmx_nonroot)
        return CPU_SIGNAL_NATIVE;
    if (wait_sipi) {
        struct vmx_exit e = { .reason = VMX_EXIT_sipi, .qual = vector };
        vmx_vm_exit(c, v, &e);
    }
    return CPU_SIGNAL_TAKEN;
}

bool vmx_hook_inactive(const struct cpu *c)
{
    const struct vmx *v = vmx_of((struct cpu *)c);
    unsigned act = vmx_guest_activity(c, v);
    return act == VMX_ACTIVITY_SHUTDOWN || act == VMX_ACTIVITY_WAIT_SIPI;
}
