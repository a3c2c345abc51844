/* The guest runtime's EPT-table builder (guests/lib/ept.c) on its own: the
 * entries it writes follow SDM 3C "Format of EPT Paging-Structure Entries"
 * and "Extended-Page-Table Pointer (EPTP)". Runs without VMX. */
#include "ept.h"
#include "report.h"
#include "vmx_defs.h"

#define MB2 (1ull << 21)
#define GB1 (1ull << 30)
#define WB EPT_MT(EPT_MT_WB)

static struct ept e;

/* Identity 0..2 GiB with the largest leaves, then a 4-KiB hole punched into
 * the middle of a 1-GiB leaf: the leaf is split into 2-MiB leaves, and the
 * one holding the page into 4-KiB leaves, all with the old attributes. */
static void test_map_and_split(void)
{
    unsigned level;
    uint64_t *ent;
    const uint64_t page = GB1 + 5 * MB2 + 0x3000, target = 0x12345000;

    ept_use_caps(EPT_CAP_2M | EPT_CAP_1G);
    if (!ept_map(&e, 0, 0, 2 * GB1, EPT_LEAF_AUTO, EPT_RWX | WB | EPT_IPAT))
        return;
    ent = ept_leaf(&e, GB1 + 0x1000, &level);
    check_eq("auto_map_uses_1g_leaf_level", level, 3);
    check_eq("1g_leaf_format_addr_ps_mt_ipat_rwx", *ent, GB1 | EPT_PS | WB | EPT_IPAT | EPT_RWX);
    check_eq("pml4e_references_pdpt_with_rwx", *ept_entry(&e, 0, 4) & ~EPT_ADDR, EPT_RWX);

    if (!ept_map(&e, page, target, 4096, EPT_LEAF_4K, EPT_R | WB))
        return;
    ent = ept_leaf(&e, page, &level);
    check_eq("4k_map_level", level, 1);
    check_eq("4k_leaf_format_no_ps", *ent, target | EPT_R | WB);
    check_eq("translate_4k", ept_translate(&e, page + 0x123), target + 0x123);
    check_eq("split_pdpte_is_table_rwx", *ept_entry(&e, page, 3) & ~EPT_ADDR, EPT_RWX);
    check_eq("split_pde_is_table_rwx", *ept_entry(&e, page, 2) & ~EPT_ADDR, EPT_RWX);
    ent = ept_leaf(&e, page + 0x1000, &level);
    check_eq("split_neighbour_4k_keeps_attributes", *ent,
             (page + 0x1000) | EPT_RWX | WB | EPT_IPAT);
    ent = ept_leaf(&e, GB1 + 7 * MB2, &level);
    check_eq("split_neighbour_2m_level", level, 2);
    check_eq("split_neighbour_2m_keeps_attributes", *ent,
             (GB1 + 7 * MB2) | EPT_PS | EPT_RWX | WB | EPT_IPAT);
    check_eq("translate_other_1g_untouched", ept_translate(&e, 0x1234567), 0x1234567);
    check_eq("translate_unmapped", ept_translate(&e, 4 * GB1), ~0ull);
}

static void test_protect_unmap_ad(void)
{
    unsigned level;
    uint64_t *ent;
    const uint64_t gpa = 3 * GB1; /* unmapped so far */

    if (!ept_map(&e, gpa, 0x200000, MB2, EPT_LEAF_2M, EPT_RWX | WB))
        return;
    /* Protect one 4-KiB page of the 2-MiB leaf: split, then only that PTE */
    ept_protect(&e, gpa + 0x5000, 4096, 0, EPT_W | EPT_X);
    ent = ept_leaf(&e, gpa + 0x5000, &level);
    check_eq("protect_page_level", level, 1);
    check_eq("protect_clears_w_x", *ent, (0x200000 + 0x5000) | EPT_R | WB);
    check_eq("protect_neighbour_unchanged", *ept_leaf(&e, gpa + 0x4000, &level),
             (0x200000 + 0x4000) | EPT_RWX | WB);
    ept_protect(&e, gpa + 0x5000, 4096, EPT_W, 0);
    check_eq("protect_sets_w", *ent & EPT_RWX, EPT_R | EPT_W);
    /* A leaf with no permissions stays in the tables, so it can be restored */
    ept_protect(&e, gpa + 0x6000, 4096, 0, EPT_RWX);
    check_eq("protect_to_not_present_keeps_address", ept_translate(&e, gpa + 0x6000),
             0x200000 + 0x6000);
    ept_unmap(&e, gpa + 0x6000, 4096);
    check_eq("unmap_clears_leaf", *ept_leaf(&e, gpa + 0x6000, &level), 0);
    check_eq("unmap_translate", ept_translate(&e, gpa + 0x6000), ~0ull);

    *ept_entry(&e, gpa, 4) |= EPT_A;
    *ept_entry(&e, gpa, 2) |= EPT_A;
    *ent |= EPT_A | EPT_D;
    ept_clear_ad(&e, gpa + 0x5000, 4096);
    check_eq("clear_ad_leaf", *ent & (EPT_A | EPT_D), 0);
    check_eq("clear_ad_pml4e", *ept_entry(&e, gpa, 4) & EPT_A, 0);
    check_eq("clear_ad_pde", *ept_entry(&e, gpa, 2) & EPT_A, 0);
}

/* EPTP: bits 2:0 memory type (6 = WB), 5:3 walk length - 1, bit 6 A/D */
static void test_eptp(void)
{
    check_eq("eptp_wb_4level", ept_eptp(&e, false), (uint64_t)e.pml4 | 6 | (3 << 3));
    check_eq("eptp_wb_4level_ad", ept_eptp(&e, true), (uint64_t)e.pml4 | 6 | (3 << 3) | (1 << 6));
    check_eq("eptp_pml4_page_aligned", (uint64_t)e.pml4 & 0xfff, 0);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    if (!ept_init(&e))
        guest_finish();
    test_map_and_split();
    test_protect_unmap_ad();
    test_eptp();
}
