/* Generic operand access for predecoded instructions, and the stack. */
#include "cpu_internal.h"

uint64_t opnd_read(struct cpu *c, const struct insn *in, unsigned i, unsigned size)
{
    switch (in->opk[i]) {
    case OPK_RM:
        if (in->mod == 3)
            return reg_read(c, in->rm, size, in->rex != 0);
        /* fall through */
    case OPK_MEM:
        return cpu_read(c, in->seg, insn_ea(c, in), size);
    case OPK_REG:
        return reg_read(c, in->reg, size, in->rex != 0);
    case OPK_OPREG:
        return reg_read(c, in->rm, size, in->rex != 0);
    case OPK_ACC:
        return c->gpr[0] & size_mask(size);
    case OPK_IMM:
    case OPK_REL:
    case OPK_FAR:
        return in->imm & size_mask(size);
    case OPK_MOFFS:
        return cpu_read(c, in->seg, (uint64_t)in->disp & size_mask(in->addrsize), size);
    case OPK_ONE:
        return 1;
    case OPK_CL:
        return c->gpr[1] & 0xff;
    case OPK_DX:
        return c->gpr[2] & 0xffff;
    case OPK_SREG:
        return c->seg[in->reg & 7].sel;
    case OPK_CREG:
    case OPK_DREG:
    case OPK_NONE:
    default:
        return 0;
    }
}

void opnd_write(struct cpu *c, const struct insn *in, unsigned i, unsigned size, uint64_t v)
{
    switch (in->opk[i]) {
    case OPK_RM:
        if (in->mod == 3) {
            reg_write(c, in->rm, size, in->rex != 0, v);
            return;
        }
        /* fall through */
    case OPK_MEM:
        cpu_write(c, in->seg, insn_ea(c, in), size, v);
        return;
    case OPK_REG:
        reg_write(c, in->reg, size, in->rex != 0, v);
        return;
    case OPK_OPREG:
        reg_write(c, in->rm, size, in->rex != 0, v);
        return;
    case OPK_ACC:
        reg_write(c, 0, size, false, v);
        return;
    case OPK_MOFFS:
        cpu_write(c, in->seg, (uint64_t)in->disp & size_mask(in->addrsize), size, v);
        return;
    default:
        return; /* immediates and the like are not writable: the table says so */
    }
}

/* Stack address size: 64 in 64-bit mode, else SS.B (SDM 3A "Stack-Segment
 * Descriptor ... B flag"). */
uint64_t cpu_stack_addr_mask(const struct cpu *c)
{
    if (c->mode == MODE_LONG64)
        return ~0ull;
    return (c->seg[SEG_SS].ar & AR_DB) ? 0xffffffffull : 0xffffull;
}

void cpu_push(struct cpu *c, unsigned size, uint64_t v)
{
    uint64_t mask = cpu_stack_addr_mask(c);
    uint64_t rsp = c->gpr[4];
    uint64_t nsp = (rsp - size) & mask;
    cpu_write(c, SEG_SS, nsp, size, v);
    c->gpr[4] = (rsp & ~mask) | nsp;
}

uint64_t cpu_pop(struct cpu *c, unsigned size)
{
    uint64_t mask = cpu_stack_addr_mask(c);
    uint64_t rsp = c->gpr[4];
    uint64_t v = cpu_read(c, SEG_SS, rsp & mask, size);
    c->gpr[4] = (rsp & ~mask) | ((rsp + size) & mask);
    return v;
}
