/* VM-entry checks: one negative test per check that a 64-bit guest can
 * reach. Each case starts from the valid VMCS (vmx_vmcs_init), changes one
 * thing, executes VMLAUNCH and expects exactly one result: VMfailValid(7)
 * (SDM 3C "Checks on VMX Controls"), VMfailValid(8) ("Checks on Host
 * Control Registers, MSRs and Segment Registers", "Checks Related to
 * Address-Space Size"), or a VM-entry failure exit 33/34 with its
 * qualification ("Checks on the Guest-State Area", "Loading MSRs",
 * "VM-Entry Failures During or After Loading Guest State"). */
#include "console.h"
#include "report.h"
#include "rtstring.h"
#include "vmx_common.h"
#include "x86.h"

/* The case table leaves trailing members (setup, flags) to default to 0. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum mod_op {
    M_NONE,
    M_SET,     /* field = val */
    M_OR,      /* field |= val (control bits are checked against allowed-1) */
    M_CLR,     /* field &= ~val */
    M_CTL_REQ, /* clear the lowest bit the capability MSR requires to be 1 */
    M_CTL_DIS, /* set the lowest bit the capability MSR does not allow */
    M_PHYS,    /* field |= 1 << MAXPHYADDR */
    M_BUF,     /* field = address of a 4-KiB page + val */
    M_FORCE,   /* field |= val, whatever the capability MSRs say */
    M_CR3_MAX, /* field = the CPU's CR3-target maximum + 1 */
};

struct mod {
    uint32_t field;
    enum mod_op op;
    uint64_t val;
};

enum expect_kind { K_OK, K_FAIL, K_EXIT };

struct entry_case {
    const char *name;
    struct mod mods[3];
    enum expect_kind kind;
    uint32_t expect; /* VM-instruction error, or exit reason */
    uint64_t qual;
    void (*setup)(void); /* fills the 4-KiB page (MSR list, VMCS) */
    unsigned flags;
};
#define F_NO_BASIC56 1u /* skip if IA32_VMX_BASIC[56]: any vector may have an error code */

#define NONCANON 0x0000800000000000ull
#define EXIT33 (EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_GUEST)
#define EXIT34 (EXIT_REASON_ENTRY_FAIL | EXIT_ENTRY_FAIL_MSR)
#define FAIL7 K_FAIL, VMXERR_ENTRY_BAD_CONTROL, 0
#define FAIL8 K_FAIL, VMXERR_ENTRY_BAD_HOST, 0
#define GUEST33 K_EXIT, EXIT33, ENTRY_QUAL_DEFAULT
#define INJ(type, vec) (INTR_VALID | (type) | (vec))
#define EFER_LME_LMA ((1ull << 8) | (1ull << 10))

static uint8_t page_buf[4096] __attribute__((aligned(4096)));

struct msr_entry {
    uint32_t index, reserved;
    uint64_t value;
};

static void msr_list(uint32_t bad_index, uint32_t bad_reserved)
{
    struct msr_entry *l = (struct msr_entry *)page_buf;

    memset(page_buf, 0, sizeof(page_buf));
    l[0] = (struct msr_entry){ MSR_IA32_SYSENTER_CS, 0, 0 };
    l[1] = (struct msr_entry){ bad_index, bad_reserved, 0 };
}

/* SDM 3C "Loading MSRs": entry n (counting from 1) fails for the x2APIC
 * range (bits 31:8 = 000008H), for IA32_FS_BASE/IA32_GS_BASE, or with
 * reserved bits 63:32 set. */
static void msr_list_x2apic(void)
{
    msr_list(0x808, 0);
}
static void msr_list_fs_base(void)
{
    msr_list(MSR_FS_BASE, 0);
}
static void msr_list_reserved(void)
{
    msr_list(MSR_IA32_SYSENTER_CS, 1);
}
static void msr_list_valid(void)
{
    msr_list(MSR_IA32_SYSENTER_ESP, 0);
}

