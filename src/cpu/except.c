/* Exception and interrupt delivery: the real-mode IVT, protected-mode IDT
 * gates and IA-32e 64-bit gates with IST, the TSS stack switch on a privilege
 * change, and the double-fault combination rules. Task gates switch tasks
 * (task_switch.c). */
#include "except.h"
#include "lbr.h"
#include "seg.h"
#include "task_switch.h"

bool cpu_exception_has_error(int vector)
{
    switch (vector) {
    case EXC_DF: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_PF:
    case EXC_AC: case EXC_CP:
        return true;
    default:
        return false;
    }
}

bool cpu_exception_is_fault(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
    case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
    case EXC_VE: case EXC_CP:
        return true;
    default:
        return false;
    }
}

/* SDM 3A "Interrupt 8 -- Double Fault Exception (#DF)", Table "Interrupt and
 * Exception Classes": #VE counts with page faults, #CP is contributory. */
enum exc_class cpu_exception_class(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: case EXC_CP:
        return EXC_CLASS_CONTRIBUTORY;
    case EXC_PF: case EXC_VE:
        return EXC_CLASS_PAGE_FAULT;
    default:
        return EXC_CLASS_BENIGN;
    }
}

/* SDM 3A Table "Conditions for Generating a Double Fault"; a contributory
 * exception or page fault while delivering #DF shuts the processor down. */
int cpu_double_fault_result(int first, int second)
{
    if (first < 0 || first > 31 || second < 0 || second > 31)
        return 0;
    enum exc_class f = cpu_exception_class(first), s = cpu_exception_class(second);
    if (first == EXC_DF)
        return s == EXC_CLASS_BENIGN ? 0 : 2;
    if (f == EXC_CLASS_CONTRIBUTORY)
        return s == EXC_CLASS_CONTRIBUTORY ? 1 : 0;
    if (f == EXC_CLASS_PAGE_FAULT)
        return s == EXC_CLASS_BENIGN ? 0 : 1;
    return 0;
}

struct event {
    int vector;
    enum cpu_event_type type;
    bool has_err;
    uint32_t err;
    uint64_t return_rip;
    uint32_t ext;     /* EXT bit of error codes raised while delivering */
    uint32_t idt_err; /* error code naming the IDT entry */
    bool soft;        /* INT n, INT3, INTO: the gate DPL is checked */
};

/* The RFLAGS image to push: RF = 1 for fault-class hardware exceptions,
 * and for any event taken while a REP string instruction is suspended
 * between iterations (ops_string.c). */
static uint64_t pushed_rflags(struct cpu *c, const struct event *ev)
{
    uint64_t fl = cpu_get_rflags(c);
    if (ev->type == EVT_HW_EXC && cpu_exception_is_fault(ev->vector))
        fl |= FL_RF;
    if (unlikely(c->rep_suspended) && ev->return_rip == c->rip)
        fl |= FL_RF;
    return fl;
}

static void set_sp(struct cpu *c, uint64_t mask, uint64_t sp)
{
    c->gpr[4] = (c->gpr[4] & ~mask) | (sp & mask);
}

/* SDM 2A "INT n/INTO/INT3/INT1 -- Call to Interrupt Procedure", REAL-ADDRESS-MODE. */
static void deliver_real(struct cpu *c, const struct event *ev)
{
    uint32_t off = (uint32_t)ev->vector * 4;
    if ((uint64_t)off + 3 > c->idtr.limit)
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t ent = (uint32_t)cpu_read_lin(c, c->idtr.base + off, 4, ACC_SYS);
    struct stack_ref st = { .ss = &c->seg[SEG_SS], .acc_sys = true, .err = 0 };
    uint64_t v[3] = { pushed_rflags(c, ev) & 0xffff, c->seg[SEG_CS].sel,
                      ev->return_rip & 0xffff };
    uint64_t sp = seg_stack_push(c, &st, c->gpr[4], 2, v, 3);

    set_sp(c, seg_stack_mask(&st), sp);
    c->rflags &= ~(FL_IF | FL_TF | FL_AC);
    seg_load_real(c, SEG_CS, (uint16_t)(ent >> 16));
    c->rip = ent & 0xffff;
}

struct gate {
    uint64_t lo, hi;
    unsigned type;
    uint16_t sel;
    uint64_t offset;
    unsigned ist;
};

