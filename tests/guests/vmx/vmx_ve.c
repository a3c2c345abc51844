/* EPT-violation #VE (SDM 3C "Virtualization Exceptions", "Convertible EPT
 * Violations", "Virtualization-Exception Information", "Delivery of
 * Virtualization Exceptions", "Checks on VMX Controls"): an EPT violation
 * whose deciding EPT entry has suppress-#VE 0 becomes #VE (vector 20) with
 * the information area filled -- a VM exit through the exception bitmap, or
 * delivered through the guest IDT -- while suppress-#VE 1, or an area still
 * in use, leave it a VM exit 48. SKIPs unless the CPU allows "enable EPT"
 * and "EPT-violation #VE". */
#include "console.h"
#include "ept_common.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define PROC2_VE (1u << 18)
#define VE_INFO_ADDRESS 0x202a
#define EPTP_INDEX 0x0004
#define EXIT_REASON_EPT_VIOLATION 48
#define VE_VECTOR 20

static volatile uint32_t ve_area[1024] __attribute__((aligned(4096)));
static volatile uint64_t g_value;

static void guest_read_page2(uint64_t arg)
{
    g_value = *(volatile uint64_t *)TW_PAGE(2);
}

static uint64_t area64(unsigned off) { return *(volatile uint64_t *)((uintptr_t)ve_area + off); }

/* TW page 2 not present in EPT, with suppress-#VE sve; the area free. */
static bool prepare(uint64_t sve, uint32_t exception_bitmap)
{
    unsigned level;
    if (!ept_test_build() || !ept_test_vmcs(PROC2_VE, false, (char *)guest_read_page2, 0))
        return false;
    uint64_t *pte = ept_leaf(&test_ept, TW_PAGE(2), &level);
    if (!pte || level != 1) {
        report_fail("ve_prepare", "no 4-KiB EPT leaf for the test page");
        return false;
    }
    *pte = sve;
    ept_test_invept();
    memset((void *)ve_area, 0, sizeof ve_area);
    vmwrite(VE_INFO_ADDRESS, (uint64_t)ve_area);
    vmwrite(EPTP_INDEX, 3);
    vmwrite(EXCEPTION_BITMAP, exception_bitmap);
    return true;
}

/* Table "Format of the Virtualization-Exception Information Area" */
static void check_area(const char *name)
{
    char n[96];

    fmt_snprintf(n, sizeof n, "%s_area_exit_reason_48", name);
    check_eq(n, ve_area[0], EXIT_REASON_EPT_VIOLATION);
    fmt_snprintf(n, sizeof n, "%s_area_busy_ffffffff", name);
    check_eq(n, ve_area[1], 0xffffffffu);
    fmt_snprintf(n, sizeof n, "%s_area_qualification_read_linear", name);
    check_eq(n, area64(8) & 0x1bfull, EPTQ_READ | EPTQ_LINEAR_VALID | EPTQ_TRANSLATION);
    fmt_snprintf(n, sizeof n, "%s_area_guest_linear", name);
    check_eq(n, area64(16), TW_PAGE(2));
    fmt_snprintf(n, sizeof n, "%s_area_guest_physical", name);
    check_eq(n, area64(24), TW_PAGE(2));
    fmt_snprintf(n, sizeof n, "%s_area_eptp_index", name);
    check_eq(n, area64(32) & 0xffff, 3);
}

static void test_convertible(void)
{
    /* #VE in the exception bitmap: VM exit 0, vector 20, no error code */
    if (prepare(0, 1u << VE_VECTOR)) {
        int r = vmx_test_enter();
        if (r == VMX_OK && last_exit.reason == EXIT_EXCEPTION_NMI) {
            check_eq("ve_exits_through_bitmap_intr_info", last_exit.intr_info,
                     INTR_VALID | INTR_TYPE_HW_EXC | VE_VECTOR);
            check_area("ve_bitmap");
        } else {
            ept_report_unexpected("ve_exits_through_bitmap", r);
        }
    }
    /* Without it the guest's IDT delivers #VE (no error code) */
    if (prepare(0, 0)) {
        int r = vmx_test_enter();
        if (r == VMX_OK && last_exit.reason == EXIT_VMCALL &&
            last_exit.regs.rax == VMX_GUEST_VECTOR && last_exit.regs.rbx == VE_VECTOR) {
            report_pass("ve_delivered_through_guest_idt");
            check_eq("ve_delivered_no_error_code", last_exit.regs.rdx, 0);
            check_area("ve_guest");
        } else {
            ept_report_unexpected("ve_delivered_through_guest_idt", r);
        }
    }
}

/* VM exit 48 instead: suppress-#VE 1; the area in use (offset 4 not 0). */
static void expect_exit_48(const char *name, uint64_t sve, uint32_t busy)
{
    if (!prepare(sve, 1u << VE_VECTOR))
        return;
    ve_area[1] = busy;
    int r = vmx_test_enter();
    if (r == VMX_OK && last_exit.reason == EXIT_EPT_VIOLATION) {
        report_pass(name);
        char n[96];
        fmt_snprintf(n, sizeof n, "%s_area_untouched", name);
        check_eq(n, ve_area[0], 0);
    } else {
        ept_report_unexpected(name, r);
    }
}

static void test_not_convertible(void)
{
    expect_exit_48("ve_suppressed_exits_48", EPT_SVE, 0);
    expect_exit_48("ve_area_busy_exits_48", 0, 0xffffffffu);
    expect_exit_48("ve_area_busy_1_exits_48", 0, 1);
}

/* "If the 'EPT-violation #VE' VM-execution control is 1, the
 * virtualization-exception information address must satisfy: bits 11:0 of
 * the address must be 0; the address must not set any bits beyond the
 * processor's physical-address width." */
static void test_entry_checks(void)
{
    if (prepare(0, 0)) {
        vmwrite(VE_INFO_ADDRESS, (uint64_t)ve_area + 0x10);
        check_vmx("entry_ve_address_misaligned", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(0, 0)) {
        vmwrite(VE_INFO_ADDRESS, 1ull << vmx_caps.maxphyaddr);
        check_vmx("entry_ve_address_beyond_width", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(PROC2_VE, 0);
    test_convertible();
    test_not_convertible();
    test_entry_checks();
    guest_finish();
}
