/* SSE/SSE2 data movement, and the logical and shuffle instructions on packed
 * single/double values, which raise no floating-point exception (SDM 2A/2B
 * instruction pages). Destination first in every row: V = ModRM.reg, W =
 * ModRM.rm register or memory. */
#include "cpu/sse.h"
#include "opcodes_gen.h"

/* Full 128-bit move in either direction (0F 10/11, 28/29, 6F/7F). */
static void move128(struct cpu *c, const struct insn *in, uint32_t feature, bool aligned)
{
    sse_check(c, feature);
    if (in->opk[0] == OPK_XMM) { /* load form: V <- W */
        union xmm_reg s;
        sse_read_w(c, in, &s, 16, aligned);
        *xmm_v(c, in) = s;
    } else if (in->mod == 3) { /* store form, register destination */
        *xmm_u(c, in) = *xmm_v(c, in);
    } else {
        sse_write_mem(c, in, xmm_v(c, in), 16, aligned);
    }
}

/* SDM 2B "MOVUPS"/"MOVUPD"/"MOVDQU": no alignment requirement;
 * "MOVAPS"/"MOVAPD"/"MOVDQA": #GP(0) if the memory operand is misaligned. */
void op_movups(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE, false); }
void op_movupd(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, false); }
void op_movdqu(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, false); }
void op_movaps(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE, true); }
void op_movapd(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, true); }
void op_movdqa(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, true); }

/* SDM 2B "MOVNTPS", "MOVNTPD", "MOVNTDQ": aligned 128-bit stores (the
 * non-temporal hint has no architectural effect). */
void op_movntps(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE, true); }
void op_movntpd(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, true); }
void op_movntdq(struct cpu *c, const struct insn *in) { move128(c, in, FPU_F_SSE2, true); }

/* SDM 2B "MOVNTI": a GPR store, SSE2. */
void op_movnti(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    cpu_write(c, in->seg, insn_ea(c, in), in->opsize, reg_read(c, in->reg, in->opsize, true));
}

/* SDM 2B "MOVSS"/"MOVSD": a register source merges the low element; a
 * memory source zeroes the rest of the destination; a store writes the low
 * element only. size is 4 or 8. */
static void move_scalar(struct cpu *c, const struct insn *in, uint32_t feature, unsigned size)
{
    sse_check(c, feature);
    union xmm_reg *v = xmm_v(c, in);
    if (in->opk[0] == OPK_XMM) {
        if (in->mod == 3) {
            memcpy(v->b, xmm_u(c, in)->b, size);
        } else {
            union xmm_reg s;
            sse_read_mem(c, in, &s, size, false);
            *v = s;
        }
    } else if (in->mod == 3) {
        memcpy(xmm_u(c, in)->b, v->b, size);
    } else {
        sse_write_mem(c, in, v, size, false);
    }
}

void op_movss(struct cpu *c, const struct insn *in) { move_scalar(c, in, FPU_F_SSE, 4); }
void op_movsd_x(struct cpu *c, const struct insn *in) { move_scalar(c, in, FPU_F_SSE2, 8); }

/* Half-register moves with memory (SDM 2B "MOVLPS", "MOVLPD", "MOVHPS",
 * "MOVHPD"): a load replaces one quadword, a store writes one. */
static void move_half(struct cpu *c, const struct insn *in, uint32_t feature, unsigned half)
{
    sse_check(c, feature);
    union xmm_reg *v = xmm_v(c, in);
    if (in->opk[0] == OPK_XMM)
        v->q[half] = cpu_read(c, in->seg, insn_ea(c, in), 8);
    else
        cpu_write(c, in->seg, insn_ea(c, in), 8, v->q[half]);
}

void op_movlps(struct cpu *c, const struct insn *in) { move_half(c, in, FPU_F_SSE, 0); }
void op_movlpd(struct cpu *c, const struct insn *in) { move_half(c, in, FPU_F_SSE2, 0); }
void op_movhps(struct cpu *c, const struct insn *in) { move_half(c, in, FPU_F_SSE, 1); }
void op_movhpd(struct cpu *c, const struct insn *in) { move_half(c, in, FPU_F_SSE2, 1); }

/* SDM 2B "MOVHLPS": high quadword of the source to the low one of the
 * destination; "MOVLHPS": low quadword of the source to the high one. */
void op_movhlps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    xmm_v(c, in)->q[0] = xmm_u(c, in)->q[1];
}

void op_movlhps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    xmm_v(c, in)->q[1] = xmm_u(c, in)->q[0];
}

/* SDM 2B "MOVD/MOVQ" (66 0F 6E/7E): a GPR or memory doubleword (quadword
 * with REX.W) to the low element, zero-extended, or back. */
void op_movd_x(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    unsigned size = in->opsize == 8 ? 8 : 4;
    union xmm_reg *v = xmm_v(c, in);
    if (in->opk[0] == OPK_XMM) {
        uint64_t x = opnd_read(c, in, 1, size);
        v->q[0] = x;
        v->q[1] = 0;
    } else {
        opnd_write(c, in, 0, size, v->q[0] & size_mask(size));
    }
}

/* SDM 2B "MOVQ" (F3 0F 7E load, 66 0F D6 store): the low quadword; the
 * destination's high quadword is zeroed when it is a register. */
