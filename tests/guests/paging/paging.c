/* Guest test: 4-level paging protections and bookkeeping (SDM 3A "Paging"):
 * accessed/dirty bits, execute-disable, CR0.WP, SMEP, SMAP and INVLPG.
 * Features missing from CPUID are reported as SKIP. */
#include "console.h"
#include "exc.h"
#include "paging.h"
#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define VEC_PF 14

#define L_AD (PG_TEST_BASE + 0x0000)
#define L_NX (PG_TEST_BASE + 0x1000)
#define L_RO (PG_TEST_BASE + 0x2000)
#define L_UCODE (PG_TEST_BASE + 0x3000)
#define L_UDATA (PG_TEST_BASE + 0x4000)
#define L_INV (PG_TEST_BASE + 0x5000)

enum { PG_DATA, PG_CODE, PG_X, PG_Y, NPAGES };
static uint8_t pages[NPAGES][4096] __attribute__((aligned(4096), section(".data")));
#define PA(i) ((uint64_t)pages[i])

static const volatile struct exc_frame *F = &exc_last.f;
static uint64_t op_result;

static void op_read(void *p)
{
    op_result = *(volatile uint64_t *)p;
}

static void op_write(void *p)
{
    *(volatile uint64_t *)p = 0x77;
}

static void op_call(void *p)
{
    op_result = ((uint32_t(*)(void))(uintptr_t)p)();
}

/* vector, error code and CR2 of a #PF; for fetches also the saved RIP */
static void check_pf(const char *name, int got, uint64_t err, uint64_t lin)
{
    char n[96];
    if (!check_eq(name, (uint64_t)got, VEC_PF))
        return;
    fmt_snprintf(n, sizeof(n), "%s.error_code", name);
    check_eq(n, F->error, err);
    fmt_snprintf(n, sizeof(n), "%s.cr2", name);
    check_eq(n, exc_last.cr2, lin);
    if (err & PFEC_I) {
        fmt_snprintf(n, sizeof(n), "%s.rip", name);
        check_eq(n, F->rip, lin);
    }
}

/* The operation completed (no exception) and *result is as expected. Takes
 * a pointer: the value must be read after the operation ran. */
static void check_ok(const char *name, int got, const volatile uint64_t *result, uint64_t expected)
{
    if (!check_eq(name, (uint64_t)got, (uint64_t)-1))
        return;
    char n[96];
    fmt_snprintf(n, sizeof(n), "%s.value", name);
    check_eq(n, *result, expected);
}

/* SDM 3A "Accessed and Dirty Flags": A in every entry used, D in the PTE
 * on a write. The test tables are fresh (A=0) before the first access. */
static void test_accessed_dirty(void)
{
    uint64_t *pte = pg_map(L_AD, PA(PG_DATA), PTE_P | PTE_W);
    if (!pte)
        return;
    uint64_t *pde = pg_entry(L_AD, 2), *pdpte = pg_entry(L_AD, 3);
    check_eq("pg.ad.initially_clear", (*pte | *pde | *pdpte) & (PTE_A | PTE_D), 0);

    pages[PG_DATA][0] = 0x5a;
    check_eq("pg.ad.read_value", *(volatile uint8_t *)L_AD, 0x5a);
    check_eq("pg.ad.read_sets_pte_a", *pte & (PTE_A | PTE_D), PTE_A);
    check_eq("pg.ad.read_sets_pde_a", *pde & PTE_A, PTE_A);
    check_eq("pg.ad.read_sets_pdpte_a", *pdpte & PTE_A, PTE_A);

    *(volatile uint8_t *)(L_AD + 1) = 0xa5;
    check_eq("pg.ad.write_sets_pte_d", *pte & (PTE_A | PTE_D), PTE_A | PTE_D);
    check_eq("pg.ad.write_value", pages[PG_DATA][1], 0xa5);
}

/* mov $imm32, %eax; ret */
static void emit_mov_ret(uint8_t *p, uint32_t imm)
{
    p[0] = 0xb8;
    memcpy(p + 1, &imm, 4);
    p[5] = 0xc3;
}

/* SDM 3A "Page-Fault Exception", I/D flag; "Reserved bits": bit 63 is
 * reserved when EFER.NXE = 0. */
