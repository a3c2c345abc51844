/* SSE/SSE2 state and checks on a real CPU in 64-bit mode: the CR0/CR4/CPUID
 * rules every SSE instruction applies first (#UD, #NM), the 16-byte
 * alignment rule (#GP(0)), LDMXCSR/STMXCSR, and the FXSAVE/FXRSTOR image
 * (layout, reserved MXCSR bits, round trip, lazy switching with CR0.TS). The
 * instruction results themselves are checked against Unicorn by diff.sse. */
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

static void setup(void)
{
    th_model_init(&model, "sse-test");
    th_add_leaf(&model, 0, 1, 0x756e6547, 0x6c65746e, 0x49656e69);
    /* EDX: FPU, FXSR, SSE, SSE2 */
    th_add_leaf(&model, 1, 0x50654, 0, 0, 1u | 1u << 24 | 1u << 25 | 1u << 26);
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

static void set_xmm(unsigned r, uint64_t lo, uint64_t hi)
{
    c->fpu.xmm[r].q[0] = lo;
    c->fpu.xmm[r].q[1] = hi;
}

/* SDM 3A "Processor State After Reset": MXCSR 1F80H, FCW 0040H, FTW 5555H. */
START_TEST(power_up_state)
{
    ck_assert_uint_eq(c->fpu.mxcsr, 0x1f80);
    ck_assert_uint_eq(c->fpu.fcw, 0x0040);
    ck_assert_uint_eq(c->fpu.ftw, 0x5555);
    ck_assert_uint_eq(c->fpu.xmm[7].q[0] | c->fpu.xmm[7].q[1], 0);
}
END_TEST

/* SDM 2B "MOVAPS", "MOVDQA": a misaligned 16-byte operand is #GP(0), for
 * loads and stores; MOVUPS/MOVDQU accept it. */
static const struct align_case {
    const char *what;
    uint8_t code[5];
    unsigned len;
    uint64_t addr;
    bool faults;
} align_cases[] = {
    { "movaps xmm0, [rax] misaligned", { 0x0f, 0x28, 0x00 }, 3, DATA + 8, true },
    { "movaps xmm0, [rax] aligned", { 0x0f, 0x28, 0x00 }, 3, DATA + 16, false },
    { "movdqa [rax], xmm1 misaligned", { 0x66, 0x0f, 0x7f, 0x08 }, 4, DATA + 1, true },
    { "movdqu xmm2, [rax] misaligned", { 0xf3, 0x0f, 0x6f, 0x10 }, 4, DATA + 1, false },
    { "movups [rax], xmm3 misaligned", { 0x0f, 0x11, 0x18 }, 3, DATA + 4, false },
    { "paddb xmm1, [rax] misaligned", { 0x66, 0x0f, 0xfc, 0x08 }, 4, DATA + 8, true },
    { "movntdq [rax], xmm1 misaligned", { 0x66, 0x0f, 0xe7, 0x08 }, 4, DATA + 8, true },
    { "movq xmm1, [rax] misaligned (8 bytes)", { 0xf3, 0x0f, 0x7e, 0x08 }, 4, DATA + 3, false },
};

START_TEST(alignment)
{
    const struct align_case *t = &align_cases[_i];
    uint8_t code[8];
    memcpy(code, t->code, t->len);
    code[t->len] = 0xeb; /* jmp $ */
    code[t->len + 1] = 0xfe;
    th_load(c, CODE, code, t->len + 2);
    c->gpr[0] = t->addr;
    set_xmm(1, 0x1122334455667788ull, 0x99aabbccddeeff00ull);
    set_xmm(3, 0x0102030405060708ull, 0x090a0b0c0d0e0f10ull);
    if (t->faults)
        th_expect_fault(c, CODE, EXC_GP, true, 0);
    else
        th_expect_end(c, CODE + t->len);
}
END_TEST

/* SDM 3A Table "Action Taken for Combinations of OSFXSR, OSXMMEXCPT, SSE,
 * SSE2, SSE3, EM, MP, and TS": pxor xmm0, xmm0 under each condition. */
enum gate { G_NONE, G_NO_OSFXSR, G_EM, G_TS, G_NO_SSE2 };
static const struct gate_case {
    const char *what;
    enum gate g;
    int vector; /* -1: runs */
} gate_cases[] = {
    { "enabled", G_NONE, -1 },
    { "CR4.OSFXSR = 0", G_NO_OSFXSR, EXC_UD },
    { "CR0.EM = 1", G_EM, EXC_UD },
    { "CR0.TS = 1", G_TS, EXC_NM },
    { "CPUID.01H:EDX.SSE2 = 0", G_NO_SSE2, EXC_UD },
};

START_TEST(gating)
{
    const struct gate_case *t = &gate_cases[_i];
    TH_LOAD(c, CODE, 0x66, 0x0f, 0xef, 0xc0, 0xeb, 0xfe); /* pxor xmm0, xmm0; jmp $ */
    set_xmm(0, 5, 6);
    switch (t->g) {
    case G_NO_OSFXSR: c->cr4 &= ~CR4_OSFXSR; break;
    case G_EM: c->cr0 |= CR0_EM; break;
    case G_TS: c->cr0 |= CR0_TS; break;
    case G_NO_SSE2: c->fpu.features &= ~FPU_F_SSE2; break;
    default: break;
    }
    if (t->vector < 0) {
        th_expect_end(c, CODE + 4);
        ck_assert_uint_eq(c->fpu.xmm[0].q[0] | c->fpu.xmm[0].q[1], 0);
    } else {
        th_expect_fault(c, CODE, t->vector, false, 0);
        ck_assert_msg(c->fpu.xmm[0].q[0] == 5, "%s: xmm0 changed", t->what);
    }
}
END_TEST

/* A cached block keeps its specialised handlers: CR0.TS set after the block
 * first ran, and CR4.OSFXSR cleared, must still fault (fastpath_sse.c
 * re-checks), and a misaligned operand still #GP. */
START_TEST(cached_block_rechecks)
{
    /* movdqa xmm1, [rax]; pxor xmm0, xmm1; movdqu [rax], xmm0; jmp $ */
    TH_LOAD(c, CODE, 0x66, 0x0f, 0x6f, 0x08, 0x66, 0x0f, 0xef, 0xc1, 0xf3, 0x0f, 0x7f, 0x00,
            0xeb, 0xfe);
    c->gpr[0] = DATA;
    cpu_write_phys(c, DATA, 8, 0x1234);
    th_expect_end(c, CODE + 12);
    ck_assert_uint_eq(cpu_read_phys(c, DATA, 8), 0x1234);
    c->cr0 |= CR0_TS;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_NM, false, 0);
    c->cr0 &= ~CR0_TS;
    c->cr4 &= ~CR4_OSFXSR;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_UD, false, 0);
    c->cr4 |= CR4_OSFXSR;
    c->gpr[0] = DATA + 8;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
}
END_TEST

