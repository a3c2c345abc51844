/* A guest hypervisor whose EPT12 sends its guest outside the memory the
 * turtle gives it (guest.turtle_nested_isolation): window page 0 of the
 * EPT conformance guests' map (tests/guests/vmx/ept_common.h) goes to
 * guest-physical 256 MiB, and its guest writes there. Under the turtle with
 * ept=1 mem=128M, EPT12 composed with EPT01 has no translation for it: the
 * turtle must end the run (docs/guests.md) before the write happens; the
 * PASS line below means the write completed. */
#include "ept_common.h"
#include "report.h"

#define OUTSIDE 0x10000000ull

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic, (void)mb_info;
    ept_test_start(0, 0);
    if (!ept_test_build() ||
        !ept_map(&test_ept, TW_PAGE(0), OUTSIDE, 4096, EPT_LEAF_4K, EPT_RWX | EPT_MT(EPT_MT_WB)))
        return;
    ept_test_invept();
    if (ept_test_vmcs(0, false, gx_ept_write, TW_PAGE(0) + 0x20) &&
        ept_run_to_done("nested_write_outside"))
        report_pass("nested_write_outside");
}
