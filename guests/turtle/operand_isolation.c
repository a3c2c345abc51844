/* A guest whose VMX instruction has a memory operand outside the memory the
 * turtle gives it (guest.turtle_operand_isolation): VMPTRST stores the
 * current-VMCS pointer at guest-physical 256 MiB (the guest's identity map
 * reaches it) under ept=1 mem=128M. The turtle does the store for the
 * guest, so it must end the run as it does for the guest's own access
 * there (docs/guests.md), without writing outside the guest's memory; the
 * PASS line below means the store completed. */
#include "report.h"
#include "vmx_common.h"

#define OUTSIDE 0x10000000ull

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic, (void)mb_info;
    vmx_test_start();
    int r = VMX_ASM_RESULT("vmptrst (%2)", "r"(OUTSIDE));
    report_pass("vmptrst_outside_stored");
    report_fail("vmptrst_outside", "the turtle stored outside the guest's memory (result %d)", r);
    guest_finish();
}
