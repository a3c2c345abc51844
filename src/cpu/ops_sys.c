/* System instructions other than CR/DR moves and port I/O: descriptor-table
 * registers (LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR), CPUID, RDMSR/WRMSR,
 * RDTSC/RDTSCP, HLT, CLI/STI, CLAC/STAC, PUSHF/POPF, cache and fence no-ops,
 * SWAPGS, the FS/GS base instructions and the x87 escapes of a CPU without
 * an FPU. */
#include "opcodes_gen.h"
#include "seg.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

#define MSR_IA32_TSC 0x10u

static void require_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
}

/* SDM 3A "User-Mode Instruction Prevention": SGDT, SIDT, SLDT, SMSW and STR
 * at CPL > 0 with CR4.UMIP = 1 are #GP(0). */
static void umip_check(struct cpu *c)
{
    if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
        cpu_fault_err(c, EXC_GP, 0);
}

/* SDM 2A "LLDT", "LTR", "SLDT", "STR": not recognized in real-address mode. */
static void require_protected(struct cpu *c)
{
    if (c->mode == MODE_REAL || c->mode == MODE_V86)
        cpu_fault(c, EXC_UD);
}

/* The operand-size attribute outside 64-bit mode (16 or 32): 66 flips the
 * default of CS. */
static bool opsize16(const struct cpu *c, const struct insn *in)
{
    return (c->code_size == 2) != ((in->pfx & PFX_OPSIZE) != 0);
}

static uint64_t add_ea(const struct insn *in, uint64_t ea, uint64_t n)
{
    return (ea + n) & size_mask(in->addrsize);
}

/* ---- VMX non-root operation ------------------------------------------------ */

/* An instruction whose VM exit needs only its reason and length. */
static void intercept_simple(struct cpu *c, const struct insn *in, uint16_t reason)
{
    if (unlikely(c->vmx_nonroot)) {
        struct cpu_intercept q = { .reason = reason, .insn_len = in->len };
        cpu_intercept(c, &q);
    }
}

/* Descriptor-table exiting (SDM 3C "Format of the VM-Exit Instruction-
 * Information Field as Used for LIDT, LGDT, SIDT, or SGDT" and "... for
 * LLDT, LTR, SLDT, and STR"): the operand fields of cpu_insn_info(), the
 * instruction identity in bits 29:28, for the GDTR/IDTR forms the operand
 * size in bit 11 (1 = 32-bit); the exit qualification is the displacement. */
enum dt_identity { DT_SGDT = 0, DT_SIDT = 1, DT_LGDT = 2, DT_LIDT = 3 };
enum lt_identity { LT_SLDT = 0, LT_STR = 1, LT_LLDT = 2, LT_LTR = 3 };

static void intercept_dt(struct cpu *c, const struct insn *in, uint16_t reason,
                         unsigned identity)
{
    if (likely(!c->vmx_nonroot))
        return;
    uint32_t info = cpu_insn_info(in) | ((uint32_t)identity << 28);
    if (reason == VMX_EXIT_gdtr_idtr_access && (cpu_is_64(c) || !opsize16(c, in)))
        info |= 1u << 11;
    struct cpu_intercept q = {
        .reason = reason, .insn_len = in->len, .insn_info = info,
        .qual = cpu_insn_displacement(c, in),
    };
    cpu_intercept(c, &q);
}

/* PAUSE in non-root operation (called from op_pause): the hook applies
 * "PAUSE exiting" and "PAUSE-loop exiting", which needs the CPL. */
void cpu_pause_intercept(struct cpu *c, const struct insn *in)
{
    intercept_simple(c, in, VMX_EXIT_pause);
}

/* SDM 3C "Changes to Instruction Behavior in VMX Non-Root Operation": with
 * "use TSC offsetting" (and no exit) RDTSC, RDTSCP and RDMSR of IA32_TSC
 * return the TSC plus the TSC offset. */
static uint64_t guest_tsc(const struct cpu *c)
{
    uint64_t t = cpu_tsc(c);
    if (unlikely(c->vmx_nonroot) && c->nr.tsc_offsetting)
        t += c->nr.tsc_offset;
    return t;
}

/* ---- GDTR / IDTR --------------------------------------------------------- */

/* SDM 2A "LGDT/LIDT": 2-byte limit, then a 4-byte base (only 24 bits used
 * with a 16-bit operand size) or, in 64-bit mode, an 8-byte base that must
 * be canonical. */
