/* SSE/SSE2 conversions between single, double and 32/64-bit integers, in
 * XMM registers and general-purpose registers (SDM 2A "CVTDQ2PD" ...
 * "CVTTSS2SI"). Out-of-range and NaN sources of a float-to-integer
 * conversion give the integer indefinite (80000000H or 8000000000000000H)
 * with invalid; the CVTT* forms truncate, the others round by MXCSR.RC. */
#include "cpu/sse_fp.h"
#include "cpu/sse_fp_host.h"
#include "opcodes_gen.h"

/* Float -> integer of one element: is64 selects the 64-bit result,
 * trunc the CVTT* form. */
static uint64_t f2i(enum ssefp_fmt fmt, bool is64, bool trunc, uint64_t v, uint32_t h, uint32_t *fl)
{
    if (fmt == SSEFP_S) {
        if (trunc)
            return is64 ? ssefp_h_cvttss2si64(v, h, fl) : ssefp_h_cvttss2si32(v, h, fl);
        return is64 ? ssefp_h_cvtss2si64(v, h, fl) : ssefp_h_cvtss2si32(v, h, fl);
    }
    if (trunc)
        return is64 ? ssefp_h_cvttsd2si64(v, h, fl) : ssefp_h_cvttsd2si32(v, h, fl);
    return is64 ? ssefp_h_cvtsd2si64(v, h, fl) : ssefp_h_cvtsd2si32(v, h, fl);
}

/* Integer -> float of one element (an int32 sign-extended, or an int64). */
static uint64_t i2f(enum ssefp_fmt fmt, bool is64, uint64_t g, uint32_t h, uint32_t *fl)
{
    if (fmt == SSEFP_S)
        return (is64 ? ssefp_h_cvtsi2ss64(g, h, fl) : ssefp_h_cvtsi2ss32(g, h, fl)) & 0xffffffffu;
    return is64 ? ssefp_h_cvtsi2sd64(g, h, fl) : ssefp_h_cvtsi2sd32(g, h, fl);
}

/* CVTSI2SS/CVTSI2SD: V[low] <- r/m32 or r/m64 (REX.W), rest kept. */
static void cvtsi2s(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt)
{
    sse_check(c, fmt == SSEFP_S ? FPU_F_SSE : FPU_F_SSE2);
    uint64_t g = opnd_read(c, in, 1, in->opsize);
    uint32_t fl;
    uint64_t r = i2f(fmt, in->opsize == 8, g, ssefp_host_mxcsr(c->fpu.mxcsr), &fl);
    ssefp_finish(c, fl);
    ssefp_set(xmm_v(c, in), fmt, 0, r);
}

void op_cvtsi2ss(struct cpu *c, const struct insn *in) { cvtsi2s(c, in, SSEFP_S); }
void op_cvtsi2sd(struct cpu *c, const struct insn *in) { cvtsi2s(c, in, SSEFP_D); }

/* CVT(T)SS2SI/CVT(T)SD2SI: r32/r64 <- W[low]. */
static void cvts2si(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool trunc)
{
    sse_check(c, fmt == SSEFP_S ? FPU_F_SSE : FPU_F_SSE2);
    union xmm_reg s;
    sse_read_w(c, in, &s, fmt == SSEFP_S ? 4 : 8, false);
    uint32_t fl;
    uint64_t r = f2i(fmt, in->opsize == 8, trunc, ssefp_get(&s, fmt, 0),
                     ssefp_host_mxcsr(c->fpu.mxcsr), &fl);
    ssefp_finish(c, fl);
    reg_write(c, in->reg, in->opsize, true, r);
}

void op_cvtss2si(struct cpu *c, const struct insn *in) { cvts2si(c, in, SSEFP_S, false); }
void op_cvttss2si(struct cpu *c, const struct insn *in) { cvts2si(c, in, SSEFP_S, true); }
void op_cvtsd2si(struct cpu *c, const struct insn *in) { cvts2si(c, in, SSEFP_D, false); }
void op_cvttsd2si(struct cpu *c, const struct insn *in) { cvts2si(c, in, SSEFP_D, true); }

/* The packed and scalar conversions between XMM formats. */
enum cvt_kind {
    CVT_S2D,  /* single -> double */
    CVT_D2S,  /* double -> single */
    CVT_I2S,  /* int32 -> single */
    CVT_I2D,  /* int32 -> double */
    CVT_S2I,  /* single -> int32, MXCSR.RC */
    CVT_S2IT, /* single -> int32, truncated */
    CVT_D2I,  /* double -> int32, MXCSR.RC */
    CVT_D2IT, /* double -> int32, truncated */
};

