/* Hardware task switching outside IA-32e mode (SDM 3A "Task Management"):
 * the checks of JMP/CALL to a TSS or task gate, of IRET with NT = 1 and of
 * IDT task gates, the VM exit that replaces a task switch in VMX non-root
 * operation, saving the old task and loading the new one from a 32-bit or
 * 16-bit TSS, and the segment loads whose faults belong to the new task. */
#include "task_switch.h"

#include "paging.h"
#include "seg.h"

#include "nvmx/cpu_hooks.h"
#include "nvmx/vmx_arch.h"

/* TSS layouts (SDM 3A "32-Bit Task-State Segment (TSS)", "16-Bit Task-State
 * Segment (TSS)"): offsets of the dynamic fields. The 16-bit TSS has no
 * CR3, FS, GS or T flag (offset 0 = absent). */
struct tss_layout {
    unsigned size;       /* operand size of EIP, EFLAGS and the GPRs */
    uint32_t min_limit;  /* a smaller limit is #TS ("Invalid TSS Conditions") */
    uint32_t save_end;   /* last byte the old task's state is saved to */
    uint32_t cr3, eip, eflags, gpr, sreg, ldt, trap;
};

static const struct tss_layout tss32 = {
    .size = 4, .min_limit = 0x67, .save_end = 0x5f, .cr3 = 0x1c, .eip = 0x20,
    .eflags = 0x24, .gpr = 0x28, .sreg = 0x48, .ldt = 0x60, .trap = 0x64,
};
static const struct tss_layout tss16 = {
    .size = 2, .min_limit = 0x2b, .save_end = 0x29, .cr3 = 0, .eip = 0x0e,
    .eflags = 0x10, .gpr = 0x12, .sreg = 0x22, .ldt = 0x2a, .trap = 0,
};

/* The segment registers in TSS order: ES, CS, SS, DS, FS, GS (the 16-bit
 * TSS stops after DS). enum cpu_seg has the same order. */
#define TSS_NSREG(l) ((l)->size == 4 ? 6u : 4u)

static bool tss_type_32(unsigned type) { return type == SYS_TSS_AVAIL || type == SYS_TSS_BUSY; }
static bool tss_type_avail(unsigned type) { return type == SYS_TSS_AVAIL || type == SYS_TSS16_AVAIL; }
static bool tss_type_busy(unsigned type) { return type == SYS_TSS_BUSY || type == SYS_TSS16_BUSY; }

static const struct tss_layout *layout_of(unsigned type) { return tss_type_32(type) ? &tss32 : &tss16; }

/* The incoming task as read from its TSS before anything changes. */
struct new_task {
    uint16_t sel;
    uint64_t desc;
    const struct tss_layout *l;
    uint32_t cr3, eip, eflags, gpr[8];
    uint16_t sreg[SEG_NSEGS], ldt;
    bool trap;
};

struct switch_req {
    enum task_switch_source src;
    uint32_t ext;        /* EXT bit of the error codes */
    uint64_t old_eip;    /* EIP saved in the old TSS */
    uint64_t set_flags;  /* RFLAGS bits set in the saved image (RF for faults) */
    bool has_err;        /* event with an error code to push */
    uint32_t err;
};

static uint64_t gdt_entry_addr(const struct cpu *c, uint16_t sel)
{
    return (c->gdtr.base + SEL_IDX(sel)) & 0xffffffffull;
}

/* Read the GDT descriptor of a TSS selector; false if it lies beyond the
 * GDT limit. TSS descriptors live only in the GDT (SDM 3A "TSS
 * Descriptor"): callers reject TI = 1 first. */
static bool read_gdt_desc(struct cpu *c, uint16_t sel, uint64_t *lo)
{
    if ((uint64_t)SEL_IDX(sel) + 7 > c->gdtr.limit)
        return false;
    *lo = cpu_read_lin(c, gdt_entry_addr(c, sel), 8, ACC_SYS);
    return true;
}

/* The busy flag is bit 1 of the type (SDM 3A "TSS Descriptor"). */
static void write_busy(struct cpu *c, uint16_t sel, bool busy)
{
    uint64_t a = gdt_entry_addr(c, sel) + 5;
    uint8_t b = (uint8_t)cpu_read_lin(c, a, 1, ACC_SYS);
    b = busy ? (uint8_t)(b | 2u) : (uint8_t)(b & ~2u);
    cpu_write_lin(c, a, 1, b, ACC_SYS);
}

