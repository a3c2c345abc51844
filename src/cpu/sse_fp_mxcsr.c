/* The MXCSR exception rules every SSE floating-point instruction follows:
 * one element computed on the host with the guest's RC/DAZ/FTZ and the
 * flags the guest sees for it (ssefp_elem), and the end of an instruction
 * -- masked responses kept, or an unmasked exception raised with the
 * destination untouched (ssefp_finish). SDM 1 "SSE and SSE2 Exceptions"
 * ("SIMD Floating-Point Exception Conditions", "Generating SIMD
 * Floating-Point Exceptions"), SDM 3A "SIMD Floating-Point Exception (#XM)". */
#include "cpu/sse_fp.h"
#include "cpu/sse_fp_host.h"

bool ssefp_is_nan(enum ssefp_fmt fmt, uint64_t v)
{
    if (fmt == SSEFP_S)
        return (v & 0x7fffffffu) > 0x7f800000u;
    return (v & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

bool ssefp_is_snan(enum ssefp_fmt fmt, uint64_t v)
{
    if (fmt == SSEFP_S)
        return ssefp_is_nan(fmt, v) && !(v & 0x00400000u);
    return ssefp_is_nan(fmt, v) && !(v & 0x0008000000000000ull);
}

bool ssefp_is_denormal(enum ssefp_fmt fmt, uint64_t v)
{
    if (fmt == SSEFP_S)
        return !(v & 0x7f800000u) && (v & 0x007fffffu);
    return !(v & 0x7ff0000000000000ull) && (v & 0x000fffffffffffffull);
}

uint64_t ssefp_daz(uint32_t mxcsr, enum ssefp_fmt fmt, uint64_t v)
{
    if ((mxcsr & MXCSR_DAZ) && ssefp_is_denormal(fmt, v))
        return fmt == SSEFP_S ? (v & 0x80000000u) : (v & 0x8000000000000000ull);
    return v;
}

/* A finite value as sig * 2^exp with an integer significand (0 for zeros). */
struct ssefp_fin {
    unsigned __int128 sig;
    int exp;
    bool neg;
};

static struct ssefp_fin fin_of(enum ssefp_fmt fmt, uint64_t v)
{
    struct ssefp_fin f;
    if (fmt == SSEFP_S) {
        unsigned e = (unsigned)(v >> 23) & 0xff;
        uint64_t m = v & 0x7fffff;
        f.sig = e ? m | 0x800000 : m;
        f.exp = (e ? (int)e : 1) - 150;
        f.neg = (v >> 31) & 1;
    } else {
        unsigned e = (unsigned)(v >> 52) & 0x7ff;
        uint64_t m = v & 0xfffffffffffffull;
        f.sig = e ? m | (1ull << 52) : m;
        f.exp = (e ? (int)e : 1) - 1075;
        f.neg = v >> 63;
    }
    return f;
}

/* Significant bits of n > 0: from its highest to its lowest set bit. */
static unsigned sig_width(unsigned __int128 n)
{
    unsigned lo = 0, hi = 0;
    while (!((n >> lo) & 1))
        lo++;
    for (unsigned __int128 t = n; t; t >>= 1)
        hi++;
    return hi - lo;
}

/* Whether the exact result of op needs more than the format's precision:
 * the precision exception with unbounded exponent that an unmasked
 * overflow or underflow reports (SDM 1 "Numeric Overflow Exception (#O)",
 * "Numeric Underflow Exception (#U)"). Operands are finite (an overflow or
 * underflow never comes from a NaN or an infinity), DAZ already applied. */
static bool inexact_unbounded(enum ssefp_op op, enum ssefp_fmt fmt, uint64_t a, uint64_t b)
{
    unsigned p = fmt == SSEFP_S ? 24 : 53;
    struct ssefp_fin x = fin_of(fmt, a), y = fin_of(fmt, b);
    switch (op) {
    case SSEFP_MUL:
        return x.sig && y.sig && sig_width(x.sig * y.sig) > p;
    case SSEFP_DIV: {
        if (!x.sig || !y.sig)
            return false;
        unsigned __int128 d = y.sig;
        while (!(d & 1))
            d >>= 1;
        if (x.sig % d)
            return true; /* an odd denominator left: no finite binary expansion */
        return sig_width(x.sig / d) > p;
    }
    case SSEFP_ADD:
    case SSEFP_SUB: {
        if (op == SSEFP_SUB)
            y.neg = !y.neg;
        if (!x.sig || !y.sig)
            return false;
        if (x.exp < y.exp) {
            struct ssefp_fin t = x;
            x = y;
            y = t;
        }
        int d = x.exp - y.exp;
        /* the larger operand is normal: the sum spans more than d bits */
        if (d > (int)p)
            return true;
        unsigned __int128 xs = x.sig << d;
        unsigned __int128 s = x.neg == y.neg ? xs + y.sig : xs > y.sig ? xs - y.sig : y.sig - xs;
        return s && sig_width(s) > p;
    }
    case SSEFP_CVT_D2S:
        return x.sig && sig_width(x.sig) > 24;
    default:
        return false;
    }
}

static uint64_t host_elem(enum ssefp_op op, enum ssefp_fmt fmt, uint64_t a, uint64_t b,
                          uint32_t h, uint32_t *fl)
{
    bool s = fmt == SSEFP_S;
    switch (op) {
    case SSEFP_ADD: return s ? ssefp_h_addss(a, b, h, fl) : ssefp_h_addsd(a, b, h, fl);
    case SSEFP_SUB: return s ? ssefp_h_subss(a, b, h, fl) : ssefp_h_subsd(a, b, h, fl);
    case SSEFP_MUL: return s ? ssefp_h_mulss(a, b, h, fl) : ssefp_h_mulsd(a, b, h, fl);
    case SSEFP_DIV: return s ? ssefp_h_divss(a, b, h, fl) : ssefp_h_divsd(a, b, h, fl);
    case SSEFP_MIN: return s ? ssefp_h_minss(a, b, h, fl) : ssefp_h_minsd(a, b, h, fl);
    case SSEFP_MAX: return s ? ssefp_h_maxss(a, b, h, fl) : ssefp_h_maxsd(a, b, h, fl);
    case SSEFP_SQRT: return s ? ssefp_h_sqrtss(0, b, h, fl) : ssefp_h_sqrtsd(0, b, h, fl);
    case SSEFP_CVT_S2D: return ssefp_h_cvtss2sd(0, b, h, fl);
    case SSEFP_CVT_D2S: return ssefp_h_cvtsd2ss(0, b, h, fl) & 0xffffffffu;
    }
    *fl = 0;
    return 0;
}

uint64_t ssefp_elem(uint32_t mxcsr, enum ssefp_op op, enum ssefp_fmt fmt, uint64_t a, uint64_t b,
                    uint32_t *fl)
{
    uint64_t r = host_elem(op, fmt, a, b, ssefp_host_mxcsr(mxcsr), fl);
    /* the result's format: a conversion changes it */
    enum ssefp_fmt rf = op == SSEFP_CVT_D2S ? SSEFP_S : op == SSEFP_CVT_S2D ? SSEFP_D : fmt;
    if (rf == SSEFP_S)
        r &= 0xffffffffu;
    uint32_t um = ssefp_unmasked(mxcsr) & (MXCSR_OE | MXCSR_UE);
    bool may_underflow = op == SSEFP_ADD || op == SSEFP_SUB || op == SSEFP_MUL ||
                         op == SSEFP_DIV || op == SSEFP_CVT_D2S;
    if (likely(!um) || !may_underflow)
        return r;
    /* SDM 1 "Numeric Underflow Exception (#U)": unmasked, underflow is a
     * tiny non-zero result, exact or not (the host's masked flag needs it
     * inexact too). An exact tiny result is a denormal. */
    if ((um & MXCSR_UE) && ssefp_is_denormal(rf, r))
        *fl |= MXCSR_UE;
    /* Unmasked overflow or underflow: PE only if the result rounded with
     * unbounded exponent is inexact (the masked response's PE is dropped). */
    if (*fl & um) {
        uint64_t x = ssefp_daz(mxcsr, fmt, a), y = ssefp_daz(mxcsr, fmt, b);
        if (op == SSEFP_CVT_D2S)
            x = y;
        *fl &= ~MXCSR_PE;
        if (inexact_unbounded(op, fmt, x, y))
            *fl |= MXCSR_PE;
    }
    return r;
}

_Noreturn void ssefp_raise(struct cpu *c)
{
    /* SDM 3A "SIMD Floating-Point Exception (#XM)" and Table "Action Taken
     * for Combinations of OSFXSR, OSXMMEXCPT, ...": CR4.OSXMMEXCPT = 0
     * turns an unmasked SIMD floating-point exception into #UD. */
    cpu_fault(c, (c->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

void ssefp_stage(struct cpu *c, uint32_t *acc, uint32_t fl)
{
    uint32_t um = ssefp_unmasked(c->fpu.mxcsr);
    if (unlikely(fl & um)) {
        /* SDM 1 "Generating SIMD Floating-Point Exceptions": an unmasked
         * pre-computation exception stops the instruction before any
         * computation (only pre-computation flags are set); otherwise the
         * flags of every element, masked or not, are set. The destination
         * keeps its value in both cases (the caller has not written it). */
        uint32_t pre = fl & MXCSR_PRE;
        c->fpu.mxcsr |= *acc | ((pre & um) ? pre : fl);
        ssefp_raise(c);
    }
    *acc |= fl;
}

void ssefp_finish(struct cpu *c, uint32_t fl)
{
    uint32_t acc = 0;
    ssefp_stage(c, &acc, fl);
    c->fpu.mxcsr |= acc;
}
