/* Control transfers that may change CS or the privilege level: far JMP, CALL
 * and RET (call gates included), INT n/INT3/INTO/INT1, IRET, SYSCALL/SYSRET
 * and SYSENTER/SYSEXIT. Every handler checks and reads first and commits
 * CS, SS, RSP, RIP and RFLAGS last. */
#include "except.h"
#include "seg.h"
#include "task_switch.h"

#include "nvmx/cpu_hooks.h"

void op_jmp_far(struct cpu *c, const struct insn *in);
void op_jmp_far_ind(struct cpu *c, const struct insn *in);
void op_call_far(struct cpu *c, const struct insn *in);
void op_call_far_ind(struct cpu *c, const struct insn *in);
void op_ret_far(struct cpu *c, const struct insn *in);
void op_int(struct cpu *c, const struct insn *in);
void op_int3(struct cpu *c, const struct insn *in);
void op_into(struct cpu *c, const struct insn *in);
void op_int1(struct cpu *c, const struct insn *in);
void op_iret(struct cpu *c, const struct insn *in);
void op_syscall(struct cpu *c, const struct insn *in);
void op_sysret(struct cpu *c, const struct insn *in);
void op_sysenter(struct cpu *c, const struct insn *in);
void op_sysexit(struct cpu *c, const struct insn *in);

static _Noreturn void gp(struct cpu *c, uint32_t err) { cpu_fault_err(c, EXC_GP, err); }

/* Operand size of far transfers, from the prefixes (SDM 2A "CALL",
 * "JMP", "RET", "IRET": REX.W selects 64 bits, 66 toggles 16/32). */
static unsigned far_osize(const struct cpu *c, const struct insn *in)
{
    if (cpu_is_64(c) && (in->rex & 8))
        return 8;
    unsigned s = c->code_size == 2 ? 2 : 4;
    if (in->pfx & PFX_OPSIZE)
        s = s == 2 ? 4 : 2;
    return s;
}

static bool is_real(const struct cpu *c) { return c->mode == MODE_REAL || c->mode == MODE_V86; }

/* The stack as it is now, accessed at the current CPL. */
static struct stack_ref cur_stack(struct cpu *c)
{
    struct stack_ref st = { .ss = &c->seg[SEG_SS], .long64 = cpu_is_64(c), .err = 0 };
    return st;
}

static uint64_t cur_sp(struct cpu *c, const struct stack_ref *st)
{
    return c->gpr[4] & seg_stack_mask(st);
}

static void set_sp(struct cpu *c, const struct stack_ref *st, uint64_t sp)
{
    uint64_t mask = seg_stack_mask(st);
    c->gpr[4] = (c->gpr[4] & ~mask) | (sp & mask);
}

/* The new RIP must lie within the target CS limit, or be canonical when
 * the target is 64-bit code (SDM 2A "JMP", "CALL", "RET": #GP(0)). */
static void check_target(struct cpu *c, const uint64_t d[2], uint64_t ip)
{
    if (cpu_long_active(c) && DESC_L(d[0])) {
        if (!canonical(ip))
            gp(c, 0);
        return;
    }
    struct seg_reg t;
    seg_from_descriptor(&t, 0, d[0], 0);
    if (ip > t.limit)
        gp(c, 0);
}

static void load_cs(struct cpu *c, uint16_t sel, const uint64_t d[2], unsigned cpl)
{
    seg_set_accessed(c, sel, d[0]);
    seg_commit(c, SEG_CS, (uint16_t)((sel & 0xfffcu) | cpl), d[0], 0);
    cpu_update_mode(c);
    c->end_block = true;
}

/* Code-segment descriptor for a far JMP/CALL target or a gate's selector. */
static void read_code_desc(struct cpu *c, uint16_t sel, uint64_t d[2])
{
    if (SEL_NULL(sel))
        gp(c, 0);
    seg_read_descriptor(c, sel, d, EXC_GP);
}

/* In IA-32e mode a code segment with L = 1 and D = 1 is reserved. */
static void check_code_mode(struct cpu *c, uint16_t sel, const uint64_t d[2])
{
    if (cpu_long_active(c) && DESC_L(d[0]) && DESC_DB(d[0]))
        gp(c, sel & 0xfffcu);
}

