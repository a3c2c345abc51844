/* Lazy and eager arithmetic flags: hand-written expected values for edge
 * operands at every size, and a loop over edge values against an
 * arithmetic reference model (range checks on wide integers, not the carry
 * formulas of src/cpu/flags.c). */
#include "cpu/ops_gp.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

static struct cpu *new_cpu(void)
{
    struct cpu *c = calloc(1, sizeof *c);
    c->rflags = FL_FIXED1;
    c->mode = MODE_LONG64;
    c->code_size = 8;
    return c;
}

/* ---- lazy records: hand-written table ---------------------------------------- */

struct lazy_case {
    const char *what;
    enum lf_op op;
    unsigned size;
    uint64_t res, src1, src2, cf_in;
    uint64_t expect;
};

static const struct lazy_case lazy_cases[] = {
    { "add8 7f+1", LF_ADD, 1, 0x80, 0x7f, 0x01, 0, FL_AF | FL_SF | FL_OF },
    { "add8 ff+1", LF_ADD, 1, 0x00, 0xff, 0x01, 0, FL_CF | FL_PF | FL_AF | FL_ZF },
    { "add8 80+80", LF_ADD, 1, 0x00, 0x80, 0x80, 0, FL_CF | FL_PF | FL_ZF | FL_OF },
    { "add8 0+0", LF_ADD, 1, 0x00, 0x00, 0x00, 0, FL_PF | FL_ZF },
    { "add8 1+2", LF_ADD, 1, 0x03, 0x01, 0x02, 0, FL_PF },
    { "add16 7fff+1", LF_ADD, 2, 0x8000, 0x7fff, 1, 0, FL_PF | FL_AF | FL_SF | FL_OF },
    { "add32 ffffffff+1", LF_ADD, 4, 0, 0xffffffff, 1, 0, FL_CF | FL_PF | FL_AF | FL_ZF },
    { "add64 7fff..+1", LF_ADD, 8, 0x8000000000000000ull, 0x7fffffffffffffffull, 1, 0,
      FL_PF | FL_AF | FL_SF | FL_OF },
    { "add64 8000..+8000..", LF_ADD, 8, 0, 0x8000000000000000ull, 0x8000000000000000ull, 0,
      FL_CF | FL_PF | FL_ZF | FL_OF },
    { "adc8 ff+0+1", LF_ADC, 1, 0x00, 0xff, 0x00, 0, FL_CF | FL_PF | FL_AF | FL_ZF },
    { "adc8 7f+0+1", LF_ADC, 1, 0x80, 0x7f, 0x00, 0, FL_AF | FL_SF | FL_OF },
    { "adc32 ffffffff+ffffffff+1", LF_ADC, 4, 0xffffffff, 0xffffffff, 0xffffffff, 0,
      FL_CF | FL_PF | FL_AF | FL_SF },
    { "sub8 0-1", LF_SUB, 1, 0xff, 0x00, 0x01, 0, FL_CF | FL_PF | FL_AF | FL_SF },
    { "sub8 80-1", LF_SUB, 1, 0x7f, 0x80, 0x01, 0, FL_AF | FL_OF },
    { "sub8 5-5", LF_SUB, 1, 0x00, 0x05, 0x05, 0, FL_PF | FL_ZF },
    { "sub8 7f-ff", LF_SUB, 1, 0x80, 0x7f, 0xff, 0, FL_CF | FL_SF | FL_OF },
    { "sub16 8000-1", LF_SUB, 2, 0x7fff, 0x8000, 1, 0, FL_PF | FL_AF | FL_OF },
    { "sub64 0-1", LF_SUB, 8, ~0ull, 0, 1, 0, FL_CF | FL_PF | FL_AF | FL_SF },
    { "sbb8 0-0-1", LF_SBB, 1, 0xff, 0x00, 0x00, 0, FL_CF | FL_PF | FL_AF | FL_SF },
    { "sbb8 80-7f-1", LF_SBB, 1, 0x00, 0x80, 0x7f, 0, FL_PF | FL_AF | FL_ZF | FL_OF },
    { "sbb32 5-5-1", LF_SBB, 4, 0xffffffff, 5, 5, 0, FL_CF | FL_PF | FL_AF | FL_SF },
    { "inc8 7f cf=1", LF_INC, 1, 0x80, 0x7f, 1, 1, FL_CF | FL_AF | FL_SF | FL_OF },
    { "inc8 ff cf=0", LF_INC, 1, 0x00, 0xff, 1, 0, FL_PF | FL_AF | FL_ZF },
    { "inc64 ffff.. cf=1", LF_INC, 8, 0, ~0ull, 1, 1, FL_CF | FL_PF | FL_AF | FL_ZF },
    { "dec8 80 cf=0", LF_DEC, 1, 0x7f, 0x80, 1, 0, FL_AF | FL_OF },
    { "dec8 0 cf=1", LF_DEC, 1, 0xff, 0x00, 1, 1, FL_CF | FL_PF | FL_AF | FL_SF },
    { "dec16 1 cf=0", LF_DEC, 2, 0, 1, 1, 0, FL_PF | FL_ZF },
    { "neg8 80", LF_NEG, 1, 0x80, 0x80, 0, 0, FL_CF | FL_SF | FL_OF },
    { "neg8 1", LF_NEG, 1, 0xff, 0x01, 0, 0, FL_CF | FL_PF | FL_AF | FL_SF },
    { "neg32 0", LF_NEG, 4, 0, 0, 0, 0, FL_PF | FL_ZF },
    { "neg64 8000..", LF_NEG, 8, 0x8000000000000000ull, 0x8000000000000000ull, 0, 0,
      FL_CF | FL_PF | FL_SF | FL_OF },
    { "logic8 80", LF_LOGIC, 1, 0x80, 0xff, 0x80, 0, FL_SF },
    { "logic16 0", LF_LOGIC, 2, 0, 0xff00, 0x00ff, 0, FL_PF | FL_ZF },
    { "logic32 3", LF_LOGIC, 4, 3, 3, 3, 0, FL_PF },
    { "logic64 sign", LF_LOGIC, 8, 0x8000000000000001ull, ~0ull, 0x8000000000000001ull, 0,
      FL_SF },
};

