/* Linear-address translation (SDM 3A "Paging"): the 32-bit, PAE and 4-level
 * page walks, access rights (U/S, R/W with CR0.WP, XD, SMEP, SMAP), the
 * reserved-bit checks, the accessed/dirty updates and the #PF error code. */
#include "psc.h"

/* Paging-structure entry flags (SDM 3A "Hierarchical Paging Structures:
 * An Overview" and the entry-format tables). */
#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_XD (1ull << 63)


/* Bits hi..lo set (empty when hi < lo). */
static inline uint64_t bit_range(unsigned hi, unsigned lo)
{
    if (hi < lo)
        return 0;
    uint64_t upto = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
    return upto & ~((1ull << lo) - 1);
}

const struct cpuid_leaf *paging_model_leaf(const struct cpu *c, uint32_t leaf, uint32_t subleaf)
{
    if (!c->model)
        return NULL;
    for (unsigned i = 0; i < c->model->nleaves; i++) {
        const struct cpuid_leaf *l = &c->model->leaves[i];
        if (l->leaf == leaf && (!l->has_subleaf || l->subleaf == subleaf))
            return l;
    }
    return NULL;
}

bool paging_cpuid_has(const struct cpu *c, uint32_t leaf, uint32_t subleaf, enum paging_cpuid_reg reg,
                      unsigned bit)
{
    if (!c->model)
        return true; /* no model: every feature nvmx implements */
    const struct cpuid_leaf *l = paging_model_leaf(c, leaf, subleaf);
    if (!l)
        return false;
    const uint32_t regs[4] = { l->eax, l->ebx, l->ecx, l->edx };
    return (regs[reg] >> bit) & 1;
}

/* CPUID.80000001H:EDX.Page1GB[bit 26] */
static bool has_1g_pages(const struct cpu *c)
{
    return paging_cpuid_has(c, 0x80000001u, 0, PAGING_CPUID_EDX, 26);
}

enum paging_mode paging_mode(const struct cpu *c)
{
    if (!(c->cr0 & CR0_PG))
        return PAGING_NONE;
    if (!(c->cr4 & CR4_PAE))
        return PAGING_32BIT;
    return (c->efer & EFER_LMA) ? PAGING_4LEVEL : PAGING_PAE;
}

/* ---- paging-structure memory ------------------------------------------------ */

static uint64_t pte_load(struct cpu *c, uint64_t pa, unsigned size)
{
    uint8_t *p = machine_ram_ptr(c->m, pa, size);
    if (p) {
        if (size == 8)
            return __atomic_load_n((uint64_t *)(void *)p, __ATOMIC_ACQUIRE);
        return __atomic_load_n((uint32_t *)(void *)p, __ATOMIC_ACQUIRE);
    }
    return machine_mmio_read(c->m, pa, size) & size_mask(size);
}

/* SDM 3A "Accessed and Dirty Flags": the processor sets A and D with locked
 * read-modify-write operations on the entry. */
static void pte_set_flags(struct cpu *c, uint64_t pa, unsigned size, uint64_t flags)
{
    uint8_t *p = machine_ram_ptr(c->m, pa, size);
    if (p) {
        if (size == 8)
            __atomic_fetch_or((uint64_t *)(void *)p, flags, __ATOMIC_SEQ_CST);
        else
            __atomic_fetch_or((uint32_t *)(void *)p, (uint32_t)flags, __ATOMIC_SEQ_CST);
        cpu_phys_written(c, pa, size);
        return;
    }
    uint64_t v = machine_mmio_read(c->m, pa, size);
    machine_mmio_write(c->m, pa, size, (v | flags) & size_mask(size));
}

/* ---- the walk --------------------------------------------------------------- */

struct walk {
    struct cpu *c;
    uint64_t lin;       /* the linear address (for EPT exits) */
    unsigned acc;
    bool ept;           /* guest-physical addresses go through EPT */
    bool ept_failed;    /* an EPT translation failed (only with ACC_NOFAULT) */
    bool user_access;   /* CPL 3 and not an implicit supervisor access */
    bool nxe;
    uint64_t addr_mask; /* bits MAXPHYADDR-1:12 */
    unsigned maxphy;
    struct {
        uint64_t pa, val;
        uint64_t hpa; /* pa through EPT (= pa without EPT) */
        unsigned size;
        bool has_a; /* PAE PDPTEs have no accessed flag */
    } used[4];
    unsigned nused;
    /* the first references a paging-structure cache spares (psc.c): read
     * from memory for their contents, not charged */
    unsigned spared;
    bool user, writable, xd;
};