static void test_nx(void)
{
    if (!(cpuid(0x80000000u, 0).eax >= 0x80000001u && (cpuid(0x80000001u, 0).edx & (1u << 20)))) {
        report_skip("pg.nx", "CPUID.80000001H:EDX.NX = 0");
        return;
    }
    emit_mov_ret(pages[PG_CODE], 0x42);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    pg_map(L_NX, PA(PG_CODE), PTE_P | PTE_NX);
    check_pf("pg.nx.fetch", exc_run(op_call, (void *)L_NX), PFEC_P | PFEC_I, L_NX);
    check_ok("pg.nx.read_allowed", exc_run(op_read, (void *)L_NX), &op_result,
             0xc300000042b8ull);
    pg_update(L_NX, 0, PTE_NX);
    check_ok("pg.nx.cleared_fetch", exc_run(op_call, (void *)L_NX), &op_result, 0x42);

    pg_update(L_NX, PTE_NX, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
    check_pf("pg.nx.reserved_without_nxe", exc_run(op_read, (void *)(L_NX + 8)),
             PFEC_P | PFEC_RSVD, L_NX + 8);
    pg_update(L_NX, 0, PTE_NX);
}

/* SDM 3A "Access Rights": CR0.WP and supervisor writes to read-only pages */
static void test_wp(void)
{
    pg_map(L_RO, PA(PG_DATA), PTE_P);
    write_cr0(read_cr0() | CR0_WP);
    check_pf("pg.wp1.supervisor_write", exc_run(op_write, (void *)(L_RO + 16)),
             PFEC_P | PFEC_W, L_RO + 16);
    check_eq("pg.wp1.memory_unchanged", *(uint64_t *)(pages[PG_DATA] + 16), 0);
    write_cr0(read_cr0() & ~CR0_WP);
    check_ok("pg.wp0.supervisor_write", exc_run(op_write, (void *)(L_RO + 16)),
             (uint64_t *)(pages[PG_DATA] + 16), 0x77);
    write_cr0(read_cr0() | CR0_WP);
}

static bool has_leaf7_ebx(unsigned bit)
{
    return cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << bit));
}

/* SDM 3A "Access Rights": SMEP, instruction fetch from a user page at CPL 0 */
static void test_smep(void)
{
    if (!has_leaf7_ebx(7)) {
        report_skip("pg.smep", "CPUID.(EAX=7,ECX=0):EBX.SMEP = 0");
        return;
    }
    emit_mov_ret(pages[PG_CODE], 0x5e);
    pg_map(L_UCODE, PA(PG_CODE), PTE_P | PTE_U);
    write_cr4(read_cr4() | CR4_SMEP);
    check_pf("pg.smep.fetch_user_page", exc_run(op_call, (void *)L_UCODE), PFEC_P | PFEC_I,
             L_UCODE);
    write_cr4(read_cr4() & ~CR4_SMEP);
    check_ok("pg.smep.off_fetch", exc_run(op_call, (void *)L_UCODE), &op_result, 0x5e);
}

/* SDM 3A "Access Rights": SMAP, data access to a user page at CPL 0,
 * allowed when RFLAGS.AC = 1 (set with POPF here, not STAC) */
static void test_smap(void)
{
    if (!has_leaf7_ebx(20)) {
        report_skip("pg.smap", "CPUID.(EAX=7,ECX=0):EBX.SMAP = 0");
        return;
    }
    pg_map(L_UDATA, PA(PG_DATA), PTE_P | PTE_W | PTE_U);
    *(uint64_t *)(pages[PG_DATA] + 24) = 0x3a3a;
    write_cr4(read_cr4() | CR4_SMAP);
    write_rflags(read_rflags() & ~FL_AC);
    check_pf("pg.smap.read_ac0", exc_run(op_read, (void *)(L_UDATA + 24)), PFEC_P, L_UDATA + 24);
    check_pf("pg.smap.write_ac0", exc_run(op_write, (void *)(L_UDATA + 32)), PFEC_P | PFEC_W,
             L_UDATA + 32);
    write_rflags(read_rflags() | FL_AC);
    int r = exc_run(op_read, (void *)(L_UDATA + 24));
    int w = exc_run(op_write, (void *)(L_UDATA + 32));
    write_rflags(read_rflags() & ~FL_AC);
    write_cr4(read_cr4() & ~CR4_SMAP);
    check_ok("pg.smap.read_ac1", r, &op_result, 0x3a3a);
    check_ok("pg.smap.write_ac1", w, (uint64_t *)(pages[PG_DATA] + 32), 0x77);
}

/* SDM 3A "Invalidation of TLBs and Paging-Structure Caches" */
static void test_invlpg(void)
{
    uint64_t *pte = pg_map(L_INV, PA(PG_X), PTE_P | PTE_W);
    if (!pte)
        return;
    *(uint64_t *)pages[PG_X] = 0x1111;
    *(uint64_t *)pages[PG_Y] = 0x2222;
    check_eq("pg.invlpg.first_mapping", *(volatile uint64_t *)L_INV, 0x1111);
    *pte = PA(PG_Y) | PTE_P | PTE_W;
    invlpg(L_INV);
    check_eq("pg.invlpg.new_mapping_visible", *(volatile uint64_t *)L_INV, 0x2222);

    *pte &= ~PTE_P;
    invlpg(L_INV);
    check_pf("pg.invlpg.not_present", exc_run(op_read, (void *)L_INV), 0, L_INV);
    /* "not-present translations are not cached": no INVLPG needed here */
    *pte |= PTE_P;
    check_ok("pg.invlpg.present_again", exc_run(op_read, (void *)L_INV), &op_result, 0x2222);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    test_accessed_dirty();
    test_nx();
    test_wp();
    test_smep();
    test_smap();
    test_invlpg();
}
