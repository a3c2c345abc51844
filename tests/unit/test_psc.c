/* The modelled paging-structure caches (src/cpu/psc.c), for cycles only:
 * sizes from the CPU model, a walk that hits a cached upper level charges
 * only the references below it, and the caches are invalidated where the
 * SDM requires it (SDM 3A "Paging-Structure Caches", "Invalidation of TLBs
 * and Paging-Structure Caches"): MOV to CR3, INVLPG (all entries of the
 * context), INVPCID, MOV to CR4 changing PGE, and a page fault (the
 * entries for its address). EPT's caches are tested in test_vmx_ept.c.
 *
 * Layout: code at linear 1 GiB (4-KByte pages -> physical 1 MiB), data at
 * linear 1 GiB + 2 MiB (4-KByte pages -> physical 2 MiB); below 1 GiB the
 * usual 2-MByte identity pages. Code and data share the PML4E and the
 * PDPTE, not the PDE. */
#include "cpu/cpu_internal.h"
#include "nvmx/config.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>

#define RAM_SIZE (8u << 20)
#define PML4 0x1000ull /* PDPT 0x2000, PD 0x3000 (th_long_mode_2m) */
#define GDT_BASE 0x5000ull
#define PD1 0x6000ull
#define PT_CODE 0x7000ull
#define PT_DATA 0x8000ull
#define CODE 0x40000000ull
#define DATA 0x40200000ull
#define PAGE(i) (DATA + 0x1000ull * (i))

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

static void map_4k(uint64_t pt, uint64_t phys)
{
    for (uint64_t j = 0; j < 256; j++)
        cpu_write_phys(c, pt + 8 * j, 8, (phys + 0x1000 * j) | 3);
}

static void setup(void)
{
    th_model_init(&model, "psc-test");
    th_add_leaf(&model, 0, 7, 0, 0, 0);
    th_add_leaf(&model, 1, 0, 0, 0, (1u << 3) | (1u << 6) | (1u << 13)); /* PSE PAE PGE */
    th_add_leaf(&model, 2, 0x76036301, 0x00f0b5ff, 0, 0x00c30000); /* Skylake's TLBs */
    th_add_subleaf(&model, 7, 0, 0, 1u << 10, 0, 0);               /* INVPCID */
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 20) | (1u << 29) | (1u << 26));
    th_add_leaf(&model, 0x80000008u, 39, 0, 0, 0);
    const uint16_t sizes[PSC_NCACHES] = { [PSC_pml4e] = 2, [PSC_pdpte] = 4, [PSC_pde] = 32 };
    memcpy(model.psc_entries, sizes, sizeof sizes);
    m = th_machine_create(RAM_SIZE, true);
    c = th_cpu_create(m, &model, &cost);
    th_long_mode_2m(c, PML4, 4, false, GDT_BASE);
    cpu_write_phys(c, PML4 + 0x1000 + 8, 8, PD1 | 3); /* PDPTE 1 */
    cpu_write_phys(c, PD1, 8, PT_CODE | 3);
    cpu_write_phys(c, PD1 + 8, 8, PT_DATA | 3);
    map_4k(PT_CODE, 0x100000);
    map_4k(PT_DATA, 0x200000);
    c->stop_on_exception = true;
    cpu_tlb_flush(c);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
}

/* One data read at lin; the cycles it cost. */
static uint64_t touch(uint64_t lin)
{
    uint64_t before = c->cycles;
    (void)cpu_read_lin(c, lin, 8, ACC_R);
    return c->cycles - before;
}

/* What a software-TLB miss that the modelled TLB also misses costs when
 * the walk reads refs entries. */
static uint64_t walk(unsigned refs)
{
    return cost.cycles[COST_tlb_miss] + refs * (uint64_t)cost.cycles[COST_page_walk];
}

#define ASSERT_COST(got, refs, what)                                                             \
    ck_assert_msg((got) == walk(refs), "%s: %llu cycles, expected %u references (%llu)", (what), \
                  (unsigned long long)(got), (refs), (unsigned long long)walk(refs))

/* ---- sizes -------------------------------------------------------------------------- */

static void load_model(const char *name, struct cpu_model *out)
{
    char path[640], err[512];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *p = strstr(path, "tests/unit/test_psc.c");
    ck_assert_ptr_nonnull(p);
    snprintf(p, sizeof path - (size_t)(p - path), "configs/cpu/%s", name);
    ck_assert_msg(config_load_cpu_model(path, out, err, sizeof err), "%s", err);
}

/* The skylake-server model's sizes (configs/cpu/skylake-server.json); the
 * reduced model has none, and a CPU on it no caches. */
