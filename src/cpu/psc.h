/* Private to src/cpu: the modelled paging-structure caches (psc.c), for
 * cycles only. All but psc_init/psc_free require c->psc. */
#ifndef NVMX_CPU_PSC_H
#define NVMX_CPU_PSC_H

#include "paging.h"

/* From the CPU model's "paging_structure_caches"; c->psc stays NULL when
 * it gives none. False when memory runs out. */
bool psc_init(struct cpu *c);
void psc_free(struct cpu *c);

/* A walk of lin in mode (4-level, PAE or 32-bit) in the current context:
 * how many of its leading memory references a cached upper level spares
 * (0: none), counting the lookups in the statistics. */
unsigned psc_linear_lookup(struct cpu *c, enum paging_mode mode, uint64_t lin);
/* After a successful walk whose first `upper` references read entries that
 * reference other paging structures: cache those below the `spared` ones
 * (the lookup's result: the hardware did not read them). */
void psc_linear_fill(struct cpu *c, enum paging_mode mode, uint64_t lin, unsigned spared,
                     unsigned upper);
/* Drop the current context's entries that would be used for lin. */
void psc_linear_drop(struct cpu *c, enum paging_mode mode, uint64_t lin);
/* Drop every entry of software-TLB context slot. */
void psc_linear_drop_context(struct cpu *c, unsigned slot);

/* The same for an EPT walk of gpa under the current EP4TA. */
unsigned psc_ept_lookup(struct cpu *c, uint64_t gpa);
void psc_ept_fill(struct cpu *c, uint64_t gpa, unsigned spared, unsigned upper);
void psc_ept_drop(struct cpu *c, uint64_t gpa);
/* INVEPT: the entries of EP4TA ep4ta (EPTP bits 51:12), or all. */
void psc_ept_drop_ep4ta(struct cpu *c, bool all, uint64_t ep4ta);

#endif
