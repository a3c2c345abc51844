/* SSE4.1 floating-point instructions (SDM 2B "ROUNDPD" ... "ROUNDSS", 2A
 * "BLENDPD", "BLENDPS", "BLENDVPD", "BLENDVPS", "DPPD", "DPPS",
 * "EXTRACTPS", "INSERTPS"): CPUID.01H:ECX.SSE4_1[bit 19]. */
#include "cpu/sse_fp.h"
#include "opcodes_gen.h"

/* Round to an integral value in rounding mode rc (enum ssefp_rc), on the
 * bits of a finite value; *inexact tells whether the value changed. */
static uint64_t round_integral(enum ssefp_fmt fmt, uint64_t v, unsigned rc, bool *inexact)
{
    unsigned mb = fmt == SSEFP_S ? 23 : 52, eb = fmt == SSEFP_S ? 8 : 11;
    unsigned bias = (1u << (eb - 1)) - 1;
    uint64_t sign = 1ull << (mb + eb), mant = (1ull << mb) - 1;
    unsigned e = (unsigned)(v >> mb) & ((1u << eb) - 1);
    bool neg = (v & sign) != 0;
    *inexact = false;
    if (e >= bias + mb || !(v & (sign - 1)))
        return v; /* already integral, or a zero */
    *inexact = true;
    bool up;
    if (e < bias) { /* 0 < |v| < 1: the result is 0 or 1 */
        switch (rc) {
        case SSEFP_RN: up = e == bias - 1 && (v & mant); break; /* > 0.5; 0.5 ties to 0 */
        case SSEFP_RD: up = neg; break;
        case SSEFP_RU: up = !neg; break;
        default: up = false; break;
        }
        return (v & sign) | (up ? (uint64_t)bias << mb : 0);
    }
    unsigned fb = mb - (e - bias); /* fraction bits, 1..mb */
    uint64_t fmask = (1ull << fb) - 1, frac = v & fmask, t = v & ~fmask;
    if (!frac) {
        *inexact = false;
        return v;
    }
    switch (rc) {
    case SSEFP_RN: {
        uint64_t half = 1ull << (fb - 1);
        up = frac > half || (frac == half && ((t >> fb) & 1));
        break;
    }
    case SSEFP_RD: up = neg; break;
    case SSEFP_RU: up = !neg; break;
    default: up = false; break;
    }
    return up ? t + (1ull << fb) : t; /* a carry moves into the exponent */
}

/* ROUND*: imm8[1:0] the rounding mode, imm8[2] use MXCSR.RC instead,
 * imm8[3] suppress the precision exception. Invalid for an SNaN (quieted
 * when masked); DAZ applies to the source. */
static uint64_t round_elem(uint32_t mx, enum ssefp_fmt fmt, uint64_t v, unsigned imm, uint32_t *fl)
{
    unsigned rc = (imm & 4) ? (mx & MXCSR_RC) >> MXCSR_RC_SHIFT : imm & 3;
    uint64_t qbit = fmt == SSEFP_S ? 0x00400000u : 0x0008000000000000ull;
    uint64_t inf = fmt == SSEFP_S ? 0x7f800000u : 0x7ff0000000000000ull;
    *fl = 0;
    if (ssefp_is_nan(fmt, v)) {
        if (ssefp_is_snan(fmt, v))
            *fl = MXCSR_IE;
        return v | qbit;
    }
    if ((v & inf) == inf)
        return v;
    bool inexact;
    uint64_t r = round_integral(fmt, ssefp_daz(mx, fmt, v), rc, &inexact);
    if (inexact && !(imm & 8))
        *fl = MXCSR_PE;
    return r;
}

