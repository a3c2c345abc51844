/* Applies the exception list (exceptions.def): what the comparison ignores
 * for an instruction because Unicorn deviates from the SDM there. */
#include "difftest.h"

#include <string.h>

enum dt_cond {
    DT_COND_ALWAYS,
    DT_COND_LOCK,           /* LOCK prefix */
    DT_COND_REG32,          /* register r/m operand, operand size 4 */
    DT_COND_OPSIZE32,       /* operand size 4 */
    DT_COND_OPSIZE16,       /* 66 prefix without REX.W */
    DT_COND_RIPREL_IMM,     /* RIP-relative operand followed by an immediate */
    DT_COND_SSEFP,          /* an SSE floating-point instruction (gen_sse_fp.c) */
    DT_COND_SSEFP_UNMASKED, /* ... and the case's MXCSR unmasks an exception */
    DT_COND_SSEFP_FTZ,      /* ... and the case's MXCSR has FTZ */
    DT_COND_SSEFP_NOT_RN,   /* ... and MXCSR.RC is not round-to-nearest */
    DT_COND_SSEFP_DAZ,      /* ... and the case's MXCSR has DAZ */
    DT_COND_IMM8_GT7,       /* the last byte (imm8) is above 7 */
    DT_COND_MEM,            /* a memory operand (ModRM.mod != 3) */
    DT_COND_DP_SUM,         /* DPPS/DPPD summing two or more products (imm8[7:4]) */
    DT_COND_NO66,           /* no 66 prefix (the MMX form of an SSSE3 instruction) */
    DT_COND_SAMEREG,        /* register source that is the destination register */
    DT_COND_MMX_REXRB,      /* no 66, REX.R, or REX.B with a register r/m: an MMX register with a REX bit */
    DT_COND_EQUAL_ORDERED,  /* imm8[3:2] = 11B (last byte): "equal ordered" aggregation */
};
enum dt_action { DT_ACT_FLAGS, DT_ACT_SKIP, DT_ACT_MXCSR, DT_ACT_NANS, DT_ACT_X87TAGS };

struct dt_exception {
    const char *mnem;
    enum dt_cond cond;
    enum dt_action action;
    uint32_t flags;
    const char *sdm;
    const char *reason;
};

static const struct dt_exception table[] = {
#define DT_EXCEPTION(m, c, a, f, s, r) {m, DT_COND_##c, DT_ACT_##a, f, s, r},
#include "exceptions.def"
#undef DT_EXCEPTION
};

struct shape {
    unsigned opsize;
    bool lock;
    uint8_t rex;
    const uint8_t *op; /* first opcode byte */
};

static struct shape insn_shape(const struct dt_insn *in)
{
    struct shape s = {4, false, 0, NULL};
    unsigned i = 0;
    bool p66 = false;
    for (; i < in->len; i++) {
        uint8_t b = in->bytes[i];
        if (b == 0x66)
            p66 = true;
        else if (b == 0xf0)
            s.lock = true;
        else if (!(b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e ||
                   b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65))
            break;
    }
    if (i < in->len && (in->bytes[i] & 0xf0) == 0x40)
        s.rex = in->bytes[i++];
    s.op = &in->bytes[i];
    s.opsize = (s.rex & 8) ? 8 : p66 ? 2 : 4;
    uint8_t o = s.op[0];
    if (o == 0x0f)
        o = s.op[1];
    if (!(o & 1) && (s.op[0] == 0xf6 || s.op[0] == 0xfe || (s.op[0] == 0x0f && (o == 0xb0 || o == 0xc0))))
        s.opsize = 1;
    return s;
}

/* ModRM byte of a one-, two- or three-byte-opcode instruction. */
static uint8_t modrm_of(const struct shape *s)
{
    if (s->op[0] != 0x0f)
        return s->op[1];
    return s->op[1] == 0x38 || s->op[1] == 0x3a ? s->op[3] : s->op[2];
}

