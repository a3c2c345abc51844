/* Private to the specialisers (src/cpu/fastpath*.c): helpers shared by the
 * exec handlers. The rules they follow are in fastpath.c's opening comment
 * and at insn_exec in cpu_internal.h. */
#ifndef NVMX_CPU_FASTPATH_H
#define NVMX_CPU_FASTPATH_H

#include "block.h"
#include "ops_gp.h"

/* Register index of operand i when it is a GPR, else -1. */
static inline int reg_of(const struct insn *in, unsigned i)
{
    switch (in->opk[i]) {
    case OPK_REG: return in->reg;
    case OPK_RM: return in->mod == 3 ? in->rm : -1;
    case OPK_OPREG: return in->rm;
    case OPK_ACC: return 0;
    default: return -1;
    }
}

/* Address of the instruction after in (64-bit code: no truncation). */
static inline uint64_t next_rip(const struct cpu *c, const struct insn *in)
{
    return c->block_rip + in->off + in->len;
}

/* Leave the block for RIP = t. */
static inline const struct insn *leave(struct cpu *c, const struct insn *in, uint64_t t)
{
    c->rip = t;
    return in;
}

/* The host address of size bytes at linear address lin, through the TLB
 * half tlb for this kind of access (c->tlb_rd, c->tlb_wr): true on a hit
 * whose bytes do not cross the page. The entry is looked up by lin's page
 * and compared with the page of the last byte, which fails for a crossing
 * access. A TLB entry exists only for a canonical address that passed the
 * paging checks (and, for writes, for a page without predecoded code). */
static inline bool tlb_host(const struct tlb_entry *tlb, uint64_t lin, unsigned size,
                            uint8_t **host)
{
    const struct tlb_entry *e = &tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if (unlikely(e->tag != ((lin + size - 1) >> 12) + 1))
        return false;
    *host = (uint8_t *)(lin + e->addend);
    return true;
}

/* 64-bit memory forms: MOV, MOVZX/MOVSX/MOVSXD, LEA, load-and-operate ALU,
 * CMP/TEST against memory, PUSH/POP of a register (src/cpu/fastpath_mem.c).
 * Returns true if it specialised in. */
bool cpu_specialize_mem64(struct insn *in);
/* Register forms of NEG, NOT, SETcc, CMOVcc, MOVZX/MOVSX/MOVSXD, XCHG
 * (src/cpu/fastpath_misc.c). Returns true if it specialised in. */
bool cpu_specialize_misc(struct insn *in);
/* 128-bit SSE moves and bitwise/integer operations in 64-bit code
 * (src/cpu/fastpath_sse.c). Returns true if it specialised in. */
bool cpu_specialize_sse(struct insn *in);

#endif
