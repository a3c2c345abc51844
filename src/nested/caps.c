/* L1's view of the VMX capability MSRs: the hardware model's, with the
 * controls L0 cannot nest, or its policy hides, removed from the allowed-1
 * settings -- the way KVM's nested_vmx_setup_ctls_msrs() builds what its
 * L1 sees (SDM 3C Appendix A "VMX Capability Reporting Facility"). */
#include "nested_internal.h"

#include "nvmx/ept.h"

/* KVM's nested EPT and VPID capabilities (nested_vmx_setup_ctls_msrs):
 * 4- and 5-level walks, WB, INVEPT and execute-only as the hardware has
 * them, then single- and all-context INVEPT, 2M and 1G pages and A/D; for
 * VPID, INVVPID of every type. nvmx's L0 never offers a bit the hardware
 * model lacks (nested_caps_filter). */
#define KVM_EPT_VPID_CAP                                                                       \
    (EPT_CAP_BIT(WALK_LENGTH_4) | EPT_CAP_BIT(WALK_LENGTH_5) | EPT_CAP_BIT(MEMTYPE_WB) |      \
     EPT_CAP_BIT(INVEPT) | EPT_CAP_BIT(EXECUTE_ONLY) | EPT_CAP_BIT(INVEPT_SINGLE_CONTEXT) |     \
     EPT_CAP_BIT(INVEPT_ALL_CONTEXT) | EPT_CAP_BIT(PDE_2M) | EPT_CAP_BIT(PDPTE_1G) |            \
     EPT_CAP_BIT(ACCESSED_DIRTY) | EPT_CAP_BIT(INVVPID) |                                       \
     EPT_CAP_BIT(INVVPID_INDIVIDUAL_ADDRESS) | EPT_CAP_BIT(INVVPID_SINGLE_CONTEXT) |            \
     EPT_CAP_BIT(INVVPID_ALL_CONTEXT) | EPT_CAP_BIT(INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS))

/* What src/nested can nest today: no TPR shadow or APIC virtualization, no
 * VM functions, PML or #VE; EPT (nested EPT, ept02.c), VPID and
 * unrestricted guest are offered (docs/nested.md), and VMCS shadowing in
 * the "kvm" design (shadow12.c, nested_caps_no_shadowing); and, as KVM's
 * nested_vmx_setup_ctls_msrs leaves them out, no SMM (entry to SMM,
 * dual-monitor treatment), no Intel PT in VMX operation (the "conceal VMX
 * from PT" controls, RTIT_CTL load/clear, PT using guest-physical
 * addresses) and no SGX (ENCLS/ENCLV exiting). */
void nested_policy_default(struct nested_policy *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "built-in");
    p->shadowing = NESTED_SHADOW_KVM;
    p->ept01 = true;
    p->vpid = true;
    p->vmcs02_pool = 4;
    p->hide[NESTED_CTL_PIN] = (uint32_t)PIN_PROCESS_POSTED_INTERRUPTS;
    p->hide[NESTED_CTL_PROC] = (uint32_t)(PROC_USE_TPR_SHADOW | PROC_ACTIVATE_TERTIARY_CONTROLS);
    p->ept_vpid_cap = KVM_EPT_VPID_CAP;
    p->hide[NESTED_CTL_PROC2] =
        (uint32_t)(PROC2_VIRTUALIZE_APIC_ACCESSES | PROC2_VIRTUALIZE_X2APIC_MODE |
                   PROC2_APIC_REGISTER_VIRTUALIZATION |
                   PROC2_VIRTUAL_INTERRUPT_DELIVERY | PROC2_ENABLE_VM_FUNCTIONS |
                   PROC2_ENABLE_PML | PROC2_EPT_VIOLATION_VE | PROC2_MODE_BASED_EPT_EXECUTE |
                   PROC2_SUBPAGE_WRITE_PERMISSIONS | PROC2_USE_TSC_SCALING | PROC2_CONCEAL_VMX_FROM_PT |
                   PROC2_PT_USES_GUEST_PHYSICAL | PROC2_ENCLS_EXITING | PROC2_ENABLE_ENCLV_EXITING);
    p->hide[NESTED_CTL_EXIT] = (uint32_t)(EXIT_CONCEAL_VMX_FROM_PT | EXIT_CLEAR_RTIT_CTL);
    p->hide[NESTED_CTL_ENTRY] = (uint32_t)(ENTRY_ENTRY_TO_SMM | ENTRY_DEACTIVATE_DUAL_MONITOR |
                                           ENTRY_CONCEAL_VMX_FROM_PT | ENTRY_LOAD_RTIT_CTL);
    p->misc_clear = VMX_MISC_PT_IN_VMX | VMX_MISC_SMBASE_READ | VMX_MISC_SMM_VMXOFF_UNBLOCKS_SMI;
}

