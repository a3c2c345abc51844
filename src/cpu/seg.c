/* Segmentation: descriptor reads from the GDT/LDT, decoding into the hidden
 * part of a segment register (VMX access-rights layout), the checked
 * MOV/POP Sreg loads, and the checked stack/TSS accesses that event delivery
 * and far transfers share. */
#include "seg.h"

static uint64_t table_addr(const struct cpu *c, uint64_t base, uint32_t off)
{
    uint64_t a = base + off;
    return cpu_long_active(c) ? a : (a & 0xffffffffull);
}

/* SDM 3A "Segment Selectors", "Segment Descriptor Tables": TI selects the
 * LDT; the whole descriptor must lie within the table limit. In IA-32e mode
 * system descriptors are 16 bytes ("Segment Descriptor Tables in IA-32e
 * Mode"). */
static bool read_desc(struct cpu *c, uint16_t sel, uint64_t desc[2], uint64_t *addr)
{
    const struct dtr *t;
    struct dtr ldt;
    if (sel & SEL_TI) {
        if (c->ldtr.ar & AR_UNUSABLE)
            return false;
        ldt.base = c->ldtr.base;
        ldt.limit = c->ldtr.limit;
        t = &ldt;
    } else {
        t = &c->gdtr;
    }
    uint32_t off = SEL_IDX(sel);
    if ((uint64_t)off + 7 > t->limit)
        return false;
    desc[0] = cpu_read_lin(c, table_addr(c, t->base, off), 8, ACC_SYS);
    desc[1] = 0;
    if (cpu_long_active(c) && !DESC_S(desc[0])) {
        if ((uint64_t)off + 15 > t->limit)
            return false;
        desc[1] = cpu_read_lin(c, table_addr(c, t->base, off + 8), 8, ACC_SYS);
    }
    if (addr)
        *addr = table_addr(c, t->base, off);
    return true;
}

bool seg_read_descriptor(struct cpu *c, uint16_t sel, uint64_t desc[2], int fault_vec)
{
    if (read_desc(c, sel, desc, NULL))
        return true;
    if (fault_vec < 0)
        return false;
    cpu_fault_err(c, fault_vec, sel & 0xfffcu);
}

bool seg_probe_descriptor(struct cpu *c, uint16_t sel, uint64_t desc[2])
{
    return read_desc(c, sel, desc, NULL);
}

void seg_from_descriptor(struct seg_reg *s, uint16_t sel, uint64_t lo, uint64_t hi)
{
    uint64_t base = ((lo >> 16) & 0xffffffull) | (((lo >> 56) & 0xffull) << 24);
    if (!DESC_S(lo))
        base |= (hi & 0xffffffffull) << 32;
    uint32_t limit = (uint32_t)((lo & 0xffffull) | ((lo >> 32) & 0xf0000ull));
    uint32_t ar = (uint32_t)(lo >> 40) & 0xf0ffu;
    if (ar & AR_G)
        limit = (limit << 12) | 0xfffu;
    s->base = base;
    s->limit = limit;
    s->ar = ar;
    s->sel = sel;
}

void seg_set_accessed(struct cpu *c, uint16_t sel, uint64_t lo)
{
    uint64_t desc[2], addr;
    if (lo & DESC_ACCESSED)
        return;
    if (!read_desc(c, sel, desc, &addr))
        return;
    cpu_write_lin(c, addr + 5, 1, (uint8_t)(desc[0] >> 40) | 1u, ACC_SYS);
}

void seg_commit(struct cpu *c, int seg, uint16_t sel, uint64_t lo, uint64_t hi)
{
    seg_from_descriptor(&c->seg[seg], sel, lo | DESC_ACCESSED, hi);
}

void seg_load_null(struct cpu *c, int seg, uint16_t sel)
{
    struct seg_reg *s = &c->seg[seg];
    s->sel = sel;
    s->base = 0;
    s->limit = 0;
    /* SS keeps DPL = CPL even when unusable (SDM 3C "Guest Register State":
     * SS.DPL is saved as CPL). */
    s->ar = AR_UNUSABLE | (seg == SEG_SS ? SEL_RPL(sel) << AR_DPL_SHIFT : 0);
}

