/* The loading steps of a VM entry: the PAE PDPTEs (checked as they load),
 * guest control/debug registers, MSRs, segments, descriptor tables, RIP,
 * RSP, RFLAGS and non-register state (SDM 3C "Loading Guest State"), then the
 * VM-entry MSR-load list (SDM 3C "Loading MSRs"). */
#include "entry_internal.h"

#include <stdio.h>

/* CR0 bits the processor implements; the others read as 0 and ET as 1
 * (SDM 3A "CR0": "Bits 15:6, bit 17, and bits 28:19 of CR0 are always 0
 * and CR0.ET is always 1"). */
#define CR0_LOADABLE (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

/* SDM 3C "Checks on Guest Page-Directory-Pointer-Table Entries": "If CR0.PG
 * = 1, CR4.PAE = 1, and IA32_EFER.LMA = 0, the logical processor also uses
 * PAE paging ... When PAE paging is in use, the physical address in CR3
 * references a table of page-directory-pointer-table entries (PDPTEs). ...
 * If the 'enable EPT' VM-execution control is 0, VM entry checks the
 * validity of the PDPTEs referenced by the CR3 field in the guest-state
 * area ... A VM entry to a guest that uses PAE paging fails if any of the
 * PDPTEs sets any reserved bits" (exit qualification 2). They are loaded
 * into the PDPTE registers as they are checked. */
enum vmx_entry_qual entry_load_pdptes(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    uint64_t cr0 = vmcs_get(v, VMCS_guest_cr0), cr4 = vmcs_get(v, VMCS_guest_cr4);
    if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || ck->ia32e_guest)
        return VMX_ENTRY_GUEST_OK;
    if (ck->proc2 & PROC2_ENABLE_EPT)
        return vmx_ept_load_pdptes(ck);

    uint64_t saved_cr3 = c->cr3;
    c->cr3 = vmcs_get(v, VMCS_guest_cr3);
    bool ok = cpu_load_pdptes(c);
    if (ok)
        return VMX_ENTRY_GUEST_OK;
    c->cr3 = saved_cr3;
    uint64_t base = vmcs_get(v, VMCS_guest_cr3) & 0xffffffe0u, e[4];
    for (unsigned i = 0; i < 4; i++)
        e[i] = cpu_phys_read(c, base + 8 * i, 8);
    return entry_fail_guest(ck, VMX_ENTRY_QUAL_PDPTE, "!(pdpte & P) || !(pdpte & reserved)",
                            "guest PAE PDPTEs set no reserved bit",
                            "cr3 0x%llx pdpte 0x%llx 0x%llx 0x%llx 0x%llx",
                            (unsigned long long)vmcs_get(v, VMCS_guest_cr3), (unsigned long long)e[0],
                            (unsigned long long)e[1], (unsigned long long)e[2], (unsigned long long)e[3]);
}

/* SDM 3C "Loading Guest Segment Registers and Descriptor-Table Registers".
 * The access rights are copied as they are: the CPU keeps them in the VMX
 * layout. For an unusable register "the base address, segment limit, and
 * access rights are undefined after VM entry" with listed exceptions; nvmx
 * loads all fields from the VMCS (its defined choice) and then applies the
 * exceptions. */
static void load_seg(struct seg_reg *r, const struct vmx *v, unsigned i)
{
    r->sel = (uint16_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_selector + i));
    r->base = vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_base + i));
    r->limit = (uint32_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_limit + i));
    r->ar = (uint32_t)vmcs_get(v, (enum vmcs_field)(VMCS_guest_es_ar_bytes + i));
}

