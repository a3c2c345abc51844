/* VPIDs and the cached translations at VMX transitions (SDM 3C "Virtual
 * Processor Identifiers (VPIDs)", "Caching Translation Information"), and
 * the two instructions that invalidate them: INVEPT and INVVPID (SDM 3C
 * "INVEPT -- Invalidate Translations Derived from EPT", "INVVPID --
 * Invalidate Translations Based on VPID"). The CPU keeps the software TLB
 * per (VPID, EPTP) context (src/cpu/tlb.c); this file says when each
 * context is used and what must be dropped. */
#include "vmx_internal.h"

#include "nvmx/ept.h"

/* The VPID the guest's translations are tagged with: the VPID field with
 * "enable VPID", else 0000H, the VPID of VMX root operation. */
static uint16_t guest_vpid(const struct vmx *v, uint32_t proc2)
{
    return (proc2 & PROC2_ENABLE_VPID) ? (uint16_t)vmcs_get(v, VMCS_virtual_processor_id) : 0;
}

/* SDM 3C "VPID": "If the 'enable VPID' VM-execution control is 0, ... VM
 * entries and VM exits invalidate all linear and combined mappings
 * associated with VPID 0000H" (and the root context shares VPID 0000H);
 * with VPIDs nothing is invalidated and the guest's mappings, tagged by its
 * VPID (and EP4TA under EPT), are kept for the next entry. The VPID 0000H
 * contexts are invalidated lazily: each is cleared when next switched to,
 * so a transition clears one set, as it did before there were contexts. */
void vmx_tlb_enter(struct cpu *c, const struct vmx *v, uint32_t proc2)
{
    if (!(proc2 & PROC2_ENABLE_VPID))
        cpu_tlb_invalidate_vpid_lazily(c, 0);
    cpu_tlb_switch(c, guest_vpid(v, proc2), c->nr.ept, c->nr.eptp);
}

void vmx_tlb_exit(struct cpu *c, const struct vmx *v)
{
    if (!(v->proc2 & PROC2_ENABLE_VPID))
        cpu_tlb_invalidate_vpid_lazily(c, 0);
    cpu_tlb_switch(c, 0, false, 0);
}

/* ---- INVEPT / INVVPID ------------------------------------------------------------ */

enum invept_type { INVEPT_SINGLE_CONTEXT = 1, INVEPT_GLOBAL = 2 };
enum invvpid_type {
    INVVPID_INDIVIDUAL_ADDRESS = 0,
    INVVPID_SINGLE_CONTEXT = 1,
    INVVPID_ALL_CONTEXT = 2,
    INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS = 3,
};

static bool proc2_allowed(const struct vmx *v, uint32_t ctl)
{
    return (vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS2) & ctl);
}

/* "IF (not in VMX operation) or (CR0.PE = 0) or (RFLAGS.VM = 1) or
 * (IA32_EFER.LMA = 1 and CS.L = 0) THEN #UD; ELSIF in VMX non-root
 * operation THEN VM exit; ELSIF CPL > 0 THEN #GP(0)". The instruction
 * exists only where the capability MSRs say so, and its source operand must
 * be memory ("#UD ... If the processor does not support EPT / INVEPT",
 * "If the memory operand is a register"). Returns the type register value
 * (64 bits in 64-bit mode, 32 outside it). */
static uint64_t inv_prologue(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi,
                             bool supported, uint16_t reason)
{
    bool compat = (c->efer & EFER_LMA) && !(c->seg[SEG_CS].ar & AR_L);
    if (!supported || !vi->mem || !v->in_vmx_operation || !(c->cr0 & CR0_PE) ||
        (c->rflags & FL_VM) || compat)
        cpu_raise(c, EXC_UD, false, 0);
    if (c->vmx_nonroot) {
        /* SDM 3C "Exit Qualification for VMX Instructions" (the
         * displacement) and the INVEPT/INVPCID/INVVPID format of the
         * instruction-information field (register operand in 31:28). */
        struct vmx_exit e = { .reason = reason, .qual = vi->qual, .insn_len = vi->len,
                              .insn_info = vi->insn_info };
        vmx_vm_exit(c, v, &e);
        cpu_vmexit_unwind(c);
    }
    if (c->cpl > 0)
        cpu_raise(c, EXC_GP, true, 0);
    uint64_t type = c->gpr[vi->reg & 15];
    return vi->opsize == 8 ? type : (uint32_t)type;
}

