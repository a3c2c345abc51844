/* The x87 FPU's instruction-level rules on a real CPU in 64-bit mode: #NM
 * for every EM/MP/TS combination, pending exceptions and #MF (CR0.NE = 1)
 * or none (CR0.NE = 0), masked and unmasked responses, stack faults, FLDCW
 * and ES, FOP/FIP/FDP, and the FNSTENV/FNSAVE/FLDENV/FRSTOR images. The
 * arithmetic itself is checked against Unicorn by diff.x87. */
#include "cpu/cpu_internal.h"
#include "cpu/x87.h"
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
    th_model_init(&model, "x87-test");
    th_add_leaf(&model, 0, 1, 0x756e6547, 0x6c65746e, 0x49656e69);
    /* ECX: SSE3 (FISTTP); EDX: FPU, FXSR */
    th_add_leaf(&model, 1, 0x50654, 0, 1u, 1u | 1u << 24);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    c->cr0 = (c->cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE;
    c->stop_on_exception = true;
    th_start_at(c, CODE);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

static uint16_t st0_sexp(void) { return x87_st(c, 0)->sexp; }
static uint64_t st0_signif(void) { return x87_st(c, 0)->signif; }

/* SDM 3A Table "Action Taken By x87 FPU Instructions for Different
 * Combinations of EM, MP, and TS": x87 -> #NM when EM or TS; WAIT -> #NM
 * when MP and TS. */
static const struct nm_case {
    unsigned em, mp, ts;
    bool x87_nm, wait_nm;
} nm_cases[] = {
    {0, 0, 0, false, false}, {0, 0, 1, true, false}, {0, 1, 0, false, false},
    {0, 1, 1, true, true},   {1, 0, 0, true, false}, {1, 0, 1, true, false},
    {1, 1, 0, true, false},  {1, 1, 1, true, true},
};

START_TEST(nm_rules)
{
    const struct nm_case *t = &nm_cases[_i];
    /* the state of FNINIT (the power-up FCW 0040H unmasks everything and
     * FTW 5555H fills the stack, so FLD1 would overflow) */
    c->fpu.fcw = FCW_INIT;
    c->fpu.ftw = 0xffff;
    c->cr0 &= ~(CR0_EM | CR0_MP | CR0_TS);
    c->cr0 |= (t->em ? CR0_EM : 0) | (t->mp ? CR0_MP : 0) | (t->ts ? CR0_TS : 0);
    TH_LOAD(c, CODE, 0xd9, 0xe8, 0xeb, 0xfe); /* fld1; jmp $ */
    if (t->x87_nm)
        th_expect_fault(c, CODE, EXC_NM, false, 0);
    else
        th_expect_end(c, CODE + 2);
    th_start_at(c, CODE);
    TH_LOAD(c, CODE, 0x9b, 0xeb, 0xfe); /* wait; jmp $ */
    if (t->wait_nm)
        th_expect_fault(c, CODE, EXC_NM, false, 0);
    else
        th_expect_end(c, CODE + 1);
}
END_TEST

/* fninit; fldcw [DATA] (ZE unmasked); fldz; fld1; fdiv st0, st1 (1/0). */
static void raise_unmasked_ze(void)
{
    cpu_write_phys(c, DATA, 2, 0x037b);
    c->gpr[0] = DATA;
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xee, 0xd9, 0xe8, 0xd8, 0xf1, 0xeb, 0xfe);
    th_expect_end(c, CODE + 10);
}

/* SDM 1 "Divide-By-Zero Exception (#Z)": unmasked, the destination is left
 * unchanged and ZE, ES, B are set; the next waiting instruction takes #MF
 * (CR0.NE = 1) before it executes, a non-waiting one does not. */
START_TEST(unmasked_ze_then_mf)
{
    raise_unmasked_ze();
    ck_assert_uint_eq(c->fpu.fsw & (FSW_ZE | FSW_ES | FSW_B), FSW_ZE | FSW_ES | FSW_B);
    ck_assert_uint_eq(st0_sexp(), 0x3fff); /* still 1.0 */
    ck_assert_uint_eq(st0_signif(), 1ull << 63);
    ck_assert_uint_eq(c->fpu.fop, 0x0f1); /* D8 F1 */
    ck_assert_uint_eq(c->fpu.fip, CODE + 8);
    th_start_at(c, CODE + 12);
    TH_LOAD(c, CODE + 12, 0xdf, 0xe0, 0xd9, 0xd0, 0xeb, 0xfe); /* fnstsw ax; fnop */
    th_expect_fault(c, CODE + 14, EXC_MF, false, 0);
    ck_assert_uint_eq(c->gpr[0] & 0xffff, c->fpu.fsw);
    th_start_at(c, CODE + 12);
    TH_LOAD(c, CODE + 12, 0x9b, 0xeb, 0xfe); /* wait */
    th_expect_fault(c, CODE + 12, EXC_MF, false, 0);
    th_start_at(c, CODE + 12);
    TH_LOAD(c, CODE + 12, 0xdb, 0xe2, 0x9b, 0xd9, 0xd0, 0xeb, 0xfe); /* fnclex; wait; fnop */
    th_expect_end(c, CODE + 17);
    ck_assert_uint_eq(c->fpu.fsw & 0x80ff, 0);
}
END_TEST

