/* Specialised exec handlers for the commonest SSE/SSE2 forms in 64-bit code:
 * 128-bit moves between XMM registers and memory, and the bitwise and
 * wrap-around integer operations. Each re-checks the SSE environment
 * (CR0.EM/TS, CR4.OSFXSR, the CPUID flag: they may change after the block
 * was decoded), the alignment of the aligned forms and the TLB hit; on
 * anything else it hands the instruction to cpu_exec_generic before any
 * state changes, so the reference handlers raise the faults. */
#include "fastpath.h"
#include "sse.h"
#include "opcodes_gen.h"

/* in->rm2: the CPUID flag the form needs (FPU_F_SSE or FPU_F_SSE2), and
 * RM2_ALIGNED for the forms whose 16-byte memory operand must be aligned. */
#define RM2_ALIGNED 0x80u

static inline bool sse_ready(const struct cpu *c, const struct insn *in)
{
    return !(c->cr0 & (CR0_EM | CR0_TS)) && (c->cr4 & CR4_OSFXSR) &&
           (c->fpu.features & (in->rm2 & ~RM2_ALIGNED));
}

/* Linear address of the memory operand (64-bit addressing). */
static inline uint64_t sse_lin(const struct cpu *c, const struct insn *in)
{
    uint64_t ea = (uint64_t)in->disp;
    if (in->base == REG_RIP)
        ea += next_rip(c, in);
    else if (in->base != REG_NONE)
        ea += c->gpr[in->base];
    if (in->index != REG_NONE)
        ea += c->gpr[in->index] << in->scale;
    return ea + (in->seg >= SEG_FS ? c->seg[in->seg].base : 0);
}

/* The host address of the 16-byte operand, or NULL (hand over). */
static inline uint8_t *sse_host(const struct cpu *c, const struct insn *in,
                                const struct tlb_entry *tlb)
{
    uint64_t lin = sse_lin(c, in);
    uint8_t *h;
    if (unlikely((in->rm2 & RM2_ALIGNED) && (lin & 15)))
        return NULL;
    if (unlikely(!tlb_host(tlb, lin, 16, &h)))
        return NULL;
    return h;
}

/* V <- m128 (fdst: V) */
static const struct insn *f_xmm_load(struct cpu *c, const struct insn *in)
{
    uint8_t *h;
    if (unlikely(!sse_ready(c, in) || !(h = sse_host(c, in, c->tlb_rd))))
        return cpu_exec_generic(c, in);
    memcpy(&c->fpu.xmm[in->fdst], h, 16);
    CPU_NEXT(c, in);
}

/* m128 <- V (fsrc: V) */
static const struct insn *f_xmm_store(struct cpu *c, const struct insn *in)
{
    uint8_t *h;
    if (unlikely(!sse_ready(c, in) || !(h = sse_host(c, in, c->tlb_wr))))
        return cpu_exec_generic(c, in);
    memcpy(h, &c->fpu.xmm[in->fsrc], 16);
    CPU_NEXT(c, in);
}

/* register to register (fdst <- fsrc) */
static const struct insn *f_xmm_mov_rr(struct cpu *c, const struct insn *in)
{
    if (unlikely(!sse_ready(c, in)))
        return cpu_exec_generic(c, in);
    c->fpu.xmm[in->fdst] = c->fpu.xmm[in->fsrc];
    CPU_NEXT(c, in);
}

/* Binary operations on the whole register: d = d OP s, lane-wise. */
#define LANES(t, n, expr)                                                                  \
    do {                                                                                   \
        t a_[n], b_[n];                                                                    \
        memcpy(a_, d, 16);                                                                 \
        memcpy(b_, s, 16);                                                                 \
        for (unsigned i = 0; i < (n); i++) {                                               \
            t a = a_[i], b = b_[i];                                                        \
            a_[i] = (t)(expr);                                                             \
        }                                                                                  \
        memcpy(d, a_, 16);                                                                 \
    } while (0)

#define BINOP(name, t, n, expr)                                                            \
    static inline void do_##name(union xmm_reg *d, const void *s)                         \
    {                                                                                      \
        LANES(t, n, expr);                                                                 \
    }                                                                                      \
    static const struct insn *f_##name##_rr(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        if (unlikely(!sse_ready(c, in)))                                                   \
            return cpu_exec_generic(c, in);                                                \
        do_##name(&c->fpu.xmm[in->fdst], &c->fpu.xmm[in->fsrc]);                           \
        CPU_NEXT(c, in);                                                                   \
    }                                                                                      \
    static const struct insn *f_##name##_rm(struct cpu *c, const struct insn *in)         \
    {                                                                                      \
        uint8_t *h;                                                                        \
        if (unlikely(!sse_ready(c, in) || !(h = sse_host(c, in, c->tlb_rd))))              \
            return cpu_exec_generic(c, in);                                                \
        do_##name(&c->fpu.xmm[in->fdst], h);                                               \
        CPU_NEXT(c, in);                                                                   \
    }

