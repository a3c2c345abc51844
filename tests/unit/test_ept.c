/* Unit tests for the EPT walker (src/ept): EPT tables are built in a small
 * host-physical memory array and walked with ept_walk(); the tests assert
 * the outcome, host-physical address, permissions, exit qualification,
 * number of memory references and the accessed/dirty list. */
#include "nvmx/ept.h"
#include "harness.h"

#include <check.h>
#include <string.h>

#define MEM_PAGES 16
static uint64_t mem[MEM_PAGES * 512];
static unsigned nreads;

static uint64_t mem_read(void *ctx, uint64_t hpa)
{
    (void)ctx;
    nreads++;
    ck_assert_uint_eq(hpa & 7, 0);
    if (hpa >= sizeof mem)
        return ~0ull;
    return mem[hpa / 8];
}

/* Tables: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull
#define GPA 0x40201234ull /* PML4[0] PDPT[1] PD[1] PT[1] */
#define TARGET 0x7654300000ull /* 1 GiB aligned host page */
#define WB (6ull << EPT_MT_SHIFT)
#define EPTP_4 (PML4 | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB)

static const uint64_t skylake_cap = 0x00000f0106734141ull;
static struct ept_caps caps;

static uint64_t *ent(uint64_t table, unsigned idx) { return &mem[table / 8 + idx]; }

/* Leaf level: 0 = PTE (4 KiB), 1 = PDE (2 MiB), 2 = PDPTE (1 GiB). Builds a
 * path to GPA with RWX non-leaf entries and the given leaf bits. */
static void build(unsigned leaf_level, uint64_t leaf_bits)
{
    memset(mem, 0, sizeof mem);
    *ent(PML4, 0) = PDPT | EPT_RWX;
    uint64_t target = TARGET & ~((1ull << (12 + 9 * leaf_level)) - 1);
    if (leaf_level == 2) {
        *ent(PDPT, 1) = target | EPT_PS | leaf_bits;
        return;
    }
    *ent(PDPT, 1) = PD | EPT_RWX;
    if (leaf_level == 1) {
        *ent(PD, 1) = target | EPT_PS | leaf_bits;
        return;
    }
    *ent(PD, 1) = PT | EPT_RWX;
    *ent(PT, 1) = target | leaf_bits;
}

static void setup(void)
{
    caps = (struct ept_caps){ .cap = skylake_cap, .maxphyaddr = 46 };
    nreads = 0;
}

static struct ept_access translation_access(unsigned type)
{
    return (struct ept_access){ .type = type, .linear_valid = true };
}

/* ---- leaf level x permission x access type -------------------------------- */

static const unsigned access_types[3] = { EPT_ACCESS_READ, EPT_ACCESS_WRITE, EPT_ACCESS_FETCH };

/* _i = ((exec_only * 3 + level) * 8 + perms) * 3 + access */
START_TEST(leaf_level_permission_access)
{
    unsigned access = access_types[_i % 3];
    unsigned perms = (unsigned)(_i / 3) % 8;
    unsigned level = (unsigned)(_i / 24) % 3;
    bool exec_only = _i / 72;
    if (!exec_only)
        caps.cap &= ~EPT_CAP_BIT(EXECUTE_ONLY);
    build(level, perms | WB);
    struct ept_access acc = translation_access(access);
    struct ept_result r;
    enum ept_outcome o = ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r);

    unsigned need = access == EPT_ACCESS_READ ? EPT_R : access == EPT_ACCESS_WRITE ? EPT_W : EPT_X;
    /* SDM 3C "EPT Misconfigurations": write without read; execute-only
     * without the capability. Not present (000b) is a violation. */
    bool misconfig = perms != 0 && (((perms & EPT_W) && !(perms & EPT_R)) ||
                                    (perms == EPT_X && !exec_only));
    bool violation = !misconfig && !(perms & need);
    unsigned refs = 4 - level;
    ck_assert_msg(o == r.outcome, "return value and r.outcome differ");
    ck_assert_uint_eq(r.refs, refs);
    ck_assert_uint_eq(nreads, refs);
    if (misconfig) {
        ck_assert_msg(o == EPT_MISCONFIG, "level %u perms %u access %u: outcome %d, expected misconfig",
                      level, perms, access, o);
        return;
    }
    if (violation) {
        ck_assert_msg(o == EPT_VIOLATION, "level %u perms %u access %u: outcome %d, expected violation",
                      level, perms, access, o);
        uint64_t q = (uint64_t)access | ((uint64_t)perms << 3) | EPT_QUAL_LINEAR_VALID |
                     EPT_QUAL_TRANSLATION;
        ck_assert_msg(r.qualification == q, "level %u perms %u access %u: qual 0x%llx, expected 0x%llx",
                      level, perms, access, (unsigned long long)r.qualification,
                      (unsigned long long)q);
        return;
    }
    ck_assert_msg(o == EPT_OK, "level %u perms %u access %u: outcome %d, expected ok", level, perms,
                  access, o);
    uint64_t size = 1ull << (12 + 9 * level);
    ck_assert_uint_eq(r.page_size, size);
    ck_assert_uint_eq(r.hpa, (TARGET & ~(size - 1)) | (GPA & (size - 1)));
    ck_assert_uint_eq(r.perms, perms);
    ck_assert_uint_eq(r.mem_type, 6);
    ck_assert_uint_eq(r.nad, 0); /* A/D not enabled in the EPTP */
}
END_TEST

