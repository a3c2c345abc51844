/* The x87/SSE state as a whole: power-up values, the FXSAVE/FXRSTOR image
 * (SDM 2A "FXSAVE", Tables "Non-64-Bit-Mode Layout of FXSAVE and FXRSTOR
 * Memory Region" and "Layout of the 64-Bit Mode FXSAVE64 Map"), and
 * LDMXCSR/STMXCSR. */
#include "cpu/fxsave.h"
#include "cpu/sse_fp.h"
#include "opcodes_gen.h"

void cpu_fpu_reset(struct cpu *c)
{
    struct cpu_fpu *f = &c->fpu;
    memset(f, 0, sizeof *f);
    /* SDM 3A Table "IA-32 and Intel 64 Processor States Following Power-up,
     * Reset, or INIT": FCW 0040H, FSW 0, FTW 5555H (every register tagged
     * zero, holding +0.0), FIP/FDP/FOP 0, MXCSR 1F80H, XMM registers 0. */
    f->fcw = 0x0040;
    f->ftw = 0x5555;
    f->mxcsr = MXCSR_DEFAULT;
    if (c->model) {
        if (cpu_cpuid_feature(c, 1, CPUID_EDX, 0))
            f->features |= FPU_F_FPU;
        if (cpu_cpuid_feature(c, 1, CPUID_EDX, 24))
            f->features |= FPU_F_FXSR;
        if (cpu_cpuid_feature(c, 1, CPUID_EDX, 25))
            f->features |= FPU_F_SSE;
        if (cpu_cpuid_feature(c, 1, CPUID_EDX, 26))
            f->features |= FPU_F_SSE2;
        if (cpu_cpuid_feature(c, 1, CPUID_ECX, 0))
            f->features |= FPU_F_SSE3;
        cpu_simd_features(c);
    }
}

/* SDM 1 "x87 FPU Tag Word": the tag a register's contents give it
 * (00 valid, 01 zero, 10 special: NaN, infinity, denormal, unsupported). */
static unsigned x87_tag_of(const struct x87_reg *r)
{
    unsigned exp = r->sexp & 0x7fff;
    if (exp == 0)
        return r->signif == 0 ? 1 : 2;
    if (exp == 0x7fff || !(r->signif >> 63))
        return 2;
    return 0;
}

/* SDM 2A "FXSAVE" -- Exceptions: CR0.TS or CR0.EM -> #NM; FXSR not
 * enumerated -> #UD; a misaligned area -> #GP(0) whatever the segment. */
static uint64_t fxsave_area(struct cpu *c, const struct insn *in)
{
    if (!(c->fpu.features & FPU_F_FXSR))
        cpu_fault(c, EXC_UD);
    if (c->cr0 & (CR0_TS | CR0_EM))
        cpu_fault(c, EXC_NM);
    uint64_t ea = insn_ea(c, in);
    sse_check_align16(c, in, ea);
    return ea;
}

/* Registers saved: XMM0-15 in 64-bit mode, XMM0-7 outside it. MXCSR and
 * the XMM registers are saved whatever CR4.OSFXSR says (the SDM leaves it
 * implementation-dependent; nvmx always saves them). Reserved bytes of the
 * image (5, the padding of ST0-ST7, 288 onwards) are left unchanged, except
 * that the 16-bit FCS/FDS fields of the 32-bit layout are stored as 32-bit
 * values with zero upper halves. */
void fx_store_x87(struct cpu *c, const struct fx_area *a)
{
    const struct cpu_fpu *f = &c->fpu;
    uint64_t ea = a->ea, m = a->mask;
    unsigned top = (f->fsw >> 11) & 7;
    uint8_t abridged = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((f->ftw >> (2 * i)) & 3) != 3)
            abridged |= (uint8_t)(1u << i);
    cpu_write(c, a->seg, ea, 2, f->fcw);
    cpu_write(c, a->seg, (ea + 2) & m, 2, f->fsw);
    cpu_write(c, a->seg, (ea + 4) & m, 2, abridged);
    cpu_write(c, a->seg, (ea + 6) & m, 2, f->fop & 0x7ff);
    if (a->wide) {
        cpu_write(c, a->seg, (ea + 8) & m, 8, f->fip);
        cpu_write(c, a->seg, (ea + 16) & m, 8, f->fdp);
    } else {
        cpu_write(c, a->seg, (ea + 8) & m, 4, (uint32_t)f->fip);
        cpu_write(c, a->seg, (ea + 12) & m, 4, f->fcs);
        cpu_write(c, a->seg, (ea + 16) & m, 4, (uint32_t)f->fdp);
        cpu_write(c, a->seg, (ea + 20) & m, 4, f->fds);
    }
    for (unsigned i = 0; i < 8; i++) {
        const struct x87_reg *r = &f->st[(top + i) & 7];
        cpu_write(c, a->seg, (ea + 32 + 16 * i) & m, 8, r->signif);
        cpu_write(c, a->seg, (ea + 40 + 16 * i) & m, 2, r->sexp);
    }
}

