/* The first checks of a VM entry, SDM 3C "Checks on VMX Controls and
 * Host-State Area", in the SDM's order: a failure is VMfailValid with error
 * 7 (control fields) or 8 (host-state fields) and the instruction completes. */
#include "entry_internal.h"

#include <stdio.h>

#define ERR_CTL VMX_INSN_ERR_ENTRY_INVALID_CONTROL
#define ERR_HOST VMX_INSN_ERR_ENTRY_INVALID_HOST_STATE

#define EFER_RESERVED (~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))

bool entry_pat_valid(uint64_t pat)
{
    /* SDM 3A "IA32_PAT MSR": memory types 2 and 3 and 8-255 are reserved. */
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

bool entry_pa_range_ok(const struct entry_ck *ck, uint64_t pa, uint64_t len)
{
    /* vmx_pa_valid() applies IA32_VMX_BASIC[48] (32-bit limit). */
    uint64_t last = pa + len - 1;
    return last >= pa && vmx_caps_pa_valid(ck->vw->caps, ck->vw->maxphyaddr, last);
}

static bool ctl_ok(const struct vmx_vmcs_view *v, uint32_t val, enum vmx_msr m)
{
    uint32_t a0 = vmx_caps_allowed0(v->caps, m), a1 = vmx_caps_allowed1(v->caps, m);
    return (val & a0) == a0 && (val & ~a1) == 0;
}

/* SDM 3C "VM-Execution Control Fields" (checks) */
static enum vmx_insn_err check_exec_controls(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint32_t pin = ck->pin, proc = ck->proc, proc2 = ck->proc2;

    ENTRY_CHECK(ck, ctl_ok(v, pin, VMX_MSR_PINBASED_CTLS), ERR_CTL,
                "pin-based controls vs allowed-0/1 settings", "pin 0x%08x allowed0 0x%08x allowed1 0x%08x",
                pin, vmx_caps_allowed0(v->caps, VMX_MSR_PINBASED_CTLS), vmx_caps_allowed1(v->caps, VMX_MSR_PINBASED_CTLS));
    ENTRY_CHECK(ck, ctl_ok(v, proc, VMX_MSR_PROCBASED_CTLS), ERR_CTL,
                "primary processor-based controls vs allowed-0/1 settings",
                "proc 0x%08x allowed0 0x%08x allowed1 0x%08x", proc,
                vmx_caps_allowed0(v->caps, VMX_MSR_PROCBASED_CTLS), vmx_caps_allowed1(v->caps, VMX_MSR_PROCBASED_CTLS));
    /* "If the 'activate secondary controls' primary processor-based
     * VM-execution control is 1, reserved bits in the secondary
     * processor-based VM-execution controls must be cleared." */
    ENTRY_CHECK(ck, ctl_ok(v, proc2, VMX_MSR_PROCBASED_CTLS2), ERR_CTL,
                "secondary processor-based controls vs allowed-0/1 settings",
                "proc2 0x%08x allowed1 0x%08x", proc2, vmx_caps_allowed1(v->caps, VMX_MSR_PROCBASED_CTLS2));

    /* "The CR3-target count must not be greater than 4 ... software should
     * read the VMX capability MSR IA32_VMX_MISC" */
    uint64_t cnt = vmcs_get(v, VMCS_cr3_target_count);
    uint64_t max = (v->caps->msr[VMX_MSR_MISC] >> VMX_MISC_CR3_TARGETS_SHIFT) & VMX_MISC_CR3_TARGETS_MASK;
    ENTRY_CHECK(ck, cnt <= max, ERR_CTL, "CR3-target count <= IA32_VMX_MISC[24:16]",
                "count %llu max %llu", (unsigned long long)cnt, (unsigned long long)max);

    /* "If the 'use I/O bitmaps' VM-execution control is 1, bits 11:0 of each
     * I/O-bitmap address must be 0. Neither address should set any bits
     * beyond the processor's physical-address width." */
    if (proc & PROC_USE_IO_BITMAPS) {
        uint64_t a = vmcs_get(v, VMCS_io_bitmap_a), b = vmcs_get(v, VMCS_io_bitmap_b);
        ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), ERR_CTL,
                    "I/O-bitmap A address 4-KByte aligned, within physical-address width",
                    "io_bitmap_a 0x%llx", (unsigned long long)a);
        ENTRY_CHECK(ck, (b & 0xfff) == 0 && entry_pa_range_ok(ck, b, 1), ERR_CTL,
                    "I/O-bitmap B address 4-KByte aligned, within physical-address width",
                    "io_bitmap_b 0x%llx", (unsigned long long)b);
    }
    /* "If the 'use MSR bitmaps' VM-execution control is 1, bits 11:0 of the
     * MSR-bitmap address must be 0. The address should not set any bits
     * beyond the processor's physical-address width." */
    if (proc & PROC_USE_MSR_BITMAPS) {
        uint64_t a = vmcs_get(v, VMCS_msr_bitmap);
        ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), ERR_CTL,
                    "MSR-bitmap address 4-KByte aligned, within physical-address width",
                    "msr_bitmap 0x%llx", (unsigned long long)a);
    }
    /* "If the 'use TPR shadow' VM-execution control is 1, the virtual-APIC
     * address must satisfy: bits 11:0 ... 0; no bits beyond the width; ...
     * bits 31:4 of the TPR threshold must be 0" (no model advertises the
     * control yet: the allowed-1 check above keeps it 0). */
    if (proc & PROC_USE_TPR_SHADOW) {
        uint64_t a = vmcs_get(v, VMCS_virtual_apic_page_addr);
        ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), ERR_CTL,
                    "virtual-APIC address 4-KByte aligned, within physical-address width",
                    "virtual_apic_page_addr 0x%llx", (unsigned long long)a);
        uint64_t thr = vmcs_get(v, VMCS_tpr_threshold);
        ENTRY_CHECK(ck, (proc2 & PROC2_VIRTUAL_INTERRUPT_DELIVERY) || (thr >> 4) == 0, ERR_CTL,
                    "TPR threshold bits 31:4 are 0", "tpr_threshold 0x%llx", (unsigned long long)thr);
    } else {
        /* "If the 'use TPR shadow' VM-execution control is 0, the following
         * VM-execution controls must also be 0: 'virtualize x2APIC mode',
         * 'APIC-register virtualization', and 'virtual-interrupt delivery'." */
        ENTRY_CHECK(ck, !(proc2 & (PROC2_VIRTUALIZE_X2APIC_MODE | PROC2_APIC_REGISTER_VIRTUALIZATION |
                                   PROC2_VIRTUAL_INTERRUPT_DELIVERY)),
                    ERR_CTL, "x2APIC/APIC-register virtualization and virtual-interrupt delivery need 'use TPR shadow'",
                    "proc 0x%08x proc2 0x%08x", proc, proc2);
    }
    /* "If the 'NMI exiting' VM-execution control is 0, the 'virtual NMIs'
     * VM-execution control must be 0." */
    ENTRY_CHECK(ck, (pin & PIN_NMI_EXITING) || !(pin & PIN_VIRTUAL_NMIS), ERR_CTL,
                "'virtual NMIs' requires 'NMI exiting'", "pin 0x%08x", pin);
    /* "If the 'virtual NMIs' VM-execution control is 0, the 'NMI-window
     * exiting' VM-execution control must be 0." */
    ENTRY_CHECK(ck, (pin & PIN_VIRTUAL_NMIS) || !(proc & PROC_NMI_WINDOW_EXITING), ERR_CTL,
                "'NMI-window exiting' requires 'virtual NMIs'", "pin 0x%08x proc 0x%08x", pin, proc);
    /* "If the 'virtualize APIC-accesses' VM-execution control is 1, the
     * APIC-access address must satisfy: bits 11:0 ... 0; no bits beyond the
     * processor's physical-address width." */
    if (proc2 & PROC2_VIRTUALIZE_APIC_ACCESSES) {
        uint64_t a = vmcs_get(v, VMCS_apic_access_addr);
        ENTRY_CHECK(ck, (a & 0xfff) == 0 && entry_pa_range_ok(ck, a, 1), ERR_CTL,
                    "APIC-access address 4-KByte aligned, within physical-address width",
                    "apic_access_addr 0x%llx", (unsigned long long)a);
    }
    /* "If the 'virtualize x2APIC mode' VM-execution control is 1, the
     * 'virtualize APIC accesses' VM-execution control must be 0." */
    ENTRY_CHECK(ck, !(proc2 & PROC2_VIRTUALIZE_X2APIC_MODE) || !(proc2 & PROC2_VIRTUALIZE_APIC_ACCESSES),
                ERR_CTL, "'virtualize x2APIC mode' excludes 'virtualize APIC accesses'", "proc2 0x%08x", proc2);
    /* "If the 'virtual-interrupt delivery' VM-execution control is 1, the
     * 'external-interrupt exiting' VM-execution control must be 1." */
    ENTRY_CHECK(ck, !(proc2 & PROC2_VIRTUAL_INTERRUPT_DELIVERY) || (pin & PIN_EXTERNAL_INTERRUPT_EXITING),
                ERR_CTL, "'virtual-interrupt delivery' requires 'external-interrupt exiting'",
                "pin 0x%08x proc2 0x%08x", pin, proc2);
    /* "If the 'process posted interrupts' VM-execution control is 1: the
     * 'virtual-interrupt delivery' VM-execution control is 1; the
     * 'acknowledge interrupt on exit' VM-exit control is 1; ..." */
    if (pin & PIN_PROCESS_POSTED_INTERRUPTS) {
        uint64_t nv = vmcs_get(v, VMCS_posted_intr_notification_vector);
        uint64_t d = vmcs_get(v, VMCS_posted_intr_desc_addr);
        ENTRY_CHECK(ck, (proc2 & PROC2_VIRTUAL_INTERRUPT_DELIVERY) && (ck->exit_ctls & EXIT_ACK_INTERRUPT_ON_EXIT),
                    ERR_CTL, "posted interrupts need virtual-interrupt delivery and acknowledge interrupt on exit",
                    "proc2 0x%08x exit 0x%08x", proc2, ck->exit_ctls);
        ENTRY_CHECK(ck, (nv >> 8) == 0, ERR_CTL, "posted-interrupt notification vector bits 15:8 are 0",
                    "vector 0x%llx", (unsigned long long)nv);
        ENTRY_CHECK(ck, (d & 0x3f) == 0 && entry_pa_range_ok(ck, d, 1), ERR_CTL,
                    "posted-interrupt descriptor address 64-byte aligned, within width",
                    "posted_intr_desc_addr 0x%llx", (unsigned long long)d);
    }
    /* "If the 'enable VPID' VM-execution control is 1, the value of the VPID
     * VM-execution control field must not be 0000H." */
    ENTRY_CHECK(ck, !(proc2 & PROC2_ENABLE_VPID) || vmcs_get(v, VMCS_virtual_processor_id) != 0, ERR_CTL,
                "'enable VPID' requires a VPID other than 0", "vpid 0x%llx",
                (unsigned long long)vmcs_get(v, VMCS_virtual_processor_id));
    /* "If the 'VMCS shadowing' VM-execution control is 1, the VMREAD-bitmap
     * and VMWRITE-bitmap addresses must each satisfy: bits 11:0 of the
     * address must be 0; the address must not set any bits beyond the
     * processor's physical-address width." */
    if (proc2 & PROC2_VMCS_SHADOWING) {
        uint64_t r = vmcs_get(v, VMCS_vmread_bitmap), w = vmcs_get(v, VMCS_vmwrite_bitmap);
        ENTRY_CHECK(ck, (r & 0xfff) == 0 && entry_pa_range_ok(ck, r, 1), ERR_CTL,
                    "VMREAD-bitmap address 4-KByte aligned, within physical-address width",
                    "vmread_bitmap 0x%llx", (unsigned long long)r);
        ENTRY_CHECK(ck, (w & 0xfff) == 0 && entry_pa_range_ok(ck, w, 1), ERR_CTL,
                    "VMWRITE-bitmap address 4-KByte aligned, within physical-address width",
                    "vmwrite_bitmap 0x%llx", (unsigned long long)w);
    }
    /* "If the 'enable EPT' VM-execution control is 1, the EPTP VM-execution
     * control field must satisfy the following checks": memory type, walk
     * length, A/D enable, bits 11:7 and 63:N (src/ept ept_eptp_check()). */
    if (proc2 & PROC2_ENABLE_EPT) {
        uint64_t eptp = vmcs_get(v, VMCS_ept_pointer);
        struct ept_caps caps = { .cap = v->caps->msr[VMX_MSR_EPT_VPID_CAP], .maxphyaddr = v->maxphyaddr };
        const char *why = ept_eptp_check(&caps, eptp);
        ENTRY_CHECK(ck, why == NULL, ERR_CTL, "EPTP valid for IA32_VMX_EPT_VPID_CAP", "eptp 0x%llx: %s",
                    (unsigned long long)eptp, why ? why : "");
    }
    enum vmx_insn_err vf = entry_check_vm_functions(ck);
    if (vf == VMX_INSN_OK)
        vf = entry_check_pml(ck);
    if (vf == VMX_INSN_OK)
        vf = entry_check_ve(ck);
    if (vf != VMX_INSN_OK)
        return vf;
    /* "If the 'unrestricted guest' VM-execution control is 1, the 'enable
     * EPT' VM-execution control must also be 1." PML and #VE checks
     * come with those controls (no model advertises them). */
    ENTRY_CHECK(ck, !(proc2 & PROC2_UNRESTRICTED_GUEST) || (proc2 & PROC2_ENABLE_EPT), ERR_CTL,
                "'unrestricted guest' requires 'enable EPT'", "proc2 0x%08x", proc2);
    return VMX_INSN_OK;
}

