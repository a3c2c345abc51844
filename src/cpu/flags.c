/* The lazy arithmetic-flags engine: flag producers record (op, size, result,
 * sources) with lf_set(); readers evaluate only what they need. Flag rules
 * are those of the SDM 2 instruction pages ("Flags Affected") and SDM 1
 * "Status Flags". */
#include "ops_gp.h"

#define FL_SUPPORTED                                                                       \
    (FL_ARITH | FL_FIXED1 | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_RF | FL_VM |      \
     FL_AC | FL_VIF | FL_VIP | FL_ID)

/* Evaluate the six arithmetic flags of a lazy record. */
static uint64_t lazy_eval(const struct lazy_flags *lf)
{
    unsigned sz = lf->size;
    unsigned top = sz * 8 - 1;
    uint64_t a = lf->src1, b = lf->src2, r = lf->res & size_mask(sz);
    uint64_t fl = flags_szp(r, sz);
    uint64_t sign = 1ull << top;

    switch (lf->op) {
    case LF_ADD:
    case LF_ADC: {
        /* carry out of each bit, valid with or without a carry in */
        uint64_t carry = (a & b) | ((a | b) & ~r);
        fl |= ((carry >> top) & 1) ? FL_CF : 0;
        fl |= (((a ^ r) & (b ^ r)) & sign) ? FL_OF : 0;
        fl |= (a ^ b ^ r) & FL_AF;
        break;
    }
    case LF_SUB:
    case LF_SBB: {
        uint64_t borrow = (~a & b) | ((~a | b) & r);
        fl |= ((borrow >> top) & 1) ? FL_CF : 0;
        fl |= (((a ^ b) & (a ^ r)) & sign) ? FL_OF : 0;
        fl |= (a ^ b ^ r) & FL_AF;
        break;
    }
    case LF_LOGIC: /* CF = OF = 0; AF undefined, 0 (docs/undefined-flags.md) */
        break;
    case LF_INC:
        fl |= lf->cf_in ? FL_CF : 0;
        fl |= r == sign ? FL_OF : 0;
        fl |= (r & 0xf) == 0 ? FL_AF : 0;
        break;
    case LF_DEC:
        fl |= lf->cf_in ? FL_CF : 0;
        fl |= r == sign - 1 ? FL_OF : 0;
        fl |= (r & 0xf) == 0xf ? FL_AF : 0;
        break;
    case LF_NEG:
        a &= size_mask(sz);
        fl |= a != 0 ? FL_CF : 0;
        fl |= a == sign ? FL_OF : 0;
        fl |= (a ^ r) & FL_AF;
        break;
    default:
        break;
    }
    return fl;
}

void flags_materialize(struct cpu *c)
{
    if (c->lf.op == LF_NONE)
        return;
    c->rflags = (c->rflags & ~FL_ARITH) | lazy_eval(&c->lf);
    c->lf.op = LF_NONE;
}

bool flags_cf(struct cpu *c)
{
    bool cf;
    if (flags_cf_quick(c, &cf))
        return cf;
    return (lazy_eval(&c->lf) & FL_CF) != 0;
}

/* Condition codes (SDM 1 Appendix B "EFLAGS Condition Codes"). */
static bool cond_from_flags(uint64_t fl, unsigned cc)
{
    bool r;
    bool sf_ne_of = !(fl & FL_SF) != !(fl & FL_OF);
    switch (cc >> 1) {
    case 0: r = fl & FL_OF; break;
    case 1: r = fl & FL_CF; break;
    case 2: r = fl & FL_ZF; break;
    case 3: r = fl & (FL_CF | FL_ZF); break;
    case 4: r = fl & FL_SF; break;
    case 5: r = fl & FL_PF; break;
    case 6: r = sf_ne_of; break;
    default: r = (fl & FL_ZF) || sf_ne_of; break;
    }
    return r ^ (cc & 1);
}

/* CMP / SUB: compare the sources directly. */
static int cond_sub(const struct lazy_flags *lf, unsigned cc)
{
    unsigned sz = lf->size;
    uint64_t m = size_mask(sz);
    uint64_t a = lf->src1 & m, b = lf->src2 & m;
    int64_t sa = (int64_t)gp_sext(a, sz), sb = (int64_t)gp_sext(b, sz);
    switch (cc) {
    case 0x2: return a < b;
    case 0x3: return a >= b;
    case 0x4: return a == b;
    case 0x5: return a != b;
    case 0x6: return a <= b;
    case 0x7: return a > b;
    case 0x8: return gp_msb(lf->res, sz);
    case 0x9: return !gp_msb(lf->res, sz);
    case 0xc: return sa < sb;
    case 0xd: return sa >= sb;
    case 0xe: return sa <= sb;
    case 0xf: return sa > sb;
    default: return -1;
    }
}

