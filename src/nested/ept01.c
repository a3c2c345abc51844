/* EPT01: L1 runs with "enable EPT" and "unrestricted guest" over an
 * identity map of guest-physical to host-physical memory that leaves out
 * L0's own pages (ARCHITECTURE.md "Where a VMCS lives", docs/nested.md), so
 * L1 cannot reach vmcs01, vmcs02, the shadow VMCS, the bitmaps or EPT01
 * itself, and L1 runs from its first instruction. L2, to which L1 gives no
 * EPT, runs over EPT01 too (L1-physical = L2's physical). The guest-physical
 * pages of L0's area map to host-physical addresses 256 GBytes higher,
 * where there is no memory: to L1 they are what they are without L0,
 * addresses above its RAM that read all-ones. SDM 3C "EPT
 * Translation Mechanism": 1-GByte leaves, 2-MByte leaves in the GByte of
 * L0's area (those of the area's later 2-MByte pages, the EPT02 pool, to
 * the unbacked alias) and 4-KByte leaves in the 2 MBytes where it starts,
 * write-back, no A/D. */
#include "nested_internal.h"

#define EPT01_RWX 7ull
#define EPT01_MT_WB (6ull << 3)
#define EPT01_LARGE (1ull << 7)
#define EPTP_WB_4LEVEL (6ull | (3ull << 3))
#define EPT01_ALIAS (1ull << 38) /* where L0's area appears to L1: unbacked */
/* IA32_VMX_EPT_VPID_CAP (SDM 3D Appendix A "VPID and EPT Capabilities") */
#define EPT01_CAP_WALK4 (1ull << 6)
#define EPT01_CAP_WB (1ull << 14)
#define EPT01_CAP_2M (1ull << 16)
#define EPT01_CAP_1G (1ull << 17)

static void put(struct nested *n, enum l0_page p, unsigned i, uint64_t e)
{
    cpu_phys_write(n->c, n->page[p] + 8ull * i, 8, e);
}

bool nested_ept01_setup(struct nested *n)
{
    const struct vmx_caps *hw = vmx_get_caps(n->v);
    uint32_t need2 = (uint32_t)(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
    uint64_t need_ept = EPT01_CAP_WALK4 | EPT01_CAP_WB | EPT01_CAP_2M | EPT01_CAP_1G;
    uint64_t area = NESTED_L0_AREA_SIZE;
    if (!n->pol.ept01 ||
        !(vmx_caps_allowed1(hw, VMX_MSR_PROCBASED_CTLS) & (uint32_t)PROC_ACTIVATE_SECONDARY_CONTROLS) ||
        (vmx_caps_allowed1(hw, VMX_MSR_PROCBASED_CTLS2) & need2) != need2 ||
        (hw->msr[VMX_MSR_EPT_VPID_CAP] & need_ept) != need_ept ||
        (n->l1_mem >> 30) != ((n->l1_mem + area - 1) >> 30) || n->l1_mem + area >= EPT01_ALIAS ||
        n->maxphyaddr <= 38)
        return false;
    uint64_t giga = n->l1_mem >> 30, two_m = (n->l1_mem >> 21) & 511;
    /* every guest-physical address below 2^MAXPHYADDR (PML4 entry 0 holds
     * L0's area: l1_mem is below 512 GBytes) */
    unsigned npml4 = n->maxphyaddr > 39 ? 1u << (n->maxphyaddr - 39) : 1u;
    if (npml4 > 128)
        npml4 = 128; /* the PDPT pages L0 keeps; above 2^46, nothing */
    put(n, L0_EPT_PML4, 0, n->page[L0_EPT_PDPT] | EPT01_RWX);
    for (unsigned i = 1; i < 512; i++) {
        enum l0_page p = (enum l0_page)(L0_EPT_PDPT_HIGH + i - 1);
        put(n, L0_EPT_PML4, i, i < npml4 ? (n->page[p] | EPT01_RWX) : 0);
        for (unsigned j = 0; i < npml4 && j < 512; j++)
            put(n, p, j, ((uint64_t)i << 39) | ((uint64_t)j << 30) | EPT01_RWX | EPT01_MT_WB |
                             EPT01_LARGE);
    }
    for (unsigned i = 0; i < 512; i++)
        put(n, L0_EPT_PDPT, i,
            i == giga ? (n->page[L0_EPT_PD] | EPT01_RWX)
                      : ((uint64_t)i << 30) | EPT01_RWX | EPT01_MT_WB | EPT01_LARGE);
    for (unsigned i = 0; i < 512; i++) {
        uint64_t pa = (giga << 30) | ((uint64_t)i << 21);
        bool l0 = pa >= n->l1_mem && pa < n->l1_mem + area; /* the EPT02 pool */
        put(n, L0_EPT_PD, i,
            i == two_m ? (n->page[L0_EPT_PT] | EPT01_RWX)
                       : (l0 ? pa + EPT01_ALIAS : pa) | EPT01_RWX | EPT01_MT_WB | EPT01_LARGE);
    }
    uint64_t base = n->l1_mem & ~0x1fffffull;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t pa = base + 4096ull * i;
        bool l0 = pa >= n->l1_mem && pa < n->l1_mem + area;
        put(n, L0_EPT_PT, i, (l0 ? pa + EPT01_ALIAS : pa) | EPT01_RWX | EPT01_MT_WB);
    }
    n->eptp01 = n->page[L0_EPT_PML4] | EPTP_WB_4LEVEL;
    return true;
}

/* vmcs01's controls for EPT01 (vmcs01 is current). */
void nested_ept01_vmcs01(struct nested *n)
{
    l0_write01(n, VMCS_cpu_based_vm_exec_control,
               n->f01[VMCS_cpu_based_vm_exec_control] | PROC_ACTIVATE_SECONDARY_CONTROLS);
    n->proc2_01 |= (uint32_t)(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST);
    l0_write01(n, VMCS_secondary_vm_exec_control, n->proc2_01);
    l0_write01(n, VMCS_ept_pointer, n->eptp01);
}

/* An EPT violation or misconfiguration of EPT01: L1 (or L2) touched a
 * guest-physical address outside its machine -- L0's pages, or beyond 512
 * GBytes. There is nothing there for it; nvmx stops rather than guess. */
void nested_ept01_fault(struct nested *n, uint32_t reason)
{
    l0_unsupported(n, "L%d %s at guest-physical address 0x%llx (L0's memory, or beyond what "
                      "EPT01 maps)", n->in_l2 ? n->lv.running : 1,
                   reason == VMX_EXIT_ept_violation ? "EPT violation" : "EPT misconfiguration",
                   (unsigned long long)vmx_root_vmread(n->v, VMCS_guest_physical_address));
}
