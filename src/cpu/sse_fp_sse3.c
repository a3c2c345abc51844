/* SSE3 floating-point instructions (SDM 2A "ADDSUBPD", "ADDSUBPS", "HADDPD",
 * "HADDPS", "HSUBPD", "HSUBPS", "LDDQU", 2B "MOVDDUP", "MOVSHDUP",
 * "MOVSLDUP"): CPUID.01H:ECX.SSE3[bit 0]. The arithmetic ones follow the
 * MXCSR rules of sse_fp_mxcsr.c, element by element. */
#include "cpu/sse_fp.h"
#include "opcodes_gen.h"

/* One result element: op on two elements, which may come from either
 * operand. */
struct hpair {
    uint8_t op;     /* enum ssefp_op: SSEFP_ADD or SSEFP_SUB */
    uint8_t a_src;  /* 0: destination, 1: source */
    uint8_t a_idx;
    uint8_t b_src;
    uint8_t b_idx;
};

static void pairwise(struct cpu *c, const struct insn *in, enum ssefp_fmt fmt,
                     const struct hpair *p)
{
    sse_check(c, FPU_F_SSE3);
    union xmm_reg ops[2], r;
    ops[0] = *xmm_v(c, in);
    sse_read_w(c, in, &ops[1], 16, true);
    unsigned n = fmt == SSEFP_S ? 4 : 2;
    uint32_t fl = 0, mx = c->fpu.mxcsr;
    for (unsigned i = 0; i < n; i++) {
        uint32_t f;
        uint64_t a = ssefp_get(&ops[p[i].a_src], fmt, p[i].a_idx);
        uint64_t b = ssefp_get(&ops[p[i].b_src], fmt, p[i].b_idx);
        ssefp_set(&r, fmt, i, ssefp_elem(mx, (enum ssefp_op)p[i].op, fmt, a, b, &f));
        fl |= f;
    }
    ssefp_finish(c, fl);
    *xmm_v(c, in) = r;
}

#define A SSEFP_ADD
#define S SSEFP_SUB
void op_addsubps(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[4] = {{S, 0, 0, 1, 0}, {A, 0, 1, 1, 1}, {S, 0, 2, 1, 2}, {A, 0, 3, 1, 3}};
    pairwise(c, in, SSEFP_S, p);
}
void op_addsubpd(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[2] = {{S, 0, 0, 1, 0}, {A, 0, 1, 1, 1}};
    pairwise(c, in, SSEFP_D, p);
}
void op_haddps(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[4] = {{A, 0, 0, 0, 1}, {A, 0, 2, 0, 3}, {A, 1, 0, 1, 1}, {A, 1, 2, 1, 3}};
    pairwise(c, in, SSEFP_S, p);
}
void op_haddpd(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[2] = {{A, 0, 0, 0, 1}, {A, 1, 0, 1, 1}};
    pairwise(c, in, SSEFP_D, p);
}
void op_hsubps(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[4] = {{S, 0, 0, 0, 1}, {S, 0, 2, 0, 3}, {S, 1, 0, 1, 1}, {S, 1, 2, 1, 3}};
    pairwise(c, in, SSEFP_S, p);
}
void op_hsubpd(struct cpu *c, const struct insn *in)
{
    static const struct hpair p[2] = {{S, 0, 0, 0, 1}, {S, 1, 0, 1, 1}};
    pairwise(c, in, SSEFP_D, p);
}
#undef A
#undef S

/* MOVSLDUP/MOVSHDUP: even/odd single elements duplicated (16 aligned
 * bytes from memory); MOVDDUP: the low quadword twice (8 bytes, any
 * alignment). */
static void dup32(struct cpu *c, const struct insn *in, unsigned odd)
{
    sse_check(c, FPU_F_SSE3);
    union xmm_reg s, r;
    sse_read_w(c, in, &s, 16, true);
    r.d[0] = r.d[1] = s.d[odd];
    r.d[2] = r.d[3] = s.d[2 + odd];
    *xmm_v(c, in) = r;
}

void op_movsldup(struct cpu *c, const struct insn *in) { dup32(c, in, 0); }
void op_movshdup(struct cpu *c, const struct insn *in) { dup32(c, in, 1); }

void op_movddup(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE3);
    union xmm_reg s;
    sse_read_w(c, in, &s, 8, false);
    s.q[1] = s.q[0];
    *xmm_v(c, in) = s;
}

/* LDDQU: a 16-byte load with no alignment requirement. */
void op_lddqu(struct cpu *c, const struct insn *in)
{
    sse_check(c, FPU_F_SSE3);
    union xmm_reg s;
    sse_read_mem(c, in, &s, 16, false);
    *xmm_v(c, in) = s;
}
