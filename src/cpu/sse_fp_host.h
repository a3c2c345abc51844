/* Private to src/cpu/sse_fp*.c: one SSE instruction of the host under an
 * explicit MXCSR. Each operation is one asm statement that saves the host
 * MXCSR, loads the requested one (every exception masked), executes the
 * instruction, reads the flags it raised and restores the host MXCSR, so
 * the compiler can neither move floating-point work across the MXCSR
 * change nor fold it: no C floating-point arithmetic is used anywhere.
 * IEEE 754 basic operations, conversions, MIN/MAX and compares give the
 * same bits and flags on every x86-64 processor (docs/fpu.md). */
#ifndef NVMX_CPU_SSE_FP_HOST_H
#define NVMX_CPU_SSE_FP_HOST_H

#include <stdint.h>

#include "nvmx/cpu.h" /* union xmm_reg */

#if !defined(__x86_64__)
#error "SSE floating point runs on the host's SSE unit: an x86-64 host is required (docs/fpu.md)"
#endif

typedef long long ssefp_hv __attribute__((vector_size(16)));

/* x <- x OP y on the low element; returns the low 64 bits of x. */
#define SSEFP_HOST2(fn, insn)                                                                \
    static inline uint64_t fn(uint64_t a, uint64_t b, uint32_t mx, uint32_t *fl)             \
    {                                                                                        \
        ssefp_hv x = {(long long)a, 0}, y = {(long long)b, 0};                               \
        uint32_t save = 0, out = 0;                                                          \
        __asm__ volatile("stmxcsr %[save]\n\t"                                               \
                         "ldmxcsr %[mx]\n\t" insn " %[y], %[x]\n\t"                          \
                         "stmxcsr %[out]\n\t"                                                \
                         "ldmxcsr %[save]"                                                   \
                         : [x] "+x"(x), [save] "+m"(save), [out] "+m"(out)                   \
                         : [y] "x"(y), [mx] "m"(mx));                                        \
        *fl = out & 0x3fu;                                                                   \
        return (uint64_t)x[0];                                                               \
    }

SSEFP_HOST2(ssefp_h_addss, "addss")
SSEFP_HOST2(ssefp_h_addsd, "addsd")
SSEFP_HOST2(ssefp_h_subss, "subss")
SSEFP_HOST2(ssefp_h_subsd, "subsd")
SSEFP_HOST2(ssefp_h_mulss, "mulss")
SSEFP_HOST2(ssefp_h_mulsd, "mulsd")
SSEFP_HOST2(ssefp_h_divss, "divss")
SSEFP_HOST2(ssefp_h_divsd, "divsd")
SSEFP_HOST2(ssefp_h_minss, "minss")
SSEFP_HOST2(ssefp_h_minsd, "minsd")
SSEFP_HOST2(ssefp_h_maxss, "maxss")
SSEFP_HOST2(ssefp_h_maxsd, "maxsd")
/* unary: the operation reads y only (x is the merge destination) */
SSEFP_HOST2(ssefp_h_sqrtss, "sqrtss")
SSEFP_HOST2(ssefp_h_sqrtsd, "sqrtsd")
SSEFP_HOST2(ssefp_h_cvtss2sd, "cvtss2sd")
SSEFP_HOST2(ssefp_h_cvtsd2ss, "cvtsd2ss")
/* CMPSS/CMPSD with each predicate (imm8 0..7) */
SSEFP_HOST2(ssefp_h_cmpss0, "cmpss $0,")
SSEFP_HOST2(ssefp_h_cmpss1, "cmpss $1,")
SSEFP_HOST2(ssefp_h_cmpss2, "cmpss $2,")
SSEFP_HOST2(ssefp_h_cmpss3, "cmpss $3,")
SSEFP_HOST2(ssefp_h_cmpss4, "cmpss $4,")
SSEFP_HOST2(ssefp_h_cmpss5, "cmpss $5,")
SSEFP_HOST2(ssefp_h_cmpss6, "cmpss $6,")
SSEFP_HOST2(ssefp_h_cmpss7, "cmpss $7,")
SSEFP_HOST2(ssefp_h_cmpsd0, "cmpsd $0,")
SSEFP_HOST2(ssefp_h_cmpsd1, "cmpsd $1,")
SSEFP_HOST2(ssefp_h_cmpsd2, "cmpsd $2,")
SSEFP_HOST2(ssefp_h_cmpsd3, "cmpsd $3,")
SSEFP_HOST2(ssefp_h_cmpsd4, "cmpsd $4,")
SSEFP_HOST2(ssefp_h_cmpsd5, "cmpsd $5,")
SSEFP_HOST2(ssefp_h_cmpsd6, "cmpsd $6,")
SSEFP_HOST2(ssefp_h_cmpsd7, "cmpsd $7,")

