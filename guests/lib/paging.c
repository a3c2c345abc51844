/* Guest runtime: walking and extending the boot page tables. Identity
 * mapping below 4 GiB makes table addresses usable as pointers. */
#include "paging.h"

#include "report.h"
#include "rtstring.h"
#include "x86.h"

#define POOL_PAGES 32

static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static unsigned pool_used;

static unsigned index_of(uint64_t lin, unsigned level)
{
    return (lin >> (12 + 9 * (level - 1))) & 511;
}

uint64_t *pg_entry(uint64_t lin, unsigned level)
{
    uint64_t *table = (uint64_t *)(read_cr3() & PTE_ADDR);

    for (unsigned l = 4;; l--) {
        uint64_t *e = &table[index_of(lin, l)];
        if (l == level)
            return e;
        if (!(*e & PTE_P) || (l <= 3 && (*e & PTE_PS)))
            return 0;
        table = (uint64_t *)(*e & PTE_ADDR);
    }
}

uint64_t *pg_map(uint64_t lin, uint64_t pa, uint64_t flags)
{
    uint64_t *table = (uint64_t *)(read_cr3() & PTE_ADDR);

    for (unsigned l = 4; l > 1; l--) {
        uint64_t *e = &table[index_of(lin, l)];
        if (!(*e & PTE_P)) {
            if (pool_used == POOL_PAGES) {
                report_fail("pg_map", "page-table pool exhausted at %#lx", lin);
                return 0;
            }
            uint8_t *page = pool[pool_used++];
            memset(page, 0, 4096);
            *e = (uint64_t)page | PTE_P | PTE_W | PTE_U;
        } else if (l <= 3 && (*e & PTE_PS)) {
            report_fail("pg_map", "%#lx lies in a large page", lin);
            return 0;
        }
        table = (uint64_t *)(*e & PTE_ADDR);
    }
    uint64_t *pte = &table[index_of(lin, 1)];
    *pte = (pa & PTE_ADDR) | flags;
    invlpg(lin);
    return pte;
}

void pg_update(uint64_t lin, uint64_t set, uint64_t clear)
{
    uint64_t *e = pg_entry(lin, 1);

    if (!e) {
        e = pg_entry(lin, 2);
        if (!e || !(*e & PTE_PS)) {
            report_fail("pg_update", "%#lx is not mapped", lin);
            return;
        }
    }
    *e = (*e & ~clear) | set;
    invlpg(lin);
}
