/* Control- and debug-register instructions: MOV to/from CR0/CR2/CR3/CR4/CR8
 * and DR0-DR7, CLTS, LMSW, SMSW (SDM 2B "MOV -- Move to/from Control
 * Registers", "MOV -- Move to/from Debug Registers"; SDM 3A "Control
 * Registers"). Every check runs before the register is written. */
#include "opcodes_gen.h"
#include "paging.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/lapic.h"
#include "nvmx/vmx_arch.h"

#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
                     CR0_NW | CR0_CD | CR0_PG)
/* CR0 bits whose change drops cached translations (SDM 3A "Invalidation of
 * TLBs and Paging-Structure Caches": changes to CR0.PG, CR0.WP, CR0.CD/NW). */
#define CR0_TLB_BITS (CR0_PE | CR0_PG | CR0_WP | CR0_CD | CR0_NW)
#define CR4_TLB_BITS (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | \
                      CR4_LA57)
/* SDM 3A "PDPTE Registers": MOV to CR0/CR4 changing one of these, with PAE
 * paging in effect afterwards, reloads the PDPTEs. */
#define CR0_PDPTE_BITS (CR0_PG | CR0_CD | CR0_NW)
#define CR4_PDPTE_BITS (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)
#define CR3_PCID_NOFLUSH (1ull << 63)

/* Debug registers (SDM 3A "Debug Registers") */
#define DR6_FIXED1 0xffff0ff0ull /* reserved bits that read as 1 */
#define DR6_WRITABLE 0xe00full   /* B0-B3, BD, BS, BT */
#define DR7_FIXED1 0x400ull
#define DR7_WRITABLE 0xffff23ffull /* L0-G3, LE, GE, GD, R/W0-LEN3 */

static void require_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
}

static unsigned cr_opsize(const struct cpu *c)
{
    return cpu_is_64(c) ? 8 : 4;
}

/* ---- VMX non-root operation ------------------------------------------------ */

/* SDM 3C "Exit Qualification for Control-Register Accesses": CR number in
 * bits 3:0, access type in 5:4, LMSW operand type in 6, the GPR in 11:8,
 * the LMSW source data in 31:16. */
enum cr_access_type { CRQ_MOV_TO_CR = 0, CRQ_MOV_FROM_CR = 1, CRQ_CLTS = 2, CRQ_LMSW = 3 };

static uint64_t cr_qual(unsigned cr, enum cr_access_type type, unsigned gpr)
{
    return (uint64_t)(cr & 15) | ((uint64_t)type << 4) | ((uint64_t)(gpr & 15) << 8);
}

/* A CR access in non-root operation: the VM exit (if the controls ask for
 * one) takes priority over every fault but #UD and the CPL check (SDM 3C
 * "Instructions That Cause VM Exits Conditionally"). */
static void cr_intercept(struct cpu *c, const struct insn *in, unsigned cr, bool write,
                         uint64_t qual, uint64_t value)
{
    struct cpu_intercept q = {
        .reason = VMX_EXIT_cr_access, .insn_len = in->len, .qual = qual,
        .cr = (uint8_t)cr, .write = write, .value = value,
    };
    cpu_intercept(c, &q);
}

/* SDM 3C "Changes to Instruction Behavior in VMX Non-Root Operation": MOV
 * from CR0/CR4 and SMSW read the read shadow for bits the guest/host mask
 * owns; writes leave those bits as they are. */
static uint64_t cr0_guest_view(const struct cpu *c)
{
    if (!c->vmx_nonroot)
        return c->cr0;
    return (c->cr0 & ~c->nr.cr0_mask) | (c->nr.cr0_shadow & c->nr.cr0_mask);
}

static uint64_t cr4_guest_view(const struct cpu *c)
{
    if (!c->vmx_nonroot)
        return c->cr4;
    return (c->cr4 & ~c->nr.cr4_mask) | (c->nr.cr4_shadow & c->nr.cr4_mask);
}