/* x <- x OP y on all 128 bits (the packed forms): the same element results
 * and the OR of the element flags, for a guest that masks overflow and
 * underflow (ssefp_elem's corrections are for unmasked ones). */
#define SSEFP_HOSTP(fn, insn)                                                                \
    static inline void fn(union xmm_reg *d, const union xmm_reg *s, uint32_t mx, uint32_t *fl) \
    {                                                                                        \
        ssefp_hv x = {(long long)d->q[0], (long long)d->q[1]};                               \
        ssefp_hv y = {(long long)s->q[0], (long long)s->q[1]};                               \
        uint32_t save = 0, out = 0;                                                          \
        __asm__ volatile("stmxcsr %[save]\n\t"                                               \
                         "ldmxcsr %[mx]\n\t" insn " %[y], %[x]\n\t"                          \
                         "stmxcsr %[out]\n\t"                                                \
                         "ldmxcsr %[save]"                                                   \
                         : [x] "+x"(x), [save] "+m"(save), [out] "+m"(out)                   \
                         : [y] "x"(y), [mx] "m"(mx));                                        \
        *fl = out & 0x3fu;                                                                   \
        d->q[0] = (uint64_t)x[0];                                                            \
        d->q[1] = (uint64_t)x[1];                                                            \
    }
SSEFP_HOSTP(ssefp_hp_addps, "addps")
SSEFP_HOSTP(ssefp_hp_addpd, "addpd")
SSEFP_HOSTP(ssefp_hp_subps, "subps")
SSEFP_HOSTP(ssefp_hp_subpd, "subpd")
SSEFP_HOSTP(ssefp_hp_mulps, "mulps")
SSEFP_HOSTP(ssefp_hp_mulpd, "mulpd")
SSEFP_HOSTP(ssefp_hp_divps, "divps")
SSEFP_HOSTP(ssefp_hp_divpd, "divpd")
SSEFP_HOSTP(ssefp_hp_minps, "minps")
SSEFP_HOSTP(ssefp_hp_minpd, "minpd")
SSEFP_HOSTP(ssefp_hp_maxps, "maxps")
SSEFP_HOSTP(ssefp_hp_maxpd, "maxpd")
SSEFP_HOSTP(ssefp_hp_sqrtps, "sqrtps")
SSEFP_HOSTP(ssefp_hp_sqrtpd, "sqrtpd")

/* Integer -> floating point: x <- convert(g), g a 32- or 64-bit GPR. */
#define SSEFP_HOST_I2F(fn, insn)                                                             \
    static inline uint64_t fn(uint64_t g, uint32_t mx, uint32_t *fl)                         \
    {                                                                                        \
        ssefp_hv x = {0, 0};                                                                 \
        uint32_t save = 0, out = 0;                                                          \
        __asm__ volatile("stmxcsr %[save]\n\t"                                               \
                         "ldmxcsr %[mx]\n\t" insn "\n\t"                                     \
                         "stmxcsr %[out]\n\t"                                                \
                         "ldmxcsr %[save]"                                                   \
                         : [x] "+x"(x), [save] "+m"(save), [out] "+m"(out)                   \
                         : [g] "r"(g), [mx] "m"(mx));                                        \
        *fl = out & 0x3fu;                                                                   \
        return (uint64_t)x[0];                                                               \
    }
