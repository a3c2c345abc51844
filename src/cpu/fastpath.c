/* Specialised exec handlers (insn_exec in cpu_internal.h) for the most
 * common forms: 32- and 64-bit ALU operations and MOV between registers or
 * with an immediate, and in 64-bit code the near branches, LEA and MOV to or
 * from memory with the TLB hit inline. The decoder's generic handler stays
 * the reference: a specialised one must give exactly the same architectural
 * result, and hands the instruction to cpu_exec_generic, before changing any
 * state, whenever it would fault or miss the TLB (the differential tests run
 * both: the specialiser applies to every decoded block). */
#include "fastpath.h"


/* LF_DEAD as lfop: the flags are dead (the next instruction overwrites them
 * all and nothing in between can observe them), no record is made. */
#define LF_DEAD (-1)
#define FAST_BIN_FORMS(name, sfx, lfop, expr, writes, tail)                                \
    static const struct insn *f_##name##_rr64##sfx(struct cpu *c, const struct insn *in)   \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst], b = c->gpr[in->fsrc];                               \
        uint64_t r = (expr);                                                               \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        if ((int)(lfop) != LF_DEAD) lf_set(c, (lfop), 8, r, a, b);                         \
        tail;                                                                              \
    }                                                                                      \
    static const struct insn *f_##name##_rr32##sfx(struct cpu *c, const struct insn *in)   \
    {                                                                                      \
        uint64_t a = (uint32_t)c->gpr[in->fdst], b = (uint32_t)c->gpr[in->fsrc];           \
        uint64_t r = (uint32_t)(expr);                                                     \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        if ((int)(lfop) != LF_DEAD) lf_set(c, (lfop), 4, r, a, b);                         \
        tail;                                                                              \
    }                                                                                      \
    static const struct insn *f_##name##_ri64##sfx(struct cpu *c, const struct insn *in)   \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst], b = in->imm;                                        \
        uint64_t r = (expr);                                                               \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        if ((int)(lfop) != LF_DEAD) lf_set(c, (lfop), 8, r, a, b);                         \
        tail;                                                                              \
    }                                                                                      \
    static const struct insn *f_##name##_ri32##sfx(struct cpu *c, const struct insn *in)   \
    {                                                                                      \
        uint64_t a = (uint32_t)c->gpr[in->fdst], b = (uint32_t)in->imm;                    \
        uint64_t r = (uint32_t)(expr);                                                     \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        if ((int)(lfop) != LF_DEAD) lf_set(c, (lfop), 4, r, a, b);                         \
        tail;                                                                              \
    }
#define FAST_BIN(name, lfop, expr, writes) FAST_BIN_FORMS(name, , lfop, expr, writes, CPU_NEXT(c, in))

FAST_BIN(add, LF_ADD, a + b, 1)
FAST_BIN(sub, LF_SUB, a - b, 1)
FAST_BIN(cmp, LF_SUB, a - b, 0)
FAST_BIN(and, LF_LOGIC, a & b, 1)
FAST_BIN(or, LF_LOGIC, a | b, 1)
FAST_BIN(xor, LF_LOGIC, a ^ b, 1)
FAST_BIN(test, LF_LOGIC, a & b, 0)

static const struct insn *f_mov_rr64(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = c->gpr[in->fsrc];
    CPU_NEXT(c, in);
}
static const struct insn *f_mov_rr32(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (uint32_t)c->gpr[in->fsrc];
    CPU_NEXT(c, in);
}
static const struct insn *f_mov_ri64(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = in->imm;
    CPU_NEXT(c, in);
}
static const struct insn *f_mov_ri32(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (uint32_t)in->imm;
    CPU_NEXT(c, in);
}

/* Near relative branches in 64-bit mode: the target only needs the
 * canonical check (SDM 2A "Jcc", "JMP", "CALL": #GP(0) if the target is
 * non-canonical); the generic handler raises it. They always end their
 * block. */
static inline const struct insn *jump64(struct cpu *c, const struct insn *in, bool taken)
{
    uint64_t next = next_rip(c, in);
    if (!taken)
        return leave(c, in, next);
    uint64_t t = next + in->imm;
    if (unlikely(!canonical(t)))
        return cpu_exec_generic(c, in);
    return leave(c, in, t);
}