/* An MSR area of count 16-byte entries: "bits 3:0 of the address must be 0;
 * the address should not set any bits beyond the processor's
 * physical-address width; the address of the last byte in the area ... must
 * not set any bits beyond the processor's physical-address width." */
static bool msr_area_ok(const struct entry_ck *ck, uint64_t addr, uint64_t count)
{
    return count == 0 || ((addr & 0xf) == 0 && entry_pa_range_ok(ck, addr, count * 16));
}

/* SDM 3C "VM-Exit Control Fields" (checks) */
static enum vmx_insn_err check_exit_controls(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint32_t ex = ck->exit_ctls;

    ENTRY_CHECK(ck, ctl_ok(v, ex, VMX_MSR_EXIT_CTLS), ERR_CTL, "VM-exit controls vs allowed-0/1 settings",
                "exit 0x%08x allowed0 0x%08x allowed1 0x%08x", ex, vmx_caps_allowed0(v->caps, VMX_MSR_EXIT_CTLS),
                vmx_caps_allowed1(v->caps, VMX_MSR_EXIT_CTLS));
    /* "If the 'activate VMX-preemption timer' VM-execution control is 0, the
     * 'save VMX-preemption timer value' VM-exit control must also be 0." */
    ENTRY_CHECK(ck, (ck->pin & PIN_ACTIVATE_PREEMPTION_TIMER) || !(ex & EXIT_SAVE_PREEMPTION_TIMER), ERR_CTL,
                "'save VMX-preemption timer value' requires 'activate VMX-preemption timer'",
                "pin 0x%08x exit 0x%08x", ck->pin, ex);
    uint64_t sa = vmcs_get(v, VMCS_vmexit_msr_store_addr), sc = vmcs_get(v, VMCS_vm_exit_msr_store_count);
    ENTRY_CHECK(ck, msr_area_ok(ck, sa, sc), ERR_CTL,
                "VM-exit MSR-store address 16-byte aligned, area within physical-address width",
                "addr 0x%llx count %llu", (unsigned long long)sa, (unsigned long long)sc);
    uint64_t la = vmcs_get(v, VMCS_vmexit_msr_load_addr), lc = vmcs_get(v, VMCS_vm_exit_msr_load_count);
    ENTRY_CHECK(ck, msr_area_ok(ck, la, lc), ERR_CTL,
                "VM-exit MSR-load address 16-byte aligned, area within physical-address width",
                "addr 0x%llx count %llu", (unsigned long long)la, (unsigned long long)lc);
    return VMX_INSN_OK;
}

