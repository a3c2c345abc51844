/* EPT accessed and dirty flags and large pages (SDM 3C "Accessed and Dirty
 * Flags for EPT", "EPT Translation Mechanism"): with EPTP bit 6 set, every
 * EPT entry used by a translation gets its accessed flag (bit 8), a leaf
 * mapping a written page its dirty flag (bit 9), and accesses to guest
 * paging structures count as writes; with bit 6 clear the processor sets
 * neither. 2-MiB and 1-GiB leaves translate with the offset bits 20:0 /
 * 29:0, take writes and give violations like 4-KiB leaves. */
#include "console.h"
#include "ept_common.h"
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define READ_PAGE 5
#define WRITE_PAGE 6
#define UNTOUCHED_PAGE 7
#define PML4_PAGE 8
#define OFF 0x28

static uint64_t leaf_of(uint64_t gpa)
{
    unsigned level;
    return *ept_leaf(&test_ept, gpa, &level);
}

static void clear_all_ad(void)
{
    ept_clear_ad(&test_ept, 0, 1ull << 30);
    ept_clear_ad(&test_ept, TW, TW_PAGES * 4096ull);
    ept_clear_ad(&test_ept, TW_2M, 1ull << 21);
    ept_test_invept();
}

static bool run(const char *name, bool ad, char *gx, uint64_t arg)
{
    if (!ept_test_vmcs(0, ad, gx, arg))
        return false;
    if (!ept_run_to_done(name))
        return false;
    report_pass(name);
    return true;
}

static void check_ad(const char *name, uint64_t ent, bool a, bool d)
{
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_accessed", name);
    check_eq(n, (ent & EPT_A) != 0, a);
    fmt_snprintf(n, sizeof(n), "%s_dirty", name);
    check_eq(n, (ent & EPT_D) != 0, d);
}

static void test_ad_enabled(void)
{
    if (!vmx_ept_cap(EPT_CAP_AD)) {
        report_skip("ept_ad", "EPT accessed and dirty flags not supported");
        return;
    }
    clear_all_ad();
    if (run("ad_read_runs", true, gx_ept_read, TW_PAGE(READ_PAGE) + OFF))
        check_ad("ad_read_leaf", leaf_of(TW_PAGE(READ_PAGE)), true, false);
    if (run("ad_write_runs", true, gx_ept_write, TW_PAGE(WRITE_PAGE) + OFF)) {
        check_ad("ad_write_leaf", leaf_of(TW_PAGE(WRITE_PAGE)), true, true);
        check_eq("ad_write_value", *(uint64_t *)&ept_tpage[WRITE_PAGE][OFF], GX_WRITE_VALUE);
    }
    check_ad("ad_untouched_leaf", leaf_of(TW_PAGE(UNTOUCHED_PAGE)), false, false);
    /* The entries that reference tables on the way get accessed flags */
    check_true("ad_pml4e_accessed", *ept_entry(&test_ept, TW, 4) & EPT_A, "EPT PML4E bit 8");
    check_true("ad_pdpte_accessed", *ept_entry(&test_ept, TW, 3) & EPT_A, "EPT PDPTE bit 8");
    check_true("ad_pde_accessed", *ept_entry(&test_ept, TW, 2) & EPT_A, "EPT PDE bit 8");

    /* Guest paging-structure accesses count as writes: the guest PML4 in
     * a window page (its accessed flags set, so it is never written) gets
     * the dirty flag. */
    uint64_t *pml4 = (uint64_t *)ept_tpage[PML4_PAGE];
    pml4[0] = ((uint64_t *)(read_cr3() & PTE_ADDR))[0] | PTE_A;
    uint64_t before = pml4[0];
    clear_all_ad();
    if (ept_test_vmcs(0, true, gx_ept_read, TW_PAGE(READ_PAGE) + OFF)) {
        vmwrite(GUEST_CR3, TW_PAGE(PML4_PAGE));
        if (ept_run_to_done("ad_guest_pml4_walk")) {
            check_ad("ad_guest_pml4_leaf_walk_is_write", leaf_of(TW_PAGE(PML4_PAGE)), true,
                     true);
            check_eq("ad_guest_pml4_not_written", pml4[0], before);
        }
    }

    /* A/D on large leaves */
    if (vmx_ept_cap(EPT_CAP_2M)) {
        clear_all_ad();
        if (run("ad_2m_write_runs", true, gx_ept_write, TW_2M + 0x12340))
            check_ad("ad_2m_leaf", leaf_of(TW_2M), true, true);
    }
}