static const struct insn *f_jcc64(struct cpu *c, const struct insn *in)
{
    return jump64(c, in, flags_cond(c, in->cc));
}

/* JZ/JNZ: every lazy operation records its result already truncated to
 * the operand size, so ZF is res == 0 unless the flags are materialized. */
static inline bool zf_now(const struct cpu *c)
{
    return c->lf.op != LF_NONE ? c->lf.res == 0 : (c->rflags & FL_ZF) != 0;
}

static const struct insn *f_jz64(struct cpu *c, const struct insn *in)
{
    return jump64(c, in, zf_now(c));
}

static const struct insn *f_jnz64(struct cpu *c, const struct insn *in)
{
    return jump64(c, in, !zf_now(c));
}

static const struct insn *f_jmp64(struct cpu *c, const struct insn *in)
{
    return jump64(c, in, true);
}

/* INC/DEC of a register: CF is preserved (SDM 2 "INC", "DEC"). */
#define FAST_INCDEC_FORMS(name, sfx, lfop, delta, tail)                                    \
    static const struct insn *f_##name##_r64##sfx(struct cpu *c, const struct insn *in)    \
    {                                                                                      \
        bool cf;                                                                           \
        if (unlikely(!flags_cf_quick(c, &cf)))                                             \
            return cpu_exec_generic(c, in);                                                \
        uint64_t a = c->gpr[in->fdst], r = a + (delta);                                    \
        c->gpr[in->fdst] = r;                                                              \
        c->lf.cf_in = cf;                                                                  \
        lf_set(c, lfop, 8, r, a, 1);                                                       \
        tail;                                                                              \
    }                                                                                      \
    static const struct insn *f_##name##_r32##sfx(struct cpu *c, const struct insn *in)    \
    {                                                                                      \
        bool cf;                                                                           \
        if (unlikely(!flags_cf_quick(c, &cf)))                                             \
            return cpu_exec_generic(c, in);                                                \
        uint64_t a = (uint32_t)c->gpr[in->fdst], r = (uint32_t)(a + (delta));              \
        c->gpr[in->fdst] = r;                                                              \
        c->lf.cf_in = cf;                                                                  \
        lf_set(c, lfop, 4, r, a, 1);                                                       \
        tail;                                                                              \
    }
#define FAST_INCDEC(name, lfop, delta) FAST_INCDEC_FORMS(name, , lfop, delta, CPU_NEXT(c, in))
FAST_INCDEC(inc, LF_INC, 1)
FAST_INCDEC(dec, LF_DEC, (uint64_t)-1)

/* Fused with the JZ/JNZ that follows (in + 1, the last instruction of the
 * block): the flags producer, then the branch on ZF = (result == 0) without
 * a second dispatch. The JZ/JNZ stays in the block for the count and the
 * cycles, and runs on its own (falling back to the reference handler) when
 * its target is not canonical (jump64). cpu_fuse() installs these at decode time;
 * a block cut short after the producer gets the plain handler back
 * (cpu_unfuse). */
static inline const struct insn *branch_zf(struct cpu *c, const struct insn *in, uint64_t r)
{
    return jump64(c, in + 1, (r == 0) == (in[1].cc == 4));
}
#define ZF_TAIL return branch_zf(c, in, r)
FAST_BIN_FORMS(add, _jz, LF_ADD, a + b, 1, ZF_TAIL)
FAST_BIN_FORMS(sub, _jz, LF_SUB, a - b, 1, ZF_TAIL)
FAST_BIN_FORMS(cmp, _jz, LF_SUB, a - b, 0, ZF_TAIL)
FAST_BIN_FORMS(and, _jz, LF_LOGIC, a & b, 1, ZF_TAIL)
FAST_BIN_FORMS(or, _jz, LF_LOGIC, a | b, 1, ZF_TAIL)
FAST_BIN_FORMS(xor, _jz, LF_LOGIC, a ^ b, 1, ZF_TAIL)
FAST_BIN_FORMS(test, _jz, LF_LOGIC, a & b, 0, ZF_TAIL)
FAST_INCDEC_FORMS(inc, _jz, LF_INC, 1, ZF_TAIL)
FAST_INCDEC_FORMS(dec, _jz, LF_DEC, (uint64_t)-1, ZF_TAIL)
#undef ZF_TAIL

