/* For a debugger (the gdb stub): the host-physical address of a linear
 * address as the processor would translate it now -- through the guest's
 * paging structures and, in VMX non-root operation with EPT, through the
 * EPT paging structures for every guest-physical address on the way (SDM
 * 3A "Paging", SDM 3C "EPT Translation Mechanism"). A read-only walk of its
 * own: no fault, no VM exit, no accessed or dirty flag set (guest or EPT),
 * no modelled cycles, TLB or statistics touched. Rights are not checked (a
 * debugger reads supervisor pages from user code); a not-present entry, an
 * EPT violation or misconfiguration, or memory outside RAM means "not
 * mapped". */
#include "nvmx/cpu_debug.h"
#include "nvmx/ept.h"
#include "paging.h"

#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 of an entry */

static uint64_t ept_read_ram(void *ctx, uint64_t hpa)
{
    const struct cpu *c = ctx;
    const uint8_t *p = machine_ram_ptr(c->m, hpa, 8);
    uint64_t v = ~0ull; /* memory that does not exist reads as all ones */
    if (p)
        memcpy(&v, p, 8);
    return v;
}

/* guest-physical -> host-physical: through EPT when it is in use */
static bool debug_gpa(const struct cpu *c, uint64_t gpa, uint64_t *hpa)
{
    if (!cpu_ept_active(c)) {
        *hpa = gpa;
        return true;
    }
    struct ept_access a = { .type = EPT_ACCESS_READ };
    struct ept_result r;
    if (ept_walk(&c->nr.ept_caps, c->nr.eptp, gpa, &a, ept_read_ram, (void *)c, &r) != EPT_OK)
        return false;
    *hpa = r.hpa; /* the A/D updates r lists are not made */
    return true;
}

/* One paging-structure entry of `size` bytes at guest-physical gpa. */
static bool read_entry(const struct cpu *c, uint64_t gpa, unsigned size, uint64_t *e)
{
    uint64_t hpa;
    const uint8_t *p;
    if (!debug_gpa(c, gpa, &hpa) || !(p = machine_ram_ptr(c->m, hpa, size)))
        return false;
    *e = 0;
    memcpy(e, p, size);
    return (*e & PTE_P) != 0;
}

/* SDM 3A "4-Level Paging" and "PAE Paging": from the entry at table
 * `table` (guest-physical) for the index at bit `shift` down to the PTE. */
static bool walk_64(const struct cpu *c, uint64_t table, unsigned shift, uint64_t lin,
                    uint64_t *gpa)
{
    for (;; shift -= 9) {
        uint64_t e;
        if (!read_entry(c, (table & ADDR_MASK) + ((lin >> shift) & 0x1ff) * 8, 8, &e))
            return false;
        bool leaf = shift == 12 || ((shift == 21 || shift == 30) && (e & PTE_PS));
        if (leaf) {
            uint64_t page = 1ull << shift;
            *gpa = (e & ADDR_MASK & ~(page - 1)) | (lin & (page - 1));
            return true;
        }
        table = e;
    }
}

static bool linear_to_gpa(const struct cpu *c, uint64_t lin, uint64_t *gpa)
{
    switch (paging_mode(c)) {
    case PAGING_NONE: *gpa = cpu_long_active(c) ? lin : (lin & 0xffffffffull); return true;
    case PAGING_4LEVEL: return walk_64(c, c->cr3, 39, lin, gpa);
    case PAGING_PAE: {
        /* the PDPTE registers, loaded with CR3 or by VM entry */
        uint64_t pdpte = c->pdpte[(lin >> 30) & 3];
        return (pdpte & PTE_P) && walk_64(c, pdpte, 21, lin & 0xffffffffull, gpa);
    }
    case PAGING_32BIT: {
        /* SDM 3A "32-Bit Paging": a 4-MByte page with CR4.PSE (bits 20:13
         * of the PDE are bits 39:32 of the address, PSE-36). */
        uint64_t pde, pte;
        lin &= 0xffffffffull;
        if (!read_entry(c, (c->cr3 & 0xfffff000ull) + (lin >> 22) * 4, 4, &pde))
            return false;
        if ((c->cr4 & CR4_PSE) && (pde & PTE_PS)) {
            *gpa = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32) | (lin & 0x3fffff);
            return true;
        }
        if (!read_entry(c, (pde & 0xfffff000ull) + ((lin >> 12) & 0x3ff) * 4, 4, &pte))
            return false;
        *gpa = (pte & 0xfffff000ull) | (lin & 0xfff);
        return true;
    }
    }
    return false;
}

bool cpu_debug_translate(struct cpu *c, uint64_t lin, uint64_t *pa)
{
    uint64_t gpa;
    return linear_to_gpa(c, lin, &gpa) && debug_gpa(c, gpa, pa);
}
