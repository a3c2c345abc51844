/* Integer SIMD on a real CPU in 64-bit mode: the MMX environment (#UD, #NM,
 * #MF), the x87 aliasing of MMX (TOP, tags, exponent bits), EMMS, the CPUID
 * gating of MMX, SSSE3, SSE4.1, SSE4.2, CRC32 and POPCNT, the alignment rules
 * of the new forms, and the results Unicorn cannot check (64-bit string
 * lengths, the equal-ordered partial match, CRC-32C check value, MASKMOVQ).
 * The other results are checked against Unicorn by diff.simd. */
#include "cpu/cpu_internal.h"
#include "cpu/sse.h"
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

/* CPUID.01H: EDX FPU MMX FXSR SSE SSE2; ECX SSSE3 SSE4.1 SSE4.2 POPCNT. */
#define ECX_ALL (1u << 9 | 1u << 19 | 1u << 20 | 1u << 23)
#define EDX_ALL (1u | 1u << 23 | 1u << 24 | 1u << 25 | 1u << 26)

static void setup_with(uint32_t ecx, uint32_t edx)
{
    th_model_init(&model, "simd-test");
    th_add_leaf(&model, 0, 1, 0x756e6547, 0x6c65746e, 0x49656e69);
    th_add_leaf(&model, 1, 0x50654, 0, ecx, edx);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    c->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    c->cr0 |= CR0_MP | CR0_NE;
    c->stop_on_exception = true;
    th_start_at(c, CODE);
}

static void setup(void) { setup_with(ECX_ALL, EDX_ALL); }

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* Load code followed by "jmp $". */
static void load(const uint8_t *code, unsigned len)
{
    uint8_t b[32];
    memcpy(b, code, len);
    b[len] = 0xeb;
    b[len + 1] = 0xfe;
    th_load(c, CODE, b, len + 2);
}

static void set_top(unsigned top)
{
    c->fpu.fsw = (uint16_t)((c->fpu.fsw & ~0x3800u) | (top << 11));
}

static unsigned top(void) { return (c->fpu.fsw >> 11) & 7; }

/* ---- the MMX environment --------------------------------------------------- */

/* SDM 2 Table "Exception Conditions for Legacy SIMD/MMX Instructions without
 * FP Exception", on paddb mm0, mm1 (0F FC C1): #UD for CR0.EM and a clear
 * CPUID.MMX, #NM for CR0.TS, #MF for a pending x87 exception with CR0.NE;
 * CR4.OSFXSR does not matter. */
enum mgate { MG_NONE, MG_EM, MG_TS, MG_NO_MMX, MG_PENDING, MG_PENDING_NE0, MG_NO_OSFXSR, MG_EM_TS };
static const struct mgate_case {
    const char *what;
    enum mgate g;
    int vector; /* -1: runs */
} mgate_cases[] = {
    { "enabled", MG_NONE, -1 },
    { "CR0.EM = 1", MG_EM, EXC_UD },
    { "CR0.TS = 1", MG_TS, EXC_NM },
    { "CR0.EM = CR0.TS = 1: #UD first", MG_EM_TS, EXC_UD },
    { "CPUID.01H:EDX.MMX = 0", MG_NO_MMX, EXC_UD },
    { "FSW.ES = 1, CR0.NE = 1", MG_PENDING, EXC_MF },
    { "FSW.ES = 1, CR0.NE = 0 (FERR# not wired: runs)", MG_PENDING_NE0, -1 },
    { "CR4.OSFXSR = 0", MG_NO_OSFXSR, -1 },
};

