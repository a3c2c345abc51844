/* Difftest generator for SSE floating point (--isa ssefp): the SSE/SSE2
 * arithmetic, compares and conversions, SSE3 and SSE4.1 floating-point
 * forms (SDM Vol. 2 encodings), over XMM registers, memory and MXCSR values
 * drawn from the special values: signed zeros, denormals, the smallest and
 * largest normals, infinities, QNaNs and SNaNs, integer-conversion and
 * rounding edges; every rounding mode, FTZ and DAZ, masked and unmasked
 * exceptions, preset flags. */
#include "gen_internal.h"

#include <string.h>

enum fp_kind {
    K_VW,   /* V, W */
    K_VWI,  /* V, W, imm8 */
    K_VE,   /* V, r/m32 or r/m64 (REX.W) */
    K_GW,   /* r32/r64, W */
    K_EVI,  /* r/m32, V, imm8 */
    K_VM,   /* V, m (memory only) */
};

/* imm8 patterns: any byte, a compare predicate, a ROUND control */
enum { I_ANY, I_CMP, I_ROUND };

struct fp_form {
    const char *mnem;
    uint8_t pfx;   /* mandatory prefix: 0, 0x66, 0xf2, 0xf3 */
    uint8_t map;   /* 0: 0F xx, 0x38: 0F 38 xx, 0x3a: 0F 3A xx */
    uint8_t op;
    uint8_t kind;  /* enum fp_kind */
    uint8_t size;  /* memory operand size */
    uint8_t align; /* 16: aligned form */
    uint8_t imm;   /* I_* */
};

#define P(m, o) X(m "PS", 0, 0, o, K_VW, 16, 16, I_ANY) X(m "PD", 0x66, 0, o, K_VW, 16, 16, I_ANY) \
                X(m "SS", 0xf3, 0, o, K_VW, 4, 0, I_ANY) X(m "SD", 0xf2, 0, o, K_VW, 8, 0, I_ANY)
