/* The modelled TLB, for cycles only: a first-level data TLB and a shared
 * second-level TLB (STLB) with the sizes and associativity the CPU model's
 * CPUID leaf 2 descriptors give (SDM 2A "CPUID", Table "Encoding of CPUID
 * Leaf 2 Descriptors"), LRU within a set, tagged by the software TLB's
 * context (VPID, EPTP) and flushed with it. The software TLB (tlb.c) is for
 * speed and decides nothing here: on a software-TLB miss, translate() asks
 * this model whether real hardware would have walked. A hit in either level
 * makes the walk free (its guest and EPT references are not charged; an
 * STLB hit costs the tlb_miss class); a miss charges the whole walk, every
 * reference of it, as before. A model without TLB descriptors in leaf 2 has
 * no modelled TLB: every software-TLB miss is charged as a walk. */
#include "cpu_internal.h"

#include <stdlib.h>

/* The descriptors nvmx knows (data and shared TLBs only; instruction TLBs
 * are not modelled: fetches use the data arrays). */
struct tlbm_desc {
    uint8_t code;
    uint8_t level;   /* 1: DTLB, 2: STLB */
    uint8_t shift;   /* page size: 12, 21, 30; 21 in an STLB array also holds 4K */
    uint16_t entries;
    uint8_t ways;    /* 0: fully associative */
};
static const struct tlbm_desc known[] = {
    { 0x03, 1, 12, 64, 4 },   /* Data TLB: 4 KByte pages, 4-way, 64 entries */
    { 0x63, 1, 21, 32, 4 },   /* Data TLB: 2/4 MByte pages, 4-way, 32 entries ... */
    { 0x63, 1, 30, 4, 4 },    /* ... and 1 GByte pages, 4-way, 4 entries */
    { 0xc3, 2, 12, 1536, 6 }, /* STLB: shared 4 KByte and 2 MByte pages, 6-way, 1536 entries ... */
    { 0xc3, 2, 30, 16, 4 },   /* ... and 1 GByte pages, 4-way, 16 entries */
};

#define TLBM_MAX_ARRAYS 8
struct tlbm_way {
    uint64_t tag;   /* 0 = empty */
    uint64_t stamp; /* LRU */
};
struct tlbm_array {
    uint8_t level, shift;
    bool shared_2m; /* an STLB array of 4K and 2M pages */
    unsigned sets, ways;
    unsigned set_mask; /* sets - 1 when sets is a power of two, else 0 */
    struct tlbm_way *w; /* sets * ways */
};
struct tlb_model {
    unsigned n;
    struct tlbm_array a[TLBM_MAX_ARRAYS];
    uint64_t clock;
};

static bool add_array(struct tlb_model *t, const struct tlbm_desc *d)
{
    if (t->n == TLBM_MAX_ARRAYS)
        return true;
    struct tlbm_array *a = &t->a[t->n];
    a->level = d->level;
    a->shift = d->shift;
    a->shared_2m = d->level == 2 && d->shift == 12;
    a->ways = d->ways ? d->ways : d->entries;
    a->sets = d->entries / a->ways;
    a->set_mask = (a->sets & (a->sets - 1)) == 0 ? a->sets - 1 : 0;
    a->w = calloc((size_t)a->sets * a->ways, sizeof *a->w);
    if (!a->w)
        return false;
    t->n++;
    return true;
}

void tlb_model_free(struct cpu *c)
{
    struct tlb_model *t = c->tlbm;
    if (!t)
        return;
    for (unsigned i = 0; i < t->n; i++)
        free(t->a[i].w);
    free(t);
    c->tlbm = NULL;
}

/* SDM 2A "CPUID": leaf 2, AL = 01H; a register with bit 31 set holds no
 * descriptors; the low byte of EAX is not a descriptor. */
bool tlb_model_init(struct cpu *c)
{
    const struct cpuid_leaf *l = NULL;
    if (c->model)
        for (unsigned i = 0; i < c->model->nleaves; i++)
            if (c->model->leaves[i].leaf == 2)
                l = &c->model->leaves[i];
    if (!l)
        return true;
    const uint32_t regs[4] = { l->eax, l->ebx, l->ecx, l->edx };
    struct tlb_model *t = calloc(1, sizeof *t);
    if (!t)
        return false;
    c->tlbm = t;
    for (unsigned r = 0; r < 4; r++) {
        if (regs[r] >> 31)
            continue;
        for (unsigned b = r == 0 ? 1 : 0; b < 4; b++) {
            uint8_t code = (uint8_t)(regs[r] >> (8 * b));
            for (unsigned k = 0; k < sizeof known / sizeof known[0]; k++)
                if (known[k].code == code && !add_array(t, &known[k]))
                    return false;
        }
    }
    if (!t->n)
        tlb_model_free(c); /* no TLB descriptors: no modelled TLB */
    return true;
}

