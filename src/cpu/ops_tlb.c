/* TLB-management instructions: INVLPG and INVPCID. The software TLB is not
 * tagged by PCID, so PCID-specific invalidations drop more than they must,
 * which the SDM allows ("Invalidation of TLBs and Paging-Structure Caches"). */
#include "paging.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

void op_invlpg(struct cpu *c, const struct insn *in);
void op_invpcid(struct cpu *c, const struct insn *in);

/* SDM 2A "INVLPG -- Invalidate TLB Entries": no segment-limit check and no
 * #PF; a non-canonical address in 64-bit mode makes it a no-op. */
void op_invlpg(struct cpu *c, const struct insn *in)
{
    if (c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t ea = insn_ea(c, in);
    uint64_t lin;
    if (cpu_is_64(c)) {
        lin = ea + (in->seg == SEG_FS || in->seg == SEG_GS ? c->seg[in->seg].base : 0);
    } else {
        lin = (c->seg[in->seg].base + ea) & 0xffffffffull;
    }
    if (unlikely(c->vmx_nonroot)) {
        /* SDM 3C "Exit Qualification for INVLPG ...": the linear address */
        struct cpu_intercept q = { .reason = VMX_EXIT_invlpg, .insn_len = in->len, .qual = lin };
        cpu_intercept(c, &q);
    }
    if (cpu_is_64(c) && !canonical(lin))
        return;
    cpu_tlb_flush_page(c, lin);
    c->end_block = true;
}

/* SDM 2A "INVPCID -- Invalidate Process-Context Identifier" */
enum invpcid_type {
    INVPCID_INDIVIDUAL_ADDRESS = 0,
    INVPCID_SINGLE_CONTEXT = 1,
    INVPCID_ALL_CONTEXT_GLOBAL = 2,
    INVPCID_ALL_CONTEXT = 3,
};

void op_invpcid(struct cpu *c, const struct insn *in)
{
    /* CPUID.(EAX=07H, ECX=0):EBX.INVPCID[bit 10]; not recognized in
     * virtual-8086 mode. */
    if (!paging_cpuid_has(c, 7, 0, PAGING_CPUID_EBX, 10) || c->mode == MODE_V86)
        cpu_fault(c, EXC_UD);
    if (c->cpl != 0) {
        /* SDM 3C "Changes to Instruction Behavior in VMX Non-Root
         * Operation": "If the 'enable INVPCID' VM-execution control is 0,
         * INVPCID causes an invalid-opcode exception (#UD). This exception
         * takes priority over any other exception the instruction may
         * incur." */
        if (unlikely(c->vmx_nonroot)) {
            struct cpu_intercept ud = { .reason = VMX_EXIT_invpcid, .ud_check = true };
            cpu_intercept(c, &ud);
        }
        cpu_fault_err(c, EXC_GP, 0);
    }
    if (unlikely(c->vmx_nonroot)) {
        /* The hook raises #UD when "enable INVPCID" is 0 (SDM 3C "Changes
         * to Instruction Behavior in VMX Non-Root Operation") and exits
         * when "INVLPG exiting" is 1. SDM 3C "Format of the VM-Exit
         * Instruction-Information Field as Used for INVEPT, INVPCID, and
         * INVVPID": the register operand in bits 31:28; the exit
         * qualification is the displacement. */
        struct cpu_intercept q = {
            .reason = VMX_EXIT_invpcid, .insn_len = in->len,
            .insn_info = cpu_insn_info(in) | ((uint32_t)(in->reg & 15) << 28),
            .qual = cpu_insn_displacement(c, in),
        };
        cpu_intercept(c, &q);
    }

    /* The register operand is 64 bits in 64-bit mode, 32 bits outside it,
     * whatever the operand size. */
    uint64_t type = c->gpr[in->reg];
    if (!cpu_is_64(c))
        type &= 0xffffffffull;
    uint64_t ea = insn_ea(c, in);
    uint64_t desc_lo = cpu_read(c, in->seg, ea, 8);
    uint64_t desc_hi = cpu_read(c, in->seg, (ea + 8) & size_mask(in->addrsize), 8);

    if (desc_lo >> 12) /* bits 63:12 of INVPCID_DESC must be 0 */
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t pcid = desc_lo & 0xfff;
    bool pcid_ok = pcid == 0 || (c->cr4 & CR4_PCIDE);

    switch (type) {
    case INVPCID_INDIVIDUAL_ADDRESS:
        if (!pcid_ok || !canonical(desc_hi))
            cpu_fault_err(c, EXC_GP, 0);
        cpu_tlb_flush_page(c, desc_hi);
        break;
    case INVPCID_SINGLE_CONTEXT:
        if (!pcid_ok)
            cpu_fault_err(c, EXC_GP, 0);
        cpu_tlb_flush(c);
        break;
    case INVPCID_ALL_CONTEXT_GLOBAL:
    case INVPCID_ALL_CONTEXT:
        cpu_tlb_flush(c);
        break;
    default:
        cpu_fault_err(c, EXC_GP, 0);
    }
    c->end_block = true;
}
