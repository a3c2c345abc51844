/* Difftest generator for SSE/SSE2 (--isa sse): data movement, logical and
 * shuffle instructions, and SSE2 integer SIMD, from their SDM Vol. 2 forms.
 * 128-bit operands of the aligned forms are 16-byte aligned (a misaligned
 * one is #GP(0), which tests/unit/test_sse.c checks: Unicorn 2.0.1 does not
 * raise it). */
#include "gen_internal.h"

#include <string.h>

enum sse_kind {
    K_VW,    /* V, W (load or register) */
    K_WV,    /* W, V (store or register) */
    K_VW_I,  /* V, W, imm8 */
    K_U_I,   /* /digit U, imm8 (register only) */
    K_VM,    /* V, m (memory only) */
    K_MV,    /* m, V (memory only) */
    K_VU,    /* V, U (register only) */
    K_VE,    /* V, r/m32 or r/m64 (REX.W) */
    K_EV,    /* r/m32 or r/m64, V */
    K_GU,    /* r32/r64, U */
    K_GU_I,  /* r32/r64, U, imm8 */
    K_VEW_I, /* V, r32/m16, imm8 */
    K_MG,    /* m32/m64, r (MOVNTI) */
    K_STMX,  /* m32 (STMXCSR) */
    K_LDMX,  /* MOV dword [m], valid MXCSR; LDMXCSR [m] */
};

struct sse_form {
    const char *mnem;
    uint8_t pfx;   /* mandatory prefix: 0, 0x66, 0xf2, 0xf3 */
    uint8_t op;    /* second opcode byte after 0F */
    uint8_t kind;  /* enum sse_kind */
    uint8_t size;  /* memory operand size */
    uint8_t align; /* 16: aligned form */
    uint8_t digit; /* K_U_I */
};