static void fp_round(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool packed)
{
    sse_check(c, FPU_F_SSE4_1);
    union xmm_reg s, d = *xmm_v(c, in);
    unsigned esz = fmt == SSEFP_S ? 4 : 8;
    sse_read_w(c, in, &s, packed ? 16 : esz, packed);
    uint32_t fl = 0, mx = c->fpu.mxcsr;
    for (unsigned i = 0; i < (packed ? 16 / esz : 1u); i++) {
        uint32_t f;
        ssefp_set(&d, fmt, i, round_elem(mx, fmt, ssefp_get(&s, fmt, i), (unsigned)in->imm, &f));
        fl |= f;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = d;
}

void op_roundps(struct cpu *c, const struct insn *in) { fp_round(c, in, SSEFP_S, true); }
void op_roundpd(struct cpu *c, const struct insn *in) { fp_round(c, in, SSEFP_D, true); }
void op_roundss(struct cpu *c, const struct insn *in) { fp_round(c, in, SSEFP_S, false); }
void op_roundsd(struct cpu *c, const struct insn *in) { fp_round(c, in, SSEFP_D, false); }

/* BLENDPS/BLENDPD: element i from the source when imm8[i] is set;
 * BLENDVPS/BLENDVPD: when the sign bit of element i of XMM0 is set. */
static void blend(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool variable)
{
    sse_check(c, FPU_F_SSE4_1);
    union xmm_reg s, d = *xmm_v(c, in);
    sse_read_w(c, in, &s, 16, true);
    unsigned n = fmt == SSEFP_S ? 4 : 2, sbit = fmt == SSEFP_S ? 31 : 63;
    for (unsigned i = 0; i < n; i++) {
        bool pick = variable ? (ssefp_get(&c->fpu.xmm[0], fmt, i) >> sbit) & 1 : (in->imm >> i) & 1;
        if (pick)
            ssefp_set(&d, fmt, i, ssefp_get(&s, fmt, i));
    }
    *xmm_v(c, in) = d;
}

void op_blendps(struct cpu *c, const struct insn *in) { blend(c, in, SSEFP_S, false); }
void op_blendpd(struct cpu *c, const struct insn *in) { blend(c, in, SSEFP_D, false); }
void op_blendvps(struct cpu *c, const struct insn *in) { blend(c, in, SSEFP_S, true); }
void op_blendvpd(struct cpu *c, const struct insn *in) { blend(c, in, SSEFP_D, true); }

/* DPPS/DPPD (SDM 2A "DPPS" Operation, DP_primitive): products of the
 * elements imm8[7:4] selects (+0.0 for the others), summed as (0+1)+(2+3),
 * the sum written to the elements imm8[3:0] selects (+0.0 elsewhere).
 * "Exceptions are determined separately for each add and multiply": each
 * step (the multiplies, the first adds, the last add) is a stage whose
 * unmasked exception stops the instruction (ssefp_stage). */
static void dot_product(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt)
{
    sse_check(c, FPU_F_SSE4_1);
    union xmm_reg s, d = *xmm_v(c, in), r;
    sse_read_w(c, in, &s, 16, true);
    unsigned n = fmt == SSEFP_S ? 4 : 2, imm = (unsigned)in->imm;
    uint32_t acc = 0, fl = 0, f, mx = c->fpu.mxcsr;
    uint64_t t[4] = {0, 0, 0, 0}, sum;
    for (unsigned i = 0; i < n; i++)
        if ((imm >> (4 + i)) & 1) {
            t[i] = ssefp_elem(mx, SSEFP_MUL, fmt, ssefp_get(&d, fmt, i), ssefp_get(&s, fmt, i), &f);
            fl |= f;
        }
    ssefp_stage(c, &acc, fl);
    sum = ssefp_elem(mx, SSEFP_ADD, fmt, t[0], t[1], &fl);
    if (n == 4) {
        uint64_t hi = ssefp_elem(mx, SSEFP_ADD, fmt, t[2], t[3], &f);
        ssefp_stage(c, &acc, fl | f);
        sum = ssefp_elem(mx, SSEFP_ADD, fmt, sum, hi, &fl);
    }
    ssefp_stage(c, &acc, fl);
    ssefp_finish(c, acc);
    r.q[0] = r.q[1] = 0;
    for (unsigned i = 0; i < n; i++)
        if ((imm >> i) & 1)
            ssefp_set(&r, fmt, i, sum);
    *xmm_v(c, in) = r;
}

void op_dpps(struct cpu *c, const struct insn *in) { dot_product(c, in, SSEFP_S); }
void op_dppd(struct cpu *c, const struct insn *in) { dot_product(c, in, SSEFP_D); }

/* INSERTPS: a register source gives element imm8[7:6], a memory source its
 * 32 bits; it goes to element imm8[5:4]; then imm8[3:0] zeroes elements. */
void op_insertps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE4_1);
    unsigned imm = (unsigned)in->imm;
    uint32_t v;
    if (in->mod == 3) {
        v = xmm_u(c, in)->d[(imm >> 6) & 3];
    } else {
        union xmm_reg s;
        sse_read_mem(c, in, &s, 4, false);
        v = s.d[0];
    }
    union xmm_reg d = *xmm_v(c, in);
    d.d[(imm >> 4) & 3] = v;
    for (unsigned i = 0; i < 4; i++)
        if ((imm >> i) & 1)
            d.d[i] = 0;
    *xmm_v(c, in) = d;
}

/* EXTRACTPS: element imm8[1:0] to r/m32 (a 64-bit register is
 * zero-extended). */
void op_extractps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE4_1);
    opnd_write(c, in, 0, 4, xmm_v(c, in)->d[in->imm & 3]);
}