static uint64_t keep_host_owned(uint64_t cur, uint64_t val, uint64_t mask)
{
    return (cur & mask) | (val & ~mask);
}

/* CR0/CR4 values VMX operation forbids (fixed bits, CR4.VMXE): #GP(0)
 * (SDM 3C "Restrictions on VMX Operation"). */
static void vmx_cr_check(struct cpu *c, unsigned cr, uint64_t val)
{
    if (c->hooks && c->hooks->cr_allowed && !c->hooks->cr_allowed(c, cr, val))
        cpu_fault_err(c, EXC_GP, 0);
}

static bool pae_paging_after(const struct cpu *c, uint64_t cr0, uint64_t cr4)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(c->efer & EFER_LME);
}

/* CR4 bits this CPU model has (SDM 3A "CPUID and CR4 bits"); the rest are
 * reserved. CR4.LA57 is not supported (4-level paging only). */
static uint64_t cr4_valid_bits(const struct cpu *c)
{
    static const struct {
        uint64_t bit;
        uint32_t leaf;
        uint8_t reg, pos;
    } feat[] = {
        { CR4_VME, 1, CPUID_EDX, 1 },       { CR4_PVI, 1, CPUID_EDX, 1 },
        { CR4_TSD, 1, CPUID_EDX, 4 },       { CR4_DE, 1, CPUID_EDX, 2 },
        { CR4_PSE, 1, CPUID_EDX, 3 },       { CR4_PAE, 1, CPUID_EDX, 6 },
        { CR4_MCE, 1, CPUID_EDX, 7 },       { CR4_PGE, 1, CPUID_EDX, 13 },
        { CR4_OSFXSR, 1, CPUID_EDX, 24 },   { CR4_OSXMMEXCPT, 1, CPUID_EDX, 25 },
        { CR4_VMXE, 1, CPUID_ECX, 5 },      { CR4_SMXE, 1, CPUID_ECX, 6 },
        { CR4_PCIDE, 1, CPUID_ECX, 17 },    { CR4_OSXSAVE, 1, CPUID_ECX, 26 },
        { CR4_FSGSBASE, 7, CPUID_EBX, 0 },  { CR4_SMEP, 7, CPUID_EBX, 7 },
        { CR4_SMAP, 7, CPUID_EBX, 20 },     { CR4_UMIP, 7, CPUID_ECX, 2 },
        { CR4_PKE, 7, CPUID_ECX, 3 },
    };
    uint64_t ok = CR4_PCE;

    for (unsigned i = 0; i < sizeof feat / sizeof feat[0]; i++)
        if (cpu_cpuid_feature(c, feat[i].leaf, feat[i].reg, feat[i].pos))
            ok |= feat[i].bit;
    return ok;
}

/* Raise #GP(0) unless the PDPTEs load, with CR3 = cr3 (SDM 3A "PDPTE
 * Registers"). The CPU state is left as it was on failure. */
static void load_pdptes_or_gp(struct cpu *c, uint64_t cr0, uint64_t cr3, uint64_t cr4)
{
    (void)cr0;
    (void)cr4;
    /* under EPT an EPT violation here exits before anything changed */
    if (!paging_load_pdptes_from(c, paging_pdpte_table(c, cr3)))
        cpu_fault_err(c, EXC_GP, 0);
}

/* SDM 2B "MOV -- Move to/from Control Registers" (#GP(0) list) and SDM 3A
 * "Initializing IA-32e Mode". Reserved bits in CR0[31:0] are ignored; ET is
 * hardwired to 1. */
