/* Unit tests for linear-address translation (src/cpu/paging.c): page tables
 * are built in the RAM of a real machine and walked with paging_walk(),
 * which returns the #PF error code instead of raising it. */
#include "cpu/paging.h"
#include "harness.h"
#include "nvmx/cpu_debug.h"
#include "nvmx/ept.h"

#include <check.h>
#include <stdlib.h>

#define RAM_SIZE (16u << 20)
#define TABLES 0x10000ull /* level 0 table (CR3); level n at TABLES + n * 4 KiB */

#define P (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A (1ull << 5)
#define D (1ull << 6)
#define PS (1ull << 7)
#define XD (1ull << 63)
#define BIT(n) (1ull << (n))

#define R ACC_R
#define W ACC_W
#define X ACC_X
#define SYS ACC_SYS

/* Leaf level of each page size: the index of the entry that maps the page. */
enum { L4_1G = 1, L4_2M = 2, L4_4K = 3 };   /* 4-level: PML4E PDPTE PDE PTE */
enum { PAE_2M = 1, PAE_4K = 2 };            /* PAE: PDPTE PDE PTE */
enum { B32_4M = 0, B32_4K = 1 };            /* 32-bit: PDE PTE */

static struct cpu_model model;
static struct cost_model cost;
static struct machine *m;
static struct cpu *c;

/* The translation built by build(). */
static uint64_t lin;
static uint64_t expect_pa;
static uint64_t ent_pa[4];
static unsigned ent_size, nent;

static void set_model(unsigned maxphy, bool page1g)
{
    th_model_init(&model, "paging-test");
    th_add_leaf(&model, 0, 7, 0, 0, 0);
    th_add_leaf(&model, 1, 0x906a0, 0, 0, 0);
    th_add_subleaf(&model, 7, 0, 0, (1u << 7) | (1u << 10) | (1u << 20), 0, 0);
    th_add_leaf(&model, 0x80000000u, 0x80000008u, 0, 0, 0);
    th_add_leaf(&model, 0x80000001u, 0, 0, 0, (1u << 20) | (1u << 29) | (page1g ? 1u << 26 : 0));
    th_add_leaf(&model, 0x80000008u, maxphy, 0, 0, 0);
}

static void setup(void)
{
    set_model(39, true);
    m = th_machine_create(RAM_SIZE, false);
    c = th_cpu_create(m, &model, &cost);
}

static void teardown(void)
{
    cpu_destroy(c);
    machine_destroy(m);
    c = NULL;
    m = NULL;
}

static uint64_t ent_read(unsigned lvl)
{
    uint64_t v = 0;
    memcpy(&v, m->ram + ent_pa[lvl], ent_size);
    return v;
}

static void ent_write(unsigned lvl, uint64_t v)
{
    memcpy(m->ram + ent_pa[lvl], &v, ent_size);
    /* PAE walks use the PDPTE registers: load them as MOV CR3 would (a
     * PDPTE with reserved bits then reads as whatever was loaded before). */
    if (paging_mode(c) == PAGING_PAE && lvl == 0)
        memcpy(c->pdpte, m->ram + (c->cr3 & 0xffffffe0u), sizeof c->pdpte);
}

/* Map one linear address in mode with its page at leaf level; every entry is
 * present, writable and user. Sets CR0/CR3/CR4/EFER for the mode, CPL 0. */
static void build(enum paging_mode mode, unsigned leaf)
{
    static const unsigned shift4[4] = { 39, 30, 21, 12 }, idx4[4] = { 1, 3, 3, 4 };
    static const unsigned shiftp[3] = { 30, 21, 12 }, idxp[3] = { 2, 3, 4 };
    static const unsigned shift2[2] = { 22, 12 }, idx2[2] = { 0x201, 4 };
    const unsigned *shift, *idx;
    unsigned last;

    memset(m->ram + TABLES, 0, 0x4000);
    c->cpl = 0;
    c->rflags = FL_FIXED1;
    c->cr0 = CR0_PE | CR0_PG;
    c->cr3 = TABLES;
    switch (mode) {
    case PAGING_4LEVEL:
        c->cr4 = CR4_PAE;
        c->efer = EFER_LME | EFER_LMA;
        shift = shift4, idx = idx4, last = 3, ent_size = 8;
        break;
    case PAGING_PAE:
        c->cr4 = CR4_PAE;
        c->efer = 0;
        shift = shiftp, idx = idxp, last = 2, ent_size = 8;
        break;
    default:
        c->cr4 = CR4_PSE;
        c->efer = 0;
        shift = shift2, idx = idx2, last = 1, ent_size = 4;
        break;
    }
    lin = 0x123;
    for (unsigned l = 0; l <= last; l++)
        lin |= (uint64_t)idx[l] << shift[l];

    uint64_t size = 1ull << shift[leaf];
    uint64_t frame = size == 4096 ? 0x123000 : size * 2; /* 8 MiB for 4M, 2 GiB for 1G */
    expect_pa = frame | (lin & (size - 1));
    for (unsigned l = 0; l <= leaf; l++) {
        uint64_t next = TABLES + (l + 1) * 0x1000;
        uint64_t v = l < leaf ? (next | P | RW | US) : (frame | P | RW | US | (l < last ? PS : 0));
        if (mode == PAGING_PAE && l == 0)
            v = next | P; /* PAE PDPTEs have no R/W, U/S or A */
        ent_pa[l] = TABLES + l * 0x1000 + idx[l] * ent_size;
        ent_write(l, v);
    }
    nent = leaf + 1;
    cpu_tlb_flush(c);
}

static const char *mode_name(enum paging_mode mode)
{
    return mode == PAGING_4LEVEL ? "4-level" : mode == PAGING_PAE ? "PAE" : "32-bit";
}

/* ---- translation of each mode and page size ------------------------------ */

struct xlate_case {
    enum paging_mode mode;
    unsigned leaf;
    uint64_t page_size;
    unsigned levels; /* memory references */
};

static const struct xlate_case xlate_cases[] = {
    { PAGING_4LEVEL, L4_4K, 1ull << 12, 4 },
    { PAGING_4LEVEL, L4_2M, 1ull << 21, 3 },
    { PAGING_4LEVEL, L4_1G, 1ull << 30, 2 },
    { PAGING_PAE, PAE_4K, 1ull << 12, 2 }, /* PDE + PTE (PDPTEs are registers) */
    { PAGING_PAE, PAE_2M, 1ull << 21, 1 },
    { PAGING_32BIT, B32_4K, 1ull << 12, 2 },
    { PAGING_32BIT, B32_4M, 1ull << 22, 1 },
};