static uint32_t tss_base(uint64_t lo)
{
    return (uint32_t)(((lo >> 16) & 0xffffffull) | (((lo >> 56) & 0xffull) << 24));
}

static uint32_t tss_limit(uint64_t lo)
{
    struct seg_reg s;
    seg_from_descriptor(&s, 0, lo, 0);
    return s.limit;
}

/* SWITCH-TASKS, first part (SDM 3A "Task Switching", steps 3 and 4; the
 * checks SDM 3C "Treatment of Task Switches" makes before a VM exit):
 * present, then the limit. */
static void check_new_tss(struct cpu *c, uint16_t sel, uint64_t lo, uint32_t ext)
{
    uint32_t selerr = (sel & 0xfffcu) | ext;
    if (!DESC_P(lo))
        cpu_fault_err(c, EXC_NP, selerr);
    if (tss_limit(lo) < layout_of(DESC_TYPE(lo))->min_limit)
        cpu_fault_err(c, EXC_TS, selerr);
}

/* SDM 3C "Treatment of Task Switches": once the checks on the gate, the
 * selector and the new TSS descriptor pass, a task switch in VMX non-root
 * operation is a VM exit (reason 9) with the qualification of "Exit
 * Qualification for Task Switches": the new TSS selector in bits 15:0, the
 * source in bits 31:30. The instruction length is that of JMP, CALL or
 * IRET; for an IDT source the IDT-vectoring information (the event being
 * delivered) supplies it for software interrupts. */
static void vmx_task_switch_exit(struct cpu *c, uint16_t sel, enum task_switch_source src)
{
    struct cpu_intercept q = {
        .reason = VMX_EXIT_task_switch,
        .insn_len = src == TS_SRC_IDT ? 0 : (uint8_t)(c->next_rip - c->rip),
        .qual = (uint64_t)sel | ((uint64_t)src << 30),
    };
    cpu_intercept(c, &q);
}

static uint32_t tss_rd(struct cpu *c, uint32_t base, uint32_t off, unsigned size)
{
    return (uint32_t)cpu_read_lin(c, (uint64_t)base + off, size, ACC_SYS);
}

static void tss_wr(struct cpu *c, uint32_t base, uint32_t off, unsigned size, uint64_t v)
{
    cpu_write_lin(c, (uint64_t)base + off, size, v & size_mask(size), ACC_SYS);
}

/* Step 3 of "Task Switching": the new task's state, read before any
 * change so that a page fault leaves the old task intact. */
static void read_new_task(struct cpu *c, uint16_t sel, uint64_t lo, struct new_task *t)
{
    const struct tss_layout *l = layout_of(DESC_TYPE(lo));
    uint32_t b = tss_base(lo);
    t->sel = sel;
    t->desc = lo;
    t->l = l;
    t->cr3 = l->cr3 ? tss_rd(c, b, l->cr3, 4) : 0;
    t->eip = tss_rd(c, b, l->eip, l->size);
    t->eflags = tss_rd(c, b, l->eflags, l->size);
    for (unsigned i = 0; i < 8; i++)
        t->gpr[i] = tss_rd(c, b, l->gpr + i * l->size, l->size);
    for (unsigned i = 0; i < SEG_NSEGS; i++)
        t->sreg[i] = i < TSS_NSREG(l) ? (uint16_t)tss_rd(c, b, l->sreg + i * l->size, 2) : 0;
    t->ldt = (uint16_t)tss_rd(c, b, l->ldt, 2);
    t->trap = l->trap && (tss_rd(c, b, l->trap, 2) & 1);
}

/* Step 8: the old task's EIP, EFLAGS, GPRs and selectors (not CR3, not
 * the LDTR) go to its TSS, in the old TSS's format. The old TSS must hold
 * them ("Invalid TSS Conditions": stores to the old TSS, #TS(old TSS)). */
static void save_old_task(struct cpu *c, const struct switch_req *r)
{
    const struct tss_layout *l = layout_of(c->tr.ar & AR_TYPE_MASK);
    if (c->tr.limit < l->save_end)
        cpu_fault_err(c, EXC_TS, (c->tr.sel & 0xfffcu) | r->ext);
    uint32_t b = (uint32_t)c->tr.base;
    uint64_t fl = cpu_get_rflags(c) | r->set_flags;
    /* step 7: IRET clears NT in the saved image */
    if (r->src == TS_SRC_IRET)
        fl &= ~FL_NT;
    tss_wr(c, b, l->eip, l->size, r->old_eip);
    tss_wr(c, b, l->eflags, l->size, fl);
    for (unsigned i = 0; i < 8; i++)
        tss_wr(c, b, l->gpr + i * l->size, l->size, c->gpr[i]);
    for (unsigned i = 0; i < TSS_NSREG(l); i++)
        tss_wr(c, b, l->sreg + i * l->size, 2, c->seg[i].sel);
}

