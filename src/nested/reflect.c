/* An exit of L2 (from vmcs02): L0 handles it or reflects it to L1
 * (nested_reflect_exit, after KVM's nested_vmx_reflect_vmexit). Reflecting
 * syncs vmcs02 -> vmcs12 (guest state the merge copied, exit information, IDT-vectoring
 * information), then loads L1's host state from vmcs12 into vmcs01's guest
 * state (SDM 3C "Loading Host State") and its VM-exit MSR-load list (SDM
 * 3C "Loading MSRs"), with a VMX abort for L1 where the SDM says. */
#include "nested_internal.h"

/* ---- the two predicates -------------------------------------------------------- */

/* Exits L0 owns: an MSR access L0 intercepts for L1's view that L1 itself
 * lets through. (External interrupts, EPT01 violations and L0's timer
 * join this list when L0 intercepts them.) */
static bool nested_l0_wants_exit(struct nested *n, uint32_t basic, bool l1_wants)
{
    /* EPT01's violations and misconfigurations: L1 gives L2 no EPT (with
     * EPT in vmcs12, nested_ept02_exit() decided before) */
    if (n->ept01 && (basic == VMX_EXIT_ept_violation || basic == VMX_EXIT_ept_misconfig))
        return true;
    /* L2's VMREAD/VMWRITE that vmcs12's VMCS shadowing satisfies (shadow12.c) */
    if ((basic == VMX_EXIT_vmread || basic == VMX_EXIT_vmwrite) && !l1_wants)
        return true;
    return (basic == VMX_EXIT_rdmsr || basic == VMX_EXIT_wrmsr) && !l1_wants;
}

/* The exit information of vmcs02 as the instruction the CPU asked about
 * (include/nvmx/cpu_hooks.h struct cpu_intercept), for the exit rules. */
static void intercept_of(struct nested *n, uint32_t basic, struct cpu_intercept *q)
{
    struct vmx *v = n->v;
    uint64_t qual = vmx_root_vmread(v, VMCS_exit_qualification);
    memset(q, 0, sizeof *q);
    q->reason = (uint16_t)basic;
    q->qual = qual;
    switch (basic) {
    case VMX_EXIT_cr_access: {
        /* SDM 3C "Exit Qualification for Control-Register Accesses" */
        unsigned reg = (qual >> 8) & 15;
        q->cr = qual & 15;
        q->value = reg == 4 ? vmx_root_vmread(v, VMCS_guest_rsp) : n->c->gpr[reg];
        break;
    }
    case VMX_EXIT_io_instruction:
        /* SDM 3C "Exit Qualification for I/O Instructions" */
        q->io_size = (uint8_t)((qual & 7) + 1);
        q->write = !(qual & 8);
        q->port = (uint16_t)(qual >> 16);
        break;
    case VMX_EXIT_rdmsr:
    case VMX_EXIT_wrmsr:
        q->msr = (uint32_t)n->c->gpr[1];
        q->write = basic == VMX_EXIT_wrmsr;
        break;
    case VMX_EXIT_xsaves:
    case VMX_EXIT_xrstors:
        /* SDM 3C "XSAVES"/"XRSTORS" exiting: EDX:EAX AND IA32_XSS */
        q->value = ((n->c->gpr[2] << 32) | (uint32_t)n->c->gpr[0]) & n->c->xss;
        break;
    default:
        break;
    }
}

static bool ctl12(struct nested *n, enum vmcs_field f, uint32_t bit)
{
    return (vmcs12_get(n, f) & bit) != 0;
}

/* Does vmcs12 ask for this exit? Instructions follow the exit rules
 * (vmx_exit_rules.def) on the vmcs12 view; events follow vmcs12's
 * controls (SDM 3C "VM Exits Caused by Events"). *rule says which. */