BINOP(pxor, uint64_t, 2, a ^ b)
BINOP(pand, uint64_t, 2, a & b)
BINOP(pandn, uint64_t, 2, ~a & b)
BINOP(por, uint64_t, 2, a | b)
BINOP(paddb, uint8_t, 16, a + b)
BINOP(paddw, uint16_t, 8, a + b)
BINOP(paddd, uint32_t, 4, a + b)
BINOP(paddq, uint64_t, 2, a + b)
BINOP(psubb, uint8_t, 16, a - b)
BINOP(psubw, uint16_t, 8, a - b)
BINOP(psubd, uint32_t, 4, a - b)
BINOP(psubq, uint64_t, 2, a - b)
BINOP(pcmpeqb, uint8_t, 16, a == b ? 0xff : 0)
BINOP(pcmpeqw, uint16_t, 8, a == b ? 0xffff : 0)
BINOP(pcmpeqd, uint32_t, 4, a == b ? 0xffffffffu : 0)

static const struct {
    insn_handler generic;
    insn_exec rr, rm;
    uint8_t feature;
} binops[] = {
#define B(n, f) { op_##n, f_##n##_rr, f_##n##_rm, f }
    B(pxor, FPU_F_SSE2),    B(pand, FPU_F_SSE2),    B(pandn, FPU_F_SSE2),
    B(por, FPU_F_SSE2),     B(paddb, FPU_F_SSE2),   B(paddw, FPU_F_SSE2),
    B(paddd, FPU_F_SSE2),   B(paddq, FPU_F_SSE2),   B(psubb, FPU_F_SSE2),
    B(psubw, FPU_F_SSE2),   B(psubd, FPU_F_SSE2),   B(psubq, FPU_F_SSE2),
    B(pcmpeqb, FPU_F_SSE2), B(pcmpeqw, FPU_F_SSE2), B(pcmpeqd, FPU_F_SSE2),
#undef B
    { op_xorps, f_pxor_rr, f_pxor_rm, FPU_F_SSE },  { op_xorpd, f_pxor_rr, f_pxor_rm, FPU_F_SSE2 },
    { op_andps, f_pand_rr, f_pand_rm, FPU_F_SSE },  { op_andpd, f_pand_rr, f_pand_rm, FPU_F_SSE2 },
    { op_orps, f_por_rr, f_por_rm, FPU_F_SSE },     { op_orpd, f_por_rr, f_por_rm, FPU_F_SSE2 },
};

/* 128-bit moves: handler, CPUID flag, aligned. */
static const struct {
    insn_handler generic;
    uint8_t feature;
    bool aligned;
} moves[] = {
    { op_movdqa, FPU_F_SSE2, true }, { op_movdqu, FPU_F_SSE2, false },
    { op_movaps, FPU_F_SSE, true },  { op_movups, FPU_F_SSE, false },
    { op_movapd, FPU_F_SSE2, true }, { op_movupd, FPU_F_SSE2, false },
};

bool cpu_specialize_sse(struct insn *in)
{
    if (in->addrsize != 8 || (in->opk[0] != OPK_XMM && in->opk[1] != OPK_XMM))
        return false;
    for (unsigned i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        if (in->handler != moves[i].generic)
            continue;
        in->rm2 = (uint8_t)(moves[i].feature | (moves[i].aligned ? RM2_ALIGNED : 0));
        bool load = in->opk[0] == OPK_XMM;
        if (in->mod == 3) {
            in->fdst = load ? in->reg : in->rm;
            in->fsrc = load ? in->rm : in->reg;
            in->exec = f_xmm_mov_rr;
        } else if (load) {
            in->fdst = in->reg;
            in->exec = f_xmm_load;
        } else {
            in->fsrc = in->reg;
            in->exec = f_xmm_store;
        }
        return true;
    }
    for (unsigned i = 0; i < sizeof binops / sizeof binops[0]; i++) {
        if (in->handler != binops[i].generic)
            continue;
        in->rm2 = (uint8_t)(binops[i].feature | RM2_ALIGNED);
        in->fdst = in->reg;
        in->fsrc = in->rm;
        in->exec = in->mod == 3 ? binops[i].rr : binops[i].rm;
        return true;
    }
    return false;
}
