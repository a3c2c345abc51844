/* The paging-structure caches, for cycles only (SDM 3A "Paging-Structure
 * Caches"; SDM 3C "Caching Translation Information" for the combined and
 * the guest-physical entries under EPT). Like the modelled TLB
 * (tlb_model.c) they decide what a walk costs and nothing else: the walk
 * still reads every entry from memory (paging.c, ept.c), but the references
 * a cached upper level spares are not charged. Each cache is fully
 * associative with LRU replacement, sized by the CPU model's
 * "paging_structure_caches" (docs/ept.md says where the numbers come
 * from). Linear (and combined) entries are tagged with the software TLB's
 * context and its flush generation, so every flush of a context drops them;
 * EPT entries are tagged with the EP4TA and dropped by INVEPT. */
#include "psc.h"

#include <stdlib.h>

struct psc_entry {
    uint64_t key;   /* address bits above the level's reach, and the paging mode */
    uint64_t ctx;   /* context slot and generation, or EP4TA */
    uint64_t stamp; /* LRU; 0: empty */
};
struct psc {
    struct psc_entry *e[PSC_NCACHES];
    unsigned n[PSC_NCACHES];
    uint64_t clock;
};

static const struct {
    bool ept;
    unsigned level;
} caches[PSC_NCACHES] = {
#define PSC_CACHE(name, kind, lvl, label) [PSC_##name] = { .ept = PSC_KIND_##kind, .level = lvl },
#define PSC_KIND_LINEAR false
#define PSC_KIND_EPT true
#include "nvmx/psc_caches.def"
#undef PSC_KIND_EPT
#undef PSC_KIND_LINEAR
#undef PSC_CACHE
};

bool psc_init(struct cpu *c)
{
    if (!c->model)
        return true;
    unsigned total = 0;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        total += c->model->psc_entries[i];
    if (!total)
        return true; /* no paging-structure caches: every reference is charged */
    struct psc *p = calloc(1, sizeof *p);
    if (!p)
        return false;
    c->psc = p;
    for (unsigned i = 0; i < PSC_NCACHES; i++) {
        p->n[i] = c->model->psc_entries[i];
        if (p->n[i] && !(p->e[i] = calloc(p->n[i], sizeof *p->e[i]))) {
            psc_free(c);
            return false;
        }
    }
    return true;
}

void psc_free(struct cpu *c)
{
    struct psc *p = c->psc;
    if (!p)
        return;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        free(p->e[i]);
    free(p);
    c->psc = NULL;
}

static bool probe(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    for (unsigned k = 0; k < p->n[i]; k++) {
        struct psc_entry *e = &p->e[i][k];
        if (e->stamp && e->key == key && e->ctx == ctx) {
            e->stamp = ++p->clock;
            return true;
        }
    }
    return false;
}

static void fill(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    struct psc_entry *victim = NULL;
    for (unsigned k = 0; k < p->n[i]; k++) {
        struct psc_entry *e = &p->e[i][k];
        if (e->stamp && e->key == key && e->ctx == ctx) {
            e->stamp = ++p->clock;
            return;
        }
        if (!victim || e->stamp < victim->stamp)
            victim = e;
    }
    if (victim)
        *victim = (struct psc_entry){ .key = key, .ctx = ctx, .stamp = ++p->clock };
}

/* Drop the entries of cache i that match: key (unless any_key) and ctx. */
static void drop(struct psc *p, unsigned i, bool any_key, uint64_t key, uint64_t ctx)
{
    for (unsigned k = 0; k < p->n[i]; k++) {
        struct psc_entry *e = &p->e[i][k];
        if (e->stamp && e->ctx == ctx && (any_key || e->key == key))
            e->stamp = 0;
    }
}

/* ---- linear and combined entries ---------------------------------------------------- */

static uint64_t linear_ctx(const struct cpu *c, unsigned slot)
{
    return (uint64_t)slot << 32 | c->tlb_ctx[slot].gen;
}

/* SDM 3A "Caches for Paging Structures": a PML4-cache entry is referenced
 * by linear-address bits 47:39, a PDPTE-cache entry by bits 47:30, a
 * PDE-cache entry by bits 47:21 (4-level paging), 31:21 (PAE paging) or
 * 31:22 (32-bit paging). The paging mode is part of the key. Only 4-level
 * paging has PML4 and PDPTE caches. */
static bool linear_key(enum paging_mode mode, unsigned level, uint64_t lin, uint64_t *key)
{
    unsigned lo;
    uint64_t bits;
    if (mode == PAGING_4LEVEL) {
        lo = 39 - 9 * level;
        bits = (lin & 0xffffffffffffull) >> lo;
    } else if (level == 2) {
        lo = mode == PAGING_32BIT ? 22 : 21;
        bits = (lin & 0xffffffffull) >> lo;
    } else {
        return false;
    }
    *key = bits << 2 | (uint64_t)mode;
    return true;
}

