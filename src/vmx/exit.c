/* VM exits (SDM 3C "VM Exits"): record the exit information, save the guest
 * state, store the guest MSRs, load the host state and MSRs (VMX abort when
 * that fails), leave non-root operation, count, trace and charge the exit.
 * Every step is one function named after the SDM section it follows. */
#include "vmx_internal.h"

#include "nvmx/machine.h"

#include <stdio.h>

#define VMX_MISC_PREEMPTION_RATE 0x1fu /* IA32_VMX_MISC[4:0] */
#define VMX_MSR_ENTRY_SIZE 16          /* SDM 3C "VM-Exit Controls for MSRs" */
#define MSR_IA32_SMBASE 0x9eu
#define DR7_INIT 0x400ull

static bool exit_is_failure(const struct vmx_exit *e)
{
    return (e->reason & VMX_EXIT_REASON_ENTRY_FAILURE) != 0;
}

/* ---- SDM 3C "Recording VM-Exit Information and Updating VM-Entry Control
 * Fields" ------------------------------------------------------------------ */

/* SDM 3C "Information for VM Exits That Occur During Event Delivery": the
 * event the CPU was delivering, in the interruption-information layout. A
 * software interrupt or exception also gives the length of its
 * instruction (the run loop leaves c->next_rip after it). */
static uint32_t idt_vectoring(struct cpu *c, const struct vmx_exit *e, uint32_t *err,
                              uint32_t *insn_len)
{
    int vector;
    enum cpu_event_type type;
    bool has_err;
    uint32_t ec;

    if ((e->reason & 0xffff) == VMX_EXIT_triple_fault)
        return 0;
    if (!cpu_delivering_event(c, &vector, &type, &has_err, &ec))
        return 0;
    uint32_t info = VMX_INTR_INFO_VALID | ((uint32_t)vector & VMX_INTR_INFO_VECTOR) |
                    ((uint32_t)type << VMX_INTR_INFO_TYPE_SHIFT);
    if (has_err) {
        info |= VMX_INTR_INFO_ERROR_CODE;
        *err = ec;
    }
    if (type == EVT_SW_INT || type == EVT_SW_EXC || type == EVT_PRIV_SW_EXC)
        *insn_len = (uint32_t)(c->next_rip - c->rip);
    return info;
}

static void record_exit_info(struct cpu *c, struct vmx *v, const struct vmx_exit *e,
                             struct trace_event *ev)
{
    uint32_t idt_err = 0, insn_len = e->insn_len;
    uint32_t idt = exit_is_failure(e) ? 0 : idt_vectoring(c, e, &idt_err, &insn_len);

    vmcs_set(v, VMCS_vm_exit_reason, e->reason);
    vmcs_set(v, VMCS_exit_qualification, e->qual);
    vmcs_set(v, VMCS_guest_linear_address, e->guest_linear);
    vmcs_set(v, VMCS_guest_physical_address, e->guest_physical);
    vmcs_set(v, VMCS_vm_exit_intr_info, e->intr_info);
    if (e->intr_info & VMX_INTR_INFO_ERROR_CODE)
        vmcs_set(v, VMCS_vm_exit_intr_error_code, e->intr_error);
    vmcs_set(v, VMCS_idt_vectoring_info_field, idt);
    if (idt & VMX_INTR_INFO_ERROR_CODE)
        vmcs_set(v, VMCS_idt_vectoring_error_code, idt_err);
    vmcs_set(v, VMCS_vm_exit_instruction_len, insn_len);
    vmcs_set(v, VMCS_vmx_instruction_info, e->insn_info);
    /* "... VM exits clear the valid bit of the VM-entry interruption-
     * information field": an injected event has been delivered (or is
     * now the IDT-vectoring information). */
    if (!exit_is_failure(e))
        vmcs_set(v, VMCS_vm_entry_intr_info_field,
                 vmcs_get(v, VMCS_vm_entry_intr_info_field) & ~(uint64_t)VMX_INTR_INFO_VALID);

    ev->vmexit.idt_info = idt;
    ev->vmexit.idt_error = idt_err;
    ev->vmexit.insn_len = insn_len;
}

/* ---- SDM 3C "Saving Guest State" ---------------------------------------------- */