/* SDM 2A "Opcode Column in the Instruction Summary Table": an NP form with
 * 66/F2/F3 is another instruction or #UD; the ones not built are #UD. */
static const struct np_case {
    const char *what;
    uint8_t code[4];
} np_cases[] = {
    { "F3 0F 12 /r mem (SSE3 MOVSLDUP), not MOVLPS", { 0xf3, 0x0f, 0x12, 0x00 } },
    { "F2 0F 12 /r mem (SSE3 MOVDDUP), not MOVLPS", { 0xf2, 0x0f, 0x12, 0x00 } },
    { "66 0F 12 /r reg, not MOVHLPS", { 0x66, 0x0f, 0x12, 0xc1 } },
    { "F2 0F 2B /r mem, not MOVNTPS", { 0xf2, 0x0f, 0x2b, 0x00 } },
    { "F3 0F 28 /r reg, not MOVAPS", { 0xf3, 0x0f, 0x28, 0xc1 } },
    { "66 0F AE /0 mem, not FXSAVE", { 0x66, 0x0f, 0xae, 0x00 } },
};

START_TEST(np_forms_ud)
{
    th_load(c, CODE, np_cases[_i].code, 4);
    c->gpr[0] = DATA;
    th_expect_fault(c, CODE, EXC_UD, false, 0);
}
END_TEST