#define SSE_FP_FORMS(X)                                                    \
    P("ADD", 0x58) P("MUL", 0x59) P("SUB", 0x5c) P("MIN", 0x5d)           \
    P("DIV", 0x5e) P("MAX", 0x5f) P("SQRT", 0x51)                         \
    X("RSQRTPS", 0, 0, 0x52, K_VW, 16, 16, I_ANY)                         \
    X("RSQRTSS", 0xf3, 0, 0x52, K_VW, 4, 0, I_ANY)                        \
    X("RCPPS", 0, 0, 0x53, K_VW, 16, 16, I_ANY)                           \
    X("RCPSS", 0xf3, 0, 0x53, K_VW, 4, 0, I_ANY)                          \
    X("CMPPS", 0, 0, 0xc2, K_VWI, 16, 16, I_CMP)                          \
    X("CMPPD", 0x66, 0, 0xc2, K_VWI, 16, 16, I_CMP)                       \
    X("CMPSS", 0xf3, 0, 0xc2, K_VWI, 4, 0, I_CMP)                         \
    X("CMPSD", 0xf2, 0, 0xc2, K_VWI, 8, 0, I_CMP)                         \
    X("UCOMISS", 0, 0, 0x2e, K_VW, 4, 0, I_ANY)                           \
    X("UCOMISD", 0x66, 0, 0x2e, K_VW, 8, 0, I_ANY)                        \
    X("COMISS", 0, 0, 0x2f, K_VW, 4, 0, I_ANY)                            \
    X("COMISD", 0x66, 0, 0x2f, K_VW, 8, 0, I_ANY)                         \
    X("CVTSI2SS", 0xf3, 0, 0x2a, K_VE, 4, 0, I_ANY)                       \
    X("CVTSI2SD", 0xf2, 0, 0x2a, K_VE, 4, 0, I_ANY)                       \
    X("CVTTSS2SI", 0xf3, 0, 0x2c, K_GW, 4, 0, I_ANY)                      \
    X("CVTTSD2SI", 0xf2, 0, 0x2c, K_GW, 8, 0, I_ANY)                      \
    X("CVTSS2SI", 0xf3, 0, 0x2d, K_GW, 4, 0, I_ANY)                       \
    X("CVTSD2SI", 0xf2, 0, 0x2d, K_GW, 8, 0, I_ANY)                       \
    X("CVTPS2PD", 0, 0, 0x5a, K_VW, 8, 0, I_ANY)                          \
    X("CVTPD2PS", 0x66, 0, 0x5a, K_VW, 16, 16, I_ANY)                     \
    X("CVTSS2SD", 0xf3, 0, 0x5a, K_VW, 4, 0, I_ANY)                       \
    X("CVTSD2SS", 0xf2, 0, 0x5a, K_VW, 8, 0, I_ANY)                       \
    X("CVTDQ2PS", 0, 0, 0x5b, K_VW, 16, 16, I_ANY)                        \
    X("CVTPS2DQ", 0x66, 0, 0x5b, K_VW, 16, 16, I_ANY)                     \
    X("CVTTPS2DQ", 0xf3, 0, 0x5b, K_VW, 16, 16, I_ANY)                    \
    X("CVTTPD2DQ", 0x66, 0, 0xe6, K_VW, 16, 16, I_ANY)                    \
    X("CVTDQ2PD", 0xf3, 0, 0xe6, K_VW, 8, 0, I_ANY)                       \
    X("CVTPD2DQ", 0xf2, 0, 0xe6, K_VW, 16, 16, I_ANY)                     \
    X("MOVSLDUP", 0xf3, 0, 0x12, K_VW, 16, 16, I_ANY)                     \
    X("MOVDDUP", 0xf2, 0, 0x12, K_VW, 8, 0, I_ANY)                        \
    X("MOVSHDUP", 0xf3, 0, 0x16, K_VW, 16, 16, I_ANY)                     \
    X("HADDPD", 0x66, 0, 0x7c, K_VW, 16, 16, I_ANY)                       \
    X("HADDPS", 0xf2, 0, 0x7c, K_VW, 16, 16, I_ANY)                       \
    X("HSUBPD", 0x66, 0, 0x7d, K_VW, 16, 16, I_ANY)                       \
    X("HSUBPS", 0xf2, 0, 0x7d, K_VW, 16, 16, I_ANY)                       \
    X("ADDSUBPD", 0x66, 0, 0xd0, K_VW, 16, 16, I_ANY)                     \
    X("ADDSUBPS", 0xf2, 0, 0xd0, K_VW, 16, 16, I_ANY)                     \
    X("LDDQU", 0xf2, 0, 0xf0, K_VM, 16, 0, I_ANY)                         \
    X("BLENDVPS", 0x66, 0x38, 0x14, K_VW, 16, 16, I_ANY)                  \
    X("BLENDVPD", 0x66, 0x38, 0x15, K_VW, 16, 16, I_ANY)                  \
    X("ROUNDPS", 0x66, 0x3a, 0x08, K_VWI, 16, 16, I_ROUND)                \
    X("ROUNDPD", 0x66, 0x3a, 0x09, K_VWI, 16, 16, I_ROUND)                \
    X("ROUNDSS", 0x66, 0x3a, 0x0a, K_VWI, 4, 0, I_ROUND)                  \
    X("ROUNDSD", 0x66, 0x3a, 0x0b, K_VWI, 8, 0, I_ROUND)                  \
    X("BLENDPS", 0x66, 0x3a, 0x0c, K_VWI, 16, 16, I_ANY)                  \
    X("BLENDPD", 0x66, 0x3a, 0x0d, K_VWI, 16, 16, I_ANY)                  \
    X("EXTRACTPS", 0x66, 0x3a, 0x17, K_EVI, 4, 0, I_ANY)                  \
    X("INSERTPS", 0x66, 0x3a, 0x21, K_VWI, 4, 0, I_ANY)                   \
    X("DPPS", 0x66, 0x3a, 0x40, K_VWI, 16, 16, I_ANY)                     \
    X("DPPD", 0x66, 0x3a, 0x41, K_VWI, 16, 16, I_ANY)

#define FORM(m, p, mp, o, k, s, a, i) {m, p, mp, o, k, s, a, i},
#define X FORM
static const struct fp_form forms[] = {SSE_FP_FORMS(X)};
#undef X
#define NFORMS (sizeof forms / sizeof forms[0])

/* Special values of one format (SDM 1 "Real Number and Floating-Point
 * Formats", Table "Floating-Point Number and NaN Encodings"). */
