/* VM entry, SDM 3C "VM Entries": the checks (entry_checks.c, entry_guest.c),
 * guest-state and MSR loading (entry_load.c), the switch to non-root
 * operation, event injection and the pending debug exceptions / MTF rules.
 * Every entry, successful or not, is one vmentry trace event. */
#include "entry_internal.h"

#include <stdio.h>

static void vformat_detail(struct entry_ck *ck, const char *pred, const char *fmt, va_list ap)
{
    int n = vsnprintf(ck->detail, sizeof ck->detail, fmt, ap);
    if (n >= 0 && (size_t)n < sizeof ck->detail)
        snprintf(ck->detail + n, sizeof ck->detail - (size_t)n, " [%s]", pred);
}

enum vmx_insn_err entry_fail_ctl(struct entry_ck *ck, enum vmx_insn_err err, const char *pred,
                                 const char *what, const char *fmt, ...)
{
    va_list ap;
    ck->check = what;
    va_start(ap, fmt);
    vformat_detail(ck, pred, fmt, ap);
    va_end(ap);
    return err;
}

enum vmx_entry_qual entry_fail_guest(struct entry_ck *ck, enum vmx_entry_qual qual, const char *pred,
                                     const char *what, const char *fmt, ...)
{
    va_list ap;
    ck->check = what;
    va_start(ap, fmt);
    vformat_detail(ck, pred, fmt, ap);
    va_end(ap);
    return qual;
}

static void trace_entry(struct entry_ck *ck, uint32_t error, uint32_t reason, uint64_t qual)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    bool failed = ck->check != NULL;

    if (failed)
        v->stats.entry_failures++;
    else
        v->stats.entries++;
    if (!vmx_tracing(v))
        return;
    struct trace_event ev = {
        .type = TRACE_EV_vmentry,
        .level = v->level,
        .vmentry = {
            .kind = ck->launch ? "launch" : "resume",
            .ok = !failed,
            .reason = reason,
            .qual = qual,
            .error = error,
            .check = ck->check,
            .cost = c->cost ? c->cost->cycles[COST_vm_entry] : 0,
        },
    };
    if (failed)
        snprintf(ev.vmentry.detail, sizeof ev.vmentry.detail, "%s", ck->detail);
    vmx_emit(v, &ev);
}

/* SDM 3C "VM-Entry Failures During or After Loading Guest State": the
 * failure is reported as a VM exit with bit 31 of the exit reason set; the
 * VM exit loads the host state (and does not save guest state). */
static void entry_fail_exit(struct entry_ck *ck, uint32_t basic, uint64_t qual)
{
    struct cpu *c = ck->c;
    uint32_t reason = basic | VMX_EXIT_REASON_ENTRY_FAILURE;
    trace_entry(ck, 0, reason, qual);
    struct vmx_exit e = { .reason = reason, .qual = qual };
    vmx_vm_exit(c, ck->v, &e);
    c->next_rip = c->rip; /* the host RIP: VMLAUNCH/VMRESUME do not advance */
    c->end_block = true;
}

/* Non-root parameters the CPU core applies itself and the bookkeeping of
 * src/vmx for this VM entry (SDM 3C "VMX Non-Root Operation"). */