void seg_load_flat(struct cpu *c, int seg, uint16_t sel, unsigned dpl, bool code, bool l)
{
    struct seg_reg *s = &c->seg[seg];
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffffu;
    s->ar = AR_P | AR_S | AR_G | (dpl << AR_DPL_SHIFT);
    if (code)
        s->ar |= AR_TYPE_CODE | AR_TYPE_RW | AR_TYPE_A | (l ? AR_L : AR_DB);
    else
        s->ar |= AR_TYPE_RW | AR_TYPE_A | AR_DB;
}

/* Real mode (SDM 3A "Real-Address Mode Operation"): base = selector << 4;
 * limit and attributes stay as they were, so a segment loaded in protected
 * mode keeps its limit ("big real mode"). A register that was unusable
 * becomes a 64-KByte read/write data segment, since real mode has no
 * unusable segments. */
void seg_load_real(struct cpu *c, int seg, uint16_t sel)
{
    struct seg_reg *s = &c->seg[seg];
    s->sel = sel;
    s->base = (uint64_t)sel << 4;
    if (s->ar & AR_UNUSABLE) {
        s->ar = AR_P | AR_S | AR_TYPE_RW | AR_TYPE_A;
        s->limit = 0xffff;
    }
}

/* SDM 2A "MOV -- Move" and "POP -- Pop a Value From the Stack", Operation,
 * protected mode, compatibility and 64-bit mode. */
void seg_load(struct cpu *c, int seg, uint16_t sel)
{
    uint64_t d[2];
    unsigned rpl = SEL_RPL(sel);

    if (c->mode == MODE_REAL || c->mode == MODE_V86) {
        seg_load_real(c, seg, sel);
        return;
    }
    if (seg == SEG_CS || seg >= SEG_NSEGS)
        cpu_fault(c, EXC_UD);

    if (seg == SEG_SS) {
        if (SEL_NULL(sel)) {
            /* 64-bit mode allows a null SS at CPL < 3 with RPL = CPL. */
            if (cpu_is_64(c) && c->cpl != 3 && rpl == c->cpl) {
                seg_load_null(c, SEG_SS, sel);
                return;
            }
            cpu_fault_err(c, EXC_GP, 0);
        }
        seg_read_descriptor(c, sel, d, EXC_GP);
        if (rpl != c->cpl || !desc_writable_data(d[0]) || DESC_DPL(d[0]) != c->cpl)
            cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
        if (!DESC_P(d[0]))
            cpu_fault_err(c, EXC_SS, sel & 0xfffcu);
    } else {
        if (SEL_NULL(sel)) {
            seg_load_null(c, seg, sel);
            return;
        }
        seg_read_descriptor(c, sel, d, EXC_GP);
        bool readable_code = desc_is_code(d[0]) && (DESC_TYPE(d[0]) & 2);
        if (!desc_is_data(d[0]) && !readable_code)
            cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
        /* SDM 3A "Privilege Level Checking When Accessing Data Segments" */
        if (!desc_conforming(d[0]) && (rpl > DESC_DPL(d[0]) || c->cpl > DESC_DPL(d[0])))
            cpu_fault_err(c, EXC_GP, sel & 0xfffcu);
        if (!DESC_P(d[0]))
            cpu_fault_err(c, EXC_NP, sel & 0xfffcu);
    }
    seg_set_accessed(c, sel, d[0]);
    seg_commit(c, seg, sel, d[0], 0);
}

void seg_null_outer_data(struct cpu *c, unsigned new_cpl)
{
    static const int segs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    for (unsigned i = 0; i < sizeof segs / sizeof segs[0]; i++) {
        struct seg_reg *s = &c->seg[segs[i]];
        if (s->ar & AR_UNUSABLE)
            continue;
        bool conforming_code = (s->ar & AR_TYPE_CODE) && (s->ar & AR_TYPE_EC);
        unsigned dpl = (s->ar & AR_DPL_MASK) >> AR_DPL_SHIFT;
        if (!conforming_code && dpl < new_cpl)
            seg_load_null(c, segs[i], 0);
    }
}

