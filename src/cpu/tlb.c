/* The software TLB's contexts and its invalidation. The software TLB caches
 * linear -> host-pointer translations (linear mappings, or combined
 * mappings under EPT) for speed; SDM 3C "Caching Translation Information"
 * lets a processor keep the mappings of several VPIDs and EP4TAs at once,
 * so nvmx keeps one direct-mapped set per (VPID, EPTP) context, up to
 * TLB_CONTEXTS of them, and switching contexts (VM entry and VM exit with
 * VPIDs) moves three pointers. Dropping a context's entries is always
 * allowed (a TLB may forget anything); keeping them is allowed only where
 * the SDM says translations survive, so every invalidation the SDM
 * requires clears at least the mappings it names. PCIDs are not tagged: a
 * MOV to CR3 flushes the current context, which the PCID rules allow. */
#include "psc.h"

_Static_assert(sizeof(struct tlb_set) / sizeof(struct tlb_entry) <= UINT16_MAX,
               "a fill-log index is 16 bits");

static void point_at(struct cpu *c, unsigned k)
{
    struct tlb_set *s = &c->tlb_sets[k];
    c->tlb_ctx[c->tlb_cur].has_large = c->tlb_has_large;
    c->tlb_has_large = c->tlb_ctx[k].has_large;
    c->tlb_cur = k;
    c->tlb_r = s->r;
    c->tlb_w = s->w;
    c->tlb_x = s->x;
    cpu_alignment_update(c);
}

/* Anything that caches lin -> block (the jump cache, block links) is tagged
 * by tlb_gen: a new context or a flush changes what a linear address means. */
static void mappings_changed(struct cpu *c)
{
    c->tlb_gen++;
    c->recheck = true;
}

/* Clear set k: the entries its fill log names, or all of them when the log
 * overflowed. A flush per VM transition (no VPID) then costs a few stores
 * instead of clearing the whole set. */
static void clear_set(struct cpu *c, unsigned k)
{
    struct tlb_context *x = &c->tlb_ctx[k];
    if (x->nfilled > TLB_FILL_LOG) {
        memset(&c->tlb_sets[k], 0, sizeof c->tlb_sets[k]);
    } else {
        struct tlb_entry *all = &c->tlb_sets[k].r[0][0];
        for (unsigned n = 0; n < x->nfilled; n++)
            all[x->filled[n]].tag = 0;
    }
    x->nfilled = 0;
    c->tlb_ctx[k].has_large = false;
    c->tlb_ctx[k].stale = false;
    c->tlb_ctx[k].gen++; /* the modelled TLB's entries of the context die too */
    if (k == c->tlb_cur)
        c->tlb_has_large = false;
    c->stats.tlb_flushes++;
    mappings_changed(c);
}

void cpu_tlb_reset(struct cpu *c)
{
    memset(c->tlb_sets, 0, sizeof c->tlb_sets);
    for (unsigned k = 0; k < TLB_CONTEXTS; k++) {
        uint32_t gen = c->tlb_ctx[k].gen + 1;
        c->tlb_ctx[k] = (struct tlb_context){ .gen = gen };
    }
    c->tlb_clock = 1;
    c->tlb_ctx[0].used = c->tlb_clock;
    c->tlb_has_large = false;
    c->stats.tlb_flushes++;
    point_at(c, 0);
    mappings_changed(c);
    if (c->psc)
        psc_ept_drop_ep4ta(c, true, 0); /* the linear entries died with the generations */
}

/* MOV to CR3, INVLPG, INVPCID and the CR0/CR4 paging bits act on the
 * current VPID (SDM 3C "Caching Translation Information"): every context of
 * that VPID is flushed, whatever its EPTP (more than the combined mappings
 * of the current EP4TA the SDM names, which it allows). */
void cpu_tlb_flush(struct cpu *c)
{
    cpu_tlb_flush_vpid(c, c->tlb_ctx[c->tlb_cur].vpid);
}

void cpu_tlb_flush_page(struct cpu *c, uint64_t lin)
{
    cpu_tlb_flush_vpid_page(c, c->tlb_ctx[c->tlb_cur].vpid, lin);
}

static bool same_context(const struct tlb_context *x, uint16_t vpid, bool ept, uint64_t eptp)
{
    return x->used && x->vpid == vpid && x->ept == ept && (!ept || x->eptp == eptp);
}

void cpu_tlb_switch(struct cpu *c, uint16_t vpid, bool ept, uint64_t eptp)
{
    unsigned victim = 0;
    c->tlb_clock++;
    for (unsigned k = 0; k < TLB_CONTEXTS; k++) {
        struct tlb_context *x = &c->tlb_ctx[k];
        if (same_context(x, vpid, ept, eptp)) {
            x->used = c->tlb_clock;
            if (x->stale)
                clear_set(c, k);
            if (k != c->tlb_cur) {
                point_at(c, k);
                mappings_changed(c);
            }
            return;
        }
        if (x->used < c->tlb_ctx[victim].used)
            victim = k;
    }
    /* A new context takes the least recently used set (a free one first). */
    if (c->tlb_ctx[victim].used)
        clear_set(c, victim);
    c->tlb_ctx[victim] = (struct tlb_context){ .vpid = vpid, .ept = ept, .eptp = ept ? eptp : 0,
                                               .used = c->tlb_clock, .gen = c->tlb_ctx[victim].gen + 1 };
    point_at(c, victim);
    mappings_changed(c);
}