START_TEST(lazy_table)
{
    const struct lazy_case *t = &lazy_cases[_i];
    struct cpu *c = new_cpu();
    c->rflags |= FL_DF | FL_IF;
    c->lf.cf_in = t->cf_in;
    lf_set(c, t->op, t->size, t->res, t->src1, t->src2);
    ck_assert_msg(flags_cf(c) == !!(t->expect & FL_CF), "%s: flags_cf", t->what);
    uint64_t fl = cpu_get_rflags(c);
    ck_assert_msg((fl & ARITH) == t->expect, "%s: flags 0x%03llx, expected 0x%03llx", t->what,
                  (unsigned long long)(fl & ARITH), (unsigned long long)t->expect);
    ck_assert_msg((fl & (FL_DF | FL_IF | FL_FIXED1)) == (FL_DF | FL_IF | FL_FIXED1),
                  "%s: non-arithmetic bits changed", t->what);
    ck_assert_int_eq(c->lf.op, LF_NONE);
    free(c);
}
END_TEST

/* ---- reference model over edge values ------------------------------------------ */

static const uint64_t edge[] = {
    0, 1, 2, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
    0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x5555555555555555ull,
};
#define NEDGE (sizeof edge / sizeof edge[0])
static const unsigned sizes[] = { 1, 2, 4, 8 };

static uint64_t ref_parity(uint64_t r)
{
    unsigned n = 0;
    for (int i = 0; i < 8; i++)
        n += (r >> i) & 1;
    return n % 2 == 0 ? FL_PF : 0;
}

static __int128 sval(uint64_t v, unsigned size)
{
    unsigned sh = 64 - size * 8;
    return (__int128)((int64_t)(v << sh) >> sh);
}