/* Hardware exceptions that deliver an error code (SDM 3C "VM-Entry Control
 * Fields": #DF, #TS, #NP, #SS, #GP, #PF, #AC). */
static bool exc_has_error_code(unsigned vector)
{
    return vector < 32 && ((1u << vector) & ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) |
                                             (1u << 13) | (1u << 14) | (1u << 17)));
}

/* SDM 3C "VM-Entry Control Fields" (checks), "Event injection" */
static enum vmx_insn_err check_event_injection(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint32_t info = ck->intr_info;
    if (!(info & VMX_INTR_INFO_VALID))
        return VMX_INSN_OK;
    unsigned type = (info & VMX_INTR_INFO_TYPE_MASK) >> VMX_INTR_INFO_TYPE_SHIFT;
    unsigned vec = info & VMX_INTR_INFO_VECTOR;
    bool errc = info & VMX_INTR_INFO_ERROR_CODE;

    /* "The field's interruption type (bits 10:8) is not set to a reserved
     * value. Value 1 is reserved on all logical processors; value 7 (other
     * event) is reserved on logical processors that do not support the
     * 1-setting of the 'monitor trap flag' VM-execution control." */
    ENTRY_CHECK(ck, type != VMX_INTR_TYPE_RESERVED, ERR_CTL, "interruption type 1 is reserved",
                "intr_info 0x%08x", info);
    ENTRY_CHECK(ck, type != VMX_INTR_TYPE_OTHER ||
                        (vmx_caps_allowed1(v->caps, VMX_MSR_PROCBASED_CTLS) & PROC_MONITOR_TRAP_FLAG),
                ERR_CTL, "interruption type 7 needs 'monitor trap flag' support", "intr_info 0x%08x", info);
    /* "The field's vector (bits 7:0) is consistent with the interruption
     * type: if the interruption type is non-maskable interrupt (NMI), the
     * vector is 2; if the interruption type is hardware exception, the
     * vector is at most 31; if the interruption type is other event, the
     * vector is 0 (pending MTF VM exit)." */
    ENTRY_CHECK(ck, type != EVT_NMI || vec == EXC_NMI, ERR_CTL, "injected NMI has vector 2",
                "intr_info 0x%08x vector %u", info, vec);
    ENTRY_CHECK(ck, type != EVT_HW_EXC || vec <= 31, ERR_CTL, "injected hardware exception has vector <= 31",
                "intr_info 0x%08x vector %u", info, vec);
    ENTRY_CHECK(ck, type != VMX_INTR_TYPE_OTHER || vec == 0, ERR_CTL, "injected other event has vector 0",
                "intr_info 0x%08x vector %u", info, vec);
    /* "The field's deliver-error-code bit (bit 11) is 1 if each of the
     * following holds: (1) the 'unrestricted guest' VM-execution control is
     * 0 or bit 0 (PE) in the CR0 field is 1; (2) the interruption type is
     * hardware exception; (3) IA32_VMX_BASIC[56] is 0 and the vector
     * indicates an exception that would normally deliver an error code. The
     * bit is 0 if any of: 'unrestricted guest' 1 and CR0.PE 0; the type is
     * not hardware exception; IA32_VMX_BASIC[56] is 0 and the vector
     * indicates one that would not deliver an error code." */
    bool pe = (vmcs_get(v, VMCS_guest_cr0) & CR0_PE) || !ck->unrestricted;
    bool basic56 = v->caps->msr[VMX_MSR_BASIC] & VMX_BASIC_NO_ERRCODE_CHECK;
    bool must = pe && type == EVT_HW_EXC && !basic56 && exc_has_error_code(vec);
    bool must_not = !pe || type != EVT_HW_EXC || (!basic56 && !exc_has_error_code(vec));
    ENTRY_CHECK(ck, !must || errc, ERR_CTL, "deliver-error-code must be 1 for this exception",
                "intr_info 0x%08x vector %u type %u", info, vec, type);
    ENTRY_CHECK(ck, !must_not || !errc, ERR_CTL, "deliver-error-code must be 0 for this event",
                "intr_info 0x%08x vector %u type %u", info, vec, type);
    /* "Reserved bits in the field (30:12) are 0." */
    ENTRY_CHECK(ck, (info & VMX_INTR_INFO_RESERVED) == 0, ERR_CTL,
                "VM-entry interruption-information bits 30:12 are 0", "intr_info 0x%08x", info);
    /* "If the deliver-error-code bit (bit 11) is 1, bits 31:16 of the
     * VM-entry exception error-code field are 0." */
    uint64_t ec = vmcs_get(v, VMCS_vm_entry_exception_error_code);
    ENTRY_CHECK(ck, !errc || (ec >> 16) == 0, ERR_CTL, "VM-entry exception error code bits 31:16 are 0",
                "error code 0x%llx", (unsigned long long)ec);
    /* "If the interruption type is software interrupt, software exception,
     * or privileged software exception, the VM-entry instruction-length
     * field is in the range 0-15. A VM-entry instruction length of 0 is
     * allowed only if IA32_VMX_MISC[30] is read as 1" */
    if (type == EVT_SW_INT || type == EVT_SW_EXC || type == EVT_PRIV_SW_EXC) {
        uint64_t len = vmcs_get(v, VMCS_vm_entry_instruction_len);
        bool zero_ok = v->caps->msr[VMX_MSR_MISC] & VMX_MISC_ZERO_LEN_INJECTION;
        ENTRY_CHECK(ck, len <= 15 && (len != 0 || zero_ok), ERR_CTL,
                    "VM-entry instruction length 1-15 (0 only with IA32_VMX_MISC[30])",
                    "length %llu", (unsigned long long)len);
    }
    return VMX_INSN_OK;
}

