/* Guest runtime: EPT paging structures from a page pool (ept.h). An entry
 * that is all zero is empty; any other entry of level 4, or of level 3/2
 * without EPT_PS, references a table whatever its permissions, so tests may
 * clear permissions of a table entry and restore them later. */
#include "ept.h"

#include "report.h"
#include "rtstring.h"

static uint8_t default_pool[EPT_POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t *pool_base = &default_pool[0][0];
static unsigned pool_pages = EPT_POOL_PAGES, pool_next;
static uint64_t auto_sizes = EPT_LEAF_4K;

void ept_pool_init(void *base, size_t bytes)
{
    uint64_t b = ((uint64_t)base + 4095) & ~4095ull;
    uint64_t end = (uint64_t)base + bytes;

    pool_base = (uint8_t *)b;
    pool_pages = end > b ? (unsigned)((end - b) / 4096) : 0;
    pool_next = 0;
}

void *ept_page_alloc(void)
{
    uint8_t *p;

    if (pool_next >= pool_pages) {
        report_fail("ept_page_alloc", "EPT page pool of %u pages exhausted", pool_pages);
        return 0;
    }
    p = pool_base + 4096ull * pool_next++;
    memset(p, 0, 4096);
    return p;
}

unsigned ept_pool_used(void)
{
    return pool_next;
}

/* SDM 3C Appendix A.10: bit 16 = 2-MByte pages, bit 17 = 1-GByte pages */
void ept_use_caps(uint64_t cap)
{
    auto_sizes = EPT_LEAF_4K;
    if (cap & (1ull << 16))
        auto_sizes |= EPT_LEAF_2M;
    if (cap & (1ull << 17))
        auto_sizes |= EPT_LEAF_1G;
}

bool ept_init(struct ept *e)
{
    e->pml4 = ept_page_alloc();
    return e->pml4 != 0;
}

uint64_t ept_eptp(const struct ept *e, bool ad)
{
    return (uint64_t)e->pml4 | EPTP_MT(EPT_MT_WB) | EPTP_WALK(4) | (ad ? EPTP_AD : 0);
}

/* SDM 3C "EPT Translation Mechanism": bits 47:39 index the PML4, 38:30 the
 * PDPT, 29:21 the PD, 20:12 the PT. */
static unsigned ept_index(uint64_t gpa, unsigned level)
{
    return (unsigned)(gpa >> (12 + 9 * (level - 1))) & 511;
}

static uint64_t level_size(unsigned level)
{
    return 1ull << (12 + 9 * (level - 1));
}

static bool is_leaf(uint64_t ent, unsigned level)
{
    return level == 1 || (level <= 3 && (ent & EPT_PS));
}

static uint64_t *table_of(uint64_t ent)
{
    return (uint64_t *)(ent & EPT_ADDR);
}

/* Replace the large leaf *ent (level 3 or 2) by a table of 512 leaves of
 * the level below with the same attributes. */
static bool split(uint64_t *ent, unsigned level)
{
    uint64_t *t = ept_page_alloc();
    uint64_t child = level_size(level - 1);
    uint64_t base = *ent & EPT_ADDR & ~(level_size(level) - 1);
    uint64_t attrs = *ent & ~EPT_ADDR & ~EPT_PS;

    if (!t)
        return false;
    if (level - 1 > 1)
        attrs |= EPT_PS;
    for (unsigned i = 0; i < 512; i++)
        t[i] = (base + i * child) | attrs;
    *ent = (uint64_t)t | EPT_RWX;
    return true;
}

static bool map_one(struct ept *e, uint64_t gpa, uint64_t hpa, unsigned leaf_level,
                    uint64_t flags)
{
    uint64_t *table = e->pml4;

    for (unsigned l = 4; l > leaf_level; l--) {
        uint64_t *ent = &table[ept_index(gpa, l)];
        if (*ent == 0) {
            uint64_t *t = ept_page_alloc();
            if (!t)
                return false;
            *ent = (uint64_t)t | EPT_RWX;
        } else if (is_leaf(*ent, l) && !split(ent, l)) {
            return false;
        }
        table = table_of(*ent);
    }
    flags &= ~EPT_ADDR & ~EPT_PS;
    table[ept_index(gpa, leaf_level)] = hpa | flags | (leaf_level > 1 ? EPT_PS : 0);
    return true;
}

static unsigned level_of_size(uint64_t size)
{
    return size == EPT_LEAF_1G ? 3 : size == EPT_LEAF_2M ? 2 : 1;
}

bool ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t leaf_size,
             uint64_t flags)
{
    if (leaf_size != EPT_LEAF_AUTO && leaf_size != EPT_LEAF_4K && leaf_size != EPT_LEAF_2M &&
        leaf_size != EPT_LEAF_1G) {
        report_fail("ept_map", "leaf size %#lx is not 4K, 2M or 1G", leaf_size);
        return false;
    }
    uint64_t align = leaf_size ? leaf_size : EPT_LEAF_4K;
    if ((gpa | hpa | size) & (align - 1)) {
        report_fail("ept_map", "gpa %#lx hpa %#lx size %#lx not aligned to %#lx", gpa, hpa,
                    size, align);
        return false;
    }
    for (uint64_t off = 0; off < size;) {
        uint64_t ls = leaf_size;
        if (ls == EPT_LEAF_AUTO) {
            ls = EPT_LEAF_4K;
            for (uint64_t s = EPT_LEAF_1G; s > EPT_LEAF_4K; s >>= 9)
                if ((auto_sizes & s) && !((gpa + off) & (s - 1)) && !((hpa + off) & (s - 1)) &&
                    size - off >= s) {
                    ls = s;
                    break;
                }
        }
        if (!map_one(e, gpa + off, hpa + off, level_of_size(ls), flags))
            return false;
        off += ls;
    }
    return true;
}