/* ---- far JMP / CALL ------------------------------------------------------ */

struct far_target {
    uint16_t sel;
    uint64_t off;
    unsigned osize;
};

static void far_real(struct cpu *c, const struct far_target *t, bool call)
{
    uint64_t ip = t->off & size_mask(t->osize);
    if (ip > c->seg[SEG_CS].limit)
        gp(c, 0);
    if (call) {
        struct stack_ref st = cur_stack(c);
        uint64_t v[2] = { c->seg[SEG_CS].sel, c->next_rip };
        set_sp(c, &st, seg_stack_push(c, &st, cur_sp(c, &st), t->osize, v, 2));
    }
    seg_load_real(c, SEG_CS, t->sel);
    c->next_rip = ip;
    c->end_block = true;
}

/* Direct far JMP/CALL to a code segment (SDM 2A "JMP": CONFORMING- and
 * NONCONFORMING-CODE-SEGMENT; "CALL": the same, pushing CS:rIP). */
static void far_to_code(struct cpu *c, const struct far_target *t, const uint64_t d[2],
                        bool call)
{
    uint32_t selerr = t->sel & 0xfffcu;
    if (desc_conforming(d[0])) {
        if (DESC_DPL(d[0]) > c->cpl)
            gp(c, selerr);
    } else if (SEL_RPL(t->sel) > c->cpl || DESC_DPL(d[0]) != c->cpl) {
        gp(c, selerr);
    }
    check_code_mode(c, t->sel, d);
    if (!DESC_P(d[0]))
        cpu_fault_err(c, EXC_NP, selerr);
    uint64_t ip = t->off & size_mask(t->osize);
    check_target(c, d, ip);
    if (call) {
        struct stack_ref st = cur_stack(c);
        uint64_t v[2] = { c->seg[SEG_CS].sel, c->next_rip };
        set_sp(c, &st, seg_stack_push(c, &st, cur_sp(c, &st), t->osize, v, 2));
    }
    load_cs(c, t->sel, d, c->cpl);
    c->next_rip = ip;
}

/* CALL through a gate to a more privileged non-conforming segment: new
 * stack from the TSS (SDM 2A "CALL", CALL-GATE-MORE-PRIVILEGE). */
static void call_gate_inner(struct cpu *c, const uint64_t gate[2], uint16_t csel,
                            const uint64_t cd[2], uint64_t ip)
{
    unsigned dpl = DESC_DPL(cd[0]);
    unsigned gtype = DESC_TYPE(gate[0]);
    struct stack_ref old = cur_stack(c);
    uint64_t old_sp = cur_sp(c, &old);

    if (cpu_long_active(c)) {
        /* 64-bit call gate: RSP from the TSS, SS = NULL with RPL = new CPL. */
        uint64_t rsp = seg_tss_read(c, 4 + 8 * dpl, 8, 0);
        struct stack_ref st = { .long64 = true, .acc_sys = true, .err = 0 };
        uint64_t v[4] = { c->seg[SEG_SS].sel, c->gpr[4], c->seg[SEG_CS].sel, c->next_rip };
        rsp = seg_stack_push(c, &st, rsp, 8, v, 4);
        load_cs(c, csel, cd, dpl);
        seg_load_null(c, SEG_SS, (uint16_t)dpl);
        c->gpr[4] = rsp;
        c->next_rip = ip;
        return;
    }

    unsigned tss_type = c->tr.ar & AR_TYPE_MASK;
    bool tss32 = tss_type == SYS_TSS_AVAIL || tss_type == SYS_TSS_BUSY;
    uint64_t sp, sd[2];
    uint16_t ss;
    if (tss32) {
        sp = seg_tss_read(c, 4 + 8 * dpl, 4, 0);
        ss = (uint16_t)seg_tss_read(c, 8 + 8 * dpl, 2, 0);
    } else {
        sp = seg_tss_read(c, 2 + 4 * dpl, 2, 0);
        ss = (uint16_t)seg_tss_read(c, 4 + 4 * dpl, 2, 0);
    }
    uint32_t sserr = ss & 0xfffcu;
    if (SEL_NULL(ss) || !seg_probe_descriptor(c, ss, sd))
        cpu_fault_err(c, EXC_TS, sserr);
    if (SEL_RPL(ss) != dpl || DESC_DPL(sd[0]) != dpl || !desc_writable_data(sd[0]))
        cpu_fault_err(c, EXC_TS, sserr);
    if (!DESC_P(sd[0]))
        cpu_fault_err(c, EXC_SS, sserr);

    unsigned size = gtype == SYS_CALL_GATE ? 4 : 2;
    unsigned count = (unsigned)(gate[0] >> 32) & 0x1f;
    uint64_t v[4 + 31], *p = v;
    *p++ = c->seg[SEG_SS].sel;
    *p++ = c->gpr[4];
    /* Parameters keep their order: the deepest one is copied first. */
    for (unsigned i = count; i-- > 0;)
        *p++ = cpu_read(c, SEG_SS, (old_sp + i * size) & seg_stack_mask(&old), size);
    *p++ = c->seg[SEG_CS].sel;
    *p++ = c->next_rip;

    struct seg_reg new_ss;
    seg_from_descriptor(&new_ss, ss, sd[0] | DESC_ACCESSED, 0);
    struct stack_ref st = { .ss = &new_ss, .acc_sys = true, .err = sserr };
    sp = seg_stack_push(c, &st, sp, size, v, (unsigned)(p - v));

    seg_set_accessed(c, ss, sd[0]);
    c->seg[SEG_SS] = new_ss;
    c->gpr[4] = sp & seg_stack_mask(&st);
    load_cs(c, csel, cd, dpl);
    c->next_rip = ip;
}

