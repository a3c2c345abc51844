/* Segment-register instructions: MOV to/from Sreg, PUSH/POP Sreg, the far
 * pointer loads LDS..LGS, and the descriptor probes LAR, LSL, VERR, VERW and
 * ARPL. The checks themselves live in seg.c. */
#include "seg.h"

void op_mov_sreg_load(struct cpu *c, const struct insn *in);
void op_mov_sreg_store(struct cpu *c, const struct insn *in);
void op_push_sreg(struct cpu *c, const struct insn *in);
void op_pop_sreg(struct cpu *c, const struct insn *in);
void op_lds(struct cpu *c, const struct insn *in);
void op_les(struct cpu *c, const struct insn *in);
void op_lss(struct cpu *c, const struct insn *in);
void op_lfs(struct cpu *c, const struct insn *in);
void op_lgs(struct cpu *c, const struct insn *in);
void op_lar(struct cpu *c, const struct insn *in);
void op_lsl(struct cpu *c, const struct insn *in);
void op_verr(struct cpu *c, const struct insn *in);
void op_verw(struct cpu *c, const struct insn *in);
void op_arpl(struct cpu *c, const struct insn *in);

/* SDM 2A "MOV -- Move": MOV Sreg, r/m16. Loading CS is #UD; loading SS
 * inhibits interrupts until the next instruction completes. */
void op_mov_sreg_load(struct cpu *c, const struct insn *in)
{
    unsigned sreg = in->reg & 7;
    if (sreg == SEG_CS || sreg >= SEG_NSEGS)
        cpu_fault(c, EXC_UD);
    uint16_t sel = (uint16_t)opnd_read(c, in, 1, 2);
    seg_load(c, (int)sreg, sel);
    if (sreg == SEG_SS)
        c->intr_shadow = 2; /* blocking by MOV SS (the VMX interruptibility bit) */
}

/* MOV r/m16, Sreg: a register destination gets the selector zero-extended to
 * the operand size; memory always receives 16 bits. */
void op_mov_sreg_store(struct cpu *c, const struct insn *in)
{
    unsigned sreg = in->reg & 7;
    if (sreg >= SEG_NSEGS)
        cpu_fault(c, EXC_UD);
    uint16_t sel = c->seg[sreg].sel;
    if (in->mod == 3)
        reg_write(c, in->rm, in->opsize < 2 ? 2 : in->opsize, in->rex != 0, sel);
    else
        cpu_write(c, in->seg, insn_ea(c, in), 2, sel);
}

/* 06 0E 16 1E 0F A0 0F A8 (push) and 07 17 1F 0F A1 0F A9 (pop): the
 * register is opcode bits 5:3. */
static unsigned sreg_of_opcode(const struct insn *in) { return (in->opcode >> 3) & 7; }

static unsigned stack_opsize(const struct cpu *c, const struct insn *in)
{
    if (in->opsize >= 2)
        return in->opsize;
    return cpu_is_64(c) ? 8 : c->code_size;
}

/* SDM 2A "PUSH": with a 32/64-bit operand size the stack pointer moves by
 * the operand size but only the 16-bit selector is written. */
void op_push_sreg(struct cpu *c, const struct insn *in)
{
    unsigned size = stack_opsize(c, in);
    uint64_t mask = cpu_stack_addr_mask(c);
    uint64_t nsp = (c->gpr[4] - size) & mask;
    cpu_write(c, SEG_SS, nsp, 2, c->seg[sreg_of_opcode(in)].sel);
    c->gpr[4] = (c->gpr[4] & ~mask) | nsp;
}

/* SDM 2A "POP": the selector is checked and loaded before RSP moves. */
void op_pop_sreg(struct cpu *c, const struct insn *in)
{
    unsigned size = stack_opsize(c, in);
    unsigned sreg = sreg_of_opcode(in);
    uint64_t mask = cpu_stack_addr_mask(c);
    uint64_t sp = c->gpr[4] & mask;
    uint16_t sel = (uint16_t)cpu_read(c, SEG_SS, sp, 2);
    if (size > 2)
        (void)cpu_read(c, SEG_SS, sp, size); /* the whole slot must be readable */
    seg_load(c, (int)sreg, sel);
    c->gpr[4] = (c->gpr[4] & ~mask) | ((sp + size) & mask);
    if (sreg == SEG_SS)
        c->intr_shadow = 2; /* blocking by MOV SS */
}

/* SDM 2A "LDS/LES/LFS/LGS/LSS -- Load Far Pointer": offset, then selector. */
static void load_far_pointer(struct cpu *c, const struct insn *in, int seg)
{
    unsigned size = in->opsize;
    uint64_t ea = insn_ea(c, in);
    uint64_t off = cpu_read(c, in->seg, ea, size);
    uint16_t sel = (uint16_t)cpu_read(c, in->seg, (ea + size) & size_mask(in->addrsize), 2);
    seg_load(c, seg, sel);
    reg_write(c, in->reg, size, in->rex != 0, off);
}