SSEFP_HOST_I2F(ssefp_h_cvtsi2ss32, "cvtsi2ssl %k[g], %[x]")
SSEFP_HOST_I2F(ssefp_h_cvtsi2ss64, "cvtsi2ssq %q[g], %[x]")
SSEFP_HOST_I2F(ssefp_h_cvtsi2sd32, "cvtsi2sdl %k[g], %[x]")
SSEFP_HOST_I2F(ssefp_h_cvtsi2sd64, "cvtsi2sdq %q[g], %[x]")

/* Floating point -> integer: g <- convert(y). */
#define SSEFP_HOST_F2I(fn, insn)                                                             \
    static inline uint64_t fn(uint64_t b, uint32_t mx, uint32_t *fl)                         \
    {                                                                                        \
        ssefp_hv y = {(long long)b, 0};                                                      \
        uint64_t g = 0;                                                                      \
        uint32_t save = 0, out = 0;                                                          \
        __asm__ volatile("stmxcsr %[save]\n\t"                                               \
                         "ldmxcsr %[mx]\n\t" insn "\n\t"                                     \
                         "stmxcsr %[out]\n\t"                                                \
                         "ldmxcsr %[save]"                                                   \
                         : [g] "+r"(g), [save] "+m"(save), [out] "+m"(out)                   \
                         : [y] "x"(y), [mx] "m"(mx));                                        \
        *fl = out & 0x3fu;                                                                   \
        return g;                                                                            \
    }
SSEFP_HOST_F2I(ssefp_h_cvtss2si32, "cvtss2si %[y], %k[g]")
SSEFP_HOST_F2I(ssefp_h_cvtss2si64, "cvtss2si %[y], %q[g]")
SSEFP_HOST_F2I(ssefp_h_cvttss2si32, "cvttss2si %[y], %k[g]")
SSEFP_HOST_F2I(ssefp_h_cvttss2si64, "cvttss2si %[y], %q[g]")
SSEFP_HOST_F2I(ssefp_h_cvtsd2si32, "cvtsd2si %[y], %k[g]")
SSEFP_HOST_F2I(ssefp_h_cvtsd2si64, "cvtsd2si %[y], %q[g]")
SSEFP_HOST_F2I(ssefp_h_cvttsd2si32, "cvttsd2si %[y], %k[g]")
SSEFP_HOST_F2I(ssefp_h_cvttsd2si64, "cvttsd2si %[y], %q[g]")

/* COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF of the host (bit 0 CF, bit 2
 * PF, bit 6 ZF, as in RFLAGS). */
#define SSEFP_HOST_COMI(fn, insn)                                                            \
    static inline uint64_t fn(uint64_t a, uint64_t b, uint32_t mx, uint32_t *fl)             \
    {                                                                                        \
        ssefp_hv x = {(long long)a, 0}, y = {(long long)b, 0};                               \
        uint8_t zf, pf, cf;                                                                  \
        uint32_t save = 0, out = 0;                                                          \
        __asm__ volatile("stmxcsr %[save]\n\t"                                               \
                         "ldmxcsr %[mx]\n\t" insn " %[y], %[x]\n\t"                          \
                         "setz %[zf]\n\tsetp %[pf]\n\tsetc %[cf]\n\t"                        \
                         "stmxcsr %[out]\n\t"                                                \
                         "ldmxcsr %[save]"                                                   \
                         : [zf] "=q"(zf), [pf] "=q"(pf), [cf] "=q"(cf), [save] "+m"(save),   \
                           [out] "+m"(out)                                                   \
                         : [x] "x"(x), [y] "x"(y), [mx] "m"(mx)                              \
                         : "cc");                                                            \
        *fl = out & 0x3fu;                                                                   \
        return (uint64_t)cf | (uint64_t)pf << 2 | (uint64_t)zf << 6;                         \
    }
SSEFP_HOST_COMI(ssefp_h_comiss, "comiss")
SSEFP_HOST_COMI(ssefp_h_ucomiss, "ucomiss")
SSEFP_HOST_COMI(ssefp_h_comisd, "comisd")
SSEFP_HOST_COMI(ssefp_h_ucomisd, "ucomisd")

#endif