static bool nested_l1_wants_exit(struct nested *n, uint32_t reason, const char **rule)
{
    uint32_t basic = reason & 0xffff;
    struct vmx_vmcs_view vw;
    vmcs12_view(n, &vw);
    if (reason & VMX_EXIT_REASON_ENTRY_FAILURE) {
        *rule = "VM-entry failure of L1's VM entry";
        return true;
    }
    if ((basic == VMX_EXIT_vmread || basic == VMX_EXIT_vmwrite) && nested_shadow12_on(n))
        return nested_shadow12_l1_wants(n, basic == VMX_EXIT_vmwrite, rule);
    if (vmx_exit_rule_known(basic)) {
        struct cpu_intercept q;
        intercept_of(n, basic, &q);
        return vmx_exit_rule_applies(&vw, &q, rule);
    }
    switch (basic) {
    case VMX_EXIT_exception_nmi: {
        uint32_t info = (uint32_t)vmx_root_vmread(n->v, VMCS_vm_exit_intr_info);
        if (((info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT) == EVT_NMI) {
            *rule = "vmcs12 pin-based control NMI exiting = 1";
            return ctl12(n, VMCS_pin_based_vm_exec_control, PIN_NMI_EXITING);
        }
        uint32_t err = (uint32_t)vmx_root_vmread(n->v, VMCS_vm_exit_intr_error_code);
        return vmx_exception_rule_applies(&vw, (int)(info & VMX_INTR_INFO_VECTOR), err, rule);
    }
    case VMX_EXIT_external_interrupt:
        *rule = "vmcs12 pin-based control external-interrupt exiting = 1";
        return ctl12(n, VMCS_pin_based_vm_exec_control, PIN_EXTERNAL_INTERRUPT_EXITING);
    case VMX_EXIT_interrupt_window:
        *rule = "vmcs12 primary control interrupt-window exiting = 1";
        return ctl12(n, VMCS_cpu_based_vm_exec_control, PROC_INTERRUPT_WINDOW_EXITING);
    case VMX_EXIT_nmi_window:
        *rule = "vmcs12 primary control NMI-window exiting = 1";
        return ctl12(n, VMCS_cpu_based_vm_exec_control, PROC_NMI_WINDOW_EXITING);
    case VMX_EXIT_monitor_trap_flag:
        *rule = "vmcs12 primary control monitor trap flag = 1";
        return true; /* L0 never sets MTF for L2 itself */
    case VMX_EXIT_preemption_timer:
        *rule = "vmcs12 pin-based control activate VMX-preemption timer = 1";
        return true; /* the timer running for L2 is L1's */
    default:
        /* triple fault, INIT, SIPI, task switch: always L1's */
        *rule = "exits unconditionally for L1";
        return true;
    }
}

/* ---- sync and L1's host state ------------------------------------------------------ */

/* vmcs02 -> vmcs12: the guest-state area, the exit-information fields and
 * the preemption-timer value the exit saved; VM exits clear the valid bit
 * of the VM-entry interruption-information field (SDM 3C "Information for
 * VM Exits ..."). */
static void sync_field(struct nested *n, enum vmcs_field f, uint64_t val)
{
    if (n->v12.f[f] != val) {
        n->v12.f[f] = val;
        n->pool.slot[n->cur02].merged[f] = val; /* vmcs02 holds it already */
        nested_log(n, f, val, NULL);
    }
}

/* The fields a sync may copy, in field order: guest fields the merge put
 * into vmcs02 (COPY; the others stay as L1 wrote them), the PAE PDPTEs
 * among them, and the read-only data fields but the VM-instruction error. */
enum sync_kind { SYNC_GUEST = 1, SYNC_PDPTE, SYNC_RO_DATA };
static struct {
    uint16_t field;
    uint8_t kind;
} sync_list[VMCS_NFIELDS];
static unsigned sync_count;

static void build_sync_list(void)
{
    unsigned k = 0;
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        unsigned type = VMCS_ENC_TYPE(vmcs_fields[f].encoding);
        uint8_t kind = 0;
        if (type == VMCS_ENC_TYPE_GUEST && vmcs_fields[f].merge == VMCS_MERGE_COPY)
            kind = f >= VMCS_guest_pdpte0 && f <= VMCS_guest_pdpte3 ? SYNC_PDPTE : SYNC_GUEST;
        else if (type == VMCS_ENC_TYPE_RO_DATA && f != VMCS_vm_instruction_error)
            kind = SYNC_RO_DATA;
        if (kind) {
            sync_list[k].field = (uint16_t)f;
            sync_list[k].kind = kind;
            k++;
        }
    }
    sync_count = k;
}