/* ---- misconfigurations ----------------------------------------------------- */

/* Leaf memory types 2, 3 and 7 are reserved; 0, 1, 4, 5, 6 are fine and
 * IPAT does not matter. _i = level * 16 + ipat * 8 + type */
START_TEST(leaf_memory_type)
{
    unsigned type = (unsigned)_i % 8, level = (unsigned)_i / 16;
    bool ipat = (_i / 8) % 2;
    build(level, EPT_RWX | ((uint64_t)type << EPT_MT_SHIFT) | (ipat ? EPT_IPAT : 0));
    struct ept_access acc = translation_access(EPT_ACCESS_READ);
    struct ept_result r;
    enum ept_outcome o = ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r);
    bool bad = type == 2 || type == 3 || type == 7;
    ck_assert_msg(o == (bad ? EPT_MISCONFIG : EPT_OK), "level %u type %u: outcome %d", level, type, o);
    if (!bad) {
        ck_assert_uint_eq(r.mem_type, type);
        ck_assert_int_eq(r.ipat, ipat);
    }
}
END_TEST

/* Reserved bits of each entry kind, one bit at a time. */
struct rsvd_case {
    const char *what;
    unsigned leaf_level;  /* how build() shapes the path */
    uint64_t table;       /* entry to corrupt: table and index */
    unsigned idx;
    unsigned bit;
    bool reserved;
};

static const struct rsvd_case rsvd_cases[] = {
    { "PML4E bit 3", 0, PML4, 0, 3, true },
    { "PML4E bit 6", 0, PML4, 0, 6, true },
    { "PML4E bit 7", 0, PML4, 0, 7, true },
    { "PML4E bit 8 (accessed, not reserved)", 0, PML4, 0, 8, false },
    { "PML4E bit 11 (ignored)", 0, PML4, 0, 11, false },
    { "PML4E bit 46 (= MAXPHYADDR)", 0, PML4, 0, 46, true },
    { "PML4E bit 51", 0, PML4, 0, 51, true },
    { "PML4E bit 52 (ignored)", 0, PML4, 0, 52, false },
    { "PML4E bit 63 (suppress #VE, ignored)", 0, PML4, 0, 63, false },
    { "PDPTE (table) bit 3", 0, PDPT, 1, 3, true },
    { "PDPTE (table) bit 6", 0, PDPT, 1, 6, true },
    { "PDE (table) bit 5", 0, PD, 1, 5, true },
    { "PDE (table) bit 9 (ignored)", 0, PD, 1, 9, false },
    { "PTE bit 7 (ignored)", 0, PT, 1, 7, false },
    { "PTE bit 6 (IPAT)", 0, PT, 1, 6, false },
    { "PTE bit 47", 0, PT, 1, 47, true },
    { "2M PDE bit 12", 1, PD, 1, 12, true },
    { "2M PDE bit 20", 1, PD, 1, 20, true },
    { "2M PDE bit 21 (address)", 1, PD, 1, 21, false },
    { "1G PDPTE bit 12", 2, PDPT, 1, 12, true },
    { "1G PDPTE bit 29", 2, PDPT, 1, 29, true },
    { "1G PDPTE bit 30 (address)", 2, PDPT, 1, 30, false },
};

