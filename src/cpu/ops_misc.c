/* Data movement and the small general-purpose instructions: MOV, MOVZX,
 * MOVSX, MOVSXD, LEA, XCHG, CMPXCHG, CMPXCHG8B/16B, XADD, BSWAP, MOVBE,
 * SETcc, CMOVcc, CBW/CWD, LAHF/SAHF, flag-bit instructions, XLAT, NOP, the
 * BCD adjustments and BOUND (SDM 2 instruction pages of the same names). */
#include "ops_gp.h"
#include "nvmx/annotate.h"

void op_mov(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    gp_write(c, in, 0, sz, gp_read(c, in, 1, sz));
}

void op_movzx_b(struct cpu *c, const struct insn *in)
{
    gp_write(c, in, 0, in->opsize, gp_read(c, in, 1, 1));
}

void op_movzx_w(struct cpu *c, const struct insn *in)
{
    gp_write(c, in, 0, in->opsize, gp_read(c, in, 1, 2));
}

void op_movsx_b(struct cpu *c, const struct insn *in)
{
    gp_write(c, in, 0, in->opsize, gp_sext(gp_read(c, in, 1, 1), 1));
}

void op_movsx_w(struct cpu *c, const struct insn *in)
{
    gp_write(c, in, 0, in->opsize, gp_sext(gp_read(c, in, 1, 2), 2));
}

/* MOVSXD: sign-extends with REX.W; without it a plain 32/16-bit move. */
void op_movsxd(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    unsigned ssz = sz == 2 ? 2 : 4;
    gp_write(c, in, 0, sz, gp_sext(gp_read(c, in, 1, ssz), ssz));
}

/* LEA: the offset truncated or zero-extended to the operand size
 * (SDM 2 "LEA", Table "Non-64-bit Mode LEA Operation ..."). */
void op_lea(struct cpu *c, const struct insn *in)
{
    if (in->mod == 3)
        cpu_fault(c, EXC_UD);
    gp_write(c, in, 0, in->opsize, insn_ea(c, in));
}

/* XCHG: the memory write comes first so a fault leaves the register. */
void op_xchg(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t a = gp_read(c, in, 0, sz);
    uint64_t b = gp_read(c, in, 1, sz);
    if (gp_is_mem(in, 1)) {
        gp_write(c, in, 1, sz, a);
        gp_write(c, in, 0, sz, b);
    } else {
        gp_write(c, in, 0, sz, b);
        gp_write(c, in, 1, sz, a);
    }
}

/* XADD: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
void op_xadd(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t d = gp_read(c, in, 0, sz);
    uint64_t s = gp_read(c, in, 1, sz);
    uint64_t r = (d + s) & size_mask(sz);
    if (gp_is_mem(in, 0)) {
        gp_write(c, in, 0, sz, r);
        gp_write(c, in, 1, sz, d);
    } else {
        gp_write(c, in, 1, sz, d);
        gp_write(c, in, 0, sz, r);
    }
    lf_set(c, LF_ADD, sz, r, d, s);
}

/* CMPXCHG: flags as CMP accumulator, dest. A memory destination is always
 * written (with its own value on failure); a register destination only on
 * success, the accumulator only on failure. */
void op_cmpxchg(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t m = size_mask(sz);
    uint64_t acc = c->gpr[0] & m;
    uint64_t d = gp_read(c, in, 0, sz);
    uint64_t s = gp_read(c, in, 1, sz);
    if (acc == d) {
        gp_write(c, in, 0, sz, s);
    } else {
        if (gp_is_mem(in, 0))
            gp_write(c, in, 0, sz, d);
        reg_write(c, 0, sz, false, d);
    }
    lf_set(c, LF_SUB, sz, (acc - d) & m, acc, d);
}

static void set_zf(struct cpu *c, bool z)
{
    uint64_t fl = cpu_get_rflags(c);
    flags_set_arith(c, z ? (fl | FL_ZF) : (fl & ~FL_ZF));
}

void op_cmpxchg16b(struct cpu *c, const struct insn *in)
{
    if (in->mod == 3)
        cpu_fault(c, EXC_UD);
    uint64_t ea = insn_ea(c, in);
    if (ea & 15) /* SDM 2 "CMPXCHG8B/CMPXCHG16B": 16-byte alignment */
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t ea2 = (ea + 8) & size_mask(in->addrsize);
    cpu_probe_write(c, in->seg, ea, 8);
    cpu_probe_write(c, in->seg, ea2, 8);
    uint64_t lo = cpu_read(c, in->seg, ea, 8), hi = cpu_read(c, in->seg, ea2, 8);
    bool eq = lo == c->gpr[0] && hi == c->gpr[2];
    if (eq) {
        cpu_write(c, in->seg, ea, 8, c->gpr[3]);
        cpu_write(c, in->seg, ea2, 8, c->gpr[1]);
    } else {
        cpu_write(c, in->seg, ea, 8, lo);
        cpu_write(c, in->seg, ea2, 8, hi);
        c->gpr[0] = lo;
        c->gpr[2] = hi;
    }
    set_zf(c, eq);
}

