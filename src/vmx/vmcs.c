/* VMCS regions in guest-physical memory and the processor's cache of the
 * current VMCS. The layout (docs/vmcs-layout.md, include/nvmx/vmcs.h) is
 * nvmx's own: SDM 3C "Format of the VMCS Region" fixes only the first 8
 * bytes and leaves the rest implementation-specific. */
#include "vmx_internal.h"

static uint64_t slot_pa(uint64_t pa, enum vmcs_field f) { return pa + vmcs_fields[f].offset; }

/* Little-endian 8-byte slots of a region in RAM (the fast path of
 * vmcs_load / vmcs_flush; the same bytes cpu_phys_read/write would move). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "guest RAM is little-endian host memory");
static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* VMPTRLD: the region at pa becomes the current VMCS; its fields, launch
 * state and shadow-VMCS indicator are read into the processor. Slots hold
 * whatever software may have poked: values are masked to the field width,
 * so the cache is always well formed (SDM 3C "Software Use of the VMCS and
 * Related Structures": such contents are undefined, nvmx's are deterministic). */
void vmcs_load(struct vmx *v, uint64_t pa)
{
    struct cpu *c = v->cpu;
    const uint8_t *ram = cpu_phys_ram(c, pa, VMCS_REGION_SIZE);
    for (int f = 0; f < VMCS_NFIELDS; f++)
        vmcs_set(v, (enum vmcs_field)f,
                 ram ? ld64(ram + vmcs_fields[f].offset)
                     : cpu_phys_read(c, slot_pa(pa, (enum vmcs_field)f), 8));
    uint32_t state = (uint32_t)cpu_phys_read(c, pa + VMCS_LAUNCH_STATE_OFFSET, 4);
    v->launch_state = state == VMCS_STATE_LAUNCHED ? VMCS_STATE_LAUNCHED : VMCS_STATE_CLEAR;
    uint32_t rev = (uint32_t)cpu_phys_read(c, pa + VMCS_REVISION_OFFSET, 4);
    v->shadow_vmcs_current = (rev & VMCS_SHADOW_INDICATOR) != 0;
    v->current_vmcs = pa;
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
    uint8_t *ram = cpu_phys_ram(c, pa, VMCS_REGION_SIZE);
    if (ram) {
        for (int f = 0; f < VMCS_NFIELDS; f++)
            st64(ram + vmcs_fields[f].offset, v->vmcs.f[f]);
        cpu_phys_ram_written(c, pa + VMCS_DATA_OFFSET, VMCS_REGION_SIZE - VMCS_DATA_OFFSET);
    } else {
        for (int f = 0; f < VMCS_NFIELDS; f++)
            cpu_phys_write(c, slot_pa(pa, (enum vmcs_field)f), 8, v->vmcs.f[f]);
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
