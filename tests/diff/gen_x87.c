/* Difftest generator for the x87 FPU (--isa x87): every case starts from
 * FNINIT and an FLDCW of a random control word (each precision and
 * rounding control; masked exceptions), then runs loads, arithmetic,
 * comparisons, constants, FCMOVcc, FXCH, stores, ... over a pool of
 * special 80-bit values (zeros, denormals, pseudo-denormals, unnormals,
 * infinities, QNaN/SNaN, rounding edges) and data words biased to special
 * doubles, floats and integer edges. Encodings from SDM 2D "Escape Opcode
 * Instructions"; the comparison is docs/difftest.md "x87". */
#include "gen_internal.h"

#include <string.h>

/* Data area: 16-byte slots holding 80-bit values (m80fp and BCD loads go
 * RIP-relative to a slot), then the control-word slot, then words. */
#define X87_SLOTS 64
#define X87_CW_OFF DT_X87_CW_OFF
#define X87_IMAGE_OFF DT_X87_IMAGE_OFF
#define X87_WORDS_OFF (X87_IMAGE_OFF + 112)

enum x87_kind {
    XK_MEM,     /* /digit memory operand of size bytes anywhere in the data area */
    XK_SLOT,    /* /digit memory operand: an 80-bit slot (m80fp, m80bcd) */
    XK_STI,     /* /digit register form, ST(i) */
    XK_FIXED,   /* a fixed ModRM byte */
    XK_IMAGE,   /* /digit memory operand: the FRSTOR/FLDENV image */
};

/* what a form does to RFLAGS and to C0/C2/C3 */
#define XF_FCOMI 0x1 /* writes ZF PF CF, clears OF SF AF */
#define XF_FCMOV 0x2 /* reads CF ZF PF */
#define XF_CC 0x4    /* defines C0, C2, C3 */
#define XF_LOAD 0x8  /* pushes */
#define XF_SSE3 0x10

struct x87_form {
    const char *mnem;
    uint8_t esc, kind, modrm, size, fl;
};