/* SDM 3C "VM-Entry Control Fields" (checks) */
static enum vmx_insn_err check_entry_controls(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    uint32_t en = ck->entry_ctls;

    ENTRY_CHECK(ck, ctl_ok(v, en, VMX_MSR_ENTRY_CTLS), ERR_CTL, "VM-entry controls vs allowed-0/1 settings",
                "entry 0x%08x allowed0 0x%08x allowed1 0x%08x", en, vmx_caps_allowed0(v->caps, VMX_MSR_ENTRY_CTLS),
                vmx_caps_allowed1(v->caps, VMX_MSR_ENTRY_CTLS));
    enum vmx_insn_err e = check_event_injection(ck);
    if (e != VMX_INSN_OK)
        return e;
    uint64_t a = vmcs_get(v, VMCS_vmentry_msr_load_addr), n = vmcs_get(v, VMCS_vm_entry_msr_load_count);
    ENTRY_CHECK(ck, msr_area_ok(ck, a, n), ERR_CTL,
                "VM-entry MSR-load address 16-byte aligned, area within physical-address width",
                "addr 0x%llx count %llu", (unsigned long long)a, (unsigned long long)n);
    /* "If the processor is not in SMM, the 'entry to SMM' and 'deactivate
     * dual-monitor treatment' VM-entry controls must be 0." nvmx has no SMM. */
    ENTRY_CHECK(ck, !(en & (ENTRY_ENTRY_TO_SMM | ENTRY_DEACTIVATE_DUAL_MONITOR)), ERR_CTL,
                "'entry to SMM' and 'deactivate dual-monitor treatment' are 0 outside SMM", "entry 0x%08x", en);
    return VMX_INSN_OK;
}

