/* Difftest generator for integer SIMD (--isa simd): MMX (every form on MMX
 * registers, EMMS, MOVQ2DQ/MOVDQ2Q), SSSE3 (XMM and MMX forms), the integer
 * instructions of SSE4.1, SSE4.2 (PCMPGTQ, the string compares with every
 * imm8, CRC32 of every operand size), from their SDM Vol. 2 forms. The MMX
 * registers are compared as the x87 significands, with TOP and the empty
 * tags (docs/difftest.md). */
#include "gen_internal.h"

#include <string.h>

enum simd_kind {
    K_PQ,    /* mm, mm/m64 (m32 with size 4) */
    K_PQ_I,  /* mm, mm/m64, imm8 */
    K_N_I,   /* /digit mm, imm8 */
    K_PE,    /* mm, r/m32 or r/m64 (REX.W) */
    K_EP,    /* r/m32 or r/m64, mm */
    K_MP,    /* m64, mm */
    K_MASKQ, /* MASKMOVQ mm, mm: DS:rDI */
    K_GN,    /* r32/r64, mm */
    K_GN_I,  /* r32/r64, mm, imm8 */
    K_PEW_I, /* mm, r32/m16, imm8 */
    K_VN,    /* xmm, mm (register only) */
    K_PU,    /* mm, xmm (register only) */
    K_NONE,  /* no operand (EMMS) */
    K_VW,    /* xmm, xmm/m (size, align) */
    K_VW_I,  /* xmm, xmm/m, imm8 */
    K_VM,    /* xmm, m128 */
    K_EV_I,  /* r/m, xmm, imm8 (PEXTRB/W/D/Q: size) */
    K_VE_I,  /* xmm, r/m, imm8 (PINSRB/D/Q: size) */
    K_STR,   /* PCMPxSTRx xmm, xmm/m128, imm8: writes ECX (I forms) */
    K_CRC,   /* CRC32 r32/r64, r/m8 (op F0) or r/m16/32/64 (F1) */
};

struct simd_form {
    const char *mnem;
    uint8_t pfx;   /* mandatory prefix: 0, 0x66, 0xf2, 0xf3 */
    uint8_t map;   /* 1: 0F, 2: 0F 38, 3: 0F 3A */
    uint8_t op;
    uint8_t kind;  /* enum simd_kind */
    uint8_t size;  /* memory operand size */
    uint8_t align; /* 16: aligned form */
    uint8_t digit; /* K_N_I */
};

