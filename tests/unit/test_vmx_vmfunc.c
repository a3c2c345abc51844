/* VM functions (SDM 3C "VM Functions", "EPTP Switching"; SDM 2B "VMFUNC"):
 * a 64-bit guest under EPT on the skylake-server model executes VMFUNC;
 * EPTP switching to the second entry of the EPTP list remaps DATA without
 * a VM exit, every failing case exits with reason 59, VMFUNC without
 * "enable VM functions" is #UD, and VM entry checks the VM-function
 * controls. The set-up is vmx_ept_fixture.h's. */
#include "vmx_ept_fixture.h"

#define ALT_EPML4 0x304000ull /* a copy of the identity tables with DATA -> DATA2 */
#define ALT_EPTP (ALT_EPML4 | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB)
#define EPTP_LIST 0x308000ull

#define VMFUNC 0x0f, 0x01, 0xd4
#define MOV_EAX(i) 0xb8, (i) & 0xff, ((i) >> 8) & 0xff, ((i) >> 16) & 0xff, ((uint32_t)(i) >> 24) & 0xff
#define MOV_ECX(i) 0xb9, (i) & 0xff, ((i) >> 8) & 0xff, ((i) >> 16) & 0xff, ((uint32_t)(i) >> 24) & 0xff
#define MOV_RBX_DATA 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x02, 0x00 /* mov rbx, [DATA] */
#define PROC2_VMFUNC ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_ENABLE_VM_FUNCTIONS)

/* The alternative EPT: the identity tables copied, the PTE of DATA -> DATA2;
 * the EPTP list: [0] the identity EPTP, [1] the alternative, [2] memory
 * type 7, [3] 5-level walk (the model has 4-level only), [4] A/D enabled,
 * [511] the alternative; VM functions on with EPTP switching. */
static void vmfunc_setup(void)
{
    setup();
    memcpy(m->ram + ALT_EPML4, m->ram + EPML4, 4 * 4096);
    *ram64(ALT_EPML4) = (ALT_EPML4 + 0x1000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x1000) = (ALT_EPML4 + 0x2000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x2000) = (ALT_EPML4 + 0x3000) | EPT_RWX;
    *ram64(ALT_EPML4 + 0x3000 + ((DATA >> 12) & 511) * 8) = DATA2 | EPT_RWX | WB;
    memset(m->ram + EPTP_LIST, 0, 4096);
    *ram64(EPTP_LIST) = EPTP_WB4;
    *ram64(EPTP_LIST + 8) = ALT_EPTP;
    *ram64(EPTP_LIST + 16) = ALT_EPTP | 7;
    *ram64(EPTP_LIST + 24) = (ALT_EPTP & ~EPTP_WALK_MASK) | (4ull << EPTP_WALK_SHIFT);
    *ram64(EPTP_LIST + 32) = ALT_EPTP | EPTP_AD;
    *ram64(EPTP_LIST + 8 * 511) = ALT_EPTP;
    *ram64(DATA) = 0x1111;
    *ram64(DATA2) = 0x2222;
    put(VMCS_secondary_vm_exec_control, PROC2_VMFUNC);
    put(VMCS_vm_function_control, 1);
    put(VMCS_eptp_list_address, EPTP_LIST);
}

/* Function 0 with index 1: the next access to DATA translates through the
 * new EPTP at once -- the translation cached before is the old EPTP's --
 * with no VM exit and no RFLAGS change; the EPTP field holds the new
 * EPTP, and, as the model supports "EPT-violation #VE", the EPTP-index
 * field the index (whatever that control's setting). */
START_TEST(eptp_switching)
{
    put(VMCS_eptp_index, 0x77);
    c->gpr[0] = c->gpr[3] = 0;
    uint64_t exits = vmx_get_stats(v)->exits[VMX_EXIT_vmfunc];
    expect_exit(GUEST(false, MOV_RBX_DATA, MOV_EAX(0), MOV_ECX(1), VMFUNC, MOV_RAX_DATA, HLT),
                VMX_EXIT_hlt, GUEST_CODE + 8 + 5 + 5 + 3 + 8);
    ck_assert_uint_eq(get(VMCS_ept_pointer), ALT_EPTP);
    ck_assert_uint_eq(c->gpr[3], 0x1111);
    ck_assert_uint_eq(c->gpr[0], 0x2222);
    ck_assert_uint_eq(get(VMCS_eptp_index), 1);
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_vmfunc], exits);
    /* the guest resumes on the new EPTP; index 0 switches back */
    expect_exit(GUEST(true, MOV_RBX_DATA, MOV_EAX(0), MOV_ECX(0), VMFUNC, MOV_RAX_DATA, HLT),
                VMX_EXIT_hlt, GUEST_CODE + 8 + 5 + 5 + 3 + 8);
    ck_assert_uint_eq(c->gpr[3], 0x2222);
    ck_assert_uint_eq(c->gpr[0], 0x1111);
    ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
    ck_assert_uint_eq(get(VMCS_eptp_index), 0);
}
END_TEST

/* VMFUNC that fails exits with reason 59 at the instruction, length 3 (SDM
 * 3C "VM Functions", "EPTP Switching"): a function not enabled,
 * index >= 512, an EPTP VM entry would refuse. An A/D-enabled EPTP is valid
 * (the model has EPT A/D flags). */
