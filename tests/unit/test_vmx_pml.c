/* Page-modification logging (SDM 3C "Page-Modification Logging"): a 64-bit
 * guest under EPT with accessed and dirty flags on the skylake-server model
 * writes memory; each EPT dirty flag set appends its guest-physical page to
 * the log from index 511 down, an A/D update with the index outside 0-511
 * is a log-full VM exit (reason 62) that leaves the flag and the memory
 * untouched, and VM entry checks the PML controls. The set-up is
 * vmx_ept_fixture.h's. */
#include "vmx_ept_fixture.h"

#define PML_LOG 0x308000ull

#define MOV_DATA2_RAX 0x48, 0x89, 0x04, 0x25, 0x00, 0x10, 0x02, 0x00 /* mov [DATA2], rax */
#define MOV_RAX_DATA2 0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x02, 0x00 /* mov rax, [DATA2] */
#define PROC2_PML ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_ENABLE_PML)

static uint64_t log_entry(unsigned i) { return *ram64(PML_LOG + 8ull * i); }

/* EPT with A/D flags, PML on, the log at PML_LOG, index 511. */
static void pml_setup(void)
{
    setup();
    memset(m->ram + PML_LOG, 0, 4096);
    put(VMCS_secondary_vm_exec_control, PROC2_PML);
    put(VMCS_ept_pointer, EPTP_WB4 | EPTP_AD);
    put(VMCS_pml_address, PML_LOG);
    put(VMCS_guest_pml_index, 511);
}

/* Every EPT and guest paging-structure A/D flag already set, except the EPT
 * leaves of DATA and DATA2: only the guest's own data accesses update flags. */
static void flags_preset(void)
{
    for (uint64_t t = EPML4; t < EPML4 + 4 * 4096; t += 8)
        if (*ram64(t) & EPT_RWX)
            *ram64(t) |= EPT_A | EPT_D;
    *ept_pte(DATA) &= ~(EPT_A | EPT_D);
    *ept_pte(DATA2) &= ~(EPT_A | EPT_D);
    for (uint64_t t = PML4; t < PML4 + 3 * 4096; t += 8)
        if (*ram64(t) & 1)
            *ram64(t) |= 0x60; /* A, D */
}

/* A write to a fresh page: the guest's walk sets the accessed flags of its
 * PML4E, PDPTE and PDE -- guest paging-structure accesses count as writes
 * for EPT dirty flags (SDM 3C "Accessed and Dirty Flags for EPT") -- then
 * the data write: four pages logged in that order, 4-KByte aligned, from
 * index 511 down, each with its EPT dirty flag set. A second write to a
 * dirty page logs nothing. */
START_TEST(pml_logs_each_newly_dirty_page)
{
    c->gpr[0] = 0x1234;
    expect_exit(GUEST(false, MOV_DATA_RAX, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    static const uint64_t want[] = { PML4, PML4 + 0x1000, PML4 + 0x2000, DATA };
    ck_assert_uint_eq(get(VMCS_guest_pml_index), 511 - 4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_msg(log_entry(511 - i) == want[i], "log[%u] 0x%llx, expected 0x%llx", 511 - i,
                      (unsigned long long)log_entry(511 - i), (unsigned long long)want[i]);
        ck_assert(*ept_pte(want[i]) & EPT_D);
    }
    ck_assert_uint_eq(log_entry(511 - 4), 0);
    ck_assert_uint_eq(vmx_get_stats(v)->pml_logged, 4);
    ck_assert_uint_eq(*ram64(DATA), 0x1234);
    /* the same page again, and a read of another: no entry */
    expect_exit(GUEST(true, MOV_DATA_RAX, MOV_RAX_DATA2, HLT), VMX_EXIT_hlt, GUEST_CODE + 16);
    ck_assert_uint_eq(get(VMCS_guest_pml_index), 507);
    ck_assert(*ept_pte(DATA2) & EPT_A);
    ck_assert(!(*ept_pte(DATA2) & EPT_D));
}
END_TEST

/* Index 0 takes one more entry and becomes FFFFH; the next write that needs
 * a dirty flag is a log-full exit at that instruction: the flag is not set
 * and the memory not written; the exit qualification is 0. */
START_TEST(pml_log_full_exit)
{
    flags_preset();
    put(VMCS_guest_pml_index, 0);
    c->gpr[0] = 0x5555;
    *ram64(DATA2) = 0x7777;
    expect_exit(GUEST(false, MOV_DATA_RAX, MOV_DATA2_RAX, HLT), VMX_EXIT_pml_full, GUEST_CODE + 8);
    ck_assert_uint_eq(log_entry(0), DATA);
    ck_assert_uint_eq(get(VMCS_guest_pml_index), 0xffff);
    ck_assert_uint_eq(get(VMCS_exit_qualification), 0);
    ck_assert_uint_eq(*ram64(DATA), 0x5555);
    ck_assert_uint_eq(*ram64(DATA2), 0x7777);
    ck_assert(!(*ept_pte(DATA2) & (EPT_A | EPT_D)));
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_pml_full], 1);
}
END_TEST