/* SDM 3C "EPT Violations": a guest paging-structure entry is a guest-
 * physical access of its own (qualification bit 8 clear); with EPT A/D it
 * counts as a write (src/ept). */
static const struct ept_access ept_pte_read = {
    .type = EPT_ACCESS_READ, .linear_valid = true, .paging_structure = true,
};
static const struct ept_access ept_pte_write = {
    .type = EPT_ACCESS_WRITE, .linear_valid = true, .paging_structure = true,
};

/* Read one entry (charged as one memory reference of the walk, with its
 * EPT walk, unless a paging-structure cache spares it) and record it.
 * Under EPT, a failed translation of the entry's address (ACC_NOFAULT
 * only: otherwise the VM exit does not return) reads as not present and
 * sets w->ept_failed. */
static uint64_t walk_read(struct walk *w, uint64_t pa, unsigned size, bool has_a)
{
    struct cpu *c = w->c;
    uint64_t hpa = pa;
    bool peek = w->acc & ACC_PEEK;
    bool charge = !peek && w->nused >= w->spared;
    if (w->ept) {
        bool free_before = c->xlate_free;
        c->xlate_free = free_before || !charge;
        bool ok = peek ? cpu_ept_peek(c, pa, &ept_pte_read, &hpa)
                       : cpu_ept_translate(c, pa, &ept_pte_read, w->lin, w->acc & ACC_NOFAULT, &hpa);
        c->xlate_free = free_before;
        if (!ok) {
            w->ept_failed = true;
            return 0;
        }
    }
    uint64_t e = pte_load(c, hpa, size);
    if (charge && c->cost) {
        c->cycles += c->cost->cycles[COST_page_walk];
        c->stats.walk_refs++;
    }
    w->used[w->nused].pa = pa;
    w->used[w->nused].hpa = hpa;
    w->used[w->nused].val = e;
    w->used[w->nused].size = size;
    w->used[w->nused].has_a = has_a;
    w->nused++;
    return e;
}

/* SDM 3A "Access Rights": U/S and R/W combine by AND over all levels, XD by OR. */
static void walk_combine(struct walk *w, uint64_t e)
{
    w->user = w->user && (e & PTE_US);
    w->writable = w->writable && (e & PTE_RW);
    w->xd = w->xd || (w->nxe && (e & PTE_XD));
}

/* Outcome of a level: keep walking, a leaf, or a fault of the given kind. */
enum step { STEP_NEXT, STEP_LEAF, STEP_NOT_PRESENT, STEP_RSVD };

static enum step walk_check(uint64_t e, uint64_t rsvd, bool leaf)
{
    if (!(e & PTE_P))
        return STEP_NOT_PRESENT;
    if (e & rsvd)
        return STEP_RSVD;
    return leaf ? STEP_LEAF : STEP_NEXT;
}

/* SDM 3A "4-Level Paging and 5-Level Paging" (4-level only: no LA57). */
static enum step walk_4level(struct walk *w, uint64_t lin, struct paging_walk_result *r)
{
    static const unsigned shift[4] = { 39, 30, 21, 12 };
    /* Bits 51:MAXPHYADDR are reserved everywhere; XD is reserved when
     * IA32_EFER.NXE = 0. */
    uint64_t rsvd_all = bit_range(51, w->maxphy) | (w->nxe ? 0 : PTE_XD);
    uint64_t table = w->c->cr3 & w->addr_mask;

    for (unsigned lvl = 0; lvl < 4; lvl++) {
        uint64_t e = walk_read(w, table + (((lin >> shift[lvl]) & 511) << 3), 8, true);
        uint64_t rsvd = rsvd_all;
        bool leaf = lvl == 3;
        if (lvl == 0) {
            rsvd |= PTE_PS; /* PML4E bit 7 is reserved */
        } else if (lvl < 3 && (e & PTE_PS)) {
            if (lvl == 1 && !has_1g_pages(w->c)) {
                rsvd |= PTE_PS;
            } else {
                /* 1-GByte page: bits 29:13 reserved; 2-MByte: bits 20:13. */
                rsvd |= bit_range(shift[lvl] - 1, 13);
                leaf = true;
            }
        }
        enum step s = walk_check(e, rsvd, leaf);
        if (s == STEP_NOT_PRESENT || s == STEP_RSVD)
            return s;
        walk_combine(w, e);
        if (s == STEP_LEAF) {
            r->page_size = 1ull << shift[lvl];
            r->pa = (e & w->addr_mask & ~(r->page_size - 1)) | (lin & (r->page_size - 1));
            return s;
        }
        table = e & w->addr_mask;
    }
    return STEP_NOT_PRESENT; /* not reached: level 3 is always a leaf */
}

