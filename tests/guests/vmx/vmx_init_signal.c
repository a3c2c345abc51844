/* INIT in VMX operation (SDM 3C "Restrictions on VMX Operation": "INIT
 * signals are blocked whenever a logical processor is in VMX root
 * operation. They are not blocked in VMX non-root operation. Instead,
 * INITs cause VM exits"; "INIT Signals": exit reason 3). The host sends
 * itself an INIT through the local APIC's ICR: it stays pending, the host
 * runs on; the next VM entry exits at once with reason 3 at the guest's
 * first instruction, and the INIT is gone after that exit. Under the
 * built-in L0 the host is L1, which sends its INIT in VMX non-root
 * operation of vmcs01. */
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

#define APIC_BASE 0xfee00000ull
#define APIC_SVR 0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_ALL_INCLUDING_SELF (2u << 18)
#define ICR_INIT (5u << 8)
#define ICR_ASSERT (1u << 14)
#define MSR_IA32_APIC_BASE_ 0x1bu
#define EXIT_INIT_SIGNAL 3

static volatile uint32_t *apic(unsigned reg) { return (volatile uint32_t *)(APIC_BASE + reg); }
static volatile unsigned g_ran;

static void guest_mark(uint64_t unused)
{
    (void)unused;
    g_ran++;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE_);
    if (!(base & (1u << 11)))
        wrmsr(MSR_IA32_APIC_BASE_, base | (1u << 11));
    *apic(APIC_SVR) = 0x1ff;
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, guest_mark, 0))
        guest_finish();
    uint64_t entry_rip = vmread(GUEST_RIP);
    *apic(APIC_ICR_HI) = 0;
    *apic(APIC_ICR_LO) = ICR_ALL_INCLUDING_SELF | ICR_INIT | ICR_ASSERT;
    report_pass("init_blocked_in_root"); /* the host runs on */
    int r = vmx_test_enter();
    if (r != VMX_OK) {
        report_fail("init_entry", "VM entry result %d", r);
        guest_finish();
    }
    if (check_exit("init_exits_at_entry", EXIT_INIT_SIGNAL)) {
        check_eq("init_exit_guest_rip", last_exit.guest_rip, entry_rip);
        check_eq("init_exit_qualification", last_exit.qual, 0);
        check_eq("init_guest_did_not_run", g_ran, 0);
    }
    /* The INIT was consumed by its VM exit: the guest now runs. */
    r = vmx_test_enter();
    if (r == VMX_OK && check_exit("init_consumed_guest_runs", EXIT_VMCALL))
        check_eq("init_consumed_guest_ran", g_ran, 1);
    guest_finish();
}