#define MM(X, m, op) X(m, 0, 1, op, K_PQ, 8, 0, 0)
#define MM3(X, m, op) X(m, 0, 2, op, K_PQ, 8, 0, 0) X(m, 0x66, 2, op, K_VW, 16, 16, 0)
#define X38(X, m, op) X(m, 0x66, 2, op, K_VW, 16, 16, 0)
#define PMOV(X, m, op, s) X(m, 0x66, 2, op, K_VW, s, 0, 0)
#define SIMD_FORMS(X)                                                                      \
    X("EMMS", 0, 1, 0x77, K_NONE, 0, 0, 0)                                                 \
    X("MOVD", 0, 1, 0x6e, K_PE, 4, 0, 0)                                                   \
    X("MOVD", 0, 1, 0x7e, K_EP, 4, 0, 0)                                                   \
    X("MOVQ", 0, 1, 0x6f, K_PQ, 8, 0, 0)                                                   \
    X("MOVQ", 0, 1, 0x7f, K_PQ, 8, 0, 1)                                                   \
    X("MOVNTQ", 0, 1, 0xe7, K_MP, 8, 0, 0)                                                 \
    X("MASKMOVQ", 0, 1, 0xf7, K_MASKQ, 8, 0, 0)                                            \
    X("MOVQ2DQ", 0xf3, 1, 0xd6, K_VN, 0, 0, 0)                                             \
    X("MOVDQ2Q", 0xf2, 1, 0xd6, K_PU, 0, 0, 0)                                             \
    X("PUNPCKLBW", 0, 1, 0x60, K_PQ, 4, 0, 0)                                              \
    X("PUNPCKLWD", 0, 1, 0x61, K_PQ, 4, 0, 0)                                              \
    X("PUNPCKLDQ", 0, 1, 0x62, K_PQ, 4, 0, 0)                                              \
    MM(X, "PACKSSWB", 0x63) MM(X, "PCMPGTB", 0x64) MM(X, "PCMPGTW", 0x65) MM(X, "PCMPGTD", 0x66)       \
    MM(X, "PACKUSWB", 0x67) MM(X, "PUNPCKHBW", 0x68) MM(X, "PUNPCKHWD", 0x69)                       \
    MM(X, "PUNPCKHDQ", 0x6a) MM(X, "PACKSSDW", 0x6b) MM(X, "PCMPEQB", 0x74) MM(X, "PCMPEQW", 0x75)     \
    MM(X, "PCMPEQD", 0x76) MM(X, "PSRLW", 0xd1) MM(X, "PSRLD", 0xd2) MM(X, "PSRLQ", 0xd3)              \
    MM(X, "PADDQ", 0xd4) MM(X, "PMULLW", 0xd5) MM(X, "PSUBUSB", 0xd8) MM(X, "PSUBUSW", 0xd9)           \
    MM(X, "PMINUB", 0xda) MM(X, "PAND", 0xdb) MM(X, "PADDUSB", 0xdc) MM(X, "PADDUSW", 0xdd)            \
    MM(X, "PMAXUB", 0xde) MM(X, "PANDN", 0xdf) MM(X, "PAVGB", 0xe0) MM(X, "PSRAW", 0xe1)               \
    MM(X, "PSRAD", 0xe2) MM(X, "PAVGW", 0xe3) MM(X, "PMULHUW", 0xe4) MM(X, "PMULHW", 0xe5)             \
    MM(X, "PSUBSB", 0xe8) MM(X, "PSUBSW", 0xe9) MM(X, "PMINSW", 0xea) MM(X, "POR", 0xeb)               \
    MM(X, "PADDSB", 0xec) MM(X, "PADDSW", 0xed) MM(X, "PMAXSW", 0xee) MM(X, "PXOR", 0xef)              \
    MM(X, "PSLLW", 0xf1) MM(X, "PSLLD", 0xf2) MM(X, "PSLLQ", 0xf3) MM(X, "PMULUDQ", 0xf4)              \
    MM(X, "PMADDWD", 0xf5) MM(X, "PSADBW", 0xf6) MM(X, "PSUBB", 0xf8) MM(X, "PSUBW", 0xf9)             \
    MM(X, "PSUBD", 0xfa) MM(X, "PSUBQ", 0xfb) MM(X, "PADDB", 0xfc) MM(X, "PADDW", 0xfd)                \
    MM(X, "PADDD", 0xfe)                                                                      \
    X("PSRLW", 0, 1, 0x71, K_N_I, 0, 0, 2) X("PSRAW", 0, 1, 0x71, K_N_I, 0, 0, 4)          \
    X("PSLLW", 0, 1, 0x71, K_N_I, 0, 0, 6) X("PSRLD", 0, 1, 0x72, K_N_I, 0, 0, 2)          \
    X("PSRAD", 0, 1, 0x72, K_N_I, 0, 0, 4) X("PSLLD", 0, 1, 0x72, K_N_I, 0, 0, 6)          \
    X("PSRLQ", 0, 1, 0x73, K_N_I, 0, 0, 2) X("PSLLQ", 0, 1, 0x73, K_N_I, 0, 0, 6)          \
    X("PSHUFW", 0, 1, 0x70, K_PQ_I, 8, 0, 0)                                               \
    X("PINSRW", 0, 1, 0xc4, K_PEW_I, 2, 0, 0)                                              \
    X("PEXTRW", 0, 1, 0xc5, K_GN_I, 0, 0, 0)                                               \
    X("PMOVMSKB", 0, 1, 0xd7, K_GN, 0, 0, 0)                                               \
    MM3(X, "PSHUFB", 0x00) MM3(X, "PHADDW", 0x01) MM3(X, "PHADDD", 0x02) MM3(X, "PHADDSW", 0x03)       \
    MM3(X, "PMADDUBSW", 0x04) MM3(X, "PHSUBW", 0x05) MM3(X, "PHSUBD", 0x06) MM3(X, "PHSUBSW", 0x07)    \
    MM3(X, "PSIGNB", 0x08) MM3(X, "PSIGNW", 0x09) MM3(X, "PSIGND", 0x0a) MM3(X, "PMULHRSW", 0x0b)      \
    MM3(X, "PABSB", 0x1c) MM3(X, "PABSW", 0x1d) MM3(X, "PABSD", 0x1e)                               \
    X("PALIGNR", 0, 3, 0x0f, K_PQ_I, 8, 0, 0)                                              \
    X("PALIGNR", 0x66, 3, 0x0f, K_VW_I, 16, 16, 0)                                         \
    X38(X, "PBLENDVB", 0x10) X38(X, "PTEST", 0x17) X38(X, "PMULDQ", 0x28) X38(X, "PCMPEQQ", 0x29)      \
    X38(X, "PACKUSDW", 0x2b) X38(X, "PCMPGTQ", 0x37) X38(X, "PMINSB", 0x38) X38(X, "PMINSD", 0x39)     \
    X38(X, "PMINUW", 0x3a) X38(X, "PMINUD", 0x3b) X38(X, "PMAXSB", 0x3c) X38(X, "PMAXSD", 0x3d)        \
    X38(X, "PMAXUW", 0x3e) X38(X, "PMAXUD", 0x3f) X38(X, "PMULLD", 0x40) X38(X, "PHMINPOSUW", 0x41)    \
    PMOV(X, "PMOVSXBW", 0x20, 8) PMOV(X, "PMOVSXBD", 0x21, 4) PMOV(X, "PMOVSXBQ", 0x22, 2)          \
    PMOV(X, "PMOVSXWD", 0x23, 8) PMOV(X, "PMOVSXWQ", 0x24, 4) PMOV(X, "PMOVSXDQ", 0x25, 8)          \
    PMOV(X, "PMOVZXBW", 0x30, 8) PMOV(X, "PMOVZXBD", 0x31, 4) PMOV(X, "PMOVZXBQ", 0x32, 2)          \
    PMOV(X, "PMOVZXWD", 0x33, 8) PMOV(X, "PMOVZXWQ", 0x34, 4) PMOV(X, "PMOVZXDQ", 0x35, 8)          \
    X("MOVNTDQA", 0x66, 2, 0x2a, K_VM, 16, 16, 0)                                          \
    X("PBLENDW", 0x66, 3, 0x0e, K_VW_I, 16, 16, 0)                                         \
    X("MPSADBW", 0x66, 3, 0x42, K_VW_I, 16, 16, 0)                                         \
    X("PEXTRB", 0x66, 3, 0x14, K_EV_I, 1, 0, 0)                                            \
    X("PEXTRW", 0x66, 3, 0x15, K_EV_I, 2, 0, 0)                                            \
    X("PEXTRD", 0x66, 3, 0x16, K_EV_I, 4, 0, 0)                                            \
    X("PEXTRQ", 0x66, 3, 0x16, K_EV_I, 8, 0, 0)                                            \
    X("PINSRB", 0x66, 3, 0x20, K_VE_I, 1, 0, 0)                                            \
    X("PINSRD", 0x66, 3, 0x22, K_VE_I, 4, 0, 0)                                            \
    X("PINSRQ", 0x66, 3, 0x22, K_VE_I, 8, 0, 0)                                            \
    X("PCMPESTRM", 0x66, 3, 0x60, K_STR, 16, 0, 0)                                         \
    X("PCMPESTRI", 0x66, 3, 0x61, K_STR, 16, 0, 0)                                         \
    X("PCMPISTRM", 0x66, 3, 0x62, K_STR, 16, 0, 0)                                         \
    X("PCMPISTRI", 0x66, 3, 0x63, K_STR, 16, 0, 0)                                         \
    X("CRC32", 0xf2, 2, 0xf0, K_CRC, 1, 0, 0)                                              \
    X("CRC32", 0xf2, 2, 0xf1, K_CRC, 4, 0, 0)

