/* Nested VMX: the guest's VMLAUNCH/VMRESUME of its vmcs12 becomes a VM
 * entry of vmcs02, and every exit of vmcs02 goes back to the guest as the
 * VM exit the SDM describes (SDM 3C "VM Entries", "VM Exits").
 *
 * vmcs02 = vmcs12's controls and guest state + vmcs01's host state (the
 * turtle's exit stub). Without EPT the guest's physical addresses are the
 * machine's, so vmcs12's bitmap and MSR-list addresses are used as they
 * are, and vmcs02 asks for no exit that vmcs12 does not: every exit of
 * vmcs02 is reflected (vmcs12 asked for it) but the EPT violations that
 * fill the shadow EPT02 (nested_ept.c). The turtle then writes the
 * exit information and the guest state into vmcs12 and loads the guest's
 * host state from vmcs12 into vmcs01 (SDM 3C "Loading Host State"). */
#include "turtle.h"

#include "rtstring.h"
#include "x86.h"

#define EFER_LME_BIT (1ull << 8)
#define EFER_LMA_BIT (1ull << 10)

static uint64_t host01[VMCS12_NFIELDS]; /* vmcs01's host-state fields */
static bool host01_saved;

/* The guest-state fields a guest hypervisor reads on most exits (RIP,
 * RSP, RFLAGS, interruptibility and activity state, CS/SS access rights
 * for the mode and CPL, CR0/CR3/CR4: those of the turtle's own exit handler
 * and its shadow VMCS) are copied into the cache at every exit of vmcs02.
 * The others -- segment registers, descriptor tables, SYSENTER, debug
 * state, EFER/PAT, PDPTEs, ... -- an exit seldom changes and a guest
 * hypervisor seldom reads: they stay in vmcs02 until the guest reads one
 * or the cache is written back (KVM: sync_vmcs02_to_vmcs12_rare). Each is
 * a VMREAD per reflected exit that the turtle's own hypervisor would
 * otherwise emulate. */
static uint64_t rare_pending[(VMCS12_NFIELDS + 63) / 64];
static uint64_t rare_vmcs02; /* the vmcs02 that holds them */

static bool rare_field(uint32_t enc)
{
    switch (enc) {
    case GUEST_RIP:
    case GUEST_RSP:
    case GUEST_RFLAGS:
    case GUEST_INTERRUPTIBILITY:
    case GUEST_ACTIVITY:
    case GUEST_CS_AR:
    case GUEST_SS_AR:
    case GUEST_CR0:
    case GUEST_CR3:
    case GUEST_CR4: return false;
    default: return true;
    }
}

bool nested_rare_pending(unsigned i)
{
    return (rare_pending[i / 64] >> (i % 64)) & 1;
}

void nested_rare_written(unsigned i)
{
    rare_pending[i / 64] &= ~(1ull << (i % 64));
}

/* vmcs01 is current, and stays so. */
void nested_sync_rare(void)
{
    bool any = false;
    for (unsigned w = 0; w < (VMCS12_NFIELDS + 63) / 64; w++)
        any |= rare_pending[w] != 0;
    if (!any)
        return;
    if (vmptrld(rare_vmcs02) != VMX_OK)
        turtle_fatal("VMPTRLD of vmcs02 failed");
    for (unsigned w = 0; w < (VMCS12_NFIELDS + 63) / 64; w++) {
        for (uint64_t bits = rare_pending[w]; bits; bits &= bits - 1) {
            unsigned i = w * 64 + (unsigned)__builtin_ctzll(bits);
            vmcs12[i] = vmread(vmcs12_encoding[i]);
        }
        rare_pending[w] = 0;
    }
    if (vmptrld((uint64_t)vmcs01_region) != VMX_OK)
        turtle_fatal("VMPTRLD of vmcs01 failed");
}

/* ---- checks the turtle makes itself ---- */

static bool ctl_ok(uint64_t cap, uint64_t v)
{
    uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
    return (v & allowed0) == allowed0 && !(v & ~(uint64_t)allowed1);
}

/* SDM 3C "Checks on VM-Execution Control Fields", "Checks on VM-Exit
 * Control Fields", "Checks on VM-Entry Control Fields": the reserved
 * settings, against the capabilities offered (the TRUE MSRs, SDM 3C A.2).
 * The other control checks are the processor's, on vmcs02. */
