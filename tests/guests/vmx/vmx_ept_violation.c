/* EPT violations (SDM 3C "EPT Violations", "Exit Qualification for EPT
 * Violations", "Operations that Invalidate Cached Mappings"): every
 * permission combination of a leaf against read, write and fetch, the
 * logical AND over the entries of the walk, guest paging-structure
 * accesses (bit 8 = 0; treated as writes with EPT A/D flags; A-flag
 * updates), NMI unblocking due to IRET, and resuming after the host fixed
 * the entry without INVEPT. Each violating case has an allowed twin. */
#include "console.h"
#include "ept_common.h"
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define DATA_PAGE 0
#define CODE_PAGE 1
#define IRET_PAGE 2
#define PML4_PAGE 3
#define IDT_PAGE 6
#define READ_OFF 0x18
#define WRITE_OFF 0x20
#define READ_VALUE 0x1122334455667788ull

/* The guest's 2-MiB pages are supervisor, read/write, executable: with
 * advanced VM-exit information, bit 10 (read/write) is 1, bits 9 and 11 are
 * 0 (SDM 3C Table "Exit Qualification for EPT Violations"). */
#define ADV EPTQ_ADV_WRITE
#define TRANSLATION_Q (EPTQ_LINEAR_VALID | EPTQ_TRANSLATION | ADV)

enum access { ACC_READ, ACC_WRITE, ACC_FETCH };
static const char *const access_name[] = { "read", "write", "fetch" };
static const char *const perm_name[8] = { "none", "r", "w", "rw", "x", "rx", "wx", "rwx" };

static void set_leaf(unsigned page, uint64_t rwx)
{
    ept_protect(&test_ept, TW_PAGE(page), 4096, rwx, EPT_RWX);
}

struct access_op {
    char *gx, *insn;
    uint64_t target;
    uint64_t qual_bit;
};

static struct access_op access_op(enum access a)
{
    switch (a) {
    case ACC_READ:
        return (struct access_op){ gx_ept_read, gx_ept_read_insn, TW_PAGE(DATA_PAGE) + READ_OFF,
                                   EPTQ_READ };
    case ACC_WRITE:
        return (struct access_op){ gx_ept_write, gx_ept_write_insn,
                                   TW_PAGE(DATA_PAGE) + WRITE_OFF, EPTQ_WRITE };
    default:
        /* The fetch target is the page's first byte: the fetch's address */
        return (struct access_op){ gx_ept_fetch, (char *)TW_PAGE(CODE_PAGE), TW_PAGE(CODE_PAGE),
                                   EPTQ_FETCH };
    }
}

static void plant_pages(void)
{
    *(uint64_t *)&ept_tpage[DATA_PAGE][READ_OFF] = READ_VALUE;
    *(uint64_t *)&ept_tpage[DATA_PAGE][WRITE_OFF] = 0;
    ept_tpage_code(CODE_PAGE, 0);
}

/* The access completed: its architectural result */
static void check_access_done(const char *name, enum access a)
{
    char n[96];

    fmt_snprintf(n, sizeof(n), "%s_result", name);
    if (a == ACC_READ)
        check_eq(n, last_exit.regs.rdx, READ_VALUE);
    else if (a == ACC_WRITE)
        check_eq(n, *(uint64_t *)&ept_tpage[DATA_PAGE][WRITE_OFF], GX_WRITE_VALUE);
    else
        check_eq(n, last_exit.regs.rdx, GX_FETCH_VALUE);
}

/* SDM 3C "EPT Violations": a read needs bit 0, a write bit 1, a fetch bit
 * 2 in every entry of the walk; bits 5:3 of the qualification are the AND
 * of bits 2:0 of those entries. */
