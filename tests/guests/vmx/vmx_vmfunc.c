/* VM functions (SDM 3C "VM Functions", "EPTP Switching", "Checks on VMX
 * Controls"; SDM 2B "VMFUNC -- Invoke VM function"): EPTP switching
 * (function 0) from the EPTP list without a VM exit, the VM exits (reason
 * 59) for a function not enabled, an index beyond the list and an invalid
 * EPTP, #UD without "enable VM functions", for EAX >= 64 and in VMX root
 * operation, and the
 * VM-entry checks on the VM-function controls. SKIPs unless the CPU allows
 * "enable EPT", "enable VM functions" and IA32_VMX_VMFUNC[0]. */
#include "console.h"
#include "ept_common.h"
#include "exc.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define MSR_IA32_VMX_VMFUNC 0x491u
#define PROC2_VM_FUNCTIONS (1u << 13)
#define VMFUNC_EPTP_SWITCHING 1ull
#define VM_FUNCTION_CONTROL 0x2018
#define EPTP_LIST_ADDRESS 0x2024
#define EXIT_VMFUNC 59
#define MARK0 0x1111000011110000ull
#define MARK1 0x2222000022220000ull

static struct ept alt_ept; /* TW_PAGE(0) -> ept_tpage[1] instead of [0] */
static uint64_t eptp_list[512] __attribute__((aligned(4096)));
static volatile uint64_t g_before, g_after;

static void vmfunc(uint32_t fn, uint32_t index)
{
    __asm__ volatile("vmfunc" ::"a"(fn), "c"(index) : "memory");
}

/* arg: function << 32 | EPTP index. Reads the window page before and after. */
static void guest_vmfunc(uint64_t arg)
{
    g_before = *(volatile uint64_t *)TW_PAGE(0);
    vmfunc((uint32_t)(arg >> 32), (uint32_t)arg);
    g_after = *(volatile uint64_t *)TW_PAGE(0);
}

static bool build(void)
{
    const uint64_t wb = EPT_MT(EPT_MT_WB);

    if (!ept_test_build() || !ept_init(&alt_ept) ||
        !ept_map(&alt_ept, 0, 0, 1ull << 30, EPT_LEAF_AUTO, EPT_RWX | wb) ||
        !ept_map(&alt_ept, TW, (uint64_t)ept_tpage[1], 4096, EPT_LEAF_4K, EPT_RWX | wb)) {
        report_fail("vmfunc_ept_build", "EPT tables");
        return false;
    }
    *(uint64_t *)ept_tpage[0] = MARK0;
    *(uint64_t *)ept_tpage[1] = MARK1;
    memset(eptp_list, 0, sizeof eptp_list);
    eptp_list[0] = ept_eptp(&test_ept, false);
    eptp_list[1] = ept_eptp(&alt_ept, false);
    eptp_list[2] = ept_eptp(&alt_ept, false) | 7; /* memory type 7: invalid */
    eptp_list[511] = ept_eptp(&alt_ept, false);
    return true;
}

/* A VMCS with EPT on test_ept, "enable VM functions" and EPTP switching. */
static bool prepare(uint64_t fn, uint64_t index)
{
    if (!ept_test_vmcs(PROC2_VM_FUNCTIONS, false, (char *)guest_vmfunc, fn << 32 | index))
        return false;
    vmwrite(VM_FUNCTION_CONTROL, VMFUNC_EPTP_SWITCHING);
    vmwrite(EPTP_LIST_ADDRESS, (uint64_t)eptp_list);
    g_before = g_after = 0;
    return true;
}

/* "EPTP Switching": the new EPTP is used at once, no VM exit, and the EPTP
 * field of the VMCS holds it afterwards (the exit of the closing VMCALL
 * saves nothing else). */
static void test_switch(void)
{
    if (prepare(0, 1) && ept_run_to_done("vmfunc_switch")) {
        report_pass("vmfunc_switch_no_exit");
        check_eq("vmfunc_switch_old_eptp_before", g_before, MARK0);
        check_eq("vmfunc_switch_new_eptp_after", g_after, MARK1);
        check_eq("vmfunc_switch_eptp_field", vmread(EPT_POINTER), eptp_list[1]);
        /* "IF processor supports the 1-setting of the 'EPT-violation #VE'
         * VM-execution control THEN write ECX[15:0] to EPTP-index field" */
        if (vmx_proc2_allowed(1u << 18))
            check_eq("vmfunc_switch_eptp_index_field", vmread(0x0004), 1);
    }
    if (prepare(0, 511) && ept_run_to_done("vmfunc_switch_index_511")) {
        check_eq("vmfunc_switch_index_511_after", g_after, MARK1);
    }
    /* Switching to the EPTP in use is allowed (and changes nothing). */
    if (prepare(0, 0) && ept_run_to_done("vmfunc_switch_same")) {
        check_eq("vmfunc_switch_same_after", g_after, MARK0);
        check_eq("vmfunc_switch_same_eptp_field", vmread(EPT_POINTER), eptp_list[0]);
    }
}