static const struct {
    insn_exec plain, fused;
} fusable[] = {
#define FUSE4(n)                                                                           \
    {f_##n##_rr64, f_##n##_rr64_jz}, {f_##n##_rr32, f_##n##_rr32_jz},                      \
        {f_##n##_ri64, f_##n##_ri64_jz}, {f_##n##_ri32, f_##n##_ri32_jz},
    FUSE4(add) FUSE4(sub) FUSE4(cmp) FUSE4(and) FUSE4(or) FUSE4(xor) FUSE4(test)
#undef FUSE4
    {f_inc_r64, f_inc_r64_jz}, {f_inc_r32, f_inc_r32_jz},
    {f_dec_r64, f_dec_r64_jz}, {f_dec_r32, f_dec_r32_jz},
};

void cpu_fuse(struct insn *prev, const struct insn *jcc)
{
    if (jcc->exec != f_jz64 && jcc->exec != f_jnz64)
        return;
    for (unsigned i = 0; i < sizeof fusable / sizeof fusable[0]; i++)
        if (prev->exec == fusable[i].plain) {
            prev->exec = fusable[i].fused;
            return;
        }
}

/* IMUL r, r/m, imm and IMUL r, r/m with register operands: the same flags
 * as the generic handler (CF = OF = overflow, SF/ZF/PF of the low half). */
static inline void imul_flags(struct cpu *c, uint64_t lo, unsigned sz, bool ovf)
{
    flags_set_arith(c, flags_szp(lo, sz) | (ovf ? (FL_CF | FL_OF) : 0));
}

static inline void imul64(struct cpu *c, const struct insn *in, int64_t a, int64_t b)
{
    __int128 p = (__int128)a * b;
    uint64_t lo = (uint64_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 8, (__int128)(int64_t)lo != p);
}

static inline void imul32(struct cpu *c, const struct insn *in, int32_t a, int32_t b)
{
    int64_t p = (int64_t)a * b;
    uint64_t lo = (uint32_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 4, (int64_t)(int32_t)lo != p);
}

static const struct insn *f_imul_rrr64(struct cpu *c, const struct insn *in)
{
    imul64(c, in, (int64_t)c->gpr[in->fsrc], (int64_t)c->gpr[in->rm2]);
    CPU_NEXT(c, in);
}

static const struct insn *f_imul_rrr32(struct cpu *c, const struct insn *in)
{
    imul32(c, in, (int32_t)c->gpr[in->fsrc], (int32_t)c->gpr[in->rm2]);
    CPU_NEXT(c, in);
}

static const struct insn *f_imul_rri64(struct cpu *c, const struct insn *in)
{
    imul64(c, in, (int64_t)c->gpr[in->fsrc], (int64_t)in->imm);
    CPU_NEXT(c, in);
}

static const struct insn *f_imul_rri32(struct cpu *c, const struct insn *in)
{
    imul32(c, in, (int32_t)c->gpr[in->fsrc], (int32_t)in->imm);
    CPU_NEXT(c, in);
}

/* Fold a pending flags record into RFLAGS, then run in again: kept out of
 * line so that the handlers that need it have no call on their fast path. */
static __attribute__((noinline)) const struct insn *materialize_then(struct cpu *c,
                                                                     const struct insn *in)
{
    flags_materialize(c);
    return in->exec(c, in);
}

/* Shifts and rotates of a register by a non-zero immediate count (the
 * count is masked at specialisation time; a masked count of 0 keeps the
 * generic handler, which has the count-0 rules). Flags as ops_shift.c. */
#define SHIFT_FAST(bits, T, ST)                                                            \
    static const struct insn *f_shl_ri##bits(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        uint64_t v = (T)c->gpr[in->fdst], r = (T)(v << n);                                 \
        bool cf = (v >> (bits - n)) & 1;                                                   \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0) |                     \
                               ((((r >> (bits - 1)) & 1) ^ cf) ? FL_OF : 0));              \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_shr_ri##bits(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        uint64_t v = (T)c->gpr[in->fdst], r = v >> n;                                      \
        bool cf = (v >> (n - 1)) & 1;                                                      \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0) |                     \
                               ((((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) ? FL_OF : 0)); \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_sar_ri##bits(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        ST sv = (ST)c->gpr[in->fdst];                                                      \
        uint64_t r = (T)(sv >> n);                                                         \
        bool cf = (sv >> (n - 1)) & 1;                                                     \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0));                     \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_rol_ri##bits(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        if (unlikely(c->lf.op != LF_NONE))                                                 \
            return materialize_then(c, in);                                                \
        unsigned n = in->rm2;                                                              \
        T v = (T)c->gpr[in->fdst];                                                         \
        T r = (T)((v << n) | (v >> (bits - n)));                                           \
        bool cf = r & 1;                                                                   \
        c->gpr[in->fdst] = r;                                                              \
        c->rflags = (c->rflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) |                    \
                    ((((r >> (bits - 1)) & 1) ^ cf) ? FL_OF : 0);                          \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_ror_ri##bits(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        if (unlikely(c->lf.op != LF_NONE))                                                 \
            return materialize_then(c, in);                                                \
        unsigned n = in->rm2;                                                              \
        T v = (T)c->gpr[in->fdst];                                                         \
        T r = (T)((v >> n) | (v << (bits - n)));                                           \
        bool cf = (r >> (bits - 1)) & 1;                                                   \
        c->gpr[in->fdst] = r;                                                              \
        c->rflags = (c->rflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) |                    \
                    ((cf ^ ((r >> (bits - 2)) & 1)) ? FL_OF : 0);                          \
        CPU_NEXT(c, in);                                                                   \
    }
