/* The XSAVE feature set for the x87 and SSE state components (SDM 1
 * "Managing State Using the XSAVE Feature Set"; SDM 2C "XSAVE", "XRSTOR",
 * "XSAVEOPT", "XSAVEC", "XSAVES", "XRSTORS"): the XSAVE area's legacy
 * region (fxsave.c writes it) and header, XINUSE, the standard and
 * compacted forms. XCR0/XGETBV/XSETBV, IA32_XSS and leaf 0DH are in
 * xsave_xcr.c. */
#include "cpu/fxsave.h"
#include "cpu/xsave.h"
#include "opcodes_gen.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

/* SDM 1 "XSAVE Header": XSTATE_BV at byte 512, XCOMP_BV at 520, then
 * reserved bytes up to 575. */
#define XSAVE_HDR 512u
#define XCOMP_BV_COMPACTED (1ull << 63)

/* SDM 1 "Processor Tracking of XSAVE-Managed State": the initial
 * configuration of the x87 state is FCW 037FH, FSW 0, FTW FFFFH (every
 * register empty), FOP, FIP, FDP, FCS, FDS 0 and ST0-ST7 0; of the SSE
 * state XMM0-15 0. */
static void x87_init(struct cpu_fpu *f)
{
    f->fcw = 0x037f;
    f->fsw = 0;
    f->ftw = 0xffff;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
    memset(f->st, 0, sizeof f->st);
}

static bool x87_in_init(const struct cpu_fpu *f)
{
    if (f->fcw != 0x037f || f->fsw || f->ftw != 0xffff || f->fop || f->fip || f->fdp ||
        f->fcs || f->fds)
        return false;
    for (unsigned i = 0; i < 8; i++)
        if (f->st[i].signif || f->st[i].sexp)
            return false;
    return true;
}

/* XINUSE (SDM 1 "Processor Tracking of XSAVE-Managed State"): XINUSE[i] =
 * 0 only while component i is in its initial configuration. nvmx computes
 * it from the registers (so an instruction that leaves a component in its
 * initial configuration clears the bit, which the SDM allows: XINUSE[i] =
 * 1 only says "may not be"), ORed with the components the last XRSTOR or
 * XRSTORS loaded from memory, which the SDM says are tracked as in use
 * whatever was loaded (SDM 1 "XRSTOR and the Init and Modified
 * Optimizations"). The SSE component counts MXCSR != 1F80H as in use, so
 * XSAVEC and XSAVES save SSE state whenever MXCSR differs from 1F80H, as
 * the SDM requires of them (SDM 1 "Operation of XSAVEC"), and
 * XSTATE_BV[1] says so. All sixteen XMM registers count, in every mode. */
uint64_t cpu_xinuse(const struct cpu *c)
{
    const struct cpu_fpu *f = &c->fpu;
    uint64_t in_use = f->xinuse_loaded;
    if (!x87_in_init(f))
        in_use |= XFEATURE_X87;
    if (f->mxcsr != MXCSR_DEFAULT)
        return in_use | XFEATURE_SSE;
    for (unsigned i = 0; i < 16; i++)
        if (f->xmm[i].q[0] | f->xmm[i].q[1])
            return in_use | XFEATURE_SSE;
    return in_use;
}

static uint64_t edx_eax(const struct cpu *c)
{
    return ((c->gpr[2] & 0xffffffffull) << 32) | (c->gpr[0] & 0xffffffffull);
}

/* The forms of the family, for the checks they share. */
enum xs_form { XS_XSAVE, XS_XSAVEOPT, XS_XSAVEC, XS_XSAVES, XS_XRSTOR, XS_XRSTORS };

/* CPUID.(EAX=0DH,ECX=1):EAX bit each form needs (-1: CPUID.01H:ECX.XSAVE
 * alone). */
static int form_feature(enum xs_form f)
{
    switch (f) {
    case XS_XSAVEOPT: return XSAVE_FEAT_XSAVEOPT;
    case XS_XSAVEC: return XSAVE_FEAT_XSAVEC;
    case XS_XSAVES:
    case XS_XRSTORS: return XSAVE_FEAT_XSAVES;
    default: return -1;
    }
}

/* The checks before any access, in the SDM's priority (SDM 2C, each
 * form's "Protected Mode Exceptions"; SDM 3A "Priority Among Concurrent
 * Events": #UD and #NM are faults from decoding the instruction, #GP from
 * executing it; SDM 3C "Relative Priority of Faults and VM Exits"): #UD
 * without the CPUID feature or with CR4.OSXSAVE = 0 (LOCK is #UD in the
 * decoder), and for XSAVES/XRSTORS in VMX non-root operation when "enable
 * XSAVES/XRSTORS" is 0 (SDM 3C "Changes to Instruction Behavior in VMX
 * Non-Root Operation"); #NM with CR0.TS = 1; for XSAVES/XRSTORS #GP(0) at
 * CPL > 0, then the VM exit the XSS-exiting bitmap asks for; #GP(0) for an
 * area not 64-byte aligned (on the linear address, whatever the segment).
 * Returns the area's offset. */