static void load_dtr(struct cpu *c, const struct insn *in, struct dtr *d, unsigned identity)
{
    require_cpl0(c);
    intercept_dt(c, in, VMX_EXIT_gdtr_idtr_access, identity);
    uint64_t ea = insn_ea(c, in);
    uint32_t limit = (uint32_t)cpu_read(c, in->seg, ea, 2);
    uint64_t base;
    if (cpu_is_64(c)) {
        base = cpu_read(c, in->seg, add_ea(in, ea, 2), 8);
        if (!canonical(base))
            cpu_fault_err(c, EXC_GP, 0);
    } else {
        base = cpu_read(c, in->seg, add_ea(in, ea, 2), 4);
        if (opsize16(c, in))
            base &= 0xffffff;
    }
    d->base = base;
    d->limit = limit;
}

/* SDM 2B "SGDT", "SIDT": the full 32-bit base is stored whatever the
 * operand size; 64-bit mode stores 10 bytes. */
static void store_dtr(struct cpu *c, const struct insn *in, const struct dtr *d,
                      unsigned identity)
{
    umip_check(c);
    intercept_dt(c, in, VMX_EXIT_gdtr_idtr_access, identity);
    uint64_t ea = insn_ea(c, in);
    unsigned bsize = cpu_is_64(c) ? 8 : 4;
    cpu_probe_write(c, in->seg, ea, 2);
    cpu_probe_write(c, in->seg, add_ea(in, ea, 2), bsize);
    cpu_write(c, in->seg, ea, 2, d->limit & 0xffff);
    cpu_write(c, in->seg, add_ea(in, ea, 2), bsize, d->base & size_mask(bsize));
}

void op_lgdt(struct cpu *c, const struct insn *in) { load_dtr(c, in, &c->gdtr, DT_LGDT); }
void op_lidt(struct cpu *c, const struct insn *in) { load_dtr(c, in, &c->idtr, DT_LIDT); }
void op_sgdt(struct cpu *c, const struct insn *in) { store_dtr(c, in, &c->gdtr, DT_SGDT); }
void op_sidt(struct cpu *c, const struct insn *in) { store_dtr(c, in, &c->idtr, DT_SIDT); }

/* ---- LDTR / TR ------------------------------------------------------------- */

/* Checks shared by LLDT and LTR on a GDT system descriptor (SDM 2A "LLDT",
 * "LTR"): in IA-32e mode the descriptor is 16 bytes, the type field of its
 * upper half must be 0 and the base canonical (#GP(selector)). */
static void check_sys_desc_64(struct cpu *c, uint16_t sel, const uint64_t d[2])
{
    if (!cpu_long_active(c))
        return;
    struct seg_reg tmp;
    seg_from_descriptor(&tmp, sel, d[0], d[1]);
    if (((d[1] >> 40) & 0x1f) != 0 || !canonical(tmp.base))
        cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
}

/* LLDT (0F 00 /2). A null selector makes LDTR unusable. */
void op_lldt(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    require_cpl0(c);
    intercept_dt(c, in, VMX_EXIT_ldtr_tr_access, LT_LLDT);
    uint16_t sel = (uint16_t)opnd_read(c, in, 0, 2);
    if (SEL_NULL(sel)) {
        memset(&c->ldtr, 0, sizeof c->ldtr);
        c->ldtr.sel = sel;
        c->ldtr.ar = AR_UNUSABLE;
        return;
    }
    if (sel & SEL_TI)
        cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
    uint64_t d[2];
    seg_read_descriptor(c, sel, d, EXC_GP);
    if (DESC_S(d[0]) || DESC_TYPE(d[0]) != SYS_LDT)
        cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
    if (!DESC_P(d[0]))
        cpu_fault_err(c, EXC_NP, sel & 0xfffcu);
    check_sys_desc_64(c, sel, d);
    seg_from_descriptor(&c->ldtr, sel, d[0], d[1]);
}

/* LTR (0F 00 /3): the selector must name an available TSS in the GDT (only
 * the 64-bit TSS in IA-32e mode); LTR marks it busy in memory. */
