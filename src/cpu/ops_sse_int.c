/* SSE2 integer SIMD on XMM registers (SDM 2B instruction pages PADDB ..
 * PXOR): lane arithmetic, saturation, compares, packs and unpacks, shuffles,
 * shifts. Every 128-bit memory operand must be 16-byte aligned (#GP(0)). */
#include "cpu/sse.h"
#include "opcodes_gen.h"

/* Load the W operand into s, checking the SSE2 environment first. */
static union xmm_reg *sse2_operands(struct cpu *c, const struct insn *in, union xmm_reg *s)
{
    sse_check(c, FPU_F_SSE2);
    sse_read_w(c, in, s, 16, true);
    return xmm_v(c, in);
}

static inline int64_t sat(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Lane-wise binary operations: r = d OP s on lanes of 8/16/32/64 bits. */
#define LANES_B(expr) for (unsigned i = 0; i < 16; i++) { int64_t a = d->b[i], b = s.b[i]; \
        (void)a; (void)b; r.b[i] = (uint8_t)(expr); }
#define LANES_SB(expr) for (unsigned i = 0; i < 16; i++) { int64_t a = (int8_t)d->b[i], \
        b = (int8_t)s.b[i]; (void)a; (void)b; r.b[i] = (uint8_t)(expr); }
#define LANES_W(expr) for (unsigned i = 0; i < 8; i++) { int64_t a = d->w[i], b = s.w[i]; \
        (void)a; (void)b; r.w[i] = (uint16_t)(expr); }
#define LANES_SW(expr) for (unsigned i = 0; i < 8; i++) { int64_t a = (int16_t)d->w[i], \
        b = (int16_t)s.w[i]; (void)a; (void)b; r.w[i] = (uint16_t)(expr); }
#define LANES_D(expr) for (unsigned i = 0; i < 4; i++) { int64_t a = d->d[i], b = s.d[i]; \
        (void)a; (void)b; r.d[i] = (uint32_t)(expr); }
#define LANES_SD(expr) for (unsigned i = 0; i < 4; i++) { int64_t a = (int32_t)d->d[i], \
        b = (int32_t)s.d[i]; (void)a; (void)b; r.d[i] = (uint32_t)(expr); }
#define LANES_Q(expr) for (unsigned i = 0; i < 2; i++) { uint64_t a = d->q[i], b = s.q[i]; \
        (void)a; (void)b; r.q[i] = (expr); }

#define SSE2_BINOP(name, lanes)                                                     \
    void op_##name(struct cpu *c, const struct insn *in)                            \
    {                                                                               \
        union xmm_reg s, r;                                                         \
        union xmm_reg *d = sse2_operands(c, in, &s);                                \
        lanes;                                                                      \
        *d = r;                                                                     \
    }

/* SDM 2B "PADDB/PADDW/PADDD/PADDQ", "PSUBB/PSUBW/PSUBD", "PSUBQ": wrap around. */
SSE2_BINOP(paddb, LANES_B(a + b))
SSE2_BINOP(paddw, LANES_W(a + b))
SSE2_BINOP(paddd, LANES_D(a + b))
SSE2_BINOP(paddq, LANES_Q(a + b))
SSE2_BINOP(psubb, LANES_B(a - b))
SSE2_BINOP(psubw, LANES_W(a - b))
SSE2_BINOP(psubd, LANES_D(a - b))
SSE2_BINOP(psubq, LANES_Q(a - b))
/* "PADDSB/PADDSW", "PADDUSB/PADDUSW", "PSUBSB/PSUBSW", "PSUBUSB/PSUBUSW". */
SSE2_BINOP(paddsb, LANES_SB(sat(a + b, -128, 127)))
SSE2_BINOP(paddsw, LANES_SW(sat(a + b, -32768, 32767)))
SSE2_BINOP(paddusb, LANES_B(sat(a + b, 0, 255)))
SSE2_BINOP(paddusw, LANES_W(sat(a + b, 0, 65535)))
SSE2_BINOP(psubsb, LANES_SB(sat(a - b, -128, 127)))
SSE2_BINOP(psubsw, LANES_SW(sat(a - b, -32768, 32767)))
SSE2_BINOP(psubusb, LANES_B(sat(a - b, 0, 255)))
SSE2_BINOP(psubusw, LANES_W(sat(a - b, 0, 65535)))
/* "PCMPEQB/PCMPEQW/PCMPEQD", "PCMPGTB/PCMPGTW/PCMPGTD" (signed). */
SSE2_BINOP(pcmpeqb, LANES_B(a == b ? 0xff : 0))
SSE2_BINOP(pcmpeqw, LANES_W(a == b ? 0xffff : 0))
SSE2_BINOP(pcmpeqd, LANES_D(a == b ? 0xffffffffu : 0))
SSE2_BINOP(pcmpgtb, LANES_SB(a > b ? 0xff : 0))
SSE2_BINOP(pcmpgtw, LANES_SW(a > b ? 0xffff : 0))
SSE2_BINOP(pcmpgtd, LANES_SD(a > b ? 0xffffffffu : 0))
/* "PMINUB", "PMAXUB", "PMINSW", "PMAXSW", "PAVGB/PAVGW" (rounded up). */
SSE2_BINOP(pminub, LANES_B(a < b ? a : b))
SSE2_BINOP(pmaxub, LANES_B(a > b ? a : b))
SSE2_BINOP(pminsw, LANES_SW(a < b ? a : b))
SSE2_BINOP(pmaxsw, LANES_SW(a > b ? a : b))
SSE2_BINOP(pavgb, LANES_B((a + b + 1) >> 1))
SSE2_BINOP(pavgw, LANES_W((a + b + 1) >> 1))
/* "PMULLW", "PMULHW" (signed), "PMULHUW" (unsigned). The signed product is
 * formed in 32 bits: GCC 12.2 at -O2 turns the 64-bit form of this loop into
 * an unsigned high multiply (wrong code, caught by the difftest). */