void op_lds(struct cpu *c, const struct insn *in) { load_far_pointer(c, in, SEG_DS); }
void op_les(struct cpu *c, const struct insn *in) { load_far_pointer(c, in, SEG_ES); }
void op_lss(struct cpu *c, const struct insn *in) { load_far_pointer(c, in, SEG_SS); }
void op_lfs(struct cpu *c, const struct insn *in) { load_far_pointer(c, in, SEG_FS); }
void op_lgs(struct cpu *c, const struct insn *in) { load_far_pointer(c, in, SEG_GS); }

/* Only ZF changes; the other arithmetic flags are kept. */
static void set_zf(struct cpu *c, bool zf)
{
    flags_materialize(c);
    c->rflags = zf ? (c->rflags | FL_ZF) : (c->rflags & ~FL_ZF);
}

enum probe_kind { PROBE_LAR, PROBE_LSL, PROBE_VERR, PROBE_VERW };

/* System types LAR and LSL accept (SDM 2A "LAR", "LSL"): legacy mode, then
 * IA-32e mode where 16-bit TSSs and gates other than 64-bit call gates are
 * invalid. */
static bool system_type_ok(const struct cpu *c, unsigned type, bool lar)
{
    if (cpu_long_active(c))
        return type == SYS_LDT || type == SYS_TSS_AVAIL || type == SYS_TSS_BUSY ||
               (lar && type == SYS_CALL_GATE);
    switch (type) {
    case SYS_TSS16_AVAIL: case SYS_LDT: case SYS_TSS16_BUSY: case SYS_TSS_AVAIL:
    case SYS_TSS_BUSY:
        return true;
    case SYS_CALL_GATE16: case SYS_TASK_GATE: case SYS_CALL_GATE:
        return lar;
    default:
        return false;
    }
}

/* Would the descriptor for sel pass the probe? Never faults on a bad
 * selector: the answer is ZF (SDM 2A "LAR", "LSL", "VERR/VERW"). */
static bool probe_selector(struct cpu *c, uint16_t sel, enum probe_kind k, uint64_t d[2])
{
    if (SEL_NULL(sel) || !seg_probe_descriptor(c, sel, d))
        return false;
    uint64_t lo = d[0];
    unsigned dpl = DESC_DPL(lo);
    bool priv_ok = dpl >= c->cpl && dpl >= SEL_RPL(sel);
    if (!DESC_S(lo)) {
        if (k == PROBE_VERR || k == PROBE_VERW)
            return false;
        return system_type_ok(c, DESC_TYPE(lo), k == PROBE_LAR) && priv_ok;
    }
    switch (k) {
    case PROBE_VERR:
        if (desc_is_code(lo) && !(DESC_TYPE(lo) & 2))
            return false;
        return desc_conforming(lo) || priv_ok;
    case PROBE_VERW:
        return desc_writable_data(lo) && priv_ok;
    default:
        return desc_conforming(lo) || priv_ok;
    }
}

static void require_protected(struct cpu *c)
{
    if (c->mode == MODE_REAL || c->mode == MODE_V86)
        cpu_fault(c, EXC_UD);
}

void op_lar(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    uint64_t d[2];
    uint16_t sel = (uint16_t)opnd_read(c, in, 1, 2);
    bool ok = probe_selector(c, sel, PROBE_LAR, d);
    if (ok) {
        uint64_t ar = (d[0] >> 32) & (in->opsize == 2 ? 0xff00u : 0x00ffff00u);
        reg_write(c, in->reg, in->opsize, in->rex != 0, ar);
    }
    set_zf(c, ok);
}

void op_lsl(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    uint64_t d[2];
    uint16_t sel = (uint16_t)opnd_read(c, in, 1, 2);
    bool ok = probe_selector(c, sel, PROBE_LSL, d);
    if (ok) {
        struct seg_reg s;
        seg_from_descriptor(&s, sel, d[0], 0);
        reg_write(c, in->reg, in->opsize, in->rex != 0, s.limit);
    }
    set_zf(c, ok);
}

void op_verr(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    uint64_t d[2];
    set_zf(c, probe_selector(c, (uint16_t)opnd_read(c, in, 0, 2), PROBE_VERR, d));
}

void op_verw(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    uint64_t d[2];
    set_zf(c, probe_selector(c, (uint16_t)opnd_read(c, in, 0, 2), PROBE_VERW, d));
}

/* SDM 2A "ARPL -- Adjust RPL Field of Segment Selector" (not in real mode). */
void op_arpl(struct cpu *c, const struct insn *in)
{
    require_protected(c);
    uint16_t dst = (uint16_t)opnd_read(c, in, 0, 2);
    uint16_t src = (uint16_t)opnd_read(c, in, 1, 2);
    if ((dst & 3) < (src & 3)) {
        opnd_write(c, in, 0, 2, (dst & 0xfffcu) | (src & 3u));
        set_zf(c, true);
    } else {
        set_zf(c, false);
    }
}
