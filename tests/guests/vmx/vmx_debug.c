/* Debug state and VMX: IA32_DEBUGCTL (BTF), "load debug controls" and "save
 * debug controls", the DR7/DEBUGCTL values a VM exit leaves, #DB exit
 * qualifications (general detect, a pending debug exception delivered after
 * VM entry) and VM entry with a pending MTF VM exit (SDM 3B "IA32_DEBUGCTL
 * MSR", SDM 3C "Loading Guest Control Registers, Debug Registers, and MSRs",
 * "Saving Control Registers, Debug Registers, and MSRs", "Loading Host
 * Control Registers, Debug Registers, MSRs", "Exit Qualification for Debug
 * Exceptions", "Delivery of Pending Debug Exceptions after VM Entry",
 * "Event Injection"). */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

#define MSR_IA32_DEBUGCTL 0x1d9u
#define DEBUGCTL_BTF (1ull << 1)
#define DR7_GD (1ull << 13)
#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define INTR_TYPE_OTHER (7u << 8)
#define DB_HW_EXC (INTR_VALID | INTR_TYPE_HW_EXC | 1u)

static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static volatile uint64_t g_debugctl, g_dr7;

static uint64_t read_dr7(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

static void guest_read_debug(uint64_t arg)
{
    g_debugctl = rdmsr(MSR_IA32_DEBUGCTL);
    g_dr7 = read_dr7();
}

static void guest_write_debug(uint64_t arg)
{
    wrmsr(MSR_IA32_DEBUGCTL, DEBUGCTL_BTF);
    __asm__ volatile("mov %0, %%dr7" ::"r"(arg));
}

static void guest_mov_from_dr0(uint64_t arg)
{
    uint64_t v;
    __asm__ volatile("mov %%dr0, %0" : "=r"(v));
}

static void empty_guest(uint64_t arg)
{
}

/* A VMCS with debug controls loaded and saved, RDMSR/WRMSR not exiting
 * (an MSR bitmap of zeros). */
static bool prepare(const char *name, uint32_t proc, void (*fn)(uint64_t), uint64_t arg)
{
    if (!vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_DEBUG) ||
        !vmx_ctl_allowed(vmx_caps.exit, EXIT_SAVE_DEBUG) ||
        !vmx_ctl_allowed(vmx_caps.proc, proc | PROC_MSR_BITMAPS)) {
        report_skip(name, "debug controls or MSR bitmaps not supported");
        return false;
    }
    memset(msr_bitmap, 0, sizeof msr_bitmap);
    if (!vmx_test_vmcs(0, proc | PROC_MSR_BITMAPS, 0, EXIT_SAVE_DEBUG, ENTRY_LOAD_DEBUG, fn, arg))
        return false;
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    return true;
}

