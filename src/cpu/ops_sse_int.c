/* Integer SIMD of MMX, SSE and SSE2 (SDM 2B instruction pages PADDB ..
 * PXOR): lane arithmetic, saturation, compares, packs and unpacks, shuffles,
 * shifts, on XMM registers (66 prefix, 16-byte memory operands that must be
 * 16-byte aligned: #GP(0)) and on MMX registers (no prefix, src/cpu/mmx.h). */
#include "cpu/simd_int.h"
#include "opcodes_gen.h"

#define SSE2 FPU_F_SSE2
#define MMX FPU_F_MMX
#define SSE FPU_F_SSE

#define sat simd_sat

/* SDM 2B "PADDB/PADDW/PADDD/PADDQ", "PSUBB/PSUBW/PSUBD", "PSUBQ": wrap
 * around. PADDQ and PSUBQ on MMX registers came with SSE2. */
SIMD_OP(paddb, SSE2, MMX, LANES_B(a + b))
SIMD_OP(paddw, SSE2, MMX, LANES_W(a + b))
SIMD_OP(paddd, SSE2, MMX, LANES_D(a + b))
SIMD_OP(paddq, SSE2, SSE2, LANES_Q(a + b))
SIMD_OP(psubb, SSE2, MMX, LANES_B(a - b))
SIMD_OP(psubw, SSE2, MMX, LANES_W(a - b))
SIMD_OP(psubd, SSE2, MMX, LANES_D(a - b))
SIMD_OP(psubq, SSE2, SSE2, LANES_Q(a - b))
/* "PADDSB/PADDSW", "PADDUSB/PADDUSW", "PSUBSB/PSUBSW", "PSUBUSB/PSUBUSW". */
SIMD_OP(paddsb, SSE2, MMX, LANES_SB(sat(a + b, -128, 127)))
SIMD_OP(paddsw, SSE2, MMX, LANES_SW(sat(a + b, -32768, 32767)))
SIMD_OP(paddusb, SSE2, MMX, LANES_B(sat(a + b, 0, 255)))
SIMD_OP(paddusw, SSE2, MMX, LANES_W(sat(a + b, 0, 65535)))
SIMD_OP(psubsb, SSE2, MMX, LANES_SB(sat(a - b, -128, 127)))
SIMD_OP(psubsw, SSE2, MMX, LANES_SW(sat(a - b, -32768, 32767)))
SIMD_OP(psubusb, SSE2, MMX, LANES_B(sat(a - b, 0, 255)))
SIMD_OP(psubusw, SSE2, MMX, LANES_W(sat(a - b, 0, 65535)))
/* "PCMPEQB/PCMPEQW/PCMPEQD", "PCMPGTB/PCMPGTW/PCMPGTD" (signed). */
SIMD_OP(pcmpeqb, SSE2, MMX, LANES_B(a == b ? 0xff : 0))
SIMD_OP(pcmpeqw, SSE2, MMX, LANES_W(a == b ? 0xffff : 0))
SIMD_OP(pcmpeqd, SSE2, MMX, LANES_D(a == b ? 0xffffffffu : 0))
SIMD_OP(pcmpgtb, SSE2, MMX, LANES_SB(a > b ? 0xff : 0))
SIMD_OP(pcmpgtw, SSE2, MMX, LANES_SW(a > b ? 0xffff : 0))
SIMD_OP(pcmpgtd, SSE2, MMX, LANES_SD(a > b ? 0xffffffffu : 0))
/* "PMINUB", "PMAXUB", "PMINSW", "PMAXSW", "PAVGB/PAVGW" (rounded up): on
 * MMX registers since SSE. */
SIMD_OP(pminub, SSE2, SSE, LANES_B(a < b ? a : b))
SIMD_OP(pmaxub, SSE2, SSE, LANES_B(a > b ? a : b))
SIMD_OP(pminsw, SSE2, SSE, LANES_SW(a < b ? a : b))
SIMD_OP(pmaxsw, SSE2, SSE, LANES_SW(a > b ? a : b))
SIMD_OP(pavgb, SSE2, SSE, LANES_B((a + b + 1) >> 1))
SIMD_OP(pavgw, SSE2, SSE, LANES_W((a + b + 1) >> 1))
/* "PMULLW", "PMULHW" (signed), "PMULHUW" (unsigned, MMX form since SSE).
 * The signed product is formed in 32 bits: GCC 12.2 at -O2 turns the 64-bit
 * form of this loop into an unsigned high multiply (wrong code, caught by
 * the difftest). */
