/* Specialised handlers for the most common forms: 32- and 64-bit ALU
 * operations and MOV between registers or with an immediate. The decoder's
 * generic handler stays the reference; a specialised one must give exactly
 * the same architectural result (the differential tests run both: the
 * specialiser applies to every decoded block). */
#include "block.h"
#include "ops_gp.h"

/* Register index of operand i when it is a GPR, else -1. */
static int reg_of(const struct insn *in, unsigned i)
{
    switch (in->opk[i]) {
    case OPK_REG: return in->reg;
    case OPK_RM: return in->mod == 3 ? in->rm : -1;
    case OPK_OPREG: return in->rm;
    case OPK_ACC: return 0;
    default: return -1;
    }
}

#define FAST_BIN(name, lfop, expr, writes)                                                 \
    static void f_##name##_rr64(struct cpu *c, const struct insn *in)                     \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst], b = c->gpr[in->fsrc];                               \
        uint64_t r = (expr);                                                               \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 8, r, a, b);                                                       \
    }                                                                                      \
    static void f_##name##_rr32(struct cpu *c, const struct insn *in)                     \
    {                                                                                      \
        uint64_t a = (uint32_t)c->gpr[in->fdst], b = (uint32_t)c->gpr[in->fsrc];           \
        uint64_t r = (uint32_t)(expr);                                                     \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 4, r, a, b);                                                       \
    }                                                                                      \
    static void f_##name##_ri64(struct cpu *c, const struct insn *in)                     \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst], b = in->imm;                                        \
        uint64_t r = (expr);                                                               \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 8, r, a, b);                                                       \
    }                                                                                      \
    static void f_##name##_ri32(struct cpu *c, const struct insn *in)                     \
    {                                                                                      \
        uint64_t a = (uint32_t)c->gpr[in->fdst], b = (uint32_t)in->imm;                    \
        uint64_t r = (uint32_t)(expr);                                                     \
        if (writes)                                                                        \
            c->gpr[in->fdst] = r;                                                          \
        lf_set(c, lfop, 4, r, a, b);                                                       \
    }

FAST_BIN(add, LF_ADD, a + b, 1)
FAST_BIN(sub, LF_SUB, a - b, 1)
FAST_BIN(cmp, LF_SUB, a - b, 0)
FAST_BIN(and, LF_LOGIC, a & b, 1)
FAST_BIN(or, LF_LOGIC, a | b, 1)
FAST_BIN(xor, LF_LOGIC, a ^ b, 1)
FAST_BIN(test, LF_LOGIC, a & b, 0)

static void f_mov_rr64(struct cpu *c, const struct insn *in) { c->gpr[in->fdst] = c->gpr[in->fsrc]; }
static void f_mov_rr32(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (uint32_t)c->gpr[in->fsrc];
}
static void f_mov_ri64(struct cpu *c, const struct insn *in) { c->gpr[in->fdst] = in->imm; }
static void f_mov_ri32(struct cpu *c, const struct insn *in) { c->gpr[in->fdst] = (uint32_t)in->imm; }

/* Jcc in 64-bit mode: the target only needs the canonical check (SDM 2A
 * "Jcc": #GP(0) if the target is non-canonical). Jcc always ends its block,
 * so the run loop leaves the block anyway. */
static void f_jcc64(struct cpu *c, const struct insn *in)
{
    if (flags_cond(c, in->cc)) {
        uint64_t t = c->next_rip + in->imm;
        if (unlikely(!canonical(t)))
            cpu_fault_err(c, EXC_GP, 0);
        c->next_rip = t;
    }
}

/* JZ/JNZ: every lazy operation records its result already truncated to
 * the operand size, so ZF is res == 0 unless the flags are materialized. */
static inline bool zf_now(const struct cpu *c)
{
    return c->lf.op != LF_NONE ? c->lf.res == 0 : (c->rflags & FL_ZF) != 0;
}

static inline void jump64(struct cpu *c, const struct insn *in)
{
    uint64_t t = c->next_rip + in->imm;
    if (unlikely(!canonical(t)))
        cpu_fault_err(c, EXC_GP, 0);
    c->next_rip = t;
}

static void f_jz64(struct cpu *c, const struct insn *in)
{
    if (zf_now(c))
        jump64(c, in);
}

static void f_jnz64(struct cpu *c, const struct insn *in)
{
    if (!zf_now(c))
        jump64(c, in);
}

