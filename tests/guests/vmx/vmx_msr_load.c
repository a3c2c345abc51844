/* The VM-entry MSR-load list acts once per VM entry (SDM 3C "Loading MSRs":
 * after the guest state, the processor loads the MSRs of the list; nothing
 * loads them again while the guest runs). The guest reads the MSR the list
 * loaded, writes its own value, then reads IA32_FEATURE_CONTROL through an
 * MSR bitmap of zeros (no VM exit here; under the built-in L0 an exit that
 * L0 handles itself and follows with its own VM entry of L2) and reads the
 * MSR again: its own value must stay. */
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

#define MSR_IA32_KERNEL_GS_BASE 0xc0000102u
#define MSR_IA32_FEATURE_CONTROL_ 0x3au
#define LOADED 0x0000111100001111ull
#define WRITTEN 0x0000222200002222ull

static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static struct {
    uint32_t index, reserved;
    uint64_t value;
} load_list[1] __attribute__((aligned(16)));
static volatile uint64_t g_loaded, g_after, g_fc;

static void guest_kgs(uint64_t unused)
{
    (void)unused;
    g_loaded = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    wrmsr(MSR_IA32_KERNEL_GS_BASE, WRITTEN);
    g_fc = rdmsr(MSR_IA32_FEATURE_CONTROL_);
    g_after = rdmsr(MSR_IA32_KERNEL_GS_BASE);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    if (!vmx_ctl_allowed(vmx_caps.proc, PROC_MSR_BITMAPS)) {
        report_skip("msr_load", "\"use MSR bitmaps\" not supported");
        guest_finish();
    }
    memset(msr_bitmap, 0, sizeof msr_bitmap);
    load_list[0].index = MSR_IA32_KERNEL_GS_BASE;
    load_list[0].value = LOADED;
    wrmsr(MSR_IA32_KERNEL_GS_BASE, 0);
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL_);
    if (!vmx_test_vmcs(0, PROC_MSR_BITMAPS, 0, 0, 0, guest_kgs, 0))
        guest_finish();
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    vmwrite(ENTRY_MSR_LOAD_ADDR, (uint64_t)load_list);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 1);
    int r = vmx_test_enter();
    if (r != VMX_OK) {
        report_fail("msr_load_entry", "VM entry failed: result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        guest_finish();
    }
    if (check_exit("msr_load_guest_exit", EXIT_VMCALL)) {
        check_eq("msr_load_list_loaded", g_loaded, LOADED);
        check_eq("msr_load_feature_control_read", g_fc, fc);
        check_eq("msr_load_not_reloaded", g_after, WRITTEN);
    }
    /* The exit does not restore it either (no VM-exit MSR-load list). */
    check_eq("msr_load_after_exit", rdmsr(MSR_IA32_KERNEL_GS_BASE), WRITTEN);
    guest_finish();
}