SIMD_OP(pmullw, SSE2, MMX, LANES_W(a * b))
SIMD_OP(pmulhw, SSE2, MMX, LANES_SW(((int32_t)a * (int32_t)b) >> 16))
SIMD_OP(pmulhuw, SSE2, SSE, LANES_W((a * b) >> 16))
/* "PAND", "PANDN" (NOT destination AND source), "POR", "PXOR". */
SIMD_OP(pand, SSE2, MMX, LANES_Q(a & b))
SIMD_OP(pandn, SSE2, MMX, LANES_Q(~a & b))
SIMD_OP(por, SSE2, MMX, LANES_Q(a | b))
SIMD_OP(pxor, SSE2, MMX, LANES_Q(a ^ b))

/* SDM 2B "PMULUDQ": low unsigned doublewords of each quadword. */
SIMD_OP(pmuludq, SSE2, SSE2, LANES_Q((uint64_t)(uint32_t)a * (uint32_t)b))

/* SDM 2B "PMADDWD": signed word products summed in pairs; 0x8000 * 0x8000
 * twice wraps to 0x80000000, as the SDM's pseudo-code gives. */
SIMD_OP(pmaddwd, SSE2, MMX,
        for (unsigned i = 0; i < n / 4; i++) {
            int64_t p0 = (int64_t)(int16_t)d->w[2 * i] * (int16_t)s->w[2 * i];
            int64_t p1 = (int64_t)(int16_t)d->w[2 * i + 1] * (int16_t)s->w[2 * i + 1];
            r->d[i] = (uint32_t)(p0 + p1);
        })

/* SDM 2B "PSADBW": sum of absolute byte differences per quadword, in the
 * low word of each quadword; the rest is zero. */
SIMD_OP(psadbw, SSE2, SSE,
        for (unsigned q = 0; q < n / 8; q++) {
            unsigned sum = 0;
            for (unsigned i = 0; i < 8; i++) {
                int v = (int)d->b[8 * q + i] - (int)s->b[8 * q + i];
                sum += (unsigned)(v < 0 ? -v : v);
            }
            r->q[q] = sum;
        })

/* SDM 2B "PACKSSWB/PACKSSDW", "PACKUSWB": destination lanes first, then
 * source lanes, each saturated. */
SIMD_OP(packsswb, SSE2, MMX,
        for (unsigned i = 0; i < n / 2; i++) {
            r->b[i] = (uint8_t)sat((int16_t)d->w[i], -128, 127);
            r->b[n / 2 + i] = (uint8_t)sat((int16_t)s->w[i], -128, 127);
        })
SIMD_OP(packuswb, SSE2, MMX,
        for (unsigned i = 0; i < n / 2; i++) {
            r->b[i] = (uint8_t)sat((int16_t)d->w[i], 0, 255);
            r->b[n / 2 + i] = (uint8_t)sat((int16_t)s->w[i], 0, 255);
        })
SIMD_OP(packssdw, SSE2, MMX,
        for (unsigned i = 0; i < n / 4; i++) {
            r->w[i] = (uint16_t)sat((int32_t)d->d[i], -32768, 32767);
            r->w[n / 4 + i] = (uint16_t)sat((int32_t)s->d[i], -32768, 32767);
        })

/* SDM 2B "PUNPCKLBW/..." and "PUNPCKHBW/...": interleave the low (high)
 * halves, destination lane first. The MMX forms of the low unpacks read a
 * 32-bit memory operand (PUNPCKLBW mm, mm/m32). */