/* Traced as one sync event with the fields whose value changed. */
static void sync_vmcs12(struct nested *n, bool guest_state)
{
    struct vmx *v = n->v;
    n->nlog = 0;
    if (!sync_count)
        build_sync_list();
    /* PDPTEs: vmcs02's are L0's under EPT01 unless vmcs12 enables EPT */
    bool pdptes = guest_state && !(n->ept01 && !nested_ept12_on(n));
    for (unsigned i = 0; i < sync_count; i++) {
        enum vmcs_field f = (enum vmcs_field)sync_list[i].field;
        enum sync_kind kind = (enum sync_kind)sync_list[i].kind;
        if ((kind == SYNC_GUEST && !guest_state) || (kind == SYNC_PDPTE && !pdptes))
            continue;
        if (n->pkvm && nested_pkvm_shadowed(f))
            continue; /* vmcs02 holds it for L1 already */
        sync_field(n, f, vmx_root_vmread(v, f));
    }
    if (guest_state && (vmcs12_get(n, VMCS_vm_exit_controls) & EXIT_SAVE_PREEMPTION_TIMER))
        sync_field(n, VMCS_vmx_preemption_timer_value, vmx_root_vmread(v, VMCS_vmx_preemption_timer_value));
    if (!n->pkvm)
        sync_field(n, VMCS_vm_entry_intr_info_field,
                   vmcs12_get(n, VMCS_vm_entry_intr_info_field) & ~(uint64_t)VMX_INTR_INFO_VALID);
    if (vmx_trace_enabled(v)) {
        struct trace_event ev = { .type = TRACE_EV_sync, .level = n->lv.running,
                                  .sync = { .fields = { n->nlog, n->log } } };
        vmx_trace_emit(v, &ev);
    }
}

/* SDM 3C "Loading Host Control Registers, Debug Registers, MSRs": CR0's
 * ET, CD, NW, bits 63:32, 28:19, 17 and 15:6 keep the processor's values;
 * CR3 bits 63:52 are cleared. */
#define HOST_CR0_KEEP                                                                     \
    (CR0_ET | CR0_CD | CR0_NW | 0xffffffff00000000ull | 0x1ff80000ull | (1ull << 17) |   \
     0xffc0ull)
#define HOST_CR3_MASK 0x000fffffffffffffull

#define HOST_DATA_AR (3u | AR_S | AR_P | AR_DB | AR_G)
#define HOST_CODE_AR (11u | AR_S | AR_P | AR_G)
#define HOST_TR_AR (11u | AR_P)

static void load_seg01(struct nested *n, unsigned i, uint16_t sel, uint64_t base, uint32_t ar)
{
    l0_write01(n, (enum vmcs_field)(VMCS_guest_es_selector + i), sel);
    l0_write01(n, (enum vmcs_field)(VMCS_guest_es_base + i), base);
    l0_write01(n, (enum vmcs_field)(VMCS_guest_es_limit + i), (ar & AR_UNUSABLE) ? 0 : 0xffffffffu);
    l0_write01(n, (enum vmcs_field)(VMCS_guest_es_ar_bytes + i), ar);
}

static uint32_t data_ar(uint16_t sel) { return sel ? HOST_DATA_AR : AR_UNUSABLE; }

/* SDM 3C "Loading Host State", into vmcs01's guest state (KVM's
 * load_vmcs12_host_state): L1 resumes at its host RIP in the state its
 * vmcs12 host area gives. cur_efer is the processor's IA32_EFER at the
 * exit (L2's), whose other bits stay without "load IA32_EFER". */
