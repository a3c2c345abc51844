/* Private to src/cpu: the SSE/SSE2 execution environment -- the checks every
 * SSE instruction makes first, and XMM operand access (ModRM.reg is an XMM
 * register, ModRM.rm an XMM register or memory). */
#ifndef NVMX_CPU_SSE_H
#define NVMX_CPU_SSE_H

#include "cpu/cpu_internal.h"

/* c->fpu.features: what the model's CPUID.01H:EDX advertises (fpu_state.c). */
#define FPU_F_FPU 0x01u  /* EDX[0] */
#define FPU_F_FXSR 0x02u /* EDX[24] */
#define FPU_F_SSE 0x04u  /* EDX[25] */
#define FPU_F_SSE2 0x08u /* EDX[26] */
/* ... and CPUID.01H:EDX[23], ECX[9], [19], [20], [23] (cpu_fpu_reset). */
#define FPU_F_MMX 0x0100u
#define FPU_F_SSSE3 0x0200u
#define FPU_F_SSE4_1 0x0400u
#define FPU_F_SSE4_2 0x0800u
#define FPU_F_POPCNT 0x1000u

#define MXCSR_DEFAULT 0x1f80u
/* SDM 1 "MXCSR Control and Status Register": bits 31:16 are reserved; the
 * mask FXSAVE stores (MXCSR_MASK) has DAZ, as every SSE2 processor. */
#define MXCSR_MASK_VALUE 0x0000ffffu

/* Set up the x87/SSE state of a power-up (SDM 3A "Processor State After
 * Reset"), and the feature bits from the model. */
void cpu_fpu_reset(struct cpu *c);
/* The FPU_F_ bits of MMX, SSSE3, SSE4.1, SSE4.2 and POPCNT from the model
 * (src/cpu/simd_features.c; called by cpu_fpu_reset when there is one). */
void cpu_simd_features(struct cpu *c);

/* SDM 3A "Emulation of SSE/SSE2/SSE3/SSSE3/SSE4 Extensions" and Table
 * "Action Taken for Combinations of OSFXSR, OSXMMEXCPT, SSE, SSE2, SSE3, EM,
 * MP, and TS": CR0.EM = 1, CR4.OSFXSR = 0 or the CPUID feature flag clear ->
 * #UD; otherwise CR0.TS = 1 -> #NM. feature is FPU_F_SSE or FPU_F_SSE2. */
static inline void sse_check(struct cpu *c, uint32_t feature)
{
    if (unlikely((c->cr0 & CR0_EM) || !(c->cr4 & CR4_OSFXSR) || !(c->fpu.features & feature)))
        cpu_fault(c, EXC_UD);
    if (unlikely(c->cr0 & CR0_TS))
        cpu_fault(c, EXC_NM);
}

static inline union xmm_reg *xmm_v(struct cpu *c, const struct insn *in)
{
    return &c->fpu.xmm[in->reg & 15];
}

static inline union xmm_reg *xmm_u(struct cpu *c, const struct insn *in)
{
    return &c->fpu.xmm[in->rm & 15];
}

/* SDM 2A "MOVAPS" and the other aligned forms: a 16-byte memory operand
 * that is not 16-byte aligned is #GP(0) (legacy SSE encodings). The check
 * is on the linear address and comes before the access itself. */
static inline void sse_check_align16(struct cpu *c, const struct insn *in, uint64_t ea)
{
    uint64_t lin = c->seg[in->seg].base + ea;
    if (unlikely(lin & 15))
        cpu_fault_err(c, EXC_GP, 0);
}

/* Memory operand of size 4, 8 or 16 bytes into *out (upper bytes zero). */
static inline void sse_read_mem(struct cpu *c, const struct insn *in, union xmm_reg *out,
                                unsigned size, bool aligned)
{
    uint64_t ea = insn_ea(c, in);
    if (aligned)
        sse_check_align16(c, in, ea);
    out->q[1] = 0;
    if (size == 16) {
        uint64_t lo = cpu_read(c, in->seg, ea, 8);
        out->q[1] = cpu_read(c, in->seg, (ea + 8) & size_mask(in->addrsize), 8);
        out->q[0] = lo;
    } else {
        out->q[0] = cpu_read(c, in->seg, ea, size);
    }
}

/* Store size 4, 8 or 16 bytes of v: both halves of a 16-byte store are
 * checked before either is written, so a fault leaves memory unchanged. */
static inline void sse_write_mem(struct cpu *c, const struct insn *in, const union xmm_reg *v,
                                 unsigned size, bool aligned)
{
    uint64_t ea = insn_ea(c, in);
    if (aligned)
        sse_check_align16(c, in, ea);
    if (size == 16) {
        uint64_t hi_ea = (ea + 8) & size_mask(in->addrsize);
        cpu_probe_write(c, in->seg, ea, 8);
        cpu_probe_write(c, in->seg, hi_ea, 8);
        cpu_write(c, in->seg, ea, 8, v->q[0]);
        cpu_write(c, in->seg, hi_ea, 8, v->q[1]);
    } else {
        cpu_write(c, in->seg, ea, size, v->q[0] & size_mask(size));
    }
}

/* The W operand (ModRM.rm): an XMM register, or size bytes of memory. */
static inline void sse_read_w(struct cpu *c, const struct insn *in, union xmm_reg *out,
                              unsigned size, bool aligned)
{
    if (in->mod == 3)
        *out = *xmm_u(c, in);
    else
        sse_read_mem(c, in, out, size, aligned);
}

#endif