static void cr0_write(struct cpu *c, uint64_t val)
{
    uint64_t old = c->cr0;
    uint64_t nv = (val & CR0_DEFINED) | CR0_ET;
    bool pg_on = (nv & CR0_PG) && !(old & CR0_PG);
    bool pg_off = !(nv & CR0_PG) && (old & CR0_PG);

    if (val >> 32)
        cpu_fault_err(c, EXC_GP, 0);
    if ((nv & CR0_PG) && !(nv & CR0_PE))
        cpu_fault_err(c, EXC_GP, 0);
    if ((nv & CR0_NW) && !(nv & CR0_CD))
        cpu_fault_err(c, EXC_GP, 0);
    vmx_cr_check(c, 0, nv);
    if (pg_on && (c->efer & EFER_LME)) {
        /* activating IA-32e mode needs PAE and a CS without L */
        if (!(c->cr4 & CR4_PAE) || (c->seg[SEG_CS].ar & AR_L))
            cpu_fault_err(c, EXC_GP, 0);
    }
    if (pg_off && (cpu_is_64(c) || (c->cr4 & CR4_PCIDE)))
        cpu_fault_err(c, EXC_GP, 0);
    if (pae_paging_after(c, nv, c->cr4) && ((nv ^ old) & CR0_PDPTE_BITS))
        load_pdptes_or_gp(c, nv, c->cr3, c->cr4);

    c->cr0 = nv;
    if ((nv ^ old) & CR0_TLB_BITS)
        cpu_tlb_flush(c);
    cpu_update_mode(c);
    c->end_block = true;
}

/* CR3: bits above MAXPHYADDR are reserved; with CR4.PCIDE bit 63 asks not
 * to flush and is not stored (SDM 3A "Process-Context Identifiers"). The
 * software TLB is not tagged by PCID, so the current VPID's contexts are
 * flushed on every load, and the modelled TLB with them: the no-flush hint
 * changes nothing (dropping more is allowed). */
static void cr3_write(struct cpu *c, uint64_t val)
{
    uint64_t nv = val;

    if (c->cr4 & CR4_PCIDE)
        nv &= ~CR3_PCID_NOFLUSH;
    if (nv >> cpu_maxphyaddr(c))
        cpu_fault_err(c, EXC_GP, 0);
    if (pae_paging_after(c, c->cr0, c->cr4))
        load_pdptes_or_gp(c, c->cr0, nv, c->cr4);

    c->cr3 = nv;
    cpu_tlb_flush(c);
    c->end_block = true;
}

static void cr4_write(struct cpu *c, uint64_t val)
{
    uint64_t old = c->cr4;

    if (val & ~cr4_valid_bits(c))
        cpu_fault_err(c, EXC_GP, 0);
    vmx_cr_check(c, 4, val);
    /* PCIDE: only in IA-32e mode, and only with CR3[11:0] = 0 */
    if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
        (!cpu_long_active(c) || (c->cr3 & 0xfff)))
        cpu_fault_err(c, EXC_GP, 0);
    /* leaving IA-32e mode by clearing PAE */
    if (!(val & CR4_PAE) && cpu_long_active(c))
        cpu_fault_err(c, EXC_GP, 0);
    if (pae_paging_after(c, c->cr0, val) && ((val ^ old) & CR4_PDPTE_BITS))
        load_pdptes_or_gp(c, c->cr0, c->cr3, val);

    c->cr4 = val;
    if ((val ^ old) & CR4_TLB_BITS)
        cpu_tlb_flush(c);
    c->end_block = true;
}

/* CR8 is the TPR (SDM 3A "Task Priority in IA-32e Mode"): bits 63:4 are
 * reserved; a write sets TPR[7:4] to CR8[3:0] and TPR[3:0] to 0, a read
 * gives TPR[7:4]. Without a local APIC CR8 is plain storage. */
static void cr8_write(struct cpu *c, uint64_t val)
{
    if (val & ~0xfull)
        cpu_fault_err(c, EXC_GP, 0);
    c->cr8 = val;
    if (c->m && c->m->lapic)
        c->m->lapic->tpr = (uint32_t)val << 4;
    c->end_block = true; /* a lower TPR may unmask a pending interrupt */
}

static uint64_t cr8_read(const struct cpu *c)
{
    if (c->m && c->m->lapic)
        return (c->m->lapic->tpr >> 4) & 0xf;
    return c->cr8 & 0xf;
}