SHIFT_FAST(64, uint64_t, int64_t)
SHIFT_FAST(32, uint32_t, int32_t)


/* CALL rel / RET in 64-bit mode (operand size is always 64 there; SS has
 * base 0): target check first, then the stack access, RSP last (SDM 2A
 * "CALL", "RET"). */
static const struct insn *f_call64(struct cpu *c, const struct insn *in)
{
    uint64_t next = next_rip(c, in), t = next + in->imm;
    uint64_t rsp = c->gpr[4] - 8;
    uint8_t *h;
    if (unlikely(!canonical(t) || !tlb_host(c->tlb_wr, rsp, 8, &h)))
        return cpu_exec_generic(c, in);
    memcpy(h, &next, 8);
    c->gpr[4] = rsp;
    return leave(c, in, t);
}

static const struct insn *f_ret64(struct cpu *c, const struct insn *in)
{
    uint64_t rsp = c->gpr[4], t;
    uint8_t *h;
    if (unlikely(!tlb_host(c->tlb_rd, rsp, 8, &h)))
        return cpu_exec_generic(c, in);
    memcpy(&t, h, 8);
    if (unlikely(!canonical(t)))
        return cpu_exec_generic(c, in);
    c->gpr[4] = rsp + 8;
    return leave(c, in, t);
}

/* 8-bit ALU forms on AL/CL/DL/BL (or any low byte with REX): TEST, CMP, AND
 * with an immediate or a register. */
#define FAST_BIN8(name, lfop, expr, writes)                                                \
    static const struct insn *f_##name##_ri8(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst] & 0xff, b = in->imm & 0xff;                          \
        uint64_t r = (expr) & 0xff;                                                        \
        if (writes)                                                                        \
            c->gpr[in->fdst] = (c->gpr[in->fdst] & ~0xffull) | r;                          \
        lf_set(c, lfop, 1, r, a, b);                                                       \
        CPU_NEXT(c, in);                                                                   \
    }
FAST_BIN8(test, LF_LOGIC, a & b, 0)
FAST_BIN8(cmp, LF_SUB, a - b, 0)
FAST_BIN8(and, LF_LOGIC, a & b, 1)

struct fast_set {
    insn_handler generic;
    insn_exec rr64, rr32, ri64, ri32;
};

#define SET(name) { op_##name, f_##name##_rr64, f_##name##_rr32, f_##name##_ri64, f_##name##_ri32 }
static const struct fast_set fast_sets[] = {
    SET(add), SET(sub), SET(cmp), SET(and), SET(or), SET(xor), SET(test), SET(mov),
};
#undef SET

