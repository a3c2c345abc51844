/* EPT conformance guests: the shared guest-physical map and exit checks. */
#include "ept_common.h"

#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

struct ept test_ept;
uint8_t ept_tpage[TW_PAGES][4096] __attribute__((aligned(4096)));
static bool use_single_context;

/* Nothing of the image can run: SKIP (status 77) unless a check failed. */
static void skip_image(const char *why)
{
    report_skip("ept", why);
    if (report_failures())
        guest_finish();
    guest_exit(GUEST_EXIT_SKIP);
}

void ept_test_start(uint32_t proc2, uint64_t cap_mask)
{
    vmx_test_start();
    ept_test_require(proc2, cap_mask);
}

void ept_test_require(uint32_t proc2, uint64_t cap_mask)
{
    con_printf("IA32_VMX_EPT_VPID_CAP %#lx\n", vmx_caps.ept_vpid);
    if (!vmx_proc2_allowed(PROC2_EPT | proc2)) {
        skip_image("the CPU does not allow \"enable EPT\" (or a secondary control the test "
                   "needs)");
    }
    /* An EPTP must name a walk length and a memory type the CPU supports;
     * the tests use 4-level, WB paging structures (SDM 3C "Checks on
     * VMX Controls"). */
    cap_mask |= EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_INVEPT;
    if (!vmx_ept_cap(cap_mask)) {
        skip_image("IA32_VMX_EPT_VPID_CAP lacks a capability the test needs");
    }
    use_single_context = vmx_ept_cap(EPT_CAP_INVEPT_SINGLE);
    if (!use_single_context && !vmx_ept_cap(EPT_CAP_INVEPT_ALL)) {
        skip_image("neither INVEPT type is supported");
    }
    ept_use_caps(vmx_caps.ept_vpid);
}

/* The table pages come from a pool rebuilt for each test set */
static uint8_t table_pool[64][4096] __attribute__((aligned(4096)));

bool ept_test_build(void)
{
    const uint64_t wb = EPT_MT(EPT_MT_WB);

    ept_pool_init(table_pool, sizeof(table_pool));
    memset(ept_tpage, 0, sizeof(ept_tpage));
    if (!ept_init(&test_ept) ||
        !ept_map(&test_ept, 0, 0, 1ull << 30, EPT_LEAF_AUTO, EPT_RWX | wb) ||
        !ept_map(&test_ept, TW, (uint64_t)ept_tpage, sizeof(ept_tpage), EPT_LEAF_4K,
                 EPT_RWX | wb))
        return false;
    if (vmx_ept_cap(EPT_CAP_2M) &&
        !ept_map(&test_ept, TW_2M, HPA_2M, EPT_LEAF_2M, EPT_LEAF_2M, EPT_RWX | wb))
        return false;
    if (vmx_ept_cap(EPT_CAP_1G) &&
        !ept_map(&test_ept, GPA_1G, 0, EPT_LEAF_1G, EPT_LEAF_1G, EPT_RWX | wb))
        return false;
    return true;
}

bool ept_test_vmcs(uint32_t proc2, bool ad, char *gx, uint64_t arg)
{
    if (!vmx_test_vmcs(0, 0, PROC2_EPT | proc2, 0, 0, (void (*)(uint64_t))gx, arg))
        return false;
    vmwrite(EPT_POINTER, ept_eptp(&test_ept, ad));
    vmx_guest_idt_install();
    return true;
}

void ept_test_invept(void)
{
    int r = use_single_context ? invept(INVEPT_SINGLE, ept_eptp(&test_ept, false))
                               : invept(INVEPT_GLOBAL, 0);
    if (r != VMX_OK)
        report_fail("ept_test_invept", "INVEPT result %d", r);
}