/* With the index outside 0-511 any A/D update exits, an accessed flag
 * too; an access that needs none does not. */
START_TEST(pml_full_on_accessed_flag)
{
    flags_preset();
    *ept_pte(DATA) |= EPT_A | EPT_D;
    put(VMCS_guest_pml_index, 0xffff);
    expect_exit(GUEST(false, MOV_RAX_DATA, MOV_RAX_DATA2, HLT), VMX_EXIT_pml_full, GUEST_CODE + 8);
    ck_assert(!(*ept_pte(DATA2) & EPT_A));
    put(VMCS_guest_pml_index, 600);
    expect_exit(GUEST(true, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
}
END_TEST

/* Without EPT accessed and dirty flags (EPTP bit 6 = 0) nothing is ever
 * updated, so nothing is logged and the log is never full. */
START_TEST(pml_without_ad_flags_logs_nothing)
{
    put(VMCS_ept_pointer, EPTP_WB4);
    put(VMCS_guest_pml_index, 0xffff);
    expect_exit(GUEST(false, MOV_DATA_RAX, HLT), VMX_EXIT_hlt, GUEST_CODE + 8);
    ck_assert_uint_eq(get(VMCS_guest_pml_index), 0xffff);
}
END_TEST

/* SDM 3C "Checks on VMX Controls": "enable PML" needs "enable EPT"; the PML
 * address 4-KByte aligned, within MAXPHYADDR: else VMfailValid(7). */
static const struct {
    const char *what;
    uint32_t proc2;
    uint64_t addr;
    bool ok;
} entry_cases[] = {
    { "valid", PROC2_PML, PML_LOG, true },
    { "PML without EPT", (uint32_t)PROC2_ENABLE_PML, PML_LOG, false },
    { "address bit 0", PROC2_PML, PML_LOG | 1, false },
    { "address bit 11", PROC2_PML, PML_LOG | 0x800, false },
    { "address at 1 << MAXPHYADDR", PROC2_PML, 1ull << 46, false },
    { "address below 1 << MAXPHYADDR", PROC2_PML, (1ull << 46) - 0x1000, true },
    { "PML off: address ignored", (uint32_t)PROC2_ENABLE_EPT, 1, true },
};

START_TEST(pml_entry_checks)
{
    put(VMCS_secondary_vm_exec_control, entry_cases[_i].proc2);
    put(VMCS_pml_address, entry_cases[_i].addr);
    expect_launch_control_check(entry_cases[_i].what, entry_cases[_i].ok);
}
END_TEST

static Suite *pml_suite(void)
{
    Suite *s = suite_create("vmx_pml");
    TCase *tc = tcase_create("pml");
    tcase_add_checked_fixture(tc, pml_setup, teardown);
    tcase_add_test(tc, pml_logs_each_newly_dirty_page);
    tcase_add_test(tc, pml_log_full_exit);
    tcase_add_test(tc, pml_full_on_accessed_flag);
    tcase_add_test(tc, pml_without_ad_flags_logs_nothing);
    tcase_add_loop_test(tc, pml_entry_checks, 0, (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(pml_suite());
}