static bool controls_ok(void)
{
    uint64_t proc = v12(PROC_CONTROLS);
    if (!ctl_ok(vcaps.true_pin, v12(PIN_CONTROLS)) || !ctl_ok(vcaps.true_proc, proc) ||
        !ctl_ok(vcaps.true_exit, v12(EXIT_CONTROLS)) ||
        !ctl_ok(vcaps.true_entry, v12(ENTRY_CONTROLS)))
        return false;
    if ((proc & PROC_SECONDARY) && !ctl_ok(vcaps.proc2, v12(PROC2_CONTROLS)))
        return false;
    if (!nested_ept_controls_ok() || !shadow12_controls_ok())
        return false;
    /* With EPT the guest's bitmaps and MSR lists must lie in its memory:
     * the turtle refuses others (docs/guests.md). */
    if (gmap.ept) {
        if ((proc & PROC_IO_BITMAPS) &&
            (!gmem_phys_ok(v12(IO_BITMAP_A), 4096) || !gmem_phys_ok(v12(IO_BITMAP_B), 4096)))
            return false;
        if ((proc & PROC_MSR_BITMAPS) && !gmem_phys_ok(v12(MSR_BITMAP), 4096))
            return false;
        if (!gmem_phys_ok(v12(EXIT_MSR_STORE_ADDR), 16 * v12(EXIT_MSR_STORE_COUNT)) ||
            !gmem_phys_ok(v12(EXIT_MSR_LOAD_ADDR), 16 * v12(EXIT_MSR_LOAD_COUNT)) ||
            !gmem_phys_ok(v12(ENTRY_MSR_LOAD_ADDR), 16 * v12(ENTRY_MSR_LOAD_COUNT)))
            return false;
    }
    return true;
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* SDM 3C "Checks on Host Control Registers, MSRs, and SSP", "Checks on Host
 * Segment and Descriptor-Table Registers", "Checks Related to Address-Space
 * Size". */
static bool host_state_ok(void)
{
    uint64_t cr0 = v12(HOST_CR0), cr4 = v12(HOST_CR4), exit = v12(EXIT_CONTROLS);
    bool host64 = exit & EXIT_HOST_64;

    if ((cr0 & vcaps.cr0_fixed0) != vcaps.cr0_fixed0 || (cr0 & ~vcaps.cr0_fixed1) ||
        (cr4 & vcaps.cr4_fixed0) != vcaps.cr4_fixed0 || (cr4 & ~vcaps.cr4_fixed1))
        return false;
    if (v12(HOST_CR3) >> vmx_caps.maxphyaddr)
        return false;
    if (!canonical(v12(HOST_SYSENTER_ESP)) || !canonical(v12(HOST_SYSENTER_EIP)))
        return false;
    if (exit & EXIT_LOAD_PAT) {
        uint64_t pat = v12(HOST_PAT);
        for (int i = 0; i < 8; i++) {
            unsigned t = (pat >> (8 * i)) & 0xff;
            if (t == 2 || t == 3 || t > 7)
                return false;
        }
    }
    if (exit & EXIT_LOAD_EFER) {
        uint64_t efer = v12(HOST_EFER);
        if ((efer & ~0xd01ull) || !(efer & EFER_LMA_BIT) != !host64 ||
            !(efer & EFER_LME_BIT) != !host64)
            return false;
    }
    static const uint32_t sels[] = {HOST_ES_SEL, HOST_CS_SEL, HOST_SS_SEL, HOST_DS_SEL,
                                    HOST_FS_SEL, HOST_GS_SEL, HOST_TR_SEL};
    for (unsigned i = 0; i < 7; i++)
        if (v12(sels[i]) & 7) /* RPL and TI */
            return false;
    if (!v12(HOST_CS_SEL) || !v12(HOST_TR_SEL) || (!host64 && !v12(HOST_SS_SEL)))
        return false;
    if (!canonical(v12(HOST_FS_BASE)) || !canonical(v12(HOST_GS_BASE)) ||
        !canonical(v12(HOST_GDTR_BASE)) || !canonical(v12(HOST_IDTR_BASE)) ||
        !canonical(v12(HOST_TR_BASE)))
        return false;
    /* The guest hypervisor runs in IA-32e mode (its CR0.PG is fixed 1
     * once it is in VMX operation and it reached VMXON in 64-bit code):
     * the host address-space size must be 1. */
    bool ia32e = vmx_ctls.entry & ENTRY_IA32E;
    if (ia32e != host64)
        return false;
    if (!host64)
        return !(v12(ENTRY_CONTROLS) & ENTRY_IA32E) && !(v12(HOST_RIP) >> 32);
    return (cr4 & CR4_PAE_BIT) && canonical(v12(HOST_RIP));
}

/* SDM 3C "Checks on Guest Non-Register State": the VMCS link pointer:
 * bits 30:0 of the region it references are the revision identifier, and
 * bit 31 is the setting of "VMCS shadowing". */
static bool link_pointer_ok(void)
{
    uint64_t p = v12(VMCS_LINK_PTR);
    if (p == ~0ull)
        return true;
    if ((p & 0xfff) || (p >> vmx_caps.maxphyaddr) || !gmem_phys_ok(p, 4096))
        return false;
    return *(volatile uint32_t *)phys_ptr(p) ==
           (TURTLE_VMCS_REVISION | (shadow12_on() ? VMCS_SHADOW_INDICATOR : 0));
}

/* ---- the guest's host state, as a VM exit loads it ---- */

static void seg_load(uint32_t sel_field, uint16_t sel, uint32_t ar, uint64_t base)
{
    unsigned i = (sel_field - GUEST_ES_SEL) / 2;
    vmwrite(sel_field, sel);
    vmwrite(GUEST_ES_LIMIT + 2 * i, 0xffffffff);
    vmwrite(GUEST_ES_AR + 2 * i, sel ? ar : AR_UNUSABLE);
    vmwrite(GUEST_ES_BASE + 2 * i, base);
}

/* SDM 3C "Loading Host State", into vmcs01 (current) and the turtle's view
 * of the guest's control registers. */
static void load_l1_host_state(void)
{
    uint64_t exit = v12(EXIT_CONTROLS);
    bool host64 = exit & EXIT_HOST_64;

    vcpu.cr0 = v12(HOST_CR0) | (1ull << 4);
    vcpu.cr4 = v12(HOST_CR4);
    if (exit & EXIT_LOAD_EFER)
        vcpu.efer = v12(HOST_EFER) & ~EFER_LMA_BIT;
    else
        vcpu.efer = (vcpu.efer & ~EFER_LME_BIT) | (host64 ? EFER_LME_BIT : 0);
    vcpu_apply_mode();
    vmwrite(GUEST_CR3, v12(HOST_CR3));
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_SYSENTER_CS, v12(HOST_SYSENTER_CS));
    vmwrite(GUEST_SYSENTER_ESP, v12(HOST_SYSENTER_ESP));
    vmwrite(GUEST_SYSENTER_EIP, v12(HOST_SYSENTER_EIP));
    if (exit & EXIT_LOAD_PAT)
        wrmsr(MSR_IA32_PAT, v12(HOST_PAT)); /* PAT is the guest's (no exits) */

    vmwrite(GUEST_CS_SEL, v12(HOST_CS_SEL));
    vmwrite(GUEST_CS_BASE, 0);
    vmwrite(GUEST_CS_LIMIT, 0xffffffff);
    vmwrite(GUEST_CS_AR, host64 ? 0xa09b : 0xc09b);
    seg_load(GUEST_SS_SEL, (uint16_t)v12(HOST_SS_SEL), 0xc093, 0);
    seg_load(GUEST_DS_SEL, (uint16_t)v12(HOST_DS_SEL), 0xc093, 0);
    seg_load(GUEST_ES_SEL, (uint16_t)v12(HOST_ES_SEL), 0xc093, 0);
    seg_load(GUEST_FS_SEL, (uint16_t)v12(HOST_FS_SEL), 0xc093, v12(HOST_FS_BASE));
    seg_load(GUEST_GS_SEL, (uint16_t)v12(HOST_GS_SEL), 0xc093, v12(HOST_GS_BASE));
    vmwrite(GUEST_FS_BASE, v12(HOST_FS_BASE));
    vmwrite(GUEST_GS_BASE, v12(HOST_GS_BASE));
    vmwrite(GUEST_TR_SEL, v12(HOST_TR_SEL));
    vmwrite(GUEST_TR_BASE, v12(HOST_TR_BASE));
    vmwrite(GUEST_TR_LIMIT, 0x67);
    vmwrite(GUEST_TR_AR, 0x8b);
    vmwrite(GUEST_LDTR_SEL, 0);
    vmwrite(GUEST_LDTR_AR, AR_UNUSABLE);
    vmwrite(GUEST_GDTR_BASE, v12(HOST_GDTR_BASE));
    vmwrite(GUEST_GDTR_LIMIT, 0xffff);
    vmwrite(GUEST_IDTR_BASE, v12(HOST_IDTR_BASE));
    vmwrite(GUEST_IDTR_LIMIT, 0xffff);
    vmwrite(GUEST_RIP, v12(HOST_RIP));
    vmwrite(GUEST_RSP, v12(HOST_RSP));
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY, ACTIVITY_ACTIVE);
    vmwrite(GUEST_PENDING_DBG, 0);
}