static bool run(const char *name)
{
    int r = vmx_test_enter();

    if (r == VMX_OK)
        return true;
    report_fail(name, "VM entry failed: result %d error %u", r,
                r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    return false;
}

/* BTF is architectural on family 6: WRMSR sets it, RDMSR reads it back. */
static void test_debugctl_msr(void)
{
    wrmsr(MSR_IA32_DEBUGCTL, DEBUGCTL_BTF);
    check_eq("debugctl_btf_reads_back", rdmsr(MSR_IA32_DEBUGCTL) & DEBUGCTL_BTF, DEBUGCTL_BTF);
    wrmsr(MSR_IA32_DEBUGCTL, 0);
    check_eq("debugctl_cleared", rdmsr(MSR_IA32_DEBUGCTL), 0);
}

static void test_debug_controls(void)
{
    /* "load debug controls": DR7 (bit 10 forced to 1) and IA32_DEBUGCTL
     * come from the guest-state area. */
    if (prepare("load_debug_controls", 0, guest_read_debug, 0)) {
        vmwrite(GUEST_DEBUGCTL, DEBUGCTL_BTF);
        vmwrite(GUEST_DR7, 0x700);
        g_debugctl = g_dr7 = 0xdead;
        if (run("load_debug_controls") && check_exit("load_debug_controls_guest_done", EXIT_VMCALL)) {
            check_eq("load_debug_controls_debugctl", g_debugctl, DEBUGCTL_BTF);
            check_eq("load_debug_controls_dr7", g_dr7, 0x700);
        }
    }
    /* "save debug controls" saves them; the VM exit then loads DR7 = 400H
     * and clears IA32_DEBUGCTL. */
    if (prepare("save_debug_controls", 0, guest_write_debug, 0x700)) {
        if (run("save_debug_controls") && check_exit("save_debug_controls_guest_done", EXIT_VMCALL)) {
            check_eq("save_debug_controls_debugctl", vmread(GUEST_DEBUGCTL), DEBUGCTL_BTF);
            check_eq("save_debug_controls_dr7", vmread(GUEST_DR7), 0x700);
            check_eq("exit_clears_debugctl", rdmsr(MSR_IA32_DEBUGCTL), 0);
            check_eq("exit_sets_dr7_400", read_dr7(), 0x400);
        }
    }
}

static void test_db_qualification(void)
{
    /* General detect: MOV from DR0 with DR7.GD is a #DB fault; exiting, it
     * reports BD and leaves DR7.GD set. */
    if (prepare("db_general_detect", 0, guest_mov_from_dr0, 0)) {
        vmwrite(GUEST_DR7, 0x400 | DR7_GD);
        vmwrite(EXCEPTION_BITMAP, 1u << 1);
        if (run("db_general_detect") && check_exit("db_general_detect_exit", EXIT_EXCEPTION_NMI)) {
            check_eq("db_general_detect_intr_info", last_exit.intr_info, DB_HW_EXC);
            check_eq("db_general_detect_qual_bd", last_exit.qual, DR6_BD);
            check_eq("db_general_detect_dr7_gd_kept", vmread(GUEST_DR7), 0x400 | DR7_GD);
        }
    }
    /* A pending debug exception (B1 and BS) delivered after VM entry exits
     * through the exception bitmap before the first guest instruction, with
     * B0-B3 and BS in the qualification. */
    if (prepare("db_pending_after_entry", 0, empty_guest, 0)) {
        vmwrite(GUEST_PENDING_DBG, DR6_BS | 2);
        vmwrite(GUEST_RFLAGS, 0x2 | (1u << 8));
        vmwrite(EXCEPTION_BITMAP, 1u << 1);
        if (run("db_pending_after_entry") &&
            check_exit("db_pending_after_entry_exit", EXIT_EXCEPTION_NMI)) {
            check_eq("db_pending_after_entry_intr_info", last_exit.intr_info, DB_HW_EXC);
            check_eq("db_pending_after_entry_qual", last_exit.qual, DR6_BS | 2);
            check_eq("db_pending_after_entry_rip", last_exit.guest_rip,
                     (uint64_t)vmx_guest_entry);
        }
    }
}

/* "If VM entry is injecting a pending MTF VM exit (an event with
 * interruption type 7 and vector 0), an MTF VM exit is pending on the
 * instruction boundary before the first instruction following the VM
 * entry. This is the case even if the 'monitor trap flag' VM-execution
 * control is 0." Type 7 is reserved without MTF support. */
static void test_pending_mtf(void)
{
    if (!vmx_ctl_allowed(vmx_caps.proc, PROC_MTF)) {
        report_skip("pending_mtf", "no monitor trap flag: interruption type 7 is reserved");
        return;
    }
    if (prepare("pending_mtf", 0, empty_guest, 0)) {
        vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_OTHER);
        if (run("pending_mtf") && check_exit("pending_mtf_exit_37", EXIT_MTF)) {
            check_eq("pending_mtf_before_first_insn", last_exit.guest_rip,
                     (uint64_t)vmx_guest_entry);
            check_eq("pending_mtf_entry_field_invalidated", vmread(ENTRY_INTR_INFO) & INTR_VALID, 0);
        }
    }
    if (prepare("pending_mtf_with_mtf", PROC_MTF, empty_guest, 0)) {
        vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_OTHER);
        if (run("pending_mtf_with_mtf") && check_exit("pending_mtf_with_mtf_exit_37", EXIT_MTF))
            check_eq("pending_mtf_with_mtf_before_first_insn", last_exit.guest_rip,
                     (uint64_t)vmx_guest_entry);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    vmx_test_start();
    test_debugctl_msr();
    test_debug_controls();
    test_db_qualification();
    test_pending_mtf();
}
