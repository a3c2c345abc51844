/* VM functions (SDM 3C "VM Functions"; SDM 2B "VMFUNC -- Invoke VM
 * Function"): VMFUNC in VMX non-root operation, EPTP switching (function 0)
 * through the EPTP list, and the VM-entry checks on the VM-function
 * controls. IA32_VMX_VMFUNC (caps.c) says which functions a model has. */
#include "entry_internal.h"

#include "nvmx/ept.h"

#define VMFUNC_EPTP_SWITCHING (1ull << 0)
#define EPTP_LIST_ENTRIES 512u

/* SDM 3C "Checks on VM-Execution Control Fields": "If the 'enable VM
 * functions' processor-based VM-execution control is 1, reserved bits in
 * the VM-function controls must be clear ... If 'EPTP switching' VM-function
 * control is 1, the 'enable EPT' VM-execution control must also be 1. In
 * addition, the EPTP-list address must satisfy: bits 11:0 of the address
 * must be 0; the address must not set any bits beyond the processor's
 * physical-address width." */
enum vmx_insn_err entry_check_vm_functions(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    if (!(ck->proc2 & PROC2_ENABLE_VM_FUNCTIONS))
        return VMX_INSN_OK;
    uint64_t ctl = vmcs_get(v, VMCS_vm_function_control);
    uint64_t allowed = v->caps->msr[VMX_MSR_VMFUNC];
    ENTRY_CHECK(ck, (ctl & ~allowed) == 0, VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                "VM-function controls vs IA32_VMX_VMFUNC", "vm_function_control 0x%llx allowed 0x%llx",
                (unsigned long long)ctl, (unsigned long long)allowed);
    if (ctl & VMFUNC_EPTP_SWITCHING) {
        uint64_t a = vmcs_get(v, VMCS_eptp_list_address);
        ENTRY_CHECK(ck, ck->proc2 & PROC2_ENABLE_EPT, VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                    "'EPTP switching' requires 'enable EPT'", "proc2 0x%08x", ck->proc2);
        ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1),
                    VMX_INSN_ERR_ENTRY_INVALID_CONTROL,
                    "EPTP-list address 4-KByte aligned, within physical-address width",
                    "eptp_list_address 0x%llx", (unsigned long long)a);
    }
    return VMX_INSN_OK;
}

/* SDM 3C "EPTP Switching": "IF ECX >= 512 THEN VM exit; ELSE tent_EPTP :=
 * 8 bytes from EPTP-list address + 8 * ECX; IF tent_EPTP is not a valid
 * EPTP value (as would be checked by VM entry) THEN VM exit; ELSE write
 * tent_EPTP to the EPTP field in the current VMCS; use tent_EPTP as the
 * new EPTP value for address translation; IF processor supports the
 * 1-setting of the 'EPT-violation #VE' VM-execution control THEN write
 * ECX[15:0] to EPTP-index field in current VMCS". Returns false for a VM
 * exit. Translations are tagged with the EPTP, so nothing is
 * flushed ("Caching Translation Information"). */
static bool eptp_switching(struct cpu *c, struct vmx *v)
{
    uint32_t index = (uint32_t)c->gpr[1];
    if (index >= EPTP_LIST_ENTRIES)
        return false;
    uint64_t eptp = cpu_phys_read(c, vmcs_get(v, VMCS_eptp_list_address) + 8ull * index, 8);
    struct ept_caps caps = vmx_ept_caps(v);
    if (ept_eptp_check(&caps, eptp))
        return false;
    vmcs_set(v, VMCS_ept_pointer, eptp);
    if ((vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) &&
        (vmx_ctl_allowed1(v, VMX_MSR_PROCBASED_CTLS2) & (uint32_t)PROC2_EPT_VIOLATION_VE))
        vmcs_set(v, VMCS_eptp_index, index & 0xffff);
    c->nr.eptp = eptp;
    uint16_t vpid = (v->proc2 & PROC2_ENABLE_VPID) ? (uint16_t)vmcs_get(v, VMCS_virtual_processor_id) : 0;
    cpu_tlb_switch(c, vpid, true, eptp);
    return true;
}

/* SDM 2B "VMFUNC": #UD "if executed outside VMX non-root operation; if
 * 'enable VM functions' VM-execution control is 0; if EAX >= 64" (also on
 * a model without the control: it is then 0). A function whose bit in the
 * VM-function controls is 0, or that fails, is a VM exit (SDM 3C "VM
 * Functions"): reason 59, with the instruction length; VMFUNC has no exit
 * qualification. It runs at any CPL and leaves RFLAGS alone. */
void vmx_do_vmfunc(struct cpu *c, struct vmx *v, const struct cpu_vmx_insn *vi)
{
    uint32_t fn = (uint32_t)c->gpr[0];
    if (!c->vmx_nonroot || !(v->proc2 & PROC2_ENABLE_VM_FUNCTIONS) || fn >= 64)
        cpu_raise(c, EXC_UD, false, 0);
    uint64_t ctl = vmcs_get(v, VMCS_vm_function_control);
    bool done = ((ctl >> fn) & 1) && fn == 0 && eptp_switching(c, v);
    if (done)
        return;
    struct vmx_exit e = { .reason = VMX_EXIT_vmfunc, .insn_len = vi->len };
    vmx_vm_exit(c, v, &e);
    cpu_vmexit_unwind(c);
}