static void run_perm_case(uint64_t perm, enum access a)
{
    struct access_op op = access_op(a);
    bool allowed = perm & (1u << a);
    char name[96];

    fmt_snprintf(name, sizeof(name), "leaf_%s_%s", perm_name[perm], access_name[a]);
    plant_pages();
    set_leaf(a == ACC_FETCH ? CODE_PAGE : DATA_PAGE, perm);
    ept_test_invept();
    if (!ept_test_vmcs(0, false, op.gx, op.target))
        return;
    if (allowed) {
        char n[96];
        fmt_snprintf(n, sizeof(n), "%s_allowed_no_exit", name);
        if (ept_run_to_done(n)) {
            report_pass(n);
            check_access_done(name, a);
        }
        return;
    }
    if (vmx_test_enter() != VMX_OK) {
        ept_report_unexpected(name, VMX_FAIL_VALID);
        return;
    }
    struct ept_violation v = {
        .qual = op.qual_bit | EPTQ_PERMS(perm) | TRANSLATION_Q,
        .gpa = op.target, .linear = op.target, .rip = (uint64_t)op.insn,
    };
    if (!check_ept_violation(name, &v))
        return;
    /* SDM 3C "Operations that Invalidate Cached Mappings": the violation
     * invalidated the mappings of its guest-physical address, so the host
     * grants the access and resumes without INVEPT. */
    set_leaf(a == ACC_FETCH ? CODE_PAGE : DATA_PAGE, EPT_RWX);
    char n[96];
    fmt_snprintf(n, sizeof(n), "%s_resumed_after_fix", name);
    if (ept_run_to_done(n)) {
        report_pass(n);
        check_access_done(n, a);
    }
}

static void test_permission_matrix(void)
{
    static const uint64_t perms[] = { 0, EPT_R, EPT_R | EPT_W, EPT_X, EPT_R | EPT_X, EPT_RWX };

    for (unsigned i = 0; i < sizeof(perms) / sizeof(perms[0]); i++) {
        /* Execute-only is a misconfiguration without bit 0 of the
         * capability MSR (SDM 3C "EPT Misconfigurations") */
        if (perms[i] == EPT_X && !vmx_ept_cap(EPT_CAP_EXEC_ONLY)) {
            report_skip("leaf_x", "execute-only translations not supported");
            continue;
        }
        for (unsigned a = ACC_READ; a <= ACC_FETCH; a++)
            run_perm_case(perms[i], a);
    }
    set_leaf(DATA_PAGE, EPT_RWX);
    set_leaf(CODE_PAGE, EPT_RWX);
}

/* Bits 5:3 are the AND over all entries of the walk: a PDE (table) with
 * R|X above an RWX leaf makes a write violate with "writable" = 0; a
 * PDPTE with R|W makes a fetch violate; a PDE with no permissions is not
 * present, and a read reports 000. */
static void run_upper_case(const char *name, unsigned level, uint64_t perm, enum access a)
{
    struct access_op op = access_op(a);
    uint64_t *ent = ept_entry(&test_ept, op.target, level);
    uint64_t saved = *ent;
    char n[96];

    plant_pages();
    *ent = (saved & ~EPT_RWX) | perm;
    ept_test_invept();
    if (ept_test_vmcs(0, false, op.gx, op.target) && vmx_test_enter() == VMX_OK) {
        struct ept_violation v = {
            .qual = op.qual_bit | EPTQ_PERMS(perm) | TRANSLATION_Q,
            .gpa = op.target, .linear = op.target, .rip = (uint64_t)op.insn,
        };
        check_ept_violation(name, &v);
    }
    /* The same walk allows the other accesses the entry permits */
    for (unsigned b = ACC_READ; b <= ACC_FETCH; b++) {
        if (!(perm & (1u << b)))
            continue;
        struct access_op ok = access_op(b);
        plant_pages();
        if (!ept_test_vmcs(0, false, ok.gx, ok.target))
            continue;
        fmt_snprintf(n, sizeof(n), "%s_but_%s_allowed", name, access_name[b]);
        if (ept_run_to_done(n)) {
            report_pass(n);
            check_access_done(n, b);
        }
    }
    *ent = saved;
    ept_test_invept();
}

static void test_upper_levels(void)
{
    run_upper_case("pde_rx_leaf_rwx_write", 2, EPT_R | EPT_X, ACC_WRITE);
    run_upper_case("pdpte_rw_leaf_rwx_fetch", 3, EPT_R | EPT_W, ACC_FETCH);
    run_upper_case("pde_not_present_read", 2, 0, ACC_READ);
}

/* Guest paging structures in the window: CR3 = the guest-physical address
 * of a PML4 whose entry 0 is the host's (accessed flag set) and entry 1
 * maps 512 GiB.. onto the same PDPT with the accessed flag clear. */
#define ALIAS_512G 0x8000000000ull

static void build_guest_pml4(bool alias_accessed)
{
    uint64_t *host_pml4 = (uint64_t *)(read_cr3() & PTE_ADDR);
    uint64_t *pml4 = (uint64_t *)ept_tpage[PML4_PAGE];

    memset(pml4, 0, 4096);
    pml4[0] = host_pml4[0] | PTE_A;
    pml4[1] = (host_pml4[0] & ~PTE_A) | (alias_accessed ? PTE_A : 0);
}

