/* A debugger's view of the CPU (src/cpu/debug.c), for the gdb stub. */
#ifndef NVMX_CPU_DEBUG_H
#define NVMX_CPU_DEBUG_H

#include "nvmx/cpu.h"

/* The host-physical address of linear address lin through the current
 * paging and, in VMX non-root operation with EPT, through EPT; a read-only
 * walk with no side effect (no fault, VM exit, accessed/dirty flag, cycle
 * or statistic). Rights are not checked. False when lin is not mapped. */
bool cpu_debug_translate(struct cpu *c, uint64_t lin, uint64_t *pa);

#endif