START_TEST(sizes_come_from_the_cpu_model)
{
    static struct cpu_model sky, reduced;
    load_model("skylake-server.json", &sky);
    const unsigned want[PSC_NCACHES] = { 2, 4, 32, 2, 4, 32 };
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        ck_assert_msg(sky.psc_entries[i] == want[i], "cache %u: %u entries, expected %u", i,
                      sky.psc_entries[i], want[i]);
    load_model("reduced.json", &reduced);
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        ck_assert_uint_eq(reduced.psc_entries[i], 0);
    struct cost_model k;
    struct machine *rm = th_machine_create(1u << 20, true);
    struct cpu *r = th_cpu_create(rm, &reduced, &k);
    ck_assert_ptr_null(r->psc);
    cpu_destroy(r);
    machine_destroy(rm);
    m->cpu = c;
    ck_assert_ptr_nonnull(c->psc);
}
END_TEST

/* ---- what a hit spares ------------------------------------------------------------------- */

/* A new 4-KByte page under a cached PDE: only the PTE is read. */
START_TEST(pde_hit_charges_only_the_pte)
{
    ASSERT_COST(touch(PAGE(0)), 4, "cold walk");
    ck_assert_uint_eq(c->stats.psc_misses[PSC_pde], 1);
    ASSERT_COST(touch(PAGE(1)), 1, "PDE-cache hit");
    ck_assert_uint_eq(c->stats.psc_hits[PSC_pde], 1);
    ck_assert_uint_eq(c->stats.tlbm_misses, 2);
}
END_TEST

/* A new 2-MByte page under a cached PDPTE: only the PDE (the leaf) is
 * read. A PDE that maps a page is never cached. */
START_TEST(pdpte_hit_charges_only_the_pde)
{
    ASSERT_COST(touch(0x400000), 3, "cold walk");
    ASSERT_COST(touch(0x600000), 1, "PDPTE-cache hit");
    ck_assert_uint_eq(c->stats.psc_hits[PSC_pdpte], 1);
    ck_assert_uint_eq(c->stats.psc_hits[PSC_pde], 0);
}
END_TEST

/* Another GiB under the same PML4E: the PDPTE and the PDE are read. */
START_TEST(pml4e_hit_charges_pdpte_and_pde)
{
    ASSERT_COST(touch(0x400000), 3, "cold walk");
    ASSERT_COST(touch(PAGE(0)), 3, "PML4E-cache hit");
    ck_assert_uint_eq(c->stats.psc_hits[PSC_pml4e], 1);
}
END_TEST

/* The PDPTE cache has 4 entries (LRU): after five other GiB the first is
 * gone and only the PML4E cache helps. PDPTEs 2-5 alias PDPTE 0's PD. */
START_TEST(lru_evicts_beyond_the_model_size)
{
    for (uint64_t g = 2; g < 6; g++)
        cpu_write_phys(c, PML4 + 0x1000 + 8 * g, 8, (PML4 + 0x2000) | 3);
    ASSERT_COST(touch(0x400000), 3, "cold walk");
    for (uint64_t g = 2; g < 6; g++)
        touch((g << 30) + 0x400000);
    ASSERT_COST(touch(0x600000), 2, "PDPTE evicted, PML4E cached");
}
END_TEST

/* ---- invalidation ------------------------------------------------------------------ */

/* Run code at CODE (then "jmp $"), after the data walk that filled the
 * caches for PAGE(0); then the cost of a new page under the same PDE. */
static uint64_t after(const uint8_t *code, size_t n)
{
    touch(PAGE(0));
    uint8_t buf[32];
    memcpy(buf, code, n);
    buf[n] = 0xeb, buf[n + 1] = 0xfe;
    th_load(c, 0x100000, buf, n + 2);
    th_start_at(c, CODE);
    th_expect_end(c, CODE + n);
    return touch(PAGE(1));
}
#define AFTER(...)                                                                               \
    ({                                                                                           \
        static const uint8_t b_[] = { __VA_ARGS__ };                                             \
        after(b_, sizeof b_);                                                                    \
    })

/* No invalidation: the PDE-cache entry is still used. */
START_TEST(plain_code_keeps_the_entries)
{
    ASSERT_COST(AFTER(0x90), 1, "after NOP");
}
END_TEST

/* MOV to CR3 invalidates every entry of the PCID; the code's own fetch
 * after it refills the shared PML4E and PDPTE, not the data's PDE. */
START_TEST(mov_to_cr3_invalidates)
{
    ASSERT_COST(AFTER(0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8), 2, "after MOV to CR3"); /* mov rax,cr3; mov cr3,rax */
}
END_TEST

/* SDM 3A "Operations that Invalidate TLBs and Paging-Structure Caches":
 * INVLPG of any address invalidates all paging-structure-cache entries of
 * the current PCID (the code page stays in the TLB: nothing refills). */
