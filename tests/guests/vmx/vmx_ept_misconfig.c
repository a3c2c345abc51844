/* EPT misconfigurations (SDM 3C "EPT Misconfigurations"): an entry that is
 * present (bits 2:0 not 000) and has write without read, execute-only
 * without the capability, a reserved bit set (bits 51:N beyond MAXPHYADDR,
 * 7:3 of a PML4E, 6:3 of a PDE or PDPTE that references a table, 20:12 of
 * a 2-MiB leaf, 29:12 of a 1-GiB leaf) or a leaf memory type of 2, 3 or 7,
 * gives VM exit 49 with the guest-physical address. Each case has a twin
 * that differs in that one setting and does not exit. */
#include "console.h"
#include "ept_common.h"
#include "paging.h"
#include "report.h"
#include "x86.h"

#define DATA_PAGE 4
#define READ_OFF 0x10
#define READ_VALUE 0x0123456789abcdefull
/* A second PML4 entry: guest-physical 512 GiB, reached by the guest through
 * a host-table mapping at PG_TEST_BASE. */
#define GPA_512G 0x8000000000ull

static uint64_t target(void)
{
    return TW_PAGE(DATA_PAGE) + READ_OFF;
}

/* Run a read of gpa (guest-linear lin) with entry *ent = value for this
 * run; misconfig says which exit is expected. */
static void run_case(const char *name, uint64_t *ent, uint64_t value, bool misconfig, uint64_t lin,
                     uint64_t gpa, uint64_t expect)
{
    uint64_t saved = *ent;
    char n[96];

    *ent = value;
    ept_test_invept();
    if (ept_test_vmcs(0, false, gx_ept_read, lin)) {
        if (misconfig) {
            if (vmx_test_enter() == VMX_OK)
                check_ept_misconfig(name, gpa);
            else
                ept_report_unexpected(name, VMX_FAIL_VALID);
        } else {
            fmt_snprintf(n, sizeof(n), "%s_no_exit", name);
            if (ept_run_to_done(n)) {
                report_pass(n);
                fmt_snprintf(n, sizeof(n), "%s_read_value", name);
                check_eq(n, last_exit.regs.rdx, expect);
            }
        }
    }
    *ent = saved;
    ept_test_invept();
}

static void leaf_case(const char *name, uint64_t set, uint64_t clear, bool misconfig)
{
    unsigned level;
    uint64_t *pte = ept_leaf(&test_ept, target(), &level);

    run_case(name, pte, (*pte & ~clear) | set, misconfig, target(), target(), READ_VALUE);
}

static void test_leaf(void)
{
    static const unsigned good_mt[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB };
    char n[64];

    /* Write without read (SDM: bit 0 clear and bit 1 set) */
    leaf_case("leaf_w_only", EPT_W, EPT_RWX, true);
    leaf_case("leaf_wx", EPT_W | EPT_X, EPT_RWX, true);
    leaf_case("leaf_rw_twin", EPT_R | EPT_W, EPT_RWX, false);
    /* Execute-only without IA32_VMX_EPT_VPID_CAP bit 0 */
    if (!vmx_ept_cap(EPT_CAP_EXEC_ONLY))
        leaf_case("leaf_x_only_unsupported", EPT_X, EPT_RWX, true);
    /* Memory types 2, 3, 7 are reserved in a leaf; the others are not */
    for (unsigned mt = 2; mt <= 7; mt = mt == 3 ? 7 : mt + 1) {
        fmt_snprintf(n, sizeof(n), "leaf_memory_type_%u", mt);
        leaf_case(n, EPT_MT(mt), EPT_MT_MASK, true);
    }
    for (unsigned i = 0; i < sizeof(good_mt) / sizeof(good_mt[0]); i++) {
        fmt_snprintf(n, sizeof(n), "leaf_memory_type_%u_valid", good_mt[i]);
        leaf_case(n, EPT_MT(good_mt[i]), EPT_MT_MASK, false);
    }
    /* IPAT is not a reserved bit of a leaf */
    leaf_case("leaf_ipat_valid", EPT_IPAT, 0, false);
    /* An address bit at or above MAXPHYADDR is reserved; bit 52 is ignored */
    if (vmx_caps.maxphyaddr < 52) {
        fmt_snprintf(n, sizeof(n), "leaf_address_bit_%u", vmx_caps.maxphyaddr);
        leaf_case(n, 1ull << vmx_caps.maxphyaddr, 0, true);
    }
    leaf_case("leaf_ignored_bit_52", 1ull << 52, 0, false);
    /* Only a present entry is misconfigured: no permissions and memory
     * type 7 is an EPT violation (SDM 3C "EPT Violations": not present) */
    {
        unsigned level;
        uint64_t *pte = ept_leaf(&test_ept, target(), &level);
        uint64_t saved = *pte;
        *pte = (saved & ~(EPT_RWX | EPT_MT_MASK)) | EPT_MT(7);
        ept_test_invept();
        if (ept_test_vmcs(0, false, gx_ept_read, target()) && vmx_test_enter() == VMX_OK) {
            struct ept_violation v = {
                .qual = EPTQ_READ | EPTQ_PERMS(0) | EPTQ_LINEAR_VALID | EPTQ_TRANSLATION |
                        EPTQ_ADV_WRITE,
                .gpa = target(), .linear = target(), .rip = (uint64_t)gx_ept_read_insn,
            };
            check_ept_violation("leaf_not_present_memory_type_7_is_violation", &v);
        }
        *pte = saved;
        ept_test_invept();
    }
}