/* The references of the walk up to and including level are spared: how
 * many that is (PAE and 32-bit paging read no PML4E or PDPTE from
 * memory). */
static unsigned spared_refs(enum paging_mode mode, unsigned level)
{
    return mode == PAGING_4LEVEL ? level + 1 : 1;
}

unsigned psc_linear_lookup(struct cpu *c, enum paging_mode mode, uint64_t lin)
{
    struct psc *p = c->psc;
    uint64_t ctx = linear_ctx(c, c->tlb_cur), key;
    /* the deepest cached level first: a PDE-cache hit spares the most */
    for (int i = PSC_NCACHES - 1; i >= 0; i--) {
        if (caches[i].ept || !p->n[i] || !linear_key(mode, caches[i].level, lin, &key))
            continue;
        if (probe(p, (unsigned)i, key, ctx)) {
            c->stats.psc_hits[i]++;
            return spared_refs(mode, caches[i].level);
        }
        c->stats.psc_misses[i]++;
    }
    return 0;
}

void psc_linear_fill(struct cpu *c, enum paging_mode mode, uint64_t lin, unsigned spared,
                     unsigned upper)
{
    struct psc *p = c->psc;
    uint64_t ctx = linear_ctx(c, c->tlb_cur), key;
    for (unsigned i = 0; i < PSC_NCACHES; i++) {
        if (caches[i].ept || !p->n[i] || !linear_key(mode, caches[i].level, lin, &key))
            continue;
        /* SDM 3A "Caches for Paging Structures": an entry is created only
         * from a present entry that references another paging structure
         * (the walk has set its accessed flag) */
        unsigned ref = spared_refs(mode, caches[i].level);
        if (ref > spared && ref <= upper)
            fill(p, i, key, ctx);
    }
}

void psc_linear_drop(struct cpu *c, enum paging_mode mode, uint64_t lin)
{
    struct psc *p = c->psc;
    uint64_t ctx = linear_ctx(c, c->tlb_cur), key;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        if (!caches[i].ept && linear_key(mode, caches[i].level, lin, &key))
            drop(p, i, false, key, ctx);
}

void psc_linear_drop_context(struct cpu *c, unsigned slot)
{
    struct psc *p = c->psc;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        if (!caches[i].ept)
            drop(p, i, true, 0, linear_ctx(c, slot));
}

/* ---- guest-physical (EPT) entries ------------------------------------------------------ */

/* EP4TA: EPTP bits 51:12 (SDM 3C "Caching Translation Information"). */
static uint64_t ept_ctx(const struct cpu *c) { return c->nr.eptp & 0x000ffffffffff000ull; }

/* The same reach as 4-level paging's: guest-physical bits 47:39, 47:30 and
 * 47:21 select the EPT PML4E, PDPTE and PDE. */
static uint64_t ept_key(unsigned level, uint64_t gpa)
{
    return (gpa & 0xffffffffffffull) >> (39 - 9 * level);
}

unsigned psc_ept_lookup(struct cpu *c, uint64_t gpa)
{
    struct psc *p = c->psc;
    uint64_t ctx = ept_ctx(c);
    for (int i = PSC_NCACHES - 1; i >= 0; i--) {
        if (!caches[i].ept || !p->n[i])
            continue;
        if (probe(p, (unsigned)i, ept_key(caches[i].level, gpa), ctx)) {
            c->stats.psc_hits[i]++;
            return caches[i].level + 1;
        }
        c->stats.psc_misses[i]++;
    }
    return 0;
}

void psc_ept_fill(struct cpu *c, uint64_t gpa, unsigned spared, unsigned upper)
{
    struct psc *p = c->psc;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        if (caches[i].ept && p->n[i] && caches[i].level >= spared && caches[i].level < upper)
            fill(p, i, ept_key(caches[i].level, gpa), ept_ctx(c));
}

void psc_ept_drop(struct cpu *c, uint64_t gpa)
{
    struct psc *p = c->psc;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        if (caches[i].ept)
            drop(p, i, false, ept_key(caches[i].level, gpa), ept_ctx(c));
}

void psc_ept_drop_ep4ta(struct cpu *c, bool all, uint64_t ep4ta)
{
    struct psc *p = c->psc;
    for (unsigned i = 0; i < PSC_NCACHES; i++) {
        if (!caches[i].ept)
            continue;
        for (unsigned k = 0; k < p->n[i]; k++)
            if (all || p->e[i][k].ctx == (ep4ta & 0x000ffffffffff000ull))
                p->e[i][k].stamp = 0;
    }
}
