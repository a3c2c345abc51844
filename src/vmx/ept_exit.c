/* EPT as src/vmx sees it: the walker's capabilities from the model, the
 * EPT parameters a VM entry hands the CPU, the guest PDPTEs that VM entry
 * loads and VM exit saves under EPT, and the VM exits for EPT violations
 * (reason 48) and misconfigurations (reason 49). The walk itself is
 * src/ept; the CPU calls it (src/cpu/ept.c). */
#include "entry_internal.h"

#include "nvmx/ept.h"

struct ept_caps vmx_ept_caps(const struct vmx *v)
{
    return (struct ept_caps){ .cap = v->caps.msr[VMX_MSR_EPT_VPID_CAP],
                              .maxphyaddr = v->maxphyaddr }; /* read once by vmx_attach */
}

void vmx_ept_enter(struct cpu *c, const struct vmx *v, uint32_t proc2)
{
    c->nr.ept = proc2 & PROC2_ENABLE_EPT;
    c->nr.eptp = c->nr.ept ? vmcs_get(v, VMCS_ept_pointer) : 0;
    c->nr.ept_caps = vmx_ept_caps(v);
    c->nr.pml = c->nr.ept && (proc2 & PROC2_ENABLE_PML);
}

static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* SDM 3C "Checks on Guest Page-Directory-Pointer-Table Entries": "If the
 * 'enable EPT' VM-execution control is 1, VM entry checks the validity of
 * the PDPTE fields in the guest-state area of the VMCS"; "Loading Guest
 * State": they are loaded into the PDPTE registers. A reserved bit in a
 * present PDPTE fails the entry with exit qualification 2, as without EPT. */
enum vmx_entry_qual vmx_ept_load_pdptes(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    uint64_t rsvd = (~0ull << ck->maxphyaddr) | 0x1e6ull; /* 63:MAXPHYADDR, 8:5, 2:1 */
    uint64_t e[4];
    for (unsigned i = 0; i < 4; i++) {
        e[i] = vmcs_get(v, (enum vmcs_field)(VMCS_guest_pdpte0 + i));
        GUEST_CHECK(ck, !(e[i] & 1) || !(e[i] & rsvd), VMX_ENTRY_QUAL_PDPTE,
                    "guest PDPTE fields (EPT) set no reserved bit", "pdpte%u 0x%llx", i,
                    (unsigned long long)e[i]);
    }
    memcpy(c->pdpte, e, sizeof e);
    return VMX_ENTRY_GUEST_OK;
}

/* SDM 3C "Saving Control Registers, Debug Registers, and MSRs": "If the
 * 'enable EPT' VM-execution control is 1 and the logical processor was
 * using PAE paging at the time of the VM exit, the PDPTE values currently
 * in use are stored" in the guest PDPTE fields. */
void vmx_ept_save_pdptes(struct cpu *c, struct vmx *v)
{
    if (!(v->proc2 & PROC2_ENABLE_EPT) || !pae_paging(c->cr0, c->cr4, c->efer))
        return;
    for (unsigned i = 0; i < 4; i++)
        vmcs_set(v, (enum vmcs_field)(VMCS_guest_pdpte0 + i), c->pdpte[i]);
}

/* SDM 3C "VM Exits Caused by EPT Violations / Misconfigurations" and
 * "Exit Qualification for EPT Violations": the qualification comes from
 * the walker; bit 12 (NMI unblocking due to IRET) is set here, as for the
 * faults of an IRET that unblocked NMIs. The guest-linear address field is
 * written for a violation whose qualification bit 7 is set (undefined
 * otherwise: nvmx writes 0); the guest-physical address for both. */
void vmx_hook_ept_fault(struct cpu *c, const struct cpu_ept_fault *f)
{
    struct vmx *v = vmx_of(c);
    vmx_ept_violation_ve(c, v, f); /* a #VE instead, if convertible (ve.c) */
    struct vmx_exit e = {
        .reason = f->misconfig ? VMX_EXIT_ept_misconfig : VMX_EXIT_ept_violation,
        .qual = f->qual,
        .guest_physical = f->gpa,
        .guest_linear = !f->misconfig && (f->qual & EPT_QUAL_LINEAR_VALID) ? f->linear : 0,
    };
    if (!f->misconfig && vmx_iret_unblocked_nmis(c)) {
        e.qual |= EPT_QUAL_NMI_UNBLOCKING;
        c->nmi_blocked = false;
    }
    vmx_vm_exit(c, v, &e);
}