START_TEST(reserved_bits)
{
    const struct rsvd_case *t = &rsvd_cases[_i];
    build(t->leaf_level, EPT_RWX | WB);
    *ent(t->table, t->idx) |= 1ull << t->bit;
    struct ept_access acc = translation_access(EPT_ACCESS_READ);
    struct ept_result r;
    enum ept_outcome o = ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r);
    /* a non-reserved address bit moves the next table; only the outcome kind matters */
    if (t->reserved)
        ck_assert_msg(o == EPT_MISCONFIG, "%s: outcome %d, expected misconfig", t->what, o);
    else
        ck_assert_msg(o != EPT_MISCONFIG, "%s: misconfig, expected none", t->what);
}
END_TEST

/* Without the 2M / 1G capability, bit 7 of a PDE / PDPTE is reserved. */
START_TEST(large_page_without_capability)
{
    unsigned level = 1 + (unsigned)_i;
    caps.cap &= ~(level == 1 ? EPT_CAP_BIT(PDE_2M) : EPT_CAP_BIT(PDPTE_1G));
    build(level, EPT_RWX | WB);
    struct ept_access acc = translation_access(EPT_ACCESS_READ);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r), EPT_MISCONFIG);
    ck_assert_uint_eq(r.refs, 4 - level);
}
END_TEST

/* ---- violations ----------------------------------------------------------- */

/* A non-present entry above the leaf: permissions AND to 0, the walk stops
 * there. _i = level of the non-present entry (3 = PML4E .. 0 = PTE). */
START_TEST(not_present_stops_the_walk)
{
    static const uint64_t tables[4] = { PT, PD, PDPT, PML4 };
    unsigned level = (unsigned)_i;
    build(0, EPT_RWX | WB);
    unsigned idx = level == 3 ? 0 : 1;
    *ent(tables[level], idx) &= ~EPT_RWX; /* other bits stay: not present anyway */
    *ent(tables[level], idx) |= 1ull << 50;
    struct ept_access acc = translation_access(EPT_ACCESS_WRITE);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r), EPT_VIOLATION);
    ck_assert_uint_eq(r.refs, 4 - level);
    ck_assert_uint_eq(r.level, level);
    ck_assert_uint_eq(r.perms, 0);
    ck_assert_uint_eq(r.qualification, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION);
}
END_TEST

/* Permissions AND over the levels: a read-only PDPTE makes a write to an
 * RWX leaf a violation reporting R and X. */
START_TEST(permissions_and_over_levels)
{
    build(0, EPT_RWX | WB);
    *ent(PDPT, 1) &= ~EPT_W;
    struct ept_access acc = translation_access(EPT_ACCESS_WRITE);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4, GPA, &acc, mem_read, NULL, &r), EPT_VIOLATION);
    ck_assert_uint_eq(r.qualification, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_EXECUTABLE |
                                           EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION);
}
END_TEST

/* Qualification bits 7-12 from the access description. */
struct qual_case {
    const char *what;
    struct ept_access acc;
    bool advanced;
    uint64_t qual;
};

static const struct qual_case qual_cases[] = {
    { "no linear address (e.g. PDPTE load)", { .type = EPT_ACCESS_READ }, true, EPT_QUAL_READ },
    { "paging-structure access", { .type = EPT_ACCESS_READ, .linear_valid = true, .paging_structure = true,
      .linear_user = true, .linear_writable = true }, true, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID },
    { "translation, advanced info", { .type = EPT_ACCESS_WRITE, .linear_valid = true, .linear_user = true,
      .linear_writable = true, .linear_xd = true }, true,
      EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION | EPT_QUAL_LINEAR_USER |
      EPT_QUAL_LINEAR_WRITABLE | EPT_QUAL_LINEAR_XD },
    { "translation, supervisor read-only", { .type = EPT_ACCESS_FETCH, .linear_valid = true }, true,
      EPT_QUAL_FETCH | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION },
    { "translation, no advanced info capability", { .type = EPT_ACCESS_WRITE, .linear_valid = true,
      .linear_user = true, .linear_writable = true, .linear_xd = true }, false,
      EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION },
    { "NMI unblocking due to IRET", { .type = EPT_ACCESS_READ, .linear_valid = true, .nmi_unblocking = true },
      true, EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION | EPT_QUAL_NMI_UNBLOCKING },
};

START_TEST(qualification_linear_bits)
{
    const struct qual_case *t = &qual_cases[_i];
    if (!t->advanced)
        caps.cap &= ~EPT_CAP_BIT(ADVANCED_EXIT_INFO);
    build(0, WB); /* not present: every access is a violation */
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4, GPA, &t->acc, mem_read, NULL, &r), EPT_VIOLATION);
    ck_assert_msg(r.qualification == t->qual, "%s: qual 0x%llx, expected 0x%llx", t->what,
                  (unsigned long long)r.qualification, (unsigned long long)t->qual);
}
END_TEST