/* ---- checked stack and TSS access ---------------------------------------- */

uint64_t seg_stack_mask(const struct stack_ref *st)
{
    if (st->long64)
        return ~0ull;
    return (st->ss->ar & AR_DB) ? 0xffffffffull : 0xffffull;
}

/* SDM 3A "Limit Checking" for the stack, expand-down included. */
static uint64_t stack_linear(struct cpu *c, const struct stack_ref *st, uint64_t off,
                             unsigned size)
{
    const struct seg_reg *ss = st->ss;
    off &= seg_stack_mask(st);
    if (st->long64) {
        if (!canonical(off) || !canonical(off + size - 1))
            cpu_fault_err(c, EXC_SS, st->err);
        return off;
    }
    if (c->mode != MODE_REAL) {
        if (ss->ar & AR_UNUSABLE)
            cpu_fault_err(c, EXC_SS, st->err);
        if (!(ss->ar & AR_TYPE_CODE) && (ss->ar & AR_TYPE_EC)) {
            uint64_t upper = (ss->ar & AR_DB) ? 0xffffffffull : 0xffffull;
            if (off <= ss->limit || off + size - 1 > upper)
                cpu_fault_err(c, EXC_SS, st->err);
            return (ss->base + off) & 0xffffffffull;
        }
    }
    if (off + size - 1 > ss->limit)
        cpu_fault_err(c, EXC_SS, st->err);
    return (ss->base + off) & 0xffffffffull;
}

void seg_stack_write(struct cpu *c, const struct stack_ref *st, uint64_t off, unsigned size,
                     uint64_t val)
{
    uint64_t lin = stack_linear(c, st, off, size);
    cpu_write_lin(c, lin, size, val & size_mask(size), ACC_W | (st->acc_sys ? ACC_SYS : 0));
}

uint64_t seg_stack_read(struct cpu *c, const struct stack_ref *st, uint64_t off, unsigned size)
{
    /* 64-bit stack: the canonical check is the whole of the limit check */
    if (likely(st->long64) && canonical(off) && canonical(off + size - 1))
        return cpu_read_lin(c, off, size, ACC_R | (st->acc_sys ? ACC_SYS : 0));
    uint64_t lin = stack_linear(c, st, off, size);
    return cpu_read_lin(c, lin, size, ACC_R | (st->acc_sys ? ACC_SYS : 0));
}

uint64_t seg_tss_read(struct cpu *c, uint32_t off, unsigned size, uint32_t ext)
{
    if ((c->tr.ar & AR_UNUSABLE) || (uint64_t)off + size - 1 > c->tr.limit)
        cpu_fault_err(c, EXC_TS, (c->tr.sel & 0xfffcu) | ext);
    return cpu_read_lin(c, table_addr(c, c->tr.base, off), size, ACC_SYS);
}

uint64_t seg_stack_push(struct cpu *c, const struct stack_ref *st, uint64_t sp, unsigned size,
                        const uint64_t *v, unsigned n)
{
    uint64_t mask = seg_stack_mask(st);
    /* 64-bit stack whose whole frame lies in one canonical half: no limit
     * check can fail, write the values in order */
    uint64_t lo = sp - (uint64_t)size * n;
    if (likely(st->long64) && lo < sp && canonical(lo) && ((lo ^ (sp - 1)) >> 47) == 0) {
        unsigned acc = ACC_W | (st->acc_sys ? ACC_SYS : 0);
        for (unsigned i = 0; i < n; i++) {
            sp -= size;
            cpu_write_lin(c, sp, size, v[i] & size_mask(size), acc);
        }
        return sp;
    }
    for (unsigned i = 0; i < n; i++) {
        sp = (sp - size) & mask;
        seg_stack_write(c, st, sp, size, v[i]);
    }
    return sp;
}