/* a + b + cin or a - b - cin, flags from the mathematical result */
static uint64_t ref_arith(unsigned size, uint64_t a, uint64_t b, unsigned cin, bool sub,
                          uint64_t *res)
{
    uint64_t m = size_mask(size);
    a &= m;
    b &= m;
    unsigned __int128 ua = a, ub = b;
    __int128 sa = sval(a, size), sb = sval(b, size);
    __int128 smin = -((__int128)1 << (size * 8 - 1)), smax = -smin - 1;
    uint64_t fl = 0, r;
    if (!sub) {
        unsigned __int128 u = ua + ub + cin;
        __int128 s = sa + sb + cin;
        r = (uint64_t)u & m;
        fl |= u > m ? FL_CF : 0;
        fl |= (s < smin || s > smax) ? FL_OF : 0;
        fl |= ((a & 15) + (b & 15) + cin) > 15 ? FL_AF : 0;
    } else {
        __int128 s = sa - sb - (__int128)cin;
        r = (a - b - cin) & m;
        fl |= ua < ub + cin ? FL_CF : 0;
        fl |= (s < smin || s > smax) ? FL_OF : 0;
        fl |= (a & 15) < (b & 15) + cin ? FL_AF : 0;
    }
    fl |= r == 0 ? FL_ZF : 0;
    fl |= (r >> (size * 8 - 1)) & 1 ? FL_SF : 0;
    fl |= ref_parity(r);
    *res = r;
    return fl;
}

/* Definition of each condition code from the flag bits (SDM 1 Table B-1). */
static bool ref_cond(uint64_t f, unsigned cc)
{
    bool cf = f & FL_CF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF, pf = f & FL_PF;
    static bool r[16];
    r[0] = of; r[1] = !of; r[2] = cf; r[3] = !cf; r[4] = zf; r[5] = !zf;
    r[6] = cf || zf; r[7] = !cf && !zf; r[8] = sf; r[9] = !sf; r[10] = pf; r[11] = !pf;
    r[12] = sf != of; r[13] = sf == of; r[14] = zf || sf != of; r[15] = !zf && sf == of;
    return r[cc];
}

static void check_record(struct cpu *c, const char *what, unsigned size, uint64_t a,
                         uint64_t b, uint64_t expect)
{
    struct lazy_flags saved = c->lf;
    for (unsigned cc = 0; cc < 16; cc++) {
        c->lf = saved;
        ck_assert_msg(flags_cond(c, cc) == ref_cond(expect, cc),
                      "%s size %u a=%llx b=%llx: cc %u", what, size, (unsigned long long)a,
                      (unsigned long long)b, cc);
    }
    c->lf = saved;
    ck_assert_msg(flags_cf(c) == !!(expect & FL_CF), "%s size %u a=%llx b=%llx: flags_cf",
                  what, size, (unsigned long long)a, (unsigned long long)b);
    uint64_t fl = cpu_get_rflags(c) & ARITH;
    ck_assert_msg(fl == expect, "%s size %u a=%llx b=%llx: flags 0x%03llx, expected 0x%03llx",
                  what, size, (unsigned long long)a, (unsigned long long)b,
                  (unsigned long long)fl, (unsigned long long)expect);
}