/* modrm: the /digit for XK_MEM/XK_SLOT/XK_STI, the byte for XK_FIXED */
#define X87_FORMS(X)                                   \
    X("FADD", 0xd8, XK_MEM, 0, 4, 0)                    \
    X("FMUL", 0xd8, XK_MEM, 1, 4, 0)                    \
    X("FCOM", 0xd8, XK_MEM, 2, 4, XF_CC)                \
    X("FCOMP", 0xd8, XK_MEM, 3, 4, XF_CC)               \
    X("FSUB", 0xd8, XK_MEM, 4, 4, 0)                    \
    X("FSUBR", 0xd8, XK_MEM, 5, 4, 0)                   \
    X("FDIV", 0xd8, XK_MEM, 6, 4, 0)                    \
    X("FDIVR", 0xd8, XK_MEM, 7, 4, 0)                   \
    X("FADD", 0xd8, XK_STI, 0, 0, 0)                    \
    X("FMUL", 0xd8, XK_STI, 1, 0, 0)                    \
    X("FCOM", 0xd8, XK_STI, 2, 0, XF_CC)                \
    X("FCOMP", 0xd8, XK_STI, 3, 0, XF_CC)               \
    X("FSUB", 0xd8, XK_STI, 4, 0, 0)                    \
    X("FSUBR", 0xd8, XK_STI, 5, 0, 0)                   \
    X("FDIV", 0xd8, XK_STI, 6, 0, 0)                    \
    X("FDIVR", 0xd8, XK_STI, 7, 0, 0)                   \
    X("FLD", 0xd9, XK_MEM, 0, 4, XF_LOAD)               \
    X("FST", 0xd9, XK_MEM, 2, 4, 0)                     \
    X("FSTP", 0xd9, XK_MEM, 3, 4, 0)                    \
    X("FNSTCW", 0xd9, XK_MEM, 7, 2, 0)                  \
    X("FLD", 0xd9, XK_STI, 0, 0, XF_LOAD)               \
    X("FXCH", 0xd9, XK_STI, 1, 0, 0)                    \
    X("FNOP", 0xd9, XK_FIXED, 0xd0, 0, 0)               \
    X("FCHS", 0xd9, XK_FIXED, 0xe0, 0, 0)               \
    X("FABS", 0xd9, XK_FIXED, 0xe1, 0, 0)               \
    X("FTST", 0xd9, XK_FIXED, 0xe4, 0, XF_CC)           \
    X("FXAM", 0xd9, XK_FIXED, 0xe5, 0, XF_CC)           \
    X("FLD1", 0xd9, XK_FIXED, 0xe8, 0, XF_LOAD)         \
    X("FLDL2T", 0xd9, XK_FIXED, 0xe9, 0, XF_LOAD)       \
    X("FLDL2E", 0xd9, XK_FIXED, 0xea, 0, XF_LOAD)       \
    X("FLDPI", 0xd9, XK_FIXED, 0xeb, 0, XF_LOAD)        \
    X("FLDLG2", 0xd9, XK_FIXED, 0xec, 0, XF_LOAD)       \
    X("FLDLN2", 0xd9, XK_FIXED, 0xed, 0, XF_LOAD)       \
    X("FLDZ", 0xd9, XK_FIXED, 0xee, 0, XF_LOAD)         \
    X("F2XM1", 0xd9, XK_FIXED, 0xf0, 0, 0)              \
    X("FYL2X", 0xd9, XK_FIXED, 0xf1, 0, 0)              \
    X("FPTAN", 0xd9, XK_FIXED, 0xf2, 0, 0)              \
    X("FPATAN", 0xd9, XK_FIXED, 0xf3, 0, 0)             \
    X("FXTRACT", 0xd9, XK_FIXED, 0xf4, 0, 0)            \
    X("FPREM1", 0xd9, XK_FIXED, 0xf5, 0, XF_CC)         \
    X("FDECSTP", 0xd9, XK_FIXED, 0xf6, 0, 0)            \
    X("FINCSTP", 0xd9, XK_FIXED, 0xf7, 0, 0)            \
    X("FPREM", 0xd9, XK_FIXED, 0xf8, 0, XF_CC)          \
    X("FYL2XP1", 0xd9, XK_FIXED, 0xf9, 0, 0)            \
    X("FSQRT", 0xd9, XK_FIXED, 0xfa, 0, 0)              \
    X("FSINCOS", 0xd9, XK_FIXED, 0xfb, 0, 0)            \
    X("FRNDINT", 0xd9, XK_FIXED, 0xfc, 0, 0)            \
    X("FSCALE", 0xd9, XK_FIXED, 0xfd, 0, 0)             \
    X("FSIN", 0xd9, XK_FIXED, 0xfe, 0, 0)               \
    X("FCOS", 0xd9, XK_FIXED, 0xff, 0, 0)               \
    X("FIADD", 0xda, XK_MEM, 0, 4, 0)                   \
    X("FIMUL", 0xda, XK_MEM, 1, 4, 0)                   \
    X("FICOM", 0xda, XK_MEM, 2, 4, XF_CC)               \
    X("FICOMP", 0xda, XK_MEM, 3, 4, XF_CC)              \
    X("FISUB", 0xda, XK_MEM, 4, 4, 0)                   \
    X("FISUBR", 0xda, XK_MEM, 5, 4, 0)                  \
    X("FIDIV", 0xda, XK_MEM, 6, 4, 0)                   \
    X("FIDIVR", 0xda, XK_MEM, 7, 4, 0)                  \
    X("FCMOVB", 0xda, XK_STI, 0, 0, XF_FCMOV)           \
    X("FCMOVE", 0xda, XK_STI, 1, 0, XF_FCMOV)           \
    X("FCMOVBE", 0xda, XK_STI, 2, 0, XF_FCMOV)          \
    X("FCMOVU", 0xda, XK_STI, 3, 0, XF_FCMOV)           \
    X("FUCOMPP", 0xda, XK_FIXED, 0xe9, 0, XF_CC)        \
    X("FILD", 0xdb, XK_MEM, 0, 4, XF_LOAD)              \
    X("FISTTP", 0xdb, XK_MEM, 1, 4, XF_SSE3)            \
    X("FIST", 0xdb, XK_MEM, 2, 4, 0)                    \
    X("FISTP", 0xdb, XK_MEM, 3, 4, 0)                   \
    X("FLD", 0xdb, XK_SLOT, 5, 10, XF_LOAD)             \
    X("FSTP", 0xdb, XK_MEM, 7, 10, 0)                   \
    X("FCMOVNB", 0xdb, XK_STI, 0, 0, XF_FCMOV)          \
    X("FCMOVNE", 0xdb, XK_STI, 1, 0, XF_FCMOV)          \
    X("FCMOVNBE", 0xdb, XK_STI, 2, 0, XF_FCMOV)         \
    X("FCMOVNU", 0xdb, XK_STI, 3, 0, XF_FCMOV)          \
    X("FNCLEX", 0xdb, XK_FIXED, 0xe2, 0, 0)             \
    X("FUCOMI", 0xdb, XK_STI, 5, 0, XF_FCOMI)           \
    X("FCOMI", 0xdb, XK_STI, 6, 0, XF_FCOMI)            \
    X("FADD", 0xdc, XK_MEM, 0, 8, 0)                    \
    X("FMUL", 0xdc, XK_MEM, 1, 8, 0)                    \
    X("FCOM", 0xdc, XK_MEM, 2, 8, XF_CC)                \
    X("FCOMP", 0xdc, XK_MEM, 3, 8, XF_CC)               \
    X("FSUB", 0xdc, XK_MEM, 4, 8, 0)                    \
    X("FSUBR", 0xdc, XK_MEM, 5, 8, 0)                   \
    X("FDIV", 0xdc, XK_MEM, 6, 8, 0)                    \
    X("FDIVR", 0xdc, XK_MEM, 7, 8, 0)                   \
    X("FADD", 0xdc, XK_STI, 0, 0, 0)                    \
    X("FMUL", 0xdc, XK_STI, 1, 0, 0)                    \
    X("FSUBR", 0xdc, XK_STI, 4, 0, 0)                   \
    X("FSUB", 0xdc, XK_STI, 5, 0, 0)                    \
    X("FDIVR", 0xdc, XK_STI, 6, 0, 0)                   \
    X("FDIV", 0xdc, XK_STI, 7, 0, 0)                    \
    X("FLD", 0xdd, XK_MEM, 0, 8, XF_LOAD)               \
    X("FISTTP", 0xdd, XK_MEM, 1, 8, XF_SSE3)            \
    X("FST", 0xdd, XK_MEM, 2, 8, 0)                     \
    X("FSTP", 0xdd, XK_MEM, 3, 8, 0)                    \
    X("FFREE", 0xdd, XK_STI, 0, 0, 0)                   \
    X("FST", 0xdd, XK_STI, 2, 0, 0)                     \
    X("FSTP", 0xdd, XK_STI, 3, 0, 0)                    \
    X("FUCOM", 0xdd, XK_STI, 4, 0, XF_CC)               \
    X("FUCOMP", 0xdd, XK_STI, 5, 0, XF_CC)              \
    X("FIADD", 0xde, XK_MEM, 0, 2, 0)                   \
    X("FIMUL", 0xde, XK_MEM, 1, 2, 0)                   \
    X("FICOM", 0xde, XK_MEM, 2, 2, XF_CC)               \
    X("FICOMP", 0xde, XK_MEM, 3, 2, XF_CC)              \
    X("FISUB", 0xde, XK_MEM, 4, 2, 0)                   \
    X("FISUBR", 0xde, XK_MEM, 5, 2, 0)                  \
    X("FIDIV", 0xde, XK_MEM, 6, 2, 0)                   \
    X("FIDIVR", 0xde, XK_MEM, 7, 2, 0)                  \
    X("FADDP", 0xde, XK_STI, 0, 0, 0)                   \
    X("FMULP", 0xde, XK_STI, 1, 0, 0)                   \
    X("FCOMPP", 0xde, XK_FIXED, 0xd9, 0, XF_CC)         \
    X("FSUBRP", 0xde, XK_STI, 4, 0, 0)                  \
    X("FSUBP", 0xde, XK_STI, 5, 0, 0)                   \
    X("FDIVRP", 0xde, XK_STI, 6, 0, 0)                  \
    X("FDIVP", 0xde, XK_STI, 7, 0, 0)                   \
    X("FILD", 0xdf, XK_MEM, 0, 2, XF_LOAD)              \
    X("FISTTP", 0xdf, XK_MEM, 1, 2, XF_SSE3)            \
    X("FIST", 0xdf, XK_MEM, 2, 2, 0)                    \
    X("FISTP", 0xdf, XK_MEM, 3, 2, 0)                   \
    X("FBLD", 0xdf, XK_SLOT, 4, 10, XF_LOAD)            \
    X("FILD", 0xdf, XK_MEM, 5, 8, XF_LOAD)              \
    X("FBSTP", 0xdf, XK_MEM, 6, 10, 0)                  \
    X("FISTP", 0xdf, XK_MEM, 7, 8, 0)                   \
    X("FLDENV", 0xd9, XK_IMAGE, 4, 28, 0)               \
    X("FSTP", 0xd9, XK_STI, 3, 0, 0)                    \
    X("FCOM", 0xdc, XK_STI, 2, 0, XF_CC)                \
    X("FCOMP", 0xdc, XK_STI, 3, 0, XF_CC)               \
    X("FXCH", 0xdd, XK_STI, 1, 0, 0)                    \
    X("FCOMP", 0xde, XK_STI, 2, 0, XF_CC)               \
    X("FFREEP", 0xdf, XK_STI, 0, 0, 0)                  \
    X("FXCH", 0xdf, XK_STI, 1, 0, 0)                    \
    X("FSTP", 0xdf, XK_STI, 2, 0, 0)                    \
    X("FSTP", 0xdf, XK_STI, 3, 0, 0)                    \
    X("FNENI", 0xdb, XK_FIXED, 0xe0, 0, 0)              \
    X("FNDISI", 0xdb, XK_FIXED, 0xe1, 0, 0)             \
    X("FNSETPM", 0xdb, XK_FIXED, 0xe4, 0, 0)            \
    X("FRSTOR", 0xdd, XK_IMAGE, 4, 108, 0)              \
    X("FUCOMIP", 0xdf, XK_STI, 5, 0, XF_FCOMI)          \
    X("FCOMIP", 0xdf, XK_STI, 6, 0, XF_FCOMI)