#define SSE_FORMS(X)                                              \
    X("MOVUPS", 0, 0x10, K_VW, 16, 0, 0) \
    X("MOVUPS", 0, 0x11, K_WV, 16, 0, 0) \
    X("MOVUPD", 0x66, 0x10, K_VW, 16, 0, 0) \
    X("MOVUPD", 0x66, 0x11, K_WV, 16, 0, 0) \
    X("MOVSS", 0xf3, 0x10, K_VW, 4, 0, 0) \
    X("MOVSS", 0xf3, 0x11, K_WV, 4, 0, 0) \
    X("MOVSD", 0xf2, 0x10, K_VW, 8, 0, 0) \
    X("MOVSD", 0xf2, 0x11, K_WV, 8, 0, 0) \
    X("MOVLPS", 0, 0x12, K_VM, 8, 0, 0) \
    X("MOVHLPS", 0, 0x12, K_VU, 16, 0, 0) \
    X("MOVLPS", 0, 0x13, K_MV, 8, 0, 0) \
    X("MOVLPD", 0x66, 0x12, K_VM, 8, 0, 0) \
    X("MOVLPD", 0x66, 0x13, K_MV, 8, 0, 0) \
    X("MOVHPS", 0, 0x16, K_VM, 8, 0, 0) \
    X("MOVLHPS", 0, 0x16, K_VU, 16, 0, 0) \
    X("MOVHPS", 0, 0x17, K_MV, 8, 0, 0) \
    X("MOVHPD", 0x66, 0x16, K_VM, 8, 0, 0) \
    X("MOVHPD", 0x66, 0x17, K_MV, 8, 0, 0) \
    X("MOVAPS", 0, 0x28, K_VW, 16, 16, 0) \
    X("MOVAPS", 0, 0x29, K_WV, 16, 16, 0) \
    X("MOVAPD", 0x66, 0x28, K_VW, 16, 16, 0) \
    X("MOVAPD", 0x66, 0x29, K_WV, 16, 16, 0) \
    X("MOVNTPS", 0, 0x2b, K_MV, 16, 16, 0) \
    X("MOVNTPD", 0x66, 0x2b, K_MV, 16, 16, 0) \
    X("MOVMSKPS", 0, 0x50, K_GU, 16, 0, 0) \
    X("MOVMSKPD", 0x66, 0x50, K_GU, 16, 0, 0) \
    X("MOVDQA", 0x66, 0x6f, K_VW, 16, 16, 0) \
    X("MOVDQA", 0x66, 0x7f, K_WV, 16, 16, 0) \
    X("MOVDQU", 0xf3, 0x6f, K_VW, 16, 0, 0) \
    X("MOVDQU", 0xf3, 0x7f, K_WV, 16, 0, 0) \
    X("MOVD", 0x66, 0x6e, K_VE, 4, 0, 0) \
    X("MOVD", 0x66, 0x7e, K_EV, 4, 0, 0) \
    X("MOVQ", 0xf3, 0x7e, K_VW, 8, 0, 0) \
    X("MOVQ", 0x66, 0xd6, K_WV, 8, 0, 0) \
    X("MOVNTDQ", 0x66, 0xe7, K_MV, 16, 16, 0) \
    X("MOVNTI", 0, 0xc3, K_MG, 4, 0, 0) \
    X("UNPCKLPS", 0, 0x14, K_VW, 16, 16, 0) \
    X("UNPCKLPD", 0x66, 0x14, K_VW, 16, 16, 0) \
    X("UNPCKHPS", 0, 0x15, K_VW, 16, 16, 0) \
    X("UNPCKHPD", 0x66, 0x15, K_VW, 16, 16, 0) \
    X("ANDPS", 0, 0x54, K_VW, 16, 16, 0) \
    X("ANDPD", 0x66, 0x54, K_VW, 16, 16, 0) \
    X("ANDNPS", 0, 0x55, K_VW, 16, 16, 0) \
    X("ANDNPD", 0x66, 0x55, K_VW, 16, 16, 0) \
    X("ORPS", 0, 0x56, K_VW, 16, 16, 0) \
    X("ORPD", 0x66, 0x56, K_VW, 16, 16, 0) \
    X("XORPS", 0, 0x57, K_VW, 16, 16, 0) \
    X("XORPD", 0x66, 0x57, K_VW, 16, 16, 0) \
    X("SHUFPS", 0, 0xc6, K_VW_I, 16, 16, 0) \
    X("SHUFPD", 0x66, 0xc6, K_VW_I, 16, 16, 0) \
    X("PUNPCKLBW", 0x66, 0x60, K_VW, 16, 16, 0) \
    X("PUNPCKLWD", 0x66, 0x61, K_VW, 16, 16, 0) \
    X("PUNPCKLDQ", 0x66, 0x62, K_VW, 16, 16, 0) \
    X("PACKSSWB", 0x66, 0x63, K_VW, 16, 16, 0) \
    X("PCMPGTB", 0x66, 0x64, K_VW, 16, 16, 0) \
    X("PCMPGTW", 0x66, 0x65, K_VW, 16, 16, 0) \
    X("PCMPGTD", 0x66, 0x66, K_VW, 16, 16, 0) \
    X("PACKUSWB", 0x66, 0x67, K_VW, 16, 16, 0) \
    X("PUNPCKHBW", 0x66, 0x68, K_VW, 16, 16, 0) \
    X("PUNPCKHWD", 0x66, 0x69, K_VW, 16, 16, 0) \
    X("PUNPCKHDQ", 0x66, 0x6a, K_VW, 16, 16, 0) \
    X("PACKSSDW", 0x66, 0x6b, K_VW, 16, 16, 0) \
    X("PUNPCKLQDQ", 0x66, 0x6c, K_VW, 16, 16, 0) \
    X("PUNPCKHQDQ", 0x66, 0x6d, K_VW, 16, 16, 0) \
    X("PSHUFD", 0x66, 0x70, K_VW_I, 16, 16, 0) \
    X("PSHUFHW", 0xf3, 0x70, K_VW_I, 16, 16, 0) \
    X("PSHUFLW", 0xf2, 0x70, K_VW_I, 16, 16, 0) \
    X("PSRLW", 0x66, 0x71, K_U_I, 16, 0, 2) \
    X("PSRAW", 0x66, 0x71, K_U_I, 16, 0, 4) \
    X("PSLLW", 0x66, 0x71, K_U_I, 16, 0, 6) \
    X("PSRLD", 0x66, 0x72, K_U_I, 16, 0, 2) \
    X("PSRAD", 0x66, 0x72, K_U_I, 16, 0, 4) \
    X("PSLLD", 0x66, 0x72, K_U_I, 16, 0, 6) \
    X("PSRLQ", 0x66, 0x73, K_U_I, 16, 0, 2) \
    X("PSRLDQ", 0x66, 0x73, K_U_I, 16, 0, 3) \
    X("PSLLQ", 0x66, 0x73, K_U_I, 16, 0, 6) \
    X("PSLLDQ", 0x66, 0x73, K_U_I, 16, 0, 7) \
    X("PCMPEQB", 0x66, 0x74, K_VW, 16, 16, 0) \
    X("PCMPEQW", 0x66, 0x75, K_VW, 16, 16, 0) \
    X("PCMPEQD", 0x66, 0x76, K_VW, 16, 16, 0) \
    X("PINSRW", 0x66, 0xc4, K_VEW_I, 2, 0, 0) \
    X("PEXTRW", 0x66, 0xc5, K_GU_I, 16, 0, 0) \
    X("PSRLW", 0x66, 0xd1, K_VW, 16, 16, 0) \
    X("PSRLD", 0x66, 0xd2, K_VW, 16, 16, 0) \
    X("PSRLQ", 0x66, 0xd3, K_VW, 16, 16, 0) \
    X("PADDQ", 0x66, 0xd4, K_VW, 16, 16, 0) \
    X("PMULLW", 0x66, 0xd5, K_VW, 16, 16, 0) \
    X("PMOVMSKB", 0x66, 0xd7, K_GU, 16, 0, 0) \
    X("PSUBUSB", 0x66, 0xd8, K_VW, 16, 16, 0) \
    X("PSUBUSW", 0x66, 0xd9, K_VW, 16, 16, 0) \
    X("PMINUB", 0x66, 0xda, K_VW, 16, 16, 0) \
    X("PAND", 0x66, 0xdb, K_VW, 16, 16, 0) \
    X("PADDUSB", 0x66, 0xdc, K_VW, 16, 16, 0) \
    X("PADDUSW", 0x66, 0xdd, K_VW, 16, 16, 0) \
    X("PMAXUB", 0x66, 0xde, K_VW, 16, 16, 0) \
    X("PANDN", 0x66, 0xdf, K_VW, 16, 16, 0) \
    X("PAVGB", 0x66, 0xe0, K_VW, 16, 16, 0) \
    X("PSRAW", 0x66, 0xe1, K_VW, 16, 16, 0) \
    X("PSRAD", 0x66, 0xe2, K_VW, 16, 16, 0) \
    X("PAVGW", 0x66, 0xe3, K_VW, 16, 16, 0) \
    X("PMULHUW", 0x66, 0xe4, K_VW, 16, 16, 0) \
    X("PMULHW", 0x66, 0xe5, K_VW, 16, 16, 0) \
    X("PSUBSB", 0x66, 0xe8, K_VW, 16, 16, 0) \
    X("PSUBSW", 0x66, 0xe9, K_VW, 16, 16, 0) \
    X("PMINSW", 0x66, 0xea, K_VW, 16, 16, 0) \
    X("POR", 0x66, 0xeb, K_VW, 16, 16, 0) \
    X("PADDSB", 0x66, 0xec, K_VW, 16, 16, 0) \
    X("PADDSW", 0x66, 0xed, K_VW, 16, 16, 0) \
    X("PMAXSW", 0x66, 0xee, K_VW, 16, 16, 0) \
    X("PXOR", 0x66, 0xef, K_VW, 16, 16, 0) \
    X("PSLLW", 0x66, 0xf1, K_VW, 16, 16, 0) \
    X("PSLLD", 0x66, 0xf2, K_VW, 16, 16, 0) \
    X("PSLLQ", 0x66, 0xf3, K_VW, 16, 16, 0) \
    X("PMULUDQ", 0x66, 0xf4, K_VW, 16, 16, 0) \
    X("PMADDWD", 0x66, 0xf5, K_VW, 16, 16, 0) \
    X("PSADBW", 0x66, 0xf6, K_VW, 16, 16, 0) \
    X("PSUBB", 0x66, 0xf8, K_VW, 16, 16, 0) \
    X("PSUBW", 0x66, 0xf9, K_VW, 16, 16, 0) \
    X("PSUBD", 0x66, 0xfa, K_VW, 16, 16, 0) \
    X("PSUBQ", 0x66, 0xfb, K_VW, 16, 16, 0) \
    X("PADDB", 0x66, 0xfc, K_VW, 16, 16, 0) \
    X("PADDW", 0x66, 0xfd, K_VW, 16, 16, 0) \
    X("PADDD", 0x66, 0xfe, K_VW, 16, 16, 0) \
    X("STMXCSR", 0, 0xae, K_STMX, 4, 0, 3) \
    X("LDMXCSR", 0, 0xae, K_LDMX, 4, 0, 2)