void op_ltr(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    require_cpl0(c);
    intercept_dt(c, in, VMX_EXIT_ldtr_tr_access, LT_LTR);
    uint16_t sel = (uint16_t)opnd_read(c, in, 0, 2);
    if (SEL_NULL(sel))
        cpu_fault_err(c, EXC_GP, 0);
    if (sel & SEL_TI)
        cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
    uint64_t d[2];
    seg_read_descriptor(c, sel, d, EXC_GP);
    unsigned type = DESC_TYPE(d[0]);
    bool avail = type == SYS_TSS_AVAIL || (type == SYS_TSS16_AVAIL && !cpu_long_active(c));
    if (DESC_S(d[0]) || !avail)
        cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
    if (!DESC_P(d[0]))
        cpu_fault_err(c, EXC_NP, sel & 0xfffcu);
    check_sys_desc_64(c, sel, d);

    uint64_t busy = d[0] | (2ull << 40); /* type 1 -> 3, 9 -> 11 */
    uint64_t addr = c->gdtr.base + SEL_IDX(sel) + 5;
    if (!cpu_long_active(c))
        addr &= 0xffffffffull;
    cpu_write_lin(c, addr, 1, (busy >> 40) & 0xff, ACC_SYS);
    seg_from_descriptor(&c->tr, sel, busy, d[1]);
}

/* SLDT/STR: a register destination gets the selector zero-extended to the
 * operand size (16-bit: the low word only); memory takes 16 bits. */
static void store_selector(struct cpu *c, const struct insn *in, uint16_t sel,
                           unsigned identity)
{
    require_protected(c);
    umip_check(c);
    intercept_dt(c, in, VMX_EXIT_ldtr_tr_access, identity);
    if (in->mod != 3)
        cpu_write(c, in->seg, insn_ea(c, in), 2, sel);
    else
        reg_write(c, in->rm & 15, in->opsize, true, sel);
}

void op_sldt(struct cpu *c, const struct insn *in)
{
    store_selector(c, in, c->ldtr.sel, LT_SLDT);
}

void op_str(struct cpu *c, const struct insn *in) { store_selector(c, in, c->tr.sel, LT_STR); }

/* ---- CPUID, MSRs, time stamp ------------------------------------------------ */

void op_cpuid(struct cpu *c, const struct insn *in)
{
    uint32_t out[4];

    /* SDM 3C "Instructions That Cause VM Exits Unconditionally" */
    intercept_simple(c, in, VMX_EXIT_cpuid);
    cpu_cpuid(c, (uint32_t)c->gpr[0], (uint32_t)c->gpr[1], out);
    c->gpr[0] = out[CPUID_EAX];
    c->gpr[3] = out[CPUID_EBX];
    c->gpr[1] = out[CPUID_ECX];
    c->gpr[2] = out[CPUID_EDX];
}

/* SDM 2B "RDMSR", "WRMSR": CPL > 0 or an unknown/reserved MSR -> #GP(0). */
static void intercept_msr(struct cpu *c, const struct insn *in, bool write)
{
    if (likely(!c->vmx_nonroot))
        return;
    struct cpu_intercept q = {
        .reason = write ? VMX_EXIT_wrmsr : VMX_EXIT_rdmsr, .insn_len = in->len,
        .msr = (uint32_t)c->gpr[1], .write = write,
    };
    cpu_intercept(c, &q);
}

void op_rdmsr(struct cpu *c, const struct insn *in)
{
    uint64_t v;
    uint32_t msr = (uint32_t)c->gpr[1];

    require_cpl0(c);
    intercept_msr(c, in, false);
    if (!cpu_rdmsr(c, msr, &v))
        cpu_fault_err(c, EXC_GP, 0);
    if (msr == MSR_IA32_TSC)
        v = guest_tsc(c);
    c->gpr[0] = (uint32_t)v;
    c->gpr[2] = v >> 32;
}

void op_wrmsr(struct cpu *c, const struct insn *in)
{
    uint64_t v = ((c->gpr[2] & 0xffffffffull) << 32) | (c->gpr[0] & 0xffffffffull);

    require_cpl0(c);
    intercept_msr(c, in, true);
    if (!cpu_wrmsr(c, (uint32_t)c->gpr[1], v))
        cpu_fault_err(c, EXC_GP, 0);
}

/* SDM 2B "RDTSC": CR4.TSD = 1 restricts it to CPL 0; that #GP has priority
 * over the RDTSC-exiting VM exit. */
static uint64_t read_tsc(struct cpu *c, const struct insn *in, uint16_t reason)
{
    if ((c->cr4 & CR4_TSD) && c->cpl > 0)
        cpu_fault_err(c, EXC_GP, 0);
    intercept_simple(c, in, reason);
    return guest_tsc(c);
}