/* IA32_VMX_MISC and IA32_VMX_BASIC bits of SMM and PT (SDM 3D Appendix A
 * "Basic VMX Information", "Miscellaneous Data"). */
#define VMX_BASIC_DUAL_MONITOR (1ull << 49)

static void hide_allowed1(uint64_t *msr, uint32_t hide)
{
    *msr &= ~((uint64_t)hide << 32);
}

void nested_caps_filter(const struct vmx_caps *hw, const struct nested_policy *p, struct vmx_caps *l1)
{
    *l1 = *hw;
    uint64_t *m = l1->msr;
    hide_allowed1(&m[VMX_MSR_PINBASED_CTLS], p->hide[NESTED_CTL_PIN]);
    hide_allowed1(&m[VMX_MSR_TRUE_PINBASED_CTLS], p->hide[NESTED_CTL_PIN]);
    hide_allowed1(&m[VMX_MSR_PROCBASED_CTLS], p->hide[NESTED_CTL_PROC]);
    hide_allowed1(&m[VMX_MSR_TRUE_PROCBASED_CTLS], p->hide[NESTED_CTL_PROC]);
    hide_allowed1(&m[VMX_MSR_PROCBASED_CTLS2], p->hide[NESTED_CTL_PROC2]);
    hide_allowed1(&m[VMX_MSR_EXIT_CTLS], p->hide[NESTED_CTL_EXIT]);
    hide_allowed1(&m[VMX_MSR_TRUE_EXIT_CTLS], p->hide[NESTED_CTL_EXIT]);
    hide_allowed1(&m[VMX_MSR_ENTRY_CTLS], p->hide[NESTED_CTL_ENTRY]);
    hide_allowed1(&m[VMX_MSR_TRUE_ENTRY_CTLS], p->hide[NESTED_CTL_ENTRY]);
    m[VMX_MSR_MISC] &= ~p->misc_clear;
    /* L0 offers no SMM monitor (KVM reports no dual-monitor treatment). */
    m[VMX_MSR_BASIC] &= ~VMX_BASIC_DUAL_MONITOR;
    m[VMX_MSR_EPT_VPID_CAP] &= p->ept_vpid_cap;
    /* SDM 3C Appendix A "VPID and EPT Capabilities": the EPT bits (31:0)
     * mean something only with "enable EPT", the VPID bits (63:32) with
     * "enable VPID"; without either control the MSR reads as 0 ("not
     * supported"), as without VM functions IA32_VMX_VMFUNC. */
    uint32_t proc2 = (uint32_t)(m[VMX_MSR_PROCBASED_CTLS2] >> 32);
    if (!(proc2 & PROC2_ENABLE_EPT))
        m[VMX_MSR_EPT_VPID_CAP] &= ~0xffffffffull;
    if (!(proc2 & PROC2_ENABLE_VPID))
        m[VMX_MSR_EPT_VPID_CAP] &= 0xffffffffull;
    if (!(proc2 & PROC2_ENABLE_VM_FUNCTIONS))
        m[VMX_MSR_VMFUNC] = 0;
    m[VMX_MSR_EPT_VPID_CAP] &= ~p->ept_vpid_cap_clear;
}

/* Nested EPT needs EPT01 (ept02.c composes EPT12 with it): without it,
 * L1 sees neither EPT nor unrestricted guest (which needs EPT). */
void nested_caps_no_ept(struct vmx_caps *l1)
{
    uint32_t off = (uint32_t)(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
    hide_allowed1(&l1->msr[VMX_MSR_PROCBASED_CTLS2], off);
    l1->msr[VMX_MSR_EPT_VPID_CAP] &= ~0xffffffffull;
    if (!(l1->msr[VMX_MSR_PROCBASED_CTLS2] >> 32 & PROC2_ENABLE_VPID))
        l1->msr[VMX_MSR_EPT_VPID_CAP] = 0;
}

/* KVM offers VMCS shadowing to L1 only when it uses shadow VMCSs itself
 * (enable_shadow_vmcs): in nvmx's "kvm" design; "none" and "pkvm" hide it. */
void nested_caps_no_shadowing(struct vmx_caps *l1)
{
    hide_allowed1(&l1->msr[VMX_MSR_PROCBASED_CTLS2], (uint32_t)PROC2_VMCS_SHADOWING);
}

/* RDMSR of a capability MSR by L1: L1's values; one its capabilities do
 * not report is #GP(0), as on hardware (SDM 3C Appendix A). */
bool nested_caps_rdmsr(const struct nested *n, uint32_t msr, uint64_t *val)
{
    if (msr < VMX_MSR_FIRST || msr >= VMX_MSR_FIRST + VMX_MSR_COUNT)
        return false;
    enum vmx_msr m = (enum vmx_msr)(msr - VMX_MSR_FIRST);
    if (!vmx_caps_msr_readable(&n->caps1, m))
        return false;
    *val = n->caps1.msr[m];
    return true;
}