static inline void unpack(union xmm_reg *r, const union xmm_reg *d, const union xmm_reg *s,
                          unsigned n, unsigned lane, bool high)
{
    unsigned base = high ? n / 2 : 0;
    for (unsigned k = 0; k < n / 2 / lane; k++) {
        memcpy(&r->b[2 * k * lane], &d->b[base + k * lane], lane);
        memcpy(&r->b[(2 * k + 1) * lane], &s->b[base + k * lane], lane);
    }
}

SIMD_OP2(punpcklbw, SSE2, MMX, 4, unpack(r, d, s, n, 1, false);)
SIMD_OP2(punpcklwd, SSE2, MMX, 4, unpack(r, d, s, n, 2, false);)
SIMD_OP2(punpckldq, SSE2, MMX, 4, unpack(r, d, s, n, 4, false);)
SIMD_OP_XMM(punpcklqdq, SSE2, unpack(r, d, s, n, 8, false);)
SIMD_OP(punpckhbw, SSE2, MMX, unpack(r, d, s, n, 1, true);)
SIMD_OP(punpckhwd, SSE2, MMX, unpack(r, d, s, n, 2, true);)
SIMD_OP(punpckhdq, SSE2, MMX, unpack(r, d, s, n, 4, true);)
SIMD_OP_XMM(punpckhqdq, SSE2, unpack(r, d, s, n, 8, true);)

/* SDM 2B "PSHUFD", "PSHUFHW", "PSHUFLW", "PSHUFW" (MMX, since SSE): lanes
 * chosen by imm8 fields. */
SIMD_OP_XMM(pshufd, SSE2,
            for (unsigned i = 0; i < 4; i++) r->d[i] = s->d[(imm >> (2 * i)) & 3];)
SIMD_OP_XMM(pshufhw, SSE2, r->q[0] = s->q[0];
            for (unsigned i = 0; i < 4; i++) r->w[4 + i] = s->w[4 + ((imm >> (2 * i)) & 3)];)
SIMD_OP_XMM(pshuflw, SSE2, r->q[1] = s->q[1];
            for (unsigned i = 0; i < 4; i++) r->w[i] = s->w[(imm >> (2 * i)) & 3];)
SIMD_KERNEL(pshufw, for (unsigned i = 0; i < 4; i++) r->w[i] = s->w[(imm >> (2 * i)) & 3];)
void op_pshufw(struct cpu *c, const struct insn *in)
{
    simd_mm(c, in, FPU_F_SSE, 8, k_pshufw);
}

/* Shifts (SDM 2B "PSLLW/PSLLD/PSLLQ", "PSRAW/PSRAD", "PSRLW/PSRLD/PSRLQ"):
 * the count is imm8 (0F 71-73 forms, register destination in ModRM.rm) or
 * the whole low quadword of the source; a count above the lane width gives
 * zero (logical) or the sign (arithmetic). */
enum shift_kind { SH_LEFT, SH_RIGHT, SH_ARITH };

static void shift_lanes(union xmm_reg *d, unsigned n, unsigned lane, enum shift_kind k,
                        uint64_t count)
{
    unsigned bits = lane * 8;
    for (unsigned i = 0; i < n / lane; i++) {
        uint64_t v = 0;
        memcpy(&v, &d->b[i * lane], lane);
        if (k == SH_ARITH) {
            int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
            v = (uint64_t)(sv >> (count > bits - 1 ? bits - 1 : count));
        } else if (count >= bits) {
            v = 0;
        } else {
            v = k == SH_LEFT ? v << count : v >> count;
        }
        memcpy(&d->b[i * lane], &v, lane);
    }
}

static void shift_op(struct cpu *c, const struct insn *in, unsigned lane, enum shift_kind k)
{
    sse_check(c, FPU_F_SSE2);
    if (in->opk[1] == OPK_IMM) { /* 66 0F 71-73 /digit ib: destination is Udq */
        shift_lanes(xmm_u(c, in), 16, lane, k, in->imm & 0xff);
        return;
    }
    union xmm_reg s;
    sse_read_w(c, in, &s, 16, true);
    shift_lanes(xmm_v(c, in), 16, lane, k, s.q[0]);
}