static uint64_t xsave_checks(struct cpu *c, const struct insn *in, enum xs_form f)
{
    int feat = form_feature(f);
    bool supervisor = f == XS_XSAVES || f == XS_XRSTORS;
    uint16_t reason = f == XS_XSAVES ? VMX_EXIT_xsaves : VMX_EXIT_xrstors;
    if (!cpu_cpuid_feature(c, 1, CPUID_ECX, 26) || !(c->cr4 & CR4_OSXSAVE) ||
        (feat >= 0 && !cpu_xsave_feature(c, (unsigned)feat)))
        cpu_fault(c, EXC_UD);
    if (supervisor) {
        struct cpu_intercept ud = { .reason = reason, .ud_check = true };
        cpu_intercept(c, &ud);
    }
    if (c->cr0 & CR0_TS)
        cpu_fault(c, EXC_NM);
    if (supervisor) {
        if (c->cpl != 0)
            cpu_fault_err(c, EXC_GP, 0);
        /* SDM 3C "Instructions That Cause VM Exits Conditionally":
         * XSAVES and XRSTORS exit when any bit of EDX:EAX AND IA32_XSS
         * AND the XSS-exiting bitmap is 1 (exit_rules.c). */
        struct cpu_intercept q = {
            .reason = reason, .insn_len = in->len, .insn_info = cpu_insn_info(in),
            .qual = cpu_insn_displacement(c, in), .value = edx_eax(c) & c->xss,
        };
        cpu_intercept(c, &q);
    }
    uint64_t ea = insn_ea(c, in);
    if ((c->seg[in->seg].base + ea) & 63)
        cpu_fault_err(c, EXC_GP, 0);
    return ea;
}

/* ---- saving ------------------------------------------------------------------ */

/* SDM 1 "Operation of XSAVE", "... of XSAVEOPT", "... of XSAVEC", "... of
 * XSAVES". The standard forms (XSAVE, XSAVEOPT) write XSTATE_BV[i] =
 * XINUSE[i] for each i of RFBM and leave its other bits and XCOMP_BV
 * alone; MXCSR and MXCSR_MASK are saved when RFBM[1] or RFBM[2] is 1. The
 * compacted forms (XSAVEC, XSAVES) save what RFBM and XINUSE both have,
 * MXCSR with the SSE component, and write XSTATE_BV = RFBM AND XINUSE and
 * XCOMP_BV = RFBM with bit 63 set. XSAVEOPT and the compacted forms use
 * the init optimization (a component in its initial configuration is not
 * written); nvmx does not use the modified optimization (XSAVEOPT and
 * XSAVES write every component in use), which the SDM allows: it says
 * when the processor "may" skip a component, never that it must. Nothing
 * is written unless the whole area is writable: the first and last bytes
 * are probed first (a 64-byte-aligned area of 576 bytes crosses at most
 * one page boundary). Bytes 463:416 (reserved) and 511:464 (software's)
 * are never written. */
static void xsave_common(struct cpu *c, const struct insn *in, enum xs_form f)
{
    uint64_t enabled = f == XS_XSAVES ? (c->xcr0 | c->xss) : c->xcr0;
    uint64_t rfbm = edx_eax(c) & enabled;
    uint64_t ea = xsave_checks(c, in, f);
    struct fx_area a = fx_area_of(c, in, ea);
    bool compacted = f == XS_XSAVEC || f == XS_XSAVES;
    uint64_t xinuse = cpu_xinuse(c);
    uint64_t save = (f == XS_XSAVE) ? rfbm : rfbm & xinuse;

    cpu_probe_write(c, in->seg, ea, 8);
    cpu_probe_write(c, in->seg, (ea + XSAVE_HDR + (compacted ? 8 : 0)) & a.mask, 8);
    uint64_t xstate_bv = 0;
    if (!compacted)
        xstate_bv = cpu_read(c, in->seg, (ea + XSAVE_HDR) & a.mask, 8);

    if (save & XFEATURE_X87)
        fx_store_x87(c, &a);
    if (compacted ? (save & XFEATURE_SSE) : (rfbm & (XFEATURE_SSE | XFEATURE_AVX)))
        fx_store_mxcsr(c, &a);
    if (save & XFEATURE_SSE)
        fx_store_xmm(c, &a);

    if (compacted) {
        cpu_write(c, in->seg, (ea + XSAVE_HDR) & a.mask, 8, rfbm & xinuse);
        cpu_write(c, in->seg, (ea + XSAVE_HDR + 8) & a.mask, 8, rfbm | XCOMP_BV_COMPACTED);
    } else {
        xstate_bv = (xstate_bv & ~rfbm) | (xinuse & rfbm);
        cpu_write(c, in->seg, (ea + XSAVE_HDR) & a.mask, 8, xstate_bv);
    }
}

void op_xsave(struct cpu *c, const struct insn *in)
{
    xsave_common(c, in, XS_XSAVE);
}

void op_xsaveopt(struct cpu *c, const struct insn *in)
{
    xsave_common(c, in, XS_XSAVEOPT);
}

