/* Translations across VM entries and VM exits without VPIDs (SDM 3C
 * "Virtual Processor Identifiers (VPIDs)": if "enable VPID" is 0, VM
 * entries and VM exits invalidate all linear and combined mappings
 * associated with VPID 0000H, the host's and the guest's alike). The guest
 * shares the host's CR3; page V is mapped by one 4-KiB PTE to page A or B,
 * and whoever changes the PTE executes no INVLPG, so each read after a
 * transition must see the PTE as it is. Under the built-in L0, which runs
 * L1 and L2 under VPIDs of its own, this checks the invalidations L0 owes
 * L1 at the VM entries and exits it emulates. */
#include "paging.h"
#include "report.h"
#include "vmx_common.h"
#include "x86.h"

#define V (PG_TEST_BASE + 0x5000)
#define MARK_A 0xaaaa0001ull
#define MARK_B 0xbbbb0002ull

static uint64_t page_a[512] __attribute__((aligned(4096)));
static uint64_t page_b[512] __attribute__((aligned(4096)));
static uint64_t *pte;
static volatile uint64_t g_seen;

static uint64_t read_v(void) { return *(volatile uint64_t *)V; }

/* The PTE of V to page pa, without INVLPG. */
static void set_pte(uint64_t pa) { *(volatile uint64_t *)pte = (pa & PTE_ADDR) | PTE_P | PTE_W; }

static void guest_read(uint64_t unused)
{
    (void)unused;
    g_seen = read_v();
}

static void guest_read_then_remap(uint64_t pa)
{
    g_seen = read_v();
    set_pte(pa);
}

/* Launch the guest fn(arg) and let it run to its VMCALL. */
static bool run(const char *name, void (*fn)(uint64_t), uint64_t arg)
{
    g_seen = 0;
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, fn, arg))
        return false;
    int r = vmx_test_enter();
    if (r != VMX_OK) {
        report_fail(name, "VM entry failed: result %d error %u", r,
                    r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        return false;
    }
    return check_exit(name, EXIT_VMCALL);
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    (void)mb_magic;
    (void)mb_info;
    vmx_test_start();
    page_a[0] = MARK_A;
    page_b[0] = MARK_B;
    pte = pg_map(V, (uint64_t)page_a, PTE_P | PTE_W);
    if (!pte)
        guest_finish();
    check_eq("host_reads_a", read_v(), MARK_A);
    /* The guest reads A, then maps B: the VM exit invalidates the host's
     * translation of V to A. */
    if (run("guest_remaps_exit", guest_read_then_remap, (uint64_t)page_b)) {
        check_eq("guest_reads_a", g_seen, MARK_A);
        check_eq("exit_invalidates_host_mapping", read_v(), MARK_B);
    }
    /* The guest's translation of V to A is gone at the next VM entry. */
    if (run("guest_reads_exit", guest_read, 0))
        check_eq("entry_invalidates_guest_mapping", g_seen, MARK_B);
    /* The host maps A again; the entry invalidates the guest's V -> B and
     * the exit the host's. */
    set_pte((uint64_t)page_a);
    if (run("guest_reads_again_exit", guest_read, 0)) {
        check_eq("entry_invalidates_guest_mapping_b", g_seen, MARK_A);
        check_eq("exit_invalidates_host_mapping_b", read_v(), MARK_A);
    }
    guest_finish();
}
