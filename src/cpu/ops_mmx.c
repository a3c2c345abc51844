/* MMX data movement and state (SDM 2A "EMMS", 2B "MOVD/MOVQ", "MOVQ",
 * "MOVQ2DQ", "MOVDQ2Q", "MOVNTQ", "MASKMOVQ"), and the #MF rule every MMX
 * instruction applies. The arithmetic forms on MMX registers share their
 * kernels with the XMM forms (src/cpu/ops_sse_int.c, ops_ssse3.c). */
#include "cpu/mmx.h"
#include "opcodes_gen.h"

/* SDM 1 "Exception Handling in MMX Code": an MMX instruction finding an
 * unmasked x87 exception pending (FSW.ES) takes #MF before it executes. With
 * CR0.NE = 0 the SDM reports the error through FERR# and an external
 * interrupt instead (SDM 1 "Handling x87 FPU Exceptions in Software"); nvmx
 * does not wire FERR#, so the instruction then runs and the exception stays
 * pending (docs/fpu.md). */
void mmx_pending_fault(struct cpu *c)
{
    if (c->cr0 & CR0_NE)
        cpu_fault(c, EXC_MF);
}

/* SDM 2A "EMMS": every x87 tag empty. Same #UD/#NM/#MF checks, but EMMS
 * does not enter MMX state first (TOP is left as it is). */
void op_emms(struct cpu *c, const struct insn *in)
{
    mmx_check_faults(c, FPU_F_MMX);
    mmx_x87_empty(c);
}

/* SDM 2B "MOVD/MOVQ": 0F 6E loads MM from r/m32 (zero-extended) or r/m64
 * (REX.W); 0F 7E stores the low doubleword (quadword) to r/m32 (r/m64). */
void op_movd_mm(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_MMX);
    unsigned size = (in->rex & 8) ? 8 : 4;
    if (in->opk[0] == OPK_MMX)
        mmx_set_p(c, in, opnd_read(c, in, 1, size));
    else
        opnd_write(c, in, 0, size, mmx_p(c, in) & size_mask(size));
}

/* SDM 2B "MOVQ": 0F 6F mm, mm/m64 and 0F 7F mm/m64, mm. */
void op_movq_mm(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_MMX);
    if (in->opk[0] == OPK_MMX)
        mmx_set_p(c, in, mmx_q(c, in, 8));
    else if (in->mod == 3)
        mmx_x87_write(c, in->rm, mmx_p(c, in));
    else
        cpu_write(c, in->seg, insn_ea(c, in), 8, mmx_p(c, in));
}

/* SDM 2B "MOVNTQ": the non-temporal hint has no architectural effect. */
void op_movntq(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_SSE);
    cpu_write(c, in->seg, insn_ea(c, in), 8, mmx_p(c, in));
}

/* SDM 2B "MASKMOVQ": the bytes of MM (reg) whose mask byte (rm) has bit 7
 * set go to DS:rDI (segment overridable); all are checked before any is
 * written. */
void op_maskmovq(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_SSE);
    uint64_t v = mmx_p(c, in), mask = mmx_x87_read(c, in->rm);
    uint64_t di = c->gpr[7] & size_mask(in->addrsize);
    for (unsigned i = 0; i < 8; i++)
        if ((mask >> (8 * i + 7)) & 1)
            cpu_probe_write(c, in->seg, (di + i) & size_mask(in->addrsize), 1);
    for (unsigned i = 0; i < 8; i++)
        if ((mask >> (8 * i + 7)) & 1)
            cpu_write(c, in->seg, (di + i) & size_mask(in->addrsize), 1, (v >> (8 * i)) & 0xff);
}

/* SDM 2B "MOVQ2DQ" (F3 0F D6: xmm <- mm, high quadword zeroed) and
 * "MOVDQ2Q" (F2 0F D6: mm <- low quadword of xmm). Both use an XMM register,
 * so they check as SSE2 instructions do (CR4.OSFXSR included), then enter
 * MMX state (their Exceptions sections list #MF). */
static void xmm_mm_check(struct cpu *c)
{
    sse_check(c, FPU_F_SSE2);
    mmx_check(c, FPU_F_SSE2);
}

void op_movq2dq(struct cpu *c, const struct insn *in)
{
    xmm_mm_check(c);
    union xmm_reg *v = xmm_v(c, in);
    v->q[0] = mmx_x87_read(c, in->rm);
    v->q[1] = 0;
}

void op_movdq2q(struct cpu *c, const struct insn *in)
{
    xmm_mm_check(c);
    mmx_set_p(c, in, xmm_u(c, in)->q[0]);
}