/* CR1, CR5-CR7 and CR9-CR15 do not exist: #UD (checked before privilege,
 * as for any undefined encoding). CR8 is reachable only with REX.R. */
static void check_cr_index(struct cpu *c, unsigned cr)
{
    if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
        cpu_fault(c, EXC_UD);
}

/* MOV r, CRn (0F 20). The mod field is ignored: the operands are always
 * registers. Operand size is 64 bits in 64-bit mode, else 32. */
void op_mov_r_cr(struct cpu *c, const struct insn *in)
{
    unsigned cr = in->reg & 15;
    uint64_t v = 0;

    check_cr_index(c, cr);
    require_cpl0(c);
    if (unlikely(c->vmx_nonroot) && (cr == 3 || cr == 8))
        cr_intercept(c, in, cr, false, cr_qual(cr, CRQ_MOV_FROM_CR, in->rm), 0);
    switch (cr) {
    case 0: v = cr0_guest_view(c); break;
    case 2: v = c->cr2; break;
    case 3: v = c->cr3; break;
    case 4: v = cr4_guest_view(c); break;
    case 8: v = cr8_read(c); break;
    }
    reg_write(c, in->rm & 15, cr_opsize(c), true, v);
}

/* MOV CRn, r (0F 22) */
void op_mov_cr_r(struct cpu *c, const struct insn *in)
{
    unsigned cr = in->reg & 15;
    uint64_t v = reg_read(c, in->rm & 15, cr_opsize(c), true);

    check_cr_index(c, cr);
    require_cpl0(c);
    if (unlikely(c->vmx_nonroot) && cr != 2) {
        cr_intercept(c, in, cr, true, cr_qual(cr, CRQ_MOV_TO_CR, in->rm), v);
        if (cr == 0)
            v = keep_host_owned(c->cr0, v, c->nr.cr0_mask);
        else if (cr == 4)
            v = keep_host_owned(c->cr4, v, c->nr.cr4_mask);
    }
    switch (cr) {
    case 0: cr0_write(c, v); break;
    case 2: c->cr2 = v; break;
    case 3: cr3_write(c, v); break;
    case 4: cr4_write(c, v); break;
    case 8: cr8_write(c, v); break;
    }
}

/* SDM 2B "MOV -- Move to/from Debug Registers": DR4/DR5 alias DR6/DR7 unless
 * CR4.DE = 1 (then #UD); DR8-DR15 do not exist. With DR7.GD = 1 any access
 * is a #DB fault with DR6.BD set (SDM 3A "General-Detect Exception
 * Condition"); the handler entry clears GD. */
static unsigned dr_access(struct cpu *c, const struct insn *in)
{
    unsigned dr = in->reg & 15;

    if (dr > 7)
        cpu_fault(c, EXC_UD);
    require_cpl0(c);
    if (unlikely(c->vmx_nonroot)) {
        /* SDM 3C "Exit Qualification for MOV DR": DR number in 2:0,
         * direction in 4 (1 = MOV from DR), the GPR in 11:8. MOV-DR exiting
         * has priority over the CR4.DE #UD and the DR7.GD #DB. */
        bool from = in->opcode == 0x21;
        struct cpu_intercept q = {
            .reason = VMX_EXIT_dr_access, .insn_len = in->len,
            .qual = (uint64_t)dr | ((uint64_t)from << 4) | ((uint64_t)(in->rm & 15) << 8),
            .write = !from,
        };
        cpu_intercept(c, &q);
    }
    if (dr == 4 || dr == 5) {
        if (c->cr4 & CR4_DE)
            cpu_fault(c, EXC_UD);
        dr += 2;
    }
    /* General detect: DR6.BD is set and DR7.GD cleared when the #DB is
     * delivered (cpu_raise), not when it causes a VM exit. */
    if (c->dr[7] & DR7_GD) {
        c->fault_dr6 = DR6_BD;
        cpu_fault(c, EXC_DB);
    }
    return dr;
}