START_TEST(translates_each_mode_and_page_size)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    struct paging_walk_result r;
    ck_assert_int_eq(paging_mode(c), t->mode);
    ck_assert_msg(paging_walk(c, lin, R, &r), "%s leaf %u: fault 0x%x", mode_name(t->mode),
                  t->leaf, r.error_code);
    ck_assert_msg(r.pa == expect_pa, "%s leaf %u: pa 0x%llx, expected 0x%llx",
                  mode_name(t->mode), t->leaf, (unsigned long long)r.pa,
                  (unsigned long long)expect_pa);
    ck_assert_uint_eq(r.page_size, t->page_size);
    ck_assert_uint_eq(r.levels, t->levels);

    uint64_t pa = 0;
    bool tlb_ok = false;
    ck_assert(paging_translate(c, lin, W | ACC_NOFAULT, &pa, &tlb_ok));
    ck_assert_uint_eq(pa, expect_pa);
    ck_assert(tlb_ok);
}
END_TEST

/* Page walks charge COST_page_walk per memory reference (not the PAE PDPTEs,
 * which the processor holds in registers). */
START_TEST(walk_charges_one_cost_per_memory_reference)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    unsigned refs = t->levels;
    uint64_t before = c->cycles;
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, R, &r));
    ck_assert_msg(c->cycles - before == (uint64_t)refs * cost.cycles[COST_page_walk],
                  "%s leaf %u: charged %llu, expected %u x %u", mode_name(t->mode), t->leaf,
                  (unsigned long long)(c->cycles - before), refs, cost.cycles[COST_page_walk]);
}
END_TEST

START_TEST(paging_off_is_identity_below_4g)
{
    c->cr0 = CR0_PE;
    struct paging_walk_result r;
    ck_assert(paging_walk(c, 0x1234567890ull, W, &r));
    ck_assert_uint_eq(r.pa, 0x34567890ull);
    uint64_t before = c->cycles;
    ck_assert(paging_walk(c, 0xfffff000ull, X, &r));
    ck_assert_uint_eq(r.pa, 0xfffff000ull);
    ck_assert_uint_eq(c->cycles, before);
}
END_TEST

/* 32-bit paging with CR4.PSE = 0 ignores PDE.PS: the PDE points to a page
 * table (SDM 3A "32-Bit Paging"). */
START_TEST(pse_off_ignores_pde_ps)
{
    build(PAGING_32BIT, B32_4K);
    ent_write(0, ent_read(0) | PS);
    c->cr4 = 0;
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, R, &r));
    ck_assert_uint_eq(r.pa, expect_pa);
    ck_assert_uint_eq(r.page_size, 4096);
}
END_TEST

/* PSE-36: PDE bits (M-20):13 are physical-address bits (M-1):32 of a 4-MByte
 * page, M = min(MAXPHYADDR, 40). */
START_TEST(pse36_high_address_bits)
{
    build(PAGING_32BIT, B32_4M);
    ent_write(0, ent_read(0) | BIT(13) | BIT(19)); /* PA bits 32 and 38 (MAXPHYADDR 39) */
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, R, &r));
    ck_assert_uint_eq(r.pa, expect_pa | BIT(32) | BIT(38));
}
END_TEST

/* ---- accessed and dirty flags ------------------------------------------- */

START_TEST(read_sets_accessed_on_every_level_and_no_dirty)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, R, &r));
    for (unsigned l = 0; l < nent; l++) {
        uint64_t e = ent_read(l);
        bool pae_pdpte = t->mode == PAGING_PAE && l == 0;
        ck_assert_msg(pae_pdpte ? !(e & A) : !!(e & A), "%s leaf %u: entry %u = 0x%llx, A",
                      mode_name(t->mode), t->leaf, l, (unsigned long long)e);
        ck_assert_msg(!(e & D), "%s leaf %u: entry %u = 0x%llx has D after a read",
                      mode_name(t->mode), t->leaf, l, (unsigned long long)e);
    }
    ck_assert(!r.dirty);
}
END_TEST

START_TEST(write_sets_dirty_only_in_the_final_entry)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, W, &r));
    for (unsigned l = 0; l < nent; l++) {
        uint64_t e = ent_read(l);
        bool final = l + 1 == nent;
        ck_assert_msg(final == !!(e & D), "%s leaf %u: entry %u = 0x%llx, D expected %d",
                      mode_name(t->mode), t->leaf, l, (unsigned long long)e, final);
    }
    ck_assert(r.dirty);
}
END_TEST

START_TEST(faulting_walk_leaves_accessed_flags_clear)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    ent_write(nent - 1, ent_read(nent - 1) & ~RW);
    c->cr0 |= CR0_WP;
    struct paging_walk_result r;
    ck_assert(!paging_walk(c, lin, W, &r));
    ck_assert_uint_eq(r.error_code, PFEC_P | PFEC_W);
    for (unsigned l = 0; l < nent; l++)
        ck_assert_msg(!(ent_read(l) & (A | D)), "%s: entry %u = 0x%llx", mode_name(t->mode), l,
                      (unsigned long long)ent_read(l));
}
END_TEST

/* A look by nvmx (ACC_PEEK: trace, debugger) translates like a walk but
 * sets no accessed or dirty flag and charges nothing. */
START_TEST(peek_sets_no_flag_and_charges_nothing)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    uint64_t cycles = c->cycles, refs = c->stats.walk_refs;
    uint64_t pa = 0;
    bool tlb_ok;
    ck_assert(paging_translate(c, lin, W | ACC_PEEK, &pa, &tlb_ok));
    ck_assert_uint_eq(pa, expect_pa);
    struct paging_walk_result r;
    ck_assert(paging_walk(c, lin, X | ACC_PEEK, &r));
    ck_assert_uint_eq(r.pa, expect_pa);
    for (unsigned l = 0; l < nent; l++)
        ck_assert_msg(!(ent_read(l) & (A | D)), "%s leaf %u: entry %u = 0x%llx after a peek",
                      mode_name(t->mode), t->leaf, l, (unsigned long long)ent_read(l));
    ck_assert_uint_eq(c->cycles, cycles);
    ck_assert_uint_eq(c->stats.walk_refs, refs);
    /* a peek at a page that is not present fails without a fault */
    ent_write(nent - 1, ent_read(nent - 1) & ~P);
    ck_assert(!paging_translate(c, lin, ACC_R | ACC_PEEK, &pa, &tlb_ok));
}
END_TEST

/* ---- access rights and error codes -------------------------------------- */