#define FORM(m, e, k, r, s, f) {m, e, k, r, s, f},
static const struct x87_form forms[] = {X87_FORMS(FORM)};
#undef FORM
#define NFORMS (sizeof forms / sizeof forms[0])

/* ---- values ------------------------------------------------------------------ */

/* Unicorn 2.0.1 does not quiet an SNaN converted by FLD m32fp/m64fp or
 * FST(P) m32fp/m64fp (exceptions.def). A case either has no 80-bit SNaN
 * (snan_case false) or has no FST(P) to m32fp/m64fp; FLD m32fp/m64fp
 * read words of the data area that are made quiet first. */
static bool snan_case;

struct f80 {
    uint64_t m;
    uint16_t se;
};

/* SDM 1 Table "x87 FPU Floating-Point Data Types" / "Unsupported Double
 * Extended-Precision Floating-Point Encodings and Pseudo-Denormals". */
static struct f80 special80(struct gctx *g)
{
    uint16_t s = g_chance(g, 2) ? 0x8000 : 0;
    uint64_t r = dt_rand(g->r);
    switch (g_below(g, 16)) {
    case 0: return (struct f80){0, s};                                  /* zero */
    case 1: return (struct f80){1ull << 63, (uint16_t)(s | 0x3fff)};    /* 1.0 */
    case 2: return (struct f80){1ull << 63, (uint16_t)(s | 0x7fff)};    /* infinity */
    case 3: return (struct f80){0xc000000000000000ull | (r >> 2), (uint16_t)(s | 0x7fff)}; /* QNaN */
    case 4: /* SNaN, or a QNaN in cases without SNaNs */
        return (struct f80){(snan_case ? 0x8000000000000000ull : 0xc000000000000000ull) |
                                ((r >> 2) | 1),
                            (uint16_t)(s | 0x7fff)};
    case 5: return (struct f80){r >> 1 | 1, s};                         /* denormal */
    case 6: return (struct f80){~0ull, (uint16_t)(s | 0x7ffe)};         /* largest */
    case 7: return (struct f80){1ull << 63, (uint16_t)(s | 1)};         /* smallest normal */
    case 8: /* halfway and near-halfway patterns for 24/53/64-bit rounding */ {
        static const uint64_t low[] = {0x8000000000ull, 0x400ull, 0x7ffffffffful, 0x3ffull,
                                       0xc000000000ull, 0xc00ull, 0x1ull};
        uint64_t m = (r | 1ull << 63) & ~0xffffffffffull;
        return (struct f80){m | low[g_below(g, 7)], (uint16_t)(s | (0x3fff - 70 + g_below(g, 140)))};
    }
    case 9: /* small integers and halves (FRNDINT, FIST rounding) */ {
        unsigned v = 1 + g_below(g, 40);
        unsigned e = 63 - (unsigned)__builtin_clzll(v);
        uint64_t m = (uint64_t)v << (63 - e);
        return (struct f80){m, (uint16_t)(s | (0x3fff + e - (g_chance(g, 2) ? 1 : 0)))};
    }
    case 10: /* integer-range edges: 2^15, 2^31, 2^63 and neighbours */ {
        static const uint16_t ex[] = {0x3fff + 15, 0x3fff + 31, 0x3fff + 63, 0x3fff + 14,
                                      0x3fff + 30, 0x3fff + 62};
        uint64_t m = g_chance(g, 2) ? 1ull << 63 : ~0ull << g_below(g, 3);
        return (struct f80){m, (uint16_t)(s | ex[g_below(g, 6)])};
    }
    case 11: /* exponents at the double/single range edges */ {
        static const uint16_t ex[] = {0x3fff + 1023, 0x3fff + 1024, 0x3fff - 1022, 0x3fff - 1074,
                                      0x3fff + 127, 0x3fff + 128, 0x3fff - 126, 0x3fff - 149,
                                      0x3fff - 1075, 0x3fff - 150};
        return (struct f80){r | 1ull << 63, (uint16_t)(s | ex[g_below(g, 10)])};
    }
    case 12: /* pseudo-denormal: exponent 0, integer bit 1 */
        return (struct f80){r | 1ull << 63, s};
    case 13: /* unnormal: exponent 1..7FFEH, integer bit 0 */
        return (struct f80){r >> 1, (uint16_t)(s | (1 + g_below(g, 0x7ffe)))};
    case 14: /* pseudo-infinity and pseudo-NaN: exponent 7FFFH, integer bit 0 */
        return (struct f80){g_chance(g, 2) ? 0 : r >> 1 | 1, (uint16_t)(s | 0x7fff)};
    default: /* a normal number of moderate exponent */
        return (struct f80){r | 1ull << 63, (uint16_t)(s | (0x3fff - 40 + g_below(g, 80)))};
    }
}