static void table_case(const char *name, unsigned level, uint64_t set, uint64_t clear,
                       bool misconfig)
{
    uint64_t *ent = ept_entry(&test_ept, target(), level);

    run_case(name, ent, (*ent & ~clear) | set, misconfig, target(), target(), READ_VALUE);
}

static void test_tables(void)
{
    /* A PDE and a PDPTE that reference tables: bits 6:3 are reserved,
     * bit 11 is ignored; write without read is misconfigured there too. */
    table_case("pde_w_only", 2, EPT_W, EPT_RWX, true);
    table_case("pde_reserved_bit_3", 2, 1ull << 3, 0, true);
    table_case("pde_reserved_bit_6", 2, 1ull << 6, 0, true);
    table_case("pde_ignored_bit_11", 2, 1ull << 11, 0, false);
    table_case("pdpte_reserved_bit_5", 3, 1ull << 5, 0, true);
    table_case("pdpte_ignored_bit_11", 3, 1ull << 11, 0, false);

    /* PML4E bits 7:3 are reserved. PML4E 1 (guest-physical 512 GiB) is
     * used only by this access, which the guest makes at PG_TEST_BASE. */
    uint64_t lin = PG_TEST_BASE + 0x3000;
    if (!pg_map(lin, GPA_512G, PTE_P | PTE_W | PTE_A | PTE_D) ||
        !ept_map(&test_ept, GPA_512G, (uint64_t)ept_tpage[DATA_PAGE], 4096, EPT_LEAF_4K,
                 EPT_RWX | EPT_MT(EPT_MT_WB)))
        return;
    uint64_t *pml4e = ept_entry(&test_ept, GPA_512G, 4);
    run_case("pml4e_reserved_bit_7", pml4e, *pml4e | (1ull << 7), true, lin + READ_OFF,
             GPA_512G + READ_OFF, 0);
    run_case("pml4e_reserved_bit_3", pml4e, *pml4e | (1ull << 3), true, lin + READ_OFF,
             GPA_512G + READ_OFF, 0);
    run_case("pml4e_1_valid", pml4e, *pml4e, false, lin + READ_OFF, GPA_512G + READ_OFF,
             READ_VALUE);
}

static uint64_t marker_1g = 0x1b1b1b1b00c0ffeeull;

static void test_large_leaves(void)
{
    unsigned level;
    uint64_t *ent;

    if (vmx_ept_cap(EPT_CAP_2M)) {
        uint64_t gpa = TW_2M + 0x1ff008;
        *(volatile uint64_t *)(HPA_2M + 0x1ff008) = READ_VALUE ^ 2;
        ent = ept_leaf(&test_ept, gpa, &level);
        check_eq("2m_leaf_level", level, 2);
        /* bits 20:12 of a 2-MiB leaf are reserved */
        run_case("2m_leaf_reserved_bit_12", ent, *ent | (1ull << 12), true, gpa, gpa, 0);
        run_case("2m_leaf_reserved_bit_20", ent, *ent | (1ull << 20), true, gpa, gpa, 0);
        run_case("2m_leaf_valid", ent, *ent, false, gpa, gpa, READ_VALUE ^ 2);
    } else {
        report_skip("2m_leaf", "2-MiB EPT pages not supported");
    }
    if (vmx_ept_cap(EPT_CAP_1G)) {
        uint64_t gpa = GPA_1G + (uint64_t)&marker_1g;
        ent = ept_leaf(&test_ept, gpa, &level);
        check_eq("1g_leaf_level", level, 3);
        /* bits 29:12 of a 1-GiB leaf are reserved */
        run_case("1g_leaf_reserved_bit_12", ent, *ent | (1ull << 12), true, gpa, gpa, 0);
        run_case("1g_leaf_reserved_bit_29", ent, *ent | (1ull << 29), true, gpa, gpa, 0);
        run_case("1g_leaf_valid", ent, *ent, false, gpa, gpa, marker_1g);
    } else {
        /* Without 1-GiB pages, bit 7 of a PDPTE is reserved */
        uint64_t *pdpte = ept_entry(&test_ept, target(), 3);
        run_case("pdpte_ps_without_1g_pages", pdpte, *pdpte | EPT_PS, true, target(), target(),
                 0);
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    ept_test_start(0, 0);
    if (!ept_test_build())
        return;
    *(uint64_t *)&ept_tpage[DATA_PAGE][READ_OFF] = READ_VALUE;
    test_leaf();
    test_tables();
    test_large_leaves();
}