static void load_l1_host_state(struct nested *n, uint64_t cur_efer)
{
    uint32_t exit12 = (uint32_t)vmcs12_get(n, VMCS_vm_exit_controls);
    bool host64 = exit12 & EXIT_HOST_ADDRESS_SPACE_SIZE;
    uint64_t nat = host64 ? ~0ull : 0xffffffffull;
    uint64_t cr4 = vmcs12_get(n, VMCS_host_cr4);

    l0_set_l1_cr0(n, (n->c->cr0 & HOST_CR0_KEEP) | (vmcs12_get(n, VMCS_host_cr0) & ~HOST_CR0_KEEP));
    l0_write01(n, VMCS_guest_cr3, vmcs12_get(n, VMCS_host_cr3) & HOST_CR3_MASK);
    l0_set_l1_cr4(n, host64 ? cr4 | CR4_PAE : cr4 & ~CR4_PCIDE);
    l0_write01(n, VMCS_guest_dr7, 0x400);
    l0_write01(n, VMCS_guest_ia32_debugctl, 0);
    l0_write01(n, VMCS_guest_sysenter_cs, (uint32_t)vmcs12_get(n, VMCS_host_ia32_sysenter_cs));
    l0_write01(n, VMCS_guest_sysenter_esp, vmcs12_get(n, VMCS_host_ia32_sysenter_esp) & nat);
    l0_write01(n, VMCS_guest_sysenter_eip, vmcs12_get(n, VMCS_host_ia32_sysenter_eip) & nat);
    uint64_t efer = cur_efer;
    if (exit12 & EXIT_LOAD_EFER)
        efer = vmcs12_get(n, VMCS_host_ia32_efer);
    else if (host64)
        efer |= EFER_LME | EFER_LMA;
    else
        efer &= ~(EFER_LME | EFER_LMA);
    l0_write01(n, VMCS_guest_ia32_efer, efer);
    if (exit12 & EXIT_LOAD_PAT)
        l0_write01(n, VMCS_guest_ia32_pat, vmcs12_get(n, VMCS_host_ia32_pat));
    else
        l0_write01(n, VMCS_guest_ia32_pat, n->c->pat);

    /* SDM 3C "Loading Host Segment and Descriptor-Table Registers" */
    uint16_t cs = (uint16_t)vmcs12_get(n, VMCS_host_cs_selector);
    load_seg01(n, SEG_CS, cs, 0, HOST_CODE_AR | (host64 ? AR_L : AR_DB));
    static const enum vmcs_field sels[SEG_NSEGS] = {
        [SEG_ES] = VMCS_host_es_selector, [SEG_SS] = VMCS_host_ss_selector,
        [SEG_DS] = VMCS_host_ds_selector, [SEG_FS] = VMCS_host_fs_selector,
        [SEG_GS] = VMCS_host_gs_selector,
    };
    for (unsigned s = 0; s < SEG_NSEGS; s++) {
        if (s == SEG_CS)
            continue;
        uint16_t sel = (uint16_t)vmcs12_get(n, sels[s]);
        uint64_t base = s == SEG_FS ? vmcs12_get(n, VMCS_host_fs_base)
                        : s == SEG_GS ? vmcs12_get(n, VMCS_host_gs_base) : 0;
        load_seg01(n, s, sel, base, data_ar(sel));
    }
    load_seg01(n, 6 /* LDTR */, 0, 0, AR_UNUSABLE);
    l0_write01(n, VMCS_guest_tr_selector, vmcs12_get(n, VMCS_host_tr_selector));
    l0_write01(n, VMCS_guest_tr_base, vmcs12_get(n, VMCS_host_tr_base));
    l0_write01(n, VMCS_guest_tr_limit, 0x67);
    l0_write01(n, VMCS_guest_tr_ar_bytes, HOST_TR_AR);
    l0_write01(n, VMCS_guest_gdtr_base, vmcs12_get(n, VMCS_host_gdtr_base));
    l0_write01(n, VMCS_guest_gdtr_limit, 0xffff);
    l0_write01(n, VMCS_guest_idtr_base, vmcs12_get(n, VMCS_host_idtr_base));
    l0_write01(n, VMCS_guest_idtr_limit, 0xffff);

    l0_write01(n, VMCS_guest_rip, vmcs12_get(n, VMCS_host_rip) & nat);
    l0_write01(n, VMCS_guest_rsp, vmcs12_get(n, VMCS_host_rsp) & nat);
    l0_write01(n, VMCS_guest_rflags, FL_FIXED1);
    /* SDM 3C "Updating Non-Register State" */
    l0_write01(n, VMCS_guest_interruptibility_info, 0);
    l0_write01(n, VMCS_guest_activity_state, VMX_ACTIVITY_ACTIVE);
    l0_write01(n, VMCS_guest_pending_dbg_exceptions, 0);
    l0_write01(n, VMCS_vm_entry_intr_info_field, 0);
}