/* Packed BCD: 18 decimal digits and a sign byte (SDM 1 "Packed Decimal
 * Integers"); only valid encodings (invalid digits are undefined). */
static void bcd80(struct gctx *g, uint8_t *p)
{
    unsigned ndig = g_chance(g, 3) ? 18 : 1 + g_below(g, 18);
    memset(p, 0, 10);
    for (unsigned d = 0; d < ndig; d++) {
        unsigned v = g_below(g, 10);
        p[d / 2] |= (uint8_t)(v << (4 * (d & 1)));
    }
    p[9] = g_chance(g, 2) ? 0x80 : 0;
}

static uint64_t special_word(struct gctx *g)
{
    static const uint64_t dbl[] = {
        0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
        0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
        0x7ff0000000000001ull, 0x7ff4000000000000ull, 0x0000000000000001ull,
        0x000fffffffffffffull, 0x0010000000000000ull, 0x7fefffffffffffffull,
        0x3fe0000000000000ull, 0x4000000000000000ull, 0x400921fb54442d18ull,
        0x43e0000000000000ull, 0xc3e0000000000000ull, 0x41dfffffffc00000ull};
    static const uint32_t flt[] = {0, 0x80000000u, 0x3f800000u, 0x7f800000u, 0xff800000u,
                                   0x7fc00000u, 0x7f800001u, 0x7fa00000u, 0x00000001u,
                                   0x007fffffu, 0x00800000u, 0x7f7fffffu, 0x3f000000u,
                                   0x40490fdbu, 0x4f000000u, 0xcf000000u, 0x46fffe00u};
    static const uint64_t ints[] = {0, 1, ~0ull, 0x7fff, 0x8000, 0xffff8000ull, 0x7fffffff,
                                    0x80000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull};
    switch (g_below(g, 4)) {
    case 0: return dbl[g_below(g, sizeof dbl / sizeof dbl[0])] ^ (g_chance(g, 4) ? 1 : 0);
    case 1: return (uint64_t)flt[g_below(g, sizeof flt / sizeof flt[0])] |
                   (uint64_t)flt[g_below(g, sizeof flt / sizeof flt[0])] << 32;
    case 2: return ints[g_below(g, sizeof ints / sizeof ints[0])];
    default: return dt_rand(g->r);
    }
}

