/* Private to src/cpu: packed-integer instructions that exist on XMM
 * registers (66 prefix, 16 bytes) and on MMX registers (no prefix, 8 bytes).
 * One lane kernel serves both: it computes r from d (destination) and s
 * (source) over n = 16 or 8 bytes. SIMD_OP names the two handlers op_NAME
 * (XMM) and op_NAME_mm (MMX). */
#ifndef NVMX_CPU_SIMD_INT_H
#define NVMX_CPU_SIMD_INT_H

#include "cpu/mmx.h"
#include "cpu/sse.h"

typedef void simd_kernel(union xmm_reg *r, const union xmm_reg *d, const union xmm_reg *s,
                         unsigned n, unsigned imm);

static inline int64_t simd_sat(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* V = k(V, W): the W operand is 16 bytes of memory, 16-byte aligned (SDM 2
 * "Exception Conditions for Legacy SIMD ... with 16-Byte Alignment"), unless
 * msize is smaller or aligned is false. */
static inline __attribute__((always_inline)) void
simd_xmm(struct cpu *c, const struct insn *in, uint32_t feature, unsigned msize, bool aligned,
         simd_kernel *k)
{
    union xmm_reg s, r;
    sse_check(c, feature);
    sse_read_w(c, in, &s, msize, aligned && msize == 16);
    union xmm_reg *d = xmm_v(c, in);
    k(&r, d, &s, 16, (unsigned)in->imm);
    *d = r;
}

/* P = k(P, Q) on the low 8 bytes; msize is the Q memory operand's size. */
static inline __attribute__((always_inline)) void
simd_mm(struct cpu *c, const struct insn *in, uint32_t feature, unsigned msize, simd_kernel *k)
{
    union xmm_reg s = { .q = { 0, 0 } }, d = { .q = { 0, 0 } }, r = { .q = { 0, 0 } };
    mmx_check(c, feature);
    s.q[0] = mmx_q(c, in, msize);
    d.q[0] = mmx_p(c, in);
    k(&r, &d, &s, 8, (unsigned)in->imm);
    mmx_set_p(c, in, r.q[0]);
}

/* Lanes of 8/16/32/64 bits, unsigned (B W D Q) or signed (SB SW SD): a and b
 * are the destination's and the source's lane i. */
#define SIMD_LANES(T, ST, field, width, expr)                                             \
    for (unsigned i = 0; i < n / (width); i++) {                                         \
        int64_t a = (ST)d->field[i], b = (ST)s->field[i];                                \
        (void)a;                                                                         \
        (void)b;                                                                         \
        r->field[i] = (T)(expr);                                                         \
    }
#define LANES_B(expr) SIMD_LANES(uint8_t, uint8_t, b, 1, expr)
#define LANES_SB(expr) SIMD_LANES(uint8_t, int8_t, b, 1, expr)
#define LANES_W(expr) SIMD_LANES(uint16_t, uint16_t, w, 2, expr)
#define LANES_SW(expr) SIMD_LANES(uint16_t, int16_t, w, 2, expr)
#define LANES_D(expr) SIMD_LANES(uint32_t, uint32_t, d, 4, expr)
#define LANES_SD(expr) SIMD_LANES(uint32_t, int32_t, d, 4, expr)
#define LANES_Q(expr)                                                                     \
    for (unsigned i = 0; i < n / 8; i++) {                                               \
        uint64_t a = d->q[i], b = s->q[i];                                               \
        (void)a;                                                                         \
        (void)b;                                                                         \
        r->q[i] = (expr);                                                                \
    }

/* A kernel from a statement list over r, d, s, n, imm. */
#define SIMD_KERNEL(name, ...)                                                           \
    static inline void k_##name(union xmm_reg *r, const union xmm_reg *d,                \
                                const union xmm_reg *s, unsigned n, unsigned imm)        \
    {                                                                                    \
        (void)d;                                                                         \
        (void)s;                                                                         \
        (void)imm;                                                                       \
        __VA_ARGS__                                                                      \
    }

/* The XMM form only (SSE4.1 and later have no MMX form). */
#define SIMD_OP_XMM(name, feat, ...)                                                      \
    SIMD_KERNEL(name, __VA_ARGS__)                                                              \
    void op_##name(struct cpu *c, const struct insn *in)                                 \
    {                                                                                    \
        simd_xmm(c, in, feat, 16, true, k_##name);                                       \
    }

/* Both forms; mmsize is the MMX form's memory operand size (4 for the
 * PUNPCKL* forms, else 8). */
#define SIMD_OP2(name, feat_x, feat_mm, mmsize, ...)                                      \
    SIMD_OP_XMM(name, feat_x, __VA_ARGS__)                                                      \
    void op_##name##_mm(struct cpu *c, const struct insn *in)                            \
    {                                                                                    \
        simd_mm(c, in, feat_mm, mmsize, k_##name);                                       \
    }
#define SIMD_OP(name, feat_x, feat_mm, ...) SIMD_OP2(name, feat_x, feat_mm, 8, __VA_ARGS__)

#endif
