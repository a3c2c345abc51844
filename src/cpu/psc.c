/* The paging-structure caches, for cycles only (SDM 3A "Paging-Structure
 * Caches"; SDM 3C "Caching Translation Information" for the combined and
 * the guest-physical entries under EPT). Like the modelled TLB
 * (tlb_model.c) they decide what a walk costs and nothing else: the walk
 * still reads every entry from memory (paging.c, ept.c), but the references
 * a cached upper level spares are not charged. Each cache is sized by the
 * CPU model's "paging_structure_caches" (docs/ept.md says where the numbers
 * come from) and is PSC_WAYS-way set-associative (fully associative up to
 * PSC_WAYS entries) with LRU replacement in a set: how the real caches are
 * organised is not published, and small sets keep a lookup short. Linear (and combined) entries are tagged with the software TLB's
 * context and its flush generation, so every flush of a context drops them;
 * EPT entries are tagged with the EP4TA and dropped by INVEPT. */
#include "psc.h"

#include <stdlib.h>

struct psc_entry {
    uint64_t key;   /* address bits above the level's reach, the paging mode, the context slot */
    uint64_t ctx;   /* the context's generations, or EP4TA */
    uint64_t stamp; /* LRU; 0: empty */
};
#define PSC_WAYS 4

struct psc {
    struct psc_entry *e[PSC_NCACHES];
    unsigned n[PSC_NCACHES];    /* entries: sets * ways */
    unsigned ways[PSC_NCACHES]; /* PSC_WAYS, or n when smaller */
    unsigned sets[PSC_NCACHES];
    uint64_t clock;
    /* Per software-TLB context: bumped by INVLPG and its relatives, which
     * drop every linear entry of the context (the entries then never
     * match again and are the first LRU victims). */
    uint32_t gen[TLB_CONTEXTS];
    /* The slot the last missing probe of each cache found for a fill (the
     * empty or least recently used one), valid until that cache changes. */
    struct psc_entry *victim[PSC_NCACHES];
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
        unsigned n = c->model->psc_entries[i];
        p->ways[i] = n < PSC_WAYS ? n : PSC_WAYS;
        p->sets[i] = p->ways[i] ? n / p->ways[i] : 0;
        p->n[i] = p->sets[i] * p->ways[i]; /* a remainder of fewer than PSC_WAYS entries is not used */
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

/* Find key/ctx in cache i (a hit refreshes its LRU stamp); on a miss,
 * remember where a fill of it would go. */
/* The first way of key's set in cache i: the set is chosen by the address
 * bits above the key's mode bits. */
static inline struct psc_entry *set_of(const struct psc *p, unsigned i, uint64_t key)
{
    unsigned sets = p->sets[i];
    unsigned set = (sets & (sets - 1)) == 0 ? (unsigned)(key >> 2) & (sets - 1)
                                            : (unsigned)((key >> 2) % sets);
    return p->e[i] + set * p->ways[i];
}

static inline struct psc_entry *find(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    struct psc_entry *e = set_of(p, i, key), *end = e + p->ways[i], *victim = e;
    for (; e < end; e++) {
        if (e->key == key && e->ctx == ctx && e->stamp)
            return e;
        if (e->stamp < victim->stamp)
            victim = e;
    }
    p->victim[i] = victim;
    return NULL;
}

static inline bool probe(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    struct psc_entry *e = find(p, i, key, ctx);
    if (e)
        e->stamp = ++p->clock;
    return e != NULL;
}

/* Fill after a miss: the slot the missing probe chose, or a search when
 * the cache was not probed for it (or changed since). */
static inline void fill(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    struct psc_entry *e = p->victim[i];
    if (!e) {
        e = find(p, i, key, ctx);
        if (!e)
            e = p->victim[i];
    }
    *e = (struct psc_entry){ .key = key, .ctx = ctx, .stamp = ++p->clock };
    p->victim[i] = NULL;
}

/* Drop key/ctx from cache i. */
static void drop(struct psc *p, unsigned i, uint64_t key, uint64_t ctx)
{
    if (!p->n[i])
        return;
    struct psc_entry *e = set_of(p, i, key), *end = e + p->ways[i];
    for (; e < end; e++)
        if (e->key == key && e->ctx == ctx)
            e->stamp = 0;
    p->victim[i] = NULL;
}

/* ---- linear and combined entries ---------------------------------------------------- */

static uint64_t linear_ctx(const struct cpu *c, unsigned slot)
{
    return (uint64_t)c->tlb_ctx[slot].gen << 32 | c->psc->gen[slot];
}

/* SDM 3A "Caches for Paging Structures": a PML4-cache entry is referenced
 * by linear-address bits 47:39, a PDPTE-cache entry by bits 47:30, a
 * PDE-cache entry by bits 47:21 (4-level paging), 31:21 (PAE paging) or
 * 31:22 (32-bit paging). The paging mode is part of the key. Only 4-level
 * paging has PML4 and PDPTE caches. */
static bool linear_key(unsigned slot, enum paging_mode mode, unsigned level, uint64_t lin,
                       uint64_t *key)
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
    *key = (uint64_t)slot << 56 | bits << 2 | (uint64_t)mode;
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
        if (caches[i].ept || !p->n[i] || !linear_key(c->tlb_cur, mode, caches[i].level, lin, &key))
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
        if (caches[i].ept || !p->n[i] || !linear_key(c->tlb_cur, mode, caches[i].level, lin, &key))
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
        if (!caches[i].ept && linear_key(c->tlb_cur, mode, caches[i].level, lin, &key))
            drop(p, i, key, ctx);
}

void psc_linear_drop_context(struct cpu *c, unsigned slot)
{
    struct psc *p = c->psc;
    p->gen[slot]++;
    for (unsigned i = 0; i < PSC_NCACHES; i++)
        if (!caches[i].ept)
            p->victim[i] = NULL;
}

/* ---- guest-physical (EPT) entries ------------------------------------------------------ */

/* EP4TA: EPTP bits 51:12 (SDM 3C "Caching Translation Information"). */
static uint64_t ept_ctx(const struct cpu *c) { return c->nr.eptp & 0x000ffffffffff000ull; }

/* The same reach as 4-level paging's: guest-physical bits 47:39, 47:30 and
 * 47:21 select the EPT PML4E, PDPTE and PDE. */
static uint64_t ept_key(unsigned level, uint64_t gpa)
{
    return ((gpa & 0xffffffffffffull) >> (39 - 9 * level)) << 2; /* bits 1:0 as in a linear key */
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
            drop(p, i, ept_key(caches[i].level, gpa), ept_ctx(c));
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
        p->victim[i] = NULL;
    }
}