/* JMP/CALL through a call gate (SDM 2A "JMP" and "CALL", CALL-GATE;
 * SDM 3A "Call Gates", "IA-32e Mode Call Gates"). */
static void far_gate(struct cpu *c, const struct far_target *t, const uint64_t g[2], bool call)
{
    uint32_t selerr = t->sel & 0xfffcu;
    unsigned type = DESC_TYPE(g[0]);
    bool ia32e = cpu_long_active(c);
    bool ok = ia32e ? type == SYS_CALL_GATE && ((g[1] >> 40) & 0x1f) == 0
                    : type == SYS_CALL_GATE || type == SYS_CALL_GATE16;
    if (!ok)
        gp(c, selerr);
    if (DESC_DPL(g[0]) < c->cpl || DESC_DPL(g[0]) < SEL_RPL(t->sel))
        gp(c, selerr);
    if (!DESC_P(g[0]))
        cpu_fault_err(c, EXC_NP, selerr);

    uint16_t csel = (uint16_t)(g[0] >> 16);
    uint64_t ip = (g[0] & 0xffffull) | ((g[0] >> 32) & 0xffff0000ull);
    if (ia32e)
        ip |= (g[1] & 0xffffffffull) << 32;
    if (type == SYS_CALL_GATE16)
        ip &= 0xffff;
    uint64_t cd[2];
    read_code_desc(c, csel, cd);
    uint32_t cerr = csel & 0xfffcu;
    if (!desc_is_code(cd[0]) || DESC_DPL(cd[0]) > c->cpl)
        gp(c, cerr);
    if (!call && !desc_conforming(cd[0]) && DESC_DPL(cd[0]) != c->cpl)
        gp(c, cerr);
    if (ia32e && !(DESC_L(cd[0]) && !DESC_DB(cd[0])))
        gp(c, cerr);
    if (!DESC_P(cd[0]))
        cpu_fault_err(c, EXC_NP, cerr);
    check_target(c, cd, ip);

    if (call && !desc_conforming(cd[0]) && DESC_DPL(cd[0]) < c->cpl) {
        call_gate_inner(c, g, csel, cd, ip);
        return;
    }
    if (call) {
        unsigned size = ia32e ? 8 : type == SYS_CALL_GATE ? 4 : 2;
        struct stack_ref st = cur_stack(c);
        uint64_t v[2] = { c->seg[SEG_CS].sel, c->next_rip };
        set_sp(c, &st, seg_stack_push(c, &st, cur_sp(c, &st), size, v, 2));
    }
    load_cs(c, csel, cd, c->cpl);
    c->next_rip = ip;
}