/* SDM 3C "VMX Aborts": the abort indicator (offset 4 of vmcs12's region)
 * and shutdown. */
static void vmx_abort_l1(struct nested *n, uint32_t why)
{
    l1_phys_write(n, n->v12.ptr + VMCS_ABORT_OFFSET, 4, why);
    n->abort = why;
    n->abort_exit_reason = (uint32_t)vmcs12_get(n, VMCS_vm_exit_reason);
    n->stop = CPU_STOP_VMX_ABORT;
}

/* SDM 3C "Loading MSRs" for L1's VM-exit MSR-load list, once L1's state is
 * in the processor. Entries of 16 bytes; a failure is VMX abort 4. */
static void load_l1_host_msrs(struct nested *n)
{
    uint32_t count = (uint32_t)vmcs12_get(n, VMCS_vm_exit_msr_load_count);
    uint64_t addr = vmcs12_get(n, VMCS_vmexit_msr_load_addr);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t e = addr + 16ull * i;
        uint64_t head = l1_phys_read(n, e, 8);
        uint64_t val = l1_phys_read(n, e + 8, 8);
        if (vmx_msr_load_entry_problem(head) || !cpu_msr_write(n->c, (uint32_t)head, val))
            return vmx_abort_l1(n, VMX_ABORT_LOAD_HOST_MSR);
    }
}

static void resume_l1(struct nested *n)
{
    l0_enter_l1(n);
    if (n->stop == CPU_STOP_NONE && !n->exit_pending)
        load_l1_host_msrs(n);
}

void nested_entry_fail_to_l1(struct nested *n, uint32_t reason, uint64_t qual)
{
    /* SDM 3C "VM-Entry Failures During or After Loading Guest State": exit
     * reason with bit 31 and the qualification; the other exit-information
     * fields are not meaningful (nvmx clears the interruption fields). */
    vmcs12_set(n, VMCS_vm_exit_reason, reason);
    vmcs12_set(n, VMCS_exit_qualification, qual);
    vmcs12_set(n, VMCS_vm_exit_intr_info, 0);
    vmcs12_set(n, VMCS_idt_vectoring_info_field, 0);
    nested_pkvm_put(n, VMCS_vm_exit_reason);
    nested_pkvm_put(n, VMCS_exit_qualification);
    nested_pkvm_put(n, VMCS_vm_exit_intr_info);
    nested_pkvm_put(n, VMCS_idt_vectoring_info_field);
    nested_pkvm_settle(n);
    if (vmx_root_current(n->v) != n->page[L0_VMCS01])
        vmx_root_vmptrld(n->v, n->page[L0_VMCS01]);
    load_l1_host_state(n, n->c->efer);
    nested_vpid_emulated_exit(n);
}

/* SDM 3C "Information for VM Exits During Event Delivery": an exit that
 * interrupted the delivery of an event to L2 leaves the event in the
 * IDT-vectoring fields. When L0 handles that exit itself and resumes L2,
 * the event must not be lost: L0 injects it again (KVM's
 * vmx_complete_interrupts), with its error code and, for software
 * interrupts and exceptions, the instruction length (SDM 3C "VM-Entry
 * Controls for Event Injection"). Bit 12 of the IDT-vectoring information
 * is undefined and not carried over. None of the exits L0 handles today
 * (RDMSR/WRMSR of the MSRs it intercepts) happens during event delivery;
 * an EPT02 fill would. */