enum vmx_insn_err entry_check_controls(struct entry_ck *ck)
{
    enum vmx_insn_err e = check_exec_controls(ck);
    if (e == VMX_INSN_OK)
        e = check_exit_controls(ck);
    if (e == VMX_INSN_OK)
        e = check_entry_controls(ck);
    return e;
}

/* SDM 3C "Checks on Host Control Registers, MSRs, and SSP" */
static enum vmx_insn_err check_host_regs(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    const uint64_t *caps = v->caps->msr;
    uint64_t cr0 = vmcs_get(v, VMCS_host_cr0), cr4 = vmcs_get(v, VMCS_host_cr4);
    uint64_t cr3 = vmcs_get(v, VMCS_host_cr3);

    /* "The CR0 field must not set any bit to a value not supported in VMX
     * operation" (IA32_VMX_CR0_FIXED0/1), likewise CR4. */
    ENTRY_CHECK(ck, entry_fixed_ok(cr0, caps[VMX_MSR_CR0_FIXED0], caps[VMX_MSR_CR0_FIXED1]), ERR_HOST,
                "host CR0 vs IA32_VMX_CR0_FIXED0/1", "host_cr0 0x%llx", (unsigned long long)cr0);
    ENTRY_CHECK(ck, entry_fixed_ok(cr4, caps[VMX_MSR_CR4_FIXED0], caps[VMX_MSR_CR4_FIXED1]), ERR_HOST,
                "host CR4 vs IA32_VMX_CR4_FIXED0/1", "host_cr4 0x%llx", (unsigned long long)cr4);
    /* "On processors that support Intel 64 architecture, the CR3 field must
     * be such that bits 63:52 and bits in the range 51:32 beyond the
     * processor's physical-address width must be 0." */
    ENTRY_CHECK(ck, (cr3 >> ck->maxphyaddr) == 0, ERR_HOST, "host CR3 within physical-address width",
                "host_cr3 0x%llx maxphyaddr %u", (unsigned long long)cr3, ck->maxphyaddr);
    /* "the IA32_SYSENTER_ESP field and the IA32_SYSENTER_EIP field must
     * each contain a canonical address." */
    uint64_t esp = vmcs_get(v, VMCS_host_ia32_sysenter_esp), eip = vmcs_get(v, VMCS_host_ia32_sysenter_eip);
    ENTRY_CHECK(ck, entry_canonical(esp), ERR_HOST, "host IA32_SYSENTER_ESP canonical",
                "host_ia32_sysenter_esp 0x%llx", (unsigned long long)esp);
    ENTRY_CHECK(ck, entry_canonical(eip), ERR_HOST, "host IA32_SYSENTER_EIP canonical",
                "host_ia32_sysenter_eip 0x%llx", (unsigned long long)eip);
    /* "If the 'load IA32_PAT' VM-exit control is 1, the value of the field
     * for the IA32_PAT MSR must be one that could be written by WRMSR
     * without fault at CPL 0." */
    if (ck->exit_ctls & EXIT_LOAD_PAT) {
        uint64_t pat = vmcs_get(v, VMCS_host_ia32_pat);
        ENTRY_CHECK(ck, entry_pat_valid(pat), ERR_HOST, "host IA32_PAT memory types valid",
                    "host_ia32_pat 0x%016llx", (unsigned long long)pat);
    }
    /* "If the 'load IA32_EFER' VM-exit control is 1, bits reserved in the
     * IA32_EFER MSR must be 0 in the field for that register. In addition,
     * the values of the LMA and LME bits in the field must each be that of
     * the 'host address-space size' VM-exit control." */
    if (ck->exit_ctls & EXIT_LOAD_EFER) {
        uint64_t efer = vmcs_get(v, VMCS_host_ia32_efer);
        ENTRY_CHECK(ck, (efer & EFER_RESERVED) == 0, ERR_HOST, "host IA32_EFER reserved bits 0",
                    "host_ia32_efer 0x%llx", (unsigned long long)efer);
        ENTRY_CHECK(ck, !!(efer & EFER_LMA) == ck->host_64 && !!(efer & EFER_LME) == ck->host_64, ERR_HOST,
                    "host IA32_EFER.LMA and LME equal 'host address-space size'",
                    "host_ia32_efer 0x%llx host address-space size %d", (unsigned long long)efer, ck->host_64);
    }
    return VMX_INSN_OK;
}