static void far_transfer(struct cpu *c, const struct far_target *t, bool call)
{
    if (is_real(c)) {
        far_real(c, t, call);
        return;
    }
    uint64_t d[2];
    read_code_desc(c, t->sel, d);
    unsigned type = DESC_TYPE(d[0]);
    bool task = type == SYS_TASK_GATE || type == SYS_TSS_AVAIL || type == SYS_TSS_BUSY ||
                type == SYS_TSS16_AVAIL || type == SYS_TSS16_BUSY;
    if (desc_is_code(d[0]))
        far_to_code(c, t, d, call);
    else if (!DESC_S(d[0]) && task && !cpu_long_active(c))
        task_switch_far(c, t->sel, d, call); /* SDM 3A "Task Switching" */
    else if (!DESC_S(d[0]))
        far_gate(c, t, d, call);
    else
        gp(c, t->sel & 0xfffcu);
}

/* EA / 9A: ptr16:16 or ptr16:32 immediate (not in 64-bit mode). */
static void far_direct(struct cpu *c, const struct insn *in, bool call)
{
    struct far_target t = { (uint16_t)in->imm2, in->imm, far_osize(c, in) };
    far_transfer(c, &t, call);
}

/* FF /3, FF /5: m16:16, m16:32 or m16:64 in memory, offset first. */
static void far_indirect(struct cpu *c, const struct insn *in, bool call)
{
    if (in->mod == 3)
        cpu_fault(c, EXC_UD);
    struct far_target t;
    t.osize = far_osize(c, in);
    uint64_t ea = insn_ea(c, in);
    t.off = cpu_read(c, in->seg, ea, t.osize);
    t.sel = (uint16_t)cpu_read(c, in->seg, (ea + t.osize) & size_mask(in->addrsize), 2);
    far_transfer(c, &t, call);
}

void op_jmp_far(struct cpu *c, const struct insn *in) { far_direct(c, in, false); }
void op_call_far(struct cpu *c, const struct insn *in) { far_direct(c, in, true); }
void op_jmp_far_ind(struct cpu *c, const struct insn *in) { far_indirect(c, in, false); }
void op_call_far_ind(struct cpu *c, const struct insn *in) { far_indirect(c, in, true); }

/* ---- far RET ------------------------------------------------------------- */

/* Checks of the CS popped by RET far and IRET (SDM 2A "RET",
 * RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL; "IRET", PROTECTED-MODE-RETURN). */
static void check_return_cs(struct cpu *c, uint16_t sel, uint64_t d[2])
{
    uint32_t selerr = sel & 0xfffcu;
    read_code_desc(c, sel, d);
    if (!desc_is_code(d[0]) || SEL_RPL(sel) < c->cpl)
        gp(c, selerr);
    if (desc_conforming(d[0]) ? DESC_DPL(d[0]) > SEL_RPL(sel)
                              : DESC_DPL(d[0]) != SEL_RPL(sel))
        gp(c, selerr);
    check_code_mode(c, sel, d);
    if (!DESC_P(d[0]))
        cpu_fault_err(c, EXC_NP, selerr);
}

/* The SS popped on a return to an outer level. A null SS is allowed only
 * when returning to 64-bit mode at CPL < 3. Returns false for that case. */
static bool check_return_ss(struct cpu *c, uint16_t ss, unsigned rpl, const uint64_t cd[2],
                            uint64_t sd[2])
{
    if (SEL_NULL(ss)) {
        if (cpu_long_active(c) && DESC_L(cd[0]) && rpl != 3)
            return false;
        gp(c, 0);
    }
    uint32_t sserr = ss & 0xfffcu;
    seg_read_descriptor(c, ss, sd, EXC_GP);
    if (SEL_RPL(ss) != rpl || !desc_writable_data(sd[0]) || DESC_DPL(sd[0]) != rpl)
        gp(c, sserr);
    if (!DESC_P(sd[0]))
        cpu_fault_err(c, EXC_SS, sserr);
    return true;
}

static void load_ss(struct cpu *c, uint16_t ss, bool usable, const uint64_t sd[2])
{
    if (!usable) {
        seg_load_null(c, SEG_SS, ss);
        return;
    }
    seg_set_accessed(c, ss, sd[0]);
    seg_commit(c, SEG_SS, ss, sd[0], 0);
}

