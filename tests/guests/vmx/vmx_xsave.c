/* The XSAVE feature set in VMX non-root operation: XSETBV exits
 * unconditionally (exit reason 55, before its register checks), XGETBV
 * never; XSAVES and XRSTORS are #UD unless "enable XSAVES/XRSTORS", and
 * then exit (63, 64) only when EDX:EAX AND IA32_XSS AND the XSS-exiting
 * bitmap is not 0 (SDM 3C "Instructions That Cause VM Exits
 * Unconditionally", "... Conditionally", "Changes to Instruction Behavior
 * in VMX Non-Root Operation"). IA32_XSS can only be 0 on a processor
 * whose leaf 0DH enumerates no supervisor state component, so XSAVES and
 * XRSTORS run without exiting even with every bitmap bit set. Snippets
 * are in xsave_code.S. */
#include "console.h"
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

#define EXIT_XSETBV_REASON 55
#define PROC2_XSAVES_XRSTORS (1u << 20)
#define XSS_EXITING_BITMAP 0x202cu
#define CR4_OSXSAVE_BIT (1ull << 18)
#define VEC_UD 6

#define SNIPPETS(X) X(xsetbv) X(xsetbv_xcr1) X(xsaves) X(xrstors) X(xgetbv)
#define DECLARE(n) extern char gx_##n[], gx_##n##_insn[], gx_##n##_next[];
SNIPPETS(DECLARE)

static uint8_t area[1024] __attribute__((aligned(64)));

static bool prepare(uint32_t proc, uint32_t proc2, char *fn, uint64_t arg)
{
    if (!vmx_test_vmcs(0, proc, proc2, 0, 0, (void (*)(uint64_t))fn, arg))
        return false;
    vmx_guest_idt_install();
    return true;
}

static void unexpected(const char *name, int r)
{
    if (r != VMX_OK)
        report_fail(name, "VM entry failed: result %d", r);
    else if (last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_VECTOR)
        report_fail(name, "guest took vector %lu at %#lx", last_exit.regs.rbx, last_exit.regs.rcx);
    else
        report_fail(name, "unexpected exit reason %#x at %#lx", last_exit.reason,
                    last_exit.guest_rip);
}

static void expect_exit(const char *name, char *fn, char *insn, char *next, uint64_t arg,
                        uint32_t reason)
{
    char n[96];
    if (!prepare(0, 0, fn, arg))
        return;
    int r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != reason) {
        unexpected(name, r);
        return;
    }
    fmt_snprintf(n, sizeof n, "%s_exit_reason", name);
    report_pass(n);
    fmt_snprintf(n, sizeof n, "%s_guest_rip", name);
    check_eq(n, last_exit.guest_rip, (uint64_t)insn);
    fmt_snprintf(n, sizeof n, "%s_insn_len", name);
    check_eq(n, last_exit.insn_len, (uint64_t)(next - insn));
    fmt_snprintf(n, sizeof n, "%s_qual", name);
    check_eq(n, last_exit.qual, 0);
}

/* The guest takes #UD (reported through the guest IDT as a VMCALL). */
static void expect_ud(const char *name, uint32_t proc, uint32_t proc2, char *fn, char *insn)
{
    char n[96];
    if (!prepare(proc, proc2, fn, (uint64_t)area))
        return;
    int r = vmx_test_enter();
    if (r != VMX_OK || last_exit.reason != EXIT_VMCALL || last_exit.regs.rax != VMX_GUEST_VECTOR) {
        unexpected(name, r);
        return;
    }
    check_eq(name, last_exit.regs.rbx, VEC_UD);
    fmt_snprintf(n, sizeof n, "%s.rip", name);
    check_eq(n, last_exit.regs.rcx, (uint64_t)insn);
}

/* Runs to VMCALL DONE without another exit. */
static bool runs(const char *name, uint32_t proc, uint32_t proc2, char *fn, uint64_t arg,
                 uint64_t xss_bitmap)
{
    if (!prepare(proc, proc2, fn, arg))
        return false;
    if (proc2 & PROC2_XSAVES_XRSTORS)
        vmwrite(XSS_EXITING_BITMAP, xss_bitmap);
    int r = vmx_test_enter();
    if (r == VMX_OK && last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_DONE) {
        report_pass(name);
        return true;
    }
    unexpected(name, r);
    return false;
}

static uint64_t get8(unsigned off)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)area[off + i] << (8 * i);
    return v;
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    struct cpuid_regs id = cpuid(1, 0);
    if (!((id.ecx >> 26) & 1)) {
        report_skip("vmx_xsave", "CPUID.01H:ECX.XSAVE[bit 26] is 0");
        guest_finish();
    }
    write_cr4(read_cr4() | CR4_OSXSAVE_BIT); /* the guest's CR4 is taken from here */

    expect_exit("xsetbv", gx_xsetbv, gx_xsetbv_insn, gx_xsetbv_next, 3, EXIT_XSETBV_REASON);
    expect_exit("xsetbv_xcr1_exits_before_gp", gx_xsetbv_xcr1, gx_xsetbv_xcr1_insn,
                gx_xsetbv_xcr1_next, 0, EXIT_XSETBV_REASON);
    if (runs("xgetbv_no_exit", 0, 0, gx_xgetbv, 0, 0))
        check_eq("xgetbv_value", last_exit.regs.rdi & 1, 1);

    id = cpuid(0xd, 1);
    if (!((id.eax >> 3) & 1)) {
        report_skip("xsaves", "CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3] is 0");
        guest_finish();
    }
    if (!vmx_proc2_allowed(PROC2_XSAVES_XRSTORS)) {
        report_skip("xsaves", "\"enable XSAVES/XRSTORS\" is not allowed");
        guest_finish();
    }
    __asm__ volatile("xsetbv" : : "c"(0), "a"(3), "d"(0));
    expect_ud("xsaves_without_secondary_controls_ud", 0, 0, gx_xsaves, gx_xsaves_insn);
    expect_ud("xsaves_control_0_ud", PROC_SECONDARY, 0, gx_xsaves, gx_xsaves_insn);
    expect_ud("xrstors_control_0_ud", PROC_SECONDARY, 0, gx_xrstors, gx_xrstors_insn);
    for (unsigned i = 0; i < sizeof area; i++)
        area[i] = 0;
    if (runs("xsaves_bitmap_all_ones_ia32_xss_0_no_exit", PROC_SECONDARY, PROC2_XSAVES_XRSTORS,
             gx_xsaves, (uint64_t)area, ~0ull))
        check_eq("xsaves_in_guest_xcomp_bv", get8(0x40 + 520), 0x8000000000000003ull);
    runs("xrstors_bitmap_all_ones_ia32_xss_0_no_exit", PROC_SECONDARY, PROC2_XSAVES_XRSTORS,
         gx_xrstors, (uint64_t)area, ~0ull);
    check_eq("ia32_xss_0", rdmsr(0xda0), 0);
    guest_finish();
}