/* A guest-physical address at or above 2^MAXPHYADDR has no translation. */
START_TEST(gpa_beyond_maxphyaddr)
{
    build(0, EPT_RWX | WB);
    struct ept_access acc = translation_access(EPT_ACCESS_READ);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4, GPA | (1ull << 46), &acc, mem_read, NULL, &r),
                     EPT_VIOLATION);
    ck_assert_uint_eq(r.refs, 0);
    ck_assert_uint_eq(nreads, 0);
}
END_TEST

/* ---- accessed and dirty flags ---------------------------------------------- */

/* SDM 3C "Accessed and Dirty Flags for EPT". _i: 0 read, 1 write,
 * 2 guest paging-structure read (a write for EPT with A/D). */
START_TEST(accessed_dirty_list)
{
    build(0, EPT_RWX | WB);
    *ent(PDPT, 1) |= EPT_A; /* already accessed: not listed */
    struct ept_access acc = translation_access(_i == 1 ? EPT_ACCESS_WRITE : EPT_ACCESS_READ);
    acc.paging_structure = _i == 2;
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4 | EPTP_AD, GPA, &acc, mem_read, NULL, &r), EPT_OK);
    ck_assert_uint_eq(r.nad, 3);
    ck_assert_uint_eq(r.ad[0].hpa, PML4);
    ck_assert_uint_eq(r.ad[0].bits, EPT_A);
    ck_assert_uint_eq(r.ad[1].hpa, PD + 8);
    ck_assert_uint_eq(r.ad[1].bits, EPT_A);
    ck_assert_uint_eq(r.ad[2].hpa, PT + 8);
    ck_assert_uint_eq(r.ad[2].bits, _i == 0 ? EPT_A : EPT_A | EPT_D);
}
END_TEST

/* With A/D enabled a guest paging-structure access needs write permission
 * and its violation sets qualification bits 0 and 1; without A/D it is a
 * read. */
START_TEST(paging_structure_access_is_a_write_with_ad)
{
    bool ad = _i;
    build(0, EPT_R | EPT_X | WB);
    struct ept_access acc = { .type = EPT_ACCESS_READ, .linear_valid = true, .paging_structure = true };
    struct ept_result r;
    enum ept_outcome o = ept_walk(&caps, EPTP_4 | (ad ? EPTP_AD : 0), GPA, &acc, mem_read, NULL, &r);
    if (!ad) {
        ck_assert_int_eq(o, EPT_OK);
        ck_assert_uint_eq(r.nad, 0);
        return;
    }
    ck_assert_int_eq(o, EPT_VIOLATION);
    ck_assert_uint_eq(r.qualification, EPT_QUAL_READ | EPT_QUAL_WRITE | EPT_QUAL_READABLE |
                                           EPT_QUAL_EXECUTABLE | EPT_QUAL_LINEAR_VALID);
}
END_TEST

/* Without the A/D capability, EPTP bit 6 does nothing in the walk (and
 * fails the EPTP check). */
START_TEST(ad_needs_capability)
{
    caps.cap &= ~EPT_CAP_BIT(ACCESSED_DIRTY);
    build(0, EPT_RWX | WB);
    struct ept_access acc = translation_access(EPT_ACCESS_WRITE);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, EPTP_4 | EPTP_AD, GPA, &acc, mem_read, NULL, &r), EPT_OK);
    ck_assert_uint_eq(r.nad, 0);
    ck_assert_ptr_nonnull(ept_eptp_check(&caps, EPTP_4 | EPTP_AD));
}
END_TEST

/* ---- 5-level walks --------------------------------------------------------- */