/* RSP after loading a new SS: a 16-bit stack keeps RSP[63:16]. */
static void set_new_rsp(struct cpu *c, uint64_t sp, unsigned osize)
{
    if (cpu_is_64(c) || osize == 8)
        c->gpr[4] = sp;
    else if (c->seg[SEG_SS].ar & AR_DB)
        c->gpr[4] = (uint32_t)sp;
    else
        c->gpr[4] = (c->gpr[4] & ~0xffffull) | (sp & 0xffff);
}

void op_ret_far(struct cpu *c, const struct insn *in)
{
    unsigned size = far_osize(c, in);
    uint64_t imm = in->opcode == 0xca ? (in->imm & 0xffff) : 0;
    struct stack_ref st = cur_stack(c);
    uint64_t mask = seg_stack_mask(&st), sp = cur_sp(c, &st);
    uint64_t ip = seg_stack_read(c, &st, sp, size) & size_mask(size);
    uint16_t sel = (uint16_t)seg_stack_read(c, &st, (sp + size) & mask, 2);
    uint64_t after = (sp + 2 * size) & mask;

    if (is_real(c)) {
        if (ip > c->seg[SEG_CS].limit)
            gp(c, 0);
        seg_load_real(c, SEG_CS, sel);
        set_sp(c, &st, after + imm);
        c->next_rip = ip;
        c->end_block = true;
        return;
    }
    uint64_t cd[2], sd[2];
    check_return_cs(c, sel, cd);
    unsigned rpl = SEL_RPL(sel);
    if (rpl == c->cpl) {
        check_target(c, cd, ip);
        load_cs(c, sel, cd, rpl);
        set_sp(c, &st, after + imm);
        c->next_rip = ip;
        return;
    }
    /* RETURN-TO-OUTER-PRIVILEGE-LEVEL: SS:rSP follow the parameters. */
    uint64_t at = (after + imm) & mask;
    uint64_t nsp = seg_stack_read(c, &st, at, size);
    uint16_t nss = (uint16_t)seg_stack_read(c, &st, (at + size) & mask, 2);
    bool usable = check_return_ss(c, nss, rpl, cd, sd);
    check_target(c, cd, ip);
    load_cs(c, sel, cd, rpl);
    load_ss(c, nss, usable, sd);
    set_new_rsp(c, nsp + imm, size);
    seg_null_outer_data(c, rpl);
    c->next_rip = ip;
}

/* ---- software interrupts --------------------------------------------------- */

void op_int(struct cpu *c, const struct insn *in)
{
    cpu_deliver_event(c, (int)(in->imm & 0xff), EVT_SW_INT, false, 0, c->next_rip);
}

/* Software exceptions (INT3, INTO) and INT1 are exceptions for VMX: in
 * non-root operation the exception bitmap may turn them into a VM exit
 * instead of delivery (SDM 3C "Exception Bitmap"; INT n is not subject to
 * it). The hook takes the instruction length from next_rip - rip. */
static void soft_exception(struct cpu *c, int vector, enum cpu_event_type type)
{
    if (unlikely(c->vmx_nonroot) && c->hooks->event(c, vector, type, false, 0))
        cpu_vmexit_unwind(c);
    cpu_deliver_event(c, vector, type, false, 0, c->next_rip);
}

void op_int3(struct cpu *c, const struct insn *in)
{
    (void)in;
    soft_exception(c, EXC_BP, EVT_SW_EXC);
}

void op_into(struct cpu *c, const struct insn *in)
{
    (void)in;
    if (flags_cond(c, 0)) /* cc 0: OF = 1 */
        soft_exception(c, EXC_OF, EVT_SW_EXC);
}

void op_int1(struct cpu *c, const struct insn *in)
{
    (void)in;
    soft_exception(c, EXC_DB, EVT_PRIV_SW_EXC);
}

/* ---- IRET ------------------------------------------------------------------ */

/* RFLAGS after IRET (SDM 2A "IRET", the EFLAGS updates of each return
 * kind): IF only if CPL <= IOPL, IOPL and VIF/VIP only at CPL 0, VM never
 * (virtual-8086 mode is not supported). cpl is the CPL before the return. */