static const struct {
    const char *what;
    uint32_t eax, ecx, ctl;
    bool exits;
} vmfunc_cases[] = {
    { "index 511", 0, 511, 1, false },
    { "A/D-enabled EPTP", 0, 4, 1, false },
    { "index 512", 0, 512, 1, true },
    { "index 0xffffffff", 0, 0xffffffffu, 1, true },
    { "memory type 7", 0, 2, 1, true },
    { "5-level walk", 0, 3, 1, true },
    { "zero EPTP", 0, 5, 1, true },
    { "function 1 not enabled", 1, 1, 1, true },
    { "function 63 not enabled", 63, 1, 1, true },
    { "function 0 not enabled", 0, 1, 0, true },
};

START_TEST(vmfunc_exits)
{
    put(VMCS_vm_function_control, vmfunc_cases[_i].ctl);
    static uint8_t code[32];
    uint8_t g[] = { MOV_EAX(vmfunc_cases[_i].eax), MOV_ECX(vmfunc_cases[_i].ecx), VMFUNC, HLT };
    memcpy(code, g, sizeof g);
    uint32_t r = run_guest(code, sizeof g, false);
    if (vmfunc_cases[_i].exits) {
        expect_exit(r, VMX_EXIT_vmfunc, GUEST_CODE + 10);
        ck_assert_uint_eq(get(VMCS_vm_exit_instruction_len), 3);
        ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
    } else {
        expect_exit(r, VMX_EXIT_hlt, GUEST_CODE + 13);
        ck_assert_uint_eq(get(VMCS_ept_pointer), *ram64(EPTP_LIST + 8ull * vmfunc_cases[_i].ecx));
    }
}
END_TEST

/* Without "enable VM functions", and with EAX >= 64, VMFUNC is #UD in
 * non-root operation (the exception bitmap turns it into exit 0); #UD in
 * root operation. */
static const uint32_t ud_functions[] = { 64, 0x80000000u, 0xffffffffu };

START_TEST(vmfunc_ud_eax_64)
{
    c->stop_on_exception = false;
    static uint8_t code[32];
    uint8_t g[] = { MOV_EAX(ud_functions[_i]), MOV_ECX(1), VMFUNC, HLT };
    memcpy(code, g, sizeof g);
    expect_exit(run_guest(code, sizeof g, false), VMX_EXIT_exception_nmi, GUEST_CODE + 10);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), 0x80000306u);
    ck_assert_uint_eq(get(VMCS_ept_pointer), EPTP_WB4);
}
END_TEST

START_TEST(vmfunc_ud)
{
    put(VMCS_secondary_vm_exec_control, PROC2_ENABLE_EPT);
    c->stop_on_exception = false; /* the exception bitmap (all ones) decides */
    expect_exit(GUEST(false, MOV_EAX(0), MOV_ECX(1), VMFUNC, HLT), VMX_EXIT_exception_nmi,
                GUEST_CODE + 10);
    c->stop_on_exception = true;
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), 0x80000306u);
    struct outcome o = ROOT(MOV_EAX(0), MOV_ECX(1), VMFUNC);
    ck_assert(o.faulted);
    ck_assert_int_eq(o.vector, EXC_UD);
}
END_TEST

/* SDM 3C "Checks on VMX Controls": with "enable VM functions", reserved
 * VM-function controls (IA32_VMX_VMFUNC), EPTP switching without "enable
 * EPT", an EPTP-list address misaligned or beyond MAXPHYADDR: VMfailValid(7).
 * Without EPTP switching the address is not checked. */
static const struct {
    const char *what;
    uint32_t proc2;
    uint64_t ctl, list;
    bool ok;
} entry_cases[] = {
    { "valid", PROC2_VMFUNC, 1, EPTP_LIST, true },
    { "reserved bit 1", PROC2_VMFUNC, 3, EPTP_LIST, false },
    { "reserved bit 63", PROC2_VMFUNC, 1ull << 63, EPTP_LIST, false },
    { "EPTP switching without EPT", (uint32_t)PROC2_ENABLE_VM_FUNCTIONS, 1, EPTP_LIST, false },
    { "list misaligned", PROC2_VMFUNC, 1, EPTP_LIST + 8, false },
    { "list bit 11", PROC2_VMFUNC, 1, EPTP_LIST | 0x800, false },
    { "list at 1 << MAXPHYADDR", PROC2_VMFUNC, 1, 1ull << 46, false },
    { "list below 1 << MAXPHYADDR", PROC2_VMFUNC, 1, (1ull << 46) - 0x1000, true },
    { "no EPTP switching: list ignored", PROC2_VMFUNC, 0, 1, true },
    { "VM functions off: controls ignored", (uint32_t)PROC2_ENABLE_EPT, ~0ull, 1, true },
};

START_TEST(vm_function_entry_checks)
{
    put(VMCS_secondary_vm_exec_control, entry_cases[_i].proc2);
    put(VMCS_vm_function_control, entry_cases[_i].ctl);
    put(VMCS_eptp_list_address, entry_cases[_i].list);
    expect_launch_control_check(entry_cases[_i].what, entry_cases[_i].ok);
}
END_TEST

static Suite *vmfunc_suite(void)
{
    Suite *s = suite_create("vmx_vmfunc");
    TCase *tc = tcase_create("vmfunc");
    tcase_add_checked_fixture(tc, vmfunc_setup, teardown);
    tcase_add_test(tc, eptp_switching);
    tcase_add_loop_test(tc, vmfunc_exits, 0, (int)(sizeof vmfunc_cases / sizeof vmfunc_cases[0]));
    tcase_add_test(tc, vmfunc_ud);
    tcase_add_loop_test(tc, vmfunc_ud_eax_64, 0, (int)(sizeof ud_functions / sizeof ud_functions[0]));
    tcase_add_loop_test(tc, vm_function_entry_checks, 0,
                        (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(vmfunc_suite());
}