#define FORM(m, p, o, k, s, a, d) {m, p, o, k, s, a, d},
static const struct sse_form forms[] = {SSE_FORMS(FORM)};
#undef FORM
#define NFORMS (sizeof forms / sizeof forms[0])

static void sse_start(struct gctx *g, struct enc *e, const struct sse_form *f)
{
    memset(e, 0, sizeof *e);
    e->mand = f->pfx;
    enc_op(e, 0x0f);
    enc_op(e, f->op);
    if (g_chance(g, 8))
        e->rex_force = true; /* an empty REX must change nothing */
}

/* Memory operand honouring the form's alignment. */
static void sse_mem(struct gctx *g, struct enc *e, const struct sse_form *f)
{
    g->mem_align = f->align;
    g_mem(g, e, f->size, 0, 0);
    g->mem_align = 0;
}

/* ModRM.rm: an XMM register (any of 16) or memory. */
static void sse_w(struct gctx *g, struct enc *e, const struct sse_form *f, bool allow_reg,
                  bool allow_mem)
{
    if (allow_reg && (!allow_mem || g_chance(g, 2)))
        enc_rm_reg(e, g_below(g, 16));
    else
        sse_mem(g, e, f);
}

static bool gen_form(struct gctx *g, const struct sse_form *f)
{
    struct enc e;
    sse_start(g, &e, f);
    switch (f->kind) {
    case K_VW: case K_WV: case K_VW_I:
        enc_reg(&e, g_below(g, 16));
        sse_w(g, &e, f, true, true);
        if (f->kind == K_VW_I)
            enc_imm(&e, 1, dt_rand(g->r) & 0xff);
        break;
    case K_VM: case K_MV:
        enc_reg(&e, g_below(g, 16));
        sse_mem(g, &e, f);
        break;
    case K_VU:
        enc_reg(&e, g_below(g, 16));
        enc_rm_reg(&e, g_below(g, 16));
        break;
    case K_U_I:
        g_vec_shift_imm(g, &e, f->digit, 16);
        break;
    case K_VE: case K_EV:
        return g_vec_movd(g, &e, 16, f->kind == K_EV);
    case K_GU: case K_GU_I:
        if (!g_vec_to_gpr(g, &e, 16, f->kind == K_GU_I))
            return false;
        break;
    case K_VEW_I:
        if (!g_vec_insert_word(g, &e, 16))
            return false;
        break;
    case K_MG: {
        unsigned sz = g_chance(g, 2) ? 8 : 4;
        if (sz == 8)
            e.rex |= REX_W;
        int r = g_pick_reg(g, sz, true, false);
        if (r < 0)
            return false;
        enc_reg(&e, (unsigned)r);
        g_mem(g, &e, sz, 0, 0);
        break;
    }
    case K_STMX:
        e.has_modrm = true;
        e.modrm = (uint8_t)(f->digit << 3);
        g_mem(g, &e, 4, 0, 0);
        break;
    case K_LDMX: {
        /* MOV dword [m], imm32 with a valid MXCSR (bits 31:16 clear), then
         * LDMXCSR from the same operand: a reserved bit is #GP(0) in nvmx,
         * which tests/unit/test_sse.c checks (Unicorn 2.0.1 ignores it). */
        struct enc m;
        memset(&m, 0, sizeof m);
        m.has_modrm = true;
        enc_op(&m, 0xc7);
        g_mem(g, &m, 4, 0, 0);
        enc_imm(&m, 4, dt_rand(g->r) & 0xffff);
        struct enc l = m;
        l.nop = 0;
        l.imm_size = 0;
        l.rex_force = false;
        enc_op(&l, 0x0f);
        enc_op(&l, 0xae);
        l.modrm = (uint8_t)((l.modrm & 0xc7) | (f->digit << 3));
        if (m.riprel) { /* RIP-relative: the same target from the next insn */
            l.rip_target = m.rip_target;
        }
        g_emit(g, &m, "MOV", 0, 0, 0);
        struct dt_insn *in = g_emit(g, &l, f->mnem, 0, 0, 0);
        in->info |= DTI_GLUED;
        return true;
    }
    }
    g_emit(g, &e, f->mnem, 0, 0, 0);
    return true;
}

static bool t_sse(struct gctx *g, int arg)
{
    return gen_form(g, &forms[arg]);
}

/* One template per form, named by its mnemonic; the index is the form's. */
enum { SSE_FORM_BASE = __COUNTER__ + 1 };
#define TEMPLATE(m, p, o, k, s, a, d) \
    {m, t_sse, __COUNTER__ - SSE_FORM_BASE, 1, (k) == K_LDMX ? GN_TWO : 0},
const struct gtemplate g_sse_templates[] = {SSE_FORMS(TEMPLATE)};
#undef TEMPLATE
const unsigned g_nsse_templates = sizeof g_sse_templates / sizeof g_sse_templates[0];
_Static_assert(sizeof g_sse_templates / sizeof g_sse_templates[0] == NFORMS,
               "one template per SSE form");