/* Read and check the IDT gate (SDM 2A "INT n", PROTECTED-MODE and IA-32e;
 * SDM 3A "IDT Descriptors", "64-Bit Mode IDT"). */
static void read_gate(struct cpu *c, const struct event *ev, struct gate *g)
{
    bool ia32e = cpu_long_active(c);
    unsigned esz = ia32e ? 16 : 8;
    uint64_t off = (uint64_t)ev->vector * esz;
    if (off + esz - 1 > c->idtr.limit)
        cpu_fault_err(c, EXC_GP, ev->idt_err);
    uint64_t base = c->idtr.base + off;
    if (!ia32e)
        base &= 0xffffffffull;
    g->lo = cpu_read_lin(c, base, 8, ACC_SYS);
    g->hi = ia32e ? cpu_read_lin(c, base + 8, 8, ACC_SYS) : 0;
    g->type = DESC_TYPE(g->lo);
    bool ok;
    if (ia32e)
        ok = g->type == SYS_INT_GATE || g->type == SYS_TRAP_GATE;
    else
        ok = g->type == SYS_TASK_GATE || g->type == SYS_INT_GATE16 ||
             g->type == SYS_TRAP_GATE16 || g->type == SYS_INT_GATE || g->type == SYS_TRAP_GATE;
    if (DESC_S(g->lo) || !ok)
        cpu_fault_err(c, EXC_GP, ev->idt_err);
    if (ev->soft && DESC_DPL(g->lo) < c->cpl)
        cpu_fault_err(c, EXC_GP, ev->idt_err);
    if (!DESC_P(g->lo))
        cpu_fault_err(c, EXC_NP, ev->idt_err);
    g->sel = (uint16_t)(g->lo >> 16);
    g->offset = (g->lo & 0xffffull) | ((g->lo >> 32) & 0xffff0000ull);
    if (ia32e)
        g->offset |= (g->hi & 0xffffffffull) << 32;
    if (!(g->type & 8))
        g->offset &= 0xffff;
    g->ist = ia32e ? (unsigned)(g->lo >> 32) & 7 : 0;
}

/* The target code segment of the gate. */
static void read_handler_cs(struct cpu *c, const struct event *ev, const struct gate *g,
                            uint64_t cd[2])
{
    uint32_t selerr = (g->sel & 0xfffcu) | ev->ext;
    if (SEL_NULL(g->sel))
        cpu_fault_err(c, EXC_GP, ev->ext);
    if (!seg_probe_descriptor(c, g->sel, cd))
        cpu_fault_err(c, EXC_GP, selerr);
    if (!desc_is_code(cd[0]) || DESC_DPL(cd[0]) > c->cpl)
        cpu_fault_err(c, EXC_GP, selerr);
    if (cpu_long_active(c) && !(DESC_L(cd[0]) && !DESC_DB(cd[0])))
        cpu_fault_err(c, EXC_GP, selerr);
    if (!DESC_P(cd[0]))
        cpu_fault_err(c, EXC_NP, selerr);
}

static void enter_handler(struct cpu *c, const struct gate *g, uint16_t cs_sel,
                          const uint64_t cd[2], unsigned new_cpl)
{
    seg_set_accessed(c, cs_sel, cd[0]);
    seg_commit(c, SEG_CS, (uint16_t)((cs_sel & 0xfffcu) | new_cpl), cd[0], 0);
    c->rip = g->offset;
    c->rflags &= ~(FL_TF | FL_NT | FL_RF | FL_VM);
    if (!(g->type & 1)) /* interrupt gate */
        c->rflags &= ~FL_IF;
}

/* SDM 2A "INT n", IA-32e-MODE; SDM 3A "64-Bit Mode Stack Frame", "Interrupt
 * Stack Table". */