static const uint32_t f32_special[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000,
    0x00800000, 0x80800000, 0x00800001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
    0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0xffa00000, 0x7fbfffff, 0x3f800000,
    0xbf800000, 0x3f000000, 0xbf000000, 0x3fc00000, 0x40200000, 0xc0600000, 0x40400000,
    0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000, 0x5effffff,
    0x4b000000, 0x4b7fffff, 0x3effffff, 0x0f800000, 0x1f800000, 0x20000000, 0x70000000,
    0x7e800000, 0x5f800000, 0x00ffffff, 0x3f800001, 0x33800000, 0x4e800000,
};
static const uint64_t f64_special[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull, 0x800fffffffffffffull,
    0x000fffffffffffffull, 0x0008000000000000ull, 0x0010000000000000ull, 0x8010000000000000ull,
    0x7fefffffffffffffull, 0xffefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff8000012345678ull, 0x7ff0000000000001ull,
    0xfff4000000000000ull, 0x7ff7ffffffffffffull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x3fe0000000000000ull, 0xbfe0000000000000ull, 0x3ff8000000000000ull, 0x4004000000000000ull,
    0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffc00000ull, 0xc1e0000000200000ull,
    0x41dfffffffffffffull, 0x43e0000000000000ull, 0xc3e0000000000000ull, 0x43dfffffffffffffull,
    0x4330000000000000ull, 0x433fffffffffffffull, 0x3fdfffffffffffffull, 0x2000000000000000ull,
    0x1ff0000000000000ull, 0x6000000000000000ull, 0x7fd0000000000000ull, 0x47efffffe0000000ull,
    0x47efffffffffffffull, 0x36a0000000000000ull, 0x3810000000000000ull, 0x3800000000000000ull,
    0x380fffffffffffffull, 0x3ff0000000000001ull, 0x3ca0000000000000ull,
};

static uint32_t f32_value(struct dt_rng *r)
{
    uint64_t x = dt_rand(r);
    switch (x % 8) {
    case 0: case 1: case 2:
        return f32_special[(x >> 8) % (sizeof f32_special / sizeof f32_special[0])];
    case 3: /* near the limits of the exponent range */
        return (uint32_t)((x >> 8) & 0x807fffffu) | (uint32_t)((x >> 40) % 3 + ((x >> 50) & 1 ? 0xfc : 0)) << 23;
    case 4: /* small integers and halves */
        return ((uint32_t)(0x3f000000u + ((x >> 8) % 0x2000000u)) & 0xfffe0000u) |
               (uint32_t)(x >> 63) << 31;
    default:
        return (uint32_t)(x >> 16);
    }
}

static uint64_t f64_value(struct dt_rng *r)
{
    uint64_t x = dt_rand(r);
    switch (x % 8) {
    case 0: case 1: case 2:
        return f64_special[(x >> 8) % (sizeof f64_special / sizeof f64_special[0])];
    case 3: {
        uint64_t m = dt_rand(r) & 0x800fffffffffffffull;
        uint64_t e = (x >> 40) % 3 + ((x >> 50) & 1 ? 0x7fc : 0);
        return m | e << 52;
    }
    case 4: /* around the single-precision range and integers */
        return (0x3800000000000000ull + ((x >> 8) % 0x1000000000000000ull)) & ~0xfffffffull;
    default:
        return dt_rand(r);
    }
}

/* 16 bytes as four singles or two doubles. */
static void fp_fill(struct dt_rng *r, uint8_t *p, unsigned n)
{
    for (unsigned o = 0; o + 8 <= n; o += 8) {
        uint64_t v;
        if (dt_rand(r) & 1)
            v = (uint64_t)f32_value(r) | (uint64_t)f32_value(r) << 32;
        else
            v = f64_value(r);
        memcpy(p + o, &v, 8);
    }
}

/* MXCSR: any rounding mode; FTZ and DAZ one time in four; every exception
 * masked half the time, otherwise a random set unmasked; the sticky flags
 * preset one time in four. */
static uint32_t mxcsr_value(struct dt_rng *r)
{
    uint64_t x = dt_rand(r);
    uint32_t m = (uint32_t)(x & 3) << 13;
    if ((x >> 2) % 4 == 0)
        m |= 0x8000;
    if ((x >> 4) % 4 == 0)
        m |= 0x40;
    if ((x >> 6) & 1)
        m |= 0x1f80;
    else
        m |= (uint32_t)(x >> 8) & 0x1f80;
    if ((x >> 20) % 4 == 0)
        m |= (uint32_t)(x >> 24) & 0x3f;
    return m;
}