uint64_t *ept_entry(const struct ept *e, uint64_t gpa, unsigned level)
{
    uint64_t *table = e->pml4;

    for (unsigned l = 4;; l--) {
        uint64_t *ent = &table[ept_index(gpa, l)];
        if (l == level)
            return ent;
        if (*ent == 0 || is_leaf(*ent, l))
            return 0;
        table = table_of(*ent);
    }
}

uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, unsigned *level)
{
    uint64_t *table = e->pml4;

    for (unsigned l = 4;; l--) {
        uint64_t *ent = &table[ept_index(gpa, l)];
        if (*ent == 0 || is_leaf(*ent, l)) {
            *level = l;
            return ent;
        }
        table = table_of(*ent);
    }
}

uint64_t ept_translate(const struct ept *e, uint64_t gpa)
{
    unsigned level;
    uint64_t *ent = ept_leaf(e, gpa, &level);

    if (*ent == 0 || !is_leaf(*ent, level))
        return ~0ull;
    return (*ent & EPT_ADDR & ~(level_size(level) - 1)) + (gpa & (level_size(level) - 1));
}

/* entry = (entry & ~clear) | set for the leaves of [gpa, gpa + size), splitting large leaves that
 * stick out of the range. */
static bool for_each_leaf(struct ept *e, uint64_t gpa, uint64_t size, uint64_t set,
                          uint64_t clear)
{
    uint64_t end = (gpa + size + 4095) & ~4095ull;

    gpa &= ~4095ull;
    while (gpa < end) {
        unsigned level;
        uint64_t *ent = ept_leaf(e, gpa, &level);
        uint64_t ls = level_size(level);
        if (*ent == 0) {
            gpa = (gpa | (ls - 1)) + 1;
            continue;
        }
        if ((gpa & (ls - 1)) || end - gpa < ls) {
            if (!split(ent, level))
                return false;
            continue;
        }
        *ent = (*ent & ~clear) | set;
        gpa += ls;
    }
    return true;
}

bool ept_protect(struct ept *e, uint64_t gpa, uint64_t size, uint64_t set, uint64_t clear)
{
    return for_each_leaf(e, gpa, size, set, clear);
}

bool ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
    return for_each_leaf(e, gpa, size, 0, ~0ull);
}

void ept_clear_ad(struct ept *e, uint64_t gpa, uint64_t size)
{
    uint64_t end = gpa + size;

    gpa &= ~4095ull;
    while (gpa < end) {
        uint64_t *table = e->pml4;
        unsigned l;
        for (l = 4;; l--) {
            uint64_t *ent = &table[ept_index(gpa, l)];
            if (*ent == 0)
                break;
            *ent &= ~(EPT_A | EPT_D);
            if (is_leaf(*ent, l))
                break;
            table = table_of(*ent);
        }
        gpa = (gpa | (level_size(l) - 1)) + 1;
    }
}
