/* Guest runtime: 4-level paging helpers over the boot page tables
 * (SDM 3A "4-Level Paging and 5-Level Paging"). boot.S identity-maps
 * 0..4 GiB: the first 2 MiB in 4-KiB pages, the rest in 2-MiB pages, all
 * supervisor and writable; non-leaf entries allow user access. Tests map
 * their own pages above 4 GiB with pg_map(). */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdint.h>

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define PAGE_SIZE 4096ull

/* A free linear range for test mappings (PML4 entry 0, above the identity map). */
#define PG_TEST_BASE 0x100000000ull

/* The paging-structure entry of level 4 (PML4E) .. 1 (PTE) for lin, or 0 if
 * a level above is not present or maps a large page. */
uint64_t *pg_entry(uint64_t lin, unsigned level);

/* Map the 4-KiB page at lin to pa with the given leaf flags, creating
 * missing tables (P|W|U, A=0) from a static pool; flushes lin from the TLB.
 * Returns the PTE, or 0 (after a FAIL line) if lin lies in a large page or
 * the pool is exhausted. */
uint64_t *pg_map(uint64_t lin, uint64_t pa, uint64_t flags);

/* Change the leaf entry (PTE or 2-MiB PDE) of lin, then INVLPG lin. */
void pg_update(uint64_t lin, uint64_t set, uint64_t clear);

#endif