START_TEST(lazy_model)
{
    unsigned size = sizes[_i];
    uint64_t m = size_mask(size);
    struct cpu *c = new_cpu();
    for (unsigned i = 0; i < NEDGE; i++) {
        for (unsigned j = 0; j < NEDGE; j++) {
            uint64_t a = edge[i] & m, b = edge[j] & m, r, fl;
            for (unsigned cin = 0; cin < 2; cin++) {
                fl = ref_arith(size, a, b, cin, false, &r);
                lf_set(c, cin ? LF_ADC : LF_ADD, size, r, a, b);
                check_record(c, cin ? "adc" : "add", size, a, b, fl);
                fl = ref_arith(size, a, b, cin, true, &r);
                lf_set(c, cin ? LF_SBB : LF_SUB, size, r, a, b);
                check_record(c, cin ? "sbb" : "sub", size, a, b, fl);
            }
            /* ADC/SBB with carry-in 0 are recorded as LF_ADC/LF_SBB too */
            fl = ref_arith(size, a, b, 0, false, &r);
            lf_set(c, LF_ADC, size, r, a, b);
            check_record(c, "adc cin=0", size, a, b, fl);
            fl = ref_arith(size, a, b, 0, true, &r);
            lf_set(c, LF_SBB, size, r, a, b);
            check_record(c, "sbb cin=0", size, a, b, fl);

            uint64_t lr = a & b;
            lf_set(c, LF_LOGIC, size, lr, a, b);
            check_record(c, "and", size, a, b,
                         (lr == 0 ? FL_ZF : 0) | ((lr >> (size * 8 - 1)) & 1 ? FL_SF : 0) |
                             ref_parity(lr));
        }
        uint64_t a = edge[i] & m, r, fl;
        for (unsigned cf = 0; cf < 2; cf++) {
            fl = ref_arith(size, a, 1, 0, false, &r);
            c->lf.cf_in = cf;
            lf_set(c, LF_INC, size, r, a, 1);
            check_record(c, "inc", size, a, cf, (fl & ~FL_CF) | (cf ? FL_CF : 0));
            fl = ref_arith(size, a, 1, 0, true, &r);
            c->lf.cf_in = cf;
            lf_set(c, LF_DEC, size, r, a, 1);
            check_record(c, "dec", size, a, cf, (fl & ~FL_CF) | (cf ? FL_CF : 0));
        }
        fl = ref_arith(size, 0, a, 0, true, &r);
        lf_set(c, LF_NEG, size, r, a, 0);
        check_record(c, "neg", size, a, 0, fl);
    }
    free(c);
}
END_TEST

START_TEST(set_rflags_filters)
{
    struct cpu *c = new_cpu();
    lf_set(c, LF_SUB, 1, 0xff, 0, 1);
    cpu_set_rflags(c, ~0ull);
    ck_assert_int_eq(c->lf.op, LF_NONE);
    ck_assert_uint_eq(cpu_get_rflags(c), 0x3f7fd7ull);
    cpu_set_rflags(c, 0);
    ck_assert_uint_eq(cpu_get_rflags(c), FL_FIXED1);
    free(c);
}
END_TEST

/* ---- eager flags through the handlers (register forms) ------------------------- */

struct op_case {
    const char *what;
    void (*h)(struct cpu *, const struct insn *);
    unsigned size;
    uint8_t opk1, opk2;       /* operand kinds of operands 1 and 2 */
    uint64_t rax, rcx, rdx, imm; /* dest = RAX (r/m), src = RDX (reg), count CL or imm */
    uint64_t fl_in;
    uint64_t rax_out, rdx_out;
    uint64_t fl_out;
};

#define R OPK_REG
#define I OPK_IMM
#define C OPK_CL
#define N OPK_NONE
#define O OPK_ONE