/* ---- the new task's segments (SDM 3A Table "Exception Conditions Checked
 * During a Task Switch"): faults here occur in the context of the new task,
 * with the selector as error code. */

static _Noreturn void ts_fault(struct cpu *c, int vec, uint16_t sel, uint32_t ext)
{
    cpu_fault_err(c, vec, (sel & 0xfffcu) | ext);
}

static void load_ldtr(struct cpu *c, uint16_t sel, uint32_t ext)
{
    uint64_t lo;
    if (SEL_NULL(sel)) {
        c->ldtr.base = 0;
        c->ldtr.limit = 0;
        c->ldtr.ar = AR_UNUSABLE;
        return;
    }
    if ((sel & SEL_TI) || !read_gdt_desc(c, sel, &lo))
        ts_fault(c, EXC_TS, sel, ext);
    if (DESC_S(lo) || DESC_TYPE(lo) != SYS_LDT || !DESC_P(lo))
        ts_fault(c, EXC_TS, sel, ext);
    seg_from_descriptor(&c->ldtr, sel, lo, 0);
}

/* CS: a code segment whose DPL equals its RPL (conforming: DPL <= RPL). */
static void load_cs(struct cpu *c, uint16_t sel, uint32_t ext)
{
    uint64_t d[2];
    if (SEL_NULL(sel) || !seg_probe_descriptor(c, sel, d) || !desc_is_code(d[0]))
        ts_fault(c, EXC_TS, sel, ext);
    if (desc_conforming(d[0]) ? DESC_DPL(d[0]) > SEL_RPL(sel) : DESC_DPL(d[0]) != SEL_RPL(sel))
        ts_fault(c, EXC_TS, sel, ext);
    if (!DESC_P(d[0]))
        ts_fault(c, EXC_NP, sel, ext);
    seg_set_accessed(c, sel, d[0]);
    seg_commit(c, SEG_CS, sel, d[0], 0);
}

/* SS: a writable data segment with RPL = DPL = CPL; not present is #SS. */
static void load_ss(struct cpu *c, uint16_t sel, unsigned cpl, uint32_t ext)
{
    uint64_t d[2];
    if (SEL_NULL(sel) || !seg_probe_descriptor(c, sel, d) || !desc_writable_data(d[0]))
        ts_fault(c, EXC_TS, sel, ext);
    if (SEL_RPL(sel) != cpl || DESC_DPL(d[0]) != cpl)
        ts_fault(c, EXC_TS, sel, ext);
    if (!DESC_P(d[0]))
        ts_fault(c, EXC_SS, sel, ext);
    seg_set_accessed(c, sel, d[0]);
    seg_commit(c, SEG_SS, sel, d[0], 0);
}

/* DS, ES, FS, GS: null, a data segment or a readable code segment; DPL >=
 * CPL and RPL unless conforming code; not present is #NP. */
static void load_data(struct cpu *c, int seg, uint16_t sel, unsigned cpl, uint32_t ext)
{
    uint64_t d[2];
    if (SEL_NULL(sel)) {
        seg_load_null(c, seg, sel);
        return;
    }
    if (!seg_probe_descriptor(c, sel, d))
        ts_fault(c, EXC_TS, sel, ext);
    bool readable_code = desc_is_code(d[0]) && (DESC_TYPE(d[0]) & 2);
    if (!desc_is_data(d[0]) && !readable_code)
        ts_fault(c, EXC_TS, sel, ext);
    if (!desc_conforming(d[0]) && (DESC_DPL(d[0]) < cpl || DESC_DPL(d[0]) < SEL_RPL(sel)))
        ts_fault(c, EXC_TS, sel, ext);
    if (!DESC_P(d[0]))
        ts_fault(c, EXC_NP, sel, ext);
    seg_set_accessed(c, sel, d[0]);
    seg_commit(c, seg, sel, d[0], 0);
}