/* A VM-entry failure the turtle finds itself (SDM 3C "VM-Entry Failures
 * During or After Loading Guest State"): exit reason with bit 31, the
 * qualification, and the host state loaded. */
static void emulated_entry_failure(uint32_t reason, uint64_t qual)
{
    v12_set(EXIT_REASON, reason | EXIT_REASON_ENTRY_FAIL);
    v12_set(EXIT_QUAL, qual);
    load_l1_host_state();
    shadow_push();
}

/* ---- vmcs02 ---- */

static void save_host01(void)
{
    for (unsigned i = 0; i < VMCS12_NFIELDS; i++) {
        uint32_t enc = vmcs12_encoding[i];
        if (vmcs_enc_type(enc) == VMCS_TYPE_HOST && vmcs12_index(enc) == (int)i)
            host01[i] = vmread(enc);
    }
    host01_saved = true;
}

/* vmcs12's secondary controls without VMCS shadowing, which the turtle
 * emulates (shadow12.c). */
static uint64_t proc2_for_vmcs02(void)
{
    return v12(PROC2_CONTROLS) & ~(uint64_t)PROC2_VMCS_SHADOWING;
}

/* One field of vmcs02 from the cache: guest state and controls as vmcs12
 * has them, the turtle's own host state (vmcs01's), no link pointer. */