/* SDM 3C "Checks on Guest Non-Register State": a VMCS link pointer other
 * than ~0 must reference a region with the VMCS revision identifier. */
static void link_region_bad_revision(void)
{
    *(uint32_t *)page_buf = VMX_BASIC_REVISION(vmx_caps.basic) ^ 1;
}

static const struct entry_case cases[] = {
    { "baseline_launches", { { 0 } }, K_OK, EXIT_VMCALL, 0 },
    { "host_ss_null_allowed_64bit_host", { { HOST_SS_SEL, M_SET, 0 } }, K_OK, EXIT_VMCALL, 0 },
    { "entry_msr_load_valid_list",
      { { ENTRY_MSR_LOAD_ADDR, M_BUF, 0 }, { ENTRY_MSR_LOAD_COUNT, M_SET, 2 } },
      K_OK, EXIT_VMCALL, 0, msr_list_valid },

    /* SDM 3C "VM-Execution Control Fields" checks */
    { "pin_required_bit_clear", { { PIN_CONTROLS, M_CTL_REQ, 0 } }, FAIL7 },
    { "pin_unsupported_bit_set", { { PIN_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "proc_required_bit_clear", { { PROC_CONTROLS, M_CTL_REQ, 0 } }, FAIL7 },
    { "proc_unsupported_bit_set", { { PROC_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "proc2_unsupported_bit_set",
      { { PROC_CONTROLS, M_OR, PROC_SECONDARY }, { PROC2_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "cr3_target_count_above_max", { { CR3_TARGET_COUNT, M_CR3_MAX, 0 } }, FAIL7 },
    { "io_bitmap_a_misaligned",
      { { PROC_CONTROLS, M_OR, PROC_IO_BITMAPS }, { IO_BITMAP_A, M_BUF, 0x10 },
        { IO_BITMAP_B, M_BUF, 0 } }, FAIL7 },
    { "io_bitmap_b_beyond_maxphyaddr",
      { { PROC_CONTROLS, M_OR, PROC_IO_BITMAPS }, { IO_BITMAP_A, M_BUF, 0 },
        { IO_BITMAP_B, M_PHYS, 0 } }, FAIL7 },
    { "msr_bitmap_misaligned",
      { { PROC_CONTROLS, M_OR, PROC_MSR_BITMAPS }, { MSR_BITMAP, M_BUF, 0x800 } }, FAIL7 },
    { "virtual_nmis_without_nmi_exiting", { { PIN_CONTROLS, M_OR, PIN_VIRTUAL_NMIS } }, FAIL7 },
    { "nmi_window_without_virtual_nmis",
      { { PIN_CONTROLS, M_OR, PIN_NMI_EXITING }, { PROC_CONTROLS, M_OR, PROC_NMI_WINDOW } },
      FAIL7 },
    /* SDM 3C "VM-Exit Control Fields" checks */
    { "exit_required_bit_clear", { { EXIT_CONTROLS, M_CTL_REQ, 0 } }, FAIL7 },
    { "exit_unsupported_bit_set", { { EXIT_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "save_preemption_timer_without_activate",
      { { EXIT_CONTROLS, M_OR, EXIT_SAVE_PREEMPT } }, FAIL7 },
    { "exit_msr_store_misaligned",
      { { EXIT_MSR_STORE_COUNT, M_SET, 1 }, { EXIT_MSR_STORE_ADDR, M_BUF, 8 } }, FAIL7 },
    { "exit_msr_load_misaligned",
      { { EXIT_MSR_LOAD_COUNT, M_SET, 1 }, { EXIT_MSR_LOAD_ADDR, M_BUF, 4 } }, FAIL7 },
    /* SDM 3C "VM-Entry Control Fields" checks */
    { "entry_required_bit_clear", { { ENTRY_CONTROLS, M_CTL_REQ, 0 } }, FAIL7 },
    { "entry_unsupported_bit_set", { { ENTRY_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "entry_to_smm_outside_smm", { { ENTRY_CONTROLS, M_FORCE, ENTRY_SMM } }, FAIL7 },
    { "entry_deactivate_dual_monitor", { { ENTRY_CONTROLS, M_FORCE, ENTRY_DUAL_MONITOR } },
      FAIL7 },
    { "entry_msr_load_misaligned",
      { { ENTRY_MSR_LOAD_COUNT, M_SET, 1 }, { ENTRY_MSR_LOAD_ADDR, M_BUF, 2 } }, FAIL7 },
    { "inject_reserved_type_1", { { ENTRY_INTR_INFO, M_SET, INJ(1u << 8, 0x20) } }, FAIL7 },
    { "inject_nmi_vector_not_2", { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_NMI, 3) } }, FAIL7 },
    { "inject_hw_exception_vector_32",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_HW_EXC, 32) } }, FAIL7 },
    { "inject_ud_with_error_code",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_HW_EXC, 6) | INTR_ERRCODE } }, FAIL7, 0,
      F_NO_BASIC56 },
    { "inject_gp_without_error_code",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_HW_EXC, 13) } }, FAIL7, 0, F_NO_BASIC56 },
    { "inject_reserved_bits_30_12",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_EXT, 0x20) | (1u << 20) } }, FAIL7 },
    { "inject_soft_int_length_16",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_SW_INT, 0x30) },
        { ENTRY_INSN_LEN, M_SET, 16 } }, FAIL7 },

    /* SDM 3C "Checks on Host Control Registers, MSRs and Segment Registers"
     * and "Checks Related to Address-Space Size" */
    { "host_cr0_pe_clear", { { HOST_CR0, M_CLR, CR0_PE_BIT } }, FAIL8 },
    { "host_cr0_bit_32_set", { { HOST_CR0, M_OR, 1ull << 32 } }, FAIL8 },
    { "host_cr4_vmxe_clear", { { HOST_CR4, M_CLR, CR4_VMXE } }, FAIL8 },
    { "host_cr4_pae_clear", { { HOST_CR4, M_CLR, CR4_PAE_BIT } }, FAIL8 },
    { "host_cr3_beyond_maxphyaddr", { { HOST_CR3, M_PHYS, 0 } }, FAIL8 },
    { "host_sysenter_esp_noncanonical", { { HOST_SYSENTER_ESP, M_SET, NONCANON } }, FAIL8 },
    { "host_sysenter_eip_noncanonical", { { HOST_SYSENTER_EIP, M_SET, NONCANON } }, FAIL8 },
    { "host_efer_reserved_bit",
      { { EXIT_CONTROLS, M_OR, EXIT_LOAD_EFER }, { HOST_EFER, M_SET, EFER_LME_LMA | 2 } },
      FAIL8 },
    { "host_efer_lma_vs_address_space_size",
      { { EXIT_CONTROLS, M_OR, EXIT_LOAD_EFER }, { HOST_EFER, M_SET, 0 } }, FAIL8 },
    { "host_pat_reserved_type",
      { { EXIT_CONTROLS, M_OR, EXIT_LOAD_PAT }, { HOST_PAT, M_SET, 0x0007040600070402ull } },
      FAIL8 },
    { "host_cs_rpl_3", { { HOST_CS_SEL, M_SET, 0x0b } }, FAIL8 },
    { "host_ss_ti_1", { { HOST_SS_SEL, M_SET, 0x14 } }, FAIL8 },
    { "host_ds_rpl_1", { { HOST_DS_SEL, M_SET, 0x11 } }, FAIL8 },
    { "host_tr_ti_1", { { HOST_TR_SEL, M_SET, 0x34 } }, FAIL8 },
    { "host_cs_null", { { HOST_CS_SEL, M_SET, 0 } }, FAIL8 },
    { "host_tr_null", { { HOST_TR_SEL, M_SET, 0 } }, FAIL8 },
    { "host_fs_base_noncanonical", { { HOST_FS_BASE, M_SET, NONCANON } }, FAIL8 },
    { "host_gs_base_noncanonical", { { HOST_GS_BASE, M_SET, NONCANON } }, FAIL8 },
    { "host_tr_base_noncanonical", { { HOST_TR_BASE, M_SET, NONCANON } }, FAIL8 },
    { "host_gdtr_base_noncanonical", { { HOST_GDTR_BASE, M_SET, NONCANON } }, FAIL8 },
    { "host_idtr_base_noncanonical", { { HOST_IDTR_BASE, M_SET, NONCANON } }, FAIL8 },
    { "host_rip_noncanonical", { { HOST_RIP, M_SET, NONCANON } }, FAIL8 },
    { "host_address_space_size_0_in_ia32e", { { EXIT_CONTROLS, M_CLR, EXIT_HOST_64 } },
      FAIL8 },
    /* Order: controls before host state before guest state. */
    { "order_control_before_host",
      { { HOST_CR4, M_CLR, CR4_VMXE }, { PIN_CONTROLS, M_CTL_DIS, 0 } }, FAIL7 },
    { "order_host_before_guest",
      { { HOST_CR4, M_CLR, CR4_VMXE }, { GUEST_CR4, M_CLR, CR4_VMXE } }, FAIL8 },

    /* SDM 3C "Checks on Guest Control Registers, Debug Registers, and MSRs" */
    { "guest_cr0_pe_clear", { { GUEST_CR0, M_CLR, CR0_PE_BIT } }, GUEST33 },
    { "guest_cr0_pg_clear_ia32e", { { GUEST_CR0, M_CLR, CR0_PG_BIT } }, GUEST33 },
    { "guest_cr4_vmxe_clear", { { GUEST_CR4, M_CLR, CR4_VMXE } }, GUEST33 },
    { "guest_cr4_pae_clear_ia32e", { { GUEST_CR4, M_CLR, CR4_PAE_BIT } }, GUEST33 },
    { "guest_cr3_beyond_maxphyaddr", { { GUEST_CR3, M_PHYS, 0 } }, GUEST33 },
    { "guest_dr7_bits_63_32",
      { { ENTRY_CONTROLS, M_OR, ENTRY_LOAD_DEBUG }, { GUEST_DR7, M_SET, (1ull << 32) | 0x400 } },
      GUEST33 },
    { "guest_debugctl_reserved",
      { { ENTRY_CONTROLS, M_OR, ENTRY_LOAD_DEBUG }, { GUEST_DEBUGCTL, M_SET, 1ull << 2 } },
      GUEST33 },
    { "guest_sysenter_esp_noncanonical", { { GUEST_SYSENTER_ESP, M_SET, NONCANON } }, GUEST33 },
    { "guest_sysenter_eip_noncanonical", { { GUEST_SYSENTER_EIP, M_SET, NONCANON } }, GUEST33 },
    { "guest_efer_lma_vs_ia32e_mode",
      { { ENTRY_CONTROLS, M_OR, ENTRY_LOAD_EFER }, { GUEST_EFER, M_SET, 1ull << 8 } }, GUEST33 },
    { "guest_efer_reserved_bit",
      { { ENTRY_CONTROLS, M_OR, ENTRY_LOAD_EFER }, { GUEST_EFER, M_SET, EFER_LME_LMA | 2 } },
      GUEST33 },
    { "guest_pat_reserved_type",
      { { ENTRY_CONTROLS, M_OR, ENTRY_LOAD_PAT }, { GUEST_PAT, M_SET, 0x0007040600070403ull } },
      GUEST33 },
    /* "Checks on Guest Segment Registers" */
    { "guest_cs_type_not_accessed", { { GUEST_CS_AR, M_SET, 0xa09a } }, GUEST33 },
    { "guest_cs_l_and_d", { { GUEST_CS_AR, M_SET, 0xe09b } }, GUEST33 },
    { "guest_cs_not_present", { { GUEST_CS_AR, M_SET, 0xa01b } }, GUEST33 },
    { "guest_cs_base_bits_63_32", { { GUEST_CS_BASE, M_SET, 1ull << 32 } }, GUEST33 },
    { "guest_ss_rpl_vs_cs_rpl", { { GUEST_SS_SEL, M_SET, GDT_KDATA | 3 } }, GUEST33 },
    { "guest_ss_type_code", { { GUEST_SS_AR, M_SET, 0xc09b } }, GUEST33 },
    { "guest_ss_dpl_3", { { GUEST_SS_AR, M_SET, 0xc0f3 } }, GUEST33 },
    { "guest_ds_not_accessed", { { GUEST_DS_AR, M_SET, 0xc092 } }, GUEST33 },
    /* G = 1 needs limit bits 11:0 all 1 */
    { "guest_ds_limit_vs_g", { { GUEST_DS_LIMIT, M_SET, 0xfffff7ff } }, GUEST33 },
    { "guest_ds_ar_reserved_bits", { { GUEST_DS_AR, M_SET, 0xc093 | (1u << 8) } }, GUEST33 },
    { "guest_es_base_bits_63_32", { { GUEST_ES_BASE, M_SET, 1ull << 32 } }, GUEST33 },
    { "guest_fs_base_noncanonical", { { GUEST_FS_BASE, M_SET, NONCANON } }, GUEST33 },
    { "guest_tr_unusable", { { GUEST_TR_AR, M_SET, AR_TSS64_BUSY | AR_UNUSABLE } }, GUEST33 },
    { "guest_tr_16bit_busy_in_ia32e", { { GUEST_TR_AR, M_SET, 0x0083 } }, GUEST33 },
    { "guest_tr_ti_1", { { GUEST_TR_SEL, M_SET, 0x34 } }, GUEST33 },
    { "guest_tr_base_noncanonical", { { GUEST_TR_BASE, M_SET, NONCANON } }, GUEST33 },
    { "guest_ldtr_usable_wrong_type",
      { { GUEST_LDTR_AR, M_SET, 0x008b }, { GUEST_LDTR_SEL, M_SET, GDT_TSS } }, GUEST33 },
    /* "Checks on Guest Descriptor-Table Registers", "... RIP and RFLAGS" */
    { "guest_gdtr_base_noncanonical", { { GUEST_GDTR_BASE, M_SET, NONCANON } }, GUEST33 },
    { "guest_gdtr_limit_bits_31_16", { { GUEST_GDTR_LIMIT, M_SET, 0x10000 } }, GUEST33 },
    { "guest_idtr_base_noncanonical", { { GUEST_IDTR_BASE, M_SET, NONCANON } }, GUEST33 },
    { "guest_idtr_limit_bits_31_16", { { GUEST_IDTR_LIMIT, M_SET, 0x10fff } }, GUEST33 },
    /* RIP: "bits 63:N must be identical" (N = linear-address width), which
     * is not canonicality: bit 47 alone passes the check, and the first
     * fetch is #GP(0) (here a VM exit through the exception bitmap). */
    { "guest_rip_bit_63_only", { { GUEST_RIP, M_SET, 1ull << 63 } }, GUEST33 },
    { "guest_rip_bit_47_only_enters_then_gp",
      { { GUEST_RIP, M_SET, NONCANON }, { EXCEPTION_BITMAP, M_SET, 1u << 13 } }, K_OK,
      EXIT_EXCEPTION_NMI, 0 },
    { "guest_rflags_bit_1_clear", { { GUEST_RFLAGS, M_SET, 0 } }, GUEST33 },
    { "guest_rflags_bit_3_set", { { GUEST_RFLAGS, M_SET, 0xa } }, GUEST33 },
    { "guest_rflags_vm_in_ia32e", { { GUEST_RFLAGS, M_SET, 0x20002 } }, GUEST33 },
    { "guest_rflags_if_0_inject_ext_int",
      { { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_EXT, 0x20) } }, GUEST33 },
    /* "Checks on Guest Non-Register State" */
    { "guest_activity_state_5", { { GUEST_ACTIVITY, M_SET, 5 } }, GUEST33 },
    { "guest_interruptibility_reserved", { { GUEST_INTERRUPTIBILITY, M_SET, 1u << 5 } },
      GUEST33 },
    { "guest_interruptibility_sti_and_mov_ss",
      { { GUEST_INTERRUPTIBILITY, M_SET, 3 }, { GUEST_RFLAGS, M_SET, 0x202 } }, GUEST33 },
    { "guest_sti_blocking_with_if_0", { { GUEST_INTERRUPTIBILITY, M_SET, 1 } }, GUEST33 },
    { "guest_inject_ext_int_with_sti_blocking",
      { { GUEST_INTERRUPTIBILITY, M_SET, 1 }, { GUEST_RFLAGS, M_SET, 0x202 },
        { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_EXT, 0x20) } }, GUEST33 },
    { "guest_inject_nmi_with_mov_ss_blocking",
      { { GUEST_INTERRUPTIBILITY, M_SET, 2 }, { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_NMI, 2) } },
      GUEST33 },
    /* With virtual NMIs, bit 3 is virtual-NMI blocking: no NMI injection */
    { "guest_inject_nmi_with_virtual_nmi_blocking",
      { { GUEST_INTERRUPTIBILITY, M_SET, INTERRUPTIBILITY_NMI },
        { ENTRY_INTR_INFO, M_SET, INJ(INTR_TYPE_NMI, 2) },
        { PIN_CONTROLS, M_OR, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS } }, GUEST33 },
    { "guest_pending_dbg_reserved", { { GUEST_PENDING_DBG, M_SET, 1u << 4 } }, GUEST33 },
    { "guest_vmcs_link_pointer_misaligned", { { VMCS_LINK_PTR, M_SET, 0x1234 } },
      K_EXIT, EXIT33, ENTRY_QUAL_LINK_PTR },
    { "guest_vmcs_link_pointer_bad_revision", { { VMCS_LINK_PTR, M_BUF, 0 } },
      K_EXIT, EXIT33, ENTRY_QUAL_LINK_PTR, link_region_bad_revision },
    { "order_guest_before_msr_load",
      { { GUEST_CR4, M_CLR, CR4_VMXE }, { ENTRY_MSR_LOAD_ADDR, M_BUF, 0 },
        { ENTRY_MSR_LOAD_COUNT, M_SET, 2 } }, GUEST33, msr_list_x2apic },

    /* "Loading MSRs": exit 34, qualification = the failing entry (from 1) */
    { "entry_msr_load_x2apic_range",
      { { ENTRY_MSR_LOAD_ADDR, M_BUF, 0 }, { ENTRY_MSR_LOAD_COUNT, M_SET, 2 } },
      K_EXIT, EXIT34, 2, msr_list_x2apic },
    { "entry_msr_load_fs_base",
      { { ENTRY_MSR_LOAD_ADDR, M_BUF, 0 }, { ENTRY_MSR_LOAD_COUNT, M_SET, 2 } },
      K_EXIT, EXIT34, 2, msr_list_fs_base },
    { "entry_msr_load_reserved_bits",
      { { ENTRY_MSR_LOAD_ADDR, M_BUF, 0 }, { ENTRY_MSR_LOAD_COUNT, M_SET, 2 } },
      K_EXIT, EXIT34, 2, msr_list_reserved },
};

