/* Private to src/cpu: the MMX registers are the x87 data registers (SDM 1
 * "MMX Technology", "Compatibility with x87 FPU Architecture"). This file is
 * the only place the MMX instructions touch the x87 register file (the
 * significands, TOP, the tag word and the pending-exception summary). */
#ifndef NVMX_CPU_MMX_X87_H
#define NVMX_CPU_MMX_X87_H

#include "cpu/cpu_internal.h"

#define MMX_FSW_TOP 0x3800u /* FSW bits 13:11 */
#define MMX_FSW_ES 0x0080u  /* FSW bit 7: error summary (an unmasked exception is pending) */

/* SDM 1 "MMX Registers": MMi is the significand (bits 63:0) of physical
 * register Ri, whatever TOP is. */
static inline uint64_t mmx_x87_read(const struct cpu *c, unsigned i)
{
    return c->fpu.st[i & 7].signif;
}

/* SDM 1 "Effect of MMX, x87 FPU, FXSAVE, and FXRSTOR Instructions on the x87
 * FPU Tag Word" and Table "Effects of MMX Instructions on x87 FPU State": a
 * write to MMi sets bits 79:64 of Ri (sign and exponent) to all ones. */
static inline void mmx_x87_write(struct cpu *c, unsigned i, uint64_t v)
{
    c->fpu.st[i & 7].signif = v;
    c->fpu.st[i & 7].sexp = 0xffff;
}

/* Every MMX instruction but EMMS: TOP = 0 and every tag valid (00B). */
static inline void mmx_x87_enter(struct cpu *c)
{
    c->fpu.fsw &= (uint16_t)~MMX_FSW_TOP;
    c->fpu.ftw = 0;
}

/* EMMS: every tag empty (11B). */
static inline void mmx_x87_empty(struct cpu *c)
{
    c->fpu.ftw = 0xffff;
}

/* An unmasked x87 exception is pending (FSW.ES). */
static inline bool mmx_x87_pending(const struct cpu *c)
{
    return (c->fpu.fsw & MMX_FSW_ES) != 0;
}

#endif