START_TEST(mmx_gating)
{
    const struct mgate_case *t = &mgate_cases[_i];
    static const uint8_t code[] = { 0x0f, 0xfc, 0xc1 };
    load(code, sizeof code);
    c->fpu.st[0].signif = 0x0102030405060708ull;
    c->fpu.st[1].signif = 0x0101010101010101ull;
    set_top(5);
    switch (t->g) {
    case MG_EM: c->cr0 |= CR0_EM; break;
    case MG_TS: c->cr0 |= CR0_TS; break;
    case MG_EM_TS: c->cr0 |= CR0_EM | CR0_TS; break;
    case MG_NO_MMX: c->fpu.features &= ~FPU_F_MMX; break;
    case MG_PENDING: c->fpu.fsw |= 0x0081; break;
    case MG_PENDING_NE0: c->fpu.fsw |= 0x0081; c->cr0 &= ~CR0_NE; break;
    case MG_NO_OSFXSR: c->cr4 &= ~CR4_OSFXSR; break;
    default: break;
    }
    if (t->vector < 0) {
        th_expect_end(c, CODE + sizeof code);
        ck_assert_msg(c->fpu.st[0].signif == 0x0203040506070809ull, "%s: mm0 %llx", t->what,
                      (unsigned long long)c->fpu.st[0].signif);
    } else {
        th_expect_fault(c, CODE, t->vector, false, 0);
        ck_assert_msg(c->fpu.st[0].signif == 0x0102030405060708ull, "%s: mm0 changed", t->what);
        ck_assert_msg(top() == 5 && c->fpu.ftw == 0x5555, "%s: x87 state changed", t->what);
    }
}
END_TEST

/* SDM 1 Table "Effects of MMX Instructions on x87 FPU State": TOP = 0,
 * every tag valid (00B), the written register's bits 79:64 all ones; a
 * register only read keeps its exponent. EMMS: every tag empty (11B), TOP
 * unchanged. */
START_TEST(mmx_x87_aliasing)
{
    static const uint8_t code[] = {
        0x0f, 0xfc, 0xd3,       /* paddb mm2, mm3 */
        0x0f, 0x7e, 0xe0,       /* movd eax, mm4 */
    };
    load(code, sizeof code);
    for (unsigned i = 0; i < 8; i++) {
        c->fpu.st[i].signif = 0x1111111111111111ull * i;
        c->fpu.st[i].sexp = 0x3fff;
    }
    set_top(3);
    c->fpu.ftw = 0xffff;
    th_expect_end(c, CODE + sizeof code);
    ck_assert_uint_eq(top(), 0);
    ck_assert_uint_eq(c->fpu.ftw, 0);
    ck_assert_uint_eq(c->fpu.st[2].signif, 0x5555555555555555ull);
    ck_assert_uint_eq(c->fpu.st[2].sexp, 0xffff);
    ck_assert_uint_eq(c->fpu.st[3].sexp, 0x3fff);
    ck_assert_uint_eq(c->fpu.st[4].sexp, 0x3fff);
    ck_assert_uint_eq(c->gpr[0], 0x44444444);

    static const uint8_t emms[] = { 0x0f, 0x77 };
    load(emms, sizeof emms);
    th_start_at(c, CODE);
    set_top(6);
    th_expect_end(c, CODE + sizeof emms);
    ck_assert_uint_eq(c->fpu.ftw, 0xffff);
    ck_assert_uint_eq(top(), 6);
}
END_TEST

/* SDM 2B "MOVQ2DQ", "MOVDQ2Q": they use an XMM register, so CR4.OSFXSR = 0
 * is #UD; SDM 2B "PSHUFW": an MMX form, CR4.OSFXSR does not matter. */
static const struct osfxsr_case {
    const char *what;
    uint8_t code[6];
    unsigned len;
    int vector;
} osfxsr_cases[] = {
    { "movq2dq xmm1, mm2", { 0xf3, 0x0f, 0xd6, 0xca }, 4, EXC_UD },
    { "movdq2q mm1, xmm2", { 0xf2, 0x0f, 0xd6, 0xca }, 4, EXC_UD },
    { "pshufw mm1, mm2, 0x1b", { 0x0f, 0x70, 0xca, 0x1b }, 4, -1 },
    { "pshufb mm1, mm2", { 0x0f, 0x38, 0x00, 0xca }, 4, -1 },
    { "pshufb xmm1, xmm2", { 0x66, 0x0f, 0x38, 0x00, 0xca }, 5, EXC_UD },
};

START_TEST(osfxsr_rules)
{
    const struct osfxsr_case *t = &osfxsr_cases[_i];
    load(t->code, t->len);
    c->cr4 &= ~CR4_OSFXSR;
    if (t->vector < 0)
        th_expect_end(c, CODE + t->len);
    else
        th_expect_fault(c, CODE, t->vector, false, 0);
}
END_TEST

/* SDM 2A "REX Prefixes": REX.R and REX.B do not extend MMX register
 * numbers. pabsb mm1, mm3 with REX.RB (45 0F 38 1C CB); paddb mm0, mm1
 * with REX.B (41 0F FC C1). */