START_TEST(invlpg_of_another_page_invalidates_all_entries)
{
    c->gpr[0] = PAGE(9);
    ASSERT_COST(AFTER(0x0f, 0x01, 0x38), 4, "after INVLPG [rax]");
    ck_assert(!c->tlb_has_large);
}
END_TEST

/* INVLPG drops its page from the TLBs, the modelled one included, and no
 * other page. */
START_TEST(invlpg_drops_the_modelled_tlb_entry)
{
    touch(PAGE(1));
    c->gpr[0] = PAGE(0);
    ck_assert_uint_eq(AFTER(0x0f, 0x01, 0x38), 0); /* PAGE(1) is still in the TLB */
    uint64_t hits = c->stats.tlbm_l1_hits + c->stats.tlbm_l2_hits;
    ASSERT_COST(touch(PAGE(0)), 4, "PAGE(0) after INVLPG of it");
    ck_assert_uint_eq(c->stats.tlbm_l1_hits + c->stats.tlbm_l2_hits, hits);
}
END_TEST

/* INVPCID individual-address (type 0): the same as INVLPG for its PCID. */
START_TEST(invpcid_individual_address_invalidates)
{
    static uint64_t desc[2];
    desc[0] = 0;
    desc[1] = PAGE(9);
    memcpy(m->ram + 0x214000, desc, sizeof desc); /* the descriptor in PAGE(20) */
    c->gpr[0] = 0;
    c->gpr[3] = PAGE(20);
    ASSERT_COST(AFTER(0x66, 0x0f, 0x38, 0x82, 0x03), 4, "after INVPCID 0"); /* invpcid rax,[rbx] */
}
END_TEST

/* MOV to CR4 that changes PGE invalidates everything (SDM 3A "Operations
 * that Invalidate TLBs and Paging-Structure Caches"). */
START_TEST(mov_to_cr4_pge_invalidates)
{
    /* mov rax,cr4; xor rax,0x80; mov cr4,rax */
    ASSERT_COST(AFTER(0x0f, 0x20, 0xe0, 0x48, 0x35, 0x80, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe0), 2,
                "after MOV to CR4");
}
END_TEST

/* A page fault invalidates the entries that would be used for its linear
 * address: here the PML4E, PDPTE and PDE entries PAGE(1) uses too. */
START_TEST(page_fault_invalidates_its_entries)
{
    touch(PAGE(0));
    cpu_write_phys(c, PT_DATA + 8 * 5, 8, 0); /* PAGE(5) not present */
    static const uint8_t code[] = { 0x48, 0x8b, 0x03 }; /* mov rax,[rbx] */
    th_load(c, 0x100000, code, sizeof code);
    c->gpr[3] = PAGE(5);
    th_start_at(c, CODE);
    th_expect_fault(c, CODE, EXC_PF, true, 0);
    ASSERT_COST(touch(PAGE(1)), 4, "after #PF");
}
END_TEST

/* A flush of one software-TLB context leaves another's entries: entries
 * are tagged by context (here VPID 1 against VPID 0). */
START_TEST(entries_are_tagged_by_context)
{
    touch(PAGE(0));
    cpu_tlb_switch(c, 1, false, 0);
    ASSERT_COST(touch(PAGE(1)), 4, "VPID 1, cold");
    cpu_tlb_switch(c, 0, false, 0);
    ASSERT_COST(touch(PAGE(2)), 1, "VPID 0 again");
    cpu_tlb_flush_vpid(c, 1);
    ASSERT_COST(touch(PAGE(3)), 1, "VPID 0 after VPID 1's flush");
}
END_TEST

static Suite *psc_suite(void)
{
    Suite *s = suite_create("psc");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, sizes_come_from_the_cpu_model);
    tcase_add_test(tc, pde_hit_charges_only_the_pte);
    tcase_add_test(tc, pdpte_hit_charges_only_the_pde);
    tcase_add_test(tc, pml4e_hit_charges_pdpte_and_pde);
    tcase_add_test(tc, lru_evicts_beyond_the_model_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalidation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, plain_code_keeps_the_entries);
    tcase_add_test(tc, mov_to_cr3_invalidates);
    tcase_add_test(tc, invlpg_of_another_page_invalidates_all_entries);
    tcase_add_test(tc, invlpg_drops_the_modelled_tlb_entry);
    tcase_add_test(tc, invpcid_individual_address_invalidates);
    tcase_add_test(tc, mov_to_cr4_pge_invalidates);
    tcase_add_test(tc, page_fault_invalidates_its_entries);
    tcase_add_test(tc, entries_are_tagged_by_context);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(psc_suite());
}
