/* Single-stepping a guest under VMX (bench/step.c runs it): the guest runs
 * a counted ADD/DEC/JNZ loop while its host makes it stop every few
 * instructions -- "mode=mtf": the monitor trap flag, a VM exit after every
 * guest instruction; "mode=preempt": the VMX-preemption timer loaded with
 * 1 at every VM entry (it expires after 2^X cycles, X = IA32_VMX_MISC[4:0],
 * a few instructions). The handler does what a stepping debugger's host
 * does: VMREAD of the exit reason, count, VMRESUME. "loops=N" sets the
 * iterations. The image prints the exits it took and exits 0. */
#include "cmdline.h"
#include "console.h"
#include "report.h"
#include "vmx.h"
#include "x86.h"

#define EXIT_MTF 37
#define EXIT_PREEMPT 52

static uint64_t step_exits, want_reason;
static bool finished;

static void guest_loop(uint64_t n)
{
    __asm__ volatile("1: addq $1, %%rax\n\t"
                     "decq %0\n\t"
                     "jnz 1b"
                     : "+c"(n)
                     :
                     : "rax", "cc");
}

static bool step_exit(struct vmx_regs *g)
{
    uint64_t reason = vmread(EXIT_REASON);
    if (reason == want_reason) {
        step_exits++;
        if (reason == EXIT_PREEMPT)
            vmwrite(PREEMPT_TIMER, 1);
        return true;
    }
    if (reason == EXIT_VMCALL && g->rax == VMX_GUEST_DONE)
        finished = true;
    else
        report_fail("bench_step", "unexpected exit reason %#lx at %#lx", reason,
                    vmread(GUEST_RIP));
    return false;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    const char *cmd = mb_cmdline(mb_magic, mb_info);
    char mode[16] = "mtf";
    cmdline_str(cmd, "mode", mode, sizeof mode);
    uint64_t loops = cmdline_u64(cmd, "loops", 100000, 0);
    bool mtf = mode[0] == 'm';
    struct vmx_regs regs;
    int r;

    if (!vmx_supported()) {
        report_skip("bench_step", "CPUID.1:ECX.VMX = 0");
        return;
    }
    vmx_caps_read();
    if (!vmx_feature_control_enable() || (r = vmx_enter_root()) != VMX_OK) {
        report_fail("bench_step", "VMXON failed");
        return;
    }
    if (mtf ? !vmx_ctl_allowed(vmx_caps.proc, PROC_MTF)
            : !vmx_ctl_allowed(vmx_caps.pin, PIN_PREEMPT_TIMER)) {
        report_skip("bench_step", "control not supported");
        return;
    }
    vmx_guest_setup(&regs, guest_loop, loops);
    if (!vmx_vmcs_init(vmx_vmcs_region, mtf ? 0 : PIN_PREEMPT_TIMER, mtf ? PROC_MTF : 0, 0, 0,
                       0))
        return;
    want_reason = mtf ? EXIT_MTF : EXIT_PREEMPT;
    if (!mtf)
        vmwrite(PREEMPT_TIMER, 1);
    vmx_exit_handler = step_exit;
    r = vmx_run(&regs);
    if (r != VMX_OK) {
        report_fail("bench_step", "VM entry result %d", r);
        return;
    }
    con_printf("bench-step: mode %s, %lu loops, %lu exits\n", mode, loops, step_exits);
    check_true("bench_step", finished && step_exits > 0, "the loop to end with VMCALL");
    vmxoff();
}