START_TEST(five_level_walk)
{
    build(0, EPT_RWX | WB);
    memmove(ent(0x5000, 0), ent(PML4, 0), 4096); /* PML4 moves to 0x5000 */
    memset(ent(PML4, 0), 0, 4096);
    *ent(PML4, 0) = 0x5000 | EPT_RWX; /* PML5 at 0x1000 */
    uint64_t eptp = PML4 | (4ull << EPTP_WALK_SHIFT) | EPT_MT_WB;
    ck_assert_ptr_nonnull(ept_eptp_check(&caps, eptp)); /* Skylake: no 5-level */
    caps.cap |= EPT_CAP_BIT(WALK_LENGTH_5);
    ck_assert_ptr_null(ept_eptp_check(&caps, eptp));
    struct ept_access acc = translation_access(EPT_ACCESS_READ);
    struct ept_result r;
    ck_assert_int_eq(ept_walk(&caps, eptp, GPA, &acc, mem_read, NULL, &r), EPT_OK);
    ck_assert_uint_eq(r.refs, 5);
    ck_assert_uint_eq(r.hpa, (TARGET & ~0xfffull) | (GPA & 0xfff));
}
END_TEST

/* ---- EPTP checks ------------------------------------------------------------ */

struct eptp_case {
    const char *what;
    uint64_t eptp;
    bool valid;
};

static const struct eptp_case eptp_cases[] = {
    { "WB, 4-level", EPTP_4, true },
    { "UC, 4-level", PML4 | (3ull << 3) | EPT_MT_UC, true },
    { "WB, 4-level, A/D", EPTP_4 | EPTP_AD, true },
    { "memory type 1 (WC)", PML4 | (3ull << 3) | 1, false },
    { "memory type 4 (WT)", PML4 | (3ull << 3) | 4, false },
    { "memory type 7", PML4 | (3ull << 3) | 7, false },
    { "walk length 1", PML4 | (0ull << 3) | EPT_MT_WB, false },
    { "walk length 3", PML4 | (2ull << 3) | EPT_MT_WB, false },
    { "walk length 5 (not advertised)", PML4 | (4ull << 3) | EPT_MT_WB, false },
    { "walk length 8", PML4 | (7ull << 3) | EPT_MT_WB, false },
    { "bit 7 (shadow stacks)", EPTP_4 | EPTP_SSS, false },
    { "bit 8", EPTP_4 | (1ull << 8), false },
    { "bit 11", EPTP_4 | (1ull << 11), false },
    { "bit 45 (address)", EPTP_4 | (1ull << 45), true },
    { "bit 46 (MAXPHYADDR)", EPTP_4 | (1ull << 46), false },
    { "bit 63", EPTP_4 | (1ull << 63), false },
};

START_TEST(eptp_check)
{
    const struct eptp_case *t = &eptp_cases[_i];
    const char *why = ept_eptp_check(&caps, t->eptp);
    ck_assert_msg((why == NULL) == t->valid, "%s (0x%llx): %s", t->what, (unsigned long long)t->eptp,
                  why ? why : "valid");
}
END_TEST

START_TEST(eptp_memory_type_follows_capability)
{
    caps.cap &= ~(_i ? EPT_CAP_BIT(MEMTYPE_UC) : EPT_CAP_BIT(MEMTYPE_WB));
    uint64_t eptp = PML4 | (3ull << 3) | (_i ? EPT_MT_UC : EPT_MT_WB);
    ck_assert_ptr_nonnull(ept_eptp_check(&caps, eptp));
}
END_TEST

static Suite *ept_suite(void)
{
    Suite *s = suite_create("ept");
    TCase *tc = tcase_create("walk");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, leaf_level_permission_access, 0, 2 * 3 * 8 * 3);
    tcase_add_test(tc, five_level_walk);
    suite_add_tcase(s, tc);

    tc = tcase_create("misconfiguration");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, leaf_memory_type, 0, 3 * 16);
    tcase_add_loop_test(tc, reserved_bits, 0, (int)(sizeof rsvd_cases / sizeof rsvd_cases[0]));
    tcase_add_loop_test(tc, large_page_without_capability, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("violation");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, not_present_stops_the_walk, 0, 4);
    tcase_add_test(tc, permissions_and_over_levels);
    tcase_add_loop_test(tc, qualification_linear_bits, 0, (int)(sizeof qual_cases / sizeof qual_cases[0]));
    tcase_add_test(tc, gpa_beyond_maxphyaddr);
    suite_add_tcase(s, tc);

    tc = tcase_create("accessed_dirty");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, accessed_dirty_list, 0, 3);
    tcase_add_loop_test(tc, paging_structure_access_is_a_write_with_ad, 0, 2);
    tcase_add_test(tc, ad_needs_capability);
    suite_add_tcase(s, tc);

    tc = tcase_create("eptp");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, eptp_check, 0, (int)(sizeof eptp_cases / sizeof eptp_cases[0]));
    tcase_add_loop_test(tc, eptp_memory_type_follows_capability, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(ept_suite());
}