void op_rdtsc(struct cpu *c, const struct insn *in)
{
    uint64_t t = read_tsc(c, in, VMX_EXIT_rdtsc);

    c->gpr[0] = (uint32_t)t;
    c->gpr[2] = t >> 32;
}

/* SDM 2B "RDTSCP": #UD unless CPUID.80000001H:EDX.RDTSCP[27]; ECX gets
 * IA32_TSC_AUX[31:0]. In non-root operation the hook also raises #UD when
 * "enable RDTSCP" is 0 (SDM 3C "Changes to Instruction Behavior in VMX
 * Non-Root Operation"). */
void op_rdtscp(struct cpu *c, const struct insn *in)
{
    if (!cpu_cpuid_feature(c, 0x80000001, CPUID_EDX, 27))
        cpu_fault(c, EXC_UD);
    uint64_t t = read_tsc(c, in, VMX_EXIT_rdtscp);
    c->gpr[0] = (uint32_t)t;
    c->gpr[2] = t >> 32;
    c->gpr[1] = (uint32_t)c->tsc_aux;
}

/* SDM 2B "RDPMC": #GP(0) at CPL > 0 unless CR4.PCE = 1, and for an ECX that
 * names no counter. The CPU models advertise no performance counters
 * (no CPUID leaf 0AH), so after the RDPMC-exiting check every ECX does. */
void op_rdpmc(struct cpu *c, const struct insn *in);
void op_rdpmc(struct cpu *c, const struct insn *in)
{
    if (c->cpl > 0 && !(c->cr4 & CR4_PCE))
        cpu_fault_err(c, EXC_GP, 0);
    intercept_simple(c, in, VMX_EXIT_rdpmc);
    cpu_fault_err(c, EXC_GP, 0);
}

/* ---- HLT, IF, flags image -------------------------------------------------- */

void op_hlt(struct cpu *c, const struct insn *in)
{
    require_cpl0(c);
    intercept_simple(c, in, VMX_EXIT_hlt);
    c->halted = true;
    c->end_block = true;
}

static unsigned iopl(const struct cpu *c)
{
    return (unsigned)((c->rflags & FL_IOPL) >> FL_IOPL_SHIFT);
}

/* SDM 2A "CLI", 2B "STI": in protected mode IF may change only when
 * CPL <= IOPL; CR4.PVI (virtual interrupts) is not supported, so the
 * alternative is #GP(0). */
static void if_check(struct cpu *c)
{
    if (c->mode != MODE_REAL && c->cpl > iopl(c))
        cpu_fault_err(c, EXC_GP, 0);
}

void op_cli(struct cpu *c, const struct insn *in)
{
    (void)in;
    if_check(c);
    c->rflags &= ~FL_IF;
    c->end_block = true;
}

/* STI blocks interrupts for one instruction only when it sets IF (SDM 2B
 * "STI": "... if IF was 0 ..."). */
void op_sti(struct cpu *c, const struct insn *in)
{
    (void)in;
    if_check(c);
    if (!(c->rflags & FL_IF))
        c->intr_shadow = 1;
    c->rflags |= FL_IF;
    c->end_block = true;
}

/* SDM 2A "CLAC", 2B "STAC": #UD when CPUID.(EAX=07H,ECX=0):EBX.SMAP[20]
 * = 0, at CPL > 0 (protected, compatibility and 64-bit mode; real-address
 * mode runs at CPL 0) and in virtual-8086 mode; LOCK is #UD in the decoder.
 * They change RFLAGS.AC only and cause no VM exit. */
static void smap_insn_check(struct cpu *c)
{
    if (!cpu_cpuid_feature(c, 7, CPUID_EBX, 20) || c->mode == MODE_V86)
        cpu_fault(c, EXC_UD);
    if (c->mode != MODE_REAL && c->cpl > 0)
        cpu_fault(c, EXC_UD);
}

void op_clac(struct cpu *c, const struct insn *in)
{
    (void)in;
    smap_insn_check(c);
    c->rflags &= ~FL_AC;
}

void op_stac(struct cpu *c, const struct insn *in)
{
    (void)in;
    smap_insn_check(c);
    c->rflags |= FL_AC;
}

/* SDM 2B "PUSHF": the image has VM and RF cleared. */
void op_pushf(struct cpu *c, const struct insn *in)
{
    uint64_t v = cpu_get_rflags(c) & ~(FL_VM | FL_RF);

    cpu_push(c, in->opsize, v & size_mask(in->opsize));
}