void g_sse_fp_init(struct gctx *g)
{
    struct dt_case *k = g->k;
    struct dt_rng r = {k->seed * 0x2545f4914f6cdd1dull + k->index * 0x9e3779b97f4a7c15ull + 11};
    for (unsigned i = 0; i < 16; i++)
        fp_fill(&r, (uint8_t *)k->init.xmm[i], 16);
    fp_fill(&r, k->init.data, DT_DATA_SIZE);
    k->init.mxcsr = mxcsr_value(&r);
}

static void fp_start(struct gctx *g, struct enc *e, const struct fp_form *f)
{
    memset(e, 0, sizeof *e);
    e->mand = f->pfx;
    enc_op(e, 0x0f);
    if (f->map)
        enc_op(e, f->map);
    enc_op(e, f->op);
    if (g_chance(g, 8))
        e->rex_force = true; /* an empty REX must change nothing */
}

static void fp_mem(struct gctx *g, struct enc *e, const struct fp_form *f)
{
    g->mem_align = f->align;
    g_mem(g, e, f->size, 0, 0);
    g->mem_align = 0;
}

static uint64_t fp_imm(struct gctx *g, const struct fp_form *f)
{
    uint64_t x = dt_rand(g->r) & 0xff;
    if (f->imm == I_CMP && !g_chance(g, 8))
        return x & 7;
    if (f->imm == I_ROUND && !g_chance(g, 8))
        return x & 15;
    return x;
}

static bool gen_form(struct gctx *g, const struct fp_form *f)
{
    struct enc e;
    uint32_t wr = 0;
    fp_start(g, &e, f);
    switch (f->kind) {
    case K_VW: case K_VWI:
        enc_reg(&e, g_below(g, 16));
        if (g_chance(g, 2))
            enc_rm_reg(&e, g_below(g, 16));
        else
            fp_mem(g, &e, f);
        if (f->kind == K_VWI)
            enc_imm(&e, 1, fp_imm(g, f));
        if (strstr(f->mnem, "COMIS"))
            wr = DT_ALL6; /* ZF, PF, CF from the compare; OF, SF, AF cleared */
        break;
    case K_VM:
        enc_reg(&e, g_below(g, 16));
        fp_mem(g, &e, f);
        break;
    case K_VE: {
        bool w = g_chance(g, 2);
        if (w)
            e.rex |= REX_W;
        enc_reg(&e, g_below(g, 16));
        if (g_rm(g, &e, w ? 8 : 4, false, true, true, true) == -2)
            return false;
        break;
    }
    case K_GW: {
        unsigned sz = g_chance(g, 2) ? 8 : 4;
        if (sz == 8)
            e.rex |= REX_W;
        int r = g_pick_reg(g, sz, true, true);
        if (r < 0)
            return false;
        enc_reg(&e, (unsigned)r);
        if (g_chance(g, 2))
            enc_rm_reg(&e, g_below(g, 16));
        else
            fp_mem(g, &e, f);
        break;
    }
    case K_EVI:
        enc_reg(&e, g_below(g, 16));
        if (g_rm(g, &e, 4, true, true, true, true) == -2)
            return false;
        enc_imm(&e, 1, dt_rand(g->r) & 0xff);
        break;
    }
    struct dt_insn *in = g_emit(g, &e, f->mnem, 0, wr, 0);
    in->info |= DTI_SSEFP;
    return true;
}

static bool t_sse_fp(struct gctx *g, int arg)
{
    return gen_form(g, &forms[arg]);
}

enum { SSE_FP_FORM_BASE = __COUNTER__ + 1 };
#define X(m, p, mp, o, k, s, a, i) {m, t_sse_fp, __COUNTER__ - SSE_FP_FORM_BASE, 1, 0},
const struct gtemplate g_sse_fp_templates[] = {SSE_FP_FORMS(X)};
#undef X
const unsigned g_nsse_fp_templates = sizeof g_sse_fp_templates / sizeof g_sse_fp_templates[0];
_Static_assert(sizeof g_sse_fp_templates / sizeof g_sse_fp_templates[0] == NFORMS,
               "one template per SSE floating-point form");