static bool paging_vmcs(bool ad, char *gx, uint64_t arg)
{
    if (!ept_test_vmcs(0, ad, gx, arg))
        return false;
    vmwrite(GUEST_CR3, TW_PAGE(PML4_PAGE));
    return true;
}

static void test_paging_structure_accesses(void)
{
    const uint64_t entry = (uint64_t)vmx_guest_entry, target = TW_PAGE(DATA_PAGE) + READ_OFF;
    struct ept_violation v;

    plant_pages();
    build_guest_pml4(true);
    /* Allowed: the guest PML4 is only read (its accessed flags are set) */
    set_leaf(PML4_PAGE, EPT_R);
    ept_test_invept();
    if (paging_vmcs(false, gx_ept_read, target) &&
        ept_run_to_done("guest_pml4_read_only_walk_allowed")) {
        report_pass("guest_pml4_read_only_walk_allowed");
        check_access_done("guest_pml4_read_only_walk", ACC_READ);
    }

    /* SDM 3C "EPT Violations": reads of guest paging structures are data
     * reads; bit 8 = 0 (an access to a paging-structure entry), the linear
     * address is the one being translated: the first fetch. */
    set_leaf(PML4_PAGE, 0);
    ept_test_invept();
    if (paging_vmcs(false, gx_ept_read, target) && vmx_test_enter() == VMX_OK) {
        v = (struct ept_violation){ .qual = EPTQ_READ | EPTQ_LINEAR_VALID | EPTQ_PERMS(0),
                                    .gpa = TW_PAGE(PML4_PAGE) + 8 * ((entry >> 39) & 511),
                                    .linear = entry, .rip = entry };
        if (check_ept_violation("guest_pml4_not_present_walk", &v)) {
            set_leaf(PML4_PAGE, EPT_R);
            if (ept_run_to_done("guest_pml4_walk_resumed"))
                check_access_done("guest_pml4_walk_resumed", ACC_READ);
        }
    }

    /* SDM 3C "Accessed and Dirty Flags for EPT": with EPTP bit 6 set,
     * accesses to guest paging structures are treated as writes; such an
     * EPT violation sets bits 0 and 1. */
    if (vmx_ept_cap(EPT_CAP_AD)) {
        set_leaf(PML4_PAGE, EPT_R);
        ept_test_invept();
        if (paging_vmcs(true, gx_ept_read, target) && vmx_test_enter() == VMX_OK) {
            v = (struct ept_violation){ .qual = EPTQ_READ | EPTQ_WRITE | EPTQ_LINEAR_VALID |
                                                EPTQ_PERMS(EPT_R),
                                        .gpa = TW_PAGE(PML4_PAGE) + 8 * ((entry >> 39) & 511),
                                        .linear = entry, .rip = entry };
            check_ept_violation("ad_guest_pml4_read_only_walk_is_write", &v);
        }
        set_leaf(PML4_PAGE, EPT_R | EPT_W);
        ept_test_invept();
        if (paging_vmcs(true, gx_ept_read, target) &&
            ept_run_to_done("ad_guest_pml4_writable_walk_allowed"))
            report_pass("ad_guest_pml4_writable_walk_allowed");
    } else {
        report_skip("ad_guest_pml4_read_only_walk_is_write", "EPT A/D flags not supported");
    }

    /* Setting a guest accessed flag writes the paging-structure entry
     * (SDM 3C "EPT Violations": writes to guest paging structures to
     * update accessed and dirty flags are data writes). */
    build_guest_pml4(false);
    set_leaf(PML4_PAGE, EPT_R);
    ept_test_invept();
    if (paging_vmcs(false, gx_ept_read, ALIAS_512G + target) && vmx_test_enter() == VMX_OK) {
        v = (struct ept_violation){ .qual = EPTQ_WRITE | EPTQ_LINEAR_VALID | EPTQ_PERMS(EPT_R),
                                    .gpa = TW_PAGE(PML4_PAGE) + 8, .linear = ALIAS_512G + target,
                                    .rip = (uint64_t)gx_ept_read_insn, .rmw = true };
        if (check_ept_violation("guest_accessed_flag_update_read_only", &v)) {
            set_leaf(PML4_PAGE, EPT_R | EPT_W);
            if (ept_run_to_done("guest_accessed_flag_update_resumed")) {
                check_access_done("guest_accessed_flag_update_resumed", ACC_READ);
                check_true("guest_accessed_flag_set_after_resume",
                           ((uint64_t *)ept_tpage[PML4_PAGE])[1] & PTE_A, "PML4E[1].A");
            }
        }
    }
    build_guest_pml4(true);
    set_leaf(PML4_PAGE, EPT_R);
    ept_test_invept();
    if (paging_vmcs(false, gx_ept_read, ALIAS_512G + target) &&
        ept_run_to_done("guest_accessed_flag_preset_no_write")) {
        report_pass("guest_accessed_flag_preset_no_write");
        check_access_done("guest_accessed_flag_preset_no_write", ACC_READ);
    }
    set_leaf(PML4_PAGE, EPT_RWX);
    ept_test_invept();
}

