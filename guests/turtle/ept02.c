/* The shadow EPT of the guest's guest (ept02.h): 4-level tables from a
 * pool in the turtle's image, filled one 4-KByte leaf per EPT violation of
 * vmcs02 with what ept02_compose() (src/ept/compose.c) makes of EPT12 and
 * EPT01 (SDM 3C "The Extended Page Table Mechanism (EPT)"). The tables
 * cache one EPTP12 at a time; the pool running out, an INVEPT of the
 * guest or another EPTP12 empties them. */
#include "ept02.h"

#include "nvmx/ept_compose.h"
#include "rtstring.h"

#define EPT02_POOL_PAGES 256
#define ADDR_MASK 0x000ffffffffff000ull

static uint64_t pool[EPT02_POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pool_used; /* page 0 is the PML4 */
static struct ept_caps caps12, caps01;
static uint64_t eptp01, eptp02, tag = ~0ull; /* tag: the EPTP12 cached */
static uint64_t ram_lo, ram_hi, img_lo, img_hi;

void ept02_setup(uint64_t cap12, uint64_t cap01, unsigned maxphyaddr, uint64_t eptp01_,
                 uint64_t ram_lo_, uint64_t ram_hi_, uint64_t img_lo_, uint64_t img_hi_)
{
    caps12 = (struct ept_caps){.cap = cap12, .maxphyaddr = maxphyaddr};
    caps01 = (struct ept_caps){.cap = cap01, .maxphyaddr = maxphyaddr};
    eptp01 = eptp01_;
    ram_lo = ram_lo_, ram_hi = ram_hi_, img_lo = img_lo_, img_hi = img_hi_;
    /* SDM 3C "Extended-Page-Table Pointer (EPTP)": the tables' memory type
     * (write-back when the processor allows it), a 4-level walk, no
     * accessed and dirty flags. */
    uint64_t mt = (cap01 & EPT_CAP_BIT(MEMTYPE_WB)) ? EPT_MT_WB : EPT_MT_UC;
    eptp02 = (uint64_t)(uintptr_t)pool[0] | mt | (3ull << EPTP_WALK_SHIFT);
    ept02_flush();
}

const char *ept02_eptp12_check(uint64_t eptp12)
{
    return ept_eptp_check(&caps12, eptp12);
}

void ept02_flush(void)
{
    memset(pool[0], 0, sizeof(pool[0]));
    pool_used = 1;
}

uint64_t ept02_eptp(uint64_t eptp12, bool *flushed)
{
    *flushed = false;
    if (eptp12 != tag) {
        *flushed = pool_used > 1;
        ept02_flush();
        tag = eptp12;
    }
    return eptp02;
}

static uint64_t *table_alloc(void)
{
    if (pool_used == EPT02_POOL_PAGES)
        return 0;
    uint64_t *t = pool[pool_used++];
    memset(t, 0, sizeof(pool[0]));
    return t;
}

/* The 4-KByte leaf for gpa; false if the pool is empty. Tables point on
 * with read/write/execute (the leaf alone decides, SDM 3C "EPT Translation
 * Mechanism": the permissions are the AND over the entries). */
static bool install(uint64_t gpa, uint64_t leaf)
{
    uint64_t *t = pool[0];
    for (unsigned lvl = 3; lvl > 0; lvl--) {
        uint64_t *e = &t[(gpa >> (12 + 9 * lvl)) & 511];
        if (!(*e & EPT_RWX)) {
            uint64_t *n = table_alloc();
            if (!n)
                return false;
            *e = (uint64_t)(uintptr_t)n | EPT_RWX;
        }
        t = (uint64_t *)(uintptr_t)(*e & ADDR_MASK);
    }
    t[(gpa >> 12) & 511] = leaf;
    return true;
}

static bool readable(uint64_t hpa)
{
    return (hpa >= ram_lo && hpa + 8 <= ram_hi) || (hpa >= img_lo && hpa + 8 <= img_hi);
}

/* Host-physical memory below 4 GiB is the turtle's identity map; outside
 * the guest's block and the turtle's image nothing is read (all ones, as
 * ept_read_fn has memory that does not exist). */
static uint64_t read_hpa(void *ctx, uint64_t hpa)
{
    (void)ctx;
    return readable(hpa) ? *(volatile uint64_t *)(uintptr_t)hpa : ~0ull;
}

enum ept02_fault ept02_fault(uint64_t eptp12, uint64_t gpa3, uint64_t qual02, uint64_t *qual,
                             uint64_t *gpa, bool *flushed)
{
    /* SDM 3C Table "Exit Qualification for EPT Violations": bits 2:0 the
     * access, 7 and 8 the linear address, 11:9 its rights (advanced VM-exit
     * information), 12 NMI unblocking due to IRET. The access is replayed
     * on EPT12; bits 5:3 then come from EPT12's entries. */
    struct ept_access acc = {
        .type = (unsigned)(qual02 & 7),
        .linear_valid = (qual02 & EPT_QUAL_LINEAR_VALID) != 0,
        .paging_structure = (qual02 & EPT_QUAL_LINEAR_VALID) && !(qual02 & EPT_QUAL_TRANSLATION),
        .linear_user = (qual02 & EPT_QUAL_LINEAR_USER) != 0,
        .linear_writable = (qual02 & EPT_QUAL_LINEAR_WRITABLE) != 0,
        .linear_xd = (qual02 & EPT_QUAL_LINEAR_XD) != 0,
        .nmi_unblocking = (qual02 & EPT_QUAL_NMI_UNBLOCKING) != 0,
    };
    struct ept02_fill f;

    *flushed = false;
    /* A 4-level EPT02 translates 48 bits; beyond them (MAXPHYADDR > 48)
     * there is nothing the turtle could fill. */
    if (gpa3 >> 48) {
        *gpa = gpa3;
        return EPT02_FAULT_OUTSIDE;
    }
    switch (ept02_compose(&caps12, eptp12, &caps01, eptp01, gpa3, &acc, read_hpa, 0, &f)) {
    case EPT02_L1_VIOLATION: *qual = f.qualification; return EPT02_FAULT_VIOLATION;
    case EPT02_L1_MISCONFIG: return EPT02_FAULT_MISCONFIG;
    case EPT02_L0_FAULT: *gpa = f.l1_gpa; return EPT02_FAULT_OUTSIDE;
    case EPT02_OK: break;
    }
    /* SDM 3C "Accessed and Dirty Flags for EPT": EPT12's flags (only with
     * EPTP12 bit 6, which the turtle does not offer; kept for the day it
     * does). */
    for (unsigned i = 0; i < f.nad; i++)
        if (readable(f.ad[i].hpa))
            *(volatile uint64_t *)(uintptr_t)f.ad[i].hpa |= f.ad[i].bits;
    if (!install(gpa3, f.entry)) {
        ept02_flush();
        *flushed = true;
        if (!install(gpa3, f.entry)) /* cannot fail: an empty pool has room */
            return EPT02_FAULT_OUTSIDE;
    }
    return EPT02_FAULT_FILLED;
}