static void write_field02(unsigned i, bool fresh)
{
    uint32_t enc = vmcs12_encoding[i];

    if (vmcs12_index(enc) != (int)i)
        return; /* not supported by the processor */
    switch (vmcs_enc_type(enc)) {
    case VMCS_TYPE_HOST:
        if (fresh)
            vmwrite(enc, host01[i]);
        break;
    case VMCS_TYPE_RO_DATA: break;
    case VMCS_TYPE_GUEST: vmwrite(enc, enc == VMCS_LINK_PTR ? ~0ull : vmcs12[i]); break;
    default:
        if (shadow12_field_emulated(enc)) {
            /* vmcs02 runs without VMCS shadowing (shadow12.c) */
        } else if (enc == EXIT_CONTROLS) {
            /* the turtle's own host state: 64-bit, its EFER */
            vmwrite(enc, vmcs12[i] | EXIT_HOST_64 | EXIT_LOAD_EFER);
        } else if (gmap.ept &&
                   (enc == PROC_CONTROLS || enc == PROC2_CONTROLS || enc == EPT_POINTER)) {
            /* EPT for the guest's guest: EPT02 when vmcs12 enables EPT
             * (nested_ept.c), else EPT01; secondary controls on */
            uint64_t proc = v12(PROC_CONTROLS);
            vmwrite(PROC_CONTROLS, proc | PROC_SECONDARY);
            vmwrite(PROC2_CONTROLS,
                    ept01_proc2_for_vmcs02((proc & PROC_SECONDARY) ? proc2_for_vmcs02() : 0));
            vmwrite(EPT_POINTER, nested_ept12() ? nested_ept_eptp02() : ept01_eptp());
        } else if (gmap.ept && (enc == IO_BITMAP_A || enc == IO_BITMAP_B || enc == MSR_BITMAP ||
                                enc == EXIT_MSR_STORE_ADDR || enc == EXIT_MSR_LOAD_ADDR ||
                                enc == ENTRY_MSR_LOAD_ADDR)) {
            /* guest-physical -> host-physical (checked in controls_ok) */
            vmwrite(enc, (uint64_t)phys_ptr(vmcs12[i]));
        } else {
            vmwrite(enc, enc == PROC2_CONTROLS ? proc2_for_vmcs02() : vmcs12[i]);
        }
    }
}