/* CMPXCHG8B; with REX.W the same row is CMPXCHG16B. */
void op_cmpxchg8b(struct cpu *c, const struct insn *in)
{
    if (in->rex & 8) {
        op_cmpxchg16b(c, in);
        return;
    }
    if (in->mod == 3)
        cpu_fault(c, EXC_UD);
    uint64_t ea = insn_ea(c, in);
    cpu_probe_write(c, in->seg, ea, 8);
    uint64_t v = cpu_read(c, in->seg, ea, 8);
    uint64_t edx_eax = ((c->gpr[2] & 0xffffffffull) << 32) | (c->gpr[0] & 0xffffffffull);
    bool eq = v == edx_eax;
    if (eq) {
        cpu_write(c, in->seg, ea, 8, ((c->gpr[1] & 0xffffffffull) << 32) |
                                         (c->gpr[3] & 0xffffffffull));
    } else {
        cpu_write(c, in->seg, ea, 8, v);
        reg_write(c, 0, 4, false, v);
        reg_write(c, 2, 4, false, v >> 32);
    }
    set_zf(c, eq);
}

static uint64_t byte_swap(uint64_t v, unsigned sz)
{
    switch (sz) {
    case 2: return __builtin_bswap16((uint16_t)v);
    case 4: return __builtin_bswap32((uint32_t)v);
    default: return __builtin_bswap64(v);
    }
}

/* BSWAP r16 is undefined; it clears the low word, as Intel processors do
 * (docs/undefined-flags.md). */
void op_bswap(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    unsigned r = in->rm; /* 0F C8+r: register in the opcode, REX.B included */
    if (sz == 2) {
        reg_write(c, r, 2, true, 0);
        return;
    }
    reg_write(c, r, sz, true, byte_swap(c->gpr[r], sz));
}

void op_movbe(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    gp_write(c, in, 0, sz, byte_swap(gp_read(c, in, 1, sz), sz));
}

void op_setcc(struct cpu *c, const struct insn *in)
{
    gp_write(c, in, 0, 1, flags_cond(c, in->cc));
}

/* CMOVcc reads its source even when the condition is false, and a 32-bit
 * destination is zero-extended either way in 64-bit mode. */
void op_cmovcc(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t v = gp_read(c, in, 1, sz);
    if (flags_cond(c, in->cc))
        gp_write(c, in, 0, sz, v);
    else if (sz == 4)
        gp_write(c, in, 0, 4, gp_read(c, in, 0, 4));
}

/* CBW / CWDE / CDQE */
void op_cbw(struct cpu *c, const struct insn *in)
{
    unsigned sz = gp_osize(c, in);
    reg_write(c, 0, sz, false, gp_sext(c->gpr[0], sz / 2));
}

/* CWD / CDQ / CQO */
void op_cwd(struct cpu *c, const struct insn *in)
{
    unsigned sz = gp_osize(c, in);
    reg_write(c, 2, sz, false, gp_msb(c->gpr[0], sz) ? ~0ull : 0);
}

#define FL_LAHF_MASK (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

void op_lahf(struct cpu *c, const struct insn *in)
{
    uint64_t fl = cpu_get_rflags(c);
    reg_write(c, 4, 1, false, (fl & FL_LAHF_MASK) | FL_FIXED1);
}

void op_sahf(struct cpu *c, const struct insn *in)
{
    uint64_t fl = cpu_get_rflags(c);
    uint64_t ah = (c->gpr[0] >> 8) & 0xff;
    flags_set_arith(c, (fl & ~FL_LAHF_MASK) | (ah & FL_LAHF_MASK));
}

void op_clc(struct cpu *c, const struct insn *in)
{
    flags_set_arith(c, cpu_get_rflags(c) & ~FL_CF);
}

void op_stc(struct cpu *c, const struct insn *in)
{
    flags_set_arith(c, cpu_get_rflags(c) | FL_CF);
}

void op_cmc(struct cpu *c, const struct insn *in)
{
    flags_set_arith(c, cpu_get_rflags(c) ^ FL_CF);
}

void op_cld(struct cpu *c, const struct insn *in) { c->rflags &= ~FL_DF; }
void op_std(struct cpu *c, const struct insn *in) { c->rflags |= FL_DF; }
void op_nop(struct cpu *c, const struct insn *in) {}
/* 0F 1F /0 NOP Ev. The form [rAX + disp32] with the displacement "nvmx"
 * is nvmx's annotation instruction (include/nvmx/annotate.h): still a NOP,
 * whose registers go to whoever listens (the trace). */