static void enter_nonroot(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;

    c->nr.cr0_mask = vmcs_get(v, VMCS_cr0_guest_host_mask);
    c->nr.cr0_shadow = vmcs_get(v, VMCS_cr0_read_shadow);
    c->nr.cr4_mask = vmcs_get(v, VMCS_cr4_guest_host_mask);
    c->nr.cr4_shadow = vmcs_get(v, VMCS_cr4_read_shadow);
    c->nr.tsc_offsetting = ck->proc & PROC_USE_TSC_OFFSETTING;
    c->nr.tsc_offset = vmcs_get(v, VMCS_tsc_offset);
    c->nr.single_step = ck->proc & PROC_MONITOR_TRAP_FLAG;
    vmx_ept_enter(c, v, ck->proc2);

    /* SDM 3C "VMX-Preemption Timer": "the VMX-preemption timer counts down
     * at rate proportional to that of the timestamp counter (TSC).
     * Specifically, the timer counts down by 1 every time bit X in the TSC
     * changes due to a TSC increment", X = IA32_VMX_MISC[4:0]. The timer
     * starts at the value of its VMCS field when VM entry completes. */
    v->preemption_active = ck->pin & PIN_ACTIVATE_PREEMPTION_TIMER;
    if (v->preemption_active) {
        unsigned rate = v->caps.msr[VMX_MSR_MISC] & VMX_MISC_PREEMPTION_RATE;
        uint64_t tsc = c->cycles + c->tsc_offset;
        uint64_t value = vmcs_get(v, VMCS_vmx_preemption_timer_value);
        uint64_t expiry_tsc = ((tsc >> rate) + value) << rate;
        v->preemption_deadline = expiry_tsc > tsc ? c->cycles + (expiry_tsc - tsc) : c->cycles;
    }
    v->mtf_pending = false;
    v->entry_cycles = c->cycles;

    c->vmx_nonroot = true;
    cpu_mode_reloaded(c);
    vmx_tlb_enter(c, v, ck->proc2);
    /* VMLAUNCH: "launch state of VMCS <- 'launched'" once VM entry succeeds
     * (SDM 3C "VMLAUNCH/VMRESUME -- Launch/Resume Virtual Machine"). */
    if (ck->launch)
        v->launch_state = VMCS_STATE_LAUNCHED;
    c->next_rip = c->rip;
    c->end_block = true;
}

/* SDM 3C "Event Injection": deliver the event of the VM-entry
 * interruption-information field through the guest IDT, as if it had
 * occurred right after VM entry. Delivery is not subject to the exception
 * bitmap; a fault during it is an ordinary guest fault (and a VM exit with
 * IDT-vectoring information when the exception bitmap says so). */