#define FORM(m, p, mp, o, k, s, a, d) {m, p, mp, o, k, s, a, d},
static const struct simd_form forms[] = {SIMD_FORMS(FORM)};
#undef FORM
#define NFORMS (sizeof forms / sizeof forms[0])

static void simd_start(struct gctx *g, struct enc *e, const struct simd_form *f)
{
    memset(e, 0, sizeof *e);
    e->mand = f->pfx;
    enc_op(e, 0x0f);
    if (f->map == 2)
        enc_op(e, 0x38);
    else if (f->map == 3)
        enc_op(e, 0x3a);
    enc_op(e, f->op);
    if (g_chance(g, 8))
        e->rex_force = true; /* an empty REX must change nothing */
}

static void simd_mem(struct gctx *g, struct enc *e, const struct simd_form *f, unsigned size)
{
    g->mem_align = f->align;
    g_mem(g, e, size, 0, 0);
    g->mem_align = 0;
}

/* An MMX register in ModRM.reg / ModRM.rm; r of 8-15 sets REX.R / REX.B,
 * which do not extend MMX register numbers (SDM 2A "REX Prefixes"). */
static void mm_reg(struct enc *e, unsigned r) { enc_reg(e, r); }
static void mm_rm(struct enc *e, unsigned r) { enc_rm_reg(e, r); }