static void deliver_ia32e(struct cpu *c, const struct event *ev, const struct gate *g,
                          const uint64_t cd[2])
{
    unsigned dpl = DESC_DPL(cd[0]);
    bool inner = !desc_conforming(cd[0]) && dpl < c->cpl;
    unsigned new_cpl = inner ? dpl : c->cpl;
    uint64_t rsp = c->gpr[4];

    if (g->ist)
        rsp = seg_tss_read(c, 0x24 + 8 * (g->ist - 1), 8, ev->ext);
    else if (inner)
        rsp = seg_tss_read(c, 4 + 8 * dpl, 8, ev->ext);
    rsp &= ~0xfull;
    if (!canonical(g->offset))
        cpu_fault_err(c, EXC_GP, ev->ext);

    struct stack_ref st = { .long64 = true, .acc_sys = new_cpl < 3, .err = ev->ext };
    uint64_t v[6] = { c->seg[SEG_SS].sel, c->gpr[4], pushed_rflags(c, ev),
                      c->seg[SEG_CS].sel, ev->return_rip, ev->err };
    rsp = seg_stack_push(c, &st, rsp, 8, v, ev->has_err ? 6 : 5);

    if (inner)
        seg_load_null(c, SEG_SS, (uint16_t)new_cpl);
    c->gpr[4] = rsp;
    enter_handler(c, g, g->sel, cd, new_cpl);
}

/* Inner-level stack from the TSS (SDM 3A "Stack Switching", "Task-State
 * Segment (TSS)"): checks of the new SS give #TS, a not-present one #SS. */
static void tss_stack(struct cpu *c, const struct event *ev, unsigned dpl, uint16_t *ss_out,
                      uint64_t *sp_out, struct seg_reg *ss_reg)
{
    unsigned tss_type = c->tr.ar & AR_TYPE_MASK;
    bool tss32 = tss_type == SYS_TSS_AVAIL || tss_type == SYS_TSS_BUSY;
    uint16_t ss;
    uint64_t sp, d[2];
    if (tss32) {
        sp = seg_tss_read(c, 4 + 8 * dpl, 4, ev->ext);
        ss = (uint16_t)seg_tss_read(c, 8 + 8 * dpl, 2, ev->ext);
    } else {
        sp = seg_tss_read(c, 2 + 4 * dpl, 2, ev->ext);
        ss = (uint16_t)seg_tss_read(c, 4 + 4 * dpl, 2, ev->ext);
    }
    uint32_t sserr = (ss & 0xfffcu) | ev->ext;
    if (SEL_NULL(ss))
        cpu_fault_err(c, EXC_TS, ev->ext);
    if (!seg_probe_descriptor(c, ss, d))
        cpu_fault_err(c, EXC_TS, sserr);
    if (SEL_RPL(ss) != dpl || DESC_DPL(d[0]) != dpl || !desc_writable_data(d[0]))
        cpu_fault_err(c, EXC_TS, sserr);
    if (!DESC_P(d[0]))
        cpu_fault_err(c, EXC_SS, sserr);
    seg_from_descriptor(ss_reg, ss, d[0] | DESC_ACCESSED, 0);
    *ss_out = ss;
    *sp_out = sp;
}

/* SDM 2A "INT n", PROTECTED-MODE: INTER-PRIVILEGE-LEVEL-INTERRUPT and
 * INTRA-PRIVILEGE-LEVEL-INTERRUPT. */
static void deliver_prot(struct cpu *c, const struct event *ev, const struct gate *g,
                         const uint64_t cd[2])
{
    unsigned dpl = DESC_DPL(cd[0]);
    bool inner = !desc_conforming(cd[0]) && dpl < c->cpl;
    unsigned new_cpl = inner ? dpl : c->cpl;
    unsigned size = (g->type & 8) ? 4 : 2;
    struct seg_reg new_ss = c->seg[SEG_SS];
    uint16_t ss_sel = 0;
    uint64_t sp = c->gpr[4], dss[2];

    if (inner)
        tss_stack(c, ev, dpl, &ss_sel, &sp, &new_ss);
    struct seg_reg cs_tmp;
    seg_from_descriptor(&cs_tmp, g->sel, cd[0], 0);
    if (g->offset > cs_tmp.limit)
        cpu_fault_err(c, EXC_GP, ev->ext);

    struct stack_ref st = { .ss = &new_ss, .acc_sys = new_cpl < 3,
                            .err = inner ? ((ss_sel & 0xfffcu) | ev->ext) : ev->ext };
    uint64_t v[6], *p = v;
    if (inner) {
        *p++ = c->seg[SEG_SS].sel;
        *p++ = c->gpr[4];
    }
    *p++ = pushed_rflags(c, ev);
    *p++ = c->seg[SEG_CS].sel;
    *p++ = ev->return_rip;
    if (ev->has_err)
        *p++ = ev->err;
    sp = seg_stack_push(c, &st, sp, size, v, (unsigned)(p - v));

    if (inner) {
        seg_probe_descriptor(c, ss_sel, dss);
        seg_set_accessed(c, ss_sel, dss[0]);
        c->seg[SEG_SS] = new_ss;
        c->gpr[4] = sp & seg_stack_mask(&st);
    } else {
        set_sp(c, seg_stack_mask(&st), sp);
    }
    enter_handler(c, g, g->sel, cd, new_cpl);
}