/* SDM 2B "POPF" (outside virtual-8086 mode): RF, VM, VIF, VIP and the
 * reserved bits are never loaded (RF is cleared by 32/64-bit forms; a 16-bit
 * POPF touches bits 15:0 only); IOPL only at CPL 0; IF only when
 * CPL <= IOPL. */
void op_popf(struct cpu *c, const struct insn *in)
{
    unsigned size = in->opsize;
    uint64_t old = cpu_get_rflags(c);
    uint64_t mask = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID;

    uint64_t v = cpu_pop(c, size);
    if (c->mode != MODE_REAL) {
        if (c->cpl > 0)
            mask &= ~FL_IOPL;
        if (c->cpl > iopl(c))
            mask &= ~FL_IF;
    }
    if (size == 2)
        mask &= 0xffff;
    uint64_t nv = (old & ~mask) | (v & mask);
    if (size != 2)
        nv &= ~FL_RF;
    cpu_set_rflags(c, nv | FL_FIXED1);
    c->end_block = true;
}

/* ---- caches, fences, segment bases ------------------------------------------ */

/* SDM 2A "INVD", 2B "WBINVD": privileged; nvmx has no cache contents. */
void op_invd(struct cpu *c, const struct insn *in)
{
    require_cpl0(c);
    intercept_simple(c, in, VMX_EXIT_invd); /* always exits */
}

void op_wbinvd(struct cpu *c, const struct insn *in)
{
    require_cpl0(c);
    intercept_simple(c, in, VMX_EXIT_wbinvd);
}

/* SDM 2A "CLFLUSH": checked like a byte read (segmentation, paging), no
 * architectural effect otherwise. */
void op_clflush(struct cpu *c, const struct insn *in)
{
    (void)cpu_read(c, in->seg, insn_ea(c, in), 1);
}

/* Fences order memory accesses; the interpreter performs them in program
 * order, so they are no-ops. They execute even though CPUID does not
 * advertise SSE/SSE2 (docs/system-instructions.md). */
void op_lfence(struct cpu *c, const struct insn *in) { (void)c; (void)in; }
void op_mfence(struct cpu *c, const struct insn *in) { (void)c; (void)in; }
void op_sfence(struct cpu *c, const struct insn *in) { (void)c; (void)in; }

/* SDM 2B "SWAPGS": 64-bit mode only (#UD), CPL 0 (#GP(0)). */
void op_swapgs(struct cpu *c, const struct insn *in)
{
    (void)in;
    if (!cpu_is_64(c))
        cpu_fault(c, EXC_UD);
    require_cpl0(c);
    uint64_t t = c->seg[SEG_GS].base;
    c->seg[SEG_GS].base = c->kernel_gs_base;
    c->kernel_gs_base = t;
}

/* SDM 2B "RDFSBASE/RDGSBASE", "WRFSBASE/WRGSBASE": #UD outside 64-bit mode
 * or with CR4.FSGSBASE = 0; a 32-bit operand reads/writes the low half
 * (zero-extended); a 64-bit write must be canonical. */
static void fsgsbase_check(struct cpu *c)
{
    if (!cpu_is_64(c) || !(c->cr4 & CR4_FSGSBASE))
        cpu_fault(c, EXC_UD);
}

static void rd_base(struct cpu *c, const struct insn *in, int seg)
{
    fsgsbase_check(c);
    reg_write(c, in->rm & 15, in->opsize == 8 ? 8 : 4, true, c->seg[seg].base);
}

static void wr_base(struct cpu *c, const struct insn *in, int seg)
{
    fsgsbase_check(c);
    uint64_t v = reg_read(c, in->rm & 15, in->opsize == 8 ? 8 : 4, true);
    if (!canonical(v))
        cpu_fault_err(c, EXC_GP, 0);
    c->seg[seg].base = v;
}

void op_rdfsbase(struct cpu *c, const struct insn *in) { rd_base(c, in, SEG_FS); }
void op_rdgsbase(struct cpu *c, const struct insn *in) { rd_base(c, in, SEG_GS); }
void op_wrfsbase(struct cpu *c, const struct insn *in) { wr_base(c, in, SEG_FS); }
void op_wrgsbase(struct cpu *c, const struct insn *in) { wr_base(c, in, SEG_GS); }
