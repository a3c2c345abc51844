/* For a debugger (the gdb stub): the physical address of a linear address
 * through the current paging, as an ACC_PEEK look that changes nothing: no
 * fault, no VM exit, no accessed flag, no cycles or statistics. The access
 * is a data read at the current CPL. */
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
    struct paging_walk_result r;
    bool ok = paging_walk(c, lin, ACC_R | ACC_PEEK, &r);
    if (ok)
        *pa = r.pa;
    return ok;
}
