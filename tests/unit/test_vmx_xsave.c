/* The XSAVE feature set in VMX non-root operation (SDM 3C "Instructions
 * That Cause VM Exits Unconditionally": XSETBV, exit reason 55; "...
 * Conditionally": XSAVES (63) and XRSTORS (64) with "enable XSAVES/XRSTORS"
 * and the XSS-exiting bitmap; "Changes to Instruction Behavior in VMX
 * Non-Root Operation": #UD without the control), on the VM-exit fixture's
 * model with XSAVE and leaf 0DH added. */
#include "vmx_exit_fixture.h"

static void xsave_setup(void)
{
    setup();
    for (unsigned i = 0; i < model.nleaves; i++)
        if (model.leaves[i].leaf == 1)
            model.leaves[i].ecx |= 1u << 26; /* XSAVE */
    th_add_subleaf(&model, 0xd, 0, 3, 576, 576, 0);
    th_add_subleaf(&model, 0xd, 1, 0xf, 576, 0, 0);
    c->cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
    c->xcr0 = 3;
}

#define XSETBV 0x0f, 0x01, 0xd1
#define XSAVES64_RCX 0x48, 0x0f, 0xc7, 0x29
#define XRSTORS64_RCX_DISP8 0x48, 0x0f, 0xc7, 0x59, 0x40 /* xrstors64 [rcx+0x40] */

/* XSETBV exits whatever the controls say, before its ECX/value checks:
 * ECX = 5 would be #GP(0) outside VMX non-root operation. */
START_TEST(xsetbv_exits_unconditionally)
{
    c->gpr[1] = 5;
    c->gpr[0] = 7;
    c->gpr[2] = 0;
    expect_exit(RUN(XSETBV), VMX_EXIT_xsetbv, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_instruction_len), 3);
    ck_assert_uint_eq(vget(VMCS_exit_qualification), 0);
    ck_assert_uint_eq(c->xcr0, 3);
}
END_TEST

/* CR4.OSXSAVE = 0: #UD comes before the exit (the exception bitmap sees it). */
START_TEST(xsetbv_ud_before_exit)
{
    c->cr4 &= ~CR4_OSXSAVE;
    vset(VMCS_exception_bitmap, 1u << EXC_UD);
    expect_exit(RUN(XSETBV), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(vget(VMCS_vm_exit_intr_info), VMX_INTR_INFO_VALID | (3u << 8) | EXC_UD);
}
END_TEST

/* "enable XSAVES/XRSTORS" = 0 (or secondary controls off): #UD. */
static const struct ud_case {
    const char *what;
    uint32_t proc, proc2;
} ud_cases[] = {
    { "secondary controls not activated", 0, PROC2_ENABLE_XSAVES_XRSTORS },
    { "enable XSAVES/XRSTORS = 0", PROC_ACTIVATE_SECONDARY_CONTROLS, 0 },
};

START_TEST(xsaves_without_enable_is_ud)
{
    const struct ud_case *t = &ud_cases[_i];
    vset(VMCS_cpu_based_vm_exec_control, t->proc);
    vset(VMCS_secondary_vm_exec_control, t->proc2);
    vset(VMCS_exception_bitmap, 1u << EXC_UD);
    c->gpr[1] = DATA;
    expect_exit(RUN(XSAVES64_RCX), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_msg(vget(VMCS_vm_exit_intr_info) == (VMX_INTR_INFO_VALID | (3u << 8) | EXC_UD),
                  "%s", t->what);
    expect_exit(RUN(XRSTORS64_RCX_DISP8), VMX_EXIT_exception_nmi, GUEST_CODE);
}
END_TEST

/* With the control 1 and every bitmap bit set, IA32_XSS = 0 (no
 * supervisor component exists) keeps EDX:EAX AND IA32_XSS AND the bitmap
 * 0: XSAVES runs in the guest and the next CPUID exits. */
START_TEST(xsaves_with_enable_runs)
{
    vset(VMCS_cpu_based_vm_exec_control, PROC_ACTIVATE_SECONDARY_CONTROLS);
    vset(VMCS_secondary_vm_exec_control, PROC2_ENABLE_XSAVES_XRSTORS);
    vset(VMCS_xss_exiting_bitmap, ~0ull);
    c->gpr[1] = DATA;
    c->gpr[0] = 3;
    c->gpr[2] = 0;
    memset(m->ram + DATA + 512, 0, 64);
    expect_exit(RUN(XSAVES64_RCX, CPUID), VMX_EXIT_cpuid, GUEST_CODE + 4);
    ck_assert_uint_eq(cpu_read_phys(c, DATA + 520, 8), 0x8000000000000003ull);
}
END_TEST

/* The exit rule itself (vmx_exit_rules.def FN xsaves/xrstors), with a
 * non-zero EDX:EAX AND IA32_XSS as a model with a supervisor component
 * would give it: exits exactly when that AND the bitmap is not 0 and the
 * control is 1. */
static const struct rule_case {
    uint16_t reason;
    uint32_t proc2;
    uint64_t bitmap, value;
    bool exits;
} rule_cases[] = {
    { VMX_EXIT_xsaves, PROC2_ENABLE_XSAVES_XRSTORS, 1ull << 8, 1ull << 8, true },
    { VMX_EXIT_xsaves, PROC2_ENABLE_XSAVES_XRSTORS, 1ull << 8, 1ull << 11, false },
    { VMX_EXIT_xrstors, PROC2_ENABLE_XSAVES_XRSTORS, ~0ull, 1ull << 12, true },
    { VMX_EXIT_xrstors, PROC2_ENABLE_XSAVES_XRSTORS, 0, ~0ull, false },
    { VMX_EXIT_xrstors, 0, ~0ull, ~0ull, false },
};

START_TEST(xss_exiting_bitmap_rule)
{
    const struct rule_case *t = &rule_cases[_i];
    vset(VMCS_cpu_based_vm_exec_control, PROC_ACTIVATE_SECONDARY_CONTROLS);
    vset(VMCS_secondary_vm_exec_control, t->proc2);
    vset(VMCS_xss_exiting_bitmap, t->bitmap);
    struct vmx_vmcs_view vw;
    vmx_view_fields(v, &vw);
    struct cpu_intercept q = { .reason = t->reason, .value = t->value };
    const char *rule = NULL;
    ck_assert_int_eq(vmx_exit_rule_applies(&vw, &q, &rule), t->exits);
    ck_assert_ptr_nonnull(rule);
}
END_TEST

static Suite *vmx_xsave_suite(void)
{
    Suite *s = suite_create("vmx_xsave");
    TCase *tc = tcase_create("exits");
    tcase_add_checked_fixture(tc, xsave_setup, teardown);
    tcase_add_test(tc, xsetbv_exits_unconditionally);
    tcase_add_test(tc, xsetbv_ud_before_exit);
    tcase_add_loop_test(tc, xsaves_without_enable_is_ud, 0, sizeof ud_cases / sizeof ud_cases[0]);
    tcase_add_test(tc, xsaves_with_enable_runs);
    tcase_add_loop_test(tc, xss_exiting_bitmap_rule, 0, sizeof rule_cases / sizeof rule_cases[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmx_xsave_suite());
}