static const struct op_case op_cases[] = {
    /* SAL/SHL/SHR/SAR: SDM 2 "SAL/SAR/SHL/SHR" */
    { "shl8 81,1", op_shl, 1, O, N, 0x81, 0, 0, 0, 0, 0x02, 0, FL_CF | FL_OF },
    { "shl8 40,1", op_shl, 1, O, N, 0x40, 0, 0, 0, 0, 0x80, 0, FL_SF | FL_OF },
    { "shl8 01,8", op_shl, 1, C, N, 0x01, 8, 0, 0, 0, 0x00, 0, FL_CF | FL_PF | FL_ZF | FL_OF },
    { "shl8 ff,9", op_shl, 1, C, N, 0xff, 9, 0, 0, 0, 0x00, 0, FL_PF | FL_ZF },
    { "shl8 count 0 keeps flags", op_shl, 1, C, N, 0x81, 0, 0, 0, FL_CF | FL_ZF | FL_AF,
      0x81, 0, FL_CF | FL_ZF | FL_AF },
    { "shl32 count 32 masks to 0", op_shl, 4, I, N, 0xffffffff00000001ull, 0, 0, 32, FL_OF,
      0x1, 0, FL_OF },
    { "shl64 count 32", op_shl, 8, I, N, 1, 0, 0, 32, 0, 1ull << 32, 0, FL_PF },
    { "shl64 count 64 masks to 0", op_shl, 8, C, N, 5, 64, 0, 0, FL_SF, 5, 0, FL_SF },
    { "shl16 8000,1", op_shl, 2, O, N, 0x8000, 0, 0, 0, 0, 0, 0, FL_CF | FL_PF | FL_ZF | FL_OF },
    { "shr8 81,1", op_shr, 1, O, N, 0x81, 0, 0, 0, 0, 0x40, 0, FL_CF | FL_OF },
    { "shr8 80,7", op_shr, 1, I, N, 0x80, 0, 0, 7, FL_CF, 0x01, 0, 0 },
    { "shr32 ffffffff,31", op_shr, 4, C, N, 0xffffffff, 31, 0, 0, 0, 1, 0, FL_CF },
    { "sar8 81,1", op_sar, 1, O, N, 0x81, 0, 0, 0, FL_OF, 0xc0, 0, FL_CF | FL_PF | FL_SF },
    { "sar8 80,20", op_sar, 1, C, N, 0x80, 20, 0, 0, 0, 0xff, 0, FL_CF | FL_PF | FL_SF },
    { "sar64 8000..,63", op_sar, 8, I, N, 0x8000000000000000ull, 0, 0, 63, 0, ~0ull, 0,
      FL_PF | FL_SF },
    /* ROL/ROR/RCL/RCR: SDM 2 "RCL/RCR/ROL/ROR"; SF ZF AF PF are kept */
    { "rol8 81,1", op_rol, 1, O, N, 0x81, 0, 0, 0, 0, 0x03, 0, FL_CF | FL_OF },
    { "rol8 81,8 keeps ZF", op_rol, 1, C, N, 0x81, 8, 0, 0, FL_ZF, 0x81, 0, FL_CF | FL_ZF },
    { "rol32 80000000,4", op_rol, 4, I, N, 0x80000000, 0, 0, 4, FL_SF | FL_PF, 0x8, 0,
      FL_SF | FL_PF },
    { "ror8 01,1", op_ror, 1, O, N, 0x01, 0, 0, 0, FL_AF, 0x80, 0, FL_CF | FL_OF | FL_AF },
    { "ror16 0001,4", op_ror, 2, I, N, 0x0001, 0, 0, 4, 0, 0x1000, 0, 0 },
    { "rcl8 80,1 cf=0", op_rcl, 1, O, N, 0x80, 0, 0, 0, 0, 0x00, 0, FL_CF | FL_OF },
    { "rcl8 80,9 cf=1 no-op", op_rcl, 1, C, N, 0x80, 9, 0, 0, FL_CF, 0x80, 0, FL_CF },
    { "rcl16 8000,17 no-op", op_rcl, 2, C, N, 0x8000, 17, 0, 0, 0, 0x8000, 0, 0 },
    { "rcl64 8000..,1 cf=1", op_rcl, 8, O, N, 0x8000000000000000ull, 0, 0, 0, FL_CF, 1, 0,
      FL_CF | FL_OF },
    { "rcr8 01,1 cf=1", op_rcr, 1, O, N, 0x01, 0, 0, 0, FL_CF, 0x80, 0, FL_CF | FL_OF },
    { "rcr32 1,1 cf=0", op_rcr, 4, O, N, 1, 0, 0, 0, 0, 0, 0, FL_CF },
    { "rcr8 00,9 cf=1", op_rcr, 1, C, N, 0x00, 9, 0, 0, FL_CF, 0x00, 0, FL_CF },
    { "rcr8 00,2 cf=1", op_rcr, 1, C, N, 0x00, 2, 0, 0, FL_CF, 0x40, 0, FL_OF },
    /* SHLD/SHRD: dest RAX, source RDX */
    { "shld16 1234,abcd,4", op_shld, 2, R, I, 0x1234, 0, 0xabcd, 4, 0, 0x234a, 0xabcd,
      FL_CF | FL_OF },
    { "shld16 1234,abcd,20", op_shld, 2, R, C, 0x1234, 20, 0xabcd, 0, 0, 0xbcd1, 0xabcd,
      FL_PF | FL_SF | FL_OF },
    { "shld32 80000000,ffffffff,1", op_shld, 4, R, I, 0x80000000, 0, 0xffffffff, 1, 0, 1,
      0xffffffff, FL_CF | FL_OF },
    { "shld64 count 0", op_shld, 8, R, C, 7, 0, 1, 0, FL_ZF, 7, 1, FL_ZF },
    { "shrd32 1,80000000,1", op_shrd, 4, R, I, 1, 0, 0x80000000, 1, 0, 0, 0x80000000,
      FL_CF | FL_PF | FL_ZF },
    { "shrd32 80000000,1,1", op_shrd, 4, R, I, 0x80000000, 0, 1, 1, 0, 0xc0000000, 1,
      FL_PF | FL_SF },
    { "shrd64 ff,0,8", op_shrd, 8, R, I, 0xff, 0, 0, 8, 0, 0, 0, FL_CF | FL_PF | FL_ZF },
    /* MUL / IMUL one-operand: source RDX */
    { "mul8 80*2", op_mul, 1, N, N, 0x80, 0, 2, 0, 0, 0x0100, 2, FL_CF | FL_PF | FL_ZF | FL_OF },
    { "mul8 3*5", op_mul, 1, N, N, 3, 0, 5, 0, FL_CF, 15, 5, FL_PF },
    { "mul64 max*max", op_mul, 8, N, N, ~0ull, 0, ~0ull, 0, 0, 1, ~0ull - 1, FL_CF | FL_OF },
    { "imul8 ff*ff", op_imul_1, 1, N, N, 0xff, 0, 0xff, 0, FL_OF, 0x0001, 0xff, 0 },
    { "imul8 80*ff", op_imul_1, 1, N, N, 0x80, 0, 0xff, 0, 0, 0x0080, 0xff,
      FL_CF | FL_SF | FL_OF },
    { "imul32 -1*-1", op_imul_1, 4, N, N, 0xffffffff, 0, 0xffffffff, 0, 0, 1, 0, 0 },
    { "imul64 2-op 4000..*2", op_imul, 8, R, N, 0x4000000000000000ull, 0, 2, 0, 0,
      0x8000000000000000ull, 2, FL_CF | FL_PF | FL_SF | FL_OF },
    { "imul16 3-op -2*3", op_imul, 2, R, I, 0, 0, 0xfffe, 3, 0, 0xfffa, 0xfffe, FL_PF | FL_SF },
    /* bit scans and counts: dest RAX, source RDX */
    { "bsf32 0 keeps dest", op_bsf, 4, R, N, 0x1234, 0, 0, 0, FL_CF | FL_SF, 0x1234, 0,
      FL_CF | FL_SF | FL_ZF },
    { "bsf32 80", op_bsf, 4, R, N, 0, 0, 0x80, 0, FL_ZF | FL_CF, 7, 0x80, 0 },
    { "bsr64 8000..01", op_bsr, 8, R, N, 0, 0, 0x8000000000000001ull, 0, 0, 63,
      0x8000000000000001ull, FL_PF },
    { "tzcnt32 0", op_tzcnt, 4, R, N, 5, 0, 0, 0, FL_ZF | FL_SF, 32, 0, FL_CF },
    { "tzcnt16 1", op_tzcnt, 2, R, N, 5, 0, 1, 0, 0, 0, 1, FL_ZF },
    { "lzcnt16 1", op_lzcnt, 2, R, N, 0, 0, 1, 0, FL_CF, 15, 1, 0 },
    { "lzcnt64 8000..", op_lzcnt, 8, R, N, 9, 0, 0x8000000000000000ull, 0, 0, 0,
      0x8000000000000000ull, FL_ZF },
    { "popcnt32 0", op_popcnt, 4, R, N, 9, 0, 0, 0, FL_CF | FL_OF | FL_SF, 0, 0, FL_ZF },
    { "popcnt64 ff", op_popcnt, 8, R, N, 0, 0, 0xff, 0, FL_PF, 8, 0xff, 0 },
    { "bt32 10 bit 4", op_bt, 4, R, N, 0x10, 0, 4, 0, FL_ZF | FL_SF, 0x10, 4,
      FL_CF | FL_ZF | FL_SF },
    { "bts16 bit 17 -> 1", op_bts, 2, R, N, 0, 0, 17, 0, FL_CF, 2, 17, 0 },
    { "btc64 imm 63", op_btc, 8, I, N, ~0ull, 0, 0, 63, 0, 0x7fffffffffffffffull, 0, FL_CF },
    { "btr32 imm 36 -> bit 4", op_btr, 4, I, N, 0x30, 0, 0, 36, 0, 0x20, 0, FL_CF },
};

