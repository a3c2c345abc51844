/* VMCS regions in guest-physical memory and the processor's cache of the
 * current VMCS. The layout (docs/vmcs-layout.md, include/nvmx/vmcs.h) is
 * nvmx's own: SDM 3C "Format of the VMCS Region" fixes only the first 8
 * bytes and leaves the rest implementation-specific. */
#include "vmx_internal.h"

static uint64_t slot_pa(uint64_t pa, enum vmcs_field f) { return pa + vmcs_fields[f].offset; }

/* Regions in RAM are copied whole (the fast path of vmcs_load /
 * vmcs_flush; the same bytes cpu_phys_read/write would move). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "guest RAM is little-endian host memory");

/* Each field's width mask, from the field list. */
static const uint64_t field_mask[VMCS_NFIELDS] = {
#define VMCS_FIELD(n, e, w, s, m) [VMCS_##n] = VMCS_MASK_##w,
#define VMCS_MASK_U16 0xffffull
#define VMCS_MASK_U32 0xffffffffull
#define VMCS_MASK_U64 (~0ull)
#define VMCS_MASK_NAT (~0ull)
#include "nvmx/vmcs_fields.def"
#undef VMCS_FIELD
};
/* The fields lie in .def order, 8 bytes each, from VMCS_DATA_OFFSET
 * (vmcs_fields.c), so a region's data is one array like the cache's. */
_Static_assert(sizeof(struct vmcs_cache) == 8 * VMCS_NFIELDS, "the cache is the fields");
#define VMCS_DATA_SIZE (8u * VMCS_NFIELDS)

/* VMPTRLD: the region at pa becomes the current VMCS; its fields, launch
 * state and shadow-VMCS indicator are read into the processor (into
 * *v->vmcs). Slots hold whatever software may have poked: values are
 * masked to the field width, so the cache is always well formed (SDM 3C
 * "Software Use of the VMCS and Related Structures": such contents are
 * undefined, nvmx's are deterministic). */
void vmcs_load(struct vmx *v, uint64_t pa)
{
    struct cpu *c = v->cpu;
    uint64_t *f = v->vmcs->f;
    const uint8_t *ram = cpu_phys_ram(c, pa, VMCS_REGION_SIZE);
    if (ram)
        memcpy(f, ram + VMCS_DATA_OFFSET, VMCS_DATA_SIZE);
    else
        for (int i = 0; i < VMCS_NFIELDS; i++)
            f[i] = cpu_phys_read(c, slot_pa(pa, (enum vmcs_field)i), 8);
    for (int i = 0; i < VMCS_NFIELDS; i++)
        f[i] &= field_mask[i];
    uint32_t state = (uint32_t)cpu_phys_read(c, pa + VMCS_LAUNCH_STATE_OFFSET, 4);
    v->launch_state = state == VMCS_STATE_LAUNCHED ? VMCS_STATE_LAUNCHED : VMCS_STATE_CLEAR;
    uint32_t rev = (uint32_t)cpu_phys_read(c, pa + VMCS_REVISION_OFFSET, 4);
    v->shadow_vmcs_current = (rev & VMCS_SHADOW_INDICATOR) != 0;
    v->current_vmcs = pa;
    v->vmcs_written = false;
}

/* Write the cached current VMCS back to its region. The revision
 * identifier and the VMX-abort indicator belong to software and the abort
 * path; they are not touched. */
void vmcs_flush(struct vmx *v)
{
    struct cpu *c = v->cpu;
    uint64_t pa = v->current_vmcs;
    if (pa == VMX_INVALID_PTR)
        return;
    const uint64_t *f = v->vmcs->f;
    uint8_t *ram = cpu_phys_ram(c, pa, VMCS_REGION_SIZE);
    if (ram) {
        memcpy(ram + VMCS_DATA_OFFSET, f, VMCS_DATA_SIZE);
        cpu_phys_ram_written(c, pa + VMCS_DATA_OFFSET, VMCS_REGION_SIZE - VMCS_DATA_OFFSET);
    } else {
        for (int i = 0; i < VMCS_NFIELDS; i++)
            cpu_phys_write(c, slot_pa(pa, (enum vmcs_field)i), 8, f[i]);
    }
    cpu_phys_write(c, pa + VMCS_LAUNCH_STATE_OFFSET, 4, v->launch_state);
}

uint64_t vmcs_mem_read(struct vmx *v, uint64_t pa, enum vmcs_field f)
{
    return cpu_phys_read(v->cpu, slot_pa(pa, f), 8) & vmcs_width_mask(vmcs_fields[f].width);
}

void vmcs_mem_write(struct vmx *v, uint64_t pa, enum vmcs_field f, uint64_t val)
{
    cpu_phys_write(v->cpu, slot_pa(pa, f), 8, val & vmcs_width_mask(vmcs_fields[f].width));
}

/* VMCLEAR of a region: "initialize implementation-specific data in VMCS
 * region; launch state := clear" (SDM 3C "VMCLEAR -- Clear Virtual-Machine
 * Control Structure"). nvmx's only such datum is the launch state. */
void vmcs_mem_clear(struct vmx *v, uint64_t pa)
{
    cpu_phys_write(v->cpu, pa + VMCS_LAUNCH_STATE_OFFSET, 4, VMCS_STATE_CLEAR);
}
