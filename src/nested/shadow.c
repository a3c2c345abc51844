/* L0's use of the hardware's VMCS shadowing for L1 (the "kvm" design of
 * docs/nested.md, after KVM's enable_shadow_vmcs): vmcs01 enables "VMCS
 * shadowing" with VMREAD/VMWRITE bitmaps from the shadow column of
 * vmcs_fields.def while L1 has a current vmcs12, with the VMCS link pointer
 * referencing L0's shadow VMCS; without one, shadowing is off and L1's
 * VMREAD/VMWRITE exit, so that L0 gives #UD outside VMX operation and
 * VMfailInvalid inside (KVM sets and clears the control the same way).
 * L1's VMREAD/VMWRITE of shadowed fields then cause no exit; L0 copies the
 * shadow VMCS into its vmcs12 cache before it uses vmcs12 and back after it
 * changed it (KVM's copy_shadow_to_vmcs12 / copy_vmcs12_to_shadow), each
 * copy through VMPTRLD and VMREAD/VMWRITE of the root-mode API, costed. */
#include "nested_internal.h"

bool nested_shadow_setup(struct nested *n)
{
    const struct vmx_caps *hw = vmx_get_caps(n->v);
    if (n->pol.shadowing != NESTED_SHADOW_KVM || !l0_proc2_allowed(n, (uint32_t)PROC2_VMCS_SHADOWING))
        return false;
    static uint8_t rd[4096], wr[4096];
    vmx_shadow_default_bitmaps(rd, wr);
    for (unsigned o = 0; o < 4096; o++) {
        cpu_phys_write(n->c, n->page[L0_VMREAD_BITMAP] + o, 1, rd[o]);
        cpu_phys_write(n->c, n->page[L0_VMWRITE_BITMAP] + o, 1, wr[o]);
    }
    uint32_t rev = (uint32_t)(hw->msr[VMX_MSR_BASIC] & 0x7fffffffu);
    cpu_phys_write(n->c, n->page[L0_SHADOW_VMCS], 4, rev | VMCS_SHADOW_INDICATOR);
    return true;
}

/* vmcs01's controls for shadowing (vmcs01 is current). */
void nested_shadow_vmcs01(struct nested *n)
{
    uint64_t proc = n->f01[VMCS_cpu_based_vm_exec_control] | PROC_ACTIVATE_SECONDARY_CONTROLS;
    l0_write01(n, VMCS_cpu_based_vm_exec_control, proc);
    l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
    l0_write01(n, VMCS_vmread_bitmap, n->page[L0_VMREAD_BITMAP]);
    l0_write01(n, VMCS_vmwrite_bitmap, n->page[L0_VMWRITE_BITMAP]);
    l0_write01(n, VMCS_vmcs_link_pointer, NESTED_INVALID_PTR);
}

static void load_vmcs01(struct nested *n)
{
    vmx_root_vmptrld(n->v, n->page[L0_VMCS01]);
}

/* vmcs12 -> shadow VMCS for the shadowed fields (all of them, or those of
 * the last sync's log), and the link pointer to it. */
static void to_shadow(struct nested *n, bool only_logged)
{
    struct vmx *v = n->v;
    vmx_root_vmptrld(v, n->page[L0_SHADOW_VMCS]);
    if (only_logged) {
        for (unsigned i = 0; i < n->nlog; i++)
            if (vmcs_fields[n->log[i].field].shadow != VMCS_SH_NO)
                vmx_root_vmwrite(v, (enum vmcs_field)n->log[i].field, vmcs12_get(n, (enum vmcs_field)n->log[i].field));
        vmx_root_vmwrite(v, VMCS_vm_instruction_error, vmcs12_get(n, VMCS_vm_instruction_error));
    } else {
        for (int f = 0; f < VMCS_NFIELDS; f++)
            if (vmcs_fields[f].shadow != VMCS_SH_NO)
                vmx_root_vmwrite(v, (enum vmcs_field)f, vmcs12_get(n, (enum vmcs_field)f));
    }
    load_vmcs01(n);
    if (n->f01[VMCS_vmcs_link_pointer] != n->page[L0_SHADOW_VMCS]) {
        l0_write01(n, VMCS_vmcs_link_pointer, n->page[L0_SHADOW_VMCS]);
        l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01 | PROC2_VMCS_SHADOWING);
    }
}

void nested_shadow_load(struct nested *n)
{
    if (!n->shadowing)
        return;
    if (n->v12.ptr == NESTED_INVALID_PTR) {
        if (n->f01[VMCS_vmcs_link_pointer] != NESTED_INVALID_PTR) {
            l0_write01(n, VMCS_vmcs_link_pointer, NESTED_INVALID_PTR);
            l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
        }
        return;
    }
    to_shadow(n, false);
}

void nested_shadow_load_logged(struct nested *n)
{
    if (n->shadowing && n->v12.ptr != NESTED_INVALID_PTR)
        to_shadow(n, true);
}

/* Shadow VMCS -> vmcs12 for the fields L1 may VMWRITE without an exit;
 * changed fields become dirty. Leaves vmcs01 current. */
void nested_shadow_store(struct nested *n)
{
    if (!n->shadowing || n->v12.ptr == NESTED_INVALID_PTR)
        return;
    struct vmx *v = n->v;
    vmx_root_vmptrld(v, n->page[L0_SHADOW_VMCS]);
    for (int f = 0; f < VMCS_NFIELDS; f++) {
        if (vmcs_fields[f].shadow != VMCS_SH_RW)
            continue;
        uint64_t val = vmx_root_vmread(v, (enum vmcs_field)f);
        if (val != vmcs12_get(n, (enum vmcs_field)f))
            vmcs12_set(n, (enum vmcs_field)f, val);
    }
    load_vmcs01(n);
}
