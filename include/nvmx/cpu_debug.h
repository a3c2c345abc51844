/* A debugger's view of the CPU (src/cpu/debug.c), for the gdb stub. */
#ifndef NVMX_CPU_DEBUG_H
#define NVMX_CPU_DEBUG_H

#include "nvmx/cpu.h"

/* The host-physical address of linear address lin through the current
 * paging and, in VMX non-root operation with EPT, through EPT; a read-only
 * walk with no side effect (no fault, VM exit, accessed/dirty flag, cycle
 * or statistic). Rights are not checked. False when lin is not mapped. */
bool cpu_debug_translate(struct cpu *c, uint64_t lin, uint64_t *pa);

/* The debugger's watchpoints (the gdb stub's Z2, Z3, Z4): up to
 * CPU_DEBUG_WATCHES ranges of at most 8 bytes of linear addresses. A data
 * access by the guest that overlaps one -- a read for CPU_WATCH_READ, a
 * write for CPU_WATCH_WRITE -- is recorded on the accesses that data
 * breakpoints see (their pages leave the software TLB), and the block ends
 * after the instruction. Not architectural: DR0-DR7, DR6 and the guest see
 * nothing of them. kinds 0 disarms the slot. */
#define CPU_DEBUG_WATCHES 4
enum { CPU_WATCH_READ = 1u << 0, CPU_WATCH_WRITE = 1u << 1 };
void cpu_debug_watch_set(struct cpu *c, unsigned slot, uint64_t lin, unsigned len,
                         unsigned kinds);
/* The slots hit since the last call (bit n: slot n), cleared. */
unsigned cpu_debug_watch_hits(struct cpu *c);

#endif
