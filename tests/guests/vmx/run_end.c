/* Guest for tests/trace/check-end.sh: ways a run ends, chosen on the
 * command line.
 *   abort  a VM exit whose VM-exit MSR-load list holds IA32_FS_BASE, which
 *          a VM exit may not load: VMX abort 4, and the logical processor
 *          shuts down (SDM 3C "Loading MSRs", "VMX Aborts")
 *   spin   a guest that executes CPUID forever, each a VM exit that the
 *          host resumes: the run ends only by a signal or --max-insns
 *   (none) prints count=N lines (default 1) on COM1 and on the 0xe9
 *          console, then exits through debug-exit with status 1 */
#include "cmdline.h"
#include "console.h"
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

#include <stddef.h>

#define MSR_FS_BASE 0xc0000100u

/* One VM-exit MSR-load entry: index, reserved, value (16 bytes). */
static struct {
    uint32_t index, reserved;
    uint64_t value;
} exit_msr_load[1] __attribute__((aligned(16)));

static void guest_cpuid_once(uint64_t arg)
{
    (void)cpuid(0, 0);
}

static void guest_cpuid_forever(uint64_t arg)
{
    for (;;)
        (void)cpuid(0, 0);
}

static bool resume_past(struct vmx_regs *regs)
{
    vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSN_LEN));
    return true;
}

static void do_abort(void)
{
    vmx_test_start();
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, guest_cpuid_once, 0))
        guest_finish();
    exit_msr_load[0].index = MSR_FS_BASE;
    exit_msr_load[0].value = 0;
    vmwrite(EXIT_MSR_LOAD_ADDR, (uint64_t)exit_msr_load);
    vmwrite(EXIT_MSR_LOAD_COUNT, 1);
    con_printf("end: entering a guest whose VM exit aborts\n");
    int r = vmx_test_enter();
    report_fail("vmx_abort", "the VM exit returned to the host (result %d, reason %#x)", r,
                last_exit.reason);
    guest_finish();
}

static void do_spin(void)
{
    vmx_test_start();
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, guest_cpuid_forever, 0))
        guest_finish();
    con_printf("end: spinning\n");
    vmx_exit_handler = resume_past;
    int r = vmx_run(&test_regs);
    report_fail("spin", "the guest stopped (result %d)", r);
    guest_finish();
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const char *cmd = mb_cmdline(mb_magic, mb_info);
    if (cmdline_has(cmd, "abort"))
        do_abort();
    if (cmdline_has(cmd, "spin"))
        do_spin();
    uint64_t n = cmdline_u64(cmd, "count", 1, NULL);
    for (uint64_t i = 0; i < n; i++)
        con_printf("end: line %lu\n", (unsigned long)i);
    guest_exit(0);
}