static uint64_t iret_rflags(uint64_t old, uint64_t popped, unsigned size, unsigned cpl,
                            bool real)
{
    uint64_t chg = FL_ARITH | FL_TF | FL_DF | FL_NT;
    unsigned iopl = (unsigned)((old & FL_IOPL) >> FL_IOPL_SHIFT);
    if (size >= 4)
        chg |= FL_RF | FL_AC | FL_ID;
    if (real || cpl <= iopl)
        chg |= FL_IF;
    if (real || cpl == 0) {
        chg |= FL_IOPL;
        if (size >= 4 && !real)
            chg |= FL_VIF | FL_VIP;
    }
    if (size == 2)
        chg &= 0xffff;
    return ((old & ~chg) | (popped & chg) | FL_FIXED1) & ~FL_VM;
}

void op_iret(struct cpu *c, const struct insn *in)
{
    unsigned size = far_osize(c, in);
    struct stack_ref st = cur_stack(c);
    uint64_t mask = seg_stack_mask(&st), sp = cur_sp(c, &st);
    uint64_t old = cpu_get_rflags(c);

    if (!is_real(c) && (old & FL_NT)) {
        if (cpu_long_active(c))
            gp(c, 0); /* SDM 2A "IRET": no task return in IA-32e mode */
        task_switch_iret(c); /* TASK-RETURN */
        c->nmi_blocked = false;
        return;
    }
    uint64_t ip = seg_stack_read(c, &st, sp, size);
    uint16_t sel = (uint16_t)seg_stack_read(c, &st, (sp + size) & mask, 2);
    uint64_t fl = seg_stack_read(c, &st, (sp + 2 * size) & mask, size);
    uint64_t after = (sp + 3 * size) & mask;

    if (is_real(c)) {
        ip &= size_mask(size);
        if (ip > c->seg[SEG_CS].limit)
            gp(c, 0);
        seg_load_real(c, SEG_CS, sel);
        set_sp(c, &st, after);
        cpu_set_rflags(c, iret_rflags(old, fl, size, 0, true));
        cpu_update_mode(c);
        goto done;
    }
    if ((fl & FL_VM) && c->cpl == 0 && !cpu_long_active(c) && size == 4)
        gp(c, 0); /* return to virtual-8086 mode: not supported */

    uint64_t cd[2], sd[2];
    check_return_cs(c, sel, cd);
    unsigned rpl = SEL_RPL(sel);
    unsigned cpl = c->cpl;
    if (size < 8)
        ip &= size_mask(size);
    /* IRET in 64-bit mode always pops SS:RSP (SDM 2A "IRET", IA-32e-MODE). */
    if (rpl > cpl || cpu_is_64(c)) {
        uint64_t nsp = seg_stack_read(c, &st, after, size);
        uint16_t nss = (uint16_t)seg_stack_read(c, &st, (after + size) & mask, 2);
        bool usable = check_return_ss(c, nss, rpl, cd, sd);
        check_target(c, cd, ip);
        load_cs(c, sel, cd, rpl);
        load_ss(c, nss, usable, sd);
        set_new_rsp(c, nsp, size);
        cpu_set_rflags(c, iret_rflags(old, fl, size, cpl, false));
        if (rpl > cpl)
            seg_null_outer_data(c, rpl);
    } else {
        check_target(c, cd, ip);
        load_cs(c, sel, cd, rpl);
        set_sp(c, &st, after);
        cpu_set_rflags(c, iret_rflags(old, fl, size, cpl, false));
    }
done:
    /* (the protected-mode paths updated the mode in load_cs; RFLAGS.VM,
     * the only flag the mode depends on, is never set) */
    c->next_rip = ip;
    /* SDM 3A "NMI Handling While Processing an NMI": IRET unblocks NMIs. */
    c->nmi_blocked = false;
    c->end_block = true;
}

/* ---- SYSCALL / SYSRET ------------------------------------------------------ */

/* SYSCALL and SYSRET decide their single-step trap on the RFLAGS they load,
 * not on the RFLAGS they started with: SYSCALL whose IA32_FMASK clears TF
 * does not trap in the kernel, SYSRET that loads TF = 1 from R11 traps
 * before the first user instruction, SYSRET that loads TF = 0 does not
 * trap (as Intel processors do; the run loop ignores the old TF for them,
 * core.c). */
static void syscall_single_step(struct cpu *c)
{
    if (c->rflags & FL_TF)
        c->bp.hits |= DR6_BS;
}