/* SDM 2A "LDMXCSR": a reserved bit (31:16) is #GP(0); STMXCSR stores it. */
START_TEST(ldmxcsr_stmxcsr)
{
    /* ldmxcsr [rax]; stmxcsr [rax+4]; jmp $ */
    TH_LOAD(c, CODE, 0x0f, 0xae, 0x10, 0x0f, 0xae, 0x58, 0x04, 0xeb, 0xfe);
    c->gpr[0] = DATA;
    cpu_write_phys(c, DATA, 4, 0x0000ffc0u);
    th_expect_end(c, CODE + 7);
    ck_assert_uint_eq(c->fpu.mxcsr, 0xffc0);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 4, 4), 0xffc0);

    th_start_at(c, CODE);
    cpu_write_phys(c, DATA, 4, 0x00011f80u);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
    ck_assert_uint_eq(c->fpu.mxcsr, 0xffc0);
}
END_TEST

/* SDM 2A "FXSAVE" Tables "Layout of the 64-Bit Mode FXSAVE64 Map" and
 * "Non-64-Bit-Mode Layout": fields, ST(i) in stack order from TOP, XMM0-15,
 * bytes 464-511 untouched. */
START_TEST(fxsave_layout)
{
    for (int wide = 0; wide < 2; wide++) {
        th_start_at(c, CODE);
        if (wide)
            TH_LOAD(c, CODE, 0x48, 0x0f, 0xae, 0x00, 0xeb, 0xfe); /* fxsave64 [rax] */
        else
            TH_LOAD(c, CODE, 0x0f, 0xae, 0x00, 0xeb, 0xfe); /* fxsave [rax] */
        memset(m->ram + DATA, 0xaa, 512);
        c->gpr[0] = DATA;
        c->fpu.fcw = 0x037f;
        c->fpu.fsw = (uint16_t)(3u << 11 | 0x0021); /* TOP = 3, PE and IE */
        c->fpu.ftw = 0xfff0; /* R0, R1 valid (00), R2-R7 empty (11) */
        c->fpu.fop = 0x7ab;
        c->fpu.fip = 0x123456789aull;
        c->fpu.fdp = 0xfedcba9876ull;
        c->fpu.fcs = 0x33;
        c->fpu.fds = 0x2b;
        c->fpu.mxcsr = 0x9fc0;
        c->fpu.st[3].signif = 0x8000000000000001ull; /* ST(0) = R3 */
        c->fpu.st[3].sexp = 0x3fff;
        c->fpu.st[4].signif = 0xc000000000000000ull; /* ST(1) = R4 */
        c->fpu.st[4].sexp = 0xc000;
        for (unsigned i = 0; i < 16; i++)
            set_xmm(i, 0x0101010101010101ull * i, ~0x0101010101010101ull * i);
        th_expect_end(c, CODE + 3 + (unsigned)wide);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 0, 2), 0x037f);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 2, 2), 3u << 11 | 0x21);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 4, 1), 0x03); /* abridged: R0, R1 */
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 6, 2), 0x7ab);
        if (wide) {
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 8), 0x123456789aull);
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 16, 8), 0xfedcba9876ull);
        } else {
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 8, 4), 0x3456789a);
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 12, 4), 0x33);
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 16, 4), 0xdcba9876);
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 20, 4), 0x2b);
        }
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 24, 4), 0x9fc0);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 28, 4), 0xffff);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 32, 8), 0x8000000000000001ull);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 40, 2), 0x3fff);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 48, 8), 0xc000000000000000ull);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 56, 2), 0xc000);
        ck_assert_uint_eq(cpu_read_phys(c, DATA + 42, 2), 0xaaaa); /* padding untouched */
        for (unsigned i = 0; i < 16; i++) {
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 160 + 16 * i, 8), 0x0101010101010101ull * i);
            ck_assert_uint_eq(cpu_read_phys(c, DATA + 168 + 16 * i, 8), ~0x0101010101010101ull * i);
        }
        for (unsigned b = 464; b < 512; b += 8)
            ck_assert_uint_eq(cpu_read_phys(c, DATA + b, 8), 0xaaaaaaaaaaaaaaaaull);
    }
}
END_TEST

/* SDM 2A "FXSAVE"/"FXRSTOR" -- Exceptions: CR0.TS or CR0.EM -> #NM, a
 * misaligned area -> #GP(0); FXRSTOR with an MXCSR reserved bit -> #GP(0)
 * and nothing restored. */
