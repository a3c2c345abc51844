/* Private to src/cpu: the DR0-DR3 breakpoints as the run loop, the memory
 * paths and port I/O check them (src/cpu/breakpoint.c). */
#ifndef NVMX_CPU_BREAKPOINT_H
#define NVMX_CPU_BREAKPOINT_H

#include "cpu_internal.h"

/* Bytes of a LENn encoding (include/nvmx/dr7.def). */
unsigned bp_len_bytes(unsigned len_field);
/* Derive the armed breakpoints from DR0-DR3 and DR7 (pure; tests use it). */
void bp_arm(struct cpu_breakpoints *bp, const uint64_t dr[8]);
/* The breakpoints of mask whose range overlaps [addr, addr + size): B0-B3
 * bits (SDM 3B "Breakpoint Field Recognition"). */
uint64_t bp_match(const struct cpu_breakpoints *bp, unsigned mask, uint64_t addr, unsigned size);

/* Does a data breakpoint or a debugger watchpoint lie on the 4-KByte linear
 * page of lin? Such a page stays out of the software TLB, so every access
 * to it takes the slow path. */
static inline bool bp_page_armed(const struct cpu *c, uint64_t lin)
{
    for (unsigned m = c->bp.data, n = 0; m; m >>= 1, n++)
        if ((m & 1) && (c->bp.addr[n] >> 12) == (lin >> 12))
            return true;
    for (unsigned m = c->watch.armed, n = 0; m; m >>= 1, n++)
        if ((m & 1) && ((c->watch.addr[n] >> 12) == (lin >> 12) ||
                        ((c->watch.addr[n] + c->watch.len[n] - 1) >> 12) == (lin >> 12)))
            return true;
    return false;
}

/* A data access that completed: record the traps it hit. */
void bp_data_access(struct cpu *c, uint64_t lin, unsigned size, bool write);
/* An I/O access that completed (IN, OUT, INS, OUTS). */
void bp_io_access(struct cpu *c, uint16_t port, unsigned size);
/* The DR6 bits of the instruction breakpoints at linear address lin. */
static inline uint64_t bp_insn_at(const struct cpu *c, uint64_t lin)
{
    return bp_match(&c->bp, c->bp.insn, lin, 1);
}

#endif