void nested_reinject_l2(struct nested *n)
{
    struct vmx *v = n->v;
    uint32_t idt = (uint32_t)vmx_root_vmread(v, VMCS_idt_vectoring_info_field);
    if (!(idt & VMX_INTR_INFO_VALID))
        return;
    unsigned type = (idt & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT;
    vmx_root_vmwrite(v, VMCS_vm_entry_intr_info_field, idt & ~(uint32_t)(1u << 12));
    if (idt & VMX_INTR_INFO_ERROR_CODE)
        vmx_root_vmwrite(v, VMCS_vm_entry_exception_error_code,
                         vmx_root_vmread(v, VMCS_idt_vectoring_error_code));
    if (type == EVT_SW_INT || type == EVT_PRIV_SW_EXC || type == EVT_SW_EXC)
        vmx_root_vmwrite(v, VMCS_vm_entry_instruction_len, vmx_root_vmread(v, VMCS_vm_exit_instruction_len));
}

/* L0's own VM entry of L2 after an exit it handled is no VM entry of L1's
 * (KVM's nested_vmx_enter_non_root_mode processes vmcs12's VM-entry
 * MSR-load list only for L1's VMLAUNCH/VMRESUME): vmcs02 takes it off its
 * list (SDM 3C "VM-Entry Controls for MSRs": count 0 loads nothing); the
 * next merge puts vmcs12's list back. */
static void reenter_l2(struct nested *n)
{
    nested_reinject_l2(n);
    if (vmx_root_peek(n->v, VMCS_vm_entry_msr_load_count))
        vmx_root_vmwrite(n->v, VMCS_vm_entry_msr_load_count, 0);
}

/* The exit of vmcs02 (reason) to L1: sync, L1's host state, vmcs01. */
static void reflect_to_l1(struct nested *n, uint32_t reason)
{
    struct vmx *v = n->v;
    n->stats.reflected++;
    nested_levels_reflect(n, reason);
    uint64_t l2_efer = n->c->efer;
    sync_vmcs12(n, !(reason & VMX_EXIT_REASON_ENTRY_FAILURE));
    nested_pkvm_settle(n);
    vmx_root_vmptrld(v, n->page[L0_VMCS01]);
    load_l1_host_state(n, l2_efer);
    nested_vpid_emulated_exit(n);
    nested_shadow_load_logged(n); /* the fields the sync changed */
    resume_l1(n);
}

/* The exception exit of an L2 instruction L0 performed (shadow12.c),
 * written into vmcs02 over its VMREAD/VMWRITE exit as the hardware writes
 * an exception exit (src/vmx's exception_event: no IDT-vectoring
 * information, instruction length or information, guest addresses 0;
 * the error code only with one), then reflected. */
static void reflect_l2_exception(struct nested *n)
{
    struct vmx *v = n->v;
    n->l2_exception.pending = false;
    vmx_root_vmwrite(v, VMCS_vm_exit_reason, VMX_EXIT_exception_nmi);
    vmx_root_vmwrite(v, VMCS_exit_qualification, n->l2_exception.qual);
    vmx_root_vmwrite(v, VMCS_guest_linear_address, 0);
    vmx_root_vmwrite(v, VMCS_guest_physical_address, 0);
    vmx_root_vmwrite(v, VMCS_vm_exit_intr_info, n->l2_exception.intr_info);
    if (n->l2_exception.intr_info & VMX_INTR_INFO_ERROR_CODE)
        vmx_root_vmwrite(v, VMCS_vm_exit_intr_error_code, n->l2_exception.error);
    vmx_root_vmwrite(v, VMCS_idt_vectoring_info_field, 0);
    vmx_root_vmwrite(v, VMCS_vm_exit_instruction_len, 0);
    vmx_root_vmwrite(v, VMCS_vmx_instruction_info, 0);
    if (vmx_trace_enabled(v)) {
        struct trace_event ev = {
            .type = TRACE_EV_reflect,
            .level = n->lv.running,
            .reflect = { .reason = VMX_EXIT_exception_nmi, .qual = n->l2_exception.qual,
                         .decision = "l1", .rule = n->l2_exception.rule },
        };
        vmx_trace_emit(v, &ev);
    }
    reflect_to_l1(n, VMX_EXIT_exception_nmi);
}

/* Skip an L2 instruction L0 emulated, and re-enter vmcs02. */
static void handle_in_l0(struct nested *n, uint32_t basic)
{
    if (basic == VMX_EXIT_ept_violation || basic == VMX_EXIT_ept_misconfig)
        return nested_ept01_fault(n, basic);
    struct vmx *v = n->v;
    struct cpu *c = n->c;
    uint32_t msr = (uint32_t)c->gpr[1];
    uint64_t val;
    n->stats.l0_handled++;
    if (basic == VMX_EXIT_vmread || basic == VMX_EXIT_vmwrite) {
        nested_emulate_l2_vmrw(n, basic);
        if (n->unsupported)
            return;
        if (n->l2_exception.pending)
            return reflect_l2_exception(n);
        goto enter;
    }
    if (basic == VMX_EXIT_rdmsr && msr == MSR_IA32_FEATURE_CONTROL) {
        val = n->feature_control;
    } else if (basic == VMX_EXIT_rdmsr && nested_caps_rdmsr(n, msr, &val)) {
    } else {
        /* writes of these MSRs, or an absent capability MSR: #GP(0) */
        vmx_root_vmwrite(v, VMCS_vm_entry_intr_info_field,
                         VMX_INTR_INFO_VALID | EXC_GP | (3u << VMX_INTR_INFO_TYPE_SHIFT) |
                             VMX_INTR_INFO_ERROR_CODE);
        vmx_root_vmwrite(v, VMCS_vm_entry_exception_error_code, 0);
        goto enter;
    }
    c->gpr[0] = val & 0xffffffffull;
    c->gpr[2] = val >> 32;
    vmx_root_vmwrite(v, VMCS_guest_rip,
                     vmx_root_vmread(v, VMCS_guest_rip) + vmx_root_vmread(v, VMCS_vm_exit_instruction_len));
enter:
    reenter_l2(n);
    vmx_set_level(v, n->lv.running);
    if (vmx_root_enter(v, false) != VMX_INSN_OK)
        l0_unsupported(n, "VM entry to L2 on vmcs02 failed after an exit L0 handled");
}

void nested_handle_l2_exit(struct nested *n)
{
    struct vmx *v = n->v;
    uint32_t reason = (uint32_t)vmx_root_vmread(v, VMCS_vm_exit_reason);
    uint32_t basic = reason & 0xffff;
    const char *rule = "";
    bool l1, l0;
    if (!(reason & VMX_EXIT_REASON_ENTRY_FAILURE) && n->ept01 && nested_ept12_on(n) &&
        (basic == VMX_EXIT_ept_violation || basic == VMX_EXIT_ept_misconfig)) {
        /* nested EPT (ept02.c): an EPT02 fill, or L1's EPT12 fault */
        uint64_t qual = vmx_root_peek(v, VMCS_exit_qualification);
        enum ept02_exit how = nested_ept02_exit(n, basic, &rule);
        if (how == EPT02_EXIT_STOP)
            return;
        l1 = how == EPT02_EXIT_REFLECT;
        if (l1)
            reason = basic = (uint32_t)vmx_root_vmread(v, VMCS_vm_exit_reason);
        if (vmx_trace_enabled(v)) {
            struct trace_event ev = {
                .type = TRACE_EV_reflect, .level = 2,
                .reflect = { .reason = reason, .qual = vmx_root_peek(v, VMCS_exit_qualification),
                             .decision = l1 ? "l1" : "l0", .rule = rule },
            };
            vmx_trace_emit(v, &ev);
        }
        if (!l1)
            return nested_ept02_resume(n, qual);
        goto reflect;
    }
    l1 = nested_l1_wants_exit(n, reason, &rule);
    l0 = !(reason & VMX_EXIT_REASON_ENTRY_FAILURE) && nested_l0_wants_exit(n, basic, l1);
    if (vmx_trace_enabled(v)) {
        struct trace_event ev = {
            .type = TRACE_EV_reflect,
            .level = n->lv.running,
            .reflect = {
                .reason = reason,
                .qual = vmx_root_peek(v, VMCS_exit_qualification),
                .decision = l0 ? "l0" : "l1",
                .rule = !l0 || basic == VMX_EXIT_vmread || basic == VMX_EXIT_vmwrite ? rule
                        : (basic == VMX_EXIT_ept_violation || basic == VMX_EXIT_ept_misconfig)
                            ? "EPT01 (L0's): vmcs12 gives L2 no EPT"
                            : "L0 intercepts this MSR for L1's view; vmcs12 lets it through",
            },
        };
        vmx_trace_emit(v, &ev);
    }
    if (l0)
        return handle_in_l0(n, basic);
reflect:
    reflect_to_l1(n, reason);
}
