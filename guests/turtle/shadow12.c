/* VMCS shadowing offered to the guest (shadow=1, the default): the guest
 * may set "VMCS shadowing" in its vmcs12, with a shadow VMCS behind the
 * VMCS link pointer and VMREAD/VMWRITE bitmaps, and its own guest's
 * VMREAD/VMWRITE then go to that shadow VMCS without a VM exit to the guest
 * (SDM 3C "VMCS Shadowing", "VMREAD", "VMWRITE").
 *
 * The turtle emulates the control whether or not the processor it sees
 * has it, the way KVM does for its L1 (handle_vmread on the shadow vmcs12):
 * vmcs02 runs without "VMCS shadowing", so every VMREAD and VMWRITE of the
 * guest's guest exits to the turtle. The turtle reflects the exit when
 * vmcs12 asks for it (control 0, bits 63:15 of the encoding set, bitmap
 * bit 1) and otherwise does the access on the shadow VMCS in the guest's
 * memory (vmcs12.c's layout) and resumes vmcs02: one round trip to the
 * turtle instead of one through the guest's own exit handler. */
#include "turtle.h"

#include "x86.h"

/* Filled by shadow12_exception() while an access is done, for the exit
 * that reflects an exception the guest intercepts. */
static struct shadow12_exit *pending;

bool shadow12_offered(void)
{
    return topts.nested && topts.shadow;
}

bool shadow12_on(void)
{
    return (v12(PROC_CONTROLS) & PROC_SECONDARY) && (v12(PROC2_CONTROLS) & PROC2_VMCS_SHADOWING);
}

bool shadow12_field_emulated(uint32_t encoding)
{
    return encoding == VMREAD_BITMAP || encoding == VMWRITE_BITMAP;
}

/* SDM 3C "Checks on VM-Execution Control Fields": with "VMCS shadowing",
 * each bitmap address has bits 11:0 clear and no bit beyond the
 * physical-address width. (The link pointer is a guest-state check,
 * nested.c.) */
bool shadow12_controls_ok(void)
{
    if (!shadow12_on())
        return true;
    uint64_t rd = v12(VMREAD_BITMAP), wr = v12(VMWRITE_BITMAP);
    return !((rd | wr) & 0xfff) && !((rd | wr) >> vmx_caps.maxphyaddr);
}

/* Bit (encoding bits 14:0) of a bitmap at guest-physical pa; a bitmap
 * outside the guest's memory reads as all ones (every access exits). */
static bool bitmap_bit(uint64_t pa, uint64_t encoding)
{
    if (!gmem_phys_ok(pa, 4096))
        return true;
    const volatile uint8_t *b = phys_ptr(pa);
    return (b[(encoding & 0x7fff) >> 3] >> (encoding & 7)) & 1;
}

/* SDM 3C "Exception Bitmap": a page fault exits iff (PFEC & mask) ==
 * match when bit 14 is 1, iff they differ when it is 0. */
static bool guest_intercepts(unsigned vector, uint32_t error)
{
    bool bit = (v12(EXCEPTION_BITMAP) >> vector) & 1;
    if (vector != 14)
        return bit;
    return ((error & v12(PF_ERRCODE_MASK)) == v12(PF_ERRCODE_MATCH)) == bit;
}

void shadow12_exception(unsigned vector, bool has_error, uint32_t error, uint64_t cr2)
{
    if (pending && guest_intercepts(vector, has_error ? error : 0)) {
        /* SDM 3C "Basic VM-Exit Information": the interruption
         * information, the error code, and for #PF the linear address as
         * the qualification (CR2 is not written). */
        pending->intr_info = vector | INTR_TYPE_HW_EXC | INTR_VALID | (has_error ? INTR_ERRCODE : 0);
        pending->error = has_error ? error : 0;
        pending->qual = vector == 14 ? cr2 : 0;
        return;
    }
    if (vector == 14)
        __asm__ volatile("mov %0, %%cr2" : : "r"(cr2) : "memory");
    inject_exception(vector, has_error, error);
}

bool shadow12_vmcs_access(regs_t *r, uint32_t reason, struct shadow12_exit *out)
{
    uint32_t info = (uint32_t)vmread(EXIT_INSN_INFO);
    uint64_t encoding, link;

    /* SDM 3C "VMREAD"/"VMWRITE", VMX non-root operation: a VM exit if
     * "VMCS shadowing" is 0, the encoding (the register of bits 31:28 of
     * the instruction information, 32 bits outside 64-bit mode) sets a bit
     * in 63:15, or its bit in the VMREAD/VMWRITE bitmap is 1. The #UD
     * conditions come before the exit and are the processor's. */
    if (!shadow12_on())
        return false;
    gmem_for_l3(true);
    encoding = gpr_read(r, info >> 28);
    if (!gmem_long64())
        encoding = (uint32_t)encoding;
    if ((encoding >> 15) ||
        bitmap_bit(v12(reason == EXIT_VMREAD ? VMREAD_BITMAP : VMWRITE_BITMAP), encoding)) {
        gmem_for_l3(false);
        return false;
    }
    /* No exit: #GP(0) at CPL > 0; VMfailInvalid if the link pointer is
     * not valid; then the access on the shadow VMCS it references, whose
     * VMfailValid numbers go to the current VMCS (vmcs12). */
    pending = out;
    link = v12(VMCS_LINK_PTR);
    if (guest_cpl())
        shadow12_exception(13, true, 0, 0);
    else if (link == ~0ull)
        vm_fail_invalid();
    else if (reason == EXIT_VMREAD)
        vmx_emul_vmread(r, vmcs12_slots(link));
    else
        vmx_emul_vmwrite(r, vmcs12_slots(link));
    pending = 0;
    gmem_for_l3(false);
    return !out->intr_info;
}
