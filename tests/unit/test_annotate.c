/* The annotation instruction (include/nvmx/annotate.h): 0F 1F 80 with the
 * displacement "nvmx" is a NOP -- registers, flags and RIP as any NOP --
 * that hands its payload (RAX, RBX, RCX, at its RIP) to c->annotate;
 * other NOP forms do not, and it costs what a NOP costs. */
#include "cpu/cpu_internal.h"
#include "harness.h"
#include "nvmx/annotate.h"

#include <check.h>

#define RAM_SIZE (4u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define CODE 0x10000ull

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static struct {
    unsigned calls;
    uint64_t rip, rax, rbx, rcx;
} seen;

static void annotate_cb(void *ctx, const struct cpu *cpu)
{
    ck_assert_ptr_eq(ctx, &seen);
    seen.calls++;
    seen.rip = cpu->rip;
    seen.rax = cpu->gpr[0];
    seen.rbx = cpu->gpr[3];
    seen.rcx = cpu->gpr[1];
}

static void setup(void)
{
    th_model_init(&model, "annotate-test");
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 2, false, GDT_BASE);
    c->stop_on_exception = true;
    memset(&seen, 0, sizeof seen);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* mov eax, 1; mov ebx, 3; mov ecx, 7; annotate; jmp $ */
#define PAYLOAD 0xb8, 1, 0, 0, 0, 0xbb, 3, 0, 0, 0, 0xb9, 7, 0, 0, 0
#define ANNOTATE 0x0f, 0x1f, 0x80, 0x6e, 0x76, 0x6d, 0x78
#define PARK 0xeb, 0xfe

START_TEST(annotation_is_a_nop_that_reports_its_payload)
{
    c->annotate = annotate_cb;
    c->annotate_ctx = &seen;
    TH_LOAD(c, CODE, PAYLOAD, ANNOTATE, PARK);
    th_start_at(c, CODE);
    uint64_t flags = cpu_get_rflags(c);
    th_expect_end(c, CODE + 15 + 7);
    ck_assert_uint_eq(seen.calls, 1);
    ck_assert_msg(seen.rip == CODE + 15, "rip 0x%llx", (unsigned long long)seen.rip);
    ck_assert_uint_eq(seen.rax, NVMX_ANNOTATE_LEVEL);
    ck_assert_uint_eq(seen.rbx, 3);
    ck_assert_uint_eq(seen.rcx, 7);
    /* a NOP: the registers and flags stay as the MOVs left them */
    ck_assert_uint_eq(c->gpr[0], 1);
    ck_assert_uint_eq(c->gpr[3], 3);
    ck_assert_uint_eq(c->gpr[1], 7);
    ck_assert_uint_eq(cpu_get_rflags(c), flags);
}
END_TEST

/* Other forms of 0F 1F /0 are plain NOPs: another displacement, another
 * base register, a ModRM.reg other than 0, the register form. */
static const uint8_t other_nops[][8] = {
    { 0x0f, 0x1f, 0x80, 0x6e, 0x76, 0x6d, 0x79 }, /* [rax + 0x796d766e] */
    { 0x0f, 0x1f, 0x81, 0x6e, 0x76, 0x6d, 0x78 }, /* [rcx + "nvmx"] */
    { 0x0f, 0x1f, 0x88, 0x6e, 0x76, 0x6d, 0x78 }, /* /1 */
    { 0x0f, 0x1f, 0xc0, 0x90, 0x90, 0x90, 0x90 }, /* nop eax; 4 x nop */
    { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x90, 0x90 }, /* the 5-byte NOP; 2 x nop */
};

START_TEST(other_long_nops_report_nothing)
{
    c->annotate = annotate_cb;
    c->annotate_ctx = &seen;
    th_load(c, CODE, other_nops[_i], 7);
    TH_LOAD(c, CODE + 7, PARK);
    th_start_at(c, CODE);
    th_expect_end(c, CODE + 7);
    ck_assert_msg(seen.calls == 0, "form %d: %u annotations", _i, seen.calls);
}
END_TEST

/* Without a listener it is a NOP, and it costs what a NOP costs with one. */
START_TEST(annotation_costs_the_same_with_or_without_a_listener)
{
    TH_LOAD(c, CODE, ANNOTATE, ANNOTATE, ANNOTATE, PARK);
    th_start_at(c, CODE);
    uint64_t c0 = c->cycles;
    th_expect_end(c, CODE + 21);
    uint64_t plain = c->cycles - c0;
    ck_assert_uint_eq(seen.calls, 0);

    teardown();
    setup();
    c->annotate = annotate_cb;
    c->annotate_ctx = &seen;
    TH_LOAD(c, CODE, ANNOTATE, ANNOTATE, ANNOTATE, PARK);
    th_start_at(c, CODE);
    c0 = c->cycles;
    th_expect_end(c, CODE + 21);
    ck_assert_uint_eq(seen.calls, 3);
    ck_assert_msg(c->cycles - c0 == plain, "%llu cycles with a listener, %llu without",
                  (unsigned long long)(c->cycles - c0), (unsigned long long)plain);
}
END_TEST

static Suite *annotate_suite(void)
{
    Suite *s = suite_create("annotate");
    TCase *tc = tcase_create("annotate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, annotation_is_a_nop_that_reports_its_payload);
    tcase_add_loop_test(tc, other_long_nops_report_nothing, 0,
                        sizeof other_nops / sizeof other_nops[0]);
    tcase_add_test(tc, annotation_costs_the_same_with_or_without_a_listener);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return th_run_suite(annotate_suite()); }
