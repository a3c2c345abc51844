/* Specialised exec handlers for register forms beyond the ALU core
 * (fastpath.c): NEG, NOT, SETcc, CMOVcc, MOVZX/MOVSX/MOVSXD and XCHG between
 * registers. Same rules: the reference handler's result exactly, no fault. */
#include "fastpath.h"

/* NEG: CF = (source != 0), the rest from the result (SDM 2B "NEG"); the
 * record is the reference handler's. NOT affects no flags. */
static const struct insn *f_neg_r64(struct cpu *c, const struct insn *in)
{
    uint64_t a = c->gpr[in->fdst], r = 0 - a;
    c->gpr[in->fdst] = r;
    lf_set(c, LF_NEG, 8, r, a, 0);
    CPU_NEXT(c, in);
}
static const struct insn *f_neg_r32(struct cpu *c, const struct insn *in)
{
    uint64_t a = (uint32_t)c->gpr[in->fdst], r = (uint32_t)(0 - a);
    c->gpr[in->fdst] = r;
    lf_set(c, LF_NEG, 4, r, a, 0);
    CPU_NEXT(c, in);
}
static const struct insn *f_not_r64(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = ~c->gpr[in->fdst];
    CPU_NEXT(c, in);
}
static const struct insn *f_not_r32(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (uint32_t)~c->gpr[in->fdst];
    CPU_NEXT(c, in);
}

/* SETcc r8 (a low byte: AL..BL, or any with REX). */
static const struct insn *f_setcc_r8(struct cpu *c, const struct insn *in)
{
    uint64_t v = flags_cond(c, in->cc);
    c->gpr[in->fdst] = (c->gpr[in->fdst] & ~0xffull) | v;
    CPU_NEXT(c, in);
}

/* CMOVcc r, r: a 32-bit destination is zero-extended whether or not the
 * condition holds (SDM 2A "CMOVcc"). */
static const struct insn *f_cmov_rr64(struct cpu *c, const struct insn *in)
{
    if (flags_cond(c, in->cc))
        c->gpr[in->fdst] = c->gpr[in->fsrc];
    CPU_NEXT(c, in);
}
static const struct insn *f_cmov_rr32(struct cpu *c, const struct insn *in)
{
    uint64_t v = flags_cond(c, in->cc) ? c->gpr[in->fsrc] : c->gpr[in->fdst];
    c->gpr[in->fdst] = (uint32_t)v;
    CPU_NEXT(c, in);
}

/* MOVZX/MOVSX r, r8/r16 and MOVSXD r, r32. A byte source is gpr[fsrc] >>
 * rm2 (rm2 = 8 for AH..BH without REX); opsize is the destination's. */
static const struct insn *f_movzx8_rr(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (c->gpr[in->fsrc] >> in->rm2) & 0xff;
    CPU_NEXT(c, in);
}
static const struct insn *f_movzx16_rr(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = c->gpr[in->fsrc] & 0xffff;
    CPU_NEXT(c, in);
}
static const struct insn *f_movsx8_rr(struct cpu *c, const struct insn *in)
{
    uint64_t v = (uint64_t)(int64_t)(int8_t)(c->gpr[in->fsrc] >> in->rm2);
    c->gpr[in->fdst] = in->opsize == 8 ? v : (uint32_t)v;
    CPU_NEXT(c, in);
}
static const struct insn *f_movsx16_rr(struct cpu *c, const struct insn *in)
{
    uint64_t v = (uint64_t)(int64_t)(int16_t)c->gpr[in->fsrc];
    c->gpr[in->fdst] = in->opsize == 8 ? v : (uint32_t)v;
    CPU_NEXT(c, in);
}
static const struct insn *f_movsxd_rr(struct cpu *c, const struct insn *in)
{
    uint64_t v = (uint64_t)(int64_t)(int32_t)c->gpr[in->fsrc];
    c->gpr[in->fdst] = in->opsize == 8 ? v : (uint32_t)v;
    CPU_NEXT(c, in);
}

/* XCHG r, r: both registers are written (a 32-bit XCHG zero-extends both). */
static const struct insn *f_xchg_rr64(struct cpu *c, const struct insn *in)
{
    uint64_t a = c->gpr[in->fdst], b = c->gpr[in->fsrc];
    c->gpr[in->fdst] = b;
    c->gpr[in->fsrc] = a;
    CPU_NEXT(c, in);
}
static const struct insn *f_xchg_rr32(struct cpu *c, const struct insn *in)
{
    uint64_t a = (uint32_t)c->gpr[in->fdst], b = (uint32_t)c->gpr[in->fsrc];
    c->gpr[in->fdst] = b;
    c->gpr[in->fsrc] = a;
    CPU_NEXT(c, in);
}


bool cpu_specialize_misc(struct insn *in)
{
    insn_handler h = in->handler;
    int d = reg_of(in, 0), s = reg_of(in, 1);
    bool wide = in->opsize == 8;
    if (d < 0)
        return false;
    if (in->opsize == 1) {
        /* without REX, 4-7 name AH..BH: those stay generic */
        if (h == op_setcc && (in->rex || d < 4)) {
            in->fdst = (uint8_t)d;
            in->exec = f_setcc_r8;
            return true;
        }
        return false;
    }
    if (in->opsize != 4 && in->opsize != 8)
        return false;
    if (h == op_neg || h == op_not) {
        in->fdst = (uint8_t)d;
        in->exec = h == op_neg ? (wide ? f_neg_r64 : f_neg_r32) : (wide ? f_not_r64 : f_not_r32);
        return true;
    }
    if (s < 0)
        return false;
    in->fdst = (uint8_t)d;
    in->fsrc = (uint8_t)s;
    if (h == op_cmovcc) {
        in->exec = wide ? f_cmov_rr64 : f_cmov_rr32;
    } else if (h == op_movzx_b || h == op_movsx_b) {
        bool high = !in->rex && s >= 4 && s < 8;
        in->fsrc = (uint8_t)(high ? s - 4 : s);
        in->rm2 = high ? 8 : 0;
        in->exec = h == op_movzx_b ? f_movzx8_rr : f_movsx8_rr;
    } else if (h == op_movzx_w) {
        in->exec = f_movzx16_rr;
    } else if (h == op_movsx_w) {
        in->exec = f_movsx16_rr;
    } else if (h == op_movsxd) {
        in->exec = f_movsxd_rr;
    } else if (h == op_xchg) {
        in->exec = wide ? f_xchg_rr64 : f_xchg_rr32;
    }
    return in->exec != cpu_exec_generic;
}