/* SDM 2B "SYSCALL -- Fast System Call": 64-bit mode only, EFER.SCE. */
void op_syscall(struct cpu *c, const struct insn *in)
{
    (void)in;
    if (!cpu_is_64(c) || !(c->efer & EFER_SCE))
        cpu_fault(c, EXC_UD);
    uint16_t sel = (uint16_t)(c->star >> 32);
    uint64_t fl = cpu_get_rflags(c);
    c->gpr[1] = c->next_rip;
    c->gpr[11] = fl;
    cpu_set_rflags(c, (fl & ~c->sfmask & ~FL_RF) | FL_FIXED1);
    seg_load_flat(c, SEG_CS, sel & 0xfffcu, 0, true, true);
    seg_load_flat(c, SEG_SS, (uint16_t)(sel + 8) & 0xfffcu, 0, false, false);
    c->next_rip = c->lstar;
    c->end_block = true;
    cpu_update_mode(c);
    syscall_single_step(c);
}

/* SDM 2B "SYSRET -- Return From Fast System Call". */
void op_sysret(struct cpu *c, const struct insn *in)
{
    if (!cpu_is_64(c) || !(c->efer & EFER_SCE))
        cpu_fault(c, EXC_UD);
    if (c->cpl != 0)
        gp(c, 0);
    bool to64 = (in->rex & 8) != 0;
    uint16_t base = (uint16_t)(c->star >> 48);
    uint64_t ip = to64 ? c->gpr[1] : (uint32_t)c->gpr[1];
    if (to64 && !canonical(ip))
        gp(c, 0);
    cpu_set_rflags(c, (c->gpr[11] & 0x3c7fd7ull) | FL_FIXED1);
    seg_load_flat(c, SEG_CS, (uint16_t)((to64 ? base + 16 : base) | 3), 3, true, to64);
    seg_load_flat(c, SEG_SS, (uint16_t)((base + 8) | 3), 3, false, false);
    c->next_rip = ip;
    c->end_block = true;
    cpu_update_mode(c);
    syscall_single_step(c);
}

/* ---- SYSENTER / SYSEXIT ---------------------------------------------------- */

/* SDM 2B "SYSENTER -- Fast System Call". */
void op_sysenter(struct cpu *c, const struct insn *in)
{
    (void)in;
    if (!(c->cr0 & CR0_PE) || (c->sysenter_cs & 0xfffc) == 0)
        gp(c, 0);
    bool ia32e = cpu_long_active(c);
    uint16_t sel = (uint16_t)c->sysenter_cs & 0xfffcu;
    c->rflags &= ~(FL_VM | FL_IF | FL_RF);
    seg_load_flat(c, SEG_CS, sel, 0, true, ia32e);
    seg_load_flat(c, SEG_SS, (uint16_t)(sel + 8), 0, false, false);
    c->gpr[4] = ia32e ? c->sysenter_esp : (uint32_t)c->sysenter_esp;
    c->next_rip = ia32e ? c->sysenter_eip : (uint32_t)c->sysenter_eip;
    c->end_block = true;
    cpu_update_mode(c);
}

/* SDM 2B "SYSEXIT -- Fast Return from Fast System Call". */
void op_sysexit(struct cpu *c, const struct insn *in)
{
    if (!(c->cr0 & CR0_PE) || (c->sysenter_cs & 0xfffc) == 0 || c->cpl != 0)
        gp(c, 0);
    bool to64 = cpu_is_64(c) && (in->rex & 8);
    uint16_t base = (uint16_t)c->sysenter_cs;
    uint64_t ip = to64 ? c->gpr[2] : (uint32_t)c->gpr[2];
    uint64_t sp = to64 ? c->gpr[1] : (uint32_t)c->gpr[1];
    if (to64 && (!canonical(ip) || !canonical(sp)))
        gp(c, 0);
    seg_load_flat(c, SEG_CS, (uint16_t)((base + (to64 ? 32 : 16)) | 3), 3, true, to64);
    seg_load_flat(c, SEG_SS, (uint16_t)((base + (to64 ? 40 : 24)) | 3), 3, false, false);
    c->gpr[4] = sp;
    c->next_rip = ip;
    c->end_block = true;
    cpu_update_mode(c);
}