/* INC/DEC of a register: CF is preserved (SDM 2 "INC", "DEC"). */
#define FAST_INCDEC(name, lfop, delta)                                                     \
    static void f_##name##_r64(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst], r = a + (delta);                                    \
        c->gpr[in->fdst] = r;                                                              \
        c->lf.cf_in = flags_cf(c);                                                         \
        lf_set(c, lfop, 8, r, a, 1);                                                       \
    }                                                                                      \
    static void f_##name##_r32(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        uint64_t a = (uint32_t)c->gpr[in->fdst], r = (uint32_t)(a + (delta));              \
        c->gpr[in->fdst] = r;                                                              \
        c->lf.cf_in = flags_cf(c);                                                         \
        lf_set(c, lfop, 4, r, a, 1);                                                       \
    }
FAST_INCDEC(inc, LF_INC, 1)
FAST_INCDEC(dec, LF_DEC, (uint64_t)-1)

/* IMUL r, r/m, imm and IMUL r, r/m with register operands: the same flags
 * as the generic handler (CF = OF = overflow, SF/ZF/PF of the low half). */
static inline void imul_flags(struct cpu *c, uint64_t lo, unsigned sz, bool ovf)
{
    flags_set_arith(c, flags_szp(lo, sz) | (ovf ? (FL_CF | FL_OF) : 0));
}

static void f_imul_rrr64(struct cpu *c, const struct insn *in)
{
    __int128 p = (__int128)(int64_t)c->gpr[in->fsrc] * (int64_t)c->gpr[in->rm2];
    uint64_t lo = (uint64_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 8, (__int128)(int64_t)lo != p);
}

static void f_imul_rrr32(struct cpu *c, const struct insn *in)
{
    int64_t p = (int64_t)(int32_t)c->gpr[in->fsrc] * (int32_t)c->gpr[in->rm2];
    uint64_t lo = (uint32_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 4, (int64_t)(int32_t)lo != p);
}

static void f_imul_rri64(struct cpu *c, const struct insn *in)
{
    __int128 p = (__int128)(int64_t)c->gpr[in->fsrc] * (int64_t)in->imm;
    uint64_t lo = (uint64_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 8, (__int128)(int64_t)lo != p);
}

static void f_imul_rri32(struct cpu *c, const struct insn *in)
{
    int64_t p = (int64_t)(int32_t)c->gpr[in->fsrc] * (int32_t)in->imm;
    uint64_t lo = (uint32_t)p;
    c->gpr[in->fdst] = lo;
    imul_flags(c, lo, 4, (int64_t)(int32_t)lo != p);
}

/* LEA with a 64-bit address size (the only one in 64-bit code without 67). */
static void f_lea64(struct cpu *c, const struct insn *in)
{
    uint64_t ea = insn_ea(c, in);
    c->gpr[in->fdst] = in->opsize == 8 ? ea : (uint32_t)ea;
}

/* MOV between a register and memory, 64-bit mode: the TLB hit inline. */
static inline uint64_t load64_mode(struct cpu *c, const struct insn *in, unsigned size)
{
    uint64_t lin = insn_ea(c, in) + (in->seg >= SEG_FS ? c->seg[in->seg].base : 0);
    const struct tlb_entry *e = &c->tlb_r[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (lin >> 12) + 1 && (lin & 0xfff) <= 0x1000 - size)) {
        uint64_t v = 0;
        memcpy(&v, (const uint8_t *)(lin + e->addend), size);
        return v;
    }
    return cpu_read(c, in->seg, insn_ea(c, in), size);
}

static inline void store64_mode(struct cpu *c, const struct insn *in, unsigned size,
                                uint64_t v)
{
    uint64_t lin = insn_ea(c, in) + (in->seg >= SEG_FS ? c->seg[in->seg].base : 0);
    const struct tlb_entry *e = &c->tlb_w[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (lin >> 12) + 1 && (lin & 0xfff) <= 0x1000 - size)) {
        memcpy((uint8_t *)(lin + e->addend), &v, size);
        return;
    }
    cpu_write(c, in->seg, insn_ea(c, in), size, v);
}

static void f_mov_load64(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = load64_mode(c, in, 8);
}
static void f_mov_load32(struct cpu *c, const struct insn *in)
{
    c->gpr[in->fdst] = (uint32_t)load64_mode(c, in, 4);
}
static void f_mov_store64(struct cpu *c, const struct insn *in)
{
    store64_mode(c, in, 8, c->gpr[in->fsrc]);
}
static void f_mov_store32(struct cpu *c, const struct insn *in)
{
    store64_mode(c, in, 4, c->gpr[in->fsrc]);
}

