/* SSE floating point on a real CPU in 64-bit mode: the MXCSR rules
 * (rounding control, FTZ, DAZ, masked responses, unmasked exceptions as #XM
 * or #UD with the destination untouched, pre- before post-computation
 * exceptions, precision with unbounded exponent), the approximations of
 * RCP/RSQRT, ROUND's imm8, compares, conversions, alignment and CPUID
 * gating. Every expected value is worked out from the SDM rule quoted
 * above its case; diff.sse_fp and diff.sse_fp_native check the rest. */
#include "cpu/cpu_internal.h"
#include "cpu/sse_fp.h"
#include "harness.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define CODE 0x10000ull
#define DATA 0x20000ull

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static void setup(void)
{
    th_model_init(&model, "sse-fp-test");
    th_add_leaf(&model, 0, 1, 0x756e6547, 0x6c65746e, 0x49656e69);
    /* ECX: SSE3, SSE4.1; EDX: FPU, FXSR, SSE, SSE2 */
    th_add_leaf(&model, 1, 0x50654, 0, 1u | 1u << 19, 1u | 1u << 24 | 1u << 25 | 1u << 26);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    c->cr0 |= CR0_MP;
    c->stop_on_exception = true;
    th_start_at(c, CODE);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

enum { ADDSS, ADDPS, MULSS, DIVSS, COMISS, UCOMISS, CVTSS2SI, CVTTSS2SI, ROUNDSS, RCPSS,
       RSQRTSS, MINSS, MAXSS, CMPSS, CVTSD2SS, DPPS };
static const struct enc {
    uint8_t b[6];
    uint8_t len; /* without the imm8 */
    bool imm;
} encs[] = {
    [ADDSS] = {{0xf3, 0x0f, 0x58, 0xc1}, 4, false},
    [ADDPS] = {{0x0f, 0x58, 0xc1}, 3, false},
    [MULSS] = {{0xf3, 0x0f, 0x59, 0xc1}, 4, false},
    [DIVSS] = {{0xf3, 0x0f, 0x5e, 0xc1}, 4, false},
    [COMISS] = {{0x0f, 0x2f, 0xc1}, 3, false},
    [UCOMISS] = {{0x0f, 0x2e, 0xc1}, 3, false},
    [CVTSS2SI] = {{0xf3, 0x0f, 0x2d, 0xc1}, 4, false},  /* eax, xmm1 */
    [CVTTSS2SI] = {{0xf3, 0x0f, 0x2c, 0xc1}, 4, false}, /* eax, xmm1 */
    [ROUNDSS] = {{0x66, 0x0f, 0x3a, 0x0a, 0xc1}, 5, true},
    [RCPSS] = {{0xf3, 0x0f, 0x53, 0xc1}, 4, false},
    [RSQRTSS] = {{0xf3, 0x0f, 0x52, 0xc1}, 4, false},
    [MINSS] = {{0xf3, 0x0f, 0x5d, 0xc1}, 4, false},
    [MAXSS] = {{0xf3, 0x0f, 0x5f, 0xc1}, 4, false},
    [CMPSS] = {{0xf3, 0x0f, 0xc2, 0xc1}, 4, true},
    [CVTSD2SS] = {{0xf2, 0x0f, 0x5a, 0xc1}, 4, false},
    [DPPS] = {{0x66, 0x0f, 0x3a, 0x40, 0xc1}, 5, true},
};

/* One instruction on xmm0 (destination) and xmm1 (source). */
static const struct fp_case {
    const char *what;
    uint8_t insn;      /* encs[] index */
    uint8_t imm;
    bool no_osxmmexcpt;
    uint32_t mxcsr;
    uint64_t x0, x1;   /* low quadwords (upper quadwords: fixed patterns) */
    int vector;        /* -1: completes */
    uint64_t r0;       /* expected xmm0 low quadword (or rax for CVT*2SI) */
    uint32_t r_mxcsr;
    uint32_t r_flags;  /* expected ZF/PF/CF/SF/OF/AF (COMISS/UCOMISS) */
} fp_cases[] = {
    /* SDM 1 "Rounding Control Field": RN, RD, RU, RZ; PE when inexact */
    {"addss 1 + 2 exact", ADDSS, 0, false, 0x1f80, 0x3f800000, 0x40000000, -1, 0x40400000, 0x1f80, 0},
    {"addss 1 + 2^-30, RN: PE", ADDSS, 0, false, 0x1f80, 0x3f800000, 0x30800000, -1, 0x3f800000, 0x1fa0, 0},
    {"addss 1 + 2^-30, RU", ADDSS, 0, false, 0x5f80, 0x3f800000, 0x30800000, -1, 0x3f800001, 0x5fa0, 0},
    {"addss -1 - 2^-30, RD", ADDSS, 0, false, 0x3f80, 0xbf800000, 0xb0800000, -1, 0xbf800001, 0x3fa0, 0},
    {"addss -1 - 2^-30, RZ", ADDSS, 0, false, 0x7f80, 0xbf800000, 0xb0800000, -1, 0xbf800000, 0x7fa0, 0},
    /* SDM 1 "Divide-By-Zero Exception (#Z)": masked, a signed infinity */
    {"divss 1/0 masked: inf, ZE", DIVSS, 0, false, 0x1f80, 0x3f800000, 0, -1, 0x7f800000, 0x1f84, 0},
    /* SDM 3A "SIMD Floating-Point Exception (#XM)": unmasked, #XM with
     * CR4.OSXMMEXCPT = 1, #UD without; the destination is not written */
    {"divss 1/0 unmasked: #XM", DIVSS, 0, false, 0x1d80, 0x3f800000, 0, 19, 0x3f800000, 0x1d84, 0},
    {"divss 1/0 unmasked, OSXMMEXCPT = 0: #UD", DIVSS, 0, true, 0x1d80, 0x3f800000, 0, 6, 0x3f800000, 0x1d84, 0},
    /* SDM 1 "Generating SIMD Floating-Point Exceptions": an unmasked
     * pre-computation exception (SNaN in element 0) stops the instruction:
     * the post-computation PE of element 1 is not reported */
    {"addps unmasked IE: PE of another element not set", ADDPS, 0, false, 0x1f00,
     0x3f8000007f800001ull, 0x308000003f800000ull, 19, 0x3f8000007f800001ull, 0x1f01, 0},
    /* ... an unmasked post-computation exception sets every flag */
    {"addps unmasked PE: masked IE set too", ADDPS, 0, false, 0x0f80,
     0x3f8000007f800001ull, 0x308000003f800000ull, 19, 0x3f8000007f800001ull, 0x0fa1, 0},
    /* SDM 1 "Numeric Overflow Exception (#O)": masked, infinity or the
     * largest finite value by RC, OE and PE; unmasked, OE and PE only if
     * the result rounded with unbounded exponent is inexact */
    {"mulss overflow masked RN: inf", MULSS, 0, false, 0x1f80, 0x7f7fffff, 0x40000000, -1, 0x7f800000, 0x1fa8, 0},
    {"mulss overflow masked RZ: max", MULSS, 0, false, 0x7f80, 0x7f7fffff, 0x40000000, -1, 0x7f7fffff, 0x7fa8, 0},
    {"mulss overflow unmasked, exact: OE only", MULSS, 0, false, 0x1b80, 0x7f7fffff, 0x40000000, 19, 0x7f7fffff, 0x1b88, 0},
    {"mulss overflow unmasked, inexact: OE, PE", MULSS, 0, false, 0x1b80, 0x7f7fffff, 0x3fc00000, 19, 0x7f7fffff, 0x1ba8, 0},
    /* SDM 1 "Numeric Underflow Exception (#U)": masked, reported only when
     * tiny and inexact; unmasked, whenever tiny */
    {"mulss tiny exact masked: no flag", MULSS, 0, false, 0x1f80, 0x00800000, 0x3e800000, -1, 0x00200000, 0x1f80, 0},
    {"mulss tiny exact unmasked: UE", MULSS, 0, false, 0x1780, 0x00800000, 0x3e800000, 19, 0x00800000, 0x1790, 0},
    {"mulss tiny inexact masked: UE, PE", MULSS, 0, false, 0x1f80, 0x00800001, 0x3e800000, -1, 0x00200000, 0x1fb0, 0},
    /* SDM 1 "Flush-To-Zero": masked underflow, a zero of the result's sign */
    {"mulss tiny inexact, FTZ: 0", MULSS, 0, false, 0x9f80, 0x80800001, 0x3e800000, -1, 0x80000000, 0x9fb0, 0},
    /* SDM 1 "Denormals-Are-Zeros" and "Denormal Operand Exception (#D)" */
    {"addss denormal, DAZ: +0, no DE", ADDSS, 0, false, 0x1fc0, 0x00000001, 0, -1, 0, 0x1fc0, 0},
    {"addss denormal: DE", ADDSS, 0, false, 0x1f80, 0x00000001, 0, -1, 0x00000001, 0x1f82, 0},
    {"addss denormal, DM unmasked: #XM", ADDSS, 0, false, 0x1e80, 0x00000001, 0, 19, 0x00000001, 0x1e82, 0},
    /* SDM 2A "COMISS", 2B "UCOMISS": unordered ZF PF CF = 111; OF SF AF 0 */
    {"comiss QNaN: unordered, IE", COMISS, 0, false, 0x1f80, 0x7fc00000, 0x3f800000, -1, 0x7fc00000, 0x1f81, 0x45},
    {"ucomiss QNaN: unordered, no IE", UCOMISS, 0, false, 0x1f80, 0x7fc00000, 0x3f800000, -1, 0x7fc00000, 0x1f80, 0x45},
    {"ucomiss 1 < 2: CF", UCOMISS, 0, false, 0x1f80, 0x3f800000, 0x40000000, -1, 0x3f800000, 0x1f80, 0x01},
    {"ucomiss 2 = 2: ZF", UCOMISS, 0, false, 0x1f80, 0x40000000, 0x40000000, -1, 0x40000000, 0x1f80, 0x40},
    /* SDM 2A "CVTSS2SI": out of range, the integer indefinite and IE */
    {"cvtss2si 3e9: 80000000H, IE", CVTSS2SI, 0, false, 0x1f80, 0, 0x4f32d05e, -1, 0x80000000, 0x1f81, 0},
    {"cvtss2si 2.5 RN: 2", CVTSS2SI, 0, false, 0x1f80, 0, 0x40200000, -1, 2, 0x1fa0, 0},
    {"cvttss2si -1.5: -1 (truncated)", CVTTSS2SI, 0, false, 0x1f80, 0, 0xbfc00000, -1, 0xffffffff, 0x1fa0, 0},
    /* SDM 2B "ROUNDSS": imm8[1:0] RC, [2] MXCSR.RC instead, [3] no PE */
    {"roundss 1.5 RD: 1, PE", ROUNDSS, 1, false, 0x1f80, 0, 0x3fc00000, -1, 0x3f800000, 0x1fa0, 0},
    {"roundss 1.5 RD, imm8[3]: no PE", ROUNDSS, 9, false, 0x1f80, 0, 0x3fc00000, -1, 0x3f800000, 0x1f80, 0},
    {"roundss 1.5 by MXCSR.RC = RU: 2", ROUNDSS, 4, false, 0x5f80, 0, 0x3fc00000, -1, 0x40000000, 0x5fa0, 0},
    {"roundss 2.5 RN: 2", ROUNDSS, 0, false, 0x1f80, 0, 0x40200000, -1, 0x40000000, 0x1fa0, 0},
    {"roundss -0.25 RU: -0", ROUNDSS, 2, false, 0x1f80, 0, 0xbe800000, -1, 0x80000000, 0x1fa0, 0},
    {"roundss SNaN: quieted, IE", ROUNDSS, 0, false, 0x1f80, 0, 0x7f800001, -1, 0x7fc00001, 0x1f81, 0},
    /* SDM 2B "RCPSS", "RSQRTSS" and docs/fpu.md: no flags, RC ignored */
    {"rcpss 2: 0.5", RCPSS, 0, false, 0x5f80, 0, 0x40000000, -1, 0x3f000000, 0x5f80, 0},
    {"rcpss 3: RN 1/3", RCPSS, 0, false, 0x5f80, 0, 0x40400000, -1, 0x3eaaaaab, 0x5f80, 0},
    {"rcpss denormal: +inf", RCPSS, 0, false, 0x1f80, 0, 0x00000001, -1, 0x7f800000, 0x1f80, 0},
    {"rcpss 2^127: tiny result flushed", RCPSS, 0, false, 0x1f80, 0, 0x7f000000, -1, 0, 0x1f80, 0},
    {"rsqrtss 4: 0.5", RSQRTSS, 0, false, 0x1f80, 0, 0x40800000, -1, 0x3f000000, 0x1f80, 0},
    {"rsqrtss -1: default QNaN", RSQRTSS, 0, false, 0x1f80, 0, 0xbf800000, -1, 0xffc00000, 0x1f80, 0},
    {"rsqrtss -0: -inf", RSQRTSS, 0, false, 0x1f80, 0, 0x80000000, -1, 0xff800000, 0x1f80, 0},
    /* SDM 2B "MINSS": a NaN operand gives the second operand, and IE */
    {"minss QNaN, 1: 1, IE", MINSS, 0, false, 0x1f80, 0x7fc00000, 0x3f800000, -1, 0x3f800000, 0x1f81, 0},
    {"maxss -0, +0: the second", MAXSS, 0, false, 0x1f80, 0x80000000, 0, -1, 0, 0x1f80, 0},
    /* SDM 2A "CMPSS": LT signals on a QNaN, UNORD does not */
    {"cmpltss QNaN: false, IE", CMPSS, 1, false, 0x1f80, 0x7fc00000, 0x3f800000, -1, 0, 0x1f81, 0},
    {"cmpunordss QNaN: true", CMPSS, 3, false, 0x1f80, 0x7fc00000, 0x3f800000, -1, 0xffffffff, 0x1f80, 0},
    {"cmpeqss ignores imm8[7:3]", CMPSS, 0xf8, false, 0x1f80, 0x3f800000, 0x3f800000, -1, 0xffffffff, 0x1f80, 0},
    /* SDM 2A "CVTSD2SS": 1e300 overflows single precision */
    {"cvtsd2ss 1e300, OM unmasked: OE, PE", CVTSD2SS, 0, false, 0x1b80, 0x1234, 0x7e37e43c8800759cull, 19, 0x1234, 0x1ba8, 0},
    /* SDM 2A "DPPS": exceptions per multiply and add; an unmasked
     * underflow of the multiplies stops before the adds see a denormal */
    {"dpps: multiply stage stops first", DPPS, 0x31, false, 0x1680, 0x00800000, 0x3e800000, 19, 0x00800000, 0x1690, 0},
    {"dpps 0x31: 1*2 + 3*4 in element 0", DPPS, 0x31, false, 0x1f80, 0x404000003f800000ull, 0x4080000040000000ull, -1, 0x41600000, 0x1f80, 0},
};

START_TEST(mxcsr_rules)
{
    const struct fp_case *t = &fp_cases[_i];
    const struct enc *e = &encs[t->insn];
    uint8_t code[10];
    unsigned n = e->len;
    memcpy(code, e->b, n);
    if (e->imm)
        code[n++] = t->imm;
    code[n] = 0xeb; /* jmp $ */
    code[n + 1] = 0xfe;
    th_load(c, CODE, code, n + 2);
    if (t->no_osxmmexcpt)
        c->cr4 &= ~CR4_OSXMMEXCPT;
    c->fpu.mxcsr = t->mxcsr;
    c->fpu.xmm[0].q[0] = t->x0;
    c->fpu.xmm[0].q[1] = 0x1111111122222222ull;
    c->fpu.xmm[1].q[0] = t->x1;
    c->fpu.xmm[1].q[1] = 0x3333333344444444ull;
    c->gpr[0] = 0x5555555566666666ull;
    flags_set_arith(c, FL_OF | FL_SF | FL_AF);
    bool to_gpr = t->insn == CVTSS2SI || t->insn == CVTTSS2SI;
    if (t->vector >= 0) {
        th_expect_fault(c, CODE, t->vector, false, 0);
        ck_assert_msg(c->fpu.xmm[0].q[0] == t->x0 && c->gpr[0] == 0x5555555566666666ull,
                      "%s: destination written", t->what);
    } else {
        th_expect_end(c, CODE + n);
        uint64_t got = to_gpr ? c->gpr[0] : c->fpu.xmm[0].q[0];
        ck_assert_msg(got == t->r0, "%s: result 0x%llx, expected 0x%llx", t->what,
                      (unsigned long long)got, (unsigned long long)t->r0);
        if (!to_gpr)
            ck_assert_msg(c->fpu.xmm[0].q[1] == (t->insn == DPPS ? 0 : 0x1111111122222222ull),
                          "%s: upper quadword 0x%llx", t->what,
                          (unsigned long long)c->fpu.xmm[0].q[1]);
        if (t->insn == COMISS || t->insn == UCOMISS) {
            flags_materialize(c);
            ck_assert_msg((c->rflags & FL_ARITH) == t->r_flags, "%s: flags 0x%llx, expected 0x%x",
                          t->what, (unsigned long long)(c->rflags & FL_ARITH), t->r_flags);
        }
    }
    ck_assert_msg(c->fpu.mxcsr == t->r_mxcsr, "%s: mxcsr 0x%x, expected 0x%x", t->what,
                  c->fpu.mxcsr, t->r_mxcsr);
}
END_TEST

/* SDM 2A "ADDPS" exceptions: a misaligned 16-byte operand of a packed
 * form is #GP(0); the scalar form reads 4 bytes and does not care. */
START_TEST(alignment)
{
    TH_LOAD(c, CODE, 0x0f, 0x58, 0x00, 0xeb, 0xfe); /* addps xmm0, [rax] */
    c->gpr[0] = DATA + 8;
    th_expect_fault(c, CODE, EXC_GP, true, 0);
    TH_LOAD(c, CODE, 0xf3, 0x0f, 0x58, 0x00, 0xeb, 0xfe); /* addss xmm0, [rax] */
    th_start_at(c, CODE);
    cpu_write_phys(c, DATA + 8, 4, 0x3f800000);
    c->fpu.xmm[0].d[0] = 0x3f800000;
    th_expect_end(c, CODE + 4);
    ck_assert_uint_eq(c->fpu.xmm[0].d[0], 0x40000000);
}
END_TEST

/* SDM 3A Table "Action Taken for Combinations of OSFXSR, OSXMMEXCPT, SSE,
 * SSE2, SSE3, EM, MP, and TS": the SSE3 and SSE4.1 flags gate their forms. */
START_TEST(gating)
{
    TH_LOAD(c, CODE, 0xf2, 0x0f, 0x7c, 0xc1, 0xeb, 0xfe); /* haddps xmm0, xmm1 */
    c->fpu.features &= ~FPU_F_SSE3;
    th_expect_fault(c, CODE, EXC_UD, false, 0);
    TH_LOAD(c, CODE, 0x66, 0x0f, 0x3a, 0x0a, 0xc1, 0x00, 0xeb, 0xfe); /* roundss */
    th_start_at(c, CODE);
    c->fpu.features &= ~FPU_F_SSE4_1;
    th_expect_fault(c, CODE, EXC_UD, false, 0);
    c->fpu.features |= FPU_F_SSE4_1;
    c->cr0 |= CR0_TS;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_NM, false, 0);
}
END_TEST