static void fill_data(struct gctx *g)
{
    uint8_t *d = g->k->init.data;
    for (unsigned i = 0; i < X87_SLOTS; i++) {
        uint8_t *p = d + 16 * i;
        if (i % 4 == 3) {
            bcd80(g, p);
        } else {
            struct f80 v = special80(g);
            memcpy(p, &v.m, 8);
            memcpy(p + 8, &v.se, 2);
        }
    }
    for (unsigned off = X87_WORDS_OFF; off + 8 <= DT_DATA_SIZE; off += 8) {
        uint64_t v = special_word(g);
        memcpy(d + off, &v, 8);
    }
    /* FCW: every rounding control; precision control 24, 53 or 64 bits
     * (PC = 01 is reserved); all exceptions masked; bit 6 reads as one. */
    static const uint16_t pc[] = {0x000, 0x200, 0x300};
    uint16_t cw = (uint16_t)(0x7f | pc[g_below(g, 3)] | (g_below(g, 4) << 10));
    memcpy(d + X87_CW_OFF, &cw, 2);
    /* The FRSTOR/FLDENV image (SDM 1 Figure "Protected Mode x87 FPU State
     * Image in Memory, 32-Bit Format", then ST0-ST7): the case's control
     * word (exceptions.def keys on it), an FSW with a random TOP and condition codes and no
     * exception flag, a tag word with random empty registers, registers from
     * the special values. FIP/FDP/FOP are not compared (Unicorn 2.0.1 keeps
     * none of them). */
    {
        uint8_t *im = d + X87_IMAGE_OFF;
        uint16_t sw = (uint16_t)((g_below(g, 8) << 11) | (dt_rand(g->r) & 0x4700));
        uint16_t tw = 0;
        for (unsigned p = 0; p < 8; p++)
            tw |= (uint16_t)((g_chance(g, 3) ? 3u : g_below(g, 3)) << (2 * p));
        memset(im, 0, 28);
        memcpy(im, &cw, 2);
        memcpy(im + 4, &sw, 2);
        memcpy(im + 8, &tw, 2);
        for (unsigned i = 0; i < 8; i++) {
            struct f80 v = special80(g);
            memcpy(im + 28 + 10 * i, &v.m, 8);
            memcpy(im + 36 + 10 * i, &v.se, 2);
        }
    }
}