/* The 128-bit descriptor: bits 63:0 and 127:64. The second read wraps
 * within the address size like any operand. */
static void read_desc(struct cpu *c, const struct cpu_vmx_insn *vi, uint64_t d[2])
{
    uint64_t amask = vi->addrsize >= 8 ? ~0ull : vi->addrsize == 4 ? 0xffffffffull : 0xffffull;
    d[0] = cpu_mem_read(c, vi->seg, vi->offset, 8);
    d[1] = cpu_mem_read(c, vi->seg, (vi->offset + 8) & amask, 8);
}

static bool canonical48(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

void vmx_do_invept(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    uint64_t cap = v->caps.msr[VMX_MSR_EPT_VPID_CAP];
    bool supported = proc2_allowed(v, (uint32_t)PROC2_ENABLE_EPT) && (cap & EPT_CAP_BIT(INVEPT));
    uint64_t type = inv_prologue(c, v, vi, supported, VMX_EXIT_invept);

    /* "IF IA32_VMX_EPT_VPID_CAP MSR indicates that processor does not
     * support INVEPT_TYPE THEN VMfail(Invalid operand to INVEPT/INVVPID)" */
    if (!(type == INVEPT_SINGLE_CONTEXT && (cap & EPT_CAP_BIT(INVEPT_SINGLE_CONTEXT))) &&
        !(type == INVEPT_GLOBAL && (cap & EPT_CAP_BIT(INVEPT_ALL_CONTEXT)))) {
        vmx_fail(c, v, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND, "invept");
        return;
    }
    uint64_t d[2];
    read_desc(c, vi, d);
    if (type == INVEPT_SINGLE_CONTEXT) {
        /* "IF VM entry with the 'enable EPT' VM execution control set to 1
         * would fail due to the EPTP value THEN VMfail(...); ELSE
         * Invalidate mappings associated with EPTP[51:12]" */
        struct ept_caps caps = vmx_ept_caps(v);
        if (ept_eptp_check(&caps, d[0])) {
            vmx_fail(c, v, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND, "invept");
            return;
        }
        cpu_tlb_flush_ept(c, d[0]);
    } else {
        cpu_tlb_flush_all_ept(c); /* "Invalidate mappings associated with all EPTPs" */
    }
    vmx_succeed(c);
}

void vmx_do_invvpid(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    uint64_t cap = v->caps.msr[VMX_MSR_EPT_VPID_CAP];
    bool supported = proc2_allowed(v, (uint32_t)PROC2_ENABLE_VPID) && (cap & EPT_CAP_BIT(INVVPID));
    uint64_t type = inv_prologue(c, v, vi, supported, VMX_EXIT_invvpid);

    /* Types 0-3 are IA32_VMX_EPT_VPID_CAP bits 40-43. */
    if (type > INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS ||
        !(cap & (1ull << (EPT_CAP_INVVPID_INDIVIDUAL_ADDRESS + type)))) {
        vmx_fail(c, v, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND, "invvpid");
        return;
    }
    uint64_t d[2];
    read_desc(c, vi, d);
    /* "IF INVVPID_DESC[63:16] != 0 THEN VMfail(...)" */
    uint16_t vpid = (uint16_t)d[0];
    if (d[0] >> 16 || (type != INVVPID_ALL_CONTEXT && vpid == 0)) {
        vmx_fail(c, v, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND, "invvpid");
        return;
    }
    switch ((enum invvpid_type)type) {
    case INVVPID_INDIVIDUAL_ADDRESS:
        /* "IF (GL_ADDR is not in a canonical form) THEN VMfail(...)" */
        if (!canonical48(d[1])) {
            vmx_fail(c, v, VMX_INSN_ERR_INVALID_INVEPT_INVVPID_OPERAND, "invvpid");
            return;
        }
        cpu_tlb_flush_vpid_page(c, vpid, d[1]);
        break;
    case INVVPID_SINGLE_CONTEXT:
    case INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS:
        /* the software TLB does not tell global translations apart: type 3
         * drops them too, which the SDM allows */
        cpu_tlb_flush_vpid(c, vpid);
        break;
    case INVVPID_ALL_CONTEXT:
        cpu_tlb_flush_vpids_but_0(c); /* "all VPIDs except VPID 0000H" */
        break;
    }
    vmx_succeed(c);
}
