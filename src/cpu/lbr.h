/* Private to src/cpu: last branch recording (src/cpu/lbr.c). */
#ifndef NVMX_CPU_LBR_H
#define NVMX_CPU_LBR_H

#include "cpu_internal.h"

/* MSR_LBR_SELECT (SDM 3B "Filtering of Last Branch Records"): a set bit
 * suppresses the records of that kind. */
#define LBR_SEL_CPL_EQ_0 (1u << 0)
#define LBR_SEL_CPL_NEQ_0 (1u << 1)
#define LBR_SEL_JCC (1u << 2)
#define LBR_SEL_NEAR_REL_CALL (1u << 3)
#define LBR_SEL_NEAR_IND_CALL (1u << 4)
#define LBR_SEL_NEAR_RET (1u << 5)
#define LBR_SEL_NEAR_IND_JMP (1u << 6)
#define LBR_SEL_NEAR_REL_JMP (1u << 7)
#define LBR_SEL_FAR_BRANCH (1u << 8)
#define LBR_SEL_IMPLEMENTED 0x1ffu

/* Is index an LBR MSR of this model? Then lbr_rdmsr/lbr_wrmsr handle it
 * (false: #GP(0)). */
bool lbr_msr(const struct cpu *c, uint32_t index);
bool lbr_rdmsr(struct cpu *c, uint32_t index, uint64_t *val);
bool lbr_wrmsr(struct cpu *c, uint32_t index, uint64_t val);

/* The LBR_SELECT kind of a branch instruction (LBR_SEL_*). */
unsigned lbr_kind(const struct insn *in);
/* Record a taken branch, interrupt or exception from linear address from
 * to linear address to, unless LBR_SELECT filters it. */
void lbr_record(struct cpu *c, uint64_t from, uint64_t to, unsigned kind);

#endif
