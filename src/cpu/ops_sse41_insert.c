/* SSE4.1 element moves between XMM registers and general-purpose registers
 * or memory (SDM 2B "PEXTRB/PEXTRD/PEXTRQ", "PEXTRW" (66 0F 3A 15),
 * "PINSRB/PINSRD/PINSRQ"). The element is imm8 modulo the element count. A
 * register destination of PEXTRB/PEXTRW is zero-extended to 32 or 64 bits; a
 * register source of PINSRB gives its low byte. */
#include "cpu/sse.h"
#include "opcodes_gen.h"

/* Element size of the form: PEXTRB/PINSRB 1, PEXTRW 2, PEXTRD 4 (8 with
 * REX.W, PEXTRQ). */
static void pextr(struct cpu *c, const struct insn *in, unsigned size)
{
    sse_check(c, FPU_F_SSE4_1);
    const union xmm_reg *v = xmm_v(c, in);
    uint64_t x = 0;
    memcpy(&x, &v->b[(in->imm & (16 / size - 1)) * size], size);
    if (in->mod == 3)
        reg_write(c, in->rm, (in->rex & 8) ? 8 : 4, true, x);
    else
        cpu_write(c, in->seg, insn_ea(c, in), size, x);
}

static void pinsr(struct cpu *c, const struct insn *in, unsigned size)
{
    sse_check(c, FPU_F_SSE4_1);
    uint64_t x = in->mod == 3 ? c->gpr[in->rm] : cpu_read(c, in->seg, insn_ea(c, in), size);
    union xmm_reg *v = xmm_v(c, in);
    memcpy(&v->b[(in->imm & (16 / size - 1)) * size], &x, size);
}

void op_pextrb(struct cpu *c, const struct insn *in) { pextr(c, in, 1); }
void op_pextrw_e(struct cpu *c, const struct insn *in) { pextr(c, in, 2); }
void op_pextrd(struct cpu *c, const struct insn *in) { pextr(c, in, (in->rex & 8) ? 8 : 4); }
void op_pinsrb(struct cpu *c, const struct insn *in) { pinsr(c, in, 1); }
void op_pinsrd(struct cpu *c, const struct insn *in) { pinsr(c, in, (in->rex & 8) ? 8 : 4); }
