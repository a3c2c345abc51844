/* VMCS shadowing for the guest's VMREAD/VMWRITE (SDM 3C "VMCS Shadowing"),
 * when the processor offers it and the command line does not say
 * shadow=0. vmcs01's VMCS link pointer names a shadow VMCS while the guest
 * has a current vmcs12; the VMREAD/VMWRITE bitmaps let the fields a guest
 * hypervisor touches on every exit (exit information, RIP, RSP, RFLAGS,
 * event injection) go to the shadow VMCS without a VM exit. Every other
 * field exits and is emulated on the vmcs12 cache.
 *
 * The cache is authoritative while the turtle handles an exit, the shadow
 * VMCS while the guest runs: shadow_pull() before the turtle reads a
 * shadowed field of the cache (VMLAUNCH/VMRESUME, writing vmcs12 back),
 * shadow_push() after it writes them (VMPTRLD, a reflected exit). */
#include "turtle.h"

#include "rtstring.h"
#include "x86.h"

#define PROC2_VMCS_SHADOWING (1u << 14)
#define VMREAD_BITMAP_FIELD 0x2026u
#define VMWRITE_BITMAP_FIELD 0x2028u

static uint8_t shadow_vmcs[4096] __attribute__((aligned(4096)));
static uint8_t vmread_bitmap[4096] __attribute__((aligned(4096)));
static uint8_t vmwrite_bitmap[4096] __attribute__((aligned(4096)));
static bool shadow_on;

/* What a guest hypervisor reads or writes on every exit. */
static const uint32_t shadowed[] = {
    EXIT_REASON, EXIT_QUAL, EXIT_INTR_INFO, EXIT_INTR_ERRCODE, IDT_VECTORING_INFO,
    IDT_VECTORING_ERRCODE, EXIT_INSN_LEN, EXIT_INSN_INFO, GUEST_LINEAR,
    GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_INTERRUPTIBILITY, GUEST_CS_AR, GUEST_SS_AR,
    GUEST_CR3, ENTRY_INTR_INFO, ENTRY_EXC_ERRCODE, ENTRY_INSN_LEN,
};
#define NSHADOWED (sizeof(shadowed) / sizeof(shadowed[0]))
static bool field_shadowed[NSHADOWED];

bool shadow_enabled(void)
{
    return shadow_on;
}

void shadow_init(bool want)
{
    if (!want || !(vmx_ctls.proc & PROC_SECONDARY) ||
        !vmx_ctl_allowed(vmx_caps.proc2, PROC2_VMCS_SHADOWING))
        return;
    /* SDM 3C "VMREAD Bitmap and VMWRITE Bitmap": bit n (n = encoding bits
     * 14:0) clear means the access goes to the shadow VMCS. Exit-
     * information fields can be written into the shadow VMCS by the turtle
     * only if VMWRITE may write them (IA32_VMX_MISC[29]). */
    memset(vmread_bitmap, 0xff, sizeof(vmread_bitmap));
    memset(vmwrite_bitmap, 0xff, sizeof(vmwrite_bitmap));
    for (unsigned i = 0; i < NSHADOWED; i++) {
        uint32_t f = shadowed[i];
        if (vmcs_enc_type(f) == VMCS_TYPE_RO_DATA && !(vmx_caps.misc & VMX_MISC_VMWRITE_ANY))
            continue;
        if (vmcs12_index(f) < 0)
            continue;
        field_shadowed[i] = true;
        vmread_bitmap[f >> 3] &= (uint8_t) ~(1u << (f & 7));
        vmwrite_bitmap[f >> 3] &= (uint8_t) ~(1u << (f & 7));
    }
    /* A shadow VMCS: the revision identifier with bit 31 set (SDM 3C
     * "Format of the VMCS Region"). */
    vmx_region_init(shadow_vmcs, VMX_BASIC_REVISION(vmx_caps.basic) | (1u << 31));
    if (vmclear((uint64_t)shadow_vmcs) != VMX_OK)
        return;
    vmwrite(VMREAD_BITMAP_FIELD, (uint64_t)vmread_bitmap);
    vmwrite(VMWRITE_BITMAP_FIELD, (uint64_t)vmwrite_bitmap);
    vmwrite(VMCS_LINK_PTR, ~0ull);
    shadow_on = true;
}

/* The control is on only while the guest is in VMX operation: outside it,
 * VMREAD and VMWRITE must exit so that the turtle gives #UD (with the
 * control on, the processor would give VMfailInvalid; SDM 3C "VMREAD"). */
void shadow_vmx_operation(bool on)
{
    if (!shadow_on)
        return;
    if (on)
        vmx_ctls.proc2 |= PROC2_VMCS_SHADOWING;
    else
        vmx_ctls.proc2 &= ~PROC2_VMCS_SHADOWING;
    vmwrite(PROC2_CONTROLS, vmx_ctls.proc2);
}

/* vmcs01 is current. With no current vmcs12 the link pointer is all ones,
 * and the guest's VMREAD/VMWRITE give VMfailInvalid without an exit, as
 * the SDM's VMREAD/VMWRITE pseudocode has it. */
void shadow_link(bool on)
{
    if (shadow_on)
        vmwrite(VMCS_LINK_PTR, on ? (uint64_t)shadow_vmcs : ~0ull);
}

static void switch_to(void *region)
{
    if (vmptrld((uint64_t)region) != VMX_OK)
        turtle_fatal("VMPTRLD %p failed", region);
}

void shadow_push(void)
{
    if (!shadow_on || vcpu.vmcs12_ptr == ~0ull)
        return;
    switch_to(shadow_vmcs);
    for (unsigned i = 0; i < NSHADOWED; i++)
        if (field_shadowed[i])
            vmwrite(shadowed[i], v12(shadowed[i]));
    switch_to(vmcs01_region);
}

void shadow_pull(void)
{
    if (!shadow_on || vcpu.vmcs12_ptr == ~0ull)
        return;
    switch_to(shadow_vmcs);
    for (unsigned i = 0; i < NSHADOWED; i++)
        if (field_shadowed[i])
            v12_set(shadowed[i], vmread(shadowed[i]));
    switch_to(vmcs01_region);
}
