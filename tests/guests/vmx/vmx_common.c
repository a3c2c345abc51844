/* VMX conformance guests: shared start-up, result checks and a recording
 * exit handler. */
#include "vmx_common.h"

#include "console.h"
#include "report.h"
#include "x86.h"

struct exit_record last_exit;
unsigned exit_stop_after = 1;
struct vmx_regs test_regs;

void vmx_test_require(void)
{
    if (!vmx_supported()) {
        report_skip("vmx", "CPUID.1:ECX.VMX[bit 5] is 0");
        guest_finish();
    }
    vmx_caps_read();
    con_printf("VMX basic %#lx misc %#lx pin %#lx proc %#lx proc2 %#lx exit %#lx entry %#lx\n",
               vmx_caps.basic, vmx_caps.misc, vmx_caps.pin, vmx_caps.proc, vmx_caps.proc2,
               vmx_caps.exit, vmx_caps.entry);
}

void vmx_test_start(void)
{
    int r;

    vmx_test_require();
    if (!vmx_feature_control_enable()) {
        report_fail("vmx_feature_control", "IA32_FEATURE_CONTROL %#lx: VMX disabled and locked",
                    rdmsr(MSR_IA32_FEATURE_CONTROL));
        guest_finish();
    }
    r = vmx_enter_root();
    if (!check_vmx("vmxon", r, VMX_OK, 0))
        guest_finish();
}

static const char *result_name(int r)
{
    return r == VMX_OK ? "VMsucceed" : r == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid";
}

bool check_vmx(const char *name, int got, int expected, uint32_t err)
{
    uint32_t got_err = 0;

    if (got == VMX_FAIL_VALID)
        got_err = vmx_insn_error();
    if (got == expected && (expected != VMX_FAIL_VALID || got_err == err)) {
        report_pass(name);
        return true;
    }
    report_fail(name, "expected %s(%u) got %s(%u)", result_name(expected), err, result_name(got),
                got_err);
    return false;
}

void exit_record(struct vmx_regs *regs)
{
    last_exit.reason = (uint32_t)vmread(EXIT_REASON);
    last_exit.qual = vmread(EXIT_QUAL);
    last_exit.intr_info = (uint32_t)vmread(EXIT_INTR_INFO);
    last_exit.intr_err = (uint32_t)vmread(EXIT_INTR_ERRCODE);
    last_exit.idt_info = (uint32_t)vmread(IDT_VECTORING_INFO);
    last_exit.idt_err = (uint32_t)vmread(IDT_VECTORING_ERRCODE);
    last_exit.insn_len = (uint32_t)vmread(EXIT_INSN_LEN);
    last_exit.insn_info = (uint32_t)vmread(EXIT_INSN_INFO);
    last_exit.guest_rip = vmread(GUEST_RIP);
    last_exit.guest_linear = vmread(GUEST_LINEAR);
    last_exit.guest_rflags = vmread(GUEST_RFLAGS);
    last_exit.regs = *regs;
    last_exit.count++;
}

bool exit_record_handler(struct vmx_regs *regs)
{
    exit_record(regs);
    return last_exit.count < exit_stop_after;
}

bool vmx_test_vmcs(uint32_t pin, uint32_t proc, uint32_t proc2, uint32_t exit, uint32_t entry,
                   void (*fn)(uint64_t), uint64_t arg)
{
    vmx_guest_setup(&test_regs, fn, arg);
    return vmx_vmcs_init(vmx_vmcs_region, pin, proc, proc2, exit, entry);
}

int vmx_test_enter(void)
{
    last_exit = (struct exit_record){ 0 };
    last_exit.reason = ~0u;
    vmx_exit_handler = exit_record_handler;
    return vmx_run(&test_regs);
}

bool check_exit(const char *name, uint32_t reason)
{
    if (last_exit.reason == reason) {
        report_pass(name);
        return true;
    }
    report_fail(name, "expected exit reason %#x got %#x (qual %#lx, guest RIP %#lx)", reason,
                last_exit.reason, last_exit.qual, last_exit.guest_rip);
    return false;
}