/* SDM 3C "Exit Qualification for EPT Violations", bit 12: with "virtual
 * NMIs" = 0, set if the violation was caused by IRET and blocking by NMI
 * was in effect before it. The IRET frame lies in a page with no EPT
 * permissions. */
static void run_iret_case(const char *name, bool nmi_blocked)
{
    uint64_t frame = TW_PAGE(IRET_PAGE) + 4096 - 40;
    uint64_t *f = (uint64_t *)&ept_tpage[IRET_PAGE][4096 - 40];
    char n[96];

    f[0] = (uint64_t)gx_ept_iret_next;
    f[1] = GDT_KCODE;
    f[2] = 2;
    f[3] = TW_PAGE(IRET_PAGE) + 4096;
    f[4] = GDT_KDATA;
    set_leaf(IRET_PAGE, 0);
    ept_test_invept();
    if (!ept_test_vmcs(0, false, gx_ept_iret, frame))
        return;
    vmwrite(GUEST_INTERRUPTIBILITY, nmi_blocked ? INTERRUPTIBILITY_NMI : 0);
    if (vmx_test_enter() != VMX_OK) {
        ept_report_unexpected(name, VMX_FAIL_VALID);
        return;
    }
    struct ept_violation v = {
        .qual = EPTQ_READ | EPTQ_PERMS(0) | TRANSLATION_Q | (nmi_blocked ? EPTQ_NMI_UNBLOCK : 0),
        .gpa = frame, .linear = frame, .rip = (uint64_t)gx_ept_iret_insn,
    };
    if (!check_ept_violation(name, &v))
        return;
    set_leaf(IRET_PAGE, EPT_R | EPT_W);
    fmt_snprintf(n, sizeof(n), "%s_iret_completes", name);
    if (ept_run_to_done(n))
        check_eq(n, last_exit.regs.rdx, GX_IRET_VALUE);
}

static void test_nmi_unblocking(void)
{
    if (vmx_ctls.pin & (PIN_NMI_EXITING | PIN_VIRTUAL_NMIS)) {
        report_skip("iret_nmi_unblocking", "NMI exiting or virtual NMIs forced on");
        return;
    }
    run_iret_case("iret_with_nmi_blocking", true);
    run_iret_case("iret_without_nmi_blocking", false);
    set_leaf(IRET_PAGE, EPT_RWX);
    ept_test_invept();
}

/* Advanced VM-exit information (IA32_VMX_EPT_VPID_CAP bit 22; SDM 3C
 * Table "Exit Qualification for EPT Violations" bits 9-11): for a
 * translated access, whether the linear address is user-mode (U/S = 1 in
 * every paging-structure entry), read/write (R/W = 1 in every entry) and
 * execute-disable (XD = 1 in some entry, with EFER.NXE). The guest reads a
 * test mapping at PG_TEST_BASE whose PTE has the flags of each case; the
 * guest-physical page has no EPT permissions. */
