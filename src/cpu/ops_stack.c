/* Stack instructions: PUSH, POP, PUSHA, POPA, ENTER, LEAVE (SDM 2 pages of
 * the same names; SDM 1 "Stack Behavior in 64-Bit Mode"). All memory is
 * read and written before RSP/RBP and destination registers change. */
#include "ops_gp.h"

static inline uint64_t sp_add(const struct cpu *c, uint64_t rsp, uint64_t delta)
{
    uint64_t mask = cpu_stack_addr_mask(c);
    return (rsp & ~mask) | ((rsp + delta) & mask);
}

static inline uint64_t stack_read(struct cpu *c, uint64_t rsp, unsigned size)
{
    return cpu_read(c, SEG_SS, rsp & cpu_stack_addr_mask(c), size);
}

static inline void stack_write(struct cpu *c, uint64_t rsp, unsigned size, uint64_t v)
{
    cpu_write(c, SEG_SS, rsp & cpu_stack_addr_mask(c), size, v);
}

/* PUSH r/m, r, imm (sign-extended by the decoder). PUSH RSP pushes the value
 * before the push. */
void op_push(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_stack_osize(c, in);
    cpu_push(c, os, gp_read(c, in, 0, os));
}

/* POP r/m: with an RSP-based memory destination the address is computed
 * after RSP is incremented (SDM 2 "POP"); POP RSP leaves the popped value. */
void op_pop(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_stack_osize(c, in);
    uint64_t rsp = c->gpr[4];
    uint64_t v = stack_read(c, rsp, os);
    uint64_t nsp = sp_add(c, rsp, os);
    if (gp_is_mem(in, 0) && in->opk[0] != OPK_MOFFS) {
        uint64_t ea = insn_ea(c, in);
        if (in->base == 4)
            ea = (ea + (nsp - rsp)) & size_mask(in->addrsize);
        cpu_write(c, in->seg, ea, os, v);
        c->gpr[4] = nsp;
        return;
    }
    c->gpr[4] = nsp;
    gp_write(c, in, 0, os, v);
}

/* PUSHA / PUSHAD (invalid in 64-bit mode: the row carries i64). */
void op_pusha(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_osize(c, in);
    uint64_t rsp = c->gpr[4];
    uint64_t sp = rsp;
    /* EAX ECX EDX EBX, the original ESP, EBP ESI EDI */
    for (unsigned i = 0; i < 8; i++) {
        sp = sp_add(c, sp, (uint64_t)-(int64_t)os);
        stack_write(c, sp, os, c->gpr[i]);
    }
    c->gpr[4] = sp;
}

/* POPA / POPAD: the saved rSP image is skipped. */
void op_popa(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_osize(c, in);
    uint64_t sp = c->gpr[4];
    uint64_t v[8];
    for (int i = 7; i >= 0; i--) {
        v[i] = stack_read(c, sp, os);
        sp = sp_add(c, sp, os);
    }
    for (unsigned i = 0; i < 8; i++)
        if (i != 4)
            reg_write(c, i, os, true, v[i]);
    c->gpr[4] = sp;
}

/* ENTER imm16, imm8 (SDM 2 "ENTER" Operation). */
void op_enter(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_stack_osize(c, in);
    uint64_t alloc = in->imm & 0xffff;
    unsigned level = (unsigned)in->imm2 & 31;
    uint64_t smask = cpu_stack_addr_mask(c);
    uint64_t neg = (uint64_t)-(int64_t)os;
    uint64_t sp = sp_add(c, c->gpr[4], neg);
    uint64_t rbp = c->gpr[5];
    stack_write(c, sp, os, rbp);
    uint64_t frame_temp = sp;
    if (level > 0) {
        uint64_t bp = rbp;
        for (unsigned i = 1; i < level; i++) {
            bp = (bp & ~smask) | ((bp + neg) & smask);
            uint64_t v = stack_read(c, bp, os);
            sp = sp_add(c, sp, neg);
            stack_write(c, sp, os, v);
        }
        sp = sp_add(c, sp, neg);
        stack_write(c, sp, os, frame_temp);
    }
    sp = sp_add(c, sp, (uint64_t)-(int64_t)alloc);
    /* rBP gets FrameTemp at the stack address size, like rSP */
    c->gpr[5] = (rbp & ~smask) | (frame_temp & smask);
    c->gpr[4] = sp;
}

/* LEAVE: rSP = rBP (stack address size), then pop rBP. */
void op_leave(struct cpu *c, const struct insn *in)
{
    unsigned os = gp_stack_osize(c, in);
    uint64_t smask = cpu_stack_addr_mask(c);
    uint64_t sp = (c->gpr[4] & ~smask) | (c->gpr[5] & smask);
    uint64_t v = stack_read(c, sp, os);
    c->gpr[4] = sp_add(c, sp, os);
    reg_write(c, 5, os, true, v);
}
