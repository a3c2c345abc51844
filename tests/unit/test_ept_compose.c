/* Unit tests for shadow EPT composition (src/ept/compose.c): EPT01 maps L1
 * guest-physical memory to host-physical memory 1 MByte higher; L1's EPT12
 * tables live in L1 memory. Every combination of EPT12 and EPT01 leaf
 * permissions is composed for a read, a write and a fetch, and the tests
 * assert the outcome (L1's violation or misconfiguration, L0's fault, or
 * the EPT02 leaf), the EPT02 entry, the exit qualification L1's tables give
 * and the EPT12 accessed/dirty list. */
#include "nvmx/ept_compose.h"
#include "harness.h"

#include <check.h>
#include <string.h>

#define MEM_PAGES 512 /* 2 MBytes of host memory */
static uint64_t mem[MEM_PAGES * 512];

static uint64_t mem_read(void *ctx, uint64_t hpa)
{
    (void)ctx;
    ck_assert_uint_eq(hpa & 7, 0);
    if (hpa >= sizeof mem)
        return ~0ull;
    return mem[hpa / 8];
}

#define WB (6ull << EPT_MT_SHIFT)
#define WALK4 (3ull << EPTP_WALK_SHIFT)
#define L1_BASE 0x100000ull /* host-physical address of L1 guest-physical 0 */
/* EPT01 in host memory (not reachable from L1) */
#define P01_PML4 0x1000ull
#define P01_PDPT 0x2000ull
#define P01_PD 0x3000ull
#define P01_PT 0x4000ull
#define EPTP01 (P01_PML4 | WALK4 | EPT_MT_WB)
/* EPT12 at L1 guest-physical addresses */
#define P12_PML4 0x1000ull
#define P12_PDPT 0x2000ull
#define P12_PD 0x3000ull
#define P12_PT 0x4000ull
#define EPTP12 (P12_PML4 | WALK4 | EPT_MT_WB)
#define GPA2 0x5123ull   /* L2 guest-physical: PT12[5] */
#define GPA1 0x8000ull   /* L1 guest-physical page EPT12 maps it to: PT01[8] */

static const uint64_t skylake_cap = 0x00000f0106734141ull;
static struct ept_caps caps;

static uint64_t *h(uint64_t hpa) { return &mem[hpa / 8]; }
static uint64_t *g1(uint64_t gpa1) { return h(L1_BASE + gpa1); }

/* EPT01: L1's first 1 MByte at L1_BASE, RWX, except the page of GPA1,
 * which gets perms01. EPT12: GPA2's page to GPA1 with leaf perms12 and
 * memory type mt12. */
static void build(unsigned perms12, unsigned perms01, uint64_t mt12)
{
    memset(mem, 0, sizeof mem);
    *h(P01_PML4) = P01_PDPT | EPT_RWX;
    *h(P01_PDPT) = P01_PD | EPT_RWX;
    *h(P01_PD) = P01_PT | EPT_RWX;
    for (unsigned i = 0; i < 256; i++)
        *h(P01_PT + 8ull * i) = (L1_BASE + 4096ull * i) | WB | (i == GPA1 / 4096 ? perms01 : EPT_RWX);
    *g1(P12_PML4) = P12_PDPT | EPT_RWX;
    *g1(P12_PDPT) = P12_PD | EPT_RWX;
    *g1(P12_PD) = P12_PT | EPT_RWX;
    *g1(P12_PT + 8 * (GPA2 >> 12)) = GPA1 | mt12 | perms12;
}

static void setup(void)
{
    caps.cap = skylake_cap;
    caps.maxphyaddr = 46;
}

static const unsigned access_types[3] = { EPT_ACCESS_READ, EPT_ACCESS_WRITE, EPT_ACCESS_FETCH };

/* SDM 3C "EPT Misconfigurations" for a leaf's R/W/X, with execute-only
 * translations supported. */
static bool perms_misconfigured(unsigned p)
{
    return !(p & EPT_R) && (p & EPT_W);
}

static unsigned needed(unsigned type)
{
    return type == EPT_ACCESS_READ ? EPT_R : type == EPT_ACCESS_WRITE ? EPT_W : EPT_X;
}

