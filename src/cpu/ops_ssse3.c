/* SSSE3 (SDM 2 instruction pages "PABSB/PABSW/PABSD", "PALIGNR",
 * "PHADDW/PHADDD", "PHADDSW", "PHSUBW/PHSUBD", "PHSUBSW", "PMADDUBSW",
 * "PMULHRSW", "PSHUFB", "PSIGNB/PSIGNW/PSIGND"), on XMM registers (66) and
 * MMX registers (NP), one kernel each (src/cpu/simd_int.h). */
#include "cpu/simd_int.h"
#include "opcodes_gen.h"

#define S3 FPU_F_SSSE3

/* "PSHUFB": a control byte with bit 7 set gives zero, else its low 4 (3 on
 * MMX registers) bits select a destination byte. */
SIMD_OP(pshufb, S3, S3,
        for (unsigned i = 0; i < n; i++)
            r->b[i] = (s->b[i] & 0x80) ? 0 : d->b[s->b[i] & (n - 1)];)

/* Horizontal add/subtract: adjacent pairs of the destination fill the low
 * half of the result, pairs of the source the high half. */
#define HORIZ_W(expr)                                                                     \
    for (unsigned i = 0; i < n / 4; i++) {                                               \
        int64_t a = (int16_t)d->w[2 * i], b = (int16_t)d->w[2 * i + 1];                  \
        r->w[i] = (uint16_t)(expr);                                                      \
        a = (int16_t)s->w[2 * i], b = (int16_t)s->w[2 * i + 1];                          \
        r->w[n / 4 + i] = (uint16_t)(expr);                                              \
    }
#define HORIZ_D(expr)                                                                     \
    for (unsigned i = 0; i < n / 8; i++) {                                               \
        int64_t a = (int32_t)d->d[2 * i], b = (int32_t)d->d[2 * i + 1];                  \
        r->d[i] = (uint32_t)(expr);                                                      \
        a = (int32_t)s->d[2 * i], b = (int32_t)s->d[2 * i + 1];                          \
        r->d[n / 8 + i] = (uint32_t)(expr);                                              \
    }
SIMD_OP(phaddw, S3, S3, HORIZ_W(a + b))
SIMD_OP(phaddd, S3, S3, HORIZ_D(a + b))
SIMD_OP(phaddsw, S3, S3, HORIZ_W(simd_sat(a + b, -32768, 32767)))
SIMD_OP(phsubw, S3, S3, HORIZ_W(a - b))
SIMD_OP(phsubd, S3, S3, HORIZ_D(a - b))
SIMD_OP(phsubsw, S3, S3, HORIZ_W(simd_sat(a - b, -32768, 32767)))

/* "PMADDUBSW": unsigned destination bytes times signed source bytes, the
 * pairs summed with signed saturation to words. */
SIMD_OP(pmaddubsw, S3, S3,
        for (unsigned i = 0; i < n / 2; i++) {
            int64_t p = (int64_t)d->b[2 * i] * (int8_t)s->b[2 * i] +
                        (int64_t)d->b[2 * i + 1] * (int8_t)s->b[2 * i + 1];
            r->w[i] = (uint16_t)simd_sat(p, -32768, 32767);
        })

/* "PMULHRSW": bits 16:1 of the signed product rounded at bit 14:
 * ((a * b >> 14) + 1) >> 1. */
SIMD_OP(pmulhrsw, S3, S3, LANES_SW((((int32_t)a * (int32_t)b >> 14) + 1) >> 1))

/* "PSIGNB/PSIGNW/PSIGND": negate, zero or keep the destination lane as the
 * source lane is negative, zero or positive (wrapping: -(-128) = -128). */
SIMD_OP(psignb, S3, S3, LANES_SB(b < 0 ? -a : b == 0 ? 0 : a))
SIMD_OP(psignw, S3, S3, LANES_SW(b < 0 ? -a : b == 0 ? 0 : a))
SIMD_OP(psignd, S3, S3, LANES_SD(b < 0 ? -a : b == 0 ? 0 : a))

/* "PABSB/PABSW/PABSD": absolute value of the source, unsigned (0x80 stays
 * 0x80). */
SIMD_OP(pabsb, S3, S3, LANES_SB(b < 0 ? -b : b))
SIMD_OP(pabsw, S3, S3, LANES_SW(b < 0 ? -b : b))
SIMD_OP(pabsd, S3, S3, LANES_SD(b < 0 ? -b : b))

/* "PALIGNR": destination:source (destination high) shifted right by imm8
 * bytes; the low n bytes are the result (zero beyond 2n). */
SIMD_OP(palignr, S3, S3, uint8_t t[32];
        memcpy(t, s->b, n);
        memcpy(t + n, d->b, n);
        for (unsigned i = 0; i < n; i++) r->b[i] = i + imm < 2 * n ? t[i + imm] : 0;)