static uint64_t pae_pdpte_rsvd(unsigned maxphy)
{
    /* SDM 3A Table "Format of a PAE Page-Directory-Pointer-Table Entry":
     * bits 2:1, 8:5 and 63:MAXPHYADDR are reserved. */
    return bit_range(63, maxphy) | bit_range(2, 1) | bit_range(8, 5);
}

/* SDM 3A "PAE Paging". The PDPTEs come from the PDPTE registers loaded at
 * MOV to CR3 (or CR0/CR4 enabling PAE paging), not from memory. */
static enum step walk_pae(struct walk *w, uint64_t lin, struct paging_walk_result *r)
{
    uint64_t rsvd_all = bit_range(62, w->maxphy) | (w->nxe ? 0 : PTE_XD);
    uint64_t pdpte = w->c->pdpte[(lin >> 30) & 3];
    enum step s = walk_check(pdpte, pae_pdpte_rsvd(w->maxphy), false);
    if (s != STEP_NEXT)
        return s;

    uint64_t pde = walk_read(w, (pdpte & w->addr_mask) + ((lin >> 21) & 511) * 8, 8, true);
    bool large = pde & PTE_PS;
    s = walk_check(pde, rsvd_all | (large ? bit_range(20, 13) : 0), large);
    if (s == STEP_NOT_PRESENT || s == STEP_RSVD)
        return s;
    walk_combine(w, pde);
    if (large) {
        r->page_size = 1ull << 21;
        r->pa = (pde & w->addr_mask & ~(r->page_size - 1)) | (lin & (r->page_size - 1));
        return STEP_LEAF;
    }

    uint64_t pte = walk_read(w, (pde & w->addr_mask) + ((lin >> 12) & 511) * 8, 8, true);
    s = walk_check(pte, rsvd_all, true);
    if (s != STEP_LEAF)
        return s;
    walk_combine(w, pte);
    r->page_size = 4096;
    r->pa = (pte & w->addr_mask) | (lin & 0xfff);
    return s;
}

/* SDM 3A "32-Bit Paging", with 4-MByte pages when CR4.PSE = 1 and PSE-36
 * physical-address bits M-1:32 in PDE bits (M-20):13, M = min(MAXPHYADDR, 40). */
static enum step walk_32bit(struct walk *w, uint64_t lin, struct paging_walk_result *r)
{
    uint64_t pde = walk_read(w, (w->c->cr3 & 0xfffff000u) + ((lin >> 22) & 1023) * 4, 4, true);
    bool large = (pde & PTE_PS) && (w->c->cr4 & CR4_PSE);
    unsigned m = w->maxphy < 40 ? w->maxphy : 40;
    enum step s = walk_check(pde, large ? bit_range(21, m - 19) : 0, large);
    if (s == STEP_NOT_PRESENT || s == STEP_RSVD)
        return s;
    walk_combine(w, pde);
    if (large) {
        uint64_t high = m > 32 ? (pde >> 13) & bit_range(m - 33, 0) : 0;
        r->page_size = 1ull << 22;
        r->pa = (pde & 0xffc00000u) | (high << 32) | (lin & 0x3fffff);
        return STEP_LEAF;
    }

    uint64_t pte = walk_read(w, (pde & 0xfffff000u) + ((lin >> 12) & 1023) * 4, 4, true);
    s = walk_check(pte, 0, true);
    if (s != STEP_LEAF)
        return s;
    walk_combine(w, pte);
    r->page_size = 4096;
    r->pa = (pte & 0xfffff000u) | (lin & 0xfff);
    return s;
}

/* SDM 3A "Determination of Access Rights". Returns false on a protection
 * violation; clears *tlb_ok when the result depends on RFLAGS.AC. */
