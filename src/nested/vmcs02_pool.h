/* The vmcs02 pool of the built-in L0: one vmcs02 per vmcs12 L1 enters,
 * keyed by the vmcs12's address, least recently used evicted (nVMX v9's
 * VMCS02_POOL_SIZE). Pure bookkeeping: which slot a vmcs12 gets and
 * whether it must start afresh; the caller does the VMCLEAR. */
#ifndef NVMX_NESTED_VMCS02_POOL_H
#define NVMX_NESTED_VMCS02_POOL_H

#include "nvmx/nested.h"
#include "nvmx/vmcs.h"

#include <stdbool.h>
#include <stdint.h>

#define VMCS02_POOL_MAX NESTED_VMCS02_POOL_MAX
#define VMCS02_POOL_FREE (~0ull)

struct vmcs02_slot {
    uint64_t vmcs12;     /* the vmcs12 it was merged from; VMCS02_POOL_FREE */
    uint64_t used;       /* LRU clock at its last use */
    uint64_t last_vpid12; /* vmcs12's VPID at the last entry (vpid.c) */
    bool started;        /* merged and entered since it was taken */
    /* vmcs12's fields as of the last merge into this vmcs02: after a
     * VMPTRLD only the fields that differ are dirty */
    uint64_t merged[VMCS_NFIELDS];
};

struct vmcs02_pool {
    unsigned size; /* 1..VMCS02_POOL_MAX */
    uint64_t clock;
    struct vmcs02_slot slot[VMCS02_POOL_MAX];
    uint64_t hits, misses, evictions;
};

void vmcs02_pool_init(struct vmcs02_pool *p, unsigned size);
/* The slot of vmcs12 (a hit), else a free slot or the least recently used
 * one, now keyed by vmcs12 (*fresh = true; *evicted = the vmcs12 it held,
 * or VMCS02_POOL_FREE). Marks the slot used. */
unsigned vmcs02_pool_get(struct vmcs02_pool *p, uint64_t vmcs12, bool *fresh, uint64_t *evicted);
/* The slot holding vmcs12, or -1 (no use recorded). */
int vmcs02_pool_find(const struct vmcs02_pool *p, uint64_t vmcs12);
/* Free the slot of vmcs12 (VMCLEAR of it by L1), or every slot (VMXOFF):
 * returns the slot freed or -1. */
int vmcs02_pool_drop(struct vmcs02_pool *p, uint64_t vmcs12);
void vmcs02_pool_drop_all(struct vmcs02_pool *p);

#endif