static bool cond_holds(enum dt_cond c, const struct dt_case *k, const struct dt_insn *in)
{
    struct shape s = insn_shape(in);
    switch (c) {
    case DT_COND_ALWAYS:
        return true;
    case DT_COND_LOCK:
        return s.lock;
    case DT_COND_REG32:
        return s.opsize == 4 && (modrm_of(&s) >> 6) == 3;
    case DT_COND_OPSIZE32:
        return s.opsize == 4;
    case DT_COND_OPSIZE16:
        return s.opsize == 2;
    case DT_COND_RIPREL_IMM:
        return in->rip_pos >= 0 && in->rip_pos + 4 < in->len;
    case DT_COND_SSEFP:
        return (in->info & DTI_SSEFP) != 0;
    case DT_COND_SSEFP_UNMASKED:
        return (in->info & DTI_SSEFP) && (k->init.mxcsr & 0x1f80) != 0x1f80;
    case DT_COND_SSEFP_FTZ:
        return (in->info & DTI_SSEFP) && (k->init.mxcsr & 0x8000);
    case DT_COND_SSEFP_NOT_RN:
        return (in->info & DTI_SSEFP) && (k->init.mxcsr & 0x6000);
    case DT_COND_SSEFP_DAZ:
        return (in->info & DTI_SSEFP) && (k->init.mxcsr & 0x40);
    case DT_COND_IMM8_GT7:
        return in->len && in->bytes[in->len - 1] > 7;
    case DT_COND_MEM:
        return (modrm_of(&s) >> 6) != 3;
    case DT_COND_DP_SUM: {
        unsigned imm = in->len ? in->bytes[in->len - 1] : 0;
        return __builtin_popcount((imm >> 4) & (strcmp(in->mnem, "DPPD") ? 15u : 3u)) >= 2;
    }
    case DT_COND_SAMEREG: {
        uint8_t m = modrm_of(&s);
        return (m >> 6) == 3 && (((m >> 3) & 7) | ((s.rex & 4) << 1)) == ((m & 7) | ((s.rex & 1) << 3));
    }
    case DT_COND_MMX_REXRB:
        return memchr(in->bytes, 0x66, (size_t)(s.op - in->bytes)) == NULL &&
               ((s.rex & 4) || ((s.rex & 1) && (modrm_of(&s) >> 6) == 3));
    case DT_COND_EQUAL_ORDERED:
        return (in->bytes[in->len - 1] & 0x0c) == 0x0c;
    case DT_COND_NO66:
        return memchr(in->bytes, 0x66, (size_t)(s.op - in->bytes)) == NULL;
    }
    return false;
}

/* mnemonic "*": every instruction the condition holds for */
static bool match(size_t i, const struct dt_case *k, const struct dt_insn *in, enum dt_action a)
{
    return table[i].action == a &&
           (!strcmp(table[i].mnem, "*") || !strcmp(table[i].mnem, in->mnem)) &&
           cond_holds(table[i].cond, k, in);
}

uint32_t dt_exception_flags(const struct dt_case *k, const struct dt_insn *in,
                            const struct dt_result *u)
{
    uint32_t f = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (match(i, k, in, DT_ACT_FLAGS))
            f |= table[i].flags;
    return f;
}

uint32_t dt_exception_mxcsr(const struct dt_case *k)
{
    uint32_t f = 0;
    for (unsigned n = 0; n < k->n; n++)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (match(i, k, &k->insn[n], DT_ACT_MXCSR))
                f |= table[i].flags;
    return f;
}

bool dt_exception_nans(const struct dt_case *k)
{
    for (unsigned n = 0; n < k->n; n++)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (match(i, k, &k->insn[n], DT_ACT_NANS))
                return true;
    return false;
}

bool dt_exception_x87_tags(const struct dt_case *k)
{
    for (unsigned n = 0; n < k->n; n++)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (match(i, k, &k->insn[n], DT_ACT_X87TAGS))
                return true;
    return false;
}

const char *dt_exception_skip(const struct dt_case *k)
{
    for (unsigned n = 0; n < k->n; n++)
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
            if (match(i, k, &k->insn[n], DT_ACT_SKIP))
                return table[i].reason;
    return NULL;
}
