/* EPT-violation #VE (SDM 3C "Virtualization Exceptions", "Convertible EPT
 * Violations", "Virtualization-Exception Information", "Delivery of
 * Virtualization Exceptions"): with the "EPT-violation #VE" control, an EPT
 * violation whose deciding EPT entry has suppress-#VE 0 becomes a #VE
 * (vector 20) in the guest, with its details in the virtualization-
 * exception information area, instead of a VM exit; plus the VM-entry
 * check on that area's address. */
#include "entry_internal.h"

#include "nvmx/ept.h"

/* Table "Format of the Virtualization-Exception Information Area" */
#define VE_EXIT_REASON 0
#define VE_BUSY 4 /* FFFFFFFFH once written; 0 lets the next #VE through */
#define VE_QUALIFICATION 8
#define VE_GUEST_LINEAR 16
#define VE_GUEST_PHYSICAL 24
#define VE_EPTP_INDEX 32

/* SDM 3C "Checks on VM-Execution Control Fields": "If the 'EPT-violation
 * #VE' VM-execution control is 1, the virtualization-exception information
 * address must satisfy: bits 11:0 of the address must be 0; the address
 * must not set any bits beyond the processor's physical-address width." */
enum vmx_insn_err entry_check_ve(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    if (!(ck->proc2 & PROC2_EPT_VIOLATION_VE))
        return VMX_INSN_OK;
    uint64_t a = vmcs_get(v, VMCS_ve_information_address);
    ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                "virtualization-exception information address 4-KByte aligned, within "
                "physical-address width",
                "ve_information_address 0x%llx", (unsigned long long)a);
    return VMX_INSN_OK;
}

/* "A convertible EPT violation instead causes a virtualization exception if
 * the following all hold: CR0.PE = 1; the logical processor is not in the
 * process of delivering an event through the IDT; and the 32 bits at offset
 * 4 in the virtualization-exception information area are all 0." It is
 * convertible if the "EPT-violation #VE" control is 1 and bit 63 of the
 * deciding entry -- the entry that is not present, or the one that maps the
 * page -- is 0. The area then receives exit reason 48, FFFFFFFFH at offset
 * 4, the exit qualification (bit 12, NMI unblocking due to IRET, is left 0:
 * the #VE is delivered, no IRET state is reported), the guest-linear address
 * (0 when qualification bit 7 is 0, as for the VM exit), the guest-physical
 * address and the EPTP index, and the #VE is raised as a fault (which the
 * exception bitmap may still turn into a VM exit). Returns only if the
 * violation is not converted. */
void vmx_ept_violation_ve(struct cpu *c, struct vmx *v, const struct cpu_ept_fault *f)
{
    int vec;
    enum cpu_event_type type;
    bool has_err;
    uint32_t err;

    if (f->misconfig || !(v->proc2 & PROC2_EPT_VIOLATION_VE) || f->suppress_ve ||
        !(c->cr0 & CR0_PE) || cpu_delivering_event(c, &vec, &type, &has_err, &err))
        return;
    uint64_t area = vmcs_get(v, VMCS_ve_information_address);
    if ((uint32_t)cpu_phys_read(c, area + VE_BUSY, 4) != 0)
        return;
    cpu_phys_write(c, area + VE_EXIT_REASON, 4, VMX_EXIT_ept_violation);
    cpu_phys_write(c, area + VE_BUSY, 4, 0xffffffffu);
    cpu_phys_write(c, area + VE_QUALIFICATION, 8, f->qual);
    cpu_phys_write(c, area + VE_GUEST_LINEAR, 8, f->linear);
    cpu_phys_write(c, area + VE_GUEST_PHYSICAL, 8, f->gpa);
    cpu_phys_write(c, area + VE_EPTP_INDEX, 2, vmcs_get(v, VMCS_eptp_index));
    v->stats.ve_delivered++;
    cpu_raise(c, EXC_VE, false, 0);
}