/* CR0.NE = 0: nvmx holds IGNNE# asserted (docs/fpu.md): no #MF, ES stays. */
START_TEST(ne0_ignores_pending)
{
    c->cr0 &= ~CR0_NE;
    raise_unmasked_ze();
    th_start_at(c, CODE + 12);
    TH_LOAD(c, CODE + 12, 0x9b, 0xd9, 0xd0, 0xeb, 0xfe); /* wait; fnop */
    th_expect_end(c, CODE + 15);
    ck_assert_uint_eq(c->fpu.fsw & FSW_ES, FSW_ES);
}
END_TEST

/* SDM 1 "Stack Overflow or Underflow Exception (#IS)": masked, a ninth push
 * loads the QNaN indefinite with IE, SF and C1 = 1; an operation on an
 * empty register gives the indefinite with C1 = 0. */
START_TEST(stack_faults_masked)
{
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9,
            0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xeb, 0xfe); /* fninit; 9 x fld1 */
    th_expect_end(c, CODE + 20);
    ck_assert_uint_eq(c->fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
    ck_assert_uint_eq(st0_sexp(), 0xffff);
    ck_assert_uint_eq(st0_signif(), 0xc000000000000000ull);
    th_start_at(c, CODE);
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd8, 0xc1, 0xeb, 0xfe); /* fninit; fadd st0, st1 */
    th_expect_end(c, CODE + 4);
    ck_assert_uint_eq(c->fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF);
    ck_assert_uint_eq(st0_sexp(), 0xffff); /* ST0 gets the indefinite */
    ck_assert_uint_eq(st0_signif(), 0xc000000000000000ull);
    ck_assert_uint_eq(x87_tag(c, x87_top(c)), X87_TAG_SPECIAL);
}
END_TEST

/* SDM 1 "Numeric Overflow Exception (#O)": unmasked, the result's exponent
 * is divided by 2^24576 (re-biased) and stored; masked, infinity. */
START_TEST(overflow_responses)
{
    /* largest normal: 7FFE FFFF.. ; fld [rax]; fmul st0, st0 */
    cpu_write_phys(c, DATA, 8, ~0ull);
    cpu_write_phys(c, DATA + 8, 2, 0x7ffe);
    cpu_write_phys(c, DATA + 16, 2, 0x0377); /* OE unmasked */
    c->gpr[0] = DATA;
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xdb, 0x28, 0xd8, 0xc8, 0xeb, 0xfe);
    th_expect_end(c, CODE + 6);
    ck_assert_uint_eq(st0_sexp(), 0x7fff); /* masked: +infinity */
    ck_assert_uint_eq(st0_signif(), 1ull << 63);
    ck_assert_uint_eq(c->fpu.fsw & (FSW_OE | FSW_PE | FSW_ES), FSW_OE | FSW_PE);
    th_start_at(c, CODE);
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0x68, 0x10, 0xdb, 0x28, 0xd8, 0xc8, 0xeb, 0xfe);
    th_expect_end(c, CODE + 9);
    ck_assert_uint_eq(st0_sexp(), 0x7ffe * 2 - 0x3fff + 1 - 24576);
    ck_assert_uint_eq(c->fpu.fsw & (FSW_OE | FSW_ES), FSW_OE | FSW_ES);
}
END_TEST

/* SDM 2A "FLDCW": a flag set and now unmasked becomes pending (ES). */
START_TEST(fldcw_sets_es)
{
    cpu_write_phys(c, DATA, 2, 0x037e); /* IE unmasked */
    c->gpr[0] = DATA;
    /* fninit; fadd st0, st1 (empty: IE masked); fldcw [rax]; fnop */
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd8, 0xc1, 0xd9, 0x28, 0xd9, 0xd0, 0xeb, 0xfe);
    th_expect_fault(c, CODE + 6, EXC_MF, false, 0);
    ck_assert_uint_eq(c->fpu.fcw, 0x037e);
    ck_assert_uint_eq(c->fpu.fsw & (FSW_ES | FSW_B), FSW_ES | FSW_B);
}
END_TEST

/* SDM 2A "FSTENV/FNSTENV", SDM 1 Figure "Protected Mode x87 FPU State
 * Image in Memory, 32-Bit Format" (64-bit mode uses it) and the 16-bit
 * format with 66; FNSTENV then masks every exception. FOP/FIP/FDP are those
 * of the last non-control instruction (FADD m64 here, not FNSTENV). */
