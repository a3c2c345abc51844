/* EPT-violation #VE (SDM 3C "Virtualization Exceptions"): a 64-bit guest
 * under EPT on the skylake-server model with "EPT-violation #VE" meets EPT
 * violations; a convertible one (suppress-#VE 0 in the deciding entry,
 * information area free, no event being delivered) fills the
 * virtualization-exception information area and raises #VE (vector 20),
 * which the exception bitmap may turn into a VM exit or the guest IDT
 * delivers; the others are VM exits 48; misconfigurations never convert.
 * The set-up is vmx_ept_fixture.h's. */
#include "vmx_ept_fixture.h"

#define VE_AREA 0x309000ull
#define GUEST_IDT 0x24000ull
#define HANDLER 0x14000ull

#define UD2 0x0f, 0x0b
#define MOV_RAX_HIGH 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00 /* mov rax, [0x600000] */
#define PROC2_VE ((uint32_t)PROC2_ENABLE_EPT | (uint32_t)PROC2_EPT_VIOLATION_VE)
#define VE_INTR_INFO 0x80000314u /* valid, hardware exception, vector 20 */

static uint32_t area32(unsigned off) { return (uint32_t)cpu_read_phys(c, VE_AREA + off, 4); }
static uint64_t area64(unsigned off) { return cpu_read_phys(c, VE_AREA + off, 8); }

/* "EPT-violation #VE" on, the information area free, EPTP index 5, guest
 * exceptions delivered (the harness stops at them otherwise); the
 * exception bitmap has only #VE. */
static void ve_setup(void)
{
    setup();
    memset(m->ram + VE_AREA, 0, 4096);
    put(VMCS_secondary_vm_exec_control, PROC2_VE);
    put(VMCS_ve_information_address, VE_AREA);
    put(VMCS_eptp_index, 5);
    put(VMCS_exception_bitmap, 1u << EXC_VE);
    c->stop_on_exception = false;
}

/* A not-present EPT PTE with suppress-#VE 0: the read becomes #VE, which
 * exits through the exception bitmap (reason 0, vector 20, no error code)
 * at the instruction; the area holds exit reason 48, FFFFFFFFH, the EPT-
 * violation qualification (read, guest-linear valid, translation, no
 * permissions), the guest-linear and guest-physical address and the EPTP
 * index. */
START_TEST(not_present_pte_raises_ve)
{
    *ept_pte(DATA) = 0;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), VE_INTR_INFO);
    ck_assert_uint_eq(area32(0), VMX_EXIT_ept_violation);
    ck_assert_uint_eq(area32(4), 0xffffffffu);
    uint64_t q = area64(8);
    ck_assert_uint_eq(q & 0x1bfull, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION);
    ck_assert_uint_eq(area64(16), DATA);
    ck_assert_uint_eq(area64(24), DATA);
    ck_assert_uint_eq(cpu_read_phys(c, VE_AREA + 32, 2), 5);
    ck_assert_uint_eq(vmx_get_stats(v)->ve_delivered, 1);
    ck_assert_uint_eq(vmx_get_stats(v)->exits[VMX_EXIT_ept_violation], 0);
}
END_TEST

/* What keeps an EPT violation a VM exit (48): suppress-#VE set in the
 * not-present PTE or in the leaf that denies the access, the area in use
 * (offset 4 not 0), the control off. The area is not written. */
static const struct {
    const char *what;
    uint64_t pte;
    uint32_t busy;
    uint32_t proc2;
    bool write;
} exit_cases[] = {
    { "suppress #VE in a not-present PTE", EPT_SVE, 0, PROC2_VE, false },
    { "suppress #VE in a read-only leaf", DATA | EPT_R | WB | EPT_SVE, 0, PROC2_VE, true },
    { "information area busy (FFFFFFFFH)", 0, 0xffffffffu, PROC2_VE, false },
    { "information area busy (1)", 0, 1, PROC2_VE, false },
    { "control off", 0, 0, (uint32_t)PROC2_ENABLE_EPT, false },
};

START_TEST(violation_stays_exit)
{
    *ept_pte(DATA) = exit_cases[_i].pte;
    cpu_write_phys(c, VE_AREA + 4, 4, exit_cases[_i].busy);
    put(VMCS_secondary_vm_exec_control, exit_cases[_i].proc2);
    uint32_t r = exit_cases[_i].write ? GUEST(false, MOV_DATA_RAX, HLT) : GUEST(false, MOV_RAX_DATA, HLT);
    ck_assert_msg(r == VMX_EXIT_ept_violation, "%s: exit %u", exit_cases[_i].what, r);
    ck_assert_uint_eq(get(VMCS_guest_physical_address), DATA);
    ck_assert_uint_eq(area32(0), 0);
    ck_assert_uint_eq(area32(4), exit_cases[_i].busy);
}
END_TEST

/* A permission violation in a leaf with suppress-#VE 0 converts (the write
 * to a read-only page: qualification write, readable). */
START_TEST(leaf_permission_violation_raises_ve)
{
    *ept_pte(DATA) = DATA | EPT_R | WB;
    expect_exit(GUEST(false, MOV_DATA_RAX, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_vm_exit_intr_info), VE_INTR_INFO);
    ck_assert_uint_eq(area64(8) & 0x3full, EPT_QUAL_WRITE | EPT_QUAL_READABLE);
}
END_TEST

