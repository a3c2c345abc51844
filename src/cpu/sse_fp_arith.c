/* SSE/SSE2 floating-point arithmetic, packed and scalar, single and double:
 * ADD, SUB, MUL, DIV, SQRT, MIN, MAX, the approximations RCP and RSQRT,
 * CMPPS/CMPPD/CMPSS/CMPSD and COMISS/UCOMISS/COMISD/UCOMISD (SDM 2A/2B
 * instruction pages). Each element runs through ssefp_elem(); the
 * instruction ends with ssefp_finish() before it writes anything. */
#include "cpu/sse_fp.h"
#include "cpu/sse_fp_host.h"
#include "opcodes_gen.h"

static inline uint32_t fmt_feature(enum ssefp_fmt fmt)
{
    return fmt == SSEFP_S ? FPU_F_SSE : FPU_F_SSE2;
}

static inline unsigned fmt_size(enum ssefp_fmt fmt)
{
    return fmt == SSEFP_S ? 4 : 8;
}

typedef void (*ssefp_packed_fn)(union xmm_reg *, const union xmm_reg *, uint32_t, uint32_t *);
static const ssefp_packed_fn packed_fns[SSEFP_SQRT + 1][2] = {
    [SSEFP_ADD] = {ssefp_hp_addps, ssefp_hp_addpd}, [SSEFP_SUB] = {ssefp_hp_subps, ssefp_hp_subpd},
    [SSEFP_MUL] = {ssefp_hp_mulps, ssefp_hp_mulpd}, [SSEFP_DIV] = {ssefp_hp_divps, ssefp_hp_divpd},
    [SSEFP_MIN] = {ssefp_hp_minps, ssefp_hp_minpd}, [SSEFP_MAX] = {ssefp_hp_maxps, ssefp_hp_maxpd},
    [SSEFP_SQRT] = {ssefp_hp_sqrtps, ssefp_hp_sqrtpd},
};

/* V <- V op W, element by element: every element of a packed form (a
 * 16-byte memory operand must be aligned), the low one of a scalar form
 * (the others keep their value; the memory operand is one element). A
 * packed form whose guest masks overflow and underflow is one host
 * instruction: the same elements and the OR of their flags. */