START_TEST(eager_ops)
{
    const struct op_case *t = &op_cases[_i];
    struct cpu *c = new_cpu();
    struct insn in;
    memset(&in, 0, sizeof in);
    in.opsize = (uint8_t)t->size;
    in.addrsize = 8;
    in.rex = 0x40;
    in.mod = 3;
    in.rm = 0;  /* RAX */
    in.reg = 2; /* RDX */
    bool one_op = t->h == op_mul || t->h == op_imul_1;
    in.opk[0] = OPK_RM;
    if (one_op) {
        in.rm = 2; /* source RDX */
    } else {
        in.opk[1] = t->opk1;
        in.opk[2] = t->opk2;
    }
    if (t->h == op_imul && t->opk2 == OPK_IMM) { /* Gv, Ev, imm: dest RAX, src RDX */
        in.opk[0] = OPK_REG;
        in.reg = 0;
        in.opk[1] = OPK_RM;
        in.rm = 2;
    } else if (t->h == op_imul) {
        in.opk[0] = OPK_REG;
        in.reg = 0;
        in.opk[1] = OPK_RM;
        in.rm = 2;
    } else if (t->h == op_bsf || t->h == op_bsr || t->h == op_tzcnt || t->h == op_lzcnt ||
               t->h == op_popcnt) {
        in.opk[0] = OPK_REG;
        in.reg = 0;
        in.opk[1] = OPK_RM;
        in.rm = 2;
    }
    in.imm = t->imm;
    in.handler = t->h;
    c->gpr[0] = t->rax;
    c->gpr[1] = t->rcx;
    c->gpr[2] = t->rdx;
    cpu_set_rflags(c, t->fl_in | FL_IF);
    t->h(c, &in);
    uint64_t fl = cpu_get_rflags(c);
    ck_assert_msg(c->gpr[0] == t->rax_out, "%s: rax 0x%llx, expected 0x%llx", t->what,
                  (unsigned long long)c->gpr[0], (unsigned long long)t->rax_out);
    ck_assert_msg(c->gpr[2] == t->rdx_out, "%s: rdx 0x%llx, expected 0x%llx", t->what,
                  (unsigned long long)c->gpr[2], (unsigned long long)t->rdx_out);
    ck_assert_msg((fl & ARITH) == t->fl_out, "%s: flags 0x%03llx, expected 0x%03llx", t->what,
                  (unsigned long long)(fl & ARITH), (unsigned long long)t->fl_out);
    ck_assert_msg(fl & FL_IF, "%s: IF lost", t->what);
    free(c);
}
END_TEST

