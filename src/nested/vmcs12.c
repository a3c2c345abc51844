/* vmcs12: the VMCS L1 made current, in L1's memory in nvmx's documented
 * layout (docs/vmcs-layout.md) and cached by L0 while current, as the
 * processor caches its current VMCS (SDM 3C "VMCS Status"; KVM's
 * cached_vmcs12). Without EPT01, L1-physical addresses are host-physical. */
#include "nested_internal.h"

/* With EPT01, L0's area is not L1's memory: L1-physical addresses there
 * read all-ones and writes are dropped, as EPT01 gives them to L1. */
static bool in_l0_area(const struct nested *n, uint64_t pa, unsigned size)
{
    return n->ept01 && pa + size > n->l1_mem && pa < n->l1_mem + NESTED_L0_AREA_SIZE;
}

uint64_t l1_phys_read(struct nested *n, uint64_t pa, unsigned size)
{
    if (in_l0_area(n, pa, size))
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    return cpu_phys_read(n->c, pa, size);
}

void l1_phys_write(struct nested *n, uint64_t pa, unsigned size, uint64_t val)
{
    if (!in_l0_area(n, pa, size))
        cpu_phys_write(n->c, pa, size, val);
}

uint64_t nested_phys_read_fn(void *ctx, uint64_t pa, unsigned size)
{
    return l1_phys_read((struct nested *)ctx, pa, size);
}

/* VMPTRLD: every field is read and marked dirty (the next merge writes
 * it), except, when the vmcs12 has a vmcs02 in the pool, the fields equal
 * to what that vmcs02 was merged from. */
void vmcs12_load(struct nested *n, uint64_t pa)
{
    struct vmcs12_cache *v12 = &n->v12;
    int k = vmcs02_pool_find(&n->pool, pa);
    const uint64_t *merged = k >= 0 ? n->pool.slot[k].merged : NULL;
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        uint64_t raw = l1_phys_read(n, pa + vmcs_fields[f].offset, 8);
        v12->f[f] = raw & vmcs_width_mask(vmcs_fields[f].width);
        v12->dirty[f] = !merged || merged[f] != v12->f[f];
    }
    v12->launched = l1_phys_read(n, pa + VMCS_LAUNCH_STATE_OFFSET, 4) == 1;
    v12->shadow = (l1_phys_read(n, pa + VMCS_REVISION_OFFSET, 4) & VMCS_SHADOW_INDICATOR) != 0;
    v12->ptr = pa;
}

/* Write the cache back: VMCLEAR, VMPTRLD of another VMCS, VMXOFF. */
void vmcs12_flush(struct nested *n)
{
    struct vmcs12_cache *v12 = &n->v12;
    if (v12->ptr == NESTED_INVALID_PTR)
        return;
    for (int f = 0; f < VMCS_NFIELDS; f++)
        l1_phys_write(n, v12->ptr + vmcs_fields[f].offset, 8, v12->f[f]);
    l1_phys_write(n, v12->ptr + VMCS_LAUNCH_STATE_OFFSET, 4, v12->launched ? 1 : 0);
}

/* SDM 3C "VMCLEAR": "launch state of VMCS referenced by the operand
 * <- clear". */
void vmcs12_clear_region(struct nested *n, uint64_t pa)
{
    l1_phys_write(n, pa + VMCS_LAUNCH_STATE_OFFSET, 4, 0);
}

void vmcs12_set(struct nested *n, enum vmcs_field f, uint64_t val)
{
    n->v12.f[f] = val & vmcs_width_mask(vmcs_fields[f].width);
    n->v12.dirty[f] = 1;
}

/* L1 sees the CPU model's CPUID: MAXPHYADDR and the linear-address width
 * (cpu_maxphyaddr(), cpu_linear_width()) and RTM. */
void vmcs12_view_facts(struct nested *n)
{
    struct cpu *c = n->c;
    n->maxphyaddr = cpu_maxphyaddr(c);
    n->linear_width = cpu_linear_width(c);
    n->rtm = cpu_has_feature(c, 7, 1, 11);
}

void vmcs12_view(struct nested *n, struct vmx_vmcs_view *vw)
{
    struct cpu *c = n->c;
    *vw = (struct vmx_vmcs_view){
        .f = n->v12.f,
        .vmcs_ptr = n->v12.ptr,
        .caps = &n->caps1,
        .maxphyaddr = n->maxphyaddr,
        .linear_width = n->linear_width,
        /* L1 is the entering processor: its EFER is the processor's while
         * L0 handles its exit (the native host keeps the guest's state). */
        .lma = (c->efer & EFER_LMA) != 0,
        .efer = c->efer,
        .rtm = n->rtm,
        .lbr = (cpu_debugctl_valid(c) & DEBUGCTL_LBR) != 0,
        .phys_read = nested_phys_read_fn,
        .ctx = n,
    };
}