/* ---- forms -------------------------------------------------------------------- */

static void start(struct enc *e, const struct x87_form *f)
{
    memset(e, 0, sizeof *e);
    enc_op(e, f->esc);
    e->has_modrm = true;
}

static void riprel_to(struct enc *e, unsigned digit, uint64_t target)
{
    e->modrm = (uint8_t)((digit << 3) | 5);
    e->riprel = true;
    e->rip_target = target;
    e->rip_segbase = 0;
    e->disp_size = 4;
}

/* The stack model: which ST(i) hold a value. Unicorn 2.0.1 (QEMU 5.0)
 * does not detect stack overflow or underflow (exceptions.def), so the
 * cases never make one; tests/guests/x87 checks the SDM's #IS responses. */
static uint8_t st_valid; /* bit i: ST(i) holds a value */

static bool is_fst_conv(const struct x87_form *f)
{
    return f->kind == XK_MEM && (f->esc == 0xd9 || f->esc == 0xdd) &&
           (f->modrm == 2 || f->modrm == 3);
}

static bool is_fld_conv(const struct x87_form *f)
{
    return f->kind == XK_MEM && (f->esc == 0xd9 || f->esc == 0xdd) && f->modrm == 0;
}

/* Set the quiet bit of an SNaN single or double at off. */
static void quiet_at(struct gctx *g, unsigned off, unsigned size)
{
    uint8_t *p = g->k->init.data + off;
    if (size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        if ((v & 0x7f800000u) == 0x7f800000u && (v & 0x7fffffu) && !(v & 0x400000u))
            v |= 0x400000u;
        memcpy(p, &v, 4);
    } else {
        uint64_t v;
        memcpy(&v, p, 8);
        if ((v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull) &&
            !(v & 0x8000000000000ull))
            v |= 0x8000000000000ull;
        memcpy(p, &v, 8);
    }
}

static bool stv(unsigned i) { return st_valid >> (i & 7) & 1; }
static void st_push(void) { st_valid = (uint8_t)(st_valid << 1 | 1); }
static void st_pop(void) { st_valid >>= 1; }

enum st_use { SU_NONE, SU_PUSH, SU_0, SU_0I, SU_01, SU_PUSH0, SU_FFREE, SU_INC, SU_DEC, SU_FST,
              SU_IMAGE };

/* The stack after FRSTOR/FLDENV of the image: the tag word's non-empty
 * registers, relative to the image's TOP. FLDENV keeps the registers'
 * contents but takes the tags and TOP all the same. */
static uint8_t image_valid(struct gctx *g, bool full)
{
    (void)full;
    const uint8_t *im = g->k->init.data + X87_IMAGE_OFF;
    uint16_t sw, tw;
    memcpy(&sw, im + 4, 2);
    memcpy(&tw, im + 8, 2);
    unsigned top = (sw >> 11) & 7;
    uint8_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((tw >> (2 * ((top + i) & 7))) & 3) != 3)
            v |= (uint8_t)(1u << i);
    return v;
}

/* How a form uses the stack (SDM 2A/2B instruction pages), and how many
 * registers it pops. */