/* JMP rel in 64-bit mode. */
static void f_jmp64(struct cpu *c, const struct insn *in)
{
    uint64_t t = c->next_rip + in->imm;
    if (unlikely(!canonical(t)))
        cpu_fault_err(c, EXC_GP, 0);
    c->next_rip = t;
    c->end_block = true;
}

/* Shifts and rotates of a register by a non-zero immediate count (the
 * count is masked at specialisation time; a masked count of 0 keeps the
 * generic handler, which has the count-0 rules). Flags as ops_shift.c. */
#define SHIFT_FAST(bits, T, ST)                                                            \
    static void f_shl_ri##bits(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        uint64_t v = (T)c->gpr[in->fdst], r = (T)(v << n);                                 \
        bool cf = (v >> (bits - n)) & 1;                                                   \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0) |                     \
                               ((((r >> (bits - 1)) & 1) ^ cf) ? FL_OF : 0));              \
    }                                                                                      \
    static void f_shr_ri##bits(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        uint64_t v = (T)c->gpr[in->fdst], r = v >> n;                                      \
        bool cf = (v >> (n - 1)) & 1;                                                      \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0) |                     \
                               ((((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1) ? FL_OF : 0)); \
    }                                                                                      \
    static void f_sar_ri##bits(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        ST sv = (ST)c->gpr[in->fdst];                                                      \
        uint64_t r = (T)(sv >> n);                                                         \
        bool cf = (sv >> (n - 1)) & 1;                                                     \
        c->gpr[in->fdst] = r;                                                              \
        flags_set_arith(c, flags_szp(r, bits / 8) | (cf ? FL_CF : 0));                     \
    }                                                                                      \
    static void f_rol_ri##bits(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        T v = (T)c->gpr[in->fdst];                                                         \
        T r = (T)((v << n) | (v >> (bits - n)));                                           \
        bool cf = r & 1;                                                                   \
        c->gpr[in->fdst] = r;                                                              \
        flags_materialize(c);                                                              \
        c->rflags = (c->rflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) |                    \
                    ((((r >> (bits - 1)) & 1) ^ cf) ? FL_OF : 0);                          \
    }                                                                                      \
    static void f_ror_ri##bits(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        unsigned n = in->rm2;                                                              \
        T v = (T)c->gpr[in->fdst];                                                         \
        T r = (T)((v >> n) | (v << (bits - n)));                                           \
        bool cf = (r >> (bits - 1)) & 1;                                                   \
        c->gpr[in->fdst] = r;                                                              \
        flags_materialize(c);                                                              \
        c->rflags = (c->rflags & ~(FL_CF | FL_OF)) | (cf ? FL_CF : 0) |                    \
                    ((cf ^ ((r >> (bits - 2)) & 1)) ? FL_OF : 0);                          \
    }
SHIFT_FAST(64, uint64_t, int64_t)
SHIFT_FAST(32, uint32_t, int32_t)

/* Stack accesses of 64-bit code: SS has base 0 and only the canonical check
 * applies (cpu_read/cpu_write do it on the slow path, with #SS). */
static inline uint64_t stack_load64(struct cpu *c, uint64_t lin)
{
    const struct tlb_entry *e = &c->tlb_r[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (lin >> 12) + 1 && (lin & 0xfff) <= 0x1000 - 8)) {
        uint64_t v;
        memcpy(&v, (const uint8_t *)(lin + e->addend), 8);
        return v;
    }
    return cpu_read(c, SEG_SS, lin, 8);
}

static inline void stack_store64(struct cpu *c, uint64_t lin, uint64_t v)
{
    const struct tlb_entry *e = &c->tlb_w[c->cpl == 3][(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (lin >> 12) + 1 && (lin & 0xfff) <= 0x1000 - 8)) {
        memcpy((uint8_t *)(lin + e->addend), &v, 8);
        return;
    }
    cpu_write(c, SEG_SS, lin, 8, v);
}

/* CALL rel / RET in 64-bit mode (operand size is always 64 there): target
 * check first, then the stack access, RSP last (SDM 2A "CALL", "RET"). */
static void f_call64(struct cpu *c, const struct insn *in)
{
    uint64_t t = c->next_rip + in->imm;
    if (unlikely(!canonical(t)))
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t rsp = c->gpr[4] - 8;
    stack_store64(c, rsp, c->next_rip);
    c->gpr[4] = rsp;
    c->next_rip = t;
}

static void f_ret64(struct cpu *c, const struct insn *in)
{
    uint64_t rsp = c->gpr[4];
    uint64_t t = stack_load64(c, rsp);
    if (unlikely(!canonical(t)))
        cpu_fault_err(c, EXC_GP, 0);
    c->gpr[4] = rsp + 8;
    c->next_rip = t;
}