static void inject_event(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    uint32_t info = ck->intr_info;
    unsigned type = (info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT;
    unsigned vec = info & VMX_INTR_INFO_VECTOR;

    /* SDM 3C "VM Entries and the Monitor Trap Flag" ("Special Features of VM
     * Entry"): "If the 'monitor trap flag' VM-execution control is 1 and VM
     * entry is injecting a vectored event, an MTF VM exit is pending on the
     * instruction boundary before the first instruction following the VM
     * entry. If VM entry is injecting a pending MTF VM exit (an event with
     * interruption type 7 and vector 0), an MTF VM exit is pending on the
     * instruction boundary before the first instruction following the VM
     * entry. This is the case even if the 'monitor trap flag' VM-execution
     * control is 0." */
    if (type == VMX_INTR_TYPE_OTHER) {
        v->mtf_pending = true;
        return;
    }
    if (ck->proc & PROC_MONITOR_TRAP_FLAG)
        v->mtf_pending = true;

    bool soft = type == EVT_SW_INT || type == EVT_SW_EXC || type == EVT_PRIV_SW_EXC;
    /* "If the event is a software interrupt, software exception or
     * privileged software exception, the RIP pushed is the guest RIP plus
     * the VM-entry instruction length." */
    uint64_t ret = c->rip + (soft ? vmcs_get(v, VMCS_vm_entry_instruction_len) : 0);
    bool has_err = info & VMX_INTR_INFO_ERROR_CODE;
    uint32_t err = (uint32_t)vmcs_get(v, VMCS_vm_entry_exception_error_code);
    /* "If the 'virtual NMIs' VM-execution control is 1 and the event is an
     * NMI, virtual-NMI blocking is in effect after VM entry" rather than
     * blocking of physical NMIs: delivering the NMI sets c->nmi_blocked,
     * which stands for virtual-NMI blocking then. */
    /* Event delivery consumes the instruction boundary that blocking by STI
     * or MOV SS covered (the checks allow it only for exceptions). */
    c->intr_shadow = 0;
    cpu_inject_event(c, (int)vec, (enum cpu_event_type)type, has_err, err, ret);
}

/* SDM 3C "Delivery of Pending Debug Exceptions after VM Entry": without an
 * injected event, a debug exception recorded in the pending debug
 * exceptions field is delivered before the first guest instruction, with
 * DR6 updated from the field. nvmx drops it when blocking by MOV SS is in
 * effect or the guest is in shutdown / wait-for-SIPI (documented in
 * docs/conformance.md). */
static void deliver_pending_debug(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    uint64_t pend = vmcs_get(v, VMCS_guest_pending_dbg_exceptions);
    uint64_t act = vmcs_get(v, VMCS_guest_activity_state);
    uint64_t intr = vmcs_get(v, VMCS_guest_interruptibility_info);

    if (!(pend & 0x500full) || (intr & VMX_INTERRUPTIBILITY_MOV_SS) ||
        (act != VMX_ACTIVITY_ACTIVE && act != VMX_ACTIVITY_HLT))
        return;
    /* A #DB that exits (exception bitmap) reports B0-B3 and BS in its
     * exit qualification and leaves DR6 alone; a delivered one updates it
     * ("... as if the debug exception had been delivered"). */
    c->fault_dr6 = pend & (DR6_B0_B3 | DR6_BS);
    if (c->hooks->event && c->hooks->event(c, EXC_DB, EVT_HW_EXC, false, 0)) {
        c->next_rip = c->rip;
        c->end_block = true;
        return;
    }
    c->dr[6] = (c->dr[6] & ~(DR6_B0_B3 | DR6_BS)) | c->fault_dr6;
    c->intr_shadow = 0;
    cpu_inject_event(c, EXC_DB, EVT_HW_EXC, false, 0, c->rip);
}

void entry_ck_init(struct entry_ck *ck, const struct vmx_vmcs_view *vw, bool launch)
{
    memset(ck, 0, sizeof *ck);
    ck->vw = vw;
    ck->launch = launch;
    ck->pin = (uint32_t)vmcs_get(vw, VMCS_pin_based_vm_exec_control);
    ck->proc = (uint32_t)vmcs_get(vw, VMCS_cpu_based_vm_exec_control);
    ck->exit_ctls = (uint32_t)vmcs_get(vw, VMCS_vm_exit_controls);
    ck->entry_ctls = (uint32_t)vmcs_get(vw, VMCS_vm_entry_controls);
    ck->intr_info = (uint32_t)vmcs_get(vw, VMCS_vm_entry_intr_info_field);
    ck->maxphyaddr = vw->maxphyaddr;
    /* "If the 'activate secondary controls' primary processor-based
     * VM-execution control is 0, VM entry operates as if each secondary
     * processor-based VM-execution control were 0." */
    if (ck->proc & PROC_ACTIVATE_SECONDARY_CONTROLS)
        ck->proc2 = (uint32_t)vmcs_get(vw, VMCS_secondary_vm_exec_control);
    ck->host_64 = ck->exit_ctls & EXIT_HOST_ADDRESS_SPACE_SIZE;
    ck->ia32e_guest = ck->entry_ctls & ENTRY_IA32E_MODE_GUEST;
    ck->unrestricted = ck->proc2 & PROC2_UNRESTRICTED_GUEST;
    ck->v86_guest = vmcs_get(vw, VMCS_guest_rflags) & FL_VM;
}

uint64_t vmx_view_phys_read(void *ctx, uint64_t pa, unsigned size)
{
    return cpu_phys_read((struct cpu *)ctx, pa, size);
}

void entry_view_current(struct vmx *v, struct vmx_vmcs_view *vw)
{
    struct cpu *c = v->cpu;
    *vw = (struct vmx_vmcs_view){
        .f = v->vmcs->f,
        .vmcs_ptr = v->current_vmcs,
        .caps = &v->caps,
        .maxphyaddr = v->maxphyaddr,
        .linear_width = v->linear_width,
        /* A native host is a 64-bit host: its IA32_EFER.LMA is 1 whatever the
         * guest state the processor still holds (vmx_set_native_host). */
        .lma = v->native_fn || (c->efer & EFER_LMA) != 0,
        .efer = v->native_fn ? (c->efer | EFER_LME | EFER_LMA) : c->efer,
        .rtm = v->rtm,
        .lbr = (cpu_debugctl_valid(c) & DEBUGCTL_LBR) != 0,
        .phys_read = vmx_view_phys_read,
        .ctx = c,
    };
}

void vmx_check_vmcs(const struct vmx_vmcs_view *vw, bool launch, struct vmx_check_result *r)
{
    struct entry_ck ck;
    entry_ck_init(&ck, vw, launch);
    memset(r, 0, sizeof *r);
    enum vmx_insn_err err = entry_check_controls(&ck);
    if (err == VMX_INSN_OK)
        err = entry_check_host(&ck);
    if (err != VMX_INSN_OK) {
        r->kind = VMX_CHECK_VMFAIL;
        r->error = (uint32_t)err;
    } else {
        enum vmx_entry_qual q = entry_check_guest(&ck);
        if (q == VMX_ENTRY_GUEST_OK)
            return;
        r->kind = VMX_CHECK_ENTRY_FAILURE;
        r->qual = (uint32_t)q;
    }
    r->check = ck.check;
    memcpy(r->detail, ck.detail, sizeof r->detail);
}

/* SDM 3C "Event Injection", then "Delivery of Pending Debug Exceptions
 * after VM Entry" when nothing was injected. */
static void deliver_entry_events(struct entry_ck *ck)
{
    if (ck->intr_info & VMX_INTR_INFO_VALID)
        inject_event(ck);
    else
        deliver_pending_debug(ck);
}

enum vmx_insn_err vmx_vm_entry(struct cpu *c, struct vmx *v, bool launch)
{
    struct vmx_vmcs_view vw;
    struct entry_ck ck;
    entry_view_current(v, &vw);
    entry_ck_init(&ck, &vw, launch);
    ck.c = c;
    ck.v = v;

    /* SDM 3C "Checks on VMX Controls and Host-State Area": VMfailValid, and
     * the instruction completes (at the next instruction). */
    enum vmx_insn_err err = entry_check_controls(&ck);
    if (err == VMX_INSN_OK)
        err = entry_check_host(&ck);
    if (err != VMX_INSN_OK) {
        trace_entry(&ck, err, 0, 0);
        return err;
    }

    /* The controls are now those in force (the VM exit that reports a later
     * failure reads them, e.g. "host address-space size"). */
    v->pin = ck.pin;
    v->proc = ck.proc;
    v->proc2 = ck.proc2;
    v->exit_ctls = ck.exit_ctls;
    v->entry_ctls = ck.entry_ctls;

    /* SDM 3C "Checking and Loading Guest State" */
    enum vmx_entry_qual q = entry_check_guest(&ck);
    if (q == VMX_ENTRY_GUEST_OK)
        q = entry_load_pdptes(&ck);
    if (q != VMX_ENTRY_GUEST_OK) {
        entry_fail_exit(&ck, VMX_EXIT_entry_fail_guest_state, q);
        return VMX_INSN_OK;
    }
    entry_load_guest(&ck);
    cpu_mode_reloaded(c); /* the TLB follows the VPID rules (vpid.c) */

    /* SDM 3C "Loading MSRs", after the guest state */
    uint32_t bad = entry_load_msrs(&ck);
    if (bad) {
        entry_fail_exit(&ck, VMX_EXIT_entry_fail_msr_loading, bad);
        return VMX_INSN_OK;
    }

    enter_nonroot(&ck);
    trace_entry(&ck, 0, 0, 0);

    /* A native host enters outside cpu_run(), where a fault during
     * delivery could not unwind: the delivery waits for the run loop's
     * first step (vmx_deliver_entry_events, from the pending hook), before
     * any guest instruction, as the SDM has it. */
    if (!c->fault_jmp_valid) {
        v->entry_events_pending = true;
        v->entry_events_intr_info = ck.intr_info;
        return VMX_INSN_OK;
    }
    deliver_entry_events(&ck);
    return VMX_INSN_OK;
}

void vmx_deliver_entry_events(struct cpu *c, struct vmx *v)
{
    struct entry_ck ck = {
        .c = c,
        .v = v,
        .proc = v->proc,
        .intr_info = v->entry_events_intr_info,
    };
    v->entry_events_pending = false;
    deliver_entry_events(&ck);
}
