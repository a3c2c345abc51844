/* A PAE guest under EPT (SDM 3C "Guest-State Area" PDPTEs, "Saving
 * Non-Register State", "Exit Qualification for EPT Violations"; 3A "PAE
 * Paging"): MOV to CR3 loads the four PDPTEs through EPT, so a PDPT in a
 * page without EPT read permission gives an EPT violation whose
 * qualification has bit 7 = 0 (the guest-linear address is not valid: the
 * one case the SDM names) and bit 8 = 0; with read permission the load
 * completes, and the VM exit saves the new PDPTEs into the VMCS. */
#include "console.h"
#include "ept_common.h"
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

extern char gx_pae_mov_cr3[], gx_pae_mov_cr3_insn[];

#define PDPT_A 0 /* ept_tpage index: the PDPT at VM entry (identity GPA) */
#define PD0 1    /* 4 page directories of 2-MiB pages, 0..4 GiB */
#define PDPT_B_PAGE 5
#define PDPT_B TW_PAGE(PDPT_B_PAGE) /* the PDPT the guest loads */
#define PDPTE_PWT (1ull << 3)

static uint32_t marker = 0x9ae5a1ed;

/* PAE paging structures: PDPT A -> 4 PDs, identity with 2-MiB pages; PDPT
 * B = A with PWT set in every entry (so that saved PDPTEs show which PDPT
 * they came from). */
static void build_pae(void)
{
    uint64_t *pdpt_a = (uint64_t *)ept_tpage[PDPT_A], *pdpt_b = (uint64_t *)ept_tpage[PDPT_B_PAGE];

    memset(pdpt_a, 0, 4096);
    memset(pdpt_b, 0, 4096);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t *pd = (uint64_t *)ept_tpage[PD0 + i];
        for (unsigned j = 0; j < 512; j++)
            pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + (PTE_P | PTE_W | PTE_A | PTE_D |
                                                               PTE_PS);
        pdpt_a[i] = (uint64_t)pd | PTE_P;
        pdpt_b[i] = pdpt_a[i] | PDPTE_PWT;
    }
}

/* A 32-bit protected-mode guest with PAE paging at gx_pae_mov_cr3:
 * "IA-32e mode guest" = 0, EFER = 0, CR3 = PDPT A and the VMCS PDPTEs =
 * its entries (loaded by VM entry when EPT is on); every exception exits. */
static bool pae_vmcs(void)
{
    uint64_t *pdpt_a = (uint64_t *)ept_tpage[PDPT_A];

    if (!ept_test_vmcs(0, false, 0, 0))
        return false;
    if (!vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_EFER)) {
        report_skip("pae", "\"load IA32_EFER\" not supported");
        return false;
    }
    vmwrite(ENTRY_CONTROLS, (vmx_ctls.entry & ~ENTRY_IA32E) | ENTRY_LOAD_EFER);
    vmwrite(GUEST_EFER, 0);
    vmwrite(GUEST_CR4, read_cr4() & ~(1ull << 17)); /* PAE on, PCIDE off */
    vmwrite(GUEST_CR3, (uint64_t)pdpt_a);
    vmwrite(GUEST_PDPTE0, pdpt_a[0]);
    vmwrite(GUEST_PDPTE1, pdpt_a[1]);
    vmwrite(GUEST_PDPTE2, pdpt_a[2]);
    vmwrite(GUEST_PDPTE3, pdpt_a[3]);
    vmwrite(GUEST_CS_AR, 0xc09b); /* 32-bit code: D, G, type 11 */
    vmwrite(GUEST_RIP, (uint64_t)gx_pae_mov_cr3);
    vmwrite(EXCEPTION_BITMAP, 0xffffffff);
    test_regs.rax = PDPT_B;
    test_regs.rsi = (uint64_t)&marker;
    return true;
}

static void check_pdptes(const char *name)
{
    uint64_t *pdpt_b = (uint64_t *)ept_tpage[PDPT_B_PAGE];
    char n[96];

    for (unsigned i = 0; i < 4; i++) {
        fmt_snprintf(n, sizeof(n), "%s_guest_pdpte%u", name, i);
        check_eq(n, vmread(GUEST_PDPTE0 + 2 * i), pdpt_b[i]);
    }
}

static void expect_done(const char *name)
{
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_runs_to_vmcall", name);
    if (!ept_run_to_done(n))
        return;
    report_pass(n);
    fmt_snprintf(n, sizeof(n), "%s_read_through_new_cr3", name);
    check_eq(n, (uint32_t)last_exit.regs.rdx, marker);
    fmt_snprintf(n, sizeof(n), "%s_guest_cr3", name);
    check_eq(n, vmread(GUEST_CR3), PDPT_B);
    /* "Saving Non-Register State": with EPT and PAE paging, the VM exit
     * saves the PDPTEs */
    check_pdptes(name);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(0, 0);
    if (!ept_test_build())
        return;
    build_pae();

    /* Allowed: the new PDPT is readable */
    ept_test_invept();
    if (pae_vmcs())
        expect_done("pae_mov_cr3_pdpt_readable");

    /* The PDPT page has no EPT permissions */
    ept_protect(&test_ept, PDPT_B, 4096, 0, EPT_RWX);
    ept_test_invept();
    if (!pae_vmcs())
        return;
    if (vmx_test_enter() != VMX_OK) {
        ept_report_unexpected("pae_pdpte_load", VMX_FAIL_VALID);
        return;
    }
    struct ept_violation v = {
        .qual = EPTQ_READ | EPTQ_PERMS(0), /* bits 7 and 8 clear */
        .gpa = PDPT_B, .rip = (uint64_t)gx_pae_mov_cr3_insn,
    };
    if (!check_ept_violation("pae_pdpte_load_not_present", &v))
        return;
    ept_protect(&test_ept, PDPT_B, 4096, EPT_R, 0);
    expect_done("pae_pdpte_load_resumed");
}