/* Forms that only exist in 64-bit code (the memory fast paths assume the
 * 64-bit segmentation rules). */
static void specialize64(struct insn *in)
{
    if (in->handler == op_call && in->opk[0] == OPK_REL && (in->flags & IF_ENDS_BLOCK)) {
        in->exec = f_call64;
    } else if (in->handler == op_ret && in->opk[0] == OPK_NONE &&
               (in->flags & IF_ENDS_BLOCK)) {
        in->exec = f_ret64;
    } else if (in->handler == op_jcc && (in->flags & IF_ENDS_BLOCK)) {
        in->exec = in->cc == 4 ? f_jz64 : in->cc == 5 ? f_jnz64 : f_jcc64;
    } else if (in->handler == op_jmp && in->opk[0] == OPK_REL) {
        in->exec = f_jmp64;
    } else {
        cpu_specialize_mem64(in);
    }
}

void cpu_specialize(struct insn *in, unsigned code_size)
{
    if (in->pfx & PFX_LOCK)
        return;
    if (code_size == 8 && cpu_specialize_sse(in))
        return;
    if (cpu_specialize_misc(in))
        return;
    if (in->opsize == 1) {
        int d = reg_of(in, 0);
        /* without REX, 4-7 name AH..BH: leave those to the generic path */
        if (d >= 0 && (in->rex || d < 4) && in->opk[1] == OPK_IMM) {
            in->fdst = (uint8_t)d;
            if (in->handler == op_test)
                in->exec = f_test_ri8;
            else if (in->handler == op_cmp)
                in->exec = f_cmp_ri8;
            else if (in->handler == op_and)
                in->exec = f_and_ri8;
        }
        return;
    }
    if (in->opsize != 4 && in->opsize != 8)
        return;
    if (code_size == 8) {
        specialize64(in);
        if (in->exec != cpu_exec_generic)
            return;
    }
    bool wide = in->opsize == 8;
    if ((in->handler == op_inc || in->handler == op_dec) && reg_of(in, 0) >= 0) {
        in->fdst = (uint8_t)reg_of(in, 0);
        in->exec = in->handler == op_inc ? (wide ? f_inc_r64 : f_inc_r32)
                                            : (wide ? f_dec_r64 : f_dec_r32);
        return;
    }
    if ((in->handler == op_shl || in->handler == op_shr || in->handler == op_sar ||
         in->handler == op_rol || in->handler == op_ror) &&
        reg_of(in, 0) >= 0 && (in->opk[1] == OPK_IMM || in->opk[1] == OPK_ONE)) {
        unsigned n = (in->opk[1] == OPK_ONE ? 1u : (unsigned)in->imm) & (wide ? 63 : 31);
        if (n == 0)
            return;
        in->fdst = (uint8_t)reg_of(in, 0);
        in->rm2 = (uint8_t)n;
        in->exec = in->handler == op_shl   ? (wide ? f_shl_ri64 : f_shl_ri32)
                      : in->handler == op_shr ? (wide ? f_shr_ri64 : f_shr_ri32)
                      : in->handler == op_sar ? (wide ? f_sar_ri64 : f_sar_ri32)
                      : in->handler == op_rol ? (wide ? f_rol_ri64 : f_rol_ri32)
                                              : (wide ? f_ror_ri64 : f_ror_ri32);
        return;
    }
    if (in->handler == op_imul && in->opk[1] != OPK_NONE && reg_of(in, 1) >= 0) {
        if (in->opk[2] == OPK_NONE && reg_of(in, 0) >= 0) { /* 0F AF: Gv = Gv * Ev */
            in->fdst = (uint8_t)reg_of(in, 0);
            in->fsrc = in->fdst;
            in->rm2 = (uint8_t)reg_of(in, 1);
            in->exec = wide ? f_imul_rrr64 : f_imul_rrr32;
        } else if (in->opk[2] == OPK_IMM && reg_of(in, 0) >= 0) { /* 69/6B */
            in->fdst = (uint8_t)reg_of(in, 0);
            in->fsrc = (uint8_t)reg_of(in, 1);
            in->exec = wide ? f_imul_rri64 : f_imul_rri32;
        }
        return;
    }
    for (unsigned i = 0; i < sizeof fast_sets / sizeof fast_sets[0]; i++) {
        const struct fast_set *f = &fast_sets[i];
        if (in->handler != f->generic)
            continue;
        int d = reg_of(in, 0);
        if (d < 0)
            return;
        int s = reg_of(in, 1);
        if (s >= 0) {
            in->fdst = (uint8_t)d;
            in->fsrc = (uint8_t)s;
            in->exec = in->opsize == 8 ? f->rr64 : f->rr32;
        } else if (in->opk[1] == OPK_IMM) {
            in->fdst = (uint8_t)d;
            in->exec = in->opsize == 8 ? f->ri64 : f->ri32;
        }
        return;
    }
}