static void advanced_case(const char *name, uint64_t pte_flags, uint64_t adv)
{
    const uint64_t lin = PG_TEST_BASE + 0x40000, off = READ_OFF;

    if (!pg_map(lin, TW_PAGE(DATA_PAGE), PTE_P | PTE_A | pte_flags))
        return;
    set_leaf(DATA_PAGE, 0);
    ept_test_invept();
    if (!ept_test_vmcs(0, false, gx_ept_read, lin + off))
        return;
    vmwrite(ENTRY_CONTROLS, vmx_ctls.entry | ENTRY_LOAD_EFER);
    vmwrite(GUEST_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    if (vmx_test_enter() == VMX_OK) {
        struct ept_violation v = {
            .qual = EPTQ_READ | EPTQ_PERMS(0) | EPTQ_LINEAR_VALID | EPTQ_TRANSLATION | adv,
            .gpa = TW_PAGE(DATA_PAGE) + off, .linear = lin + off,
            .rip = (uint64_t)gx_ept_read_insn,
        };
        check_ept_violation(name, &v);
    }
    set_leaf(DATA_PAGE, EPT_RWX);
    ept_test_invept();
}

static void test_advanced_information(void)
{
    if (!vmx_ept_cap(EPT_CAP_ADV_EXIT_INFO)) {
        report_skip("advanced_exit_info", "IA32_VMX_EPT_VPID_CAP bit 22 is 0");
        return;
    }
    if (!vmx_ctl_allowed(vmx_caps.entry, ENTRY_LOAD_EFER)) {
        report_skip("advanced_exit_info", "\"load IA32_EFER\" not supported");
        return;
    }
    advanced_case("adv_supervisor_read_only", 0, 0);
    advanced_case("adv_supervisor_read_write", PTE_W, EPTQ_ADV_WRITE);
    advanced_case("adv_user_read_only", PTE_U, EPTQ_ADV_USER);
    advanced_case("adv_user_read_write_xd", PTE_U | PTE_W | PTE_NX,
                  EPTQ_ADV_USER | EPTQ_ADV_WRITE | EPTQ_ADV_NX);
    pg_update(PG_TEST_BASE + 0x40000, 0, PTE_P);
}

/* SDM 3C "Information for VM Exits During Event Delivery": an EPT
 * violation while delivering #UD (reading its IDT gate) records the #UD in
 * the IDT-vectoring information; the access is a translated data read. The
 * guest IDT is a copy in a window page. */
extern char gx_ept_ud2[], gx_ept_ud2_insn[];

static void test_event_delivery(void)
{
    const uint64_t gate = TW_PAGE(IDT_PAGE) + 6 * 16;

    if (!ept_test_vmcs(0, false, gx_ept_ud2, 0))
        return;
    memcpy(ept_tpage[IDT_PAGE], (void *)vmread(GUEST_IDTR_BASE), 4096);
    vmwrite(GUEST_IDTR_BASE, TW_PAGE(IDT_PAGE));
    vmwrite(GUEST_IDTR_LIMIT, 0xfff);
    /* Twin: a readable IDT page delivers #UD to the guest */
    set_leaf(IDT_PAGE, EPT_R);
    ept_test_invept();
    if (vmx_test_enter() == VMX_OK && last_exit.reason == EXIT_VMCALL &&
        last_exit.regs.rax == VMX_GUEST_VECTOR)
        check_eq("ud_through_readable_idt_page_delivered", last_exit.regs.rbx, 6);
    else
        ept_report_unexpected("ud_through_readable_idt_page_delivered", VMX_OK);

    if (!ept_test_vmcs(0, false, gx_ept_ud2, 0))
        return;
    vmwrite(GUEST_IDTR_BASE, TW_PAGE(IDT_PAGE));
    vmwrite(GUEST_IDTR_LIMIT, 0xfff);
    set_leaf(IDT_PAGE, 0);
    ept_test_invept();
    if (vmx_test_enter() != VMX_OK) {
        ept_report_unexpected("ud_delivery_idt_not_present", VMX_FAIL_VALID);
        return;
    }
    /* Bit 12 is undefined when the IDT-vectoring information is valid */
    struct ept_violation v = {
        .qual = EPTQ_READ | EPTQ_PERMS(0) | TRANSLATION_Q,
        .gpa = gate, .linear = gate, .rip = (uint64_t)gx_ept_ud2_insn,
    };
    last_exit.qual &= ~EPTQ_NMI_UNBLOCK;
    check_ept_violation("ud_delivery_idt_not_present", &v);
    check_eq("ud_delivery_idt_vectoring_info", last_exit.idt_info,
             INTR_VALID | INTR_TYPE_HW_EXC | 6);
    set_leaf(IDT_PAGE, EPT_RWX);
    ept_test_invept();
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(0, 0);
    if (!ept_test_build())
        return;
    test_permission_matrix();
    test_upper_levels();
    test_paging_structure_accesses();
    test_nmi_unblocking();
    test_event_delivery();
    test_advanced_information();
}