START_TEST(mmx_rex_ignored)
{
    static const uint8_t code[] = { 0x45, 0x0f, 0x38, 0x1c, 0xcb, 0x41, 0x0f, 0xfc, 0xc1 };
    load(code, sizeof code);
    c->fpu.st[0].signif = 0x0101010101010101ull;
    c->fpu.st[1].signif = 0;
    c->fpu.st[3].signif = 0x80ff7f0201fe0381ull;
    th_expect_end(c, CODE + sizeof code);
    ck_assert_uint_eq(c->fpu.st[1].signif, 0x80017f020102037full);
    ck_assert_uint_eq(c->fpu.st[0].signif, 0x8102800302030480ull);
}
END_TEST

/* SDM 2B "PUNPCKLBW/PUNPCKLWD/PUNPCKLDQ": the MMX forms read m32. With the
 * operand in the last 4 bytes of the mapping (4 x 2 MiB) there is no #PF;
 * an m64 operand there faults (the 8-byte paddb). */
START_TEST(punpckl_mm_reads_m32)
{
    static const uint8_t code[] = { 0x0f, 0x60, 0x08 }; /* punpcklbw mm1, [rax] */
    load(code, sizeof code);
    c->gpr[0] = (4ull << 21) - 4;
    memcpy(m->ram + (4ull << 21) - 4, "\x11\x22\x33\x44", 4);
    c->fpu.st[1].signif = 0x0807060504030201ull;
    th_expect_end(c, CODE + sizeof code);
    ck_assert_uint_eq(c->fpu.st[1].signif, 0x4404330322021101ull);
    static const uint8_t code8[] = { 0x0f, 0xfc, 0x08 }; /* paddb mm1, [rax] */
    load(code8, sizeof code8);
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_PF, true, 0);
}
END_TEST

/* ---- CPUID gating ------------------------------------------------------------ */

/* Each form is #UD when the model clears its flag; CRC32 and POPCNT ignore
 * CR0.EM, CR0.TS and CR4.OSFXSR (SDM 3A "System Programming for Instruction
 * Set Extensions and Processor Extended States"). */