static void fp_binary(struct cpu *c, const struct insn *in, enum ssefp_op op, enum ssefp_fmt fmt,
                      bool packed)
{
    sse_check(c, fmt_feature(fmt));
    union xmm_reg s, d = *xmm_v(c, in);
    sse_read_w(c, in, &s, packed ? 16 : fmt_size(fmt), packed);
    unsigned n = packed ? 16 / fmt_size(fmt) : 1;
    uint32_t fl = 0, mx = c->fpu.mxcsr;
    if (packed && !(ssefp_unmasked(mx) & (MXCSR_OE | MXCSR_UE))) {
        packed_fns[op][fmt](&d, &s, ssefp_host_mxcsr(mx), &fl);
        n = 0;
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t f;
        ssefp_set(&d, fmt, i, ssefp_elem(mx, op, fmt, ssefp_get(&d, fmt, i), ssefp_get(&s, fmt, i), &f));
        fl |= f;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = d;
}

#define FP_BINARY_FORMS(name, OP)                                                              \
    void op_##name##ps(struct cpu *c, const struct insn *in) { fp_binary(c, in, OP, SSEFP_S, true); } \
    void op_##name##pd(struct cpu *c, const struct insn *in) { fp_binary(c, in, OP, SSEFP_D, true); } \
    void op_##name##ss(struct cpu *c, const struct insn *in) { fp_binary(c, in, OP, SSEFP_S, false); } \
    void op_##name##sd(struct cpu *c, const struct insn *in) { fp_binary(c, in, OP, SSEFP_D, false); }

/* SDM 2A "ADDPS" ... "DIVSD", 2B "MAXPS" ... "MINSD", "SQRTPS" ... "SQRTSD".
 * MIN/MAX return the second operand when either is a NaN or both are
 * zeros; the host's MINSS/MAXSS do exactly that. */
FP_BINARY_FORMS(add, SSEFP_ADD)
FP_BINARY_FORMS(sub, SSEFP_SUB)
FP_BINARY_FORMS(mul, SSEFP_MUL)
FP_BINARY_FORMS(div, SSEFP_DIV)
FP_BINARY_FORMS(min, SSEFP_MIN)
FP_BINARY_FORMS(max, SSEFP_MAX)
FP_BINARY_FORMS(sqrt, SSEFP_SQRT)

/* RCPPS/RCPSS and RSQRTPS/RSQRTSS (SDM 2B): an approximation whose bits are
 * implementation-specific (relative error at most 1.5 * 2^-12). nvmx's
 * documented choice (docs/fpu.md): the round-to-nearest single-precision
 * 1/x, and 1/sqrt(x) as two round-to-nearest operations, whatever MXCSR
 * says; with the SDM's special cases: a denormal source counts as 0.0 (an
 * infinity of its sign results), a tiny result is 0.0 of the source's
 * sign, an SNaN is quieted, a negative source of RSQRT gives the default
 * QNaN. No flag is set and no exception is raised. */
static uint32_t approx_elem(bool rsqrt, uint32_t x)
{
    /* RN, DAZ and FTZ, every exception masked */
    const uint32_t h = MXCSR_MASKS | MXCSR_DAZ | MXCSR_FTZ;
    const uint32_t one = 0x3f800000u;
    uint32_t fl, r;
    if (rsqrt)
        r = (uint32_t)ssefp_h_divss(one, ssefp_h_sqrtss(0, x, h, &fl), h, &fl);
    else
        r = (uint32_t)ssefp_h_divss(one, x, h, &fl);
    if (ssefp_is_denormal(SSEFP_S, r))
        r &= 0x80000000u;
    return r;
}

static void fp_approx(struct cpu *c, const struct insn *in, bool rsqrt, bool packed)
{
    sse_check(c, FPU_F_SSE);
    union xmm_reg s, d = *xmm_v(c, in);
    sse_read_w(c, in, &s, packed ? 16 : 4, packed);
    for (unsigned i = 0; i < (packed ? 4u : 1u); i++)
        d.d[i] = approx_elem(rsqrt, s.d[i]);
    *xmm_v(c, in) = d;
}

void op_rcpps(struct cpu *c, const struct insn *in) { fp_approx(c, in, false, true); }
void op_rcpss(struct cpu *c, const struct insn *in) { fp_approx(c, in, false, false); }
void op_rsqrtps(struct cpu *c, const struct insn *in) { fp_approx(c, in, true, true); }
void op_rsqrtss(struct cpu *c, const struct insn *in) { fp_approx(c, in, true, false); }

/* CMPPS/CMPPD/CMPSS/CMPSD (SDM 2A "CMPPS"): imm8[2:0] selects EQ, LT, LE,
 * UNORD, NEQ, NLT, NLE, ORD; each element becomes all ones or all zeros.
 * LT, LE, NLT and NLE signal invalid for a QNaN operand too. */
typedef uint64_t (*ssefp_cmp_fn)(uint64_t, uint64_t, uint32_t, uint32_t *);
static const ssefp_cmp_fn cmp_fns[2][8] = {
    {ssefp_h_cmpss0, ssefp_h_cmpss1, ssefp_h_cmpss2, ssefp_h_cmpss3, ssefp_h_cmpss4,
     ssefp_h_cmpss5, ssefp_h_cmpss6, ssefp_h_cmpss7},
    {ssefp_h_cmpsd0, ssefp_h_cmpsd1, ssefp_h_cmpsd2, ssefp_h_cmpsd3, ssefp_h_cmpsd4,
     ssefp_h_cmpsd5, ssefp_h_cmpsd6, ssefp_h_cmpsd7},
};

static void fp_cmp(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool packed)
{
    sse_check(c, fmt_feature(fmt));
    union xmm_reg s, d = *xmm_v(c, in);
    sse_read_w(c, in, &s, packed ? 16 : fmt_size(fmt), packed);
    ssefp_cmp_fn fn = cmp_fns[fmt][in->imm & 7];
    uint32_t h = ssefp_host_mxcsr(c->fpu.mxcsr), fl = 0;
    for (unsigned i = 0; i < (packed ? 16 / fmt_size(fmt) : 1u); i++) {
        uint32_t f;
        ssefp_set(&d, fmt, i, fn(ssefp_get(&d, fmt, i), ssefp_get(&s, fmt, i), h, &f));
        fl |= f;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = d;
}

void op_cmpps(struct cpu *c, const struct insn *in) { fp_cmp(c, in, SSEFP_S, true); }
void op_cmppd(struct cpu *c, const struct insn *in) { fp_cmp(c, in, SSEFP_D, true); }
void op_cmpss(struct cpu *c, const struct insn *in) { fp_cmp(c, in, SSEFP_S, false); }
void op_cmpsd_x(struct cpu *c, const struct insn *in) { fp_cmp(c, in, SSEFP_D, false); }

/* COMISS/UCOMISS/COMISD/UCOMISD (SDM 2A "COMISS", 2B "UCOMISS"): ZF, PF, CF
 * from the comparison (111 unordered, 000 greater, 001 less, 100 equal),
 * OF, SF and AF cleared. COMIS* signal invalid for any NaN, UCOMIS* for an
 * SNaN only. */
static void fp_comi(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt, bool quiet)
{
    sse_check(c, fmt_feature(fmt));
    union xmm_reg s;
    sse_read_w(c, in, &s, fmt_size(fmt), false);
    uint64_t a = ssefp_get(xmm_v(c, in), fmt, 0), b = ssefp_get(&s, fmt, 0);
    uint32_t h = ssefp_host_mxcsr(c->fpu.mxcsr), fl;
    uint64_t zpc;
    if (fmt == SSEFP_S)
        zpc = quiet ? ssefp_h_ucomiss(a, b, h, &fl) : ssefp_h_comiss(a, b, h, &fl);
    else
        zpc = quiet ? ssefp_h_ucomisd(a, b, h, &fl) : ssefp_h_comisd(a, b, h, &fl);
    ssefp_finish(c, fl);
    flags_set_arith(c, zpc & (FL_ZF | FL_PF | FL_CF));
}

void op_comiss(struct cpu *c, const struct insn *in) { fp_comi(c, in, SSEFP_S, false); }
void op_comisd(struct cpu *c, const struct insn *in) { fp_comi(c, in, SSEFP_D, false); }
void op_ucomiss(struct cpu *c, const struct insn *in) { fp_comi(c, in, SSEFP_S, true); }
void op_ucomisd(struct cpu *c, const struct insn *in) { fp_comi(c, in, SSEFP_D, true); }