/* SDM 3C "Checks on Host Segment and Descriptor-Table Registers" */
static enum vmx_insn_err check_host_segs(struct entry_ck *ck)
{
    static const struct { enum vmcs_field f; const char *name; } sel[] = {
        { VMCS_host_es_selector, "ES" }, { VMCS_host_cs_selector, "CS" }, { VMCS_host_ss_selector, "SS" },
        { VMCS_host_ds_selector, "DS" }, { VMCS_host_fs_selector, "FS" }, { VMCS_host_gs_selector, "GS" },
        { VMCS_host_tr_selector, "TR" },
    };
    const struct vmx_vmcs_view *v = ck->vw;
    /* "In the selector field for each of CS, SS, DS, ES, FS, GS and TR, the
     * RPL (bits 1:0) and the TI flag (bit 2) must be 0." */
    for (unsigned i = 0; i < sizeof sel / sizeof sel[0]; i++) {
        uint64_t s = vmcs_get(v, sel[i].f);
        ENTRY_CHECK(ck, (s & 7) == 0, ERR_HOST, "host selector RPL and TI are 0", "host %s selector 0x%04llx",
                    sel[i].name, (unsigned long long)s);
    }
    /* "The selector fields for CS and TR cannot be 0000H." */
    ENTRY_CHECK(ck, vmcs_get(v, VMCS_host_cs_selector) != 0, ERR_HOST, "host CS selector not 0000H", "%s", "");
    ENTRY_CHECK(ck, vmcs_get(v, VMCS_host_tr_selector) != 0, ERR_HOST, "host TR selector not 0000H", "%s", "");
    /* "The selector field for SS cannot be 0000H if the 'host address-space
     * size' VM-exit control is 0." */
    ENTRY_CHECK(ck, ck->host_64 || vmcs_get(v, VMCS_host_ss_selector) != 0, ERR_HOST,
                "host SS selector not 0000H unless 64-bit host", "%s", "");
    /* "On processors that support Intel 64 architecture, the base-address
     * fields for FS, GS, GDTR, IDTR, and TR must contain canonical
     * addresses." */
    static const struct { enum vmcs_field f; const char *name; } base[] = {
        { VMCS_host_fs_base, "FS" }, { VMCS_host_gs_base, "GS" }, { VMCS_host_gdtr_base, "GDTR" },
        { VMCS_host_idtr_base, "IDTR" }, { VMCS_host_tr_base, "TR" },
    };
    for (unsigned i = 0; i < sizeof base / sizeof base[0]; i++) {
        uint64_t b = vmcs_get(v, base[i].f);
        ENTRY_CHECK(ck, entry_canonical(b), ERR_HOST, "host base address canonical", "host %s base 0x%llx",
                    base[i].name, (unsigned long long)b);
    }
    return VMX_INSN_OK;
}

