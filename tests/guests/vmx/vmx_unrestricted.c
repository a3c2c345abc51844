/* Unrestricted guest (SDM 3C "Unrestricted Guests", "Checks on Guest
 * Control Registers, Debug Registers, and MSRs"): with "unrestricted
 * guest" = 1 (and EPT), CR0.PE and CR0.PG are not checked against the
 * fixed bits, so a guest enters in real mode: segment loads compute
 * base = selector << 4, INT goes through the real-mode IVT, VMCALL exits
 * with the real-mode state. Without the control the same state fails VM
 * entry (exit 33); PG = 1 with PE = 0 fails even with it. */
#include "console.h"
#include "ept_common.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

extern char gx_real_start[], gx_real_vmcall[], gx_real_end[], gx_real_isr[],
    gx_real_after_int[], gx_pm_start[], gx_pm_end[], gx_pm_vmcall[];

#define IVT_PAGE 0
#define STACK_PAGE 1
#define CODE_PAGE 2
#define DATA_PAGE 3
#define PM_CODE_PAGE 4
#define PM_CODE_GPA 0xa000ull
#define CODE_GPA 0x8000ull
#define STACK_TOP 0x7000ull
#define DATA_VALUE 0x7e41d0d0u

static bool map_low(unsigned page, uint64_t gpa)
{
    return ept_map(&test_ept, gpa, (uint64_t)ept_tpage[page], 4096, EPT_LEAF_4K,
                   EPT_RWX | EPT_MT(EPT_MT_WB));
}

static void write_real_segment(uint64_t sel_field, uint16_t sel, uint32_t ar)
{
    unsigned i = (unsigned)(sel_field - GUEST_ES_SEL) / 2;

    vmwrite(sel_field, sel);
    vmwrite(GUEST_ES_LIMIT + 2 * i, 0xffff);
    vmwrite(GUEST_ES_AR + 2 * i, ar);
    vmwrite(GUEST_ES_BASE + 2 * i, (uint64_t)sel << 4);
}

static uint64_t real_cr0(void)
{
    /* ET | NE, plus whatever else FIXED0 requires, without PE and PG */
    return ((0x30 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1) & ~(CR0_PE_BIT | CR0_PG_BIT);
}

/* A VMCS whose guest is in real mode at 0800:0000 */
static bool real_mode_vmcs(uint32_t proc2)
{
    if (!vmx_test_vmcs(0, 0, PROC2_EPT | proc2, 0, 0, 0, 0))
        return false;
    vmwrite(EPT_POINTER, ept_eptp(&test_ept, false));
    uint32_t entry = vmx_ctls.entry & ~ENTRY_IA32E;
    if (vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_EFER)) {
        entry |= ENTRY_LOAD_EFER;
        vmwrite(GUEST_EFER, 0);
    }
    vmwrite(ENTRY_CONTROLS, entry);
    vmwrite(GUEST_CR0, real_cr0());
    vmwrite(CR0_SHADOW, real_cr0());
    vmwrite(GUEST_CR4, vmx_fix_cr4(0));
    vmwrite(CR4_SHADOW, 0);
    vmwrite(GUEST_CR3, 0);
    write_real_segment(GUEST_CS_SEL, CODE_GPA >> 4, 0x9b);
    write_real_segment(GUEST_SS_SEL, 0, 0x93);
    write_real_segment(GUEST_DS_SEL, 0, 0x93);
    write_real_segment(GUEST_ES_SEL, 0, 0x93);
    write_real_segment(GUEST_FS_SEL, 0, 0x93);
    write_real_segment(GUEST_GS_SEL, 0, 0x93);
    vmwrite(GUEST_TR_SEL, 0);
    vmwrite(GUEST_TR_BASE, 0);
    vmwrite(GUEST_TR_LIMIT, 0xff);
    vmwrite(GUEST_TR_AR, 0x8b); /* 32-bit busy TSS */
    vmwrite(GUEST_GDTR_BASE, 0);
    vmwrite(GUEST_GDTR_LIMIT, 0);
    vmwrite(GUEST_IDTR_BASE, 0);
    vmwrite(GUEST_IDTR_LIMIT, 0x3ff);
    vmwrite(GUEST_RIP, 0);
    vmwrite(GUEST_RSP, STACK_TOP);
    vmwrite(GUEST_RFLAGS, 2);
    return true;
}