static void load_segments(struct cpu *c, const struct vmx *v)
{
    for (unsigned i = SEG_ES; i < SEG_NSEGS; i++) {
        struct seg_reg *r = &c->seg[i];
        load_seg(r, v, i);
        if (!(r->ar & AR_UNUSABLE))
            continue;
        /* "Bits 63:32 of the base addresses for SS, DS, and ES are cleared
         * to 0." "Bits 3:0 of the base address for SS are cleared to 0."
         * "SS.B is always set to 1." (FS/GS bases are loaded; SS.DPL is
         * always loaded from the SS access-rights field.) */
        if (i == SEG_SS || i == SEG_DS || i == SEG_ES)
            r->base &= 0xffffffffull;
        if (i == SEG_SS) {
            r->base &= ~0xfull;
            r->ar |= AR_DB;
        }
    }
    load_seg(&c->ldtr, v, 6);
    load_seg(&c->tr, v, 7);
    /* "The base address for LDTR is set to an undefined but canonical value"
     * when LDTR is unusable: nvmx keeps the field if canonical, else 0. */
    if ((c->ldtr.ar & AR_UNUSABLE) && !entry_canonical(c->ldtr.base))
        c->ldtr.base = 0;
    c->gdtr = (struct dtr){ vmcs_get(v, VMCS_guest_gdtr_base), (uint32_t)vmcs_get(v, VMCS_guest_gdtr_limit) };
    c->idtr = (struct dtr){ vmcs_get(v, VMCS_guest_idtr_base), (uint32_t)vmcs_get(v, VMCS_guest_idtr_limit) };
}

/* SDM 3C "Loading Guest Control Registers, Debug Registers, and MSRs" */
static void load_regs(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;

    c->cr0 = (vmcs_get(v, VMCS_guest_cr0) & CR0_LOADABLE) | CR0_ET;
    c->cr3 = vmcs_get(v, VMCS_guest_cr3);
    c->cr4 = vmcs_get(v, VMCS_guest_cr4);
    /* "If the 'load debug controls' VM-entry control is 1, DR7 is loaded
     * from the DR7 field with the exception that bit 12 and bits 15:14 are
     * always 0 and bit 10 is always 1. The IA32_DEBUGCTL MSR is loaded
     * from the IA32_DEBUGCTL field." */
    if (ck->entry_ctls & ENTRY_LOAD_DEBUG_CONTROLS) {
        c->dr[7] = (vmcs_get(v, VMCS_guest_dr7) & ~0xd000ull) | 0x400;
        c->debugctl = vmcs_get(v, VMCS_guest_ia32_debugctl);
        cpu_debug_regs_changed(c);
    }
    /* "The following MSRs are loaded from fields in the guest-state area:
     * IA32_SYSENTER_CS, IA32_SYSENTER_ESP, IA32_SYSENTER_EIP" */
    c->sysenter_cs = vmcs_get(v, VMCS_guest_sysenter_cs);
    c->sysenter_esp = vmcs_get(v, VMCS_guest_sysenter_esp);
    c->sysenter_eip = vmcs_get(v, VMCS_guest_sysenter_eip);
    if (ck->entry_ctls & ENTRY_LOAD_PAT)
        c->pat = vmcs_get(v, VMCS_guest_ia32_pat);
    /* "If the 'load IA32_EFER' VM-entry control is 1, the IA32_EFER MSR is
     * loaded from the IA32_EFER field in the guest-state area." "If the
     * control is 0, the LMA and LME bits are loaded with the setting of the
     * 'IA-32e mode guest' VM-entry control." */
    if (ck->entry_ctls & ENTRY_LOAD_EFER) {
        c->efer = vmcs_get(v, VMCS_guest_ia32_efer);
    } else {
        c->efer &= ~(EFER_LMA | EFER_LME);
        if (ck->ia32e_guest)
            c->efer |= EFER_LMA | EFER_LME;
    }
}

/* SDM 3C "Loading Guest State": registers, then RIP/RSP/RFLAGS, then
 * "Loading Guest Non-Register State". The PDPTEs were loaded by
 * entry_load_pdptes(). */