static void test_ad_disabled(void)
{
    uint64_t *pml4 = (uint64_t *)ept_tpage[PML4_PAGE];

    clear_all_ad();
    run("noad_read_runs", false, gx_ept_read, TW_PAGE(READ_PAGE) + OFF);
    run("noad_write_runs", false, gx_ept_write, TW_PAGE(WRITE_PAGE) + OFF);
    pml4[0] = ((uint64_t *)(read_cr3() & PTE_ADDR))[0] | PTE_A;
    if (ept_test_vmcs(0, false, gx_ept_read, TW_PAGE(READ_PAGE) + OFF)) {
        vmwrite(GUEST_CR3, TW_PAGE(PML4_PAGE));
        if (ept_run_to_done("noad_guest_pml4_walk"))
            report_pass("noad_guest_pml4_walk");
    }
    check_ad("noad_read_leaf", leaf_of(TW_PAGE(READ_PAGE)), false, false);
    check_ad("noad_write_leaf", leaf_of(TW_PAGE(WRITE_PAGE)), false, false);
    check_ad("noad_guest_pml4_leaf", leaf_of(TW_PAGE(PML4_PAGE)), false, false);
    check_eq("noad_pde_not_accessed", *ept_entry(&test_ept, TW, 2) & EPT_A, 0);
}

/* Large leaves: the offset within the page comes from the guest-physical
 * address; a read-only large leaf gives a violation with the full
 * guest-physical address. */
static uint64_t marker_1g = 0x1b1b1b1b00c0ffeeull;

static void large_write_and_violation(const char *name, uint64_t gpa, uint64_t host,
                                      unsigned level)
{
    unsigned got;
    uint64_t *leaf = ept_leaf(&test_ept, gpa, &got);
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_leaf_level", name);
    check_eq(n, got, level);
    *(volatile uint64_t *)host = 0;
    fmt_snprintf(n, sizeof(n), "%s_write_runs", name);
    if (run(n, false, gx_ept_write, gpa)) {
        fmt_snprintf(n, sizeof(n), "%s_write_reaches_offset", name);
        check_eq(n, *(volatile uint64_t *)host, GX_WRITE_VALUE);
    }
    *leaf &= ~EPT_W;
    ept_test_invept();
    if (ept_test_vmcs(0, false, gx_ept_write, gpa) && vmx_test_enter() == VMX_OK) {
        struct ept_violation v = {
            .qual = EPTQ_WRITE | EPTQ_PERMS(EPT_R | EPT_X) | EPTQ_LINEAR_VALID |
                    EPTQ_TRANSLATION | EPTQ_ADV_WRITE,
            .gpa = gpa, .linear = gpa, .rip = (uint64_t)gx_ept_write_insn,
        };
        fmt_snprintf(n, sizeof(n), "%s_read_only_write", name);
        check_ept_violation(n, &v);
    }
    *leaf |= EPT_W;
    ept_test_invept();
}

static void test_large_pages(void)
{
    if (vmx_ept_cap(EPT_CAP_2M)) {
        large_write_and_violation("2m", TW_2M + 0x1abc8, HPA_2M + 0x1abc8, 2);
    } else {
        report_skip("2m", "2-MiB EPT pages not supported");
    }
    if (vmx_ept_cap(EPT_CAP_1G)) {
        uint64_t gpa = GPA_1G + (uint64_t)&marker_1g;
        if (run("1g_read_runs", false, gx_ept_read, gpa))
            check_eq("1g_read_value", last_exit.regs.rdx, 0x1b1b1b1b00c0ffeeull);
        large_write_and_violation("1g", gpa, (uint64_t)&marker_1g, 3);
    } else {
        report_skip("1g", "1-GiB EPT pages not supported");
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(0, 0);
    if (!ept_test_build())
        return;
    test_large_pages();
    test_ad_disabled();
    test_ad_enabled();
}