/* VM exit 59 at the VMFUNC, EPTP unchanged, instruction length 3. */
static void expect_vmfunc_exit(const char *name, uint64_t fn, uint64_t index)
{
    char n[96];

    if (!prepare(fn, index))
        return;
    if (vmx_test_enter() != VMX_OK || last_exit.reason != EXIT_VMFUNC) {
        ept_report_unexpected(name, VMX_OK);
        return;
    }
    report_pass(name);
    fmt_snprintf(n, sizeof n, "%s_insn_len_3", name);
    check_eq(n, last_exit.insn_len, 3);
    fmt_snprintf(n, sizeof n, "%s_eptp_unchanged", name);
    check_eq(n, vmread(EPT_POINTER), eptp_list[0]);
    fmt_snprintf(n, sizeof n, "%s_old_eptp_in_use", name);
    check_eq(n, g_before, MARK0);
}

static void test_exits(void)
{
    expect_vmfunc_exit("vmfunc_index_512_exits", 0, 512);
    expect_vmfunc_exit("vmfunc_index_ffffffff_exits", 0, 0xffffffffull);
    expect_vmfunc_exit("vmfunc_invalid_eptp_exits", 0, 2);
    expect_vmfunc_exit("vmfunc_zero_eptp_exits", 0, 3);
    expect_vmfunc_exit("vmfunc_function_1_not_enabled_exits", 1, 0);
    expect_vmfunc_exit("vmfunc_function_63_not_enabled_exits", 63, 0);
    /* Function 0 not enabled in the VM-function controls */
    if (prepare(0, 1)) {
        vmwrite(VM_FUNCTION_CONTROL, 0);
        if (vmx_test_enter() == VMX_OK && last_exit.reason == EXIT_VMFUNC)
            report_pass("vmfunc_eptp_switching_disabled_exits");
        else
            ept_report_unexpected("vmfunc_eptp_switching_disabled_exits", VMX_OK);
    }
}

static void root_vmfunc(void *arg)
{
    vmfunc(0, 0);
}

/* The guest took #UD at its VMFUNC (the guest IDT reports vector 6). */
static void expect_guest_ud(const char *name)
{
    int r = vmx_test_enter();
    if (r == VMX_OK && last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_VECTOR &&
        last_exit.regs.rbx == 6)
        report_pass(name);
    else
        ept_report_unexpected(name, r);
}

/* SDM 2B "VMFUNC": #UD "if executed outside VMX non-root operation; if
 * 'enable VM functions' VM-execution control is 0; if EAX >= 64". */
static void test_ud(void)
{
    check_eq("vmfunc_root_ud", exc_run(root_vmfunc, 0), 6);
    if (ept_test_vmcs(0, false, (char *)guest_vmfunc, 1))
        expect_guest_ud("vmfunc_without_enable_vm_functions_ud");
    if (prepare(64, 1))
        expect_guest_ud("vmfunc_eax_64_ud");
    if (prepare(0xffffffffull, 1))
        expect_guest_ud("vmfunc_eax_ffffffff_ud");
}

/* "Checks on VMX Controls": reserved VM-function controls, EPTP switching
 * without "enable EPT", the EPTP-list address: VMfailValid(7). */
static void test_entry_checks(void)
{
    uint64_t allowed = rdmsr(MSR_IA32_VMX_VMFUNC);

    if (~allowed && prepare(0, 1)) {
        uint64_t bad = ~allowed & -~allowed; /* lowest reserved bit */
        vmwrite(VM_FUNCTION_CONTROL, VMFUNC_EPTP_SWITCHING | bad);
        check_vmx("entry_vm_function_control_reserved_bit", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(0, 1)) {
        vmwrite(PROC2_CONTROLS, vmx_ctls.proc2 & ~PROC2_EPT);
        check_vmx("entry_eptp_switching_without_ept", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(0, 1)) {
        vmwrite(EPTP_LIST_ADDRESS, (uint64_t)eptp_list + 8);
        check_vmx("entry_eptp_list_misaligned", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    if (prepare(0, 1)) {
        vmwrite(EPTP_LIST_ADDRESS, 1ull << vmx_caps.maxphyaddr);
        check_vmx("entry_eptp_list_beyond_width", vmx_test_enter(), VMX_FAIL_VALID,
                  VMXERR_ENTRY_BAD_CONTROL);
    }
    /* No VM function enabled: the EPTP-list address is not checked. */
    if (prepare(0, 1)) {
        vmwrite(VM_FUNCTION_CONTROL, 0);
        vmwrite(EPTP_LIST_ADDRESS, 1);
        int r = vmx_test_enter();
        if (r == VMX_OK)
            report_pass("entry_eptp_list_ignored_without_eptp_switching");
        else
            ept_report_unexpected("entry_eptp_list_ignored_without_eptp_switching", r);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(PROC2_VM_FUNCTIONS, 0);
    if (!(rdmsr(MSR_IA32_VMX_VMFUNC) & VMFUNC_EPTP_SWITCHING)) {
        report_skip("vmfunc", "IA32_VMX_VMFUNC[0] (EPTP switching) is 0");
        guest_finish();
    }
    if (!build())
        guest_finish();
    test_switch();
    test_exits();
    test_ud();
    test_entry_checks();
    guest_finish();
}
