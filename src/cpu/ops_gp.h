/* Private to the general-purpose instruction handlers (src/cpu/ops_*.c and
 * flags.c): handler prototypes, fast operand access for register forms, and
 * the size helpers for instructions whose rows carry no sized operand. */
#ifndef NVMX_CPU_OPS_GP_H
#define NVMX_CPU_OPS_GP_H

#include "cpu_internal.h"

/* Sign-extend the low size bytes of v. */
static inline uint64_t gp_sext(uint64_t v, unsigned size)
{
    switch (size) {
    case 1: return (uint64_t)(int64_t)(int8_t)v;
    case 2: return (uint64_t)(int64_t)(int16_t)v;
    case 4: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

static inline unsigned gp_msb(uint64_t v, unsigned size)
{
    return (unsigned)(v >> (size * 8 - 1)) & 1;
}

/* SF, ZF and PF of a result of size bytes. */
static inline uint64_t flags_szp(uint64_t res, unsigned size)
{
    res &= size_mask(size);
    return (res == 0 ? FL_ZF : 0) | (gp_msb(res, size) ? FL_SF : 0) | flags_pf(res);
}

/* Operand i with the register, accumulator and immediate forms inline; the
 * rest goes through opnd_read(). */
static inline uint64_t gp_read(struct cpu *c, const struct insn *in, unsigned i, unsigned size)
{
    switch (in->opk[i]) {
    case OPK_REG: return reg_read(c, in->reg, size, in->rex != 0);
    case OPK_RM:
        if (in->mod == 3)
            return reg_read(c, in->rm, size, in->rex != 0);
        return cpu_read(c, in->seg, insn_ea(c, in), size);
    case OPK_OPREG: return reg_read(c, in->rm, size, in->rex != 0);
    case OPK_ACC: return c->gpr[0] & size_mask(size);
    case OPK_IMM: return in->imm & size_mask(size);
    default: return opnd_read(c, in, i, size);
    }
}

static inline void gp_write(struct cpu *c, const struct insn *in, unsigned i, unsigned size,
                            uint64_t v)
{
    switch (in->opk[i]) {
    case OPK_REG: reg_write(c, in->reg, size, in->rex != 0, v); return;
    case OPK_RM:
        if (in->mod == 3) {
            reg_write(c, in->rm, size, in->rex != 0, v);
            return;
        }
        cpu_write(c, in->seg, insn_ea(c, in), size, v);
        return;
    case OPK_OPREG: reg_write(c, in->rm, size, in->rex != 0, v); return;
    case OPK_ACC: reg_write(c, 0, size, false, v); return;
    default: opnd_write(c, in, i, size, v); return;
    }
}

static inline bool gp_is_mem(const struct insn *in, unsigned i)
{
    return in->opk[i] == OPK_MEM || in->opk[i] == OPK_MOFFS ||
           (in->opk[i] == OPK_RM && in->mod != 3);
}

/* Operand size of a row without sized operands (CBW, string forms, PUSHA):
 * SDM 1 "Operand-Size and Address-Size Attributes" / 64-bit mode REX.W. */
static inline unsigned gp_osize(const struct cpu *c, const struct insn *in)
{
    if (in->rex & 8)
        return 8;
    unsigned s = c->code_size == 2 ? 2 : 4;
    if (in->pfx & PFX_OPSIZE)
        s = s == 2 ? 4 : 2;
    return s;
}

/* Operand size of stack operations (PUSH, POP, ENTER, LEAVE): 64 by default
 * in 64-bit mode, 66 selects 16 (SDM 1 "Stack Behavior in 64-Bit Mode"). */
static inline unsigned gp_stack_osize(const struct cpu *c, const struct insn *in)
{
    if (c->mode == MODE_LONG64)
        return (in->pfx & PFX_OPSIZE) ? 2 : 8;
    return gp_osize(c, in);
}

/* Undefined arithmetic flags of an instruction (for the differential tester,
 * which masks them). Without CPU state (c == NULL), counts held in CL and
 * zero sources are assumed to make every conditional flag undefined. */

/* Shared by the shift and string files. */
void gp_shift(struct cpu *c, const struct insn *in, unsigned op);

/* ---- handlers ---- */
#define GP_HANDLERS(X)                                                                     \
    X(add) X(or) X(adc) X(sbb) X(and) X(sub) X(xor) X(cmp) X(inc) X(dec) X(neg) X(not)     \
    X(test) X(mul) X(imul) X(imul_1) X(imul2) X(imul3) X(div) X(idiv)                                \
    X(mov) X(movzx_b) X(movzx_w) X(movsx_b) X(movsx_w) X(movsxd) X(lea) X(xchg)            \
    X(cmpxchg) X(cmpxchg8b) X(cmpxchg16b) X(xadd) X(bswap) X(movbe)                        \
    X(shift_grp2) X(rol) X(ror) X(rcl) X(rcr) X(shl) X(sal) X(shr) X(sar) X(shld) X(shrd)  \
    X(bound) X(bt) X(bts) X(btr) X(btc) X(bsf) X(bsr) X(tzcnt) X(lzcnt) X(popcnt) X(setcc)          \
    X(cmovcc) X(jcc) X(jmp) X(jmp_ind) X(call) X(call_ind) X(ret) X(ret_imm) X(loop)       \
    X(loope) X(loopne) X(jrcxz) X(push) X(pop) X(pusha) X(popa) X(enter) X(leave) X(cbw)   \
    X(cwd) X(lahf) X(sahf) X(clc) X(stc) X(cmc) X(cld) X(std) X(nop) X(nop_ev) X(pause) X(xlat)\
    X(aaa) X(aas) X(daa) X(das) X(aam) X(aad) X(movs) X(stos) X(lods) X(cmps) X(scas)

#define GP_DECLARE(n) void op_##n(struct cpu *c, const struct insn *in);
GP_HANDLERS(GP_DECLARE)
#undef GP_DECLARE

#endif