/* i = perms12 + 8 * perms01 + 64 * access */
START_TEST(every_permission_combination)
{
    unsigned p12 = (unsigned)_i % 8, p01 = ((unsigned)_i / 8) % 8;
    unsigned type = access_types[_i / 64];
    build(p12, p01, WB);
    struct ept_access acc = { .type = type };
    struct ept02_fill f;
    enum ept02_outcome o = ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f);
    ck_assert_int_eq(o, f.outcome);
    if (p12 != 0 && perms_misconfigured(p12)) {
        ck_assert_int_eq(o, EPT02_L1_MISCONFIG);
        return;
    }
    if ((p12 & needed(type)) == 0) {
        ck_assert_int_eq(o, EPT02_L1_VIOLATION);
        /* bits 2:0 the access, bits 5:3 the AND over L1's entries */
        ck_assert_uint_eq(f.qualification, (uint64_t)type | ((uint64_t)p12 << 3));
        return;
    }
    if ((p01 != 0 && perms_misconfigured(p01)) || (p01 & needed(type)) == 0) {
        ck_assert_int_eq(o, EPT02_L0_FAULT);
        ck_assert_uint_eq(f.l1_gpa, GPA1 | (GPA2 & 0xfff));
        return;
    }
    ck_assert_int_eq(o, EPT02_OK);
    ck_assert_uint_eq(f.l1_gpa, GPA1 | (GPA2 & 0xfff));
    ck_assert_uint_eq(f.entry, (L1_BASE + GPA1) | WB | (p12 & p01));
    ck_assert_uint_eq(f.nad, 0);
    /* the composed leaf is never a misconfiguration itself */
    ck_assert(!perms_misconfigured(p12 & p01));
}
END_TEST

/* Without execute-only support in L1's capabilities, an execute-only
 * EPT12 leaf is L1's misconfiguration. */
START_TEST(execute_only_needs_capability)
{
    struct ept_caps c12 = caps;
    c12.cap &= ~EPT_CAP_BIT(EXECUTE_ONLY);
    build(EPT_X, EPT_RWX, WB);
    struct ept_access acc = { .type = EPT_ACCESS_FETCH };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&c12, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_L1_MISCONFIG);
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(f.entry, (L1_BASE + GPA1) | WB | EPT_X);
}
END_TEST

/* L1's memory type and ignore-PAT bit reach the EPT02 leaf; a reserved
 * memory type is L1's misconfiguration. */
START_TEST(memory_type_is_l1s)
{
    build(EPT_RWX, EPT_RWX, (uint64_t)EPT_MT_UC << EPT_MT_SHIFT | EPT_IPAT);
    struct ept_access acc = { .type = EPT_ACCESS_READ };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(f.entry, (L1_BASE + GPA1) | EPT_IPAT | EPT_RWX);
    build(EPT_RWX, EPT_RWX, 2ull << EPT_MT_SHIFT);
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_L1_MISCONFIG);
}
END_TEST

/* An EPT12 table EPT01 does not map is L0's fault, at the table's L1
 * guest-physical address. */
START_TEST(ept12_table_outside_ept01)
{
    build(EPT_RWX, EPT_RWX, WB);
    *h(P01_PT + 8 * (P12_PD >> 12)) = 0;
    struct ept_access acc = { .type = EPT_ACCESS_READ };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_L0_FAULT);
    ck_assert_uint_eq(f.l1_gpa, P12_PD);
}
END_TEST

/* A 2-MByte EPT12 leaf composes into the 4-KByte EPT02 page of the
 * address. */
START_TEST(large_ept12_leaf)
{
    build(EPT_RWX, EPT_RWX, WB);
    *g1(P12_PD + 8) = 0x0ull | EPT_PS | WB | EPT_R | EPT_X; /* L2 2M..4M -> L1 0..2M */
    struct ept_access acc = { .type = EPT_ACCESS_FETCH };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, 0x200000ull + GPA1 + 0x10, &acc,
                                   mem_read, NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(f.l1_gpa, GPA1 + 0x10);
    ck_assert_uint_eq(f.entry, (L1_BASE + GPA1) | WB | EPT_R | EPT_X);
}
END_TEST

/* SDM 3C "Accessed and Dirty Flags for EPT": with EPTP12 bit 6, the EPT12
 * entries used get A, the leaf D on a write, at their host-physical
 * addresses; nothing is listed when they are already set. */
START_TEST(ept12_accessed_dirty)
{
    bool write = _i == 1;
    build(EPT_RWX, EPT_RWX, WB);
    struct ept_access acc = { .type = write ? EPT_ACCESS_WRITE : EPT_ACCESS_READ };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12 | EPTP_AD, &caps, EPTP01, GPA2, &acc, mem_read,
                                   NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(f.nad, 4);
    ck_assert_uint_eq(f.ad[0].hpa, L1_BASE + P12_PML4);
    ck_assert_uint_eq(f.ad[1].hpa, L1_BASE + P12_PDPT);
    ck_assert_uint_eq(f.ad[2].hpa, L1_BASE + P12_PD);
    ck_assert_uint_eq(f.ad[3].hpa, L1_BASE + P12_PT + 8 * (GPA2 >> 12));
    ck_assert_uint_eq(f.ad[0].bits, EPT_A);
    ck_assert_uint_eq(f.ad[3].bits, write ? (EPT_A | EPT_D) : EPT_A);
    for (unsigned i = 0; i < f.nad; i++)
        *h(f.ad[i].hpa) |= f.ad[i].bits;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12 | EPTP_AD, &caps, EPTP01, GPA2, &acc, mem_read,
                                   NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(f.nad, 0);
}
END_TEST