static const struct cpuid_case {
    const char *what;
    uint8_t code[8];
    unsigned len;
    uint32_t clear_ecx, clear_edx; /* the flag the form needs */
    bool em_ts_ignored;            /* runs with CR0.EM = CR0.TS = 1, OSFXSR = 0 */
} cpuid_cases[] = {
    { "pshufb xmm0, xmm1 (SSSE3)", { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, 1u << 9, 0, false },
    { "pabsw mm0, mm1 (SSSE3)", { 0x0f, 0x38, 0x1d, 0xc1 }, 4, 1u << 9, 0, false },
    { "palignr xmm0, xmm1, 3 (SSSE3)", { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 3 }, 6, 1u << 9, 0, false },
    { "pminsb xmm0, xmm1 (SSE4.1)", { 0x66, 0x0f, 0x38, 0x38, 0xc1 }, 5, 1u << 19, 0, false },
    { "pextrb eax, xmm1, 3 (SSE4.1)", { 0x66, 0x0f, 0x3a, 0x14, 0xc8, 3 }, 6, 1u << 19, 0, false },
    { "pcmpgtq xmm0, xmm1 (SSE4.2)", { 0x66, 0x0f, 0x38, 0x37, 0xc1 }, 5, 1u << 20, 0, false },
    { "pcmpistri xmm0, xmm1, 0 (SSE4.2)", { 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0 }, 6, 1u << 20, 0,
      false },
    { "crc32 eax, cl (SSE4.2)", { 0xf2, 0x0f, 0x38, 0xf0, 0xc1 }, 5, 1u << 20, 0, true },
    { "crc32 rax, rcx (SSE4.2)", { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1 }, 6, 1u << 20, 0, true },
    { "popcnt eax, ecx", { 0xf3, 0x0f, 0xb8, 0xc1 }, 4, 1u << 23, 0, true },
    { "paddq mm0, mm1 (SSE2)", { 0x0f, 0xd4, 0xc1 }, 3, 0, 1u << 26, false },
    { "pavgb mm0, mm1 (SSE)", { 0x0f, 0xe0, 0xc1 }, 3, 0, 1u << 25, false },
    { "emms (MMX)", { 0x0f, 0x77 }, 2, 0, 1u << 23, false },
};

START_TEST(cpuid_gating)
{
    const struct cpuid_case *t = &cpuid_cases[_i];
    load(t->code, t->len);
    th_expect_end(c, CODE + t->len);
    if (t->em_ts_ignored) {
        th_start_at(c, CODE);
        c->cr0 |= CR0_EM | CR0_TS;
        c->cr4 &= ~CR4_OSFXSR;
        th_expect_end(c, CODE + t->len);
    }
    teardown();
    setup_with(ECX_ALL & ~t->clear_ecx, EDX_ALL & ~t->clear_edx);
    load(t->code, t->len);
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* ---- alignment ------------------------------------------------------------------ */

/* SDM 2 "Exception Conditions for Legacy SIMD ... with 16-Byte Alignment":
 * misaligned 16-byte legacy-SSE operands are #GP(0); the string compares,
 * the PMOVSX/PMOVZX (8/4/2-byte) and the MMX forms take any address. */
static const struct align_case {
    const char *what;
    uint8_t code[7];
    unsigned len;
    bool faults;
} align_cases[] = {
    { "palignr xmm1, [rax], 1", { 0x66, 0x0f, 0x3a, 0x0f, 0x08, 1 }, 6, true },
    { "pshufb xmm1, [rax]", { 0x66, 0x0f, 0x38, 0x00, 0x08 }, 5, true },
    { "ptest xmm1, [rax]", { 0x66, 0x0f, 0x38, 0x17, 0x08 }, 5, true },
    { "movntdqa xmm1, [rax]", { 0x66, 0x0f, 0x38, 0x2a, 0x08 }, 5, true },
    { "pcmpgtq xmm1, [rax]", { 0x66, 0x0f, 0x38, 0x37, 0x08 }, 5, true },
    { "mpsadbw xmm1, [rax], 5", { 0x66, 0x0f, 0x3a, 0x42, 0x08, 5 }, 6, true },
    { "pcmpistri xmm1, [rax], 0", { 0x66, 0x0f, 0x3a, 0x63, 0x08, 0 }, 6, false },
    { "pcmpestrm xmm1, [rax], 0", { 0x66, 0x0f, 0x3a, 0x60, 0x08, 0 }, 6, false },
    { "pmovsxbw xmm1, [rax] (8 bytes)", { 0x66, 0x0f, 0x38, 0x20, 0x08 }, 5, false },
    { "pmovzxbq xmm1, [rax] (2 bytes)", { 0x66, 0x0f, 0x38, 0x32, 0x08 }, 5, false },
    { "pshufb mm1, [rax]", { 0x0f, 0x38, 0x00, 0x08 }, 4, false },
    { "paddb mm1, [rax]", { 0x0f, 0xfc, 0x08 }, 3, false },
};

START_TEST(alignment)
{
    const struct align_case *t = &align_cases[_i];
    load(t->code, t->len);
    c->gpr[0] = DATA + 3;
    if (t->faults)
        th_expect_fault(c, CODE, EXC_GP, true, 0);
    else
        th_expect_end(c, CODE + t->len);
}
END_TEST

/* ---- results Unicorn cannot check -------------------------------------------------- */

static void set_xmm_bytes(unsigned r, const char *s)
{
    memset(&c->fpu.xmm[r], 0, 16);
    memcpy(&c->fpu.xmm[r], s, strlen(s) < 16 ? strlen(s) : 16);
}

/* SDM 2B "Aggregation Operation", Equal Ordered: a needle that runs past
 * the last element of the register matches there ("abc" against
 * "...............a" gives IntRes2 bit 15). pcmpistri xmm1, xmm2, 0x0c. */
START_TEST(equal_ordered_partial_match)
{
    static const uint8_t code[] = { 0x66, 0x0f, 0x3a, 0x63, 0xca, 0x0c };
    load(code, sizeof code);
    set_xmm_bytes(1, "abc");
    set_xmm_bytes(2, "xxxxxxxxxxxxxxxa");
    th_expect_end(c, CODE + sizeof code);
    ck_assert_uint_eq(c->gpr[1], 15);
    uint64_t fl = cpu_get_rflags(c);
    ck_assert_msg((fl & (FL_CF | FL_ZF | FL_SF | FL_OF)) == (FL_CF | FL_SF),
                  "flags %#llx: expected CF and SF", (unsigned long long)fl);
}
END_TEST

/* SDM 2B "PCMPESTRI": with REX.W the lengths are |RAX| and |RDX| as 64-bit
 * values, saturated to 16: RDX = 100000005H is 16 (no ZF), where its low
 * doubleword alone would be 5. pcmpestri xmm1, xmm2, 0x08 (equal each). */
START_TEST(explicit_length_64)
{
    static const uint8_t code[] = { 0x66, 0x48, 0x0f, 0x3a, 0x61, 0xca, 0x08 };
    load(code, sizeof code);
    set_xmm_bytes(1, "0123456789abcdef");
    set_xmm_bytes(2, "0123456789abcdeX");
    c->gpr[0] = 16;
    c->gpr[2] = 0x100000005ull;
    th_expect_end(c, CODE + sizeof code);
    /* negative polarity is off: IntRes2 = bits 0-14 set, index 0 */
    ck_assert_uint_eq(c->gpr[1], 0);
    ck_assert_msg(!(cpu_get_rflags(c) & FL_ZF), "ZF set: length taken as 5");
    /* without REX.W the same RDX is 5: ZF set */
    static const uint8_t code32[] = { 0x66, 0x0f, 0x3a, 0x61, 0xca, 0x08 };
    load(code32, sizeof code32);
    th_start_at(c, CODE);
    th_expect_end(c, CODE + sizeof code32);
    ck_assert_msg(cpu_get_rflags(c) & FL_ZF, "ZF clear: length not 5");
}
END_TEST

/* CRC-32C check value (RFC 3720 B.4 / the CRC catalogue: "123456789" ->
 * E3069283H with initial and final inversion, which CRC32 leaves to
 * software): crc32 rax, qword [rbx]; crc32 eax, byte [rbx + 8]. */
START_TEST(crc32c_check_value)
{
    static const uint8_t code[] = { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x03,
                                    0xf2, 0x0f, 0x38, 0xf0, 0x43, 0x08 };
    load(code, sizeof code);
    memcpy(m->ram + DATA, "123456789", 9);
    c->gpr[0] = 0xffffffffffffffffull; /* bits 63:32 must come out zero */
    c->gpr[3] = DATA;
    th_expect_end(c, CODE + sizeof code);
    ck_assert_uint_eq(c->gpr[0], 0xe3069283u ^ 0xffffffffu);
}
END_TEST

/* SDM 2B "MASKMOVQ": only the bytes whose mask byte has bit 7 set are
 * written, at DS:RDI. */
START_TEST(maskmovq)
{
    static const uint8_t code[] = { 0x0f, 0xf7, 0xca }; /* maskmovq mm1, mm2 */
    load(code, sizeof code);
    memset(m->ram + DATA, 0xee, 16);
    c->fpu.st[1].signif = 0x8877665544332211ull;
    c->fpu.st[2].signif = 0x80007f00ff000180ull;
    c->gpr[7] = DATA + 4;
    th_expect_end(c, CODE + sizeof code);
    static const uint8_t want[12] = { 0xee, 0xee, 0xee, 0xee, 0x11, 0xee,
                                      0xee, 0x44, 0xee, 0xee, 0xee, 0x88 };
    ck_assert_msg(!memcmp(m->ram + DATA, want, sizeof want), "memory differs");
}
END_TEST

static Suite *simd_suite(void)
{
    Suite *s = suite_create("simd");
    TCase *tc = tcase_create("mmx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, mmx_gating, 0, sizeof mgate_cases / sizeof mgate_cases[0]);
    tcase_add_test(tc, mmx_x87_aliasing);
    tcase_add_loop_test(tc, osfxsr_rules, 0, sizeof osfxsr_cases / sizeof osfxsr_cases[0]);
    tcase_add_test(tc, maskmovq);
    tcase_add_test(tc, mmx_rex_ignored);
    tcase_add_test(tc, punpckl_mm_reads_m32);
    suite_add_tcase(s, tc);
    tc = tcase_create("gating");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, cpuid_gating, 0, sizeof cpuid_cases / sizeof cpuid_cases[0]);
    tcase_add_loop_test(tc, alignment, 0, sizeof align_cases / sizeof align_cases[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("results");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, equal_ordered_partial_match);
    tcase_add_test(tc, explicit_length_64);
    tcase_add_test(tc, crc32c_check_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(simd_suite());
}
