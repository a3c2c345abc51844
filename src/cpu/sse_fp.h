/* Private to src/cpu: the SSE floating-point environment -- MXCSR's fields,
 * the host operations that compute under the guest's rounding control,
 * DAZ and FTZ (sse_fp_host.h), and the exception rules every SSE
 * floating-point instruction ends with (sse_fp_mxcsr.c). docs/fpu.md says
 * why the host's SSE unit computes the results. */
#ifndef NVMX_CPU_SSE_FP_H
#define NVMX_CPU_SSE_FP_H

#include "cpu/sse.h"

/* SDM 1 "MXCSR Control and Status Register" (Figure "MXCSR Control/Status
 * Register"): six sticky flags, DAZ, six masks, RC, FTZ. */
#define MXCSR_IE 0x0001u
#define MXCSR_DE 0x0002u
#define MXCSR_ZE 0x0004u
#define MXCSR_OE 0x0008u
#define MXCSR_UE 0x0010u
#define MXCSR_PE 0x0020u
#define MXCSR_FLAGS 0x003fu
#define MXCSR_DAZ 0x0040u
#define MXCSR_MASK_SHIFT 7
#define MXCSR_MASKS 0x1f80u
#define MXCSR_UM 0x0800u
#define MXCSR_RC 0x6000u
#define MXCSR_RC_SHIFT 13
#define MXCSR_FTZ 0x8000u
/* SDM 1 "SIMD Floating-Point Exception Conditions": invalid operation,
 * divide-by-zero and denormal operand are detected before the computation,
 * overflow, underflow and inexact result after it. */
#define MXCSR_PRE (MXCSR_IE | MXCSR_DE | MXCSR_ZE)

/* Rounding control values (SDM 1 Table "Rounding Modes and Encoding of
 * Rounding Control (RC) Field"). */
enum ssefp_rc { SSEFP_RN = 0, SSEFP_RD = 1, SSEFP_RU = 2, SSEFP_RZ = 3 };

/* The formats: single (binary32) and double (binary64) precision. */
enum ssefp_fmt { SSEFP_S = 0, SSEFP_D = 1 };

/* Elementary operations the host computes (one element at a time). */
enum ssefp_op {
    SSEFP_ADD, SSEFP_SUB, SSEFP_MUL, SSEFP_DIV, SSEFP_MIN, SSEFP_MAX, SSEFP_SQRT,
    SSEFP_CVT_S2D, /* single -> double (CVTSS2SD, CVTPS2PD) */
    SSEFP_CVT_D2S, /* double -> single (CVTSD2SS, CVTPD2PS) */
};

/* CPUID.01H:ECX.SSE3 (c->fpu.features, fxsave.c); SSE4.1 is FPU_F_SSE4_1 of sse.h. */
#define FPU_F_SSE3 0x10u   /* ECX[0] */

/* The host MXCSR an operation runs under: the guest's RC and DAZ, every
 * exception masked (the guest's unmasked exceptions are decided from the
 * flags afterwards), and FTZ only when the guest masks underflow (SDM 1
 * "Flush-To-Zero": FTZ applies to masked underflow only). */
static inline uint32_t ssefp_host_mxcsr(uint32_t guest)
{
    uint32_t ftz = (guest & MXCSR_FTZ) && (guest & MXCSR_UM) ? MXCSR_FTZ : 0;
    return (guest & (MXCSR_RC | MXCSR_DAZ)) | MXCSR_MASKS | ftz;
}

/* Exceptions the guest has unmasked (flag positions). */
static inline uint32_t ssefp_unmasked(uint32_t guest)
{
    return ~(guest >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;
}

/* One element of an arithmetic operation (op, fmt) under the guest's MXCSR:
 * the result bits, and in *fl the exception flags the element raises as
 * the guest sees them -- the masked flags of the host, corrected for an
 * unmasked underflow (tiny even when exact) and for an unmasked overflow or
 * underflow (precision judged with unbounded exponent). sse_fp_mxcsr.c. */
uint64_t ssefp_elem(uint32_t mxcsr, enum ssefp_op op, enum ssefp_fmt fmt, uint64_t a, uint64_t b,
                    uint32_t *fl);

/* The end of every SSE floating-point instruction, given the OR of the
 * flags of all its elements (SDM 1 "Generating SIMD Floating-Point
 * Exceptions"): an unmasked pre-computation exception sets the
 * pre-computation flags only; otherwise an unmasked exception sets every
 * flag detected; either way the destination is not written and the
 * exception is raised (ssefp_raise). Returns only when every detected
 * exception is masked, after setting the flags: the caller then writes its
 * results. */
void ssefp_finish(struct cpu *c, uint32_t fl);

/* One stage of an instruction made of dependent operations (DPPS: the
 * multiplies, then the adds): the stage's flags fl go through the rules of
 * ssefp_finish, with the masked flags of the earlier stages (*acc) set too
 * when it raises; otherwise they join *acc. The caller ends with
 * ssefp_finish(c, acc). */
void ssefp_stage(struct cpu *c, uint32_t *acc, uint32_t fl);

/* SDM 3A "SIMD Floating-Point Exception (#XM)": #XM when CR4.OSXMMEXCPT is
 * set, #UD when it is clear. */
_Noreturn void ssefp_raise(struct cpu *c);

/* DAZ (SDM 1 "Denormals-Are-Zeros"): a denormal operand becomes a zero of
 * the same sign. */
uint64_t ssefp_daz(uint32_t mxcsr, enum ssefp_fmt fmt, uint64_t v);

/* Classification of an element's bits. */
bool ssefp_is_nan(enum ssefp_fmt fmt, uint64_t v);
bool ssefp_is_snan(enum ssefp_fmt fmt, uint64_t v);
bool ssefp_is_denormal(enum ssefp_fmt fmt, uint64_t v);

/* Element access: lane i of a register in format fmt. */
static inline uint64_t ssefp_get(const union xmm_reg *r, enum ssefp_fmt fmt, unsigned i)
{
    return fmt == SSEFP_S ? r->d[i] : r->q[i];
}
static inline void ssefp_set(union xmm_reg *r, enum ssefp_fmt fmt, unsigned i, uint64_t v)
{
    if (fmt == SSEFP_S)
        r->d[i] = (uint32_t)v;
    else
        r->q[i] = v;
}

#endif
