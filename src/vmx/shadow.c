/* VMCS shadowing as hardware (SDM 3C "VMCS Types: Ordinary and Shadow",
 * "VMCS Shadowing Bitmap Addresses", and the "Operation" sections of
 * "VMREAD" and "VMWRITE"): the VMREAD/VMWRITE-bitmap test that decides
 * whether an access in VMX non-root operation exits, and the accesses to the
 * shadow VMCS (the one the VMCS link pointer references) that do not. */
#include "vmx_internal.h"

/* SDM 3C "VMREAD"/"VMWRITE" Operation: in VMX non-root operation the
 * instruction causes a VM exit if "'VMCS shadowing' is 0 OR secondary source
 * operand sets bits in range 63:15 OR VMREAD [VMWRITE] bit corresponding to
 * bits 14:0 of secondary source operand is 1". Bit n of a 4-KByte bitmap is
 * bit n mod 8 of its byte n / 8 (SDM 3C "VMCS Shadowing Bitmap Addresses"). */
bool vmx_shadow_bitmap_exits(bool shadowing, uint64_t bitmap_pa, uint64_t encoding,
                             uint8_t (*read8)(void *ctx, uint64_t pa), void *ctx)
{
    if (!shadowing || (encoding >> 15) != 0)
        return true;
    uint8_t byte = read8(ctx, bitmap_pa + (encoding >> 3));
    return ((byte >> (encoding & 7)) & 1) != 0;
}

/* The default VMREAD/VMWRITE bitmaps a hypervisor gives its guest, from the
 * shadow column of vmcs_fields.def: RO fields are read without an exit, RW
 * fields read and written; for a 64-bit field the high-half encoding too.
 * Every other bit is 1 (the access exits). */
void vmx_shadow_default_bitmaps(uint8_t vmread_bitmap[4096], uint8_t vmwrite_bitmap[4096])
{
    memset(vmread_bitmap, 0xff, 4096);
    memset(vmwrite_bitmap, 0xff, 4096);
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        const struct vmcs_field_info *fi = &vmcs_fields[f];
        if (fi->shadow == VMCS_SH_NO)
            continue;
        unsigned n = fi->width == VMCS_W_U64 ? 2 : 1;
        for (unsigned h = 0; h < n; h++) {
            unsigned bit = (fi->encoding + h) & 0x7fffu;
            vmread_bitmap[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
            if (fi->shadow == VMCS_SH_RW)
                vmwrite_bitmap[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
        }
    }
}

static uint8_t phys_read8(void *ctx, uint64_t pa)
{
    return (uint8_t)cpu_phys_read((struct cpu *)ctx, pa, 1);
}

bool vmx_shadow_intercept(struct cpu *c, struct vmx *v, uint64_t encoding, bool write)
{
    bool shadowing = (v->proc2 & PROC2_VMCS_SHADOWING) != 0;
    uint64_t bitmap = vmcs_get(v, write ? VMCS_vmwrite_bitmap : VMCS_vmread_bitmap);
    if (vmx_shadow_bitmap_exits(shadowing, bitmap, encoding, phys_read8, c))
        return true;
    /* Satisfied without a VM exit: counted, and charged its own class on
     * top of the instruction's (configs/cost/default.json). */
    if (write)
        v->stats.shadow_vmwrites++;
    else
        v->stats.shadow_vmreads++;
    if (c->cost)
        c->cycles += c->cost->cycles[COST_vmcs_shadow_access];
    return false;
}

/* "VMCS link pointer is not valid" in the VMREAD/VMWRITE pseudocode: VM
 * entry has checked any other value against the revision identifier and
 * the shadow-VMCS indicator (SDM 3C "Checks on Guest Non-Register State"),
 * so only FFFFFFFF_FFFFFFFFH remains invalid here. */
uint64_t vmx_shadow_vmcs(const struct vmx *v) { return vmcs_get(v, VMCS_vmcs_link_pointer); }

/* The shadow VMCS is never the current VMCS (VM entry requires the link
 * pointer to differ from it), so its fields live in its region. */
uint64_t vmx_shadow_read(struct vmx *v, enum vmcs_field f)
{
    return vmcs_mem_read(v, vmx_shadow_vmcs(v), f);
}

void vmx_shadow_write(struct vmx *v, enum vmcs_field f, uint64_t val)
{
    vmcs_mem_write(v, vmx_shadow_vmcs(v), f, val);
}
