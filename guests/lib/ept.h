/* Guest runtime: building EPT paging structures for a guest hypervisor
 * (SDM 3C "EPT Translation Mechanism", "Format of EPT Paging-Structure
 * Entries", "Extended-Page-Table Pointer (EPTP)"). Written from the SDM,
 * independently of the emulator's walker, so that the conformance guests
 * check it.
 *
 * Usage (tables come from a page pool; addresses are host-physical, and the
 * runtime's identity map makes them usable as pointers):
 *
 *     struct ept e;
 *     if (!ept_init(&e)) ...;                                   // empty PML4
 *     ept_map(&e, 0, 0, 1ull << 30, EPT_LEAF_AUTO, EPT_RWX | EPT_MT(EPT_MT_WB));
 *     ept_map(&e, gpa, hpa, 4096, EPT_LEAF_4K, EPT_R | EPT_MT(EPT_MT_WB));
 *     vmwrite(EPT_POINTER, ept_eptp(&e, false));              // WB, 4-level, no A/D
 *     ...
 *     ept_protect(&e, gpa, 4096, EPT_W, 0);                   // make it writable
 *     uint64_t *pte = ept_leaf(&e, gpa, &level);              // read A/D back
 *
 * The library never executes INVEPT: after making a mapping less
 * permissive, or changing its address, the caller invalidates (vmx.h
 * invept()). Making it more permissive after an EPT violation needs no
 * INVEPT (SDM 3C "Operations that Invalidate Cached Mappings": an EPT
 * violation invalidates the mappings of the faulting guest-physical
 * address). */
#ifndef GUEST_EPT_H
#define GUEST_EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* EPT paging-structure entries (SDM 3C "Format of EPT Paging-Structure
 * Entries", Tables 29-1..29-6) */
#define EPT_R (1ull << 0)
#define EPT_W (1ull << 1)
#define EPT_X (1ull << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3 /* leaf: EPT memory type, bits 5:3 */
#define EPT_MT(t) ((uint64_t)(t) << EPT_MT_SHIFT)
#define EPT_MT_MASK (7ull << EPT_MT_SHIFT)
#define EPT_IPAT (1ull << 6)  /* leaf: ignore PAT memory type */
#define EPT_PS (1ull << 7)    /* PDPTE/PDE: the entry maps a 1-GiB/2-MiB page */
#define EPT_A (1ull << 8)     /* accessed, when EPTP bit 6 = 1 */
#define EPT_D (1ull << 9)     /* dirty (leaves only), when EPTP bit 6 = 1 */
#define EPT_UX (1ull << 10)   /* user-mode execute, with mode-based execute control */
#define EPT_SVE (1ull << 63)  /* suppress #VE */
#define EPT_ADDR 0x000ffffffffff000ull

/* Memory types (SDM 3A "Memory Types and Their Properties"; EPT uses the
 * PAT encodings: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB; 2, 3 and 7 are reserved). */
#define EPT_MT_UC 0u
#define EPT_MT_WC 1u
#define EPT_MT_WT 4u
#define EPT_MT_WP 5u
#define EPT_MT_WB 6u

/* EPTP (SDM 3C "Extended-Page-Table Pointer (EPTP)"): bits 2:0 memory type
 * of the paging structures, 5:3 walk length - 1, bit 6 accessed/dirty
 * flags enable, bit 7 supervisor shadow-stack access rights, 11:8
 * reserved, N-1:12 the PML4 address, 63:N reserved. */
#define EPTP_MT(t) ((uint64_t)(t))
#define EPTP_WALK(levels) ((uint64_t)((levels)-1) << 3)
#define EPTP_AD (1ull << 6)
#define EPTP_SSS (1ull << 7)

/* Leaf sizes for ept_map; EPT_LEAF_AUTO takes the largest the alignment of
 * gpa, hpa and the remaining size allow and the CPU supports. */
#define EPT_LEAF_4K (1ull << 12)
#define EPT_LEAF_2M (1ull << 21)
#define EPT_LEAF_1G (1ull << 30)
#define EPT_LEAF_AUTO 0ull
/* Which large leaves EPT_LEAF_AUTO may use: from IA32_VMX_EPT_VPID_CAP
 * bits 16 (2 MiB) and 17 (1 GiB) (SDM 3C Appendix A.10). Until this is
 * called, EPT_LEAF_AUTO uses 4-KiB leaves only. */
void ept_use_caps(uint64_t ept_vpid_cap);

/* The default pool holds EPT_POOL_PAGES pages in the image's BSS;
 * ept_pool_init gives the allocator a caller's 4-KiB-aligned range instead
 * (pages already handed out stay valid). */
#define EPT_POOL_PAGES 256
void ept_pool_init(void *base, size_t bytes);
/* A zeroed 4-KiB page from the pool, or 0 (after a FAIL line) when empty. */
void *ept_page_alloc(void);
unsigned ept_pool_used(void);

struct ept {
    uint64_t *pml4; /* host-physical = pointer */
};

/* An empty PML4 (every entry not present). false when the pool is empty. */
bool ept_init(struct ept *e);

/* Map [gpa, gpa + size) to [hpa, hpa + size) with leaves of leaf_size,
 * each leaf = host address | flags (permissions, EPT_MT(type), EPT_IPAT,
 * EPT_A/EPT_D preset, EPT_SVE; EPT_PS is added for large leaves). Missing
 * tables are created with RWX (and nothing else); an existing large leaf
 * in the way is split into 512 smaller leaves with the same attributes; an
 * existing table where a larger leaf goes is replaced (its pages are not
 * reclaimed). gpa, hpa and size must be aligned to the leaf size. Returns
 * false (after a FAIL line) on misalignment or an empty pool. */
bool ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t leaf_size,
             uint64_t flags);

/* For every leaf mapping the 4-KiB-aligned range: entry = (entry & ~clear) |
 * set. Large leaves partly inside the range are split first. Unmapped
 * parts are skipped. */
bool ept_protect(struct ept *e, uint64_t gpa, uint64_t size, uint64_t set, uint64_t clear);
/* Clear the leaves of the range (not present; splits large leaves). */
bool ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);

/* The entry of level 4 (PML4E), 3 (PDPTE), 2 (PDE) or 1 (PTE) on the walk
 * of gpa, or 0 if the walk ends above that level (an entry with bits 2:0 =
 * 0, or a leaf). Use it to edit non-leaf entries or to plant bad bits. */
uint64_t *ept_entry(const struct ept *e, uint64_t gpa, unsigned level);
/* The leaf that maps gpa, with its level (3: 1 GiB, 2: 2 MiB, 1: 4 KiB),
 * or the first entry whose bits 2:0 are 0 (*level = its level); 0 if a
 * table is missing. Read EPT_A / EPT_D from it. */
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, unsigned *level);
/* gpa translated by the tables (the host-physical address), or ~0 if not
 * mapped. Ignores permissions; no A/D update. */
uint64_t ept_translate(const struct ept *e, uint64_t gpa);
/* Clear EPT_A and EPT_D in every entry on the walk of each page of the
 * range (non-leaf entries too). */
void ept_clear_ad(struct ept *e, uint64_t gpa, uint64_t size);

/* EPTP for these tables: write-back paging structures, 4-level walk, A/D
 * flags enabled if ad. */
uint64_t ept_eptp(const struct ept *e, bool ad);

#endif