struct pf_case {
    const char *name;
    enum paging_mode mode;
    unsigned leaf;
    int lvl;           /* entry to change (-1: none) */
    uint64_t clr, set; /* bits cleared / set in that entry */
    uint64_t cr0, cr4, efer; /* extra control bits */
    unsigned cpl;
    bool ac;
    unsigned acc;
    bool ok;
    uint32_t err;
};

#define M4 PAGING_4LEVEL
#define MP PAGING_PAE
#define M2 PAGING_32BIT
#define NXE EFER_NXE
#define WP CR0_WP
#define SMEP CR4_SMEP
#define SMAP CR4_SMAP
#define PFP PFEC_P
#define PFW PFEC_W
#define PFU PFEC_U
#define PFR PFEC_RSVD
#define PFI PFEC_I

static const struct pf_case pf_cases[] = {
    /* name                             mode leaf  lvl clr  set  cr0 cr4 efer cpl ac acc ok err */
    { "user read, all user",            M4, L4_4K, -1, 0, 0, 0, 0, 0, 3, 0, R, 1, 0 },
    /* Not present at each level: P = 0, W/U/I describe the access. */
    { "PML4E not present",              M4, L4_4K, 0, P, 0, 0, 0, 0, 0, 0, R, 0, 0 },
    { "PDPTE not present, user write",  M4, L4_4K, 1, P, 0, 0, 0, 0, 3, 0, W, 0, PFW | PFU },
    { "PDE not present, fetch NXE",     M4, L4_4K, 2, P, 0, 0, 0, NXE, 0, 0, X, 0, PFI },
    { "PTE not present, user fetch",    M4, L4_4K, 3, P, 0, 0, 0, NXE, 3, 0, X, 0, PFI | PFU },
    { "not present + reserved ignored", M4, L4_4K, 3, P, BIT(45), 0, 0, 0, 0, 0, R, 0, 0 },
    { "PAE PDPTE not present",          MP, PAE_4K, 0, P, 0, 0, 0, 0, 0, 0, W, 0, PFW },
    { "PAE PTE not present",            MP, PAE_4K, 2, P, 0, 0, 0, 0, 3, 0, R, 0, PFU },
    { "32-bit PDE not present",         M2, B32_4K, 0, P, 0, 0, 0, 0, 3, 0, W, 0, PFW | PFU },
    { "32-bit PTE not present",         M2, B32_4K, 1, P, 0, 0, 0, 0, 0, 0, R, 0, 0 },
    /* U/S: user access to a supervisor page at any level. */
    { "user read, PML4E supervisor",    M4, L4_4K, 0, US, 0, 0, 0, 0, 3, 0, R, 0, PFP | PFU },
    { "user read, PDE supervisor",      M4, L4_4K, 2, US, 0, 0, 0, 0, 3, 0, R, 0, PFP | PFU },
    { "user write, 2M supervisor",      M4, L4_2M, 2, US, 0, 0, 0, 0, 3, 0, W, 0, PFP | PFW | PFU },
    { "user fetch, 1G supervisor",      M4, L4_1G, 1, US, 0, 0, 0, 0, 3, 0, X, 0, PFP | PFU },
    { "sup read, supervisor page",      M4, L4_4K, 3, US, 0, 0, 0, 0, 0, 0, R, 1, 0 },
    { "CPL3 implicit read, sup page",   M4, L4_4K, 3, US, 0, 0, 0, 0, 3, 0, R | SYS, 1, 0 },
    { "PAE user read, PDE supervisor",  MP, PAE_4K, 1, US, 0, 0, 0, 0, 3, 0, R, 0, PFP | PFU },
    { "32-bit user read, 4M sup",       M2, B32_4M, 0, US, 0, 0, 0, 0, 3, 0, R, 0, PFP | PFU },
    /* R/W and CR0.WP */
    { "user write, RO PDPTE",           M4, L4_4K, 1, RW, 0, 0, 0, 0, 3, 0, W, 0, PFP | PFW | PFU },
    { "user write, RO PTE, WP=0",       M4, L4_4K, 3, RW, 0, 0, 0, 0, 3, 0, W, 0, PFP | PFW | PFU },
    { "user read, RO PTE",              M4, L4_4K, 3, RW, 0, 0, 0, 0, 3, 0, R, 1, 0 },
    { "sup write, RO PTE, WP=0",        M4, L4_4K, 3, RW, 0, 0, 0, 0, 0, 0, W, 1, 0 },
    { "sup write, RO PTE, WP=1",        M4, L4_4K, 3, RW, 0, WP, 0, 0, 0, 0, W, 0, PFP | PFW },
    { "sup write, RO PML4E, WP=1",      M4, L4_4K, 0, RW, 0, WP, 0, 0, 0, 0, W, 0, PFP | PFW },
    { "implicit write, RO, WP=1, CPL3", M4, L4_4K, 3, RW, 0, WP, 0, 0, 3, 0, W | SYS, 0, PFP | PFW },
    { "implicit write, RO, WP=0, CPL3", M4, L4_4K, 3, RW, 0, 0, 0, 0, 3, 0, W | SYS, 1, 0 },
    { "PAE sup write, RO 2M, WP=1",     MP, PAE_2M, 1, RW, 0, WP, 0, 0, 0, 0, W, 0, PFP | PFW },
    { "32-bit sup write, RO, WP=1",     M2, B32_4K, 1, RW, 0, WP, 0, 0, 0, 0, W, 0, PFP | PFW },
    { "32-bit sup write, RO, WP=0",     M2, B32_4K, 0, RW, 0, 0, 0, 0, 0, 0, W, 1, 0 },
    /* XD: with NXE=1 a no-fetch bit; with NXE=0 a reserved bit. */
    { "fetch, XD PTE, NXE=1",           M4, L4_4K, 3, 0, XD, 0, 0, NXE, 0, 0, X, 0, PFP | PFI },
    { "fetch, XD PML4E, NXE=1",         M4, L4_4K, 0, 0, XD, 0, 0, NXE, 3, 0, X, 0, PFP | PFI | PFU },
    { "read, XD PTE, NXE=1",            M4, L4_4K, 3, 0, XD, 0, 0, NXE, 0, 0, R, 1, 0 },
    { "read, XD PTE, NXE=0",            M4, L4_4K, 3, 0, XD, 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "fetch, XD PDE, NXE=0",           M4, L4_4K, 2, 0, XD, 0, 0, 0, 0, 0, X, 0, PFP | PFR },
    { "PAE fetch, XD 2M, NXE=1",        MP, PAE_2M, 1, 0, XD, 0, 0, NXE, 0, 0, X, 0, PFP | PFI },
    { "PAE read, XD PTE, NXE=0",        MP, PAE_4K, 2, 0, XD, 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE XD is reserved",       MP, PAE_4K, 0, 0, XD, 0, 0, NXE, 0, 0, R, 0, PFP | PFR },
    /* I/D is reported only with SMEP, or PAE/4-level paging with NXE. */
    { "fetch not present, NXE=0",       M4, L4_4K, 3, P, 0, 0, 0, 0, 0, 0, X, 0, 0 },
    { "32-bit fetch not present, NXE",  M2, B32_4K, 1, P, 0, 0, 0, NXE, 0, 0, X, 0, 0 },
    { "32-bit fetch not present, SMEP", M2, B32_4K, 1, P, 0, 0, SMEP, 0, 0, 0, X, 0, PFI },
    { "PAE fetch not present, NXE=1",   MP, PAE_4K, 2, P, 0, 0, 0, NXE, 0, 0, X, 0, PFI },
    /* SMEP: supervisor fetch from a user page. */
    { "sup fetch, user page, SMEP",     M4, L4_4K, -1, 0, 0, 0, SMEP, 0, 0, 0, X, 0, PFP | PFI },
    { "sup fetch, user page, no SMEP",  M4, L4_4K, -1, 0, 0, 0, 0, 0, 0, 0, X, 1, 0 },
    { "sup fetch, sup page, SMEP",      M4, L4_4K, 2, US, 0, 0, SMEP, 0, 0, 0, X, 1, 0 },
    { "user fetch, user page, SMEP",    M4, L4_4K, -1, 0, 0, 0, SMEP, 0, 3, 0, X, 1, 0 },
    { "32-bit sup fetch, SMEP",         M2, B32_4M, -1, 0, 0, 0, SMEP, 0, 0, 0, X, 0, PFP | PFI },
    /* SMAP: supervisor data access to a user page. */
    { "sup read, user page, SMAP AC=0", M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 0, R, 0, PFP },
    { "sup read, user page, SMAP AC=1", M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 1, R, 1, 0 },
    { "sup write, user page, SMAP AC=0",M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 0, W, 0, PFP | PFW },
    { "sup write, user page, SMAP AC=1",M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 1, W, 1, 0 },
    { "SMAP AC=1, RO user page, WP=1",  M4, L4_4K, 3, RW, 0, WP, SMAP, 0, 0, 1, W, 0, PFP | PFW },
    { "implicit read, SMAP AC=1",       M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 1, R | SYS, 0, PFP },
    { "implicit CPL3 read, SMAP AC=1",  M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 3, 1, R | SYS, 0, PFP },
    { "implicit CPL3 read, no SMAP",    M4, L4_4K, -1, 0, 0, 0, 0, 0, 3, 0, R | SYS, 1, 0 },
    { "user read, user page, SMAP",     M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 3, 0, R, 1, 0 },
    { "sup read, sup page, SMAP",       M4, L4_4K, 1, US, 0, 0, SMAP, 0, 0, 0, R, 1, 0 },
    { "sup fetch, user page, SMAP only",M4, L4_4K, -1, 0, 0, 0, SMAP, 0, 0, 0, X, 1, 0 },
    { "PAE sup read, SMAP AC=0",        MP, PAE_2M, -1, 0, 0, 0, SMAP, 0, 0, 0, R, 0, PFP },
    { "32-bit sup read, SMAP AC=0",     M2, B32_4K, -1, 0, 0, 0, SMAP, 0, 0, 0, R, 0, PFP },
    /* Reserved bits: MAXPHYADDR = 39, so bits 51:39 (4-level) / 62:39 (PAE). */
    { "PML4E bit 39",                   M4, L4_4K, 0, 0, BIT(39), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PDPTE bit 51, user write",       M4, L4_4K, 1, 0, BIT(51), 0, 0, 0, 3, 0, W, 0, PFP | PFR | PFW | PFU },
    { "PDE bit 45, fetch NXE",          M4, L4_4K, 2, 0, BIT(45), 0, 0, NXE, 0, 0, X, 0, PFP | PFR | PFI },
    { "PTE bit 39",                     M4, L4_4K, 3, 0, BIT(39), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PTE bit 52 is ignored",          M4, L4_4K, 3, 0, BIT(52), 0, 0, 0, 0, 0, R, 1, 0 },
    { "PTE bit 62 is ignored",          M4, L4_4K, 3, 0, BIT(62), 0, 0, 0, 0, 0, R, 1, 0 },
    { "PML4E PS is reserved",           M4, L4_4K, 0, 0, PS, 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "reserved before protection",     M4, L4_4K, 1, US, BIT(40), 0, 0, 0, 3, 0, R, 0, PFP | PFR | PFU },
    { "PDPTE bit 40",                   M4, L4_4K, 1, 0, BIT(40), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "1G page bit 13",                 M4, L4_1G, 1, 0, BIT(13), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "1G page bit 20",                 M4, L4_1G, 1, 0, BIT(20), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "1G page bit 29",                 M4, L4_1G, 1, 0, BIT(29), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "1G page bit 12 is PAT",          M4, L4_1G, 1, 0, BIT(12), 0, 0, 0, 0, 0, R, 1, 0 },
    { "2M page bit 13",                 M4, L4_2M, 2, 0, BIT(13), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "2M page bit 20",                 M4, L4_2M, 2, 0, BIT(20), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE bit 1",                MP, PAE_4K, 0, 0, BIT(1), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE bit 2",                MP, PAE_4K, 0, 0, BIT(2), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE bit 5",                MP, PAE_4K, 0, 0, BIT(5), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE bit 8",                MP, PAE_4K, 0, 0, BIT(8), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDPTE bit 39",               MP, PAE_4K, 0, 0, BIT(39), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PDE bit 62",                 MP, PAE_4K, 1, 0, BIT(62), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE PTE bit 52",                 MP, PAE_4K, 2, 0, BIT(52), 0, 0, 0, 3, 0, W, 0, PFP | PFR | PFW | PFU },
    { "PAE 2M page bit 13",             MP, PAE_2M, 1, 0, BIT(13), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "PAE 2M page bit 20",             MP, PAE_2M, 1, 0, BIT(20), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "32-bit 4M page bit 21",          M2, B32_4M, 0, 0, BIT(21), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "32-bit 4M page bit 20",          M2, B32_4M, 0, 0, BIT(20), 0, 0, 0, 0, 0, R, 0, PFP | PFR },
    { "32-bit 4M page bit 12 is PAT",   M2, B32_4M, 0, 0, BIT(12), 0, 0, 0, 0, 0, R, 1, 0 },
    { "32-bit PTE bit 7 is PAT",        M2, B32_4K, 1, 0, BIT(7), 0, 0, 0, 0, 0, R, 1, 0 },
    { "PAE PTE bit 7 is PAT",           MP, PAE_4K, 2, 0, BIT(7), 0, 0, 0, 0, 0, R, 1, 0 },
};

static void apply_case(const struct pf_case *t)
{
    build(t->mode, t->leaf);
    if (t->lvl >= 0)
        ent_write((unsigned)t->lvl, (ent_read((unsigned)t->lvl) & ~t->clr) | t->set);
    c->cr0 |= t->cr0;
    c->cr4 |= t->cr4;
    c->efer |= t->efer;
    c->cpl = (uint8_t)t->cpl;
    if (t->ac)
        c->rflags |= FL_AC;
}

START_TEST(access_rights_and_error_code)
{
    const struct pf_case *t = &pf_cases[_i];
    apply_case(t);
    struct paging_walk_result r;
    bool ok = paging_walk(c, lin, t->acc, &r);
    if (t->ok) {
        ck_assert_msg(ok, "%s: faulted with 0x%x, expected success", t->name, r.error_code);
        ck_assert_msg(r.pa == expect_pa, "%s: pa 0x%llx, expected 0x%llx", t->name,
                      (unsigned long long)r.pa, (unsigned long long)expect_pa);
    } else {
        ck_assert_msg(!ok, "%s: succeeded, expected #PF 0x%x", t->name, t->err);
        ck_assert_msg(r.error_code == t->err, "%s: error code 0x%x, expected 0x%x", t->name,
                      r.error_code, t->err);
    }
}
END_TEST

/* paging_translate() with ACC_NOFAULT reports the same outcome without
 * raising #PF. */
START_TEST(translate_nofault_matches_walk)
{
    const struct pf_case *t = &pf_cases[_i];
    apply_case(t);
    uint64_t pa = ~0ull;
    bool tlb_ok = false;
    bool ok = paging_translate(c, lin, t->acc | ACC_NOFAULT, &pa, &tlb_ok);
    ck_assert_msg(ok == t->ok, "%s: translate returned %d", t->name, ok);
    if (ok)
        ck_assert_msg(pa == expect_pa, "%s: pa 0x%llx", t->name, (unsigned long long)pa);
}
END_TEST

/* ---- software-TLB permission -------------------------------------------- */

START_TEST(tlb_not_allowed_when_smap_depends_on_ac)
{
    build(PAGING_4LEVEL, L4_4K);
    c->cr4 |= CR4_SMAP;
    c->rflags |= FL_AC;
    uint64_t pa;
    bool tlb_ok = true;
    ck_assert(paging_translate(c, lin, R, &pa, &tlb_ok));
    ck_assert_msg(!tlb_ok, "SMAP with AC=1 must not be cached");
    c->cr4 &= ~CR4_SMAP;
    ck_assert(paging_translate(c, lin, R, &pa, &tlb_ok));
    ck_assert(tlb_ok);
}
END_TEST

/* ---- MAXPHYADDR from the CPU model -------------------------------------- */

static const unsigned maxphy_values[] = { 36, 39, 46, 52 };

START_TEST(reserved_bits_follow_maxphyaddr)
{
    unsigned mp = maxphy_values[_i];
    set_model(mp, true);
    ck_assert_uint_eq(cpu_maxphyaddr(c), mp);
    struct paging_walk_result r;

    /* Bit MAXPHYADDR-1 of a 2-MByte page is an address bit. */
    build(PAGING_4LEVEL, L4_2M);
    ent_write(2, ent_read(2) | BIT(mp - 1));
    ck_assert_msg(paging_walk(c, lin, R, &r), "MAXPHYADDR %u: bit %u faulted 0x%x", mp, mp - 1,
                  r.error_code);
    ck_assert_uint_eq(r.pa, expect_pa | BIT(mp - 1));

    /* Bit MAXPHYADDR is reserved while it is below 52. */
    build(PAGING_4LEVEL, L4_2M);
    ent_write(2, ent_read(2) | BIT(mp));
    bool ok = paging_walk(c, lin, R, &r);
    if (mp < 52) {
        ck_assert_msg(!ok, "MAXPHYADDR %u: bit %u accepted", mp, mp);
        ck_assert_uint_eq(r.error_code, PFEC_P | PFEC_RSVD);
    } else {
        ck_assert_msg(ok, "MAXPHYADDR 52: bit 52 is ignored, got 0x%x", r.error_code);
    }
}
END_TEST

/* cpu_maxphyaddr() and cpu_linear_width() are the one source of both
 * widths; a value outside what the model loader accepts (32..52; 48 or
 * 57) gives the defaults, 39 and 48. */
static const struct { uint32_t eax; unsigned maxphy, linear; } width_cases[] = {
    { 0x3027, 39, 48 }, { 0x302e, 46, 48 }, { 0x3934, 52, 57 },
    { 0x3035, 39, 48 }, { 0x301f, 39, 48 }, { 0x2724, 36, 48 },
};

START_TEST(address_widths_from_leaf_80000008)
{
    set_model(0, true);
    model.leaves[model.nleaves - 1].eax = width_cases[_i].eax;
    ck_assert_uint_eq(cpu_maxphyaddr(c), width_cases[_i].maxphy);
    ck_assert_uint_eq(cpu_linear_width(c), width_cases[_i].linear);
}
END_TEST

START_TEST(maxphyaddr_defaults_to_39_without_model)
{
    c->model = NULL;
    ck_assert_uint_eq(cpu_maxphyaddr(c), 39);
}
END_TEST

START_TEST(pdpte_ps_is_reserved_without_1g_pages)
{
    set_model(39, false);
    build(PAGING_4LEVEL, L4_1G);
    struct paging_walk_result r;
    ck_assert(!paging_walk(c, lin, R, &r));
    ck_assert_uint_eq(r.error_code, PFEC_P | PFEC_RSVD);
}
END_TEST

/* ---- PDPTE load (MOV CR3 in PAE paging) --------------------------------- */

struct pdpte_case {
    const char *name;
    uint64_t pdpte;
    bool ok;
};

static const struct pdpte_case pdpte_cases[] = {
    { "present, valid", 0x11000 | P, true },
    { "present, bit 1", 0x11000 | P | BIT(1), false },
    { "present, bit 2", 0x11000 | P | BIT(2), false },
    { "present, bit 5", 0x11000 | P | BIT(5), false },
    { "present, bit 8", 0x11000 | P | BIT(8), false },
    { "present, bit 39", 0x11000 | P | BIT(39), false },
    { "present, bit 63", 0x11000 | P | XD, false },
    { "present, PWT PCD", 0x11000 | P | BIT(3) | BIT(4), true },
    { "not present, reserved bits", BIT(1) | BIT(63), true },
};

START_TEST(load_pdptes_checks_reserved_bits)
{
    const struct pdpte_case *t = &pdpte_cases[_i];
    build(PAGING_PAE, PAE_4K);
    c->cr3 = TABLES + 0x20; /* PDPT at a 32-byte boundary */
    memset(m->ram + TABLES + 0x20, 0, 32);
    memcpy(m->ram + TABLES + 0x20 + 3 * 8, &t->pdpte, 8);
    ck_assert_msg(paging_load_pdptes(c) == t->ok, "%s: 0x%llx", t->name,
                  (unsigned long long)t->pdpte);
}
END_TEST

/* ---- through the run loop: #PF delivery and the TLB instructions -------- */

#define CODE 0x1000ull
#define DATA_LIN 0x100000ull        /* PTE at PT + 256 * 8 */
#define DATA_PTE (TABLES + 0x3000 + 256 * 8)
#define FRAME_A 0x300000ull
#define FRAME_B 0x301000ull
#define DESC 0x2000ull              /* INVPCID descriptor: TLB index apart from DATA_LIN */

/* 64-bit mode, identity map of the first 2 MiB with 4-KByte pages, code at
 * CODE, stop (not deliver) on exceptions. */
/* The opcode table refers to handlers weakly, and a weak reference does not
 * pull an object out of the static library: refer to them strongly. */
void op_invlpg(struct cpu *c, const struct insn *in);
void op_invpcid(struct cpu *c, const struct insn *in);
insn_handler const paging_test_handlers[] = { op_invlpg, op_invpcid };

static void long_mode(unsigned cpl)
{
    uint64_t u = cpl == 3 ? US : 0;
    memset(m->ram + TABLES, 0, 0x4000);
    uint64_t e[3] = { (TABLES + 0x1000) | P | RW | u, (TABLES + 0x2000) | P | RW | u,
                      (TABLES + 0x3000) | P | RW | u };
    for (unsigned l = 0; l < 3; l++)
        memcpy(m->ram + TABLES + l * 0x1000, &e[l], 8);
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t pte = (i << 12) | P | RW | u;
        memcpy(m->ram + TABLES + 0x3000 + i * 8, &pte, 8);
    }
    cpu_set_long_mode(c, TABLES, 0x500);
    if (cpl == 3) {
        c->seg[SEG_CS].sel |= 3;
        c->seg[SEG_CS].ar |= AR_DPL_MASK;
        c->seg[SEG_SS].sel |= 3;
        c->seg[SEG_SS].ar |= AR_DPL_MASK;
        cpu_update_mode(c);
    }
    c->rip = CODE;
    c->stop_on_exception = true;
}

static void put_code(const uint8_t *code, size_t n) { th_load(c, CODE, code, n); }

static void put64(uint64_t pa, uint64_t v)
{
    memcpy(m->ram + pa, &v, 8);
}

START_TEST(run_page_fault_reports_error_code_and_address)
{
    static const uint8_t code[] = {
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, /* mov rax, [0x100000] */
        0xf4,                                           /* hlt */
    };
    long_mode(0);
    put64(DATA_PTE, FRAME_A); /* not present */
    put_code(code, sizeof code);
    ck_assert_int_eq(cpu_run(c, 10), CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_PF);
    ck_assert(c->last_has_error);
    ck_assert_uint_eq(c->last_error, 0);
    ck_assert_uint_eq(c->fault_cr2, DATA_LIN);
    ck_assert_uint_eq(c->rip, CODE);
}
END_TEST

/* The instruction that invalidates DATA_LIN after its PTE moved from FRAME_A
 * to FRAME_B; the load after it must see FRAME_B. */
struct flush_case {
    const char *name;
    uint8_t insn[10];
    unsigned len;
    uint64_t rsi; /* INVPCID type */
    uint64_t desc_lo, desc_hi;
};

static const struct flush_case flush_cases[] = {
    { "invlpg [0x100000]", { 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0x10, 0x00 }, 8, 0, 0, 0 },
    { "invlpg [0x100abc]", { 0x0f, 0x01, 0x3c, 0x25, 0xbc, 0x0a, 0x10, 0x00 }, 8, 0, 0, 0 },
    { "invpcid type 0", { 0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00 }, 10, 0, 0,
      DATA_LIN },
    { "invpcid type 1", { 0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00 }, 10, 1, 0, 0 },
    { "invpcid type 2", { 0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00 }, 10, 2, 0, 0 },
    { "invpcid type 3", { 0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00 }, 10, 3, 0, 0 },
};

START_TEST(tlb_instruction_drops_stale_translation)
{
    const struct flush_case *t = &flush_cases[_i];
    static const uint8_t before[] = {
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, /* mov rax, [0x100000] */
        0x48, 0x89, 0x0c, 0x25, 0x00, 0x38, 0x01, 0x00, /* mov [DATA_PTE], rcx */
        0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x10, 0x00, /* mov rbx, [0x100000] */
    };
    static const uint8_t after[] = {
        0x48, 0x8b, 0x14, 0x25, 0x00, 0x00, 0x10, 0x00, /* mov rdx, [0x100000] */
        0xf4,                                           /* hlt */
    };
    uint8_t code[64];
    memcpy(code, before, sizeof before);
    memcpy(code + sizeof before, t->insn, t->len);
    memcpy(code + sizeof before + t->len, after, sizeof after);

    long_mode(0);
    ck_assert_uint_eq(DATA_PTE, 0x13800);
    put64(DATA_PTE, FRAME_A | P | RW);
    put64(FRAME_A, 0x1111);
    put64(FRAME_B, 0x2222);
    put64(DESC, t->desc_lo);
    put64(DESC + 8, t->desc_hi);
    c->gpr[1] = FRAME_B | P | RW; /* rcx */
    c->gpr[6] = t->rsi;
    put_code(code, sizeof before + t->len + sizeof after);

    enum cpu_stop stop = cpu_run(c, 5); /* up to the HLT, not including it */
    ck_assert_msg(stop == CPU_STOP_INSN_LIMIT, "%s: stop %d, exception %d (0x%x)", t->name,
                  stop, c->last_exception, c->last_error);
    ck_assert_uint_eq(c->gpr[0], 0x1111);
    ck_assert_msg(c->gpr[2] == 0x2222, "%s: rdx 0x%llx, expected 0x2222 after the flush",
                  t->name, (unsigned long long)c->gpr[2]);
}
END_TEST

/* SDM 2A "INVLPG" and "INVPCID": faults and no-ops. Code is one instruction
 * run alone; expected is a vector (-1: it retires). */
struct tlb_fault_case {
    const char *name;
    unsigned cpl;
    bool invpcid;
    uint64_t reg;     /* rsi: INVLPG address, or INVPCID type */
    uint64_t desc_lo, desc_hi;
    uint64_t cr4;
    int vector;
};

static const struct tlb_fault_case tlb_fault_cases[] = {
    { "invlpg at CPL 3", 3, false, DATA_LIN, 0, 0, 0, EXC_GP },
    { "invlpg non-canonical is a no-op", 0, false, 0x0000800000000000ull, 0, 0, 0, -1 },
    { "invlpg unmapped address, no #PF", 0, false, 0x7fff00000000ull, 0, 0, 0, -1 },
    { "invpcid at CPL 3", 3, true, 2, 0, 0, 0, EXC_GP },
    { "invpcid type 0", 0, true, 0, 0, DATA_LIN, 0, -1 },
    { "invpcid type 0, non-canonical", 0, true, 0, 0, 0x0000800000000000ull, 0, EXC_GP },
    { "invpcid type 0, PCID 1, PCIDE=0", 0, true, 0, 1, DATA_LIN, 0, EXC_GP },
    { "invpcid type 0, PCID 1, PCIDE=1", 0, true, 0, 1, DATA_LIN, CR4_PCIDE, -1 },
    { "invpcid type 1, PCID 0xfff, PCIDE=0", 0, true, 1, 0xfff, 0, 0, EXC_GP },
    { "invpcid type 1, PCID 0xfff, PCIDE=1", 0, true, 1, 0xfff, 0, CR4_PCIDE, -1 },
    { "invpcid type 2, PCID 5, PCIDE=0", 0, true, 2, 5, 0, 0, -1 },
    { "invpcid type 3, non-canonical ignored", 0, true, 3, 0, 0x0000800000000000ull, 0, -1 },
    { "invpcid type 4", 0, true, 4, 0, 0, 0, EXC_GP },
    { "invpcid type 2^32", 0, true, 1ull << 32, 0, 0, 0, EXC_GP },
    { "invpcid descriptor bit 12", 0, true, 2, 1ull << 12, 0, 0, EXC_GP },
    { "invpcid descriptor bit 63", 0, true, 3, 1ull << 63, 0, 0, EXC_GP },
};

START_TEST(tlb_instruction_faults)
{
    const struct tlb_fault_case *t = &tlb_fault_cases[_i];
    static const uint8_t invlpg[] = { 0x0f, 0x01, 0x3e, 0xf4 }; /* invlpg [rsi]; hlt */
    static const uint8_t invpcid[] = {
        0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00, /* invpcid rsi, [0x2000] */
        0xf4,
    };
    long_mode(t->cpl);
    c->cr4 |= t->cr4;
    c->gpr[6] = t->reg;
    put64(DESC, t->desc_lo);
    put64(DESC + 8, t->desc_hi);
    if (t->invpcid)
        put_code(invpcid, sizeof invpcid);
    else
        put_code(invlpg, sizeof invlpg);

    enum cpu_stop stop = cpu_run(c, 1);
    if (t->vector < 0) {
        ck_assert_msg(stop == CPU_STOP_INSN_LIMIT, "%s: stop %d, exception %d (0x%x)", t->name,
                      stop, c->last_exception, c->last_error);
        ck_assert_uint_eq(c->rip, CODE + (t->invpcid ? sizeof invpcid : sizeof invlpg) - 1);
        return;
    }
    ck_assert_msg(stop == CPU_STOP_EXCEPTION, "%s: stop %d", t->name, stop);
    ck_assert_msg(c->last_exception == t->vector, "%s: vector %d, expected %d", t->name,
                  c->last_exception, t->vector);
    ck_assert_msg(c->last_error == 0, "%s: error 0x%x", t->name, c->last_error);
    ck_assert_uint_eq(c->rip, CODE);
}
END_TEST

START_TEST(invpcid_is_undefined_without_cpuid_bit)
{
    static const uint8_t invpcid[] = {
        0x66, 0x0f, 0x38, 0x82, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00, 0xf4,
    };
    model.leaves[2].ebx &= ~(1u << 10); /* CPUID.(7,0):EBX.INVPCID */
    long_mode(0);
    c->gpr[6] = 2;
    put64(DESC, 0);
    put_code(invpcid, sizeof invpcid);
    ck_assert_int_eq(cpu_run(c, 10), CPU_STOP_EXCEPTION);
    ck_assert_int_eq(c->last_exception, EXC_UD);
}
END_TEST

/* ---- the debugger's walk (src/cpu/debug.c) ------------------------------ */

/* The page's entries and the cycle count and statistics before a debug
 * walk, to show it changed none of them. */
struct debug_snapshot {
    uint8_t tables[0x4000], ept[0x3000];
    uint64_t cycles;
    struct cpu_stats st;
};

static void debug_snap(struct debug_snapshot *s, uint64_t tables, uint64_t ept)
{
    memcpy(s->tables, m->ram + tables, sizeof s->tables);
    memcpy(s->ept, m->ram + ept, sizeof s->ept);
    s->cycles = c->cycles;
    s->st = c->stats;
}

static void debug_unchanged(const struct debug_snapshot *s, uint64_t tables, uint64_t ept,
                            const char *what)
{
    ck_assert_msg(!memcmp(s->tables, m->ram + tables, sizeof s->tables),
                  "%s: the walk changed a paging-structure entry", what);
    ck_assert_msg(!memcmp(s->ept, m->ram + ept, sizeof s->ept),
                  "%s: the walk changed an EPT entry", what);
    ck_assert_msg(c->cycles == s->cycles, "%s: the walk charged %llu cycles", what,
                  (unsigned long long)(c->cycles - s->cycles));
    ck_assert_msg(!memcmp(&s->st, &c->stats, sizeof s->st), "%s: the walk counted", what);
}

/* The same translation as paging_walk, without setting an accessed flag or
 * charging anything; a not-present entry is "not mapped". */
START_TEST(debug_translate_is_the_walk_without_side_effects)
{
    const struct xlate_case *t = &xlate_cases[_i];
    build(t->mode, t->leaf);
    struct debug_snapshot snap;
    debug_snap(&snap, TABLES, 0x400000);
    uint64_t pa = 0;
    ck_assert_msg(cpu_debug_translate(c, lin, &pa), "%s leaf %u: not mapped",
                  mode_name(t->mode), t->leaf);
    ck_assert_msg(pa == expect_pa, "%s leaf %u: pa 0x%llx, expected 0x%llx", mode_name(t->mode),
                  t->leaf, (unsigned long long)pa, (unsigned long long)expect_pa);
    debug_unchanged(&snap, TABLES, 0x400000, mode_name(t->mode));
    ent_write(t->leaf, ent_read(t->leaf) & ~P);
    ck_assert_msg(!cpu_debug_translate(c, lin, &pa), "%s leaf %u: a not-present leaf mapped",
                  mode_name(t->mode), t->leaf);
}
END_TEST

/* Under EPT every guest-physical address of the walk (each table, then the
 * page) goes through EPT: here EPT swaps each pair of 2-MByte pages of the
 * first 16 MiB (GPA x -> HPA x ^ 2 MiB), with accessed/dirty flags enabled,
 * and the guest's tables live at their host-physical place only. SDM 3C
 * "EPT Translation Mechanism". */
START_TEST(debug_translate_goes_through_ept)
{
    const struct xlate_case *t = &xlate_cases[_i];
    const uint64_t swap = 0x200000, ept = 0x400000;
    build(t->mode, t->leaf);
    memcpy(m->ram + (TABLES ^ swap), m->ram + TABLES, 0x4000);
    memset(m->ram + TABLES, 0, 0x4000);
    memset(m->ram + ept, 0, 0x3000);
    cpu_write_phys(c, ept, 8, (ept + 0x1000) | EPT_RWX);
    cpu_write_phys(c, ept + 0x1000, 8, (ept + 0x2000) | EPT_RWX);
    for (uint64_t i = 0; i < 8; i++)
        cpu_write_phys(c, ept + 0x2000 + 8 * i, 8,
                       ((i << 21) ^ swap) | EPT_RWX | EPT_PS | ((uint64_t)EPT_MT_WB << EPT_MT_SHIFT));
    c->vmx_nonroot = true;
    c->nr.ept = true;
    c->nr.eptp = ept | (3ull << EPTP_WALK_SHIFT) | EPT_MT_WB | EPTP_AD;
    c->nr.ept_caps = (struct ept_caps){
        .cap = EPT_CAP_BIT(WALK_LENGTH_4) | EPT_CAP_BIT(PDE_2M) | EPT_CAP_BIT(PDPTE_1G) |
               EPT_CAP_BIT(MEMTYPE_WB) | EPT_CAP_BIT(ACCESSED_DIRTY),
        .maxphyaddr = 39 };
    struct debug_snapshot snap;
    debug_snap(&snap, TABLES ^ swap, ept);
    uint64_t pa = 0;
    bool mapped = cpu_debug_translate(c, lin, &pa);
    if (expect_pa >= (16u << 20)) {
        /* the 1-GByte page at 2 GiB: no EPT entry maps it */
        ck_assert_msg(!mapped, "%s leaf %u: mapped outside EPT", mode_name(t->mode), t->leaf);
    } else {
        ck_assert_msg(mapped, "%s leaf %u: not mapped", mode_name(t->mode), t->leaf);
        ck_assert_msg(pa == (expect_pa ^ swap), "%s leaf %u: hpa 0x%llx, expected 0x%llx",
                      mode_name(t->mode), t->leaf, (unsigned long long)pa,
                      (unsigned long long)(expect_pa ^ swap));
    }
    debug_unchanged(&snap, TABLES ^ swap, ept, mode_name(t->mode));
    /* an EPT entry not present: the same address is not mapped */
    cpu_write_phys(c, ept + 0x2000 + 8 * ((TABLES >> 21) & 7), 8, 0);
    ck_assert(!cpu_debug_translate(c, lin, &pa));
}
END_TEST

static Suite *paging_suite(void)
{
    Suite *s = suite_create("paging");
    TCase *tc = tcase_create("translation");
    tcase_add_checked_fixture(tc, setup, teardown);
    int nx = (int)(sizeof xlate_cases / sizeof xlate_cases[0]);
    tcase_add_loop_test(tc, translates_each_mode_and_page_size, 0, nx);
    tcase_add_loop_test(tc, walk_charges_one_cost_per_memory_reference, 0, nx);
    tcase_add_test(tc, paging_off_is_identity_below_4g);
    tcase_add_test(tc, pse_off_ignores_pde_ps);
    tcase_add_test(tc, pse36_high_address_bits);
    suite_add_tcase(s, tc);

    tc = tcase_create("debug_translate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, debug_translate_is_the_walk_without_side_effects, 0, nx);
    tcase_add_loop_test(tc, debug_translate_goes_through_ept, 0, nx);
    suite_add_tcase(s, tc);

    tc = tcase_create("accessed_dirty");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, read_sets_accessed_on_every_level_and_no_dirty, 0, nx);
    tcase_add_loop_test(tc, write_sets_dirty_only_in_the_final_entry, 0, nx);
    tcase_add_loop_test(tc, faulting_walk_leaves_accessed_flags_clear, 0, nx);
    tcase_add_loop_test(tc, peek_sets_no_flag_and_charges_nothing, 0, nx);
    suite_add_tcase(s, tc);

    tc = tcase_create("access_rights");
    tcase_add_checked_fixture(tc, setup, teardown);
    int npf = (int)(sizeof pf_cases / sizeof pf_cases[0]);
    tcase_add_loop_test(tc, access_rights_and_error_code, 0, npf);
    tcase_add_loop_test(tc, translate_nofault_matches_walk, 0, npf);
    tcase_add_test(tc, tlb_not_allowed_when_smap_depends_on_ac);
    suite_add_tcase(s, tc);

    tc = tcase_create("reserved_bits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, reserved_bits_follow_maxphyaddr, 0,
                        (int)(sizeof maxphy_values / sizeof maxphy_values[0]));
    tcase_add_test(tc, maxphyaddr_defaults_to_39_without_model);
    tcase_add_loop_test(tc, address_widths_from_leaf_80000008, 0,
                        sizeof width_cases / sizeof width_cases[0]);
    tcase_add_test(tc, pdpte_ps_is_reserved_without_1g_pages);
    tcase_add_loop_test(tc, load_pdptes_checks_reserved_bits, 0,
                        (int)(sizeof pdpte_cases / sizeof pdpte_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("tlb_instructions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, run_page_fault_reports_error_code_and_address);
    tcase_add_loop_test(tc, tlb_instruction_drops_stale_translation, 0,
                        (int)(sizeof flush_cases / sizeof flush_cases[0]));
    tcase_add_loop_test(tc, tlb_instruction_faults, 0,
                        (int)(sizeof tlb_fault_cases / sizeof tlb_fault_cases[0]));
    tcase_add_test(tc, invpcid_is_undefined_without_cpuid_bit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run_suite(paging_suite());
}