/* An MMX register number 0-15: in the 0F 38 / 0F 3A maps only one in eight
 * has the REX bit, since Unicorn's deviation there skips those cases. */
static unsigned mm_pick(struct gctx *g, const struct simd_form *f)
{
    unsigned r = g_below(g, 8);
    if (f->map == 1 ? g_chance(g, 2) : g_chance(g, 8))
        r |= 8;
    return r;
}

/* The string compares' imm8: format, aggregation, polarity, index/mask. */
static uint64_t str_imm(struct gctx *g)
{
    uint64_t imm = dt_rand(g->r) & 0x7f; /* imm8[7] is reserved */
    /* equal ordered (imm8[3:2] = 11B) is on the exception list: rarely */
    if ((imm & 0x0c) == 0x0c && !g_chance(g, 4))
        imm &= ~0x04ull;
    return imm;
}

/* PCMPESTRx: MOV EAX, imm32 and MOV EDX, imm32 (or the REX.W forms,
 * sign-extended) before the instruction, the lengths from a set around
 * the element counts. Unicorn 2.0.1 takes only the low 32 bits of RAX/RDX
 * with REX.W, and crashes on a low doubleword of 80000000H (abs of INT_MIN
 * is negative in its length helper): the values avoid both, and
 * tests/unit/test_simd.c checks the 64-bit lengths. */
static bool explicit_lengths(struct gctx *g, bool w)
{
    static const int32_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 100,
                                   -1, -3, -8, -9, -16, -17, 0x7fffffff, -0x7fffffff};
    if (!g_can_write(g, R_RAX) || !g_can_write(g, R_RDX))
        return false;
    for (unsigned r = 0; r < 2; r++) {
        struct enc m;
        memset(&m, 0, sizeof m);
        if (w || g_chance(g, 2))
            m.rex = REX_W;
        enc_op(&m, 0xc7);
        enc_rm_reg(&m, r == 0 ? R_RAX : R_RDX);
        enc_imm(&m, 4, (uint32_t)lens[g_below(g, sizeof lens / sizeof lens[0])]);
        struct dt_insn *in = g_emit(g, &m, "MOV", 0, 0, 0);
        if (r)
            in->info |= DTI_GLUED;
    }
    return true;
}

