/* L0's own VPIDs: L1 runs under vpid01 and L2 under a vpid02 of its
 * vmcs02, so that a VM exit of L2 to L0 or of L1 to L0, and L0's entries
 * back, keep the translations of both (SDM 3C "Virtual Processor
 * Identifiers (VPIDs)": with "enable VPID" nothing is invalidated by VM
 * entries and exits). What L1 is owed by its own VM entries and exits is
 * invalidated here, the way KVM's nested_vmx_transition_tlb_flush() does
 * it: a vmcs12 without "enable VPID" means that L1's VM entries and VM
 * exits invalidate the mappings of VPID 0000H, which are L2's (vpid02) and
 * L1's (vpid01) -- L0 invalidates vpid02 at the emulated VM entry and
 * vpid01 at the emulated VM exit, each before its owner runs again. A
 * vmcs12 with "enable VPID" keeps both: L2 then runs under the VPID02 that
 * ept02.c maps its VPID12 to (VPID02_FIRST and up; L0's own VPIDs are
 * below). */
#include "nested_internal.h"

#define VPID01 1u

void nested_vpid_setup(struct nested *n)
{
    n->vpid01 = (l0_proc2_allowed(n, (uint32_t)PROC2_ENABLE_VPID) && n->pol.vpid) ? VPID01 : 0;
}

/* vmcs01's controls for vpid01 (vmcs01 is current). */
void nested_vpid_vmcs01(struct nested *n)
{
    if (!n->vpid01)
        return;
    l0_write01(n, VMCS_cpu_based_vm_exec_control,
               n->f01[VMCS_cpu_based_vm_exec_control] | PROC_ACTIVATE_SECONDARY_CONTROLS);
    n->proc2_01 |= (uint32_t)PROC2_ENABLE_VPID;
    l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
    l0_write01(n, VMCS_virtual_processor_id, n->vpid01);
}

static bool vmcs12_has_vpid(const struct nested *n)
{
    return (vmcs12_get(n, VMCS_cpu_based_vm_exec_control) & PROC_ACTIVATE_SECONDARY_CONTROLS) &&
           (vmcs12_get(n, VMCS_secondary_vm_exec_control) & PROC2_ENABLE_VPID);
}

/* L1's VMLAUNCH/VMRESUME enters L2 on vmcs02 (whose VPID is vpid02). */
void nested_vpid_emulated_entry(struct nested *n, uint16_t vpid02, uint64_t *last_vpid12)
{
    if (!n->vpid01)
        return;
    /* with VPID in vmcs12, L2 runs under the VPID02 of its VPID12
     * (ept02.c nested_vpid02), kept across transitions */
    *last_vpid12 = NESTED_INVALID_PTR;
    if (!vmcs12_has_vpid(n))
        vmx_root_invvpid(n->v, VMX_INVVPID_CONTEXT, vpid02, 0);
}

/* An exit of L2 (or a VM-entry failure) delivered to L1. */
void nested_vpid_emulated_exit(struct nested *n)
{
    if (n->vpid01 && !vmcs12_has_vpid(n))
        vmx_root_invvpid(n->v, VMX_INVVPID_CONTEXT, n->vpid01, 0);
}