/* SDM 3C "Checks Related to Address-Space Size" */
static enum vmx_insn_err check_host_address_space(struct entry_ck *ck)
{
    const struct vmx_vmcs_view *v = ck->vw;
    bool lma = v->lma;
    uint64_t cr4 = vmcs_get(v, VMCS_host_cr4), rip = vmcs_get(v, VMCS_host_rip);

    /* "If the logical processor is outside IA-32e mode (if IA32_EFER.LMA =
     * 0) at the time of VM entry, the following must hold: the 'IA-32e mode
     * guest' VM-entry control is 0; the 'host address-space size' VM-exit
     * control is 0." */
    ENTRY_CHECK(ck, lma || !ck->ia32e_guest, ERR_HOST, "'IA-32e mode guest' needs IA32_EFER.LMA = 1",
                "efer 0x%llx entry 0x%08x", (unsigned long long)v->efer, ck->entry_ctls);
    ENTRY_CHECK(ck, lma || !ck->host_64, ERR_HOST, "'host address-space size' needs IA32_EFER.LMA = 1",
                "efer 0x%llx exit 0x%08x", (unsigned long long)v->efer, ck->exit_ctls);
    /* "If the logical processor is in IA-32e mode (if IA32_EFER.LMA = 1) at
     * the time of VM entry, the 'host address-space size' VM-exit control
     * must be 1." */
    ENTRY_CHECK(ck, !lma || ck->host_64, ERR_HOST, "IA32_EFER.LMA = 1 needs 'host address-space size'",
                "efer 0x%llx exit 0x%08x", (unsigned long long)v->efer, ck->exit_ctls);
    if (!ck->host_64) {
        /* "If the 'host address-space size' VM-exit control is 0: the
         * 'IA-32e mode guest' VM-entry control must be 0; bit 17 of the CR4
         * field (CR4.PCIDE) must be 0; bits 63:32 in the RIP field must be 0." */
        ENTRY_CHECK(ck, !ck->ia32e_guest, ERR_HOST, "'IA-32e mode guest' needs a 64-bit host",
                    "entry 0x%08x", ck->entry_ctls);
        ENTRY_CHECK(ck, !(cr4 & CR4_PCIDE), ERR_HOST, "host CR4.PCIDE = 0 for a 32-bit host",
                    "host_cr4 0x%llx", (unsigned long long)cr4);
        ENTRY_CHECK(ck, (rip >> 32) == 0, ERR_HOST, "host RIP bits 63:32 are 0 for a 32-bit host",
                    "host_rip 0x%llx", (unsigned long long)rip);
    } else {
        /* "If the 'host address-space size' VM-exit control is 1: bit 5 of
         * the CR4 field (CR4.PAE) must be 1; the RIP field must contain a
         * canonical address." */
        ENTRY_CHECK(ck, cr4 & CR4_PAE, ERR_HOST, "64-bit host requires CR4.PAE", "host_cr4 0x%llx",
                    (unsigned long long)cr4);
        ENTRY_CHECK(ck, entry_canonical(rip), ERR_HOST, "64-bit host RIP canonical", "host_rip 0x%llx",
                    (unsigned long long)rip);
    }
    return VMX_INSN_OK;
}

enum vmx_insn_err entry_check_host(struct entry_ck *ck)
{
    enum vmx_insn_err e = check_host_regs(ck);
    if (e == VMX_INSN_OK)
        e = check_host_segs(ck);
    if (e == VMX_INSN_OK)
        e = check_host_address_space(ck);
    return e;
}