SSE2_BINOP(pmullw, LANES_W(a * b))
SSE2_BINOP(pmulhw, LANES_SW(((int32_t)a * (int32_t)b) >> 16))
SSE2_BINOP(pmulhuw, LANES_W((a * b) >> 16))
/* "PAND", "PANDN" (NOT destination AND source), "POR", "PXOR". */
SSE2_BINOP(pand, LANES_Q(a & b))
SSE2_BINOP(pandn, LANES_Q(~a & b))
SSE2_BINOP(por, LANES_Q(a | b))
SSE2_BINOP(pxor, LANES_Q(a ^ b))

/* SDM 2B "PMULUDQ": low unsigned doublewords of each quadword. */
SSE2_BINOP(pmuludq, LANES_Q((uint64_t)(uint32_t)a * (uint32_t)b))

/* SDM 2B "PMADDWD": signed word products summed in pairs; 0x8000 * 0x8000
 * twice wraps to 0x80000000, as the SDM's pseudo-code gives. */
void op_pmaddwd(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned i = 0; i < 4; i++) {
        int64_t p0 = (int64_t)(int16_t)d->w[2 * i] * (int16_t)s.w[2 * i];
        int64_t p1 = (int64_t)(int16_t)d->w[2 * i + 1] * (int16_t)s.w[2 * i + 1];
        r.d[i] = (uint32_t)(p0 + p1);
    }
    *d = r;
}

/* SDM 2B "PSADBW": sum of absolute byte differences per quadword, in the
 * low word of each quadword; the rest is zero. */
void op_psadbw(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned q = 0; q < 2; q++) {
        unsigned sum = 0;
        for (unsigned i = 0; i < 8; i++) {
            int v = (int)d->b[8 * q + i] - (int)s.b[8 * q + i];
            sum += (unsigned)(v < 0 ? -v : v);
        }
        r.q[q] = sum;
    }
    *d = r;
}

/* SDM 2B "PACKSSWB/PACKSSDW", "PACKUSWB": destination lanes first, then
 * source lanes, each saturated. */
void op_packsswb(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned i = 0; i < 8; i++) {
        r.b[i] = (uint8_t)sat((int16_t)d->w[i], -128, 127);
        r.b[8 + i] = (uint8_t)sat((int16_t)s.w[i], -128, 127);
    }
    *d = r;
}

void op_packuswb(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned i = 0; i < 8; i++) {
        r.b[i] = (uint8_t)sat((int16_t)d->w[i], 0, 255);
        r.b[8 + i] = (uint8_t)sat((int16_t)s.w[i], 0, 255);
    }
    *d = r;
}

void op_packssdw(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned i = 0; i < 4; i++) {
        r.w[i] = (uint16_t)sat((int32_t)d->d[i], -32768, 32767);
        r.w[4 + i] = (uint16_t)sat((int32_t)s.d[i], -32768, 32767);
    }
    *d = r;
}

/* SDM 2B "PUNPCKLBW/..." and "PUNPCKHBW/...": interleave the low (high)
 * halves, destination lane first. lane is 1, 2, 4 or 8 bytes. */
static void unpack(struct cpu *c, const struct insn *in, unsigned lane, bool high)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    unsigned base = high ? 8 : 0;
    for (unsigned k = 0; k < 8 / lane; k++) {
        memcpy(&r.b[2 * k * lane], &d->b[base + k * lane], lane);
        memcpy(&r.b[(2 * k + 1) * lane], &s.b[base + k * lane], lane);
    }
    *d = r;
}

