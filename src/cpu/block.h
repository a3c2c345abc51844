/* Private to src/cpu: predecoded blocks and the run loop's view of them. */
#ifndef NVMX_CPU_BLOCK_H
#define NVMX_CPU_BLOCK_H

#include "cpu_internal.h"

#define BLOCK_MAX_INSNS 64

/* A direct link to the block that followed this one, in 64-bit code (where
 * the linear address is RIP). Valid for the same RIP under the same
 * link_key: the TLB and code-page generations and the code size and CPL
 * class, the same conditions as a jump-cache entry. */
struct block_link {
    uint64_t rip;
    uint64_t key;
    const struct block *b;
};

struct block {
    struct block *next; /* hash chain */
    struct block_link link[2];
    uint8_t link_victim; /* which link the next miss replaces */
    bool linkable;       /* cached in the arena (not the one-off scratch block) */
    uint64_t pa;        /* physical address of the first byte, ~0 = uncached */
    uint32_t gen;       /* page generation when decoded */
    uint32_t cycles;    /* sum of the instructions' cost classes */
    uint32_t nbytes;    /* bytes from the first instruction to the end */
    uint16_t n;
    uint8_t code_size;
    struct insn insns[]; /* n instructions, then the end marker */
};

#define BC_HASH_BITS 14
#define BC_HASH_SIZE (1u << BC_HASH_BITS)
#define JC_SIZE 4096

/* Jump cache: linear RIP -> block, skipping translation and hashing. An
 * entry is valid while no TLB flush and no code-page invalidation happened
 * since it was made (code_gen), for the same code size, CPL class and CS
 * limit. */
struct jc_entry {
    uint64_t lin;
    const struct block *b;
    uint32_t code_gen;
    uint32_t cs_limit;
    uint8_t mode; /* code_size | (CPL == 3) << 4 */
};

struct block_cache {
    struct block *hash[BC_HASH_SIZE];
    uint8_t *arena;
    size_t used;
    uint64_t npages;
    uint32_t *page_gen; /* per RAM page */
    uint8_t *page_code; /* per RAM page: blocks were decoded from it */
    /* Jump cache: linear RIP -> block, skipping translation and hashing.
     * Valid while the TLB generation and the block's page generation hold. */
    struct jc_entry jc[JC_SIZE];
    uint32_t smc_gen; /* bumped when a code page is invalidated */
    uint32_t flushes; /* arena flushes: blocks from before are gone */
    /* One-off block for code that cannot be cached (MMIO, page-crossing). */
    _Alignas(16) uint8_t scratch[sizeof(struct block) + (BLOCK_MAX_INSNS + 1) * sizeof(struct insn)];
    /* A block cut short (single steps, instruction limits). */
    _Alignas(16) uint8_t cut[sizeof(struct block) + (BLOCK_MAX_INSNS + 1) * sizeof(struct insn)];
};

static inline struct jc_entry *jc_slot(struct block_cache *bc, uint64_t lin)
{
    return &bc->jc[(lin ^ (lin >> 12)) & (JC_SIZE - 1)];
}

bool block_cache_init(struct cpu *c);
void block_cache_free(struct cpu *c);
const struct block *block_lookup_slow(struct cpu *c);

/* Find or build the block at c->rip. May fault (fetch #PF/#GP). */
static inline const struct block *block_lookup(struct cpu *c)
{
    struct block_cache *bc = c->bc;
    uint64_t lin = c->seg[SEG_CS].base + c->rip;
    if (c->mode != MODE_LONG64)
        lin &= 0xffffffffull;
    const struct jc_entry *j = jc_slot(bc, lin);
    if (likely(j->lin == lin && j->code_gen == c->tlb_gen + bc->smc_gen &&
               j->mode == (uint8_t)(c->code_size | (c->cpl == 3) << 4) &&
               (c->mode == MODE_LONG64 || j->cs_limit == c->seg[SEG_CS].limit)))
        return j->b;
    return block_lookup_slow(c);
}
/* The key block links are made under (struct block_link). */
static inline uint64_t link_key(const struct cpu *c)
{
    return (uint64_t)(c->tlb_gen + c->bc->smc_gen) |
           (uint64_t)(c->code_size | (c->cpl == 3) << 4) << 32;
}

/* The block at c->rip after b, through b's links when they hold. key is
 * link_key(c), which the caller knows is unchanged since b ran. */
static inline const struct block *block_next(struct cpu *c, const struct block *b, uint64_t key)
{
    if (b->link[0].rip == c->rip && b->link[0].key == key)
        return b->link[0].b;
    if (b->link[1].rip == c->rip && b->link[1].key == key)
        return b->link[1].b;
    uint32_t flushes = c->bc->flushes;
    const struct block *n = block_lookup(c);
    if (b->linkable && n->linkable && c->mode == MODE_LONG64 && c->bc->flushes == flushes) {
        struct block *w = (struct block *)b; /* links are a cache beside the code */
        w->link[w->link_victim] = (struct block_link){c->rip, key, n};
        w->link_victim ^= 1;
    }
    return n;
}

/* The end marker's exec handler: sets c->rip after the last instruction. */
const struct insn *cpu_exec_block_end(struct cpu *c, const struct insn *in);
/* Swap in a specialised handler for common register/immediate forms
 * (src/cpu/fastpath.c). */
void cpu_specialize(struct insn *in, unsigned code_size);
/* Fuse a flags producer with the JZ/JNZ after it (fastpath.c), and undo it
 * for a block cut after the producer. */
void cpu_fuse(struct insn *prev, const struct insn *jcc);
void cpu_unfuse(struct insn *in);
/* Drop the flags record of prev when next overwrites all the flags first
 * (fastpath.c); cpu_unfuse undoes it too. */
void cpu_drop_dead_flags(struct insn *prev, const struct insn *next);

#endif