void op_nop_ev(struct cpu *c, const struct insn *in)
{
    if (c->annotate && in->mod == 2 && in->reg == 0 && in->base == 0 && in->index == REG_NONE &&
        in->addrsize >= 4 && (uint32_t)in->disp == NVMX_ANNOTATE_DISP)
        c->annotate(c->annotate_ctx, c);
}
/* PAUSE is a NOP to the interpreter; in VMX non-root operation it may exit
 * ("PAUSE exiting", "PAUSE-loop exiting": src/cpu/ops_sys.c). */
void op_pause(struct cpu *c, const struct insn *in)
{

    if (unlikely(c->vmx_nonroot))
        cpu_pause_intercept(c, in);
}

/* XLAT: AL = [seg:rBX + AL], DS unless overridden. */
void op_xlat(struct cpu *c, const struct insn *in)
{
    int seg = (in->pfx & PFX_SEG) ? in->seg : SEG_DS;
    uint64_t off = (c->gpr[3] + (c->gpr[0] & 0xff)) & size_mask(in->addrsize);
    reg_write(c, 0, 1, false, cpu_read(c, seg, off, 1));
}

/* ---- BCD (invalid in 64-bit mode: the rows carry i64) ---- */

static void set_al_flags(struct cpu *c, uint64_t extra)
{
    flags_set_arith(c, flags_szp(c->gpr[0] & 0xff, 1) | extra);
}

/* AAA / AAS: SDM 2 "AAA", "AAS"; OF, SF, ZF, PF are undefined: SF/ZF/PF
 * follow AL after the adjustment, OF = 0. */
static void ascii_adjust(struct cpu *c, bool sub)
{
    uint64_t fl = cpu_get_rflags(c);
    uint64_t ax = c->gpr[0] & 0xffff;
    uint64_t extra = 0;
    if ((ax & 0xf) > 9 || (fl & FL_AF)) {
        /* current SDM wording: AX - 6 then AH - 1 / AX + 106H */
        ax = sub ? ax - 6 - 0x100 : ax + 0x106;
        extra = FL_AF | FL_CF;
    }
    reg_write(c, 0, 2, false, ax & 0xff0f);
    set_al_flags(c, extra);
}

void op_aaa(struct cpu *c, const struct insn *in) { ascii_adjust(c, false); }
void op_aas(struct cpu *c, const struct insn *in) { ascii_adjust(c, true); }

/* DAA / DAS: SDM 2 "DAA", "DAS"; OF undefined: 0. */
static void decimal_adjust(struct cpu *c, bool sub)
{
    uint64_t fl = cpu_get_rflags(c);
    uint64_t old_al = c->gpr[0] & 0xff, al = old_al;
    bool old_cf = fl & FL_CF, cf = false, af = false;
    if ((al & 0xf) > 9 || (fl & FL_AF)) {
        cf = old_cf || (sub ? al < 6 : al > 0xf9);
        al = (sub ? al - 6 : al + 6) & 0xff;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        cf = true;
    }
    reg_write(c, 0, 1, false, al);
    set_al_flags(c, (cf ? FL_CF : 0) | (af ? FL_AF : 0));
}

void op_daa(struct cpu *c, const struct insn *in) { decimal_adjust(c, false); }
void op_das(struct cpu *c, const struct insn *in) { decimal_adjust(c, true); }

/* AAM imm8: AH = AL / imm8, AL = AL % imm8; #DE if imm8 = 0. OF, AF, CF are
 * undefined: 0. */
void op_aam(struct cpu *c, const struct insn *in)
{
    uint64_t base = in->imm & 0xff;
    if (base == 0)
        cpu_fault(c, EXC_DE);
    uint64_t al = c->gpr[0] & 0xff;
    reg_write(c, 0, 2, false, ((al / base) << 8) | (al % base));
    set_al_flags(c, 0);
}

/* AAD imm8: AL = AL + AH * imm8, AH = 0. OF, AF, CF are undefined: 0. */
void op_aad(struct cpu *c, const struct insn *in)
{
    uint64_t base = in->imm & 0xff;
    uint64_t al = c->gpr[0] & 0xff, ah = (c->gpr[0] >> 8) & 0xff;
    reg_write(c, 0, 2, false, (al + ah * base) & 0xff);
    set_al_flags(c, 0);
}

/* ---- BOUND (invalid in 64-bit mode: the row carries i64) ---- */

/* SDM 2A "BOUND": the signed index in the register against the signed
 * lower and upper bounds at m16&16 / m32&32; outside [lower, upper] raises
 * #BR, a fault (RIP stays at BOUND). No flags change. Prototype here until
 * it joins GP_HANDLERS in ops_gp.h. */
void op_bound(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t ea = insn_ea(c, in);
    int64_t lower = (int64_t)gp_sext(cpu_read(c, in->seg, ea, sz), sz);
    int64_t upper =
        (int64_t)gp_sext(cpu_read(c, in->seg, (ea + sz) & size_mask(in->addrsize), sz), sz);
    int64_t index = (int64_t)gp_sext(reg_read(c, in->reg, sz, false), sz);
    if (index < lower || index > upper)
        cpu_fault(c, EXC_BR);
}
