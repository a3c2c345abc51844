/* The vmcs02 pool's bookkeeping (vmcs02_pool.h). */
#include "vmcs02_pool.h"

#include <string.h>

void vmcs02_pool_init(struct vmcs02_pool *p, unsigned size)
{
    memset(p, 0, sizeof *p);
    p->size = size < 1 ? 1 : size > VMCS02_POOL_MAX ? VMCS02_POOL_MAX : size;
    for (unsigned i = 0; i < VMCS02_POOL_MAX; i++)
        p->slot[i].vmcs12 = VMCS02_POOL_FREE;
}

int vmcs02_pool_find(const struct vmcs02_pool *p, uint64_t vmcs12)
{
    for (unsigned i = 0; i < p->size; i++)
        if (p->slot[i].vmcs12 == vmcs12)
            return (int)i;
    return -1;
}

unsigned vmcs02_pool_get(struct vmcs02_pool *p, uint64_t vmcs12, bool *fresh, uint64_t *evicted)
{
    int k = vmcs02_pool_find(p, vmcs12);
    *evicted = VMCS02_POOL_FREE;
    *fresh = k < 0;
    if (k >= 0) {
        p->hits++;
    } else {
        /* a free slot first (lowest index), else the least recently used */
        unsigned victim = 0;
        for (unsigned i = 0; i < p->size; i++) {
            if (p->slot[i].vmcs12 == VMCS02_POOL_FREE) {
                victim = i;
                break;
            }
            if (p->slot[i].used < p->slot[victim].used)
                victim = i;
        }
        k = (int)victim;
        struct vmcs02_slot *s = &p->slot[k];
        if (s->vmcs12 != VMCS02_POOL_FREE) {
            *evicted = s->vmcs12;
            p->evictions++;
        }
        p->misses++;
        s->vmcs12 = vmcs12;
        s->last_vpid12 = VMCS02_POOL_FREE;
        s->started = false;
    }
    p->slot[k].used = ++p->clock;
    return (unsigned)k;
}

int vmcs02_pool_drop(struct vmcs02_pool *p, uint64_t vmcs12)
{
    int k = vmcs02_pool_find(p, vmcs12);
    if (k >= 0) {
        p->slot[k].vmcs12 = VMCS02_POOL_FREE;
        p->slot[k].used = 0;
    }
    return k;
}

void vmcs02_pool_drop_all(struct vmcs02_pool *p)
{
    for (unsigned i = 0; i < p->size; i++) {
        p->slot[i].vmcs12 = VMCS02_POOL_FREE;
        p->slot[i].used = 0;
    }
}