/* The MMX forms: 0F 71-73 /digit ib (destination Nq) or P, Q. */
static void shift_op_mm(struct cpu *c, const struct insn *in, unsigned lane, enum shift_kind k)
{
    union xmm_reg v = { .q = { 0, 0 } };
    mmx_check(c, FPU_F_MMX);
    if (in->opk[1] == OPK_IMM) {
        v.q[0] = mmx_x87_read(c, in->rm);
        shift_lanes(&v, 8, lane, k, in->imm & 0xff);
        mmx_x87_write(c, in->rm, v.q[0]);
        return;
    }
    uint64_t count = mmx_q(c, in, 8);
    v.q[0] = mmx_p(c, in);
    shift_lanes(&v, 8, lane, k, count);
    mmx_set_p(c, in, v.q[0]);
}

#define SHIFT_OPS(name, lane, kind)                                                      \
    void op_##name(struct cpu *c, const struct insn *in) { shift_op(c, in, lane, kind); } \
    void op_##name##_mm(struct cpu *c, const struct insn *in)                           \
    {                                                                                   \
        shift_op_mm(c, in, lane, kind);                                                 \
    }
SHIFT_OPS(psllw, 2, SH_LEFT)
SHIFT_OPS(pslld, 4, SH_LEFT)
SHIFT_OPS(psllq, 8, SH_LEFT)
SHIFT_OPS(psrlw, 2, SH_RIGHT)
SHIFT_OPS(psrld, 4, SH_RIGHT)
SHIFT_OPS(psrlq, 8, SH_RIGHT)
SHIFT_OPS(psraw, 2, SH_ARITH)
SHIFT_OPS(psrad, 4, SH_ARITH)

/* SDM 2B "PSLLDQ", "PSRLDQ": byte shifts of the whole register; a count
 * above 15 clears it. */
static void shift_bytes(struct cpu *c, const struct insn *in, bool left)
{
    sse_check(c, FPU_F_SSE2);
    union xmm_reg *d = xmm_u(c, in), r;
    unsigned n = (unsigned)(in->imm & 0xff);
    for (unsigned i = 0; i < 16; i++) {
        int from = left ? (int)i - (int)n : (int)i + (int)n;
        r.b[i] = from >= 0 && from < 16 ? d->b[from] : 0;
    }
    *d = r;
}

void op_pslldq(struct cpu *c, const struct insn *in) { shift_bytes(c, in, true); }
void op_psrldq(struct cpu *c, const struct insn *in) { shift_bytes(c, in, false); }

/* SDM 2B "PINSRW": imm8[2:0] (imm8[1:0] on MMX registers) selects the word;
 * a register source gives its low word. "PEXTRW": the word, zero-extended
 * into the GPR. */
void op_pinsrw(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    uint16_t v = (uint16_t)opnd_read(c, in, 1, 2);
    xmm_v(c, in)->w[in->imm & 7] = v;
}

void op_pinsrw_mm(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_SSE);
    uint16_t v = (uint16_t)opnd_read(c, in, 1, 2);
    union xmm_reg d = { .q = { mmx_p(c, in), 0 } };
    d.w[in->imm & 3] = v;
    mmx_set_p(c, in, d.q[0]);
}

void op_pextrw(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    reg_write(c, in->reg, 8, true, xmm_u(c, in)->w[in->imm & 7]);
}

void op_pextrw_mm(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_SSE);
    reg_write(c, in->reg, 8, true, (mmx_x87_read(c, in->rm) >> (16 * (in->imm & 3))) & 0xffff);
}

/* SDM 2B "PMOVMSKB": the sign bit of each byte, zero-extended. */
static uint64_t byte_signs(const union xmm_reg *s, unsigned n)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < n; i++)
        m |= (uint64_t)(s->b[i] >> 7) << i;
    return m;
}

void op_pmovmskb(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    reg_write(c, in->reg, 8, true, byte_signs(xmm_u(c, in), 16));
}

void op_pmovmskb_mm(struct cpu *c, const struct insn *in)
{
    mmx_check(c, FPU_F_SSE);
    union xmm_reg s = { .q = { mmx_x87_read(c, in->rm), 0 } };
    reg_write(c, in->reg, 8, true, byte_signs(&s, 8));
}