void entry_load_guest(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;

    load_regs(ck);
    load_segments(c, v);
    /* "Loading Guest RIP, RSP, and RFLAGS" */
    c->gpr[4] = vmcs_get(v, VMCS_guest_rsp);
    c->rip = vmcs_get(v, VMCS_guest_rip);
    cpu_set_rflags(c, vmcs_get(v, VMCS_guest_rflags));

    /* "Loading Guest Non-Register State". Interruptibility: "blocking by STI
     * and by MOV SS ... is in effect after VM entry if the corresponding bit
     * is set" -- both end after the next instruction, like the CPU's shadow.
     * "Blocking by NMI: if the 'virtual NMIs' VM-execution control is 0,
     * event blocking by NMI is in effect after VM entry iff bit 3 is set; if
     * it is 1, virtual-NMI blocking is in effect iff bit 3 is set" (and NMIs
     * then cause VM exits whatever the blocking: c->nmi_blocked stands for
     * virtual-NMI blocking, see struct vmx). */
    uint64_t intr = vmcs_get(v, VMCS_guest_interruptibility_info);
    c->intr_shadow = (uint8_t)(intr & (VMX_INTERRUPTIBILITY_STI | VMX_INTERRUPTIBILITY_MOV_SS));
    c->nmi_blocked = intr & VMX_INTERRUPTIBILITY_NMI;
    /* Activity state: "If the activity-state field indicates the HLT state,
     * the logical processor is in the HLT state after VM entry", and the
     * same for shutdown and wait-for-SIPI. The CPU core sees all three as
     * halted; v->activity says which, so that only what each state lets
     * through happens (nonroot_events.c) and the VM exit saves it back. */
    v->activity = (uint8_t)vmcs_get(v, VMCS_guest_activity_state);
    c->halted = v->activity != VMX_ACTIVITY_ACTIVE;
}

/* SDM 3C "Loading MSRs" (the same rules for VM entries and VM exits): one
 * entry of an MSR-load area, 16 bytes: MSR index in bits 31:0, reserved
 * bits 63:32, data in bits 127:64. The rules on bits 63:0. */
const char *vmx_msr_load_entry_problem(uint64_t lo)
{
    uint32_t index = (uint32_t)lo;
    /* "The value of bits 31:0 is either C0000100H (the IA32_FS_BASE MSR) or
     * C0000101H (the IA32_GS_BASE MSR)." */
    if (index == 0xc0000100u || index == 0xc0000101u)
        return "MSR-load entry names IA32_FS_BASE or IA32_GS_BASE";
    /* "The value of bits 31:8 is 000008H, meaning that the indexed MSR is
     * one that allows access to an APIC register when the local APIC is in
     * x2APIC mode." */
    if ((index >> 8) == 0x8)
        return "MSR-load entry names an x2APIC MSR (800H-8FFH)";
    /* "The value of bits 31:0 indicates an MSR that can be written only in
     * system-management mode (SMM) and the VM entry did not commence in SMM
     * (IA32_SMM_MONITOR_CTL and IA32_SMBASE)." */
    if (index == 0x9b || index == 0x9e)
        return "MSR-load entry names an SMM-only MSR";
    /* "Bits 63:32 are not all 0." */
    if (lo >> 32)
        return "MSR-load entry reserved bits 63:32 are 0";
    return NULL;
}

static const char *msr_entry_problem(struct cpu *c, uint64_t lo, uint64_t data)
{
    const char *problem = vmx_msr_load_entry_problem(lo);
    if (problem)
        return problem;
    uint32_t index = (uint32_t)lo;
    /* "An attempt to write bits 127:64 to the MSR indexed by bits 31:0 of the
     * entry would cause a general-protection exception if executed via
     * WRMSR with CPL = 0." */
    if (!cpu_msr_write(c, index, data))
        return "MSR-load entry value writable by WRMSR at CPL 0";
    return NULL;
}

uint32_t entry_load_msrs(struct entry_ck *ck)
{
    struct cpu *c = ck->c;
    struct vmx *v = ck->v;
    uint64_t addr = vmcs_get(v, VMCS_vmentry_msr_load_addr);
    uint64_t n = vmcs_get(v, VMCS_vm_entry_msr_load_count);

    for (uint64_t i = 0; i < n; i++) {
        uint64_t lo = cpu_phys_read(c, addr + 16 * i, 8);
        uint64_t data = cpu_phys_read(c, addr + 16 * i + 8, 8);
        const char *why = msr_entry_problem(c, lo, data);
        if (why) {
            ck->check = why;
            snprintf(ck->detail, sizeof ck->detail, "entry %llu: msr 0x%llx data 0x%llx",
                     (unsigned long long)(i + 1), (unsigned long long)lo, (unsigned long long)data);
            /* "the exit qualification ... is the entry number (starting
             * with 1) of the MSR that could not be loaded" (SDM 3C
             * "VM-Entry Failures During or After Loading Guest State") */
            return (uint32_t)(i + 1);
        }
    }
    return 0;
}