static void stack_use(const struct x87_form *f, unsigned *use, unsigned *pops)
{
    const char *m = f->mnem;
    size_t n = strlen(m);
    *pops = 0;
    if (f->fl & XF_LOAD) {
        *use = SU_PUSH;
        return;
    }
    if (f->kind == XK_IMAGE) {
        *use = SU_IMAGE;
        return;
    }
    if (!strcmp(m, "FNOP") || !strcmp(m, "FNCLEX") || !strcmp(m, "FNSTCW") || !strcmp(m, "FXAM") ||
        !strcmp(m, "FNENI") || !strcmp(m, "FNDISI") || !strcmp(m, "FNSETPM")) {
        *use = SU_NONE;
        return;
    }
    if (!strcmp(m, "FFREE")) { *use = SU_FFREE; return; }
    if (!strcmp(m, "FFREEP")) { *use = SU_FFREE; *pops = 1; return; }
    if (!strcmp(m, "FINCSTP")) { *use = SU_INC; return; }
    if (!strcmp(m, "FDECSTP")) { *use = SU_DEC; return; }
    if (!strcmp(m, "FPTAN") || !strcmp(m, "FSINCOS") || !strcmp(m, "FXTRACT")) { *use = SU_PUSH0; return; }
    if (!strcmp(m, "FCOMPP") || !strcmp(m, "FUCOMPP")) { *use = SU_01; *pops = 2; return; }
    if (!strcmp(m, "FYL2X") || !strcmp(m, "FYL2XP1") || !strcmp(m, "FPATAN")) { *use = SU_01; *pops = 1; return; }
    if (!strcmp(m, "FPREM") || !strcmp(m, "FPREM1") || !strcmp(m, "FSCALE")) { *use = SU_01; return; }
    if (f->kind == XK_STI && (!strcmp(m, "FST") || !strcmp(m, "FSTP"))) {
        *use = SU_FST;
        *pops = m[3] == 'P';
        return;
    }
    *use = f->kind == XK_STI ? SU_0I : SU_0;
    if (m[n - 1] == 'P' && strcmp(m, "FCOMP") && strcmp(m, "FUCOMP") && strcmp(m, "FICOMP"))
        *pops = 1; /* FADDP.., FSTP, FISTP, FBSTP, FCOMIP, FUCOMIP, FISTTP */
    else if (!strcmp(m, "FCOMP") || !strcmp(m, "FUCOMP") || !strcmp(m, "FICOMP"))
        *pops = 1;
}

static bool gen_form(struct gctx *g, const struct x87_form *f)
{
    struct enc e;
    unsigned use, pops, i = g_below(g, 8);
    stack_use(f, &use, &pops);
    switch (use) {
    case SU_PUSH: if (stv(7) || (f->kind == XK_STI && !stv(i))) return false; break;
    case SU_0: if (!stv(0)) return false; break;
    case SU_0I: if (!stv(0) || !stv(i)) return false; break;
    case SU_01: if (!stv(0) || !stv(1)) return false; break;
    case SU_PUSH0: if (!stv(0) || stv(7)) return false; break;
    case SU_FST: if (!stv(0) || !stv(i)) return false; break; /* exceptions.def: FST ST(i) */
    default: break;
    }
    if (snan_case && is_fst_conv(f))
        return false;
    start(&e, f);
    if (is_fld_conv(f)) {
        unsigned off = X87_WORDS_OFF + 4 * g_below(g, (DT_DATA_SIZE - X87_WORDS_OFF - 8) / 4);
        quiet_at(g, off, f->size);
        riprel_to(&e, f->modrm, DT_DATA_BASE + off);
        g_emit(g, &e, f->mnem, 0, 0, 0);
        st_push();
        return true;
    }
    switch (f->kind) {
    case XK_MEM:
        e.modrm = (uint8_t)(f->modrm << 3);
        /* anywhere in the words: stores never reach the slots, the control
         * word or the image, which exceptions.def reads as loaded */
        if (!g_mem(g, &e, f->size, -(int64_t)X87_WORDS_OFF, 0))
            return false;
        break;
    case XK_SLOT:
        riprel_to(&e, f->modrm, DT_DATA_BASE + 16 * (4 * g_below(g, X87_SLOTS / 4) +
                                                      (f->esc == 0xdf ? 3 : g_below(g, 3))));
        break;
    case XK_STI:
        e.modrm = (uint8_t)(0xc0 | (f->modrm << 3) | i);
        break;
    case XK_FIXED:
        e.modrm = f->modrm;
        break;
    case XK_IMAGE:
        riprel_to(&e, f->modrm, DT_DATA_BASE + X87_IMAGE_OFF);
        break;
    }
    /* Prefixes that change nothing here: REX (W, B: ST(i) takes no REX.B)
     * and 66, outside the environment/state images (SDM 2A "REX Prefixes";
     * the x87 operand sizes are fixed by the opcode; Unicorn 2.0.1 reads a
     * REX.W FRSTOR image with another layout, nvmx as the 32-bit one) */
    if (f->kind != XK_IMAGE && g_chance(g, 8))
        e.rex |= (uint8_t)(g_below(g, 16) & (f->kind == XK_MEM ? REX_W : REX_W | REX_B)),
            e.rex_force = true;
    if (f->kind != XK_IMAGE && g_chance(g, 12))
        enc_pfx(&e, 0x66);
    uint32_t rd = (f->fl & XF_FCMOV) ? (DT_CF | DT_ZF | DT_PF) : 0;
    uint32_t wr = (f->fl & XF_FCOMI) ? DT_ALL6 : 0;
    g_emit(g, &e, f->mnem, rd, wr, 0);
    switch (use) {
    case SU_PUSH: st_push(); break;
    case SU_PUSH0: st_push(); break;
    case SU_FFREE: st_valid &= (uint8_t)~(1u << i); break;
    case SU_INC: st_valid = (uint8_t)(st_valid >> 1 | st_valid << 7); break;
    case SU_DEC: st_valid = (uint8_t)(st_valid << 1 | st_valid >> 7); break;
    case SU_FST: st_valid |= (uint8_t)(1u << i); break;
    case SU_IMAGE: st_valid = image_valid(g, f->size == 108); break;
    default: break;
    }
    for (unsigned p = 0; p < pops; p++)
        st_pop();
    return true;
}