/* Tag: context slot and its flush generation, page number, page size. */
static uint64_t slot_tag(const struct cpu *c, unsigned slot, uint64_t lin, unsigned shift)
{
    uint64_t ctx = ((uint64_t)slot << 8) | (c->tlb_ctx[slot].gen & 0xff);
    return (((lin >> shift) << 2 | (shift == 12 ? 0 : shift == 21 ? 1 : 2)) << 12 | ctx) + 1;
}

static uint64_t make_tag(const struct cpu *c, uint64_t lin, unsigned shift)
{
    return slot_tag(c, c->tlb_cur, lin, shift);
}

static unsigned set_of(const struct tlbm_array *a, uint64_t page)
{
    return a->set_mask || a->sets == 1 ? (unsigned)(page & a->set_mask) : (unsigned)(page % a->sets);
}

static bool probe(struct tlb_model *t, struct tlbm_array *a, uint64_t tag, uint64_t page)
{
    struct tlbm_way *way = &a->w[set_of(a, page) * a->ways];
    for (unsigned w = 0; w < a->ways; w++)
        if (way[w].tag == tag) {
            way[w].stamp = ++t->clock;
            return true;
        }
    return false;
}

static void fill(struct tlb_model *t, struct tlbm_array *a, uint64_t tag, uint64_t page)
{
    struct tlbm_way *way = &a->w[set_of(a, page) * a->ways];
    unsigned victim = 0;
    for (unsigned w = 0; w < a->ways; w++) {
        if (way[w].tag == tag)
            return;
        if (way[w].stamp < way[victim].stamp)
            victim = w;
    }
    way[victim].tag = tag;
    way[victim].stamp = ++t->clock;
}

/* The arrays an access of page size shift (or any size, shift = 0) lives in. */
static bool array_holds(const struct tlbm_array *a, unsigned shift)
{
    return a->shift == shift || (a->shared_2m && shift == 21);
}

unsigned tlb_model_lookup(struct cpu *c, uint64_t lin)
{
    struct tlb_model *t = c->tlbm;
    static const unsigned shifts[3] = { 12, 21, 30 };
    for (unsigned level = 1; level <= 2; level++)
        for (unsigned i = 0; i < t->n; i++) {
            struct tlbm_array *a = &t->a[i];
            if (a->level != level)
                continue;
            for (unsigned s = 0; s < 3; s++)
                if (array_holds(a, shifts[s]) && probe(t, a, make_tag(c, lin, shifts[s]), lin >> shifts[s]))
                    return level;
        }
    return 0;
}

void tlb_model_fill(struct cpu *c, uint64_t lin, uint64_t page_size)
{
    struct tlb_model *t = c->tlbm;
    unsigned shift = page_size >= (1ull << 30) ? 30 : page_size >= (1ull << 21) ? 21 : 12;
    /* a 4-MByte page (32-bit paging) is held as a 2-MByte one */
    for (unsigned i = 0; i < t->n; i++)
        if (array_holds(&t->a[i], shift))
            fill(t, &t->a[i], make_tag(c, lin, shift), lin >> shift);
}

/* INVLPG and its relatives: the entries of context slot that translate
 * lin, whatever their page size. */
void tlb_model_drop_page(struct cpu *c, unsigned slot, uint64_t lin)
{
    struct tlb_model *t = c->tlbm;
    static const unsigned shifts[3] = { 12, 21, 30 };
    for (unsigned i = 0; i < t->n; i++)
        for (unsigned s = 0; s < 3; s++) {
            struct tlbm_array *a = &t->a[i];
            if (!array_holds(a, shifts[s]))
                continue;
            uint64_t tag = slot_tag(c, slot, lin, shifts[s]);
            struct tlbm_way *way = &a->w[set_of(a, lin >> shifts[s]) * a->ways];
            for (unsigned w = 0; w < a->ways; w++)
                if (way[w].tag == tag)
                    way[w].tag = 0;
        }
}
