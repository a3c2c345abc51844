/* The VMX exit loop: the guest executes CPUID BENCH_VMX_LOOPS times; the
 * host's handler does what a minimal hypervisor does for each exit --
 * VMREAD of the exit reason, guest RIP and instruction length, emulate
 * CPUID with fixed values, VMWRITE of RIP, VMRESUME -- and at the end the
 * image prints the count and exits 0. One loop iteration is one VM exit
 * round trip. */
#include "console.h"
#include "report.h"
#include "vmx.h"
#include "x86.h"

#ifndef BENCH_VMX_LOOPS
#define BENCH_VMX_LOOPS 1000000
#endif

static uint64_t cpuid_exits;
static bool finished;

static void guest_loop(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t a = 0, b, c = 0, d;
        __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    }
}

static bool bench_exit(struct vmx_regs *g)
{
    uint64_t reason = vmread(EXIT_REASON);
    uint64_t rip = vmread(GUEST_RIP);
    uint64_t len = vmread(EXIT_INSN_LEN);

    if (reason == EXIT_CPUID) {
        g->rax = 0x0000000d;
        g->rbx = 0x786d766e; /* "nvmx" */
        g->rcx = 0x6e636562; /* "benc" */
        g->rdx = 0x00000068; /* "h" */
        cpuid_exits++;
        vmwrite(GUEST_RIP, rip + len);
        return true;
    }
    if (reason == EXIT_VMCALL && g->rax == VMX_GUEST_DONE)
        finished = true;
    else
        report_fail("bench_vmx", "unexpected exit reason %#lx at %#lx", reason, rip);
    return false;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    struct vmx_regs regs;
    int r;

    if (!vmx_supported()) {
        report_skip("bench_vmx", "CPUID.1:ECX.VMX = 0");
        return;
    }
    vmx_caps_read();
    if (!vmx_feature_control_enable()) {
        report_fail("bench_vmx", "VMX disabled by IA32_FEATURE_CONTROL");
        return;
    }
    if ((r = vmx_enter_root()) != VMX_OK) {
        report_fail("bench_vmx", "VMXON result %d", r);
        return;
    }
    vmx_guest_setup(&regs, guest_loop, BENCH_VMX_LOOPS);
    if (!vmx_vmcs_init(vmx_vmcs_region, 0, 0, 0, 0, 0))
        return;
    vmx_exit_handler = bench_exit;
    r = vmx_run(&regs);
    if (r != VMX_OK) {
        report_fail("bench_vmx", "VM entry result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        return;
    }
    con_printf("bench-vmx: %lu CPUID exits\n", cpuid_exits);
    check_true("bench_vmx_loop", finished && cpuid_exits == BENCH_VMX_LOOPS,
               "every CPUID to exit once");
    vmxoff();
}