START_TEST(fnstenv_layouts)
{
    cpu_write_phys(c, DATA + 0x100, 8, 0x4000000000000000ull); /* 2.0 */
    c->gpr[0] = DATA;
    c->gpr[3] = DATA + 0x100;
    /* fninit; fld1; fadd qword [rbx]; fnstenv [rax]; 66 fnstenv [rax+0x40] */
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0xe8, 0xdc, 0x03, 0xd9, 0x30, 0x66, 0xd9, 0x70, 0x40,
            0xeb, 0xfe);
    th_expect_end(c, CODE + 12);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0, 4), 0xffff037f);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 4, 4), 0xffff0000u | 7u << 11);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 4), 0xffff3fff); /* R7 valid */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 12, 4), (uint32_t)(CODE + 4));
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 16, 4), (uint32_t)c->seg[SEG_CS].sel | 0x403u << 16);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 20, 4), (uint32_t)(DATA + 0x100));
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 24, 4), 0xffff0000u | c->seg[SEG_DS].sel);
    /* the 16-bit image, taken after the first FNSTENV masked everything */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x40, 2), 0x037f);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x44, 2), 0x3fff);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x46, 2), (uint16_t)(CODE + 4));
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 0x4a, 2), (uint16_t)(DATA + 0x100));
    ck_assert_uint_eq(st0_sexp(), 0x4000); /* 3.0 */
    ck_assert_uint_eq(st0_signif(), 0xc000000000000000ull);
}
END_TEST

/* SDM 2A "FSAVE/FNSAVE" and "FRSTOR": the environment then ST0-ST7 (10
 * bytes each); FNSAVE initialises the FPU; FRSTOR brings everything back. */
START_TEST(fnsave_frstor_round_trip)
{
    c->gpr[0] = DATA;
    /* fninit; fldpi; fld1; fnsave [rax]; then frstor [rax] */
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0xeb, 0xd9, 0xe8, 0xdd, 0x30, 0xeb, 0xfe);
    th_expect_end(c, CODE + 8);
    ck_assert_uint_eq(c->fpu.fcw, 0x037f); /* FNSAVE did FNINIT */
    ck_assert_uint_eq(c->fpu.ftw, 0xffff);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 2), 0x0fff); /* R7 R6 valid */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 28, 8), 1ull << 63);   /* ST0 = 1.0 */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 36, 2), 0x3fff);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 38, 8), 0xc90fdaa22168c235ull); /* ST1 = pi */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 46, 2), 0x4000);
    th_start_at(c, CODE + 8);
    TH_LOAD(c, CODE + 8, 0xdd, 0x20, 0xeb, 0xfe);
    th_expect_end(c, CODE + 10);
    ck_assert_uint_eq(x87_top(c), 6);
    ck_assert_uint_eq(c->fpu.ftw, 0x0fff);
    ck_assert_uint_eq(st0_sexp(), 0x3fff);
    ck_assert_uint_eq(x87_st(c, 1)->signif, 0xc90fdaa22168c235ull);
    ck_assert_uint_eq(c->fpu.fop, 0x1e8); /* FLD1: D9 E8 */
}
END_TEST

/* SDM 2A "FLD1/.../FLDZ": the constants are rounded as RC says. */
START_TEST(constants_follow_rc)
{
    cpu_write_phys(c, DATA, 2, 0x077f); /* RC = down */
    c->gpr[0] = DATA;
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xeb, 0xeb, 0xfe); /* fldpi */
    th_expect_end(c, CODE + 6);
    ck_assert_uint_eq(st0_signif(), 0xc90fdaa22168c234ull);
    cpu_write_phys(c, DATA, 2, 0x037f);
    th_start_at(c, CODE);
    th_expect_end(c, CODE + 6);
    ck_assert_uint_eq(st0_signif(), 0xc90fdaa22168c235ull);
}
END_TEST

/* SDM 2A "FISTTP": #UD without SSE3; FCOMI sets ZF/PF/CF, clears OF/SF/AF. */
START_TEST(fisttp_and_fcomi)
{
    c->gpr[0] = DATA;
    /* fninit; fld1; fld1; fcomi st1; fisttp dword [rax] */
    TH_LOAD(c, CODE, 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xdb, 0xf1, 0xdb, 0x08, 0xeb, 0xfe);
    cpu_set_rflags(c, 0x2 | 0x8d5);
    th_expect_end(c, CODE + 10);
    ck_assert_uint_eq(cpu_get_rflags(c) & 0x8d5, 0x40); /* ZF only */
    ck_assert_uint_eq(cpu_read_phys(c, DATA, 4), 1);
    model.leaves[1].ecx = 0;
    cpu_destroy(c);
    c = th_cpu_create(m, &model, &cost);
    cpu_power_on_reset(c);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    c->stop_on_exception = true;
    th_start_at(c, CODE + 8);
    th_expect_fault(c, CODE + 8, EXC_UD, false, 0);
}
END_TEST