/* SDM 3B "Monitoring Branches, Exceptions, and Interrupts": a debug
 * exception clears IA32_DEBUGCTL.LBR (the records stay) and BTF ("Single-
 * Stepping on Branches") and is not recorded; any other event is recorded
 * as a far branch from the instruction at which it was taken (RIP when
 * delivery began) to the handler, after the last branch before it is
 * copied to MSR_LER_FROM_LIP/TO_LIP ("Last Exception Records"). */
static void branch_records(struct cpu *c, const struct event *ev, uint64_t from)
{
    if (ev->vector == EXC_DB && (ev->type == EVT_HW_EXC || ev->type == EVT_PRIV_SW_EXC)) {
        c->debugctl &= ~(DEBUGCTL_LBR | DEBUGCTL_BTF);
        return;
    }
    if (!(c->debugctl & DEBUGCTL_LBR))
        return;
    unsigned t = (unsigned)c->lbr.tos;
    c->lbr.ler_from = c->lbr.from[t];
    c->lbr.ler_to = c->lbr.to[t];
    lbr_record(c, from, cpu_insn_linear(c, c->rip), LBR_SEL_FAR_BRANCH);
}

void cpu_deliver_event(struct cpu *c, int vector, enum cpu_event_type type, bool has_err,
                       uint32_t err, uint64_t return_rip)
{
    struct event ev = {
        .vector = vector & 0xff,
        .type = type,
        .has_err = has_err && type == EVT_HW_EXC,
        .err = err,
        .return_rip = return_rip,
        /* SDM 3A "Error Code": EXT is set unless the event is INT n, INT3 or
         * INTO (INT1 counts as external). */
        .ext = (type == EVT_SW_INT || type == EVT_SW_EXC) ? 0 : 1,
        .soft = type == EVT_SW_INT || type == EVT_SW_EXC,
    };
    ev.idt_err = ((uint32_t)ev.vector << 3) | 2 | ev.ext;
    if (c->log_event)
        c->log_event(c->log_ctx, c, ev.vector, type, ev.has_err, err);
    uint64_t from = unlikely(c->debugctl & DEBUGCTL_LBR) ? cpu_insn_linear(c, c->rip) : 0;

    if (type == EVT_HW_EXC || type == EVT_NMI)
        c->delivering_vector = ev.vector;
    /* Any event, for the IDT-vectoring information of a VM exit during its
     * delivery (SDM 3C "Information for VM Exits During Event Delivery"). */
    c->delivering = (struct cpu_event_record){ .vector = ev.vector, .type = (uint8_t)type,
                                               .has_err = ev.has_err, .err = err, .valid = true };

    if (c->mode == MODE_REAL) {
        deliver_real(c, &ev);
    } else {
        struct gate g;
        uint64_t cd[2];
        read_gate(c, &ev, &g);
        if (g.type == SYS_TASK_GATE) { /* never in IA-32e mode (read_gate) */
            task_switch_event(c, g.lo, ev.ext, (pushed_rflags(c, &ev) & FL_RF) != 0,
                              ev.has_err, ev.err, ev.return_rip);
        } else {
            read_handler_cs(c, &ev, &g, cd);
            if (cpu_long_active(c))
                deliver_ia32e(c, &ev, &g, cd);
            else
                deliver_prot(c, &ev, &g, cd);
        }
    }

    if (type == EVT_NMI)
        c->nmi_blocked = true; /* SDM 3A "NMI Handling": until the next IRET */
    c->delivering_vector = -1;
    c->delivering.valid = false;
    c->next_rip = c->rip;
    c->end_block = true;
    c->halted = false;
    cpu_update_mode(c);
    if (unlikely(c->debugctl & (DEBUGCTL_LBR | DEBUGCTL_BTF)))
        branch_records(c, &ev, from);
}