/* SDM 2A "Opcode Column in the Instruction Summary Table" and the opcode
 * maps: prefix forms no instruction defines are #UD, with CR0.TS = 1 too. */
static const struct ud_case {
    const char *what;
    uint8_t code[4];
} ud_cases[] = {
    {"66 0F 52 (no RSQRTPD)", {0x66, 0x0f, 0x52, 0xc1}},
    {"F2 0F 53 (no RCPSD)", {0xf2, 0x0f, 0x53, 0xc1}},
    {"F2 0F 5B", {0xf2, 0x0f, 0x5b, 0xc1}},
    {"0F E6 without prefix", {0x0f, 0xe6, 0xc1, 0x90}},
    {"0F 7C without prefix (HADD)", {0x0f, 0x7c, 0xc1, 0x90}},
    {"F3 0F D0 (ADDSUB)", {0xf3, 0x0f, 0xd0, 0xc1}},
    {"F2 0F F0 register form (LDDQU)", {0xf2, 0x0f, 0xf0, 0xc1}},
    {"F3 0F 2E (UCOMISS)", {0xf3, 0x0f, 0x2e, 0xc1}},
    {"F2 0F 16", {0xf2, 0x0f, 0x16, 0xc1}},
};

START_TEST(undefined_prefix_forms)
{
    th_load(c, CODE, ud_cases[_i].code, 4);
    c->cr0 |= CR0_TS;
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

static Suite *sse_fp_suite(void)
{
    Suite *s = suite_create("sse_fp");
    TCase *tc = tcase_create("mxcsr");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, mxcsr_rules, 0, sizeof fp_cases / sizeof fp_cases[0]);
    tcase_add_test(tc, alignment);
    tcase_add_test(tc, gating);
    tcase_add_loop_test(tc, undefined_prefix_forms, 0, sizeof ud_cases / sizeof ud_cases[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(sse_fp_suite());
}