/* 8-bit ALU forms on AL/CL/DL/BL (or any low byte with REX): TEST, CMP, AND
 * with an immediate or a register. */
#define FAST_BIN8(name, lfop, expr, writes)                                                \
    static void f_##name##_ri8(struct cpu *c, const struct insn *in)                      \
    {                                                                                      \
        uint64_t a = c->gpr[in->fdst] & 0xff, b = in->imm & 0xff;                          \
        uint64_t r = (expr) & 0xff;                                                        \
        if (writes)                                                                        \
            c->gpr[in->fdst] = (c->gpr[in->fdst] & ~0xffull) | r;                          \
        lf_set(c, lfop, 1, r, a, b);                                                       \
    }
FAST_BIN8(test, LF_LOGIC, a & b, 0)
FAST_BIN8(cmp, LF_SUB, a - b, 0)
FAST_BIN8(and, LF_LOGIC, a & b, 1)

struct fast_set {
    insn_handler generic;
    insn_handler rr64, rr32, ri64, ri32;
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
    bool wide = in->opsize == 8;
    if (in->handler == op_call && in->opk[0] == OPK_REL && (in->flags & IF_ENDS_BLOCK)) {
        in->handler = f_call64;
    } else if (in->handler == op_ret && in->opk[0] == OPK_NONE &&
               (in->flags & IF_ENDS_BLOCK)) {
        in->handler = f_ret64;
    } else if (in->handler == op_jcc && (in->flags & IF_ENDS_BLOCK)) {
        in->handler = in->cc == 4 ? f_jz64 : in->cc == 5 ? f_jnz64 : f_jcc64;
    } else if (in->handler == op_jmp && in->opk[0] == OPK_REL) {
        in->handler = f_jmp64;
    } else if (in->handler == op_lea && in->mod != 3 && in->addrsize == 8) {
        in->fdst = in->reg;
        in->handler = f_lea64;
    } else if (in->handler == op_mov && in->mod != 3 && in->opk[0] == OPK_REG &&
               in->opk[1] == OPK_RM && in->addrsize == 8) {
        in->fdst = in->reg;
        in->handler = wide ? f_mov_load64 : f_mov_load32;
    } else if (in->handler == op_mov && in->mod != 3 && in->opk[0] == OPK_RM &&
               in->opk[1] == OPK_REG && in->addrsize == 8) {
        in->fsrc = in->reg;
        in->handler = wide ? f_mov_store64 : f_mov_store32;
    }
}

void cpu_specialize(struct insn *in, unsigned code_size)
{
    if (in->pfx & PFX_LOCK)
        return;
    if (in->opsize == 1) {
        int d = reg_of(in, 0);
        /* without REX, 4-7 name AH..BH: leave those to the generic path */
        if (d >= 0 && (in->rex || d < 4) && in->opk[1] == OPK_IMM) {
            in->fdst = (uint8_t)d;
            if (in->handler == op_test)
                in->handler = f_test_ri8;
            else if (in->handler == op_cmp)
                in->handler = f_cmp_ri8;
            else if (in->handler == op_and)
                in->handler = f_and_ri8;
        }
        return;
    }
    if (in->opsize != 4 && in->opsize != 8)
        return;
    if (code_size == 8) {
        insn_handler before = in->handler;
        specialize64(in);
        if (in->handler != before)
            return;
    }
    bool wide = in->opsize == 8;
    if ((in->handler == op_inc || in->handler == op_dec) && reg_of(in, 0) >= 0) {
        in->fdst = (uint8_t)reg_of(in, 0);
        in->handler = in->handler == op_inc ? (wide ? f_inc_r64 : f_inc_r32)
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
        in->handler = in->handler == op_shl   ? (wide ? f_shl_ri64 : f_shl_ri32)
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
            in->handler = wide ? f_imul_rrr64 : f_imul_rrr32;
        } else if (in->opk[2] == OPK_IMM && reg_of(in, 0) >= 0) { /* 69/6B */
            in->fdst = (uint8_t)reg_of(in, 0);
            in->fsrc = (uint8_t)reg_of(in, 1);
            in->handler = wide ? f_imul_rri64 : f_imul_rri32;
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
            in->handler = in->opsize == 8 ? f->rr64 : f->rr32;
        } else if (in->opk[1] == OPK_IMM) {
            in->fdst = (uint8_t)d;
            in->handler = in->opsize == 8 ? f->ri64 : f->ri32;
        }
        return;
    }
}