/* MOV r, DRn (0F 21) */
void op_mov_r_dr(struct cpu *c, const struct insn *in)
{
    unsigned dr = dr_access(c, in);

    reg_write(c, in->rm & 15, cr_opsize(c), true, c->dr[dr]);
}

/* MOV DRn, r (0F 23): in 64-bit mode DR6/DR7[63:32] must be 0 (#GP(0));
 * the fixed bits of DR6/DR7 read back as the SDM lists them. */
void op_mov_dr_r(struct cpu *c, const struct insn *in)
{
    unsigned dr = dr_access(c, in);
    uint64_t v = reg_read(c, in->rm & 15, cr_opsize(c), true);

    switch (dr) {
    case 6:
        if (v >> 32)
            cpu_fault_err(c, EXC_GP, 0);
        c->dr[6] = (v & DR6_WRITABLE) | DR6_FIXED1;
        break;
    case 7:
        if (v >> 32)
            cpu_fault_err(c, EXC_GP, 0);
        c->dr[7] = (v & DR7_WRITABLE) | DR7_FIXED1;
        break;
    default:
        c->dr[dr] = v;
        break;
    }
    cpu_debug_regs_changed(c);
    c->end_block = true;
}

/* CLTS (0F 06): SDM 2A "CLTS" */
void op_clts(struct cpu *c, const struct insn *in)
{
    require_cpl0(c);
    if (unlikely(c->vmx_nonroot)) {
        cr_intercept(c, in, 0, true, cr_qual(0, CRQ_CLTS, 0), c->cr0 & ~CR0_TS);
        /* SDM 3C "Changes to Instruction Behavior in VMX Non-Root
         * Operation": with TS owned by the host (and shadow TS = 0, or it
         * would have exited) CLTS leaves CR0.TS alone. */
        if (c->nr.cr0_mask & CR0_TS)
            return;
    }
    c->cr0 &= ~CR0_TS;
}

/* LMSW (0F 01 /6): SDM 2A "LMSW": loads PE, MP, EM and TS from the source;
 * it can set PE but never clear it. */
void op_lmsw(struct cpu *c, const struct insn *in)
{
    uint64_t keep = CR0_MP | CR0_EM | CR0_TS;

    require_cpl0(c);
    uint64_t src = opnd_read(c, in, 0, 2);
    uint64_t nv = (c->cr0 & ~keep) | (src & (keep | CR0_PE));
    if (unlikely(c->vmx_nonroot)) {
        /* SDM 3C "Exit Qualification for Control-Register Accesses": bit 6
         * says memory operand, whose linear address goes with the exit. */
        uint64_t qual = cr_qual(0, CRQ_LMSW, 0) | ((src & 0xffff) << 16);
        struct cpu_intercept q = {
            .reason = VMX_EXIT_cr_access, .insn_len = in->len, .cr = 0, .write = true,
            .value = nv,
        };
        if (in->mod != 3) {
            qual |= 1u << 6;
            q.has_linear = true;
            q.guest_linear = cpu_seg_linear(c, in->seg, insn_ea(c, in), 2, ACC_R);
        }
        q.qual = qual;
        cpu_intercept(c, &q);
        nv = keep_host_owned(c->cr0, nv, c->nr.cr0_mask);
    }
    c->cr0 = nv;
    cpu_update_mode(c);
    c->end_block = true;
}

/* SMSW (0F 01 /4): SDM 2B "SMSW". A memory destination takes 16 bits; a
 * register destination takes CR0 at the operand size (the SDM calls the
 * upper bits undefined; nvmx stores CR0's, as current processors do).
 * CR4.UMIP makes it #GP(0) at CPL > 0 (SDM 3A "User-Mode Instruction
 * Prevention"). */
void op_smsw(struct cpu *c, const struct insn *in)
{
    if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
        cpu_fault_err(c, EXC_GP, 0);
    if (in->mod != 3)
        cpu_write(c, in->seg, insn_ea(c, in), 2, cr0_guest_view(c) & 0xffff);
    else
        reg_write(c, in->rm & 15, in->opsize, true, cr0_guest_view(c));
}
