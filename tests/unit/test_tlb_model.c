/* The modelled TLB (src/cpu/tlb_model.c), for cycles only: sizes from the
 * CPU model's CPUID leaf 2 descriptors (Skylake's), hits in the first level
 * and the STLB make a software-TLB miss cost no walk, misses charge the
 * walk, flushes empty it, and a model without descriptors has none. */
#include "cpu/cpu_internal.h"
#include "harness.h"

#include <check.h>

#define RAM_SIZE (4u << 20)
#define PML4 0x1000ull
#define GDT_BASE 0x5000ull
#define A 0x200000ull /* in the second 2-MByte page */

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static void make(bool descriptors)
{
    th_model_init(&model, "tlb-model-test");
    th_add_leaf(&model, 0, 7, 0, 0, 0);
    if (descriptors) /* Skylake: 0x63 0x03 0x76 | 0xff 0xb5 0xf0 | | 0xc3 */
        th_add_leaf(&model, 2, 0x76036301, 0x00f0b5ff, 0, 0x00c30000);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 20) | (1u << 29) | (1u << 26));
    th_add_leaf(&model, 0x80000008u, 39, 0, 0, 0);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 512, false, GDT_BASE); /* 1 GiB of 2-MByte pages */
}

static void setup(void) { make(true); }

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* One data read at lin; returns the cycles it cost. */
static uint64_t touch(uint64_t lin)
{
    uint64_t before = c->cycles;
    (void)cpu_read_lin(c, lin, 8, ACC_R);
    return c->cycles - before;
}

/* A and A + 1 MiB share a software-TLB slot (256 direct-mapped 4K entries)
 * but one 2-MByte page: the second read misses the software TLB and hits
 * the modelled first-level 2M DTLB: no walk is charged. */
START_TEST(first_level_hit_costs_no_walk)
{
    uint64_t miss = touch(A);
    ck_assert_uint_eq(c->stats.tlbm_misses, 1);
    ck_assert_uint_eq(miss, cost.cycles[COST_tlb_miss] + 3 * cost.cycles[COST_page_walk]);
    ck_assert_uint_eq(c->stats.tlbm_walk_refs, 3); /* PML4E, PDPTE, PDE */
    ck_assert_uint_eq(touch(A + 0x100000), 0);
    ck_assert_uint_eq(c->stats.tlbm_l1_hits, 1);
    ck_assert_uint_eq(c->stats.tlb_misses, 2); /* both missed the software TLB */
}
END_TEST

/* Five 2-MByte pages in one set of the 4-way, 8-set 2M DTLB: the first is
 * evicted from the first level and still in the STLB (1536 entries, 6-way,
 * 256 sets): an STLB hit costs the tlb_miss class and no walk. */
START_TEST(stlb_hit_after_first_level_eviction)
{
    for (uint64_t i = 0; i < 5; i++)
        touch(A + i * 8 * 0x200000);
    ck_assert_uint_eq(c->stats.tlbm_misses, 5);
    ck_assert_uint_eq(touch(A + 0x1000), cost.cycles[COST_tlb_miss]);
    ck_assert_uint_eq(c->stats.tlbm_l2_hits, 1);
}
END_TEST

/* A flush of the software TLB (MOV to CR3) flushes the modelled one too. */
START_TEST(flush_empties_the_model)
{
    touch(A);
    cpu_tlb_flush(c);
    touch(A + 0x100000);
    ck_assert_uint_eq(c->stats.tlbm_misses, 2);
    ck_assert_uint_eq(c->stats.tlbm_l1_hits, 0);
}
END_TEST

/* Without TLB descriptors in leaf 2 there is no modelled TLB: every
 * software-TLB miss is charged as a walk. */
START_TEST(no_descriptors_no_model)
{
    teardown();
    make(false);
    ck_assert_ptr_null(c->tlbm);
    touch(A);
    ck_assert_uint_eq(touch(A + 0x100000), cost.cycles[COST_tlb_miss] + 3 * cost.cycles[COST_page_walk]);
    ck_assert_uint_eq(c->stats.tlbm_l1_hits + c->stats.tlbm_l2_hits + c->stats.tlbm_misses, 0);
}
END_TEST

static Suite *tlb_model_suite(void)
{
    Suite *s = suite_create("tlb_model");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, first_level_hit_costs_no_walk);
    tcase_add_test(tc, stlb_hit_after_first_level_eviction);
    tcase_add_test(tc, flush_empties_the_model);
    tcase_add_test(tc, no_descriptors_no_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(tlb_model_suite());
}