struct cvt_form {
    uint8_t kind;    /* enum cvt_kind */
    uint8_t n;       /* elements converted */
    uint8_t srcsize; /* memory operand size */
    bool scalar;     /* the other destination elements keep their value */
};

static uint64_t cvt_elem(uint32_t mx, enum cvt_kind k, uint64_t v, uint32_t *fl)
{
    uint32_t h = ssefp_host_mxcsr(mx);
    switch (k) {
    case CVT_S2D: return ssefp_elem(mx, SSEFP_CVT_S2D, SSEFP_S, 0, v, fl);
    case CVT_D2S: return ssefp_elem(mx, SSEFP_CVT_D2S, SSEFP_D, 0, v, fl);
    case CVT_I2S: return i2f(SSEFP_S, false, (uint64_t)(int64_t)(int32_t)v, h, fl);
    case CVT_I2D: return i2f(SSEFP_D, false, (uint64_t)(int64_t)(int32_t)v, h, fl);
    case CVT_S2I: return f2i(SSEFP_S, false, false, v, h, fl) & 0xffffffffu;
    case CVT_S2IT: return f2i(SSEFP_S, false, true, v, h, fl) & 0xffffffffu;
    case CVT_D2I: return f2i(SSEFP_D, false, false, v, h, fl) & 0xffffffffu;
    case CVT_D2IT: return f2i(SSEFP_D, false, true, v, h, fl) & 0xffffffffu;
    }
    *fl = 0;
    return 0;
}

/* Element widths: source and destination lanes of each kind. */
static enum ssefp_fmt cvt_src_fmt(enum cvt_kind k)
{
    return (k == CVT_D2S || k == CVT_D2I || k == CVT_D2IT) ? SSEFP_D : SSEFP_S;
}
static enum ssefp_fmt cvt_dst_fmt(enum cvt_kind k)
{
    return (k == CVT_S2D || k == CVT_I2D) ? SSEFP_D : SSEFP_S;
}

static void cvt_xmm(struct cpu *c, const struct insn *in, const struct cvt_form *f, uint32_t feature)
{
    sse_check(c, feature);
    union xmm_reg s, d = *xmm_v(c, in);
    sse_read_w(c, in, &s, f->srcsize, f->srcsize == 16);
    if (!f->scalar)
        d.q[0] = d.q[1] = 0; /* lanes not converted are zeroed */
    uint32_t fl = 0, mx = c->fpu.mxcsr;
    enum ssefp_fmt sf = cvt_src_fmt(f->kind), df = cvt_dst_fmt(f->kind);
    for (unsigned i = 0; i < f->n; i++) {
        uint32_t e;
        ssefp_set(&d, df, i, cvt_elem(mx, f->kind, ssefp_get(&s, sf, i), &e));
        fl |= e;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = d;
}

#define CVT_FORM(name, kind, n, srcsize, scalar, feature)                                     \
    void op_##name(struct cpu *c, const struct insn *in)                                       \
    {                                                                                          \
        static const struct cvt_form f = {kind, n, srcsize, scalar};                           \
        cvt_xmm(c, in, &f, feature);                                                           \
    }

/* SDM 2A: CVTPS2PD and CVTDQ2PD read 8 bytes (no alignment requirement);
 * CVTPD2PS, CVTPD2DQ and CVTTPD2DQ zero the upper quadword. */
CVT_FORM(cvtps2pd, CVT_S2D, 2, 8, false, FPU_F_SSE2)
CVT_FORM(cvtpd2ps, CVT_D2S, 2, 16, false, FPU_F_SSE2)
CVT_FORM(cvtss2sd, CVT_S2D, 1, 4, true, FPU_F_SSE2)
CVT_FORM(cvtsd2ss, CVT_D2S, 1, 8, true, FPU_F_SSE2)
CVT_FORM(cvtdq2ps, CVT_I2S, 4, 16, false, FPU_F_SSE2)
CVT_FORM(cvtps2dq, CVT_S2I, 4, 16, false, FPU_F_SSE2)
CVT_FORM(cvttps2dq, CVT_S2IT, 4, 16, false, FPU_F_SSE2)
CVT_FORM(cvtdq2pd, CVT_I2D, 2, 8, false, FPU_F_SSE2)
CVT_FORM(cvtpd2dq, CVT_D2I, 2, 16, false, FPU_F_SSE2)
CVT_FORM(cvttpd2dq, CVT_D2IT, 2, 16, false, FPU_F_SSE2)