void fx_store_mxcsr(struct cpu *c, const struct fx_area *a)
{
    cpu_write(c, a->seg, (a->ea + 24) & a->mask, 4, c->fpu.mxcsr);
    cpu_write(c, a->seg, (a->ea + 28) & a->mask, 4, MXCSR_MASK_VALUE);
}

void fx_store_xmm(struct cpu *c, const struct fx_area *a)
{
    for (unsigned i = 0; i < fx_nxmm(c); i++) {
        cpu_write(c, a->seg, (a->ea + 160 + 16 * i) & a->mask, 8, c->fpu.xmm[i].q[0]);
        cpu_write(c, a->seg, (a->ea + 168 + 16 * i) & a->mask, 8, c->fpu.xmm[i].q[1]);
    }
}

void op_fxsave(struct cpu *c, const struct insn *in)
{
    uint64_t ea = fxsave_area(c, in);
    struct fx_area a = fx_area_of(c, in, ea);

    /* No half-written image: the first and the last byte are checked first
     * (a 16-byte-aligned 512-byte area crosses at most one page boundary). */
    cpu_probe_write(c, in->seg, ea, 8);
    cpu_probe_write(c, in->seg, (ea + 160 + 16 * fx_nxmm(c) - 8) & a.mask, 8);
    fx_store_x87(c, &a);
    fx_store_mxcsr(c, &a);
    fx_store_xmm(c, &a);
}

/* The x87 part of an image; the full tag word is rebuilt from the abridged
 * one and the registers' contents (SDM 1 "x87 FPU Tag Word"). */
void fx_load_x87(struct cpu *c, const struct fx_area *a, struct cpu_fpu *n)
{
    uint64_t ea = a->ea, m = a->mask;
    n->fcw = (uint16_t)cpu_read(c, a->seg, ea, 2);
    n->fsw = (uint16_t)cpu_read(c, a->seg, (ea + 2) & m, 2);
    unsigned abridged = (unsigned)cpu_read(c, a->seg, (ea + 4) & m, 1);
    n->fop = (uint16_t)(cpu_read(c, a->seg, (ea + 6) & m, 2) & 0x7ff);
    if (a->wide) {
        n->fip = cpu_read(c, a->seg, (ea + 8) & m, 8);
        n->fdp = cpu_read(c, a->seg, (ea + 16) & m, 8);
    } else {
        n->fip = cpu_read(c, a->seg, (ea + 8) & m, 4);
        n->fcs = (uint16_t)cpu_read(c, a->seg, (ea + 12) & m, 2);
        n->fdp = cpu_read(c, a->seg, (ea + 16) & m, 4);
        n->fds = (uint16_t)cpu_read(c, a->seg, (ea + 20) & m, 2);
    }
    unsigned top = (n->fsw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        struct x87_reg *r = &n->st[(top + i) & 7];
        r->signif = cpu_read(c, a->seg, (ea + 32 + 16 * i) & m, 8);
        r->sexp = (uint16_t)cpu_read(c, a->seg, (ea + 40 + 16 * i) & m, 2);
    }
    n->ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned tag = (abridged >> p) & 1 ? x87_tag_of(&n->st[p]) : 3;
        n->ftw |= (uint16_t)(tag << (2 * p));
    }
}

uint32_t fx_load_mxcsr(struct cpu *c, const struct fx_area *a)
{
    return (uint32_t)cpu_read(c, a->seg, (a->ea + 24) & a->mask, 4);
}

void fx_load_xmm(struct cpu *c, const struct fx_area *a, struct cpu_fpu *n)
{
    for (unsigned i = 0; i < fx_nxmm(c); i++) {
        n->xmm[i].q[0] = cpu_read(c, a->seg, (a->ea + 160 + 16 * i) & a->mask, 8);
        n->xmm[i].q[1] = cpu_read(c, a->seg, (a->ea + 168 + 16 * i) & a->mask, 8);
    }
}

/* SDM 2A "FXRSTOR": the whole image is read, and MXCSR checked against
 * MXCSR_MASK (#GP(0) for a reserved bit), before any register changes. */
void op_fxrstor(struct cpu *c, const struct insn *in)
{
    uint64_t ea = fxsave_area(c, in);
    struct fx_area a = fx_area_of(c, in, ea);
    struct cpu_fpu n = c->fpu;

    fx_load_x87(c, &a, &n);
    n.mxcsr = fx_load_mxcsr(c, &a);
    fx_load_xmm(c, &a, &n);
    if (n.mxcsr & ~MXCSR_MASK_VALUE)
        cpu_fault_err(c, EXC_GP, 0);
    c->fpu = n;
}

/* SDM 2A "LDMXCSR": #GP(0) for a reserved bit (31:16); an unmasked
 * exception flag set here raises nothing until the next SSE arithmetic
 * instruction. SDM 2B "STMXCSR". Both are SSE-class instructions. */
void op_ldmxcsr(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    uint32_t v = (uint32_t)cpu_read(c, in->seg, insn_ea(c, in), 4);
    if (v & ~MXCSR_MASK_VALUE)
        cpu_fault_err(c, EXC_GP, 0);
    c->fpu.mxcsr = v;
}

void op_stmxcsr(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    cpu_write(c, in->seg, insn_ea(c, in), 4, c->fpu.mxcsr);
}