static bool access_allowed(const struct walk *w, bool *tlb_ok)
{
    const struct cpu *c = w->c;
    bool write = w->acc & ACC_W;

    if (w->acc & ACC_X) {
        if (w->xd)
            return false;
        if (w->user_access)
            return w->user;
        /* SMEP: no supervisor-mode fetch from a user-mode address. */
        return !(w->user && (c->cr4 & CR4_SMEP));
    }
    if (w->user_access)
        return w->user && (!write || w->writable);

    /* Supervisor-mode data access. SMAP: to a user-mode address only when
     * explicit and RFLAGS.AC = 1; implicit accesses never. */
    if (w->user && (c->cr4 & CR4_SMAP)) {
        if ((w->acc & ACC_SYS) || !(c->rflags & FL_AC))
            return false;
        *tlb_ok = false;
    }
    /* CR0.WP = 0: supervisor writes ignore R/W. */
    return !write || w->writable || !(c->cr0 & CR0_WP);
}

/* SDM 3A "Page-Fault Error Code": I/D is set for an instruction fetch only
 * if CR4.SMEP = 1, or CR4.PAE = 1 and IA32_EFER.NXE = 1. */
static uint32_t error_code_base(const struct walk *w)
{
    const struct cpu *c = w->c;
    uint32_t err = 0;
    if (w->acc & ACC_W)
        err |= PFEC_W;
    if (w->user_access)
        err |= PFEC_U;
    if ((w->acc & ACC_X) &&
        ((c->cr4 & CR4_SMEP) || ((c->cr4 & CR4_PAE) && (c->efer & EFER_NXE))))
        err |= PFEC_I;
    return err;
}

/* Set A in every entry used and D in the final one for a write. Under
 * EPT the updates are guest-physical writes: without EPT A/D they are
 * translated for writing first, all before any is made (a failure with
 * ACC_NOFAULT returns false and changes nothing); with EPT A/D the walk's
 * reads were already writes for EPT. */
static bool walk_commit(struct walk *w, struct paging_walk_result *r)
{
    uint64_t final = w->used[w->nused - 1].val;
    r->dirty = (final & PTE_D) || (w->acc & ACC_W);
    r->global = (final & PTE_G) && (w->c->cr4 & CR4_PGE);
    if (w->acc & ACC_PEEK)
        return true; /* a look by nvmx sets no flag */
    uint64_t want[4];
    for (unsigned i = 0; i < w->nused; i++) {
        want[i] = w->used[i].has_a ? PTE_A : 0;
        if (i + 1 == w->nused && (w->acc & ACC_W))
            want[i] |= PTE_D;
        if ((w->used[i].val & want[i]) == want[i]) {
            want[i] = 0;
            continue;
        }
        if (w->ept && !(w->c->nr.eptp & EPTP_AD) &&
            !cpu_ept_translate(w->c, w->used[i].pa, &ept_pte_write, w->lin, w->acc & ACC_NOFAULT,
                               &w->used[i].hpa))
            return false;
    }
    for (unsigned i = 0; i < w->nused; i++)
        if (want[i])
            pte_set_flags(w->c, w->used[i].hpa, w->used[i].size, want[i]);
    return true;
}

bool paging_walk(struct cpu *c, uint64_t lin, unsigned acc, struct paging_walk_result *r)
{
    enum paging_mode mode = paging_mode(c);
    if (acc & ACC_PEEK)
        acc |= ACC_NOFAULT;
    struct walk w = {
        .c = c,
        .lin = lin,
        .acc = acc,
        .ept = cpu_ept_active(c),
        .user_access = c->cpl == 3 && !(acc & ACC_SYS),
        .nxe = (c->efer & EFER_NXE) != 0,
        .maxphy = cpu_maxphyaddr(c),
        .user = true,
        .writable = true,
    };
    w.addr_mask = bit_range(w.maxphy - 1, 12);
    memset(r, 0, sizeof *r);
    r->tlb_ok = true;
    /* SDM 3A "Using the Paging-Structure Caches to Translate Linear
     * Addresses": a walk the modelled TLB missed starts below the deepest
     * cached level (for cycles: the walk still reads every entry). */
    bool modelled = c->xlate_psc && c->psc && !(acc & ACC_PEEK) && mode != PAGING_NONE;
    if (modelled)
        w.spared = psc_linear_lookup(c, mode, lin);

    enum step s;
    switch (mode) {
    case PAGING_NONE:
        r->pa = lin & 0xffffffffull;
        r->page_size = 4096;
        r->user = r->writable = r->dirty = true;
        return true;
    case PAGING_32BIT: s = walk_32bit(&w, lin & 0xffffffffull, r); break;
    case PAGING_PAE: s = walk_pae(&w, lin & 0xffffffffull, r); break;
    default: s = walk_4level(&w, lin, r); break;
    }
    r->levels = w.nused;
    if (w.ept_failed) {
        r->ept_abort = true;
        return false;
    }

    uint32_t err = error_code_base(&w);
    if (s == STEP_NOT_PRESENT) {
        r->error_code = err;
        return false;
    }
    if (s == STEP_RSVD) {
        r->error_code = err | PFEC_P | PFEC_RSVD;
        return false;
    }
    r->user = w.user;
    r->writable = w.writable;
    r->xd = w.xd;
    if (!access_allowed(&w, &r->tlb_ok)) {
        r->error_code = err | PFEC_P;
        return false;
    }
    if (!walk_commit(&w, r)) {
        r->ept_abort = true;
        return false;
    }
    if (modelled)
        psc_linear_fill(c, mode, lin, w.spared, w.nused - 1); /* the upper entries read */
    return true;
}

