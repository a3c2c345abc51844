/* MUL, IMUL (one-, two- and three-operand forms), DIV and IDIV (SDM 2
 * "MUL", "IMUL", "DIV", "IDIV"). Flags are computed eagerly: CF = OF say
 * whether the product overflowed the destination; SF, ZF, PF follow the low
 * half and AF is 0 (undefined in the SDM, see docs/undefined-flags.md).
 * DIV / IDIV raise #DE before anything is written and leave flags alone. */
#include "ops_gp.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static void mul_flags(struct cpu *c, uint64_t lo, unsigned sz, bool overflow)
{
    flags_set_arith(c, flags_szp(lo, sz) | (overflow ? (FL_CF | FL_OF) : 0));
}

/* Write the double-width result: AX for bytes, else rDX:rAX. */
static void write_acc_pair(struct cpu *c, unsigned sz, uint64_t lo, uint64_t hi)
{
    if (sz == 1) {
        reg_write(c, 0, 2, false, (lo & 0xff) | ((hi & 0xff) << 8));
        return;
    }
    reg_write(c, 0, sz, false, lo);
    reg_write(c, 2, sz, false, hi);
}

void op_mul(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t m = size_mask(sz);
    uint64_t src = gp_read(c, in, 0, sz);
    u128 p = (u128)(c->gpr[0] & m) * src;
    uint64_t lo, hi;
    if (sz == 8) {
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        lo = (uint64_t)p & m;
        hi = (uint64_t)(p >> (sz * 8)) & m;
    }
    write_acc_pair(c, sz, lo, hi);
    mul_flags(c, lo, sz, hi != 0);
}

/* Signed product of a and b at size sz: low half, and whether it differs
 * from the full product. */
static uint64_t imul_core(uint64_t a, uint64_t b, unsigned sz, uint64_t *hi, bool *ovf)
{
    s128 p = (s128)(int64_t)gp_sext(a, sz) * (s128)(int64_t)gp_sext(b, sz);
    uint64_t m = size_mask(sz);
    uint64_t lo = (uint64_t)p & m;
    *hi = sz == 8 ? (uint64_t)((u128)p >> 64) : (uint64_t)(p >> (sz * 8)) & m;
    *ovf = (s128)(int64_t)gp_sext(lo, sz) != p;
    return lo;
}

/* One handler for every IMUL form: F6/F7 /5 (rDX:rAX = rAX * r/m),
 * 0F AF (Gv = Gv * Ev) and 69/6B (Gv = Ev * imm). */
void op_imul(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t hi, lo;
    bool ovf;
    if (in->opk[1] == OPK_NONE) {
        uint64_t src = gp_read(c, in, 0, sz);
        lo = imul_core(c->gpr[0], src, sz, &hi, &ovf);
        write_acc_pair(c, sz, lo, hi);
    } else if (in->opk[2] == OPK_NONE) {
        uint64_t src = gp_read(c, in, 1, sz);
        lo = imul_core(gp_read(c, in, 0, sz), src, sz, &hi, &ovf);
        gp_write(c, in, 0, sz, lo);
    } else {
        uint64_t a = gp_read(c, in, 1, sz);
        lo = imul_core(a, gp_read(c, in, 2, sz), sz, &hi, &ovf);
        gp_write(c, in, 0, sz, lo);
    }
    mul_flags(c, lo, sz, ovf);
}

void op_imul_1(struct cpu *c, const struct insn *in) { op_imul(c, in); }
void op_imul2(struct cpu *c, const struct insn *in) { op_imul(c, in); }
void op_imul3(struct cpu *c, const struct insn *in) { op_imul(c, in); }

/* Dividend: AX for bytes, else rDX:rAX. */
static u128 dividend(const struct cpu *c, unsigned sz)
{
    if (sz == 1)
        return c->gpr[0] & 0xffff;
    uint64_t m = size_mask(sz);
    if (sz == 8)
        return ((u128)c->gpr[2] << 64) | c->gpr[0];
    return ((u128)(c->gpr[2] & m) << (sz * 8)) | (c->gpr[0] & m);
}

/* Byte results: AL = quotient, AH = remainder; else rAX, rDX. */
static void write_quot_rem(struct cpu *c, unsigned sz, uint64_t q, uint64_t r)
{
    write_acc_pair(c, sz, q, r);
}

void op_div(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    uint64_t m = size_mask(sz);
    uint64_t src = gp_read(c, in, 0, sz);
    if (src == 0)
        cpu_fault(c, EXC_DE);
    u128 n = dividend(c, sz);
    u128 q = n / src;
    if (q > m) /* SDM 2 "DIV": quotient too large for the destination */
        cpu_fault(c, EXC_DE);
    write_quot_rem(c, sz, (uint64_t)q, (uint64_t)(n % src));
}

void op_idiv(struct cpu *c, const struct insn *in)
{
    unsigned sz = in->opsize;
    unsigned bits = sz * 8;
    int64_t d = (int64_t)gp_sext(gp_read(c, in, 0, sz), sz);
    if (d == 0)
        cpu_fault(c, EXC_DE);
    /* sign-extend the 2*bits dividend to 128 bits */
    u128 un = dividend(c, sz);
    s128 n;
    if (sz == 8)
        n = (s128)un;
    else
        n = (s128)(un << (128 - 2 * bits)) >> (128 - 2 * bits);
    s128 q, r;
    if (d == -1) {
        /* -n overflows only for the most negative 128-bit dividend, which
         * is out of range anyway (also avoids the C overflow of n / -1) */
        if (n == (s128)((u128)1 << 127))
            cpu_fault(c, EXC_DE);
        q = -n;
        r = 0;
    } else {
        q = n / d;
        r = n % d;
    }
    s128 qmax = ((s128)1 << (bits - 1)) - 1;
    if (q > qmax || q < -qmax - 1) /* SDM 2 "IDIV": includes INT_MIN / -1 */
        cpu_fault(c, EXC_DE);
    write_quot_rem(c, sz, (uint64_t)q & size_mask(sz), (uint64_t)r & size_mask(sz));
}