void op_xsavec(struct cpu *c, const struct insn *in)
{
    xsave_common(c, in, XS_XSAVEC);
}

void op_xsaves(struct cpu *c, const struct insn *in)
{
    xsave_common(c, in, XS_XSAVES);
}

/* ---- restoring --------------------------------------------------------------- */

/* SDM 1 "Operation of XRSTOR" ("Standard Form of XRSTOR", "Compacted Form
 * of XRSTOR") and "Operation of XRSTORS". The form is XCOMP_BV[63]
 * (XRSTORS: compacted only). #GP(0), with nothing loaded:
 *  - standard: XSTATE_BV sets a bit not set in XCR0; bytes 23:8 of the
 *    header (XCOMP_BV and the next 8 bytes) are not all 0;
 *  - compacted: the processor has no compaction (CPUID.(EAX=0DH,ECX=1):
 *    EAX[1] = 0: then it is a standard header with bytes 23:8 non-zero);
 *    XCOMP_BV[62:0] sets a bit not set in XCR0 (XRSTORS: XCR0 | IA32_XSS);
 *    XSTATE_BV sets a bit not set in XCOMP_BV[62:0]; bytes 63:16 of the
 *    header are not all 0;
 *  - XRSTORS with XCOMP_BV[63] = 0;
 *  - MXCSR would be loaded with a reserved bit set.
 * For each i of RFBM, component i is loaded when XSTATE_BV[i] = 1 and set
 * to its initial configuration otherwise. MXCSR: the standard form loads
 * it when RFBM[1] or RFBM[2] is 1, whatever XSTATE_BV says; the compacted
 * form loads it with the SSE component and sets it to 1F80H when that is
 * initialized. Outside 64-bit mode XMM8-15 are neither loaded nor
 * initialized (SDM 1 "SSE State"). The area is read completely before any
 * register changes, so a fault leaves the state as it was. */
static void xrstor_common(struct cpu *c, const struct insn *in, enum xs_form f)
{
    uint64_t enabled = f == XS_XRSTORS ? (c->xcr0 | c->xss) : c->xcr0;
    uint64_t rfbm = edx_eax(c) & enabled;
    uint64_t ea = xsave_checks(c, in, f);
    struct fx_area a = fx_area_of(c, in, ea);
    uint64_t hdr[8];
    for (unsigned i = 0; i < 8; i++)
        hdr[i] = cpu_read(c, in->seg, (ea + XSAVE_HDR + 8 * i) & a.mask, 8);
    uint64_t xstate_bv = hdr[0], xcomp_bv = hdr[1];
    bool compacted = (xcomp_bv & XCOMP_BV_COMPACTED) != 0;

    if (f == XS_XRSTORS && !compacted)
        cpu_fault_err(c, EXC_GP, 0);
    if (compacted) {
        if (!cpu_xsave_feature(c, XSAVE_FEAT_XSAVEC))
            cpu_fault_err(c, EXC_GP, 0);
        if (xcomp_bv & ~XCOMP_BV_COMPACTED & ~enabled)
            cpu_fault_err(c, EXC_GP, 0);
        if (xstate_bv & ~(xcomp_bv & ~XCOMP_BV_COMPACTED))
            cpu_fault_err(c, EXC_GP, 0);
        for (unsigned i = 2; i < 8; i++)
            if (hdr[i])
                cpu_fault_err(c, EXC_GP, 0);
    } else {
        if (xstate_bv & ~c->xcr0)
            cpu_fault_err(c, EXC_GP, 0);
        if (xcomp_bv || hdr[2])
            cpu_fault_err(c, EXC_GP, 0);
    }

    struct cpu_fpu n = c->fpu;
    if (rfbm & XFEATURE_X87) {
        if (xstate_bv & XFEATURE_X87)
            fx_load_x87(c, &a, &n);
        else
            x87_init(&n);
    }
    if (rfbm & XFEATURE_SSE) {
        if (xstate_bv & XFEATURE_SSE)
            fx_load_xmm(c, &a, &n);
        else
            memset(n.xmm, 0, fx_nxmm(c) * sizeof n.xmm[0]);
    }
    if (compacted) {
        if (rfbm & XFEATURE_SSE)
            n.mxcsr = (xstate_bv & XFEATURE_SSE) ? fx_load_mxcsr(c, &a) : MXCSR_DEFAULT;
    } else if (rfbm & (XFEATURE_SSE | XFEATURE_AVX)) {
        n.mxcsr = fx_load_mxcsr(c, &a);
    }
    if (n.mxcsr & ~MXCSR_MASK_VALUE)
        cpu_fault_err(c, EXC_GP, 0);
    n.xinuse_loaded = (uint8_t)((n.xinuse_loaded & ~rfbm) | (rfbm & xstate_bv));
    c->fpu = n;
}

void op_xrstor(struct cpu *c, const struct insn *in)
{
    xrstor_common(c, in, XS_XRSTOR);
}

void op_xrstors(struct cpu *c, const struct insn *in)
{
    xrstor_common(c, in, XS_XRSTORS);
}