/* ---- dead flags ------------------------------------------------------------ */

/* ALU forms without a flags record, for when the next instruction of the
 * block writes all six arithmetic flags without reading any and cannot fault
 * or hand over to the reference path in between (the run loop never stops
 * between two instructions of a block except for a fault, a single step or
 * an instruction limit, and cut blocks get the full form back). */
FAST_BIN_FORMS(add, _nf, LF_DEAD, a + b, 1, CPU_NEXT(c, in))
FAST_BIN_FORMS(sub, _nf, LF_DEAD, a - b, 1, CPU_NEXT(c, in))
FAST_BIN_FORMS(cmp, _nf, LF_DEAD, a - b, 0, CPU_NEXT(c, in))
FAST_BIN_FORMS(and, _nf, LF_DEAD, a & b, 1, CPU_NEXT(c, in))
FAST_BIN_FORMS(or, _nf, LF_DEAD, a | b, 1, CPU_NEXT(c, in))
FAST_BIN_FORMS(xor, _nf, LF_DEAD, a ^ b, 1, CPU_NEXT(c, in))
FAST_BIN_FORMS(test, _nf, LF_DEAD, a & b, 0, CPU_NEXT(c, in))

static const struct {
    insn_exec plain, dead;
} deadable[] = {
#define DEAD4(n)                                                                           \
    {f_##n##_rr64, f_##n##_rr64_nf}, {f_##n##_rr32, f_##n##_rr32_nf},                      \
        {f_##n##_ri64, f_##n##_ri64_nf}, {f_##n##_ri32, f_##n##_ri32_nf},
    DEAD4(add) DEAD4(sub) DEAD4(cmp) DEAD4(and) DEAD4(or) DEAD4(xor) DEAD4(test)
#undef DEAD4
};

/* Specialised handlers that write all six arithmetic flags, read none, and
 * never hand over to the reference path. */
static bool writes_all_flags(insn_exec e)
{
    static const insn_exec all[] = {
#define W4(n) f_##n##_rr64, f_##n##_rr32, f_##n##_ri64, f_##n##_ri32,
        W4(add) W4(sub) W4(cmp) W4(and) W4(or) W4(xor) W4(test)
#undef W4
        f_imul_rrr64, f_imul_rrr32, f_imul_rri64, f_imul_rri32,
        f_shl_ri64, f_shl_ri32, f_shr_ri64, f_shr_ri32, f_sar_ri64, f_sar_ri32,
    };
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        if (e == all[i])
            return true;
    return false;
}

void cpu_drop_dead_flags(struct insn *prev, const struct insn *next)
{
    if (!writes_all_flags(next->exec))
        return;
    for (unsigned i = 0; i < sizeof deadable / sizeof deadable[0]; i++)
        if (prev->exec == deadable[i].plain) {
            prev->exec = deadable[i].dead;
            return;
        }
}

void cpu_unfuse(struct insn *in)
{
    for (unsigned i = 0; i < sizeof fusable / sizeof fusable[0]; i++)
        if (in->exec == fusable[i].fused) {
            in->exec = fusable[i].plain;
            return;
        }
    for (unsigned i = 0; i < sizeof deadable / sizeof deadable[0]; i++)
        if (in->exec == deadable[i].dead) {
            in->exec = deadable[i].plain;
            return;
        }
}
