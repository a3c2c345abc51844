/* Shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR), SHLD and
 * SHRD (SDM 2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD"). The
 * count is masked to 5 bits (6 with a 64-bit operand); a masked count of 0
 * changes no flags. Flags are computed eagerly; the SDM's undefined cases
 * (OF for counts other than 1, AF, CF past the operand size) take the values
 * written in docs/undefined-flags.md. */
#include "ops_gp.h"

typedef unsigned __int128 u128;

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static unsigned shift_count(struct cpu *c, const struct insn *in, unsigned i)
{
    uint64_t raw;
    switch (in->opk[i]) {
    case OPK_IMM: raw = in->imm; break;
    case OPK_CL: raw = c->gpr[1]; break;
    default: raw = 1; break; /* OPK_ONE, or the count-less D0/D1 rows */
    }
    return (unsigned)raw & (in->opsize == 8 ? 63 : 31);
}

/* A 32-bit register destination is written (zero-extended) even when the
 * masked count is 0. */
static void count_zero(struct cpu *c, const struct insn *in)
{
    if (in->opsize == 4 && !gp_is_mem(in, 0))
        gp_write(c, in, 0, 4, gp_read(c, in, 0, 4));
}

static inline uint64_t bit_fl(bool b, uint64_t flag) { return b ? flag : 0; }

void gp_shift(struct cpu *c, const struct insn *in, unsigned op)
{
    unsigned sz = in->opsize, bits = sz * 8;
    uint64_t m = size_mask(sz);
    unsigned count = shift_count(c, in, 1);
    uint64_t v = gp_read(c, in, 0, sz);
    if (count == 0) {
        count_zero(c, in);
        return;
    }
    uint64_t fl = cpu_get_rflags(c);
    uint64_t keep = fl & (FL_SF | FL_ZF | FL_AF | FL_PF); /* rotates keep these */
    uint64_t r, nf;
    bool cf;

    switch (op) {
    case SH_ROL: {
        unsigned rc = count & (bits - 1);
        r = rc ? ((v << rc) | (v >> (bits - rc))) & m : v;
        cf = r & 1;
        nf = keep | bit_fl(cf, FL_CF) | bit_fl(gp_msb(r, sz) ^ cf, FL_OF);
        break;
    }
    case SH_ROR: {
        unsigned rc = count & (bits - 1);
        r = rc ? ((v >> rc) | (v << (bits - rc))) & m : v;
        cf = gp_msb(r, sz);
        nf = keep | bit_fl(cf, FL_CF) | bit_fl(cf ^ ((r >> (bits - 2)) & 1), FL_OF);
        break;
    }
    case SH_RCL:
    case SH_RCR: {
        /* rotate the (bits + 1)-bit value CF:dest; 8/16-bit counts mod 9/17 */
        unsigned w = bits + 1;
        unsigned rc = bits < 32 ? count % w : count;
        if (rc == 0)
            return;
        u128 wm = ((u128)1 << w) - 1;
        u128 x = ((u128)(fl & FL_CF) << bits) | v;
        x = op == SH_RCL ? ((x << rc) | (x >> (w - rc))) & wm : ((x >> rc) | (x << (w - rc))) & wm;
        r = (uint64_t)x & m;
        cf = (uint64_t)(x >> bits) & 1;
        bool of = op == SH_RCL ? gp_msb(r, sz) ^ cf : gp_msb(r, sz) ^ ((r >> (bits - 2)) & 1);
        nf = keep | bit_fl(cf, FL_CF) | bit_fl(of, FL_OF);
        break;
    }
    case SH_SHL:
    case SH_SAL:
        r = count < bits ? (v << count) & m : 0;
        cf = count <= bits ? (v >> (bits - count)) & 1 : 0;
        nf = flags_szp(r, sz) | bit_fl(cf, FL_CF) | bit_fl(gp_msb(r, sz) ^ cf, FL_OF);
        break;
    case SH_SHR:
        r = v >> count;
        cf = (v >> (count - 1)) & 1;
        nf = flags_szp(r, sz) | bit_fl(cf, FL_CF) |
             bit_fl(gp_msb(r, sz) ^ ((r >> (bits - 2)) & 1), FL_OF);
        break;
    default: { /* SH_SAR */
        int64_t sv = (int64_t)gp_sext(v, sz);
        r = (uint64_t)(sv >> count) & m;
        cf = (uint64_t)(sv >> (count - 1)) & 1;
        nf = flags_szp(r, sz) | bit_fl(cf, FL_CF);
        break;
    }
    }
    gp_write(c, in, 0, sz, r);
    flags_set_arith(c, nf);
}

void op_shift_grp2(struct cpu *c, const struct insn *in) { gp_shift(c, in, in->reg & 7); }
void op_rol(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_ROL); }
void op_ror(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_ROR); }
void op_rcl(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_RCL); }
void op_rcr(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_RCR); }
void op_shl(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_SHL); }
void op_sal(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_SAL); }
void op_shr(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_SHR); }
void op_sar(struct cpu *c, const struct insn *in) { gp_shift(c, in, SH_SAR); }

/* SHLD / SHRD: dest is operand 0, the bits shifted in come from operand 1,
 * the count is operand 2 (Ib or CL). A 16-bit count above 16 shifts the
 * 48-bit pattern dest:src:dest (docs/undefined-flags.md). */
static void double_shift(struct cpu *c, const struct insn *in, bool left)
{
    unsigned sz = in->opsize, bits = sz * 8;
    uint64_t m = size_mask(sz);
    unsigned count = shift_count(c, in, 2);
    uint64_t d = gp_read(c, in, 0, sz);
    uint64_t s = gp_read(c, in, 1, sz);
    if (count == 0) {
        count_zero(c, in);
        return;
    }
    uint64_t r;
    bool cf, of;
    if (sz == 2) {
        uint64_t t = (d << 32) | (s << 16) | d;
        r = left ? (t >> (32 - count)) & m : (t >> count) & m;
        cf = left ? (t >> (48 - count)) & 1 : (t >> (count - 1)) & 1;
    } else if (left) {
        r = ((d << count) | (s >> (bits - count))) & m;
        cf = (d >> (bits - count)) & 1;
    } else {
        r = ((d >> count) | (s << (bits - count))) & m;
        cf = (d >> (count - 1)) & 1;
    }
    if (left)
        of = gp_msb(r, sz) ^ cf;
    else
        of = gp_msb(r, sz) ^ ((r >> (bits - 2)) & 1);
    gp_write(c, in, 0, sz, r);
    flags_set_arith(c, flags_szp(r, sz) | bit_fl(cf, FL_CF) | bit_fl(of, FL_OF));
}

void op_shld(struct cpu *c, const struct insn *in) { double_shift(c, in, true); }
void op_shrd(struct cpu *c, const struct insn *in) { double_shift(c, in, false); }
