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

struct fast_set {
    insn_handler generic;
    insn_handler rr64, rr32, ri64, ri32;
};

#define SET(name) { op_##name, f_##name##_rr64, f_##name##_rr32, f_##name##_ri64, f_##name##_ri32 }
static const struct fast_set fast_sets[] = {
    SET(add), SET(sub), SET(cmp), SET(and), SET(or), SET(xor), SET(test), SET(mov),
};
#undef SET

void cpu_specialize(struct insn *in, unsigned code_size)
{
    if (in->handler == op_jcc && code_size == 8 && (in->flags & IF_ENDS_BLOCK)) {
        in->handler = in->cc == 4 ? f_jz64 : in->cc == 5 ? f_jnz64 : f_jcc64;
        return;
    }
    if (in->pfx & PFX_LOCK)
        return;
    if (in->opsize != 4 && in->opsize != 8)
        return;
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
