/* SSE4.2 (SDM 2A "CRC32", 2B "PCMPGTQ", "PCMPESTRI", "PCMPESTRM",
 * "PCMPISTRI", "PCMPISTRM", and SDM 2B "Imm8 Control Byte Operation for
 * PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"). */
#include "cpu/simd_int.h"
#include "opcodes_gen.h"

SIMD_OP_XMM(pcmpgtq, FPU_F_SSE4_2, LANES_Q((int64_t)a > (int64_t)b ? ~0ull : 0))

/* SDM 2A "CRC32": CRC-32C (polynomial 11EDC6F41H) of the source bytes,
 * least significant first, accumulated in the destination, bit-reflected,
 * without the initial or final inversion. The destination is 32 bits (64
 * with REX.W: bits 63:32 are zero); the source is r/m8 (F0) or r/m16, r/m32,
 * r/m64 (F1 with 66, none, REX.W). Only CPUID.01H:ECX.SSE4_2 gates it (SDM
 * 3A "System Programming for Instruction Set Extensions": CR0.EM, CR0.TS and
 * CR4.OSFXSR do not affect CRC32). Flags are unchanged. */
void op_crc32(struct cpu *c, const struct insn *in)
{
    if (!(c->fpu.features & FPU_F_SSE4_2))
        cpu_fault(c, EXC_UD);
    unsigned size = in->opcode == 0xf0 ? 1 : (in->rex & 8) ? 8 : (in->pfx & PFX_OPSIZE) ? 2 : 4;
    uint64_t src;
    if (in->mod == 3)
        src = reg_read(c, in->rm, size, in->rex != 0);
    else
        src = cpu_read(c, in->seg, insn_ea(c, in), size);
    uint32_t crc = (uint32_t)c->gpr[in->reg];
    for (unsigned i = 0; i < size; i++) {
        crc ^= (uint8_t)(src >> (8 * i));
        for (unsigned k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    reg_write(c, in->reg, 4, true, crc);
}

/* ---- the string compares -------------------------------------------------- */

/* imm8[1:0]: the element format; imm8[3:2] the aggregation, imm8[5:4] the
 * polarity, imm8[6] the index or mask form. */
#define STR_WORDS 0x01u
#define STR_SIGNED 0x02u
enum str_agg { AGG_EQUAL_ANY = 0, AGG_RANGES = 1, AGG_EQUAL_EACH = 2, AGG_EQUAL_ORDERED = 3 };

static int64_t str_elem(const union xmm_reg *x, unsigned imm, unsigned i)
{
    switch (imm & 3) {
    case 0: return x->b[i];
    case 1: return x->w[i];
    case 2: return (int8_t)x->b[i];
    default: return (int16_t)x->w[i];
    }
}

/* Implicit length: the index of the first zero element, else the count. */
static unsigned str_ilen(const union xmm_reg *x, unsigned imm, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (str_elem(x, imm, i) == 0)
            return i;
    return count;
}

/* Explicit length: |rAX| or |rDX| (64 bits with REX.W, else 32), saturated to
 * the element count. */
static unsigned str_elen(const struct cpu *c, const struct insn *in, unsigned reg,
                         unsigned count)
{
    int64_t v = (in->rex & 8) ? (int64_t)c->gpr[reg] : (int64_t)(int32_t)c->gpr[reg];
    if (v > (int64_t)count || v < -(int64_t)count)
        return count;
    return (unsigned)(v < 0 ? -v : v);
}

/* SDM 2B Table "Overriding of BoolRes[i][j] in the Case of Invalid Data":
 * i indexes the first operand (xmm1), j the second (xmm2/m128). */
static bool str_override(bool res, bool i_valid, bool j_valid, enum str_agg agg)
{
    if (i_valid && j_valid)
        return res;
    if (!i_valid && !j_valid)
        return agg == AGG_EQUAL_EACH || agg == AGG_EQUAL_ORDERED;
    if (!i_valid) /* xmm1 invalid, xmm2 valid */
        return agg == AGG_EQUAL_ORDERED;
    return false;
}

/* IntRes2 of the compare of a (xmm1, length la) with b (xmm2/m128, lb). */
static unsigned str_compare(const union xmm_reg *a, unsigned la, const union xmm_reg *b,
                            unsigned lb, unsigned imm, unsigned count)
{
    enum str_agg agg = (enum str_agg)((imm >> 2) & 3);
    unsigned res = 0;
    for (unsigned j = 0; j < count; j++) {
        bool bit = false;
        int64_t bj = str_elem(b, imm, j);
        switch (agg) {
        case AGG_EQUAL_ANY:
            for (unsigned i = 0; i < count && !bit; i++)
                bit = str_override(str_elem(a, imm, i) == bj, i < la, j < lb, agg);
            break;
        case AGG_RANGES: /* a[i] <= b[j] <= a[i + 1], i even */
            for (unsigned i = 0; i < count && !bit; i += 2)
                bit = str_override(str_elem(a, imm, i) <= bj, i < la, j < lb, agg) &&
                      str_override(str_elem(a, imm, i + 1) >= bj, i + 1 < la, j < lb, agg);
            break;
        case AGG_EQUAL_EACH:
            bit = str_override(str_elem(a, imm, j) == bj, j < la, j < lb, agg);
            break;
        case AGG_EQUAL_ORDERED: /* a, as a substring of b, starting at j */
            bit = true;
            for (unsigned i = 0, k = j; k < count && bit; i++, k++)
                bit = str_override(str_elem(a, imm, i) == str_elem(b, imm, k), i < la, k < lb,
                                   agg);
            break;
        }
        res |= (unsigned)bit << j;
    }
    /* polarity: 01 negate all, 11 negate where xmm2/m128 is valid */
    unsigned all = (1u << count) - 1;
    if (((imm >> 4) & 3) == 1)
        res ^= all;
    else if (((imm >> 4) & 3) == 3)
        res ^= (1u << lb) - 1;
    return res & all;
}

/* The common part: operands, lengths, IntRes2 and the flags (CF = IntRes2
 * != 0, ZF = xmm2/m128 shorter than the register, SF = xmm1 shorter, OF =
 * IntRes2[0], AF = PF = 0). The memory operand need not be aligned. */
static unsigned pcmpstr(struct cpu *c, const struct insn *in, bool explicit_len, unsigned *count)
{
    union xmm_reg b;
    sse_check(c, FPU_F_SSE4_2);
    sse_read_w(c, in, &b, 16, false);
    const union xmm_reg *a = xmm_v(c, in);
    unsigned imm = (unsigned)in->imm & 0xff;
    unsigned n = (imm & STR_WORDS) ? 8 : 16;
    unsigned la = explicit_len ? str_elen(c, in, 0, n) : str_ilen(a, imm, n);
    unsigned lb = explicit_len ? str_elen(c, in, 2, n) : str_ilen(&b, imm, n);
    unsigned res = str_compare(a, la, &b, lb, imm, n);
    uint64_t fl = (res ? FL_CF : 0) | (lb < n ? FL_ZF : 0) | (la < n ? FL_SF : 0) |
                  ((res & 1) ? FL_OF : 0);
    flags_set_arith(c, fl);
    *count = n;
    return res;
}

/* xSTRI: ECX = the index of the least (imm8[6] = 0) or most significant set
 * bit of IntRes2, or the element count when none is set. */
static void pcmpstri(struct cpu *c, const struct insn *in, bool explicit_len)
{
    unsigned n, res = pcmpstr(c, in, explicit_len, &n);
    unsigned idx = n;
    if (res)
        idx = (in->imm & 0x40) ? 31u - (unsigned)__builtin_clz(res) : (unsigned)__builtin_ctz(res);
    reg_write(c, 1, 4, true, idx);
}

/* xSTRM: XMM0 = IntRes2 zero-extended (imm8[6] = 0) or expanded to a byte
 * or word mask (imm8[6] = 1). */
static void pcmpstrm(struct cpu *c, const struct insn *in, bool explicit_len)
{
    unsigned n, res = pcmpstr(c, in, explicit_len, &n);
    union xmm_reg m = { .q = { 0, 0 } };
    if (!(in->imm & 0x40))
        m.q[0] = res;
    else
        for (unsigned i = 0; i < n; i++)
            if ((res >> i) & 1)
                memset(&m.b[i * (16 / n)], 0xff, 16 / n);
    c->fpu.xmm[0] = m;
}

void op_pcmpestri(struct cpu *c, const struct insn *in) { pcmpstri(c, in, true); }
void op_pcmpistri(struct cpu *c, const struct insn *in) { pcmpstri(c, in, false); }
void op_pcmpestrm(struct cpu *c, const struct insn *in) { pcmpstrm(c, in, true); }
void op_pcmpistrm(struct cpu *c, const struct insn *in) { pcmpstrm(c, in, false); }
