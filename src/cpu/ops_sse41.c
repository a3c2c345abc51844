/* The integer instructions of SSE4.1 on XMM registers (SDM 2 instruction
 * pages "PMINSB/PMINSD", "PMINUW", "PMINUD", "PMAXSB/PMAXSD", "PMAXUW",
 * "PMAXUD", "PMOVSX", "PMOVZX", "PMULDQ", "PMULLD", "PCMPEQQ", "PACKUSDW",
 * "PBLENDW", "PBLENDVB", "PHMINPOSUW", "MPSADBW", "PTEST", "MOVNTDQA").
 * PEXTR and PINSR are in ops_sse41_insert.c. */
#include "cpu/simd_int.h"
#include "opcodes_gen.h"

#define S41 FPU_F_SSE4_1

SIMD_OP_XMM(pminsb, S41, LANES_SB(a < b ? a : b))
SIMD_OP_XMM(pminsd, S41, LANES_SD(a < b ? a : b))
SIMD_OP_XMM(pminuw, S41, LANES_W(a < b ? a : b))
SIMD_OP_XMM(pminud, S41, LANES_D(a < b ? a : b))
SIMD_OP_XMM(pmaxsb, S41, LANES_SB(a > b ? a : b))
SIMD_OP_XMM(pmaxsd, S41, LANES_SD(a > b ? a : b))
SIMD_OP_XMM(pmaxuw, S41, LANES_W(a > b ? a : b))
SIMD_OP_XMM(pmaxud, S41, LANES_D(a > b ? a : b))
/* "PMULDQ": signed low doublewords of each quadword, 64-bit products.
 * "PMULLD": the low 32 bits of each product. "PCMPEQQ". */
SIMD_OP_XMM(pmuldq, S41, LANES_Q((uint64_t)((int64_t)(int32_t)a * (int32_t)b)))
SIMD_OP_XMM(pmulld, S41, LANES_D((uint32_t)a * (uint32_t)b))
SIMD_OP_XMM(pcmpeqq, S41, LANES_Q(a == b ? ~0ull : 0))
/* "PACKUSDW": signed doublewords to unsigned words with saturation,
 * destination first. */
SIMD_OP_XMM(packusdw, S41,
            for (unsigned i = 0; i < 4; i++) {
                r->w[i] = (uint16_t)simd_sat((int32_t)d->d[i], 0, 65535);
                r->w[4 + i] = (uint16_t)simd_sat((int32_t)s->d[i], 0, 65535);
            })
/* "PBLENDW": imm8 bit i takes word i from the source. */
SIMD_OP_XMM(pblendw, S41, LANES_W((imm >> i) & 1 ? b : a))

/* "PHMINPOSUW": the smallest unsigned word of the source and the index of
 * its first occurrence; the rest of the destination is zero. */
SIMD_OP_XMM(phminposuw, S41, unsigned k = 0;
            for (unsigned i = 1; i < 8; i++) if (s->w[i] < s->w[k]) k = i;
            r->q[0] = s->w[k] | (uint64_t)k << 16;
            r->q[1] = 0;)

/* "MPSADBW": eight sums of absolute differences of four bytes: destination
 * bytes from offset imm8[2]*4 + i, source bytes imm8[1:0]*4 .. +3. */
SIMD_OP_XMM(mpsadbw, S41, unsigned o1 = ((imm >> 2) & 1) * 4, o2 = (imm & 3) * 4;
            for (unsigned i = 0; i < 8; i++) {
                unsigned sum = 0;
                for (unsigned j = 0; j < 4; j++) {
                    int v = (int)d->b[o1 + i + j] - (int)s->b[o2 + j];
                    sum += (unsigned)(v < 0 ? -v : v);
                }
                r->w[i] = (uint16_t)sum;
            })

/* "PMOVSX", "PMOVZX": the low lanes of the source (a register, or 8, 4 or
 * 2 bytes of memory, no alignment rule) sign- or zero-extended. */
#define PMOVX(name, msize, count, dfield, dtype, sfield, stype)                            \
    SIMD_KERNEL(name, for (unsigned i = 0; i < (count); i++) r->dfield[i] =                \
                          (dtype)(stype)s->sfield[i];)                                     \
    void op_##name(struct cpu *c, const struct insn *in)                                   \
    {                                                                                      \
        simd_xmm(c, in, S41, msize, false, k_##name);                                      \
    }
PMOVX(pmovsxbw, 8, 8, w, uint16_t, b, int8_t)
PMOVX(pmovsxbd, 4, 4, d, uint32_t, b, int8_t)
PMOVX(pmovsxbq, 2, 2, q, uint64_t, b, int8_t)
PMOVX(pmovsxwd, 8, 4, d, uint32_t, w, int16_t)
PMOVX(pmovsxwq, 4, 2, q, uint64_t, w, int16_t)
PMOVX(pmovsxdq, 8, 2, q, uint64_t, d, int32_t)
PMOVX(pmovzxbw, 8, 8, w, uint16_t, b, uint8_t)
PMOVX(pmovzxbd, 4, 4, d, uint32_t, b, uint8_t)
PMOVX(pmovzxbq, 2, 2, q, uint64_t, b, uint8_t)
PMOVX(pmovzxwd, 8, 4, d, uint32_t, w, uint16_t)
PMOVX(pmovzxwq, 4, 2, q, uint64_t, w, uint16_t)
PMOVX(pmovzxdq, 8, 2, q, uint64_t, d, uint32_t)

/* "PBLENDVB": bit 7 of each byte of XMM0 (implicit) takes the source byte. */
void op_pblendvb(struct cpu *c, const struct insn *in)
{
    union xmm_reg s;
    sse_check(c, S41);
    sse_read_w(c, in, &s, 16, true);
    union xmm_reg *d = xmm_v(c, in), m = c->fpu.xmm[0];
    for (unsigned i = 0; i < 16; i++)
        if (m.b[i] & 0x80)
            d->b[i] = s.b[i];
}

/* "PTEST": ZF = (destination AND source) == 0, CF = (NOT destination AND
 * source) == 0; AF, OF, PF and SF are cleared. */
void op_ptest(struct cpu *c, const struct insn *in)
{
    union xmm_reg s;
    sse_check(c, S41);
    sse_read_w(c, in, &s, 16, true);
    const union xmm_reg *d = xmm_v(c, in);
    uint64_t fl = 0;
    if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])))
        fl |= FL_ZF;
    if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])))
        fl |= FL_CF;
    flags_set_arith(c, fl);
}

/* "MOVNTDQA": an aligned 16-byte load; the hint has no architectural effect. */
void op_movntdqa(struct cpu *c, const struct insn *in)
{
    union xmm_reg s;
    sse_check(c, S41);
    sse_read_mem(c, in, &s, 16, true);
    *xmm_v(c, in) = s;
}