static uint64_t *ctl_cap(uint32_t field)
{
    switch (field) {
    case PIN_CONTROLS: return &vmx_caps.pin;
    case PROC_CONTROLS: return &vmx_caps.proc;
    case PROC2_CONTROLS: return &vmx_caps.proc2;
    case EXIT_CONTROLS: return &vmx_caps.exit;
    case ENTRY_CONTROLS: return &vmx_caps.entry;
    default: return 0;
    }
}

/* Apply one change; false (with a reason) if this CPU cannot express it. */
static bool apply(const struct mod *m, const char **why)
{
    uint64_t v = vmread(m->field), *cap = ctl_cap(m->field);
    uint32_t req = cap ? (uint32_t)*cap : 0, allowed = cap ? (uint32_t)(*cap >> 32) : 0;

    switch (m->op) {
    case M_NONE: return true;
    case M_SET: v = m->val; break;
    case M_OR:
        if (cap && !vmx_ctl_allowed(*cap, (uint32_t)m->val)) {
            *why = "control not supported by this CPU";
            return false;
        }
        v |= m->val;
        break;
    case M_CLR: v &= ~m->val; break;
    case M_CTL_REQ:
        if (!req) {
            *why = "no control bit is required to be 1";
            return false;
        }
        v &= ~(uint64_t)(req & -req);
        break;
    case M_CTL_DIS:
        if (allowed == 0xffffffffu) {
            *why = "every control bit may be 1";
            return false;
        }
        v |= (uint64_t)(~allowed & -~allowed);
        break;
    case M_PHYS: v |= 1ull << vmx_caps.maxphyaddr; break;
    case M_BUF: v = (uint64_t)page_buf + m->val; break;
    case M_FORCE: v |= m->val; break;
    case M_CR3_MAX: v = VMX_MISC_CR3_TARGETS(vmx_caps.misc) + 1; break;
    }
    if (m->field == PROC2_CONTROLS && !(vmx_caps.proc >> 63)) {
        *why = "no secondary controls";
        return false;
    }
    vmwrite(m->field, v);
    return true;
}