/* SDM 1 Figures "Real Mode x87 FPU State Image in Memory, 32-Bit Format"
 * and "... 16-Bit Format": FIP and FDP are 20/32-bit linear addresses,
 * split around FOP; FLDENV takes them back as offsets. Real mode at
 * CS:IP = 0070:0F00 (linear 1600H), DS = 0100H. */
START_TEST(real_mode_env_layouts)
{
    cpu_power_on_reset(c);
    for (int s = 0; s < SEG_NSEGS; s++) {
        c->seg[s].sel = 0;
        c->seg[s].base = 0;
    }
    c->seg[SEG_CS].sel = 0x0070;
    c->seg[SEG_CS].base = 0x700;
    c->seg[SEG_DS].sel = 0x0100;
    c->seg[SEG_DS].base = 0x1000;
    c->rip = 0x0f00;
    c->gpr[3] = 0x20; /* BX */
    c->gpr[6] = 0x40; /* SI */
    cpu_update_mode(c);
    cpu_write_phys(c, 0x1020, 8, 0x3ff0000000000000ull); /* 1.0 */
    /* fninit; fld1; fadd qword [bx]; fnstenv [si]; 66 fnstenv [si+0x20];
     * fldenv [si]; jmp $ */
    TH_LOAD(c, 0x1600, 0xdb, 0xe3, 0xd9, 0xe8, 0xdc, 0x07, 0xd9, 0x34, 0x66, 0xd9, 0x74, 0x20,
            0xd9, 0x24, 0xeb, 0xfe);
    th_expect_end(c, 0x0f0e);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1040, 2), 0x037f);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1042, 2), 0x3800);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1044, 2), 0x3fff);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1046, 2), 0x1604); /* linear FIP 15:0 */
    ck_assert_uint_eq(cpu_read_phys(c, 0x1048, 2), 0x0407); /* FIP 19:16 | FOP (DC 07) */
    ck_assert_uint_eq(cpu_read_phys(c, 0x104a, 2), 0x1020); /* linear FDP 15:0 */
    ck_assert_uint_eq(cpu_read_phys(c, 0x104c, 2), 0x0000);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1060, 4), 0xffff037f);
    ck_assert_uint_eq(cpu_read_phys(c, 0x106c, 4), 0x1604);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1070, 4), 0x0407);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1074, 4), 0x1020);
    ck_assert_uint_eq(cpu_read_phys(c, 0x1078, 4), 0);
    ck_assert_uint_eq(c->fpu.fip, 0x1604);
    ck_assert_uint_eq(c->fpu.fcs, 0);
    ck_assert_uint_eq(c->fpu.fop, 0x407);
    ck_assert_uint_eq(c->fpu.fdp, 0x1020);
}
END_TEST

/* SDM 1 "x87 FPU Control Word": bits 6, 7, 15:13 are reserved; FNSTCW
 * returns bit 6 as 1 and the others as 0 (as on the host processor). */
START_TEST(fldcw_reserved_bits)
{
    static const uint16_t in[] = {0x0000, 0xffff, 0x7f7f}, out[] = {0x0040, 0x1f7f, 0x1f7f};
    c->gpr[0] = DATA;
    TH_LOAD(c, CODE, 0xd9, 0x28, 0xd9, 0x78, 0x02, 0xeb, 0xfe); /* fldcw [rax]; fnstcw [rax+2] */
    for (unsigned i = 0; i < 3; i++) {
        th_start_at(c, CODE);
        cpu_write_phys(c, DATA, 2, in[i]);
        th_expect_end(c, CODE + 5);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 2, 2), out[i]);
    }
}
END_TEST

static Suite *x87_suite(void)
{
    Suite *s = suite_create("x87");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, nm_rules, 0, sizeof nm_cases / sizeof nm_cases[0]);
    tcase_add_test(tc, unmasked_ze_then_mf);
    tcase_add_test(tc, ne0_ignores_pending);
    tcase_add_test(tc, stack_faults_masked);
    tcase_add_test(tc, overflow_responses);
    tcase_add_test(tc, fldcw_sets_es);
    tcase_add_test(tc, fnstenv_layouts);
    tcase_add_test(tc, fnsave_frstor_round_trip);
    tcase_add_test(tc, constants_follow_rc);
    tcase_add_test(tc, fisttp_and_fcomi);
    tcase_add_test(tc, real_mode_env_layouts);
    tcase_add_test(tc, fldcw_reserved_bits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return th_run_suite(x87_suite()); }
