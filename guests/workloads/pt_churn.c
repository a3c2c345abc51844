/* Workload: page-table churn, `count` times: point one test page (above
 * 4 GiB) at the next of 16 data pages by rewriting its PTE, INVLPG it, write
 * through the mapping and read the value back through the identity map
 * (SDM 3A "Invalidation of TLBs and Paging-Structure Caches"). Checks that
 * every write landed in the page the PTE named at that moment. */
#include "paging.h"
#include "report.h"
#include "workload.h"

#define NPAGES 16
#define TEST_LIN (PG_TEST_BASE + 0x200000)

static uint8_t pages[NPAGES][4096] __attribute__((aligned(4096)));

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    uint64_t n = wl_start("pt_churn", mb_magic, mb_info, 1000);
    uint64_t wrong = 0, t0, t1;
    uint64_t *pte = pg_map(TEST_LIN, (uint64_t)pages[0], PTE_P | PTE_W);

    if (!pte)
        return; /* pg_map printed the FAIL */
    t0 = wl_rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        unsigned k = (unsigned)(i % NPAGES);
        *pte = ((uint64_t)pages[k] & PTE_ADDR) | PTE_P | PTE_W;
        __asm__ volatile("invlpg (%0)" : : "r"(TEST_LIN) : "memory");
        *(volatile uint64_t *)(TEST_LIN + 8 * k) = i;
        wrong += *(volatile uint64_t *)(pages[k] + 8 * k) != i;
    }
    t1 = wl_rdtsc();
    wl_timing("pt_churn", n, t1 - t0);
    check_eq("workload.pt_churn.writes_through_new_pte", wrong, 0);
}