static void save_seg(struct vmx *v, const struct seg_reg *s, enum vmcs_field sel,
                     enum vmcs_field base, enum vmcs_field limit, enum vmcs_field ar)
{
    vmcs_set(v, sel, s->sel);
    vmcs_set(v, base, s->base);
    vmcs_set(v, limit, s->limit);
    vmcs_set(v, ar, s->ar);
}

#define SAVE_SEG(v, s, n)                                                                 \
    save_seg((v), (s), VMCS_guest_##n##_selector, VMCS_guest_##n##_base,                  \
             VMCS_guest_##n##_limit, VMCS_guest_##n##_ar_bytes)

/* The remaining VMX-preemption timer value: the timer counts down once
 * every 2^X cycles, X = IA32_VMX_MISC[4:0] (SDM 3C "VMX-Preemption Timer"). */
static uint64_t preemption_remaining(const struct cpu *c, const struct vmx *v)
{
    unsigned rate = (unsigned)(v->caps.msr[VMX_MSR_MISC] & VMX_MISC_PREEMPTION_RATE);
    if (c->cycles >= v->preemption_deadline)
        return 0;
    uint64_t left = (v->preemption_deadline - c->cycles) >> rate;
    return left > 0xffffffffull ? 0xffffffffull : left;
}

/* SDM 3C "Saving Non-Register State": "VM exits that are not caused by
 * debug exceptions and that occur while there is MOV-SS blocking of debug
 * exceptions" save the debug exceptions a MOV SS / POP SS held (the run
 * loop keeps them in c->bp.hits): B0-B3, bit 12 when one of them is an
 * enabled data or I/O breakpoint (every B bit held here is one), and BS
 * when RFLAGS.TF = 1 and IA32_DEBUGCTL.BTF = 0 ("implementation-specific";
 * nvmx sets it). Held traps belong to the guest: they never reach the
 * host. */
#define PENDING_DBG_ENABLED_BP (1ull << 12)

static uint64_t held_debug_exceptions(struct cpu *c, const struct vmx_exit *e)
{
    uint64_t held = c->bp.hits;
    c->bp.hits = 0;
    bool db_exit = (e->reason & 0xffff) == VMX_EXIT_exception_nmi &&
                   (e->intr_info & VMX_INTR_INFO_VECTOR) == EXC_DB;
    if (!held || !(c->intr_shadow & VMX_INTERRUPTIBILITY_MOV_SS) || db_exit)
        return 0;
    uint64_t p = held & DR6_B0_B3;
    if (p)
        p |= PENDING_DBG_ENABLED_BP;
    if ((held & DR6_BS) && (c->rflags & FL_TF) && !(c->debugctl & DEBUGCTL_BTF))
        p |= DR6_BS;
    return p;
}

/* SDM 3C "Saving Non-Register State": activity and interruptibility state.
 * The CPU keeps one interrupt shadow for STI and MOV SS; it is saved as
 * blocking by STI when RFLAGS.IF = 1 (the only case STI leaves one) and as
 * blocking by MOV SS otherwise. With virtual NMIs the NMI bit is the
 * virtual-NMI blocking. */
static void save_nonregister_state(struct cpu *c, struct vmx *v, const struct vmx_exit *e)
{
    uint32_t intr = 0;

    /* c->intr_shadow holds the interruptibility bits themselves (1 = STI,
     * 2 = MOV SS) */
    intr |= c->intr_shadow & (VMX_INTERRUPTIBILITY_STI | VMX_INTERRUPTIBILITY_MOV_SS);
    if (c->nmi_blocked) /* virtual-NMI blocking with "virtual NMIs" */
        intr |= VMX_INTERRUPTIBILITY_NMI;
    vmcs_set(v, VMCS_guest_interruptibility_info, intr);
    /* "The activity-state field is saved with the logical processor's
     * activity state before the VM exit": HLT, shutdown or wait-for-SIPI
     * as VM entry (or HLT) left it while the guest has not woken. */
    vmcs_set(v, VMCS_guest_activity_state, vmx_guest_activity(c, v));
    /* Pending debug exceptions: the CPU delivers a single-step trap right
     * after its instruction, so one is pending only when an MTF VM exit
     * overtook it ("MTF VM exits take priority over debug-trap
     * exceptions", SDM 3C "Monitor Trap Flag"): BS is saved then. */
    vmcs_set(v, VMCS_guest_pending_dbg_exceptions,
             e->pending_dbg | held_debug_exceptions(c, e));
    if (v->exit_ctls & EXIT_SAVE_PREEMPTION_TIMER)
        vmcs_set(v, VMCS_vmx_preemption_timer_value,
                 (e->reason & 0xffff) == VMX_EXIT_preemption_timer ? 0
                                                                   : preemption_remaining(c, v));
}

void vmx_save_guest_state(struct cpu *c, struct vmx *v, const struct vmx_exit *e)
{
    /* "Saving Control Registers, Debug Registers, and MSRs" */
    vmcs_set(v, VMCS_guest_cr0, c->cr0);
    vmcs_set(v, VMCS_guest_cr3, c->cr3);
    vmcs_set(v, VMCS_guest_cr4, c->cr4);
    if (v->exit_ctls & EXIT_SAVE_DEBUG_CONTROLS) {
        vmcs_set(v, VMCS_guest_dr7, c->dr[7]);
        vmcs_set(v, VMCS_guest_ia32_debugctl, c->debugctl);
    }
    vmcs_set(v, VMCS_guest_sysenter_cs, c->sysenter_cs);
    vmcs_set(v, VMCS_guest_sysenter_esp, c->sysenter_esp);
    vmcs_set(v, VMCS_guest_sysenter_eip, c->sysenter_eip);
    if (v->exit_ctls & EXIT_SAVE_PAT)
        vmcs_set(v, VMCS_guest_ia32_pat, c->pat);
    if (v->exit_ctls & EXIT_SAVE_EFER)
        vmcs_set(v, VMCS_guest_ia32_efer, c->efer);
    vmx_ept_save_pdptes(c, v);

    /* "Saving Segment Registers and Descriptor-Table Registers": the AR
     * values are already in the VMX layout, with the unusable bit. */
    SAVE_SEG(v, &c->seg[SEG_ES], es);
    SAVE_SEG(v, &c->seg[SEG_CS], cs);
    SAVE_SEG(v, &c->seg[SEG_SS], ss);
    SAVE_SEG(v, &c->seg[SEG_DS], ds);
    SAVE_SEG(v, &c->seg[SEG_FS], fs);
    SAVE_SEG(v, &c->seg[SEG_GS], gs);
    SAVE_SEG(v, &c->ldtr, ldtr);
    SAVE_SEG(v, &c->tr, tr);
    vmcs_set(v, VMCS_guest_gdtr_base, c->gdtr.base);
    vmcs_set(v, VMCS_guest_gdtr_limit, c->gdtr.limit);
    vmcs_set(v, VMCS_guest_idtr_base, c->idtr.base);
    vmcs_set(v, VMCS_guest_idtr_limit, c->idtr.limit);

    /* "Saving RIP, RSP, RFLAGS, and SSP" */
    vmcs_set(v, VMCS_guest_rip, e->rip_is_next ? c->next_rip : c->rip);
    vmcs_set(v, VMCS_guest_rsp, c->gpr[4]);
    vmcs_set(v, VMCS_guest_rflags, cpu_get_rflags(c));

    save_nonregister_state(c, v, e);
}

/* ---- SDM 3C "Saving MSRs" / "Loading MSRs" ------------------------------------- */

/* Entries of 16 bytes: MSR index (31:0), reserved (63:32), data (127:64). */
static bool store_guest_msrs(struct cpu *c, struct vmx *v)
{
    uint64_t addr = vmcs_get(v, VMCS_vmexit_msr_store_addr);
    uint32_t n = (uint32_t)vmcs_get(v, VMCS_vm_exit_msr_store_count);

    for (uint32_t i = 0; i < n; i++, addr += VMX_MSR_ENTRY_SIZE) {
        uint64_t head = cpu_phys_read(c, addr, 8);
        uint32_t msr = (uint32_t)head;
        uint64_t val;
        if ((head >> 32) || (msr >> 8) == 0x8 || msr == MSR_IA32_SMBASE ||
            !cpu_msr_read(c, msr, &val))
            return false;
        cpu_phys_write(c, addr + 8, 8, val);
    }
    return true;
}

static bool load_host_msrs(struct cpu *c, struct vmx *v)
{
    uint64_t addr = vmcs_get(v, VMCS_vmexit_msr_load_addr);
    uint32_t n = (uint32_t)vmcs_get(v, VMCS_vm_exit_msr_load_count);

    for (uint32_t i = 0; i < n; i++, addr += VMX_MSR_ENTRY_SIZE) {
        uint64_t head = cpu_phys_read(c, addr, 8);
        uint32_t msr = (uint32_t)head;
        uint64_t val = cpu_phys_read(c, addr + 8, 8);
        if (vmx_msr_load_entry_problem(head) || !cpu_msr_write(c, msr, val))
            return false;
    }
    return true;
}

/* ---- SDM 3C "VMX Aborts" ------------------------------------------------------- */

/* The indicator goes to bytes 4-7 of the VMCS region and the logical
 * processor enters the shutdown state; the run ends there and says why
 * (vmx_last_abort). */
static void vmx_abort(struct cpu *c, struct vmx *v, enum vmx_abort why)
{
    if (v->current_vmcs != VMX_INVALID_PTR)
        cpu_phys_write(c, v->current_vmcs + VMCS_ABORT_OFFSET, 4, why);
    v->abort = why;
    v->abort_exit_reason = (uint32_t)vmcs_get(v, VMCS_vm_exit_reason);
    c->stop = CPU_STOP_VMX_ABORT;
}

uint32_t vmx_last_abort(const struct vmx *v, uint32_t *exit_reason)
{
    if (exit_reason)
        *exit_reason = v ? v->abort_exit_reason : 0;
    return v ? v->abort : 0;
}

/* ---- SDM 3C "Loading Host State" ----------------------------------------------- */

/* CR0 bits a VM exit leaves alone: ET, CD, NW, 63:32, 28:19, 17, 15:6
 * (SDM 3C "Loading Host Control Registers, Debug Registers, MSRs"). The
 * bits fixed in VMX operation already hold their fixed values. */
#define HOST_CR0_KEEP                                                                     \
    (CR0_ET | CR0_CD | CR0_NW | 0xffffffff00000000ull | 0x1ff80000ull | (1ull << 17) |   \
     0xffc0ull)
#define HOST_CR3_MASK 0x000fffffffffffffull /* bits 63:52 cleared */

static void load_host_control(struct cpu *c, struct vmx *v, bool host64)
{
    uint64_t cr4 = vmcs_get(v, VMCS_host_cr4);

    c->cr0 = (c->cr0 & HOST_CR0_KEEP) | (vmcs_get(v, VMCS_host_cr0) & ~HOST_CR0_KEEP);
    c->cr3 = vmcs_get(v, VMCS_host_cr3) & HOST_CR3_MASK;
    if (host64)
        cr4 |= CR4_PAE;
    else
        cr4 &= ~CR4_PCIDE;
    c->cr4 = cr4;
    /* "DR7 is set to 400H. The IA32_DEBUGCTL MSR is cleared to 00000000H." */
    c->dr[7] = DR7_INIT;
    c->debugctl = 0;
    cpu_debug_regs_changed(c);

    uint64_t nat = host64 ? ~0ull : 0xffffffffull;
    c->sysenter_cs = (uint32_t)vmcs_get(v, VMCS_host_ia32_sysenter_cs);
    c->sysenter_esp = vmcs_get(v, VMCS_host_ia32_sysenter_esp) & nat;
    c->sysenter_eip = vmcs_get(v, VMCS_host_ia32_sysenter_eip) & nat;
    if (v->exit_ctls & EXIT_LOAD_PAT)
        c->pat = vmcs_get(v, VMCS_host_ia32_pat);
    if (v->exit_ctls & EXIT_LOAD_EFER)
        c->efer = vmcs_get(v, VMCS_host_ia32_efer);
    else if (host64)
        c->efer |= EFER_LME | EFER_LMA;
    else
        c->efer &= ~(EFER_LME | EFER_LMA);
}

/* SDM 3C "Loading Host Segment and Descriptor-Table Registers" */
#define HOST_DATA_AR (3u | AR_S | AR_P | AR_DB | AR_G)  /* read/write, accessed */
#define HOST_CODE_AR (11u | AR_S | AR_P | AR_G)         /* execute/read, accessed */
#define HOST_TR_AR (11u | AR_P)                         /* busy 32/64-bit TSS */

static void load_host_data_seg(struct seg_reg *s, uint16_t sel, uint64_t base)
{
    s->sel = sel;
    s->base = base;
    if (sel == 0) {
        /* a null selector leaves the register unusable (SS keeps DPL 0) */
        s->limit = 0;
        s->ar = AR_UNUSABLE;
        return;
    }
    s->limit = 0xffffffffu;
    s->ar = HOST_DATA_AR;
}

static void load_host_segments(struct cpu *c, struct vmx *v, bool host64)
{
    struct seg_reg *cs = &c->seg[SEG_CS];

    cs->sel = (uint16_t)vmcs_get(v, VMCS_host_cs_selector);
    cs->base = 0;
    cs->limit = 0xffffffffu;
    cs->ar = HOST_CODE_AR | (host64 ? AR_L : AR_DB);
    load_host_data_seg(&c->seg[SEG_SS], (uint16_t)vmcs_get(v, VMCS_host_ss_selector), 0);
    load_host_data_seg(&c->seg[SEG_DS], (uint16_t)vmcs_get(v, VMCS_host_ds_selector), 0);
    load_host_data_seg(&c->seg[SEG_ES], (uint16_t)vmcs_get(v, VMCS_host_es_selector), 0);
    load_host_data_seg(&c->seg[SEG_FS], (uint16_t)vmcs_get(v, VMCS_host_fs_selector),
                       vmcs_get(v, VMCS_host_fs_base));
    load_host_data_seg(&c->seg[SEG_GS], (uint16_t)vmcs_get(v, VMCS_host_gs_selector),
                       vmcs_get(v, VMCS_host_gs_base));
    /* FS/GS bases come from the base fields even with a null selector */
    c->seg[SEG_FS].base = vmcs_get(v, VMCS_host_fs_base);
    c->seg[SEG_GS].base = vmcs_get(v, VMCS_host_gs_base);

    c->tr = (struct seg_reg){ .sel = (uint16_t)vmcs_get(v, VMCS_host_tr_selector),
                              .base = vmcs_get(v, VMCS_host_tr_base), .limit = 0x67,
                              .ar = HOST_TR_AR };
    c->ldtr = (struct seg_reg){ .sel = 0, .base = 0, .limit = 0, .ar = AR_UNUSABLE };
    c->gdtr = (struct dtr){ .base = vmcs_get(v, VMCS_host_gdtr_base), .limit = 0xffff };
    c->idtr = (struct dtr){ .base = vmcs_get(v, VMCS_host_idtr_base), .limit = 0xffff };
}

/* Returns false on a VMX abort (host PDPTEs). */
static bool load_host_state(struct cpu *c, struct vmx *v)
{
    bool host64 = (v->exit_ctls & EXIT_HOST_ADDRESS_SPACE_SIZE) != 0;
    uint64_t nat = host64 ? ~0ull : 0xffffffffull;

    load_host_control(c, v, host64);
    load_host_segments(c, v, host64);
    c->rip = c->next_rip = vmcs_get(v, VMCS_host_rip) & nat;
    c->gpr[4] = vmcs_get(v, VMCS_host_rsp) & nat;
    cpu_set_rflags(c, FL_FIXED1);
    cpu_mode_reloaded(c); /* mode, CPL 0, leave the block */
    vmx_tlb_exit(c, v);   /* the TLB by the VPID rules */
    /* "If the host is using PAE paging, the PDPTEs are loaded from CR3;
     * a reserved bit set in one of them causes a VMX abort." */
    if (!host64 && (c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !cpu_load_pdptes(c))
        return false;
    return true;
}

/* SDM 3C "Updating Non-Register State": no blocking by STI or MOV SS, the
 * processor is active, and an NMI that caused the exit blocks NMIs; other
 * exits leave NMI blocking as it was. */
static void leave_nonroot(struct cpu *c, struct vmx *v, const struct vmx_exit *e)
{
    bool nmi_exit = (e->reason & 0xffff) == VMX_EXIT_exception_nmi &&
                    (e->intr_info & VMX_INTR_INFO_VALID) &&
                    ((e->intr_info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT) ==
                        EVT_NMI;

    c->vmx_nonroot = false;
    memset(&c->nr, 0, sizeof c->nr);
    c->intr_shadow = 0;
    c->halted = false;
    v->activity = VMX_ACTIVITY_ACTIVE;
    /* With "virtual NMIs" the guest's blocking was virtual; physical NMIs
     * were never blocked in non-root operation. */
    if (v->pin & PIN_VIRTUAL_NMIS)
        c->nmi_blocked = false;
    if (nmi_exit)
        c->nmi_blocked = true;
    v->preemption_active = false;
    v->mtf_pending = false;
    v->nr_started = false;
    v->ple_valid = false;
    v->entry_events_pending = false;
    c->end_block = true;
}

/* ---- the VM exit ------------------------------------------------------------------ */

/* What `perf kvm stat` calls the time of an exit: from the start of the VM
 * exit (its own cost included) to the moment the guest runs again, after
 * the host's handler and the VM entry that resumes the guest. Called when
 * the first between-instruction check after a VM entry runs (the entry
 * instruction's cycles are then charged), or by the next VM exit if the
 * guest exits before that. */
void vmx_account_exit_to_entry(struct cpu *c, struct vmx *v)
{
    if (!v->exit_open)
        return;
    v->exit_open = false;
    unsigned basic = v->last_exit_reason & 0xffff;
    if (basic <= VMX_EXIT_MAX && c->cycles >= v->last_exit_cycles)
        v->stats.exit_cycles[basic] += c->cycles - v->last_exit_cycles;
}

static void trace_exit(struct cpu *c, struct vmx *v, const struct vmx_exit *e,
                       struct trace_event *ev)
{
    ev->type = TRACE_EV_vmexit;
    ev->level = v->level;
    ev->vmexit.cost = c->cost->cycles[COST_vm_exit];
    ev->vmexit.reason = e->reason;
    ev->vmexit.qual = e->qual;
    ev->vmexit.guest_linear = e->guest_linear;
    ev->vmexit.guest_physical = e->guest_physical;
    ev->vmexit.insn_info = e->insn_info;
    ev->vmexit.intr_info = e->intr_info;
    ev->vmexit.intr_error = e->intr_error;
    vmx_emit(v, ev);
}

void vmx_vm_exit(struct cpu *c, struct vmx *v, const struct vmx_exit *e)
{
    struct trace_event ev;
    bool failure = exit_is_failure(e);
    bool tracing = vmx_tracing(v);

    memset(&ev, 0, sizeof ev);
    if (tracing) {
        /* the instruction at the guest RIP, for disassembly in the trace */
        struct trace_code *code = &ev.vmexit.insn_bytes;
        ev.vmexit.guest_rip = code->rip = e->rip_is_next ? c->next_rip : c->rip;
        code->code_size = c->code_size;
        code->nbytes = (uint8_t)cpu_fetch_bytes(c, code->rip, code->bytes, sizeof code->bytes);
        /* RDMSR/WRMSR exits: the MSR is ECX, which no exit field holds (SDM
         * 3C "Instructions That Cause VM Exits Conditionally"). */
        ev.vmexit.msr = (uint32_t)c->gpr[1];
    }
    record_exit_info(c, v, e, &ev);
    if (!failure)
        vmx_save_guest_state(c, v, e);
    bool msrs_saved = failure || store_guest_msrs(c, v);

    leave_nonroot(c, v, e);
    vmx_account_exit_to_entry(c, v); /* an entry whose guest exited at once */
    v->last_exit_reason = e->reason;
    v->last_exit_cycles = c->cycles;
    v->exit_open = true;
    c->cycles += c->cost->cycles[COST_vm_exit];
    unsigned basic = e->reason & 0xffff;
    if (basic <= VMX_EXIT_MAX)
        v->stats.exits[basic]++;

    if (tracing)
        trace_exit(c, v, e, &ev);
    /* A native host (src/nested's L0, written in C) runs instead of the
     * host state: the processor stays in VMX root operation with the
     * guest's registers, and cpu_run() returns to the host's caller. */
    if (v->native_fn) {
        c->stop = CPU_STOP_HOST;
        v->native_fn(v->native_ctx);
        return;
    }
    /* SDM 3C "VMX Aborts": a failure after the guest state is saved */
    if (!msrs_saved)
        vmx_abort(c, v, VMX_ABORT_SAVE_GUEST_MSR);
    else if (!load_host_state(c, v))
        vmx_abort(c, v, VMX_ABORT_HOST_PDPTE);
    else if (!load_host_msrs(c, v))
        vmx_abort(c, v, VMX_ABORT_LOAD_HOST_MSR);
}