/* The linear-address bits of the qualification come from the access, as
 * for L1 bare. */
START_TEST(l1_violation_linear_bits)
{
    build(EPT_R, EPT_RWX, WB);
    struct ept_access acc = { .type = EPT_ACCESS_WRITE, .linear_valid = true };
    struct ept02_fill f;
    ck_assert_int_eq(ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f),
                     EPT02_L1_VIOLATION);
    ck_assert_uint_eq(f.qualification, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_LINEAR_VALID |
                                           EPT_QUAL_TRANSLATION);
}
END_TEST

/* ---- an L0's use of it: reflect and fill (src/nested/ept02.c) ---- */

/* L1 bare would walk EPT12 itself: its tables at L1 guest-physical =
 * host-physical addresses (here read at L1_BASE, the same bytes). */
static uint64_t read_l1(void *ctx, uint64_t gpa1)
{
    (void)ctx;
    return mem_read(NULL, L1_BASE + gpa1);
}

/* An EPT02 in host memory below L1's, beside EPT01: 4 table pages. */
#define P02_PML4 0x10000ull
#define EPTP02 (P02_PML4 | WALK4 | EPT_MT_WB)
static void ept02_empty(void)
{
    memset(h(P02_PML4), 0, 4 * 4096);
}

static void ept02_put(uint64_t gpa2, uint64_t leaf)
{
    *h(P02_PML4) = (P02_PML4 + 0x1000) | EPT_RWX;
    *h(P02_PML4 + 0x1000) = (P02_PML4 + 0x2000) | EPT_RWX;
    *h(P02_PML4 + 0x2000) = (P02_PML4 + 0x3000) | EPT_RWX;
    *h(P02_PML4 + 0x3000 + 8 * ((gpa2 >> 12) & 511)) = leaf;
}

/* i: access type (4) x linear kind (3) x NMI unblocking (2) x EPTP12 A/D
 * (2) x EPT12 leaf (3). The hardware's violation on an empty EPT02 gives a
 * qualification; the access read back from it, composed, must give L1
 * exactly what L1 walking EPT12 bare gets: the same outcome, and for a
 * violation the same qualification (SDM 3C "EPT Violations", Table "Exit
 * Qualification for EPT Violations"). */
START_TEST(reflected_qualification_is_bare)
{
    static const unsigned types[4] = { EPT_ACCESS_READ, EPT_ACCESS_WRITE, EPT_ACCESS_FETCH,
                                       EPT_ACCESS_READ | EPT_ACCESS_WRITE };
    static const unsigned leaves[3] = { 0, EPT_R, EPT_R | EPT_X };
    unsigned k = (unsigned)_i;
    unsigned type = types[k % 4], linear = (k / 4) % 3;
    bool nmi = (k / 12) % 2, ad = (k / 24) % 2;
    unsigned p12 = leaves[(k / 48) % 3];
    build(p12, EPT_RWX, WB);
    ept02_empty();
    struct ept_access acc = { .type = type, .linear_valid = linear != 0,
                              .paging_structure = linear == 2, .linear_user = true,
                              .linear_xd = true, .nmi_unblocking = nmi };
    struct ept_result r02, bare;
    ck_assert_int_eq(ept_walk(&caps, EPTP02, GPA2, &acc, mem_read, NULL, &r02), EPT_VIOLATION);
    struct ept_access back = ept02_access_of_qual(r02.qualification);
    uint64_t eptp12 = EPTP12 | (ad ? EPTP_AD : 0);
    struct ept02_fill f;
    enum ept02_outcome o = ept02_compose(&caps, eptp12, &caps, EPTP01, GPA2, &back, mem_read, NULL, &f);
    enum ept_outcome ob = ept_walk(&caps, eptp12, GPA2, &acc, read_l1, NULL, &bare);
    if (ob == EPT_VIOLATION) {
        ck_assert_msg(o == EPT02_L1_VIOLATION, "case %u: outcome %d, bare violation", k, o);
        ck_assert_msg(f.qualification == bare.qualification,
                      "case %u: qualification 0x%llx, bare 0x%llx", k,
                      (unsigned long long)f.qualification, (unsigned long long)bare.qualification);
    } else {
        ck_assert_msg(ob == EPT_OK && o == EPT02_OK, "case %u: outcome %d, bare %d", k, o, ob);
        ck_assert_uint_eq(f.l1_gpa, bare.hpa);
    }
}
END_TEST