void op_punpcklbw(struct cpu *c, const struct insn *in) { unpack(c, in, 1, false); }
void op_punpcklwd(struct cpu *c, const struct insn *in) { unpack(c, in, 2, false); }
void op_punpckldq(struct cpu *c, const struct insn *in) { unpack(c, in, 4, false); }
void op_punpcklqdq(struct cpu *c, const struct insn *in) { unpack(c, in, 8, false); }
void op_punpckhbw(struct cpu *c, const struct insn *in) { unpack(c, in, 1, true); }
void op_punpckhwd(struct cpu *c, const struct insn *in) { unpack(c, in, 2, true); }
void op_punpckhdq(struct cpu *c, const struct insn *in) { unpack(c, in, 4, true); }
void op_punpckhqdq(struct cpu *c, const struct insn *in) { unpack(c, in, 8, true); }

/* SDM 2B "PSHUFD", "PSHUFHW", "PSHUFLW": lanes chosen by imm8 fields. */
void op_pshufd(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    for (unsigned i = 0; i < 4; i++)
        r.d[i] = s.d[(in->imm >> (2 * i)) & 3];
    *d = r;
}

void op_pshufhw(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    r.q[0] = s.q[0];
    for (unsigned i = 0; i < 4; i++)
        r.w[4 + i] = s.w[4 + ((in->imm >> (2 * i)) & 3)];
    *d = r;
}

void op_pshuflw(struct cpu *c, const struct insn *in)
{
    union xmm_reg s, r;
    union xmm_reg *d = sse2_operands(c, in, &s);
    r.q[1] = s.q[1];
    for (unsigned i = 0; i < 4; i++)
        r.w[i] = s.w[(in->imm >> (2 * i)) & 3];
    *d = r;
}

/* Shifts (SDM 2B "PSLLW/PSLLD/PSLLQ", "PSRAW/PSRAD", "PSRLW/PSRLD/PSRLQ"):
 * the count is imm8 (0F 71-73 forms, register destination in ModRM.rm) or
 * the whole low quadword of the source; a count above the lane width gives
 * zero (logical) or the sign (arithmetic). */
enum shift_kind { SH_LEFT, SH_RIGHT, SH_ARITH };

static void shift_lanes(union xmm_reg *d, unsigned lane, enum shift_kind k, uint64_t count)
{
    unsigned bits = lane * 8;
    for (unsigned i = 0; i < 16 / lane; i++) {
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
        shift_lanes(xmm_u(c, in), lane, k, in->imm & 0xff);
        return;
    }
    union xmm_reg s;
    sse_read_w(c, in, &s, 16, true);
    shift_lanes(xmm_v(c, in), lane, k, s.q[0]);
}

void op_psllw(struct cpu *c, const struct insn *in) { shift_op(c, in, 2, SH_LEFT); }
void op_pslld(struct cpu *c, const struct insn *in) { shift_op(c, in, 4, SH_LEFT); }
void op_psllq(struct cpu *c, const struct insn *in) { shift_op(c, in, 8, SH_LEFT); }
void op_psrlw(struct cpu *c, const struct insn *in) { shift_op(c, in, 2, SH_RIGHT); }
void op_psrld(struct cpu *c, const struct insn *in) { shift_op(c, in, 4, SH_RIGHT); }
void op_psrlq(struct cpu *c, const struct insn *in) { shift_op(c, in, 8, SH_RIGHT); }
void op_psraw(struct cpu *c, const struct insn *in) { shift_op(c, in, 2, SH_ARITH); }
void op_psrad(struct cpu *c, const struct insn *in) { shift_op(c, in, 4, SH_ARITH); }

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

/* SDM 2B "PINSRW": imm8[2:0] selects the word; a register source gives its
 * low word. "PEXTRW": the word, zero-extended into the GPR. */
void op_pinsrw(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    uint16_t v = (uint16_t)opnd_read(c, in, 1, 2);
    xmm_v(c, in)->w[in->imm & 7] = v;
}

void op_pextrw(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    reg_write(c, in->reg, 8, true, xmm_u(c, in)->w[in->imm & 7]);
}

/* SDM 2B "PMOVMSKB": the sign bit of each byte, zero-extended. */
void op_pmovmskb(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    const union xmm_reg *s = xmm_u(c, in);
    uint64_t m = 0;
    for (unsigned i = 0; i < 16; i++)
        m |= (uint64_t)(s->b[i] >> 7) << i;
    reg_write(c, in->reg, 8, true, m);
}
