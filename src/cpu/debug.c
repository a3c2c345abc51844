/* For a debugger (the gdb stub): the physical address of a linear address
 * through the current paging, without a fault, a VM exit, modelled cycles or
 * a change to the TLB statistics. Accessed flags of the paging structures
 * may be set, as a read by the processor would set them. The access is a
 * data read at the current CPL. */
#include "nvmx/cpu_debug.h"
#include "paging.h"

bool cpu_debug_translate(struct cpu *c, uint64_t lin, uint64_t *pa)
{
    if (!(c->cr0 & CR0_PG)) {
        *pa = c->mode == MODE_LONG64 ? lin : (lin & 0xffffffffull);
        return true;
    }
    if (c->nr.ept)
        return false; /* guest-physical: not translated for the debugger */
    uint64_t cycles = c->cycles;
    struct cpu_stats st = c->stats;
    struct paging_walk_result r;
    bool ok = paging_walk(c, lin, ACC_R | ACC_NOFAULT, &r);
    c->cycles = cycles;
    c->stats = st;
    if (ok)
        *pa = r.pa;
    return ok;
}