static void test_real_mode(void)
{
    uint16_t *ivt = (uint16_t *)ept_tpage[IVT_PAGE];
    uint16_t *stack = (uint16_t *)&ept_tpage[STACK_PAGE][4096];

    memcpy(ept_tpage[CODE_PAGE], gx_real_start, (uint64_t)(gx_real_end - gx_real_start));
    *(uint32_t *)&ept_tpage[DATA_PAGE][0x10] = DATA_VALUE;
    ivt[0x40 * 2] = (uint16_t)(gx_real_isr - gx_real_start);
    ivt[0x40 * 2 + 1] = CODE_GPA >> 4;
    ept_test_invept();
    if (!real_mode_vmcs(PROC2_UNRESTRICTED))
        return;
    int r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != EXIT_VMCALL) {
        ept_report_unexpected("real_mode_guest_vmcall", r);
        return;
    }
    report_pass("real_mode_guest_vmcall_exit");
    check_eq("real_mode_guest_rip_is_ip", last_exit.guest_rip,
             (uint64_t)(gx_real_vmcall - gx_real_start));
    check_eq("real_mode_vmcall_insn_len", last_exit.insn_len, 3);
    check_eq("real_mode_cs_selector", vmread(GUEST_CS_SEL), CODE_GPA >> 4);
    check_eq("real_mode_cs_base", vmread(GUEST_CS_BASE), CODE_GPA);
    check_eq("real_mode_cr0_pe_pg_clear", vmread(GUEST_CR0) & (CR0_PE_BIT | CR0_PG_BIT), 0);
    /* MOV DS: base = selector << 4; DS:0x10 = guest-physical 0x9010 */
    check_eq("real_mode_ds_base", vmread(GUEST_DS_BASE), 0x9000);
    check_eq("real_mode_ds_selector", vmread(GUEST_DS_SEL), 0x0900);
    check_eq("real_mode_read_through_ds", (uint32_t)last_exit.regs.rdx, DATA_VALUE);
    check_eq("real_mode_mov_from_cr0", (uint32_t)last_exit.regs.rax & (CR0_PE_BIT | CR0_PG_BIT),
             0);
    check_eq("real_mode_mov_from_cs", last_exit.regs.rbx & 0xffff, CODE_GPA >> 4);
    /* INT 40H: FLAGS, CS, IP pushed as words; IRET popped them */
    check_eq("real_mode_int_handler_ran", last_exit.regs.rsi & 0xffff, 0x1234);
    check_eq("real_mode_int_pushed_ip", stack[-3], (uint16_t)(gx_real_after_int - gx_real_start));
    check_eq("real_mode_int_pushed_cs", stack[-2], CODE_GPA >> 4);
    check_eq("real_mode_sp_after_iret", last_exit.regs.rdi & 0xffff, STACK_TOP);
    check_eq("real_mode_guest_rsp", vmread(GUEST_RSP), STACK_TOP);
}

/* The guest leaves real mode itself: with "unrestricted guest", MOV to
 * CR0 may set PE with PG = 0 in VMX non-root operation (CR0 guest/host
 * mask 0), and the guest runs in unpaged protected mode. */
static void test_to_protected_mode(void)
{
    memcpy(ept_tpage[PM_CODE_PAGE], gx_pm_start, (uint64_t)(gx_pm_end - gx_pm_start));
    if (!real_mode_vmcs(PROC2_UNRESTRICTED))
        return;
    write_real_segment(GUEST_CS_SEL, PM_CODE_GPA >> 4, 0x9b);
    int r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != EXIT_VMCALL) {
        ept_report_unexpected("unpaged_protected_mode_vmcall", r);
        return;
    }
    report_pass("unpaged_protected_mode_vmcall_exit");
    check_eq("unpaged_protected_mode_cr0_pe_no_pg",
             vmread(GUEST_CR0) & (CR0_PE_BIT | CR0_PG_BIT), CR0_PE_BIT);
    check_eq("unpaged_protected_mode_guest_read_cr0_pe",
             (uint32_t)last_exit.regs.rcx & (CR0_PE_BIT | CR0_PG_BIT), CR0_PE_BIT);
    check_eq("unpaged_protected_mode_cs_selector", vmread(GUEST_CS_SEL), 0x08);
    check_eq("unpaged_protected_mode_cs_32bit", (vmread(GUEST_CS_AR) >> 14) & 1, 1);
    check_eq("unpaged_protected_mode_cs_base", vmread(GUEST_CS_BASE), 0);
    check_eq("unpaged_protected_mode_rip", last_exit.guest_rip,
             PM_CODE_GPA + (uint64_t)(gx_pm_vmcall - gx_pm_start));
    check_eq("unpaged_protected_mode_flat_read", (uint32_t)last_exit.regs.rdx, DATA_VALUE);
}

static void expect_guest_state_failure(const char *name)
{
    int r = vmx_test_enter();

    if (r != VMX_OK) {
        ept_report_unexpected(name, r);
        return;
    }
    check_eq(name, last_exit.reason, EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST);
}

static void test_negative(void)
{
    /* Without "unrestricted guest", CR0.PE = 0 violates IA32_VMX_CR0_FIXED0 */
    if (real_mode_vmcs(0))
        expect_guest_state_failure("real_mode_without_unrestricted_guest_fails");
    /* "If bit 31 in the CR0 field (PG) is 1, bit 0 (PE) must also be 1" */
    if (real_mode_vmcs(PROC2_UNRESTRICTED)) {
        vmwrite(GUEST_CR0, real_cr0() | CR0_PG_BIT);
        expect_guest_state_failure("unrestricted_pg_without_pe_fails");
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(PROC2_UNRESTRICTED, 0);
    if (!ept_test_build() || !map_low(IVT_PAGE, 0) || !map_low(STACK_PAGE, STACK_TOP - 0x1000) ||
        !map_low(CODE_PAGE, CODE_GPA) || !map_low(DATA_PAGE, 0x9000))
        return;
    test_real_mode();
    if (map_low(PM_CODE_PAGE, PM_CODE_GPA))
        test_to_protected_mode();
    test_negative();
}