/* A not-present entry above the leaf decides: the PDE of 6 MiB. */
START_TEST(not_present_pde_decides)
{
    *ram64(EPD + 8 * 3) = 0;
    expect_exit(GUEST(false, MOV_RAX_HIGH, HLT), VMX_EXIT_exception_nmi, GUEST_CODE);
    ck_assert_uint_eq(area64(24), 0x600000);
    memset(m->ram + VE_AREA, 0, 64);
    *ram64(EPD + 8 * 3) = EPT_SVE;
    expect_exit(GUEST(true, MOV_RAX_HIGH, HLT), VMX_EXIT_ept_violation, GUEST_CODE);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

static void guest_gate(unsigned vec, uint64_t handler)
{
    uint64_t lo = (handler & 0xffff) | (0x08ull << 16) | (0xeull << 40) | (1ull << 47) |
                  (((handler >> 16) & 0xffff) << 48);
    *ram64(GUEST_IDT + 16 * vec) = lo;
    *ram64(GUEST_IDT + 16 * vec + 8) = handler >> 32;
}

/* Without #VE in the exception bitmap the guest's IDT delivers it: a fault
 * with no error code, RIP of the instruction pushed; the handler's HLT
 * exits. */
START_TEST(ve_delivered_through_guest_idt)
{
    put(VMCS_exception_bitmap, 0);
    put(VMCS_guest_idtr_base, GUEST_IDT);
    put(VMCS_guest_idtr_limit, 0xfff);
    memset(m->ram + GUEST_IDT, 0, 4096);
    guest_gate(EXC_VE, HANDLER);
    cpu_write_phys(c, HANDLER, 1, HLT);
    *ept_pte(DATA) = 0;
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_hlt, HANDLER);
    uint64_t rsp = get(VMCS_guest_rsp);
    ck_assert_uint_eq(*ram64(rsp), GUEST_CODE); /* RIP; CS, RFLAGS, RSP, SS above */
    ck_assert_uint_eq(*ram64(rsp + 8), 0x08);
    ck_assert_uint_eq(rsp + 40, GUEST_STACK);
    ck_assert_uint_eq(area32(4), 0xffffffffu);
}
END_TEST

/* "... the logical processor is not in the process of delivering an event
 * through the IDT": #UD's delivery reads the guest IDT from a page whose
 * not-present PTE has suppress-#VE 0 -- a VM exit 48, with the #UD in the
 * IDT-vectoring information. */
START_TEST(violation_during_event_delivery_exits)
{
    put(VMCS_exception_bitmap, 0);
    put(VMCS_guest_idtr_base, GUEST_IDT);
    put(VMCS_guest_idtr_limit, 0xfff);
    *ept_pte(GUEST_IDT) = 0;
    expect_exit(GUEST(false, UD2, HLT), VMX_EXIT_ept_violation, GUEST_CODE);
    ck_assert_uint_eq(get(VMCS_guest_physical_address) & ~0xfffull, GUEST_IDT);
    ck_assert_uint_eq(get(VMCS_idt_vectoring_info_field), 0x80000306u);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

/* A misconfiguration is never converted: exit 49. */
START_TEST(misconfig_never_converts)
{
    *ept_pte(DATA) = DATA | EPT_W | WB; /* write without read */
    expect_exit(GUEST(false, MOV_RAX_DATA, HLT), VMX_EXIT_ept_misconfig, GUEST_CODE);
    ck_assert_uint_eq(area32(4), 0);
}
END_TEST

/* SDM 3C "Checks on VMX Controls": with the control, the information
 * address 4-KByte aligned, within MAXPHYADDR: else VMfailValid(7). */
static const struct {
    const char *what;
    uint32_t proc2;
    uint64_t addr;
    bool ok;
} entry_cases[] = {
    { "valid", PROC2_VE, VE_AREA, true },
    { "address bit 2", PROC2_VE, VE_AREA | 4, false },
    { "address bit 11", PROC2_VE, VE_AREA | 0x800, false },
    { "address at 1 << MAXPHYADDR", PROC2_VE, 1ull << 46, false },
    { "address below 1 << MAXPHYADDR", PROC2_VE, (1ull << 46) - 0x1000, true },
    { "control off: address ignored", (uint32_t)PROC2_ENABLE_EPT, 1, true },
};

START_TEST(ve_entry_checks)
{
    put(VMCS_secondary_vm_exec_control, entry_cases[_i].proc2);
    put(VMCS_ve_information_address, entry_cases[_i].addr);
    c->stop_on_exception = true;
    expect_launch_control_check(entry_cases[_i].what, entry_cases[_i].ok);
}
END_TEST

static Suite *ve_suite(void)
{
    Suite *s = suite_create("vmx_ve");
    TCase *tc = tcase_create("ve");
    tcase_add_checked_fixture(tc, ve_setup, teardown);
    tcase_add_test(tc, not_present_pte_raises_ve);
    tcase_add_loop_test(tc, violation_stays_exit, 0, (int)(sizeof exit_cases / sizeof exit_cases[0]));
    tcase_add_test(tc, leaf_permission_violation_raises_ve);
    tcase_add_test(tc, not_present_pde_decides);
    tcase_add_test(tc, ve_delivered_through_guest_idt);
    tcase_add_test(tc, violation_during_event_delivery_exits);
    tcase_add_test(tc, misconfig_never_converts);
    tcase_add_loop_test(tc, ve_entry_checks, 0, (int)(sizeof entry_cases / sizeof entry_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(ve_suite());
}
