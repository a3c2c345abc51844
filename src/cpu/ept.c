/* Two-dimensional translation (SDM 3C "EPT Overview", "Guest-Physical
 * Addresses"): in VMX non-root operation with "enable EPT", every
 * guest-physical address the CPU uses -- guest paging-structure entries,
 * the PAE PDPTEs, and the translation of a linear address -- goes through
 * the EPT walker (src/ept). Each entry it reads is charged as one memory
 * reference; its accessed/dirty updates are applied here; a violation or a
 * misconfiguration becomes a VM exit through the ept_fault hook. */
#include "psc.h"

#include "nvmx/cpu_hooks.h"

/* EPT entries live in host-physical RAM; anything else reads as all ones
 * (which a walk reports as a misconfiguration: reserved bits set). */
static uint64_t ept_read_entry(void *ctx, uint64_t hpa)
{
    struct cpu *c = ctx;
    const uint8_t *p = machine_ram_ptr(c->m, hpa, 8);
    if (!p)
        return ~0ull;
    return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

/* SDM 3C "Accessed and Dirty Flags for EPT": locked updates, like the
 * guest's own paging A/D flags. */
static void ept_set_flags(struct cpu *c, const struct ept_result *r)
{
    for (unsigned i = 0; i < r->nad; i++) {
        uint8_t *p = machine_ram_ptr(c->m, r->ad[i].hpa, 8);
        if (!p)
            continue;
        __atomic_fetch_or((uint64_t *)(void *)p, r->ad[i].bits, __ATOMIC_SEQ_CST);
        cpu_phys_written(c, r->ad[i].hpa, 8);
    }
}

bool cpu_ept_peek(struct cpu *c, uint64_t gpa, const struct ept_access *a, uint64_t *hpa)
{
    struct ept_result r;
    if (ept_walk(&c->nr.ept_caps, c->nr.eptp, gpa, a, ept_read_entry, c, &r) != EPT_OK)
        return false;
    *hpa = r.hpa;
    return true;
}

bool cpu_ept_translate(struct cpu *c, uint64_t gpa, const struct ept_access *a, uint64_t lin,
                       bool nofault, uint64_t *hpa)
{
    struct ept_result r;
    /* SDM 3C "Caching Translation Information": a walk the modelled TLB
     * missed may start below a cached EPT PML4E, PDPTE or PDE of the
     * current EP4TA; a reference a combined paging-structure-cache entry
     * spares (c->xlate_free) is not walked at all. For cycles only: the
     * walker always reads every entry. */
    bool modelled = c->xlate_psc && c->psc && !c->xlate_free;
    unsigned spared = modelled ? psc_ept_lookup(c, gpa) : 0;
    /* the same walk, faster when its entries are unchanged (ept.h) */
    if (unlikely(!c->ept_wc))
        c->ept_wc = ept_walk_cache_new();
    enum ept_outcome o =
        ept_walk_cached(c->ept_wc, &c->nr.ept_caps, c->nr.eptp, gpa, a, ept_read_entry, c, &r);
    if (!c->xlate_free) {
        /* the leaf entry is always read */
        unsigned refs = r.refs - (spared < r.refs ? spared : (r.refs ? r.refs - 1 : 0));
        c->stats.ept_walks++;
        c->stats.ept_refs += refs;
        if (c->cost)
            c->cycles += (uint64_t)refs * c->cost->cycles[COST_ept_walk];
    }
    if (likely(o == EPT_OK)) {
        if (modelled && r.refs > 1)
            psc_ept_fill(c, gpa, spared, r.refs - 1); /* the entries above the leaf */
        /* SDM 3C "Page-Modification Logging": before the flags are set */
        if (r.nad && c->nr.pml)
            c->hooks->pml(c, gpa, (r.ad[r.nad - 1].bits & EPT_D) != 0);
        ept_set_flags(c, &r);
        if (!a->paging_structure && r.page_size < c->xlate_page_size)
            c->xlate_page_size = r.page_size; /* a combined mapping: the smaller page */
        *hpa = r.hpa;
        return true;
    }
    if (nofault)
        return false;
    /* SDM 3C "Operations that Invalidate Cached Mappings": an EPT violation
     * or misconfiguration invalidates the guest-physical mappings that
     * would be used for gpa and the combined mappings for its linear
     * address. */
    if (c->psc) {
        psc_ept_drop(c, gpa);
        if (a->linear_valid)
            psc_linear_drop(c, paging_mode(c), lin);
    }
    c->xlate_psc = c->xlate_free = false; /* the VM exit unwinds past translate() */
    struct cpu_ept_fault f = {
        .misconfig = o == EPT_MISCONFIG,
        .qual = o == EPT_VIOLATION ? r.qualification : 0,
        .gpa = gpa,
        .linear = a->linear_valid ? lin : 0,
        /* a guest-physical address beyond MAXPHYADDR reads no entry: nvmx
         * treats its violation as not convertible */
        .suppress_ve = r.refs == 0 || (r.entry & EPT_SVE) != 0,
    };
    c->hooks->ept_fault(c, &f);
    cpu_vmexit_unwind(c);
}