bool paging_translate(struct cpu *c, uint64_t lin, unsigned acc, uint64_t *pa, bool *tlb_ok)
{
    struct paging_walk_result r;
    if (acc & ACC_PEEK)
        acc |= ACC_NOFAULT;
    if (likely(paging_walk(c, lin, acc, &r))) {
        /* SDM 3C "Guest-Physical Addresses": under EPT the result of the
         * walk is guest-physical too. */
        if (cpu_ept_active(c)) {
            struct ept_access a = cpu_ept_data_access(acc, r.user, r.writable, r.xd);
            if (!((acc & ACC_PEEK) ? cpu_ept_peek(c, r.pa, &a, &r.pa)
                                   : cpu_ept_translate(c, r.pa, &a, lin, acc & ACC_NOFAULT, &r.pa)))
                return false;
        }
        *pa = r.pa;
        *tlb_ok = r.tlb_ok;
        if (acc & ACC_PEEK)
            return true; /* nothing is cached from a look */
        if (r.page_size < c->xlate_page_size)
            c->xlate_page_size = r.page_size;
        if (r.page_size > 4096 && r.tlb_ok)
            c->tlb_has_large = true; /* INVLPG must then drop the whole page */
        return true;
    }
    if ((acc & ACC_NOFAULT) || r.ept_abort)
        return false;
    /* SDM 3A "Invalidation of TLBs and Paging-Structure Caches": a page
     * fault invalidates the paging-structure-cache entries that would be
     * used for the faulting linear address. */
    if (c->psc)
        psc_linear_drop(c, paging_mode(c), lin);
    c->xlate_psc = false; /* the fault unwinds past translate() */
    /* SDM 3A "Interrupt 14 -- Page-Fault Exception": CR2 gets the linear
     * address (the core's cpu_fault_pf() writes it). */
    cpu_fault_pf(c, lin, r.error_code);
}

uint64_t paging_pdpte_table(struct cpu *c, uint64_t cr3)
{
    uint64_t base = cr3 & 0xffffffe0u;
    /* SDM 3C "Guest-Physical Addresses": under EPT, CR3 is guest-physical;
     * the PDPTE load is a paging-structure access without a linear address
     * (qualification bit 7 clear). The 32-byte table lies in one page. */
    if (cpu_ept_active(c)) {
        static const struct ept_access pdpte_load = { .type = EPT_ACCESS_READ, .paging_structure = true };
        (void)cpu_ept_translate(c, base, &pdpte_load, 0, false, &base);
    }
    return base;
}

bool paging_load_pdptes_from(struct cpu *c, uint64_t base)
{
    /* SDM 3A "PDPTE Registers": a present PDPTE with a reserved bit set makes
     * the MOV to CR fault with #GP(0) and the PDPTEs are not loaded. */
    uint64_t rsvd = pae_pdpte_rsvd(cpu_maxphyaddr(c));
    uint64_t e[4];
    for (unsigned i = 0; i < 4; i++) {
        e[i] = pte_load(c, base + i * 8, 8);
        if ((e[i] & PTE_P) && (e[i] & rsvd))
            return false;
    }
    memcpy(c->pdpte, e, sizeof e);
    return true;
}

bool paging_load_pdptes(struct cpu *c)
{
    return paging_load_pdptes_from(c, paging_pdpte_table(c, c->cr3));
}