/* Only the fields that changed since vmcs02 was last written (all of them
 * for a new vmcs02 or a new vmcs12): the guest's VMWRITEs, the shadowed
 * fields it changed, and what the turtle changed in the cache. Guest
 * state synced back from vmcs02 at an exit is not dirty. */
static void write_vmcs02(bool fresh)
{
    if (fresh)
        vmcs12_mark_all();
    for (unsigned w = 0; w < (VMCS12_NFIELDS + 63) / 64; w++) {
        for (uint64_t bits = vmcs12_dirty[w]; bits; bits &= bits - 1) {
            unsigned i = w * 64 + (unsigned)__builtin_ctzll(bits);
            if (i < VMCS12_NFIELDS)
                write_field02(i, fresh);
        }
        vmcs12_dirty[w] = 0;
    }
}

bool nested_enter(regs_t *r, bool launch)
{
    uint64_t ptr = vcpu.vmcs12_ptr, vmcs02;
    bool fresh, launched02;

    /* SDM 3C "VMLAUNCH/VMRESUME -- Launch/Resume Virtual Machine" */
    shadow_pull();
    /* a shadow VMCS cannot be entered (SDM 3C "VMCS Types: Ordinary and
     * Shadow") */
    if (ptr == ~0ull || vcpu.vmcs12_shadow) {
        vm_fail_invalid();
        return true;
    }
    if (vmread(GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_MOV_SS) {
        vm_fail_valid(VMXERR_ENTRY_MOV_SS);
        return true;
    }
    uint32_t launched = vmcs12_launch_state(ptr);
    if (launch && launched) {
        vm_fail_valid(VMXERR_VMLAUNCH_NOT_CLEAR);
        return true;
    }
    if (!launch && !launched) {
        vm_fail_valid(VMXERR_VMRESUME_NOT_LAUNCHED);
        return true;
    }
    if (!controls_ok()) {
        vm_fail_valid(VMXERR_ENTRY_BAD_CONTROL);
        return true;
    }
    if (!host_state_ok()) {
        vm_fail_valid(VMXERR_ENTRY_BAD_HOST);
        return true;
    }
    if (!link_pointer_ok()) {
        emulated_entry_failure(EXIT_ENTRY_FAIL_GUEST, ENTRY_QUAL_LINK_PTR);
        return true;
    }
    if (!host01_saved)
        save_host01();
    host01[vmcs12_index(HOST_RSP)] = vmread(HOST_RSP);
    vmcs02 = vmcs02_enter(ptr, &fresh, &launched02);
    if (vmptrld(vmcs02) != VMX_OK)
        turtle_fatal("VMPTRLD of vmcs02 failed");
    write_vmcs02(fresh);
    if (fresh)
        vmwrite(HOST_RSP, host01[vmcs12_index(HOST_RSP)]);
    /* EPT02 holds the translations of one EPTP12 at a time: another
     * vmcs02's entry may have emptied it since this one was written. */
    if (gmap.ept && nested_ept12())
        vmwrite(EPT_POINTER, nested_ept_eptp02());
    vcpu.in_l3 = true;
    r->launched = launched02;
    return true;
}

void nested_entry_vmfail(int result)
{
    uint32_t err = result == VMX_FAIL_VALID ? (uint32_t)vmread(VM_INSN_ERROR) : 0;

    vcpu.in_l3 = false;
    if (vmptrld((uint64_t)vmcs01_region) != VMX_OK)
        turtle_fatal("VMPTRLD of vmcs01 failed");
    if (result != VMX_FAIL_VALID)
        turtle_fatal("VM entry of vmcs02 gave VMfailInvalid");
    /* vmcs01 still holds the exit of the guest's VMLAUNCH/VMRESUME. */
    vm_fail_valid(err);
}

bool nested_exit(regs_t *r, uint32_t reason)
{
    uint64_t ptr = vcpu.vmcs12_ptr;
    struct nested_ept_reflect ept = {0};
    struct shadow12_exit exc = {0};
    bool ept_exit = reason == EXIT_EPT_VIOLATION || reason == EXIT_EPT_MISCONFIG;

    if ((reason == EXIT_VMREAD || reason == EXIT_VMWRITE) && shadow12_vmcs_access(r, reason, &exc))
        return true; /* done on the shadow VMCS: vmcs02 resumes */
    /* EPT exits: with EPT01 and without EPT in vmcs12 vmcs02 runs on EPT01,
     * and the access is outside the guest's memory; with EPT in vmcs12 it
     * runs on EPT02 (nested_ept.c). Without EPT01 they are the guest's. */
    if (ept_exit && gmap.ept && !nested_ept12())
        turtle_fatal("the guest's guest accessed guest-physical %#lx, outside the guest's %lu MiB",
                     vmread(GUEST_PHYS_ADDR), gmap.size >> 20);
    if (ept_exit && gmap.ept && nested_ept_exit(reason, &ept))
        return true; /* filled: vmcs02 resumes */
    vcpu.in_l3 = false;
    if (!(reason & EXIT_REASON_ENTRY_FAIL)) {
        /* The entry succeeded: the VMCS is launched (SDM 3C "VMLAUNCH"),
         * and the exit saves the guest state (SDM 3C "Saving Guest
         * State"); VM exits store IA32_EFER.LMA into the "IA-32e mode
         * guest" control (IA32_VMX_MISC[5]). */
        vmcs02_mark_launched();
        vmcs12_set_launch_state(ptr, 1);
        rare_vmcs02 = vmcs02_current();
        for (unsigned i = 0; i < VMCS12_NFIELDS; i++) {
            uint32_t enc = vmcs12_encoding[i];
            if (vmcs_enc_type(enc) != VMCS_TYPE_GUEST || enc == VMCS_LINK_PTR ||
                vmcs12_index(enc) != (int)i)
                continue;
            if (rare_field(enc))
                rare_pending[i / 64] |= 1ull << (i % 64);
            else
                vmcs12[i] = vmread(enc);
        }
        v12_set(ENTRY_CONTROLS,
                (v12(ENTRY_CONTROLS) & ~ENTRY_IA32E) | (vmread(ENTRY_CONTROLS) & ENTRY_IA32E));
    }
    /* SDM 3C "Recording VM-Exit Information and Updating VM-Entry Control
     * Fields": the exit-information fields, and the valid bit of the
     * VM-entry interruption information cleared. */
    for (unsigned i = 0; i < VMCS12_NFIELDS; i++) {
        uint32_t enc = vmcs12_encoding[i];
        if (vmcs_enc_type(enc) == VMCS_TYPE_RO_DATA && enc != VM_INSN_ERROR &&
            vmcs12_index(enc) == (int)i)
            vmcs12[i] = vmread(enc);
    }
    if (ept.reason) {
        /* the guest's EPT violation or misconfiguration, from EPT12 */
        v12_set(EXIT_REASON, ept.reason);
        v12_set(EXIT_QUAL, ept.qual);
        if (ept.reason == EXIT_EPT_MISCONFIG)
            v12_set(GUEST_LINEAR, 0);
    }
    if (exc.intr_info) {
        /* an exception of the shadowed access that the guest intercepts */
        v12_set(EXIT_REASON, EXIT_EXCEPTION_NMI);
        v12_set(EXIT_QUAL, exc.qual);
        v12_set(EXIT_INTR_INFO, exc.intr_info);
        v12_set(EXIT_INTR_ERRCODE, exc.error);
        v12_set(IDT_VECTORING_INFO, 0);
    }
    v12_set(ENTRY_INTR_INFO, v12(ENTRY_INTR_INFO) & ~(uint64_t)INTR_VALID);
    if (vmptrld((uint64_t)vmcs01_region) != VMX_OK)
        turtle_fatal("VMPTRLD of vmcs01 failed");
    load_l1_host_state();
    shadow_push();
    r->launched = 1;
    return true;
}