static bool t_x87(struct gctx *g, int arg) { return gen_form(g, &forms[arg]); }

enum { X87_FORM_BASE = __COUNTER__ + 1 };
#define TEMPLATE(m, e, k, r, s, f) {m, t_x87, __COUNTER__ - X87_FORM_BASE, 1, 0},
const struct gtemplate g_x87_templates[] = {X87_FORMS(TEMPLATE)};
#undef TEMPLATE
const unsigned g_nx87_templates = sizeof g_x87_templates / sizeof g_x87_templates[0];
_Static_assert(sizeof g_x87_templates / sizeof g_x87_templates[0] == NFORMS,
               "one template per x87 form");

/* The case: FNINIT; FLDCW [cw]; one to three loads; then random forms
 * (weighted to keep the stack mostly populated). The compared part of FSW
 * is decided here (k->x87_fsw_mask): TOP always, C0/C2/C3 when the last
 * instruction defines them. */
void g_x87_case(struct gctx *g, const char *only)
{
    struct dt_case *k = g->k;
    snan_case = g_chance(g, 3);
    fill_data(g);
    /* R0-R7 before FNINIT: exponent DT_FP_SEXP (the runners' start state)
     * with the integer bit set, so that an FLDENV that tags them valid
     * reveals normal numbers (an unnormal is an exceptions.def case) */
    for (unsigned i = 0; i < 8; i++)
        k->init.mm[i] = dt_rand(g->r) | 1ull << 63;
    struct enc e;
    memset(&e, 0, sizeof e);
    enc_op(&e, 0xdb);
    e.has_modrm = true;
    e.modrm = 0xe3;
    g_emit(g, &e, "FNINIT", 0, 0, 0);
    memset(&e, 0, sizeof e);
    enc_op(&e, 0xd9);
    e.has_modrm = true;
    riprel_to(&e, 5, DT_DATA_BASE + X87_CW_OFF);
    g_emit(g, &e, "FLDCW", 0, 0, 0);
    st_valid = 0;

    unsigned cand[NFORMS], ncand = 0, loads[NFORMS], nloads = 0;
    for (unsigned i = 0; i < NFORMS; i++) {
        if (only && *only && !g_name_in_list(forms[i].mnem, only))
            continue;
        cand[ncand++] = i;
    }
    for (unsigned i = 0; i < NFORMS; i++)
        if ((forms[i].fl & XF_LOAD) && forms[i].kind != XK_STI)
            loads[nloads++] = i;
    if (!ncand)
        return;
    unsigned nload = 1 + g_below(g, 3);
    unsigned total = nload + 1 + g_below(g, DT_MAX_INSNS - 2 - nload);
    const struct x87_form *last = NULL;
    while (k->n < 2 + total) {
        bool want_load = k->n < 2 + nload || g_chance(g, 6);
        const struct x87_form *f = &forms[want_load ? loads[g_below(g, nloads)]
                                                    : cand[g_below(g, ncand)]];
        if (!gen_form(g, f)) {
            if (++g->failures > 200)
                break;
            continue;
        }
        last = f;
    }
    k->x87_fsw_mask = 0x3800;
    if (last && (last->fl & XF_CC))
        k->x87_fsw_mask |= 0x4500;
}