/* Steps 12 and 13: registers from the TSS, then the descriptors. Before the
 * checks every segment register holds its new selector and is unusable, so
 * that a fault leaves the new task's selectors visible, as the SDM
 * describes. nvmx checks in the table's order: LDTR, CS, SS, then DS, ES,
 * FS, GS. */
static void load_new_task(struct cpu *c, const struct new_task *t, bool nest, uint32_t ext)
{
    const struct tss_layout *l = t->l;
    uint64_t fl = t->eflags;
    if (l->size == 2)
        fl = (cpu_get_rflags(c) & ~0xffffull) | (fl & 0xffff);
    if (nest)
        fl |= FL_NT; /* step 9 */
    for (unsigned i = 0; i < 8; i++) {
        /* A 16-bit TSS loads the low words; nvmx keeps the upper halves
         * (the SDM does not say; docs/task-switch.md). */
        c->gpr[i] = l->size == 4 ? t->gpr[i]
                                 : (c->gpr[i] & 0xffff0000ull) | (t->gpr[i] & 0xffff);
    }
    cpu_set_rflags(c, (fl & 0x3f7fd7ull) | FL_FIXED1);
    c->rip = c->next_rip = t->eip;
    for (unsigned i = 0; i < SEG_NSEGS; i++) {
        c->seg[i].sel = t->sreg[i];
        c->seg[i].base = 0;
        c->seg[i].limit = 0;
        c->seg[i].ar = AR_UNUSABLE | (i == SEG_SS ? (t->sreg[SEG_CS] & 3u) << AR_DPL_SHIFT : 0);
    }
    c->ldtr.sel = t->ldt;
    c->ldtr.ar = AR_UNUSABLE;
    cpu_update_mode(c); /* CPL = the new CS.RPL */
    c->end_block = true;

    unsigned cpl = SEL_RPL(t->sreg[SEG_CS]);
    load_ldtr(c, t->ldt, ext);
    load_cs(c, t->sreg[SEG_CS], ext);
    load_ss(c, t->sreg[SEG_SS], cpl, ext);
    static const int data[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (unsigned i = 0; i < 4; i++)
        load_data(c, data[i], t->sreg[data[i]], cpl, ext);
    cpu_update_mode(c);
}

/* Step 12's CR3: loaded from a 32-bit TSS when paging is on (nvmx: not
 * without paging, as the TSS CR3 then has no use). With PAE paging the
 * PDPTEs load with it (SDM 3A "PDPTE Registers"); invalid ones are #GP(0)
 * in the new task. */
static void load_cr3(struct cpu *c, const struct new_task *t)
{
    if (!t->l->cr3 || !(c->cr0 & CR0_PG))
        return;
    c->cr3 = t->cr3;
    cpu_tlb_flush(c);
    if ((c->cr4 & CR4_PAE) && !paging_load_pdptes_from(c, paging_pdpte_table(c, c->cr3)))
        cpu_fault_err(c, EXC_GP, 0);
}

/* SWITCH-TASKS (SDM 3A "Task Switching", the steps after the source's own
 * checks). */
static void switch_tasks(struct cpu *c, uint16_t sel, uint64_t lo, const struct switch_req *r)
{
    check_new_tss(c, sel, lo, r->ext);
    vmx_task_switch_exit(c, sel, r->src);

    struct new_task t;
    read_new_task(c, sel, lo, &t);
    if (t.eflags & FL_VM)
        cpu_fault_err(c, EXC_GP, 0); /* virtual-8086 mode is not supported */
    bool nest = r->src == TS_SRC_CALL || r->src == TS_SRC_IDT;
    uint16_t old_sel = c->tr.sel;

    save_old_task(c, r);
    if (nest) /* SDM 3A "Task Linking" */
        tss_wr(c, tss_base(lo), 0, 2, old_sel);
    /* steps 6 and 10: busy flags */
    if (r->src == TS_SRC_JMP || r->src == TS_SRC_IRET)
        write_busy(c, old_sel, false);
    if (r->src != TS_SRC_IRET)
        write_busy(c, sel, true);

    /* step 11: TR, and CR0.TS (SDM 3A "Control Registers": set on every
     * task switch) */
    seg_from_descriptor(&c->tr, sel, lo | (2ull << 40), 0);
    c->cr0 |= CR0_TS;
    /* SDM 3B "Debug Control Register (DR7)": L0-L3 and LE are cleared on
     * every task switch. */
    c->dr[7] &= ~0x155ull;
    cpu_debug_regs_changed(c);

    load_cr3(c, &t);
    load_new_task(c, &t, nest, r->ext);
    /* SDM 3B "Task-Switch Exception Condition": T = 1 in the new TSS is a
     * debug trap (DR6.BT) after the switch, before the new task's first
     * instruction. */
    if (t.trap)
        c->bp.hits |= DR6_BT;

    /* An exception with an error code pushes it on the new task's stack,
     * in the new TSS's size (SDM 2A "INT n", TASK-GATE). */
    if (r->has_err) {
        struct stack_ref st = { .ss = &c->seg[SEG_SS], .acc_sys = c->cpl < 3, .err = r->ext };
        uint64_t v = r->err;
        uint64_t mask = seg_stack_mask(&st);
        uint64_t sp = seg_stack_push(c, &st, c->gpr[4] & mask, t.l->size, &v, 1);
        c->gpr[4] = (c->gpr[4] & ~mask) | (sp & mask);
    }
    if (c->rip > c->seg[SEG_CS].limit)
        cpu_fault_err(c, EXC_GP, r->ext);
}

/* SDM 2A "JMP" and "CALL", TASK-GATE and TASK-STATE-SEGMENT. */
void task_switch_far(struct cpu *c, uint16_t sel, const uint64_t d[2], bool call)
{
    uint32_t selerr = sel & 0xfffcu;
    unsigned type = DESC_TYPE(d[0]);
    uint16_t tss_sel = sel;
    uint64_t lo = d[0];
    if (DESC_DPL(d[0]) < c->cpl || DESC_DPL(d[0]) < SEL_RPL(sel))
        cpu_fault_err(c, EXC_GP, selerr);
    if (type == SYS_TASK_GATE) {
        if (!DESC_P(d[0]))
            cpu_fault_err(c, EXC_NP, selerr);
        tss_sel = (uint16_t)(d[0] >> 16);
        if ((tss_sel & SEL_TI) || !read_gdt_desc(c, tss_sel, &lo))
            cpu_fault_err(c, EXC_GP, tss_sel & 0xfffcu);
        if (DESC_S(lo) || !tss_type_avail(DESC_TYPE(lo)))
            cpu_fault_err(c, EXC_GP, tss_sel & 0xfffcu);
    } else if ((sel & SEL_TI) || !tss_type_avail(type)) {
        /* a busy TSS, or a TSS descriptor in the LDT (SDM 3A "TSS
         * Descriptor") */
        cpu_fault_err(c, EXC_GP, selerr);
    }
    struct switch_req r = { .src = call ? TS_SRC_CALL : TS_SRC_JMP, .old_eip = c->next_rip };
    switch_tasks(c, tss_sel, lo, &r);
}

/* SDM 2A "IRET", TASK-RETURN. */
void task_switch_iret(struct cpu *c)
{
    uint16_t link = (uint16_t)seg_tss_read(c, 0, 2, 0);
    uint64_t lo;
    if ((link & SEL_TI) || !read_gdt_desc(c, link, &lo))
        cpu_fault_err(c, EXC_TS, link & 0xfffcu);
    if (DESC_S(lo) || !tss_type_busy(DESC_TYPE(lo)))
        cpu_fault_err(c, EXC_TS, link & 0xfffcu);
    struct switch_req r = { .src = TS_SRC_IRET, .old_eip = c->next_rip };
    switch_tasks(c, link, lo, &r);
}

/* SDM 2A "INT n", TASK-GATE (also the path of exceptions, NMIs and
 * external interrupts). */
void task_switch_event(struct cpu *c, uint64_t gate_lo, uint32_t ext, bool fault, bool has_err,
                       uint32_t err, uint64_t return_rip)
{
    uint16_t tss_sel = (uint16_t)(gate_lo >> 16);
    uint32_t selerr = (tss_sel & 0xfffcu) | ext;
    uint64_t lo;
    if ((tss_sel & SEL_TI) || !read_gdt_desc(c, tss_sel, &lo))
        cpu_fault_err(c, EXC_GP, selerr);
    if (DESC_S(lo) || !tss_type_avail(DESC_TYPE(lo)))
        cpu_fault_err(c, EXC_GP, selerr);
    struct switch_req r = { .src = TS_SRC_IDT, .ext = ext, .old_eip = return_rip,
                            .set_flags = fault ? FL_RF : 0, .has_err = has_err, .err = err };
    switch_tasks(c, tss_sel, lo, &r);
}
