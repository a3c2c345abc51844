/* Page-modification logging (SDM 3C "Page-Modification Logging", "Checks
 * on VMX Controls"): with EPT accessed and dirty flags, the guest-physical
 * pages whose EPT dirty flags the guest's writes set appear in the log, 4-
 * KByte aligned, from the index down; the index is FFFFH after entry 0 and
 * an A/D update then is a log-full VM exit (reason 62); without EPT A/D
 * flags nothing is logged; VM entry checks the PML controls. SKIPs unless
 * the CPU allows "enable EPT", "enable PML" and EPT A/D flags. */
#include "console.h"
#include "ept_common.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define PROC2_PML (1u << 17)
#define PML_ADDRESS 0x200e
#define GUEST_PML_INDEX 0x0812
#define EXIT_PML_FULL 62

static uint64_t pml_log[512] __attribute__((aligned(4096)));

static void guest_write_pages(uint64_t arg)
{
    *(volatile uint64_t *)TW_PAGE(3) = 3;
    *(volatile uint64_t *)TW_PAGE(5) = 5;
    *(volatile uint64_t *)(TW_PAGE(3) + 8) = 33;
}

static bool prepare(bool ad, uint64_t index)
{
    if (!ept_test_build() ||
        !ept_test_vmcs(PROC2_PML, ad, (char *)guest_write_pages, 0))
        return false;
    memset(pml_log, 0, sizeof pml_log);
    vmwrite(PML_ADDRESS, (uint64_t)pml_log);
    vmwrite(GUEST_PML_INDEX, index);
    return true;
}

/* Where gpa appears in the log entries index+1 .. 511; -1 if absent, -2 if
 * twice. */
static int find(uint64_t gpa, uint64_t index)
{
    int at = -1;
    for (uint64_t i = index + 1; i < 512; i++)
        if (pml_log[i] == gpa)
            at = at == -1 ? (int)i : -2;
    return at;
}

static void test_logging(void)
{
    if (!prepare(true, 511) || !ept_run_to_done("pml_logging"))
        return;
    uint64_t index = vmread(GUEST_PML_INDEX);
    bool aligned = true;
    unsigned level;
    check_true("pml_index_decremented", index < 511 - 1, "at least two entries");
    for (uint64_t i = index + 1; i < 512; i++)
        aligned &= (pml_log[i] & 0xfff) == 0;
    check_true("pml_entries_4k_aligned", aligned, "bits 11:0 of every entry are 0");
    int p3 = find(TW_PAGE(3), index), p5 = find(TW_PAGE(5), index);
    check_true("pml_logs_page_3_once", p3 >= 0, "TW page 3 once in the log");
    check_true("pml_logs_page_5_once", p5 >= 0, "TW page 5 once in the log");
    check_true("pml_logs_in_order", p3 > p5, "page 3 (written first) at the higher index");
    check_true("pml_unwritten_page_not_logged", find(TW_PAGE(4), index) == -1,
               "TW page 4 not in the log");
    uint64_t *leaf = ept_leaf(&test_ept, TW_PAGE(5), &level);
    check_true("pml_logged_page_dirty", leaf && (*leaf & EPT_D), "EPT dirty flag of page 5");
}

/* Index FFFFH: the first A/D update -- the fetch of the guest's first
 * instruction -- is a log-full exit there, qualification 0. */
static void test_log_full(void)
{
    if (!prepare(true, 0xffff))
        return;
    int r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != EXIT_PML_FULL) {
        ept_report_unexpected("pml_log_full_exit_62", r);
        return;
    }
    report_pass("pml_log_full_exit_62");
    check_eq("pml_log_full_at_first_instruction", last_exit.guest_rip, (uint64_t)vmx_guest_entry);
    check_eq("pml_log_full_qualification", last_exit.qual & ~(1ull << 12), 0);
    check_eq("pml_log_full_index_unchanged", vmread(GUEST_PML_INDEX), 0xffff);
    check_eq("pml_log_full_nothing_logged", pml_log[511], 0);
}

/* Without EPT A/D flags no flag is ever set: no entry, no log-full exit. */
static void test_without_ad(void)
{
    if (prepare(false, 0xffff) && ept_run_to_done("pml_without_ad")) {
        report_pass("pml_without_ad_no_exit");
        check_eq("pml_without_ad_index_unchanged", vmread(GUEST_PML_INDEX), 0xffff);
    }
}

/* "If the 'enable PML' VM-execution control is 1, the 'enable EPT'
 * VM-execution control must also be 1. In addition, the PML address must
 * satisfy: bits 11:0 of the address must be 0; the address should not set
 * any bits beyond the processor's physical-address width." */
static void test_entry_checks(void)
{
    if (prepare(true, 511)) {
        vmwrite(PROC2_CONTROLS, vmx_ctls.proc2 & ~PROC2_EPT);
        check_vmx("entry_pml_without_ept", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(true, 511)) {
        vmwrite(PML_ADDRESS, (uint64_t)pml_log + 8);
        check_vmx("entry_pml_address_misaligned", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(true, 511)) {
        vmwrite(PML_ADDRESS, 1ull << vmx_caps.maxphyaddr);
        check_vmx("entry_pml_address_beyond_width", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(PROC2_PML, EPT_CAP_AD);
    test_logging();
    test_log_full();
    test_without_ad();
    test_entry_checks();
    guest_finish();
}
