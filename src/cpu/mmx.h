/* Private to src/cpu: the MMX execution environment -- the checks every
 * instruction on MMX registers makes first, and MMX operand access
 * (ModRM.reg is an MMX register, ModRM.rm an MMX register or memory). */
#ifndef NVMX_CPU_MMX_H
#define NVMX_CPU_MMX_H

#include "cpu/mmx_x87.h"
#include "cpu/sse.h"

/* #MF for a pending unmasked x87 exception (src/cpu/ops_mmx.c). */
void mmx_pending_fault(struct cpu *c);

/* SDM 2 Table "Exception Conditions for Legacy SIMD/MMX Instructions
 * without FP Exception" (and SDM 1 "Exception Handling in MMX Code"):
 * CR0.EM = 1 or the CPUID flag clear -> #UD; CR0.TS = 1 -> #NM; a pending
 * unmasked x87 exception -> #MF. CR4.OSFXSR is not consulted by the forms on
 * MMX registers (SDM 3A "System Programming for Instruction Set Extensions":
 * "does not affect PSHUFW, MOVNTQ, ..."). Then the instruction enters MMX
 * state: TOP = 0, every tag valid -- before its memory operand is read, as
 * Bochs and QEMU do (a later fault leaves it so). feature is FPU_F_MMX,
 * FPU_F_SSE, FPU_F_SSE2 or FPU_F_SSSE3. */
static inline void mmx_check_faults(struct cpu *c, uint32_t feature)
{
    if (unlikely((c->cr0 & CR0_EM) || !(c->fpu.features & feature)))
        cpu_fault(c, EXC_UD);
    if (unlikely(c->cr0 & CR0_TS))
        cpu_fault(c, EXC_NM);
    if (unlikely(mmx_x87_pending(c)))
        mmx_pending_fault(c);
}

static inline void mmx_check(struct cpu *c, uint32_t feature)
{
    mmx_check_faults(c, feature);
    mmx_x87_enter(c);
}

/* SDM 2A "REX Prefixes": REX.R and REX.B do not extend MMX register numbers. */
static inline uint64_t mmx_p(const struct cpu *c, const struct insn *in)
{
    return mmx_x87_read(c, in->reg);
}

static inline void mmx_set_p(struct cpu *c, const struct insn *in, uint64_t v)
{
    mmx_x87_write(c, in->reg, v);
}

/* The Q operand: an MMX register, or size (4 or 8) bytes of memory. */
static inline uint64_t mmx_q(struct cpu *c, const struct insn *in, unsigned size)
{
    if (in->mod == 3)
        return mmx_x87_read(c, in->rm);
    return cpu_read(c, in->seg, insn_ea(c, in), size);
}

#endif