static bool gen_form(struct gctx *g, const struct simd_form *f)
{
    struct enc e;
    uint32_t wr = 0;
    simd_start(g, &e, f);
    switch (f->kind) {
    case K_NONE:
        break;
    case K_PQ: case K_PQ_I:
        mm_reg(&e, mm_pick(g, f));
        if (g_chance(g, 2))
            mm_rm(&e, mm_pick(g, f));
        else /* PUNPCKL* mm, m32: Unicorn 2.0.1 reads 8 bytes, so 8 are mapped */
            simd_mem(g, &e, f, f->size < 8 ? 8 : f->size);
        if (f->kind == K_PQ_I)
            enc_imm(&e, 1, f->op == 0x0f ? g_below(g, 20) : dt_rand(g->r) & 0xff);
        break;
    case K_N_I:
        g_vec_shift_imm(g, &e, f->digit, 16);
        break;
    case K_PE: case K_EP:
        return g_vec_movd(g, &e, 8, f->kind == K_EP);
    case K_MP:
        mm_reg(&e, mm_pick(g, f));
        simd_mem(g, &e, f, 8);
        break;
    case K_MASKQ: /* DS:rDI, rDI a data address (the string registers) */
        mm_reg(&e, mm_pick(g, f));
        mm_rm(&e, mm_pick(g, f));
        break;
    case K_GN: case K_GN_I:
        if (!g_vec_to_gpr(g, &e, 8, f->kind == K_GN_I))
            return false;
        break;
    case K_PEW_I:
        if (!g_vec_insert_word(g, &e, 8))
            return false;
        break;
    case K_VN:
        enc_reg(&e, g_below(g, 16));
        mm_rm(&e, mm_pick(g, f));
        break;
    case K_PU:
        mm_reg(&e, mm_pick(g, f));
        enc_rm_reg(&e, g_below(g, 16));
        break;
    case K_STR:
        if (g_chance(g, 4))
            e.rex |= REX_W; /* 64-bit lengths in RAX/RDX (explicit forms) */
        if (!(f->op & 2) && !explicit_lengths(g, (e.rex & REX_W) != 0))
            return false;
        /* fall through */
    case K_VW: case K_VW_I:
        if (f->kind == K_STR && (f->op & 1) && !g_can_write(g, R_RCX))
            return false; /* the I forms write ECX */
        enc_reg(&e, g_below(g, 16));
        if (g_chance(g, 2))
            enc_rm_reg(&e, g_below(g, 16));
        else
            simd_mem(g, &e, f, f->size);
        if (f->kind == K_STR) {
            enc_imm(&e, 1, str_imm(g));
            wr = DT_ALL6;
        } else if (f->kind == K_VW_I) {
            enc_imm(&e, 1, f->op == 0x0f ? g_below(g, 40) : dt_rand(g->r) & 0xff);
        }
        if (f->op == 0x17 && f->map == 2) /* PTEST */
            wr = DT_ALL6;
        break;
    case K_VM:
        enc_reg(&e, g_below(g, 16));
        simd_mem(g, &e, f, 16);
        break;
    case K_EV_I: case K_VE_I: {
        if (f->size == 8)
            e.rex |= REX_W;
        enc_reg(&e, g_below(g, 16));
        unsigned gsz = f->size == 8 ? 8 : 4;
        int rm = g_rm(g, &e, gsz, f->kind == K_EV_I, true, false, true);
        if (rm == -2 || g_chance(g, 2)) {
            /* memory form: f->size bytes */
            simd_start(g, &e, f);
            if (f->size == 8)
                e.rex |= REX_W;
            enc_reg(&e, g_below(g, 16));
            g_mem(g, &e, f->size, 0, 0);
        }
        enc_imm(&e, 1, dt_rand(g->r) & 0xff);
        break;
    }
    case K_CRC: {
        unsigned dsz = g_chance(g, 2) ? 8 : 4, ssz = f->op == 0xf0 ? 1 : g_chance(g, 3) ? 2 : dsz;
        if (dsz == 8)
            e.rex |= REX_W;
        if (ssz == 2)
            enc_pfx(&e, 0x66);
        if (ssz == 2 && dsz == 8 && f->op == 0xf1)
            ssz = 8; /* REX.W beats 66: CRC32 r64, r/m64 */
        int r = g_pick_reg(g, dsz, true, true);
        if (r < 0)
            return false;
        enc_reg(&e, (unsigned)r);
        bool has_rex = true;
        if (ssz == 1 && !(e.rex & (REX_W | REX_R)) && g_chance(g, 2)) {
            has_rex = false; /* AH..BH reachable */
            e.rex_force = false;
            g->no_rex = true;
        }
        int rm = g_rm(g, &e, ssz, false, has_rex, true, true);
        g->no_rex = false;
        if (rm == -2)
            return false;
        break;
    }
    }
    struct dt_insn *in = g_emit(g, &e, f->mnem, 0, wr, 0);
    if (f->kind == K_STR && !(f->op & 2))
        in->info |= DTI_GLUED;
    return true;
}

static bool t_simd(struct gctx *g, int arg)
{
    return gen_form(g, &forms[arg]);
}

/* One template per form, named by its mnemonic; the index is the form's. */
enum { SIMD_FORM_BASE = __COUNTER__ + 1 };
#define TEMPLATE(m, p, mp, o, k, s, a, d) \
    {m, t_simd, __COUNTER__ - SIMD_FORM_BASE, 1,                                       \
     (k) == K_MASKQ ? GN_STRINGS : (k) == K_STR && !((o) & 2) ? GN_THREE : 0},
const struct gtemplate g_simd_templates[] = {SIMD_FORMS(TEMPLATE)};
#undef TEMPLATE
const unsigned g_nsimd_templates = sizeof g_simd_templates / sizeof g_simd_templates[0];
_Static_assert(sizeof g_simd_templates / sizeof g_simd_templates[0] == NFORMS,
               "one template per SIMD form");