/* ---- BCD (AL/AH in RAX) -------------------------------------------------------- */

struct bcd_case {
    const char *what;
    void (*h)(struct cpu *, const struct insn *);
    uint64_t ax, imm, fl_in, ax_out, fl_out;
};

static const struct bcd_case bcd_cases[] = {
    { "daa 0f", op_daa, 0x000f, 0, 0, 0x0015, FL_AF },
    { "daa 9a", op_daa, 0x009a, 0, 0, 0x0000, FL_CF | FL_PF | FL_AF | FL_ZF },
    { "daa 12", op_daa, 0x0012, 0, 0, 0x0012, FL_PF },
    { "das 00 cf=1", op_das, 0x0000, 0, FL_CF, 0x00a0, FL_CF | FL_PF | FL_SF },
    { "das 0f", op_das, 0x000f, 0, 0, 0x0009, FL_PF | FL_AF },
    { "aaa 0f", op_aaa, 0x000f, 0, 0, 0x0105, FL_CF | FL_PF | FL_AF },
    { "aaa 05 af=1", op_aaa, 0x0005, 0, FL_AF, 0x010b, FL_CF | FL_AF },
    { "aaa 04 no adjust", op_aaa, 0x0104, 0, FL_CF, 0x0104, 0 },
    { "aas 0200 af=1", op_aas, 0x0200, 0, FL_AF, 0x000a, FL_CF | FL_PF | FL_AF },
    { "aam 10 3b", op_aam, 0x003b, 10, 0, 0x0509, FL_PF },
    { "aam 16 ff", op_aam, 0x00ff, 16, 0, 0x0f0f, FL_PF },
    { "aad 10 0509", op_aad, 0x0509, 10, 0, 0x003b, 0 },
    { "aad 10 0000", op_aad, 0x0000, 10, FL_CF, 0x0000, FL_PF | FL_ZF },
};