/* Drop every context matching: a dropped context's set is cleared and the
 * context stays (same key, empty set), so the current one stays current. */
static void flush_matching(struct cpu *c, bool (*match)(const struct tlb_context *, uint64_t),
                           uint64_t arg)
{
    for (unsigned k = 0; k < TLB_CONTEXTS; k++)
        if (c->tlb_ctx[k].used && match(&c->tlb_ctx[k], arg))
            clear_set(c, k);
}

static bool match_vpid(const struct tlb_context *x, uint64_t vpid) { return x->vpid == vpid; }
static bool match_not_vpid0(const struct tlb_context *x, uint64_t unused)
{
    (void)unused;
    return x->vpid != 0;
}
/* EP4TA: EPTP bits 51:12 (SDM 3C "Caching Translation Information") */
static bool match_ep4ta(const struct tlb_context *x, uint64_t ep4ta)
{
    return x->ept && (x->eptp & 0x000ffffffffff000ull) == ep4ta;
}
static bool match_ept(const struct tlb_context *x, uint64_t unused)
{
    (void)unused;
    return x->ept;
}

void cpu_tlb_flush_vpid(struct cpu *c, uint16_t vpid) { flush_matching(c, match_vpid, vpid); }
/* The contexts of vpid are invalid from now on; each is cleared when it is
 * next switched to (none is used before: callers switch right after). */
void cpu_tlb_invalidate_vpid_lazily(struct cpu *c, uint16_t vpid)
{
    for (unsigned k = 0; k < TLB_CONTEXTS; k++)
        if (c->tlb_ctx[k].used && c->tlb_ctx[k].vpid == vpid)
            c->tlb_ctx[k].stale = true;
}
void cpu_tlb_flush_vpids_but_0(struct cpu *c) { flush_matching(c, match_not_vpid0, 0); }
/* INVEPT also invalidates the guest-physical mappings: the modelled EPT
 * paging-structure caches (SDM 3C "INVEPT -- Invalidate Translations
 * Derived from EPT"). */
void cpu_tlb_flush_ept(struct cpu *c, uint64_t ep4ta)
{
    flush_matching(c, match_ep4ta, ep4ta & 0x000ffffffffff000ull);
    if (c->psc)
        psc_ept_drop_ep4ta(c, false, ep4ta);
}
void cpu_tlb_flush_all_ept(struct cpu *c)
{
    flush_matching(c, match_ept, 0);
    if (c->psc)
        psc_ept_drop_ep4ta(c, true, 0);
}

void cpu_tlb_flush_vpid_page(struct cpu *c, uint16_t vpid, uint64_t lin)
{
    unsigned i = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
    uint64_t tag = (lin >> 12) + 1;
    for (unsigned k = 0; k < TLB_CONTEXTS; k++) {
        if (!c->tlb_ctx[k].used || c->tlb_ctx[k].vpid != vpid)
            continue;
        /* SDM 3A "Invalidation of TLBs and Paging-Structure Caches": INVLPG
         * of any address in a large page invalidates the whole page; the
         * software TLB holds large pages as 4K pieces, so a context that
         * cached a large page is dropped whole. */
        bool large = k == c->tlb_cur ? c->tlb_has_large : c->tlb_ctx[k].has_large;
        if (large) {
            clear_set(c, k);
            continue;
        }
        /* SDM 3A "Operations that Invalidate TLBs and Paging-Structure
         * Caches": INVLPG (and INVPCID and INVVPID of one address)
         * invalidate every paging-structure-cache entry of the PCID and
         * the modelled TLB's entries of the page */
        if (c->psc)
            psc_linear_drop_context(c, k);
        if (c->tlbm)
            tlb_model_drop_page(c, k, lin);
        struct tlb_set *s = &c->tlb_sets[k];
        for (int u = 0; u < 2; u++) {
            if (s->r[u][i].tag == tag)
                s->r[u][i].tag = 0;
            if (s->w[u][i].tag == tag)
                s->w[u][i].tag = 0;
            if (s->x[u][i].tag == tag)
                s->x[u][i].tag = 0;
        }
        mappings_changed(c);
    }
}

bool cpu_tlb_holds(const struct cpu *c, uint16_t vpid, bool ept, uint64_t eptp, uint64_t lin)
{
    for (unsigned k = 0; k < TLB_CONTEXTS; k++)
        if (same_context(&c->tlb_ctx[k], vpid, ept, eptp) && !c->tlb_ctx[k].stale)
            return c->tlb_sets[k].r[0][(lin >> 12) & (TLB_SIZE - 1)].tag == (lin >> 12) + 1;
    return false;
}

/* A page became code: no write may bypass the slow path into it any more,
 * in any context. */
void mem_forget_write_mappings(struct cpu *c, uint64_t pfn);
void mem_forget_write_mappings(struct cpu *c, uint64_t pfn)
{
    const uint8_t *page = c->m->ram + (pfn << 12);
    for (unsigned k = 0; k < TLB_CONTEXTS; k++)
        for (int u = 0; u < 2; u++)
            for (unsigned i = 0; i < TLB_SIZE; i++) {
                struct tlb_entry *e = &c->tlb_sets[k].w[u][i];
                if (e->tag && (const uint8_t *)(((e->tag - 1) << 12) + e->addend) == page)
                    e->tag = 0;
            }
}