START_TEST(fxsave_faults)
{
    TH_LOAD(c, CODE, 0x0f, 0xae, 0x00, 0xeb, 0xfe); /* fxsave [rax] */
    c->gpr[0] = DATA + 8;
    th_expect_fault(c, CODE, EXC_GP, true, 0);
    c->gpr[0] = DATA;
    c->cr0 |= CR0_TS;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_NM, false, 0);
    c->cr0 = (c->cr0 & ~CR0_TS) | CR0_EM;
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_NM, false, 0);
    c->cr0 &= ~CR0_EM;

    /* fxrstor64 [rax] with MXCSR = 0x10000 in the image */
    TH_LOAD(c, CODE, 0x48, 0x0f, 0xae, 0x08, 0xeb, 0xfe);
    memset(m->ram + DATA, 0x11, 512);
    cpu_write_phys(c, DATA + 24, 4, 0x00010000u);
    set_xmm(0, 7, 8);
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_GP, true, 0);
    ck_assert_uint_eq(c->fpu.xmm[0].q[0], 7);
    ck_assert_uint_eq(c->fpu.mxcsr, 0x1f80);
}
END_TEST

/* Lazy FPU switching as an OS does it (SDM 3A "Saving the x87 FPU, MMX,
 * SSE, and SSE2 State on Task or Context Switches"): with CR0.TS set the
 * first SSE instruction is #NM; the handler clears TS (CLTS), saves the old
 * owner's state with FXSAVE64 and loads the new one with FXRSTOR64; the
 * instruction then runs on the restored state. */
START_TEST(lazy_switch)
{
    /* 0x00: fxsave64 [rax]; fxrstor64 [rbx]; paddd xmm0, xmm1; jmp $ */
    TH_LOAD(c, CODE, 0x48, 0x0f, 0xae, 0x00, 0x48, 0x0f, 0xae, 0x0b, 0x66, 0x0f, 0xfe, 0xc1,
            0xeb, 0xfe);
    set_xmm(0, 1, 2);
    set_xmm(1, 10, 20);
    c->gpr[0] = DATA;         /* save area of the old task */
    c->gpr[3] = DATA + 0x200; /* image of the new task */
    th_start_at(c, CODE + 8);
    c->cr0 |= CR0_TS;
    th_expect_fault(c, CODE + 8, EXC_NM, false, 0);

    /* the new task's image: MXCSR default, xmm0 = 100, xmm1 = 5 */
    memset(m->ram + DATA + 0x200, 0, 512);
    cpu_write_phys(c, DATA + 0x200 + 24, 4, 0x1f80);
    cpu_write_phys(c, DATA + 0x200 + 160, 8, 100);
    cpu_write_phys(c, DATA + 0x200 + 176, 8, 5);
    c->cr0 &= ~CR0_TS; /* CLTS */
    th_start_at(c, CODE);
    th_expect_end(c, CODE + 12);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 160, 8), 1);  /* old xmm0 saved */
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 176, 8), 10); /* old xmm1 saved */
    ck_assert_uint_eq(c->fpu.xmm[0].q[0], 105);
    ck_assert_uint_eq(c->fpu.xmm[0].q[1], 0);
    ck_assert_uint_eq(c->fpu.ftw, 0xffff); /* abridged 0: every register empty */
}
END_TEST

static Suite *sse_suite(void)
{
    Suite *s = suite_create("sse");
    TCase *tc = tcase_create("state");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, power_up_state);
    tcase_add_loop_test(tc, alignment, 0, sizeof align_cases / sizeof align_cases[0]);
    tcase_add_loop_test(tc, gating, 0, sizeof gate_cases / sizeof gate_cases[0]);
    tcase_add_test(tc, cached_block_rechecks);
    tcase_add_loop_test(tc, np_forms_ud, 0, sizeof np_cases / sizeof np_cases[0]);
    tcase_add_test(tc, ldmxcsr_stmxcsr);
    tcase_add_test(tc, fxsave_layout);
    tcase_add_test(tc, fxsave_faults);
    tcase_add_test(tc, lazy_switch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(sse_suite());
}
