/* Page-modification logging (SDM 3C "Page-Modification Logging"): with
 * "enable PML", each EPT dirty flag the processor sets appends the
 * guest-physical address to the log at the PML address, indexed by the
 * guest PML index, and an A/D update with the index outside 0-511 is a
 * page-modification log-full VM exit (reason 62). Plus the VM-entry checks
 * on the PML address. The CPU calls vmx_hook_pml (src/cpu/ept.c). */
#include "entry_internal.h"

#include "nvmx/ept.h"

#define PML_ENTRIES 512u

/* SDM 3C "Checks on VM-Execution Control Fields": "If the 'enable PML'
 * VM-execution control is 1, the 'enable EPT' VM-execution control must
 * also be 1. In addition, the PML address must satisfy: bits 11:0 of the
 * address must be 0; the address should not set any bits beyond the
 * processor's physical-address width." */
enum vmx_insn_err entry_check_pml(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    if (!(ck->proc2 & PROC2_ENABLE_PML))
        return VMX_INSN_OK;
    uint64_t a = vmcs_get(v, VMCS_pml_address);
    ENTRY_CHECK(ck, ck->proc2 & PROC2_ENABLE_EPT, VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                "'enable PML' requires 'enable EPT'", "proc2 0x%08x", ck->proc2);
    ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                "PML address 4-KByte aligned, within physical-address width", "pml_address 0x%llx",
                (unsigned long long)a);
    return VMX_INSN_OK;
}

/* "Before allowing a guest-physical access, the processor may determine
 * that it first needs to set an accessed or dirty flag for EPT. When this
 * happens, the processor examines the PML index. If the PML index is not in
 * the range 0-511, there is a page-modification log-full event and a VM
 * exit occurs. In this case, the accessed or dirty flag is not set, and the
 * guest-physical access that triggered the event does not occur. ... If the
 * processor updated a dirty flag for EPT (changing it from 0 to 1), ... the
 * guest-physical address of the access is written to the page-modification
 * log ... Bits 11:0 of the value written are always 0 ... The PML index is
 * decremented by 1 (this may cause the value to transition from 0 to
 * FFFFH)." The exit qualification holds only bit 12, NMI unblocking due to
 * IRET (SDM 3C "Exit Qualification for ... Page-Modification Log-Full
 * Events" in "Exit Qualification for VM Exits"). */
void vmx_hook_pml(struct cpu *c, uint64_t gpa, bool dirty)
{
    struct vmx *v = vmx_of(c);
    uint64_t index = vmcs_get(v, VMCS_guest_pml_index);
    if (index >= PML_ENTRIES) {
        struct vmx_exit e = { .reason = VMX_EXIT_pml_full };
        if (vmx_iret_unblocked_nmis(c)) {
            e.qual = EPT_QUAL_NMI_UNBLOCKING;
            c->nmi_blocked = false;
        }
        vmx_vm_exit(c, v, &e);
        cpu_vmexit_unwind(c);
    }
    if (!dirty)
        return;
    cpu_phys_write(c, vmcs_get(v, VMCS_pml_address) + 8 * index, 8, gpa & ~0xfffull);
    vmcs_set(v, VMCS_guest_pml_index, index - 1);
    v->stats.pml_logged++;
}