START_TEST(bcd)
{
    const struct bcd_case *t = &bcd_cases[_i];
    struct cpu *c = new_cpu();
    c->mode = MODE_PROT;
    c->code_size = 4;
    struct insn in;
    memset(&in, 0, sizeof in);
    in.imm = t->imm;
    in.opk[0] = t->imm ? OPK_IMM : OPK_NONE;
    c->gpr[0] = 0xdead0000 | t->ax;
    cpu_set_rflags(c, t->fl_in);
    t->h(c, &in);
    ck_assert_msg((c->gpr[0] & 0xffff) == t->ax_out, "%s: ax 0x%04llx, expected 0x%04llx",
                  t->what, (unsigned long long)(c->gpr[0] & 0xffff),
                  (unsigned long long)t->ax_out);
    ck_assert_msg((c->gpr[0] >> 16) == 0xdead, "%s: upper bits of EAX changed", t->what);
    uint64_t fl = cpu_get_rflags(c) & ARITH;
    ck_assert_msg(fl == t->fl_out, "%s: flags 0x%03llx, expected 0x%03llx", t->what,
                  (unsigned long long)fl, (unsigned long long)t->fl_out);
    free(c);
}
END_TEST

/* ---- undefined-flag table -------------------------------------------------------- */

START_TEST(undefined_mask)
{
    struct insn in;
    memset(&in, 0, sizeof in);
    in.opsize = 1;
    in.opk[0] = OPK_RM;
    in.opk[1] = OPK_ONE;
    in.handler = op_shl;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_AF);
    in.opk[1] = OPK_CL;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_AF | FL_OF | FL_CF);
    struct cpu *c = new_cpu();
    c->gpr[1] = 0x20; /* masked to 0: nothing changes, nothing undefined */
    ck_assert_uint_eq(cpu_undefined_flags_at(c, &in), 0);
    c->gpr[1] = 3;
    ck_assert_uint_eq(cpu_undefined_flags_at(c, &in), FL_AF | FL_OF);
    in.handler = op_rol;
    ck_assert_uint_eq(cpu_undefined_flags_at(c, &in), FL_OF);
    in.handler = op_mul;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_SF | FL_ZF | FL_AF | FL_PF);
    in.handler = op_bsf;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_CF | FL_OF | FL_SF | FL_AF | FL_PF);
    in.handler = op_add;
    ck_assert_uint_eq(cpu_undefined_flags(&in), 0);
    in.handler = op_xor;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_AF);
    in.handler = op_shld;
    in.opsize = 2;
    in.opk[2] = OPK_IMM;
    in.imm = 17;
    ck_assert_uint_eq(cpu_undefined_flags(&in), ARITH);
    in.imm = 1;
    ck_assert_uint_eq(cpu_undefined_flags(&in), FL_AF);
    free(c);
}
END_TEST

static Suite *flags_suite(void)
{
    Suite *s = suite_create("flags");
    TCase *t = tcase_create("lazy_table");
    tcase_add_loop_test(t, lazy_table, 0, sizeof lazy_cases / sizeof lazy_cases[0]);
    suite_add_tcase(s, t);
    t = tcase_create("lazy_model");
    tcase_add_loop_test(t, lazy_model, 0, 4);
    tcase_add_test(t, set_rflags_filters);
    suite_add_tcase(s, t);
    t = tcase_create("eager");
    tcase_add_loop_test(t, eager_ops, 0, sizeof op_cases / sizeof op_cases[0]);
    tcase_add_loop_test(t, bcd, 0, sizeof bcd_cases / sizeof bcd_cases[0]);
    tcase_add_test(t, undefined_mask);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return th_run_suite(flags_suite());
}