void op_movq_x(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    if (in->opk[0] == OPK_XMM) {
        union xmm_reg s;
        sse_read_w(c, in, &s, 8, false);
        xmm_v(c, in)->q[0] = s.q[0];
        xmm_v(c, in)->q[1] = 0;
    } else if (in->mod == 3) {
        union xmm_reg *u = xmm_u(c, in);
        u->q[0] = xmm_v(c, in)->q[0];
        u->q[1] = 0;
    } else {
        cpu_write(c, in->seg, insn_ea(c, in), 8, xmm_v(c, in)->q[0]);
    }
}

/* SDM 2B "MOVMSKPS", "MOVMSKPD": the sign bits, zero-extended into a GPR. */
void op_movmskps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    const union xmm_reg *s = xmm_u(c, in);
    uint64_t m = 0;
    for (unsigned i = 0; i < 4; i++)
        m |= (uint64_t)(s->d[i] >> 31) << i;
    reg_write(c, in->reg, 8, true, m);
}

void op_movmskpd(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    const union xmm_reg *s = xmm_u(c, in);
    reg_write(c, in->reg, 8, true, (s->q[0] >> 63) | ((s->q[1] >> 63) << 1));
}

/* SDM 2B "MASKMOVDQU": bytes of the first operand whose mask byte (second
 * operand) has bit 7 set are stored at DS:rDI (segment override allowed).
 * Every selected byte is checked before any is written. */
void op_maskmovdqu(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    const union xmm_reg *v = xmm_v(c, in), *mask = xmm_u(c, in);
    uint64_t di = c->gpr[7] & size_mask(in->addrsize);
    for (unsigned i = 0; i < 16; i++)
        if (mask->b[i] & 0x80)
            cpu_probe_write(c, in->seg, (di + i) & size_mask(in->addrsize), 1);
    for (unsigned i = 0; i < 16; i++)
        if (mask->b[i] & 0x80)
            cpu_write(c, in->seg, (di + i) & size_mask(in->addrsize), 1, v->b[i]);
}

/* Bitwise operations (SDM 2A "ANDPS", "ANDPD", "ANDNPS", "ANDNPD", 2B
 * "ORPS", "ORPD", "XORPS", "XORPD"): on the bits, no exceptions. */
enum bitop { B_AND, B_ANDN, B_OR, B_XOR };

static void bitwise(struct cpu *c, const struct insn *in, uint32_t feature, enum bitop op)
{
    sse_check(c, feature);
    union xmm_reg s, *d = xmm_v(c, in);
    sse_read_w(c, in, &s, 16, true);
    for (unsigned i = 0; i < 2; i++) {
        uint64_t a = d->q[i], b = s.q[i];
        d->q[i] = op == B_AND ? a & b : op == B_ANDN ? ~a & b : op == B_OR ? a | b : a ^ b;
    }
}

void op_andps(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE, B_AND); }
void op_andpd(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE2, B_AND); }
void op_andnps(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE, B_ANDN); }
void op_andnpd(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE2, B_ANDN); }
void op_orps(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE, B_OR); }
void op_orpd(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE2, B_OR); }
void op_xorps(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE, B_XOR); }
void op_xorpd(struct cpu *c, const struct insn *in) { bitwise(c, in, FPU_F_SSE2, B_XOR); }

/* SDM 2B "UNPCKLPS/UNPCKHPS" (doublewords), "UNPCKLPD/UNPCKHPD" (quadwords):
 * interleave the low (high) halves, destination element first. */
static void unpack_fp(struct cpu *c, const struct insn *in, uint32_t feature, unsigned lane,
                      bool high)
{
    sse_check(c, feature);
    union xmm_reg s, r, *d = xmm_v(c, in);
    sse_read_w(c, in, &s, 16, true);
    unsigned base = high ? 8 : 0;
    for (unsigned k = 0; k < 8 / lane; k++) {
        memcpy(&r.b[2 * k * lane], &d->b[base + k * lane], lane);
        memcpy(&r.b[(2 * k + 1) * lane], &s.b[base + k * lane], lane);
    }
    *d = r;
}

void op_unpcklps(struct cpu *c, const struct insn *in) { unpack_fp(c, in, FPU_F_SSE, 4, false); }
void op_unpckhps(struct cpu *c, const struct insn *in) { unpack_fp(c, in, FPU_F_SSE, 4, true); }
void op_unpcklpd(struct cpu *c, const struct insn *in) { unpack_fp(c, in, FPU_F_SSE2, 8, false); }
void op_unpckhpd(struct cpu *c, const struct insn *in) { unpack_fp(c, in, FPU_F_SSE2, 8, true); }

/* SDM 2B "SHUFPS": two elements of the destination, then two of the
 * source, selected by imm8 fields; "SHUFPD": imm8[0] and imm8[1]. */
void op_shufps(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE);
    union xmm_reg s, r, *d = xmm_v(c, in);
    sse_read_w(c, in, &s, 16, true);
    unsigned imm = (unsigned)in->imm;
    r.d[0] = d->d[imm & 3];
    r.d[1] = d->d[(imm >> 2) & 3];
    r.d[2] = s.d[(imm >> 4) & 3];
    r.d[3] = s.d[(imm >> 6) & 3];
    *d = r;
}

void op_shufpd(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE2);
    union xmm_reg s, r, *d = xmm_v(c, in);
    sse_read_w(c, in, &s, 16, true);
    r.q[0] = d->q[in->imm & 1];
    r.q[1] = s.q[(in->imm >> 1) & 1];
    *d = r;
}
