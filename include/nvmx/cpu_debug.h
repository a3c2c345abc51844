/* A debugger's view of the CPU (src/cpu/debug.c), for the gdb stub. */
#ifndef NVMX_CPU_DEBUG_H
#define NVMX_CPU_DEBUG_H

#include "nvmx/cpu.h"

/* The physical address of lin as a data read at the current CPL would find
 * it, without faulting or charging cycles; false when it is not mapped (or
 * EPT is in use). */
bool cpu_debug_translate(struct cpu *c, uint64_t lin, uint64_t *pa);

#endif
