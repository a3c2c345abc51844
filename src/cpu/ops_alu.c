/* Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC
 * NEG NOT (SDM 2 instruction pages). Flags are recorded lazily (flags.c).
 * Every handler reads its operands, writes the destination (which may fault)
 * and only then records the flags, so a fault leaves no partial update. */
#include "ops_gp.h"

#define ALU_BINARY(name, lfop, expr, writes)                                               \
    void op_##name(struct cpu *c, const struct insn *in)                                   \
    {                                                                                      \
        unsigned sz = in->opsize;                                                          \
        uint64_t m = size_mask(sz);                                                        \
        uint64_t a = gp_read(c, in, 0, sz);                                                \
        uint64_t b = gp_read(c, in, 1, sz) & m;                                            \
        uint64_t r = (expr) & m;                                                           \
        if (writes)                                                                        \
            gp_write(c, in, 0, sz, r);                                                     \
        lf_set(c, lfop, sz, r, a, b);                                                      \
    }

ALU_BINARY(add, LF_ADD, a + b, 1)
ALU_BINARY(sub, LF_SUB, a - b, 1)
ALU_BINARY(cmp, LF_SUB, a - b, 0)
ALU_BINARY(and, LF_LOGIC, a & b, 1)
ALU_BINARY(or, LF_LOGIC, a | b, 1)
ALU_BINARY(xor, LF_LOGIC, a ^ b, 1)
ALU_BINARY(test, LF_LOGIC, a & b, 0)

/* ADC / SBB: the carry in is folded into the result; flags.c recovers carry
 * and borrow from (src1, src2, res) alone. */
void op_adc(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t m = size_mask(sz);
    uint64_t cin = flags_cf(c);
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t b = gp_read(c, in, 1, sz) & m;
    uint64_t r = (a + b + cin) & m;
    gp_write(c, in, 0, sz, r);
    lf_set(c, LF_ADC, sz, r, a, b);
}

void op_sbb(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t m = size_mask(sz);
    uint64_t cin = flags_cf(c);
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t b = gp_read(c, in, 1, sz) & m;
    uint64_t r = (a - b - cin) & m;
    gp_write(c, in, 0, sz, r);
    lf_set(c, LF_SBB, sz, r, a, b);
}

/* INC / DEC preserve CF (SDM 2 "INC", "DEC"). */
void op_inc(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t r = (a + 1) & size_mask(sz);
    gp_write(c, in, 0, sz, r);
    c->lf.cf_in = flags_cf(c);
    lf_set(c, LF_INC, sz, r, a, 1);
}

void op_dec(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t r = (a - 1) & size_mask(sz);
    gp_write(c, in, 0, sz, r);
    c->lf.cf_in = flags_cf(c);
    lf_set(c, LF_DEC, sz, r, a, 1);
}

void op_neg(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t r = (0 - a) & size_mask(sz);
    gp_write(c, in, 0, sz, r);
    lf_set(c, LF_NEG, sz, r, a, 0);
}

/* NOT affects no flags. */
void op_not(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    gp_write(c, in, 0, sz, ~gp_read(c, in, 0, sz));
}