/* Logic results: CF = OF = 0. */
static int cond_logic(const struct lazy_flags *lf, unsigned cc)
{
    uint64_t r = lf->res & size_mask(lf->size);
    bool s = gp_msb(r, lf->size);
    switch (cc) {
    case 0x0: return 0;
    case 0x1: return 1;
    case 0x2: return 0;
    case 0x3: return 1;
    case 0x4:
    case 0x6: return r == 0;
    case 0x5:
    case 0x7: return r != 0;
    case 0x8:
    case 0xc: return s;
    case 0x9:
    case 0xd: return !s;
    case 0xe: return r == 0 || s;
    case 0xf: return r != 0 && !s;
    default: return -1;
    }
}

bool flags_cond(struct cpu *c, unsigned cc)
{
    int r = -1;
    cc &= 15;
    if (c->lf.op == LF_SUB)
        r = cond_sub(&c->lf, cc);
    else if (c->lf.op == LF_LOGIC)
        r = cond_logic(&c->lf, cc);
    if (r >= 0)
        return r;
    if (c->lf.op == LF_NONE)
        return cond_from_flags(c->rflags, cc);
    return cond_from_flags(lazy_eval(&c->lf), cc);
}

uint64_t cpu_get_rflags(struct cpu *c)
{
    flags_materialize(c);
    return c->rflags;
}

void cpu_set_rflags(struct cpu *c, uint64_t v)
{
    c->rflags = (v | FL_FIXED1) & FL_SUPPORTED;
    c->lf.op = LF_NONE;
    cpu_alignment_update(c); /* RFLAGS.AC */
}

/* ---- undefined flags (docs/undefined-flags.md) ------------------------------ */

#define FL_OSAP (FL_OF | FL_SF | FL_AF | FL_PF)

/* Count of a shift row: -1 if it is in CL and no CPU state is given. */
static int undef_count(const struct cpu *c, const struct insn *in, unsigned i)
{
    unsigned mask = in->opsize == 8 ? 63 : 31;
    switch (in->opk[i]) {
    case OPK_IMM: return (int)(in->imm & mask);
    case OPK_CL: return c ? (int)(c->gpr[1] & mask) : -1;
    default: return 1;
    }
}

/* SDM 2 "SAL/SAR/SHL/SHR" and "RCL/RCR/ROL/ROR" Flags Affected. */
static uint64_t undef_shift(const struct cpu *c, const struct insn *in, unsigned op)
{
    int n = undef_count(c, in, 1);
    unsigned bits = in->opsize * 8u;
    if (n == 0)
        return 0;
    if (op < 4) /* rotates: OF unless the count is 1 */
        return n == 1 ? 0 : FL_OF;
    uint64_t u = FL_AF | (n == 1 ? 0 : FL_OF);
    if ((op == 4 || op == 5 || op == 6) && (n < 0 || (unsigned)n >= bits))
        u |= FL_CF;
    return u;
}

/* SDM 2 "SHLD", "SHRD": count > size leaves result and flags undefined. */
static uint64_t undef_double_shift(const struct cpu *c, const struct insn *in)
{
    int n = undef_count(c, in, 2);
    if (n == 0)
        return 0;
    if (n < 0 || (unsigned)n > in->opsize * 8u)
        return FL_ARITH;
    return FL_AF | (n == 1 ? 0 : FL_OF);
}

uint64_t cpu_undefined_flags_at(const struct cpu *c, const struct insn *in)
{
    insn_handler h = in->handler;
    if (h == op_and || h == op_or || h == op_xor || h == op_test)
        return FL_AF;
    if (h == op_mul || h == op_imul || h == op_imul_1 || h == op_imul2 || h == op_imul3)
        return FL_SF | FL_ZF | FL_AF | FL_PF;
    if (h == op_div || h == op_idiv)
        return FL_ARITH;
    if (h == op_shift_grp2)
        return undef_shift(c, in, in->reg & 7);
    static const struct { insn_handler h; unsigned op; } shifts[] = {
        { op_rol, 0 }, { op_ror, 1 }, { op_rcl, 2 }, { op_rcr, 3 },
        { op_shl, 4 }, { op_shr, 5 }, { op_sal, 6 }, { op_sar, 7 },
    };
    for (unsigned i = 0; i < sizeof shifts / sizeof shifts[0]; i++)
        if (h == shifts[i].h)
            return undef_shift(c, in, shifts[i].op);
    if (h == op_shld || h == op_shrd)
        return undef_double_shift(c, in);
    if (h == op_bt || h == op_bts || h == op_btr || h == op_btc)
        return FL_OSAP;
    if (h == op_bsf || h == op_bsr)
        return FL_CF | FL_OSAP;
    if (h == op_tzcnt || h == op_lzcnt)
        return FL_OSAP;
    if (h == op_aaa || h == op_aas)
        return FL_OF | FL_SF | FL_ZF | FL_PF;
    if (h == op_daa || h == op_das)
        return FL_OF;
    if (h == op_aam || h == op_aad)
        return FL_OF | FL_AF | FL_CF;
    return 0;
}

uint64_t cpu_undefined_flags(const struct insn *in)
{
    return cpu_undefined_flags_at(NULL, in);
}
