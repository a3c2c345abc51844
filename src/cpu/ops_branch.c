/* Near control transfers: Jcc, JMP, CALL, RET, LOOP/LOOPcc, JrCXZ (SDM 2
 * "Jcc", "JMP", "CALL", "RET", "LOOP/LOOPcc"). Handlers write c->next_rip
 * only. In 64-bit mode near branches are always 64-bit: a 66 prefix is
 * ignored, as on Intel processors (SDM 2 "JMP": "In 64-bit mode, operand
 * size is fixed at 64 bits"; SDM 2 "CALL"/"RET" likewise on Intel 64). */
#include "ops_gp.h"

/* Operand size of a near branch: 8 in 64-bit mode, else the code size
 * toggled by 66. */
static inline unsigned branch_osize(const struct cpu *c, const struct insn *in)
{
    if (c->mode == MODE_LONG64)
        return 8;
    return gp_osize(c, in);
}

/* Validate a near target: SDM 2 "JMP" Operation: #GP(0) if the target is
 * non-canonical (64-bit mode) or beyond the CS limit (otherwise). The
 * target is truncated to the operand size first. */
static uint64_t near_target(struct cpu *c, uint64_t t, unsigned osize)
{
    if (c->mode == MODE_LONG64) {
        if (unlikely(!canonical(t)))
            cpu_fault_err(c, EXC_GP, 0);
        return t;
    }
    t &= size_mask(osize);
    if (unlikely(t > c->seg[SEG_CS].limit))
        cpu_fault_err(c, EXC_GP, 0);
    return t;
}

static inline void jump_rel(struct cpu *c, const struct insn *in)
{
    c->next_rip = near_target(c, c->next_rip + in->imm, branch_osize(c, in));
    c->end_block = true;
}

void op_jcc(struct cpu *c, const struct insn *in)
{
    if (flags_cond(c, in->cc))
        jump_rel(c, in);
}

void op_jmp(struct cpu *c, const struct insn *in) { jump_rel(c, in); }

void op_jmp_ind(struct cpu *c, const struct insn *in)
{
    unsigned os = branch_osize(c, in);
    c->next_rip = near_target(c, gp_read(c, in, 0, os), os);
    c->end_block = true;
}

/* The return address is pushed only after the target checks pass; the push
 * itself (cpu_push) updates RSP only after the write succeeded. */
void op_call(struct cpu *c, const struct insn *in)
{
    unsigned os = branch_osize(c, in);
    uint64_t t = near_target(c, c->next_rip + in->imm, os);
    cpu_push(c, os, c->next_rip);
    c->next_rip = t;
    c->end_block = true;
}

void op_call_ind(struct cpu *c, const struct insn *in)
{
    unsigned os = branch_osize(c, in);
    uint64_t t = near_target(c, gp_read(c, in, 0, os), os);
    cpu_push(c, os, c->next_rip);
    c->next_rip = t;
    c->end_block = true;
}

/* RET / RET imm16: read the return address, check it, then release
 * osize + imm16 bytes of stack (at the stack address size). */
static void near_return(struct cpu *c, const struct insn *in, uint64_t release)
{
    unsigned os = branch_osize(c, in);
    uint64_t mask = cpu_stack_addr_mask(c);
    uint64_t rsp = c->gpr[4];
    uint64_t t = near_target(c, cpu_read(c, SEG_SS, rsp & mask, os), os);
    c->gpr[4] = (rsp & ~mask) | ((rsp + os + release) & mask);
    c->next_rip = t;
    c->end_block = true;
}

/* C3 and C2 Iw share one row handler: the immediate, if any, is operand 0. */
void op_ret(struct cpu *c, const struct insn *in)
{
    near_return(c, in, in->opk[0] == OPK_IMM ? in->imm & 0xffff : 0);
}

void op_ret_imm(struct cpu *c, const struct insn *in) { near_return(c, in, in->imm & 0xffff); }

/* LOOP family: the count register is CX, ECX or RCX by address size. The
 * decrement commits only if the branch target is valid. */
static void loop_common(struct cpu *c, const struct insn *in, int zf_want)
{
    uint64_t am = size_mask(in->addrsize);
    uint64_t cx = (c->gpr[1] - 1) & am;
    bool take = cx != 0;
    if (take && zf_want >= 0)
        take = flags_cond(c, 4) == (zf_want != 0);
    uint64_t t = take ? near_target(c, c->next_rip + in->imm, branch_osize(c, in)) : 0;
    reg_write(c, 1, in->addrsize, true, cx);
    if (take) {
        c->next_rip = t;
        c->end_block = true;
    }
}

void op_loop(struct cpu *c, const struct insn *in) { loop_common(c, in, -1); }
void op_loope(struct cpu *c, const struct insn *in) { loop_common(c, in, 1); }
void op_loopne(struct cpu *c, const struct insn *in) { loop_common(c, in, 0); }

void op_jrcxz(struct cpu *c, const struct insn *in)
{
    if ((c->gpr[1] & size_mask(in->addrsize)) == 0)
        jump_rel(c, in);
}