/* i = perms12 + 8 * perms01 + 64 * access: after the fill, the hardware's
 * walk of EPT02 lets exactly what both EPT12 and EPT01 allow through, to
 * the host-physical address EPT01 gives -- the resumed access completes,
 * and no other one is granted. */
START_TEST(filled_leaf_grants_the_intersection)
{
    unsigned p12 = (unsigned)_i % 8, p01 = ((unsigned)_i / 8) % 8;
    unsigned type = access_types[_i / 64];
    build(p12, p01, WB);
    struct ept_access acc = { .type = type };
    struct ept02_fill f;
    if (ept02_compose(&caps, EPTP12, &caps, EPTP01, GPA2, &acc, mem_read, NULL, &f) != EPT02_OK)
        return;
    ept02_empty();
    ept02_put(GPA2, ept02_leaf_for_access(&f, EPTP12, &acc));
    for (unsigned t = 0; t < 3; t++) {
        struct ept_access a = { .type = access_types[t] };
        struct ept_result r;
        enum ept_outcome o = ept_walk(&caps, EPTP02, GPA2, &a, mem_read, NULL, &r);
        bool allowed = (p12 & p01 & needed(access_types[t])) != 0;
        ck_assert_msg(o == (allowed ? EPT_OK : EPT_VIOLATION), "access %u: outcome %d", t, o);
        if (allowed)
            ck_assert_uint_eq(r.hpa, L1_BASE + GPA1 + (GPA2 & 0xfff));
    }
}
END_TEST

/* With A/D in EPTP12 a read fills a leaf without write, so the first write
 * comes back and sets EPT12's dirty flag; a write, or a paging-structure
 * access (a write with A/D), fills it writable. Without A/D, no change. */
START_TEST(clean_leaf_is_write_protected)
{
    build(EPT_RWX, EPT_RWX, WB);
    struct ept02_fill f;
    struct ept_access rd = { .type = EPT_ACCESS_READ }, wr = { .type = EPT_ACCESS_WRITE },
                      ps = { .type = EPT_ACCESS_READ, .linear_valid = true, .paging_structure = true };
    ck_assert_int_eq(ept02_compose(&caps, EPTP12 | EPTP_AD, &caps, EPTP01, GPA2, &rd, mem_read, NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(ept02_leaf_for_access(&f, EPTP12 | EPTP_AD, &rd) & EPT_RWX, EPT_R | EPT_X);
    ck_assert_uint_eq(ept02_leaf_for_access(&f, EPTP12, &rd) & EPT_RWX, EPT_RWX);
    ck_assert_uint_eq(ept02_leaf_for_access(&f, EPTP12 | EPTP_AD, &ps) & EPT_RWX, EPT_RWX);
    ck_assert_int_eq(ept02_compose(&caps, EPTP12 | EPTP_AD, &caps, EPTP01, GPA2, &wr, mem_read, NULL, &f),
                     EPT02_OK);
    ck_assert_uint_eq(ept02_leaf_for_access(&f, EPTP12 | EPTP_AD, &wr) & EPT_RWX, EPT_RWX);
    ck_assert_uint_eq(f.ad[f.nad - 1].bits & EPT_D, EPT_D);
}
END_TEST

static Suite *compose_suite(void)
{
    Suite *s = suite_create("ept_compose");
    TCase *tc = tcase_create("permissions");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, every_permission_combination, 0, 8 * 8 * 3);
    tcase_add_test(tc, execute_only_needs_capability);
    suite_add_tcase(s, tc);
    tc = tcase_create("entries");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, memory_type_is_l1s);
    tcase_add_test(tc, ept12_table_outside_ept01);
    tcase_add_test(tc, large_ept12_leaf);
    tcase_add_loop_test(tc, ept12_accessed_dirty, 0, 2);
    tcase_add_test(tc, l1_violation_linear_bits);
    suite_add_tcase(s, tc);
    tc = tcase_create("fill_reflect");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, reflected_qualification_is_bare, 0, 4 * 3 * 2 * 2 * 3);
    tcase_add_loop_test(tc, filled_leaf_grants_the_intersection, 0, 8 * 8 * 3);
    tcase_add_test(tc, clean_leaf_is_write_protected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(compose_suite());
}
