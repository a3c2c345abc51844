/* Private to src/cpu: predecoded blocks and the run loop's view of them. */
#ifndef NVMX_CPU_BLOCK_H
#define NVMX_CPU_BLOCK_H

#include "cpu_internal.h"

#define BLOCK_MAX_INSNS 64

struct block {
    struct block *next; /* hash chain */
    uint64_t pa;        /* physical address of the first byte, ~0 = uncached */
    uint32_t gen;       /* page generation when decoded */
    uint32_t cycles;    /* sum of the instructions' cost classes */
    uint16_t n;
    uint8_t code_size;
    struct insn insns[];
};

bool block_cache_init(struct cpu *c);
void block_cache_free(struct cpu *c);
const struct block *block_lookup(struct cpu *c);

#endif