static void empty_guest(uint64_t arg)
{
}

static void run_case(const struct entry_case *c)
{
    const char *why = 0;
    int r;

    if ((c->flags & F_NO_BASIC56) && (vmx_caps.basic & (1ull << 56))) {
        report_skip(c->name, "IA32_VMX_BASIC[56]: error-code consistency not checked");
        return;
    }
    if (!vmx_test_vmcs(0, 0, 0, 0, 0, empty_guest, 0))
        return;
    /* An entry that should have failed must not run guest events through
     * the host's handlers. */
    vmx_guest_idt_install();
    memset(page_buf, 0, sizeof(page_buf));
    if (c->setup)
        c->setup();
    for (unsigned i = 0; i < 3; i++) {
        if (!apply(&c->mods[i], &why)) {
            report_skip(c->name, why);
            return;
        }
    }

    r = vmx_test_enter();
    switch (c->kind) {
    case K_OK:
        if (r != VMX_OK || last_exit.reason != c->expect)
            report_fail(c->name, "expected VMsucceed and exit %u, got result %d (error %u) exit %#x",
                        c->expect, r, r == VMX_FAIL_VALID ? vmx_insn_error() : 0, last_exit.reason);
        else
            report_pass(c->name);
        break;
    case K_FAIL:
        if (r == VMX_OK)
            report_fail(c->name, "expected VMfailValid(%u) got VM exit %#x qual %#lx", c->expect,
                        last_exit.reason, last_exit.qual);
        else
            check_vmx(c->name, r, VMX_FAIL_VALID, c->expect);
        break;
    case K_EXIT:
        if (r != VMX_OK)
            report_fail(c->name, "expected exit %#x qual %lu got result %d (error %u)", c->expect,
                        c->qual, r, r == VMX_FAIL_VALID ? vmx_insn_error() : 0);
        else if (last_exit.reason != c->expect || last_exit.qual != c->qual)
            report_fail(c->name, "expected exit %#x qual %lu got exit %#x qual %lu", c->expect,
                        c->qual, last_exit.reason, last_exit.qual);
        else
            report_pass(c->name);
        break;
    }
}

void guest_main(uint32_t mb_magic, uint32_t mb_info)
{
    vmx_test_start();
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}