void ept_tpage_code(unsigned i, unsigned off)
{
    static const uint8_t code[] = { 0xba, GX_FETCH_VALUE & 0xff, GX_FETCH_VALUE >> 8, 0, 0,
                                    0xc3 }; /* mov $GX_FETCH_VALUE, %edx; ret */
    memcpy(&ept_tpage[i][off], code, sizeof(code));
}

void ept_report_unexpected(const char *name, int r)
{
    if (r != VMX_OK)
        report_fail(name, "VM entry failed: result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
    else if (last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_VECTOR)
        report_fail(name, "guest took vector %lu at %#lx (error %#lx) instead of exiting",
                    last_exit.regs.rbx, last_exit.regs.rcx, last_exit.regs.rdx);
    else
        report_fail(name, "unexpected exit reason %#x (qual %#lx, GPA %#lx) at %#lx",
                    last_exit.reason, last_exit.qual, vmread(GUEST_PHYS_ADDR),
                    last_exit.guest_rip);
}

bool ept_run_to_done(const char *name)
{
    int r = vmx_test_enter();

    if (r == VMX_OK && last_exit.reason == EXIT_VMCALL && last_exit.regs.rax == VMX_GUEST_DONE)
        return true;
    ept_report_unexpected(name, r);
    return false;
}

/* SDM 3C Table "Exit Qualification for EPT Violations": bit 6 is
 * undefined unless mode-based execute control is 1 (never set here); bits
 * 11:9 are defined only with advanced VM-exit information and bits 7 and
 * 8 set; bits 14 and 15 concern shadow stacks and guest-paging
 * verification (not used here); all other bits are defined. */
static uint64_t qual_mask(uint64_t expected, bool rmw)
{
    uint64_t mask = ~(EPTQ_USER_EXECUTABLE | (1ull << 14) | (1ull << 15));

    if (!vmx_ept_cap(EPT_CAP_ADV_EXIT_INFO) ||
        (expected & (EPTQ_LINEAR_VALID | EPTQ_TRANSLATION)) !=
            (EPTQ_LINEAR_VALID | EPTQ_TRANSLATION))
        mask &= ~(EPTQ_ADV_USER | EPTQ_ADV_WRITE | EPTQ_ADV_NX);
    /* SDM 3C "Exit Qualification": a read-modify-write sets bit 1; whether
     * it also sets bit 0 is implementation-specific. */
    if (rmw)
        mask &= ~EPTQ_READ;
    return mask;
}

bool check_ept_violation(const char *name, const struct ept_violation *v)
{
    char n[96];
    uint64_t mask = qual_mask(v->qual, v->rmw);
    bool ok;

    fmt_snprintf(n, sizeof(n), "%s_exit_reason_48", name);
    if (last_exit.reason != EXIT_EPT_VIOLATION) {
        ept_report_unexpected(n, VMX_OK);
        return false;
    }
    report_pass(n);
    fmt_snprintf(n, sizeof(n), "%s_qual", name);
    ok = check_eq(n, last_exit.qual & mask, v->qual & mask);
    fmt_snprintf(n, sizeof(n), "%s_guest_physical", name);
    ok &= check_eq(n, vmread(GUEST_PHYS_ADDR), v->gpa);
    if (v->qual & EPTQ_LINEAR_VALID) {
        fmt_snprintf(n, sizeof(n), "%s_guest_linear", name);
        ok &= check_eq(n, last_exit.guest_linear, v->linear);
    }
    fmt_snprintf(n, sizeof(n), "%s_guest_rip", name);
    ok &= check_eq(n, last_exit.guest_rip, v->rip);
    return ok;
}

bool check_ept_misconfig(const char *name, uint64_t gpa)
{
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_exit_reason_49", name);
    if (last_exit.reason != EXIT_EPT_MISCONFIG) {
        ept_report_unexpected(n, VMX_OK);
        return false;
    }
    report_pass(n);
    fmt_snprintf(n, sizeof(n), "%s_guest_physical", name);
    return check_eq(n, vmread(GUEST_PHYS_ADDR), gpa);
}
